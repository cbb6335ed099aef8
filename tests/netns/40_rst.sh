#!/bin/bash
# SPDX-License-Identifier: MIT
# Spoofed RSTs with wrong sequence numbers (outside and inside the window)
# do not end the session (RFC 5961).
. "$(dirname "$0")/lib.sh"

two_hosts
start_server
start_client
wait_for 10 "session up" sessions_up s lwts
ep=$(jget s lwts '.peers[0].endpoint')
say "client flow endpoint seen by server: $ep"
# Sent with AF_PACKET from the client's namespace: the client's own
# anti-RST rule would drop them otherwise (it drops every RST to the server).
mac=$(ip -n "$PFX-s" -j link show v-s-c | jq -r '.[0].address')
for seq in 1 12345 305419896 4000000000 2147483648; do
	nsx c "$TOOLS/lwt-inject" tcp-via v-c-s "$mac" "$ep" 10.99.0.1:9000 "$seq" 0 R
	nsx c "$TOOLS/lwt-inject" tcp-via v-c-s "$mac" "$ep" 10.99.0.1:9000 "$seq" 0 RA
done
wait_for 5 "RSTs counted" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq '.totals.rst_ignored') -ge 10 ]"
say "in-window RSTs that do not match rcv_nxt exactly get a challenge ACK"
# Each RST is aimed at the rcv_nxt read just before it; a record of the
# session's own (the client's NAT detection over TCP, a keepalive) may
# move rcv_nxt between the read and the RST, and then rcv_nxt+1 lies behind
# it and is rightly ignored: read again and aim again, at most three times.
challenges() { jget s lwts .totals.challenge_acks; }
for off in 1 1000 100000; do
	c0=$(challenges)
	for try in 1 2 3; do
		rcv=$(jget s lwts '.peers[0].tcp_rcv_nxt')
		nsx c "$TOOLS/lwt-inject" tcp-via v-c-s "$mac" "$ep" 10.99.0.1:9000 $(( (rcv + off) % 4294967296 )) 0 R
		for ((i = 0; i < 10; i++)); do
			[ "$(challenges)" -gt "$c0" ] && break 2
			sleep 0.1
		done
		say "RST at rcv_nxt+$off (rcv_nxt $rcv, now $(jget s lwts '.peers[0].tcp_rcv_nxt')): no challenge ACK yet"
	done
	[ "$(challenges)" -gt "$c0" ] ||
		fail "no challenge ACK for an RST at rcv_nxt+$off (rst_ignored $(jget s lwts .totals.rst_ignored), challenge_acks $(challenges), rst_probes $(jget s lwts .totals.rst_probes))"
done
nsx c ping -c 10 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "session broken by spoofed RST"
[ "$(jget s lwts .handshakes_ok)" -eq 1 ] || fail "session was re-established"
[ "$(jget c lwtc .reconnects)" -eq 0 ] || fail "client reconnected"
say "rst_ignored $(jget s lwts .totals.rst_ignored), challenge_acks $(jget s lwts .totals.challenge_acks)"
say PASS
