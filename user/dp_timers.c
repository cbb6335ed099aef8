// SPDX-License-Identifier: MIT
/* The data plane (dataplane.c): a slot's timers (pure ACK, parity flush, group expiry, loss report, probes) and what status reads of it. */
#include "dp_int.h"

/* A pure ACK owed and due (ACK_DELAY_NS after data with none sent since). */
static void ack_due(struct dpctx *x, struct lwt_slot *s, uint64_t now)
{
	if (!s->ack_due_ns || s->ack_due_ns > now)
		return;
	if (s->tcp.rcv_nxt != s->tcp.last_ack_sent &&
	    atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_FREE)
		dp_send_ack(x, s);
	s->ack_due_ns = 0;
}


/* Copy what status shows of a slot of ours where other threads may read it. */
void dp_publish(struct lwt_slot *s)
{
	const struct lwt_fec_stats *es = s->fenc ? lwt_fec_enc_stats(s->fenc) : NULL;
	const struct lwt_fec_stats *ds = s->fdec ? lwt_fec_dec_stats(s->fdec) : NULL;

#define PUB(n) PUB_SET(s, n, (es ? es->n : 0) + (ds ? ds->n : 0));
	LWT_FEC_STAT_FIELDS(PUB)
#undef PUB
	PUB_SET(s, parity_now, s->fenc ? (uint32_t)lwt_fec_enc_parity(s->fenc) : 0);
	PUB_SET(s, fec_tx, s->fenc != NULL);
	PUB_SET(s, fec_rx, s->fdec != NULL);
	PUB_SET(s, snd_nxt, s->tcp.snd_nxt);
	PUB_SET(s, snd_una, s->tcp.snd_una);
	PUB_SET(s, rcv_nxt, s->tcp.rcv_nxt);
}

/* Tell the peer the loss of the records it sent us, over the window since
 * the last report (adaptive FEC). */
static void loss_report(struct dpctx *x, struct lwt_slot *s, uint64_t now)
{
	uint64_t exp = s->rx_top - s->rep_top, got = s->rx_seen - s->rep_seen;
	struct lwt_fec_report r;
	uint32_t ppm;

	if (exp < REPORT_MIN) {
		/* Too few to judge yet: the window goes on. */
		s->rep_ns = now + REPORT_FIRST_NS;
		return;
	}
	s->rep_ns = now + REPORT_NS;
	if (got <= exp) {
		ppm = (uint32_t)((exp - got) * 1000000 / exp);
		atomic_store_explicit(&s->loss_ppm, ppm, memory_order_relaxed);
		r.loss_ppm = htonl(ppm);
		r.window = htonl((uint32_t)exp);
		dp_send_record(x, s, LWT_MSG_FEC_REPORT, &r, sizeof(r), dp_tx_buf(x));
	}
	s->rep_top = s->rx_top;
	s->rep_seen = s->rx_seen;
}

/* The timers of slot s of ours: a pure ACK owed; for a session, parity
 * flush, group expiry, the loss report, an unanswered probe, the previous
 * key's end; and what status reads. Then its next deadline into the heap. */
void dp_slot_timers(struct dpctx *x, struct lwt_slot *s, uint64_t now)
{
	int st = atomic_load_explicit(&s->state, memory_order_relaxed);
	struct fec_ctx c = { x, s };
	uint64_t at = 0, dl, sig;

#define AT(t) do { uint64_t t_ = (t); if (t_ && (!at || t_ < at)) at = t_; } while (0)
	ack_due(x, s, now);
	if (st == LWT_SLOT_SESSION) {
		if (s->fenc) {
			dl = lwt_fec_enc_deadline(s->fenc);
			if (dl && dl <= now)
				lwt_fec_enc_flush(s->fenc, dp_fec_emit, &c);
		}
		if (s->probe_until_ns)
			dp_probe_check(x, s, now);
		if (s->fc.pending && s->fenc && now - s->fc.pending_ns >= LWT_FECCTL_WAIT_NS)
			dp_fec_adapt(x, s);	/* its probe went unanswered */
		if (s->rx_prev && now >= s->prev_until_ns) {
			lwt_aead_destroy(s->rx_prev);
			s->rx_prev = NULL;
		}
		if (s->fdec && lwt_fec_dec_pending(s->fdec) && now >= s->expire_ns) {
			lwt_fec_dec_expire(s->fdec, now);
			s->expire_ns = now + FEC_EXPIRE_EVERY_NS;
			s->pub_sig = ~0ull;	/* expiry counts losses */
		}
		/* No record since the last report: nothing to report. */
		if (s->rx_top != s->rep_top &&
		    (now >= s->rep_ns || s->rx_top - s->rep_top >= REPORT_RECORDS))
			loss_report(x, s, now);
		/* Sends move snd_nxt, receipts rcv_nxt, the peer's ACKs
		 * snd_una: nothing else changes what status (and P2P's ACK
		 * stall check) reads, so an idle session costs no stores. */
		sig = ((uint64_t)s->tcp.snd_nxt << 32 | s->tcp.rcv_nxt) ^
		      (uint64_t)s->tcp.snd_una << 16;
		if (sig != s->pub_sig) {
			dp_publish(s);
			s->pub_sig = sig;
		}
		if (s->fenc)
			AT(lwt_fec_enc_deadline(s->fenc));
		if (s->probe_until_ns) {
			AT(s->probe_until_ns);
			if (s->probe_asks < 2)
				AT(s->probe_from_ns + LWT_PROBE_NS / 2);
		}
		if (s->fc.pending && s->fenc)
			AT(s->fc.pending_ns + LWT_FECCTL_WAIT_NS);
		if (s->rx_prev)
			AT(s->prev_until_ns);
		if (s->fdec && lwt_fec_dec_pending(s->fdec))
			AT(s->expire_ns ? s->expire_ns : now);
		/* Under REPORT_MIN records the window waits for more (a
		 * keepalive's records alone must not wake us 5 times a second). */
		if (s->rx_top - s->rep_top >= REPORT_MIN)
			AT(s->rep_ns);
	}
	if (st != LWT_SLOT_FREE)
		AT(s->ack_due_ns);
#undef AT
	/* Never due again at once: a timer that did not move waits a little. */
	if (at && at <= now)
		at = now + 1000000;
	lwt_stimer_set(&x->tm, (int)(s - x->d->slots), at);
}

/* The timers of the slots touched since the last loop and of those due.
 * Returns the earliest deadline (0 = none). */
uint64_t dp_fec_timers(struct dpctx *x)
{
	struct lwt_daemon *d = x->d;
	uint64_t now = lwt_now_ns();
	int i, n = lwt_stimer_ndirty(&x->tm);

	/* Touches while we run (our own sends) find the slot still marked. */
	for (i = 0; i < n; i++)
		dp_slot_timers(x, &d->slots[lwt_stimer_dirty(&x->tm, i)], now);
	lwt_stimer_clear_dirty(&x->tm);
	while ((i = lwt_stimer_pop_due(&x->tm, now)) >= 0)
		dp_slot_timers(x, &d->slots[i], now);
	return lwt_stimer_next(&x->tm);
}
