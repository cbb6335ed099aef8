// SPDX-License-Identifier: MIT
/* A client's server name (resolve.h): resolved before set-up, retried with
 * backoff until it resolves, and again at every reconnect. A look-up runs
 * in a thread of its own that writes its answer to a pipe, so whoever
 * waits for it (main at start, the control thread at a reconnect) also
 * waits for signals and timers: getaddrinfo cannot be interrupted, and a
 * name server that never answers costs it up to resolv.conf's timeout times
 * attempts (5 s x 2 by default). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/signalfd.h>

#include "daemon.h"
#include "fwrule.h"
#include "log.h"
#include "netlink.h"
#include "notify.h"
#include "resolve.h"
#include "roam.h"
#include "underlay6.h"

#define RETRY_MAX_S 30
#define NOTIFY_EVERY_S 10

struct job {
	char host[LWT_CFG_STR];
	int wfd;
};

#define ANSWER_MAX 8

struct answer {
	int rc;			/* 0, or -ENOENT and err */
	int n;			/* addresses, in getaddrinfo's order */
	uint32_t addr[ANSWER_MAX];	/* network order */
	int n6;			/* AAAA answers */
	struct lwt_addr addr6[ANSWER_MAX];
	bool v6_first;		/* getaddrinfo (RFC 6724 order) put IPv6 first */
	char err[96];
};
_Static_assert(sizeof(struct answer) < 4096, "one write below PIPE_BUF");

/* A and AAAA records of host, each in getaddrinfo's order. */
static void resolve_both(const char *host, struct answer *a)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *res, *i;
	int rc = getaddrinfo(host, NULL, &hints, &res);

	if (rc) {
		snprintf(a->err, sizeof(a->err), "%s", rc == EAI_SYSTEM ? strerror(errno) :
			 gai_strerror(rc));
		return;
	}
	for (i = res; i; i = i->ai_next) {
		if (i->ai_family == AF_INET && a->n < ANSWER_MAX)
			a->addr[a->n++] = ((struct sockaddr_in *)i->ai_addr)->sin_addr.s_addr;
		else if (i->ai_family == AF_INET6 && a->n6 < ANSWER_MAX)
			lwt_addr_from_sa(&a->addr6[a->n6++], NULL, i->ai_addr);
		if (i == res)
			a->v6_first = i->ai_family == AF_INET6;
	}
	freeaddrinfo(res);
	if (!a->n && !a->n6)
		snprintf(a->err, sizeof(a->err), "%s", gai_strerror(EAI_NONAME));
}

/* Up to max A records of host into addr: their count, or 0 and err. */
static int resolve_all(const char *host, uint32_t *addr, int max, char *err, size_t el)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *res, *i;
	int rc = getaddrinfo(host, NULL, &hints, &res), n = 0;

	if (rc) {
		snprintf(err, el, "%s", rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return 0;
	}
	for (i = res; i && n < max; i = i->ai_next)
		addr[n++] = ((struct sockaddr_in *)i->ai_addr)->sin_addr.s_addr;
	freeaddrinfo(res);
	if (!n)
		snprintf(err, el, "%s", gai_strerror(EAI_NONAME));
	return n;
}

int lwt_resolve_host(const char *host, uint32_t *addr, char *err, size_t el)
{
	return resolve_all(host, addr, 1, err, el) ? 0 : -ENOENT;
}

/* remote_family: only the configured family's answers count. */
static void family_filter(const struct lwt_daemon *d, struct answer *a)
{
	if (a->rc || !strcmp(d->cfg.remote_family, "auto"))
		return;
	if (!strcmp(d->cfg.remote_family, "ipv4"))
		a->n6 = 0;
	else
		a->n = 0;
	if (!a->n && !a->n6) {
		a->rc = -ENOENT;
		snprintf(a->err, sizeof(a->err), "no %s address (remote_family %s)",
			 !strcmp(d->cfg.remote_family, "ipv4") ? "IPv4 (A)" : "IPv6 (AAAA)",
			 d->cfg.remote_family);
	}
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct answer a = { 0 };
	ssize_t n;

	resolve_both(j->host, &a);
	a.rc = a.n || a.n6 ? 0 : -ENOENT;
	/* One write below PIPE_BUF: whole or not at all. A reader gone
	 * (EPIPE; SIGPIPE is ignored) does not care. */
	n = write(j->wfd, &a, sizeof(a));
	(void)n;
	close(j->wfd);
	free(j);
	return NULL;
}

static int begin(struct lwt_resolver *r, const char *host)
{
	struct job *j = calloc(1, sizeof(*j));
	int fds[2], err;

	if (!j)
		return -ENOMEM;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		err = -errno;
		free(j);
		return err;
	}
	snprintf(j->host, sizeof(j->host), "%s", host);
	j->wfd = fds[1];
	/* The thread inherits the caller's blocked signals: signalfd's. */
	err = -pthread_create(&r->th, NULL, job_run, j);
	if (err) {
		close(fds[0]);
		close(fds[1]);
		free(j);
		return err;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	r->fd = fds[0];
	return 0;
}

/* 1 and a with the answer, 0 while the look-up runs. */
static int collect(struct lwt_resolver *r, struct answer *a)
{
	ssize_t n = read(r->fd, a, sizeof(*a));

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n != (ssize_t)sizeof(*a)) {
		a->rc = -EIO;
		snprintf(a->err, sizeof(a->err), "the look-up thread gave no answer");
	}
	close(r->fd);
	r->fd = -1;
	pthread_join(r->th, NULL);
	return 1;
}

void lwt_resolve_close(struct lwt_daemon *d)
{
	struct lwt_resolver *r = &d->resolver;

	if (r->fd < 0)
		return;
	pthread_detach(r->th);
	close(r->fd);
	r->fd = -1;
}

static const char *ip_s(uint32_t a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static bool is_name(const struct lwt_daemon *d)
{
	struct in_addr a;

	struct in6_addr a6;

	return d->cfg.mode == LWT_MODE_CLIENT && inet_pton(AF_INET, d->cfg.remote_host, &a) != 1 &&
	       inet_pton(AF_INET6, d->cfg.remote_host, &a6) != 1;
}

/* Poll the signalfd (and fd, if >= 0) for up to ms (-1: no limit). 1 when
 * SIGINT or SIGTERM came, 0 otherwise; a SIGHUP is noted and ignored (there
 * is nothing to reload before the start). */
static int wait_signal(int sfd, int fd, int ms)
{
	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
	uint64_t end = ms < 0 ? 0 : lwt_now_ns() + (uint64_t)ms * 1000000;
	struct signalfd_siginfo si;

	for (;;) {
		int left = -1, n;

		if (ms >= 0) {
			uint64_t now = lwt_now_ns();

			if (now >= end)
				return 0;
			left = (int)((end - now + 999999) / 1000000);
		}
		n = poll(p, fd >= 0 ? 2 : 1, left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && (p[0].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo != SIGHUP) {
				lwt_info("%s received; shutting down", strsignal(si.ssi_signo));
				lwt_notify_stopping();
				return 1;
			}
			lwt_info("SIGHUP received while resolving the server's name: nothing to "
				 "reload yet");
		}
		if (n > 0 && fd >= 0 && p[1].revents)
			return 0;
	}
}

int lwt_resolve_start(struct lwt_daemon *d)
{
	struct lwt_resolver *r = &d->resolver;
	const char *host = d->cfg.remote_host;
	unsigned int delay = 1, tries = 0, left, slice;
	char st[LWT_CFG_STR + 128];
	struct answer a;
	sigset_t mask;
	char s[INET_ADDRSTRLEN];
	int sfd, rc;

	if (!is_name(d))
		return 0;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return -errno;
	snprintf(st, sizeof(st), "resolving %s", host);
	for (;;) {
		/* A look-up waits for name servers: resolv.conf's timeout x
		 * attempts, 10 s by default. */
		lwt_notify_waiting(st, 3 * NOTIFY_EVERY_S);
		rc = begin(r, host);
		if (rc)
			break;
		rc = wait_signal(sfd, r->fd, -1);
		if (rc)
			break;
		collect(r, &a);
		family_filter(d, &a);
		if (!a.rc && a.n6 && (a.v6_first || !a.n)) {
			/* IPv6 where the host's address selection puts it first,
			 * or the name has no A record (resolve6 below). */
			char s6[LWT_ADDR_STRLEN];

			d->cfg.remote6 = true;
			d->cfg.remote_ep = a.addr6[0];
			lwt_info("server %s resolved to %s (IPv6)", host,
				 lwt_addr_str(&a.addr6[0], 0, s6, sizeof(s6)));
			break;
		}
		if (!a.rc) {
			d->cfg.remote.sin_addr.s_addr = a.addr[0];
			lwt_info("server %s resolved to %s", host, ip_s(a.addr[0], s));
			break;
		}
		/* The first failure is the one an operator must see; the
		 * retries, at most one per 30 s once the backoff has grown,
		 * are noted at info. */
		lwt_log(tries++ ? LWT_LOG_INFO : LWT_LOG_WARN, "couldn't resolve %s: %s; retrying in %u s",
			host, a.err, delay);
		snprintf(st, sizeof(st), "couldn't resolve %s: %s; retrying", host, a.err);
		/* In slices, so systemd hears from us every NOTIFY_EVERY_S. */
		for (left = delay; left && !rc; left -= slice) {
			slice = left < NOTIFY_EVERY_S ? left : NOTIFY_EVERY_S;
			lwt_notify_waiting(st, slice + NOTIFY_EVERY_S);
			rc = wait_signal(sfd, -1, (int)slice * 1000);
		}
		if (rc)
			break;
		delay = delay * 2 > RETRY_MAX_S ? RETRY_MAX_S : delay * 2;
	}
	lwt_resolve_close(d);
	close(sfd);
	return rc;
}

/* The name points at addr now, not at the address in use: follow it
 * (roam.c re-homes when the route to it leaves from another interface or
 * source address), unless no route leads there. */
static void follow(struct lwt_daemon *d, uint32_t addr)
{
	struct lwt_resolver *r = &d->resolver;
	uint32_t old = d->cfg.remote.sin_addr.s_addr, src = 0, gw;
	char os[INET_ADDRSTRLEN], ns[INET_ADDRSTRLEN];
	int ifindex = 0, cur = d->dp->ifname[0] ? (int)if_nametoindex(d->dp->ifname) : 0, err;

	ip_s(old, os);
	ip_s(addr, ns);
	err = lwt_nl_route_get(addr, &ifindex, &src, &gw);
	if (err || (!d->roam && (src != d->local_ip || (cur && ifindex != cur)))) {
		if (r->refused == addr)
			return;
		r->refused = addr;
		lwt_warn("server %s moved from %s to %s, %s; still trying %s", d->cfg.remote_host, os,
			 ns, err ? "to which no route leads" :
			 "reached from another interface or source address", os);
		return;
	}
	/* The anti-RST rule names the server: a flow to the new address
	 * without it would be answered by the kernel's RSTs. */
	err = lwt_fwrule_install_client(&d->fw, d->instance, addr, d->cfg.remote.sin_port,
					d->cfg.p2p_enabled);
	if (err) {
		lwt_err("server %s moved from %s to %s, but the firewall rule for it couldn't be "
			"installed (%s); still trying %s", d->cfg.remote_host, os, ns, strerror(-err), os);
		lwt_fwrule_install_client(&d->fw, d->instance, old, d->cfg.remote.sin_port,
					  d->cfg.p2p_enabled);
		return;
	}
	/* The data path's filter and flow follow at the connect (set_filter);
	 * AF_XDP looks up the new next hop's MAC by its address. */
	d->cfg.remote.sin_addr.s_addr = addr;
	d->filter.raddr = addr;
	r->refused = 0;
	lwt_info("server %s moved from %s to %s", d->cfg.remote_host, os, ns);
	/* Behind another interface or source address: re-homed there now,
	 * before the connect that follows. */
	lwt_roam_recheck(d);
}

/* A server over IPv6 whose name now points elsewhere: the anti-RST rule,
 * the source address and the data path's filter follow (the connect that
 * comes next sets the filter). */
static void follow6(struct lwt_daemon *d, const struct answer *a)
{
	char os[LWT_ADDR_STRLEN], ns[LWT_ADDR_STRLEN];
	struct lwt_addr old = d->cfg.remote_ep;
	int i, err;

	for (i = 0; i < a->n6; i++)
		if (lwt_addr_eq(&a->addr6[i], &old))
			return;
	lwt_addr_str(&old, 0, os, sizeof(os));
	lwt_addr_str(&a->addr6[0], 0, ns, sizeof(ns));
	err = lwt_fwrule_install_client6(&d->fw, d->instance, &a->addr6[0], d->cfg.remote.sin_port,
					 d->cfg.p2p_enabled);
	if (err) {
		lwt_err("server %s moved from %s to %s, but the firewall rule for it couldn't be "
			"installed (%s); still trying %s", d->cfg.remote_host, os, ns, strerror(-err), os);
		lwt_fwrule_install_client6(&d->fw, d->instance, &old, d->cfg.remote.sin_port,
					   d->cfg.p2p_enabled);
		return;
	}
	d->cfg.remote_ep = a->addr6[0];
	if (lwt_u6_client_setup(d))
		lwt_warn("server %s moved from %s to %s, to which no route leads", d->cfg.remote_host,
			 os, ns);
	else
		lwt_info("server %s moved from %s to %s", d->cfg.remote_host, os, ns);
}

bool lwt_resolve_reconnect(struct lwt_daemon *d, uint64_t now)
{
	struct lwt_resolver *r = &d->resolver;
	char os[INET_ADDRSTRLEN];
	struct answer a;

	if (!is_name(d))
		return true;
	if (r->fd < 0) {
		if (begin(r, d->cfg.remote_host))
			return true;
		r->since_ns = now;
		return false;
	}
	if (!collect(r, &a)) {
		if (now - r->since_ns < LWT_RESOLVE_WAIT_MS * 1000000ull)
			return false;
		lwt_log_rl(LWT_LOG_WARN, "resolving %s takes more than %d s; trying %s meanwhile",
			   d->cfg.remote_host, LWT_RESOLVE_WAIT_MS / 1000,
			   ip_s(d->cfg.remote.sin_addr.s_addr, os));
		return true;
	}
	/* The family chosen at start stays (a flow, its filter and its
	 * anti-RST rule are of one family). */
	if (d->cfg.remote6) {
		if (!a.rc && a.n6)
			follow6(d, &a);
		return true;
	}
	if (!a.rc && !a.n) {
		a.rc = -ENOENT;
		snprintf(a.err, sizeof(a.err), "no IPv4 address any more");
	}
	if (a.rc) {
		lwt_log_rl(LWT_LOG_WARN, "couldn't resolve %s: %s; trying the last address %s",
			   d->cfg.remote_host, a.err, ip_s(d->cfg.remote.sin_addr.s_addr, os));
		return true;
	}
	/* An address still among the name's stays: several A records
	 * (round robin) are no move. */
	for (int i = 0; i < a.n; i++)
		if (a.addr[i] == d->cfg.remote.sin_addr.s_addr) {
			r->refused = 0;
			return true;
		}
	follow(d, a.addr[0]);
	return true;
}
