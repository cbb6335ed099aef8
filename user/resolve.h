/* SPDX-License-Identifier: MIT */
/* A client's remote_addr given as a name: resolved (A records) before the
 * set-up that needs the server's address, retried with backoff while it
 * does not resolve, and again at every reconnect, where an address that
 * moved is followed (behind another interface or source address, roam.c
 * re-homes the client there). The
 * look-ups run in a short-lived thread, so a name server that never
 * answers stalls neither a SIGTERM at start nor the control thread's
 * keepalives. */
#ifndef LWT_RESOLVE_H
#define LWT_RESOLVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lwt_daemon;

/* One look-up in flight (control thread). */
struct lwt_resolver {
	int fd;			/* the thread's answer comes here; -1 = none in flight */
	pthread_t th;
	uint64_t since_ns;	/* when it began */
	uint32_t refused;	/* an address not followed (another route), logged once */
};

/* getaddrinfo (AF_INET) of host: 0 and its first address in *addr, or
 * -ENOENT and getaddrinfo's reason in err. Blocks: for -check. */
int lwt_resolve_host(const char *host, uint32_t *addr, char *err, size_t el);
/* Start: a client whose remote_addr is a name waits until it resolves
 * (d->cfg.remote), logging and retrying after 1, 2, 4 ... 30 s. 0 when
 * resolved (or nothing to resolve); 1 when SIGINT or SIGTERM came first
 * (blocked in the caller, read here from a signalfd); -errno. */
int lwt_resolve_start(struct lwt_daemon *d);
/* Client, a reconnect due: true when it may go ahead (to d->cfg.remote,
 * moved to where the name now points if a route leads there, re-homed
 * when that route leaves elsewhere); false while the look-up it started runs, for at
 * most LWT_RESOLVE_WAIT_MS, after which the last address is tried and
 * the answer taken at the next reconnect. */
#define LWT_RESOLVE_WAIT_MS 2000
bool lwt_resolve_reconnect(struct lwt_daemon *d, uint64_t now_ns);
/* A look-up still in flight at exit: let its thread go. */
void lwt_resolve_close(struct lwt_daemon *d);

#endif
