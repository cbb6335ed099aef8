/* SPDX-License-Identifier: MIT */
/* A poller's own slots (slot % np == id) by data-plane state: which are free
 * (a bitmap, so the lowest free one is found as the walk found it) and how
 * many are in handshake. A cookie ACK that takes a slot used to walk every
 * slot of its poller for both (10% of the hub's CPU in a 10,000-client
 * join); now it reads a count and scans a word per 64 slots at most.
 *
 * The owning poller is the only writer (daemon.h: a slot's state is its
 * owner's), through lwt_slotfree_move at each change of a slot's state;
 * other pollers read only nfree (relaxed: a hint where to hand a flow, as
 * the walk over their slots' states was). */
#ifndef LWT_SLOTFREE_H
#define LWT_SLOTFREE_H

#include <stdatomic.h>
#include <stdint.h>

struct lwt_slotfree {
	uint64_t *bits;		/* bit k: slot id + k * np is free */
	int nwords, id, np, nslots;
	int nhs;		/* own slots in handshake */
	_Atomic int nfree;	/* own slots free: other pollers read it */
};

/* The slots of poller id of np among nslots, all free. 0 or -ENOMEM. */
int lwt_slotfree_init(struct lwt_slotfree *f, int id, int np, int nslots);
void lwt_slotfree_uninit(struct lwt_slotfree *f);
/* Own slot's state (enum lwt_slot_state) goes from from to to. */
void lwt_slotfree_move(struct lwt_slotfree *f, int slot, int from, int to);
/* The lowest own free slot, -1 if none. */
int lwt_slotfree_first(const struct lwt_slotfree *f);

#endif
