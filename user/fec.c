// SPDX-License-Identifier: MIT
/* Systematic Reed-Solomon FEC over ISA-L; see fec.h for the contract. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <isa-l/erasure_code.h>

#include "fec.h"
#include "fecpool.h"

struct lwt_fec_enc {
	int k, m, max_m;
	size_t max_pkt, shard_sz;	/* largest packet; its coded shard (+2) */
	uint64_t flush_ns;
	uint32_t group;
	int count;			/* packets in the open group */
	int gm;				/* its parity, fixed when it opened */
	uint64_t first_ns;		/* arrival of its first packet */
	uint16_t max_len;		/* longest coded shard so far */
	uint16_t lens[LWT_FEC_MAX_K];
	struct lwt_fecpool *pool, *own;	/* the shared pool; ours until one is set */
	struct lwt_fecpool_blk *blk;	/* the open group's k + gm shards (gm > 0) */
	int tk, tm;			/* shape of the cached tables */
	uint8_t *tbls;			/* k * max_m * 32 */
	uint8_t *mat;			/* (k + max_m) * k */
	struct lwt_fec_stats st;
};

/* A group the decoder tracks. Its shards live in a pool block (blk) only
 * while it is incomplete; nobuf: it lost its block (evicted) or never got
 * one, so it cannot be rebuilt, but its data shards are still delivered. */
struct dslot {
	bool used, complete, nobuf;
	uint32_t group;
	int k, m;			/* 0 until a parity shard tells */
	uint16_t shard_len;
	uint16_t max_dlen;		/* longest coded data shard received */
	uint64_t first_ns;
	int nhave, ndata, ndone;	/* shards held; data received; data delivered */
	int max_index;
	uint64_t have[4];		/* bitmap over indexes 0..255 */
	uint64_t done[2];		/* data indexes delivered (received or rebuilt) */
	struct lwt_fecpool_blk *blk;	/* (max_k + max_m) shards, blk->len[] their lengths */
};

struct lwt_fec_dec {
	int max_k, max_m, nshards;
	int nslots;			/* groups tracked: slots[0..nslots) */
	int nused;			/* groups tracked now (closed at expiry) */
	size_t max_pkt, shard_sz;
	uint64_t expire_ns;
	bool any;
	uint32_t newest;
	struct lwt_fecpool *pool, *own;
	struct dslot slots[LWT_FEC_SLOTS];
	struct lwt_fec_stats st;
};

_Static_assert((size_t)(LWT_FEC_MAX_K + LWT_FEC_MAX_M) * LWT_FEC_MAX_K +
	       3 * LWT_FEC_MAX_K * LWT_FEC_MAX_K + LWT_FEC_MAX_K * LWT_FEC_MAX_K * 32 <=
	       LWT_FECPOOL_SCRATCH, "the pool's scratch holds the decoder's work matrices");
_Static_assert(LWT_FEC_MAX_K + LWT_FEC_MAX_M <= 256, "a block's len[] covers a group");

static bool bit(const uint64_t *m, int i) { return m[i / 64] >> (i % 64) & 1; }
static void set_bit(uint64_t *m, int i) { m[i / 64] |= 1ull << (i % 64); }

/* The pool a coder takes its blocks from: the shared one once set, else a
 * private one made on first use, as large as the coder could ever hold. */
static struct lwt_fecpool *pool_of(struct lwt_fecpool **pool, struct lwt_fecpool **own,
				   size_t bound)
{
	if (!*pool) {
		*own = lwt_fecpool_create(bound);
		*pool = *own;
	}
	return *pool;
}

struct lwt_fec_enc *lwt_fec_enc_create(int k, int m, int max_m, size_t max_pkt, uint32_t flush_us)
{
	struct lwt_fec_enc *e;
	size_t tb, mt;

	if (k < 1 || k > LWT_FEC_MAX_K || m < 0 || max_m < m || max_m > LWT_FEC_MAX_M ||
	    k + max_m > 255 || max_pkt < 1 || max_pkt > LWT_FEC_MAX_PKT)
		return NULL;
	/* Tables for this k only: a few hundred bytes, not the library's most. */
	tb = (size_t)k * (max_m ? max_m : 1) * 32;
	mt = (size_t)(k + max_m) * k;
	e = calloc(1, sizeof(*e) + tb + mt);
	if (!e)
		return NULL;
	e->tbls = (uint8_t *)(e + 1);
	e->mat = e->tbls + tb;
	e->max_pkt = max_pkt;
	e->shard_sz = max_pkt + 2;
	e->k = k;
	e->m = m;
	e->max_m = max_m;
	e->flush_ns = (uint64_t)flush_us * 1000;
	return e;
}

void lwt_fec_enc_set_pool(struct lwt_fec_enc *e, struct lwt_fecpool *p)
{
	if (e->blk)
		return;		/* a group is open: keep its pool */
	lwt_fecpool_destroy(e->own);
	e->own = NULL;
	e->pool = p;
}

void lwt_fec_enc_destroy(struct lwt_fec_enc *e)
{
	if (!e)
		return;
	if (e->blk)
		lwt_fecpool_put(e->pool, e->blk);
	lwt_fecpool_destroy(e->own);
	free(e);
}

void lwt_fec_enc_set_parity(struct lwt_fec_enc *e, int m)
{
	if (m < 0)
		m = 0;
	e->m = m > e->max_m ? e->max_m : m;
}

int lwt_fec_enc_parity(const struct lwt_fec_enc *e)
{
	return e->m;
}

bool lwt_fec_enc_active(const struct lwt_fec_enc *e)
{
	return e->count || e->m;
}

uint64_t lwt_fec_enc_deadline(const struct lwt_fec_enc *e)
{
	return e->count && e->gm ? e->first_ns + e->flush_ns : 0;
}

const struct lwt_fec_stats *lwt_fec_enc_stats(const struct lwt_fec_enc *e)
{
	return &e->st;
}

void lwt_fec_enc_flush(struct lwt_fec_enc *e, lwt_fec_emit_fn emit, void *ctx)
{
	uint8_t *src[LWT_FEC_MAX_K], *dst[LWT_FEC_MAX_M];
	struct lwt_fec_hdr h;
	int k = e->count, m = e->gm, i;

	if (!k)
		return;
	if (m) {
		for (i = 0; i < k; i++) {
			uint8_t *s = e->blk->data + (size_t)i * e->shard_sz;

			/* Zero-pad each coded shard to the group's shard length. */
			memset(s + e->lens[i], 0, e->max_len - e->lens[i]);
			src[i] = s;
		}
		for (i = 0; i < m; i++)
			dst[i] = e->blk->data + (size_t)(e->k + i) * e->shard_sz;
		if (e->tk != k || e->tm != m) {
			gf_gen_cauchy1_matrix(e->mat, k + m, k);
			ec_init_tables(k, m, e->mat + k * k, e->tbls);
			e->tk = k;
			e->tm = m;
		}
		ec_encode_data(e->max_len, k, m, e->tbls, src, dst);
		h.group = htonl(e->group);
		h.k = (uint8_t)k;
		h.m = (uint8_t)m;
		h.flags = LWT_FEC_F_PARITY;
		h.shard_len = htons(e->max_len);
		for (i = 0; i < m; i++) {
			h.index = (uint8_t)(k + i);
			emit(ctx, &h, dst[i], e->max_len);
		}
		e->st.parity_sent += m;
	}
	lwt_fecpool_put(e->pool, e->blk);
	e->blk = NULL;
	e->st.groups_sent++;
	e->group++;
	e->count = 0;
	e->max_len = 0;
}

int lwt_fec_enc_add(struct lwt_fec_enc *e, const uint8_t *pkt, size_t len, uint64_t now_ns,
		    lwt_fec_emit_fn emit, void *ctx)
{
	struct lwt_fec_hdr h = { 0 };
	uint8_t *s;

	if (len == 0 || len > e->max_pkt)
		return -EMSGSIZE;
	if (!e->count) {
		e->first_ns = now_ns;
		e->gm = e->m;
		if (e->gm) {
			size_t sz = (size_t)(e->k + e->gm) * e->shard_sz;

			/* The group's shards come from the pool while it is
			 * open; a pool without room: this group has no parity. */
			e->blk = lwt_fecpool_get(pool_of(&e->pool, &e->own,
							 lwt_fecpool_cost((size_t)(e->k + e->max_m) *
									  e->shard_sz)),
						 sz, e, 0, NULL);
			if (!e->blk)
				e->gm = 0;
		}
	}
	if (e->gm) {
		/* Only a group that gets parity needs its coded copy. */
		s = e->blk->data + (size_t)e->count * e->shard_sz;
		s[0] = len >> 8;
		s[1] = len & 0xff;
		memcpy(s + 2, pkt, len);
	}
	e->lens[e->count] = (uint16_t)(len + 2);
	if (e->lens[e->count] > e->max_len)
		e->max_len = e->lens[e->count];
	h.group = htonl(e->group);
	h.index = (uint8_t)e->count;
	e->count++;
	emit(ctx, &h, pkt, len);
	e->st.data_sent++;
	if (e->count == e->k)
		lwt_fec_enc_flush(e, emit, ctx);
	return 0;
}

int lwt_fec_dec_slots(int max_k, int max_m, size_t max_pkt)
{
	size_t group = (size_t)(max_k + max_m) * (max_pkt + 2);
	size_t n = group ? LWT_FEC_DEC_BUDGET / group : LWT_FEC_SLOTS;

	if (n > LWT_FEC_SLOTS)
		n = LWT_FEC_SLOTS;
	return n < LWT_FEC_MIN_SLOTS ? LWT_FEC_MIN_SLOTS : (int)n;
}

size_t lwt_fec_dec_group_bytes(int max_k, int max_m, size_t max_pkt)
{
	return (size_t)(max_k + max_m) * (max_pkt + 2);
}

struct lwt_fec_dec *lwt_fec_dec_create(int max_k, int max_m, size_t max_pkt, uint64_t expire_ns)
{
	struct lwt_fec_dec *d;

	if (max_k < 1 || max_k > LWT_FEC_MAX_K || max_m < 0 || max_m > LWT_FEC_MAX_M ||
	    max_pkt < 1 || max_pkt > LWT_FEC_MAX_PKT)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->max_k = max_k;
	d->max_m = max_m;
	d->nshards = max_k + max_m;
	d->max_pkt = max_pkt;
	d->shard_sz = max_pkt + 2;
	d->nslots = lwt_fec_dec_slots(max_k, max_m, max_pkt);
	d->expire_ns = expire_ns;
	return d;
}

static void slot_release(struct lwt_fec_dec *d, struct dslot *s)
{
	lwt_fecpool_put(d->pool, s->blk);
	s->blk = NULL;
}

void lwt_fec_dec_set_pool(struct lwt_fec_dec *d, struct lwt_fecpool *p)
{
	for (int i = 0; i < d->nslots; i++)
		if (d->slots[i].blk) {
			slot_release(d, &d->slots[i]);
			d->slots[i].nobuf = true;
		}
	lwt_fecpool_destroy(d->own);
	d->own = NULL;
	d->pool = p;
}

void lwt_fec_dec_destroy(struct lwt_fec_dec *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->nslots; i++)
		slot_release(d, &d->slots[i]);
	lwt_fecpool_destroy(d->own);
	free(d);
}

const struct lwt_fec_stats *lwt_fec_dec_stats(const struct lwt_fec_dec *d)
{
	return &d->st;
}

int lwt_fec_dec_pending(const struct lwt_fec_dec *d)
{
	return d->nused;
}

static void slot_close(struct lwt_fec_dec *d, struct dslot *s)
{
	int k = s->k ? s->k : s->max_index + 1, i, missing = 0;

	if (!s->used)
		return;
	if (k > d->max_k)
		k = d->max_k;
	for (i = 0; i < k; i++)
		if (!bit(s->done, i))
			missing++;
	/* Without a parity shard the group's size is a guess (highest index
	 * seen); a tail lost with its parity goes uncounted. */
	d->st.shards_lost += k - s->ndata > 0 ? k - s->ndata : 0;
	if (missing)
		d->st.groups_unrecoverable++;
	d->st.groups_closed++;
	slot_release(d, s);
	d->nused--;
	s->used = false;
}

/* Every data shard of the group delivered: its block goes back at once. */
static void check_complete(struct lwt_fec_dec *d, struct dslot *s)
{
	if (s->complete || !(s->k ? s->ndone >= s->k : s->ndone >= d->max_k))
		return;
	s->complete = true;
	slot_release(d, s);
}

/* The pool takes a group's block back (it is short): the group can no
 * longer be rebuilt. */
static void slot_evict(void *owner, struct lwt_fecpool_blk *blk, int tag)
{
	struct lwt_fec_dec *d = owner;
	struct dslot *s = &d->slots[tag];

	(void)blk;
	s->blk = NULL;
	s->nobuf = true;
}

static uint8_t *shard(const struct lwt_fec_dec *d, const struct dslot *s, int i)
{
	return s->blk->data + (size_t)i * d->shard_sz;
}

/* Rebuild missing data shards once k shards of the group are held. */
static void rebuild(struct lwt_fec_dec *d, struct dslot *s, lwt_fec_deliver_fn deliver, void *ctx)
{
	uint8_t *src[LWT_FEC_MAX_K], *out[LWT_FEC_MAX_K];
	int idx[LWT_FEC_MAX_K], miss[LWT_FEC_MAX_K];
	int k = s->k, m = s->m, n = 0, nmiss = 0, i, r, done = 0;
	uint8_t *mat, *b, *inv, *c, *tbls;
	uint16_t *len = s->blk->len;

	for (i = 0; i < k + m && n < k; i++)
		if (bit(s->have, i))
			idx[n++] = i;
	for (i = 0; i < k; i++)
		if (!bit(s->have, i))
			miss[nmiss++] = i;
	if (n < k || !nmiss)
		return;
	/* The work matrices are the poller's, shared by its decoders. */
	mat = lwt_fecpool_scratch(d->pool);
	if (!mat)
		return;
	b = mat + (LWT_FEC_MAX_K + LWT_FEC_MAX_M) * LWT_FEC_MAX_K;
	inv = b + LWT_FEC_MAX_K * LWT_FEC_MAX_K;
	c = inv + LWT_FEC_MAX_K * LWT_FEC_MAX_K;
	tbls = c + LWT_FEC_MAX_K * LWT_FEC_MAX_K;
	gf_gen_cauchy1_matrix(mat, k + m, k);
	for (r = 0; r < k; r++) {
		memcpy(b + r * k, mat + idx[r] * k, k);
		src[r] = shard(d, s, idx[r]);
		/* Data shards were stored unpadded. */
		if (idx[r] < k)
			memset(src[r] + len[idx[r]], 0, s->shard_len - len[idx[r]]);
	}
	if (gf_invert_matrix(b, inv, k) < 0)
		return;
	for (r = 0; r < nmiss; r++) {
		memcpy(c + r * k, inv + miss[r] * k, k);
		out[r] = shard(d, s, miss[r]);
	}
	ec_init_tables(k, nmiss, c, tbls);
	ec_encode_data(s->shard_len, k, nmiss, tbls, src, out);
	for (r = 0; r < nmiss; r++) {
		uint8_t *p = out[r];
		size_t plen = (size_t)p[0] << 8 | p[1];

		set_bit(s->have, miss[r]);
		s->nhave++;
		len[miss[r]] = s->shard_len;
		if (plen == 0 || plen + 2 > s->shard_len) {
			/* Only a forged or corrupted group can get here. */
			d->st.groups_unrecoverable++;
			continue;
		}
		set_bit(s->done, miss[r]);
		s->ndone++;
		d->st.packets_rebuilt++;
		done++;
		deliver(ctx, p + 2, plen);
	}
	if (done >= 2)
		d->st.groups_rebuilt_multi++;
	/* Whatever could not be rebuilt never will be. */
	s->complete = true;
	slot_release(d, s);
}

/* A block for slot s's shards, once; without one (pool short) the group
 * is kept as bits only. */
static void slot_buf(struct lwt_fec_dec *d, struct dslot *s)
{
	size_t bound;

	if (s->blk || s->nobuf || s->complete)
		return;
	bound = (size_t)d->nslots * lwt_fecpool_cost((size_t)d->nshards * d->shard_sz);
	s->blk = lwt_fecpool_get(pool_of(&d->pool, &d->own, bound), (size_t)d->nshards * d->shard_sz,
				 d, (int)(s - d->slots), slot_evict);
	if (!s->blk)
		s->nobuf = true;
}

int lwt_fec_dec_input(struct lwt_fec_dec *d, const uint8_t *msg, size_t len, uint64_t now_ns,
		      lwt_fec_deliver_fn deliver, void *ctx)
{
	struct lwt_fec_hdr h;
	struct dslot *s;
	uint32_t g;
	size_t plen;
	int i;
	bool parity;

	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, msg, sizeof(h));
	g = ntohl(h.group);
	plen = len - sizeof(h);
	parity = h.flags & LWT_FEC_F_PARITY;
	i = h.index;
	if (h.flags & ~LWT_FEC_F_PARITY)
		return -EBADMSG;
	if (parity) {
		if (!h.k || h.k > d->max_k || h.m > d->max_m || !h.m || i < h.k || i >= h.k + h.m ||
		    ntohs(h.shard_len) != plen || plen < 3 || plen > d->shard_sz)
			return -EBADMSG;
	} else if (h.k || h.m || h.shard_len || i >= d->max_k || plen == 0 ||
		   plen > LWT_FEC_MAX_PKT) {
		return -EBADMSG;
	} else if (plen > d->max_pkt) {
		/* A peer with a larger MTU: the packet is good, but there is no
		 * room to keep it, and its group's parity (longer still) will
		 * be refused, so nothing is ever rebuilt from a shard not kept. */
		d->st.shards_received++;
		deliver(ctx, msg + sizeof(h), plen);
		return 0;
	}
	if (d->any && (int32_t)(g - d->newest) <= -d->nslots) {
		d->st.late++;
		return 0;
	}
	if (!d->any || (int32_t)(g - d->newest) > 0) {
		d->newest = g;
		d->any = true;
	}
	s = &d->slots[g % (uint32_t)d->nslots];
	if (s->used && s->group != g) {
		if ((int32_t)(g - s->group) < 0) {
			d->st.late++;
			return 0;
		}
		slot_close(d, s);
	}
	if (!s->used) {
		memset(s->have, 0, sizeof(s->have));
		memset(s->done, 0, sizeof(s->done));
		s->used = true;
		s->complete = s->nobuf = false;
		s->group = g;
		s->k = s->m = 0;
		s->shard_len = s->max_dlen = 0;
		s->nhave = s->ndata = s->ndone = 0;
		s->max_index = 0;
		s->first_ns = now_ns;
		d->nused++;
	}
	if (bit(s->have, i)) {
		/* A rebuilt data shard arriving for real is a late duplicate too. */
		d->st.duplicates++;
		return 0;
	}
	if (parity) {
		if (s->k && (s->k != h.k || s->m != h.m || s->shard_len != plen))
			return -EBADMSG;
		/* Data shards already held must fit the announced shape. */
		for (int j = h.k; j < LWT_FEC_MAX_K && j <= s->max_index; j++)
			if (bit(s->done, j))
				return -EBADMSG;
		if (s->max_dlen > plen)
			return -EBADMSG;
		s->k = h.k;
		s->m = h.m;
		s->shard_len = (uint16_t)plen;
		slot_buf(d, s);
		if (s->blk) {
			memcpy(shard(d, s, i), msg + sizeof(h), plen);
			s->blk->len[i] = (uint16_t)plen;
		}
		d->st.parity_received++;
	} else {
		if (s->k && (i >= s->k || plen + 2 > s->shard_len))
			return -EBADMSG;
		slot_buf(d, s);
		if (s->blk) {
			uint8_t *p = shard(d, s, i);

			p[0] = plen >> 8;
			p[1] = plen & 0xff;
			memcpy(p + 2, msg + sizeof(h), plen);
			s->blk->len[i] = (uint16_t)(plen + 2);
		}
		if (plen + 2 > s->max_dlen)
			s->max_dlen = (uint16_t)(plen + 2);
		set_bit(s->done, i);
		s->ndata++;
		s->ndone++;
		d->st.shards_received++;
		deliver(ctx, msg + sizeof(h), plen);
	}
	set_bit(s->have, i);
	s->nhave++;
	if (i > s->max_index)
		s->max_index = i;
	if (s->blk && s->k && s->nhave >= s->k && s->ndata < s->k)
		rebuild(d, s, deliver, ctx);
	check_complete(d, s);
	return 0;
}

void lwt_fec_dec_expire(struct lwt_fec_dec *d, uint64_t now_ns)
{
	for (int i = 0; d->nused && i < d->nslots; i++) {
		struct dslot *s = &d->slots[i];

		if (s->used && now_ns - s->first_ns > d->expire_ns)
			slot_close(d, s);
	}
}

/* P(more than m of n shards lost) at loss rate p (binomial tail). */
static double tail(int n, int m, double p)
{
	double term = pow(1 - p, n), sum = 0;
	int i;

	/* sum P(X <= m), then 1 - that */
	for (i = 0; i <= m; i++) {
		sum += term;
		term = term * (n - i) / (i + 1) * p / (1 - p);
	}
	return 1 - sum;
}

int lwt_fec_adaptive_parity(uint32_t loss_ppm, int k, int ceiling)
{
	double p = loss_ppm / 1e6;
	int m;

	if (loss_ppm < 1000 || ceiling <= 0)
		return 0;
	if (p >= 0.5)
		return ceiling;
	for (m = 1; m < ceiling; m++)
		if (tail(k + m, m, p) < 1e-3)
			return m;
	return ceiling;
}
