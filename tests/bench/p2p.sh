#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, part 6: P2P in the NAT lab (tests/netns/natlab.sh). Per NAT
# pair, LWT_BENCH_P2P_RUNS (20) times: both clients start afresh, one pings
# the other every 10 ms, and the time from the first ping to the moment the
# client reports a direct path is taken (polled every ~10 ms): p50, p95 and
# how many runs went direct. A pair with a symmetric NAT first waits for
# both clients' NAT detection (the hub picks the strategy from both kinds:
# fake TCP, or UDP with the birthday strategy against a port-restricted
# cone). LWT_BENCH_P2P_PAIRS (comma-separated) limits the pairs measured;
# LWT_BENCH_P2P_REST=0 skips what follows them. Then, for two port-restricted NATs: the
# failover time (the longest gap between ping replies at 100 per second when
# the direct path is blocked; LWT_BENCH_P2P_FAILOVERS runs), and direct
# against relayed (-p2p=false) throughput (iperf3, SECS s) and RTT (ping).
# A benchmark: it asserts nothing. Writes build/bench/p2p.json.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/netns/natlab.sh"
RUNS=${LWT_BENCH_P2P_RUNS:-20}
FAILOVERS=${LWT_BENCH_P2P_FAILOVERS:-3}

natlab_hub
natlab_site p port
natlab_site q port
natlab_site n none
natlab_site f full
natlab_site s symmetric
natlab_site d double
natlab_site l lan
declare -A TIP=([p]=10.0.0.11 [q]=10.0.0.12 [n]=10.0.0.13 [f]=10.0.0.14 [s]=10.0.0.15 [d]=10.0.0.16
		[l]=10.0.0.17 [l2]=10.0.0.18)
NATLAB_CLIENT[l2]=${NATLAB_CLIENT2[l]}
start server hub -m server -l "$HUB_ADDR:9000" -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -max-clients 20
wait_for 5 "hub up" nsx hub "$CTL" -i lwts status

# cli SITE [ARGS]: (re)start the site's client; waits for its session.
cli() {
	local s=$1 v="c${1}_PID"; shift
	[ -n "${!v:-}" ] && stop "${!v}"
	start "c$s" "${NATLAB_CLIENT[$s]}" -m client -r "$HUB_ADDR:9000" -t "${TIP[$s]}/24" -k "$KEY" \
		-tun-name lwtc "$@"
	wait_for 15 "client $s up" sessions_up "${NATLAB_CLIENT[$s]}" lwtc
}
path() { jget "${NATLAB_CLIENT[$1]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"${TIP[$2]}\") | .path][0] // \"none\""; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# one_run A B: RUN_MS, ms from the first ping of A to B until A reports a
# direct path ("-" if none within 20 s).
one_run() {
	local a=$1 b=$2 t0 p pp
	cli "$a"
	cli "$b"
	wait_for 10 "$a knows $b" sh -c "ip netns exec $PFX-${NATLAB_CLIENT[$a]} $CTL -i lwtc status --json | jq -en 'input | .known_peers >= 1'"
	if [ "${NATLAB_KIND[$a]:-}" = symmetric ] || [ "${NATLAB_KIND[$b]:-}" = symmetric ]; then
		for x in "$a" "$b"; do
			wait_for 15 "$x knows its NAT" sh -c "[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[$x]} $CTL -i lwtc status --json | jq -r .p2p.nat)\" != Unknown ]"
		done
	fi
	nsbg "${NATLAB_CLIENT[$a]}" ping -q -i 0.01 -w 22 "${TIP[$b]}"
	pp=$BG_PID
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt 20000 ]; do
		p=$(path "$a" "$b")
		case "$p" in lan | direct-tcp | direct-udp) RUN_MS=$(($(now_ms) - t0)); stop "$pp"; return ;; esac
		sleep 0.005
	done
	stop "$pp"
	RUN_MS=-
}

declare -A RES
IFS=, read -r -a PAIRS <<<"${LWT_BENCH_P2P_PAIRS:-p q,l l2,n p,d p,f s,s p}"
for pair in "${PAIRS[@]}"; do
	set -- $pair
	times=()
	for i in $(seq 1 "$RUNS"); do one_run "$1" "$2"; times+=("$RUN_MS"); done
	RES["$1-$2"]=$(printf '%s\n' "${times[@]}" | jq -Rsc 'split("\n") | map(select(length > 0)) |
		{ runs: length, direct: (map(select(. != "-")) | length),
		  ms: (map(select(. != "-") | tonumber) | sort) } |
		. + { p50: (if .direct > 0 then .ms[(.direct * 0.5 | floor)] else null end),
		      p95: (if .direct > 0 then .ms[([(.direct * 0.95 | ceil) - 1, 0] | max)] else null end) }')
	say "pair $1 (${NATLAB_KIND[$1]:-lan}) - $2 (${NATLAB_KIND[$2]:-lan}): ${RES["$1-$2"]}"
done

if [ "${LWT_BENCH_P2P_REST:-1}" = 0 ]; then
	jq -n --argjson sp "${RES[s-p]:-null}" '{ time_to_direct_ms: { "symmetric-port": $sp } }' |
		tee "$OUT/p2p-ttd.json"
	exit 0
fi

# Failover: p <-> q direct, pings every 10 ms, p's site blocked but for the
# hub; the longest gap between replies.
cli p
cli q
fo=()
for i in $(seq 1 "$FAILOVERS"); do
	nsx "${NATLAB_CLIENT[p]}" ping -c 20 -i 0.05 -q "${TIP[q]}" >/dev/null 2>&1 || true
	wait_for 20 "p direct to q" sh -c "[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[p]} $CTL -i lwtc status --json | jq -r '[.p2p.paths[] | select(.tunnel_ip == \"${TIP[q]}\") | .path][0]')\" = direct-tcp ]"
	nsbg "${NATLAB_CLIENT[p]}" sh -c "ping -D -n -i 0.01 -w 8 ${TIP[q]} > '$LOGDIR/fo.txt'"
	pp=$BG_PID
	sleep 1
	natlab_block p
	wait "$pp" || true
	natlab_unblock p
	gap=$(awk -F'[][]' '/bytes from/ { t = $2 + 0; if (last && t - last > g) g = t - last; last = t } END { printf "%d", g * 1000 }' "$LOGDIR/fo.txt")
	fo+=("$gap")
	say "failover $i: longest gap between replies $gap ms"
	# The pair punches again 12 s after the loss.
	sleep 13
done

# Direct against relayed: throughput and RTT, p -> q.
tp() {
	iperf_run "${NATLAB_CLIENT[q]}" "${TIP[q]}" "${NATLAB_CLIENT[p]}" "$LOGDIR/iperf-$1.json" -t "$SECS"
}
rtt() { ping_stats "${NATLAB_CLIENT[p]}" "${TIP[q]}" 50 0.02 | cut -d' ' -f2; }
nsx "${NATLAB_CLIENT[p]}" ping -c 20 -i 0.05 -q "${TIP[q]}" >/dev/null 2>&1 || true
wait_for 30 "p direct to q" sh -c "[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[p]} $CTL -i lwtc status --json | jq -r '[.p2p.paths[] | select(.tunnel_ip == \"${TIP[q]}\") | .path][0]')\" = direct-tcp ]"
dbps=$(tp direct)
drtt=$(rtt)
# Idle cost: segments both sides send on the direct path over IDLE s of
# silence (records and pure ACKs of the direct slot).
IDLE=${LWT_BENCH_P2P_IDLE:-75}
segs() { jget "${NATLAB_CLIENT[$1]}" lwtc '[.peers[] | select(.path == "direct-tcp") | .tx_packets + .pure_acks][0] // 0'; }
sleep 5
i0=$(( $(segs p) + $(segs q) ))
sleep "$IDLE"
i1=$(( $(segs p) + $(segs q) ))
say "idle direct path: $((i1 - i0)) segments in $IDLE s (both directions)"
cli p -p2p=false
cli q -p2p=false
rbps=$(tp relayed)
rrtt=$(rtt)

jq -n --argjson pq "${RES[p-q]:-null}" --argjson ll "${RES[l-l2]:-null}" --argjson np "${RES[n-p]:-null}" \
	--argjson dp "${RES[d-p]:-null}" --argjson fs "${RES[f-s]:-null}" --argjson sp "${RES[s-p]:-null}" \
	--argjson fo "$(printf '%s\n' "${fo[@]}" | jq -Rsc 'split("\n") | map(select(length > 0) | tonumber)')" \
	--argjson dbps "$dbps" --argjson rbps "$rbps" --arg drtt "$drtt" --arg rrtt "$rrtt" \
	--argjson idle "$((i1 - i0))" --argjson idles "$IDLE" \
	'{ time_to_direct_ms: { "port-port": $pq, "lan": $ll, "none-port": $np, "double-port": $dp,
	   "full-symmetric": $fs, "symmetric-port": $sp },
	   failover_gap_ms: $fo,
	   idle: { seconds: $idles, segments_both_ways: $idle },
	   direct: { mbps: ($dbps / 1e6 | floor), rtt_ms: ($drtt | tonumber) },
	   relayed: { mbps: ($rbps / 1e6 | floor), rtt_ms: ($rrtt | tonumber) } }' | tee "$OUT/p2p.json"
