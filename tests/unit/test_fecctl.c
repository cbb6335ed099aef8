// SPDX-License-Identifier: MIT
/* Adaptive FEC control (fecctl.h): random loss raises parity at once and it
 * falls one step a report; while the RTT stands above the path's minimum
 * (at this report or the last) only the loss last measured without a queue
 * earns parity; the path minimum is windowed;
 * a new session towards a known peer starts where the last one was. */
#include "testutil.h"
#include "fecctl.h"

#define MS 1000u
#define S 1000000000ull

/* One report: RTT samples before it is judged, the loss it reports. */
struct step {
	uint32_t rtt_us;	/* a sample taken after the report; 0 = none */
	uint32_t ppm;
	int want_parity;
	uint64_t want_holds;
};

static void run(const char *name, const struct step *t, size_t n, uint32_t base_rtt, int ceiling)
{
	struct lwt_fecctl f;
	uint64_t now = 1 * S;

	lwt_fecctl_init(&f, 0, 0);
	lwt_fecctl_rtt(&f, base_rtt, now);	/* the idle path, as first seen */
	for (size_t i = 0; i < n; i++) {
		int p;

		now += S;
		lwt_fecctl_report(&f, t[i].ppm, now);
		if (t[i].rtt_us)
			lwt_fecctl_rtt(&f, t[i].rtt_us, now + 1000);
		p = lwt_fecctl_decide(&f, 10, ceiling);
		if (p != t[i].want_parity ||
		    atomic_load(&f.congestion_holds) != t[i].want_holds)
			fail_msg("%s step %zu: parity %d (want %d), holds %llu (want %llu)", name,
				 i + 1, p, t[i].want_parity,
				 (unsigned long long)atomic_load(&f.congestion_holds),
				 (unsigned long long)t[i].want_holds);
	}
}

static void test_random_loss(void **state)
{
	static const struct step t[] = {
		{ 40 * MS, 0, 0, 0 },		/* 1: clean */
		{ 41 * MS, 50000, 3, 0 },	/* 2: 5% at the base RTT: up at once */
		{ 40 * MS, 50000, 3, 0 },	/* 3 */
		{ 40 * MS, 0, 2, 0 },		/* 4: clean again: one step a report */
		{ 0, 0, 1, 0 },			/* 5: probe lost: judged anyway */
		{ 40 * MS, 0, 0, 0 },		/* 6 */
		{ 40 * MS, 0, 0, 0 },		/* 7: stays at 0 */
		{ 59 * MS, 10000, 2, 0 },	/* 8: +19 ms < max(5, 20) ms: random */
	};

	run("random", t, sizeof(t) / sizeof(t[0]), 40 * MS, 3);
}

/* Ceiling 6 here: 1% wants 2, 2% and 3% want 3, 5% wants 4, 20% wants 6. */
static void test_congestion(void **state)
{
	static const struct step t[] = {
		{ 10 * MS, 0, 0, 0 },		/* 1: clean, 10 ms path: queue over 15 ms */
		{ 80 * MS, 20000, 0, 1 },	/* 2: 2% loss, srtt 45 ms: held at 0 */
		{ 120 * MS, 30000, 0, 2 },	/* 3 */
		{ 10 * MS, 0, 0, 2 },		/* 4: queue drained, no loss; srtt 46 ms */
		{ 10 * MS, 0, 0, 2 },		/* 5: 28 ms */
		{ 10 * MS, 20000, 0, 3 },	/* 6: 19 ms: still a queue */
		{ 10 * MS, 50000, 0, 4 },	/* 7: 14.5 ms, but a queue at the last
						 * report: still held (a sawtooth's
						 * empty moment is not a clean path) */
		{ 10 * MS, 50000, 4, 4 },	/* 8: 12.25 ms twice: random 5%, up at once */
		{ 200 * MS, 200000, 4, 5 },	/* 9: a queue too: only the 5% earns parity */
		{ 200 * MS, 10000, 3, 5 },	/* 10: 1% under a queue: random is at most 1% */
		{ 200 * MS, 200000, 2, 6 },	/* 11: so 20% more is congestion */
		{ 200 * MS, 200000, 2, 7 },	/* 12: held at 1%'s need */
	};

	run("congestion", t, sizeof(t) / sizeof(t[0]), 10 * MS, 6);
}

static void test_threshold(void **state)
{
	static const struct { uint32_t min, srtt; bool want; } t[] = {
		{ 1 * MS, 1900, false },	/* 1: +0.9 ms: under the 1 ms floor */
		{ 1 * MS, 2100, true },		/* 2: +1.1 ms */
		{ 40 * MS, 59 * MS, false },	/* 3: +19 ms < 20 ms (half of min) */
		{ 40 * MS, 61 * MS, true },	/* 4: +21 ms */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lwt_fecctl f;

		lwt_fecctl_init(&f, 0, 0);
		lwt_fecctl_rtt(&f, t[i].min, S);
		f.srtt_us = t[i].srtt;
		if (lwt_fecctl_congested(&f) != t[i].want)
			fail_msg("threshold case %zu", i + 1);
	}
}

/* A path minimum from long ago does not outlive two windows. */
static void test_min_window(void **state)
{
	struct lwt_fecctl f;
	uint64_t now = S;

	lwt_fecctl_init(&f, 0, 0);
	lwt_fecctl_rtt(&f, 1 * MS, now);
	for (int i = 0; i < 80; i++) {
		now += S;
		lwt_fecctl_rtt(&f, 50 * MS, now);	/* a new, longer route */
	}
	assert_int_equal(atomic_load(&f.pub_min_us), 50 * MS);
	assert_false(lwt_fecctl_congested(&f));
}

static void test_start_memory(void **state)
{
	struct lwt_fecctl f;

	assert_int_equal(lwt_fecctl_start(0x0a000002, 3), 0);	/* unknown peer: low start */
	lwt_fecctl_init(&f, 0x0a000002, 0);
	lwt_fecctl_rtt(&f, 40 * MS, S);
	/* A session's first report of loss waits for a second one judged
	 * clean too (it may have caught a queue's empty moment). */
	lwt_fecctl_report(&f, 50000, 2 * S);
	assert_int_equal(lwt_fecctl_decide(&f, 10, 3), 0);
	lwt_fecctl_rtt(&f, 40 * MS, 3 * S);
	lwt_fecctl_report(&f, 50000, 3 * S);
	assert_int_equal(lwt_fecctl_decide(&f, 10, 3), 3);
	assert_int_equal(lwt_fecctl_start(0x0a000002, 3), 3);
	assert_int_equal(lwt_fecctl_start(0x0a000002, 2), 2);	/* a lower ceiling now */
	assert_int_equal(lwt_fecctl_start(0x0a000003, 3), 0);	/* another peer */
	assert_int_equal(lwt_fecctl_start(0, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_loss),
		cmocka_unit_test(test_congestion),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_min_window),
		cmocka_unit_test(test_start_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
