// SPDX-License-Identifier: MIT
/* Path MTU over IPv6 (pmtu_search.h): ICMPv6 Packet Too Big read from a
 * raw ICMPv6 socket that passes only that type. The socket hands the
 * message from its ICMPv6 header on (no IPv6 header): type 2, code 0,
 * checksum, the MTU (32 bits), then as much of the packet that did not
 * fit as the router quoted: its IPv6 header and our TCP ports. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "pmtu_search.h"

int lwt_pmtu_icmp6_open(void)
{
	struct icmp6_filter f;
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);

	if (fd < 0)
		return -errno;
	ICMP6_FILTER_SETBLOCKALL(&f);
	ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f);
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int lwt_pmtu_icmp6_parse(const uint8_t *b, size_t len, struct lwt_pmtu_icmp *q)
{
	const uint8_t *ip6 = b + 8;
	uint32_t mtu;

	if (len < 8 + 40 + 4 || b[0] != ICMP6_PACKET_TOO_BIG || b[1] != 0)
		return -EINVAL;
	if (ip6[0] >> 4 != 6 || ip6[6] != IPPROTO_TCP)
		return -EINVAL;
	memcpy(&mtu, b + 4, 4);
	mtu = ntohl(mtu);
	if (mtu < 1280 || mtu > 65535)
		return -EINVAL;	/* RFC 8201: below the IPv6 minimum is never taken */
	memset(q, 0, sizeof(*q));
	q->mtu = (int)mtu;
	memcpy(q->sa6.b, ip6 + 8, 16);
	memcpy(q->da6.b, ip6 + 24, 16);
	q->saddr = lwt_addr_key32(&q->sa6);
	q->daddr = lwt_addr_key32(&q->da6);
	memcpy(&q->sport, ip6 + 40, 2);
	memcpy(&q->dport, ip6 + 42, 2);
	q->v6 = true;
	return 0;
}
