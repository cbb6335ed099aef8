/* SPDX-License-Identifier: MIT */
/* Packetization-layer path MTU discovery (RFC 8899 style) for `mtu 0`
 * (docs/PROTOCOL.md "Path MTU"). Control thread only.
 *
 * Each session searches the largest outer IPv4 packet that reaches its
 * peer: padded PMTU_PROBE records of chosen sizes, sent with DF, which the
 * peer acknowledges. A size acknowledged works; a size that vanishes in a
 * round where a smaller one came back does not (a black hole, no ICMP
 * needed); an ICMP "fragmentation needed" that quotes the flow only tells
 * which size to try next. A client probes its path to the server and sets
 * the TUN MTU to the path MTU minus lwt's overhead (LWT_OVERHEAD); a server
 * probes every client and gives that client's tunnel IP a host route with
 * that MTU on the TUN when it is below the TUN's. A fixed `mtu` turns all
 * of it off.
 *
 * Units: every size here is an outer IPv4 packet length in bytes. */
#ifndef LWT_PMTU_H
#define LWT_PMTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lwt_daemon;

#define LWT_PMTU_BASE 576		/* IPv4: every path carries this (RFC 791) */
#define LWT_PMTU_BASE6 1280		/* IPv6: every link carries this (RFC 8200) */

enum lwt_pmtu_state {
	LWT_PMTU_OFF = 0,		/* a fixed mtu, or no session */
	LWT_PMTU_SEARCHING,
	LWT_PMTU_DONE,
	LWT_PMTU_BLACK_HOLE,		/* the path MTU stopped working: from the base again */
};

/* Before privileges go: the ICMP socket (needs CAP_NET_RAW). 0 or -errno;
 * probing works without ICMP when the socket cannot be had. */
int lwt_pmtu_init(struct lwt_daemon *d);
void lwt_pmtu_free(struct lwt_daemon *d);
/* The ICMP socket for the control loop's epoll, or -1. */
int lwt_pmtu_fd(const struct lwt_daemon *d);
/* It is readable: take the "fragmentation needed" messages for our flows. */
void lwt_pmtu_icmp_input(struct lwt_daemon *d);
/* A PMTU_ACK record on slot (m: type byte, then the body). */
void lwt_pmtu_msg(struct lwt_daemon *d, int slot, const uint8_t *m, size_t len);
/* Every control tick: start, advance and end the searches. */
void lwt_pmtu_tick(struct lwt_daemon *d, uint64_t now);
/* For status: slot's state; cJSON object as void * (no cJSON here). */
void *lwt_pmtu_json(const struct lwt_daemon *d, int slot);
const char *lwt_pmtu_state_str(int state);

#endif
