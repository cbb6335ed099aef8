// SPDX-License-Identifier: MIT
/* Micro-benchmark of the Internet checksum over one 1448-byte segment
 * payload: lwt_csum64 (AVX2 where the CPU has it) against the scalar sum.
 * Prints nanoseconds per call; a benchmark, not a test. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "faketcp.h"

#define LEN 1448
#define ROUNDS 2000000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	static uint8_t buf[LEN];
	volatile uint64_t sink = 0;
	double t0, simd, scalar;
	int i;

	for (i = 0; i < LEN; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	t0 = now_s();
	for (i = 0; i < ROUNDS; i++)
		sink += lwt_csum64((uint64_t)i, buf, LEN);
	simd = (now_s() - t0) / ROUNDS * 1e9;
	t0 = now_s();
	for (i = 0; i < ROUNDS; i++)
		sink += lwt_csum64_scalar((uint64_t)i, buf, LEN);
	scalar = (now_s() - t0) / ROUNDS * 1e9;
	printf("checksum of %d bytes: lwt_csum64 %.1f ns, scalar %.1f ns (%.1fx)\n", LEN, simd,
	       scalar, scalar / simd);
	return 0;
}
