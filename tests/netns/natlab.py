#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Traffic ends for the NAT lab (tests/netns/natlab.sh), run in namespaces.

  serve ADDR PORT...            UDP and TCP on each port: answer each datagram
                                / connection with the source seen, "ip:port"
  udp-client LPORT OUT T...     from local port LPORT ask each target T
                                (ip:port) for the source it sees ("map T OBS"
                                lines in OUT, "nomap T" on no answer after 3
                                tries), then log every datagram that arrives
                                ("from SRC PAYLOAD") until killed
  tcp-client LPORT OUT T...     the same over TCP: a listener on LPORT and a
                                connection from LPORT to each target (both
                                SO_REUSEPORT), then log accepted connections
  udp-send [-s SPORT] DST PAYLOAD   one datagram (from SPORT if given)
  tcp-try [-s SPORT] DST SECS   connect; print connected, refused or timeout
  nat-forge DST COUNT [SID]     COUNT forged NAT probe requests (lwt's layout,
                                docs/PROTOCOL.md: session id SID, else random,
                                and a random MAC; every 4th one garbage of a
                                random length), then wait 1 s for answers;
                                prints "sent N answers M"
OUT is written line by line (flushed) so a test can poll it."""
import os
import select
import socket
import struct
import sys
import time


def addr(s):
	h, p = s.rsplit(":", 1)
	return (h, int(p))


def fmt(a):
	return "%s:%d" % (a[0], a[1])


def sock(kind, port=0, host=""):
	s = socket.socket(socket.AF_INET, kind)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
	if port or host:
		s.bind((host, port))
	return s


def serve(host, ports):
	socks = {}
	for p in ports:
		u = sock(socket.SOCK_DGRAM, int(p), host)
		t = sock(socket.SOCK_STREAM, int(p), host)
		t.listen(64)
		socks[u] = "u"
		socks[t] = "t"
	while True:
		r, _, _ = select.select(list(socks), [], [])
		for s in r:
			if socks[s] == "u":
				data, src = s.recvfrom(2048)
				s.sendto(fmt(src).encode(), src)
			else:
				c, src = s.accept()
				try:
					c.sendall((fmt(src) + "\n").encode())
				except OSError:
					pass
				c.close()


def out_line(out, line):
	out.write(line + "\n")
	out.flush()


def udp_client(lport, path, targets):
	s = sock(socket.SOCK_DGRAM, lport)
	out = open(path, "w")
	for t in targets:
		seen = None
		for _ in range(3):
			s.sendto(b"?", addr(t))
			r, _, _ = select.select([s], [], [], 1.0)
			if r:
				data, src = s.recvfrom(2048)
				if fmt(src) == t:
					seen = data.decode(errors="replace")
					break
		out_line(out, "map %s %s" % (t, seen) if seen else "nomap %s" % t)
	while True:
		data, src = s.recvfrom(2048)
		out_line(out, "from %s %s" % (fmt(src), data.decode(errors="replace")))


def tcp_client(lport, path, targets):
	lst = sock(socket.SOCK_STREAM, lport)
	lst.listen(16)
	out = open(path, "w")
	for t in targets:
		c = sock(socket.SOCK_STREAM, lport)
		c.settimeout(3)
		try:
			c.connect(addr(t))
			seen = c.makefile().readline().strip()
			out_line(out, "map %s %s" % (t, seen))
		except OSError as e:
			out_line(out, "nomap %s %s" % (t, e))
		c.close()
	while True:
		c, src = lst.accept()
		out_line(out, "from %s" % fmt(src))
		c.close()


def sport_args(args):
	if args[0] == "-s":
		return int(args[1]), args[2:]
	return 0, args


def udp_send(args):
	sp, args = sport_args(args)
	s = sock(socket.SOCK_DGRAM, sp)
	s.sendto(args[1].encode(), addr(args[0]))


def tcp_try(args):
	sp, args = sport_args(args)
	s = sock(socket.SOCK_STREAM, sp)
	s.settimeout(float(args[1]))
	try:
		s.connect(addr(args[0]))
		print("connected")
	except ConnectionRefusedError:
		print("refused")
	except (socket.timeout, TimeoutError):
		print("timeout")
	except OSError as e:
		print("error %s" % e)


def nat_forge(dst, count, sid):
	s = sock(socket.SOCK_DGRAM)
	s.setblocking(False)
	answers = sent = 0
	for i in range(count):
		if i % 4 == 3:
			msg = os.urandom(1 + i % 200)
		else:
			sd = sid if sid is not None else struct.unpack("!I", os.urandom(4))[0] | 1
			msg = b"lwtN" + struct.pack("!BBBBIIQIHHII", 1, 1, 0, 0, sd, 0, i + 1,
						    0, 0, 0, 0, 0) + os.urandom(32)
		try:
			s.sendto(msg, addr(dst))
			sent += 1
		except BlockingIOError:
			select.select([], [s], [], 0.1)
		try:
			while s.recv(2048):
				answers += 1
		except BlockingIOError:
			pass
	end = time.time() + 1
	while time.time() < end:
		r, _, _ = select.select([s], [], [], end - time.time())
		if r:
			s.recv(2048)
			answers += 1
	print("sent %d answers %d" % (sent, answers))


def main(a):
	if not a:
		sys.exit(__doc__)
	cmd, args = a[0], a[1:]
	if cmd == "serve":
		serve(args[0], args[1:])
	elif cmd == "udp-client":
		udp_client(int(args[0]), args[1], args[2:])
	elif cmd == "tcp-client":
		tcp_client(int(args[0]), args[1], args[2:])
	elif cmd == "udp-send":
		udp_send(args)
	elif cmd == "tcp-try":
		tcp_try(args)
	elif cmd == "nat-forge":
		nat_forge(args[0], int(args[1]), int(args[2], 16) if len(args) > 2 else None)
	else:
		sys.exit(__doc__)


if __name__ == "__main__":
	main(sys.argv[1:])
