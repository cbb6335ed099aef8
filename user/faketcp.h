/* SPDX-License-Identifier: MIT */
/* Fake TCP: IPv4+TCP segments built and parsed by hand, shaped like Linux's
 * (random ISN, SYN options MSS,SACK_PERM,TS,NOP,WS; NOP,NOP,TS on every later
 * segment; DF set, TTL 64, IP ID per flow incrementing from a random start).
 * Sequence/ack state per flow; no retransmission. Addresses and ports in
 * lwt_ftcp_conn are network byte order; seq/ack/ts are host order. */
#ifndef LWT_FAKETCP_H
#define LWT_FAKETCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define LWT_TCP_FIN 0x01
#define LWT_TCP_SYN 0x02
#define LWT_TCP_RST 0x04
#define LWT_TCP_PSH 0x08
#define LWT_TCP_ACK 0x10

#define LWT_IP_HDR_LEN 20
#define LWT_IP6_HDR_LEN 40
#define LWT_IP6_EXTRA (LWT_IP6_HDR_LEN - LWT_IP_HDR_LEN)	/* an IPv6 segment's header is this much longer */
#define LWT_TCP_SYN_HDR_LEN 40		/* 20 + MSS,SACK_PERM,TS,NOP,WS */
#define LWT_TCP_DATA_HDR_LEN 32		/* 20 + NOP,NOP,TS */
#define LWT_FTCP_WSCALE 7		/* our window scale before lwt_ftcp_profile_load() */
#define LWT_FTCP_WINDOW (65535u << LWT_FTCP_WSCALE) /* bytes we advertise once established */

/* What the host's kernel puts into its SYNs, derived as it derives them
 * (tcp_select_initial_window) from net.ipv4.tcp_rmem of our namespace and
 * net.core.rmem_max: the receive space of a new socket (tcp_rmem[1]; half of
 * it is window, the default scaling ratio) and the window scale that covers
 * the largest buffer. Until loaded: Debian's defaults (131072, scale 7). */
struct lwt_ftcp_profile {
	uint32_t space;			/* initial receive window before MSS rounding */
	uint8_t wscale;
};
extern struct lwt_ftcp_profile lwt_ftcp_prof;
/* Read the sysctls under root (a /proc/sys path, tests point it elsewhere).
 * 0, or -errno with the defaults kept. */
int lwt_ftcp_profile_load(const char *root);
/* The window field of our SYN (mss: what it announces) and of our SYN-ACK
 * (timestamps agreed: the kernel rounds to mss less their 12 bytes). */
uint16_t lwt_ftcp_syn_window(uint16_t mss);
uint16_t lwt_ftcp_synack_window(uint16_t mss, bool ts);

/* A parsed IPv4/TCP or IPv6/TCP segment. Pointers point into the input
 * buffer. saddr/daddr: IPv4 addresses, or for IPv6 their lwt_addr_key32()
 * stand-ins; sa/da: the full addresses, both families. */
struct lwt_tcp_seg {
	uint32_t saddr, daddr;		/* network order */
	struct lwt_addr sa, da;
	bool v6;
	uint32_t flowlabel;		/* IPv6 */
	uint16_t sport, dport;		/* network order */
	uint32_t seq, ack;
	uint8_t flags;
	uint8_t ttl;
	uint16_t ip_id;			/* host order */
	uint16_t window;		/* raw field, unscaled */
	uint8_t doff;			/* TCP header length, bytes */
	bool has_mss, has_ws, has_ts, sack_perm;
	uint16_t mss;
	uint8_t wscale;
	uint32_t tsval, tsecr;
	const uint8_t *payload;
	size_t payload_len;
};

/* Parse an IPv4 packet (no link header) carrying TCP. Checks lengths, IHL,
 * doff (options of any length; unknown options skipped; malformed option
 * lists rejected), and, if verify_csum, the IP and TCP checksums. A
 * GRO-merged packet (ip tot_len > 64 KiB is impossible; tot_len may be 0 for
 * GSO super-packets: then the buffer length counts) is accepted.
 * 0 or -EBADMSG / -EPROTONOSUPPORT (not IPv4/TCP, fragments). */
int lwt_tcp_parse(const uint8_t *pkt, size_t len, bool verify_csum, struct lwt_tcp_seg *out);
/* The IPv6 half of it (faketcp6.c), called by lwt_tcp_parse for version 6:
 * a fixed header whose next header is TCP; any extension header (hop-by-hop,
 * routing, fragment, ...) is -EPROTONOSUPPORT, so a fragment never passes.
 * Payload length 0 (a GSO/GRO super-packet) takes the buffer length. */
int lwt_tcp_parse6(const uint8_t *pkt, size_t len, bool verify_csum, struct lwt_tcp_seg *out);
/* The TCP options and fields after the network header (shared by both). */
int lwt_tcp_parse_l4(const uint8_t *t, size_t tlen, struct lwt_tcp_seg *s);

/* Internet checksum helpers. lwt_csum64 sums in memory byte order, eight
 * bytes a step (RFC 1071: the folded result, stored with memcpy, is right on
 * either endianness); a piece must start at an even offset of the whole.
 * lwt_csum64_fold folds it to 16 bits, not complemented. */
uint64_t lwt_csum64(uint64_t sum, const void *data, size_t len);
/* The same without SIMD (lwt_csum64 uses AVX2 where the CPU has it): both
 * return the identical 64-bit sum. */
uint64_t lwt_csum64_scalar(uint64_t sum, const void *data, size_t len);
uint16_t lwt_csum64_fold(uint64_t sum);
/* The same as big-endian 16-bit words in a host-order value, for put16. */
uint16_t lwt_csum_fold(uint32_t sum);
uint32_t lwt_csum_partial(const void *data, size_t len, uint32_t sum);
uint16_t lwt_ip_csum(const void *iphdr, size_t len);
uint16_t lwt_tcp_csum(uint32_t saddr, uint32_t daddr, const void *tcp, size_t tcp_len);
/* The same over the IPv6 pseudo-header (RFC 8200 8.1). */
uint16_t lwt_tcp_csum6(const struct lwt_addr *saddr, const struct lwt_addr *daddr,
		       const void *tcp, size_t tcp_len);

/* Sequence arithmetic (RFC 1982). */
static inline bool lwt_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool lwt_seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool lwt_seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool lwt_seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

enum lwt_ftcp_state {
	LWT_FTCP_CLOSED = 0,
	LWT_FTCP_SYN_SENT,		/* we sent SYN (client; P2P both sides) */
	LWT_FTCP_SYN_RCVD,		/* we sent SYN-ACK (server; P2P simultaneous open) */
	LWT_FTCP_ESTABLISHED,
};

/* One fake-TCP flow. Not thread safe by itself: snd_nxt and ip_id are
 * advanced by lwt_ftcp_build_* which the caller serialises per flow. */
struct lwt_ftcp_conn {
	uint32_t laddr, raddr;		/* network order; IPv6: lwt_addr_key32() stand-ins */
	struct lwt_addr la, ra;		/* the full addresses, both families */
	bool v6;			/* IPv6 segments (40-byte header) */
	uint32_t flowlabel;		/* IPv6 flow label, random per flow as Linux's
					 * auto_flowlabels (bit 19 clear: stateless range) */
	uint16_t lport, rport;		/* network order */
	enum lwt_ftcp_state state;
	uint32_t iss, irs;		/* initial send / receive seq */
	uint32_t snd_nxt;		/* next seq we send */
	uint32_t snd_una;		/* highest ack received */
	uint32_t snd_wnd;		/* peer's window, bytes (scaled) */
	uint32_t max_snd_wnd;		/* largest window the peer advertised (RFC 5961 5.2) */
	uint8_t snd_wscale;		/* peer's window scale */
	uint8_t rcv_wscale;		/* ours: LWT_FTCP_WSCALE if both sides offered it, else 0 */
	uint32_t rcv_nxt;		/* highest seq+len received; what we ack */
	uint32_t rcv_wnd;		/* window we advertise, bytes */
	uint32_t last_ack_sent;		/* rcv_nxt at the last segment we sent */
	uint32_t ts_offset;		/* random TSval offset */
	uint32_t ts_recent;		/* last TSval from the peer (our TSecr) */
	uint16_t ip_id;			/* next IP ID */
	uint16_t mss;			/* peer's MSS */
	bool peer_ts;			/* peer sends timestamps */
	bool peer_sack;			/* peer offered SACK */
	uint8_t syn_ttl;		/* next SYN's TTL if not 0 (P2P), then cleared */
};

/* Initialise a flow (random ISN, TS offset, IP ID). */
void lwt_ftcp_init(struct lwt_ftcp_conn *c, uint32_t laddr, uint16_t lport,
		   uint32_t raddr, uint16_t rport);
/* The same for either family (an IPv6 flow when ra is not v4-mapped; la
 * must then be IPv6 too). */
void lwt_ftcp_init_addr(struct lwt_ftcp_conn *c, const struct lwt_addr *la, uint16_t lport,
			const struct lwt_addr *ra, uint16_t rport);
/* Bytes of network header in this flow's segments (20 or 40). */
static inline size_t lwt_ftcp_nhlen(const struct lwt_ftcp_conn *c)
{
	return c->v6 ? LWT_IP6_HDR_LEN : LWT_IP_HDR_LEN;
}
/* faketcp6.c: write the IPv6 header of a segment of tot bytes (header
 * included) whose TCP part follows it, and the TCP checksum. */
void lwt_ftcp_put_ip6(const struct lwt_ftcp_conn *c, uint8_t *ip6, size_t tot);
/* Current TSval for this flow (ms clock + offset). */
uint32_t lwt_ftcp_tsval(const struct lwt_ftcp_conn *c);

/* Build segments into buf (IPv4 header included); return total length or
 * -ENOSPC. Data segments carry flags ACK|PSH and advance snd_nxt by plen. */
int lwt_ftcp_build_syn(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap, uint16_t mss);
/* The same SYN carrying plen bytes that the caller has already placed after
 * its header (LWT_IP_HDR_LEN + LWT_TCP_SYN_HDR_LEN bytes): NAT detection's
 * probes over TCP (nattcp.c). */
int lwt_ftcp_build_syn_data(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap, uint16_t mss,
			    size_t plen);
int lwt_ftcp_build_synack(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap, uint16_t mss);
int lwt_ftcp_build_ack(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap);
/* Header only: writes the IP+TCP header (LWT_IP_HDR_LEN + LWT_TCP_DATA_HDR_LEN
 * bytes) for a payload of plen bytes that the caller has already placed right
 * after it in buf; computes both checksums over it. */
int lwt_ftcp_build_data(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap, size_t plen);
int lwt_ftcp_build_rst(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap);

/* What lwt_ftcp_input() decided. */
enum lwt_ftcp_verdict {
	LWT_FTCP_DROP = 0,		/* invalid / out of window: drop, count */
	LWT_FTCP_OK,			/* valid; payload (if any) is for the session */
	LWT_FTCP_SEND_SYNACK,		/* (re)send SYN-ACK: server, or a SYN crossed ours */
	LWT_FTCP_SEND_ACK,		/* SYN-ACK accepted, send ACK (state now ESTABLISHED) */
	LWT_FTCP_CHALLENGE_ACK,		/* RST/SYN in window but not exact: send a pure ACK */
	LWT_FTCP_RESET,			/* RST or FIN at exactly rcv_nxt: the peer says the
					 * flow is over (an established session probes first) */
};

/* How far behind rcv_nxt a data segment may still arrive: reordering only
 * (lwt never retransmits), not a whole window. */
#define LWT_FTCP_LATE_BYTES (1u << 20)

/* Feed a parsed segment of this flow (4-tuple already matched) to the state
 * machine. Established: seq within [rcv_nxt - LWT_FTCP_LATE_BYTES, rcv_nxt +
 * rcv_wnd), ACK within [snd_una - max_snd_wnd, snd_nxt] (RFC 5961 5.2),
 * RST/FIN exact rcv_nxt only (in-window RST -> challenge ACK). Nobody off
 * the path can authenticate a segment, so a data segment moves nothing
 * here: the caller calls lwt_ftcp_commit() once a record in it has
 * authenticated. A pure ACK (nothing to authenticate) moves snd_una, and the
 * peer's window only if its right edge does not move back. Handshake states
 * advance as TCP's. For a server flow created from a SYN, call
 * lwt_ftcp_accept_syn() first. */
enum lwt_ftcp_verdict lwt_ftcp_input(struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *s);
/* An accepted (LWT_FTCP_OK) data segment s proved to come from the peer (a
 * record in it authenticated): advance rcv_nxt, ts_recent, snd_una and the
 * peer's window from it. */
void lwt_ftcp_commit(struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *s);
/* Server: set up c (already lwt_ftcp_init'ed) from a received SYN; state -> SYN_RCVD. */
int lwt_ftcp_accept_syn(struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *syn);
/* SYN cookies (server, no state for a SYN). The SYN-ACK's ISN is
 *   SipHash-2-4(key; addresses, ports, the SYN's seq, counter, MSS index,
 *   option bits)[29 bits] << 3 | (counter & 1) << 2 | MSS index
 * (MSS from Linux's table 536/1300/1440/1460, the largest not over the
 * peer's). The counter advances every LWT_SYNCOOKIE_PERIOD_S seconds; the
 * current and the previous one are accepted (the low bit picks which), so a
 * cookie lives 64..128 s and the per-counter key rotates with it. As Linux
 * does, when the SYN carried timestamps the window scale (4 bits, 0xf none),
 * SACK (bit 4) go in the low 6 bits of our TSval, which the ACK echoes in
 * TSecr; unlike Linux those bits are under the hash too, so they cannot be
 * changed. A SYN without timestamps gets a SYN-ACK with MSS only (no window
 * scale, no SACK), as Linux's cookie SYN-ACK. A forged ACK passes with
 * probability 2^-29. */
#define LWT_SYNCOOKIE_PERIOD_S 64
struct lwt_syncookie_key {
	uint64_t k0, k1;		/* random per daemon */
};
void lwt_syncookie_init(struct lwt_syncookie_key *k);
/* The coarse clock (CLOCK_MONOTONIC seconds / LWT_SYNCOOKIE_PERIOD_S). */
uint32_t lwt_syncookie_now(void);
/* The SYN-ACK answering syn (a SYN, to be checked by the caller) with a
 * cookie ISN, built into buf; the length or -ENOSPC/-EINVAL. No state. */
int lwt_ftcp_build_cookie_synack(const struct lwt_syncookie_key *k, uint32_t count,
				 const struct lwt_tcp_seg *syn, uint16_t mss,
				 uint8_t *buf, size_t cap);
/* A segment with ACK (no SYN/RST) of no flow: if ack-1 is our cookie for
 * this 4-tuple and seq-1 under counter count or count-1, set c up
 * ESTABLISHED as the handshake left it (MSS, window scale, timestamps
 * recovered) and return 0; the segment itself is then fed to
 * lwt_ftcp_input as any of the flow's. Else -EACCES, c untouched. */
int lwt_ftcp_accept_cookie(const struct lwt_syncookie_key *k, uint32_t count,
			   struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *ack);

/* True if sending plen more bytes stays inside the peer's advertised window. */
bool lwt_ftcp_window_ok(const struct lwt_ftcp_conn *c, size_t plen);

#endif
