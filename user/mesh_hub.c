// SPDX-License-Identifier: MIT
/* Mesh relay, the hub's side (docs/PROTOCOL.md "Mesh"). The hub keeps each
 * client's last MESH_REPORT (its confirmed direct paths) and the pairs that
 * asked for a direct path (P2P_REQ). A pair with no direct path gets a
 * relay C when both ends and C take part (LWT_MESH_F_RELAY) and the direct
 * paths A-C and C-B are each reported by both of their ends: a client
 * cannot make itself a relay by claiming paths its peers do not confirm.
 * The hub tells A "B via C", B "A via C" and C "relay A-B"; it withdraws
 * them when a path goes, a session ends, or A and B got a direct path. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "log.h"
#include "mesh.h"
#include "p2p.h"

#define TICK_NS NS			/* sessions that ended are noticed this often */

/* Client slot i's report, if its session is the one that sent it. */
static const struct mesh_client *client(const struct lwt_daemon *d, int i)
{
	const struct mesh_client *c;

	if (i < 0 || i >= d->nslots || d->slots[i].c.phase != LWT_PH_UP)
		return NULL;
	c = &d->mesh->cl[i];
	if (!c->session_id || c->session_id != d->slots[i].c.session_id ||
	    c->tun_ip != d->slots[i].c.tun_ip || !(c->flags & LWT_MESH_F_RELAY))
		return NULL;
	return c;
}

static int holder(struct lwt_daemon *d, uint32_t ip, uint32_t session_id)
{
	int j = lwt_ip_holder(d, -1, ip);

	return j >= 0 && d->slots[j].c.phase == LWT_PH_UP &&
	       (!session_id || d->slots[j].c.session_id == session_id) ? j : -1;
}

/* x's report names y: its RTT + 1 (0: not named). */
static uint64_t names(const struct mesh_client *x, uint32_t y)
{
	for (int k = 0; k < x->n; k++)
		if (x->e[k].ip == y)
			return (uint64_t)x->e[k].rtt_us + 1;
	return 0;
}

/* A direct path both ends report: its RTT + 1 (0: none). */
static uint64_t linked(const struct lwt_daemon *d, int i, int j)
{
	const struct mesh_client *x = client(d, i), *y = client(d, j);
	uint64_t a, b;

	if (!x || !y || !(a = names(x, y->tun_ip)) || !(b = names(y, x->tun_ip)))
		return 0;
	return a > b ? a : b;
}

static void tell(struct lwt_daemon *d, int to, uint8_t kind, bool withdraw, uint32_t peer,
		 uint32_t relay, uint32_t relay_rtt, uint32_t peer_hub_rtt)
{
	struct lwt_mesh_route r = { .kind = kind, .flags = withdraw ? LWT_MESH_F_WITHDRAW : 0,
				    .hops = 2, .peer_tun_ip = peer, .relay_tun_ip = relay,
				    .relay_rtt_us = htonl(relay_rtt), .peer_hub_rtt_us = htonl(peer_hub_rtt) };

	if (to >= 0 && lwt_send_msg(d, to, LWT_MSG_MESH_ROUTE, &r, sizeof(r)))
		lwt_log_rl(LWT_LOG_WARN, "mesh: couldn't send a route to a client (queue full)");
}

static uint32_t hub_rtt(struct lwt_daemon *d, int i)
{
	return mesh_rtt(&d->slots[i]);
}

/* Take back what was named for w, from whichever of the three is still
 * the session it was named to. */
static void withdraw(struct lwt_daemon *d, struct mesh_want *w, const char *why)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];

	if (!w->relay)
		return;
	tell(d, holder(d, w->a, w->sa), LWT_MESH_VIA, true, w->b, w->relay, 0, 0);
	tell(d, holder(d, w->b, w->sb), LWT_MESH_VIA, true, w->a, w->relay, 0, 0);
	tell(d, holder(d, w->relay, w->sr), LWT_MESH_RELAY, true, w->a, w->b, 0, 0);
	lwt_dbg("mesh: %s <-> %s no longer through %s (%s)", p2p_ip_s(w->a, a), p2p_ip_s(w->b, b),
		p2p_ip_s(w->relay, c), why);
	w->relay = w->sr = 0;
	d->mesh->withdrawn++;
}

/* The relay with the lowest RTT over both its direct paths, -1 none. */
static int best_relay(struct lwt_daemon *d, int ia, int ib, uint64_t *rtt_b)
{
	uint64_t best = UINT64_MAX, ra, rb;
	int k = -1;

	/* The sessions up (slotlist.h); a tie goes to the lowest slot. */
	for (int u = 0; u < d->slist.nup; u++) {
		int j = d->slist.up_slot[u];

		if (j == ia || j == ib || !client(d, j))
			continue;
		if (!(ra = linked(d, ia, j)) || !(rb = linked(d, ib, j)))
			continue;
		if (ra + rb < best || (ra + rb == best && j < k)) {
			best = ra + rb;
			k = j;
			*rtt_b = rb - 1;
		}
	}
	return k;
}

static void name(struct lwt_daemon *d, struct mesh_want *w, int ia, int ib, int ic, uint64_t rb)
{
	const struct mesh_client *c = client(d, ic);
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], x[INET_ADDRSTRLEN];
	uint64_t ra = names(c, w->a) - 1;

	w->relay = c->tun_ip;
	w->sr = d->slots[ic].c.session_id;
	tell(d, ic, LWT_MESH_RELAY, false, w->a, w->b, 0, 0);
	tell(d, ia, LWT_MESH_VIA, false, w->b, w->relay, (uint32_t)rb, hub_rtt(d, ib));
	tell(d, ib, LWT_MESH_VIA, false, w->a, w->relay, (uint32_t)ra, hub_rtt(d, ia));
	d->mesh->named++;
	lwt_info("mesh: %s <-> %s may go through %s", p2p_ip_s(w->a, a), p2p_ip_s(w->b, b),
		 p2p_ip_s(w->relay, x));
}

/* One pair: keep, withdraw or name its relay. */
static void judge(struct lwt_daemon *d, struct mesh_want *w)
{
	int ia = holder(d, w->a, w->sa), ib = holder(d, w->b, w->sb), ic;
	uint64_t rb = 0;

	if (ia < 0 || ib < 0 || !client(d, ia) || !client(d, ib) || d->cfg.client_isolation ||
	    !d->cfg.enable_mesh_routing || !d->cfg.p2p_enabled) {
		withdraw(d, w, "an end left or takes no relay");
		if (ia < 0 || ib < 0)
			memset(w, 0, sizeof(*w));	/* the sessions that asked are gone */
		return;
	}
	if (linked(d, ia, ib)) {
		/* Forgotten: if the direct path goes, they ask again. */
		withdraw(d, w, "direct path");
		memset(w, 0, sizeof(*w));
		return;
	}
	if (w->relay) {
		ic = holder(d, w->relay, w->sr);
		if (ic >= 0 && client(d, ic) && linked(d, ia, ic) && linked(d, ib, ic))
			return;
		withdraw(d, w, "a direct path of the relay went");
	}
	ic = best_relay(d, ia, ib, &rb);
	if (ic >= 0)
		name(d, w, ia, ib, ic, rb);
}

static void judge_all(struct lwt_daemon *d)
{
	for (int k = 0; k < LWT_MESH_WANTS; k++)
		if (d->mesh->want[k].a)
			judge(d, &d->mesh->want[k]);
}

/* Client i asked for a direct path to client j (P2P_REQ): the pair is
 * noted, so that a relay is named as soon as one can be. */
void lwt_mesh_want(struct lwt_daemon *d, int i, int j)
{
	struct lwt_mesh *m = d->mesh;
	uint32_t a = d->slots[i].c.tun_ip, b = d->slots[j].c.tun_ip;
	uint32_t sa = d->slots[i].c.session_id, sb = d->slots[j].c.session_id;
	struct mesh_want *w = NULL;
	int k;

	if (!m || !d->cfg.enable_mesh_routing)
		return;
	if (ntohl(a) > ntohl(b)) {
		uint32_t t = a;

		a = b, b = t, t = sa, sa = sb, sb = t;
	}
	for (k = 0; k < LWT_MESH_WANTS && !w; k++)
		if (m->want[k].a == a && m->want[k].b == b && m->want[k].sa == sa && m->want[k].sb == sb)
			w = &m->want[k];
	for (k = 0; k < LWT_MESH_WANTS && !w; k++)
		if (!m->want[k].a)
			w = &m->want[k];
	if (!w) {
		/* Full: the pair asked for longest ago makes room. */
		w = &m->want[0];
		for (k = 1; k < LWT_MESH_WANTS; k++)
			if (m->want[k].ns < w->ns)
				w = &m->want[k];
		withdraw(d, w, "room for another pair");
		memset(w, 0, sizeof(*w));
	}
	if (!w->a)
		*w = (struct mesh_want){ .a = a, .b = b, .sa = sa, .sb = sb };
	w->ns = lwt_now_ns();
	judge(d, w);
}

void mesh_hub_report(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len)
{
	struct mesh_client *c = &d->mesh->cl[slot];
	struct lwt_mesh_report h;
	struct lwt_mesh_entry e;

	if (d->slots[slot].c.phase != LWT_PH_UP || len < sizeof(h))
		return;
	memcpy(&h, m, sizeof(h));
	if (h.n > LWT_MESH_REPORT_MAX || len != sizeof(h) + h.n * sizeof(e)) {
		lwt_log_rl(LWT_LOG_WARN, "mesh: a client's report is malformed; ignored");
		return;
	}
	c->session_id = d->slots[slot].c.session_id;
	c->tun_ip = d->slots[slot].c.tun_ip;
	c->flags = h.flags;
	c->max_hops = h.max_hops;
	c->n = 0;
	for (int k = 0; k < h.n; k++) {
		memcpy(&e, m + sizeof(h) + k * sizeof(e), sizeof(e));
		if (!e.peer_tun_ip || e.peer_tun_ip == c->tun_ip)
			continue;
		c->e[c->n].ip = e.peer_tun_ip;
		c->e[c->n].rtt_us = ntohl(e.rtt_us);
		c->n++;
	}
	/* Judged at the next tick: a client sending reports in a loop costs
	 * one pass over the pairs per tick, not one per report. */
	d->mesh->dirty = true;
}

void mesh_hub_tick(struct lwt_daemon *d, uint64_t now)
{
	if (!d->mesh->dirty && now - d->mesh->tick_ns < TICK_NS)
		return;
	d->mesh->tick_ns = now;
	d->mesh->dirty = false;
	judge_all(d);
}

void *mesh_hub_json(const struct lwt_daemon *d)
{
	const struct lwt_mesh *m = d->mesh;
	cJSON *o = cJSON_CreateObject(), *arr, *x;
	char a[INET_ADDRSTRLEN];
	int n = 0;

	if (!o)
		return o;
	for (int i = 0; i < d->nslots; i++)
		n += client(d, i) != NULL;
	cJSON_AddNumberToObject(o, "clients_taking_part", n);
	cJSON_AddNumberToObject(o, "named", (double)m->named);
	cJSON_AddNumberToObject(o, "withdrawn", (double)m->withdrawn);
	arr = cJSON_AddArrayToObject(o, "pairs");
	for (int k = 0; arr && k < LWT_MESH_WANTS; k++) {
		const struct mesh_want *w = &m->want[k];

		if (!w->a || !(x = cJSON_CreateObject()))
			continue;
		cJSON_AddStringToObject(x, "a", p2p_ip_s(w->a, a));
		cJSON_AddStringToObject(x, "b", p2p_ip_s(w->b, a));
		cJSON_AddStringToObject(x, "relay", w->relay ? p2p_ip_s(w->relay, a) : "");
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}
