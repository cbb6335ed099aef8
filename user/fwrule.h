/* SPDX-License-Identifier: MIT */
/* Firewall rule that stops the kernel from answering our fake-TCP flows with
 * RST. One nftables table per instance, "lwt_<instance>", so that a rule left
 * by a killed run is found and removed at the next start. Falls back to an
 * iptables chain "LWT-<instance>" where nft is absent. */
#ifndef LWT_FWRULE_H
#define LWT_FWRULE_H

#include <stdint.h>

struct lwt_fwrule {
	char instance[32];
	int backend;		/* 0 none, 1 nft, 2 iptables */
};

/* Server: drop outgoing RSTs with TCP source port `port` (network order) sent
 * from addr (0 = any). Client: drop outgoing RSTs to raddr:rport from any
 * local port. Removes any stale rule of this instance first. 0 or -errno. */
int lwt_fwrule_install_server(struct lwt_fwrule *r, const char *instance, uint32_t addr,
			      uint16_t port);
int lwt_fwrule_install_client(struct lwt_fwrule *r, const char *instance, uint32_t raddr,
			      uint16_t rport);
/* Remove this instance's rule; idempotent; async-signal-unsafe (runs nft). */
void lwt_fwrule_remove(struct lwt_fwrule *r);
/* Remove a leftover rule of instance (used at start). */
void lwt_fwrule_cleanup_stale(const char *instance);

#endif
