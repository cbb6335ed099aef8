// SPDX-License-Identifier: MIT
/* lwt-impair: a delay/loss bridge for tests (the kernel here has no netem).
 *
 *   lwt-impair IFACE_A IFACE_B [options]
 *
 * Bridges two interfaces at layer 2 with AF_PACKET sockets, one thread per
 * direction, and applies per direction: one-way delay, jitter, random loss,
 * Gilbert-Elliott burst loss, reordering and a rate cap. Options apply to
 * both directions; prefix with --ab- or --ba- for one (--ab-loss 5).
 *
 *   --delay-ms MS      one-way delay
 *   --jitter-ms MS     uniform jitter, +-MS (packets may then reorder)
 *   --loss PCT         random loss
 *   --burst-loss P,R   Gilbert-Elliott: P(good->bad), P(bad->good) in %,
 *                      every packet lost in the bad state
 *   --reorder PCT      this share of packets skips the delay (overtakes)
 *   --rate-mbit R      rate cap (serialisation at R Mbit/s), tail drop
 *   --limit-pkts N     queue limit (default 1000)
 *   --seed N           random seed (default 1)
 *   --ready-file F     created once both sockets run
 *   --stats-file F     per-direction counters as JSON, written at exit
 *
 * Frames larger than the interface MTU cannot be re-sent: turn TSO/GSO off
 * on the endpoints (ethtool -K IF tso off gso off) when bulk TCP crosses. */
#include <errno.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define POOL 8192
#define FRAME 2048

struct params {
	double delay_ms, jitter_ms, loss, burst_p, burst_r, reorder, rate_mbit;
	int limit;
};

struct pkt {
	uint64_t due;		/* departure, ns */
	uint64_t seq;		/* FIFO among equal departures */
	uint16_t len;
	uint8_t data[FRAME];
};

struct dir {
	const char *name;
	int rx, tx;
	struct params p;
	uint64_t rng;
	int bad;		/* Gilbert-Elliott state */
	uint64_t last_due;	/* rate cap: when the link frees */
	struct pkt *pool;
	int *heap, n;		/* min-heap of pool indexes by (due, seq) */
	int *free_list, nfree;
	uint64_t seq;
	_Atomic uint64_t received, forwarded, dropped_loss, dropped_burst, dropped_queue, reordered;
};

static atomic_int stop_flag;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* xorshift64*: per direction, so a seed reproduces a run. */
static double urand(struct dir *d)
{
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return (double)((d->rng * 2685821657736338717ull) >> 11) / (double)(1ull << 53);
}

static bool before(struct dir *d, int a, int b)
{
	struct pkt *x = &d->pool[a], *y = &d->pool[b];

	return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static void heap_push(struct dir *d, int i)
{
	int c = d->n++;

	d->heap[c] = i;
	while (c && before(d, d->heap[c], d->heap[(c - 1) / 2])) {
		int p = (c - 1) / 2, t = d->heap[p];

		d->heap[p] = d->heap[c];
		d->heap[c] = t;
		c = p;
	}
}

static int heap_pop(struct dir *d)
{
	int top = d->heap[0], c = 0;

	d->heap[0] = d->heap[--d->n];
	for (;;) {
		int l = 2 * c + 1, r = l + 1, m = c, t;

		if (l < d->n && before(d, d->heap[l], d->heap[m]))
			m = l;
		if (r < d->n && before(d, d->heap[r], d->heap[m]))
			m = r;
		if (m == c)
			break;
		t = d->heap[m];
		d->heap[m] = d->heap[c];
		d->heap[c] = t;
		c = m;
	}
	return top;
}

static void on_frame(struct dir *d, const uint8_t *buf, size_t len)
{
	struct params *p = &d->p;
	uint64_t now = now_ns(), due;
	struct pkt *k;
	int i;

	d->received++;
	if (p->burst_p > 0 || p->burst_r > 0) {
		if (!d->bad && urand(d) * 100 < p->burst_p)
			d->bad = 1;
		else if (d->bad && urand(d) * 100 < p->burst_r)
			d->bad = 0;
		if (d->bad) {
			d->dropped_burst++;
			return;
		}
	}
	if (p->loss > 0 && urand(d) * 100 < p->loss) {
		d->dropped_loss++;
		return;
	}
	if (d->n >= p->limit || !d->nfree) {
		d->dropped_queue++;
		return;
	}
	due = now;
	if (p->reorder > 0 && urand(d) * 100 < p->reorder) {
		d->reordered++;
	} else {
		double ms = p->delay_ms;

		if (p->jitter_ms > 0)
			ms += (urand(d) * 2 - 1) * p->jitter_ms;
		if (ms > 0)
			due += (uint64_t)(ms * 1e6);
	}
	if (p->rate_mbit > 0) {
		/* Serialisation: the link carries one frame after another. */
		uint64_t tx = (uint64_t)(len * 8 * 1000.0 / p->rate_mbit);
		uint64_t start = d->last_due > now ? d->last_due : now;

		d->last_due = start + tx;
		due += d->last_due - now;
	}
	i = d->free_list[--d->nfree];
	k = &d->pool[i];
	k->due = due;
	k->seq = d->seq++;
	k->len = (uint16_t)len;
	memcpy(k->data, buf, len);
	heap_push(d, i);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (; len > 1; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len)
		s += (uint32_t)p[0] << 8;
	return s;
}

/* A frame a local stack sent with checksum offload (veth) still holds only
 * the pseudo-header sum in its TCP/UDP checksum: the receiving kernel would
 * drop it once we re-send it as a plain frame. Finish the sum (IPv4). */
static void fix_csum(uint8_t *f, size_t len)
{
	size_t ihl, l4len, off;
	uint32_t s;
	uint8_t proto;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return;
	ihl = (size_t)(f[14] & 15) * 4;
	proto = f[14 + 9];
	if (ihl < 20 || len < 14 + ihl || (f[14 + 6] & 0x3f) || f[14 + 7])
		return;		/* fragments: leave alone */
	l4len = (size_t)(f[16] << 8 | f[17]);
	if (l4len < ihl || 14 + l4len > len)
		return;
	l4len -= ihl;
	if (proto == 6 && l4len >= 20)
		off = 16;
	else if (proto == 17 && l4len >= 8)
		off = 6;
	else
		return;
	f[14 + ihl + off] = f[14 + ihl + off + 1] = 0;
	s = sum16(f + 14 + 12, 8, 0) + proto + (uint32_t)l4len;
	s = sum16(f + 14 + ihl, l4len, s);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = ~s & 0xffff;
	if (proto == 17 && !s)
		s = 0xffff;
	f[14 + ihl + off] = (uint8_t)(s >> 8);
	f[14 + ihl + off + 1] = (uint8_t)s;
}

static void *run_dir(void *arg)
{
	struct dir *d = arg;
	uint8_t buf[FRAME];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} cbuf;

	while (!atomic_load(&stop_flag)) {
		struct pollfd pfd = { .fd = d->rx, .events = POLLIN };
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 50000000 };
		uint64_t now = now_ns();

		while (d->n && d->pool[d->heap[0]].due <= now) {
			int i = heap_pop(d);

			if (send(d->tx, d->pool[i].data, d->pool[i].len, 0) == d->pool[i].len)
				d->forwarded++;
			else
				d->dropped_queue++;
			d->free_list[d->nfree++] = i;
		}
		if (d->n) {
			uint64_t wait = d->pool[d->heap[0]].due - now;

			if (wait < 50000000ull) {
				ts.tv_sec = 0;
				ts.tv_nsec = (long)wait;
			}
		}
		if (ppoll(&pfd, 1, &ts, NULL) > 0 && (pfd.revents & POLLIN)) {
			for (int b = 0; b < 64; b++) {
				struct sockaddr_ll sll;
				struct iovec iov = { buf, sizeof(buf) };
				struct msghdr mh = { .msg_name = &sll, .msg_namelen = sizeof(sll),
						     .msg_iov = &iov, .msg_iovlen = 1,
						     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
				struct cmsghdr *c;
				ssize_t n = recvmsg(d->rx, &mh, MSG_DONTWAIT);

				if (n <= 0)
					break;
				if (sll.sll_pkttype == PACKET_OUTGOING)
					continue;
				for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
					struct tpacket_auxdata aux;

					if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
						continue;
					memcpy(&aux, CMSG_DATA(c), sizeof(aux));
					if (aux.tp_status & TP_STATUS_CSUMNOTREADY)
						fix_csum(buf, (size_t)n);
				}
				on_frame(d, buf, (size_t)n);
			}
		}
	}
	return NULL;
}

static int open_if(const char *name)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	int fd, one = 1, bufsz = 4 << 20;

	sll.sll_ifindex = (int)if_nametoindex(name);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "lwt-impair: no interface '%s'\n", name);
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "lwt-impair: couldn't open '%s': %s\n", name, strerror(errno));
		return -1;
	}
	mr.mr_ifindex = sll.sll_ifindex;
	setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
#ifdef PACKET_IGNORE_OUTGOING
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
#endif
	setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz));
	return fd;
}

static int set_opt(struct params *p, const char *name, const char *v)
{
	if (!strcmp(name, "delay-ms"))
		p->delay_ms = atof(v);
	else if (!strcmp(name, "jitter-ms"))
		p->jitter_ms = atof(v);
	else if (!strcmp(name, "loss"))
		p->loss = atof(v);
	else if (!strcmp(name, "burst-loss")) {
		if (sscanf(v, "%lf,%lf", &p->burst_p, &p->burst_r) != 2)
			return -1;
	} else if (!strcmp(name, "reorder"))
		p->reorder = atof(v);
	else if (!strcmp(name, "rate-mbit"))
		p->rate_mbit = atof(v);
	else if (!strcmp(name, "limit-pkts"))
		p->limit = atoi(v);
	else
		return -1;
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

static void print_stats(FILE *f, struct dir *d, int n, bool json)
{
	if (json)
		fprintf(f, "{");
	for (int i = 0; i < n; i++) {
		if (json)
			fprintf(f, "%s\"%s\":{\"received\":%lu,\"forwarded\":%lu,\"dropped_loss\":%lu,"
				"\"dropped_burst\":%lu,\"dropped_queue\":%lu,\"reordered\":%lu}",
				i ? "," : "", d[i].name, (unsigned long)d[i].received,
				(unsigned long)d[i].forwarded, (unsigned long)d[i].dropped_loss,
				(unsigned long)d[i].dropped_burst, (unsigned long)d[i].dropped_queue,
				(unsigned long)d[i].reordered);
		else
			fprintf(f, "%s: received %lu forwarded %lu dropped_loss %lu dropped_burst %lu "
				"dropped_queue %lu reordered %lu\n", d[i].name,
				(unsigned long)d[i].received, (unsigned long)d[i].forwarded,
				(unsigned long)d[i].dropped_loss, (unsigned long)d[i].dropped_burst,
				(unsigned long)d[i].dropped_queue, (unsigned long)d[i].reordered);
	}
	if (json)
		fprintf(f, "}\n");
}

int main(int argc, char **argv)
{
	static struct dir dirs[2];
	struct params both = { .limit = 1000 };
	const char *ready = NULL, *stats = NULL;
	unsigned long seed = 1;
	pthread_t th[2];
	int fa, fb, i;
	bool set_ab[16] = { 0 };

	(void)set_ab;
	if (argc < 3) {
		fprintf(stderr, "usage: lwt-impair IFACE_A IFACE_B [--[ab-|ba-]delay-ms MS] [--jitter-ms MS]\n"
				"       [--loss PCT] [--burst-loss P,R] [--reorder PCT] [--rate-mbit R]\n"
				"       [--limit-pkts N] [--seed N] [--ready-file F] [--stats-file F]\n");
		return 2;
	}
	dirs[0].p = both;
	dirs[1].p = both;
	/* First pass: options for both directions; second: per direction, so
	 * that --ab-loss wins over --loss whatever the order. */
	for (int pass = 0; pass < 2; pass++) {
		for (i = 3; i < argc; i++) {
			const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

			if (strncmp(a, "--", 2) || !v) {
				fprintf(stderr, "lwt-impair: bad argument '%s'\n", a);
				return 2;
			}
			a += 2;
			i++;
			if (!strcmp(a, "seed")) {
				seed = strtoul(v, NULL, 0);
			} else if (!strcmp(a, "ready-file")) {
				ready = v;
			} else if (!strcmp(a, "stats-file")) {
				stats = v;
			} else if (!strncmp(a, "ab-", 3) || !strncmp(a, "ba-", 3)) {
				if (pass == 1 && set_opt(&dirs[a[0] == 'b'].p, a + 3, v)) {
					fprintf(stderr, "lwt-impair: bad option --%s\n", a);
					return 2;
				}
			} else if (pass == 0) {
				if (set_opt(&dirs[0].p, a, v) || set_opt(&dirs[1].p, a, v)) {
					fprintf(stderr, "lwt-impair: bad option --%s\n", a);
					return 2;
				}
			}
		}
	}
	fa = open_if(argv[1]);
	fb = open_if(argv[2]);
	if (fa < 0 || fb < 0)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	dirs[0].name = "ab";
	dirs[0].rx = fa;
	dirs[0].tx = fb;
	dirs[1].name = "ba";
	dirs[1].rx = fb;
	dirs[1].tx = fa;
	for (i = 0; i < 2; i++) {
		struct dir *d = &dirs[i];

		d->rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)i + 1;
		d->pool = calloc(POOL, sizeof(*d->pool));
		d->heap = calloc(POOL, sizeof(int));
		d->free_list = calloc(POOL, sizeof(int));
		if (!d->pool || !d->heap || !d->free_list) {
			fprintf(stderr, "lwt-impair: out of memory\n");
			return 1;
		}
		if (d->p.limit > POOL || d->p.limit < 1)
			d->p.limit = POOL;
		for (int k = 0; k < POOL; k++)
			d->free_list[d->nfree++] = k;
	}
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, run_dir, &dirs[i]);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	print_stats(stderr, dirs, 2, false);
	if (stats) {
		FILE *f = fopen(stats, "w");

		if (f) {
			print_stats(f, dirs, 2, true);
			fclose(f);
		}
	}
	return 0;
}
