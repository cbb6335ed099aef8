// SPDX-License-Identifier: MIT
/* Raw-socket data path: SOCK_RAW/IPPROTO_TCP for receive (with a classic BPF
 * filter so only our flow's segments are copied to us), SOCK_RAW/IPPROTO_RAW
 * (IP_HDRINCL) for send. Batched with recvmmsg/sendmmsg. One socket receives
 * (shard 0: every raw socket would get a copy of each segment); every shard
 * sends on the shared send socket with its own message arrays. IPv6
 * (rawsock6.c) has sockets of its own beside, opened for a client of an
 * IPv6 server or a server listening on IPv6; a server on both families
 * offers its poller one epoll fd over the two receive sockets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sys/epoll.h>

#include "dp.h"
#include "fwrule.h"
#include "log.h"
#include "rawsock6.h"

struct rawsock {
	struct lwt_dp dp;
	int rx_fd, tx_fd;		/* IPv4; -1 when the path carries IPv6 only */
	int rx6_fd, tx6_fd;		/* IPv6 (rawsock6.c); -1 when IPv4 only */
	int ep_fd;			/* both: an epoll set of the two, the poller's fd */
	struct mmsghdr rx_msgs[LWT_DP_BATCH];
	struct iovec rx_iov[LWT_DP_BATCH];
	uint8_t *rx_bufs;
};

#define RS(dp) ((struct rawsock *)(dp))

static int attach_filter(int fd, const struct lwt_dp_filter *f)
{
	uint16_t lport = ntohs(f->lport), rport = ntohs(f->rport);
	uint32_t raddr = ntohl(f->raddr);
	/* A = dport; server: accept if A == lport. Client: also sport == rport
	 * and saddr == raddr. Offsets are from the IP header. */
	struct sock_filter server[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lport, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_filter client[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, raddr, 0, 6),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, rport, 0, 3),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lport, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog;

	if (f->server || f->p2p) {
		prog.len = sizeof(server) / sizeof(server[0]);
		prog.filter = server;
	} else {
		prog.len = sizeof(client) / sizeof(client[0]);
		prog.filter = client;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

static int rs_set_filter(struct lwt_dp *dp, const struct lwt_dp_filter *f)
{
	struct rawsock *rs = RS(dp);
	uint8_t junk[64];
	int err = 0;

	if (rs->rx_fd >= 0)
		err = attach_filter(rs->rx_fd, f);
	if (!err && rs->rx6_fd >= 0)
		err = lwt_rs6_filter(rs->rx6_fd, f);
	if (err)
		return err;
	/* Drain what the old filter let in. */
	while (rs->rx_fd >= 0 && recv(rs->rx_fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	while (rs->rx6_fd >= 0 && recv(rs->rx6_fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	return 0;
}

static int rx4(struct rawsock *rs, struct lwt_dp_pkt *pkts, int max);

static int rs_rx_batch(struct lwt_dp *dp, int shard, struct lwt_dp_pkt *pkts, int max)
{
	struct rawsock *rs = RS(dp);
	int n, n6;

	if (shard)
		return 0;
	if (max > LWT_DP_BATCH)
		max = LWT_DP_BATCH;
	n = rs->rx_fd >= 0 ? rx4(rs, pkts, max) : 0;
	if (n < 0 || rs->rx6_fd < 0 || n == max)
		return n;
	n6 = lwt_rs6_recv(rs->rx6_fd, rs->rx_bufs + (size_t)n * LWT_DP_RXBUF, pkts + n, max - n);
	if (n6 < 0) {
		LWT_DP_ERR_ADD(dp, rx_errors, 1);
		return n ? n : n6;
	}
	return n + n6;
}

static int rx4(struct rawsock *rs, struct lwt_dp_pkt *pkts, int max)
{
	struct lwt_dp *dp = &rs->dp;
	int i, n;

	for (i = 0; i < max; i++) {
		rs->rx_iov[i].iov_base = rs->rx_bufs + (size_t)i * LWT_DP_RXBUF;
		rs->rx_iov[i].iov_len = LWT_DP_RXBUF;
		memset(&rs->rx_msgs[i].msg_hdr, 0, sizeof(rs->rx_msgs[i].msg_hdr));
		rs->rx_msgs[i].msg_hdr.msg_iov = &rs->rx_iov[i];
		rs->rx_msgs[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(rs->rx_fd, rs->rx_msgs, max, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		LWT_DP_ERR_ADD(dp, rx_errors, 1);
		return -errno;
	}
	for (i = 0; i < n; i++) {
		pkts[i].data = rs->rx_iov[i].iov_base;
		pkts[i].len = rs->rx_msgs[i].msg_len;
	}
	return n;
}

static int tx4(struct rawsock *rs, const struct lwt_dp_pkt *pkts, int n);

/* Runs of one family go to that family's socket, in order. Returns n:
 * what a socket refused is lost, as on a wire, and counted. */
static int rs_tx_batch(struct lwt_dp *dp, int shard, const struct lwt_dp_pkt *pkts, int n)
{
	struct rawsock *rs = RS(dp);
	int i = 0, j, r;

	(void)shard;
	while (i < n) {
		bool v6 = pkts[i].data[0] >> 4 == 6;

		for (j = i + 1; j < n && (pkts[j].data[0] >> 4 == 6) == v6; j++)
			;
		if (v6 && rs->tx6_fd >= 0) {
			int done = 0;

			while (done < j - i) {
				r = lwt_rs6_send(rs->tx6_fd, pkts + i + done, j - i - done);
				if (r <= 0) {
					LWT_DP_ERR_ADD(dp, tx_errors, j - i - done);
					if (r < 0)
						return r;
					break;
				}
				done += r;
			}
		} else if (!v6 && rs->tx_fd >= 0) {
			r = tx4(rs, pkts + i, j - i);
			if (r < 0)
				return r;
		} else {
			LWT_DP_ERR_ADD(dp, tx_errors, j - i);	/* a family this path lacks */
		}
		i = j;
	}
	return n;
}

static int tx4(struct rawsock *rs, const struct lwt_dp_pkt *pkts, int n)
{
	struct lwt_dp *dp = &rs->dp;
	struct mmsghdr msgs[LWT_DP_BATCH];
	struct iovec iov[LWT_DP_BATCH];
	struct sockaddr_in addr[LWT_DP_BATCH];
	int i, done = 0;

	while (done < n) {
		int m = n - done, r;

		if (m > LWT_DP_BATCH)
			m = LWT_DP_BATCH;
		for (i = 0; i < m; i++) {
			const struct lwt_dp_pkt *p = &pkts[done + i];

			iov[i].iov_base = p->data;
			iov[i].iov_len = p->len;
			memset(&addr[i], 0, sizeof(addr[i]));
			addr[i].sin_family = AF_INET;
			memcpy(&addr[i].sin_addr, p->data + 16, 4);
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_name = &addr[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(addr[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(rs->tx_fd, msgs, m, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS/EPERM etc: the packets are lost, like on a wire. */
			LWT_DP_ERR_ADD(dp, tx_errors, m);
			return -errno;
		}
		if (r == 0)
			break;
		done += r;
	}
	return done;
}

static int rs_rx_fd(struct lwt_dp *dp, int shard)
{
	struct rawsock *rs = RS(dp);

	if (shard)
		return -1;
	return rs->ep_fd >= 0 ? rs->ep_fd : rs->rx_fd >= 0 ? rs->rx_fd : rs->rx6_fd;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void rs_destroy(struct lwt_dp *dp)
{
	struct rawsock *rs = RS(dp);

	if (!dp)
		return;
	close_fd(rs->rx_fd);
	close_fd(rs->tx_fd);
	close_fd(rs->rx6_fd);
	close_fd(rs->tx6_fd);
	close_fd(rs->ep_fd);
	free(rs->rx_bufs);
	free(rs);
}

static const struct lwt_dp_ops rawsock_ops = {
	.name = "raw-socket",
	.rx_batch = rs_rx_batch,
	.tx_batch = rs_tx_batch,
	.rx_fd = rs_rx_fd,
	.set_filter = rs_set_filter,
	.destroy = rs_destroy,
};

static int open4(struct rawsock *rs, const struct lwt_dp_filter *f)
{
	int err, one = 1, bufsz = 8 << 20;

	rs->rx_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
	if (rs->rx_fd < 0) {
		err = -errno;
		lwt_err("couldn't open raw TCP socket: %s", strerror(errno));
		return err;
	}
	err = attach_filter(rs->rx_fd, f);
	if (err) {
		lwt_err("couldn't attach socket filter: %s", strerror(-err));
		return err;
	}
	/* Larger buffers absorb bursts; FORCE works as root, plain as fallback. */
	if (setsockopt(rs->rx_fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(rs->rx_fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	rs->tx_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (rs->tx_fd < 0) {
		err = -errno;
		lwt_err("couldn't open raw IP socket: %s", strerror(errno));
		return err;
	}
	setsockopt(rs->tx_fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	/* DF stays as we write it, but the kernel's cached path MTU is not
	 * applied to our segments: an ICMP frag-needed (forged or not) seen by
	 * the TCP raw socket above would otherwise shrink them behind lwt's
	 * back; lwt's own path MTU discovery (pmtu.c) decides. */
	{
		int pmtud = IP_PMTUDISC_PROBE;

		if (setsockopt(rs->tx_fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtud, sizeof(pmtud)) < 0)
			lwt_dbg("raw socket: no IP_PMTUDISC_PROBE (%s)", strerror(errno));
	}
	/* Our own RSTs (a direct path given up) pass the anti-RST rule. */
	{
		uint32_t mark = LWT_FW_MARK;

		if (setsockopt(rs->tx_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			lwt_dbg("raw socket: no SO_MARK (%s): a direct path's closing RST stays "
				"inside", strerror(errno));
	}
	if (setsockopt(rs->tx_fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(rs->tx_fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	return 0;
}

/* A server listening on both families: one fd for its poller to wait on. */
static int open_epoll(struct rawsock *rs)
{
	struct epoll_event ev = { .events = EPOLLIN };

	rs->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (rs->ep_fd < 0)
		return -errno;
	ev.data.fd = rs->rx_fd;
	if (epoll_ctl(rs->ep_fd, EPOLL_CTL_ADD, rs->rx_fd, &ev) < 0)
		return -errno;
	ev.data.fd = rs->rx6_fd;
	if (epoll_ctl(rs->ep_fd, EPOLL_CTL_ADD, rs->rx6_fd, &ev) < 0)
		return -errno;
	return 0;
}

int lwt_rawsock_create(struct lwt_dp **out, const struct lwt_dp_filter *f)
{
	bool want6 = f->server ? f->listen6 : f->v6;
	bool want4 = f->server ? (f->listen4 || !f->listen6) : !f->v6;
	struct rawsock *rs;
	int err = 0;

	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->rx_fd = rs->tx_fd = rs->rx6_fd = rs->tx6_fd = rs->ep_fd = -1;
	rs->rx_bufs = malloc((size_t)LWT_DP_BATCH * LWT_DP_RXBUF);
	if (!rs->rx_bufs) {
		err = -ENOMEM;
		goto err_close;
	}
	if (want4)
		err = open4(rs, f);
	if (!err && want6) {
		rs->rx6_fd = lwt_rs6_open_rx(f);
		err = rs->rx6_fd < 0 ? rs->rx6_fd : 0;
		if (!err) {
			rs->tx6_fd = lwt_rs6_open_tx();
			err = rs->tx6_fd < 0 ? rs->tx6_fd : 0;
		}
	}
	if (!err && want4 && want6)
		err = open_epoll(rs);
	if (err)
		goto err_close;
	rs->dp.ops = &rawsock_ops;
	rs->dp.queues = 1;
	rs->dp.shards = f->shards > 0 ? f->shards : 1;
	*out = &rs->dp;
	return 0;

err_close:
	rs_destroy(&rs->dp);
	return err;
}
