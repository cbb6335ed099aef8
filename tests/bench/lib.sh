#!/bin/bash
# SPDX-License-Identifier: MIT
# Shared start of the benchmarks: logs under build/bench-logs, the netns
# helpers (namespaces, daemons, cleanup; TEST is the script's name), results
# in OUT (LWT_BENCH_OUT), SECS seconds a run (LWT_BENCH_SECONDS, 5).
LWT_LOGDIR=${LWT_LOGDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bench-logs}
export LWT_LOGDIR
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
OUT=${LWT_BENCH_OUT:-$ROOT/build/bench}
SECS=${LWT_BENCH_SECONDS:-5}
mkdir -p "$OUT"
