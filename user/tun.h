/* SPDX-License-Identifier: MIT */
/* TUN device: created with /dev/net/tun (IFF_TUN | IFF_NO_PI), configured
 * through rtnetlink (address, MTU, up). Removed when its last fd closes. */
#ifndef LWT_TUN_H
#define LWT_TUN_H

#include <stdint.h>

struct lwt_tun {
	int fd;			/* non-blocking */
	int ifindex;
	char name[16];
};

/* name may be "" for the kernel's choice (lwt%d). 0 or -errno. */
int lwt_tun_create(struct lwt_tun *t, const char *name);
/* Set IPv4 address/prefix (network order), MTU, and bring the link up. */
int lwt_tun_configure(struct lwt_tun *t, uint32_t addr, uint8_t prefix, int mtu);
void lwt_tun_destroy(struct lwt_tun *t);

#endif
