#!/bin/bash
# SPDX-License-Identifier: MIT
# enable_kernel_tune (user/ktune.h): the TUN lwt creates gets txqueuelen
# 4000, shown by lwt-ctl status (text and --json) and in one log line; no
# sysctl of the namespace changes -- with tuning on or off, while running,
# after a clean stop, after a kill -9 and the next start, with two daemons
# in one namespace; -kernel-tune=false and "enable_kernel_tune": false
# leave the kernel's 500; a persistent TUN (the admin's) keeps its value.
. "$(dirname "$0")/lib.sh"

WANT=4000

# sysctls NS: every readable sysctl of NS's network namespace, "path:value"
# (one line per line of a value), but the per-interface ones of the TUNs
# (conf/lwt*, neigh/lwt*: they come and go with the TUN) and
# nf_conntrack_count (moves with traffic). One grep reads them all.
sysctls() {
	ip netns exec "$PFX-$1" sh -c 'cd /proc/sys/net && find . -type f -perm -0400 -print0 |
		sort -z | xargs -0 grep -Hs "" || true' |
		grep -Ev '/(conf|neigh)/lwt[a-z0-9]*/|nf_conntrack_count'
}
# same_sysctls WHEN: both namespaces hold the values they had before lwt.
same_sysctls() {
	local n
	for n in s c; do
		sysctls $n >"$LOGDIR/sysctl-$n.now"
		if ! diff -u "$LOGDIR/sysctl-$n.before" "$LOGDIR/sysctl-$n.now" >"$LOGDIR/sysctl-$n.diff"; then
			cat "$LOGDIR/sysctl-$n.diff"
			fail "$1: a sysctl of namespace $n changed"
		fi
	done
	say "$1: no sysctl changed in s or c"
}
txqlen() { ip -n "$PFX-$1" -j link show "$2" | jq '.[0].txqlen'; }
# tuned NS TUN LOG: TUN's queue at WANT, status and the log say so once.
tuned() {
	local n=$1 t=$2 log=$3 q line
	q=$(txqlen "$n" "$t")
	say "$t txqueuelen $q"
	[ "$q" = $WANT ] || fail "$t txqueuelen $q, expected $WANT"
	line=$(ctl "$n" "$t" status | grep '^kernel tune:') || fail "lwt-ctl status shows no kernel tune line"
	say "status: $line"
	[ "$line" = "kernel tune: TUN $t txqueuelen 500 -> $WANT" ] || fail "status line: $line"
	ctl "$n" "$t" status --json | jq -en --arg t "$t" --argjson w $WANT 'input | .kernel_tune |
		.enabled == true and .changes == [{"setting": ($t + " txqueuelen"), "from": 500, "to": $w}]' >/dev/null ||
		fail "status --json: $(ctl "$n" "$t" status --json | jq -c .kernel_tune)"
	[ "$(grep -c 'kernel tuning:' "$LOGDIR/$log.log")" = 1 ] || fail "$log.log: not one kernel tuning line"
	grep -q "kernel tuning: TUN $t txqueuelen 500 -> $WANT; no sysctl changed" "$LOGDIR/$log.log" ||
		fail "$log.log: $(grep 'kernel tuning' "$LOGDIR/$log.log")"
}
# untuned NS TUN LOG: the kernel's 500, status says off, nothing logged.
untuned() {
	local n=$1 t=$2 log=$3 q
	q=$(txqlen "$n" "$t")
	say "$t txqueuelen $q (tuning off)"
	[ "$q" = 500 ] || fail "$t txqueuelen $q with tuning off, expected the kernel's 500"
	ctl "$n" "$t" status | grep -qx 'kernel tune: off (enable_kernel_tune)' ||
		fail "status with tuning off: $(ctl "$n" "$t" status | grep kernel)"
	ctl "$n" "$t" status --json | jq -en 'input | .kernel_tune | .enabled == false and .changes == []' >/dev/null ||
		fail "status --json with tuning off: $(ctl "$n" "$t" status --json | jq -c .kernel_tune)"
	! grep -q 'kernel tuning' "$LOGDIR/$log.log" || fail "$log.log logs kernel tuning with tuning off"
}
ping_ok() { nsx c ping -c 3 -i 0.2 -W 2 -q 10.0.0.1 >/dev/null || fail "no ping through the tunnel"; }

two_hosts
for n in s c; do sysctls $n >"$LOGDIR/sysctl-$n.before"; done
say "$(wc -l <"$LOGDIR/sysctl-s.before") sysctls in s, $(wc -l <"$LOGDIR/sysctl-c.before") in c"

say "default: tuning on"
start_server
# A 3 s timeout: after the server's kill -9 below the client finds it gone
# in 3 s, not the default 15, and reconnects to the new one.
echo '{ "keepalive": 1, "timeout": 3 }' >"$LOGDIR/ka.json"
start_client -c "$LOGDIR/ka.json"
wait_for 10 "client session up" sessions_up c lwtc
ping_ok
tuned s lwts server
tuned c lwtc client
same_sysctls "running, tuned"

say "kill -9 the server, start it again"
kill9 "$server_PID"
! ip -n "$PFX-s" link show lwts >/dev/null 2>&1 || fail "lwts outlived the killed daemon"
same_sysctls "after kill -9"
start_server
wait_for 15 "client back" sessions_up s lwts
ping_ok
tuned s lwts server
stop "$server_PID"
stop "$client_PID"
same_sysctls "after a clean stop"

say "tuning off: -kernel-tune=false (server), enable_kernel_tune false in a file (client)"
jq -n --arg k "$KEY" '{mode: "client", remote_addr: "10.99.0.1:9000", tunnel_addr: "10.0.0.2/24",
	key: $k, tun_name: "lwtc", enable_kernel_tune: false}' >"$LOGDIR/client.json"
chmod 600 "$LOGDIR/client.json"
start_server -kernel-tune=false
start client c -c "$LOGDIR/client.json"
wait_for 10 "client session up" sessions_up c lwtc
ping_ok
untuned s lwts server
untuned c lwtc client
same_sysctls "running, tuning off"
stop "$server_PID"
stop "$client_PID"

say "two servers in one namespace"
start_server
start server2 s -m server -l 10.99.0.1:9001 -t 10.0.1.1/24 -k "$KEY" -tun-name lwts2
start_client
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "second server listening" ctl s lwts2 status
tuned s lwts server
tuned s lwts2 server2
stop "$server_PID"
q=$(txqlen s lwts2)
[ "$q" = $WANT ] || fail "lwts2 txqueuelen $q after the other server stopped"
same_sysctls "one of two servers stopped"
stop "$server2_PID"
stop "$client_PID"
same_sysctls "both servers stopped"

say "a persistent TUN is the admin's: its txqueuelen stays"
nsx s ip tuntap add dev lwtp mode tun multi_queue vnet_hdr
at_exit "ip -n $PFX-s link del lwtp 2>/dev/null"
nsx s ip link set lwtp txqueuelen 700
# Not through start: its TUN outlives it by design, which stop would call a leftover.
ensure_bpffs s
nsbg s "$LWT" -m server -l 10.99.0.1:9002 -t 10.0.2.1/24 -k "$KEY" -tun-name lwtp >"$LOGDIR/persist.log" 2>&1
ppid=$BG_PID
wait_for 10 "server on lwtp" ctl s lwtp status
q=$(txqlen s lwtp)
say "lwtp txqueuelen $q"
[ "$q" = 700 ] || fail "the persistent TUN's txqueuelen became $q"
ctl s lwtp status | grep -qx 'kernel tune: nothing changed (TUN lwtp is persistent, not lwt'"'"'s: its txqueuelen 700 kept)' ||
	fail "status for a persistent TUN: $(ctl s lwtp status | grep kernel)"
stop "$ppid"
q=$(txqlen s lwtp)
[ "$q" = 700 ] || fail "the persistent TUN's txqueuelen is $q after the daemon stopped"
same_sysctls "persistent TUN"
say "PASS"
