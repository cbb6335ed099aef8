#!/bin/bash
# SPDX-License-Identifier: MIT
# Captured tunnel packets replayed into the server are dropped and counted;
# the session goes on. A captured HELLO replayed on a new flow (a kernel TCP
# connection from the router, as an attacker would open it) is refused with
# REJECT(5) on the wire, logged and counted; it creates no session, evicts
# none, and its slot is freed.
. "$(dirname "$0")/lib.sh"

# A router between the two: the capture is taken there, where the kernel
# forwards the segments (on the hosts the AF_XDP path takes them before any
# tap sees them), and the replay is sent from there to the server.
routed_hosts
start server s -m server -l 10.97.2.2:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
wait_for 5 "server up" ctl s lwts status
# The client's first segment with a payload is its HELLO.
nsx r timeout 30 tcpdump -i v-r-s -U -c 1 -w "$LOGDIR/hello.pcap" 'tcp and dst host 10.97.2.2 and dst port 9000 and tcp[tcpflags] & tcp-push != 0' >"$LOGDIR/tcpdump-hello.log" 2>&1 &
hpid=$!
PIDS+=("$hpid")
wait_for 5 "tcpdump ready" grep -q "listening on" "$LOGDIR/tcpdump-hello.log"
start client c -m client -r 10.97.2.2:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "session up" sessions_up c lwtc
wait "$hpid" || fail "the client's HELLO was not captured"
nsx r timeout 30 tcpdump -i v-r-s -U -c 30 -w "$LOGDIR/cap.pcap" 'tcp and dst host 10.97.2.2 and dst port 9000 and tcp[tcpflags] & tcp-push != 0' >"$LOGDIR/tcpdump.log" 2>&1 &
tpid=$!
PIDS+=("$tpid")
wait_for 5 "tcpdump ready" grep -q "listening on" "$LOGDIR/tcpdump.log"
nsx c ping -c 40 -i 0.02 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "ping before replay"
wait "$tpid" || fail "tcpdump captured too little"
rx0=$(jget s lwts .totals.rx_packets)
rep0=$(jget s lwts .totals.drop_replay)
n=$(nsx r "$TOOLS/lwt-inject" replay v-r-s "$LOGDIR/cap.pcap")
say "replayed $n captured segments"
[ "$n" -ge 30 ] || fail "replayed only $n"
wait_for 5 "replays counted" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .totals.drop_replay) -ge $((rep0 + n)) ]" ||
	fail "$n replayed records, server drop_replay $rep0 -> $(jget s lwts .totals.drop_replay)"
rx1=$(jget s lwts .totals.rx_packets)
rep1=$(jget s lwts .totals.drop_replay)
say "server: drop_replay $rep0 -> $rep1, rx_packets $rx0 -> $rx1"
# One record a segment: each replayed record is either accepted or dropped
# once, so n replay drops mean none was accepted (rx_packets may still move
# by a keepalive or a loss report of the live session meanwhile).
[ $((rep1 - rep0)) -eq "$n" ] || fail "$((rep1 - rep0)) replay drops for $n replayed records"
[ $((rx1 - rx0)) -le 3 ] || fail "rx_packets grew by $((rx1 - rx0)) while $n records were replayed"
nsx c ping -c 10 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "session broken after replay"
[ "$(jget s lwts .handshakes_ok)" -eq 1 ] || fail "session was re-established"

say "the client's HELLO replayed on a new flow, twice"
# The router's kernel leaves TCP checksums to the veth's offload (partial
# sums on the wire); lwt verifies them, as a real NIC's frames carry them.
nsx r ethtool -K v-r-s tx off >/dev/null
f0=$(jget s lwts .handshakes_failed)
sid=$(jget s lwts '.peers[0].session_id')
# Each replay keeps its connection open afterwards: the server must free
# the refused flow's slot itself, at once (a slot left in the handshake
# would only go at the 5 s handshake timeout), not when the attacker leaves.
hold=()
for i in 1 2; do
	# Emptied before the background job starts: a grep right after must not
	# read the last run's answer (then see it truncated).
	: >"$LOGDIR/hello-replay-$i.out"
	printf '+ [r] lwt-inject hello-replay %s 10.97.2.2:9000 30 &\n' "$LOGDIR/hello.pcap" >&2
	ip netns exec "$PFX-r" "$TOOLS/lwt-inject" hello-replay "$LOGDIR/hello.pcap" 10.97.2.2:9000 30 >>"$LOGDIR/hello-replay-$i.out" &
	hold+=($!)
	PIDS+=($!)
	wait_for 10 "answer to replay $i" grep -q . "$LOGDIR/hello-replay-$i.out"
	ans=$(cat "$LOGDIR/hello-replay-$i.out")
	say "replay $i: server answered: $ans"
	[ "$ans" = "reject 5" ] || fail "replayed HELLO answered '$ans', want 'reject 5' (stale or replayed)"
	# The server lists only the real client's session again.
	wait_for 1 "refused slot freed" sh -c "ip netns exec $PFX-s $CTL -i lwts stats --json | jq -en 'input | [.peers[].session_id] == [\"$sid\"]'" ||
		fail "after the refusal the server lists $(ctl s lwts stats --json | jq -c '[.peers[] | [.endpoint, .state, .session_id]]'), want only session $sid"
done
wait_for 5 "both refusals counted" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .handshakes_failed) -eq $((f0 + 2)) ]"
[ "$(grep -c 'stale or replayed HELLO' "$LOGDIR/server.log")" -eq 2 ] || fail "server did not log 2 replayed HELLOs"
for p in "${hold[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
[ "$(jget s lwts .sessions)" -eq 1 ] || fail "session count changed"
[ "$(jget s lwts .handshakes_ok)" -eq 1 ] || fail "a replayed HELLO created a session"
[ "$(jget s lwts '.peers[0].session_id')" = "$sid" ] || fail "the client's session was replaced"
[ "$(jget c lwtc .reconnects)" -eq 0 ] || fail "the client lost its session to the replay"
nsx c ping -c 10 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "session broken after HELLO replay"
say PASS
