// SPDX-License-Identifier: MIT
/* lwt-swarm: one process acting as N lwt clients, each from its own source
 * address, for the hub's scale tests and benchmarks (make bench, 89_swarm).
 *
 *   lwt-swarm -i IFACE -r SERVER:PORT -k KEY -n N -s SRC_NET/LEN -t TUN_IP/LEN
 *             [-j JOINS_PER_S] [--inflight K] [--idle S] [--active S]
 *             [--pps P] [--to hub|peers] [--size B] [--keepalive S]
 *             [--leave-rate L] [--rejoin-after S] [--reconnect-rate R]
 *             [--fec D/P] [--join-timeout S] [--tail S] [--churn-in PHASE]
 *             [--status FILE] [--no-close] [--p2p-req R]
 *
 * Every client is real on the wire: a fake-TCP three-way handshake from its
 * own address (user/faketcp.c builds and parses every segment, with the
 * server's SYN cookie in its ISN), the SPAKE2 handshake (user/handshake.c:
 * HELLO, HELLO_ACK verified, CONFIRM), then AES-GCM records under the
 * session keys with a replay window (keepalives both ways, inner IPv4
 * packets, the PEERS / ROUTE_UPDATE lists the server sends). Client i has
 * the i-th tunnel address from TUN_IP and an outer address in SRC_NET,
 * spread over its /24s (the hub caps half-open flows per /24 and per
 * source: consecutive joins come from different /24s).
 *
 * One AF_PACKET socket on IFACE sends and receives for all of them. SRC_NET
 * must be routed to this namespace by the hub's, and not be local here: the
 * kernel then drops the hub's segments after we have seen them, and never
 * answers them with a RST.
 *
 * Phases: join (N clients, at most JOINS_PER_S handshakes started a second
 * and K in flight, until all are up or --join-timeout), idle (--idle S:
 * keepalives only), active (--active S: each client sends P inner packets a
 * second, ICMP echo requests to the server's tunnel address or UDP to
 * other clients'), tail (--tail S, -1: until a signal; keepalives only:
 * what was in flight arrives), then every client sends CLOSE (unless
 * --no-close) and a JSON summary goes to stdout. A client's peers: the full
 * lists and changes the server sends, by tunnel address; "peers_complete"
 * counts the clients that know every other one once all are up.
 *
 * Churn in one phase (--churn-in, default tail): L clients a second leave
 * (CLOSE) and come back after --rejoin-after S (paced as joins); R a second
 * drop their flow silently and reconnect from a new port (the same client
 * id: the server probes the old session and hands it over). --status FILE:
 * the summary, rewritten every second, with the phase. SIGINT/SIGTERM end
 * the run (from any phase) as the end of the tail does.
 *
 * --p2p-req R: every client tells the hub it takes direct paths (P2P_HELLO,
 * fake TCP), and in the active phase client 0 asks the hub to coordinate a
 * punch (P2P_REQ) R times a second, to each other client in turn: a punch
 * flood from an authenticated client. The summary counts the requests and
 * the punch orders received, by the asker and by the others. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <openssl/crypto.h>

#include "crypto.h"
#include "faketcp.h"
#include "frame.h"
#include "handshake.h"
#include "log.h"
#include "replay.h"
#include "lwt/fec_wire.h"
#include "lwt/wire.h"

#define SEG_HDR (LWT_IP_HDR_LEN + LWT_TCP_DATA_HDR_LEN)
#define REC_HDR (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_record_hdr))
#define MSS 1460
#define SEG_MAX 2048
#define RX_MAX 65536			/* a GSO'd segment from the hub's raw path */
#define BATCH 64
#define TICK_NS 2000000ull		/* timer scan */
#define SYN_RTO_NS 1000000000ull	/* SYN resent after this, then doubled */
#define SYN_TRIES 5
#define HELLO_TIMEOUT_NS 5000000000ull	/* the server's CONFIRM wait, as long */
#define ACK_EVERY (64 * 1024)		/* pure ACK after this much received */
#define NS 1000000000ull

enum cstate { C_IDLE, C_SYN, C_HELLO, C_UP };
enum phase { P_JOIN, P_IDLE, P_ACTIVE, P_TAIL, P_DONE };
static const char *phase_name[] = { "join", "idle", "active", "tail", "done" };

struct client {
	uint32_t addr, tun_ip;		/* network order */
	uint16_t port;			/* host order, the current flow's */
	uint8_t st;			/* enum cstate */
	bool up_once, peers_ok, wants_close;
	bool heard;			/* a record of this session opened */
	uint16_t tries;
	uint32_t session_id;
	uint64_t client_id;
	uint64_t timer_ns;		/* SYN resend / HELLO timeout / keepalive / rejoin */
	uint64_t tx_next_ns;		/* next inner packet (active phase) */
	uint64_t tx_ctr;
	uint32_t nknown;		/* other swarm clients the server says are up */
	uint64_t *known;		/* ... as a bitmap by client index */
	struct lwt_ftcp_conn tcp;
	struct lwt_hs_client *hs;	/* between HELLO and HELLO_ACK */
	struct lwt_aead *tx, *rx;
	struct lwt_replay *replay;
};

static struct {
	const char *ifname, *status;
	uint32_t srv_addr;		/* network order */
	uint16_t srv_port;		/* host order */
	const char *key;
	int n;
	uint32_t src_net, src_len, tun_first, tun_len;
	double join_rate, pps, leave_rate, reconnect_rate, rejoin_after;
	int inflight;
	int churn_phase;		/* enum phase churn happens in */
	double idle_s, active_s, tail_s, join_timeout, keepalive_s;
	bool to_peers, no_close;
	double p2p_req;
	int size;
	int fec_data, fec_parity;
} opt = {
	.n = 1, .join_rate = 500, .inflight = 48, .keepalive_s = 5, .size = 100,
	.join_timeout = 120, .rejoin_after = 1, .fec_data = 10, .fec_parity = 0,
	.churn_phase = P_TAIL,
};

static struct {
	uint64_t syn_tx, syn_retx, synack_rx, hs_started, hs_ok, hs_failed, hs_timeouts,
		 rejects, rejects_by[16], rejects_after_confirm, resets_rx, closes_rx, rec_tx, rec_rx, rec_bad, rec_replay,
		 ip_tx, ip_rx, fec_rx, ka_tx, ka_rx, peers_msgs, peer_lists, route_msgs,
		 other_msgs, leaves, reconnects, pure_acks, seg_rx, seg_unknown, seg_bad,
		 seg_dropped, send_err, rx_bytes, tx_bytes, p2p_req_tx, punch_rx_asker,
		 punch_rx_others;
} st;
static uint64_t p2p_next_ns;
static int p2p_next_peer = 1;

static struct client *cl;
static struct lwt_psk_keys psk;
static int fd, ifindex, nb24;		/* /24s of SRC_NET the clients spread over */
static uint8_t dst_mac[ETH_ALEN];
static enum phase phase;
static uint64_t t_start, t_phase, t_all_up, phase_end;
static int n_up, n_inflight, next_join;
static volatile sig_atomic_t stop_req;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* --- transmit: a batch of frames for one sendmmsg ------------------------ */

static uint8_t txb[BATCH][SEG_MAX];
static struct iovec txv[BATCH];
static struct mmsghdr txm[BATCH];
static struct sockaddr_ll txa;
static int ntx;

static void tx_flush(void)
{
	int off = 0, r;

	while (off < ntx) {
		r = sendmmsg(fd, txm + off, ntx - off, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			st.send_err += ntx - off;
			break;
		}
		off += r;
	}
	ntx = 0;
}

static uint8_t *tx_buf(void)
{
	if (ntx == BATCH)
		tx_flush();
	return txb[ntx];
}

static void tx_commit(int len)
{
	if (len <= 0) {
		st.send_err++;
		return;
	}
	txv[ntx].iov_len = (size_t)len;
	st.tx_bytes += (uint64_t)len;
	ntx++;
}

/* --- one client ---------------------------------------------------------- */

static void client_reset(struct client *c)
{
	if (c->st == C_UP)
		n_up--;
	if (c->st == C_SYN || c->st == C_HELLO)
		n_inflight--;
	if (c->hs) {
		lwt_hs_client_clear(c->hs);
		free(c->hs);
		c->hs = NULL;
	}
	lwt_aead_destroy(c->tx);
	lwt_aead_destroy(c->rx);
	c->tx = c->rx = NULL;
	c->st = C_IDLE;
}

static void send_syn(struct client *c)
{
	tx_commit(lwt_ftcp_build_syn(&c->tcp, tx_buf(), SEG_MAX, MSS));
	st.syn_tx++;
}

static void client_start(struct client *c, uint64_t now)
{
	c->port = (uint16_t)(c->port >= 60000 ? 20000 : c->port + 1);
	lwt_ftcp_init(&c->tcp, c->addr, htons(c->port), opt.srv_addr, htons(opt.srv_port));
	c->tcp.state = LWT_FTCP_SYN_SENT;
	c->st = C_SYN;
	c->tries = 1;
	c->timer_ns = now + SYN_RTO_NS;
	n_inflight++;
	send_syn(c);
}

static void send_plain(struct client *c, const uint8_t *p, size_t len)
{
	uint8_t *b = tx_buf();

	memcpy(b + SEG_HDR, p, len);
	tx_commit(lwt_ftcp_build_data(&c->tcp, b, SEG_MAX, len));
}

/* Seal type + body (body_len bytes, already at its place when body is NULL)
 * into one record on one segment. */
static void send_record(struct client *c, uint8_t type, const void *body, size_t blen)
{
	size_t plen = REC_HDR + 1 + blen + LWT_TAG_LEN;
	uint8_t *b = tx_buf(), *f = b + SEG_HDR;
	struct lwt_record_hdr *rh = (struct lwt_record_hdr *)(f + sizeof(struct lwt_frame_hdr));

	if (SEG_HDR + plen > SEG_MAX || !lwt_ftcp_window_ok(&c->tcp, plen)) {
		st.seg_dropped++;
		return;
	}
	lwt_frame_put_hdr(f, LWT_FT_SEALED, plen - sizeof(struct lwt_frame_hdr));
	rh->session_id = htonl(c->session_id);
	rh->counter = htobe64(c->tx_ctr);
	f[REC_HDR] = type;
	if (body)
		memcpy(f + REC_HDR + 1, body, blen);
	if (lwt_aead_seal(c->tx, c->tx_ctr, f, REC_HDR, f + REC_HDR, 1 + blen)) {
		st.send_err++;
		return;
	}
	c->tx_ctr++;
	tx_commit(lwt_ftcp_build_data(&c->tcp, b, SEG_MAX, plen));
	st.rec_tx++;
}

static void send_keepalive(struct client *c, const struct lwt_keepalive *echo)
{
	struct lwt_keepalive ka = { 0 };

	ka.sent_ns = htobe64(now_ns());
	if (echo) {
		ka.echo_ns = echo->sent_ns;
		ka.is_reply = 1;
	}
	send_record(c, LWT_MSG_KEEPALIVE, &ka, sizeof(ka));
	st.ka_tx++;
}

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	return htons(lwt_ip_csum(p, n));
}

/* One inner IPv4 packet: an ICMP echo request to the server's tunnel
 * address, or a UDP datagram to a random other client that is up. */
static void send_inner(struct client *c, uint32_t srv_tun)
{
	uint8_t *b = tx_buf(), *f = b + SEG_HDR, *ip = f + REC_HDR + 1, *l4 = ip + 20;
	size_t len = (size_t)opt.size < 28 ? 28 : (size_t)opt.size;
	uint32_t dst = srv_tun;
	int i;

	if (opt.to_peers) {
		for (i = 0; i < 8; i++) {
			struct client *o = &cl[rnd() % (uint32_t)opt.n];

			if (o != c && o->st == C_UP) {
				dst = o->tun_ip;
				break;
			}
		}
		if (i == 8)
			return;
	}
	if (REC_HDR + 1 + len + LWT_TAG_LEN + SEG_HDR > SEG_MAX)
		len = SEG_MAX - SEG_HDR - REC_HDR - 1 - LWT_TAG_LEN;
	memset(ip, 0, len);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(len >> 8);
	ip[3] = (uint8_t)len;
	ip[6] = 0x40;			/* DF */
	ip[8] = 64;
	memcpy(ip + 12, &c->tun_ip, 4);
	memcpy(ip + 16, &dst, 4);
	if (opt.to_peers) {
		ip[9] = IPPROTO_UDP;
		l4[0] = 0x27; l4[1] = 0x0f;	/* 9999 -> 9 */
		l4[3] = 9;
		l4[4] = (uint8_t)((len - 20) >> 8);
		l4[5] = (uint8_t)(len - 20);
	} else {
		ip[9] = IPPROTO_ICMP;
		l4[0] = 8;
		l4[5] = (uint8_t)(c - cl);
		l4[7] = (uint8_t)c->tx_ctr;
		memcpy(l4 + 2, (uint16_t[]){ ip_csum(l4, len - 20) }, 2);
	}
	memcpy(ip + 10, (uint16_t[]){ ip_csum(ip, 20) }, 2);
	send_record(c, LWT_MSG_IP, NULL, len);
	st.ip_tx++;
}

static void client_up(struct client *c, const struct lwt_session_keys *k, uint32_t sid,
		      uint64_t now)
{
	c->tx = lwt_aead_create(k->c2s_key, k->c2s_iv);
	c->rx = lwt_aead_create(k->s2c_key, k->s2c_iv);
	if (!c->tx || !c->rx) {
		st.hs_failed++;
		client_reset(c);
		c->timer_ns = now + NS;
		return;
	}
	if (!c->replay && !(c->replay = malloc(sizeof(*c->replay)))) {
		st.hs_failed++;
		client_reset(c);
		c->timer_ns = now + NS;
		return;
	}
	lwt_replay_init(c->replay);
	c->session_id = sid;
	c->tx_ctr = 0;
	c->heard = false;
	n_inflight--;
	c->st = C_UP;
	n_up++;
	c->up_once = true;
	st.hs_ok++;
	/* As lwt's client: a keepalive at once (its RTT known from the
	 * start); the server takes the keys as proven from its first record. */
	send_keepalive(c, NULL);
	if (opt.p2p_req > 0) {
		struct lwt_p2p_hello h = { .lan_addr = c->addr, .lan_port = htons(c->port),
					   .flags = LWT_P2P_F_TCP };

		send_record(c, LWT_MSG_P2P_HELLO, &h, sizeof(h));
	}
	c->timer_ns = now + (uint64_t)(opt.keepalive_s * NS);
	c->tx_next_ns = now + rnd() % (opt.pps > 0 ? (uint64_t)(NS / opt.pps) : 1);
	if (n_up == opt.n && !t_all_up)
		t_all_up = now;
}

/* A handshake frame in the HELLO state. */
static void hs_frame(struct client *c, const struct lwt_frame *f, uint64_t now)
{
	struct lwt_hs_ack_info info;
	struct lwt_session_keys keys;
	uint8_t confirm[LWT_CONFIRM_FRAME_LEN];
	int r;

	/* A REJECT after our CONFIRM, before any record: the server's checks
	 * after cA (full, address taken meanwhile) refused us, as lwt's client
	 * takes it. */
	if (f->type == LWT_FT_REJECT && c->st == C_UP && !c->heard) {
		st.rejects_after_confirm++;
		st.hs_ok--;
	} else if (c->st != C_HELLO || !c->hs) {
		return;
	}
	if (f->type == LWT_FT_REJECT) {
		r = lwt_hs_reject_parse(f->frame, f->frame_len);
		st.rejects++;
		st.rejects_by[r > 0 && r < 16 ? r : 0]++;
		client_reset(c);
		c->timer_ns = now + NS / 2 + rnd() % (NS / 2);
		return;
	}
	if (f->type != LWT_FT_HELLO_ACK)
		return;
	r = lwt_hs_ack_verify(c->hs, f->frame, f->frame_len, &info, &keys, confirm);
	free(c->hs);
	c->hs = NULL;
	if (r && r != -EACCES) {
		st.hs_failed++;
		client_reset(c);
		c->timer_ns = now + NS;
		return;
	}
	send_plain(c, confirm, sizeof(confirm));
	if (r) {
		st.hs_failed++;
		client_reset(c);
		c->timer_ns = now + NS;
		return;
	}
	client_up(c, &keys, info.session_id, now);
	OPENSSL_cleanse(&keys, sizeof(keys));
}

static void known_set(struct client *c, uint32_t tun_ip, bool up)
{
	uint32_t j = ntohl(tun_ip) - opt.tun_first;
	uint64_t bit = 1ull << (j % 64), *w;

	if (j >= (uint32_t)opt.n || &cl[j] == c)
		return;
	w = &c->known[j / 64];
	if (up && !(*w & bit))
		c->nknown++;
	else if (!up && (*w & bit))
		c->nknown--;
	*w = up ? *w | bit : *w & ~bit;
}

/* PEERS: a full list (FIRST..LAST) replaces what the client knew; a list
 * of changes adds and removes. */
static void peers_msg(struct client *c, const uint8_t *m, size_t len)
{
	const struct lwt_peers_msg *h = (const struct lwt_peers_msg *)m;
	size_t words = ((size_t)opt.n + 63) / 64;
	int i;

	st.peers_msgs++;
	if (len < sizeof(*h) || len != sizeof(*h) + h->count * sizeof(h->e[0])) {
		st.rec_bad++;
		return;
	}
	if (!c->known && !(c->known = calloc(words, sizeof(*c->known)))) {
		st.rec_bad++;
		return;
	}
	if ((h->flags & LWT_PEERS_F_FULL) && (h->flags & LWT_PEERS_F_FIRST)) {
		memset(c->known, 0, words * sizeof(*c->known));
		c->nknown = 0;
	}
	for (i = 0; i < h->count; i++)
		known_set(c, h->e[i].tun_ip, h->e[i].op == LWT_PEER_UP);
	if ((h->flags & LWT_PEERS_F_FULL) && (h->flags & LWT_PEERS_F_LAST) && !c->peers_ok) {
		c->peers_ok = true;
		st.peer_lists++;
	}
}

/* A record on an up session: open, replay check, then by message type. */
static bool record_in(struct client *c, const struct lwt_frame *f)
{
	const struct lwt_record_hdr *rh;
	uint8_t *body;
	size_t blen;
	uint64_t ctr;

	if (c->st != C_UP || f->type != LWT_FT_SEALED ||
	    f->body_len < sizeof(*rh) + 1 + LWT_TAG_LEN) {
		st.rec_bad++;
		return false;
	}
	rh = (const struct lwt_record_hdr *)f->body;
	ctr = be64toh(rh->counter);
	if (ntohl(rh->session_id) != c->session_id || !lwt_replay_check(c->replay, ctr)) {
		st.rec_replay++;
		return false;
	}
	body = (uint8_t *)f->body + sizeof(*rh);
	blen = f->body_len - sizeof(*rh) - LWT_TAG_LEN;
	if (lwt_aead_open(c->rx, ctr, f->frame, REC_HDR, body, blen) ||
	    !lwt_replay_update(c->replay, ctr)) {
		st.rec_bad++;
		return false;
	}
	st.rec_rx++;
	c->heard = true;
	switch (body[0]) {
	case LWT_MSG_KEEPALIVE:
		st.ka_rx++;
		if (blen - 1 == sizeof(struct lwt_keepalive) &&
		    !((const struct lwt_keepalive *)(body + 1))->is_reply)
			send_keepalive(c, (const struct lwt_keepalive *)(body + 1));
		break;
	case LWT_MSG_IP:
		st.ip_rx++;
		break;
	case LWT_MSG_FEC:
		if (blen - 1 >= sizeof(struct lwt_fec_hdr) &&
		    !(((const struct lwt_fec_hdr *)(body + 1))->flags & LWT_FEC_F_PARITY))
			st.ip_rx++;
		else
			st.fec_rx++;
		break;
	case LWT_MSG_CLOSE:
		st.closes_rx++;
		c->wants_close = true;	/* acted on after the segment */
		break;
	case LWT_MSG_PEERS:
		peers_msg(c, body + 1, blen - 1);
		break;
	case LWT_MSG_P2P_PUNCH:
		if (c == cl)
			st.punch_rx_asker++;
		else
			st.punch_rx_others++;
		break;
	case LWT_MSG_ROUTE_RESULT:
	case LWT_MSG_ROUTE_UPDATE:
		st.route_msgs++;
		break;
	default:
		st.other_msgs++;
		break;
	}
	return true;
}

static int client_of(uint32_t daddr)
{
	uint32_t off = ntohl(daddr) - opt.src_net, net = off >> 8, host = off & 0xff;
	int i;

	if (off >> (32 - opt.src_len) || host == 0 || host == 255 || net >= (uint32_t)nb24)
		return -1;
	i = (int)((host - 1) * (uint32_t)nb24 + net);
	return i < opt.n && cl[i].addr == daddr ? i : -1;
}

static void segment_in(uint8_t *pkt, size_t len, uint64_t now)
{
	struct lwt_tcp_seg g;
	struct lwt_frame f;
	struct client *c;
	enum lwt_ftcp_verdict v;
	size_t off = 0;
	bool authed = false;
	int i;

	st.seg_rx++;
	st.rx_bytes += len;
	if (lwt_tcp_parse(pkt, len, len <= 1500, &g)) {
		st.seg_bad++;
		return;
	}
	i = client_of(g.daddr);
	if (i < 0 || g.saddr != opt.srv_addr || ntohs(g.sport) != opt.srv_port) {
		st.seg_unknown++;
		return;
	}
	c = &cl[i];
	if (c->st == C_IDLE || g.dport != c->tcp.lport) {
		st.seg_unknown++;	/* an old flow of ours */
		return;
	}
	v = lwt_ftcp_input(&c->tcp, &g);
	switch (v) {
	case LWT_FTCP_SEND_ACK:
		st.synack_rx++;
		tx_commit(lwt_ftcp_build_ack(&c->tcp, tx_buf(), SEG_MAX));
		c->hs = calloc(1, sizeof(*c->hs));
		if (!c->hs) {
			client_reset(c);
			c->timer_ns = now + NS;
			return;
		}
		{
			uint8_t hello[LWT_HELLO_FRAME_LEN];

			if (lwt_hs_hello_build(&psk, c->hs, wall_ms(), c->client_id, c->tun_ip,
					       (uint8_t)opt.tun_len, (uint8_t)opt.fec_data,
					       (uint8_t)opt.fec_parity, hello)) {
				st.hs_failed++;
				client_reset(c);
				c->timer_ns = now + NS;
				return;
			}
			send_plain(c, hello, sizeof(hello));
		}
		st.hs_started++;
		c->st = C_HELLO;
		c->timer_ns = now + HELLO_TIMEOUT_NS;
		return;
	case LWT_FTCP_CHALLENGE_ACK:
		tx_commit(lwt_ftcp_build_ack(&c->tcp, tx_buf(), SEG_MAX));
		return;
	case LWT_FTCP_RESET:
		st.resets_rx++;
		client_reset(c);
		c->timer_ns = now + NS / 2;
		return;
	case LWT_FTCP_OK:
		break;
	default:
		st.seg_dropped++;
		return;
	}
	if (!g.payload_len)
		return;
	while (lwt_frame_next(g.payload, g.payload_len, &off, &f) == 1) {
		if (f.type == LWT_FT_SEALED || f.type == LWT_FT_AUTHED)
			authed |= record_in(c, &f);
		else
			hs_frame(c, &f, now);
		if (c->st == C_IDLE)
			return;
	}
	if (c->st == C_UP && authed) {
		lwt_ftcp_commit(&c->tcp, &g);
		if (c->tcp.rcv_nxt - c->tcp.last_ack_sent >= ACK_EVERY) {
			tx_commit(lwt_ftcp_build_ack(&c->tcp, tx_buf(), SEG_MAX));
			st.pure_acks++;
		}
	} else if (c->st == C_UP || c->st == C_HELLO) {
		lwt_ftcp_commit(&c->tcp, &g);	/* the HELLO_ACK: nothing to open */
	}
	if (c->wants_close) {
		c->wants_close = false;
		client_reset(c);
		c->timer_ns = now + (uint64_t)(opt.rejoin_after * NS);
	}
}

/* --- timers, joins, churn ------------------------------------------------ */

/* --p2p-req: client 0 asks for punches to the others in turn. */
static void p2p_flood(uint64_t now)
{
	uint64_t gap = (uint64_t)(NS / opt.p2p_req);
	struct lwt_p2p_req r;
	int k;

	if (cl[0].st != C_UP || opt.n < 2)
		return;
	if (now > p2p_next_ns + NS / 10)
		p2p_next_ns = now;
	for (k = 0; k < 256 && p2p_next_ns <= now; k++) {
		r.peer_tun_ip = cl[p2p_next_peer].tun_ip;
		send_record(&cl[0], LWT_MSG_P2P_REQ, &r, sizeof(r));
		st.p2p_req_tx++;
		p2p_next_peer = p2p_next_peer + 1 < opt.n ? p2p_next_peer + 1 : 1;
		p2p_next_ns += gap ? gap : 1;
	}
}

static void client_timer(struct client *c, uint64_t now, uint32_t srv_tun)
{
	if (c == cl && phase == P_ACTIVE && opt.p2p_req > 0)
		p2p_flood(now);
	if (c->st == C_UP && phase == P_ACTIVE && opt.pps > 0) {
		uint64_t gap = (uint64_t)(NS / opt.pps);
		int k;

		if (now > c->tx_next_ns + NS / 10)
			c->tx_next_ns = now;	/* far behind: skip, no burst */
		for (k = 0; k < 256 && c->tx_next_ns <= now; k++) {
			send_inner(c, srv_tun);
			c->tx_next_ns += gap ? gap : 1;
		}
	}
	if (now < c->timer_ns)
		return;
	switch (c->st) {
	case C_SYN:
		if (c->tries >= SYN_TRIES) {
			st.hs_timeouts++;
			client_reset(c);
			c->timer_ns = now + NS;
			return;
		}
		c->tries++;
		c->tcp.snd_nxt = c->tcp.iss;
		send_syn(c);
		st.syn_retx++;
		c->timer_ns = now + (SYN_RTO_NS << (c->tries - 1));
		return;
	case C_HELLO:
		st.hs_timeouts++;
		client_reset(c);
		c->timer_ns = now + rnd() % NS;
		return;
	case C_UP:
		send_keepalive(c, NULL);
		c->timer_ns = now + (uint64_t)(opt.keepalive_s * NS);
		return;
	case C_IDLE:
		/* Rejoins after a leave, a failure or a churn: paced as joins. */
		return;
	}
}

static void leave(struct client *c, uint64_t now)
{
	send_record(c, LWT_MSG_CLOSE, NULL, 0);
	client_reset(c);
	c->timer_ns = now + (uint64_t)(opt.rejoin_after * NS);
	st.leaves++;
}

static void churn(uint64_t now, double dt)
{
	static double leave_acc, recon_acc;
	int i, k;

	leave_acc += opt.leave_rate * dt;
	recon_acc += opt.reconnect_rate * dt;
	for (; leave_acc >= 1; leave_acc--) {
		for (k = 0; k < 16; k++) {
			i = (int)(rnd() % (uint32_t)opt.n);
			if (cl[i].st == C_UP) {
				leave(&cl[i], now);
				break;
			}
		}
	}
	for (; recon_acc >= 1; recon_acc--) {
		for (k = 0; k < 16; k++) {
			i = (int)(rnd() % (uint32_t)opt.n);
			if (cl[i].st == C_UP) {
				/* The old flow is abandoned without a word. */
				client_reset(&cl[i]);
				cl[i].timer_ns = now;
				st.reconnects++;
				break;
			}
		}
	}
}

/* Start idle clients that are due, JOINS_PER_S at most, K in flight. */
static void joins(uint64_t now, double dt)
{
	static double tokens;
	int scanned;

	tokens += opt.join_rate * dt;
	if (tokens > opt.join_rate / 10 + 1)
		tokens = opt.join_rate / 10 + 1;
	for (scanned = 0; scanned < opt.n && tokens >= 1 && n_inflight < opt.inflight; scanned++) {
		struct client *c = &cl[next_join];

		next_join = (next_join + 1) % opt.n;
		if (c->st != C_IDLE || now < c->timer_ns)
			continue;
		client_start(c, now);
		tokens--;
	}
}

/* --- summary -------------------------------------------------------------- */

static void summary(FILE *o, uint64_t now)
{
	double el = (double)(now - t_start) / 1e9;
	double up_s = t_all_up ? (double)(t_all_up - t_start) / 1e9 : -1;
	int i, ever = 0, peers = 0, complete = 0;

	/* Complete: up, and knows every other client that is up (all of them
	 * once they are all up). */
	for (i = 0; i < opt.n; i++) {
		ever += cl[i].up_once;
		peers += cl[i].peers_ok;
		complete += cl[i].st == C_UP && n_up == opt.n && cl[i].nknown == (uint32_t)opt.n - 1;
	}
	fprintf(o, "{\"phase\": \"%s\", \"clients\": %d, \"up\": %d, \"ever_up\": %d, "
		"\"with_peer_list\": %d, \"peers_complete\": %d, \"elapsed_s\": %.3f, \"all_up_s\": %.3f, "
		"\"handshakes_per_s\": %.1f,\n",
		phase_name[phase], opt.n, n_up, ever, peers, complete, el, up_s,
		up_s > 0 ? (double)opt.n / up_s : 0.0);
	fprintf(o, " \"handshakes\": {\"syn_tx\": %" PRIu64 ", \"syn_retx\": %" PRIu64
		", \"synack_rx\": %" PRIu64 ", \"started\": %" PRIu64 ", \"ok\": %" PRIu64
		", \"failed\": %" PRIu64 ", \"timeouts\": %" PRIu64 ", \"rejects\": %" PRIu64
		", \"rejects_after_confirm\": %" PRIu64 ", \"rejects_full\": %" PRIu64
		", \"rejects_limit\": %" PRIu64 "},\n",
		st.syn_tx, st.syn_retx, st.synack_rx, st.hs_started, st.hs_ok, st.hs_failed,
		st.hs_timeouts, st.rejects, st.rejects_after_confirm, st.rejects_by[LWT_REJECT_FULL],
		st.rejects_by[LWT_REJECT_LIMIT]);
	fprintf(o, " \"records\": {\"tx\": %" PRIu64 ", \"rx\": %" PRIu64 ", \"bad\": %" PRIu64
		", \"replayed\": %" PRIu64 ", \"ip_tx\": %" PRIu64 ", \"ip_rx\": %" PRIu64
		", \"fec_parity_rx\": %" PRIu64 ", \"keepalive_tx\": %" PRIu64
		", \"keepalive_rx\": %" PRIu64 ", \"peers_msgs\": %" PRIu64
		", \"route_msgs\": %" PRIu64 ", \"other_msgs\": %" PRIu64 ", \"close_rx\": %" PRIu64
		"},\n", st.rec_tx, st.rec_rx, st.rec_bad, st.rec_replay, st.ip_tx, st.ip_rx,
		st.fec_rx, st.ka_tx, st.ka_rx, st.peers_msgs, st.route_msgs, st.other_msgs,
		st.closes_rx);
	fprintf(o, " \"churn\": {\"leaves\": %" PRIu64 ", \"reconnects\": %" PRIu64 "},\n",
		st.leaves, st.reconnects);
	fprintf(o, " \"p2p\": {\"requests_tx\": %" PRIu64 ", \"orders_rx_asker\": %" PRIu64
		", \"orders_rx_others\": %" PRIu64 "},\n", st.p2p_req_tx, st.punch_rx_asker,
		st.punch_rx_others);
	fprintf(o, " \"segments\": {\"rx\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
		", \"tx_bytes\": %" PRIu64 ", \"malformed\": %" PRIu64 ", \"unknown\": %" PRIu64
		", \"dropped\": %" PRIu64 ", \"rst_rx\": %" PRIu64 ", \"pure_acks\": %" PRIu64
		", \"send_errors\": %" PRIu64 "}}\n", st.seg_rx, st.rx_bytes, st.tx_bytes,
		st.seg_bad, st.seg_unknown, st.seg_dropped, st.resets_rx, st.pure_acks,
		st.send_err);
}

static void write_status(uint64_t now)
{
	char tmp[4096];
	FILE *o;

	if (!opt.status)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.status);
	o = fopen(tmp, "w");
	if (!o)
		return;
	summary(o, now);
	if (fclose(o) == 0)
		rename(tmp, opt.status);
}

/* --- set-up ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: lwt-swarm -i IFACE -r SERVER:PORT -k KEY -n N -s SRC_NET/LEN -t TUN_IP/LEN\n"
		"                 [-j JOINS_PER_S] [--inflight K] [--idle S] [--active S] [--pps P]\n"
		"                 [--to hub|peers] [--size BYTES] [--keepalive S] [--leave-rate L]\n"
		"                 [--rejoin-after S] [--reconnect-rate R] [--fec D/P]\n"
		"                 [--join-timeout S] [--tail S] [--churn-in idle|active|tail]\n"
		"                 [--status FILE] [--no-close] [--p2p-req R]\n");
	exit(2);
}

static bool parse_cidr(const char *s, uint32_t *net, uint32_t *len)
{
	char buf[64], *sl;
	struct in_addr a;
	long l;

	snprintf(buf, sizeof(buf), "%s", s);
	sl = strchr(buf, '/');
	if (!sl)
		return false;
	*sl = 0;
	l = strtol(sl + 1, NULL, 10);
	if (inet_pton(AF_INET, buf, &a) != 1 || l < 1 || l > 30)
		return false;
	*net = ntohl(a.s_addr);
	*len = (uint32_t)l;
	return true;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "inflight", 1, 0, 'K' }, { "idle", 1, 0, 'I' }, { "active", 1, 0, 'A' },
		{ "pps", 1, 0, 'P' }, { "to", 1, 0, 'T' }, { "size", 1, 0, 'B' },
		{ "keepalive", 1, 0, 'E' }, { "leave-rate", 1, 0, 'L' },
		{ "rejoin-after", 1, 0, 'W' }, { "reconnect-rate", 1, 0, 'R' },
		{ "fec", 1, 0, 'F' }, { "join-timeout", 1, 0, 'J' }, { "status", 1, 0, 'S' },
		{ "no-close", 0, 0, 'C' }, { "tail", 1, 0, 'X' },
		{ "churn-in", 1, 0, 'H' }, { "p2p-req", 1, 0, 'Q' }, { 0, 0, 0, 0 },
	};
	char *colon;
	int o;

	while ((o = getopt_long(argc, argv, "i:r:k:n:s:t:j:", lo, NULL)) != -1) {
		switch (o) {
		case 'i': opt.ifname = optarg; break;
		case 'r':
			colon = strrchr(optarg, ':');
			if (!colon)
				usage();
			*colon = 0;
			if (inet_pton(AF_INET, optarg, &opt.srv_addr) != 1)
				usage();
			opt.srv_port = (uint16_t)atoi(colon + 1);
			break;
		case 'k': opt.key = optarg; break;
		case 'n': opt.n = atoi(optarg); break;
		case 's':
			if (!parse_cidr(optarg, &opt.src_net, &opt.src_len) || opt.src_len > 24)
				usage();
			break;
		case 't':
			if (!parse_cidr(optarg, &opt.tun_first, &opt.tun_len))
				usage();
			break;
		case 'j': opt.join_rate = atof(optarg); break;
		case 'K': opt.inflight = atoi(optarg); break;
		case 'I': opt.idle_s = atof(optarg); break;
		case 'A': opt.active_s = atof(optarg); break;
		case 'P': opt.pps = atof(optarg); break;
		case 'T': opt.to_peers = !strcmp(optarg, "peers"); break;
		case 'B': opt.size = atoi(optarg); break;
		case 'E': opt.keepalive_s = atof(optarg); break;
		case 'L': opt.leave_rate = atof(optarg); break;
		case 'W': opt.rejoin_after = atof(optarg); break;
		case 'R': opt.reconnect_rate = atof(optarg); break;
		case 'F':
			if (sscanf(optarg, "%d/%d", &opt.fec_data, &opt.fec_parity) != 2)
				usage();
			break;
		case 'J': opt.join_timeout = atof(optarg); break;
		case 'S': opt.status = optarg; break;
		case 'C': opt.no_close = true; break;
		case 'X': opt.tail_s = atof(optarg); break;
		case 'Q': opt.p2p_req = atof(optarg); break;
		case 'H':
			for (o = P_IDLE; o < P_DONE && strcmp(optarg, phase_name[o]); o++)
				;
			if (o == P_DONE)
				usage();
			opt.churn_phase = o;
			break;
		default: usage();
		}
	}
	if (!opt.ifname || !opt.srv_addr || !opt.key || !opt.src_net || !opt.tun_first ||
	    opt.n < 1 || opt.join_rate <= 0 || opt.inflight < 1 || opt.keepalive_s <= 0)
		usage();
	nb24 = 1 << (24 - opt.src_len);
	if ((uint64_t)opt.n > (uint64_t)nb24 * 254) {
		fprintf(stderr, "lwt-swarm: %d clients do not fit in /%u (%d /24s of 254)\n", opt.n,
			opt.src_len, nb24);
		exit(2);
	}
	if ((uint64_t)opt.n + 2 > (1ull << (32 - opt.tun_len))) {
		fprintf(stderr, "lwt-swarm: %d tunnel addresses do not fit in /%u\n", opt.n,
			opt.tun_len);
		exit(2);
	}
}

/* The hub's MAC: the neighbour entry of SERVER on IFACE, after a datagram
 * to its discard port made the kernel resolve it. */
static int resolve_mac(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
	char want[INET_ADDRSTRLEN], line[256], ip[64], hw[64], dev[64];
	unsigned int m[6], flags;
	int s, i, j;

	sa.sin_addr.s_addr = opt.srv_addr;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s >= 0) {
		sendto(s, "", 0, 0, (struct sockaddr *)&sa, sizeof(sa));
		close(s);
	}
	inet_ntop(AF_INET, &opt.srv_addr, want, sizeof(want));
	for (i = 0; i < 50; i++) {
		FILE *f = fopen("/proc/net/arp", "r");

		if (!f)
			return -errno;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%63s %*s %x %63s %*s %63s", ip, &flags, hw, dev) != 4 ||
			    strcmp(ip, want) || strcmp(dev, opt.ifname) || !(flags & 2) ||
			    sscanf(hw, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
				   &m[5]) != 6)
				continue;
			for (j = 0; j < 6; j++)
				dst_mac[j] = (uint8_t)m[j];
			fclose(f);
			return 0;
		}
		fclose(f);
		usleep(100000);
	}
	return -EHOSTUNREACH;
}

static int open_socket(void)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	int one = 1, buf = 32 << 20, i;

	ifindex = (int)if_nametoindex(opt.ifname);
	if (!ifindex)
		return -ENODEV;
	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	if (fd < 0)
		return -errno;
	sll.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	/* Our own frames are not for us. */
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	txa = (struct sockaddr_ll){ .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				    .sll_ifindex = ifindex, .sll_halen = ETH_ALEN };
	memcpy(txa.sll_addr, dst_mac, ETH_ALEN);
	for (i = 0; i < BATCH; i++) {
		txv[i].iov_base = txb[i];
		txm[i].msg_hdr.msg_iov = &txv[i];
		txm[i].msg_hdr.msg_iovlen = 1;
		txm[i].msg_hdr.msg_name = &txa;
		txm[i].msg_hdr.msg_namelen = sizeof(txa);
	}
	return 0;
}

static int clients_init(void)
{
	int i;

	cl = calloc((size_t)opt.n, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	for (i = 0; i < opt.n; i++) {
		struct client *c = &cl[i];
		uint32_t net = (uint32_t)(i % nb24), host = (uint32_t)(i / nb24) + 1;

		c->addr = htonl(opt.src_net + (net << 8) + host);
		c->tun_ip = htonl(opt.tun_first + (uint32_t)i);
		c->port = (uint16_t)(20000 + rnd() % 20000);
		if (getrandom(&c->client_id, sizeof(c->client_id), 0) != sizeof(c->client_id))
			return -EIO;
	}
	return 0;
}

static void on_signal(int sig)
{
	stop_req = 1;
}

static void set_phase(enum phase p, uint64_t now)
{
	phase = p;
	t_phase = now;
	phase_end = p == P_IDLE ? now + (uint64_t)(opt.idle_s * NS) :
		    p == P_ACTIVE ? now + (uint64_t)(opt.active_s * NS) :
		    p == P_TAIL && opt.tail_s >= 0 ? now + (uint64_t)(opt.tail_s * NS) :
		    p == P_TAIL ? UINT64_MAX : 0;
	fprintf(stderr, "lwt-swarm: %.3f s: phase %s, %d of %d up\n",
		(double)(now - t_start) / 1e9, phase_name[p], n_up, opt.n);
	write_status(now);
}

static void rx_batch(uint64_t now)
{
	static uint8_t (*rxb)[RX_MAX];
	static struct iovec v[BATCH];
	static struct mmsghdr m[BATCH];
	int i, r;

	if (!rxb) {
		rxb = malloc(sizeof(*rxb) * BATCH);
		if (!rxb)
			return;
		for (i = 0; i < BATCH; i++) {
			v[i].iov_base = rxb[i];
			v[i].iov_len = RX_MAX;
			m[i].msg_hdr.msg_iov = &v[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
	}
	for (int rounds = 0; rounds < 16; rounds++) {
		r = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			return;
		for (i = 0; i < r; i++)
			segment_in(rxb[i], m[i].msg_len, now);
		tx_flush();
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t now, last_tick, last_status;
	uint32_t srv_tun;
	struct pollfd p;
	int i, r;

	parse_args(argc, argv);
	lwt_log_set_level(LWT_LOG_WARN);
	if (lwt_crypto_psk_derive(opt.key, &psk)) {
		fprintf(stderr, "lwt-swarm: couldn't derive the key\n");
		return 1;
	}
	if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng) || !rng)
		rng = 0x9e3779b97f4a7c15ull;
	r = resolve_mac();
	if (r) {
		fprintf(stderr, "lwt-swarm: couldn't resolve the MAC of the server on '%s': %s\n",
			opt.ifname, strerror(-r));
		return 1;
	}
	r = open_socket();
	if (r) {
		fprintf(stderr, "lwt-swarm: couldn't open an AF_PACKET socket on '%s': %s\n",
			opt.ifname, strerror(-r));
		return 1;
	}
	r = clients_init();
	if (r) {
		fprintf(stderr, "lwt-swarm: couldn't set up %d clients: %s\n", opt.n, strerror(-r));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* The server's tunnel address: the first of the subnet, as lwt's
	 * configs have it (-t 10.0.0.1/24). */
	srv_tun = htonl((opt.tun_first & ~((1u << (32 - opt.tun_len)) - 1)) + 1);
	t_start = last_tick = last_status = now_ns();
	set_phase(P_JOIN, t_start);
	p.fd = fd;
	p.events = POLLIN;
	while (phase != P_DONE) {
		now = now_ns();
		if (now - last_tick >= TICK_NS) {
			double dt = (double)(now - last_tick) / 1e9;

			last_tick = now;
			joins(now, dt);
			if (phase == (enum phase)opt.churn_phase)
				churn(now, dt);
			for (i = 0; i < opt.n; i++)
				client_timer(&cl[i], now, srv_tun);
			tx_flush();
			if (phase == P_JOIN && (n_up == opt.n ||
			    now - t_start >= (uint64_t)(opt.join_timeout * NS)))
				set_phase(P_IDLE, now);
			else if (phase == P_IDLE && now >= phase_end)
				set_phase(P_ACTIVE, now);
			else if (phase == P_ACTIVE && now >= phase_end)
				set_phase(P_TAIL, now);
			else if ((phase == P_TAIL && now >= phase_end) || stop_req)
				set_phase(P_DONE, now);
		}
		if (now - last_status >= NS) {
			last_status = now;
			write_status(now);
		}
		r = poll(&p, 1, 1);
		if (r > 0)
			rx_batch(now_ns());
	}
	now = now_ns();
	write_status(now);
	summary(stdout, now);
	fflush(stdout);
	if (!opt.no_close)
		for (i = 0; i < opt.n; i++)
			if (cl[i].st == C_UP)
				send_record(&cl[i], LWT_MSG_CLOSE, NULL, 0);
	tx_flush();
	for (i = 0; i < opt.n; i++) {
		client_reset(&cl[i]);
		free(cl[i].replay);
		free(cl[i].known);
	}
	free(cl);
	lwt_crypto_psk_clear(&psk);
	return 0;
}
