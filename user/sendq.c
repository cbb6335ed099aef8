// SPDX-License-Identifier: MIT
/* The client's reconnect queue; see sendq.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sendq.h"

int lwt_sendq_init(struct lwt_sendq *q, unsigned int cap, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->cap = cap ? cap : 1;
	q->max = max > 65535 ? 65535 : max;
	q->pkts = calloc(q->cap, sizeof(*q->pkts));
	q->lens = calloc(q->cap, sizeof(*q->lens));
	if (!q->pkts || !q->lens) {
		lwt_sendq_uninit(q);
		return -ENOMEM;
	}
	return 0;
}

void lwt_sendq_uninit(struct lwt_sendq *q)
{
	for (unsigned int i = 0; q->pkts && i < q->cap; i++)
		free(q->pkts[i]);
	free(q->pkts);
	free(q->lens);
	q->pkts = NULL;
	q->lens = NULL;
	q->count = 0;
}

int lwt_sendq_push(struct lwt_sendq *q, const uint8_t *pkt, size_t len)
{
	unsigned int i;

	if (q->count == q->cap)
		return -ENOBUFS;
	/* What could never be sent is not kept. */
	if (len > q->max)
		return -EMSGSIZE;
	i = (q->head + q->count) % q->cap;
	free(q->pkts[i]);
	q->pkts[i] = malloc(len ? len : 1);
	if (!q->pkts[i])
		return -ENOMEM;
	memcpy(q->pkts[i], pkt, len);
	q->lens[i] = (uint16_t)len;
	q->count++;
	return 0;
}

unsigned int lwt_sendq_drain(struct lwt_sendq *q,
			     void (*send)(void *ctx, const uint8_t *pkt, size_t len), void *ctx)
{
	unsigned int n = 0;

	while (q->count) {
		send(ctx, q->pkts[q->head], q->lens[q->head]);
		free(q->pkts[q->head]);
		q->pkts[q->head] = NULL;
		q->head = (q->head + 1) % q->cap;
		q->count--;
		n++;
	}
	return n;
}
