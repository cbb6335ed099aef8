/* SPDX-License-Identifier: MIT */
/* Crypto primitives: HKDF-SHA256, HMAC-SHA256, X25519 over OpenSSL
 * (crypto.c); AES-256-GCM records with counter nonces over libgcrypt
 * (aead.c). A struct lwt_aead is used by one thread at a time (it owns two
 * cipher handles); create one per direction per thread that needs it. */
#ifndef LWT_CRYPTO_H
#define LWT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spake2.h"

#define LWT_KEY_LEN 32
#define LWT_IV_LEN 4		/* per-direction nonce prefix; nonce = iv || be64(counter) */
#define LWT_X25519_LEN 32
#define LWT_HMAC_LEN 32

/* out = HKDF-SHA256(salt, ikm, info), outlen bytes. 0 or -errno. */
int lwt_crypto_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		    const uint8_t *info, size_t info_len, uint8_t *out, size_t outlen);
int lwt_crypto_hmac(const uint8_t key[LWT_KEY_LEN], const uint8_t *data, size_t len,
		    uint8_t out[LWT_HMAC_LEN]);
/* Constant-time compare; true if equal. */
bool lwt_crypto_equal(const void *a, const void *b, size_t len);
int lwt_crypto_random(void *buf, size_t len);

/* X25519: generate a key pair; derive the shared secret (fails on all-zero output). */
int lwt_x25519_keygen(uint8_t priv[LWT_X25519_LEN], uint8_t pub[LWT_X25519_LEN]);
int lwt_x25519_shared(const uint8_t priv[LWT_X25519_LEN], const uint8_t peer_pub[LWT_X25519_LEN],
		      uint8_t out[LWT_X25519_LEN]);

/* What the pre-shared key (passphrase of any length) gives: the SPAKE2
 * password of the handshake (w and its masks, computed once here) and the
 * HKDF salt of key rotation. Nothing derived from the PSK alone ever goes on
 * the wire. */
struct lwt_psk_keys {
	struct lwt_spake2_pw pw;	/* handshake: SPAKE2-P256 password */
	uint8_t mix_key[LWT_KEY_LEN];	/* key rotation: HKDF salt */
};
int lwt_crypto_psk_derive(const char *psk, struct lwt_psk_keys *out);
void lwt_crypto_psk_clear(struct lwt_psk_keys *k);

/* Session keys: one key + iv per direction. */
struct lwt_session_keys {
	uint8_t c2s_key[LWT_KEY_LEN], s2c_key[LWT_KEY_LEN];
	uint8_t c2s_iv[LWT_IV_LEN], s2c_iv[LWT_IV_LEN];
};
/* Handshake keys (docs/PROTOCOL.md "Session keys"): HKDF-SHA256(salt =
 * client_random || server_random, ikm = ke (SPAKE2's Ke), info = "lwt-v2
 * keys" || transcript) = c2s_key || s2c_key || c2s_iv || s2c_iv. transcript:
 * the HELLO frame and the HELLO_ACK frame up to its confirmation, as on the
 * wire (at most 512 bytes). */
int lwt_crypto_hs_derive(const uint8_t *ke, size_t ke_len, const uint8_t client_random[32],
			 const uint8_t server_random[32], const uint8_t *transcript, size_t tlen,
			 struct lwt_session_keys *out);
/* Key rotation (and the v1 handshake's schedule): HKDF(salt = psk mix_key,
 * ikm = dh, info = "lwt-v1 keys" || client_random || server_random ||
 * client_pub || server_pub). */
int lwt_crypto_session_derive(const struct lwt_psk_keys *psk, const uint8_t dh[LWT_X25519_LEN],
			      const uint8_t client_random[32], const uint8_t server_random[32],
			      const uint8_t client_pub[32], const uint8_t server_pub[32],
			      struct lwt_session_keys *out);

/* AES-256-GCM with an explicit 64-bit counter. */
struct lwt_aead;
struct lwt_aead *lwt_aead_create(const uint8_t key[LWT_KEY_LEN], const uint8_t iv[LWT_IV_LEN]);
void lwt_aead_destroy(struct lwt_aead *a);
/* Encrypt in place: buf holds len plaintext bytes; tag (16 bytes) is written at
 * buf + len. AAD authenticated, not encrypted. 0 or -errno. */
int lwt_aead_seal(struct lwt_aead *a, uint64_t counter, const uint8_t *aad, size_t aad_len,
		  uint8_t *buf, size_t len);
/* Decrypt in place: buf holds len ciphertext bytes followed by the tag.
 * 0, or -EBADMSG if the tag does not verify. */
int lwt_aead_open(struct lwt_aead *a, uint64_t counter, const uint8_t *aad, size_t aad_len,
		  uint8_t *buf, size_t len);
/* GMAC (auth only): tag over aad || data, written to tag (16 bytes). */
int lwt_aead_gmac_seal(struct lwt_aead *a, uint64_t counter, const uint8_t *aad, size_t aad_len,
		       const uint8_t *data, size_t len, uint8_t *tag);
int lwt_aead_gmac_open(struct lwt_aead *a, uint64_t counter, const uint8_t *aad, size_t aad_len,
		       const uint8_t *data, size_t len, const uint8_t *tag);

#endif
