// SPDX-License-Identifier: MIT
/* The vnet TUN against the real kernel, in a network namespace of its own
 * (unshare(CLONE_NEWNET), gone when the process exits). The test plays the
 * far end of TCP connections by hand through the TUN:
 *  - read side: a local socket sends 256 KiB to the far end; the kernel must
 *    hand TSO super-packets (GSO_TCPV4, gso_size = the MSS we announced) and
 *    lwt_gso_split() must cut them into packets a reference checksum accepts;
 *  - write side: the far end's segments, coalesced by lwt_gro, go in as one
 *    write() of a GSO_TCPV4/NEEDS_CSUM super-packet, and a listening socket
 *    must receive every byte of them.
 * Skipped (not passed) without the privilege to make a namespace or TUN. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "testutil.h"
#include "gso.h"
#include "tun.h"

#define LOCAL 0x0a4d0001u	/* 10.77.0.1, ours on the TUN (host order) */
#define PEER 0x0a4d0002u	/* 10.77.0.2, the far end we play */
#define PEER_MSS 1400
#define PEER_ISN 0x70000000u
#define TIMEOUT_MS 10000

static bool netns_ok;
static int netns_errno;

struct env {
	struct lwt_tun tun;
	int sock, lsock, asock;
	struct lwt_gro *gro;
	uint8_t buf[LWT_GSO_READ_BUF];
};

/* --- checking against the reference checksum (testutil.h), a packet builder --- */

static bool ref_ok(const uint8_t *ip, size_t len)
{
	size_t ihl = (ip[0] & 15) * 4u;
	uint32_t ps = ref_sum(ip + 12, 8, 0) + ip[9] + (uint32_t)(len - ihl);

	return ref_fold(ref_sum(ip, ihl, 0)) == 0xffff &&
	       ref_fold(ref_sum(ip + ihl, len - ihl, ps)) == 0xffff;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) << 16 | rd16(p + 2); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, v >> 16); wr16(p + 2, v & 0xffff); }

static uint8_t pattern(size_t pos) { return (uint8_t)(pos * 7 + (pos >> 11)); }

struct tcp {
	uint32_t saddr, daddr;	/* host order */
	uint16_t sport, dport, id, win;
	uint32_t seq, ack;
	uint8_t flags;
	bool mss;		/* MSS option (SYN) */
	const uint8_t *data;
	size_t dlen;
};

static size_t mk_tcp(uint8_t *b, const struct tcp *t)
{
	size_t thl = t->mss ? 24 : 20, len = 20 + thl + t->dlen;
	uint8_t *th = b + 20;

	memset(b, 0, 20 + thl);
	b[0] = 0x45;
	wr16(b + 2, len);
	wr16(b + 4, t->id);
	b[6] = 0x40;
	b[8] = 64;
	b[9] = IPPROTO_TCP;
	wr32(b + 12, t->saddr);
	wr32(b + 16, t->daddr);
	wr16(b + 10, ~ref_fold(ref_sum(b, 20, 0)));
	wr16(th, t->sport);
	wr16(th + 2, t->dport);
	wr32(th + 4, t->seq);
	wr32(th + 8, t->ack);
	th[12] = (thl / 4) << 4;
	th[13] = t->flags;
	wr16(th + 14, t->win);
	if (t->mss) {
		th[20] = 2;
		th[21] = 4;
		wr16(th + 22, PEER_MSS);
	}
	if (t->dlen)
		memcpy(th + thl, t->data, t->dlen);
	wr16(th + 16, ~ref_fold(ref_sum(th, thl + t->dlen,
					ref_sum(b + 12, 8, 0) + IPPROTO_TCP + thl + t->dlen)));
	return len;
}

/* --- TUN I/O --- */

static void tun_send(struct env *e, const uint8_t *pkt, size_t len)
{
	uint8_t b[LWT_VNET_HDR_LEN + 2048] = { 0 };	/* GSO_NONE, flags 0 */

	memcpy(b + LWT_VNET_HDR_LEN, pkt, len);
	assert_int_equal(write(e->tun.fd, b, LWT_VNET_HDR_LEN + len), LWT_VNET_HDR_LEN + len);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for fd to be readable until the deadline; fails the test after it. */
static void wait_in(int fd, long long deadline, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long long left = deadline - now_ms();

	if (left <= 0 || poll(&p, 1, (int)left) <= 0)
		fail_msg("timed out waiting for %s", what);
}

struct seg_copy {
	uint8_t pkt[2048];
	size_t len;
	uint16_t dport;
	bool found;
};

static void find_seg(void *ctx, const uint8_t *p, size_t len)
{
	struct seg_copy *c = ctx;

	if (c->found || len < 40 || len > sizeof(c->pkt) || p[0] != 0x45 ||
	    p[9] != IPPROTO_TCP || rd16(p + 22) != c->dport)
		return;
	memcpy(c->pkt, p, len);
	c->len = len;
	c->found = true;
}

/* Read until a TCP packet for dport with all of flags comes out. */
static void tun_expect(struct env *e, uint16_t dport, uint8_t flags, struct seg_copy *c)
{
	long long deadline = now_ms() + TIMEOUT_MS;

	memset(c, 0, sizeof(*c));
	c->dport = dport;
	while (!c->found || (c->pkt[33] & flags) != flags) {
		struct virtio_net_hdr vh;
		ssize_t n;

		c->found = false;
		wait_in(e->tun.fd, deadline, "a TCP segment on the TUN");
		n = read(e->tun.fd, e->buf, sizeof(e->buf));
		if (n < LWT_VNET_HDR_LEN)
			continue;
		memcpy(&vh, e->buf, sizeof(vh));
		assert_true(lwt_gso_split(&vh, e->buf + LWT_VNET_HDR_LEN, n - LWT_VNET_HDR_LEN,
					  find_seg, c) > 0);
	}
	assert_true(ref_ok(c->pkt, c->len));
}

/* --- fixtures --- */

static int group_setup(void **state)
{
	netns_ok = unshare(CLONE_NEWNET) == 0;
	netns_errno = errno;
	return 0;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	e->tun.fd = e->sock = e->lsock = e->asock = -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (e->asock >= 0)
		close(e->asock);
	if (e->lsock >= 0)
		close(e->lsock);
	if (e->sock >= 0)
		close(e->sock);
	lwt_tun_destroy(&e->tun);
	lwt_gro_destroy(e->gro);
	free(e);
	return 0;
}

static void need_netns(void)
{
	if (!netns_ok) {
		print_message("SKIP: no network namespace of our own: unshare: %s (needs root)\n",
			      strerror(netns_errno));
		skip();
	}
}

static void tun_up(struct env *e, const char *name, unsigned int flags)
{
	int err = lwt_tun_create2(&e->tun, name, flags);

	if (err == -ENOENT || err == -ENODEV) {
		print_message("SKIP: no /dev/net/tun: %s\n", strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
	assert_int_equal(lwt_tun_configure(&e->tun, htonl(LOCAL), 24, 1500), 0);
}

/* --- tests --- */

struct rx {
	struct env *e;
	uint8_t *data;
	size_t total, nxt;	/* bytes wanted, contiguous bytes received */
	uint32_t isn;
	uint16_t sport;
	int gso_reads, max_segs, bad;
};

static void rx_seg(void *ctx, const uint8_t *p, size_t len)
{
	struct rx *r = ctx;
	size_t thl, plen, off;

	if (len < 40 || p[0] != 0x45 || p[9] != IPPROTO_TCP || rd16(p + 22) != 5001)
		return;
	thl = (p[32] >> 4) * 4u;
	plen = len - 20 - thl;
	off = rd32(p + 24) - r->isn - 1;
	if (!ref_ok(p, len) || plen > PEER_MSS || rd16(p + 2) != len) {
		r->bad++;
		return;
	}
	if (!plen || off > r->nxt || off + plen > r->total)
		return;
	memcpy(r->data + off, p + 20 + thl, plen);
	if (off + plen > r->nxt)
		r->nxt = off + plen;
}

static void rx_ack(struct rx *r)
{
	struct tcp t = {
		.saddr = PEER, .daddr = LOCAL, .sport = 5001, .dport = r->sport,
		.seq = PEER_ISN + 1, .ack = r->isn + 1 + (uint32_t)r->nxt,
		.flags = 0x10, .win = 65535,
	};
	uint8_t b[64];

	tun_send(r->e, b, mk_tcp(b, &t));
}

/* Drain the TUN: split every read, count the super-packets, ack once. */
static void rx_drain(struct rx *r)
{
	for (;;) {
		struct virtio_net_hdr vh;
		ssize_t n = read(r->e->tun.fd, r->e->buf, sizeof(r->e->buf));
		int segs;

		if (n < 0 && errno == EAGAIN)
			break;
		assert_true(n >= LWT_VNET_HDR_LEN);
		memcpy(&vh, r->e->buf, sizeof(vh));
		if (vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4) {
			r->gso_reads++;
			assert_int_equal(vh.gso_size, PEER_MSS);
		}
		segs = lwt_gso_split(&vh, r->e->buf + LWT_VNET_HDR_LEN, n - LWT_VNET_HDR_LEN,
				     rx_seg, r);
		assert_true(segs > 0);
		if (segs > r->max_segs)
			r->max_segs = segs;
	}
	rx_ack(r);
}

static void test_read_tso(void **state)
{
	struct env *e = *state;
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(5001),
				    .sin_addr.s_addr = htonl(PEER) };
	struct rx r = { .e = e, .total = 256 * 1024 };
	struct seg_copy syn;
	uint8_t *out, b[64];
	size_t sent = 0, i;
	long long deadline;

	need_netns();
	tun_up(e, "lwtv0", LWT_TUN_VNET);
	assert_true(e->tun.vnet);
	assert_int_equal(e->tun.vnet_hdr_len, 10);
	out = malloc(r.total);
	r.data = calloc(1, r.total);
	assert_true(out && r.data);
	for (i = 0; i < r.total; i++)
		out[i] = pattern(i);

	/* Handshake: the kernel's SYN, our SYN-ACK with MSS 1400. */
	e->sock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(e->sock >= 0);
	assert_true(connect(e->sock, (struct sockaddr *)&peer, sizeof(peer)) < 0 &&
		    errno == EINPROGRESS);
	tun_expect(e, 5001, 0x02, &syn);
	r.isn = rd32(syn.pkt + 24);
	r.sport = rd16(syn.pkt + 20);
	{
		struct tcp t = {
			.saddr = PEER, .daddr = LOCAL, .sport = 5001, .dport = r.sport,
			.seq = PEER_ISN, .ack = r.isn + 1, .flags = 0x12, .win = 65535,
			.mss = true,
		};

		tun_send(e, b, mk_tcp(b, &t));
	}

	/* Stream: send what the socket takes, ack what arrives in order. */
	deadline = now_ms() + TIMEOUT_MS;
	while (r.nxt < r.total) {
		struct pollfd p[2] = {
			{ .fd = e->tun.fd, .events = POLLIN },
			{ .fd = e->sock, .events = sent < r.total ? POLLOUT : 0 },
		};
		long long left = deadline - now_ms();

		if (left <= 0 || poll(p, 2, (int)left) <= 0)
			fail_msg("timed out: %zu of %zu bytes arrived", r.nxt, r.total);
		if (p[1].revents & POLLOUT) {
			ssize_t n = send(e->sock, out + sent, r.total - sent, MSG_DONTWAIT);

			if (n > 0)
				sent += n;
		}
		if (p[0].revents & POLLIN)
			rx_drain(&r);
	}
	print_message("read side: %d TSO reads, up to %d segments in one\n",
		      r.gso_reads, r.max_segs);
	assert_int_equal(r.bad, 0);
	assert_true(r.gso_reads > 0);
	assert_true(r.max_segs > 1);
	assert_memory_equal(r.data, out, r.total);
	free(out);
	free(r.data);
}

struct wr {
	struct env *e;
	int writes;
	size_t bytes;
	struct virtio_net_hdr first;
};

static void wr_emit(void *ctx, const uint8_t *buf, size_t len)
{
	struct wr *w = ctx;

	if (!w->writes)
		memcpy(&w->first, buf, sizeof(w->first));
	assert_int_equal(write(w->e->tun.fd, buf, len), len);
	w->writes++;
	w->bytes += len;
}

static void test_write_coalesced(void **state)
{
	struct env *e = *state;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(5002),
				  .sin_addr.s_addr = htonl(LOCAL) };
	struct lwt_gro *g;
	struct tcp t = {
		.saddr = PEER, .daddr = LOCAL, .sport = 40000, .dport = 5002, .id = 100,
		.seq = PEER_ISN, .flags = 0x02, .win = 65535, .mss = true,
	};
	struct wr w = { .e = e };
	struct seg_copy sa;
	uint8_t *data, *in, b[2048];
	size_t total, got = 0, i;
	int one = 1, nseg;
	long long deadline;

	need_netns();
	g = e->gro = lwt_gro_create();
	assert_non_null(g);
	tun_up(e, "lwtv1", LWT_TUN_VNET);
	e->lsock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(e->lsock >= 0);
	setsockopt(e->lsock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(e->lsock, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(listen(e->lsock, 1), 0);

	/* Handshake by hand: SYN, the kernel's SYN-ACK, ACK. */
	tun_send(e, b, mk_tcp(b, &t));
	tun_expect(e, 40000, 0x12, &sa);
	t.seq++;
	t.ack = rd32(sa.pkt + 24) + 1;
	t.flags = 0x10;
	t.mss = false;
	t.id++;
	tun_send(e, b, mk_tcp(b, &t));
	deadline = now_ms() + TIMEOUT_MS;
	wait_in(e->lsock, deadline, "the connection to be accepted");
	e->asock = accept(e->lsock, NULL, NULL);
	assert_true(e->asock >= 0);

	/* As many full segments as the window in its SYN-ACK takes. */
	nseg = rd16(sa.pkt + 34) / PEER_MSS;
	if (nseg > 40)
		nseg = 40;
	assert_true(nseg >= 2);
	total = (size_t)nseg * PEER_MSS;
	data = malloc(total);
	assert_non_null(data);
	for (i = 0; i < total; i++)
		data[i] = pattern(i);
	for (i = 0; i < (size_t)nseg; i++) {
		t.id++;
		t.flags = i + 1 == (size_t)nseg ? 0x18 : 0x10;
		t.data = data + i * PEER_MSS;
		t.dlen = PEER_MSS;
		assert_true(lwt_gro_add(g, b, mk_tcp(b, &t)) >= 0);
		t.seq += PEER_MSS;
	}
	assert_int_equal(lwt_gro_flush(g, wr_emit, &w), 1);
	assert_int_equal(w.writes, 1);
	assert_int_equal(w.bytes, LWT_VNET_HDR_LEN + 40 + total);
	assert_int_equal(w.first.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(w.first.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);

	/* Every byte reaches the socket, in order. */
	in = malloc(total);
	assert_non_null(in);
	while (got < total) {
		ssize_t n;

		wait_in(e->asock, deadline, "the coalesced data on the socket");
		n = recv(e->asock, in + got, total - got, 0);
		assert_true(n > 0);
		got += n;
	}
	assert_memory_equal(in, data, total);
	print_message("write side: %d segments in one %zu-byte write, all delivered\n",
		      nseg, w.bytes);
	free(in);
	free(data);
}

/* Plain lwt_tun_create() has no vnet header; a multi-queue vnet TUN opens
 * further queues that carry the header too. */
static void test_flags_and_queues(void **state)
{
	struct env *e = *state;
	struct lwt_tun other;
	struct ifreq ifr;
	int q;

	need_netns();
	assert_int_equal(lwt_tun_create(&e->tun, "lwtv2"), 0);
	assert_false(e->tun.vnet);
	assert_int_equal(e->tun.vnet_hdr_len, 0);
	assert_int_equal(ioctl(e->tun.fd, TUNGETIFF, &ifr), 0);
	assert_int_equal(ifr.ifr_flags & (IFF_VNET_HDR | IFF_MULTI_QUEUE), 0);
	assert_int_equal(lwt_tun_open_queue(&e->tun), -EINVAL);
	lwt_tun_destroy(&e->tun);

	tun_up(e, "lwtv3", LWT_TUN_VNET | LWT_TUN_MULTI_QUEUE);
	q = lwt_tun_open_queue(&e->tun);
	assert_true(q >= 0);
	memset(&ifr, 0, sizeof(ifr));
	assert_int_equal(ioctl(q, TUNGETIFF, &ifr), 0);
	close(q);
	assert_string_equal(ifr.ifr_name, "lwtv3");
	assert_int_equal(ifr.ifr_flags & (IFF_VNET_HDR | IFF_MULTI_QUEUE),
			 IFF_VNET_HDR | IFF_MULTI_QUEUE);
	assert_int_equal(lwt_tun_create2(&other, "lwtv4", 1 << 7), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_tso, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_coalesced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_and_queues, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
