/* SPDX-License-Identifier: MIT */
/* Kernel tuning (enable_kernel_tune, -kernel-tune; default on): the
 * settings of the kernel that measurably help lwt's data paths, and only
 * those (tests/bench/ktune.sh measures each against the kernel's default).
 *
 *   TUN txqueuelen  500 -> LWT_KTUNE_TXQLEN packets. The queue of the TUN
 *                   is where the kernel holds the inner packets a poller
 *                   has not read yet; at 500 a poller that is off the CPU
 *                   for a few ms (a loaded host) loses inner UDP (TUN
 *                   tx_dropped). The TUN is lwt's own and goes with the
 *                   last fd, so nothing outlives the daemon, not even a
 *                   kill -9; a persistent TUN (made by `ip tuntap`) is the
 *                   admin's and is left alone.
 *
 * No sysctl is changed: on the kernels lwt runs on, the ones that could
 * matter are either global (net.core.netdev_max_backlog, busy_poll,
 * busy_read: one value for every namespace; net.core.{r,w}mem_{max,default}
 * are read-only outside the initial namespace since 6.x) or do not reach
 * lwt's paths (its raw sockets size their buffers with SO_*BUFFORCE, an
 * AF_XDP socket has rings, not a buffer), and none showed a gain; see
 * lightweight-tunnel.json(5). The results are kept for lwt-ctl status.
 * Control thread only, at start. */
#ifndef LWT_KTUNE_H
#define LWT_KTUNE_H

#include <stdbool.h>

#define LWT_KTUNE_TXQLEN 4000	/* TUN transmit queue, packets */

struct lwt_tun;

struct lwt_ktune {
	bool enabled;		/* enable_kernel_tune */
	int txqlen_from;	/* the TUN's queue before, after; equal = unchanged */
	int txqlen_to;
	char note[128];		/* why nothing changed ("" when something did) */
};

/* Apply the settings to the TUN t (before it is up) and log one line of
 * what changed. A failure is logged and leaves the kernel's value: lwt
 * runs as well without. */
void lwt_ktune_apply(struct lwt_ktune *k, const struct lwt_tun *t, bool enabled);
/* One line for lwt-ctl status / the log: "TUN lwt0 txqueuelen 500 -> 4000". */
void lwt_ktune_describe(const struct lwt_ktune *k, const char *tun, char *buf, size_t len);

#endif
