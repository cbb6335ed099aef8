#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, part 4: control traffic of a hub with many clients, with and
# without the large-deployment knobs (broadcast_throttle_ms,
# enable_incremental_update, max_peer_info_batch_size). N clients (default
# 50, one namespace each, on one bridge) connect at once, then 10 of them
# leave and come back. Counts the control records the server sends (peer
# info, route lists, rekeys: `control_tx_msgs`/`control_tx_bytes`). A
# benchmark: it asserts nothing. Writes build/bench/control.json.
. "$(dirname "$0")/lib.sh"
N=${LWT_BENCH_CLIENTS:-50}
CHURN=$(( N < 10 ? N : 10 ))

lan_switch
lan_host s 10.98.0.1/16
for i in $(seq 1 "$N"); do lan_host "c$i" "10.98.1.$i/16"; done
cli() { start "m$1" "c$1" -m client -r 10.98.0.1:9000 -t "10.0.$((1 + $1 / 200)).$(( $1 % 200 + 10 ))/16" -k "$KEY" -tun-name lwtc -fec-parity 0; }
sessions() { jget s lwts .sessions; }
ctlcount() { jget s lwts '"\(.control_tx_msgs) \(.control_tx_bytes)"'; }

declare -A R
for knobs in ${LWT_BENCH_KNOBS:-off on}; do
	if [ $knobs = on ]; then
		echo '{ "broadcast_throttle_ms": 500, "enable_incremental_update": true, "max_peer_info_batch_size": 30 }' >"$LOGDIR/server.json"
	else
		echo '{ "broadcast_throttle_ms": 0, "enable_incremental_update": false, "max_peer_info_batch_size": 0 }' >"$LOGDIR/server.json"
	fi
	start server s -c "$LOGDIR/server.json" -m server -l 10.98.0.1:9000 -t 10.0.0.1/16 -k "$KEY" \
		-tun-name lwts -max-clients $((N + 10)) -fec-parity 0
	wait_for 5 "server up" nsx s "$CTL" -i lwts status
	for i in $(seq 1 "$N"); do cli "$i"; done
	wait_for 60 "$N sessions" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions) -ge $N ]"
	wait_for 5 "throttled broadcast out" sh -c "ip netns exec $PFX-c1 $CTL -i lwtc stats --json | jq -en 'input | .known_peers == $((N - 1))'"
	read -r m1 b1 < <(ctlcount)
	for i in $(seq 1 $CHURN); do v="m${i}_PID"; stop "${!v}"; done
	wait_for 20 "churned clients gone" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions) -le $((N - CHURN)) ]"
	for i in $(seq 1 $CHURN); do cli "$i"; done
	wait_for 60 "$N sessions again" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions) -ge $N ]"
	wait_for 5 "throttled broadcast out" sh -c "ip netns exec $PFX-c$N $CTL -i lwtc stats --json | jq -en 'input | .known_peers == $((N - 1))'"
	read -r m2 b2 < <(ctlcount)
	R[$knobs,join_msgs]=$m1; R[$knobs,join_bytes]=$b1
	R[$knobs,churn_msgs]=$((m2 - m1)); R[$knobs,churn_bytes]=$((b2 - b1))
	say "knobs $knobs: join of $N: $m1 messages, $b1 bytes; $CHURN leave and return: $((m2 - m1)) messages, $((b2 - b1)) bytes"
	for i in $(seq 1 "$N"); do v="m${i}_PID"; stop "${!v}"; done
	stop "$server_PID"
done
printf '\ncontrol traffic sent by the server, %s clients:\n%-8s %14s %14s %16s %16s\n' "$N" knobs "join msgs" "join bytes" "churn msgs" "churn bytes"
for k in off on; do
	printf '%-8s %14s %14s %16s %16s\n' $k "${R[$k,join_msgs]}" "${R[$k,join_bytes]}" "${R[$k,churn_msgs]}" "${R[$k,churn_bytes]}"
done
red=$(jq -n "(1 - (${R[on,join_bytes]} + ${R[on,churn_bytes]}) / (${R[off,join_bytes]} + ${R[off,churn_bytes]})) * 100")
printf 'the knobs cut control bytes by %.1f%%\n' "$red"
jq -n "{clients: $N, churn: $CHURN, off: {join_msgs: ${R[off,join_msgs]}, join_bytes: ${R[off,join_bytes]}, churn_msgs: ${R[off,churn_msgs]}, churn_bytes: ${R[off,churn_bytes]}}, on: {join_msgs: ${R[on,join_msgs]}, join_bytes: ${R[on,join_bytes]}, churn_msgs: ${R[on,churn_msgs]}, churn_bytes: ${R[on,churn_bytes]}}, bytes_saved_pct: $red}" >"$OUT/control.json"
say "wrote $OUT/control.json"
