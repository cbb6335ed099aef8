#!/bin/bash
# SPDX-License-Identifier: MIT
# The hub: one server, three clients on one LAN (a bridge in a switch
# namespace). Every pair pings through the server; a client claiming a
# tunnel IP in use is refused on both sides while the first keeps working;
# a client that leaves is dropped at once; with client_isolation clients
# reach the server but not each other, and the drops are counted; then 20
# clients connect at once and all reach the server.
. "$(dirname "$0")/lib.sh"

lan_switch
NH=0
# host NS: the next LAN address, 10.98.0.(NH+1)/24.
host() { NH=$((NH + 1)); lan_host "$1" "10.98.0.$NH/24"; }
srv() { start server s -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
# cli NAME NS TUNNEL_IP
cli() { local n=$1 ns=$2 ip=$3; shift 3; start "$n" "$ns" -m client -r 10.98.0.1:9000 -t "$ip/24" -k "$KEY" -tun-name lwtc "$@"; }
ping_ok() { nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" | grep -q ' 0% packet loss'; }
ping_dead() { ! nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" >/dev/null; }

host s
for i in 1 2 3 4; do host "c$i"; done
srv
for i in 1 2 3; do cli "c$i" "c$i" "10.0.0.1$i"; done
for i in 1 2 3; do wait_for 10 "client c$i up" sessions_up "c$i" lwtc; done
wait_for 5 "three sessions on the server" sessions_up s lwts 3

say "every pair pings"
for i in 1 2 3; do
	ping_ok s "10.0.0.1$i" || fail "server -> c$i"
	ping_ok "c$i" 10.0.0.1 || fail "c$i -> server"
	for j in 1 2 3; do
		[ $i = $j ] && continue
		ping_ok "c$i" "10.0.0.1$j" || fail "c$i -> c$j"
	done
done
fwd=$(jget s lwts '.totals.forwarded // 0')
say "server forwarded $fwd client-to-client packets without its kernel"

say "a fourth client claiming 10.0.0.11 is refused; c1 keeps working"
cli dup c4 10.0.0.11
wait_for 10 "the duplicate is told" grep -q "already in use" "$LOGDIR/dup.log"
grep -q "already in use" "$LOGDIR/server.log" || fail "server did not log the duplicate"
ping_ok c1 10.0.0.1 || fail "c1 lost its tunnel to a duplicate"
ping_ok c2 10.0.0.11 || fail "c2 no longer reaches c1"
stop "$dup_PID"

[ "$(jget c1 lwtc .known_peers)" = 2 ] || fail "c1 does not know its two peers"
say "a client that leaves is dropped at once, and the others learn it"
stop "$c3_PID"
wait_for 5 "server down to two sessions" sh -c "[ \"\$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions)\" = 2 ]"
ping_dead c1 10.0.0.13 || fail "c3's address still answers"
wait_for 5 "c1 learns c3 left" grep -q "peer 10.0.0.13 left" "$LOGDIR/c1.log"
grep -q "peer 10.0.0.13 left" "$LOGDIR/c2.log" || fail "c2 was not told c3 left"
[ "$(jget c1 lwtc .known_peers)" = 1 ] || fail "c1 still counts c3"

say "client_isolation: the server stays reachable, clients do not reach each other"
stop "$c1_PID"
stop "$c2_PID"
stop "$server_PID"
srv -client-isolation
cli c1 c1 10.0.0.11
cli c2 c2 10.0.0.12
wait_for 10 "c1 up" sessions_up c1 lwtc
wait_for 10 "c2 up" sessions_up c2 lwtc
ping_ok c1 10.0.0.1 || fail "isolated c1 cannot reach the server"
ping_ok s 10.0.0.12 || fail "server cannot reach isolated c2"
ping_dead c1 10.0.0.12 || fail "c1 reached c2 despite isolation"
iso=$(jget s lwts '.totals.drop_isolation')
say "server dropped $iso client-to-client packets"
[ "$iso" -ge 3 ] || fail "isolation drops not counted ($iso)"
stop "$c1_PID"
stop "$c2_PID"
stop "$server_PID"

say "20 clients connect at once"
for i in $(seq 5 20); do host "c$i"; done
srv
for i in $(seq 1 20); do cli "m$i" "c$i" "10.0.0.$((100 + i))"; done
wait_for 30 "20 sessions on the server" sessions_up s lwts 20
for i in $(seq 1 20); do
	ping_ok "c$i" 10.0.0.1 || fail "client $i of 20 cannot reach the server"
done
say "all 20 reach the server"
wait_for 5 "every client knows the 19 others" sh -c "ip netns exec $PFX-c20 $CTL -i lwtc stats --json | jq -e '.known_peers == 19'"
for i in $(seq 1 20); do v="m${i}_PID"; stop "${!v}"; done
stop "$server_PID"
for i in $(seq 1 20); do assert_no_rule "c$i"; done
assert_no_rule s
say PASS
