#!/bin/bash
# SPDX-License-Identifier: MIT
# Run lwt's netns tests (all, or those named), one after another, each under
# a time limit. A test checks inside its own namespaces what its daemons
# leave behind (tests/netns/lib.sh: stop_daemon, cleanup); here, after each
# test, passing or failing, nothing of it may remain in the root namespace:
# no namespace, no TUN, no firewall table, no process it started.
# Exit status of a test: 0 pass, 77 skip (after a real probe), else fail.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ $# -gt 0 ]; then tests=("$@"); else tests=(tests/netns/[0-9]*.sh); fi
# The foundation tests run again over the other data paths: the default is
# AF_XDP (native on veth); generic XDP and raw sockets are the other two.
MATRIX=${LWT_PATH_MATRIX-10_basic 30_replay 40_rst}
# ... and these over raw sockets only (their own filter and RST rule; a
# re-home on raw sockets keeps its path; the kernel's path MTU cache and
# raw sockets; the segments a strict firewall
# judges are built by the same code on every path, but reach the wire
# without XDP's TX ring): the suite stays near 20 minutes. 20_wrongkey (the
# control thread's handshake, whatever the path) runs once.
MATRIX_RAW=${LWT_PATH_MATRIX_RAW-50_firewall 52_ipv6_underlay 53_ipv6_firewall 56_ipv6_pmtu 57_ipv6_roam 60_reconnect 63_roam 64_pmtu 75_p2p}
# Seconds a test may take before it fails with its logs (LWT_TEST_TIMEOUT).
LIMIT=${LWT_TEST_TIMEOUT:-300}
runs=()
for t in "${tests[@]}"; do runs+=("$t|"); done
for extra in "-xdp-mode generic" "-xdp=false"; do
	for t in "${tests[@]}"; do
		case " $MATRIX " in *" $(basename "$t" .sh) "*) runs+=("$t|$extra"); continue ;; esac
		[ "$extra" = "-xdp=false" ] || continue
		case " $MATRIX_RAW " in *" $(basename "$t" .sh) "*) runs+=("$t|$extra") ;; esac
	done
done
passed=0 failed=0 skipped=0
failures=()
# What each test may leave is judged against what was there before it ran
# (another run or a crashed session may hold state of its own, which is not
# this test's fault); namespaces are keyed by the ID handed to the test. One
# sorted list, so that comm compares like with like.
snapshot() {
	{
		ip -o link | grep -Eo ': lwt[a-z0-9]*[:@]'
		nft list tables 2>/dev/null | grep ' lwt_'
	} | sort
}
# test_procs ID: processes that carry the test's ID in their environment
# (everything the test started, in any namespace), "pid(comm)" each.
test_procs() {
	local p
	for p in /proc/[0-9]*; do
		grep -qsxz "LWT_TEST_ID=$1" "$p/environ" && printf '%s(%s) ' "${p#/proc/}" "$(cat "$p/comm" 2>/dev/null)"
	done
}
leftovers() {
	local id=$1 before=$2 bad=0 now ns pids procs
	procs=$(test_procs "$id")
	if [ -n "$procs" ]; then
		echo "LEFTOVER processes of the test: $procs(killed now)"
		for p in $procs; do kill -KILL "${p%%(*}" 2>/dev/null; done
		bad=1
	fi
	for ns in $(ip netns list | awk '{print $1}' | grep "^lwtt-$id-"); do
		echo "LEFTOVER namespace $ns (removed now)"
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		# shellcheck disable=SC2086
		[ -n "${pids// /}" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		bad=1
	done
	if [ -d "/run/lwtt/lwtt-$id" ]; then
		echo "LEFTOVER bpffs mounts under /run/lwtt/lwtt-$id (removed now)"
		for ns in /run/lwtt/lwtt-"$id"/*; do umount "$ns" 2>/dev/null; rmdir "$ns" 2>/dev/null; done
		rmdir "/run/lwtt/lwtt-$id" 2>/dev/null
		bad=1
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
	# SIGTERM at the limit lets the test's cleanup trap run and print its
	# logs; SIGKILL 30 s later if even that hangs.
	LWT_TEST_ID=$id LWT_EXTRA_ARGS=$extra LWT_LOGDIR="$ROOT/build/netns-logs${LWT_LOGDIR_SUFFIX:+/$LWT_LOGDIR_SUFFIX}${extra:+/${extra//[^a-z]/}}" \
		timeout -k 30 "$LIMIT" bash "$t"
	rc=$?
	case $rc in
	0) res=PASS ;;
	77) res=SKIP ;;
	124 | 137) res="FAIL (over the ${LIMIT}s limit)" ;;
	*) res="FAIL (status $rc)" ;;
	esac
	if ! leftovers "$id" "$before"; then res="${res%% *}+LEFTOVERS"; fi
	case $res in
	PASS) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)); failures+=("$label: $res") ;;
	esac
	echo "=== $label: $res ($(( $(date +%s) - start ))s)"
done
echo "netns tests: ${#runs[@]} run"
for f in "${failures[@]}"; do echo "  FAILED $f"; done
echo "netns: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
