/* SPDX-License-Identifier: MIT */
/* Adaptive FEC control: which parity a session sends, from the loss the peer
 * reports and the RTT our keepalive probes measure (docs/PROTOCOL.md,
 * "Adaptive FEC").
 *
 * Loss the bridge or radio drops at random is what parity repairs; loss from
 * our own queue overflowing at a bottleneck is not: more parity there only
 * adds load to a full link. A report of loss is judged against an RTT sampled
 * right after it: if the smoothed RTT stands well above the path's minimum
 * (a queue is building), now or at the previous report, only the loss last measured without a queue earns
 * parity; the rest is congestion and never raises it. Parity rises to the
 * need at once and falls one step a report.
 *
 * One per slot, owned by the slot's poller (not thread safe); the counters
 * and figures under "published" are read by status threads (relaxed). */
#ifndef LWT_FECCTL_H
#define LWT_FECCTL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define LWT_FECCTL_CONG_MIN_US 1000	/* queue delay that means congestion: */
#define LWT_FECCTL_CONG_FRAC 2		/* srtt > min + max(1 ms, min / 2) */
#define LWT_FECCTL_MIN_WIN_NS (30000000000ull)	/* min RTT: over 2 windows of 30 s */
#define LWT_FECCTL_WAIT_NS (1000000000ull)	/* a probe unanswered this long: judge anyway */

struct lwt_fecctl {
	uint32_t key;			/* the peer, for the next session's start */
	int parity;			/* what the encoder sends now */
	uint32_t srtt_us;		/* EWMA 1/2 of probe RTTs, 0 = none yet */
	uint32_t min_us, prev_min_us;	/* this window's minimum, the last one's */
	uint64_t win_end_ns;
	bool pending;			/* a report waits for its RTT probe */
	enum { LWT_FECCTL_UNKNOWN, LWT_FECCTL_CLEAN, LWT_FECCTL_QUEUE }
		last_verdict;		/* the previous report's */
	uint32_t pending_ppm;
	uint32_t base_ppm;		/* loss last measured without a queue */
	uint64_t pending_ns;
	/* published */
	_Atomic uint64_t congestion_holds;	/* reports of loss judged congestion */
	_Atomic uint64_t raises, decays;	/* parity steps up / down */
	_Atomic uint32_t pub_srtt_us, pub_min_us;
};

/* A new session towards peer key (0 = none), sending parity now. */
void lwt_fecctl_init(struct lwt_fecctl *f, uint32_t key, int parity);
/* Parity to start a session towards key with (adaptive): the last one used
 * towards that peer by this process, else 0. */
int lwt_fecctl_start(uint32_t key, int ceiling);
/* An RTT sample (keepalive echo). */
void lwt_fecctl_rtt(struct lwt_fecctl *f, uint32_t rtt_us, uint64_t now_ns);
/* Is a queue building: srtt over min + max(1 ms, min / 2)? */
bool lwt_fecctl_congested(const struct lwt_fecctl *f);
/* The peer reported loss_ppm: held until the next RTT sample (the caller
 * sends a probe now) or until LWT_FECCTL_WAIT_NS pass without one. */
void lwt_fecctl_report(struct lwt_fecctl *f, uint32_t loss_ppm, uint64_t now_ns);
/* Judge the held report: the parity to send now (0..ceiling) for groups of k. */
int lwt_fecctl_decide(struct lwt_fecctl *f, int k, int ceiling);
/* Remember the parity towards the peer for its next session. */
void lwt_fecctl_remember(const struct lwt_fecctl *f);

#endif
