// SPDX-License-Identifier: MIT
/* lwt-synflood: TCP handshakes and floods at a listener, for lwt's tests.
 *   lwt-synflood open SRC[,SRC...] DST:PORT N HOLD_S
 *       N handshakes from each SRC in turn (ports 20001..), each: SYN with Linux's
 *       options, the SYN-ACK read from a raw socket (1 s), the ACK; then
 *       the flows are held HOLD_S seconds without a byte. Prints
 *       "open K" (handshakes completed). The host's own RST to the SYN-ACK
 *       must be filtered by the caller (SRC is a raw socket's, not a
 *       kernel socket's).
 *   lwt-synflood flood NET/LEN DST:PORT SECONDS [SYN|ACK [PPS]]
 *       SYNs (ACK: ACKs of random numbers, no SYN: bad cookies) from random
 *       source addresses in NET/LEN and random ports, PPS a second (0 or
 *       none: as fast as one raw socket sends), for SECONDS. Prints
 *       "sent N rate R/s".
 * Raw IPv4 (IP_HDRINCL): needs CAP_NET_RAW. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

static uint32_t sum16(const void *p, size_t n, uint32_t s)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint32_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* IPv4+TCP segment. syn: MSS,SACK_PERM,TS,NOP,WS (Linux's SYN); else NOP,NOP,TS. */
static size_t seg(uint8_t *b, uint32_t sa, uint32_t da, uint16_t sp, uint16_t dp, uint32_t seq,
		  uint32_t ack, uint8_t flags, uint32_t tsecr)
{
	size_t ol = (flags & 0x02) ? 20 : 12, tl = 20 + ol;
	uint8_t *t = b + 20, *o = t + 20;
	uint32_t s;

	memset(b, 0, 20 + tl);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)(20 + tl));
	put16(b + 4, (uint16_t)rnd());
	put16(b + 6, 0x4000);
	b[8] = 64;
	b[9] = 6;
	memcpy(b + 12, &sa, 4);
	memcpy(b + 16, &da, 4);
	put16(b + 10, fold(sum16(b, 20, 0)));
	put16(t, sp);
	put16(t + 2, dp);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)((tl / 4) << 4);
	t[13] = flags;
	put16(t + 14, (flags & 0x02) ? 64240 : 502);
	if (flags & 0x02) {
		o[0] = 2; o[1] = 4; put16(o + 2, 1460);
		o[4] = 4; o[5] = 2;
		o[6] = 8; o[7] = 10; put32(o + 8, now_ms()); put32(o + 12, 0);
		o[16] = 1; o[17] = 3; o[18] = 3; o[19] = 7;
	} else {
		o[0] = 1; o[1] = 1;
		o[2] = 8; o[3] = 10; put32(o + 4, now_ms()); put32(o + 8, tsecr);
	}
	s = sum16(b + 12, 8, 0) + 6 + (uint32_t)tl;
	put16(t + 16, fold(sum16(t, tl, s)));
	return 20 + tl;
}

static int addr_port(const char *s, uint32_t *a, uint16_t *p)
{
	char buf[64], *c;

	snprintf(buf, sizeof(buf), "%s", s);
	c = strchr(buf, ':');
	if (!c)
		return -1;
	*c = 0;
	*p = (uint16_t)atoi(c + 1);
	return inet_pton(AF_INET, buf, a) == 1 ? 0 : -1;
}

static int raw_tx(void)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW), one = 1;

	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) {
		perror("lwt-synflood: raw socket");
		exit(2);
	}
	return fd;
}

static void tx(int fd, const uint8_t *b, size_t n, uint32_t da)
{
	struct sockaddr_in to = { .sin_family = AF_INET };

	to.sin_addr.s_addr = da;
	if (sendto(fd, b, n, 0, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != ENOBUFS &&
	    errno != EAGAIN) {
		perror("lwt-synflood: sendto");
		exit(2);
	}
}

static int do_open(const char *srcs, const char *dst, int n, int hold)
{
	uint32_t sa, da;
	uint16_t dp, sp;
	int fd = raw_tx(), rx = socket(AF_INET, SOCK_RAW, IPPROTO_TCP), k, ok = 0;
	uint8_t b[1600];
	char list[1024], *src, *save = NULL;

	if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng) || !rng)
		rng = 1;
	snprintf(list, sizeof(list), "%s", srcs);
	if (addr_port(dst, &da, &dp) || rx < 0) {
		fprintf(stderr, "lwt-synflood: bad address or no raw socket\n");
		return 2;
	}
	for (src = strtok_r(list, ",", &save); src; src = strtok_r(NULL, ",", &save))
	for (k = 0; k < n; k++) {
		if (inet_pton(AF_INET, src, &sa) != 1) {
			fprintf(stderr, "lwt-synflood: bad address %s\n", src);
			return 2;
		}
		uint32_t isn = rnd(), t0 = now_ms();

		sp = (uint16_t)(20001 + k);
		tx(fd, b, seg(b, sa, da, sp, dp, isn, 0, 0x02, 0), da);
		for (;;) {
			struct pollfd pf = { .fd = rx, .events = POLLIN };
			int wait = 1000 - (int)(now_ms() - t0);
			ssize_t r;
			size_t ihl;
			uint8_t *t;

			if (wait <= 0 || poll(&pf, 1, wait) <= 0)
				break;
			r = recv(rx, b, sizeof(b), 0);
			if (r < 40)
				continue;
			ihl = (b[0] & 15) * 4u;
			t = b + ihl;
			if ((size_t)r < ihl + 20 || memcmp(b + 12, &da, 4) || memcmp(b + 16, &sa, 4) ||
			    (t[0] << 8 | t[1]) != dp || (t[2] << 8 | t[3]) != sp ||
			    (t[13] & 0x12) != 0x12 || get32(t + 8) != isn + 1)
				continue;
			{
				uint32_t sseq = get32(t + 4), tsval = 0;
				size_t o = 20, doff = (t[12] >> 4) * 4u;

				while (o + 1 < doff && ihl + doff <= (size_t)r) {
					if (t[o] == 1) {
						o++;
						continue;
					}
					if (t[o] == 0 || t[o + 1] < 2)
						break;
					if (t[o] == 8 && t[o + 1] == 10)
						tsval = get32(t + o + 2);
					o += t[o + 1];
				}
				tx(fd, b, seg(b, sa, da, sp, dp, isn + 1, sseq + 1, 0x10, tsval), da);
			}
			ok++;
			break;
		}
	}
	printf("open %d\n", ok);
	fflush(stdout);
	sleep((unsigned int)hold);
	return 0;
}

static int do_flood(const char *net, const char *dst, int secs, int acks, uint32_t pps)
{
	char buf[64], *sl;
	uint32_t na, da, mask, start = now_ms(), sent = 0, el;
	uint16_t dp;
	int fd = raw_tx(), len;
	uint8_t b[128];

	snprintf(buf, sizeof(buf), "%s", net);
	sl = strchr(buf, '/');
	if (!sl || addr_port(dst, &da, &dp))
		return 2;
	*sl = 0;
	len = atoi(sl + 1);
	if (inet_pton(AF_INET, buf, &na) != 1 || len < 8 || len > 32)
		return 2;
	mask = len == 32 ? ~0u : ~(~0u >> len);
	if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng) || !rng)
		rng = 1;
	while ((el = now_ms() - start) < (uint32_t)secs * 1000u) {
		int i;

		if (pps && (uint64_t)sent * 1000 > (uint64_t)pps * el) {
			usleep(1000);
			continue;
		}
		for (i = 0; i < 64; i++) {
			uint32_t sa = htonl((ntohl(na) & mask) | (rnd() & ~mask));
			uint16_t sp = (uint16_t)(1024 + rnd() % 60000);

			tx(fd, b, seg(b, sa, da, sp, dp, rnd(), acks ? rnd() : 0, acks ? 0x10 : 0x02,
				      rnd()), da);
			sent++;
		}
	}
	printf("sent %u rate %u/s\n", sent, (uint32_t)((uint64_t)sent * 1000 / (el ? el : 1)));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "open"))
		return do_open(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	if (argc >= 5 && argc <= 7 && !strcmp(argv[1], "flood"))
		return do_flood(argv[2], argv[3], atoi(argv[4]), argc >= 6 && !strcmp(argv[5], "ACK"),
				argc == 7 ? (uint32_t)atol(argv[6]) : 0);
	fprintf(stderr, "usage: lwt-synflood open SRC[,SRC...] DST:PORT N HOLD_S |\n"
			"       flood NET/LEN DST:PORT SECONDS [SYN|ACK [PPS]]\n");
	return 2;
}
