#!/bin/bash
# SPDX-License-Identifier: MIT
# Log shapes. A daemon whose stderr is the journal's stream (JOURNAL_STREAM
# = its stderr's dev:ino, as systemd sets it) writes "<6>..." lines
# (sd-daemon priorities) without a timestamp; one writing to a file writes
# dated lines, also when JOURNAL_STREAM names another file. -log-level debug
# shows lwt's debug lines but none of libbpf's; -log-level trace adds them.
. "$(dirname "$0")/lib.sh"

unset JOURNAL_STREAM
two_hosts
DATED='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (error|warn |info |debug|trace) '

say "server: stderr is the journal stream, debug; client: JOURNAL_STREAM names another file"
: >"$LOGDIR/server.log"
: >"$LOGDIR/other"
js=$(stat -c '%d:%i' "$LOGDIR/server.log")
other=$(stat -c '%d:%i' "$LOGDIR/other")
say "JOURNAL_STREAM $js for the server, $other for the client"
JOURNAL_STREAM=$js start_server -log-level debug
JOURNAL_STREAM=$other start_client
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
path=$(jget c lwtc .path)
stop "$client_PID"
stop "$server_PID"

say "journal shape"
grep -q '^<6>lightweight-tunnel (lwt) .* starting as server$' "$LOGDIR/server.log" ||
	fail "no <6> start line in the server's log"
grep -q '^<4>key: given with -k' "$LOGDIR/server.log" || fail "the -k warning is not <4>"
grep -q '^<6>client 10.0.0.2 connected' "$LOGDIR/server.log" || fail "no <6> connect line"
bad=$(grep -Ev '^<[3467]>' "$LOGDIR/server.log" || true)
[ -z "$bad" ] || fail "server lines without a priority prefix: $(head -3 <<<"$bad")"
grep -Eq '[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}' "$LOGDIR/server.log" &&
	fail "a timestamp in journal lines: $(grep -E '[0-9]{2}:[0-9]{2}:[0-9]{2}\.' "$LOGDIR/server.log" | head -1)"

say "dated shape"
bad=$(grep -Ev "$DATED" "$LOGDIR/client.log" || true)
[ -z "$bad" ] || fail "client lines not dated: $(head -3 <<<"$bad")"
grep -q '^<' "$LOGDIR/client.log" && fail "a priority prefix in the client's file log"
grep -Eq "${DATED}connected to server" "$LOGDIR/client.log" || fail "no dated connect line"

say "debug: lwt's own debug lines, none of libbpf's"
grep -q '^<7>peer 10.99.0.2:[0-9]*: SYN accepted$' "$LOGDIR/server.log" ||
	fail "no <7> debug line at -log-level debug"
grep -q 'libbpf: \|libxdp: ' "$LOGDIR/server.log" &&
	fail "libbpf lines at -log-level debug: $(grep -m1 'libbpf: \|libxdp: ' "$LOGDIR/server.log")"

if [ "$path" != af-xdp ]; then
	say "data path $path loads no BPF: libbpf's trace lines not checked"
else
	say "trace: libbpf's debug lines too, at trace"
	start_server
	start_client -log-level trace
	wait_for 10 "client session up" sessions_up c lwtc
	stop "$client_PID"
	stop "$server_PID"
	n=$(grep -Ec "${DATED/(error|warn |info |debug|trace)/trace}libbpf: " "$LOGDIR/client.log" || true)
	say "$n libbpf lines at trace"
	[ "$n" -gt 10 ] || fail "only $n libbpf lines at -log-level trace"
	grep -q ' info  libbpf: \| debug libbpf: ' "$LOGDIR/client.log" &&
		fail "libbpf debug lines under another level"
fi
say "ok"
