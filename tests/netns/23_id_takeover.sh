#!/bin/bash
# SPDX-License-Identifier: MIT
# The client id travels in clear in the HELLO: a holder of the key who
# copies a victim's client id and tunnel IP must not take its session. The
# server probes the live session under its own keys first; it answers, so
# the newcomer is refused with REJECT(9) "client id in use by a live
# session" and the victim's session (same session id) keeps its traffic
# without a loss, busy or idle. Once the victim is really dead (kill -9), a
# client with its id comes back: the probe finds no answer and it takes
# over within seconds, long before the server's timeout.
. "$(dirname "$0")/lib.sh"

lan_switch
lan_host s 10.98.0.1/24
lan_host v 10.98.0.2/24
lan_host a 10.98.0.3/24
CID=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
# Keepalives rare on both sides and no IPv6 on the victim (no router
# solicitations or MLD reports through its TUN): an idle session sends
# nothing by itself during a probe, so only the probe's own keepalive can
# draw its answer.
nsx v sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
echo '{ "keepalive": 30, "timeout": 90 }' >"$LOGDIR/ka.json"
cli() { local name=$1 n=$2; shift 2; start "$name" "$n" -c "$LOGDIR/ka.json" -m client -r 10.98.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc -client-id "$CID" "$@"; }
# up_for IP: the server's sessions up for that tunnel IP, "endpoint session_id" each.
up_for() { jget s lwts ".peers[] | select(.state == \"up\" and .tunnel_ip == \"$1\") | \"\\(.endpoint) \\(.session_id)\""; }

start server s -c "$LOGDIR/ka.json" -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
cli victim v
wait_for 10 "victim up" sessions_up v lwtc
grep -q "client id $CID" "$LOGDIR/victim.log" || fail "the victim does not use the client id it was given"
nsx v ping -c 3 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "victim's tunnel does not work"
before=$(up_for 10.0.0.2)
say "victim's session: $before"
case "$before" in 10.98.0.2:*) ;; *) fail "no session of the victim at the server" ;; esac

say "traffic flows while an attacker with the key claims the victim's id and tunnel IP"
# 8 s of pings: the attacker is told ~5 s in (a client acts on a REJECT
# at its handshake timeout); that they still run then is checked below.
nsbg v ping -n -i 0.1 -c 80 -W 1 10.0.0.1 >"$LOGDIR/ping.txt" 2>&1
PING_PID=$BG_PID
cli attacker a
wait_for 15 "attacker refused" grep -q "server 10.98.0.1:9000 refused the session: client id in use by a live session" "$LOGDIR/attacker.log"
kill -0 "$PING_PID" 2>/dev/null || fail "the ping ended before the attacker was refused (test premise)"
grep "refused the session" "$LOGDIR/attacker.log"
grep -q "REJECT (client id in use by a live session)" "$LOGDIR/attacker.log" || fail "attacker did not log REJECT(9)"
grep -E "peer 10.98.0.3:[0-9]+: refused: client id $CID of client 10.0.0.2 is in use by the live session from 10.98.0.2:[0-9]+" "$LOGDIR/server.log" ||
	fail "server did not log the refusal naming both endpoints"
grep -q "reconnected from 10.98.0.3" "$LOGDIR/server.log" && fail "the server let the attacker take over"
stop "$attacker_PID"
after=$(up_for 10.0.0.2)
[ "$after" = "$before" ] || fail "the victim's session changed: was '$before', now '$after'"
[ "$(jget s lwts .sessions)" = 1 ] || fail "server holds $(jget s lwts .sessions) sessions, want 1"
wait "$PING_PID" || true
STOPPED[$PING_PID]=1
tail -3 "$LOGDIR/ping.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping.txt" || fail "the victim lost packets while the attacker was refused"
[ "$(up_for 10.0.0.2)" = "$before" ] || fail "the victim's session changed after the ping"

say "again with the victim idle: the probe's own keepalive is answered"
# Idle: after the ping, the victim's last loss report (once a second while
# records come) is sent; then nothing for longer than a probe.
vrx() { jget s lwts '.peers[] | select(.state == "up") | .rx_packets'; }
quiet() { local n; n=$(vrx); sleep 2.5; [ "$(vrx)" = "$n" ]; }
wait_for 15 "victim idle" quiet
cli attacker2 a
wait_for 15 "attacker refused again" grep -q "server 10.98.0.1:9000 refused the session: client id in use" "$LOGDIR/attacker2.log"
stop "$attacker2_PID"
[ "$(grep -c "refused: client id $CID of client 10.0.0.2 is in use by the live session" "$LOGDIR/server.log")" = 2 ] ||
	fail "server did not refuse the second claim"
[ "$(up_for 10.0.0.2)" = "$before" ] || fail "the victim's session changed after the idle probe"
nsx v ping -c 3 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "victim's tunnel broken after the idle probe"
[ "$(jget s lwts '"\(.takeover_probes) \(.takeovers_refused) \(.takeovers)"')" = "2 2 0" ] ||
	fail "server counted probes/refused/takeovers $(jget s lwts '"\(.takeover_probes) \(.takeovers_refused) \(.takeovers)"'), want 2 2 0"

say "the victim dies for real; its client id comes back and takes over after a failed probe"
kill9 "$victim_PID"
t0=$(date +%s%N)
cli back a
# The client is up on its side at once; the server only after the probe.
wait_for 10 "old session dropped after a failed probe" grep -Eq "client 10.0.0.2 reconnected from 10.98.0.3:[0-9]+; dropping its old flow 10.98.0.2:[0-9]+ \(no answer to a probe\)" "$LOGDIR/server.log"
say "took over $(( ($(date +%s%N) - t0) / 1000000 )) ms after the start (server timeout: 90 s)"
nsx a ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "the returning client cannot reach the server"
now=$(up_for 10.0.0.2)
case "$now" in 10.98.0.3:*) ;; *) fail "server's session for 10.0.0.2 is '$now', want the returning client's" ;; esac
[ "$(jget s lwts .sessions)" = 1 ] || fail "server holds $(jget s lwts .sessions) sessions, want 1"
[ "$(jget s lwts '"\(.takeover_probes) \(.takeovers_refused) \(.takeovers)"')" = "3 2 1" ] ||
	fail "server counted probes/refused/takeovers $(jget s lwts '"\(.takeover_probes) \(.takeovers_refused) \(.takeovers)"'), want 3 2 1"
say PASS
