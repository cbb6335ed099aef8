// SPDX-License-Identifier: MIT
/* FEC: every erasure pattern up to m losses rebuilds; m+1 does not; nothing
 * is delivered twice; shards of groups pushed out of the window are late; and
 * the decoder's memory, measured on the heap, is what its shape sets at
 * create time and does not grow with the groups it sees (fec.h: a fixed pool,
 * nothing allocated per packet). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "fec.h"
#include "fecpool.h"

#define PKT 1600		/* the largest inner packet these tests protect */
#define SHARD (PKT + 2)

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED_HEAP 1
#endif
#endif

#ifdef SANITIZED_HEAP
/* The sanitizer's allocator replaces glibc's: ask it (sanitizer/allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Bytes of heap in use by this process now: glibc's arena chunks plus its
 * mmap()ed chunks (the decoder's pool is big enough to be one), or the
 * sanitizer's count when its allocator is in use. */
static size_t heap_in_use(void)
{
#ifdef SANITIZED_HEAP
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#endif
}

#define MAXS 64

struct shard {
	uint8_t msg[sizeof(struct lwt_fec_hdr) + SHARD];
	size_t len;
};

struct cap {
	struct shard s[MAXS];
	int n;
};

static void emit(void *ctx, const struct lwt_fec_hdr *h, const uint8_t *p, size_t len)
{
	struct cap *c = ctx;

	assert_true(c->n < MAXS);
	memcpy(c->s[c->n].msg, h, sizeof(*h));
	memcpy(c->s[c->n].msg + sizeof(*h), p, len);
	c->s[c->n].len = sizeof(*h) + len;
	c->n++;
}

struct got {
	uint8_t pkts[MAXS][PKT];
	size_t lens[MAXS];
	int n;
};

static void deliver(void *ctx, const uint8_t *p, size_t len)
{
	struct got *g = ctx;

	assert_true(g->n < MAXS);
	memcpy(g->pkts[g->n], p, len);
	g->lens[g->n++] = len;
}

static uint8_t pkts[MAXS][PKT];
static size_t plens[MAXS];

static void make_packets(int n, unsigned int seed)
{
	srand(seed);
	for (int i = 0; i < n; i++) {
		plens[i] = 1 + rand() % 1500;
		for (size_t j = 0; j < plens[i]; j++)
			pkts[i][j] = (uint8_t)rand();
		pkts[i][0] = (uint8_t)i;	/* tag: which packet */
	}
}

/* Encode npkt packets with (k, m); lose the shards in mask; check delivery.
 * Returns the number of distinct original packets delivered intact. */
static int run(int k, int m, int npkt, const bool *lost, struct lwt_fec_stats *st)
{
	static struct cap c;
	static struct got g;
	struct lwt_fec_enc *e = lwt_fec_enc_create(k, m, m, PKT, 500);
	struct lwt_fec_dec *d = lwt_fec_dec_create(k, m, PKT, 1000000000ull);
	bool seen[MAXS] = { false };
	int order[MAXS], i, n = 0;

	c.n = 0;
	g.n = 0;
	for (i = 0; i < npkt; i++)
		assert_int_equal(lwt_fec_enc_add(e, pkts[i], plens[i], 0, emit, &c), 0);
	lwt_fec_enc_flush(e, emit, &c);
	/* Shuffle arrival order. */
	for (i = 0; i < c.n; i++)
		order[i] = i;
	for (i = c.n - 1; i > 0; i--) {
		int j = rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < c.n; i++)
		if (!lost[order[i]])
			assert_int_equal(lwt_fec_dec_input(d, c.s[order[i]].msg, c.s[order[i]].len, 1,
							   deliver, &g), 0);
	for (i = 0; i < g.n; i++) {
		int id = g.pkts[i][0];

		assert_true(id < npkt);
		assert_false(seen[id]);	/* never twice */
		assert_int_equal(g.lens[i], plens[id]);
		assert_memory_equal(g.pkts[i], pkts[id], plens[id]);
		seen[id] = true;
		n++;
	}
	lwt_fec_dec_expire(d, 2000000000ull);
	*st = *lwt_fec_dec_stats(d);
	lwt_fec_enc_destroy(e);
	lwt_fec_dec_destroy(d);
	return n;
}

/* Every pattern of up to `maxloss` lost shards among n (recursive). */
static void patterns(int k, int m, int npkt, int n, int start, int left, bool *lost, int *count)
{
	struct lwt_fec_stats st;
	int got = run(k, m, npkt, lost, &st), lostdata = 0;

	for (int i = 0; i < npkt; i++)
		lostdata += lost[i];
	if (got != npkt)
		fail_msg("%d+%d, %d packets: only %d delivered", k, m, npkt, got);
	/* Shards arrive shuffled: parity ahead of data may rebuild a packet
	 * that was only late (its real copy is then a counted duplicate). */
	if (st.packets_rebuilt < (uint64_t)lostdata || st.groups_unrecoverable ||
	    st.packets_rebuilt != (uint64_t)lostdata + st.duplicates) {
		printf("%d+%d, %d packets, lost:", k, m, npkt);
		for (int i = 0; i < n; i++)
			if (lost[i])
				printf(" %d", i);
		fail_msg("rebuilt %lu (want %d), unrecoverable %lu", (unsigned long)st.packets_rebuilt,
			 lostdata, (unsigned long)st.groups_unrecoverable);
	}
	(*count)++;
	if (!left)
		return;
	for (int i = start; i < n; i++) {
		lost[i] = true;
		patterns(k, m, npkt, n, i + 1, left - 1, lost, count);
		lost[i] = false;
	}
}

static void test_all_patterns(void **state)
{
	static const struct { int k, m, npkt; } shapes[] = {
		{ 1, 1, 1 }, { 5, 1, 5 }, { 10, 3, 10 }, { 10, 3, 3 }, { 8, 2, 5 }, { 4, 4, 4 },
	};

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		bool lost[MAXS] = { false };
		int count = 0, n = shapes[s].npkt + shapes[s].m;

		make_packets(shapes[s].npkt, (unsigned int)s + 1);
		patterns(shapes[s].k, shapes[s].m, shapes[s].npkt, n, 0, shapes[s].m, lost, &count);
		printf("shape %d+%d with %d packets: %d erasure patterns rebuilt\n", shapes[s].k,
		       shapes[s].m, shapes[s].npkt, count);
	}
}

static void test_20_10_random(void **state)
{
	bool lost[MAXS];
	struct lwt_fec_stats st;

	make_packets(20, 99);
	for (int t = 0; t < 400; t++) {
		int nl = rand() % 11;

		memset(lost, 0, sizeof(lost));
		for (int i = 0; i < nl;) {
			int j = rand() % 30;

			if (!lost[j]) {
				lost[j] = true;
				i++;
			}
		}
		assert_int_equal(run(20, 10, 20, lost, &st), 20);
	}
}

static void test_too_many_losses(void **state)
{
	static const struct { int k, m; } shapes[] = { { 1, 1 }, { 5, 1 }, { 10, 3 }, { 20, 10 } };

	for (size_t s = 0; s < 4; s++) {
		int k = shapes[s].k, m = shapes[s].m;
		bool lost[MAXS] = { false };
		struct lwt_fec_stats st;

		make_packets(k, 7);
		/* m+1 data shards lost: they stay lost, the rest arrive. */
		for (int i = 0; i <= m && i < k; i++)
			lost[i] = true;
		if (m + 1 > k)
			lost[k] = true;	/* 1+1: lose the data and the parity */
		int got = run(k, m, k, lost, &st);

		assert_int_equal(got, k - (m + 1 < k ? m + 1 : k));
		assert_int_equal(st.packets_rebuilt, 0);
		/* 1+1 losing both shards: nothing arrives, nothing to count. */
		assert_int_equal(st.groups_unrecoverable, m + 1 > k ? 0 : 1);
	}
}

/* An encoder's output fed straight to a decoder; deliveries only counted. */
struct pipe {
	struct lwt_fec_dec *d;
	uint64_t now;
	int delivered;
	size_t bytes;
};

static void count_deliver(void *ctx, const uint8_t *p, size_t len)
{
	struct pipe *pp = ctx;

	pp->delivered++;
	pp->bytes += len;
}

static void emit_to_dec(void *ctx, const struct lwt_fec_hdr *h, const uint8_t *p, size_t len)
{
	static uint8_t msg[sizeof(struct lwt_fec_hdr) + SHARD];
	struct pipe *pp = ctx;

	memcpy(msg, h, sizeof(*h));
	memcpy(msg + sizeof(*h), p, len);
	assert_int_equal(lwt_fec_dec_input(pp->d, msg, sizeof(*h) + len, pp->now, count_deliver, pp),
			 0);
}

static void test_duplicates_and_late(void **state)
{
	static struct cap c;
	static struct got g;
	struct lwt_fec_enc *e = lwt_fec_enc_create(4, 2, 2, PKT, 500);
	struct lwt_fec_dec *d = lwt_fec_dec_create(4, 2, PKT, 1000000);
	int i;

	make_packets(4, 3);
	for (i = 0; i < 4; i++)
		lwt_fec_enc_add(e, pkts[i], plens[i], 0, emit, &c);
	assert_int_equal(c.n, 6);
	/* data 1 lost, parity rebuilds it; then data 1 arrives late: dropped. */
	for (i = 0; i < 6; i++)
		if (i != 1)
			lwt_fec_dec_input(d, c.s[i].msg, c.s[i].len, 1, deliver, &g);
	assert_int_equal(g.n, 4);
	lwt_fec_dec_input(d, c.s[1].msg, c.s[1].len, 1, deliver, &g);
	lwt_fec_dec_input(d, c.s[0].msg, c.s[0].len, 1, deliver, &g);
	assert_int_equal(g.n, 4);
	assert_int_equal(lwt_fec_dec_stats(d)->duplicates, 2);
	/* The next 40 groups (1..40) from the same encoder, straight into the
	 * decoder: every packet delivered once, none late; group 40 puts group
	 * 0 LWT_FEC_SLOTS or more behind, so its shards are then late. */
	struct pipe p = { .d = d };

	for (i = 0; i < 40 * 4; i++)
		assert_int_equal(lwt_fec_enc_add(e, pkts[i % 4], plens[i % 4], 0, emit_to_dec, &p), 0);
	assert_int_equal(p.delivered, 40 * 4);
	assert_int_equal(p.bytes, 40 * (plens[0] + plens[1] + plens[2] + plens[3]));
	assert_int_equal(lwt_fec_dec_stats(d)->late, 0);
	assert_int_equal(lwt_fec_dec_stats(d)->duplicates, 2);
	assert_int_equal(lwt_fec_dec_stats(d)->groups_unrecoverable, 0);
	assert_int_equal(lwt_fec_enc_stats(e)->groups_sent, 41);
	lwt_fec_dec_input(d, c.s[3].msg, c.s[3].len, 1, deliver, &g);
	assert_int_equal(g.n, 4);
	assert_int_equal(lwt_fec_dec_stats(d)->late, 1);
	/* A jump far ahead (group 1000) is delivered; group 40 is then late. */
	{
		struct lwt_fec_hdr h;

		memcpy(&h, c.s[2].msg, sizeof(h));
		h.group = htonl(1000);
		memcpy(c.s[2].msg, &h, sizeof(h));
		lwt_fec_dec_input(d, c.s[2].msg, c.s[2].len, 1, deliver, &g);
		assert_int_equal(g.n, 5);
		h.group = htonl(40);
		memcpy(c.s[2].msg, &h, sizeof(h));
		lwt_fec_dec_input(d, c.s[2].msg, c.s[2].len, 1, deliver, &g);
	}
	assert_int_equal(g.n, 5);
	assert_int_equal(lwt_fec_dec_stats(d)->late, 2);
	lwt_fec_enc_destroy(e);
	lwt_fec_dec_destroy(d);
}

static void test_malformed(void **state)
{
	struct lwt_fec_dec *d = lwt_fec_dec_create(10, 3, PKT, 1000000);
	static struct got g;
	uint8_t m[64] = { 0 };
	struct lwt_fec_hdr *h = (struct lwt_fec_hdr *)m;

	assert_int_equal(lwt_fec_dec_input(d, m, 5, 0, deliver, &g), -EBADMSG);	/* 1 short */
	h->index = 10;
	assert_int_equal(lwt_fec_dec_input(d, m, 20, 0, deliver, &g), -EBADMSG);	/* 2 data index >= max_k */
	h->index = 0;
	h->flags = LWT_FEC_F_PARITY;
	h->k = 3;
	h->m = 1;
	h->index = 1;
	h->shard_len = htons(10);
	assert_int_equal(lwt_fec_dec_input(d, m, 20, 0, deliver, &g), -EBADMSG);	/* 3 parity index < k */
	h->index = 3;
	h->shard_len = htons(11);
	assert_int_equal(lwt_fec_dec_input(d, m, 20, 0, deliver, &g), -EBADMSG);	/* 4 wrong shard_len */
	h->flags = 0x80;
	assert_int_equal(lwt_fec_dec_input(d, m, 20, 0, deliver, &g), -EBADMSG);	/* 5 unknown flag */
	h->flags = 0;
	h->k = 0;
	h->m = 0;
	h->shard_len = 0;
	h->index = 0;
	assert_int_equal(lwt_fec_dec_input(d, m, 10, 0, deliver, &g), -EBADMSG);	/* 6 empty data */
	assert_int_equal(g.n, 0);
	lwt_fec_dec_destroy(d);
}

/* The decoder's memory, measured: a decoder holds no shard memory at
 * create time, whatever its shape (a few KiB of group bookkeeping); under
 * traffic its groups take blocks from its pool, at most lwt_fec_dec_slots()
 * groups of k+m shards of SHARD bytes (within LWT_FEC_DEC_BUDGET), through
 * 10000 groups each losing 5 of its 10 data shards (all unrecoverable, so
 * each holds its block until it is closed); once they expire every block
 * is back (what is left is the pool's cache of free blocks, at most an
 * eighth of that), and destroy gives back everything. */
#define DEC_POOL(k, m) ((size_t)lwt_fec_dec_slots(k, m, PKT) *				\
			lwt_fecpool_cost(lwt_fec_dec_group_bytes(k, m, PKT)))
#define DEC_FIXED ((size_t)16384)	/* the decoder itself and the allocator's overhead */

static size_t dec_footprint(int k, int m)
{
	size_t before = heap_in_use(), after;
	struct lwt_fec_dec *d = lwt_fec_dec_create(k, m, PKT, 1000000);

	assert_non_null(d);
	after = heap_in_use();
	lwt_fec_dec_destroy(d);
	assert_int_equal(heap_in_use(), before);
	return after - before;
}

static void test_bounded_flood(void **state)
{
	static struct cap c;
	static struct got g;
	struct lwt_fec_enc *e = lwt_fec_enc_create(10, 3, 3, PKT, 500);
	struct lwt_fec_dec *d;
	size_t m0, m1, m2, small, big, most = 0;
	int grp;

	(void)state;
	small = dec_footprint(1, 1);
	big = dec_footprint(20, 10);
	print_message("decoder footprint at create: 1+1 %zu bytes, 20+10 %zu bytes\n", small, big);
	assert_true(small <= DEC_FIXED);
	assert_true(big <= DEC_FIXED);

	make_packets(10, 5);
	/* One group first: the encoder's own pool and its cached block are
	 * not the decoder's. */
	c.n = 0;
	for (int i = 0; i < 10; i++)
		lwt_fec_enc_add(e, pkts[i], plens[i], 0, emit, &c);
	m0 = heap_in_use();
	d = lwt_fec_dec_create(10, 3, PKT, 1000000);
	assert_non_null(d);
	m1 = heap_in_use();
	assert_true(m1 - m0 <= DEC_FIXED);
	/* 10000 groups, each missing its first 5 data shards (unrecoverable). */
	for (grp = 0; grp < 10000; grp++) {
		c.n = 0;
		g.n = 0;
		for (int i = 0; i < 10; i++)
			lwt_fec_enc_add(e, pkts[i], plens[i], 0, emit, &c);
		for (int i = 5; i < c.n; i++)
			lwt_fec_dec_input(d, c.s[i].msg, c.s[i].len, (uint64_t)grp * 1000, deliver, &g);
		assert_int_equal(g.n, 5);
		if (heap_in_use() - m1 > most)
			most = heap_in_use() - m1;
	}
	print_message("decoder under the flood: at most %zu bytes above create (bound %zu)\n", most,
		      DEC_POOL(10, 3));
	assert_true(most <= DEC_POOL(10, 3) + 4096);
	assert_true(most >= DEC_POOL(10, 3) / 2);	/* the blocks were really held */
	lwt_fec_dec_expire(d, UINT64_MAX / 2);
	assert_int_equal(lwt_fec_dec_pending(d), 0);
	m2 = heap_in_use();
	assert_true(m2 - m1 <= DEC_POOL(10, 3) / 8 + 4096);
	assert_int_equal(lwt_fec_dec_stats(d)->groups_unrecoverable, 10000);
	assert_int_equal(lwt_fec_dec_stats(d)->shards_lost, 50000);
	assert_int_equal(lwt_fec_enc_stats(e)->groups_sent, 10001);
	assert_int_equal(lwt_fec_enc_stats(e)->parity_sent, 30003);
	lwt_fec_dec_destroy(d);
	assert_int_equal(heap_in_use(), m0);
	lwt_fec_enc_destroy(e);
}

static void test_flush_deadline(void **state)
{
	static struct cap c;
	struct lwt_fec_enc *e = lwt_fec_enc_create(10, 3, 3, PKT, 500);

	c.n = 0;
	make_packets(1, 9);
	assert_int_equal(lwt_fec_enc_deadline(e), 0);
	lwt_fec_enc_add(e, pkts[0], plens[0], 1000000, emit, &c);
	assert_int_equal(c.n, 1);	/* the data shard left at once */
	assert_int_equal(lwt_fec_enc_deadline(e), 1000000 + 500000);
	lwt_fec_enc_flush(e, emit, &c);
	assert_int_equal(c.n, 4);	/* 3 parity for a 1-packet group */
	assert_int_equal(lwt_fec_enc_deadline(e), 0);
	lwt_fec_enc_set_parity(e, 0);
	lwt_fec_enc_add(e, pkts[0], plens[0], 0, emit, &c);
	assert_int_equal(lwt_fec_enc_deadline(e), 0);	/* no parity, no timer */
	lwt_fec_enc_destroy(e);
}

/* Adaptive parity changes apply to groups that open afterwards: a group
 * opened at parity 0 (whose packets were never copied for coding) gets no
 * parity when the level rises mid-group, and one opened with parity keeps
 * it, rebuildable, when the level drops to 0 mid-group. */
static void test_parity_fixed_per_group(void **state)
{
	static struct cap c;
	static struct got g;
	struct lwt_fec_enc *e = lwt_fec_enc_create(4, 0, 2, PKT, 500);
	struct lwt_fec_dec *d = lwt_fec_dec_create(4, 2, PKT, 1000000000ull);

	c.n = 0;
	g.n = 0;
	make_packets(8, 21);
	assert_false(lwt_fec_enc_active(e));	/* parity 0, no group: plain IP */
	lwt_fec_enc_add(e, pkts[0], plens[0], 0, emit, &c);
	assert_true(lwt_fec_enc_active(e));	/* a group is open */
	lwt_fec_enc_set_parity(e, 2);
	for (int i = 1; i < 4; i++)
		lwt_fec_enc_add(e, pkts[i], plens[i], 0, emit, &c);
	assert_int_equal(c.n, 4);		/* no parity for that group */
	assert_int_equal(lwt_fec_enc_stats(e)->parity_sent, 0);
	/* Next group opens at 2; the level drops to 0 while it fills. */
	lwt_fec_enc_add(e, pkts[4], plens[4], 0, emit, &c);
	lwt_fec_enc_set_parity(e, 0);
	for (int i = 5; i < 8; i++)
		lwt_fec_enc_add(e, pkts[i], plens[i], 0, emit, &c);
	assert_int_equal(c.n, 10);		/* 4 data + 2 parity */
	assert_false(lwt_fec_enc_active(e));
	/* Lose two data shards of the second group: the parity rebuilds them. */
	for (int i = 4; i < 10; i++)
		if (i != 5 && i != 6)
			assert_int_equal(lwt_fec_dec_input(d, c.s[i].msg, c.s[i].len, 0, deliver, &g), 0);
	assert_int_equal(g.n, 4);
	for (int i = 0; i < 4; i++) {
		int id = g.pkts[i][0];

		assert_true(id >= 4 && id < 8);
		assert_int_equal(g.lens[i], plens[id]);
		assert_memory_equal(g.pkts[i], pkts[id], plens[id]);
	}
	lwt_fec_dec_destroy(d);
	lwt_fec_enc_destroy(e);
}

static void test_adaptive(void **state)
{
	static const struct { uint32_t ppm; int k, ceil, want_min, want_max; } t[] = {
		{ 0, 10, 3, 0, 0 },		/* 1: clean link: no parity */
		{ 500, 10, 3, 0, 0 },		/* 2: under 0.1% */
		{ 10000, 10, 5, 1, 3 },		/* 3: 1% */
		{ 50000, 10, 8, 3, 5 },		/* 4: 5% */
		{ 50000, 10, 2, 2, 2 },		/* 5: capped by the ceiling */
		{ 300000, 10, 10, 10, 10 },	/* 6: hopeless: ceiling */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int m = lwt_fec_adaptive_parity(t[i].ppm, t[i].k, t[i].ceil);

		if (m < t[i].want_min || m > t[i].want_max)
			fail_msg("adaptive case %zu: %d", i + 1, m);
	}
}

/* Jumbo packets (a TUN MTU of 9000): shards sized from the decoder's and
 * encoder's largest packet, a lost 8000-byte packet rebuilt; the decoder's
 * pool stays within LWT_FEC_DEC_BUDGET for the largest shape the server
 * accepts (32 shards a group), tracking fewer groups; a data shard longer
 * than a decoder's packets (a peer with a larger MTU) is delivered, not
 * kept; the encoder refuses a packet over its size. */
#define JUMBO 9000
static uint8_t jpkts[4][JUMBO];
static struct { uint8_t msg[4 + 3][sizeof(struct lwt_fec_hdr) + JUMBO + 2]; size_t len[7]; int n; } jc;
static struct { size_t len; int n; bool same; } jg;

static void jemit(void *ctx, const struct lwt_fec_hdr *h, const uint8_t *p, size_t len)
{
	(void)ctx;
	assert_true(jc.n < 7);
	memcpy(jc.msg[jc.n], h, sizeof(*h));
	memcpy(jc.msg[jc.n] + sizeof(*h), p, len);
	jc.len[jc.n++] = sizeof(*h) + len;
}

static void jdeliver(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	jg.len = len;
	jg.same = len == 8000 && !memcmp(p, jpkts[1], len);
	jg.n++;
}

static void test_jumbo(void **state)
{
	struct lwt_fec_enc *e = lwt_fec_enc_create(4, 3, 3, JUMBO, 500);
	struct lwt_fec_dec *d = lwt_fec_dec_create(4, 3, JUMBO, 1000000), *small;
	int i;

	(void)state;
	assert_non_null(e);
	assert_non_null(d);
	for (i = 0; i < 4; i++)
		memset(jpkts[i], 0x11 * (i + 1), JUMBO);
	assert_int_equal(lwt_fec_enc_add(e, jpkts[0], JUMBO + 1, 0, jemit, NULL), -EMSGSIZE);
	for (i = 0; i < 4; i++)
		assert_int_equal(lwt_fec_enc_add(e, jpkts[i], i == 1 ? 8000 : 100, 0, jemit, NULL), 0);
	assert_int_equal(jc.n, 7);		/* 4 data, 3 parity of 8002 bytes */
	assert_int_equal(jc.len[4], sizeof(struct lwt_fec_hdr) + 8002);
	/* Lose data shard 1 (the 8000-byte packet): rebuilt from parity. */
	for (i = 0; i < 7; i++)
		if (i != 1)
			assert_int_equal(lwt_fec_dec_input(d, jc.msg[i], jc.len[i], 1, jdeliver, NULL), 0);
	assert_int_equal(lwt_fec_dec_stats(d)->packets_rebuilt, 1);
	assert_true(jg.same);
	/* A decoder for 1400-byte packets: the 8000-byte data shard is
	 * delivered as it is; the group's parity is refused. */
	small = lwt_fec_dec_create(4, 3, 1400, 1000000);
	assert_non_null(small);
	jg.n = 0;
	assert_int_equal(lwt_fec_dec_input(small, jc.msg[1], jc.len[1], 1, jdeliver, NULL), 0);
	assert_int_equal(jg.n, 1);
	assert_true(jg.same);
	assert_int_equal(lwt_fec_dec_input(small, jc.msg[4], jc.len[4], 1, jdeliver, NULL), -EBADMSG);
	lwt_fec_dec_destroy(small);
	/* Memory: at most the budget, or LWT_FEC_MIN_SLOTS groups. */
	assert_int_equal(lwt_fec_dec_slots(10, 3, 1400), LWT_FEC_SLOTS);
	assert_true(lwt_fec_dec_slots(10, 3, JUMBO) < LWT_FEC_SLOTS);
	assert_true((size_t)lwt_fec_dec_slots(10, 3, JUMBO) * 13 * (JUMBO + 2) <= LWT_FEC_DEC_BUDGET);
	assert_int_equal(lwt_fec_dec_slots(22, 10, JUMBO), LWT_FEC_MIN_SLOTS);
	assert_int_equal(lwt_fec_dec_slots(128, 64, JUMBO), LWT_FEC_MIN_SLOTS);
	lwt_fec_enc_destroy(e);
	lwt_fec_dec_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_patterns),
		cmocka_unit_test(test_20_10_random),
		cmocka_unit_test(test_too_many_losses),
		cmocka_unit_test(test_duplicates_and_late),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounded_flood),
		cmocka_unit_test(test_flush_deadline),
		cmocka_unit_test(test_parity_fixed_per_group),
		cmocka_unit_test(test_adaptive),
		cmocka_unit_test(test_jumbo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
