#!/bin/bash
# SPDX-License-Identifier: MIT
# The control socket is an abstract name, which any local user may bind
# first. lwt-ctl trusts what holds "@lwt/NAME" only if it belongs to root,
# the caller or the service user (SO_PEERCRED): against a squatter running
# as nobody it refuses, naming the uid, and prints none of its bytes. From a
# trusted end, control characters (a terminal escape) are shown as '?'. A
# user the daemon refuses is told so, with a non-zero exit.
. "$(dirname "$0")/lib.sh"

id nobody >/dev/null 2>&1 || skip "no user 'nobody' to squat as"
two_hosts
ESC=$'\033'
NOBODY="--reuid=$(id -u nobody) --regid=$(id -g nobody) --clear-groups"
# The tools, where an unprivileged user may run them.
TMPD=$(mktemp -d /tmp/lwtt-squat.XXXXXX)
at_exit 'rm -rf "$TMPD"' 
cp "$TOOLS/lwt-squat" "$CTL" "$TMPD/"
chmod 1777 "$TMPD"
squat() { # squat NS SETPRIV_ARGS NAME TEXT: sets SQ_PID
	rm -f "$TMPD/ready"
	# shellcheck disable=SC2086
	nsbg "$1" setpriv $2 "$TMPD/lwt-squat" "$3" "$4" "$TMPD/ready"
	SQ_PID=$BG_PID
	wait_for 5 "squatter holds @lwt/$3" test -f "$TMPD/ready"
}

say "a squatter running as nobody holds @lwt/lwts"
squat s "$NOBODY" lwts "${ESC}[2J${ESC}]0;owned${ESC}\\status: all fine"$'\n'
nsx s "$CTL" -i lwts status >"$LOGDIR/out1" 2>"$LOGDIR/err1" && fail "lwt-ctl trusted a squatter"
cat "$LOGDIR/err1"
grep -q "held by uid $(id -u nobody)" "$LOGDIR/err1" || fail "refusal does not name the squatter's uid"
grep -q "all fine" "$LOGDIR/out1" "$LOGDIR/err1" && fail "lwt-ctl printed the squatter's answer"
stop "$SQ_PID"

say "from a trusted end, control characters are shown as '?'"
squat s "--reuid=0 --regid=0 --keep-groups" lwts "${ESC}[2Jstatus: all fine"$'\x07\n'
nsx s "$CTL" -i lwts status >"$LOGDIR/out2" 2>&1 || fail "lwt-ctl refused a root-owned end"
cat -A "$LOGDIR/out2"
grep -q "$ESC" "$LOGDIR/out2" && fail "an escape character reached the terminal"
grep -q $'\x07' "$LOGDIR/out2" && fail "a bell reached the terminal"
grep -qx '?\[2Jstatus: all fine?' "$LOGDIR/out2" || fail "answer not shown with '?' for control characters"
stop "$SQ_PID"

say "a user the daemon refuses gets an error and a non-zero exit"
start_server
wait_for 10 "server control socket" ctl s lwts status
# shellcheck disable=SC2086
nsx s setpriv $NOBODY "$TMPD/lwt-ctl" -i lwts status >"$LOGDIR/out3" 2>&1 &&
	fail "lwt-ctl as nobody exited 0"
cat "$LOGDIR/out3"
grep -q "permission denied" "$LOGDIR/out3" || fail "refused user not told why"
stop "$server_PID"
say PASS
