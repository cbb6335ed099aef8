// SPDX-License-Identifier: MIT
/* IPv6 on the TUN (inet6.h): the kernel's IPv6 switched on for it, its
 * address without duplicate address detection (no peer on a TUN could
 * answer one; DAD would only hold the address back a second or more), and
 * routes to advertised prefixes. Each call its own NETLINK_ROUTE socket,
 * as netlink.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>
#include <sys/socket.h>

#include "inet6.h"
#include "netlink.h"

#define RTPROT_LWT 0x4c	/* as netlink.c: routes we install carry it */

struct nlreq6 {
	struct nlmsghdr h;
	union {
		struct ifaddrmsg ifa;
		struct rtmsg rtm;
	};
	char attrs[128];
};

__attribute__((noinline))
static void addattr6(struct nlmsghdr *h, int type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send a request, wait for its ACK: 0 or -errno (netlink.c's exchange). */
static int ack_talk(struct nlmsghdr *h)
{
	return lwt_nl_talk(h, NULL, NULL);
}

int lwt_nl6_enable(const char *ifname)
{
	char path[128];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "0\n", 2) != 2)
		r = -errno;
	close(fd);
	return r;
}

int lwt_nl6_addr_add(int ifindex, const uint8_t addr[16], uint8_t prefix)
{
	struct nlreq6 r;
	uint32_t fl = IFA_F_NODAD;

	if (ifindex <= 0 || prefix > 128)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.h.nlmsg_type = RTM_NEWADDR;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	r.ifa.ifa_family = AF_INET6;
	r.ifa.ifa_prefixlen = prefix;
	r.ifa.ifa_flags = IFA_F_NODAD;
	r.ifa.ifa_index = ifindex;
	addattr6(&r.h, IFA_LOCAL, addr, 16);
	addattr6(&r.h, IFA_ADDRESS, addr, 16);
	addattr6(&r.h, IFA_FLAGS, &fl, sizeof(fl));
	return ack_talk(&r.h);
}

static int route6_msg(int type, int flags, int ifindex, const uint8_t dst[16], uint8_t prefix)
{
	struct nlreq6 r;
	uint32_t oif = ifindex;

	if (ifindex <= 0 || prefix > 128)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.h.nlmsg_type = type;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r.rtm.rtm_family = AF_INET6;
	r.rtm.rtm_dst_len = prefix;
	r.rtm.rtm_table = RT_TABLE_MAIN;
	r.rtm.rtm_protocol = RTPROT_LWT;
	r.rtm.rtm_scope = RT_SCOPE_UNIVERSE;
	r.rtm.rtm_type = RTN_UNICAST;
	addattr6(&r.h, RTA_DST, dst, 16);
	addattr6(&r.h, RTA_OIF, &oif, 4);
	return ack_talk(&r.h);
}

int lwt_nl6_route_add(int ifindex, const uint8_t dst[16], uint8_t prefix)
{
	return route6_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, dst, prefix);
}

int lwt_nl6_route_del(int ifindex, const uint8_t dst[16], uint8_t prefix)
{
	return route6_msg(RTM_DELROUTE, 0, ifindex, dst, prefix);
}
