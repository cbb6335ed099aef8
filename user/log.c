// SPDX-License-Identifier: MIT
/* Leveled logging to stderr. Two line shapes: under systemd, when stderr is
 * the journal's stream (JOURNAL_STREAM names its device and inode), each line
 * starts with its sd-daemon priority ("<3>" ... "<7>", see sd-daemon(3)) and
 * carries no timestamp, as the journal stamps it; anywhere else (terminal,
 * file) it starts with an ISO 8601 UTC date and time and the level's name.
 * libbpf's and libxdp's own debug output is internals: it is shown only at
 * LWT_LOG_TRACE. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

/* Set by the control thread (at start, at a reload), read by every thread. */
static _Atomic int level_now = LWT_LOG_INFO;
#define cur_level ((enum lwt_log_level)atomic_load_explicit(&level_now, memory_order_relaxed))
static bool to_journal;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;

void lwt_log_set_level(enum lwt_log_level level)
{
	atomic_store_explicit(&level_now, level, memory_order_relaxed);
}
enum lwt_log_level lwt_log_get_level(void) { return cur_level; }

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };
/* sd-daemon.h: SD_ERR 3, SD_WARNING 4, SD_INFO 6, SD_DEBUG 7. */
static const int level_prio[] = { 3, 4, 6, 7, 7 };

bool lwt_log_journal_stream(const char *env, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (!env || sscanf(env, "%llu:%llu%n", &dev, &ino, &n) != 2 || env[n] || fstat(fd, &st))
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void detect_journal(void)
{
	to_journal = lwt_log_journal_stream(getenv("JOURNAL_STREAM"), STDERR_FILENO);
}

size_t lwt_log_format(char *buf, size_t len, enum lwt_log_level level, bool journal,
		      const struct timespec *ts, const char *fmt, va_list ap)
{
	struct tm tm;
	size_t n = 0;
	int r;

	if (level > LWT_LOG_TRACE)
		level = LWT_LOG_TRACE;
	if (journal) {
		r = snprintf(buf, len, "<%d>", level_prio[level]);
	} else {
		gmtime_r(&ts->tv_sec, &tm);
		n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
		r = snprintf(buf + n, len - n, ".%03ldZ %-5s ", ts->tv_nsec / 1000000,
			     level_names[level]);
	}
	n += r > 0 ? (size_t)r : 0;
	if (n >= len)
		n = len - 1;
	vsnprintf(buf + n, len - n, fmt, ap);
	n = strlen(buf);
	/* One line per message: a message's own newlines (libbpf's end in
	 * one) are cut at the end and become spaces inside. */
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	for (char *p = buf; (p = strchr(p, '\n')); )
		*p = ' ';
	return n;
}

void lwt_vlog(enum lwt_log_level level, const char *fmt, va_list ap)
{
	struct timespec ts;
	char buf[1024];

	pthread_once(&journal_once, detect_journal);
	clock_gettime(CLOCK_REALTIME, &ts);
	lwt_log_format(buf, sizeof(buf), level, to_journal, &ts, fmt, ap);
	fprintf(stderr, "%s\n", buf);
}

void lwt_log(enum lwt_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > cur_level)
		return;
	va_start(ap, fmt);
	lwt_vlog(level, fmt, ap);
	va_end(ap);
}

bool lwt_ratelimit_ok(struct lwt_ratelimit *rl, unsigned int burst)
{
	struct timespec ts;
	long long now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	if (now - rl->window_start_ms >= 1000) {
		if (rl->suppressed)
			lwt_log(LWT_LOG_WARN, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start_ms = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < burst) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	return false;
}

/* libbpf: warnings as warnings, its info lines at debug, its debug lines
 * (section by section, relocation by relocation) only at trace. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum lwt_log_level l = level == LIBBPF_WARN ? LWT_LOG_WARN :
			       level == LIBBPF_INFO ? LWT_LOG_DEBUG : LWT_LOG_TRACE;

	if (l > cur_level)
		return 0;
	lwt_vlog(l, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum lwt_log_level l = level == LIBXDP_WARN ? LWT_LOG_WARN :
			       level == LIBXDP_INFO ? LWT_LOG_DEBUG : LWT_LOG_TRACE;

	if (l > cur_level)
		return 0;
	lwt_vlog(l, fmt, ap);
	return 0;
}

void lwt_log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
