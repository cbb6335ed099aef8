// SPDX-License-Identifier: MIT
/* Path MTU search arithmetic and the ICMP parser; see pmtu_search.h. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "faketcp.h"
#include "pmtu_search.h"

void lwt_pmtu_search_init(struct lwt_pmtu_search *s, int lo, bool lo_ok, int hi)
{
	memset(s, 0, sizeof(*s));
	s->lo = lo;
	s->lo_ok = lo_ok;
	s->hi = hi < lo ? lo : hi;
}

int lwt_pmtu_search_round(struct lwt_pmtu_search *s)
{
	int n = s->hi - s->lo, k = n < LWT_PMTU_SPREAD ? n : LWT_PMTU_SPREAD, j;

	s->size[0] = (uint16_t)s->lo;
	/* ceil(n * j / k): distinct as n >= k, the last one hi. */
	for (j = 1; j <= k; j++)
		s->size[j] = (uint16_t)(s->lo + (n * j + k - 1) / k);
	s->n = k + 1;
	s->acked = 0;
	return s->n;
}

bool lwt_pmtu_search_ack(struct lwt_pmtu_search *s, int j, int size, bool *top)
{
	*top = false;
	if (j < 0 || j >= s->n || s->size[j] != size)
		return false;
	s->acked |= 1u << j;
	*top = j == s->n - 1 && size == s->hi;
	return true;
}

bool lwt_pmtu_search_collect(struct lwt_pmtu_search *s, bool timed_out)
{
	int best = 0, j;

	for (j = 0; j < s->n; j++)
		if ((s->acked & (1u << j)) && s->size[j] > best)
			best = s->size[j];
	if (best && best >= s->lo) {
		s->lo = best;
		s->lo_ok = true;
	}
	/* Silence above a size that came back is "too big"; silence of the
	 * whole round is loss or a dead path, and proves nothing. */
	if (best && timed_out)
		for (j = 0; j < s->n; j++)
			if (!(s->acked & (1u << j)) && s->size[j] > s->lo && s->size[j] - 1 < s->hi)
				s->hi = s->size[j] - 1;
	if (s->hi < s->lo)
		s->hi = s->lo;
	s->n = 0;
	s->acked = 0;
	return best != 0;
}

bool lwt_pmtu_search_hint(struct lwt_pmtu_search *s, int mtu, int base)
{
	if (mtu >= s->hi)
		return false;
	if (s->n)
		lwt_pmtu_search_collect(s, false);
	if (s->lo > mtu) {
		s->lo = base;
		s->lo_ok = false;
	}
	s->hi = mtu < s->lo ? s->lo : mtu;
	s->by_icmp = true;
	return true;
}

int lwt_pmtu_icmp_parse(const uint8_t *b, size_t len, struct lwt_pmtu_icmp *q)
{
	size_t ihl, qihl;
	const uint8_t *ic, *qi;

	if (len < 20 || (b[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(b[0] & 15) * 4;
	if (ihl < 20 || len < ihl + 8 + 20)
		return -EINVAL;
	ic = b + ihl;
	if (ic[0] != 3 || ic[1] != 4)
		return -EINVAL;
	qi = ic + 8;
	qihl = (size_t)(qi[0] & 15) * 4;
	/* RFC 792 quotes the IP header and 8 bytes: the ports are in them. */
	if ((qi[0] >> 4) != 4 || qihl < 20 || qi[9] != IPPROTO_TCP || len < ihl + 8 + qihl + 4)
		return -EINVAL;
	q->mtu = ic[6] << 8 | ic[7];
	if (!q->mtu)
		return -EINVAL;
	memcpy(&q->saddr, qi + 12, 4);
	memcpy(&q->daddr, qi + 16, 4);
	memcpy(&q->sport, qi + qihl, 2);
	memcpy(&q->dport, qi + qihl + 2, 2);
	return 0;
}

size_t lwt_pmtu_icmp6_build(uint8_t out[LWT_PMTU_ICMP6_MAX], const uint8_t *pkt, size_t len,
			    const uint8_t src[16], int mtu)
{
	static const uint8_t any[16];
	uint8_t tail[8] = { 0 };
	size_t q, plen;
	uint64_t sum;
	uint16_t c;

	if (len < 40 || pkt[0] >> 4 != 6 || (size_t)(pkt[4] << 8 | pkt[5]) + 40 > len ||
	    pkt[8] == 0xff || !memcmp(pkt + 8, any, 16))
		return 0;
	/* Never an error about an ICMPv6 error (types below 128). */
	if (pkt[6] == IPPROTO_ICMPV6 && (len < 41 || pkt[40] < 128))
		return 0;
	q = len < LWT_PMTU_ICMP6_MAX - 48 ? len : LWT_PMTU_ICMP6_MAX - 48;
	plen = 8 + q;
	memset(out, 0, 48);
	out[0] = 0x60;
	out[4] = (uint8_t)(plen >> 8);
	out[5] = (uint8_t)plen;
	out[6] = IPPROTO_ICMPV6;
	out[7] = 64;
	memcpy(out + 8, src, 16);
	memcpy(out + 24, pkt + 8, 16);		/* to the packet's source */
	out[40] = 2;				/* Packet Too Big, code 0 */
	out[44] = (uint8_t)((uint32_t)mtu >> 24);
	out[45] = (uint8_t)((uint32_t)mtu >> 16);
	out[46] = (uint8_t)(mtu >> 8);
	out[47] = (uint8_t)mtu;
	memcpy(out + 48, pkt, q);
	/* Pseudo-header: addresses, upper-layer length, next header 58. */
	tail[2] = (uint8_t)(plen >> 8);
	tail[3] = (uint8_t)plen;
	tail[7] = IPPROTO_ICMPV6;
	sum = lwt_csum64(0, out + 8, 32);
	sum = lwt_csum64(sum, tail, sizeof(tail));
	sum = lwt_csum64(sum, out + 40, plen);
	c = (uint16_t)~lwt_csum64_fold(sum);
	memcpy(out + 42, &c, 2);
	return 40 + plen;
}

size_t lwt_pmtu_icmp_build(uint8_t out[LWT_PMTU_ICMP_MAX], const uint8_t *pkt, size_t len,
			   uint32_t src, int mtu)
{
	size_t ihl, q, tot;
	uint16_t c;

	if (len < 20 || (pkt[0] >> 4) != 4 || (ihl = (size_t)(pkt[0] & 15) * 4) < 20 || len < ihl ||
	    ((pkt[6] << 8 | pkt[7]) & 0x1fff))
		return 0;
	/* Never an error about an ICMP error (echo and the like are fine). */
	if (pkt[9] == IPPROTO_ICMP && (len < ihl + 1 || pkt[ihl] == 3 || pkt[ihl] == 4 ||
				      pkt[ihl] == 5 || pkt[ihl] == 11 || pkt[ihl] == 12))
		return 0;
	q = ihl + 8 < len ? ihl + 8 : len;
	tot = 20 + 8 + q;
	memset(out, 0, 28);
	out[0] = 0x45;
	out[2] = (uint8_t)(tot >> 8);
	out[3] = (uint8_t)tot;
	out[8] = 64;
	out[9] = IPPROTO_ICMP;
	memcpy(out + 12, &src, 4);
	memcpy(out + 16, pkt + 12, 4);		/* to the packet's source */
	c = lwt_ip_csum(out, 20);
	out[10] = (uint8_t)(c >> 8);
	out[11] = (uint8_t)c;
	out[20] = 3;
	out[21] = 4;
	out[26] = (uint8_t)(mtu >> 8);
	out[27] = (uint8_t)mtu;
	memcpy(out + 28, pkt, q);
	c = lwt_ip_csum(out + 20, 8 + q);
	out[22] = (uint8_t)(c >> 8);
	out[23] = (uint8_t)c;
	return tot;
}
