/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit tests. */
#ifndef LWT_TESTUTIL_H
#define LWT_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

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

#endif
