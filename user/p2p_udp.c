// SPDX-License-Identifier: MIT
/* P2P over UDP, the control thread's side (docs/PROTOCOL.md "P2P over
 * UDP"). The hub orders it (LWT_P2P_UDP) for pairs fake TCP cannot join: a
 * symmetric NAT (a new public port per destination) against one that
 * filters by port. Fake TCP has one port per side and cannot guess; UDP
 * can spend many: the birthday strategy.
 *
 * The hard side (behind the symmetric NAT) opens LWT_UDP_HARD_PORTS
 * sockets and sends a probe from each to the easy side's public endpoint:
 * each opens a mapping of its own on its NAT, at a port we cannot know.
 * The easy side then probes up to LWT_UDP_EASY_PROBES random ports of the
 * hard side's public address from its own port (the one its hub session
 * uses, so the mapping is the one the hub saw, on NATs that keep ports),
 * at most PROBES_PER_TICK a tick. A probe that meets one of the hard
 * side's mappings passes its NAT (it comes from the endpoint the mapping
 * was opened to) and, answered, passes the easy NAT back (it was opened
 * by the probe). 256 of ~64000 ports, 2048 tries: about 8 hits expected,
 * none with a chance of e^-8. Neither NAT symmetric: both sides probe the
 * other's public endpoint from their own port.
 *
 * Every probe and answer carries a MAC under a key from the pair secret:
 * a packet that fails it is counted and dropped, never answered, and reads
 * are bounded per tick (the rest waits in, or overflows, the socket's
 * buffer). A valid probe is answered from the socket it reached; the
 * initiator takes the first answer to its probes as the path and sends a
 * PICK on it until the responder answers that; each side then hands a
 * socket on that local port, connected to the peer's endpoint, to the data
 * plane (p2p_udp_dp.c) and closes the probe sockets. The handshake of
 * p2p.c follows over it as over a fake-TCP flow. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "log.h"
#include "natdetect.h"
#include "p2p.h"
#include "p2p_udp.h"

#define PROBES_PER_TICK 64		/* easy side: probes sent a tick (50 ms) */
#define EASY_DELAY_NS (150 * MS)	/* ... after the hard side's went out */
#define RESEND_NS (1 * NS)		/* hard / plain: each socket's probe again */
#define READS_PER_SOCK 64		/* datagrams read from one socket a tick */
#define READS_PER_TICK 256		/* ... from all (the flood bound) */
#define PUNCH_NS (6 * NS)		/* no path by then: through the hub */
#define PICK_NS (2 * NS)		/* PICK unanswered this long: failed */
#define HARD_MIN 32			/* fewer sockets than this: no hard punch */
#define BACK_MAX 8			/* sources we sent a probe back to */
#define PLEN (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_udp_probe))
#define MAC_OFF (PLEN - 16)

enum { U_PLAIN, U_HARD, U_EASY };

struct p2p_udp {
	int mode;
	uint8_t key[LWT_KEY_LEN];	/* probe MAC key */
	uint32_t pair_id;		/* network order */
	uint32_t salt;			/* high half of our nonces */
	uint32_t sent;			/* low half: the next nonce */
	uint32_t peer_addr;		/* the peer's public endpoint, network order */
	uint16_t peer_port;
	int ep;				/* epoll of the probe sockets */
	int nsock;
	int fd[LWT_UDP_HARD_PORTS];
	uint16_t port[LWT_UDP_HARD_PORTS];	/* their local ports, network order */
	bool ttl_low[LWT_UDP_HARD_PORTS];	/* sends with p2p_syn_ttl */
	int sprayed;			/* easy: probes sent */
	uint64_t start_ns, resend_ns;
	struct { int k; uint32_t addr; uint16_t port; } back[BACK_MAX];
	int nback;
	bool picked, handed;
	int pick_k;
	uint32_t pick_addr;
	uint16_t pick_port;
	uint64_t pick_nonce, pick_ns;
	uint64_t bad;			/* this punch's packets that failed */
	uint32_t tun_ip;		/* the peer's, for the log */
};

bool p2p_udp_fits(int nat_a, int nat_b, unsigned int flags_a, unsigned int flags_b)
{
	return (flags_a & LWT_P2P_F_UDP) && (flags_b & LWT_P2P_F_UDP) &&
	       !(nat_a == LWT_NAT_SYMMETRIC && nat_b == LWT_NAT_SYMMETRIC);
}

static void close_probes(struct p2p_udp *u)
{
	for (int k = 0; k < u->nsock; k++)
		close(u->fd[k]);
	u->nsock = 0;
	if (u->ep >= 0)
		close(u->ep);
	u->ep = -1;
}

void p2p_udp_end(struct lwt_daemon *d, struct p2p_peer *e)
{
	(void)d;
	char a[INET_ADDRSTRLEN];

	if (!e->udp)
		return;
	if (e->udp->bad > 1)
		lwt_info("peer %s: %llu UDP packets that did not authenticate were dropped during the punch",
			 p2p_ip_s(e->udp->tun_ip, a), (unsigned long long)e->udp->bad);
	close_probes(e->udp);
	OPENSSL_cleanse(e->udp->key, sizeof(e->udp->key));
	free(e->udp);
	e->udp = NULL;
}

int p2p_udp_order(struct lwt_daemon *d, struct p2p_peer *e, const struct lwt_p2p_punch *o)
{
	static const char label[] = "lwt-v2 p2p-udp probe";
	uint8_t k[LWT_HMAC_LEN];
	struct p2p_udp *u;

	p2p_udp_end(d, e);
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->ep = -1;
	if (lwt_crypto_hmac(o->secret, (const uint8_t *)label, sizeof(label) - 1, k)) {
		free(u);
		return -EIO;
	}
	memcpy(u->key, k, sizeof(u->key));
	OPENSSL_cleanse(k, sizeof(k));
	lwt_crypto_random(&u->salt, sizeof(u->salt));
	u->pair_id = o->pair_id;
	u->tun_ip = e->tun_ip;
	u->peer_addr = o->peer_pub_addr;
	/* The peer's UDP mapping as its NAT detection saw it; else the
	 * hub flow's (the same on a port-preserving NAT). */
	u->peer_port = o->peer_udp_port ? o->peer_udp_port : o->peer_pub_port;
	if (o->your_nat == LWT_NAT_SYMMETRIC && o->peer_nat != LWT_NAT_SYMMETRIC)
		u->mode = U_HARD;
	else if (o->peer_nat == LWT_NAT_SYMMETRIC && o->your_nat != LWT_NAT_SYMMETRIC)
		u->mode = U_EASY;
	else
		u->mode = U_PLAIN;
	e->udp = u;
	e->ncand = 1;
	e->cand[0] = (struct p2p_cand){ o->peer_pub_addr, u->peer_port, "direct-udp" };
	return 0;
}

/* A UDP socket on local port (network order, 0 = any), SO_REUSEADDR: the
 * data plane's socket for a path binds the probe socket's port again. */
static int udp_sock(const struct lwt_daemon *d, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = d->local_ip,
				  .sin_port = port };
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int open_probes(struct lwt_daemon *d, struct p2p_udp *u)
{
	int n = u->mode == U_HARD ? LWT_UDP_HARD_PORTS : 1;
	int ttl = d->cfg.p2p_syn_ttl;

	u->ep = epoll_create1(EPOLL_CLOEXEC);
	if (u->ep < 0)
		return -errno;
	for (int k = 0; k < n; k++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)k };
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int fd = udp_sock(d, u->mode == U_HARD ? 0 : d->filter.lport);

		/* Out of descriptors (several hard punches at once under a low
		 * RLIMIT_NOFILE): fewer ports, fewer hits, but a chance. */
		if (fd < 0 && (fd == -EMFILE || fd == -ENFILE) && u->nsock >= HARD_MIN) {
			lwt_log_rl(LWT_LOG_INFO, "p2p: UDP punch with %d ports, not %d (out of descriptors)",
				   u->nsock, n);
			break;
		}
		if (fd < 0)
			return fd;
		u->fd[u->nsock++] = fd;
		if (getsockname(fd, (struct sockaddr *)&sa, &sl) ||
		    epoll_ctl(u->ep, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
		u->port[k] = sa.sin_port;
		/* The hard side's probes need only open its own NAT: with
		 * p2p_syn_ttl they die before a NAT on the far side could
		 * take them for a flow of its own (and pick another port for
		 * the easy side's probes to the same port). */
		if (u->mode == U_HARD && ttl &&
		    !setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)))
			u->ttl_low[k] = true;
	}
	return 0;
}

static void mac(const struct p2p_udp *u, const uint8_t *p, uint8_t out[16])
{
	uint8_t h[LWT_HMAC_LEN];

	lwt_crypto_hmac(u->key, p, MAC_OFF, h);
	memcpy(out, h, 16);
}

static void send_to(struct p2p_udp *u, int k, int fd, uint32_t addr, uint16_t port, int type,
		    int kind, uint8_t role, uint64_t nonce, uint64_t echo)
{
	uint8_t p[PLEN];
	struct lwt_udp_probe *b = (struct lwt_udp_probe *)(p + sizeof(struct lwt_frame_hdr));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr, .sin_port = port };
	int dflt = -1;

	memset(p, 0, sizeof(p));
	p[0] = (uint8_t)type;
	p[2] = 0;
	p[3] = (uint8_t)sizeof(*b);
	b->pair_id = u->pair_id;
	b->kind = (uint8_t)kind;
	b->role = role;
	b->nonce = htobe64(nonce);
	b->echo = htobe64(echo);
	mac(u, p, b->mac);
	/* Answers and PICKs must reach the peer. */
	if (k >= 0 && u->ttl_low[k] && (type != LWT_FT_UDP_PROBE || kind != LWT_UDP_PROBE)) {
		setsockopt(fd, IPPROTO_IP, IP_TTL, &dflt, sizeof(dflt));
		u->ttl_low[k] = false;
	}
	sendto(fd, p, sizeof(p), MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
}

static uint64_t nonce_next(struct p2p_udp *u)
{
	return (uint64_t)u->salt << 32 | ++u->sent;
}

static void probe(struct p2p_udp *u, int k, uint32_t addr, uint16_t port, uint8_t role)
{
	send_to(u, k, u->fd[k], addr, port, LWT_FT_UDP_PROBE, LWT_UDP_PROBE, role, nonce_next(u), 0);
}

/* The path is chosen: a socket on probe socket k's local port, connected
 * to the peer's endpoint, goes to the data plane; the probes stop. The
 * responder answers the PICK from it. */
static void hand_over(struct lwt_daemon *d, struct p2p_peer *e, int k, uint32_t addr,
		      uint16_t port, uint64_t answer)
{
	struct p2p_udp *u = e->udp;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr, .sin_port = port };
	int i = p2p_slot_of(d, e), fd = udp_sock(d, u->port[k]);
	struct lwt_slot *s = &d->slots[i];
	struct lwt_connect cn = { addr, port, e->role == LWT_P2P_RESPONDER, 0, 1, fd };
	char a[INET_ADDRSTRLEN];

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		p2p_path_end(d, e, "couldn't open the UDP path's socket", true);
		return;
	}
	if (answer)
		send_to(u, -1, fd, addr, port, LWT_FT_UDP_ANSWER, LWT_UDP_PICK, e->role,
			nonce_next(u), answer);
	close_probes(u);
	u->handed = true;
	u->pick_ns = lwt_now_ns();
	e->cand[0] = (struct p2p_cand){ addr, port, "direct-udp" };
	e->cand_i = 0;
	s->c.raddr = addr;
	s->c.rport = port;
	s->c.start_ns = u->pick_ns;
	s->c.tun_ip = e->tun_ip;
	lwt_set_phase(s, LWT_PH_TCP);
	lwt_cmd_connect(d, i, u->port[k], &cn);
	d->p2p->udp_paths_up++;
	lwt_info("peer %s: UDP path found: local port %u to %s:%u (%s, %u probes sent)",
		 p2p_ip_s(e->tun_ip, a), ntohs(u->port[k]), p2p_ip_s(addr, (char[INET_ADDRSTRLEN]){ 0 }),
		 ntohs(port), u->mode == U_HARD ? "birthday, hard side" : u->mode == U_EASY ?
		 "birthday, easy side" : "plain", u->sent);
}

/* A sender we answered gets a probe of ours too, once: the initiator
 * needs an answer to one of its own. */
static void probe_back(struct p2p_udp *u, int k, uint32_t addr, uint16_t port, uint8_t role)
{
	for (int j = 0; j < u->nback; j++)
		if (u->back[j].k == k && u->back[j].addr == addr && u->back[j].port == port)
			return;
	if (u->nback == BACK_MAX)
		return;
	u->back[u->nback].k = k;
	u->back[u->nback].addr = addr;
	u->back[u->nback++].port = port;
	probe(u, k, addr, port, role);
}

/* One datagram on probe socket k. */
static void input(struct lwt_daemon *d, struct p2p_peer *e, int k, const uint8_t *p, size_t len,
		  uint32_t addr, uint16_t port)
{
	struct p2p_udp *u = e->udp;
	const struct lwt_udp_probe *b = (const void *)(p + sizeof(struct lwt_frame_hdr));
	uint8_t m[16];
	uint64_t nonce, echo;
	char a[INET_ADDRSTRLEN];

	if (len != PLEN || (p[0] != LWT_FT_UDP_PROBE && p[0] != LWT_FT_UDP_ANSWER) || p[1] ||
	    p[2] || p[3] != sizeof(*b))
		goto bad;
	mac(u, p, m);
	if (!lwt_crypto_equal(m, b->mac, sizeof(m)) || b->pair_id != u->pair_id ||
	    b->role == e->role)
		goto bad;
	d->p2p->udp_probes_ok++;
	nonce = be64toh(b->nonce);
	echo = be64toh(b->echo);
	if (p[0] == LWT_FT_UDP_PROBE && b->kind == LWT_UDP_PROBE) {
		send_to(u, k, u->fd[k], addr, port, LWT_FT_UDP_ANSWER, LWT_UDP_PROBE, e->role,
			nonce_next(u), nonce);
		probe_back(u, k, addr, port, e->role);
	} else if (p[0] == LWT_FT_UDP_PROBE && b->kind == LWT_UDP_PICK) {
		if (e->role == LWT_P2P_RESPONDER && !u->handed)
			hand_over(d, e, k, addr, port, nonce);
	} else if (p[0] == LWT_FT_UDP_ANSWER && b->kind == LWT_UDP_PROBE) {
		if (e->role != LWT_P2P_INITIATOR || u->picked || echo >> 32 != u->salt ||
		    (uint32_t)echo > u->sent)
			return;
		u->picked = true;
		u->pick_k = k;
		u->pick_addr = addr;
		u->pick_port = port;
		u->pick_ns = lwt_now_ns();
		u->pick_nonce = nonce_next(u);
		send_to(u, k, u->fd[k], addr, port, LWT_FT_UDP_PROBE, LWT_UDP_PICK, e->role,
			u->pick_nonce, 0);
	} else if (p[0] == LWT_FT_UDP_ANSWER && b->kind == LWT_UDP_PICK) {
		if (e->role == LWT_P2P_INITIATOR && u->picked && !u->handed && echo == u->pick_nonce &&
		    k == u->pick_k && addr == u->pick_addr && port == u->pick_port)
			hand_over(d, e, k, addr, port, 0);
	}
	return;
bad:
	d->p2p->udp_probes_bad++;
	/* The first of a punch; the count when it ends (p2p_udp_end). */
	if (!u->bad++)
		lwt_log_rl(LWT_LOG_INFO, "peer %s: a UDP packet from %s:%u during the punch does not "
		   "authenticate; dropped", p2p_ip_s(e->tun_ip, a),
		   p2p_ip_s(addr, (char[INET_ADDRSTRLEN]){ 0 }), ntohs(port));
}

/* What came on the probe sockets, within the tick's read bound. */
static void read_probes(struct lwt_daemon *d, struct p2p_peer *e)
{
	struct epoll_event ev[64];
	uint8_t p[256];
	int budget = READS_PER_TICK, n;

	n = epoll_wait(e->udp->ep, ev, 64, 0);
	for (int i = 0; i < n && e->udp && !e->udp->handed; i++) {
		int k = (int)ev[i].data.u32, r;

		for (r = 0; r < READS_PER_SOCK; r++) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t len;

			if (!budget--) {
				d->p2p->udp_probe_budget_hits++;
				return;
			}
			len = recvfrom(e->udp->fd[k], p, sizeof(p), MSG_DONTWAIT | MSG_TRUNC,
				       (struct sockaddr *)&from, &fl);
			if (len < 0) {
				if (errno == ECONNREFUSED)
					continue;
				break;
			}
			input(d, e, k, p, (size_t)len, from.sin_addr.s_addr, from.sin_port);
			if (!e->udp || e->udp->handed)
				return;
		}
		if (r == READS_PER_SOCK)	/* the rest waits (or overflows) */
			d->p2p->udp_probe_budget_hits++;
	}
}

static void send_probes(struct lwt_daemon *d, struct p2p_peer *e, uint64_t now)
{
	struct p2p_udp *u = e->udp;

	(void)d;
	if (u->mode == U_EASY) {
		uint16_t r[PROBES_PER_TICK];

		if (now - u->start_ns < EASY_DELAY_NS || u->sprayed >= LWT_UDP_EASY_PROBES)
			return;
		lwt_crypto_random(r, sizeof(r));
		/* Ports 1024-65535: where a NAT maps from unprivileged ports. */
		for (int j = 0; j < PROBES_PER_TICK && u->sprayed < LWT_UDP_EASY_PROBES; j++, u->sprayed++)
			probe(u, 0, u->peer_addr, htons((uint16_t)(1024 + r[j] % (65536 - 1024))), e->role);
		return;
	}
	if (now < u->resend_ns)
		return;
	u->resend_ns = now + RESEND_NS;
	for (int k = 0; k < u->nsock; k++)
		probe(u, k, u->peer_addr, u->peer_port, e->role);
}

/* Time from t to now; t may be later than the tick's now (read since). */
static uint64_t since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

bool p2p_udp_tick(struct lwt_daemon *d, struct p2p_peer *e, uint64_t now)
{
	struct p2p_udp *u = e->udp;
	int i = p2p_slot_of(d, e), r;
	char why[80];

	if (e->state == P_WAIT) {
		if (now < e->start_ns || d->slots[i].c.phase != LWT_PH_FREE)
			return true;
		r = open_probes(d, u);
		if (r) {
			snprintf(why, sizeof(why), "couldn't open UDP probe sockets: %s", strerror(-r));
			close_probes(u);
			p2p_path_end(d, e, why, true);
			return true;
		}
		u->start_ns = e->phase_ns = now;
		e->state = P_PUNCH;
		send_probes(d, e, now);
		return true;
	}
	if (e->state != P_PUNCH)
		return false;
	if (u->handed) {
		/* The data plane says ESTABLISHED at once: p2p.c moves on. */
		if (since(now, u->pick_ns) > HELLO_NS)
			p2p_path_end(d, e, "the UDP path's socket never came up", true);
		return true;
	}
	read_probes(d, e);
	if (!e->udp || e->udp->handed || e->state != P_PUNCH)
		return true;
	if (u->picked) {
		if (since(now, u->pick_ns) > PICK_NS) {
			p2p_path_end(d, e, "the peer did not answer our PICK", true);
			return true;
		}
		send_to(u, u->pick_k, u->fd[u->pick_k], u->pick_addr, u->pick_port, LWT_FT_UDP_PROBE,
			LWT_UDP_PICK, e->role, u->pick_nonce, 0);
		return true;
	}
	if (now - u->start_ns > PUNCH_NS) {
		p2p_path_end(d, e, u->mode == U_PLAIN ? "no answer to UDP probes" :
			 "no answer to UDP probes (birthday)", true);
		return true;
	}
	send_probes(d, e, now);
	return true;
}
