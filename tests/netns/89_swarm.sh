#!/bin/bash
# SPDX-License-Identifier: MIT
# A hub with a thousand clients: lwt-swarm (one process, a thousand real
# clients, each from its own address: fake-TCP handshake with the server's
# SYN cookie, SPAKE2 handshake, GCM records) joins them against a real
# server with the large-deployment knobs on. Every client gets its session
# (the swarm's count and the server's), and its peer list: each client ends
# up knowing all 999 others. Then every client sends one packet a second
# to random others for two seconds: each one is forwarded by the server's
# data plane and arrives. The swarm's namespace sends no RST (the clients'
# addresses are routed to it, not local). When the swarm leaves (CLOSE from
# each client) the server drops every session.
. "$(dirname "$0")/lib.sh"
N=${LWT_SWARM_CLIENTS:-1000}

add_ns s
add_ns w
link s w 10.89.0.1/24 10.89.0.2/24
# The clients' outer addresses (10.200.0.0/16, spread over its /24s) live
# behind the swarm's namespace, which does not forward: its kernel drops
# what the server sends them, after the swarm's AF_PACKET socket saw it.
nsx s ip route add 10.200.0.0/16 via 10.89.0.2
[ "$(nsx w sysctl -n net.ipv4.ip_forward)" = 0 ] || fail "the swarm namespace forwards"
echo '{ "broadcast_throttle_ms": 500, "enable_incremental_update": true, "max_peer_info_batch_size": 30 }' \
	>"$LOGDIR/server.json"
start server s -c "$LOGDIR/server.json" -m server -l 10.89.0.1:9000 -t 10.201.0.1/16 -k "$KEY" \
	-tun-name lwts -max-clients "$N"
wait_for 5 "server up" nsx s "$CTL" -i lwts status

status() { jq -r "$1" "$LOGDIR/swarm.status" 2>/dev/null; }
printf '+ [w] lwt-swarm -n %s ... &\n' "$N" >&2
nsbg w "$TOOLS/lwt-swarm" -i v-w-s -r 10.89.0.1:9000 -k "$KEY" -n "$N" -s 10.200.0.0/16 \
	-t 10.201.0.2/16 -j 2000 --join-timeout 60 --idle 0 --active 2 --pps 1 --to peers \
	--tail -1 --status "$LOGDIR/swarm.status" >"$LOGDIR/swarm.json" 2>"$LOGDIR/swarm.log"
SWARM_PID=$BG_PID
wait_for 90 "all $N clients up" sh -c "[ \"\$(jq -r .up '$LOGDIR/swarm.status' 2>/dev/null)\" = $N ]"
say "all $N up after $(status .all_up_s) s ($(status .handshakes_per_s) handshakes/s)"
# The swarm counts a client up once its CONFIRM is out; the server, once
# it has checked it.
wait_for 10 "$N sessions on the server" \
	sh -c "[ \"\$(ip netns exec $PFX-s $CTL -i lwts status --json | jq .sessions)\" = $N ]"
wait_for 20 "every client knows the $((N - 1)) others" \
	sh -c "[ \"\$(jq -r .peers_complete '$LOGDIR/swarm.status' 2>/dev/null)\" = $N ]"
[ "$(status .with_peer_list)" = "$N" ] || fail "$(status .with_peer_list) clients got a full peer list, expected $N"

say "traffic between the clients, through the server"
wait_for 30 "the active phase over" sh -c "[ \"\$(jq -r .phase '$LOGDIR/swarm.status' 2>/dev/null)\" = tail ]"
sent=$(status .records.ip_tx)
[ "$sent" -ge "$N" ] || fail "the swarm sent $sent packets, expected at least $N"
wait_for 10 "the server forwarded all $sent" \
	sh -c "[ \"\$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .totals.forwarded)\" = $sent ]"
wait_for 10 "all $sent arrived" sh -c "[ \"\$(jq -r .records.ip_rx '$LOGDIR/swarm.status' 2>/dev/null)\" = $sent ]"
[ "$(status .up)" = "$N" ] || fail "only $(status .up) of $N clients still up"

stop "$SWARM_PID"
cat "$LOGDIR/swarm.json" >&2
jq -en "input | .handshakes.failed == 0 and .handshakes.rejects == 0 and .records.bad == 0 and
	.records.replayed == 0 and .segments.malformed == 0 and .segments.rst_rx == 0 and
	.segments.send_errors == 0" "$LOGDIR/swarm.json" >/dev/null ||
	fail "the swarm counted errors (above)"
rsts=$(nsx w nstat -az TcpOutRsts | awk '/TcpOutRsts/ { print $2 }')
[ "$rsts" = 0 ] || fail "the swarm's namespace sent $rsts RSTs"
wait_for 10 "every session dropped after the clients' CLOSE" \
	sh -c "[ \"\$(ip netns exec $PFX-s $CTL -i lwts status --json | jq .sessions)\" = 0 ]"
say "PASS: $N clients, every one with its session and its peer list"
