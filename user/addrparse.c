// SPDX-License-Identifier: MIT
/* The address syntax of flags and config keys (config.h): a CIDR, an
 * IPv4 address and port, a remote as host:port (a name to resolve, or an
 * address), a client id. Pure functions, no state. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <arpa/inet.h>

#include "config.h"

bool lwt_prefix_parse(const char *s, int family, void *addr, uint8_t *prefix)
{
	char buf[64], *slash, *end;
	uint8_t a[16];
	long p;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash = 0;
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || p < 0 || p > (family == AF_INET ? 32 : 128) ||
	    inet_pton(family, buf, a) != 1)
		return false;
	memcpy(addr, a, family == AF_INET ? 4 : 16);
	*prefix = (uint8_t)p;
	return true;
}

bool lwt_cidr_parse(const char *s, struct lwt_cidr *out)
{
	return lwt_prefix_parse(s, AF_INET, &out->addr, &out->prefix);
}

bool lwt_hostport_parse(const char *s, struct sockaddr_in *out, bool allow_any_host)
{
	char host[LWT_CFG_STR], *colon, *end;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *res;
	long port;

	if (!s || strlen(s) >= sizeof(host))
		return false;
	if (s[0] == '[') {	/* "[v6]:port": the IPv6 part is the caller's (addr.h) */
		const char *why;

		if (!lwt_hostport_split(s, host, sizeof(host), &port, &why))
			return false;
		memset(out, 0, sizeof(*out));
		out->sin_family = AF_INET;
		out->sin_port = htons((uint16_t)port);
		return true;
	}
	snprintf(host, sizeof(host), "%s", s);
	colon = strrchr(host, ':');
	if (!colon)
		return false;
	*colon = 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 1 || port > 65535)
		return false;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (!*host)
		return allow_any_host;
	if (inet_pton(AF_INET, host, &out->sin_addr) == 1)
		return allow_any_host || out->sin_addr.s_addr != 0;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return false;
	out->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return true;
}

/* A host name as DNS and /etc/hosts take it: letters, digits, '-', '_' and
 * dots, no empty label, at most 253 characters; one of digits and dots only
 * must be an IPv4 literal (10.0.0.300 is a typo, not a name). */
static bool host_syntax_ok(const char *h)
{
	struct in_addr a;
	bool numeric = true;
	size_t i, n = strlen(h);

	if (!n || n > 253 || h[0] == '.' || h[0] == '-' || strstr(h, ".."))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)h[i];

		if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
			return false;
		if (!isdigit(ch) && ch != '.')
			numeric = false;
	}
	return !numeric || inet_pton(AF_INET, h, &a) == 1;
}

bool lwt_remote_parse(const char *s, struct sockaddr_in *out, char *host, size_t hl)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char *end;
	long port;

	if (s && s[0] == '[') {	/* "[v6]:port": an IPv6 literal (lwt_remote6_parse) */
		const char *why;
		struct lwt_addr a;

		if (!lwt_hostport_split(s, host, hl, &port, &why) || !lwt_addr_parse(host, &a) ||
		    lwt_addr_is_any(&a))
			return false;
		memset(out, 0, sizeof(*out));
		out->sin_family = AF_INET;
		out->sin_port = htons((uint16_t)port);
		return true;
	}
	if (!colon || colon == s || (size_t)(colon - s) >= hl)
		return false;
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port < 1 || port > 65535 ||
	    !host_syntax_ok(host))
		return false;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &out->sin_addr) == 1 && !out->sin_addr.s_addr)
		return false;
	return true;
}

bool lwt_ipport_parse(const char *s, struct sockaddr_in *out)
{
	char host[INET_ADDRSTRLEN], *end;
	const char *colon = s ? strrchr(s, ':') : NULL;
	long port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return false;
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port < 1 || port > 65535)
		return false;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

bool lwt_client_id_parse(const char *s, uint64_t *out)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	if (!n || n > 16 || s[n])
		return false;
	*out = strtoull(s, NULL, 16);
	return *out != 0;
}
