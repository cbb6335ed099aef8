#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, part 2: TCP goodput (one stream), ping loss and RTT through the
# impairment bridge, for the bare path and for lwt with FEC off, fixed FEC
# 10+3 (-fec-adaptive=false) and the default (adaptive, ceiling 10+3), on:
#   clean       the bridge alone: no delay, no cap, no loss
#   congested   20 ms one way, a rate cap with a queue of about 2 BDP and no
#               random loss: one TCP stream fills the queue, and the only
#               loss is its overflow (the default must not answer it with
#               parity)
#   N%          20 ms one way, the same cap, N% random loss each way (1, 3,
#               5, 10)
# Each row runs its configurations back to back (fresh daemons, 2 s of
# pings first so adaptive parity has seen the path), so that a busy CPU
# skews a row, not a comparison. Parity overhead: parity shards sent /
# records sent by the client during the iperf3 run. A benchmark: it asserts
# nothing. Writes build/bench/loss.{json,png}.
# Knobs: LWT_BENCH_DELAY_MS (20), LWT_BENCH_LOSSES ("1 3 5 10"),
# LWT_BENCH_RATE_MBIT (100), LWT_BENCH_LIMIT_PKTS (700), LWT_BENCH_PINGS
# (1000 at 10 ms), LWT_BENCH_ROWS (default: clean congested and the losses),
# LWT_BENCH_SECONDS (5).
. "$(dirname "$0")/lib.sh"
DELAY=${LWT_BENCH_DELAY_MS:-20}
LOSSES=${LWT_BENCH_LOSSES:-1 3 5 10}
RATE=${LWT_BENCH_RATE_MBIT:-100}
LIMIT=${LWT_BENCH_LIMIT_PKTS:-700}
PINGS=${LWT_BENCH_PINGS:-1000}
read -r -a ROWS <<<"${LWT_BENCH_ROWS:-clean congested $LOSSES}"
CAP=(--delay-ms "$DELAY" --rate-mbit "$RATE" --limit-pkts "$LIMIT")
CONFIGS=(none fec-off fec-10+3 default)

shape() {
	case $1 in
	clean) echo "" ;;
	congested) echo "${CAP[*]}" ;;
	*) echo "${CAP[*]} --loss $1 --seed $(($1 + 1))" ;;
	esac
}

bridged s c

srv() { start server s -m server -l 10.96.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
cli() { start client c -m client -r 10.96.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc "$@"; }

declare -A G RT PL OV PN
for row in "${ROWS[@]}"; do
	# shellcheck disable=SC2046
	impair_restart $(shape "$row")
	for cfg in "${CONFIGS[@]}"; do
		opts=()
		case $cfg in
		none) dst=10.96.0.1 ;;
		fec-off) dst=10.0.0.1; opts=(-fec-parity 0) ;;
		fec-10+3) dst=10.0.0.1; opts=(-fec-data 10 -fec-parity 3 -fec-adaptive=false) ;;
		default) dst=10.0.0.1 ;;
		esac
		if [ $cfg != none ]; then
			srv "${opts[@]}"
			cli "${opts[@]}"
			wait_for 20 "tunnel up" sessions_up c lwtc
			nsx c ping -q -c 200 -i 0.01 "$dst" >/dev/null 2>&1 || true
		fi
		read -r loss avg < <(ping_stats c "$dst" "$PINGS" 0.01 2>/dev/null)
		PL[$cfg,$row]=$loss
		RT[$cfg,$row]=$avg
		OV[$cfg,$row]=0
		PN[$cfg,$row]=0
		if [ $cfg != none ]; then
			r0=$(jget c lwtc '.peers[0].tx_packets // 0')
			p0=$(jget c lwtc '.peers[0].fec.parity_sent // 0')
		fi
		G[$cfg,$row]=$(iperf_run s "$dst" c "$LOGDIR/iperf.json" -t "$SECS" 2>/dev/null)
		if [ $cfg != none ]; then
			r1=$(jget c lwtc '.peers[0].tx_packets // 0')
			p1=$(jget c lwtc '.peers[0].fec.parity_sent // 0')
			OV[$cfg,$row]=$(jq -n "if $r1 > $r0 then ($p1 - $p0) / ($r1 - $r0) * 100 * 10 | floor / 10 else 0 end")
			PN[$cfg,$row]=$(jget c lwtc '.peers[0].fec.parity_now // 0')
			stop "$client_PID"
			stop "$server_PID"
		fi
		say "$row $cfg: goodput $(jq -n "${G[$cfg,$row]} / 1e6 * 100 | floor / 100") Mbit/s, ping loss ${PL[$cfg,$row]}% rtt $avg ms, parity ${OV[$cfg,$row]}% of records (now ${PN[$cfg,$row]})"
	done
done

{
	echo "{ \"delay_ms\": $DELAY, \"rate_mbit\": $RATE, \"limit_pkts\": $LIMIT, \"seconds\": $SECS, \"pings\": $PINGS, \"results\": ["
	first=1
	for row in "${ROWS[@]}"; do
		for cfg in "${CONFIGS[@]}"; do
			[ $first = 1 ] || echo ","
			first=0
			printf '{"row": "%s", "config": "%s", "goodput_bps": %s, "ping_loss_pct": %s, "rtt_ms": %s, "parity_overhead_pct": %s, "parity_now": %s}' \
				"$row" "$cfg" "${G[$cfg,$row]}" "${PL[$cfg,$row]:-100}" "${RT[$cfg,$row]:-0}" "${OV[$cfg,$row]}" "${PN[$cfg,$row]}"
		done
	done
	echo "] }"
} | jq . >"$OUT/loss.json"

label() { case $1 in clean | congested) echo "$1" ;; *) echo "$1% loss" ;; esac; }
printf '\nTCP goodput Mbit/s, ping loss %%, parity %% of records; clean: the bridge alone; else %s ms each way, %s Mbit/s cap, %s-packet queue:\n' "$DELAY" "$RATE" "$LIMIT"
printf '%-12s' row
for cfg in "${CONFIGS[@]}"; do printf '%26s' "$cfg"; done
printf '%16s%16s\n' "default/off" "default/10+3"
for row in "${ROWS[@]}"; do
	printf '%-12s' "$(label "$row")"
	for cfg in "${CONFIGS[@]}"; do
		printf '%26s' "$(jq -rn "\"\(${G[$cfg,$row]} / 1e6 * 10 | floor / 10) \(${PL[$cfg,$row]:-100})% \(${OV[$cfg,$row]})%\"")"
	done
	printf '%16s%16s\n' \
		"$(jq -n "if ${G[fec-off,$row]} > 0 then ${G[default,$row]} / ${G[fec-off,$row]} * 100 | floor / 100 else null end")" \
		"$(jq -n "if ${G[fec-10+3,$row]} > 0 then ${G[default,$row]} / ${G[fec-10+3,$row]} * 100 | floor / 100 else null end")"
done

{
	for row in "${ROWS[@]}"; do
		case $row in clean | congested) continue ;; esac
		printf '%s' "$row"
		for cfg in "${CONFIGS[@]}"; do printf ' %s' "$(jq -n "${G[$cfg,$row]} / 1e6")"; done
		echo
	done
} >"$OUT/loss.dat"
if [ -s "$OUT/loss.dat" ] && command -v gnuplot >/dev/null; then
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
     '' using 1:4 with linespoints title "lwt, FEC 10+3 fixed", \
     '' using 1:5 with linespoints title "lwt, default (adaptive)"
GP
fi
say "wrote $OUT/loss.json and $OUT/loss.png"
