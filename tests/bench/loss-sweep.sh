#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, part 2: TCP goodput and ping RTT through the impairment bridge
# (20 ms one way, random loss each way at 0, 1, 3, 5, 10%) for the bare path
# and for lwt with FEC off, FEC 10+3 and adaptive FEC (ceiling 3). A
# benchmark: it asserts nothing. Writes build/bench/loss.{json,png}.
. "$(dirname "$0")/lib.sh"
DELAY=${LWT_BENCH_DELAY_MS:-20}
LOSSES=${LWT_BENCH_LOSSES:-0 1 3 5 10}
# A WAN-like bottleneck: a rate cap with a queue of about 2 BDP, so that the
# figures measure loss, not how fast the bridge can copy frames.
RATE=${LWT_BENCH_RATE_MBIT:-100}
LIMIT=${LWT_BENCH_LIMIT_PKTS:-700}
SHAPE=(--delay-ms "$DELAY" --rate-mbit "$RATE" --limit-pkts "$LIMIT")
CONFIGS=(none fec-off fec-10+3 fec-adaptive)

bridged s c "${SHAPE[@]}"

srv() { start server s -m server -l 10.96.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
cli() { start client c -m client -r 10.96.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc "$@"; }

declare -A G RT OV
for cfg in "${CONFIGS[@]}"; do
	case $cfg in
	none) dst=10.96.0.1 ;;
	fec-off) dst=10.0.0.1; opts=(-fec-parity 0) ;;
	fec-10+3) dst=10.0.0.1; opts=(-fec-data 10 -fec-parity 3) ;;
	fec-adaptive) dst=10.0.0.1; opts=(-fec-data 10 -fec-parity 3 -fec-adaptive) ;;
	esac
	if [ $cfg != none ]; then
		impair_restart "${SHAPE[@]}"
		srv "${opts[@]}"
		cli "${opts[@]}"
		wait_for 20 "tunnel up" sessions_up c lwtc
	fi
	for l in $LOSSES; do
		impair_restart "${SHAPE[@]}" --loss "$l" --seed "$((l + 1))"
		read -r _ avg < <(ping_stats c "$dst" 100 0.01 2>/dev/null)
		RT[$cfg,$l]=$avg
		if [ $cfg != none ]; then
			d0=$(jget c lwtc '.peers[0].fec.data_sent // 0')
			p0=$(jget c lwtc '.peers[0].fec.parity_sent // 0')
		fi
		G[$cfg,$l]=$(iperf_run s "$dst" c "$LOGDIR/iperf.json" -t "$SECS" 2>/dev/null)
		OV[$cfg,$l]=0
		if [ $cfg != none ]; then
			d1=$(jget c lwtc '.peers[0].fec.data_sent // 0')
			p1=$(jget c lwtc '.peers[0].fec.parity_sent // 0')
			OV[$cfg,$l]=$(jq -n "if $d1 > $d0 then ($p1 - $p0) / ($d1 - $d0) * 100 else 0 end")
		fi
		say "$cfg loss $l%: goodput $(jq -n "${G[$cfg,$l]} / 1e6 * 100 | floor / 100") Mbit/s, rtt $avg ms, parity overhead ${OV[$cfg,$l]}%"
	done
	if [ $cfg != none ]; then
		stop "$client_PID"
		stop "$server_PID"
	fi
done

{
	echo "{ \"delay_ms\": $DELAY, \"rate_mbit\": $RATE, \"limit_pkts\": $LIMIT, \"seconds\": $SECS, \"results\": ["
	first=1
	for cfg in "${CONFIGS[@]}"; do
		for l in $LOSSES; do
			[ $first = 1 ] || echo ","
			first=0
			printf '{"config": "%s", "loss_pct": %s, "goodput_bps": %s, "rtt_ms": %s, "parity_overhead_pct": %s}' \
				"$cfg" "$l" "${G[$cfg,$l]}" "${RT[$cfg,$l]:-0}" "${OV[$cfg,$l]}"
		done
	done
	echo "] }"
} | jq . >"$OUT/loss.json"

printf '\nTCP goodput, Mbit/s (ping RTT, ms), %s ms each way, %s Mbit/s cap, loss each way:\n' "$DELAY" "$RATE"
printf '%-14s' config
for l in $LOSSES; do printf '%20s' "$l%"; done
echo
for cfg in "${CONFIGS[@]}"; do
	printf '%-14s' "$cfg"
	for l in $LOSSES; do
		printf '%20s' "$(jq -rn "\"\(${G[$cfg,$l]} / 1e6 * 100 | floor / 100) (\(${RT[$cfg,$l]:-0}))\"")"
	done
	echo
done
for l in $LOSSES; do
	printf 'at %s%% loss: lwt FEC 10+3 / bare path = %sx, adaptive / bare = %sx\n' "$l" \
		"$(jq -n "if ${G[none,$l]} > 0 then ${G[fec-10+3,$l]} / ${G[none,$l]} * 10 | floor / 10 else null end")" \
		"$(jq -n "if ${G[none,$l]} > 0 then ${G[fec-adaptive,$l]} / ${G[none,$l]} * 10 | floor / 10 else null end")"
done

{
	for l in $LOSSES; do
		printf '%s' "$l"
		for cfg in "${CONFIGS[@]}"; do printf ' %s' "$(jq -n "${G[$cfg,$l]} / 1e6")"; done
		echo
	done
} >"$OUT/loss.dat"
gnuplot <<GP
set terminal png size 900,500
set output "$OUT/loss.png"
set title "TCP goodput, ${DELAY} ms one way, ${RATE} Mbit/s, random loss each way"
set xlabel "loss each way, %"
set ylabel "goodput, Mbit/s (log)"
set logscale y
set key top right
set grid
plot "$OUT/loss.dat" using 1:2 with linespoints title "no tunnel", \
     '' using 1:3 with linespoints title "lwt, FEC off", \
     '' using 1:4 with linespoints title "lwt, FEC 10+3", \
     '' using 1:5 with linespoints title "lwt, adaptive FEC"
GP
say "wrote $OUT/loss.json and $OUT/loss.png"
