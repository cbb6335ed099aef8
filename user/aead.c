// SPDX-License-Identifier: MIT
/* The record cipher: AES-256-GCM with a 96-bit nonce iv || be64(counter),
 * over libgcrypt rather than OpenSSL's EVP. The bytes are the same (the
 * unit tests check both against the GCM vectors and against EVP); the cost
 * per record is not: OpenSSL 3's EVP sets a nonce and reads a tag through
 * its provider parameter interface (a look-up by name, several strcmp, per
 * call), about 220 ns a record before a byte is encrypted, against about
 * 65 ns here (tests/bench/aead-bench.c). libgcrypt is already in the
 * process (libsystemd links it); OpenSSL keeps everything else. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <gcrypt.h>

#include "crypto.h"

#define GCM_TAG 16

struct lwt_aead {
	gcry_cipher_hd_t enc, dec;
	uint8_t iv[LWT_IV_LEN];
};

static pthread_once_t gcry_once = PTHREAD_ONCE_INIT;
static bool gcry_ok;

/* libgcrypt wants its version checked before first use; no secure memory
 * (keys live in ordinary memory, as they did under OpenSSL). */
static void gcry_init(void)
{
	if (!gcry_check_version(GCRYPT_VERSION))
		return;
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	gcry_ok = true;
}

static gcry_cipher_hd_t gcm_open_key(const uint8_t key[LWT_KEY_LEN])
{
	gcry_cipher_hd_t h;

	if (gcry_cipher_open(&h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0))
		return NULL;
	if (gcry_cipher_setkey(h, key, LWT_KEY_LEN)) {
		gcry_cipher_close(h);
		return NULL;
	}
	return h;
}

struct lwt_aead *lwt_aead_create(const uint8_t key[LWT_KEY_LEN], const uint8_t iv[LWT_IV_LEN])
{
	struct lwt_aead *a;

	pthread_once(&gcry_once, gcry_init);
	if (!gcry_ok)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	memcpy(a->iv, iv, LWT_IV_LEN);
	a->enc = gcm_open_key(key);
	a->dec = gcm_open_key(key);
	if (!a->enc || !a->dec) {
		lwt_aead_destroy(a);
		return NULL;
	}
	return a;
}

void lwt_aead_destroy(struct lwt_aead *a)
{
	if (!a)
		return;
	if (a->enc)
		gcry_cipher_close(a->enc);	/* wipes the key schedule */
	if (a->dec)
		gcry_cipher_close(a->dec);
	memset(a, 0, sizeof(*a));
	free(a);
}

/* Set the record's nonce and authenticate its AAD (and, for GMAC, its
 * data as more AAD). */
static int start(const struct lwt_aead *a, gcry_cipher_hd_t h, uint64_t counter,
		 const uint8_t *aad, size_t aad_len, const uint8_t *more, size_t more_len)
{
	uint8_t n[12];

	memcpy(n, a->iv, LWT_IV_LEN);
	for (int i = 0; i < 8; i++)
		n[4 + i] = counter >> (56 - 8 * i);
	if (gcry_cipher_setiv(h, n, sizeof(n)) ||
	    (aad_len && gcry_cipher_authenticate(h, aad, aad_len)) ||
	    (more_len && gcry_cipher_authenticate(h, more, more_len)))
		return -EIO;
	return 0;
}

int lwt_aead_seal(struct lwt_aead *a, uint64_t counter, const uint8_t *aad, size_t aad_len,
		  uint8_t *buf, size_t len)
{
	if (start(a, a->enc, counter, aad, aad_len, NULL, 0) || gcry_cipher_final(a->enc) ||
	    gcry_cipher_encrypt(a->enc, buf, len, NULL, 0) ||
	    gcry_cipher_gettag(a->enc, buf + len, GCM_TAG))
		return -EIO;
	return 0;
}

int lwt_aead_open(struct lwt_aead *a, uint64_t counter, const uint8_t *aad, size_t aad_len,
		  uint8_t *buf, size_t len)
{
	if (start(a, a->dec, counter, aad, aad_len, NULL, 0) || gcry_cipher_final(a->dec) ||
	    gcry_cipher_decrypt(a->dec, buf, len, NULL, 0))
		return -EIO;
	return gcry_cipher_checktag(a->dec, buf + len, GCM_TAG) ? -EBADMSG : 0;
}

/* GMAC: the data is authenticated as more AAD, nothing is encrypted. */
int lwt_aead_gmac_seal(struct lwt_aead *a, uint64_t counter, const uint8_t *aad, size_t aad_len,
		       const uint8_t *data, size_t len, uint8_t *tag)
{
	if (start(a, a->enc, counter, aad, aad_len, data, len) ||
	    gcry_cipher_gettag(a->enc, tag, GCM_TAG))
		return -EIO;
	return 0;
}

int lwt_aead_gmac_open(struct lwt_aead *a, uint64_t counter, const uint8_t *aad, size_t aad_len,
		       const uint8_t *data, size_t len, const uint8_t *tag)
{
	if (start(a, a->dec, counter, aad, aad_len, data, len))
		return -EIO;
	return gcry_cipher_checktag(a->dec, tag, GCM_TAG) ? -EBADMSG : 0;
}
