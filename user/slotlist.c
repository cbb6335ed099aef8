// SPDX-License-Identifier: MIT
/* The control thread's sets of slots (slotlist.h). */
#include <errno.h>
#include <stdlib.h>

#include "daemon.h"
#include "slotlist.h"

int lwt_slotlist_init(struct lwt_slotlist *l, struct lwt_slot *base, int nslots)
{
	int i;

	*l = (struct lwt_slotlist){ .nslots = nslots, .base = base, .head = -1, .tail = -1 };
	l->next = malloc(nslots * sizeof(*l->next));
	l->prev = malloc(nslots * sizeof(*l->prev));
	l->phase = calloc(nslots, sizeof(*l->phase));
	l->ip = calloc(nslots, sizeof(*l->ip));
	l->up_at = malloc(nslots * sizeof(*l->up_at));
	l->up_slot = malloc(nslots * sizeof(*l->up_slot));
	l->up_ip = malloc(nslots * sizeof(*l->up_ip));
	l->due = calloc(nslots, sizeof(*l->due));
	if (!l->next || !l->prev || !l->phase || !l->ip || !l->up_at || !l->up_slot || !l->up_ip || !l->due ||
	    lwt_slotidx_init(&l->by_ip, nslots)) {
		lwt_slotlist_destroy(l);
		return -ENOMEM;
	}
	for (i = 0; i < nslots; i++) {
		l->next[i] = l->prev[i] = l->up_at[i] = -1;
		if (base)
			base[i].track = l;
	}
	return 0;
}

void lwt_slotlist_destroy(struct lwt_slotlist *l)
{
	free(l->next);
	free(l->prev);
	free(l->phase);
	free(l->ip);
	free(l->up_at);
	free(l->up_slot);
	free(l->up_ip);
	free(l->due);
	lwt_slotidx_destroy(&l->by_ip);
	*l = (struct lwt_slotlist){ .head = -1, .tail = -1 };
}

static void activate(struct lwt_slotlist *l, int i)
{
	l->prev[i] = l->tail;
	l->next[i] = -1;
	if (l->tail >= 0)
		l->next[l->tail] = i;
	else
		l->head = i;
	l->tail = i;
	l->nactive++;
}

/* Out of the list; next[i] stays, for a walk that stands on i. */
static void deactivate(struct lwt_slotlist *l, int i)
{
	if (l->prev[i] >= 0)
		l->next[l->prev[i]] = l->next[i];
	else
		l->head = l->next[i];
	if (l->next[i] >= 0)
		l->prev[l->next[i]] = l->prev[i];
	else
		l->tail = l->prev[i];
	l->prev[i] = -1;
	l->nactive--;
}

static void up_add(struct lwt_slotlist *l, int i, uint32_t ip)
{
	l->up_at[i] = l->nup;
	l->up_slot[l->nup] = i;
	l->up_ip[l->nup++] = ip;
}

/* The last entry takes the place of slot i's. */
static void up_del(struct lwt_slotlist *l, int i)
{
	int k = l->up_at[i], last = l->up_slot[--l->nup];

	l->up_slot[k] = last;
	l->up_ip[k] = l->up_ip[l->nup];
	l->up_at[last] = k;
	l->up_at[i] = -1;
}

void lwt_slotlist_set(struct lwt_slotlist *l, int i, int phase, uint32_t tun_ip)
{
	uint32_t ip;
	int was;

	if (!l->next || i < 0 || i >= l->nslots)
		return;
	was = l->phase[i];
	if ((was != LWT_PH_FREE) != (phase != LWT_PH_FREE)) {
		if (phase != LWT_PH_FREE)
			activate(l, i);
		else
			deactivate(l, i);
	}
	if (was == LWT_PH_UP && phase != LWT_PH_UP)
		up_del(l, i);
	else if (was != LWT_PH_UP && phase == LWT_PH_UP)
		up_add(l, i, tun_ip);
	else if (phase == LWT_PH_UP)
		l->up_ip[l->up_at[i]] = tun_ip;
	if (phase != was)
		l->due[i] = 0;
	l->phase[i] = (uint8_t)phase;
	ip = phase == LWT_PH_HELLO || phase == LWT_PH_UP ? tun_ip : 0;
	if (ip != l->ip[i]) {
		lwt_slotidx_del(&l->by_ip, l->ip[i], i);
		lwt_slotidx_add(&l->by_ip, ip, i);
		l->ip[i] = ip;
	}
}

bool lwt_slotlist_resting(const struct lwt_slotlist *l, int slot, uint64_t now)
{
	return l->due && l->phase[slot] == LWT_PH_UP && l->due[slot] > now;
}

void lwt_slotlist_note(struct lwt_slot *s)
{
	struct lwt_slotlist *l = s->track;

	if (l && l->base)
		lwt_slotlist_set(l, (int)(s - l->base), s->c.phase, s->c.tun_ip);
}
