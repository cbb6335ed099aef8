#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, part 5: the hub at scale. For each N (LWT_BENCH_SCALE_N,
# default "1 100 1000 10000") a fresh server with -max-clients N and the
# large-deployment knobs (broadcast_throttle_ms 500, incremental peer info,
# 30 entries a record), and lwt-swarm acting as N real clients from N
# addresses of 10.200.0.0/16 in one namespace (tests/tools/lwt-swarm.c):
#   join     handshakes completed a second, time for all N up (the swarm's
#            clock), server CPU (utime+stime) from the swarm's start until
#            all are up, control bytes the server sent per join;
#   idle     4 s of keepalives: server RSS per client (VmRSS over the RSS
#            the server had before the swarm, / N);
#   active   LWT_BENCH_SCALE_PPS packets a second in all (each client
#            sending PPS / N to random other clients, through the server;
#            with one client, ICMP echo to the server's tunnel address):
#            server CPU (utime+stime of /proc/PID/stat over a 4 s window)
#            per packet forwarded (lwt-ctl stats: totals.forwarded; the
#            server's received records with one client), RSS per client
#            after it;
#   pool     the FEC pool's bytes in use when idle, the most it held and
#            the groups it took back (status JSON fec_pool);
#   churn    N/20 clients a second (1 to 50) leave with CLOSE and come
#            back a second later: control bytes the server sent per leave
#            and rejoin, over 5 s.
# Then again without the knobs for N up to LWT_BENCH_SCALE_OFF_MAX (100;
# without them each join sends every client its full list, one entry a
# record). For each N in LWT_BENCH_SCALE_PERF (default "1000 10000"; "" for
# none) perf record -g of the server during the join and during 3 s of the
# active phase after the CPU window: build/bench/perf-scale-N-{join,active}.txt.
# A benchmark: asserts nothing. Writes build/bench/scale.{json,txt,png}.
. "$(dirname "$0")/lib.sh"
read -r -a NS_LIST <<<"${LWT_BENCH_SCALE_N:-1 100 1000 10000}"
PPS=${LWT_BENCH_SCALE_PPS:-10000}
OFF_MAX=${LWT_BENCH_SCALE_OFF_MAX:-100}
PERF_N=" ${LWT_BENCH_SCALE_PERF-1000 10000} "
command -v perf >/dev/null || PERF_N=" "
HZ=$(getconf CLK_TCK)
export LC_ALL=C
mkdir -p "$LOGDIR/bin"
cp "$LWT" "$CTL" "$TOOLS/lwt-swarm" "$LOGDIR/bin/"
LWT=$LOGDIR/bin/lightweight-tunnel CTL=$LOGDIR/bin/lwt-ctl SWARM=$LOGDIR/bin/lwt-swarm

add_ns s
add_ns w
link s w 10.89.0.1/24 10.89.0.2/24
nsx s ip route add 10.200.0.0/16 via 10.89.0.2
# One client's traffic goes to the server's own address: its kernel's echo
# replies must not be rate-limited.
nsx s sysctl -qw net.ipv4.icmp_msgs_per_sec=1000000 net.ipv4.icmp_ratelimit=0

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
st() { ctl s lwts stats --json; }
swarm_st() { jq -r "$1" "$LOGDIR/swarm.status" 2>/dev/null; }
phase_is() { [ "$(swarm_st .phase)" = "$1" ]; }
# calc EXPR: awk arithmetic (assigned first: in printf's arguments a '>'
# would redirect).
calc() { awk "BEGIN { v = $*; printf \"%.6g\n\", v }"; }

# perf_start PID: perf record -g of PID in the background (PERF_PID);
# perf_stop NAME: end it, the flat profile into $OUT/perf-scale-NAME.txt.
PERF_PID=
perf_start() {
	perf record -g -o "$LOGDIR/perf.data" -p "$1" >"$LOGDIR/perf.log" 2>&1 &
	PERF_PID=$!
	PIDS+=("$PERF_PID")
}
perf_stop() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	STOPPED[$PERF_PID]=1
	PERF_PID=
	{
		echo "# perf record -g -p <server>; perf report --no-children -g none --sort sym --percent-limit 0.5"
		perf report -i "$LOGDIR/perf.data" --no-children -g none --sort sym --percent-limit 0.5 --stdio 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -40
	} >"$OUT/perf-scale-$1.txt"
}

ROWS=()
# run N KNOBS: one server, one swarm; appends a JSON row to ROWS.
run() {
	local n=$1 knobs=$2 pps to rss0 rss_idle rss_act c1 c2 f1 f2 r1 r2 b_join b_pre b_leave m_join \
		all_up hs_s spid wpid cpu_pkt pkts t1 t2 l1 l2 b1 b2 lr pool_idle pool_peak pool_ev cj1 cj2
	if [ "$knobs" = on ]; then
		echo '{ "broadcast_throttle_ms": 500, "enable_incremental_update": true, "max_peer_info_batch_size": 30 }'
	else
		echo '{ "broadcast_throttle_ms": 0, "enable_incremental_update": false, "max_peer_info_batch_size": 0 }'
	fi >"$LOGDIR/server.json"
	start server s -c "$LOGDIR/server.json" -m server -l 10.89.0.1:9000 -t 10.201.0.1/16 -k "$KEY" \
		-tun-name lwts -max-clients "$n"
	spid=$server_PID
	wait_for 5 "server up" nsx s "$CTL" -i lwts status || return 1
	rss0=$(rss_kb "$spid")
	pps=$(calc "$PPS / $n")
	lr=$(calc "$n / 20 < 1 ? 1 : $n / 20 > 50 ? 50 : $n / 20")
	to=peers
	[ "$n" = 1 ] && to=hub
	rm -f "$LOGDIR/swarm.status"
	cj1=$(cpu_ticks "$spid")
	nsbg w "$SWARM" -i v-w-s -r 10.89.0.1:9000 -k "$KEY" -n "$n" -s 10.200.0.0/16 -t 10.201.0.2/16 \
		-j 5000 --join-timeout 600 --idle 6 --active 12 --pps "$pps" --to "$to" --tail -1 \
		--leave-rate "$lr" --rejoin-after 1 --churn-in tail \
		--status "$LOGDIR/swarm.status" >"$LOGDIR/swarm-$n-$knobs.json" 2>"$LOGDIR/swarm-$n-$knobs.log"
	wpid=$BG_PID
	[[ $PERF_N == *" $n "* && $knobs == on ]] && perf_start "$spid"
	wait_for 900 "the join of $n" phase_is idle || return 1
	cj2=$(cpu_ticks "$spid")
	perf_stop "$n-join"
	all_up=$(swarm_st .all_up_s)
	hs_s=$(swarm_st .handshakes_per_s)
	# Idle: the peer lists settle (throttled broadcasts), then RSS.
	sleep 4
	rss_idle=$(rss_kb "$spid")
	read -r m_join b_join pool_idle < <(st | jq -r '"\(.control_tx_msgs) \(.control_tx_bytes) \(.fec_pool.in_use_bytes // 0)"')
	wait_for 10 "the active phase" phase_is active || return 1
	sleep 2
	c1=$(cpu_ticks "$spid")
	read -r f1 r1 < <(st | jq -r '"\(.totals.forwarded) \(.totals.rx_packets)"')
	t1=$(date +%s.%N)
	sleep 4
	c2=$(cpu_ticks "$spid")
	read -r f2 r2 < <(st | jq -r '"\(.totals.forwarded) \(.totals.rx_packets)"')
	t2=$(date +%s.%N)
	if [[ $PERF_N == *" $n "* && $knobs == on ]]; then
		perf_start "$spid"
		sleep 3
		perf_stop "$n-active"
	fi
	wait_for 30 "the active phase over" phase_is tail || return 1
	rss_act=$(rss_kb "$spid")
	read -r pool_peak pool_ev < <(st | jq -r '"\(.fec_pool.peak_bytes // 0) \(.fec_pool.evictions // 0)"')
	if [ "$n" = 1 ]; then pkts=$((r2 - r1)); else pkts=$((f2 - f1)); fi
	cpu_pkt=null
	[ "$pkts" -gt 0 ] && cpu_pkt=$(calc "($c2 - $c1) / $HZ / $pkts * 1e6")
	# Churn: measured once rejoins follow leaves.
	sleep 2
	b1=$(st | jq .control_tx_bytes)
	l1=$(swarm_st .churn.leaves)
	sleep 5
	b2=$(st | jq .control_tx_bytes)
	l2=$(swarm_st .churn.leaves)
	b_leave=null
	[ "$l2" -gt "$l1" ] && b_leave=$(calc "($b2 - $b1) / ($l2 - $l1)")
	stop "$wpid"
	ROWS+=("$(jq -c -n --argjson n "$n" --arg knobs "$knobs" --argjson all_up "$all_up" --argjson hs "$hs_s" \
		--argjson rss0 "$rss0" --argjson ri "$rss_idle" --argjson ra "$rss_act" \
		--argjson cpu_ticks "$((c2 - c1))" --argjson hz "$HZ" --argjson pkts "$pkts" \
		--argjson join_ticks "$((cj2 - cj1))" \
		--argjson secs "$(calc "$t2 - $t1")" --argjson cpu_pkt "$cpu_pkt" \
		--argjson mj "$m_join" --argjson bj "$b_join" --argjson bl "$b_leave" --argjson lv "$((l2 - l1))" \
		--argjson pps "$PPS" --argjson pi "$pool_idle" --argjson pp "$pool_peak" --argjson pe "$pool_ev" \
		--slurpfile sw "$LOGDIR/swarm-$n-$knobs.json" \
		'{clients: $n, knobs: $knobs, all_up_s: $all_up, handshakes_per_s: $hs, join_cpu_s: ($join_ticks / $hz),
		  rss_start_kb: $rss0, rss_idle_kb: $ri, rss_active_kb: $ra,
		  rss_per_client_idle_kb: (($ri - $rss0) / $n), rss_per_client_active_kb: (($ra - $rss0) / $n),
		  target_pps: $pps, packets_in_window: $pkts, window_s: $secs, pps_measured: ($pkts / $secs),
		  cpu_s: ($cpu_ticks / $hz), cpu_us_per_packet: $cpu_pkt,
		  control_msgs_join: $mj, control_bytes_join: $bj, control_bytes_per_join: ($bj / $n),
		  churn_leaves: $lv, control_bytes_per_leave_rejoin: $bl,
		  fec_pool_idle_bytes: $pi, fec_pool_peak_bytes: $pp, fec_pool_evictions: $pe,
		  swarm: $sw[0]}')")
	say "N=$n knobs $knobs: all up in $all_up s ($hs_s/s), server CPU $((cj2 - cj1)) ticks of 1/$HZ s for the join; RSS $rss0 -> $rss_idle idle -> $rss_act kB active; $pkts packets, $((c2 - c1)) ticks; control $b_join B join, $b_leave B per leave+rejoin"
	stop "$spid"
}

for n in "${NS_LIST[@]}"; do
	run "$n" on || say "N=$n: run failed (logs in $LOGDIR)"
done
for n in "${NS_LIST[@]}"; do
	[ "$n" -le "$OFF_MAX" ] || continue
	run "$n" off || say "N=$n without knobs: run failed (logs in $LOGDIR)"
done

printf '%s\n' "${ROWS[@]}" | jq -s '{rows: .}' >"$OUT/scale.json"
{
	printf '\nhub at scale (lwt-swarm, %s packets/s in all during the active phase; knobs: broadcast_throttle_ms 500, incremental, 30 a record)\n' "$PPS"
	printf '%7s %5s %9s %8s %8s %10s %10s %10s %9s %9s %12s %12s %9s %9s %7s\n' clients knobs "all up s" "hs/s" "join CPU" "RSS0 kB" "kB/cl idle" "kB/cl act" "pkts/s" "us/pkt" "ctl B/join" "B/leave+join" "pool0 kB" "poolpk kB" "evict"
	jq -r '.rows[] | [.clients, .knobs, .all_up_s, .handshakes_per_s, (.join_cpu_s // 0), .rss_start_kb, .rss_per_client_idle_kb,
		.rss_per_client_active_kb, .pps_measured, (.cpu_us_per_packet // "-"), .control_bytes_per_join,
		(.control_bytes_per_leave_rejoin // "-"), (.fec_pool_idle_bytes // 0), (.fec_pool_peak_bytes // 0),
		(.fec_pool_evictions // 0)] | @tsv' "$OUT/scale.json" |
		awk -F'\t' '{ printf "%7d %5s %9.2f %8.0f %8.2f %10d %10.1f %10.1f %9.0f %9s %12.0f %12s %9.0f %9.0f %7d\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, ($10 == "-" ? "-" : sprintf("%.2f", $10)), $11, ($12 == "-" ? "-" : sprintf("%.0f", $12)), $13 / 1024, $14 / 1024, $15 }'
	printf '(join CPU: server CPU-seconds from the swarm'"'"'s start until all were up;\n us/pkt: server CPU per packet forwarded client to client; with one client, per packet it received;\n pool0/poolpk: FEC pool bytes in use when idle, most in use; evict: groups the pool took back)\n'
} | tee "$OUT/scale.txt"

jq -r '.rows[] | select(.knobs == "on") | [.clients, .rss_per_client_idle_kb, .rss_per_client_active_kb, (.cpu_us_per_packet // "?")] | @tsv' \
	"$OUT/scale.json" >"$OUT/scale.dat"
if [ -s "$OUT/scale.dat" ]; then
	gnuplot <<GP
set terminal png size 1000,520
set output "$OUT/scale.png"
set title "lwt hub against N clients (lwt-swarm): RSS per client and CPU per forwarded packet"
set datafile missing "?"
set logscale x
set xlabel "clients"
set ylabel "server RSS per client, kB"
set y2label "server CPU per packet, us"
set ytics nomirror
set y2tics
set grid
set key top left
plot "$OUT/scale.dat" using 1:2 with linespoints title "RSS/client idle", \
     '' using 1:3 with linespoints title "RSS/client active", \
     '' using 1:4 axes x1y2 with linespoints title "CPU us/packet"
GP
fi
say "wrote $OUT/scale.json, $OUT/scale.txt and $OUT/scale.png"
