// SPDX-License-Identifier: MIT
/* The AF_XDP data path (user/xsk.c) over a veth pair: "us" (netns A, the
 * test's own) runs lwt_xsk_create() on xt0; "peer" (netns B) is a plain
 * kernel on xt1 that sends and receives crafted fake-TCP segments through raw
 * sockets. Both namespaces are anonymous and held only by this process (its
 * netns and one fd), and the bpffs mount is in a private mount namespace: when
 * the process ends, on any path, the kernel removes them, the veth pair with
 * them. Nothing leaves this process's namespaces.
 * Without root or without namespaces every case is a cmocka skip (counted as
 * skipped, never passed). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../unit/testutil.h"
#include "dp.h"
#include "lwt/xdp.h"

#define US	"10.77.0.1"
#define PEER	"10.77.0.2"
#define LPORT	7000
#define PIN	"/sys/fs/bpf/lwt-xsk-test"
#define PIN2	"/sys/fs/bpf/lwt-xsk-other"

static int ns_us = -1, ns_peer = -1;
static int peer_rx = -1, peer_tx = -1;	/* raw sockets in the peer's netns */
static int peer_pkt = -1;	/* ... and a packet socket: frames with any source MAC */
static struct lwt_dp *cur;	/* destroyed by teardown if a test fails */
static char no_env[160];	/* why the cases cannot run here, or "" */

/* --- segments ------------------------------------------------------------ */

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (; len > 1; len -= 2, b += 2)
		sum += (uint32_t)b[0] << 8 | b[1];
	if (len)
		sum += (uint32_t)b[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* IPv4 (20) + TCP (20 + NOP NOP TS = 32) + payload, checksums filled in. */
static size_t segment(uint8_t *b, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport, uint8_t flags, const char *payload)
{
	size_t plen = strlen(payload), tlen = 32 + plen;
	uint32_t sum;

	memset(b, 0, 52);
	b[0] = 0x45;
	put16(b + 2, htons(20 + tlen));
	put16(b + 4, htons(0x4242));	/* nonzero: the kernel keeps it */
	put16(b + 6, htons(0x4000));
	b[8] = 64;
	b[9] = IPPROTO_TCP;
	inet_pton(AF_INET, src, b + 12);
	inet_pton(AF_INET, dst, b + 16);
	put16(b + 10, csum_fold(csum_add(0, b, 20)));
	put16(b + 20, htons(sport));
	put16(b + 22, htons(dport));
	put32(b + 24, htonl(1000));
	put32(b + 28, htonl(flags & 0x10 ? 2000 : 0));
	b[32] = 8 << 4;
	b[33] = flags;
	put16(b + 34, htons(65535));
	b[40] = 1;
	b[41] = 1;
	b[42] = 8;
	b[43] = 10;
	memcpy(b + 52, payload, plen);
	sum = csum_add(0, b + 12, 8) + IPPROTO_TCP + tlen;
	put16(b + 36, csum_fold(csum_add(sum, b + 20, tlen)));
	return 20 + tlen;
}

/* --- namespaces ------------------------------------------------------------ */

static int sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fprintf(stderr, "+ %s\n", cmd);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int group_setup(void **state)
{
	int one = 1;

	if (geteuid() != 0) {
		snprintf(no_env, sizeof(no_env), "test_xsk needs root (namespaces, XDP)");
		fprintf(stderr, "SKIP: %s\n", no_env);
		return 0;
	}
	/* Netns A for us, a private mount namespace for bpffs. */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		snprintf(no_env, sizeof(no_env), "no private namespaces: %s", strerror(errno));
		fprintf(stderr, "SKIP: %s\n", no_env);
		return 0;
	}
	ns_us = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	/* Netns B for the peer, held by its fd alone. */
	if (ns_us < 0 || unshare(CLONE_NEWNET))
		return -1;
	ns_peer = open("/proc/self/ns/net", O_RDONLY);
	peer_rx = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	peer_tx = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	peer_pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);	/* sends only */
	if (ns_peer < 0 || peer_rx < 0 || peer_tx < 0 || peer_pkt < 0 || setns(ns_us, CLONE_NEWNET))
		return -1;
	setsockopt(peer_tx, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	if (sh("ip link add xt0 type veth peer name xt1 netns /proc/%d/fd/%d", getpid(), ns_peer) ||
	    sh("ip addr add " US "/24 dev xt0") || sh("ip link set xt0 up") ||
	    sh("nsenter --net=/proc/%d/fd/%d sh -c 'ip addr add " PEER "/24 dev xt1 && "
	       "ip link set xt1 up && ip link set lo up'", getpid(), ns_peer))
		return -1;
	return 0;
}

/* After a failed test: nothing of it may leak into the next one. */
static int teardown(void **state)
{
	if (no_env[0])
		return 0;	/* nothing ran; and these commands are for our namespace only */
	if (cur)
		cur->ops->destroy(cur);
	cur = NULL;
	sh("ip link set xt0 xdp off 2>/dev/null; ip link set xt0 xdpgeneric off 2>/dev/null; nft delete table ip lwtxsk 2>/dev/null; "
	   "rm -rf " PIN " " PIN2);
	return 0;
}

static int group_teardown(void **state)
{
	/* The namespaces die with their last reference; drop ours now. */
	close(peer_rx);
	close(peer_tx);
	close(peer_pkt);
	close(ns_peer);
	close(ns_us);
	return 0;
}

static void need_env(void)
{
	if (no_env[0]) {
		print_message("SKIP: %s\n", no_env);
		skip();
	}
}

/* --- helpers -------------------------------------------------------------- */

static struct lwt_dp *create(int mode, const char *pin)
{
	struct lwt_dp_filter f = { .server = 1 };
	struct lwt_dp *dp = NULL;
	char why[256] = "";
	int err;

	inet_pton(AF_INET, US, &f.laddr);
	f.lport = htons(LPORT);
	err = lwt_xsk_create(&dp, &f, "xt0", mode, pin, why, sizeof(why));
	if (err)
		fprintf(stderr, "lwt_xsk_create: %s (%s)\n", strerror(-err), why);
	assert_int_equal(err, 0);
	assert_non_null(dp);
	cur = dp;
	return dp;
}

static void peer_send(const uint8_t *p, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	memcpy(&sa.sin_addr, p + 16, 4);
	assert_int_equal(sendto(peer_tx, p, len, 0, (struct sockaddr *)&sa, sizeof(sa)),
			 (ssize_t)len);
}

/* Wait (poll, 3 s at most) for a packet equal to want on our data path;
 * other segments (the peer kernel's RSTs) are skipped. */
static void us_expect(struct lwt_dp *dp, const uint8_t *want, size_t len)
{
	struct lwt_dp_pkt pk[LWT_DP_BATCH];
	int i, n, tries;

	for (tries = 0; tries < 30; tries++) {
		struct pollfd pfd = { .fd = dp->ops->rx_fd(dp, 0), .events = POLLIN };

		poll(&pfd, 1, 100);
		n = dp->ops->rx_batch(dp, 0, pk, LWT_DP_BATCH);
		assert_true(n >= 0);
		for (i = 0; i < n; i++)
			if (pk[i].len == len && !memcmp(pk[i].data, want, len))
				return;
	}
	fail_msg("segment never arrived through AF_XDP");
}

/* Did a packet equal to want reach the peer's raw socket within tries x
 * 100 ms? */
static bool peer_got(const uint8_t *want, size_t len, int tries)
{
	uint8_t buf[2048];

	for (; tries > 0; tries--) {
		struct pollfd pfd = { .fd = peer_rx, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = recv(peer_rx, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == (ssize_t)len && !memcmp(buf, want, len))
			return true;
	}
	return false;
}

/* Same on the peer's raw socket; checks our segment arrived byte for byte. */
static void peer_expect(const uint8_t *want, size_t len)
{
	if (!peer_got(want, len, 30))
		fail_msg("segment never reached the peer");
}

/* xt1's index, looked up in the peer's namespace. */
static int peer_ifindex(void)
{
	int i;

	assert_int_equal(setns(ns_peer, CLONE_NEWNET), 0);
	i = (int)if_nametoindex("xt1");
	assert_int_equal(setns(ns_us, CLONE_NEWNET), 0);
	assert_true(i > 0);
	return i;
}

/* The peer sends p from xt1 to xt0's MAC in a frame whose source MAC is
 * src, not xt1's: what anyone on the link can do. */
static void peer_send_from_mac(const uint8_t *p, size_t len, const uint8_t src[6])
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_halen = 6 };
	struct ifreq ifr = { 0 };
	uint8_t frame[2048];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0 && len + 14 <= sizeof(frame));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "xt0");
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	close(fd);
	sll.sll_ifindex = peer_ifindex();
	memcpy(sll.sll_addr, ifr.ifr_hwaddr.sa_data, 6);
	memcpy(frame, ifr.ifr_hwaddr.sa_data, 6);
	memcpy(frame + 6, src, 6);
	frame[12] = 0x08;
	frame[13] = 0x00;
	memcpy(frame + 14, p, len);
	assert_int_equal(sendto(peer_pkt, frame, len + 14, 0, (struct sockaddr *)&sll, sizeof(sll)),
			 (ssize_t)(len + 14));
}

static void us_send(struct lwt_dp *dp, uint8_t *p, size_t len)
{
	struct lwt_dp_pkt pk = { .data = p, .len = len };

	assert_int_equal(dp->ops->tx_batch(dp, 0, &pk, 1), 1);
}

static struct lwt_xdp_stats pinned_stats(const char *pin)
{
	char path[256];
	int ncpu = libbpf_num_possible_cpus(), fd, c;
	struct lwt_xdp_stats per[ncpu], sum = { 0 };
	uint32_t zero = 0;
	size_t f;

	snprintf(path, sizeof(path), "%s/%s/%s", pin, LWT_XDP_PIN_SUBDIR, LWT_XDP_MAP_STATS);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, per), 0);
	close(fd);
	for (c = 0; c < ncpu; c++)
		for (f = 0; f < sizeof(sum) / 8; f++)
			((__u64 *)&sum)[f] += ((__u64 *)&per[c])[f];	/* the fields' type */
	return sum;
}

static void xdp_ids(uint32_t *drv, uint32_t *skb)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	assert_int_equal(bpf_xdp_query(if_nametoindex("xt0"), 0, &q), 0);
	*drv = q.drv_prog_id;
	*skb = q.skb_prog_id;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* --- tests -------------------------------------------------------------- */

static void test_both_ways(void **state)
{
	uint8_t a[256], b[256];
	size_t la, lb;
	uint32_t drv, skb;
	struct lwt_xdp_stats st;
	struct lwt_dp *dp;
	int tries;

	need_env();
	dp = create(LWT_XSK_MODE_AUTO, PIN);
	xdp_ids(&drv, &skb);
	assert_true(drv != 0);	/* veth does native XDP */
	assert_true(exists(PIN "/" LWT_XDP_PIN_SUBDIR "/" LWT_XDP_MAP_FLOWS));
	assert_true(exists(PIN "/" LWT_XDP_PIN_SUBDIR "/" LWT_XDP_PROG_NAME));

	/* Our first segment: no link header known yet, the kernel's path
	 * resolves the neighbour. It also opens the flow in `flows`. */
	la = segment(a, US, PEER, LPORT, 40000, 0x12, "");
	us_send(dp, a, la);
	peer_expect(a, la);

	/* The peer's data on that flow reaches us through AF_XDP. */
	lb = segment(b, PEER, US, 40000, LPORT, 0x18, "hello through xdp");
	peer_send(b, lb);
	us_expect(dp, b, lb);

	/* Anyone on the link sends a segment of that flow with the peer's IP
	 * and another MAC: it reaches us, and must not say where the peer is. */
	lb = segment(b, PEER, US, 40000, LPORT, 0x18, "from a stranger's MAC");
	peer_send_from_mac(b, lb, (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x66 });
	us_expect(dp, b, lb);

	/* Our first send made the kernel resolve the peer (ARP): the next hop
	 * comes from its neighbour table now. Prove the reply goes through
	 * the TX ring, to the peer's real MAC, by dropping the kernel's own
	 * output to the peer (netfilter, which the TX ring bypasses). The
	 * cache asks the table again 100 ms after it found nothing: send
	 * until it has (the tries that still go through the kernel die). */
	assert_int_equal(sh("nft add table ip lwtxsk && nft add chain ip lwtxsk out "
			    "'{ type filter hook output priority 0; }' && "
			    "nft add rule ip lwtxsk out ip daddr " PEER " counter drop"), 0);
	la = segment(a, US, PEER, LPORT, 40000, 0x18, "reply through the TX ring");
	for (tries = 0; tries < 20; tries++) {
		struct lwt_dp_pkt pk = { .data = a, .len = la };

		/* Through the kernel: EPERM from netfilter. */
		dp->ops->tx_batch(dp, 0, &pk, 1);
		if (peer_got(a, la, 2))
			break;
	}
	if (tries == 20)
		fail_msg("the reply never reached the peer's MAC through the TX ring");
	assert_int_equal(sh("nft delete table ip lwtxsk"), 0);

	/* A stranger's RST to the listen port dies in XDP; its SYN comes
	 * through, and so does its ACK (it may return a SYN cookie). */
	lb = segment(b, PEER, US, 40001, LPORT, 0x04, "stranger");
	peer_send(b, lb);
	lb = segment(b, PEER, US, 40002, LPORT, 0x02, "");
	peer_send(b, lb);
	us_expect(dp, b, lb);
	lb = segment(b, PEER, US, 40003, LPORT, 0x10, "a cookie?");
	peer_send(b, lb);
	us_expect(dp, b, lb);
	st = pinned_stats(PIN);
	assert_int_equal(st.dropped_unknown, 1);
	assert_int_equal(st.syn_accepted, 1);
	assert_int_equal(st.unknown_acks, 1);
	assert_true(st.redirected >= 4);
	assert_int_equal(st.dropped_syn_rate + st.no_socket + st.truncated, 0);

	dp->ops->destroy(dp);
	cur = NULL;
	xdp_ids(&drv, &skb);
	assert_int_equal(drv, 0);
	assert_int_equal(skb, 0);
	assert_false(exists(PIN "/" LWT_XDP_PIN_SUBDIR));
}

/* Wait until *got reaches want; count packets equal to p. */
static void us_drain(struct lwt_dp *dp, const uint8_t *p, size_t len, int want, int *got)
{
	struct lwt_dp_pkt pk[LWT_DP_BATCH];
	int i, n, idle = 0;

	while (*got < want && idle < 20) {
		struct pollfd pfd = { .fd = dp->ops->rx_fd(dp, 0), .events = POLLIN };

		idle += poll(&pfd, 1, 100) <= 0;
		n = dp->ops->rx_batch(dp, 0, pk, LWT_DP_BATCH);
		assert_true(n >= 0);
		for (i = 0; i < n; i++)
			*got += pk[i].len == len && !memcmp(pk[i].data, p, len);
	}
}

static void peer_drain(const uint8_t *p, size_t len, int want, int *got)
{
	uint8_t buf[2048];
	int idle = 0;

	while (*got < want && idle < 20) {
		struct pollfd pfd = { .fd = peer_rx, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 100) <= 0) {
			idle++;
			continue;
		}
		while ((r = recv(peer_rx, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			*got += r == (ssize_t)len && !memcmp(buf, p, len);
	}
}

/* Thousands of segments each way, more than the UMEM has frames: RX frames
 * must go back to the fill ring, TX frames come back from completion. */
static void test_frames_recycle(void **state)
{
	struct lwt_dp *dp;
	struct lwt_dp_pkt pk[LWT_DP_BATCH];
	uint8_t in[128], out[128];
	size_t lin, lout;
	int i, round, got = 0;

	need_env();
	dp = create(LWT_XSK_MODE_AUTO, NULL);
	/* Our segment opens the flow. */
	lout = segment(out, US, PEER, LPORT, 40010, 0x18, "bulk from us");
	us_send(dp, out, lout);
	peer_drain(out, lout, 1, &got);
	assert_int_equal(got, 1);

	lin = segment(in, PEER, US, 40010, LPORT, 0x18, "bulk from the peer");
	for (got = 0, round = 0; round < 100; round++) {
		for (i = 0; i < 40; i++)
			peer_send(in, lin);
		us_drain(dp, in, lin, (round + 1) * 40, &got);
	}
	assert_int_equal(got, 4000);

	for (i = 0; i < LWT_DP_BATCH; i++) {
		pk[i].data = out;
		pk[i].len = lout;
	}
	for (got = 0, round = 0; round < 100; round++) {
		assert_int_equal(dp->ops->tx_batch(dp, 0, pk, LWT_DP_BATCH), LWT_DP_BATCH);
		peer_drain(out, lout, (round + 1) * LWT_DP_BATCH, &got);
	}
	assert_int_equal(got, 100 * LWT_DP_BATCH);
	dp->ops->destroy(dp);
	cur = NULL;
}

static void test_generic(void **state)
{
	uint8_t b[256];
	size_t lb;
	uint32_t drv, skb;
	struct lwt_dp *dp;

	need_env();
	dp = create(LWT_XSK_MODE_GENERIC, NULL);
	xdp_ids(&drv, &skb);
	assert_int_equal(drv, 0);
	assert_true(skb != 0);
	lb = segment(b, PEER, US, 40003, LPORT, 0x02, "");
	peer_send(b, lb);
	us_expect(dp, b, lb);
	dp->ops->destroy(dp);
	cur = NULL;
	xdp_ids(&drv, &skb);
	assert_int_equal(skb, 0);
}

/* A frame larger than a UMEM frame (what GRO hands generic XDP, here a
 * 7000-byte segment on a 9000-byte MTU) arrives whole, in a chain of
 * descriptors joined by the data path, and the next small one after it. */
static void test_multi_buffer(void **state)
{
	static char big[7001];
	static uint8_t a[8192], b[8192];
	size_t la, lb, i;
	struct lwt_dp *dp;

	need_env();
	for (i = 0; i + 1 < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(sh("ip link set xt0 mtu 9000 && nsenter --net=/proc/%d/fd/%d "
			    "ip link set xt1 mtu 9000", getpid(), ns_peer), 0);
	dp = create(LWT_XSK_MODE_GENERIC, NULL);
	la = segment(a, US, PEER, LPORT, 40100, 0x12, "");
	us_send(dp, a, la);
	peer_expect(a, la);
	lb = segment(b, PEER, US, 40100, LPORT, 0x18, big);
	assert_true(lb > 4096);
	peer_send(b, lb);
	us_expect(dp, b, lb);
	lb = segment(b, PEER, US, 40100, LPORT, 0x18, "small after big");
	peer_send(b, lb);
	us_expect(dp, b, lb);
	dp->ops->destroy(dp);
	cur = NULL;
	assert_int_equal(sh("ip link set xt0 mtu 1500 && nsenter --net=/proc/%d/fd/%d "
			    "ip link set xt1 mtu 1500", getpid(), ns_peer), 0);
}

static void test_client_filter(void **state)
{
	struct lwt_dp_filter f = { .server = 0, .rport = htons(LPORT) };
	struct lwt_dp *dp = NULL;
	uint8_t b[256];
	size_t lb;
	char why[256];

	need_env();
	inet_pton(AF_INET, US, &f.laddr);
	inet_pton(AF_INET, PEER, &f.raddr);
	assert_int_equal(lwt_xsk_create(&dp, &f, "xt0", 0, NULL, why, sizeof(why)), 0);
	cur = dp;
	/* No local port yet: nothing is ours. Then set_filter opens it. */
	f.lport = htons(41000);
	assert_int_equal(dp->ops->set_filter(dp, &f), 0);
	lb = segment(b, PEER, US, LPORT, 41000, 0x12, "");
	peer_send(b, lb);
	us_expect(dp, b, lb);
	/* A reconnect from a new port replaces the old flow. */
	f.lport = htons(41001);
	assert_int_equal(dp->ops->set_filter(dp, &f), 0);
	lb = segment(b, PEER, US, LPORT, 41001, 0x18, "new port");
	peer_send(b, lb);
	us_expect(dp, b, lb);
	dp->ops->destroy(dp);
	cur = NULL;
}

static void test_refusals(void **state)
{
	struct lwt_dp_filter f = { .server = 1 };
	struct lwt_dp *dp = NULL;
	char why[256] = "";
	pid_t pid;
	int status;

	need_env();
	assert_int_equal(lwt_xsk_create(&dp, &f, "nosuch0", 0, NULL, why, sizeof(why)),
			 -ENODEV);
	assert_non_null(strstr(why, "nosuch0"));
	why[0] = 0;
	assert_int_equal(sh("ip link set lo up"), 0);
	assert_true(lwt_xsk_create(&dp, &f, "lo", 0, NULL, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "not an Ethernet device"));

	/* A run killed without cleanup leaves its program and pins... */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct lwt_dp *leak;

		f.lport = htons(LPORT);
		_exit(lwt_xsk_create(&leak, &f, "xt0", 0, PIN, why, sizeof(why)) ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(exists(PIN "/" LWT_XDP_PIN_SUBDIR "/" LWT_XDP_PROG_NAME));
	/* ...which the same instance's next start replaces and cleans up... */
	dp = create(LWT_XSK_MODE_AUTO, PIN);
	dp->ops->destroy(dp);
	cur = NULL;
	assert_false(exists(PIN "/" LWT_XDP_PIN_SUBDIR));
	/* ...and so does another instance (its owner is dead, the pins may be
	 * gone with its mount namespace: ip netns exec)... */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct lwt_dp *leak;

		_exit(lwt_xsk_create(&leak, &f, "xt0", 0, NULL, why, sizeof(why)) ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	dp = create(LWT_XSK_MODE_AUTO, PIN2);
	/* ...but a program whose owner lives is never taken over. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct lwt_dp *other;
		int r = lwt_xsk_create(&other, &f, "xt0", 0, PIN, why, sizeof(why));

		_exit(r == -EBUSY && strstr(why, "already has XDP program") ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	dp->ops->destroy(dp);
	cur = NULL;
	assert_false(exists(PIN "/" LWT_XDP_PIN_SUBDIR));
	assert_false(exists(PIN2 "/" LWT_XDP_PIN_SUBDIR));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_both_ways, teardown),
		cmocka_unit_test_teardown(test_frames_recycle, teardown),
		cmocka_unit_test_teardown(test_generic, teardown),
		cmocka_unit_test_teardown(test_multi_buffer, teardown),
		cmocka_unit_test_teardown(test_client_filter, teardown),
		cmocka_unit_test_teardown(test_refusals, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
