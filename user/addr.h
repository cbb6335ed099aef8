/* SPDX-License-Identifier: MIT */
/* The outer (underlay) endpoint address: one 16-byte type for IPv4 and
 * IPv6, IPv4 held v4-mapped (::ffff:a.b.c.d) as struct lwt_xdp_addr does,
 * so one comparison and one hash serve both families.
 *
 * Where the code before IPv6 keys on a 32-bit IPv4 address (flow keys,
 * per-source handshake limits, the fake-TCP pseudo fields laddr/raddr),
 * an IPv6 endpoint stands there as lwt_addr_key32(): a hash of the address
 * in 240.0.0.0/4 (class E, never a source on the wire), confirmed on the
 * full address wherever a match decides something. Byte order: network. */
#ifndef LWT_ADDR_H
#define LWT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct lwt_addr {
	uint8_t b[16];
};

#define LWT_ADDR_STRLEN 56	/* "[" v6 "]:" port, NUL */

static inline void lwt_addr_from_v4(struct lwt_addr *a, uint32_t v4)
{
	memset(a->b, 0, 10);
	a->b[10] = a->b[11] = 0xff;
	memcpy(a->b + 12, &v4, 4);
}

static inline bool lwt_addr_is_v4(const struct lwt_addr *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a->b, pfx, 12);
}

static inline uint32_t lwt_addr_v4(const struct lwt_addr *a)
{
	uint32_t v;

	memcpy(&v, a->b + 12, 4);
	return v;
}

static inline bool lwt_addr_eq(const struct lwt_addr *a, const struct lwt_addr *b)
{
	return !memcmp(a->b, b->b, 16);
}

static inline bool lwt_addr_is_any(const struct lwt_addr *a)
{
	static const uint8_t z[16];

	return !memcmp(a->b, z, 16) || (lwt_addr_is_v4(a) && !lwt_addr_v4(a));
}

/* The 32-bit stand-in (network order): the IPv4 address itself, or for
 * IPv6 a hash into 240.0.0.0/4 (never 0). */
uint32_t lwt_addr_key32(const struct lwt_addr *a);
/* True for a stand-in of an IPv6 address (240.0.0.0/4). */
static inline bool lwt_addr_key32_is_v6(uint32_t k)
{
	return (((const uint8_t *)&k)[0] & 0xf0) == 0xf0;
}

/* "a.b.c.d" or the IPv6 text form; with port (network order, 0 = none)
 * "a.b.c.d:p" or "[v6]:p". Returns buf. */
const char *lwt_addr_str(const struct lwt_addr *a, uint16_t port, char *buf, size_t bl);

struct sockaddr;
struct sockaddr_storage;
/* From an AF_INET/AF_INET6 sockaddr; port (network order) into *port if
 * not NULL. -EAFNOSUPPORT for another family. */
int lwt_addr_from_sa(struct lwt_addr *a, uint16_t *port, const struct sockaddr *sa);
/* To an AF_INET (v4-mapped) or AF_INET6 sockaddr; its length. */
int lwt_addr_to_sa(const struct lwt_addr *a, uint16_t port, struct sockaddr_storage *ss);

/* "host:port", "[v6]:port", "v6" forms: split into host (brackets
 * stripped) and port (host order). A bare IPv6 literal without brackets
 * and a port is refused (ambiguous). false with a reason in why. */
bool lwt_hostport_split(const char *s, char *host, size_t hl, long *port, const char **why);
/* Parse an address literal (either family) into a. */
bool lwt_addr_parse(const char *s, struct lwt_addr *a);

#endif
