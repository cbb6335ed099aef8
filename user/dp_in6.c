// SPDX-License-Identifier: MIT
/* The data plane (dataplane.c): inner IPv6 packets (inet6.h). The hub
 * routes them by exact tunnel address (the slot index, confirmed by each
 * slot's published address and generation) and then by longest prefix over
 * the accepted IPv6 routes (in6idx.h), checks their source as it checks an
 * IPv4 one, and keeps clients apart under client_isolation. A client sends
 * all of its IPv6 to the hub: direct paths carry IPv4 only. */
#include "dp_int.h"
#include "inet6.h"

static bool published(const struct lwt_daemon *d, int i, const uint8_t a[16])
{
	const struct lwt_in6 *v = d->in6;
	uint64_t hi, lo;

	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	return atomic_load_explicit(&v->pub[i][0], memory_order_acquire) == hi &&
	       atomic_load_explicit(&v->pub[i][1], memory_order_relaxed) == lo &&
	       atomic_load_explicit(&v->pub_gen[i], memory_order_relaxed) ==
	       atomic_load_explicit(&d->slots[i].gen, memory_order_relaxed);
}

static struct lwt_slot *live(struct lwt_slot *s)
{
	return atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION ? s : NULL;
}

/* Server: the slot whose accepted IPv6 tunnel address is a. */
static struct lwt_slot *by_addr(struct dpctx *x, const uint8_t a[16])
{
	struct lwt_daemon *d = x->d;
	struct lwt_slotidx_it it = lwt_slotidx_first(&d->in6->idx, lwt_in6_key(a));
	int i;

	while ((i = lwt_slotidx_next(&d->in6->idx, &it)) >= 0)
		if (i < d->nslots && published(d, i, a))
			return live(&d->slots[i]);
	return NULL;
}

/* Server: the client owning the longest advertised IPv6 route holding a. */
static struct lwt_slot *by_route(struct dpctx *x, const uint8_t a[16])
{
	int r = lwt_rt6_lookup(x->rt6, a);
	struct lwt_slot *s;

	if (r < 0)
		return NULL;
	s = &x->d->slots[x->rt6->e[r].slot];
	return atomic_load_explicit(&s->gen, memory_order_relaxed) == x->rt6->e[r].gen ? live(s) : NULL;
}

static struct lwt_slot *server_dst(struct dpctx *x, const uint8_t a[16])
{
	struct lwt_slot *s = by_addr(x, a);

	return s ? s : by_route(x, a);
}

static bool ours(const struct lwt_daemon *d, const uint8_t a[16])
{
	return d->cfg.has_ip6 && !memcmp(a, d->cfg.tun6.addr, 16);
}

/* An IPv6 packet from our TUN (or handed by another poller). */
void dp_in6_route(struct dpctx *x, const uint8_t *pkt, size_t len, bool handed)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *s;

	if (len < 40 || !d->cfg.has_ip6) {
		LWT_CTR_INC(&d->ctr, drop_no_route);
		return;
	}
	if (d->cfg.mode == LWT_MODE_CLIENT) {
		/* Link-local sources and multicast (router and neighbour
		 * solicitations, MLD) stay on this host: the hub would count
		 * them as spoofed. */
		if (pkt[24] == 0xff || (pkt[8] == 0xfe && (pkt[9] & 0xc0) == 0x80)) {
			LWT_CTR_INC(&d->ctr, drop_no_route);
			return;
		}
		dp_send_to_slot(x, &d->slots[0], pkt, len, handed);
		return;
	}
	s = server_dst(x, pkt + 24);
	if (!s) {
		LWT_CTR_INC(&d->ctr, drop_no_route);
		return;
	}
	dp_send_to_slot(x, s, pkt, len, handed);
}

/* Hub relay, as relay_too_big (dp_route.c) for IPv4: a packet larger than
 * client to's path allows goes back to its sender as ICMPv6 Packet Too Big
 * (IPv6 is never fragmented on the way) from our IPv6 tunnel address. */
static bool too_big6(struct dpctx *x, struct lwt_slot *from, struct lwt_slot *to,
		     const uint8_t *pkt, size_t len)
{
	uint32_t lim = atomic_load_explicit(&to->path_inner_mtu, memory_order_relaxed);
	uint8_t icmp[LWT_PMTU_ICMP6_MAX];
	size_t n;

	if (!lim || len <= lim)
		return false;
	LWT_CTR_INC(&to->ctr, drop_too_big);
	if ((n = lwt_pmtu_icmp6_build(icmp, pkt, len, x->d->cfg.tun6.addr, (int)lim)))
		dp_send_ip(x, from, icmp, n);
	return true;
}

/* An IPv6 packet that came over slot s: true if it is for our TUN. */
bool dp_in6_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *to;

	if (len < 40 || (size_t)(pkt[4] << 8 | pkt[5]) + 40 > len) {
		LWT_CTR_INC(&s->ctr, drop_malformed);
		return false;
	}
	if (!d->cfg.has_ip6) {
		LWT_CTR_INC(&s->ctr, drop_no_route);
		return false;
	}
	if (d->cfg.mode == LWT_MODE_CLIENT) {
		/* Only the hub speaks IPv6 to us. */
		if (s != &d->slots[0]) {
			LWT_CTR_INC(&s->ctr, drop_spoofed_src);
			return false;
		}
		return true;
	}
	if (d->cfg.mode != LWT_MODE_SERVER)
		return true;
	/* A client speaks only from its accepted IPv6 address or the IPv6
	 * networks it advertised and we accepted. */
	if (by_addr(x, pkt + 8) != s && by_route(x, pkt + 8) != s) {
		LWT_CTR_INC(&s->ctr, drop_spoofed_src);
		return false;
	}
	if (ours(d, pkt + 24))
		return true;
	to = server_dst(x, pkt + 24);
	if (!to || to == s)
		return true;
	if (x->isolation) {
		LWT_CTR_INC(&s->ctr, drop_isolation);
		return false;
	}
	if (too_big6(x, s, to, pkt, len))
		return false;
	LWT_CTR_INC(&s->ctr, forwarded);
	dp_send_to_slot(x, to, pkt, len, false);
	return false;
}
