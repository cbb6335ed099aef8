#!/bin/bash
# SPDX-License-Identifier: MIT
# Roaming (issue 12): a client with two uplinks, each through its own
# router to the server's LAN.
#
#   c --v-c-r1-- r1 --\
#                      sw -- s (10.91.0.1, listens)
#   c --v-c-r2-- r2 --/
#
# The default route leaves by r1 (metric 100), the other by r2 (200).
# `timeout` is 60 s on both sides, so only roaming can explain a session
# that comes back within it.
# (a) the active uplink goes down during a ping (every 20 ms) and an
#     iperf3 run through the tunnel: the client re-homes on r2 at once
#     (one "roaming: ... moved" line), the server moves the session to the
#     new flow on the client's RESUME without the probe's wait, a new
#     session id, the inner TCP connection survives (iperf3 ends without
#     error), pings resume; the gap is measured and reported;
# (b) the address in use is renumbered (ip addr del/add): re-homed again,
#     from the new address;
# (c) a route change that leaves the flow where it is: no re-home;
# (e) the active uplink loses its carrier (the router's end goes down):
#     with net.ipv4.conf.all.ignore_routes_with_linkdown=1 the kernel
#     routes around it, and the client follows;
# (d) a client started before any route to its server exists: it stays
#     up, says so, and connects when the route appears.
# On the AF_XDP path the client's XDP program moves to the new uplink.
. "$(dirname "$0")/lib.sh"

command -v iperf3 >/dev/null || skip "iperf3 not installed"
XDP=1
case " ${LWT_EXTRA_ARGS:-} " in *" -xdp=false "*) XDP=0 ;; esac

lan_switch
lan_host s 10.91.0.1/24
lan_host r1 10.91.0.11/24
lan_host r2 10.91.0.12/24
add_ns c
link c r1 10.91.1.2/24 10.91.1.1/24
link c r2 10.91.2.2/24 10.91.2.1/24
for r in r1 r2; do nsx "$r" sysctl -qw net.ipv4.ip_forward=1; done
nsx s ip route add 10.91.1.0/24 via 10.91.0.11
nsx s ip route add 10.91.2.0/24 via 10.91.0.12
nsx c ip route add default via 10.91.1.1 metric 100
nsx c ip route add default via 10.91.2.1 metric 200
# (b): the new address takes the old one's place when it goes.
nsx c sysctl -qw net.ipv4.conf.v-c-r2.promote_secondaries=1

cat >"$LOGDIR/server.json" <<JSON
{ "mode": "server", "local_addr": "10.91.0.1:9000", "tunnel_addr": "10.0.0.1/24",
  "key": "$KEY", "tun_name": "lwts", "keepalive": 1, "timeout": 60 }
JSON
cat >"$LOGDIR/client.json" <<JSON
{ "mode": "client", "remote_addr": "10.91.0.1:9000", "tunnel_addr": "10.0.0.2/24",
  "key": "$KEY", "tun_name": "lwtc", "keepalive": 1, "timeout": 60 }
JSON
chmod 600 "$LOGDIR"/*.json

sid() { jget c lwtc '.peers[0].session_id // ""'; }
# session_new OLD: the client's session is up and is not OLD.
session_new() { sessions_up c lwtc && [ "$(jget c lwtc '.peers[0].session_id')" != "$1" ]; }
rehomes() { jget c lwtc .rehomes; }
path_on() {
	[ "$(jget c lwtc .iface)" = "$1" ] || return 1
	if [ "$XDP" = 1 ]; then [ "$(jget c lwtc .xdp_mode)" != none ]; else [ "$(jget c lwtc .xdp_mode)" = none ]; fi
}

start server s -c "$LOGDIR/server.json"
wait_for 5 "server up" sh -c "ip netns exec $PFX-s $CTL -i lwts status >/dev/null"
start client c -c "$LOGDIR/client.json"
wait_for 10 "session up" sessions_up c lwtc || fail "no session"
wait_for 5 "data path on v-c-r1" path_on v-c-r1 || fail "client path: $(jget c lwtc '[.path, .xdp_mode, .iface] | join(" ")')"
sid0=$(sid)
say "session $sid0 via r1 ($(jget c lwtc '[.path, .xdp_mode, .iface] | join(" ")'))"

say "(a) the active uplink goes down during a ping and an iperf3 run"
nsbg s timeout 60 iperf3 -s -1 -B 10.0.0.1 -p 5201
ipid=$BG_PID
wait_for 5 "iperf3 listening" nsx s sh -c "ss -ltn | grep -q '10.0.0.1:5201 '"
# Run here, not through nsbg: the job's output goes to its own file.
ip netns exec "$PFX-c" timeout 40 ping -D -n -i 0.02 -W 1 -w 8 10.0.0.1 >"$LOGDIR/ping.out" 2>&1 &
ping_pid=$!
PIDS+=("$ping_pid")
ip netns exec "$PFX-c" timeout 60 iperf3 -c 10.0.0.1 -p 5201 -t 6 -b 20M -J >"$LOGDIR/iperf.json" 2>&1 &
iperf_pid=$!
PIDS+=("$iperf_pid")
wait_for 5 "pings flowing" grep -q 'icmp_seq=50 ' "$LOGDIR/ping.out" || fail "no pings before the uplink went down"
# iperf3's control and data connections both established: under way.
wait_for 5 "iperf3 under way" sh -c "[ \$(ip netns exec $PFX-s ss -tnH state established '( sport = :5201 )' | wc -l) -ge 2 ]" ||
	fail "iperf3 did not start"
t_down=$(date +%s.%N)
nsx c ip link set v-c-r1 down
t_done=$(date +%s.%N)
wait_for 10 "re-home logged" grep -q "roaming: route to server 10.91.0.1:9000 moved from v-c-r1 (10.91.1.2) to v-c-r2 (10.91.2.2); re-homing" "$LOGDIR/client.log" ||
	fail "no re-home after the uplink went down"
wait_for 15 "a new session" session_new "$sid0" || fail "no new session after the re-home"
t_up=$(date +%s.%N)
# The re-home takes well under a second: iperf3 (6 s) and ping (8 s) must
# still run, or they would prove nothing of it.
kill -0 "$iperf_pid" 2>/dev/null || fail "iperf3 ended before the new session"
kill -0 "$ping_pid" 2>/dev/null || fail "ping ended before the new session"
sid1=$(sid)
say "session $sid1 via r2 after $(jq -n "($t_up - $t_down) * 1000 | floor") ms (polled)"
wait "$iperf_pid" || fail "iperf3 failed: $(jq -r '.error // empty' "$LOGDIR/iperf.json" 2>/dev/null)"
jq -e '.error' "$LOGDIR/iperf.json" >/dev/null 2>&1 && fail "iperf3: $(jq -r .error "$LOGDIR/iperf.json")"
bytes=$(jq '.end.sum_received.bytes // 0' "$LOGDIR/iperf.json")
[ "$bytes" -gt 0 ] || fail "iperf3 received nothing"
say "iperf3 through the re-home: $bytes bytes, $(jq '.end.sum_sent.retransmits // 0' "$LOGDIR/iperf.json") retransmits, no error"
wait "$ping_pid" || true
stop "$ipid"
# The gap: the longest silence between two replies (kernel timestamps;
# it holds the outage, plus up to one ping interval). Replies after the
# link went down, the command done, show that traffic came back.
awk -v t="$t_done" -F'[][]' '/bytes from/ { if ($2 + 0 > t) n++ } END { exit n > 0 ? 0 : 1 }' "$LOGDIR/ping.out" ||
	fail "no ping reply after the uplink went down: $(tail -n 3 "$LOGDIR/ping.out")"
gap=$(awk -F'[][]' '/bytes from/ { ts = $2 + 0; if (prev && ts - prev > max) max = ts - prev; prev = ts } END { printf "%d", max * 1000 }' "$LOGDIR/ping.out")
lost=$(grep -o '[0-9]* packets transmitted, [0-9]* received' "$LOGDIR/ping.out" || true)
say "uplink down -> traffic again: longest silence between replies $gap ms (ping -D -i 0.02; $lost)"
echo "$gap" >"$LOGDIR/gap_ms"
[ "$(rehomes)" -eq 1 ] || fail "re-homes: $(rehomes), expected 1"
[ "$(grep -c 'roaming: route to server' "$LOGDIR/client.log")" -eq 1 ] || fail "more than one re-home line"
grep -q "client 10.0.0.2 resumed from 10.91.2.2:[0-9]* (proved its session $sid0); dropping its old flow 10.91.1.2:" "$LOGDIR/server.log" ||
	fail "the server did not move the session on the client's RESUME"
[ "$(jget s lwts .resumes)" -eq 1 ] || fail "server resumes: $(jget s lwts .resumes)"
[ "$(jget s lwts .sessions)" -eq 1 ] || fail "server sessions: $(jget s lwts .sessions)"
wait_for 5 "data path on v-c-r2" path_on v-c-r2 || fail "client path after the re-home: $(jget c lwtc '[.path, .xdp_mode, .iface] | join(" ")')"
nsx c ping -c 3 -i 0.2 -W 2 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic on the new uplink"

say "(c) a route change that leaves the flow where it is: ignored"
nsx c ip route add 192.0.2.0/24 via 10.91.2.1
nsx c ip link set v-c-r1 up
nsx c ip addr add 10.91.9.9/32 dev lo
# The link back up, its connected route back, but the default via r1 went
# with the link: the flow stays on r2.
wait_for 5 "v-c-r1 up" sh -c "ip -n $PFX-c -br link show v-c-r1 | grep -q UP"
nsx c ping -c 3 -i 0.2 -W 2 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after unrelated changes"
[ "$(rehomes)" -eq 1 ] || fail "re-homed on a change that left the route alone"
[ "$(sid)" = "$sid1" ] || fail "session changed on a change that left the route alone"

say "(b) the address in use renumbered"
nsx c ip addr add 10.91.2.3/24 dev v-c-r2
nsx c ip addr del 10.91.2.2/24 dev v-c-r2
nsx c ip route replace default via 10.91.2.1 dev v-c-r2 metric 200
wait_for 10 "re-home logged" grep -q "roaming: route to server 10.91.0.1:9000 moved from v-c-r2 (10.91.2.2) to v-c-r2 (10.91.2.3); re-homing" "$LOGDIR/client.log" ||
	fail "no re-home after the renumbering"
wait_for 15 "a new session" session_new "$sid1" || fail "no new session after the renumbering"
nsx c ping -c 3 -i 0.2 -W 2 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after the renumbering"
jget c lwtc '.peers[0].endpoint' | grep -q '^10.91.0.1:9000$' || fail "endpoint"
jget s lwts '.peers[0].endpoint' | grep -q '^10.91.2.3:' || fail "server sees $(jget s lwts '.peers[0].endpoint'), not 10.91.2.3"
[ "$(rehomes)" -eq 2 ] || fail "re-homes: $(rehomes), expected 2"
[ "$(jget s lwts .resumes)" -eq 2 ] || fail "server resumes: $(jget s lwts .resumes)"
sid2=$(sid)

say "(e) the active uplink loses its carrier (its routes stay, ignored as linkdown)"
nsx c sysctl -qw net.ipv4.conf.all.ignore_routes_with_linkdown=1
nsx c ip route add default via 10.91.1.1 dev v-c-r1 metric 300
nsx r2 ip link set v-r2-c down
wait_for 10 "re-home logged" grep -q "roaming: route to server 10.91.0.1:9000 moved from v-c-r2 (10.91.2.3) to v-c-r1 (10.91.1.2); re-homing" "$LOGDIR/client.log" ||
	fail "no re-home after the carrier went"
wait_for 15 "a new session" session_new "$sid2" || fail "no new session after the carrier went"
nsx c ping -c 3 -i 0.2 -W 2 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after the carrier went"
[ "$(rehomes)" -eq 3 ] || fail "re-homes: $(rehomes), expected 3"
[ "$(jget s lwts .resumes)" -eq 3 ] || fail "server resumes: $(jget s lwts .resumes)"
wait_for 5 "data path on v-c-r1" path_on v-c-r1 || fail "client path: $(jget c lwtc '[.path, .xdp_mode, .iface] | join(" ")')"
stop "$client_PID"
wait_for 5 "server let the session go" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions) -eq 0 ]"

say "(d) a client started before its route exists"
nsx c ip route flush exact 0.0.0.0/0
nsx c ip link set v-c-r1 down
nsx c ip route show | grep -q default && fail "a default route is left"
start late c -c "$LOGDIR/client.json"
wait_for 5 "waiting logged" grep -q "warn  no route to server 10.91.0.1:9000 yet (.*); waiting for one" "$LOGDIR/late.log" ||
	fail "no 'waiting' line"
wait_for 5 "control socket" sh -c "ip netns exec $PFX-c $CTL -i lwtc status >/dev/null" || fail "client did not come up"
kill -0 "$late_PID" 2>/dev/null || fail "the client ended without a route"
nsx c ip link set v-c-r1 up
nsx c ip route add default via 10.91.1.1 metric 100
wait_for 10 "connect logged" grep -q "roaming: a route to server 10.91.0.1:9000 appeared on v-c-r1 (source 10.91.1.2); connecting" "$LOGDIR/late.log" ||
	fail "no connect when the route appeared"
wait_for 15 "session up" sessions_up c lwtc || fail "no session once the route appeared"
nsx c ping -c 3 -i 0.2 -W 2 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic once the route appeared"
wait_for 5 "data path on v-c-r1" path_on v-c-r1 || fail "client path: $(jget c lwtc '[.path, .xdp_mode, .iface] | join(" ")')"
say PASS
