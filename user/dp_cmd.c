// SPDX-License-Identifier: MIT
/* The data plane (dataplane.c): the control thread's orders to a poller (install keys, connect, kill, send, config) and a slot's end. */
#include "dp_int.h"

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
void dp_keys_switch(struct lwt_slot *s, struct lwt_aead *tx, struct lwt_aead *rx,
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

void dp_slot_free(struct dpctx *x, struct lwt_slot *s)
{
	/* Keep the totals when the slot's own counters go. */
#define FOLD(n) LWT_CTR_ADD(&x->d->ctr, n, LWT_CTR_GET(&s->ctr, n)); \
	atomic_store_explicit(&s->ctr.n, 0, memory_order_relaxed);
	LWT_COUNTERS(FOLD)
#undef FOLD
	if (x->d->cfg.mode == LWT_MODE_SERVER && x->dp->ops->flow_drop &&
	    atomic_load_explicit(&s->flow_key, memory_order_relaxed))
		x->dp->ops->flow_drop(x->dp, x->id, &s->tcp.la, s->tcp.lport, &s->tcp.ra,
				      s->tcp.rport);
	dp_flow_publish(x->d, s, 0);
	dp_tun_publish(x->d, s, 0);
	dp_slot_state(x, s, LWT_SLOT_FREE);
	lwt_aead_destroy(s->tx);
	lwt_aead_destroy(s->rx);
	s->tx = s->rx = NULL;
	keys_reset(s);
	lwt_fec_enc_destroy(s->fenc);
	lwt_fec_dec_destroy(s->fdec);
	s->fenc = NULL;
	s->fdec = NULL;
	dp_publish(s);
	lwt_udp_dp_detach(x->udp_ep, s);
	s->ack_due_ns = 0;
	s->probe_until_ns = 0;
	s->probe_why = 0;
	s->tcp.state = LWT_FTCP_CLOSED;
	lwt_stimer_set(&x->tm, (int)(s - x->d->slots), 0);
}

/* Move to path dp. What our shard of the old path still holds is ours too;
 * the last poller off the old path destroys it. */
void dp_swap_dp(struct dpctx *x, struct lwt_dp *dp)
{
	struct lwt_daemon *d = x->d;
	struct lwt_dp *old = x->dp;
	struct lwt_dp_pkt rx[LWT_DP_BATCH];
	int i, n;

	for (i = 0; i < 64; i++) {
		n = old->ops->rx_batch(old, x->id, rx, LWT_DP_BATCH);
		if (n <= 0)
			break;
		x->now = lwt_now_ns();
		for (int k = 0; k < n; k++)
			dp_segment_input(x, rx[k].data, rx[k].len, false);
	}
	dp_tx_flush(x);
	x->dp = dp;
	/* The wait takes the new path's descriptor before the old one closes
	 * (a failure here is the loop's next call's to report). */
	(void)dp_wait_sync(x, x->ep_tun_on);
	if (atomic_fetch_sub_explicit(&old->users, 1, memory_order_acq_rel) == 1)
		old->ops->destroy(old);
	/* A segment on every flow at once: the new path learns the flows from
	 * what we send, and the peer sees an ordinary ACK. */
	for (i = x->id; i < d->nslots; i += x->np)
		if (atomic_load_explicit(&d->slots[i].state, memory_order_relaxed) ==
		    LWT_SLOT_SESSION)
			dp_send_ack(x, &d->slots[i]);
}

/* A reload's run-time settings. The parity of a live session can go down
 * to the new ceiling, never above what its handshake told the peer (the
 * encoder's own limit); new sessions get the new value whole. */
static void config_apply(struct dpctx *x, uint64_t v)
{
	struct lwt_daemon *d = x->d;
	int i;

	x->isolation = v & 1;
	x->fec_ceiling = (int)(v >> 8 & 0xff);
	for (i = x->id; i < d->nslots; i += x->np) {
		struct lwt_slot *s = &d->slots[i];

		if (!s->fenc ||
		    atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_SESSION)
			continue;
		/* Adaptive: at most the new ceiling now; the next loss report
		 * is judged against it (dp_fec_adapt). */
		lwt_fec_enc_set_parity(s->fenc, d->cfg.fec_adaptive ?
				       MIN(lwt_fec_enc_parity(s->fenc), x->fec_ceiling) :
				       x->fec_ceiling);
	}
}

int dp_handle_cmd(struct dpctx *x, struct lwt_msg *m)
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
	if (m->type == LWT_CMD_ROUTES6) {
		free(x->rt6);
		x->rt6 = m->ptr;
		return 0;
	}
	if (m->type == LWT_CMD_SWAP_DP) {
		dp_swap_dp(x, m->ptr);
		return 0;
	}
	if (m->type == LWT_CMD_CONFIG) {
		config_apply(x, m->u64);
		return 0;
	}
	if (!s)
		return 0;
	dp_touch(x, s);
	if (m->type == LWT_CMD_CONNECT) {
		struct lwt_connect c = { d->cfg.remote.sin_addr.s_addr, d->cfg.remote.sin_port, 0, 0, 0, -1 };

		if (m->len == sizeof(c))
			memcpy(&c, m->data, sizeof(c));
		if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_FREE)
			dp_slot_free(x, s);
		s->gen = m->gen;
		s->hs_frames = 0;
		s->hs_responder = c.responder;
		if (m->len != sizeof(c) && d->cfg.remote6)	/* the hub over IPv6 */
			lwt_ftcp_init_addr(&s->tcp, &d->local_ep6, (uint16_t)m->u64,
					   &d->cfg.remote_ep, c.rport);
		else
			lwt_ftcp_init(&s->tcp, d->local_ip, (uint16_t)m->u64, c.raddr, c.rport);
		s->tcp.syn_ttl = c.syn_ttl;
		atomic_store_explicit(&s->rtt_us, 0, memory_order_relaxed);
		s->last_echo_ns = 0;
		dp_slot_state(x, s, LWT_SLOT_HANDSHAKE);
		if (c.udp) {	/* a direct UDP path: nothing to open */
			lwt_udp_dp_attach(x->udp_ep, s, m->slot, c.udp_fd);
			dp_post(d, LWT_EVT_ESTABLISHED, m->slot, NULL, 0);
			return 0;
		}
		dp_flow_publish(d, s, dp_flow_key(s->tcp.raddr, s->tcp.rport, s->tcp.lport));
		n = lwt_ftcp_build_syn(&s->tcp, dp_tx_buf(x), x->seg_max, dp_mss(d, s->tcp.v6));
		dp_tx_commit(x, s, n);
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
		dp_send_plain(x, s, m->data, m->len);
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
		if (s->fenc)
			lwt_fec_enc_set_pool(s->fenc, x->fpool);
		if (s->fdec)
			lwt_fec_dec_set_pool(s->fdec, x->fpool);
		lwt_fecctl_init(&s->fc, in->fec_key, s->fenc ? lwt_fec_enc_parity(s->fenc) : 0);
		s->rx_top = s->rx_seen = s->rep_top = s->rep_seen = 0;
		s->rep_ns = lwt_now_ns() + REPORT_FIRST_NS;
		s->pub_sig = ~0ull;
		s->expire_ns = 0;
		atomic_store_explicit(&s->loss_ppm, 0, memory_order_relaxed);
		atomic_store_explicit(&s->peer_loss_ppm, 0, memory_order_relaxed);
		s->session_id = in->session_id;
		dp_tun_publish(d, s, in->peer_tun_ip);
		s->auth_only = in->auth_only;
		s->tx_counter = 0;
		lwt_replay_init(&s->replay);
		keys_reset(s);
		free(in);
		atomic_store_explicit(&s->last_rx_ns, lwt_now_ns(), memory_order_relaxed);
		dp_slot_state(x, s, LWT_SLOT_SESSION);
		if (d->cfg.mode == LWT_MODE_CLIENT && s == &d->slots[0])
			dp_pend_flush(x, s);
		break;
	case LWT_CMD_KILL:
		/* A direct path given up (or the hub flow, when p2p_port makes
		 * the next one leave from the same port): a RST, as Linux aborts
		 * a connection, so that the NATs on the way forget the flow
		 * (conntrack takes a new SYN on the same ports for invalid while
		 * the old one is established; a punch again would fail for days). */
		if (d->cfg.mode == LWT_MODE_CLIENT &&
		    (s != &d->slots[0] || (d->cfg.p2p_enabled && d->cfg.p2p_port)) &&
		    s->tcp.state == LWT_FTCP_ESTABLISHED) {
			n = lwt_ftcp_build_rst(&s->tcp, dp_tx_buf(x), x->seg_max);
			dp_tx_commit(x, s, n);
		}
		dp_slot_free(x, s);
		dp_post(d, LWT_EVT_KILLED, m->slot, NULL, 0);
		break;
	case LWT_CMD_KEEPALIVE:
		/* data[0] = 1: a heartbeat that wants no answer (sent as one). */
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			dp_send_keepalive_as(x, s, false, m->len == 1 && m->data[0] == 1);
		break;
	case LWT_CMD_CLOSE:
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			dp_send_record(x, s, LWT_MSG_CLOSE, NULL, 0, dp_tx_buf(x));
		break;
	case LWT_CMD_SEND_MSG:
		if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_SESSION)
			break;
		if (m->u64 == LWT_MSG_PMTU_PROBE)
			dp_send_pmtu_probe(x, s, m->data, m->len);
		else
			dp_send_record(x, s, (uint8_t)m->u64, m->data, m->len, dp_tx_buf(x));
		break;
	case LWT_CMD_REKEY: {
		struct lwt_rekey_keys *k = m->ptr;

		if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_SESSION) {
			lwt_rekey_keys_free(k);
			break;
		}
		if (k->now) {
			dp_keys_switch(s, k->tx, k->rx, k->epoch, lwt_now_ns() + KEY_WAIT_NS);
			/* A first record under the new keys tells the peer to switch. */
			dp_send_keepalive(x, s, false);
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
	case LWT_CMD_PROBE:
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			dp_probe_start(x, s, PROBE_TAKEOVER);
		else
			dp_post(d, LWT_EVT_PROBED, m->slot, "\0", 1);
		break;
	case LWT_CMD_RESYN:
		/* The same SYN (same ISN, timestamps move on), as a kernel resends it. */
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_HANDSHAKE &&
		    s->tcp.state == LWT_FTCP_SYN_SENT) {
			n = lwt_ftcp_build_syn(&s->tcp, dp_tx_buf(x), x->seg_max, dp_mss(d, s->tcp.v6));
			dp_tx_commit(x, s, n);
		}
		break;
	}
	return 0;
}
