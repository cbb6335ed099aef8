/* SPDX-License-Identifier: MIT */
/* The data plane's own declarations, shared by dataplane.c (the pollers' loop
 * and lifecycle) and dp_*.c (send, route, records, flows, timers, orders).
 * Nothing outside the data plane includes this. */
#ifndef LWT_DP_INT_H
#define LWT_DP_INT_H

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
#include "slotfree.h"
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
/* Slot s's segment header: 20 bytes more over IPv6. */
#define SEG_HDR_OF(s) (LWT_SEG_HDR + ((s)->tcp.v6 ? LWT_IP6_EXTRA : 0))
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

/* A RST or FIN at the exact sequence on a session, or another flow of its
 * client id that wants the session's tunnel IP (LWT_CMD_PROBE): ask the
 * peer with a keepalive (it answers one under the session's keys), again
 * halfway, and decide by LWT_PROBE_NS whether anything authenticated came.
 * One probe a slot; a second reason joins the running one. A RST/FIN probe
 * without answer ends the session; a takeover probe reports either way
 * (LWT_EVT_PROBED) and leaves the decision to the control thread. */
enum { PROBE_RST = 1, PROBE_TAKEOVER = 2 };

struct dpctx {
	struct lwt_daemon *d;
	int id, np;			/* poller index, pollers */
	struct lwt_dp *dp;		/* the path this poller is on */
	int tun_fd;			/* its TUN queue */
	int hefd;			/* eventfd: a ring into us has entries */
	struct lwt_hring *in;		/* [np]: from poller j (in[id] unused) */
	uint32_t wake;			/* pollers we handed packets since the last wake */
	int last_tun;			/* dp_slot_by_tun_ip's last hit */
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
	struct lwt_rtable *rt;		/* server: advertised routes */
	struct lwt_rt6 *rt6;		/* server: advertised IPv6 routes (in6idx.h) */
	bool isolation;			/* client_isolation, as of the last LWT_CMD_CONFIG */
	int fec_ceiling;		/* fec_parity, likewise */
	/* TUN with IFF_VNET_HDR: one read brings up to 64 KB of a flow that
	 * we cut ourselves; packets for the TUN are coalesced per flow. */
	uint8_t *gsobuf;
	struct lwt_gro *gro;
	struct lwt_pace pace;		/* faketcp_pacing_us (pace.h) */
	struct lwt_fecpool *fpool;	/* FEC groups in flight of our slots' coders */
	struct lwt_stimer tm;		/* our slots' timers (dp_slot_timers) */
	struct lwt_slotfree fr;		/* our slots free, in handshake (slotfree.h) */
	uint64_t tx_segs;		/* segments committed, for the pacer */
	int udp_ep;			/* client: the direct UDP paths of our slots (p2p_udp_dp.c) */
	/* The clock as of the batch in hand: read once per wake, receive
	 * batch and TUN read rather than per packet (a clock read is ~20 ns
	 * here, two or three a packet). */
	uint64_t now;
	/* The poller's one wait (dp_wait_sync): an epoll set of its orders,
	 * its share of the path, its TUN queue, handoffs and UDP paths. */
	int ep;
	int ep_rx_fd;			/* the path's descriptor in it (-1 none) */
	bool ep_tun_on;			/* the TUN in it with EPOLLIN (the pacer) */
};

struct fec_ctx {
	struct dpctx *x;
	struct lwt_slot *s;
};

/* The MSS a SYN or SYN-ACK of that family announces. */
static inline uint16_t dp_mss(const struct lwt_daemon *d, bool v6)
{
	return v6 ? d->mss6 : d->mss;
}

#define ST_ADD(x, f, v) atomic_fetch_add_explicit(&(x)->st.f, (v), memory_order_relaxed)
#define PMTU_PAD(size) ((int)(size) - (int)(SEG_HDR + REC_HDR + 1 + LWT_TAG_LEN))
/* ... over slot s's path (20 bytes less padding over IPv6). */
#define PMTU_PAD_OF(s, size) (PMTU_PAD(size) - ((s)->tcp.v6 ? LWT_IP6_EXTRA : 0))
#define PUB_SET(s, f, v) atomic_store_explicit(&(s)->pub.f, (v), memory_order_relaxed)

/* dataplane.c */
int dp_wait_sync(struct dpctx *x, bool tun_on);

/* dp_send.c */
void dp_tx_flush(struct dpctx *x);
bool dp_mine(const struct dpctx *x, const struct lwt_slot *s);
void dp_touch(struct dpctx *x, struct lwt_slot *s);
void dp_handoff(struct dpctx *x, int to, uint32_t kind, const uint8_t *p, size_t len);
void dp_handoff_wake(struct dpctx *x);
uint8_t *dp_tx_buf(struct dpctx *x);
void dp_tx_commit(struct dpctx *x, struct lwt_slot *s, int len);
void dp_send_ack(struct dpctx *x, struct lwt_slot *s);
void dp_send_plain(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len);
int dp_send_record(struct dpctx *x, struct lwt_slot *s, uint8_t type, const void *body,
		   size_t blen, uint8_t *b);
void dp_send_pmtu_probe(struct dpctx *x, struct lwt_slot *s, const uint8_t *pr, size_t len);
void dp_send_keepalive_as(struct dpctx *x, struct lwt_slot *s, bool reply, bool heartbeat);
void dp_send_keepalive(struct dpctx *x, struct lwt_slot *s, bool reply);
void dp_probe_start(struct dpctx *x, struct lwt_slot *s, uint8_t why);
void dp_probe_check(struct dpctx *x, struct lwt_slot *s, uint64_t now);
void dp_fec_emit(void *ctx, const struct lwt_fec_hdr *h, const uint8_t *p, size_t len);
void dp_send_ip(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len);
void dp_pend_flush(struct dpctx *x, struct lwt_slot *s);
void dp_send_to_slot(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len,
		     bool handed);

/* dp_route.c */
void dp_tun_publish(struct lwt_daemon *d, struct lwt_slot *s, uint32_t ip);
struct lwt_slot *dp_slot_by_tun_ip(struct dpctx *x, uint32_t ip);
void dp_route_inner(struct dpctx *x, const uint8_t *pkt, size_t len, bool handed);
void dp_tun_input(struct dpctx *x, const uint8_t *pkt, size_t len);
void dp_gro_flush(struct dpctx *x);
void dp_deliver_ip(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len);

/* dp_in6.c */
void dp_in6_route(struct dpctx *x, const uint8_t *pkt, size_t len, bool handed);
bool dp_in6_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len);

/* dp_records.c */
void dp_fec_adapt(struct dpctx *x, struct lwt_slot *s);
unsigned int dp_hs_frames_max(const struct lwt_daemon *d);
int dp_payload_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *p, size_t len);

/* dp_flows.c */
uint64_t dp_flow_key(uint32_t raddr, uint16_t rport, uint16_t lport);
void dp_flow_publish(struct lwt_daemon *d, struct lwt_slot *s, uint64_t key);
void dp_segment_input(struct dpctx *x, uint8_t *pkt, size_t len, bool handed);

/* dp_timers.c */
void dp_publish(struct lwt_slot *s);
void dp_slot_timers(struct dpctx *x, struct lwt_slot *s, uint64_t now);
uint64_t dp_fec_timers(struct dpctx *x);

/* dp_cmd.c */
void dp_keys_switch(struct lwt_slot *s, struct lwt_aead *tx, struct lwt_aead *rx,
		    uint16_t epoch, uint64_t prev_until_ns);
void dp_slot_free(struct dpctx *x, struct lwt_slot *s);
/* Slot s of ours takes state st (enum lwt_slot_state): stored, and counted
 * in x->fr. Every change of a slot's state goes through here. */
static inline void dp_slot_state(struct dpctx *x, struct lwt_slot *s, int st)
{
	lwt_slotfree_move(&x->fr, (int)(s - x->d->slots),
			  atomic_load_explicit(&s->state, memory_order_relaxed), st);
	atomic_store_explicit(&s->state, st, memory_order_release);
}
void dp_swap_dp(struct dpctx *x, struct lwt_dp *dp);
int dp_handle_cmd(struct dpctx *x, struct lwt_msg *m);

/* dataplane.c */
void dp_post(struct lwt_daemon *d, int type, int slot, const void *data, size_t len);
bool dp_post_frame(struct lwt_daemon *d, int type, int slot, const void *data, size_t len);

#endif
