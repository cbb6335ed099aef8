#!/bin/bash
# SPDX-License-Identifier: MIT
# encrypt_after_auth: negotiated when both ends ask; data then crosses in
# clear under a GMAC tag (a ping's pattern is visible at a router between
# them; without the option it is not), a data record with one bit flipped on
# the wire is dropped and counted while the session goes on, and control
# records stay encrypted: captured at the router from the first segment,
# every AUTHED frame carries a data message (IP or FEC shard), keepalives,
# loss reports, route adverts and key rotations cross as SEALED frames, and
# the advertised route's bytes never appear in clear.
. "$(dirname "$0")/lib.sh"

routed_hosts
PATTERN=6c77742d617574682d6f6e6c792121ab	# "lwt-auth-only!!" and a byte
srv() { start server s -m server -l 10.97.2.2:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
cli() { start client c -m client -r 10.97.2.2:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc "$@"; }
up() {
	wait_for 10 "client session up" sessions_up c lwtc
	wait_for 5 "server session up" sessions_up s lwts
}
# seen_in_clear: ping with the pattern while capturing at the router; true
# if the pattern's bytes appear in the captured frames.
seen_in_clear() {
	rm -f "$LOGDIR/clear.pcap"
	nsx r timeout 20 tcpdump -i v-r-s -U -c 10 -w "$LOGDIR/clear.pcap" 'tcp and dst port 9000 and tcp[tcpflags] & tcp-push != 0 and greater 120' >"$LOGDIR/tcpdump.log" 2>&1 &
	local tp=$!
	PIDS+=("$tp")
	wait_for 5 "tcpdump ready" grep -q "listening on" "$LOGDIR/tcpdump.log"
	nsx c ping -c 20 -i 0.02 -s 100 -p "$PATTERN" -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "ping lost"
	wait "$tp" || fail "capture incomplete"
	od -An -tx1 -v "$LOGDIR/clear.pcap" | tr -d ' \n' | grep -q "$PATTERN"
}

say "default: data is encrypted on the wire"
srv
cli
up
seen_in_clear && fail "ping payload visible on the wire without encrypt_after_auth"
stop "$client_PID"
stop "$server_PID"

say "only one side asks: data stays encrypted"
srv
cli -encrypt-after-auth
up
grep -q "server does not use encrypt_after_auth" "$LOGDIR/client.log" || fail "client not told"
seen_in_clear && fail "payload visible although the server did not agree"
stop "$client_PID"
stop "$server_PID"

say "both ask: data in clear under GMAC"
srv -encrypt-after-auth
cli -encrypt-after-auth
up
seen_in_clear || fail "ping payload not visible: data still encrypted?"
bps=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf.json" -t 2)
say "iperf3 with auth-only data: $(jq -n "$bps / 1e6 | floor") Mbit/s"
jq -e -n "$bps > 1e6" >/dev/null || fail "iperf3 under 1 Mbit/s"

say "a data record with a bit flipped is dropped and counted"
# Capture 20 records at the router while it holds them back, so the server
# never saw their counters; then send them on with one payload bit flipped.
nsx r nft -f - <<'NFT'
table inet hold {
	chain held {
		type filter hook forward priority 0; policy accept;
		ip daddr 10.97.2.2 tcp dport 9000 tcp flags & psh == psh drop
	}
}
NFT
nsx r timeout 20 tcpdump -i v-r-c -U -c 20 -w "$LOGDIR/held.pcap" 'tcp and dst port 9000 and tcp[tcpflags] & tcp-push != 0 and greater 120' >"$LOGDIR/tcpdump2.log" 2>&1 &
tp=$!
PIDS+=("$tp")
wait_for 5 "tcpdump ready" grep -q "listening on" "$LOGDIR/tcpdump2.log"
nsx c ping -c 25 -i 0.02 -s 100 -W 1 -q 10.0.0.1 >/dev/null || true
wait "$tp" || fail "capture incomplete"
nsx r nft delete table inet hold
a0=$(jget s lwts .totals.drop_auth)
rx0=$(jget s lwts .totals.rx_packets)
smac=$(nsx s cat /sys/class/net/v-s-r/address)
# Byte 40 of the TCP payload: inside the inner packet (4 frame header,
# 12 record header, 1 message type).
n=$(nsx r "$TOOLS/lwt-inject" flip-via v-r-s "$smac" "$LOGDIR/held.pcap" 40)
say "sent $n tampered records"
[ "$n" -ge 20 ] || fail "sent only $n"
wait_for 5 "tampered records counted" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .totals.drop_auth) -ge $((a0 + n)) ]"
a1=$(jget s lwts .totals.drop_auth)
rx1=$(jget s lwts .totals.rx_packets)
say "server: drop_auth $a0 -> $a1, rx_packets $rx0 -> $rx1"
# Every tampered record is an authentication drop (the wait above); rx_packets
# may still move by a keepalive meanwhile.
[ $((a1 - a0)) -eq "$n" ] || fail "$((a1 - a0)) authentication drops for $n tampered records"
nsx c ping -c 10 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "session broken after tampering"
stop "$client_PID"
stop "$server_PID"

say "both ask: control records stay SEALED on the wire"
# Route adverts, a rekey every second, keepalives and FEC loss reports, all
# captured at the router (both directions cross v-r-s) from the first SYN.
ROUTE=192.168.77.0/24
ROUTE_HEX=c0a84d0018	# the entry as a route advert carries it: net, prefix
printf '+ [r] tcpdump -i v-r-s -U -w %s tcp port 9000 &\n' "$LOGDIR/ctl.pcap" >&2
ip netns exec "$PFX-r" tcpdump -i v-r-s -U -w "$LOGDIR/ctl.pcap" 'tcp port 9000' >"$LOGDIR/tcpdump3.log" 2>&1 &
cap=$!
PIDS+=("$cap")
wait_for 5 "tcpdump ready" grep -q "listening on" "$LOGDIR/tcpdump3.log"
srv -encrypt-after-auth -allowed-routes "$ROUTE" -config-push-interval 1
cli -encrypt-after-auth -routes "$ROUTE"
up
nsx c ping -c 40 -i 0.02 -s 100 -W 1 -q 10.0.0.1 >/dev/null || true
# Two rotations; if control records left unreadable to the peer, the
# rotations never complete and the wire below says why.
wait_for 10 "two key rotations" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .rekeys) -ge 2 ]" || true
kill -INT "$cap"
wait "$cap" || true
nsx r "$TOOLS/lwt-inject" frames "$LOGDIR/ctl.pcap" >"$LOGDIR/ctl.frames"
# Columns: src dst frame-type length clear-message-type (AUTHED only).
authed=$(awk '$3 == "11"' "$LOGDIR/ctl.frames" | wc -l)
sealed=$(awk '$3 == "10"' "$LOGDIR/ctl.frames" | wc -l)
bad=$(awk '$3 == "11" && $5 != "01" && $5 != "04" {print $5}' "$LOGDIR/ctl.frames" | sort | uniq -c | tr -s ' \n' ' ')
say "on the wire: $authed AUTHED frames (data), $sealed SEALED frames (control)"
[ -z "$bad" ] || fail "control messages sent AUTHED, in clear (count, message type): $bad"
[ "$authed" -ge 40 ] || fail "only $authed AUTHED frames: data not sent auth-only?"
# Two rotations (REKEY + REKEY_ACK each), a keepalive after each switch,
# the first keepalives, a route advert and its result at least.
[ "$sealed" -ge 8 ] || fail "only $sealed SEALED frames on the wire"
od -An -tx1 -v "$LOGDIR/ctl.pcap" | tr -d ' \n' | grep -q "$ROUTE_HEX" && fail "route advert ($ROUTE) visible in clear on the wire"
# The control plane worked through all this: the route was accepted and
# installed, the keys rotated.
rk=$(jget s lwts .rekeys)
say "server: $rk rotations, route $(nsx s ip -o route show "$ROUTE" | tr -s ' ')"
[ "$rk" -ge 2 ] || fail "only $rk key rotations"
nsx s ip route show "$ROUTE" | grep -q "dev lwts" || fail "route $ROUTE not installed on the server"
say PASS
