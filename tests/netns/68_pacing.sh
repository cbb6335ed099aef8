#!/bin/bash
# SPDX-License-Identifier: MIT
# faketcp_pacing_us: a client told to pause 2 ms between segments sends at
# most 500 segments a second for what its TUN gives, however much more is
# offered (UDP at 20 Mbit/s, ~1800 packets a second); the rest waits in the
# TUN's queue and overflows there. Counted where they arrive: the server's
# segments received, over the measured time, with room for the unpaced pure
# ACKs, keepalives and loss reports. Without pacing the same offer goes
# through several times faster (so the bound is what pacing did).
. "$(dirname "$0")/lib.sh"

two_hosts
start_server
segs() { jget s lwts '[.pollers[].rx_segments] | add'; }
# rate PACING: segments a second the server received during 3 s of UDP.
rate() {
	local s0 s1 t0 t1
	s0=$(segs)
	t0=$(date +%s%N)
	iperf_run s 10.0.0.1 c "$LOGDIR/iperf-$1.json" -u -b 20M -l 1300 -t 3 >/dev/null
	t1=$(date +%s%N)
	s1=$(segs)
	echo $(( (s1 - s0) * 1000000000 / (t1 - t0) ))
}

start_client -faketcp-pacing-us 2000
wait_for 10 "session up" sessions_up c lwtc
grep -q "faketcp_pacing_us: pacing is not active" "$LOGDIR/client.log" && fail "pacing said not active"
paced=$(rate paced)
say "paced at 2 ms: the server received $paced segments/s"
[ "$paced" -ge 100 ] || fail "almost nothing went through with pacing ($paced/s)"
[ "$paced" -le 560 ] || fail "$paced segments/s with a 2 ms pause between segments (want <= 500 + 60 unpaced)"
nsx c ping -c 3 -i 0.2 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no ping with pacing on"
stop "$client_PID"

start_client
wait_for 10 "session up again" sessions_up c lwtc
free=$(rate free)
say "not paced: $free segments/s"
[ "$free" -ge $((3 * paced)) ] || fail "without pacing only $free segments/s (paced $paced): the bound proves nothing"
stop "$client_PID"
stop "$server_PID"
say PASS
