// SPDX-License-Identifier: MIT
/* The data-plane pollers: outer segments in -> fake-TCP check -> record
 * open -> TUN; TUN -> record seal -> fake-TCP segment out. Poller i reads
 * shard i of the outer path and TUN queue i, and owns the slots with
 * i == slot % npollers (a server's new flow takes a slot of the poller its
 * SYN reached, so a flow's segments normally stay on one thread). A packet
 * for another poller's slot is copied into that poller's ring from us and
 * the owner looks it up again. Takes orders from the control thread through
 * d->to_dp[i]. No lock and no allocation on the per-packet path (the
 * client's reconnect queue allocates, but only while no session exists).
 * This file: the pollers' loop and lifecycle; the rest of the data plane is
 * in dp_send.c, dp_route.c, dp_records.c, dp_flows.c, dp_timers.c and
 * dp_cmd.c (declarations: dp_int.h). */
#include "dp_int.h"

void lwt_rekey_keys_free(struct lwt_rekey_keys *k)
{
	if (!k)
		return;
	lwt_aead_destroy(k->tx);
	lwt_aead_destroy(k->rx);
	free(k);
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

/* Events to the control thread. Those that carry slot state (new flow,
 * established, reset, killed) may use the whole queue; frames and messages
 * only three quarters of it, so that no flood of them can crowd the others
 * out. One lost all the same is counted, and reconcile.c repairs the slot. */
static bool post_q(struct lwt_daemon *d, int type, int slot, const void *data, size_t len,
		   unsigned int limit)
{
	struct lwt_msg m = { .type = type, .slot = slot, .gen = d->slots[slot].gen };

	if (len > sizeof(m.data))
		len = sizeof(m.data);
	if (data && len)
		memcpy(m.data, data, len);
	m.len = len;
	if (lwt_msgq_push_limit(&d->to_ctl, &m, limit)) {
		LWT_CTR_INC(&d->ctr, events_lost);
		return false;
	}
	return true;
}

void dp_post(struct lwt_daemon *d, int type, int slot, const void *data, size_t len)
{
	post_q(d, type, slot, data, len, d->to_ctl.cap);
}

bool dp_post_frame(struct lwt_daemon *d, int type, int slot, const void *data, size_t len)
{
	return post_q(d, type, slot, data, len, d->to_ctl.cap / 4 * 3);
}

static void gso_seg(void *ctx, const uint8_t *pkt, size_t len)
{
	dp_tun_input(ctx, pkt, len);
}

/* Packets other pollers handed us; a bounded batch per ring per round. */
static void handoff_input(struct dpctx *x)
{
	uint32_t tag, len;
	uint8_t *p;
	int j, k;

	x->now = lwt_now_ns();
	for (j = 0; j < x->np; j++) {
		if (j == x->id)
			continue;
		for (k = 0; (p = lwt_hring_peek(&x->in[j], &tag, &len)); k++) {
			if (k == 256) {
				x->wake |= 1u << x->id;	/* more: don't sleep */
				break;
			}
			ST_ADD(x, handoffs_in, 1);
			if (tag == H_OUTER)
				dp_segment_input(x, p, len, true);
			else
				dp_route_inner(x, p, len, true);
			lwt_hring_pop(&x->in[j]);
		}
	}
}

/* At most max reads (the pacer's allowance). */
static void tun_read(struct dpctx *x, int max)
{
	struct lwt_daemon *d = x->d;
	int i;

	if (max > TUN_BATCH)
		max = TUN_BATCH;
	if (x->gsobuf) {
		for (i = 0; i < max; i++) {
			struct virtio_net_hdr vh;
			ssize_t r = read(x->tun_fd, x->gsobuf, LWT_GSO_READ_BUF);

			if (r <= LWT_VNET_HDR_LEN)
				break;
			x->now = lwt_now_ns();
			ST_ADD(x, tun_reads, 1);
			memcpy(&vh, x->gsobuf, sizeof(vh));
			if (lwt_gso_split(&vh, x->gsobuf + LWT_VNET_HDR_LEN, r - LWT_VNET_HDR_LEN,
					  gso_seg, x) < 0)
				LWT_CTR_INC(&d->ctr, drop_malformed);
		}
		return;
	}
	/* One buffer: dp_tun_input is done with a packet (sent, copied or
	 * dropped) before the next read. */
	for (i = 0; i < max; i++) {
		ssize_t r = read(x->tun_fd, x->tunbuf, x->pkt_max + 1);

		if (r <= 0)
			break;
		x->now = lwt_now_ns();
		ST_ADD(x, tun_reads, 1);
		if ((size_t)r > x->pkt_max) {
			LWT_CTR_INC(&d->ctr, drop_too_big);
			continue;
		}
		dp_tun_input(x, x->tunbuf, r);
	}
}

/* Poller exit: orders left in the queue still own memory, and a path
 * switch in flight must still let go of the old path. */
static void drain_cmds(struct dpctx *x)
{
	struct lwt_msg m;

	while (lwt_msgq_pop(&x->d->to_dp[x->id], &m)) {
		if (m.type == LWT_CMD_INSTALL)
			lwt_install_free(m.ptr);
		else if (m.type == LWT_CMD_REKEY)
			lwt_rekey_keys_free(m.ptr);
		else if (m.type == LWT_CMD_ROUTES || m.type == LWT_CMD_ROUTES6)
			free(m.ptr);
		else if (m.type == LWT_CMD_SWAP_DP)
			dp_swap_dp(x, m.ptr);
	}
}

/* The poller's wait: one epoll set, registered once (a ppoll over the five
 * descriptors put the thread on five wait queues and took it off again on
 * every wake). What changes: the path's descriptor (a path switch, -1 for
 * a shard that receives nothing) and whether the TUN is wanted (the pacer
 * out of credit leaves it queued). */
enum { EV_CMD, EV_RX, EV_TUN, EV_HAND, EV_UDP, EV_N };

static int ep_set(struct dpctx *x, int op, int fd, int id, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)id };

	return epoll_ctl(x->ep, op, fd, &ev) ? -errno : 0;
}

int dp_wait_sync(struct dpctx *x, bool tun_on)
{
	int fd = x->dp->ops->rx_fd(x->dp, x->id), err;

	if (fd != x->ep_rx_fd) {
		/* The old path's descriptor may be closed already (gone from
		 * the set with it): ENOENT and EBADF are fine. */
		if (x->ep_rx_fd >= 0)
			epoll_ctl(x->ep, EPOLL_CTL_DEL, x->ep_rx_fd, NULL);
		x->ep_rx_fd = -1;
		if (fd >= 0) {
			err = ep_set(x, EPOLL_CTL_ADD, fd, EV_RX, EPOLLIN);
			if (err)
				return err;
			x->ep_rx_fd = fd;
		}
	}
	if (tun_on != x->ep_tun_on) {
		err = ep_set(x, EPOLL_CTL_MOD, x->tun_fd, EV_TUN, tun_on ? EPOLLIN : 0);
		if (err)
			return err;
		x->ep_tun_on = tun_on;
	}
	return 0;
}

/* The set's fixed members, as the poller starts (poller_new made the set;
 * the path's descriptor comes with the first dp_wait_sync). */
static int wait_init(struct dpctx *x)
{
	if (ep_set(x, EPOLL_CTL_ADD, x->d->to_dp[x->id].efd, EV_CMD, EPOLLIN) ||
	    ep_set(x, EPOLL_CTL_ADD, x->tun_fd, EV_TUN, EPOLLIN) ||
	    ep_set(x, EPOLL_CTL_ADD, x->udp_ep, EV_UDP, EPOLLIN) ||
	    (x->np > 1 && ep_set(x, EPOLL_CTL_ADD, x->hefd, EV_HAND, EPOLLIN)))
		return -1;
	return 0;
}

/* Wait until ts for what is ready: a mask of 1 << EV_*. */
static int wait_ready(struct dpctx *x, const struct timespec *ts, unsigned int *ready)
{
	struct epoll_event ev[EV_N];
	int n = epoll_pwait2(x->ep, ev, EV_N, ts, NULL);

	*ready = 0;
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		if (ev[i].events & EPOLLIN)
			*ready |= 1u << ev[i].data.u32;
	return 0;
}

static void udp_input(void *ctx, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	struct dpctx *x = ctx;

	ST_ADD(x, rx_segments, 1);
	dp_payload_input(x, s, p, len);
}

static void *poller_run(void *arg)
{
	struct dpctx *x = arg;
	struct lwt_daemon *d = x->d;
	struct lwt_msgq *cq = &d->to_dp[x->id];
	struct lwt_dp_pkt rx[LWT_DP_BATCH];
	struct lwt_msg m;
	uint64_t fec_next = 0;
	int i, n, stop = 0;

	if (wait_init(x)) {
		lwt_err("data plane: poller %d: epoll: %s", x->id, strerror(errno));
		atomic_store(&d->stop, 1);
		stop = 1;
	}

	while (!stop && !atomic_load_explicit(&d->stop, memory_order_relaxed)) {
		unsigned int ready;
		/* Every deadline (a pure ACK owed, parity flush, ...) is a slot
		 * timer (fec_next); nothing else needs a wake-up to look. */
		uint64_t now = lwt_now_ns(), wake = now + 200 * 1000000ull;
		int tun_max = lwt_pace_allow(&x->pace, now);
		struct timespec ts;
		int err;

		if (fec_next && fec_next < wake)
			wake = fec_next > now ? fec_next : now;
		/* Paced and out of credit: the TUN waits (its queue holds what
		 * comes meanwhile), and we wake when the next segment may go. */
		if (!tun_max && lwt_pace_next(&x->pace, now) < wake)
			wake = lwt_pace_next(&x->pace, now);
		if (x->wake & (1u << x->id)) {
			x->wake &= ~(1u << x->id);
			wake = now;
		}
		ts.tv_sec = (wake - now) / 1000000000ull;
		ts.tv_nsec = (wake - now) % 1000000000ull;
		err = dp_wait_sync(x, tun_max > 0);
		if (!err)
			err = wait_ready(x, &ts, &ready);
		if (err) {
			lwt_err("data plane: wait: %s", strerror(-err));
			atomic_store(&d->stop, 1);
			break;
		}
		x->now = lwt_now_ns();
		if (ready & 1u << EV_CMD) {
			lwt_msgq_ack(cq);
			while (!stop && lwt_msgq_pop(cq, &m))
				stop = dp_handle_cmd(x, &m);
		}
		if (ready & 1u << EV_RX) {
			for (i = 0; i < 8; i++) {
				n = x->dp->ops->rx_batch(x->dp, x->id, rx, LWT_DP_BATCH);
				if (n <= 0)
					break;
				x->now = lwt_now_ns();
				ST_ADD(x, rx_segments, n);
				for (int k = 0; k < n; k++)
					dp_segment_input(x, rx[k].data, rx[k].len, false);
				if (n < LWT_DP_BATCH)
					break;
			}
		}
		if (ready & 1u << EV_UDP)
			lwt_udp_dp_poll(d, x->udp_ep, udp_input, x);
		if (ready & 1u << EV_HAND) {
			uint64_t v;

			if (read(x->hefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				LWT_CTR_INC(&d->ctr, drop_queue_full);
		}
		if (x->np > 1)
			handoff_input(x);
		dp_gro_flush(x);
		if (ready & 1u << EV_TUN) {
			uint64_t segs = x->tx_segs;

			tun_read(x, tun_max);
			lwt_pace_charge(&x->pace, x->tx_segs - segs);
		}
		fec_next = dp_fec_timers(x);
		dp_tx_flush(x);
		dp_gro_flush(x);
		dp_handoff_wake(x);
	}
	/* Say goodbye to peers so they need not wait for the timeout. */
	x->now = lwt_now_ns();
	for (i = x->id; i < d->nslots; i += x->np)
		if (atomic_load_explicit(&d->slots[i].state, memory_order_relaxed) == LWT_SLOT_SESSION)
			dp_send_record(x, &d->slots[i], LWT_MSG_CLOSE, NULL, 0, dp_tx_buf(x));
	dp_tx_flush(x);
	for (i = x->id; i < d->nslots; i += x->np)
		dp_slot_free(x, &d->slots[i]);
	drain_cmds(x);
	return NULL;
}

static void poller_free(struct dpctx *x)
{
	if (!x)
		return;
	for (int j = 0; x->in && j < x->np; j++)
		lwt_hring_uninit(&x->in[j]);
	free(x->in);
	if (x->hefd >= 0)
		close(x->hefd);
	if (x->ep >= 0)
		close(x->ep);
	if (x->udp_ep >= 0)
		close(x->udp_ep);
	free(x->rt);
	free(x->rt6);
	free(x->txbuf);
	free(x->tunbuf);
	free(x->gsobuf);
	lwt_gro_destroy(x->gro);
	lwt_sendq_uninit(&x->pend);
	lwt_fecpool_destroy(x->fpool);
	lwt_stimer_uninit(&x->tm);
	lwt_slotfree_uninit(&x->fr);
	free(x);
}

/* The FEC pool's bound, shared out among the pollers (fec_pool_mb); a
 * poller's share holds two groups of the largest shape a peer may use
 * at least (jumbo MTU, many pollers), or no group could ever be rebuilt. */
static size_t fec_pool_bytes(struct lwt_daemon *d)
{
	const struct lwt_config *c = &d->cfg;

	if (c->fec_pool_mb)
		return (size_t)c->fec_pool_mb << 20;
	return lwt_fecpool_default_bytes(c->mode == LWT_MODE_SERVER ? c->max_clients : d->nslots,
					 c->recv_queue_size, c->fec_data,
					 c->fec_parity ? c->fec_parity : 3, d->bufs.pkt_max);
}

static struct dpctx *poller_new(struct lwt_daemon *d, int id)
{
	struct dpctx *x = calloc(1, sizeof(*x));
	int j;

	if (!x)
		return NULL;
	x->d = d;
	x->id = id;
	x->np = d->npollers;
	x->dp = d->dp;
	x->tun_fd = d->tun_fds[id];
	x->now = lwt_now_ns();
	lwt_pace_init(&x->pace, (uint64_t)d->cfg.faketcp_pacing_us * 1000, lwt_now_ns());
	x->isolation = d->cfg.client_isolation;
	x->fec_ceiling = d->cfg.fec_parity;
	x->hefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	x->udp_ep = epoll_create1(EPOLL_CLOEXEC);
	x->ep = epoll_create1(EPOLL_CLOEXEC);
	x->ep_rx_fd = -1;
	x->ep_tun_on = true;
	if (x->hefd < 0 || x->udp_ep < 0 || x->ep < 0)
		goto fail;
	x->seg_max = d->bufs.seg_max;
	x->pkt_max = d->bufs.pkt_max;
	x->fpool = lwt_fecpool_create(MAX(fec_pool_bytes(d) / (size_t)x->np,
					  2 * lwt_fecpool_cost((size_t)LWT_FEC_PEER_MAX_SHARDS *
								(x->pkt_max + 2))));
	if (!x->fpool || lwt_stimer_init(&x->tm, d->nslots) ||
	    lwt_slotfree_init(&x->fr, id, d->npollers, d->nslots))
		goto fail;
	x->txbuf = malloc((size_t)LWT_DP_BATCH * x->seg_max);
	x->tunbuf = malloc(x->pkt_max + 1);
	if (!x->txbuf || !x->tunbuf)
		goto fail;
	/* The client's reconnect queue: its one slot is poller 0's. */
	if (id == 0 && lwt_sendq_init(&x->pend, d->cfg.send_queue_size, x->pkt_max))
		goto fail;
	if (d->tun.vnet) {
		x->gsobuf = malloc(LWT_GSO_READ_BUF);
		x->gro = lwt_gro_create();
		if (!x->gsobuf || !x->gro)
			goto fail;
	}
	if (x->np > 1) {
		x->in = calloc(x->np, sizeof(*x->in));
		if (!x->in)
			goto fail;
		for (j = 0; j < x->np; j++)
			if (j != id && lwt_hring_init(&x->in[j], HRING_BYTES / (x->np - 1)))
				goto fail;
	}
	return x;
fail:
	poller_free(x);
	return NULL;
}

int lwt_dataplane_start(struct lwt_daemon *d)
{
	int i, r;

	d->px = calloc(d->npollers, sizeof(*d->px));
	if (!d->px)
		return -ENOMEM;
	for (i = 0; i < d->npollers; i++) {
		d->px[i] = poller_new(d, i);
		if (!d->px[i]) {
			lwt_err("data plane: out of memory (send_queue_size %d)", d->cfg.send_queue_size);
			r = -ENOMEM;
			goto fail;
		}
	}
	atomic_store(&d->dp->users, d->npollers);
	for (i = 0; i < d->npollers; i++) {
		r = pthread_create(&d->dp_threads[i], NULL, poller_run, d->px[i]);
		if (r) {
			lwt_err("couldn't start data-plane thread %d: %s", i, strerror(r));
			atomic_store(&d->stop, 1);
			while (i--)
				pthread_join(d->dp_threads[i], NULL);
			r = -r;
			i = d->npollers;
			goto fail;
		}
	}
	return 0;
fail:
	while (i--)
		poller_free(d->px[i]);
	free(d->px);
	d->px = NULL;
	return r;
}

void lwt_dataplane_stop(struct lwt_daemon *d)
{
	struct lwt_msg m = { .type = LWT_CMD_STOP, .slot = -1 };
	int i;

	if (!d->px)
		return;
	atomic_store(&d->stop, 1);
	for (i = 0; i < d->npollers; i++)
		lwt_msgq_push(&d->to_dp[i], &m);
	for (i = 0; i < d->npollers; i++)
		pthread_join(d->dp_threads[i], NULL);
	for (i = 0; i < d->npollers; i++)
		poller_free(d->px[i]);
	free(d->px);
	d->px = NULL;
}

void lwt_dataplane_fec_pool(struct lwt_daemon *d, struct lwt_fecpool_stats *st)
{
	struct lwt_fecpool_stats p;

	memset(st, 0, sizeof(*st));
	for (int i = 0; d->px && i < d->npollers; i++) {
		lwt_fecpool_stats(d->px[i]->fpool, &p);
		st->bound += p.bound;
		st->in_use += p.in_use;
		st->peak += p.peak;
		st->cached += p.cached;
		st->groups += p.groups;
		st->gets += p.gets;
		st->evictions += p.evictions;
		st->refused += p.refused;
		st->reused += p.reused;
	}
}

void lwt_dataplane_poller_stats(struct lwt_daemon *d, int i, struct lwt_poller_stats *st)
{
	struct dpctx *x = d->px[i];
	int k;

	st->rx_segments = atomic_load_explicit(&x->st.rx_segments, memory_order_relaxed);
	st->tun_reads = atomic_load_explicit(&x->st.tun_reads, memory_order_relaxed);
	st->handoffs_out = atomic_load_explicit(&x->st.handoffs_out, memory_order_relaxed);
	st->handoffs_in = atomic_load_explicit(&x->st.handoffs_in, memory_order_relaxed);
	st->handoff_drops = atomic_load_explicit(&x->st.handoff_drops, memory_order_relaxed);
	st->slots = 0;
	for (k = i; k < d->nslots; k += d->npollers)
		if (atomic_load_explicit(&d->slots[k].state, memory_order_relaxed) == LWT_SLOT_SESSION)
			st->slots++;
}
