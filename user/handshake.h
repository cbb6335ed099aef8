/* SPDX-License-Identifier: MIT */
/* lwt handshake messages (docs/PROTOCOL.md "Handshake"): a balanced PAKE,
 * SPAKE2-P256 (user/spake2.h) with the client as side A and the server as
 * side B.
 *
 *   client                                   server
 *   HELLO      version, flags, FEC shape, client_random, timestamp,
 *              client_id, tunnel IP, pA      ->
 *                                            <-  HELLO_ACK  flags, FEC shape,
 *                                                server_random, session_id,
 *                                                tunnel IP, pB, cB
 *   CONFIRM    cA                            ->
 *
 * The confirmations' AAD (the "transcript") is the HELLO frame and the
 * HELLO_ACK frame up to cB, byte for byte as on the wire, so everything the
 * two sides agree on is bound; the session keys are HKDF over Ke, both
 * randoms and the transcript. Nothing on the wire depends on the PSK alone:
 * a capture gives nothing to test a guess against offline.
 *
 * Pure encode/verify functions and the server's per-source guess limiter;
 * the state machine lives in control.c. Built frames include their
 * lwt_frame_hdr. */
#ifndef LWT_HANDSHAKE_H
#define LWT_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto.h"
#include "spake2.h"
#include "lwt/wire.h"

#define LWT_HELLO_FRAME_LEN (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_hello))
#define LWT_HELLO_ACK_FRAME_LEN (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_hello_ack))
#define LWT_CONFIRM_FRAME_LEN (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_confirm))
#define LWT_REJECT_FRAME_LEN (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_reject))
/* The transcript: HELLO frame || HELLO_ACK frame without cB (252 bytes). */
#define LWT_HS_TRANSCRIPT_LEN (LWT_HELLO_FRAME_LEN + LWT_HELLO_ACK_FRAME_LEN - LWT_HS_CONFIRM_LEN)
#define LWT_HELLO_MAX_SKEW_MS 120000	/* HELLO timestamps accepted within +-2 min */
/* SPAKE2 identities (RFC 9382 idA, idB): the roles; the rest of what each
 * side is (client_id, tunnel IPs) is in the transcript. */
#define LWT_HS_ID_CLIENT "lwt-v2 client"
#define LWT_HS_ID_SERVER "lwt-v2 server"

/* Client state kept between HELLO and HELLO_ACK: x and pA, the HELLO as
 * sent. Wiped by lwt_hs_ack_verify (whatever its outcome) or
 * lwt_hs_client_clear. */
struct lwt_hs_client {
	struct lwt_spake2 sp;
	uint8_t flags;		/* LWT_HS_F_*: set by the caller before building */
	bool started;		/* sp holds a share awaiting the HELLO_ACK */
	uint8_t hello_frame[LWT_HELLO_FRAME_LEN];
};

/* Fields of a HELLO (parsed, not authenticated: the confirmations bind
 * them later). */
struct lwt_hs_hello_info {
	uint8_t version;
	uint8_t client_random[32];
	uint8_t share[LWT_HS_SHARE_LEN];	/* pA */
	uint64_t timestamp_ms, client_id;
	uint32_t tunnel_ip;	/* network order */
	uint8_t tunnel_prefix;
	uint8_t fec_data, fec_parity;
	uint8_t flags;		/* LWT_HS_F_* the client asks for */
};

struct lwt_hs_ack_info {
	uint32_t session_id;
	uint32_t server_tunnel_ip;	/* network order */
	uint8_t server_tunnel_prefix;
	uint8_t fec_data, fec_parity;	/* server's FEC shape */
	uint8_t flags;			/* LWT_HS_F_* the server grants */
};

/* Server state of one handshake between its HELLO_ACK and the CONFIRM. */
struct lwt_hs_server {
	bool acked;			/* a HELLO_ACK went out: a CONFIRM is due */
	bool installed;			/* the keys are with the data plane already */
	uint8_t expect_ca[LWT_HS_CONFIRM_LEN];
	struct lwt_hs_hello_info hello;
	struct lwt_hs_ack_info ack;
	struct lwt_session_keys keys;	/* until CONFIRM when not installed */
};

/* Client: draw x, build a HELLO into out (LWT_HELLO_FRAME_LEN bytes); fills
 * st. psk->pw is the SPAKE2 password. */
int lwt_hs_hello_build(const struct lwt_psk_keys *psk, struct lwt_hs_client *st,
		       uint64_t now_ms, uint64_t client_id, uint32_t tunnel_ip,
		       uint8_t tunnel_prefix, uint8_t fec_data, uint8_t fec_parity, uint8_t *out);
/* Server: parse a HELLO frame (whole frame incl. header) and check its
 * timestamp; no curve work. 0 on success; -EBADMSG bad length or format;
 * -EPROTONOSUPPORT another protocol version (out->version says which);
 * -ETIME timestamp outside +-LWT_HELLO_MAX_SKEW_MS of now_ms; -ESTALE
 * timestamp before start_ms (the server's start: its replay cache is empty
 * since then). */
int lwt_hs_hello_verify(const uint8_t *frame, size_t len, uint64_t now_ms, uint64_t start_ms,
			struct lwt_hs_hello_info *out);
/* Server: SPAKE2 side B for a verified HELLO: build the HELLO_ACK answering
 * hello_frame into out, derive the session keys and the cA the client must
 * send (expect_ca). -EBADMSG: pA refused (not a usable point); keys are
 * still unconfirmed: the caller holds them until cA verifies. */
int lwt_hs_ack_build(const struct lwt_psk_keys *psk, const uint8_t *hello_frame,
		     const struct lwt_hs_hello_info *hello, const struct lwt_hs_ack_info *info,
		     uint8_t *out, struct lwt_session_keys *keys,
		     uint8_t expect_ca[LWT_HS_CONFIRM_LEN]);
/* Client: verify a HELLO_ACK against st (which holds the password since
 * the HELLO) and derive the session keys.
 * 0: cB verified, keys set, confirm_out holds the CONFIRM frame to send.
 * -EACCES: cB did not verify (wrong key, or a byte of HELLO / HELLO_ACK
 * changed on the way): confirm_out still holds a CONFIRM, cA with its last
 * bit inverted, to be sent so that the server refuses and counts the failed
 * attempt in every case the client refused it (cA alone does not cover cB);
 * keys are not set. -EBADMSG: malformed
 * HELLO_ACK or pB refused: nothing to send. st's secrets are wiped in every
 * case (one HELLO_ACK per HELLO). */
int lwt_hs_ack_verify(struct lwt_hs_client *st, const uint8_t *frame, size_t len,
		      struct lwt_hs_ack_info *info, struct lwt_session_keys *keys,
		      uint8_t confirm_out[LWT_CONFIRM_FRAME_LEN]);
/* Server: a CONFIRM frame against the cA expected. 0, -EBADMSG (malformed)
 * or -EACCES (wrong key). Constant time. */
int lwt_hs_confirm_verify(const uint8_t expect_ca[LWT_HS_CONFIRM_LEN], const uint8_t *frame,
			  size_t len);
void lwt_hs_client_clear(struct lwt_hs_client *st);
/* REJECT frame (LWT_REJECT_FRAME_LEN bytes). */
void lwt_hs_reject_build(uint8_t reason, uint8_t *out);
/* Returns the reason, or -EBADMSG. */
int lwt_hs_reject_parse(const uint8_t *frame, size_t len);
const char *lwt_hs_reject_str(int reason);

/* Server: online guesses per source address. Each HELLO that costs curve
 * work is charged as a guess when its HELLO_ACK goes out, and refunded when
 * its CONFIRM verifies: wrong keys, CONFIRMs never sent and tampered
 * handshakes stay charged. A source may hold LWT_HS_GUESS_BURST unrefunded
 * guesses, paid back at one per LWT_HS_GUESS_EVERY_MS (a GCRA: one deadline
 * per source); beyond that its HELLOs are refused before any curve work.
 * A fixed table (LWT_HS_LIMIT_SETS x LWT_HS_LIMIT_WAYS, 16 KiB), keyed by a
 * per-process random hash of the address; a source new to a full set takes
 * the entry owing least, so a flood of fresh addresses evicts settled
 * entries before indebted ones and never allocates. */
#define LWT_HS_GUESS_BURST 10
#define LWT_HS_GUESS_EVERY_MS 6000		/* 10 a minute */
#define LWT_HS_LIMIT_SETS 256
#define LWT_HS_LIMIT_WAYS 4
struct lwt_hs_limit {
	struct lwt_hs_limit_entry {
		uint32_t addr;		/* network order; 0 = unused */
		uint32_t pad;
		uint64_t tat_ms;	/* paid back at this time; <= now: owes nothing */
	} e[LWT_HS_LIMIT_SETS][LWT_HS_LIMIT_WAYS];
	uint32_t k1, k2;		/* hash keys */
};
void lwt_hs_limit_init(struct lwt_hs_limit *l);
/* May addr have another guess now? (no state change) */
bool lwt_hs_limit_allow(const struct lwt_hs_limit *l, uint32_t addr, uint64_t now_ms);
/* A guess by addr (its HELLO_ACK is going out). */
void lwt_hs_limit_charge(struct lwt_hs_limit *l, uint32_t addr, uint64_t now_ms);
/* addr's guess was right after all (its CONFIRM verified). */
void lwt_hs_limit_refund(struct lwt_hs_limit *l, uint32_t addr, uint64_t now_ms);

#endif
