// SPDX-License-Identifier: MIT
/* A poller's free slots and handshake count (user/slotfree.h) against a
 * model (the state of every slot, what the walk over a poller's slots
 * read): for 1 to 3 pollers and slot counts around a word's edge, random
 * state changes of each poller's own slots; after each, every poller's
 * lowest free slot, free count and handshake count are the walk's. A
 * change of another poller's slot is not ours to count. */
#include <stdlib.h>
#include "testutil.h"
#include "daemon.h"
#include "slotfree.h"

#define MAXS 200

static int st[MAXS];

static void check(struct lwt_slotfree *f, int np, int nslots, int step)
{
	for (int p = 0; p < np; p++) {
		int first = -1, nfree = 0, nhs = 0;

		for (int i = p; i < nslots; i += np) {
			if (st[i] == LWT_SLOT_FREE && first < 0)
				first = i;
			nfree += st[i] == LWT_SLOT_FREE;
			nhs += st[i] == LWT_SLOT_HANDSHAKE;
		}
		if (lwt_slotfree_first(&f[p]) != first || atomic_load(&f[p].nfree) != nfree ||
		    f[p].nhs != nhs)
			fail_msg("np %d slots %d step %d poller %d: first %d free %d hs %d, want %d %d %d",
				 np, nslots, step, p, lwt_slotfree_first(&f[p]), atomic_load(&f[p].nfree),
				 f[p].nhs, first, nfree, nhs);
	}
}

static void test_model(void **state)
{
	static const int counts[] = { 1, 2, 63, 64, 65, 129, MAXS };
	unsigned int seed = 11;

	(void)state;
	for (int np = 1; np <= 3; np++)
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			struct lwt_slotfree f[3];
			int nslots = counts[c];

			memset(st, 0, sizeof(st));
			for (int p = 0; p < np; p++)
				assert_int_equal(lwt_slotfree_init(&f[p], p, np, nslots), 0);
			check(f, np, nslots, 0);
			for (int n = 1; n <= 20000; n++) {
				int i = rand_r(&seed) % nslots, to = rand_r(&seed) % 3;

				/* The owner changes it; another poller's call is ignored. */
				if (np > 1 && rand_r(&seed) % 8 == 0) {
					lwt_slotfree_move(&f[(i + 1) % np], i, st[i], to);
				} else {
					lwt_slotfree_move(&f[i % np], i, st[i], to);
					st[i] = to;
				}
				if (n % 13 == 0)
					check(f, np, nslots, n);
			}
			check(f, np, nslots, -1);
			for (int p = 0; p < np; p++)
				lwt_slotfree_uninit(&f[p]);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
