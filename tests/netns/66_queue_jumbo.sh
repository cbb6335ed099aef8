#!/bin/bash
# SPDX-License-Identifier: MIT
# A jumbo tunnel: on an outer link of MTU 9100, a TUN MTU of 9000 (the
# client's given, the server's picked by mtu 0: 9100 - 97 bytes of lwt
# headers, capped at 9000) carries 8000-byte packets end to end; every
# buffer is sized from it (user/bufs.c), none at a fixed 2048 bytes.
#  - While the client has no session, 8000-byte pings wait in the reconnect
#    queue (send_queue 50: 50 kept, the rest counted as drop_queue_full,
#    none copied past a buffer: run under ASan by make netns-asan) and all
#    50 reach the server once it is up.
#  - Up: 8000-byte pings both ways with 0% loss, a burst of them, iperf3 and
#    a transfer compared by sha256; the same after a detach to raw sockets
#    and an attach back to AF_XDP (multi-buffer frames).
#  - A TUN MTU whose segments the outer link cannot carry (9000 over a link
#    of 9050) is refused at start, with a line naming mtu, the link and the
#    largest that fits.
. "$(dirname "$0")/lib.sh"

two_hosts
nsx s ip link set v-s-c mtu 9100
nsx c ip link set v-c-s mtu 9100

say "mtu 9000 over a link of MTU 9050 needs 9097-byte segments: refused at start"
nsx c ip link set v-c-s mtu 9050
start client9050 c -m client -r 10.99.0.1:9000 -t 10.0.0.3/24 -k "$KEY" -tun-name lwtx -mtu 9000
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_for 10 "the client with mtu 9000 on a 9050 link to exit" gone "$client9050_PID" ||
	fail "a client with mtu 9000 on a 9050 link kept running"
rc=0
wait "$client9050_PID" || rc=$?
STOPPED[$client9050_PID]=1
cat "$LOGDIR/client9050.log"
[ "$rc" = 1 ] || fail "a client with mtu 9000 on a 9050 link exited $rc, want 1"
grep -q "mtu: 9000 needs outer segments of up to 9097 bytes, more than the MTU 9050 of 'v-c-s'.*at most 8953" \
	"$LOGDIR/client9050.log" || fail "no clear error for mtu 9000 on a 9050 link"
nsx c ip link show lwtx >/dev/null 2>&1 && fail "the refused client left its TUN"
nsx c ip link set v-c-s mtu 9100

start_client -mtu 9000 -send-queue 50
wait_for 10 "client TUN up" nsx c sh -c "ip link show lwtc | grep -q 'mtu 9000'"
wait_for 10 "client control socket" ctl c lwtc status
say "55 pings of 8000 bytes while the server is down: 50 queued, 5 over the limit"
nsx c ping -c 55 -i 0.01 -W 0.01 -s 8000 10.0.0.1 >/dev/null 2>&1 && fail "a ping was answered with no server"
kill -0 "$client_PID" || fail "the client died with jumbo packets queued"
full=$(jget c lwtc .totals.drop_queue_full)
big=$(jget c lwtc .totals.drop_too_big)
say "over the queue limit: $full, too big: $big"
[ "$big" = 0 ] || fail "8000-byte packets counted too big for a TUN MTU of 9000"
[ "$full" = 5 ] || fail "want the 5 pings over the queue limit counted, got $full"

start_server -mtu 0
wait_for 10 "server TUN up" nsx s sh -c "ip link show lwts | grep -q 'mtu 9000'"
grep -q "mtu 0: outer link 'v-s-c' MTU 9100, TUN MTU 9000 (the largest lwt carries)" \
	"$LOGDIR/server.log" || fail "mtu 0 did not log the MTU it picked"
wait_for 30 "session up" sessions_up c lwtc
wait_for 5 "queued packets sent" grep -q "sending 50 packets queued during (re)connect" "$LOGDIR/client.log"
# The 50 queued echo requests arrive on the server's TUN (8028 bytes each;
# ping has gone by then, the replies are dropped by the client's kernel).
srv_tun_rx() { ip netns exec "$PFX-s" cat /sys/class/net/lwts/statistics/rx_bytes; }
queued_arrived() { [ "$(srv_tun_rx)" -ge $((50 * 8028)) ]; }
wait_for 5 "the 50 queued pings on the server's TUN" queued_arrived ||
	fail "the queued jumbo pings did not reach the server ($(srv_tun_rx) bytes)"
say "path: client $(jget c lwtc .path), server $(jget s lwts .path)"

jumbo_traffic() {
	local tag=$1 bps
	say "$tag: 8000-byte pings both ways"
	nsx c ping -c 20 -i 0.05 -W 1 -q -s 8000 10.0.0.1 | tee "$LOGDIR/ping-c.txt" | grep -q ' 0% packet loss' ||
		fail "$tag: 8000-byte pings client -> server lost: $(cat "$LOGDIR/ping-c.txt")"
	nsx s ping -c 20 -i 0.05 -W 1 -q -s 8000 10.0.0.2 | tee "$LOGDIR/ping-s.txt" | grep -q ' 0% packet loss' ||
		fail "$tag: 8000-byte pings server -> client lost: $(cat "$LOGDIR/ping-s.txt")"
	say "$tag: a burst of 100 8000-byte pings"
	nsx c ping -c 100 -i 0.002 -W 1 -q -s 8000 10.0.0.1 | tee "$LOGDIR/burst.txt" | grep -q ' 0% packet loss' ||
		fail "$tag: burst of 8000-byte pings lost some: $(cat "$LOGDIR/burst.txt")"
	bps=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-$tag.json" -t 2)
	say "$tag: iperf3 over TUN MTU 9000: $bps bit/s"
	[ "${bps%.*}" -gt 0 ] || fail "$tag: iperf3 moved nothing"
	xfer_sha256 s 10.0.0.1 c 4
}
jumbo_traffic "$(jget c lwtc .path)"
[ "$(jget c lwtc .totals.drop_too_big)" = 0 ] || fail "client dropped packets as too big"
[ "$(jget s lwts .totals.drop_too_big)" = 0 ] || fail "server dropped packets as too big"

if [ "$(jget c lwtc .path)" = af-xdp ]; then
	say "detach both ends to raw sockets, then attach back to AF_XDP"
	run ctl c lwtc detach v-c-s
	run ctl s lwts detach v-s-c
	jumbo_traffic raw-socket
	run ctl s lwts attach v-s-c
	run ctl c lwtc attach v-c-s
	[ "$(jget c lwtc .path)" = af-xdp ] || fail "client not back on af-xdp"
	jumbo_traffic af-xdp-again
fi
kill -0 "$client_PID" || fail "client died"
stop "$client_PID"
stop "$server_PID"
say PASS
