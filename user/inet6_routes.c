// SPDX-License-Identifier: MIT
/* IPv6 route adverts inside the tunnel (inet6.h), control thread: the
 * IPv6 twin of routes.c. A client advertises the IPv6 entries of `routes`
 * once the hub accepted its IPv6 address and every route_update_interval;
 * the hub judges them against the IPv6 entries of `allowed_routes` by
 * routes.c's rules, installs the accepted ones towards its TUN and in the
 * pollers' LPM tables (in6idx.h), and tells every client holding an IPv6
 * address the others' routes, which it installs towards its own TUN. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "inet6.h"
#include "log.h"
#include "route_list.h"
#include "route_rules.h"

const char *lwt_route_status_str(int st);

static const char *c6(const uint8_t a[16], int p, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%d", inet_ntop(AF_INET6, a, s, sizeof(s)), p);
	return buf;
}

/* --- the route table of the pollers ------------------------------------ */

static void push_table(struct lwt_daemon *d)
{
	struct lwt_in6 *v = d->in6;
	struct lwt_rt6_ent *e = calloc(v->nroutes + 1, sizeof(*e));
	int i;

	if (!e) {
		lwt_err("routes: out of memory");
		return;
	}
	for (i = 0; i < v->nroutes; i++) {
		memcpy(e[i].net, v->routes[i].net, 16);
		e[i].prefix = v->routes[i].prefix;
		e[i].slot = v->routes[i].slot;
		e[i].gen = v->routes[i].gen;
	}
	for (i = 0; i < d->npollers; i++) {
		struct lwt_msg m = { .type = LWT_CMD_ROUTES6, .slot = -1 };

		m.ptr = lwt_rt6_build(e, v->nroutes);
		if (!m.ptr) {
			lwt_err("routes: out of memory for the IPv6 route table");
			continue;
		}
		if (lwt_msgq_push(&d->to_dp[i], &m))
			free(m.ptr);
	}
	free(e);
}

/* --- route lists --------------------------------------------------------- */

static void send_list(struct lwt_daemon *d, int slot, uint8_t kind, const struct lwt_route6_entry *e,
		      int n)
{
	uint8_t buf[sizeof(struct lwt_route6_msg) + LWT_ROUTE6_MSG_MAX * sizeof(struct lwt_route6_entry)];
	struct lwt_route6_msg *m = (struct lwt_route6_msg *)buf;
	int off = 0, c;

	do {
		c = n - off < LWT_ROUTE6_MSG_MAX ? n - off : LWT_ROUTE6_MSG_MAX;
		memset(m, 0, sizeof(*m));
		m->kind = kind;
		m->flags = (off == 0 ? LWT_ROUTE_F_FIRST : 0) | (off + c == n ? LWT_ROUTE_F_LAST : 0);
		m->count = c;
		memcpy(m->e, e + off, c * sizeof(*e));
		lwt_send_msg(d, slot, LWT_MSG_ROUTES6, m, sizeof(*m) + c * sizeof(*e));
		off += c;
	} while (off < n);
}

/* Tell every client holding an IPv6 address (or one: only) the IPv6 routes
 * of the server and of the other clients. */
void lwt_in6_announce(struct lwt_daemon *d, int only)
{
	struct lwt_in6 *v = d->in6;
	struct lwt_route6_entry *e = calloc(v->nroutes + d->cfg.n_routes6 + 1, sizeof(*e));
	int i, j, k, n;

	if (!e)
		return;
	/* One slot, or the sessions up (slotlist.h), not every slot. */
	for (k = 0; k < (only >= 0 ? 1 : d->slist.nup); k++) {
		i = only >= 0 ? only : d->slist.up_slot[k];
		if (d->slots[i].c.phase != LWT_PH_UP ||
		    !atomic_load_explicit(&v->pub[i][0], memory_order_relaxed))
			continue;
		for (j = 0, n = 0; j < d->cfg.n_routes6; j++) {
			memcpy(e[n].net, d->cfg.routes6[j].addr, 16);
			e[n++].prefix = d->cfg.routes6[j].prefix;
		}
		for (j = 0; j < v->nroutes; j++) {
			if (v->routes[j].slot == i)
				continue;
			memcpy(e[n].net, v->routes[j].net, 16);
			e[n++].prefix = v->routes[j].prefix;
		}
		send_list(d, i, LWT_MSG_ROUTE_UPDATE, e, n);
	}
	free(e);
}

/* route_rules.c's holds_peer: the IPv6 address of another client up
 * inside net/p. */
static bool holds_peer(const struct lwt_daemon *d, int slot, const uint8_t *net, uint8_t p)
{
	const struct lwt_in6 *v = d->in6;

	for (int k = 0; k < d->slist.nup; k++) {
		int i = d->slist.up_slot[k];
		uint8_t a[16];
		uint64_t hi, lo;

		hi = atomic_load_explicit(&v->pub[i][0], memory_order_relaxed);
		lo = atomic_load_explicit(&v->pub[i][1], memory_order_relaxed);
		if (i == slot || (!hi && !lo) || d->slots[i].c.phase != LWT_PH_UP)
			continue;
		memcpy(a, &hi, 8);
		memcpy(a + 8, &lo, 8);
		if (lwt_pfx_within(a, net, p, 16))
			return true;
	}
	return false;
}

_Static_assert(offsetof(struct lwt_cidr6, addr) == 0 && offsetof(struct lwt_route6, net) == 0,
	       "route_rules.h: the network first");

static int check_route(struct lwt_daemon *d, int slot, const uint8_t net[16], uint8_t p)
{
	const struct lwt_config *c = &d->cfg;
	struct lwt_route_rules r = {
		.alen = 16, .tun = c->has_ip6 ? c->tun6.addr : NULL, .tun_prefix = c->tun6.prefix,
		.self = c->has_ip6 ? c->tun6.addr : NULL,
		.allowed = LWT_RTAB(c->allowed_routes6, c->n_allowed_routes6),
		.accepted = LWT_RTAB_SLOT(d->in6->routes, d->in6->nroutes),
		.own = LWT_RTAB(c->routes6, c->n_routes6),
		.holds_peer = holds_peer, .d = d,
	};

	return lwt_route_judge(&r, slot, net, p);
}

static void route_drop(struct lwt_daemon *d, int i)
{
	struct lwt_in6 *v = d->in6;

	lwt_nl6_route_del(d->tun.ifindex, v->routes[i].net, v->routes[i].prefix);
	v->routes[i] = v->routes[--v->nroutes];
}

static void server_adverts(struct lwt_daemon *d, int slot, const struct lwt_route6_entry *e, int n)
{
	struct lwt_in6 *v = d->in6;
	struct lwt_slot *s = &d->slots[slot];
	struct lwt_route6_entry res[LWT_MAX_ROUTES];
	char b[64], ip[INET_ADDRSTRLEN];
	bool changed = false, keep;
	int i, j, st, r;

	if (n > LWT_MAX_ROUTES)
		n = LWT_MAX_ROUTES;
	inet_ntop(AF_INET, &s->c.tun_ip, ip, sizeof(ip));
	for (i = 0; i < v->nroutes;) {
		keep = v->routes[i].slot != slot;
		for (j = 0; !keep && j < n; j++)
			keep = !memcmp(v->routes[i].net, e[j].net, 16) && v->routes[i].prefix == e[j].prefix;
		if (keep) {
			i++;
			continue;
		}
		lwt_info("routes: %s withdrawn by client %s",
			 c6(v->routes[i].net, v->routes[i].prefix, b, sizeof(b)), ip);
		route_drop(d, i);
		changed = true;
	}
	for (j = 0; j < n; j++) {
		uint8_t p = e[j].prefix > 128 ? 128 : e[j].prefix, m[16];

		res[j] = (struct lwt_route6_entry){ .prefix = p };
		memcpy(res[j].net, e[j].net, 16);
		for (i = 0; i < v->nroutes; i++)
			if (v->routes[i].slot == slot && !memcmp(v->routes[i].net, e[j].net, 16) &&
			    v->routes[i].prefix == p)
				break;
		if (i < v->nroutes)
			continue;	/* a refresh */
		lwt_in6_mask(e[j].net, p, m);
		st = memcmp(m, e[j].net, 16) ? LWT_ROUTE_NOT_ALLOWED : check_route(d, slot, m, p);
		if (st == LWT_ROUTE_OK && v->nroutes == LWT_MAX_SERVER_ROUTES)
			st = LWT_ROUTE_FULL;
		if (st == LWT_ROUTE_OK) {
			r = lwt_nl6_route_add(d->tun.ifindex, m, p);
			if (r) {
				lwt_warn("routes: couldn't install %s: %s", c6(m, p, b, sizeof(b)), strerror(-r));
				st = r == -EEXIST ? LWT_ROUTE_LOCAL : LWT_ROUTE_FULL;
			}
		}
		res[j].status = (uint8_t)st;
		if (st != LWT_ROUTE_OK) {
			lwt_log_rl(LWT_LOG_WARN, "routes: client %s advertised %s: refused, %s", ip,
				   c6(m, p, b, sizeof(b)), lwt_route_status_str(st));
			continue;
		}
		v->routes[v->nroutes] = (struct lwt_route6){ .prefix = p, .slot = slot, .gen = s->gen };
		memcpy(v->routes[v->nroutes++].net, m, 16);
		lwt_info("routes: %s via client %s", c6(m, p, b, sizeof(b)), ip);
		changed = true;
	}
	send_list(d, slot, LWT_MSG_ROUTE_RESULT, res, n);
	if (changed) {
		push_table(d);
		lwt_in6_announce(d, -1);
	}
}

void lwt_in6_routes_gone(struct lwt_daemon *d, int slot)
{
	struct lwt_in6 *v = d->in6;
	bool changed = false;
	char b[64];
	int i;

	for (i = 0; i < v->nroutes;) {
		if (v->routes[i].slot != slot) {
			i++;
			continue;
		}
		lwt_info("routes: %s withdrawn (its client left)",
			 c6(v->routes[i].net, v->routes[i].prefix, b, sizeof(b)));
		route_drop(d, i);
		changed = true;
	}
	if (changed) {
		push_table(d);
		lwt_in6_announce(d, -1);
	}
}

void lwt_in6_advertise(struct lwt_daemon *d)
{
	struct lwt_route6_entry e[LWT_MAX_ROUTES] = { 0 };
	int i;

	for (i = 0; i < d->cfg.n_routes6; i++) {
		memcpy(e[i].net, d->cfg.routes6[i].addr, 16);
		e[i].prefix = d->cfg.routes6[i].prefix;
	}
	send_list(d, 0, LWT_MSG_ROUTES, e, d->cfg.n_routes6);
}

static void client_route_result(struct lwt_daemon *d, const struct lwt_route6_entry *e, int n)
{
	struct lwt_in6 *v = d->in6;
	char b[64];
	int i, j;

	for (j = 0; j < n; j++) {
		for (i = 0; i < d->cfg.n_routes6; i++)
			if (!memcmp(d->cfg.routes6[i].addr, e[j].net, 16) &&
			    d->cfg.routes6[i].prefix == e[j].prefix)
				break;
		if (i == d->cfg.n_routes6 || v->route_status[i] == e[j].status + 1)
			continue;
		v->route_status[i] = e[j].status + 1;
		if (e[j].status == LWT_ROUTE_OK)
			lwt_info("routes: server accepted %s", c6(e[j].net, e[j].prefix, b, sizeof(b)));
		else
			lwt_warn("routes: server refused %s: %s", c6(e[j].net, e[j].prefix, b, sizeof(b)),
				 lwt_route_status_str(e[j].status));
	}
}

static bool same6(const struct lwt_cidr6 *a, const struct lwt_cidr6 *b)
{
	return a->prefix == b->prefix && !memcmp(a->addr, b->addr, 16);
}

static void client_update(struct lwt_daemon *d)
{
	struct lwt_in6 *v = d->in6;
	char b[64];
	int i, j, r;

	for (i = 0; i < v->npeer; i++) {
		for (j = 0; j < v->nstage && !same6(&v->stage[j], &v->peer[i]); j++)
			;
		if (j < v->nstage)
			continue;
		lwt_nl6_route_del(d->tun.ifindex, v->peer[i].addr, v->peer[i].prefix);
		lwt_info("routes: %s gone", c6(v->peer[i].addr, v->peer[i].prefix, b, sizeof(b)));
	}
	for (j = 0; j < v->nstage; j++) {
		for (i = 0; i < v->npeer && !same6(&v->stage[j], &v->peer[i]); i++)
			;
		if (i < v->npeer)
			continue;
		c6(v->stage[j].addr, v->stage[j].prefix, b, sizeof(b));
		r = lwt_nl6_route_add(d->tun.ifindex, v->stage[j].addr, v->stage[j].prefix);
		if (r)
			lwt_warn("routes: couldn't install %s from the server: %s", b, strerror(-r));
		else
			lwt_info("routes: %s via the tunnel", b);
	}
	memcpy(v->peer, v->stage, v->nstage * sizeof(*v->stage));
	v->npeer = v->nstage;
}

void lwt_in6_routes_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len)
{
	struct lwt_in6 *v = d->in6;
	const struct lwt_route6_msg *h = (const struct lwt_route6_msg *)(m + 1);
	const struct lwt_route6_entry *e = h->e;
	int n, i;

	if (len < 1 + sizeof(*h))
		return;
	n = h->count;
	if (n > LWT_ROUTE6_MSG_MAX || len != 1 + sizeof(*h) + n * sizeof(*e))
		return;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		static struct lwt_route6_entry all[LWT_MAX_ROUTES];
		static struct lwt_route_gather g = LWT_ROUTE_GATHER_INIT;

		if (h->kind != LWT_MSG_ROUTES || d->slots[slot].c.phase != LWT_PH_UP)
			return;
		if (lwt_route_gather(&g, all, LWT_MAX_ROUTES, sizeof(*e), slot, h->flags, e, n))
			server_adverts(d, slot, all, g.n);
		return;
	}
	if (slot)
		return;
	if (h->kind == LWT_MSG_ROUTE_RESULT) {
		client_route_result(d, e, n);
	} else if (h->kind == LWT_MSG_ROUTE_UPDATE) {
		if (h->flags & LWT_ROUTE_F_FIRST)
			v->nstage = 0;
		for (i = 0; i < n && v->nstage < LWT_MAX_PEER_ROUTES; i++) {
			v->stage[v->nstage].prefix = e[i].prefix > 128 ? 128 : e[i].prefix;
			lwt_in6_mask(e[i].net, v->stage[v->nstage].prefix, v->stage[v->nstage].addr);
			v->nstage++;
		}
		if (h->flags & LWT_ROUTE_F_LAST)
			client_update(d);
	}
}

/* --- reload ------------------------------------------------------------- */

static bool same_list(const struct lwt_cidr6 *a, int na, const struct lwt_cidr6 *b, int nb)
{
	return na == nb && !memcmp(a, b, (size_t)na * sizeof(*a));
}

void lwt_in6_reload_cfg(struct lwt_config *c, const struct lwt_config *n, bool *routes,
			bool *allowed)
{
	if (!same_list(c->routes6, c->n_routes6, n->routes6, n->n_routes6)) {
		memcpy(c->routes6, n->routes6, sizeof(c->routes6));
		c->n_routes6 = n->n_routes6;
		*routes = true;
	}
	if (!same_list(c->allowed_routes6, c->n_allowed_routes6, n->allowed_routes6,
		       n->n_allowed_routes6)) {
		memcpy(c->allowed_routes6, n->allowed_routes6, sizeof(c->allowed_routes6));
		c->n_allowed_routes6 = n->n_allowed_routes6;
		*allowed = true;
	}
}

/* As routes.c's reload: accepted IPv6 routes no longer permitted go, every
 * client hears the new list; a client advertises its new list at once. */
void lwt_in6_reload(struct lwt_daemon *d)
{
	struct lwt_in6 *v = d->in6;
	bool changed = false;
	char b[64];
	int i, st;

	if (!v)
		return;
	if (d->cfg.mode == LWT_MODE_CLIENT) {
		memset(v->route_status, 0, sizeof(v->route_status));
		if (v->claim == LWT_IN6_OK)
			v->routes_next_ns = lwt_now_ns();
		return;
	}
	for (i = 0; i < v->nroutes;) {
		st = check_route(d, v->routes[i].slot, v->routes[i].net, v->routes[i].prefix);
		if (st == LWT_ROUTE_OK) {
			i++;
			continue;
		}
		lwt_info("routes: %s withdrawn after reload: %s",
			 c6(v->routes[i].net, v->routes[i].prefix, b, sizeof(b)), lwt_route_status_str(st));
		route_drop(d, i);
		changed = true;
	}
	if (changed)
		push_table(d);
	lwt_in6_announce(d, -1);
}

void lwt_in6_routes_json(const struct lwt_daemon *d, void *root)
{
	const struct lwt_in6 *v = d->in6;
	cJSON *a, *o;
	char b[64];
	int i;

	if (!v)
		return;
	a = cJSON_AddArrayToObject(root, "advertised6");
	for (i = 0; i < d->cfg.n_routes6; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "route", c6(d->cfg.routes6[i].addr, d->cfg.routes6[i].prefix,
						       b, sizeof(b)));
		if (d->cfg.mode == LWT_MODE_CLIENT)
			lwt_route_status_json(o, v->route_status[i]);
		cJSON_AddItemToArray(a, o);
	}
	if (d->cfg.mode == LWT_MODE_SERVER) {
		a = cJSON_AddArrayToObject(root, "accepted6");
		for (i = 0; i < v->nroutes; i++) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "route", c6(v->routes[i].net, v->routes[i].prefix, b,
							       sizeof(b)));
			cJSON_AddNumberToObject(o, "slot", v->routes[i].slot);
			cJSON_AddItemToArray(a, o);
		}
	} else {
		a = cJSON_AddArrayToObject(root, "from_server6");
		for (i = 0; i < v->npeer; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(c6(v->peer[i].addr, v->peer[i].prefix,
								      b, sizeof(b))));
	}
}
