// SPDX-License-Identifier: MIT
/* metrics_listen: an HTTP server (libmicrohttpd, one internal thread) that
 * answers GET /metrics with lwt_metrics_text() of the stats document.
 *
 * Why the control thread builds the document: lwt_ctl_stats() reads the
 * control thread's own slot state (phase, tunnel IP, endpoint, handshake and
 * rekey times) and counters it keeps without atomics; no lock covers those
 * (dp_lock only guards the path against a swap). So the HTTP thread never
 * reads them: it asks the control thread through an eventfd in its epoll
 * loop, the control thread builds the document under dp_lock, as for
 * lwt-ctl, and hands it over under m->mu; the HTTP thread formats it. A
 * scrape that finds the control thread busy for SCRAPE_WAIT_MS gets 503.
 * Scrapes closer together than MIN_GAP_MS get the last text again, so that
 * however fast someone scrapes, the control thread builds at most
 * 1000 / MIN_GAP_MS documents a second.
 *
 * The socket is bound during set-up (a port below 1024 needs a capability
 * the daemon drops), the thread started after the drop (capabilities are
 * per thread; privs.c refuses to drop with threads running). The server
 * listens only on the configured address, holds at most MAX_CONNS
 * connections and drops one idle for CONN_TIMEOUT_S. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"

#define SCRAPE_WAIT_MS	2000
#define MIN_GAP_MS	100
#define MAX_CONNS	4
#define CONN_TIMEOUT_S	5
#define CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct lwt_metrics {
	struct MHD_Daemon *mhd;
	int lfd, efd;
	char where[32];		/* ip:port, for messages */
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* CLOCK_MONOTONIC */
	uint64_t asked, answered;	/* scrapes asked for / documents handed over */
	cJSON *doc;		/* the last document handed over, not yet taken */
	bool closing;
	/* HTTP thread only */
	char *text;		/* the last text served ... */
	size_t text_len;
	uint64_t text_ns;	/* ... and when it was made */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int lwt_metrics_bind(struct lwt_metrics **out, const struct sockaddr_in *sa)
{
	struct lwt_metrics *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;
	char ip[INET_ADDRSTRLEN];
	int one = 1, err;

	if (!m)
		return -ENOMEM;
	snprintf(m->where, sizeof(m->where), "%s:%u",
		 inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip)), ntohs(sa->sin_port));
	m->efd = -1;
	m->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->lfd < 0 ||
	    setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(m->lfd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(m->lfd, 8) < 0) {
		err = -errno;
		lwt_err("metrics_listen: couldn't listen on %s: %s", m->where, strerror(errno));
		goto out_sock;
	}
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->efd < 0) {
		err = -errno;
		lwt_err("metrics_listen: couldn't make an eventfd: %s", strerror(errno));
		goto out_sock;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&m->mu, NULL);
	*out = m;
	return 0;
out_sock:
	if (m->lfd >= 0)
		close(m->lfd);
	free(m);
	return err;
}

int lwt_metrics_fd(const struct lwt_metrics *m)
{
	return m->efd;
}

void lwt_metrics_answer(struct lwt_daemon *d, struct lwt_metrics *m)
{
	uint64_t v, want;
	cJSON *doc;

	if (read(m->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already answered */
	}
	pthread_mutex_lock(&m->mu);
	want = m->asked;
	pthread_mutex_unlock(&m->mu);
	if (want == m->answered)
		return;
	pthread_mutex_lock(&d->dp_lock);
	doc = lwt_ctl_stats(d);
	pthread_mutex_unlock(&d->dp_lock);
	pthread_mutex_lock(&m->mu);
	cJSON_Delete(m->doc);
	m->doc = doc;
	m->answered = want;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/* HTTP thread: a fresh document from the control thread, or NULL (busy or
 * stopping). */
static cJSON *ask_control(struct lwt_metrics *m)
{
	uint64_t one = 1, mine, dl = mono_ns() + SCRAPE_WAIT_MS * 1000000ull;
	struct timespec ts = { .tv_sec = dl / 1000000000ull, .tv_nsec = dl % 1000000000ull };
	cJSON *doc = NULL;

	pthread_mutex_lock(&m->mu);
	mine = ++m->asked;
	if (write(m->efd, &one, sizeof(one)) < 0) {
		/* counter full: the control thread is woken already */
	}
	while (!m->closing && m->answered < mine)
		if (pthread_cond_timedwait(&m->cv, &m->mu, &ts) == ETIMEDOUT)
			break;
	if (!m->closing && m->answered >= mine) {
		doc = m->doc;
		m->doc = NULL;
	}
	pthread_mutex_unlock(&m->mu);
	return doc;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *body,
			     size_t len, enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT(c, status, s) reply(c, status, s, sizeof(s) - 1, MHD_RESPMEM_PERSISTENT, \
				 "text/plain; charset=utf-8")

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct lwt_metrics *m = cls;
	uint64_t now = mono_ns();
	cJSON *doc;
	char *text;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return TEXT(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	if (*upload_size)
		return TEXT(c, MHD_HTTP_BAD_REQUEST, "no body\n");
	if (strcmp(url, "/metrics"))
		return TEXT(c, MHD_HTTP_NOT_FOUND, "not found: lwt serves /metrics\n");
	if (!m->text || now - m->text_ns >= MIN_GAP_MS * 1000000ull) {
		doc = ask_control(m);
		if (!doc)
			return TEXT(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "the daemon did not answer in time\n");
		text = lwt_metrics_text(doc);
		cJSON_Delete(doc);
		if (!text)
			return TEXT(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		free(m->text);
		m->text = text;
		m->text_len = strlen(text);
		m->text_ns = now;
	}
	return reply(c, MHD_HTTP_OK, m->text, m->text_len, MHD_RESPMEM_MUST_COPY, CONTENT_TYPE);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	static struct lwt_ratelimit rl;	/* the HTTP thread's alone */

	if (lwt_log_get_level() >= LWT_LOG_WARN && lwt_ratelimit_ok(&rl, 5))
		lwt_vlog(LWT_LOG_WARN, fmt, ap);
}

int lwt_metrics_start(struct lwt_metrics *m)
{
	m->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				  handle, m,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
				  MHD_OPTION_LISTEN_SOCKET, m->lfd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!m->mhd) {
		lwt_err("metrics_listen: couldn't start the HTTP server on %s", m->where);
		return -EIO;
	}
	lwt_info("metrics: serving http://%s/metrics", m->where);
	return 0;
}

void lwt_metrics_destroy(struct lwt_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->closing = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	/* MHD closes a listen socket it was given only when it started. */
	if (!m->mhd && m->lfd >= 0)
		close(m->lfd);
	close(m->efd);
	cJSON_Delete(m->doc);
	free(m->text);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
