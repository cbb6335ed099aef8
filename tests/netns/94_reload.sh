#!/bin/bash
# SPDX-License-Identifier: MIT
# Reload: a server (and a client) started with -c re-reads its file on SIGHUP and on
# `lwt-ctl reload` without dropping a session (same session ids, pings
# across each reload lose nothing). Applied at run time: routes (the
# server's own network appears at the clients, and goes again),
# allowed_routes (a client's route refused before is accepted at its next
# advert; withdrawn when no longer allowed), log_level (debug lines
# appear), client_isolation (clients stop reaching each other, the drops
# are counted), fec_parity (live sessions send less parity), max_clients (a
# third client is refused, the two live ones stay; raised again, it gets
# in). A changed tunnel_addr is named in one log line and not applied. A
# broken file is reported (lwt-ctl exit 1 with the error, an error logged)
# and changes nothing.
. "$(dirname "$0")/lib.sh"

lan_switch
NH=0
host() { NH=$((NH + 1)); lan_host "$1" "10.98.0.$NH/24"; }
cli() { local n=$1 ip=$2; shift 2; : >"$LOGDIR/$n.log"; start "$n" "$n" -m client -r 10.98.0.1:9000 -t "$ip/24" -k "$KEY" -tun-name lwtc "$@"; }
ping_ok() { nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" | grep -q ' 0% packet loss'; }
ping_none() {
	local out rc=0
	out=$(nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" 2>&1) || rc=$?
	printf '%s\n' "$out" >&2
	[ $rc = 1 ] && grep -q "3 packets transmitted, 0 received" <<<"$out"
}
sid_of() { jget s lwts "[.peers[] | select(.state == \"up\" and .tunnel_ip == \"$1\") | .session_id][0] // \"none\""; }
parity_of() { jget s lwts "[.peers[] | select(.state == \"up\" and .tunnel_ip == \"$1\") | .fec.parity_now][0] // -1"; }
# server_cfg JSON_EXTRA: the server's file, the fixed keys plus these.
server_cfg() {
	cat >"$LOGDIR/server.json" <<EOF
{ "mode": "server", "local_addr": "10.98.0.1:9000", "key": "$KEY", "tun_name": "lwts",
  "fec_data": 10, "fec_adaptive": false, $1 }
EOF
	chmod 600 "$LOGDIR/server.json"
}
# bg_ping NS DST: 40 pings over 2 s in the background, returning once
# the fifth is answered (so the reload that follows falls inside them);
# ping_done waits for them and fails unless every one was answered.
bg_ping() {
	: >"$LOGDIR/ping.txt"
	nsbg "$1" ping -n -c 40 -i 0.05 -W 1 "$2" >"$LOGDIR/ping.txt" 2>&1
	PING_PID=$BG_PID
	wait_for 5 "pings answered" grep -q "icmp_seq=5 " "$LOGDIR/ping.txt"
}
ping_done() {
	wait "$PING_PID" || true
	tail -n 3 "$LOGDIR/ping.txt"
	grep -q '40 packets transmitted, 40 received, 0% packet loss' "$LOGDIR/ping.txt" ||
		fail "pings lost across the $1"
}
in_log() { grep -q -- "$1" "$LOGDIR/server.log"; }

host s
host a
host b
host c
server_cfg '"tunnel_addr": "10.0.0.1/24", "max_clients": 3, "allowed_routes": ["192.168.0.0/16"],
  "log_level": "info", "fec_parity": 3'
: >"$LOGDIR/server.log"
start server s -c "$LOGDIR/server.json"
# Client a takes its routes from a file, to reload them.
echo '{ "routes": ["172.16.5.0/24"] }' >"$LOGDIR/a.json"
chmod 600 "$LOGDIR/a.json"
cli a 10.0.0.11 -c "$LOGDIR/a.json" -route-update 1
cli b 10.0.0.12
wait_for 10 "client a up" sessions_up a lwtc
wait_for 10 "client b up" sessions_up b lwtc
wait_for 5 "two sessions on the server" sessions_up s lwts 2
wait_for 5 "a's 172.16.5.0/24 refused (not allowed yet)" in_log "advertised 172.16.5.0/24: refused"
sid_a=$(sid_of 10.0.0.11)
sid_b=$(sid_of 10.0.0.12)
ping_ok a 10.0.0.12 || fail "a -> b before the reload"
wait_for 5 "parity 3 before the reload" test "$(parity_of 10.0.0.11)" = 3
in_log "debug" && fail "debug lines at log_level info"

say "SIGHUP: allowed_routes, routes, log_level, client_isolation, fec_parity, max_clients; tunnel_addr is not applied"
server_cfg '"tunnel_addr": "10.0.0.1/16", "max_clients": 2,
  "allowed_routes": ["192.168.0.0/16"], "routes": ["192.168.77.0/24"],
  "log_level": "debug", "client_isolation": true, "fec_parity": 1'
bg_ping a 10.0.0.1
run kill -HUP "$server_PID"
wait_for 5 "reload logged" in_log "reload: reloaded"
ping_done "SIGHUP reload"
grep -- "reload:" "$LOGDIR/server.log"
in_log "reload: not changed at run time: tunnel_addr (restart to apply)" ||
	fail "the changed tunnel_addr is not named in one line"
[ "$(jget s lwts .reloads)" = 1 ] || fail "reloads counter"
[ "$(jget s lwts .tunnel_addr)" = 10.0.0.1/24 ] || fail "tunnel_addr changed at run time"
wait_for 5 "the server's new route at client a" sh -c \
	"ip netns exec $PFX-a ip route show 192.168.77.0/24 | grep -q 'dev lwtc'"
wait_for 5 "the server's new route at client b" sh -c \
	"ip netns exec $PFX-b ip route show 192.168.77.0/24 | grep -q 'dev lwtc'"
[ "$(jget s lwts .log_level)" = debug ] || fail "log_level not applied"
[ "$(jget s lwts .client_isolation)" = true ] || fail "client_isolation not applied"
iso0=$(jget s lwts .totals.drop_isolation)
ping_none a 10.0.0.12 || fail "a reaches b with client_isolation on"
[ "$(jget s lwts .totals.drop_isolation)" -gt "$iso0" ] || fail "no isolation drops counted"
wait_for 5 "a's session sends parity 1" test "$(parity_of 10.0.0.11)" = 1
[ "$(sid_of 10.0.0.11)" = "$sid_a" ] || fail "a's session changed across the reload"
[ "$(sid_of 10.0.0.12)" = "$sid_b" ] || fail "b's session changed across the reload"

say "max_clients 2: a third client is refused, the live two stay"
cli c 10.0.0.13
wait_for 10 "c refused: server full" in_log "refused: server full (2 clients)"
wait_for 5 "debug lines at log_level debug" in_log "debug"
[ "$(jget s lwts .sessions)" = 2 ] || fail "sessions on the server: $(jget s lwts .sessions)"

say "lwt-ctl reload: max_clients 3 lets c in, client_isolation off, 172.16.0.0/12 allowed, the server's route gone"
server_cfg '"tunnel_addr": "10.0.0.1/24", "max_clients": 3,
  "allowed_routes": ["192.168.0.0/16", "172.16.0.0/12"], "routes": [],
  "log_level": "debug", "client_isolation": false, "fec_parity": 1'
bg_ping b 10.0.0.1
out=$(ctl s lwts reload) || fail "lwt-ctl reload failed: $out"
echo "$out"
ping_done "lwt-ctl reload"
grep -q "applied routes, allowed_routes, max_clients, client_isolation" <<<"$out" ||
	fail "lwt-ctl reload answer: $out"
wait_for 5 "a's 172.16.5.0/24 accepted now (allowed_routes)" sh -c \
	"ip netns exec $PFX-s ip route show 172.16.5.0/24 | grep -q 'dev lwts'"
wait_for 5 "a's 172.16.5.0/24 at client b" sh -c \
	"ip netns exec $PFX-b ip route show 172.16.5.0/24 | grep -q 'dev lwtc'"
wait_for 5 "the server's route gone at client a" sh -c \
	"! ip netns exec $PFX-a ip route show 192.168.77.0/24 | grep -q ."
wait_for 5 "the server's route gone at client b" sh -c \
	"! ip netns exec $PFX-b ip route show 192.168.77.0/24 | grep -q ."
wait_for 15 "c connects" sessions_up c lwtc
ping_ok a 10.0.0.12 || fail "a -> b after client_isolation went off"

say "a client reloads its routes: 172.16.6.0/24 replaces 172.16.5.0/24 at the server and at b"
echo '{ "routes": ["172.16.6.0/24"] }' >"$LOGDIR/a.json"
ctl a lwtc reload | grep -q "applied routes" || fail "client reload"
wait_for 5 "a's new route at the server" sh -c \
	"ip netns exec $PFX-s ip route show 172.16.6.0/24 | grep -q 'dev lwts'"
wait_for 5 "a's new route at client b" sh -c \
	"ip netns exec $PFX-b ip route show 172.16.6.0/24 | grep -q 'dev lwtc'"
wait_for 5 "a's old route gone at the server" sh -c \
	"! ip netns exec $PFX-s ip route show 172.16.5.0/24 | grep -q ."
[ "$(jget a lwtc '.peers[0].session_id')" = "$sid_a" ] || fail "a's session changed with its reload"

say "lwt-ctl reload: 172.16.0.0/12 no longer allowed, a's route withdrawn"
server_cfg '"tunnel_addr": "10.0.0.1/24", "max_clients": 3,
  "allowed_routes": ["192.168.0.0/16"], "log_level": "debug", "fec_parity": 1'
ctl s lwts reload || fail "lwt-ctl reload failed"
wait_for 5 "a's route gone at the server" sh -c \
	"! ip netns exec $PFX-s ip route show 172.16.6.0/24 | grep -q ."
wait_for 5 "a's route gone at client b" sh -c \
	"! ip netns exec $PFX-b ip route show 172.16.6.0/24 | grep -q ."
in_log "routes: 172.16.6.0/24 withdrawn after reload: not in the server's allowed_routes" ||
	fail "the withdrawal is not logged"

say "a broken file: reported, nothing changes"
echo '{ "mode": "server", "max_clients": 1, ' >"$LOGDIR/server.json"
set +e
out=$(ctl s lwts reload 2>&1)
rc=$?
set -e
echo "lwt-ctl reload -> $rc: $out"
[ $rc = 1 ] || fail "lwt-ctl reload of a broken file: exit $rc"
grep -q "error: reload: server.json.*not valid JSON" <<<"$out" || fail "the error is not reported: $out"
server_cfg '"tunnel_addr": "10.0.0.1/24", "max_clients": 1, "fec_data": "ten"'
run kill -HUP "$server_PID"
wait_for 5 "the second failure logged" sh -c "[ \$(grep -c 'still running on the previous config' '$LOGDIR/server.log') = 2 ]"
grep "still running on the previous config" "$LOGDIR/server.log"
kill -0 "$server_PID" || fail "the daemon died of a broken file"
[ "$(jget s lwts .reloads_failed)" = 2 ] || fail "reloads_failed"
[ "$(jget s lwts .reloads)" = 3 ] || fail "reloads"
[ "$(jget s lwts .max_clients)" = 3 ] || fail "max_clients changed by a broken file"
[ "$(jget s lwts .log_level)" = debug ] || fail "log_level changed by a broken file"
[ "$(jget s lwts .sessions)" = 3 ] || fail "sessions after the broken reloads"
[ "$(sid_of 10.0.0.11)" = "$sid_a" ] || fail "a's session changed"
[ "$(sid_of 10.0.0.12)" = "$sid_b" ] || fail "b's session changed"
ping_ok c 10.0.0.1 || fail "c -> server after the broken reloads"

say "a daemon without -c: reload says there is nothing to re-read"
stop "$c_PID"
stop "$b_PID"
stop "$a_PID"
stop "$server_PID"
: >"$LOGDIR/server.log"
start server s -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
wait_for 5 "control socket" ctl s lwts status
set +e
out=$(ctl s lwts reload 2>&1)
rc=$?
set -e
[ $rc = 1 ] && grep -q "no config file" <<<"$out" || fail "reload without -c: $rc $out"
say PASS
