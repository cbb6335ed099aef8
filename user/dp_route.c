// SPDX-License-Identifier: MIT
/* The data plane (dataplane.c): inner packets: a TUN packet to the slot of its destination (the hub, a direct path, a relay), a received one to the TUN, with the source and relay checks. */
#include "dp_int.h"

static uint32_t tun_ip_of(struct lwt_slot *s)
{
	return atomic_load_explicit(&s->peer_tun_ip, memory_order_relaxed);
}

/* Publish (or, 0, withdraw) the tunnel IP a slot of ours answers for. */
void dp_tun_publish(struct lwt_daemon *d, struct lwt_slot *s, uint32_t ip)
{
	uint32_t old = tun_ip_of(s);

	if (old == ip)
		return;
	atomic_store_explicit(&s->peer_tun_ip, ip, memory_order_relaxed);
	lwt_slotidx_del(&d->tun_idx, old, (int)(s - d->slots));
	lwt_slotidx_add(&d->tun_idx, ip, (int)(s - d->slots));
}

/* Server: the client owning an advertised route to ip (longest prefix). */
static struct lwt_slot *slot_by_route(struct dpctx *x, uint32_t ip)
{
	struct lwt_rtable *t = x->rt;
	int i;

	for (i = 0; t && i < t->n; i++) {
		if ((ip & t->r[i].mask) == t->r[i].net) {
			struct lwt_slot *s = &x->d->slots[t->r[i].slot];

			if (s->gen == t->r[i].gen &&
			    atomic_load_explicit(&s->state, memory_order_relaxed) == LWT_SLOT_SESSION)
				return s;
			return NULL;
		}
	}
	return NULL;
}

/* Server: may this client send from ip (its tunnel IP or its own routes)? */
static bool src_ok(struct dpctx *x, struct lwt_slot *s, uint32_t ip)
{
	return ip == tun_ip_of(s) || (x->rt && slot_by_route(x, ip) == s);
}

/* Any poller's slot: the index's candidates, each checked by its
 * published peer_tun_ip. */
struct lwt_slot *dp_slot_by_tun_ip(struct dpctx *x, uint32_t ip)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slotidx_it it;
	int i;

	if (!ip)
		return NULL;
	if (x->last_tun < d->nslots && tun_ip_of(&d->slots[x->last_tun]) == ip)
		return &d->slots[x->last_tun];
	it = lwt_slotidx_first(&d->tun_idx, ip);
	while ((i = lwt_slotidx_next(&d->tun_idx, &it)) >= 0) {
		if (i < d->nslots && tun_ip_of(&d->slots[i]) == ip) {
			x->last_tun = i;
			return &d->slots[i];
		}
	}
	return NULL;
}

/* Client: the direct path to the relay in use for dst (mesh.c), if any. */
static struct lwt_slot *mesh_route(struct dpctx *x, uint32_t dst)
{
	uint32_t relay = lwt_mesh_via(x->d, dst);
	struct lwt_slot *s = relay ? dp_slot_by_tun_ip(x, relay) : NULL;

	if (s && s != &x->d->slots[0] &&
	    atomic_load_explicit(&s->state, memory_order_acquire) == LWT_SLOT_SESSION &&
	    lwt_slot_confirmed(s))
		return s;
	return NULL;
}

/* Client: a direct path to the destination once the peer has sent a record
 * over it (so it holds our keys), else the hub; a destination that went via
 * the hub is told to the control thread (p2p.c may punch to it), once a
 * second at most. */
static struct lwt_slot *client_route(struct dpctx *x, const uint8_t *pkt)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *s;
	uint32_t src, dst, h;
	uint64_t now;

	if (d->nslots == 1)
		return &d->slots[0];
	/* The peer takes over a direct path only packets from our tunnel IP
	 * (dp_deliver_ip); what we route for our LAN goes through the hub, which
	 * checks our advertised routes. */
	memcpy(&src, pkt + 12, 4);
	if (src != d->cfg.tun_ip)
		return &d->slots[0];
	memcpy(&dst, pkt + 16, 4);
	/* The hub itself, and what no peer holds: no look-up, no clock read. */
	if (dst == atomic_load_explicit(&d->server_tun_ip, memory_order_relaxed) ||
	    (ntohl(dst) >> 28) == 14 || dst == 0xffffffffu)
		return &d->slots[0];
	s = dp_slot_by_tun_ip(x, dst);
	if (s && s != &d->slots[0] &&
	    atomic_load_explicit(&s->state, memory_order_acquire) == LWT_SLOT_SESSION &&
	    lwt_slot_confirmed(s)) {
		if (!atomic_load_explicit(&s->p2p_shun, memory_order_relaxed))
			return s;
		return &d->slots[0];	/* lossier than the hub (p2p_path.c) */
	}
	if (dst == d->cfg.tun_ip)
		return &d->slots[0];
	h = (ntohl(dst) * 2654435761u) >> 28;
	now = lwt_now_ns();
	if (x->want_ip[h] != dst || now - x->want_ns[h] >= WANT_EVERY_NS) {
		x->want_ip[h] = dst;
		x->want_ns[h] = now;
		dp_post(d, LWT_EVT_WANT_PEER, 0, &dst, sizeof(dst));
	}
	/* No direct path (p2p.c still looks for one): a relay the hub named
	 * (mesh.c), if in use. */
	s = mesh_route(x, dst);
	return s ? s : &d->slots[0];
}

/* An inner packet to send to the peer its destination belongs to: from
 * our TUN queue, forwarded from another client, or (handed) from another
 * poller, which found the slot ours; we look again, as it may have changed. */
void dp_route_inner(struct dpctx *x, const uint8_t *pkt, size_t len, bool handed)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *s;
	uint32_t dst;

	if ((pkt[0] >> 4) == 6) {
		dp_in6_route(x, pkt, len, handed);
		return;
	}
	if (d->cfg.mode == LWT_MODE_CLIENT) {
		s = client_route(x, pkt);
	} else {
		memcpy(&dst, pkt + 16, 4);
		s = dp_slot_by_tun_ip(x, dst);
		if (!s)
			s = slot_by_route(x, dst);
		if (!s) {
			LWT_CTR_INC(&d->ctr, drop_no_route);
			return;
		}
	}
	dp_send_to_slot(x, s, pkt, len, handed);
}

void dp_tun_input(struct dpctx *x, const uint8_t *pkt, size_t len)
{
	if (len && (pkt[0] >> 4) == 6) {
		dp_in6_route(x, pkt, len, false);	/* dp_in6.c */
		return;
	}
	if (len < 20 || (pkt[0] >> 4) != 4) {
		/* Neither IPv4 nor IPv6. */
		LWT_CTR_INC(&x->d->ctr, drop_no_route);
		return;
	}
	dp_route_inner(x, pkt, len, false);
}

static void gro_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct dpctx *x = ctx;

	if (write(x->tun_fd, buf, len) < 0)
		LWT_CTR_INC(&x->d->ctr, drop_queue_full);
}

void dp_gro_flush(struct dpctx *x)
{
	if (x->gro)
		lwt_gro_flush(x->gro, gro_write, x);
}

/* Client: a packet of a peer came through the hub while we hold a direct
 * path to it: the peer gave the path up (or its packets cannot take it).
 * Told to p2p.c, which checks the path at once, five times a second at
 * most per peer. */
static void via_hub(struct dpctx *x, const uint8_t *pkt)
{
	struct lwt_slot *p;
	uint32_t src, h;
	uint64_t now;

	memcpy(&src, pkt + 12, 4);
	if (src == atomic_load_explicit(&x->d->server_tun_ip, memory_order_relaxed))
		return;
	p = dp_slot_by_tun_ip(x, src);
	if (!p || p == &x->d->slots[0] ||
	    atomic_load_explicit(&p->state, memory_order_relaxed) != LWT_SLOT_SESSION)
		return;
	h = (ntohl(src) * 2654435761u) >> 28;
	now = lwt_now_ns();
	if (x->hub_ip[h] == src && now - x->hub_ns[h] < VIA_HUB_EVERY_NS)
		return;
	x->hub_ip[h] = src;
	x->hub_ns[h] = now;
	dp_post(x->d, LWT_EVT_PEER_VIA_HUB, p - x->d->slots, NULL, 0);
}

/* Client, a packet over direct slot s that is not its peer's to us: one
 * the hub named a relay for (mesh.c). As the pair's relay, from the peer of
 * s to a peer whose direct path we hold (never back over s, never to the
 * hub): sent on. As the pair's end, from a peer the hub said comes through
 * the peer of s, to us: taken. Anything else: false (dropped). */
static bool mesh_input(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len)
{
	struct lwt_daemon *d = x->d;
	struct lwt_slot *to;
	uint32_t src, dst;

	memcpy(&src, pkt + 12, 4);
	memcpy(&dst, pkt + 16, 4);
	if (src == tun_ip_of(s) && dst != d->cfg.tun_ip && lwt_mesh_relay_ok(d, src, dst)) {
		to = dp_slot_by_tun_ip(x, dst);
		if (!to || to == s || to == &d->slots[0] || !lwt_slot_confirmed(to)) {
			LWT_CTR_INC(&d->ctr, drop_no_route);
			return true;
		}
		lwt_mesh_count(d, LWT_MESH_CTR_RELAYED, len);
		dp_send_to_slot(x, to, pkt, len, false);
		return true;
	}
	if (dst == d->cfg.tun_ip && lwt_mesh_vouched(d, src, tun_ip_of(s))) {
		lwt_mesh_count(d, LWT_MESH_CTR_IN, len);
		return true;
	}
	lwt_mesh_count(d, LWT_MESH_CTR_REFUSED, len);
	return false;
}

/* Server, hub relay: client to's path MTU (pmtu.c) may be below the TUN's,
 * and relayed packets never pass the kernel's route of it: one too large
 * goes back to its sender as ICMP "fragmentation needed" (DF set; its TCP
 * then sends smaller ones) or is dropped. */
static bool relay_too_big(struct dpctx *x, struct lwt_slot *from, struct lwt_slot *to,
			  const uint8_t *pkt, size_t len)
{
	uint32_t lim = atomic_load_explicit(&to->path_inner_mtu, memory_order_relaxed);
	uint8_t icmp[LWT_PMTU_ICMP_MAX];
	size_t n;

	if (!lim || len <= lim)
		return false;
	LWT_CTR_INC(&to->ctr, drop_too_big);
	if ((pkt[6] & 0x40) && (n = lwt_pmtu_icmp_build(icmp, pkt, len, x->d->cfg.tun_ip, (int)lim)))
		dp_send_ip(x, from, icmp, n);
	return true;
}

void dp_deliver_ip(struct dpctx *x, struct lwt_slot *s, const uint8_t *pkt, size_t len)
{
	struct lwt_daemon *d = x->d;
	uint32_t src, dst;
	struct lwt_slot *to;

	if (len && (pkt[0] >> 4) == 6) {
		if (dp_in6_input(x, s, pkt, len))	/* dp_in6.c */
			goto tun;
		return;
	}
	if (len < 20 || (pkt[0] >> 4) != 4 || (size_t)(pkt[2] << 8 | pkt[3]) > len) {
		LWT_CTR_INC(&s->ctr, drop_malformed);
		return;
	}
	if (d->cfg.mode == LWT_MODE_CLIENT && s == &d->slots[0] && d->nslots > 1)
		via_hub(x, pkt);
	if (d->cfg.mode == LWT_MODE_CLIENT && s != &d->slots[0]) {
		/* A direct path carries its peer's own packets to us, nothing
		 * else: a peer cannot speak for another address, nor use us
		 * as a relay. */
		memcpy(&src, pkt + 12, 4);
		memcpy(&dst, pkt + 16, 4);
		if ((src != tun_ip_of(s) || dst != d->cfg.tun_ip) && !mesh_input(x, s, pkt, len)) {
			LWT_CTR_INC(&s->ctr, drop_spoofed_src);
			return;
		}
		if (dst != d->cfg.tun_ip)
			return;		/* relayed on */
	} else if (d->cfg.mode == LWT_MODE_SERVER) {
		memcpy(&src, pkt + 12, 4);
		memcpy(&dst, pkt + 16, 4);
		/* A client speaks only from its own tunnel address or the
		 * networks it advertised. */
		if (!src_ok(x, s, src)) {
			LWT_CTR_INC(&s->ctr, drop_spoofed_src);
			return;
		}
		/* For the server itself: no lookup (a scan of every slot). */
		to = dst == d->cfg.tun_ip ? NULL : dp_slot_by_tun_ip(x, dst);
		if (!to && dst != d->cfg.tun_ip)
			to = slot_by_route(x, dst);
		if (to && to != s) {
			if (x->isolation) {
				LWT_CTR_INC(&s->ctr, drop_isolation);
				return;
			}
			if (relay_too_big(x, s, to, pkt, len))
				return;
			LWT_CTR_INC(&s->ctr, forwarded);
			dp_send_to_slot(x, to, pkt, len, false);
			return;
		}
	}
tun:
	if (x->gro) {
		int r = lwt_gro_add(x->gro, pkt, len);

		if (r == -ENOBUFS) {
			dp_gro_flush(x);
			r = lwt_gro_add(x->gro, pkt, len);
		}
		if (r < 0)
			LWT_CTR_INC(&d->ctr, drop_queue_full);
		return;
	}
	if (write(x->tun_fd, pkt, len) < 0)
		LWT_CTR_INC(&d->ctr, drop_queue_full);
}
