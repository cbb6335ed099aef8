#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, FEC's cost per packet on a clean veth: a 1-stream iperf3
# upload through lwt with FEC off (-fec-parity 0), fixed 10+3
# (-fec-adaptive=false) and the default (adaptive, ceiling 10+3: parity 0
# here). Per config: goodput, and CPU time of the sending (client) and
# receiving (server) daemons per inner packet (perf stat task-clock
# over the run / the client's records sent, parity included, and / the
# inner packets iperf3 carried at 1448 bytes of payload each). Then where
# the sender's time goes with 10+3 (perf record, flat, FEC symbols
# marked). The configs run back to back, ROUNDS times in turn (CPU shared:
# compare within a round). A benchmark: it asserts nothing. Writes
# build/bench/fec-cost.{json,txt}. Knobs: LWT_BENCH_SECONDS (5),
# LWT_BENCH_ROUNDS (2), LWT_BENCH_CONFIGS.
. "$(dirname "$0")/lib.sh"
ROUNDS=${LWT_BENCH_ROUNDS:-2}
read -r -a CONFIGS <<<"${LWT_BENCH_CONFIGS:-fec-off fec-10+3 default}"
command -v perf >/dev/null && perf stat -e task-clock -o /dev/null -- true >/dev/null 2>&1 ||
	skip "perf stat unusable here"

two_hosts
opts_of() {
	case $1 in
	fec-off) echo "-fec-parity 0" ;;
	fec-10+3) echo "-fec-adaptive=false" ;;
	default) echo "" ;;
	esac
}
task_ms() { awk '$2 == "msec" && $3 == "task-clock" { gsub(",", "", $1); print $1 }' "$1"; }

declare -A R
: >"$OUT/fec-cost.txt"
for ((round = 1; round <= ROUNDS; round++)); do
	for cfg in "${CONFIGS[@]}"; do
		# shellcheck disable=SC2046
		start_server $(opts_of $cfg)
		# shellcheck disable=SC2046
		start_client $(opts_of $cfg)
		wait_for 20 "tunnel up" sessions_up c lwtc
		nsx c ping -q -c 20 -i 0.01 10.0.0.1 >/dev/null 2>&1 || true
		cpid=$(jget c lwtc .pid)
		spid=$(jget s lwts .pid)
		r0=$(jget c lwtc .peers[0].tx_packets)
		p0=$(jget c lwtc '.peers[0].fec.parity_sent // 0')
		perf stat -e task-clock -o "$LOGDIR/pc.txt" -p "$cpid" -- sleep "$SECS" 2>/dev/null &
		pc=$!
		perf stat -e task-clock -o "$LOGDIR/ps.txt" -p "$spid" -- sleep "$SECS" 2>/dev/null &
		ps=$!
		PIDS+=("$pc" "$ps")
		out=$LOGDIR/iperf-$cfg.json
		nsbg s timeout 60 iperf3 -s -1 -B 10.0.0.1 -p 5299 >/dev/null 2>&1
		wait_for 5 "iperf3 listening" nsx s sh -c "ss -ltn | grep -q '10.0.0.1:5299 '"
		nsx c timeout 60 iperf3 -c 10.0.0.1 -p 5299 -t "$SECS" -J >"$out" || true
		wait "$pc" "$ps" 2>/dev/null || true
		r1=$(jget c lwtc .peers[0].tx_packets)
		p1=$(jget c lwtc '.peers[0].fec.parity_sent // 0')
		bytes=$(jq '.end.sum_received.bytes // 0' "$out")
		bps=$(jq '.end.sum_received.bits_per_second // 0' "$out")
		cms=$(task_ms "$LOGDIR/pc.txt")
		sms=$(task_ms "$LOGDIR/ps.txt")
		# The perf window covers the whole run and a little more: per packet
		# figures are against what crossed in it.
		R[$round,$cfg]=$(jq -cn --arg c "$cfg" "{config: \$c, round: $round, goodput_bps: $bps,
			records: ($r1 - $r0), parity: ($p1 - $p0), inner_pkts: ($bytes / 1448 | floor),
			client_task_ms: ${cms:-null}, server_task_ms: ${sms:-null}}
			| .client_us_per_pkt = (if .inner_pkts > 0 then .client_task_ms * 1000 / .inner_pkts * 1000 | floor / 1000 else null end)
			| .server_us_per_pkt = (if .inner_pkts > 0 then .server_task_ms * 1000 / .inner_pkts * 1000 | floor / 1000 else null end)")
		say "round $round $cfg: ${R[$round,$cfg]}"
		echo "${R[$round,$cfg]}" >>"$OUT/fec-cost.txt"
		if [ $round = 1 ] && [ $cfg = fec-10+3 ]; then
			perf record -o "$LOGDIR/enc.data" -p "$cpid" -- sleep "$SECS" >/dev/null 2>&1 &
			prec=$!
			PIDS+=("$prec")
			nsbg s timeout 60 iperf3 -s -1 -B 10.0.0.1 -p 5298 >/dev/null 2>&1
			wait_for 5 "iperf3 listening" nsx s sh -c "ss -ltn | grep -q '10.0.0.1:5298 '"
			nsx c timeout 60 iperf3 -c 10.0.0.1 -p 5298 -t "$SECS" >/dev/null || true
			wait "$prec" 2>/dev/null || true
			{
				echo "## sender (client) daemon, fixed 10+3: perf report --no-children --sort dso,sym (top 30; FEC's own marked *)"
				perf report -i "$LOGDIR/enc.data" --no-children --sort dso,sym --stdio 2>/dev/null |
					grep -v '^#' | grep -v '^$' | head -30 |
					sed -E 's/^(.*(ec_encode|gf_|lwt_fec|fec_emit|memmove|memcpy|memset).*)$/* \1/' || true
			} >>"$OUT/fec-cost.txt"
		fi
		stop "$client_PID"
		stop "$server_PID"
	done
done
for ((round = 1; round <= ROUNDS; round++)); do
	for cfg in "${CONFIGS[@]}"; do echo "${R[$round,$cfg]}"; done
done | jq -s . >"$OUT/fec-cost.json"
printf '\n%-10s %-6s %10s %10s %10s %14s %14s\n' config round Mbit/s records parity "client us/pkt" "server us/pkt"
jq -r '.[] | [.config, .round, (.goodput_bps / 1e6 | floor), .records, .parity, .client_us_per_pkt, .server_us_per_pkt] | @tsv' "$OUT/fec-cost.json" |
	while IFS=$'\t' read -r a b c d e f g; do printf '%-10s %-6s %10s %10s %10s %14s %14s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g"; done
say "wrote $OUT/fec-cost.json and $OUT/fec-cost.txt"
