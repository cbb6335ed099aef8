// SPDX-License-Identifier: MIT
/* P2P path choice (docs/PROTOCOL.md "Path choice and failover"): a direct
 * path's heartbeats and failover, which path a peer's packets take, and
 * what status shows of it. The data plane picks the direct slot once it is
 * confirmed (dataplane.c client_route); this keeps it honest. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "log.h"
#include "natdetect.h"
#include "p2p.h"

static const char *state_str[] = { "relay-hub", "waiting", "punching", "handshake", "up" };

/* The fake-TCP ACKs of a direct path stopped: segments of ours are
 * outstanding and the peer's acknowledgement has not moved for
 * ACK_STALL_NS (or 4 RTTs). The peer ACKs within 20 ms whatever it sends,
 * so this shows a dead path long before the records' silence does. */
static bool ack_stalled(struct p2p_peer *e, const struct lwt_slot *s, uint64_t rtt, uint64_t now)
{
	uint32_t una = LWT_PUB_GET(s, snd_una), nxt = LWT_PUB_GET(s, snd_nxt);
	uint64_t limit = 4 * rtt > ACK_STALL_NS ? 4 * rtt : ACK_STALL_NS;

	if (una != e->una_seen || una == nxt || !e->una_ns) {
		e->una_seen = una;
		e->una_ns = now;
		return false;
	}
	return now - e->una_ns > limit;
}

static uint32_t path_loss(const struct lwt_slot *s)
{
	uint32_t a = atomic_load_explicit(&s->loss_ppm, memory_order_relaxed);
	uint32_t b = atomic_load_explicit(&s->peer_loss_ppm, memory_order_relaxed);

	return a > b ? a : b;
}

/* Path choice by loss, with hysteresis: the worse of the two directions
 * as the FEC reports measure them (each side's loss_report), on the direct
 * path against the hub's. Put aside, the direct path stays up and is
 * probed (asks, which the peer answers: both directions keep being
 * measured); packets take the hub. true: put aside now. */
static bool loss_judge(struct lwt_daemon *d, struct p2p_peer *e, int i, uint64_t now)
{
	uint32_t dl = path_loss(&d->slots[i]), hl = path_loss(&d->slots[0]);
	bool worse = dl > hl + (e->shun ? CLEAN_PPM : LOSSY_PPM);
	char a[INET_ADDRSTRLEN];

	if (worse != e->shun) {
		if (!e->judge_ns)
			e->judge_ns = now;
		if (now - e->judge_ns >= (e->shun ? CLEAN_NS : LOSSY_NS)) {
			e->shun = worse;
			e->judge_ns = 0;
			atomic_store_explicit(&d->slots[i].p2p_shun, worse, memory_order_relaxed);
			if (worse)
				d->p2p->lossy_switches++;
			lwt_info("peer %s: %s (direct path loss %.1f%%, hub %.1f%%)",
				 p2p_ip_s(e->tun_ip, a), worse ? "through the hub, the direct path "
				 "loses more" : "direct again", dl / 1e4, hl / 1e4);
		}
	} else {
		e->judge_ns = 0;
	}
	if (e->shun && now - e->ka_ns >= LOSSY_PROBE_NS) {
		e->ka_ns = now;
		if (!e->ask_ns)
			e->ask_ns = now;	/* dead, not only lossy: p2p_timeout ends it */
		lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i, NULL, 0, NULL);
		return true;
	}
	return e->shun;
}

/* A direct path in use: heartbeats, and failover when the peer stops
 * answering. Sending and hearing nothing for SILENT_NS, our ACKs stalled,
 * or every ACTIVE_NS while traffic flows, we ask (a keepalive, which the
 * peer answers); no answer within ANSWER_NS (or 4 RTTs), the path is dead. Idle,
 * the initiator sends one unanswered keepalive every
 * p2p_keepalive_interval. */
void p2p_up_tick(struct lwt_daemon *d, struct p2p_peer *e, uint64_t now)
{
	int i = p2p_slot_of(d, e);
	struct lwt_slot *s = &d->slots[i];
	/* Records other than our heartbeats and their answers. */
	uint64_t tx = LWT_CTR_GET(&s->ctr, tx_packets) - LWT_CTR_GET(&s->ctr, keepalives_tx);
	uint64_t rx = LWT_CTR_GET(&s->ctr, rx_packets) - LWT_CTR_GET(&s->ctr, keepalives_rx);
	uint64_t last_rx = atomic_load_explicit(&s->last_rx_ns, memory_order_relaxed);
	uint64_t rtt = atomic_load_explicit(&s->rtt_us, memory_order_relaxed) * 1000ull;
	uint64_t idle_ka = (uint64_t)d->cfg.p2p_keepalive_interval * NS, limit;
	/* UDP: no ACK of the peer's refreshes its NAT, and UDP entries live
	 * 30 s unanswered on Linux: both sides send, within 25 s. */
	if (e->udp && idle_ka > UDP_KA_MAX_NS)
		idle_ka = UDP_KA_MAX_NS;
	bool sent = tx != e->tx_seen;
	char why[64];

	if (sent || rx != e->rx_seen)
		e->active_ns = now;
	e->tx_seen = tx;
	e->rx_seen = rx;
	if (e->ask_ns && last_rx > e->ask_ns)
		e->ask_ns = 0;
	/* In use, a path must answer within ANSWER_NS (or 4 RTTs); idle,
	 * within p2p_timeout. */
	limit = now - e->active_ns < ACTIVE_NS ? (4 * rtt > ANSWER_NS ? 4 * rtt : ANSWER_NS) :
		(uint64_t)d->cfg.p2p_timeout * NS;
	if (e->ask_ns && now - e->ask_ns > limit) {
		snprintf(why, sizeof(why), "no answer for %llu ms",
			 (unsigned long long)((now - e->ask_ns) / MS));
		p2p_path_end(d, e, why, true);
		return;
	}
	if (!lwt_slot_confirmed(s)) {
		if (now - e->up_ns > HELLO_NS) {
			p2p_path_end(d, e, "no record from the peer after the handshake", true);
			return;
		}
		if (now - e->ka_ns >= UNCONFIRMED_KA_NS) {
			e->ka_ns = now;
			lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i, NULL, 0, NULL);
		}
		return;
	}
	if (e->role == LWT_P2P_RESPONDER && e->rekey_s && s->c.phase == LWT_PH_UP)
		lwt_rekey_tick(d, i, now);
	if (loss_judge(d, e, i, now))
		return;		/* put aside: its probes are its heartbeats */
	/* Judged whatever else is asking (a heartbeat's ask may be out when
	 * the path dies), counted once a stall. UDP: no ACKs. */
	if (!e->udp && ack_stalled(e, s, rtt, now)) {
		if (!e->stalled)
			d->p2p->ack_stalls++;
		e->stalled = true;
	} else {
		e->stalled = false;
	}
	if (e->stalled && !e->ask_ns) {
		e->ka_ns = e->ask_ns = now;
		lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i, NULL, 0, NULL);
	} else if ((sent && now - last_rx > SILENT_NS && !e->ask_ns) ||
	    (now - e->active_ns < ACTIVE_NS && now - e->ka_ns >= ACTIVE_NS)) {
		e->ka_ns = now;
		if (!e->ask_ns)
			e->ask_ns = now;
		lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i, NULL, 0, NULL);
	} else if ((e->role == LWT_P2P_INITIATOR || e->udp) && now - e->ka_ns >= idle_ka) {
		/* Idle: one record each p2p_keepalive_interval keeps both NATs'
		 * entries (the peer's pure ACK refreshes its side), and wants no
		 * answer: a dead path shows once traffic comes (above). */
		e->ka_ns = now;
		lwt_cmd_data(d, LWT_CMD_KEEPALIVE, i, (uint8_t[]){ 1 }, 1, NULL);
	}
}

const char *lwt_p2p_path(const struct lwt_daemon *d, uint32_t ip)
{
	const struct p2p_peer *e;

	if (!d->p2p || d->cfg.mode != LWT_MODE_CLIENT)
		return "relay-hub";
	for (int i = 0; i < LWT_P2P_SLOTS; i++) {
		e = &d->p2p->p[i];
		if (e->tun_ip == ip && e->state == P_UP && lwt_slot_confirmed(&d->slots[i + 1]))
			return e->shun ? "relay-hub" : e->cand[e->cand_i].path;
	}
	return lwt_mesh_path(d, ip, NULL);
}

void *lwt_p2p_json(const struct lwt_daemon *d)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	const struct lwt_p2p *p = d->p2p;
	char a[INET_ADDRSTRLEN], ep[INET_ADDRSTRLEN + 8];

	if (!o || !p)
		return o;
	cJSON_AddBoolToObject(o, "enabled", d->cfg.p2p_enabled);
	if (d->cfg.mode == LWT_MODE_SERVER) {
		cJSON_AddNumberToObject(o, "orders_sent", (double)p->orders_sent);
		cJSON_AddNumberToObject(o, "requests_refused", (double)p->reqs_refused);
		cJSON_AddNumberToObject(o, "ruled_out", (double)p->ruled_out);
		cJSON_AddNumberToObject(o, "requests_limited", (double)p->reqs_limited);
		cJSON_AddNumberToObject(o, "udp_orders_sent", (double)p->udp_orders_sent);
		return o;
	}
	cJSON_AddStringToObject(o, "nat", p2p_nat_name(p2p_nat_kind(d)));
	cJSON_AddNumberToObject(o, "requests", (double)p->reqs);
	cJSON_AddNumberToObject(o, "orders", (double)p->orders);
	cJSON_AddNumberToObject(o, "orders_bad", (double)p->orders_bad);
	cJSON_AddNumberToObject(o, "paths_up", (double)p->paths_up);
	cJSON_AddNumberToObject(o, "punches_failed", (double)p->punches_failed);
	cJSON_AddNumberToObject(o, "failovers", (double)p->failovers);
	cJSON_AddNumberToObject(o, "ack_stalls", (double)p->ack_stalls);
	cJSON_AddNumberToObject(o, "lossy_switches", (double)p->lossy_switches);
	cJSON_AddNumberToObject(o, "udp_paths_up", (double)p->udp_paths_up);
	cJSON_AddNumberToObject(o, "udp_probes_ok", (double)p->udp_probes_ok);
	cJSON_AddNumberToObject(o, "udp_probes_bad", (double)p->udp_probes_bad);
	cJSON_AddNumberToObject(o, "udp_probe_budget_hits", (double)p->udp_probe_budget_hits);
	arr = cJSON_AddArrayToObject(o, "paths");
	for (int i = 0; arr && i < LWT_P2P_SLOTS && d->nslots > 1; i++) {
		const struct p2p_peer *e = &p->p[i];
		const struct lwt_slot *s = &d->slots[i + 1];
		cJSON *x;

		if (!e->tun_ip)
			continue;
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "tunnel_ip", p2p_ip_s(e->tun_ip, a));
		cJSON_AddStringToObject(x, "path", lwt_p2p_path(d, e->tun_ip));
		if (!strcmp(lwt_p2p_path(d, e->tun_ip), "relay-peer")) {
			uint32_t via = 0;

			lwt_mesh_path(d, e->tun_ip, &via);
			cJSON_AddStringToObject(x, "via", p2p_ip_s(via, a));
			cJSON_AddNumberToObject(x, "rtt_us", lwt_mesh_rtt_us(d, e->tun_ip));
		}
		cJSON_AddStringToObject(x, "state", state_str[e->state]);
		if (e->ncand) {
			snprintf(ep, sizeof(ep), "%s:%u", p2p_ip_s(e->cand[e->cand_i].addr, a),
				 ntohs(e->cand[e->cand_i].port));
			cJSON_AddStringToObject(x, "endpoint", ep);
			cJSON_AddStringToObject(x, "role", e->role == LWT_P2P_INITIATOR ?
						"initiator" : "responder");
		}
		if (e->state == P_UP) {
			cJSON_AddNumberToObject(x, "rtt_us",
				(double)atomic_load_explicit(&s->rtt_us, memory_order_relaxed));
			cJSON_AddNumberToObject(x, "loss_ppm",
				(double)atomic_load_explicit(&s->loss_ppm, memory_order_relaxed));
			cJSON_AddNumberToObject(x, "peer_loss_ppm",
				(double)atomic_load_explicit(&s->peer_loss_ppm, memory_order_relaxed));
			cJSON_AddBoolToObject(x, "lossy", e->shun);
			cJSON_AddNumberToObject(x, "rx_packets", (double)LWT_CTR_GET(&s->ctr, rx_packets));
			cJSON_AddNumberToObject(x, "tx_packets", (double)LWT_CTR_GET(&s->ctr, tx_packets));
		}
		if (e->punch_wall_ms)
			cJSON_AddNumberToObject(x, "last_punch_ms", (double)e->punch_wall_ms);
		cJSON_AddStringToObject(x, "peer_nat", p2p_nat_name(e->peer_nat));
		if (e->punch_ms)
			cJSON_AddNumberToObject(x, "punch_to_direct_ms", e->punch_ms);
		if (e->why[0])
			cJSON_AddStringToObject(x, "last_failure", e->why);
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}
