/* SPDX-License-Identifier: MIT */
/* Prometheus metrics (metrics_listen): GET /metrics on one address, text
 * exposition format 0.0.4, served by libmicrohttpd on a thread of its own.
 *
 * The numbers are lwt-ctl's: the control thread builds the stats document
 * (lwt_ctl_stats(), ctl.c) when a scrape asks for it, and
 * lwt_metrics_text() turns that document into metric families. */
#ifndef LWT_METRICS_H
#define LWT_METRICS_H

#include <netinet/in.h>

struct cJSON;
struct lwt_daemon;
struct lwt_metrics;

/* Set-up, before the capabilities are dropped: a listening TCP socket on
 * sa (a port below 1024 needs CAP_NET_BIND_SERVICE). 0 or -errno, logged. */
int lwt_metrics_bind(struct lwt_metrics **out, const struct sockaddr_in *sa);
/* After the drop (no thread may run before it): start serving. 0/-errno. */
int lwt_metrics_start(struct lwt_metrics *m);
/* Readable when a scrape waits for the control thread ... */
int lwt_metrics_fd(const struct lwt_metrics *m);
/* ... which then calls this (control thread). */
void lwt_metrics_answer(struct lwt_daemon *d, struct lwt_metrics *m);
/* Stop serving (a scrape waiting is answered 503) and free. NULL is fine. */
void lwt_metrics_destroy(struct lwt_metrics *m);

/* The stats document as exposition text (malloc'd), or NULL (no memory). */
char *lwt_metrics_text(const struct cJSON *stats);

#endif
