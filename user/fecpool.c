// SPDX-License-Identifier: MIT
/* The FEC buffer pool shared by one poller's peers; see fecpool.h. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "fecpool.h"

#define ST_SET(p, f, v) atomic_store_explicit(&(p)->st.f, (v), memory_order_relaxed)
#define ST_GET(p, f) atomic_load_explicit(&(p)->st.f, memory_order_relaxed)
#define ST_INC(p, f) ST_SET(p, f, ST_GET(p, f) + 1)	/* one writer: the owning poller */

_Static_assert(offsetof(struct lwt_fecpool_blk, link) == 0, "a list link is its block");

size_t lwt_fecpool_cost(size_t size)
{
	return sizeof(struct lwt_fecpool_blk) + size;
}

size_t lwt_fecpool_default_bytes(int peers, int recv_queue, int k, int m, size_t pkt_max)
{
	size_t group = lwt_fecpool_cost((size_t)(k + m) * (pkt_max + 2));
	size_t n = (size_t)(k > 0 ? recv_queue / k : recv_queue) + 2 * (size_t)peers;

	return n * group > (1u << 20) ? n * group : 1u << 20;
}

struct lwt_fecpool *lwt_fecpool_create(size_t bound)
{
	struct lwt_fecpool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->bound = bound;
	p->head.prev = p->head.next = &p->head;
	return p;
}

static void drop_cache(struct lwt_fecpool *p)
{
	for (int i = 0; i < LWT_FECPOOL_SIZES; i++) {
		while (p->free[i].list) {
			struct lwt_fecpool_blk *b = p->free[i].list;

			p->free[i].list = (struct lwt_fecpool_blk *)b->link.next;
			free(b);
		}
		p->free[i].size = 0;
	}
	p->cached = 0;
	ST_SET(p, cached, 0);
}

/* The cache of blocks of size: its class, one taken if none has it yet
 * (a class is taken for good: a pool sees few shapes); NULL if all are. */
static int size_class(struct lwt_fecpool *p, size_t size)
{
	int i;

	for (i = 0; i < LWT_FECPOOL_SIZES; i++)
		if (p->free[i].size == size)
			return i;
	for (i = 0; i < LWT_FECPOOL_SIZES; i++)
		if (!p->free[i].size) {
			p->free[i].size = size;
			return i;
		}
	return -1;
}

void lwt_fecpool_destroy(struct lwt_fecpool *p)
{
	if (!p)
		return;
	drop_cache(p);
	free(p->scratch);
	free(p);
}

static void unlink_blk(struct lwt_fecpool *p, struct lwt_fecpool_blk *b)
{
	b->link.prev->next = b->link.next;
	b->link.next->prev = b->link.prev;
	b->link.prev = b->link.next = NULL;
	ST_SET(p, in_use, ST_GET(p, in_use) - lwt_fecpool_cost(b->size));
	ST_SET(p, groups, ST_GET(p, groups) - 1);
}

/* Free a block that is off the list: into the cache if it has the size
 * the cache holds and room, else to the allocator. */
static void release(struct lwt_fecpool *p, struct lwt_fecpool_blk *b)
{
	size_t cost = lwt_fecpool_cost(b->size);
	int c = size_class(p, b->size);

	if (c >= 0 && p->cached + cost <= p->bound / 8) {
		b->link.next = (struct lwt_fecpool_link *)p->free[c].list;
		p->free[c].list = b;
		p->cached += cost;
		ST_SET(p, cached, p->cached);
		return;
	}
	free(b);
}

/* Evict the oldest evictable block; false if there is none. */
static bool evict_one(struct lwt_fecpool *p)
{
	struct lwt_fecpool_link *l;
	struct lwt_fecpool_blk *b = NULL;

	for (l = p->head.next; l != &p->head; l = l->next)
		if (((struct lwt_fecpool_blk *)l)->evict)
			break;
	if (l == &p->head)
		return false;
	b = (struct lwt_fecpool_blk *)l;	/* link is its first member */
	unlink_blk(p, b);
	b->evict(b->owner, b, b->tag);
	ST_INC(p, evictions);
	release(p, b);
	return true;
}

struct lwt_fecpool_blk *lwt_fecpool_get(struct lwt_fecpool *p, size_t size, void *owner, int tag,
					lwt_fecpool_evict_fn evict)
{
	size_t cost = lwt_fecpool_cost(size), in_use;
	struct lwt_fecpool_blk *b = NULL;
	int c;

	ST_INC(p, gets);
	while (ST_GET(p, in_use) + cost > p->bound)
		if (!evict_one(p)) {
			ST_INC(p, refused);
			return NULL;
		}
	c = size_class(p, size);
	if (c >= 0 && p->free[c].list) {
		b = p->free[c].list;
		p->free[c].list = (struct lwt_fecpool_blk *)b->link.next;
		p->cached -= cost;
		ST_SET(p, cached, p->cached);
		ST_INC(p, reused);
	} else {
		b = malloc(cost);
		if (!b) {
			ST_INC(p, refused);
			return NULL;
		}
	}
	b->size = size;
	b->owner = owner;
	b->tag = tag;
	b->evict = evict;
	b->link.prev = p->head.prev;
	b->link.next = &p->head;
	p->head.prev->next = &b->link;
	p->head.prev = &b->link;
	in_use = ST_GET(p, in_use) + cost;
	ST_SET(p, in_use, in_use);
	if (in_use > ST_GET(p, peak))
		ST_SET(p, peak, in_use);
	ST_SET(p, groups, ST_GET(p, groups) + 1);
	return b;
}

void lwt_fecpool_put(struct lwt_fecpool *p, struct lwt_fecpool_blk *b)
{
	if (!b)
		return;
	unlink_blk(p, b);
	release(p, b);
}

uint8_t *lwt_fecpool_scratch(struct lwt_fecpool *p)
{
	if (!p->scratch)
		p->scratch = malloc(LWT_FECPOOL_SCRATCH);
	return p->scratch;
}

void lwt_fecpool_stats(const struct lwt_fecpool *p, struct lwt_fecpool_stats *st)
{
	st->bound = p->bound;
	st->in_use = ST_GET(p, in_use);
	st->peak = ST_GET(p, peak);
	st->cached = ST_GET(p, cached);
	st->groups = ST_GET(p, groups);
	st->gets = ST_GET(p, gets);
	st->evictions = ST_GET(p, evictions);
	st->refused = ST_GET(p, refused);
	st->reused = ST_GET(p, reused);
}
