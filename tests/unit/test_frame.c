// SPDX-License-Identifier: MIT
/* Frame codec: concatenated (GRO-merged) frames split back; malformed rest refused. */
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "frame.h"

static size_t put(uint8_t *b, uint8_t type, size_t body, uint8_t fill)
{
	lwt_frame_put_hdr(b, type, body);
	memset(b + 4, fill, body);
	return 4 + body;
}

static void test_split_merged(void **state)
{
	uint8_t buf[8192];
	size_t len = 0, off = 0;
	struct lwt_frame f;
	static const struct { uint8_t type; size_t body; } in[] = {
		{ LWT_FT_SEALED, 1400 }, { LWT_FT_SEALED, 0 }, { LWT_FT_HELLO, 124 },
		{ LWT_FT_REJECT, 4 }, { LWT_FT_AUTHED, 33 }, { LWT_FT_SEALED, 1 },
	};
	size_t i;

	for (i = 0; i < 6; i++)
		len += put(buf + len, in[i].type, in[i].body, (uint8_t)i);
	for (i = 0; i < 6; i++) {
		assert_int_equal(lwt_frame_next(buf, len, &off, &f), 1);
		assert_int_equal(f.type, in[i].type);
		assert_int_equal(f.body_len, in[i].body);
		assert_int_equal(f.frame_len, in[i].body + 4);
		if (in[i].body)
			assert_int_equal(f.body[0], i);
	}
	assert_int_equal(lwt_frame_next(buf, len, &off, &f), 0);
}

static void test_malformed(void **state)
{
	uint8_t buf[64];
	struct lwt_frame f;
	size_t off, len, cut;

	/* 1: truncated at every length */
	len = put(buf, LWT_FT_SEALED, 20, 0);
	for (cut = 1; cut < len; cut++) {
		off = 0;
		assert_int_equal(lwt_frame_next(buf, cut, &off, &f), -EBADMSG);
	}
	/* 2: unknown type */
	put(buf, 0x7f, 4, 0);
	off = 0;
	assert_int_equal(lwt_frame_next(buf, 8, &off, &f), -EBADMSG);
	/* 3: nonzero flags */
	put(buf, LWT_FT_SEALED, 4, 0);
	buf[1] = 1;
	off = 0;
	assert_int_equal(lwt_frame_next(buf, 8, &off, &f), -EBADMSG);
	/* 4: a good frame then garbage */
	len = put(buf, LWT_FT_SEALED, 4, 0);
	buf[len] = 0xff;
	off = 0;
	assert_int_equal(lwt_frame_next(buf, len + 1, &off, &f), 1);
	assert_int_equal(lwt_frame_next(buf, len + 1, &off, &f), -EBADMSG);
	/* 5: length beyond the maximum: see test_max_body */
	/* 6: empty input is a clean end */
	off = 0;
	assert_int_equal(lwt_frame_next(buf, 0, &off, &f), 0);
}

/* The documented maximum (docs/PROTOCOL.md: length <= 16384), written as a
 * number: a 16384-byte body is a frame, 16385 is refused even when the bytes
 * are all there (so the length check, not the short input, refuses it). */
/* A record counter is epoch (16 bits) || sequence (48 bits): a sender
 * stops 2^32 short of the epoch bits, and the stop is where it says. */
static void test_seq_limit(void **state)
{
	const unsigned long long last = (1ull << 48) - 1 - (1ull << 32);

	assert_int_equal(LWT_EPOCH_SHIFT, 48);
	assert_true(LWT_SEQ_LAST == last);
	assert_false(lwt_seq_exhausted(0));
	assert_false(lwt_seq_exhausted(last));
	assert_true(lwt_seq_exhausted(last + 1));
	assert_true(lwt_seq_exhausted((1ull << 48) - 1));
	/* the last counter sent under epoch 0xffff stays in its epoch */
	assert_int_equal((0xffffull << 48 | last) >> 48, 0xffff);
}

static void test_max_body(void **state)
{
	static uint8_t buf[4 + 16385 + 4];
	struct lwt_frame f;
	size_t off = 0;

	put(buf, LWT_FT_SEALED, 16384, 0xab);
	assert_int_equal(lwt_frame_next(buf, 4 + 16384, &off, &f), 1);
	assert_int_equal(f.body_len, 16384);
	assert_int_equal(off, 4 + 16384);
	put(buf, LWT_FT_SEALED, 16385, 0xab);
	off = 0;
	assert_int_equal(lwt_frame_next(buf, 4 + 16385, &off, &f), -EBADMSG);
	assert_int_equal(lwt_frame_next(buf, sizeof(buf), &off, &f), -EBADMSG);
	assert_int_equal(off, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_merged),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_max_body),
		cmocka_unit_test(test_seq_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
