#!/bin/bash
# SPDX-License-Identifier: MIT
# The same client back on a new flow while the server still holds its old
# session (the client timed out first): the server answers its HELLO but,
# the tunnel IP being routed to the old session, holds the new keys. At the
# CONFIRM it does not believe the client id (anyone with the key can copy
# it): it starts to probe the old session under its keys, and the new flow
# waits, confirmed, keys held, no route. The client's RESUME, in the segment
# of its CONFIRM, proves that it held the old session's keys
# (docs/PROTOCOL.md "Resumption"): the server drops the old flow at once
# ("resumed ... proved its session"), installs the new keys, and the
# client's traffic flows, both ways, in one session. (Without a RESUME the
# probe decides after 2 s: 23_id_takeover.) The client, up on its side
# since its CONFIRM, does not time out meanwhile.
. "$(dirname "$0")/lib.sh"

# A router between the two, where the server's segments to the client are
# dropped for a while (on the hosts, XDP takes segments before netfilter).
routed_hosts
cat >"$LOGDIR/server.json" <<JSON
{ "mode": "server", "local_addr": "10.97.2.2:9000", "tunnel_addr": "10.0.0.1/24",
  "key": "$KEY", "tun_name": "lwts", "keepalive": 1, "timeout": 60 }
JSON
cat >"$LOGDIR/client.json" <<JSON
{ "mode": "client", "remote_addr": "10.97.2.2:9000", "tunnel_addr": "10.0.0.2/24",
  "key": "$KEY", "tun_name": "lwtc", "keepalive": 1, "timeout": 2 }
JSON
chmod 600 "$LOGDIR"/*.json
start server s -c "$LOGDIR/server.json"
start client c -c "$LOGDIR/client.json"
wait_for 10 "session up" sessions_up c lwtc
sid0=$(jget s lwts '.peers[0].session_id')
cid=$(grep -o 'client id [0-9a-f]*' "$LOGDIR/client.log" | awk '{print $3}')
[ -n "$cid" ] || fail "the client did not log its client id"

say "the server's segments to the client dropped at the router"
nsx r nft add table ip cut
nsx r nft add chain ip cut s2c '{ type filter hook forward priority 0; }'
nsx r nft add rule ip cut s2c ip saddr 10.97.2.2 ip daddr 10.97.1.2 drop
wait_for 10 "client times out" grep -q "connection to server 10.97.2.2:9000: silent for 2 s" "$LOGDIR/client.log"
[ "$(jget s lwts .sessions)" -eq 1 ] || fail "the server should still hold the old session"
nsx r nft delete table ip cut

wait_for 15 "client back" sh -c "[ \$(grep -c 'connected to server' '$LOGDIR/client.log') -ge 2 ]"
grep 'connected to server' "$LOGDIR/client.log"
[ "$(grep -o 'client id [0-9a-f]*' "$LOGDIR/client.log" | sort -u | wc -l)" -eq 1 ] ||
	fail "the client came back with another client id (test premise)"
wait_for 5 "server probed the old flow" grep -q "peer 10.97.1.2:[0-9]*: claims client 10.0.0.2, held by the session from 10.97.1.2:[0-9]*: probing" "$LOGDIR/server.log"
wait_for 5 "server replaced the old flow" grep -q "client 10.0.0.2 resumed from 10.97.1.2:[0-9]* (proved its session $sid0); dropping its old flow 10.97.1.2:[0-9]*" "$LOGDIR/server.log"
grep -q "no answer to a probe" "$LOGDIR/server.log" && fail "the server waited for the probe despite the RESUME"
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "client cannot reach the server after coming back"
nsx s ping -c 5 -i 0.1 -W 1 -q 10.0.0.2 | grep -q ' 0% packet loss' || fail "server cannot reach the client after it came back"
[ "$(jget s lwts .sessions)" -eq 1 ] || fail "server should hold exactly one session, holds $(jget s lwts .sessions)"
sid1=$(jget s lwts '.peers[0].session_id')
[ "$sid1" != "$sid0" ] || fail "the server kept the old session $sid0"
[ "$(jget s lwts .handshakes_ok)" -eq 2 ] || fail "server counted $(jget s lwts .handshakes_ok) handshakes, want 2"
[ "$(jget s lwts .handshakes_failed)" -eq 0 ] || fail "server counted a failed handshake"
[ "$(jget s lwts .takeovers)" -eq 1 ] || fail "server counted $(jget s lwts .takeovers) takeovers, want 1"
[ "$(jget s lwts .resumes)" -eq 1 ] || fail "server counted $(jget s lwts .resumes) resumes, want 1"
[ "$(jget s lwts .resumes_refused)" -eq 0 ] || fail "server refused a RESUME"
say PASS
