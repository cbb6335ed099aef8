// SPDX-License-Identifier: MIT
/* OpenSSL 3 behind lwt's small crypto interface. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sys/random.h>

#include "crypto.h"

int lwt_crypto_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		    const uint8_t *info, size_t info_len, uint8_t *out, size_t outlen)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	static const uint8_t empty[1];
	int ok;

	if (!pc)
		return -ENOMEM;
	ok = EVP_PKEY_derive_init(pc) > 0 &&
	     EVP_PKEY_CTX_set_hkdf_md(pc, EVP_sha256()) > 0 &&
	     EVP_PKEY_CTX_set1_hkdf_salt(pc, salt_len ? salt : empty, salt_len) > 0 &&
	     EVP_PKEY_CTX_set1_hkdf_key(pc, ikm_len ? ikm : empty, ikm_len) > 0 &&
	     (!info_len || EVP_PKEY_CTX_add1_hkdf_info(pc, info, info_len) > 0) &&
	     EVP_PKEY_derive(pc, out, &outlen) > 0;
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : -EIO;
}

int lwt_crypto_hmac(const uint8_t key[LWT_KEY_LEN], const uint8_t *data, size_t len,
		    uint8_t out[LWT_HMAC_LEN])
{
	unsigned int ol = LWT_HMAC_LEN;

	return HMAC(EVP_sha256(), key, LWT_KEY_LEN, data, len, out, &ol) ? 0 : -EIO;
}

bool lwt_crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int lwt_crypto_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

int lwt_x25519_keygen(uint8_t priv[LWT_X25519_LEN], uint8_t pub[LWT_X25519_LEN])
{
	EVP_PKEY *k;
	size_t pl = LWT_X25519_LEN;
	int ok;

	if (lwt_crypto_random(priv, LWT_X25519_LEN))
		return -EIO;
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, LWT_X25519_LEN);
	if (!k)
		return -EIO;
	ok = EVP_PKEY_get_raw_public_key(k, pub, &pl) == 1 && pl == LWT_X25519_LEN;
	EVP_PKEY_free(k);
	return ok ? 0 : -EIO;
}

int lwt_x25519_shared(const uint8_t priv[LWT_X25519_LEN], const uint8_t peer_pub[LWT_X25519_LEN],
		      uint8_t out[LWT_X25519_LEN])
{
	static const uint8_t zero[LWT_X25519_LEN];
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, LWT_X25519_LEN);
	EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub, LWT_X25519_LEN);
	EVP_PKEY_CTX *c = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
	size_t ol = LWT_X25519_LEN;
	int err = -EIO;

	if (c && p && EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_derive_set_peer(c, p) > 0) {
		/* OpenSSL itself refuses an all-zero result (low-order peer key);
		 * check again so no OpenSSL version lets one through. */
		if (EVP_PKEY_derive(c, out, &ol) > 0 && ol == LWT_X25519_LEN)
			err = CRYPTO_memcmp(out, zero, sizeof(zero)) ? 0 : -EINVAL;
		else
			err = -EINVAL;
	}
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(p);
	EVP_PKEY_free(k);
	if (err)
		OPENSSL_cleanse(out, LWT_X25519_LEN);
	return err;
}

int lwt_crypto_psk_derive(const char *psk, struct lwt_psk_keys *out)
{
	static const char salt[] = "lwt-v1 psk";
	size_t n = strlen(psk);
	int err;

	memset(out, 0, sizeof(*out));
	err = lwt_spake2_pw_derive(&out->pw, psk, n);
	if (!err && lwt_crypto_hkdf((const uint8_t *)salt, sizeof(salt) - 1, (const uint8_t *)psk,
				    n, (const uint8_t *)"mix", 3, out->mix_key, LWT_KEY_LEN))
		err = -EIO;
	if (err)
		lwt_crypto_psk_clear(out);
	return err;
}

void lwt_crypto_psk_clear(struct lwt_psk_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

static void okm_split(const uint8_t okm[72], struct lwt_session_keys *out)
{
	memcpy(out->c2s_key, okm, 32);
	memcpy(out->s2c_key, okm + 32, 32);
	memcpy(out->c2s_iv, okm + 64, 4);
	memcpy(out->s2c_iv, okm + 68, 4);
}

int lwt_crypto_hs_derive(const uint8_t *ke, size_t ke_len, const uint8_t client_random[32],
			 const uint8_t server_random[32], const uint8_t *transcript, size_t tlen,
			 struct lwt_session_keys *out)
{
	static const char label[] = "lwt-v2 keys";
	uint8_t salt[64], info[sizeof(label) - 1 + 512], okm[72];
	int err;

	if (!ke_len || tlen > 512)
		return -EINVAL;
	memcpy(salt, client_random, 32);
	memcpy(salt + 32, server_random, 32);
	memcpy(info, label, sizeof(label) - 1);
	memcpy(info + sizeof(label) - 1, transcript, tlen);
	err = lwt_crypto_hkdf(salt, sizeof(salt), ke, ke_len, info, sizeof(label) - 1 + tlen, okm,
			      sizeof(okm));
	if (!err)
		okm_split(okm, out);
	OPENSSL_cleanse(okm, sizeof(okm));
	return err;
}

int lwt_crypto_session_derive(const struct lwt_psk_keys *psk, const uint8_t dh[LWT_X25519_LEN],
			      const uint8_t client_random[32], const uint8_t server_random[32],
			      const uint8_t client_pub[32], const uint8_t server_pub[32],
			      struct lwt_session_keys *out)
{
	static const char label[] = "lwt-v1 keys";
	uint8_t info[sizeof(label) - 1 + 4 * 32], okm[72];
	size_t o = sizeof(label) - 1;
	int err;

	memcpy(info, label, o);
	memcpy(info + o, client_random, 32);
	memcpy(info + o + 32, server_random, 32);
	memcpy(info + o + 64, client_pub, 32);
	memcpy(info + o + 96, server_pub, 32);
	err = lwt_crypto_hkdf(psk->mix_key, LWT_KEY_LEN, dh, LWT_X25519_LEN, info, sizeof(info),
			      okm, sizeof(okm));
	if (!err)
		okm_split(okm, out);
	OPENSSL_cleanse(okm, sizeof(okm));
	return err;
}
