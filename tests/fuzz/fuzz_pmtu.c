// SPDX-License-Identifier: MIT
/* libFuzzer target: what path MTU discovery takes from the network
 * (pmtu_search.c). The input's first part is one message as a raw ICMP
 * socket reads it (unauthenticated: anyone can send one); the rest a
 * script of search steps: new rounds, acks naming any index and size,
 * round ends with or without timeout, ICMP hints of any MTU.
 *
 * Invariants:
 *  - a parsed ICMP message names a non-zero MTU, and the parser read no
 *    byte past the length given (ASan: the input is copied to an exact
 *    allocation);
 *  - after every step: base <= lo <= hi <= the search's first hi, a round
 *    has 1..16 sizes, strictly increasing, the first lo and the last hi,
 *    none outside [lo, hi]; lo moves only to a size that was acked (or to
 *    the base after a hint below it), and then it is proven (lo_ok);
 *  - an ack is taken only for a size of the running round at its index. */
#include <stddef.h>
#include <stdint.h>

#include "pmtu_search.h"
#include "fuzz.h"

#define BASE 576

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct lwt_pmtu_search s;
	struct lwt_pmtu_icmp q;
	const uint8_t *p;
	uint8_t *msg;
	size_t n = fz_take(&f, fz_u8(&f), &p);
	int hi0, k, step;

	msg = malloc(n ? n : 1);
	if (!msg)
		return 0;
	memcpy(msg, p, n);
	if (lwt_pmtu_icmp_parse(msg, n, &q) == 0)
		FZ_CHECK(q.mtu > 0 && n >= 20 + 8 + 20 + 4, "mtu %d len %zu\n", q.mtu, n);
	free(msg);

	hi0 = BASE + fz_u16(&f) % 9000;
	lwt_pmtu_search_init(&s, BASE, fz_u8(&f) & 1, hi0);
	for (step = 0; step < 256 && f.n; step++) {
		int lo = s.lo, j, sz;
		bool top, ok, acked_lo = false;

		switch (fz_u8(&f) % 4) {
		case 0:
			lwt_pmtu_search_round(&s);
			break;
		case 1:
			j = fz_u8(&f) % 20;
			sz = fz_u8(&f) & 1 && j < s.n ? s.size[j] : fz_u16(&f);
			ok = lwt_pmtu_search_ack(&s, j, sz, &top);
			FZ_CHECK(ok == (j < s.n && s.size[j] == sz), "ack %d of %d -> %d\n", j, sz, ok);
			break;
		case 2: {
			uint32_t acked = s.acked;
			int best = 0;

			for (k = 0; k < s.n; k++)
				if (acked & (1u << k) && s.size[k] > best)
					best = s.size[k];
			lwt_pmtu_search_collect(&s, fz_u8(&f) & 1);
			FZ_CHECK(s.lo == lo || s.lo == best, "lo %d -> %d, best acked %d\n", lo, s.lo, best);
			acked_lo = s.lo != lo;
			break;
		}
		case 3:
			sz = fz_u16(&f);
			lwt_pmtu_search_hint(&s, sz < BASE ? BASE : sz, BASE);
			FZ_CHECK(s.lo == lo || s.lo == BASE || s.lo_ok, "hint: lo %d -> %d\n", lo, s.lo);
			break;
		}
		FZ_CHECK(BASE <= s.lo && s.lo <= s.hi && s.hi <= hi0, "lo %d hi %d of %d\n", s.lo, s.hi, hi0);
		FZ_CHECK(!acked_lo || s.lo_ok, "lo %d moved but unproven\n", s.lo);
		FZ_CHECK(s.n >= 0 && s.n <= LWT_PMTU_ROUND_MAX, "n %d\n", s.n);
		if (s.n) {
			FZ_CHECK(s.size[0] == s.lo && s.size[s.n - 1] == s.hi, "round %d..%d of %d..%d\n",
				 s.size[0], s.size[s.n - 1], s.lo, s.hi);
			for (k = 1; k < s.n; k++)
				FZ_CHECK(s.size[k] > s.size[k - 1], "size %d: %d\n", k, s.size[k]);
		}
	}
	return 0;
}
