/* SPDX-License-Identifier: MIT */
/* Daemon state shared by the control thread (control.c) and the data-plane
 * poller threads (dataplane.c).
 *
 * Ownership: there are d->npollers pollers, poller i with outer queues
 * (shard i of the path) and TUN queue d->tun_fds[i]. Slot s belongs to poller
 * lwt_slot_owner(d, s): its fake-TCP state, ciphers, replay window, FEC
 * state are touched by that thread only; a poller that receives a packet for
 * another's slot hands it over through a lock-free ring. Other threads find
 * slots through the published keys (flow_key, peer_tun_ip), read with relaxed
 * atomics. The control thread owns handshakes, timers and session lifecycle,
 * and changes a slot only by sending a message (enum lwt_cmd) to its owner's
 * queue d->to_dp[owner]; the pollers report back through d->to_ctl
 * (enum lwt_evt). Counters are written by one thread and read by others with
 * relaxed atomics. */
#ifndef LWT_DAEMON_H
#define LWT_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include "bufs.h"
#include "config.h"
#include "crypto.h"
#include "dp.h"
#include "faketcp.h"
#include "fec.h"
#include "fecctl.h"
#include "fwrule.h"
#include "handshake.h"
#include "ktune.h"
#include "queue.h"
#include "replay.h"
#include "resolve.h"
#include "slotidx.h"
#include "slotlist.h"
#include "tun.h"

enum lwt_cmd {
	LWT_CMD_CONNECT = 1,	/* client: open flow in slot from local port u64; data:
				 * none (to the server) or struct lwt_connect (P2P) */
	LWT_CMD_SEND_FRAME,	/* send data[len] as one segment on slot */
	LWT_CMD_INSTALL,	/* ptr = struct lwt_install *, slot becomes a session */
	LWT_CMD_KILL,		/* drop slot */
	LWT_CMD_KEEPALIVE,	/* send a keepalive on slot (data[0] = 1: wanting no answer) */
	LWT_CMD_CLOSE,		/* send an encrypted CLOSE on slot */
	LWT_CMD_RESYN,		/* client: SYN unanswered, send it again */
	LWT_CMD_SEND_MSG,	/* seal a record of type u64 with body data[len] on slot */
	LWT_CMD_REKEY,		/* ptr = struct lwt_rekey_keys: the next key epoch */
	LWT_CMD_SWAP_DP,	/* ptr = struct lwt_dp: use it; the last poller off
				 * the old one destroys it (every poller gets one) */
	LWT_CMD_ROUTES,		/* ptr = struct lwt_rtable: the new route table
				 * (every poller gets its own copy) */
	LWT_CMD_CONFIG,		/* every poller: the run-time settings of a reload,
				 * u64 = client_isolation | fec_parity << 8 */
	LWT_CMD_STOP,		/* data thread: exit */
	LWT_CMD_PROBE,		/* server: ask the session on slot for an authenticated
				 * answer (keepalives); LWT_EVT_PROBED tells how it went */
	LWT_CMD_ROUTES6,	/* ptr = struct lwt_rt6: the new IPv6 route table
				 * (every poller its own; inet6.h) */
};

enum lwt_evt {
	LWT_EVT_NEW_FLOW = 1,	/* server: SYN accepted into slot */
	LWT_EVT_ESTABLISHED,	/* fake-TCP handshake done on slot */
	LWT_EVT_FRAME,		/* a handshake frame arrived on slot: data[len] */
	LWT_EVT_RESET,		/* valid RST/FIN or CLOSE on slot */
	LWT_EVT_KILLED,		/* slot freed by the data plane */
	LWT_EVT_MSG,		/* a control record arrived: data[0] type, then body */
	LWT_EVT_PROBED,		/* the LWT_CMD_PROBE on slot: data[0] = 1 answered,
				 * 0 nothing authenticated within LWT_PROBE_NS */
	LWT_EVT_WANT_PEER,	/* client: inner packets to data[0..3] (a tunnel IP)
				 * went through the hub (p2p.c may punch to it) */
	LWT_EVT_PEER_VIA_HUB,	/* client: the peer of direct slot sent through the hub */
};

/* A direct (P2P) flow for LWT_CMD_CONNECT: the peer's endpoint, and
 * whether this side answers the HELLO on it. */
struct lwt_connect {
	uint32_t raddr;		/* network order */
	uint16_t rport;		/* network order */
	uint8_t responder;
	uint8_t syn_ttl;	/* first SYN's TTL (p2p_syn_ttl), 0 = as any */
	uint8_t udp;		/* a direct UDP path (p2p_udp.c): no SYN, udp_fd */
	int udp_fd;		/* ... its socket, connected to raddr:rport; the
				 * data plane owns it from here */
};

/* Client: direct paths to other clients live in slots 1..LWT_P2P_SLOTS
 * (slot 0 is the hub session). */
#define LWT_P2P_SLOTS 16

/* A probe (of a session that got a RST or FIN, or that another flow of
 * its client id wants to take over) waits this long for an authenticated
 * answer. A flow waiting to take a session over is dropped after
 * LWT_TAKEOVER_WAIT_NS if no outcome came (a margin for the queues). */
#define LWT_PROBE_NS (2000000000ull)
#define LWT_TAKEOVER_WAIT_NS (LWT_PROBE_NS + 2000000000ull)

/* Keys and identity handed from control to data plane at INSTALL. */
struct lwt_install {
	struct lwt_aead *tx, *rx;
	struct lwt_fec_enc *fenc;	/* NULL: we send no FEC */
	struct lwt_fec_dec *fdec;	/* NULL: the peer sends no FEC */
	uint32_t fec_key;		/* the peer, for fecctl's start memory */
	uint32_t session_id;
	uint32_t peer_tun_ip;	/* network order; 0 = any (client side) */
	bool auth_only;		/* encrypt_after_auth negotiated: data records GMAC-only */
};

/* Keys of the next epoch. now: switch at once (server, which has the
 * client's answer); else hold them until the peer's first record under them
 * (client), so that nothing is ever sealed under keys the peer lacks. */
struct lwt_rekey_keys {
	struct lwt_aead *tx, *rx;
	uint16_t epoch;
	bool now;
};
void lwt_rekey_keys_free(struct lwt_rekey_keys *k);

struct lwt_daemon;

/* path.c: the outer data path. The interface tunnel segments use (the
 * route to the server; the interface holding the listen address). */
int lwt_path_iface(struct lwt_daemon *d, char *ifname, char *why, size_t wl);
/* The source address the kernel picks towards remote (network order). */
int lwt_local_ip_for(uint32_t remote, uint32_t *out);
/* Make dp the path of every poller. hold: keep the old path alive (one more
 * user) and return it, to destroy once its users are down to 1; else the
 * last poller off it destroys it. */
struct lwt_dp *lwt_path_swap(struct lwt_daemon *d, struct lwt_dp *dp, bool hold);
/* Open the AF_XDP path (xdp, mode "auto"/"native"/"generic") or the raw
 * socket path on ifname. -errno with a reason in why. */
int lwt_path_open(struct lwt_daemon *d, bool xdp, const char *mode, const char *ifname,
		  struct lwt_dp **out, char *why, size_t wl);
/* lwt-ctl attach/detach: switch a running daemon's path. Writes the answer. */
int lwt_path_switch(struct lwt_daemon *d, bool xdp, const char *ifname, const char *mode,
		    char *answer, size_t al);

/* Routes the server forwards to clients (advertised and accepted): the data
 * thread's copy, longest prefix first, replaced whole by LWT_CMD_ROUTES. */
struct lwt_rtable {
	int n;
	struct lwt_rt_entry {
		uint32_t net, mask;	/* network order */
		int slot;
		uint32_t gen;
	} r[];
};

/* Control side of a route: who owns it. */
struct lwt_route {
	uint32_t net;			/* network order */
	uint8_t prefix;
	int slot;
	uint32_t gen;
	uint32_t owner_ip;		/* the client's tunnel IP */
};
#define LWT_MAX_SERVER_ROUTES 1024
/* A server's slots beyond its max_clients: handshakes in progress. */
#define LWT_EMBRYONIC_SLOTS 64
#define LWT_MAX_PEER_ROUTES 1024

/* Server: an advert it refused lately, for `lwt-ctl routes` (the last
 * LWT_ROUTE_REFUSALS; one entry per route and client, refreshed). */
struct lwt_route_refusal {
	uint32_t net;			/* network order */
	uint8_t prefix, status;		/* status: enum lwt_route_status */
	uint32_t owner_ip;		/* the client's tunnel IP */
	uint64_t at_ns;
};
#define LWT_ROUTE_REFUSALS 32

/* Client: what became of a route the server sent (peer_route_state). */
enum lwt_peer_route_state {
	LWT_PEER_ROUTE_INSTALLED = 0,
	LWT_PEER_ROUTE_LOCAL,		/* overlaps a network of this host: not installed */
	LWT_PEER_ROUTE_FAILED,		/* the kernel refused it */
};

enum lwt_slot_state {
	LWT_SLOT_FREE = 0,
	LWT_SLOT_HANDSHAKE,	/* fake TCP up or coming up, lwt handshake pending */
	LWT_SLOT_SESSION,	/* keys installed */
};

#define LWT_COUNTERS(X)							\
	X(rx_packets) X(rx_bytes) X(tx_packets) X(tx_bytes)			\
	X(drop_replay) X(drop_auth) X(drop_malformed) X(drop_window)		\
	X(drop_unknown_flow) X(drop_spoofed_src) X(drop_no_route)		\
	X(drop_isolation) X(drop_queue_full) X(rst_ignored) X(challenge_acks)	\
	X(pure_acks) X(keepalives_rx) X(keepalives_tx) X(forwarded)		\
	X(drop_stale_key) X(rekeys) X(drop_no_session) X(rx_prev_key)		\
	X(drop_handshake) X(events_lost) X(rst_probes) X(rst_probes_failed)	\
	X(syn_cookies) X(cookie_flows) X(drop_bad_cookie) X(drop_halfopen)	\
	X(drop_too_big) X(peer_reflexive)

struct lwt_counters {
#define LWT_CTR_FIELD(n) _Atomic uint64_t n;
	LWT_COUNTERS(LWT_CTR_FIELD)
#undef LWT_CTR_FIELD
};

#define LWT_CTR_INC(c, f) atomic_fetch_add_explicit(&(c)->f, 1, memory_order_relaxed)
#define LWT_CTR_ADD(c, f, v) atomic_fetch_add_explicit(&(c)->f, (v), memory_order_relaxed)
#define LWT_CTR_GET(c, f) atomic_load_explicit(&(c)->f, memory_order_relaxed)
/* A slot counter only the slot's owning poller writes (the per-packet
 * ones): a plain load and store, no locked add; readers load it whole. */
#define LWT_CTR_ADD_OWN(c, f, v)                                                        \
	atomic_store_explicit(&(c)->f, atomic_load_explicit(&(c)->f, memory_order_relaxed) + (v), \
			      memory_order_relaxed)

/* What the owning poller publishes of a slot every round, for status and
 * the pinned peers map: other threads never follow the slot's pointers. */
struct lwt_slot_pub {
#define LWT_PUB_FIELD(n) _Atomic uint64_t n;
	LWT_FEC_STAT_FIELDS(LWT_PUB_FIELD)
#undef LWT_PUB_FIELD
	_Atomic uint32_t parity_now, snd_nxt, snd_una, rcv_nxt;
	_Atomic int fec_tx, fec_rx;	/* the session sends / receives FEC */
};
#define LWT_PUB_GET(s, f) atomic_load_explicit(&(s)->pub.f, memory_order_relaxed)

struct lwt_slot {
	/* data-plane owned */
	_Atomic int state;		/* enum lwt_slot_state */
	_Atomic uint32_t gen;
	struct lwt_ftcp_conn tcp;
	struct lwt_aead *tx, *rx;
	uint64_t tx_counter;
	struct lwt_replay replay;
	uint16_t tx_epoch, rx_epoch, next_epoch;
	struct lwt_aead *rx_prev;	/* previous epoch, until prev_until_ns */
	struct lwt_replay replay_prev;
	uint64_t prev_until_ns;
	struct lwt_aead *rx_next, *tx_next;	/* client: next epoch, held */
	uint32_t session_id;
	_Atomic uint32_t peer_tun_ip;	/* published: found by other pollers */
	_Atomic uint64_t flow_key;	/* published: raddr, rport, lport; 0 = free */
	bool auth_only;			/* data records AUTHED (GMAC), control SEALED */
	bool hs_responder;		/* client, direct slot: takes HELLO and CONFIRM */
	bool udp;			/* client, direct slot over UDP: udp_fd (p2p_udp.c) */
	int udp_fd;
	uint8_t hs_frames;		/* handshake frames of this flow passed to control */
	uint64_t probe_from_ns;		/* a RST/FIN or a takeover asked the peer for an authenticated */
	uint64_t probe_until_ns;	/* answer at ..., due by ... (0: no probe) */
	uint8_t probe_asks;		/* keepalives sent for it */
	uint8_t probe_why;		/* PROBE_RST, PROBE_TAKEOVER (dp_int.h) */
	uint64_t ack_due_ns;		/* when a pure ACK is owed, 0 = none */
	uint64_t last_echo_ns, last_echo_rx_ns;	/* keepalive echo state */
	struct lwt_fec_enc *fenc;
	struct lwt_fec_dec *fdec;
	struct lwt_fecctl fc;		/* adaptive parity (published parts shared) */
	uint64_t rx_top, rx_seen;	/* records: highest counter + 1, count accepted */
	uint64_t rep_top, rep_seen;	/* ... at the last loss report */
	uint64_t rep_ns, expire_ns;	/* next loss report, next FEC expiry */
	uint64_t pub_sig;		/* snd_nxt, rcv_nxt at the last publish */
	_Atomic uint32_t loss_ppm;	/* loss we measured towards us */
	_Atomic uint32_t peer_loss_ppm;	/* loss the peer reported */
	_Atomic bool p2p_shun;		/* client, direct slot: up, but the hub is better
					 * (p2p_path.c: loss); packets go via the hub */
	/* shared, relaxed */
	_Atomic uint64_t last_rx_ns;	/* last authenticated record */
	_Atomic uint32_t path_inner_mtu;	/* server, pmtu.c: the client's path MTU less
						 * lwt's overhead when below the TUN's, else 0 */
	_Atomic uint64_t rtt_us;
	_Atomic uint32_t key_epoch;	/* epoch we send under */
	struct lwt_counters ctr;
	struct lwt_slot_pub pub;
	struct lwt_slotlist *track;	/* control thread: its sets (slotlist.h), NULL none */
	/* control-thread owned */
	struct {
		int phase;		/* enum lwt_phase */
		uint64_t phase_ns;	/* when the phase began */
		uint32_t rc_gen;	/* reconcile.c: generation of a disagreement seen */
		uint8_t rc_strikes;	/* ... and how many checks in a row saw it */
		unsigned syn_sent;	/* client: SYN retransmissions in this phase */
		uint64_t start_ns;	/* when the flow began */
		uint64_t up_ns;		/* when the session came up */
		uint64_t last_ka_ns;
		uint32_t handshake_us;
		uint64_t client_id;
		uint32_t tun_ip;	/* network order */
		uint8_t tun_prefix;
		uint32_t raddr;		/* network order; IPv6: lwt_addr_key32() */
		uint16_t rport;
		struct lwt_addr ep;	/* the peer's outer address, either family */
		uint32_t session_id;
		struct lwt_hs_server hs;	/* server: a handshake awaiting its CONFIRM */
		/* server, takeover.c: a confirmed handshake waiting for the probe
		 * of its client id's live session holds that session's slot and
		 * gen here; the session holds the handshake's. gen 0: none. */
		int tk_slot;
		uint32_t tk_gen;
		int port_fd;		/* client: TCP socket reserving our port */
		/* key rotation; server: the exchange in flight */
		bool rk_pending;
		uint16_t rk_epoch;	/* server: last epoch offered; client: last answered */
		unsigned rk_tries;
		uint64_t rk_next_ns, rk_sent_ns, rk_start_ns;
		uint32_t rk_last_us;	/* server: offer to switch, last rotation */
		uint8_t rk_priv[32], rk_pub[32];
		/* server, p2p.c: the client takes direct paths (LWT_P2P_F_*),
		 * its LAN candidate */
		uint8_t p2p_flags, p2p_nat;	/* ... and its NAT as it detected it */
		uint16_t p2p_lan_port;
		uint16_t p2p_udp_port;	/* ... its UDP public port (network order), 0 unknown */
		uint32_t p2p_lan_addr;
		uint32_t p2p_tokens;	/* server: P2P_REQs it may still make (p2p_hub.c) */
		uint64_t p2p_tok_ns;	/* ... refilled up to then */
		bool peers_full;	/* server: owes this client the full peer list */
		bool routes_owed;	/* server: owes this client the route list */
	} c;
};

enum lwt_phase {
	LWT_PH_FREE = 0,
	LWT_PH_TCP,		/* fake-TCP handshake in progress */
	LWT_PH_HELLO,		/* lwt handshake in progress */
	LWT_PH_UP,		/* session established */
	LWT_PH_CLOSING,		/* kill sent, waiting for the data plane */
};

struct lwt_daemon {
	struct lwt_config cfg;
	struct lwt_psk_keys psk;
	struct lwt_tun tun;
	struct lwt_dp *dp;		/* the path in use: the control thread swaps it
					 * (others read it under dp_lock); each poller
					 * moves over at LWT_CMD_SWAP_DP */
	pthread_mutex_t dp_lock;
	struct lwt_dp_filter filter;
	int npollers;
	struct lwt_msgq to_dp[LWT_DP_MAX_SHARDS], to_ctl;
	int tun_fds[LWT_DP_MAX_SHARDS];	/* [0] is tun.fd */
	struct dpctx **px;		/* the pollers (dataplane.c) */
	pthread_t dp_threads[LWT_DP_MAX_SHARDS];
	int nslots;
	struct lwt_slot *slots;
	/* The slots by published flow_key and by peer_tun_ip (slotidx.h):
	 * written by a slot's owner, read by every poller. */
	struct lwt_slotidx flow_idx, tun_idx;
	struct lwt_in6 *in6;		/* IPv6 inside the tunnel (inet6.h) */
	struct lwt_hoset halfopen;	/* server: the slots in handshake */
	struct lwt_slotlist slist;	/* control thread: active, up, by tunnel IP */
	struct lwt_counters ctr;	/* totals, including packets of no slot */
	uint32_t local_ip;		/* outer source address (network order) */
	struct lwt_addr local_ep6;	/* client over IPv6: its IPv6 source address */
	bool p2p_v6_noted;		/* client over IPv6: "no P2P" said once */
	uint16_t local_port;		/* network order */
	/* Advertised in SYN and SYN-ACK, per family as the kernel does: the
	 * link MTU less 40 (IPv4) or 60 (IPv6) bytes of headers (dp_mss). */
	uint16_t mss, mss6;
	int tun_mtu;
	struct lwt_bufs bufs;		/* packet sizes from tun_mtu (bufs.h) */
	uint64_t start_ns;
	_Atomic int stop;
	/* control-thread state */
	int ctl_fd;			/* control socket (listening) */
	uint32_t next_gen;
	uint64_t client_id;
	uint64_t reconnect_at_ns;	/* client: next connect attempt, 0 = none */
	uint32_t backoff_ms;
	struct lwt_resolver resolver;	/* client: remote_addr's look-up (resolve.c) */
	struct lwt_fwrule fw;		/* the anti-RST rule (moved with the server) */
	int pending_reject;		/* client: an unauthenticated REJECT's reason, -1 malformed */
	uint64_t handshakes_ok, handshakes_failed, reconnects, rekeys, rekeys_failed;
	uint64_t slot_repairs;		/* reconcile.c: slot views made to agree */
	uint64_t takeover_probes, takeovers, takeovers_refused;	/* takeover.c */
	uint64_t reloads, reloads_failed;	/* reload.c */
	uint32_t config_owed;		/* reload.c: pollers not yet told (bit i) */
	/* route adverts: server, the accepted routes; client, the others'
	 * routes installed on our TUN, an update being received, our own
	 * routes' last status, the next advert */
	struct lwt_route *routes;
	int nroutes;
	struct lwt_cidr *peer_routes, *peer_stage;
	uint8_t *peer_route_state;	/* client: per peer_routes entry */
	int npeer_routes, npeer_stage;
	uint8_t route_status[LWT_MAX_ROUTES];
	struct lwt_route_refusal refused[LWT_ROUTE_REFUSALS];	/* server */
	int nrefused;
	uint64_t routes_next_ns;
	bool routes_owed_any;		/* server: a session may be owed the route list */
	/* peer info: server, changes not yet broadcast and the timers; client,
	 * the peers it knows (sorted) and a full list being received */
	struct lwt_peer_entry *peer_changes;
	int npeer_changes;
	int *peers_owed, peers_owed_head, npeers_owed;	/* slots with c.peers_full, FIFO */
	uint64_t peers_due_ns, peers_last_ns, peers_retry_ns;
	uint32_t *known_peers, *known_stage;
	int nknown_peers, nknown_stage;
	uint64_t ctl_msgs_tx, ctl_bytes_tx;	/* control records sent (all kinds) */
	uint8_t seen_randoms[1024][16];	/* server: recent HELLO randoms (replay) */
	unsigned int seen_next;
	uint64_t start_wall_ms;		/* server: HELLOs from before are refused */
	struct lwt_hs_limit hs_limit;	/* server: online key guesses per source */
	struct lwt_hs_client hs;	/* client: the handshake in flight */
	const char *instance;		/* TUN name; keys the control socket */
	/* Where the instance's pins go: "" = /sys/fs/bpf/lwt; with -user a
	 * descriptor of it (privs.c), as the user may not search /sys/fs/bpf. */
	char pin_root[32];
	int pin_root_fd;		/* -1: none */
	struct lwt_metrics *metrics;	/* metrics_listen: the HTTP server, or NULL */
	struct lwt_p2p *p2p;		/* p2p.c: punch orders (server), direct paths (client) */
	struct lwt_mesh *mesh;		/* mesh.c: relays between clients (mesh.h) */
	_Atomic uint32_t server_tun_ip;	/* client: the hub's tunnel IP (no P2P look-up for it) */
	struct lwt_nat *nat;		/* NAT detection (natdetect.h), or NULL: off */
	struct lwt_ktune ktune;		/* what enable_kernel_tune changed (ktune.c) */
	struct lwt_roam *roam;		/* roaming and resumption (roam.h) */
	struct lwt_pmtu *pmtu;		/* path MTU discovery (pmtu.h), NULL: fixed mtu */
};

uint64_t lwt_now_ns(void);
/* Server: the client has sent a record under its keys, so it has installed
 * them: records sent to it now are not dropped for arriving too early. */
static inline bool lwt_slot_confirmed(struct lwt_slot *s)
{
	return LWT_CTR_GET(&s->ctr, rx_packets) > 0;
}
/* The poller that owns slot i. */
static inline int lwt_slot_owner(const struct lwt_daemon *d, int i)
{
	return i % d->npollers;
}
/* control.c: hand the data thread a command / a sealed control record. */
void lwt_cmd(struct lwt_daemon *d, int type, int slot, void *ptr);
void lwt_cmd_data(struct lwt_daemon *d, int type, int slot, const void *data, size_t len,
		  void *ptr);
/* Client: open a flow in slot from local port lport (network order); c
 * NULL: to the server, else a direct flow. The slot gets a new gen. */
void lwt_cmd_connect(struct lwt_daemon *d, int slot, uint16_t lport, const struct lwt_connect *c);
void lwt_set_phase(struct lwt_slot *s, int phase);
uint64_t lwt_wall_ms(void);
/* Keys and FEC for a session in slot (server: we are the handshake's B). */
struct lwt_install *lwt_make_install(struct lwt_daemon *d, const struct lwt_session_keys *k,
				     bool server, uint32_t session_id, uint32_t peer_tun_ip,
				     int peer_k, int peer_m);
/* 0, or -EAGAIN when the data thread's queue is too full: try later. */
int lwt_send_msg(struct lwt_daemon *d, int slot, uint8_t type, const void *body, size_t len);
/* control.c, for takeover.c: end slot i's flow; refuse its handshake with
 * a REJECT(reason); the client of slot i proved its keys, bring it up. */
void lwt_slot_kill(struct lwt_daemon *d, int i);
void lwt_reject(struct lwt_daemon *d, int i, int reason);
void lwt_server_confirmed(struct lwt_daemon *d, int i);
/* server_hs.c: a handshake frame (HELLO, CONFIRM, RESUME) on slot i. */
void lwt_server_frame(struct lwt_daemon *d, int i, const uint8_t *f, size_t len);
const char *lwt_peer_str(const struct lwt_slot *s, char *buf, size_t len);
/* takeover.c, server: may the client of slot i hold the tunnel IP and FEC
 * shape it asks for, is there room? 0 or the REJECT reason (logged).
 * *same: the live session of the same client_id, or -1. */
int lwt_admit(struct lwt_daemon *d, int i, const struct lwt_hs_hello_info *h, const char *ps,
	      int *same);
/* Another slot than i whose data plane routes ip, or -1. */
int lwt_ip_holder(struct lwt_daemon *d, int i, uint32_t ip);
/* Slot i (confirmed) claims the tunnel IP of the live session same of its
 * client id: probe same, i waits. 0, or the REJECT reason for i. */
int lwt_takeover_start(struct lwt_daemon *d, int i, int same);
/* Is slot i waiting for a takeover? */
bool lwt_takeover_waiting(const struct lwt_daemon *d, int i);
/* LWT_EVT_PROBED on session slot i. */
void lwt_takeover_probed(struct lwt_daemon *d, int i, bool answered);
/* Every tick, for a waiting slot i: its old session gone, or its deadline. */
void lwt_takeover_tick(struct lwt_daemon *d, int i, uint64_t now);
/* A RESUME came on slot i's flow (resume.c): a waiting takeover it proves
 * goes on at once. */
void lwt_takeover_resumed(struct lwt_daemon *d, int i);
/* reconcile.c: once a second, make the data plane's and the control
 * thread's view of every slot agree (control thread). */
void lwt_reconcile_tick(struct lwt_daemon *d, uint64_t now);
/* reload.c: SIGHUP / lwt-ctl reload (control thread). Keep a copy of the
 * command line (before the key is scrubbed from it) to parse again. */
int lwt_reload_save_argv(int argc, char **argv);
void lwt_reload_free_argv(void);
/* Re-read the -c file and apply what can change at run time; 0 with a
 * summary in msg, or -errno with the error (the old config stays). */
int lwt_reload(struct lwt_daemon *d, char *msg, size_t len);
/* Every tick: tell the pollers a queue was too full to take. */
void lwt_reload_tick(struct lwt_daemon *d);
/* routes.c */
int lwt_routes_init(struct lwt_daemon *d);
void lwt_routes_free(struct lwt_daemon *d);
void lwt_routes_session_up(struct lwt_daemon *d, int slot);
void lwt_routes_withdraw(struct lwt_daemon *d, int slot);
void lwt_routes_tick(struct lwt_daemon *d, uint64_t now);
/* Server: the accepted route (index) that covers ip, other than those of
 * except_slot; -1 if none. */
int lwt_routes_covering(const struct lwt_daemon *d, uint32_t ip, int except_slot);
void lwt_routes_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len);
/* A reload changed this side's routes and/or the server's allowed_routes
 * (d->cfg already holds the new lists): check accepted routes again,
 * tell the clients / advertise again. */
void lwt_routes_reload(struct lwt_daemon *d, bool routes, bool allowed);
/* `lwt-ctl routes`: a cJSON object (cJSON * as void *: no cJSON here). */
void *lwt_routes_json(const struct lwt_daemon *d);
/* peers.c: who is connected, told to every client. */
int lwt_peers_init(struct lwt_daemon *d);
void lwt_peers_free(struct lwt_daemon *d);
void lwt_peers_changed(struct lwt_daemon *d, int slot, uint32_t tun_ip, bool up);
void lwt_peers_tick(struct lwt_daemon *d, uint64_t now);
void lwt_peers_msg(struct lwt_daemon *d, const uint8_t *m, size_t len);
/* Client: does the hub say ip (a tunnel IP) is a connected peer? */
bool lwt_peers_known(const struct lwt_daemon *d, uint32_t ip);
/* p2p.c: direct paths between clients (docs/PROTOCOL.md "P2P"). */
int lwt_p2p_init(struct lwt_daemon *d);
void lwt_p2p_free(struct lwt_daemon *d);
/* A P2P record on slot (server: from a client; client: from the hub). */
void lwt_p2p_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len);
/* Client: an event of a direct slot (1..LWT_P2P_SLOTS). */
void lwt_p2p_event(struct lwt_daemon *d, const struct lwt_msg *m);
/* Client: the hub session came up / went down. */
void lwt_p2p_hub_up(struct lwt_daemon *d);
void lwt_p2p_hub_down(struct lwt_daemon *d);
void lwt_p2p_tick(struct lwt_daemon *d, uint64_t now);
/* Server: tell every client to end its direct paths (client_isolation
 * turned on). Client: the hub says peer ip left: end its direct path. */
void lwt_p2p_close_all(struct lwt_daemon *d);
/* Server: a session came up; its P2P abilities are its own to tell. */
void lwt_p2p_hub_session_up(struct lwt_daemon *d, int i);
/* Client, direct slot i: the pair's PAKE keys; its rotation period, s
 * (the hub's config_push_interval, told in the punch order; 0 off). */
const struct lwt_psk_keys *lwt_p2p_psk(struct lwt_daemon *d, int i);
unsigned int lwt_p2p_rekey_s(struct lwt_daemon *d, int i);
/* rekey.c: key rotation of slot i (server, or a direct path's responder
 * offers; the other side answers). */
void lwt_rekey_tick(struct lwt_daemon *d, int i, uint64_t now);
void lwt_rekey_msg(struct lwt_daemon *d, int i, const uint8_t *m, size_t len);
void lwt_p2p_peer_gone(struct lwt_daemon *d, uint32_t ip);
/* `lwt-ctl peers` / status: a cJSON array of the direct paths (client),
 * or of counters (server); cJSON * as void *. */
void *lwt_p2p_json(const struct lwt_daemon *d);
/* Client: the path to peer tunnel IP ip ("direct-tcp", "relay-hub"). */
const char *lwt_p2p_path(const struct lwt_daemon *d, uint32_t ip);
/* mesh.c, mesh_hub.c: relays between clients (docs/PROTOCOL.md "Mesh"). */
int lwt_mesh_init(struct lwt_daemon *d);
void lwt_mesh_free(struct lwt_daemon *d);
void lwt_mesh_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len);
void lwt_mesh_tick(struct lwt_daemon *d, uint64_t now);
void lwt_mesh_hub_down(struct lwt_daemon *d);
/* Server: client slot i asked for a direct path to client slot j. */
void lwt_mesh_want(struct lwt_daemon *d, int i, int j);
/* Data plane (any poller): the relay in use for dst, 0 none; whether src
 * may arrive through relay; whether we may relay between src and dst. */
uint32_t lwt_mesh_via(const struct lwt_daemon *d, uint32_t dst);
bool lwt_mesh_vouched(const struct lwt_daemon *d, uint32_t src, uint32_t relay);
bool lwt_mesh_relay_ok(const struct lwt_daemon *d, uint32_t src, uint32_t dst);
enum { LWT_MESH_CTR_RELAYED, LWT_MESH_CTR_IN, LWT_MESH_CTR_REFUSED };
void lwt_mesh_count(const struct lwt_daemon *d, int what, size_t len);
/* "relay-peer" (and the relay) while a relay is in use for ip, else "relay-hub". */
const char *lwt_mesh_path(const struct lwt_daemon *d, uint32_t ip, uint32_t *relay);
/* A relayed peer's RTT: ours to the relay plus the relay's to the peer. */
uint32_t lwt_mesh_rtt_us(const struct lwt_daemon *d, uint32_t ip);
void *lwt_mesh_json(const struct lwt_daemon *d);
/* Free an install message that never reached the data plane. */
void lwt_install_free(struct lwt_install *in);

/* Start d->npollers poller threads on d->dp and d->tun_fds; 0 or -errno
 * (then none runs). */
int lwt_dataplane_start(struct lwt_daemon *d);
/* Stop and join them; they say goodbye to every peer first. */
void lwt_dataplane_stop(struct lwt_daemon *d);
/* Poller i's work so far, for status. */
struct lwt_poller_stats {
	uint64_t rx_segments, tun_reads, handoffs_out, handoffs_in, handoff_drops;
	int slots;			/* sessions it owns */
};
void lwt_dataplane_poller_stats(struct lwt_daemon *d, int i, struct lwt_poller_stats *st);
/* The FEC pools of all pollers, summed (fecpool.h). */
struct lwt_fecpool_stats;
void lwt_dataplane_fec_pool(struct lwt_daemon *d, struct lwt_fecpool_stats *st);
/* Control loop; returns the process exit code. */
int lwt_control_run(struct lwt_daemon *d);
/* Control socket: render status/stats/peers answers. */
int lwt_ctl_listen(struct lwt_daemon *d);
void lwt_ctl_handle(struct lwt_daemon *d, int lfd);
/* The stats document (lwt-ctl stats --json; metrics.c turns it into
 * Prometheus text). Control thread only, holding d->dp_lock: it reads the
 * control thread's state of every slot. */
struct cJSON *lwt_ctl_stats(struct lwt_daemon *d);
void lwt_ctl_close(int fd);

#endif
