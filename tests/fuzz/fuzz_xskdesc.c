// SPDX-License-Identifier: MIT
/* libFuzzer target: AF_XDP receive descriptors as user/xsk.c reads them
 * (rx_queue: frames and multi-buffer chains joined into one packet, link
 * headers measured, frames lent and returned to the fill ring). xsk.c is
 * compiled into this file unchanged; the harness plays the kernel: it owns
 * a UMEM and the RX and fill rings, takes frames from the fill ring, writes
 * the input's bytes into them and posts descriptors (length, offset and
 * the "continues" flag from the input), then runs the receive step the way
 * xsk_rx_batch does (return what was lent, then read at most max).
 *
 * Invariants:
 *  - every frame is always in exactly one place: the fill ring, the RX
 *    ring, or lent to the caller; none lost, none twice;
 *  - the packets read are, in order, those the descriptors make: a frame,
 *    or with multi-buffer a chain up to its last descriptor joined, minus
 *    its link header (Ethernet, up to two VLAN tags); a chain longer than
 *    the join buffer, a frame without an IPv4 link header or shorter than
 *    one IPv4 header after it, is one rx_error and no packet;
 *  - each packet lies inside its frame or the join buffer, and a joined
 *    one is the last of its batch (the buffer is reused by the next). */
#include <stddef.h>
#include <stdint.h>

#include "xsk.c"
#include "fuzz.h"

#define NF 64			/* UMEM frames */
#define FS XSK_UMEM__DEFAULT_FRAME_SIZE
#define RING 64

static struct xskdp X;
static struct xq Q;
static struct xshard *H;
static uint8_t *area;
static uint64_t fill_ring[RING];
static struct xdp_desc rx_ring[RING];
static uint32_t fill_prod, fill_cons, rx_prod, rx_cons, zero_flags;

/* The model: descriptors posted, not yet turned into packets or errors. */
static struct {
	uint8_t *buf;
	size_t len;
	bool bad;
} chain;
#define LOG (8u << 20)
static uint8_t *wlog;			/* expected packets, back to back */
static size_t wlog_used;
static struct {
	size_t off;
	uint32_t len;
} want[8192];
static int nwant, wpos;
static uint64_t errs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	area = malloc((size_t)NF * FS);
	H = calloc(1, sizeof(*H));
	chain.buf = malloc(BIG_FRAME);
	Q.big = malloc(BIG_FRAME);
	wlog = malloc(LOG);
	return area && H && chain.buf && Q.big && wlog ? 0 : 1;
}

static void rings_init(bool sg)
{
	memset(&Q.fq, 0, sizeof(Q.fq));
	memset(&Q.rx, 0, sizeof(Q.rx));
	fill_prod = fill_cons = rx_prod = rx_cons = 0;
	Q.fq = (struct xsk_ring_prod){ .mask = RING - 1, .size = RING, .producer = &fill_prod,
				       .consumer = &fill_cons, .ring = fill_ring,
				       .flags = &zero_flags };
	Q.rx = (struct xsk_ring_cons){ .mask = RING - 1, .size = RING, .producer = &rx_prod,
				       .consumer = &rx_cons, .ring = rx_ring, .flags = &zero_flags };
	/* Every frame starts in the fill ring, as xsk.c puts them there. */
	for (int i = 0; i < NF; i++)
		fill_ring[i] = (uint64_t)i * FS;
	fill_prod = NF;
	Q.fq.cached_prod = NF;
	Q.fq.cached_cons = fill_cons + RING;
	Q.area = area;
	Q.big_len = 0;
	Q.big_bad = false;
	X.q = &Q;
	X.nq = 1;
	X.nshards = 1;
	X.sh = H;
	X.dp.rx_errors = 0;
	H->nlent = 0;
	chain.len = 0;
	chain.bad = false;
	nwant = wpos = 0;
	wlog_used = 0;
	errs = 0;
	(void)sg;
}

/* What a finished frame (or chain) must give. */
static void expect(const uint8_t *f, size_t len)
{
	uint32_t l2 = l2_len(f, (uint32_t)len);

	if (!l2 || len < l2 + 20) {
		errs++;
		return;
	}
	FZ_CHECK(nwant < (int)(sizeof(want) / sizeof(want[0])) && wlog_used + len <= LOG,
		 "harness: expected-packet log full");
	memcpy(wlog + wlog_used, f + l2, len - l2);
	want[nwant].off = wlog_used;
	want[nwant++].len = (uint32_t)(len - l2);
	wlog_used += len - l2;
}

/* The kernel: one frame from the fill ring, filled, posted. */
static bool post(struct fz *f, bool sg)
{
	uint8_t ctl = fz_u8(f);
	uint32_t off = (ctl & 3) * 64, len;
	uint64_t addr;
	const uint8_t *src;
	uint8_t *fr;

	if (fill_cons == fill_prod || rx_prod - rx_cons == RING || nwant >= 8000 ||
	    wlog_used + 2 * BIG_FRAME > LOG)
		return false;
	/* Aligned mode: the kernel takes the frame the address falls in. */
	addr = fill_ring[fill_cons++ & (RING - 1)];
	FZ_CHECK(addr / FS < NF, "fill ring holds address %llu", (unsigned long long)addr);
	addr &= ~(uint64_t)(FS - 1);
	len = ctl & 4 ? 1 + fz_u16(f) % (FS - off) : 14 + fz_u8(f);
	if (len > FS - off)
		len = FS - off;
	fr = area + addr + off;
	/* The frame: the input's bytes, then (for short inputs, or with 0x40:
	 * after 16 bytes, so that long chains fit in an input) a pattern;
	 * often an Ethernet header for IPv4 first. */
	size_t got = fz_take(f, ctl & 0x40 ? (len < 16 ? len : 16) : len, &src);

	memcpy(fr, src, got);
	for (size_t i = got; i < len; i++)
		fr[i] = (uint8_t)(i * 7 + addr / FS);
	if ((ctl & 0x18) == 0x08 && len >= 14) {
		fr[12] = 0x08;
		fr[13] = 0x00;
	}
	rx_ring[rx_prod & (RING - 1)] = (struct xdp_desc){
		.addr = addr + off, .len = len, .options = ctl & 0x80 ? XDP_PKT_CONTD : 0 };
	rx_prod++;
	/* The model of what it makes. */
	if (sg && (chain.len || (ctl & 0x80))) {
		if (!chain.bad && chain.len + len <= BIG_FRAME)
			memcpy(chain.buf + chain.len, fr, len);
		else
			chain.bad = true;
		chain.len += len;
		if (ctl & 0x80)
			return true;
		if (chain.bad)
			errs++;
		else
			expect(chain.buf, chain.len);
		chain.len = 0;
		chain.bad = false;
	} else {
		expect(fr, len);
	}
	return true;
}

static void check_frames(void)
{
	static uint8_t seen[NF];
	int i;

	memset(seen, 0, sizeof(seen));
	for (uint32_t c = fill_cons; c != fill_prod; c++)
		seen[fill_ring[c & (RING - 1)] / FS]++;
	for (uint32_t c = rx_cons; c != rx_prod; c++)
		seen[rx_ring[c & (RING - 1)].addr / FS]++;
	for (i = 0; i < H->nlent; i++)
		seen[xsk_umem__extract_addr(H->lent[i].addr) / FS]++;
	for (i = 0; i < NF; i++)
		FZ_CHECK(seen[i] == 1, "frame %d is in %d places", i, seen[i]);
}

static void batch(int max)
{
	struct lwt_dp_pkt pkts[LWT_DP_BATCH];
	int got, i;

	rx_return(&X, H);
	check_frames();
	got = rx_queue(&X, H, 0, pkts, max);
	FZ_CHECK(got >= 0 && got <= max && H->nlent <= max, "rx_queue: %d packets, %d lent, max %d",
		 got, H->nlent, max);
	check_frames();
	for (i = 0; i < got; i++) {
		const uint8_t *p = pkts[i].data;
		bool in_big = Q.big && p >= Q.big && p + pkts[i].len <= Q.big + BIG_FRAME;
		bool in_area = p >= area && p + pkts[i].len <= area + (size_t)NF * FS &&
			       (size_t)(p - area) / FS == (size_t)(p + pkts[i].len - 1 - area) / FS;

		FZ_CHECK(in_big || in_area, "packet %d lies outside its frame and the join buffer", i);
		FZ_CHECK(!in_big || i == got - 1, "a joined packet is not the last of its batch");
		FZ_CHECK(wpos < nwant, "packet %d read, none expected", wpos);
		FZ_CHECK(pkts[i].len == want[wpos].len && !memcmp(p, wlog + want[wpos].off, pkts[i].len),
			 "packet %d: %u bytes read, %u expected%s", wpos, pkts[i].len, want[wpos].len,
			 pkts[i].len == want[wpos].len ? " (other bytes)" : "");
		wpos++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t hdr = fz_u8(&f);
	bool sg = hdr & 1;
	uint8_t *big = Q.big;

	Q.big = sg ? big : NULL;
	rings_init(sg);
	while (f.n) {
		uint8_t op = fz_u8(&f);

		if (op < 0xc0) {
			for (int i = 0; i <= (op & 7) && post(&f, sg); i++)
				;
		} else {
			batch(1 + op % LWT_DP_BATCH);
		}
	}
	/* Read everything posted, then all must be accounted for. */
	for (int i = 0; i < 2 * RING && rx_cons != rx_prod; i++)
		batch(LWT_DP_BATCH);
	FZ_CHECK(rx_cons == rx_prod, "descriptors left unread");
	FZ_CHECK(wpos == nwant, "%d packets read of %d", wpos, nwant);
	FZ_CHECK(atomic_load(&X.dp.rx_errors) == errs, "%llu rx_errors counted, %llu expected",
		 (unsigned long long)atomic_load(&X.dp.rx_errors), (unsigned long long)errs);
	Q.big = big;
	return 0;
}
