// SPDX-License-Identifier: MIT
/* The hub's NAT probe answerer (natdetect.h, docs/PROTOCOL.md "NAT type
 * detection"). Control thread only.
 *
 * Sockets: [0] A1:P1 [1] A1:P2 [2] A2:P1 [3] A2:P2, where A1 is the listen
 * address (possibly 0.0.0.0: answers then leave from the address the probe
 * reached, through IP_PKTINFO), A2 nat_probe_addr (none: [2] and [3] are
 * -1), P1 nat_probe_port, P2 = P1 + 1. Socket index = side << 1 | port.
 *
 * Unauthenticated input costs a recvmmsg slot, the key-free checks, a hash
 * look-up and, for a known session id, one HMAC; nothing is logged for it
 * (counted; one rate-limited debug line) and nothing is kept. An answer
 * needs a valid MAC, a new seq (replay window per session), and budget:
 * per session LWT_NP_BURST answers then one per LWT_NP_EVERY_MS, at most
 * LWT_NP_GLOBAL_PER_S answers a second in all. An answer is exactly as
 * long as the request (struct lwt_natmsg both): no amplification.
 *
 * Over TCP (the mapping test, nattcp.c): a raw socket sees the SYNs to P1
 * and P2 (a socket filter lets nothing else up); one whose payload is a
 * request with LWT_NAT_OVER_TCP passes the same checks and budget and is
 * answered over the session it names (LWT_MSG_NAT_TCP), never on the wire:
 * a forged SYN from a spoofed source makes the hub send nothing to it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "faketcp.h"
#include "log.h"
#include "natdetect.h"
#include "natmsg.h"

#define LWT_NP_BURST 32			/* answers a session may have at once */
#define LWT_NP_EVERY_MS 100		/* ... then one per this */
#define LWT_NP_GLOBAL_PER_S 2000	/* answers a second, all sessions */
#define LWT_NP_BATCH 32			/* datagrams read per socket per wakeup */

struct np_sess {
	uint32_t sid;			/* 0: none */
	uint32_t gen;			/* the slot's gen when registered */
	uint8_t key[LWT_KEY_LEN];
	struct lwt_natmsg_window win;
	struct lwt_natmsg_window win_tcp;	/* TCP probes count on their own */
	uint64_t tat_ms;		/* answer budget (GCRA) */
};

struct lwt_natprobe {
	int fd[4];
	int tcp_fd;			/* raw TCP: SYNs to P1 and P2 */
	uint32_t a1, a2;		/* network order; a1 may be 0 (any) */
	uint16_t port[2];		/* host order: P1, P2 */
	int nslots;
	struct np_sess *sess;		/* per slot */
	uint32_t *hash;			/* session id -> slot + 1, linear probing */
	uint32_t hmask;
	uint64_t sec, sec_answers;	/* the global budget's second */
	uint64_t rx, answered, malformed, unauth, replayed, limited, no_alt, tx_errors;
	uint64_t tcp_rx, tcp_answered;
};

static uint32_t hslot(const struct lwt_natprobe *p, uint32_t sid)
{
	return (sid * 2654435761u) & p->hmask;
}

static void hash_del(struct lwt_natprobe *p, uint32_t sid, int slot)
{
	uint32_t i = hslot(p, sid), j, k;

	while (p->hash[i] && p->hash[i] != (uint32_t)slot + 1)
		i = (i + 1) & p->hmask;
	if (!p->hash[i])
		return;
	/* Backward-shift deletion: no tombstones, look-ups stay short. */
	p->hash[i] = 0;
	for (j = (i + 1) & p->hmask; p->hash[j]; j = (j + 1) & p->hmask) {
		k = hslot(p, p->sess[p->hash[j] - 1].sid);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			p->hash[i] = p->hash[j];
			p->hash[j] = 0;
			i = j;
		}
	}
}

static int hash_find(const struct lwt_natprobe *p, uint32_t sid)
{
	uint32_t i = hslot(p, sid);

	for (; p->hash[i]; i = (i + 1) & p->hmask)
		if (p->sess[p->hash[i] - 1].sid == sid)
			return (int)p->hash[i] - 1;
	return -1;
}

void lwt_natprobe_session(struct lwt_daemon *d, int slot, uint32_t session_id,
			  const struct lwt_session_keys *keys)
{
	struct lwt_natprobe *p = d->nat ? d->nat->probe : NULL;
	struct np_sess *e;
	uint32_t i;

	if (!p || slot < 0 || slot >= p->nslots || !session_id)
		return;
	e = &p->sess[slot];
	if (e->sid)
		hash_del(p, e->sid, slot);
	OPENSSL_cleanse(e, sizeof(*e));
	if (lwt_natmsg_key(keys, session_id, e->key))
		return;
	e->sid = session_id;
	e->gen = atomic_load_explicit(&d->slots[slot].gen, memory_order_relaxed);
	for (i = hslot(p, session_id); p->hash[i]; i = (i + 1) & p->hmask)
		;
	p->hash[i] = (uint32_t)slot + 1;
}

/* The slot still holds the session the key was made for: its handshake
 * (HELLO_ACK sent: only the holder of the password has the keys) or the
 * session it became. */
static bool sess_live(const struct lwt_daemon *d, const struct np_sess *e, int slot)
{
	const struct lwt_slot *s = &d->slots[slot];

	if (atomic_load_explicit(&s->gen, memory_order_relaxed) != e->gen)
		return false;
	if (s->c.phase == LWT_PH_UP)
		return s->c.session_id == e->sid;
	return s->c.phase == LWT_PH_HELLO && s->c.hs.acked && s->c.hs.ack.session_id == e->sid;
}

static bool budget(struct lwt_natprobe *p, struct np_sess *e, uint64_t now_ms)
{
	uint64_t tat = e->tat_ms > now_ms ? e->tat_ms : now_ms;

	if (now_ms / 1000 != p->sec) {
		p->sec = now_ms / 1000;
		p->sec_answers = 0;
	}
	if (p->sec_answers >= LWT_NP_GLOBAL_PER_S ||
	    tat + LWT_NP_EVERY_MS > now_ms + LWT_NP_BURST * LWT_NP_EVERY_MS)
		return false;
	e->tat_ms = tat + LWT_NP_EVERY_MS;
	p->sec_answers++;
	return true;
}

/* Send the answer from socket fi, leaving from address src (0: the
 * socket's own). */
static void send_from(struct lwt_natprobe *p, int fi, uint32_t src, const uint8_t *buf,
		      const struct sockaddr_in *to)
{
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = LWT_NATMSG_LEN };
	struct msghdr mh = { .msg_name = (void *)to, .msg_namelen = sizeof(*to),
			     .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (src) {
		struct in_pktinfo pi = { .ipi_spec_dst.s_addr = src };

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	if (sendmsg(p->fd[fi], &mh, MSG_DONTWAIT) != (ssize_t)LWT_NATMSG_LEN)
		p->tx_errors++;
	else
		p->answered++;
}

/* One datagram that reached socket fi at address dst from `from`. */
static void take(struct lwt_daemon *d, struct lwt_natprobe *p, int fi, const uint8_t *buf,
		 size_t len, const struct sockaddr_in *from, uint32_t dst, uint64_t now_ms)
{
	struct lwt_natmsg_info in, out;
	uint8_t ans[LWT_NATMSG_LEN];
	struct np_sess *e;
	int slot, side = fi >> 1, port = fi & 1;

	p->rx++;
	if (lwt_natmsg_parse(buf, len, &in) || in.type != LWT_NATMSG_REQUEST) {
		p->malformed++;
		lwt_log_rl(LWT_LOG_DEBUG, "NAT probe: malformed datagram (%zu bytes) from %s:%u", len,
			   inet_ntoa(from->sin_addr), ntohs(from->sin_port));
		return;
	}
	slot = hash_find(p, in.session_id);
	e = slot >= 0 ? &p->sess[slot] : NULL;
	if (!e || !sess_live(d, e, slot) || lwt_natmsg_verify(e->key, buf, len)) {
		p->unauth++;
		lwt_log_rl(LWT_LOG_DEBUG, "NAT probe: unauthenticated probe from %s:%u",
			   inet_ntoa(from->sin_addr), ntohs(from->sin_port));
		return;
	}
	if (!lwt_natmsg_window_check(&e->win, in.seq)) {
		p->replayed++;
		return;
	}
	if (in.flags & LWT_NAT_CHANGE_ADDR) {
		/* Only from the listen address to the other one. */
		if (side || p->fd[2] < 0) {
			p->no_alt++;
			return;
		}
		side = 1;
	}
	if (in.flags & LWT_NAT_CHANGE_PORT)
		port ^= 1;
	if (!budget(p, e, now_ms)) {
		p->limited++;
		return;
	}
	out = (struct lwt_natmsg_info){
		.type = LWT_NATMSG_ANSWER, .session_id = in.session_id, .seq = in.seq,
		.flags = in.flags | (port != (fi & 1) ? LWT_NAT_FROM_OTHER_PORT : 0) |
			 (side != fi >> 1 ? LWT_NAT_FROM_OTHER_ADDR : 0),
		.mapped_addr = from->sin_addr.s_addr, .mapped_port = ntohs(from->sin_port),
		.other_port = p->port[port ^ 1], .other_addr = p->a2,
	};
	if (lwt_natmsg_build(e->key, &out, ans))
		return;
	send_from(p, side << 1 | port, side ? p->a2 : (p->a1 ? p->a1 : dst), ans, from);
}

/* A SYN to a probe port, as the raw socket got it (IP header first). */
static void take_tcp(struct lwt_daemon *d, struct lwt_natprobe *p, const uint8_t *pkt, size_t len,
		     uint64_t now_ms)
{
	struct lwt_natmsg_info in, out;
	uint8_t ans[LWT_NATMSG_LEN];
	struct lwt_tcp_seg g;
	struct np_sess *e;
	uint16_t dport;
	int slot;

	p->tcp_rx++;
	if (lwt_tcp_parse(pkt, len, true, &g) || g.flags != LWT_TCP_SYN ||
	    lwt_natmsg_parse(g.payload, g.payload_len, &in) || in.type != LWT_NATMSG_REQUEST ||
	    in.flags != LWT_NAT_OVER_TCP) {
		p->malformed++;
		return;
	}
	dport = ntohs(g.dport);
	if ((dport != p->port[0] && dport != p->port[1]) ||
	    (p->a1 && g.daddr != p->a1 && !(p->a2 && g.daddr == p->a2 && dport == p->port[0]))) {
		p->malformed++;
		return;
	}
	slot = hash_find(p, in.session_id);
	e = slot >= 0 ? &p->sess[slot] : NULL;
	if (!e || !sess_live(d, e, slot) || d->slots[slot].c.phase != LWT_PH_UP ||
	    lwt_natmsg_verify(e->key, g.payload, g.payload_len)) {
		p->unauth++;
		lwt_log_rl(LWT_LOG_DEBUG, "NAT probe: unauthenticated TCP probe from %s:%u",
			   inet_ntoa((struct in_addr){ g.saddr }), ntohs(g.sport));
		return;
	}
	if (!lwt_natmsg_window_check(&e->win_tcp, in.seq)) {
		p->replayed++;
		return;
	}
	if (!budget(p, e, now_ms)) {
		p->limited++;
		return;
	}
	out = (struct lwt_natmsg_info){
		.type = LWT_NATMSG_ANSWER, .session_id = in.session_id, .seq = in.seq,
		.flags = LWT_NAT_OVER_TCP, .mapped_addr = g.saddr, .mapped_port = ntohs(g.sport),
		.other_port = dport == p->port[0] ? p->port[1] : p->port[0], .other_addr = p->a2,
	};
	if (lwt_natmsg_build(e->key, &out, ans))
		return;
	if (lwt_send_msg(d, slot, LWT_MSG_NAT_TCP, ans, sizeof(ans)))
		p->tx_errors++;
	else
		p->tcp_answered++;
}

static void handle_tcp(struct lwt_daemon *d, struct lwt_natprobe *p, uint64_t now_ms)
{
	uint8_t pkt[LWT_IP_HDR_LEN + 60 + LWT_NATMSG_LEN + 1];

	/* One batch per wakeup, as for UDP. */
	for (int i = 0; i < LWT_NP_BATCH; i++) {
		ssize_t r = recv(p->tcp_fd, pkt, sizeof(pkt), MSG_DONTWAIT | MSG_TRUNC);

		if (r < 0)
			break;
		take_tcp(d, p, pkt, (size_t)r > sizeof(pkt) ? sizeof(pkt) : (size_t)r, now_ms);
	}
}

void lwt_natprobe_handle(struct lwt_daemon *d, struct lwt_natprobe *p)
{
	uint8_t bufs[LWT_NP_BATCH][LWT_NATMSG_LEN + 1];
	char cbufs[LWT_NP_BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sockaddr_in from[LWT_NP_BATCH];
	struct mmsghdr mm[LWT_NP_BATCH];
	struct iovec iov[LWT_NP_BATCH];
	uint64_t now_ms = lwt_now_ns() / 1000000;
	int fi, i, n;

	for (fi = 0; fi < 4; fi++) {
		if (p->fd[fi] < 0)
			continue;
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < LWT_NP_BATCH; i++) {
			iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = sizeof(bufs[i]) };
			mm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
							 .msg_iov = &iov[i], .msg_iovlen = 1,
							 .msg_control = cbufs[i],
							 .msg_controllen = sizeof(cbufs[i]) };
		}
		/* One batch per socket per wakeup: a flood waits in (and
		 * overflows) the socket's buffer, the control loop goes on. */
		n = recvmmsg(p->fd[fi], mm, LWT_NP_BATCH, MSG_DONTWAIT, NULL);
		for (i = 0; i < n; i++) {
			struct msghdr *h = &mm[i].msg_hdr;
			struct cmsghdr *c;
			uint32_t dst = 0;

			for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c))
				if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pi;

					memcpy(&pi, CMSG_DATA(c), sizeof(pi));
					dst = pi.ipi_addr.s_addr;
				}
			if (h->msg_flags & MSG_TRUNC)
				mm[i].msg_len = sizeof(bufs[i]);	/* too long: malformed */
			take(d, p, fi, bufs[i], mm[i].msg_len, &from[i], dst, now_ms);
		}
	}
	if (p->tcp_fd >= 0)
		handle_tcp(d, p, now_ms);
}

/* A raw TCP socket that the kernel hands only SYNs (no ACK) to P1 or P2:
 * the data flows of a raw-socket data path never come up to it. */
static int open_tcp(const struct lwt_natprobe *p, int epfd, int *out)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),			/* fragment? */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 8, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),			/* x = IP header length */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),			/* destination port */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, p->port[0], 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, p->port[1], 0, 4),
		BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),			/* flags */
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),	/* SYN without ACK */
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP), e;

	if (fd < 0)
		return -errno;
	ev.data.fd = fd;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		e = -errno;
		close(fd);
		return e;
	}
	*out = fd;
	return 0;
}

static int open_udp(uint32_t addr, uint16_t port, int epfd, int *out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr,
				  .sin_port = htons(port) };
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The listen address may be 0.0.0.0 and nat_probe_addr one of the
	 * host's: both bound on the same port (the specific one wins). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(fd);
		return e;
	}
	ev.data.fd = fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int e = -errno;

		close(fd);
		return e;
	}
	*out = fd;
	return 0;
}

int lwt_natprobe_create(struct lwt_daemon *d, int epfd, struct lwt_natprobe **out)
{
	const struct lwt_config *c = &d->cfg;
	struct lwt_natprobe *p = calloc(1, sizeof(*p));
	uint32_t hs = 1;
	char a[INET_ADDRSTRLEN];
	int i, r = -ENOMEM;

	if (!p)
		return -ENOMEM;
	for (i = 0; i < 4; i++)
		p->fd[i] = -1;
	p->tcp_fd = -1;
	p->a1 = c->local.sin_addr.s_addr;
	p->a2 = c->nat_probe.sin_addr.s_addr;
	p->port[0] = c->nat_probe_port ? c->nat_probe_port : ntohs(c->local.sin_port) + 1;
	p->port[1] = p->port[0] + 1;
	p->nslots = d->nslots;
	while (hs < 2u * (uint32_t)d->nslots)
		hs <<= 1;
	p->hmask = hs - 1;
	p->sess = calloc(p->nslots, sizeof(*p->sess));
	p->hash = calloc(hs, sizeof(*p->hash));
	if (!p->sess || !p->hash)
		goto fail;
	for (i = 0; i < 4; i++) {
		uint32_t addr = i >> 1 ? p->a2 : p->a1;

		if (i >> 1 && !p->a2)
			break;
		r = open_udp(addr, p->port[i & 1], epfd, &p->fd[i]);
		if (r) {
			lwt_err("NAT detection: couldn't open the probe port UDP %s:%u: %s "
				"(set nat_probe_port, or enable_nat_detection false)",
				inet_ntop(AF_INET, &addr, a, sizeof(a)), p->port[i & 1], strerror(-r));
			goto fail;
		}
	}
	r = open_tcp(p, epfd, &p->tcp_fd);
	if (r)
		lwt_warn("NAT detection: no TCP probes (raw socket: %s); UDP only", strerror(-r));
	inet_ntop(AF_INET, &p->a1, a, sizeof(a));
	if (p->a2) {
		char b[INET_ADDRSTRLEN];

		lwt_info("NAT detection: answering probes on UDP %s and %s, ports %u and %u", a,
			 inet_ntop(AF_INET, &p->a2, b, sizeof(b)), p->port[0], p->port[1]);
	} else {
		lwt_info("NAT detection: answering probes on UDP %s ports %u and %u (no "
			 "nat_probe_addr: clients cannot tell every NAT kind apart)", a, p->port[0],
			 p->port[1]);
	}
	*out = p;
	return 0;
fail:
	lwt_natprobe_destroy(p);
	return r;
}

void lwt_natprobe_destroy(struct lwt_natprobe *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < 4; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
	if (p->tcp_fd >= 0)
		close(p->tcp_fd);
	if (p->sess) {
		OPENSSL_cleanse(p->sess, (size_t)p->nslots * sizeof(*p->sess));
		free(p->sess);
	}
	free(p->hash);
	free(p);
}

void *lwt_natprobe_json(const struct lwt_natprobe *p)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char s[INET_ADDRSTRLEN];

	if (!o)
		return NULL;
	a = cJSON_AddArrayToObject(o, "ports");
	cJSON_AddItemToArray(a, cJSON_CreateNumber(p->port[0]));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(p->port[1]));
	cJSON_AddStringToObject(o, "addr", inet_ntop(AF_INET, &p->a1, s, sizeof(s)));
	cJSON_AddStringToObject(o, "other_addr", p->a2 ? inet_ntop(AF_INET, &p->a2, s, sizeof(s)) : "");
	cJSON_AddNumberToObject(o, "rx", (double)p->rx);
	cJSON_AddNumberToObject(o, "answered", (double)p->answered);
	cJSON_AddNumberToObject(o, "malformed", (double)p->malformed);
	cJSON_AddNumberToObject(o, "unauthenticated", (double)p->unauth);
	cJSON_AddNumberToObject(o, "replayed", (double)p->replayed);
	cJSON_AddNumberToObject(o, "rate_limited", (double)p->limited);
	cJSON_AddNumberToObject(o, "no_other_addr", (double)p->no_alt);
	cJSON_AddNumberToObject(o, "tx_errors", (double)p->tx_errors);
	cJSON_AddNumberToObject(o, "tcp_rx", (double)p->tcp_rx);
	cJSON_AddNumberToObject(o, "tcp_answered", (double)p->tcp_answered);
	return o;
}
