#!/bin/bash
# SPDX-License-Identifier: MIT
# The hub's punch orders under a flood of requests, and a slot's P2P state.
# (1) lwt-swarm: 100 authenticated clients that take direct paths; one of
# them asks the hub to coordinate punches (P2P_REQ) 500 times a second for
# 4 s, to each of the 99 others in turn (more pairs than the hub's memory
# of recent orders holds). The orders it gets the hub to send stay within
# its budget (16 at once, 4 a second), the rest are counted
# (requests_limited), not logged, and every client stays up. (2) A session
# tells its own P2P abilities: a client with P2P off that takes over the
# slot of one that had it on gets no punch orders (the request for it is
# refused), nothing of the slot's last session is taken for its.
. "$(dirname "$0")/lib.sh"
N=100
RATE=500
SECS=4

add_ns s
add_ns w
link s w 10.89.0.1/24 10.89.0.2/24
nsx s ip route add 10.200.0.0/16 via 10.89.0.2
start server s -m server -l 10.89.0.1:9000 -t 10.201.0.1/16 -k "$KEY" -tun-name lwts -max-clients 200
wait_for 5 "server up" nsx s "$CTL" -i lwts status

status() { jq -r "$1" "$LOGDIR/swarm.status" 2>/dev/null; }
nsbg w "$TOOLS/lwt-swarm" -i v-w-s -r 10.89.0.1:9000 -k "$KEY" -n "$N" -s 10.200.0.0/16 \
	-t 10.201.0.2/16 -j 2000 --join-timeout 30 --idle 1 --active "$SECS" --p2p-req "$RATE" \
	--tail -1 --status "$LOGDIR/swarm.status" >"$LOGDIR/swarm.json" 2>"$LOGDIR/swarm.log"
SWARM_PID=$BG_PID
wait_for 60 "all $N clients up" sh -c "[ \"\$(jq -r .up '$LOGDIR/swarm.status' 2>/dev/null)\" = $N ]"
lines0=$(wc -l <"$LOGDIR/server.log")
wait_for 30 "the flood over" sh -c "[ \"\$(jq -r .phase '$LOGDIR/swarm.status' 2>/dev/null)\" = tail ]"
sent=$(status .p2p.requests_tx)
hub=$(ctl s lwts stats --json | jq -c .p2p)
say "the asker sent $sent requests; hub: $hub"
[ "$sent" -ge $((RATE * SECS / 2)) ] || fail "the swarm sent only $sent requests"
# The orders sent reach the asker and its peer; wait for those in flight.
orders=$(jq .orders_sent <<<"$hub")
wait_for 5 "the orders arrived" sh -c "[ \"\$(jq -r .p2p.orders_rx_asker '$LOGDIR/swarm.status')\" = $orders ]"
asker=$(status .p2p.orders_rx_asker)
others=$(status .p2p.orders_rx_others)
limited=$(jq .requests_limited <<<"$hub")
say "orders: $asker to the asker, $others to the others; requests limited $limited"
# 16 at once and 4 a second over the active phase (and its slack).
max=$((16 + 4 * (SECS + 2)))
[ "$asker" -ge 16 ] || fail "only $asker orders: the test shows nothing"
[ "$asker" -le "$max" ] || fail "the flood made the hub send $asker orders to the asker, more than $max"
[ "$others" = "$asker" ] || fail "$others orders reached the others for $asker to the asker"
[ "$limited" -ge $((sent - max)) ] || fail "requests limited $limited of $sent"
lines=$(($(wc -l <"$LOGDIR/server.log") - lines0))
[ "$lines" -le 5 ] || fail "the hub logged $lines lines during the flood"
[ "$(status .up)" = "$N" ] || fail "only $(status .up) of $N clients still up"
stop "$SWARM_PID"
wait_for 10 "the swarm gone" sh -c "[ \"\$(ip netns exec $PFX-s $CTL -i lwts status --json | jq .sessions)\" = 0 ]"
stop "$server_PID"

say "a slot's next session does not inherit its P2P abilities"
lan_switch
lan_host hs 10.98.0.1/24
lan_host a 10.98.0.2/24
lan_host b 10.98.0.3/24
lan_host c 10.98.0.4/24
start server hs -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -max-clients 2
start ca a -m client -r 10.98.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "a up" sessions_up a lwtc
start cb b -m client -r 10.98.0.1:9000 -t 10.0.0.3/24 -k "$KEY" -tun-name lwtc
wait_for 10 "b up" sessions_up b lwtc
hubp2p() { ctl hs lwts stats --json | jq ".p2p.$1"; }
# a's slot: P2P on (its P2P_HELLO came with its session).
wait_for 5 "b knows a" sh -c "ip netns exec $PFX-b $CTL -i lwtc status --json | jq -e '.known_peers == 1' >/dev/null"
stop "$ca_PID"
wait_for 10 "a's session gone" sh -c "[ \"\$(ip netns exec $PFX-hs $CTL -i lwts status --json | jq .sessions)\" = 1 ]"
wait_for 5 "b forgot a" sh -c "ip netns exec $PFX-b $CTL -i lwtc status --json | jq -e '.known_peers == 0' >/dev/null"
# c, P2P off, in the slot a left (the server holds two).
start cc c -m client -r 10.98.0.1:9000 -t 10.0.0.4/24 -k "$KEY" -tun-name lwtc -p2p=false
wait_for 10 "c up" sessions_up c lwtc
o0=$(hubp2p orders_sent)
r0=$(hubp2p requests_refused)
wait_for 5 "b knows c" sh -c "ip netns exec $PFX-b $CTL -i lwtc status --json | jq -e '.known_peers == 1' >/dev/null"
nsx b ping -c 3 -i 0.2 -W 2 -q 10.0.0.4 || fail "b -> c through the hub"
wait_for 5 "b's request for c refused" sh -c "[ \$(ip netns exec $PFX-hs $CTL -i lwts stats --json | jq .p2p.requests_refused) -gt $r0 ]" ||
	fail "b's request for c was not refused: hub $(ctl hs lwts stats --json | jq -c .p2p)"
[ "$(hubp2p orders_sent)" = "$o0" ] || fail "the hub ordered a punch to c, which takes no direct paths"
[ "$(ctl c lwtc stats --json | jq '.p2p.orders // 0')" = 0 ] || fail "c got a punch order"
say PASS
