// SPDX-License-Identifier: MIT
/* Roaming, client side (roam.h). An rtnetlink socket subscribed to link,
 * IPv4 address and IPv4 route changes wakes the control thread; any of
 * them schedules one route look-up for the server (RTM_GETROUTE) within
 * CHECK_DELAY_NS, so that a burst of changes (a link going down takes its
 * addresses and routes with it) costs one look-up. Only an answer that
 * differs from the flow in use acts (another interface or source
 * address): the client re-homes at once, instead of waiting `timeout` for
 * its silent flow to be declared dead:
 *   - the old flow is dropped (the server keeps its session until the new
 *     flow's RESUME proves the same client, resume.c);
 *   - the local address is the route's source; the data path follows:
 *     raw sockets are bound to no interface and only learn the new local
 *     port; an AF_XDP path is replaced by raw sockets at once (the
 *     handshake goes out without waiting); once the new session is up the
 *     old path is destroyed (its pins are the new one's pins) and AF_XDP
 *     attached on the new interface, as `lwt-ctl attach` would;
 *   - the anti-RST rule names the server, not a local address or
 *     interface (fwrule.c): it stays as it is;
 *   - the reconnect is due at once (it resolves remote_addr again, then
 *     opens a new fake-TCP flow and handshake); packets from the TUN wait
 *     in the reconnect queue meanwhile.
 * No route at all (a client started before its network, a link down with
 * no other): nothing is torn down, the routes are watched and looked at
 * again after 1, 2, 4 ... 30 s besides. A client started that way connects
 * when the route appears. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "log.h"
#include "netlink.h"
#include "roam.h"
#include "underlay6.h"

#define CHECK_DELAY_NS (30ull * 1000000ull)
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define NL_RCVBUF (1 << 20)
#define POLL_S 2	/* no netlink: look at the route this often */

static const char *ip_s(uint32_t a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static const char *if_s(int ifindex, char *buf)
{
	if (ifindex <= 0 || !if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "%s", ifindex ? "?" : "none");
	return buf;
}

int lwt_roam_init(struct lwt_daemon *d)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
					       RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE };
	struct lwt_roam *r = calloc(1, sizeof(*r));
	int buf = NL_RCVBUF;
	uint32_t src, gw;

	if (!r)
		return -ENOMEM;
	r->fd = -1;
	d->roam = r;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		r->srv = calloc(d->nslots, sizeof(*r->srv));
		return r->srv ? 0 : -ENOMEM;
	}
	r->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (r->fd >= 0) {
		setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		if (bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;

			close(r->fd);
			r->fd = -1;
			errno = e;
		}
	}
	if (r->fd < 0)
		lwt_warn("roaming: couldn't watch routes through netlink (%s); the route to the "
			 "server is looked at every %d s instead", strerror(errno), POLL_S);
	if (d->local_ip && d->cfg.remote6) {
		uint8_t gw6[16];

		lwt_nl_route_get6(d->cfg.remote_ep.b, &r->ifindex, gw6);
	} else if (d->local_ip) {
		lwt_nl_route_get(d->cfg.remote.sin_addr.s_addr, &r->ifindex, &src, &gw);
	}
	/* AF_XDP asked for, but raw sockets taken as no interface led to
	 * the server at start: attached once one does. */
	r->xdp_wanted = d->cfg.enable_xdp && !d->local_ip && !strcmp(d->dp->xdp_mode, "none");
	/* A change between the start's look-up and the subscription. */
	r->check_ns = lwt_now_ns();
	return 0;
}

void lwt_roam_free(struct lwt_daemon *d)
{
	struct lwt_roam *r = d->roam;

	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	/* A path still held (stopped before the pollers left it): the
	 * pollers are gone by now. */
	if (r->old)
		r->old->ops->destroy(r->old);
	if (r->srv)
		OPENSSL_cleanse(r->srv, sizeof(*r->srv) * d->nslots);
	free(r->srv);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
	d->roam = NULL;
}

int lwt_roam_fd(const struct lwt_daemon *d)
{
	return d->roam ? d->roam->fd : -1;
}

/* Does message m change what the route to the server could be? Changes
 * on our own TUN (route adverts we install) do not. */
static bool relevant(const struct lwt_daemon *d, const struct nlmsghdr *m)
{
	switch (m->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const struct ifinfomsg *ifi = NLMSG_DATA(m);

		return m->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifi)) && ifi->ifi_index != d->tun.ifindex;
	}
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa = NLMSG_DATA(m);

		return m->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifa)) &&
		       ifa->ifa_family == (d->cfg.remote6 ? AF_INET6 : AF_INET) &&
		       (int)ifa->ifa_index != d->tun.ifindex;
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		const struct rtmsg *rt = NLMSG_DATA(m);
		const struct rtattr *at;
		int len = RTM_PAYLOAD(m), oif = 0;

		if (m->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)) ||
		    rt->rtm_family != (d->cfg.remote6 ? AF_INET6 : AF_INET))
			return false;
		for (at = RTM_RTA(rt); RTA_OK(at, len); at = RTA_NEXT(at, len))
			if (at->rta_type == RTA_OIF && RTA_PAYLOAD(at) >= 4)
				memcpy(&oif, RTA_DATA(at), 4);
		return oif != d->tun.ifindex;
	}
	}
	return false;
}

void lwt_roam_input(struct lwt_daemon *d)
{
	struct lwt_roam *r = d->roam;
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool hit = false;

	for (;;) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		int n = (int)recvfrom(r->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				      &fl);
		struct nlmsghdr *m;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS: changes were lost; look at the route anyway. */
			if (errno == ENOBUFS)
				hit = true;
			break;
		}
		if (n == 0)
			break;
		/* The kernel's word only (a process may not send to these
		 * groups without CAP_NET_ADMIN, but costs nothing to check). */
		if (fl < sizeof(from) || from.nl_pid)
			continue;
		for (m = (struct nlmsghdr *)buf; NLMSG_OK(m, n); m = NLMSG_NEXT(m, n))
			if (relevant(d, m))
				hit = true;
	}
	/* Debounced: the first change of a burst sets the time, the rest
	 * ride along. */
	if (hit && !r->check_ns)
		r->check_ns = lwt_now_ns() + CHECK_DELAY_NS;
}

/* The data path onto interface ifn. */
static void path_move(struct lwt_daemon *d, const char *ifn)
{
	struct lwt_roam *r = d->roam;
	struct lwt_dp *raw;
	char why[192];

	if (!strcmp(d->dp->xdp_mode, "none")) {
		/* Raw sockets follow the routes by themselves; the name is
		 * for status. */
		pthread_mutex_lock(&d->dp_lock);
		snprintf(d->dp->ifname, sizeof(d->dp->ifname), "%s", ifn);
		pthread_mutex_unlock(&d->dp_lock);
		if (r->xdp_wanted)
			snprintf(r->xdp_if, sizeof(r->xdp_if), "%s", ifn);
		return;
	}
	if (lwt_path_open(d, false, NULL, ifn, &raw, why, sizeof(why))) {
		lwt_err("roaming: couldn't open raw sockets to leave AF_XDP on %s: %s", d->dp->ifname,
			why);
		return;
	}
	/* Only one path at a time is ever held here: a second move while
	 * the first is retired finds raw sockets in place. */
	r->old = lwt_path_swap(d, raw, true);
	r->xdp_wanted = true;
	snprintf(r->xdp_if, sizeof(r->xdp_if), "%s", ifn);
}

/* Once the pollers are off the old AF_XDP path: destroy it, then attach
 * AF_XDP on the interface the flow leaves by now. */
static void path_settle(struct lwt_daemon *d)
{
	struct lwt_roam *r = d->roam;
	struct lwt_dp *dp;
	char why[192], now_if[IF_NAMESIZE];

	/* Not before the new flow's session is up: taking an XDP program
	 * off a link and closing AF_XDP sockets waits for RCU grace periods,
	 * up to seconds on a loaded machine, and the control thread would
	 * connect only after. */
	if (d->slots[0].c.phase != LWT_PH_UP || !lwt_slot_confirmed(&d->slots[0]))
		return;
	if (r->old) {
		uint64_t t0 = lwt_now_ns();
		char oi[sizeof(r->old->ifname)];

		if (atomic_load(&r->old->users) != 1)
			return;
		snprintf(oi, sizeof(oi), "%s", r->old->ifname);
		r->old->ops->destroy(r->old);
		r->old = NULL;
		lwt_dbg("roaming: AF_XDP on %s closed in %.1f ms", oi, (lwt_now_ns() - t0) / 1e6);
	}
	/* Attached meanwhile (lwt-ctl attach): nothing left to do. */
	if (strcmp(d->dp->xdp_mode, "none")) {
		r->xdp_wanted = false;
		r->xdp_if[0] = 0;
		return;
	}
	/* AF_XDP once the new flow's session is up (above): its handshake
	 * goes out on raw sockets at once, not after the program's load. */
	if (!r->xdp_wanted || !r->xdp_if[0] || r->no_route)
		return;
	if (strcmp(if_s(r->ifindex, now_if), r->xdp_if))
		return;
	r->xdp_if[0] = 0;
	if (lwt_path_open(d, true, d->cfg.xdp_mode, now_if, &dp, why, sizeof(why))) {
		lwt_info("roaming: AF_XDP not used on %s (%s); raw sockets", now_if, why);
		return;
	}
	if (dp->shards != d->npollers) {
		lwt_info("roaming: AF_XDP on %s serves %d pollers, not %d; raw sockets", now_if,
			 dp->shards, d->npollers);
		dp->ops->destroy(dp);
		return;
	}
	r->xdp_wanted = false;
	lwt_path_swap(d, dp, false);
	lwt_info("roaming: AF_XDP on %s, %s mode, %s", now_if, dp->xdp_mode,
		 dp->zerocopy ? "zero-copy" : "copy");
}

/* The route to the server leaves by ifindex from src now: a new flow
 * there. */
static void rehome(struct lwt_daemon *d, int ifindex, uint32_t src, const struct lwt_addr *src6)
{
	struct lwt_roam *r = d->roam;
	struct lwt_slot *s = &d->slots[0];
	char oi[IF_NAMESIZE], ni[IF_NAMESIZE], oa[LWT_ADDR_STRLEN], na[LWT_ADDR_STRLEN];

	if_s(ifindex, ni);
	if (src6) {	/* a server over IPv6 (roam6 below) */
		lwt_addr_str(src6, 0, na, sizeof(na));
		lwt_addr_str(&d->local_ep6, 0, oa, sizeof(oa));
		src = lwt_addr_key32(src6);
	} else {
		ip_s(src, na);
		ip_s(d->local_ip, oa);
	}
	if (!d->local_ip)
		lwt_info("roaming: a route to server %s appeared on %s (source %s); connecting",
			 d->cfg.remote_addr, ni, na);
	else
		lwt_info("roaming: route to server %s moved from %s (%s) to %s (%s); re-homing",
			 d->cfg.remote_addr, if_s(r->ifindex, oi), oa, ni, na);
	r->rehomes++;
	r->ifindex = ifindex;
	/* The old flow goes; its session stays known for the RESUME. */
	if (s->c.phase == LWT_PH_UP)
		d->reconnects++;
	if (s->c.phase != LWT_PH_FREE && s->c.phase != LWT_PH_CLOSING) {
		lwt_hs_client_clear(&d->hs);
		lwt_slot_kill(d, 0);
	}
	d->pending_reject = 0;
	d->backoff_ms = 0;
	d->local_ip = src;
	d->filter.laddr = src;
	if (src6) {
		d->local_ep6 = *src6;
		d->filter.la6 = *src6;
	}
	path_move(d, ni);
	/* Due now: the tick resolves remote_addr and connects as soon as
	 * the data plane has let the old flow go. */
	d->reconnect_at_ns = 1;
}

static void check(struct lwt_daemon *d, uint64_t now)
{
	struct lwt_roam *r = d->roam;
	uint32_t server = d->cfg.remote.sin_addr.s_addr, src = 0, gw;
	char ifn[IF_NAMESIZE], as[LWT_ADDR_STRLEN];
	struct lwt_addr src6;
	int ifindex = 0, err;
	bool was_lost = r->no_route;

	r->check_ns = 0;
	if (d->cfg.remote6) {	/* a server over IPv6: its route and source */
		uint8_t gw6[16];

		err = lwt_nl_route_get6(d->cfg.remote_ep.b, &ifindex, gw6);
		if (!err)
			err = lwt_u6_source_for(&d->cfg.remote_ep, &src6);
		if (!err)
			src = lwt_addr_key32(&src6);
	} else {
		err = lwt_nl_route_get(server, &ifindex, &src, &gw);
		if (!err && !src)
			err = lwt_local_ip_for(server, &src);
	}
	if (err || !ifindex) {
		if (!r->no_route)
			lwt_info("roaming: no route to server %s (%s); waiting for one",
				 d->cfg.remote_addr, strerror(err ? -err : ENETUNREACH));
		r->no_route = true;
		r->retry_ms = r->retry_ms ? (r->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
					     r->retry_ms * 2) : RETRY_MIN_MS;
		r->retry_ns = now + (uint64_t)r->retry_ms * 1000000ull;
		return;
	}
	r->no_route = false;
	r->retry_ms = 0;
	if (ifindex == r->ifindex && src == d->local_ip &&
	    (!d->cfg.remote6 || lwt_addr_eq(&src6, &d->local_ep6))) {
		/* The flow in use still leaves as it did: nothing to do (a
		 * link that flapped back, a route elsewhere). */
		if (was_lost)
			lwt_info("roaming: route to server %s back on %s (%s), as before",
				 d->cfg.remote_addr, if_s(ifindex, ifn), d->cfg.remote6 ?
				 lwt_addr_str(&src6, 0, as, sizeof(as)) : ip_s(src, as));
		return;
	}
	rehome(d, ifindex, src, d->cfg.remote6 ? &src6 : NULL);
}

void lwt_roam_recheck(struct lwt_daemon *d)
{
	if (d->roam && d->cfg.mode == LWT_MODE_CLIENT)
		check(d, lwt_now_ns());
}

void lwt_roam_tick(struct lwt_daemon *d, uint64_t now)
{
	struct lwt_roam *r = d->roam;

	if (!r || d->cfg.mode != LWT_MODE_CLIENT)
		return;
	if (r->fd < 0 && !r->check_ns && now >= r->retry_ns)
		r->check_ns = now;
	if ((r->check_ns && now >= r->check_ns) || (r->no_route && now >= r->retry_ns)) {
		if (r->fd < 0)
			r->retry_ns = now + POLL_S * 1000000000ull;
		check(d, now);
	}
	path_settle(d);
}

bool lwt_roam_ready(struct lwt_daemon *d)
{
	return !d->roam || d->local_ip;
}
