// SPDX-License-Identifier: MIT
/* faketcp_pacing_us (pace.h). */
#include "pace.h"

void lwt_pace_init(struct lwt_pace *p, uint64_t interval_ns, uint64_t now_ns)
{
	p->ns = interval_ns;
	p->last_ns = now_ns;
	p->credit_ns = (int64_t)interval_ns;	/* the first segment goes at once */
}

static void refill(struct lwt_pace *p, uint64_t now_ns)
{
	if (now_ns > p->last_ns) {
		p->credit_ns += (int64_t)(now_ns - p->last_ns);
		if (p->credit_ns > (int64_t)p->ns)
			p->credit_ns = (int64_t)p->ns;	/* no bursts after idle */
	}
	p->last_ns = now_ns;
}

int lwt_pace_allow(struct lwt_pace *p, uint64_t now_ns)
{
	if (!p->ns)
		return 1 << 30;
	refill(p, now_ns);
	return p->credit_ns >= (int64_t)p->ns ? 1 : 0;
}

uint64_t lwt_pace_next(const struct lwt_pace *p, uint64_t now_ns)
{
	int64_t credit = p->credit_ns;

	if (!p->ns)
		return now_ns;
	if (now_ns > p->last_ns)
		credit += (int64_t)(now_ns - p->last_ns);
	return credit >= (int64_t)p->ns ? now_ns : now_ns + (uint64_t)((int64_t)p->ns - credit);
}

void lwt_pace_charge(struct lwt_pace *p, uint64_t segs)
{
	if (p->ns)
		p->credit_ns -= (int64_t)(segs * p->ns);
}
