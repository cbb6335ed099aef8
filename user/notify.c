// SPDX-License-Identifier: MIT
/* sd_notify for Type=notify units (notify.h). The STATUS line names the
 * data path and the sessions, as `systemctl status` shows it; it is sent
 * when it changes, never per packet. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"

static char last_status[400];
static unsigned long long wd_every_ns, wd_next_ns, status_next_ns;
static bool wd_checked;

static void status_line(struct lwt_daemon *d, char *buf, size_t len)
{
	int up = d->slist.nup;

	if (d->cfg.mode == LWT_MODE_SERVER)
		snprintf(buf, len, "path %s%s%s, %d client session(s), tun %s", d->dp->ops->name,
			 d->dp->ifname[0] ? " on " : "", d->dp->ifname, up, d->tun.name);
	else
		snprintf(buf, len, "path %s%s%s, %s server %s, tun %s", d->dp->ops->name,
			 d->dp->ifname[0] ? " on " : "", d->dp->ifname,
			 up ? "connected to" : "connecting to", d->cfg.remote_addr, d->tun.name);
}

static void send_state(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		lwt_log_rl(LWT_LOG_WARN, "sd_notify: couldn't tell systemd \"%.20s\": %s", state,
			   strerror(-r));
}

void lwt_notify_ready(struct lwt_daemon *d)
{
	char buf[sizeof(last_status) + 16];

	status_line(d, last_status, sizeof(last_status));
	snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s", last_status);
	send_state(buf);
}

void lwt_notify_waiting(const char *status, unsigned int for_s)
{
	char buf[sizeof(last_status) + 80];

	/* Type=notify's start timeout (90 s by default) would end a client
	 * waiting for its server's name; the watchdog, if it runs already,
	 * is fed. */
	snprintf(buf, sizeof(buf), "STATUS=%.*s\nEXTEND_TIMEOUT_USEC=%llu\nWATCHDOG=1",
		 (int)sizeof(last_status) - 1, status, (unsigned long long)for_s * 1000000ull);
	send_state(buf);
}

void lwt_notify_reloading(void)
{
	struct timespec ts;
	char buf[64];

	/* MONOTONIC_USEC: what Type=notify-reload (systemd 253+) wants. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull + ts.tv_nsec / 1000);
	send_state(buf);
}

void lwt_notify_stopping(void)
{
	send_state("STOPPING=1");
}

void lwt_notify_tick(struct lwt_daemon *d, unsigned long long now)
{
	char st[sizeof(last_status)], buf[sizeof(last_status) + 8];
	uint64_t usec;

	if (!wd_checked) {
		wd_checked = true;
		if (sd_watchdog_enabled(0, &usec) > 0) {
			wd_every_ns = usec * 1000ull / 2;
			lwt_info("systemd watchdog: every %llu ms", wd_every_ns / 1000000ull);
		}
	}
	if (wd_every_ns && now >= wd_next_ns) {
		wd_next_ns = now + wd_every_ns;
		send_state("WATCHDOG=1");
	}
	/* A count over every slot: once a second, not every tick. */
	if (now < status_next_ns)
		return;
	status_next_ns = now + 1000000000ull;
	status_line(d, st, sizeof(st));
	if (strcmp(st, last_status)) {
		memcpy(last_status, st, sizeof(st));
		snprintf(buf, sizeof(buf), "STATUS=%s", st);
		send_state(buf);
	}
}
