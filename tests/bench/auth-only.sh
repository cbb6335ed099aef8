#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, part 3: CPU per GB carried with full AES-256-GCM against
# encrypt_after_auth (data GMAC-only), same path, same single-stream iperf3
# both ways. A benchmark: it asserts nothing. Writes build/bench/auth.json.
. "$(dirname "$0")/lib.sh"
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

two_hosts
declare -A CPU BPS
for mode in gcm auth-only; do
	extra=()
	[ $mode = auth-only ] && extra=(-encrypt-after-auth)
	start_server "${extra[@]}"
	start_client "${extra[@]}"
	wait_for 10 "tunnel up" sessions_up c lwtc
	c0=$(( $(cpu_ticks "$server_PID") + $(cpu_ticks "$client_PID") ))
	b0=$(jget s lwts '.totals.rx_bytes + .totals.tx_bytes')
	up=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf.json" -t "$SECS")
	down=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf.json" -t "$SECS" -R)
	c1=$(( $(cpu_ticks "$server_PID") + $(cpu_ticks "$client_PID") ))
	b1=$(jget s lwts '.totals.rx_bytes + .totals.tx_bytes')
	CPU[$mode]=$(jq -n "($c1 - $c0) / $HZ / (($b1 - $b0) / 1e9)")
	BPS[$mode]=$(jq -n "($up + $down) / 2")
	say "$mode: $(jq -n "${BPS[$mode]} / 1e6 | floor") Mbit/s (mean of both ways), ${CPU[$mode]} CPU-s per GB (both daemons)"
	stop "$client_PID"
	stop "$server_PID"
done
saved=$(jq -n "(1 - ${CPU[auth-only]} / ${CPU[gcm]}) * 100")
printf '\n%-10s %14s %16s\n' mode "Mbit/s" "CPU-s per GB"
for mode in gcm auth-only; do
	printf '%-10s %14.0f %16.2f\n' $mode "$(jq -n "${BPS[$mode]} / 1e6")" "${CPU[$mode]}"
done
printf 'encrypt_after_auth saves %.1f%% of the CPU per GB carried\n' "$saved"
jq -n "{gcm: {bps: ${BPS[gcm]}, cpu_s_per_gb: ${CPU[gcm]}}, auth_only: {bps: ${BPS[auth-only]}, cpu_s_per_gb: ${CPU[auth-only]}}, cpu_saved_pct: $saved}" >"$OUT/auth.json"
say "wrote $OUT/auth.json"
