// SPDX-License-Identifier: MIT
/* The SPAKE2 handshake (HELLO / HELLO_ACK / CONFIRM / REJECT) through the
 * real lwt_hs_* functions: a full exchange agrees on keys and fields; a
 * known answer for every byte on the wire and every key (a fixed random
 * stream); a wrong PSK fails on both sides; every flipped bit of HELLO,
 * HELLO_ACK and CONFIRM fails (and where the client refuses, so does the
 * server); timestamps (+-120 s, not before the server's start); a captured
 * exchange lets nobody check a guess without x or y; the per-source guess
 * limiter. */
#define OPENSSL_SUPPRESS_DEPRECATED	/* RAND_set_rand_method: the fixed stream */
#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <openssl/rand.h>
#include "testutil.h"
#include "handshake.h"

#define NOW 1700000000000ull
#define HDR sizeof(struct lwt_frame_hdr)

static struct lwt_psk_keys psk, other;

static int setup(void **state)
{
	assert_int_equal(lwt_crypto_psk_derive("the right key", &psk), 0);
	assert_int_equal(lwt_crypto_psk_derive("the wrong key", &other), 0);
	return 0;
}

static const struct lwt_hs_ack_info ack_info = {
	.session_id = 0x11223344, .server_tunnel_ip = 0x0100000a, .server_tunnel_prefix = 24,
	.fec_data = 20, .fec_parity = 2,
};

/* One exchange, as control.c runs it: client and server may hold other
 * keys. Returns the client's lwt_hs_ack_verify result; *srv the server's
 * lwt_hs_confirm_verify result (1 when the client had nothing to send). */
struct run {
	struct lwt_hs_client st;
	struct lwt_hs_hello_info hi;
	struct lwt_hs_ack_info ai;
	struct lwt_session_keys ks, kc;
	uint8_t hello[LWT_HELLO_FRAME_LEN], ack[LWT_HELLO_ACK_FRAME_LEN];
	uint8_t confirm[LWT_CONFIRM_FRAME_LEN], expect_ca[LWT_HS_CONFIRM_LEN];
	uint8_t x[LWT_SPAKE2_SCALAR_LEN];	/* the client's secret, kept by the test */
	int rc_client, rc_server;
};

static void run_start(struct run *r, const struct lwt_psk_keys *client_psk)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(lwt_hs_hello_build(client_psk, &r->st, NOW, 42, 0x0200000a, 24, 10, 3,
					    r->hello), 0);
	memcpy(r->x, r->st.sp.scalar, sizeof(r->x));
}

static void run_finish(struct run *r, const struct lwt_psk_keys *server_psk)
{
	assert_int_equal(lwt_hs_hello_verify(r->hello, sizeof(r->hello), NOW + 5, 0, &r->hi), 0);
	assert_int_equal(lwt_hs_ack_build(server_psk, r->hello, &r->hi, &ack_info, r->ack, &r->ks,
					  r->expect_ca), 0);
	r->rc_client = lwt_hs_ack_verify(&r->st, r->ack, sizeof(r->ack), &r->ai, &r->kc,
					 r->confirm);
	r->rc_server = r->rc_client == 0 || r->rc_client == -EACCES ?
		       lwt_hs_confirm_verify(r->expect_ca, r->confirm, sizeof(r->confirm)) : 1;
}

static void test_round_trip(void **state)
{
	struct run r;

	run_start(&r, &psk);
	run_finish(&r, &psk);
	assert_int_equal(r.rc_client, 0);
	assert_int_equal(r.rc_server, 0);
	assert_int_equal(r.hi.client_id, 42);
	assert_int_equal(r.hi.tunnel_ip, 0x0200000a);
	assert_int_equal(r.hi.tunnel_prefix, 24);
	assert_int_equal(r.hi.fec_data, 10);
	assert_int_equal(r.hi.fec_parity, 3);
	assert_int_equal(r.hi.timestamp_ms, NOW);
	assert_int_equal(r.ai.session_id, 0x11223344);
	assert_int_equal(r.ai.server_tunnel_ip, 0x0100000a);
	assert_int_equal(r.ai.server_tunnel_prefix, 24);
	assert_int_equal(r.ai.fec_data, 20);
	assert_int_equal(r.ai.fec_parity, 2);
	assert_memory_equal(&r.ks, &r.kc, sizeof(r.ks));
	assert_memory_not_equal(r.kc.c2s_key, r.kc.s2c_key, 32);
	/* The client's secrets are gone once the HELLO_ACK is answered. */
	assert_false(r.st.started);
	for (size_t i = 0; i < sizeof(r.st.sp.scalar); i++)
		assert_int_equal(r.st.sp.scalar[i], 0);
	/* Two exchanges with the same PSK: fresh shares, randoms and keys. */
	{
		struct run r2;

		run_start(&r2, &psk);
		run_finish(&r2, &psk);
		assert_int_equal(r2.rc_server, 0);
		assert_memory_not_equal(r.hello + HDR + offsetof(struct lwt_hello, share),
					r2.hello + HDR + offsetof(struct lwt_hello, share),
					LWT_HS_SHARE_LEN);
		assert_memory_not_equal(r.ack + HDR + offsetof(struct lwt_hello_ack, share),
					r2.ack + HDR + offsetof(struct lwt_hello_ack, share),
					LWT_HS_SHARE_LEN);
		assert_memory_not_equal(r.kc.c2s_key, r2.kc.c2s_key, 32);
	}
}

/* A fixed random stream for the known answer: x, client_random, y,
 * server_random, in the order the functions draw them. */
static const char *const kat_stream[] = {
	"75ea4de4e1db599ef62f6c580aade5b2e8f98e747b60831bd5bab9332b306e3b",	/* x */
	"5b4e2601045a5fc0f73439e0af19380f5325dd4f836278a99466fdeea7ef140b",	/* client_random */
	"9632c5706698a42f27a28c0a85e7ffb7d116f3d20b522401c2ae3da01e081f29",	/* y */
	"2869c35190526681d9219ada46cc1f34f6ef181c0414e7266bff7466bf9ba4fc",	/* server_random */
};
static int kat_next;

static int kat_bytes(unsigned char *buf, int num)
{
	if (num != 32 || kat_next >= 4)
		fail_msg("the handshake drew %d random bytes (draw %d); the known answer has "
			 "four draws of 32", num, kat_next + 1);
	unhex(kat_stream[kat_next++], buf);
	return 1;
}

static int kat_status(void)
{
	return 1;
}

static RAND_METHOD kat_rand = { .bytes = kat_bytes, .pseudorand = kat_bytes,
				.status = kat_status };

/* Known answer for the whole handshake: the HELLO, HELLO_ACK and CONFIRM
 * frames byte for byte and both sides' keys, from PSK "lwt known-answer
 * key", the fixed stream above (x, y = SHA-256 of "lwt kat x" / "lwt kat y",
 * the randoms SHA-256 of "lwt kat client_random" / "lwt kat server_random"),
 * client_id 0102030405060708, 10.0.0.2/24, FEC 10+3, AUTH_ONLY asked; server
 * session 11223344, 10.0.0.1/24, FEC 20+2, AUTH_ONLY granted. The expected
 * bytes were computed outside lwt by tests/unit/handshake_kat.py (Python 3,
 * stdlib only: P-256 in affine coordinates, RFC 9382's transcript and key
 * schedule with hashlib/hmac HKDF-SHA256, then the layouts and key schedule
 * of docs/PROTOCOL.md); that script first reproduces RFC 9382's P-256
 * vector 1. A change to a layout, an identity, the transcript (e.g. a field
 * left out of it) or the key schedule fails here. */
static void test_known_answer(void **state)
{
	static const char hello_hex[] =
		"0100008002010a035b4e2601045a5fc0f73439e0af19380f5325dd4f836278a99466fdeea7ef140b"
		"0000018bcfe5680001020304050607080a00000218000000"
		"04f55523b8776c2a53ea66c968c0fb693aef2d7bdb5b63301ff784628223f45660df8633b602c157"
		"4be159be37386c039dce80b1319f71b92c5279699ec607efc0000000";
	static const char ack_hex[] =
		"02000094020114022869c35190526681d9219ada46cc1f34f6ef181c0414e7266bff7466bf9ba4fc"
		"112233440a00000118000000"
		"047bbe3c002889f515a84b034161916017ad999755fd2dad100843469438774439599b4fdfb1a981"
		"ee1f96b66a5fc99135083d70febd5d59cababa1fb1fce503d0000000"
		"8ed4ed54fb48606937c9450aa6c21f8d1f1f9b42d57786f19f9584fe30cdd23b";
	static const char confirm_hex[] =
		"0400002011e8b2c2816d26d441c8cf1beefdc6b082b7c3d8be7ba6d92368417be53fc152";
	const struct lwt_hs_ack_info info = { .session_id = 0x11223344,
					      .server_tunnel_ip = 0x0100000a,
					      .server_tunnel_prefix = 24, .fec_data = 20,
					      .fec_parity = 2, .flags = LWT_HS_F_AUTH_ONLY };
	uint8_t hello[LWT_HELLO_FRAME_LEN], ack[LWT_HELLO_ACK_FRAME_LEN];
	uint8_t confirm[LWT_CONFIRM_FRAME_LEN], ca[32], want[256];
	struct lwt_hs_client st = { .flags = LWT_HS_F_AUTH_ONLY };
	struct lwt_hs_hello_info hi;
	struct lwt_hs_ack_info ai;
	struct lwt_session_keys ks, kc;
	struct lwt_psk_keys kp;
	const RAND_METHOD *saved = RAND_get_rand_method();
	int rc[4];

	assert_int_equal(lwt_crypto_psk_derive("lwt known-answer key", &kp), 0);
	kat_next = 0;
	assert_int_equal(RAND_set_rand_method(&kat_rand), 1);
	rc[0] = lwt_hs_hello_build(&kp, &st, NOW, 0x0102030405060708ull, 0x0200000a, 24, 10, 3,
				   hello);
	rc[1] = lwt_hs_hello_verify(hello, sizeof(hello), NOW, 0, &hi);
	rc[2] = lwt_hs_ack_build(&kp, hello, &hi, &info, ack, &ks, ca);
	RAND_set_rand_method(saved);
	rc[3] = lwt_hs_ack_verify(&st, ack, sizeof(ack), &ai, &kc, confirm);
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[1], 0);
	assert_int_equal(rc[2], 0);
	assert_int_equal(rc[3], 0);
	assert_int_equal(kat_next, 4);

	assert_int_equal(unhex(hello_hex, want), sizeof(hello));
	assert_memory_equal(hello, want, sizeof(hello));
	assert_int_equal(unhex(ack_hex, want), sizeof(ack));
	assert_memory_equal(ack, want, sizeof(ack));
	assert_int_equal(unhex(confirm_hex, want), sizeof(confirm));
	assert_memory_equal(confirm, want, sizeof(confirm));
	assert_memory_equal(ca, want + HDR, 32);
	assert_int_equal(lwt_hs_confirm_verify(ca, confirm, sizeof(confirm)), 0);

	unhex("c3516687ae324e74c576a6343ed53b80dd17be835ed3a900e7d892b9261600ea", want);
	assert_memory_equal(kc.c2s_key, want, 32);
	unhex("36ac08d0fd88bcfed706d384c9104071ff6ceeb0134a103ab0dd150dec19e7d6", want);
	assert_memory_equal(kc.s2c_key, want, 32);
	unhex("3ebbe5e1", want);
	assert_memory_equal(kc.c2s_iv, want, 4);
	unhex("cff6a24d", want);
	assert_memory_equal(kc.s2c_iv, want, 4);
	assert_memory_equal(&ks, &kc, sizeof(ks));
	assert_int_equal(ai.flags, LWT_HS_F_AUTH_ONLY);
	lwt_crypto_psk_clear(&kp);
}

/* encrypt_after_auth is granted only when both ask; the server never grants
 * more than the client asked, and a client refuses an ACK that does. */
static void test_auth_only_negotiation(void **state)
{
	uint8_t hello[LWT_HELLO_FRAME_LEN], ack[LWT_HELLO_ACK_FRAME_LEN];
	uint8_t confirm[LWT_CONFIRM_FRAME_LEN], ca[32];
	struct lwt_hs_client st = { .flags = LWT_HS_F_AUTH_ONLY }, st0 = { 0 };
	struct lwt_hs_ack_info ai = { .session_id = 7, .fec_data = 10, .fec_parity = 3,
				      .flags = LWT_HS_F_AUTH_ONLY }, got;
	struct lwt_hs_hello_info hi;
	struct lwt_session_keys ks, kc;

	/* both ask: granted */
	assert_int_equal(lwt_hs_hello_build(&psk, &st, NOW, 1, 0x0200000a, 24, 10, 3, hello), 0);
	assert_int_equal(lwt_hs_hello_verify(hello, sizeof(hello), NOW, 0, &hi), 0);
	assert_int_equal(hi.flags, LWT_HS_F_AUTH_ONLY);
	assert_int_equal(lwt_hs_ack_build(&psk, hello, &hi, &ai, ack, &ks, ca), 0);
	assert_int_equal(lwt_hs_ack_verify(&st, ack, sizeof(ack), &got, &kc, confirm), 0);
	assert_int_equal(got.flags, LWT_HS_F_AUTH_ONLY);
	/* client does not ask: the server's wish is not granted */
	assert_int_equal(lwt_hs_hello_build(&psk, &st0, NOW, 1, 0x0200000a, 24, 10, 3, hello), 0);
	assert_int_equal(lwt_hs_hello_verify(hello, sizeof(hello), NOW, 0, &hi), 0);
	assert_int_equal(hi.flags, 0);
	assert_int_equal(lwt_hs_ack_build(&psk, hello, &hi, &ai, ack, &ks, ca), 0);
	assert_int_equal(lwt_hs_ack_verify(&st0, ack, sizeof(ack), &got, &kc, confirm), 0);
	assert_int_equal(got.flags, 0);
	/* an ACK granting what was not asked is malformed */
	assert_int_equal(lwt_hs_hello_build(&psk, &st0, NOW, 1, 0x0200000a, 24, 10, 3, hello), 0);
	hi.flags = LWT_HS_F_AUTH_ONLY;
	assert_int_equal(lwt_hs_ack_build(&psk, hello, &hi, &ai, ack, &ks, ca), 0);
	assert_int_equal(lwt_hs_ack_verify(&st0, ack, sizeof(ack), &got, &kc, confirm), -EBADMSG);
	/* unknown HELLO flags: malformed */
	st0.flags = 0x80;
	assert_int_equal(lwt_hs_hello_build(&psk, &st0, NOW, 1, 0x0200000a, 24, 10, 3, hello), 0);
	assert_int_equal(lwt_hs_hello_verify(hello, sizeof(hello), NOW, 0, &hi), -EBADMSG);
}

/* Client and server with different keys: the client finds out from cB
 * (-EACCES) and still sends a CONFIRM, which the server refuses (-EACCES):
 * the failed guess is seen on both sides. The keys share nothing. Either
 * side holding the wrong key. */
static void test_wrong_key_fails_both_ways(void **state)
{
	const struct lwt_psk_keys *pairs[2][2] = { { &psk, &other }, { &other, &psk } };

	for (int i = 0; i < 2; i++) {
		struct run r;

		run_start(&r, pairs[i][0]);
		run_finish(&r, pairs[i][1]);
		assert_int_equal(r.rc_client, -EACCES);
		assert_int_equal(r.rc_server, -EACCES);
		assert_int_equal(r.confirm[0], LWT_FT_CONFIRM);
	}
}

/* Every bit of the HELLO, the HELLO_ACK and the CONFIRM flipped on its way:
 * the handshake never completes. A changed HELLO is refused by the server
 * at once (format, time) or fails both confirmations (the client's cB check
 * and the server's cA check: both bind the whole HELLO); a changed HELLO_ACK
 * fails the client's check, and its CONFIRM then fails the server's; a
 * changed CONFIRM fails the server's. */
static void test_every_bit_flip(void **state)
{
	struct run base, r;
	size_t bit;
	int refused_early = 0;

	run_start(&base, &psk);
	run_finish(&base, &psk);
	assert_int_equal(base.rc_server, 0);

	for (bit = 0; bit < sizeof(base.hello) * 8; bit++) {
		run_start(&r, &psk);
		r.hello[bit / 8] ^= 1 << (bit % 8);
		if (lwt_hs_hello_verify(r.hello, sizeof(r.hello), NOW, 0, &r.hi) ||
		    lwt_hs_ack_build(&psk, r.hello, &r.hi, &ack_info, r.ack, &r.ks, r.expect_ca)) {
			refused_early++;
			lwt_hs_client_clear(&r.st);
			continue;
		}
		r.hello[bit / 8] ^= 1 << (bit % 8);	/* the client's own copy is intact */
		r.rc_client = lwt_hs_ack_verify(&r.st, r.ack, sizeof(r.ack), &r.ai, &r.kc, r.confirm);
		if (r.rc_client != -EACCES)
			fail_msg("HELLO bit %zu flipped: client's check gave %d, want -EACCES", bit,
				 r.rc_client);
		if (lwt_hs_confirm_verify(r.expect_ca, r.confirm, sizeof(r.confirm)) != -EACCES)
			fail_msg("HELLO bit %zu flipped: the server accepted the CONFIRM", bit);
	}
	/* Header, version, flags, FEC, prefix, pads and most of pA are checked
	 * before any curve work; the rest only the confirmations catch. */
	printf("HELLO: %d of %zu bit flips refused before the HELLO_ACK\n", refused_early,
	       sizeof(base.hello) * 8);
	assert_true(refused_early > 0 && refused_early < (int)sizeof(base.hello) * 8);

	for (bit = 0; bit < sizeof(base.ack) * 8; bit++) {
		run_start(&r, &psk);	/* a fresh exchange: the client's state is one-shot */
		assert_int_equal(lwt_hs_hello_verify(r.hello, sizeof(r.hello), NOW, 0, &r.hi), 0);
		assert_int_equal(lwt_hs_ack_build(&psk, r.hello, &r.hi, &ack_info, r.ack, &r.ks,
						  r.expect_ca), 0);
		r.ack[bit / 8] ^= 1 << (bit % 8);
		r.rc_client = lwt_hs_ack_verify(&r.st, r.ack, sizeof(r.ack), &r.ai, &r.kc, r.confirm);
		if (r.rc_client == 0)
			fail_msg("HELLO_ACK bit %zu flipped: the client accepted it", bit);
		if (r.rc_client == -EACCES &&
		    lwt_hs_confirm_verify(r.expect_ca, r.confirm, sizeof(r.confirm)) == 0)
			fail_msg("HELLO_ACK bit %zu flipped: the client refused, the server accepted "
				 "its CONFIRM", bit);
	}

	for (bit = 0; bit < sizeof(base.confirm) * 8; bit++) {
		uint8_t t[LWT_CONFIRM_FRAME_LEN];

		memcpy(t, base.confirm, sizeof(t));
		t[bit / 8] ^= 1 << (bit % 8);
		if (lwt_hs_confirm_verify(base.expect_ca, t, sizeof(t)) == 0)
			fail_msg("CONFIRM bit %zu flipped: the server accepted it", bit);
	}
}

static void test_lengths_and_staleness(void **state)
{
	struct run r;
	uint8_t hello[LWT_HELLO_FRAME_LEN + 1], ack[LWT_HELLO_ACK_FRAME_LEN + 1];
	uint8_t confirm[LWT_CONFIRM_FRAME_LEN + 1];
	size_t n;

	run_start(&r, &psk);
	run_finish(&r, &psk);
	memcpy(hello, r.hello, sizeof(r.hello));
	memcpy(ack, r.ack, sizeof(r.ack));
	memcpy(confirm, r.confirm, sizeof(r.confirm));
	hello[sizeof(r.hello)] = ack[sizeof(r.ack)] = confirm[sizeof(r.confirm)] = 0;
	for (n = 0; n <= LWT_HELLO_FRAME_LEN + 1; n++)
		if (n != LWT_HELLO_FRAME_LEN)
			assert_int_not_equal(lwt_hs_hello_verify(hello, n, NOW, 0, &r.hi), 0);
	for (n = 0; n <= LWT_CONFIRM_FRAME_LEN + 1; n++)
		if (n != LWT_CONFIRM_FRAME_LEN)
			assert_int_equal(lwt_hs_confirm_verify(r.expect_ca, confirm, n), -EBADMSG);
	for (n = 0; n <= LWT_HELLO_ACK_FRAME_LEN + 1; n++) {
		struct run c;

		if (n == LWT_HELLO_ACK_FRAME_LEN)
			continue;
		run_start(&c, &psk);
		assert_int_equal(lwt_hs_ack_verify(&c.st, ack, n, &c.ai, &c.kc, c.confirm), -EBADMSG);
	}
	/* docs/PROTOCOL.md: a timestamp within +-120 s of the server's clock;
	 * the bound as a number, so a header that widened it fails here. */
	assert_int_equal(lwt_hs_hello_verify(hello, LWT_HELLO_FRAME_LEN, NOW + 120000, 0, &r.hi), 0);
	assert_int_equal(lwt_hs_hello_verify(hello, LWT_HELLO_FRAME_LEN, NOW - 120000, 0, &r.hi), 0);
	assert_int_equal(lwt_hs_hello_verify(hello, LWT_HELLO_FRAME_LEN, NOW + 120001, 0, &r.hi),
			 -ETIME);
	assert_int_equal(lwt_hs_hello_verify(hello, LWT_HELLO_FRAME_LEN, NOW - 120001, 0, &r.hi),
			 -ETIME);
	/* ... and not from before the server's start (its replay cache was
	 * empty then): a restart does not reopen the window. */
	assert_int_equal(lwt_hs_hello_verify(hello, LWT_HELLO_FRAME_LEN, NOW + 1000, NOW, &r.hi), 0);
	assert_int_equal(lwt_hs_hello_verify(hello, LWT_HELLO_FRAME_LEN, NOW + 1000, NOW + 1,
					     &r.hi), -ESTALE);
	/* Another version: said as such, whatever its length (v1's HELLO body
	 * was 124 bytes). */
	hello[HDR] = 1;
	hello[3] = 124;
	assert_int_equal(lwt_hs_hello_verify(hello, HDR + 124, NOW, 0, &r.hi), -EPROTONOSUPPORT);
	assert_int_equal(r.hi.version, 1);
	/* An ACK answers one HELLO only. */
	{
		struct run c;

		run_start(&c, &psk);
		assert_int_equal(lwt_hs_ack_verify(&c.st, r.ack, sizeof(r.ack), &c.ai, &c.kc,
						   c.confirm), -EACCES);
	}
}

/* Offline guessing: what a capture holds. A guess w' is "checked" against a
 * captured HELLO + HELLO_ACK + CONFIRM only by recomputing a confirmation,
 * which needs K = x*(pB - w'*N) = y*(pA - w'*M): the client's x or the
 * server's y, never on the wire (v1's HELLO carried HMAC(HKDF(PSK), public
 * bytes): a function of the PSK and the capture alone). check_guess below
 * is that computation; given x it tells the right PSK from a wrong one;
 * given anything else in place of x (an attacker's best: its own scalar,
 * or 1) it rejects even the right PSK, so a capture gives nothing to test
 * guesses against: each guess costs an online handshake, which the server
 * counts per source. */
static bool check_guess(const struct run *cap, const char *guess, const uint8_t x[32])
{
	struct lwt_psk_keys g;
	struct lwt_spake2 a;
	uint8_t t[LWT_HS_TRANSCRIPT_LEN], pa[LWT_HS_SHARE_LEN], ke[16], ca[32], cb[32];
	const uint8_t *ack_cb = cap->ack + HDR + offsetof(struct lwt_hello_ack, confirm);
	bool ok;

	assert_int_equal(lwt_crypto_psk_derive(guess, &g), 0);
	memcpy(t, cap->hello, LWT_HELLO_FRAME_LEN);
	memcpy(t + LWT_HELLO_FRAME_LEN, cap->ack, LWT_HS_TRANSCRIPT_LEN - LWT_HELLO_FRAME_LEN);
	assert_int_equal(lwt_spake2_init_pw(&a, LWT_SPAKE2_ROLE_A, LWT_HS_ID_CLIENT,
					    strlen(LWT_HS_ID_CLIENT), LWT_HS_ID_SERVER,
					    strlen(LWT_HS_ID_SERVER), &g.pw), 0);
	assert_int_equal(lwt_spake2_start_with_scalar(&a, x, pa), 0);
	assert_int_equal(lwt_spake2_set_aad(&a, t, sizeof(t)), 0);
	ok = lwt_spake2_finish(&a, cap->ack + HDR + offsetof(struct lwt_hello_ack, share),
			       LWT_HS_SHARE_LEN, ke, ca, cb) == 0 &&
	     lwt_crypto_equal(cb, ack_cb, 32) && lwt_crypto_equal(ca, cap->confirm + HDR, 32);
	lwt_spake2_clear(&a);
	lwt_crypto_psk_clear(&g);
	return ok;
}

static void test_capture_gives_no_offline_test(void **state)
{
	uint8_t one[32] = { 0 }, mine[32];
	struct run cap;

	run_start(&cap, &psk);
	run_finish(&cap, &psk);
	assert_int_equal(cap.rc_server, 0);
	/* With the client's secret x the computation works: it is the right one. */
	assert_true(check_guess(&cap, "the right key", cap.x));
	assert_false(check_guess(&cap, "the wrong key", cap.x));
	/* Without it, nothing verifies, not even the right key. */
	one[31] = 1;
	assert_false(check_guess(&cap, "the right key", one));
	assert_int_equal(lwt_crypto_random(mine, sizeof(mine)), 0);
	mine[0] &= 0x7f;	/* below the group order */
	assert_false(check_guess(&cap, "the right key", mine));
	/* And the capture holds no value that depends on the PSK alone: the
	 * same handshake under another PSK looks alike (fresh points, randoms),
	 * its bytes a function of the PSK only through x, y and K. */
	{
		struct run o;

		run_start(&o, &other);
		run_finish(&o, &other);
		assert_int_equal(o.rc_server, 0);
		assert_false(check_guess(&o, "the right key", o.x));
		assert_true(check_guess(&o, "the wrong key", o.x));
	}
}

/* The guess limiter: a burst of LWT_HS_GUESS_BURST, then one per
 * LWT_HS_GUESS_EVERY_MS; a right guess (refund) costs nothing; other
 * sources are unaffected; a flood of other sources (more than the table
 * holds) does not wash an indebted source out. */
static void test_guess_limit(void **state)
{
	static struct lwt_hs_limit l;
	const uint32_t a = 0x0200000a, b = 0x0300000a;
	uint64_t t = NOW;
	int i;

	lwt_hs_limit_init(&l);
	for (i = 0; i < LWT_HS_GUESS_BURST; i++) {
		if (!lwt_hs_limit_allow(&l, a, t))
			fail_msg("guess %d of the burst refused", i + 1);
		lwt_hs_limit_charge(&l, a, t);
	}
	assert_false(lwt_hs_limit_allow(&l, a, t));
	assert_true(lwt_hs_limit_allow(&l, b, t));
	assert_false(lwt_hs_limit_allow(&l, a, t + LWT_HS_GUESS_EVERY_MS - 1));
	assert_true(lwt_hs_limit_allow(&l, a, t + LWT_HS_GUESS_EVERY_MS));
	/* Refunded guesses (right keys) never run a source out. */
	for (i = 0; i < 10 * LWT_HS_GUESS_BURST; i++) {
		assert_true(lwt_hs_limit_allow(&l, b, t));
		lwt_hs_limit_charge(&l, b, t);
		lwt_hs_limit_refund(&l, b, t);
	}
	/* 100000 other sources, each one guess, at the same instant. */
	for (uint32_t s = 1; s <= 100000; s++) {
		if (s == a || s == b)
			continue;
		lwt_hs_limit_charge(&l, htonl(0x0a000000 + s), t);
	}
	assert_false(lwt_hs_limit_allow(&l, a, t));
	/* Ten minutes later everybody owes nothing. */
	t += 600000;
	assert_true(lwt_hs_limit_allow(&l, a, t));
	for (i = 0; i < LWT_HS_GUESS_BURST; i++)
		lwt_hs_limit_charge(&l, a, t);
	assert_false(lwt_hs_limit_allow(&l, a, t));
}

static void test_reject(void **state)
{
	uint8_t f[LWT_REJECT_FRAME_LEN];

	for (int r = LWT_REJECT_AUTH; r <= LWT_REJECT_LIMIT; r++) {
		lwt_hs_reject_build(r, f);
		assert_int_equal(lwt_hs_reject_parse(f, sizeof(f)), r);
		assert_string_not_equal(lwt_hs_reject_str(r), "unknown reason");
	}
	assert_string_equal(lwt_hs_reject_str(LWT_REJECT_AUTH), "wrong key");
	assert_int_equal(lwt_hs_reject_parse(f, sizeof(f) - 1), -EBADMSG);
	f[0] = LWT_FT_HELLO;
	assert_int_equal(lwt_hs_reject_parse(f, sizeof(f)), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_auth_only_negotiation),
		cmocka_unit_test(test_wrong_key_fails_both_ways),
		cmocka_unit_test(test_every_bit_flip),
		cmocka_unit_test(test_lengths_and_staleness),
		cmocka_unit_test(test_capture_gives_no_offline_test),
		cmocka_unit_test(test_guess_limit),
		cmocka_unit_test(test_reject),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
