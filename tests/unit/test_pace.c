// SPDX-License-Identifier: MIT
/* The pacer of faketcp_pacing_us (pace.c), on a clock of its own: never
 * more than one segment an interval on average, no burst after idle, a GSO
 * read of many segments paid for before the next, off means no limit. */
#include "testutil.h"
#include "pace.h"

#define US 1000ull

/* Segments a sender gets out in span_ns, polling every step_ns and
 * sending one segment (or burst segments) whenever allowed. */
static uint64_t run(struct lwt_pace *p, uint64_t t0, uint64_t span_ns, uint64_t step_ns,
		    uint64_t burst)
{
	uint64_t sent = 0;

	for (uint64_t t = t0; t < t0 + span_ns; t += step_ns) {
		if (lwt_pace_allow(p, t)) {
			lwt_pace_charge(p, burst);
			sent += burst;
		}
	}
	return sent;
}

static void test_rate(void **state)
{
	struct lwt_pace p;

	/* 1 ms pacing, 1 s, polled every 10 us: 1000 segments (the first
	 * goes at once), not one more. */
	lwt_pace_init(&p, 1000 * US, 0);
	assert_int_equal(run(&p, 0, 1000000 * US, 10 * US, 1), 1000);
	/* polled late (every 1.5 ms): slower, never faster */
	lwt_pace_init(&p, 1000 * US, 0);
	assert_true(run(&p, 0, 1000000 * US, 1500 * US, 1) <= 1000);
}

static void test_no_burst_after_idle(void **state)
{
	struct lwt_pace p;

	lwt_pace_init(&p, 100 * US, 0);
	assert_int_equal(lwt_pace_allow(&p, 0), 1);
	lwt_pace_charge(&p, 1);
	assert_int_equal(lwt_pace_allow(&p, 50 * US), 0);
	assert_int_equal(lwt_pace_next(&p, 50 * US), 100 * US);
	/* a second of silence earns one segment, not ten thousand */
	assert_int_equal(lwt_pace_allow(&p, 1000000 * US), 1);
	lwt_pace_charge(&p, 1);
	assert_int_equal(lwt_pace_allow(&p, 1000000 * US + 1), 0);
}

static void test_gso_read_paid(void **state)
{
	struct lwt_pace p;

	/* one read cut into 45 segments: the next waits 45 intervals */
	lwt_pace_init(&p, 100 * US, 0);
	assert_int_equal(lwt_pace_allow(&p, 0), 1);
	lwt_pace_charge(&p, 45);
	assert_int_equal(lwt_pace_allow(&p, 4400 * US), 0);
	assert_int_equal(lwt_pace_next(&p, 4400 * US), 4500 * US);
	assert_int_equal(lwt_pace_allow(&p, 4500 * US), 1);
	/* and on average: 45-segment reads every time allowed, over 1 s */
	lwt_pace_init(&p, 100 * US, 0);
	assert_true(run(&p, 0, 1000000 * US, 10 * US, 45) <= 10000 + 45);
}

static void test_off(void **state)
{
	struct lwt_pace p;

	lwt_pace_init(&p, 0, 0);
	assert_true(lwt_pace_allow(&p, 0) >= 32);
	lwt_pace_charge(&p, 1000);
	assert_true(lwt_pace_allow(&p, 0) >= 32);
	assert_int_equal(lwt_pace_next(&p, 7), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_no_burst_after_idle),
		cmocka_unit_test(test_gso_read_paid),
		cmocka_unit_test(test_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
