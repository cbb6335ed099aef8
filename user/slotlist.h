/* SPDX-License-Identifier: MIT */
/* The control thread's view of its slots, kept up to date at every change
 * of a slot's phase or tunnel IP (lwt_set_phase, which follows each change
 * of c.tun_ip; reconcile.c's repairs) so that nothing it does per handshake
 * or per tick has to walk every slot:
 *   active   the slots not free, a doubly linked list (tick() walks these:
 *            a hub with 10,000 slots and a few clients walks a few);
 *   up       the slots in LWT_PH_UP, a dense array of (slot, tunnel IP)
 *            and its count (the admission limit, peer lists, status);
 *   by IP    the slots in LWT_PH_HELLO or LWT_PH_UP by their tunnel IP
 *            (c.tun_ip), a slotidx.h table: the candidates that the
 *            tunnel-IP checks (takeover.c) then judge by the slot itself;
 *   due      each session's next tick (control.c's up_next): tick() passes
 *            by a session until then.
 * The data plane's tun_idx is no substitute for the last: a poller adds a
 * slot there only once it has taken the keys (an order in its queue), and
 * the admission decides on the control thread's phase of the slot, which
 * comes first.
 *
 * Control thread only: no locks, no atomics (the by-IP table has its
 * writers' mutex, uncontended). Sizes are fixed at init, from the slots. */
#ifndef LWT_SLOTLIST_H
#define LWT_SLOTLIST_H

#include <stdbool.h>
#include <stdint.h>

#include "slotidx.h"

struct lwt_slot;

struct lwt_slotlist {
	int nslots;
	const struct lwt_slot *base;	/* the daemon's slots (lwt_slotlist_note) */
	int head, tail;			/* first, last active slot, -1 none */
	int *next, *prev;		/* [nslots]: the active list, -1 ends */
	int nactive, nup;
	uint8_t *phase;			/* [nslots]: the phase as last noted */
	uint32_t *ip;			/* [nslots]: the tunnel IP in by_ip, 0 none */
	int *up_at;			/* [nslots]: place in up_slot[], -1 none */
	int *up_slot;			/* [nup]: the slots up ... */
	uint32_t *up_ip;		/* ... and their tunnel IPs (0: none yet) */
	uint64_t *due;			/* [nslots]: a session's next tick (ns), 0 the next */
	struct lwt_slotidx by_ip;
};

/* Sized for nslots slots, all free; base (may be NULL) is what
 * lwt_slotlist_note finds slot numbers in, and each of its slots is pointed
 * here (struct lwt_slot.track). 0 or -ENOMEM. */
int lwt_slotlist_init(struct lwt_slotlist *l, struct lwt_slot *base, int nslots);
void lwt_slotlist_destroy(struct lwt_slotlist *l);
/* Slot's phase (enum lwt_phase) and tunnel IP (network order) are now
 * these. Constant cost. */
void lwt_slotlist_set(struct lwt_slotlist *l, int slot, int phase, uint32_t tun_ip);
/* lwt_slotlist_set from the slot's own c.phase and c.tun_ip, through its
 * track pointer (none: nothing done). Call after every change of either. */
void lwt_slotlist_note(struct lwt_slot *s);

/* The active slots, in the order they became active. The slot in hand may
 * leave the list (go free) before lwt_slotlist_next is asked for the one
 * after it: a slot that leaves keeps its link. */
static inline int lwt_slotlist_first(const struct lwt_slotlist *l)
{
	return l->next ? l->head : -1;
}

static inline int lwt_slotlist_next(const struct lwt_slotlist *l, int slot)
{
	return l->next[slot];
}

/* A session's timers (control.c's tick: keepalive, silence, key rotation)
 * are not due before at: tick() passes it by until then. A phase change
 * makes it due at once; so does lwt_slotlist_wake (an event on the slot). */
static inline void lwt_slotlist_set_due(struct lwt_slotlist *l, int slot, uint64_t at)
{
	if (l->due)
		l->due[slot] = at;
}

static inline void lwt_slotlist_wake(struct lwt_slotlist *l, int slot)
{
	lwt_slotlist_set_due(l, slot, 0);
}

/* A session whose timers are not due at now (the slot itself unread). */
bool lwt_slotlist_resting(const struct lwt_slotlist *l, int slot, uint64_t now);

/* Candidates for the slots in LWT_PH_HELLO or LWT_PH_UP that hold tunnel IP
 * ip: lwt_slotidx_first/next on l->by_ip; the caller checks each. */
static inline struct lwt_slotidx_it lwt_slotlist_ip_first(const struct lwt_slotlist *l,
							  uint32_t ip)
{
	return lwt_slotidx_first(&l->by_ip, ip);
}

#endif
