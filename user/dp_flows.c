// SPDX-License-Identifier: MIT
/* The data plane (dataplane.c): outer segments: a segment to its slot (by flow), new flows from SYN cookies under the half-open bounds, peer-reflexive P2P flows. */
#include "dp_int.h"

uint64_t dp_flow_key(uint32_t raddr, uint16_t rport, uint16_t lport)
{
	return (uint64_t)raddr << 32 | (uint32_t)rport << 16 | lport;
}

/* Publish (or, 0, withdraw) the flow a slot of ours carries: in the
 * slot, and in the index that finds it. */
void dp_flow_publish(struct lwt_daemon *d, struct lwt_slot *s, uint64_t key)
{
	uint64_t old = atomic_load_explicit(&s->flow_key, memory_order_relaxed);

	if (old == key)
		return;
	atomic_store_explicit(&s->flow_key, key, memory_order_release);
	lwt_slotidx_del(&d->flow_idx, old, (int)(s - d->slots));
	lwt_slotidx_add(&d->flow_idx, key, (int)(s - d->slots));
}

/* Any poller's slot: the index's candidates, each checked by its
 * published dp_flow_key. */
static struct lwt_slot *slot_by_flow(struct lwt_daemon *d, const struct lwt_tcp_seg *g)
{
	uint64_t k = dp_flow_key(g->saddr, g->sport, g->dport);
	struct lwt_slotidx_it it = lwt_slotidx_first(&d->flow_idx, k);
	int i;

	while ((i = lwt_slotidx_next(&d->flow_idx, &it)) >= 0)
		if (i < d->nslots &&
		    atomic_load_explicit(&d->slots[i].flow_key, memory_order_acquire) == k)
			return &d->slots[i];
	return NULL;
}

/* A poller with a free slot and room for a handshake, other than us; -1. */
static int poller_with_room(struct dpctx *x)
{
	struct lwt_daemon *d = x->d;
	int i;

	for (i = 0; i < x->np; i++)
		if (i != x->id && atomic_load_explicit(&d->px[i]->fr.nfree, memory_order_relaxed) > 0)
			return i;
	return -1;
}

/* The SYN cookie key: random per daemon (lwt_syncookie_init), the counter
 * in the cookie rotates what it keys. */
static struct lwt_syncookie_key cookie_key;
static pthread_once_t cookie_once = PTHREAD_ONCE_INIT;

static void cookie_key_init(void)
{
	lwt_syncookie_init(&cookie_key);
}

/* The flow of slot i if it is half-open (in handshake, with a flow), else 0. */
static uint64_t halfopen_key(struct lwt_daemon *d, int i)
{
	if (atomic_load_explicit(&d->slots[i].state, memory_order_acquire) != LWT_SLOT_HANDSHAKE)
		return 0;
	return atomic_load_explicit(&d->slots[i].flow_key, memory_order_acquire);
}

/* Slot s of ours took a flow: into the half-open set (slotidx.h), after
 * our entries of slots that left the handshake are dropped. */
static void halfopen_note(struct dpctx *x, struct lwt_slot *s)
{
	struct lwt_daemon *d = x->d;
	uint32_t want = (uint32_t)(s - d->slots) + 1, v, room = LWT_HOSET_SIZE;
	int i;

	for (i = 0; i < LWT_HOSET_SIZE; i++) {
		v = atomic_load_explicit(&d->halfopen.e[i], memory_order_relaxed);
		if (v && v != want && lwt_slot_owner(d, (int)v - 1) == x->id &&
		    !halfopen_key(d, (int)v - 1)) {
			atomic_store_explicit(&d->halfopen.e[i], 0, memory_order_relaxed);
			v = 0;
		}
		if (v == want)
			return;
		if (!v && room == LWT_HOSET_SIZE)
			room = (uint32_t)i;
	}
	for (i = (int)room; i < LWT_HOSET_SIZE; i++) {
		v = 0;
		if (atomic_compare_exchange_strong(&d->halfopen.e[i], &v, want))
			return;
	}
	atomic_store(&d->halfopen.full, 1);
}

/* Half-authenticated flows (a slot, no session yet) from this source
 * address and from its /24 are under their caps, and all of them under
 * MAX_EMBRYONIC. The half-open set names the slots (a fixed table, no state
 * per attacker); each is read through its published state and flow key, so
 * a burst on several pollers at once may pass a cap by one per poller. */
static bool halfopen_ok(struct lwt_daemon *d, uint32_t raddr)
{
	uint32_t n = 0, src = 0, net = 0, mask = htonl(0xffffff00u), v;
	bool walk = atomic_load_explicit(&d->halfopen.full, memory_order_relaxed);
	int i, end = walk ? d->nslots : LWT_HOSET_SIZE;

	for (i = 0; i < end; i++) {
		uint64_t k;

		if (walk) {
			k = halfopen_key(d, i);
		} else {
			v = atomic_load_explicit(&d->halfopen.e[i], memory_order_acquire);
			k = v && (int)v <= d->nslots ? halfopen_key(d, (int)v - 1) : 0;
		}
		if (!k)
			continue;
		n++;
		if ((uint32_t)(k >> 32) == raddr)
			src++;
		if (((uint32_t)(k >> 32) & mask) == (raddr & mask))
			net++;
	}
	return n < MAX_EMBRYONIC && src < LWT_HALFOPEN_PER_SRC && net < LWT_HALFOPEN_PER_NET;
}

/* Server: a segment of no flow. A SYN is answered with a cookie SYN-ACK
 * and leaves nothing behind; an ACK carrying a valid cookie takes a slot
 * of ours, ESTABLISHED, if its source is under the half-open caps and we
 * hold under our share of them (else the ACK goes to a poller with a free
 * slot, whose slot the flow's later segments are handed to: the queues
 * are unevenly loaded, the clients' limit is the daemon's). Returns the new slot (the segment is then the
 * flow's first), or NULL. */
static struct lwt_slot *new_flow(struct dpctx *x, const struct lwt_tcp_seg *g,
				 const uint8_t *pkt, size_t len, bool handed)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *s = NULL;
	struct lwt_ftcp_conn c;
	int i, n;

	pthread_once(&cookie_once, cookie_key_init);
	if ((g->flags & (LWT_TCP_SYN | LWT_TCP_ACK | LWT_TCP_RST | LWT_TCP_FIN)) == LWT_TCP_SYN) {
		n = lwt_ftcp_build_cookie_synack(&cookie_key, lwt_syncookie_now(), g, dp_mss(d, g->v6),
						 dp_tx_buf(x), x->seg_max);
		if (n <= 0) {
			LWT_CTR_INC(&d->ctr, drop_malformed);
			return NULL;
		}
		dp_tx_commit(x, NULL, n);
		LWT_CTR_INC(&d->ctr, syn_cookies);
		return NULL;
	}
	if ((g->flags & (LWT_TCP_SYN | LWT_TCP_ACK | LWT_TCP_RST)) != LWT_TCP_ACK) {
		LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		return NULL;
	}
	if (lwt_ftcp_accept_cookie(&cookie_key, lwt_syncookie_now(), &c, g)) {
		LWT_CTR_INC(&d->ctr, drop_bad_cookie);
		return NULL;
	}
	if (!halfopen_ok(d, g->saddr)) {
		LWT_CTR_INC(&d->ctr, drop_halfopen);
		return NULL;
	}
	/* A free slot of ours, if we hold under our share of half-open flows
	 * (slotfree.h: no walk over our slots). */
	i = lwt_slotfree_first(&x->fr);
	if (i >= 0 && x->fr.nhs < (MAX_EMBRYONIC + x->np - 1) / x->np)
		s = &d->slots[i];
	if (!s) {
		int to = handed ? -1 : poller_with_room(x);

		if (to >= 0)
			dp_handoff(x, to, H_OUTER, pkt, len);
		else
			LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		return NULL;
	}
	s->gen++;
	s->hs_frames = 0;
	s->tcp = c;
	s->ack_due_ns = 0;
	s->session_id = 0;
	atomic_store_explicit(&s->rtt_us, 0, memory_order_relaxed);
	atomic_store_explicit(&s->last_rx_ns, lwt_now_ns(), memory_order_relaxed);
	dp_slot_state(x, s, LWT_SLOT_HANDSHAKE);
	dp_flow_publish(d, s, dp_flow_key(g->saddr, g->sport, g->dport));
	halfopen_note(x, s);
	LWT_CTR_INC(&d->ctr, cookie_flows);
	dp_post(d, LWT_EVT_NEW_FLOW, s - d->slots, NULL, 0);
	dp_post(d, LWT_EVT_ESTABLISHED, s - d->slots, NULL, 0);
	return s;
}

/* Client: a SYN from the address of a peer we are punching to, from
 * another port than the hub saw. The peer's NAT maps each destination to a
 * port of its own (symmetric): its SYN shows the mapping it uses for us, so
 * our flow answers there (a peer-reflexive candidate, as ICE calls it). The
 * handshake that follows still has to prove the pair secret. */
static struct lwt_slot *peer_reflexive(struct dpctx *x, const struct lwt_tcp_seg *g)
{
	struct lwt_daemon *d = x->d;
	int i;

	if ((g->flags & (LWT_TCP_SYN | LWT_TCP_ACK | LWT_TCP_RST | LWT_TCP_FIN)) != LWT_TCP_SYN)
		return NULL;
	for (i = 1; i < d->nslots; i++) {
		struct lwt_slot *s = &d->slots[i];

		if (!dp_mine(x, s) ||
		    atomic_load_explicit(&s->state, memory_order_acquire) != LWT_SLOT_HANDSHAKE ||
		    s->tcp.state != LWT_FTCP_SYN_SENT || s->tcp.raddr != g->saddr ||
		    s->tcp.lport != g->dport)
			continue;
		s->tcp.rport = g->sport;
		dp_flow_publish(d, s, dp_flow_key(g->saddr, g->sport, g->dport));
		LWT_CTR_INC(&s->ctr, peer_reflexive);
		return s;
	}
	return NULL;
}

/* Server: a segment to the listen port of a family (and IPv6 address) we
 * listen on. One of another ([v6]:port takes no IPv4, an IPv4 address no
 * IPv6) is not ours: no SYN-ACK, no flow; the host's kernel answers it as
 * a closed port (the XDP program does not steer it, LWT_XDP_CF_NO_LISTEN4;
 * this covers raw sockets and anything steered all the same). */
static bool listens_for(const struct lwt_daemon *d, const struct lwt_tcp_seg *g)
{
	const struct lwt_config *c = &d->cfg;

	if (!g->v6)
		return c->listen4 || !c->listen6;
	return c->listen6 && (lwt_addr_is_any(&c->listen_ep6) || lwt_addr_eq(&g->da, &c->listen_ep6));
}

void dp_segment_input(struct dpctx *x, uint8_t *pkt, size_t len, bool handed)
{
	struct lwt_daemon *d = x->d;
	struct lwt_tcp_seg g;
	struct lwt_slot *s;
	enum lwt_ftcp_state before;
	enum lwt_ftcp_verdict v;
	int n;

	/* Merged (GRO) segments arrive with checksums the kernel already
	 * validated and that no longer cover the merged payload. */
	if (lwt_tcp_parse(pkt, len, len <= 1500, &g)) {
		LWT_CTR_INC(&d->ctr, drop_malformed);
		return;
	}
	if (d->cfg.mode == LWT_MODE_SERVER && (g.dport != d->local_port || !listens_for(d, &g)))
		return;
	s = slot_by_flow(d, &g);
	if (!s && d->cfg.mode == LWT_MODE_SERVER)
		s = new_flow(x, &g, pkt, len, handed);
	else if (!s && d->nslots > 1)
		s = peer_reflexive(x, &g);
	if (!s) {
		if (d->cfg.mode != LWT_MODE_SERVER)
			LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		return;
	}
	if (!dp_mine(x, s)) {
		if (handed)
			LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		else
			dp_handoff(x, lwt_slot_owner(d, (int)(s - d->slots)), H_OUTER, pkt, len);
		return;
	}
	/* An IPv6 flow is keyed by a hash of its address: confirm it here,
	 * where the flow's state is ours to read. */
	if (g.v6 != s->tcp.v6 || (g.v6 && !lwt_addr_eq(&g.sa, &s->tcp.ra))) {
		LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		return;
	}
	dp_touch(x, s);
	before = s->tcp.state;
	v = lwt_ftcp_input(&s->tcp, &g);
	switch (v) {
	case LWT_FTCP_DROP:
		if (g.flags & LWT_TCP_RST)
			LWT_CTR_INC(&s->ctr, rst_ignored);
		else
			LWT_CTR_INC(&s->ctr, drop_window);
		return;
	case LWT_FTCP_SEND_SYNACK:
		n = lwt_ftcp_build_synack(&s->tcp, dp_tx_buf(x), x->seg_max, dp_mss(d, s->tcp.v6));
		dp_tx_commit(x, s, n);
		return;
	case LWT_FTCP_SEND_ACK:
		dp_send_ack(x, s);
		dp_post(d, LWT_EVT_ESTABLISHED, s - d->slots, NULL, 0);
		return;
	case LWT_FTCP_CHALLENGE_ACK:
		if (g.flags & LWT_TCP_RST)
			LWT_CTR_INC(&s->ctr, rst_ignored);
		LWT_CTR_INC(&s->ctr, challenge_acks);
		dp_send_ack(x, s);
		return;
	case LWT_FTCP_RESET:
		/* lwt never sends RST or FIN: one on a session may be spoofed
		 * (exact sequence numbers can be seen or guessed). It only makes
		 * us ask the peer, under the session's keys; no answer in time
		 * and the session is over (dp_probe_check). */
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION) {
			dp_probe_start(x, s, PROBE_RST);
			return;
		}
		lwt_log_rl(LWT_LOG_INFO, "peer %u: connection reset by peer", (unsigned int)(s - d->slots));
		dp_post(d, LWT_EVT_RESET, s - d->slots, "reset", 5);
		return;
	case LWT_FTCP_OK:
		break;
	}
	if (before == LWT_FTCP_SYN_RCVD && s->tcp.state == LWT_FTCP_ESTABLISHED)
		dp_post(d, LWT_EVT_ESTABLISHED, s - d->slots, NULL, 0);
	if (!g.payload_len)
		return;
	/* Only a segment that proved to be the peer's moves the flow. */
	if (dp_payload_input(x, s, g.payload, g.payload_len) > 0)
		lwt_ftcp_commit(&s->tcp, &g);
	else
		return;
	if (s->tcp.rcv_nxt - s->tcp.last_ack_sent >= ACK_BYTES) {
		dp_send_ack(x, s);
	} else if (!s->ack_due_ns) {
		s->ack_due_ns = x->now + ACK_DELAY_NS;	/* a slot timer (dp_slot_timers) */
	}
}
