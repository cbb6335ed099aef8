#!/bin/bash
# SPDX-License-Identifier: MIT
# The impairment bridge measures what it was asked for: delay, loss, burst
# loss and a rate cap, within tolerances stated next to each check.
. "$(dirname "$0")/lib.sh"

# 1: no impairment: no loss.
bridged a b
read -r loss avg < <(ping_stats a 10.96.0.2 100 0.01)
say "plain: loss $loss% rtt $avg ms"
[ "$loss" = 0 ] || fail "loss without impairment"
stop "$IMPAIR_PID"

# 2: 20 ms each way: the least RTT of 30 pings within 40 ms +- 3 (the least,
# not the mean: a loaded machine delays some pings further, never fewer).
rm -f "$LOGDIR/impair.ready"
ip netns exec "$PFX-m" "$TOOLS/lwt-impair" v-m-a v-m-b --delay-ms 20 --ready-file "$LOGDIR/impair.ready" 2>>"$LOGDIR/impair.log" &
IMPAIR_PID=$!; PIDS+=("$IMPAIR_PID")
wait_for 5 "bridge ready" test -f "$LOGDIR/impair.ready"
out=$(nsx a ping -n -q -c 30 -i 0.05 -W 2 10.96.0.2 || true)
min=$(awk -F'[ /]' '/^rtt/ {print $7}' <<<"$out")
avg=$(awk -F'[ /]' '/^rtt/ {print $8}' <<<"$out")
say "delay 20 ms each way: rtt min $min ms, avg $avg ms"
jq -e -n "$min > 37 and $min < 43" >/dev/null || fail "least rtt $min not within 40 +- 3 ms"
stop "$IMPAIR_PID"

# 3: 10% loss a->b only, 1000 pings: within 10 +- 4% (about 4 sigma of a
# binomial with n=1000, p=0.1), and the bridge's own count agrees.
rm -f "$LOGDIR/impair.ready" "$LOGDIR/impair.json"
ip netns exec "$PFX-m" "$TOOLS/lwt-impair" v-m-a v-m-b --ab-loss 10 --seed 7 --ready-file "$LOGDIR/impair.ready" --stats-file "$LOGDIR/impair.json" 2>>"$LOGDIR/impair.log" &
IMPAIR_PID=$!; PIDS+=("$IMPAIR_PID")
wait_for 5 "bridge ready" test -f "$LOGDIR/impair.ready"
read -r loss avg < <(ping_stats a 10.96.0.2 1000 0.002)
stop "$IMPAIR_PID"
dropped=$(jq '.ab.dropped_loss' "$LOGDIR/impair.json")
ba=$(jq '.ba.dropped_loss' "$LOGDIR/impair.json")
say "loss 10% a->b: ping lost $loss%, bridge dropped $dropped a->b and $ba b->a"
jq -e -n "$loss >= 6 and $loss <= 14" >/dev/null || fail "loss $loss% not within 10 +- 4%"
[ "$ba" -eq 0 ] || fail "b->a should be clean"
jq -e -n "($dropped / 10) - $loss | fabs < 1.5" >/dev/null || fail "bridge count disagrees with ping"

# 4: burst loss (Gilbert-Elliott p=2%, r=20%): stationary loss p/(p+r) = 9.1%;
# bursts make the variance larger, so accept 3..18%.
rm -f "$LOGDIR/impair.ready"
ip netns exec "$PFX-m" "$TOOLS/lwt-impair" v-m-a v-m-b --ab-burst-loss 2,20 --seed 3 --ready-file "$LOGDIR/impair.ready" 2>>"$LOGDIR/impair.log" &
IMPAIR_PID=$!; PIDS+=("$IMPAIR_PID")
wait_for 5 "bridge ready" test -f "$LOGDIR/impair.ready"
read -r loss avg < <(ping_stats a 10.96.0.2 1000 0.002)
stop "$IMPAIR_PID"
say "burst loss 2,20: ping lost $loss% (stationary 9.1%)"
jq -e -n "$loss >= 3 and $loss <= 18" >/dev/null || fail "burst loss $loss% off"

# 5: rate cap 10 Mbit/s: iperf3 gets 8.5..10.5 Mbit/s.
rm -f "$LOGDIR/impair.ready"
ip netns exec "$PFX-m" "$TOOLS/lwt-impair" v-m-a v-m-b --rate-mbit 10 --limit-pkts 200 --ready-file "$LOGDIR/impair.ready" 2>>"$LOGDIR/impair.log" &
IMPAIR_PID=$!; PIDS+=("$IMPAIR_PID")
wait_for 5 "bridge ready" test -f "$LOGDIR/impair.ready"
bps=$(iperf_run b 10.96.0.2 a "$LOGDIR/iperf.json" -t 3)
mbit=$(jq -n "$bps / 1e6")
say "rate cap 10 Mbit/s: iperf3 $mbit Mbit/s"
jq -e -n "$mbit >= 8.5 and $mbit <= 10.5" >/dev/null || fail "rate $mbit Mbit/s off"
say PASS
