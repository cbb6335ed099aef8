/* SPDX-License-Identifier: MIT */
/* Minimal rtnetlink client (no external library): links, addresses, routes,
 * neighbours. Every call opens, uses and closes its own NETLINK_ROUTE socket,
 * so it is safe from any thread. Addresses are network byte order. */
#ifndef LWT_NETLINK_H
#define LWT_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

int lwt_nl_link_index(const char *ifname);		/* >0 or -errno */
int lwt_nl_link_set_mtu(int ifindex, int mtu);
int lwt_nl_link_set_up(int ifindex, bool up);
int lwt_nl_addr_add(int ifindex, uint32_t addr, uint8_t prefix);
int lwt_nl_route_add(int ifindex, uint32_t dst, uint8_t prefix, uint32_t gateway);
int lwt_nl_route_del(int ifindex, uint32_t dst, uint8_t prefix);
/* Create or replace our host/net route to dst on ifindex with an MTU. */
int lwt_nl_route_set_mtu(int ifindex, uint32_t dst, uint8_t prefix, int mtu);
/* 1 if a connected or local route of this host (not one of ours, not on
 * skip_ifindex) overlaps dst/prefix, described in why; 0 if none; -errno. */
int lwt_nl_route_conflict(uint32_t dst, uint8_t prefix, int skip_ifindex, char *why, size_t wl);
/* One request h (filled by the caller: nl_lookup.c, inet6_nl.c), each
 * answer to cb. */
struct nlmsghdr;
int lwt_nl_talk(struct nlmsghdr *h, int (*cb)(struct nlmsghdr *, void *), void *arg);
/* nl_lookup.c, both families. Route lookup (RTM_GETROUTE) for dst: out
 * interface, preferred source (IPv4), gateway (0 if direct). */
int lwt_nl_route_get(uint32_t dst, int *ifindex, uint32_t *src, uint32_t *gateway);
/* The IPv6 route to dst (16 bytes): its interface and gateway (all zero:
 * on link). */
int lwt_nl_route_get6(const uint8_t *dst, int *ifindex, uint8_t *gateway);
/* Neighbour table lookup: MAC of ip on ifindex; -ENOENT if absent/incomplete. */
int lwt_nl_neigh_get(int ifindex, uint32_t ip, uint8_t mac[6]);
int lwt_nl_neigh_get6(int ifindex, const uint8_t *ip, uint8_t mac[6]);
/* MTU of a link. */
int lwt_nl_link_mtu(int ifindex);
/* Transmit queue length of a link (packets), and setting it. */
int lwt_nl_link_txqlen(int ifindex);
int lwt_nl_link_set_txqlen(int ifindex, int qlen);

#endif
