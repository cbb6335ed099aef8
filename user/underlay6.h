/* SPDX-License-Identifier: MIT */
/* The IPv6 underlay's set-up glue (underlay6.c): a client's IPv6 source
 * address towards its server, the interface a path runs on when IPv6 is
 * involved, the listen port reserved on IPv6, and the bytes an IPv6
 * segment adds (LWT_IP6_EXTRA) in the MTU a daemon picks. */
#ifndef LWT_UNDERLAY6_H
#define LWT_UNDERLAY6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct lwt_daemon;

/* True when this daemon's segments may be IPv6 (a client of an IPv6
 * server, a server listening on IPv6): sizes allow for 40-byte headers. */
bool lwt_u6_active(const struct lwt_daemon *d);
/* The source address the kernel picks towards remote (IPv6). 0 or -errno. */
int lwt_u6_source_for(const struct lwt_addr *remote, struct lwt_addr *out);
/* The interface holding the IPv6 source (client) or the listen addresses
 * (server on IPv6, both families for [::]). 0, or -errno and why. */
int lwt_u6_iface(struct lwt_daemon *d, char *ifname, char *why, size_t wl);
/* Server on IPv6: a TCP socket bound to the listen port on IPv6 (V6ONLY:
 * the IPv4 one is reserved apart), so no other program takes it. fd or
 * -errno. */
int lwt_u6_reserve_port(const struct lwt_daemon *d);
/* Client over IPv6: a TCP socket holding a local port on its IPv6 source
 * (*port: wanted, 0 any; then the one bound). fd, or -1 with errno. */
int lwt_u6_reserve_client_port(struct lwt_daemon *d, uint16_t *port);
/* Client over IPv6: its source, the data path's filter. 0 or -errno. */
int lwt_u6_client_setup(struct lwt_daemon *d);

#endif
