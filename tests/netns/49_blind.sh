#!/bin/bash
# SPDX-License-Identifier: MIT
# Blind injection from an attacker on the server's LAN, spoofing the
# client's address. (1) 2048 data segments at random sequence and ack
# numbers, then 64 right in the server's receive window (as an attacker who
# saw the numbers would send): none authenticates, so none moves the flow;
# the session keeps its traffic. (2) A RST and a FIN at exactly rcv_nxt:
# lwt never sends either, so the server asks the client under the session's
# keys (rst_probes) and, answered, keeps the session. (3) The client is
# killed: the next exact RST ends the session within seconds (the probe
# goes unanswered), long before the 15 s timeout.
. "$(dirname "$0")/lib.sh"

lan_switch
lan_host s 10.98.0.1/24
lan_host c 10.98.0.2/24
lan_host x 10.98.0.66/24
start server s -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
start client c -m client -r 10.98.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "client up" sessions_up c lwtc
wait_for 5 "server up" sessions_up s lwts
sid=$(jget c lwtc '.peers[0].session_id')
ep=$(jget s lwts '.peers[0].endpoint')
mac=$(ip -n "$PFX-s" -j link show v-s | jq -r '.[0].address')
# spoof SEQ ACK FLAGS [PAYLOAD_HEX]: from x, as the client.
spoof() { ip netns exec "$PFX-x" "$TOOLS/lwt-inject" tcp-via v-x "$mac" "$ep" 10.98.0.1:9000 "$@" >/dev/null; }
# A SEALED frame (type 0x10) of 40 bytes: the session's id (in clear in
# every record), a counter of epoch 0 far ahead (not a replay), 28 random
# bytes that cannot authenticate.
junk=10000028${sid}000000ff00000000$(od -An -N28 -tx1 /dev/urandom | tr -d ' \n')
probes() { jget s lwts .totals.rst_probes; }
# exact FLAGS N: a RST or FIN at exactly the server's rcv_nxt, until the
# server has started N probes in all. The published rcv_nxt trails a flow
# that moves (pings, the client's reports), and a segment at any other
# point of the window only earns a challenge ACK: so read it and send again,
# up to 10 times, each given 1 s to start a probe.
exact() {
	local i
	for i in $(seq 10); do
		spoof "$(jget s lwts '.peers[0].tcp_rcv_nxt')" "$(jget s lwts '.peers[0].tcp_snd_nxt')" "$1"
		wait_for 1 "a probe" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .totals.rst_probes) -ge $2 ]" &&
			return 0
	done
	return 1
}

nsbg c ping -i 0.02 -c 300 -W 1 10.0.0.1 >"$LOGDIR/ping.txt" 2>&1
pingpid=$BG_PID
say "2048 data segments at random sequence and ack numbers"
spoof r r PA "$junk" 2048
say "64 data segments right in the window"
a0=$(jget s lwts '.totals.drop_auth')
rcv=$(jget s lwts '.peers[0].tcp_rcv_nxt')
snd=$(jget s lwts '.peers[0].tcp_snd_nxt')
for i in $(seq 64); do spoof $(( (rcv + i * 65536) % 4294967296 )) "$snd" PA "$junk"; done
wait_for 5 "the in-window segments reached authentication" \
	sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .totals.drop_auth) -ge $((a0 + 64)) ]" || {
	ctl s lwts stats --json | jq -c '.totals | with_entries(select(.key | startswith("drop")))'
	fail "the in-window segments did not reach authentication"
}
nsx c ping -c 5 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after the injection"

# The exact RST and FIN need a still flow (see exact): the ping ends first.
wait "$pingpid" || true
lost=$(awk '/packets transmitted/ {print $1 - $4}' "$LOGDIR/ping.txt")
say "pings lost through the injection: $lost of 300; server drop_auth $(jget s lwts .totals.drop_auth), drop_window $(jget s lwts .totals.drop_window)"
[ -n "$lost" ] && [ "$lost" -le 3 ] || fail "the session lost $lost of 300 pings"

say "a RST and a FIN at exactly rcv_nxt: probed, and the session stays"
exact RA 1 || fail "no probe for a RST at rcv_nxt"
wait_for 5 "probe answered" grep -q "RST/FIN ignored: the peer still answers" "$LOGDIR/server.log" ||
	fail "the probe was not answered"
exact FA 2 || fail "no probe for a FIN at rcv_nxt"
nsx c ping -c 5 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after the RST and FIN"
say "rst_probes $(jget s lwts .totals.rst_probes)"
[ "$(jget c lwtc '.peers[0].session_id')" = "$sid" ] || fail "the session changed"
[ "$(jget c lwtc .reconnects)" = 0 ] || fail "the client reconnected"
[ "$(jget s lwts .handshakes_ok)" = 1 ] || fail "the server saw a new handshake"
[ "$(jget s lwts .totals.rst_probes_failed)" = 0 ] || fail "a probe failed with the client alive"

say "the client dies: an exact RST now ends the session at once"
n=$(probes)
kill9 "$client_PID"
t0=$(date +%s%N)
exact RA $((n + 1)) || fail "no probe for a RST at rcv_nxt after the client died"
wait_for 6 "session over" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions) = 0 ]"
say "session ended $(( ($(date +%s%N) - t0) / 1000000 )) ms after the RST (timeout is 15 s)"
grep -q "connection reset by peer (no authenticated answer to a probe)" "$LOGDIR/server.log" ||
	fail "the session did not end through a failed probe"
say PASS
