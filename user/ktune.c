// SPDX-License-Identifier: MIT
/* Kernel tuning: see ktune.h for what is tuned and why nothing else is.
 * Called by main.c once the TUN exists and before it is configured. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

#include "ktune.h"
#include "log.h"
#include "netlink.h"
#include "tun.h"

/* A persistent TUN outlives the daemon (and was made by someone else):
 * what lwt changed on it would stay. */
static bool tun_persistent(const struct lwt_tun *t)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(t->fd, TUNGETIFF, &ifr) < 0)
		return false;
	return ifr.ifr_flags & IFF_PERSIST;
}

void lwt_ktune_describe(const struct lwt_ktune *k, const char *tun, char *buf, size_t len)
{
	if (!k->enabled)
		snprintf(buf, len, "off (enable_kernel_tune)");
	else if (k->txqlen_to != k->txqlen_from)
		snprintf(buf, len, "TUN %s txqueuelen %d -> %d", tun, k->txqlen_from, k->txqlen_to);
	else
		snprintf(buf, len, "nothing changed (%s)", k->note);
}

void lwt_ktune_apply(struct lwt_ktune *k, const struct lwt_tun *t, bool enabled)
{
	char line[192];
	int q, err;

	memset(k, 0, sizeof(*k));
	k->enabled = enabled;
	if (!enabled)
		return;
	q = lwt_nl_link_txqlen(t->ifindex);
	if (q < 0) {
		snprintf(k->note, sizeof(k->note), "couldn't read the txqueuelen of '%s': %s",
			 t->name, strerror(-q));
	} else {
		k->txqlen_from = k->txqlen_to = q;
		if (tun_persistent(t))
			snprintf(k->note, sizeof(k->note),
				 "TUN %s is persistent, not lwt's: its txqueuelen %d kept", t->name, q);
		else if (q >= LWT_KTUNE_TXQLEN)
			snprintf(k->note, sizeof(k->note), "TUN %s txqueuelen already %d", t->name, q);
		else if ((err = lwt_nl_link_set_txqlen(t->ifindex, LWT_KTUNE_TXQLEN)))
			snprintf(k->note, sizeof(k->note), "couldn't set the txqueuelen of '%s': %s",
				 t->name, strerror(-err));
		else
			k->txqlen_to = LWT_KTUNE_TXQLEN;
	}
	lwt_ktune_describe(k, t->name, line, sizeof(line));
	lwt_info("kernel tuning: %s; no sysctl changed (none helps lwt: lightweight-tunnel.json(5))",
		 line);
}
