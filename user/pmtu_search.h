/* SPDX-License-Identifier: MIT */
/* The arithmetic of a path MTU search (pmtu.c; docs/PROTOCOL.md "Path
 * MTU") and the parser of ICMP "fragmentation needed", apart from sockets
 * and timers so that tests drive them with a simulated path.
 *
 * A search holds lo, a size known to work (or the base, assumed until
 * lo_ok), and hi, the largest size not known to fail. A round is the
 * witness lo and up to LWT_PMTU_SPREAD sizes spread evenly over (lo, hi],
 * hi among them. Sizes are outer IPv4 packet lengths in bytes. */
#ifndef LWT_PMTU_SEARCH_H
#define LWT_PMTU_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define LWT_PMTU_SPREAD 15
#define LWT_PMTU_ROUND_MAX (LWT_PMTU_SPREAD + 1)

struct lwt_pmtu_search {
	int lo, hi;
	bool lo_ok;
	bool by_icmp;			/* an ICMP hint narrowed this search */
	int n;				/* sizes in the running round, 0: none */
	uint16_t size[LWT_PMTU_ROUND_MAX];	/* size[0] is the witness */
	uint32_t acked;			/* bit j: size[j] came back */
};

/* A new search over (lo, hi] (hi < lo is taken as lo). */
void lwt_pmtu_search_init(struct lwt_pmtu_search *s, int lo, bool lo_ok, int hi);
/* Lay out the next round in s->size; returns s->n. */
int lwt_pmtu_search_round(struct lwt_pmtu_search *s);
/* size came back as s->size[j]: false if it names no size of the round;
 * *top set when it is hi (the round need not wait for the others). */
bool lwt_pmtu_search_ack(struct lwt_pmtu_search *s, int j, int size, bool *top);
/* End the round: acks raise lo; with timed_out and something acked, every
 * size above the new lo without an ack lowers hi below it. Returns whether
 * anything was acked. */
bool lwt_pmtu_search_collect(struct lwt_pmtu_search *s, bool timed_out);
/* An ICMP "fragmentation needed" naming mtu (already at least the base):
 * the running round's acks are kept, hi comes down to mtu (lo too, to
 * base unproven, if it was above). false: no news (mtu >= hi), ignored. */
bool lwt_pmtu_search_hint(struct lwt_pmtu_search *s, int mtu, int base);
static inline bool lwt_pmtu_search_done(const struct lwt_pmtu_search *s)
{
	return s->lo_ok && s->lo >= s->hi;
}

/* What an ICMP "fragmentation needed" quotes. Addresses and ports network
 * order, mtu host order. */
struct lwt_pmtu_icmp {
	int mtu;
	uint32_t saddr, daddr;		/* IPv6: lwt_addr_key32() stand-ins */
	uint16_t sport, dport;
	bool v6;			/* ICMPv6 Packet Too Big: sa6, da6 */
	struct lwt_addr sa6, da6;
};
/* b: an IPv4 packet as a raw ICMP socket reads it. 0 if it is a type 3
 * code 4 with a non-zero MTU quoting an IPv4 TCP header (ports included),
 * else -EINVAL. */
int lwt_pmtu_icmp_parse(const uint8_t *b, size_t len, struct lwt_pmtu_icmp *q);
/* pmtu6.c: a raw ICMPv6 socket passing only Packet Too Big (fd or
 * -errno), and the parse of what it reads: 0 for a type 2 code 0 with an
 * MTU of at least 1280 quoting an IPv6 TCP segment, else -EINVAL. */
int lwt_pmtu_icmp6_open(void);
int lwt_pmtu_icmp6_parse(const uint8_t *b, size_t len, struct lwt_pmtu_icmp *q);

/* The ICMP "fragmentation needed" (next-hop mtu) that answers the inner
 * IPv4 packet pkt, from src (network order), into out: IPv4 header, ICMP,
 * the packet's header and 8 bytes. Its length, or 0 where RFC 1812 says
 * none is sent (pkt malformed, a fragment past the first, an ICMP error). */
#define LWT_PMTU_ICMP_MAX (20 + 8 + 60 + 8)
size_t lwt_pmtu_icmp_build(uint8_t out[LWT_PMTU_ICMP_MAX], const uint8_t *pkt, size_t len,
			   uint32_t src, int mtu);
/* The same for an inner IPv6 packet: an ICMPv6 Packet Too Big (RFC 4443
 * 3.2) from src to the packet's source, quoting as much of the packet as
 * keeps the answer within 1280 bytes. Its length, or 0 where none is sent
 * (pkt malformed, about an ICMPv6 error, from an unspecified or multicast
 * source). */
#define LWT_PMTU_ICMP6_MAX 1280
size_t lwt_pmtu_icmp6_build(uint8_t out[LWT_PMTU_ICMP6_MAX], const uint8_t *pkt, size_t len,
			    const uint8_t src[16], int mtu);

#endif
