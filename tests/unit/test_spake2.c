// SPDX-License-Identifier: MIT
/* SPAKE2-P256-SHA256-HKDF-HMAC (user/spake2.c) against RFC 9382's P-256 test
 * vectors, every value byte for byte, from both sides, computing w*M and w*N
 * or taking them from a prepared password; then the properties the
 * handshake will rest on: the same password agrees and confirms both ways, a
 * different password or AAD does not confirm, a share that is not a curve
 * point (wrong length, other encoding, off the curve, the identity, w*N) is
 * refused and spends the context, a changed share never confirms, the
 * password derivation has a known answer, shares are fresh, clear wipes. */
#include <errno.h>
#include <stdio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include "testutil.h"
#include "crypto.h"
#include "spake2.h"

#define SH LWT_SPAKE2_SHARE_LEN
#define CF LWT_SPAKE2_CONFIRM_LEN
#define KE LWT_SPAKE2_KE_LEN

struct vector {
	const char *id_a, *id_b;
	const char *w, *x, *y, *pa, *pb, *k, *tt, *ke, *ka, *kca, *kcb, *ca, *cb;
};

/* RFC 9382's test vectors for SPAKE2-P256-SHA256-HKDF-HMAC (no AAD), as the
 * RFC's editor published them (kaduk/spake2: testvecs, testvec-rest; "S" and
 * "T" there are pA and pB). */
static const struct vector vectors[] = {
	{ /* 1: A='server', B='client' */
	  .id_a = "server", .id_b = "client",
	  .w =
	  "2ee57912099d31560b3a44b1184b9b4866e904c49d12ac5042c97dca461b1a5f",
	  .x =
	  "43dd0fd7215bdcb482879fca3220c6a968e66d70b1356cac18bb26c84a78d729",
	  .y =
	  "dcb60106f276b02606d8ef0a328c02e4b629f84f89786af5befb0bc75b6e66be",
	  .pa =
	  "04"
	  "a56fa807caaa53a4d28dbb9853b9815c61a411118a6fe516a8798434751470f9"
	  "010153ac33d0d5f2047ffdb1a3e42c9b4e6be662766e1eeb4116988ede5f912c",
	  .pb =
	  "04"
	  "06557e482bd03097ad0cbaa5df82115460d951e3451962f1eaf4367a420676d0"
	  "9857ccbc522686c83d1852abfa8ed6e4a1155cf8f1543ceca528afb591a1e0b7",
	  .k =
	  "04"
	  "12af7e89717850671913e6b469ace67bd90a4df8ce45c2af19010175e37eed69"
	  "f75897996d539356e2fa6a406d528501f907e04d97515fbe83db277b715d3325",
	  .tt =
	  "06000000000000007365727665720600000000000000636c69656e7441000000"
	  "0000000004a56fa807caaa53a4d28dbb9853b9815c61a411118a6fe516a87984"
	  "34751470f9010153ac33d0d5f2047ffdb1a3e42c9b4e6be662766e1eeb411698"
	  "8ede5f912c41000000000000000406557e482bd03097ad0cbaa5df82115460d9"
	  "51e3451962f1eaf4367a420676d09857ccbc522686c83d1852abfa8ed6e4a115"
	  "5cf8f1543ceca528afb591a1e0b741000000000000000412af7e897178506719"
	  "13e6b469ace67bd90a4df8ce45c2af19010175e37eed69f75897996d539356e2"
	  "fa6a406d528501f907e04d97515fbe83db277b715d332520000000000000002e"
	  "e57912099d31560b3a44b1184b9b4866e904c49d12ac5042c97dca461b1a5f",
	  .ke =
	  "0e0672dc86f8e45565d338b0540abe69",
	  .ka =
	  "15bdf72e2b35b5c9e5663168e960a91b",
	  .kca =
	  "00c12546835755c86d8c0db7851ae86f",
	  .kcb =
	  "a9fa3406c3b781b93d804485430ca27a",
	  .ca =
	  "58ad4aa88e0b60d5061eb6b5dd93e80d9c4f00d127c65b3b35b1b5281fee38f0",
	  .cb =
	  "d3e2e547f1ae04f2dbdbf0fc4b79f8ecff2dff314b5d32fe9fcef2fb26dc459b",
	},
	{ /* 2: A='', B='client' */
	  .id_a = "", .id_b = "client",
	  .w =
	  "0548d8729f730589e579b0475a582c1608138ddf7054b73b5381c7e883e2efae",
	  .x =
	  "403abbe3b1b4b9ba17e3032849759d723939a27a27b9d921c500edde18ed654b",
	  .y =
	  "903023b6598908936ea7c929bd761af6039577a9c3f9581064187c3049d87065",
	  .pa =
	  "04"
	  "a897b769e681c62ac1c2357319a3d363f610839c4477720d24cbe32f5fd85f44"
	  "fb92ba966578c1b712be6962498834078262caa5b441ecfa9d4a9485720e918a",
	  .pb =
	  "04"
	  "e0f816fd1c35e22065d5556215c097e799390d16661c386e0ecc84593974a61b"
	  "881a8c82327687d0501862970c64565560cb5671f696048050ca66ca5f8cc7fc",
	  .k =
	  "04"
	  "8f83ec9f6e4f87cc6f9dc740bdc2769725f923364f01c84148c049a39a735ebd"
	  "a82eac03e00112fd6a5710682767cff5361f7e819e53d8d3c3a2922e0d837aa6",
	  .tt =
	  "00000000000000000600000000000000636c69656e74410000000000000004a8"
	  "97b769e681c62ac1c2357319a3d363f610839c4477720d24cbe32f5fd85f44fb"
	  "92ba966578c1b712be6962498834078262caa5b441ecfa9d4a9485720e918a41"
	  "0000000000000004e0f816fd1c35e22065d5556215c097e799390d16661c386e"
	  "0ecc84593974a61b881a8c82327687d0501862970c64565560cb5671f6960480"
	  "50ca66ca5f8cc7fc4100000000000000048f83ec9f6e4f87cc6f9dc740bdc276"
	  "9725f923364f01c84148c049a39a735ebda82eac03e00112fd6a5710682767cf"
	  "f5361f7e819e53d8d3c3a2922e0d837aa620000000000000000548d8729f7305"
	  "89e579b0475a582c1608138ddf7054b73b5381c7e883e2efae",
	  .ke =
	  "642f05c473c2cd79909f9a841e2f30a7",
	  .ka =
	  "0bf89b18180af97353ba198789c2b963",
	  .kca =
	  "c6be376fc7cd1301fd0a13adf3e7bffd",
	  .kcb =
	  "b7243f4ae60440a49b3f8cab3c1fba07",
	  .ca =
	  "47d29e6666af1b7dd450d571233085d7a9866e4d49d2645e2df975489521232b",
	  .cb =
	  "3313c5cefc361d27fb16847a91c2a73b766ffa90a4839122a9b70a2f6bd1d6df",
	},
	{ /* 3: A='server', B='' */
	  .id_a = "server", .id_b = "",
	  .w =
	  "626e0cdc7b14c9db3e52a0b1b3a768c98e37852d5db30febe0497b14eae8c254",
	  .x =
	  "07adb3db6bc623d3399726bfdbfd3d15a58ea776ab8a308b00392621291f9633",
	  .y =
	  "b6a4fc8dbb629d4ba51d6f91ed1532cf87adec98f25dd153a75accafafedec16",
	  .pa =
	  "04"
	  "f88fb71c99bfffaea370966b7eb99cd4be0ff1a7d335caac4211c4afd855e2e1"
	  "5a873b298503ad8ba1d9cbb9a392d2ba309b48bfd7879aefd0f2cea6009763b0",
	  .pb =
	  "04"
	  "0c269d6be017dccb15182ac6bfcd9e2a14de019dd587eaf4bdfd353f031101e7"
	  "cca177f8eb362a6e83e7d5e729c0732e1b528879c086f39ba0f31a9661bd34db",
	  .k =
	  "04"
	  "45ee233b8ecb51ebd6e7da3f307e88a1616bae2166121221fdc0dadb986afaf3"
	  "ec8a988dc9c626fa3b99f58a7ca7c9b844bb3e8dd9554aafc5b53813504c1cbe",
	  .tt =
	  "06000000000000007365727665720000000000000000410000000000000004f8"
	  "8fb71c99bfffaea370966b7eb99cd4be0ff1a7d335caac4211c4afd855e2e15a"
	  "873b298503ad8ba1d9cbb9a392d2ba309b48bfd7879aefd0f2cea6009763b041"
	  "00000000000000040c269d6be017dccb15182ac6bfcd9e2a14de019dd587eaf4"
	  "bdfd353f031101e7cca177f8eb362a6e83e7d5e729c0732e1b528879c086f39b"
	  "a0f31a9661bd34db41000000000000000445ee233b8ecb51ebd6e7da3f307e88"
	  "a1616bae2166121221fdc0dadb986afaf3ec8a988dc9c626fa3b99f58a7ca7c9"
	  "b844bb3e8dd9554aafc5b53813504c1cbe2000000000000000626e0cdc7b14c9"
	  "db3e52a0b1b3a768c98e37852d5db30febe0497b14eae8c254",
	  .ke =
	  "005184ff460da2ce59062c87733c299c",
	  .ka =
	  "3521297d736598fc0a1127600efa1afb",
	  .kca =
	  "f3da53604f0aeecea5a33be7bddf6edf",
	  .kcb =
	  "9e3f86848736f159bd92b6e107ec6799",
	  .ca =
	  "bc9f9bbe99f26d0b2260e6456e05a86196a3307ec6663a18bf6ac825736533b2",
	  .cb =
	  "c2370e1bf813b086dff0d834e74425a06e6390f48f5411900276dcccc5a297ec",
	},
	{ /* 4: A='', B='' */
	  .id_a = "", .id_b = "",
	  .w =
	  "7bf46c454b4c1b25799527d896508afd5fc62ef4ec59db1efb49113063d70cca",
	  .x =
	  "8cef65df64bb2d0f83540c53632de911b5b24b3eab6cc74a97609fd659e95473",
	  .y =
	  "d7a66f64074a84652d8d623a92e20c9675c61cb5b4f6a0063e4648a2fdc02d53",
	  .pa =
	  "04"
	  "a65b367a3f613cf9f0654b1b28a1e3a8a40387956c8ba6063e8658563890f46c"
	  "a1ef6a676598889fc28de2950ab8120b79a5ef1ea4c9f44bc98f585634b46d66",
	  .pb =
	  "04"
	  "589f13218822710d98d8b2123a079041052d9941b9cf88c6617ddb2fcc049466"
	  "2eea8ba6b64692dc318250030c6af045cb738bc81ba35b043c3dcb46adf6f58d",
	  .k =
	  "04"
	  "1a3c03d51b452537ca2a1fea6110353c6d5ed483c4f0f86f4492ca3f378d40a9"
	  "94b4477f93c64d928edbbcd3e85a7c709b7ea73ee97986ce3d1438e135543772",
	  .tt =
	  "00000000000000000000000000000000410000000000000004a65b367a3f613c"
	  "f9f0654b1b28a1e3a8a40387956c8ba6063e8658563890f46ca1ef6a67659888"
	  "9fc28de2950ab8120b79a5ef1ea4c9f44bc98f585634b46d6641000000000000"
	  "0004589f13218822710d98d8b2123a079041052d9941b9cf88c6617ddb2fcc04"
	  "94662eea8ba6b64692dc318250030c6af045cb738bc81ba35b043c3dcb46adf6"
	  "f58d4100000000000000041a3c03d51b452537ca2a1fea6110353c6d5ed483c4"
	  "f0f86f4492ca3f378d40a994b4477f93c64d928edbbcd3e85a7c709b7ea73ee9"
	  "7986ce3d1438e13554377220000000000000007bf46c454b4c1b25799527d896"
	  "508afd5fc62ef4ec59db1efb49113063d70cca",
	  .ke =
	  "fc6374762ba5cf11f4b2caa08b2cd1b9",
	  .ka =
	  "907ae0e26e8d6234318d91583cd74c86",
	  .kca =
	  "5dbd2f477166b7fb6d61febbd77a5563",
	  .kcb =
	  "7689b4654407a5faeffdc8f18359d8a3",
	  .ca =
	  "dfb4db8d48ae5a675963ea5e6c19d98d4ea028d8e898dad96ea19a80ade95dca",
	  .cb =
	  "d0f0609d1613138d354f7e95f19fb556bf52d751947241e8c7118df5ef0ae175",
	},
};

struct side_out {
	uint8_t share[SH], ke[KE], mine[CF], peer[CF];
};

static void check_hex(const uint8_t *got, size_t len, const char *want_hex, const char *what,
		      int vec)
{
	uint8_t want[512];
	size_t wl = unhex(want_hex, want);

	if (wl != len || memcmp(got, want, len)) {
		printf("vector %d: %s differs (%zu bytes, want %zu)\n", vec, what, len, wl);
		fail();
	}
}

/* Vector i from one side: start with the vector's scalar, finish with the
 * vector's other share, and compare everything the side computes. cached:
 * through a prepared password (lwt_spake2_pw_init, lwt_spake2_init_pw),
 * whose masks w*M and w*N replace two scalar multiplications. */
static void run_vector_side(int i, enum lwt_spake2_role role, bool cached)
{
	const struct vector *v = &vectors[i];
	const bool is_a = role == LWT_SPAKE2_ROLE_A;
	uint8_t w[32], s[32], peer[SH];
	struct lwt_spake2 ctx;
	struct lwt_spake2_pw pw;
	struct side_out o;

	unhex(v->w, w);
	unhex(is_a ? v->x : v->y, s);
	unhex(is_a ? v->pb : v->pa, peer);
	if (cached) {
		assert_int_equal(lwt_spake2_pw_init(&pw, w), 0);
		assert_int_equal(lwt_spake2_init_pw(&ctx, role, v->id_a, strlen(v->id_a), v->id_b,
						    strlen(v->id_b), &pw), 0);
		assert_true(ctx.have_masks);
		lwt_spake2_pw_clear(&pw);
	} else {
		assert_int_equal(lwt_spake2_init(&ctx, role, v->id_a, strlen(v->id_a), v->id_b,
						 strlen(v->id_b), w), 0);
	}
	assert_int_equal(lwt_spake2_start_with_scalar(&ctx, s, o.share), 0);
	check_hex(o.share, SH, is_a ? v->pa : v->pb, is_a ? "pA" : "pB", i + 1);
	assert_int_equal(lwt_spake2_finish(&ctx, peer, SH, o.ke, o.mine, o.peer), 0);
	check_hex(ctx.k, SH, v->k, "K", i + 1);
	check_hex(ctx.tt, ctx.tt_len, v->tt, "TT", i + 1);
	check_hex(o.ke, KE, v->ke, "Ke", i + 1);
	check_hex(ctx.ka, sizeof(ctx.ka), v->ka, "Ka", i + 1);
	check_hex(ctx.kca, sizeof(ctx.kca), v->kca, "KcA", i + 1);
	check_hex(ctx.kcb, sizeof(ctx.kcb), v->kcb, "KcB", i + 1);
	check_hex(o.mine, CF, is_a ? v->ca : v->cb, is_a ? "own confirmation cA" :
			  "own confirmation cB", i + 1);
	check_hex(o.peer, CF, is_a ? v->cb : v->ca, is_a ? "expected cB" : "expected cA", i + 1);
	lwt_spake2_clear(&ctx);
}

static void test_rfc9382_vectors(void **state)
{
	for (int i = 0; i < (int)(sizeof(vectors) / sizeof(vectors[0])); i++) {
		printf("vector %d: A='%s' B='%s', side A then side B\n", i + 1, vectors[i].id_a,
		       vectors[i].id_b);
		run_vector_side(i, LWT_SPAKE2_ROLE_A, false);
		run_vector_side(i, LWT_SPAKE2_ROLE_B, false);
		printf("vector %d through a prepared password\n", i + 1);
		run_vector_side(i, LWT_SPAKE2_ROLE_A, true);
		run_vector_side(i, LWT_SPAKE2_ROLE_B, true);
	}
}

static EC_GROUP *grp(void);

/* A prepared password: its masks are w*M and w*N (checked against a scalar
 * multiplication of the group's own), and out-of-range w is refused like
 * lwt_spake2_init refuses it; pw_derive is derive_w then pw_init. */
static void test_prepared_password(void **state)
{
	static const char order_hex[] =
		"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
	static const char m_hex[] =
		"02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f";
	static const char n_hex[] =
		"03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49";
	struct lwt_spake2_pw pw, pw2;
	uint8_t w[32], bad[32] = { 0 }, enc[SH], pt_hex[33];
	EC_POINT *p = EC_POINT_new(grp()), *m = EC_POINT_new(grp());
	BIGNUM *bw;

	unhex(vectors[0].w, w);
	assert_int_equal(lwt_spake2_pw_init(&pw, w), 0);
	assert_memory_equal(pw.w, w, 32);
	bw = BN_bin2bn(w, 32, NULL);
	for (int which = 0; which < 2; which++) {
		unhex(which ? n_hex : m_hex, pt_hex);
		assert_int_equal(EC_POINT_oct2point(grp(), m, pt_hex, 33, NULL), 1);
		assert_int_equal(EC_POINT_mul(grp(), p, NULL, m, bw, NULL), 1);
		assert_int_equal(EC_POINT_point2oct(grp(), p, POINT_CONVERSION_UNCOMPRESSED, enc, SH,
						    NULL), SH);
		assert_memory_equal(which ? pw.wn : pw.wm, enc, SH);
	}
	BN_free(bw);
	EC_POINT_free(p);
	EC_POINT_free(m);
	assert_int_equal(lwt_spake2_pw_init(&pw2, bad), -EINVAL);
	unhex(order_hex, bad);
	assert_int_equal(lwt_spake2_pw_init(&pw2, bad), -EINVAL);
	assert_int_equal(lwt_spake2_pw_derive(&pw2, "x", 1), 0);
	unhex("a0bbaf872995758e2d0586f31e2f371701d3b9278d8ae1f30ed7997258a8a646", w);
	assert_memory_equal(pw2.w, w, 32);
	assert_int_equal(lwt_spake2_pw_derive(&pw2, "", 0), -EINVAL);
	lwt_spake2_pw_clear(&pw);
}

/* A full exchange with fresh scalars. edit, when set, changes pB on its way
 * to A (edit_pb) or pA on its way to B, and may decline (returns false: the
 * exchange is then abandoned, skipped = true). */
struct exchange {
	const uint8_t *w_a, *w_b;
	const char *aad_a, *aad_b;
	bool (*edit)(uint8_t share[SH], int arg);
	int edit_arg;
	bool edit_pb, skipped;
	struct side_out a, b;
	int rc_a, rc_b;
};

static void exchange(struct exchange *e)
{
	static const char ida[] = "lwt client 42", idb[] = "lwt server";
	uint8_t to_a[SH], to_b[SH];
	struct lwt_spake2 a, b;

	assert_int_equal(lwt_spake2_init(&a, LWT_SPAKE2_ROLE_A, ida, strlen(ida), idb,
					 strlen(idb), e->w_a), 0);
	assert_int_equal(lwt_spake2_init(&b, LWT_SPAKE2_ROLE_B, ida, strlen(ida), idb,
					 strlen(idb), e->w_b), 0);
	if (e->aad_a)
		assert_int_equal(lwt_spake2_set_aad(&a, e->aad_a, strlen(e->aad_a)), 0);
	if (e->aad_b)
		assert_int_equal(lwt_spake2_set_aad(&b, e->aad_b, strlen(e->aad_b)), 0);
	assert_int_equal(lwt_spake2_start(&a, e->a.share), 0);
	assert_int_equal(lwt_spake2_start(&b, e->b.share), 0);
	memcpy(to_b, e->a.share, SH);
	memcpy(to_a, e->b.share, SH);
	e->skipped = e->edit && !e->edit(e->edit_pb ? to_a : to_b, e->edit_arg);
	if (!e->skipped) {
		e->rc_b = lwt_spake2_finish(&b, to_b, SH, e->b.ke, e->b.mine, e->b.peer);
		e->rc_a = lwt_spake2_finish(&a, to_a, SH, e->a.ke, e->a.mine, e->a.peer);
	}
	lwt_spake2_clear(&a);
	lwt_spake2_clear(&b);
}

/* Both confirmations verify, in both directions, and the keys agree. */
static bool confirmed(const struct exchange *e)
{
	return lwt_crypto_equal(e->a.peer, e->b.mine, CF) &&
	       lwt_crypto_equal(e->b.peer, e->a.mine, CF);
}

static void test_same_password_agrees(void **state)
{
	uint8_t w[32];
	struct exchange e = { .w_a = w, .w_b = w, .aad_a = "flags=3 fec=10+3",
			      .aad_b = "flags=3 fec=10+3" };

	assert_int_equal(lwt_spake2_derive_w("correct horse battery staple", 28, w), 0);
	exchange(&e);
	assert_int_equal(e.rc_a, 0);
	assert_int_equal(e.rc_b, 0);
	assert_memory_equal(e.a.ke, e.b.ke, KE);
	assert_true(confirmed(&e));
	/* The two confirmations differ: one reflected back to its sender fails. */
	assert_false(lwt_crypto_equal(e.a.mine, e.b.mine, CF));
	assert_false(lwt_crypto_equal(e.a.peer, e.a.mine, CF));
}

static void test_other_password_fails(void **state)
{
	uint8_t w1[32], w2[32];
	struct exchange e = { .w_a = w1, .w_b = w2 };

	assert_int_equal(lwt_spake2_derive_w("correct horse battery staple", 28, w1), 0);
	assert_int_equal(lwt_spake2_derive_w("correct horse battery stapler", 29, w2), 0);
	exchange(&e);
	assert_int_equal(e.rc_a, 0);	/* nothing on the wire tells a wrong password... */
	assert_int_equal(e.rc_b, 0);
	assert_memory_not_equal(e.a.ke, e.b.ke, KE);	/* ...but nothing agrees */
	assert_false(lwt_crypto_equal(e.a.peer, e.b.mine, CF));
	assert_false(lwt_crypto_equal(e.b.peer, e.a.mine, CF));
}

/* The AAD (where the handshake binds flags and FEC shapes) enters only the
 * confirmation keys: Ke agrees, the confirmations do not. */
static void test_other_aad_fails(void **state)
{
	uint8_t w[32];
	struct exchange e = { .w_a = w, .w_b = w, .aad_a = "flags=3 fec=10+3",
			      .aad_b = "flags=3 fec=10+4" };

	assert_int_equal(lwt_spake2_derive_w("pw", 2, w), 0);
	exchange(&e);
	assert_int_equal(e.rc_a, 0);
	assert_int_equal(e.rc_b, 0);
	assert_memory_equal(e.a.ke, e.b.ke, KE);
	assert_false(lwt_crypto_equal(e.a.peer, e.b.mine, CF));
	assert_false(lwt_crypto_equal(e.b.peer, e.a.mine, CF));
}

/* An EC helper for building test shares, independent of spake2.c. */
static EC_GROUP *grp(void)
{
	static EC_GROUP *g;

	if (!g)
		g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	assert_non_null(g);
	return g;
}

/* out = s * (compressed point pt), uncompressed. */
static void point_mul(const uint8_t *pt, size_t pt_len, const uint8_t s32[32], uint8_t out[SH])
{
	EC_POINT *p = EC_POINT_new(grp()), *r = EC_POINT_new(grp());
	BIGNUM *s = BN_bin2bn(s32, 32, NULL);

	assert_int_equal(EC_POINT_oct2point(grp(), p, pt, pt_len, NULL), 1);
	assert_int_equal(EC_POINT_mul(grp(), r, NULL, p, s, NULL), 1);
	assert_int_equal(EC_POINT_point2oct(grp(), r, POINT_CONVERSION_UNCOMPRESSED, out, SH,
					    NULL), SH);
	BN_free(s);
	EC_POINT_free(r);
	EC_POINT_free(p);
}

struct bad_share {
	const char *what;
	size_t len;
	uint8_t bytes[SH + 1];
};

/* A's side with vector 1's w and x, finishing on a share it must refuse. */
static void refuse(const struct bad_share *c, int n)
{
	const struct vector *v = &vectors[0];
	uint8_t w[32], x[32], share[SH], good[SH];
	struct side_out o;
	struct lwt_spake2 a;
	int rc;

	unhex(v->w, w);
	unhex(v->x, x);
	unhex(v->pb, good);
	assert_int_equal(lwt_spake2_init(&a, LWT_SPAKE2_ROLE_A, "server", 6, "client", 6, w), 0);
	assert_int_equal(lwt_spake2_start_with_scalar(&a, x, share), 0);
	rc = lwt_spake2_finish(&a, c->bytes, c->len, o.ke, o.mine, o.peer);
	printf("bad share %d (%s): %d\n", n, c->what, rc);
	assert_int_equal(rc, -EBADMSG);
	/* The context is spent: not even the right share is taken now. */
	assert_int_equal(lwt_spake2_finish(&a, good, SH, o.ke, o.mine, o.peer), -EINVAL);
	lwt_spake2_clear(&a);
}

static void test_bad_shares_refused(void **state)
{
	static const uint8_t n_c[33] = {
		0x03, 0xd8, 0xbb, 0xd6, 0xc6, 0x39, 0xc6, 0x29, 0x37, 0xb0, 0x4d, 0x99, 0x7f,
		0x38, 0xc3, 0x77, 0x07, 0x19, 0xc6, 0x29, 0xd7, 0x01, 0x4d, 0x49, 0xa2, 0x4b,
		0x4f, 0x98, 0xba, 0xa1, 0x29, 0x2b, 0x49,
	};
	static const char p_hex[] =
		"ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
	struct bad_share c[10];
	uint8_t pb[SH], w[32];
	int n = 0;

	unhex(vectors[0].pb, pb);
	unhex(vectors[0].w, w);
	memset(c, 0, sizeof(c));
	/* 1: the identity's only encoding (one zero byte) */
	c[n++] = (struct bad_share){ .what = "identity, 1 byte", .len = 1 };
	/* 2: 65 zero bytes (no 0x04; not a point either) */
	c[n++] = (struct bad_share){ .what = "65 zero bytes", .len = SH };
	/* 3: 04 || 0 || 0: uncompressed form, (0, 0) is not on the curve */
	c[n] = (struct bad_share){ .what = "(0,0)", .len = SH };
	c[n++].bytes[0] = 0x04;
	/* 4, 5: a valid share one byte short / one byte long */
	c[n] = (struct bad_share){ .what = "64 bytes", .len = SH - 1 };
	memcpy(c[n++].bytes, pb, SH - 1);
	c[n] = (struct bad_share){ .what = "66 bytes", .len = SH + 1 };
	memcpy(c[n++].bytes, pb, SH);
	/* 6: the compressed encoding of the valid share (33 bytes) */
	c[n] = (struct bad_share){ .what = "compressed", .len = 33 };
	memcpy(c[n].bytes, pb, 33);
	c[n++].bytes[0] = 0x02 | (pb[SH - 1] & 1);
	/* 7: the valid share with the hybrid-form prefix 0x06/0x07 */
	c[n] = (struct bad_share){ .what = "hybrid form", .len = SH };
	memcpy(c[n].bytes, pb, SH);
	c[n++].bytes[0] = 0x06 | (pb[SH - 1] & 1);
	/* 8: off the curve: y + 1 */
	c[n] = (struct bad_share){ .what = "y+1, off the curve", .len = SH };
	memcpy(c[n].bytes, pb, SH);
	c[n++].bytes[SH - 1] ^= 0x01;
	/* 9: x = p (the field prime), y from the share: not a field element */
	c[n] = (struct bad_share){ .what = "x = p", .len = SH };
	memcpy(c[n].bytes, pb, SH);
	unhex(p_hex, c[n++].bytes + 1);
	/* 10: w*N, a curve point: pB - w*N is the identity, so K would be */
	c[n] = (struct bad_share){ .what = "w*N, K = identity", .len = SH };
	point_mul(n_c, sizeof(n_c), w, c[n++].bytes);
	for (int i = 0; i < n; i++)
		refuse(&c[i], i + 1);
}

/* Every single-bit flip of pB's coordinates: refused or not confirmed,
 * never accepted as the same exchange. */
static void test_bit_flips_never_confirm(void **state)
{
	const struct vector *v = &vectors[0];
	uint8_t w[32], x[32], pb[SH], share[SH], cb[CF];
	int refused = 0, unconfirmed = 0;

	unhex(v->w, w);
	unhex(v->x, x);
	unhex(v->pb, pb);
	unhex(v->cb, cb);
	for (int bit = 8; bit < SH * 8; bit++) {
		struct lwt_spake2 a;
		struct side_out o;
		int rc;

		pb[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		assert_int_equal(lwt_spake2_init(&a, LWT_SPAKE2_ROLE_A, "server", 6, "client", 6,
						 w), 0);
		assert_int_equal(lwt_spake2_start_with_scalar(&a, x, share), 0);
		rc = lwt_spake2_finish(&a, pb, SH, o.ke, o.mine, o.peer);
		if (rc == -EBADMSG) {
			refused++;
		} else {
			assert_int_equal(rc, 0);
			assert_false(lwt_crypto_equal(o.peer, cb, CF));
			unconfirmed++;
		}
		lwt_spake2_clear(&a);
		pb[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	printf("512 single-bit flips of pB: %d refused, %d taken but not confirmed\n", refused,
	       unconfirmed);
	assert_int_equal(refused + unconfirmed, 512);
}

/* Change a share into ANOTHER curve point: arg 0 negates y, arg k > 0
 * flips bit k-1 of x and recomputes y (false if that x has no point). */
static bool change_point(uint8_t share[SH], int arg)
{
	EC_POINT *p = EC_POINT_new(grp());
	uint8_t comp[33];
	bool ok;

	memcpy(comp + 1, share + 1, 32);
	comp[0] = 0x02 | (share[SH - 1] & 1);
	if (arg == 0)
		comp[0] ^= 1;
	else
		comp[32 - (arg - 1) / 8] ^= (uint8_t)(1 << ((arg - 1) % 8));
	ok = EC_POINT_oct2point(grp(), p, comp, sizeof(comp), NULL) == 1;
	if (ok)
		assert_int_equal(EC_POINT_point2oct(grp(), p, POINT_CONVERSION_UNCOMPRESSED,
						    share, SH, NULL), SH);
	EC_POINT_free(p);
	return ok;
}

/* A share changed in transit into another valid curve point passes every
 * point check: the confirmations are what catch it, in both directions, for
 * pA changed on its way to B and pB on its way to A. */
static void test_changed_point_fails_confirmation(void **state)
{
	uint8_t w[32];
	int done[2] = { 0, 0 };

	assert_int_equal(lwt_spake2_derive_w("pw", 2, w), 0);
	for (int arg = 0; arg <= 256 && (done[0] < 3 || done[1] < 3); arg++) {
		for (int on_b = 0; on_b < 2; on_b++) {
			struct exchange e = { .w_a = w, .w_b = w, .edit = change_point,
					      .edit_arg = arg, .edit_pb = on_b };

			if (done[on_b] >= 3)
				continue;
			exchange(&e);
			if (e.skipped)
				continue;	/* no point at that x: the flip test covers it */
			printf("%s changed in transit: %s\n", on_b ? "pB" : "pA",
			       arg ? "one bit of x flipped" : "y negated");
			assert_int_equal(e.rc_a, 0);
			assert_int_equal(e.rc_b, 0);
			assert_memory_not_equal(e.a.ke, e.b.ke, KE);
			assert_false(lwt_crypto_equal(e.a.peer, e.b.mine, CF));
			assert_false(lwt_crypto_equal(e.b.peer, e.a.mine, CF));
			done[on_b]++;
		}
	}
	assert_int_equal(done[0], 3);
	assert_int_equal(done[1], 3);
}

/* w = HKDF-SHA256(nil, psk, "lwt SPAKE2-P256 w v1", 40) mod p; known
 * answers computed outside lwt (Python hmac/hashlib). */
static void test_derive_w(void **state)
{
	static const struct {
		const char *psk, *w;
	} cases[] = {
		{ "correct horse battery staple",
		  "094d3480b19bff7471a6375adc2f5d0515f04f2fc95c6bd707db2dc8361f68ca" },
		{ "x", "a0bbaf872995758e2d0586f31e2f371701d3b9278d8ae1f30ed7997258a8a646" },
	};
	uint8_t w[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		printf("derive_w case %zu\n", i + 1);
		assert_int_equal(lwt_spake2_derive_w(cases[i].psk, strlen(cases[i].psk), w), 0);
		check_hex(w, 32, cases[i].w, "w", (int)i + 1);
	}
	assert_int_equal(lwt_spake2_derive_w("", 0, w), -EINVAL);
	assert_int_equal(lwt_spake2_derive_w(NULL, 3, w), -EINVAL);
}

/* Misuse is refused: scalars out of range, identities too long, calls out
 * of order. */
static void test_api_misuse(void **state)
{
	static const char order_hex[] =
		"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
	uint8_t w[32], bad[32] = { 0 }, share[SH], long_id[LWT_SPAKE2_ID_MAX + 1] = { 0 };
	uint8_t aad[LWT_SPAKE2_AAD_MAX + 1] = { 0 };
	struct lwt_spake2 c;
	struct side_out o;

	unhex(vectors[0].w, w);
	/* 1: w = 0; 2: w = p (group order); 3: bad role; 4: identity too long */
	assert_int_equal(lwt_spake2_init(&c, LWT_SPAKE2_ROLE_A, NULL, 0, NULL, 0, bad), -EINVAL);
	unhex(order_hex, bad);
	assert_int_equal(lwt_spake2_init(&c, LWT_SPAKE2_ROLE_A, NULL, 0, NULL, 0, bad), -EINVAL);
	assert_int_equal(lwt_spake2_init(&c, 3, NULL, 0, NULL, 0, w), -EINVAL);
	assert_int_equal(lwt_spake2_init(&c, LWT_SPAKE2_ROLE_A, long_id, sizeof(long_id), NULL,
					 0, w), -EINVAL);
	/* 5: finish before start; 6: scalar = p; 7: start twice; 8: AAD too long */
	assert_int_equal(lwt_spake2_init(&c, LWT_SPAKE2_ROLE_B, long_id, LWT_SPAKE2_ID_MAX, NULL,
					 0, w), 0);
	assert_int_equal(lwt_spake2_finish(&c, share, SH, o.ke, o.mine, o.peer), -EINVAL);
	assert_int_equal(lwt_spake2_start_with_scalar(&c, bad, share), -EINVAL);
	assert_int_equal(lwt_spake2_set_aad(&c, aad, sizeof(aad)), -EINVAL);
	assert_int_equal(lwt_spake2_start(&c, share), 0);
	assert_int_equal(lwt_spake2_start(&c, share), -EINVAL);
	lwt_spake2_clear(&c);
}

/* Two starts with the same password give different shares (fresh x), and
 * both are valid curve points. */
static void test_shares_fresh(void **state)
{
	uint8_t w[32], s1[SH], s2[SH];
	struct lwt_spake2 c1, c2;
	EC_POINT *p = EC_POINT_new(grp());

	unhex(vectors[0].w, w);
	assert_int_equal(lwt_spake2_init(&c1, LWT_SPAKE2_ROLE_A, NULL, 0, NULL, 0, w), 0);
	assert_int_equal(lwt_spake2_init(&c2, LWT_SPAKE2_ROLE_A, NULL, 0, NULL, 0, w), 0);
	assert_int_equal(lwt_spake2_start(&c1, s1), 0);
	assert_int_equal(lwt_spake2_start(&c2, s2), 0);
	assert_memory_not_equal(s1, s2, SH);
	assert_memory_not_equal(c1.scalar, c2.scalar, 32);
	assert_int_equal(EC_POINT_oct2point(grp(), p, s1, SH, NULL), 1);
	assert_int_equal(EC_POINT_oct2point(grp(), p, s2, SH, NULL), 1);
	EC_POINT_free(p);
	lwt_spake2_clear(&c1);
	lwt_spake2_clear(&c2);
}

/* clear leaves no byte of the context: w, the scalar, K, TT, Ka, KcA, KcB. */
static void test_clear_wipes(void **state)
{
	const struct vector *v = &vectors[0];
	uint8_t w[32], x[32], pb[SH], share[SH];
	static const uint8_t zero[sizeof(struct lwt_spake2)];
	struct lwt_spake2 a;
	struct side_out o;

	unhex(v->w, w);
	unhex(v->x, x);
	unhex(v->pb, pb);
	assert_int_equal(lwt_spake2_init(&a, LWT_SPAKE2_ROLE_A, "server", 6, "client", 6, w), 0);
	assert_int_equal(lwt_spake2_start_with_scalar(&a, x, share), 0);
	assert_int_equal(lwt_spake2_finish(&a, pb, SH, o.ke, o.mine, o.peer), 0);
	assert_memory_not_equal(&a, zero, sizeof(a));
	lwt_spake2_clear(&a);
	assert_memory_equal(&a, zero, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9382_vectors),
		cmocka_unit_test(test_prepared_password),
		cmocka_unit_test(test_same_password_agrees),
		cmocka_unit_test(test_other_password_fails),
		cmocka_unit_test(test_other_aad_fails),
		cmocka_unit_test(test_bad_shares_refused),
		cmocka_unit_test(test_bit_flips_never_confirm),
		cmocka_unit_test(test_changed_point_fails_confirmation),
		cmocka_unit_test(test_derive_w),
		cmocka_unit_test(test_api_misuse),
		cmocka_unit_test(test_shares_fresh),
		cmocka_unit_test(test_clear_wipes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
