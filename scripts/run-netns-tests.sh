#!/bin/bash
# SPDX-License-Identifier: MIT
# Run lwt's netns tests (all, or those named), one after another; after each,
# passing or failing, check nothing of ours is left: no namespace, no TUN, no
# firewall rule, no daemon process.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ $# -gt 0 ]; then tests=("$@"); else tests=(tests/netns/[0-9]*.sh); fi
fails=0
leftovers() {
	local bad=0
	if ip netns list | grep -q '^lwtt-'; then echo "LEFTOVER namespaces: $(ip netns list | grep '^lwtt-')"; bad=1; fi
	if ip -o link | grep -Eq ': lwt[a-z0-9]*[:@]'; then echo "LEFTOVER TUN in the root namespace"; bad=1; fi
	if nft list tables 2>/dev/null | grep -q ' lwt_'; then echo "LEFTOVER nft table in the root namespace"; bad=1; fi
	if pgrep -f "$ROOT/bin/lightweight-tunnel" >/dev/null; then echo "LEFTOVER daemon: $(pgrep -af "$ROOT/bin/lightweight-tunnel")"; bad=1; fi
	return $bad
}
for t in "${tests[@]}"; do
	echo "=== $t"
	start=$(date +%s)
	if bash "$t"; then res=PASS; else res=FAIL; fails=$((fails + 1)); fi
	if ! leftovers; then res="$res+LEFTOVERS"; fails=$((fails + 1)); fi
	echo "=== $t: $res ($(( $(date +%s) - start ))s)"
done
echo "netns tests: ${#tests[@]} run, $fails failed"
[ $fails -eq 0 ]
