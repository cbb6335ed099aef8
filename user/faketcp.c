// SPDX-License-Identifier: MIT
/* Fake TCP segments shaped like Linux's, and the per-flow seq/ack state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <endian.h>
#include <sys/random.h>

#include "faketcp.h"

struct lwt_ftcp_profile lwt_ftcp_prof = { .space = 65536, .wscale = LWT_FTCP_WSCALE };

/* One number per line, or several on one (tcp_rmem): the n-th. */
static int read_sysctl(const char *root, const char *name, unsigned int n, uint64_t *v)
{
	char path[256];
	unsigned long long x[3];
	FILE *f;
	int got;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	got = fscanf(f, "%llu %llu %llu", &x[0], &x[1], &x[2]);
	fclose(f);
	if (got <= (int)n)
		return -EINVAL;
	*v = x[n];
	return 0;
}

static unsigned int ilog2_64(uint64_t v)
{
	return v ? 63u - (unsigned int)__builtin_clzll(v) : 0;
}

int lwt_ftcp_profile_load(const char *root)
{
	uint64_t def, max, rmem_max, top;
	int err, ws;

	err = read_sysctl(root, "net/ipv4/tcp_rmem", 1, &def);
	if (!err)
		err = read_sysctl(root, "net/ipv4/tcp_rmem", 2, &max);
	if (!err)
		err = read_sysctl(root, "net/core/rmem_max", 0, &rmem_max);
	if (err)
		return err;
	if (def > INT32_MAX)
		def = INT32_MAX;
	/* tcp_win_from_space() at the default scaling ratio: half the buffer. */
	lwt_ftcp_prof.space = (uint32_t)(def / 2);
	top = lwt_ftcp_prof.space;
	if (max > top)
		top = max;
	if (rmem_max > top)
		top = rmem_max;
	if (top > 65535ull << 14)	/* the largest window there is */
		top = 65535ull << 14;
	ws = (int)ilog2_64(top) - 15;
	lwt_ftcp_prof.wscale = (uint8_t)(ws < 0 ? 0 : ws > 14 ? 14 : ws);
	return 0;
}

static uint16_t init_window(uint32_t mss)
{
	uint32_t w = lwt_ftcp_prof.space;

	if (mss && w > mss)
		w -= w % mss;
	return w > 65535 ? 65535 : (uint16_t)w;
}

uint16_t lwt_ftcp_syn_window(uint16_t mss)
{
	return init_window(mss);
}

uint16_t lwt_ftcp_synack_window(uint16_t mss, bool ts)
{
	return init_window(ts && mss > 12 ? mss - 12u : mss);
}

static uint32_t rand32(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)time(NULL) * 2654435761u;
	return v;
}

static uint32_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec * 1000u + ts.tv_nsec / 1000000u);
}

uint64_t lwt_csum64_scalar(uint64_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		sum += (w & 0xffffffff) + (w >> 32);
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);	/* an odd last byte is padded with zero */
		sum += (w & 0xffffffff) + (w >> 32);
	}
	return sum;
}

#if defined(__x86_64__)
#include <immintrin.h>

/* The same sum 64 bytes a round: every 32-bit word widened into a 64-bit
 * lane (no carry is lost below 2^32 words), lanes added at the end. */
__attribute__((target("avx2"))) static uint64_t csum64_avx2(uint64_t sum, const uint8_t *p,
							      size_t len)
{
	__m256i a0 = _mm256_setzero_si256(), a1 = a0, z = a0;
	uint64_t lane[4];

	for (; len >= 64; p += 64, len -= 64) {
		__m256i x = _mm256_loadu_si256((const __m256i *)p);
		__m256i y = _mm256_loadu_si256((const __m256i *)(p + 32));

		a0 = _mm256_add_epi64(a0, _mm256_unpacklo_epi32(x, z));
		a1 = _mm256_add_epi64(a1, _mm256_unpackhi_epi32(x, z));
		a0 = _mm256_add_epi64(a0, _mm256_unpacklo_epi32(y, z));
		a1 = _mm256_add_epi64(a1, _mm256_unpackhi_epi32(y, z));
	}
	_mm256_storeu_si256((__m256i *)lane, _mm256_add_epi64(a0, a1));
	return lwt_csum64_scalar(sum + lane[0] + lane[1] + lane[2] + lane[3], p, len);
}

static bool have_avx2;

__attribute__((constructor)) static void csum_cpu_init(void)
{
	__builtin_cpu_init();
	have_avx2 = __builtin_cpu_supports("avx2");
}

uint64_t lwt_csum64(uint64_t sum, const void *data, size_t len)
{
	if (len >= 128 && have_avx2)
		return csum64_avx2(sum, data, len);
	return lwt_csum64_scalar(sum, data, len);
}
#else
uint64_t lwt_csum64(uint64_t sum, const void *data, size_t len)
{
	return lwt_csum64_scalar(sum, data, len);
}
#endif

uint16_t lwt_csum64_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* One's complement sum of data, as big-endian 16-bit words, added to sum;
 * meaningful through lwt_csum_fold (or further adds). One's complement
 * addition commutes with a byte swap (RFC 1071, 2(B)): the memory-order sum,
 * folded, read as network order, is the big-endian sum. */
uint32_t lwt_csum_partial(const void *data, size_t len, uint32_t sum)
{
	return sum + ntohs(lwt_csum64_fold(lwt_csum64(0, data, len)));
}

uint16_t lwt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t lwt_ip_csum(const void *iphdr, size_t len)
{
	return lwt_csum_fold(lwt_csum_partial(iphdr, len, 0));
}

uint16_t lwt_tcp_csum(uint32_t saddr, uint32_t daddr, const void *tcp, size_t tcp_len)
{
	uint32_t sum = 0;

	sum = lwt_csum_partial(&saddr, 4, sum);
	sum = lwt_csum_partial(&daddr, 4, sum);
	sum += 6 + (uint32_t)tcp_len;
	sum = lwt_csum_partial(tcp, tcp_len, sum);
	return lwt_csum_fold(sum);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

int lwt_tcp_parse(const uint8_t *pkt, size_t len, bool verify_csum, struct lwt_tcp_seg *s)
{
	size_t ihl, tot;
	const uint8_t *t;
	int r;

	if (len >= 1 && pkt[0] >> 4 == 6)
		return lwt_tcp_parse6(pkt, len, verify_csum, s);
	if (len < LWT_IP_HDR_LEN)
		return -EBADMSG;
	if (pkt[0] >> 4 != 4)
		return -EPROTONOSUPPORT;
	ihl = (pkt[0] & 15) * 4u;
	tot = get16(pkt + 2);
	if (!tot)
		tot = len;	/* GSO super-packet */
	if (ihl < LWT_IP_HDR_LEN || tot > len || tot < ihl + 20)
		return -EBADMSG;
	if (pkt[9] != 6 || (get16(pkt + 6) & 0x3fff))
		return -EPROTONOSUPPORT;
	if (verify_csum && lwt_ip_csum(pkt, ihl))
		return -EBADMSG;
	t = pkt + ihl;
	if ((t[12] >> 4) * 4u < 20 || ihl + (t[12] >> 4) * 4u > tot)
		return -EBADMSG;
	memset(s, 0, sizeof(*s));
	memcpy(&s->saddr, pkt + 12, 4);
	memcpy(&s->daddr, pkt + 16, 4);
	if (verify_csum && lwt_tcp_csum(s->saddr, s->daddr, t, tot - ihl))
		return -EBADMSG;
	r = lwt_tcp_parse_l4(t, tot - ihl, s);
	if (r)
		return r;
	lwt_addr_from_v4(&s->sa, s->saddr);
	lwt_addr_from_v4(&s->da, s->daddr);
	s->ttl = pkt[8];
	s->ip_id = get16(pkt + 4);
	return 0;
}

int lwt_tcp_parse_l4(const uint8_t *t, size_t tlen, struct lwt_tcp_seg *s)
{
	size_t doff, o;

	if (tlen < 20)
		return -EBADMSG;
	doff = (t[12] >> 4) * 4u;
	if (doff < 20 || doff > tlen)
		return -EBADMSG;
	memcpy(&s->sport, t, 2);
	memcpy(&s->dport, t + 2, 2);
	s->seq = get32(t + 4);
	s->ack = get32(t + 8);
	s->flags = t[13] & 0x3f;
	s->window = get16(t + 14);
	s->doff = doff;
	for (o = 20; o < doff;) {
		uint8_t kind = t[o], l;

		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 1 >= doff)
			return -EBADMSG;
		l = t[o + 1];
		if (l < 2 || o + l > doff)
			return -EBADMSG;
		switch (kind) {
		case 2:
			if (l != 4)
				return -EBADMSG;
			s->has_mss = true;
			s->mss = get16(t + o + 2);
			break;
		case 3:
			if (l != 3)
				return -EBADMSG;
			s->has_ws = true;
			s->wscale = t[o + 2] > 14 ? 14 : t[o + 2];
			break;
		case 4:
			if (l != 2)
				return -EBADMSG;
			s->sack_perm = true;
			break;
		case 8:
			if (l != 10)
				return -EBADMSG;
			s->has_ts = true;
			s->tsval = get32(t + o + 2);
			s->tsecr = get32(t + o + 6);
			break;
		}
		o += l;
	}
	s->payload = t + doff;
	s->payload_len = tlen - doff;
	return 0;
}

void lwt_ftcp_init(struct lwt_ftcp_conn *c, uint32_t laddr, uint16_t lport,
		   uint32_t raddr, uint16_t rport)
{
	memset(c, 0, sizeof(*c));
	lwt_addr_from_v4(&c->la, laddr);
	lwt_addr_from_v4(&c->ra, raddr);
	c->laddr = laddr;
	c->lport = lport;
	c->raddr = raddr;
	c->rport = rport;
	c->iss = rand32();
	c->snd_nxt = c->snd_una = c->iss;
	c->ts_offset = rand32();
	c->ip_id = (uint16_t)rand32();
	c->rcv_wnd = lwt_ftcp_syn_window(1460);
	c->snd_wnd = 65535;
	c->max_snd_wnd = c->snd_wnd;
	c->mss = 536;
}

void lwt_ftcp_init_addr(struct lwt_ftcp_conn *c, const struct lwt_addr *la, uint16_t lport,
			const struct lwt_addr *ra, uint16_t rport)
{
	lwt_ftcp_init(c, lwt_addr_key32(la), lport, lwt_addr_key32(ra), rport);
	if (lwt_addr_is_v4(ra))
		return;
	c->la = *la;
	c->ra = *ra;
	c->v6 = true;
	/* Linux (auto_flowlabels, flowlabel_state_ranges): the label comes
	 * from the socket's random txhash, 20 bits with the top one clear. */
	do
		c->flowlabel = rand32() & 0x7ffff;
	while (!c->flowlabel);
}

uint32_t lwt_ftcp_tsval(const struct lwt_ftcp_conn *c)
{
	return now_ms() + c->ts_offset;
}

/* The TCP header without its checksum. */
static void put_tcp(const struct lwt_ftcp_conn *c, uint8_t *t, uint8_t flags, uint32_t seq,
		    uint16_t window, const uint8_t *opts, size_t optlen, size_t thl)
{
	memcpy(t, &c->lport, 2);
	memcpy(t + 2, &c->rport, 2);
	put32(t + 4, seq);
	put32(t + 8, (flags & LWT_TCP_ACK) ? c->rcv_nxt : 0);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = flags;
	put16(t + 14, window);
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (optlen)
		memcpy(t + 20, opts, optlen);
}

/* Write IP + TCP headers; opts/optlen are the TCP options. */
static int build(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap, uint8_t flags, uint32_t seq,
		 uint16_t window, const uint8_t *opts, size_t optlen, size_t plen)
{
	size_t thl = 20 + optlen, tot = lwt_ftcp_nhlen(c) + thl + plen;
	uint8_t *ip = buf, *t = buf + lwt_ftcp_nhlen(c);

	if (tot > cap || tot > 65535)
		return -ENOSPC;
	if (c->v6) {
		put_tcp(c, t, flags, seq, window, opts, optlen, thl);
		lwt_ftcp_put_ip6(c, ip, tot);
		return (int)tot;
	}
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, c->ip_id++);
	put16(ip + 6, 0x4000);	/* DF */
	ip[8] = 64;
	ip[9] = 6;
	put16(ip + 10, 0);
	memcpy(ip + 12, &c->laddr, 4);
	memcpy(ip + 16, &c->raddr, 4);
	put16(ip + 10, lwt_ip_csum(ip, LWT_IP_HDR_LEN));
	put_tcp(c, t, flags, seq, window, opts, optlen, thl);
	put16(t + 16, lwt_tcp_csum(c->laddr, c->raddr, t, thl + plen));
	return (int)tot;
}

/* Linux's SYN options; the window scale only where it may be offered (a
 * SYN-ACK answers a SYN without one with none, RFC 7323 2.2). */
static size_t syn_opts(struct lwt_ftcp_conn *c, uint8_t *o, uint16_t mss, uint32_t tsecr,
		       bool ws)
{
	o[0] = 2; o[1] = 4; put16(o + 2, mss);
	o[4] = 4; o[5] = 2;
	o[6] = 8; o[7] = 10; put32(o + 8, lwt_ftcp_tsval(c)); put32(o + 12, tsecr);
	if (!ws)
		return 16;
	o[16] = 1;
	o[17] = 3; o[18] = 3; o[19] = lwt_ftcp_prof.wscale;
	return 20;
}

static size_t data_opts(struct lwt_ftcp_conn *c, uint8_t *o)
{
	o[0] = 1; o[1] = 1;
	o[2] = 8; o[3] = 10; put32(o + 4, lwt_ftcp_tsval(c)); put32(o + 8, c->ts_recent);
	return 12;
}

/* The window we keep open once established: 64 KiB scaled by what the
 * SYNs agreed (RFC 7323 2.2: unscaled unless both carried the option). */
static uint32_t est_window(const struct lwt_ftcp_conn *c)
{
	return 65535u << c->rcv_wscale;
}

static uint16_t adv_window(const struct lwt_ftcp_conn *c)
{
	uint32_t w = c->rcv_wnd >> c->rcv_wscale;

	return w > 65535 ? 65535 : (uint16_t)w;
}

int lwt_ftcp_build_syn(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap, uint16_t mss)
{
	return lwt_ftcp_build_syn_data(c, buf, cap, mss, 0);
}

int lwt_ftcp_build_syn_data(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap, uint16_t mss,
			    size_t plen)
{
	uint8_t o[20];
	size_t n = syn_opts(c, o, mss, 0, true);

	int r;

	c->state = LWT_FTCP_SYN_SENT;
	c->snd_nxt = c->iss + 1;
	c->snd_una = c->iss;
	r = build(c, buf, cap, LWT_TCP_SYN, c->iss, lwt_ftcp_syn_window(mss), o, n, plen);
	if (r > 0 && c->syn_ttl && c->v6) {
		buf[7] = c->syn_ttl;	/* hop limit: no header checksum */
		c->syn_ttl = 0;
	} else if (r > 0 && c->syn_ttl) {
		/* P2P: a first SYN that opens our NAT and dies before the
		 * peer's, which might answer it with a RST. Once only. */
		buf[8] = c->syn_ttl;
		put16(buf + 10, 0);
		put16(buf + 10, lwt_ip_csum(buf, LWT_IP_HDR_LEN));
		c->syn_ttl = 0;
	}
	return r;
}

int lwt_ftcp_build_synack(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap, uint16_t mss)
{
	uint8_t o[20];
	size_t n = syn_opts(c, o, mss, c->ts_recent, c->rcv_wscale != 0);

	c->snd_nxt = c->iss + 1;
	return build(c, buf, cap, LWT_TCP_SYN | LWT_TCP_ACK, c->iss,
		     lwt_ftcp_synack_window(mss, c->peer_ts), o, n, 0);
}

int lwt_ftcp_build_ack(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap)
{
	uint8_t o[12];
	size_t n = data_opts(c, o);

	c->last_ack_sent = c->rcv_nxt;
	return build(c, buf, cap, LWT_TCP_ACK, c->snd_nxt, adv_window(c), o, n, 0);
}

int lwt_ftcp_build_data(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap, size_t plen)
{
	uint8_t o[12];
	size_t n = data_opts(c, o);
	int r;

	r = build(c, buf, cap, LWT_TCP_ACK | LWT_TCP_PSH, c->snd_nxt, adv_window(c), o, n, plen);
	if (r > 0) {
		c->snd_nxt += (uint32_t)plen;
		c->last_ack_sent = c->rcv_nxt;
	}
	return r;
}

int lwt_ftcp_build_rst(struct lwt_ftcp_conn *c, uint8_t *buf, size_t cap)
{
	return build(c, buf, cap, LWT_TCP_RST | LWT_TCP_ACK, c->snd_nxt, 0, NULL, 0, 0);
}

int lwt_ftcp_accept_syn(struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *syn)
{
	if ((syn->flags & (LWT_TCP_SYN | LWT_TCP_ACK | LWT_TCP_RST | LWT_TCP_FIN)) != LWT_TCP_SYN)
		return -EINVAL;
	c->irs = syn->seq;
	c->rcv_nxt = syn->seq + 1;
	c->last_ack_sent = c->rcv_nxt;
	c->snd_wscale = syn->has_ws ? syn->wscale : 0;
	c->rcv_wscale = syn->has_ws ? lwt_ftcp_prof.wscale : 0;
	c->snd_wnd = syn->window;
	c->max_snd_wnd = c->snd_wnd;
	c->mss = syn->has_mss ? syn->mss : 536;
	c->peer_ts = syn->has_ts;
	c->peer_sack = syn->sack_perm;
	c->ts_recent = syn->tsval;
	c->state = LWT_FTCP_SYN_RCVD;
	return 0;
}

bool lwt_ftcp_window_ok(const struct lwt_ftcp_conn *c, size_t plen)
{
	return lwt_seq_le(c->snd_nxt + (uint32_t)plen, c->snd_una + c->snd_wnd);
}

/* The peer's ACK field, RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <=
 * SND.NXT (nothing we never sent, nothing older than any window). */
static bool ack_ok(const struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *s)
{
	if (!(s->flags & LWT_TCP_ACK))
		return false;
	if (lwt_seq_gt(s->ack, c->snd_nxt))
		return false;
	return lwt_seq_ge(s->ack, c->snd_una - c->max_snd_wnd);
}

/* What an acceptable ACK tells. A window that would pull the right edge
 * back is believed only from an authenticated segment: a spoofed pure ACK
 * cannot close the window and stall us. */
static void ack_apply(struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *s, bool authed)
{
	uint32_t wnd = (uint32_t)s->window << c->snd_wscale;
	uint32_t una = lwt_seq_gt(s->ack, c->snd_una) ? s->ack : c->snd_una;

	if (authed || lwt_seq_ge(una + wnd, c->snd_una + c->snd_wnd))
		c->snd_wnd = wnd;
	c->snd_una = una;
	if (wnd > c->max_snd_wnd)
		c->max_snd_wnd = wnd;
}

void lwt_ftcp_commit(struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *s)
{
	uint32_t end = s->seq + (uint32_t)s->payload_len;

	if (c->state != LWT_FTCP_ESTABLISHED)
		return;
	ack_apply(c, s, true);
	if (s->has_ts && lwt_seq_ge(s->seq, c->rcv_nxt - 1))
		c->ts_recent = s->tsval;
	if (lwt_seq_gt(end, c->rcv_nxt))
		c->rcv_nxt = end;
}

enum lwt_ftcp_verdict lwt_ftcp_input(struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *s)
{
	uint32_t end = s->seq + (uint32_t)s->payload_len;
	/* Late segments are reordered ones (no retransmission: rcv_nxt jumps
	 * past losses); the FEC and replay layers above sort out duplicates. */
	bool in_win = lwt_seq_ge(s->seq, c->rcv_nxt - LWT_FTCP_LATE_BYTES) &&
		      lwt_seq_lt(s->seq, c->rcv_nxt + c->rcv_wnd);

	switch (c->state) {
	case LWT_FTCP_CLOSED:
		return LWT_FTCP_DROP;
	case LWT_FTCP_SYN_SENT:
		if (s->flags & LWT_TCP_RST) {
			/* RFC 793: acceptable if it acks our SYN. */
			if ((s->flags & LWT_TCP_ACK) && s->ack == c->iss + 1)
				return LWT_FTCP_RESET;
			return LWT_FTCP_DROP;
		}
		/* Simultaneous open (P2P): the peer's SYN crossed ours. As
		 * Linux, answer it with a SYN-ACK of our own ISN and wait in
		 * SYN_RCVD for its SYN-ACK or ACK. */
		if ((s->flags & (LWT_TCP_SYN | LWT_TCP_ACK | LWT_TCP_FIN)) == LWT_TCP_SYN) {
			uint32_t una = c->snd_una, nxt = c->snd_nxt;

			lwt_ftcp_accept_syn(c, s);
			c->snd_una = una;
			c->snd_nxt = nxt;
			return LWT_FTCP_SEND_SYNACK;
		}
		if ((s->flags & (LWT_TCP_SYN | LWT_TCP_ACK)) != (LWT_TCP_SYN | LWT_TCP_ACK) ||
		    s->ack != c->iss + 1)
			return LWT_FTCP_DROP;
		c->irs = s->seq;
		c->rcv_nxt = s->seq + 1;
		c->snd_una = s->ack;
		c->snd_wscale = s->has_ws ? s->wscale : 0;
		c->rcv_wscale = s->has_ws ? lwt_ftcp_prof.wscale : 0;
		c->snd_wnd = s->window;	/* SYN windows are never scaled */
		c->max_snd_wnd = c->snd_wnd;
		c->mss = s->has_mss ? s->mss : 536;
		c->peer_ts = s->has_ts;
		c->ts_recent = s->tsval;
		c->rcv_wnd = est_window(c);
		c->state = LWT_FTCP_ESTABLISHED;
		return LWT_FTCP_SEND_ACK;
	case LWT_FTCP_SYN_RCVD:
		if (s->flags & LWT_TCP_RST)
			return s->seq == c->rcv_nxt ? LWT_FTCP_RESET : LWT_FTCP_DROP;
		if ((s->flags & LWT_TCP_SYN) && !(s->flags & LWT_TCP_ACK))
			return s->seq == c->irs ? LWT_FTCP_SEND_SYNACK : LWT_FTCP_DROP;
		if (s->flags & LWT_TCP_SYN) {
			/* Simultaneous open: the peer's SYN-ACK answers our SYN
			 * (Linux lets it through in SYN_RECV and acks it). */
			if (s->seq != c->irs || s->ack != c->iss + 1)
				return LWT_FTCP_DROP;
			c->snd_una = s->ack;
			c->snd_wnd = s->window;	/* SYN windows are never scaled */
			if (c->snd_wnd > c->max_snd_wnd)
				c->max_snd_wnd = c->snd_wnd;
			if (s->has_ts)
				c->ts_recent = s->tsval;
			c->rcv_wnd = est_window(c);
			c->state = LWT_FTCP_ESTABLISHED;
			return LWT_FTCP_SEND_ACK;
		}
		if (!(s->flags & LWT_TCP_ACK) || s->ack != c->iss + 1 || s->seq != c->rcv_nxt)
			return LWT_FTCP_DROP;
		c->snd_una = s->ack;
		c->snd_wnd = (uint32_t)s->window << c->snd_wscale;
		if (c->snd_wnd > c->max_snd_wnd)
			c->max_snd_wnd = c->snd_wnd;
		c->rcv_wnd = est_window(c);
		c->state = LWT_FTCP_ESTABLISHED;
		if (s->has_ts)
			c->ts_recent = s->tsval;
		if (lwt_seq_gt(end, c->rcv_nxt))
			c->rcv_nxt = end;
		return LWT_FTCP_OK;
	case LWT_FTCP_ESTABLISHED:
		break;
	}
	if (s->flags & LWT_TCP_RST) {
		/* RFC 5961 3.2: only an exact match resets; in-window gets a challenge ACK. */
		if (s->seq == c->rcv_nxt)
			return LWT_FTCP_RESET;
		if (lwt_seq_gt(s->seq, c->rcv_nxt) && lwt_seq_lt(s->seq, c->rcv_nxt + c->rcv_wnd))
			return LWT_FTCP_CHALLENGE_ACK;
		return LWT_FTCP_DROP;
	}
	if (s->flags & LWT_TCP_SYN) {
		/* RFC 5961 4.2: any SYN on a synchronized flow gets a challenge ACK;
		 * a SYN-ACK repeated by a peer that lost our ACK gets the ACK. */
		return LWT_FTCP_CHALLENGE_ACK;
	}
	if (!in_win)
		return LWT_FTCP_DROP;
	if (!ack_ok(c, s))
		return LWT_FTCP_DROP;
	if (s->flags & LWT_TCP_FIN)
		return end == c->rcv_nxt || s->seq == c->rcv_nxt ? LWT_FTCP_RESET : LWT_FTCP_DROP;
	if (!s->payload_len)
		ack_apply(c, s, false);
	return LWT_FTCP_OK;
}

/* SipHash-2-4 (Aumasson, Bernstein) over len bytes, little-endian words. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

static uint64_t siphash24(const struct lwt_syncookie_key *k, const uint8_t *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k->k0, v1 = 0x646f72616e646f6dull ^ k->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k->k0, v3 = 0x7465646279746573ull ^ k->k1;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, in + i, 8);
		m = le64toh(m);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static const uint16_t cookie_mss[4] = { 536, 1300, 1440, 1460 };	/* Linux's msstab */
#define TS_OPT_WS_NONE 0x0f
#define TS_OPT_SACK 0x10
#define TS_OPT_MASK 0x3f

void lwt_syncookie_init(struct lwt_syncookie_key *k)
{
	if (getrandom(k, sizeof(*k), 0) != sizeof(*k)) {
		k->k0 = ((uint64_t)rand32() << 32) | rand32();
		k->k1 = ((uint64_t)rand32() << 32) | rand32();
	}
}

uint32_t lwt_syncookie_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec / LWT_SYNCOOKIE_PERIOD_S);
}

/* The 29 hashed bits of a cookie. Addresses/ports as the SYN had them
 * (saddr = the client). */
static uint32_t cookie_hash(const struct lwt_syncookie_key *k, const struct lwt_tcp_seg *sg,
			    uint32_t sseq, uint32_t count, unsigned int mssi, unsigned int opts)
{
	uint32_t saddr = sg->saddr, daddr = sg->daddr;
	uint16_t sport = sg->sport, dport = sg->dport;
	uint8_t b[24 + 32];

	memcpy(b, &saddr, 4);
	memcpy(b + 4, &daddr, 4);
	memcpy(b + 8, &sport, 2);
	memcpy(b + 10, &dport, 2);
	memcpy(b + 12, &sseq, 4);
	memcpy(b + 16, &count, 4);
	b[20] = (uint8_t)mssi;
	b[21] = (uint8_t)opts;
	b[22] = 'c';
	b[23] = 0;
	if (!sg->v6)
		return (uint32_t)(siphash24(k, b, 24) >> 35);
	memcpy(b + 24, sg->sa.b, 16);	/* IPv6: the full addresses, not their stand-ins */
	memcpy(b + 40, sg->da.b, 16);
	return (uint32_t)(siphash24(k, b, sizeof(b)) >> 35);
}

/* Per address pair TSval offset (Linux: secure_tcp_ts_off). */
static uint32_t cookie_ts_off(const struct lwt_syncookie_key *k, const struct lwt_tcp_seg *sg)
{
	uint8_t b[9 + 32];

	memcpy(b, &sg->saddr, 4);
	memcpy(b + 4, &sg->daddr, 4);
	b[8] = 't';
	if (!sg->v6)
		return (uint32_t)siphash24(k, b, 9);
	memcpy(b + 9, sg->sa.b, 16);
	memcpy(b + 25, sg->da.b, 16);
	return (uint32_t)siphash24(k, b, sizeof(b));
}

/* IPv6: the flow label of a cookie flow, the same on the SYN-ACK and on
 * the flow the ACK makes (random-looking, as Linux's; stateless here). */
static uint32_t cookie_flowlabel(const struct lwt_syncookie_key *k, const struct lwt_tcp_seg *sg)
{
	uint32_t l = (cookie_ts_off(k, sg) * 2654435761u) >> 13 & 0x7ffff;

	return l ? l : 1;
}

int lwt_ftcp_build_cookie_synack(const struct lwt_syncookie_key *k, uint32_t count,
				 const struct lwt_tcp_seg *syn, uint16_t mss,
				 uint8_t *buf, size_t cap)
{
	struct lwt_ftcp_conn c;
	unsigned int mssi = 0, opts = TS_OPT_WS_NONE;
	uint16_t peer = syn->has_mss ? syn->mss : 536;
	uint8_t o[20];
	size_t n = 0;

	if ((syn->flags & (LWT_TCP_SYN | LWT_TCP_ACK | LWT_TCP_RST | LWT_TCP_FIN)) != LWT_TCP_SYN)
		return -EINVAL;
	while (mssi < 3 && cookie_mss[mssi + 1] <= peer)
		mssi++;
	if (syn->has_ts) {
		opts = (syn->has_ws ? syn->wscale : TS_OPT_WS_NONE) |
		       (syn->sack_perm ? TS_OPT_SACK : 0);
	}
	lwt_ftcp_init_addr(&c, &syn->da, syn->dport, &syn->sa, syn->sport);
	c.iss = cookie_hash(k, syn, syn->seq, count, mssi, opts) << 3 | (count & 1) << 2 | mssi;
	c.rcv_nxt = syn->seq + 1;
	c.ts_offset = cookie_ts_off(k, syn);
	c.flowlabel = cookie_flowlabel(k, syn);
	/* Options in Linux's order for what the peer offered. */
	o[n++] = 2; o[n++] = 4; put16(o + n, mss); n += 2;
	if (syn->has_ts) {
		uint32_t now = lwt_ftcp_tsval(&c), ts = (now & ~(uint32_t)TS_OPT_MASK) | opts;

		if (lwt_seq_gt(ts, now))
			ts -= TS_OPT_MASK + 1;
		if (syn->sack_perm) {
			o[n++] = 4; o[n++] = 2;
		} else {
			o[n++] = 1; o[n++] = 1;
		}
		o[n++] = 8; o[n++] = 10; put32(o + n, ts); put32(o + n + 4, syn->tsval); n += 8;
		if (syn->has_ws) {
			o[n++] = 1;
			o[n++] = 3; o[n++] = 3; o[n++] = lwt_ftcp_prof.wscale;
		}
	}
	return build(&c, buf, cap, LWT_TCP_SYN | LWT_TCP_ACK, c.iss,
		     lwt_ftcp_synack_window(mss, syn->has_ts), o, n, 0);
}

int lwt_ftcp_accept_cookie(const struct lwt_syncookie_key *k, uint32_t count,
			   struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *s)
{
	uint32_t cookie = s->ack - 1, sseq = s->seq - 1, cnt;
	unsigned int mssi = cookie & 3, opts = TS_OPT_WS_NONE, ws;

	if ((s->flags & (LWT_TCP_SYN | LWT_TCP_ACK | LWT_TCP_RST)) != LWT_TCP_ACK)
		return -EACCES;
	cnt = ((count & 1) == ((cookie >> 2) & 1)) ? count : count - 1;
	if (s->has_ts)
		opts = s->tsecr & TS_OPT_MASK;
	if (cookie_hash(k, s, sseq, cnt, mssi, opts) != cookie >> 3)
		return -EACCES;
	ws = opts & 0x0f;
	if (ws != TS_OPT_WS_NONE && ws > 14)
		return -EACCES;
	lwt_ftcp_init_addr(c, &s->da, s->dport, &s->sa, s->sport);
	c->iss = cookie;
	c->snd_nxt = c->snd_una = s->ack;
	c->irs = sseq;
	c->rcv_nxt = c->last_ack_sent = s->seq;
	c->snd_wscale = ws == TS_OPT_WS_NONE ? 0 : (uint8_t)ws;
	/* The cookie SYN-ACK offered a window scale only with one in the SYN
	 * and timestamps to carry it: otherwise neither side scales. */
	c->rcv_wscale = ws == TS_OPT_WS_NONE ? 0 : lwt_ftcp_prof.wscale;
	c->snd_wnd = (uint32_t)s->window << c->snd_wscale;
	c->max_snd_wnd = c->snd_wnd;
	c->mss = cookie_mss[mssi];
	c->peer_ts = s->has_ts;
	c->peer_sack = (opts & TS_OPT_SACK) != 0;
	c->ts_recent = s->has_ts ? s->tsval : 0;
	c->ts_offset = cookie_ts_off(k, s);
	c->flowlabel = cookie_flowlabel(k, s);
	c->rcv_wnd = est_window(c);
	c->state = LWT_FTCP_ESTABLISHED;
	return 0;
}
