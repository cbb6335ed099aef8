#!/bin/bash
# SPDX-License-Identifier: MIT
# Two hosts, one tunnel: ping both ways with 0 loss, a 20 MB transfer whose
# sha256 matches, iperf3 both directions, counters that add up, and a clean
# exit (no TUN, no firewall rule left).
. "$(dirname "$0")/lib.sh"

two_hosts
case "${LWT_EXTRA_ARGS:-}" in
*generic*)
	# Generic XDP must cope with what GRO hands it: turn GRO on.
	nsx s ethtool -K v-s-c gro on >/dev/null
	nsx c ethtool -K v-c-s gro on >/dev/null
	;;
esac
start_server
start_client
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
case "${LWT_EXTRA_ARGS:-}" in
*generic*) want=af-xdp/generic ;;
*xdp=false*) want=raw-socket/none ;;
*) want=af-xdp/native ;;
esac
for n in s:lwts c:lwtc; do
	got=$(jget "${n%%:*}" "${n#*:}" '.path + "/" + .xdp_mode')
	say "${n%%:*}: data path $got"
	[ "$got" = "$want" ] || fail "data path $got, expected $want"
done

say "ping client -> server and server -> client"
nsx c ping -c 20 -i 0.05 -W 1 -q 10.0.0.1 | tee "$LOGDIR/ping1.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping1.txt" || fail "loss client -> server"
nsx s ping -c 20 -i 0.05 -W 1 -q 10.0.0.2 | tee "$LOGDIR/ping2.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping2.txt" || fail "loss server -> client"

# A segment the peer never answers with data of its own still gets its
# ACK: the pure ACK owed after a lone segment leaves on a slot timer
# (ACK_DELAY_NS, 20 ms). 10.0.0.99 is nobody's: the hub
# drops the datagram, nothing comes back.
say "a lone one-way datagram is ACKed"
acks0=$(jget s lwts .totals.pure_acks)
acked() { [ "$(jget s lwts .totals.pure_acks)" -gt "$acks0" ]; }
nsx c python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.0.0.99", 9))'
wait_for 2 "the server's pure ACK for a lone segment" acked

say "20 MB through the tunnel, sha256 compared"
xfer_sha256 s 10.0.0.1 c 20

say "iperf3 both directions"
up=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-up.json" -t 2)
down=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-down.json" -t 2 -R)
say "iperf3 client->server $(jq -n "$up/1e6|floor") Mbit/s, server->client $(jq -n "$down/1e6|floor") Mbit/s"
jq -e "$up > 1e6 and $down > 1e6" >/dev/null <<<null || fail "iperf3 carried under 1 Mbit/s"

say "counters"
ctl c lwtc stats
rx=$(jget s lwts '.totals.rx_packets')
auth=$(jget s lwts '.totals.drop_auth')
rtt=$(jget c lwtc '.peers[0].rtt_us')
hs=$(jget c lwtc '.peers[0].handshake_ms')
say "server rx_packets=$rx drop_auth=$auth; client rtt_us=$rtt handshake_ms=$hs"
[ "$rx" -gt 20000 ] || fail "server counted too few packets ($rx)"
[ "$auth" -eq 0 ] || fail "authentication failures on a clean link ($auth)"
jq -e "$hs > 0" >/dev/null <<<null || fail "no handshake time"

say "clean exit"
stop "$client_PID"
stop "$server_PID"
assert_no_rule s
assert_no_rule c
if nsx s ip link show lwts >/dev/null 2>&1; then fail "TUN lwts left"; fi
if nsx c ip link show lwtc >/dev/null 2>&1; then fail "TUN lwtc left"; fi
grep -q "stopped" "$LOGDIR/server.log" || fail "server did not log a clean stop"
say PASS
