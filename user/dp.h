/* SPDX-License-Identifier: MIT */
/* The outer data path behind one small interface: receive a batch of IPv4
 * or IPv6 packets carrying fake-TCP segments, send a batch. The raw-socket path
 * (rawsock.c) and the AF_XDP path (xsk.c) implement it without touching
 * session, crypto or FEC code.
 *
 * A path serves dp->shards poller threads. Shard s receives from the queues
 * q with q % shards == s (raw sockets: shard 0 receives everything) and sends
 * on a queue of its own, so the threads never share a ring and take no lock.
 * Each call below is made by the thread of the shard it names. */
#ifndef LWT_DP_H
#define LWT_DP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

#define LWT_DP_BATCH 32
#define LWT_DP_RXBUF 65536	/* largest (GRO-merged) segment we accept */

struct lwt_dp_pkt {
	uint8_t *data;		/* IPv4 or IPv6 header first */
	uint32_t len;
	/* tx: a server flow without a session yet (cookie SYN-ACK, handshake):
	 * AF_XDP must not learn it (steer it to us) from this packet; its
	 * segments reach us through the listen port's rate-limited path. */
	bool no_learn;
};

struct lwt_dp;
struct lwt_dp_filter;

struct lwt_dp_ops {
	const char *name;
	/* Fill up to max packets from the shard's queues; pointers stay valid
	 * until the shard's next rx_batch. Returns the count (0 if none ready)
	 * or -errno. Never blocks. */
	int (*rx_batch)(struct lwt_dp *dp, int shard, struct lwt_dp_pkt *pkts, int max);
	/* Send n complete IPv4 packets. Returns how many left or -errno. */
	int (*tx_batch)(struct lwt_dp *dp, int shard, const struct lwt_dp_pkt *pkts, int n);
	/* A descriptor that polls readable when the shard's rx_batch has work;
	 * -1 when the shard receives nothing. */
	int (*rx_fd)(struct lwt_dp *dp, int shard);
	/* Publish a peer's counters (AF_XDP: the pinned peers map); NULL st
	 * removes it. Optional. */
	int (*peer_stats)(struct lwt_dp *dp, const struct lwt_addr *addr, uint16_t port,
			  const void *st);
	/* The XDP program's counters (struct lwt_xdp_stats, summed over CPUs)
	 * into st. Optional (no XDP program: NULL). */
	int (*xdp_stats)(struct lwt_dp *dp, void *st);
	/* Steer a new set of flows to us (client reconnect from a new port). */
	int (*set_filter)(struct lwt_dp *dp, const struct lwt_dp_filter *f);
	/* A flow we learned is over (its slot was freed): stop steering it.
	 * Addresses and ports network order, as in the segments we send.
	 * Optional. */
	void (*flow_drop)(struct lwt_dp *dp, int shard, const struct lwt_addr *laddr,
			  uint16_t lport, const struct lwt_addr *raddr, uint16_t rport);
	void (*destroy)(struct lwt_dp *dp);
};

struct lwt_dp {
	const struct lwt_dp_ops *ops;
	_Atomic uint64_t rx_errors, tx_errors;
	int shards;		/* poller threads it serves */
	_Atomic int users;	/* pollers still on it (path switch) */
	/* What the path is, for status: "native"/"generic" ("none": not XDP),
	 * queues in use, zero-copy or copy, interface. */
	const char *xdp_mode;
	int queues;
	bool zerocopy;
	char ifname[16];
};

/* What the path must steer to us: segments to local port lport (network
 * order) on laddr (0 = any); for a client, from raddr:rport as well. */
struct lwt_dp_flow {
	uint32_t laddr, raddr;	/* network order */
	uint16_t lport, rport;
};

struct lwt_dp_filter {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	/* IPv6 underlay (addr.h): a client whose server is IPv6 (v6, la6 and
	 * ra6 its addresses); a server that listens on IPv4, IPv6 or both
	 * (listen6 with la6 its address, :: any). A server with neither
	 * flag listens on IPv4 (as before IPv6). */
	bool v6, listen4, listen6;
	struct lwt_addr la6, ra6;
	int server;
	/* Client: direct (P2P) flows come to lport from anywhere: every
	 * segment to it is ours (none reaches the kernel, which would RST). */
	bool p2p;
	/* Server: flows already open (attach under traffic), used at create. */
	const struct lwt_dp_flow *flows;
	int nflows;
	int queue_pkts;		/* recv_queue_size: sizes the AF_XDP UMEM (0: most) */
	uint32_t seg_max;	/* largest segment the data plane sends (bufs.h) */
	/* Poller threads to serve: 0 = one per queue (at most LWT_DP_MAX_SHARDS
	 * and the CPUs); else exactly this many, refused by a path with fewer
	 * queues unless it can receive on one (raw sockets). */
	int shards;
};

#define LWT_DP_MAX_SHARDS 8
#define LWT_DP_ERR_ADD(dp, f, v) atomic_fetch_add_explicit(&(dp)->f, (v), memory_order_relaxed)

int lwt_rawsock_create(struct lwt_dp **out, const struct lwt_dp_filter *f);

#include <stddef.h>

/* lwt_xsk_create() modes: native XDP falling back to generic, or only one. */
enum lwt_xsk_mode {
	LWT_XSK_MODE_AUTO	= 0,
	LWT_XSK_MODE_NATIVE	= 1,
	LWT_XSK_MODE_GENERIC	= 2,
};

/* AF_XDP path (xsk.c) on ifname: loads and attaches bpf/lwt_xdp.bpf.c, one
 * AF_XDP socket per RX queue. pin_dir (e.g. /sys/fs/bpf/lwt/<tun>, or NULL)
 * gets the maps and program pinned under pin_dir/LWT_XDP_PIN_SUBDIR/ (bpffs mounted if
 * needed); destroy removes them and detaches. On failure returns -errno and
 * writes a one-line reason into why: the caller falls back to raw sockets. */
int lwt_xsk_create(struct lwt_dp **out, const struct lwt_dp_filter *f, const char *ifname,
		   int mode, const char *pin_dir, char *why, size_t whylen);
/* Load lwt's XDP program and free it again, quietly: 0 if this process,
 * with its effective capabilities, could load it now, else -errno. */
int lwt_xsk_probe_load(void);

#endif
