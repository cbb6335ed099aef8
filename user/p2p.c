// SPDX-License-Identifier: MIT
/* P2P (docs/PROTOCOL.md "P2P"): direct paths between clients, with the hub
 * as the rendezvous.
 *
 * Client: when inner packets to a connected peer go through the hub (the
 * data plane tells us, LWT_EVT_WANT_PEER), we ask the hub to coordinate
 * (P2P_REQ). The hub sends both clients a punch order (P2P_PUNCH) with the
 * other's public and LAN endpoints, roles and a fresh pair secret, timed
 * so that both start together. Each side then opens a fake-TCP flow from
 * the port of its hub session (so the NAT mapping the hub saw is the one
 * the peer targets) to the peer's endpoint: crossing SYNs make a TCP
 * simultaneous open. Over it the initiator runs the full handshake of
 * handshake.h with the pair secret as the PAKE password, the responder
 * answers as a server would; the keys are installed in the direct slot and
 * the data plane moves the peer's packets to it once a record came back
 * over it. A path that stops answering falls back to the hub (the data
 * plane does so the moment the slot is gone); the pair asks again later,
 * with backoff (p2p_path.c keeps a path; p2p_hub.c is the server's side). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "log.h"
#include "natdetect.h"
#include "p2p.h"
#include "p2p_udp.h"

const char *p2p_ip_s(uint32_t ip, char *b)
{
	return inet_ntop(AF_INET, &ip, b, INET_ADDRSTRLEN);
}

int lwt_p2p_init(struct lwt_daemon *d)
{
	d->p2p = calloc(1, sizeof(*d->p2p));
	if (!d->p2p)
		return -ENOMEM;
	memset(&d->p2p->told, 0xff, sizeof(d->p2p->told));	/* nothing told */
	return 0;
}

static void peer_wipe(struct p2p_peer *e)
{
	OPENSSL_cleanse(&e->psk, sizeof(e->psk));
	OPENSSL_cleanse(&e->keys, sizeof(e->keys));
	OPENSSL_cleanse(e->expect_ca, sizeof(e->expect_ca));
	lwt_hs_client_clear(&e->hs);
}

void lwt_p2p_free(struct lwt_daemon *d)
{
	if (!d->p2p)
		return;
	for (int i = 0; i < LWT_P2P_SLOTS; i++) {
		p2p_udp_end(d, &d->p2p->p[i]);
		peer_wipe(&d->p2p->p[i]);
	}
	free(d->p2p);
	d->p2p = NULL;
}

bool p2p_on(const struct lwt_daemon *d)
{
	/* P2P, NAT detection and mesh relay are IPv4: a hub session over
	 * IPv6 offers none of them (the hub orders no punches for it). */
	return d->p2p && d->cfg.p2p_enabled && d->nslots > 1 && !d->cfg.remote6;
}

int p2p_slot_of(const struct lwt_daemon *d, const struct p2p_peer *e)
{
	return (int)(e - d->p2p->p) + 1;
}

static struct p2p_peer *find(struct lwt_daemon *d, uint32_t ip)
{
	for (int i = 0; i < LWT_P2P_SLOTS; i++)
		if (d->p2p->p[i].tun_ip == ip)
			return &d->p2p->p[i];
	return NULL;
}

/* An entry for ip: its own, a free one, or the one idle the longest whose
 * peer is gone. */
static struct p2p_peer *get(struct lwt_daemon *d, uint32_t ip)
{
	struct p2p_peer *e = find(d, ip), *old = NULL;

	if (e)
		return e;
	for (int i = 0; i < LWT_P2P_SLOTS; i++) {
		e = &d->p2p->p[i];
		if (!e->tun_ip)
			goto take;
		if (e->state == P_IDLE && !lwt_peers_known(d, e->tun_ip) &&
		    d->slots[p2p_slot_of(d, e)].c.phase == LWT_PH_FREE &&
		    (!old || e->retry_ns < old->retry_ns))
			old = e;
	}
	if (!old)
		return NULL;
	e = old;
take:
	peer_wipe(e);
	memset(e, 0, sizeof(*e));
	e->tun_ip = ip;
	return e;
}

/* Back to the hub: end the direct flow, if any. */
void p2p_path_end(struct lwt_daemon *d, struct p2p_peer *e, const char *why, bool failed)
{
	int i = p2p_slot_of(d, e);
	char a[INET_ADDRSTRLEN];

	if (d->slots[i].c.phase != LWT_PH_FREE && d->slots[i].c.phase != LWT_PH_CLOSING)
		lwt_slot_kill(d, i);
	if (why)
		snprintf(e->why, sizeof(e->why), "%s", why);
	if (failed) {
		if (e->state == P_UP) {
			d->p2p->failovers++;
			lwt_info("peer %s: direct path lost (%s): back through the hub",
				 p2p_ip_s(e->tun_ip, a), why);
			e->retry_ms = RETRY_LOST_MS;
		} else {
			d->p2p->punches_failed++;
			lwt_info("peer %s: no direct path (%s): through the hub", p2p_ip_s(e->tun_ip, a),
				 why);
			e->retry_ms = e->retry_ms ? e->retry_ms * 2 : RETRY_MIN_MS;
			if (e->retry_ms > RETRY_MAX_MS)
				e->retry_ms = RETRY_MAX_MS;
		}
		e->retry_ns = lwt_now_ns() + e->retry_ms * MS;
	}
	e->state = P_IDLE;
	e->acked = false;
	p2p_udp_end(d, e);
	peer_wipe(e);
}

/* --- client: the hub session -------------------------------------------- */

const char *p2p_nat_name(int k)
{
	static const char *const n[] = { "Unknown", "None/Open", "Full Cone",
		"Full Cone or Restricted Cone", "Restricted Cone", "Port-Restricted Cone", "Symmetric" };

	return k >= 0 && k <= LWT_NAT_SYMMETRIC ? n[k] : "Unknown";
}

/* Our NAT as detection last judged it (natdetect.c), 0 unknown. */
int p2p_nat_kind(const struct lwt_daemon *d)
{
	struct lwt_nat_verdict v;
	uint32_t addr;
	uint16_t port;

	return lwt_natdet_result(d, &v, &addr, &port) ? v.kind : LWT_NAT_UNKNOWN;
}

/* What P2P_HELLO says now: our LAN candidate, what we take, our NAT as
 * detection judged it over UDP (kind, public UDP port) and over TCP (the
 * mapping). */
static void hello_fill(struct lwt_daemon *d, struct lwt_p2p_hello *h)
{
	struct lwt_nat_verdict v;
	uint32_t addr;
	uint16_t port;
	int tcp = d->nat ? lwt_nattcp_mapping(d->nat->tcp) : 0;

	memset(h, 0, sizeof(*h));
	h->lan_addr = d->local_ip;
	h->lan_port = d->filter.lport;
	h->flags = LWT_P2P_F_TCP | LWT_P2P_F_UDP |
		   (tcp == 1 ? LWT_P2P_F_TCP_IND : tcp == 2 ? LWT_P2P_F_TCP_DEP : 0);
	h->nat = (uint8_t)p2p_nat_kind(d);
	if (lwt_natdet_result(d, &v, &addr, &port) && addr)
		h->udp_port = htons(port);
}

/* P2P_HELLO: at the session's start, and again when NAT detection has
 * judged our NAT (the hub rules out pairs that cannot meet, and tells a
 * peer our UDP port). */
static void hello_hub(struct lwt_daemon *d)
{
	struct lwt_p2p_hello h;

	hello_fill(d, &h);
	if (lwt_send_msg(d, 0, LWT_MSG_P2P_HELLO, &h, sizeof(h)))
		lwt_warn("p2p: couldn't tell the hub our candidates (queue full)");
	else
		d->p2p->told = h;
}

void lwt_p2p_hub_up(struct lwt_daemon *d)
{
	if (d->cfg.p2p_enabled && d->cfg.remote6 && !d->p2p_v6_noted) {
		d->p2p_v6_noted = true;
		lwt_info("p2p: the hub session runs over IPv6; direct paths are IPv4 only: none "
			 "offered");
	}
	if (p2p_on(d))
		hello_hub(d);
}

/* The direct flows share the hub session's local port, which goes with
 * it: they end too; the next session starts afresh. */
void lwt_p2p_hub_down(struct lwt_daemon *d)
{
	if (!p2p_on(d))
		return;
	for (int i = 0; i < LWT_P2P_SLOTS; i++) {
		struct p2p_peer *e = &d->p2p->p[i];

		if (e->tun_ip && e->state != P_IDLE)
			p2p_path_end(d, e, "hub session lost", false);
		e->retry_ns = 0;
	}
}

static void ask(struct lwt_daemon *d, uint32_t ip, uint64_t now)
{
	struct lwt_p2p_req r = { .peer_tun_ip = ip };
	struct p2p_peer *e;

	if (d->slots[0].c.phase != LWT_PH_UP || !lwt_peers_known(d, ip))
		return;
	e = get(d, ip);
	if (!e || e->state != P_IDLE || now < e->retry_ns)
		return;
	if (!e->retry_ms)
		e->retry_ms = RETRY_MIN_MS;
	/* Asked again after retry_ms if no order comes (the hub may refuse). */
	e->retry_ns = now + e->retry_ms * MS;
	if (lwt_send_msg(d, 0, LWT_MSG_P2P_REQ, &r, sizeof(r)) == 0)
		d->p2p->reqs++;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void order(struct lwt_daemon *d, const struct lwt_p2p_punch *o)
{
	char sec[2 * sizeof(o->secret) + 1], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	uint64_t now = lwt_now_ns();
	struct p2p_peer *e;

	if (!o->peer_tun_ip || o->peer_tun_ip == d->cfg.tun_ip || o->role > LWT_P2P_RESPONDER ||
	    o->strategy > LWT_P2P_UDP || !o->peer_pub_addr || !o->peer_pub_port) {
		d->p2p->orders_bad++;
		lwt_log_rl(LWT_LOG_WARN, "p2p: the hub's punch order makes no sense; ignored");
		return;
	}
	e = get(d, o->peer_tun_ip);
	if (!e) {
		lwt_log_rl(LWT_LOG_INFO, "p2p: no room for another direct path (%d)", LWT_P2P_SLOTS);
		return;
	}
	if (e->state != P_IDLE && e->pair_id == ntohl(o->pair_id))
		return;			/* the same order again */
	e->peer_nat = o->peer_nat;
	if (o->strategy == LWT_P2P_NONE) {
		/* The hub knows both NATs: no punch could pass. Asked again
		 * after the longest wait (a NAT may change). */
		if (e->state == P_IDLE) {
			snprintf(e->why, sizeof(e->why), "ruled out by both NAT types");
			e->punch_wall_ms = lwt_wall_ms();
			e->retry_ms = RETRY_MAX_MS;
			e->retry_ns = now + RETRY_MAX_MS * MS;
			lwt_info("peer %s: no direct path: both NAT types rule it out (the peer's: %s); "
				 "through the hub", p2p_ip_s(e->tun_ip, a), p2p_nat_name(e->peer_nat));
		}
		return;
	}
	if (e->state != P_IDLE)
		p2p_path_end(d, e, "a new punch order", false);
	d->p2p->orders++;
	e->acked = false;
	e->role = o->role;
	e->pair_id = ntohl(o->pair_id);
	e->rekey_s = ntohs(o->rekey_s);
	hex(o->secret, sizeof(o->secret), sec);
	if (lwt_crypto_psk_derive(sec, &e->psk)) {
		OPENSSL_cleanse(sec, sizeof(sec));
		p2p_path_end(d, e, "couldn't derive the pair key", true);
		return;
	}
	OPENSSL_cleanse(sec, sizeof(sec));
	/* Behind the same public address: the LAN first. */
	e->ncand = 0;
	if (o->strategy == LWT_P2P_UDP) {
		if (p2p_udp_order(d, e, o)) {
			p2p_path_end(d, e, "couldn't set up the UDP punch", true);
			return;
		}
	} else {
		if (o->peer_pub_addr == o->your_pub_addr && o->peer_lan_addr && o->peer_lan_port)
			e->cand[e->ncand++] = (struct p2p_cand){ o->peer_lan_addr, o->peer_lan_port, "lan" };
		e->cand[e->ncand++] = (struct p2p_cand){ o->peer_pub_addr, o->peer_pub_port, "direct-tcp" };
	}
	e->cand_i = 0;
	e->order_ns = now;
	e->start_ns = now + ntohs(o->delay_ms) * MS;
	e->punch_wall_ms = lwt_wall_ms();
	e->why[0] = 0;
	e->state = P_WAIT;
	lwt_info("peer %s: punch order: %s, %s to %s:%u in %u ms", p2p_ip_s(e->tun_ip, a),
		 e->role == LWT_P2P_INITIATOR ? "initiator" : "responder",
		 o->strategy == LWT_P2P_UDP ? "UDP" : "fake TCP",
		 p2p_ip_s(o->peer_pub_addr, b), ntohs(o->peer_pub_port), ntohs(o->delay_ms));
}

/* The hub withdrew its word for a peer (it left; isolation): end the
 * path, and ask again only after the longest wait. */
static void close_peer(struct lwt_daemon *d, struct p2p_peer *e, const char *why)
{
	char a[INET_ADDRSTRLEN];

	if (e->state != P_IDLE) {
		lwt_info("peer %s: direct path closed (%s)", p2p_ip_s(e->tun_ip, a), why);
		p2p_path_end(d, e, why, false);
	}
	e->retry_ns = lwt_now_ns() + RETRY_MAX_MS * MS;
}

void lwt_p2p_peer_gone(struct lwt_daemon *d, uint32_t ip)
{
	struct p2p_peer *e;

	if (d->cfg.mode != LWT_MODE_CLIENT || !p2p_on(d))
		return;
	e = find(d, ip);
	if (e)
		close_peer(d, e, "the peer left the hub");
}

/* --- client: the direct flow --------------------------------------------- */

static void connect_cand(struct lwt_daemon *d, struct p2p_peer *e, uint64_t now)
{
	const struct p2p_cand *c = &e->cand[e->cand_i];
	struct lwt_connect cn = { c->addr, c->port, e->role == LWT_P2P_RESPONDER,
				  (uint8_t)d->cfg.p2p_syn_ttl, 0, -1 };
	int i = p2p_slot_of(d, e);
	struct lwt_slot *s = &d->slots[i];

	s->c.raddr = c->addr;
	s->c.rport = c->port;
	s->c.start_ns = now;
	s->c.tun_ip = e->tun_ip;
	lwt_set_phase(s, LWT_PH_TCP);
	lwt_cmd_connect(d, i, d->filter.lport, &cn);
	e->state = P_PUNCH;
	e->phase_ns = now;
	e->syns = 1;
}

static void hello_send(struct lwt_daemon *d, struct p2p_peer *e)
{
	uint8_t f[LWT_HELLO_FRAME_LEN];

	e->hs.flags = 0;
	if (lwt_hs_hello_build(&e->psk, &e->hs, lwt_wall_ms(), d->client_id, d->cfg.tun_ip,
			       d->cfg.tun_prefix, d->cfg.fec_data, d->cfg.fec_parity, f)) {
		p2p_path_end(d, e, "couldn't build HELLO", true);
		return;
	}
	lwt_cmd_data(d, LWT_CMD_SEND_FRAME, p2p_slot_of(d, e), f, sizeof(f), NULL);
}

static void install(struct lwt_daemon *d, struct p2p_peer *e, const struct lwt_session_keys *k,
		    uint32_t session_id, int peer_k, int peer_m)
{
	int i = p2p_slot_of(d, e);
	struct lwt_install *in;
	char a[INET_ADDRSTRLEN];

	in = lwt_make_install(d, k, e->role == LWT_P2P_RESPONDER, session_id, e->tun_ip, peer_k,
			      peer_m);
	if (!in) {
		p2p_path_end(d, e, "out of memory", true);
		return;
	}
	d->slots[i].c.session_id = session_id;
	d->slots[i].c.rk_pending = false;
	d->slots[i].c.rk_epoch = 0;
	d->slots[i].c.rk_next_ns = lwt_now_ns() + (uint64_t)e->rekey_s * NS;
	lwt_cmd_data(d, LWT_CMD_INSTALL, i, NULL, 0, in);
	/* The peer moves its packets to us at our first record. */
	lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i, NULL, 0, NULL);
	lwt_set_phase(&d->slots[i], LWT_PH_UP);
	d->slots[i].c.up_ns = lwt_now_ns();
	e->state = P_UP;
	e->up_ns = e->ka_ns = e->active_ns = lwt_now_ns();
	e->ask_ns = 0;
	e->tx_seen = e->rx_seen = 0;
	e->una_ns = 0;		/* the new flow's numbers: seen afresh */
	e->stalled = false;
	e->shun = false;
	e->judge_ns = 0;
	atomic_store_explicit(&d->slots[i].p2p_shun, false, memory_order_relaxed);
	e->punch_ms = (uint32_t)((e->up_ns - e->order_ns) / MS);
	e->retry_ms = 0;
	e->why[0] = 0;
	d->p2p->paths_up++;
	lwt_info("peer %s: direct path up (%s %s:%u, %u ms after the order)", p2p_ip_s(e->tun_ip, a),
		 e->cand[e->cand_i].path, p2p_ip_s(e->cand[e->cand_i].addr, (char[INET_ADDRSTRLEN]){ 0 }),
		 ntohs(e->cand[e->cand_i].port), e->punch_ms);
}

/* Initiator: the HELLO_ACK. */
static void hello_ack(struct lwt_daemon *d, struct p2p_peer *e, const uint8_t *f, size_t len)
{
	uint8_t confirm[LWT_CONFIRM_FRAME_LEN];
	struct lwt_hs_ack_info info;
	struct lwt_session_keys k;
	int r;

	if (f[0] != LWT_FT_HELLO_ACK || e->role != LWT_P2P_INITIATOR || !e->hs.started)
		return;
	r = lwt_hs_ack_verify(&e->hs, f, len, &info, &k, confirm);
	if (r) {
		p2p_path_end(d, e, r == -EACCES ? "the peer does not hold the pair key" :
			 "malformed HELLO_ACK", true);
		return;
	}
	if (info.server_tunnel_ip != e->tun_ip) {
		OPENSSL_cleanse(&k, sizeof(k));
		p2p_path_end(d, e, "the peer claims another tunnel IP", true);
		return;
	}
	lwt_cmd_data(d, LWT_CMD_SEND_FRAME, p2p_slot_of(d, e), confirm, sizeof(confirm), NULL);
	install(d, e, &k, info.session_id, info.fec_data, info.fec_parity);
	OPENSSL_cleanse(&k, sizeof(k));
}

/* Responder: the HELLO, then the CONFIRM. */
static void hello(struct lwt_daemon *d, struct p2p_peer *e, const uint8_t *f, size_t len)
{
	uint8_t out[LWT_HELLO_ACK_FRAME_LEN];
	struct lwt_hs_ack_info ai = { 0 };
	int r;

	if (e->role != LWT_P2P_RESPONDER)
		return;
	if (f[0] == LWT_FT_CONFIRM) {
		if (!e->acked)
			return;
		if (lwt_hs_confirm_verify(e->expect_ca, f, len)) {
			p2p_path_end(d, e, "the peer's key confirmation did not verify", true);
			return;
		}
		install(d, e, &e->keys, d->slots[p2p_slot_of(d, e)].c.session_id, e->hello.fec_data,
			e->hello.fec_parity);
		OPENSSL_cleanse(&e->keys, sizeof(e->keys));
		return;
	}
	if (f[0] != LWT_FT_HELLO || e->acked)
		return;
	r = lwt_hs_hello_verify(f, len, lwt_wall_ms(), 0, &e->hello);
	if (r) {
		p2p_path_end(d, e, "malformed or stale HELLO", true);
		return;
	}
	if (e->hello.tunnel_ip != e->tun_ip) {
		p2p_path_end(d, e, "the peer claims another tunnel IP", true);
		return;
	}
	lwt_crypto_random(&ai.session_id, sizeof(ai.session_id));
	ai.server_tunnel_ip = d->cfg.tun_ip;
	ai.server_tunnel_prefix = d->cfg.tun_prefix;
	ai.fec_data = d->cfg.fec_data;
	ai.fec_parity = d->cfg.fec_parity;
	if (lwt_hs_ack_build(&e->psk, f, &e->hello, &ai, out, &e->keys, e->expect_ca)) {
		p2p_path_end(d, e, "the peer's HELLO share was refused", true);
		return;
	}
	e->acked = true;
	d->slots[p2p_slot_of(d, e)].c.session_id = ai.session_id;
	lwt_cmd_data(d, LWT_CMD_SEND_FRAME, p2p_slot_of(d, e), out, sizeof(out), NULL);
}

void lwt_p2p_event(struct lwt_daemon *d, const struct lwt_msg *m)
{
	struct lwt_slot *s = &d->slots[m->slot];
	struct p2p_peer *e;
	uint32_t ip;

	if (m->type == LWT_EVT_WANT_PEER) {
		if (p2p_on(d) && m->len == sizeof(ip)) {
			memcpy(&ip, m->data, sizeof(ip));
			ask(d, ip, lwt_now_ns());
		}
		return;
	}
	if (!p2p_on(d) || m->slot < 1 || m->slot > LWT_P2P_SLOTS)
		return;
	e = &d->p2p->p[m->slot - 1];
	switch (m->type) {
	case LWT_EVT_ESTABLISHED:
		if (s->c.phase != LWT_PH_TCP || e->state != P_PUNCH)
			break;
		lwt_set_phase(s, LWT_PH_HELLO);
		e->state = P_HELLO;
		e->phase_ns = lwt_now_ns();
		if (e->role == LWT_P2P_INITIATOR)
			hello_send(d, e);
		break;
	case LWT_EVT_FRAME:
		if (e->state != P_HELLO || !m->len)
			break;
		if (e->role == LWT_P2P_INITIATOR)
			hello_ack(d, e, m->data, m->len);
		else
			hello(d, e, m->data, m->len);
		break;
	case LWT_EVT_RESET:
		/* While punching, a NAT or a host may answer a SYN with a RST:
		 * the peer's SYN may still come. */
		if (e->state == P_PUNCH)
			break;
		if (e->state != P_IDLE)
			p2p_path_end(d, e, m->len == 5 && !memcmp(m->data, "close", 5) ?
				 "the peer closed it" : "reset", true);
		break;
	case LWT_EVT_KILLED:
		if (s->c.phase == LWT_PH_CLOSING)
			lwt_set_phase(s, LWT_PH_FREE);
		break;
	case LWT_EVT_PEER_VIA_HUB:
		/* The peer sends through the hub: it may have lost the path.
		 * Ask now; in use, no answer within ANSWER_NS ends it. */
		if (e->state == P_UP && !e->ask_ns && lwt_slot_confirmed(s)) {
			e->ask_ns = e->ka_ns = e->active_ns = lwt_now_ns();
			lwt_cmd_data(d, LWT_CMD_KEEPALIVE, m->slot, NULL, 0, NULL);
		}
		break;
	case LWT_EVT_MSG:
		/* Key rotation is the path's own; control records (routes,
		 * peers, punch orders) come only from the hub: a peer's are
		 * ignored. */
		if (m->len && (m->data[0] == LWT_MSG_REKEY || m->data[0] == LWT_MSG_REKEY_ACK) &&
		    e->state == P_UP)
			lwt_rekey_msg(d, m->slot, m->data, m->len);
		break;
	}
}

void lwt_p2p_tick(struct lwt_daemon *d, uint64_t now)
{
	if (d->cfg.mode != LWT_MODE_CLIENT || !p2p_on(d))
		return;
	if (d->slots[0].c.phase == LWT_PH_UP) {
		struct lwt_p2p_hello h;

		hello_fill(d, &h);
		if (memcmp(&h, &d->p2p->told, sizeof(h)))
			hello_hub(d);
	}
	for (int k = 0; k < LWT_P2P_SLOTS; k++) {
		struct p2p_peer *e = &d->p2p->p[k];
		struct lwt_slot *s = &d->slots[k + 1];

		if (e->udp && p2p_udp_tick(d, e, now))
			continue;
		switch (e->state) {
		case P_WAIT:
			if (now >= e->start_ns && s->c.phase == LWT_PH_FREE)
				connect_cand(d, e, now);
			break;
		case P_PUNCH:
			if (now - e->phase_ns > PUNCH_TRY_NS) {
				if (e->cand_i + 1 < e->ncand && s->c.phase == LWT_PH_TCP) {
					lwt_slot_kill(d, k + 1);
					e->cand_i++;
					e->state = P_WAIT;
					e->start_ns = now;
				} else {
					p2p_path_end(d, e, "no answer to SYN", true);
				}
				break;
			}
			/* SYNs at 0, 0.2, 0.6, 1.4, 3 s: the peer's may have met
			 * our NAT before ours opened it. */
			if (e->syns < 5 && now - e->phase_ns >= ((200ull << e->syns) - 200) * MS) {
				e->syns++;
				lwt_cmd_data(d, LWT_CMD_RESYN, k + 1, NULL, 0, NULL);
			}
			break;
		case P_HELLO:
			if (now - e->phase_ns > HELLO_NS)
				p2p_path_end(d, e, "handshake timed out", true);
			break;
		case P_UP:
			p2p_up_tick(d, e, now);
			break;
		}
	}
}

const struct lwt_psk_keys *lwt_p2p_psk(struct lwt_daemon *d, int i)
{
	return &d->p2p->p[i - 1].psk;
}

unsigned int lwt_p2p_rekey_s(struct lwt_daemon *d, int i)
{
	return d->p2p->p[i - 1].rekey_s;
}

void lwt_p2p_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len)
{
	if (!d->p2p || !len)
		return;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		lwt_p2p_hub_msg(d, slot, m, len);
		return;
	}
	/* Client: orders come from the hub session only. */
	if (slot != 0 || !p2p_on(d))
		return;
	if (m[0] == LWT_MSG_P2P_CLOSE && len == 1 + sizeof(struct lwt_p2p_req)) {
		struct lwt_p2p_req r;

		memcpy(&r, m + 1, sizeof(r));
		for (int i = 0; i < LWT_P2P_SLOTS; i++)
			if (d->p2p->p[i].tun_ip && (!r.peer_tun_ip || d->p2p->p[i].tun_ip == r.peer_tun_ip))
				close_peer(d, &d->p2p->p[i], "the hub forbids direct paths");
	} else if (m[0] == LWT_MSG_P2P_PUNCH && len == 1 + sizeof(struct lwt_p2p_punch)) {
		struct lwt_p2p_punch o;

		memcpy(&o, m + 1, sizeof(o));
		order(d, &o);
		OPENSSL_cleanse(&o, sizeof(o));
	} else {
		d->p2p->orders_bad++;
	}
}
