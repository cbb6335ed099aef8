#!/bin/bash
# SPDX-License-Identifier: MIT
# Adaptive FEC (the default, ceiling 3) on random loss: 20 ms each way, 5%
# loss each way.
# 1. Parity rises on both sides within seconds of a new session (which
#    starts at 0), then 1000 pings at 10 ms lose under 0.5% (without FEC
#    9.75% round trip: 97 expected, 0.5% is 5; with 10+3 about 0).
# 2. The link turns clean: parity decays to 0 on both sides; lossy again:
#    it rises; clean again: back to 0. Each change followed within 10 s,
#    polled while pings keep records flowing.
. "$(dirname "$0")/lib.sh"

bridged s c --delay-ms 20 --loss 5 --seed 11
start server s -m server -l 10.96.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
start client c -m client -r 10.96.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 20 "client session up" sessions_up c lwtc
wait_for 20 "server session up" sessions_up s lwts
fec() { jget "$1" "$2" ".peers[0].fec.$3"; }
parity() { [ "$(jget "$1" "$2" .peers[0].fec.parity_now)" "$3" "$4" ]; }
both() { parity c lwtc "$@" && parity s lwts "$@"; }

# -i 0.009: 10 ms apart (iputils waits out 10 ms or more on its socket
# timeout, ~16 ms).
nsbg c ping -q -i 0.009 -c 6000 10.0.0.1
PING_PID=$BG_PID
wait_for 10 "parity up on both sides at 5% loss" both -ge 1 ||
	fail "parity client $(fec c lwtc parity_now) server $(fec s lwts parity_now) at 5% loss"
read -r loss _ < <(ping_stats c 10.0.0.1 1000 0.009)
pc=$(fec c lwtc parity_now)
ps=$(fec s lwts parity_now)
say "5% loss: 1000 pings lost $loss%; parity client $pc server $ps; measured loss client $(fec c lwtc loss_ppm) server $(fec s lwts loss_ppm) ppm; rebuilt server $(fec s lwts packets_rebuilt) client $(fec c lwtc packets_rebuilt)"
jq -e -n "$loss < 0.5" >/dev/null || fail "ping loss $loss% at 5% random loss (want < 0.5%)"
[ "$pc" -ge 1 ] && [ "$ps" -ge 1 ] || fail "parity dropped to 0 on a lossy link"

say "clean: parity decays"
impair_restart --delay-ms 20
wait_for 10 "parity 0 on both sides" both = 0 ||
	fail "parity client $(fec c lwtc parity_now) server $(fec s lwts parity_now) on a clean link"
say "lossy again: parity rises"
impair_restart --delay-ms 20 --loss 5 --seed 12
wait_for 10 "parity up on both sides" both -ge 1 ||
	fail "parity client $(fec c lwtc parity_now) server $(fec s lwts parity_now) at 5% loss"
say "clean again: parity decays"
impair_restart --delay-ms 20
wait_for 10 "parity 0 on both sides" both = 0 ||
	fail "parity client $(fec c lwtc parity_now) server $(fec s lwts parity_now) on a clean link"
say "holds client $(fec c lwtc congestion_holds) server $(fec s lwts congestion_holds), raises client $(fec c lwtc parity_raises), decays client $(fec c lwtc parity_decays)"
[ "$(fec c lwtc congestion_holds)" = 0 ] || fail "random loss judged congestion"
stop "$PING_PID"
stop "$client_PID"
stop "$server_PID"
assert_no_rule s
assert_no_rule c
say PASS
