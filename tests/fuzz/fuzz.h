/* SPDX-License-Identifier: MIT */
/* Helpers shared by the libFuzzer targets: a reader that takes typed
 * values off the input (zeros once it runs out, so every input is valid),
 * an invariant check that aborts with a message (libFuzzer then writes the
 * reproducer), quiet logs, and a private network namespace for targets
 * whose code talks to the kernel (routes, netlink, the control socket,
 * name lookups): nothing they do reaches the host's tables or network. */
#ifndef LWT_FUZZ_H
#define LWT_FUZZ_H

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t hi = fz_u8(f);

	return (uint16_t)(hi << 8 | fz_u8(f));
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t hi = fz_u16(f);

	return hi << 16 | fz_u16(f);
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t hi = fz_u32(f);

	return hi << 32 | fz_u32(f);
}

/* Up to want bytes (fewer at the end of the input); their count. */
static inline size_t fz_take(struct fz *f, size_t want, const uint8_t **out)
{
	size_t n = want < f->n ? want : f->n;

	*out = f->p;
	f->p += n;
	f->n -= n;
	return n;
}

/* Exactly n bytes into out, zero-padded past the end of the input. */
static inline void fz_copy(struct fz *f, void *out, size_t n)
{
	const uint8_t *p;
	size_t got = fz_take(f, n, &p);

	memcpy(out, p, got);
	memset((uint8_t *)out + got, 0, n - got);
}

#define FZ_CHECK(cond, ...)                                                            \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n  ", __FILE__, \
				__LINE__, #cond);                                      \
			fprintf(stderr, __VA_ARGS__);                                  \
			fprintf(stderr, "\n");                                         \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* Errors only (FUZZ_LOG=3 shows everything up to debug, for a replay). */
static inline void fz_quiet(void)
{
	const char *v = getenv("FUZZ_LOG");

	lwt_log_set_level(v ? (enum lwt_log_level)atoi(v) : LWT_LOG_ERROR);
}

/* Move the process into a network namespace of its own (root, or a user
 * namespace where the kernel allows it). Exits when neither works: the
 * target would otherwise touch the host. */
static inline void fz_private_netns(const char *target)
{
	if (unshare(CLONE_NEWNET) && unshare(CLONE_NEWUSER | CLONE_NEWNET)) {
		fprintf(stderr, "%s: couldn't enter a network namespace of its own: %s "
			"(run as root)\n", target, strerror(errno));
		exit(1);
	}
}

#endif
