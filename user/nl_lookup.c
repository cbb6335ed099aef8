// SPDX-License-Identifier: MIT
/* Route and neighbour look-ups (netlink.h) of either family, for the
 * paths' and the AF_XDP path's link headers: one request and one answer
 * parser serve IPv4 and IPv6, told apart by the address length (4 or 16
 * bytes). */
#include <errno.h>
#include <string.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "netlink.h"

struct req {
	struct nlmsghdr h;
	union {
		struct rtmsg rtm;
		struct ndmsg ndm;
	};
	char attrs[64];
};

struct route_ans {
	size_t alen;
	int ifindex, found;
	uint8_t src[16], gw[16];	/* all zero: none (on link) */
};

static int route_cb(struct nlmsghdr *m, void *arg)
{
	struct route_ans *a = arg;
	struct rtmsg *rt = NLMSG_DATA(m);
	struct rtattr *at;
	int len = RTM_PAYLOAD(m);

	if (m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
		return 0;
	for (at = RTM_RTA(rt); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
		if (at->rta_type == RTA_OIF && RTA_PAYLOAD(at) >= 4)
			memcpy(&a->ifindex, RTA_DATA(at), 4);
		else if (at->rta_type == RTA_PREFSRC && RTA_PAYLOAD(at) >= a->alen)
			memcpy(a->src, RTA_DATA(at), a->alen);
		else if (at->rta_type == RTA_GATEWAY && RTA_PAYLOAD(at) >= a->alen)
			memcpy(a->gw, RTA_DATA(at), a->alen);
	}
	a->found = 1;
	return 0;
}

/* RTM_GETROUTE for the host dst (a->alen bytes) of family. */
static int route_get(int family, const void *dst, struct route_ans *a)
{
	struct req r;
	struct rtattr *at;
	int err;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.h.nlmsg_type = RTM_GETROUTE;
	r.h.nlmsg_flags = NLM_F_REQUEST;
	r.rtm.rtm_family = family;
	r.rtm.rtm_dst_len = a->alen * 8;
	at = (struct rtattr *)((char *)&r.h + NLMSG_ALIGN(r.h.nlmsg_len));
	at->rta_type = RTA_DST;
	at->rta_len = RTA_LENGTH(a->alen);
	memcpy(RTA_DATA(at), dst, a->alen);
	r.h.nlmsg_len = NLMSG_ALIGN(r.h.nlmsg_len) + RTA_ALIGN(at->rta_len);
	err = lwt_nl_talk(&r.h, route_cb, a);
	if (err)
		return err;
	return a->found ? 0 : -ENETUNREACH;
}

int lwt_nl_route_get(uint32_t dst, int *ifindex, uint32_t *src, uint32_t *gateway)
{
	struct route_ans a = { .alen = 4 };
	int err = route_get(AF_INET, &dst, &a);

	if (err)
		return err;
	*ifindex = a.ifindex;
	memcpy(src, a.src, 4);
	memcpy(gateway, a.gw, 4);
	return 0;
}

int lwt_nl_route_get6(const uint8_t *dst, int *ifindex, uint8_t *gateway)
{
	struct route_ans a = { .alen = 16 };
	int err = route_get(AF_INET6, dst, &a);

	if (err)
		return err;
	*ifindex = a.ifindex;
	memcpy(gateway, a.gw, 16);
	return 0;
}

struct neigh_ans {
	size_t alen;
	int family, ifindex, found;
	const uint8_t *ip;
	uint8_t mac[6];
};

static int neigh_cb(struct nlmsghdr *m, void *arg)
{
	struct neigh_ans *a = arg;
	struct ndmsg *nd = NLMSG_DATA(m);
	struct rtattr *at;
	int len = (int)m->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*nd)), dst = 0, has_mac = 0;
	uint8_t mac[6];

	if (m->nlmsg_type != RTM_NEWNEIGH || m->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)) ||
	    nd->ndm_family != a->family || nd->ndm_ifindex != a->ifindex ||
	    !(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
		return 0;
	for (at = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd))); RTA_OK(at, len);
	     at = RTA_NEXT(at, len)) {
		if (at->rta_type == NDA_DST && RTA_PAYLOAD(at) == a->alen)
			dst = !memcmp(RTA_DATA(at), a->ip, a->alen);
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

/* The MAC of neighbour a->ip (a->alen bytes) on a->ifindex, from a dump of
 * a->family's neighbour table. */
static int neigh_get(struct neigh_ans *a, uint8_t mac[6])
{
	struct req r;
	int err;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.h.nlmsg_type = RTM_GETNEIGH;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.ndm.ndm_family = a->family;
	err = lwt_nl_talk(&r.h, neigh_cb, a);
	if (err)
		return err;
	if (!a->found)
		return -ENOENT;
	memcpy(mac, a->mac, 6);
	return 0;
}

int lwt_nl_neigh_get(int ifindex, uint32_t ip, uint8_t mac[6])
{
	struct neigh_ans a = { .alen = 4, .family = AF_INET, .ifindex = ifindex,
			       .ip = (const uint8_t *)&ip };

	return neigh_get(&a, mac);
}

int lwt_nl_neigh_get6(int ifindex, const uint8_t *ip, uint8_t mac[6])
{
	struct neigh_ans a = { .alen = 16, .family = AF_INET6, .ifindex = ifindex, .ip = ip };

	return neigh_get(&a, mac);
}
