// SPDX-License-Identifier: MIT
/* The AF_XDP data path's flows and link headers (xsk_int.h). Flows: the
 * XDP program drops non-SYN segments to the server's listen port from flows
 * it does not know, and the daemon does not manage the flows map itself, so
 * they are learned from what we send (our SYN-ACK opens a flow, our RST or
 * FIN closes it, a silent one ages out); the client's flow from the filter
 * is a static entry. Link headers: from the kernel's neighbour table for
 * the next hop, never from a received frame. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if_arp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "netlink.h"
#include "xsk_int.h"

static uint32_t hash32(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352d;
	v ^= v >> 15;
	v *= 0x846ca68b;
	return v ^ (v >> 16);
}

static uint32_t key_hash(const struct lwt_xdp_flow_key *k)
{
	return hash32(k->raddr.w[3] ^ hash32(k->laddr.w[3] ^ k->raddr.w[1]) ^
		      ((uint32_t)k->rport << 16 | k->lport));
}

/* --- flows ------------------------------------------------------------- */

static int flow_key_of(const uint8_t *ip, uint32_t len, struct lwt_xdp_flow_key *k,
		       uint8_t *tcp_flags)
{
	uint32_t ihl;

	if (len >= 60 && ip[0] >> 4 == 6 && ip[6] == IPPROTO_TCP) {	/* we send no extension header */
		memset(k, 0, sizeof(*k));
		memcpy(&k->raddr, ip + 24, 16);
		memcpy(&k->laddr, ip + 8, 16);
		memcpy(&k->rport, ip + 42, 2);
		memcpy(&k->lport, ip + 40, 2);
		*tcp_flags = ip[40 + 13];
		return 0;
	}
	if (len < 20 || (ip[0] >> 4) != 4 || ip[9] != IPPROTO_TCP)
		return -1;
	ihl = (ip[0] & 0x0f) * 4u;
	if (ihl < 20 || len < ihl + 20)
		return -1;
	memset(k, 0, sizeof(*k));
	lwt_xdp_addr_v4(&k->raddr, ld32(ip + 16));
	lwt_xdp_addr_v4(&k->laddr, ld32(ip + 12));
	memcpy(&k->rport, ip + ihl + 2, 2);
	memcpy(&k->lport, ip + ihl, 2);
	*tcp_flags = ip[ihl + 13];
	return 0;
}

static int flow_add(struct xskdp *x, const struct lwt_xdp_flow_key *k, uint32_t flags)
{
	struct lwt_xdp_flow v = { .last_ns = now_ns(), .flags = flags };

	if (bpf_map__update_elem(x->skel->maps.flows, k, sizeof(*k), &v, sizeof(v),
				 BPF_NOEXIST) && errno != EEXIST)
		return -errno;
	return 0;
}

void xflow_forget(struct xshard *h, const struct lwt_xdp_flow_key *k)
{
	struct lwt_xdp_flow_key *slot = &h->learned[key_hash(k) % LEARN_SLOTS];

	if (!memcmp(slot, k, sizeof(*k)))
		memset(slot, 0, sizeof(*slot));
}

/* Our segment to a peer opens (or, RST/FIN, closes) its learned flow. A
 * shard trusts its cache for AGE_EVERY_NS: another shard's ageing may have
 * removed the flow since, and adding it again is one cheap syscall. */
void xflow_learn(struct xskdp *x, struct xshard *h, const uint8_t *ip, uint32_t len,
		       uint64_t now)
{
	struct lwt_xdp_flow_key k, *slot;
	struct lwt_xdp_flow v;
	uint32_t i;
	uint8_t fl;
	int err;

	if (flow_key_of(ip, len, &k, &fl))
		return;
	i = key_hash(&k) % LEARN_SLOTS;
	slot = &h->learned[i];
	if (fl & 0x05) {	/* RST, FIN */
		if (!bpf_map__lookup_elem(x->skel->maps.flows, &k, sizeof(k), &v, sizeof(v), 0) &&
		    (v.flags & LWT_XDP_FL_LEARNED))
			bpf_map__delete_elem(x->skel->maps.flows, &k, sizeof(k), 0);
		xflow_forget(h, &k);
		return;
	}
	if (!memcmp(slot, &k, sizeof(k)) && now - h->learned_ns[i] < AGE_EVERY_NS)
		return;
	err = flow_add(x, &k, LWT_XDP_FL_LEARNED);
	if (err) {
		lwt_log_rl(LWT_LOG_WARN, "xsk: couldn't add a flow to '%s': %s", LWT_XDP_MAP_FLOWS,
			   strerror(-err));
		return;
	}
	*slot = k;
	h->learned_ns[i] = now;
}

/* Drop learned flows that fell silent. Keys are fetched before deleting so
 * the walk never restarts. */
void xflows_age(struct xskdp *x, uint64_t now)
{
	struct bpf_map *m = x->skel->maps.flows;
	struct lwt_xdp_flow_key k, next;
	struct lwt_xdp_flow v;
	int more;

	if (now < x->next_age_ns)
		return;
	x->next_age_ns = now + AGE_EVERY_NS;
	more = !bpf_map__get_next_key(m, NULL, &next, sizeof(next));
	while (more) {
		k = next;
		more = !bpf_map__get_next_key(m, &k, &next, sizeof(next));
		if (bpf_map__lookup_elem(m, &k, sizeof(k), &v, sizeof(v), 0) ||
		    !(v.flags & LWT_XDP_FL_LEARNED) || v.last_ns > now)
			continue;
		if (now - v.last_ns > (v.packets ? LEARN_IDLE_NS : EMBRYO_IDLE_NS)) {
			bpf_map__delete_elem(m, &k, sizeof(k), 0);
			xflow_forget(&x->sh[0], &k);
		}
	}
}

static int config_write(struct xskdp *x, const struct lwt_dp_filter *f)
{
	struct lwt_xdp_config c = { 0 };
	uint32_t zero = 0;

	if (f->server || f->p2p) {
		c.laddr = f->laddr;
		c.lport = f->lport;
	}
	if (f->server && f->listen6)
		c.flags |= LWT_XDP_CF_LISTEN6;
	if (f->server && f->listen6 && !f->listen4)
		c.flags |= LWT_XDP_CF_NO_LISTEN4;
	if (f->server && f->listen6 && !lwt_addr_is_any(&f->la6)) {
		uint32_t w[4];

		memcpy(w, f->la6.b, sizeof(w));
		c.flags |= LWT_XDP_CF_LISTEN6_ADDR;
		c.laddr6_fold = w[0] ^ w[1] ^ w[2] ^ w[3];
	}
	c.owner_pid = getpid();
	if (bpf_map__update_elem(x->skel->maps.config, &zero, sizeof(zero), &c, sizeof(c), 0))
		return -errno;
	return 0;
}

/* The client's one flow, known before a byte is sent. */
int xflow_filter_apply(struct xskdp *x, const struct lwt_dp_filter *f)
{
	struct lwt_xdp_flow_key k = { .rport = f->rport, .lport = f->lport };
	int err = config_write(x, f);

	if (err)
		return err;
	if (x->static_flow) {
		bpf_map__delete_elem(x->skel->maps.flows, &x->static_key, sizeof(k), 0);
		x->static_flow = 0;
	}
	x->filter = *f;
	x->filter.flows = NULL;
	x->filter.nflows = 0;
	/* Sessions that exist before we attach: known before the program is. */
	for (int i = 0; f->server && i < f->nflows; i++) {
		struct lwt_xdp_flow_key fk = { .rport = f->flows[i].rport, .lport = f->flows[i].lport };

		lwt_xdp_addr_v4(&fk.raddr, f->flows[i].raddr);
		lwt_xdp_addr_v4(&fk.laddr, f->flows[i].laddr);
		flow_add(x, &fk, LWT_XDP_FL_LEARNED);
	}
	/* A client without a local port yet has no flow; no laddr, no key. */
	if (f->server || !f->lport || !f->laddr || !f->raddr)
		return 0;
	if (f->v6) {	/* a server over IPv6 (laddr/raddr: stand-ins, addr.h) */
		memcpy(&k.raddr, f->ra6.b, 16);
		memcpy(&k.laddr, f->la6.b, 16);
	} else {
		lwt_xdp_addr_v4(&k.raddr, f->raddr);
		lwt_xdp_addr_v4(&k.laddr, f->laddr);
	}
	err = flow_add(x, &k, 0);
	if (err)
		return err;
	x->static_key = k;
	x->static_flow = 1;
	return 0;
}

int xflow_set_filter(struct lwt_dp *dp, const struct lwt_dp_filter *f)
{
	int err = xflow_filter_apply(X(dp), f);

	if (err)
		lwt_err("xsk: couldn't update the XDP flow filter: %s", strerror(-err));
	return err;
}

/* --- link headers ------------------------------------------------------- */

/* The neighbour table's entry for ip's next hop, if the route to ip leaves
 * through our interface; else (no route, another interface, no entry yet)
 * unresolved, and the kernel's own path sends and resolves. */
static int l2_resolve6(struct xskdp *x, const struct lwt_addr *ip, uint8_t mac[6])
{
	static const uint8_t zero[16];
	uint8_t gw[16];
	int ifindex;

	if (lwt_nl_route_get6(ip->b, &ifindex, gw) || ifindex != x->ifindex)
		return -1;
	return lwt_nl_neigh_get6(ifindex, memcmp(gw, zero, 16) ? gw : ip->b, mac);
}

static void l2_resolve(struct xskdp *x, struct l2peer *p)
{
	bool v4 = lwt_addr_is_v4(&p->ip);
	uint32_t src, gw, ip4 = lwt_addr_v4(&p->ip);
	uint8_t mac[6];
	int ifindex;

	if (v4 ? lwt_nl_route_get(ip4, &ifindex, &src, &gw) || ifindex != x->ifindex ||
		 lwt_nl_neigh_get(ifindex, gw ? gw : ip4, mac) :
		 l2_resolve6(x, &p->ip, mac)) {
		p->hlen = 0;
		return;
	}
	memcpy(p->hdr, mac, 6);
	memcpy(p->hdr + 6, x->mac, 6);
	p->hdr[12] = v4 ? 0x08 : 0x86;
	p->hdr[13] = v4 ? 0x00 : 0xdd;
	p->hlen = ETH_HLEN_;
}

const struct l2peer *xl2_for(struct xskdp *x, struct xshard *h, const uint8_t *pkt, uint64_t now)
{
	struct lwt_addr ip;
	struct l2peer *p;

	if (pkt[0] >> 4 == 6)
		memcpy(ip.b, pkt + 24, 16);
	else
		lwt_addr_from_v4(&ip, ld32(pkt + 16));
	p = &h->peers[hash32(lwt_addr_key32(&ip)) % PEERS];
	if (!lwt_addr_eq(&p->ip, &ip)) {
		memset(p, 0, sizeof(*p));
		p->ip = ip;
	}
	if (now >= p->retry_ns) {
		l2_resolve(x, p);
		p->retry_ns = now + (p->hlen ? L2_REFRESH_NS : NEIGH_RETRY_NS);
	}
	return p->hlen ? p : NULL;
}
