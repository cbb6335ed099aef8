// SPDX-License-Identifier: MIT
/* AF_XDP data path: the XDP classifier (bpf/lwt_xdp.bpf.c) steers our
 * fake-TCP segments to one AF_XDP socket per RX queue; we hand their IPv4
 * packets to the data plane and send its packets through the TX ring of
 * queue 0's socket. One UMEM per queue: the first half of its frames cycles
 * through fill/RX, the second half through TX/completion. No syscall per
 * packet: the rings are shared memory, and the kernel is kicked only when
 * need_wakeup says so.
 *
 * Link headers: a packet to a peer goes out to the MAC the kernel's
 * neighbour table holds for its next hop (the peer, or the gateway of the
 * route to it), asked again every L2_REFRESH_NS. Never from a received
 * frame: anyone on the LAN can send one with the peer's source IP, and the
 * XDP program steers it to us before anything is authenticated. While the
 * table has no entry, the packet goes through an IPPROTO_RAW socket, so the
 * kernel routes it and resolves the neighbour itself (ARP).
 *
 * Flows (xsk_flows.c, with the link headers; the program and its pins:
 * xsk_prog.c): the server's listen port is in `config`; the XDP program drops
 * non-SYN segments to it from flows it does not know. The daemon does not
 * manage `flows` itself, so we learn them from what we send: a segment we
 * send to a peer (our SYN-ACK first) opens its flow in `flows`; a RST or FIN
 * we send closes it; a learned flow silent for too long ages out. The
 * client's flow from the filter is added as a static entry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "dp.h"
#include "log.h"
#include "netlink.h"
#include "rawsock6.h"
#include "lwt/xdp.h"
#include "lwt_xdp.skel.h"

#include "xsk_int.h"

/* --- receive ------------------------------------------------------------ */

/* Give the frames lent by the shard's last rx_batch back to their fill rings. */
static void rx_return(struct xskdp *x, struct xshard *h)
{
	int i;

	for (i = 0; i < h->nlent; i++) {
		struct xq *q = &x->q[h->lent[i].q];
		uint32_t idx;

		/* Never fails: the fill ring holds every RX frame. */
		if (xsk_ring_prod__reserve(&q->fq, 1, &idx) == 1) {
			*xsk_ring_prod__fill_addr(&q->fq, idx) = h->lent[i].addr;
			xsk_ring_prod__submit(&q->fq, 1);
		}
	}
	h->nlent = 0;
}

/* Link header length of an IPv4 or IPv6 frame, or 0. */
static uint32_t l2_len(const uint8_t *f, uint32_t len)
{
	uint32_t off = 12;
	int tags;

	for (tags = 0; tags <= 2; tags++) {
		uint16_t et;

		if (len < off + 2)
			return 0;
		et = (uint16_t)(f[off] << 8 | f[off + 1]);
		if (et == ETH_P_IP || et == ETH_P_IPV6)
			return off + 2 <= len ? off + 2 : 0;
		if (et != ETH_P_8021Q && et != ETH_P_8021AD)
			return 0;
		off += 4;
	}
	return 0;
}

static int rx_queue(struct xskdp *x, struct xshard *h, int qi, struct lwt_dp_pkt *pkts, int max)
{
	struct xq *q = &x->q[qi];
	uint32_t idx, i, n;
	int got = 0;

	n = xsk_ring_cons__peek(&q->rx, max, &idx);
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
		uint8_t *f = xsk_umem__get_data(q->area, d->addr);
		uint32_t len = d->len, l2;
		bool joined = false;

		h->lent[h->nlent].q = qi;
		h->lent[h->nlent].addr = xsk_umem__extract_addr(d->addr);
		h->nlent++;
		if (q->big && (q->big_len || (d->options & XDP_PKT_CONTD))) {
			/* Copy the chain into one buffer; its frames go back
			 * to the fill ring like any other. */
			if (!q->big_bad && q->big_len + len <= BIG_FRAME)
				memcpy(q->big + q->big_len, f, len);
			else
				q->big_bad = true;
			q->big_len += len;
			if (d->options & XDP_PKT_CONTD)
				continue;
			f = q->big;
			len = q->big_len;
			joined = !q->big_bad;
			q->big_len = 0;
			q->big_bad = false;
			if (!joined) {
				LWT_DP_ERR_ADD(&x->dp, rx_errors, 1);
				continue;
			}
		}
		l2 = l2_len(f, len);
		if (!l2 || len < l2 + 20) {
			LWT_DP_ERR_ADD(&x->dp, rx_errors, 1);
			continue;
		}
		pkts[got].data = f + l2;
		pkts[got].len = len - l2;
		got++;
		/* big is ours again at the next call, not before. */
		if (joined) {
			i++;
			break;
		}
	}
	if (i < n)
		xsk_ring_cons__cancel(&q->rx, n - i);
	if (i)
		xsk_ring_cons__release(&q->rx, i);
	return got;
}

static void fill_kick(struct xq *q)
{
	if (q->kick_always || xsk_ring_prod__needs_wakeup(&q->fq))
		recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

static int xsk_rx_batch(struct lwt_dp *dp, int shard, struct lwt_dp_pkt *pkts, int max)
{
	struct xskdp *x = X(dp);
	struct xshard *h;
	int i, mine, got = 0;

	if (shard < 0 || shard >= x->nshards)
		return 0;
	h = &x->sh[shard];
	rx_return(x, h);
	if (max > LWT_DP_BATCH)
		max = LWT_DP_BATCH;
	/* The shard's queues: shard, shard + nshards, ... */
	mine = (x->nq - shard + x->nshards - 1) / x->nshards;
	for (i = shard; i < x->nq; i += x->nshards)
		fill_kick(&x->q[i]);
	/* Start each batch at the next queue so no queue starves. */
	for (i = 0; i < mine && h->nlent < max; i++) {
		int qi = shard + ((h->rx_next + i) % mine) * x->nshards;

		got += rx_queue(x, h, qi, pkts + got, max - h->nlent);
	}
	h->rx_next = (h->rx_next + 1) % mine;
	if (shard == 0)
		xflows_age(x, now_ns());
	return got;
}

static int xsk_rx_fd(struct lwt_dp *dp, int shard)
{
	struct xskdp *x = X(dp);

	return shard >= 0 && shard < x->nshards ? x->sh[shard].epfd : -1;
}

/* --- transmit ----------------------------------------------------------- */

static void tx_reclaim(struct xq *q)
{
	uint32_t idx, i, n = xsk_ring_cons__peek(&q->cq, q->ntx, &idx);

	for (i = 0; i < n; i++)
		q->tx_free[q->ntx_free++] = *xsk_ring_cons__comp_addr(&q->cq, idx + i);
	if (n)
		xsk_ring_cons__release(&q->cq, n);
}

/* Copy mode sends at most a few dozen descriptors per sendto and says
 * EAGAIN while more are queued or the completion ring is full. */
static int tx_kick(struct xq *q)
{
	int tries;

	if (!q->kick_always && !xsk_ring_prod__needs_wakeup(&q->tx))
		return 0;
	for (tries = 0; tries < 8; tries++) {
		if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return 0;
		if (errno != EAGAIN && errno != EBUSY && errno != EINTR)
			return -errno;
		tx_reclaim(q);
	}
	return 0;
}

/* The kernel's path, for a peer whose link header we do not know yet. */
static int tx_raw(struct xskdp *x, const struct lwt_dp_pkt *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	/* IPv6: the kernel's path, as for IPv4 (rawsock6.c's socket). */
	if (p->data[0] >> 4 == 6) {
		if (x->raw6_fd < 0)
			return -EAFNOSUPPORT;
		return lwt_rs6_send(x->raw6_fd, p, 1) == 1 ? 0 : -EIO;
	}

	memcpy(&sa.sin_addr, p->data + 16, 4);
	if (sendto(x->raw_fd, p->data, p->len, MSG_DONTWAIT, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* Put m built frames on the TX ring and kick. The ring holds every TX frame,
 * so the reservation cannot fail. */
static int tx_flush(struct xskdp *x, struct xq *q, const struct xdp_desc *descs, int m)
{
	uint32_t idx;
	int i, err;

	if (xsk_ring_prod__reserve(&q->tx, m, &idx) != (uint32_t)m) {
		for (i = 0; i < m; i++)
			q->tx_free[q->ntx_free++] = descs[i].addr;
		LWT_DP_ERR_ADD(&x->dp, tx_errors, m);
		return -ENOBUFS;
	}
	for (i = 0; i < m; i++)
		*xsk_ring_prod__tx_desc(&q->tx, idx + i) = descs[i];
	xsk_ring_prod__submit(&q->tx, m);
	err = tx_kick(q);
	if (err) {
		LWT_DP_ERR_ADD(&x->dp, tx_errors, m);
		return err;
	}
	return m;
}

/* Fill one TX frame with bytes [off, off + XSK_FRAME_SIZE) of the frame
 * link header || packet (len bytes in all); all but the last of a chain say
 * XDP_PKT_CONTD. */
static void tx_put(struct xq *q, struct xdp_desc *dsc, const struct l2peer *l2,
		   const struct lwt_dp_pkt *p, uint32_t off, uint32_t len)
{
	uint32_t n = len - off < XSK_FRAME_SIZE ? len - off : XSK_FRAME_SIZE, h = 0;
	uint8_t *f;

	dsc->addr = q->tx_free[--q->ntx_free];
	dsc->len = n;
	dsc->options = off + n < len ? XDP_PKT_CONTD : 0;
	f = xsk_umem__get_data(q->area, dsc->addr);
	if (off == 0) {
		memcpy(f, l2->hdr, l2->hlen);
		h = l2->hlen;
	}
	memcpy(f + h, p->data + off + h - l2->hlen, n - h);
}

static int xsk_tx_batch(struct lwt_dp *dp, int shard, const struct lwt_dp_pkt *pkts, int n)
{
	struct xskdp *x = X(dp);
	struct xshard *h;
	struct xq *q;
	struct xdp_desc descs[LWT_DP_BATCH];
	uint64_t now = now_ns();
	int i, r, m = 0, npkt = 0, sent = 0, err = 0;

	if (shard < 0 || shard >= x->nshards) {
		LWT_DP_ERR_ADD(dp, tx_errors, n);
		return -EINVAL;
	}
	h = &x->sh[shard];
	q = &x->q[h->txq];
	tx_reclaim(q);
	if (shard == 0)
		xflows_age(x, now);
	for (i = 0; i < n; i++) {
		const struct lwt_dp_pkt *p = &pkts[i];
		const struct l2peer *l2;
		uint32_t need, off, len;

		if (p->len < 20) {
			LWT_DP_ERR_ADD(dp, tx_errors, 1);
			continue;
		}
		if (!p->no_learn)
			xflow_learn(x, h, p->data, p->len, now);
		l2 = xl2_for(x, h, p->data, now);
		if (!l2) {
			r = tx_raw(x, p);
			if (r) {
				LWT_DP_ERR_ADD(dp, tx_errors, 1);
				err = r;
			} else {
				sent++;
			}
			continue;
		}
		/* A frame larger than a UMEM frame (a jumbo MTU) leaves as a
		 * chain of descriptors, on a socket bound with XDP_USE_SG
		 * (lwt_xsk_create refuses the path for such an MTU without). */
		len = l2->hlen + p->len;
		need = (len + XSK_FRAME_SIZE - 1) / XSK_FRAME_SIZE;
		if ((need > 1 && !q->big) || need > LWT_DP_BATCH || q->ntx_free < need) {
			LWT_DP_ERR_ADD(dp, tx_errors, 1);
			err = -ENOBUFS;
			continue;
		}
		if (m + (int)need > LWT_DP_BATCH) {
			r = tx_flush(x, q, descs, m);
			sent += r > 0 ? npkt : 0;
			err = r < 0 ? r : err;
			m = npkt = 0;
		}
		for (off = 0; off < len; off += XSK_FRAME_SIZE, m++)
			tx_put(q, &descs[m], l2, p, off, len);
		npkt++;
	}
	if (m) {
		r = tx_flush(x, q, descs, m);
		sent += r > 0 ? npkt : 0;
		err = r < 0 ? r : err;
	}
	return sent || !err ? sent : err;
}

/* --- setup -------------------------------------------------------------- */

static int link_info(struct xskdp *x, char *why, size_t wl)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", x->ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		snprintf(why, wl, "couldn't read the address of '%s': %s", x->ifname,
			 strerror(errno));
		goto out;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		err = -EOPNOTSUPP;
		snprintf(why, wl, "'%s' is not an Ethernet device", x->ifname);
		goto out;
	}
	memcpy(x->mac, ifr.ifr_hwaddr.sa_data, 6);
	/* Devices without ETHTOOL_GCHANNELS have one queue as far as we know. */
	ifr.ifr_data = (void *)&ch;
	x->nq = 1;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ch.rx_count + ch.combined_count > 0)
		x->nq = ch.rx_count + ch.combined_count;
	if (x->nq > LWT_XDP_MAX_QUEUES)
		x->nq = LWT_XDP_MAX_QUEUES;
out:
	close(fd);
	return err;
}

/* A socket a killed run had on this queue is released by deferred kernel
 * work; until then the queue reads as busy. Give it a second. */
static int sock_create(struct xskdp *x, int qi, struct xq *q, const struct xsk_socket_config *sc)
{
	int err, tries;

	for (tries = 0; tries < 20; tries++) {
		err = xsk_socket__create(&q->xsk, x->ifname, qi, q->umem, &q->rx, &q->tx, sc);
		if (err != -EBUSY)
			break;
		usleep(50 * 1000);
	}
	return err;
}

static int queue_open(struct xskdp *x, int qi, char *why, size_t wl)
{
	struct xq *q = &x->q[qi];
	uint32_t frames = x->frames;
	struct xsk_umem_config uc = {
		.fill_size = frames / 2,
		.comp_size = frames / 2,
		.frame_size = XSK_FRAME_SIZE,
		.frame_headroom = 0,
	};
	struct xsk_socket_config sc = {
		.rx_size = frames / 2,
		.tx_size = frames / 2,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP | XDP_USE_SG,
	};
	size_t sz = (size_t)frames * XSK_FRAME_SIZE;
	uint32_t idx, i;
	int err;

	q->nrx = q->ntx = frames / 2;
	q->area = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->area == MAP_FAILED) {
		q->area = NULL;
		snprintf(why, wl, "couldn't allocate the UMEM of queue %d: %s", qi, strerror(errno));
		return -ENOMEM;
	}
	err = xsk_umem__create(&q->umem, q->area, sz, &q->fq, &q->cq, &uc);
	if (err) {
		snprintf(why, wl, "couldn't create the UMEM of queue %d: %s", qi, strerror(-err));
		return err;
	}
	err = sock_create(x, qi, q, &sc);
	if (err == -EINVAL || err == -EOPNOTSUPP) {
		/* Kernels before multi-buffer AF_XDP: frames up to 4 KB. */
		sc.bind_flags = XDP_USE_NEED_WAKEUP;
		err = sock_create(x, qi, q, &sc);
	} else if (!err) {
		q->big = malloc(BIG_FRAME);
		if (!q->big) {
			snprintf(why, wl, "out of memory for queue %d", qi);
			return -ENOMEM;
		}
	}
	if (err == -EINVAL) {
		/* Kernels before need_wakeup: kick on every batch instead. */
		sc.bind_flags = 0;
		q->kick_always = 1;
		err = sock_create(x, qi, q, &sc);
	}
	if (err) {
		snprintf(why, wl, "couldn't create an AF_XDP socket on '%s' queue %d: %s",
			 x->ifname, qi, strerror(-err));
		return err;
	}
	q->fd = xsk_socket__fd(q->xsk);
	err = xsk_socket__update_xskmap(q->xsk, bpf_map__fd(x->skel->maps.xsks));
	if (err) {
		snprintf(why, wl, "couldn't insert the socket of queue %d into '%s': %s", qi,
			 LWT_XDP_MAP_XSKS, strerror(-err));
		return err;
	}
	if (xsk_ring_prod__reserve(&q->fq, q->nrx, &idx) != q->nrx) {
		snprintf(why, wl, "couldn't fill the fill ring of queue %d", qi);
		return -ENOBUFS;
	}
	for (i = 0; i < q->nrx; i++)
		*xsk_ring_prod__fill_addr(&q->fq, idx + i) = (uint64_t)i * XSK_FRAME_SIZE;
	xsk_ring_prod__submit(&q->fq, q->nrx);
	for (i = 0; i < q->ntx; i++)
		q->tx_free[i] = (uint64_t)(q->nrx + i) * XSK_FRAME_SIZE;
	q->ntx_free = q->ntx;
	return 0;
}

static void queue_close(struct xq *q)
{
	if (q->xsk)
		xsk_socket__delete(q->xsk);
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (q->area)
		munmap(q->area, (size_t)(q->nrx + q->ntx) * XSK_FRAME_SIZE);
	free(q->big);
	memset(q, 0, sizeof(*q));
}


/* --- lifecycle ------------------------------------------------------------ */

static void xsk_destroy(struct lwt_dp *dp)
{
	struct xskdp *x = X(dp);
	int i;

	if (!dp)
		return;
	if (x->skel)
		xprog_detach(x);
	for (i = 0; x->q && i < x->nq; i++)
		queue_close(&x->q[i]);
	free(x->q);
	for (i = 0; x->sh && i < x->nshards; i++)
		if (x->sh[i].epfd >= 0)
			close(x->sh[i].epfd);
	free(x->sh);
	if (x->skel)
		xprog_unpin(x);
	lwt_xdp_bpf__destroy(x->skel);
	if (x->raw_fd >= 0)
		close(x->raw_fd);
	if (x->raw6_fd >= 0)
		close(x->raw6_fd);
	free(x);
}

static int xsk_peer_stats(struct lwt_dp *dp, const struct lwt_addr *addr, uint16_t port,
			  const void *st)
{
	struct lwt_xdp_peer_key k = { .port = port };
	struct bpf_map *m = X(dp)->skel->maps.peers;

	memcpy(&k.addr, addr->b, sizeof(k.addr));	/* both v4-mapped */
	if (!st)
		return bpf_map__delete_elem(m, &k, sizeof(k), 0) ? -errno : 0;
	return bpf_map__update_elem(m, &k, sizeof(k), st, sizeof(struct lwt_xdp_peer_stats), 0) ?
	       -errno : 0;
}

/* stats is a per-CPU array of one struct of __u64 counters. */
static int xsk_xdp_stats(struct lwt_dp *dp, void *out)
{
	enum { N = sizeof(struct lwt_xdp_stats) / sizeof(__u64) };
	int ncpu = libbpf_num_possible_cpus(), c, i;
	__u64 *v, *sum = out;
	__u32 zero = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(struct lwt_xdp_stats));
	if (!v)
		return -ENOMEM;
	if (bpf_map__lookup_elem(X(dp)->skel->maps.stats, &zero, sizeof(zero), v,
				 ncpu * sizeof(struct lwt_xdp_stats), 0)) {
		int err = -errno;

		free(v);
		return err;
	}
	memset(sum, 0, sizeof(struct lwt_xdp_stats));
	for (c = 0; c < ncpu; c++)
		for (i = 0; i < N; i++)
			sum[i] += v[c * N + i];
	free(v);
	return 0;
}

/* A learned flow's slot was freed: the program stops steering it now, not
 * when it has aged out. */
static void xsk_flow_drop(struct lwt_dp *dp, int shard, const struct lwt_addr *laddr,
			  uint16_t lport, const struct lwt_addr *raddr, uint16_t rport)
{
	struct xskdp *x = (struct xskdp *)dp;
	struct lwt_xdp_flow_key k = { .lport = lport, .rport = rport };
	struct lwt_xdp_flow v;

	if (shard < 0 || shard >= x->nshards)
		return;
	memcpy(&k.raddr, raddr->b, sizeof(k.raddr));
	memcpy(&k.laddr, laddr->b, sizeof(k.laddr));
	if (!bpf_map__lookup_elem(x->skel->maps.flows, &k, sizeof(k), &v, sizeof(v), 0) &&
	    (v.flags & LWT_XDP_FL_LEARNED))
		bpf_map__delete_elem(x->skel->maps.flows, &k, sizeof(k), 0);
	xflow_forget(&x->sh[shard], &k);
}

static const struct lwt_dp_ops xsk_ops = {
	.name = "af-xdp",
	.flow_drop = xsk_flow_drop,
	.peer_stats = xsk_peer_stats,
	.xdp_stats = xsk_xdp_stats,
	.rx_batch = xsk_rx_batch,
	.tx_batch = xsk_tx_batch,
	.rx_fd = xsk_rx_fd,
	.set_filter = xflow_set_filter,
	.destroy = xsk_destroy,
};

static int sockets_open(struct xskdp *x, char *why, size_t wl)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int i, err;

	x->q = calloc(x->nq, sizeof(*x->q));
	x->sh = calloc(x->nshards, sizeof(*x->sh));
	for (i = 0; x->sh && i < x->nshards; i++)
		x->sh[i].epfd = -1;
	if (!x->q || !x->sh) {
		snprintf(why, wl, "out of memory for %d AF_XDP queues", x->nq);
		return -ENOMEM;
	}
	for (i = 0; i < x->nshards; i++) {
		x->sh[i].txq = i;
		x->sh[i].epfd = epoll_create1(EPOLL_CLOEXEC);
		if (x->sh[i].epfd < 0) {
			snprintf(why, wl, "epoll_create1: %s", strerror(errno));
			return -errno;
		}
	}
	for (i = 0; i < x->nq; i++) {
		err = queue_open(x, i, why, wl);
		if (err)
			return err;
		ev.data.u32 = i;
		if (epoll_ctl(x->sh[i % x->nshards].epfd, EPOLL_CTL_ADD, x->q[i].fd, &ev)) {
			snprintf(why, wl, "epoll_ctl: %s", strerror(errno));
			return -errno;
		}
	}
	x->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (x->raw_fd < 0) {
		snprintf(why, wl, "couldn't open raw IP socket: %s", strerror(errno));
		return -errno;
	}
	/* Now, while the privilege to open one is still ours (privs.c). */
	if (x->filter.v6 || x->filter.listen6) {
		x->raw6_fd = lwt_rs6_open_tx();
		if (x->raw6_fd < 0) {
			snprintf(why, wl, "couldn't open raw IPv6 socket: %s", strerror(-x->raw6_fd));
			return x->raw6_fd;
		}
	}
	return 0;
}

int lwt_xsk_create(struct lwt_dp **out, const struct lwt_dp_filter *f, const char *ifname,
		   int mode, const char *pin_dir, char *why, size_t whylen)
{
	struct xskdp *x;
	int err;

	if (mode < LWT_XSK_MODE_AUTO || mode > LWT_XSK_MODE_GENERIC) {
		snprintf(why, whylen, "unknown XDP mode %d", mode);
		return -EINVAL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	x->raw_fd = x->raw6_fd = -1;
	/* UMEM from the config: room for twice the receive queue, a power of
	 * two between XSK_MIN_FRAMES and XSK_FRAMES (4 KB each, pinned). */
	for (x->frames = XSK_MIN_FRAMES; x->frames < XSK_FRAMES &&
	     x->frames < 2 * (uint32_t)(f->queue_pkts > 0 ? f->queue_pkts : XSK_FRAMES); x->frames *= 2)
		;
	if (snprintf(x->ifname, sizeof(x->ifname), "%s", ifname) >= (int)sizeof(x->ifname)) {
		snprintf(why, whylen, "interface name '%s' is too long", ifname);
		err = -EINVAL;
		goto err_free;
	}
	x->ifindex = if_nametoindex(ifname);
	if (!x->ifindex) {
		err = -errno;
		snprintf(why, whylen, "no interface '%s': %s", ifname, strerror(errno));
		goto err_free;
	}
	err = link_info(x, why, whylen);
	if (err)
		goto err_free;
	/* One poller per queue unless told; a shard needs a queue to send on. */
	x->nshards = f->shards;
	if (x->nshards <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		x->nshards = x->nq < LWT_DP_MAX_SHARDS ? x->nq : LWT_DP_MAX_SHARDS;
		if (cpus > 0 && x->nshards > cpus)
			x->nshards = (int)cpus;
	}
	if (x->nshards > x->nq) {
		snprintf(why, whylen, "'%s' has %d queue(s), fewer than the %d data-plane threads "
			 "running", ifname, x->nq, x->nshards);
		err = -ERANGE;
		goto err_free;
	}
	x->skel = lwt_xdp_bpf__open_and_load();
	if (!x->skel) {
		err = -errno;
		snprintf(why, whylen, "couldn't load the XDP program: %s", strerror(errno));
		goto err_free;
	}
	err = xflow_filter_apply(x, f);
	if (err) {
		snprintf(why, whylen, "couldn't write the XDP maps: %s", strerror(-err));
		goto err_destroy;
	}
	/* Before the sockets: a foreign program is the reason to report. */
	err = xprog_clear_stale(x, pin_dir, why, whylen);
	if (err)
		goto err_destroy;
	err = sockets_open(x, why, whylen);
	if (err)
		goto err_destroy;
	/* Our largest segment with its link header must fit one UMEM frame,
	 * or a chain of them (multi-buffer AF_XDP). */
	if (f->seg_max + L2_MAX > XSK_FRAME_SIZE && !x->q[0].big) {
		snprintf(why, whylen, "segments of up to %u bytes (the TUN MTU's) do not fit a "
			 "%d-byte AF_XDP frame, and '%s' takes no multi-buffer AF_XDP (XDP_USE_SG) "
			 "here", f->seg_max, XSK_FRAME_SIZE, ifname);
		err = -EMSGSIZE;
		goto err_destroy;
	}
	if (pin_dir) {
		err = xprog_pin(x, pin_dir, why, whylen);
		if (err)
			goto err_destroy;
	}
	/* Attach last: until now the program would only find empty slots; from
	 * now on segments wait in the RX rings for the data thread. */
	err = xprog_attach(x, mode, why, whylen);
	if (err)
		goto err_destroy;
	x->dp.ops = &xsk_ops;
	x->dp.xdp_mode = x->xdp_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic";
	x->dp.queues = x->nq;
	x->dp.shards = x->nshards;
	snprintf(x->dp.ifname, sizeof(x->dp.ifname), "%s", ifname);
	{
		struct xdp_options opt = { 0 };
		socklen_t ol = sizeof(opt);

		x->dp.zerocopy = !getsockopt(x->q[0].fd, SOL_XDP, XDP_OPTIONS, &opt, &ol) &&
				 (opt.flags & XDP_OPTIONS_ZEROCOPY);
	}
	lwt_info("xsk: %d queue(s) on '%s' for %d thread(s), XDP %s mode, %s", x->nq, ifname,
		 x->nshards, x->dp.xdp_mode, x->dp.zerocopy ? "zero-copy" : "copy");
	*out = &x->dp;
	return 0;

err_destroy:
	xsk_destroy(&x->dp);
	return err;
err_free:
	free(x);
	return err;
}

int lwt_xsk_probe_load(void)
{
	libbpf_print_fn_t prev = libbpf_set_print(NULL);
	struct lwt_xdp_bpf *skel = lwt_xdp_bpf__open_and_load();
	int err = skel ? 0 : -errno;

	libbpf_set_print(prev);
	lwt_xdp_bpf__destroy(skel);
	return err;
}
