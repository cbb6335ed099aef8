#!/bin/bash
# SPDX-License-Identifier: MIT
# A SYN flood costs the server no state (SYN cookies). From an attacker on
# the server's LAN: SYNs from random addresses of 10.96.0.0/16 (routed by
# the server back through the attacker, so every SYN-ACK really goes out)
# as fast as a raw socket sends, and at the same time plain kernel TCP
# connections from the attacker's own address that complete the handshake
# and then say nothing. While that runs a legitimate client starts and
# connects within a few seconds. Throughout, the server holds no slot for a
# SYN (slots_busy_dataplane stays at the client's plus the attacker's
# half-open cap of 4 a source, sampled every 0.2 s), its XDP flows map
# learns no flow before a session (at most the client's), the refused
# connections are counted (drop_halfopen), and its memory grows by under
# 16 MB. When the client leaves, its flow leaves the XDP flows map. The
# SYN rate the server answered is reported.
. "$(dirname "$0")/lib.sh"

FLOOD_S=8
# SYNs a second: far over any per-source limit (every SYN a new source),
# and under what this 2-CPU box answers (~30-45k/s flooded flat out, when
# the RX ring overflows and a client's SYN is lost like any other).
# LWT_SYNFLOOD_RATE=0: flat out, to see what the server withstands.
RATE=${LWT_SYNFLOOD_RATE:-20000}
lan_switch
lan_host s 10.97.0.1/24
lan_host c 10.97.0.2/24
lan_host x 10.97.0.66/24
# The attacker's kernel TCP leaves checksums to an offload veth never does.
nsx x ethtool -K v-x tx off >/dev/null
nsx s ip route add 10.96.0.0/16 via 10.97.0.66
start server s -m server -l 10.97.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -max-clients 8
srv=$server_PID
wait_for 10 "server status" ctl s lwts status --json
[ "$(ctl s lwts status --json | jq -r .path)" = af-xdp ] || skip "the server is not on AF_XDP here"
FLOWS="$(bpffs s)/lwt/lwts/xdp-v3/flows"
command -v bpftool >/dev/null || skip "no bpftool"
nflows() { bpftool -j map dump pinned "$FLOWS" | jq length; }
busy() { jget s lwts .slots_busy_dataplane; }
rss() { awk '/^VmRSS/ {print $2}' /proc/"$srv"/status; }

[ "$(nflows)" = 0 ] || fail "flows map not empty before any session"
rss0=$(rss)
syn0=$(jget s lwts .totals.syn_cookies)
say "flood: spoofed SYNs from 10.96.0.0/16 at ${RATE}/s (0: flat out) for ${FLOOD_S}s, and plain connections from the attacker"
nsbg x "$TOOLS/lwt-synflood" flood 10.96.0.0/16 10.97.0.1:9000 "$FLOOD_S" SYN "$RATE" >"$LOGDIR/flood.out" 2>&1
flood=$BG_PID
# Five plain connections a second, each held 3 s without a byte.
nsbg x sh -c "for i in \$(seq $((FLOOD_S * 5))); do timeout 3 nc -d 10.97.0.1 9000 >/dev/null 2>&1 & sleep 0.2; done; wait"
conns=$BG_PID
# Let the flood run before the client comes.
sleep 1
t0=$(date +%s%N)
start client c -m client -r 10.97.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
maxbusy=0
maxflows=0
up=
while kill -0 "$flood" 2>/dev/null; do
	b=$(busy)
	f=$(nflows)
	[ "$b" -gt "$maxbusy" ] && maxbusy=$b
	[ "$f" -gt "$maxflows" ] && maxflows=$f
	if [ -z "$up" ] && sessions_up c lwtc; then
		up=$((($(date +%s%N) - t0) / 1000000))
		say "client connected ${up} ms after it started, under the flood"
		nsx c ping -c 3 -i 0.2 -W 2 -q 10.0.0.1 >/dev/null || fail "no ping through the tunnel under the flood"
	fi
	sleep 0.2
done
wait "$flood" || fail "the flood tool failed: $(cat "$LOGDIR/flood.out")"
syn1=$(jget s lwts .totals.syn_cookies)
say "SYN cookies sent: $((syn1 - syn0)) in ${FLOOD_S}s ($(((syn1 - syn0) / FLOOD_S))/s answered; attacker: $(tail -1 "$LOGDIR/flood.out"))"
say "slots busy at most $maxbusy, flows learned at most $maxflows, half-open refused $(jget s lwts .totals.drop_halfopen), cookie flows $(jget s lwts .totals.cookie_flows)"
[ -n "$up" ] || { sessions_up c lwtc && up=late; }
[ -n "$up" ] && [ "$up" != late ] || fail "the client did not connect during the ${FLOOD_S}s flood"
[ "$up" -le 6000 ] || fail "the client took $up ms to connect under the flood"
[ "$((syn1 - syn0))" -gt $((FLOOD_S * RATE / 4 + 1000)) ] || fail "the flood did not reach the server ($((syn1 - syn0)) SYN cookies)"
# 1 client + 4 half-open from the attacker's address (+1 a poller for a race).
[ "$maxbusy" -le 6 ] || fail "the server held $maxbusy slots under the flood (SYNs or connections took slots)"
[ "$(jget s lwts .totals.drop_halfopen)" -gt 0 ] ||
	fail "the attacker's connections over its cap were not refused: $(ctl s lwts stats --json | jq -c .totals)"
[ "$maxflows" -le 1 ] || fail "the XDP flows map learned $maxflows flows (only the client's is authenticated)"
rss1=$(rss)
say "server RSS before the flood $rss0 kB, after $rss1 kB"
[ $((rss1 - rss0)) -lt 16384 ] || fail "the server's memory grew by $((rss1 - rss0)) kB under the flood"
wait "$conns" || true

say "the client leaves: its flow leaves the XDP flows map"
[ "$(nflows)" = 1 ] || fail "the client's flow is not in the flows map"
stop "$client_PID"
wait_for 5 "the client's flow forgotten" sh -c "[ \$(bpftool -j map dump pinned '$FLOWS' | jq length) = 0 ]" ||
	fail "the client's flow stayed in the flows map after its slot was freed"
stop "$srv"
say "PASS"
