/* SPDX-License-Identifier: MIT */
/* The client's reconnect queue (send_queue_size): inner packets read from
 * the TUN while no session exists, sent in order once one does. Each entry
 * is a buffer of the packet's own length, at most the TUN MTU the daemon
 * sized its buffers from (bufs.h); a longer packet is refused, never cut or
 * copied past its buffer. Owned by the client's poller thread; not thread
 * safe. Memory: at most cap entries of max bytes, freed as they are sent. */
#ifndef LWT_SENDQ_H
#define LWT_SENDQ_H

#include <stddef.h>
#include <stdint.h>

struct lwt_sendq {
	uint8_t **pkts;
	uint16_t *lens;
	unsigned int cap, head, count;
	size_t max;			/* longest packet kept */
};

/* cap entries (>= 1) of packets up to max bytes (<= 65535). 0 or -ENOMEM. */
int lwt_sendq_init(struct lwt_sendq *q, unsigned int cap, size_t max);
void lwt_sendq_uninit(struct lwt_sendq *q);
/* Keep a copy of pkt: 0, -ENOBUFS (full), -EMSGSIZE (longer than max) or
 * -ENOMEM. */
int lwt_sendq_push(struct lwt_sendq *q, const uint8_t *pkt, size_t len);
/* Hand every packet to send, oldest first, and forget it. Returns how many. */
unsigned int lwt_sendq_drain(struct lwt_sendq *q,
			     void (*send)(void *ctx, const uint8_t *pkt, size_t len), void *ctx);

#endif
