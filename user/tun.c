// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include "log.h"
#include "netlink.h"
#include "tun.h"

int lwt_tun_create(struct lwt_tun *t, const char *name)
{
	struct ifreq ifr;
	int err;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (name && strlen(name) >= IFNAMSIZ) {
		lwt_err("couldn't create TUN device '%s': name longer than %d", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		err = -errno;
		lwt_err("couldn't open /dev/net/tun: %s", strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name && *name ? name : "lwt%d");
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		lwt_err("couldn't create TUN device '%s': %s", ifr.ifr_name, strerror(errno));
		close(t->fd);
		t->fd = -1;
		return err;
	}
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	t->ifindex = lwt_nl_link_index(t->name);
	if (t->ifindex < 0) {
		err = t->ifindex;
		lwt_err("couldn't find TUN device '%s': %s", t->name, strerror(-err));
		lwt_tun_destroy(t);
		return err;
	}
	return 0;
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
