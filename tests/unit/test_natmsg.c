// SPDX-License-Identifier: MIT
/* NAT probe messages (natmsg.h): known-answer vectors for the probe key and
 * both message shapes (computed apart, with Python's hmac and an HKDF of
 * RFC 5869, from the layout in docs/PROTOCOL.md), a numbered table of
 * malformed messages, the MAC over every byte, the hub's replay window, and
 * the verdicts of RFC 5780's tests (natdetect.c's lwt_nat_classify). */
#include <errno.h>
#include <arpa/inet.h>

#include "testutil.h"
#include "natdetect.h"
#include "natmsg.h"

#define KAT_KEY "5163b31f0628b0e3a4826632e1e9ac898f1a25616dd6ba6c5203df1fed515ca3"
/* Request: CHANGE_PORT, session 01020304, seq 7. */
#define KAT_REQ "6c77744e0101010001020304000000000000000000000007000000000000000000000000" \
		"000000002e01eeada78277f51c5f56f09e4dc478b95a97d000696733a6ba27f4ac9eb0d5"
/* Its answer: from the other port, mapped 203.0.113.4:40004, other port
 * 9002, other address 198.51.100.2. */
#define KAT_ANS "6c77744e0102110001020304000000000000000000000007cb0071049c44232ac6336402" \
		"000000005f2477645f12c11381828f531dfb041a9ca3e2cc42ffbb08bfdffe75972cf15f"

static void kat_keys(struct lwt_session_keys *k)
{
	memset(k, 0, sizeof(*k));
	memset(k->c2s_key, 1, sizeof(k->c2s_key));
	memset(k->s2c_key, 2, sizeof(k->s2c_key));
}

static void test_kat(void **state)
{
	struct lwt_session_keys k;
	struct lwt_natmsg_info in, got;
	uint8_t key[32], want_key[32], buf[LWT_NATMSG_LEN], want[LWT_NATMSG_LEN];

	kat_keys(&k);
	assert_int_equal(lwt_natmsg_key(&k, 0x01020304, key), 0);
	unhex(KAT_KEY, want_key);
	assert_memory_equal(key, want_key, 32);

	/* A request's answer fields are never sent, whatever the caller left. */
	in = (struct lwt_natmsg_info){ .type = LWT_NATMSG_REQUEST, .flags = LWT_NAT_CHANGE_PORT,
				       .session_id = 0x01020304, .seq = 7, .mapped_addr = 0xffffffff,
				       .mapped_port = 9, .other_port = 9, .other_addr = 1 };
	assert_int_equal(lwt_natmsg_build(key, &in, buf), 0);
	assert_int_equal(unhex(KAT_REQ, want), LWT_NATMSG_LEN);
	assert_memory_equal(buf, want, LWT_NATMSG_LEN);
	assert_int_equal(lwt_natmsg_parse(buf, sizeof(buf), &got), 0);
	assert_int_equal(lwt_natmsg_verify(key, buf, sizeof(buf)), 0);
	assert_int_equal(got.type, LWT_NATMSG_REQUEST);
	assert_int_equal(got.flags, LWT_NAT_CHANGE_PORT);
	assert_int_equal(got.session_id, 0x01020304);
	assert_int_equal(got.seq, 7);
	assert_int_equal(got.mapped_addr | got.mapped_port | got.other_port | got.other_addr, 0);

	in = (struct lwt_natmsg_info){ .type = LWT_NATMSG_ANSWER,
				       .flags = LWT_NAT_CHANGE_PORT | LWT_NAT_FROM_OTHER_PORT,
				       .session_id = 0x01020304, .seq = 7,
				       .mapped_addr = inet_addr("203.0.113.4"), .mapped_port = 40004,
				       .other_port = 9002, .other_addr = inet_addr("198.51.100.2") };
	assert_int_equal(lwt_natmsg_build(key, &in, buf), 0);
	assert_int_equal(unhex(KAT_ANS, want), LWT_NATMSG_LEN);
	assert_memory_equal(buf, want, LWT_NATMSG_LEN);
	assert_int_equal(lwt_natmsg_parse(buf, sizeof(buf), &got), 0);
	assert_int_equal(lwt_natmsg_verify(key, buf, sizeof(buf)), 0);
	assert_int_equal(got.mapped_addr, inet_addr("203.0.113.4"));
	assert_int_equal(got.mapped_port, 40004);
	assert_int_equal(got.other_port, 9002);
	assert_int_equal(got.other_addr, inet_addr("198.51.100.2"));
	/* An answer is never longer than the request it answers. */
	assert_int_equal(sizeof(struct lwt_natmsg), 72);
}

/* Another session id, other keys: another probe key. */
static void test_key_per_session(void **state)
{
	struct lwt_session_keys k;
	uint8_t a[32], b[32], c[32];

	kat_keys(&k);
	assert_int_equal(lwt_natmsg_key(&k, 1, a), 0);
	assert_int_equal(lwt_natmsg_key(&k, 2, b), 0);
	k.s2c_key[31] ^= 1;
	assert_int_equal(lwt_natmsg_key(&k, 1, c), 0);
	assert_memory_not_equal(a, b, 32);
	assert_memory_not_equal(a, c, 32);
}

struct bad {
	size_t off;		/* byte changed */
	uint8_t val;
	bool answer;		/* applied to the answer, else the request */
};

static const struct bad bads[] = {
	{ 0, 'L', false },	/* 1: magic */
	{ 3, 'n', false },	/* 2: magic */
	{ 4, 0, false },	/* 3: version 0 */
	{ 4, 2, false },	/* 4: version 2 */
	{ 5, 0, false },	/* 5: type 0 */
	{ 5, 3, false },	/* 6: type 3 */
	{ 6, 0x08, false },	/* 7: unknown request flag (0x04 is OVER_TCP) */
	{ 6, 0x11, false },	/* 8: an answer's flag on a request */
	{ 6, 0x40, true },	/* 9: unknown answer flag */
	{ 7, 1, false },	/* 10: reserved */
	{ 12, 1, false },	/* 11: reserved */
	{ 15, 1, true },	/* 12: reserved */
	{ 36, 1, false },	/* 13: reserved */
	{ 39, 1, true },	/* 14: reserved */
	{ 24, 1, false },	/* 15: a request with a mapped address */
	{ 29, 1, false },	/* 16: ... a mapped port */
	{ 31, 1, false },	/* 17: ... another port */
	{ 35, 1, false },	/* 18: ... another address */
};

static void make(uint8_t *req, uint8_t *ans, uint8_t *key)
{
	struct lwt_natmsg_info in = { .type = LWT_NATMSG_REQUEST, .flags = 3, .session_id = 5,
				      .seq = 1 };

	memset(key, 7, 32);
	assert_int_equal(lwt_natmsg_build(key, &in, req), 0);
	in = (struct lwt_natmsg_info){ .type = LWT_NATMSG_ANSWER, .flags = 0x33, .session_id = 5,
				       .seq = 1, .mapped_addr = 1, .mapped_port = 1, .other_port = 1,
				       .other_addr = 1 };
	assert_int_equal(lwt_natmsg_build(key, &in, ans), 0);
}

static void test_malformed(void **state)
{
	uint8_t req[LWT_NATMSG_LEN + 1], ans[LWT_NATMSG_LEN], key[32], m[LWT_NATMSG_LEN + 1];
	struct lwt_natmsg_info o;
	struct lwt_natmsg_info z = { .type = LWT_NATMSG_REQUEST, .session_id = 5 };

	make(req, ans, key);
	assert_int_equal(lwt_natmsg_parse(req, LWT_NATMSG_LEN, &o), 0);
	assert_int_equal(lwt_natmsg_parse(ans, LWT_NATMSG_LEN, &o), 0);
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		memcpy(m, bads[i].answer ? ans : req, LWT_NATMSG_LEN);
		m[bads[i].off] = bads[i].val;
		if (lwt_natmsg_parse(m, LWT_NATMSG_LEN, &o) != -EBADMSG)
			fail_msg("case %zu: byte %zu = %u parsed", i + 1, bads[i].off, bads[i].val);
	}
	/* Lengths: one short, one long, empty. */
	req[LWT_NATMSG_LEN] = 0;
	assert_int_equal(lwt_natmsg_parse(req, LWT_NATMSG_LEN - 1, &o), -EBADMSG);
	assert_int_equal(lwt_natmsg_parse(req, LWT_NATMSG_LEN + 1, &o), -EBADMSG);
	assert_int_equal(lwt_natmsg_parse(req, 0, &o), -EBADMSG);
	/* seq 0 and session 0 are never valid. */
	assert_int_equal(lwt_natmsg_build(key, &z, m), 0);
	assert_int_equal(lwt_natmsg_parse(m, LWT_NATMSG_LEN, &o), -EBADMSG);
	z.seq = 1;
	z.session_id = 0;
	assert_int_equal(lwt_natmsg_build(key, &z, m), 0);
	assert_int_equal(lwt_natmsg_parse(m, LWT_NATMSG_LEN, &o), -EBADMSG);
}

/* The MAC covers every byte, and the key. */
static void test_mac(void **state)
{
	uint8_t req[LWT_NATMSG_LEN], ans[LWT_NATMSG_LEN], key[32], m[LWT_NATMSG_LEN];

	make(req, ans, key);
	assert_int_equal(lwt_natmsg_verify(key, req, sizeof(req)), 0);
	for (size_t i = 0; i < LWT_NATMSG_LEN; i++) {
		memcpy(m, req, sizeof(m));
		m[i] ^= 0x80;
		if (lwt_natmsg_verify(key, m, sizeof(m)) != -EACCES)
			fail_msg("byte %zu changed, MAC still verifies", i);
	}
	key[0] ^= 1;
	assert_int_equal(lwt_natmsg_verify(key, req, sizeof(req)), -EACCES);
	key[0] ^= 1;
	assert_int_equal(lwt_natmsg_verify(key, req, sizeof(req) - 1), -EACCES);
}

struct wstep {
	uint64_t seq;
	bool ok;
};

static const struct wstep wsteps[] = {
	{ 0, false },		/* 1: never valid */
	{ 1, true },		/* 2 */
	{ 1, false },		/* 3: replay */
	{ 3, true },		/* 4: a gap */
	{ 2, true },		/* 5: late, in the window */
	{ 2, false },		/* 6 */
	{ 66, true },		/* 7: top 66: 3 is 63 behind, still in */
	{ 3, false },		/* 8: ... seen */
	{ 2, false },		/* 9: 64 behind: out */
	{ 4, true },		/* 10: 62 behind, not seen */
	{ 1000, true },		/* 11: a jump past the window clears it */
	{ 937, true },		/* 12: 63 behind */
	{ 936, false },		/* 13: 64 behind */
	{ 999, true },		/* 14 */
	{ 1000, false },	/* 15 */
	{ UINT64_MAX, true },	/* 16 */
	{ UINT64_MAX, false },	/* 17 */
};

static void test_window(void **state)
{
	struct lwt_natmsg_window w = { 0 };

	for (size_t i = 0; i < sizeof(wsteps) / sizeof(wsteps[0]); i++)
		if (lwt_natmsg_window_check(&w, wsteps[i].seq) != wsteps[i].ok)
			fail_msg("step %zu: seq %llu: want %d", i + 1,
				 (unsigned long long)wsteps[i].seq, wsteps[i].ok);
}

#define Y LWT_NAT_SEEN_YES
#define N LWT_NAT_SEEN_NO
#define U LWT_NAT_SEEN_UNKNOWN
struct vcase {
	struct lwt_nat_tests t;
	const char *type, *mapping, *filtering;
	bool note;
};

static const struct vcase vcases[] = {
	/* 1: no NAT, open */
	{ { true, true, true, U, U, Y, Y }, "None/Open", "none (no NAT)", "endpoint-independent", false },
	/* 2: full cone, two hub addresses */
	{ { true, false, true, Y, Y, Y, Y }, "Full Cone", "endpoint-independent", "endpoint-independent", false },
	/* 3: restricted cone */
	{ { true, false, true, Y, Y, Y, N }, "Restricted Cone", "endpoint-independent", "address-dependent", false },
	/* 4: port-restricted cone */
	{ { true, false, true, Y, Y, N, N }, "Port-Restricted Cone", "endpoint-independent",
	  "address-and-port-dependent", false },
	/* 5: symmetric: a new port towards the other port */
	{ { true, false, true, N, N, N, N }, "Symmetric", "address-and-port-dependent",
	  "address-and-port-dependent", false },
	/* 6: address-dependent mapping: symmetric too */
	{ { true, false, true, Y, N, N, N }, "Symmetric", "address-dependent", "address-and-port-dependent", false },
	/* 7: one hub address, full (or restricted) cone */
	{ { true, false, false, Y, U, Y, U }, "Full Cone or Restricted Cone",
	  "endpoint-independent or address-dependent", "endpoint-independent or address-dependent", true },
	/* 8: one hub address, port-restricted */
	{ { true, false, false, Y, U, N, U }, "Port-Restricted Cone",
	  "endpoint-independent or address-dependent", "address-and-port-dependent", true },
	/* 9: one hub address, symmetric: told apart all the same */
	{ { true, false, false, N, U, N, U }, "Symmetric", "address-and-port-dependent",
	  "address-and-port-dependent", false },
	/* 10: no NAT behind a stateful firewall */
	{ { true, true, true, U, U, N, N }, "Port-Restricted Cone", "none (no NAT)",
	  "address-and-port-dependent", true },
	/* 11: no answer at all */
	{ { false, false, false, U, U, U, U }, "Unknown", "unknown", "unknown", true },
	/* 12: the other port never answered the mapping test */
	{ { true, false, true, U, U, N, N }, "Unknown", "unknown", "address-and-port-dependent", true },
};

static void test_classify(void **state)
{
	struct lwt_nat_verdict v;

	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *c = &vcases[i];

		lwt_nat_classify(&c->t, &v);
		if ((v.kind == LWT_NAT_UNKNOWN) != !strcmp(c->type, "Unknown"))
			fail_msg("case %zu: kind %d for type %s", i + 1, v.kind, v.type);
		if (strcmp(v.type, c->type) || strcmp(v.mapping, c->mapping) ||
		    strcmp(v.filtering, c->filtering) || (v.note[0] != 0) != c->note)
			fail_msg("case %zu: %s / %s / %s / note \"%s\"; want %s / %s / %s / note %s",
				 i + 1, v.type, v.mapping, v.filtering, v.note, c->type, c->mapping,
				 c->filtering, c->note ? "yes" : "none");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat),
		cmocka_unit_test(test_key_per_session),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
