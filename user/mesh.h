/* SPDX-License-Identifier: MIT */
/* Mesh relay (docs/PROTOCOL.md "Mesh"): a client with no direct path to a
 * peer B may reach it through a peer C that holds direct paths to both, C
 * named by the hub. mesh.c is the client (reports, the hub's routes, path
 * choice, the tables the data plane reads), mesh_hub.c the server (which
 * relay for which pair).
 *
 * The data plane reads three things, lock-free: for a destination, the
 * relay in use (A); whether a source may arrive through a relay (B); whether
 * a pair may be relayed by us (C). Tunnel IPs are in network order; an entry
 * is one 64-bit word so a reader never sees half of one. */
#ifndef LWT_MESH_H
#define LWT_MESH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"

#define LWT_MESH_ROUTES 32		/* client: peers reachable through a relay */
#define LWT_MESH_RELAYS 32		/* client: pairs we relay for */
#define LWT_MESH_WANTS 128		/* server: pairs with no direct path */

struct mesh_via {
	uint32_t peer, relay;		/* 0: free */
	uint32_t relay_rtt_us;		/* the relay's RTT to peer (its report) */
	uint32_t peer_hub_rtt_us;	/* the peer's RTT to the hub */
	bool use;			/* scored better than the hub: in use */
	uint64_t since_ns;
	uint64_t probe_ns;		/* last keepalive to measure the relay's RTT */
};

/* Server: what a client last reported (valid while its session is). */
struct mesh_client {
	uint32_t session_id, tun_ip;
	uint8_t flags, max_hops, n;
	struct {
		uint32_t ip, rtt_us;
	} e[LWT_MESH_REPORT_MAX];
};

/* Server: a pair that asked for a direct path (P2P_REQ); relay 0: none named. */
struct mesh_want {
	uint32_t a, b, sa, sb;		/* tunnel IPs and the sessions that asked */
	uint32_t relay, sr;
	uint64_t ns;
};

struct lwt_mesh {
	/* data plane, published by the control thread */
	_Atomic uint64_t dp_via[LWT_MESH_ROUTES];	/* peer << 32 | relay: vouched */
	_Atomic uint8_t dp_use[LWT_MESH_ROUTES];	/* ... and in use */
	_Atomic uint64_t dp_relay[LWT_MESH_RELAYS];	/* lower IP << 32 | higher */
	_Atomic uint64_t relayed, relayed_bytes;	/* C: forwarded for a pair */
	_Atomic uint64_t relayed_in;			/* B: arrived through a relay */
	_Atomic uint64_t refused;			/* dropped: no relay named for it */
	/* client */
	struct mesh_via via[LWT_MESH_ROUTES];
	uint32_t relay[LWT_MESH_RELAYS][2];
	struct lwt_mesh_entry told[LWT_MESH_REPORT_MAX];
	int told_n;			/* -1: nothing told this session */
	uint8_t told_flags;
	uint64_t told_ns;
	uint64_t reports, routes_in, withdrawn_in, bad, switches;
	uint64_t probe_ns[LWT_P2P_SLOTS];	/* last keepalive to measure a path's RTT */
	/* server */
	struct mesh_client *cl;		/* per slot */
	struct mesh_want want[LWT_MESH_WANTS];
	uint64_t named, withdrawn, tick_ns;
	bool dirty;			/* a report came: judge the pairs at the next tick */
};

/* A path's RTT as relays are scored by it: its minimum over the last
 * 30..60 s (fecctl.c), so that a queue our own traffic builds on one path
 * does not send that traffic to the other and back; the last sample before
 * there is one; 0 not measured. */
static inline uint32_t mesh_rtt(struct lwt_slot *s)
{
	uint32_t min = atomic_load_explicit(&s->fc.pub_min_us, memory_order_relaxed);

	return min ? min : (uint32_t)atomic_load_explicit(&s->rtt_us, memory_order_relaxed);
}

/* Mesh on and a relayed path (2 hops) allowed by max_hops. */
bool lwt_mesh_active(const struct lwt_daemon *d);
/* mesh_hub.c */
void mesh_hub_report(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len);
void mesh_hub_tick(struct lwt_daemon *d, uint64_t now);
void *mesh_hub_json(const struct lwt_daemon *d);

#endif
