#!/bin/bash
# SPDX-License-Identifier: MIT
# Roaming over an IPv6 underlay: a client with two IPv6 uplinks to one
# router, the server behind it.
#
#   c --v-c-r  (fd97:1::2)-- r --(fd97:2::1)-- s (fd97:2::2, listens [::])
#   c --v-c-r2 (fd97:3::2)--/
#
# The default route leaves by the first uplink (metric 100), the other by
# the second (200); `timeout` is 60 s on both sides, so only roaming can
# explain a session that comes back within it. The first uplink goes down
# during pings: the client re-homes on the second at once (one "roaming:
# ... moved" line naming both IPv6 sources), a new session comes up within
# 10 s, the server sees the client at its new address, pings cross again.
. "$(dirname "$0")/lib.sh"

routed_hosts6
ip link add v-c-r2 netns "$PFX-c" type veth peer v-r-c2 netns "$PFX-r"
ip -n "$PFX-c" addr add fd97:3::2/64 dev v-c-r2 nodad
ip -n "$PFX-r" addr add fd97:3::1/64 dev v-r-c2 nodad
ip -n "$PFX-c" link set v-c-r2 up
ip -n "$PFX-r" link set v-r-c2 up
nsx c ip -6 route del default via fd97:1::1
nsx c ip -6 route add default via fd97:1::1 metric 100
nsx c ip -6 route add default via fd97:3::1 metric 200
cat >"$LOGDIR/server.json" <<JSON
{ "mode": "server", "local_addr": "[::]:9000", "tunnel_addr": "10.0.0.1/24",
  "key": "$KEY", "tun_name": "lwts", "keepalive": 1, "timeout": 60 }
JSON
cat >"$LOGDIR/client.json" <<JSON
{ "mode": "client", "remote_addr": "[fd97:2::2]:9000", "tunnel_addr": "10.0.0.2/24",
  "key": "$KEY", "tun_name": "lwtc", "keepalive": 1, "timeout": 60 }
JSON
chmod 600 "$LOGDIR"/*.json
start server s -c "$LOGDIR/server.json"
wait_for 5 "server listening" grep -q "listening on" "$LOGDIR/server.log"
start client c -c "$LOGDIR/client.json"
wait_for 10 "session up" sessions_up c lwtc
ep=$(jget s lwts '.peers[0].endpoint')
[[ "$ep" == "[fd97:1::2]:"* ]] || fail "server sees the client at $ep, expected [fd97:1::2]:port"
sid0=$(jget c lwtc '.peers[0].session_id')
nsx c ping -c 5 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no ping before"

say "the first uplink goes down"
nsx c ip link set v-c-r down
new_session() { [ "$(jget c lwtc '.peers[0].session_id // ""')" != "$sid0" ] && sessions_up c lwtc; }
wait_for 10 "a new session over the second uplink" new_session
grep -q 'roaming: route to server \[fd97:2::2\]:9000 moved from v-c-r (fd97:1::2) to v-c-r2 (fd97:3::2); re-homing' \
	"$LOGDIR/client.log" || { grep roaming "$LOGDIR/client.log"; fail "no re-home line naming both IPv6 sources"; }
wait_for 5 "server sees the new address" sh -c \
	"ip netns exec $PFX-s $CTL -i lwts status --json | jq -r '.peers[].endpoint' | grep -q '^\[fd97:3::2\]:'"
nsx c ping -c 10 -i 0.05 -W 1 -q 10.0.0.1 | tee "$LOGDIR/ping.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping.txt" || fail "pings do not cross after the re-home"
xfer_sha256 s 10.0.0.1 c 2 30
say PASS
