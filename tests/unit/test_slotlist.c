// SPDX-License-Identifier: MIT
/* The control thread's slot sets (user/slotlist.h) against a model (every
 * slot's phase and tunnel IP in an array, what the walks over every slot
 * read): after each step the active list holds exactly the slots not free,
 * in the order they became active, each once; the up count and the dense up
 * array hold exactly the slots up with their IPs; every slot in hello or up
 * with an IP is among the candidates for that IP. Then a long random run
 * (takeovers, reconnects, expiry, kills, reconcile repairs all come down to
 * such changes) checks the same after every change, and a walk of the
 * active list that frees the slot in hand as it goes, and a session's
 * next tick (due). */
#include <stdbool.h>
#include <stdlib.h>
#include "testutil.h"
#include "daemon.h"

#define SLOTS 64
#define IP(n) (0x0a000000u + (uint32_t)(n))

static int m_phase[SLOTS];
static uint32_t m_ip[SLOTS];
static int m_order[SLOTS], m_norder;	/* model of the active list */

static void model_set(int slot, int phase, uint32_t ip)
{
	int k;

	if (m_phase[slot] == LWT_PH_FREE && phase != LWT_PH_FREE)
		m_order[m_norder++] = slot;
	if (m_phase[slot] != LWT_PH_FREE && phase == LWT_PH_FREE) {
		for (k = 0; m_order[k] != slot; k++)
			;
		for (; k + 1 < m_norder; k++)
			m_order[k] = m_order[k + 1];
		m_norder--;
	}
	m_phase[slot] = phase;
	m_ip[slot] = ip;
}

static bool candidate(const struct lwt_slotlist *l, uint32_t ip, int slot)
{
	struct lwt_slotidx_it it = lwt_slotlist_ip_first(l, ip);
	int j;

	while ((j = lwt_slotidx_next(&l->by_ip, &it)) >= 0)
		if (j == slot)
			return true;
	return false;
}

static void check(const struct lwt_slotlist *l, int step)
{
	int i, k, nup = 0;

	for (i = lwt_slotlist_first(l), k = 0; i >= 0; i = lwt_slotlist_next(l, i), k++)
		if (k >= m_norder || m_order[k] != i)
			fail_msg("step %d: active list at %d holds slot %d, want %d", step, k, i,
				 k < m_norder ? m_order[k] : -1);
	if (k != m_norder || l->nactive != m_norder)
		fail_msg("step %d: %d active listed (count %d), want %d", step, k, l->nactive, m_norder);
	for (i = 0; i < SLOTS; i++) {
		bool up = m_phase[i] == LWT_PH_UP;

		nup += up;
		if (up != (l->up_at[i] >= 0) ||
		    (up && (l->up_slot[l->up_at[i]] != i || l->up_ip[l->up_at[i]] != m_ip[i])))
			fail_msg("step %d: slot %d up %d, in the up array at %d", step, i, up, l->up_at[i]);
		if ((m_phase[i] == LWT_PH_HELLO || m_phase[i] == LWT_PH_UP) && m_ip[i] &&
		    !candidate(l, m_ip[i], i))
			fail_msg("step %d: slot %d (phase %d) not found by its IP", step, i, m_phase[i]);
	}
	if (l->nup != nup)
		fail_msg("step %d: up count %d, want %d", step, l->nup, nup);
}

static void reset(struct lwt_slotlist *l)
{
	memset(m_phase, 0, sizeof(m_phase));
	memset(m_ip, 0, sizeof(m_ip));
	m_norder = 0;
	assert_int_equal(lwt_slotlist_init(l, NULL, SLOTS), 0);
}

static const struct step {
	int slot, phase;
	uint32_t ip;
} steps[] = {
	/*  1 */ { 3, LWT_PH_TCP, 0 },		/* a flow: active, not up */
	/*  2 */ { 3, LWT_PH_HELLO, IP(2) },	/* HELLO_ACK: by IP */
	/*  3 */ { 5, LWT_PH_TCP, 0 },
	/*  4 */ { 3, LWT_PH_UP, IP(2) },	/* confirmed: up */
	/*  5 */ { 5, LWT_PH_HELLO, IP(2) },	/* a claimant of the same IP */
	/*  6 */ { 3, LWT_PH_CLOSING, IP(2) },	/* taken over: the old one goes */
	/*  7 */ { 5, LWT_PH_UP, IP(2) },
	/*  8 */ { 3, LWT_PH_FREE, IP(2) },	/* KILLED */
	/*  9 */ { 3, LWT_PH_TCP, 0 },		/* the slot again, at the end */
	/* 10 */ { 0, LWT_PH_TCP, 0 },
	/* 11 */ { 0, LWT_PH_HELLO, IP(7) },
	/* 12 */ { 0, LWT_PH_UP, IP(7) },
	/* 13 */ { 5, LWT_PH_CLOSING, IP(2) },	/* expired */
	/* 14 */ { 5, LWT_PH_FREE, IP(2) },
	/* 15 */ { 0, LWT_PH_CLOSING, IP(7) },	/* reset */
	/* 16 */ { 3, LWT_PH_FREE, 0 },		/* handshake timed out, freed */
	/* 17 */ { 0, LWT_PH_FREE, IP(7) },
	/* 18 */ { 63, LWT_PH_UP, IP(9) },	/* reconcile: straight to up */
	/* 19 */ { 63, LWT_PH_UP, IP(10) },	/* the IP changes while up */
};

static void test_steps(void **state)
{
	struct lwt_slotlist l;
	size_t n;

	(void)state;
	reset(&l);
	for (n = 0; n < sizeof(steps) / sizeof(steps[0]); n++) {
		lwt_slotlist_set(&l, steps[n].slot, steps[n].phase, steps[n].ip);
		model_set(steps[n].slot, steps[n].phase, steps[n].ip);
		check(&l, (int)n + 1);
	}
	assert_int_equal(l.nup, 1);
	assert_false(candidate(&l, IP(9), 63));	/* its old IP is gone */
	assert_false(candidate(&l, IP(2), 5));
	lwt_slotlist_destroy(&l);
}

/* Random phase walks of every slot (the lifecycle's edges and a few that
 * only repairs take), and IPs from a small range so that slots share them. */
static void test_random(void **state)
{
	static const int next[][3] = {
		[LWT_PH_FREE] = { LWT_PH_TCP, LWT_PH_TCP, LWT_PH_CLOSING },
		[LWT_PH_TCP] = { LWT_PH_HELLO, LWT_PH_CLOSING, LWT_PH_TCP },
		[LWT_PH_HELLO] = { LWT_PH_UP, LWT_PH_CLOSING, LWT_PH_HELLO },
		[LWT_PH_UP] = { LWT_PH_CLOSING, LWT_PH_UP, LWT_PH_FREE },
		[LWT_PH_CLOSING] = { LWT_PH_FREE, LWT_PH_FREE, LWT_PH_CLOSING },
	};
	struct lwt_slotlist l;
	unsigned int seed = 7;
	int n;

	(void)state;
	reset(&l);
	for (n = 0; n < 200000; n++) {
		int slot = rand_r(&seed) % SLOTS, ph = next[m_phase[slot]][rand_r(&seed) % 3];
		uint32_t ip = m_ip[slot];

		if (ph == LWT_PH_TCP)
			ip = 0;
		else if (ph == LWT_PH_HELLO && !ip)
			ip = IP(1 + rand_r(&seed) % 16);
		lwt_slotlist_set(&l, slot, ph, ip);
		model_set(slot, ph, ip);
		if (n % 97 == 0 || n > 199000)
			check(&l, n);
	}
	check(&l, n);
	lwt_slotlist_destroy(&l);
}

/* tick()'s walk: the slot in hand may go free before the next is read. */
static void test_walk_frees(void **state)
{
	struct lwt_slotlist l;
	int i, nx, seen = 0;

	(void)state;
	reset(&l);
	for (i = 0; i < SLOTS; i += 3)
		lwt_slotlist_set(&l, i, LWT_PH_UP, IP(i + 1));
	for (i = lwt_slotlist_first(&l); i >= 0; i = nx) {
		lwt_slotlist_set(&l, i, LWT_PH_FREE, 0);
		nx = lwt_slotlist_next(&l, i);
		seen++;
	}
	assert_int_equal(seen, (SLOTS + 2) / 3);
	assert_int_equal(l.nactive, 0);
	assert_int_equal(l.nup, 0);
	assert_int_equal(lwt_slotlist_first(&l), -1);
	lwt_slotlist_destroy(&l);
}

/* A session's next tick: passed by until due; a phase change, or a wake,
 * makes it due at once; a slot not up is never passed by. */
static void test_due(void **state)
{
	struct lwt_slotlist l;

	(void)state;
	reset(&l);
	lwt_slotlist_set(&l, 4, LWT_PH_HELLO, IP(4));
	lwt_slotlist_set_due(&l, 4, 100);
	assert_false(lwt_slotlist_resting(&l, 4, 50));	/* in handshake: every tick */
	lwt_slotlist_set(&l, 4, LWT_PH_UP, IP(4));
	assert_false(lwt_slotlist_resting(&l, 4, 50));	/* just up: due at once */
	lwt_slotlist_set_due(&l, 4, 100);
	assert_true(lwt_slotlist_resting(&l, 4, 50));
	assert_false(lwt_slotlist_resting(&l, 4, 100));
	lwt_slotlist_set(&l, 4, LWT_PH_UP, IP(4));	/* no change: still resting */
	assert_true(lwt_slotlist_resting(&l, 4, 99));
	lwt_slotlist_wake(&l, 4);
	assert_false(lwt_slotlist_resting(&l, 4, 50));
	lwt_slotlist_set_due(&l, 4, 100);
	lwt_slotlist_set(&l, 4, LWT_PH_CLOSING, IP(4));
	lwt_slotlist_set(&l, 4, LWT_PH_FREE, 0);
	lwt_slotlist_set(&l, 4, LWT_PH_TCP, 0);
	lwt_slotlist_set(&l, 4, LWT_PH_HELLO, IP(5));
	lwt_slotlist_set(&l, 4, LWT_PH_UP, IP(5));
	assert_false(lwt_slotlist_resting(&l, 4, 50));	/* a new session: due at once */
	lwt_slotlist_destroy(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_walk_frees),
		cmocka_unit_test(test_due),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
