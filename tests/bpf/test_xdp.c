// SPDX-License-Identifier: MIT
/* The XDP classifier (bpf/lwt_xdp.bpf.c) on crafted frames through
 * bpf_prog_test_run_opts: verdicts, per-CPU counter sums, flow counters.
 * Loading the skeleton in the group setup is the "passes the verifier on
 * this kernel" test.
 *
 * Redirect verdicts, honestly: bpf_redirect_map(&xsks, q, XDP_PASS) returns
 * XDP_REDIRECT only when slot q holds a socket; with an empty slot it returns
 * the fallback, XDP_PASS, and the program counts no_socket. So the setup moves
 * the test into a private network namespace and binds a real AF_XDP socket to
 * its lo, queue 0 (the queue test_run reports), and puts it into xsks[0]:
 * tunnel segments then really come back as XDP_REDIRECT. (Test runs without
 * BPF_F_TEST_XDP_LIVE_FRAMES only report the verdict; nothing is delivered.)
 *
 * Every case whose frames include tunnel segments runs twice: "empty slot"
 * with xsks[0] empty (the fallback: XDP_PASS, counted no_socket), and
 * "socket" with the socket in xsks[0] (XDP_REDIRECT). Where no AF_XDP socket
 * can be had, the "socket" cases are cmocka skips, never passes; without the
 * privilege to make a namespace or load the program, every case is. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "../unit/testutil.h"
#include "lwt/xdp.h"
#include "lwt_xdp.skel.h"
#include "netlink.h"

#define LPORT	5555
#define LADDR	"10.0.0.1"
#define RADDR	"10.0.0.2"
#define LADDR6	"fd00::1"
#define RADDR6	"fd00::2"
#define UMEM_FRAMES 64

static struct lwt_xdp_bpf *skel;
static int ncpus;
/* Why nothing can run here (no privilege), or NULL. */
static char no_env[160];
/* The AF_XDP socket for xsks[0], if this machine could make one, and why not. */
static struct xsk_socket *xsk;
static char no_xsk[160];
/* The current case runs with the socket in xsks[0] (else the slot is empty). */
static bool slot_filled;
static struct xsk_umem *umem;
static void *umem_area;
static struct xsk_ring_prod fq;
static struct xsk_ring_cons cq, rxr;

/* --- frame building ----------------------------------------------------- */

struct spec {
	int vlans;		/* VLAN tags, 0..3 */
	__u16 outer_tpid;	/* first tag's TPID (0 = 802.1Q) */
	int v6;
	__u16 ethertype;	/* 0 = IPv4/IPv6 per v6; else raw (ARP) */
	__u8 proto;		/* 0 = TCP */
	int ihl;		/* IPv4 header words, 0 = 5 */
	int doff;		/* TCP header words, 0 = 8 */
	__u8 flags;		/* TCP flags */
	const char *src, *dst;	/* 0 = RADDR/LADDR (or the v6 ones) */
	__u16 sport, dport;	/* host order */
	int payload;
	__u16 frag;		/* IPv4 frag_off, host order */
};

/* Offsets of every header boundary of a built frame. */
struct layout {
	size_t l3, l4, l4_fixed_end, l4_end, len;
};

static __u32 csum_add(__u32 sum, const void *p, size_t len)
{
	const __u8 *b = p;

	for (; len > 1; len -= 2, b += 2)
		sum += (__u32)b[0] << 8 | b[1];
	if (len)
		sum += (__u32)b[0] << 8;
	return sum;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

/* Checksum of an L4 segment with the IPv4 or IPv6 pseudo-header. */
static __u16 l4_csum(const struct spec *s, const __u8 *l3, const __u8 *l4, size_t len,
		     __u8 proto)
{
	__u32 sum = 0;

	if (s->v6) {
		const struct ipv6hdr *ip6 = (const void *)l3;

		sum = csum_add(sum, &ip6->saddr, 32);
		sum += len >> 16;
		sum += len & 0xffff;
	} else {
		const struct iphdr *ip = (const void *)l3;

		sum = csum_add(sum, &ip->saddr, 8);
		sum += len;
	}
	sum += proto;
	return csum_fold(csum_add(sum, l4, len));
}

static size_t build_aligned(const struct spec *s, __u8 *buf, struct layout *lo);

/* Frames are built 2 bytes into an aligned buffer, as drivers receive them
 * (NET_IP_ALIGN), so that header structs are accessed aligned. */
static size_t build(const struct spec *s, __u8 *out, struct layout *lo)
{
	static __u8 scratch[2 + 512] __attribute__((aligned(8)));
	size_t len = build_aligned(s, scratch + 2, lo);

	memcpy(out, scratch + 2, len);
	return len;
}

static size_t build_aligned(const struct spec *s, __u8 *buf, struct layout *lo)
{
	static const __u8 dmac[6] = { 0x02, 0, 0, 0, 0, 1 }, smac[6] = { 0x02, 0, 0, 0, 0, 2 };
	__u8 proto = s->proto ? s->proto : IPPROTO_TCP;
	int ihl = s->ihl ? s->ihl : 5, doff = s->doff ? s->doff : 8, i;
	size_t off = 12, l4len;
	__u8 *l3, *l4;

	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	for (i = 0; i < s->vlans; i++) {
		__u16 tpid = i == 0 && s->outer_tpid ? s->outer_tpid : ETH_P_8021Q;

		*(__be16 *)(buf + off) = htons(tpid);
		*(__be16 *)(buf + off + 2) = htons(100 + i);	/* VID */
		off += 4;
	}
	*(__be16 *)(buf + off) = htons(s->ethertype ? s->ethertype :
				      s->v6 ? ETH_P_IPV6 : ETH_P_IP);
	off += 2;
	lo->l3 = off;
	l3 = buf + off;
	if (s->ethertype == ETH_P_ARP) {
		static const __u8 arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2,
					      10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1 };

		memcpy(l3, arp, sizeof(arp));
		lo->l4 = lo->l4_fixed_end = lo->l4_end = lo->len = off + sizeof(arp);
		return lo->len;
	}
	if (s->v6) {
		struct ipv6hdr *ip6 = (void *)l3;

		memset(ip6, 0, sizeof(*ip6));
		ip6->version = 6;
		ip6->nexthdr = proto;
		ip6->hop_limit = 64;
		inet_pton(AF_INET6, s->src ? s->src : RADDR6, &ip6->saddr);
		inet_pton(AF_INET6, s->dst ? s->dst : LADDR6, &ip6->daddr);
		off += sizeof(*ip6);
	} else {
		struct iphdr *ip = (void *)l3;

		memset(ip, 0, ihl * 4);
		ip->version = 4;
		ip->ihl = ihl;
		ip->ttl = 64;
		ip->protocol = proto;
		ip->frag_off = htons(s->frag ? s->frag : 0x4000);
		ip->id = htons(0x1234);
		inet_pton(AF_INET, s->src ? s->src : RADDR, &ip->saddr);
		inet_pton(AF_INET, s->dst ? s->dst : LADDR, &ip->daddr);
		memset(l3 + sizeof(*ip), 1, ihl * 4 - sizeof(*ip));	/* NOP options */
		off += ihl * 4;
	}
	lo->l4 = off;
	l4 = buf + off;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		memset(th, 0, doff * 4);
		th->source = htons(s->sport ? s->sport : 40000);
		th->dest = htons(s->dport ? s->dport : LPORT);
		th->seq = htonl(0x11223344);
		th->ack_seq = htonl(s->flags & 0x10 ? 0x55667788 : 0);
		th->doff = doff;
		((__u8 *)th)[13] = s->flags;
		th->window = htons(65535);
		memset(l4 + sizeof(*th), 1, doff * 4 - sizeof(*th));	/* NOP options */
		lo->l4_fixed_end = off + sizeof(*th);
		off += doff * 4;
	} else if (proto == IPPROTO_UDP) {
		lo->l4_fixed_end = off + sizeof(struct udphdr);
		off += sizeof(struct udphdr);
	} else {
		struct icmphdr *ic = (void *)l4;

		memset(ic, 0, sizeof(*ic));
		ic->type = ICMP_ECHO;
		ic->un.echo.id = htons(7);
		lo->l4_fixed_end = off + sizeof(*ic);
		off += sizeof(*ic);
	}
	lo->l4_end = off;
	for (i = 0; i < s->payload; i++)
		buf[off++] = (__u8)i;
	l4len = off - lo->l4;
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = (void *)l4;

		uh->source = htons(s->sport ? s->sport : 40000);
		uh->dest = htons(s->dport ? s->dport : LPORT);
		uh->len = htons(l4len);
		uh->check = 0;
		uh->check = l4_csum(s, l3, l4, l4len, proto);
	} else if (proto == IPPROTO_TCP) {
		((struct tcphdr *)l4)->check = l4_csum(s, l3, l4, l4len, proto);
	} else {
		((struct icmphdr *)l4)->checksum = csum_fold(csum_add(0, l4, l4len));
	}
	if (s->v6) {
		((struct ipv6hdr *)l3)->payload_len = htons(l4len);
	} else {
		struct iphdr *ip = (void *)l3;

		ip->tot_len = htons(off - lo->l3);
		ip->check = csum_fold(csum_add(0, ip, ihl * 4));
	}
	lo->len = off;
	return off;
}

/* --- running and counting ------------------------------------------------ */

static int run_len(const __u8 *frame, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.lwt_xdp), &opts);

	return err ? err : (int)opts.retval;
}

static int run(const struct spec *s)
{
	__u8 buf[512];
	struct layout lo;

	return run_len(buf, build(s, buf, &lo));
}

static struct lwt_xdp_stats stats_sum(void)
{
	struct lwt_xdp_stats per[ncpus], sum = {};
	__u32 zero = 0;
	int c;
	size_t f, nf = sizeof(sum) / sizeof(__u64);

	assert_int_equal(bpf_map__lookup_elem(skel->maps.stats, &zero, sizeof(zero), per,
					      sizeof(per), 0), 0);
	for (c = 0; c < ncpus; c++)
		for (f = 0; f < nf; f++)
			((__u64 *)&sum)[f] += ((__u64 *)&per[c])[f];
	/* Every frame ends in exactly one bucket. */
	assert_int_equal(sum.rx_packets, sum.redirected + sum.passed + sum.dropped_unknown +
			 sum.dropped_syn_rate + sum.dropped_ack_rate);
	return sum;
}

static void clear_map(struct bpf_map *m, size_t ksz)
{
	__u8 key[64], next[64];

	while (!bpf_map__get_next_key(m, NULL, next, ksz)) {
		memcpy(key, next, ksz);
		assert_int_equal(bpf_map__delete_elem(m, key, ksz, 0), 0);
	}
}

static void set_config(__be16 lport, const char *laddr, __u16 flags, __u32 rate, __u32 burst)
{
	struct lwt_xdp_config c = { .lport = lport, .flags = flags, .syn_rate = rate,
				    .syn_burst = burst };
	__u32 zero = 0;

	if (laddr)
		inet_pton(AF_INET, laddr, &c.laddr);
	assert_int_equal(bpf_map__update_elem(skel->maps.config, &zero, sizeof(zero), &c,
					      sizeof(c), 0), 0);
}

static void addr_parse(struct lwt_xdp_addr *a, const char *s)
{
	__be32 v4;

	if (inet_pton(AF_INET, s, &v4) == 1)
		lwt_xdp_addr_v4(a, v4);
	else
		assert_int_equal(inet_pton(AF_INET6, s, a), 1);
}

static struct lwt_xdp_flow_key flow_key(const char *r, __u16 rport, const char *l, __u16 lport)
{
	struct lwt_xdp_flow_key k = { .rport = htons(rport), .lport = htons(lport) };

	addr_parse(&k.raddr, r);
	addr_parse(&k.laddr, l);
	return k;
}

static void add_flow(const char *r, __u16 rport, const char *l, __u16 lport)
{
	struct lwt_xdp_flow_key k = flow_key(r, rport, l, lport);
	struct lwt_xdp_flow v = {};

	assert_int_equal(bpf_map__update_elem(skel->maps.flows, &k, sizeof(k), &v, sizeof(v),
					      BPF_NOEXIST), 0);
}

static struct lwt_xdp_flow flow_get(const char *r, __u16 rport, const char *l, __u16 lport)
{
	struct lwt_xdp_flow_key k = flow_key(r, rport, l, lport);
	struct lwt_xdp_flow v;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.flows, &k, sizeof(k), &v, sizeof(v),
					      0), 0);
	return v;
}

static int tunnel_verdict(void)
{
	return slot_filled ? XDP_REDIRECT : XDP_PASS;
}

/* Assert a tunnel segment's verdict and the counter it moved. */
static void expect_tunnel(const struct spec *s)
{
	struct lwt_xdp_stats a = stats_sum(), b;

	assert_int_equal(run(s), tunnel_verdict());
	b = stats_sum();
	assert_int_equal(b.rx_packets - a.rx_packets, 1);
	assert_int_equal(b.redirected - a.redirected, slot_filled ? 1 : 0);
	assert_int_equal(b.no_socket - a.no_socket, slot_filled ? 0 : 1);
}

static void expect_pass(const struct spec *s)
{
	struct lwt_xdp_stats a = stats_sum(), b;

	assert_int_equal(run(s), XDP_PASS);
	b = stats_sum();
	assert_int_equal(b.passed - a.passed, 1);
	assert_int_equal(b.redirected - a.redirected, 0);
	assert_int_equal(b.no_socket - a.no_socket, 0);
	assert_int_equal(b.flow_hits - a.flow_hits, 0);
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* bpf_ktime_get_ns()'s clock */
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* --- AF_XDP socket on the private lo ----------------------------------- */

static void xsk_open(void)
{
	struct xsk_socket_config cfg = {
		.rx_size = 64, .tx_size = 64,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	size_t sz = (size_t)UMEM_FRAMES * 4096;
	int err, lo;

	umem_area = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (umem_area == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	lo = lwt_nl_link_index("lo");
	if (lo > 0)
		lwt_nl_link_set_up(lo, true);
	err = xsk_umem__create(&umem, umem_area, sz, &fq, &cq, NULL);
	if (err)
		goto fail_unmap;
	err = xsk_socket__create(&xsk, "lo", 0, umem, &rxr, NULL, &cfg);
	if (err)
		goto fail_umem;
	return;

fail_umem:
	xsk_umem__delete(umem);
	umem = NULL;
fail_unmap:
	munmap(umem_area, sz);
fail:
	snprintf(no_xsk, sizeof(no_xsk), "no AF_XDP socket on lo: %s", strerror(err > 0 ? err : -err));
	fprintf(stderr, "SKIP: %s; the \"socket\" cases are skipped\n", no_xsk);
}

static void xsk_close(void)
{
	if (xsk)
		xsk_socket__delete(xsk);
	if (umem)
		xsk_umem__delete(umem);
	if (xsk || umem)
		munmap(umem_area, (size_t)UMEM_FRAMES * 4096);
	xsk = NULL;
	umem = NULL;
}

/* --- fixtures ----------------------------------------------------------- */

static int group_setup(void **state)
{
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		return -1;
	/* A private lo for the AF_XDP socket; nothing touches the host's. */
	if (unshare(CLONE_NEWNET)) {
		snprintf(no_env, sizeof(no_env), "no network namespace of our own: unshare: %s "
			 "(needs root)", strerror(errno));
		fprintf(stderr, "SKIP: %s\n", no_env);
		return 0;
	}
	skel = lwt_xdp_bpf__open_and_load();
	if (!skel && (errno == EPERM || errno == EACCES) && geteuid() != 0) {
		snprintf(no_env, sizeof(no_env), "couldn't load the XDP program: %s (needs root)",
			 strerror(errno));
		fprintf(stderr, "SKIP: %s\n", no_env);
		return 0;
	}
	if (!skel) {
		/* As root, a program that does not load is a failure (verifier). */
		fprintf(stderr, "couldn't load the XDP skeleton: %s\n", strerror(errno));
		return -1;
	}
	xsk_open();
	return 0;
}

static int group_teardown(void **state)
{
	xsk_close();
	if (skel)
		lwt_xdp_bpf__destroy(skel);
	return 0;
}

/* Each test starts from empty maps and the default server config, with
 * xsks[0] empty or holding the socket as its group says. */
static int setup(void **state, bool want_socket)
{
	struct lwt_xdp_stats zero_stats[ncpus];
	__u32 zero = 0;

	slot_filled = false;
	if (no_env[0])
		return 0;	/* the case skips */
	if (want_socket && xsk) {
		assert_int_equal(xsk_socket__update_xskmap(xsk, bpf_map__fd(skel->maps.xsks)), 0);
		slot_filled = true;
	} else {
		int err = bpf_map__delete_elem(skel->maps.xsks, &zero, sizeof(zero), 0);

		assert_true(err == 0 || err == -ENOENT);
	}
	memset(zero_stats, 0, sizeof(zero_stats));
	assert_int_equal(bpf_map__update_elem(skel->maps.stats, &zero, sizeof(zero), zero_stats,
					      sizeof(zero_stats), 0), 0);
	clear_map(skel->maps.flows, sizeof(struct lwt_xdp_flow_key));
	clear_map(skel->maps.syn_buckets, sizeof(struct lwt_xdp_addr));
	set_config(htons(LPORT), LADDR, 0, 0, 0);
	return 0;
}

/* --- tests -------------------------------------------------------------- */

static void test_loaded(void **state)
{
	struct lwt_xdp_stats s = stats_sum();

	assert_true(bpf_program__fd(skel->progs.lwt_xdp) >= 0);
	assert_int_equal(bpf_program__type(skel->progs.lwt_xdp), BPF_PROG_TYPE_XDP);
	assert_int_equal(s.rx_packets, 0);
}

static void test_syn_to_listen_port(void **state)
{
	struct spec s = { .flags = 0x02 };
	struct lwt_xdp_stats st;

	expect_tunnel(&s);
	st = stats_sum();
	assert_int_equal(st.syn_accepted, 1);
	assert_int_equal(st.flow_hits, 0);
}

static void test_known_flow(void **state)
{
	struct spec s = { .flags = 0x18, .payload = 100 };
	struct layout lo;
	__u8 buf[512];
	struct lwt_xdp_flow f;

	add_flow(RADDR, 40000, LADDR, LPORT);
	expect_tunnel(&s);
	expect_tunnel(&s);
	f = flow_get(RADDR, 40000, LADDR, LPORT);
	assert_int_equal(f.packets, 2);
	assert_int_equal(f.bytes, 2 * build(&s, buf, &lo));
	assert_true(f.last_ns > 0);
	assert_int_equal(stats_sum().flow_hits, 2);
	/* A client's flow: not to a listen port at all. */
	set_config(0, NULL, 0, 0, 0);
	add_flow("192.0.2.7", 443, LADDR, 33000);
	s = (struct spec){ .src = "192.0.2.7", .sport = 443, .dport = 33000, .flags = 0x10 };
	expect_tunnel(&s);
	s.sport = 444;
	expect_pass(&s);
}

/* To the listen port, of no flow: an ACK (with or without data, PSH, FIN)
 * may return a SYN cookie and goes to userspace (unknown_acks); a SYN-ACK,
 * a RST, a bare FIN or no flags at all is dropped. */
static void test_unknown_to_listen_port(void **state)
{
	static const __u8 drop[] = { 0x12, 0x04, 0x14, 0x11 | 0x04, 0x01, 0x00, 0x16 };
	static const __u8 ack[] = { 0x10, 0x18, 0x11, 0x19, 0x30 };
	struct lwt_xdp_stats st;
	size_t i;

	for (i = 0; i < sizeof(drop); i++) {
		struct spec s = { .flags = drop[i], .payload = 10 };

		assert_int_equal(run(&s), XDP_DROP);
	}
	for (i = 0; i < sizeof(ack); i++)
		expect_tunnel(&(struct spec){ .flags = ack[i], .payload = 10, .sport = 30000 + i });
	st = stats_sum();
	assert_int_equal(st.dropped_unknown, sizeof(drop));
	assert_int_equal(st.unknown_acks, sizeof(ack));
	assert_int_equal(st.flow_hits + st.syn_accepted, 0);
	assert_int_equal(st.rx_packets, sizeof(drop) + sizeof(ack));
	/* A known flow on the same port is a flow hit, and a RST on it passes. */
	add_flow(RADDR, 40000, LADDR, LPORT);
	expect_tunnel(&(struct spec){ .flags = 0x10 });
	expect_tunnel(&(struct spec){ .flags = 0x04 });
	assert_int_equal(stats_sum().flow_hits, 2);
	/* The listen address binds: another local address is not ours. */
	expect_pass(&(struct spec){ .flags = 0x04, .dst = "10.0.0.9" });
	/* Any address when laddr is 0. */
	set_config(htons(LPORT), NULL, 0, 0, 0);
	assert_int_equal(run(&(struct spec){ .flags = 0x04, .dst = "10.0.0.9" }), XDP_DROP);
}

/* ACKs of no flow share their source's bucket with its SYNs: a flood of
 * them reaches userspace up to the burst, the rest is dropped and counted;
 * another source is not held back; a known flow is never limited. */
static void test_ack_flood(void **state)
{
	int i, redirect = 0, drop = 0, refill;
	struct lwt_xdp_stats st;
	__u64 t0;

	set_config(htons(LPORT), LADDR, 0, 1, 32);
	t0 = mono_ns();
	for (i = 0; i < 16; i++)
		expect_tunnel(&(struct spec){ .flags = 0x02, .sport = 20000 + i });
	for (i = 0; i < 84; i++) {
		int v = run(&(struct spec){ .flags = 0x10, .sport = 21000 + i, .payload = 20 });

		if (v == XDP_DROP)
			drop++;
		else if (v == tunnel_verdict())
			redirect++;
	}
	refill = (int)((mono_ns() - t0) / 1000000000ull);
	assert_int_equal(redirect + drop, 84);
	assert_in_range(redirect, 16, 16 + refill);
	st = stats_sum();
	assert_int_equal(st.unknown_acks, redirect);
	assert_int_equal(st.dropped_ack_rate, drop);
	assert_int_equal(st.dropped_syn_rate + st.dropped_unknown, 0);
	/* Its SYNs are over the rate too now. */
	assert_int_equal(run(&(struct spec){ .flags = 0x02, .sport = 22000 }), XDP_DROP);
	assert_int_equal(stats_sum().dropped_syn_rate, 1);
	expect_tunnel(&(struct spec){ .flags = 0x10, .src = "10.0.0.3" });
	add_flow(RADDR, 40000, LADDR, LPORT);
	for (i = 0; i < 10; i++)
		expect_tunnel(&(struct spec){ .flags = 0x10 });
}

/* flows is an LRU map: flows past its size push out the oldest instead of
 * failing (a flood of learned flows could not lock a new session out). */
static void test_flows_lru(void **state)
{
	int i;

	assert_int_equal(bpf_map__type(skel->maps.flows), BPF_MAP_TYPE_LRU_HASH);
	for (i = 0; i < LWT_XDP_MAX_FLOWS + 100; i++) {
		struct lwt_xdp_flow_key k = { .lport = htons(LPORT), .rport = htons((__u16)i) };
		struct lwt_xdp_flow v = { .last_ns = 1 };

		addr_parse(&k.raddr, RADDR);
		addr_parse(&k.laddr, LADDR);
		assert_int_equal(bpf_map__update_elem(skel->maps.flows, &k, sizeof(k), &v,
						      sizeof(v), BPF_NOEXIST), 0);
	}
	add_flow(RADDR, 40000, LADDR, LPORT);
	expect_tunnel(&(struct spec){ .flags = 0x04 });
	assert_int_equal(stats_sum().flow_hits, 1);
}

static void test_not_ours(void **state)
{
	struct lwt_xdp_stats st;

	expect_pass(&(struct spec){ .flags = 0x18, .dport = 22, .payload = 5 });	/* other TCP */
	expect_pass(&(struct spec){ .flags = 0x02, .dport = 22 });
	expect_pass(&(struct spec){ .flags = 0x10, .sport = LPORT, .dport = 40000 });
	expect_pass(&(struct spec){ .proto = IPPROTO_UDP, .payload = 20 });		/* UDP */
	expect_pass(&(struct spec){ .proto = IPPROTO_ICMP, .payload = 56 });		/* ICMP */
	expect_pass(&(struct spec){ .ethertype = ETH_P_ARP });				/* ARP */
	expect_pass(&(struct spec){ .ethertype = 0x88cc, .proto = IPPROTO_UDP });	/* LLDP */
	expect_pass(&(struct spec){ .v6 = 1, .proto = IPPROTO_UDP, .payload = 8 });
	expect_pass(&(struct spec){ .v6 = 1, .proto = IPPROTO_ICMPV6 });
	/* A later IPv4 fragment of a listen-port segment is not parsed. */
	expect_pass(&(struct spec){ .flags = 0x10, .frag = 0x0010 });
	expect_pass(&(struct spec){ .flags = 0x10, .frag = 0x2000 });
	st = stats_sum();
	assert_int_equal(st.passed, 11);
	assert_int_equal(st.malformed, 2);
	assert_int_equal(st.truncated, 0);
	assert_int_equal(st.dropped_unknown + st.dropped_syn_rate, 0);
}

static void test_ipv6(void **state)
{
	struct spec data = { .v6 = 1, .flags = 0x18, .payload = 64 };

	/* Unknown IPv6 to the listen port: not ours unless LISTEN6. */
	expect_pass(&data);
	add_flow(RADDR6, 40000, LADDR6, LPORT);
	expect_tunnel(&data);
	assert_int_equal(flow_get(RADDR6, 40000, LADDR6, LPORT).packets, 1);
	data.sport = 40001;
	expect_pass(&data);
	set_config(htons(LPORT), LADDR, LWT_XDP_CF_LISTEN6, 0, 0);
	expect_tunnel(&data);			/* an ACK: may carry a cookie */
	assert_int_equal(stats_sum().unknown_acks, 1);
	assert_int_equal(run(&(struct spec){ .v6 = 1, .flags = 0x04, .sport = 40001 }), XDP_DROP);
	assert_int_equal(stats_sum().dropped_unknown, 1);
	expect_tunnel(&(struct spec){ .v6 = 1, .flags = 0x02, .sport = 40001 });
	/* A v4-mapped address on the wire must not alias the IPv4 flow. */
	add_flow(RADDR, 40000, LADDR, LPORT);
	expect_pass(&(struct spec){ .v6 = 1, .flags = 0x10, .src = "::ffff:" RADDR,
				    .dst = "::ffff:" LADDR });
	assert_int_equal(stats_sum().malformed, 1);
}

static void test_vlan(void **state)
{
	add_flow(RADDR, 40000, LADDR, LPORT);
	expect_tunnel(&(struct spec){ .vlans = 1, .flags = 0x10, .payload = 1 });
	expect_tunnel(&(struct spec){ .vlans = 2, .flags = 0x10 });
	expect_tunnel(&(struct spec){ .vlans = 2, .outer_tpid = ETH_P_8021AD, .flags = 0x10 });
	expect_tunnel(&(struct spec){ .vlans = 1, .outer_tpid = ETH_P_8021AD, .flags = 0x10 });
	expect_tunnel(&(struct spec){ .vlans = 2, .v6 = 0, .flags = 0x02, .sport = 1 });
	/* A third tag is beyond what we parse: the kernel gets it. */
	expect_pass(&(struct spec){ .vlans = 3, .flags = 0x10 });
	assert_int_equal(run(&(struct spec){ .vlans = 2, .flags = 0x04, .sport = 2 }), XDP_DROP);
	add_flow(RADDR6, 40000, LADDR6, LPORT);
	expect_tunnel(&(struct spec){ .vlans = 2, .v6 = 1, .flags = 0x10 });
	assert_int_equal(stats_sum().flow_hits, 5);
}

/* Every cut inside a header is truncated and passed; a cut in the payload
 * still classifies (the program does not trust tot_len). */
static void truncate_all(const struct spec *s, int tunnel)
{
	struct layout lo;
	__u8 buf[512];
	size_t len, full = build(s, buf, &lo);
	/* Only TCP headers are parsed past IP. */
	size_t hdr_end = s->proto == IPPROTO_UDP ? lo.l4 : lo.l4_end;

	/* test_run refuses frames shorter than an Ethernet header. */
	assert_int_equal(run_len(buf, ETH_HLEN - 1), -EINVAL);
	for (len = ETH_HLEN; len <= full; len++) {
		struct lwt_xdp_stats a = stats_sum(), b;
		int v = run_len(buf, len);

		b = stats_sum();
		if (len < hdr_end) {
			assert_int_equal(v, XDP_PASS);
			assert_int_equal(b.truncated - a.truncated, 1);
			assert_int_equal(b.passed - a.passed, 1);
		} else {
			assert_int_equal(v, tunnel ? tunnel_verdict() : XDP_PASS);
			assert_int_equal(b.truncated - a.truncated, 0);
		}
	}
}

static void test_truncated(void **state)
{
	int v;

	add_flow(RADDR, 40000, LADDR, LPORT);
	add_flow(RADDR6, 40000, LADDR6, LPORT);
	for (v = 0; v <= 2; v++) {
		truncate_all(&(struct spec){ .vlans = v, .flags = 0x10, .payload = 3 }, 1);
		truncate_all(&(struct spec){ .vlans = v, .ihl = 15, .doff = 15, .flags = 0x10,
					     .payload = 3 }, 1);
		truncate_all(&(struct spec){ .vlans = v, .v6 = 1, .doff = 11, .flags = 0x10,
					     .payload = 3 }, 1);
		/* UDP: only the IP header is checked. */
		truncate_all(&(struct spec){ .vlans = v, .proto = IPPROTO_UDP, .ihl = 7 }, 0);
	}
}

/* UDP cuts after the IP header are not truncation: nothing past IP is read. */
static void test_truncated_udp_payload(void **state)
{
	struct spec s = { .proto = IPPROTO_UDP, .payload = 10 };
	struct layout lo;
	__u8 buf[512];

	build(&s, buf, &lo);
	assert_int_equal(run_len(buf, lo.l4 + 2), XDP_PASS);
	assert_int_equal(stats_sum().truncated, 0);
	assert_int_equal(run_len(buf, lo.l4 - 1), XDP_PASS);
	assert_int_equal(stats_sum().truncated, 1);
}

static void test_data_offsets(void **state)
{
	int d;

	add_flow(RADDR, 40000, LADDR, LPORT);
	for (d = 5; d <= 15; d++) {
		expect_tunnel(&(struct spec){ .doff = d, .flags = 0x10, .payload = 7 });
		expect_tunnel(&(struct spec){ .doff = d, .ihl = 20 - d, .flags = 0x10 });
		assert_int_equal(run(&(struct spec){ .doff = d, .flags = 0x14, .sport = 1 }),
				 XDP_DROP);
	}
	/* doff 0..4 is no TCP header at all. */
	for (d = 0; d < 5; d++) {
		struct spec s = { .doff = 5, .flags = 0x10, .payload = 40 };
		struct layout lo;
		__u8 buf[512];
		size_t len = build(&s, buf, &lo);

		buf[lo.l4 + 12] = (__u8)(d << 4);
		assert_int_equal(run_len(buf, len), XDP_PASS);
	}
	assert_int_equal(stats_sum().malformed, 5);
	assert_int_equal(stats_sum().flow_hits, 22);
	assert_int_equal(stats_sum().dropped_unknown, 11);
}

static void test_bad_ihl(void **state)
{
	struct spec s = { .flags = 0x10, .payload = 40 };
	struct layout lo;
	__u8 buf[512];
	size_t len;
	int ihl;

	add_flow(RADDR, 40000, LADDR, LPORT);
	for (ihl = 0; ihl < 5; ihl++) {
		len = build(&s, buf, &lo);
		buf[lo.l3] = (__u8)(0x40 | ihl);
		assert_int_equal(run_len(buf, len), XDP_PASS);
	}
	assert_int_equal(stats_sum().malformed, 5);
	assert_int_equal(stats_sum().flow_hits, 0);
}

static void test_syn_flood(void **state)
{
	struct lwt_xdp_syn_bucket b;
	struct lwt_xdp_addr src;
	struct lwt_xdp_stats st;
	int i, redirect = 0, drop = 0, refill;
	__u64 t0;

	/* 1 SYN/s refill: the burst of 64 passes and, only if the flood took
	 * a second or more on a loaded machine, one more per whole second. */
	set_config(htons(LPORT), LADDR, LWT_XDP_CF_LISTEN6, 1, 64);
	t0 = mono_ns();
	for (i = 0; i < 100; i++) {
		int v = run(&(struct spec){ .flags = 0x02, .sport = 20000 + i });

		if (v == XDP_DROP)
			drop++;
		else if (v == tunnel_verdict())
			redirect++;
	}
	refill = (int)((mono_ns() - t0) / 1000000000ull);
	assert_int_equal(redirect + drop, 100);
	assert_in_range(redirect, 64, 64 + refill);
	st = stats_sum();
	assert_int_equal(st.syn_accepted, redirect);
	assert_int_equal(st.dropped_syn_rate, drop);
	/* Another source has its own bucket. */
	expect_tunnel(&(struct spec){ .flags = 0x02, .src = "10.0.0.3" });
	expect_tunnel(&(struct spec){ .v6 = 1, .flags = 0x02, .src = RADDR6 });
	/* The flooder's known flow is not rate limited. */
	add_flow(RADDR, 40000, LADDR, LPORT);
	expect_tunnel(&(struct spec){ .flags = 0x10 });
	addr_parse(&src, RADDR);
	assert_int_equal(bpf_map__lookup_elem(skel->maps.syn_buckets, &src, sizeof(src), &b,
					      sizeof(b), 0), 0);
	assert_true(b.tat_ns > 0);
	/* Without a limit nothing is dropped. */
	set_config(htons(LPORT), LADDR, LWT_XDP_CF_NO_SYN_LIMIT, 1, 1);
	for (i = 0; i < 10; i++)
		assert_int_equal(run(&(struct spec){ .flags = 0x02, .sport = 30000 + i }),
				 tunnel_verdict());
}

static void test_default_rate(void **state)
{
	int i, drop = 0, refill;
	__u64 t0 = mono_ns();

	/* Defaults (rate 32/s, burst 64, as numbers, not the header's macros):
	 * a flood of 200 passes the burst plus what refilled while it ran,
	 * one SYN per 1/32 s of the flood's own duration. */
	for (i = 0; i < 200; i++)
		drop += run(&(struct spec){ .flags = 0x02, .sport = 20000 + i }) == XDP_DROP;
	refill = (int)((mono_ns() - t0) * 32 / 1000000000ull);
	assert_in_range(200 - drop, 64, 64 + refill);
}

/* Emptying the slot under a running socket falls back; refilling it redirects. */
static void test_empty_slot_fallback(void **state)
{
	struct lwt_xdp_stats st;
	__u32 q = 0;

	assert_true(slot_filled);
	assert_int_equal(run(&(struct spec){ .flags = 0x02 }), XDP_REDIRECT);
	assert_int_equal(bpf_map__delete_elem(skel->maps.xsks, &q, sizeof(q), 0), 0);
	assert_int_equal(run(&(struct spec){ .flags = 0x02 }), XDP_PASS);
	st = stats_sum();
	assert_int_equal(st.no_socket, 1);
	assert_int_equal(st.passed, 1);
	assert_int_equal(st.redirected, 1);
	assert_int_equal(xsk_socket__update_xskmap(xsk, bpf_map__fd(skel->maps.xsks)), 0);
	assert_int_equal(run(&(struct spec){ .flags = 0x02 }), XDP_REDIRECT);
}

/* --- the case table ------------------------------------------------------ */

enum { ONCE, BOTH, SOCKET };	/* verdict-free; empty slot and socket; socket only */

static const struct xcase {
	const char *name;
	void (*fn)(void **state);
	int modes;
} cases[] = {
#define C(f, m) { #f, f, m }
	C(test_loaded, ONCE),
	C(test_syn_to_listen_port, BOTH),
	C(test_known_flow, BOTH),
	C(test_unknown_to_listen_port, BOTH),
	C(test_not_ours, ONCE),
	C(test_ipv6, BOTH),
	C(test_vlan, BOTH),
	C(test_truncated, BOTH),
	C(test_truncated_udp_payload, ONCE),
	C(test_data_offsets, BOTH),
	C(test_bad_ihl, ONCE),
	C(test_syn_flood, BOTH),
	C(test_ack_flood, BOTH),
	C(test_flows_lru, ONCE),
	C(test_default_rate, ONCE),
	C(test_empty_slot_fallback, SOCKET),
#undef C
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static int setup_empty(void **state) { return setup(state, false); }
static int setup_socket(void **state) { return setup(state, true); }

static void run_case(void **state)
{
	const struct xcase *c = *state;

	if (no_env[0]) {
		print_message("SKIP: %s\n", no_env);
		skip();
	}
	c->fn(state);
}

/* A case with the socket in xsks[0] where none could be had is skipped. */
static void run_socket_case(void **state)
{
	if (!no_env[0] && !xsk) {
		print_message("SKIP: %s\n", no_xsk);
		skip();
	}
	run_case(state);
}

int main(void)
{
	static char names[2 * NCASES][96];
	struct CMUnitTest tests[2 * NCASES];
	size_t i, n = 0;

	for (i = 0; i < NCASES; i++) {
		const struct xcase *c = &cases[i];

		if (c->modes == ONCE || c->modes == BOTH) {
			snprintf(names[n], sizeof(names[n]), "%s%s", c->name,
				 c->modes == BOTH ? " (empty slot: XDP_PASS)" : "");
			tests[n] = (struct CMUnitTest){ names[n], run_case, setup_empty, NULL,
							(void *)c };
			n++;
		}
		if (c->modes == BOTH || c->modes == SOCKET) {
			snprintf(names[n], sizeof(names[n]), "%s (socket: XDP_REDIRECT)", c->name);
			tests[n] = (struct CMUnitTest){ names[n], run_socket_case, setup_socket,
							NULL, (void *)c };
			n++;
		}
	}
	return _cmocka_run_group_tests("test_xdp", tests, n, group_setup, group_teardown);
}
