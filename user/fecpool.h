/* SPDX-License-Identifier: MIT */
/* The FEC buffer pool: the memory of FEC groups in flight, shared by all
 * the encoders and decoders of one data-plane poller, under one bound.
 *
 * A group takes a block when it opens and gives it back as soon as it is
 * complete (decoder: every data shard delivered, received or rebuilt;
 * encoder: its parity sent), so an idle peer holds none and the pool's
 * bytes in use follow the traffic. When a block would pass the bound, the
 * oldest evictable blocks (decoders' incomplete groups, oldest first) give
 * way: their owner is called back to forget the group's shards (it can no
 * longer be rebuilt; its data shards were delivered when they came) and
 * each is counted in evictions. An encoder's block is not evictable: when
 * it cannot have one, that group goes out without parity (counted in
 * refused). Freed blocks are kept for reuse (a few sizes: peers of one
 * poller mostly share a shape), up to an eighth of the bound.
 *
 * The pool also holds the decoder's work matrices (lwt_fecpool_scratch):
 * one set per poller instead of one per peer.
 *
 * One pool per poller thread: not thread safe, except lwt_fecpool_stats,
 * which any thread may call (relaxed counters). */
#ifndef LWT_FECPOOL_H
#define LWT_FECPOOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct lwt_fecpool_blk;
/* Called when the pool takes blk back from its owner (eviction): the
 * owner must drop every pointer into it; the pool frees it after. */
typedef void (*lwt_fecpool_evict_fn)(void *owner, struct lwt_fecpool_blk *blk, int tag);

struct lwt_fecpool_link {
	struct lwt_fecpool_link *prev, *next;
};

struct lwt_fecpool_blk {
	struct lwt_fecpool_link link;		/* first: held, oldest first; free list */
	size_t size;				/* of data[] */
	lwt_fecpool_evict_fn evict;		/* NULL: not evictable */
	void *owner;
	int tag;				/* the owner's (decoder: its group slot) */
	uint16_t len[256];			/* decoder: coded length held per shard */
	_Alignas(64) uint8_t data[];
};

#define LWT_FECPOOL_SIZES 4

struct lwt_fecpool_stats {
	uint64_t bound, in_use, peak, cached;	/* bytes */
	uint64_t groups;			/* blocks held now */
	uint64_t gets, evictions, refused, reused;
};

struct lwt_fecpool {
	size_t bound;
	struct lwt_fecpool_link head;		/* list of held blocks (sentinel) */
	struct {
		struct lwt_fecpool_blk *list;	/* cached blocks of size */
		size_t size;
	} free[LWT_FECPOOL_SIZES];
	size_t cached;
	uint8_t *scratch;			/* decoder work matrices, on first use */
	struct {
		_Atomic uint64_t in_use, peak, cached, groups, gets, evictions, refused, reused;
	} st;
};

/* A pool of at most bound bytes of blocks (data + header). */
struct lwt_fecpool *lwt_fecpool_create(size_t bound);
/* Frees the cached blocks and the scratch; every block must be back. */
void lwt_fecpool_destroy(struct lwt_fecpool *p);
/* A block of size bytes (data[]), for owner; evict NULL makes it not
 * evictable. Evicts the oldest evictable blocks if needed; NULL if it
 * still does not fit (counted in refused). */
struct lwt_fecpool_blk *lwt_fecpool_get(struct lwt_fecpool *p, size_t size, void *owner, int tag,
					lwt_fecpool_evict_fn evict);
/* Give a block back (NULL: nothing). */
void lwt_fecpool_put(struct lwt_fecpool *p, struct lwt_fecpool_blk *b);
/* The decoder's work area: LWT_FECPOOL_SCRATCH bytes, or NULL (no memory). */
#define LWT_FECPOOL_SCRATCH (640u << 10)
uint8_t *lwt_fecpool_scratch(struct lwt_fecpool *p);
void lwt_fecpool_stats(const struct lwt_fecpool *p, struct lwt_fecpool_stats *st);
/* The bound when none is configured: room for a receive queue's worth of
 * packets in full groups and two groups in flight per peer, groups of k+m
 * shards of pkt_max bytes; at least 1 MB. */
size_t lwt_fecpool_default_bytes(int peers, int recv_queue, int k, int m, size_t pkt_max);
/* Bytes a block of size bytes of data costs against the bound. */
size_t lwt_fecpool_cost(size_t size);

#endif
