#!/bin/bash
# SPDX-License-Identifier: MIT
# The server's client limit after churn. The server counts its sessions up
# as they come and go (user/slotlist.c) instead of counting them at each
# handshake; a way out that missed the count would leave it too high (the
# server refuses clients early: a client that leaves can no longer come
# back) or too low (it takes one too many). With max_clients 3, three
# clients fill the server and a fourth is refused; then each way a session
# ends is taken once, the client coming back each time into the place it
# left: taken over (kill -9, back with the same client id: the old session
# fails its probe), timed out (SIGSTOP until the server's timeout), closed
# (SIGTERM: CLOSE), and a reload between. Afterwards exactly three fit
# again: the fourth is still refused as "server full (3 clients)", and gets
# in once one client leaves.
. "$(dirname "$0")/lib.sh"

lan_switch
lan_host s 10.98.0.1/24
for i in 1 2 3 4; do lan_host "c$i" "10.98.0.$((i + 1))/24"; done
echo '{ "keepalive": 1, "timeout": 6 }' >"$LOGDIR/srv.json"
echo '{ "keepalive": 1, "timeout": 30 }' >"$LOGDIR/cli.json"
start server s -c "$LOGDIR/srv.json" -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" \
	-tun-name lwts -max-clients 3
# cli N: client cN, tunnel IP 10.0.0.1N, client id N (the same at each start).
cli() { : >"$LOGDIR/c$1.log"; start "c$1" "c$1" -c "$LOGDIR/cli.json" -m client -r 10.98.0.1:9000 -t "10.0.0.1$1/24" \
	-k "$KEY" -tun-name lwtc -client-id "c0ffee000000000$1"; }
pid() { local v="c$1_PID"; echo "${!v}"; }
nsessions() { jget s lwts .sessions; }
sessions_are() { [ "$(nsessions)" = "$1" ]; }
up_from() { jget s lwts "[.peers[] | select(.state == \"up\" and .tunnel_ip == \"10.0.0.1$1\") | .endpoint][0] // \"none\""; }
ping_ok() { nsx "c$1" ping -c 3 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss'; }
full_refusals() { grep -c "refused: server full (3 clients)" "$LOGDIR/server.log" || true; }

say "three clients fill the server; a fourth is refused"
for i in 1 2 3; do cli "$i"; done
for i in 1 2 3; do wait_for 10 "c$i up" sessions_up "c$i" lwtc; done
wait_for 5 "three sessions on the server" sessions_are 3
cli 4
wait_for 10 "c4 told the server is full" grep -q "rejected the handshake: server full" "$LOGDIR/c4.log"
stop "$(pid 4)"
refused0=$(full_refusals)

say "taken over: c1 dies (kill -9) and comes back with its client id"
old=$(up_from 1)
kill9 "$(pid 1)"
cli 1
wait_for 10 "c1's old session taken over" grep -Eq "client 10.0.0.11 reconnected from 10.98.0.2:[0-9]+; dropping its old flow $old" "$LOGDIR/server.log"
wait_for 10 "c1 up again" sessions_up c1 lwtc
wait_for 5 "three sessions" sessions_are 3
ping_ok 1 || fail "c1 -> server after the takeover"

say "timed out: c2 stops answering until the server's timeout, then comes back"
kill -STOP "$(pid 2)"
wait_for 15 "c2 timed out at the server" grep -q "client 10.0.0.12 (10.98.0.3:[0-9]*) timed out after 6 s of silence" "$LOGDIR/server.log"
wait_for 5 "two sessions" sessions_are 2
kill9 "$(pid 2)"
cli 2
wait_for 10 "c2 up again" sessions_up c2 lwtc
wait_for 5 "three sessions" sessions_are 3
ping_ok 2 || fail "c2 -> server after its timeout"

say "a reload, then closed: c3 leaves with CLOSE and comes back"
nsx s "$CTL" -i lwts reload >&2 || fail "reload failed"
stop "$(pid 3)"
wait_for 5 "c3 gone at the server" grep -q "client 10.0.0.13 (10.98.0.4:[0-9]*) disconnected" "$LOGDIR/server.log"
cli 3
wait_for 10 "c3 up again" sessions_up c3 lwtc
wait_for 5 "three sessions" sessions_are 3
ping_ok 3 || fail "c3 -> server after it closed"
[ "$(full_refusals)" = "$refused0" ] || fail "the server refused a returning client as full"

say "exactly three fit: the fourth is refused, and gets in once c1 leaves"
cli 4
wait_for 10 "c4 refused again" grep -q "rejected the handshake: server full" "$LOGDIR/c4.log"
[ "$(full_refusals)" -gt "$refused0" ] || fail "the server did not log c4's refusal as server full (3 clients)"
sessions_are 3 || fail "server sessions $(nsessions) with c4 refused, want 3"
[ "$(jget c4 lwtc .sessions)" = 0 ] || fail "c4 has a session"
stop "$(pid 1)"
wait_for 15 "c4 up in c1's place" sessions_up c4 lwtc
wait_for 5 "three sessions" sessions_are 3
ping_ok 4 || fail "c4 -> server once admitted"
for i in 2 3 4; do stop "$(pid "$i")"; done
stop "$server_PID"
say PASS
