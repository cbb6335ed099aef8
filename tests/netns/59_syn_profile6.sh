#!/bin/bash
# SPDX-License-Identifier: MIT
# syn_profile over IPv6: lwt's SYN and SYN-ACK equal the ones the host's own
# kernel sends over IPv6 from the same namespace (51_syn_profile's twin):
# IPv6 header (hop limit, payload length, next header), flags, window and
# options in order, MSS (the IPv6 one: 20 bytes less than over IPv4) and
# window scale, with only sequence numbers, timestamps, flow labels and
# ports differing. Raw sockets: tcpdump on the client sees both directions.
. "$(dirname "$0")/lib.sh"

command -v tcpdump >/dev/null || skip "no tcpdump"
command -v python3 >/dev/null || skip "no python3"

add_ns s
add_ns c
link6 s c fd99::1/64 fd99::2/64
kernel_listening() { nsx s ss -Htln "sport = :9100" | grep -q 9100; }

# The handshake packets of port $2 in pcap $1, one per line (tcpdump -v
# prints an IPv6 packet on one), reduced to what a fingerprint sees; a flow
# label is there or not (its value is random per flow).
shape() {
	tcpdump -r "$1" -nn -v "tcp port $2 and ip6[53] & 2 != 0" 2>/dev/null |
		sed -E 's/flowlabel 0x[0-9a-f]+/flowlabel L/; s/cksum 0x[0-9a-f]+ \([^)]*\), //; s/seq [0-9]+, //
			s/ack [0-9]+, //; s/TS val [0-9]+ ecr [0-9]+/TS/
			s/^[0-9:.]+ //; s/fd99::[12]\.[0-9]+ > fd99::[12]\.[0-9]+: //' |
		awk '!seen[$0]++'
}

pcap="$LOGDIR/hs6.pcap"
: >"$LOGDIR/tcpdump.log"
nsbg c tcpdump --immediate-mode -i v-c-s -nn -s 128 -U -w "$pcap" "ip6 and tcp and ip6[53] & 2 != 0" 2>"$LOGDIR/tcpdump.log"
TD_PID=$BG_PID
wait_for 5 "tcpdump listening" grep -q "listening on" "$LOGDIR/tcpdump.log"
nsbg s python3 -c '
import socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("fd99::1", 9100)); s.listen()
c, _ = s.accept(); c.close()'
PY_PID=$BG_PID
wait_for 5 "kernel listener" kernel_listening
nsx c python3 -c '
import socket
socket.create_connection(("fd99::1", 9100), timeout=3).close()'
wait "$PY_PID" 2>/dev/null || true

start server s -m server -l '[fd99::1]:9000' -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -xdp=false
wait_for 5 "server listening" grep -q "listening on" "$LOGDIR/server.log"
start client c -m client -r '[fd99::1]:9000' -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc -xdp=false
wait_for 10 "session up" sessions_up c lwtc
stop "$client_PID"
stop "$server_PID"
stop "$TD_PID"

kern=$(shape "$pcap" 9100)
ours=$(shape "$pcap" 9000)
printf 'kernel:\n%s\nlwt:\n%s\n' "$kern" "$ours"
[ "$(printf '%s\n' "$kern" | wc -l)" = 2 ] || fail "no kernel SYN and SYN-ACK captured"
grep -q "wscale" <<<"$kern" || fail "the kernel's SYN has no window scale: nothing to compare"
[ "$kern" = "$ours" ] || fail "lwt's IPv6 handshake differs from the kernel's"
say "PASS"
