/* SPDX-License-Identifier: MIT */
/* IPv6 look-ups of the data plane (inet6.h). A slot's exact IPv6 tunnel
 * address goes through the slot index (slotidx.h) under the key
 * lwt_in6_key(); advertised IPv6 routes through struct lwt_rt6, a longest-
 * prefix-match table: one hash over (prefix length, masked address) and the
 * distinct prefix lengths in use, longest first. A look-up probes the hash
 * once per distinct length (at most 129, in practice a handful), whatever
 * the number of routes or clients. Built by the control thread, one copy
 * per poller, never changed after (a new set of routes is a new table). */
#ifndef LWT_IN6IDX_H
#define LWT_IN6IDX_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct lwt_rt6_ent {
	uint8_t net[16];		/* host bits clear */
	uint8_t prefix;
	int slot;
	uint32_t gen;
};

struct lwt_rt6 {
	int n;
	int nlens;
	uint8_t lens[129];		/* distinct prefix lengths, longest first */
	uint32_t mask;			/* hash size - 1 */
	int32_t *h;			/* entry index + 1; 0 empty */
	struct lwt_rt6_ent e[];
};

/* A table of n entries (duplicates: the first wins), or NULL (ENOMEM).
 * free() it. */
struct lwt_rt6 *lwt_rt6_build(const struct lwt_rt6_ent *e, int n);
/* The entry of the longest prefix holding a, or -1. */
int lwt_rt6_lookup(const struct lwt_rt6 *t, const uint8_t a[16]);

/* a with the bits past prefix cleared, into out. */
void lwt_in6_mask(const uint8_t a[16], int prefix, uint8_t out[16]);
/* a inside net/prefix. */
bool lwt_in6_within(const uint8_t a[16], const uint8_t net[16], int prefix);
/* The two prefixes share addresses. */
bool lwt_in6_overlap(const uint8_t an[16], int ap, const uint8_t bn[16], int bp);

static inline uint64_t lwt_in6_key(const uint8_t a[16])
{
	uint64_t hi, lo;

	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	return hi ^ (lo * 0x9e3779b97f4a7c15ull) ^ (lo >> 29);
}

#endif
