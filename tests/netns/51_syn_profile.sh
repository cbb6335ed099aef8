#!/bin/bash
# SPDX-License-Identifier: MIT
# syn_profile: lwt's SYN and SYN-ACK equal the ones the host's own kernel
# sends from the same namespace (DESIGN "One consistent OS profile"): IP
# header (TTL, DF, length), flags, window and options in order, MSS and
# window scale, with only sequence numbers, timestamps, IP ID and ports
# differing. Twice, with two tcp_rmem settings whose kernels send different
# windows and window scales (this host's default gives scale 10 where
# Debian's 6 MB maximum gives 7; an 87380-byte default gives window 42340),
# so a fixed profile cannot pass both; then once more with the server on
# [::]:9000 (both families on one port): its SYN-ACK to an IPv4 client still
# carries the IPv4 MSS (1460 on this 1500-byte link, as the kernel's), not
# the IPv6 one its TUN MTU is sized for. Raw sockets: tcpdump on the client
# sees both directions.
. "$(dirname "$0")/lib.sh"

command -v tcpdump >/dev/null || skip "no tcpdump"
command -v python3 >/dev/null || skip "no python3"

two_hosts
kernel_listening() { nsx s ss -Htln "sport = :9100" | grep -q 9100; }

# The handshake packets of port $2 in pcap $1, one per line, reduced to what
# a fingerprint sees: "S <ip header> <tcp header>" and "S. ...".
shape() {
	tcpdump -r "$1" -nn -v "tcp port $2 and tcp[13] & 2 != 0" 2>/dev/null |
		paste -d' ' - - |
		sed -E 's/ id [0-9]+,//; s/cksum 0x[0-9a-f]+ \([^)]*\), //; s/seq [0-9]+, //
			s/ack [0-9]+, //; s/TS val [0-9]+ ecr [0-9]+/TS/
			s/^[0-9:.]+ //; s/[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+ > [0-9.]+: //' |
		awk '!seen[$0]++'
}

for run in "4096 131072 33554432" "4096 87380 6291456" "4096 131072 33554432 dual"; do
	read -r r1 r2 r3 dual <<<"$run"
	rmem="$r1 $r2 $r3"
	say "tcp_rmem $rmem${dual:+, server on [::]:9000}"
	nsx s sysctl -qw net.ipv4.tcp_rmem="$rmem"
	nsx c sysctl -qw net.ipv4.tcp_rmem="$rmem"
	pcap="$LOGDIR/hs-${run// /-}.pcap"
	: >"$LOGDIR/tcpdump.log"
	nsbg c tcpdump --immediate-mode -i v-c-s -nn -s 128 -U -w "$pcap" "tcp[13] & 2 != 0" 2>"$LOGDIR/tcpdump.log"
	TD_PID=$BG_PID
	wait_for 5 "tcpdump listening" grep -q "listening on" "$LOGDIR/tcpdump.log"

	# The kernel's: a listener on the server, a connect from the client.
	nsbg s python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.1", 9100)); s.listen()
c, _ = s.accept(); c.close()'
	PY_PID=$BG_PID
	wait_for 5 "kernel listener" kernel_listening
	nsx c python3 -c '
import socket
socket.create_connection(("10.99.0.1", 9100), timeout=3).close()'
	wait "$PY_PID" 2>/dev/null || true

	if [ -n "$dual" ]; then
		start server s -m server -l '[::]:9000' -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -xdp=false
	else
		start_server -xdp=false
	fi
	start_client -xdp=false
	wait_for 10 "session up" sessions_up c lwtc
	stop "$client_PID"
	stop "$server_PID"
	stop "$TD_PID"

	kern=$(shape "$pcap" 9100)
	ours=$(shape "$pcap" 9000)
	printf 'kernel:\n%s\nlwt:\n%s\n' "$kern" "$ours"
	[ "$(printf '%s\n' "$kern" | wc -l)" = 2 ] || fail "no kernel SYN and SYN-ACK captured"
	grep -q "wscale" <<<"$kern" || fail "the kernel's SYN has no window scale: nothing to compare"
	[ "$kern" = "$ours" ] || fail "lwt's handshake differs from the kernel's under tcp_rmem $rmem${dual:+ (server on [::]:9000)}"
done
say "PASS"
