#!/bin/bash
# SPDX-License-Identifier: MIT
# lwt-ctl attach/detach switch a running daemon between the raw-socket and
# AF_XDP paths without losing the session: a ping every 20 ms across an
# attach and a detach (both ends) loses at most 2 packets, and an iperf3 TCP
# flow running across both completes. Bad requests get a clear error. An
# attach puts the XDP program on the link and pins its maps; a detach removes
# both.
. "$(dirname "$0")/lib.sh"

two_hosts
start_server -xdp=false
start_client -xdp=false
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
[ "$(jget s lwts .path)" = raw-socket ] || fail "server did not start on raw sockets"

say "bad requests are refused"
ctl s lwts detach v-s-c 2>"$LOGDIR/err1" && fail "detach while not attached succeeded"
grep -q "not attached" "$LOGDIR/err1" || fail "unclear error: $(cat "$LOGDIR/err1")"
ctl s lwts attach lo 2>"$LOGDIR/err2" && fail "attach to the wrong interface succeeded"
grep -q "use v-s-c, not lo" "$LOGDIR/err2" || fail "unclear error: $(cat "$LOGDIR/err2")"
ctl s lwts attach v-s-c --mode bogus 2>/dev/null && fail "bogus mode accepted"

# switch_both: attach both ends, wait for N pings answered over AF_XDP (or
# until a moment of iperf3 has passed), detach both ends.
answered() { [ "$(grep -c 'bytes from' "$LOGDIR/ping.txt")" -ge "$1" ]; }
# xdp_on NS LINK TUN yes|no: LINK carries an XDP program and the daemon's
# pins exist (yes), or neither (no).
xdp_on() {
	local n=$1 l=$2 tun=$3 want=$4 prog=no pins=no
	ip -n "$PFX-$n" -d link show "$l" | grep -q 'prog/xdp' && prog=yes
	[ -e "$(bpffs "$n")/lwt/$tun/xdp-v3/flows" ] && pins=yes
	[ "$prog$pins" = "$want$want" ] || fail "$n: XDP program on $l: $prog, pins of $tun: $pins (want $want)"
}
switch_both() {
	xdp_on s v-s-c lwts no
	run ctl s lwts attach v-s-c
	run ctl c lwtc attach v-c-s
	[ "$(jget s lwts .path)" = af-xdp ] || fail "server path not af-xdp after attach"
	[ "$(jget c lwtc .path)" = af-xdp ] || fail "client path not af-xdp after attach"
	xdp_on s v-s-c lwts yes
	xdp_on c v-c-s lwtc yes
	"$@"
	run ctl c lwtc detach v-c-s
	run ctl s lwts detach v-s-c
	[ "$(jget s lwts .path)" = raw-socket ] || fail "server path not raw after detach"
	[ "$(jget c lwtc .path)" = raw-socket ] || fail "client path not raw after detach"
	xdp_on s v-s-c lwts no
	xdp_on c v-c-s lwtc no
}

say "a ping every 20 ms across attach and detach of both ends"
nsbg c ping -i 0.02 -c 300 -W 1 10.0.0.1 >"$LOGDIR/ping.txt" 2>&1
pingpid=$BG_PID
wait_for 10 "50 pings answered" answered 50
over_xdp() {
	local n0
	ctl s lwts status
	ctl s lwts attach v-s-c 2>"$LOGDIR/err3" && fail "second attach succeeded"
	grep -q "already attached" "$LOGDIR/err3" || fail "unclear error: $(cat "$LOGDIR/err3")"
	n0=$(grep -c 'bytes from' "$LOGDIR/ping.txt")
	wait_for 10 "100 more pings over AF_XDP" answered $((n0 + 100))
}
switch_both over_xdp
wait "$pingpid" || true
tail -2 "$LOGDIR/ping.txt"
lost=$(awk '/packets transmitted/ {print $1 - $4}' "$LOGDIR/ping.txt")
say "ping lost $lost of 300 across attach + detach"
[ -n "$lost" ] && [ "$lost" -le 2 ] || fail "lost $lost pings across the switch (want <= 2)"

say "an iperf3 TCP flow across attach and detach of both ends completes"
port=5301
nsbg s timeout 60 iperf3 -s -1 -B 10.0.0.1 -p $port >/dev/null 2>&1
wait_for 5 "iperf3 listening" nsx s sh -c "ss -ltn | grep -q '10.0.0.1:$port '"
nsbg c timeout 40 iperf3 -c 10.0.0.1 -p $port -t 6 -J >"$LOGDIR/iperf.json" 2>"$LOGDIR/iperf.err"
iperfpid=$BG_PID
moving() { [ "$(jget s lwts .totals.rx_packets)" -ge "$1" ]; }
wait_for 10 "iperf3 under way" moving $(( $(jget s lwts .totals.rx_packets) + 20000 ))
over_xdp_iperf() { wait_for 10 "iperf3 over AF_XDP" moving $(( $(jget s lwts .totals.rx_packets) + 50000 )); }
switch_both over_xdp_iperf
wait "$iperfpid" || true
bps=$(jq '.end.sum_received.bits_per_second // 0' "$LOGDIR/iperf.json")
say "iperf3 across the switches: $(jq -n "$bps / 1e6 | floor") Mbit/s"
jq -en 'input | .end.sum_received.bytes > 0 and (has("error") | not)' "$LOGDIR/iperf.json" >/dev/null ||
	fail "iperf3 flow did not complete: $(jq -r '.error // "?"' "$LOGDIR/iperf.json")"
[ "$(jget c lwtc .reconnects)" -eq 0 ] || fail "the client reconnected"
[ "$(jget s lwts .handshakes_ok)" -eq 1 ] || fail "the session was re-established"
say PASS
