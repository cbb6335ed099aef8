// SPDX-License-Identifier: MIT
/* The outer endpoint address (addr.h): conversions and text forms. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* 0xf, then 20 bits of the /64 prefix, then 8 of the interface id: what
 * groups IPv4 sources by /24 (the hub's half-open caps) groups IPv6 ones
 * by /64, the unit a host or a home gets. No secret is needed: every match
 * that decides something is confirmed on the full address. */
uint32_t lwt_addr_key32(const struct lwt_addr *a)
{
	uint32_t net, host;

	if (lwt_addr_is_v4(a))
		return lwt_addr_v4(a);
	net = fnv1a(a->b, 8) & 0xfffff;
	host = fnv1a(a->b + 8, 8) & 0xff;
	return htonl(0xf0000000u | net << 8 | host);
}

const char *lwt_addr_str(const struct lwt_addr *a, uint16_t port, char *buf, size_t bl)
{
	char ip[INET6_ADDRSTRLEN];
	bool v4 = lwt_addr_is_v4(a);

	if (v4)
		inet_ntop(AF_INET, a->b + 12, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, a->b, ip, sizeof(ip));
	if (!port)
		snprintf(buf, bl, "%s", ip);
	else if (v4)
		snprintf(buf, bl, "%s:%u", ip, ntohs(port));
	else
		snprintf(buf, bl, "[%s]:%u", ip, ntohs(port));
	return buf;
}

int lwt_addr_from_sa(struct lwt_addr *a, uint16_t *port, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		lwt_addr_from_v4(a, s4->sin_addr.s_addr);
		if (port)
			*port = s4->sin_port;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(a->b, &s6->sin6_addr, 16);
		if (port)
			*port = s6->sin6_port;
		return 0;
	}
	return -EAFNOSUPPORT;
}

int lwt_addr_to_sa(const struct lwt_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (lwt_addr_is_v4(a)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = port;
		s4->sin_addr.s_addr = lwt_addr_v4(a);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = port;
	memcpy(&s6->sin6_addr, a->b, 16);
	return sizeof(*s6);
}

bool lwt_hostport_split(const char *s, char *host, size_t hl, long *port, const char **why)
{
	const char *colon, *hs = s, *he;
	char *end;

	*why = "expected host:port or [IPv6]:port";
	if (!s || !*s)
		return false;
	if (s[0] == '[') {
		he = strchr(s, ']');
		if (!he) {
			*why = "'[' without ']'";
			return false;
		}
		if (he[1] != ':') {
			*why = "expected ':port' after ']'";
			return false;
		}
		hs = s + 1;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		if (memchr(s, ':', (size_t)(colon - s))) {
			*why = "an IPv6 address needs brackets: [addr]:port";
			return false;
		}
		he = colon;
	}
	if ((size_t)(he - hs) >= hl) {
		*why = "host too long";
		return false;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = 0;
	errno = 0;
	*port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || *port < 1 || *port > 65535) {
		*why = "port must be 1..65535";
		return false;
	}
	if (s[0] == '[') {
		struct in6_addr a6;

		if (inet_pton(AF_INET6, host, &a6) != 1) {
			*why = "not an IPv6 address inside [ ]";
			return false;
		}
	}
	return true;
}

bool lwt_addr_parse(const char *s, struct lwt_addr *a)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		lwt_addr_from_v4(a, a4.s_addr);
		return true;
	}
	return inet_pton(AF_INET6, s, a->b) == 1;
}
