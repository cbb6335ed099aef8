// SPDX-License-Identifier: MIT
/* HKDF, HMAC, AES-256-GCM, GMAC and X25519 against published vectors; the
 * key schedules against known answers computed outside lwt: the handshake's
 * (SPAKE2's Ke, both randoms, the transcript), the PSK's SPAKE2 password and
 * cached masks, the key rotation's and its dependence on the X25519 secret.
 * The record cipher (libgcrypt, aead.c) also against OpenSSL's EVP GCM for
 * every record length and AAD split the data plane can produce. */
#include <errno.h>
#include <stdio.h>
#include <openssl/evp.h>
#include "testutil.h"
#include "crypto.h"

struct hkdf_case {
	const char *ikm, *salt, *info, *okm;
};

/* RFC 5869 appendix A, test cases 1-3. */
static const struct hkdf_case hkdf_cases[] = {
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
	  "f0f1f2f3f4f5f6f7f8f9",
	  "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865" },
	{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	  "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	  "404142434445464748494a4b4c4d4e4f",
	  "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	  "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
	  "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	  "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	  "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
	  "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	  "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	  "cc30c58179ec3e87c14c01d5c1f3434f1d87" },
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
	  "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8" },
};

static void test_hkdf_rfc5869(void **state)
{
	for (size_t i = 0; i < sizeof(hkdf_cases) / sizeof(hkdf_cases[0]); i++) {
		uint8_t ikm[128], salt[128], info[128], okm[128], out[128];
		size_t il = unhex(hkdf_cases[i].ikm, ikm), sl = unhex(hkdf_cases[i].salt, salt);
		size_t nl = unhex(hkdf_cases[i].info, info), ol = unhex(hkdf_cases[i].okm, okm);

		printf("hkdf case %zu\n", i + 1);
		assert_int_equal(lwt_crypto_hkdf(salt, sl, ikm, il, info, nl, out, ol), 0);
		assert_memory_equal(out, okm, ol);
	}
}

static void test_hmac_rfc4231(void **state)
{
	/* Case 2: key "Jefe" (HMAC zero-pads short keys, so 32 bytes with zeros is the same). */
	uint8_t key[32] = { 'J', 'e', 'f', 'e' }, want[32], out[32];
	const char *data = "what do ya want for nothing?";

	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want);
	assert_int_equal(lwt_crypto_hmac(key, (const uint8_t *)data, strlen(data), out), 0);
	assert_memory_equal(out, want, 32);
}

struct gcm_case {
	const char *key, *iv, *pt, *aad, *ct, *tag;
};

/* The GCM specification (McGrew & Viega), test cases 13-16 (AES-256). */
static const struct gcm_case gcm_cases[] = {
	{ "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b" },
	{ "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "00000000000000000000000000000000", "",
	  "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", "",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	  "b094dac5d93471bdec1a502270e3cc6c" },
	{ "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static uint64_t counter_of(const uint8_t iv[12])
{
	uint64_t c = 0;

	for (int i = 4; i < 12; i++)
		c = c << 8 | iv[i];
	return c;
}

static void test_gcm_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(gcm_cases) / sizeof(gcm_cases[0]); i++) {
		const struct gcm_case *c = &gcm_cases[i];
		uint8_t key[32], iv[12], pt[128], aad[64], ct[128], tag[16], buf[160];
		size_t pl = unhex(c->pt, pt), al = unhex(c->aad, aad);
		struct lwt_aead *a;

		printf("gcm case %zu\n", i + 13);
		unhex(c->key, key);
		unhex(c->iv, iv);
		unhex(c->ct, ct);
		unhex(c->tag, tag);
		a = lwt_aead_create(key, iv);
		assert_non_null(a);
		memcpy(buf, pt, pl);
		assert_int_equal(lwt_aead_seal(a, counter_of(iv), aad, al, buf, pl), 0);
		assert_memory_equal(buf, ct, pl);
		assert_memory_equal(buf + pl, tag, 16);
		assert_int_equal(lwt_aead_open(a, counter_of(iv), aad, al, buf, pl), 0);
		assert_memory_equal(buf, pt, pl);
		/* Any flipped bit, in ciphertext, tag or AAD, fails. */
		for (size_t bit = 0; bit < (pl + 16) * 8; bit += 7) {
			memcpy(buf, ct, pl);
			memcpy(buf + pl, tag, 16);
			buf[bit / 8] ^= 1 << (bit % 8);
			assert_int_equal(lwt_aead_open(a, counter_of(iv), aad, al, buf, pl), -EBADMSG);
		}
		if (al) {
			memcpy(buf, ct, pl);
			memcpy(buf + pl, tag, 16);
			aad[0] ^= 1;
			assert_int_equal(lwt_aead_open(a, counter_of(iv), aad, al, buf, pl), -EBADMSG);
		}
		/* The wrong counter (nonce) fails. */
		memcpy(buf, ct, pl);
		memcpy(buf + pl, tag, 16);
		assert_int_equal(lwt_aead_open(a, counter_of(iv) + 1, aad, al, buf, pl), -EBADMSG);
		lwt_aead_destroy(a);
	}
}

static void test_gmac(void **state)
{
	uint8_t key[32] = { 1 }, iv[4] = { 2 }, aad[16] = { 3 }, data[100], tag[16];
	struct lwt_aead *a = lwt_aead_create(key, iv);

	memset(data, 0x5a, sizeof(data));
	assert_int_equal(lwt_aead_gmac_seal(a, 7, aad, sizeof(aad), data, sizeof(data), tag), 0);
	assert_int_equal(lwt_aead_gmac_open(a, 7, aad, sizeof(aad), data, sizeof(data), tag), 0);
	data[50] ^= 0x80;
	assert_int_equal(lwt_aead_gmac_open(a, 7, aad, sizeof(aad), data, sizeof(data), tag), -EBADMSG);
	data[50] ^= 0x80;
	assert_int_equal(lwt_aead_gmac_open(a, 8, aad, sizeof(aad), data, sizeof(data), tag), -EBADMSG);
	tag[0] ^= 1;
	assert_int_equal(lwt_aead_gmac_open(a, 7, aad, sizeof(aad), data, sizeof(data), tag), -EBADMSG);
	lwt_aead_destroy(a);
}

/* OpenSSL's EVP AES-256-GCM, the reference the record cipher must equal:
 * tag over aad || more (GMAC when len is 0 and more is set), ciphertext in
 * out. */
static void evp_gcm(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
		    size_t aad_len, const uint8_t *more, size_t more_len, const uint8_t *in,
		    uint8_t *out, size_t len, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ol;

	assert_non_null(c);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce), 1);
	if (aad_len)
		assert_int_equal(EVP_EncryptUpdate(c, NULL, &ol, aad, (int)aad_len), 1);
	if (more_len)
		assert_int_equal(EVP_EncryptUpdate(c, NULL, &ol, more, (int)more_len), 1);
	if (len)
		assert_int_equal(EVP_EncryptUpdate(c, out, &ol, in, (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, out + len, &ol), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(c);
}

static void nonce_of(const uint8_t iv[4], uint64_t ctr, uint8_t n[12])
{
	memcpy(n, iv, 4);
	for (int i = 0; i < 8; i++)
		n[4 + i] = ctr >> (56 - 8 * i);
}

/* Every length 0..1600 (a jumbo record's worth of odd sizes too), AAD of
 * the data plane's sizes and odd ones, counters with the epoch's high bits:
 * seal equals EVP byte for byte, open takes it back, GMAC equals EVP's tag
 * over aad || data; one aead object across all of them, as a poller uses it. */
static void test_gcm_against_evp(void **state)
{
	static const size_t aads[] = { 0, 1, 15, 16, 17, 24, 31, 40 };
	uint8_t key[32], iv[4], aad[40], pt[9100], buf[9100 + 16], ref[9100 + 16], tag[16], n[12];
	uint64_t ctr = 0x0003000000001234ull;
	struct lwt_aead *a;
	size_t len, k;

	for (k = 0; k < sizeof(key); k++)
		key[k] = (uint8_t)(k * 37 + 5);
	memcpy(iv, "\x9a\x01\xfe\x42", 4);
	for (k = 0; k < sizeof(aad); k++)
		aad[k] = (uint8_t)(k * 11 + 3);
	for (k = 0; k < sizeof(pt); k++)
		pt[k] = (uint8_t)(k * 131 + (k >> 8));
	a = lwt_aead_create(key, iv);
	assert_non_null(a);
	for (len = 0; len <= 9000; len += len < 1600 ? 1 : 997) {
		size_t al = aads[len % (sizeof(aads) / sizeof(aads[0]))];

		ctr += 1 + (len & 3);
		nonce_of(iv, ctr, n);
		evp_gcm(key, n, aad, al, NULL, 0, pt, ref, len, ref + len);
		memcpy(buf, pt, len);
		assert_int_equal(lwt_aead_seal(a, ctr, aad, al, buf, len), 0);
		if (memcmp(buf, ref, len + 16)) {
			printf("seal differs from EVP at length %zu, aad %zu\n", len, al);
			fail();
		}
		assert_int_equal(lwt_aead_open(a, ctr, aad, al, buf, len), 0);
		assert_memory_equal(buf, pt, len);
		if (len < 300) {
			evp_gcm(key, n, aad, al, pt, len, NULL, buf, 0, ref);
			assert_int_equal(lwt_aead_gmac_seal(a, ctr, aad, al, pt, len, tag), 0);
			assert_memory_equal(tag, ref, 16);
			assert_int_equal(lwt_aead_gmac_open(a, ctr, aad, al, pt, len, tag), 0);
			tag[len % 16] ^= 0x10;
			assert_int_equal(lwt_aead_gmac_open(a, ctr, aad, al, pt, len, tag), -EBADMSG);
		}
	}
	/* A failed open leaves the object usable for the next record. */
	memcpy(buf, pt, 100);
	assert_int_equal(lwt_aead_seal(a, 9, aad, 16, buf, 100), 0);
	buf[100] ^= 1;
	assert_int_equal(lwt_aead_open(a, 9, aad, 16, buf, 100), -EBADMSG);
	memcpy(buf, pt, 100);
	assert_int_equal(lwt_aead_seal(a, 10, aad, 16, buf, 100), 0);
	assert_int_equal(lwt_aead_open(a, 10, aad, 16, buf, 100), 0);
	assert_memory_equal(buf, pt, 100);
	lwt_aead_destroy(a);
}

static void test_x25519_rfc7748(void **state)
{
	uint8_t a[32], ap[32], b[32], bp[32], k[32], out[32], zero[32] = { 0 };

	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", ap);
	unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bp);
	unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", k);
	assert_int_equal(lwt_x25519_shared(a, bp, out), 0);
	assert_memory_equal(out, k, 32);
	assert_int_equal(lwt_x25519_shared(b, ap, out), 0);
	assert_memory_equal(out, k, 32);
	/* A low-order point (here: 0) gives an all-zero secret: refused. */
	assert_int_equal(lwt_x25519_shared(a, zero, out), -EINVAL);
}

static void test_x25519_keygen(void **state)
{
	uint8_t a[32], ap[32], b[32], bp[32], k1[32], k2[32];

	assert_int_equal(lwt_x25519_keygen(a, ap), 0);
	assert_int_equal(lwt_x25519_keygen(b, bp), 0);
	assert_memory_not_equal(ap, bp, 32);
	assert_int_equal(lwt_x25519_shared(a, bp, k1), 0);
	assert_int_equal(lwt_x25519_shared(b, ap, k2), 0);
	assert_memory_equal(k1, k2, 32);
}

static void test_psk_and_session(void **state)
{
	struct lwt_psk_keys p1, p2, p3;
	struct lwt_session_keys s;
	uint8_t dh[32] = { 9 }, r1[32] = { 1 }, r2[32] = { 2 }, c[32] = { 3 }, sp[32] = { 4 };

	assert_int_equal(lwt_crypto_psk_derive("correct horse", &p1), 0);
	assert_int_equal(lwt_crypto_psk_derive("correct horse", &p2), 0);
	assert_int_equal(lwt_crypto_psk_derive("correct horsf", &p3), 0);
	assert_memory_equal(&p1, &p2, sizeof(p1));
	assert_memory_not_equal(p1.pw.w, p3.pw.w, 32);
	assert_memory_not_equal(p1.mix_key, p3.mix_key, 32);
	assert_memory_not_equal(p1.pw.w, p1.mix_key, 32);
	assert_int_equal(lwt_crypto_session_derive(&p1, dh, r1, r2, c, sp, &s), 0);
	assert_memory_not_equal(s.c2s_key, s.s2c_key, 32);
	assert_memory_not_equal(s.c2s_iv, s.s2c_iv, 4);
	assert_true(lwt_crypto_equal("abc", "abc", 3));
	assert_false(lwt_crypto_equal("abc", "abd", 3));
}

/* Known answer for the key rotation's schedule (the v1 handshake's, kept by
 * REKEY): the mix key from a passphrase, the X25519 secret of RFC 7748
 * 6.1's Alice and Bob, fixed randoms, and the four session key parts. The
 * expected bytes were computed once outside lwt, by the contract in
 * crypto.h, with Python 3 (hmac/hashlib HKDF-SHA256 and the `cryptography`
 * package's X25519), and the HKDF steps cross-checked with
 *   openssl kdf -keylen 72 -kdfopt digest:SHA256 -kdfopt hexkey:<dh>
 *     -kdfopt hexsalt:<mix_key> -kdfopt hexinfo:<info> HKDF
 * (openssl 3.0.19): mix = HKDF(salt "lwt-v1 psk", passphrase, "mix", 32);
 * okm = HKDF(salt mix_key, ikm dh, "lwt-v1 keys" || client_random ||
 * server_random || client_pub || server_pub, 72) = c2s_key || s2c_key ||
 * c2s_iv || s2c_iv. */
static const char *const kat_a = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char *const kat_ap = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char *const kat_bp = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";

static void kat_randoms(uint8_t cr[32], uint8_t sr[32])
{
	for (int i = 0; i < 32; i++) {
		cr[i] = (uint8_t)i;		/* 00..1f */
		sr[i] = (uint8_t)(0x20 + i);	/* 20..3f */
	}
}

static void test_session_known_answer(void **state)
{
	uint8_t a[32], ap[32], bp[32], dh[32], cr[32], sr[32], want[32];
	struct lwt_psk_keys psk;
	struct lwt_session_keys s;

	assert_int_equal(lwt_crypto_psk_derive("lwt known-answer key", &psk), 0);
	unhex("2556b1db321ed1c5ff772b86eec19872ca1f4916a941599d3971c5cf67ce17b7", want);
	assert_memory_equal(psk.mix_key, want, 32);

	unhex(kat_a, a);
	unhex(kat_ap, ap);
	unhex(kat_bp, bp);
	kat_randoms(cr, sr);
	assert_int_equal(lwt_x25519_shared(a, bp, dh), 0);
	assert_int_equal(lwt_crypto_session_derive(&psk, dh, cr, sr, ap, bp, &s), 0);
	unhex("3b2fe40404db85066cf6336d7adaffddcef3202862614ce706bbbab7b6102f13", want);
	assert_memory_equal(s.c2s_key, want, 32);
	unhex("0b530d9807d8ac3c11b67bbac49e0a3b8ca3672c24c43346ac220189301bf80d", want);
	assert_memory_equal(s.s2c_key, want, 32);
	unhex("4591db6a", want);
	assert_memory_equal(s.c2s_iv, want, 4);
	unhex("e54f422c", want);
	assert_memory_equal(s.s2c_iv, want, 4);
}

static bool keys_disjoint(const struct lwt_session_keys *x, const struct lwt_session_keys *y)
{
	return memcmp(x->c2s_key, y->c2s_key, 32) && memcmp(x->s2c_key, y->s2c_key, 32) &&
	       memcmp(x->c2s_iv, y->c2s_iv, 4) && memcmp(x->s2c_iv, y->s2c_iv, 4);
}

/* The keys depend on the X25519 secret: another private key (Alice's with
 * one bit of byte 5 flipped; a bit the clamping keeps) against the same
 * public key, and any single flipped bit of the shared secret, change every
 * part of the keys, all else equal. Keys derived without the DH result, or
 * from only part of it, fail here. */
static void test_session_depends_on_dh(void **state)
{
	uint8_t a[32], ap[32], bp[32], dh[32], dh2[32], cr[32], sr[32], want[32];
	struct lwt_psk_keys psk;
	struct lwt_session_keys s, s2;

	assert_int_equal(lwt_crypto_psk_derive("lwt known-answer key", &psk), 0);
	unhex(kat_a, a);
	unhex(kat_ap, ap);
	unhex(kat_bp, bp);
	kat_randoms(cr, sr);
	assert_int_equal(lwt_x25519_shared(a, bp, dh), 0);
	assert_int_equal(lwt_crypto_session_derive(&psk, dh, cr, sr, ap, bp, &s), 0);

	a[5] ^= 0x10;
	assert_int_equal(lwt_x25519_shared(a, bp, dh2), 0);
	/* The same Python session as above: X25519 of that key and Bob's. */
	unhex("17cdfa1ad678f4ecf48ebd4cf45b3d50752f8ad228a004a27987ea77b3bf1c01", want);
	assert_memory_equal(dh2, want, 32);
	assert_int_equal(lwt_crypto_session_derive(&psk, dh2, cr, sr, ap, bp, &s2), 0);
	assert_true(keys_disjoint(&s, &s2));

	for (int bit = 0; bit < 256; bit++) {
		memcpy(dh2, dh, 32);
		dh2[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		assert_int_equal(lwt_crypto_session_derive(&psk, dh2, cr, sr, ap, bp, &s2), 0);
		if (!keys_disjoint(&s, &s2))
			fail_msg("flipping bit %d of the DH secret left part of the keys unchanged", bit);
	}
}

/* The PSK's handshake half: the SPAKE2 password w = HKDF-SHA256(salt nil,
 * PSK, "lwt SPAKE2-P256 w v1", 40) mod p and its cached masks w*M, w*N
 * (RFC 9382's P-256 M and N, uncompressed). Computed outside lwt by
 * tests/unit/handshake_kat.py (Python 3 stdlib: hashlib/hmac HKDF, P-256 in
 * affine coordinates, checked first against RFC 9382's vector 1). */
static void test_psk_spake2_password(void **state)
{
	struct lwt_psk_keys psk;
	uint8_t want[65];

	assert_int_equal(lwt_crypto_psk_derive("lwt known-answer key", &psk), 0);
	unhex("0124afb238359f42463ae2c20dbb586023b9a464443092c8ab5e609898279313", want);
	assert_memory_equal(psk.pw.w, want, 32);
	unhex("04d7aa6dde179893709b84edd62a60cca0b5d84b302c0f0896cc79fc1afa7cd2ac"
	      "c2dd57c1e7b03a377d8ef6149e842a7c78f40c4eb57a79b658a5cbdf697df32e", want);
	assert_memory_equal(psk.pw.wm, want, 65);
	unhex("04e2a8c74fccf694de592d7d72895772d843edb1c49b44cc60eea2122f5c1fde5f"
	      "17400a76df99befae2c49cbcf901fff4560e43f1f64ecbc5234d4816fa384533", want);
	assert_memory_equal(psk.pw.wn, want, 65);
	lwt_crypto_psk_clear(&psk);
	for (size_t i = 0; i < sizeof(psk); i++)
		assert_int_equal(((uint8_t *)&psk)[i], 0);
}

/* Known answer for the handshake's key schedule (crypto.h, docs/PROTOCOL.md
 * "Session keys"): okm = HKDF-SHA256(salt = client_random || server_random,
 * ikm = Ke, info = "lwt-v2 keys" || transcript, 72) = c2s_key || s2c_key ||
 * c2s_iv || s2c_iv, with Ke = 00..0f, client_random = 00..1f,
 * server_random = 20..3f, a 252-byte transcript 00 01 .. fb. Computed by
 * tests/unit/handshake_kat.py (Python hmac/hashlib HKDF). Then each input
 * matters: one flipped bit of Ke, of either random or of the transcript
 * changes every part. */
static void test_hs_keys_known_answer(void **state)
{
	uint8_t ke[16], cr[32], sr[32], t[252], want[32];
	struct lwt_session_keys s, s2;

	for (int i = 0; i < 16; i++)
		ke[i] = (uint8_t)i;
	kat_randoms(cr, sr);
	for (int i = 0; i < 252; i++)
		t[i] = (uint8_t)i;
	assert_int_equal(lwt_crypto_hs_derive(ke, 16, cr, sr, t, sizeof(t), &s), 0);
	unhex("6b088f577ceeeb14a3545136ab3889f72cb5753d6d1353b5b00e56d9c7a41edc", want);
	assert_memory_equal(s.c2s_key, want, 32);
	unhex("984690eabb54f39685fdfb3f9476c12f581afc0477351bfc4ed0aed8130b7084", want);
	assert_memory_equal(s.s2c_key, want, 32);
	unhex("eedea918", want);
	assert_memory_equal(s.c2s_iv, want, 4);
	unhex("ed4b3c37", want);
	assert_memory_equal(s.s2c_iv, want, 4);

	ke[3] ^= 0x10;
	assert_int_equal(lwt_crypto_hs_derive(ke, 16, cr, sr, t, sizeof(t), &s2), 0);
	assert_true(keys_disjoint(&s, &s2));
	ke[3] ^= 0x10;
	cr[31] ^= 1;
	assert_int_equal(lwt_crypto_hs_derive(ke, 16, cr, sr, t, sizeof(t), &s2), 0);
	assert_true(keys_disjoint(&s, &s2));
	cr[31] ^= 1;
	sr[0] ^= 0x80;
	assert_int_equal(lwt_crypto_hs_derive(ke, 16, cr, sr, t, sizeof(t), &s2), 0);
	assert_true(keys_disjoint(&s, &s2));
	sr[0] ^= 0x80;
	t[2] ^= 1;	/* in the HELLO's FEC shape, as it happens */
	assert_int_equal(lwt_crypto_hs_derive(ke, 16, cr, sr, t, sizeof(t), &s2), 0);
	assert_true(keys_disjoint(&s, &s2));
	assert_int_equal(lwt_crypto_hs_derive(ke, 0, cr, sr, t, sizeof(t), &s2), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_gcm_vectors),
		cmocka_unit_test(test_gmac),
		cmocka_unit_test(test_gcm_against_evp),
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_x25519_keygen),
		cmocka_unit_test(test_psk_and_session),
		cmocka_unit_test(test_session_known_answer),
		cmocka_unit_test(test_session_depends_on_dh),
		cmocka_unit_test(test_psk_spake2_password),
		cmocka_unit_test(test_hs_keys_known_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
