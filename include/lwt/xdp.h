/* SPDX-License-Identifier: MIT */
/* The XDP classifier's maps (bpf/lwt_xdp.bpf.c), shared with userspace
 * (user/xsk.c, tests/bpf/). Compiled by BPF and userspace alike.
 *
 * Byte order: addresses and ports are network order, as on the wire; counters,
 * rates and flags are host order. Addresses are 16 bytes everywhere: IPv6 as
 * is, IPv4 as the v4-mapped IPv6 address ::ffff:a.b.c.d (lwt_xdp_addr_v4()),
 * so one flow map and one SYN-bucket map serve both families.
 *
 * Ownership: userspace writes `config` (one entry), adds and removes `flows`
 * entries, and inserts its AF_XDP sockets into `xsks`; the program only reads
 * those, except a flow's counters and last_ns, which it updates. The program
 * owns `syn_buckets` and `stats`; userspace only reads them. */
#ifndef LWT_XDP_H
#define LWT_XDP_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/* Pinned under <pin_dir>/LWT_XDP_PIN_SUBDIR/<name>. Bump the version whenever a
 * map definition below changes: a pinned map is reused only if it matches. */
#define LWT_XDP_PIN_SUBDIR	"xdp-v3"
#define LWT_XDP_PROG_NAME	"lwt_xdp"
#define LWT_XDP_MAP_CONFIG	"config"
#define LWT_XDP_MAP_FLOWS	"flows"
#define LWT_XDP_MAP_XSKS	"xsks"
#define LWT_XDP_MAP_SYN		"syn_buckets"
#define LWT_XDP_MAP_STATS	"stats"
#define LWT_XDP_MAP_PEERS	"peers"
#define LWT_XDP_MAX_PEERS	4096

#define LWT_XDP_MAX_QUEUES	256	/* xsks entries: RX queue index -> socket */
#define LWT_XDP_MAX_FLOWS	4096	/* flows entries */
#define LWT_XDP_SYN_SOURCES	16384	/* syn_buckets entries (LRU) */
#define LWT_XDP_SYN_RATE	32	/* default SYNs per second per source */
#define LWT_XDP_SYN_BURST	64	/* default bucket depth */

/* lwt_xdp_config.flags */
enum lwt_xdp_cfg_flags {
	/* The listen port also takes IPv6 (to any local address). */
	LWT_XDP_CF_LISTEN6	= 1 << 0,
	/* No per-source SYN limit (tests, trusted networks). */
	LWT_XDP_CF_NO_SYN_LIMIT	= 1 << 1,
	/* A server on an IPv6 address only: the port's IPv4 segments are the
	 * kernel's (a closed port), not steered. */
	LWT_XDP_CF_NO_LISTEN4	= 1 << 2,
	/* A server on one IPv6 address: only IPv6 segments to an address whose
	 * four words XOR to laddr6_fold are steered (the daemon checks the
	 * whole address); the rest are the kernel's. */
	LWT_XDP_CF_LISTEN6_ADDR	= 1 << 3,
};

/* config[0]: what the program steers besides the flows map. */
struct lwt_xdp_config {
	__be32 laddr;		/* IPv4 address the server listens on; 0 = any */
	__be16 lport;		/* listen port; 0 = not a server */
	__u16 flags;		/* enum lwt_xdp_cfg_flags */
	__u32 syn_rate;		/* SYNs/s per source; 0 = LWT_XDP_SYN_RATE */
	__u32 syn_burst;	/* SYNs in a burst per source; 0 = LWT_XDP_SYN_BURST */
	__u32 owner_pid;	/* the daemon that attached it: a dead owner's program is stale */
	__u32 laddr6_fold;	/* LWT_XDP_CF_LISTEN6_ADDR: the IPv6 listen address folded */
};
_Static_assert(sizeof(struct lwt_xdp_config) == 24, "lwt_xdp_config");

/* An IPv6 address, or an IPv4 one v4-mapped. */
struct lwt_xdp_addr {
	__be32 w[4];
};
_Static_assert(sizeof(struct lwt_xdp_addr) == 16, "lwt_xdp_addr");

/* flows key: one tunnel flow as seen on receive. */
struct lwt_xdp_flow_key {
	struct lwt_xdp_addr raddr;	/* the peer (source of received segments) */
	struct lwt_xdp_addr laddr;	/* us (their destination) */
	__be16 rport;
	__be16 lport;
};
_Static_assert(sizeof(struct lwt_xdp_flow_key) == 36, "lwt_xdp_flow_key");

/* lwt_xdp_flow.flags, set by userspace. */
enum lwt_xdp_flow_flags {
	/* Learned by the data path from its own transmissions; it ages the
	 * entry out when the flow falls silent. Entries without it are
	 * managed by whoever added them. */
	LWT_XDP_FL_LEARNED	= 1 << 0,
};

/* flows value: receive counters (atomic adds by the program) and the time of
 * the last segment received, for ageing. */
struct lwt_xdp_flow {
	__u64 packets;
	__u64 bytes;		/* whole frames, link header included */
	__u64 last_ns;		/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last
				 * segment; set to the insertion time by userspace */
	__u32 flags;		/* enum lwt_xdp_flow_flags */
	__u32 pad;
};
_Static_assert(sizeof(struct lwt_xdp_flow) == 32, "lwt_xdp_flow");

/* syn_buckets value: GCRA state of one source. A SYN at time t is allowed iff
 * max(tat_ns, t) + T - t <= burst * T (T = 1 s / rate); then tat_ns advances
 * by T. Equivalent to a token bucket of depth burst refilled at rate. */
struct lwt_xdp_syn_bucket {
	__u64 tat_ns;		/* theoretical arrival time, bpf_ktime_get_ns() clock */
};
_Static_assert(sizeof(struct lwt_xdp_syn_bucket) == 8, "lwt_xdp_syn_bucket");

/* stats[0], per CPU; sum over CPUs. Every frame counts in rx_packets and in
 * exactly one of redirected, passed, dropped_unknown, dropped_syn_rate,
 * dropped_ack_rate; the other counters break those down. */
struct lwt_xdp_stats {
	__u64 rx_packets;	/* frames the program saw */
	__u64 redirected;	/* tunnel segments handed to an AF_XDP socket */
	__u64 passed;		/* XDP_PASS, for whatever reason */
	__u64 dropped_unknown;	/* not a SYN or ACK, to the listen port, of no known flow */
	__u64 dropped_syn_rate;	/* SYN beyond its source's rate */
	__u64 truncated;	/* (passed) a header ends past the frame */
	__u64 malformed;	/* (passed) IHL < 5, doff < 5, IPv4 fragment */
	__u64 no_socket;	/* (passed) tunnel segment, no socket on its queue */
	__u64 flow_hits;	/* tunnel segments that matched flows */
	__u64 syn_accepted;	/* SYNs to the listen port within their rate */
	__u64 unknown_acks;	/* ACKs of no flow to the listen port within their
				 * source's rate (SYN cookie checked by userspace) */
	__u64 dropped_ack_rate;	/* ... beyond it (same bucket as the SYNs) */
};
_Static_assert(sizeof(struct lwt_xdp_stats) == 96, "lwt_xdp_stats");

/* peers map: per-peer session counters published by the daemon (every
 * second), keyed by the peer's outer address (IPv6, or IPv4 v4-mapped) and
 * port, so that `bpftool map dump` shows FEC and traffic figures beside
 * the XDP ones. */
struct lwt_xdp_peer_key {
	struct lwt_xdp_addr addr;
	__be16 port;
	__u16 pad;
};
_Static_assert(sizeof(struct lwt_xdp_peer_key) == 20, "lwt_xdp_peer_key");

struct lwt_xdp_peer_stats {
	__be32 tunnel_ip;
	__u32 rtt_us;
	__u64 rx_packets, tx_packets, rx_bytes, tx_bytes;
	__u64 drop_auth, drop_replay;
	__u64 fec_groups_sent, fec_parity_sent, fec_shards_lost, fec_packets_rebuilt;
	__u64 fec_groups_unrecoverable;
	__u32 fec_parity_now, key_epoch;
	__u32 route;		/* enum lwt_xdp_route: what the session is to us */
	__u32 pad;
};

/* lwt_xdp_peer_stats.route */
enum lwt_xdp_route {
	LWT_XDP_ROUTE_HUB = 0,		/* a server's client, or a client's hub session */
	LWT_XDP_ROUTE_DIRECT_TCP = 1,	/* a client's direct path to another client */
	LWT_XDP_ROUTE_LAN = 2,		/* ... over their shared LAN */
};

/* The v4-mapped prefix word ::ffff: as a network-order __be32. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LWT_XDP_V4MAPPED_W2 0xffff0000u
#else
#define LWT_XDP_V4MAPPED_W2 0x0000ffffu
#endif

static inline void lwt_xdp_addr_v4(struct lwt_xdp_addr *a, __be32 v4)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = LWT_XDP_V4MAPPED_W2;
	a->w[3] = v4;
}

#endif
