/* SPDX-License-Identifier: MIT */
/* Leveled, printf-checked logging to stderr. Per-packet messages go through
 * lwt_log_ratelimited() so a flood of bad packets cannot flood the log. */
#ifndef LWT_LOG_H
#define LWT_LOG_H

#include <stdbool.h>

enum lwt_log_level {
	LWT_LOG_ERROR = 0,
	LWT_LOG_WARN  = 1,
	LWT_LOG_INFO  = 2,
	LWT_LOG_DEBUG = 3,
};

void lwt_log_set_level(enum lwt_log_level level);
enum lwt_log_level lwt_log_get_level(void);
void lwt_log(enum lwt_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
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
