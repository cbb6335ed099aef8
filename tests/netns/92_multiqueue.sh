#!/bin/bash
# SPDX-License-Identifier: MIT
# Poller threads: a server on a link with three RX queues and two CPUs runs
# two pollers, each with its own AF_XDP queues (0 and 2; 1) and TUN queue. Four clients (raw sockets, each
# in its own namespace on one LAN) are steered onto both queues: client k
# runs on CPU k % 2, and the switch's port to the server sends what CPU k
# forwards on queue k (XPS), so each poller owns two sessions. Then every
# pair pings (client-to-client crosses pollers: the receiving poller hands
# the packet to the owner's ring), 20 MB go from c1 to c2 with sha256
# compared, two iperf3 flows run at once, cookie ACKs on poller 0's queue
# overflow its free slots into poller 1 (SYNs take no slot), and a detach/attach moves
# both pollers to raw sockets and back. The same again in generic XDP mode.
. "$(dirname "$0")/lib.sh"

[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs (has $(nproc))"

# Every host's link: two TX queues its way, three from the switch (for
# generic mode below), as many RX queues as the other end has TX.
lan_switch
lan_host s 10.95.0.1/24 2 3
for k in 1 2 3 4; do lan_host "c$k" "10.95.0.$((10 + k))/24" 2 3; done
# xps Q0 Q1: what the switch forwards to the server on CPU 0 leaves on
# its queue Q0, on CPU 1 on Q1.
xps() {
	nsx sw sh -c "for q in 0 1 2; do echo 0 > /sys/class/net/p-s/queues/tx-\$q/xps_cpus; done
		      echo 1 > /sys/class/net/p-s/queues/tx-$1/xps_cpus
		      echo 2 > /sys/class/net/p-s/queues/tx-$2/xps_cpus"
}

srv() { start server s -m server -l 10.95.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
# cli K: client k on CPU k % 2, tunnel address 10.0.0.(10+k).
cli() {
	local k=$1 n="c$1"
	printf '+ [%s] taskset -c %d %s ... &\n' "$n" $((k % 2)) "$LWT" >&2
	ip netns exec "$PFX-$n" taskset -c $((k % 2)) "$LWT" -m client -r 10.95.0.1:9000 \
		-t "10.0.0.$((10 + k))/24" -k "$KEY" -tun-name lwtc -xdp=false \
		>"$LOGDIR/$n.log" 2>&1 &
	PIDS+=("$!")
}
st() { ctl s lwts status --json; }
ping_ok() { nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" | grep -q ' 0% packet loss'; }

run_mode() {
	local mode=$1 k j
	say "server in $mode mode, four clients"
	# veth hands a frame sent on queue q to its peer's RX queue q (native
	# XDP sees that); without XDP in the driver it passes the skb on with
	# q in the field that means "received on q - 1" (generic XDP sees that).
	if [ "$mode" = native ]; then xps 0 1; else xps 0 2; fi
	srv -xdp-mode "$mode"
	local srv_pid=$server_PID
	wait_for 10 "server status" st
	[ "$(st | jq .poller_threads)" = 2 ] || fail "expected 2 poller threads: $(st | jq -c .)"
	[ "$(st | jq .queues)" = 3 ] || fail "expected 3 queues (2 on poller 0)"
	[ "$(st | jq -r .xdp_mode)" = "$mode" ] || fail "not in $mode mode"
	local cpids=()
	for k in 1 2 3 4; do cli "$k"; cpids+=("${PIDS[-1]}"); done
	for k in 1 2 3 4; do wait_for 15 "client c$k up" sessions_up "c$k" lwtc; done
	wait_for 10 "four sessions on the server" sessions_up s lwts 4
	say "sessions per poller: $(st | jq -c '[.pollers[].sessions]')"
	[ "$(st | jq -c '[.pollers[].sessions]')" = "[2,2]" ] ||
		fail "sessions not spread over the pollers: $(st | jq -c .pollers)"

	say "every pair pings"
	for k in 1 2 3 4; do
		ping_ok "c$k" 10.0.0.1 || fail "c$k -> server"
		ping_ok s "10.0.0.$((10 + k))" || fail "server -> c$k"
		for j in 1 2 3 4; do
			[ "$k" = "$j" ] && continue
			ping_ok "c$k" "10.0.0.$((10 + j))" || fail "c$k -> c$j"
		done
	done
	local hin
	hin=$(st | jq '[.pollers[].handoffs_in] | add')
	say "packets handed between pollers: $hin"
	[ "$hin" -gt 0 ] || fail "no packet crossed pollers"

	say "20 MB from c1 to c2 (owned by the other poller), sha256 compared"
	xfer_sha256 c2 10.0.0.12 c1 20

	say "two iperf3 flows at once, one per poller"
	local before a b
	before=$(st | jq -c '[.pollers[].rx_segments]')
	iperf_run s 10.0.0.1 c1 "$LOGDIR/iperf1.json" -t 3 >"$LOGDIR/bps1" &
	a=$!
	iperf_run s 10.0.0.1 c2 "$LOGDIR/iperf2.json" -t 3 >"$LOGDIR/bps2" &
	b=$!
	wait "$a" "$b"
	say "c1 $(jq -n "$(cat "$LOGDIR/bps1")/1e6|floor") Mbit/s, c2 $(jq -n "$(cat "$LOGDIR/bps2")/1e6|floor") Mbit/s; segments per poller $before -> $(st | jq -c '[.pollers[].rx_segments]')"
	jq -e "$(cat "$LOGDIR/bps1") > 1e6 and $(cat "$LOGDIR/bps2") > 1e6" >/dev/null <<<null ||
		fail "an iperf3 flow carried under 1 Mbit/s"
	[ "$(st | jq '[.pollers[].handoff_drops] | add')" = 0 ] || fail "handoff ring drops"

	# SYNs take no slot (SYN cookies): a slot is taken by the ACK that
	# returns a valid cookie, on the poller the ACK reached if it holds under
	# its share of half-open flows (64 / 2 pollers = 32), else the ACK is
	# handed to a poller with a free slot. 44 handshakes that stay half-open
	# (no HELLO) all on poller 0's queue, from c2's addresses in 10.96.1-3.0/24
	# (routed by the server through c2) and its own: 32 stay on poller 0, 12
	# are handed to poller 1; a 5th source in a /24 that already has 16
	# half-open flows and the 5th and 6th flow of one source are refused by
	# the caps. None sends a HELLO: all are gone at the HELLO deadline (2 s).
	say "44 half-open handshakes on poller 0's queue: 32 there, 12 handed to poller 1, 6 over the caps"
	local peers0 odd0 cap0 ho0 syn0 bad0 unk0 fl0 p a srcs=""
	for a in 10.96.1.1 10.96.1.2 10.96.1.3 10.96.1.4 10.96.1.5 10.96.2.1 10.96.2.2 10.96.2.3 \
		 10.96.2.4 10.96.3.1 10.96.3.2; do
		nsx c2 ip addr add "$a/32" dev v-c2 2>/dev/null || true
		srcs="$srcs${srcs:+,}$a"
	done
	nsx s ip route replace 10.96.0.0/16 via 10.95.0.12
	# The tool's flows are a raw socket's: c2's kernel must not reset them.
	nsx c2 nft -f - <<'NFT'
table ip hk92 {
	chain out {
		type filter hook output priority 0;
		tcp sport 20001-20006 tcp flags & rst == rst drop
	}
}
NFT
	wait_for 20 "no half-open flow left" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts status --json | jq '.peers | length') -eq 4 ]"
	peers0=$(st | jq '.peers | length')
	odd0=$(st | jq '[.peers[] | select(.slot % 2 == 1)] | length')
	cap0=$(jget s lwts .totals.drop_halfopen)
	syn0=$(jget s lwts .totals.syn_cookies)
	bad0=$(jget s lwts .totals.drop_bad_cookie)
	unk0=$(jget s lwts .totals.drop_unknown_flow)
	ho0=$(st | jq '.pollers[0].handoffs_out')
	fl0=$(jget s lwts .totals.cookie_flows)
	ip netns exec "$PFX-c2" taskset -c 0 "$TOOLS/lwt-synflood" open "$srcs" 10.95.0.1:9000 4 5 \
		>"$LOGDIR/open1.out" 2>&1 &
	p=$!
	wait_for 3 "44 handshakes done" grep -qx "open 44" "$LOGDIR/open1.out" || fail "handshakes: $(cat "$LOGDIR/open1.out")"
	ip netns exec "$PFX-c2" taskset -c 0 "$TOOLS/lwt-synflood" open 10.95.0.12 10.95.0.1:9000 6 5 \
		>"$LOGDIR/open2.out" 2>&1 &
	a=$!
	wait_for 3 "6 handshakes done" grep -qx "open 6" "$LOGDIR/open2.out" || fail "handshakes: $(cat "$LOGDIR/open2.out")"
	local topen gone
	topen=$(date +%s%N)
	local fl1 odd1
	odd1=$(st | jq '[.peers[] | select(.slot % 2 == 1)] | length')
	fl1=$(jget s lwts .totals.cookie_flows)
	say "flows from cookies $fl0 -> $fl1, on poller 1: $odd0 -> $odd1, handoffs out of poller 0 $ho0 -> $(st | jq '.pollers[0].handoffs_out'), syn cookies $syn0 -> $(jget s lwts .totals.syn_cookies), half-open refusals $cap0 -> $(jget s lwts .totals.drop_halfopen)"
	[ "$fl1" -eq $((fl0 + 44)) ] || fail "expected 44 half-open flows, got $((fl1 - fl0))"
	# Poller 1's are the last 12 made (the first expire at 2 s: not those).
	[ "$odd1" -eq $((odd0 + 12)) ] || fail "poller 1 did not take the 12 cookie ACKs over poller 0's share"
	[ "$(st | jq '.pollers[0].handoffs_out')" -ge $((ho0 + 12)) ] || fail "cookie ACKs not handed from poller 0"
	[ "$(jget s lwts .totals.drop_halfopen)" -eq $((cap0 + 6)) ] || fail "the per-/24 and per-source caps did not refuse 6 flows"
	[ "$(jget s lwts .totals.syn_cookies)" -ge $((syn0 + 50)) ] || fail "SYNs not answered with cookies"
	[ "$(jget s lwts .totals.drop_bad_cookie)" = "$bad0" ] || fail "a good cookie refused"
	[ "$(jget s lwts .totals.drop_unknown_flow)" = "$unk0" ] || fail "cookie ACKs dropped"
	wait_for 8 "half-open flows dropped at the HELLO deadline" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts status --json | jq '.peers | length') -eq $peers0 ]"
	gone=$((($(date +%s%N) - topen) / 1000000))
	say "half-open flows gone ${gone} ms after the last was made"
	# 2 s deadline, 50 ms ticks, a status poll every 100 ms (5 s would be 5000+).
	[ "$gone" -lt 4000 ] || fail "half-open flows lived ${gone} ms: no 2 s HELLO deadline"
	wait "$p" || fail "lwt-synflood open failed"
	wait "$a" || fail "lwt-synflood open failed"
	nsx c2 nft delete table ip hk92
	nsx s ip route del 10.96.0.0/16

	say "detach: both pollers on raw sockets; attach: back on AF_XDP"
	ctl s lwts detach v-s >/dev/null
	[ "$(st | jq -r .path)" = raw-socket ] || fail "detach did not switch path"
	for k in 1 2 3 4; do ping_ok "c$k" 10.0.0.1 || fail "c$k -> server after detach"; done
	ping_ok c1 10.0.0.12 || fail "c1 -> c2 after detach"
	ctl s lwts attach v-s --mode "$mode" >/dev/null
	[ "$(st | jq -r .path)" = af-xdp ] || fail "attach did not switch path"
	for k in 1 2 3 4; do ping_ok "c$k" 10.0.0.1 || fail "c$k -> server after attach"; done
	ping_ok c3 10.0.0.14 || fail "c3 -> c4 after attach"

	for pid in "${cpids[@]}"; do stop "$pid"; done
	stop "$srv_pid"
	assert_no_rule s
}

run_mode native
run_mode generic
say "PASS"
