// SPDX-License-Identifier: MIT
/* Path MTU search (pmtu_search.h): the layout of a round, convergence on
 * a simulated path for a table of path MTUs (every probe up to the path
 * MTU acked, the rest vanish), safety under loss (never settling above
 * the path MTU, a silent round changing nothing), ICMP hints, and the
 * ICMP parser against a numbered table of well- and malformed messages,
 * the hub's ICMP answer to a relayed packet too large. */
#include <errno.h>
#include <arpa/inet.h>

#include "testutil.h"
#include "pmtu.h"
#include "faketcp.h"
#include "pmtu_search.h"

static void test_round_layout(void **state)
{
	static const struct { int lo, hi; } cases[] = {
		{ 576, 1500 }, { 576, 577 }, { 576, 576 }, { 1280, 1295 }, { 1280, 1294 },
		{ 1000, 1016 }, { 576, 9000 },
	};
	struct lwt_pmtu_search s;
	size_t i;
	int j, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int lo = cases[i].lo, hi = cases[i].hi;
		int want = (hi - lo < LWT_PMTU_SPREAD ? hi - lo : LWT_PMTU_SPREAD) + 1;

		lwt_pmtu_search_init(&s, lo, false, hi);
		n = lwt_pmtu_search_round(&s);
		if (n != want || s.size[0] != lo || s.size[n - 1] != hi)
			fail_msg("case %zu: %d sizes %d..%d, want %d sizes %d..%d", i + 1, n,
				 s.size[0], s.size[n - 1], want, lo, hi);
		for (j = 1; j < n; j++)
			if (s.size[j] <= s.size[j - 1])
				fail_msg("case %zu: size %d (%d) not above %d", i + 1, j, s.size[j],
					 s.size[j - 1]);
	}
}

/* One round on a path of MTU pmtu: sizes up to it come back, unless
 * lost (bit j of lost). */
static void sim_round(struct lwt_pmtu_search *s, int pmtu, uint32_t lost)
{
	bool top;
	int j;

	lwt_pmtu_search_round(s);
	for (j = 0; j < s->n; j++)
		if (s->size[j] <= pmtu && !(lost & (1u << j)))
			assert_true(lwt_pmtu_search_ack(s, j, s->size[j], &top));
	lwt_pmtu_search_collect(s, true);
}

static void test_converge(void **state)
{
	static const int paths[] = { 576, 577, 600, 1000, 1279, 1280, 1281, 1400, 1420, 1460,
				     1492, 1499, 1500 };
	struct lwt_pmtu_search s;
	size_t i;
	int r;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		lwt_pmtu_search_init(&s, 576, false, 1500);
		for (r = 0; r < 10 && !lwt_pmtu_search_done(&s); r++)
			sim_round(&s, paths[i], 0);
		if (!lwt_pmtu_search_done(&s) || s.lo != paths[i] || r > 4)
			fail_msg("case %zu: path %d: %s at %d..%d after %d rounds (want %d in <= 4)",
				 i + 1, paths[i], lwt_pmtu_search_done(&s) ? "settled" : "open",
				 s.lo, s.hi, r, paths[i]);
		/* An upward search from what was found, on a path that grew. */
		lwt_pmtu_search_init(&s, s.lo, true, 1500);
		for (r = 0; r < 10 && !lwt_pmtu_search_done(&s); r++)
			sim_round(&s, 1500, 0);
		if (s.lo != 1500)
			fail_msg("case %zu: upward search from %d ended at %d", i + 1, paths[i], s.lo);
	}
}

/* Loss: a deterministic pattern drops probes of every round. The search
 * never settles above the path MTU (an ack is proof); a round with nothing
 * back changes nothing. */
static void test_loss(void **state)
{
	struct lwt_pmtu_search s;
	uint32_t x = 12345;
	int path, r, k;

	for (k = 0; k < 200; k++) {
		path = 576 + (int)(x % 925);
		lwt_pmtu_search_init(&s, 576, false, 1500);
		for (r = 0; r < 40 && !lwt_pmtu_search_done(&s); r++) {
			x = x * 1103515245u + 12345u;
			sim_round(&s, path, x & (x >> 7));	/* about a quarter lost */
			if (s.lo > path || s.hi < s.lo)
				fail_msg("run %d: path %d: lo %d hi %d", k + 1, path, s.lo, s.hi);
		}
		if (!lwt_pmtu_search_done(&s) || s.lo > path)
			fail_msg("run %d: path %d: %d..%d after %d rounds", k + 1, path, s.lo, s.hi, r);
	}
	/* All lost: nothing learnt. */
	lwt_pmtu_search_init(&s, 576, false, 1500);
	sim_round(&s, 1500, ~0u);
	assert_int_equal(s.lo, 576);
	assert_false(s.lo_ok);
	assert_int_equal(s.hi, 1500);
	/* The witness alone comes back: hi comes down below the round's next
	 * size, and the search ends at the base. */
	sim_round(&s, 576, 0);
	assert_true(s.lo_ok);
	assert_int_equal(s.hi, 576 + (1500 - 576 + 14) / 15 - 1);
	for (r = 0; r < 4 && !lwt_pmtu_search_done(&s); r++)
		sim_round(&s, 576, 0);
	assert_true(lwt_pmtu_search_done(&s));
	assert_int_equal(s.lo, 576);
}

static void test_hint(void **state)
{
	struct lwt_pmtu_search s;
	bool top;

	lwt_pmtu_search_init(&s, 576, false, 1500);
	lwt_pmtu_search_round(&s);
	assert_true(lwt_pmtu_search_ack(&s, 0, 576, &top));
	assert_false(top);
	assert_false(lwt_pmtu_search_ack(&s, 1, 577, &top));	/* not the size sent */
	assert_false(lwt_pmtu_search_ack(&s, LWT_PMTU_ROUND_MAX, 576, &top));
	/* The witness's ack is kept, the hint lowers hi, no failure counted. */
	assert_true(lwt_pmtu_search_hint(&s, 1280, 576));
	assert_true(s.by_icmp && s.lo_ok && s.lo == 576 && s.hi == 1280 && s.n == 0);
	assert_false(lwt_pmtu_search_hint(&s, 1280, 576));	/* no news */
	assert_false(lwt_pmtu_search_hint(&s, 1400, 576));
	lwt_pmtu_search_round(&s);
	assert_true(lwt_pmtu_search_ack(&s, s.n - 1, 1280, &top));
	assert_true(top);
	lwt_pmtu_search_collect(&s, false);
	assert_true(lwt_pmtu_search_done(&s));
	assert_int_equal(s.lo, 1280);
	/* A hint below a proven lo: the path changed, lo is the base again. */
	lwt_pmtu_search_init(&s, 1400, true, 1500);
	assert_true(lwt_pmtu_search_hint(&s, 1000, 576));
	assert_true(s.lo == 576 && !s.lo_ok && s.hi == 1000);
}

/* An ICMP frag-needed as a raw socket reads it: IPv4 (ihl words), ICMP
 * 3/4 with mtu, the quoted IPv4 header (qihl words) of a TCP segment. */
static size_t icmp_msg(uint8_t *b, int ihl, int qihl, int mtu, int qproto)
{
	size_t o = (size_t)ihl * 4, q = o + 8;

	memset(b, 0, 128);
	b[0] = (uint8_t)(0x40 | ihl);
	b[9] = 1;
	b[o] = 3;
	b[o + 1] = 4;
	b[o + 6] = (uint8_t)(mtu >> 8);
	b[o + 7] = (uint8_t)mtu;
	b[q] = (uint8_t)(0x40 | qihl);
	b[q + 9] = (uint8_t)qproto;
	memcpy(b + q + 12, "\x0a\x61\x01\x02", 4);
	memcpy(b + q + 16, "\x0a\x61\x02\x02", 4);
	memcpy(b + q + qihl * 4, "\xd6\xd8\x23\x28", 4);	/* 55000 -> 9000 */
	return q + (size_t)qihl * 4 + 8;
}

static void test_icmp_parse(void **state)
{
	struct lwt_pmtu_icmp q;
	uint8_t b[128];
	size_t len, cut;
	int i;

	len = icmp_msg(b, 5, 5, 1280, 6);
	assert_int_equal(lwt_pmtu_icmp_parse(b, len, &q), 0);
	assert_int_equal(q.mtu, 1280);
	assert_int_equal(q.saddr, inet_addr("10.97.1.2"));
	assert_int_equal(q.daddr, inet_addr("10.97.2.2"));
	assert_int_equal(ntohs(q.sport), 55000);
	assert_int_equal(ntohs(q.dport), 9000);
	/* Options in either header: the ports are found past them. */
	len = icmp_msg(b, 7, 6, 576, 6);
	assert_int_equal(lwt_pmtu_icmp_parse(b, len, &q), 0);
	assert_int_equal(ntohs(q.dport), 9000);
	/* Only the ports of the quoted TCP header are needed. */
	len = icmp_msg(b, 5, 5, 1280, 6);
	for (cut = 0; cut < len - 4; cut++)
		if (lwt_pmtu_icmp_parse(b, cut, &q) != -EINVAL)
			fail_msg("truncated to %zu bytes: parsed", cut);
	assert_int_equal(lwt_pmtu_icmp_parse(b, len - 4, &q), 0);

	for (i = 1; i <= 7; i++) {
		len = icmp_msg(b, 5, 5, 1280, 6);
		switch (i) {
		case 1: b[20] = 11; break;		/* time exceeded */
		case 2: b[21] = 3; break;		/* port unreachable */
		case 3: b[26] = b[27] = 0; break;	/* no MTU (pre-RFC 1191 router) */
		case 4: b[28 + 9] = 17; break;		/* quotes UDP */
		case 5: b[28] = 0x65; break;		/* quotes IPv6? version 6 */
		case 6: b[28] = 0x44; break;		/* quoted ihl 4 */
		case 7: b[0] = 0x44; break;		/* outer ihl 4 */
		}
		if (lwt_pmtu_icmp_parse(b, len, &q) != -EINVAL)
			fail_msg("case %d: parsed", i);
	}
	assert_int_equal(LWT_PMTU_BASE, 576);
}

/* The hub's answer to a relayed packet too large for its receiver: parses
 * back as what it quotes, both checksums right; none for a fragment past
 * the first or about an ICMP error. */
static void test_icmp_build(void **state)
{
	uint8_t pkt[1400] = { 0 }, out[LWT_PMTU_ICMP_MAX];
	struct lwt_pmtu_icmp q;
	size_t n;

	pkt[0] = 0x45;
	pkt[2] = 1400 >> 8;
	pkt[3] = 1400 & 0xff;
	pkt[6] = 0x40;
	pkt[8] = 64;
	pkt[9] = 6;
	memcpy(pkt + 12, "\x0a\x00\x00\x03", 4);
	memcpy(pkt + 16, "\x0a\x00\x00\x02", 4);
	memcpy(pkt + 20, "\x9c\x40\x13\x89", 4);	/* 40000 -> 5001 */
	n = lwt_pmtu_icmp_build(out, pkt, sizeof(pkt), inet_addr("10.0.0.1"), 1183);
	assert_int_equal(n, 20 + 8 + 28);
	assert_int_equal(out[2] << 8 | out[3], n);
	assert_int_equal(lwt_ip_csum(out, 20), 0);
	assert_int_equal(lwt_ip_csum(out + 20, n - 20), 0);
	assert_memory_equal(out + 12, "\x0a\x00\x00\x01", 4);
	assert_memory_equal(out + 16, "\x0a\x00\x00\x03", 4);
	assert_int_equal(lwt_pmtu_icmp_parse(out, n, &q), 0);
	assert_int_equal(q.mtu, 1183);
	assert_int_equal(q.saddr, inet_addr("10.0.0.3"));
	assert_int_equal(q.daddr, inet_addr("10.0.0.2"));
	assert_int_equal(ntohs(q.dport), 5001);
	/* A later fragment: none. */
	pkt[6] = 0x00;
	pkt[7] = 0xb9;
	assert_int_equal(lwt_pmtu_icmp_build(out, pkt, sizeof(pkt), 1, 1183), 0);
	pkt[7] = 0;
	/* About an ICMP error: none; about an echo request: one. */
	pkt[9] = 1;
	pkt[20] = 3;
	assert_int_equal(lwt_pmtu_icmp_build(out, pkt, sizeof(pkt), 1, 1183), 0);
	pkt[20] = 8;
	assert_int_equal(lwt_pmtu_icmp_build(out, pkt, sizeof(pkt), 1, 1183), 56);
	/* Malformed: too short, not IPv4, ihl past the packet. */
	assert_int_equal(lwt_pmtu_icmp_build(out, pkt, 19, 1, 1183), 0);
	pkt[0] = 0x65;
	assert_int_equal(lwt_pmtu_icmp_build(out, pkt, sizeof(pkt), 1, 1183), 0);
	pkt[0] = 0x4f;
	assert_int_equal(lwt_pmtu_icmp_build(out, pkt, 40, 1, 1183), 0);
}

/* The ICMPv6 checksum of the message at m (plen bytes) from the IPv6
 * header h, by the plain RFC 1071 sum: 0xffff when right. */
static uint16_t icmp6_sum(const uint8_t *h, const uint8_t *m, size_t plen)
{
	uint32_t s = 0;
	size_t i;

	for (i = 8; i < 40; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	s += (uint32_t)plen + IPPROTO_ICMPV6;
	for (i = 0; i + 1 < plen; i += 2)
		s += (uint32_t)(m[i] << 8 | m[i + 1]);
	if (plen & 1)
		s += (uint32_t)m[plen - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The hub's answer to a relayed inner IPv6 packet too large for its
 * receiver: an ICMPv6 Packet Too Big within 1280 bytes, to the packet's
 * source, checksum right, that the client side's parser reads back; none
 * about an ICMPv6 error, from a multicast or unspecified source, or for a
 * malformed packet. */
static void test_icmp6_build(void **state)
{
	uint8_t pkt[1400] = { 0 }, out[LWT_PMTU_ICMP6_MAX], hub[16] = { 0xfd };
	struct lwt_pmtu_icmp q;
	size_t n, plen;

	hub[15] = 1;
	pkt[0] = 0x60;
	pkt[4] = (1400 - 40) >> 8;
	pkt[5] = (1400 - 40) & 0xff;
	pkt[6] = 6;
	pkt[7] = 64;
	pkt[8] = 0xfd;
	pkt[23] = 0x13;				/* fd00::13 */
	pkt[24] = 0xfd;
	pkt[39] = 0x11;				/* -> fd00::11 */
	memcpy(pkt + 40, "\x9c\x40\x13\x89", 4);	/* 40000 -> 5001 */
	for (size_t i = 60; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 7);
	n = lwt_pmtu_icmp6_build(out, pkt, sizeof(pkt), hub, 1353);
	assert_int_equal(n, 1280);
	plen = (size_t)(out[4] << 8 | out[5]);
	assert_int_equal(plen, 1280 - 40);
	assert_int_equal(out[0] >> 4, 6);
	assert_int_equal(out[6], IPPROTO_ICMPV6);
	assert_int_equal(out[7], 64);
	assert_memory_equal(out + 8, hub, 16);
	assert_memory_equal(out + 24, pkt + 8, 16);
	assert_int_equal(icmp6_sum(out, out + 40, plen), 0xffff);
	assert_memory_equal(out + 48, pkt, 1280 - 48);
	assert_int_equal(lwt_pmtu_icmp6_parse(out + 40, n - 40, &q), 0);
	assert_int_equal(q.mtu, 1353);
	assert_memory_equal(q.sa6.b, pkt + 8, 16);
	assert_memory_equal(q.da6.b, pkt + 24, 16);
	assert_int_equal(ntohs(q.dport), 5001);
	/* A small packet is quoted whole (odd length: the checksum's tail). */
	pkt[4] = 0;
	pkt[5] = 61;
	n = lwt_pmtu_icmp6_build(out, pkt, 101, hub, 1353);
	assert_int_equal(n, 48 + 101);
	assert_int_equal(icmp6_sum(out, out + 40, n - 40), 0xffff);
	pkt[5] = 60;
	/* About an ICMPv6 error: none; about an echo request: one. */
	pkt[6] = IPPROTO_ICMPV6;
	pkt[40] = 1;
	assert_int_equal(lwt_pmtu_icmp6_build(out, pkt, 100, hub, 1353), 0);
	pkt[40] = 128;
	assert_int_equal(lwt_pmtu_icmp6_build(out, pkt, 100, hub, 1353), 148);
	/* A multicast or unspecified source, a payload length past the
	 * packet, not IPv6, too short: none. */
	pkt[8] = 0xff;
	assert_int_equal(lwt_pmtu_icmp6_build(out, pkt, 100, hub, 1353), 0);
	memset(pkt + 8, 0, 16);
	assert_int_equal(lwt_pmtu_icmp6_build(out, pkt, 100, hub, 1353), 0);
	pkt[8] = 0xfd;
	pkt[23] = 0x13;
	assert_int_equal(lwt_pmtu_icmp6_build(out, pkt, 99, hub, 1353), 0);
	pkt[0] = 0x45;
	assert_int_equal(lwt_pmtu_icmp6_build(out, pkt, 100, hub, 1353), 0);
	pkt[0] = 0x60;
	assert_int_equal(lwt_pmtu_icmp6_build(out, pkt, 39, hub, 1353), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_layout),
		cmocka_unit_test(test_converge),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_hint),
		cmocka_unit_test(test_icmp_parse),
		cmocka_unit_test(test_icmp_build),
		cmocka_unit_test(test_icmp6_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
