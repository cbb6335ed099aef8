/* SPDX-License-Identifier: MIT */
/* IPv6 inside the tunnel. tunnel_addr may add an IPv6 prefix to the
 * (required) IPv4 one: the TUN gets the address (without DAD), the client
 * claims it from the hub after the handshake (LWT_MSG_IP6_CLAIM; the hub
 * checks it as lwt_admit checks an IPv4 one: a host of its IPv6 prefix, not
 * its own, not another client's, not inside another client's route), and
 * IPv6 routes (routes/allowed_routes entries with a colon) are advertised,
 * judged and distributed as IPv4 ones (LWT_MSG_ROUTES6). Data plane
 * (dp_in6.c): the hub routes IPv6 by exact address (slot index) and then by
 * longest prefix (in6idx.h), with client isolation and source checks; a
 * client sends all its IPv6 to the hub (no direct paths for IPv6).
 *
 * Threads: the control thread owns struct lwt_in6 but for pub/pub_gen,
 * which the pollers read (relaxed; a reader confirms an index hit by the
 * published address and the slot's generation). */
#ifndef LWT_INET6_H
#define LWT_INET6_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "in6idx.h"
#include "slotidx.h"

struct lwt_daemon;
struct lwt_slot;

struct lwt_route6 {
	uint8_t net[16];
	uint8_t prefix;
	int slot;
	uint32_t gen;
};

struct lwt_in6 {
	/* server: each slot's accepted IPv6 address (0 = none) and the slot
	 * generation it was accepted for */
	_Atomic uint64_t (*pub)[2];
	_Atomic uint32_t *pub_gen;
	struct lwt_slotidx idx;		/* the slots by lwt_in6_key(address) */
	struct lwt_route6 *routes;	/* server: accepted IPv6 routes */
	int nroutes;
	_Atomic uint64_t claims_refused;
	/* client */
	int claim;			/* enum below */
	uint8_t claim_status;		/* the server's lwt_ip6_status when refused */
	uint64_t claim_next_ns, routes_next_ns;
	uint8_t server_addr[16], server_prefix;
	uint8_t route_status[LWT_MAX_ROUTES];	/* 0 unheard, else lwt_route_status + 1 */
	struct lwt_cidr6 *peer, *stage;	/* the other clients' IPv6 routes: installed, arriving */
	int npeer, nstage;
};
enum { LWT_IN6_NONE, LWT_IN6_PENDING, LWT_IN6_OK, LWT_IN6_REFUSED };

/* inet6_nl.c */
int lwt_nl6_enable(const char *ifname);
int lwt_nl6_addr_add(int ifindex, const uint8_t addr[16], uint8_t prefix);
int lwt_nl6_route_add(int ifindex, const uint8_t dst[16], uint8_t prefix);
int lwt_nl6_route_del(int ifindex, const uint8_t dst[16], uint8_t prefix);

/* inet6.c, control thread */
int lwt_in6_init(struct lwt_daemon *d);
void lwt_in6_free(struct lwt_daemon *d);
/* The TUN's IPv6 (before privileges are dropped). 0 or -errno, logged. */
int lwt_in6_tun_setup(struct lwt_daemon *d);
void lwt_in6_session_up(struct lwt_daemon *d, int slot);
void lwt_in6_slot_gone(struct lwt_daemon *d, int slot);
void lwt_in6_tick(struct lwt_daemon *d, uint64_t now);
void lwt_in6_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len);
/* A reload: the IPv6 entries of routes and allowed_routes from n into c,
 * *routes / *allowed set when they changed; then lwt_in6_reload (from
 * lwt_routes_reload) acts on them. */
void lwt_in6_reload_cfg(struct lwt_config *c, const struct lwt_config *n, bool *routes,
			bool *allowed);
void lwt_in6_reload(struct lwt_daemon *d);
/* inet6_routes.c, for inet6.c */
void lwt_in6_announce(struct lwt_daemon *d, int only);
void lwt_in6_routes_gone(struct lwt_daemon *d, int slot);
void lwt_in6_advertise(struct lwt_daemon *d);
void lwt_in6_routes_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len);
/* lwt-ctl: status (root) and one peer (slot i) */
void lwt_in6_status_json(const struct lwt_daemon *d, void *root);
void lwt_in6_peer_json(const struct lwt_daemon *d, int i, void *peer);
/* lwt-ctl routes: the IPv6 routes */
void lwt_in6_routes_json(const struct lwt_daemon *d, void *root);

#endif
