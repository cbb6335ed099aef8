// SPDX-License-Identifier: MIT
/* IPv6 inside the tunnel, control thread (inet6.h): the TUN's IPv6, the
 * client's claim of its IPv6 tunnel address and the hub's verdict. IPv6
 * route adverts: inet6_routes.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "inet6.h"
#include "log.h"

#define CLAIM_EVERY_NS (1000000000ull)		/* unanswered claim: again */
#define CLAIM_REFUSED_NS (10000000000ull)	/* refused: asked again after this */

static const char *a6(const uint8_t a[16], char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static const char *c6(const uint8_t a[16], int p, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%d", a6(a, s), p);
	return buf;
}

static const char *claim_str(int st)
{
	switch (st) {
	case LWT_IP6_OK: return "accepted";
	case LWT_IP6_NONE: return "the server has no IPv6 tunnel address";
	case LWT_IP6_OUTSIDE: return "not a host address of the server's IPv6 tunnel prefix";
	case LWT_IP6_SERVER: return "the server's own address";
	case LWT_IP6_INUSE: return "held by another client";
	case LWT_IP6_IN_ROUTE: return "inside a route another client advertised";
	}
	return "refused";
}

static bool zero16(const uint8_t a[16])
{
	static const uint8_t z[16];

	return !memcmp(a, z, 16);
}

int lwt_in6_init(struct lwt_daemon *d)
{
	struct lwt_in6 *v = calloc(1, sizeof(*v));

	d->in6 = v;
	if (!v)
		return -ENOMEM;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		v->pub = calloc(d->nslots, sizeof(*v->pub));
		v->pub_gen = calloc(d->nslots, sizeof(*v->pub_gen));
		v->routes = calloc(LWT_MAX_SERVER_ROUTES, sizeof(*v->routes));
		if (!v->pub || !v->pub_gen || !v->routes || lwt_slotidx_init(&v->idx, d->nslots))
			return -ENOMEM;
	} else {
		v->peer = calloc(LWT_MAX_PEER_ROUTES, sizeof(*v->peer));
		v->stage = calloc(LWT_MAX_PEER_ROUTES, sizeof(*v->stage));
		if (!v->peer || !v->stage)
			return -ENOMEM;
	}
	return 0;
}

void lwt_in6_free(struct lwt_daemon *d)
{
	struct lwt_in6 *v = d->in6;

	if (!v)
		return;
	if (v->pub)
		lwt_slotidx_destroy(&v->idx);
	free(v->pub);
	free(v->pub_gen);
	free(v->routes);
	free(v->peer);
	free(v->stage);
	free(v);
	d->in6 = NULL;
}

int lwt_in6_tun_setup(struct lwt_daemon *d)
{
	char b[64];
	int r;

	if (!d->cfg.has_ip6)
		return 0;
	if (d->tun_mtu < 1280) {
		lwt_err("tunnel_addr: IPv6 needs a TUN MTU of at least 1280, this one is %d "
			"(raise mtu or drop the IPv6 prefix)", d->tun_mtu);
		return -EINVAL;
	}
	r = lwt_nl6_enable(d->tun.name);
	if (r) {
		lwt_err("couldn't enable IPv6 on '%s' (net.ipv6.conf.%s.disable_ipv6): %s",
			d->tun.name, d->tun.name, strerror(-r));
		return r;
	}
	r = lwt_nl6_addr_add(d->tun.ifindex, d->cfg.tun6.addr, d->cfg.tun6.prefix);
	if (r) {
		lwt_err("couldn't add %s to '%s': %s",
			c6(d->cfg.tun6.addr, d->cfg.tun6.prefix, b, sizeof(b)), d->tun.name, strerror(-r));
		return r;
	}
	return 0;
}

/* --- server: addresses ------------------------------------------------- */

static void publish(struct lwt_daemon *d, int slot, const uint8_t a[16])
{
	struct lwt_in6 *v = d->in6;
	uint64_t hi = 0, lo = 0, ohi, olo;
	uint8_t old[16];

	ohi = atomic_load_explicit(&v->pub[slot][0], memory_order_relaxed);
	olo = atomic_load_explicit(&v->pub[slot][1], memory_order_relaxed);
	memcpy(old, &ohi, 8);
	memcpy(old + 8, &olo, 8);
	if (a) {
		memcpy(&hi, a, 8);
		memcpy(&lo, a + 8, 8);
	}
	if (ohi == hi && olo == lo && (!a || v->pub_gen[slot] == d->slots[slot].gen))
		return;
	if (ohi || olo)
		lwt_slotidx_del(&v->idx, lwt_in6_key(old), slot);
	atomic_store_explicit(&v->pub[slot][0], 0, memory_order_relaxed);
	atomic_store_explicit(&v->pub[slot][1], 0, memory_order_release);
	if (!a)
		return;
	atomic_store_explicit(&v->pub_gen[slot], d->slots[slot].gen, memory_order_relaxed);
	atomic_store_explicit(&v->pub[slot][1], lo, memory_order_relaxed);
	atomic_store_explicit(&v->pub[slot][0], hi, memory_order_release);
	lwt_slotidx_add(&v->idx, lwt_in6_key(a), slot);
}

static bool slot_holds(const struct lwt_daemon *d, int i, const uint8_t a[16])
{
	const struct lwt_in6 *v = d->in6;
	uint64_t hi, lo;

	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	return atomic_load_explicit(&v->pub[i][0], memory_order_relaxed) == hi &&
	       atomic_load_explicit(&v->pub[i][1], memory_order_relaxed) == lo &&
	       atomic_load_explicit(&v->pub_gen[i], memory_order_relaxed) == d->slots[i].gen &&
	       d->slots[i].c.phase == LWT_PH_UP;
}

/* The live slot holding a, other than except, or -1: the index, confirmed. */
static int holder(const struct lwt_daemon *d, const uint8_t a[16], int except)
{
	const struct lwt_in6 *v = d->in6;
	struct lwt_slotidx_it it = lwt_slotidx_first(&v->idx, lwt_in6_key(a));
	int i;

	while ((i = lwt_slotidx_next(&v->idx, &it)) >= 0)
		if (i != except && i < d->nslots && slot_holds(d, i, a))
			return i;
	return -1;
}

static int route_covering(const struct lwt_daemon *d, const uint8_t a[16], int except)
{
	const struct lwt_in6 *v = d->in6;

	for (int i = 0; i < v->nroutes; i++)
		if (v->routes[i].slot != except && lwt_in6_within(a, v->routes[i].net, v->routes[i].prefix))
			return i;
	return -1;
}

static int judge_claim(struct lwt_daemon *d, int slot, const uint8_t a[16])
{
	const struct lwt_cidr6 *t = &d->cfg.tun6;
	uint8_t net[16];
	int h;

	if (!d->cfg.has_ip6)
		return LWT_IP6_NONE;
	lwt_in6_mask(a, t->prefix, net);
	if (!lwt_in6_within(a, t->addr, t->prefix) || !memcmp(net, a, 16))
		return LWT_IP6_OUTSIDE;
	if (!memcmp(a, t->addr, 16))
		return LWT_IP6_SERVER;
	h = holder(d, a, slot);
	if (h >= 0) {
		/* The same client again (a new flow of its client id while the
		 * old one lingers): the address moves with it, as its IPv4
		 * one does (takeover.c). */
		if (d->slots[h].c.client_id && d->slots[h].c.client_id == d->slots[slot].c.client_id) {
			publish(d, h, NULL);
			return LWT_IP6_OK;
		}
		return LWT_IP6_INUSE;
	}
	if (route_covering(d, a, slot) >= 0)
		return LWT_IP6_IN_ROUTE;
	return LWT_IP6_OK;
}

static void server_claim(struct lwt_daemon *d, int slot, const uint8_t *p, size_t len)
{
	struct lwt_ip6_claim c;
	struct lwt_ip6_result r = { 0 };
	char b[INET6_ADDRSTRLEN], ip[INET_ADDRSTRLEN];
	bool had;
	int st;

	if (len != sizeof(c) || d->slots[slot].c.phase != LWT_PH_UP)
		return;
	memcpy(&c, p, sizeof(c));
	had = slot_holds(d, slot, c.addr);
	st = judge_claim(d, slot, c.addr);
	inet_ntop(AF_INET, &d->slots[slot].c.tun_ip, ip, sizeof(ip));
	if (st == LWT_IP6_OK) {
		publish(d, slot, c.addr);
		if (!had) {
			lwt_info("client %s: IPv6 tunnel address %s", ip, a6(c.addr, b));
			lwt_in6_announce(d, slot);
		}
	} else {
		atomic_fetch_add_explicit(&d->in6->claims_refused, 1, memory_order_relaxed);
		lwt_log_rl(LWT_LOG_WARN, "client %s: IPv6 tunnel address %s refused: %s", ip,
			   a6(c.addr, b), claim_str(st));
	}
	r.status = (uint8_t)st;
	memcpy(r.addr, c.addr, 16);
	if (d->cfg.has_ip6) {
		r.server_prefix = d->cfg.tun6.prefix;
		memcpy(r.server_addr, d->cfg.tun6.addr, 16);
	}
	lwt_send_msg(d, slot, LWT_MSG_IP6_RESULT, &r, sizeof(r));
}

void lwt_in6_slot_gone(struct lwt_daemon *d, int slot)
{
	if (!d->in6 || d->cfg.mode != LWT_MODE_SERVER)
		return;
	publish(d, slot, NULL);
	lwt_in6_routes_gone(d, slot);
}

/* --- client -------------------------------------------------------------- */

void lwt_in6_session_up(struct lwt_daemon *d, int slot)
{
	struct lwt_in6 *v = d->in6;

	if (!v || d->cfg.mode != LWT_MODE_CLIENT || slot || !d->cfg.has_ip6)
		return;
	v->claim = LWT_IN6_PENDING;
	v->claim_next_ns = lwt_now_ns();
	v->routes_next_ns = 0;
}

static void send_claim(struct lwt_daemon *d)
{
	struct lwt_ip6_claim c = { .prefix = d->cfg.tun6.prefix };

	memcpy(c.addr, d->cfg.tun6.addr, 16);
	lwt_send_msg(d, 0, LWT_MSG_IP6_CLAIM, &c, sizeof(c));
}

void lwt_in6_tick(struct lwt_daemon *d, uint64_t now)
{
	struct lwt_in6 *v = d->in6;

	if (!v || d->cfg.mode != LWT_MODE_CLIENT || !d->cfg.has_ip6 ||
	    d->slots[0].c.phase != LWT_PH_UP || !lwt_slot_confirmed(&d->slots[0]))
		return;
	if (v->claim != LWT_IN6_OK && now >= v->claim_next_ns) {
		v->claim_next_ns = now + (v->claim == LWT_IN6_REFUSED ? CLAIM_REFUSED_NS : CLAIM_EVERY_NS);
		send_claim(d);
	}
	if (v->claim == LWT_IN6_OK && d->cfg.n_routes6 && now >= v->routes_next_ns) {
		v->routes_next_ns = now + (uint64_t)d->cfg.route_update_interval * 1000000000ull;
		lwt_in6_advertise(d);
	}
}

static void client_result(struct lwt_daemon *d, const uint8_t *p, size_t len)
{
	struct lwt_in6 *v = d->in6;
	struct lwt_ip6_result r;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (len != sizeof(r))
		return;
	memcpy(&r, p, sizeof(r));
	if (memcmp(r.addr, d->cfg.tun6.addr, 16) || v->claim == LWT_IN6_NONE)
		return;
	if (r.status == LWT_IP6_OK) {
		if (v->claim != LWT_IN6_OK)
			lwt_info("IPv6 tunnel address %s accepted by the server (its own: %s)",
				 a6(d->cfg.tun6.addr, a), r.server_prefix ? a6(r.server_addr, b) : "none");
		v->claim = LWT_IN6_OK;
		memcpy(v->server_addr, r.server_addr, 16);
		v->server_prefix = r.server_prefix;
		v->routes_next_ns = lwt_now_ns();
		return;
	}
	if (v->claim != LWT_IN6_REFUSED || v->claim_status != r.status)
		lwt_err("IPv6 tunnel address %s refused by the server: %s (IPv4 keeps working; "
			"asked again every %llu s)", a6(d->cfg.tun6.addr, a), claim_str(r.status),
			CLAIM_REFUSED_NS / 1000000000ull);
	v->claim = LWT_IN6_REFUSED;
	v->claim_status = r.status;
	v->claim_next_ns = lwt_now_ns() + CLAIM_REFUSED_NS;
}

void lwt_in6_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len)
{
	if (!d->in6 || !len)
		return;
	if (m[0] == LWT_MSG_IP6_CLAIM && d->cfg.mode == LWT_MODE_SERVER)
		server_claim(d, slot, m + 1, len - 1);
	else if (m[0] == LWT_MSG_IP6_RESULT && d->cfg.mode == LWT_MODE_CLIENT && slot == 0)
		client_result(d, m + 1, len - 1);
	else if (m[0] == LWT_MSG_ROUTES6)
		lwt_in6_routes_msg(d, slot, m, len);
}

/* --- lwt-ctl ------------------------------------------------------------- */

void lwt_in6_status_json(const struct lwt_daemon *d, void *root)
{
	static const char *const st[] = { "none", "pending", "accepted", "refused" };
	const struct lwt_in6 *v = d->in6;
	char b[64];

	if (!d->cfg.has_ip6 || !v)
		return;
	cJSON_AddStringToObject(root, "tunnel_addr6", c6(d->cfg.tun6.addr, d->cfg.tun6.prefix, b,
							   sizeof(b)));
	if (d->cfg.mode == LWT_MODE_CLIENT) {
		cJSON_AddStringToObject(root, "ip6_claim", st[v->claim]);
		if (v->claim == LWT_IN6_REFUSED)
			cJSON_AddStringToObject(root, "ip6_claim_reason", claim_str(v->claim_status));
		if (v->claim == LWT_IN6_OK && v->server_prefix)
			cJSON_AddStringToObject(root, "server_tunnel_ip6", a6(v->server_addr, b));
	} else {
		cJSON_AddNumberToObject(root, "ip6_claims_refused",
					(double)atomic_load_explicit(&v->claims_refused, memory_order_relaxed));
	}
}

void lwt_in6_peer_json(const struct lwt_daemon *d, int i, void *peer)
{
	const struct lwt_in6 *v = d->in6;
	uint64_t hi, lo;
	uint8_t a[16];
	char b[INET6_ADDRSTRLEN];

	if (!v || d->cfg.mode != LWT_MODE_SERVER)
		return;
	hi = atomic_load_explicit(&v->pub[i][0], memory_order_relaxed);
	lo = atomic_load_explicit(&v->pub[i][1], memory_order_relaxed);
	memcpy(a, &hi, 8);
	memcpy(a + 8, &lo, 8);
	cJSON_AddStringToObject(peer, "tunnel_ip6", zero16(a) ? "" : a6(a, b));
}
