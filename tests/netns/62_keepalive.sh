#!/bin/bash
# SPDX-License-Identifier: MIT
# Keepalives hold an idle session: with keepalive 1 s and timeout 3 s, a
# tunnel that carries nothing for three timeouts (9 s) keeps the session it
# had: same session id on both sides, no reconnect, no new handshake, no
# timeout logged; keepalives went both ways, and traffic flows at the end.
# (Without keepalives both sides fall silent and the client reconnects
# every 3 s.)
. "$(dirname "$0")/lib.sh"

IDLE=9	# s: three timeouts

two_hosts
for side in server client; do
	if [ $side = server ]; then
		ends='"mode": "server", "local_addr": "10.99.0.1:9000", "tunnel_addr": "10.0.0.1/24", "tun_name": "lwts"'
	else
		ends='"mode": "client", "remote_addr": "10.99.0.1:9000", "tunnel_addr": "10.0.0.2/24", "tun_name": "lwtc"'
	fi
	cat >"$LOGDIR/$side.json" <<JSON
{ $ends, "key": "$KEY", "keepalive": 1, "timeout": 3 }
JSON
done
chmod 600 "$LOGDIR"/*.json
start server s -c "$LOGDIR/server.json"
start client c -c "$LOGDIR/client.json"
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
nsx c ping -c 3 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic before the idle period"

# sid NS TUN: the session id of the (one) session that is up.
sid() { jget "$1" "$2" '[.peers[] | select(.state == "up") | .session_id][0] // "none"'; }
# up_for NS TUN S: the session that is up has been up S seconds or more.
up_for() { jget "$1" "$2" "[.peers[] | select(.state == \"up\") | .up_s][0] // 0 | . >= $3" | grep -q true; }
# snap NS TUN: the counters compared before and after the idle period.
snap() {
	jget "$1" "$2" '[.handshakes_ok, .reconnects, .totals.keepalives_tx, .totals.keepalives_rx,
		.totals.tx_packets, .totals.rx_packets] | map(tostring) | join(" ")'
}

c_sid=$(sid c lwtc)
s_sid=$(sid s lwts)
[ "$c_sid" = "$s_sid" ] || fail "client session $c_sid, server session $s_sid"
read -r c_hs0 c_rc0 c_kat0 c_kar0 c_tx0 c_rx0 <<<"$(snap c lwtc)"
read -r s_hs0 _ s_kat0 s_kar0 s_tx0 s_rx0 <<<"$(snap s lwts)"
say "session $c_sid up; idle for $IDLE s (timeout 3 s, keepalive 1 s)"

# The idle period is measured by the session itself: it must reach
# IDLE seconds of age (a session that times out starts again at 0); the
# wait ends early once the client has counted a reconnect.
idle_over() { up_for c lwtc "$IDLE" || [ "$(jget c lwtc .reconnects)" != "$c_rc0" ]; }
up_for c lwtc "$IDLE" && fail "the session is already $IDLE s old (test premise)"
wait_for $((IDLE + 15)) "the session to be $IDLE s old" idle_over
ok=0
up_for c lwtc "$IDLE" && ok=1

read -r c_hs1 c_rc1 c_kat1 c_kar1 c_tx1 c_rx1 <<<"$(snap c lwtc)"
read -r s_hs1 _ s_kat1 s_kar1 s_tx1 s_rx1 <<<"$(snap s lwts)"
say "client: handshakes $c_hs0 -> $c_hs1, reconnects $c_rc0 -> $c_rc1, keepalives tx +$((c_kat1 - c_kat0)) rx +$((c_kar1 - c_kar0)), records tx +$((c_tx1 - c_tx0)) rx +$((c_rx1 - c_rx0))"
say "server: handshakes $s_hs0 -> $s_hs1, keepalives tx +$((s_kat1 - s_kat0)) rx +$((s_kar1 - s_kar0)), records tx +$((s_tx1 - s_tx0)) rx +$((s_rx1 - s_rx0))"
grep -q "silent for" "$LOGDIR/client.log" && fail "the client timed out an idle session: $(grep -m1 'silent for' "$LOGDIR/client.log")"
grep -q "timed out after" "$LOGDIR/server.log" && fail "the server timed out an idle session: $(grep -m1 'timed out after' "$LOGDIR/server.log")"
[ "$c_rc1" = "$c_rc0" ] || fail "the client reconnected while idle ($c_rc0 -> $c_rc1)"
[ "$c_hs1" = "$c_hs0" ] || fail "the client made a new handshake while idle ($c_hs0 -> $c_hs1)"
[ "$s_hs1" = "$s_hs0" ] || fail "the server took a new handshake while idle ($s_hs0 -> $s_hs1)"
[ "$(sid c lwtc)" = "$c_sid" ] || fail "the client's session changed: $c_sid -> $(sid c lwtc)"
[ "$(sid s lwts)" = "$s_sid" ] || fail "the server's session changed: $s_sid -> $(sid s lwts)"
[ $ok = 1 ] || fail "the session did not stay up for $IDLE s"
# Both ways, one a second each (counted with a wide margin: 9 s gives ~9);
# the client initiates its own and answers the server's, and so does the
# server. Nothing but keepalives went over the tunnel (a route advert of
# the client, every 30 s, may fall in the window).
for v in $((c_kat1 - c_kat0)) $((c_kar1 - c_kar0)) $((s_kat1 - s_kat0)) $((s_kar1 - s_kar0)); do
	[ "$v" -ge 5 ] || fail "too few keepalives in $IDLE s ($v)"
done
[ $((c_tx1 - c_tx0 - (c_kat1 - c_kat0))) -le 1 ] || fail "the client sent data while idle (test premise)"
[ $((s_tx1 - s_tx0 - (s_kat1 - s_kat0))) -le 1 ] || fail "the server sent data while idle (test premise)"

say "traffic after the idle period"
nsx c ping -c 3 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after the idle period"
nsx s ping -c 3 -i 0.1 -W 1 -q 10.0.0.2 | grep -q ' 0% packet loss' || fail "server cannot reach the client after the idle period"
[ "$(sid c lwtc)" = "$c_sid" ] || fail "the session changed after the idle period"
stop "$client_PID"
stop "$server_PID"
assert_no_rule s
assert_no_rule c
say PASS
