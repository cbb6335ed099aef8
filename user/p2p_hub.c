// SPDX-License-Identifier: MIT
/* P2P, the server's side (docs/PROTOCOL.md "P2P"): it keeps each client's
 * LAN candidate and NAT kind (P2P_HELLO) and answers a P2P_REQ with a punch
 * order to both clients, unless client isolation forbids it, a side takes
 * no direct paths, the two NAT kinds rule fake TCP out, or the pair was
 * ordered a moment ago. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "log.h"
#include "natdetect.h"
#include "p2p.h"
#include "p2p_udp.h"

/* The pair of these two sessions (a new session of either is a new pair)
 * was given orders within ORDER_EVERY_NS; else it is noted as given now.
 * directed: x alone was told (a punch ruled out): the pair as x asked. */
static bool ordered_lately(struct lwt_p2p *p, const struct lwt_slot *x, const struct lwt_slot *y,
			   uint64_t now, bool directed)
{
	uint32_t a = x->c.session_id, b = y->c.session_id;
	uint32_t lo = directed || a < b ? a : b, hi = lo == a ? b : a;

	if (directed)
		hi = ~hi;		/* never equal to an order for both */

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
	o->peer_udp_port = p->c.p2p_udp_port;
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

/* A client's NAT for fake TCP: its kind over UDP, unless detection over
 * TCP found the mapping otherwise (a NAT may map TCP by destination and
 * UDP not, or the reverse; filtering is judged over UDP only). */
static int tcp_nat(const struct lwt_slot *s)
{
	if (s->c.p2p_flags & LWT_P2P_F_TCP_DEP)
		return LWT_NAT_SYMMETRIC;
	if ((s->c.p2p_flags & LWT_P2P_F_TCP_IND) && s->c.p2p_nat == LWT_NAT_SYMMETRIC)
		return LWT_NAT_PORT_RESTRICTED_CONE;
	return s->c.p2p_nat;
}

static bool tcp_ruled_out(const struct lwt_slot *a, const struct lwt_slot *b)
{
	return ruled_out(tcp_nat(a), tcp_nat(b)) || ruled_out(tcp_nat(b), tcp_nat(a));
}

/* A new session tells its P2P abilities itself (P2P_HELLO): nothing of the
 * slot's previous session stays, and its request budget starts full. */
void lwt_p2p_hub_session_up(struct lwt_daemon *d, int i)
{
	struct lwt_slot *s = &d->slots[i];

	s->c.p2p_flags = 0;
	s->c.p2p_nat = LWT_NAT_UNKNOWN;
	s->c.p2p_lan_addr = 0;
	s->c.p2p_lan_port = 0;
	s->c.p2p_udp_port = 0;
	s->c.p2p_tokens = REQ_BURST;
	s->c.p2p_tok_ns = lwt_now_ns();
}

/* A request of session i within its budget (REQ_BURST, REQ_EVERY_NS):
 * however fast a client asks, the orders it makes the hub send to others
 * stay few, and what it asks beyond is counted, not logged. */
static bool within_budget(struct lwt_daemon *d, struct lwt_slot *s)
{
	uint64_t now = lwt_now_ns(), n = (now - s->c.p2p_tok_ns) / REQ_EVERY_NS;

	if (n) {
		s->c.p2p_tokens = s->c.p2p_tokens + n >= REQ_BURST ? REQ_BURST :
				  s->c.p2p_tokens + (uint32_t)n;
		s->c.p2p_tok_ns = s->c.p2p_tokens == REQ_BURST ? now :
				  s->c.p2p_tok_ns + n * REQ_EVERY_NS;
	}
	if (!s->c.p2p_tokens) {
		d->p2p->reqs_limited++;
		return false;
	}
	s->c.p2p_tokens--;
	return true;
}

static void request(struct lwt_daemon *d, int i, uint32_t ip)
{
	struct lwt_slot *s = &d->slots[i];
	struct lwt_p2p_punch o = { 0 };
	uint32_t ra, rb, max;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	int j, strategy = LWT_P2P_TCP;

	if (!d->cfg.p2p_enabled || d->cfg.client_isolation || !(s->c.p2p_flags & LWT_P2P_F_TCP)) {
		d->p2p->reqs_refused++;
		return;
	}
	if (!within_budget(d, s))
		return;
	j = lwt_ip_holder(d, i, ip);
	if (j < 0 || d->slots[j].c.phase != LWT_PH_UP || !(d->slots[j].c.p2p_flags & LWT_P2P_F_TCP)) {
		d->p2p->reqs_refused++;
		return;
	}
	lwt_mesh_want(d, i, j);
	/* Fake TCP ruled out: UDP where both take it and the birthday can
	 * work (p2p_udp.c). */
	if (tcp_ruled_out(s, &d->slots[j]) &&
	    p2p_udp_fits(s->c.p2p_nat, d->slots[j].c.p2p_nat, s->c.p2p_flags, d->slots[j].c.p2p_flags))
		strategy = LWT_P2P_UDP;
	if (strategy == LWT_P2P_TCP && tcp_ruled_out(s, &d->slots[j])) {
		/* Whoever asks learns it, with no secret (once per
		 * ORDER_EVERY_NS each). */
		if (ordered_lately(d->p2p, s, &d->slots[j], lwt_now_ns(), true))
			return;
		d->p2p->ruled_out++;
		punch_fill(d, &o, i, j, 0);
		o.strategy = LWT_P2P_NONE;
		lwt_send_msg(d, i, LWT_MSG_P2P_PUNCH, &o, sizeof(o));
		return;
	}
	if (ordered_lately(d->p2p, s, &d->slots[j], lwt_now_ns(), false))
		return;
	ra = (uint32_t)atomic_load_explicit(&s->rtt_us, memory_order_relaxed);
	rb = (uint32_t)atomic_load_explicit(&d->slots[j].rtt_us, memory_order_relaxed);
	max = ra > rb ? ra : rb;
	lwt_crypto_random(o.secret, sizeof(o.secret));
	lwt_crypto_random(&o.pair_id, sizeof(o.pair_id));
	punch_fill(d, &o, i, j, max);
	o.strategy = (uint8_t)strategy;
	if (lwt_send_msg(d, i, LWT_MSG_P2P_PUNCH, &o, sizeof(o)) == 0) {
		punch_fill(d, &o, j, i, max);
		o.strategy = (uint8_t)strategy;
		if (lwt_send_msg(d, j, LWT_MSG_P2P_PUNCH, &o, sizeof(o)) == 0) {
			d->p2p->orders_sent++;
			if (strategy == LWT_P2P_UDP)
				d->p2p->udp_orders_sent++;
		}
	}
	OPENSSL_cleanse(o.secret, sizeof(o.secret));
	lwt_dbg("p2p: punch order for %s and %s", p2p_ip_s(s->c.tun_ip, a), p2p_ip_s(ip, b));
}

void lwt_p2p_close_all(struct lwt_daemon *d)
{
	struct lwt_p2p_req r = { 0 };

	for (int i = 0; i < d->nslots; i++)
		if (d->slots[i].c.phase == LWT_PH_UP && d->slots[i].c.p2p_flags &&
		    lwt_send_msg(d, i, LWT_MSG_P2P_CLOSE, &r, sizeof(r)))
			lwt_log_rl(LWT_LOG_WARN, "p2p: couldn't tell a client to close its direct paths");
}

void lwt_p2p_hub_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len)
{
	struct lwt_slot *s = &d->slots[slot];

	if (s->c.phase != LWT_PH_UP)
		return;
	if (m[0] == LWT_MSG_P2P_HELLO && (len == 1 + sizeof(struct lwt_p2p_hello) ||
					   len == 1 + LWT_P2P_HELLO_V1_LEN)) {
		struct lwt_p2p_hello h = { 0 };

		memcpy(&h, m + 1, len - 1);
		s->c.p2p_flags = h.flags;
		/* A client over IPv6: P2P is IPv4 only, no punch is ever ordered. */
		if (lwt_addr_key32_is_v6(s->c.raddr))
			s->c.p2p_flags = 0;
		/* Both mappings at once is nonsense: neither is believed. */
		if ((h.flags & LWT_P2P_F_TCP_IND) && (h.flags & LWT_P2P_F_TCP_DEP))
			s->c.p2p_flags &= (uint8_t)~(LWT_P2P_F_TCP_IND | LWT_P2P_F_TCP_DEP);
		s->c.p2p_udp_port = h.udp_port;
		s->c.p2p_nat = h.nat <= LWT_NAT_SYMMETRIC ? h.nat : LWT_NAT_UNKNOWN;
		s->c.p2p_lan_addr = h.lan_addr;
		s->c.p2p_lan_port = h.lan_port;
	} else if (m[0] == LWT_MSG_P2P_REQ && len == 1 + sizeof(struct lwt_p2p_req)) {
		struct lwt_p2p_req r;

		memcpy(&r, m + 1, sizeof(r));
		request(d, slot, r.peer_tun_ip);
	}
}
