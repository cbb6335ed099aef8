#!/bin/bash
# SPDX-License-Identifier: MIT
# A server answers on the family and address it listens on, and nowhere
# else: on a dual-stack link, a server on [fd98::1]:9000 carries an IPv6
# client, while a kernel TCP connect to its IPv4 address, same port, is
# refused by the host's kernel (a closed port: RST) rather than answered
# with a SYN-ACK by lwt; likewise a connect to another of its IPv6
# addresses. One more address, fd98::1:0:0, folds to the same 32 bits as
# fd98::1 (the XDP program's cheap address test), so AF_XDP steers its SYN
# to the daemon, which must still not answer it (no connect). Then the
# other way round: a server on 10.99.0.1:9000, an IPv4
# client, and a connect to [fd98::1]:9000 refused. Each on AF_XDP (the XDP
# program must not steer those SYNs) and raw sockets (the daemon must not
# answer what reaches it).
. "$(dirname "$0")/lib.sh"

two_hosts
nsx s ip addr add fd98::1/64 dev v-s-c nodad
nsx s ip addr add fd98::a/64 dev v-s-c nodad
nsx s ip addr add fd98::1:0:0/64 dev v-s-c nodad
nsx c ip addr add fd98::2/64 dev v-c-s nodad
# The client's kernel would leave TCP checksums to an offload veth never
# does: with them filled in, its SYNs are ones the daemon could answer.
nsx c ethtool -K v-c-s tx off >/dev/null

# try_connect ADDR SECONDS: a kernel TCP connect from the client to
# ADDR:9000: "connected", "refused" or "error ...".
try_connect() {
	nsx c python3 -c '
import socket, sys
a = sys.argv[1]
fam = socket.AF_INET6 if ":" in a else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[2]))
try:
    s.connect((a, 9000))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error", e)' "$1" "$2"
}
# connect_refused ADDR: refused (RST) by the host's kernel, not answered.
connect_refused() {
	local r
	r=$(try_connect "$1" 3)
	say "connect to $1 port 9000: $r"
	[ "$r" = refused ] || fail "a connect to $1:9000 was not refused by the kernel ($r): lwt answered a family or address it does not listen on"
}

for path in "" "-xdp=false"; do
	say "server on [fd98::1]:9000 ${path:-(AF_XDP)}"
	start server s -m server -l '[fd98::1]:9000' -t 10.0.0.1/24 -k "$KEY" -tun-name lwts $path
	start client c -m client -r '[fd98::1]:9000' -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc $path
	wait_for 10 "client session up" sessions_up c lwtc
	nsx c ping -c 2 -i 0.2 -W 2 10.0.0.1 >/dev/null || fail "no ping through the IPv6 session"
	connect_refused 10.99.0.1
	connect_refused fd98::a
	if [ -z "$path" ]; then
		syn0=$(jget s lwts .totals.syn_cookies)
		r=$(try_connect fd98::1:0:0 1)
		syn1=$(jget s lwts .totals.syn_cookies)
		say "connect to fd98::1:0:0 port 9000: $r; SYN-ACKs the daemon sent for it: $((syn1 - syn0))"
		[ "$r" != connected ] && [ "$syn1" = "$syn0" ] ||
			fail "the daemon answered a SYN to fd98::1:0:0, not its address"
	fi
	[ "$(jget s lwts .sessions)" = 1 ] || fail "the server holds $(jget s lwts .sessions) sessions, want 1"
	stop "$client_PID"
	stop "$server_PID"

	say "server on 10.99.0.1:9000 ${path:-(AF_XDP)}"
	start_server $path
	start_client $path
	wait_for 10 "client session up" sessions_up c lwtc
	nsx c ping -c 2 -i 0.2 -W 2 10.0.0.1 >/dev/null || fail "no ping through the IPv4 session"
	connect_refused fd98::1
	stop "$client_PID"
	stop "$server_PID"
done
say "PASS"
