// SPDX-License-Identifier: MIT
/* reconcile.c: the data plane's and the control thread's views of a slot
 * made to agree once a second. Each numbered case sets one disagreement
 * (as a lost event or command would leave it), runs the check twice a
 * second apart, and states the repair: the phase afterwards, the command
 * sent to the slot's poller, and the repair count. A disagreement that is
 * gone by the second check (an event still in the queue) is not touched. */
#include <stdatomic.h>
#include <stdlib.h>
#include "testutil.h"
#include "daemon.h"

#define SEC 1000000000ull

struct rcase {
	int phase;		/* control thread's view */
	int state;		/* data plane's view */
	int want_phase;		/* after two checks */
	int want_cmd;		/* command queued for the slot, -1 none */
	unsigned int repairs;
};

static const struct rcase cases[] = {
	/* 1: agree, free */
	{ LWT_PH_FREE, LWT_SLOT_FREE, LWT_PH_FREE, -1, 0 },
	/* 2: agree, a session */
	{ LWT_PH_UP, LWT_SLOT_SESSION, LWT_PH_UP, -1, 0 },
	/* 3: agree, a handshake */
	{ LWT_PH_HELLO, LWT_SLOT_HANDSHAKE, LWT_PH_HELLO, -1, 0 },
	/* 4: NEW_FLOW lost: the data plane holds a slot control thinks free */
	{ LWT_PH_FREE, LWT_SLOT_HANDSHAKE, LWT_PH_CLOSING, LWT_CMD_KILL, 1 },
	/* 5: ... also once the session is installed */
	{ LWT_PH_FREE, LWT_SLOT_SESSION, LWT_PH_CLOSING, LWT_CMD_KILL, 1 },
	/* 6: KILLED lost: control waits for a slot the data plane freed */
	{ LWT_PH_CLOSING, LWT_SLOT_FREE, LWT_PH_FREE, -1, 1 },
	/* 7: KILL lost: the data plane still holds a slot being closed */
	{ LWT_PH_CLOSING, LWT_SLOT_SESSION, LWT_PH_CLOSING, LWT_CMD_KILL, 1 },
};

static struct lwt_daemon *daemon_new(int nslots)
{
	struct lwt_daemon *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->nslots = nslots;
	d->npollers = 1;
	d->slots = calloc(nslots, sizeof(*d->slots));
	assert_non_null(d->slots);
	assert_int_equal(lwt_msgq_init(&d->to_dp[0], 64), 0);
	return d;
}

static void daemon_free(struct lwt_daemon *d)
{
	lwt_msgq_uninit(&d->to_dp[0]);
	free(d->slots);
	free(d);
}

/* The one command queued, or -1; fails on more than one. */
static int queued_cmd(struct lwt_daemon *d, int slot)
{
	struct lwt_msg m;
	int type = -1;

	while (lwt_msgq_pop(&d->to_dp[0], &m)) {
		assert_int_equal(type, -1);
		assert_int_equal(m.slot, slot);
		type = m.type;
	}
	return type;
}

static void test_cases(void **state)
{
	/* The check keeps its own once-a-second clock: every case starts a
	 * whole number of seconds after the last. */
	uint64_t now = 1000 * SEC;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rcase *c = &cases[i];
		struct lwt_daemon *d = daemon_new(4);
		struct lwt_slot *s = &d->slots[2];
		int cmd;

		s->c.phase = c->phase;
		atomic_store(&s->state, c->state);
		atomic_store(&s->gen, 7);
		lwt_reconcile_tick(d, now);
		if (d->slot_repairs || s->c.phase != c->phase || queued_cmd(d, 2) != -1)
			fail_msg("case %zu: repaired at the first sight", i + 1);
		lwt_reconcile_tick(d, now + SEC);
		cmd = queued_cmd(d, 2);
		if (s->c.phase != c->want_phase || cmd != c->want_cmd ||
		    d->slot_repairs != c->repairs)
			fail_msg("case %zu: phase %d cmd %d repairs %llu, want %d %d %u", i + 1,
				 s->c.phase, cmd, (unsigned long long)d->slot_repairs, c->want_phase,
				 c->want_cmd, c->repairs);
		for (int j = 0; j < d->nslots; j++)
			if (j != 2 && d->slots[j].c.phase != LWT_PH_FREE)
				fail_msg("case %zu: slot %d touched", i + 1, j);
		daemon_free(d);
		now += 2 * SEC;
	}
}

/* An event in flight: the views differ at one check and agree at the next
 * (or differ about another generation): nothing is repaired. */
static void test_transient(void **state)
{
	uint64_t now = 5000 * SEC;
	struct lwt_daemon *d = daemon_new(2);
	struct lwt_slot *s = &d->slots[1];

	atomic_store(&s->state, LWT_SLOT_HANDSHAKE);
	atomic_store(&s->gen, 1);
	lwt_reconcile_tick(d, now);
	s->c.phase = LWT_PH_TCP;	/* the NEW_FLOW arrived */
	lwt_reconcile_tick(d, now + SEC);
	s->c.phase = LWT_PH_FREE;	/* freed; the data plane took a new flow */
	atomic_store(&s->gen, 2);
	lwt_reconcile_tick(d, now + 2 * SEC);
	s->c.phase = LWT_PH_TCP;
	lwt_reconcile_tick(d, now + 3 * SEC);
	/* a disagreement about generation 2, then about generation 3 */
	s->c.phase = LWT_PH_FREE;
	lwt_reconcile_tick(d, now + 4 * SEC);
	atomic_store(&s->gen, 3);
	lwt_reconcile_tick(d, now + 5 * SEC);
	assert_int_equal(d->slot_repairs, 0);
	assert_int_equal(queued_cmd(d, 1), -1);
	/* ... and the same one again: repaired. */
	lwt_reconcile_tick(d, now + 6 * SEC);
	assert_int_equal(d->slot_repairs, 1);
	assert_int_equal(queued_cmd(d, 1), LWT_CMD_KILL);
	daemon_free(d);
}

/* Checks closer together than a second do not count as two. */
static void test_once_a_second(void **state)
{
	uint64_t now = 9000 * SEC;
	struct lwt_daemon *d = daemon_new(1);

	atomic_store(&d->slots[0].state, LWT_SLOT_SESSION);
	for (int i = 0; i < 50; i++)
		lwt_reconcile_tick(d, now + i * (SEC / 100));
	assert_int_equal(d->slot_repairs, 0);
	lwt_reconcile_tick(d, now + SEC);
	assert_int_equal(d->slot_repairs, 1);
	daemon_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_transient),
		cmocka_unit_test(test_once_a_second),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
