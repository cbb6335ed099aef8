// SPDX-License-Identifier: MIT
/* lwt-inject: put hostile packets on the wire for lwt's tests.
 *   lwt-inject replay IFACE FILE.pcap        resend every frame of a capture
 *   lwt-inject tcp[-via IFACE DSTMAC] SRC:PORT DST:PORT SEQ ACK FLAGS [PAYLOAD_HEX [COUNT]]
 *                                            one TCP segment (or COUNT) via a
 *                                            raw socket (FLAGS: letters of
 *                                            S A R F P; SEQ or ACK "r":
 *                                            random for each segment)
 *   lwt-inject flip IFACE FILE.pcap OFFSET   resend the capture with the byte
 *                                            at OFFSET of each frame's TCP
 *                                            payload flipped (checksum fixed)
 *   lwt-inject flip-via IFACE DSTMAC FILE.pcap OFFSET
 *                                            the same, each frame readdressed
 *                                            from IFACE to DSTMAC (frames
 *                                            captured on another link)
 *   lwt-inject hello-replay FILE.pcap DST:PORT [HOLD_S]
 *                                            take the first HELLO frame of the
 *                                            capture, send it on a new TCP
 *                                            connection (a kernel socket: a
 *                                            new flow, as an attacker would)
 *                                            and print the server's answer:
 *                                            "reject N", "hello_ack" or "none";
 *                                            then keep the connection open
 *                                            HOLD_S seconds (the server must
 *                                            free the flow by itself)
 *   lwt-inject guess DST:PORT TUNNEL_IP COUNT [CLIENT_ID_HEX [HOLD_S [TS_MS]]]
 *                                            COUNT online guesses at the key,
 *                                            each on a new TCP connection: a
 *                                            fresh HELLO (its share the P-256
 *                                            generator, a valid point nobody's
 *                                            password makes; client_id random
 *                                            or given), then on a HELLO_ACK a
 *                                            CONFIRM of random bytes; one line
 *                                            per guess: the server's answers,
 *                                            "hello_ack reject N", "reject N"
 *                                            or "none". HOLD_S > 0: no CONFIRM,
 *                                            the connection held HOLD_S s
 *                                            after the answer ("hello_ack").
 *                                            CLIENT_ID_HEX "-": random. TS_MS:
 *                                            added to the HELLO's timestamp
 *   lwt-inject frames FILE.pcap              one line per lwt frame in the
 *                                            capture's TCP payloads:
 *                                            "SRC:PORT DST:PORT TYPE LEN MSG"
 *                                            (hex; MSG is the clear message
 *                                            type of an AUTHED frame, else -)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint32_t sum16(const void *p, size_t n, uint32_t s)
{
	const uint8_t *b = p;

	for (; n > 1; n -= 2, b += 2)
		s += (b[0] << 8) | b[1];
	if (n)
		s += b[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void tcp_csum(uint8_t *ip)
{
	size_t ihl = (ip[0] & 15) * 4, tot = (ip[2] << 8) | ip[3], tl = tot - ihl;
	uint8_t *t = ip + ihl;
	uint32_t s = 0;

	t[16] = t[17] = 0;
	s = sum16(ip + 12, 8, s);
	s += 6 + tl;
	s = sum16(t, tl, s);
	uint16_t c = fold(s);
	t[16] = c >> 8;
	t[17] = c & 0xff;
}

static uint8_t new_dst[6], new_src[6];
static int readdress;

static int mac_parse(const char *s, uint8_t m[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6 ? 0 : -1;
}

static int if_mac(const char *ifname, uint8_t m[6])
{
	char path[128], line[64];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	f = fopen(path, "r");
	if (!f)
		return -1;
	r = fgets(line, sizeof(line), f) ? mac_parse(line, m) : -1;
	fclose(f);
	return r;
}

static int replay(const char *ifname, const char *file, long flip)
{
	FILE *f = fopen(file, "rb");
	uint8_t gh[24], rh[16], buf[65536];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd, n = 0;

	if (!f) {
		fprintf(stderr, "lwt-inject: couldn't open '%s': %s\n", file, strerror(errno));
		return 1;
	}
	if (fread(gh, 1, 24, f) != 24 || *(uint32_t *)gh != 0xa1b2c3d4 || *(uint32_t *)(gh + 20) != 1) {
		fprintf(stderr, "lwt-inject: '%s' is not a little-endian Ethernet pcap\n", file);
		return 1;
	}
	sll.sll_ifindex = if_nametoindex(ifname);
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (!sll.sll_ifindex || fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "lwt-inject: couldn't open '%s': %s\n", ifname, strerror(errno));
		return 1;
	}
	while (fread(rh, 1, 16, f) == 16) {
		uint32_t caplen = *(uint32_t *)(rh + 8);

		if (caplen > sizeof(buf) || fread(buf, 1, caplen, f) != caplen)
			break;
		if (readdress && caplen >= 14) {
			memcpy(buf, new_dst, 6);
			memcpy(buf + 6, new_src, 6);
		}
		if (flip >= 0 && caplen > 14 + 20 && buf[12] == 8 && buf[13] == 0) {
			uint8_t *ip = buf + 14;
			size_t ihl = (ip[0] & 15) * 4, doff = (ip[ihl + 12] >> 4) * 4;
			size_t tot = (ip[2] << 8) | ip[3];
			size_t off = ihl + doff + flip;

			if (off >= tot)
				continue;	/* no payload byte to flip: skip the frame */
			ip[off] ^= 0x01;
			tcp_csum(ip);
		}
		if (send(fd, buf, caplen, 0) < 0)
			fprintf(stderr, "lwt-inject: send: %s\n", strerror(errno));
		else
			n++;
	}
	printf("%d\n", n);
	return 0;
}

static int parse_ep(const char *s, struct sockaddr_in *a)
{
	char h[64];
	const char *c = strrchr(s, ':');

	if (!c || c - s >= (long)sizeof(h))
		return -1;
	memcpy(h, s, c - s);
	h[c - s] = 0;
	a->sin_family = AF_INET;
	a->sin_port = htons(atoi(c + 1));
	return inet_pton(AF_INET, h, &a->sin_addr) == 1 ? 0 : -1;
}

static const char *via_if, *via_mac;

/* A sequence or ack argument: a number, or "r", random for each segment. */
static uint32_t seq_arg(const char *a)
{
	return strcmp(a, "r") ? (uint32_t)strtoul(a, NULL, 0) :
	       (uint32_t)random() << 17 ^ (uint32_t)random();
}

static int tcp(char **av, int ac)
{
	struct sockaddr_in src, dst;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_halen = 6 };
	uint8_t p[1500] = { 0 };
	size_t plen = 0, tot;
	uint8_t fl = 0;
	const char *c;
	long i, count = ac > 6 ? atol(av[6]) : 1;
	int fd, one = 1;

	if (parse_ep(av[0], &src) || parse_ep(av[1], &dst) || count < 1) {
		fprintf(stderr, "lwt-inject: bad endpoint or count\n");
		return 2;
	}
	for (c = av[4]; *c; c++)
		fl |= *c == 'F' ? 1 : *c == 'S' ? 2 : *c == 'R' ? 4 : *c == 'P' ? 8 : *c == 'A' ? 16 : 0;
	if (ac > 5)
		for (c = av[5]; c[0] && c[1] && plen < 1400; c += 2)
			sscanf(c, "%2hhx", &p[40 + plen++]);
	tot = 40 + plen;
	p[0] = 0x45;
	p[2] = tot >> 8;
	p[3] = tot & 0xff;
	p[6] = 0x40;
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, &src.sin_addr, 4);
	memcpy(p + 16, &dst.sin_addr, 4);
	uint16_t ic = fold(sum16(p, 20, 0));
	p[10] = ic >> 8;
	p[11] = ic & 0xff;
	memcpy(p + 20, &src.sin_port, 2);
	memcpy(p + 22, &dst.sin_port, 2);
	p[32] = 5 << 4;
	p[33] = fl;
	p[34] = 0xff;
	p[35] = 0xff;
	if (via_if) {
		/* AF_PACKET bypasses the sender's own netfilter OUTPUT hook. */
		sll.sll_ifindex = if_nametoindex(via_if);
		if (!sll.sll_ifindex || sscanf(via_mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &sll.sll_addr[0],
		    &sll.sll_addr[1], &sll.sll_addr[2], &sll.sll_addr[3], &sll.sll_addr[4],
		    &sll.sll_addr[5]) != 6) {
			fprintf(stderr, "lwt-inject: bad interface or MAC\n");
			return 2;
		}
		fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	} else {
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		if (fd >= 0)
			setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	}
	if (fd < 0) {
		fprintf(stderr, "lwt-inject: socket: %s\n", strerror(errno));
		return 1;
	}
	srandom((unsigned int)time(NULL) ^ (unsigned int)getpid());
	for (i = 0; i < count; i++) {
		uint32_t seq = htonl(seq_arg(av[2])), ack = htonl(seq_arg(av[3]));
		ssize_t r;

		memcpy(p + 24, &seq, 4);
		memcpy(p + 28, &ack, 4);
		tcp_csum(p);
		r = via_if ? sendto(fd, p, tot, 0, (struct sockaddr *)&sll, sizeof(sll)) :
			     sendto(fd, p, tot, 0, (struct sockaddr *)&dst, sizeof(dst));
		if (r < 0) {
			fprintf(stderr, "lwt-inject: send: %s\n", strerror(errno));
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}

/* pcap_walk FILE CB CTX: call CB with each IPv4/TCP frame's IP header, its
 * TCP payload and the payload's length; CB returns nonzero to stop. */
typedef int (*seg_fn)(void *ctx, const uint8_t *ip, const uint8_t *pl, size_t plen);

static int pcap_walk(const char *file, seg_fn cb, void *ctx)
{
	FILE *f = fopen(file, "rb");
	uint8_t gh[24], rh[16];
	static uint8_t buf[65536];
	int r = 0;

	if (!f) {
		fprintf(stderr, "lwt-inject: couldn't open '%s': %s\n", file, strerror(errno));
		return -1;
	}
	if (fread(gh, 1, 24, f) != 24 || *(uint32_t *)gh != 0xa1b2c3d4 || *(uint32_t *)(gh + 20) != 1) {
		fprintf(stderr, "lwt-inject: '%s' is not a little-endian Ethernet pcap\n", file);
		fclose(f);
		return -1;
	}
	while (!r && fread(rh, 1, 16, f) == 16) {
		uint32_t caplen = *(uint32_t *)(rh + 8);
		const uint8_t *ip = buf + 14;
		size_t ihl, doff, tot;

		if (caplen > sizeof(buf) || fread(buf, 1, caplen, f) != caplen)
			break;
		if (caplen < 14 + 20 || buf[12] != 8 || buf[13] != 0 || (ip[0] >> 4) != 4 || ip[9] != 6)
			continue;
		ihl = (ip[0] & 15) * 4;
		tot = (ip[2] << 8) | ip[3];
		if (tot > caplen - 14)
			tot = caplen - 14;
		if (tot < ihl + 20)
			continue;
		doff = (ip[ihl + 12] >> 4) * 4;
		if (tot < ihl + doff)
			continue;
		r = cb(ctx, ip, ip + ihl + doff, tot - ihl - doff);
	}
	fclose(f);
	return r;
}

/* docs/PROTOCOL.md, protocol version 2 (a copy: the tools build without
 * lwt's headers). */
#define FT_HELLO 0x01
#define FT_HELLO_ACK 0x02
#define FT_REJECT 0x03
#define FT_CONFIRM 0x04
#define FT_AUTHED 0x11
#define PROTO_VERSION 2
#define HELLO_BODY 128
#define HELLO_FRAME_LEN (4 + HELLO_BODY)
#define CONFIRM_FRAME_LEN (4 + 32)
#define REC_HDR 16	/* frame header, session_id, counter */

static int find_hello(void *ctx, const uint8_t *ip, const uint8_t *pl, size_t plen)
{
	(void)ip;
	if (plen < HELLO_FRAME_LEN || pl[0] != FT_HELLO || pl[1] ||
	    ((pl[2] << 8) | pl[3]) != HELLO_BODY)
		return 0;
	memcpy(ctx, pl, HELLO_FRAME_LEN);
	return 1;
}

/* The first whole frame the server sends on fd within 5 s: its length, or
 * 0 if none came. */
static size_t read_frame(int fd, uint8_t *ans, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < 4 || got < 4 + (size_t)((ans[2] << 8) | ans[3])) {
		ssize_t n;

		if (got == cap || poll(&pfd, 1, 5000) <= 0)
			return 0;
		n = read(fd, ans + got, cap - got);
		if (n <= 0)
			return 0;
		got += n;
	}
	return 4 + (size_t)((ans[2] << 8) | ans[3]);
}

static void print_answer(const uint8_t *ans, size_t len, const char *end)
{
	if (len == 8 && ans[0] == FT_REJECT)
		printf("reject %u%s", ans[4], end);
	else if (len >= 4 && ans[0] == FT_HELLO_ACK)
		printf("hello_ack%s", end);
	else
		printf("none%s", end);
}

static int urandom(void *buf, size_t len)
{
	FILE *f = fopen("/dev/urandom", "rb");
	int ok = f && fread(buf, 1, len, f) == len;

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

static int guess(const char *dst, const char *tun_ip, int count, const char *id_hex,
		 unsigned int hold_s, long long ts_ms)
{
	/* The P-256 generator, uncompressed: a share on the curve. */
	static const uint8_t g[65] = {
		0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
		0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4,
		0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a,
		0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33,
		0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
	};
	uint8_t hello[HELLO_FRAME_LEN], confirm[CONFIRM_FRAME_LEN], ans[512];
	struct sockaddr_in a;
	struct in_addr tip;
	struct timespec ts;
	uint64_t ms;
	size_t n;
	int fd;

	if (parse_ep(dst, &a) || inet_pton(AF_INET, tun_ip, &tip) != 1 || count <= 0) {
		fprintf(stderr, "lwt-inject: bad endpoint '%s', tunnel IP '%s' or count\n", dst,
			tun_ip);
		return 2;
	}
	for (int i = 0; i < count; i++) {
		memset(hello, 0, sizeof(hello));
		hello[0] = FT_HELLO;
		hello[3] = HELLO_BODY;
		/* body: version, flags, FEC 10+3, client_random (4), timestamp
		 * (36), client_id (44), tunnel IP (52), prefix (56), share (60) */
		hello[4] = PROTO_VERSION;
		hello[6] = 10;
		hello[7] = 3;
		clock_gettime(CLOCK_REALTIME, &ts);
		ms = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + (uint64_t)ts_ms;
		for (int k = 0; k < 8; k++)
			hello[4 + 36 + k] = (uint8_t)(ms >> (56 - 8 * k));
		memcpy(hello + 4 + 52, &tip, 4);
		hello[4 + 56] = 24;
		memcpy(hello + 4 + 60, g, sizeof(g));
		confirm[0] = FT_CONFIRM;
		confirm[1] = confirm[2] = 0;
		confirm[3] = 32;
		if (urandom(hello + 4 + 4, 32) || urandom(hello + 4 + 44, 8) ||
		    urandom(confirm + 4, 32)) {
			fprintf(stderr, "lwt-inject: couldn't read /dev/urandom\n");
			return 1;
		}
		if (id_hex && strcmp(id_hex, "-")) {
			unsigned long long id = strtoull(id_hex, NULL, 16);

			for (int k = 0; k < 8; k++)
				hello[4 + 44 + k] = (uint8_t)(id >> (56 - 8 * k));
		}
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			fprintf(stderr, "lwt-inject: couldn't connect to %s: %s\n", dst,
				strerror(errno));
			return 1;
		}
		if (write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello)) {
			fprintf(stderr, "lwt-inject: couldn't send the HELLO: %s\n", strerror(errno));
			return 1;
		}
		n = read_frame(fd, ans, sizeof(ans));
		if (n && ans[0] == FT_HELLO_ACK && hold_s) {
			print_answer(ans, n, "\n");
			fflush(stdout);
			sleep(hold_s);
			close(fd);
			continue;
		}
		if (n && ans[0] == FT_HELLO_ACK) {
			print_answer(ans, n, " ");
			if (write(fd, confirm, sizeof(confirm)) != (ssize_t)sizeof(confirm)) {
				fprintf(stderr, "lwt-inject: couldn't send the CONFIRM: %s\n",
					strerror(errno));
				return 1;
			}
			n = read_frame(fd, ans, sizeof(ans));
		}
		print_answer(ans, n, "\n");
		fflush(stdout);
		close(fd);
	}
	return 0;
}

static int hello_replay(const char *file, const char *dst, unsigned int hold_s)
{
	uint8_t hello[HELLO_FRAME_LEN], ans[512];
	struct sockaddr_in a;
	size_t got;
	int fd;

	if (pcap_walk(file, find_hello, hello) != 1) {
		fprintf(stderr, "lwt-inject: no HELLO frame in '%s'\n", file);
		return 1;
	}
	if (parse_ep(dst, &a)) {
		fprintf(stderr, "lwt-inject: bad endpoint '%s'\n", dst);
		return 2;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "lwt-inject: couldn't connect to %s: %s\n", dst, strerror(errno));
		return 1;
	}
	if (write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello)) {
		fprintf(stderr, "lwt-inject: couldn't send the HELLO: %s\n", strerror(errno));
		return 1;
	}
	/* The answer is one frame: a REJECT (8 bytes) or a HELLO_ACK (152). */
	got = read_frame(fd, ans, sizeof(ans));
	print_answer(ans, got, "\n");
	fflush(stdout);
	sleep(hold_s);
	close(fd);
	return 0;
}

static int print_frames(void *ctx, const uint8_t *ip, const uint8_t *pl, size_t plen)
{
	size_t ihl = (ip[0] & 15) * 4, off = 0;
	char sa[INET_ADDRSTRLEN], da[INET_ADDRSTRLEN];

	(void)ctx;
	inet_ntop(AF_INET, ip + 12, sa, sizeof(sa));
	inet_ntop(AF_INET, ip + 16, da, sizeof(da));
	while (off + 4 <= plen) {
		size_t len = (pl[off + 2] << 8) | pl[off + 3];

		if (off + 4 + len > plen) {
			printf("%s:%u %s:%u malformed %zu -\n", sa, (ip[ihl] << 8) | ip[ihl + 1], da,
			       (ip[ihl + 2] << 8) | ip[ihl + 3], plen - off);
			break;
		}
		printf("%s:%u %s:%u %02x %zu ", sa, (ip[ihl] << 8) | ip[ihl + 1], da,
		       (ip[ihl + 2] << 8) | ip[ihl + 3], pl[off], len);
		if (pl[off] == FT_AUTHED && len > REC_HDR - 4)
			printf("%02x\n", pl[off + REC_HDR]);
		else
			printf("-\n");
		off += 4 + len;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "replay"))
		return replay(argv[2], argv[3], -1);
	if (argc == 5 && !strcmp(argv[1], "flip"))
		return replay(argv[2], argv[3], atol(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "flip-via")) {
		if (mac_parse(argv[3], new_dst) || if_mac(argv[2], new_src)) {
			fprintf(stderr, "lwt-inject: bad MAC '%s' or interface '%s'\n", argv[3], argv[2]);
			return 2;
		}
		readdress = 1;
		return replay(argv[2], argv[4], atol(argv[5]));
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "hello-replay"))
		return hello_replay(argv[2], argv[3], argc == 5 ? (unsigned int)atoi(argv[4]) : 0);
	if (argc >= 5 && argc <= 8 && !strcmp(argv[1], "guess"))
		return guess(argv[2], argv[3], atoi(argv[4]), argc >= 6 ? argv[5] : NULL,
			     argc >= 7 ? (unsigned int)atoi(argv[6]) : 0,
			     argc == 8 ? atoll(argv[7]) : 0);
	if (argc == 3 && !strcmp(argv[1], "frames"))
		return pcap_walk(argv[2], print_frames, NULL) < 0;
	if (argc >= 7 && argc <= 9 && !strcmp(argv[1], "tcp"))
		return tcp(argv + 2, argc - 2);
	if (argc >= 9 && argc <= 11 && !strcmp(argv[1], "tcp-via")) {
		via_if = argv[2];
		via_mac = argv[3];
		return tcp(argv + 4, argc - 4);
	}
	fprintf(stderr, "usage: lwt-inject replay IFACE FILE.pcap | flip IFACE FILE.pcap OFFSET |\n"
			"       flip-via IFACE DSTMAC FILE.pcap OFFSET |\n"
			"       hello-replay FILE.pcap DST:PORT [HOLD_S] | frames FILE.pcap |\n"
			"       guess DST:PORT TUNNEL_IP COUNT [CLIENT_ID_HEX [HOLD_S [TS_MS]]] |\n"
			"       tcp SRC:PORT DST:PORT SEQ ACK FLAGS [PAYLOAD_HEX [COUNT]] |\n"
			"       tcp-via IFACE DSTMAC SRC:PORT DST:PORT SEQ ACK FLAGS [PAYLOAD_HEX [COUNT]]\n");
	return 2;
}
