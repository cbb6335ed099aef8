/* SPDX-License-Identifier: MIT */
/* Sliding anti-replay window (RFC 6479 style bitmap) over 64-bit counters. */
#ifndef LWT_REPLAY_H
#define LWT_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define LWT_REPLAY_WINDOW 4096	/* packets; must be a multiple of 64 */

struct lwt_replay {
	uint64_t top;		/* highest counter accepted + 1 (0 = none yet) */
	uint64_t bitmap[LWT_REPLAY_WINDOW / 64 + 1];
};

void lwt_replay_init(struct lwt_replay *r);
/* Check without updating: true if counter is new and inside the window. */
bool lwt_replay_check(const struct lwt_replay *r, uint64_t counter);
/* Mark counter as seen (call only after the record authenticated). Returns
 * false if it was a replay or too old. */
bool lwt_replay_update(struct lwt_replay *r, uint64_t counter);

#endif
