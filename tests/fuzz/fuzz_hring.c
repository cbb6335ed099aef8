// SPDX-License-Identifier: MIT
/* libFuzzer target: the handoff ring between pollers (lwt_hring_*), driven
 * by a script of pushes, peeks and pops read off the input and checked
 * against a plain FIFO model. Invariants:
 *  - every entry comes out once, in order, with its tag, length and bytes
 *    (written in place by the consumer or not), whole and inside the
 *    buffer, at a 16-byte boundary;
 *  - a push is refused with -EMSGSIZE exactly when the entry could never
 *    fit (more than half the ring) or its tag is the wrap marker's, and
 *    with -ENOBUFS only when the ring is really short of room: never when
 *    it is empty, never while the entries held (with the largest possible
 *    wrap filler) leave room for this one;
 *  - a refused push changes nothing; peek is empty exactly when the model
 *    is; the same entry is peeked until it is popped. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hring.h"
#include "fuzz.h"

#define MAXQ 4096

struct ment {
	uint32_t tag, len, seq;
};

static uint32_t span(uint32_t len)
{
	return (16 + len + 15) & ~15u;
}

/* Entry seq's bytes: a window of a fixed pseudo-random table. */
static uint8_t table[8192 + 65536];

static const uint8_t *pat(uint32_t seq)
{
	return table + (seq * 2654435761u) % 8192;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint32_t x = 1;

	for (size_t i = 0; i < sizeof(table); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		table[i] = (uint8_t)x;
	}
	fz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ment q[MAXQ];
	struct fz f = { data, size };
	struct lwt_hring r;
	uint32_t qh = 0, qn = 0, seq = 0, used = 0, tag, len;
	uint8_t *e;

	FZ_CHECK(lwt_hring_init(&r, 1024u << (fz_u8(&f) & 3)) == 0, "init");
	FZ_CHECK(r.size >= 4096 && !(r.size & (r.size - 1)), "size %u", r.size);
	while (f.n) {
		uint8_t op = fz_u8(&f);

		if (op < 0x80 && qn < MAXQ) {
			/* push: length from the op's low bits and a byte, tag from
			 * two bytes (0xffff means the wrap marker's tag) */
			uint32_t t16 = fz_u16(&f);

			tag = t16 == 0xffff ? UINT32_MAX : t16;
			len = (op & 0x40) ? ((uint32_t)(op & 0x3f) << 8 | fz_u8(&f)) % (r.size / 2 + 64) :
					    op & 0x3f;
			uint32_t h0 = atomic_load(&r.head), t0 = atomic_load(&r.tail);
			int rc = lwt_hring_push(&r, tag, pat(seq), len);
			bool never = tag == UINT32_MAX || len > r.size / 2 || span(len) > r.size / 2;

			FZ_CHECK(rc == 0 || rc == -ENOBUFS || rc == -EMSGSIZE, "push returned %d", rc);
			FZ_CHECK((rc == -EMSGSIZE) == never, "push of %u bytes tag %u: %d in a %u-byte ring",
				 len, tag, rc, r.size);
			if (rc == -ENOBUFS) {
				FZ_CHECK(qn && 2 * (used + span(len)) > r.size,
					 "no room for %u bytes with %u entries (%u bytes) in %u", len, qn,
					 used, r.size);
			}
			if (rc) {
				FZ_CHECK(atomic_load(&r.head) == h0 && atomic_load(&r.tail) == t0,
					 "a refused push moved the ring");
				continue;
			}
			q[(qh + qn) % MAXQ] = (struct ment){ tag, len, seq++ };
			qn++;
			used += span(len);
		} else if (op < 0xf0) {
			/* peek (twice), maybe write in place, pop */
			uint32_t t2, l2;

			e = lwt_hring_peek(&r, &tag, &len);
			FZ_CHECK(!e == !qn, "peek %s with %u entries held", e ? "found one" : "empty", qn);
			if (!e)
				continue;
			struct ment *m = &q[qh];

			FZ_CHECK(tag == m->tag && len == m->len, "entry %u: tag %u len %u, pushed %u/%u",
				 m->seq, tag, len, m->tag, m->len);
			FZ_CHECK(e >= r.buf && e + len <= r.buf + r.size && !((uintptr_t)(e - r.buf) % 16),
				 "entry %u at offset %td (+%u) of %u", m->seq, e - r.buf, len, r.size);
			FZ_CHECK(!memcmp(e, pat(m->seq), len), "entry %u: its bytes changed", m->seq);
			FZ_CHECK(lwt_hring_peek(&r, &t2, &l2) == e && t2 == tag && l2 == len,
				 "a second peek saw another entry");
			if (op & 1)
				memset(e, 0xa5, len);	/* the consumer owns it until pop */
			lwt_hring_pop(&r);
			qh = (qh + 1) % MAXQ;
			qn--;
			used -= span(len);
		} else {
			/* drain everything */
			while ((e = lwt_hring_peek(&r, &tag, &len))) {
				FZ_CHECK(qn && tag == q[qh].tag && len == q[qh].len,
					 "drain: entry out of order");
				lwt_hring_pop(&r);
				used -= span(q[qh].len);
				qh = (qh + 1) % MAXQ;
				qn--;
			}
			FZ_CHECK(!qn, "drained with %u entries unseen", qn);
		}
	}
	lwt_hring_uninit(&r);
	return 0;
}
