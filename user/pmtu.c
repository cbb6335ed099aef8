// SPDX-License-Identifier: MIT
/* Path MTU discovery for `mtu 0`; see pmtu.h and docs/PROTOCOL.md "Path
 * MTU". The control thread runs every search (lwt_pmtu_tick); the data
 * plane only builds the padded probe (LWT_CMD_SEND_MSG with type
 * LWT_MSG_PMTU_PROBE) and answers the peer's probes itself.
 *
 * A search is a series of rounds over (lo, hi]: lo is a size known to
 * work, hi the largest not known to fail. A round sends lo itself (the
 * witness: it shows the path is alive, so that silence of the larger ones
 * means "too big", not "loss") and up to 15 sizes spread evenly over
 * (lo, hi], each twice. Acks raise lo; at the round's end every size above
 * the new lo that got no ack lowers hi -- but only if the witness or a
 * larger size came back. A path of 576..1500 takes three or four rounds. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/icmp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "log.h"
#include "netlink.h"
#include "pmtu.h"
#include "pmtu_search.h"
#include "underlay6.h"

#define PMTU_MIN_PROBE ((int)(LWT_SEG_HDR + LWT_REC_HDR + 1 + sizeof(struct lwt_pmtu_probe) + LWT_TAG_LEN))
#define PMTU_CONFIRM_NS (10 * 1000000000ull)	/* is the path MTU still good? */
#define PMTU_RAISE_NS (600 * 1000000000ull)	/* search upwards again */
#define PMTU_RETRY_NS (5 * 1000000000ull)	/* after rounds nothing answered */
#define PMTU_SILENT_ROUNDS 3		/* rounds without any ack before pausing */

struct pmtu_slot {
	uint8_t state;			/* enum lwt_pmtu_state */
	bool confirm;			/* the round confirms pmtu (DONE) */
	uint8_t silent;			/* rounds in a row without any ack */
	uint8_t confirm_fails;
	int hint;			/* DONE: an ICMP hint the running confirmation judges */
	uint64_t up_ns;			/* the session searched (its up_ns) */
	int max;			/* largest size to try: link MTU, our buffers */
	int pmtu;			/* the path MTU found, 0 none yet */
	struct lwt_pmtu_search sr;	/* the search, or the confirmation round */
	int applied;			/* inner MTU set (client TUN, server route), 0 none */
	uint32_t route_ip;		/* server: the host route's address, 0 none */
	uint32_t round;			/* round number: probe ids are round << 4 | index */
	bool resent;
	uint64_t round_ns, start_ns, next_ns;
	uint32_t settle_ms;		/* how long the last search took */
	uint64_t probes, acks, icmp, icmp_refuted, black_holes, searches;
	const char *found_by;		/* "probes", "icmp", or NULL */
};

struct lwt_pmtu {
	int icmp_fd;			/* what the control thread polls: the ICMP
					 * socket, or an epoll set of it and icmp6_fd */
	int icmp4_fd, icmp6_fd;
	uint64_t icmp_rx, icmp_ignored;
	struct pmtu_slot s[];
};

const char *lwt_pmtu_state_str(int state)
{
	switch (state) {
	case LWT_PMTU_SEARCHING: return "searching";
	case LWT_PMTU_DONE: return "done";
	case LWT_PMTU_BLACK_HOLE: return "black-hole";
	default: return "off";
	}
}

static bool probing(const struct lwt_daemon *d)
{
	return d->pmtu && d->cfg.mtu == 0;
}

/* Slots that probe: a client's hub session; every slot of a server. */
static int nprobe(const struct lwt_daemon *d)
{
	return d->cfg.mode == LWT_MODE_CLIENT ? 1 : d->nslots;
}

/* IPv6 sessions: an ICMPv6 socket for Packet Too Big, polled with the
 * ICMP one through an epoll set (one fd for the control thread). */
static void pmtu6_open(struct lwt_daemon *d)
{
	struct lwt_pmtu *p = d->pmtu;
	struct epoll_event ev = { .events = EPOLLIN };
	int ep;

	if (!lwt_u6_active(d))
		return;
	p->icmp6_fd = lwt_pmtu_icmp6_open();
	if (p->icmp6_fd < 0) {
		lwt_warn("mtu 0: couldn't open an ICMPv6 socket: %s; IPv6 path MTU found by probes "
			 "only", strerror(-p->icmp6_fd));
		p->icmp6_fd = -1;
		return;
	}
	if (p->icmp4_fd < 0) {
		p->icmp_fd = p->icmp6_fd;
		return;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p->icmp4_fd, &ev) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, p->icmp6_fd, &ev) < 0) {
		lwt_warn("mtu 0: couldn't poll ICMP and ICMPv6 together: %s", strerror(errno));
		if (ep >= 0)
			close(ep);
		return;
	}
	p->icmp_fd = ep;
}

int lwt_pmtu_init(struct lwt_daemon *d)
{
	struct icmp_filter f = { .data = ~(1u << ICMP_DEST_UNREACH) };
	struct lwt_pmtu *p;

	if (d->cfg.mtu != 0)
		return 0;
	p = calloc(1, sizeof(*p) + (size_t)d->nslots * sizeof(p->s[0]));
	if (!p)
		return -ENOMEM;
	p->icmp_fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (p->icmp_fd < 0)
		lwt_warn("mtu 0: couldn't open an ICMP socket: %s; path MTU found by probes only",
			 strerror(errno));
	else if (setsockopt(p->icmp_fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f)) < 0)
		lwt_info("mtu 0: no ICMP_FILTER (%s): every ICMP message is read", strerror(errno));
	p->icmp4_fd = p->icmp_fd;
	p->icmp6_fd = -1;
	d->pmtu = p;
	pmtu6_open(d);
	return 0;
}

void lwt_pmtu_free(struct lwt_daemon *d)
{
	if (!d->pmtu)
		return;
	if (d->pmtu->icmp4_fd >= 0)
		close(d->pmtu->icmp4_fd);
	if (d->pmtu->icmp6_fd >= 0)
		close(d->pmtu->icmp6_fd);
	if (d->pmtu->icmp_fd >= 0 && d->pmtu->icmp_fd != d->pmtu->icmp4_fd)
		close(d->pmtu->icmp_fd);
	free(d->pmtu);
	d->pmtu = NULL;
}

int lwt_pmtu_fd(const struct lwt_daemon *d)
{
	return d->pmtu ? d->pmtu->icmp_fd : -1;
}

/* The slot's session runs over IPv6: 20 bytes more header, the floor 1280. */
static bool v6(const struct lwt_daemon *d, int i)
{
	return lwt_addr_key32_is_v6(d->slots[i].c.raddr);
}

static int base(const struct lwt_daemon *d, int i)
{
	return v6(d, i) ? LWT_PMTU_BASE6 : LWT_PMTU_BASE;
}

/* The largest outer packet towards slot i's peer: the MTU of the link the
 * route takes, at most what our buffers hold. */
static int path_max(struct lwt_daemon *d, int i)
{
	int ifindex = 0, mtu = 0, cap = (int)d->bufs.seg_max;
	uint32_t src, gw;
	uint8_t gw6[16];

	if (v6(d, i) ? !lwt_nl_route_get6(d->slots[i].c.ep.b, &ifindex, gw6) && ifindex > 0 :
	    !lwt_nl_route_get(d->slots[i].c.raddr, &ifindex, &src, &gw) && ifindex > 0)
		mtu = lwt_nl_link_mtu(ifindex);
	if (mtu <= 0 || mtu > cap)
		mtu = cap;
	return mtu < base(d, i) ? base(d, i) : mtu;
}

/* The inner MTU for an outer path MTU of slot i. */
static int inner_mtu(const struct lwt_daemon *d, int i, int pmtu)
{
	int m = pmtu - (int)LWT_OVERHEAD - (v6(d, i) ? LWT_IP6_EXTRA : 0);

	if (m > (int)d->bufs.pkt_max)
		m = (int)d->bufs.pkt_max;
	return m < 68 ? 68 : m;
}

/* Client: the TUN MTU; server: the client's host route (none while the
 * TUN's MTU fits). Inner TCP sees either through the kernel. */
static void apply(struct lwt_daemon *d, int i, struct pmtu_slot *p, int pmtu)
{
	struct lwt_slot *s = &d->slots[i];
	int m = inner_mtu(d, i, pmtu), r;

	if (m == p->applied)
		return;
	if (d->cfg.mode == LWT_MODE_CLIENT) {
		r = lwt_nl_link_set_mtu(d->tun.ifindex, m);
		if (r) {
			lwt_log_rl(LWT_LOG_WARN, "mtu 0: couldn't set MTU %d on '%s': %s", m,
				   d->tun.name, strerror(-r));
			return;
		}
		lwt_info("mtu 0: path MTU %d to the server, TUN MTU %d", pmtu, m);
		d->tun_mtu = m;
		p->applied = m;
		return;
	}
	if (m >= d->tun_mtu) {
		if (p->route_ip)
			lwt_nl_route_del(d->tun.ifindex, p->route_ip, 32);
		p->route_ip = 0;
		p->applied = m;
		atomic_store_explicit(&s->path_inner_mtu, 0, memory_order_relaxed);
		return;
	}
	/* First the relay's limit (dataplane.c), which needs no kernel. */
	atomic_store_explicit(&s->path_inner_mtu, (uint32_t)m, memory_order_relaxed);
	r = lwt_nl_route_set_mtu(d->tun.ifindex, s->c.tun_ip, 32, m);
	if (r) {
		lwt_log_rl(LWT_LOG_WARN, "mtu 0: couldn't give client %u a route of MTU %d: %s", i, m,
			   strerror(-r));
		return;
	}
	lwt_info("mtu 0: path MTU %d to client %u, its route MTU %d", pmtu, i, m);
	p->route_ip = s->c.tun_ip;
	p->applied = m;
}

static void unapply(struct lwt_daemon *d, int i, struct pmtu_slot *p)
{
	atomic_store_explicit(&d->slots[i].path_inner_mtu, 0, memory_order_relaxed);
	if (p->route_ip)
		lwt_nl_route_del(d->tun.ifindex, p->route_ip, 32);
	p->route_ip = 0;
	p->applied = 0;
}

/* The round's timeout: a few RTTs, never under 300 ms or over 3 s. Before
 * the first keepalive echo the handshake's duration (over an RTT) stands in. */
static uint64_t round_ns(struct lwt_daemon *d, int i)
{
	uint64_t rtt = atomic_load_explicit(&d->slots[i].rtt_us, memory_order_relaxed), t;

	if (!rtt)
		rtt = d->slots[i].c.handshake_us;
	t = 4000ull * rtt + 150000000ull;

	return t < 300000000ull ? 300000000ull : t > 3000000000ull ? 3000000000ull : t;
}

static void send_round(struct lwt_daemon *d, int i, struct pmtu_slot *p)
{
	int j;

	for (j = 0; j < p->sr.n; j++) {
		struct lwt_pmtu_probe pr = { .id = htonl(p->round << 4 | (uint32_t)j),
					     .size = htons(p->sr.size[j]) };

		if (p->sr.acked & (1u << j))
			continue;
		if (lwt_send_msg(d, i, LWT_MSG_PMTU_PROBE, &pr, sizeof(pr)) == 0)
			p->probes++;
	}
}

/* Start a round: the witness lo, then sizes spread over (lo, hi]. */
static void start_round(struct lwt_daemon *d, int i, struct pmtu_slot *p, uint64_t now)
{
	p->round++;
	lwt_pmtu_search_round(&p->sr);
	p->resent = false;
	p->confirm = false;
	p->round_ns = now;
	send_round(d, i, p);
}

/* A confirmation: the base as witness, the path MTU found. */
static void start_confirm(struct lwt_daemon *d, int i, struct pmtu_slot *p, uint64_t now)
{
	p->round++;
	p->sr.size[0] = (uint16_t)base(d, i);
	p->sr.size[1] = (uint16_t)p->pmtu;
	p->sr.n = 2;
	p->sr.acked = 0;
	p->resent = false;
	p->confirm = true;
	p->round_ns = now;
	send_round(d, i, p);
}

static void start_search(struct lwt_daemon *d, int i, struct pmtu_slot *p, int lo, bool lo_ok,
			 int hi, uint64_t now)
{
	p->max = path_max(d, i);
	lwt_pmtu_search_init(&p->sr, lo > p->max ? p->max : lo, lo_ok,
			     hi && hi < p->max ? hi : p->max);
	p->silent = 0;
	p->hint = 0;
	p->start_ns = now;
	p->searches++;
	if (p->state != LWT_PMTU_BLACK_HOLE)
		p->state = LWT_PMTU_SEARCHING;
	start_round(d, i, p, now);
}

/* The inner MTU in force for the slot now. */
static int inner_now(const struct lwt_daemon *d, const struct pmtu_slot *p)
{
	return p->applied ? p->applied : d->tun_mtu;
}

static void settle(struct lwt_daemon *d, int i, struct pmtu_slot *p, uint64_t now)
{
	p->pmtu = p->sr.lo;
	p->state = LWT_PMTU_DONE;
	p->settle_ms = (uint32_t)((now - p->start_ns) / 1000000);
	p->found_by = p->sr.by_icmp ? "icmp" : "probes";
	p->confirm_fails = 0;
	p->next_ns = now + PMTU_CONFIRM_NS;
	p->sr.n = 0;
	lwt_info("mtu 0: slot %d (%s): path MTU %d (at most %d tried) in %u ms, by %s", i,
		 d->cfg.mode == LWT_MODE_CLIENT ? "the server" : "a client", p->pmtu, p->max,
		 p->settle_ms, p->found_by);
	apply(d, i, p, p->pmtu);
}

static void confirm_end(struct lwt_daemon *d, int i, struct pmtu_slot *p, uint64_t now)
{
	int old = p->pmtu;
	uint32_t acked = p->sr.acked;

	p->sr.n = 0;
	p->confirm = false;
	if (acked & 2) {
		/* The path MTU still passes: an ICMP hint below it was false. */
		if (p->hint) {
			p->icmp_refuted++;
			lwt_log_rl(LWT_LOG_INFO, "mtu 0: slot %d: ICMP said %d bytes, but %d still "
				   "pass: ignored", i, p->hint, p->pmtu);
		}
		p->hint = 0;
		p->confirm_fails = 0;
		p->next_ns = now + PMTU_CONFIRM_NS;
		return;
	}
	if (!(acked & 1)) {
		/* Nothing came back: the session's trouble, not the size's. */
		p->hint = 0;
		p->confirm_fails = 0;
		p->next_ns = now + PMTU_CONFIRM_NS;
		return;
	}
	if (++p->confirm_fails < 2) {
		start_confirm(d, i, p, now);
		return;
	}
	if (p->hint) {
		/* The ICMP told the truth: search under what it named. */
		int hint = p->hint;

		p->hint = 0;
		p->state = LWT_PMTU_SEARCHING;
		start_search(d, i, p, base(d, i), false, hint, now);
		p->sr.by_icmp = true;
		return;
	}
	/* The base gets through twice, the path MTU not: a black hole. Down
	 * to the base at once, then search under the old value. */
	lwt_log_rl(LWT_LOG_WARN, "mtu 0: slot %d: packets of %d bytes vanish (no ICMP): "
		   "black hole; TUN/route MTU from the base %d, searching", i, old, base(d, i));
	p->black_holes++;
	p->state = LWT_PMTU_BLACK_HOLE;
	p->pmtu = 0;
	apply(d, i, p, base(d, i));
	start_search(d, i, p, base(d, i), true, old - 1, now);
}

/* What comes after a search round: the next, or the end. */
static void next_round(struct lwt_daemon *d, int i, struct pmtu_slot *p, uint64_t now)
{
	/* Known too big for what is in force now: down to what works while
	 * the search goes on. */
	if (p->sr.lo_ok && inner_now(d, p) + (int)LWT_OVERHEAD + (v6(d, i) ? LWT_IP6_EXTRA : 0) > p->sr.hi)
		apply(d, i, p, p->sr.lo);
	if (lwt_pmtu_search_done(&p->sr))
		settle(d, i, p, now);
	else
		start_round(d, i, p, now);
}

/* The round is over: its time ran out, or its top size came back. */
static void round_end(struct lwt_daemon *d, int i, struct pmtu_slot *p, uint64_t now,
		      bool timed_out)
{
	if (p->confirm) {
		confirm_end(d, i, p, now);
		return;
	}
	if (!p->sr.acked && timed_out && ++p->silent >= PMTU_SILENT_ROUNDS) {
		lwt_log_rl(LWT_LOG_INFO, "mtu 0: slot %d: no answer to path MTU probes "
			   "(an older peer?); again in %llu s", i,
			   (unsigned long long)(PMTU_RETRY_NS / 1000000000ull));
		p->sr.n = 0;
		p->next_ns = now + PMTU_RETRY_NS;
		return;
	}
	if (lwt_pmtu_search_collect(&p->sr, timed_out))
		p->silent = 0;
	next_round(d, i, p, now);
}

void lwt_pmtu_msg(struct lwt_daemon *d, int i, const uint8_t *m, size_t len)
{
	struct lwt_pmtu_probe pr;
	struct pmtu_slot *p;
	uint32_t id;
	bool top;

	if (!probing(d) || i < 0 || i >= nprobe(d) || len != 1 + sizeof(pr))
		return;
	p = &d->pmtu->s[i];
	memcpy(&pr, m + 1, sizeof(pr));
	id = ntohl(pr.id);
	/* An earlier round's answer, or none of ours: ignored. */
	if (!p->sr.n || id >> 4 != (p->round & 0x0fffffff) ||
	    !lwt_pmtu_search_ack(&p->sr, (int)(id & 15), ntohs(pr.size), &top))
		return;
	p->acks++;
	/* The top size came back: nothing between to learn. */
	if (p->confirm ? p->sr.acked == 3 : top)
		round_end(d, i, p, lwt_now_ns(), false);
}

/* An ICMP "fragmentation needed" quoting our flow to slot i says packets
 * over mtu bytes do not pass: the next round tries mtu (it is only a
 * hint: nothing is believed until a probe of that size comes back). */
static void icmp_hint(struct lwt_daemon *d, int i, int mtu)
{
	struct pmtu_slot *p = &d->pmtu->s[i];
	uint64_t now = lwt_now_ns();

	if (p->state == LWT_PMTU_OFF) {
		d->pmtu->icmp_ignored++;
		return;
	}
	if (mtu < base(d, i))
		mtu = base(d, i);
	if (p->state == LWT_PMTU_DONE ? mtu >= p->pmtu : mtu >= p->sr.hi) {
		d->pmtu->icmp_ignored++;
		return;
	}
	p->icmp++;
	if (p->state == LWT_PMTU_DONE) {
		/* The path may have changed under a settled MTU, or the message
		 * is forged (it needs only the flow's addresses and ports): a
		 * confirmation judges. The path MTU passing refutes it; the base
		 * passing and the path MTU not starts a search below it. */
		if (!p->hint || mtu < p->hint)
			p->hint = mtu;
		if (p->confirm_fails < 1)
			p->confirm_fails = 1;
		if (!p->sr.n)
			start_confirm(d, i, p, now);
		return;
	}
	/* Mid-search: keep what this round has shown so far (no failures:
	 * its time has not run out), then try the hint at the top. */
	lwt_pmtu_search_hint(&p->sr, mtu, base(d, i));
	next_round(d, i, p, now);
}

/* The slot whose flow the quoted packet belongs to, or -1. */
static int icmp_slot(struct lwt_daemon *d, const struct lwt_pmtu_icmp *q)
{
	uint32_t saddr = q->saddr, daddr = q->daddr;
	uint16_t sport = q->sport, dport = q->dport;
	int i;

	if (d->cfg.mode == LWT_MODE_CLIENT) {
		struct lwt_slot *s = &d->slots[0];

		if (s->c.phase == LWT_PH_UP && s->c.raddr == daddr && s->c.rport == dport &&
		    (!d->local_ip || d->local_ip == saddr) && (!q->v6 || lwt_addr_eq(&s->c.ep, &q->da6)))
			return 0;
		return -1;
	}
	if (sport != d->local_port || (d->local_ip && d->local_ip != saddr))
		return -1;
	for (i = 0; i < d->nslots; i++) {
		struct lwt_slot *s = &d->slots[i];

		if (s->c.phase == LWT_PH_UP && s->c.raddr == daddr && s->c.rport == dport &&
		    (!q->v6 || lwt_addr_eq(&s->c.ep, &q->da6)))
			return i;
	}
	return -1;
}

void lwt_pmtu_icmp_input(struct lwt_daemon *d)
{
	uint8_t b[1280];
	bool dry4 = false;
	int k;

	for (k = 0; k < 128; k++) {
		bool six = k & 1;	/* ICMP and ICMPv6 in turn, until both are dry */
		int fd = six ? d->pmtu->icmp6_fd : d->pmtu->icmp4_fd;
		ssize_t r = fd >= 0 ? recv(fd, b, sizeof(b), 0) : -1;
		struct lwt_pmtu_icmp q = { 0 };	/* the IPv4 parse leaves v6 unset */
		int i;

		if (r < 0) {
			if (six && (d->pmtu->icmp4_fd < 0 || dry4))
				return;
			dry4 |= !six;
			continue;
		}
		d->pmtu->icmp_rx++;
		if ((six ? lwt_pmtu_icmp6_parse(b, (size_t)r, &q) : lwt_pmtu_icmp_parse(b, (size_t)r, &q)) ||
		    (i = icmp_slot(d, &q)) < 0 || !probing(d)) {
			d->pmtu->icmp_ignored++;
			continue;
		}
		icmp_hint(d, i, q.mtu);
	}
}

static void slot_tick(struct lwt_daemon *d, int i, struct pmtu_slot *p, uint64_t now)
{
	struct lwt_slot *s = &d->slots[i];

	if (s->c.phase != LWT_PH_UP) {
		if (p->state != LWT_PMTU_OFF || p->route_ip) {
			unapply(d, i, p);
			p->state = LWT_PMTU_OFF;
			p->sr.n = 0;
		}
		return;
	}
	/* A new session (a reconnect, a roam): its path may be another. The
	 * TUN keeps its MTU meanwhile; the search starts from what was found. */
	if (p->up_ns != s->c.up_ns) {
		p->up_ns = s->c.up_ns;
		if (d->cfg.mode == LWT_MODE_SERVER)
			unapply(d, i, p);
		p->state = LWT_PMTU_SEARCHING;
		p->pmtu = 0;
		start_search(d, i, p, base(d, i), false, 0, now);
		return;
	}
	if (p->sr.n) {
		if (now - p->round_ns >= round_ns(d, i))
			round_end(d, i, p, now, true);
		else if (!p->resent && now - p->round_ns >= round_ns(d, i) / 2) {
			p->resent = true;
			send_round(d, i, p);
		}
		return;
	}
	if (now < p->next_ns)
		return;
	if (p->state != LWT_PMTU_DONE) {
		/* Paused after silence: try again. */
		p->silent = 0;
		start_round(d, i, p, now);
	} else if (p->pmtu < p->max && now - p->start_ns >= PMTU_RAISE_NS) {
		start_search(d, i, p, p->pmtu, true, 0, now);
	} else {
		start_confirm(d, i, p, now);
	}
}

void lwt_pmtu_tick(struct lwt_daemon *d, uint64_t now)
{
	int i;

	if (!probing(d))
		return;
	for (i = 0; i < nprobe(d); i++)
		slot_tick(d, i, &d->pmtu->s[i], now);
}

void *lwt_pmtu_json(const struct lwt_daemon *d, int i)
{
	const struct pmtu_slot *p;
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (!probing(d) || i < 0 || i >= nprobe(d)) {
		cJSON_AddStringToObject(o, "state", "off");
		return o;
	}
	p = &d->pmtu->s[i];
	cJSON_AddStringToObject(o, "state", lwt_pmtu_state_str(p->state));
	cJSON_AddNumberToObject(o, "path_mtu", p->pmtu);
	cJSON_AddNumberToObject(o, "inner_mtu", p->applied);
	cJSON_AddNumberToObject(o, "max", p->max);
	if (p->state == LWT_PMTU_SEARCHING || p->state == LWT_PMTU_BLACK_HOLE) {
		cJSON_AddNumberToObject(o, "lo", p->sr.lo);
		cJSON_AddNumberToObject(o, "hi", p->sr.hi);
	}
	cJSON_AddStringToObject(o, "found_by", p->found_by ? p->found_by : "");
	cJSON_AddNumberToObject(o, "settle_ms", p->settle_ms);
	cJSON_AddNumberToObject(o, "searches", (double)p->searches);
	cJSON_AddNumberToObject(o, "probes", (double)p->probes);
	cJSON_AddNumberToObject(o, "acks", (double)p->acks);
	cJSON_AddNumberToObject(o, "icmp", (double)p->icmp);
	cJSON_AddNumberToObject(o, "icmp_refuted", (double)p->icmp_refuted);
	cJSON_AddNumberToObject(o, "black_holes", (double)p->black_holes);
	return o;
}
