/* SPDX-License-Identifier: MIT */
/* NAT probe messages (docs/PROTOCOL.md "NAT type detection"): UDP datagrams
 * between a client and the hub's probe ports, outside the fake-TCP session
 * but keyed by it. One fixed layout for the request and the answer, so an
 * answer is never larger than the probe it answers; big endian; the MAC is
 * HMAC-SHA256 under a key derived from the session's keys (never from the
 * PSK alone: a capture must give nothing to test key guesses against).
 * Pure functions: no sockets, no state. */
#ifndef LWT_NATMSG_H
#define LWT_NATMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "crypto.h"

#define LWT_NATMSG_VERSION 1
#define LWT_NATMSG_MAGIC "lwtN"

enum lwt_natmsg_type {
	LWT_NATMSG_REQUEST = 1,		/* client -> hub */
	LWT_NATMSG_ANSWER = 2,		/* hub -> client */
};

/* Request flags (RFC 5780 CHANGE-REQUEST); an answer echoes them. */
#define LWT_NAT_CHANGE_PORT 0x01	/* answer from the other probe port */
#define LWT_NAT_CHANGE_ADDR 0x02	/* answer from the other address (nat_probe_addr) */
/* The probe is the payload of a TCP SYN (the NAT's TCP mapping); the answer
 * comes over the hub session (LWT_MSG_NAT_TCP), never on the wire. */
#define LWT_NAT_OVER_TCP 0x04
/* Answer flags: where the answer was sent from. */
#define LWT_NAT_FROM_OTHER_PORT 0x10
#define LWT_NAT_FROM_OTHER_ADDR 0x20
#define LWT_NAT_REQ_FLAGS (LWT_NAT_CHANGE_PORT | LWT_NAT_CHANGE_ADDR | LWT_NAT_OVER_TCP)
#define LWT_NAT_ANS_FLAGS (LWT_NAT_REQ_FLAGS | LWT_NAT_FROM_OTHER_PORT | LWT_NAT_FROM_OTHER_ADDR)

/* One probe or answer: the whole UDP payload. */
struct lwt_natmsg {
	__u8 magic[4];		/* "lwtN" */
	__u8 version;		/* LWT_NATMSG_VERSION */
	__u8 type;		/* enum lwt_natmsg_type */
	__u8 flags;		/* LWT_NAT_* */
	__u8 zero1;
	__be32 session_id;	/* the client's session with the hub (HELLO_ACK) */
	__be32 zero2;
	__be64 seq;		/* request: the client's counter, never reused in a
				 * session; answer: the request's */
	__be32 mapped_addr;	/* answer: the request's source address, as the hub saw it */
	__be16 mapped_port;	/* ... and port; request: 0 */
	__be16 other_port;	/* answer: the hub's other probe port; request: 0 */
	__be32 other_addr;	/* answer: the hub's other address, 0 = none; request: 0 */
	__be32 zero3;
	__u8 mac[LWT_HMAC_LEN];	/* HMAC-SHA256(probe key, every byte before it) */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_natmsg) == 72, "lwt_natmsg");
#define LWT_NATMSG_LEN sizeof(struct lwt_natmsg)

/* A message's fields, host order except addresses (network order). */
struct lwt_natmsg_info {
	uint8_t type, flags;
	uint32_t session_id;
	uint64_t seq;
	uint32_t mapped_addr, other_addr;
	uint16_t mapped_port, other_port;
};

/* The probe key of a session: HKDF-SHA256(salt = "lwt-v2 natprobe",
 * ikm = c2s_key || s2c_key, info = be32 session_id). 0 or -errno. */
int lwt_natmsg_key(const struct lwt_session_keys *k, uint32_t session_id,
		   uint8_t key[LWT_KEY_LEN]);
/* Build a message (LWT_NATMSG_LEN bytes into out), MAC included. Fields a
 * request does not carry are written as 0 whatever in says. 0 or -errno. */
int lwt_natmsg_build(const uint8_t key[LWT_KEY_LEN], const struct lwt_natmsg_info *in,
		     uint8_t *out);
/* The checks that need no key: length, magic, version, type, flags, the
 * zero fields (and a request's answer fields). 0 with out filled, or
 * -EBADMSG. */
int lwt_natmsg_parse(const uint8_t *buf, size_t len, struct lwt_natmsg_info *out);
/* The MAC of a parsed message, in constant time: 0 or -EACCES. */
int lwt_natmsg_verify(const uint8_t key[LWT_KEY_LEN], const uint8_t *buf, size_t len);

/* Replay window of the hub, per session: the highest seq seen and the 64
 * below it. true (and recorded) if seq is new. seq 0 is never valid. */
struct lwt_natmsg_window {
	uint64_t top;
	uint64_t bits;		/* bit i: top - i seen */
};
bool lwt_natmsg_window_check(struct lwt_natmsg_window *w, uint64_t seq);

#endif
