// SPDX-License-Identifier: MIT
/* Fake TCP over IPv6 (faketcp.h): the 40-byte header lwt writes in front
 * of a segment, and the parse of a received one. What differs from IPv4:
 * no header checksum, no ID and no DF (IPv6 routers never fragment; lwt
 * never adds a fragment header), hop limit 64, a per-flow random flow
 * label as Linux's, and the TCP checksum over the IPv6 pseudo-header. The
 * TCP header and its options are the IPv4 ones byte for byte. */
#include <errno.h>
#include <string.h>

#include "faketcp.h"

#define NEXTHDR_TCP 6

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

uint16_t lwt_tcp_csum6(const struct lwt_addr *saddr, const struct lwt_addr *daddr,
		       const void *tcp, size_t tcp_len)
{
	uint32_t sum = 0;
	uint8_t tail[8] = { 0 };

	sum = lwt_csum_partial(saddr->b, 16, sum);
	sum = lwt_csum_partial(daddr->b, 16, sum);
	tail[0] = (uint8_t)(tcp_len >> 24);
	tail[1] = (uint8_t)(tcp_len >> 16);
	tail[2] = (uint8_t)(tcp_len >> 8);
	tail[3] = (uint8_t)tcp_len;
	tail[7] = NEXTHDR_TCP;
	sum = lwt_csum_partial(tail, sizeof(tail), sum);
	sum = lwt_csum_partial(tcp, tcp_len, sum);
	return lwt_csum_fold(sum);
}

void lwt_ftcp_put_ip6(const struct lwt_ftcp_conn *c, uint8_t *ip6, size_t tot)
{
	uint8_t *t = ip6 + LWT_IP6_HDR_LEN;
	size_t tlen = tot - LWT_IP6_HDR_LEN;

	/* version 6, traffic class 0, flow label */
	ip6[0] = 0x60;
	ip6[1] = (uint8_t)(c->flowlabel >> 16 & 0x0f);
	ip6[2] = (uint8_t)(c->flowlabel >> 8);
	ip6[3] = (uint8_t)c->flowlabel;
	put16(ip6 + 4, (uint16_t)tlen);
	ip6[6] = NEXTHDR_TCP;
	ip6[7] = 64;
	memcpy(ip6 + 8, c->la.b, 16);
	memcpy(ip6 + 24, c->ra.b, 16);
	put16(t + 16, lwt_tcp_csum6(&c->la, &c->ra, t, tlen));
}

int lwt_tcp_parse6(const uint8_t *pkt, size_t len, bool verify_csum, struct lwt_tcp_seg *s)
{
	size_t tot;
	int r;

	if (len < LWT_IP6_HDR_LEN + 20)
		return -EBADMSG;
	if (pkt[0] >> 4 != 6)
		return -EPROTONOSUPPORT;
	/* Extension headers (fragment 44 among them) are not ours: lwt never
	 * sends one, and a fragment must never be taken for a segment. */
	if (pkt[6] != NEXTHDR_TCP)
		return -EPROTONOSUPPORT;
	tot = get16(pkt + 4);
	tot = tot ? tot + LWT_IP6_HDR_LEN : len;	/* 0: a GSO/GRO super-packet */
	if (tot > len)
		return -EBADMSG;
	memset(s, 0, sizeof(*s));
	memcpy(s->sa.b, pkt + 8, 16);
	memcpy(s->da.b, pkt + 24, 16);
	if (lwt_addr_is_v4(&s->sa) || lwt_addr_is_v4(&s->da))
		return -EBADMSG;	/* v4-mapped on the wire: never a real source */
	if (verify_csum && lwt_tcp_csum6(&s->sa, &s->da, pkt + LWT_IP6_HDR_LEN,
					 tot - LWT_IP6_HDR_LEN))
		return -EBADMSG;
	r = lwt_tcp_parse_l4(pkt + LWT_IP6_HDR_LEN, tot - LWT_IP6_HDR_LEN, s);
	if (r)
		return r;
	s->v6 = true;
	s->saddr = lwt_addr_key32(&s->sa);
	s->daddr = lwt_addr_key32(&s->da);
	s->ttl = pkt[7];
	s->flowlabel = (uint32_t)(pkt[1] & 0x0f) << 16 | (uint32_t)pkt[2] << 8 | pkt[3];
	return 0;
}
