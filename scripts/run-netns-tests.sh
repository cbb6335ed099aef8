#!/bin/bash
# SPDX-License-Identifier: MIT
# Run lwt's netns tests (all, or those named), one after another; after each,
# passing or failing, check nothing of ours is left: no namespace, no TUN, no
# firewall rule, no daemon process.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ $# -gt 0 ]; then tests=("$@"); else tests=(tests/netns/[0-9]*.sh); fi
# The foundation tests run again over the other data paths: the default is
# AF_XDP (native on veth); generic XDP and raw sockets are the other two.
MATRIX=${LWT_PATH_MATRIX-10_basic 20_wrongkey 30_replay 40_rst 50_firewall 60_reconnect}
runs=()
for t in "${tests[@]}"; do runs+=("$t|"); done
for extra in "-xdp-mode generic" "-xdp=false"; do
	for t in "${tests[@]}"; do
		case " $MATRIX " in *" $(basename "$t" .sh) "*) runs+=("$t|$extra") ;; esac
	done
done
fails=0
# What each test may leave is judged against what was there before it ran
# (another run or a crashed session may hold state of its own, which is not
# this test's fault); namespaces are keyed by the ID handed to the test.
snapshot() {
	ip -o link | grep -Eo ': lwt[a-z0-9]*[:@]' | sort
	nft list tables 2>/dev/null | grep ' lwt_' | sort
	pgrep -f "$ROOT/bin/lightweight-tunnel" | sort
}
leftovers() {
	local id=$1 before=$2 bad=0 now
	if ip netns list | grep -q "^lwtt-$id-"; then
		echo "LEFTOVER namespaces: $(ip netns list | grep "^lwtt-$id-" | tr '\n' ' ')"; bad=1
	fi
	now=$(snapshot)
	if [ -n "$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$now") | grep .)" ]; then
		echo "LEFTOVER TUN, nft table or daemon in the root namespace:"
		comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$now")
		bad=1
	fi
	return $bad
}
for r in "${runs[@]}"; do
	t=${r%%|*}
	extra=${r#*|}
	label="$t${extra:+ [$extra]}"
	echo "=== $label"
	start=$(date +%s)
	id="r$$-$RANDOM"
	before=$(snapshot)
	if LWT_TEST_ID=$id LWT_EXTRA_ARGS=$extra LWT_LOGDIR="$ROOT/build/netns-logs${extra:+/${extra//[^a-z]/}}" \
		bash "$t"; then res=PASS; else res=FAIL; fails=$((fails + 1)); fi
	if ! leftovers "$id" "$before"; then res="$res+LEFTOVERS"; fails=$((fails + 1)); fi
	echo "=== $label: $res ($(( $(date +%s) - start ))s)"
done
echo "netns tests: ${#runs[@]} run, $fails failed"
[ $fails -eq 0 ]
