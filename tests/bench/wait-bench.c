// SPDX-License-Identifier: MIT
/* Micro-benchmark of the pollers' wait: one thread wakes another through
 * an eventfd and is woken back, the waiter waiting as a poller does on
 * five descriptors, either by ppoll over all five (lwt before) or by
 * epoll_pwait2 on a set they were registered in once (dataplane.c now).
 * Prints the round trip and the waiter's CPU per wake, best of 3 runs of
 * 100,000, both threads on CPU 0 (where this VM's scheduler packs the
 * daemons) and unpinned. A benchmark, not a test. */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 100000

struct run {
	int use_epoll, pin;
	int a2b, b2a, extra[4];
	double waiter_cpu;
};

static double clock_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin0(void)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(0, &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static void *waiter(void *arg)
{
	struct run *r = arg;
	struct epoll_event ev = { .events = EPOLLIN }, got[5];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint64_t v;
	double c0;

	if (r->pin)
		pin0();
	epoll_ctl(ep, EPOLL_CTL_ADD, r->a2b, &ev);
	for (int i = 0; i < 4; i++)
		epoll_ctl(ep, EPOLL_CTL_ADD, r->extra[i], &ev);
	c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	for (int i = 0; i < ROUNDS; i++) {
		struct timespec ts = { 1, 0 };

		if (r->use_epoll) {
			epoll_pwait2(ep, got, 5, &ts, NULL);
		} else {
			struct pollfd p[5] = { { r->a2b, POLLIN, 0 } };

			for (int k = 0; k < 4; k++)
				p[k + 1] = (struct pollfd){ r->extra[k], POLLIN, 0 };
			ppoll(p, 5, &ts, NULL);
		}
		if (read(r->a2b, &v, sizeof(v)) < 0)
			break;
		v = 1;
		if (write(r->b2a, &v, sizeof(v)) < 0)
			break;
	}
	r->waiter_cpu = (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) / ROUNDS * 1e6;
	close(ep);
	return NULL;
}

/* One run: the round trip in us; the waiter's CPU per wake in *cpu. */
static double one(int use_epoll, int pin, double *cpu)
{
	struct run r = { .use_epoll = use_epoll, .pin = pin };
	pthread_t t;
	uint64_t v = 1;
	double w0, w;
	int i;

	r.a2b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r.b2a = eventfd(0, EFD_CLOEXEC);
	for (i = 0; i < 4; i++)
		r.extra[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pin)
		pin0();
	pthread_create(&t, NULL, waiter, &r);
	w0 = clock_s(CLOCK_MONOTONIC);
	for (i = 0; i < ROUNDS; i++) {
		v = 1;
		if (write(r.a2b, &v, sizeof(v)) < 0 || read(r.b2a, &v, sizeof(v)) < 0)
			break;
	}
	w = (clock_s(CLOCK_MONOTONIC) - w0) / ROUNDS * 1e6;
	pthread_join(t, NULL);
	close(r.a2b);
	close(r.b2a);
	for (i = 0; i < 4; i++)
		close(r.extra[i]);
	*cpu = r.waiter_cpu;
	return w;
}

int main(void)
{
	printf("poller wait, 5 descriptors: round trip / waiter CPU per wake, us (best of 3 x %d)\n",
	       ROUNDS);
	for (int pin = 1; pin >= 0; pin--)
		for (int e = 0; e < 2; e++) {
			double best = 1e9, bcpu = 1e9, c, w;

			for (int k = 0; k < 3; k++) {
				w = one(e, pin, &c);
				if (w < best)
					best = w;
				if (c < bcpu)
					bcpu = c;
			}
			printf("  %-13s %-9s %6.2f / %5.2f\n", e ? "epoll_pwait2" : "ppoll",
			       pin ? "one CPU" : "unpinned", best, bcpu);
		}
	return 0;
}
