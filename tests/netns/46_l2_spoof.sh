#!/bin/bash
# SPDX-License-Identifier: MIT
# The AF_XDP path sends to the MAC the neighbour table gives for the next
# hop, never to one taken from a received frame. An attacker on the same
# LAN (namespace "a" on the bridge) sends frames carrying the client's IP
# and its own MAC: a SYN to the server before the client connects, and
# segments on the client's live flow after (all 50 reach the server's data
# plane: drop_window). The server answers each time (its SYN-ACK, then
# pings it starts itself) to the client's MAC: a capture on the attacker's
# switch port sees no frame of the server's, the SYN-ACK reaches the
# client's port, every ping is answered and the session is the same one.
# The code before the fix learned the attacker's MAC from either: the
# SYN-ACK and 21 frames after went to the attacker, 0 of 5 pings answered.
. "$(dirname "$0")/lib.sh"

lan_switch
lan_host s 10.95.0.1/24
lan_host c 10.95.0.2/24
lan_host a 10.95.0.3/24
mac() { ip netns exec "$PFX-$1" cat "/sys/class/net/$2/address"; }
SMAC=$(mac s v-s) CMAC=$(mac c v-c) AMAC=$(mac a v-a)
say "server $SMAC, client $CMAC, attacker $AMAC"

# cap NAME PORT FILTER: a capture on the switch's PORT (pcap in $LOGDIR).
cap() {
	local name=$1 port=$2; shift 2
	nsbg sw tcpdump -i "$port" -U -n -w "$LOGDIR/$name.pcap" "$@" 2>"$LOGDIR/$name.err"
	printf -v "${name}_PID" '%s' "$BG_PID"
	wait_for 5 "capture $name" grep -q "listening on" "$LOGDIR/$name.err"
}
count() { tcpdump -r "$LOGDIR/$1.pcap" -n 2>/dev/null | wc -l; }
captured() { [ "$(count "$1")" -ge "$2" ]; }
# Anything of the server's addressed to the attacker's MAC, on its port.
cap to_attacker p-a "ether dst $AMAC and ip src 10.95.0.1"
# The server's SYN-ACK to the spoofed flow, on the client's port.
cap synack p-c "ether dst $CMAC and ip src 10.95.0.1 and tcp src port 9000 and tcp dst port 40001 and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)"

start server s -m server -l 10.95.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
wait_for 5 "server up" ctl s lwts status
say "server path: $(jget s lwts .path)"

say "before the session: a SYN from the client's IP with the attacker's MAC"
run nsx a "$TOOLS/lwt-inject" tcp-via v-a "$SMAC" 10.95.0.2:40001 10.95.0.1:9000 1000 0 S
wait_for 5 "the server's SYN-ACK on the client's port" captured synack 1 ||
	fail "the server's SYN-ACK to 10.95.0.2:40001 did not reach the client's port ($(count to_attacker) frame(s) to the attacker)"

start client c -m client -r 10.95.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
sid=$(jget s lwts '[.peers[] | select(.state == "up")][0].session_id')
ep=$(jget s lwts '[.peers[] | select(.state == "up")][0].endpoint')
say "session $sid from $ep"

say "after: 50 segments on the client's flow with the attacker's MAC, then the server pings the client"
w0=$(jget s lwts .totals.drop_window)
for i in $(seq 50); do
	ip netns exec "$PFX-a" "$TOOLS/lwt-inject" tcp-via v-a "$SMAC" "$ep" 10.95.0.1:9000 $((7000 + i)) 1 A 00000000 ||
		fail "couldn't inject"
done
# They reached the server's data plane (out of the flow's window: dropped).
w1=$(jget s lwts .totals.drop_window)
[ $((w1 - w0)) = 50 ] || fail "drop_window grew by $((w1 - w0)), not the 50 spoofed segments"
# Server-originated right away: until the client sends again, only the
# server's next-hop cache decides where these go.
nsx s ping -c 5 -i 0.2 -W 2 10.0.0.2 >"$LOGDIR/ping-s.txt" 2>&1 || true
cat "$LOGDIR/ping-s.txt"
got=$(awk '/packets transmitted/ {print $4}' "$LOGDIR/ping-s.txt")
[ "${got:-0}" = 5 ] || fail "the server's pings to the client: ${got:-0} of 5 answered ($(count to_attacker) frame(s) went to the attacker)"
run nsx c ping -c 5 -i 0.2 -W 2 10.0.0.1 >"$LOGDIR/ping-c.txt" 2>&1 || fail "the client's pings: $(tail -2 "$LOGDIR/ping-c.txt")"

stop "$to_attacker_PID"
stop "$synack_PID"
n=$(count to_attacker)
say "frames of the server's to the attacker's MAC: $n"
[ "$n" = 0 ] || { tcpdump -r "$LOGDIR/to_attacker.pcap" -n -e | head -5; fail "$n frame(s) of the server's went to the attacker's MAC"; }
[ "$(jget s lwts '[.peers[] | select(.state == "up")][0].session_id')" = "$sid" ] || fail "the session changed"
[ "$(jget c lwtc .reconnects)" = 0 ] || fail "the client reconnected"
say PASS
