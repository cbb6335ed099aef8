// SPDX-License-Identifier: MIT
/* Adaptive FEC control: random loss raises parity, congestion does not; see
 * fecctl.h for the contract and docs/PROTOCOL.md for the rule. */
#include <string.h>

#include "fec.h"
#include "fecctl.h"

/* The last parity towards each recent peer (server: by client tunnel IP,
 * client: by server address), so that a new session starts from what the
 * path has shown instead of from nothing. Pollers write, the control thread
 * reads: relaxed atomics, a lost race only costs a start at 0. */
#define MEMO_SLOTS 256
static _Atomic uint64_t memo[MEMO_SLOTS];	/* key << 32 | (parity + 1) */

static unsigned int memo_at(uint32_t key)
{
	return (key * 2654435761u) >> 24;	/* Knuth's multiplicative hash, 8 bits */
}

int lwt_fecctl_start(uint32_t key, int ceiling)
{
	uint64_t v;
	int p;

	if (!key)
		return 0;
	v = atomic_load_explicit(&memo[memo_at(key)], memory_order_relaxed);
	if ((uint32_t)(v >> 32) != key || !(uint32_t)v)
		return 0;
	p = (int)(uint32_t)v - 1;
	return p > ceiling ? ceiling : p;
}

void lwt_fecctl_remember(const struct lwt_fecctl *f)
{
	if (f->key)
		atomic_store_explicit(&memo[memo_at(f->key)],
				      (uint64_t)f->key << 32 | (uint32_t)(f->parity + 1),
				      memory_order_relaxed);
}

void lwt_fecctl_init(struct lwt_fecctl *f, uint32_t key, int parity)
{
	f->key = key;
	f->parity = parity;
	f->srtt_us = f->min_us = f->prev_min_us = 0;
	f->win_end_ns = 0;
	f->pending = false;
	f->last_verdict = LWT_FECCTL_UNKNOWN;
	f->base_ppm = 0;
	atomic_store_explicit(&f->congestion_holds, 0, memory_order_relaxed);
	atomic_store_explicit(&f->raises, 0, memory_order_relaxed);
	atomic_store_explicit(&f->decays, 0, memory_order_relaxed);
	atomic_store_explicit(&f->pub_srtt_us, 0, memory_order_relaxed);
	atomic_store_explicit(&f->pub_min_us, 0, memory_order_relaxed);
}

void lwt_fecctl_rtt(struct lwt_fecctl *f, uint32_t rtt_us, uint64_t now_ns)
{
	/* The path's minimum over the last 30..60 s: long enough that a queue
	 * kept full for a while is still seen as one, short enough that a new,
	 * longer route is learnt within a minute. */
	if (now_ns >= f->win_end_ns) {
		f->prev_min_us = f->min_us;
		f->min_us = 0;
		f->win_end_ns = now_ns + LWT_FECCTL_MIN_WIN_NS;
	}
	if (!f->min_us || rtt_us < f->min_us)
		f->min_us = rtt_us;
	f->srtt_us = f->srtt_us ? (f->srtt_us + rtt_us) / 2 : rtt_us;
	atomic_store_explicit(&f->pub_srtt_us, f->srtt_us, memory_order_relaxed);
	atomic_store_explicit(&f->pub_min_us, f->prev_min_us && f->prev_min_us < f->min_us ?
			      f->prev_min_us : f->min_us, memory_order_relaxed);
}

bool lwt_fecctl_congested(const struct lwt_fecctl *f)
{
	uint32_t min = f->min_us, slack;

	if (f->prev_min_us && f->prev_min_us < min)
		min = f->prev_min_us;
	if (!f->srtt_us)
		return false;		/* nothing measured yet: no verdict */
	slack = min / LWT_FECCTL_CONG_FRAC;
	if (slack < LWT_FECCTL_CONG_MIN_US)
		slack = LWT_FECCTL_CONG_MIN_US;
	return f->srtt_us > min + slack;
}

void lwt_fecctl_report(struct lwt_fecctl *f, uint32_t loss_ppm, uint64_t now_ns)
{
	f->pending = true;
	f->pending_ppm = loss_ppm;
	f->pending_ns = now_ns;
}

int lwt_fecctl_decide(struct lwt_fecctl *f, int k, int ceiling)
{
	uint32_t ppm = f->pending_ppm;
	int want = lwt_fec_adaptive_parity(ppm, k, ceiling), p = f->parity, base;
	bool queue = lwt_fecctl_congested(f);

	f->pending = false;
	/* A queue now or at the previous report: a full queue empties between
	 * the sawteeth of the flows that fill it, and one probe that finds it
	 * empty must not turn the loss that queue made into "random". A
	 * session's first report has no previous verdict: it waits for one
	 * (held, but not counted as congestion). */
	if (queue || f->last_verdict != LWT_FECCTL_CLEAN) {
		/* What was lost beyond the loss the path showed without a
		 * queue is ours. Parity for that random part only; no load
		 * added for the rest. */
		if (ppm < f->base_ppm)
			f->base_ppm = ppm;
		base = lwt_fec_adaptive_parity(f->base_ppm, k, ceiling);
		if (want > base) {
			if (queue || f->last_verdict == LWT_FECCTL_QUEUE)
				atomic_fetch_add_explicit(&f->congestion_holds, 1,
							  memory_order_relaxed);
			want = base;
		}
	} else {
		f->base_ppm = ppm;
	}
	f->last_verdict = queue ? LWT_FECCTL_QUEUE : LWT_FECCTL_CLEAN;
	if (want > p) {
		p = want;
		atomic_fetch_add_explicit(&f->raises, 1, memory_order_relaxed);
	} else if (want < p) {
		/* One step a report: a gap between bursts of loss does not
		 * switch parity off and on. */
		p--;
		atomic_fetch_add_explicit(&f->decays, 1, memory_order_relaxed);
	}
	if (p > ceiling)
		p = ceiling;
	f->parity = p;
	lwt_fecctl_remember(f);
	return p;
}
