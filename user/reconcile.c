// SPDX-License-Identifier: MIT
/* The two views of a slot, made to agree. The data plane holds a slot's
 * state (free, handshake, session) and the control thread its phase (free,
 * tcp, hello, up, closing); events and commands through bounded queues keep
 * them in step. An event or a command lost to a full queue would leave a
 * slot held by one side and forgotten by the other for good: a data-plane
 * slot no one ever frees, or a phase that waits for a KILLED that never
 * comes. Once a second (from the control loop's tick) this compares the two
 * views; a disagreement seen on two checks in a row for the same generation
 * of the slot (so not an event still in the queue) is repaired and counted
 * in slot_repairs:
 *   phase free, data plane busy     the NEW_FLOW was lost: the slot is killed
 *   phase closing, data plane free  the KILLED was lost: the phase is freed
 *   phase closing, data plane busy  the KILL was lost: it is sent again
 * A confirmed handshake waiting for the probe of a session it would take
 * over (takeover.c) is phase hello with the data plane's handshake state,
 * as any handshake: the views agree, and its deadline is takeover.c's.
 * The scan is over every slot, once a second, never per packet. */
#include <stdatomic.h>

#include "daemon.h"
#include "log.h"

#define RECONCILE_NS 1000000000ull

static void agree(struct lwt_slot *s)
{
	s->c.rc_strikes = 0;
}

/* True once the same disagreement (same generation) is seen a second time. */
static bool strike(struct lwt_slot *s, uint32_t gen)
{
	if (s->c.rc_strikes && s->c.rc_gen == gen)
		return ++s->c.rc_strikes >= 2;
	s->c.rc_gen = gen;
	s->c.rc_strikes = 1;
	return false;
}

void lwt_reconcile_tick(struct lwt_daemon *d, uint64_t now)
{
	static uint64_t next;
	int i;

	if (now < next)
		return;
	next = now + RECONCILE_NS;
	for (i = 0; i < d->nslots; i++) {
		struct lwt_slot *s = &d->slots[i];
		int st = atomic_load_explicit(&s->state, memory_order_acquire);
		uint32_t gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
		int ph = s->c.phase;

		if (ph == LWT_PH_FREE && st != LWT_SLOT_FREE) {
			if (!strike(s, gen))
				continue;
			lwt_log_rl(LWT_LOG_WARN, "slot %d: held by the data plane, unknown to the "
				   "control thread (an event was lost): freeing it", i);
			s->c.phase = LWT_PH_CLOSING;
			s->c.phase_ns = now;
			lwt_slotlist_note(s);
			lwt_cmd(d, LWT_CMD_KILL, i, NULL);
		} else if (ph == LWT_PH_CLOSING && st == LWT_SLOT_FREE) {
			if (!strike(s, gen))
				continue;
			lwt_dbg("slot %d: freed by the data plane, its KILLED event lost", i);
			s->c.phase = LWT_PH_FREE;
			s->c.phase_ns = now;
			lwt_slotlist_note(s);
		} else if (ph == LWT_PH_CLOSING) {
			if (!strike(s, gen))
				continue;
			lwt_log_rl(LWT_LOG_WARN, "slot %d: still held by the data plane after a kill "
				   "(the command was lost): killing it again", i);
			lwt_cmd(d, LWT_CMD_KILL, i, NULL);
		} else {
			agree(s);
			continue;
		}
		s->c.rc_strikes = 0;
		d->slot_repairs++;
	}
}
