// SPDX-License-Identifier: MIT
/* The data plane (dataplane.c): what a poller sends: fake-TCP segments and sealed records of its slots, keepalives and probes, FEC parity, the TX batch and handoffs to other pollers. */
#include "dp_int.h"

void dp_tx_flush(struct dpctx *x)
{
	struct lwt_dp *dp = x->dp;

	if (!x->ntx)
		return;
	dp->ops->tx_batch(dp, x->id, x->txq, x->ntx);
	x->ntx = 0;
}


bool dp_mine(const struct dpctx *x, const struct lwt_slot *s)
{
	return x->np == 1 || lwt_slot_owner(x->d, (int)(s - x->d->slots)) == x->id;
}

/* Slot s of ours saw traffic or an order: its timers are looked at
 * before the poller sleeps again (dp_slot_timers). */
void dp_touch(struct dpctx *x, struct lwt_slot *s)
{
	if (dp_mine(x, s))
		lwt_stimer_touch(&x->tm, (int)(s - x->d->slots));
}

/* Copy a packet into the owner's ring; it is woken once per loop. */
void dp_handoff(struct dpctx *x, int to, uint32_t kind, const uint8_t *p, size_t len)
{
	if (lwt_hring_push(&x->d->px[to]->in[x->id], kind, p, (uint32_t)len)) {
		ST_ADD(x, handoff_drops, 1);
		LWT_CTR_INC(&x->d->ctr, drop_queue_full);
		return;
	}
	ST_ADD(x, handoffs_out, 1);
	x->wake |= 1u << to;
}

void dp_handoff_wake(struct dpctx *x)
{
	uint64_t one = 1;
	int i;

	for (i = 0; x->wake && i < x->np; i++) {
		if (!(x->wake & (1u << i)))
			continue;
		x->wake &= ~(1u << i);
		if (write(x->d->px[i]->hefd, &one, sizeof(one)) < 0)
			LWT_CTR_INC(&x->d->ctr, drop_queue_full);
	}
}

/* A free transmit buffer; flushes when the batch is full. */
uint8_t *dp_tx_buf(struct dpctx *x)
{
	if (x->ntx == LWT_DP_BATCH)
		dp_tx_flush(x);
	return x->txbuf + (size_t)x->ntx * x->seg_max;
}

void dp_tx_commit(struct dpctx *x, struct lwt_slot *s, int len)
{
	if (len <= 0)
		return;
	if (s && s->udp) {	/* a direct UDP path: its frames, one datagram */
		lwt_udp_dp_send(s, x->txbuf + (size_t)x->ntx * x->seg_max + SEG_HDR,
				(size_t)len - SEG_HDR);
		return;
	}
	x->txq[x->ntx].data = x->txbuf + (size_t)x->ntx * x->seg_max;
	x->txq[x->ntx].len = len;
	/* A server's flow is steered to us (XDP flows map) only once its
	 * session is installed: before that its segments take the listen
	 * port's per-source rate-limited path. */
	x->txq[x->ntx].no_learn = x->d->cfg.mode == LWT_MODE_SERVER &&
		(!s || atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_SESSION);
	x->ntx++;
	x->tx_segs++;
	if (!s)		/* a stateless answer (cookie SYN-ACK) */
		return;
	dp_touch(x, s);
	s->ack_due_ns = 0;
	s->tcp.last_ack_sent = s->tcp.rcv_nxt;
}

void dp_send_ack(struct dpctx *x, struct lwt_slot *s)
{
	int len = lwt_ftcp_build_ack(&s->tcp, dp_tx_buf(x), x->seg_max);

	dp_tx_commit(x, s, len);
	LWT_CTR_INC(&s->ctr, pure_acks);
}

/* Send raw bytes (a handshake frame) as the payload of one segment. */
void dp_send_plain(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	uint8_t *b = dp_tx_buf(x);
	int n;

	if (len > x->seg_max - SEG_HDR_OF(s))
		return;
	memcpy(b + SEG_HDR_OF(s), p, len);
	n = lwt_ftcp_build_data(&s->tcp, b, x->seg_max, len);
	dp_tx_commit(x, s, n);
}

/* Seal msg type + body into a SEALED record and send it. The body may
 * already sit at its place in the tx buffer (body == NULL). */
int dp_send_record(struct dpctx *x, struct lwt_slot *s, uint8_t type, const void *body,
		   size_t blen, uint8_t *b)
{
	size_t plen = REC_HDR + 1 + blen + LWT_TAG_LEN;
	struct lwt_record_hdr *rh;
	uint64_t ctr;
	uint8_t *f;
	bool authed;
	int n;

	if (SEG_HDR_OF(s) + plen > x->seg_max)
		return -EMSGSIZE;
	if (!lwt_ftcp_window_ok(&s->tcp, plen)) {
		LWT_CTR_INC(&s->ctr, drop_window);
		return -ENOBUFS;
	}
	if (lwt_seq_exhausted(s->tx_counter)) {
		/* Once: the session is over, the handshake brings new keys. */
		if (s->tx_counter == LWT_SEQ_LAST + 1) {
			s->tx_counter++;
			lwt_log_rl(LWT_LOG_WARN, "peer %u: record counter used up under these keys: "
				   "ending the session", (unsigned int)(s - x->d->slots));
			dp_post(x->d, LWT_EVT_RESET, s - x->d->slots, "reset", 5);
		}
		LWT_CTR_INC(&s->ctr, drop_queue_full);
		return -EOVERFLOW;
	}
	f = b + SEG_HDR_OF(s);
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
	n = lwt_ftcp_build_data(&s->tcp, b, x->seg_max, plen);
	dp_tx_commit(x, s, n);
	LWT_CTR_ADD_OWN(&s->ctr, tx_packets, 1);
	LWT_CTR_ADD_OWN(&s->ctr, tx_bytes, blen);
	return 0;
}

/* Path MTU (pmtu.c): a probe record zero-padded so that its outer packet
 * is exactly the size it names; an arriving probe whose record is as long
 * as its size says is answered at once with an ACK naming it. */
void dp_send_pmtu_probe(struct dpctx *x, struct lwt_slot *s, const uint8_t *pr, size_t len)
{
	int blen = len == sizeof(struct lwt_pmtu_probe) ? PMTU_PAD_OF(s, pr[4] << 8 | pr[5]) : 0;
	uint8_t *b = dp_tx_buf(x), *body = b + SEG_HDR_OF(s) + REC_HDR + 1;

	if (blen < (int)len || SEG_HDR_OF(s) + REC_HDR + 1 + (size_t)blen + LWT_TAG_LEN > x->seg_max)
		return;
	memcpy(body, pr, len);
	memset(body + len, 0, (size_t)blen - len);
	dp_send_record(x, s, LWT_MSG_PMTU_PROBE, NULL, (size_t)blen, b);
}

/* reply: an answer to the peer's keepalive (echoing it), or with heartbeat
 * a keepalive that wants no answer and echoes nothing (P2P's idle one). */
void dp_send_keepalive_as(struct dpctx *x, struct lwt_slot *s, bool reply, bool heartbeat)
{
	struct lwt_keepalive ka = { 0 };
	uint64_t now = lwt_now_ns();

	ka.sent_ns = htobe64(now);
	if (!heartbeat)
		ka.echo_ns = htobe64(s->last_echo_ns);
	if (s->last_echo_ns && !heartbeat)
		ka.echo_delay_us = htonl((uint32_t)((now - s->last_echo_rx_ns) / 1000));
	ka.is_reply = reply || heartbeat;
	if (dp_send_record(x, s, LWT_MSG_KEEPALIVE, &ka, sizeof(ka), dp_tx_buf(x)) == 0)
		LWT_CTR_INC(&s->ctr, keepalives_tx);
}

void dp_send_keepalive(struct dpctx *x, struct lwt_slot *s, bool reply)
{
	dp_send_keepalive_as(x, s, reply, false);
}

/* A probe of the session (PROBE_RST, PROBE_TAKEOVER: dp_int.h). */
void dp_probe_start(struct dpctx *x, struct lwt_slot *s, uint8_t why)
{
	uint64_t now = lwt_now_ns();

	s->probe_why |= why;
	if (s->probe_until_ns)
		return;
	if (why == PROBE_RST)
		LWT_CTR_INC(&s->ctr, rst_probes);
	s->probe_from_ns = now;
	s->probe_until_ns = now + LWT_PROBE_NS;
	s->probe_asks = 1;
	dp_send_keepalive(x, s, false);
}

void dp_probe_check(struct dpctx *x, struct lwt_slot *s, uint64_t now)
{
	uint64_t last = atomic_load_explicit(&s->last_rx_ns, memory_order_relaxed);
	unsigned int id = (unsigned int)(s - x->d->slots);
	uint8_t why = s->probe_why;

	if (last > s->probe_from_ns) {
		if (why & PROBE_RST)
			lwt_log_rl(LWT_LOG_INFO, "peer %u: RST/FIN ignored: the peer still answers "
				   "under the session's keys", id);
		if (why & PROBE_TAKEOVER)
			dp_post(x->d, LWT_EVT_PROBED, id, "\1", 1);
		s->probe_until_ns = 0;
		s->probe_why = 0;
		return;
	}
	if (now >= s->probe_until_ns) {
		s->probe_until_ns = 0;
		s->probe_why = 0;
		if (why & PROBE_RST)
			LWT_CTR_INC(&s->ctr, rst_probes_failed);
		if (why & PROBE_TAKEOVER) {
			dp_post(x->d, LWT_EVT_PROBED, id, "\0", 1);
			return;
		}
		lwt_log_rl(LWT_LOG_INFO, "peer %u: connection reset by peer (no authenticated "
			   "answer to a probe)", id);
		dp_post(x->d, LWT_EVT_RESET, id, "reset", 5);
		return;
	}
	if (s->probe_asks < 2 && now >= s->probe_from_ns + LWT_PROBE_NS / 2) {
		s->probe_asks++;
		dp_send_keepalive(x, s, false);
	}
}


/* FEC encoder output: one shard per record. */
void dp_fec_emit(void *ctx, const struct lwt_fec_hdr *h, const uint8_t *p, size_t len)
{
	struct fec_ctx *c = ctx;
	uint8_t *b = dp_tx_buf(c->x), *body = b + SEG_HDR_OF(c->s) + REC_HDR + 1;

	/* A parity shard is 2 bytes longer than the longest packet of its group:
	 * seg_max has room for it (bufs.h). */
	if (SEG_HDR_OF(c->s) + REC_HDR + 1 + sizeof(*h) + len + LWT_TAG_LEN > c->x->seg_max) {
		LWT_CTR_INC(&c->s->ctr, drop_too_big);
		return;
	}
	memcpy(body, h, sizeof(*h));
	memcpy(body + sizeof(*h), p, len);
	dp_send_record(c->x, c->s, LWT_MSG_FEC, NULL, sizeof(*h) + len, b);
}

/* Send one inner IP packet to slot s; the packet is copied into a tx buffer. */
void dp_send_ip(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len)
{
	uint8_t *b;

	/* Longer than the TUN MTU: only a local sender on the TUN writing
	 * past it can make one, and no buffer of ours is sized for it. */
	if (len > x->pkt_max) {
		LWT_CTR_INC(&s->ctr, drop_too_big);
		return;
	}
	/* With no parity due (adaptive at 0) the packet goes as plain IP. */
	if (s->fenc && lwt_fec_enc_active(s->fenc)) {
		struct fec_ctx c = { x, s };

		lwt_fec_enc_add(s->fenc, pkt, len, x->now, dp_fec_emit, &c);
		return;
	}
	b = dp_tx_buf(x);
	memcpy(b + SEG_HDR_OF(s) + REC_HDR + 1, pkt, len);
	dp_send_record(x, s, LWT_MSG_IP, NULL, len, b);
}

static void pend_push(struct dpctx *x, const uint8_t *pkt, size_t len)
{
	int r = lwt_sendq_push(&x->pend, pkt, len);

	if (r == -EMSGSIZE)
		LWT_CTR_INC(&x->d->ctr, drop_too_big);
	else if (r)
		LWT_CTR_INC(&x->d->ctr, drop_queue_full);
}

static void pend_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct fec_ctx *c = ctx;

	dp_send_ip(c->x, c->s, pkt, len);
}

void dp_pend_flush(struct dpctx *x, struct lwt_slot *s)
{
	struct fec_ctx c = { x, s };

	if (x->pend.count)
		lwt_info("sending %u packets queued during (re)connect", x->pend.count);
	lwt_sendq_drain(&x->pend, pend_send, &c);
}

/* Send an inner packet to slot s: ours, or handed to its owner (once). */
void dp_send_to_slot(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len,
		     bool handed)
{
	struct lwt_daemon *d = x->d;

	if (!dp_mine(x, s)) {
		if (handed)
			LWT_CTR_INC(&d->ctr, drop_no_route);
		else
			dp_handoff(x, lwt_slot_owner(d, (int)(s - d->slots)), H_INNER, pkt, len);
		return;
	}
	if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
		dp_send_ip(x, s, pkt, len);
	else if (d->cfg.mode == LWT_MODE_CLIENT)
		pend_push(x, pkt, len);
	else
		LWT_CTR_INC(&d->ctr, drop_no_route);
}
