// SPDX-License-Identifier: MIT
/* HELLO / HELLO_ACK / REJECT: round trip, keys from the X25519 result, wrong
 * key, tampering, staleness (the documented +-120 s). */
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "handshake.h"

#define NOW 1700000000000ull

static struct lwt_psk_keys psk, other;

static int setup(void **state)
{
	lwt_crypto_psk_derive("the right key", &psk);
	lwt_crypto_psk_derive("the wrong key", &other);
	return 0;
}

static void handshake(struct lwt_hs_client *st, uint8_t *hello, uint8_t *ack,
		      struct lwt_session_keys *sk, struct lwt_hs_hello_info *hi)
{
	struct lwt_hs_ack_info ai = { .session_id = 0x11223344, .server_tunnel_ip = 0x0100000a,
				      .server_tunnel_prefix = 24, .fec_data = 20, .fec_parity = 2 };

	assert_int_equal(lwt_hs_hello_build(&psk, st, NOW, 42, 0x0200000a, 24, 10, 3, hello), 0);
	assert_int_equal(lwt_hs_hello_verify(&psk, hello, LWT_HELLO_FRAME_LEN, NOW + 5, hi), 0);
	assert_int_equal(lwt_hs_ack_build(&psk, hello, hi, &ai, ack, sk), 0);
}

static void test_round_trip(void **state)
{
	struct lwt_hs_client st = { 0 };
	struct lwt_hs_hello_info hi;
	struct lwt_hs_ack_info ai;
	struct lwt_session_keys ks, kc;
	uint8_t hello[LWT_HELLO_FRAME_LEN], ack[LWT_HELLO_ACK_FRAME_LEN];

	handshake(&st, hello, ack, &ks, &hi);
	assert_int_equal(hi.client_id, 42);
	assert_int_equal(hi.tunnel_ip, 0x0200000a);
	assert_int_equal(hi.tunnel_prefix, 24);
	assert_int_equal(lwt_hs_ack_verify(&psk, &st, ack, sizeof(ack), &ai, &kc), 0);
	assert_int_equal(ai.session_id, 0x11223344);
	assert_int_equal(ai.server_tunnel_ip, 0x0100000a);
	assert_int_equal(ai.fec_data, 20);
	assert_int_equal(ai.fec_parity, 2);
	assert_int_equal(hi.fec_data, 10);
	assert_int_equal(hi.fec_parity, 3);
	assert_memory_equal(&ks, &kc, sizeof(ks));
}

/* encrypt_after_auth is granted only when both ask; the server never grants
 * more than the client asked, and a client refuses an ACK that does. */
/* Both ends' keys are the key schedule over the X25519 result of the two
 * ephemeral keys (recomputed here from the client's secret and the ACK's
 * public key), and a client holding another secret than the one its HELLO
 * announced gets an ACK that verifies (the MAC does not cover the secret)
 * but keys that share nothing with the server's. Keys derived without the
 * DH result pass neither. */
static void test_keys_from_dh(void **state)
{
	struct lwt_hs_client st = { 0 }, st2;
	struct lwt_hs_hello_info hi;
	struct lwt_hs_ack_info ai;
	struct lwt_session_keys ks, kc, kr;
	uint8_t hello[LWT_HELLO_FRAME_LEN], ack[LWT_HELLO_ACK_FRAME_LEN], dh[32], pub[32];
	const uint8_t *body = ack + sizeof(struct lwt_frame_hdr);
	const uint8_t *server_pub = body + offsetof(struct lwt_hello_ack, server_pub);
	const uint8_t *server_random = body + offsetof(struct lwt_hello_ack, server_random);

	handshake(&st, hello, ack, &ks, &hi);
	assert_int_equal(lwt_hs_ack_verify(&psk, &st, ack, sizeof(ack), &ai, &kc), 0);
	assert_int_equal(lwt_x25519_shared(st.priv, server_pub, dh), 0);
	assert_int_equal(lwt_crypto_session_derive(&psk, dh, st.random, server_random, st.pub,
						   server_pub, &kr), 0);
	assert_memory_equal(&kc, &kr, sizeof(kr));
	assert_memory_equal(&ks, &kr, sizeof(kr));

	st2 = st;
	assert_int_equal(lwt_x25519_keygen(st2.priv, pub), 0);	/* another secret, same HELLO */
	assert_int_equal(lwt_hs_ack_verify(&psk, &st2, ack, sizeof(ack), &ai, &kc), 0);
	assert_memory_not_equal(kc.c2s_key, ks.c2s_key, 32);
	assert_memory_not_equal(kc.s2c_key, ks.s2c_key, 32);
	assert_memory_not_equal(kc.c2s_iv, ks.c2s_iv, 4);
	assert_memory_not_equal(kc.s2c_iv, ks.s2c_iv, 4);
}

static void test_auth_only_negotiation(void **state)
{
	uint8_t hello[LWT_HELLO_FRAME_LEN], ack[LWT_HELLO_ACK_FRAME_LEN];
	struct lwt_hs_client st = { .flags = LWT_HS_F_AUTH_ONLY }, st0 = { 0 };
	struct lwt_hs_ack_info ai = { .session_id = 7, .fec_data = 10, .fec_parity = 3,
				      .flags = LWT_HS_F_AUTH_ONLY }, got;
	struct lwt_hs_hello_info hi;
	struct lwt_session_keys ks, kc;

	/* both ask: granted */
	assert_int_equal(lwt_hs_hello_build(&psk, &st, NOW, 1, 0x0200000a, 24, 10, 3, hello), 0);
	assert_int_equal(lwt_hs_hello_verify(&psk, hello, sizeof(hello), NOW, &hi), 0);
	assert_int_equal(hi.flags, LWT_HS_F_AUTH_ONLY);
	assert_int_equal(lwt_hs_ack_build(&psk, hello, &hi, &ai, ack, &ks), 0);
	assert_int_equal(lwt_hs_ack_verify(&psk, &st, ack, sizeof(ack), &got, &kc), 0);
	assert_int_equal(got.flags, LWT_HS_F_AUTH_ONLY);
	/* client does not ask: the server's wish is not granted */
	assert_int_equal(lwt_hs_hello_build(&psk, &st0, NOW, 1, 0x0200000a, 24, 10, 3, hello), 0);
	assert_int_equal(lwt_hs_hello_verify(&psk, hello, sizeof(hello), NOW, &hi), 0);
	assert_int_equal(hi.flags, 0);
	assert_int_equal(lwt_hs_ack_build(&psk, hello, &hi, &ai, ack, &ks), 0);
	assert_int_equal(lwt_hs_ack_verify(&psk, &st0, ack, sizeof(ack), &got, &kc), 0);
	assert_int_equal(got.flags, 0);
	/* an ACK granting what was not asked is malformed, even with a valid MAC */
	hi.flags = LWT_HS_F_AUTH_ONLY;
	assert_int_equal(lwt_hs_ack_build(&psk, hello, &hi, &ai, ack, &ks), 0);
	assert_int_equal(lwt_hs_ack_verify(&psk, &st0, ack, sizeof(ack), &got, &kc), -EBADMSG);
	/* unknown HELLO flags: malformed */
	st0.flags = 0x80;
	assert_int_equal(lwt_hs_hello_build(&psk, &st0, NOW, 1, 0x0200000a, 24, 10, 3, hello), 0);
	assert_int_equal(lwt_hs_hello_verify(&psk, hello, sizeof(hello), NOW, &hi), -EBADMSG);
}

static void test_wrong_key(void **state)
{
	struct lwt_hs_client st = { 0 };
	struct lwt_hs_hello_info hi;
	struct lwt_hs_ack_info ai;
	struct lwt_session_keys ks, kc;
	uint8_t hello[LWT_HELLO_FRAME_LEN], ack[LWT_HELLO_ACK_FRAME_LEN];

	handshake(&st, hello, ack, &ks, &hi);
	assert_int_equal(lwt_hs_hello_verify(&other, hello, sizeof(hello), NOW, &hi), -EACCES);
	assert_int_equal(lwt_hs_ack_verify(&other, &st, ack, sizeof(ack), &ai, &kc), -EACCES);
}

static void test_every_bit_flip(void **state)
{
	struct lwt_hs_client st = { 0 };
	struct lwt_hs_hello_info hi;
	struct lwt_hs_ack_info ai;
	struct lwt_session_keys ks, kc;
	uint8_t hello[LWT_HELLO_FRAME_LEN], ack[LWT_HELLO_ACK_FRAME_LEN], t[LWT_HELLO_FRAME_LEN];
	size_t bit;

	handshake(&st, hello, ack, &ks, &hi);
	for (bit = 0; bit < sizeof(hello) * 8; bit++) {
		memcpy(t, hello, sizeof(hello));
		t[bit / 8] ^= 1 << (bit % 8);
		assert_int_not_equal(lwt_hs_hello_verify(&psk, t, sizeof(t), NOW, &hi), 0);
	}
	for (bit = 0; bit < sizeof(ack) * 8; bit++) {
		memcpy(t, ack, sizeof(ack));
		t[bit / 8] ^= 1 << (bit % 8);
		assert_int_not_equal(lwt_hs_ack_verify(&psk, &st, t, sizeof(ack), &ai, &kc), 0);
	}
}

static void test_lengths_and_staleness(void **state)
{
	struct lwt_hs_client st = { 0 }, st2 = { 0 };
	struct lwt_hs_hello_info hi;
	struct lwt_hs_ack_info ai;
	struct lwt_session_keys ks, kc;
	uint8_t hello[LWT_HELLO_FRAME_LEN + 1], ack[LWT_HELLO_ACK_FRAME_LEN + 1];
	uint8_t hello2[LWT_HELLO_FRAME_LEN];
	size_t n;

	handshake(&st, hello, ack, &ks, &hi);
	for (n = 0; n < LWT_HELLO_FRAME_LEN; n++)
		assert_int_equal(lwt_hs_hello_verify(&psk, hello, n, NOW, &hi), -EBADMSG);
	assert_int_equal(lwt_hs_hello_verify(&psk, hello, sizeof(hello), NOW, &hi), -EBADMSG);
	for (n = 0; n < LWT_HELLO_ACK_FRAME_LEN; n++)
		assert_int_equal(lwt_hs_ack_verify(&psk, &st, ack, n, &ai, &kc), -EBADMSG);
	/* docs/PROTOCOL.md: a timestamp within +-120 s of the server's clock;
	 * the bound as a number, so a header that widened it fails here. */
	assert_int_equal(lwt_hs_hello_verify(&psk, hello, LWT_HELLO_FRAME_LEN, NOW + 120000, &hi), 0);
	assert_int_equal(lwt_hs_hello_verify(&psk, hello, LWT_HELLO_FRAME_LEN, NOW - 120000, &hi), 0);
	assert_int_equal(lwt_hs_hello_verify(&psk, hello, LWT_HELLO_FRAME_LEN, NOW + 120001, &hi),
			 -ETIME);
	assert_int_equal(lwt_hs_hello_verify(&psk, hello, LWT_HELLO_FRAME_LEN, NOW - 120001, &hi),
			 -ETIME);
	/* An ACK answers one HELLO only. */
	assert_int_equal(lwt_hs_hello_build(&psk, &st2, NOW, 42, 0x0200000a, 24, 10, 3, hello2), 0);
	assert_int_equal(lwt_hs_ack_verify(&psk, &st2, ack, LWT_HELLO_ACK_FRAME_LEN, &ai, &kc), -EACCES);
}

static void test_reject(void **state)
{
	uint8_t f[LWT_REJECT_FRAME_LEN];

	for (int r = LWT_REJECT_AUTH; r <= LWT_REJECT_STALE; r++) {
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
		cmocka_unit_test(test_keys_from_dh),
		cmocka_unit_test(test_auth_only_negotiation),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_every_bit_flip),
		cmocka_unit_test(test_lengths_and_staleness),
		cmocka_unit_test(test_reject),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
