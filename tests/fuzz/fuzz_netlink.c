// SPDX-License-Identifier: MIT
/* libFuzzer target: rtnetlink replies as user/netlink.c reads them (the
 * receive loop in talk() and the callbacks for route dumps, route and
 * neighbour look-ups and link MTU). netlink.c is compiled into this file
 * unchanged, with its socket(), sendto(), recv() and close() turned into
 * the harness's: the request it sends is checked, and the replies it reads
 * are the input's datagrams. The bytes of the receive buffer past what a
 * datagram filled are poisoned, so reading past a reply is a report even
 * inside the 16 KiB buffer.
 *
 * Input: one byte picking the call, its arguments, then datagrams, each a
 * big-endian 16-bit length and its bytes (no more datagrams: recv fails).
 * Invariants:
 *  - every request is one well-formed message: nlmsg_len = bytes sent,
 *    NLM_F_REQUEST, attributes that tile the message exactly;
 *  - no read outside the datagram received (ASan);
 *  - results: 0, 1 (a conflict, described in a terminated, non-empty
 *    why), an MTU of at least 1, or a negative errno (never a value from
 *    the reply that only looks like one); outputs written only on success. */
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sanitizer/asan_interface.h>

#include "fuzz.h"

#define FAKE_FD 4242

static struct fz in;
static void *rbuf;
static size_t rbuf_len;

static int fake_socket(int domain, int type, int proto)
{
	FZ_CHECK(domain == AF_NETLINK && proto == NETLINK_ROUTE, "socket(%d, %d, %d)", domain, type,
		 proto);
	return FAKE_FD;
}

static ssize_t fake_sendto(int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *sa, socklen_t sl)
{
	const struct nlmsghdr *h = buf;
	size_t hdr;
	int alen;

	FZ_CHECK(fd == FAKE_FD && len >= NLMSG_HDRLEN && h->nlmsg_len == len,
		 "request of %zu bytes says %u", len, len >= NLMSG_HDRLEN ? h->nlmsg_len : 0);
	FZ_CHECK(h->nlmsg_flags & NLM_F_REQUEST, "request without NLM_F_REQUEST");
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_GETLINK:
		hdr = sizeof(struct ifinfomsg);
		break;
	case RTM_NEWADDR:
		hdr = sizeof(struct ifaddrmsg);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
	case RTM_GETROUTE:
		hdr = sizeof(struct rtmsg);
		break;
	case RTM_GETNEIGH:
		hdr = sizeof(struct ndmsg);
		break;
	default:
		FZ_CHECK(0, "request type %u", h->nlmsg_type);
	}
	FZ_CHECK(len >= NLMSG_LENGTH(hdr), "request shorter than its header");
	alen = (int)(len - NLMSG_LENGTH(hdr));
	const struct rtattr *a = (const struct rtattr *)((const char *)NLMSG_DATA(h) +
							 NLMSG_ALIGN(hdr));

	for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
		;
	FZ_CHECK(alen == 0, "request attributes leave %d bytes", alen);
	return (ssize_t)len;
}

/* The next datagram; -1 (ENOBUFS) when the input has no more. */
static ssize_t fake_recv(int fd, void *buf, size_t len, int flags)
{
	const uint8_t *p;
	size_t n, want;

	FZ_CHECK(fd == FAKE_FD, "recv on fd %d", fd);
	if (rbuf)
		ASAN_UNPOISON_MEMORY_REGION(rbuf, rbuf_len);
	if (in.n < 2) {
		errno = ENOBUFS;
		return -1;
	}
	want = fz_u16(&in);
	n = fz_take(&in, want, &p);
	if (n > len)
		n = len;
	memcpy(buf, p, n);
	rbuf = buf;
	rbuf_len = len;
	ASAN_POISON_MEMORY_REGION((char *)buf + n, len - n);
	return (ssize_t)n;
}

static int fake_close(int fd)
{
	FZ_CHECK(fd == FAKE_FD, "close(%d)", fd);
	return 0;
}

static void fake_free(void *p)
{
	if (p && p == rbuf) {
		ASAN_UNPOISON_MEMORY_REGION(rbuf, rbuf_len);
		rbuf = NULL;
	}
	free(p);
}

#define socket(d, t, p) fake_socket(d, t, p)
#define sendto(fd, b, l, f, sa, sl) fake_sendto(fd, b, l, f, sa, sl)
#define recv(fd, b, l, f) fake_recv(fd, b, l, f)
#define close(fd) fake_close(fd)
#define free(p) fake_free(p)
#include "netlink.c"
#undef free
#undef close
#undef recv
#undef sendto
#undef socket

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	return 0;
}

static void check_rc(int r, const char *what)
{
	FZ_CHECK(r == 0 || (r < 0 && r > -4096), "%s returned %d", what, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t op, mac[6] = { 0 }, prefix;
	uint32_t a, b;
	int r, ifindex;

	in = (struct fz){ data, size };
	op = fz_u8(&in);
	a = fz_u32(&in);
	prefix = fz_u8(&in);
	ifindex = (int)(fz_u8(&in) % 8) - 1;
	switch (op % 8) {
	case 0: {
		char why[96];

		memset(why, 0x55, sizeof(why));
		r = lwt_nl_route_conflict(a, prefix % 33, ifindex, why, sizeof(why));
		FZ_CHECK(r == 0 || r == 1 || (r < 0 && r > -4096), "route_conflict returned %d", r);
		if (r == 1)
			FZ_CHECK(strnlen(why, sizeof(why)) < sizeof(why) && why[0],
				 "conflict without a terminated reason");
		break;
	}
	case 1: {
		int oif = -7;
		uint32_t src = 0x5555, gw = 0x5555;

		r = lwt_nl_route_get(a, &oif, &src, &gw);
		check_rc(r, "route_get");
		if (r)
			FZ_CHECK(oif == -7 && src == 0x5555 && gw == 0x5555,
				 "route_get failed (%d) but wrote its outputs", r);
		break;
	}
	case 2:
		r = lwt_nl_neigh_get(ifindex, a, mac);
		check_rc(r, "neigh_get");
		if (r)
			FZ_CHECK(!memcmp(mac, "\0\0\0\0\0\0", 6), "neigh_get failed but wrote a MAC");
		break;
	case 3:
		r = lwt_nl_link_mtu(ifindex);
		FZ_CHECK(r > -4096 && r != 0, "link_mtu returned %d", r);
		break;
	case 4:
		b = fz_u32(&in);
		check_rc(lwt_nl_route_add(ifindex, a, prefix % 34, b), "route_add");
		break;
	case 5:
		check_rc(lwt_nl_route_del(ifindex, a, prefix % 34), "route_del");
		break;
	case 6:
		check_rc(lwt_nl_addr_add(ifindex, a, prefix % 34), "addr_add");
		break;
	case 7:
		if (prefix & 1)
			check_rc(lwt_nl_link_set_up(ifindex, prefix & 2), "link_set_up");
		else
			check_rc(lwt_nl_link_set_mtu(ifindex, (int)(a % 70000)), "link_set_mtu");
		break;
	}
	return 0;
}
