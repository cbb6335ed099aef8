#!/bin/bash
# SPDX-License-Identifier: MIT
# Captured tunnel packets replayed into the server are dropped and counted;
# the session goes on.
. "$(dirname "$0")/lib.sh"

# A router between the two: the capture is taken there, where the kernel
# forwards the segments (on the hosts the AF_XDP path takes them before any
# tap sees them), and the replay is sent from there to the server.
routed_hosts
start server s -m server -l 10.97.2.2:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
start client c -m client -r 10.97.2.2:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "session up" sessions_up c lwtc
nsx r timeout 30 tcpdump -i v-r-s -U -c 30 -w "$LOGDIR/cap.pcap" 'tcp and dst host 10.97.2.2 and dst port 9000 and tcp[tcpflags] & tcp-push != 0' >"$LOGDIR/tcpdump.log" 2>&1 &
tpid=$!
PIDS+=("$tpid")
wait_for 5 "tcpdump ready" grep -q "listening on" "$LOGDIR/tcpdump.log"
nsx c ping -c 40 -i 0.02 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "ping before replay"
wait "$tpid" || fail "tcpdump captured too little"
rx0=$(jget s lwts .totals.rx_packets)
rep0=$(jget s lwts '.totals.drop_replay + .totals.drop_window')
n=$(nsx r "$TOOLS/lwt-inject" replay v-r-s "$LOGDIR/cap.pcap")
say "replayed $n captured segments"
[ "$n" -ge 30 ] || fail "replayed only $n"
wait_for 5 "replays counted" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq '.totals.drop_replay + .totals.drop_window') -ge $((rep0 + n)) ]"
rx1=$(jget s lwts .totals.rx_packets)
rep1=$(jget s lwts .totals.drop_replay)
say "server: drop_replay $rep1, rx_packets $rx0 -> $rx1"
[ "$rep1" -ge "$n" ] || fail "replays not counted by the anti-replay window"
[ "$rx1" -eq "$rx0" ] || fail "a replayed record was accepted"
nsx c ping -c 10 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "session broken after replay"
[ "$(jget s lwts .handshakes_ok)" -eq 1 ] || fail "session was re-established"
say PASS
