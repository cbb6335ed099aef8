// SPDX-License-Identifier: MIT
/* The raw-socket path over IPv6 (rawsock6.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fwrule.h"
#include "log.h"
#include "rawsock6.h"

int lwt_rs6_filter(int fd, const struct lwt_dp_filter *f)
{
	uint16_t lport = ntohs(f->lport), rport = ntohs(f->rport);
	uint32_t ra3;
	/* Offsets: 0 is the TCP header (an IPv6 raw socket's data); the
	 * source address is reached through SKF_NET_OFF (its last word
	 * here: the flow is confirmed on the whole address later). */
	struct sock_filter server[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lport, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_filter client[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 20),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 5),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, rport, 0, 3),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lport, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog;

	memcpy(&ra3, f->ra6.b + 12, 4);
	client[1].k = ntohl(ra3);
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

int lwt_rs6_open_rx(const struct lwt_dp_filter *f)
{
	int fd, one = 1, bufsz = 8 << 20, err;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
	if (fd < 0) {
		err = -errno;
		lwt_err("couldn't open raw TCP/IPv6 socket: %s", strerror(errno));
		return err;
	}
	err = lwt_rs6_filter(fd, f);
	if (!err && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
		err = -errno;
	if (err) {
		lwt_err("couldn't set up raw TCP/IPv6 socket: %s", strerror(-err));
		close(fd);
		return err;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	return fd;
}

int lwt_rs6_open_tx(void)
{
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW), err;
	int pmtud = IPV6_PMTUDISC_PROBE, bufsz = 8 << 20;
	uint32_t mark = LWT_FW_MARK;

	if (fd < 0) {
		err = -errno;
		lwt_err("couldn't open raw IPv6 socket: %s", strerror(errno));
		return err;
	}
	/* As for IPv4 (rawsock.c): lwt's path MTU search decides, not the
	 * kernel's cache; an IPv6 raw socket never fragments what it sends
	 * with its own header (too large: EMSGSIZE, the packet is lost). */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtud, sizeof(pmtud)) < 0)
		lwt_dbg("raw IPv6 socket: no IPV6_PMTUDISC_PROBE (%s)", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		lwt_dbg("raw IPv6 socket: no SO_MARK (%s)", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	return fd;
}

int lwt_rs6_recv(int fd, uint8_t *bufs, struct lwt_dp_pkt *pkts, int max)
{
	struct mmsghdr msgs[LWT_DP_BATCH];
	struct iovec iov[LWT_DP_BATCH];
	struct sockaddr_in6 from[LWT_DP_BATCH];
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cm[LWT_DP_BATCH];
	int i, n, k = 0;

	if (max > LWT_DP_BATCH)
		max = LWT_DP_BATCH;
	for (i = 0; i < max; i++) {
		iov[i].iov_base = bufs + (size_t)i * LWT_DP_RXBUF + 40;
		iov[i].iov_len = LWT_DP_RXBUF - 40;
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_control = cm[i].b;
		msgs[i].msg_hdr.msg_controllen = sizeof(cm[i].b);
	}
	n = recvmmsg(fd, msgs, max, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		uint8_t *h = bufs + (size_t)i * LWT_DP_RXBUF;
		uint32_t len = msgs[i].msg_len;
		struct cmsghdr *c;
		bool dst = false;

		for (c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c))
			if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				memcpy(h + 24, &pi.ipi6_addr, 16);
				dst = true;
			}
		if (!dst || len > 65535 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
			continue;
		/* The header as it came, but for what the socket does not
		 * tell: flow label and hop limit (nothing reads them). */
		h[0] = 0x60;
		h[1] = h[2] = h[3] = 0;
		h[4] = (uint8_t)(len >> 8);
		h[5] = (uint8_t)len;
		h[6] = IPPROTO_TCP;
		h[7] = 64;
		memcpy(h + 8, &from[i].sin6_addr, 16);
		pkts[k].data = h;
		pkts[k].len = len + 40;
		k++;
	}
	return k;
}

int lwt_rs6_send(int fd, const struct lwt_dp_pkt *pkts, int n)
{
	struct mmsghdr msgs[LWT_DP_BATCH];
	struct iovec iov[LWT_DP_BATCH];
	struct sockaddr_in6 to[LWT_DP_BATCH];
	int i, r;

	if (n > LWT_DP_BATCH)
		n = LWT_DP_BATCH;
	for (i = 0; i < n; i++) {
		iov[i].iov_base = pkts[i].data;
		iov[i].iov_len = pkts[i].len;
		memset(&to[i], 0, sizeof(to[i]));
		to[i].sin6_family = AF_INET6;
		memcpy(&to[i].sin6_addr, pkts[i].data + 24, 16);
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_name = &to[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(to[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	do
		r = sendmmsg(fd, msgs, n, 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}
