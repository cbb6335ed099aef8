// SPDX-License-Identifier: MIT
/* Systematic Reed-Solomon FEC over ISA-L; see fec.h for the contract. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <isa-l/erasure_code.h>

#include "fec.h"

struct lwt_fec_enc {
	int k, m, max_m;
	size_t max_pkt, shard_sz;	/* largest packet; its coded shard (+2) */
	uint64_t flush_ns;
	uint32_t group;
	int count;			/* packets in the open group */
	uint64_t first_ns;		/* arrival of its first packet */
	uint16_t max_len;		/* longest coded shard so far */
	uint16_t lens[LWT_FEC_MAX_K];
	uint8_t *data;			/* k coded shards */
	uint8_t *parity;		/* max_m parity shards */
	int tk, tm;			/* shape of the cached tables */
	uint8_t tbls[LWT_FEC_MAX_K * LWT_FEC_MAX_M * 32];
	uint8_t mat[(LWT_FEC_MAX_K + LWT_FEC_MAX_M) * LWT_FEC_MAX_K];
	struct lwt_fec_stats st;
};

struct dslot {
	bool used;
	uint32_t group;
	int k, m;			/* 0 until a parity shard tells */
	uint16_t shard_len;
	uint64_t first_ns;
	int nhave, ndata;		/* shards held; data shards received */
	int max_index;
	uint64_t have[4];		/* bitmap over indexes 0..255 */
	uint64_t done[2];		/* data indexes delivered (received or rebuilt) */
	uint16_t len[LWT_FEC_MAX_K + LWT_FEC_MAX_M];	/* coded length held */
	uint8_t *buf;			/* (max_k + max_m) shards */
};

struct lwt_fec_dec {
	int max_k, max_m, nshards;
	int nslots;			/* groups tracked: slots[0..nslots) */
	size_t max_pkt, shard_sz;
	uint64_t expire_ns;
	bool any;
	uint32_t newest;
	struct dslot slots[LWT_FEC_SLOTS];
	uint8_t *pool;
	uint8_t mat[(LWT_FEC_MAX_K + LWT_FEC_MAX_M) * LWT_FEC_MAX_K];
	uint8_t b[LWT_FEC_MAX_K * LWT_FEC_MAX_K], inv[LWT_FEC_MAX_K * LWT_FEC_MAX_K];
	uint8_t c[LWT_FEC_MAX_K * LWT_FEC_MAX_K];
	uint8_t tbls[LWT_FEC_MAX_K * LWT_FEC_MAX_K * 32];
	struct lwt_fec_stats st;
};

static bool bit(const uint64_t *m, int i) { return m[i / 64] >> (i % 64) & 1; }
static void set_bit(uint64_t *m, int i) { m[i / 64] |= 1ull << (i % 64); }

struct lwt_fec_enc *lwt_fec_enc_create(int k, int m, int max_m, size_t max_pkt, uint32_t flush_us)
{
	struct lwt_fec_enc *e;

	if (k < 1 || k > LWT_FEC_MAX_K || m < 0 || max_m < m || max_m > LWT_FEC_MAX_M ||
	    k + max_m > 255 || max_pkt < 1 || max_pkt > LWT_FEC_MAX_PKT)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->max_pkt = max_pkt;
	e->shard_sz = max_pkt + 2;
	e->data = calloc(k, e->shard_sz);
	e->parity = calloc(max_m ? max_m : 1, e->shard_sz);
	if (!e->data || !e->parity) {
		lwt_fec_enc_destroy(e);
		return NULL;
	}
	e->k = k;
	e->m = m;
	e->max_m = max_m;
	e->flush_ns = (uint64_t)flush_us * 1000;
	return e;
}

void lwt_fec_enc_destroy(struct lwt_fec_enc *e)
{
	if (!e)
		return;
	free(e->data);
	free(e->parity);
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

uint64_t lwt_fec_enc_deadline(const struct lwt_fec_enc *e)
{
	return e->count && e->m ? e->first_ns + e->flush_ns : 0;
}

const struct lwt_fec_stats *lwt_fec_enc_stats(const struct lwt_fec_enc *e)
{
	return &e->st;
}

void lwt_fec_enc_flush(struct lwt_fec_enc *e, lwt_fec_emit_fn emit, void *ctx)
{
	uint8_t *src[LWT_FEC_MAX_K], *dst[LWT_FEC_MAX_M];
	struct lwt_fec_hdr h;
	int k = e->count, m = e->m, i;

	if (!k)
		return;
	if (m) {
		for (i = 0; i < k; i++) {
			uint8_t *s = e->data + (size_t)i * e->shard_sz;

			/* Zero-pad each coded shard to the group's shard length. */
			memset(s + e->lens[i], 0, e->max_len - e->lens[i]);
			src[i] = s;
		}
		for (i = 0; i < m; i++)
			dst[i] = e->parity + (size_t)i * e->shard_sz;
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
	if (!e->count)
		e->first_ns = now_ns;
	s = e->data + (size_t)e->count * e->shard_sz;
	s[0] = len >> 8;
	s[1] = len & 0xff;
	memcpy(s + 2, pkt, len);
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

struct lwt_fec_dec *lwt_fec_dec_create(int max_k, int max_m, size_t max_pkt, uint64_t expire_ns)
{
	struct lwt_fec_dec *d;
	int i;

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
	d->pool = malloc((size_t)d->nslots * d->nshards * d->shard_sz);
	if (!d->pool) {
		free(d);
		return NULL;
	}
	for (i = 0; i < d->nslots; i++)
		d->slots[i].buf = d->pool + (size_t)i * d->nshards * d->shard_sz;
	return d;
}

void lwt_fec_dec_destroy(struct lwt_fec_dec *d)
{
	if (!d)
		return;
	free(d->pool);
	free(d);
}

const struct lwt_fec_stats *lwt_fec_dec_stats(const struct lwt_fec_dec *d)
{
	return &d->st;
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
	s->used = false;
}

static uint8_t *shard(const struct lwt_fec_dec *d, const struct dslot *s, int i)
{
	return s->buf + (size_t)i * d->shard_sz;
}

/* Rebuild missing data shards once k shards of the group are held. */
static void rebuild(struct lwt_fec_dec *d, struct dslot *s, lwt_fec_deliver_fn deliver, void *ctx)
{
	uint8_t *src[LWT_FEC_MAX_K], *out[LWT_FEC_MAX_K];
	int idx[LWT_FEC_MAX_K], miss[LWT_FEC_MAX_K];
	int k = s->k, m = s->m, n = 0, nmiss = 0, i, r, done = 0;

	for (i = 0; i < k + m && n < k; i++)
		if (bit(s->have, i))
			idx[n++] = i;
	for (i = 0; i < k; i++)
		if (!bit(s->have, i))
			miss[nmiss++] = i;
	if (n < k || !nmiss)
		return;
	gf_gen_cauchy1_matrix(d->mat, k + m, k);
	for (r = 0; r < k; r++) {
		memcpy(d->b + r * k, d->mat + idx[r] * k, k);
		src[r] = shard(d, s, idx[r]);
		/* Data shards were stored unpadded. */
		if (idx[r] < k)
			memset(src[r] + s->len[idx[r]], 0, s->shard_len - s->len[idx[r]]);
	}
	if (gf_invert_matrix(d->b, d->inv, k) < 0)
		return;
	for (r = 0; r < nmiss; r++) {
		memcpy(d->c + r * k, d->inv + miss[r] * k, k);
		out[r] = shard(d, s, miss[r]);
	}
	ec_init_tables(k, nmiss, d->c, d->tbls);
	ec_encode_data(s->shard_len, k, nmiss, d->tbls, src, out);
	for (r = 0; r < nmiss; r++) {
		uint8_t *p = out[r];
		size_t len = (size_t)p[0] << 8 | p[1];

		set_bit(s->have, miss[r]);
		s->nhave++;
		s->len[miss[r]] = s->shard_len;
		if (len == 0 || len + 2 > s->shard_len) {
			/* Only a forged or corrupted group can get here. */
			d->st.groups_unrecoverable++;
			continue;
		}
		set_bit(s->done, miss[r]);
		d->st.packets_rebuilt++;
		done++;
		deliver(ctx, p + 2, len);
	}
	if (done >= 2)
		d->st.groups_rebuilt_multi++;
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
		s->group = g;
		s->k = s->m = 0;
		s->shard_len = 0;
		s->nhave = s->ndata = 0;
		s->max_index = 0;
		s->first_ns = now_ns;
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
		for (int j = 0; j < h.k; j++)
			if (bit(s->done, j) && s->len[j] > plen)
				return -EBADMSG;
		s->k = h.k;
		s->m = h.m;
		s->shard_len = (uint16_t)plen;
		memcpy(shard(d, s, i), msg + sizeof(h), plen);
		s->len[i] = (uint16_t)plen;
		d->st.parity_received++;
	} else {
		uint8_t *p = shard(d, s, i);

		if (s->k && (i >= s->k || plen + 2 > s->shard_len))
			return -EBADMSG;
		p[0] = plen >> 8;
		p[1] = plen & 0xff;
		memcpy(p + 2, msg + sizeof(h), plen);
		s->len[i] = (uint16_t)(plen + 2);
		set_bit(s->done, i);
		s->ndata++;
		d->st.shards_received++;
		deliver(ctx, msg + sizeof(h), plen);
	}
	set_bit(s->have, i);
	s->nhave++;
	if (i > s->max_index)
		s->max_index = i;
	if (s->k && s->nhave >= s->k && s->ndata < s->k)
		rebuild(d, s, deliver, ctx);
	return 0;
}

void lwt_fec_dec_expire(struct lwt_fec_dec *d, uint64_t now_ns)
{
	for (int i = 0; i < d->nslots; i++) {
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
