// SPDX-License-Identifier: MIT
/* The slot index (user/slotidx.h): a numbered table of adds, removals and
 * lookups against a model (keys published in an array, as the daemon's
 * slots publish theirs); many keys on one probe path (a seed of 0 and keys
 * chosen to collide); tombstones that must not cut a path; and readers on
 * other threads while a writer churns, which never get a wrong slot and
 * never miss a key that stays. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include "testutil.h"
#include "slotidx.h"

#define SLOTS 64
static _Atomic uint64_t pub[SLOTS];	/* each slot's published key */

/* The daemon's lookup: candidates checked by the published key. */
static int find(const struct lwt_slotidx *t, uint64_t key)
{
	struct lwt_slotidx_it it = lwt_slotidx_first(t, key);
	int i;

	while ((i = lwt_slotidx_next(t, &it)) >= 0)
		if (i < SLOTS && atomic_load(&pub[i]) == key)
			return i;
	return -1;
}

static void publish(struct lwt_slotidx *t, int slot, uint64_t key)
{
	uint64_t old = atomic_load(&pub[slot]);

	atomic_store(&pub[slot], key);
	lwt_slotidx_del(t, old, slot);
	lwt_slotidx_add(t, key, slot);
}

struct step {
	int slot;		/* -1: lookup only */
	uint64_t key;		/* what slot publishes (0: withdraws) */
	uint64_t look;		/* then looked up ... */
	int want;		/* ... found in this slot (-1: none) */
};

static const struct step steps[] = {
	{ -1, 0, 7, -1 },		/* 1: empty */
	{ 3, 7, 7, 3 },			/* 2 */
	{ 5, 9, 9, 5 },			/* 3 */
	{ -1, 0, 7, 3 },		/* 4: still there */
	{ 3, 0, 7, -1 },		/* 5: withdrawn */
	{ -1, 0, 9, 5 },		/* 6: the other stays */
	{ 3, 11, 11, 3 },		/* 7: the slot takes another key */
	{ 5, 7, 7, 5 },			/* 8: a key moves to another slot */
	{ -1, 0, 9, -1 },		/* 9 */
	{ 3, 0, 11, -1 },		/* 10 */
	{ 5, 0, 7, -1 },		/* 11: empty again */
};

static void test_table(void **state)
{
	struct lwt_slotidx t;
	unsigned int i;

	memset(pub, 0, sizeof(pub));
	assert_int_equal(lwt_slotidx_init(&t, SLOTS), 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];

		if (s->slot >= 0)
			publish(&t, s->slot, s->key);
		if (find(&t, s->look) != s->want)
			fail_msg("step %u: key %llu found in %d, expected %d", i + 1,
				 (unsigned long long)s->look, find(&t, s->look), s->want);
	}
	for (i = 0; i <= t.mask; i++)
		assert_int_equal(atomic_load(&t.e[i]), 0);	/* all gone, no tombstone left */
	lwt_slotidx_destroy(&t);
}

/* Keys that share one home: the path grows, removals in its middle leave
 * tombstones that must not cut it, and a removal at its end clears them. */
static void test_one_path(void **state)
{
	struct lwt_slotidx t;
	uint64_t keys[SLOTS];
	int n = 0, i;
	uint64_t k;

	memset(pub, 0, sizeof(pub));
	assert_int_equal(lwt_slotidx_init(&t, SLOTS), 0);
	t.seed = 0;
	for (k = 1; n < 16; k++)
		if (lwt_slotidx_home(&t, k) == lwt_slotidx_home(&t, 1))
			keys[n++] = k;
	for (i = 0; i < n; i++)
		publish(&t, i, keys[i]);
	for (i = 0; i < n; i++)
		assert_int_equal(find(&t, keys[i]), i);
	for (i = 0; i < n; i += 2)
		publish(&t, i, 0);	/* every other one: tombstones on the path */
	for (i = 0; i < n; i++)
		assert_int_equal(find(&t, keys[i]), i % 2 ? i : -1);
	for (i = 0; i < n; i += 2)
		publish(&t, i, keys[i]);	/* back, into the tombstones */
	for (i = 0; i < n; i++)
		assert_int_equal(find(&t, keys[i]), i);
	for (i = n - 1; i >= 0; i--)
		publish(&t, i, 0);
	for (i = 0; i <= (int)t.mask; i++)
		assert_int_equal(atomic_load(&t.e[i]), 0);
	lwt_slotidx_destroy(&t);
}

/* Readers against a churning writer: slots 0..31 keep their keys all the
 * time and must always be found; slots 32..63 change keys; a hit is
 * always the slot publishing the key (find checks it, as the daemon does,
 * so a reader that got a wrong candidate would count a miss here). */
static struct lwt_slotidx ct;
static atomic_bool stop;
static atomic_ulong misses, lookups;

static void *reader(void *arg)
{
	unsigned long m = 0, l = 0;

	while (!atomic_load(&stop)) {
		for (int i = 0; i < 32; i++, l++)
			if (find(&ct, 1000 + (uint64_t)i) != i)
				m++;
	}
	atomic_fetch_add(&misses, m);
	atomic_fetch_add(&lookups, l);
	return NULL;
}

static void test_readers_during_churn(void **state)
{
	pthread_t th[2];
	int i, r;

	memset(pub, 0, sizeof(pub));
	assert_int_equal(lwt_slotidx_init(&ct, SLOTS), 0);
	for (i = 0; i < 32; i++)
		publish(&ct, i, 1000 + (uint64_t)i);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, NULL), 0);
	for (r = 0; r < 200000; r++) {
		int s = 32 + r % 32;

		publish(&ct, s, r % 3 ? (uint64_t)(5000 + r) : 0);
	}
	atomic_store(&stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_true(atomic_load(&lookups) > 0);
	if (atomic_load(&misses))
		fail_msg("%lu of %lu lookups of steady keys missed", atomic_load(&misses),
			 atomic_load(&lookups));
	lwt_slotidx_destroy(&ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_one_path),
		cmocka_unit_test(test_readers_during_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
