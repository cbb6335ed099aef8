// SPDX-License-Identifier: MIT
/* The single-producer single-consumer byte ring: size rounding, order, tags
 * and bytes, a full ring refusing pushes without writing anything, entries
 * that can never fit, hundreds of wrap-arounds with lengths that do not
 * divide the size, and two threads handing over two million entries through
 * a ring that is small enough to be full most of the time. Every entry's
 * length and content are derived from its sequence number, so the consumer
 * knows what it must see without sharing anything with the producer. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include "testutil.h"
#include "hring.h"

#define PAT_SIZE 65536u
#define MAX_LEN 4096u		/* longest entry any test makes */

static uint8_t pat[PAT_SIZE + MAX_LEN];	/* pseudo-random bytes, set once */

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* A good 32-bit integer hash (lowbias32). */
static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* Length of entry seq, 1..max. */
static uint32_t len_of(uint32_t seq, uint32_t max)
{
	return 1 + mix32(seq ^ 0x9e3779b9u) % max;
}

/* Content of entry seq: a window of pat chosen by seq. */
static const uint8_t *content(uint32_t seq)
{
	return pat + mix32(seq) % PAT_SIZE;
}

static void fill(uint8_t *p, uint32_t seq, uint32_t len)
{
	memcpy(p, content(seq), len);
}

/* Check a peeked entry against entry seq; NULL, or what is wrong. */
static const char *verify(const uint8_t *p, uint32_t tag, uint32_t len,
			  uint32_t seq, uint32_t max)
{
	if (tag != seq)
		return "wrong tag";
	if (len != len_of(seq, max))
		return "wrong length";
	if (memcmp(p, content(seq), len))
		return "wrong content";
	return NULL;
}

static int group_setup(void **state)
{
	uint32_t s = 0x2545f491u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(xorshift32(&s) >> 24);
	return 0;
}

/* --- 1: basics --- */

static void test_init_rounds_size(void **state)
{
	static const struct {
		uint32_t ask, want;
	} t[] = {
		{ 0, 4096 }, { 1, 4096 }, { 100, 4096 }, { 4095, 4096 },
		{ 4096, 4096 }, { 4097, 8192 }, { 8191, 8192 }, { 8192, 8192 },
		{ 65535, 65536 }, { 65536, 65536 }, { 65537, 131072 },
		{ 100000, 131072 }, { 1u << 20, 1u << 20 }, { (1u << 20) + 1, 1u << 21 },
	};
	struct lwt_hring r;
	uint32_t tag, len;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(lwt_hring_init(&r, t[i].ask), 0);
		if (r.size != t[i].want)
			fail_msg("init(%u): size %u, want %u", t[i].ask, r.size, t[i].want);
		assert_non_null(r.buf);
		assert_null(lwt_hring_peek(&r, &tag, &len));
		lwt_hring_uninit(&r);
	}
}

static void test_push_peek_pop(void **state)
{
	static const char hello[] = "hello, ring";
	uint8_t big[1000], one = 0x5a, *p, *q;
	struct lwt_hring r;
	uint32_t tag = 7, len = 7;

	(void)state;
	fill(big, 3, sizeof(big));
	assert_int_equal(lwt_hring_init(&r, 4096), 0);

	/* Empty: NULL. */
	assert_null(lwt_hring_peek(&r, &tag, &len));

	assert_int_equal(lwt_hring_push(&r, 1, hello, sizeof(hello)), 0);
	assert_int_equal(lwt_hring_push(&r, 0, &one, 0), 0);
	assert_int_equal(lwt_hring_push(&r, 0xfffffffeu, big, sizeof(big)), 0);
	assert_int_equal(lwt_hring_push(&r, 42, &one, 1), 0);

	/* Peek does not consume: twice gives the same entry. */
	p = lwt_hring_peek(&r, &tag, &len);
	assert_non_null(p);
	assert_int_equal(tag, 1);
	assert_int_equal(len, sizeof(hello));
	assert_memory_equal(p, hello, sizeof(hello));
	tag = len = 0;
	q = lwt_hring_peek(&r, &tag, &len);
	assert_ptr_equal(p, q);
	assert_int_equal(tag, 1);
	assert_int_equal(len, sizeof(hello));
	lwt_hring_pop(&r);

	p = lwt_hring_peek(&r, &tag, &len);
	assert_non_null(p);
	assert_int_equal(tag, 0);
	assert_int_equal(len, 0);
	lwt_hring_pop(&r);

	p = lwt_hring_peek(&r, &tag, &len);
	assert_non_null(p);
	assert_int_equal(tag, 0xfffffffeu);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(p, big, sizeof(big));
	memset(p, 0, len);		/* writable until popped */
	lwt_hring_pop(&r);

	/* Pushing behind a partly drained ring keeps the order. */
	assert_int_equal(lwt_hring_push(&r, 43, big, 10), 0);
	p = lwt_hring_peek(&r, &tag, &len);
	assert_non_null(p);
	assert_int_equal(tag, 42);
	assert_int_equal(len, 1);
	assert_int_equal(p[0], one);
	lwt_hring_pop(&r);
	p = lwt_hring_peek(&r, &tag, &len);
	assert_non_null(p);
	assert_int_equal(tag, 43);
	assert_int_equal(len, 10);
	assert_memory_equal(p, big, 10);
	lwt_hring_pop(&r);

	assert_null(lwt_hring_peek(&r, &tag, &len));
	assert_null(lwt_hring_peek(&r, &tag, &len));
	lwt_hring_uninit(&r);
}

/* --- 2: full ring and entries that never fit --- */

/* Pop count entries, expecting seq, seq+1, ... of lengths len_of(seq, max). */
static void drain(struct lwt_hring *r, uint32_t seq, uint32_t count, uint32_t max)
{
	const char *why;
	uint32_t tag, len, i;
	uint8_t *p;

	for (i = 0; i < count; i++, seq++) {
		p = lwt_hring_peek(r, &tag, &len);
		if (!p)
			fail_msg("entry %u: ring empty", seq);
		why = verify(p, tag, len, seq, max);
		if (why)
			fail_msg("entry %u: %s (tag %u, len %u)", seq, why, tag, len);
		lwt_hring_pop(r);
	}
}

/* A push that the ring refuses must leave buffer and indices as they were. */
static void push_refused(struct lwt_hring *r, uint32_t tag, const void *p,
			 uint32_t len, int want, uint8_t *snap)
{
	uint32_t head = atomic_load(&r->head), tail = atomic_load(&r->tail);
	int err;

	memcpy(snap, r->buf, r->size);
	err = lwt_hring_push(r, tag, p, len);
	if (err != want)
		fail_msg("push of %u bytes: %d, want %d", len, err, want);
	assert_int_equal(atomic_load(&r->head), head);
	assert_int_equal(atomic_load(&r->tail), tail);
	if (memcmp(snap, r->buf, r->size))
		fail_msg("refused push of %u bytes wrote into the buffer", len);
}

/* Push entries seq, seq+1, ... of lengths len_of(seq, max) until the ring
 * refuses one; the count pushed. bytes adds up their lengths. */
static uint32_t fill_up(struct lwt_hring *r, uint32_t seq, uint32_t max,
			uint32_t *bytes)
{
	static uint8_t buf[MAX_LEN];
	uint32_t n, len;
	int err;

	for (n = 0;; n++) {
		if (n > r->size)
			fail_msg("%u entries pushed into %u bytes", n, r->size);
		len = len_of(seq + n, max);
		fill(buf, seq + n, len);
		err = lwt_hring_push(r, seq + n, buf, len);
		if (err == -ENOBUFS)
			return n;
		if (err)
			fail_msg("entry %u (%u bytes): push %d", seq + n, len, err);
		*bytes += len;
	}
}

static void test_full(void **state)
{
	static const uint32_t lens[] = { 1, 2, 15, 16, 17, 100, 300, 1000, 2000 };
	static uint8_t snap[4096];
	uint32_t n, k, more, bytes = 0, i, tag, len;
	struct lwt_hring r;

	(void)state;
	assert_int_equal(lwt_hring_init(&r, 4096), 0);

	/* Fill it with lengths 1..300, then top it up with 1-byte entries. */
	n = fill_up(&r, 0, 300, &bytes);
	k = fill_up(&r, n, 1, &bytes);
	assert_true(n >= 8);
	/* Full means full: what is free is less than an entry or two, with
	 * a generous 64 bytes of header and padding per entry. */
	if (bytes + 64 * (n + k) < r.size - 2 * (1 + 64))
		fail_msg("refused with %u entries of %u bytes queued", n + k, bytes);

	/* Refused, with nothing written, whatever the length. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		push_refused(&r, n + k, pat, lens[i], -ENOBUFS, snap);

	/* Pop half; pushes succeed again until full once more. */
	drain(&r, 0, n / 2, 300);
	more = fill_up(&r, n + k, 300, &bytes);
	assert_true(more >= 1);
	push_refused(&r, n + k + more, pat, len_of(n + k + more, 300), -ENOBUFS, snap);

	/* Everything comes out in order, then nothing. */
	drain(&r, n / 2, n - n / 2, 300);
	drain(&r, n, k, 1);
	drain(&r, n + k, more, 300);
	assert_null(lwt_hring_peek(&r, &tag, &len));
	lwt_hring_uninit(&r);
}

static void test_too_big(void **state)
{
	static uint8_t buf[MAX_LEN], snap[4096];
	static const uint32_t bad[] = {
		2049, 2050, 3000, 4095, 4096, 4097, 65536, 1u << 31,
		UINT32_MAX - 16, UINT32_MAX - 15, UINT32_MAX,
	};
	struct lwt_hring r;
	uint32_t i, big, tag, len, seq;
	int err = 0;
	uint8_t *p;

	(void)state;
	assert_int_equal(lwt_hring_init(&r, 4096), 0);
	fill(buf, 1, len_of(1, 100));
	assert_int_equal(lwt_hring_push(&r, 1, buf, len_of(1, 100)), 0);

	/* len > size / 2: -EMSGSIZE and nothing written, with the ring empty
	 * or not. The huge ones would run off the end of pat if anything were
	 * copied. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		push_refused(&r, 9, pat, bad[i], -EMSGSIZE, snap);
	drain(&r, 1, 1, 100);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		push_refused(&r, 9, pat, bad[i], -EMSGSIZE, snap);

	/* The largest entry the ring takes: a little under half, and an empty
	 * ring never answers -ENOBUFS. */
	for (big = r.size / 2; big > r.size / 2 - 64; big--) {
		err = lwt_hring_push(&r, 2, pat, big);
		if (!err)
			break;
		assert_int_equal(err, -EMSGSIZE);
	}
	if (err)
		fail_msg("no entry of %u..%u bytes fits in an empty %u-byte ring",
			 big + 1, r.size / 2, r.size);
	p = lwt_hring_peek(&r, &tag, &len);
	assert_non_null(p);
	assert_int_equal(tag, 2);
	assert_int_equal(len, big);
	assert_memory_equal(p, pat, big);
	lwt_hring_pop(&r);

	/* "Never fits" means it: an entry that is not refused as too big fits
	 * in the empty ring wherever the ring stands. head and tail count
	 * bytes from the start (hring.h), so setting both puts an empty ring
	 * at any entry boundary (16 bytes apart); the second round starts
	 * just below 2^32 so the counters wrap as well. */
	for (i = 0; i < 2 * r.size / 16; i++) {
		uint32_t at = (i < r.size / 16 ? 0 : 0u - r.size) + i % (r.size / 16) * 16;

		atomic_store(&r.head, at);
		atomic_store(&r.tail, at);
		seq = 10 + i;
		fill(buf, seq, big);
		err = lwt_hring_push(&r, seq, buf, big);
		if (err)
			fail_msg("empty ring at %u: push of %u bytes: %d", at, big, err);
		p = lwt_hring_peek(&r, &tag, &len);
		assert_non_null(p);
		assert_int_equal(tag, seq);
		assert_int_equal(len, big);
		assert_true(p >= r.buf && p + big <= r.buf + r.size);
		assert_memory_equal(p, buf, big);
		lwt_hring_pop(&r);
		assert_null(lwt_hring_peek(&r, &tag, &len));
	}
	lwt_hring_uninit(&r);
}

/* --- 3: wrapping round, one thread --- */

#define WRAP_RING 8192u
#define WRAP_MAX 3000u		/* lengths 1..3000: never a divisor of the size */
#define WRAP_ENTRIES 30000u

/* Push; if the ring refuses, check that it wrote nothing. */
static int try_push(struct lwt_hring *r, uint32_t seq, const uint8_t *p,
		    uint32_t len, uint8_t *snap)
{
	uint32_t tail = atomic_load(&r->tail);
	int err;

	memcpy(snap, r->buf, r->size);
	err = lwt_hring_push(r, seq, p, len);
	if (err) {
		assert_int_equal(atomic_load(&r->tail), tail);
		if (memcmp(snap, r->buf, r->size))
			fail_msg("entry %u: refused push (%d) wrote into the buffer", seq, err);
	}
	return err;
}

static void test_wrap(void **state)
{
	static uint8_t buf[MAX_LEN], snap[WRAP_RING];
	uint32_t rnd = 0x1234567u, pushed = 0, popped = 0, wraps = 0, refused = 0;
	uint32_t k, len, tag;
	struct lwt_hring r;
	size_t off, last = 0;
	const char *why;
	uint8_t *p;
	int err;

	(void)state;
	assert_int_equal(lwt_hring_init(&r, WRAP_RING), 0);
	assert_int_equal(r.size, WRAP_RING);
	/* Start the byte counts 8 MB short of 2^32 so they wrap on the way. */
	atomic_store(&r.head, 0u - 1024 * WRAP_RING);
	atomic_store(&r.tail, 0u - 1024 * WRAP_RING);
	while (popped < WRAP_ENTRIES) {
		/* Up to four pushes, then up to four pops: the fill level walks at
		 * random between empty and full (a few entries fit). */
		for (k = xorshift32(&rnd) % 5; k && pushed < WRAP_ENTRIES; k--) {
			len = len_of(pushed, WRAP_MAX);
			fill(buf, pushed, len);
			err = try_push(&r, pushed, buf, len, snap);
			if (err == -ENOBUFS && pushed != popped) {
				refused++;
				break;
			}
			if (err)
				fail_msg("entry %u (%u bytes, %u queued): push %d", pushed,
					 len, pushed - popped, err);
			pushed++;
		}
		for (k = xorshift32(&rnd) % 5; k; k--) {
			p = lwt_hring_peek(&r, &tag, &len);
			if (popped == pushed) {
				if (p)
					fail_msg("entry %u: ring should be empty, has tag %u len %u",
						 popped, tag, len);
				break;
			}
			if (!p)
				fail_msg("entry %u: ring empty, %u queued", popped, pushed - popped);
			why = verify(p, tag, len, popped, WRAP_MAX);
			if (why)
				fail_msg("entry %u: %s (tag %u, len %u)", popped, why, tag, len);
			off = (size_t)(p - r.buf);
			assert_true(off + len <= r.size);
			if (off < last)
				wraps++;
			last = off;
			memset(p, 0xa5, len);	/* stale data must never come back */
			lwt_hring_pop(&r);
			popped++;
		}
	}
	assert_null(lwt_hring_peek(&r, &tag, &len));
	/* About 45 MB through 8 KB; the walk is deterministic. */
	if (wraps < 1000 || refused < 1000)
		fail_msg("only %u wraps, %u refusals", wraps, refused);
	lwt_hring_uninit(&r);
}

/* --- 4: two threads --- */

#define MT_RING 65536u
#define MT_MAX 1500u
#define MT_ENTRIES 2000000u

/* Refusals the producer may see while the consumer, without a break, sees
 * an empty ring: one or two can be in flight, this many means the two sides
 * disagree and would otherwise wait for each other forever. */
#define MT_STUCK 100000ul

struct mt {
	struct lwt_hring r;
	atomic_bool stop;	/* the consumer gave up: so should the producer */
	atomic_bool done;	/* the producer has returned */
	atomic_ulong refused;	/* pushes refused with -ENOBUFS */
	uint32_t sent;		/* producer's own, read after the join */
	int err;
};

static void *producer(void *arg)
{
	struct mt *m = arg;
	uint32_t seq, len;
	int err = 0;

	for (seq = 0; seq < MT_ENTRIES; seq++) {
		len = len_of(seq, MT_MAX);
		while ((err = lwt_hring_push(&m->r, seq, content(seq), len)) == -ENOBUFS) {
			atomic_fetch_add_explicit(&m->refused, 1, memory_order_relaxed);
			if (atomic_load_explicit(&m->stop, memory_order_relaxed))
				goto out;
			sched_yield();
		}
		if (err)
			break;
	}
out:
	m->sent = seq;
	m->err = err;
	atomic_store_explicit(&m->done, true, memory_order_release);
	return NULL;
}

static void test_threads(void **state)
{
	uint32_t seq, tag, len;
	unsigned long idle = 0, mark = 0;
	const char *why = NULL;
	char msg[160];
	struct mt m;
	pthread_t t;
	uint8_t *p;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(lwt_hring_init(&m.r, MT_RING), 0);
	assert_int_equal(m.r.size, MT_RING);
	/* About 1.5 GB goes through: start the counters 512 MB short of 2^32. */
	atomic_store(&m.r.head, 0u - (1u << 29));
	atomic_store(&m.r.tail, 0u - (1u << 29));
	assert_int_equal(pthread_create(&t, NULL, producer, &m), 0);

	/* Consumer. Whatever goes wrong, it stops and tells the producer,
	 * which looks whenever the ring is full; neither waits on a clock. */
	for (seq = 0; seq < MT_ENTRIES;) {
		p = lwt_hring_peek(&m.r, &tag, &len);
		if (!p && atomic_load_explicit(&m.done, memory_order_acquire)) {
			/* Everything it pushed is visible now. */
			p = lwt_hring_peek(&m.r, &tag, &len);
			if (!p) {
				why = "producer stopped early";
				break;
			}
		}
		if (!p) {
			if (!idle++) {
				mark = atomic_load(&m.refused);
			} else if (atomic_load(&m.refused) - mark > MT_STUCK) {
				why = "ring empty for the consumer, full for the producer";
				break;
			}
			sched_yield();
			continue;
		}
		idle = 0;
		why = verify(p, tag, len, seq, MT_MAX);
		if (why) {
			snprintf(msg, sizeof(msg), "%s (tag %u, len %u)", why, tag, len);
			why = msg;
			break;
		}
		lwt_hring_pop(&m.r);
		seq++;
	}
	atomic_store(&m.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);

	if (why)
		fail_msg("entry %u: %s; producer sent %u, err %d", seq, why, m.sent, m.err);
	assert_int_equal(m.err, 0);
	assert_int_equal(m.sent, MT_ENTRIES);
	assert_null(lwt_hring_peek(&m.r, &tag, &len));
	lwt_hring_uninit(&m.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rounds_size),
		cmocka_unit_test(test_push_peek_pop),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
