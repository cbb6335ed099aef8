// SPDX-License-Identifier: MIT
/* TSO segmentation of vnet TUN reads and TCP coalescing for vnet TUN writes.
 * Rules follow the kernel's own tcp_gso_segment() and tcp_gro_receive(), so
 * what lwt hands either way is what a NIC with TSO/LRO would have. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "faketcp.h"
#include "gso.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_CWR 0x80

#define IP4_DF 0x40			/* in byte 6 */
#define IP4_FRAG 0x3fff			/* MF and fragment offset */
#define TCP_CSUM_OFF 16
#define MAX_HDRS (60 + 60)		/* largest IPv4 + TCP headers */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }


static void csum_store(uint8_t *p, uint16_t folded_complement)
{
	memcpy(p, &folded_complement, 2);
}

/* TCP pseudo header of the packet at ip for l4len bytes of TCP. The IPv6 one
 * has a 32-bit length and the next header in its last byte; for lengths
 * below 64 KiB its words sum to the same as the IPv4 layout. */
static uint64_t pseudo_sum(const uint8_t *ip, bool v6, size_t l4len)
{
	const uint8_t tail[4] = { 0, IPPROTO_TCP, l4len >> 8, l4len & 0xff };
	uint64_t sum = v6 ? lwt_csum64(0, ip + 8, 32) : lwt_csum64(0, ip + 12, 8);

	return lwt_csum64(sum, tail, sizeof(tail));
}

static void ip4_set_csum(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	csum_store(ip + 10, ~lwt_csum64_fold(lwt_csum64(0, ip, ihl)));
}

/* --- read side: split --- */

/* Finish a CHECKSUM_PARTIAL packet as skb_checksum_help() does: the field
 * already holds the pseudo-header sum; 0 is sent as 0xffff (UDP's "none"). */
static int split_none(const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len,
		      lwt_gso_emit_fn emit, void *ctx)
{
	if (!len)
		return -EBADMSG;
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		size_t start = vh->csum_start, at = start + vh->csum_offset;
		uint16_t c;

		if (at + 2 > len)
			return -EINVAL;
		c = ~lwt_csum64_fold(lwt_csum64(0, pkt + start, len - start));
		csum_store(pkt + at, c ? c : 0xffff);
	}
	emit(ctx, pkt, len);
	return 1;
}

struct tcp_hdrs {
	size_t ihl, thl;	/* IP and TCP header lengths */
	bool v6;
};

/* Measure the headers of a TSO packet; the IP length field must agree with
 * what was read (0 is allowed: BIG TCP leaves it to the buffer). */
static int parse_tso(uint8_t *pkt, size_t len, bool v6, struct tcp_hdrs *h)
{
	h->v6 = v6;
	if (v6) {
		if (len < 40 || pkt[0] >> 4 != 6)
			return -EBADMSG;
		if (pkt[6] != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		h->ihl = 40;
		if (get16(pkt + 4) && get16(pkt + 4) != len - 40)
			return -EBADMSG;
	} else {
		if (len < 20 || pkt[0] >> 4 != 4)
			return -EBADMSG;
		h->ihl = (pkt[0] & 15) * 4u;
		if (h->ihl < 20 || (get16(pkt + 2) && get16(pkt + 2) != len) ||
		    (get16(pkt + 6) & IP4_FRAG))
			return -EBADMSG;
		if (pkt[9] != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
	}
	if (h->ihl + 20 > len)
		return -EBADMSG;
	h->thl = (pkt[h->ihl + 12] >> 4) * 4u;
	if (h->thl < 20 || h->ihl + h->thl > len)
		return -EBADMSG;
	return 0;
}

/* Rewrite the headers at seg (a copy of the original ones, hdr) for segment
 * i carrying clen payload bytes that follow them, and checksum it. */
static void build_seg(uint8_t *seg, const uint8_t *hdr, const struct tcp_hdrs *h,
		      unsigned int i, bool last, uint32_t off, size_t clen)
{
	size_t hlen = h->ihl + h->thl;
	uint8_t *th = seg + h->ihl;
	uint64_t sum;

	memcpy(seg, hdr, hlen);
	if (h->v6) {
		put16(seg + 4, h->thl + clen);
	} else {
		put16(seg + 2, hlen + clen);
		put16(seg + 4, get16(hdr + 4) + i);	/* wraps like the kernel's */
		ip4_set_csum(seg, h->ihl);
	}
	put32(th + 4, get32(hdr + h->ihl + 4) + off);
	if (i)
		th[13] &= ~TCP_CWR;
	if (!last)
		th[13] &= ~(TCP_FIN | TCP_PSH);
	th[TCP_CSUM_OFF] = th[TCP_CSUM_OFF + 1] = 0;
	sum = pseudo_sum(seg, h->v6, h->thl + clen);
	sum = lwt_csum64(sum, th, h->thl);
	sum = lwt_csum64(sum, seg + hlen, clen);
	csum_store(th + TCP_CSUM_OFF, ~lwt_csum64_fold(sum));
}

/* Segment i's headers go just before its payload chunk, over the tail of
 * segment i-1, which has been emitted by then. */
static int split_tcp(const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len, bool v6,
		     lwt_gso_emit_fn emit, void *ctx)
{
	uint8_t hdr[MAX_HDRS];
	struct tcp_hdrs h;
	size_t hlen, payload, gso = vh->gso_size;
	unsigned int i, nseg;
	int err;

	if (!gso)
		return -EINVAL;
	err = parse_tso(pkt, len, v6, &h);
	if (err)
		return err;
	hlen = h.ihl + h.thl;
	payload = len - hlen;
	nseg = payload ? (payload + gso - 1) / gso : 1;
	memcpy(hdr, pkt, hlen);
	for (i = 0; i < nseg; i++) {
		uint32_t off = i * gso;
		size_t clen = payload - off < gso ? payload - off : gso;

		build_seg(pkt + off, hdr, &h, i, i + 1 == nseg, off, clen);
		emit(ctx, pkt + off, hlen + clen);
	}
	return nseg;
}

int lwt_gso_split(const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len,
		  lwt_gso_emit_fn emit, void *ctx)
{
	if (len > LWT_GSO_MAX_PKT)
		return -EBADMSG;
	switch (vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return split_none(vh, pkt, len, emit, ctx);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return split_tcp(vh, pkt, len, false, emit, ctx);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return split_tcp(vh, pkt, len, true, emit, ctx);
	default:
		return -EPROTONOSUPPORT;
	}
}

/* --- write side: coalesce --- */

struct gro_flow {
	uint32_t len;		/* IP bytes after the vnet header in buf */
	uint32_t next_seq;	/* seq the next segment must carry */
	uint16_t next_id;	/* IPv4 id it must carry unless DF */
	uint16_t gso_size;	/* payload of the first segment */
	uint16_t segs;
	uint8_t iph;		/* IP header: 20 (IPv4, no options) or 40 (IPv6) */
	uint8_t hlen;		/* IP + TCP header */
	bool open;		/* may still be appended to */
	bool verified;		/* the head's TCP checksum was checked */
	uint8_t buf[LWT_GSO_READ_BUF];
};

struct gro_entry {
	int flow;		/* index into flows, or -1: in the backlog */
	uint32_t off, len;	/* backlog bytes, vnet header included */
};

struct lwt_gro {
	struct gro_entry ent[LWT_GRO_PKTS];	/* in arrival order */
	unsigned int nent, nflows;
	size_t backlog_used;
	struct lwt_gro_stats st;
	struct gro_flow flow[LWT_GRO_FLOWS];
	uint8_t backlog[LWT_GRO_BACKLOG];
};

struct lwt_gro *lwt_gro_create(void)
{
	return calloc(1, sizeof(struct lwt_gro));
}

void lwt_gro_destroy(struct lwt_gro *g)
{
	free(g);
}

static uint8_t *flow_pkt(struct gro_flow *f) { return f->buf + LWT_VNET_HDR_LEN; }

static bool tcp_csum_ok(const uint8_t *pkt, size_t len, unsigned int iph)
{
	uint64_t sum = pseudo_sum(pkt, iph == 40, len - iph);

	return lwt_csum64_fold(lwt_csum64(sum, pkt + iph, len - iph)) == 0xffff;
}

/* TCP in IPv4 without options, not a fragment, its header checksum right,
 * or in IPv6 with TCP the first next header (no extension headers); the
 * lengths exact: only such packets are keyed to a flow. Their IP header
 * length (20, 40), else 0. */
static unsigned int plain_tcp(const uint8_t *pkt, size_t len)
{
	unsigned int iph;

	if (len >= 40 && pkt[0] == 0x45) {
		if (pkt[9] != IPPROTO_TCP || get16(pkt + 2) != len ||
		    (get16(pkt + 6) & IP4_FRAG) ||
		    lwt_csum64_fold(lwt_csum64(0, pkt, 20)) != 0xffff)
			return 0;
		iph = 20;
	} else if (len >= 60 && pkt[0] >> 4 == 6) {
		if (pkt[6] != IPPROTO_TCP || get16(pkt + 4) + 40u != len)
			return 0;
		iph = 40;
	} else {
		return 0;
	}
	return (pkt[iph + 12] >> 4) >= 5 && iph + (pkt[iph + 12] >> 4) * 4u <= len ? iph : 0;
}

/* May this segment be part of a super-packet at all (as head or tail)? */
static bool mergeable(const uint8_t *pkt, size_t len, unsigned int iph)
{
	uint8_t fl = pkt[iph + 13];

	return iph + (pkt[iph + 12] >> 4) * 4u < len && (fl & TCP_ACK) &&
	       !(fl & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_CWR));
}

static struct gro_flow *flow_find(struct lwt_gro *g, const uint8_t *pkt, unsigned int iph)
{
	/* Addresses and ports: IPv4 12..23, IPv6 8..43. */
	size_t at = iph == 20 ? 12 : 8, n = iph == 20 ? 12 : 36;

	for (unsigned int i = 0; i < g->nflows; i++) {
		struct gro_flow *f = &g->flow[i];

		if (f->open && f->iph == iph && !memcmp(flow_pkt(f) + at, pkt + at, n))
			return f;
	}
	return NULL;
}

/* Headers equal to the head's where tcp_gro_receive() wants them equal:
 * IPv4 TOS, TTL, DF; IPv6 traffic class, flow label, hop limit; ack; data
 * offset, flags but PSH, window; every option byte. Position: seq and
 * (IPv4 without DF) the IP id continue the super-packet. */
static bool continues(const struct gro_flow *f, const uint8_t *pkt, size_t len)
{
	const uint8_t *h = f->buf + LWT_VNET_HDR_LEN;
	const uint8_t *t = pkt + f->iph, *ht = h + f->iph;
	size_t payload = len - f->hlen;

	if (f->iph + (t[12] >> 4) * 4u != f->hlen || payload > f->gso_size ||
	    f->len + payload > LWT_GSO_MAX_PKT || get32(t + 4) != f->next_seq)
		return false;
	if (f->iph == 40) {
		if (memcmp(pkt, h, 4) || pkt[7] != h[7])
			return false;
	} else {
		if (pkt[1] != h[1] || pkt[8] != h[8] || ((pkt[6] ^ h[6]) & IP4_DF))
			return false;
		if (!(pkt[6] & IP4_DF) && get16(pkt + 4) != f->next_id)
			return false;
	}
	return !memcmp(t + 8, ht + 8, 4) && t[12] == ht[12] &&
	       ((t[13] ^ ht[13]) & ~TCP_PSH) == 0 && !memcmp(t + 14, ht + 14, 2) &&
	       !memcmp(t + 20, ht + 20, f->hlen - f->iph - 20);
}

static void flow_append(struct lwt_gro *g, struct gro_flow *f, const uint8_t *pkt, size_t len)
{
	size_t payload = len - f->hlen;
	uint8_t *h = flow_pkt(f);

	memcpy(h + f->len, pkt + f->hlen, payload);
	f->len += payload;
	f->next_seq += payload;
	f->next_id++;
	f->segs++;
	g->st.merged++;
	/* Like GRO: a short segment or PSH ends the super-packet. */
	if (pkt[f->iph + 13] & TCP_PSH) {
		h[f->iph + 13] |= TCP_PSH;
		f->open = false;
	}
	if (payload < f->gso_size)
		f->open = false;
}

enum merge_result { NOT_NEXT, MERGED, BAD_CSUM };

/* Checksums are checked only when a merge is about to happen: a packet
 * written on its own is checked by the kernel. */
static enum merge_result try_merge(struct lwt_gro *g, struct gro_flow *f, const uint8_t *pkt,
				   size_t len)
{
	if (!continues(f, pkt, len))
		return NOT_NEXT;
	if (!f->verified) {
		if (!tcp_csum_ok(flow_pkt(f), f->len, f->iph)) {
			g->st.bad_csum++;
			return NOT_NEXT;	/* pkt may head a new one */
		}
		f->verified = true;
	}
	if (!tcp_csum_ok(pkt, len, f->iph)) {
		g->st.bad_csum++;
		return BAD_CSUM;
	}
	flow_append(g, f, pkt, len);
	return MERGED;
}

static int hold_flow(struct lwt_gro *g, const uint8_t *pkt, size_t len, unsigned int iph)
{
	struct gro_flow *f = &g->flow[g->nflows];
	size_t hlen = iph + (pkt[iph + 12] >> 4) * 4u;

	memcpy(flow_pkt(f), pkt, len);
	f->len = len;
	f->iph = iph;
	f->hlen = hlen;
	f->gso_size = len - hlen;
	f->next_seq = get32(pkt + iph + 4) + f->gso_size;
	f->next_id = iph == 20 ? get16(pkt + 4) + 1 : 0;
	f->segs = 1;
	f->open = true;
	f->verified = false;
	g->ent[g->nent++] = (struct gro_entry){ .flow = g->nflows++ };
	return LWT_GRO_HELD;
}

static int hold_single(struct lwt_gro *g, const uint8_t *pkt, size_t len)
{
	size_t need = LWT_VNET_HDR_LEN + len;
	uint8_t *p = g->backlog + g->backlog_used;

	if (g->backlog_used + need > LWT_GRO_BACKLOG)
		return -ENOBUFS;
	memset(p, 0, LWT_VNET_HDR_LEN);		/* GSO_NONE, no checksum work */
	memcpy(p + LWT_VNET_HDR_LEN, pkt, len);
	g->ent[g->nent++] = (struct gro_entry){ .flow = -1, .off = g->backlog_used, .len = need };
	g->backlog_used += need;
	return LWT_GRO_HELD;
}

int lwt_gro_add(struct lwt_gro *g, const uint8_t *pkt, size_t len)
{
	unsigned int iph;
	bool merge;
	struct gro_flow *f = NULL;

	if (!len || len > LWT_GSO_MAX_PKT)
		return -EMSGSIZE;
	iph = plain_tcp(pkt, len);
	merge = iph && mergeable(pkt, len, iph);
	if (iph)
		f = flow_find(g, pkt, iph);
	if (f && merge) {
		enum merge_result r = try_merge(g, f, pkt, len);

		if (r == MERGED)
			return LWT_GRO_MERGED;
		if (r == BAD_CSUM)
			merge = false;	/* left for the kernel to drop */
	}
	/* Whatever comes next of this flow must leave after pkt. */
	if (f)
		f->open = false;
	if (g->nent == LWT_GRO_PKTS)
		return -ENOBUFS;
	/* A PSH segment would end its super-packet at once: no use holding a
	 * 64 KiB buffer for it. */
	if (merge && !(pkt[iph + 13] & TCP_PSH) && g->nflows < LWT_GRO_FLOWS)
		return hold_flow(g, pkt, len, iph);
	return hold_single(g, pkt, len);
}

/* Turn a flow of 2+ segments into what the kernel's own GRO would hand up:
 * one IPv4 or IPv6 packet with the full length and CHECKSUM_PARTIAL over
 * TCP. */
static size_t flow_finish(struct lwt_gro *g, struct gro_flow *f)
{
	uint8_t *pkt = flow_pkt(f);
	struct virtio_net_hdr vh = { 0 };

	if (f->segs > 1) {
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.gso_type = f->iph == 40 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		vh.hdr_len = f->hlen;
		vh.gso_size = f->gso_size;
		vh.csum_start = f->iph;
		vh.csum_offset = TCP_CSUM_OFF;
		if (f->iph == 40) {
			put16(pkt + 4, f->len - 40);
		} else {
			put16(pkt + 2, f->len);
			ip4_set_csum(pkt, 20);
		}
		csum_store(pkt + f->iph + TCP_CSUM_OFF,
			   lwt_csum64_fold(pseudo_sum(pkt, f->iph == 40, f->len - f->iph)));
		g->st.super++;
	} else {
		g->st.single++;
	}
	memcpy(f->buf, &vh, LWT_VNET_HDR_LEN);
	return LWT_VNET_HDR_LEN + f->len;
}

int lwt_gro_flush(struct lwt_gro *g, lwt_gro_emit_fn emit, void *ctx)
{
	unsigned int i, n = g->nent;

	for (i = 0; i < n; i++) {
		const struct gro_entry *e = &g->ent[i];

		if (e->flow >= 0) {
			struct gro_flow *f = &g->flow[e->flow];

			emit(ctx, f->buf, flow_finish(g, f));
		} else {
			g->st.single++;
			emit(ctx, g->backlog + e->off, e->len);
		}
	}
	g->nent = g->nflows = 0;
	g->backlog_used = 0;
	return n;
}

void lwt_gro_get_stats(const struct lwt_gro *g, struct lwt_gro_stats *out)
{
	*out = g->st;
}
