// SPDX-License-Identifier: MIT
/* Route adverts (control thread). A client advertises the networks behind
 * it (`routes`) when its session comes up and every route_update_interval.
 * The server checks each against its allow-list (`allowed_routes`; by
 * default nothing is allowed), never takes a default route or one that
 * overlaps the tunnel subnet unless the allow-list names it, and gives a
 * network to the first client that claims it. Accepted routes get a kernel
 * route towards the server's TUN and an entry in the data thread's table
 * (longest prefix first); every client is told the other clients' routes
 * and installs them towards its own TUN. A client that leaves takes its
 * routes with it, and the others are told. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "log.h"
#include "inet6.h"
#include "netlink.h"
#include "route_list.h"
#include "route_rules.h"

static uint32_t mask_of(uint8_t prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

/* a within b (b's prefix no longer than a's, same network bits). */
static bool within(uint32_t an, uint8_t ap, uint32_t bn, uint8_t bp)
{
	return bp <= ap && (an & mask_of(bp)) == bn;
}

static const char *cidr_str(uint32_t net, uint8_t prefix, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", inet_ntop(AF_INET, &net, a, sizeof(a)), prefix);
	return buf;
}

const char *lwt_route_status_str(int st);
#define status_str lwt_route_status_str
const char *lwt_route_status_str(int st)
{
	switch (st) {
	case LWT_ROUTE_OK: return "accepted";
	case LWT_ROUTE_NOT_ALLOWED: return "not in the server's allowed_routes";
	case LWT_ROUTE_DEFAULT: return "a default route is not allowed";
	case LWT_ROUTE_TUNNEL: return "overlaps the tunnel subnet";
	case LWT_ROUTE_CONFLICT: return "already advertised by another client";
	case LWT_ROUTE_FULL: return "the server's route table is full";
	case LWT_ROUTE_HOLDS_PEER: return "covers the server's or another client's tunnel address";
	case LWT_ROUTE_LOCAL: return "overlaps a network the server is connected to";
	}
	return "refused";
}

int lwt_routes_init(struct lwt_daemon *d)
{
	if (d->cfg.mode == LWT_MODE_SERVER)
		d->routes = calloc(LWT_MAX_SERVER_ROUTES, sizeof(*d->routes));
	else {
		d->peer_routes = calloc(LWT_MAX_PEER_ROUTES, sizeof(*d->peer_routes));
		d->peer_stage = calloc(LWT_MAX_PEER_ROUTES, sizeof(*d->peer_stage));
		d->peer_route_state = calloc(LWT_MAX_PEER_ROUTES, 1);
	}
	if (lwt_in6_init(d))
		return -ENOMEM;
	return d->routes || (d->peer_routes && d->peer_stage && d->peer_route_state) ? 0 : -ENOMEM;
}

void lwt_routes_free(struct lwt_daemon *d)
{
	free(d->routes);
	free(d->peer_routes);
	free(d->peer_stage);
	free(d->peer_route_state);
	lwt_in6_free(d);
}

/* Keep a refusal for `lwt-ctl routes`: the same route from the same client
 * refreshes its entry; a new one takes the oldest entry's place. */
static void note_refusal(struct lwt_daemon *d, uint32_t net, uint8_t prefix, int st,
			 uint32_t owner)
{
	struct lwt_route_refusal *r = NULL;
	int i;

	for (i = 0; i < d->nrefused && !r; i++)
		if (d->refused[i].net == net && d->refused[i].prefix == prefix &&
		    d->refused[i].owner_ip == owner)
			r = &d->refused[i];
	if (!r && d->nrefused < LWT_ROUTE_REFUSALS)
		r = &d->refused[d->nrefused++];
	if (!r) {	/* full: the oldest gives way */
		r = &d->refused[0];
		for (i = 1; i < d->nrefused; i++)
			if (d->refused[i].at_ns < r->at_ns)
				r = &d->refused[i];
	}
	*r = (struct lwt_route_refusal){ .net = net, .prefix = prefix, .status = (uint8_t)st,
					 .owner_ip = owner, .at_ns = lwt_now_ns() };
}

/* A route accepted now is no longer refused. */
static void forget_refusal(struct lwt_daemon *d, uint32_t net, uint8_t prefix, uint32_t owner)
{
	for (int i = 0; i < d->nrefused; i++)
		if (d->refused[i].net == net && d->refused[i].prefix == prefix &&
		    d->refused[i].owner_ip == owner) {
			d->refused[i] = d->refused[--d->nrefused];
			return;
		}
}

/* Send a list of routes in as many messages as it takes. */
static void send_list(struct lwt_daemon *d, int slot, uint8_t type, const struct lwt_route_entry *e,
		      int n)
{
	uint8_t buf[sizeof(struct lwt_route_msg) + LWT_ROUTE_MSG_MAX * sizeof(struct lwt_route_entry)];
	struct lwt_route_msg *m = (struct lwt_route_msg *)buf;
	int off = 0, c;

	do {
		c = n - off < LWT_ROUTE_MSG_MAX ? n - off : LWT_ROUTE_MSG_MAX;
		memset(m, 0, sizeof(*m));
		m->flags = (off == 0 ? LWT_ROUTE_F_FIRST : 0) | (off + c == n ? LWT_ROUTE_F_LAST : 0);
		m->count = c;
		memcpy(m->e, e + off, c * sizeof(*e));
		lwt_send_msg(d, slot, type, m, sizeof(*m) + c * sizeof(*e));
		off += c;
	} while (off < n);
}

/* --- server ------------------------------------------------------------ */

/* The data thread's table from d->routes: longest prefix first. */
static void push_table(struct lwt_daemon *d)
{
	struct lwt_rtable *t = malloc(sizeof(*t) + d->nroutes * sizeof(t->r[0]));
	int i, p, n = 0;

	if (!t) {
		lwt_err("routes: out of memory");
		return;
	}
	for (p = 32; p >= 0; p--)
		for (i = 0; i < d->nroutes; i++)
			if (d->routes[i].prefix == p)
				t->r[n++] = (struct lwt_rt_entry){ .net = d->routes[i].net,
								   .mask = mask_of(p),
								   .slot = d->routes[i].slot,
								   .gen = d->routes[i].gen };
	t->n = n;
	lwt_cmd(d, LWT_CMD_ROUTES, -1, t);
}

/* Tell every client (or one: only) the routes of the others. */
static void announce(struct lwt_daemon *d, int only)
{
	struct lwt_route_entry *e = calloc(d->nroutes + d->cfg.n_routes + 1, sizeof(*e));
	int i, j, k, n;

	if (!e)
		return;
	/* One slot, or the sessions up (slotlist.h): not every slot. */
	for (k = 0; k < (only >= 0 ? 1 : d->slist.nup); k++) {
		i = only >= 0 ? only : d->slist.up_slot[k];
		if (d->slots[i].c.phase != LWT_PH_UP)
			continue;
		if (!lwt_slot_confirmed(&d->slots[i])) {
			d->slots[i].c.routes_owed = true;	/* sent once it is */
			d->routes_owed_any = true;
			continue;
		}
		d->slots[i].c.routes_owed = false;
		/* The server's own networks (its `routes`), then the clients'. */
		for (j = 0, n = 0; j < d->cfg.n_routes; j++) {
			e[n].net = d->cfg.routes[j].addr;
			e[n++].prefix = d->cfg.routes[j].prefix;
		}
		for (j = 0; j < d->nroutes; j++) {
			if (d->routes[j].slot == i)
				continue;
			e[n].net = d->routes[j].net;
			e[n++].prefix = d->routes[j].prefix;
		}
		send_list(d, i, LWT_MSG_ROUTE_UPDATE, e, n);
	}
	free(e);
}

/* route_rules.c's holds_peer: another client's tunnel IP inside net/p. */
static bool holds_peer(const struct lwt_daemon *d, int slot, const uint8_t *net, uint8_t p)
{
	for (int i = 0; i < d->slist.nup; i++)
		if (d->slist.up_slot[i] != slot && d->slist.up_ip[i] &&
		    lwt_pfx_within((const uint8_t *)&d->slist.up_ip[i], net, p, 4))
			return true;
	return false;
}

_Static_assert(offsetof(struct lwt_cidr, addr) == 0 && offsetof(struct lwt_route, net) == 0,
	       "route_rules.h: the network first");

static int check(struct lwt_daemon *d, int slot, uint32_t net, uint8_t prefix)
{
	const struct lwt_config *c = &d->cfg;
	struct lwt_route_rules r = {
		.alen = 4, .tun = (const uint8_t *)&c->tun_ip, .tun_prefix = c->tun_prefix,
		.self = (const uint8_t *)&c->tun_ip,
		.allowed = LWT_RTAB(c->allowed_routes, c->n_allowed_routes),
		.accepted = LWT_RTAB_SLOT(d->routes, d->nroutes),
		.own = LWT_RTAB(c->routes, c->n_routes),
		.holds_peer = holds_peer, .d = d,
	};

	return lwt_route_judge(&r, slot, (const uint8_t *)&net, prefix);
}

int lwt_routes_covering(const struct lwt_daemon *d, uint32_t ip, int except_slot)
{
	int i;

	for (i = 0; i < d->nroutes; i++)
		if (d->routes[i].slot != except_slot && within(ip, 32, d->routes[i].net, d->routes[i].prefix))
			return i;
	return -1;
}

static void route_drop(struct lwt_daemon *d, int i)
{
	char b[32];
	int r = lwt_nl_route_del(d->tun.ifindex, d->routes[i].net, d->routes[i].prefix);

	if (r && r != -ESRCH && r != -ENOENT)
		lwt_warn("routes: couldn't remove the kernel route %s: %s",
			 cidr_str(d->routes[i].net, d->routes[i].prefix, b, sizeof(b)), strerror(-r));
	d->routes[i] = d->routes[--d->nroutes];
}

/* A client's whole list: what it no longer advertises goes, what is new
 * and allowed comes. */
static void server_adverts(struct lwt_daemon *d, int slot, const struct lwt_route_entry *e, int n)
{
	struct lwt_slot *s = &d->slots[slot];
	struct lwt_route_entry res[LWT_MAX_ROUTES];
	bool changed = false, keep;
	char b[32], ip[16], why[96];
	int i, j, st, r;

	if (n > LWT_MAX_ROUTES)
		n = LWT_MAX_ROUTES;
	inet_ntop(AF_INET, &s->c.tun_ip, ip, sizeof(ip));
	for (i = 0; i < d->nroutes;) {
		keep = d->routes[i].slot != slot;
		for (j = 0; !keep && j < n; j++)
			keep = d->routes[i].net == e[j].net && d->routes[i].prefix == e[j].prefix;
		if (keep) {
			i++;
			continue;
		}
		lwt_info("routes: %s withdrawn by client %s",
			 cidr_str(d->routes[i].net, d->routes[i].prefix, b, sizeof(b)), ip);
		route_drop(d, i);
		changed = true;
	}
	for (j = 0; j < n; j++) {
		uint32_t net = e[j].net;
		uint8_t p = e[j].prefix > 32 ? 32 : e[j].prefix;

		res[j] = (struct lwt_route_entry){ .net = net, .prefix = p };
		for (i = 0; i < d->nroutes; i++)
			if (d->routes[i].slot == slot && d->routes[i].net == net && d->routes[i].prefix == p)
				break;
		if (i < d->nroutes)
			continue;	/* a refresh */
		st = (net & mask_of(p)) != net ? LWT_ROUTE_NOT_ALLOWED : check(d, slot, net, p);
		if (st == LWT_ROUTE_OK && d->nroutes == LWT_MAX_SERVER_ROUTES)
			st = LWT_ROUTE_FULL;
		if (st == LWT_ROUTE_OK &&
		    lwt_nl_route_conflict(net, p, d->tun.ifindex, why, sizeof(why)) > 0) {
			lwt_warn("routes: client %s advertised %s, which overlaps the %s here",
				 ip, cidr_str(net, p, b, sizeof(b)), why);
			st = LWT_ROUTE_LOCAL;
		}
		if (st == LWT_ROUTE_OK) {
			r = lwt_nl_route_add(d->tun.ifindex, net, p, 0);
			if (r) {
				lwt_warn("routes: couldn't install %s: %s", cidr_str(net, p, b, sizeof(b)),
					 strerror(-r));
				st = LWT_ROUTE_FULL;
			}
		}
		res[j].status = st;
		if (st != LWT_ROUTE_OK) {
			lwt_warn("routes: client %s advertised %s: refused, %s", ip,
				 cidr_str(net, p, b, sizeof(b)), status_str(st));
			note_refusal(d, net, p, st, s->c.tun_ip);
			continue;
		}
		forget_refusal(d, net, p, s->c.tun_ip);
		d->routes[d->nroutes++] = (struct lwt_route){ .net = net, .prefix = p, .slot = slot,
							       .gen = s->gen, .owner_ip = s->c.tun_ip };
		lwt_info("routes: %s via client %s", cidr_str(net, p, b, sizeof(b)), ip);
		changed = true;
	}
	send_list(d, slot, LWT_MSG_ROUTE_RESULT, res, n);
	if (changed) {
		push_table(d);
		announce(d, -1);
	}
}

void lwt_routes_session_up(struct lwt_daemon *d, int slot)
{
	lwt_in6_session_up(d, slot);
	if (d->cfg.mode == LWT_MODE_SERVER) {
		if (d->nroutes || d->cfg.n_routes)
			announce(d, slot);
		if (d->slots[slot].c.routes_owed)	/* from its slot's last session */
			d->routes_owed_any = true;
		return;
	}
	d->routes_next_ns = lwt_now_ns();	/* advertise at the next tick */
}

void lwt_routes_withdraw(struct lwt_daemon *d, int slot)
{
	bool changed = false;
	char b[32];
	int i;

	if (d->cfg.mode != LWT_MODE_SERVER)
		return;
	lwt_in6_slot_gone(d, slot);
	for (i = 0; i < d->nroutes;) {
		if (d->routes[i].slot != slot) {
			i++;
			continue;
		}
		lwt_info("routes: %s withdrawn (its client left)",
			 cidr_str(d->routes[i].net, d->routes[i].prefix, b, sizeof(b)));
		route_drop(d, i);
		changed = true;
	}
	if (changed) {
		push_table(d);
		announce(d, -1);
	}
}

/* A reload: accepted routes the new allowed_routes or the server's new
 * own routes no longer permit go (their clients are told at their next
 * advert); networks newly allowed are taken at a client's next advert
 * (every route_update_interval); every client hears the new list. */
static void server_reload(struct lwt_daemon *d)
{
	bool changed = false;
	char b[32];
	int i, st;

	for (i = 0; i < d->nroutes;) {
		st = check(d, d->routes[i].slot, d->routes[i].net, d->routes[i].prefix);
		if (st == LWT_ROUTE_OK) {
			i++;
			continue;
		}
		lwt_info("routes: %s withdrawn after reload: %s",
			 cidr_str(d->routes[i].net, d->routes[i].prefix, b, sizeof(b)), status_str(st));
		route_drop(d, i);
		changed = true;
	}
	if (changed)
		push_table(d);
	announce(d, -1);
}

void lwt_routes_reload(struct lwt_daemon *d, bool routes, bool allowed)
{
	if (!routes && !allowed)
		return;
	lwt_in6_reload(d);
	if (d->cfg.mode == LWT_MODE_SERVER) {
		server_reload(d);
		return;
	}
	/* Client: the whole new list at the next tick; the server withdraws
	 * what it no longer holds. */
	memset(d->route_status, 0, sizeof(d->route_status));
	if (d->slots[0].c.phase == LWT_PH_UP)
		d->routes_next_ns = lwt_now_ns();
}

/* --- client ------------------------------------------------------------ */

static void advertise(struct lwt_daemon *d)
{
	struct lwt_route_entry e[LWT_MAX_ROUTES];
	int i;

	for (i = 0; i < d->cfg.n_routes; i++)
		e[i] = (struct lwt_route_entry){ .net = d->cfg.routes[i].addr,
						 .prefix = d->cfg.routes[i].prefix };
	send_list(d, 0, LWT_MSG_ROUTES, e, d->cfg.n_routes);
}

void lwt_routes_tick(struct lwt_daemon *d, uint64_t now)
{
	bool owed = false;
	int i, k;

	lwt_in6_tick(d, now);
	/* Only while some session is owed the list: not a walk a tick. */
	for (k = 0; d->cfg.mode == LWT_MODE_SERVER && d->routes_owed_any && k < d->slist.nup; k++) {
		i = d->slist.up_slot[k];
		if (d->slots[i].c.routes_owed && lwt_slot_confirmed(&d->slots[i]))
			announce(d, i);
		owed |= d->slots[i].c.routes_owed;
	}
	if (d->routes_owed_any)
		d->routes_owed_any = owed;
	if (d->cfg.mode != LWT_MODE_CLIENT || d->slots[0].c.phase != LWT_PH_UP ||
	    !d->routes_next_ns || now < d->routes_next_ns)
		return;
	d->routes_next_ns = now + (uint64_t)d->cfg.route_update_interval * 1000000000ull;
	advertise(d);
}

static void client_result(struct lwt_daemon *d, const struct lwt_route_entry *e, int n)
{
	char b[32];
	int i, j;

	for (j = 0; j < n; j++) {
		for (i = 0; i < d->cfg.n_routes; i++)
			if (d->cfg.routes[i].addr == e[j].net && d->cfg.routes[i].prefix == e[j].prefix)
				break;
		if (i == d->cfg.n_routes || d->route_status[i] == e[j].status + 1)
			continue;
		d->route_status[i] = e[j].status + 1;	/* 0: not heard yet */
		if (e[j].status == LWT_ROUTE_OK)
			lwt_info("routes: server accepted %s", cidr_str(e[j].net, e[j].prefix, b, sizeof(b)));
		else
			lwt_warn("routes: server refused %s: %s",
				 cidr_str(e[j].net, e[j].prefix, b, sizeof(b)), status_str(e[j].status));
	}
}

/* The complete list of the other clients' routes: install what is new on
 * our TUN, remove what is gone. */
static void client_update(struct lwt_daemon *d)
{
	static uint8_t state[LWT_MAX_PEER_ROUTES];
	char b[32], why[96];
	int i, j, r;

	for (i = 0; i < d->npeer_routes; i++) {
		for (j = 0; j < d->npeer_stage; j++)
			if (d->peer_stage[j].addr == d->peer_routes[i].addr &&
			    d->peer_stage[j].prefix == d->peer_routes[i].prefix)
				break;
		if (j < d->npeer_stage)
			continue;
		lwt_nl_route_del(d->tun.ifindex, d->peer_routes[i].addr, d->peer_routes[i].prefix);
		lwt_info("routes: %s gone", cidr_str(d->peer_routes[i].addr, d->peer_routes[i].prefix,
						     b, sizeof(b)));
	}
	for (j = 0; j < d->npeer_stage; j++) {
		for (i = 0; i < d->npeer_routes; i++)
			if (d->peer_stage[j].addr == d->peer_routes[i].addr &&
			    d->peer_stage[j].prefix == d->peer_routes[i].prefix)
				break;
		if (i < d->npeer_routes) {
			state[j] = d->peer_route_state[i];
			continue;
		}
		cidr_str(d->peer_stage[j].addr, d->peer_stage[j].prefix, b, sizeof(b));
		/* A network this host reaches on its own stays its own. */
		if (lwt_nl_route_conflict(d->peer_stage[j].addr, d->peer_stage[j].prefix,
					  d->tun.ifindex, why, sizeof(why)) > 0) {
			lwt_warn("routes: %s from the server overlaps the %s here: not installed", b, why);
			state[j] = LWT_PEER_ROUTE_LOCAL;
			continue;
		}
		r = lwt_nl_route_add(d->tun.ifindex, d->peer_stage[j].addr, d->peer_stage[j].prefix, 0);
		if (r)
			lwt_warn("routes: couldn't install %s from the server: %s", b, strerror(-r));
		else
			lwt_info("routes: %s via the tunnel", b);
		state[j] = r ? LWT_PEER_ROUTE_FAILED : LWT_PEER_ROUTE_INSTALLED;
	}
	memcpy(d->peer_routes, d->peer_stage, d->npeer_stage * sizeof(*d->peer_stage));
	memcpy(d->peer_route_state, state, d->npeer_stage);
	d->npeer_routes = d->npeer_stage;
}

void lwt_routes_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len)
{
	const struct lwt_route_msg *h = (const struct lwt_route_msg *)(m + 1);
	const struct lwt_route_entry *e = h->e;
	int n, i;

	if (len && m[0] >= LWT_MSG_IP6_CLAIM && m[0] <= LWT_MSG_ROUTES6) {
		lwt_in6_msg(d, slot, m, len);	/* inet6.c */
		return;
	}
	if (len < 1 + sizeof(*h))
		return;
	n = h->count;
	if (n > LWT_ROUTE_MSG_MAX || len != 1 + sizeof(*h) + n * sizeof(*e))
		return;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		/* An advert of more than one message is gathered here; one
		 * interrupted by another client's is dropped (it comes again
		 * at the next refresh). */
		static struct lwt_route_entry all[LWT_MAX_ROUTES];
		static struct lwt_route_gather g = LWT_ROUTE_GATHER_INIT;

		if (m[0] != LWT_MSG_ROUTES || d->slots[slot].c.phase != LWT_PH_UP)
			return;
		if (lwt_route_gather(&g, all, LWT_MAX_ROUTES, sizeof(*e), slot, h->flags, e, n))
			server_adverts(d, slot, all, g.n);
		return;
	}
	if (m[0] == LWT_MSG_ROUTE_RESULT) {
		client_result(d, e, n);
	} else if (m[0] == LWT_MSG_ROUTE_UPDATE) {
		if (h->flags & LWT_ROUTE_F_FIRST)
			d->npeer_stage = 0;
		for (i = 0; i < n && d->npeer_stage < LWT_MAX_PEER_ROUTES; i++)
			d->peer_stage[d->npeer_stage++] = (struct lwt_cidr){ .addr = e[i].net,
									     .prefix = e[i].prefix };
		if (h->flags & LWT_ROUTE_F_LAST)
			client_update(d);
	}
}

/* lwt-ctl routes: server, its own routes, the clients' accepted and lately
 * refused adverts; client, its adverts with the server's answer and the
 * other clients' routes with what became of each here. */
void *lwt_routes_json(const struct lwt_daemon *d)
{
	static const char *const peer_state[] = { "installed", "overlaps a network of this host",
						  "the kernel refused it" };
	cJSON *root = cJSON_CreateObject(), *a, *o;
	uint64_t now = lwt_now_ns();
	char b[32], ip[INET_ADDRSTRLEN];
	int i;

	a = cJSON_AddArrayToObject(root, "advertised");
	for (i = 0; i < d->cfg.n_routes; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "route", cidr_str(d->cfg.routes[i].addr,
							     d->cfg.routes[i].prefix, b, sizeof(b)));
		if (d->cfg.mode == LWT_MODE_CLIENT)
			lwt_route_status_json(o, d->route_status[i]);
		cJSON_AddItemToArray(a, o);
	}
	if (d->cfg.mode == LWT_MODE_SERVER) {
		a = cJSON_AddArrayToObject(root, "accepted");
		for (i = 0; i < d->nroutes; i++) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "route", cidr_str(d->routes[i].net, d->routes[i].prefix,
								     b, sizeof(b)));
			cJSON_AddStringToObject(o, "via", inet_ntop(AF_INET, &d->routes[i].owner_ip, ip,
								    sizeof(ip)));
			cJSON_AddItemToArray(a, o);
		}
		a = cJSON_AddArrayToObject(root, "refused");
		for (i = 0; i < d->nrefused; i++) {
			const struct lwt_route_refusal *r = &d->refused[i];

			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "route", cidr_str(r->net, r->prefix, b, sizeof(b)));
			cJSON_AddStringToObject(o, "client", inet_ntop(AF_INET, &r->owner_ip, ip,
								       sizeof(ip)));
			cJSON_AddStringToObject(o, "reason", status_str(r->status));
			cJSON_AddNumberToObject(o, "age_s", (double)((now - r->at_ns) / 1000000000ull));
			cJSON_AddItemToArray(a, o);
		}
	} else {
		a = cJSON_AddArrayToObject(root, "from_server");
		for (i = 0; i < d->npeer_routes; i++) {
			int st = d->peer_route_state[i];

			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "route", cidr_str(d->peer_routes[i].addr,
								     d->peer_routes[i].prefix, b, sizeof(b)));
			cJSON_AddStringToObject(o, "status", st == LWT_PEER_ROUTE_INSTALLED ?
						"installed" : "not installed");
			if (st != LWT_PEER_ROUTE_INSTALLED && st < 3)
				cJSON_AddStringToObject(o, "reason", peer_state[st]);
			cJSON_AddItemToArray(a, o);
		}
	}
	lwt_in6_routes_json(d, root);
	return root;
}
