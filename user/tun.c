// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <sys/ioctl.h>

#include "log.h"
#include "netlink.h"
#include "tun.h"

/* The offloads a vnet TUN announces: the kernel may then hand it packets
 * with CHECKSUM_PARTIAL and TSO super-packets of IPv4 and IPv6 TCP, all of
 * which lwt_gso_split() finishes. No UFO/USO: UDP stays per datagram. */
#define LWT_TUN_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)

static int setup_vnet(int fd, const char *name)
{
	int sz = sizeof(struct virtio_net_hdr);
	int err;

	/* 10 is the kernel's default; say it so a changed default cannot
	 * shift every packet. */
	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
		err = -errno;
		lwt_err("couldn't set the vnet header size of '%s': %s", name, strerror(errno));
		return err;
	}
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)LWT_TUN_OFFLOADS) < 0) {
		err = -errno;
		lwt_err("couldn't enable TSO offloads on '%s': %s", name, strerror(errno));
		return err;
	}
	return 0;
}

/* Open /dev/net/tun and attach it to the device name (created if new) with
 * LWT_TUN_* flags. The name the kernel chose goes to actual (IFNAMSIZ) if
 * not NULL. A non-blocking fd or -errno. */
static int tun_attach(const char *name, unsigned int flags, char *actual)
{
	struct ifreq ifr;
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		lwt_err("couldn't open /dev/net/tun: %s", strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (flags & LWT_TUN_VNET)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (flags & LWT_TUN_MULTI_QUEUE)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		lwt_err("couldn't create TUN device '%s': %s", ifr.ifr_name, strerror(errno));
		goto close_fd;
	}
	if (flags & LWT_TUN_VNET) {
		err = setup_vnet(fd, ifr.ifr_name);
		if (err)
			goto close_fd;
	}
	if (actual)
		snprintf(actual, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;

close_fd:
	close(fd);
	return err;
}

int lwt_tun_create2(struct lwt_tun *t, const char *name, unsigned int flags)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (name && strlen(name) >= IFNAMSIZ) {
		lwt_err("couldn't create TUN device '%s': name longer than %d", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (flags & ~(unsigned int)(LWT_TUN_VNET | LWT_TUN_MULTI_QUEUE)) {
		lwt_err("couldn't create TUN device '%s': unknown flags %#x", name ? name : "", flags);
		return -EINVAL;
	}
	t->fd = tun_attach(name && *name ? name : "lwt%d", flags, t->name);
	if (t->fd < 0) {
		err = t->fd;
		t->fd = -1;
		return err;
	}
	t->flags = flags;
	t->vnet = flags & LWT_TUN_VNET;
	t->vnet_hdr_len = t->vnet ? (int)sizeof(struct virtio_net_hdr) : 0;
	t->ifindex = lwt_nl_link_index(t->name);
	if (t->ifindex < 0) {
		err = t->ifindex;
		lwt_err("couldn't find TUN device '%s': %s", t->name, strerror(-err));
		lwt_tun_destroy(t);
		return err;
	}
	return 0;
}

int lwt_tun_create(struct lwt_tun *t, const char *name)
{
	return lwt_tun_create2(t, name, 0);
}

int lwt_tun_open_queue(struct lwt_tun *t)
{
	if (t->fd < 0 || !(t->flags & LWT_TUN_MULTI_QUEUE))
		return -EINVAL;
	return tun_attach(t->name, t->flags, NULL);
}

int lwt_tun_configure(struct lwt_tun *t, uint32_t addr, uint8_t prefix, int mtu)
{
	int err;

	err = lwt_nl_link_set_mtu(t->ifindex, mtu);
	if (err) {
		lwt_err("couldn't set MTU %d on '%s': %s", mtu, t->name, strerror(-err));
		return err;
	}
	err = lwt_nl_addr_add(t->ifindex, addr, prefix);
	if (err) {
		lwt_err("couldn't add address to '%s': %s", t->name, strerror(-err));
		return err;
	}
	err = lwt_nl_link_set_up(t->ifindex, true);
	if (err)
		lwt_err("couldn't bring '%s' up: %s", t->name, strerror(-err));
	return err;
}

void lwt_tun_destroy(struct lwt_tun *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
