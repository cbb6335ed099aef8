// SPDX-License-Identifier: MIT
/* libFuzzer target: the frame codec (lwt_frame_next, lwt_frame_put_hdr),
 * over a TCP payload as it comes off the wire. Invariants:
 *  - frames tile the payload: each starts where the last ended, its
 *    header and body inside the input, body right after the header,
 *    frame_len = 4 + body_len <= 4 + LWT_FRAME_MAX_BODY, a known type;
 *  - encode(decode(x)): every frame's header written again by
 *    lwt_frame_put_hdr is byte for byte the one parsed;
 *  - the walk ends at exactly the input's end (0) or refuses the rest
 *    (-EBADMSG) only for a reason the contract names (truncated header or
 *    body, unknown type, nonzero flags, body over the limit), and a refused
 *    call leaves the offset where it was;
 *  - walking the same bytes again gives the same frames. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	return 0;
}

static size_t walk(const uint8_t *p, size_t size, size_t *offs, size_t max, int *last)
{
	struct lwt_frame f;
	size_t off = 0, n = 0, prev;
	int r;

	for (;;) {
		prev = off;
		r = lwt_frame_next(p, size, &off, &f);
		if (r != 1)
			break;
		uint8_t hdr[4];

		FZ_CHECK(f.frame == p + prev, "frame %zu starts at %zu, not where the last ended (%zu)",
			 n, (size_t)(f.frame - p), prev);
		FZ_CHECK(f.body == f.frame + sizeof(struct lwt_frame_hdr) &&
			 f.frame_len == sizeof(struct lwt_frame_hdr) + f.body_len,
			 "frame %zu: body/frame_len inconsistent", n);
		FZ_CHECK(f.body_len <= LWT_FRAME_MAX_BODY && f.body + f.body_len <= p + size,
			 "frame %zu: body of %zu bytes past the input", n, f.body_len);
		FZ_CHECK(off == prev + f.frame_len, "offset %zu after a %zu-byte frame at %zu", off,
			 f.frame_len, prev);
		FZ_CHECK(lwt_frame_type_known(f.type) && f.type == p[prev], "frame %zu type 0x%x", n,
			 f.type);
		lwt_frame_put_hdr(hdr, f.type, f.body_len);
		FZ_CHECK(!memcmp(hdr, f.frame, sizeof(hdr)),
			 "frame %zu: header written again differs from the parsed one", n);
		if (n < max)
			offs[n] = prev;
		n++;
	}
	if (r == 0) {
		FZ_CHECK(off == size, "clean end at %zu of %zu", off, size);
	} else {
		const uint8_t *h = p + prev;
		size_t rest = size - prev, body;

		FZ_CHECK(r == -EBADMSG, "lwt_frame_next returned %d", r);
		FZ_CHECK(off == prev, "a refused frame moved the offset %zu -> %zu", prev, off);
		body = rest >= 4 ? (size_t)(h[2] << 8 | h[3]) : 0;
		FZ_CHECK(rest < 4 || !lwt_frame_type_known(h[0]) || h[1] || body > LWT_FRAME_MAX_BODY ||
			 rest - 4 < body, "frame at %zu refused without a reason", prev);
	}
	*last = r;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t offs[256], offs2[256], n, n2, i;
	uint8_t *p = malloc(size ? size : 1);
	int r, r2;

	memcpy(p, data, size);
	n = walk(p, size, offs, 256, &r);
	n2 = walk(p, size, offs2, 256, &r2);
	FZ_CHECK(n == n2 && r == r2, "a second walk saw %zu frames (%d), the first %zu (%d)", n2, r2,
		 n, r);
	for (i = 0; i < n && i < 256; i++)
		FZ_CHECK(offs[i] == offs2[i], "frame %zu at %zu then %zu", i, offs[i], offs2[i]);
	free(p);
	return 0;
}
