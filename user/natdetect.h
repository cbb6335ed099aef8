/* SPDX-License-Identifier: MIT */
/* NAT type detection through the hub (enable_nat_detection; docs/PROTOCOL.md
 * "NAT type detection").
 *
 * Hub (natprobe.c): UDP sockets on the probe ports P1 = nat_probe_port
 * (default listen port + 1) and P2 = P1 + 1, on the listen address and, with
 * nat_probe_addr, on that second address too. A request that carries a MAC
 * under the probe key of a session the hub holds is answered with the source
 * address and port the hub saw, from the socket it reached or, as asked,
 * from the other port and/or the other address. Nothing is kept per probe;
 * per session only its key, a replay window and an answer budget.
 *
 * Client (natdetect.c): once a session is up (and after each reconnect),
 * from the session's own local port number over UDP, the tests of RFC 5780:
 * filtering first (answers asked from the other port / address: do they get
 * through?), then mapping (the same local port to the other port / address:
 * the same public mapping?). The result, in the reference's names and in
 * RFC 5780's, is logged and shown by lwt-ctl status.
 *
 * All of it runs on the control thread: one epoll descriptor (lwt_nat_fd)
 * in the control loop stands for the sockets of either side. */
#ifndef LWT_NATDETECT_H
#define LWT_NATDETECT_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"

struct lwt_daemon;
struct lwt_natprobe;
struct lwt_natdet;
struct lwt_nattcp;

/* What d->nat points to (NULL when enable_nat_detection is off). */
struct lwt_nat {
	int epfd;			/* the sockets below, for the control loop */
	struct lwt_natprobe *probe;	/* server */
	struct lwt_natdet *det;		/* client */
	struct lwt_nattcp *tcp;		/* client: the mapping over TCP (nattcp.c) */
};

/* Both sides. create: server, open the probe sockets (before privileges
 * are dropped); client, the detection state. 0 (d->nat set, or left NULL
 * when detection is off) or -errno, logged. */
int lwt_nat_create(struct lwt_daemon *d);
void lwt_nat_destroy(struct lwt_daemon *d);
/* The descriptor the control loop polls (EPOLLIN); -1 without d->nat. */
int lwt_nat_fd(const struct lwt_daemon *d);
/* It is readable: read and answer / take what came, bounded per call. */
void lwt_nat_handle(struct lwt_daemon *d);
/* Every control tick (50 ms): retries, timeouts, the end of a run. */
void lwt_nat_tick(struct lwt_daemon *d, uint64_t now);
/* lwt-ctl status/stats: a cJSON object (as void *), or NULL when off. */
void *lwt_nat_json(const struct lwt_daemon *d);

/* Server: slot's handshake derived keys for session_id (the HELLO_ACK is
 * going out): probes of that session are taken while the slot holds it. */
void lwt_natprobe_session(struct lwt_daemon *d, int slot, uint32_t session_id,
			  const struct lwt_session_keys *keys);
/* Client: the session session_id with these keys is up: run the tests
 * again from its local port. */
void lwt_natdet_start(struct lwt_daemon *d, const struct lwt_session_keys *keys,
		      uint32_t session_id);

/* natprobe.c / natdetect.c internals for lwt_nat_*. */
int lwt_natprobe_create(struct lwt_daemon *d, int epfd, struct lwt_natprobe **out);
void lwt_natprobe_destroy(struct lwt_natprobe *p);
void lwt_natprobe_handle(struct lwt_daemon *d, struct lwt_natprobe *p);
void *lwt_natprobe_json(const struct lwt_natprobe *p);

/* The verdict of RFC 5780 tests (natdetect.c, pure: for unit tests).
 * Inputs: what each test saw; outputs: static strings. */
enum lwt_nat_seen { LWT_NAT_SEEN_UNKNOWN = 0, LWT_NAT_SEEN_YES, LWT_NAT_SEEN_NO };
struct lwt_nat_tests {
	bool answered;		/* test I (T1) answered at all */
	bool no_nat;		/* T1's mapped address:port is our own */
	bool have_alt;		/* the hub has a second address */
	int same_port_change;	/* T2 (other port) mapped as T1: enum lwt_nat_seen */
	int same_addr_change;	/* T3 (other address) mapped as T1 */
	int through_port;	/* the answer from the other port got through */
	int through_addr;	/* ... from the other address and port */
};
enum lwt_nat_kind {
	LWT_NAT_UNKNOWN = 0,
	LWT_NAT_OPEN,			/* None/Open */
	LWT_NAT_FULL_CONE,
	LWT_NAT_FULL_OR_RESTRICTED,	/* one hub address: one of the two */
	LWT_NAT_RESTRICTED_CONE,
	LWT_NAT_PORT_RESTRICTED_CONE,
	LWT_NAT_SYMMETRIC,
};
struct lwt_nat_verdict {
	int kind;		/* enum lwt_nat_kind, as type says */
	const char *type;	/* None/Open, Full Cone, Full Cone or Restricted
				 * Cone, Restricted Cone, Port-Restricted Cone,
				 * Symmetric, Unknown */
	const char *mapping, *filtering;	/* RFC 5780 terms */
	const char *note;	/* what could not be told apart, or "" */
};
void lwt_nat_classify(const struct lwt_nat_tests *t, struct lwt_nat_verdict *v);
/* Client: the last run's verdict and public address:port (network order
 * address, host order port); false before the first run ended. */
bool lwt_natdet_result(const struct lwt_daemon *d, struct lwt_nat_verdict *v, uint32_t *pub_addr,
		       uint16_t *pub_port);

/* nattcp.c, client: the mapping test over TCP (SYNs carrying probes; the
 * hub answers over the session). */
struct lwt_nattcp *lwt_nattcp_create(uint16_t p1);
void lwt_nattcp_destroy(struct lwt_nattcp *t);
void lwt_nattcp_start(struct lwt_nattcp *t, const struct lwt_session_keys *keys,
		      uint32_t session_id);
/* udp_done: the UDP tests of this session are over (TCP runs after them). */
void lwt_nattcp_tick(struct lwt_daemon *d, struct lwt_nattcp *t, uint64_t now, bool udp_done);
void lwt_nattcp_answer(struct lwt_nattcp *t, const uint8_t *buf, size_t len);
/* The last run's TCP mapping: 0 unknown, 1 the same whatever the
 * destination (or no NAT), 2 by destination. */
int lwt_nattcp_mapping(const struct lwt_nattcp *t);
void *lwt_nattcp_json(const struct lwt_nattcp *t);
/* A LWT_MSG_NAT_TCP record's body, from the hub session (client). */
void lwt_nat_tcp_msg(struct lwt_daemon *d, const uint8_t *buf, size_t len);

#endif
