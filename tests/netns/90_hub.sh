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
# srv and cli empty the log first: start truncates it in the background, and
# a wait on it must never read the previous run's.
srv() { : >"$LOGDIR/server.log"; start server s -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
# cli NAME NS TUNNEL_IP: without P2P, so that client-to-client traffic
# stays on the hub this test is about (75_p2p tests the direct paths).
cli() { local n=$1 ns=$2 ip=$3; shift 3; : >"$LOGDIR/$n.log"; start "$n" "$ns" -m client -r 10.98.0.1:9000 -t "$ip/24" -k "$KEY" -tun-name lwtc -p2p=false "$@"; }
ping_ok() { nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" | grep -q ' 0% packet loss'; }
# ping_none NS DST: three echo requests go out, none is answered (ping's
# status 1: no reply; 2 would be an error before sending). The reason is
# checked by the caller.
ping_none() {
	local out rc=0
	out=$(nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" 2>&1) || rc=$?
	printf '%s\n' "$out" >&2
	[ $rc = 1 ] && grep -q "3 packets transmitted, 0 received" <<<"$out"
}
# sid_of TUNNEL_IP: the server's session id for that client ("none").
sid_of() { jget s lwts "[.peers[] | select(.state == \"up\" and .tunnel_ip == \"$1\") | .session_id][0] // \"none\""; }
# rx_of TUNNEL_IP: records the server received from that client.
rx_of() { jget s lwts "[.peers[] | select(.state == \"up\" and .tunnel_ip == \"$1\") | .rx_packets][0] // 0"; }
# tun_rx: packets the server's daemon wrote into its TUN (the kernel's count).
tun_rx() { nsx s cat /sys/class/net/lwts/statistics/rx_packets; }

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
done
fwd0=$(jget s lwts .totals.forwarded)
tun0=$(tun_rx)
for i in 1 2 3; do
	for j in 1 2 3; do
		[ $i = $j ] && continue
		ping_ok "c$i" "10.0.0.1$j" || fail "c$i -> c$j"
	done
done
fwd=$(($(jget s lwts .totals.forwarded) - fwd0))
tun=$(($(tun_rx) - tun0))
say "server forwarded $fwd client-to-client packets; $tun went through its TUN"
# 6 ordered pairs, 3 requests and 3 replies each, all through the server's
# data plane; none of them through its kernel.
[ "$fwd" -ge 36 ] || fail "the server forwarded $fwd packets, expected 36 or more"
[ "$tun" -eq 0 ] || fail "$tun client-to-client packets went through the server's kernel"

say "a fourth client claiming 10.0.0.11 is refused; c1 keeps working"
sid1=$(sid_of 10.0.0.11)
cli dup c4 10.0.0.11
wait_for 10 "the duplicate is told" grep -q "rejected the handshake: tunnel IP already in use" "$LOGDIR/dup.log"
grep -q "refused: tunnel IP 10.0.0.11 already in use" "$LOGDIR/server.log" || fail "server did not log the duplicate"
[ "$(jget s lwts .sessions)" = 3 ] || fail "server sessions $(jget s lwts .sessions) after the duplicate, expected 3"
[ "$(sid_of 10.0.0.11)" = "$sid1" ] || fail "c1's session changed: $sid1 -> $(sid_of 10.0.0.11)"
[ "$(jget c4 lwtc .sessions)" = 0 ] || fail "the duplicate has a session"
ping_ok c1 10.0.0.1 || fail "c1 lost its tunnel to a duplicate"
ping_ok c2 10.0.0.11 || fail "c2 no longer reaches c1"
stop "$dup_PID"

[ "$(jget c1 lwtc .known_peers)" = 2 ] || fail "c1 does not know its two peers"
say "a client that leaves is dropped at once, and the others learn it"
stop "$c3_PID"
wait_for 5 "server down to two sessions" sh -c "[ \"\$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions)\" = 2 ]"
[ "$(sid_of 10.0.0.13)" = none ] || fail "the server still has a session for c3"
# c1's echo requests reach the server, which has no client to forward them to.
rx1=$(rx_of 10.0.0.11)
fwd0=$(jget s lwts .totals.forwarded)
ping_none c1 10.0.0.13 || fail "c3's address still answers"
[ $(($(rx_of 10.0.0.11) - rx1)) -ge 3 ] || fail "c1's echo requests did not reach the server"
[ "$(jget s lwts .totals.forwarded)" = "$fwd0" ] || fail "the server forwarded packets for the departed c3"
ping_ok c1 10.0.0.12 || fail "c1 no longer reaches c2 once c3 left"
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
iso0=$(jget s lwts .totals.drop_isolation)
fwd0=$(jget s lwts .totals.forwarded)
ping_none c1 10.0.0.12 || fail "c1 reached c2 despite isolation"
iso=$(($(jget s lwts .totals.drop_isolation) - iso0))
say "server dropped $iso client-to-client packets"
[ "$iso" -eq 3 ] || fail "isolation drops: $iso for 3 echo requests"
[ "$(jget s lwts .totals.forwarded)" = "$fwd0" ] || fail "the server forwarded packets despite isolation"
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
wait_for 5 "every client knows the 19 others" sh -c "ip netns exec $PFX-c20 $CTL -i lwtc stats --json | jq -en 'input | .known_peers == 19'"
for i in $(seq 1 20); do v="m${i}_PID"; stop "${!v}"; done
stop "$server_PID"
for i in $(seq 1 20); do assert_no_rule "c$i"; done
assert_no_rule s
say PASS
