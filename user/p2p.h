/* SPDX-License-Identifier: MIT */
/* P2P's state, shared by p2p.c (the client's punches and handshakes),
 * p2p_path.c (a direct path's upkeep and failover, what status shows) and
 * p2p_hub.c (the server's punch orders). docs/PROTOCOL.md "P2P". */
#ifndef LWT_P2P_H
#define LWT_P2P_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"

#define NS 1000000000ull
#define MS 1000000ull
#define PUNCH_TRY_NS (5 * NS)		/* one candidate's SYNs, then the next */
#define HELLO_NS (5 * NS)		/* the handshake over the direct flow */
#define RETRY_MIN_MS 5000		/* a failed pair asks again after this, */
#define RETRY_MAX_MS 60000		/* doubling up to this (a relayed pair's look) */
/* A lost path is punched again once the NATs forgot it: our RST put their
 * conntrack entries in CLOSE, which lasts 10 s on Linux; a SYN meeting one
 * of the other side's direction is taken for invalid. */
#define RETRY_LOST_MS 12000
#define ORDER_EVERY_NS (3 * NS)		/* server: one order per pair this often */
/* Server: the P2P_REQs a session may make, REQ_BURST at once and one more
 * each REQ_EVERY_NS. A client asks once per peer and then backs off (5 s
 * to 60 s), so only a flood meets the bound. */
#define REQ_BURST 16
#define REQ_EVERY_NS (250 * MS)
#define SILENT_NS (500 * MS)		/* sending, nothing heard this long: ask */
#define ANSWER_NS (500 * MS)		/* ... and fail over if no answer in this */
#define UNCONFIRMED_KA_NS (250 * MS)	/* keys installed, peer not heard yet */
#define ACTIVE_NS (2 * NS)		/* traffic within this: the path is in use */
/* Our segments outstanding and the peer's ACKs (delayed at most 20 ms)
 * not advancing for this long, or 4 RTTs if longer: suspect at once. */
#define ACK_STALL_NS (100 * MS)
/* Loss (p2p_path.c): a direct path that loses LOSSY_PPM more than the hub
 * path for LOSSY_NS carries nothing but probes (LOSSY_PROBE_NS apart, asks the
 * peer answers: both directions measured) until it loses at most
 * CLEAN_PPM more for CLEAN_NS. */
#define LOSSY_PPM 30000
#define LOSSY_NS (2 * NS)
#define CLEAN_PPM 10000
#define CLEAN_NS (4 * NS)
#define LOSSY_PROBE_NS (100 * MS)
#define RECENT 64
#define UDP_KA_MAX_NS (25 * NS)	/* a UDP path's idle heartbeat, at the latest */

enum p2p_state {
	P_IDLE = 0,	/* through the hub; may ask */
	P_WAIT,		/* order received, starting at start_ns */
	P_PUNCH,	/* SYNs out */
	P_HELLO,	/* fake TCP up, handshake */
	P_UP,		/* keys installed */
};


struct p2p_cand {
	uint32_t addr;			/* network order */
	uint16_t port;
	const char *path;		/* "lan", "direct-tcp" */
};

struct p2p_peer {
	uint32_t tun_ip;		/* network order; 0 = entry free */
	int state;
	uint8_t role;			/* enum lwt_p2p_role */
	uint32_t pair_id;
	uint16_t rekey_s;		/* key rotation period (the hub's), 0 off */
	uint8_t peer_nat;		/* the peer's NAT as it reported it (lwt_nat_kind) */
	struct lwt_psk_keys psk;	/* from the pair secret */
	struct lwt_hs_client hs;	/* initiator */
	uint8_t expect_ca[LWT_HS_CONFIRM_LEN];	/* responder, between HELLO_ACK and CONFIRM */
	struct lwt_session_keys keys;
	struct lwt_hs_hello_info hello;
	bool acked;
	struct p2p_cand cand[2];
	int ncand, cand_i;
	uint64_t order_ns, start_ns, phase_ns;
	unsigned int syns;
	uint64_t retry_ns;		/* next request allowed */
	uint32_t retry_ms;
	uint64_t ka_ns, ask_ns;		/* last keepalive; an unanswered one sent at */
	uint64_t tx_seen, rx_seen, active_ns;	/* records counted, when they last moved */
	uint32_t una_seen;		/* the peer's last ACK we saw, */
	uint64_t una_ns;		/* ... since when, or since nothing was outstanding */
	bool stalled;			/* ... for too long: the path is suspect */
	bool shun;			/* lossier than the hub: packets via the hub */
	uint64_t judge_ns;		/* the loss verdict would change since then */
	uint64_t punch_wall_ms;		/* last order, wall clock */
	uint32_t punch_ms;		/* order to direct path, last time */
	uint64_t up_ns;
	char why[64];			/* last failure */
	struct p2p_udp *udp;		/* a UDP punch or path (p2p_udp.c), else NULL */
};

struct lwt_p2p {
	struct p2p_peer p[LWT_P2P_SLOTS];	/* p[i] uses slot i + 1 */
	uint64_t reqs, orders, orders_bad, paths_up, punches_failed, failovers, ack_stalls;
	uint64_t lossy_switches;	/* direct paths put aside for their loss */
	/* server */
	struct {
		uint32_t a, b;
		uint64_t ns;
	} recent[RECENT];
	unsigned int recent_next;
	uint64_t orders_sent, reqs_refused, ruled_out, reqs_limited;
	struct lwt_p2p_hello told;	/* client: the last P2P_HELLO sent (0xff: none) */
	/* client, UDP (p2p_udp.c): probes that authenticated, that did not
	 * (dropped unanswered), ticks whose read bound cut reading short,
	 * paths found */
	uint64_t udp_probes_ok, udp_probes_bad, udp_probe_budget_hits, udp_paths_up;
	uint64_t udp_orders_sent;	/* server: orders with the UDP strategy */
};

const char *p2p_ip_s(uint32_t ip, char *b);
bool p2p_on(const struct lwt_daemon *d);
int p2p_slot_of(const struct lwt_daemon *d, const struct p2p_peer *e);
/* Back to the hub: end the direct flow, if any; failed: count it, back off. */
void p2p_path_end(struct lwt_daemon *d, struct p2p_peer *e, const char *why, bool failed);
const char *p2p_nat_name(int k);
/* Our NAT as detection last judged it (natdetect.c), 0 unknown. */
int p2p_nat_kind(const struct lwt_daemon *d);
/* p2p_path.c: every tick of a direct path that is up. */
void p2p_up_tick(struct lwt_daemon *d, struct p2p_peer *e, uint64_t now);
/* p2p_hub.c: a P2P record from client slot. */
void lwt_p2p_hub_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len);

#endif
