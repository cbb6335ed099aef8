// SPDX-License-Identifier: MIT
/* The data-plane pollers: outer segments in -> fake-TCP check -> record
 * open -> TUN; TUN -> record seal -> fake-TCP segment out. Poller i reads
 * shard i of the outer path and TUN queue i, and owns the slots with
 * i == slot % npollers (a server's new flow takes a slot of the poller its
 * SYN reached, so a flow's segments normally stay on one thread). A packet
 * for another poller's slot is copied into that poller's ring from us and
 * the owner looks it up again. Takes orders from the control thread through
 * d->to_dp[i]. No lock and no allocation on the per-packet path (the
 * client's reconnect queue allocates, but only while no session exists). */
#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "daemon.h"
#include "gso.h"
#include "frame.h"
#include "fecpool.h"
#include "hring.h"
#include "log.h"
#include "p2p_udp.h"
#include "pace.h"
#include "pmtu_search.h"
#include "sendq.h"
#include "slottimer.h"

#define TUN_BATCH 32
#define ACK_BYTES (32 * 1448)		/* pure ACK after this much one-way data */
#define ACK_DELAY_NS (20 * 1000000ull)	/* ... or after this long */
#define MAX_EMBRYONIC 64		/* server slots in handshake at once */
#define LWT_HALFOPEN_PER_SRC 4		/* ... from one source address */
#define LWT_HALFOPEN_PER_NET 16		/* ... from one /24 */
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define SEG_HDR LWT_SEG_HDR
#define REC_HDR LWT_REC_HDR
#define REPORT_NS (1000000000ull)		/* loss report period (adaptive FEC) */
#define REPORT_RECORDS 2000			/* ...or sooner, after this many records */
#define REPORT_FIRST_NS (REPORT_NS / 5)		/* a session's first; and the retry of
						 * a window under REPORT_MIN records */
#define REPORT_MIN 20
#define FEC_EXPIRE_EVERY_NS (100000000ull)
#define KEY_GRACE_NS (2000000000ull)		/* previous epoch kept for stragglers */
#define KEY_WAIT_NS (30000000000ull)		/* ... or until the peer switches */

#define WANT_CACHE 16
#define WANT_EVERY_NS (1000000000ull)	/* a peer's traffic via the hub, told once a second */
#define VIA_HUB_EVERY_NS (200000000ull)	/* ... while it has a direct path: 5 a second */

/* Handoff entries: what the owner does with the packet. */
enum { H_OUTER = 1, H_INNER };
#define HRING_BYTES (4u << 20)		/* all of a poller's incoming rings */

struct dpctx {
	struct lwt_daemon *d;
	int id, np;			/* poller index, pollers */
	struct lwt_dp *dp;		/* the path this poller is on */
	int tun_fd;			/* its TUN queue */
	int hefd;			/* eventfd: a ring into us has entries */
	struct lwt_hring *in;		/* [np]: from poller j (in[id] unused) */
	uint32_t wake;			/* pollers we handed packets since the last wake */
	int last_tun;			/* slot_by_tun_ip's last hit */
	/* client: tunnel IPs lately reported through LWT_EVT_WANT_PEER */
	uint32_t want_ip[WANT_CACHE];
	uint64_t want_ns[WANT_CACHE];
	/* client: peers with a direct path whose packets came via the hub */
	uint32_t hub_ip[WANT_CACHE];
	uint64_t hub_ns[WANT_CACHE];
	struct {			/* read by status (relaxed) */
		_Atomic uint64_t rx_segments, tun_reads, handoffs_out, handoffs_in,
				 handoff_drops;
	} st;
	/* Sized from the configured MTU (d->bufs): LWT_DP_BATCH segments of
	 * seg_max bytes, and one TUN read of a packet up to pkt_max (a longer
	 * read shows as one byte more: too long). */
	uint32_t seg_max, pkt_max;
	uint8_t *txbuf;
	struct lwt_dp_pkt txq[LWT_DP_BATCH];
	int ntx;
	uint8_t *tunbuf;
	struct lwt_sendq pend;		/* client: the reconnect queue (poller 0) */
	int acks_pending;
	struct lwt_rtable *rt;		/* server: advertised routes */
	bool isolation;			/* client_isolation, as of the last LWT_CMD_CONFIG */
	int fec_ceiling;		/* fec_parity, likewise */
	/* TUN with IFF_VNET_HDR: one read brings up to 64 KB of a flow that
	 * we cut ourselves; packets for the TUN are coalesced per flow. */
	uint8_t *gsobuf;
	struct lwt_gro *gro;
	struct lwt_pace pace;		/* faketcp_pacing_us (pace.h) */
	struct lwt_fecpool *fpool;	/* FEC groups in flight of our slots' coders */
	struct lwt_stimer tm;		/* our slots' timers (slot_timers) */
	uint64_t tx_segs;		/* segments committed, for the pacer */
	int udp_ep;			/* client: the direct UDP paths of our slots (p2p_udp_dp.c) */
};

static uint32_t tun_ip_of(struct lwt_slot *s)
{
	return atomic_load_explicit(&s->peer_tun_ip, memory_order_relaxed);
}

/* Publish (or, 0, withdraw) the tunnel IP a slot of ours answers for. */
static void tun_publish(struct lwt_daemon *d, struct lwt_slot *s, uint32_t ip)
{
	uint32_t old = tun_ip_of(s);

	if (old == ip)
		return;
	atomic_store_explicit(&s->peer_tun_ip, ip, memory_order_relaxed);
	lwt_slotidx_del(&d->tun_idx, old, (int)(s - d->slots));
	lwt_slotidx_add(&d->tun_idx, ip, (int)(s - d->slots));
}

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
	return ip == tun_ip_of(s) || (x->rt && slot_by_route(x, ip) == s);
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

static void post(struct lwt_daemon *d, int type, int slot, const void *data, size_t len)
{
	post_q(d, type, slot, data, len, d->to_ctl.cap);
}

static bool post_frame(struct lwt_daemon *d, int type, int slot, const void *data, size_t len)
{
	return post_q(d, type, slot, data, len, d->to_ctl.cap / 4 * 3);
}

static void tx_flush(struct dpctx *x)
{
	struct lwt_dp *dp = x->dp;

	if (!x->ntx)
		return;
	dp->ops->tx_batch(dp, x->id, x->txq, x->ntx);
	x->ntx = 0;
}

#define ST_ADD(x, f, v) atomic_fetch_add_explicit(&(x)->st.f, (v), memory_order_relaxed)

static bool mine(const struct dpctx *x, const struct lwt_slot *s)
{
	return x->np == 1 || lwt_slot_owner(x->d, (int)(s - x->d->slots)) == x->id;
}

/* Slot s of ours saw traffic or an order: its timers are looked at
 * before the poller sleeps again (slot_timers). */
static void touch(struct dpctx *x, struct lwt_slot *s)
{
	if (mine(x, s))
		lwt_stimer_touch(&x->tm, (int)(s - x->d->slots));
}

/* Copy a packet into the owner's ring; it is woken once per loop. */
static void handoff(struct dpctx *x, int to, uint32_t kind, const uint8_t *p, size_t len)
{
	if (lwt_hring_push(&x->d->px[to]->in[x->id], kind, p, (uint32_t)len)) {
		ST_ADD(x, handoff_drops, 1);
		LWT_CTR_INC(&x->d->ctr, drop_queue_full);
		return;
	}
	ST_ADD(x, handoffs_out, 1);
	x->wake |= 1u << to;
}

static void handoff_wake(struct dpctx *x)
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
static uint8_t *tx_buf(struct dpctx *x)
{
	if (x->ntx == LWT_DP_BATCH)
		tx_flush(x);
	return x->txbuf + (size_t)x->ntx * x->seg_max;
}

static void tx_commit(struct dpctx *x, struct lwt_slot *s, int len)
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
	touch(x, s);
	if (s->ack_due_ns)
		x->acks_pending--;
	s->ack_due_ns = 0;
	s->tcp.last_ack_sent = s->tcp.rcv_nxt;
}

static void send_ack(struct dpctx *x, struct lwt_slot *s)
{
	int len = lwt_ftcp_build_ack(&s->tcp, tx_buf(x), x->seg_max);

	tx_commit(x, s, len);
	LWT_CTR_INC(&s->ctr, pure_acks);
}

/* Send raw bytes (a handshake frame) as the payload of one segment. */
static void send_plain(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	uint8_t *b = tx_buf(x);
	int n;

	if (len > x->seg_max - SEG_HDR)
		return;
	memcpy(b + SEG_HDR, p, len);
	n = lwt_ftcp_build_data(&s->tcp, b, x->seg_max, len);
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

	if (SEG_HDR + plen > x->seg_max)
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
			post(x->d, LWT_EVT_RESET, s - x->d->slots, "reset", 5);
		}
		LWT_CTR_INC(&s->ctr, drop_queue_full);
		return -EOVERFLOW;
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
	n = lwt_ftcp_build_data(&s->tcp, b, x->seg_max, plen);
	tx_commit(x, s, n);
	LWT_CTR_INC(&s->ctr, tx_packets);
	LWT_CTR_ADD(&s->ctr, tx_bytes, blen);
	return 0;
}

/* Path MTU (pmtu.c): a probe record zero-padded so that its outer packet
 * is exactly the size it names; an arriving probe whose record is as long
 * as its size says is answered at once with an ACK naming it. */
#define PMTU_PAD(size) ((int)(size) - (int)(SEG_HDR + REC_HDR + 1 + LWT_TAG_LEN))
static void send_pmtu_probe(struct dpctx *x, struct lwt_slot *s, const uint8_t *pr, size_t len)
{
	int blen = len == sizeof(struct lwt_pmtu_probe) ? PMTU_PAD(pr[4] << 8 | pr[5]) : 0;
	uint8_t *b = tx_buf(x), *body = b + SEG_HDR + REC_HDR + 1;

	if (blen < (int)len || SEG_HDR + REC_HDR + 1 + (size_t)blen + LWT_TAG_LEN > x->seg_max)
		return;
	memcpy(body, pr, len);
	memset(body + len, 0, (size_t)blen - len);
	send_record(x, s, LWT_MSG_PMTU_PROBE, NULL, (size_t)blen, b);
}

static void pmtu_probe_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	if (len < sizeof(struct lwt_pmtu_probe) || PMTU_PAD(p[4] << 8 | p[5]) != (int)len) {
		LWT_CTR_INC(&s->ctr, drop_malformed);
		return;
	}
	send_record(x, s, LWT_MSG_PMTU_ACK, p, sizeof(struct lwt_pmtu_probe), tx_buf(x));
}

/* reply: an answer to the peer's keepalive (echoing it), or with heartbeat
 * a keepalive that wants no answer and echoes nothing (P2P's idle one). */
static void send_keepalive_as(struct dpctx *x, struct lwt_slot *s, bool reply, bool heartbeat)
{
	struct lwt_keepalive ka = { 0 };
	uint64_t now = lwt_now_ns();

	ka.sent_ns = htobe64(now);
	if (!heartbeat)
		ka.echo_ns = htobe64(s->last_echo_ns);
	if (s->last_echo_ns && !heartbeat)
		ka.echo_delay_us = htonl((uint32_t)((now - s->last_echo_rx_ns) / 1000));
	ka.is_reply = reply || heartbeat;
	if (send_record(x, s, LWT_MSG_KEEPALIVE, &ka, sizeof(ka), tx_buf(x)) == 0)
		LWT_CTR_INC(&s->ctr, keepalives_tx);
}

static void send_keepalive(struct dpctx *x, struct lwt_slot *s, bool reply)
{
	send_keepalive_as(x, s, reply, false);
}

/* A RST or FIN at the exact sequence on a session, or another flow of its
 * client id that wants the session's tunnel IP (LWT_CMD_PROBE): ask the
 * peer with a keepalive (it answers one under the session's keys), again
 * halfway, and decide by LWT_PROBE_NS whether anything authenticated came.
 * One probe a slot; a second reason joins the running one. A RST/FIN probe
 * without answer ends the session; a takeover probe reports either way
 * (LWT_EVT_PROBED) and leaves the decision to the control thread. */
enum { PROBE_RST = 1, PROBE_TAKEOVER = 2 };
static void probe_start(struct dpctx *x, struct lwt_slot *s, uint8_t why)
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
	send_keepalive(x, s, false);
}

static void probe_check(struct dpctx *x, struct lwt_slot *s, uint64_t now)
{
	uint64_t last = atomic_load_explicit(&s->last_rx_ns, memory_order_relaxed);
	unsigned int id = (unsigned int)(s - x->d->slots);
	uint8_t why = s->probe_why;

	if (last > s->probe_from_ns) {
		if (why & PROBE_RST)
			lwt_log_rl(LWT_LOG_INFO, "peer %u: RST/FIN ignored: the peer still answers "
				   "under the session's keys", id);
		if (why & PROBE_TAKEOVER)
			post(x->d, LWT_EVT_PROBED, id, "\1", 1);
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
			post(x->d, LWT_EVT_PROBED, id, "\0", 1);
			return;
		}
		lwt_log_rl(LWT_LOG_INFO, "peer %u: connection reset by peer (no authenticated "
			   "answer to a probe)", id);
		post(x->d, LWT_EVT_RESET, id, "reset", 5);
		return;
	}
	if (s->probe_asks < 2 && now >= s->probe_from_ns + LWT_PROBE_NS / 2) {
		s->probe_asks++;
		send_keepalive(x, s, false);
	}
}

/* Any poller's slot: the index's candidates, each checked by its
 * published peer_tun_ip. */
static struct lwt_slot *slot_by_tun_ip(struct dpctx *x, uint32_t ip)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slotidx_it it;
	int i;

	if (!ip)
		return NULL;
	if (x->last_tun < d->nslots && tun_ip_of(&d->slots[x->last_tun]) == ip)
		return &d->slots[x->last_tun];
	it = lwt_slotidx_first(&d->tun_idx, ip);
	while ((i = lwt_slotidx_next(&d->tun_idx, &it)) >= 0) {
		if (i < d->nslots && tun_ip_of(&d->slots[i]) == ip) {
			x->last_tun = i;
			return &d->slots[i];
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

	/* A parity shard is 2 bytes longer than the longest packet of its group:
	 * seg_max has room for it (bufs.h). */
	if (SEG_HDR + REC_HDR + 1 + sizeof(*h) + len + LWT_TAG_LEN > c->x->seg_max) {
		LWT_CTR_INC(&c->s->ctr, drop_too_big);
		return;
	}
	memcpy(body, h, sizeof(*h));
	memcpy(body + sizeof(*h), p, len);
	send_record(c->x, c->s, LWT_MSG_FEC, NULL, sizeof(*h) + len, b);
}

/* Send one inner IP packet to slot s; the packet is copied into a tx buffer. */
static void send_ip(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len)
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

		lwt_fec_enc_add(s->fenc, pkt, len, lwt_now_ns(), fec_emit, &c);
		return;
	}
	b = tx_buf(x);
	memcpy(b + SEG_HDR + REC_HDR + 1, pkt, len);
	send_record(x, s, LWT_MSG_IP, NULL, len, b);
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

	send_ip(c->x, c->s, pkt, len);
}

static void pend_flush(struct dpctx *x, struct lwt_slot *s)
{
	struct fec_ctx c = { x, s };

	if (x->pend.count)
		lwt_info("sending %u packets queued during (re)connect", x->pend.count);
	lwt_sendq_drain(&x->pend, pend_send, &c);
}

/* Send an inner packet to slot s: ours, or handed to its owner (once). */
static void send_to_slot(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len,
			 bool handed)
{
	struct lwt_daemon *d = x->d;

	if (!mine(x, s)) {
		if (handed)
			LWT_CTR_INC(&d->ctr, drop_no_route);
		else
			handoff(x, lwt_slot_owner(d, (int)(s - d->slots)), H_INNER, pkt, len);
		return;
	}
	if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
		send_ip(x, s, pkt, len);
	else if (d->cfg.mode == LWT_MODE_CLIENT)
		pend_push(x, pkt, len);
	else
		LWT_CTR_INC(&d->ctr, drop_no_route);
}

/* Client: the direct path to the relay in use for dst (mesh.c), if any. */
static struct lwt_slot *mesh_route(struct dpctx *x, uint32_t dst)
{
	uint32_t relay = lwt_mesh_via(x->d, dst);
	struct lwt_slot *s = relay ? slot_by_tun_ip(x, relay) : NULL;

	if (s && s != &x->d->slots[0] &&
	    atomic_load_explicit(&s->state, memory_order_acquire) == LWT_SLOT_SESSION &&
	    lwt_slot_confirmed(s))
		return s;
	return NULL;
}

/* Client: a direct path to the destination once the peer has sent a record
 * over it (so it holds our keys), else the hub; a destination that went via
 * the hub is told to the control thread (p2p.c may punch to it), once a
 * second at most. */
static struct lwt_slot *client_route(struct dpctx *x, const uint8_t *pkt)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *s;
	uint32_t src, dst, h;
	uint64_t now;

	if (d->nslots == 1)
		return &d->slots[0];
	/* The peer takes over a direct path only packets from our tunnel IP
	 * (deliver_ip); what we route for our LAN goes through the hub, which
	 * checks our advertised routes. */
	memcpy(&src, pkt + 12, 4);
	if (src != d->cfg.tun_ip)
		return &d->slots[0];
	memcpy(&dst, pkt + 16, 4);
	/* The hub itself, and what no peer holds: no look-up, no clock read. */
	if (dst == atomic_load_explicit(&d->server_tun_ip, memory_order_relaxed) ||
	    (ntohl(dst) >> 28) == 14 || dst == 0xffffffffu)
		return &d->slots[0];
	s = slot_by_tun_ip(x, dst);
	if (s && s != &d->slots[0] &&
	    atomic_load_explicit(&s->state, memory_order_acquire) == LWT_SLOT_SESSION &&
	    lwt_slot_confirmed(s)) {
		if (!atomic_load_explicit(&s->p2p_shun, memory_order_relaxed))
			return s;
		return &d->slots[0];	/* lossier than the hub (p2p_path.c) */
	}
	if (dst == d->cfg.tun_ip)
		return &d->slots[0];
	h = (ntohl(dst) * 2654435761u) >> 28;
	now = lwt_now_ns();
	if (x->want_ip[h] != dst || now - x->want_ns[h] >= WANT_EVERY_NS) {
		x->want_ip[h] = dst;
		x->want_ns[h] = now;
		post(d, LWT_EVT_WANT_PEER, 0, &dst, sizeof(dst));
	}
	/* No direct path (p2p.c still looks for one): a relay the hub named
	 * (mesh.c), if in use. */
	s = mesh_route(x, dst);
	return s ? s : &d->slots[0];
}

/* An inner packet to send to the peer its destination belongs to: from
 * our TUN queue, forwarded from another client, or (handed) from another
 * poller, which found the slot ours; we look again, as it may have changed. */
static void route_inner(struct dpctx *x, const uint8_t *pkt, size_t len, bool handed)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *s;
	uint32_t dst;

	if (d->cfg.mode == LWT_MODE_CLIENT) {
		s = client_route(x, pkt);
	} else {
		memcpy(&dst, pkt + 16, 4);
		s = slot_by_tun_ip(x, dst);
		if (!s)
			s = slot_by_route(x, dst);
		if (!s) {
			LWT_CTR_INC(&d->ctr, drop_no_route);
			return;
		}
	}
	send_to_slot(x, s, pkt, len, handed);
}

static void tun_input(struct dpctx *x, const uint8_t *pkt, size_t len)
{
	if (len < 20 || (pkt[0] >> 4) != 4) {
		/* IPv6 and others: lwt's TUN is IPv4 only for now. */
		LWT_CTR_INC(&x->d->ctr, drop_no_route);
		return;
	}
	route_inner(x, pkt, len, false);
}

static void gro_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct dpctx *x = ctx;

	if (write(x->tun_fd, buf, len) < 0)
		LWT_CTR_INC(&x->d->ctr, drop_queue_full);
}

static void gro_flush(struct dpctx *x)
{
	if (x->gro)
		lwt_gro_flush(x->gro, gro_write, x);
}

/* Client: a packet of a peer came through the hub while we hold a direct
 * path to it: the peer gave the path up (or its packets cannot take it).
 * Told to p2p.c, which checks the path at once, five times a second at
 * most per peer. */
static void via_hub(struct dpctx *x, const uint8_t *pkt)
{
	struct lwt_slot *p;
	uint32_t src, h;
	uint64_t now;

	memcpy(&src, pkt + 12, 4);
	if (src == atomic_load_explicit(&x->d->server_tun_ip, memory_order_relaxed))
		return;
	p = slot_by_tun_ip(x, src);
	if (!p || p == &x->d->slots[0] ||
	    atomic_load_explicit(&p->state, memory_order_relaxed) != LWT_SLOT_SESSION)
		return;
	h = (ntohl(src) * 2654435761u) >> 28;
	now = lwt_now_ns();
	if (x->hub_ip[h] == src && now - x->hub_ns[h] < VIA_HUB_EVERY_NS)
		return;
	x->hub_ip[h] = src;
	x->hub_ns[h] = now;
	post(x->d, LWT_EVT_PEER_VIA_HUB, p - x->d->slots, NULL, 0);
}

/* Client, a packet over direct slot s that is not its peer's to us: one
 * the hub named a relay for (mesh.c). As the pair's relay, from the peer of
 * s to a peer whose direct path we hold (never back over s, never to the
 * hub): sent on. As the pair's end, from a peer the hub said comes through
 * the peer of s, to us: taken. Anything else: false (dropped). */
static bool mesh_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *to;
	uint32_t src, dst;

	memcpy(&src, pkt + 12, 4);
	memcpy(&dst, pkt + 16, 4);
	if (src == tun_ip_of(s) && dst != d->cfg.tun_ip && lwt_mesh_relay_ok(d, src, dst)) {
		to = slot_by_tun_ip(x, dst);
		if (!to || to == s || to == &d->slots[0] || !lwt_slot_confirmed(to)) {
			LWT_CTR_INC(&d->ctr, drop_no_route);
			return true;
		}
		lwt_mesh_count(d, LWT_MESH_CTR_RELAYED, len);
		send_to_slot(x, to, pkt, len, false);
		return true;
	}
	if (dst == d->cfg.tun_ip && lwt_mesh_vouched(d, src, tun_ip_of(s))) {
		lwt_mesh_count(d, LWT_MESH_CTR_IN, len);
		return true;
	}
	lwt_mesh_count(d, LWT_MESH_CTR_REFUSED, len);
	return false;
}

/* Server, hub relay: client to's path MTU (pmtu.c) may be below the TUN's,
 * and relayed packets never pass the kernel's route of it: one too large
 * goes back to its sender as ICMP "fragmentation needed" (DF set; its TCP
 * then sends smaller ones) or is dropped. */
static bool relay_too_big(struct dpctx *x, struct lwt_slot *from, struct lwt_slot *to,
			  const uint8_t *pkt, size_t len)
{
	uint32_t lim = atomic_load_explicit(&to->path_inner_mtu, memory_order_relaxed);
	uint8_t icmp[LWT_PMTU_ICMP_MAX];
	size_t n;

	if (!lim || len <= lim)
		return false;
	LWT_CTR_INC(&to->ctr, drop_too_big);
	if ((pkt[6] & 0x40) && (n = lwt_pmtu_icmp_build(icmp, pkt, len, x->d->cfg.tun_ip, (int)lim)))
		send_ip(x, from, icmp, n);
	return true;
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
	if (d->cfg.mode == LWT_MODE_CLIENT && s == &d->slots[0] && d->nslots > 1)
		via_hub(x, pkt);
	if (d->cfg.mode == LWT_MODE_CLIENT && s != &d->slots[0]) {
		/* A direct path carries its peer's own packets to us, nothing
		 * else: a peer cannot speak for another address, nor use us
		 * as a relay. */
		memcpy(&src, pkt + 12, 4);
		memcpy(&dst, pkt + 16, 4);
		if ((src != tun_ip_of(s) || dst != d->cfg.tun_ip) && !mesh_input(x, s, pkt, len)) {
			LWT_CTR_INC(&s->ctr, drop_spoofed_src);
			return;
		}
		if (dst != d->cfg.tun_ip)
			return;		/* relayed on */
	} else if (d->cfg.mode == LWT_MODE_SERVER) {
		memcpy(&src, pkt + 12, 4);
		memcpy(&dst, pkt + 16, 4);
		/* A client speaks only from its own tunnel address or the
		 * networks it advertised. */
		if (!src_ok(x, s, src)) {
			LWT_CTR_INC(&s->ctr, drop_spoofed_src);
			return;
		}
		/* For the server itself: no lookup (a scan of every slot). */
		to = dst == d->cfg.tun_ip ? NULL : slot_by_tun_ip(x, dst);
		if (!to && dst != d->cfg.tun_ip)
			to = slot_by_route(x, dst);
		if (to && to != s) {
			if (x->isolation) {
				LWT_CTR_INC(&s->ctr, drop_isolation);
				return;
			}
			if (relay_too_big(x, s, to, pkt, len))
				return;
			LWT_CTR_INC(&s->ctr, forwarded);
			send_to_slot(x, to, pkt, len, false);
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
	if (write(x->tun_fd, pkt, len) < 0)
		LWT_CTR_INC(&d->ctr, drop_queue_full);
}

/* Adaptive FEC: judge the peer's last loss report (fecctl.h). */
static void fec_adapt(struct dpctx *x, struct lwt_slot *s)
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
			fec_adapt(x, s);
	}
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
	if (s->fenc && x->d->cfg.fec_adaptive) {
		/* Judged once a probe tells whether a queue is building. */
		lwt_fecctl_report(&s->fc, ppm, lwt_now_ns());
		send_keepalive(x, s, false);
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
		return false;
	}
	atomic_store_explicit(&s->last_rx_ns, now, memory_order_relaxed);
	LWT_CTR_INC(&s->ctr, rx_packets);
	LWT_CTR_ADD(&s->ctr, rx_bytes, blen - 1);
	if (which == -1)
		LWT_CTR_INC(&s->ctr, rx_prev_key);	/* a straggler of the last epoch */
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
	case LWT_MSG_PMTU_PROBE:
		pmtu_probe_input(x, s, body + 1, blen - 1);
		break;
	case LWT_MSG_PMTU_ACK:
		if (blen != 1 + sizeof(struct lwt_pmtu_probe)) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		post_frame(x->d, LWT_EVT_MSG, s - x->d->slots, body, blen);
		break;
	case LWT_MSG_REKEY:
	case LWT_MSG_REKEY_ACK:
		if (blen != 1 + sizeof(struct lwt_rekey)) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		post_frame(x->d, LWT_EVT_MSG, s - x->d->slots, body, blen);
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
		if (blen > LWT_MSGQ_DATA) {
			LWT_CTR_INC(&s->ctr, drop_malformed);
			break;
		}
		post_frame(x->d, LWT_EVT_MSG, s - x->d->slots, body, blen);
		break;
	default:
		LWT_CTR_INC(&s->ctr, drop_malformed);
	}
	return true;
}

/* Handshake frames the control thread takes from a flow: a server a
 * client's HELLO, its key confirmation and a RESUME (resume.c), a client
 * the server's answer;
 * at most hs_frames_max() of them a flow (a client a few more: a REJECT
 * someone spoofed must not crowd out the server's HELLO_ACK). Anything else
 * (a REJECT or a second
 * HELLO poured into a connection) is dropped here and costs the control
 * thread nothing. */
static unsigned int hs_frames_max(const struct lwt_daemon *d)
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
static int payload_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len)
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
			if (s->hs_frames >= hs_frames_max(x->d) || !hs_frame_wanted(x->d, s, f.type)) {
				LWT_CTR_INC(&s->ctr, drop_handshake);
				break;
			}
			s->hs_frames++;
			post_frame(x->d, LWT_EVT_FRAME, s - x->d->slots, f.frame, f.frame_len);
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

static uint64_t flow_key(uint32_t raddr, uint16_t rport, uint16_t lport)
{
	return (uint64_t)raddr << 32 | (uint32_t)rport << 16 | lport;
}

/* Publish (or, 0, withdraw) the flow a slot of ours carries: in the
 * slot, and in the index that finds it. */
static void flow_publish(struct lwt_daemon *d, struct lwt_slot *s, uint64_t key)
{
	uint64_t old = atomic_load_explicit(&s->flow_key, memory_order_relaxed);

	if (old == key)
		return;
	atomic_store_explicit(&s->flow_key, key, memory_order_release);
	lwt_slotidx_del(&d->flow_idx, old, (int)(s - d->slots));
	lwt_slotidx_add(&d->flow_idx, key, (int)(s - d->slots));
}

/* Any poller's slot: the index's candidates, each checked by its
 * published flow_key. */
static struct lwt_slot *slot_by_flow(struct lwt_daemon *d, const struct lwt_tcp_seg *g)
{
	uint64_t k = flow_key(g->saddr, g->sport, g->dport);
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

	for (i = 0; i < d->nslots; i++)
		if (lwt_slot_owner(d, i) != x->id &&
		    atomic_load_explicit(&d->slots[i].state, memory_order_relaxed) == LWT_SLOT_FREE)
			return lwt_slot_owner(d, i);
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
		n = lwt_ftcp_build_cookie_synack(&cookie_key, lwt_syncookie_now(), g, d->mss,
						 tx_buf(x), x->seg_max);
		if (n <= 0) {
			LWT_CTR_INC(&d->ctr, drop_malformed);
			return NULL;
		}
		tx_commit(x, NULL, n);
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
	/* A free slot of ours, if we hold under our share of half-open flows. */
	for (i = x->id, n = 0; i < d->nslots; i += x->np) {
		int st = atomic_load_explicit(&d->slots[i].state, memory_order_relaxed);

		if (st == LWT_SLOT_HANDSHAKE)
			n++;
		else if (st == LWT_SLOT_FREE && !s)
			s = &d->slots[i];
	}
	if (n >= (MAX_EMBRYONIC + x->np - 1) / x->np)
		s = NULL;
	if (!s) {
		int to = handed ? -1 : poller_with_room(x);

		if (to >= 0)
			handoff(x, to, H_OUTER, pkt, len);
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
	atomic_store_explicit(&s->state, LWT_SLOT_HANDSHAKE, memory_order_release);
	flow_publish(d, s, flow_key(g->saddr, g->sport, g->dport));
	halfopen_note(x, s);
	LWT_CTR_INC(&d->ctr, cookie_flows);
	post(d, LWT_EVT_NEW_FLOW, s - d->slots, NULL, 0);
	post(d, LWT_EVT_ESTABLISHED, s - d->slots, NULL, 0);
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

		if (!mine(x, s) ||
		    atomic_load_explicit(&s->state, memory_order_acquire) != LWT_SLOT_HANDSHAKE ||
		    s->tcp.state != LWT_FTCP_SYN_SENT || s->tcp.raddr != g->saddr ||
		    s->tcp.lport != g->dport)
			continue;
		s->tcp.rport = g->sport;
		flow_publish(d, s, flow_key(g->saddr, g->sport, g->dport));
		LWT_CTR_INC(&s->ctr, peer_reflexive);
		return s;
	}
	return NULL;
}

static void segment_input(struct dpctx *x, uint8_t *pkt, size_t len, bool handed)
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
	if (!s && d->cfg.mode == LWT_MODE_SERVER)
		s = new_flow(x, &g, pkt, len, handed);
	else if (!s && d->nslots > 1)
		s = peer_reflexive(x, &g);
	if (!s) {
		if (d->cfg.mode != LWT_MODE_SERVER)
			LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		return;
	}
	if (!mine(x, s)) {
		if (handed)
			LWT_CTR_INC(&d->ctr, drop_unknown_flow);
		else
			handoff(x, lwt_slot_owner(d, (int)(s - d->slots)), H_OUTER, pkt, len);
		return;
	}
	touch(x, s);
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
		n = lwt_ftcp_build_synack(&s->tcp, tx_buf(x), x->seg_max, d->mss);
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
		/* lwt never sends RST or FIN: one on a session may be spoofed
		 * (exact sequence numbers can be seen or guessed). It only makes
		 * us ask the peer, under the session's keys; no answer in time
		 * and the session is over (probe_check). */
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION) {
			probe_start(x, s, PROBE_RST);
			return;
		}
		lwt_log_rl(LWT_LOG_INFO, "peer %u: connection reset by peer", (unsigned int)(s - d->slots));
		post(d, LWT_EVT_RESET, s - d->slots, "reset", 5);
		return;
	case LWT_FTCP_OK:
		break;
	}
	if (before == LWT_FTCP_SYN_RCVD && s->tcp.state == LWT_FTCP_ESTABLISHED)
		post(d, LWT_EVT_ESTABLISHED, s - d->slots, NULL, 0);
	if (!g.payload_len)
		return;
	/* Only a segment that proved to be the peer's moves the flow. */
	if (payload_input(x, s, g.payload, g.payload_len) > 0)
		lwt_ftcp_commit(&s->tcp, &g);
	else
		return;
	if (s->tcp.rcv_nxt - s->tcp.last_ack_sent >= ACK_BYTES) {
		send_ack(x, s);
	} else if (!s->ack_due_ns) {
		s->ack_due_ns = lwt_now_ns() + ACK_DELAY_NS;
		x->acks_pending++;
	}
}

/* A pure ACK owed and due (ACK_DELAY_NS after data with none sent since). */
static void ack_due(struct dpctx *x, struct lwt_slot *s, uint64_t now)
{
	if (!s->ack_due_ns || s->ack_due_ns > now)
		return;
	if (s->tcp.rcv_nxt != s->tcp.last_ack_sent &&
	    atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_FREE)
		send_ack(x, s);
	if (s->ack_due_ns) {
		s->ack_due_ns = 0;
		x->acks_pending--;
	}
}

#define PUB_SET(s, f, v) atomic_store_explicit(&(s)->pub.f, (v), memory_order_relaxed)

/* Copy what status shows of a slot of ours where other threads may read it. */
static void publish(struct lwt_slot *s)
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
		send_record(x, s, LWT_MSG_FEC_REPORT, &r, sizeof(r), tx_buf(x));
	}
	s->rep_top = s->rx_top;
	s->rep_seen = s->rx_seen;
}

/* The timers of slot s of ours: a pure ACK owed; for a session, parity
 * flush, group expiry, the loss report, an unanswered probe, the previous
 * key's end; and what status reads. Then its next deadline into the heap. */
static void slot_timers(struct dpctx *x, struct lwt_slot *s, uint64_t now)
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
				lwt_fec_enc_flush(s->fenc, fec_emit, &c);
		}
		if (s->probe_until_ns)
			probe_check(x, s, now);
		if (s->fc.pending && s->fenc && now - s->fc.pending_ns >= LWT_FECCTL_WAIT_NS)
			fec_adapt(x, s);	/* its probe went unanswered */
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
			publish(s);
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
static uint64_t fec_timers(struct dpctx *x)
{
	struct lwt_daemon *d = x->d;
	uint64_t now = lwt_now_ns();
	int i, n = lwt_stimer_ndirty(&x->tm);

	/* Touches while we run (our own sends) find the slot still marked. */
	for (i = 0; i < n; i++)
		slot_timers(x, &d->slots[lwt_stimer_dirty(&x->tm, i)], now);
	lwt_stimer_clear_dirty(&x->tm);
	while ((i = lwt_stimer_pop_due(&x->tm, now)) >= 0)
		slot_timers(x, &d->slots[i], now);
	return lwt_stimer_next(&x->tm);
}

static void slot_free(struct dpctx *x, struct lwt_slot *s)
{
	/* Keep the totals when the slot's own counters go. */
#define FOLD(n) LWT_CTR_ADD(&x->d->ctr, n, LWT_CTR_GET(&s->ctr, n)); \
	atomic_store_explicit(&s->ctr.n, 0, memory_order_relaxed);
	LWT_COUNTERS(FOLD)
#undef FOLD
	if (x->d->cfg.mode == LWT_MODE_SERVER && x->dp->ops->flow_drop &&
	    atomic_load_explicit(&s->flow_key, memory_order_relaxed))
		x->dp->ops->flow_drop(x->dp, x->id, s->tcp.laddr, s->tcp.lport, s->tcp.raddr,
				      s->tcp.rport);
	flow_publish(x->d, s, 0);
	tun_publish(x->d, s, 0);
	atomic_store_explicit(&s->state, LWT_SLOT_FREE, memory_order_release);
	lwt_aead_destroy(s->tx);
	lwt_aead_destroy(s->rx);
	s->tx = s->rx = NULL;
	keys_reset(s);
	lwt_fec_enc_destroy(s->fenc);
	lwt_fec_dec_destroy(s->fdec);
	s->fenc = NULL;
	s->fdec = NULL;
	publish(s);
	lwt_udp_dp_detach(x->udp_ep, s);
	if (s->ack_due_ns)
		x->acks_pending--;
	s->ack_due_ns = 0;
	s->probe_until_ns = 0;
	s->probe_why = 0;
	s->tcp.state = LWT_FTCP_CLOSED;
	lwt_stimer_set(&x->tm, (int)(s - x->d->slots), 0);
}

/* Move to path dp. What our shard of the old path still holds is ours too;
 * the last poller off the old path destroys it. */
static void swap_dp(struct dpctx *x, struct lwt_dp *dp)
{
	struct lwt_daemon *d = x->d;
	struct lwt_dp *old = x->dp;
	struct lwt_dp_pkt rx[LWT_DP_BATCH];
	int i, n;

	for (i = 0; i < 64; i++) {
		n = old->ops->rx_batch(old, x->id, rx, LWT_DP_BATCH);
		if (n <= 0)
			break;
		for (int k = 0; k < n; k++)
			segment_input(x, rx[k].data, rx[k].len, false);
	}
	tx_flush(x);
	x->dp = dp;
	if (atomic_fetch_sub_explicit(&old->users, 1, memory_order_acq_rel) == 1)
		old->ops->destroy(old);
	/* A segment on every flow at once: the new path learns the flows from
	 * what we send, and the peer sees an ordinary ACK. */
	for (i = x->id; i < d->nslots; i += x->np)
		if (atomic_load_explicit(&d->slots[i].state, memory_order_relaxed) ==
		    LWT_SLOT_SESSION)
			send_ack(x, &d->slots[i]);
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
		 * is judged against it (fec_adapt). */
		lwt_fec_enc_set_parity(s->fenc, d->cfg.fec_adaptive ?
				       MIN(lwt_fec_enc_parity(s->fenc), x->fec_ceiling) :
				       x->fec_ceiling);
	}
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
		swap_dp(x, m->ptr);
		return 0;
	}
	if (m->type == LWT_CMD_CONFIG) {
		config_apply(x, m->u64);
		return 0;
	}
	if (!s)
		return 0;
	touch(x, s);
	if (m->type == LWT_CMD_CONNECT) {
		struct lwt_connect c = { d->cfg.remote.sin_addr.s_addr, d->cfg.remote.sin_port, 0, 0, 0, -1 };

		if (m->len == sizeof(c))
			memcpy(&c, m->data, sizeof(c));
		if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_FREE)
			slot_free(x, s);
		s->gen = m->gen;
		s->hs_frames = 0;
		s->hs_responder = c.responder;
		lwt_ftcp_init(&s->tcp, d->local_ip, (uint16_t)m->u64, c.raddr, c.rport);
		s->tcp.syn_ttl = c.syn_ttl;
		atomic_store_explicit(&s->rtt_us, 0, memory_order_relaxed);
		s->last_echo_ns = 0;
		atomic_store_explicit(&s->state, LWT_SLOT_HANDSHAKE, memory_order_release);
		if (c.udp) {	/* a direct UDP path: nothing to open */
			lwt_udp_dp_attach(x->udp_ep, s, m->slot, c.udp_fd);
			post(d, LWT_EVT_ESTABLISHED, m->slot, NULL, 0);
			return 0;
		}
		flow_publish(d, s, flow_key(s->tcp.raddr, s->tcp.rport, s->tcp.lport));
		n = lwt_ftcp_build_syn(&s->tcp, tx_buf(x), x->seg_max, d->mss);
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
		tun_publish(d, s, in->peer_tun_ip);
		s->auth_only = in->auth_only;
		s->tx_counter = 0;
		lwt_replay_init(&s->replay);
		keys_reset(s);
		free(in);
		atomic_store_explicit(&s->last_rx_ns, lwt_now_ns(), memory_order_relaxed);
		atomic_store_explicit(&s->state, LWT_SLOT_SESSION, memory_order_release);
		if (d->cfg.mode == LWT_MODE_CLIENT && s == &d->slots[0])
			pend_flush(x, s);
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
			n = lwt_ftcp_build_rst(&s->tcp, tx_buf(x), x->seg_max);
			tx_commit(x, s, n);
		}
		slot_free(x, s);
		post(d, LWT_EVT_KILLED, m->slot, NULL, 0);
		break;
	case LWT_CMD_KEEPALIVE:
		/* data[0] = 1: a heartbeat that wants no answer (sent as one). */
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			send_keepalive_as(x, s, false, m->len == 1 && m->data[0] == 1);
		break;
	case LWT_CMD_CLOSE:
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			send_record(x, s, LWT_MSG_CLOSE, NULL, 0, tx_buf(x));
		break;
	case LWT_CMD_SEND_MSG:
		if (atomic_load_explicit(&s->state, memory_order_relaxed) != LWT_SLOT_SESSION)
			break;
		if (m->u64 == LWT_MSG_PMTU_PROBE)
			send_pmtu_probe(x, s, m->data, m->len);
		else
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
	case LWT_CMD_PROBE:
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
			probe_start(x, s, PROBE_TAKEOVER);
		else
			post(d, LWT_EVT_PROBED, m->slot, "\0", 1);
		break;
	case LWT_CMD_RESYN:
		/* The same SYN (same ISN, timestamps move on), as a kernel resends it. */
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_HANDSHAKE &&
		    s->tcp.state == LWT_FTCP_SYN_SENT) {
			n = lwt_ftcp_build_syn(&s->tcp, tx_buf(x), x->seg_max, d->mss);
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

/* Packets other pollers handed us; a bounded batch per ring per round. */
static void handoff_input(struct dpctx *x)
{
	uint32_t tag, len;
	uint8_t *p;
	int j, k;

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
				segment_input(x, p, len, true);
			else
				route_inner(x, p, len, true);
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
			ST_ADD(x, tun_reads, 1);
			memcpy(&vh, x->gsobuf, sizeof(vh));
			if (lwt_gso_split(&vh, x->gsobuf + LWT_VNET_HDR_LEN, r - LWT_VNET_HDR_LEN,
					  gso_seg, x) < 0)
				LWT_CTR_INC(&d->ctr, drop_malformed);
		}
		return;
	}
	/* One buffer: tun_input is done with a packet (sent, copied or
	 * dropped) before the next read. */
	for (i = 0; i < max; i++) {
		ssize_t r = read(x->tun_fd, x->tunbuf, x->pkt_max + 1);

		if (r <= 0)
			break;
		ST_ADD(x, tun_reads, 1);
		if ((size_t)r > x->pkt_max) {
			LWT_CTR_INC(&d->ctr, drop_too_big);
			continue;
		}
		tun_input(x, x->tunbuf, r);
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
		else if (m.type == LWT_CMD_ROUTES)
			free(m.ptr);
		else if (m.type == LWT_CMD_SWAP_DP)
			swap_dp(x, m.ptr);
	}
}

static void udp_input(void *ctx, struct lwt_slot *s, const uint8_t *p, size_t len)
{
	struct dpctx *x = ctx;

	ST_ADD(x, rx_segments, 1);
	payload_input(x, s, p, len);
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

	while (!stop && !atomic_load_explicit(&d->stop, memory_order_relaxed)) {
		struct pollfd pfd[5] = {
			{ .fd = cq->efd, .events = POLLIN },
			{ .fd = x->dp->ops->rx_fd(x->dp, x->id), .events = POLLIN },
			{ .fd = x->tun_fd, .events = POLLIN },
			{ .fd = x->np > 1 ? x->hefd : -1, .events = POLLIN },
			{ .fd = x->udp_ep, .events = POLLIN },
		};
		uint64_t now = lwt_now_ns(), wake = now + (x->acks_pending ? 5 : 200) * 1000000ull;
		int tun_max = lwt_pace_allow(&x->pace, now);
		struct timespec ts;

		if (fec_next && fec_next < wake)
			wake = fec_next > now ? fec_next : now;
		/* Paced and out of credit: the TUN waits (its queue holds what
		 * comes meanwhile), and we wake when the next segment may go. */
		if (!tun_max) {
			pfd[2].events = 0;
			if (lwt_pace_next(&x->pace, now) < wake)
				wake = lwt_pace_next(&x->pace, now);
		}
		if (x->wake & (1u << x->id)) {
			x->wake &= ~(1u << x->id);
			wake = now;
		}
		ts.tv_sec = (wake - now) / 1000000000ull;
		ts.tv_nsec = (wake - now) % 1000000000ull;
		if (ppoll(pfd, 5, &ts, NULL) < 0 && errno != EINTR) {
			lwt_err("data plane: poll: %s", strerror(errno));
			atomic_store(&d->stop, 1);
			break;
		}
		if (pfd[0].revents & POLLIN) {
			lwt_msgq_ack(cq);
			while (!stop && lwt_msgq_pop(cq, &m))
				stop = handle_cmd(x, &m);
		}
		if (pfd[1].revents & POLLIN) {
			for (i = 0; i < 8; i++) {
				n = x->dp->ops->rx_batch(x->dp, x->id, rx, LWT_DP_BATCH);
				if (n <= 0)
					break;
				ST_ADD(x, rx_segments, n);
				for (int k = 0; k < n; k++)
					segment_input(x, rx[k].data, rx[k].len, false);
				if (n < LWT_DP_BATCH)
					break;
			}
		}
		if (pfd[4].revents & POLLIN)
			lwt_udp_dp_poll(d, x->udp_ep, udp_input, x);
		if (pfd[3].revents & POLLIN) {
			uint64_t v;

			if (read(x->hefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				LWT_CTR_INC(&d->ctr, drop_queue_full);
		}
		if (x->np > 1)
			handoff_input(x);
		gro_flush(x);
		if (pfd[2].revents & POLLIN) {
			uint64_t segs = x->tx_segs;

			tun_read(x, tun_max);
			lwt_pace_charge(&x->pace, x->tx_segs - segs);
		}
		fec_next = fec_timers(x);
		tx_flush(x);
		gro_flush(x);
		handoff_wake(x);
	}
	/* Say goodbye to peers so they need not wait for the timeout. */
	for (i = x->id; i < d->nslots; i += x->np)
		if (atomic_load_explicit(&d->slots[i].state, memory_order_relaxed) == LWT_SLOT_SESSION)
			send_record(x, &d->slots[i], LWT_MSG_CLOSE, NULL, 0, tx_buf(x));
	tx_flush(x);
	for (i = x->id; i < d->nslots; i += x->np)
		slot_free(x, &d->slots[i]);
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
	if (x->udp_ep >= 0)
		close(x->udp_ep);
	free(x->rt);
	free(x->txbuf);
	free(x->tunbuf);
	free(x->gsobuf);
	lwt_gro_destroy(x->gro);
	lwt_sendq_uninit(&x->pend);
	lwt_fecpool_destroy(x->fpool);
	lwt_stimer_uninit(&x->tm);
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
	lwt_pace_init(&x->pace, (uint64_t)d->cfg.faketcp_pacing_us * 1000, lwt_now_ns());
	x->isolation = d->cfg.client_isolation;
	x->fec_ceiling = d->cfg.fec_parity;
	x->hefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	x->udp_ep = epoll_create1(EPOLL_CLOEXEC);
	if (x->hefd < 0 || x->udp_ep < 0)
		goto fail;
	x->seg_max = d->bufs.seg_max;
	x->pkt_max = d->bufs.pkt_max;
	x->fpool = lwt_fecpool_create(MAX(fec_pool_bytes(d) / (size_t)x->np,
					  2 * lwt_fecpool_cost((size_t)LWT_FEC_PEER_MAX_SHARDS *
								(x->pkt_max + 2))));
	if (!x->fpool || lwt_stimer_init(&x->tm, d->nslots))
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
