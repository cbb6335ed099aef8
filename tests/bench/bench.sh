#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench: throughput, latency, CPU and memory of lwt on each outer data
# path against the same netns veth without a tunnel:
#   veth             no tunnel
#   lwt-raw          daemons started with -xdp=false (raw sockets)
#   lwt-xdp          the default (AF_XDP, native XDP expected)
#   lwt-xdp-generic  -xdp-mode generic
#   lwt-xdp-nofec    the default path with FEC off (-fec-parity 0)
#   lwt-xdp-fec103   the default path with fixed FEC 10+3 (-fec-adaptive=false)
# (The others run the default FEC: adaptive, ceiling 10+3, so parity 0 on
# this clean link.) The daemons are restarted per path and `lwt-ctl stats --json` must show the
# intended .path/.xdp_mode (a WARNING row otherwise). Per path: iperf3 TCP, 1
# and 4 streams, both directions; ping RTT (50 at 10 ms); daemon CPU (both
# daemons' utime+stime over the iperf runs) per GB and per Gbit carried, and
# the kernel's part (stime) per Gbit (the
# server's tunnel byte counters); VmRSS/VmHWM of both daemons. Then the RSS of
# daemons started from the low-spec templates against the defaults, and a
# perf profile of the server daemon on lwt-xdp and lwt-raw.
# A benchmark, not a test: it asserts nothing about speed. Writes
# build/bench/bench.json, bench.png and perf-<path>.txt.
# Knobs: LWT_BENCH_SECONDS (5), LWT_BENCH_PATHS, LWT_BENCH_PERF_PATHS
# ("" = no perf), LWT_BENCH_OUT.
. "$(dirname "$0")/lib.sh"
read -r -a BPATHS <<<"${LWT_BENCH_PATHS:-veth lwt-raw lwt-xdp lwt-xdp-generic lwt-xdp-nofec lwt-xdp-fec103}"
read -r -a PERF_PATHS <<<"${LWT_BENCH_PERF_PATHS-lwt-xdp lwt-raw}"
LOWSPEC_SRV=configs/low-spec-minimal.json
LOWSPEC_CLI=configs/low-spec-client.json
HZ=$(getconf CLK_TCK)
# Run a snapshot of the binaries: a rebuild during the run changes neither the
# daemon under test nor the symbols perf needs.
mkdir -p "$LOGDIR/bin"
cp "$LWT" "$CTL" "$LOGDIR/bin/"
LWT=$LOGDIR/bin/lightweight-tunnel CTL=$LOGDIR/bin/lwt-ctl
"$LWT" -v >/dev/null 2>&1 || fail "$LWT does not run (copied during a build?)"
# The commands the measurements run are echoed here, not on the terminal.
TRACE=$LOGDIR/trace.log
: >"$TRACE"
export LC_ALL=C

declare -A R M P
WARN=()
warn() { WARN+=("$*"); say "WARNING: $*"; }

# --- helpers ----------------------------------------------------------------

# unreg PID: forget a PID the script stopped itself (no stale PIDs for the trap).
unreg() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
# A JSON number or null.
jn() { if [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then echo "$1"; else echo null; fi; }
# calc EXPR (awk arithmetic on numbers) -> number, or null when a term is not one.
calc() {
	case "$*" in *null* | *[!-0-9.eE+*/\(\)\ \<\>=]*) echo null ;;
	*) awk "BEGIN { v = $*; printf \"%.12g\n\", v }" 2>/dev/null || echo null ;;
	esac
}
# fmt NUMBER PRINTF_FORMAT -> formatted, "-" for null.
fmt() { if [ "$(jn "$1")" = null ]; then echo -; else awk -v v="$1" -v f="$2" 'BEGIN { printf f, v }'; fi; }
mbps() { fmt "$(calc "$(jn "$1") / 1e6")" '%.0f'; }

cpu_ticks() { if [ -r "/proc/$1/stat" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo null; fi; }
# sys_ticks PID: the kernel's part (stime): what the daemon's system calls
# cost, including the work they do for others (a TUN write runs the
# receiver's TCP; an AF_XDP copy-mode send on veth runs the peer's XDP).
sys_ticks() { if [ -r "/proc/$1/stat" ]; then awk '{print $15}' "/proc/$1/stat"; else echo null; fi; }
status_kb() { if [ -r "/proc/$1/status" ]; then awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; else echo null; fi; }
# jq_s NS TUN EXPR: jget that yields "null" when the daemon does not answer.
jq_s() { local v; v=$(jget "$@" 2>/dev/null) || v=; echo "${v:-null}"; }

# iperf NAME DST STREAMS [-R] [SECONDS] -> bits/s received (0 on failure).
iperf() {
	local name=$1 dst=$2 p=$3 rev=${4:-} t=${5:-$SECS}
	iperf_run s "$dst" c "$LOGDIR/iperf-$name.json" -t "$t" -P "$p" $rev 2>>"$TRACE"
}

# --- daemons ------------------------------------------------------------------

SPID= CPID=
tunnel_down() {
	local v
	for v in server_PID client_PID; do
		if [ -n "${!v:-}" ]; then
			stop "${!v}"
			unreg "${!v}"
			printf -v "$v" '%s' ""
		fi
	done
	SPID= CPID=
}
# tunnel_up "SERVER ARGS" "CLIENT ARGS": (re)start both daemons, wait for the
# session; sets SPID/CPID (the daemons' own PIDs, from their stats).
tunnel_up() {
	local sa ca
	read -r -a sa <<<"$1"
	read -r -a ca <<<"$2"
	tunnel_down
	start_server "${sa[@]}" 2>>"$TRACE"
	start_client "${ca[@]}" 2>>"$TRACE"
	wait_for 20 "tunnel up" sessions_up c lwtc || return 1
	wait_for 5 "server session" sessions_up s lwts || return 1
	SPID=$(jq_s s lwts .pid)
	CPID=$(jq_s c lwtc .pid)
	[ "$(jn "$SPID")" != null ] || SPID=$server_PID
	[ "$(jn "$CPID")" != null ] || CPID=$client_PID
	nsx c ping -n -q -c 3 -i 0.01 -W 1 10.0.0.1 >/dev/null 2>>"$TRACE" || true
}
path_flags() {
	case $1 in
	lwt-raw) echo "-xdp=false" ;;
	lwt-xdp) echo "" ;;
	lwt-xdp-generic) echo "-xdp-mode generic" ;;
	lwt-xdp-nofec) echo "-fec-parity 0" ;;
	lwt-xdp-fec103) echo "-fec-adaptive=false" ;;
	esac
}
# What each path must show in stats: .path and .xdp_mode ("-" = any).
path_want() {
	case $1 in
	lwt-raw) echo "raw-socket -" ;;
	lwt-xdp) echo "af-xdp native" ;;
	lwt-xdp-generic) echo "af-xdp generic" ;;
	lwt-xdp-nofec) echo "af-xdp native" ;;
	lwt-xdp-fec103) echo "af-xdp native" ;;
	esac
}
# in_use NS TUN -> "path/xdp_mode"
in_use() { local v; v=$(jget "$1" "$2" '"\(.path)/\(.xdp_mode)"' 2>/dev/null) || v=; echo "${v:-unknown}"; }

# --- perf -----------------------------------------------------------------------

PERF_OK=0 PERF_WHY="perf not installed"
if command -v perf >/dev/null 2>&1; then
	if perf stat -e task-clock -o /dev/null -- true >/dev/null 2>&1; then
		PERF_OK=1 PERF_WHY=
	else
		PERF_WHY="perf stat fails here: $(perf stat -e task-clock -o /dev/null -- true 2>&1 | head -1)"
	fi
fi

# perf_bg WINDOW_S CMD...: start perf (after 1 s, once the iperf3 of the caller
# runs) in the background, registered for the trap; sets PERF_PID.
perf_bg() {
	(sleep 1 && exec "$@") >>"$LOGDIR/perf.log" 2>&1 &
	PERF_PID=$!
	PIDS+=("$PERF_PID")
}
perf_wait() { wait "$PERF_PID" 2>/dev/null || true; unreg "$PERF_PID"; }
# perf_num FILE EVENT -> the count perf stat printed (null if not counted)
perf_num() { awk -v e="$2" '$2 == e || $3 == e { gsub(",", "", $1); if ($1 ~ /^[0-9.]+$/) print $1 }' "$1" 2>/dev/null | head -1; }

# perf_profile PATH DST: perf stat, then perf record -g, of the server daemon
# each during a 1-stream iperf3 upload; text in $OUT/perf-PATH.txt.
perf_profile() {
	local path=$1 dst=$2 f=$OUT/perf-$path.txt st=$LOGDIR/perf-stat-$path.txt data=$LOGDIR/perf-$path.data
	local bps bps2 ok=true top=
	{
		echo "# lwt bench, $path: server daemon pid $SPID ($(in_use s lwts)), ${SECS}s window of a"
		echo "# 1-stream iperf3 upload client -> server through the tunnel; $(date -u +%FT%TZ), $(uname -r)"
	} >"$f"
	if [ $PERF_OK = 0 ]; then
		echo "perf unavailable: $PERF_WHY" >>"$f"
		P[$path,avail]=false
		return 0
	fi
	say "$path: perf stat of the server daemon"
	rm -f "$st"
	perf_bg perf stat -e task-clock,context-switches,cpu-migrations,page-faults -o "$st" -p "$SPID" -- sleep "$SECS"
	bps=$(iperf "$path-perf-stat" "$dst" 1 "" $((SECS + 2)))
	perf_wait
	P[$path,task_ms]=$(jn "$(perf_num "$st" task-clock)")
	P[$path,cs]=$(jn "$(perf_num "$st" context-switches)")
	P[$path,mig]=$(jn "$(perf_num "$st" cpu-migrations)")
	P[$path,pf]=$(jn "$(perf_num "$st" page-faults)")
	P[$path,stat_bps]=$(jn "$bps")
	P[$path,cpus]=$(calc "${P[$path,task_ms]} / 1000 / $SECS")
	if [ "${P[$path,task_ms]}" = null ]; then
		ok=false
		warn "perf stat counted nothing for the $path server daemon (see $f)"
	fi
	{
		echo
		echo "## perf stat -e task-clock,context-switches,cpu-migrations,page-faults -p $SPID -- sleep $SECS"
		echo "## (iperf3 during it: $(mbps "$bps") Mbit/s)"
		cat "$st" 2>/dev/null || echo "(no output)"
	} >>"$f"

	say "$path: perf record -g of the server daemon"
	rm -f "$data"
	perf_bg perf record -g -o "$data" -p "$SPID" -- sleep "$SECS"
	bps2=$(iperf "$path-perf-record" "$dst" 1 "" $((SECS + 2)))
	perf_wait
	echo >>"$f"
	echo "## perf record -g -p $SPID -- sleep $SECS (iperf3 during it: $(mbps "$bps2") Mbit/s)" >>"$f"
	if [ -s "$data" ] && perf report -i "$data" --stdio >/dev/null 2>&1; then
		{
			echo "## perf report --no-children --percent-limit 2 --stdio | head -60"
			perf report -i "$data" --no-children --percent-limit 2 --stdio 2>&1 | head -60 || true
			echo
			echo "## flat: perf report --no-children -g none --sort dso,sym --percent-limit 1"
			perf report -i "$data" --no-children -g none --sort dso,sym --percent-limit 1 --stdio 2>/dev/null |
				grep -v '^#' | grep -v '^$' | head -40 || true
			echo
			echo "## by object: perf report --no-children -g none --sort dso"
			perf report -i "$data" --no-children -g none --sort dso --stdio 2>/dev/null |
				grep -v '^#' | grep -v '^$' | head -15 || true
		} >>"$f"
		# top three symbols, "12.3% sym"
		top=$(perf report -i "$data" --no-children -g none --sort sym --stdio 2>/dev/null |
			awk '/^ *[0-9.]+%/ && n < 3 { s = $0; sub(/^ *[0-9.]+% +\[.\] /, "", s); printf "%s%s %s", (n ? ", " : ""), $1, s; n++ }' || true)
	else
		echo "perf record produced no samples: $(tail -n 3 "$LOGDIR/perf.log" | tr '\n' ' ')" >>"$f"
		ok=false
		warn "perf record got no samples for the $path server daemon"
	fi
	P[$path,avail]=$ok
	P[$path,top]=$top
}

# --- per path -----------------------------------------------------------------

two_hosts 2>>"$TRACE"
say "$(uname -r), $(nproc) CPUs, ${SECS}s per iperf3 run; commands in $TRACE"

for path in "${BPATHS[@]}"; do
	R[$path,ok]=true
	if [ "$path" = veth ]; then
		dst=10.99.0.1
		tunnel_down
		R[$path,use]="veth (no tunnel)"
	else
		dst=10.0.0.1
		flags=$(path_flags "$path")
		say "$path: starting the daemons ${flags:-(defaults)}"
		if ! tunnel_up "$flags" "$flags"; then
			warn "$path: the tunnel did not come up (logs in $LOGDIR)"
			R[$path,ok]=false R[$path,use]="down"
			tunnel_down
			continue
		fi
		read -r wpath wmode <<<"$(path_want "$path")"
		us=$(in_use s lwts) uc=$(in_use c lwtc)
		R[$path,use]=$us
		for u in "$us" "$uc"; do
			if [ "${u%%/*}" != "$wpath" ] || { [ "$wmode" != - ] && [ "${u#*/}" != "$wmode" ]; }; then
				R[$path,ok]=false
			fi
		done
		if [ "${R[$path,ok]}" = false ]; then
			warn "$path: wanted $wpath/$wmode, server uses $us, client uses $uc"
		fi
		[ "$us" = "$uc" ] || R[$path,use]="s:$us c:$uc"
	fi

	say "$path: ping"
	read -r loss avg < <(ping_stats c "$dst" 50 0.01 2>>"$TRACE")
	R[$path,loss]=$loss
	R[$path,rtt]=$(calc "$avg * 1000")

	if [ "$path" != veth ]; then
		c0=$(calc "$(cpu_ticks "$SPID") + $(cpu_ticks "$CPID")")
		k0=$(calc "$(sys_ticks "$SPID") + $(sys_ticks "$CPID")")
		b0=$(jq_s s lwts '.totals.rx_bytes + .totals.tx_bytes')
	fi
	for p in 1 4; do
		say "$path: iperf3 x$p up, down"
		R[$path,up$p]=$(iperf "$path-up$p" "$dst" "$p" "")
		R[$path,down$p]=$(iperf "$path-down$p" "$dst" "$p" -R)
	done
	if [ "$path" != veth ]; then
		c1=$(calc "$(cpu_ticks "$SPID") + $(cpu_ticks "$CPID")")
		k1=$(calc "$(sys_ticks "$SPID") + $(sys_ticks "$CPID")")
		R[$path,sys_pct]=$(calc "100 * ($k1 - $k0) / ($c1 - $c0)")
		b1=$(jq_s s lwts '.totals.rx_bytes + .totals.tx_bytes')
		R[$path,cpu_s]=$(calc "($c1 - $c0) / $HZ")
		R[$path,bytes]=$(calc "$b1 - $b0")
		if [ "$(calc "${R[$path,bytes]} > 0")" = 1 ]; then
			R[$path,cpu_gb]=$(calc "${R[$path,cpu_s]} / (${R[$path,bytes]} / 1e9)")
			R[$path,cpu_gbit]=$(calc "${R[$path,cpu_s]} / (${R[$path,bytes]} * 8 / 1e9)")
			R[$path,sys_gbit]=$(calc "($k1 - $k0) / $HZ / (${R[$path,bytes]} * 8 / 1e9)")
		fi
		R[$path,srv_rss]=$(status_kb "$SPID" VmRSS) R[$path,srv_hwm]=$(status_kb "$SPID" VmHWM)
		R[$path,cli_rss]=$(status_kb "$CPID" VmRSS) R[$path,cli_hwm]=$(status_kb "$CPID" VmHWM)
		for pp in "${PERF_PATHS[@]}"; do
			[ "$pp" = "$path" ] && perf_profile "$path" "$dst"
		done
	fi
done

# --- memory: low-spec template against the defaults ---------------------------

for cfg in defaults low-spec; do
	if [ $cfg = defaults ]; then
		sa= ca=
	else
		sa="-c $ROOT/$LOWSPEC_SRV" ca="-c $ROOT/$LOWSPEC_CLI"
	fi
	say "memory, $cfg: starting the daemons ${sa:-(defaults)}"
	if ! tunnel_up "$sa" "$ca"; then
		warn "memory $cfg: the tunnel did not come up (logs in $LOGDIR)"
		tunnel_down
		continue
	fi
	M[$cfg,use]=$(in_use s lwts)
	M[$cfg,mtu]=$(jq_s s lwts .tun_mtu)
	M[$cfg,srv_rss0]=$(status_kb "$SPID" VmRSS) M[$cfg,cli_rss0]=$(status_kb "$CPID" VmRSS)
	M[$cfg,up]=$(iperf "mem-$cfg-up" 10.0.0.1 4 "" 2)
	M[$cfg,down]=$(iperf "mem-$cfg-down" 10.0.0.1 4 -R 2)
	M[$cfg,srv_rss]=$(status_kb "$SPID" VmRSS) M[$cfg,srv_hwm]=$(status_kb "$SPID" VmHWM)
	M[$cfg,cli_rss]=$(status_kb "$CPID" VmRSS) M[$cfg,cli_hwm]=$(status_kb "$CPID" VmHWM)
done
tunnel_down

# --- output ---------------------------------------------------------------------

{
	printf '{"seconds": %s, "kernel": "%s", "cpus": %s, "clk_tck": %s,\n' "$SECS" "$(uname -r)" "$(nproc)" "$HZ"
	printf '"warnings": %s,\n' "$(printf '%s\n' "${WARN[@]}" | jq -R . | jq -s 'map(select(length > 0))')"
	printf '"paths": {'
	sep=
	for path in "${BPATHS[@]}"; do
		printf '%s\n"%s": {"in_use": "%s", "path_ok": %s,' "$sep" "$path" "${R[$path,use]:-}" "${R[$path,ok]:-false}"
		printf ' "tcp_up_1_bps": %s, "tcp_down_1_bps": %s, "tcp_up_4_bps": %s, "tcp_down_4_bps": %s,' \
			"$(jn "${R[$path,up1]:-}")" "$(jn "${R[$path,down1]:-}")" "$(jn "${R[$path,up4]:-}")" "$(jn "${R[$path,down4]:-}")"
		printf ' "rtt_us": %s, "ping_loss_pct": %s,' "$(jn "${R[$path,rtt]:-}")" "$(jn "${R[$path,loss]:-}")"
		printf ' "cpu_s": %s, "bytes_carried": %s, "cpu_s_per_gb": %s, "cpu_s_per_gbit": %s,' \
			"$(jn "${R[$path,cpu_s]:-}")" "$(jn "${R[$path,bytes]:-}")" "$(jn "${R[$path,cpu_gb]:-}")" "$(jn "${R[$path,cpu_gbit]:-}")"
		printf ' "cpu_sys_pct": %s, "cpu_sys_s_per_gbit": %s,' "$(jn "${R[$path,sys_pct]:-}")" "$(jn "${R[$path,sys_gbit]:-}")"
		printf ' "rss_server_kb": %s, "hwm_server_kb": %s, "rss_client_kb": %s, "hwm_client_kb": %s}' \
			"$(jn "${R[$path,srv_rss]:-}")" "$(jn "${R[$path,srv_hwm]:-}")" "$(jn "${R[$path,cli_rss]:-}")" "$(jn "${R[$path,cli_hwm]:-}")"
		sep=,
	done
	printf '},\n"memory_configs": {'
	sep=
	for cfg in defaults low-spec; do
		[ -n "${M[$cfg,use]:-}" ] || continue
		if [ $cfg = defaults ]; then sc="" cc=""; else sc=$LOWSPEC_SRV cc=$LOWSPEC_CLI; fi
		printf '%s\n"%s": {"server_config": "%s", "client_config": "%s", "in_use": "%s", "tun_mtu": %s,' \
			"$sep" "$cfg" "$sc" "$cc" "${M[$cfg,use]}" "$(jn "${M[$cfg,mtu]}")"
		printf ' "tcp_up_4_bps": %s, "tcp_down_4_bps": %s, "iperf_seconds": 2,' "$(jn "${M[$cfg,up]}")" "$(jn "${M[$cfg,down]}")"
		printf ' "rss_server_idle_kb": %s, "rss_client_idle_kb": %s,' "$(jn "${M[$cfg,srv_rss0]}")" "$(jn "${M[$cfg,cli_rss0]}")"
		printf ' "rss_server_kb": %s, "hwm_server_kb": %s, "rss_client_kb": %s, "hwm_client_kb": %s}' \
			"$(jn "${M[$cfg,srv_rss]}")" "$(jn "${M[$cfg,srv_hwm]}")" "$(jn "${M[$cfg,cli_rss]}")" "$(jn "${M[$cfg,cli_hwm]}")"
		sep=,
	done
	printf '},\n"perf": {'
	sep=
	for pp in "${PERF_PATHS[@]}"; do
		[ -n "${P[$pp,avail]:-}" ] || continue
		printf '%s\n"%s": {"available": %s, "file": "%s", "window_s": %s,' "$sep" "$pp" "${P[$pp,avail]}" "perf-$pp.txt" "$SECS"
		printf ' "task_clock_ms": %s, "cpus_utilized": %s, "context_switches": %s, "cpu_migrations": %s, "page_faults": %s,' \
			"$(jn "${P[$pp,task_ms]:-}")" "$(jn "${P[$pp,cpus]:-}")" "$(jn "${P[$pp,cs]:-}")" "$(jn "${P[$pp,mig]:-}")" "$(jn "${P[$pp,pf]:-}")"
		printf ' "iperf_bps": %s, "top_symbols": %s}' "$(jn "${P[$pp,stat_bps]:-}")" "$(jq -Rn --arg t "${P[$pp,top]:-}" '$t')"
		sep=,
	done
	printf '}}\n'
} >"$OUT/bench.json.tmp"
jq . "$OUT/bench.json.tmp" >"$OUT/bench.json"
rm -f "$OUT/bench.json.tmp"

{
	printf '\nthroughput Mbit/s (iperf3 TCP, %ss), rtt us (ping 50 x 10 ms), daemon CPU s (server+client) per GB / Gbit carried and the kernel'"'"'s part of it (sys), daemon memory kB\n' "$SECS"
	printf '%-16s %8s %8s %8s %8s %7s %8s %9s %9s %15s %15s  %s\n' path "up x1" "down x1" "up x4" "down x4" "rtt us" "cpu s/GB" "cpu s/Gb" "sys s/Gb" "srv RSS/HWM" "cli RSS/HWM" "in use"
	for path in "${BPATHS[@]}"; do
		printf '%-16s %8s %8s %8s %8s %7s %8s %9s %9s %15s %15s  %s\n' "$path" \
			"$(mbps "${R[$path,up1]:-}")" "$(mbps "${R[$path,down1]:-}")" "$(mbps "${R[$path,up4]:-}")" "$(mbps "${R[$path,down4]:-}")" \
			"$(fmt "${R[$path,rtt]:-}" %.0f)" "$(fmt "${R[$path,cpu_gb]:-}" %.2f)" "$(fmt "${R[$path,cpu_gbit]:-}" %.3f)" "$(fmt "${R[$path,sys_gbit]:-}" %.3f)" \
			"$(fmt "${R[$path,srv_rss]:-}" %.0f)/$(fmt "${R[$path,srv_hwm]:-}" %.0f)" \
			"$(fmt "${R[$path,cli_rss]:-}" %.0f)/$(fmt "${R[$path,cli_hwm]:-}" %.0f)" "${R[$path,use]:-}"
		if [ "${R[$path,ok]:-false}" = false ]; then
			printf '%-16s %s\n' "  WARNING" "$path is not measured on the intended data path (in use: ${R[$path,use]:-?})"
		fi
	done
	printf '\nmemory after 2 s up + 2 s down of iperf3 x4, kB\n'
	printf '%-10s %-44s %-16s %5s %9s %9s %9s %9s %9s %9s\n' config "server / client config" "in use" mtu "srv idle" "srv RSS" "srv HWM" "cli idle" "cli RSS" "cli HWM"
	for cfg in defaults low-spec; do
		[ -n "${M[$cfg,use]:-}" ] || { printf '%-10s (not measured)\n' $cfg; continue; }
		if [ $cfg = defaults ]; then cn="(flags only)"; else cn="$(basename $LOWSPEC_SRV) / $(basename $LOWSPEC_CLI)"; fi
		printf '%-10s %-44s %-16s %5s %9s %9s %9s %9s %9s %9s\n' $cfg "$cn" "${M[$cfg,use]}" "$(fmt "${M[$cfg,mtu]}" %.0f)" \
			"$(fmt "${M[$cfg,srv_rss0]}" %.0f)" "$(fmt "${M[$cfg,srv_rss]}" %.0f)" "$(fmt "${M[$cfg,srv_hwm]}" %.0f)" \
			"$(fmt "${M[$cfg,cli_rss0]}" %.0f)" "$(fmt "${M[$cfg,cli_rss]}" %.0f)" "$(fmt "${M[$cfg,cli_hwm]}" %.0f)"
	done
	if [ ${#PERF_PATHS[@]} -gt 0 ]; then
		printf '\nperf, server daemon during a %ss 1-stream upload (%s)\n' "$SECS" "$OUT/perf-<path>.txt"
		if [ $PERF_OK = 0 ]; then
			printf '  skipped: %s\n' "$PERF_WHY"
		else
			printf '%-16s %8s %6s %9s %6s %7s %8s  %s\n' path "task ms" CPUs "ctx-sw" migr faults "Mbit/s" "top symbols"
			for pp in "${PERF_PATHS[@]}"; do
				[ -n "${P[$pp,avail]:-}" ] || continue
				printf '%-16s %8s %6s %9s %6s %7s %8s  %s\n' "$pp" "$(fmt "${P[$pp,task_ms]:-}" %.0f)" "$(fmt "${P[$pp,cpus]:-}" %.2f)" \
					"$(fmt "${P[$pp,cs]:-}" %.0f)" "$(fmt "${P[$pp,mig]:-}" %.0f)" "$(fmt "${P[$pp,pf]:-}" %.0f)" \
					"$(mbps "${P[$pp,stat_bps]:-}")" "${P[$pp,top]:-}"
			done
		fi
	fi
	for w in "${WARN[@]}"; do printf 'WARNING: %s\n' "$w"; done
} | tee "$OUT/bench.txt"

{
	echo "# path up1 down1 up4 down4 (Mbit/s)"
	for path in "${BPATHS[@]}"; do
		v=()
		for k in up1 down1 up4 down4; do
			x=$(calc "$(jn "${R[$path,$k]:-}") / 1e6")
			if [ "$(calc "$x > 0")" = 1 ]; then v+=("$x"); else v+=("?"); fi
		done
		echo "$path ${v[*]}"
	done
} >"$OUT/bench.dat"
gnuplot <<GP
set terminal png size 1000,520
set output "$OUT/bench.png"
set title "lwt throughput per outer data path (iperf3 TCP, ${SECS}s, Mbit/s, log scale)"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid border -1
set logscale y
set yrange [10:*]
set grid ytics
set ylabel "Mbit/s"
set key outside right top
plot "$OUT/bench.dat" using 2:xtic(1) title "up x1", '' using 3 title "down x1", '' using 4 title "up x4", '' using 5 title "down x4"
GP
say "wrote $OUT/bench.json, $OUT/bench.png, $OUT/bench.txt and perf-<path>.txt"
