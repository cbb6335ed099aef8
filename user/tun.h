/* SPDX-License-Identifier: MIT */
/* TUN device: created with /dev/net/tun (IFF_TUN | IFF_NO_PI), configured
 * through rtnetlink (address, MTU, up). Removed when its last fd closes.
 *
 * With LWT_TUN_VNET every read() and write() on its fds starts with a
 * struct virtio_net_hdr (t->vnet_hdr_len bytes, host byte order) and the
 * device announces TSO4/TSO6 and checksum offload: reads bring up to 64 KiB
 * of one TCP flow (see gso.h for cutting and building those). With
 * LWT_TUN_MULTI_QUEUE further queues of the same device can be opened, each
 * its own fd the kernel spreads flows over. */
#ifndef LWT_TUN_H
#define LWT_TUN_H

#include <stdbool.h>
#include <stdint.h>

enum lwt_tun_flags {
	LWT_TUN_VNET = 1 << 0,		/* IFF_VNET_HDR + TUNSETOFFLOAD */
	LWT_TUN_MULTI_QUEUE = 1 << 1,	/* IFF_MULTI_QUEUE */
};

struct lwt_tun {
	int fd;			/* non-blocking; the first queue */
	int ifindex;
	char name[16];
	unsigned int flags;	/* LWT_TUN_* it was created with */
	bool vnet;		/* reads/writes carry a virtio_net_hdr */
	int vnet_hdr_len;	/* its size (10), 0 without vnet */
};

/* name may be "" for the kernel's choice (lwt%d). 0 or -errno. */
int lwt_tun_create(struct lwt_tun *t, const char *name);
/* The same with LWT_TUN_* flags; flags 0 is lwt_tun_create(). A kernel that
 * refuses the vnet header or the offloads fails it (-EINVAL and the like):
 * the caller may fall back to flags 0. */
int lwt_tun_create2(struct lwt_tun *t, const char *name, unsigned int flags);
/* Another queue of a LWT_TUN_MULTI_QUEUE device, with the same vnet setup:
 * a new non-blocking fd (the caller closes it) or -errno. */
int lwt_tun_open_queue(struct lwt_tun *t);
/* Set IPv4 address/prefix (network order), MTU, and bring the link up. */
int lwt_tun_configure(struct lwt_tun *t, uint32_t addr, uint8_t prefix, int mtu);
void lwt_tun_destroy(struct lwt_tun *t);

#endif
