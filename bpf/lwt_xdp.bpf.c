// SPDX-License-Identifier: MIT
/* XDP classifier: steer lwt's fake-TCP segments to the AF_XDP sockets, let
 * everything else through untouched. Parse, match, redirect, count; the
 * protocol itself lives in userspace. Shared definitions: include/lwt/xdp.h. */
/* vmlinux.h of 6.x has a typedef named config; the map's name wins here. */
#define config vmlinux_config
#include "vmlinux.h"
#undef config
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lwt/xdp.h"

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define IP_MF		0x2000
#define IP_OFFSET	0x1FFF
#define TCPF_SYN	0x02
#define TCPF_ACK	0x10
#define TCPF_RST	0x04
#define NSEC_PER_SEC	1000000000ull

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* One entry: listen port, local address, flags, SYN rate. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lwt_xdp_config);
} config SEC(".maps");

/* Flows of known sessions (filled by userspace once a session is
 * installed), with receive counters; LRU, so it never fills up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LWT_XDP_MAX_FLOWS);
	__type(key, struct lwt_xdp_flow_key);
	__type(value, struct lwt_xdp_flow);
} flows SEC(".maps");

/* RX queue index -> AF_XDP socket bound to that queue. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, LWT_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* Per-source SYN rate state; LRU so a spoofed flood only evicts itself. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LWT_XDP_SYN_SOURCES);
	__type(key, struct lwt_xdp_addr);
	__type(value, struct lwt_xdp_syn_bucket);
} syn_buckets SEC(".maps");

/* Per-peer session counters, written by the daemon (not by the program). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LWT_XDP_MAX_PEERS);
	__type(key, struct lwt_xdp_peer_key);
	__type(value, struct lwt_xdp_peer_stats);
} peers SEC(".maps");

/* Counters, one struct per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lwt_xdp_stats);
} stats SEC(".maps");

/* Where a frame is going before it is counted. */
enum verdict {
	V_PASS,		/* not ours */
	V_TRUNC,	/* a header ends past data_end */
	V_MALFORMED,
	V_FLOW,		/* a known flow */
	V_SYN,		/* SYN to the listen port */
	V_UNKNOWN,	/* anything else to the listen port */
	V_SYN_RATE,	/* SYN over its source's rate */
	V_ACK,		/* ACK of no flow to the listen port: a cookie to check */
	V_ACK_RATE,	/* ... over its source's rate */
};

struct pkt {
	struct lwt_xdp_flow_key key;
	__u8 tcp_flags;
	__u8 v6;
};

/* Skip up to two VLAN tags (802.1Q or 802.1AD). Returns the inner
 * ethertype (network order) and advances *off, or -1 if truncated. */
static __always_inline int parse_eth(void *data, void *data_end, __u32 *off)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vh;
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return -1;
	proto = eth->h_proto;
	*off = sizeof(*eth);
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = data + *off;
		if ((void *)(vh + 1) > data_end)
			return -1;
		proto = vh->h_vlan_encapsulated_proto;
		*off += sizeof(*vh);
	}
	return proto;
}

/* TCP header at th: bounds-check the whole header, options included. */
static __always_inline enum verdict parse_tcp(struct tcphdr *th, void *data_end,
					      struct pkt *p)
{
	__u8 *b = (__u8 *)th;
	__u32 doff;

	if ((void *)(th + 1) > data_end)
		return V_TRUNC;
	doff = (b[12] >> 4) * 4;
	if (doff < sizeof(*th))
		return V_MALFORMED;
	/* Options are not needed to classify, but a segment whose header
	 * does not fit is not one we or the kernel can use. */
	if ((void *)b + doff > data_end)
		return V_TRUNC;
	p->tcp_flags = b[13];
	p->key.rport = th->source;
	p->key.lport = th->dest;
	return V_PASS;
}

static __always_inline enum verdict parse_ipv4(void *data, void *data_end, __u32 off,
					       struct pkt *p)
{
	struct iphdr *ip = data + off;
	__u32 ihl;

	if ((void *)(ip + 1) > data_end)
		return V_TRUNC;
	ihl = (*(__u8 *)ip & 0x0f) * 4;
	if (ihl < sizeof(*ip))
		return V_MALFORMED;
	if ((void *)ip + ihl > data_end)
		return V_TRUNC;
	if (ip->protocol != IPPROTO_TCP)
		return V_PASS;
	/* lwt never fragments; a fragment has no (whole) TCP header. */
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return V_MALFORMED;
	lwt_xdp_addr_v4(&p->key.raddr, ip->saddr);
	lwt_xdp_addr_v4(&p->key.laddr, ip->daddr);
	return parse_tcp((void *)ip + ihl, data_end, p);
}

static __always_inline bool v4mapped(const struct in6_addr *a)
{
	return !a->in6_u.u6_addr32[0] && !a->in6_u.u6_addr32[1] &&
	       a->in6_u.u6_addr32[2] == LWT_XDP_V4MAPPED_W2;
}

/* Fixed header only: a tunnel segment carries no extension headers. */
static __always_inline enum verdict parse_ipv6(void *data, void *data_end, __u32 off,
					       struct pkt *p)
{
	struct ipv6hdr *ip6 = data + off;

	if ((void *)(ip6 + 1) > data_end)
		return V_TRUNC;
	if (ip6->nexthdr != IPPROTO_TCP)
		return V_PASS;
	/* A v4-mapped address on the wire would alias an IPv4 flow key. */
	if (v4mapped(&ip6->saddr) || v4mapped(&ip6->daddr))
		return V_MALFORMED;
	__builtin_memcpy(&p->key.raddr, &ip6->saddr, sizeof(p->key.raddr));
	__builtin_memcpy(&p->key.laddr, &ip6->daddr, sizeof(p->key.laddr));
	p->v6 = 1;
	return parse_tcp((void *)(ip6 + 1), data_end, p);
}

/* GCRA (see struct lwt_xdp_syn_bucket). Two CPUs may race on one bucket and
 * let a SYN or two more through: this is a flood brake, not an accountant. */
static __always_inline bool syn_allowed(const struct lwt_xdp_config *cfg,
					const struct lwt_xdp_addr *src)
{
	__u64 rate = cfg->syn_rate ? cfg->syn_rate : LWT_XDP_SYN_RATE;
	__u64 burst = cfg->syn_burst ? cfg->syn_burst : LWT_XDP_SYN_BURST;
	__u64 t = NSEC_PER_SEC / rate, now = bpf_ktime_get_ns(), tat;
	struct lwt_xdp_syn_bucket *b, nb;

	if (cfg->flags & LWT_XDP_CF_NO_SYN_LIMIT)
		return true;
	b = bpf_map_lookup_elem(&syn_buckets, src);
	if (!b) {
		nb.tat_ns = now + t;
		bpf_map_update_elem(&syn_buckets, src, &nb, BPF_ANY);
		return true;
	}
	tat = b->tat_ns > now ? b->tat_ns : now;
	if (tat + t - now > burst * t)
		return false;
	b->tat_ns = tat + t;
	return true;
}

static __always_inline bool to_listen_port(const struct lwt_xdp_config *cfg,
					   const struct pkt *p)
{
	if (!cfg->lport || p->key.lport != cfg->lport)
		return false;
	if (p->v6) {
		const __be32 *w = p->key.laddr.w;

		if (!(cfg->flags & LWT_XDP_CF_LISTEN6))
			return false;
		return !(cfg->flags & LWT_XDP_CF_LISTEN6_ADDR) ||
		       (w[0] ^ w[1] ^ w[2] ^ w[3]) == cfg->laddr6_fold;
	}
	if (cfg->flags & LWT_XDP_CF_NO_LISTEN4)
		return false;
	return !cfg->laddr || p->key.laddr.w[3] == cfg->laddr;
}

static __always_inline enum verdict classify(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct lwt_xdp_config *cfg;
	struct lwt_xdp_flow *fl;
	enum verdict v;
	__u32 off = 0, zero = 0;
	int proto;

	proto = parse_eth(data, data_end, &off);
	if (proto < 0)
		return V_TRUNC;
	if (proto == bpf_htons(ETH_P_IP))
		v = parse_ipv4(data, data_end, off, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		v = parse_ipv6(data, data_end, off, p);
	else
		return V_PASS;
	/* p->key.lport is set only once a whole TCP header was seen. */
	if (v != V_PASS || !p->key.lport)
		return v;

	fl = bpf_map_lookup_elem(&flows, &p->key);
	if (fl) {
		__sync_fetch_and_add(&fl->packets, 1);
		__sync_fetch_and_add(&fl->bytes, ctx->data_end - ctx->data);
		/* A plain store: any CPU's recent time will do for ageing. */
		fl->last_ns = bpf_ktime_get_ns();
		return V_FLOW;
	}
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !to_listen_port(cfg, p))
		return V_PASS;
	/* A SYN, or an ACK that may return a SYN cookie (the flow's first
	 * segments before its session is installed): to userspace, within
	 * the source's rate (one bucket for both). */
	if ((p->tcp_flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_ACK)
		return syn_allowed(cfg, &p->key.raddr) ? V_ACK : V_ACK_RATE;
	if ((p->tcp_flags & (TCPF_SYN | TCPF_ACK)) != TCPF_SYN)
		return V_UNKNOWN;
	return syn_allowed(cfg, &p->key.raddr) ? V_SYN : V_SYN_RATE;
}

SEC("xdp.frags")
int lwt_xdp(struct xdp_md *ctx)
{
	struct pkt p = {};
	struct lwt_xdp_stats *st;
	enum verdict v;
	__u32 zero = 0;
	long act;

	v = classify(ctx, &p);
	st = bpf_map_lookup_elem(&stats, &zero);
	if (!st)
		return XDP_PASS;
	st->rx_packets++;
	switch (v) {
	case V_UNKNOWN:
		st->dropped_unknown++;
		return XDP_DROP;
	case V_SYN_RATE:
		st->dropped_syn_rate++;
		return XDP_DROP;
	case V_ACK_RATE:
		st->dropped_ack_rate++;
		return XDP_DROP;
	case V_TRUNC:
		st->truncated++;
		break;
	case V_MALFORMED:
		st->malformed++;
		break;
	case V_FLOW:
	case V_SYN:
	case V_ACK:
		if (v == V_FLOW)
			st->flow_hits++;
		else if (v == V_SYN)
			st->syn_accepted++;
		else
			st->unknown_acks++;
		/* An empty slot (no socket on this queue) falls back to
		 * XDP_PASS: count what really happened. */
		act = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
		if (act == XDP_REDIRECT) {
			st->redirected++;
			return XDP_REDIRECT;
		}
		st->no_socket++;
		break;
	default:
		break;
	}
	st->passed++;
	return XDP_PASS;
}
