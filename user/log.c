// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

/* Set by the control thread (at start, at a reload), read by every thread. */
static _Atomic int level_now = LWT_LOG_INFO;
#define cur_level ((enum lwt_log_level)atomic_load_explicit(&level_now, memory_order_relaxed))

void lwt_log_set_level(enum lwt_log_level level)
{
	atomic_store_explicit(&level_now, level, memory_order_relaxed);
}
enum lwt_log_level lwt_log_get_level(void) { return cur_level; }

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static void vlog(enum lwt_log_level level, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char buf[1024];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	n += snprintf(buf + n, sizeof(buf) - n, ".%03ld %-5s ", ts.tv_nsec / 1000000,
		      level_names[level]);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	fprintf(stderr, "%s\n", buf);
}

void lwt_log(enum lwt_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > cur_level)
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
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

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum lwt_log_level l = level == LIBBPF_WARN ? LWT_LOG_WARN :
			       level == LIBBPF_INFO ? LWT_LOG_DEBUG : LWT_LOG_DEBUG;

	if (l > cur_level)
		return 0;
	vlog(l, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum lwt_log_level l = level == LIBXDP_WARN ? LWT_LOG_WARN : LWT_LOG_DEBUG;

	if (l > cur_level)
		return 0;
	vlog(l, fmt, ap);
	return 0;
}

void lwt_log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
