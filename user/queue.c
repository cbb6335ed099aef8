// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "queue.h"

int lwt_msgq_init(struct lwt_msgq *q, unsigned int cap)
{
	q->ring = calloc(cap, sizeof(*q->ring));
	if (!q->ring)
		return -ENOMEM;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		free(q->ring);
		return -errno;
	}
	pthread_mutex_init(&q->lock, NULL);
	q->cap = cap;
	q->head = q->tail = 0;
	q->dropped = 0;
	return 0;
}

void lwt_msgq_uninit(struct lwt_msgq *q)
{
	if (!q->ring)
		return;
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	q->ring = NULL;
}

int lwt_msgq_push(struct lwt_msgq *q, const struct lwt_msg *m)
{
	return lwt_msgq_push_limit(q, m, q->cap);
}

int lwt_msgq_push_limit(struct lwt_msgq *q, const struct lwt_msg *m, unsigned int limit)
{
	uint64_t one = 1;
	int full;

	pthread_mutex_lock(&q->lock);
	full = q->tail - q->head >= (limit < q->cap ? limit : q->cap);
	if (!full) {
		q->ring[q->tail % q->cap] = *m;
		q->tail++;
	} else {
		q->dropped++;
	}
	pthread_mutex_unlock(&q->lock);
	if (full)
		return -ENOBUFS;
	if (write(q->efd, &one, sizeof(one)) < 0) {
		/* Counter saturation only; the reader drains anyway. */
	}
	return 0;
}

int lwt_msgq_pop(struct lwt_msgq *q, struct lwt_msg *m)
{
	int got = 0;

	pthread_mutex_lock(&q->lock);
	if (q->head != q->tail) {
		*m = q->ring[q->head % q->cap];
		q->head++;
		got = 1;
	}
	pthread_mutex_unlock(&q->lock);
	return got;
}

void lwt_msgq_ack(struct lwt_msgq *q)
{
	uint64_t v;

	if (read(q->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending */
	}
}
