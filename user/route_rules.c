// SPDX-License-Identifier: MIT
/* The route-advert rules of route_rules.h, for IPv4 and IPv6 alike: no
 * default route and nothing overlapping the tunnel subnet unless
 * allowed_routes names it exactly; only networks inside allowed_routes; a
 * network to the first client that claims it; never one covering the
 * server's or another client's tunnel address, nor one overlapping the
 * server's own routes. */
#include <string.h>

#include "daemon.h"
#include "route_rules.h"

bool lwt_pfx_within(const uint8_t *a, const uint8_t *net, int p, int alen)
{
	int i, bits;
	uint8_t m;

	for (i = 0; i < alen; i++) {
		bits = p - i * 8;
		m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		if ((a[i] ^ net[i]) & m)
			return false;
	}
	return true;
}

static bool overlap(const uint8_t *an, int ap, const uint8_t *bn, int bp, int alen)
{
	return lwt_pfx_within(an, bn, ap < bp ? ap : bp, alen);
}

static const uint8_t *ent(const struct lwt_rtab *t, int i, uint8_t *prefix, int *slot)
{
	const uint8_t *e = t->base + (size_t)i * t->stride;

	*prefix = e[t->prefix_off];
	if (slot)
		memcpy(slot, e + t->slot_off, sizeof(*slot));
	return e;
}

/* net/p inside some entry of t (exact: the very entry) */
static bool in_table(const struct lwt_rtab *t, const uint8_t *net, uint8_t p, int alen, bool exact)
{
	const uint8_t *e;
	uint8_t ep;

	for (int i = 0; i < t->n; i++) {
		e = ent(t, i, &ep, NULL);
		if (exact ? ep == p && !memcmp(e, net, alen) :
			    ep <= p && lwt_pfx_within(net, e, ep, alen))
			return true;
	}
	return false;
}

static bool overlaps_table(const struct lwt_rtab *t, int except_slot, const uint8_t *net,
			   uint8_t p, int alen)
{
	const uint8_t *e;
	uint8_t ep;
	int s = -1;

	for (int i = 0; i < t->n; i++) {
		e = ent(t, i, &ep, t->slot_off >= 0 ? &s : NULL);
		if ((t->slot_off < 0 || s != except_slot) && overlap(net, p, e, ep, alen))
			return true;
	}
	return false;
}

int lwt_route_judge(const struct lwt_route_rules *r, int slot, const uint8_t *net, uint8_t p)
{
	bool named = in_table(&r->allowed, net, p, r->alen, true);

	if (p == 0 && !named)
		return LWT_ROUTE_DEFAULT;
	if (r->tun && overlap(net, p, r->tun, r->tun_prefix, r->alen) && !named)
		return LWT_ROUTE_TUNNEL;
	if (!in_table(&r->allowed, net, p, r->alen, false))
		return LWT_ROUTE_NOT_ALLOWED;
	if (overlaps_table(&r->accepted, slot, net, p, r->alen))
		return LWT_ROUTE_CONFLICT;
	/* Even a route the operator named may not take the server's or another
	 * client's own tunnel address. */
	if (r->self && lwt_pfx_within(r->self, net, p, r->alen))
		return LWT_ROUTE_HOLDS_PEER;
	if (r->holds_peer(r->d, slot, net, p))
		return LWT_ROUTE_HOLDS_PEER;
	if (overlaps_table(&r->own, -1, net, p, r->alen))
		return LWT_ROUTE_CONFLICT;
	return LWT_ROUTE_OK;
}
