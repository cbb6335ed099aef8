// SPDX-License-Identifier: MIT
/* The data plane (dataplane.c): records that arrived on a slot: data, FEC shards, keepalives, loss reports, control records for the control thread, handshake frames. */
#include "dp_int.h"

static void pmtu_probe_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	if (len < sizeof(struct lwt_pmtu_probe) || PMTU_PAD_OF(s, p[4] << 8 | p[5]) != (int)len) {
		LWT_CTR_INC(&s->ctr, drop_malformed);
		return;
	}
	dp_send_record(x, s, LWT_MSG_PMTU_ACK, p, sizeof(struct lwt_pmtu_probe), dp_tx_buf(x));
}

/* Adaptive FEC: judge the peer's last loss report (fecctl.h). */
void dp_fec_adapt(struct dpctx *x, struct lwt_slot *s)
{
	lwt_fec_enc_set_parity(s->fenc, lwt_fecctl_decide(&s->fc, x->d->cfg.fec_data,
							  x->fec_ceiling));
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
	if (echo && echo < now && now - echo > delay_ns) {
		atomic_store_explicit(&s->rtt_us, (now - echo - delay_ns) / 1000, memory_order_relaxed);
		lwt_fecctl_rtt(&s->fc, (uint32_t)((now - echo - delay_ns) / 1000), now);
		if (s->fc.pending)
			dp_fec_adapt(x, s);
	}
	if (!ka.is_reply)
		dp_send_keepalive(x, s, true);
}

void dp_deliver_ip(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len);

static void fec_deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct fec_ctx *c = ctx;

	dp_deliver_ip(c->x, c->s, pkt, len);
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
	if (s->fenc && x->d->cfg.fec_adaptive) {
		/* Judged once a probe tells whether a queue is building. */
		lwt_fecctl_report(&s->fc, ppm, lwt_now_ns());
		dp_send_keepalive(x, s, false);
	}
}

static bool record_input(struct dpctx *x, struct lwt_slot *s, const struct lwt_frame *f)
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
		return false;
	}
	if (f->body_len < sizeof(*rh) + 1 + LWT_TAG_LEN) {
		LWT_CTR_INC(&s->ctr, drop_malformed);
		return false;
	}
	rh = (const struct lwt_record_hdr *)f->body;
	ctr = be64toh(rh->counter);
	if (ntohl(rh->session_id) != s->session_id) {
		LWT_CTR_INC(&s->ctr, drop_no_session);
		return false;
	}
	/* Which keys: this epoch, the previous one (stragglers, for a while),
	 * or the next one the client holds until the server uses it. */
	ep = (uint16_t)(ctr >> LWT_EPOCH_SHIFT);
	seq = ctr & LWT_SEQ_MASK;
	now = x->now;
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
		return false;
	}
	if (!lwt_replay_check(rp, seq)) {
		LWT_CTR_INC(&s->ctr, drop_replay);
		return false;
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
		return false;
	}
	if (which == 1) {
		/* The server sends under the next keys: so do we from now on. */
		dp_keys_switch(s, s->tx_next, s->rx_next, s->next_epoch, now + KEY_GRACE_NS);
		s->tx_next = s->rx_next = NULL;
		rp = &s->replay;
		which = 0;
	} else if (which == 0 && s->rx_prev && s->prev_until_ns > now + KEY_GRACE_NS) {
		/* The peer has switched; the old keys only await stragglers. */
		s->prev_until_ns = now + KEY_GRACE_NS;
	}
	if (!lwt_replay_update(rp, seq)) {
		LWT_CTR_INC(&s->ctr, drop_replay);
		return false;
	}
	atomic_store_explicit(&s->last_rx_ns, now, memory_order_relaxed);
	LWT_CTR_ADD_OWN(&s->ctr, rx_packets, 1);
	LWT_CTR_ADD_OWN(&s->ctr, rx_bytes, blen - 1);
	if (which == -1)
		LWT_CTR_INC(&s->ctr, rx_prev_key);	/* a straggler of the last epoch */
	if (which == 0) {
		s->rx_seen++;
		if (seq + 1 > s->rx_top)
			s->rx_top = seq + 1;
	}
	switch (body[0]) {
	case LWT_MSG_IP:
		dp_deliver_ip(x, s, body + 1, blen - 1);
		break;
	case LWT_MSG_FEC:
		if (!s->fdec) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		{
			struct fec_ctx c = { x, s };

			if (lwt_fec_dec_input(s->fdec, body + 1, blen - 1, x->now, fec_deliver, &c))
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
		dp_post(x->d, LWT_EVT_RESET, s - x->d->slots, "close", 5);
		break;
	case LWT_MSG_PMTU_PROBE:
		pmtu_probe_input(x, s, body + 1, blen - 1);
		break;
	case LWT_MSG_PMTU_ACK:
		if (blen != 1 + sizeof(struct lwt_pmtu_probe)) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		dp_post_frame(x->d, LWT_EVT_MSG, s - x->d->slots, body, blen);
		break;
	case LWT_MSG_REKEY:
	case LWT_MSG_REKEY_ACK:
		if (blen != 1 + sizeof(struct lwt_rekey)) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		dp_post_frame(x->d, LWT_EVT_MSG, s - x->d->slots, body, blen);
		break;
	case LWT_MSG_ROUTES:
	case LWT_MSG_ROUTE_RESULT:
	case LWT_MSG_ROUTE_UPDATE:
	case LWT_MSG_PEERS:
	case LWT_MSG_P2P_HELLO:
	case LWT_MSG_P2P_REQ:
	case LWT_MSG_P2P_PUNCH:
	case LWT_MSG_P2P_CLOSE:
	case LWT_MSG_MESH_REPORT:
	case LWT_MSG_MESH_ROUTE:
	case LWT_MSG_NAT_TCP:
	case LWT_MSG_IP6_CLAIM:
	case LWT_MSG_IP6_RESULT:
	case LWT_MSG_ROUTES6:
		if (blen > LWT_MSGQ_DATA) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		dp_post_frame(x->d, LWT_EVT_MSG, s - x->d->slots, body, blen);
		break;
	default:
		LWT_CTR_INC(&s->ctr, drop_malformed);
	}
	return true;
}

/* Handshake frames the control thread takes from a flow: a server a
 * client's HELLO, its key confirmation and a RESUME (resume.c), a client
 * the server's answer;
 * at most dp_hs_frames_max() of them a flow (a client a few more: a REJECT
 * someone spoofed must not crowd out the server's HELLO_ACK). Anything else
 * (a REJECT or a second
 * HELLO poured into a connection) is dropped here and costs the control
 * thread nothing. */
unsigned int dp_hs_frames_max(const struct lwt_daemon *d)
{
	return d->cfg.mode == LWT_MODE_SERVER ? 3 : 4;
}
/* A client's direct slot answers HELLOs when the hub made it the
 * responder (p2p.c); its peer sends no REJECT. */
static bool hs_frame_wanted(const struct lwt_daemon *d, const struct lwt_slot *s, uint8_t type)
{
	if (d->cfg.mode == LWT_MODE_SERVER)
		return type == LWT_FT_HELLO || type == LWT_FT_CONFIRM || type == LWT_FT_RESUME;
	if (s->hs_responder)
		return type == LWT_FT_HELLO || type == LWT_FT_CONFIRM;
	if (s != &d->slots[0])
		return type == LWT_FT_HELLO_ACK;
	return type == LWT_FT_HELLO_ACK || type == LWT_FT_REJECT;
}

/* The frames of a segment's payload. Returns how many proved the segment
 * is the peer's: records that authenticated, or (before the session) the
 * handshake frames handed on. */
int dp_payload_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	struct lwt_frame f;
	size_t off = 0;
	int r, good = 0;

	while ((r = lwt_frame_next(p, len, &off, &f)) == 1) {
		switch (f.type) {
		case LWT_FT_HELLO:
		case LWT_FT_HELLO_ACK:
		case LWT_FT_REJECT:
		case LWT_FT_CONFIRM:
		case LWT_FT_RESUME:
			if (s->hs_frames >= dp_hs_frames_max(x->d) || !hs_frame_wanted(x->d, s, f.type)) {
				LWT_CTR_INC(&s->ctr, drop_handshake);
				break;
			}
			s->hs_frames++;
			dp_post_frame(x->d, LWT_EVT_FRAME, s - x->d->slots, f.frame, f.frame_len);
			good++;
			break;
		default:
			good += record_input(x, s, &f);
		}
	}
	if (r < 0)
		LWT_CTR_INC(&s->ctr, drop_malformed);
	return good;
}
