// SPDX-License-Identifier: MIT
/* Choice of the outer data path: AF_XDP on the interface the tunnel's
 * segments use, or raw sockets; and the switch between the two while the
 * daemon runs (lwt-ctl attach/detach). The switch is made by the data thread
 * between two batches: sessions, keys and FEC state never notice. */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include "daemon.h"
#include "log.h"
#include "netlink.h"
#include "roam.h"
#include "underlay6.h"

int lwt_path_iface(struct lwt_daemon *d, char *ifname, char *why, size_t wl)
{
	struct ifaddrs *ifa, *i;
	uint32_t src, gw;
	int ifindex, n = 0, r;

	if (lwt_u6_active(d))
		return lwt_u6_iface(d, ifname, why, wl);
	if (d->cfg.mode == LWT_MODE_CLIENT) {
		r = lwt_nl_route_get(d->cfg.remote.sin_addr.s_addr, &ifindex, &src, &gw);
		if (r || !if_indextoname(ifindex, ifname)) {
			snprintf(why, wl, "no route to the server");
			return r ? r : -ENODEV;
		}
		return 0;
	}
	/* Server: the interface holding the listen address; for 0.0.0.0 the
	 * only interface with an IPv4 address besides loopback. */
	if (getifaddrs(&ifa) < 0) {
		snprintf(why, wl, "getifaddrs: %s", strerror(errno));
		return -errno;
	}
	for (i = ifa; i; i = i->ifa_next) {
		uint32_t a;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK) || !strcmp(i->ifa_name, d->tun.name))
			continue;
		a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		if (d->local_ip && a != d->local_ip)
			continue;
		if (n == 0 || strcmp(ifname, i->ifa_name))
			n++;
		snprintf(ifname, IF_NAMESIZE, "%s", i->ifa_name);
	}
	freeifaddrs(ifa);
	if (n == 1)
		return 0;
	if (n == 0)
		snprintf(why, wl, "no interface holds the listen address");
	else
		snprintf(why, wl, "listening on 0.0.0.0 with %d interfaces: give -l ADDR:PORT to pick one", n);
	return -ENODEV;
}

static int mode_num(const char *mode)
{
	if (!mode || !strcmp(mode, "auto"))
		return LWT_XSK_MODE_AUTO;
	if (!strcmp(mode, "native"))
		return LWT_XSK_MODE_NATIVE;
	if (!strcmp(mode, "generic"))
		return LWT_XSK_MODE_GENERIC;
	return -1;
}

int lwt_path_open(struct lwt_daemon *d, bool xdp, const char *mode, const char *ifname,
		  struct lwt_dp **out, char *why, size_t wl)
{
	char pin[128];
	int m, r;

	if (!xdp) {
		r = lwt_rawsock_create(out, &d->filter);
		if (r) {
			snprintf(why, wl, "raw sockets: %s", strerror(-r));
			return r;
		}
		(*out)->xdp_mode = "none";
		snprintf((*out)->ifname, sizeof((*out)->ifname), "%s", ifname ? ifname : "");
		return 0;
	}
	m = mode_num(mode);
	if (m < 0) {
		snprintf(why, wl, "unknown XDP mode '%s' (auto, native, generic)", mode);
		return -EINVAL;
	}

	snprintf(pin, sizeof(pin), "%s/%s", d->pin_root[0] ? d->pin_root : "/sys/fs/bpf/lwt",
		 d->instance);
	return lwt_xsk_create(out, &d->filter, ifname, m, pin, why, wl);
}

int lwt_local_ip_for(uint32_t remote, uint32_t *out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = remote };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		err = -errno;
	else
		*out = sa.sin_addr.s_addr;
	close(fd);
	return err;
}

/* Every poller moves over; the last one off the old path destroys it.
 * Path switches are orders that cannot wait: their room in each queue is
 * kept free of control records. */
struct lwt_dp *lwt_path_swap(struct lwt_daemon *d, struct lwt_dp *dp, bool hold)
{
	struct lwt_msg m = { .type = LWT_CMD_SWAP_DP, .slot = -1, .ptr = dp };
	struct lwt_dp *old = d->dp;
	int i;

	if (hold)
		atomic_fetch_add(&old->users, 1);
	atomic_store(&dp->users, d->npollers);
	for (i = 0; i < d->npollers; i++)
		while (lwt_msgq_push(&d->to_dp[i], &m))
			usleep(1000);
	pthread_mutex_lock(&d->dp_lock);
	d->dp = dp;
	pthread_mutex_unlock(&d->dp_lock);
	return hold ? old : NULL;
}

int lwt_path_switch(struct lwt_daemon *d, bool xdp, const char *ifname, const char *mode,
		    char *answer, size_t al)
{
	char want[IF_NAMESIZE] = "", why[192];
	struct lwt_dp *dp;
	bool is_xdp;
	int r;

	pthread_mutex_lock(&d->dp_lock);
	is_xdp = strcmp(d->dp->xdp_mode, "none") != 0;
	snprintf(want, sizeof(want), "%s", d->dp->ifname);
	pthread_mutex_unlock(&d->dp_lock);
	/* roam.c still holds the AF_XDP path it left: its pins are the ones
	 * a new path would take. */
	if (d->roam && d->roam->old) {
		snprintf(answer, al, "error: a re-home is in progress (roaming); try again\n");
		return -EBUSY;
	}
	if (xdp && is_xdp) {
		snprintf(answer, al, "error: already attached (AF_XDP on %s); detach first\n", want);
		return -EALREADY;
	}
	if (!xdp && !is_xdp) {
		snprintf(answer, al, "error: not attached; the raw-socket path is in use\n");
		return -EALREADY;
	}
	r = lwt_path_iface(d, want, why, sizeof(why));
	if (r) {
		snprintf(answer, al, "error: %s\n", why);
		return r;
	}
	if (strcmp(ifname, want)) {
		snprintf(answer, al, "error: the tunnel's segments use %s, not %s\n", want, ifname);
		return -EINVAL;
	}
	if (d->cfg.mode == LWT_MODE_SERVER && d->local_ip) {
		struct lwt_dp_flow *fl = calloc(d->nslots, sizeof(*fl));
		int i, n = 0;

		for (i = 0; fl && i < d->nslots; i++) {
			struct lwt_slot *s = &d->slots[i];

			if (s->c.phase != LWT_PH_UP && s->c.phase != LWT_PH_HELLO)
				continue;
			fl[n++] = (struct lwt_dp_flow){ .laddr = d->local_ip, .lport = d->local_port,
							.raddr = s->c.raddr, .rport = s->c.rport };
		}
		d->filter.flows = fl;
		d->filter.nflows = n;
	}
	r = lwt_path_open(d, xdp, mode, ifname, &dp, why, sizeof(why));
	free((void *)d->filter.flows);
	d->filter.flows = NULL;
	d->filter.nflows = 0;
	if (r) {
		snprintf(answer, al, "error: %s\n", why);
		return r;
	}
	lwt_path_swap(d, dp, false);
	if (xdp)
		lwt_info("attached: AF_XDP on %s, %s mode, %s, %d queue(s)", ifname, dp->xdp_mode,
			 dp->zerocopy ? "zero-copy" : "copy", dp->queues);
	else
		lwt_info("detached from %s: raw sockets", ifname);
	if (xdp)
		snprintf(answer, al, "attached %s: af-xdp, %s mode, %s, %d queue(s)\n", ifname,
			 dp->xdp_mode, dp->zerocopy ? "zero-copy" : "copy", dp->queues);
	else
		snprintf(answer, al, "detached %s: raw sockets\n", ifname);
	return 0;
}
