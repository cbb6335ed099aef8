// SPDX-License-Identifier: MIT
/* The slot index's writers (slotidx.h): the pollers, when a slot of theirs
 * takes or drops a flow or a tunnel IP. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "slotidx.h"

int lwt_slotidx_init(struct lwt_slotidx *t, int nslots)
{
	uint32_t size = 16;

	while (size < 4u * (uint32_t)(nslots > 0 ? nslots : 1))
		size <<= 1;
	t->e = calloc(size, sizeof(*t->e));
	if (!t->e)
		return -ENOMEM;
	t->mask = size - 1;
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t->e * 0x9e3779b97f4a7c15ull;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void lwt_slotidx_destroy(struct lwt_slotidx *t)
{
	if (!t->e)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->e);
	t->e = NULL;
}

static uint32_t get(struct lwt_slotidx *t, uint32_t p)
{
	return atomic_load_explicit(&t->e[p & t->mask], memory_order_relaxed);
}

static void set(struct lwt_slotidx *t, uint32_t p, uint32_t v)
{
	atomic_store_explicit(&t->e[p & t->mask], v, memory_order_release);
}

void lwt_slotidx_add(struct lwt_slotidx *t, uint64_t key, int slot)
{
	uint32_t home, p, free_at = UINT32_MAX, v, want = (uint32_t)slot + 1, n;

	if (!key || !t->e || slot < 0)
		return;
	home = lwt_slotidx_home(t, key);
	pthread_mutex_lock(&t->lock);
	/* The first free entry on the path, unless the slot is there already;
	 * at most a quarter of the table is live, so an empty one comes. */
	for (p = home, n = 0; n <= t->mask; p++, n++) {
		v = get(t, p);
		if (v == want)
			goto out;
		if (v == LWT_SLOTIDX_TOMB && free_at == UINT32_MAX)
			free_at = p;
		if (!v) {
			if (free_at == UINT32_MAX)
				free_at = p;
			break;
		}
	}
	if (free_at != UINT32_MAX)
		set(t, free_at, want);
out:
	pthread_mutex_unlock(&t->lock);
}

void lwt_slotidx_del(struct lwt_slotidx *t, uint64_t key, int slot)
{
	uint32_t p, v, want = (uint32_t)slot + 1, n;

	if (!key || !t->e || slot < 0)
		return;
	pthread_mutex_lock(&t->lock);
	for (p = lwt_slotidx_home(t, key), n = 0; n <= t->mask; p++, n++) {
		v = get(t, p);
		if (!v)
			break;
		if (v != want)
			continue;
		set(t, p, LWT_SLOTIDX_TOMB);
		/* A run of tombstones that ends in an empty entry is on no
		 * live entry's path: it turns empty, from its end back. */
		if (!get(t, p + 1))
			for (; get(t, p) == LWT_SLOTIDX_TOMB; p--)
				set(t, p, 0);
		break;
	}
	pthread_mutex_unlock(&t->lock);
}
