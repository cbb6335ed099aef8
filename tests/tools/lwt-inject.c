// SPDX-License-Identifier: MIT
/* lwt-inject: put hostile packets on the wire for lwt's tests.
 *   lwt-inject replay IFACE FILE.pcap        resend every frame of a capture
 *   lwt-inject tcp[-via IFACE DSTMAC] SRC:PORT DST:PORT SEQ ACK FLAGS [PAYLOAD_HEX]
 *                                            one TCP segment via a raw socket
 *                                            (FLAGS: letters of S A R F P)
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

static int tcp(char **av)
{
	struct sockaddr_in src, dst;
	uint8_t p[1500] = { 0 };
	size_t plen = 0, tot;
	uint8_t fl = 0;
	const char *c;
	int fd, one = 1;

	if (parse_ep(av[0], &src) || parse_ep(av[1], &dst)) {
		fprintf(stderr, "lwt-inject: bad endpoint\n");
		return 2;
	}
	for (c = av[4]; *c; c++)
		fl |= *c == 'F' ? 1 : *c == 'S' ? 2 : *c == 'R' ? 4 : *c == 'P' ? 8 : *c == 'A' ? 16 : 0;
	if (av[5])
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
	uint32_t seq = htonl(strtoul(av[2], NULL, 0)), ack = htonl(strtoul(av[3], NULL, 0));
	memcpy(p + 24, &seq, 4);
	memcpy(p + 28, &ack, 4);
	p[32] = 5 << 4;
	p[33] = fl;
	p[34] = 0xff;
	p[35] = 0xff;
	tcp_csum(p);
	if (via_if) {
		/* AF_PACKET bypasses the sender's own netfilter OUTPUT hook. */
		struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
					   .sll_halen = 6 };

		sll.sll_ifindex = if_nametoindex(via_if);
		if (!sll.sll_ifindex || sscanf(via_mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &sll.sll_addr[0],
		    &sll.sll_addr[1], &sll.sll_addr[2], &sll.sll_addr[3], &sll.sll_addr[4],
		    &sll.sll_addr[5]) != 6) {
			fprintf(stderr, "lwt-inject: bad interface or MAC\n");
			return 2;
		}
		fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
		if (fd < 0 || sendto(fd, p, tot, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			fprintf(stderr, "lwt-inject: send: %s\n", strerror(errno));
			return 1;
		}
		return 0;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	if (fd < 0 || sendto(fd, p, tot, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		fprintf(stderr, "lwt-inject: send: %s\n", strerror(errno));
		return 1;
	}
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

#define FT_HELLO 0x01
#define FT_HELLO_ACK 0x02
#define FT_REJECT 0x03
#define FT_AUTHED 0x11
#define HELLO_FRAME_LEN (4 + 124)
#define REC_HDR 16	/* frame header, session_id, counter */

static int find_hello(void *ctx, const uint8_t *ip, const uint8_t *pl, size_t plen)
{
	(void)ip;
	if (plen < HELLO_FRAME_LEN || pl[0] != FT_HELLO || pl[1] || ((pl[2] << 8) | pl[3]) != 124)
		return 0;
	memcpy(ctx, pl, HELLO_FRAME_LEN);
	return 1;
}

static int hello_replay(const char *file, const char *dst, unsigned int hold_s)
{
	uint8_t hello[HELLO_FRAME_LEN], ans[64];
	struct sockaddr_in a;
	struct pollfd pfd;
	size_t got = 0;
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
	/* The answer is one frame: a REJECT (8 bytes) or a HELLO_ACK (116). */
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < 4 || got < 4 + (size_t)((ans[2] << 8) | ans[3])) {
		ssize_t n;

		if (poll(&pfd, 1, 5000) <= 0)
			break;
		n = read(fd, ans + got, sizeof(ans) - got);
		if (n <= 0)
			break;
		got += n;
		if (got == sizeof(ans))
			break;
	}
	if (got >= 8 && ans[0] == FT_REJECT)
		printf("reject %u\n", ans[4]);
	else if (got >= 4 && ans[0] == FT_HELLO_ACK)
		printf("hello_ack\n");
	else
		printf("none\n");
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
	if (argc == 3 && !strcmp(argv[1], "frames"))
		return pcap_walk(argv[2], print_frames, NULL) < 0;
	if ((argc == 7 || argc == 8) && !strcmp(argv[1], "tcp"))
		return tcp(argv + 2);
	if ((argc == 9 || argc == 10) && !strcmp(argv[1], "tcp-via")) {
		via_if = argv[2];
		via_mac = argv[3];
		return tcp(argv + 4);
	}
	fprintf(stderr, "usage: lwt-inject replay IFACE FILE.pcap | flip IFACE FILE.pcap OFFSET |\n"
			"       flip-via IFACE DSTMAC FILE.pcap OFFSET |\n"
			"       hello-replay FILE.pcap DST:PORT [HOLD_S] | frames FILE.pcap |\n"
			"       tcp SRC:PORT DST:PORT SEQ ACK FLAGS [PAYLOAD_HEX] |\n"
			"       tcp-via IFACE DSTMAC SRC:PORT DST:PORT SEQ ACK FLAGS [PAYLOAD_HEX]\n");
	return 2;
}
