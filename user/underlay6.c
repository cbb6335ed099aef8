// SPDX-License-Identifier: MIT
/* IPv6 underlay set-up (underlay6.h). */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "daemon.h"
#include "log.h"
#include "underlay6.h"

bool lwt_u6_active(const struct lwt_daemon *d)
{
	return d->cfg.mode == LWT_MODE_CLIENT ? d->cfg.remote6 : d->cfg.listen6;
}

int lwt_u6_source_for(const struct lwt_addr *remote, struct lwt_addr *out)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	memcpy(&sa.sin6_addr, remote->b, 16);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		err = -errno;
	else
		memcpy(out->b, &sa.sin6_addr, 16);
	close(fd);
	return err;
}

/* Does this interface address count: the client's source; for a server
 * the listen address, or any global one of a listened family. */
static bool wanted(const struct lwt_daemon *d, const struct sockaddr *sa)
{
	struct lwt_addr a;

	if (lwt_addr_from_sa(&a, NULL, sa))
		return false;
	if (d->cfg.mode == LWT_MODE_CLIENT)
		return lwt_addr_eq(&a, &d->local_ep6);
	if (sa->sa_family == AF_INET)
		return d->cfg.listen4 && (!d->local_ip || lwt_addr_v4(&a) == d->local_ip);
	if (IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)a.b))
		return false;
	return lwt_addr_is_any(&d->cfg.listen_ep6) || lwt_addr_eq(&a, &d->cfg.listen_ep6);
}

int lwt_u6_iface(struct lwt_daemon *d, char *ifname, char *why, size_t wl)
{
	struct ifaddrs *ifa, *i;
	char seen[8][IF_NAMESIZE];
	int n = 0, k;

	if (getifaddrs(&ifa) < 0) {
		snprintf(why, wl, "getifaddrs: %s", strerror(errno));
		return -errno;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    !strcmp(i->ifa_name, d->tun.name) || !wanted(d, i->ifa_addr))
			continue;
		for (k = 0; k < n && k < 8; k++)
			if (!strcmp(seen[k], i->ifa_name))
				break;
		if (k < n)
			continue;
		if (n < 8)
			snprintf(seen[n], IF_NAMESIZE, "%s", i->ifa_name);
		n++;
	}
	freeifaddrs(ifa);
	if (n == 1) {
		snprintf(ifname, IF_NAMESIZE, "%s", seen[0]);
		return 0;
	}
	if (n == 0)
		snprintf(why, wl, d->cfg.mode == LWT_MODE_CLIENT ?
			 "no interface holds the IPv6 source address towards the server" :
			 "no interface holds the listen address");
	else
		snprintf(why, wl, "listening on [::] with %d interfaces: give -l [ADDR]:PORT to pick "
			 "one", n);
	return -ENODEV;
}

int lwt_u6_reserve_port(const struct lwt_daemon *d)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = d->local_port };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	memcpy(&sa.sin6_addr, d->cfg.listen_ep6.b, 16);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int lwt_u6_client_setup(struct lwt_daemon *d)
{
	char s[LWT_ADDR_STRLEN];
	int r = lwt_u6_source_for(&d->cfg.remote_ep, &d->local_ep6);

	if (r)
		memset(&d->local_ep6, 0, sizeof(d->local_ep6));
	d->filter.v6 = true;
	d->filter.la6 = d->local_ep6;
	d->filter.ra6 = d->cfg.remote_ep;
	d->filter.raddr = lwt_addr_key32(&d->cfg.remote_ep);
	d->filter.laddr = r ? 0 : lwt_addr_key32(&d->local_ep6);
	d->local_ip = d->filter.laddr;
	if (!r)
		lwt_info("server over IPv6: %s, from %s", lwt_addr_str(&d->cfg.remote_ep,
			 d->cfg.remote.sin_port, s, sizeof(s)),
			 lwt_addr_str(&d->local_ep6, 0, (char[LWT_ADDR_STRLEN]){ 0 }, LWT_ADDR_STRLEN));
	return r;
}

int lwt_u6_reserve_client_port(struct lwt_daemon *d, uint16_t *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = *port };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	memcpy(&sa.sin6_addr, d->local_ep6.b, 16);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*port = sa.sin6_port;
	return fd;
}
