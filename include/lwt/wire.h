/* SPDX-License-Identifier: MIT */
/* lwt wire format (see docs/PROTOCOL.md). All multi-byte fields are big endian.
 * The TCP payload of a fake-TCP segment is a sequence of whole frames; each
 * frame is self-delimiting (lwt_frame_hdr.len), so a GRO-merged payload splits
 * back into its frames. Compiled by BPF and userspace alike. */
#ifndef LWT_WIRE_H
#define LWT_WIRE_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/* 2: the SPAKE2 handshake (HELLO / HELLO_ACK / CONFIRM); 1 had a PSK-HMAC'd
 * HELLO that let a capture test key guesses offline. */
#define LWT_PROTO_VERSION 2

/* Frame types (lwt_frame_hdr.type). */
enum lwt_frame_type {
	LWT_FT_HELLO     = 0x01,	/* client -> server, plaintext: SPAKE2 share pA */
	LWT_FT_HELLO_ACK = 0x02,	/* server -> client, plaintext: pB and confirmation cB */
	LWT_FT_REJECT    = 0x03,	/* server -> client, plaintext hint, unauthenticated */
	LWT_FT_CONFIRM   = 0x04,	/* client -> server, plaintext: confirmation cA */
	LWT_FT_RESUME    = 0x05,	/* client -> server, after CONFIRM: proof it held a session */
	LWT_FT_SEALED    = 0x10,	/* AES-256-GCM record */
	LWT_FT_AUTHED    = 0x11,	/* GMAC-only record (encrypt_after_auth data) */
	LWT_FT_UDP_PROBE = 0x14,	/* P2P over UDP, plaintext, MAC'd: a probe (struct lwt_udp_probe) */
	LWT_FT_UDP_ANSWER = 0x15,	/* ... the answer to one */
};

/* Every frame starts with this header; len counts the bytes after it. */
struct lwt_frame_hdr {
	__u8 type;
	__u8 flags;	/* 0; reserved */
	__be16 len;
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_frame_hdr) == 4, "lwt_frame_hdr");

#define LWT_FRAME_MAX_BODY 16384

/* HELLO / HELLO_ACK flags. */
#define LWT_HS_F_AUTH_ONLY 0x01	/* encrypt_after_auth: data records GMAC-only (AUTHED) */

#define LWT_HS_SHARE_LEN 65	/* SPAKE2-P256 share: uncompressed SEC1 point */
#define LWT_HS_CONFIRM_LEN 32	/* SPAKE2 key confirmation: HMAC-SHA256 */

/* HELLO body: the client's handshake initiation (SPAKE2 side A). Not
 * authenticated by itself: every byte of it is bound into both key
 * confirmations (docs/PROTOCOL.md "Handshake"). */
struct lwt_hello {
	__u8 version;
	__u8 flags;			/* LWT_HS_F_* the client asks for */
	__u8 fec_data;			/* the sender's FEC shape (its decoder's limits too) */
	__u8 fec_parity;		/* 0 = the sender sends no parity */
	__u8 client_random[32];
	__be64 timestamp_ms;		/* client's CLOCK_REALTIME, ms */
	__be64 client_id;		/* random per client process, or configured; not a secret */
	__be32 tunnel_ip;		/* client's tunnel address */
	__u8 tunnel_prefix;
	__u8 pad[3];			/* 0 */
	__u8 share[LWT_HS_SHARE_LEN];	/* pA = x*P + w*M */
	__u8 pad2[3];			/* 0 */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_hello) == 128, "lwt_hello");

/* HELLO_ACK body: the server's answer (SPAKE2 side B). */
struct lwt_hello_ack {
	__u8 version;
	__u8 flags;			/* LWT_HS_F_* the server grants */
	__u8 fec_data;			/* the server's FEC shape */
	__u8 fec_parity;
	__u8 server_random[32];
	__be32 session_id;		/* chosen by the server, carried by every record */
	__be32 server_tunnel_ip;
	__u8 server_tunnel_prefix;
	__u8 pad[3];			/* 0 */
	__u8 share[LWT_HS_SHARE_LEN];	/* pB = y*P + w*N */
	__u8 pad2[3];			/* 0 */
	__u8 confirm[LWT_HS_CONFIRM_LEN];	/* cB = HMAC(KcB, TT) */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_hello_ack) == 148, "lwt_hello_ack");

/* CONFIRM body: the client's key confirmation, sent also when cB failed
 * (the server then counts and logs the failed guess). */
struct lwt_confirm {
	__u8 confirm[LWT_HS_CONFIRM_LEN];	/* cA = HMAC(KcA, TT) */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_confirm) == 32, "lwt_confirm");

/* RESUME body: sent with the CONFIRM by a client that had a session
 * before (it roamed, or its flow died): the server may move that session's
 * tunnel IP to the new flow at once instead of probing the old flow first
 * (docs/PROTOCOL.md "Resumption"). */
struct lwt_resume {
	__be32 session_id;		/* the previous session's */
	__u8 mac[32];			/* HMAC(resume key of that session, "lwt-v2 resume" || session_id || cA) */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_resume) == 36, "lwt_resume");

enum lwt_reject_reason {
	LWT_REJECT_AUTH     = 1,	/* key confirmation did not verify: wrong key */
	LWT_REJECT_IP_INUSE = 2,	/* tunnel IP held by another client */
	LWT_REJECT_FULL     = 3,	/* max_clients reached */
	LWT_REJECT_VERSION  = 4,
	LWT_REJECT_STALE    = 5,	/* timestamp out of window or replayed HELLO */
	LWT_REJECT_ADDR     = 6,	/* tunnel IP outside the server's subnet or in a route */
	LWT_REJECT_FEC      = 7,	/* FEC shape beyond what the server decodes for a peer */
	LWT_REJECT_LIMIT    = 8,	/* too many failed handshakes from this address lately */
	LWT_REJECT_ID_INUSE = 9,	/* client_id held by a live session that answered a probe */
};

/* The largest FEC group (data + parity shards) a server decodes for a
 * client: every recommended shape (20+2, 10+3, 10+5, 5+1) fits, and a
 * peer's decoder stays near 32 groups x 32 shards x 1.6 KB. */
#define LWT_FEC_PEER_MAX_SHARDS 32

struct lwt_reject {
	__u8 reason;
	__u8 pad[3];
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_reject) == 4, "lwt_reject");

/* SEALED / AUTHED record header, right after the frame header. The AAD of a
 * record is frame hdr || record hdr (16 bytes). The nonce is
 * iv[4] || counter (8, BE); iv and key are per direction. Followed by the
 * payload (ciphertext for SEALED, plaintext for AUTHED) and a 16-byte tag. */
struct lwt_record_hdr {
	__be32 session_id;
	__be64 counter;
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_record_hdr) == 12, "lwt_record_hdr");

#define LWT_TAG_LEN 16
#define LWT_RECORD_OVERHEAD (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_record_hdr) + 1 + LWT_TAG_LEN)

/* First byte of a record's plaintext. */
enum lwt_msg_type {
	LWT_MSG_IP        = 0x01,	/* an inner IP packet */
	LWT_MSG_KEEPALIVE = 0x02,	/* struct lwt_keepalive */
	LWT_MSG_CLOSE     = 0x03,	/* orderly close */
	LWT_MSG_FEC       = 0x04,	/* struct lwt_fec_hdr + shard (lwt/fec_wire.h) */
	LWT_MSG_FEC_REPORT = 0x05,	/* struct lwt_fec_report: measured loss */
	LWT_MSG_REKEY     = 0x06,	/* struct lwt_rekey: server offers the next key epoch */
	LWT_MSG_REKEY_ACK = 0x07,	/* struct lwt_rekey: the client's half of it */
	LWT_MSG_ROUTES    = 0x08,	/* client: the routes it advertises (struct lwt_route_msg) */
	LWT_MSG_ROUTE_RESULT = 0x09,	/* server: per advertised route, accepted or why not */
	LWT_MSG_ROUTE_UPDATE = 0x0a,	/* server: the other clients' routes */
	LWT_MSG_PEERS     = 0x0b,	/* server: the other clients (struct lwt_peers_msg) */
	LWT_MSG_P2P_HELLO = 0x0c,	/* client: it takes direct paths (struct lwt_p2p_hello) */
	LWT_MSG_P2P_REQ   = 0x0d,	/* client: coordinate a punch to a peer (struct lwt_p2p_req) */
	LWT_MSG_P2P_PUNCH = 0x0e,	/* server: a punch order (struct lwt_p2p_punch) */
	LWT_MSG_P2P_CLOSE = 0x0f,	/* server: end direct paths (struct lwt_p2p_req, 0 = all) */
	LWT_MSG_PMTU_PROBE = 0x10,	/* struct lwt_pmtu_probe, zero-padded to its size */
	LWT_MSG_PMTU_ACK  = 0x11,	/* struct lwt_pmtu_probe: that probe arrived */
	LWT_MSG_MESH_REPORT = 0x12,	/* client: its direct paths up (struct lwt_mesh_report) */
	LWT_MSG_MESH_ROUTE = 0x13,	/* server: a relay named or withdrawn (struct lwt_mesh_route) */
	LWT_MSG_NAT_TCP   = 0x18,	/* server: the answer to a TCP NAT probe (natmsg.h, 72 bytes) */
	LWT_MSG_IP6_CLAIM = 0x19,	/* client: its IPv6 tunnel address (struct lwt_ip6_claim) */
	LWT_MSG_IP6_RESULT = 0x1a,	/* server: the claim's verdict (struct lwt_ip6_result) */
	LWT_MSG_ROUTES6   = 0x1b,	/* IPv6 route lists, both ways (struct lwt_route6_msg) */
};

/* IPv6 inside the tunnel (docs/PROTOCOL.md "IPv6 inside"). The handshake
 * carries the IPv4 tunnel address only; a client with an IPv6 one too
 * claims it in a record right after, and again until the server answers.
 * Until the server accepted it, the server drops the client's IPv6. */
struct lwt_ip6_claim {
	__u8 addr[16];
	__u8 prefix;
	__u8 pad[3];			/* 0 */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_ip6_claim) == 20, "lwt_ip6_claim");

enum lwt_ip6_status {
	LWT_IP6_OK = 0,
	LWT_IP6_NONE = 1,		/* the server has no IPv6 tunnel address */
	LWT_IP6_OUTSIDE = 2,		/* not a host address of the server's IPv6 prefix */
	LWT_IP6_SERVER = 3,		/* the server's own address */
	LWT_IP6_INUSE = 4,		/* held by another client */
	LWT_IP6_IN_ROUTE = 5,		/* inside another client's advertised route */
};

struct lwt_ip6_result {
	__u8 status;			/* enum lwt_ip6_status */
	__u8 server_prefix;		/* 0: the server has no IPv6 tunnel address */
	__u8 pad[2];			/* 0 */
	__u8 addr[16];			/* the claimed address, echoed */
	__u8 server_addr[16];
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_ip6_result) == 36, "lwt_ip6_result");

/* IPv6 route lists: as struct lwt_route_msg, with kind the IPv4 message
 * whose role it plays (LWT_MSG_ROUTES, _ROUTE_RESULT, _ROUTE_UPDATE) and
 * the same flags, statuses and FIRST..LAST chaining. */
#define LWT_ROUTE6_MSG_MAX 12
struct lwt_route6_entry {
	__u8 net[16];
	__u8 prefix;
	__u8 status;			/* RESULT: enum lwt_route_status; else 0 */
	__u8 pad[2];
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_route6_entry) == 20, "lwt_route6_entry");

struct lwt_route6_msg {
	__u8 kind;
	__u8 flags;			/* LWT_ROUTE_F_* */
	__u8 count;
	__u8 pad;
	struct lwt_route6_entry e[];
} __attribute__((packed));

/* Path MTU probe (docs/PROTOCOL.md "Path MTU"): a sealed record whose
 * zero padding makes its whole outer IPv4 packet (IP, TCP with timestamps,
 * frame and record headers, type, body, tag) exactly size bytes, sent with
 * DF. The peer answers with an ACK carrying the same id and size. */
struct lwt_pmtu_probe {
	__be32 id;			/* sender's choice, echoed */
	__be16 size;			/* outer IPv4 packet length of the probe */
	__u8 pad[2];			/* 0 */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_pmtu_probe) == 8, "lwt_pmtu_probe");

/* P2P (docs/PROTOCOL.md "P2P"): only over the hub session, so only the
 * authenticated hub can order a punch. A client tells the hub its LAN
 * candidate (the address and port of its hub session as it sees them); the
 * hub adds what it observes (the public mapping). */
struct lwt_p2p_hello {
	__be32 lan_addr;
	__be16 lan_port;
	__u8 flags;			/* LWT_P2P_F_* the client can do */
	__u8 nat;			/* its NAT as detected (natdetect.h enum lwt_nat_kind), 0 unknown */
	__be16 udp_port;		/* its UDP public port as detection saw it (the hub
					 * session's port mapped for UDP), 0 unknown */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_p2p_hello) == 10, "lwt_p2p_hello");
#define LWT_P2P_HELLO_V1_LEN 8		/* without udp_port: still taken */
#define LWT_P2P_F_TCP 0x01		/* direct fake TCP (simultaneous open) */
#define LWT_P2P_F_UDP 0x02		/* direct UDP (probes, birthday; docs/PROTOCOL.md) */
#define LWT_P2P_F_TCP_IND 0x04		/* NAT detection over TCP: our NAT maps TCP the same
					 * whatever the destination (or there is none) */
#define LWT_P2P_F_TCP_DEP 0x08		/* ... maps TCP by destination (symmetric for fake TCP) */

struct lwt_p2p_req {
	__be32 peer_tun_ip;
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_p2p_req) == 4, "lwt_p2p_req");

enum lwt_p2p_role {
	LWT_P2P_INITIATOR = 0,		/* sends the HELLO on the direct flow */
	LWT_P2P_RESPONDER = 1,		/* answers it */
};
enum lwt_p2p_strategy {
	LWT_P2P_NONE = 0,		/* no punch: the two NATs rule a direct path out */
	LWT_P2P_TCP = 1,		/* fake-TCP simultaneous open */
	LWT_P2P_UDP = 2,		/* UDP probes; against a symmetric NAT, the birthday
					 * strategy (the side behind it opens many ports) */
};

/* Sent to both clients of a pair at once, each with the other's side. The
 * secret is fresh per order and is the direct path's PAKE password. */
struct lwt_p2p_punch {
	__be32 peer_tun_ip;
	__be32 peer_pub_addr;		/* the peer's hub flow as the hub sees it */
	__be16 peer_pub_port;
	__be16 peer_lan_port;		/* the peer's own view of it */
	__be32 peer_lan_addr;
	__be32 your_pub_addr;		/* yours as the hub sees it */
	__be16 your_pub_port;
	__u8 role;			/* enum lwt_p2p_role */
	__u8 strategy;			/* enum lwt_p2p_strategy */
	__be16 delay_ms;		/* start after this: both sides start together */
	__be16 rekey_s;			/* the hub's config_push_interval (capped), 0 = off */
	__be32 pair_id;
	__u8 secret[32];
	__u8 peer_nat, your_nat;	/* as each reported it (enum lwt_nat_kind), 0 unknown */
	__be16 peer_udp_port;		/* the peer's UDP public port as it reported it
					 * (P2P_HELLO udp_port), 0 unknown: peer_pub_port */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_p2p_punch) == 68, "lwt_p2p_punch");

/* A UDP probe or answer (LWT_FT_UDP_PROBE / _ANSWER; the frame header's
 * flags are 0). Before a direct UDP path has keys: mac is the first 16
 * bytes of HMAC-SHA256(probe key, frame header || body before mac), the
 * probe key HMAC-SHA256(pair secret, "lwt-v2 p2p-udp probe"). A packet
 * whose MAC fails is counted and dropped unanswered. */
enum lwt_udp_probe_kind {
	LWT_UDP_PROBE = 1,		/* is this path open? (answer: same kind, echo = nonce) */
	LWT_UDP_PICK  = 2,		/* initiator: this path it is (answer: PICK, echo) */
};
struct lwt_udp_probe {
	__be32 pair_id;			/* the punch order's */
	__u8 kind;			/* enum lwt_udp_probe_kind */
	__u8 role;			/* the sender's (enum lwt_p2p_role) */
	__u8 pad[2];			/* 0 */
	__be64 nonce;			/* the sender's, fresh per packet */
	__be64 echo;			/* an answer: the nonce it answers; else 0 */
	__u8 mac[16];
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_udp_probe) == 40, "lwt_udp_probe");

/* Mesh (docs/PROTOCOL.md "Mesh"): only over the hub session. A client
 * reports the direct paths it holds up; the hub, which alone knows who
 * holds direct paths to whom, names a relay for a pair that has none. */
#define LWT_MESH_REPORT_MAX 16
#define LWT_MESH_F_RELAY 0x01		/* takes part in relayed paths (mesh on, max_hops >= 2) */
struct lwt_mesh_entry {
	__be32 peer_tun_ip;		/* a peer we hold a confirmed direct path to */
	__be32 rtt_us;			/* its measured RTT, 0 = not measured yet */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_mesh_entry) == 8, "lwt_mesh_entry");
/* Header, then n entries (the whole set: it replaces the last report). */
struct lwt_mesh_report {
	__u8 flags;			/* LWT_MESH_F_* */
	__u8 max_hops;			/* the client's max_hops (for status) */
	__u8 n;				/* entries, at most LWT_MESH_REPORT_MAX */
	__u8 pad;
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_mesh_report) == 4, "lwt_mesh_report");

enum lwt_mesh_kind {
	LWT_MESH_VIA = 1,		/* your path to peer may go through relay */
	LWT_MESH_RELAY = 2,		/* you may relay between peer and relay (the other end) */
};
#define LWT_MESH_F_WITHDRAW 0x01	/* the named route no longer holds */
struct lwt_mesh_route {
	__u8 kind;			/* enum lwt_mesh_kind */
	__u8 flags;			/* LWT_MESH_F_WITHDRAW */
	__u8 hops;			/* links on the path: 2 */
	__u8 pad;
	__be32 peer_tun_ip;
	__be32 relay_tun_ip;		/* VIA: the relay; RELAY: the pair's other end */
	__be32 relay_rtt_us;		/* VIA: the relay's RTT to peer, as it reported it */
	__be32 peer_hub_rtt_us;		/* VIA: the peer's RTT to the hub */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_mesh_route) == 20, "lwt_mesh_route");

/* Peer info: the clients a client can reach through the server. A full
 * list (LWT_PEERS_F_FULL, FIRST..LAST like route lists) or, with
 * enable_incremental_update, only what changed since the last one. */
#define LWT_PEERS_MSG_MAX 30
#define LWT_PEERS_F_FIRST 0x01
#define LWT_PEERS_F_LAST  0x02
#define LWT_PEERS_F_FULL  0x04

enum lwt_peer_op { LWT_PEER_UP = 1, LWT_PEER_GONE = 2 };

struct lwt_peer_entry {
	__be32 tun_ip;
	__u8 op;			/* enum lwt_peer_op */
	__u8 pad[3];
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_peer_entry) == 8, "lwt_peer_entry");

struct lwt_peers_msg {
	__u8 flags;
	__u8 count;
	__u8 pad[2];
	struct lwt_peer_entry e[];
} __attribute__((packed));

/* Route adverts: a header and up to LWT_ROUTE_MSG_MAX entries; long lists
 * go in several messages, FIRST on the first and LAST on the last. */
#define LWT_ROUTE_MSG_MAX 30
#define LWT_ROUTE_F_FIRST 0x01
#define LWT_ROUTE_F_LAST  0x02

enum lwt_route_status {
	LWT_ROUTE_OK = 0,
	LWT_ROUTE_NOT_ALLOWED = 1,	/* outside the server's allowed_routes */
	LWT_ROUTE_DEFAULT = 2,		/* a default route, not explicitly allowed */
	LWT_ROUTE_TUNNEL = 3,		/* overlaps the tunnel subnet, not explicitly allowed */
	LWT_ROUTE_CONFLICT = 4,		/* overlaps another client's route: the first wins */
	LWT_ROUTE_FULL = 5,		/* the server's route table is full */
	LWT_ROUTE_HOLDS_PEER = 6,	/* covers the server's or another client's tunnel IP */
	LWT_ROUTE_LOCAL = 7,		/* overlaps a connected or local route of the server */
};

struct lwt_route_entry {
	__be32 net;
	__u8 prefix;
	__u8 status;			/* RESULT: enum lwt_route_status; else 0 */
	__u8 pad[2];
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_route_entry) == 8, "lwt_route_entry");

struct lwt_route_msg {
	__u8 flags;			/* LWT_ROUTE_F_* */
	__u8 count;
	__u8 pad[2];
	struct lwt_route_entry e[];
} __attribute__((packed));

/* A record counter is epoch (16 bits) || sequence (48 bits): each key epoch
 * has its own keys, nonce space and replay window. */
#define LWT_EPOCH_SHIFT 48
#define LWT_SEQ_MASK ((1ull << LWT_EPOCH_SHIFT) - 1)
/* The last sequence number a sender uses under one key: 2^32 short of the
 * epoch bits. A session that gets there (no rekey in 2^48 - 2^32 records)
 * ends instead, and the new handshake brings new keys: a counter never runs
 * into the epoch, and no (key, nonce) pair is used twice. */
#define LWT_SEQ_LAST (LWT_SEQ_MASK - (1ull << 32))
#ifndef __BPF__
static inline int lwt_seq_exhausted(unsigned long long next_seq)
{
	return next_seq > LWT_SEQ_LAST;
}
#endif

/* Key rotation: a fresh X25519 exchange inside the session. */
struct lwt_rekey {
	__be16 epoch;			/* the epoch these keys will have */
	__u8 pad[2];
	__u8 pub[32];			/* sender's new ephemeral public key */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_rekey) == 36, "lwt_rekey");

/* Keepalive: echo lets the sender measure RTT. */
struct lwt_keepalive {
	__be64 sent_ns;			/* sender's CLOCK_MONOTONIC */
	__be64 echo_ns;			/* last sent_ns received from the peer, 0 if none */
	__be32 echo_delay_us;		/* time between receiving echo_ns and sending this */
	__u8 is_reply;
	__u8 pad[3];
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_keepalive) == 24, "lwt_keepalive");

#endif
