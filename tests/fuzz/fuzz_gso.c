// SPDX-License-Identifier: MIT
/* libFuzzer target: TSO segmentation of vnet TUN reads (lwt_gso_split) and
 * TCP coalescing for vnet TUN writes (lwt_gro_add/lwt_gro_flush). Input:
 * a struct virtio_net_hdr (10 bytes) and the packet the TUN would return
 * after it; the first byte of the header doubles as a switch that makes
 * the packet a well-formed TCP/IPv4 one (fixed lengths and checksums), so
 * the interesting path is reached as often as the odd one. Invariants:
 *  - split: only the documented errors; every segment inside its buffer,
 *    at most headers + gso_size long, with its own IPv4 total length, and
 *    (IPv4) both checksums right (and lwt_tcp_parse agreeing); the
 *    segments' payloads, in order, are the packet's payload; seq advances
 *    by each payload, the IPv4 id by one;
 *  - split then GRO coalesce gives back the bytes: the segments (two of
 *    them swapped when the input says), added to a GRO, flushed, and every
 *    flushed packet split again as the kernel would, are the segments byte
 *    for byte, in the order added; and a packet GRO may merge whole (ACK,
 *    no SYN/FIN/RST/URG/CWR, IHL 5), in order, comes out as one write;
 *  - GRO never loses, duplicates or reorders a packet of a flow, whatever
 *    was added (the raw input is added too). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#include "faketcp.h"
#include "gso.h"
#include "fuzz.h"

#define MAX_SEGS 1024

static struct {
	uint8_t *buf;		/* all segments, back to back */
	size_t used, cap;
	size_t off[MAX_SEGS + 1];
	int n;
	bool overflow;
} A, B;

static struct lwt_gro *gro;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	gro = lwt_gro_create();
	A.cap = B.cap = 4 * LWT_GSO_READ_BUF;
	A.buf = malloc(A.cap);
	B.buf = malloc(B.cap);
	return gro && A.buf && B.buf ? 0 : 1;
}

static void keep(void *ctx, const uint8_t *pkt, size_t len)
{
	typeof(A) *s = ctx;

	if (s->n == MAX_SEGS || s->used + len > s->cap) {
		s->overflow = true;
		return;
	}
	memcpy(s->buf + s->used, pkt, len);
	s->used += len;
	s->off[++s->n] = s->used;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Make pkt a TCP/IPv4 or TCP/IPv6 packet with right lengths and checksums,
 * keeping whatever else the input put there. */
static void shape(uint8_t *pkt, size_t len, bool v6)
{
	size_t ihl, thl;

	if (v6) {
		if (len < 60)
			return;
		pkt[0] = 0x60 | (pkt[0] & 0x0f);
		pkt[6] = IPPROTO_TCP;
		pkt[4] = (len - 40) >> 8;
		pkt[5] = (len - 40) & 0xff;
		ihl = 40;
	} else {
		if (len < 40)
			return;
		ihl = 20 + (pkt[0] & 1) * 4;	/* sometimes one word of options */
		pkt[0] = 0x40 | (uint8_t)(ihl / 4);
		pkt[2] = len >> 8;
		pkt[3] = len & 0xff;
		pkt[6] &= 0x40;		/* DF or not; never a fragment */
		pkt[7] = 0;
		pkt[9] = IPPROTO_TCP;
		pkt[10] = pkt[11] = 0;
		uint16_t c = lwt_ip_csum(pkt, ihl);

		memcpy(pkt + 10, &c, 2);
	}
	thl = 20 + 4 * (pkt[ihl + 12] >> 4 & 3);	/* 20..32 */
	if (ihl + thl > len)
		thl = 20;
	pkt[ihl + 12] = (uint8_t)(thl / 4) << 4;
	if (!v6) {
		pkt[ihl + 16] = pkt[ihl + 17] = 0;
		uint32_t sa, da;

		memcpy(&sa, pkt + 12, 4);
		memcpy(&da, pkt + 16, 4);
		uint16_t c = lwt_tcp_csum(sa, da, pkt + ihl, len - ihl);

		memcpy(pkt + ihl + 16, &c, 2);
	}
}

static void check_split(const struct virtio_net_hdr *vh, const uint8_t *orig, size_t len, int r)
{
	bool v6 = (vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_TCPV6;
	size_t ihl = v6 ? 40 : (orig[0] & 15) * 4u, thl, hlen, done = 0;
	int i;

	if ((vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE) {
		FZ_CHECK(r == 1 && A.n == 1 && A.used == len, "GSO_NONE: %d packets, %zu bytes of %zu",
			 r, A.used, len);
		if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			FZ_CHECK(!memcmp(A.buf, orig, len), "GSO_NONE without NEEDS_CSUM changed bytes");
		return;
	}
	thl = (orig[ihl + 12] >> 4) * 4u;
	hlen = ihl + thl;
	FZ_CHECK(r == A.n, "split said %d, emitted %d", r, A.n);
	for (i = 0; i < A.n; i++) {
		const uint8_t *s = A.buf + A.off[i];
		size_t sl = A.off[i + 1] - A.off[i], pl = sl - hlen;
		struct lwt_tcp_seg g;
		uint32_t sa, da;

		FZ_CHECK(sl >= hlen && pl <= vh->gso_size && (pl || A.n == 1),
			 "segment %d: %zu bytes, headers %zu, gso_size %u", i, sl, hlen, vh->gso_size);
		FZ_CHECK(!memcmp(s + hlen, orig + hlen + done, pl), "segment %d: payload bytes moved", i);
		FZ_CHECK(get32(s + ihl + 4) == get32(orig + ihl + 4) + (uint32_t)done,
			 "segment %d: seq %u, expected %u", i, get32(s + ihl + 4),
			 get32(orig + ihl + 4) + (uint32_t)done);
		if (v6) {
			FZ_CHECK(get16(s + 4) == sl - 40, "segment %d: IPv6 payload length %u for %zu",
				 i, get16(s + 4), sl);
		} else {
			FZ_CHECK(get16(s + 2) == sl && get16(s + 4) == (uint16_t)(get16(orig + 4) + i),
				 "segment %d: IPv4 length %u (of %zu) or id %u", i, get16(s + 2), sl,
				 get16(s + 4));
			memcpy(&sa, s + 12, 4);
			memcpy(&da, s + 16, 4);
			FZ_CHECK(lwt_ip_csum(s, ihl) == 0 && lwt_tcp_csum(sa, da, s + ihl, sl - ihl) == 0,
				 "segment %d: IPv4 or TCP checksum wrong", i);
			/* lwt's own parser reads it back (when its TCP options are
			 * well formed: the split copies them as they are). */
			if (lwt_tcp_parse(s, sl, true, &g) == 0)
				FZ_CHECK(g.payload_len == pl && g.seq == get32(s + ihl + 4),
					 "segment %d parses to %zu payload bytes", i, g.payload_len);
		}
		done += pl;
	}
	FZ_CHECK(done == len - hlen, "segments carry %zu of %zu payload bytes", done, len - hlen);
}

static void gro_emit(void *ctx, const uint8_t *buf, size_t len)
{
	static uint8_t copy[LWT_GSO_READ_BUF];
	struct virtio_net_hdr vh;
	int r;

	FZ_CHECK(len > LWT_VNET_HDR_LEN && len <= LWT_GSO_READ_BUF, "GRO wrote %zu bytes", len);
	memcpy(&vh, buf, sizeof(vh));
	memcpy(copy, buf + LWT_VNET_HDR_LEN, len - LWT_VNET_HDR_LEN);
	(*(int *)ctx)++;
	/* What the kernel does with it: segment it again (or take it as is). */
	r = lwt_gso_split(&vh, copy, len - LWT_VNET_HDR_LEN, keep, &B);
	FZ_CHECK(r >= 1, "the kernel could not take what GRO wrote: split says %d (gso_type %u)", r,
		 vh.gso_type);
}

/* Add the segments in A to the GRO (flushing when it is full, as the data
 * plane does), flush, and split what comes out into B. */
static int regroup(void)
{
	int i, writes = 0, r;

	B.used = 0;
	B.n = 0;
	B.off[0] = 0;
	B.overflow = false;
	for (i = 0; i < A.n; i++) {
		r = lwt_gro_add(gro, A.buf + A.off[i], A.off[i + 1] - A.off[i]);
		if (r == -ENOBUFS) {
			lwt_gro_flush(gro, gro_emit, &writes);
			r = lwt_gro_add(gro, A.buf + A.off[i], A.off[i + 1] - A.off[i]);
		}
		FZ_CHECK(r == LWT_GRO_MERGED || r == LWT_GRO_HELD, "gro_add of segment %d: %d", i, r);
	}
	lwt_gro_flush(gro, gro_emit, &writes);
	return writes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[LWT_GSO_MAX_PKT + 1], orig[LWT_GSO_MAX_PKT + 1];
	struct virtio_net_hdr vh;
	size_t len;
	int r, writes;
	bool v6, swapped;

	if (size < sizeof(vh) + 1)
		return -1;
	memcpy(&vh, data, sizeof(vh));
	len = size - sizeof(vh);
	if (len > LWT_GSO_MAX_PKT)
		return -1;
	memcpy(pkt, data + sizeof(vh), len);
	/* Low bits of the first byte: 0..1 keep the input, 2..3 shape it. */
	v6 = (vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_TCPV6;
	if (vh.flags & 2) {
		shape(pkt, len, v6);
		vh.flags &= ~2;
		if (vh.flags & 4)
			vh.gso_size = 1 + vh.gso_size % 1500;
	}
	memcpy(orig, pkt, len);
	A.used = 0;
	A.n = 0;
	A.off[0] = 0;
	A.overflow = false;
	r = lwt_gso_split(&vh, pkt, len, keep, &A);
	if (r < 0) {
		FZ_CHECK(r == -EINVAL || r == -EBADMSG || r == -EPROTONOSUPPORT, "split returned %d", r);
		FZ_CHECK(A.n == 0, "split failed (%d) after emitting %d packets", r, A.n);
		/* GRO takes any packet as it is. */
		if (len) {
			A.used = len;
			A.n = 1;
			A.off[1] = len;
			memcpy(A.buf, orig, len);
			writes = regroup();
			FZ_CHECK(writes == 1 && B.n >= 1, "one raw packet became %d writes", writes);
		}
		return 0;
	}
	FZ_CHECK(r >= 1, "split returned %d", r);
	if (A.overflow)
		return 0;
	check_split(&vh, orig, len, r);
	if (A.n > 256)
		return 0;	/* GRO holds 128 unmerged: long trains are flushed midway */
	/* vh.hdr_len is not read by the split: its low bit swaps two
	 * segments (reordered on the way), which GRO must not join. */
	swapped = (vh.hdr_len & 1) && A.n >= 2;
	if (swapped) {
		static uint8_t tmp[LWT_GSO_READ_BUF];
		int i = (vh.hdr_len >> 1) % (A.n - 1);
		size_t a = A.off[i], b = A.off[i + 1], c = A.off[i + 2];

		memcpy(tmp, A.buf + a, c - a);
		memcpy(A.buf + a, tmp + (b - a), c - b);
		memcpy(A.buf + a + (c - b), tmp, b - a);
		A.off[i + 1] = a + (c - b);
	}
	writes = regroup();
	if (B.overflow)
		return 0;
	/* GSO_NONE with a checksum to finish, or split: either way what GRO
	 * wrote, split again, must be what we gave it. */
	FZ_CHECK(B.used == A.used && B.n == A.n && !memcmp(A.buf, B.buf, A.used) &&
		 !memcmp(A.off, B.off, (A.n + 1) * sizeof(A.off[0])),
		 "%d segments (%zu bytes) through GRO and split again came back as %d (%zu bytes)%s",
		 A.n, A.used, B.n, B.used, B.used == A.used ? ", other bytes" : "");
	if (!v6 && !swapped && A.n >= 2 && A.n <= 128 && (vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) &&
	    orig[0] == 0x45) {
		uint8_t fl = orig[20 + 13];

		if ((fl & 0x10) && !(fl & 0xa7))
			FZ_CHECK(writes == 1, "%d mergeable segments (flags 0x%02x) written as %d",
				 A.n, fl, writes);
	}
	return 0;
}
