// SPDX-License-Identifier: MIT
/* NAT type detection, client side, and the lwt_nat_* entry points of both
 * sides (natdetect.h). Control thread only.
 *
 * A run, from UDP local_ip:L where L is the hub session's own local port
 * (so the mapping found is the one a direct path would get; the fake-TCP
 * port is reserved by a TCP socket, the UDP port of the same number is
 * free):
 *   step 1, filtering, all to the hub's A1:P1: T1 plain (the mapping; the
 *     hub's other address, if any), FP asking the answer from A1:P2, FA
 *     from A2:P2. Only A1:P1 has been sent to, so an answer from anywhere
 *     else gets through only if the NAT lets unsolicited packets in.
 *   step 2, mapping: T2 to A1:P2, T3 to A2:P1: the same public address and
 *     port as T1?
 * Step 2 waits for step 1's verdict: after it, A1:P2 and A2:P1 have been
 * sent to, and late filtering answers from them no longer count. Every
 * probe is sent again every RETRY_MS until answered or TRIES times; a probe
 * not answered by then (and a wait of a few RTTs) counts as "did not get
 * through". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "log.h"
#include "natdetect.h"
#include "natmsg.h"

#define RETRY_MS 250
#define TRIES 6
#define SETTLE_MIN_MS 300		/* wait after a probe's last try at least */

enum { T1, FP, FA, T2, T3, NPROBES };
static const char *const probe_names[NPROBES] = { "T1", "FP", "FA", "T2", "T3" };

enum { ST_IDLE, ST_PENDING, ST_FILTER, ST_MAPPING, ST_DONE, ST_FAILED };
static const char *const state_names[] = { "idle", "pending", "running", "running", "done",
					   "failed" };

struct nd_probe {
	bool want, got;
	uint8_t tries, flags;
	uint32_t dst;			/* network order */
	uint16_t dport;			/* host order */
	uint64_t last_ns, first_ns, rtt_ns;
	uint32_t maddr;			/* answer: mapped, network order */
	uint16_t mport;
	uint32_t other_addr;
};

struct lwt_natdet {
	int fd;				/* UDP local_ip:L during a run, else -1 */
	int state;
	uint8_t key[LWT_KEY_LEN];
	uint32_t sid;
	uint64_t seq;
	uint32_t hub, alt;		/* network order; alt learnt from T1 */
	uint16_t p1, p2;		/* host order */
	uint32_t local_ip;
	uint16_t lport;
	uint64_t step_ns;
	struct nd_probe pr[NPROBES];
	uint8_t seq_probe[64];		/* seq % 64 -> probe */
	/* the last verdict */
	struct lwt_nat_verdict v;
	char pub[24], local[24], why[160];
	uint32_t pub_addr;		/* network order */
	uint16_t pub_port;
	bool have_verdict;
	uint64_t done_ns;
	uint32_t runs, sent, answers, bad;
	char logged[384];		/* the last verdict logged */
};

static bool resolved(const struct nd_probe *p, uint64_t now, uint64_t settle_ns)
{
	return !p->want || p->got || (p->tries >= TRIES && now - p->last_ns >= settle_ns);
}

static int seen(const struct nd_probe *p, bool same_as_t1, const struct nd_probe *t1)
{
	if (!p->want)
		return LWT_NAT_SEEN_UNKNOWN;
	if (!same_as_t1)
		return p->got ? LWT_NAT_SEEN_YES : LWT_NAT_SEEN_NO;
	if (!p->got)
		return LWT_NAT_SEEN_UNKNOWN;
	return p->maddr == t1->maddr && p->mport == t1->mport ? LWT_NAT_SEEN_YES : LWT_NAT_SEEN_NO;
}

static void classify(const struct lwt_nat_tests *t, struct lwt_nat_verdict *v)
{
	bool one = !t->have_alt, eim_or_adm = false, eif_or_adf = false;
	int map, filt;	/* 0 unknown, 1 independent, 2 address-, 3 address-and-port-dependent */

	memset(v, 0, sizeof(*v));
	v->note = "";
	if (!t->answered) {
		v->type = "Unknown";
		v->mapping = v->filtering = "unknown";
		v->note = "no answer from the hub's NAT probe port (UDP blocked on the way, or "
			  "the hub does not answer probes)";
		return;
	}
	/* Mapping. */
	if (t->no_nat)
		map = 1;
	else if (t->same_port_change == LWT_NAT_SEEN_NO || t->same_addr_change == LWT_NAT_SEEN_NO)
		map = t->same_port_change == LWT_NAT_SEEN_NO ? 3 : 2;
	else if (t->same_port_change == LWT_NAT_SEEN_YES && t->same_addr_change == LWT_NAT_SEEN_YES)
		map = 1;
	else if (t->same_port_change == LWT_NAT_SEEN_YES)
		map = 1, eim_or_adm = true;	/* the other address: none, or no answer */
	else
		map = 0;
	/* Filtering. */
	if (t->through_addr == LWT_NAT_SEEN_YES)
		filt = 1;
	else if (t->through_port == LWT_NAT_SEEN_YES)
		filt = t->through_addr == LWT_NAT_SEEN_NO ? 2 : (eif_or_adf = true, 1);
	else if (t->through_port == LWT_NAT_SEEN_NO)
		filt = 3;
	else
		filt = 0;
	static const char *const mterm[] = { "unknown", "endpoint-independent", "address-dependent",
					     "address-and-port-dependent" };
	v->mapping = t->no_nat ? "none (no NAT)" : eim_or_adm ?
		     "endpoint-independent or address-dependent" : mterm[map];
	v->filtering = eif_or_adf ? "endpoint-independent or address-dependent" : mterm[filt];
	if (!filt) {
		v->type = "Unknown";
		v->note = "the filtering test got no verdict";
	} else if (t->no_nat) {
		v->type = filt == 1 ? "None/Open" : filt == 2 ? "Restricted Cone" : "Port-Restricted Cone";
		if (filt > 1)
			v->note = "no NAT, but a stateful firewall filters like this cone";
		else if (eif_or_adf)
			v->note = "no NAT; one hub address cannot tell an open host from a firewall "
				  "that filters by address (set nat_probe_addr on the hub)";
	} else if (!map) {
		v->type = "Unknown";
		v->note = "the mapping test (the hub's other port) got no answer";
	} else if (map > 1) {
		v->type = "Symmetric";
	} else if (filt == 3) {
		v->type = "Port-Restricted Cone";
		if (eim_or_adm)
			v->note = one ? "one hub address cannot tell an endpoint-independent mapping "
					"from an address-dependent one (set nat_probe_addr on the hub)" :
				  "the other hub address did not answer: mapping by address not tested";
	} else if (filt == 2) {
		v->type = "Restricted Cone";
		if (eim_or_adm)
			v->note = "the other hub address did not answer: mapping by address not tested";
	} else {
		v->type = eif_or_adf ? "Full Cone or Restricted Cone" : "Full Cone";
		if (eif_or_adf || eim_or_adm)
			v->note = one ? "one hub address cannot tell endpoint-independent filtering "
					"and mapping from address-dependent ones (set nat_probe_addr on "
					"the hub)" :
				  "the other hub address did not answer: not tested by address";
	}
}

static void set_kind(struct lwt_nat_verdict *v)
{
	static const struct { const char *type; int kind; } kinds[] = {
		{ "None/Open", LWT_NAT_OPEN },
		{ "Full Cone", LWT_NAT_FULL_CONE },
		{ "Full Cone or Restricted Cone", LWT_NAT_FULL_OR_RESTRICTED },
		{ "Restricted Cone", LWT_NAT_RESTRICTED_CONE },
		{ "Port-Restricted Cone", LWT_NAT_PORT_RESTRICTED_CONE },
		{ "Symmetric", LWT_NAT_SYMMETRIC },
	};

	v->kind = LWT_NAT_UNKNOWN;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(v->type, kinds[i].type))
			v->kind = kinds[i].kind;
}

void lwt_nat_classify(const struct lwt_nat_tests *t, struct lwt_nat_verdict *v)
{
	classify(t, v);
	set_kind(v);
}

static void fmt_ep(char *buf, size_t len, uint32_t addr, uint16_t port)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u", inet_ntop(AF_INET, &addr, a, sizeof(a)), port);
}

static void stop_run(struct lwt_daemon *d, struct lwt_natdet *n)
{
	if (n->fd >= 0) {
		epoll_ctl(d->nat->epfd, EPOLL_CTL_DEL, n->fd, NULL);
		close(n->fd);
		n->fd = -1;
	}
	OPENSSL_cleanse(n->key, sizeof(n->key));
}

static void finish(struct lwt_daemon *d, struct lwt_natdet *n, const char *fail)
{
	struct nd_probe *p = n->pr;
	struct lwt_nat_tests t = {
		.answered = p[T1].got,
		.no_nat = p[T1].got && p[T1].maddr == n->local_ip && p[T1].mport == n->lport,
		.have_alt = n->alt != 0,
		.same_port_change = seen(&p[T2], true, &p[T1]),
		.same_addr_change = seen(&p[T3], true, &p[T1]),
		.through_port = seen(&p[FP], false, NULL),
		.through_addr = n->alt ? seen(&p[FA], false, NULL) : LWT_NAT_SEEN_UNKNOWN,
	};
	char line[384], key[384];

	stop_run(d, n);
	n->state = fail ? ST_FAILED : ST_DONE;
	n->done_ns = lwt_now_ns();
	snprintf(n->why, sizeof(n->why), "%s", fail ? fail : "");
	lwt_nat_classify(&t, &n->v);
	n->have_verdict = true;
	n->pub_addr = p[T1].got ? p[T1].maddr : 0;
	n->pub_port = p[T1].got ? p[T1].mport : 0;
	if (p[T1].got)
		fmt_ep(n->pub, sizeof(n->pub), p[T1].maddr, p[T1].mport);
	else
		n->pub[0] = 0;
	snprintf(line, sizeof(line), "NAT type (UDP, from %s): %s (mapping %s, filtering %s)%s%s%s%s",
		 n->local, n->v.type, n->v.mapping, n->v.filtering, n->pub[0] ? ", public " : "",
		 n->pub, n->v.note[0] ? "; " : "", n->v.note);
	/* Logged once: a reconnect that finds the same NAT says nothing. */
	snprintf(key, sizeof(key), "%s|%s|%s|%s|%s", n->v.type, n->v.mapping, n->v.filtering,
		 n->v.note, n->why);
	if (strcmp(key, n->logged)) {
		if (fail)
			lwt_warn("NAT detection failed: %s", fail);
		else
			lwt_info("%s", line);
		snprintf(n->logged, sizeof(n->logged), "%s", key);
	}
}

static int send_probe(struct lwt_natdet *n, int i, uint64_t now)
{
	struct nd_probe *p = &n->pr[i];
	struct lwt_natmsg_info in = { .type = LWT_NATMSG_REQUEST, .flags = p->flags,
				      .session_id = n->sid, .seq = ++n->seq };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = p->dst,
				  .sin_port = htons(p->dport) };
	uint8_t buf[LWT_NATMSG_LEN];

	if (lwt_natmsg_build(n->key, &in, buf))
		return -EIO;
	n->seq_probe[n->seq % 64] = (uint8_t)i;
	p->tries++;
	p->last_ns = now;
	if (!p->first_ns)
		p->first_ns = now;
	n->sent++;
	if (sendto(n->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0)
		lwt_dbg("NAT detection: probe %s to %s:%u: %s", probe_names[i],
			inet_ntoa(to.sin_addr), p->dport, strerror(errno));
	return 0;
}

static void want(struct lwt_natdet *n, int i, uint32_t dst, uint16_t port, uint8_t flags)
{
	n->pr[i] = (struct nd_probe){ .want = true, .dst = dst, .dport = port, .flags = flags };
}

static int open_sock(struct lwt_daemon *d, struct lwt_natdet *n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = n->local_ip,
				  .sin_port = htons(n->lport) };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	int one = 1;

	if (fd < 0)
		return -errno;
	/* A direct UDP path (p2p_udp.c) may hold this port, connected to its
	 * peer: both set SO_REUSEADDR; the kernel hands each its own. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(fd);
		return e;
	}
	ev.data.fd = fd;
	if (epoll_ctl(d->nat->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int e = -errno;

		close(fd);
		return e;
	}
	n->fd = fd;
	return 0;
}

static void begin(struct lwt_daemon *d, struct lwt_natdet *n, uint64_t now)
{
	char why[96];
	int r;

	n->hub = d->cfg.remote.sin_addr.s_addr;
	n->local_ip = d->local_ip;
	n->lport = ntohs(d->filter.lport);
	fmt_ep(n->local, sizeof(n->local), n->local_ip, n->lport);
	n->alt = 0;
	memset(n->pr, 0, sizeof(n->pr));
	r = open_sock(d, n);
	if (r) {
		snprintf(why, sizeof(why), "couldn't bind UDP %s: %s", n->local, strerror(-r));
		lwt_warn("NAT detection: %s", why);
		finish(d, n, why);
		return;
	}
	n->runs++;
	n->state = ST_FILTER;
	n->step_ns = now;
	want(n, T1, n->hub, n->p1, 0);
	want(n, FP, n->hub, n->p1, LWT_NAT_CHANGE_PORT);
	want(n, FA, n->hub, n->p1, LWT_NAT_CHANGE_ADDR | LWT_NAT_CHANGE_PORT);
	for (int i = T1; i <= FA; i++)
		send_probe(n, i, now);
}

void lwt_natdet_start(struct lwt_daemon *d, const struct lwt_session_keys *keys,
		      uint32_t session_id)
{
	struct lwt_natdet *n = d->nat ? d->nat->det : NULL;

	if (!n)
		return;
	stop_run(d, n);
	if (lwt_natmsg_key(keys, session_id, n->key)) {
		n->state = ST_IDLE;
		return;
	}
	n->sid = session_id;
	n->seq = 0;
	/* At the next tick, once the session is up. */
	n->state = ST_PENDING;
	lwt_nattcp_start(d->nat->tcp, keys, session_id);
}

/* An answer on the run's socket. */
static void take(struct lwt_natdet *n, const uint8_t *buf, size_t len,
		 const struct sockaddr_in *from, uint64_t now)
{
	struct lwt_natmsg_info in;
	struct nd_probe *p;
	uint32_t want_src;
	uint16_t want_port;
	int i;

	if (lwt_natmsg_parse(buf, len, &in) || in.type != LWT_NATMSG_ANSWER ||
	    in.session_id != n->sid || in.seq > n->seq || in.seq + 64 <= n->seq ||
	    lwt_natmsg_verify(n->key, buf, len)) {
		n->bad++;
		return;
	}
	i = n->seq_probe[in.seq % 64];
	p = &n->pr[i];
	/* Step 1's answers count during step 1 only (see the top), step 2's
	 * during step 2. */
	if (p->got || !p->want || (i <= FA ? n->state != ST_FILTER : n->state != ST_MAPPING))
		return;
	/* It must come from where it says, as the NAT let it in. */
	want_src = p->flags & LWT_NAT_CHANGE_ADDR ? in.other_addr : p->dst;
	want_port = p->flags & LWT_NAT_CHANGE_PORT ? (p->dport == n->p1 ? n->p2 : n->p1) : p->dport;
	if (from->sin_addr.s_addr != want_src || ntohs(from->sin_port) != want_port ||
	    (p->flags & LWT_NAT_CHANGE_ADDR && !in.other_addr)) {
		n->bad++;
		return;
	}
	n->answers++;
	p->got = true;
	p->rtt_ns = now - p->last_ns;
	p->maddr = in.mapped_addr;
	p->mport = in.mapped_port;
	if (i == T1)
		n->alt = in.other_addr;
}

static void handle(struct lwt_daemon *d, struct lwt_natdet *n)
{
	uint8_t buf[LWT_NATMSG_LEN + 1];
	struct sockaddr_in from;
	uint64_t now = lwt_now_ns();
	int k;

	for (k = 0; k < 32 && n->fd >= 0; k++) {
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(n->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

		if (r < 0)
			break;
		take(n, buf, (size_t)r, &from, now);
	}
	lwt_nat_tick(d, now);
}

static void det_tick(struct lwt_daemon *d, struct lwt_natdet *n, uint64_t now)
{
	const struct lwt_slot *s = &d->slots[0];
	uint64_t settle = (uint64_t)SETTLE_MIN_MS * 1000000ull;
	bool done = true;
	int i, lo, hi;

	if (n->state == ST_IDLE || n->state == ST_DONE || n->state == ST_FAILED)
		return;
	if (s->c.phase != LWT_PH_UP || s->c.session_id != n->sid) {
		if (n->state != ST_PENDING || s->c.phase == LWT_PH_FREE) {
			stop_run(d, n);
			n->state = ST_IDLE;
		}
		return;
	}
	if (n->state == ST_PENDING) {
		begin(d, n, now);
		return;
	}
	/* A few RTTs of the hub's answer before "it did not get through". */
	if (n->pr[T1].got && 3 * n->pr[T1].rtt_ns > settle)
		settle = 3 * n->pr[T1].rtt_ns;
	lo = n->state == ST_FILTER ? T1 : T2;
	hi = n->state == ST_FILTER ? FA : T3;
	if (n->state == ST_FILTER && n->pr[T1].got && !n->alt)
		n->pr[FA].want = false;
	for (i = lo; i <= hi; i++) {
		struct nd_probe *p = &n->pr[i];

		if (!resolved(p, now, settle)) {
			done = false;
			if (!p->got && p->tries < TRIES &&
			    now - p->last_ns >= (uint64_t)RETRY_MS * 1000000ull)
				send_probe(n, i, now);
		}
	}
	if (!done)
		return;
	if (n->state == ST_FILTER) {
		char why[96];

		if (!n->pr[T1].got) {
			snprintf(why, sizeof(why), "no answer from the hub's probe port %s:%u",
				 inet_ntoa((struct in_addr){ n->hub }), n->p1);
			finish(d, n, why);
			return;
		}
		n->state = ST_MAPPING;
		n->step_ns = now;
		want(n, T2, n->hub, n->p2, 0);
		if (n->alt)
			want(n, T3, n->alt, n->p1, 0);
		send_probe(n, T2, now);
		if (n->alt)
			send_probe(n, T3, now);
		return;
	}
	finish(d, n, NULL);
}

static void *det_json(const struct lwt_natdet *n, const struct lwt_nattcp *tcp)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "state", state_names[n->state]);
	cJSON_AddStringToObject(o, "type", n->have_verdict ? n->v.type : "");
	cJSON_AddStringToObject(o, "mapping", n->have_verdict ? n->v.mapping : "");
	cJSON_AddStringToObject(o, "filtering", n->have_verdict ? n->v.filtering : "");
	cJSON_AddStringToObject(o, "public", n->have_verdict ? n->pub : "");
	cJSON_AddStringToObject(o, "local", n->local);
	cJSON_AddStringToObject(o, "note", n->have_verdict ? n->v.note : "");
	cJSON_AddStringToObject(o, "error", n->why);
	cJSON_AddNumberToObject(o, "hub_addresses", n->alt ? 2 : 1);
	cJSON_AddItemToObject(o, "tcp", lwt_nattcp_json(tcp));
	cJSON_AddNumberToObject(o, "runs", n->runs);
	cJSON_AddNumberToObject(o, "probes_sent", n->sent);
	cJSON_AddNumberToObject(o, "answers", n->answers);
	cJSON_AddNumberToObject(o, "answers_refused", n->bad);
	cJSON_AddNumberToObject(o, "age_s", n->done_ns ? (lwt_now_ns() - n->done_ns) / 1e9 : -1);
	return o;
}

bool lwt_natdet_result(const struct lwt_daemon *d, struct lwt_nat_verdict *v, uint32_t *pub_addr,
		       uint16_t *pub_port)
{
	const struct lwt_natdet *n = d->nat ? d->nat->det : NULL;

	if (!n || !n->have_verdict)
		return false;
	*v = n->v;
	*pub_addr = n->pub_addr;
	*pub_port = n->pub_port;
	return true;
}

/* Both sides. */

int lwt_nat_create(struct lwt_daemon *d)
{
	struct lwt_nat *nat;
	int r;

	d->nat = NULL;
	if (!d->cfg.enable_nat_detection)
		return 0;
	/* NAT detection is IPv4 (as P2P, which it serves): a hub reached
	 * over IPv6 is not asked. */
	if (d->cfg.mode == LWT_MODE_CLIENT && d->cfg.remote6) {
		lwt_info("NAT detection: the hub is reached over IPv6; detection is IPv4 only: "
			 "not run");
		return 0;
	}
	nat = calloc(1, sizeof(*nat));
	if (!nat)
		return -ENOMEM;
	nat->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (nat->epfd < 0) {
		r = -errno;
		free(nat);
		return r;
	}
	d->nat = nat;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		r = lwt_natprobe_create(d, nat->epfd, &nat->probe);
	} else {
		nat->det = calloc(1, sizeof(*nat->det));
		r = nat->det ? 0 : -ENOMEM;
		if (nat->det) {
			nat->det->fd = -1;
			nat->det->p1 = d->cfg.nat_probe_port ? d->cfg.nat_probe_port :
				       ntohs(d->cfg.remote.sin_port) + 1;
			nat->det->p2 = nat->det->p1 + 1;
			nat->tcp = lwt_nattcp_create(nat->det->p1);
			r = nat->tcp ? 0 : -ENOMEM;
		}
	}
	if (r)
		lwt_nat_destroy(d);
	return r;
}

void lwt_nat_destroy(struct lwt_daemon *d)
{
	struct lwt_nat *nat = d->nat;

	if (!nat)
		return;
	if (nat->det) {
		stop_run(d, nat->det);
		free(nat->det);
	}
	lwt_nattcp_destroy(nat->tcp);
	lwt_natprobe_destroy(nat->probe);
	close(nat->epfd);
	free(nat);
	d->nat = NULL;
}

int lwt_nat_fd(const struct lwt_daemon *d)
{
	return d->nat ? d->nat->epfd : -1;
}

void lwt_nat_handle(struct lwt_daemon *d)
{
	struct epoll_event ev[8];

	if (!d->nat)
		return;
	/* Empties the inner set's ready list (the sockets are read below,
	 * each a bounded batch): the control loop's epoll then sees the set
	 * readable only while a socket is. */
	if (epoll_wait(d->nat->epfd, ev, 8, 0) <= 0)
		return;
	if (d->nat->probe)
		lwt_natprobe_handle(d, d->nat->probe);
	if (d->nat->det)
		handle(d, d->nat->det);
}

void lwt_nat_tick(struct lwt_daemon *d, uint64_t now)
{
	if (d->nat && d->nat->det)
		det_tick(d, d->nat->det, now);
	/* TCP after UDP: its SYNs to the hub's other port and address would
	 * open a NAT that filters by destination whatever the transport, and
	 * UDP's filtering test would see it open. */
	if (d->nat && d->nat->tcp)
		lwt_nattcp_tick(d, d->nat->tcp, now, d->nat->det &&
				(d->nat->det->state == ST_DONE || d->nat->det->state == ST_FAILED));
}

void lwt_nat_tcp_msg(struct lwt_daemon *d, const uint8_t *buf, size_t len)
{
	if (d->cfg.mode == LWT_MODE_CLIENT && d->nat)
		lwt_nattcp_answer(d->nat->tcp, buf, len);
}

void *lwt_nat_json(const struct lwt_daemon *d)
{
	if (!d->nat)
		return NULL;
	return d->nat->probe ? lwt_natprobe_json(d->nat->probe) :
	       det_json(d->nat->det, d->nat->tcp);
}
