/* SPDX-License-Identifier: MIT */
/* lwt handshake messages: HELLO (client), HELLO_ACK (server), REJECT.
 * Pure encode/verify functions; the state machine lives in session.c. Built
 * frames include their lwt_frame_hdr. */
#ifndef LWT_HANDSHAKE_H
#define LWT_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include "crypto.h"
#include "lwt/wire.h"

#define LWT_HELLO_FRAME_LEN (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_hello))
#define LWT_HELLO_ACK_FRAME_LEN (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_hello_ack))
#define LWT_REJECT_FRAME_LEN (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_reject))
#define LWT_HELLO_MAX_SKEW_MS 120000	/* HELLO timestamps accepted within +-2 min */

/* Client state kept between HELLO and HELLO_ACK. */
struct lwt_hs_client {
	uint8_t priv[32], pub[32], random[32];
	uint8_t flags;		/* LWT_HS_F_*: set by the caller before building */
	uint8_t hello_frame[LWT_HELLO_FRAME_LEN];	/* as sent; the ACK's MAC covers it */
};

/* Fields a server learns from a verified HELLO. */
struct lwt_hs_hello_info {
	uint8_t client_random[32], client_pub[32];
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

/* Client: build a HELLO into out (LWT_HELLO_FRAME_LEN bytes); fills st. */
int lwt_hs_hello_build(const struct lwt_psk_keys *psk, struct lwt_hs_client *st,
		       uint64_t now_ms, uint64_t client_id, uint32_t tunnel_ip,
		       uint8_t tunnel_prefix, uint8_t fec_data, uint8_t fec_parity, uint8_t *out);
/* Server: verify a HELLO frame (whole frame incl. header). 0 on success,
 * -EBADMSG bad length/version/format, -EACCES MAC wrong (wrong key),
 * -ETIME timestamp outside +-LWT_HELLO_MAX_SKEW_MS of now_ms. */
int lwt_hs_hello_verify(const struct lwt_psk_keys *psk, const uint8_t *frame, size_t len,
			uint64_t now_ms, struct lwt_hs_hello_info *out);
/* Server: build the HELLO_ACK answering hello_frame and derive the session keys. */
int lwt_hs_ack_build(const struct lwt_psk_keys *psk, const uint8_t *hello_frame,
		     const struct lwt_hs_hello_info *hello, const struct lwt_hs_ack_info *info,
		     uint8_t *out, struct lwt_session_keys *keys);
/* Client: verify a HELLO_ACK against st and derive the session keys.
 * 0, -EBADMSG, or -EACCES (MAC wrong). */
int lwt_hs_ack_verify(const struct lwt_psk_keys *psk, const struct lwt_hs_client *st,
		      const uint8_t *frame, size_t len, struct lwt_hs_ack_info *info,
		      struct lwt_session_keys *keys);
/* REJECT frame (LWT_REJECT_FRAME_LEN bytes). */
void lwt_hs_reject_build(uint8_t reason, uint8_t *out);
/* Returns the reason, or -EBADMSG. */
int lwt_hs_reject_parse(const uint8_t *frame, size_t len);
const char *lwt_hs_reject_str(int reason);

#endif
