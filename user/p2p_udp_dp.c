// SPDX-License-Identifier: MIT
/* A direct UDP path in the data plane (docs/PROTOCOL.md "P2P over UDP"):
 * the slot's frames go out as the payload of one datagram each on a UDP
 * socket connected to the peer, and come in from it, instead of fake-TCP
 * segments on the outer path. The socket is the kernel's, so this works the
 * same over AF_XDP (the XDP program passes UDP to the kernel) and raw
 * sockets. The poller that owns the slot polls the socket (one epoll set
 * per poller); records, replay window, FEC and rekey are the slot's as on
 * any path. Everything here runs on that poller's thread. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "daemon.h"
#include "log.h"
#include "p2p_udp.h"

#define READS_PER_WAKE 64		/* a socket's datagrams per poller wake */

void lwt_udp_dp_attach(int ep, struct lwt_slot *s, int slot, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)slot };

	s->udp = true;
	s->udp_fd = fd;
	/* No TCP below: nothing acks, nothing limits the window. */
	s->tcp.snd_wnd = 1u << 30;
	s->tcp.max_snd_wnd = s->tcp.snd_wnd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		lwt_log_rl(LWT_LOG_WARN, "p2p: direct UDP path %d: epoll: %s", slot, strerror(errno));
}

void lwt_udp_dp_detach(int ep, struct lwt_slot *s)
{
	if (!s->udp)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, s->udp_fd, NULL);
	close(s->udp_fd);
	s->udp = false;
	s->udp_fd = -1;
}

/* The frames of a segment the data plane built (headers before them are
 * the fake-TCP ones, unused): one datagram. A pure ACK or RST (no
 * payload) has no meaning here. */
void lwt_udp_dp_send(struct lwt_slot *s, const uint8_t *p, size_t len)
{
	s->tcp.snd_una = s->tcp.snd_nxt;
	if (!len)
		return;
	if (send(s->udp_fd, p, len, MSG_DONTWAIT) < 0 && errno != ECONNREFUSED)
		LWT_CTR_INC(&s->ctr, drop_queue_full);
}

/* Ready sockets, each read up to READS_PER_WAKE datagrams (the rest wait
 * for the next wake): in hands each datagram of the peer to the slot. */
void lwt_udp_dp_poll(struct lwt_daemon *d, int ep, lwt_udp_input_fn in, void *ctx)
{
	static _Thread_local uint8_t buf[LWT_DP_RXBUF];
	struct epoll_event ev[16];
	int n = epoll_wait(ep, ev, 16, 0);

	for (int i = 0; i < n; i++) {
		struct lwt_slot *s;

		if (ev[i].data.u32 >= (uint32_t)d->nslots)
			continue;
		s = &d->slots[ev[i].data.u32];
		for (int k = 0; s->udp && k < READS_PER_WAKE; k++) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t r = recvfrom(s->udp_fd, buf, sizeof(buf), MSG_DONTWAIT,
					     (struct sockaddr *)&from, &fl);

			if (r < 0) {
				if (errno == EINTR || errno == ECONNREFUSED)
					continue;
				break;
			}
			/* Connected: the kernel passes only the peer's; checked
			 * all the same (a datagram queued before connect). */
			if (from.sin_addr.s_addr != s->tcp.raddr || from.sin_port != s->tcp.rport) {
				LWT_CTR_INC(&d->ctr, drop_unknown_flow);
				continue;
			}
			in(ctx, s, buf, (size_t)r);
		}
	}
}
