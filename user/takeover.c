// SPDX-License-Identifier: MIT
/* Server: who may hold a tunnel IP. admit() checks a client's claims at its
 * HELLO and again at its CONFIRM; the rest decides a takeover.
 *
 * A client that comes back on a new flow while the server still holds its
 * old session (same client_id, same tunnel IP) used to replace that session
 * at once. The client_id travels in clear in the HELLO, so any holder of the
 * key could copy a victim's id and tunnel IP and take its address and
 * traffic. Now the old session is asked first, under its own keys (the data
 * plane's probe: keepalives, LWT_PROBE_NS to answer), while the new flow
 * waits, confirmed but with its keys held and no route to it:
 *   answered   the old session is alive: the new flow is refused with
 *              REJECT(9) (client id in use), the old one runs on untouched;
 *   no answer  the old flow is dead: it is dropped ("client X reconnected
 *              from Y; dropping its old flow") and the new one is up.
 * At most one flow waits for a given session; a second claimant meanwhile
 * is refused with REJECT(9) and retries later. A waiting flow whose old
 * session ended otherwise (timeout, reset) goes up at once; one that has no
 * outcome after LWT_TAKEOVER_WAIT_NS is refused. Control thread only. */
#include <stdio.h>
#include <arpa/inet.h>

#include "daemon.h"
#include "log.h"
#include "roam.h"

static const char *ip_str(uint32_t ip, char *buf)
{
	struct in_addr a = { .s_addr = ip };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* A host address of the server's tunnel subnet (not its network or
 * broadcast address): the only tunnel IPs a client may claim. */
static bool addr_in_subnet(const struct lwt_daemon *d, uint32_t ip)
{
	uint32_t mask = d->cfg.tun_prefix ? htonl(~0u << (32 - d->cfg.tun_prefix)) : 0;
	uint32_t net = d->cfg.tun_ip & mask;

	if ((ip & mask) != net)
		return false;
	return d->cfg.tun_prefix >= 31 || (ip != net && ip != (net | ~mask));
}

/* May the client of slot i hold the tunnel IP and FEC shape it asks for,
 * is there room? Cheap (no curve work), so it runs before the HELLO_ACK,
 * and again on the CONFIRM (other handshakes may have finished meanwhile).
 * 0 or the REJECT reason, logged (rate-limited: before the CONFIRM anyone
 * may send a HELLO). A live session of the same client_id is no obstacle
 * here (*same = its slot): the confirmed client may take it over if it
 * fails a probe (below). */
int lwt_admit(struct lwt_daemon *d, int i, const struct lwt_hs_hello_info *h, const char *ps,
	      int *same)
{
	char ts[INET_ADDRSTRLEN];
	struct lwt_slotidx_it it;
	int j, up, limit;

	*same = -1;
	ip_str(h->tunnel_ip, ts);
	if (h->tunnel_ip == d->cfg.tun_ip) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: tunnel IP %s is the server's own", ps,
			   ts);
		return LWT_REJECT_IP_INUSE;
	}
	if (!addr_in_subnet(d, h->tunnel_ip)) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: tunnel IP %s is not a host address of "
			   "the server's tunnel subnet %s", ps, ts, d->cfg.tunnel_addr);
		return LWT_REJECT_ADDR;
	}
	if ((j = lwt_routes_covering(d, h->tunnel_ip, i)) >= 0) {
		char rs[INET_ADDRSTRLEN];

		ip_str(d->routes[j].net, rs);
		lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: tunnel IP %s lies in the route %s/%u "
			   "another client advertised", ps, ts, rs, d->routes[j].prefix);
		return LWT_REJECT_ADDR;
	}
	if (h->fec_parity && h->fec_data + h->fec_parity > LWT_FEC_PEER_MAX_SHARDS) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: FEC shape %u+%u is over %d shards a "
			   "group", ps, h->fec_data, h->fec_parity, LWT_FEC_PEER_MAX_SHARDS);
		return LWT_REJECT_FEC;
	}
	/* The sessions up but slot i's and those of this tunnel IP: the up
	 * count less the candidates by IP that are such sessions. */
	up = d->slist.nup - (d->slots[i].c.phase == LWT_PH_UP);
	it = lwt_slotlist_ip_first(&d->slist, h->tunnel_ip);
	while ((j = lwt_slotidx_next(&d->slist.by_ip, &it)) >= 0) {
		struct lwt_slot *o = &d->slots[j];

		if (j == i || o->c.phase != LWT_PH_UP || o->c.tun_ip != h->tunnel_ip)
			continue;
		if (o->c.client_id != h->client_id) {
			lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: tunnel IP %s already in use by %s",
				   ps, ts, lwt_peer_str(o, (char[64]){ 0 }, 64));
			return LWT_REJECT_IP_INUSE;
		}
		if (j > *same)
			*same = j;
		up--;
	}
	limit = d->cfg.multi_client ? d->cfg.max_clients : 1;
	if (up >= limit) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: server full (%d clients)", ps, limit);
		return LWT_REJECT_FULL;
	}
	return 0;
}

/* Another slot than i whose data plane routes ip: a session, or a handshake
 * whose keys went in early. */
int lwt_ip_holder(struct lwt_daemon *d, int i, uint32_t ip)
{
	struct lwt_slotidx_it it = lwt_slotlist_ip_first(&d->slist, ip);
	int j;

	while ((j = lwt_slotidx_next(&d->slist.by_ip, &it)) >= 0) {
		struct lwt_slot *o = &d->slots[j];

		if (j != i && o->c.tun_ip == ip &&
		    (o->c.phase == LWT_PH_UP || (o->c.phase == LWT_PH_HELLO && o->c.hs.installed)))
			return j;
	}
	return -1;
}


/* The other end of slot i's takeover link if both ends still name each
 * other (a slot's gen changes with every flow), else -1. */
static int linked(const struct lwt_daemon *d, int i)
{
	const struct lwt_slot *s = &d->slots[i], *o;

	if (!s->c.tk_gen || s->c.tk_slot < 0 || s->c.tk_slot >= d->nslots)
		return -1;
	o = &d->slots[s->c.tk_slot];
	if (atomic_load_explicit(&o->gen, memory_order_relaxed) != s->c.tk_gen ||
	    o->c.tk_slot != i ||
	    o->c.tk_gen != atomic_load_explicit(&s->gen, memory_order_relaxed))
		return -1;
	return s->c.tk_slot;
}

bool lwt_takeover_waiting(const struct lwt_daemon *d, int i)
{
	return d->slots[i].c.phase == LWT_PH_HELLO && d->slots[i].c.tk_gen;
}

int lwt_takeover_start(struct lwt_daemon *d, int i, int same)
{
	struct lwt_slot *s = &d->slots[i], *o = &d->slots[same];
	char ps[64], os[64], ts[INET_ADDRSTRLEN];
	int w = linked(d, same);

	lwt_peer_str(s, ps, sizeof(ps));
	lwt_peer_str(o, os, sizeof(os));
	ip_str(s->c.hs.hello.tunnel_ip, ts);
	if (w >= 0 && lwt_takeover_waiting(d, w)) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: client %s (%s) is being probed for "
			   "another flow's takeover already", ps, ts, os);
		d->takeovers_refused++;
		return LWT_REJECT_ID_INUSE;
	}
	s->c.tk_slot = same;
	s->c.tk_gen = atomic_load_explicit(&o->gen, memory_order_relaxed);
	o->c.tk_slot = i;
	o->c.tk_gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
	s->c.phase_ns = lwt_now_ns();	/* the deadline counts from here */
	/* Rate-limited: a holder of the key may claim again and again. */
	lwt_log_rl(LWT_LOG_INFO, "peer %s: claims client %s, held by the session from %s: probing "
		   "that session first", ps, ts, os);
	lwt_cmd(d, LWT_CMD_PROBE, same, NULL);
	d->takeover_probes++;
	return 0;
}

/* The waiting slot w goes on: its old session is gone. */
static void take_over(struct lwt_daemon *d, int w)
{
	d->slots[w].c.tk_gen = 0;
	lwt_server_confirmed(d, w);
	/* Its first records (sent behind its CONFIRM) were dropped while it
	 * waited: a keepalive at once tells it that the session is up. */
	if (d->slots[w].c.phase == LWT_PH_UP)
		d->slots[w].c.last_ka_ns = 0;
}

void lwt_takeover_probed(struct lwt_daemon *d, int i, bool answered)
{
	struct lwt_slot *o = &d->slots[i];
	char ps[64], os[64], ts[INET_ADDRSTRLEN];
	int w = linked(d, i);

	if (o->c.phase != LWT_PH_UP)
		return;
	o->c.tk_gen = 0;
	if (w >= 0 && !lwt_takeover_waiting(d, w))
		w = -1;
	lwt_peer_str(o, os, sizeof(os));
	ip_str(o->c.tun_ip, ts);
	if (answered) {
		if (w < 0)
			return;
		lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: client id %016llx of client %s is in use "
			   "by the live session from %s (it answered a probe under its keys)",
			   lwt_peer_str(&d->slots[w], ps, sizeof(ps)),
			   (unsigned long long)o->c.client_id, ts, os);
		d->takeovers_refused++;
		lwt_reject(d, w, LWT_REJECT_ID_INUSE);
		return;
	}
	/* No answer under the session's keys: the flow is dead (a RST/FIN
	 * probe that joined this one ends here as well). */
	if (w < 0) {
		lwt_info("client %s (%s) disconnected (no authenticated answer to a probe)", ts, os);
		lwt_slot_kill(d, i);
		return;
	}
	lwt_info("client %s reconnected from %s; dropping its old flow %s (no answer to a probe)",
		 ts, lwt_peer_str(&d->slots[w], ps, sizeof(ps)), os);
	lwt_slot_kill(d, i);
	d->takeovers++;
	take_over(d, w);
}

void lwt_takeover_tick(struct lwt_daemon *d, int i, uint64_t now)
{
	struct lwt_slot *s = &d->slots[i];
	char ps[64], ts[INET_ADDRSTRLEN];
	int o = linked(d, i);

	if (o < 0 || d->slots[o].c.phase != LWT_PH_UP) {
		lwt_dbg("peer %s: the session it waited for has ended; taking over",
			lwt_peer_str(s, ps, sizeof(ps)));
		d->takeovers++;
		take_over(d, i);
		return;
	}
	if (now - s->c.phase_ns <= LWT_TAKEOVER_WAIT_NS)
		return;
	d->slots[o].c.tk_gen = 0;
	lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: no outcome of the probe of client %s's "
		   "session within %llu s", lwt_peer_str(s, ps, sizeof(ps)),
		   ip_str(s->c.hs.hello.tunnel_ip, ts), LWT_TAKEOVER_WAIT_NS / 1000000000ull);
	d->takeovers_refused++;
	lwt_reject(d, i, LWT_REJECT_ID_INUSE);
}

/* A RESUME came on slot w's flow (resume.c): if w waits for a session
 * whose keys it proves it held, that session is the same client's on a
 * flow it left (it roamed): dropped now, without waiting for the probe.
 * A RESUME that does not verify changes nothing: the probe decides. */
void lwt_takeover_resumed(struct lwt_daemon *d, int w)
{
	char ps[64], os[64], ts[INET_ADDRSTRLEN];
	int o;

	if (!lwt_takeover_waiting(d, w))
		return;
	o = linked(d, w);
	if (o < 0 || d->slots[o].c.phase != LWT_PH_UP)
		return;
	if (!lwt_resume_proven(d, w, o)) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: RESUME for client %s does not prove its session's "
			   "keys; probing that session as without it",
			   lwt_peer_str(&d->slots[w], ps, sizeof(ps)),
			   ip_str(d->slots[o].c.tun_ip, ts));
		return;
	}
	lwt_info("client %s resumed from %s (proved its session %08x); dropping its old flow %s",
		 ip_str(d->slots[o].c.tun_ip, ts), lwt_peer_str(&d->slots[w], ps, sizeof(ps)),
		 d->slots[o].c.session_id, lwt_peer_str(&d->slots[o], os, sizeof(os)));
	d->slots[o].c.tk_gen = 0;
	lwt_slot_kill(d, o);
	d->takeovers++;
	take_over(d, w);
}
