// SPDX-License-Identifier: MIT
/* IPv6 route and neighbour look-ups (netlink.h), for the AF_XDP path's
 * link headers towards an IPv6 peer. */
#include <errno.h>
#include <string.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "netlink.h"

struct req6 {
	struct nlmsghdr h;
	union {
		struct rtmsg rtm;
		struct ndmsg ndm;
	};
	char attrs[64];
};

struct route6_ans {
	int ifindex, found;
	uint8_t gw[16];
};

static int route6_cb(struct nlmsghdr *m, void *arg)
{
	struct route6_ans *a = arg;
	struct rtmsg *rt = NLMSG_DATA(m);
	struct rtattr *at;
	int len = RTM_PAYLOAD(m);

	if (m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
		return 0;
	for (at = RTM_RTA(rt); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
		if (at->rta_type == RTA_OIF && RTA_PAYLOAD(at) >= 4)
			memcpy(&a->ifindex, RTA_DATA(at), 4);
		else if (at->rta_type == RTA_GATEWAY && RTA_PAYLOAD(at) >= 16)
			memcpy(a->gw, RTA_DATA(at), 16);
	}
	a->found = 1;
	return 0;
}

int lwt_nl_route_get6(const uint8_t *dst, int *ifindex, uint8_t *gateway)
{
	struct route6_ans a = { 0 };
	struct req6 r;
	struct rtattr *at;
	int err;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.h.nlmsg_type = RTM_GETROUTE;
	r.h.nlmsg_flags = NLM_F_REQUEST;
	r.rtm.rtm_family = AF_INET6;
	r.rtm.rtm_dst_len = 128;
	at = (struct rtattr *)((char *)&r.h + NLMSG_ALIGN(r.h.nlmsg_len));
	at->rta_type = RTA_DST;
	at->rta_len = RTA_LENGTH(16);
	memcpy(RTA_DATA(at), dst, 16);
	r.h.nlmsg_len = NLMSG_ALIGN(r.h.nlmsg_len) + RTA_ALIGN(at->rta_len);
	err = lwt_nl_talk(&r.h, route6_cb, &a);
	if (err)
		return err;
	if (!a.found)
		return -ENETUNREACH;
	*ifindex = a.ifindex;
	memcpy(gateway, a.gw, 16);
	return 0;
}

struct neigh6_ans {
	int ifindex, found;
	const uint8_t *ip;
	uint8_t mac[6];
};

static int neigh6_cb(struct nlmsghdr *m, void *arg)
{
	struct neigh6_ans *a = arg;
	struct ndmsg *nd = NLMSG_DATA(m);
	struct rtattr *at;
	int len = (int)m->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*nd)), dst = 0, has_mac = 0;
	uint8_t mac[6];

	if (m->nlmsg_type != RTM_NEWNEIGH || m->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)) ||
	    nd->ndm_family != AF_INET6 || nd->ndm_ifindex != a->ifindex ||
	    !(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
		return 0;
	for (at = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd))); RTA_OK(at, len);
	     at = RTA_NEXT(at, len)) {
		if (at->rta_type == NDA_DST && RTA_PAYLOAD(at) == 16)
			dst = !memcmp(RTA_DATA(at), a->ip, 16);
		else if (at->rta_type == NDA_LLADDR && RTA_PAYLOAD(at) == 6) {
			memcpy(mac, RTA_DATA(at), 6);
			has_mac = 1;
		}
	}
	if (dst && has_mac) {
		memcpy(a->mac, mac, 6);
		a->found = 1;
	}
	return 0;
}

int lwt_nl_neigh_get6(int ifindex, const uint8_t *ip, uint8_t mac[6])
{
	struct neigh6_ans a = { .ifindex = ifindex, .ip = ip };
	struct req6 r;
	int err;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.h.nlmsg_type = RTM_GETNEIGH;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.ndm.ndm_family = AF_INET6;
	err = lwt_nl_talk(&r.h, neigh6_cb, &a);
	if (err)
		return err;
	if (!a.found)
		return -ENOENT;
	memcpy(mac, a.mac, 6);
	return 0;
}
