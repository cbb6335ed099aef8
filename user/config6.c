// SPDX-License-Identifier: MIT
/* The IPv6 forms of local_addr and remote_addr (config.h): "[v6]:port",
 * "[::]:port" for a server on both families. */
#include <string.h>
#include <arpa/inet.h>

#include "config.h"

const char *lwt_hostport_why(const char *s, const char *dflt)
{
	char host[LWT_CFG_STR];
	const char *why;
	struct lwt_addr a;
	long port;

	if (!s)
		return dflt;
	if (s[0] != '[' && !strchr(s, ']')) {
		const char *colon = strrchr(s, ':');

		if (!colon || !memchr(s, ':', (size_t)(colon - s)))
			return dflt;
	}
	if (!lwt_hostport_split(s, host, sizeof(host), &port, &why))
		return why;
	if (lwt_addr_parse(host, &a) && lwt_addr_is_any(&a))
		return "the address [::] only means 'any' in a listen address";
	return dflt;
}

void lwt_config_underlay6(struct lwt_config *c)
{
	char host[LWT_CFG_STR];
	const char *why;
	long port;

	c->listen4 = c->listen6 = c->remote6 = false;
	memset(&c->listen_ep6, 0, sizeof(c->listen_ep6));
	memset(&c->remote_ep, 0, sizeof(c->remote_ep));
	if (c->mode == LWT_MODE_SERVER) {
		if (c->local_addr[0] != '[' ||
		    !lwt_hostport_split(c->local_addr, host, sizeof(host), &port, &why) ||
		    inet_pton(AF_INET6, host, c->listen_ep6.b) != 1) {
			c->listen4 = true;
			return;
		}
		c->listen6 = true;
		/* "[::]" takes both families; a v4-mapped one is IPv4 only. */
		if (lwt_addr_is_v4(&c->listen_ep6)) {
			c->local.sin_addr.s_addr = lwt_addr_v4(&c->listen_ep6);
			c->listen4 = true;
			c->listen6 = false;
		} else {
			c->listen4 = lwt_addr_is_any(&c->listen_ep6);
		}
		return;
	}
	if (c->remote_host[0] && lwt_addr_parse(c->remote_host, &c->remote_ep)) {
		if (lwt_addr_is_v4(&c->remote_ep)) {
			c->remote.sin_addr.s_addr = lwt_addr_v4(&c->remote_ep);
			return;
		}
		c->remote6 = true;
	}
}
