/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit tests. */
#ifndef LWT_TESTUTIL_H
#define LWT_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

/* cmocka prints progress on stdout and failures on stderr: with stdout line
 * buffered they stay in order when the runner pipes them through tee. */
__attribute__((constructor)) static void testutil_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Decode hex into out; returns the byte count. */
static inline size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	while (h[0] && h[1]) {
		unsigned int v;

		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

/* Reference Internet checksum, the plain RFC 1071 loop over big-endian
 * words, for checking the optimised ones: sum, then fold (not complemented). */
static inline uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += p[i] << 8 | p[i + 1];
	if (n & 1)
		s += p[n - 1] << 8;
	return s;
}

static inline uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

#endif
