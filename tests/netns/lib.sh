#!/bin/bash
# SPDX-License-Identifier: MIT
# Shared helpers for lwt's network-namespace tests (in the spirit of
# WireGuard's netns.sh): unique namespace names, a cleanup trap that runs on
# every exit path, every command echoed, readiness polled, never slept on.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${LWT_BIN:-$ROOT/bin}
TOOLS=${LWT_TOOLS:-$ROOT/build/tools}
LWT=$BIN/lightweight-tunnel
CTL=$BIN/lwt-ctl
TEST=$(basename "$0" .sh)
ID=${LWT_TEST_ID:-$$}
PFX="lwtt-$ID"
LOGDIR=${LWT_LOGDIR:-$ROOT/build/netns-logs}/$TEST
# A fresh directory each run: a test that polls a file a background job
# writes must never read the last run's copy of it.
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
KEY="test-key-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
PIDS=()
NSES=()

say() { printf '[%s] %s\n' "$TEST" "$*"; }
run() { printf '+ %s\n' "$*" >&2; "$@"; }
fail() { say "FAIL: $*"; exit 1; }
# skip REASON: after a real probe, the test cannot run here; the runner counts
# exit status 77 as a skip, never as a pass.
skip() { say "SKIP: $*"; exit 77; }

# nsx NS CMD...: run in namespace NS (short name) with the command echoed.
nsx() { local n=$1; shift; printf '+ [%s] %s\n' "$n" "$*" >&2; ip netns exec "$PFX-$n" "$@"; }

# nsbg NS CMD...: start CMD in NS in the background (redirections on the
# call apply), registered for cleanup; BG_PID is the command's own PID, not
# a subshell's (`nsx ... &` would leave the command running after a `stop`
# of the subshell, and the cleanup check would report it).
nsbg() {
	local n=$1; shift
	printf '+ [%s] %s &\n' "$n" "$*" >&2
	ip netns exec "$PFX-$n" "$@" &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

add_ns() {
	local n=$1
	ip netns add "$PFX-$n"
	NSES+=("$PFX-$n")
	ip -n "$PFX-$n" link set lo up
}

# link A B ADDR_A ADDR_B: a veth pair between namespaces A and B (CIDRs).
link() {
	local a=$1 b=$2 aa=$3 ba=$4
	ip link add "v-$a-$b" netns "$PFX-$a" type veth peer "v-$b-$a" netns "$PFX-$b"
	ip -n "$PFX-$a" addr add "$aa" dev "v-$a-$b"
	ip -n "$PFX-$b" addr add "$ba" dev "v-$b-$a"
	ip -n "$PFX-$a" link set "v-$a-$b" up
	ip -n "$PFX-$b" link set "v-$b-$a" up
}

# link6 A B ADDR_A ADDR_B: link's IPv6 twin: a veth pair with IPv6 addresses
# only, usable at once (nodad: no duplicate address detection to wait for).
link6() {
	local a=$1 b=$2 aa=$3 ba=$4
	ip link add "v-$a-$b" netns "$PFX-$a" type veth peer "v-$b-$a" netns "$PFX-$b"
	ip -n "$PFX-$a" addr add "$aa" dev "v-$a-$b" nodad
	ip -n "$PFX-$b" addr add "$ba" dev "v-$b-$a" nodad
	ip -n "$PFX-$a" link set "v-$a-$b" up
	ip -n "$PFX-$b" link set "v-$b-$a" up
}

# routed_hosts6: routed_hosts over IPv6 only: client ns "c" (fd97:1::2),
# router "r" (fd97:1::1 / fd97:2::1), server "s" (fd97:2::2).
routed_hosts6() {
	add_ns s
	add_ns r
	add_ns c
	link6 c r fd97:1::2/64 fd97:1::1/64
	link6 r s fd97:2::1/64 fd97:2::2/64
	nsx c ip -6 route add default via fd97:1::1
	nsx s ip -6 route add default via fd97:2::1
	nsx r sysctl -qw net.ipv6.conf.all.forwarding=1
}

# Each namespace gets a bpffs of its own, mounted in the root mount
# namespace under /run/lwtt/ and bound over /sys/fs/bpf for every daemon
# started in it: the daemon pins there as it would on a host, and what it
# leaves behind is still there to be seen after it exits (a bpffs the
# daemon mounted itself under `ip netns exec` dies with its mount namespace).
BPFFS_ROOT=/run/lwtt/$PFX
bpffs() { echo "$BPFFS_ROOT/$1"; }
ensure_bpffs() {
	local d
	d=$(bpffs "$1")
	mountpoint -q "$d" && return 0
	mkdir -p "$d"
	mount -t bpf bpf "$d"
}

# start NAME NS ARGS...: start a daemon in NS; log in $LOGDIR/NAME.log.
# Sets ${NAME}_PID. The daemon's instance (its TUN name, from -tun-name or
# the config file's tun_name) is remembered so that `stop` can check what it
# leaves behind.
declare -A DAEMON_NAME=() DAEMON_NS=() DAEMON_TUN=()
start() {
	local name=$1 n=$2 tun="" prev="" a; shift 2
	# LWT_EXTRA_ARGS: the runner's path matrix (-xdp-mode generic, -xdp=false).
	# shellcheck disable=SC2086
	set -- "$@" ${LWT_EXTRA_ARGS:-}
	for a in "$@"; do
		case "$prev" in
		-tun-name | --tun-name) tun=$a ;;
		-c | --c) [ -z "$tun" ] && tun=$(jq -r '.tun_name // empty' "$a" 2>/dev/null || true) ;;
		esac
		case "$a" in -tun-name=* | --tun-name=*) tun=${a#*=} ;; esac
		prev=$a
	done
	ensure_bpffs "$n"
	# Emptied here, not by the background job's redirection: a test that
	# greps the log right after a restart must not read the last run's.
	: >"$LOGDIR/$name.log"
	printf '+ [%s] %s %s &\n' "$n" "$LWT" "$*" >&2
	# LWT_HIDE: paths made unusable (bound over by /dev/null) for this
	# daemon alone, e.g. /usr/sbin/nft to test the iptables fallback.
	ip netns exec "$PFX-$n" env LWT_HIDE="${LWT_HIDE:-}" sh -c '
		mount --bind "$0" /sys/fs/bpf || exit 1
		for f in $LWT_HIDE; do mount --bind /dev/null "$f" || exit 1; done
		exec "$@"' "$(bpffs "$n")" "$LWT" "$@" >>"$LOGDIR/$name.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	DAEMON_NAME[$pid]=$name
	DAEMON_NS[$pid]=$n
	DAEMON_TUN[$pid]=$tun
	printf -v "${name}_PID" '%s' "$pid"
}

# daemon_leftovers PID: what the stopped daemon PID should have removed and
# did not (its TUN, control socket, firewall rule, pins, and the XDP program
# on its namespace's links once no other daemon of ours runs there); empty
# when it cleaned up.
daemon_leftovers() {
	local pid=$1 n=${DAEMON_NS[$1]} tun=${DAEMON_TUN[$1]} p other=0 d
	d=$(bpffs "$n")
	if [ -n "$tun" ]; then
		ip -n "$PFX-$n" link show "$tun" >/dev/null 2>&1 && echo "TUN $tun in $n"
		ip netns exec "$PFX-$n" ss -xlH 2>/dev/null | grep -q "@lwt/$tun " && echo "control socket @lwt/$tun in $n"
		ip netns exec "$PFX-$n" nft list tables 2>/dev/null | grep -qx "table inet lwt_$tun" &&
			echo "nft table inet lwt_$tun in $n"
		ip netns exec "$PFX-$n" iptables -S 2>/dev/null | grep -q -- "-N LWT-$tun\$" &&
			echo "iptables chain LWT-$tun in $n"
		ip netns exec "$PFX-$n" ip6tables -S 2>/dev/null | grep -q -- "-N LWT-$tun\$" &&
			echo "ip6tables chain LWT-$tun in $n"
		[ -e "$d/lwt/$tun" ] && echo "bpffs pins in $n: $(cd "$d" && find "lwt/$tun" | tr '\n' ' ')"
	fi
	for p in "${!DAEMON_NS[@]}"; do
		[ "$p" != "$pid" ] && [ "${DAEMON_NS[$p]}" = "$n" ] && kill -0 "$p" 2>/dev/null && other=1
	done
	if [ $other = 0 ] && ip -n "$PFX-$n" -d link show 2>/dev/null | grep -q 'prog/xdp'; then
		echo "XDP program on a link in $n: $(ip -n "$PFX-$n" -o -d link show | grep 'prog/xdp' | cut -d: -f2 | tr '\n' ' ')"
	fi
	return 0
}

# stop_daemon PID: SIGTERM; the daemon must exit by itself with status 0
# within LWT_STOP_TIMEOUT seconds (10) and leave nothing behind; otherwise
# it is killed and the reason printed, status 1. A daemon the test killed
# and reaped itself (kill -9; wait) is not checked again.
stop_daemon() {
	local pid=$1 name=${DAEMON_NAME[$1]} i rc left termed=
	if kill -TERM "$pid" 2>/dev/null; then
		termed=1
		for ((i = 0; i < ${LWT_STOP_TIMEOUT:-10} * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			say "daemon $name (pid $pid) did not exit within ${LWT_STOP_TIMEOUT:-10}s of SIGTERM"
			return 1
		fi
	fi
	wait "$pid" 2>/dev/null && rc=0 || rc=$?
	# Gone before our SIGTERM, by SIGKILL (137; bash remembers the status
	# of a job the test reaped itself) or reaped already (127): the test
	# killed it on purpose (kill9). A crash (SIGSEGV, SIGABRT) still fails.
	if [ $rc = 127 ] || { [ $rc = 137 ] && [ -z "$termed" ]; }; then
		return 0
	fi
	if [ $rc != 0 ]; then
		say "daemon $name (pid $pid) exited with status $rc after SIGTERM"
		return 1
	fi
	left=$(daemon_leftovers "$pid")
	if [ -n "$left" ]; then
		say "daemon $name (pid $pid) left behind:"
		printf '  %s\n' "$left"
		return 1
	fi
	return 0
}

# kill9 PID: kill a daemon on purpose with SIGKILL (what it leaves behind is
# then expected) and reap it.
kill9() {
	run kill -9 "$1"
	wait "$1" 2>/dev/null || true
	STOPPED[$1]=1
}

# stop PID: a daemon is stopped with stop_daemon (the test fails if it does
# not exit cleanly); anything else gets SIGTERM, 5 s, then SIGKILL.
declare -A STOPPED=()
stop() {
	local pid=$1 i
	STOPPED[$pid]=1
	if [ -n "${DAEMON_NAME[$pid]:-}" ]; then
		stop_daemon "$pid" || fail "daemon ${DAEMON_NAME[$pid]} did not stop cleanly"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# wait_for TIMEOUT_S DESC CMD...: poll CMD every 100 ms until it succeeds.
wait_for() {
	local t=$1 desc=$2 i; shift 2
	for ((i = 0; i < t * 10; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	say "timed out after ${t}s waiting for: $desc"
	return 1
}

# ctl NS TUN ARGS...: lwt-ctl in a namespace.
# Asserting on JSON: jq -en 'input | EXPR', never jq -e 'EXPR': jq 1.6 exits 0
# with -e when it reads no input at all (a failed lwt-ctl, an empty file).
ctl() { local n=$1 t=$2; shift 2; ip netns exec "$PFX-$n" "$CTL" -i "$t" "$@"; }

# jget NS TUN EXPR: a value out of `lwt-ctl stats --json` (jq expression).
jget() {
	local n=$1 t=$2 expr=$3
	ctl "$n" "$t" stats --json | jq -r "$expr"
}

sessions_up() { [ "$(jget "$1" "$2" .sessions)" -ge "${3:-1}" ]; }

# assert_no_rule NS: no lwt nft table (or iptables chain) left in NS.
assert_no_rule() {
	local n=$1
	if ip netns exec "$PFX-$n" nft list tables 2>/dev/null | grep -q ' lwt_'; then
		ip netns exec "$PFX-$n" nft list ruleset
		fail "nft table left behind in $n"
	fi
	if ip netns exec "$PFX-$n" iptables -S 2>/dev/null | grep -q 'LWT-'; then
		fail "iptables chain left behind in $n"
	fi
	if ip netns exec "$PFX-$n" ip6tables -S 2>/dev/null | grep -q 'LWT-'; then
		fail "ip6tables chain left behind in $n"
	fi
}

# at_exit CMD: run CMD (eval'd) in cleanup, after every process is stopped
# (never replace the EXIT trap: cleanup must see the test's exit status).
AT_EXIT=()
at_exit() { AT_EXIT+=("$1"); }

cleanup() {
	local rc=$? pid ns left
	trap - EXIT
	for pid in "${PIDS[@]}"; do
		[ -n "${STOPPED[$pid]:-}" ] && continue
		if [ -n "${DAEMON_NAME[$pid]:-}" ]; then
			stop_daemon "$pid" || rc=1
		else
			stop "$pid"
		fi
	done
	# Nothing the test started may still run in its namespaces.
	for ns in "${NSES[@]}"; do
		left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		if [ -n "${left// /}" ]; then
			say "processes left in $ns: $(for pid in $left; do printf '%s(%s) ' "$pid" "$(cat /proc/"$pid"/comm 2>/dev/null)"; done)"
			# shellcheck disable=SC2086
			kill -KILL $left 2>/dev/null || true
			rc=1
		fi
	done
	for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	for left in "${AT_EXIT[@]}"; do eval "$left" || true; done
	if [ -d "$BPFFS_ROOT" ]; then
		for ns in "$BPFFS_ROOT"/*; do
			[ -d "$ns" ] || continue
			mountpoint -q "$ns" && umount "$ns"
			rmdir "$ns"
		done
		rmdir "$BPFFS_ROOT" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		say "logs in $LOGDIR:"
		for f in "$LOGDIR"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A standard two-host topology: server ns "s" (10.99.0.1) and client ns "c"
# (10.99.0.2) joined by one veth.
two_hosts() {
	add_ns s
	add_ns c
	link s c 10.99.0.1/24 10.99.0.2/24
}

# server/client with the usual options; extra args appended.
start_server() { start server s -m server -l 10.99.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
start_client() { start client c -m client -r 10.99.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc "$@"; }

# routed_hosts: client ns "c" (10.97.1.2) and server ns "s" (10.97.2.2) with a
# router ns "r" (10.97.1.1 / 10.97.2.1) forwarding between them.
routed_hosts() {
	add_ns s
	add_ns r
	add_ns c
	link c r 10.97.1.2/24 10.97.1.1/24
	link r s 10.97.2.1/24 10.97.2.2/24
	nsx c ip route add default via 10.97.1.1
	nsx s ip route add default via 10.97.2.1
	nsx r sysctl -qw net.ipv4.ip_forward=1
}

# lan_switch, then lan_host NS CIDR...: namespaces on one LAN, a bridge in a
# switch namespace "sw"; NS's end is "v-NS".
lan_switch() {
	add_ns sw
	ip -n "$PFX-sw" link add br0 type bridge
	ip -n "$PFX-sw" link set br0 up
}
# lan_host NS CIDR [Q_NS Q_SW]: with Q_NS / Q_SW, NS's end has that many
# TX queues and the switch's that many, and each as many RX as the other TX
# (native XDP on veth wants no fewer RX queues than its peer has TX).
lan_host() {
	local n=$1 a=$2 qa=${3:-1} qb=${4:-1}
	add_ns "$n"
	ip link add "v-$n" netns "$PFX-$n" numtxqueues "$qa" numrxqueues "$qb" type veth \
		peer "p-$n" netns "$PFX-sw" numtxqueues "$qb" numrxqueues "$qa"
	ip -n "$PFX-sw" link set "p-$n" master br0 up
	ip -n "$PFX-$n" addr add "$a" dev "v-$n"
	ip -n "$PFX-$n" link set "v-$n" up
}

# bridged A B: hosts A (10.96.0.1) and B (10.96.0.2) joined through a middle
# namespace "m" that runs lwt-impair with the given options. Offloads are off
# on the endpoints so every frame fits the MTU the bridge re-sends.
bridged() {
	local a=$1 b=$2; shift 2
	add_ns "$a"
	add_ns "$b"
	add_ns m
	ip link add "v-$a-m" netns "$PFX-$a" type veth peer "v-m-$a" netns "$PFX-m"
	ip link add "v-$b-m" netns "$PFX-$b" type veth peer "v-m-$b" netns "$PFX-m"
	ip -n "$PFX-$a" addr add 10.96.0.1/24 dev "v-$a-m"
	ip -n "$PFX-$b" addr add 10.96.0.2/24 dev "v-$b-m"
	for l in "$a:v-$a-m" "$b:v-$b-m" "m:v-m-$a" "m:v-m-$b"; do
		ip -n "$PFX-${l%%:*}" link set "${l#*:}" up
		ip netns exec "$PFX-${l%%:*}" ethtool -K "${l#*:}" tso off gso off gro off >/dev/null 2>&1 || true
	done
	rm -f "$LOGDIR/impair.ready"
	BR_A="v-m-$a" BR_B="v-m-$b"
	printf '+ [m] lwt-impair %s\n' "$*" >&2
	ip netns exec "$PFX-m" "$TOOLS/lwt-impair" "v-m-$a" "v-m-$b" --ready-file "$LOGDIR/impair.ready" \
		--stats-file "$LOGDIR/impair.json" "$@" 2>"$LOGDIR/impair.log" &
	IMPAIR_PID=$!
	PIDS+=("$IMPAIR_PID")
	wait_for 5 "bridge ready" test -f "$LOGDIR/impair.ready"
}

# impair_restart ARGS...: replace the running bridge of `bridged` by one with
# other options (the hosts and their sessions stay).
impair_restart() {
	stop "$IMPAIR_PID"
	rm -f "$LOGDIR/impair.ready"
	printf '+ [m] lwt-impair %s\n' "$*" >&2
	ip netns exec "$PFX-m" "$TOOLS/lwt-impair" "$BR_A" "$BR_B" --ready-file "$LOGDIR/impair.ready" \
		--stats-file "$LOGDIR/impair.json" "$@" 2>>"$LOGDIR/impair.log" &
	IMPAIR_PID=$!
	PIDS+=("$IMPAIR_PID")
	wait_for 5 "bridge ready" test -f "$LOGDIR/impair.ready"
}

# xfer_sha256 SRV_NS ADDR CLI_NS MB [TIMEOUT_S]: MB of random bytes from
# CLI_NS to ADDR:5001 in SRV_NS over nc; fails unless all arrive with the
# same sha256. Sets XFER_MBPS (Mbit/s, whole).
# ss_addr ADDR: ADDR as ss prints a listening socket's, [v6] bracketed.
ss_addr() { case "$1" in *:*) echo "[$1]" ;; *) echo "$1" ;; esac; }

# ip6_accepted NS TUN: the client's IPv6 tunnel address is accepted.
ip6_accepted() { [ "$(ctl "$1" "$2" status --json | jq -r .ip6_claim)" = accepted ]; }

# inner6_traffic SNS SADDR6 CNS CTUN: inner IPv6 from client CNS (its TUN
# CTUN) to SNS's tunnel address SADDR6 once its claim is accepted: ping6
# without loss, 20 MB with sha256 compared, 3 s of iperf3 -6 (more than
# 1 Mbit/s).
inner6_traffic() {
	local sn=$1 a6=$2 cn=$3 ctun=$4 bps
	wait_for 10 "$cn's IPv6 tunnel address accepted" ip6_accepted "$cn" "$ctun" ||
		fail "$cn's IPv6 tunnel address was not accepted"
	nsx "$cn" ping -6 -c 10 -i 0.05 -W 1 -q "$a6" | tee "$LOGDIR/ping6-$cn.txt" >&2
	grep -q ' 0% packet loss' "$LOGDIR/ping6-$cn.txt" || fail "inner IPv6: loss $cn -> $a6"
	xfer_sha256 "$sn" "$a6" "$cn" 20
	bps=$(iperf_run "$sn" "$a6" "$cn" "$LOGDIR/iperf6-$cn.json" -t 3)
	say "inner IPv6 iperf3 $cn -> $a6: $(jq -n "$bps/1e6|floor") Mbit/s"
	jq -e "$bps > 1e6" >/dev/null <<<null || fail "inner IPv6 iperf3 carried under 1 Mbit/s"
}

xfer_sha256() {
	local sn=$1 addr=$2 cn=$3 mb=$4 t=${5:-60} want got ncpid t0 t1
	head -c $((mb * 1024 * 1024)) /dev/urandom >"$LOGDIR/blob"
	want=$(sha256sum <"$LOGDIR/blob" | cut -d' ' -f1)
	nsbg "$sn" sh -c "timeout $((t + 10)) nc -l -N $addr 5001 | sha256sum | cut -d' ' -f1 > '$LOGDIR/got'"
	ncpid=$BG_PID
	wait_for 5 "nc listening" nsx "$sn" sh -c "ss -ltn | grep -qF '$(ss_addr "$addr"):5001'"
	t0=$(date +%s.%N)
	nsx "$cn" timeout "$t" nc -N "$addr" 5001 <"$LOGDIR/blob" || fail "transfer did not finish"
	wait "$ncpid" || true
	t1=$(date +%s.%N)
	got=$(cat "$LOGDIR/got")
	rm -f "$LOGDIR/blob"
	XFER_MBPS=$(jq -n "$mb * 8 / ($t1 - $t0) | floor")
	say "sha256 sent $want received $got ($XFER_MBPS Mbit/s)"
	[ "$want" = "$got" ] || fail "sha256 mismatch"
}

# ping_stats NS DST COUNT INTERVAL -> "loss_pct avg_ms"
ping_stats() {
	local out
	out=$(ip netns exec "$PFX-$1" ping -n -q -c "$3" -i "$4" -W 2 "$2" 2>&1 || true)
	printf '%s\n' "$out" >&2
	local loss avg
	loss=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
	avg=$(printf '%s\n' "$out" | awk -F'/' '/^rtt/ {print $5}')
	echo "${loss:-100} ${avg:-0}"
}

# iperf_run SRV_NS ADDR CLI_NS OUT_JSON [client args...]: one iperf3 run,
# bounded in time whatever happens to the path; prints bits/s received (0
# when the run failed; the JSON keeps iperf3's error). The port comes from
# the subshell's PID, not RANDOM: runs started together in the background
# (a few PIDs apart) never pick the same one.
iperf_run() {
	local sn=$1 addr=$2 cn=$3 out=$4 port=$((5200 + BASHPID % 700)) ipid; shift 4
	nsbg "$sn" timeout 180 iperf3 -s -1 -B "$addr" -p "$port" >/dev/null 2>&1
	ipid=$BG_PID
	wait_for 5 "iperf3 listening on $addr:$port" nsx "$sn" sh -c "ss -ltn | grep -qF '$(ss_addr "$addr"):$port '" >&2
	nsx "$cn" timeout 150 iperf3 -c "$addr" -p "$port" --connect-timeout 5000 -J "$@" >"$out" || true
	stop "$ipid"
	jq '.end.sum_received.bits_per_second // 0' "$out" 2>/dev/null || echo 0
}
