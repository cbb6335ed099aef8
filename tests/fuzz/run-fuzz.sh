#!/bin/bash
# SPDX-License-Identifier: MIT
# make fuzz-smoke / make fuzz: each libFuzzer target runs SECONDS over its
# seeds (tests/fuzz/corpus/<target>, if any) and what earlier runs found
# (DIR/corpus-<target>). A crash, a sanitizer report (UBSan made fatal
# here), a leak, one input running over 10 s, or running out of memory
# fails the run: libFuzzer writes the reproducer under
# DIR/artifacts-<target>/, and this prints its path, the report, and the
# command that replays it. A success shows only the run's totals:
# executions, executions per second, coverage (edges, features), corpus.
# With FUZZ_RUNS=N (make fuzz) each target runs N executions and SECONDS is
# only a cap: a target the cap stops before N executions fails.
# Targets run FUZZ_JOBS at a time (default: one per CPU), each its full
# SECONDS on a CPU of its own; their reports print in the order given.
# usage: [FUZZ_RUNS=N] [FUZZ_JOBS=N] run-fuzz.sh SECONDS DIR BINARY...
set -u
secs=$1 dir=$2
shift 2
runs=${FUZZ_RUNS:-}
jobs=${FUZZ_JOBS:-$(nproc)}
failed=()

# one BINARY: run one target; its report on stdout, and a line in
# DIR/NAME.failed if it failed.
one() {
	local f=$1 n corpus art log seeds rc repro execs last cov rate start total r
	n=$(basename "$f")
	corpus=$dir/corpus-$n art=$dir/artifacts-$n log=$dir/$n.log
	mkdir -p "$corpus" "$art"
	seeds=()
	[ -d "tests/fuzz/corpus/$n" ] && seeds=("tests/fuzz/corpus/$n")
	if [ -n "$runs" ]; then
		echo "== fuzz $f ($runs runs, at most ${secs}s, log $log)"
	else
		echo "== fuzz $f (${secs}s, log $log)"
	fi
	# The outer timeout only catches a hang libFuzzer's own -timeout misses.
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS} \
		timeout --kill-after=10 $((secs + 120)) \
		"$f" -max_total_time="$secs" ${runs:+-runs="$runs"} -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$art/" "$corpus" ${seeds[@]+"${seeds[@]}"} >"$log" 2>&1
	rc=$?
	repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
	if [ "$rc" -eq 0 ] && [ -z "$repro" ]; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		# The last status line: "#N DONE cov: E ft: F corp: U/S ... exec/s: R".
		last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
		cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([^ ]*\).*/cov \1 ft \2 corpus \3/p' <<<"$last")
		rate=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$last")
		echo "   ${execs:-?} executions, ${rate:-?} exec/s, ${cov:-coverage unknown}," \
			"peak $(sed -n 's/^stat::peak_rss_mb: *//p' "$log") MB"
		if [ -n "$runs" ] && [ "${execs:-0}" -lt "$runs" ]; then
			echo "FAIL: $n: only ${execs:-0} of $runs executions within ${secs}s"
			echo "$n: ${execs:-0} of $runs executions" >"$dir/$n.failed"
		fi
		return 0
	fi
	# The report: from the first sanitizer or libFuzzer error line on.
	start=$(grep -n -m1 -E '^==[0-9]+== ?ERROR|ERROR: libFuzzer|runtime error:|^ALARM: ' "$log" |
		cut -d: -f1)
	start=${start:-$(( $(wc -l <"$log") > 40 ? $(wc -l <"$log") - 40 : 1 ))}
	total=$(wc -l <"$log")
	# ASan's shadow-byte map and legend say nothing a reader needs here.
	sed -n "${start},\$p" "$log" | sed '/^Shadow bytes around/,/^ *Right alloca redzone/d' |
		cut -c1-300 | head -150
	[ $((total - start)) -ge 150 ] && echo "... the rest in $log"
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] &&
		echo "FAIL: $n still running $((secs + 120)) s after a ${secs} s budget: killed"
	if [ -n "$repro" ]; then
		for r in $repro; do
			echo "FAIL: $n: reproducer $r (exit status $rc)"
			echo "      replay: $f $r"
		done
		echo "$n:" $repro >"$dir/$n.failed"
	else
		echo "FAIL: $n exited with status $rc without writing a reproducer (log $log)"
		echo "$n: exit status $rc" >"$dir/$n.failed"
	fi
}

for f in "$@"; do
	n=$(basename "$f")
	rm -f "$dir/$n.failed" "$dir/$n.report"
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
	one "$f" >"$dir/$n.report" 2>&1 &
done
wait
for f in "$@"; do
	n=$(basename "$f")
	cat "$dir/$n.report"
	[ -s "$dir/$n.failed" ] && failed+=("$(cat "$dir/$n.failed")")
done
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'fuzz: FAILED %s\n' "${failed[@]}"
	exit 1
fi
echo "fuzz: $# target(s), no crash, leak or timeout"
