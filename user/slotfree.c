// SPDX-License-Identifier: MIT
/* A poller's free slots and handshake count (slotfree.h). */
#include <errno.h>
#include <stdlib.h>

#include "daemon.h"
#include "slotfree.h"

int lwt_slotfree_init(struct lwt_slotfree *f, int id, int np, int nslots)
{
	int own = id < nslots ? (nslots - id + np - 1) / np : 0, k;

	*f = (struct lwt_slotfree){ .id = id, .np = np, .nslots = nslots, .nwords = (own + 63) / 64 };
	f->bits = calloc(f->nwords ? f->nwords : 1, sizeof(*f->bits));
	if (!f->bits)
		return -ENOMEM;
	for (k = 0; k < own; k++)
		f->bits[k / 64] |= 1ull << (k % 64);
	atomic_store_explicit(&f->nfree, own, memory_order_relaxed);
	return 0;
}

void lwt_slotfree_uninit(struct lwt_slotfree *f)
{
	free(f->bits);
	f->bits = NULL;
}

void lwt_slotfree_move(struct lwt_slotfree *f, int slot, int from, int to)
{
	int k = (slot - f->id) / f->np;

	if (!f->bits || slot < 0 || slot >= f->nslots || slot % f->np != f->id || from == to)
		return;
	if (from == LWT_SLOT_FREE) {
		f->bits[k / 64] &= ~(1ull << (k % 64));
		atomic_store_explicit(&f->nfree, atomic_load_explicit(&f->nfree, memory_order_relaxed) - 1,
				      memory_order_relaxed);
	} else if (to == LWT_SLOT_FREE) {
		f->bits[k / 64] |= 1ull << (k % 64);
		atomic_store_explicit(&f->nfree, atomic_load_explicit(&f->nfree, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	}
	f->nhs += (to == LWT_SLOT_HANDSHAKE) - (from == LWT_SLOT_HANDSHAKE);
}

int lwt_slotfree_first(const struct lwt_slotfree *f)
{
	for (int w = 0; f->bits && w < f->nwords; w++)
		if (f->bits[w])
			return f->id + (w * 64 + __builtin_ctzll(f->bits[w])) * f->np;
	return -1;
}
