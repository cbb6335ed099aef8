// SPDX-License-Identifier: MIT
/* Mesh relay, the client's side (docs/PROTOCOL.md "Mesh").
 *
 * A client with mesh on reports to the hub the direct paths it holds
 * (MESH_REPORT, over the authenticated hub session); the hub alone decides
 * who relays for whom and tells each of the three (MESH_ROUTE). A, the
 * pair's end, keeps "B via C" and sends B's packets over its direct path to
 * C while that scores better than the hub; B accepts A's packets over its
 * direct path to C; C forwards over its direct path to B only packets from
 * A's tunnel IP to B's (and back). Nothing else is relayed: a relay takes
 * packets only from the direct path of the pair's source, hands them only
 * to the direct path of the pair's destination (never back, never to the
 * hub), and a relayed packet is never relayed again (its source is not the
 * peer of the direct path it came over), so a path has at most two hops
 * and no loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "log.h"
#include "mesh.h"
#include "p2p.h"

#define REFRESH_NS (10 * NS)		/* a report again if an RTT moved this long after */
#define PROBE_NS (250 * MS)		/* an unmeasured relay path asked this often */

bool lwt_mesh_active(const struct lwt_daemon *d)
{
	return d->cfg.enable_mesh_routing && d->cfg.max_hops >= 2;
}

int lwt_mesh_init(struct lwt_daemon *d)
{
	d->mesh = calloc(1, sizeof(*d->mesh));
	if (!d->mesh)
		return -ENOMEM;
	d->mesh->told_n = -1;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		d->mesh->cl = calloc((size_t)d->nslots, sizeof(*d->mesh->cl));
		if (!d->mesh->cl) {
			free(d->mesh);
			d->mesh = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

void lwt_mesh_free(struct lwt_daemon *d)
{
	if (!d->mesh)
		return;
	free(d->mesh->cl);
	free(d->mesh);
	d->mesh = NULL;
}

static uint64_t key(uint32_t hi, uint32_t lo)
{
	return (uint64_t)hi << 32 | lo;
}

/* --- data plane ------------------------------------------------------------ */

uint32_t lwt_mesh_via(const struct lwt_daemon *d, uint32_t dst)
{
	const struct lwt_mesh *m = d->mesh;

	for (int i = 0; m && i < LWT_MESH_ROUTES; i++) {
		uint64_t v = atomic_load_explicit(&m->dp_via[i], memory_order_acquire);

		if (v && (uint32_t)(v >> 32) == dst &&
		    atomic_load_explicit(&m->dp_use[i], memory_order_acquire))
			return (uint32_t)v;
	}
	return 0;
}

bool lwt_mesh_vouched(const struct lwt_daemon *d, uint32_t src, uint32_t relay)
{
	const struct lwt_mesh *m = d->mesh;

	for (int i = 0; m && src && relay && i < LWT_MESH_ROUTES; i++)
		if (atomic_load_explicit(&m->dp_via[i], memory_order_acquire) == key(src, relay))
			return true;
	return false;
}

/* Numeric order of the two addresses, whichever way the packet goes. */
static uint64_t pair_key(uint32_t a, uint32_t b)
{
	return ntohl(a) < ntohl(b) ? key(a, b) : key(b, a);
}

bool lwt_mesh_relay_ok(const struct lwt_daemon *d, uint32_t src, uint32_t dst)
{
	const struct lwt_mesh *m = d->mesh;
	uint64_t k = pair_key(src, dst);

	for (int i = 0; m && src && dst && i < LWT_MESH_RELAYS; i++)
		if (atomic_load_explicit(&m->dp_relay[i], memory_order_acquire) == k)
			return true;
	return false;
}

void lwt_mesh_count(const struct lwt_daemon *d, int what, size_t len)
{
	struct lwt_mesh *m = d->mesh;

	if (what == LWT_MESH_CTR_RELAYED) {
		atomic_fetch_add_explicit(&m->relayed, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&m->relayed_bytes, len, memory_order_relaxed);
	} else if (what == LWT_MESH_CTR_IN) {
		atomic_fetch_add_explicit(&m->relayed_in, 1, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&m->refused, 1, memory_order_relaxed);
	}
}

/* --- client: what the hub is told ------------------------------------------- */

/* Our confirmed direct paths, as MESH_REPORT entries. One whose RTT is
 * not measured yet (an idle path may never have asked) is asked, so that
 * the hub gets it. */
static int paths_up(struct lwt_daemon *d, struct lwt_mesh_entry *e, uint64_t now)
{
	int n = 0;

	for (int i = 0; i < LWT_P2P_SLOTS && n < LWT_MESH_REPORT_MAX; i++) {
		const struct p2p_peer *p = &d->p2p->p[i];
		struct lwt_slot *s = &d->slots[i + 1];

		if (!p->tun_ip || p->state != P_UP || !lwt_slot_confirmed(s))
			continue;
		e[n].peer_tun_ip = p->tun_ip;
		e[n].rtt_us = htonl(mesh_rtt(s));
		if (!e[n].rtt_us && now - d->mesh->probe_ns[i] >= PROBE_NS) {
			d->mesh->probe_ns[i] = now;
			lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i + 1, NULL, 0, NULL);
		}
		n++;
	}
	return n;
}

/* The set changed, a path has its first RTT, or an RTT moved by a quarter
 * since the last report (REFRESH_NS at most often): the hub passes them on
 * for scoring. */
static bool report_due(const struct lwt_mesh *m, const struct lwt_mesh_entry *e, int n,
		       uint8_t flags, uint64_t now)
{
	bool moved = false;

	if (m->told_n != n || m->told_flags != flags)
		return true;
	for (int i = 0; i < n; i++) {
		uint32_t a = ntohl(e[i].rtt_us), b = ntohl(m->told[i].rtt_us);

		/* A path's first RTT goes at once: relays are scored by it. */
		if (e[i].peer_tun_ip != m->told[i].peer_tun_ip || (a && !b))
			return true;
		if (a > b + b / 4 || b > a + a / 4)
			moved = true;
	}
	return moved && now - m->told_ns >= REFRESH_NS;
}

static void report(struct lwt_daemon *d, uint64_t now)
{
	struct lwt_mesh *m = d->mesh;
	struct {
		struct lwt_mesh_report h;
		struct lwt_mesh_entry e[LWT_MESH_REPORT_MAX];
	} __attribute__((packed)) r = { 0 };
	int n;

	/* Mesh off (or max_hops 1) says so once: the hub names no relay
	 * for or through us. */
	r.h.flags = lwt_mesh_active(d) ? LWT_MESH_F_RELAY : 0;
	r.h.max_hops = (uint8_t)d->cfg.max_hops;
	n = r.h.flags ? paths_up(d, r.e, now) : 0;
	if (!report_due(m, r.e, n, r.h.flags, now))
		return;
	r.h.n = (uint8_t)n;
	if (lwt_send_msg(d, 0, LWT_MSG_MESH_REPORT, &r, sizeof(r.h) + (size_t)n * sizeof(r.e[0])))
		return;			/* queue full: the next tick tries again */
	memcpy(m->told, r.e, sizeof(m->told));
	m->told_n = n;
	m->told_flags = r.h.flags;
	m->told_ns = now;
	m->reports++;
}

/* --- client: the hub's routes ----------------------------------------------- */

static void publish_via(struct lwt_mesh *m, int i)
{
	struct mesh_via *v = &m->via[i];

	atomic_store_explicit(&m->dp_use[i], 0, memory_order_release);
	atomic_store_explicit(&m->dp_via[i], v->peer ? key(v->peer, v->relay) : 0,
			      memory_order_release);
	if (v->peer && v->use)
		atomic_store_explicit(&m->dp_use[i], 1, memory_order_release);
}

static void via_set(struct lwt_daemon *d, const struct lwt_mesh_route *r)
{
	struct lwt_mesh *m = d->mesh;
	int i, free_i = -1;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	for (i = 0; i < LWT_MESH_ROUTES; i++) {
		if (m->via[i].peer == r->peer_tun_ip)
			break;
		if (!m->via[i].peer && free_i < 0)
			free_i = i;
	}
	if (r->flags & LWT_MESH_F_WITHDRAW) {
		if (i == LWT_MESH_ROUTES || m->via[i].relay != r->relay_tun_ip)
			return;
		if (m->via[i].use)
			lwt_info("peer %s: relay %s withdrawn by the hub: through the hub",
				 p2p_ip_s(r->peer_tun_ip, a), p2p_ip_s(r->relay_tun_ip, b));
		memset(&m->via[i], 0, sizeof(m->via[i]));
		publish_via(m, i);
		m->withdrawn_in++;
		return;
	}
	if (i == LWT_MESH_ROUTES)
		i = free_i;
	if (i < 0) {
		lwt_log_rl(LWT_LOG_INFO, "mesh: no room for another relayed peer (%d)", LWT_MESH_ROUTES);
		return;
	}
	if (m->via[i].relay != r->relay_tun_ip)
		memset(&m->via[i], 0, sizeof(m->via[i]));
	m->via[i].peer = r->peer_tun_ip;
	m->via[i].relay = r->relay_tun_ip;
	m->via[i].relay_rtt_us = ntohl(r->relay_rtt_us);
	m->via[i].peer_hub_rtt_us = ntohl(r->peer_hub_rtt_us);
	publish_via(m, i);
	m->routes_in++;
	lwt_dbg("mesh: peer %s reachable through %s", p2p_ip_s(r->peer_tun_ip, a),
		p2p_ip_s(r->relay_tun_ip, b));
}

static void relay_set(struct lwt_daemon *d, const struct lwt_mesh_route *r)
{
	struct lwt_mesh *m = d->mesh;
	uint64_t k = pair_key(r->peer_tun_ip, r->relay_tun_ip);
	int i, free_i = -1;

	for (i = 0; i < LWT_MESH_RELAYS; i++) {
		if (m->relay[i][0] && pair_key(m->relay[i][0], m->relay[i][1]) == k)
			break;
		if (!m->relay[i][0] && free_i < 0)
			free_i = i;
	}
	if (r->flags & LWT_MESH_F_WITHDRAW) {
		if (i < LWT_MESH_RELAYS) {
			m->relay[i][0] = m->relay[i][1] = 0;
			atomic_store_explicit(&m->dp_relay[i], 0, memory_order_release);
			m->withdrawn_in++;
		}
		return;
	}
	if (i == LWT_MESH_RELAYS)
		i = free_i;
	if (i < 0) {
		lwt_log_rl(LWT_LOG_INFO, "mesh: no room for another relayed pair (%d)", LWT_MESH_RELAYS);
		return;
	}
	m->relay[i][0] = r->peer_tun_ip;
	m->relay[i][1] = r->relay_tun_ip;
	atomic_store_explicit(&m->dp_relay[i], k, memory_order_release);
	m->routes_in++;
}

static void route_msg(struct lwt_daemon *d, const struct lwt_mesh_route *r)
{
	uint32_t me = d->cfg.tun_ip;

	/* Only what makes sense, and only with mesh on: a route names two
	 * other clients the hub told us of. */
	if (!r->peer_tun_ip || !r->relay_tun_ip || r->peer_tun_ip == me || r->relay_tun_ip == me ||
	    r->peer_tun_ip == r->relay_tun_ip || r->hops != 2 ||
	    (r->kind != LWT_MESH_VIA && r->kind != LWT_MESH_RELAY) ||
	    (r->flags & ~LWT_MESH_F_WITHDRAW)) {
		d->mesh->bad++;
		lwt_log_rl(LWT_LOG_WARN, "mesh: the hub's route makes no sense; ignored");
		return;
	}
	if (!lwt_mesh_active(d) && !(r->flags & LWT_MESH_F_WITHDRAW)) {
		d->mesh->bad++;
		return;
	}
	if (r->kind == LWT_MESH_VIA)
		via_set(d, r);
	else
		relay_set(d, r);
}

void lwt_mesh_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len)
{
	if (!d->mesh || !len)
		return;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		if (m[0] == LWT_MSG_MESH_REPORT)
			mesh_hub_report(d, slot, m + 1, len - 1);
		return;
	}
	/* Client: routes come from the hub session only. */
	if (slot != 0 || !p2p_on(d))
		return;
	if (m[0] == LWT_MSG_MESH_ROUTE && len == 1 + sizeof(struct lwt_mesh_route)) {
		struct lwt_mesh_route r;

		memcpy(&r, m + 1, sizeof(r));
		route_msg(d, &r);
	} else {
		d->mesh->bad++;
	}
}

/* A new hub session: the hub forgot what it named; so do we. */
void lwt_mesh_hub_down(struct lwt_daemon *d)
{
	struct lwt_mesh *m = d->mesh;

	if (!m || d->cfg.mode != LWT_MODE_CLIENT)
		return;
	memset(m->via, 0, sizeof(m->via));
	memset(m->relay, 0, sizeof(m->relay));
	for (int i = 0; i < LWT_MESH_ROUTES; i++)
		publish_via(m, i);
	for (int i = 0; i < LWT_MESH_RELAYS; i++)
		atomic_store_explicit(&m->dp_relay[i], 0, memory_order_release);
	m->told_n = -1;
}

/* --- client: path choice ---------------------------------------------------- */

static struct lwt_slot *direct_slot(struct lwt_daemon *d, uint32_t ip)
{
	for (int i = 0; i < LWT_P2P_SLOTS; i++) {
		const struct p2p_peer *p = &d->p2p->p[i];

		if (p->tun_ip == ip && p->state == P_UP && lwt_slot_confirmed(&d->slots[i + 1]))
			return &d->slots[i + 1];
	}
	return NULL;
}

/* Ranked above the hub (the LAN > direct > peer relay > hub), the
 * relay is taken unless its RTT (ours to the relay plus the relay's to the
 * peer) is clearly worse than the hub's (ours to the hub plus the peer's):
 * taken at most 5/4 of it + 1 ms, left above 3/2 of it + 5 ms. Our own RTT
 * to the relay must be measured; the others, not measured yet, count 0. */
static bool score(struct lwt_daemon *d, const struct mesh_via *v, struct lwt_slot *rs)
{
	uint64_t relay = (uint64_t)mesh_rtt(rs) + v->relay_rtt_us;
	uint64_t hub = (uint64_t)mesh_rtt(&d->slots[0]) + v->peer_hub_rtt_us;

	if (v->use)
		return relay <= hub * 3 / 2 + 5000;
	return relay <= hub * 5 / 4 + 1000;
}

static void choose(struct lwt_daemon *d, uint64_t now)
{
	struct lwt_mesh *m = d->mesh;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	for (int i = 0; i < LWT_MESH_ROUTES; i++) {
		struct mesh_via *v = &m->via[i];
		struct lwt_slot *rs;
		bool use;

		if (!v->peer)
			continue;
		rs = direct_slot(d, v->relay);
		if (rs && !mesh_rtt(rs) && now - v->probe_ns >= PROBE_NS) {
			/* An idle direct path may never have measured its RTT:
			 * a keepalive the relay answers does. */
			v->probe_ns = now;
			lwt_cmd_data(d, LWT_CMD_KEEPALIVE, (int)(rs - d->slots), NULL, 0, NULL);
		}
		use = rs && mesh_rtt(rs) && lwt_mesh_active(d) && !direct_slot(d, v->peer) &&
		      score(d, v, rs);
		if (use == v->use)
			continue;
		v->use = use;
		v->since_ns = now;
		m->switches++;
		publish_via(m, i);
		lwt_info("peer %s: %s relay %s", p2p_ip_s(v->peer, a), use ? "through" : "no longer through",
			 p2p_ip_s(v->relay, b));
	}
}

void lwt_mesh_tick(struct lwt_daemon *d, uint64_t now)
{
	if (!d->mesh)
		return;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		mesh_hub_tick(d, now);
		return;
	}
	if (!p2p_on(d) || d->slots[0].c.phase != LWT_PH_UP)
		return;
	report(d, now);
	choose(d, now);
}

/* --- status ----------------------------------------------------------------- */

const char *lwt_mesh_path(const struct lwt_daemon *d, uint32_t ip, uint32_t *relay)
{
	const struct lwt_mesh *m = d->mesh;

	for (int i = 0; m && i < LWT_MESH_ROUTES; i++)
		if (m->via[i].peer == ip && m->via[i].use) {
			if (relay)
				*relay = m->via[i].relay;
			return "relay-peer";
		}
	return "relay-hub";
}

static uint32_t via_rtt(const struct lwt_daemon *d, const struct mesh_via *v)
{
	struct lwt_slot *rs = direct_slot((struct lwt_daemon *)d, v->relay);

	return rs ? mesh_rtt(rs) + v->relay_rtt_us : 0;
}

uint32_t lwt_mesh_rtt_us(const struct lwt_daemon *d, uint32_t ip)
{
	for (int i = 0; d->mesh && i < LWT_MESH_ROUTES; i++)
		if (d->mesh->via[i].peer == ip)
			return via_rtt(d, &d->mesh->via[i]);
	return 0;
}

void *lwt_mesh_json(const struct lwt_daemon *d)
{
	const struct lwt_mesh *m = d->mesh;
	cJSON *o = cJSON_CreateObject(), *arr, *x;
	char a[INET_ADDRSTRLEN];

	if (!o || !m)
		return o;
	cJSON_AddBoolToObject(o, "enabled", d->cfg.enable_mesh_routing);
	cJSON_AddNumberToObject(o, "max_hops", d->cfg.max_hops);
	if (d->cfg.mode == LWT_MODE_SERVER) {
		cJSON_AddItemToObject(o, "hub", mesh_hub_json(d));
		return o;
	}
	cJSON_AddBoolToObject(o, "active", lwt_mesh_active(d));
	cJSON_AddNumberToObject(o, "reports", (double)m->reports);
	cJSON_AddNumberToObject(o, "routes_in", (double)m->routes_in);
	cJSON_AddNumberToObject(o, "withdrawn_in", (double)m->withdrawn_in);
	cJSON_AddNumberToObject(o, "bad", (double)m->bad);
	cJSON_AddNumberToObject(o, "switches", (double)m->switches);
	cJSON_AddNumberToObject(o, "relayed", (double)atomic_load(&m->relayed));
	cJSON_AddNumberToObject(o, "relayed_bytes", (double)atomic_load(&m->relayed_bytes));
	cJSON_AddNumberToObject(o, "relayed_in", (double)atomic_load(&m->relayed_in));
	cJSON_AddNumberToObject(o, "refused", (double)atomic_load(&m->refused));
	arr = cJSON_AddArrayToObject(o, "routes");
	for (int i = 0; arr && i < LWT_MESH_ROUTES; i++) {
		if (!m->via[i].peer || !(x = cJSON_CreateObject()))
			continue;
		cJSON_AddStringToObject(x, "peer", p2p_ip_s(m->via[i].peer, a));
		cJSON_AddStringToObject(x, "via", p2p_ip_s(m->via[i].relay, a));
		cJSON_AddBoolToObject(x, "in_use", m->via[i].use);
		cJSON_AddNumberToObject(x, "rtt_us", via_rtt(d, &m->via[i]));
		cJSON_AddNumberToObject(x, "relay_rtt_us", m->via[i].relay_rtt_us);
		cJSON_AddNumberToObject(x, "peer_hub_rtt_us", m->via[i].peer_hub_rtt_us);
		cJSON_AddItemToArray(arr, x);
	}
	arr = cJSON_AddArrayToObject(o, "relays");
	for (int i = 0; arr && i < LWT_MESH_RELAYS; i++) {
		if (!m->relay[i][0] || !(x = cJSON_CreateArray()))
			continue;
		cJSON_AddItemToArray(x, cJSON_CreateString(p2p_ip_s(m->relay[i][0], a)));
		cJSON_AddItemToArray(x, cJSON_CreateString(p2p_ip_s(m->relay[i][1], a)));
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}
