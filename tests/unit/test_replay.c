// SPDX-License-Identifier: MIT
/* Anti-replay window, as a numbered table in the spirit of WireGuard's
 * counter selftest: each step feeds one counter and states the verdict.
 * The window is the documented one (README: a 4096-packet anti-replay
 * window), written here as a number, not as LWT_REPLAY_WINDOW: a header that
 * shrank or grew the window must fail these tests. */
#include <stdio.h>
#include "testutil.h"
#include "replay.h"

#define W 4096	/* counters accepted behind the highest seen, the highest included */

struct step {
	uint64_t counter;
	bool accept;
};

static const struct step steps[] = {
	{ 0, true },		/* 1: counter 0 is valid */
	{ 0, false },		/* 2: ...once */
	{ 1, true },		/* 3 */
	{ 1, false },		/* 4 */
	{ 9, true },		/* 5: a gap */
	{ 8, true },		/* 6: late, inside the window */
	{ 7, true },		/* 7 */
	{ 7, false },		/* 8 */
	{ W + 9, true },	/* 9: jump so 9 is just inside (top = W+10) */
	{ 10, true },		/* 10: top - 10 == W: oldest still allowed */
	{ 9, false },		/* 11: already seen */
	{ 8, false },		/* 12: outside now */
	{ W + 8, true },	/* 13 */
	{ W + 9, false },	/* 14 */
	{ 2 * W + 100, true },	/* 15: a jump larger than the window clears it */
	{ W + 101, true },	/* 16: top - c == W: just inside, never seen */
	{ W + 100, false },	/* 17: just outside */
	{ 2 * W + 99, true },	/* 18 */
	{ 2 * W + 99, false },	/* 19 */
	{ 2 * W + 101, true },	/* 20 */
	{ 2 * W + 164, true },	/* 21: next bitmap word */
	{ 2 * W + 165, true },	/* 22 */
	{ 2 * W + 164, false },	/* 23 */
	{ UINT64_MAX - 1, true }, /* 24: huge counters */
	{ UINT64_MAX - 1, false }, /* 25 */
	{ 5, false },		/* 26: ancient */
};

static void test_table(void **state)
{
	struct lwt_replay r;

	lwt_replay_init(&r);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bool chk = lwt_replay_check(&r, steps[i].counter);
		bool upd = lwt_replay_update(&r, steps[i].counter);

		if (chk != steps[i].accept || upd != steps[i].accept)
			fail_msg("step %zu: counter %llu: check %d update %d, want %d", i + 1,
				 (unsigned long long)steps[i].counter, chk, upd, steps[i].accept);
	}
}

static void test_check_is_readonly(void **state)
{
	struct lwt_replay r, copy;

	lwt_replay_init(&r);
	lwt_replay_update(&r, 100);
	copy = r;
	assert_true(lwt_replay_check(&r, 101));
	assert_true(lwt_replay_check(&r, 50));
	assert_false(lwt_replay_check(&r, 100));
	assert_memory_equal(&r, &copy, sizeof(r));
}

static void test_every_order_in_window(void **state)
{
	struct lwt_replay r;
	uint64_t i;

	/* Counters 0..W+W/2 in a scrambled order; each accepted once unless it
	 * fell out of the window before it arrived. */
	lwt_replay_init(&r);
	for (i = 0; i < 3 * W / 2; i += 2)
		assert_true(lwt_replay_update(&r, i));
	for (i = 1; i < 3 * W / 2; i += 2) {
		bool want = (3 * W / 2 - 1) - i <= W;	/* top is 3W/2 - 1 */

		assert_int_equal(lwt_replay_update(&r, i), want);
	}
	for (i = 0; i < 3 * W / 2; i++)
		assert_false(lwt_replay_update(&r, i));
}

/* The boundary, spelled out: with 10000 the highest counter accepted, 10000 -
 * 4095 is the oldest still accepted (once), 10000 - 4096 is refused though
 * never seen; both checked read-only first, and from a cold start. */
static void test_window_is_4096(void **state)
{
	struct lwt_replay r;
	uint64_t c;

	lwt_replay_init(&r);
	assert_true(lwt_replay_update(&r, 10000));
	assert_true(lwt_replay_check(&r, 10000 - 4095));
	assert_false(lwt_replay_check(&r, 10000 - 4096));
	assert_false(lwt_replay_check(&r, 10000 - 4097));
	assert_true(lwt_replay_update(&r, 10000 - 4095));
	assert_false(lwt_replay_update(&r, 10000 - 4095));
	assert_false(lwt_replay_update(&r, 10000 - 4096));
	/* Everything between is accepted exactly once. */
	for (c = 10000 - 4094; c < 10000; c++)
		assert_true(lwt_replay_update(&r, c));
	for (c = 10000 - 4096; c <= 10000; c++)
		assert_false(lwt_replay_update(&r, c));
	/* One step up moves the edge by one. */
	assert_true(lwt_replay_update(&r, 10001));
	assert_false(lwt_replay_check(&r, 10001 - 4096));
	/* Cold start: 0 stays acceptable up to the highest counter 4095. */
	lwt_replay_init(&r);
	assert_true(lwt_replay_update(&r, 4095));
	assert_true(lwt_replay_update(&r, 0));
	lwt_replay_init(&r);
	assert_true(lwt_replay_update(&r, 4096));
	assert_false(lwt_replay_update(&r, 0));
	assert_true(lwt_replay_update(&r, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_check_is_readonly),
		cmocka_unit_test(test_every_order_in_window),
		cmocka_unit_test(test_window_is_4096),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
