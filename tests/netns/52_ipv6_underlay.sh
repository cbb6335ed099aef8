#!/bin/bash
# SPDX-License-Identifier: MIT
# Fake TCP over an IPv6 underlay. (1) IPv6 only: a server on [::]:9000 and
# a client given -r [fd97:2::2]:9000 one router away, no IPv4 address on
# any link:
# session up, ping, a sha256-checked transfer, iperf3 both ways; the
# segments on the wire are IPv6/TCP with hop limit 64 and a flow label; the
# endpoint shows as [addr]:port. (2) Dual stack: the same server socket
# (JSON "local_addr": "[::]:9000") takes a client over IPv4 and one over
# IPv6 at once, both carry traffic; the IPv6 client names its server by a
# name with only an AAAA record (a hosts file of its namespace).
. "$(dirname "$0")/lib.sh"

command -v tcpdump >/dev/null || skip "tcpdump not installed"

say "part 1: IPv6-only underlay, client and server one router apart"
routed_hosts6
# The router sees every segment, whatever path (XDP or not) the ends use:
# the first 300 whole (their checksums checked), all of them cut short.
nsbg r timeout 60 tcpdump -i v-r-s -n -U -c 300 -w "$LOGDIR/wire.pcap" 'ip6 and tcp port 9000' 2>/dev/null
nsbg r timeout 60 tcpdump -i v-r-s -n -U -s 96 -w "$LOGDIR/all.pcap" 'ip6' 2>/dev/null
dump_pid=$BG_PID
wait_for 5 "tcpdump running" test -s "$LOGDIR/all.pcap"
wait_for 5 "tcpdump running" test -s "$LOGDIR/wire.pcap"
start server s -m server -l '[::]:9000' -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
# The server's anti-RST rule stands before the client's first SYN.
wait_for 5 "server listening" grep -q "listening on" "$LOGDIR/server.log"
start client c -m client -r '[fd97:2::2]:9000' -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
ep=$(jget s lwts '.peers[0].endpoint')
say "server sees the client at $ep"
[[ "$ep" == "[fd97:1::2]:"* ]] || fail "endpoint $ep, expected [fd97:1::2]:port"
ep=$(jget c lwtc '.peers[0].endpoint')
[ "$ep" = "[fd97:2::2]:9000" ] || fail "client endpoint $ep, expected [fd97:2::2]:9000"
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

say "ping both ways"
nsx c ping -c 20 -i 0.05 -W 1 -q 10.0.0.1 | tee "$LOGDIR/ping1.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping1.txt" || fail "loss client -> server"
nsx s ping -c 20 -i 0.05 -W 1 -q 10.0.0.2 | tee "$LOGDIR/ping2.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping2.txt" || fail "loss server -> client"

say "8 MB through the tunnel, sha256 compared"
xfer_sha256 s 10.0.0.1 c 8

say "iperf3 both directions"
up=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-up.json" -t 2)
down=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-down.json" -t 2 -R)
say "iperf3 client->server $(jq -n "$up/1e6|floor") Mbit/s, server->client $(jq -n "$down/1e6|floor") Mbit/s"
jq -e "$up > 1e6 and $down > 1e6" >/dev/null <<<null || fail "iperf3 carried under 1 Mbit/s"

say "the wire: IPv6/TCP, hop limit 64, a flow label, valid checksums, never a fragment"
stop "$dump_pid"
nsx r tcpdump -r "$LOGDIR/wire.pcap" -n -v >"$LOGDIR/wire.txt" 2>/dev/null
sed -n 1,4p "$LOGDIR/wire.txt"
# Hop limit 64 as sent (the capture is on the router's server side: the
# client's arrive with 63, one hop spent), next header TCP, a flow label.
n=$(grep -c 'hlim 6[34], next-header TCP' "$LOGDIR/wire.txt" || true)
say "$n of the first segments with hop limit 64 (63) and TCP right after the IPv6 header"
[ "$n" -ge 300 ] || fail "only $n of 300 segments with hop limit 64/63 and TCP next to IPv6"
grep -q 'flowlabel 0x[0-9a-f]*[1-9a-f]' "$LOGDIR/wire.txt" || fail "no flow label on the segments"
good=$(grep -c 'cksum 0x[0-9a-f]* (correct)' "$LOGDIR/wire.txt" || true)
say "$good checksums correct"
[ "$good" -eq 300 ] || fail "$good of 300 TCP checksums correct"
read -r all frag rst < <(nsx r tcpdump -r "$LOGDIR/all.pcap" -n 2>/dev/null |
	awk '/frag/ { f++ } /Flags \[R/ { r++ } END { print NR, f + 0, r + 0 }')
rm -f "$LOGDIR/all.pcap"
say "router: $all IPv6 packets, $frag fragments, $rst RSTs"
[ "$all" -ge 10000 ] || fail "the router saw only $all IPv6 packets"
[ "$frag" -eq 0 ] || fail "$frag fragments on the wire"
[ "$rst" -eq 0 ] || fail "$rst RSTs on the wire (the kernel answered a segment)"
stop "$client_PID"
stop "$server_PID"
assert_no_rule s
assert_no_rule c

say "part 2: dual stack, one listen socket, clients over IPv4 and IPv6 at once"
add_ns c4
ip link add v-s-c4 netns "$PFX-s" type veth peer v-c4-s netns "$PFX-c4"
ip -n "$PFX-s" addr add 10.99.0.1/24 dev v-s-c4
ip -n "$PFX-c4" addr add 10.99.0.2/24 dev v-c4-s
ip -n "$PFX-s" link set v-s-c4 up
ip -n "$PFX-c4" link set v-c4-s up
ETC=/etc/netns/$PFX-c
mkdir -p "$ETC"
at_exit "rm -rf '$ETC'"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$ETC/resolv.conf"
printf '127.0.0.1 localhost\nfd97:2::2 hub6.test\n' >"$ETC/hosts"
cat >"$LOGDIR/server.json" <<JSON
{ "mode": "server", "local_addr": "[::]:9000", "tunnel_addr": "10.0.0.1/24",
  "key": "$KEY", "tun_name": "lwts", "max_clients": 4 }
JSON
start server s -c "$LOGDIR/server.json"
# The server's anti-RST rule stands before the client's first SYN.
wait_for 5 "server listening" grep -q "listening on" "$LOGDIR/server.log"
start client c -m client -r hub6.test:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
start client4 c4 -m client -r 10.99.0.1:9000 -t 10.0.0.3/24 -k "$KEY" -tun-name lwtc4
wait_for 10 "both sessions up on the server" sessions_up s lwts 2
wait_for 5 "v6 client up" sessions_up c lwtc
wait_for 5 "v4 client up" sessions_up c4 lwtc4
grep -q 'server hub6.test resolved to fd97:2::2 (IPv6)' "$LOGDIR/client.log" ||
	fail "the client did not take the AAAA record"
eps=$(jget s lwts '[.peers[].endpoint] | sort | join(" ")')
say "server endpoints: $eps"
[[ "$eps" == *"10.99.0.2:"* && "$eps" == *"[fd97:1::2]:"* ]] || fail "endpoints $eps"
nsx c ping -c 10 -i 0.05 -W 1 -q 10.0.0.1 | tee "$LOGDIR/ping6.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping6.txt" || fail "loss over IPv6"
nsx c4 ping -c 10 -i 0.05 -W 1 -q 10.0.0.1 | tee "$LOGDIR/ping4.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping4.txt" || fail "loss over IPv4"
# Both at once: the two transfers overlap.
iperf_run s 10.0.0.1 c4 "$LOGDIR/iperf-v4.json" -t 3 >"$LOGDIR/bps4" &
bg=$!
up6=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-v6.json" -t 3)
wait "$bg" || true
up4=$(cat "$LOGDIR/bps4")
say "at once: over IPv6 $(jq -n "$up6/1e6|floor") Mbit/s, over IPv4 $(jq -n "$up4/1e6|floor") Mbit/s"
jq -e "$up6 > 1e6 and $up4 > 1e6" >/dev/null <<<null || fail "a family carried under 1 Mbit/s"
say PASS
