#!/bin/bash
# SPDX-License-Identifier: MIT
# Poller threads: a server on a link with three RX queues and two CPUs runs
# two pollers, each with its own AF_XDP queues (0 and 2; 1) and TUN queue. Four clients (raw sockets, each
# in its own namespace on one LAN) are steered onto both queues: client k
# runs on CPU k % 2, and the switch's port to the server sends what CPU k
# forwards on queue k (XPS), so each poller owns two sessions. Then every
# pair pings (client-to-client crosses pollers: the receiving poller hands
# the packet to the owner's ring), 20 MB go from c1 to c2 with sha256
# compared, two iperf3 flows run at once, 40 SYNs on poller 0's queue
# overflow its handshake budget into poller 1, and a detach/attach moves
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

	say "40 SYNs at once on poller 0's queue: what its handshake budget (32) can't take goes to poller 1"
	local peers0 odd0 unk0 p
	peers0=$(st | jq '.peers | length')
	odd0=$(st | jq '[.peers[] | select(.slot % 2 == 1)] | length')
	unk0=$(st | jq .totals.drop_unknown_flow)
	# From an address nobody has: no RST answers the SYN-ACKs.
	for p in $(seq 41001 41040); do
		ip netns exec "$PFX-c2" taskset -c 0 "$TOOLS/lwt-inject" tcp 10.95.0.99:$p 10.95.0.1:9000 \
			1000 0 S
	done
	wait_for 5 "40 more flows on the server" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts status --json | jq '.peers | length') -ge $((peers0 + 40)) ]"
	say "flows on poller 1: $odd0 -> $(st | jq '[.peers[] | select(.slot % 2 == 1)] | length'), unknown-flow drops $unk0 -> $(st | jq .totals.drop_unknown_flow)"
	[ "$(st | jq '[.peers[] | select(.slot % 2 == 1)] | length')" -ge $((odd0 + 8)) ] ||
		fail "poller 1 did not take the SYNs poller 0 had no room for"
	[ "$(st | jq .totals.drop_unknown_flow)" = "$unk0" ] || fail "SYNs dropped"

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
