// SPDX-License-Identifier: MIT
/* A small rtnetlink client: one socket per call, request + ACK/answer. */
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

#include "netlink.h"

#define NL_BUF 16384
#define RTPROT_LWT 0x4c	/* routes we install carry this protocol number */

struct nlreq {
	struct nlmsghdr h;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rtm;
		struct ndmsg ndm;
	};
	char attrs[256];
};

/* Not inlined: GCC then tracks the attribute past the header and warns of
 * an overflow that the length checks of the callers rule out. */
__attribute__((noinline))
static void addattr(struct nlmsghdr *h, int type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send h; call cb for every answer message; return 0 or -errno from an
 * NLMSG_ERROR. */
static int talk(struct nlmsghdr *h, int (*cb)(struct nlmsghdr *, void *), void *arg)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char *buf;
	int fd, err = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	buf = malloc(NL_BUF);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	h->nlmsg_seq = 1;
	if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, NL_BUF, 0);
		struct nlmsghdr *m;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		for (m = (struct nlmsghdr *)buf; NLMSG_OK(m, n); m = NLMSG_NEXT(m, n)) {
			if (m->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (m->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(m);

				/* 0 (an ACK) or -errno; anything else is no answer. */
				err = m->nlmsg_len < NLMSG_LENGTH(sizeof(e->error)) || e->error > 0 ||
				      e->error < -4095 ? -EPROTO : e->error;
				done = 1;
				break;
			}
			if (cb) {
				int r = cb(m, arg);

				if (r < 0 && !err)
					err = r;
			}
			if (!(m->nlmsg_flags & NLM_F_MULTI)) {
				done = 1;
				break;
			}
		}
	}
out:
	free(buf);
	close(fd);
	return err;
}

int lwt_nl_link_index(const char *ifname)
{
	unsigned int i;

	if (!ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	i = if_nametoindex(ifname);
	return i ? (int)i : -ENODEV;
}

static int link_change2(int ifindex, unsigned int flags, unsigned int change, int mtu, int txqlen)
{
	struct nlreq r;

	if (ifindex <= 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_NEWLINK;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	r.ifi.ifi_flags = flags;
	r.ifi.ifi_change = change;
	if (mtu > 0)
		addattr(&r.h, IFLA_MTU, &mtu, sizeof(mtu));
	if (txqlen > 0)
		addattr(&r.h, IFLA_TXQLEN, &txqlen, sizeof(txqlen));
	return talk(&r.h, NULL, NULL);
}

static int link_change(int ifindex, unsigned int flags, unsigned int change, int mtu)
{
	return link_change2(ifindex, flags, change, mtu, 0);
}

int lwt_nl_link_set_txqlen(int ifindex, int qlen)
{
	if (qlen <= 0)
		return -EINVAL;
	return link_change2(ifindex, 0, 0, 0, qlen);
}

int lwt_nl_link_set_mtu(int ifindex, int mtu)
{
	if (mtu < 68 || mtu > 65535)
		return -EINVAL;
	return link_change(ifindex, 0, 0, mtu);
}

int lwt_nl_link_set_up(int ifindex, bool up)
{
	return link_change(ifindex, up ? IFF_UP : 0, IFF_UP, 0);
}

int lwt_nl_addr_add(int ifindex, uint32_t addr, uint8_t prefix)
{
	struct nlreq r;

	if (ifindex <= 0 || prefix > 32)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.h.nlmsg_type = RTM_NEWADDR;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	r.ifa.ifa_family = AF_INET;
	r.ifa.ifa_prefixlen = prefix;
	r.ifa.ifa_index = ifindex;
	addattr(&r.h, IFA_LOCAL, &addr, 4);
	addattr(&r.h, IFA_ADDRESS, &addr, 4);
	return talk(&r.h, NULL, NULL);
}

/* mtu: 0, or the route's MTU (RTA_METRICS RTAX_MTU). */
static int route_msg(int type, int flags, int ifindex, uint32_t dst, uint8_t prefix, uint32_t gw,
		     int mtu)
{
	struct nlreq r;
	uint32_t oif = ifindex, v = (uint32_t)mtu;
	char mx[RTA_LENGTH(sizeof(v))];
	struct rtattr *m = (struct rtattr *)mx;

	if (ifindex <= 0 || prefix > 32)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.h.nlmsg_type = type;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r.rtm.rtm_family = AF_INET;
	r.rtm.rtm_dst_len = prefix;
	r.rtm.rtm_table = RT_TABLE_MAIN;
	r.rtm.rtm_protocol = RTPROT_LWT;
	r.rtm.rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	r.rtm.rtm_type = RTN_UNICAST;
	addattr(&r.h, RTA_DST, &dst, 4);
	addattr(&r.h, RTA_OIF, &oif, 4);
	if (gw)
		addattr(&r.h, RTA_GATEWAY, &gw, 4);
	if (mtu) {
		m->rta_type = RTAX_MTU;
		m->rta_len = RTA_LENGTH(sizeof(v));
		memcpy(RTA_DATA(m), &v, sizeof(v));
		addattr(&r.h, RTA_METRICS, mx, sizeof(mx));
	}
	return talk(&r.h, NULL, NULL);
}

/* NLM_F_EXCL: a route that exists already (ours or the host's) is never
 * replaced; the kernel answers EEXIST. */
int lwt_nl_route_add(int ifindex, uint32_t dst, uint8_t prefix, uint32_t gateway)
{
	return route_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, dst, prefix, gateway, 0);
}

/* A route of ours with an MTU (path MTU discovery, pmtu.c: a client's
 * tunnel IP on the server's TUN), created or replaced. */
int lwt_nl_route_set_mtu(int ifindex, uint32_t dst, uint8_t prefix, int mtu)
{
	if (mtu < 68 || mtu > 65535)
		return -EINVAL;
	return route_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, ifindex, dst, prefix, 0, mtu);
}

/* rtm_protocol is set: the kernel deletes only a route of our protocol. */
int lwt_nl_route_del(int ifindex, uint32_t dst, uint8_t prefix)
{
	return route_msg(RTM_DELROUTE, 0, ifindex, dst, prefix, 0, 0);
}

struct conflict_ans {
	uint32_t dst;
	uint8_t prefix;
	int skip_ifindex;
	uint32_t c_dst;
	uint8_t c_prefix;
	int c_ifindex;
	unsigned char c_type;
	int found;
};

static uint32_t mask_of(uint8_t prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

/* A connected (scope link, no gateway) or local route of the main or local
 * table, not ours and not on skip_ifindex, that overlaps the advert. */
static int conflict_cb(struct nlmsghdr *m, void *arg)
{
	struct conflict_ans *a = arg;
	struct rtmsg *rt = NLMSG_DATA(m);
	struct rtattr *at;
	int len = RTM_PAYLOAD(m), oif = 0;
	uint32_t dst = 0, table, mask;
	bool gw = false;

	if (a->found || m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)) ||
	    rt->rtm_family != AF_INET || rt->rtm_protocol == RTPROT_LWT)
		return 0;
	table = rt->rtm_table;
	for (at = RTM_RTA(rt); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
		if (at->rta_type == RTA_OIF && RTA_PAYLOAD(at) >= 4)
			memcpy(&oif, RTA_DATA(at), 4);
		else if (at->rta_type == RTA_DST && RTA_PAYLOAD(at) >= 4)
			memcpy(&dst, RTA_DATA(at), 4);
		else if (at->rta_type == RTA_GATEWAY)
			gw = true;
		else if (at->rta_type == RTA_TABLE && RTA_PAYLOAD(at) >= 4)
			memcpy(&table, RTA_DATA(at), 4);
	}
	if (table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL)
		return 0;
	if (rt->rtm_type == RTN_LOCAL) {
		/* the host's own addresses */
	} else if (rt->rtm_type != RTN_UNICAST || gw || rt->rtm_scope != RT_SCOPE_LINK) {
		return 0;
	}
	if (oif && oif == a->skip_ifindex)
		return 0;
	mask = mask_of(rt->rtm_dst_len < a->prefix ? rt->rtm_dst_len : a->prefix);
	if ((dst & mask) != (a->dst & mask))
		return 0;
	a->c_dst = dst;
	a->c_prefix = rt->rtm_dst_len;
	a->c_ifindex = oif;
	a->c_type = rt->rtm_type;
	a->found = 1;
	return 0;
}

int lwt_nl_route_conflict(uint32_t dst, uint8_t prefix, int skip_ifindex, char *why, size_t wl)
{
	struct conflict_ans a = { .dst = dst, .prefix = prefix, .skip_ifindex = skip_ifindex };
	char ifn[IF_NAMESIZE] = "?", as[INET_ADDRSTRLEN];
	struct nlreq r;
	int err;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.h.nlmsg_type = RTM_GETROUTE;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.rtm.rtm_family = AF_INET;
	err = talk(&r.h, conflict_cb, &a);
	if (err)
		return err;
	if (!a.found)
		return 0;
	if (a.c_ifindex)
		if_indextoname(a.c_ifindex, ifn);
	inet_ntop(AF_INET, &a.c_dst, as, sizeof(as));
	snprintf(why, wl, "%s route %s/%u on %s", a.c_type == RTN_LOCAL ? "local" : "connected",
		 as, a.c_prefix, ifn);
	return 1;
}

int lwt_nl_talk(struct nlmsghdr *h, int (*cb)(struct nlmsghdr *, void *), void *arg)
{
	return talk(h, cb, arg);
}

struct mtu_ans {
	int mtu;
	int txqlen;
};

static int mtu_cb(struct nlmsghdr *m, void *arg)
{
	struct mtu_ans *a = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(m);
	struct rtattr *at;
	int len = m->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));

	if (m->nlmsg_type != RTM_NEWLINK || m->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return 0;
	for (at = IFLA_RTA(ifi); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
		if (at->rta_type == IFLA_MTU && RTA_PAYLOAD(at) >= 4) {
			uint32_t v;

			/* An MTU, never a value that reads as -errno. */
			memcpy(&v, RTA_DATA(at), 4);
			a->mtu = v >= 1 && v <= 0x7fffffff ? (int)v : -EPROTO;
		} else if (at->rta_type == IFLA_TXQLEN && RTA_PAYLOAD(at) >= 4) {
			uint32_t v;

			memcpy(&v, RTA_DATA(at), 4);
			a->txqlen = v <= 0x7fffffff ? (int)v : -EPROTO;
		}
	}
	return 0;
}

static int link_get(int ifindex, struct mtu_ans *a)
{
	struct nlreq r;

	if (ifindex <= 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_GETLINK;
	r.h.nlmsg_flags = NLM_F_REQUEST;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	return talk(&r.h, mtu_cb, a);
}

int lwt_nl_link_mtu(int ifindex)
{
	struct mtu_ans a = { -ENOENT, -ENOENT };
	int err = link_get(ifindex, &a);

	return err ? err : a.mtu;
}

int lwt_nl_link_txqlen(int ifindex)
{
	struct mtu_ans a = { -ENOENT, -ENOENT };
	int err = link_get(ifindex, &a);

	return err ? err : a.txqlen;
}
