// SPDX-License-Identifier: MIT
/* The poller's per-slot timer heap (slottimer.h) against a plain array:
 * 200000 random sets, cancels and pops over 300 slots; every pop is the
 * earliest due deadline, next() is the earliest of all, touched slots are
 * listed once each. */
#include <stdlib.h>
#include "testutil.h"
#include "slottimer.h"

#define N 300

static uint64_t model[N];	/* 0: no timer */

static uint64_t model_min(int *slot)
{
	uint64_t m = 0;

	for (int i = 0; i < N; i++)
		if (model[i] && (!m || model[i] < m)) {
			m = model[i];
			*slot = i;
		}
	return m;
}

static void test_against_model(void **state)
{
	struct lwt_stimer t;
	uint64_t now = 1000;
	int op, slot;

	(void)state;
	srand(7);
	assert_int_equal(lwt_stimer_init(&t, N), 0);
	for (op = 0; op < 200000; op++) {
		int r = rand() % 10, s = rand() % N, ms;
		uint64_t m;

		if (r < 6) {
			uint64_t at = now + (uint64_t)(rand() % 5000);

			lwt_stimer_set(&t, s, at);
			model[s] = at;
		} else if (r < 7) {
			lwt_stimer_set(&t, s, 0);
			model[s] = 0;
		} else {
			now += (uint64_t)(rand() % 300);
			while ((slot = lwt_stimer_pop_due(&t, now)) >= 0) {
				m = model_min(&ms);
				assert_true(m && m <= now);
				if (model[slot] != m)
					fail_msg("op %d: popped slot %d at %llu, earliest is %llu", op,
						 slot, (unsigned long long)model[slot],
						 (unsigned long long)m);
				model[slot] = 0;
			}
			m = model_min(&ms);
			assert_true(!m || m > now);
		}
		m = model_min(&ms);
		if (lwt_stimer_next(&t) != m)
			fail_msg("op %d: next %llu, model %llu", op,
				 (unsigned long long)lwt_stimer_next(&t), (unsigned long long)m);
	}
	for (int i = 0; i < 5; i++)
		lwt_stimer_touch(&t, 7);
	lwt_stimer_touch(&t, 9);
	lwt_stimer_touch(&t, N);	/* out of range: ignored */
	assert_int_equal(lwt_stimer_ndirty(&t), 2);
	assert_int_equal(lwt_stimer_dirty(&t, 0), 7);
	assert_int_equal(lwt_stimer_dirty(&t, 1), 9);
	lwt_stimer_clear_dirty(&t);
	assert_int_equal(lwt_stimer_ndirty(&t), 0);
	lwt_stimer_touch(&t, 7);
	assert_int_equal(lwt_stimer_ndirty(&t), 1);
	lwt_stimer_uninit(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
