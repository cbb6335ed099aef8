/* SPDX-License-Identifier: MIT */
/* Leveled, printf-checked logging to stderr: "<6>message" lines for the
 * journal when stderr is its stream (JOURNAL_STREAM), else
 * "2026-01-02T03:04:05.678Z info  message". Per-packet messages go through
 * lwt_log_rl() so a flood of bad packets cannot flood the log. */
#ifndef LWT_LOG_H
#define LWT_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum lwt_log_level {
	LWT_LOG_ERROR = 0,
	LWT_LOG_WARN  = 1,
	LWT_LOG_INFO  = 2,
	LWT_LOG_DEBUG = 3,
	LWT_LOG_TRACE = 4,	/* debug plus libbpf's and libxdp's own debug output */
};

void lwt_log_set_level(enum lwt_log_level level);
enum lwt_log_level lwt_log_get_level(void);
void lwt_log(enum lwt_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* lwt_log without the level check (callers have made it). */
void lwt_vlog(enum lwt_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* One line into buf (no newline; cut to len): journal shape or dated shape
 * (ts, UTC). Returns its length. */
size_t lwt_log_format(char *buf, size_t len, enum lwt_log_level level, bool journal,
		      const struct timespec *ts, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));
/* True if env ("DEV:INO", as systemd sets JOURNAL_STREAM) names the file
 * open on fd. */
bool lwt_log_journal_stream(const char *env, int fd);
/* At most `burst` messages per second for one call site's `state`. */
struct lwt_ratelimit {
	long long window_start_ms;
	unsigned int count;
	unsigned int suppressed;
};
bool lwt_ratelimit_ok(struct lwt_ratelimit *rl, unsigned int burst);
/* Route libbpf and libxdp messages through lwt_log. */
void lwt_log_route_libbpf(void);

#define lwt_err(...)   lwt_log(LWT_LOG_ERROR, __VA_ARGS__)
#define lwt_warn(...)  lwt_log(LWT_LOG_WARN, __VA_ARGS__)
#define lwt_info(...)  lwt_log(LWT_LOG_INFO, __VA_ARGS__)
#define lwt_dbg(...)   do { if (lwt_log_get_level() >= LWT_LOG_DEBUG) lwt_log(LWT_LOG_DEBUG, __VA_ARGS__); } while (0)
#define lwt_log_rl(level, ...) do {                                  \
		static _Thread_local struct lwt_ratelimit rl__;                  \
		if (lwt_ratelimit_ok(&rl__, 5))                      \
			lwt_log(level, __VA_ARGS__);                 \
	} while (0)

#endif
