#!/bin/bash
# SPDX-License-Identifier: MIT
# After set-up a daemon keeps only the capabilities its data path needs, in
# every thread: effective = permitted = bounding set within CAP_NET_ADMIN,
# CAP_NET_RAW, CAP_IPC_LOCK, CAP_BPF and CAP_PERFMON (the first two and
# CAP_BPF always), inheritable = ambient = CAP_NET_ADMIN + CAP_NET_RAW (for
# the nft run at exit), no_new_privs. With -user lwt every thread runs as
# lwt:lwt without supplementary groups, on a bpffs that only root may search
# (as systemd mounts it). Either way: the tunnel carries pings, root's
# lwt-ctl (and, with -user, lwt's) gets status, lwt-ctl detach and attach
# still work (raw sockets, XDP program, AF_XDP sockets and pins made after
# the drop), and the daemon exits by itself removing its nft table, pins and
# XDP program (lib.sh stop checks). An unknown -user is refused up front.
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || skip "no setpriv"
# CAP_* numbers (linux/capability.h).
NET_ADMIN=12 NET_RAW=13 IPC_LOCK=14 PERFMON=38 BPF=39
bit() { echo $((1 << $1)); }
ALLOWED=$(($(bit $NET_ADMIN) | $(bit $NET_RAW) | $(bit $IPC_LOCK) | $(bit $PERFMON) | $(bit $BPF)))
NEEDED=$(($(bit $NET_ADMIN) | $(bit $NET_RAW) | $(bit $BPF)))
AMBIENT=$(($(bit $NET_ADMIN) | $(bit $NET_RAW)))

say "an unknown -user is refused before anything is touched"
rc=0
"$LWT" -m server -k "$KEY" -user no-such-user-lwt47 >"$LOGDIR/nouser.out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q 'user: no such user "no-such-user-lwt47"' "$LOGDIR/nouser.out" ||
	fail "-user no-such-user: status $rc, $(cat "$LOGDIR/nouser.out")"

# The service user: lwt-ctl trusts root, itself and 'lwt'. Made (and removed
# at exit) only if this machine has none.
if ! getent passwd lwt >/dev/null; then
	run useradd --system --no-create-home --shell /usr/sbin/nologin lwt
	at_exit "userdel lwt"
fi
LWT_UID=$(id -u lwt) LWT_GID=$(id -g lwt)
# lwt-ctl where user lwt can run it.
TMPD=$(mktemp -d)
chmod 755 "$TMPD"
at_exit "rm -rf '$TMPD'"
cp "$CTL" "$TMPD/lwt-ctl"

# check_threads NAME PID UID GID: every thread of PID runs as UID:GID (no
# supplementary groups when not root) with the capabilities above.
check_threads() {
	local name=$1 pid=$2 uid=$3 gid=$4 t n=0 eff prm bnd inh amb
	for t in /proc/"$pid"/task/*; do
		n=$((n + 1))
		read -r eff prm bnd inh amb < <(awk '/^CapEff/ {e=$2} /^CapPrm/ {p=$2} /^CapBnd/ {b=$2}
			/^CapInh/ {i=$2} /^CapAmb/ {a=$2} END {print e, p, b, i, a}' "$t/status")
		grep -q "^Uid:[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid$" "$t/status" ||
			fail "$name thread ${t##*/}: $(grep ^Uid "$t/status") (want $uid everywhere)"
		grep -q "^Gid:[[:space:]]*$gid[[:space:]]*$gid[[:space:]]*$gid[[:space:]]*$gid$" "$t/status" ||
			fail "$name thread ${t##*/}: $(grep ^Gid "$t/status") (want $gid everywhere)"
		if [ "$uid" != 0 ]; then
			grep -q '^Groups:[[:space:]]*$' "$t/status" ||
				fail "$name thread ${t##*/}: supplementary $(grep ^Groups "$t/status")"
		fi
		grep -q '^NoNewPrivs:[[:space:]]*1$' "$t/status" || fail "$name thread ${t##*/}: no_new_privs unset"
		say "$name thread ${t##*/}: CapEff $eff CapPrm $prm CapBnd $bnd CapInh $inh CapAmb $amb"
		[ $((16#$eff & ~ALLOWED)) = 0 ] || fail "$name thread ${t##*/} keeps capabilities beyond the data path's: CapEff $eff"
		[ $((16#$eff & NEEDED)) = $NEEDED ] || fail "$name thread ${t##*/} lacks NET_ADMIN, NET_RAW or BPF: CapEff $eff"
		[ "$prm" = "$eff" ] && [ "$bnd" = "$eff" ] ||
			fail "$name thread ${t##*/}: permitted $prm and bounding $bnd not the effective $eff"
		[ $((16#$inh)) = $AMBIENT ] && [ $((16#$amb)) = $AMBIENT ] ||
			fail "$name thread ${t##*/}: inheritable $inh, ambient $amb (want NET_ADMIN + NET_RAW)"
	done
	# The pollers are threads of their own: the drop must reach them too.
	[ $n -ge 2 ] || fail "$name has $n thread(s); the pollers were not checked"
}

pings() { nsx c ping -c 3 -i 0.2 -W 2 10.0.0.1 >"$LOGDIR/ping.txt" 2>&1 || { cat "$LOGDIR/ping.txt"; fail "$*: pings through the tunnel unanswered"; }; }

# switch NS TUN LINK: detach to raw sockets, ping, attach to AF_XDP, ping.
switch() {
	local n=$1 tun=$2 l=$3
	run ctl "$n" "$tun" detach "$l" || fail "$n: lwt-ctl detach failed after the drop"
	[ "$(jget "$n" "$tun" .path)" = raw-socket ] || fail "$n: not on raw sockets after detach"
	pings "$n detached"
	run ctl "$n" "$tun" attach "$l" || fail "$n: lwt-ctl attach failed after the drop"
	[ "$(jget "$n" "$tun" .path)" = af-xdp ] || fail "$n: not on AF_XDP after attach"
	[ -e "$(bpffs "$n")/lwt/$tun/xdp-v3/lwt_xdp" ] || fail "$n: attach pinned no program"
	pings "$n attached"
}

# phase LABEL UID GID ARGS...: start both ends with ARGS, check them, stop them.
phase() {
	local label=$1 uid=$2 gid=$3 owner; shift 3
	say "$label"
	start_server "$@"
	start_client "$@"
	wait_for 10 "client session up" sessions_up c lwtc || fail "$label: no session"
	wait_for 5 "server session up" sessions_up s lwts || fail "$label: no session"
	[ "$(jget s lwts .path)" = af-xdp ] || fail "$label: server not on AF_XDP"
	check_threads server "$server_PID" "$uid" "$gid"
	check_threads client "$client_PID" "$uid" "$gid"
	pings "$label"
	ctl s lwts status >"$LOGDIR/status.txt" || fail "$label: root's lwt-ctl status failed"
	grep -q "sessions: 1" "$LOGDIR/status.txt" || fail "$label: status: $(cat "$LOGDIR/status.txt")"
	if [ "$uid" != 0 ]; then
		nsx s setpriv --reuid="$uid" --regid="$gid" --clear-groups "$TMPD/lwt-ctl" -i lwts status \
			>"$LOGDIR/status-user.txt" 2>&1 || fail "$label: lwt-ctl as lwt: $(cat "$LOGDIR/status-user.txt")"
	fi
	switch s lwts v-s-c
	switch c lwtc v-c-s
	owner=$(stat -c %u:%g "$(bpffs s)/lwt/lwts/xdp-v3/flows")
	[ "$owner" = "$uid:$gid" ] || fail "$label: pins made by attach belong to $owner, not $uid:$gid"
	# The table the daemon removes at exit (stop asserts it is gone).
	nsx s nft list tables | grep -qx "table inet lwt_lwts" || fail "$label: no nft table"
	stop "$server_PID"
	stop "$client_PID"
	grep -q "firewall: anti-RST rule removed" "$LOGDIR/server.log" || fail "$label: no rule removal logged"
}

# two_hosts with two queues a side: AF_XDP then needs two UMEMs (16 MiB),
# more than RLIMIT_MEMLOCK allows without CAP_IPC_LOCK (8 MiB on Debian).
add_ns s
add_ns c
ip link add v-s-c netns "$PFX-s" numtxqueues 2 numrxqueues 2 type veth \
	peer v-c-s netns "$PFX-c" numtxqueues 2 numrxqueues 2
ip -n "$PFX-s" addr add 10.99.0.1/24 dev v-s-c
ip -n "$PFX-c" addr add 10.99.0.2/24 dev v-c-s
ip -n "$PFX-s" link set v-s-c up
ip -n "$PFX-c" link set v-c-s up
phase "started as root: capabilities cut down, uid 0" 0 0

# As systemd mounts it: only root may search the bpffs root.
ensure_bpffs s
ensure_bpffs c
chmod 0700 "$(bpffs s)" "$(bpffs c)"
phase "-user lwt: uid and gid lwt, no groups, capabilities cut down" "$LWT_UID" "$LWT_GID" -user lwt
say PASS
