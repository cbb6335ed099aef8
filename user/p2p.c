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
 * with backoff.
 *
 * Server: keeps each client's LAN candidate (P2P_HELLO) and answers a
 * P2P_REQ with the two orders, unless client isolation forbids it, the
 * peer takes no direct paths, or the pair was ordered a moment ago. */
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

#define NS 1000000000ull
#define MS 1000000ull
#define PUNCH_TRY_NS (5 * NS)		/* one candidate's SYNs, then the next */
#define HELLO_NS (5 * NS)		/* the handshake over the direct flow */
#define RETRY_MIN_MS 5000		/* a failed pair asks again after this, */
#define RETRY_MAX_MS 60000		/* doubling up to this (a relayed pair's look) */
/* A lost path is punched again once the NATs forgot it: our RST put their
 * conntrack entries in CLOSE, which lasts 10 s on Linux; a SYN meeting one
 * of the other side's direction is taken for invalid. */
#define RETRY_LOST_MS 12000
#define ORDER_EVERY_NS (3 * NS)		/* server: one order per pair this often */
#define SILENT_NS (500 * MS)		/* sending, nothing heard this long: ask */
#define ANSWER_NS (500 * MS)		/* ... and fail over if no answer in this */
#define UNCONFIRMED_KA_NS (250 * MS)	/* keys installed, peer not heard yet */
#define ACTIVE_NS (2 * NS)		/* traffic within this: the path is in use */
#define RECENT 64

enum p2p_state {
	P_IDLE = 0,	/* through the hub; may ask */
	P_WAIT,		/* order received, starting at start_ns */
	P_PUNCH,	/* SYNs out */
	P_HELLO,	/* fake TCP up, handshake */
	P_UP,		/* keys installed */
};

static const char *state_str[] = { "relay-hub", "waiting", "punching", "handshake", "up" };

struct p2p_cand {
	uint32_t addr;			/* network order */
	uint16_t port;
	const char *path;		/* "lan", "direct-tcp" */
};

struct p2p_peer {
	uint32_t tun_ip;		/* network order; 0 = entry free */
	int state;
	uint8_t role;			/* enum lwt_p2p_role */
	uint32_t pair_id;
	uint16_t rekey_s;		/* key rotation period (the hub's), 0 off */
	uint8_t peer_nat;		/* the peer's NAT as it reported it (lwt_nat_kind) */
	struct lwt_psk_keys psk;	/* from the pair secret */
	struct lwt_hs_client hs;	/* initiator */
	uint8_t expect_ca[LWT_HS_CONFIRM_LEN];	/* responder, between HELLO_ACK and CONFIRM */
	struct lwt_session_keys keys;
	struct lwt_hs_hello_info hello;
	bool acked;
	struct p2p_cand cand[2];
	int ncand, cand_i;
	uint64_t order_ns, start_ns, phase_ns;
	unsigned int syns;
	uint64_t retry_ns;		/* next request allowed */
	uint32_t retry_ms;
	uint64_t ka_ns, ask_ns;		/* last keepalive; an unanswered one sent at */
	uint64_t tx_seen, rx_seen, active_ns;	/* records counted, when they last moved */
	uint64_t punch_wall_ms;		/* last order, wall clock */
	uint32_t punch_ms;		/* order to direct path, last time */
	uint64_t up_ns;
	char why[64];			/* last failure */
};

struct lwt_p2p {
	struct p2p_peer p[LWT_P2P_SLOTS];	/* p[i] uses slot i + 1 */
	uint64_t reqs, orders, orders_bad, paths_up, punches_failed, failovers;
	/* server */
	struct {
		uint32_t a, b;
		uint64_t ns;
	} recent[RECENT];
	unsigned int recent_next;
	uint64_t orders_sent, reqs_refused, ruled_out;
	int nat_told;			/* client: the NAT kind last told the hub, -1 none */
};

static const char *ip_s(uint32_t ip, char *b)
{
	return inet_ntop(AF_INET, &ip, b, INET_ADDRSTRLEN);
}

int lwt_p2p_init(struct lwt_daemon *d)
{
	d->p2p = calloc(1, sizeof(*d->p2p));
	if (!d->p2p)
		return -ENOMEM;
	d->p2p->nat_told = -1;
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
	for (int i = 0; i < LWT_P2P_SLOTS; i++)
		peer_wipe(&d->p2p->p[i]);
	free(d->p2p);
	d->p2p = NULL;
}

static bool enabled(const struct lwt_daemon *d)
{
	return d->p2p && d->cfg.p2p_enabled && d->nslots > 1;
}

static int slot_of(const struct lwt_daemon *d, const struct p2p_peer *e)
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
		    d->slots[slot_of(d, e)].c.phase == LWT_PH_FREE &&
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
static void path_end(struct lwt_daemon *d, struct p2p_peer *e, const char *why, bool failed)
{
	int i = slot_of(d, e);
	char a[INET_ADDRSTRLEN];

	if (d->slots[i].c.phase != LWT_PH_FREE && d->slots[i].c.phase != LWT_PH_CLOSING)
		lwt_slot_kill(d, i);
	if (why)
		snprintf(e->why, sizeof(e->why), "%s", why);
	if (failed) {
		if (e->state == P_UP) {
			d->p2p->failovers++;
			lwt_info("peer %s: direct path lost (%s): back through the hub",
				 ip_s(e->tun_ip, a), why);
			e->retry_ms = RETRY_LOST_MS;
		} else {
			d->p2p->punches_failed++;
			lwt_info("peer %s: no direct path (%s): through the hub", ip_s(e->tun_ip, a),
				 why);
			e->retry_ms = e->retry_ms ? e->retry_ms * 2 : RETRY_MIN_MS;
			if (e->retry_ms > RETRY_MAX_MS)
				e->retry_ms = RETRY_MAX_MS;
		}
		e->retry_ns = lwt_now_ns() + e->retry_ms * MS;
	}
	e->state = P_IDLE;
	e->acked = false;
	peer_wipe(e);
}

/* --- client: the hub session -------------------------------------------- */

static const char *nat_name(int k)
{
	static const char *const n[] = { "Unknown", "None/Open", "Full Cone",
		"Full Cone or Restricted Cone", "Restricted Cone", "Port-Restricted Cone", "Symmetric" };

	return k >= 0 && k <= LWT_NAT_SYMMETRIC ? n[k] : "Unknown";
}

/* Our NAT as detection last judged it (natdetect.c), 0 unknown. */
static int nat_kind(const struct lwt_daemon *d)
{
	struct lwt_nat_verdict v;
	uint32_t addr;
	uint16_t port;

	return lwt_natdet_result(d, &v, &addr, &port) ? v.kind : LWT_NAT_UNKNOWN;
}

/* P2P_HELLO: at the session's start, and again when NAT detection has
 * judged our NAT (the hub rules out pairs that cannot meet). */
static void hello_hub(struct lwt_daemon *d)
{
	struct lwt_p2p_hello h = { 0 };

	h.lan_addr = d->local_ip;
	h.lan_port = d->filter.lport;
	h.flags = LWT_P2P_F_TCP;
	h.nat = (uint8_t)nat_kind(d);
	if (lwt_send_msg(d, 0, LWT_MSG_P2P_HELLO, &h, sizeof(h)))
		lwt_warn("p2p: couldn't tell the hub our candidates (queue full)");
	else
		d->p2p->nat_told = h.nat;
}

void lwt_p2p_hub_up(struct lwt_daemon *d)
{
	if (enabled(d))
		hello_hub(d);
}

/* The direct flows share the hub session's local port, which goes with
 * it: they end too; the next session starts afresh. */
void lwt_p2p_hub_down(struct lwt_daemon *d)
{
	if (!enabled(d))
		return;
	for (int i = 0; i < LWT_P2P_SLOTS; i++) {
		struct p2p_peer *e = &d->p2p->p[i];

		if (e->tun_ip && e->state != P_IDLE)
			path_end(d, e, "hub session lost", false);
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
	    o->strategy > LWT_P2P_TCP || !o->peer_pub_addr || !o->peer_pub_port) {
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
				 "through the hub", ip_s(e->tun_ip, a), nat_name(e->peer_nat));
		}
		return;
	}
	if (e->state != P_IDLE)
		path_end(d, e, "a new punch order", false);
	d->p2p->orders++;
	e->acked = false;
	e->role = o->role;
	e->pair_id = ntohl(o->pair_id);
	e->rekey_s = ntohs(o->rekey_s);
	hex(o->secret, sizeof(o->secret), sec);
	if (lwt_crypto_psk_derive(sec, &e->psk)) {
		OPENSSL_cleanse(sec, sizeof(sec));
		path_end(d, e, "couldn't derive the pair key", true);
		return;
	}
	OPENSSL_cleanse(sec, sizeof(sec));
	/* Behind the same public address: the LAN first. */
	e->ncand = 0;
	if (o->peer_pub_addr == o->your_pub_addr && o->peer_lan_addr && o->peer_lan_port)
		e->cand[e->ncand++] = (struct p2p_cand){ o->peer_lan_addr, o->peer_lan_port, "lan" };
	e->cand[e->ncand++] = (struct p2p_cand){ o->peer_pub_addr, o->peer_pub_port, "direct-tcp" };
	e->cand_i = 0;
	e->order_ns = now;
	e->start_ns = now + ntohs(o->delay_ms) * MS;
	e->punch_wall_ms = lwt_wall_ms();
	e->why[0] = 0;
	e->state = P_WAIT;
	lwt_info("peer %s: punch order: %s, to %s:%u in %u ms", ip_s(e->tun_ip, a),
		 e->role == LWT_P2P_INITIATOR ? "initiator" : "responder",
		 ip_s(o->peer_pub_addr, b), ntohs(o->peer_pub_port), ntohs(o->delay_ms));
}

/* The hub withdrew its word for a peer (it left; isolation): end the
 * path, and ask again only after the longest wait. */
static void close_peer(struct lwt_daemon *d, struct p2p_peer *e, const char *why)
{
	char a[INET_ADDRSTRLEN];

	if (e->state != P_IDLE) {
		lwt_info("peer %s: direct path closed (%s)", ip_s(e->tun_ip, a), why);
		path_end(d, e, why, false);
	}
	e->retry_ns = lwt_now_ns() + RETRY_MAX_MS * MS;
}

void lwt_p2p_peer_gone(struct lwt_daemon *d, uint32_t ip)
{
	struct p2p_peer *e;

	if (d->cfg.mode != LWT_MODE_CLIENT || !enabled(d))
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
				  (uint8_t)d->cfg.p2p_syn_ttl };
	int i = slot_of(d, e);
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
		path_end(d, e, "couldn't build HELLO", true);
		return;
	}
	lwt_cmd_data(d, LWT_CMD_SEND_FRAME, slot_of(d, e), f, sizeof(f), NULL);
}

static void install(struct lwt_daemon *d, struct p2p_peer *e, const struct lwt_session_keys *k,
		    uint32_t session_id, int peer_k, int peer_m)
{
	int i = slot_of(d, e);
	struct lwt_install *in;
	char a[INET_ADDRSTRLEN];

	in = lwt_make_install(d, k, e->role == LWT_P2P_RESPONDER, session_id, e->tun_ip, peer_k,
			      peer_m);
	if (!in) {
		path_end(d, e, "out of memory", true);
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
	e->punch_ms = (uint32_t)((e->up_ns - e->order_ns) / MS);
	e->retry_ms = 0;
	e->why[0] = 0;
	d->p2p->paths_up++;
	lwt_info("peer %s: direct path up (%s %s:%u, %u ms after the order)", ip_s(e->tun_ip, a),
		 e->cand[e->cand_i].path, ip_s(e->cand[e->cand_i].addr, (char[INET_ADDRSTRLEN]){ 0 }),
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
		path_end(d, e, r == -EACCES ? "the peer does not hold the pair key" :
			 "malformed HELLO_ACK", true);
		return;
	}
	if (info.server_tunnel_ip != e->tun_ip) {
		OPENSSL_cleanse(&k, sizeof(k));
		path_end(d, e, "the peer claims another tunnel IP", true);
		return;
	}
	lwt_cmd_data(d, LWT_CMD_SEND_FRAME, slot_of(d, e), confirm, sizeof(confirm), NULL);
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
			path_end(d, e, "the peer's key confirmation did not verify", true);
			return;
		}
		install(d, e, &e->keys, d->slots[slot_of(d, e)].c.session_id, e->hello.fec_data,
			e->hello.fec_parity);
		OPENSSL_cleanse(&e->keys, sizeof(e->keys));
		return;
	}
	if (f[0] != LWT_FT_HELLO || e->acked)
		return;
	r = lwt_hs_hello_verify(f, len, lwt_wall_ms(), 0, &e->hello);
	if (r) {
		path_end(d, e, "malformed or stale HELLO", true);
		return;
	}
	if (e->hello.tunnel_ip != e->tun_ip) {
		path_end(d, e, "the peer claims another tunnel IP", true);
		return;
	}
	lwt_crypto_random(&ai.session_id, sizeof(ai.session_id));
	ai.server_tunnel_ip = d->cfg.tun_ip;
	ai.server_tunnel_prefix = d->cfg.tun_prefix;
	ai.fec_data = d->cfg.fec_data;
	ai.fec_parity = d->cfg.fec_parity;
	if (lwt_hs_ack_build(&e->psk, f, &e->hello, &ai, out, &e->keys, e->expect_ca)) {
		path_end(d, e, "the peer's HELLO share was refused", true);
		return;
	}
	e->acked = true;
	d->slots[slot_of(d, e)].c.session_id = ai.session_id;
	lwt_cmd_data(d, LWT_CMD_SEND_FRAME, slot_of(d, e), out, sizeof(out), NULL);
}

void lwt_p2p_event(struct lwt_daemon *d, const struct lwt_msg *m)
{
	struct lwt_slot *s = &d->slots[m->slot];
	struct p2p_peer *e;
	uint32_t ip;

	if (m->type == LWT_EVT_WANT_PEER) {
		if (enabled(d) && m->len == sizeof(ip)) {
			memcpy(&ip, m->data, sizeof(ip));
			ask(d, ip, lwt_now_ns());
		}
		return;
	}
	if (!enabled(d) || m->slot < 1 || m->slot > LWT_P2P_SLOTS)
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
			path_end(d, e, m->len == 5 && !memcmp(m->data, "close", 5) ?
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

/* A direct path in use: heartbeats, and failover when the peer stops
 * answering. Sending and hearing nothing for SILENT_NS, or every
 * ACTIVE_NS while traffic flows, we ask (a keepalive, which the peer
 * answers); no answer within ANSWER_NS (or 4 RTTs), the path is dead. Idle,
 * the initiator sends one unanswered keepalive every
 * p2p_keepalive_interval. */
static void up_tick(struct lwt_daemon *d, struct p2p_peer *e, uint64_t now)
{
	int i = slot_of(d, e);
	struct lwt_slot *s = &d->slots[i];
	/* Records other than our heartbeats and their answers. */
	uint64_t tx = LWT_CTR_GET(&s->ctr, tx_packets) - LWT_CTR_GET(&s->ctr, keepalives_tx);
	uint64_t rx = LWT_CTR_GET(&s->ctr, rx_packets) - LWT_CTR_GET(&s->ctr, keepalives_rx);
	uint64_t last_rx = atomic_load_explicit(&s->last_rx_ns, memory_order_relaxed);
	uint64_t rtt = atomic_load_explicit(&s->rtt_us, memory_order_relaxed) * 1000ull;
	uint64_t idle_ka = (uint64_t)d->cfg.p2p_keepalive_interval * NS, limit;
	bool sent = tx != e->tx_seen;
	char why[64];

	if (sent || rx != e->rx_seen)
		e->active_ns = now;
	e->tx_seen = tx;
	e->rx_seen = rx;
	if (e->ask_ns && last_rx > e->ask_ns)
		e->ask_ns = 0;
	/* In use, a path must answer within ANSWER_NS (or 4 RTTs); idle,
	 * within p2p_timeout. */
	limit = now - e->active_ns < ACTIVE_NS ? (4 * rtt > ANSWER_NS ? 4 * rtt : ANSWER_NS) :
		(uint64_t)d->cfg.p2p_timeout * NS;
	if (e->ask_ns && now - e->ask_ns > limit) {
		snprintf(why, sizeof(why), "no answer for %llu ms",
			 (unsigned long long)((now - e->ask_ns) / MS));
		path_end(d, e, why, true);
		return;
	}
	if (!lwt_slot_confirmed(s)) {
		if (now - e->up_ns > HELLO_NS) {
			path_end(d, e, "no record from the peer after the handshake", true);
			return;
		}
		if (now - e->ka_ns >= UNCONFIRMED_KA_NS) {
			e->ka_ns = now;
			lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i, NULL, 0, NULL);
		}
		return;
	}
	if (e->role == LWT_P2P_RESPONDER && e->rekey_s && s->c.phase == LWT_PH_UP)
		lwt_rekey_tick(d, i, now);
	if ((sent && now - last_rx > SILENT_NS && !e->ask_ns) ||
	    (now - e->active_ns < ACTIVE_NS && now - e->ka_ns >= ACTIVE_NS)) {
		e->ka_ns = now;
		if (!e->ask_ns)
			e->ask_ns = now;
		lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i, NULL, 0, NULL);
	} else if (e->role == LWT_P2P_INITIATOR && now - e->ka_ns >= idle_ka) {
		/* Idle: one record each p2p_keepalive_interval keeps both NATs'
		 * entries (the peer's pure ACK refreshes its side), and wants no
		 * answer: a dead path shows once traffic comes (above). */
		e->ka_ns = now;
		lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i, (uint8_t[]){ 1 }, 1, NULL);
	}
}

void lwt_p2p_tick(struct lwt_daemon *d, uint64_t now)
{
	if (d->cfg.mode != LWT_MODE_CLIENT || !enabled(d))
		return;
	if (d->slots[0].c.phase == LWT_PH_UP && d->p2p->nat_told != nat_kind(d))
		hello_hub(d);
	for (int k = 0; k < LWT_P2P_SLOTS; k++) {
		struct p2p_peer *e = &d->p2p->p[k];
		struct lwt_slot *s = &d->slots[k + 1];

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
					path_end(d, e, "no answer to SYN", true);
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
				path_end(d, e, "handshake timed out", true);
			break;
		case P_UP:
			up_tick(d, e, now);
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

const char *lwt_p2p_path(const struct lwt_daemon *d, uint32_t ip)
{
	const struct p2p_peer *e;

	if (!d->p2p || d->cfg.mode != LWT_MODE_CLIENT)
		return "relay-hub";
	for (int i = 0; i < LWT_P2P_SLOTS; i++) {
		e = &d->p2p->p[i];
		if (e->tun_ip == ip && e->state == P_UP && lwt_slot_confirmed(&d->slots[i + 1]))
			return e->cand[e->cand_i].path;
	}
	return "relay-hub";
}

/* --- server ------------------------------------------------------------ */

/* The pair of these two sessions (a new session of either is a new pair)
 * was given orders within ORDER_EVERY_NS; else it is noted as given now. */
static bool ordered_lately(struct lwt_p2p *p, const struct lwt_slot *x, const struct lwt_slot *y,
			   uint64_t now)
{
	uint32_t a = x->c.session_id, b = y->c.session_id;
	uint32_t lo = a < b ? a : b, hi = a < b ? b : a;

	for (int i = 0; i < RECENT; i++)
		if (p->recent[i].a == lo && p->recent[i].b == hi && now - p->recent[i].ns < ORDER_EVERY_NS)
			return true;
	p->recent[p->recent_next].a = lo;
	p->recent[p->recent_next].b = hi;
	p->recent[p->recent_next].ns = now;
	p->recent_next = (p->recent_next + 1) % RECENT;
	return false;
}

static void punch_fill(struct lwt_daemon *d, struct lwt_p2p_punch *o, int to, int peer,
		       uint32_t max_rtt_us)
{
	const struct lwt_slot *t = &d->slots[to], *p = &d->slots[peer];
	uint32_t rtt = (uint32_t)atomic_load_explicit(&t->rtt_us, memory_order_relaxed);

	o->peer_tun_ip = p->c.tun_ip;
	o->peer_pub_addr = p->c.raddr;
	o->peer_pub_port = p->c.rport;
	o->peer_lan_addr = p->c.p2p_lan_addr;
	o->peer_lan_port = p->c.p2p_lan_port;
	o->your_pub_addr = t->c.raddr;
	o->your_pub_port = t->c.rport;
	o->role = ntohl(t->c.tun_ip) < ntohl(p->c.tun_ip) ? LWT_P2P_INITIATOR : LWT_P2P_RESPONDER;
	o->strategy = LWT_P2P_TCP;
	o->peer_nat = p->c.p2p_nat;
	o->your_nat = t->c.p2p_nat;
	o->rekey_s = htons(d->cfg.config_push_interval > 65535 ? 65535 :
			   (uint16_t)d->cfg.config_push_interval);
	/* The order reaches each side after half its RTT: the nearer one
	 * waits for the farther, so that both start together. */
	o->delay_ms = htons((uint16_t)((max_rtt_us - (rtt < max_rtt_us ? rtt : max_rtt_us)) / 2000));
}

/* Fake TCP cannot meet a symmetric NAT (a new port per destination) from
 * behind a NAT that filters by port: the symmetric side's SYN comes from a
 * port the other NAT never sent to. Against no NAT or a cone that filters
 * by address at most, the other side answers the port the SYN came from. */
static bool ruled_out(int a, int b)
{
	return a == LWT_NAT_SYMMETRIC && (b == LWT_NAT_SYMMETRIC || b == LWT_NAT_PORT_RESTRICTED_CONE);
}

static void request(struct lwt_daemon *d, int i, uint32_t ip)
{
	struct lwt_slot *s = &d->slots[i];
	struct lwt_p2p_punch o = { 0 };
	uint32_t ra, rb, max;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	int j;

	if (!d->cfg.p2p_enabled || d->cfg.client_isolation || !(s->c.p2p_flags & LWT_P2P_F_TCP)) {
		d->p2p->reqs_refused++;
		return;
	}
	j = lwt_ip_holder(d, i, ip);
	if (j < 0 || d->slots[j].c.phase != LWT_PH_UP || !(d->slots[j].c.p2p_flags & LWT_P2P_F_TCP)) {
		d->p2p->reqs_refused++;
		return;
	}
	if (ordered_lately(d->p2p, s, &d->slots[j], lwt_now_ns()))
		return;
	if (ruled_out(s->c.p2p_nat, d->slots[j].c.p2p_nat) ||
	    ruled_out(d->slots[j].c.p2p_nat, s->c.p2p_nat)) {
		/* Only the one who asked learns it, with no secret. */
		d->p2p->ruled_out++;
		punch_fill(d, &o, i, j, 0);
		o.strategy = LWT_P2P_NONE;
		lwt_send_msg(d, i, LWT_MSG_P2P_PUNCH, &o, sizeof(o));
		return;
	}
	ra = (uint32_t)atomic_load_explicit(&s->rtt_us, memory_order_relaxed);
	rb = (uint32_t)atomic_load_explicit(&d->slots[j].rtt_us, memory_order_relaxed);
	max = ra > rb ? ra : rb;
	lwt_crypto_random(o.secret, sizeof(o.secret));
	lwt_crypto_random(&o.pair_id, sizeof(o.pair_id));
	punch_fill(d, &o, i, j, max);
	if (lwt_send_msg(d, i, LWT_MSG_P2P_PUNCH, &o, sizeof(o)) == 0) {
		punch_fill(d, &o, j, i, max);
		if (lwt_send_msg(d, j, LWT_MSG_P2P_PUNCH, &o, sizeof(o)) == 0)
			d->p2p->orders_sent++;
	}
	OPENSSL_cleanse(o.secret, sizeof(o.secret));
	lwt_dbg("p2p: punch order for %s and %s", ip_s(s->c.tun_ip, a), ip_s(ip, b));
}

void lwt_p2p_close_all(struct lwt_daemon *d)
{
	struct lwt_p2p_req r = { 0 };

	for (int i = 0; i < d->nslots; i++)
		if (d->slots[i].c.phase == LWT_PH_UP && d->slots[i].c.p2p_flags &&
		    lwt_send_msg(d, i, LWT_MSG_P2P_CLOSE, &r, sizeof(r)))
			lwt_log_rl(LWT_LOG_WARN, "p2p: couldn't tell a client to close its direct paths");
}

void lwt_p2p_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len)
{
	if (!d->p2p || !len)
		return;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		struct lwt_slot *s = &d->slots[slot];

		if (s->c.phase != LWT_PH_UP)
			return;
		if (m[0] == LWT_MSG_P2P_HELLO && len == 1 + sizeof(struct lwt_p2p_hello)) {
			struct lwt_p2p_hello h;

			memcpy(&h, m + 1, sizeof(h));
			s->c.p2p_flags = h.flags;
			s->c.p2p_nat = h.nat <= LWT_NAT_SYMMETRIC ? h.nat : LWT_NAT_UNKNOWN;
			s->c.p2p_lan_addr = h.lan_addr;
			s->c.p2p_lan_port = h.lan_port;
		} else if (m[0] == LWT_MSG_P2P_REQ && len == 1 + sizeof(struct lwt_p2p_req)) {
			struct lwt_p2p_req r;

			memcpy(&r, m + 1, sizeof(r));
			request(d, slot, r.peer_tun_ip);
		}
		return;
	}
	/* Client: orders come from the hub session only. */
	if (slot != 0 || !enabled(d))
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

void *lwt_p2p_json(const struct lwt_daemon *d)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	const struct lwt_p2p *p = d->p2p;
	char a[INET_ADDRSTRLEN], ep[INET_ADDRSTRLEN + 8];

	if (!o || !p)
		return o;
	cJSON_AddBoolToObject(o, "enabled", d->cfg.p2p_enabled);
	if (d->cfg.mode == LWT_MODE_SERVER) {
		cJSON_AddNumberToObject(o, "orders_sent", (double)p->orders_sent);
		cJSON_AddNumberToObject(o, "requests_refused", (double)p->reqs_refused);
		cJSON_AddNumberToObject(o, "ruled_out", (double)p->ruled_out);
		return o;
	}
	cJSON_AddStringToObject(o, "nat", nat_name(nat_kind(d)));
	cJSON_AddNumberToObject(o, "requests", (double)p->reqs);
	cJSON_AddNumberToObject(o, "orders", (double)p->orders);
	cJSON_AddNumberToObject(o, "orders_bad", (double)p->orders_bad);
	cJSON_AddNumberToObject(o, "paths_up", (double)p->paths_up);
	cJSON_AddNumberToObject(o, "punches_failed", (double)p->punches_failed);
	cJSON_AddNumberToObject(o, "failovers", (double)p->failovers);
	arr = cJSON_AddArrayToObject(o, "paths");
	for (int i = 0; arr && i < LWT_P2P_SLOTS && d->nslots > 1; i++) {
		const struct p2p_peer *e = &p->p[i];
		const struct lwt_slot *s = &d->slots[i + 1];
		cJSON *x;

		if (!e->tun_ip)
			continue;
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "tunnel_ip", ip_s(e->tun_ip, a));
		cJSON_AddStringToObject(x, "path", lwt_p2p_path(d, e->tun_ip));
		cJSON_AddStringToObject(x, "state", state_str[e->state]);
		if (e->ncand) {
			snprintf(ep, sizeof(ep), "%s:%u", ip_s(e->cand[e->cand_i].addr, a),
				 ntohs(e->cand[e->cand_i].port));
			cJSON_AddStringToObject(x, "endpoint", ep);
			cJSON_AddStringToObject(x, "role", e->role == LWT_P2P_INITIATOR ?
						"initiator" : "responder");
		}
		if (e->state == P_UP) {
			cJSON_AddNumberToObject(x, "rtt_us",
				(double)atomic_load_explicit(&s->rtt_us, memory_order_relaxed));
			cJSON_AddNumberToObject(x, "loss_ppm",
				(double)atomic_load_explicit(&s->loss_ppm, memory_order_relaxed));
			cJSON_AddNumberToObject(x, "rx_packets", (double)LWT_CTR_GET(&s->ctr, rx_packets));
			cJSON_AddNumberToObject(x, "tx_packets", (double)LWT_CTR_GET(&s->ctr, tx_packets));
		}
		if (e->punch_wall_ms)
			cJSON_AddNumberToObject(x, "last_punch_ms", (double)e->punch_wall_ms);
		cJSON_AddStringToObject(x, "peer_nat", nat_name(e->peer_nat));
		if (e->punch_ms)
			cJSON_AddNumberToObject(x, "punch_to_direct_ms", e->punch_ms);
		if (e->why[0])
			cJSON_AddStringToObject(x, "last_failure", e->why);
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}
