/* SPDX-License-Identifier: MIT */
/* Single-producer single-consumer byte ring for handing packets between two
 * poller threads: no lock, no allocation after create. Entries are variable
 * length (a GRO-merged segment may be 64 KB) and never split: an entry that
 * does not fit before the end of the buffer leaves a wrap marker there and
 * starts at the front. */
#ifndef LWT_HRING_H
#define LWT_HRING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct lwt_hring {
	_Atomic uint32_t head;		/* consumer: bytes consumed */
	char pad0[64 - sizeof(uint32_t)];
	_Atomic uint32_t tail;		/* producer: bytes produced */
	char pad1[64 - sizeof(uint32_t)];
	uint32_t size;			/* a power of two */
	uint8_t *buf;
};

/* size: bytes, rounded up to a power of two (at least 4 KB, at most 1 GB).
 * 0 or -ENOMEM. */
int lwt_hring_init(struct lwt_hring *r, uint32_t size);
void lwt_hring_uninit(struct lwt_hring *r);
/* Producer: copy len bytes with a caller tag (not UINT32_MAX, which marks
 * the wrap) in. 0, or -ENOBUFS when full (nothing written), -EMSGSIZE when
 * it could never fit (more than about half the ring) or the tag is taken. */
int lwt_hring_push(struct lwt_hring *r, uint32_t tag, const void *p, uint32_t len);
/* Consumer: the oldest entry (in place, writable until lwt_hring_pop), or
 * NULL when empty. */
uint8_t *lwt_hring_peek(struct lwt_hring *r, uint32_t *tag, uint32_t *len);
void lwt_hring_pop(struct lwt_hring *r);

#endif
