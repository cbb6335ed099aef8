// SPDX-License-Identifier: MIT
/* Cost of one SPAKE2-P256 side (user/spake2.c): init + start + finish, for
 * the client (A) and the server (B), over ROUNDS full exchanges; next to it
 * the same with a prepared password (lwt_spake2_init_pw: w*M and w*N cached,
 * as the handshake runs it), and the X25519 key agreement of key rotation
 * and of protocol v1's handshake (keygen + shared secret per side), measured
 * in the same run. Prints CPU microseconds per side; a benchmark, not a
 * test (each exchange is checked to confirm, though). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "spake2.h"

#define ROUNDS 2000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);	/* CPU time: robust to a loaded machine */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char ida[] = "lwt client", idb[] = "lwt server";
	int rounds = argc > 1 ? atoi(argv[1]) : ROUNDS;
	uint8_t w[LWT_SPAKE2_SCALAR_LEN];
	struct lwt_spake2_pw pw;
	double t_a = 0, t_b = 0, t_x = 0, t_pa = 0, t_pb = 0, t0;

	if (rounds <= 0 || lwt_spake2_derive_w("bench password", 14, w) ||
	    lwt_spake2_pw_init(&pw, w)) {
		fprintf(stderr, "spake2-bench: couldn't set up\n");
		return 1;
	}
	for (int i = 0; i < rounds; i++) {
		uint8_t pa[LWT_SPAKE2_SHARE_LEN], pb[LWT_SPAKE2_SHARE_LEN];
		uint8_t ke_a[LWT_SPAKE2_KE_LEN], ke_b[LWT_SPAKE2_KE_LEN];
		uint8_t ca[32], cb[32], want_ca[32], want_cb[32];
		uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32], dh_a[32], dh_b[32];
		struct lwt_spake2 a, b;
		int err = 0;

		/* A's share has to exist before B can finish, so each side's
		 * time is the sum of its own calls. */
		t0 = now_s();
		err |= lwt_spake2_init(&a, LWT_SPAKE2_ROLE_A, ida, sizeof(ida) - 1, idb,
				       sizeof(idb) - 1, w);
		err |= lwt_spake2_start(&a, pa);
		t_a += now_s() - t0;
		t0 = now_s();
		err |= lwt_spake2_init(&b, LWT_SPAKE2_ROLE_B, ida, sizeof(ida) - 1, idb,
				       sizeof(idb) - 1, w);
		err |= lwt_spake2_start(&b, pb);
		err |= lwt_spake2_finish(&b, pa, sizeof(pa), ke_b, cb, want_ca);
		t_b += now_s() - t0;
		t0 = now_s();
		err |= lwt_spake2_finish(&a, pb, sizeof(pb), ke_a, ca, want_cb);
		t_a += now_s() - t0;
		lwt_spake2_clear(&a);
		lwt_spake2_clear(&b);
		if (err || !lwt_crypto_equal(ke_a, ke_b, sizeof(ke_a)) ||
		    !lwt_crypto_equal(ca, want_ca, 32) || !lwt_crypto_equal(cb, want_cb, 32)) {
			fprintf(stderr, "spake2-bench: exchange %d did not confirm\n", i);
			return 1;
		}
		t0 = now_s();
		err |= lwt_spake2_init_pw(&a, LWT_SPAKE2_ROLE_A, ida, sizeof(ida) - 1, idb,
					  sizeof(idb) - 1, &pw);
		err |= lwt_spake2_start(&a, pa);
		t_pa += now_s() - t0;
		t0 = now_s();
		err |= lwt_spake2_init_pw(&b, LWT_SPAKE2_ROLE_B, ida, sizeof(ida) - 1, idb,
					  sizeof(idb) - 1, &pw);
		err |= lwt_spake2_start(&b, pb);
		err |= lwt_spake2_finish(&b, pa, sizeof(pa), ke_b, cb, want_ca);
		t_pb += now_s() - t0;
		t0 = now_s();
		err |= lwt_spake2_finish(&a, pb, sizeof(pb), ke_a, ca, want_cb);
		t_pa += now_s() - t0;
		lwt_spake2_clear(&a);
		lwt_spake2_clear(&b);
		if (err || !lwt_crypto_equal(ke_a, ke_b, sizeof(ke_a)) ||
		    !lwt_crypto_equal(ca, want_ca, 32) || !lwt_crypto_equal(cb, want_cb, 32)) {
			fprintf(stderr, "spake2-bench: exchange %d (prepared password) did not confirm\n",
				i);
			return 1;
		}
		t0 = now_s();
		err |= lwt_x25519_keygen(priv_a, pub_a);
		err |= lwt_x25519_keygen(priv_b, pub_b);
		err |= lwt_x25519_shared(priv_a, pub_b, dh_a);
		err |= lwt_x25519_shared(priv_b, pub_a, dh_b);
		t_x += now_s() - t0;
		if (err || memcmp(dh_a, dh_b, 32)) {
			fprintf(stderr, "spake2-bench: X25519 exchange %d failed\n", i);
			return 1;
		}
	}
	printf("SPAKE2-P256 over %d exchanges: client (A) %.1f us/side, server (B) %.1f us/side; "
	       "prepared password: A %.1f us/side, B %.1f us/side; X25519: %.1f us/side\n", rounds,
	       t_a / rounds * 1e6, t_b / rounds * 1e6, t_pa / rounds * 1e6, t_pb / rounds * 1e6,
	       t_x / rounds / 2 * 1e6);
	return 0;
}
