/* SPDX-License-Identifier: MIT */
/* The AF_XDP data path's own types (xsk.c: rings, receive, transmit,
 * lifecycle; xsk_prog.c: the XDP program on the link and its pins). */
#ifndef LWT_XSK_INT_H
#define LWT_XSK_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <xdp/xsk.h>

#include "dp.h"
#include "lwt/xdp.h"
#include "lwt_xdp.skel.h"

#define XSK_FRAMES	2048	/* UMEM frames per queue, most: half RX, half TX */
#define XSK_MIN_FRAMES	512
#define XSK_FRAME_SIZE	XSK_UMEM__DEFAULT_FRAME_SIZE
#define XSK_TX_FRAMES	(XSK_FRAMES / 2)	/* the most a queue has */
#define ETH_HLEN_	14
#define L2_MAX		(ETH_HLEN_ + 2 * 4)	/* Ethernet and two VLAN tags */
#define PEERS		1024	/* next-hop cache slots, direct mapped */
#define LEARN_SLOTS	1024	/* learned-flow cache slots, direct mapped */
#define NSEC		1000000000ull
#define NEIGH_RETRY_NS	(NSEC / 10)	/* next hop unknown: ask again */
#define L2_REFRESH_NS	(2 * NSEC)	/* next hop known: check it is still */
#define AGE_EVERY_NS	(10 * NSEC)
#define LEARN_IDLE_NS	(300 * NSEC)	/* silent learned flow */
#define EMBRYO_IDLE_NS	(30 * NSEC)	/* learned flow that never answered */
#define BPFFS		"/sys/fs/bpf"

/* Multi-buffer AF_XDP (Linux 6.6): a frame larger than a UMEM frame (a
 * GRO-merged segment in generic mode) arrives as a chain of descriptors. */
#ifndef XDP_USE_SG
#define XDP_USE_SG	(1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD	(1 << 0)
#endif
#define BIG_FRAME	(LWT_DP_RXBUF + L2_MAX)

struct xq {
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	void *area;
	uint64_t tx_free[XSK_TX_FRAMES];
	uint32_t ntx_free;
	uint32_t nrx, ntx;	/* frames for RX and for TX (UMEM sized from the config) */
	int fd;
	int kick_always;	/* bound without need_wakeup */
	uint8_t *big;		/* bound with XDP_USE_SG: a chain joined here */
	uint32_t big_len;	/* ... so far (0: no chain open) */
	bool big_bad;		/* ... longer than big: dropped at its end */
};

/* The link header to send to one IPv4 address with, from the neighbour
 * table. */
struct l2peer {
	struct lwt_addr ip;	/* IPv6, or IPv4 v4-mapped; all zero = empty slot */
	uint8_t hlen;		/* 0 = unresolved */
	uint8_t hdr[ETH_HLEN_];	/* ends with ethertype IPv4 or IPv6 */
	uint64_t retry_ns;	/* next neighbour-table look-up */
};

/* An RX frame lent to the caller until the next rx_batch. */
struct lent {
	uint32_t q;
	uint64_t addr;
};

/* What one poller thread uses: its RX queues (q % shards == its index),
 * the queue it sends on, and caches no other thread touches. */
struct xshard {
	int epfd;		/* its RX sockets */
	int txq;
	int rx_next;
	struct lent lent[LWT_DP_BATCH];
	int nlent;
	struct lwt_xdp_flow_key learned[LEARN_SLOTS];	/* known to be in flows */
	uint64_t learned_ns[LEARN_SLOTS];		/* ... as of then */
	struct l2peer peers[PEERS];
};

struct xskdp {
	struct lwt_dp dp;
	struct lwt_xdp_bpf *skel;
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint32_t xdp_flags;	/* the mode we attached in; 0 = not attached */
	uint32_t frames;	/* UMEM frames per queue */
	uint8_t mac[6];
	int nq, nshards;
	struct xq *q;
	struct xshard *sh;
	int raw_fd;
	int raw6_fd;		/* IPv6 segments without a link header yet; -1 none */
	struct lwt_dp_filter filter;
	int static_flow;	/* the filter's client flow is in flows */
	struct lwt_xdp_flow_key static_key;
	uint64_t next_age_ns;	/* shard 0 ages the flows map */
	char pin_dir[PATH_MAX];	/* "" = not pinned */
};

#define X(dp) ((struct xskdp *)(dp))

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

/* Packet fields sit at any alignment. */
static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}


/* xsk_flows.c: the flows map (learned from what we send) and link headers. */
/* The client's one flow, or the server's listen port, into the program's
 * config and flows. */
int xflow_filter_apply(struct xskdp *x, const struct lwt_dp_filter *f);
int xflow_set_filter(struct lwt_dp *dp, const struct lwt_dp_filter *f);
/* Our segment to a peer opens (RST/FIN: closes) its learned flow. */
void xflow_learn(struct xskdp *x, struct xshard *h, const uint8_t *ip, uint32_t len,
		 uint64_t now);
void xflow_forget(struct xshard *h, const struct lwt_xdp_flow_key *k);
/* Drop learned flows that fell silent (shard 0, every AGE_EVERY_NS). */
void xflows_age(struct xskdp *x, uint64_t now);
/* The link header to send to ip with (NULL: not known yet, use the raw
 * socket). */
/* The link header for packet ip's destination (IPv4 or IPv6). */
const struct l2peer *xl2_for(struct xskdp *x, struct xshard *h, const uint8_t *ip, uint64_t now);

/* xsk_prog.c */
/* Clear what a killed run of ours left on the link (its program, if its
 * owner is gone) and refuse another program. 0 or -errno with why. */
int xprog_clear_stale(struct xskdp *x, const char *pin_dir, char *why, size_t wl);
/* Attach the program in mode (XDP_FLAGS_*), or replace ours atomically. */
int xprog_attach(struct xskdp *x, int mode, char *why, size_t wl);
void xprog_detach(struct xskdp *x);
/* Pin the program and its maps under pin_dir (with BTF: bpftool reads
 * them), replacing a killed run's; unpin removes ours. */
int xprog_pin(struct xskdp *x, const char *pin_dir, char *why, size_t wl);
void xprog_unpin(struct xskdp *x);

#endif
