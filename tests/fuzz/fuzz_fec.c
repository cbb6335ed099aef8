// SPDX-License-Identifier: MIT
/* libFuzzer target: FEC shards (lwt_fec_dec_input) and the loss-report
 * side of adaptive FEC (lwt_fec_adaptive_parity, what a report's loss_ppm
 * is turned into). The first byte picks one of three modes:
 *
 *  round trip  a real encoder (shape, packets, flushes and parity changes
 *              from the input) feeds a real decoder through a channel that
 *              loses, duplicates and reorders shards as the input says.
 *              Every packet delivered is one that was sent, byte for byte,
 *              and is delivered once; every group that lost no more shards
 *              than it has parity (and kept one parity shard) is delivered
 *              whole; the decoder's counters match what the channel did.
 *  raw shards  arbitrary shards (as an authenticated but hostile peer could
 *              send) for a decoder of any allowed shape: refused with
 *              -EBADMSG or taken; what comes out is 1..PKT + 2
 *              bytes; a data shard taken is delivered as it came.
 *  reports     loss_ppm, k and ceiling as a report and the config give
 *              them: the parity is 0..ceiling, 0 below 0.1% loss, the
 *              ceiling from 50% on, and never falls as the loss grows. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include "fec.h"
#include "fuzz.h"
#include "lwt/wire.h"

#define PKT 1600		/* the decoders' and encoders' largest packet */
#define MAX_PKTS 512
#define MAX_SHARDS 2048
#define MSG_MAX (sizeof(struct lwt_fec_hdr) + (PKT + 2))

struct sent {
	uint32_t group;
	uint16_t len;
	bool delivered;
};

struct shard {
	uint32_t group;
	bool parity;
	uint16_t len;		/* message length */
	uint32_t off;		/* in wire */
};

struct grp {
	int ndata, m;		/* data shards sent, parity shards sent */
	int data_lost, data_got, parity_got, delivered;
	int first_pos, last_pos;	/* when its shards reached the decoder */
};

static struct {
	struct sent pkt[MAX_PKTS];
	int npkt, cur;
	uint32_t feeding;	/* group of the shard the decoder is given */
	struct shard sh[MAX_SHARDS];
	int nsh;
	uint8_t wire[MAX_SHARDS * 160];
	uint32_t wire_used;
	bool overflow;
	struct grp g[MAX_PKTS + 1];
	uint64_t delivered, dups_sent;
} S;

static uint8_t table[65536 + PKT];
static int dec_slots;		/* groups the round trip's decoder tracks */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint32_t x = 7;

	for (size_t i = 0; i < sizeof(table); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		table[i] = (uint8_t)x;
	}
	fz_quiet();
	return 0;
}

/* Packet i: a window of the table with its number in the first bytes. */
static void pkt_bytes(int i, uint8_t *out, size_t len)
{
	memcpy(out, table + (i * 977u) % 65536, len);
	out[0] = (uint8_t)i;
	if (len > 1)
		out[1] = (uint8_t)(i >> 8);
}

/* Encoder output goes on the "wire" (lengths of parity shards are those
 * of the longest packet of the group: the wire is sized for it). */
static uint32_t group_base;

static void enc_emit(void *ctx, const struct lwt_fec_hdr *h, const uint8_t *p, size_t len)
{
	uint32_t g = ntohl(h->group) - group_base;
	struct shard *s;

	if (S.nsh == MAX_SHARDS || S.wire_used + sizeof(*h) + len > sizeof(S.wire) ||
	    g >= MAX_PKTS) {
		S.overflow = true;
		return;
	}
	s = &S.sh[S.nsh++];
	s->group = g;
	s->parity = h->flags & LWT_FEC_F_PARITY;
	s->len = (uint16_t)(sizeof(*h) + len);
	s->off = S.wire_used;
	memcpy(S.wire + S.wire_used, h, sizeof(*h));
	memcpy(S.wire + S.wire_used + sizeof(*h), p, len);
	S.wire_used += s->len;
	if (s->parity) {
		S.g[g].m++;
		FZ_CHECK(h->k == S.g[g].ndata, "parity of group %u says k %u, %d data shards sent", g,
			 h->k, S.g[g].ndata);
	} else {
		FZ_CHECK(h->index == S.g[g].ndata, "data shard %u of group %u, expected %d", h->index,
			 g, S.g[g].ndata);
		S.g[g].ndata++;
		S.pkt[S.cur].group = g;
	}
}

static void deliver_rt(void *ctx, const uint8_t *p, size_t len)
{
	uint8_t want[PKT];
	int i = -1;

	S.delivered++;
	FZ_CHECK(len >= 1 && len <= PKT, "delivered %zu bytes", len);
	/* Anything delivered belongs to the group of the shard being fed. A
	 * 1-byte packet only has its number's low byte: the first of the
	 * group's undelivered ones with that byte is as good as any. */
	if (len > 1) {
		i = p[0] | p[1] << 8;
	} else {
		for (int j = p[0]; j < S.npkt; j += 256)
			if (S.pkt[j].len == 1 && !S.pkt[j].delivered && S.pkt[j].group == S.feeding) {
				i = j;
				break;
			}
	}
	FZ_CHECK(i >= 0 && i < S.npkt && S.pkt[i].len == len, "delivered a %zu-byte packet never sent",
		 len);
	FZ_CHECK(S.pkt[i].group == S.feeding, "packet %d of group %u delivered while feeding group %u",
		 i, S.pkt[i].group, S.feeding);
	pkt_bytes(i, want, len);
	FZ_CHECK(!memcmp(want, p, len), "packet %d (%zu bytes) delivered with other bytes", i, len);
	FZ_CHECK(!S.pkt[i].delivered, "packet %d delivered twice", i);
	S.pkt[i].delivered = true;
	S.g[S.pkt[i].group].delivered++;
}

/* An encoder and decoder pair of one shape is ~3 MB to allocate and
 * clear; creating them for every input would take most of the time. A few
 * pairs are kept, and a pair is as good as new after a round: the encoder
 * flushed with its parity set again, every decoder group closed, the
 * counters read as differences. Only the group numbers go on from where the
 * last round left them, and nothing in either depends on their value. */
#define PAIRS 48
static struct pair {
	int k, max_m;
	struct lwt_fec_enc *e;
	struct lwt_fec_dec *d;
	uint64_t used;
} pairs[PAIRS];

static struct pair *pair_get(int k, int max_m)
{
	static uint64_t clock;
	struct pair *p = &pairs[0];
	int i;

	for (i = 0; i < PAIRS; i++) {
		if (pairs[i].e && pairs[i].k == k && pairs[i].max_m == max_m) {
			p = &pairs[i];
			goto found;
		}
		if (pairs[i].used < p->used)
			p = &pairs[i];
	}
	lwt_fec_enc_destroy(p->e);
	lwt_fec_dec_destroy(p->d);
	p->k = k;
	p->max_m = max_m;
	p->e = lwt_fec_enc_create(k, 0, max_m, PKT, 500);
	p->d = lwt_fec_dec_create(k, max_m ? max_m : 1, PKT, 1000000000ull);
	FZ_CHECK(p->e && p->d, "create %d+0 (max %d)", k, max_m);
found:
	p->used = ++clock;
	dec_slots = lwt_fec_dec_slots(k, max_m ? max_m : 1, PKT);
	return p;
}

static void round_trip(struct fz *f)
{
	/* Shapes: 1..16 data shards, 20 or 32; up to 8 parity, and room for
	 * one more (parity changes); a few hundred shapes, so that the pairs
	 * kept are reused. */
	uint8_t kb = fz_u8(f) % 18, mb = fz_u8(f);
	int k = kb < 16 ? kb + 1 : kb == 16 ? 20 : 32, m = mb % 9, max_m = m + (mb >> 7);
	static int order[MAX_SHARDS];
	static uint8_t msg[MSG_MAX], buf[PKT];
	struct lwt_fec_stats st0, st1, *st = &st1;
	struct lwt_fec_enc *e;
	struct lwt_fec_dec *d;
	struct pair *pr;
	uint32_t g0;
	int i, n, pos = 0;

	if (k + max_m > LWT_FEC_PEER_MAX_SHARDS)
		max_m = LWT_FEC_PEER_MAX_SHARDS - k;
	if (m > max_m)
		m = max_m;
	pr = pair_get(k, max_m);
	e = pr->e;
	d = pr->d;
	lwt_fec_enc_set_parity(e, m);
	st0 = *lwt_fec_dec_stats(d);
	g0 = (uint32_t)lwt_fec_enc_stats(e)->groups_sent;
	group_base = g0;
	/* Packets: lengths from the input; a zero byte flushes, 0xff changes
	 * the parity (from the group open now on). */
	while (f->n && S.npkt < MAX_PKTS && !S.overflow) {
		uint8_t op = fz_u8(f);
		uint16_t len;

		if (op == 0) {
			lwt_fec_enc_flush(e, enc_emit, NULL);
			continue;
		}
		if (op == 0xff) {
			lwt_fec_enc_set_parity(e, fz_u8(f) % (max_m + 1));
			continue;
		}
		if (op == 0xfe)
			break;	/* the rest drives the channel */
		len = op < 0xf0 ? op : 1 + fz_u16(f) % PKT;
		S.cur = S.npkt++;
		S.pkt[S.cur].len = len;
		pkt_bytes(S.cur, buf, len);
		FZ_CHECK(lwt_fec_enc_add(e, buf, len, 0, enc_emit, NULL) == 0, "add %u bytes", len);
	}
	lwt_fec_enc_flush(e, enc_emit, NULL);
	if (S.overflow)
		goto out;
	n = S.nsh;
	/* The channel: some shards swapped with one of the next 8, some lost,
	 * some sent twice, as the rest of the input says. */
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 0; i < n && f->n; i++) {
		uint8_t c = fz_u8(f);
		int span = n - i - 1 < 8 ? n - i - 1 : 8;

		if ((c & 0xc0) == 0xc0 && span > 0) {
			int j = i + 1 + (c & 7) % span, t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		/* loss and copies ride on the same byte */
		order[i] |= ((c & 0x30) == 0x30 ? 1 : (c & 0x0f) == 0x0f ? 2 : 0) << 16;
	}
	for (i = 0; i < n; i++) {
		struct shard *s = &S.sh[order[i] & 0xffff];
		int fate = order[i] >> 16, copies = fate == 1 ? 0 : fate == 2 ? 2 : 1;
		struct grp *g = &S.g[s->group];

		if (!copies) {
			g->data_lost += !s->parity;
			continue;
		}
		if (s->parity)
			g->parity_got++;
		else
			g->data_got++;
		if (!g->first_pos)
			g->first_pos = pos + 1;
		g->last_pos = ++pos;
		S.feeding = s->group;
		for (int r = 0; r < copies; r++) {
			memcpy(msg, S.wire + s->off, s->len);
			FZ_CHECK(lwt_fec_dec_input(d, msg, s->len, 0, deliver_rt, NULL) == 0,
				 "the decoder refused shard %d of group %u (%s, %u bytes)",
				 order[i] & 0xffff, s->group, s->parity ? "parity" : "data", s->len);
		}
		S.dups_sent += copies - 1;
	}
	/* Every group whose shards all came before any of a group 32 or more
	 * later (which would close it) got all its data shards that arrived
	 * and, if what arrived covers its losses, the rest rebuilt. */
	st1 = *lwt_fec_dec_stats(d);
#define DIFF(n) st1.n -= st0.n;
	LWT_FEC_STAT_FIELDS(DIFF)
#undef DIFF
	int ngroups = n ? (int)S.sh[n - 1].group + 1 : 0, later_first = 0;

	for (int g = ngroups - 1; g >= 0; g--) {
		struct grp *gr = &S.g[g];
		bool whole = !gr->data_lost ||
			     (gr->parity_got && gr->data_got + gr->parity_got >= gr->ndata);

		if (g + dec_slots < ngroups && S.g[g + dec_slots].first_pos &&
		    (!later_first || S.g[g + dec_slots].first_pos < later_first))
			later_first = S.g[g + dec_slots].first_pos;
		if (later_first && gr->last_pos > later_first)
			continue;
		FZ_CHECK(gr->delivered == (whole ? gr->ndata : gr->data_got),
			 "group %d (%d data + %d parity; %d data and %d parity arrived): %d packets "
			 "delivered, expected %d", g, gr->ndata, gr->m, gr->data_got, gr->parity_got,
			 gr->delivered, whole ? gr->ndata : gr->data_got);
	}
	FZ_CHECK(S.delivered == st->shards_received + st->packets_rebuilt,
		 "%llu deliveries, the decoder counts %llu received + %llu rebuilt",
		 (unsigned long long)S.delivered, (unsigned long long)st->shards_received,
		 (unsigned long long)st->packets_rebuilt);
	FZ_CHECK(st->duplicates + st->late >= S.dups_sent, "%llu duplicates sent, %llu counted",
		 (unsigned long long)S.dups_sent, (unsigned long long)st->duplicates);
out:
	/* As good as new for the next round (see pair_get). */
	lwt_fec_enc_flush(e, enc_emit, NULL);
	lwt_fec_dec_expire(d, UINT64_MAX);
}

static bool resetting;

static void deliver_raw(void *ctx, const uint8_t *p, size_t len)
{
	/* A data shard longer than the decoder's packets (a peer with a larger
	 * MTU) is delivered as it came, not kept: up to what a message holds. */
	FZ_CHECK(len >= 1 && len <= MSG_MAX - sizeof(struct lwt_fec_hdr), "delivered %zu bytes", len);
	if (!resetting)
		S.delivered++;
}

/* Raw shards go to a decoder kept from earlier inputs too (see pair_get),
 * put into one fixed state first: every group closed and the newest group
 * 0, reached by walking it round the sequence space in eighths (a newer
 * group is at most 2^31 ahead). Only mode bytes with the top bits set get
 * a decoder fresh from create, whose first group has nothing before it. */
static struct lwt_fec_dec *raw_dec(int k, int m, bool fresh)
{
	static struct {
		int k, m;
		struct lwt_fec_dec *d;
		uint64_t used;
	} c[PAIRS];
	static uint64_t clock;
	static struct lwt_fec_dec *last_fresh;
	uint8_t msg[sizeof(struct lwt_fec_hdr) + 1] = { 0 };
	int i, j = 0;

	lwt_fec_dec_destroy(last_fresh);
	last_fresh = NULL;
	if (fresh) {
		last_fresh = lwt_fec_dec_create(k, m, PKT, 1000000000ull);
		return last_fresh;
	}
	for (i = 0; i < PAIRS; i++) {
		if (c[i].d && c[i].k == k && c[i].m == m) {
			j = i;
			goto found;
		}
		if (c[i].used < c[j].used)
			j = i;
	}
	lwt_fec_dec_destroy(c[j].d);
	c[j].k = k;
	c[j].m = m;
	c[j].d = lwt_fec_dec_create(k, m, PKT, 1000000000ull);
found:
	c[j].used = ++clock;
	resetting = true;
	lwt_fec_dec_expire(c[j].d, UINT64_MAX);
	for (i = 1; i <= 16; i++) {
		uint32_t g = htonl((uint32_t)i << 29);

		memcpy(msg, &g, 4);
		lwt_fec_dec_input(c[j].d, msg, sizeof(msg), 0, deliver_raw, NULL);
	}
	lwt_fec_dec_expire(c[j].d, UINT64_MAX);
	resetting = false;
	return c[j].d;
}

static void raw(struct fz *f, bool fresh)
{
	uint8_t kb = fz_u8(f), mb = fz_u8(f);
	int k = kb >= 0xf0 ? LWT_FEC_MAX_K : 1 + kb % 16, m = mb >= 0xf0 ? LWT_FEC_MAX_M : mb % 9;
	struct lwt_fec_dec *d = raw_dec(k, m, fresh);
	uint64_t now = 0;

	FZ_CHECK(d, "create %d+%d", k, m);
	while (f->n) {
		const uint8_t *p;
		uint16_t want = fz_u16(f) % (MSG_MAX + 8);
		size_t len = fz_take(f, want, &p);
		uint8_t *msg = malloc(len ? len : 1);
		const struct lwt_fec_stats *st = lwt_fec_dec_stats(d);
		uint64_t before = S.delivered, rx = st->shards_received, rb = st->packets_rebuilt;
		int r;

		memcpy(msg, p, len);
		now += fz_u8(f) * 10000000ull;
		r = lwt_fec_dec_input(d, msg, len, now, deliver_raw, NULL);
		FZ_CHECK(r == 0 || r == -EBADMSG, "input returned %d", r);
		FZ_CHECK(!r || S.delivered == before, "a refused shard delivered something");
		FZ_CHECK(S.delivered - before == st->shards_received - rx + st->packets_rebuilt - rb,
			 "%llu packets delivered; counted %llu received, %llu rebuilt",
			 (unsigned long long)(S.delivered - before),
			 (unsigned long long)(st->shards_received - rx),
			 (unsigned long long)(st->packets_rebuilt - rb));
		free(msg);
		if (now & 0x80000000ull)
			lwt_fec_dec_expire(d, now);
	}
}

static void reports(struct fz *f)
{
	int k = 1 + fz_u8(f) % LWT_FEC_MAX_K, ceiling = fz_u8(f) % (LWT_FEC_MAX_M + 1);
	uint32_t ppm = fz_u32(f), ppm2 = fz_u32(f);
	int a, b;

	if (ppm2 < ppm) {
		uint32_t t = ppm;

		ppm = ppm2;
		ppm2 = t;
	}
	a = lwt_fec_adaptive_parity(ppm, k, ceiling);
	b = lwt_fec_adaptive_parity(ppm2, k, ceiling);
	FZ_CHECK(a >= 0 && a <= ceiling && b >= 0 && b <= ceiling, "parity %d/%d over ceiling %d", a,
		 b, ceiling);
	FZ_CHECK(a <= b, "more loss (%u ppm) asks less parity (%d) than %u ppm (%d) for k %d", ppm2,
		 b, ppm, a, k);
	FZ_CHECK(ppm >= 1000 || a == 0, "%u ppm (under 0.1%%) asks %d parity", ppm, a);
	FZ_CHECK(ppm2 < 500000 || b == ceiling, "%u ppm asks %d parity, not the ceiling %d", ppm2, b,
		 ceiling);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t mode = fz_u8(&f);

	memset(S.pkt, 0, sizeof(S.pkt));
	memset(S.g, 0, sizeof(S.g));
	S.npkt = S.nsh = 0;
	S.wire_used = 0;
	S.overflow = false;
	S.delivered = S.dups_sent = 0;
	switch (mode % 3) {
	case 0:
		round_trip(&f);
		break;
	case 1:
		raw(&f, mode >= 0xe0);
		break;
	case 2:
		reports(&f);
		break;
	}
	return 0;
}
