// SPDX-License-Identifier: MIT
/* RFC 6479-style anti-replay bitmap: bit (c % WINDOW_BITS) marks counter c,
 * words are cleared as the top advances. */
#include <string.h>

#include "replay.h"

#define WORDS (LWT_REPLAY_WINDOW / 64 + 1)
#define BITS (WORDS * 64)

void lwt_replay_init(struct lwt_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool lwt_replay_check(const struct lwt_replay *r, uint64_t c)
{
	if (c >= r->top)
		return true;
	if (r->top - c > LWT_REPLAY_WINDOW)
		return false;
	return !(r->bitmap[(c / 64) % WORDS] & (1ull << (c % 64)));
}

bool lwt_replay_update(struct lwt_replay *r, uint64_t c)
{
	uint64_t *w;

	if (c >= r->top) {
		uint64_t cur = r->top ? (r->top - 1) / 64 : 0, nw = c / 64, i, n;

		/* Clear the words the window slides over. */
		if (!r->top) {
			memset(r->bitmap, 0, sizeof(r->bitmap));
		} else {
			n = nw - cur;
			if (n > WORDS)
				n = WORDS;
			for (i = 1; i <= n; i++)
				r->bitmap[(cur + i) % WORDS] = 0;
		}
		r->top = c + 1;
	} else if (r->top - c > LWT_REPLAY_WINDOW) {
		return false;
	}
	w = &r->bitmap[(c / 64) % WORDS];
	if (*w & (1ull << (c % 64)))
		return false;
	*w |= 1ull << (c % 64);
	return true;
}
