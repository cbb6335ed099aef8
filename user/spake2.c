// SPDX-License-Identifier: MIT
/* SPAKE2-P256-SHA256-HKDF-HMAC (RFC 9382) over OpenSSL's EC API: one side of
 * one exchange per struct lwt_spake2. spake2.h states the construction, the
 * sources of M and N and how the handshake is to use it; the known answers
 * are in tests/unit/test_spake2.c. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>

#include "crypto.h"
#include "spake2.h"

enum { ST_NONE, ST_INIT, ST_STARTED, ST_DONE };

/* RFC 9382's M and N for P-256, compressed SEC1 (see spake2.h). */
static const uint8_t p256_m[33] = {
	0x02, 0x88, 0x6e, 0x2f, 0x97, 0xac, 0xe4, 0x6e, 0x55, 0xba, 0x9d, 0xd7, 0x24, 0x25, 0x79,
	0xf2, 0x99, 0x3b, 0x64, 0xe1, 0x6e, 0xf3, 0xdc, 0xab, 0x95, 0xaf, 0xd4, 0x97, 0x33, 0x3d,
	0x8f, 0xa1, 0x2f,
};
static const uint8_t p256_n[33] = {
	0x03, 0xd8, 0xbb, 0xd6, 0xc6, 0x39, 0xc6, 0x29, 0x37, 0xb0, 0x4d, 0x99, 0x7f, 0x38, 0xc3,
	0x77, 0x07, 0x19, 0xc6, 0x29, 0xd7, 0x01, 0x4d, 0x49, 0xa2, 0x4b, 0x4f, 0x98, 0xba, 0xa1,
	0x29, 0x2b, 0x49,
};

static const char w_info[] = "lwt SPAKE2-P256 w v1";
static const char kc_info[] = "ConfirmationKeys";

/* The group and M, N: built once per process, read-only afterwards (OpenSSL
 * does not modify a group or a point it multiplies), so shared by threads. */
static struct {
	EC_GROUP *group;
	EC_POINT *m, *n;
	int err;
} p256;
static pthread_once_t p256_once = PTHREAD_ONCE_INIT;

static void p256_build(void)
{
	BN_CTX *bn = BN_CTX_new();

	p256.err = -ENOMEM;
	if (!bn)
		return;
	p256.group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	if (!p256.group)
		goto free_bn;
	p256.m = EC_POINT_new(p256.group);
	p256.n = EC_POINT_new(p256.group);
	if (!p256.m || !p256.n)
		goto free_group;
	p256.err = -EIO;
	if (EC_POINT_oct2point(p256.group, p256.m, p256_m, sizeof(p256_m), bn) != 1 ||
	    EC_POINT_oct2point(p256.group, p256.n, p256_n, sizeof(p256_n), bn) != 1)
		goto free_group;
	p256.err = 0;
	BN_CTX_free(bn);
	return;

free_group:
	EC_POINT_free(p256.n);
	EC_POINT_free(p256.m);
	EC_GROUP_free(p256.group);
	p256.m = p256.n = NULL;
	p256.group = NULL;
free_bn:
	BN_CTX_free(bn);
}

static int p256_get(void)
{
	pthread_once(&p256_once, p256_build);
	return p256.err;
}

/* A secret scalar from 32 big-endian bytes, flagged constant-time; NULL
 * unless 0 < s < order. */
static BIGNUM *scalar_load(const uint8_t s[LWT_SPAKE2_SCALAR_LEN])
{
	BIGNUM *b = BN_bin2bn(s, LWT_SPAKE2_SCALAR_LEN, NULL);

	if (!b)
		return NULL;
	BN_set_flags(b, BN_FLG_CONSTTIME);
	if (BN_is_zero(b) || BN_cmp(b, EC_GROUP_get0_order(p256.group)) >= 0) {
		BN_clear_free(b);
		return NULL;
	}
	return b;
}

static bool scalar_ok(const uint8_t s[LWT_SPAKE2_SCALAR_LEN])
{
	BIGNUM *b = scalar_load(s);

	BN_clear_free(b);
	return b != NULL;
}

/* r = s * pt, or s * P for pt == NULL. One scalar per call: OpenSSL then
 * takes its constant-time path (never the two-scalar wNAF). */
static int mul(EC_POINT *r, const EC_POINT *pt, const BIGNUM *s, BN_CTX *bn)
{
	int ok = pt ? EC_POINT_mul(p256.group, r, NULL, pt, s, bn)
		    : EC_POINT_mul(p256.group, r, s, NULL, NULL, bn);

	return ok == 1 ? 0 : -EIO;
}

int lwt_spake2_derive_w(const void *psk, size_t psk_len, uint8_t w[LWT_SPAKE2_SCALAR_LEN])
{
	uint8_t wide[LWT_SPAKE2_SCALAR_LEN + 8];
	BN_CTX *bn;
	BIGNUM *b;
	int err;

	if (!psk || !psk_len)
		return -EINVAL;
	err = p256_get();
	if (err)
		return err;
	err = lwt_crypto_hkdf(NULL, 0, psk, psk_len, (const uint8_t *)w_info, strlen(w_info),
			      wide, sizeof(wide));
	if (err)
		goto wipe;
	err = -ENOMEM;
	bn = BN_CTX_new();
	if (!bn)
		goto wipe;
	b = BN_bin2bn(wide, sizeof(wide), NULL);
	if (!b)
		goto free_bn;
	BN_set_flags(b, BN_FLG_CONSTTIME);
	err = -EIO;
	if (!BN_nnmod(b, b, EC_GROUP_get0_order(p256.group), bn))
		goto free_b;
	/* 2^-256: no password maps to 0 in practice, but w = 0 would make the
	 * shares plain Diffie-Hellman, so it is refused rather than used. */
	err = BN_is_zero(b) ? -EINVAL : 0;
	if (!err && BN_bn2binpad(b, w, LWT_SPAKE2_SCALAR_LEN) != LWT_SPAKE2_SCALAR_LEN)
		err = -EIO;
free_b:
	BN_clear_free(b);
free_bn:
	BN_CTX_free(bn);
wipe:
	OPENSSL_cleanse(wide, sizeof(wide));
	return err;
}

int lwt_spake2_init(struct lwt_spake2 *ctx, enum lwt_spake2_role role, const void *id_a,
		    size_t id_a_len, const void *id_b, size_t id_b_len,
		    const uint8_t w[LWT_SPAKE2_SCALAR_LEN])
{
	int err;

	memset(ctx, 0, sizeof(*ctx));
	if ((role != LWT_SPAKE2_ROLE_A && role != LWT_SPAKE2_ROLE_B) ||
	    id_a_len > LWT_SPAKE2_ID_MAX || id_b_len > LWT_SPAKE2_ID_MAX ||
	    (id_a_len && !id_a) || (id_b_len && !id_b) || !w)
		return -EINVAL;
	err = p256_get();
	if (err)
		return err;
	if (!scalar_ok(w))
		return -EINVAL;
	ctx->role = (uint8_t)role;
	memcpy(ctx->w, w, LWT_SPAKE2_SCALAR_LEN);
	if (id_a_len)
		memcpy(ctx->id_a, id_a, id_a_len);
	if (id_b_len)
		memcpy(ctx->id_b, id_b, id_b_len);
	ctx->id_a_len = id_a_len;
	ctx->id_b_len = id_b_len;
	ctx->state = ST_INIT;
	return 0;
}

/* out = w * mask, encoded uncompressed. */
static int mask_encode(const EC_POINT *mask, const BIGNUM *w, uint8_t out[LWT_SPAKE2_SHARE_LEN],
		       BN_CTX *bn)
{
	EC_POINT *r = EC_POINT_new(p256.group);
	int err = -ENOMEM;

	if (!r)
		return err;
	err = mul(r, mask, w, bn);
	if (!err && EC_POINT_point2oct(p256.group, r, POINT_CONVERSION_UNCOMPRESSED, out,
				       LWT_SPAKE2_SHARE_LEN, bn) != LWT_SPAKE2_SHARE_LEN)
		err = -EIO;
	EC_POINT_clear_free(r);
	return err;
}

int lwt_spake2_pw_init(struct lwt_spake2_pw *pw, const uint8_t w[LWT_SPAKE2_SCALAR_LEN])
{
	BIGNUM *b;
	BN_CTX *bn;
	int err;

	memset(pw, 0, sizeof(*pw));
	err = p256_get();
	if (err)
		return err;
	b = w ? scalar_load(w) : NULL;
	if (!b)
		return -EINVAL;
	err = -ENOMEM;
	bn = BN_CTX_new();
	if (!bn)
		goto free_b;
	err = mask_encode(p256.m, b, pw->wm, bn);
	if (!err)
		err = mask_encode(p256.n, b, pw->wn, bn);
	if (!err)
		memcpy(pw->w, w, LWT_SPAKE2_SCALAR_LEN);
	BN_CTX_free(bn);
free_b:
	BN_clear_free(b);
	if (err)
		lwt_spake2_pw_clear(pw);
	return err;
}

int lwt_spake2_pw_derive(struct lwt_spake2_pw *pw, const void *psk, size_t psk_len)
{
	uint8_t w[LWT_SPAKE2_SCALAR_LEN];
	int err;

	memset(pw, 0, sizeof(*pw));
	err = lwt_spake2_derive_w(psk, psk_len, w);
	if (!err)
		err = lwt_spake2_pw_init(pw, w);
	OPENSSL_cleanse(w, sizeof(w));
	return err;
}

void lwt_spake2_pw_clear(struct lwt_spake2_pw *pw)
{
	OPENSSL_cleanse(pw, sizeof(*pw));
}

int lwt_spake2_init_pw(struct lwt_spake2 *ctx, enum lwt_spake2_role role, const void *id_a,
		       size_t id_a_len, const void *id_b, size_t id_b_len,
		       const struct lwt_spake2_pw *pw)
{
	int err = lwt_spake2_init(ctx, role, id_a, id_a_len, id_b, id_b_len, pw ? pw->w : NULL);

	if (err)
		return err;
	memcpy(ctx->wm, pw->wm, LWT_SPAKE2_SHARE_LEN);
	memcpy(ctx->wn, pw->wn, LWT_SPAKE2_SHARE_LEN);
	ctx->have_masks = 1;
	return 0;
}

int lwt_spake2_set_aad(struct lwt_spake2 *ctx, const void *aad, size_t aad_len)
{
	if (ctx->state != ST_INIT && ctx->state != ST_STARTED)
		return -EINVAL;
	if (aad_len > LWT_SPAKE2_AAD_MAX || (aad_len && !aad))
		return -EINVAL;
	if (aad_len)
		memcpy(ctx->aad, aad, aad_len);
	ctx->aad_len = aad_len;
	return 0;
}

/* r = w*M (m) or w*N: from the prepared password when the context has it
 * (a decode, checked on the curve), else a scalar multiplication. */
static int mask_get(const struct lwt_spake2 *ctx, bool m, const EC_POINT *mask, const BIGNUM *w,
		    EC_POINT *r, BN_CTX *bn)
{
	if (!ctx->have_masks)
		return mul(r, mask, w, bn);
	if (EC_POINT_oct2point(p256.group, r, m ? ctx->wm : ctx->wn, LWT_SPAKE2_SHARE_LEN,
			       bn) != 1) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

/* share = s*P + w*(M for A, N for B). */
static int start_scalar(struct lwt_spake2 *ctx, const uint8_t s[LWT_SPAKE2_SCALAR_LEN],
			uint8_t share[LWT_SPAKE2_SHARE_LEN])
{
	const EC_POINT *mask = ctx->role == LWT_SPAKE2_ROLE_A ? p256.m : p256.n;
	EC_POINT *x_p = NULL, *w_mask = NULL;
	BIGNUM *x, *w;
	BN_CTX *bn;
	int err = -EINVAL;

	x = scalar_load(s);
	if (!x)
		return -EINVAL;
	w = scalar_load(ctx->w);
	if (!w)
		goto free_x;
	err = -ENOMEM;
	bn = BN_CTX_new();
	if (!bn)
		goto free_w;
	x_p = EC_POINT_new(p256.group);
	w_mask = EC_POINT_new(p256.group);
	if (!x_p || !w_mask)
		goto free_points;
	err = mul(x_p, NULL, x, bn);
	if (!err)
		err = mask_get(ctx, ctx->role == LWT_SPAKE2_ROLE_A, mask, w, w_mask, bn);
	if (err)
		goto free_points;
	err = -EIO;
	if (EC_POINT_add(p256.group, x_p, x_p, w_mask, bn) != 1 ||
	    EC_POINT_point2oct(p256.group, x_p, POINT_CONVERSION_UNCOMPRESSED, share,
			       LWT_SPAKE2_SHARE_LEN, bn) != LWT_SPAKE2_SHARE_LEN)
		goto free_points;
	memcpy(ctx->scalar, s, LWT_SPAKE2_SCALAR_LEN);
	memcpy(ctx->share, share, LWT_SPAKE2_SHARE_LEN);
	ctx->state = ST_STARTED;
	err = 0;
free_points:
	EC_POINT_clear_free(w_mask);
	EC_POINT_clear_free(x_p);
	BN_CTX_free(bn);
free_w:
	BN_clear_free(w);
free_x:
	BN_clear_free(x);
	return err;
}

int lwt_spake2_start_with_scalar(struct lwt_spake2 *ctx,
				 const uint8_t scalar[LWT_SPAKE2_SCALAR_LEN],
				 uint8_t share[LWT_SPAKE2_SHARE_LEN])
{
	if (ctx->state != ST_INIT)
		return -EINVAL;
	return start_scalar(ctx, scalar, share);
}

int lwt_spake2_start(struct lwt_spake2 *ctx, uint8_t share[LWT_SPAKE2_SHARE_LEN])
{
	uint8_t s[LWT_SPAKE2_SCALAR_LEN];
	BIGNUM *b;
	int err = -ENOMEM;

	if (ctx->state != ST_INIT)
		return -EINVAL;
	b = BN_new();
	if (!b)
		return -ENOMEM;
	BN_set_flags(b, BN_FLG_CONSTTIME);
	/* Uniform in [1, p): draw in [0, p) until non-zero (one draw in 2^256
	 * repeats). */
	do {
		err = -EIO;
		if (BN_priv_rand_range(b, EC_GROUP_get0_order(p256.group)) != 1)
			goto free_b;
	} while (BN_is_zero(b));
	if (BN_bn2binpad(b, s, sizeof(s)) != sizeof(s))
		goto wipe;
	err = start_scalar(ctx, s, share);
wipe:
	OPENSSL_cleanse(s, sizeof(s));
free_b:
	BN_clear_free(b);
	return err;
}

static void tt_put(struct lwt_spake2 *ctx, const uint8_t *p, size_t len)
{
	uint8_t *o = ctx->tt + ctx->tt_len;

	for (int i = 0; i < 8; i++)
		o[i] = (uint8_t)((uint64_t)len >> (8 * i));	/* len(): 8 bytes, little-endian */
	if (len)
		memcpy(o + 8, p, len);
	ctx->tt_len += 8 + len;
}

/* Decode and check the peer's share: 65 bytes, uncompressed, coordinates
 * below the field prime, on the curve, not the identity. */
static int share_load(EC_POINT *pt, const uint8_t *share, size_t len, BN_CTX *bn)
{
	if (len != LWT_SPAKE2_SHARE_LEN || share[0] != POINT_CONVERSION_UNCOMPRESSED)
		return -EBADMSG;
	if (EC_POINT_oct2point(p256.group, pt, share, len, bn) != 1) {
		ERR_clear_error();
		return -EBADMSG;
	}
	/* oct2point checks this too in OpenSSL 3; kept so that the check does
	 * not rest on a library detail. Cofactor 1: on the curve and not the
	 * identity is in the prime-order group. */
	if (EC_POINT_is_on_curve(p256.group, pt, bn) != 1 ||
	    EC_POINT_is_at_infinity(p256.group, pt))
		return -EBADMSG;
	return 0;
}

/* K = s * (peer - w*(N for A, M for B)), then TT, Ke || Ka, KcA || KcB and
 * the two confirmations. */
int lwt_spake2_finish(struct lwt_spake2 *ctx, const uint8_t *peer_share, size_t peer_len,
		      uint8_t ke[LWT_SPAKE2_KE_LEN], uint8_t my_confirm[LWT_SPAKE2_CONFIRM_LEN],
		      uint8_t expected_peer_confirm[LWT_SPAKE2_CONFIRM_LEN])
{
	const bool is_a = ctx->role == LWT_SPAKE2_ROLE_A;
	const EC_POINT *peer_mask = is_a ? p256.n : p256.m;
	uint8_t hash[32], kc[2 * LWT_SPAKE2_KC_LEN], info[sizeof(kc_info) - 1 + LWT_SPAKE2_AAD_MAX];
	unsigned int hl = sizeof(hash), ca_len = LWT_SPAKE2_CONFIRM_LEN, cb_len = ca_len;
	EC_POINT *peer = NULL, *w_mask = NULL;
	BIGNUM *s, *w;
	BN_CTX *bn;
	int err = -EINVAL;

	if (ctx->state != ST_STARTED || !peer_share)
		return -EINVAL;
	/* One finish per context, whatever its outcome: the scalar is never
	 * used against a second peer share. */
	ctx->state = ST_DONE;
	s = scalar_load(ctx->scalar);
	if (!s)
		return -EINVAL;
	w = scalar_load(ctx->w);
	if (!w)
		goto free_s;
	err = -ENOMEM;
	bn = BN_CTX_new();
	if (!bn)
		goto free_w;
	peer = EC_POINT_new(p256.group);
	w_mask = EC_POINT_new(p256.group);
	if (!peer || !w_mask)
		goto free_points;
	err = share_load(peer, peer_share, peer_len, bn);
	if (err)
		goto free_points;
	err = mask_get(ctx, !is_a, peer_mask, w, w_mask, bn);
	if (err)
		goto free_points;
	err = -EIO;
	if (EC_POINT_invert(p256.group, w_mask, bn) != 1 ||
	    EC_POINT_add(p256.group, peer, peer, w_mask, bn) != 1)
		goto free_points;
	err = mul(peer, peer, s, bn);	/* peer now holds K */
	if (err)
		goto free_points;
	err = -EBADMSG;			/* peer share was w*mask: x or y = 0 */
	if (EC_POINT_is_at_infinity(p256.group, peer))
		goto free_points;
	err = -EIO;
	if (EC_POINT_point2oct(p256.group, peer, POINT_CONVERSION_UNCOMPRESSED, ctx->k,
			       sizeof(ctx->k), bn) != sizeof(ctx->k))
		goto free_points;

	ctx->tt_len = 0;
	tt_put(ctx, ctx->id_a, ctx->id_a_len);
	tt_put(ctx, ctx->id_b, ctx->id_b_len);
	tt_put(ctx, is_a ? ctx->share : peer_share, LWT_SPAKE2_SHARE_LEN);
	tt_put(ctx, is_a ? peer_share : ctx->share, LWT_SPAKE2_SHARE_LEN);
	tt_put(ctx, ctx->k, sizeof(ctx->k));
	tt_put(ctx, ctx->w, sizeof(ctx->w));

	if (EVP_Digest(ctx->tt, ctx->tt_len, hash, &hl, EVP_sha256(), NULL) != 1)
		goto wipe;
	memcpy(ctx->ka, hash + LWT_SPAKE2_KE_LEN, LWT_SPAKE2_KC_LEN);
	memcpy(info, kc_info, sizeof(kc_info) - 1);
	memcpy(info + sizeof(kc_info) - 1, ctx->aad, ctx->aad_len);
	err = lwt_crypto_hkdf(NULL, 0, ctx->ka, sizeof(ctx->ka), info,
			      sizeof(kc_info) - 1 + ctx->aad_len, kc, sizeof(kc));
	if (err)
		goto wipe;
	memcpy(ctx->kca, kc, LWT_SPAKE2_KC_LEN);
	memcpy(ctx->kcb, kc + LWT_SPAKE2_KC_LEN, LWT_SPAKE2_KC_LEN);
	err = -EIO;
	if (!HMAC(EVP_sha256(), ctx->kca, sizeof(ctx->kca), ctx->tt, ctx->tt_len,
		  is_a ? my_confirm : expected_peer_confirm, &ca_len) ||
	    !HMAC(EVP_sha256(), ctx->kcb, sizeof(ctx->kcb), ctx->tt, ctx->tt_len,
		  is_a ? expected_peer_confirm : my_confirm, &cb_len))
		goto wipe;
	memcpy(ke, hash, LWT_SPAKE2_KE_LEN);
	err = 0;
wipe:
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(kc, sizeof(kc));
free_points:
	EC_POINT_clear_free(w_mask);
	EC_POINT_clear_free(peer);
	BN_CTX_free(bn);
free_w:
	BN_clear_free(w);
free_s:
	BN_clear_free(s);
	return err;
}

void lwt_spake2_clear(struct lwt_spake2 *ctx)
{
	OPENSSL_cleanse(ctx, sizeof(*ctx));
}
