#!/bin/bash
# SPDX-License-Identifier: MIT
# The systemd unit, without systemd (PID 1 here need not be systemd): the
# unit `make install-service` writes (scripts/install-service.sh
# --print-unit, with CONFIG_PATH pointing here) passes `systemd-analyze
# verify` and rates 2.0 or better in `systemd-analyze security --offline`.
# Then the daemon runs the way the unit runs it: its ExecStartPre line run
# as root (on a bpffs that is 0700, as systemd mounts it; on a config that
# `lightweight-tunnel -g` wrote, root's and 0600), then the daemon as the
# unit's User= with exactly its AmbientCapabilities (inheritable, ambient,
# bounding set; setpriv), no_new_privs and LimitMEMLOCK. It must take the
# AF_XDP path, serve a client, and speak the notify protocol on
# NOTIFY_SOCKET: READY=1 with STATUS= (path, sessions), STATUS= again when
# a client comes, WATCHDOG=1 under WATCHDOG_USEC, RELOADING=1 then READY=1
# around the unit's ExecReload, STOPPING=1 at the end. A config error exits
# 2, which the unit's RestartPreventExitStatus= names.
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
command -v setpriv >/dev/null || skip "no setpriv"
command -v python3 >/dev/null || skip "no python3"

TMPD=$(mktemp -d)
chmod 755 "$TMPD"
at_exit "rm -rf '$TMPD'"
INST=srv
ETC=$TMPD/etc
if ! getent passwd lwt >/dev/null; then
	getent group lwt >/dev/null || { run groupadd --system lwt; at_exit "groupdel lwt 2>/dev/null"; }
	run useradd --system --no-create-home --shell /usr/sbin/nologin -g lwt lwt
	at_exit "userdel lwt"
fi
# The binary where the service user can reach it (as under PREFIX/bin).
mkdir -p "$TMPD/bin"
cp "$LWT" "$TMPD/bin/lightweight-tunnel"

say "the unit: systemd-analyze verify and security"
mkdir -p "$TMPD/units"
UNIT=$TMPD/units/lightweight-tunnel@.service
CONFIG_PATH=$ETC/$INST.json "$ROOT/scripts/install-service.sh" --print-unit "$TMPD" >"$UNIT"
cat "$UNIT"
# --man=no: the man pages it names are installed by make install, not yet here.
run systemd-analyze verify --man=no "$UNIT" || fail "systemd-analyze verify"
run systemd-analyze security --offline=yes "$UNIT" | tee "$LOGDIR/security.txt" | tail -n 1
score=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' "$LOGDIR/security.txt")
say "exposure $score"
[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score is over 2.0"
systemd-analyze security --offline=yes --threshold=20 "$UNIT" >/dev/null || fail "--threshold=20"
grep -qx 'RestartPreventExitStatus=2' "$UNIT" || fail "no RestartPreventExitStatus=2"
grep -qx 'Type=notify' "$UNIT" || fail "not Type=notify"

# unit_val KEY: the unit's value of KEY (the last line setting it).
unit_val() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }
# unit_cmd KEY: that command line as systemd would run it: specifiers
# (%i, %%) and $$ resolved; $MAINPID from the second argument.
unit_cmd() {
	unit_val "$1" | sed -e 's/^+//' -e "s/%i/$INST/g" -e 's/%%/%/g' -e 's/\$\$/$/g' -e "s/\$MAINPID/${2:-}/g"
}
USER_=$(unit_val User)
CAPS=$(unit_val AmbientCapabilities)
[ "$CAPS" = "$(unit_val CapabilityBoundingSet)" ] || fail "ambient and bounding sets differ"
[ "$(unit_val NoNewPrivileges)" = yes ] || fail "NoNewPrivileges"
[ "$(unit_val LimitMEMLOCK)" = infinity ] || fail "LimitMEMLOCK"
[ "$USER_" = lwt ] || fail "User=$USER_"
setcaps=$(for c in $CAPS; do c=${c#CAP_}; printf '+%s,' "${c,,}"; done)
setcaps=${setcaps%,}
say "unit: User=$USER_, capabilities $setcaps"
# The daemon as ExecStart= runs it. Two things systemd does that this
# container cannot, stood in for in the daemon's own mount namespace:
# LimitMEMLOCK=infinity (raising the hard limit takes CAP_SYS_RESOURCE;
# the 8 MiB here hold the one queue of a veth), and /dev/net/tun as udev's
# default rule leaves it on a host (0666; the unit's PrivateDevices= +
# BindPaths= show the host's node).
mkdir -p "$TMPD/dev"
cat >"$TMPD/lwt-unit" <<EOF
#!/bin/sh
# Its own mount namespace, whoever calls it: the mounts below never reach the host.
[ -n "\$LWT_UNIT_NS" ] || LWT_UNIT_NS=1 exec unshare --mount --propagation slave "\$0" "\$@"
ulimit -l unlimited 2>/dev/null || ulimit -l \$(ulimit -Hl)
if [ "\$(stat -c %a /dev/net/tun)" != 666 ]; then
	mount -t tmpfs -o mode=755 tmpfs "$TMPD/dev" && mknod -m 666 "$TMPD/dev/tun" c 10 200 &&
		mount --bind "$TMPD/dev/tun" /dev/net/tun || exit 1
fi
exec setpriv --reuid=$USER_ --regid=$USER_ --clear-groups --no-new-privs \\
	--inh-caps=-all,$setcaps --ambient-caps=-all,$setcaps --bounding-set=-all,$setcaps \\
	"$TMPD/bin/lightweight-tunnel" "\$@"
EOF
chmod 755 "$TMPD/lwt-unit"

say "a config error exits 2 (RestartPreventExitStatus)"
install -d -m 0750 -g lwt "$ETC"
echo '{ "mode": "server", "key": "a-long-enough-key", "fec_dta": 1 }' >"$ETC/bad.json"
chgrp lwt "$ETC/bad.json"
chmod 640 "$ETC/bad.json"
rc=0
"$TMPD/lwt-unit" -c "$ETC/bad.json" >"$LOGDIR/bad.out" 2>&1 || rc=$?
cat "$LOGDIR/bad.out"
[ $rc = 2 ] || fail "config error: exit $rc"

say "the documented steps: -g as root, then the unit's ExecStartPre and ExecStart"
two_hosts
"$LWT" -g "$ETC/$INST.json" >/dev/null
[ "$(stat -c %a:%U "$ETC/$INST.json")" = 600:root ] || fail "-g wrote $(stat -c %a:%U "$ETC/$INST.json")"
# The admin's edits (keeping the file as -g left it).
jq '.local_addr = "10.99.0.1:9000" | .tun_name = "lwts"' "$ETC/$INST.json" >"$TMPD/edit.json"
cat "$TMPD/edit.json" >"$ETC/$INST.json"
KEY=$(jq -r .key "$ETC/$INST.json")
ensure_bpffs s
chmod 0700 "$(bpffs s)"
pre=$(unit_cmd ExecStartPre)
say "ExecStartPre: $pre"
nsx s sh -c 'mount --bind "$1" /sys/fs/bpf && eval "$2"' _ "$(bpffs s)" "$pre" || fail "ExecStartPre failed"
stat -c "%n %a %U:%G" "$ETC/$INST.json" "$(bpffs s)" "$(bpffs s)/lwt" || true
[ "$(stat -c %a:%G "$ETC/$INST.json")" = 640:lwt ] || fail "the config is not the service group's"

rm -f "$TMPD/notify.ready"
: >"$LOGDIR/notify.txt"
python3 -c '
import os, socket, sys
path, out, ready = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
open(ready, "w").close()
with open(out, "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace").replace("\n", " | ") + "\n")
' "$TMPD/notify.sock" "$LOGDIR/notify.txt" "$TMPD/notify.ready" &
PIDS+=("$!")
wait_for 5 "notify listener" test -f "$TMPD/notify.ready"
export NOTIFY_SOCKET=$TMPD/notify.sock WATCHDOG_USEC=1000000
LWT=$TMPD/lwt-unit start server s $(unit_val ExecStart | sed -e 's/^[^ ]* //' -e "s/%i/$INST/g")
unset NOTIFY_SOCKET WATCHDOG_USEC
notified() { grep -q -- "$1" "$LOGDIR/notify.txt"; }
wait_for 10 "READY=1 with the AF_XDP path" notified "^READY=1 | STATUS=path af-xdp on v-s-c, 0 client session(s), tun lwts"
grep -q "listening on 10.99.0.1:9000" "$LOGDIR/server.log" || fail "READY=1 before the daemon was up"
[ "$(jget s lwts .path)" = af-xdp ] || fail "path $(jget s lwts .path), not af-xdp"
grep -q "^Uid:[[:space:]]*$(id -u lwt)[[:space:]]" /proc/"$server_PID"/status || fail "the daemon does not run as lwt"
start_client
wait_for 10 "client up" sessions_up c lwtc
wait_for 5 "STATUS with the session" notified "^STATUS=path af-xdp on v-s-c, 1 client session(s)"
nsx c ping -c 3 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "ping through the tunnel"
wait_for 5 "WATCHDOG=1 twice" sh -c "[ \$(grep -c '^WATCHDOG=1' '$LOGDIR/notify.txt') -ge 2 ]"

say "ExecReload: RELOADING=1, then READY=1; the config stays readable"
n0=$(grep -c '^READY=1' "$LOGDIR/notify.txt")
chmod 600 "$ETC/$INST.json"	# an editor that wrote a new file
reload=$(unit_cmd ExecReload "$server_PID")
say "ExecReload: $reload"
eval "$reload"
wait_for 5 "reload logged" grep -q "reload: reloaded" "$LOGDIR/server.log"
wait_for 5 "READY=1 after the reload" sh -c "[ \$(grep -c '^READY=1' '$LOGDIR/notify.txt') -gt $n0 ]"
grep -q '^RELOADING=1 | MONOTONIC_USEC=[0-9]*$' "$LOGDIR/notify.txt" || fail "no RELOADING=1"
[ "$(grep -n -e '^RELOADING=1' -e '^READY=1' "$LOGDIR/notify.txt" | tail -n 2 | cut -d= -f1 | cut -d: -f2)" = \
	"$(printf 'RELOADING\nREADY')" ] || fail "RELOADING=1 and READY=1 out of order"
sessions_up s lwts || fail "the session went with the reload"

say "STOPPING=1"
stop "$client_PID"
stop "$server_PID"
grep -q '^STOPPING=1' "$LOGDIR/notify.txt" || fail "no STOPPING=1"
cat "$LOGDIR/notify.txt"
say PASS
