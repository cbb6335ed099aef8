// SPDX-License-Identifier: MIT
/* Fake TCP: builders parsed back, checksums against a reference, options of
 * every length, truncation at every byte, the seq/ack state machine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "faketcp.h"

#define CADDR 0x0200630a	/* 10.99.0.2 (network order on little endian) */
#define SADDR 0x0100630a

/* Reference checksum: plain RFC 1071 over a pseudo-header copy. */
static uint16_t ref_tcp_csum(const uint8_t *ip)
{
	size_t ihl = (ip[0] & 15) * 4, tot = ip[2] << 8 | ip[3], tl = tot - ihl, i;
	uint8_t *b = calloc(1, 12 + tl + 1);
	uint32_t s = 0;

	memcpy(b, ip + 12, 8);
	b[9] = 6;
	b[10] = tl >> 8;
	b[11] = tl & 0xff;
	memcpy(b + 12, ip + ihl, tl);
	for (i = 0; i + 1 < 12 + tl; i += 2)
		s += b[i] << 8 | b[i + 1];
	if ((12 + tl) & 1)
		s += b[12 + tl - 1] << 8;
	free(b);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;	/* 0xffff when the checksum field is right */
}

static void pair(struct lwt_ftcp_conn *c, struct lwt_ftcp_conn *s)
{
	lwt_ftcp_init(c, CADDR, htons(40000), SADDR, htons(9000));
	lwt_ftcp_init(s, SADDR, htons(9000), CADDR, htons(40000));
}

/* Deliver a built packet from one side to the other, as the data plane
 * does when its records authenticate: an accepted data segment is then
 * committed. */
static enum lwt_ftcp_verdict deliver(struct lwt_ftcp_conn *to, uint8_t *pkt, int len,
				     struct lwt_tcp_seg *g)
{
	enum lwt_ftcp_verdict v;

	assert_true(len > 0);
	assert_int_equal(lwt_tcp_parse(pkt, len, true, g), 0);
	v = lwt_ftcp_input(to, g);
	if (v == LWT_FTCP_OK && g->payload_len)
		lwt_ftcp_commit(to, g);
	return v;
}

/* ... and as it does when they do not (a spoofed segment): no commit. */
static enum lwt_ftcp_verdict deliver_forged(struct lwt_ftcp_conn *to, uint8_t *pkt, int len,
					    struct lwt_tcp_seg *g)
{
	assert_true(len > 0);
	assert_int_equal(lwt_tcp_parse(pkt, len, true, g), 0);
	return lwt_ftcp_input(to, g);
}

static void establish(struct lwt_ftcp_conn *c, struct lwt_ftcp_conn *s)
{
	uint8_t b[2048];
	struct lwt_tcp_seg g;
	int n;

	pair(c, s);
	n = lwt_ftcp_build_syn(c, b, sizeof(b), 1460);
	assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
	assert_int_equal(lwt_ftcp_accept_syn(s, &g), 0);
	n = lwt_ftcp_build_synack(s, b, sizeof(b), 1460);
	assert_int_equal(deliver(c, b, n, &g), LWT_FTCP_SEND_ACK);
	n = lwt_ftcp_build_ack(c, b, sizeof(b));
	assert_int_equal(deliver(s, b, n, &g), LWT_FTCP_OK);
	assert_int_equal(c->state, LWT_FTCP_ESTABLISHED);
	assert_int_equal(s->state, LWT_FTCP_ESTABLISHED);
}

static void test_syn_linux_profile(void **state)
{
	struct lwt_ftcp_conn c, s;
	uint8_t b[128];
	struct lwt_tcp_seg g;
	int n;
	static const uint8_t opt_kinds[] = { 2, 4, 2, 8, 10 };

	pair(&c, &s);
	n = lwt_ftcp_build_syn(&c, b, sizeof(b), 1460);
	assert_int_equal(n, LWT_IP_HDR_LEN + LWT_TCP_SYN_HDR_LEN);
	/* Options in Linux's order: MSS, SACK_PERM, TS, NOP, WS. */
	assert_int_equal(b[40], 2);
	assert_int_equal(b[41], 4);
	assert_int_equal(b[42] << 8 | b[43], 1460);
	assert_memory_equal(b + 44, opt_kinds + 1, 2);
	assert_int_equal(b[46], 8);
	assert_int_equal(b[47], 10);
	assert_int_equal(b[56], 1);
	assert_int_equal(b[57], 3);
	assert_int_equal(b[58], 3);
	assert_int_equal(b[59], LWT_FTCP_WSCALE);	/* before lwt_ftcp_profile_load() */
	assert_int_equal(b[8], 64);		/* TTL */
	assert_int_equal(b[6] & 0x40, 0x40);	/* DF */
	assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
	assert_int_equal(g.flags, LWT_TCP_SYN);
	assert_int_equal(g.seq, c.iss);
	assert_true(g.has_mss && g.has_ws && g.has_ts && g.sack_perm);
	assert_int_equal(g.tsecr, 0);
	assert_int_equal(g.window, 64240);
	assert_int_equal(ref_tcp_csum(b), 0xffff);
	assert_int_equal(lwt_ip_csum(b, 20), 0);
}

static void put_sysctls(const char *root, const char *rmem, const char *rmem_max)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "mkdir -p %s/net/ipv4 %s/net/core", root, root);
	assert_int_equal(system(p), 0);
	snprintf(p, sizeof(p), "%s/net/ipv4/tcp_rmem", root);
	assert_non_null(f = fopen(p, "w"));
	fprintf(f, "%s\n", rmem);
	fclose(f);
	snprintf(p, sizeof(p), "%s/net/core/rmem_max", root);
	assert_non_null(f = fopen(p, "w"));
	fprintf(f, "%s\n", rmem_max);
	fclose(f);
}

/* The SYN's window and window scale follow the host's sysctls as its kernel
 * derives them; the figures are what Linux 6.x sent for each setting
 * (tcpdump of a connect(), MSS 1460; SYN-ACK with timestamps). */
static void test_syn_profile_sysctls(void **state)
{
	static const struct {
		const char *rmem, *rmem_max;
		unsigned int ws, syn, synack;
	} k[] = {
		{ "4096\t131072\t33554432", "4194304", 10, 64240, 65160 },
		{ "4096\t131072\t6291456", "212992", 7, 64240, 65160 },
		{ "4096\t87380\t6291456", "212992", 7, 42340, 43440 },
		{ "4096\t262144\t1048576", "4194304", 7, 65535, 65535 },
		{ "4096\t16384\t4194304", "67108864", 11, 7300, 7240 },
		{ "4096\t131072\t16384", "4194304", 7, 64240, 65160 },
	};
	char root[] = "/tmp/lwt-sysctl-XXXXXX", cmd[64];
	struct lwt_ftcp_conn c;
	struct lwt_tcp_seg g;
	uint8_t b[128];
	size_t i;
	int n;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(lwt_ftcp_profile_load(root), -ENOENT);
	assert_int_equal(lwt_ftcp_prof.wscale, LWT_FTCP_WSCALE);
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		put_sysctls(root, k[i].rmem, k[i].rmem_max);
		assert_int_equal(lwt_ftcp_profile_load(root), 0);
		assert_int_equal(lwt_ftcp_prof.wscale, k[i].ws);
		assert_int_equal(lwt_ftcp_syn_window(1460), k[i].syn);
		assert_int_equal(lwt_ftcp_synack_window(1460, true), k[i].synack);
		lwt_ftcp_init(&c, htonl(0x0a000001), htons(40000), htonl(0x0a000002), htons(9000));
		n = lwt_ftcp_build_syn(&c, b, sizeof(b), 1460);
		assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
		assert_int_equal(g.wscale, k[i].ws);
		assert_int_equal(g.window, k[i].syn);
	}
	put_sysctls(root, "4096", "212992");		/* one number: malformed */
	assert_int_equal(lwt_ftcp_profile_load(root), -EINVAL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	lwt_ftcp_prof.space = 65536;
	lwt_ftcp_prof.wscale = LWT_FTCP_WSCALE;
}

/* A SYN without a window scale gets a SYN-ACK without one, and then
 * neither side scales: the server's window field is its window in bytes. */
static void test_synack_no_wscale(void **state)
{
	struct lwt_ftcp_conn c, s;
	uint8_t b[128];
	struct lwt_tcp_seg g, a;
	int n;

	pair(&c, &s);
	n = lwt_ftcp_build_syn(&c, b, sizeof(b), 1460);
	assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
	g.has_ws = false;
	assert_int_equal(lwt_ftcp_accept_syn(&s, &g), 0);
	n = lwt_ftcp_build_synack(&s, b, sizeof(b), 1460);
	assert_int_equal(lwt_tcp_parse(b, n, true, &a), 0);
	assert_false(a.has_ws);
	assert_int_equal(a.doff, 36);		/* MSS, SACK_PERM, TS: 16 bytes */
	assert_int_equal(deliver(&c, b, n, &a), LWT_FTCP_SEND_ACK);
	assert_int_equal(c.snd_wscale, 0);
	assert_int_equal(c.rcv_wscale, 0);
	n = lwt_ftcp_build_ack(&c, b, sizeof(b));
	assert_int_equal(deliver(&s, b, n, &a), LWT_FTCP_OK);
	assert_int_equal(s.state, LWT_FTCP_ESTABLISHED);
	n = lwt_ftcp_build_ack(&s, b, sizeof(b));
	assert_int_equal(lwt_tcp_parse(b, n, true, &a), 0);
	assert_int_equal(a.window, s.rcv_wnd);
	assert_int_equal(s.rcv_wnd, 65535);
}

static void test_isn_random(void **state)
{
	struct lwt_ftcp_conn a, b;

	pair(&a, &b);
	assert_int_not_equal(a.iss, b.iss);
	assert_int_not_equal(a.ts_offset, b.ts_offset);
}

static void test_data_both_ways(void **state)
{
	struct lwt_ftcp_conn c, s;
	uint8_t b[2048];
	struct lwt_tcp_seg g;
	uint32_t seq0;
	int i, n;
	uint16_t id0;

	establish(&c, &s);
	for (i = 0; i < 50; i++) {
		struct lwt_ftcp_conn *from = i & 1 ? &s : &c, *to = i & 1 ? &c : &s;
		size_t plen = 1 + (i * 37) % 1400;

		memset(b + 52, i, plen);
		seq0 = from->snd_nxt;
		id0 = from->ip_id;
		n = lwt_ftcp_build_data(from, b, sizeof(b), plen);
		assert_int_equal(n, 52 + plen);
		assert_int_equal(ref_tcp_csum(b), 0xffff);
		assert_int_equal(deliver(to, b, n, &g), LWT_FTCP_OK);
		assert_int_equal(g.seq, seq0);
		assert_int_equal(g.ack, from->rcv_nxt);
		assert_int_equal(g.ip_id, id0);
		assert_int_equal(g.flags, LWT_TCP_ACK | LWT_TCP_PSH);
		assert_int_equal(g.doff, 32);
		assert_true(g.has_ts);
		assert_int_equal(g.tsecr, from->ts_recent);
		assert_int_equal(g.payload_len, plen);
		assert_int_equal(g.payload[0], i);
		assert_int_equal(to->rcv_nxt, seq0 + plen);
		assert_int_equal(from->snd_nxt, seq0 + plen);
		assert_int_equal(g.window, 65535);
	}
	/* The last segment came from s and acked all of c's data. */
	assert_int_equal(c.snd_una, c.snd_nxt);
}

static void test_loss_and_reorder(void **state)
{
	struct lwt_ftcp_conn c, s;
	uint8_t b1[2048], b2[2048], b3[2048];
	struct lwt_tcp_seg g;
	int n1, n2, n3;

	establish(&c, &s);
	n1 = lwt_ftcp_build_data(&c, b1, sizeof(b1), 100);
	n2 = lwt_ftcp_build_data(&c, b2, sizeof(b2), 100);
	n3 = lwt_ftcp_build_data(&c, b3, sizeof(b3), 100);
	/* 2 is lost, 3 arrives: accepted, rcv_nxt jumps past the hole. */
	assert_int_equal(deliver(&s, b3, n3, &g), LWT_FTCP_OK);
	assert_int_equal(s.rcv_nxt, c.snd_nxt);
	/* 1 arrives late: still accepted (reordering), rcv_nxt unchanged. */
	assert_int_equal(deliver(&s, b1, n1, &g), LWT_FTCP_OK);
	assert_int_equal(s.rcv_nxt, c.snd_nxt);
	(void)n2;
}

/* Off-path injection: segments at any sequence and acknowledgement, with
 * payloads that never authenticate, move nothing; the flow carries on. A
 * pure ACK (nothing to authenticate) may move snd_una, but cannot pull the
 * peer's window back. */
static void test_blind_injection(void **state)
{
	struct lwt_ftcp_conn c, s, before, atk;
	uint8_t b[2048];
	struct lwt_tcp_seg g;
	unsigned int i, ok = 0;
	int n;

	establish(&c, &s);
	srand(1);
	/* 1: data segments spread over the whole space: the few in window
	 * are accepted (their records are checked next) but move nothing. */
	before = s;
	atk = c;
	for (i = 0; i < 200000; i++) {
		atk.snd_nxt = (uint32_t)rand() << 1 ^ (uint32_t)rand();
		atk.rcv_nxt = (uint32_t)rand() << 1 ^ (uint32_t)rand();
		n = lwt_ftcp_build_data(&atk, b, sizeof(b), 100);
		ok += deliver_forged(&s, b, n, &g) == LWT_FTCP_OK;
	}
	/* 200000 x 9 MiB / 4 GiB x (ack range / 4 GiB) : a handful at most */
	assert_true(ok < 100);
	assert_memory_equal(&s, &before, sizeof(s));
	/* 2: the same right in the window (the attacker saw the numbers):
	 * still nothing moves without authentication. */
	for (i = 1; i <= 64; i++) {
		atk = c;
		atk.snd_nxt = s.rcv_nxt + i * 65536;
		atk.rcv_nxt = s.snd_nxt;
		n = lwt_ftcp_build_data(&atk, b, sizeof(b), 1000);
		assert_int_equal(deliver_forged(&s, b, n, &g), LWT_FTCP_OK);
	}
	assert_memory_equal(&s, &before, sizeof(s));
	/* ... and the real peer's next segment is accepted and moves it. */
	n = lwt_ftcp_build_data(&c, b, sizeof(b), 10);
	assert_int_equal(deliver(&s, b, n, &g), LWT_FTCP_OK);
	assert_int_equal(s.rcv_nxt, c.snd_nxt);
	/* 3: a pure ACK with a zero window cannot close ours... */
	atk = c;
	n = lwt_ftcp_build_ack(&atk, b, sizeof(b));
	b[LWT_IP_HDR_LEN + 14] = 0;
	b[LWT_IP_HDR_LEN + 15] = 0;
	b[LWT_IP_HDR_LEN + 16] = 0;	/* checksum no longer matters: parse with verify off */
	assert_int_equal(lwt_tcp_parse(b, n, false, &g), 0);
	assert_int_equal(g.window, 0);
	assert_int_equal(lwt_ftcp_input(&s, &g), LWT_FTCP_OK);
	assert_int_equal(s.snd_wnd, before.snd_wnd);
	/* ... an authenticated segment with a smaller window can. */
	n = lwt_ftcp_build_data(&c, b, sizeof(b), 10);
	assert_int_equal(lwt_tcp_parse(b, n, false, &g), 0);
	g.window = 16;
	assert_int_equal(lwt_ftcp_input(&s, &g), LWT_FTCP_OK);
	lwt_ftcp_commit(&s, &g);
	assert_int_equal(s.snd_wnd, 16u << 7);
}

/* Acceptance bounds. Late data: up to LWT_FTCP_LATE_BYTES behind rcv_nxt
 * (1 MiB: reordering), not a whole window. ACKs: RFC 5961 5.2, no older
 * than the largest window the peer advertised. */
static void test_acceptance_bounds(void **state)
{
	struct lwt_ftcp_conn c, s;
	uint8_t b[2048];
	struct lwt_tcp_seg g;
	struct { int64_t seq_off, ack_off; enum lwt_ftcp_verdict want; } cases[] = {
		{ 0, 0, LWT_FTCP_OK },				/* 1: in order */
		{ -(1 << 20), 0, LWT_FTCP_OK },			/* 2: 1 MiB late */
		{ -(1 << 20) - 1, 0, LWT_FTCP_DROP },		/* 3: one byte more */
		{ -(8 << 20), 0, LWT_FTCP_DROP },		/* 4: a window late */
		{ (65535 << 7) - 1, 0, LWT_FTCP_OK },		/* 5: end of our window */
		{ 65535 << 7, 0, LWT_FTCP_DROP },		/* 6: beyond it */
		{ 0, 1, LWT_FTCP_DROP },			/* 7: acks unsent data */
		{ 0, -(65535 << 7), LWT_FTCP_OK },		/* 8: max window back */
		{ 0, -(65535 << 7) - 1, LWT_FTCP_DROP },	/* 9: older */
		{ 0, -(1 << 30), LWT_FTCP_DROP },		/* 10: 1 GiB back */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lwt_ftcp_conn atk;
		int n;

		establish(&c, &s);
		/* the peer's window is known: max_snd_wnd is its scaled 65535 */
		n = lwt_ftcp_build_ack(&c, b, sizeof(b));
		assert_int_equal(deliver(&s, b, n, &g), LWT_FTCP_OK);
		atk = c;
		atk.snd_nxt = s.rcv_nxt + (uint32_t)cases[i].seq_off;
		atk.rcv_nxt = s.snd_nxt + (uint32_t)cases[i].ack_off;
		n = lwt_ftcp_build_data(&atk, b, sizeof(b), 100);
		if (deliver_forged(&s, b, n, &g) != cases[i].want)
			fail_msg("case %zu (seq %+lld, ack %+lld)", i + 1, (long long)cases[i].seq_off,
				 (long long)cases[i].ack_off);
	}
}

static void test_rst_rfc5961(void **state)
{
	struct lwt_ftcp_conn c, s;
	uint8_t b[128];
	struct lwt_tcp_seg g;
	struct { int32_t off; enum lwt_ftcp_verdict want; } cases[] = {
		{ 0, LWT_FTCP_RESET },		/* 1: exact */
		{ 1, LWT_FTCP_CHALLENGE_ACK },	/* 2: in window */
		{ 100000, LWT_FTCP_CHALLENGE_ACK },
		{ -1, LWT_FTCP_DROP },		/* 3: before */
		{ (int32_t)LWT_FTCP_WINDOW + 10, LWT_FTCP_DROP },	/* 4: beyond */
		{ INT32_MIN, LWT_FTCP_DROP },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n;

		establish(&c, &s);
		c.snd_nxt = s.rcv_nxt + (uint32_t)cases[i].off;
		n = lwt_ftcp_build_rst(&c, b, sizeof(b));
		assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
		if (lwt_ftcp_input(&s, &g) != cases[i].want)
			fail_msg("case %zu (offset %d)", i + 1, cases[i].off);
	}
}

static void test_bad_acks_and_syn(void **state)
{
	struct lwt_ftcp_conn c, s;
	uint8_t b[2048];
	struct lwt_tcp_seg g;
	int n;

	establish(&c, &s);
	/* An ACK for data never sent is dropped. */
	c.rcv_nxt = s.snd_nxt + 5000;
	n = lwt_ftcp_build_data(&c, b, sizeof(b), 10);
	assert_int_equal(deliver(&s, b, n, &g), LWT_FTCP_DROP);
	/* A SYN on an established flow gets a challenge ACK. */
	establish(&c, &s);
	n = lwt_ftcp_build_syn(&c, b, sizeof(b), 1460);
	assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
	assert_int_equal(lwt_ftcp_input(&s, &g), LWT_FTCP_CHALLENGE_ACK);
	/* Client: a SYN-ACK that does not ack our SYN is dropped. */
	pair(&c, &s);
	n = lwt_ftcp_build_syn(&c, b, sizeof(b), 1460);
	lwt_tcp_parse(b, n, true, &g);
	lwt_ftcp_accept_syn(&s, &g);
	s.rcv_nxt += 1;
	n = lwt_ftcp_build_synack(&s, b, sizeof(b), 1460);
	assert_int_equal(deliver(&c, b, n, &g), LWT_FTCP_DROP);
}

static void test_window(void **state)
{
	struct lwt_ftcp_conn c, s;

	uint8_t b[128];
	struct lwt_tcp_seg g;

	establish(&c, &s);
	/* Until the server's first scaled window, the client knows the SYN-ACK's. */
	assert_int_equal(c.snd_wnd, 65160);
	assert_int_equal(deliver(&c, b, lwt_ftcp_build_ack(&s, b, sizeof(b)), &g), LWT_FTCP_OK);
	assert_int_equal(c.snd_wnd, 65535u << 7);	/* the peer's scale, 7 */
	assert_true(lwt_ftcp_window_ok(&c, c.snd_wnd));
	assert_false(lwt_ftcp_window_ok(&c, c.snd_wnd + 1));
}

/* Build a TCP/IPv4 packet with the given raw option bytes. */
static size_t craft(uint8_t *p, const uint8_t *opt, size_t optlen, size_t plen)
{
	size_t thl = 20 + ((optlen + 3) & ~3u), tot = 20 + thl + plen;

	memset(p, 0, tot);
	p[0] = 0x45;
	p[2] = tot >> 8;
	p[3] = tot & 0xff;
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	p[32] = (uint8_t)((thl / 4) << 4);
	p[33] = LWT_TCP_ACK;
	memcpy(p + 40, opt, optlen);	/* padding stays 0 = EOL */
	return tot;
}

static void test_options_every_length(void **state)
{
	uint8_t p[256], opt[40];
	struct lwt_tcp_seg g;
	size_t len, i;

	for (len = 0; len <= 40; len++) {
		/* NOPs, then an unknown 2+ byte option filling the rest. */
		memset(opt, 1, len);
		if (len >= 4) {
			opt[len - 4] = 0xfd;
			opt[len - 3] = 4;
		}
		size_t n = craft(p, opt, len, 7);

		assert_int_equal(lwt_tcp_parse(p, n, false, &g), 0);
		assert_int_equal(g.payload_len, 7);
		assert_int_equal(g.doff, 20 + ((len + 3) & ~3u));
	}
	/* A timestamp after 28 bytes of NOPs is found. */
	memset(opt, 1, 40);
	opt[28] = 8;
	opt[29] = 10;
	opt[30] = 0x12;
	assert_int_equal(lwt_tcp_parse(p, craft(p, opt, 40, 0), false, &g), 0);
	assert_true(g.has_ts);
	assert_int_equal(g.tsval >> 24, 0x12);
	/* Malformed lists: option running past doff, length 0/1, wrong known lengths. */
	static const uint8_t bad[][4] = {
		{ 8, 10, 0, 0 }, { 0xfd, 0, 0, 0 }, { 0xfd, 1, 0, 0 }, { 2, 3, 0, 0 },
		{ 3, 4, 0, 0 }, { 4, 3, 0, 0 }, { 1, 1, 1, 0xfd },
	};
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (lwt_tcp_parse(p, craft(p, bad[i], 4, 0), false, &g) != -EBADMSG)
			fail_msg("bad option list %zu accepted", i + 1);
	/* EOL ends the list early: fine. */
	static const uint8_t eol[4] = { 0, 0xff, 0xff, 0xff };
	assert_int_equal(lwt_tcp_parse(p, craft(p, eol, 4, 0), false, &g), 0);
}

static void test_truncation_and_headers(void **state)
{
	struct lwt_ftcp_conn c, s;
	uint8_t b[2048], *t;
	struct lwt_tcp_seg g;
	int n, cut;

	establish(&c, &s);
	n = lwt_ftcp_build_data(&c, b, sizeof(b), 100);
	for (cut = 0; cut < n; cut++) {
		t = malloc(cut ? cut : 1);
		memcpy(t, b, cut);
		assert_int_not_equal(lwt_tcp_parse(t, cut, false, &g), 0);
		free(t);
	}
	/* Checksums verified on request. */
	b[60] ^= 1;
	assert_int_equal(lwt_tcp_parse(b, n, true, &g), -EBADMSG);
	assert_int_equal(lwt_tcp_parse(b, n, false, &g), 0);
	b[60] ^= 1;
	/* Not TCP, not IPv4, fragments. */
	b[9] = 17;
	assert_int_equal(lwt_tcp_parse(b, n, false, &g), -EPROTONOSUPPORT);
	b[9] = 6;
	b[0] = 0x65;
	assert_int_equal(lwt_tcp_parse(b, n, false, &g), -EPROTONOSUPPORT);
	b[0] = 0x45;
	b[6] = 0x20;	/* MF */
	assert_int_equal(lwt_tcp_parse(b, n, false, &g), -EPROTONOSUPPORT);
	b[6] = 0x40;
	/* IP options (IHL 6) are parsed past. */
	memmove(b + 24, b + 20, n - 20);
	memset(b + 20, 1, 4);
	b[0] = 0x46;
	b[2] = (n + 4) >> 8;
	b[3] = (n + 4) & 0xff;
	assert_int_equal(lwt_tcp_parse(b, n + 4, false, &g), 0);
	assert_int_equal(g.payload_len, 100);
}

static void test_checksum_known(void **state)
{
	/* RFC 1071's example words. */
	static const uint8_t w[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	uint8_t big[1501];
	uint32_t ref;
	size_t i, n, off;

	assert_int_equal(lwt_csum_fold(lwt_csum_partial(w, sizeof(w), 0)), (uint16_t)~0xddf2);
	assert_int_equal(lwt_csum_fold(0x2ddf0), (uint16_t)~0xddf2);
	/* The word-at-a-time sum agrees with the plain RFC 1071 loop for every
	 * length and alignment, and when chained. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 131 + 7);
	for (off = 0; off < 8; off++) {
		for (n = 0; n + off <= sizeof(big); n += 37) {
			ref = ref_sum(big + off, n, 0x1234);
			assert_int_equal(lwt_csum_fold(lwt_csum_partial(big + off, n, 0x1234)),
					 lwt_csum_fold(ref));
		}
	}
	memset(big, 0xff, sizeof(big));
	assert_int_equal(lwt_csum_fold(lwt_csum_partial(big, 1500, 0)), lwt_csum_fold(750 * 0xffffu));
}

/* Independent reference for lwt_csum64: the 32-bit words of the data in
 * memory order (read byte by byte, a short last word padded with zeros)
 * added to a 64-bit start. The header promises this exact 64-bit value from
 * every variant, not only the same folded checksum. */
static uint64_t ref_sum64(uint64_t s, const uint8_t *p, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i += 4) {
		uint8_t b[4] = { 0 };

		for (j = 0; j < 4 && i + j < n; j++)
			b[j] = p[i + j];
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		s += (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24;
#else
		s += (uint64_t)b[3] | (uint64_t)b[2] << 8 | (uint64_t)b[1] << 16 | (uint64_t)b[0] << 24;
#endif
	}
	return s;
}

/* One variant of lwt_csum64 against both references: the exact 64-bit sum,
 * and, folded and read as network order, the plain RFC 1071 checksum
 * (testutil.h) of the same bytes, for every length up to 3000 at every
 * alignment from a random start, and on 64 KB of 0xff (the most carries).
 * min_len: the shortest length that takes the variant's own path. */
static void check_csum64(uint64_t (*sum64)(uint64_t, const void *, size_t), size_t min_len)
{
	static uint8_t buf[65536 + 8];
	uint64_t start, got;
	size_t i, n, off;

	srandom(7);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)random();
	for (off = 0; off < 8; off++) {
		for (n = min_len; n <= 3000; n++) {
			start = (uint64_t)random() << 20 ^ (uint64_t)random();
			got = sum64(start, buf + off, n);
			if (got != ref_sum64(start, buf + off, n))
				fail_msg("length %zu at offset %zu: sum %#llx, reference %#llx", n, off,
					 (unsigned long long)got,
					 (unsigned long long)ref_sum64(start, buf + off, n));
			/* start folded and swapped to network order is the RFC 1071
			 * start; both sums are nonzero, so one fold each compares. */
			if (ntohs(lwt_csum64_fold(got)) !=
			    ref_fold(ref_sum(buf + off, n, ntohs(lwt_csum64_fold(start)))))
				fail_msg("length %zu at offset %zu: folded %#x, RFC 1071 %#x", n, off,
					 ntohs(lwt_csum64_fold(got)),
					 ref_fold(ref_sum(buf + off, n, ntohs(lwt_csum64_fold(start)))));
		}
	}
	memset(buf, 0xff, sizeof(buf));
	assert_true(sum64(0, buf, 65536) == 16384ull * 0xffffffffull);
	assert_true(sum64(0, buf + 3, 65533) == ref_sum64(0, buf + 3, 65533));
	assert_int_equal(lwt_csum64_fold(sum64(0, buf + 3, 65534)), 0xffff);
}

static void test_checksum_scalar(void **state)
{
	check_csum64(lwt_csum64_scalar, 0);
}

/* lwt_csum64 takes the AVX2 sum from 128 bytes on where the CPU has AVX2 (the
 * AVX2 function itself is static in faketcp.c: this is the way to it).
 * Without AVX2 the SIMD path cannot run here: skipped, not passed. */
static void test_checksum_avx2(void **state)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2")) {
		check_csum64(lwt_csum64, 128);
		return;
	}
	print_message("SKIP: this CPU has no AVX2; the SIMD checksum cannot run\n");
#else
	print_message("SKIP: no SIMD checksum on this architecture\n");
#endif
	skip();
}


/* A SYN from the client with the options picked by the bits of o (1 MSS,
 * 2 WS, 4 SACK, 8 TS), built by hand, parsed. */
static void cookie_syn(uint8_t *b, size_t cap, struct lwt_tcp_seg *g, unsigned int o,
		       uint16_t mss, uint8_t ws, uint32_t isn)
{
	struct lwt_ftcp_conn c, s;
	int n;

	pair(&c, &s);
	c.iss = isn;
	n = lwt_ftcp_build_syn(&c, b, cap, mss);
	assert_int_equal(lwt_tcp_parse(b, n, true, g), 0);
	g->has_mss = o & 1;
	g->mss = mss;
	g->has_ws = (o & 2) != 0;
	g->wscale = ws;
	g->sack_perm = (o & 4) != 0;
	g->has_ts = (o & 8) != 0;
}

/* The client's answer to a cookie SYN-ACK in b (its ACK, optionally with a
 * payload), as the client's fake TCP builds it. */
static int cookie_ack(struct lwt_ftcp_conn *c, uint8_t *b, size_t cap, int n, bool ts,
		      size_t plen)
{
	struct lwt_tcp_seg g;

	lwt_ftcp_init(c, CADDR, htons(40000), SADDR, htons(9000));
	assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
	c->iss = g.ack - 1;
	c->snd_nxt = g.ack;
	c->irs = g.seq;
	c->rcv_nxt = g.seq + 1;
	c->ts_recent = g.tsval;
	c->state = LWT_FTCP_ESTABLISHED;
	if (plen) {
		memset(b + 52, 0xab, plen);
		n = lwt_ftcp_build_data(c, b, cap, plen);
	} else {
		n = lwt_ftcp_build_ack(c, b, cap);
	}
	if (!ts) {	/* rebuild without the TS option: a peer that never offered it */
		assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
		b[32] = 0x50 | (b[32] & 0x0f);
		memmove(b + 40, b + 52, plen);
		n -= 12;
		b[2] = n >> 8;
		b[3] = n & 0xff;
		b[10] = b[11] = 0;
		b[36] = b[37] = 0;
		{
			uint16_t ic = lwt_ip_csum(b, 20), tc = lwt_tcp_csum(CADDR, SADDR, b + 20,
									(size_t)n - 20);

			b[10] = ic >> 8;	/* host-order words, as the builders store them */
			b[11] = ic & 0xff;
			b[36] = tc >> 8;
			b[37] = tc & 0xff;
		}
	}
	return n;
}

static void test_cookie_round_trip(void **state)
{
	struct lwt_syncookie_key k;
	struct lwt_ftcp_conn c, s;
	struct lwt_tcp_seg g, a;
	uint8_t b[256];
	uint32_t now = lwt_syncookie_now();
	int n;

	lwt_syncookie_init(&k);
	pair(&c, &s);
	n = lwt_ftcp_build_syn(&c, b, sizeof(b), 1460);
	assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
	n = lwt_ftcp_build_cookie_synack(&k, now, &g, 1400, b, sizeof(b));
	/* The SYN-ACK Linux sends: MSS, SACK_PERM, TS, NOP, WS; its window is
	 * 65536 rounded down to the MSS less the timestamps (1400 - 12). */
	assert_int_equal(n, LWT_IP_HDR_LEN + LWT_TCP_SYN_HDR_LEN);
	assert_int_equal(b[40], 2);
	assert_int_equal(b[42] << 8 | b[43], 1400);
	assert_int_equal(b[44], 4);
	assert_int_equal(b[46], 8);
	assert_int_equal(b[56], 1);
	assert_int_equal(b[57], 3);
	assert_int_equal(b[59], LWT_FTCP_WSCALE);
	assert_int_equal(ref_tcp_csum(b), 0xffff);
	assert_int_equal(lwt_ip_csum(b, 20), 0);
	/* The client's own state machine takes it. */
	assert_int_equal(deliver(&c, b, n, &a), LWT_FTCP_SEND_ACK);
	assert_int_equal(a.flags, LWT_TCP_SYN | LWT_TCP_ACK);
	assert_int_equal(a.window, 65236);
	assert_int_equal(a.tsecr, g.tsval);
	n = lwt_ftcp_build_ack(&c, b, sizeof(b));
	assert_int_equal(lwt_tcp_parse(b, n, true, &a), 0);
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &a), 0);
	assert_int_equal(s.state, LWT_FTCP_ESTABLISHED);
	assert_int_equal(s.iss, c.irs);
	assert_int_equal(s.snd_nxt, c.rcv_nxt);
	assert_int_equal(s.rcv_nxt, c.snd_nxt);
	assert_int_equal(s.irs, c.iss);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.snd_wscale, 7);
	assert_true(s.peer_ts && s.peer_sack);
	assert_int_equal(s.laddr, SADDR);
	assert_int_equal(s.raddr, CADDR);
	assert_int_equal(s.lport, htons(9000));
	assert_int_equal(s.rport, htons(40000));
	/* The flow runs: the ACK itself, then data both ways. */
	assert_int_equal(lwt_ftcp_input(&s, &a), LWT_FTCP_OK);
	memset(b + 52, 1, 100);
	n = lwt_ftcp_build_data(&c, b, sizeof(b), 100);
	assert_int_equal(deliver(&s, b, n, &a), LWT_FTCP_OK);
	assert_int_equal(s.rcv_nxt, c.snd_nxt);
	memset(b + 52, 2, 100);
	n = lwt_ftcp_build_data(&s, b, sizeof(b), 100);
	assert_int_equal(deliver(&c, b, n, &a), LWT_FTCP_OK);
	assert_int_equal(c.rcv_nxt, s.snd_nxt);
	/* Our TSval moves on from the SYN-ACK's (per address pair offset). */
	assert_true(lwt_seq_ge(a.tsval, c.ts_recent - 1000));

	/* The client's pure ACK lost: its first data segment (the HELLO)
	 * carries the cookie, sets the flow up and is the flow's first data. */
	pair(&c, &s);
	n = lwt_ftcp_build_syn(&c, b, sizeof(b), 1460);
	assert_int_equal(lwt_tcp_parse(b, n, true, &g), 0);
	n = lwt_ftcp_build_cookie_synack(&k, now, &g, 1460, b, sizeof(b));
	n = cookie_ack(&c, b, sizeof(b), n, true, 120);
	assert_int_equal(lwt_tcp_parse(b, n, true, &a), 0);
	assert_int_equal(a.payload_len, 120);
	assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &a), 0);
	assert_int_equal(deliver(&s, b, n, &a), LWT_FTCP_OK);
	assert_int_equal(s.rcv_nxt, c.snd_nxt);
	assert_int_equal(s.ts_recent, a.tsval);
}

/* Every option combination of the SYN comes back from the ACK: MSS from
 * the table (largest not over the peer's), window scale and SACK when the
 * SYN had timestamps, none without (Linux does the same). The SYN-ACK
 * carries what the peer offered, in Linux's order. */
static void test_cookie_options(void **state)
{
	static const uint16_t msss[] = { 100, 536, 1299, 1300, 1439, 1440, 1459, 1460, 9000 };
	static const uint16_t want[] = { 536, 536, 536, 1300, 1300, 1440, 1440, 1460, 1460 };
	struct lwt_syncookie_key k;
	struct lwt_ftcp_conn c, s;
	struct lwt_tcp_seg g, a, sa;
	uint8_t b[256];
	uint32_t now = 12345;
	unsigned int o, m, ws;
	bool synack_ws;

	lwt_syncookie_init(&k);
	for (o = 0; o < 16; o++)
		for (m = 0; m < sizeof(msss) / sizeof(msss[0]); m++)
			for (ws = 0; ws <= 14; ws += 7) {
				bool ts = o & 8;
				int n;

				cookie_syn(b, sizeof(b), &g, o, msss[m], (uint8_t)ws, 777 + o);
				n = lwt_ftcp_build_cookie_synack(&k, now, &g, 1460, b, sizeof(b));
				assert_true(n > 0);
				assert_int_equal(lwt_tcp_parse(b, n, true, &a), 0);
				assert_int_equal(a.ack, 778 + o);
				assert_true(a.has_mss);
				assert_int_equal(a.has_ts, ts);
				assert_int_equal(a.sack_perm, ts && (o & 4));
				assert_int_equal(a.has_ws, ts && (o & 2));
				if (ts)
					assert_int_equal(a.tsecr, g.tsval);
				/* Linux's layouts: 20 bytes with TS and WS, 16 TS only, 4 MSS only */
				assert_int_equal(a.doff, ts ? ((o & 2) ? 40 : 36) : 24);
				if (ts && !(o & 4))
					assert_int_equal(b[44], 1);	/* NOP,NOP,TS */
				synack_ws = a.has_ws;
				n = cookie_ack(&c, b, sizeof(b), n, ts, 0);
				assert_int_equal(lwt_tcp_parse(b, n, true, &a), 0);
				assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &a), 0);
				/* The window the server keeps is the one the client
				 * reads from its ACKs: scaled only if the SYN-ACK
				 * offered a scale (RFC 7323 2.2). */
				assert_int_equal(s.rcv_wscale, synack_ws ? LWT_FTCP_WSCALE : 0);
				n = lwt_ftcp_build_ack(&s, b, sizeof(b));
				assert_int_equal(lwt_tcp_parse(b, n, true, &sa), 0);
				assert_int_equal((uint32_t)sa.window << (synack_ws ? LWT_FTCP_WSCALE : 0),
						 s.rcv_wnd);
				assert_int_equal(s.mss, (o & 1) ? want[m] : 536);
				assert_int_equal(s.snd_wscale, ts && (o & 2) ? ws : 0);
				assert_int_equal(s.peer_sack, ts && (o & 4));
				assert_int_equal(s.peer_ts, ts);
				assert_int_equal(s.irs, 777 + o);
				assert_int_equal(s.snd_wnd, (uint32_t)a.window << s.snd_wscale);
			}
}

/* A cookie is good for its counter and the next; older, newer, from
 * another key, for another 4-tuple or client ISN, or with its option bits
 * changed, it is refused, and nothing is set up. */
static void test_cookie_refused(void **state)
{
	struct lwt_syncookie_key k, k2;
	struct lwt_ftcp_conn c, s, z;
	struct lwt_tcp_seg g, a, t;
	uint8_t b[256], syn[256];
	uint32_t now;
	int n, ns;

	lwt_syncookie_init(&k);
	lwt_syncookie_init(&k2);
	for (now = 1000; now < 1004; now++) {
		cookie_syn(syn, sizeof(syn), &g, 15, 1460, 7, 555);
		ns = lwt_ftcp_build_cookie_synack(&k, now, &g, 1460, syn, sizeof(syn));
		memcpy(b, syn, ns);
		n = cookie_ack(&c, b, sizeof(b), ns, true, 0);
		assert_int_equal(lwt_tcp_parse(b, n, true, &a), 0);
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &a), 0);
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now + 1, &s, &a), 0);
		memset(&s, 0x5a, sizeof(s));
		memset(&z, 0x5a, sizeof(z));
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now + 2, &s, &a), -EACCES);
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now + 3, &s, &a), -EACCES);
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now - 1, &s, &a), -EACCES);
		assert_int_equal(lwt_ftcp_accept_cookie(&k2, now, &s, &a), -EACCES);
		assert_memory_equal(&s, &z, sizeof(s));
		t = a;
		t.sport ^= htons(1);
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.saddr ^= htonl(1);
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.dport ^= htons(1);
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.daddr ^= htonl(1);
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.seq++;
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.ack ^= 3;	/* another MSS index */
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.tsecr ^= 0x10;	/* SACK bit flipped */
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.tsecr ^= 0x03;	/* another window scale */
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.has_ts = false;	/* timestamps dropped */
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.flags |= LWT_TCP_RST;
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.flags = LWT_TCP_SYN | LWT_TCP_ACK;
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		t = a;
		t.flags = 0;
		assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &t), -EACCES);
		assert_memory_equal(&s, &z, sizeof(s));
	}
	/* Cookies differ with the SYN's ISN (and look random). */
	cookie_syn(syn, sizeof(syn), &g, 15, 1460, 7, 1);
	ns = lwt_ftcp_build_cookie_synack(&k, now, &g, 1460, b, sizeof(b));
	assert_int_equal(lwt_tcp_parse(b, ns, true, &a), 0);
	cookie_syn(syn, sizeof(syn), &g, 15, 1460, 7, 2);
	ns = lwt_ftcp_build_cookie_synack(&k, now, &g, 1460, b, sizeof(b));
	assert_int_equal(lwt_tcp_parse(b, ns, true, &t), 0);
	assert_int_not_equal(a.seq >> 3, t.seq >> 3);
}

/* A blind attacker's ACK for a random ISN (or the right low bits and a
 * random rest) is refused: 2^21 tries each, none passes (2^-29 each: the
 * chance of a pass here is 2^-8). */
static void test_cookie_forged(void **state)
{
	struct lwt_syncookie_key k;
	struct lwt_ftcp_conn c, s;
	struct lwt_tcp_seg g, a;
	uint8_t b[256];
	uint32_t now = lwt_syncookie_now(), x = 0x12345678, pass = 0, i;
	int n;

	lwt_syncookie_init(&k);
	cookie_syn(b, sizeof(b), &g, 15, 1460, 7, 4242);
	n = lwt_ftcp_build_cookie_synack(&k, now, &g, 1460, b, sizeof(b));
	n = cookie_ack(&c, b, sizeof(b), n, true, 0);
	assert_int_equal(lwt_tcp_parse(b, n, true, &a), 0);
	assert_int_equal(lwt_ftcp_accept_cookie(&k, now, &s, &a), 0);
	for (i = 0; i < (1u << 21); i++) {
		struct lwt_tcp_seg t = a;
		uint32_t good = a.ack - 1;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		t.ack = (i & 1) ? x : ((x & ~7u) | (good & 7u)) + 1;
		if (t.ack == a.ack)
			continue;
		pass += lwt_ftcp_accept_cookie(&k, now, &s, &t) == 0;
	}
	assert_int_equal(pass, 0);
}


/* Data both ways over a flow that simultaneous open made. */
static void check_data(struct lwt_ftcp_conn *a, struct lwt_ftcp_conn *b)
{
	uint8_t buf[2048];
	struct lwt_tcp_seg g;
	int i, n;

	for (i = 0; i < 4; i++) {
		struct lwt_ftcp_conn *from = i & 1 ? b : a, *to = i & 1 ? a : b;

		memset(buf + 52, i, 100);
		n = lwt_ftcp_build_data(from, buf, sizeof(buf), 100);
		assert_int_equal(deliver(to, buf, n, &g), LWT_FTCP_OK);
		assert_int_equal(to->rcv_nxt, from->snd_nxt);
	}
}

/* P2P: both sides send a SYN from the port the other targets. Crossing
 * SYNs each get a SYN-ACK of the receiver's own ISN (never a second SYN),
 * and each SYN-ACK completes the flow with an ACK. */
static void test_simultaneous_open(void **state)
{
	struct lwt_ftcp_conn a, b;
	uint8_t sa[256], sb[256], buf[256];
	struct lwt_tcp_seg g;
	int na, nb, n;

	pair(&a, &b);
	na = lwt_ftcp_build_syn(&a, sa, sizeof(sa), 1460);
	nb = lwt_ftcp_build_syn(&b, sb, sizeof(sb), 1460);
	assert_int_equal(deliver(&a, sb, nb, &g), LWT_FTCP_SEND_SYNACK);
	assert_int_equal(a.state, LWT_FTCP_SYN_RCVD);
	assert_int_equal(deliver(&b, sa, na, &g), LWT_FTCP_SEND_SYNACK);
	/* The SYN-ACK carries our ISN and acks theirs. */
	n = lwt_ftcp_build_synack(&a, sa, sizeof(sa), 1460);
	assert_int_equal(lwt_tcp_parse(sa, n, true, &g), 0);
	assert_int_equal(g.flags, LWT_TCP_SYN | LWT_TCP_ACK);
	assert_int_equal(g.seq, a.iss);
	assert_int_equal(g.ack, b.iss + 1);
	/* A repeated SYN (a retransmission: the same bytes) gets the SYN-ACK again. */
	memcpy(buf, sb, nb);
	assert_int_equal(deliver(&a, buf, nb, &g), LWT_FTCP_SEND_SYNACK);
	assert_int_equal(b.state, LWT_FTCP_SYN_RCVD);
	nb = lwt_ftcp_build_synack(&b, sb, sizeof(sb), 1460);
	assert_int_equal(deliver(&a, sb, nb, &g), LWT_FTCP_SEND_ACK);
	assert_int_equal(deliver(&b, sa, n, &g), LWT_FTCP_SEND_ACK);
	assert_int_equal(a.state, LWT_FTCP_ESTABLISHED);
	assert_int_equal(b.state, LWT_FTCP_ESTABLISHED);
	/* The ACKs that follow are in window. */
	n = lwt_ftcp_build_ack(&a, buf, sizeof(buf));
	assert_int_equal(deliver(&b, buf, n, &g), LWT_FTCP_OK);
	n = lwt_ftcp_build_ack(&b, buf, sizeof(buf));
	assert_int_equal(deliver(&a, buf, n, &g), LWT_FTCP_OK);
	check_data(&a, &b);
}

/* The first SYN of a is lost at b's NAT; b's SYN opens a into SYN_RCVD,
 * its SYN-ACK completes b as an ordinary one, b's ACK completes a. A
 * SYN-ACK that does not ack our ISN, or comes from another ISN, is
 * dropped. */
static void test_simultaneous_open_one_lost(void **state)
{
	struct lwt_ftcp_conn a, b;
	uint8_t s[256], buf[256];
	struct lwt_tcp_seg g;
	int n;

	pair(&a, &b);
	lwt_ftcp_build_syn(&a, s, sizeof(s), 1460);	/* lost */
	n = lwt_ftcp_build_syn(&b, s, sizeof(s), 1460);
	assert_int_equal(deliver(&a, s, n, &g), LWT_FTCP_SEND_SYNACK);
	n = lwt_ftcp_build_synack(&a, s, sizeof(s), 1460);
	/* Forged variants first. */
	memcpy(buf, s, n);
	assert_int_equal(lwt_tcp_parse(buf, n, true, &g), 0);
	g.ack++;
	assert_int_equal(lwt_ftcp_input(&b, &g), LWT_FTCP_DROP);
	g.ack--;
	g.flags = LWT_TCP_SYN | LWT_TCP_ACK;
	g.seq++;
	assert_int_equal(lwt_ftcp_input(&a, &g), LWT_FTCP_DROP);
	assert_int_equal(a.state, LWT_FTCP_SYN_RCVD);
	assert_int_equal(deliver(&b, s, n, &g), LWT_FTCP_SEND_ACK);
	n = lwt_ftcp_build_ack(&b, s, sizeof(s));
	assert_int_equal(deliver(&a, s, n, &g), LWT_FTCP_OK);
	assert_int_equal(a.state, LWT_FTCP_ESTABLISHED);
	check_data(&a, &b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_linux_profile),
		cmocka_unit_test(test_synack_no_wscale),
		cmocka_unit_test(test_syn_profile_sysctls),
		cmocka_unit_test(test_isn_random),
		cmocka_unit_test(test_data_both_ways),
		cmocka_unit_test(test_blind_injection),
		cmocka_unit_test(test_acceptance_bounds),
		cmocka_unit_test(test_loss_and_reorder),
		cmocka_unit_test(test_rst_rfc5961),
		cmocka_unit_test(test_bad_acks_and_syn),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_options_every_length),
		cmocka_unit_test(test_truncation_and_headers),
		cmocka_unit_test(test_checksum_known),
		cmocka_unit_test(test_checksum_scalar),
		cmocka_unit_test(test_checksum_avx2),
		cmocka_unit_test(test_cookie_round_trip),
		cmocka_unit_test(test_cookie_options),
		cmocka_unit_test(test_cookie_refused),
		cmocka_unit_test(test_cookie_forged),
		cmocka_unit_test(test_simultaneous_open),
		cmocka_unit_test(test_simultaneous_open_one_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
