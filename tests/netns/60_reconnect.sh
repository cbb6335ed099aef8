#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 the server (its firewall rule leaks), start it again: the stale
# rule is cleaned, and the client is back without a restart; packets sent
# meanwhile wait in the queue. Kill -9 the client: the server drops the dead
# session after `timeout`.
. "$(dirname "$0")/lib.sh"

two_hosts
cat >"$LOGDIR/server.json" <<JSON
{ "mode": "server", "local_addr": "10.99.0.1:9000", "tunnel_addr": "10.0.0.1/24",
  "key": "$KEY", "tun_name": "lwts", "keepalive": 1, "timeout": 3 }
JSON
cat >"$LOGDIR/client.json" <<JSON
{ "mode": "client", "remote_addr": "10.99.0.1:9000", "tunnel_addr": "10.0.0.2/24",
  "key": "$KEY", "tun_name": "lwtc", "keepalive": 1, "timeout": 3 }
JSON
chmod 600 "$LOGDIR"/*.json
start server s -c "$LOGDIR/server.json"
start client c -c "$LOGDIR/client.json"
wait_for 10 "session up" sessions_up c lwtc
run kill -9 "$server_PID"
wait "$server_PID" 2>/dev/null || true
nsx s nft list tables | grep -q 'lwt_lwts' || fail "expected the killed server's rule to remain (test premise)"
wait_for 5 "TUN of the killed server gone" sh -c "! ip -n $PFX-s link show lwts"
start server s -c "$LOGDIR/server.json"
wait_for 5 "server up" sh -c "ip netns exec $PFX-s $CTL -i lwts status >/dev/null"
[ "$(nsx s nft list tables | grep -c 'lwt_lwts')" -eq 1 ] || fail "stale rule not replaced"
wait_for 30 "client reconnected" sessions_up s lwts
wait_for 5 "client session up" sessions_up c lwtc
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after reconnect"
[ "$(jget c lwtc .reconnects)" -ge 1 ] || fail "client did not count the reconnect"

say "queued during reconnect"
run kill -9 "$server_PID"
wait "$server_PID" 2>/dev/null || true
wait_for 10 "client noticed" sh -c "[ \$(ip netns exec $PFX-c $CTL -i lwtc stats --json | jq .sessions) -eq 0 ]"
nsx c ping -c 3 -i 0.2 -W 0.2 10.0.0.1 >/dev/null 2>&1 || true  # queued while down
start server s -c "$LOGDIR/server.json"
wait_for 30 "client reconnected" sessions_up c lwtc
wait_for 5 "queued packet sent" grep -q "queued during (re)connect" "$LOGDIR/client.log"

say "server drops a dead client"
run kill -9 "$client_PID"
wait "$client_PID" 2>/dev/null || true
wait_for 10 "server dropped the session" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions) -eq 0 ]"
grep -q "timed out" "$LOGDIR/server.log" || fail "server did not log the timeout"
say PASS
