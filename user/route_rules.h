/* SPDX-License-Identifier: MIT */
/* The rules a server judges a client's route advert by, written once for
 * both families: routes.c (IPv4) and inet6_routes.c (IPv6) describe their
 * tables to lwt_route_judge() and it answers an enum lwt_route_status.
 * A network is its address bytes in network order (4 or 16 of them: an
 * IPv4 uint32_t in network order is its own 4 bytes) and a prefix length. */
#ifndef LWT_ROUTE_RULES_H
#define LWT_ROUTE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lwt_daemon;

/* A table of prefixes of either family, described in place (no copy):
 * each entry holds its network at offset 0 and a uint8_t prefix, and an
 * int slot (its client) when slot_off >= 0. */
struct lwt_rtab {
	const uint8_t *base;
	int n;
	size_t stride, prefix_off;
	ptrdiff_t slot_off;
};

#define LWT_RTAB(arr, cnt)                                                             \
	((struct lwt_rtab){ .base = (const uint8_t *)(arr), .n = (cnt),                \
			    .stride = sizeof(*(arr)),                                  \
			    .prefix_off = offsetof(__typeof__(*(arr)), prefix), .slot_off = -1 })
#define LWT_RTAB_SLOT(arr, cnt)                                                        \
	((struct lwt_rtab){ .base = (const uint8_t *)(arr), .n = (cnt),                \
			    .stride = sizeof(*(arr)),                                  \
			    .prefix_off = offsetof(__typeof__(*(arr)), prefix),        \
			    .slot_off = offsetof(__typeof__(*(arr)), slot) })

struct lwt_route_rules {
	int alen;			/* address bytes: 4 or 16 */
	/* The tunnel subnet (any address in it), and the server's own tunnel
	 * address; NULL: none (IPv6 not set up on the server). */
	const uint8_t *tun;
	uint8_t tun_prefix;
	const uint8_t *self;
	struct lwt_rtab allowed;	/* allowed_routes */
	struct lwt_rtab accepted;	/* clients' accepted routes, with slots */
	struct lwt_rtab own;		/* the server's own routes */
	/* Whether net/p covers the tunnel address of a client up other than
	 * slot's. */
	bool (*holds_peer)(const struct lwt_daemon *d, int slot, const uint8_t *net, uint8_t p);
	const struct lwt_daemon *d;
};

/* a inside net/p (alen address bytes; both sides masked to p). */
bool lwt_pfx_within(const uint8_t *a, const uint8_t *net, int p, int alen);
/* The verdict on net/p (host bits clear) advertised by slot's client. */
int lwt_route_judge(const struct lwt_route_rules *r, int slot, const uint8_t *net, uint8_t p);

#endif
