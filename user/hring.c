// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hring.h"

#define ALIGN 16u
#define WRAP UINT32_MAX		/* tag of the filler at the buffer's end */

struct ent {
	uint32_t len;		/* payload bytes */
	uint32_t tag;
	uint32_t span;		/* bytes the entry takes, header included */
	uint32_t pad;
};

static uint32_t span_of(uint32_t len)
{
	return (uint32_t)(sizeof(struct ent) + len + ALIGN - 1) & ~(ALIGN - 1);
}

int lwt_hring_init(struct lwt_hring *r, uint32_t size)
{
	uint32_t s = 4096;

	while (s < size && s < (1u << 30))
		s <<= 1;
	memset(r, 0, sizeof(*r));
	r->buf = aligned_alloc(64, s);
	if (!r->buf)
		return -ENOMEM;
	r->size = s;
	return 0;
}

void lwt_hring_uninit(struct lwt_hring *r)
{
	free(r->buf);
	r->buf = NULL;
}

int lwt_hring_push(struct lwt_hring *r, uint32_t tag, const void *p, uint32_t len)
{
	uint32_t need = span_of(len), tail, head, pos, room, contig;
	struct ent *e;

	if (tag == WRAP || len > r->size / 2 || need > r->size / 2)
		return -EMSGSIZE;
	tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	head = atomic_load_explicit(&r->head, memory_order_acquire);
	room = r->size - (tail - head);
	pos = tail & (r->size - 1);
	contig = r->size - pos;
	if (contig < need) {
		/* Filler to the end, then the entry at the front. */
		if (room < contig + need)
			return -ENOBUFS;
		e = (struct ent *)(r->buf + pos);
		e->tag = WRAP;
		e->span = contig;
		e->len = 0;
		tail += contig;
		pos = 0;
	} else if (room < need) {
		return -ENOBUFS;
	}
	e = (struct ent *)(r->buf + pos);
	e->len = len;
	e->tag = tag;
	e->span = need;
	if (len)
		memcpy(e + 1, p, len);
	atomic_store_explicit(&r->tail, tail + need, memory_order_release);
	return 0;
}

uint8_t *lwt_hring_peek(struct lwt_hring *r, uint32_t *tag, uint32_t *len)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	struct ent *e;

	for (;;) {
		if (head == tail)
			return NULL;
		e = (struct ent *)(r->buf + (head & (r->size - 1)));
		if (e->tag != WRAP)
			break;
		head += e->span;
		atomic_store_explicit(&r->head, head, memory_order_release);
	}
	*tag = e->tag;
	*len = e->len;
	return (uint8_t *)(e + 1);
}

void lwt_hring_pop(struct lwt_hring *r)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	struct ent *e = (struct ent *)(r->buf + (head & (r->size - 1)));

	atomic_store_explicit(&r->head, head + e->span, memory_order_release);
}
