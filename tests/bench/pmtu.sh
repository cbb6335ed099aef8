#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, path MTU: how long `mtu 0` takes to settle. Client and server
# on 1500-byte links, a router between them whose routes carry MTU 1280
# both ways (as tests/netns/64_pmtu.sh), the client's side through
# lwt-impair for a one-way delay (RTT 0 and LWT_BENCH_PMTU_RTT_MS, 50):
#
#   c --[lwt-impair, delay]-- r [routes mtu 1280] -- s
#
# Per RTT and per case (icmp: the router's frag-needed arrives; blackhole:
# nft drops it), LWT_BENCH_PMTU_RUNS (5) times: both daemons start afresh;
# reported are the client's own figure (settle_ms: from its search's start,
# which is its session's first control tick, to the path MTU found) and
# the wall time from the session being seen up to the search being seen
# done (polled every ~20 ms), p50 and max. Targets (issue 12): <= 3 s with
# ICMP, <= 10 s black-holed. A benchmark: it asserts nothing about time.
# Writes build/bench/pmtu.json.
. "$(dirname "$0")/lib.sh"
RUNS=${LWT_BENCH_PMTU_RUNS:-5}
RTT_MS=${LWT_BENCH_PMTU_RTT_MS:-50}

add_ns c
add_ns m
add_ns r
add_ns s
ip link add v-c-m netns "$PFX-c" type veth peer v-m-c netns "$PFX-m"
ip link add v-r-m netns "$PFX-r" type veth peer v-m-r netns "$PFX-m"
ip -n "$PFX-c" addr add 10.97.1.2/24 dev v-c-m
ip -n "$PFX-r" addr add 10.97.1.1/24 dev v-r-m
for l in c:v-c-m r:v-r-m m:v-m-c m:v-m-r; do
	ip -n "$PFX-${l%%:*}" link set "${l#*:}" up
	ip netns exec "$PFX-${l%%:*}" ethtool -K "${l#*:}" tso off gso off gro off >/dev/null 2>&1 || true
done
link r s 10.97.2.1/24 10.97.2.2/24
nsx c ip route add default via 10.97.1.1
nsx s ip route add default via 10.97.2.1
nsx r sysctl -qw net.ipv4.ip_forward=1
nsx r ip route replace 10.97.1.0/24 dev v-r-m proto kernel scope link src 10.97.1.1 mtu 1280
nsx r ip route replace 10.97.2.0/24 dev v-r-s proto kernel scope link src 10.97.2.1 mtu 1280
BR_A=v-m-c BR_B=v-m-r
IMPAIR_PID=
impair() {
	[ -n "$IMPAIR_PID" ] && stop "$IMPAIR_PID"
	rm -f "$LOGDIR/impair.ready"
	ip netns exec "$PFX-m" "$TOOLS/lwt-impair" "$BR_A" "$BR_B" --ready-file "$LOGDIR/impair.ready" \
		"$@" 2>>"$LOGDIR/impair.log" &
	IMPAIR_PID=$!
	PIDS+=("$IMPAIR_PID")
	wait_for 5 "bridge ready" test -f "$LOGDIR/impair.ready"
}
icmp_verdict() {
	nsx r nft -f - <<NFT 2>>"$LOGDIR/trace.log"
table ip pm
delete table ip pm
table ip pm {
	chain pmout {
		type filter hook output priority 0;
		icmp type destination-unreachable icmp code frag-needed $1
	}
}
NFT
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
pm() { ip netns exec "$PFX-c" "$CTL" -i lwtc status --json 2>/dev/null | jq -r "$1" 2>/dev/null || true; }

# one_run: sm wm pmtu by (null if not done within 30 s)
one_run() {
	local t_up='' t_done='' i st
	nsx c ip route flush cache 2>>"$LOGDIR/trace.log"
	nsx s ip route flush cache 2>>"$LOGDIR/trace.log"
	start server s -m server -l 10.97.2.2:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -mtu 0 2>>"$LOGDIR/trace.log"
	start client c -m client -r 10.97.2.2:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc -mtu 0 2>>"$LOGDIR/trace.log"
	for ((i = 0; i < 1500; i++)); do
		st=$(pm '[.sessions, .pmtu.state] | @tsv')
		if [ -z "$t_up" ] && [ "${st%%	*}" = 1 ]; then t_up=$(now_ms); fi
		if [ -n "$t_up" ] && [ "${st#*	}" = done ]; then t_done=$(now_ms); break; fi
		sleep 0.02
	done
	sm=null wm=null pmtu=null by=none
	if [ -n "$t_done" ]; then
		sm=$(pm .pmtu.settle_ms) wm=$((t_done - t_up)) pmtu=$(pm .pmtu.path_mtu) by=$(pm .pmtu.found_by)
	fi
	stop "$client_PID"
	stop "$server_PID"
}

declare -A RES
for rtt in 0 "$RTT_MS"; do
	impair --delay-ms $((rtt / 2))
	for c in icmp blackhole; do
		if [ $c = icmp ]; then icmp_verdict accept; else icmp_verdict drop; fi
		s=() w=()
		for ((k = 0; k < RUNS; k++)); do
			one_run
			say "rtt $rtt ms, $c, run $k: settle_ms $sm, wall $wm ms (path MTU $pmtu by $by)"
			s+=("$sm") w+=("$wm")
		done
		RES[$rtt-$c]=$(jq -nc --argjson s "[$(IFS=,; echo "${s[*]}")]" --argjson w "[$(IFS=,; echo "${w[*]}")]" '
			def p50: map(select(. != null)) | sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
			def mx: map(select(. != null)) | max;
			{ settle_ms: { p50: ($s | p50), max: ($s | mx), runs: $s },
			  wall_ms: { p50: ($w | p50), max: ($w | mx), runs: $w } }')
	done
done
jq -n --argjson i0 "${RES[0-icmp]}" --argjson b0 "${RES[0-blackhole]}" \
	--argjson i1 "${RES[$RTT_MS-icmp]}" --argjson b1 "${RES[$RTT_MS-blackhole]}" --argjson rtt "$RTT_MS" \
	'{ path_mtu: 1280, targets_ms: { icmp: 3000, blackhole: 10000 },
	   rtt_0: { icmp: $i0, blackhole: $b0 },
	   ("rtt_" + ($rtt | tostring)): { icmp: $i1, blackhole: $b1 } }' | tee "$OUT/pmtu.json"
