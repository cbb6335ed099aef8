/* SPDX-License-Identifier: MIT */
/* faketcp_pacing_us: a pause between the segments a poller sends for what
 * its TUN gives. A token bucket of one segment: credit grows with time, at
 * most to one segment's worth, and every segment sent costs one interval;
 * a read that cut into many segments (GSO) runs the credit negative and
 * the next read waits for it to come back. Never faster than one segment
 * an interval on average; a late wake-up only makes it slower. */
#ifndef LWT_PACE_H
#define LWT_PACE_H

#include <stdbool.h>
#include <stdint.h>

struct lwt_pace {
	uint64_t ns;			/* the interval; 0 = no pacing */
	uint64_t last_ns;		/* when credit was last brought up to date */
	int64_t credit_ns;
};

void lwt_pace_init(struct lwt_pace *p, uint64_t interval_ns, uint64_t now_ns);
/* How many segments may go now (0 or 1; any number when pacing is off). */
int lwt_pace_allow(struct lwt_pace *p, uint64_t now_ns);
/* When the next segment may go (now_ns if it may now). */
uint64_t lwt_pace_next(const struct lwt_pace *p, uint64_t now_ns);
/* segs segments went out. */
void lwt_pace_charge(struct lwt_pace *p, uint64_t segs);

#endif
