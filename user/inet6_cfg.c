// SPDX-License-Identifier: MIT
/* The IPv6 syntax of config keys (config.h): an IPv6 CIDR, and tunnel_addr
 * with its IPv4 and optional IPv6 prefix. Pure functions, no state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "config.h"

bool lwt_cidr6_parse(const char *s, struct lwt_cidr6 *out)
{
	return lwt_prefix_parse(s, AF_INET6, out->addr, &out->prefix);
}

/* Host part of a (with prefix p) all zero: the subnet-router anycast
 * address, never a host's. */
static bool host_zero(const uint8_t *a, int p)
{
	for (int i = p; i < 128; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

int lwt_tunnel_addr_parse(const char *s, struct lwt_cidr *v4, struct lwt_cidr6 *v6, bool *has6,
			  char *err, size_t el)
{
	char buf[128], *save = NULL, *tok;
	bool has4 = false;

	*has6 = false;
	if (strlen(s) >= sizeof(buf))
		return lwt_config_errf(err, el, "tunnel_addr: too long");
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (strchr(tok, ':')) {
			if (*has6)
				return lwt_config_errf(err, el, "tunnel_addr: more than one IPv6 prefix in \"%s\"", s);
			if (!lwt_cidr6_parse(tok, v6) || v6->prefix < 16 || v6->prefix > 126)
				return lwt_config_errf(err, el, "tunnel_addr: bad IPv6 CIDR \"%s\" (want an IPv6 "
						       "address /16..126, e.g. fd00::2/64)", tok);
			if (host_zero(v6->addr, v6->prefix) || v6->addr[0] == 0xff ||
			    (v6->addr[0] == 0xfe && (v6->addr[1] & 0xc0) == 0x80))
				return lwt_config_errf(err, el, "tunnel_addr: \"%s\" is not a host address "
						       "(the prefix's network, multicast or link-local)", tok);
			*has6 = true;
			continue;
		}
		if (has4)
			return lwt_config_errf(err, el, "tunnel_addr: more than one IPv4 prefix in \"%s\"", s);
		if (!lwt_cidr_parse(tok, v4) || v4->prefix < 8 || v4->prefix > 30)
			return lwt_config_errf(err, el, "tunnel_addr: bad CIDR \"%s\" (want a.b.c.d/8..30, "
					       "optionally with an IPv6 prefix: 10.0.0.2/24,fd00::2/64)", tok);
		has4 = true;
	}
	if (!has4)
		return lwt_config_errf(err, el, "tunnel_addr: \"%s\" has no IPv4 prefix; an IPv4 tunnel "
				       "address is required (the handshake carries it), IPv6 comes in "
				       "addition: e.g. 10.0.0.2/24,fd00::2/64", s);
	return 0;
}
