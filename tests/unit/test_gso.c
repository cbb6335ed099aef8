// SPDX-License-Identifier: MIT
/* TSO split and TCP coalescing for the vnet TUN: every segment of a 64 KiB
 * super-packet checked field by field against a plain RFC 1071 reference,
 * checksum completion, a numbered table of what may and may not be merged,
 * limits, and split -> coalesce giving back the original stream; TCP over
 * IPv6 likewise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "gso.h"

#define ISN 0xffff0000u		/* the stream wraps seq in the big tests */
#define MSS 1448
#define THL 32			/* TCP header with NOP,NOP,TS */
#define HDRS (20 + THL)

/* --- checking packets against the reference checksum (testutil.h) --- */

static size_t ip_hlen(const uint8_t *ip)
{
	return ip[0] >> 4 == 6 ? 40 : (ip[0] & 15) * 4u;
}

static uint32_t ref_pseudo(const uint8_t *ip, size_t l4len)
{
	bool v6 = ip[0] >> 4 == 6;
	uint32_t s = v6 ? ref_sum(ip + 8, 32, 0) : ref_sum(ip + 12, 8, 0);

	return s + (v6 ? ip[6] : ip[9]) + (uint32_t)l4len;
}

static bool ref_ip_ok(const uint8_t *ip)
{
	return ref_fold(ref_sum(ip, ip_hlen(ip), 0)) == 0xffff;
}

/* TCP or UDP checksum of the packet at ip, len bytes in all. */
static bool ref_l4_ok(const uint8_t *ip, size_t len)
{
	size_t h = ip_hlen(ip);

	return ref_fold(ref_sum(ip + h, len - h, ref_pseudo(ip, len - h))) == 0xffff;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) << 16 | rd16(p + 2); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, v >> 16); wr16(p + 2, v & 0xffff); }

/* Byte pos of the test stream: never constant, so a shifted chunk shows. */
static uint8_t stream_byte(uint32_t pos)
{
	return (uint8_t)(pos * 131 + (pos >> 9));
}

/* --- packet builder --- */

struct seg {
	uint32_t saddr, daddr;		/* network order */
	uint16_t sport, dport;
	uint32_t seq, ack, tsval;
	uint16_t id, window;
	uint8_t flags, ttl, tos;
	bool df, no_opts;
	size_t payload;
};

static struct seg seg_default(void)
{
	return (struct seg){
		.saddr = htonl(0x0a090001), .daddr = htonl(0x0a090002),
		.sport = 40000, .dport = 5201, .seq = ISN, .ack = 0x01020304,
		.tsval = 1000, .id = 0x4000, .window = 502, .flags = 0x10,
		.ttl = 64, .df = true, .payload = MSS,
	};
}

/* An IPv4/TCP packet with stream bytes for its seq and right checksums. */
static size_t build_tcp4(uint8_t *b, const struct seg *s)
{
	size_t thl = s->no_opts ? 20 : THL, len = 20 + thl + s->payload, i;
	uint8_t *t = b + 20;

	memset(b, 0, 20 + thl);
	b[0] = 0x45;
	b[1] = s->tos;
	wr16(b + 2, len);
	wr16(b + 4, s->id);
	b[6] = s->df ? 0x40 : 0;
	b[8] = s->ttl;
	b[9] = IPPROTO_TCP;
	memcpy(b + 12, &s->saddr, 4);
	memcpy(b + 16, &s->daddr, 4);
	wr16(b + 10, ~ref_fold(ref_sum(b, 20, 0)));
	wr16(t, s->sport);
	wr16(t + 2, s->dport);
	wr32(t + 4, s->seq);
	wr32(t + 8, s->ack);
	t[12] = (thl / 4) << 4;
	t[13] = s->flags;
	wr16(t + 14, s->window);
	if (!s->no_opts) {
		t[20] = t[21] = 1;
		t[22] = 8;
		t[23] = 10;
		wr32(t + 24, s->tsval);
		wr32(t + 28, 2000);
	}
	for (i = 0; i < s->payload; i++)
		t[thl + i] = stream_byte(s->seq - ISN + i);
	wr16(t + 16, ~ref_fold(ref_sum(t, thl + s->payload, ref_pseudo(b, thl + s->payload))));
	return len;
}

/* What the kernel's TSO hands a TUN: one packet, CHECKSUM_PARTIAL (the
 * pseudo-header sum in the TCP checksum field), hdr_len = its linear part. */
static size_t build_tso4(uint8_t *b, struct virtio_net_hdr *vh, const struct seg *s)
{
	size_t len = build_tcp4(b, s);

	wr16(b + 36, ref_fold(ref_pseudo(b, len - 20)));
	*vh = (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 128, .gso_size = MSS, .csum_start = 20, .csum_offset = 16,
	};
	return len;
}

/* The same segment over IPv6 (s->saddr/daddr fill the addresses' last
 * words; tos is the traffic class, ttl the hop limit; label the flow label). */
static size_t build_tcp6(uint8_t *b, const struct seg *s, uint32_t label)
{
	size_t thl = s->no_opts ? 20 : THL, len = 40 + thl + s->payload, i;
	uint8_t *t = b + 40;

	memset(b, 0, 40 + thl);
	wr32(b, 6u << 28 | (uint32_t)s->tos << 20 | (label & 0xfffff));
	wr16(b + 4, thl + s->payload);
	b[6] = IPPROTO_TCP;
	b[7] = s->ttl;
	b[8] = 0xfd;
	memcpy(b + 20, &s->saddr, 4);
	b[24] = 0xfd;
	memcpy(b + 36, &s->daddr, 4);
	wr16(t, s->sport);
	wr16(t + 2, s->dport);
	wr32(t + 4, s->seq);
	wr32(t + 8, s->ack);
	t[12] = (thl / 4) << 4;
	t[13] = s->flags;
	wr16(t + 14, s->window);
	if (!s->no_opts) {
		t[20] = t[21] = 1;
		t[22] = 8;
		t[23] = 10;
		wr32(t + 24, s->tsval);
		wr32(t + 28, 2000);
	}
	for (i = 0; i < s->payload; i++)
		t[thl + i] = stream_byte(s->seq - ISN + i);
	wr16(t + 16, ~ref_fold(ref_sum(t, thl + s->payload, ref_pseudo(b, thl + s->payload))));
	return len;
}

/* --- what the functions emit --- */

#define SINK_MAX 300

struct sink {
	int n;
	size_t used;
	size_t off[SINK_MAX], len[SINK_MAX];
	const uint8_t *ptr[SINK_MAX];
	uint8_t buf[1 << 19];
};

static void sink_emit(void *ctx, const uint8_t *p, size_t len)
{
	struct sink *k = ctx;

	assert_true(k->n < SINK_MAX && k->used + len <= sizeof(k->buf));
	memcpy(k->buf + k->used, p, len);
	k->ptr[k->n] = p;
	k->off[k->n] = k->used;
	k->len[k->n++] = len;
	k->used += len;
}

static uint8_t *sink_pkt(struct sink *k, int i) { return k->buf + k->off[i]; }

static struct sink *sink_new(void)
{
	struct sink *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	return k;
}

/* --- split --- */

static void check_split_tcp4(const struct seg *s, uint8_t gso_type)
{
	static uint8_t pkt[LWT_GSO_MAX_PKT];
	struct virtio_net_hdr vh;
	struct sink *k = sink_new();
	size_t len = build_tso4(pkt, &vh, s), payload = s->payload, sum = 0;
	int i, n, want = (payload + MSS - 1) / MSS;

	vh.gso_type = gso_type;
	n = lwt_gso_split(&vh, pkt, len, sink_emit, k);
	assert_int_equal(n, want);
	assert_int_equal(k->n, want);
	for (i = 0; i < n; i++) {
		uint8_t *p = sink_pkt(k, i), *t = p + 20;
		size_t clen = i + 1 < n ? MSS : payload - (size_t)i * MSS;
		uint8_t fl = s->flags;

		if (i)
			fl &= ~0x80;		/* CWR on the first only */
		if (i + 1 < n)
			fl &= ~0x09;		/* FIN, PSH on the last only */
		if (k->len[i] != HDRS + clen || rd16(p + 2) != HDRS + clen ||
		    rd16(p + 4) != (uint16_t)(s->id + i) || !(p[6] & 0x40) || !ref_ip_ok(p) ||
		    rd32(t + 4) != s->seq + (uint32_t)i * MSS || rd32(t + 8) != s->ack ||
		    t[13] != fl || rd32(t + 24) != s->tsval || !ref_l4_ok(p, k->len[i]))
			fail_msg("segment %d of %d: len %zu tot %u id %#x seq %#x flags %#x ip %d tcp %d",
				 i + 1, n, k->len[i], rd16(p + 2), rd16(p + 4), rd32(t + 4), t[13],
				 ref_ip_ok(p), ref_l4_ok(p, k->len[i]));
		for (size_t j = 0; j < clen; j++)
			if (t[THL + j] != stream_byte(s->seq - ISN + i * MSS + j))
				fail_msg("segment %d: payload byte %zu wrong", i + 1, j);
		sum += clen;
	}
	assert_int_equal(sum, payload);
	free(k);
}

static void test_split_64k(void **state)
{
	struct seg s = seg_default();

	/* 46 segments, the last of 323 bytes; seq and id both wrap. */
	s.payload = LWT_GSO_MAX_PKT - HDRS;
	s.seq = ISN + 0x1000;
	s.id = 0xfff0;
	s.flags = 0x10 | 0x08 | 0x01 | 0x80;	/* ACK PSH FIN CWR */
	check_split_tcp4(&s, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);
	/* An exact multiple of gso_size: the last segment is full. */
	s.payload = 10 * MSS;
	s.flags = 0x10 | 0x08;
	check_split_tcp4(&s, VIRTIO_NET_HDR_GSO_TCPV4);
	/* Shorter than gso_size: one segment, checksum finished. */
	s.payload = 100;
	check_split_tcp4(&s, VIRTIO_NET_HDR_GSO_TCPV4);
}

static void test_split_tcp6(void **state)
{
	static uint8_t pkt[4000];
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = 60, .gso_size = 1000, .csum_start = 40, .csum_offset = 16,
	};
	struct sink *k = sink_new();
	size_t len = 40 + 20 + 2500, i;
	int n;

	memset(pkt, 0, 60);
	pkt[0] = 0x60;
	wr16(pkt + 4, len - 40);
	pkt[6] = IPPROTO_TCP;
	pkt[7] = 64;
	for (i = 8; i < 40; i++)
		pkt[i] = (uint8_t)i;
	wr32(pkt + 44, 77);			/* seq */
	pkt[52] = 5 << 4;
	pkt[53] = 0x18;				/* ACK PSH */
	for (i = 60; i < len; i++)
		pkt[i] = stream_byte(i - 60);
	wr16(pkt + 56, ref_fold(ref_pseudo(pkt, len - 40)));
	n = lwt_gso_split(&vh, pkt, len, sink_emit, k);
	assert_int_equal(n, 3);
	for (int s = 0; s < n; s++) {
		uint8_t *p = sink_pkt(k, s);
		size_t clen = s < 2 ? 1000 : 500;

		assert_int_equal(k->len[s], 60 + clen);
		assert_int_equal(rd16(p + 4), 20 + clen);
		assert_int_equal(rd32(p + 44), 77 + s * 1000);
		assert_int_equal(p[53], s < 2 ? 0x10 : 0x18);
		assert_true(ref_l4_ok(p, k->len[s]));
		for (i = 0; i < clen; i++)
			assert_int_equal(p[60 + i], stream_byte(s * 1000 + i));
	}
	free(k);
}

/* GSO_NONE with NEEDS_CSUM: TCP and an odd-length UDP datagram, finished in
 * place and emitted from the caller's buffer. */
static void test_needs_csum(void **state)
{
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20 };
	struct sink *k = sink_new();
	struct seg s = seg_default();
	uint8_t pkt[2048];
	size_t len, i;

	s.payload = 777;
	len = build_tcp4(pkt, &s);
	wr16(pkt + 36, ref_fold(ref_pseudo(pkt, len - 20)));
	vh.csum_offset = 16;
	assert_false(ref_l4_ok(pkt, len));
	assert_int_equal(lwt_gso_split(&vh, pkt, len, sink_emit, k), 1);
	assert_ptr_equal(k->ptr[0], pkt);
	assert_true(ref_l4_ok(sink_pkt(k, 0), len));

	/* UDP, 8 + 101 bytes */
	memset(pkt, 0, 28);
	len = 20 + 8 + 101;
	pkt[0] = 0x45;
	wr16(pkt + 2, len);
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	wr32(pkt + 12, 0x0a090001);
	wr32(pkt + 16, 0x0a090002);
	wr16(pkt + 10, ~ref_fold(ref_sum(pkt, 20, 0)));
	wr16(pkt + 20, 53);
	wr16(pkt + 22, 5353);
	wr16(pkt + 24, len - 20);
	for (i = 28; i < len; i++)
		pkt[i] = stream_byte(i);
	wr16(pkt + 26, ref_fold(ref_pseudo(pkt, len - 20)));
	vh.csum_offset = 6;
	assert_int_equal(lwt_gso_split(&vh, pkt, len, sink_emit, k), 1);
	assert_true(ref_l4_ok(sink_pkt(k, 1), len));
	assert_int_not_equal(rd16(sink_pkt(k, 1) + 26), 0);

	/* No flags: left alone, byte for byte. */
	memcpy(pkt + 1000, pkt, len);
	vh.flags = 0;
	assert_int_equal(lwt_gso_split(&vh, pkt, len, sink_emit, k), 1);
	assert_memory_equal(sink_pkt(k, 2), pkt + 1000, len);
	free(k);
}

enum bad { B_NONE, B_TRUNC, B_V6, B_UDP, B_TOTLEN, B_DOFF4, B_DOFF_BIG, B_FRAG, B_EMPTY };

struct split_err {
	uint8_t gso_type, flags;
	uint16_t gso_size, csum_offset;
	enum bad bad;
	int err;
};

static const struct split_err split_errs[] = {
	{ 5, 0, MSS, 16, B_NONE, -EPROTONOSUPPORT },		/* 1: GSO_UDP_L4 */
	{ VIRTIO_NET_HDR_GSO_UDP, 0, MSS, 16, B_NONE, -EPROTONOSUPPORT },	/* 2: UFO */
	{ VIRTIO_NET_HDR_GSO_TCPV4, 1, 0, 16, B_NONE, -EINVAL },	/* 3: gso_size 0 */
	{ VIRTIO_NET_HDR_GSO_TCPV4, 1, MSS, 16, B_TRUNC, -EBADMSG },	/* 4: 30 bytes */
	{ VIRTIO_NET_HDR_GSO_TCPV4, 1, MSS, 16, B_V6, -EBADMSG },	/* 5: version 6 */
	{ VIRTIO_NET_HDR_GSO_TCPV4, 1, MSS, 16, B_UDP, -EPROTONOSUPPORT }, /* 6 */
	{ VIRTIO_NET_HDR_GSO_TCPV4, 1, MSS, 16, B_TOTLEN, -EBADMSG },	/* 7 */
	{ VIRTIO_NET_HDR_GSO_TCPV4, 1, MSS, 16, B_DOFF4, -EBADMSG },	/* 8 */
	{ VIRTIO_NET_HDR_GSO_TCPV4, 1, MSS, 16, B_DOFF_BIG, -EBADMSG },	/* 9 */
	{ VIRTIO_NET_HDR_GSO_TCPV4, 1, MSS, 16, B_FRAG, -EBADMSG },	/* 10 */
	{ VIRTIO_NET_HDR_GSO_TCPV6, 1, MSS, 16, B_NONE, -EBADMSG },	/* 11: an IPv4 packet */
	{ VIRTIO_NET_HDR_GSO_NONE, 1, 0, 60000, B_NONE, -EINVAL },	/* 12: csum past the end */
	{ VIRTIO_NET_HDR_GSO_NONE, 0, 0, 0, B_EMPTY, -EBADMSG },	/* 13: nothing */
};

static void test_split_errors(void **state)
{
	static uint8_t pkt[8192];

	for (size_t i = 0; i < sizeof(split_errs) / sizeof(split_errs[0]); i++) {
		const struct split_err *c = &split_errs[i];
		struct virtio_net_hdr vh = {
			.flags = c->flags, .gso_type = c->gso_type, .gso_size = c->gso_size,
			.csum_start = 20, .csum_offset = c->csum_offset,
		};
		struct seg s = seg_default();
		struct sink *k = sink_new();
		size_t len;
		int r;

		s.payload = 4000;
		len = build_tcp4(pkt, &s);
		switch (c->bad) {
		case B_TRUNC: len = 30; break;
		case B_V6: pkt[0] = 0x65; break;
		case B_UDP: pkt[9] = IPPROTO_UDP; break;
		case B_TOTLEN: wr16(pkt + 2, len - 1); break;
		case B_DOFF4: pkt[32] = 4 << 4; break;
		case B_DOFF_BIG: len = 20 + 30; break;
		case B_FRAG: pkt[6] |= 0x20; break;
		case B_EMPTY: len = 0; break;
		case B_NONE: break;
		}
		if (c->bad == B_DOFF_BIG)
			wr16(pkt + 2, len);
		r = lwt_gso_split(&vh, pkt, len, sink_emit, k);
		if (r != c->err || k->n)
			fail_msg("case %zu: got %d with %d emitted, want %d", i + 1, r, k->n, c->err);
		free(k);
	}
}

/* --- coalesce --- */

/* Check what flush emitted as entry i: a super-packet of segs segments of
 * gso_size payload (the last shorter), headers as the kernel wants them. */
static void check_super(struct sink *k, int i, int segs, size_t gso, uint32_t seq)
{
	uint8_t *b = sink_pkt(k, i), *p = b + LWT_VNET_HDR_LEN, fixed[LWT_GSO_MAX_PKT];
	struct virtio_net_hdr vh;
	size_t len = k->len[i] - LWT_VNET_HDR_LEN;
	uint16_t c;

	memcpy(&vh, b, sizeof(vh));
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.hdr_len, 20 + ((p[32] >> 4) * 4));
	assert_int_equal(vh.gso_size, gso);
	assert_int_equal(vh.csum_start, 20);
	assert_int_equal(vh.csum_offset, 16);
	assert_int_equal(rd16(p + 2), len);
	assert_true(ref_ip_ok(p));
	assert_int_equal(rd32(p + 24), seq);
	assert_int_equal((len - vh.hdr_len + gso - 1) / gso, segs);
	/* The field holds the pseudo-header sum; finishing it the way the
	 * kernel does (skb_checksum_help) must give a valid packet. */
	assert_int_equal(rd16(p + 36), ref_fold(ref_pseudo(p, len - 20)));
	memcpy(fixed, p, len);
	c = ~ref_fold(ref_sum(fixed + 20, len - 20, 0));
	wr16(fixed + 36, c);
	assert_true(ref_l4_ok(fixed, len));
}

static void test_gro_run(void **state)
{
	struct lwt_gro *g = lwt_gro_create();
	struct sink *k = sink_new();
	struct lwt_gro_stats st;
	struct seg s = seg_default();
	uint8_t pkt[2048];
	int i;

	assert_non_null(g);
	for (i = 0; i < 20; i++) {
		s.seq = ISN - 5 * MSS + i * MSS;	/* wraps on the way */
		s.id = 0xfffa + i;
		s.flags = i == 19 ? 0x18 : 0x10;
		assert_int_equal(lwt_gro_add(g, pkt, build_tcp4(pkt, &s)),
				 i ? LWT_GRO_MERGED : LWT_GRO_HELD);
	}
	assert_int_equal(lwt_gro_flush(g, sink_emit, k), 1);
	assert_int_equal(k->len[0], LWT_VNET_HDR_LEN + HDRS + 20 * MSS);
	check_super(k, 0, 20, MSS, ISN - 5 * MSS);
	assert_int_equal(sink_pkt(k, 0)[LWT_VNET_HDR_LEN + 33], 0x18);	/* PSH kept */
	assert_int_equal(rd16(sink_pkt(k, 0) + LWT_VNET_HDR_LEN + 4), 0xfffa);
	for (i = 0; i < 20 * MSS; i++)
		if (sink_pkt(k, 0)[LWT_VNET_HDR_LEN + HDRS + i] != stream_byte(i - 5 * MSS))
			fail_msg("payload byte %d", i);
	lwt_gro_get_stats(g, &st);
	assert_int_equal(st.merged, 19);
	assert_int_equal(st.super, 1);
	assert_int_equal(st.single, 0);
	/* Flushed means empty. */
	assert_int_equal(lwt_gro_flush(g, sink_emit, k), 0);
	lwt_gro_destroy(g);
	free(k);
}

enum mut {
	M_NONE, M_SEQ_GAP, M_SEQ_SAME, M_SPORT, M_DADDR, M_SYN, M_FIN, M_RST, M_URG, M_CWR,
	M_BIGGER, M_SMALLER, M_PSH, M_ACK, M_WINDOW, M_TSVAL, M_TTL, M_TOS, M_NO_OPTS,
	M_NODF, M_NODF_GAP, M_DF_ID_JUMP, M_BAD_TCP, M_BAD_IP, M_PURE_ACK,
};

struct gro_case {
	int n;			/* packets added */
	enum mut m[3];		/* what is odd about each */
	int emits[3];		/* segments in each packet written, in order */
	int bad_csum;
};

static const struct gro_case gro_cases[] = {
	{ 2, { M_NONE, M_NONE }, { 2 }, 0 },				/* 1 */
	{ 3, { M_NONE, M_NONE, M_NONE }, { 3 }, 0 },			/* 2 */
	{ 2, { M_NONE, M_SEQ_GAP }, { 1, 1 }, 0 },				/* 3: hole */
	{ 2, { M_NONE, M_SEQ_SAME }, { 1, 1 }, 0 },			/* 4: retransmit */
	{ 2, { M_NONE, M_SPORT }, { 1, 1 }, 0 },				/* 5: other flow */
	{ 2, { M_NONE, M_DADDR }, { 1, 1 }, 0 },				/* 6 */
	{ 2, { M_NONE, M_SYN }, { 1, 1 }, 0 },				/* 7 */
	{ 2, { M_NONE, M_FIN }, { 1, 1 }, 0 },				/* 8 */
	{ 2, { M_NONE, M_RST }, { 1, 1 }, 0 },				/* 9 */
	{ 2, { M_NONE, M_URG }, { 1, 1 }, 0 },				/* 10 */
	{ 2, { M_NONE, M_CWR }, { 1, 1 }, 0 },				/* 11 */
	{ 2, { M_NONE, M_BIGGER }, { 1, 1 }, 0 },				/* 12 */
	{ 3, { M_NONE, M_SMALLER, M_NONE }, { 2, 1 }, 0 },			/* 13: short ends it */
	{ 3, { M_NONE, M_PSH, M_NONE }, { 2, 1 }, 0 },			/* 14: PSH ends it */
	{ 2, { M_PSH, M_NONE }, { 1, 1 }, 0 },				/* 15: PSH head */
	{ 2, { M_NONE, M_ACK }, { 1, 1 }, 0 },				/* 16 */
	{ 2, { M_NONE, M_WINDOW }, { 1, 1 }, 0 },				/* 17 */
	{ 2, { M_NONE, M_TSVAL }, { 1, 1 }, 0 },				/* 18 */
	{ 2, { M_NONE, M_TTL }, { 1, 1 }, 0 },				/* 19 */
	{ 2, { M_NONE, M_TOS }, { 1, 1 }, 0 },				/* 20: ECN CE */
	{ 2, { M_NONE, M_NO_OPTS }, { 1, 1 }, 0 },				/* 21 */
	{ 2, { M_NODF, M_NODF }, { 2 }, 0 },				/* 22: id +1 */
	{ 2, { M_NODF, M_NODF_GAP }, { 1, 1 }, 0 },			/* 23 */
	{ 2, { M_NONE, M_DF_ID_JUMP }, { 2 }, 0 },				/* 24: DF: id free */
	{ 2, { M_NONE, M_BAD_TCP }, { 1, 1 }, 1 },			/* 25 */
	{ 3, { M_BAD_TCP, M_NONE, M_NONE }, { 1, 2 }, 1 },		/* 26: bad head */
	{ 2, { M_NONE, M_BAD_IP }, { 1, 1 }, 0 },				/* 27 */
	{ 3, { M_NONE, M_PURE_ACK, M_NONE }, { 1, 1, 1 }, 0 },		/* 28: keeps order */
	{ 2, { M_NODF, M_NONE }, { 1, 1 }, 0 },				/* 29: DF differs */
	{ 3, { M_NODF, M_NODF, M_NODF }, { 3 }, 0 },			/* 30: id +1, +2 */
};

static void mutate(struct seg *s, enum mut m)
{
	switch (m) {
	case M_SEQ_GAP: s->seq += MSS; break;
	case M_SEQ_SAME: s->seq -= MSS; break;
	case M_SPORT: s->sport++; break;
	case M_DADDR: s->daddr ^= htonl(1); break;
	case M_SYN: s->flags |= 0x02; break;
	case M_FIN: s->flags |= 0x01; break;
	case M_RST: s->flags |= 0x04; break;
	case M_URG: s->flags |= 0x20; break;
	case M_CWR: s->flags |= 0x80; break;
	case M_BIGGER: s->payload = MSS + 1; break;
	case M_SMALLER: s->payload = 1000; break;
	case M_PSH: s->flags |= 0x08; break;
	case M_ACK: s->ack++; break;
	case M_WINDOW: s->window++; break;
	case M_TSVAL: s->tsval++; break;
	case M_TTL: s->ttl--; break;
	case M_TOS: s->tos = 3; break;
	case M_NO_OPTS: s->no_opts = true; break;
	case M_NODF: s->df = false; break;
	case M_NODF_GAP: s->df = false; s->id += 5; break;
	case M_DF_ID_JUMP: s->id += 100; break;
	case M_PURE_ACK: s->payload = 0; break;
	default: break;
	}
}

static void test_gro_table(void **state)
{
	struct lwt_gro *g = lwt_gro_create();
	static uint8_t pkts[3][2048];

	assert_non_null(g);
	for (size_t c = 0; c < sizeof(gro_cases) / sizeof(gro_cases[0]); c++) {
		const struct gro_case *gc = &gro_cases[c];
		struct lwt_gro_stats before, after;
		struct sink *k = sink_new();
		struct seg s[3];
		size_t len[3];
		int i, e, first;

		lwt_gro_get_stats(g, &before);
		for (i = 0; i < gc->n; i++) {
			s[i] = seg_default();
			if (i) {
				s[i].seq = s[i - 1].seq + s[i - 1].payload;
				s[i].id = s[i - 1].id + 1;
			}
			mutate(&s[i], gc->m[i]);
			len[i] = build_tcp4(pkts[i], &s[i]);
			if (gc->m[i] == M_BAD_TCP)
				pkts[i][60] ^= 0x55;
			if (gc->m[i] == M_BAD_IP)
				pkts[i][10] ^= 0x55;
			if (lwt_gro_add(g, pkts[i], len[i]) < 0)
				fail_msg("case %zu: packet %d refused", c + 1, i + 1);
		}
		lwt_gro_flush(g, sink_emit, k);
		lwt_gro_get_stats(g, &after);
		for (e = 0, first = 0; e < 3 && gc->emits[e]; first += gc->emits[e++]) {
			uint8_t *b;

			if (e >= k->n)
				fail_msg("case %zu: %d packets written, want more", c + 1, k->n);
			b = sink_pkt(k, e);
			if (gc->emits[e] == 1) {
				/* Written as added, with a zero vnet header. */
				static const uint8_t zero[LWT_VNET_HDR_LEN];

				if (k->len[e] != LWT_VNET_HDR_LEN + len[first] ||
				    memcmp(b, zero, sizeof(zero)) ||
				    memcmp(b + LWT_VNET_HDR_LEN, pkts[first], len[first]))
					fail_msg("case %zu: packet %d not written as packet %d",
						 c + 1, e + 1, first + 1);
			} else {
				check_super(k, e, gc->emits[e], s[first].payload, s[first].seq);
			}
		}
		if (k->n != e)
			fail_msg("case %zu: %d packets written, want %d", c + 1, k->n, e);
		if (after.bad_csum - before.bad_csum != (uint64_t)gc->bad_csum)
			fail_msg("case %zu: bad_csum +%llu", c + 1,
				 (unsigned long long)(after.bad_csum - before.bad_csum));
		free(k);
	}
	lwt_gro_destroy(g);
}

/* Two flows interleaved with UDP and IPv6: each flow one super-packet, the
 * others untouched, everything in order of first arrival. */
static void test_gro_mixed(void **state)
{
	struct lwt_gro *g = lwt_gro_create();
	struct sink *k = sink_new();
	struct seg a = seg_default(), b = seg_default();
	uint8_t pkt[2048], udp[60] = { 0x45 }, v6[80] = { 0x60 };
	int i;

	b.sport = 40001;
	b.seq = ISN + 0x100000;
	wr16(udp + 2, sizeof(udp));
	udp[9] = IPPROTO_UDP;
	wr16(v6 + 4, sizeof(v6) - 40);
	v6[6] = IPPROTO_TCP;
	for (i = 0; i < 4; i++) {
		lwt_gro_add(g, pkt, build_tcp4(pkt, &a));
		if (i == 1)
			assert_int_equal(lwt_gro_add(g, udp, sizeof(udp)), LWT_GRO_HELD);
		lwt_gro_add(g, pkt, build_tcp4(pkt, &b));
		if (i == 2)
			assert_int_equal(lwt_gro_add(g, v6, sizeof(v6)), LWT_GRO_HELD);
		a.seq += MSS;
		b.seq += MSS;
		a.id++;
		b.id++;
	}
	assert_int_equal(lwt_gro_flush(g, sink_emit, k), 4);
	check_super(k, 0, 4, MSS, ISN);
	check_super(k, 1, 4, MSS, ISN + 0x100000);
	assert_int_equal(k->len[2], LWT_VNET_HDR_LEN + sizeof(udp));
	assert_memory_equal(sink_pkt(k, 2) + LWT_VNET_HDR_LEN, udp, sizeof(udp));
	assert_int_equal(k->len[3], LWT_VNET_HDR_LEN + sizeof(v6));
	assert_memory_equal(sink_pkt(k, 3) + LWT_VNET_HDR_LEN, v6, sizeof(v6));
	lwt_gro_destroy(g);
	free(k);
}

static void test_gro_limits(void **state)
{
	struct lwt_gro *g = lwt_gro_create();
	struct sink *k = sink_new();
	struct seg s = seg_default();
	uint8_t pkt[2048];
	int i, per = (LWT_GSO_MAX_PKT - HDRS) / MSS;	/* 45 */

	/* 64 KiB: the 46th segment starts a second super-packet. */
	for (i = 0; i < 50; i++) {
		lwt_gro_add(g, pkt, build_tcp4(pkt, &s));
		s.seq += MSS;
		s.id++;
	}
	assert_int_equal(lwt_gro_flush(g, sink_emit, k), 2);
	check_super(k, 0, per, MSS, ISN);
	check_super(k, 1, 50 - per, MSS, ISN + per * MSS);

	/* LWT_GRO_FLOWS flows at once; one more is written as it came. */
	for (i = 0; i <= LWT_GRO_FLOWS; i++) {
		s = seg_default();
		s.sport = 1000 + i;
		assert_int_equal(lwt_gro_add(g, pkt, build_tcp4(pkt, &s)), LWT_GRO_HELD);
		s.seq += MSS;
		s.id++;
		assert_int_equal(lwt_gro_add(g, pkt, build_tcp4(pkt, &s)),
				 i < LWT_GRO_FLOWS ? LWT_GRO_MERGED : LWT_GRO_HELD);
	}
	assert_int_equal(lwt_gro_flush(g, sink_emit, k), LWT_GRO_FLOWS + 2);

	/* LWT_GRO_PKTS packets, then -ENOBUFS until a flush. */
	memset(pkt, 0, 100);
	pkt[0] = 0x45;
	pkt[9] = IPPROTO_UDP;
	for (i = 0; i < LWT_GRO_PKTS; i++)
		assert_int_equal(lwt_gro_add(g, pkt, 100), LWT_GRO_HELD);
	assert_int_equal(lwt_gro_add(g, pkt, 100), -ENOBUFS);
	assert_int_equal(lwt_gro_flush(g, sink_emit, k), LWT_GRO_PKTS);
	assert_int_equal(lwt_gro_add(g, pkt, 100), LWT_GRO_HELD);
	/* The backlog in bytes. */
	lwt_gro_flush(g, sink_emit, k);
	for (i = 0; i < LWT_GRO_BACKLOG / (LWT_VNET_HDR_LEN + 2000); i++)
		assert_int_equal(lwt_gro_add(g, pkt, 2000), LWT_GRO_HELD);
	assert_int_equal(lwt_gro_add(g, pkt, 2000), -ENOBUFS);
	lwt_gro_flush(g, sink_emit, k);
	assert_int_equal(lwt_gro_add(g, pkt, 0), -EMSGSIZE);
	assert_int_equal(lwt_gro_add(g, pkt, LWT_GSO_MAX_PKT + 1), -EMSGSIZE);
	lwt_gro_destroy(g);
	free(k);
}

/* check_super for an IPv6 super-packet. */
static void check_super6(struct sink *k, int i, int segs, size_t gso, uint32_t seq)
{
	uint8_t *b = sink_pkt(k, i), *p = b + LWT_VNET_HDR_LEN, fixed[LWT_GSO_MAX_PKT];
	struct virtio_net_hdr vh;
	size_t len = k->len[i] - LWT_VNET_HDR_LEN;

	memcpy(&vh, b, sizeof(vh));
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(vh.hdr_len, 40 + ((p[52] >> 4) * 4));
	assert_int_equal(vh.gso_size, gso);
	assert_int_equal(vh.csum_start, 40);
	assert_int_equal(vh.csum_offset, 16);
	assert_int_equal(rd16(p + 4), len - 40);
	assert_int_equal(rd32(p + 44), seq);
	assert_int_equal((len - vh.hdr_len + gso - 1) / gso, segs);
	assert_int_equal(rd16(p + 56), ref_fold(ref_pseudo(p, len - 40)));
	memcpy(fixed, p, len);
	wr16(fixed + 56, ~ref_fold(ref_sum(fixed + 40, len - 40, 0)));
	assert_true(ref_l4_ok(fixed, len));
}

/* TCP over IPv6 is coalesced like IPv4: 20 in-order segments, one
 * super-packet with its payload length, GSO_TCPV6 and the stream intact. */
static void test_gro_run6(void **state)
{
	struct lwt_gro *g = lwt_gro_create();
	struct sink *k = sink_new();
	struct seg s = seg_default();
	uint8_t pkt[2048], *p;
	int i;

	assert_non_null(g);
	for (i = 0; i < 20; i++) {
		s.seq = ISN - 5 * MSS + i * MSS;
		s.flags = i == 19 ? 0x18 : 0x10;
		assert_int_equal(lwt_gro_add(g, pkt, build_tcp6(pkt, &s, 0x12345)),
				 i ? LWT_GRO_MERGED : LWT_GRO_HELD);
	}
	assert_int_equal(lwt_gro_flush(g, sink_emit, k), 1);
	assert_int_equal(k->len[0], LWT_VNET_HDR_LEN + 40 + THL + 20 * MSS);
	check_super6(k, 0, 20, MSS, ISN - 5 * MSS);
	p = sink_pkt(k, 0) + LWT_VNET_HDR_LEN;
	assert_int_equal(rd32(p), 6u << 28 | 0x12345);
	assert_int_equal(p[53], 0x18);
	for (i = 0; i < 20 * MSS; i++)
		if (p[40 + THL + i] != stream_byte(i - 5 * MSS))
			fail_msg("payload byte %d", i);
	lwt_gro_destroy(g);
	free(k);
}

/* What ends or refuses an IPv6 merge: each case adds a clean head and a
 * second segment changed one way; merged (1 packet) or not (2). */
static void test_gro_table6(void **state)
{
	enum { C_NONE, C_LABEL, C_TCLASS, C_HOPS, C_SADDR, C_DPORT, C_GAP, C_BAD_TCP,
	       C_EXTHDR, C_PLEN, C_V4 };
	static const struct { int c; int want; } cases[] = {
		{ C_NONE, 1 }, { C_LABEL, 2 }, { C_TCLASS, 2 }, { C_HOPS, 2 }, { C_SADDR, 2 },
		{ C_DPORT, 2 }, { C_GAP, 2 }, { C_BAD_TCP, 2 }, { C_EXTHDR, 2 }, { C_PLEN, 2 },
		{ C_V4, 2 },
	};
	struct lwt_gro *g = lwt_gro_create();
	static uint8_t a[2048], b[2048];

	assert_non_null(g);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct sink *k = sink_new();
		struct seg s = seg_default(), t;
		uint32_t label = 0xabcde;
		size_t la = build_tcp6(a, &s, label), lb;

		t = s;
		t.seq += MSS;
		switch (cases[c].c) {
		case C_LABEL: label ^= 1; break;
		case C_TCLASS: t.tos = 3; break;
		case C_HOPS: t.ttl--; break;
		case C_SADDR: t.saddr ^= htonl(1); break;
		case C_DPORT: t.dport++; break;
		case C_GAP: t.seq += 1; break;
		default: break;
		}
		lb = cases[c].c == C_V4 ? build_tcp4(b, &t) : build_tcp6(b, &t, label);
		if (cases[c].c == C_BAD_TCP)
			b[100] ^= 0x55;
		if (cases[c].c == C_EXTHDR)
			b[6] = 0;		/* hop-by-hop options first */
		if (cases[c].c == C_PLEN)
			wr16(b + 4, rd16(b + 4) - 1);
		assert_int_equal(lwt_gro_add(g, a, la), LWT_GRO_HELD);
		assert_true(lwt_gro_add(g, b, lb) >= 0);
		if (lwt_gro_flush(g, sink_emit, k) != cases[c].want)
			fail_msg("case %zu: %d packets written, want %d", c + 1, k->n, cases[c].want);
		if (cases[c].want == 1)
			check_super6(k, 0, 2, MSS, s.seq);
		free(k);
	}
	lwt_gro_destroy(g);
}

struct rt {
	struct lwt_gro *g;
	int segs;
};

static void rt_add(void *ctx, const uint8_t *p, size_t len)
{
	struct rt *r = ctx;

	assert_true(lwt_gro_add(r->g, p, len) >= 0);
	r->segs++;
}

/* What the sender's kernel handed lwt, split, carried, coalesced: the
 * receiver's kernel gets the same stream in one write. */
static void test_roundtrip(void **state)
{
	static uint8_t pkt[LWT_GSO_MAX_PKT];
	struct rt r = { .g = lwt_gro_create() };
	struct sink *k = sink_new();
	struct virtio_net_hdr vh;
	struct seg s = seg_default();
	size_t len, i;
	uint8_t *p;

	assert_non_null(r.g);
	s.payload = LWT_GSO_MAX_PKT - HDRS;
	s.flags = 0x18;
	len = build_tso4(pkt, &vh, &s);
	assert_int_equal(lwt_gso_split(&vh, pkt, len, rt_add, &r), 46);
	assert_int_equal(lwt_gro_flush(r.g, sink_emit, k), 1);
	assert_int_equal(k->len[0], LWT_VNET_HDR_LEN + len);
	check_super(k, 0, 46, MSS, ISN);
	p = sink_pkt(k, 0) + LWT_VNET_HDR_LEN;
	assert_int_equal(rd16(p + 4), s.id);
	assert_int_equal(p[33], 0x18);
	for (i = 0; i < s.payload; i++)
		if (p[HDRS + i] != stream_byte(i))
			fail_msg("payload byte %zu", i);
	lwt_gro_destroy(r.g);
	free(k);
}

/* The same for TCP over IPv6: a 64 KiB TSO6 read, split, coalesced back
 * into one GSO_TCPV6 write. */
static void test_roundtrip6(void **state)
{
	static uint8_t pkt[LWT_GSO_MAX_PKT];
	struct rt r = { .g = lwt_gro_create() };
	struct sink *k = sink_new();
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = 128, .gso_size = MSS, .csum_start = 40, .csum_offset = 16,
	};
	struct seg s = seg_default();
	size_t len, i;
	int n;

	assert_non_null(r.g);
	s.payload = LWT_GSO_MAX_PKT - 40 - THL;
	s.flags = 0x18;
	len = build_tcp6(pkt, &s, 7);
	wr16(pkt + 56, ref_fold(ref_pseudo(pkt, len - 40)));
	n = lwt_gso_split(&vh, pkt, len, rt_add, &r);
	assert_int_equal(n, (int)((s.payload + MSS - 1) / MSS));
	assert_int_equal(lwt_gro_flush(r.g, sink_emit, k), 1);
	assert_int_equal(k->len[0], LWT_VNET_HDR_LEN + len);
	check_super6(k, 0, n, MSS, ISN);
	for (i = 0; i < s.payload; i++)
		if (sink_pkt(k, 0)[LWT_VNET_HDR_LEN + 40 + THL + i] != stream_byte(i))
			fail_msg("payload byte %zu", i);
	lwt_gro_destroy(r.g);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_64k),
		cmocka_unit_test(test_split_tcp6),
		cmocka_unit_test(test_needs_csum),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_gro_run),
		cmocka_unit_test(test_gro_table),
		cmocka_unit_test(test_gro_mixed),
		cmocka_unit_test(test_gro_limits),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_gro_run6),
		cmocka_unit_test(test_gro_table6),
		cmocka_unit_test(test_roundtrip6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
