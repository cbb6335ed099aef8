// SPDX-License-Identifier: MIT
/* IPv6 longest-prefix match (in6idx.h). */
#include <stdlib.h>

#include "in6idx.h"

void lwt_in6_mask(const uint8_t a[16], int prefix, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		int bits = prefix - i * 8;

		out[i] = bits >= 8 ? a[i] : bits <= 0 ? 0 : a[i] & (uint8_t)(0xff << (8 - bits));
	}
}

bool lwt_in6_within(const uint8_t a[16], const uint8_t net[16], int prefix)
{
	uint8_t m[16], n[16];

	lwt_in6_mask(a, prefix, m);
	lwt_in6_mask(net, prefix, n);
	return !memcmp(m, n, 16);
}

bool lwt_in6_overlap(const uint8_t an[16], int ap, const uint8_t bn[16], int bp)
{
	return lwt_in6_within(an, bn, ap < bp ? ap : bp);
}

static uint32_t hash6(const uint8_t net[16], uint8_t prefix)
{
	uint64_t h = lwt_in6_key(net) + prefix * 0xff51afd7ed558ccdull;

	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

static int find(const struct lwt_rt6 *t, const uint8_t net[16], uint8_t prefix)
{
	uint32_t pos = hash6(net, prefix) & t->mask;

	for (uint32_t left = t->mask + 1; left; left--, pos = (pos + 1) & t->mask) {
		int32_t v = t->h[pos];

		if (!v)
			return -1;
		if (t->e[v - 1].prefix == prefix && !memcmp(t->e[v - 1].net, net, 16))
			return v - 1;
	}
	return -1;
}

struct lwt_rt6 *lwt_rt6_build(const struct lwt_rt6_ent *e, int n)
{
	uint32_t size = 4;
	bool seen[129] = { false };
	struct lwt_rt6 *t;
	int i, m = 0;

	while (size < 2u * (uint32_t)n + 2)
		size <<= 1;
	t = calloc(1, sizeof(*t) + (size_t)n * sizeof(t->e[0]) + size * sizeof(int32_t));
	if (!t)
		return NULL;
	t->mask = size - 1;
	t->h = (int32_t *)((char *)t + sizeof(*t) + (size_t)n * sizeof(t->e[0]));
	for (i = 0; i < n; i++) {
		struct lwt_rt6_ent x = e[i];
		uint32_t pos;

		if (x.prefix > 128)
			continue;
		lwt_in6_mask(e[i].net, x.prefix, x.net);
		if (find(t, x.net, x.prefix) >= 0)
			continue;
		t->e[m] = x;
		pos = hash6(x.net, x.prefix) & t->mask;
		while (t->h[pos])
			pos = (pos + 1) & t->mask;
		t->h[pos] = ++m;
		seen[x.prefix] = true;
	}
	t->n = m;
	for (i = 128; i >= 0; i--)
		if (seen[i])
			t->lens[t->nlens++] = (uint8_t)i;
	return t;
}

int lwt_rt6_lookup(const struct lwt_rt6 *t, const uint8_t a[16])
{
	uint8_t m[16];

	for (int i = 0; t && i < t->nlens; i++) {
		int r;

		lwt_in6_mask(a, t->lens[i], m);
		r = find(t, m, t->lens[i]);
		if (r >= 0)
			return r;
	}
	return -1;
}
