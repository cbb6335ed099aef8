#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs cmocka test binaries (make unit-test, make bpf-test) and counts their
# test cases from cmocka's own summary: passed, failed (failures and errors),
# skipped (skip() after a real probe). A skip is never a pass. A binary that
# ends without a summary (a crash), or whose exit status says failure when
# its summary does not (a sanitizer report at exit), counts as failed.
# Every binary runs, then the last line is exactly
#   <what> tests: N passed, N failed, N skipped
# and the exit status is 1 if anything failed.
# usage: run-cmocka.sh <what> BINARY...
set -u
what=$1
shift
pass=0 fail=0 skip=0
problems=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

num() {	# num REGEX: the number cmocka printed in the first line matching
	sed -nE "s/$1/\1/p" "$log" | head -1
}

for t in "$@"; do
	echo "== $t"
	"$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	declared=$(num '^\[==========\] Running ([0-9]+) test\(s\)\.$')
	p=$(num '^\[  PASSED  \] ([0-9]+) test\(s\)\.$')
	s=$(num '^\[  SKIPPED \] ([0-9]+) test\(s\), listed below:$')
	ran=$(num '^\[==========\] ([0-9]+) test\(s\) run\.$')
	declared=${declared:-0} s=${s:-0} why=
	if [ -n "$p" ]; then
		# A failed group setup runs none of the declared tests.
		n=$(( ${ran:-0} > declared ? ${ran:-0} : declared ))
		f=$(( n - p - s ))
		if [ "$rc" -ne 0 ] && [ "$f" -le 0 ]; then
			f=1
			why="cmocka counted no failure but the exit status is $rc (see above)"
		fi
	else
		# No summary: count what the log shows, the rest failed.
		p=$(grep -c '^\[       OK \] ' "$log")
		s=$(grep -c '^\[  SKIPPED \] ' "$log")
		f=$(( declared - p - s ))
		[ "$f" -ge 1 ] || f=1
		why="ended without cmocka's summary, exit status $rc"
	fi
	[ "$f" -gt 0 ] && problems+=("$t: $f failed${why:+; $why}")
	echo "-- $(basename "$t"): $p passed, $f failed, $s skipped"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
for m in ${problems[@]+"${problems[@]}"}; do
	echo "FAILED: $m"
done
echo "$what tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
