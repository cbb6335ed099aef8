// SPDX-License-Identifier: MIT
/* The data-plane thread: outer segments in -> fake-TCP check -> record open
 * -> TUN; TUN -> record seal -> fake-TCP segment out. Owns every slot's
 * per-packet state; takes orders from the control thread through d->to_dp.
 * No lock and no allocation on the per-packet path (the client's reconnect
 * queue allocates, but only while no session exists). */
#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "daemon.h"
#include "gso.h"
#include "frame.h"
#include "log.h"

#define TUN_BATCH 32
#define ACK_BYTES (32 * 1448)		/* pure ACK after this much one-way data */
#define ACK_DELAY_NS (20 * 1000000ull)	/* ... or after this long */
#define MAX_EMBRYONIC 64		/* server slots in handshake at once */
#define SEG_HDR (LWT_IP_HDR_LEN + LWT_TCP_DATA_HDR_LEN)
#define REC_HDR (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_record_hdr))
#define REPORT_NS (1000000000ull)		/* loss report period (adaptive FEC) */
#define REPORT_RECORDS 2000			/* ...or sooner, after this many records */
#define FEC_EXPIRE_EVERY_NS (100000000ull)
#define KEY_GRACE_NS (2000000000ull)		/* previous epoch kept for stragglers */
#define KEY_WAIT_NS (30000000000ull)		/* ... or until the peer switches */

struct pending {		/* client: TUN packets waiting for a session */
	uint8_t **pkts;
	uint16_t *lens;
	unsigned int cap, head, count;
};

struct dpctx {
	struct lwt_daemon *d;
	uint8_t txbuf[LWT_DP_BATCH][LWT_DP_BUF];
	struct lwt_dp_pkt txq[LWT_DP_BATCH];
	int ntx;
	uint8_t tunbuf[TUN_BATCH][LWT_DP_BUF];
	struct pending pend;
	int acks_pending;
	uint32_t embryonic;
	struct lwt_rtable *rt;		/* server: advertised routes */
	/* TUN with IFF_VNET_HDR: one read brings up to 64 KB of a flow that
	 * we cut ourselves; packets for the TUN are coalesced per flow. */
	uint8_t *gsobuf;
	struct lwt_gro *gro;
};

/* Server: the client owning an advertised route to ip (longest prefix). */
static struct lwt_slot *slot_by_route(struct dpctx *x, uint32_t ip)
{
	struct lwt_rtable *t = x->rt;
	int i;

	for (i = 0; t && i < t->n; i++) {
		if ((ip & t->r[i].mask) == t->r[i].net) {
			struct lwt_slot *s = &x->d->slots[t->r[i].slot];

			if (s->gen == t->r[i].gen &&
			    atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
				return s;
			return NULL;
		}
	}
	return NULL;
}

/* Server: may this client send from ip (its tunnel IP or its own routes)? */
static bool src_ok(struct dpctx *x, struct lwt_slot *s, uint32_t ip)
{
	return ip == s->peer_tun_ip || (x->rt && slot_by_route(x, ip) == s);
}

void lwt_rekey_keys_free(struct lwt_rekey_keys *k)
{
	if (!k)
		return;
	lwt_aead_destroy(k->tx);
	lwt_aead_destroy(k->rx);
	free(k);
}

/* Forget every key epoch but none: a new session or a freed slot. */
static void keys_reset(struct lwt_slot *s)
{
	lwt_aead_destroy(s->rx_prev);
	lwt_aead_destroy(s->rx_next);
	lwt_aead_destroy(s->tx_next);
	s->rx_prev = s->rx_next = s->tx_next = NULL;
	s->tx_epoch = s->rx_epoch = s->next_epoch = 0;
	s->prev_until_ns = 0;
	atomic_store_explicit(&s->key_epoch, 0, memory_order_relaxed);
}

/* Move to the next epoch: the current receive key stays as the previous one
 * until prev_until_ns; we send under the new keys from now on. */
static void keys_switch(struct lwt_slot *s, struct lwt_aead *tx, struct lwt_aead *rx,
			uint16_t epoch, uint64_t prev_until_ns)
{
	lwt_aead_destroy(s->rx_prev);
	s->rx_prev = s->rx;
	s->replay_prev = s->replay;
	s->prev_until_ns = prev_until_ns;
	s->rx = rx;
	lwt_replay_init(&s->replay);
	s->rx_epoch = epoch;
	lwt_aead_destroy(s->tx);
	s->tx = tx;
	s->tx_epoch = epoch;
	s->tx_counter = 0;
	/* The loss measure counts sequence numbers, which restart. */
	s->rx_top = s->rx_seen = s->rep_top = s->rep_seen = 0;
	atomic_store_explicit(&s->key_epoch, epoch, memory_order_relaxed);
	LWT_CTR_INC(&s->ctr, rekeys);
}

void lwt_install_free(struct lwt_install *in)
{
	if (!in)
		return;
	lwt_aead_destroy(in->tx);
	lwt_aead_destroy(in->rx);
	lwt_fec_enc_destroy(in->fenc);
	lwt_fec_dec_destroy(in->fdec);
	free(in);
}

uint64_t lwt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void post(struct lwt_daemon *d, int type, int slot, const void *data, size_t len)
{
	struct lwt_msg m = { .type = type, .slot = slot, .gen = d->slots[slot].gen };

	if (len > sizeof(m.data))
		len = sizeof(m.data);
	if (data && len)
		memcpy(m.data, data, len);
	m.len = len;
	lwt_msgq_push(&d->to_ctl, &m);
}

static void tx_flush(struct dpctx *x)
{
	struct lwt_dp *dp = x->d->dp;

	if (!x->ntx)
		return;
	dp->ops->tx_batch(dp, x->txq, x->ntx);
	x->ntx = 0;
}

/* A free transmit buffer; flushes when the batch is full. */
static uint8_t *tx_buf(struct dpctx *x)
{
	if (x->ntx == LWT_DP_BATCH)
		tx_flush(x);
	return x->txbuf[x->ntx];
}

static void tx_commit(struct dpctx *x, struct lwt_slot *s, int len)
{
	if (len <= 0)
		return;
	x->txq[x->ntx].data = x->txbuf[x->ntx];
	x->txq[x->ntx].len = len;
	x->ntx++;
	if (s->ack_due_ns)
		x->acks_pending--;
	s->ack_due_ns = 0;
	s->tcp.last_ack_sent = s->tcp.rcv_nxt;
}

static void send_ack(struct dpctx *x, struct lwt_slot *s)
{
	int len = lwt_ftcp_build_ack(&s->tcp, tx_buf(x), LWT_DP_BUF);

	tx_commit(x, s, len);
	LWT_CTR_INC(&s->ctr, pure_acks);
}

/* Send raw bytes (a handshake frame) as the payload of one segment. */
static void send_plain(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	uint8_t *b = tx_buf(x);
	int n;

	if (len > LWT_DP_BUF - SEG_HDR)
		return;
	memcpy(b + SEG_HDR, p, len);
	n = lwt_ftcp_build_data(&s->tcp, b, LWT_DP_BUF, len);
	tx_commit(x, s, n);
}

/* Seal msg type + body into a SEALED record and send it. The body may
 * already sit at its place in the tx buffer (body == NULL). */
static int send_record(struct dpctx *x, struct lwt_slot *s, uint8_t type, const void *body,
		       size_t blen, uint8_t *b)
{
	size_t plen = REC_HDR + 1 + blen + LWT_TAG_LEN;
	struct lwt_record_hdr *rh;
	uint64_t ctr;
	uint8_t *f;
	bool authed;
	int n;

	if (SEG_HDR + plen > LWT_DP_BUF)
		return -EMSGSIZE;
	if (!lwt_ftcp_window_ok(&s->tcp, plen)) {
		LWT_CTR_INC(&s->ctr, drop_window);
		return -ENOBUFS;
	}
	f = b + SEG_HDR;
	/* encrypt_after_auth: data goes in clear under a GMAC tag over header
	 * and payload; everything else stays sealed. */
	authed = s->auth_only && (type == LWT_MSG_IP || type == LWT_MSG_FEC);
	lwt_frame_put_hdr(f, authed ? LWT_FT_AUTHED : LWT_FT_SEALED, plen - sizeof(struct lwt_frame_hdr));
	rh = (struct lwt_record_hdr *)(f + sizeof(struct lwt_frame_hdr));
	rh->session_id = htonl(s->session_id);
	ctr = (uint64_t)s->tx_epoch << LWT_EPOCH_SHIFT | s->tx_counter;
	rh->counter = htobe64(ctr);
	f[REC_HDR] = type;
	if (body)
		memcpy(f + REC_HDR + 1, body, blen);
	if (authed ? lwt_aead_gmac_seal(s->tx, ctr, f, REC_HDR, f + REC_HDR, 1 + blen,
					f + REC_HDR + 1 + blen) :
		     lwt_aead_seal(s->tx, ctr, f, REC_HDR, f + REC_HDR, 1 + blen))
		return -EIO;
	s->tx_counter++;
	n = lwt_ftcp_build_data(&s->tcp, b, LWT_DP_BUF, plen);
	tx_commit(x, s, n);
	LWT_CTR_INC(&s->ctr, tx_packets);
	LWT_CTR_ADD(&s->ctr, tx_bytes, blen);
	return 0;
}

static void send_keepalive(struct dpctx *x, struct lwt_slot *s, bool reply)
{
	struct lwt_keepalive ka = { 0 };
	uint64_t now = lwt_now_ns();

	ka.sent_ns = htobe64(now);
	ka.echo_ns = htobe64(s->last_echo_ns);
	if (s->last_echo_ns)
		ka.echo_delay_us = htonl((uint32_t)((now - s->last_echo_rx_ns) / 1000));
	ka.is_reply = reply;
	if (send_record(x, s, LWT_MSG_KEEPALIVE, &ka, sizeof(ka), tx_buf(x)) == 0)
		LWT_CTR_INC(&s->ctr, keepalives_tx);
}

static struct lwt_slot *slot_by_tun_ip(struct lwt_daemon *d, uint32_t ip)
{
	static int last;
	int i;

	if (last < d->nslots && atomic_load_explicit(&d->slots[last].state, memory_order_relaxed) ==
	    LWT_SLOT_SESSION && d->slots[last].peer_tun_ip == ip)
		return &d->slots[last];
	for (i = 0; i < d->nslots; i++) {
		struct lwt_slot *s = &d->slots[i];

		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION &&
		    s->peer_tun_ip == ip) {
			last = i;
			return s;
		}
	}
	return NULL;
}

struct fec_ctx {
	struct dpctx *x;
	struct lwt_slot *s;
};

/* FEC encoder output: one shard per record. */
static void fec_emit(void *ctx, const struct lwt_fec_hdr *h, const uint8_t *p, size_t len)
{
	struct fec_ctx *c = ctx;
	uint8_t *b = tx_buf(c->x), *body = b + SEG_HDR + REC_HDR + 1;

	if (SEG_HDR + REC_HDR + 1 + sizeof(*h) + len + LWT_TAG_LEN > LWT_DP_BUF)
		return;
	memcpy(body, h, sizeof(*h));
	memcpy(body + sizeof(*h), p, len);
	send_record(c->x, c->s, LWT_MSG_FEC, NULL, sizeof(*h) + len, b);
}

/* Send one inner IP packet to slot s; the packet is copied into a tx buffer. */
static void send_ip(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len)
{
	uint8_t *b;

	if (s->fenc && len <= LWT_FEC_MAX_PKT) {
		struct fec_ctx c = { x, s };

		lwt_fec_enc_add(s->fenc, pkt, len, lwt_now_ns(), fec_emit, &c);
		return;
	}
	b = tx_buf(x);

	if (SEG_HDR + REC_HDR + 1 + len + LWT_TAG_LEN > LWT_DP_BUF) {
		LWT_CTR_INC(&x->d->ctr, drop_malformed);
		return;
	}
	memcpy(b + SEG_HDR + REC_HDR + 1, pkt, len);
	send_record(x, s, LWT_MSG_IP, NULL, len, b);
}

static void pend_push(struct dpctx *x, const uint8_t *pkt, size_t len)
{
	struct pending *p = &x->pend;
	unsigned int i;

	if (p->count == p->cap) {
		LWT_CTR_INC(&x->d->ctr, drop_queue_full);
		return;
	}
	i = (p->head + p->count) % p->cap;
	if (!p->pkts[i])
		p->pkts[i] = malloc(LWT_DP_BUF);
	if (!p->pkts[i])
		return;
	memcpy(p->pkts[i], pkt, len);
	p->lens[i] = len;
	p->count++;
}

static void pend_flush(struct dpctx *x, struct lwt_slot *s)
{
	struct pending *p = &x->pend;

	if (p->count)
		lwt_info("sending %u packets queued during (re)connect", p->count);
	while (p->count) {
		send_ip(x, s, p->pkts[p->head], p->lens[p->head]);
		free(p->pkts[p->head]);
		p->pkts[p->head] = NULL;
		p->head = (p->head + 1) % p->cap;
		p->count--;
	}
}

static void tun_input(struct dpctx *x, const uint8_t *pkt, size_t len)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *s;
	uint32_t dst;

	if (len < 20 || (pkt[0] >> 4) != 4) {
		/* IPv6 and others: lwt's TUN is IPv4 only for now. */
		LWT_CTR_INC(&d->ctr, drop_no_route);
		return;
	}
	if (d->cfg.mode == LWT_MODE_CLIENT) {
		s = &d->slots[0];
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			send_ip(x, s, pkt, len);
		else
			pend_push(x, pkt, len);
		return;
	}
	memcpy(&dst, pkt + 16, 4);
	s = slot_by_tun_ip(d, dst);
	if (!s)
		s = slot_by_route(x, dst);
	if (!s) {
		LWT_CTR_INC(&d->ctr, drop_no_route);
		return;
	}
	send_ip(x, s, pkt, len);
}

static void gro_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct dpctx *x = ctx;

	if (write(x->d->tun.fd, buf, len) < 0)
		LWT_CTR_INC(&x->d->ctr, drop_queue_full);
}

static void gro_flush(struct dpctx *x)
{
	if (x->gro)
		lwt_gro_flush(x->gro, gro_write, x);
}

static void deliver_ip(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len)
{
	struct lwt_daemon *d = x->d;
	uint32_t src, dst;
	struct lwt_slot *to;

	if (len < 20 || (pkt[0] >> 4) != 4 || (size_t)(pkt[2] << 8 | pkt[3]) > len) {
		LWT_CTR_INC(&s->ctr, drop_malformed);
		return;
	}
	if (d->cfg.mode == LWT_MODE_SERVER) {
		memcpy(&src, pkt + 12, 4);
		memcpy(&dst, pkt + 16, 4);
		/* A client speaks only from its own tunnel address or the
		 * networks it advertised. */
		if (!src_ok(x, s, src)) {
			LWT_CTR_INC(&s->ctr, drop_spoofed_src);
			return;
		}
		/* For the server itself: no lookup (a scan of every slot). */
		to = dst == d->cfg.tun_ip ? NULL : slot_by_tun_ip(d, dst);
		if (!to && dst != d->cfg.tun_ip)
			to = slot_by_route(x, dst);
		if (to && to != s) {
			if (d->cfg.client_isolation) {
				LWT_CTR_INC(&s->ctr, drop_isolation);
				return;
			}
			LWT_CTR_INC(&s->ctr, forwarded);
			send_ip(x, to, pkt, len);
			return;
		}
	}
	if (x->gro) {
		int r = lwt_gro_add(x->gro, pkt, len);

		if (r == -ENOBUFS) {
			gro_flush(x);
			r = lwt_gro_add(x->gro, pkt, len);
		}
		if (r < 0)
			LWT_CTR_INC(&d->ctr, drop_queue_full);
		return;
	}
	if (write(d->tun.fd, pkt, len) < 0)
		LWT_CTR_INC(&d->ctr, drop_queue_full);
}

static void keepalive_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	struct lwt_keepalive ka;
	uint64_t now = lwt_now_ns(), echo;
	uint32_t delay_ns;

	if (len != sizeof(ka)) {
		LWT_CTR_INC(&s->ctr, drop_malformed);
		return;
	}
	memcpy(&ka, p, sizeof(ka));
	LWT_CTR_INC(&s->ctr, keepalives_rx);
	s->last_echo_ns = be64toh(ka.sent_ns);
	s->last_echo_rx_ns = now;
	echo = be64toh(ka.echo_ns);
	delay_ns = ntohl(ka.echo_delay_us) * 1000u;
	if (echo && echo < now && now - echo > delay_ns)
		atomic_store_explicit(&s->rtt_us, (now - echo - delay_ns) / 1000, memory_order_relaxed);
	if (!ka.is_reply)
		send_keepalive(x, s, true);
}

static void deliver_ip(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len);

static void fec_deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct fec_ctx *c = ctx;

	deliver_ip(c->x, c->s, pkt, len);
}

static void report_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	struct lwt_fec_report r;
	uint32_t ppm;

	if (len != sizeof(r)) {
		LWT_CTR_INC(&s->ctr, drop_malformed);
		return;
	}
	memcpy(&r, p, sizeof(r));
	ppm = ntohl(r.loss_ppm);
	atomic_store_explicit(&s->peer_loss_ppm, ppm, memory_order_relaxed);
	if (s->fenc && x->d->cfg.fec_adaptive)
		lwt_fec_enc_set_parity(s->fenc, lwt_fec_adaptive_parity(ppm, x->d->cfg.fec_data,
									x->d->cfg.fec_parity));
}

static void record_input(struct dpctx *x, struct lwt_slot *s, const struct lwt_frame *f)
{
	const struct lwt_record_hdr *rh;
	struct lwt_replay *rp, fresh;
	struct lwt_aead *a;
	uint8_t *body;
	size_t blen;
	uint64_t ctr, seq, now;
	uint16_t ep;
	int which;

	if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_SESSION ||
	    (f->type != LWT_FT_SEALED && !(f->type == LWT_FT_AUTHED && s->auth_only))) {
		LWT_CTR_INC(&s->ctr, drop_no_session);
		return;
	}
	if (f->body_len < sizeof(*rh) + 1 + LWT_TAG_LEN) {
		LWT_CTR_INC(&s->ctr, drop_malformed);
		return;
	}
	rh = (const struct lwt_record_hdr *)f->body;
	ctr = be64toh(rh->counter);
	if (ntohl(rh->session_id) != s->session_id) {
		LWT_CTR_INC(&s->ctr, drop_no_session);
		return;
	}
	/* Which keys: this epoch, the previous one (stragglers, for a while),
	 * or the next one the client holds until the server uses it. */
	ep = (uint16_t)(ctr >> LWT_EPOCH_SHIFT);
	seq = ctr & LWT_SEQ_MASK;
	now = lwt_now_ns();
	if (ep == s->rx_epoch) {
		a = s->rx;
		rp = &s->replay;
		which = 0;
	} else if (s->rx_prev && ep == (uint16_t)(s->rx_epoch - 1) && now < s->prev_until_ns) {
		a = s->rx_prev;
		rp = &s->replay_prev;
		which = -1;
	} else if (s->rx_next && ep == s->next_epoch) {
		a = s->rx_next;
		lwt_replay_init(&fresh);
		rp = &fresh;
		which = 1;
	} else {
		LWT_CTR_INC(&s->ctr, drop_stale_key);
		return;
	}
	if (!lwt_replay_check(rp, seq)) {
		LWT_CTR_INC(&s->ctr, drop_replay);
		return;
	}
	/* The rx buffer is ours; decrypt in place. */
	body = (uint8_t *)f->body + sizeof(*rh);
	blen = f->body_len - sizeof(*rh) - LWT_TAG_LEN;
	if (f->type == LWT_FT_AUTHED ?
	    lwt_aead_gmac_open(a, ctr, f->frame, REC_HDR, body, blen, body + blen) ||
	    (body[0] != LWT_MSG_IP && body[0] != LWT_MSG_FEC) :
	    lwt_aead_open(a, ctr, f->frame, REC_HDR, body, blen)) {
		LWT_CTR_INC(&s->ctr, drop_auth);
		lwt_log_rl(LWT_LOG_WARN, "peer %u: record failed authentication (wrong key or tampered)",
			   (unsigned int)(s - x->d->slots));
		return;
	}
	if (which == 1) {
		/* The server sends under the next keys: so do we from now on. */
		keys_switch(s, s->tx_next, s->rx_next, s->next_epoch, now + KEY_GRACE_NS);
		s->tx_next = s->rx_next = NULL;
		rp = &s->replay;
		which = 0;
	} else if (which == 0 && s->rx_prev && s->prev_until_ns > now + KEY_GRACE_NS) {
		/* The peer has switched; the old keys only await stragglers. */
		s->prev_until_ns = now + KEY_GRACE_NS;
	}
	if (!lwt_replay_update(rp, seq)) {
		LWT_CTR_INC(&s->ctr, drop_replay);
		return;
	}
	atomic_store_explicit(&s->last_rx_ns, now, memory_order_relaxed);
	LWT_CTR_INC(&s->ctr, rx_packets);
	LWT_CTR_ADD(&s->ctr, rx_bytes, blen - 1);
	if (which == 0) {
		s->rx_seen++;
		if (seq + 1 > s->rx_top)
			s->rx_top = seq + 1;
	}
	switch (body[0]) {
	case LWT_MSG_IP:
		deliver_ip(x, s, body + 1, blen - 1);
		break;
	case LWT_MSG_FEC:
		if (!s->fdec) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		{
			struct fec_ctx c = { x, s };

			if (lwt_fec_dec_input(s->fdec, body + 1, blen - 1, lwt_now_ns(), fec_deliver, &c))
				LWT_CTR_INC(&s->ctr, drop_malformed);
		}
		break;
	case LWT_MSG_FEC_REPORT:
		report_input(x, s, body + 1, blen - 1);
		break;
	case LWT_MSG_KEEPALIVE:
		keepalive_input(x, s, body + 1, blen - 1);
		break;
	case LWT_MSG_CLOSE:
		post(x->d, LWT_EVT_RESET, s - x->d->slots, "close", 5);
		break;
	case LWT_MSG_REKEY:
	case LWT_MSG_REKEY_ACK:
		if (blen != 1 + sizeof(struct lwt_rekey)) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		post(x->d, LWT_EVT_MSG, s - x->d->slots, body, blen);
		break;
	case LWT_MSG_ROUTES:
	case LWT_MSG_ROUTE_RESULT:
	case LWT_MSG_ROUTE_UPDATE:
	case LWT_MSG_PEERS:
		if (blen > LWT_MSGQ_DATA) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		post(x->d, LWT_EVT_MSG, s - x->d->slots, body, blen);
		break;
	default:
		LWT_CTR_INC(&s->ctr, drop_malformed);
	}
}

static void payload_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	struct lwt_frame f;
	size_t off = 0;
	int r;

	while ((r = lwt_frame_next(p, len, &off, &f)) == 1) {
		switch (f.type) {
		case LWT_FT_HELLO:
		case LWT_FT_HELLO_ACK:
		case LWT_FT_REJECT:
			post(x->d, LWT_EVT_FRAME, s - x->d->slots, f.frame, f.frame_len);
			break;
		default:
			record_input(x, s, &f);
		}
	}
	if (r < 0)
		LWT_CTR_INC(&s->ctr, drop_malformed);
}

static struct lwt_slot *slot_by_flow(struct lwt_daemon *d, const struct lwt_tcp_seg *g)
{
	int i;

	for (i = 0; i < d->nslots; i++) {
		struct lwt_slot *s = &d->slots[i];

		if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_FREE &&
		    s->tcp.raddr == g->saddr && s->tcp.rport == g->sport &&
		    s->tcp.lport == g->dport)
			return s;
	}
	return NULL;
}

static void new_flow(struct dpctx *x, const struct lwt_tcp_seg *g)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *s = NULL;
	int i, n;

	if (x->embryonic >= MAX_EMBRYONIC) {
		LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		return;
	}
	for (i = 0; i < d->nslots; i++) {
		if (atomic_load_explicit(&d->slots[i].state, memory_order_relaxed) == LWT_SLOT_FREE) {
			s = &d->slots[i];
			break;
		}
	}
	if (!s) {
		LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		return;
	}
	s->gen++;
	lwt_ftcp_init(&s->tcp, g->daddr, g->dport, g->saddr, g->sport);
	if (lwt_ftcp_accept_syn(&s->tcp, g)) {
		LWT_CTR_INC(&d->ctr, drop_malformed);
		return;
	}
	s->ack_due_ns = 0;
	s->session_id = 0;
	atomic_store_explicit(&s->rtt_us, 0, memory_order_relaxed);
	atomic_store_explicit(&s->last_rx_ns, lwt_now_ns(), memory_order_relaxed);
	atomic_store_explicit(&s->state, LWT_SLOT_HANDSHAKE, memory_order_release);
	x->embryonic++;
	n = lwt_ftcp_build_synack(&s->tcp, tx_buf(x), LWT_DP_BUF, d->mss);
	tx_commit(x, s, n);
	post(d, LWT_EVT_NEW_FLOW, s - d->slots, NULL, 0);
}

static void segment_input(struct dpctx *x, uint8_t *pkt, size_t len)
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
	if (d->cfg.mode == LWT_MODE_SERVER && g.dport != d->local_port)
		return;
	s = slot_by_flow(d, &g);
	if (!s) {
		if (d->cfg.mode == LWT_MODE_SERVER && (g.flags & (LWT_TCP_SYN | LWT_TCP_ACK |
		    LWT_TCP_RST)) == LWT_TCP_SYN)
			new_flow(x, &g);
		else
			LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		return;
	}
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
		n = lwt_ftcp_build_synack(&s->tcp, tx_buf(x), LWT_DP_BUF, d->mss);
		tx_commit(x, s, n);
		return;
	case LWT_FTCP_SEND_ACK:
		send_ack(x, s);
		post(d, LWT_EVT_ESTABLISHED, s - d->slots, NULL, 0);
		return;
	case LWT_FTCP_CHALLENGE_ACK:
		if (g.flags & LWT_TCP_RST)
			LWT_CTR_INC(&s->ctr, rst_ignored);
		LWT_CTR_INC(&s->ctr, challenge_acks);
		send_ack(x, s);
		return;
	case LWT_FTCP_RESET:
		lwt_log_rl(LWT_LOG_INFO, "peer %u: connection reset by peer", (unsigned int)(s - d->slots));
		post(d, LWT_EVT_RESET, s - d->slots, "reset", 5);
		return;
	case LWT_FTCP_OK:
		break;
	}
	if (before == LWT_FTCP_SYN_RCVD && s->tcp.state == LWT_FTCP_ESTABLISHED) {
		x->embryonic--;
		post(d, LWT_EVT_ESTABLISHED, s - d->slots, NULL, 0);
	}
	if (!g.payload_len)
		return;
	payload_input(x, s, g.payload, g.payload_len);
	if (s->tcp.rcv_nxt - s->tcp.last_ack_sent >= ACK_BYTES) {
		send_ack(x, s);
	} else if (!s->ack_due_ns) {
		s->ack_due_ns = lwt_now_ns() + ACK_DELAY_NS;
		x->acks_pending++;
	}
}

static void acks_due(struct dpctx *x)
{
	struct lwt_daemon *d = x->d;
	uint64_t now;
	int i;

	if (!x->acks_pending)
		return;
	now = lwt_now_ns();
	for (i = 0; i < d->nslots; i++) {
		struct lwt_slot *s = &d->slots[i];

		if (s->ack_due_ns && s->ack_due_ns <= now) {
			if (s->tcp.rcv_nxt != s->tcp.last_ack_sent &&
			    atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_FREE)
				send_ack(x, s);
			if (s->ack_due_ns) {
				s->ack_due_ns = 0;
				x->acks_pending--;
			}
		}
	}
}

/* FEC timers of every session: parity flush, group expiry, loss reports.
 * Returns the earliest flush deadline (0 = none). */
static uint64_t fec_timers(struct dpctx *x)
{
	struct lwt_daemon *d = x->d;
	uint64_t now = lwt_now_ns(), next = 0, dl;
	int i;

	for (i = 0; i < d->nslots; i++) {
		struct lwt_slot *s = &d->slots[i];
		struct fec_ctx c = { x, s };

		if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_SESSION)
			continue;
		if (s->fenc) {
			dl = lwt_fec_enc_deadline(s->fenc);
			if (dl && dl <= now) {
				lwt_fec_enc_flush(s->fenc, fec_emit, &c);
				dl = 0;
			}
			if (dl && (!next || dl < next))
				next = dl;
		}
		if (s->rx_prev && now >= s->prev_until_ns) {
			lwt_aead_destroy(s->rx_prev);
			s->rx_prev = NULL;
		}
		if (s->fdec && now >= s->expire_ns) {
			lwt_fec_dec_expire(s->fdec, now);
			s->expire_ns = now + FEC_EXPIRE_EVERY_NS;
		}
		if (now >= s->rep_ns || s->rx_top - s->rep_top >= REPORT_RECORDS) {
			uint64_t exp = s->rx_top - s->rep_top, got = s->rx_seen - s->rep_seen;
			struct lwt_fec_report r;

			s->rep_ns = now + REPORT_NS;
			if (exp >= 20 && got <= exp) {
				uint32_t ppm = (uint32_t)((exp - got) * 1000000 / exp);

				atomic_store_explicit(&s->loss_ppm, ppm, memory_order_relaxed);
				r.loss_ppm = htonl(ppm);
				r.window = htonl((uint32_t)exp);
				send_record(x, s, LWT_MSG_FEC_REPORT, &r, sizeof(r), tx_buf(x));
			}
			s->rep_top = s->rx_top;
			s->rep_seen = s->rx_seen;
		}
	}
	return next;
}

static void slot_free(struct dpctx *x, struct lwt_slot *s)
{
	/* Keep the totals when the slot's own counters go. */
#define FOLD(n) LWT_CTR_ADD(&x->d->ctr, n, LWT_CTR_GET(&s->ctr, n)); \
	atomic_store_explicit(&s->ctr.n, 0, memory_order_relaxed);
	LWT_COUNTERS(FOLD)
#undef FOLD
	if (s->tcp.state == LWT_FTCP_SYN_RCVD && x->embryonic)
		x->embryonic--;
	atomic_store_explicit(&s->state, LWT_SLOT_FREE, memory_order_release);
	lwt_aead_destroy(s->tx);
	lwt_aead_destroy(s->rx);
	s->tx = s->rx = NULL;
	keys_reset(s);
	lwt_fec_enc_destroy(s->fenc);
	lwt_fec_dec_destroy(s->fdec);
	s->fenc = NULL;
	s->fdec = NULL;
	if (s->ack_due_ns)
		x->acks_pending--;
	s->ack_due_ns = 0;
	s->tcp.state = LWT_FTCP_CLOSED;
	s->peer_tun_ip = 0;
}

static int handle_cmd(struct dpctx *x, struct lwt_msg *m)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *s = (m->slot >= 0 && m->slot < d->nslots) ? &d->slots[m->slot] : NULL;
	struct lwt_install *in;
	int n;

	if (m->type == LWT_CMD_STOP)
		return 1;
	if (m->type == LWT_CMD_ROUTES) {
		free(x->rt);
		x->rt = m->ptr;
		return 0;
	}
	if (m->type == LWT_CMD_SWAP_DP) {
		struct lwt_dp *old = d->dp;
		int i;

		struct lwt_dp_pkt rx[LWT_DP_BATCH];
		int n;

		pthread_mutex_lock(&d->dp_lock);
		d->dp = m->ptr;
		pthread_mutex_unlock(&d->dp_lock);
		/* What the old path still holds is ours too. */
		for (i = 0; i < 64; i++) {
			n = old->ops->rx_batch(old, rx, LWT_DP_BATCH);
			if (n <= 0)
				break;
			for (int k = 0; k < n; k++)
				segment_input(x, rx[k].data, rx[k].len);
		}
		old->ops->destroy(old);
		/* A segment on every flow at once: the new path learns the flows
		 * from what we send, and the peer sees an ordinary ACK. */
		for (i = 0; i < d->nslots; i++)
			if (atomic_load_explicit(&d->slots[i].state, memory_order_relaxed) ==
			    LWT_SLOT_SESSION)
				send_ack(x, &d->slots[i]);
		return 0;
	}
	if (!s)
		return 0;
	if (m->type == LWT_CMD_CONNECT) {
		if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_FREE)
			slot_free(x, s);
		s->gen = m->gen;
		lwt_ftcp_init(&s->tcp, d->local_ip, (uint16_t)m->u64, d->cfg.remote.sin_addr.s_addr,
			      d->cfg.remote.sin_port);
		atomic_store_explicit(&s->rtt_us, 0, memory_order_relaxed);
		s->last_echo_ns = 0;
		atomic_store_explicit(&s->state, LWT_SLOT_HANDSHAKE, memory_order_release);
		n = lwt_ftcp_build_syn(&s->tcp, tx_buf(x), LWT_DP_BUF, d->mss);
		tx_commit(x, s, n);
		return 0;
	}
	if (m->gen != s->gen) {
		/* About a flow that is gone; an INSTALL still owns its ciphers. */
		if (m->type == LWT_CMD_INSTALL)
			lwt_install_free(m->ptr);
		if (m->type == LWT_CMD_REKEY)
			lwt_rekey_keys_free(m->ptr);
		return 0;
	}
	switch (m->type) {
	case LWT_CMD_SEND_FRAME:
		send_plain(x, s, m->data, m->len);
		break;
	case LWT_CMD_INSTALL:
		in = m->ptr;
		lwt_aead_destroy(s->tx);
		lwt_aead_destroy(s->rx);
		lwt_fec_enc_destroy(s->fenc);
		lwt_fec_dec_destroy(s->fdec);
		s->tx = in->tx;
		s->rx = in->rx;
		s->fenc = in->fenc;
		s->fdec = in->fdec;
		s->rx_top = s->rx_seen = s->rep_top = s->rep_seen = 0;
		s->rep_ns = lwt_now_ns() + REPORT_NS;
		s->expire_ns = 0;
		atomic_store_explicit(&s->loss_ppm, 0, memory_order_relaxed);
		atomic_store_explicit(&s->peer_loss_ppm, 0, memory_order_relaxed);
		s->session_id = in->session_id;
		s->peer_tun_ip = in->peer_tun_ip;
		s->auth_only = in->auth_only;
		s->tx_counter = 0;
		lwt_replay_init(&s->replay);
		keys_reset(s);
		free(in);
		atomic_store_explicit(&s->last_rx_ns, lwt_now_ns(), memory_order_relaxed);
		atomic_store_explicit(&s->state, LWT_SLOT_SESSION, memory_order_release);
		if (d->cfg.mode == LWT_MODE_CLIENT)
			pend_flush(x, s);
		break;
	case LWT_CMD_KILL:
		slot_free(x, s);
		post(d, LWT_EVT_KILLED, m->slot, NULL, 0);
		break;
	case LWT_CMD_KEEPALIVE:
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			send_keepalive(x, s, false);
		break;
	case LWT_CMD_CLOSE:
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			send_record(x, s, LWT_MSG_CLOSE, NULL, 0, tx_buf(x));
		break;
	case LWT_CMD_SEND_MSG:
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			send_record(x, s, (uint8_t)m->u64, m->data, m->len, tx_buf(x));
		break;
	case LWT_CMD_REKEY: {
		struct lwt_rekey_keys *k = m->ptr;

		if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_SESSION) {
			lwt_rekey_keys_free(k);
			break;
		}
		if (k->now) {
			keys_switch(s, k->tx, k->rx, k->epoch, lwt_now_ns() + KEY_WAIT_NS);
			/* A first record under the new keys tells the peer to switch. */
			send_keepalive(x, s, false);
		} else {
			lwt_aead_destroy(s->rx_next);
			lwt_aead_destroy(s->tx_next);
			s->rx_next = k->rx;
			s->tx_next = k->tx;
			s->next_epoch = k->epoch;
		}
		free(k);
		break;
	}
	case LWT_CMD_RESYN:
		/* The same SYN (same ISN, timestamps move on), as a kernel resends it. */
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_HANDSHAKE &&
		    s->tcp.state == LWT_FTCP_SYN_SENT) {
			n = lwt_ftcp_build_syn(&s->tcp, tx_buf(x), LWT_DP_BUF, d->mss);
			tx_commit(x, s, n);
		}
		break;
	}
	return 0;
}

static void gso_seg(void *ctx, const uint8_t *pkt, size_t len)
{
	tun_input(ctx, pkt, len);
}

void *lwt_dataplane_run(void *arg)
{
	struct lwt_daemon *d = arg;
	struct lwt_dp_pkt rx[LWT_DP_BATCH];
	struct dpctx *x;
	struct lwt_msg m;
	uint64_t fec_next = 0;
	int i, n, stop = 0;

	x = calloc(1, sizeof(*x));
	if (!x) {
		lwt_err("data plane: out of memory");
		atomic_store(&d->stop, 1);
		return NULL;
	}
	x->d = d;
	x->pend.cap = d->cfg.send_queue_size > 0 ? d->cfg.send_queue_size : 1;
	x->pend.pkts = calloc(x->pend.cap, sizeof(*x->pend.pkts));
	x->pend.lens = calloc(x->pend.cap, sizeof(*x->pend.lens));
	if (d->tun.vnet) {
		x->gsobuf = malloc(LWT_GSO_READ_BUF);
		x->gro = lwt_gro_create();
	}
	if (!x->pend.pkts || !x->pend.lens || (d->tun.vnet && (!x->gsobuf || !x->gro))) {
		lwt_err("data plane: out of memory for send_queue_size %u", x->pend.cap);
		atomic_store(&d->stop, 1);
		goto out;
	}

	while (!stop && !atomic_load_explicit(&d->stop, memory_order_relaxed)) {
		struct pollfd pfd[3] = {
			{ .fd = d->to_dp.efd, .events = POLLIN },
			{ .fd = d->dp->ops->rx_fd(d->dp), .events = POLLIN },
			{ .fd = d->tun.fd, .events = POLLIN },
		};
		uint64_t now = lwt_now_ns(), wake = now + (x->acks_pending ? 5 : 200) * 1000000ull;
		struct timespec ts;

		if (fec_next && fec_next < wake)
			wake = fec_next > now ? fec_next : now;
		ts.tv_sec = (wake - now) / 1000000000ull;
		ts.tv_nsec = (wake - now) % 1000000000ull;
		if (ppoll(pfd, 3, &ts, NULL) < 0 && errno != EINTR) {
			lwt_err("data plane: poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			lwt_msgq_ack(&d->to_dp);
			while (!stop && lwt_msgq_pop(&d->to_dp, &m))
				stop = handle_cmd(x, &m);
		}
		if (pfd[1].revents & POLLIN) {
			for (i = 0; i < 8; i++) {
				n = d->dp->ops->rx_batch(d->dp, rx, LWT_DP_BATCH);
				if (n <= 0)
					break;
				for (int k = 0; k < n; k++)
					segment_input(x, rx[k].data, rx[k].len);
				if (n < LWT_DP_BATCH)
					break;
			}
		}
		gro_flush(x);
		if ((pfd[2].revents & POLLIN) && x->gsobuf) {
			for (i = 0; i < TUN_BATCH; i++) {
				struct virtio_net_hdr vh;
				ssize_t r = read(d->tun.fd, x->gsobuf, LWT_GSO_READ_BUF);

				if (r <= LWT_VNET_HDR_LEN)
					break;
				memcpy(&vh, x->gsobuf, sizeof(vh));
				if (lwt_gso_split(&vh, x->gsobuf + LWT_VNET_HDR_LEN, r - LWT_VNET_HDR_LEN,
						  gso_seg, x) < 0)
					LWT_CTR_INC(&d->ctr, drop_malformed);
			}
		} else if (pfd[2].revents & POLLIN) {
			for (i = 0; i < TUN_BATCH; i++) {
				ssize_t r = read(d->tun.fd, x->tunbuf[i], LWT_DP_BUF);

				if (r <= 0)
					break;
				tun_input(x, x->tunbuf[i], r);
			}
		}
		acks_due(x);
		fec_next = fec_timers(x);
		tx_flush(x);
		gro_flush(x);
	}
	/* Say goodbye to peers so they need not wait for the timeout. */
	for (i = 0; i < d->nslots; i++)
		if (atomic_load_explicit(&d->slots[i].state, memory_order_relaxed) == LWT_SLOT_SESSION)
			send_record(x, &d->slots[i], LWT_MSG_CLOSE, NULL, 0, tx_buf(x));
	tx_flush(x);
	for (i = 0; i < d->nslots; i++)
		slot_free(x, &d->slots[i]);
	while (lwt_msgq_pop(&d->to_dp, &m))
		if (m.type == LWT_CMD_INSTALL)
			lwt_install_free(m.ptr);
out:
	if (x->pend.pkts)
		for (unsigned int k = 0; k < x->pend.cap; k++)
			free(x->pend.pkts[k]);
	free(x->rt);
	free(x->gsobuf);
	lwt_gro_destroy(x->gro);
	free(x->pend.pkts);
	free(x->pend.lens);
	free(x);
	return NULL;
}
