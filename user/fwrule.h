/* SPDX-License-Identifier: MIT */
/* Firewall rule that stops the kernel from answering our fake-TCP flows with
 * RST. One nftables table per instance, "lwt_<instance>", so that a rule left
 * by a killed run is found and removed at the next start. Falls back to an
 * iptables chain "LWT-<instance>" where nft is absent. */
#ifndef LWT_FWRULE_H
#define LWT_FWRULE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

/* The raw-socket path marks what it sends (SO_MARK): the rule drops only
 * the kernel's RSTs, never lwt's own (a direct path given up). */
#define LWT_FW_MARK 0x6c777400u

struct lwt_fwrule {
	char instance[32];
	int backend;		/* 0 none, 1 nft, 2 iptables */
	bool p2p;		/* client: its local port's RSTs too */
	uint16_t lport;		/* ... that port (network order), 0 none yet */
	bool ipt6;		/* iptables backend: an ip6tables chain besides */
};

/* Server: drop outgoing RSTs with TCP source port `port` (network order) sent
 * from addr (0 = any). Client: drop outgoing RSTs to raddr:rport from any
 * local port. Removes any stale rule of this instance first. 0 or -errno. */
int lwt_fwrule_install_server(struct lwt_fwrule *r, const char *instance, uint32_t addr,
			      uint16_t port);
int lwt_fwrule_install_client(struct lwt_fwrule *r, const char *instance, uint32_t raddr,
			      uint16_t rport, bool p2p);
/* Client with P2P: its direct flows leave from lport (network order), to
 * any address: drop the kernel's RSTs from it too (the previous port's rule
 * goes). 0 or -EIO. */
/* Server on IPv6 (addr, :: any), and on IPv4 too with listen4 ([::]):
 * nft's inet table covers both; iptables needs an ip6tables chain beside. */
int lwt_fwrule_install_server6(struct lwt_fwrule *r, const char *instance,
			       const struct lwt_addr *addr, bool listen4, uint16_t port);
/* The same for a server reached over IPv6 (nft "ip6 daddr", or an
 * ip6tables chain); a v4-mapped raddr is lwt_fwrule_install_client. */
int lwt_fwrule_install_client6(struct lwt_fwrule *r, const char *instance,
			       const struct lwt_addr *raddr, uint16_t rport, bool p2p);
int lwt_fwrule_client_port(struct lwt_fwrule *r, uint16_t lport);
/* Remove this instance's rule; idempotent; async-signal-unsafe (runs nft). */
void lwt_fwrule_remove(struct lwt_fwrule *r);
/* Remove a leftover rule of instance (used at start). */
void lwt_fwrule_cleanup_stale(const char *instance);

#endif
