// SPDX-License-Identifier: MIT
/* Fake TCP over IPv6: builders parsed back, the header's fields (hop limit,
 * flow label, payload length), the TCP checksum against a plain reference
 * over the IPv6 pseudo-header, a flow both ways, SYN cookies, and input
 * refused: every truncation, extension headers, fragments, bad checksums,
 * v4-mapped sources. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "faketcp.h"

static struct lwt_addr caddr, saddr;

static int setup(void **state)
{
	(void)state;
	assert_true(lwt_addr_parse("2001:db8::2", &caddr));
	assert_true(lwt_addr_parse("2001:db8:1::1", &saddr));
	return 0;
}

/* RFC 1071 over a copy of the RFC 8200 pseudo-header and the TCP part. */
static uint16_t ref_csum6(const uint8_t *ip, size_t tl)
{
	uint8_t *b = calloc(1, 40 + tl + 1);
	uint32_t s = 0;
	size_t i;

	memcpy(b, ip + 8, 32);
	b[32] = (uint8_t)(tl >> 24);
	b[33] = (uint8_t)(tl >> 16);
	b[34] = (uint8_t)(tl >> 8);
	b[35] = (uint8_t)tl;
	b[39] = 6;
	memcpy(b + 40, ip + 40, tl);
	for (i = 0; i + 1 < 40 + tl; i += 2)
		s += b[i] << 8 | b[i + 1];
	if ((40 + tl) & 1)
		s += b[40 + tl - 1] << 8;
	free(b);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;	/* 0xffff when the checksum field is right */
}

static void pair(struct lwt_ftcp_conn *c, struct lwt_ftcp_conn *s)
{
	lwt_ftcp_init_addr(c, &caddr, htons(40000), &saddr, htons(9000));
	lwt_ftcp_init_addr(s, &saddr, htons(9000), &caddr, htons(40000));
}

/* 1: the SYN: header fields, Linux's options, the reference checksum. */
static void test_syn6(void **state)
{
	struct lwt_ftcp_conn c, s;
	struct lwt_tcp_seg g;
	uint8_t pkt[128];
	int n;

	(void)state;
	pair(&c, &s);
	assert_true(c.v6);
	assert_true(c.flowlabel > 0 && c.flowlabel < 0x80000);
	n = lwt_ftcp_build_syn(&c, pkt, sizeof(pkt), 1440);
	assert_int_equal(n, LWT_IP6_HDR_LEN + LWT_TCP_SYN_HDR_LEN);
	assert_int_equal(pkt[0], 0x60);			/* version 6, traffic class 0 */
	assert_int_equal(pkt[1] >> 4, 0);
	assert_int_equal((pkt[1] & 0x0f) << 16 | pkt[2] << 8 | pkt[3], c.flowlabel);
	assert_int_equal(pkt[4] << 8 | pkt[5], LWT_TCP_SYN_HDR_LEN);	/* payload length */
	assert_int_equal(pkt[6], 6);					/* next header TCP */
	assert_int_equal(pkt[7], 64);					/* hop limit */
	assert_memory_equal(pkt + 8, caddr.b, 16);
	assert_memory_equal(pkt + 24, saddr.b, 16);
	assert_int_equal(ref_csum6(pkt, (size_t)n - 40), 0xffff);
	assert_int_equal(lwt_tcp_parse(pkt, (size_t)n, true, &g), 0);
	assert_true(g.v6);
	assert_true(lwt_addr_eq(&g.sa, &caddr) && lwt_addr_eq(&g.da, &saddr));
	assert_int_equal(g.saddr, lwt_addr_key32(&caddr));
	assert_int_equal(g.flags, LWT_TCP_SYN);
	assert_true(g.has_mss && g.mss == 1440 && g.sack_perm && g.has_ts && g.has_ws);
	assert_int_equal(g.ttl, 64);
	assert_int_equal(g.flowlabel, c.flowlabel);
	/* The TCP part is the IPv4 SYN's, byte for byte but for the checksum. */
	{
		struct lwt_ftcp_conn c4 = c;
		uint8_t p4[128];

		c4.v6 = false;
		c4.snd_nxt = c4.iss;
		c4.state = LWT_FTCP_CLOSED;
		c4.ts_offset = c.ts_offset;
		assert_int_equal(lwt_ftcp_build_syn(&c4, p4, sizeof(p4), 1440), 60);
		assert_memory_equal(p4 + 20, pkt + 40, 16);		/* ports .. window */
		assert_memory_equal(p4 + 40, pkt + 60, 4);		/* MSS option */
	}
}

/* 2: handshake and data both ways; a data segment's payload sits after a
 * 40 + 32 byte header. */
static void test_flow6(void **state)
{
	struct lwt_ftcp_conn c, s;
	struct lwt_tcp_seg g;
	uint8_t pkt[2048];
	int n, i;

	(void)state;
	pair(&c, &s);
	n = lwt_ftcp_build_syn(&c, pkt, sizeof(pkt), 1440);
	assert_int_equal(lwt_tcp_parse(pkt, (size_t)n, true, &g), 0);
	assert_int_equal(lwt_ftcp_accept_syn(&s, &g), 0);
	n = lwt_ftcp_build_synack(&s, pkt, sizeof(pkt), 1440);
	assert_int_equal(lwt_tcp_parse(pkt, (size_t)n, true, &g), 0);
	assert_int_equal(lwt_ftcp_input(&c, &g), LWT_FTCP_SEND_ACK);
	n = lwt_ftcp_build_ack(&c, pkt, sizeof(pkt));
	assert_int_equal(lwt_tcp_parse(pkt, (size_t)n, true, &g), 0);
	assert_int_equal(lwt_ftcp_input(&s, &g), LWT_FTCP_OK);
	assert_int_equal(s.state, LWT_FTCP_ESTABLISHED);
	for (i = 0; i < 4; i++) {
		struct lwt_ftcp_conn *from = i & 1 ? &s : &c, *to = i & 1 ? &c : &s;
		size_t plen = 1 + (size_t)i * 333;

		memset(pkt + LWT_IP6_HDR_LEN + LWT_TCP_DATA_HDR_LEN, 'a' + i, plen);
		n = lwt_ftcp_build_data(from, pkt, sizeof(pkt), plen);
		assert_int_equal(n, LWT_IP6_HDR_LEN + LWT_TCP_DATA_HDR_LEN + (int)plen);
		assert_int_equal(ref_csum6(pkt, (size_t)n - 40), 0xffff);
		assert_int_equal(lwt_tcp_parse(pkt, (size_t)n, true, &g), 0);
		assert_int_equal(g.payload_len, plen);
		assert_int_equal(g.payload[plen - 1], 'a' + i);
		assert_int_equal(lwt_ftcp_input(to, &g), LWT_FTCP_OK);
		lwt_ftcp_commit(to, &g);
	}
	assert_int_equal(c.rcv_nxt, s.snd_nxt);
	assert_int_equal(s.rcv_nxt, c.snd_nxt);
}

/* 3: what is refused. */
static void test_bad6(void **state)
{
	struct lwt_ftcp_conn c, s;
	struct lwt_tcp_seg g;
	uint8_t pkt[256], bad[256];
	static const uint8_t ext[] = { 0, 43, 44, 50, 51, 59, 60, 17 };
	size_t k;
	int n;

	(void)state;
	pair(&c, &s);
	memcpy(pkt + 72, "payload!", 8);
	n = lwt_ftcp_build_data(&c, pkt, sizeof(pkt), 8);
	assert_int_equal(lwt_tcp_parse(pkt, (size_t)n, true, &g), 0);
	/* 1: every truncation short of the TCP header, or of the payload
	 * length the header gives. */
	for (k = 0; k < (size_t)n; k++)
		assert_int_equal(lwt_tcp_parse(pkt, k, true, &g), -EBADMSG);
	/* 2: an extension header of any kind, the fragment header (44) among
	 * them, or another upper layer (UDP 17). */
	for (k = 0; k < sizeof(ext); k++) {
		memcpy(bad, pkt, (size_t)n);
		bad[6] = ext[k];
		assert_int_equal(lwt_tcp_parse(bad, (size_t)n, true, &g), -EPROTONOSUPPORT);
	}
	/* 3: each byte of the pseudo-header and TCP part flipped: the checksum
	 * catches it (the hop limit and flow label are outside it). */
	for (k = 8; k < (size_t)n; k++) {
		memcpy(bad, pkt, (size_t)n);
		bad[k] ^= 0x40;
		assert_int_equal(lwt_tcp_parse(bad, (size_t)n, true, &g), -EBADMSG);
	}
	/* 4: a v4-mapped source (never on an IPv6 wire). */
	memcpy(bad, pkt, (size_t)n);
	memset(bad + 8, 0, 10);
	bad[18] = bad[19] = 0xff;
	assert_int_equal(lwt_tcp_parse(bad, (size_t)n, false, &g), -EBADMSG);
	/* 5: a doff past the segment; a doff under 5. */
	memcpy(bad, pkt, (size_t)n);
	bad[40 + 12] = 0xf0;
	assert_int_equal(lwt_tcp_parse(bad, (size_t)n, false, &g), -EBADMSG);
	bad[40 + 12] = 0x40;
	assert_int_equal(lwt_tcp_parse(bad, (size_t)n, false, &g), -EBADMSG);
	/* 6: payload length 0 (a GSO super-packet) takes the buffer. */
	memcpy(bad, pkt, (size_t)n);
	bad[4] = bad[5] = 0;
	assert_int_equal(lwt_tcp_parse(bad, (size_t)n, false, &g), 0);
	assert_int_equal(g.payload_len, 8);
}

/* 4: SYN cookies over IPv6: the ACK of the cookie SYN-ACK makes a flow
 * with the SYN-ACK's flow label; the same ACK from another address of the
 * same /64 (the same 32-bit stand-in's prefix) is refused. */
static void test_cookie6(void **state)
{
	struct lwt_syncookie_key k;
	struct lwt_ftcp_conn c, srv;
	struct lwt_tcp_seg g, sa;
	uint8_t pkt[256], ack[256];
	uint32_t now = lwt_syncookie_now(), label;
	int n, m;

	(void)state;
	lwt_syncookie_init(&k);
	lwt_ftcp_init_addr(&c, &caddr, htons(40000), &saddr, htons(9000));
	n = lwt_ftcp_build_syn(&c, pkt, sizeof(pkt), 1440);
	assert_int_equal(lwt_tcp_parse(pkt, (size_t)n, true, &g), 0);
	n = lwt_ftcp_build_cookie_synack(&k, now, &g, 1440, pkt, sizeof(pkt));
	assert_true(n == LWT_IP6_HDR_LEN + 40);
	assert_int_equal(lwt_tcp_parse(pkt, (size_t)n, true, &sa), 0);
	assert_true(sa.v6 && lwt_addr_eq(&sa.sa, &saddr));
	label = sa.flowlabel;
	assert_int_equal(lwt_ftcp_input(&c, &sa), LWT_FTCP_SEND_ACK);
	m = lwt_ftcp_build_ack(&c, ack, sizeof(ack));
	assert_int_equal(lwt_tcp_parse(ack, (size_t)m, true, &g), 0);
	assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &srv, &g), 0);
	assert_true(srv.v6 && lwt_addr_eq(&srv.ra, &caddr));
	assert_int_equal(srv.flowlabel, label);
	/* Another host: the cookie names the whole address. */
	g.sa.b[15] ^= 1;
	assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &srv, &g), -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_syn6, setup),
		cmocka_unit_test_setup(test_flow6, setup),
		cmocka_unit_test_setup(test_bad6, setup),
		cmocka_unit_test_setup(test_cookie6, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
