#!/bin/bash
# SPDX-License-Identifier: MIT
# The server's client limit. With max_clients 2, a third client is refused
# with the "server full" reason (logged on both sides, a failed handshake
# counted) while the two in keep their sessions and their traffic; once one
# leaves, the third gets in at its next try. With multi_client=false the
# second client is refused the same way.
. "$(dirname "$0")/lib.sh"

lan_switch
NH=0
# host NS: the next LAN address, 10.98.0.(NH+1)/24.
host() { NH=$((NH + 1)); lan_host "$1" "10.98.0.$NH/24"; }
# srv and cli empty the log first: start truncates it in the background, and
# a wait on it must never read the previous run's.
srv() { : >"$LOGDIR/server.log"; start server s -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
# cli NS TUNNEL_IP: a client named after its namespace.
cli() { local ns=$1 ip=$2; shift 2; : >"$LOGDIR/$ns.log"; start "$ns" "$ns" -m client -r 10.98.0.1:9000 -t "$ip/24" -k "$KEY" -tun-name lwtc "$@"; }
ping_ok() { nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" | grep -q ' 0% packet loss'; }
# ping_none NS DST: three echo requests go out, none is answered (ping's
# status 1: no reply; 2 would be an error before sending).
ping_none() {
	local out rc=0
	out=$(nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" 2>&1) || rc=$?
	printf "%s\n" "$out" >&2
	[ $rc = 1 ] && grep -q "3 packets transmitted, 0 received" <<<"$out"
}
nsessions() { jget "$1" "$2" .sessions; }
# sid_of TUNNEL_IP: the server's session id for that client ("none").
sid_of() { jget s lwts "[.peers[] | select(.state == \"up\" and .tunnel_ip == \"$1\") | .session_id][0] // \"none\""; }

host s
for i in 1 2 3; do host "c$i"; done

say "max_clients 2: a third client is refused, the two in are untouched"
srv -max-clients 2
cli c1 10.0.0.11
cli c2 10.0.0.12
wait_for 10 "c1 up" sessions_up c1 lwtc
wait_for 10 "c2 up" sessions_up c2 lwtc
wait_for 5 "two sessions on the server" sessions_up s lwts 2
sid1=$(sid_of 10.0.0.11)
sid2=$(sid_of 10.0.0.12)
failed0=$(jget s lwts .handshakes_failed)
ok0=$(jget s lwts .handshakes_ok)
cli c3 10.0.0.13
wait_for 10 "c3 told the server is full" grep -q "rejected the handshake: server full" "$LOGDIR/c3.log"
grep -q "refused: server full (2 clients)" "$LOGDIR/server.log" || fail "the server did not log why it refused c3"
[ "$(nsessions s lwts)" = 2 ] || fail "server sessions $(nsessions s lwts) after refusing c3, expected 2"
[ "$(nsessions c3 lwtc)" = 0 ] || fail "c3 has a session"
[ "$(jget s lwts .handshakes_failed)" -gt "$failed0" ] || fail "the refusal was not counted as a failed handshake"
[ "$(jget s lwts .handshakes_ok)" = "$ok0" ] || fail "the server counted a handshake while full"
ping_ok c1 10.0.0.12 || fail "c1 -> c2 while c3 is refused"
ping_ok c2 10.0.0.1 || fail "c2 -> server while c3 is refused"
ping_ok s 10.0.0.11 || fail "server -> c1 while c3 is refused"
[ "$(sid_of 10.0.0.11)" = "$sid1" ] || fail "c1's session changed: $sid1 -> $(sid_of 10.0.0.11)"
[ "$(sid_of 10.0.0.12)" = "$sid2" ] || fail "c2's session changed: $sid2 -> $(sid_of 10.0.0.12)"
[ "$(jget c1 lwtc .reconnects)" = 0 ] || fail "c1 reconnected"
[ "$(jget c2 lwtc .reconnects)" = 0 ] || fail "c2 reconnected"
ping_none c3 10.0.0.1 || fail "c3 reached the server without a session"
say "c3 refused: $(grep -m1 'rejected the handshake' "$LOGDIR/c3.log" | cut -d' ' -f3-)"

say "c2 leaves: c3 gets its place at its next try"
stop "$c2_PID"
# (c3 may take the place within the same 100 ms: the log, not the count)
wait_for 5 "server saw c2 leave" grep -q "client 10.0.0.12 (10.98.0.3:[0-9]*) disconnected" "$LOGDIR/server.log"
wait_for 40 "c3 up" sessions_up c3 lwtc
wait_for 5 "two sessions on the server" sessions_up s lwts 2
ping_ok c3 10.0.0.11 || fail "c3 -> c1 once admitted"
[ "$(sid_of 10.0.0.11)" = "$sid1" ] || fail "c1's session changed when c3 came in"
stop "$c3_PID"
stop "$c1_PID"
stop "$server_PID"

say "multi_client=false: a second client is refused, the first is untouched"
srv -multi-client=false
cli c1 10.0.0.11
wait_for 10 "c1 up" sessions_up c1 lwtc
wait_for 5 "one session on the server" sessions_up s lwts 1
sid1=$(sid_of 10.0.0.11)
cli c2 10.0.0.12
wait_for 10 "c2 told the server is full" grep -q "rejected the handshake: server full" "$LOGDIR/c2.log"
grep -q "refused: server full (1 clients)" "$LOGDIR/server.log" || fail "the server did not log why it refused c2"
[ "$(nsessions s lwts)" = 1 ] || fail "server sessions $(nsessions s lwts) after refusing c2, expected 1"
[ "$(nsessions c2 lwtc)" = 0 ] || fail "c2 has a session"
ping_ok c1 10.0.0.1 || fail "c1 -> server while c2 is refused"
ping_ok s 10.0.0.11 || fail "server -> c1 while c2 is refused"
ping_none c2 10.0.0.1 || fail "c2 reached the server without a session"
[ "$(sid_of 10.0.0.11)" = "$sid1" ] || fail "c1's session changed: $sid1 -> $(sid_of 10.0.0.11)"
[ "$(jget c1 lwtc .reconnects)" = 0 ] || fail "c1 reconnected"
stop "$c2_PID"
stop "$c1_PID"
stop "$server_PID"
for n in s c1 c2 c3; do assert_no_rule "$n"; done
say PASS
