/* SPDX-License-Identifier: MIT */
/* systemd's notify protocol (sd_notify, Type=notify): what the service
 * manager hears of the daemon. Every call is a no-op when the daemon was
 * not started by systemd (no NOTIFY_SOCKET). Control thread only. */
#ifndef LWT_NOTIFY_H
#define LWT_NOTIFY_H

struct lwt_daemon;

/* READY=1 with the STATUS line: the TUN and the data path are up (and
 * after a reload). */
void lwt_notify_ready(struct lwt_daemon *d);
/* Before READY=1, while the start waits (resolve.c): STATUS=status, and
 * the start timeout extended by for_s seconds from now. */
void lwt_notify_waiting(const char *status, unsigned int for_s);
/* RELOADING=1: a reload starts (READY=1 ends it). */
void lwt_notify_reloading(void);
/* STOPPING=1: shutting down. */
void lwt_notify_stopping(void);
/* Every tick: STATUS= when the path or the session count changed, and
 * WATCHDOG=1 at half the unit's WatchdogSec=. */
void lwt_notify_tick(struct lwt_daemon *d, unsigned long long now_ns);

#endif
