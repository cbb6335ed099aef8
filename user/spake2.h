/* SPDX-License-Identifier: MIT */
/* SPAKE2 (RFC 9382), ciphersuite SPAKE2-P256-SHA256-HKDF-HMAC, over
 * OpenSSL's EC API. A building block for the handshake; nothing here touches
 * the wire.
 *
 * Construction (RFC 9382, definition and key schedule), G = P-256 (cofactor
 * 1), P its generator, p its order:
 *   A (client): x uniform in [1, p);  pA = x*P + w*M;   K = x*(pB - w*N)
 *   B (server): y uniform in [1, p);  pB = y*P + w*N;   K = y*(pA - w*M)
 *   TT  = len(A)||A || len(B)||B || len(pA)||pA || len(pB)||pB
 *         || len(K)||K || len(w)||w       (len: 8 bytes little-endian; an
 *         absent identity is the empty string, still length-prefixed; points
 *         uncompressed SEC1, 65 bytes; w big-endian, 32 bytes)
 *   Ke || Ka = SHA-256(TT)                (16 bytes each)
 *   KcA || KcB = HKDF-SHA256(salt = nil, IKM = Ka, info = "ConfirmationKeys"
 *                || AAD, L = 32)          (16 bytes each)
 *   cA = HMAC-SHA256(KcA, TT), cB = HMAC-SHA256(KcB, TT)
 * Ke is the shared secret (16 bytes: half of SHA-256, as the RFC sets it; not
 * 32). Ka, KcA and KcB serve only the confirmations.
 *
 * M and N: the RFC's P-256 points (its ciphersuites table, compressed SEC1):
 *   M = 02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f
 *       seed: "1.2.840.10045.3.1.7 point generation seed (M)"
 *   N = 03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49
 *       seed: "1.2.840.10045.3.1.7 point generation seed (N)"
 * taken from the draft's text in its editor's repository (kaduk/spake2,
 * draft-irtf-cfrg-spake2.xml), and regenerated independently with the
 * draft's gen_point procedure (iterated SHA-256 of the seed, first valid
 * compressed point; M at i = 5, N at i = 3): nobody knows their discrete
 * logarithms. The known answers in tests/unit/test_spake2.c are the RFC's
 * P-256 test vectors, from the same repository (testvecs, testvec-rest,
 * gen-final.go): the RFC's own text could not be fetched here.
 *
 * The password: RFC 9382 takes w = MHF(pw) mod p and leaves the MHF to the
 * application. lwt_spake2_derive_w() is HKDF-SHA256 over the PSK with a fixed
 * label, 40 bytes (64 bits more than p, as the RFC advises against bias)
 * reduced mod p. That is fast, so a weak PSK stays guessable from a stolen
 * config, but no longer from the wire: each guess costs one online attempt.
 * A memory-hard function (scrypt, argon2id) may replace it later; both sides
 * must then change together (it changes w, so the protocol version).
 *
 * Checks on the peer's share: exactly 65 bytes, uncompressed form (0x04),
 * coordinates below the field prime, on the curve, not the identity (the
 * identity has no 65-byte encoding). With cofactor 1 that is membership in
 * the prime-order group. K = identity (a peer that sent w*M or w*N) is
 * refused too. Scalar multiplications are one scalar each with
 * BN_FLG_CONSTTIME set (OpenSSL's constant-time ladder / nistz256 paths),
 * never the two-scalar wNAF path.
 *
 * Use in lwt: user/handshake.c (docs/PROTOCOL.md "Handshake"): A = client,
 * B = server, idA = "lwt-v2 client", idB = "lwt-v2 server"; the AAD is the
 * transcript (the HELLO frame and the HELLO_ACK frame up to cB), so the
 * confirmations bind every negotiated field; Ke feeds the session keys with
 * both randoms and the transcript; the PSK's password is prepared once
 * (struct lwt_spake2_pw in struct lwt_psk_keys).
 *
 * Cost (tests/bench/spake2-bench.c, CPU time on the 2-CPU dev machine): about
 * 220 us per side, against about 145 us for today's X25519 exchange measured
 * in the same run. Three of the four scalar multiplications are variable-base
 * (w*M or w*N, and K); w*M and w*N depend only on the password, so
 * struct lwt_spake2_pw computes them once (at config load) and
 * lwt_spake2_init_pw() takes them from there: one fixed-base and one
 * variable-base multiplication a side remain (about 100 us).
 *
 * Use: init -> [set_aad] -> start -> send share -> receive peer share ->
 * [set_aad] -> finish -> exchange confirmations -> clear. A context is used by
 * one thread at a time; it holds no heap memory, and clear wipes every secret
 * in it. All functions return 0 or -errno: -EINVAL for a bad argument or call
 * order, -EBADMSG for a peer share that is refused, -ENOMEM/-EIO for an
 * OpenSSL failure. */
#ifndef LWT_SPAKE2_H
#define LWT_SPAKE2_H

#include <stddef.h>
#include <stdint.h>

#define LWT_SPAKE2_SHARE_LEN 65		/* uncompressed SEC1 P-256 point */
#define LWT_SPAKE2_SCALAR_LEN 32	/* w, x, y: big-endian, below p */
#define LWT_SPAKE2_KE_LEN 16		/* Ke = first half of SHA-256(TT) */
#define LWT_SPAKE2_KC_LEN 16		/* Ka, KcA, KcB */
#define LWT_SPAKE2_CONFIRM_LEN 32	/* HMAC-SHA256 */
#define LWT_SPAKE2_ID_MAX 64		/* identity bytes, each side */
#define LWT_SPAKE2_AAD_MAX 256
#define LWT_SPAKE2_TT_MAX (6 * 8 + 2 * LWT_SPAKE2_ID_MAX + 3 * LWT_SPAKE2_SHARE_LEN + \
			   LWT_SPAKE2_SCALAR_LEN)

enum lwt_spake2_role {
	LWT_SPAKE2_ROLE_A = 1,	/* client: uses M, sends pA, confirms with KcA */
	LWT_SPAKE2_ROLE_B = 2,	/* server: uses N, sends pB, confirms with KcB */
};

/* A password prepared once: w and its two masks w*M and w*N (uncompressed
 * SEC1), which depend on nothing else. Plain bytes (copyable, no heap); as
 * secret as w itself (either mask lets its holder take that side's part). */
struct lwt_spake2_pw {
	uint8_t w[LWT_SPAKE2_SCALAR_LEN];
	uint8_t wm[LWT_SPAKE2_SHARE_LEN], wn[LWT_SPAKE2_SHARE_LEN];
};

/* One side of one exchange. Caller-allocated; fields are read by the
 * known-answer tests, nobody else should touch them. */
struct lwt_spake2 {
	uint8_t role, state;
	uint8_t have_masks;			/* wm, wn valid (lwt_spake2_init_pw) */
	uint8_t w[LWT_SPAKE2_SCALAR_LEN];
	uint8_t wm[LWT_SPAKE2_SHARE_LEN], wn[LWT_SPAKE2_SHARE_LEN];
	uint8_t scalar[LWT_SPAKE2_SCALAR_LEN];	/* x (A) or y (B) */
	uint8_t share[LWT_SPAKE2_SHARE_LEN];	/* pA (A) or pB (B) */
	uint8_t id_a[LWT_SPAKE2_ID_MAX], id_b[LWT_SPAKE2_ID_MAX];
	size_t id_a_len, id_b_len;
	uint8_t aad[LWT_SPAKE2_AAD_MAX];
	size_t aad_len;
	/* Set by finish (the transcript and the intermediate keys). */
	uint8_t k[LWT_SPAKE2_SHARE_LEN];
	uint8_t tt[LWT_SPAKE2_TT_MAX];
	size_t tt_len;
	uint8_t ka[LWT_SPAKE2_KC_LEN], kca[LWT_SPAKE2_KC_LEN], kcb[LWT_SPAKE2_KC_LEN];
};

/* w from a pre-shared key of any length: HKDF-SHA256(salt = nil, IKM = psk,
 * info = "lwt SPAKE2-P256 w v1", L = 40) mod p, big-endian. */
int lwt_spake2_derive_w(const void *psk, size_t psk_len, uint8_t w[LWT_SPAKE2_SCALAR_LEN]);

/* Set up one side. id_a/id_b may be empty (NULL, 0), at most
 * LWT_SPAKE2_ID_MAX bytes each. w: big-endian, 0 < w < p (-EINVAL if not). */
int lwt_spake2_init(struct lwt_spake2 *ctx, enum lwt_spake2_role role, const void *id_a,
		    size_t id_a_len, const void *id_b, size_t id_b_len,
		    const uint8_t w[LWT_SPAKE2_SCALAR_LEN]);
/* Prepare a password: pw->w = w (0 < w < p, else -EINVAL) and the masks
 * w*M, w*N. lwt_spake2_pw_derive() is lwt_spake2_derive_w() then this. */
int lwt_spake2_pw_init(struct lwt_spake2_pw *pw, const uint8_t w[LWT_SPAKE2_SCALAR_LEN]);
int lwt_spake2_pw_derive(struct lwt_spake2_pw *pw, const void *psk, size_t psk_len);
void lwt_spake2_pw_clear(struct lwt_spake2_pw *pw);
/* lwt_spake2_init() with a prepared password: the same shares, keys and
 * confirmations, two scalar multiplications fewer. */
int lwt_spake2_init_pw(struct lwt_spake2 *ctx, enum lwt_spake2_role role, const void *id_a,
		       size_t id_a_len, const void *id_b, size_t id_b_len,
		       const struct lwt_spake2_pw *pw);
/* Additional authenticated data for KcA/KcB (RFC 9382 key schedule); replaces
 * any earlier AAD. Both sides must set the same bytes before finish. */
int lwt_spake2_set_aad(struct lwt_spake2 *ctx, const void *aad, size_t aad_len);
/* Draw the ephemeral scalar and write this side's share (pA or pB). Once. */
int lwt_spake2_start(struct lwt_spake2 *ctx, uint8_t share[LWT_SPAKE2_SHARE_LEN]);
/* Known-answer tests only: start with a given scalar (0 < s < p). A scalar
 * used twice with the same w gives away the password to an eavesdropper. */
int lwt_spake2_start_with_scalar(struct lwt_spake2 *ctx,
				 const uint8_t scalar[LWT_SPAKE2_SCALAR_LEN],
				 uint8_t share[LWT_SPAKE2_SHARE_LEN]);
/* Take the peer's share (peer_len bytes, must be LWT_SPAKE2_SHARE_LEN) and
 * derive Ke, this side's confirmation (to send) and the confirmation the
 * peer must send (compare with lwt_crypto_equal). -EBADMSG: share refused.
 * Ke must not be used before the peer's confirmation has verified. */
int lwt_spake2_finish(struct lwt_spake2 *ctx, const uint8_t *peer_share, size_t peer_len,
		      uint8_t ke[LWT_SPAKE2_KE_LEN], uint8_t my_confirm[LWT_SPAKE2_CONFIRM_LEN],
		      uint8_t expected_peer_confirm[LWT_SPAKE2_CONFIRM_LEN]);
/* Wipe the context (every secret in it). Safe on a zeroed or cleared one. */
void lwt_spake2_clear(struct lwt_spake2 *ctx);

#endif
