// SPDX-License-Identifier: MIT
/* A poller's per-slot timers; see slottimer.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "slottimer.h"

int lwt_stimer_init(struct lwt_stimer *t, int nslots)
{
	memset(t, 0, sizeof(*t));
	t->nslots = nslots;
	t->h = calloc(nslots, sizeof(*t->h));
	t->pos = malloc(nslots * sizeof(*t->pos));
	t->dirty = calloc(nslots, sizeof(*t->dirty));
	t->is_dirty = calloc(nslots, 1);
	if (!t->h || !t->pos || !t->dirty || !t->is_dirty) {
		lwt_stimer_uninit(t);
		return -ENOMEM;
	}
	for (int i = 0; i < nslots; i++)
		t->pos[i] = -1;
	return 0;
}

void lwt_stimer_uninit(struct lwt_stimer *t)
{
	free(t->h);
	free(t->pos);
	free(t->dirty);
	free(t->is_dirty);
	memset(t, 0, sizeof(*t));
}

static void place(struct lwt_stimer *t, int i, struct lwt_stimer_ent e)
{
	t->h[i] = e;
	t->pos[e.slot] = i;
}

static void sift_up(struct lwt_stimer *t, int i)
{
	struct lwt_stimer_ent e = t->h[i];

	while (i > 0 && t->h[(i - 1) / 2].at > e.at) {
		place(t, i, t->h[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(t, i, e);
}

static void sift_down(struct lwt_stimer *t, int i)
{
	struct lwt_stimer_ent e = t->h[i];
	int c;

	while ((c = 2 * i + 1) < t->n) {
		if (c + 1 < t->n && t->h[c + 1].at < t->h[c].at)
			c++;
		if (t->h[c].at >= e.at)
			break;
		place(t, i, t->h[c]);
		i = c;
	}
	place(t, i, e);
}

static void remove_at(struct lwt_stimer *t, int i)
{
	int slot = t->h[i].slot;
	struct lwt_stimer_ent last;

	t->n--;
	t->pos[slot] = -1;
	if (i == t->n)
		return;
	last = t->h[t->n];
	place(t, i, last);
	sift_down(t, i);
	sift_up(t, t->pos[last.slot]);
}

void lwt_stimer_set(struct lwt_stimer *t, int slot, uint64_t at)
{
	int i;

	if (slot < 0 || slot >= t->nslots)
		return;
	i = t->pos[slot];
	if (!at) {
		if (i >= 0)
			remove_at(t, i);
		return;
	}
	if (i < 0) {
		i = t->n++;
		place(t, i, (struct lwt_stimer_ent){ at, slot });
		sift_up(t, i);
		return;
	}
	t->h[i].at = at;
	sift_up(t, i);
	sift_down(t, t->pos[slot]);
}

uint64_t lwt_stimer_next(const struct lwt_stimer *t)
{
	return t->n ? t->h[0].at : 0;
}

int lwt_stimer_pop_due(struct lwt_stimer *t, uint64_t now)
{
	int slot;

	if (!t->n || t->h[0].at > now)
		return -1;
	slot = t->h[0].slot;
	remove_at(t, 0);
	return slot;
}

void lwt_stimer_touch(struct lwt_stimer *t, int slot)
{
	if (slot < 0 || slot >= t->nslots || t->is_dirty[slot])
		return;
	t->is_dirty[slot] = 1;
	t->dirty[t->ndirty++] = slot;
}

void lwt_stimer_clear_dirty(struct lwt_stimer *t)
{
	for (int i = 0; i < t->ndirty; i++)
		t->is_dirty[t->dirty[i]] = 0;
	t->ndirty = 0;
}
