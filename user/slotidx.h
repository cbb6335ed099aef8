/* SPDX-License-Identifier: MIT */
/* Constant-cost lookup of a daemon slot by a key it publishes: the outer
 * flow (struct lwt_slot.flow_key) or the tunnel IP (peer_tun_ip). Replaces
 * the walks over every slot that the data plane made per packet.
 *
 * Open addressing with linear probing, at most a quarter full (4 entries
 * a slot, a power of two). An entry is a slot index + 1: 0 empty,
 * LWT_SLOTIDX_TOMB removed. The key itself stays where it was, in the slot
 * (published with an atomic store as before): the table only says where to
 * look, and the reader confirms each candidate by the slot's key. So a
 * reader takes no lock, retries nothing, and can never get a wrong slot;
 * an entry changing under it can cost it at most a miss of a flow that is
 * being set up or torn down at that moment, as the walk could miss it.
 *
 * Writers are the pollers (each for its own slots: daemon.h), a few times
 * per session; they take the table's mutex. The path of a live entry from
 * its home holds no empty entry (writers keep that: a removed entry turns
 * into a tombstone, and tombstones turn empty only from the end of a run),
 * so a reader stops at the first empty entry. The hash is keyed by a
 * random seed: who chooses flows cannot choose where they land. */
#ifndef LWT_SLOTIDX_H
#define LWT_SLOTIDX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define LWT_SLOTIDX_TOMB UINT32_MAX

struct lwt_slotidx {
	_Atomic uint32_t *e;
	uint32_t mask;
	uint64_t seed;
	pthread_mutex_t lock;		/* writers */
};

/* Sized for nslots slots. 0 or -ENOMEM. */
int lwt_slotidx_init(struct lwt_slotidx *t, int nslots);
void lwt_slotidx_destroy(struct lwt_slotidx *t);
/* Slot now publishes key (0: none, nothing done). Once per key and slot. */
void lwt_slotidx_add(struct lwt_slotidx *t, uint64_t key, int slot);
/* Slot no longer publishes key. */
void lwt_slotidx_del(struct lwt_slotidx *t, uint64_t key, int slot);

static inline uint32_t lwt_slotidx_home(const struct lwt_slotidx *t, uint64_t key)
{
	uint64_t h = key ^ t->seed;

	/* murmur3's fmix64 */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h & t->mask;
}

/* Candidates for key, in probe order: it.pos from lwt_slotidx_home, it.left
 * the table's size; lwt_slotidx_next gives the next slot index or -1. The
 * caller checks each candidate's published key. Any thread. */
struct lwt_slotidx_it {
	uint32_t pos, left;
};

static inline struct lwt_slotidx_it lwt_slotidx_first(const struct lwt_slotidx *t, uint64_t key)
{
	if (!t->e)
		return (struct lwt_slotidx_it){ 0 };
	return (struct lwt_slotidx_it){ .pos = lwt_slotidx_home(t, key), .left = t->mask + 1 };
}

static inline int lwt_slotidx_next(const struct lwt_slotidx *t, struct lwt_slotidx_it *it)
{
	while (it->left) {
		uint32_t v = atomic_load_explicit(&t->e[it->pos], memory_order_acquire);

		it->pos = (it->pos + 1) & t->mask;
		it->left--;
		if (!v)
			break;
		if (v != LWT_SLOTIDX_TOMB)
			return (int)(v - 1);
	}
	it->left = 0;
	return -1;
}

/* The server's half-open flows (slots in handshake), for the caps on them
 * per source and per /24: an entry is a slot index + 1, 0 free. A poller
 * adds its slot when the slot takes a flow and drops its own entries once
 * their slots left the handshake; readers confirm an entry by the slot's
 * state and flow, as the slot walk did. Each poller holds under its share
 * of MAX_EMBRYONIC half-open slots and at most one entry a slot, so the
 * table never fills; if it did, the reader walks every slot again. */
#define LWT_HOSET_SIZE 256
struct lwt_hoset {
	_Atomic uint32_t e[LWT_HOSET_SIZE];
	_Atomic int full;		/* an add found no room: walk the slots */
};

#endif
