/* SPDX-License-Identifier: MIT */
/* A poller's timers, one per slot: a min-heap of (deadline, slot) with each
 * slot's place in it, and the list of slots touched since the last run
 * (a segment in or out, an order from the control thread). The poller runs
 * the timers of the touched slots and of those due, and sleeps until the
 * earliest deadline: its timer work costs by what is pending and by the
 * traffic, not by the slots it owns (at 10,000 idle clients a walk of every
 * slot per loop was most of the hub's CPU).
 * One per poller thread; not thread safe. Deadlines in ns, never 0. */
#ifndef LWT_SLOTTIMER_H
#define LWT_SLOTTIMER_H

#include <stdbool.h>
#include <stdint.h>

struct lwt_stimer {
	int n, nslots;
	struct lwt_stimer_ent { uint64_t at; int slot; } *h;	/* heap, earliest first */
	int *pos;		/* [nslots]: place in h, -1 if none */
	int *dirty, ndirty;	/* touched slots, each once */
	uint8_t *is_dirty;	/* [nslots] */
};

int lwt_stimer_init(struct lwt_stimer *t, int nslots);
void lwt_stimer_uninit(struct lwt_stimer *t);
/* Slot's next deadline: at (ns), or 0 to cancel it. */
void lwt_stimer_set(struct lwt_stimer *t, int slot, uint64_t at);
/* The earliest deadline, 0 if none. */
uint64_t lwt_stimer_next(const struct lwt_stimer *t);
/* A slot whose deadline is at or before now, taken off the heap; -1 if none. */
int lwt_stimer_pop_due(struct lwt_stimer *t, uint64_t now);
/* Slot was touched: its timers are to be looked at. */
void lwt_stimer_touch(struct lwt_stimer *t, int slot);
/* The touched slots: how many, and the i-th (0..n); clear when done. */
static inline int lwt_stimer_ndirty(const struct lwt_stimer *t) { return t->ndirty; }
static inline int lwt_stimer_dirty(const struct lwt_stimer *t, int i) { return t->dirty[i]; }
void lwt_stimer_clear_dirty(struct lwt_stimer *t);

#endif
