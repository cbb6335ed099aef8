// SPDX-License-Identifier: MIT
/* The FEC pool (fecpool.h) on its own and under the coders: the bound
 * holds, the oldest incomplete group gives way and is counted, an
 * encoder's block is never taken, freed blocks are reused, and the bytes
 * in use go back to 0 once the groups are done. */
#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "fec.h"
#include "fecpool.h"

#define SZ 1000
#define PKT 1400

static struct { int n, tags[64]; void *owner[64]; } ev;

static void on_evict(void *owner, struct lwt_fecpool_blk *b, int tag)
{
	(void)b;
	assert_true(ev.n < 64);
	ev.owner[ev.n] = owner;
	ev.tags[ev.n++] = tag;
}

static uint64_t in_use(const struct lwt_fecpool *p)
{
	struct lwt_fecpool_stats st;

	lwt_fecpool_stats(p, &st);
	return st.in_use;
}

static uint64_t stat_of(const struct lwt_fecpool *p, int which)
{
	struct lwt_fecpool_stats st;

	lwt_fecpool_stats(p, &st);
	return which == 0 ? st.evictions : which == 1 ? st.refused : which == 2 ? st.reused : st.groups;
}

/* 1-4: three blocks fit; the fourth evicts the oldest (tag 0) and the
 * next the then oldest (tag 1), each counted, the bound never passed. */
static void test_bound_and_eviction(void **state)
{
	size_t bound = 3 * lwt_fecpool_cost(SZ);
	struct lwt_fecpool *p = lwt_fecpool_create(bound);
	struct lwt_fecpool_blk *b[5];
	int owner;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	for (int i = 0; i < 5; i++) {
		b[i] = lwt_fecpool_get(p, SZ, &owner, i, on_evict);
		assert_non_null(b[i]);
		memset(b[i]->data, i, SZ);		/* the whole block is ours */
		assert_true(in_use(p) <= bound);	/* 1 */
	}
	assert_int_equal(ev.n, 2);			/* 2 */
	assert_int_equal(ev.tags[0], 0);		/* 3: oldest first */
	assert_int_equal(ev.tags[1], 1);
	assert_ptr_equal(ev.owner[0], &owner);
	assert_int_equal(stat_of(p, 0), 2);		/* 4: counted */
	assert_int_equal(stat_of(p, 3), 3);
	for (int i = 2; i < 5; i++)
		lwt_fecpool_put(p, b[i]);
	assert_int_equal(in_use(p), 0);
	lwt_fecpool_destroy(p);
}

/* 5-7: blocks without an evict callback (an encoder's) are never taken:
 * with only those held, a new block is refused and counted; the oldest
 * evictable one behind them goes instead. */
static void test_not_evictable(void **state)
{
	struct lwt_fecpool *p = lwt_fecpool_create(2 * lwt_fecpool_cost(SZ));
	struct lwt_fecpool_blk *a, *b, *c;
	int owner;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	a = lwt_fecpool_get(p, SZ, &owner, 0, NULL);
	b = lwt_fecpool_get(p, SZ, &owner, 1, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(lwt_fecpool_get(p, SZ, &owner, 2, on_evict));	/* 5 */
	assert_int_equal(stat_of(p, 1), 1);
	assert_int_equal(ev.n, 0);
	lwt_fecpool_put(p, b);
	b = lwt_fecpool_get(p, SZ, &owner, 3, on_evict);
	assert_non_null(b);
	c = lwt_fecpool_get(p, SZ, &owner, 4, on_evict);		/* 6: takes b */
	assert_non_null(c);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.tags[0], 3);
	assert_int_equal(stat_of(p, 0), 1);				/* 7 */
	lwt_fecpool_put(p, a);
	lwt_fecpool_put(p, c);
	assert_int_equal(in_use(p), 0);
	lwt_fecpool_destroy(p);
}

/* 8-9: a freed block is the next one handed out (no new memory), counted
 * in reused; a block larger than the bound is refused. */
static void test_reuse(void **state)
{
	struct lwt_fecpool *p = lwt_fecpool_create(64 * lwt_fecpool_cost(SZ));
	struct lwt_fecpool_blk *a, *b;

	(void)state;
	a = lwt_fecpool_get(p, SZ, NULL, 0, on_evict);
	assert_non_null(a);
	lwt_fecpool_put(p, a);
	assert_int_equal(in_use(p), 0);
	b = lwt_fecpool_get(p, SZ, NULL, 0, on_evict);
	assert_ptr_equal(a, b);						/* 8 */
	assert_int_equal(stat_of(p, 2), 1);
	lwt_fecpool_put(p, b);
	assert_null(lwt_fecpool_get(p, 65 * lwt_fecpool_cost(SZ), NULL, 0, on_evict));	/* 9 */
	lwt_fecpool_destroy(p);
}

/* Shards of groups of 4+2 from a real encoder. */
static struct { uint8_t m[64][sizeof(struct lwt_fec_hdr) + PKT + 2]; size_t len[64]; int n; } cap;
static int delivered;

static void emit(void *ctx, const struct lwt_fec_hdr *h, const uint8_t *p, size_t len)
{
	(void)ctx;
	assert_true(cap.n < 64);
	memcpy(cap.m[cap.n], h, sizeof(*h));
	memcpy(cap.m[cap.n] + sizeof(*h), p, len);
	cap.len[cap.n++] = sizeof(*h) + len;
}

static void deliver(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	(void)p;
	(void)len;
	delivered++;
}

/* 10-15: decoders sharing a pool of room for 3 groups. A complete group
 * holds nothing once its last data shard is in. Ten groups, each
 * missing data shard 0 and its parity held back: each stays incomplete,
 * the oldest give way (7 evictions, never more than the bound in use),
 * their data shards still delivered. The parity of the newest group still
 * rebuilds its lost shard; an evicted group's parity rebuilds nothing.
 * Complete groups give their blocks back at once; after expiry the pool
 * holds nothing. */
static void test_decoders_share(void **state)
{
	size_t grp = lwt_fec_dec_group_bytes(4, 2, PKT), bound = 3 * lwt_fecpool_cost(grp);
	struct lwt_fecpool *p = lwt_fecpool_create(bound);
	struct lwt_fec_enc *e = lwt_fec_enc_create(4, 2, 2, PKT, 500);
	struct lwt_fec_dec *d1 = lwt_fec_dec_create(4, 2, PKT, 1000000);
	struct lwt_fec_dec *d2 = lwt_fec_dec_create(4, 2, PKT, 1000000);
	uint8_t pkt[PKT];
	int g, i;
	static uint8_t keep[10][2][sizeof(struct lwt_fec_hdr) + PKT + 2];
	size_t keep_len[10][2];

	(void)state;
	assert_non_null(p);
	lwt_fec_dec_set_pool(d1, p);
	lwt_fec_dec_set_pool(d2, p);
	memset(pkt, 0x5a, sizeof(pkt));
	/* 10: a group whose data shards all came gives its block back at
	 * once, before its parity; its parity then takes none. */
	cap.n = 0;
	for (i = 0; i < 4; i++)
		lwt_fec_enc_add(e, pkt, 1000, 0, emit, NULL);
	for (i = 0; i < 4; i++) {
		assert_int_equal(lwt_fec_dec_input(d1, cap.m[i], cap.len[i], 0, deliver, NULL), 0);
		assert_int_equal(in_use(p), i < 3 ? lwt_fecpool_cost(grp) : 0);
	}
	for (i = 4; i < 6; i++)
		assert_int_equal(lwt_fec_dec_input(d1, cap.m[i], cap.len[i], 0, deliver, NULL), 0);
	assert_int_equal(in_use(p), 0);
	delivered = 0;
	for (g = 0; g < 10; g++) {
		struct lwt_fec_dec *d = g % 2 ? d2 : d1;	/* encoder group g + 1 */

		cap.n = 0;
		for (i = 0; i < 4; i++)
			lwt_fec_enc_add(e, pkt, 1000, 0, emit, NULL);
		assert_int_equal(cap.n, 6);
		for (i = 1; i < 4; i++)
			assert_int_equal(lwt_fec_dec_input(d, cap.m[i], cap.len[i], 1 + g, deliver, NULL), 0);
		memcpy(keep[g][0], cap.m[4], cap.len[4]);
		memcpy(keep[g][1], cap.m[5], cap.len[5]);
		keep_len[g][0] = cap.len[4];
		keep_len[g][1] = cap.len[5];
		assert_true(in_use(p) <= bound);			/* 10 */
	}
	assert_int_equal(delivered, 30);				/* 11 */
	assert_int_equal(stat_of(p, 0), 7);				/* 12 */
	assert_int_equal(stat_of(p, 3), 3);
	/* 13: the newest group (9, decoder 2) is rebuilt from its parity. */
	assert_int_equal(lwt_fec_dec_input(d2, keep[9][0], keep_len[9][0], 9, deliver, NULL), 0);
	assert_int_equal(delivered, 31);
	assert_int_equal(lwt_fec_dec_stats(d2)->packets_rebuilt, 1);
	assert_int_equal(stat_of(p, 3), 2);	/* complete: its block is back */
	/* 14: an evicted group (0, decoder 1) has nothing to rebuild from. */
	assert_int_equal(lwt_fec_dec_input(d1, keep[0][0], keep_len[0][0], 0, deliver, NULL), 0);
	assert_int_equal(lwt_fec_dec_input(d1, keep[0][1], keep_len[0][1], 0, deliver, NULL), 0);
	assert_int_equal(delivered, 31);
	assert_int_equal(lwt_fec_dec_stats(d1)->packets_rebuilt, 0);
	assert_true(in_use(p) <= bound);
	/* 15: expiry closes the rest; the pool holds nothing. */
	lwt_fec_dec_expire(d1, UINT64_MAX / 2);
	lwt_fec_dec_expire(d2, UINT64_MAX / 2);
	assert_int_equal(in_use(p), 0);
	assert_int_equal(stat_of(p, 3), 0);
	assert_int_equal(lwt_fec_dec_pending(d1) + lwt_fec_dec_pending(d2), 0);
	lwt_fec_dec_destroy(d1);
	lwt_fec_dec_destroy(d2);
	lwt_fec_enc_destroy(e);
	lwt_fecpool_destroy(p);
}

/* 16-18: an encoder holds a block only while its group is open; with no
 * room its group goes out without parity (refused counted), and the next
 * group with room has parity again. */
static void test_encoder(void **state)
{
	size_t blk = (size_t)(4 + 2) * (PKT + 2);
	struct lwt_fecpool *p = lwt_fecpool_create(lwt_fecpool_cost(blk));
	struct lwt_fec_enc *e = lwt_fec_enc_create(4, 2, 2, PKT, 500);
	struct lwt_fecpool_blk *hog;
	uint8_t pkt[100] = { 1 };

	(void)state;
	lwt_fec_enc_set_pool(e, p);
	cap.n = 0;
	lwt_fec_enc_add(e, pkt, sizeof(pkt), 0, emit, NULL);
	assert_true(in_use(p) > 0);					/* 16 */
	lwt_fec_enc_flush(e, emit, NULL);
	assert_int_equal(cap.n, 3);
	assert_int_equal(in_use(p), 0);
	hog = lwt_fecpool_get(p, blk, NULL, 0, NULL);
	assert_non_null(hog);
	cap.n = 0;
	lwt_fec_enc_add(e, pkt, sizeof(pkt), 0, emit, NULL);
	lwt_fec_enc_flush(e, emit, NULL);
	assert_int_equal(cap.n, 1);					/* 17 */
	assert_int_equal(stat_of(p, 1), 1);
	lwt_fecpool_put(p, hog);
	cap.n = 0;
	lwt_fec_enc_add(e, pkt, sizeof(pkt), 0, emit, NULL);
	lwt_fec_enc_flush(e, emit, NULL);
	assert_int_equal(cap.n, 3);					/* 18 */
	assert_int_equal(in_use(p), 0);
	lwt_fec_enc_destroy(e);
	lwt_fecpool_destroy(p);
}

/* 19: the default bound grows with the peers and the receive queue, and
 * is at least 1 MB. */
static void test_default_bytes(void **state)
{
	(void)state;
	assert_int_equal(lwt_fecpool_default_bytes(1, 10, 5, 1, 1200), 1u << 20);
	assert_true(lwt_fecpool_default_bytes(10000, 5000, 10, 3, 1400) >
		    lwt_fecpool_default_bytes(100, 5000, 10, 3, 1400));
	assert_true(lwt_fecpool_default_bytes(100, 50000, 10, 3, 1400) >
		    lwt_fecpool_default_bytes(100, 5000, 10, 3, 1400));
	assert_true(lwt_fecpool_default_bytes(100, 5000, 10, 3, 1400) >=
		    (500 + 200) * (size_t)13 * 1402);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_and_eviction),
		cmocka_unit_test(test_not_evictable),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_decoders_share),
		cmocka_unit_test(test_encoder),
		cmocka_unit_test(test_default_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
