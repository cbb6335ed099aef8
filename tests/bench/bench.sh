#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench: throughput, latency, CPU and memory of lwt against the same
# netns path without a tunnel. A benchmark, not a test: it asserts nothing
# about speed. Writes build/bench/bench.json and build/bench/bench.png.
LWT_LOGDIR=${LWT_LOGDIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bench-logs}
export LWT_LOGDIR
. "$(dirname "$0")/../netns/lib.sh"
TEST=bench
OUT=${LWT_BENCH_OUT:-$ROOT/build/bench}
SECS=${LWT_BENCH_SECONDS:-5}
mkdir -p "$OUT"
HZ=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# iperf DST STREAMS REVERSE -> bits/s received
iperf() {
	local dst=$1 p=$2 rev=$3
	iperf_run s "$dst" c "$LOGDIR/iperf.json" -t "$SECS" -P "$p" $rev
}
rtt_us() {
	nsx c ping -c 50 -i 0.01 -q "$1" | awk -F'/' '/rtt/ {printf "%.0f", $5 * 1000}'
}

two_hosts
start_server
start_client
wait_for 10 "tunnel up" sessions_up c lwtc

declare -A R
for path in veth lwt-raw; do
	if [ $path = veth ]; then dst=10.99.0.1; else dst=10.0.0.1; fi
	R[$path,rtt]=$(rtt_us $dst)
	c0=$(( $(cpu_ticks "$server_PID") + $(cpu_ticks "$client_PID") ))
	bytes0=$(jget s lwts '.totals.rx_bytes + .totals.tx_bytes')
	for p in 1 4; do
		R[$path,up$p]=$(iperf $dst $p "")
		R[$path,down$p]=$(iperf $dst $p -R)
	done
	c1=$(( $(cpu_ticks "$server_PID") + $(cpu_ticks "$client_PID") ))
	bytes1=$(jget s lwts '.totals.rx_bytes + .totals.tx_bytes')
	if [ $path = lwt-raw ]; then
		R[$path,cpu_s_per_gb]=$(jq -n "($c1 - $c0) / $HZ / (($bytes1 - $bytes0) / 1e9)")
		R[$path,rss_server_kb]=$(rss_kb "$server_PID")
		R[$path,rss_client_kb]=$(rss_kb "$client_PID")
	fi
done

{
	echo "{"
	for path in veth lwt-raw; do
		echo "  \"$path\": {"
		echo "    \"tcp_up_1_bps\": ${R[$path,up1]}, \"tcp_down_1_bps\": ${R[$path,down1]},"
		echo "    \"tcp_up_4_bps\": ${R[$path,up4]}, \"tcp_down_4_bps\": ${R[$path,down4]},"
		if [ $path = lwt-raw ]; then
			echo "    \"cpu_s_per_gb\": ${R[$path,cpu_s_per_gb]}, \"rss_server_kb\": ${R[$path,rss_server_kb]}, \"rss_client_kb\": ${R[$path,rss_client_kb]},"
		fi
		echo "    \"rtt_us\": ${R[$path,rtt]}"
		[ $path = veth ] && echo "  }," || echo "  }"
	done
	echo "}"
} | jq . >"$OUT/bench.json"

printf '\n%-10s %12s %12s %12s %12s %9s %10s %10s\n' path "up 1 Mb/s" "down 1 Mb/s" "up 4 Mb/s" "down 4 Mb/s" "rtt us" "cpu s/GB" "rss kB"
for path in veth lwt-raw; do
	printf '%-10s %12.0f %12.0f %12.0f %12.0f %9s %10s %10s\n' $path \
		"$(jq -n "${R[$path,up1]}/1e6")" "$(jq -n "${R[$path,down1]}/1e6")" \
		"$(jq -n "${R[$path,up4]}/1e6")" "$(jq -n "${R[$path,down4]}/1e6")" \
		"${R[$path,rtt]}" "${R[$path,cpu_s_per_gb]:--}" "${R[$path,rss_server_kb]:--}"
done
{
	echo "path up1 down1 up4 down4"
	for path in veth lwt-raw; do
		echo "$path $(jq -n "${R[$path,up1]}/1e6") $(jq -n "${R[$path,down1]}/1e6") $(jq -n "${R[$path,up4]}/1e6") $(jq -n "${R[$path,down4]}/1e6")"
	done
} >"$OUT/bench.dat"
gnuplot <<GP
set terminal png size 900,500
set output "$OUT/bench.png"
set title "lwt throughput (iperf3 TCP, Mbit/s, log scale)"
set style data histograms
set style fill solid border -1
set logscale y
set key top right
plot "$OUT/bench.dat" using 2:xtic(1) title "up x1", '' using 3 title "down x1", '' using 4 title "up x4", '' using 5 title "down x4"
GP
say "wrote $OUT/bench.json and $OUT/bench.png"
