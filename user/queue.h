/* SPDX-License-Identifier: MIT */
/* Bounded message queue between the control thread and the data-plane
 * thread, with an eventfd to wake the reader. Carries control messages only
 * (handshake frames, session installs, keepalive requests), never per-packet
 * data, so its mutex never sits on the per-packet path. */
#ifndef LWT_QUEUE_H
#define LWT_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LWT_MSGQ_DATA 256

struct lwt_msg {
	int type;
	int slot;
	uint32_t gen;		/* slot generation the message is about */
	uint64_t u64;
	void *ptr;
	uint16_t len;
	uint8_t data[LWT_MSGQ_DATA];
};

struct lwt_msgq {
	pthread_mutex_t lock;
	struct lwt_msg *ring;
	unsigned int cap, head, tail;
	int efd;
	uint64_t dropped;
};

int lwt_msgq_init(struct lwt_msgq *q, unsigned int cap);
void lwt_msgq_uninit(struct lwt_msgq *q);
/* 0, or -ENOBUFS when full (counted). */
int lwt_msgq_push(struct lwt_msgq *q, const struct lwt_msg *m);
/* Push only while the queue is under limit entries: what can wait
 * (control records) leaves room for what cannot (installs, kills). */
int lwt_msgq_push_limit(struct lwt_msgq *q, const struct lwt_msg *m, unsigned int limit);
/* 1 if a message was popped, 0 if empty. */
int lwt_msgq_pop(struct lwt_msgq *q, struct lwt_msg *m);
/* Clear the eventfd after waking. */
void lwt_msgq_ack(struct lwt_msgq *q);

#endif
