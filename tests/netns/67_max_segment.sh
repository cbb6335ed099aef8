#!/bin/bash
# SPDX-License-Identifier: MIT
# faketcp_max_segment: no fake-TCP segment carries more TCP payload than
# the cap, in either direction, under bulk TCP through the tunnel (GSO
# writes of 64 KB included) with FEC parity: the TUN MTU comes down to fit
# (cap - 45: lwt's framing, FEC header and tag) and the SYN announces it as the MSS. The segments reach the
# cap, so the cap, not something else, bounds them. A cap too small for a
# 576-byte packet is refused. Raw sockets, so that tcpdump sees the
# segments both ways. Then mtu 0 (TUN MTU from the link) on AF_XDP with FEC
# on: a full-size packet with DF crosses, its segments within the link MTU.
. "$(dirname "$0")/lib.sh"

command -v tcpdump >/dev/null || skip "no tcpdump"
CAP=900
rc=0
"$LWT" -check -m server -k "$KEY" -faketcp-max-seg 620 >"$LOGDIR/small.out" 2>&1 || rc=$?
cat "$LOGDIR/small.out"
[ $rc = 2 ] && grep -q "faketcp_max_segment: must be 0 or at least 621" "$LOGDIR/small.out" ||
	fail "a cap of 620 was not refused (exit $rc)"

two_hosts
nsbg c tcpdump -i v-c-s -nn -s 128 -U -w "$LOGDIR/seg.pcap" tcp port 9000 2>"$LOGDIR/tcpdump.log"
TD_PID=$BG_PID
wait_for 5 "tcpdump listening" grep -q "listening on" "$LOGDIR/tcpdump.log"
start_server -xdp=false -faketcp-max-seg $CAP
start_client -xdp=false -faketcp-max-seg $CAP
wait_for 10 "session up" sessions_up c lwtc
for t in "s lwts" "c lwtc"; do
	set -- $t
	mtu=$(ip -n "$PFX-$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
	[ "$mtu" = $((CAP - 45)) ] || fail "$2 has MTU $mtu, want $((CAP - 45))"
done
nsx c ping -c 2 -i 0.1 -W 1 -q -M do -s $((CAP - 45 - 28)) 10.0.0.1 | grep -q ' 0% packet loss' ||
	fail "a full-size ping did not cross"
bps=$(iperf_run s 10.0.0.1 c "$LOGDIR/up.json" -t 1)
say "client -> server: $bps bit/s"
bps=$(iperf_run s 10.0.0.1 c "$LOGDIR/down.json" -t 1 -R)
say "server -> client: $bps bit/s"
stop "$TD_PID"
tcpdump -r "$LOGDIR/seg.pcap" -nn 2>/dev/null >"$LOGDIR/seg.txt"
n=$(wc -l <"$LOGDIR/seg.txt")
[ "$n" -gt 1000 ] || fail "only $n segments captured"
grep -q "Flags \[S\].*mss $CAP," "$LOGDIR/seg.txt" || fail "the SYN does not announce MSS $CAP: $(grep 'Flags \[S\]' "$LOGDIR/seg.txt" | head -1)"
for dir in "10.99.0.2.[0-9]* > 10.99.0.1.9000" "10.99.0.1.9000 > 10.99.0.2"; do
	max=$(grep -E "$dir" "$LOGDIR/seg.txt" | sed -n 's/.* length \([0-9]*\)$/\1/p' | sort -n | tail -n 1)
	say "largest TCP payload $dir: $max"
	[ -n "$max" ] && [ "$max" -le $CAP ] || fail "a segment of $max bytes ($dir) is over $CAP"
	[ "$max" -ge $((CAP - 40)) ] || fail "no segment near the cap ($dir: $max): the test shows nothing"
done
stop "$client_PID"
stop "$server_PID"

say "mtu 0: the TUN MTU leaves room for lwt's whole overhead, FEC included"
start_server -mtu 0
start_client -mtu 0
wait_for 10 "session up" sessions_up c lwtc
mtu=$(ip -n "$PFX-c" -o link show lwtc | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
say "link MTU 1500, TUN MTU $mtu, path $(jget c lwtc .path)"
nsx c ping -c 5 -i 0.1 -W 1 -q -M do -s $((mtu - 28)) 10.0.0.1 | grep -q ' 0% packet loss' ||
	fail "full-size packets with DF do not cross at mtu 0"
[ "$mtu" = $((1500 - 97)) ] || fail "TUN MTU $mtu, want $((1500 - 97))"

say "the default mtu on a 1460-byte link (a cloud's): it comes down to fit, explicit 1400 is refused"
stop "$client_PID"
nsx c ip link set v-c-s mtu 1460
rc=0
ip netns exec "$PFX-c" timeout 10 "$LWT" -m client -r 10.99.0.1:9000 -t 10.0.0.2/24 -k "$KEY" \
	-tun-name lwtc -mtu 1400 >"$LOGDIR/explicit.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "mtu: 1400 needs outer segments of up to 1497 bytes, more than the MTU 1460" \
	"$LOGDIR/explicit.out" || fail "an explicit mtu 1400 on a 1460 link was not refused (exit $rc)"
start_client
wait_for 10 "session up on the 1460 link" sessions_up c lwtc
grep -q "mtu: the default 1400 does not fit the MTU 1460 of 'v-c-s' with lwt's 97 bytes of headers; TUN MTU 1363" \
	"$LOGDIR/client.log" || fail "the default mtu was not brought down to the link's"
[ "$(jget c lwtc .tun_mtu)" = 1363 ] || fail "TUN MTU $(jget c lwtc .tun_mtu), want 1363"
nsx c ping -c 3 -i 0.2 -W 1 -q -M do -s 1335 10.0.0.1 | grep -q ' 0% packet loss' ||
	fail "a full-size packet (1363) did not cross the 1460 link"
stop "$client_PID"
stop "$server_PID"
say PASS
