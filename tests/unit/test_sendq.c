// SPDX-License-Identifier: MIT
/* The client's reconnect queue (sendq.c) as a numbered table: each step
 * pushes a packet of some length, or drains, and states the result. The
 * queue holds 3 packets of at most 9000 bytes (a jumbo TUN MTU): an
 * 8000-byte packet is kept whole, a 9001-byte one is refused, never cut. */
#include <errno.h>
#include <string.h>
#include "testutil.h"
#include "sendq.h"

#define CAP 3
#define MAX 9000

struct step {
	size_t len;		/* 0: drain */
	int want;		/* push: its result; drain: packets sent */
};

static const struct step steps[] = {
	{ 8000, 0 },		/* 1: jumbo, kept */
	{ 9000, 0 },		/* 2: exactly the MTU */
	{ 9001, -EMSGSIZE },	/* 3: over it: refused */
	{ 1, 0 },		/* 4 */
	{ 100, -ENOBUFS },	/* 5: full */
	{ 0, 3 },		/* 6: drain: 8000, 9000, 1, in order */
	{ 0, 0 },		/* 7: empty */
	{ 1400, 0 },		/* 8: a slot used before, reused */
	{ 0, 1 },		/* 9 */
};

static uint8_t pkt[MAX + 1];
static size_t pushed[16], got[16];
static int npushed, ngot;

static void sent(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	assert_true(ngot < 16);
	/* Every byte as pushed (the pattern depends on the position). */
	for (size_t i = 0; i < len; i++)
		assert_int_equal(p[i], (uint8_t)(i * 7 + len));
	got[ngot++] = len;
}

static void test_steps(void **state)
{
	struct lwt_sendq q;

	(void)state;
	assert_int_equal(lwt_sendq_init(&q, CAP, MAX), 0);
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		const struct step *t = &steps[s];
		int r;

		if (!t->len) {
			int before = ngot;

			r = (int)lwt_sendq_drain(&q, sent, NULL);
			if (r != t->want)
				fail_msg("step %zu: drained %d, want %d", s + 1, r, t->want);
			for (int i = before; i < ngot; i++)
				assert_int_equal(got[i], pushed[i]);
			continue;
		}
		for (size_t i = 0; i < t->len; i++)
			pkt[i] = (uint8_t)(i * 7 + t->len);
		r = lwt_sendq_push(&q, pkt, t->len);
		if (r != t->want)
			fail_msg("step %zu: push %zu bytes: %d, want %d", s + 1, t->len, r, t->want);
		if (!r)
			pushed[npushed++] = t->len;
	}
	lwt_sendq_uninit(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
