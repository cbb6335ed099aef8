/* SPDX-License-Identifier: MIT */
/* Roaming (issue 12). A client watches links, addresses and routes through
 * rtnetlink (roam.c): when the route to the server leaves by another
 * interface or from another source address, it re-homes at once: new local
 * address and port, the data path moved to the new interface, a new
 * fake-TCP flow and handshake. The server lets the new flow take the old
 * session's place without the probe's wait when the client proves it held
 * the old session's keys (resume.c, docs/PROTOCOL.md "Resumption").
 * Control thread only. */
#ifndef LWT_ROAM_H
#define LWT_ROAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

struct lwt_daemon;
struct lwt_dp;

#define LWT_RESUME_KEY_LEN 32

/* Server: what a slot's handshake left for a later takeover proof. */
struct lwt_resume_slot {
	uint8_t key[LWT_RESUME_KEY_LEN];	/* this slot's session's resume key */
	uint32_t key_sid;			/* ... of this session id (host order), 0 none */
	/* A RESUME that came on this slot's flow: the session it names and its MAC. */
	uint32_t old_sid;			/* host order; 0 = none */
	uint8_t mac[LWT_HMAC_LEN];
};

struct lwt_roam {
	int fd;			/* rtnetlink, RTMGRP_LINK | IPV4_IFADDR | IPV4_ROUTE; -1 */
	uint64_t check_ns;	/* a route check due (debounced), 0 = none */
	uint64_t retry_ns;	/* no route: look again then (backoff) */
	uint32_t retry_ms;
	int ifindex;		/* the interface the flow leaves by (0: none yet) */
	bool no_route;		/* said once */
	bool xdp_wanted;	/* AF_XDP asked for but not on (no interface at start) */
	/* A re-home from AF_XDP: the old path, held until the pollers are off
	 * it, then destroyed here, then AF_XDP attached on xdp_if. */
	struct lwt_dp *old;
	char xdp_if[16];
	uint64_t rehomes;
	/* client: the last session, for the next handshake's RESUME */
	uint32_t prev_sid;	/* host order; 0 = none */
	uint8_t prev_key[LWT_RESUME_KEY_LEN];
	/* server: one per slot */
	struct lwt_resume_slot *srv;
	uint64_t resumes, resumes_bad;
};

/* roam.c: set up (client: the netlink watcher; server: the resume table)
 * before the control loop. 0 or -errno. */
int lwt_roam_init(struct lwt_daemon *d);
void lwt_roam_free(struct lwt_daemon *d);
/* The watcher's descriptor for the control loop's epoll (-1: none). */
int lwt_roam_fd(const struct lwt_daemon *d);
/* It polled readable. */
void lwt_roam_input(struct lwt_daemon *d);
/* Every tick: a due route check, a re-home's second step. */
void lwt_roam_tick(struct lwt_daemon *d, uint64_t now);
/* Client: the server's address changed (resolve.c): look at the route
 * to it now, and re-home if it leaves elsewhere. */
void lwt_roam_recheck(struct lwt_daemon *d);
/* Client: may a connect go ahead (a local address and a route known)?
 * false: the watcher connects once the route appears. */
bool lwt_roam_ready(struct lwt_daemon *d);

/* resume.c. The session keys of slot i's handshake (both sides): keep the
 * resume key derived from them. */
void lwt_resume_keys(struct lwt_daemon *d, int i, uint32_t session_id,
		     const struct lwt_session_keys *k);
/* Client: the frames to send after a HELLO_ACK: out gets confirm (as
 * built) and, when a previous session is known, a RESUME proving its keys
 * bound to this handshake's cA. Returns the length (<= max). */
size_t lwt_resume_confirm(struct lwt_daemon *d, const uint8_t *confirm, size_t clen,
			  uint8_t *out, size_t max);
/* Client: a session up; its keys prove it in the next handshake. */
void lwt_resume_client_up(struct lwt_daemon *d, uint32_t session_id,
			  const struct lwt_session_keys *k);
/* Server: a RESUME frame on slot i's flow. */
void lwt_resume_frame(struct lwt_daemon *d, int i, const uint8_t *f, size_t len);
/* Server: slot w waits to take over session o: does w's RESUME prove o's
 * keys? (takeover.c asks at the start and when the RESUME arrives.) */
bool lwt_resume_proven(struct lwt_daemon *d, int w, int o);

#endif
