// SPDX-License-Identifier: MIT
/* The control thread: an epoll loop over signals, a 50 ms timer, the data
 * plane's event queue and the control socket. It runs the lwt handshake on
 * both sides, keepalives, timeouts, reconnect with backoff, and decides the
 * lifecycle of every slot. It never touches per-packet state directly. */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "lwt/xdp.h"
#include "log.h"
#include "metrics.h"
#include "natdetect.h"
#include "notify.h"
#include "pmtu.h"
#include "rekey.h"
#include "roam.h"
#include "underlay6.h"

#define TICK_MS 50
#define PHASE_TIMEOUT_NS (5ull * 1000000000ull)	/* SYN or HELLO unanswered */
/* Server: a flow's cookie ACK took a slot; its HELLO is due within this (a
 * half-authenticated slot is cheap to make, so it must go soon). The
 * CONFIRM after our HELLO_ACK keeps PHASE_TIMEOUT_NS. */
#define HELLO_DEADLINE_NS (2ull * 1000000000ull)
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
/* After a failure anyone could have caused (a REJECT, a HELLO_ACK that does
 * not verify), a client tries again within this, never 30 s later. */
#define BACKOFF_UNAUTH_MS 4000

const char *lwt_peer_str(const struct lwt_slot *s, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = s->c.raddr };

	if (lwt_addr_key32_is_v6(s->c.raddr))	/* "[v6]:port" */
		return lwt_addr_str(&s->c.ep, s->c.rport, buf, len);
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, ntohs(s->c.rport));
	return buf;
}

static const char *ip_str(uint32_t ip, char *buf)
{
	struct in_addr a = { .s_addr = ip };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* Orders about a slot go to the poller that owns it. */
static struct lwt_msgq *dpq(struct lwt_daemon *d, int slot)
{
	return &d->to_dp[lwt_slot_owner(d, slot)];
}

/* A route table for every poller: each frees its own. */
static void cmd_routes(struct lwt_daemon *d, struct lwt_rtable *t)
{
	size_t sz = sizeof(*t) + (size_t)t->n * sizeof(t->r[0]);
	int i;

	for (i = 0; i < d->npollers; i++) {
		struct lwt_msg m = { .type = LWT_CMD_ROUTES, .slot = -1, .ptr = t };

		if (i + 1 < d->npollers) {
			m.ptr = malloc(sz);
			if (!m.ptr) {
				lwt_err("out of memory for the route table");
				continue;
			}
			memcpy(m.ptr, t, sz);
		}
		if (lwt_msgq_push(&d->to_dp[i], &m))
			free(m.ptr);
	}
}

void lwt_cmd_data(struct lwt_daemon *d, int type, int slot, const void *data, size_t len,
		  void *ptr)
{
	struct lwt_msg m = { .type = type, .slot = slot, .ptr = ptr };

	if (type == LWT_CMD_ROUTES) {
		cmd_routes(d, ptr);
		return;
	}
	if (slot < 0)
		return;
	m.gen = d->slots[slot].gen;
	if (data && len <= sizeof(m.data)) {
		memcpy(m.data, data, len);
		m.len = len;
	}
	/* Not taken (the data plane's queue is full): what the order carried
	 * is ours to free. */
	if (lwt_msgq_push(dpq(d, slot), &m)) {
		if (type == LWT_CMD_INSTALL)
			lwt_install_free(ptr);
		else if (type == LWT_CMD_REKEY)
			lwt_rekey_keys_free(ptr);
	}
}

#define cmd lwt_cmd_data
#define set_phase lwt_set_phase
#define make_install lwt_make_install
#define wall_ms lwt_wall_ms

void lwt_set_phase(struct lwt_slot *s, int phase)
{
	s->c.phase = phase;
	s->c.phase_ns = lwt_now_ns();
	s->c.syn_sent = 0;
	lwt_slotlist_note(s);
}

void lwt_cmd_connect(struct lwt_daemon *d, int slot, uint16_t lport, const struct lwt_connect *c)
{
	struct lwt_slot *s = &d->slots[slot];
	struct lwt_msg m = { .type = LWT_CMD_CONNECT, .slot = slot, .u64 = lport };

	s->gen = ++d->next_gen;
	m.gen = s->gen;
	if (c) {
		memcpy(m.data, c, sizeof(*c));
		m.len = sizeof(*c);
	}
	lwt_msgq_push(dpq(d, slot), &m);
}

static void schedule_reconnect(struct lwt_daemon *d)
{
	uint32_t jitter = 0;

	lwt_crypto_random(&jitter, sizeof(jitter));
	if (!d->backoff_ms)
		d->backoff_ms = BACKOFF_MIN_MS;
	d->reconnect_at_ns = lwt_now_ns() + (uint64_t)(d->backoff_ms + jitter % (d->backoff_ms / 4 + 1)) *
			     1000000ull;
	lwt_info("reconnecting in %u ms", d->backoff_ms);
	d->backoff_ms = d->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d->backoff_ms * 2;
}

void lwt_slot_kill(struct lwt_daemon *d, int i)
{
	struct lwt_slot *s = &d->slots[i];

	if (s->c.phase == LWT_PH_FREE || s->c.phase == LWT_PH_CLOSING)
		return;
	bool was_up = s->c.phase == LWT_PH_UP;

	if (was_up) {
		lwt_routes_withdraw(d, i);
		pthread_mutex_lock(&d->dp_lock);
		if (d->dp->ops->peer_stats)
			d->dp->ops->peer_stats(d->dp, &s->c.ep, s->c.rport, NULL);
		pthread_mutex_unlock(&d->dp_lock);
	}
	set_phase(s, LWT_PH_CLOSING);
	OPENSSL_cleanse(&s->c.hs, sizeof(s->c.hs));
	if (was_up)
		lwt_peers_changed(d, i, s->c.tun_ip, false);
	cmd(d, LWT_CMD_KILL, i, NULL, 0, NULL);
	if (s->c.port_fd >= 0) {
		close(s->c.port_fd);
		s->c.port_fd = -1;
	}
}

/* Client: pick a local port (reserved by a bound, non-listening TCP socket
 * so no other program takes it), steer it to us, send the SYN. */
static void client_connect(struct lwt_daemon *d)
{
	struct lwt_slot *s = &d->slots[0];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = d->local_ip };
	socklen_t sl = sizeof(sa);
	int fd;

	d->reconnect_at_ns = 0;
	/* No route to the server yet: roam.c connects when one appears. */
	if (!lwt_roam_ready(d))
		return;
	/* p2p_port: the hub flow and every direct flow leave from it (the
	 * NAT mapping the hub sees is the one peers punch to). */
	if (d->cfg.p2p_enabled && d->cfg.p2p_port)
		sa.sin_port = htons((uint16_t)d->cfg.p2p_port);
	if (d->cfg.remote6)	/* the port reserved on the IPv6 source */
		fd = lwt_u6_reserve_client_port(d, &sa.sin_port);
	else
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (!d->cfg.remote6 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0))) {
		lwt_err("couldn't reserve a local TCP port: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		schedule_reconnect(d);
		return;
	}
	s->c.port_fd = fd;
	d->filter.lport = sa.sin_port;
	/* Direct paths leave from this port to anyone (p2p.c). */
	if (lwt_fwrule_client_port(&d->fw, sa.sin_port))
		lwt_warn("firewall: couldn't cover port %u: direct paths may meet the kernel's RSTs",
			 ntohs(sa.sin_port));
	if (d->dp->ops->set_filter)
		d->dp->ops->set_filter(d->dp, &d->filter);
	s->c.raddr = d->cfg.remote.sin_addr.s_addr;
	s->c.rport = d->cfg.remote.sin_port;
	lwt_addr_from_v4(&s->c.ep, s->c.raddr);
	if (d->cfg.remote6) {
		s->c.raddr = lwt_addr_key32(&d->cfg.remote_ep);
		s->c.ep = d->cfg.remote_ep;
	}
	s->c.start_ns = lwt_now_ns();
	set_phase(s, LWT_PH_TCP);
	lwt_info("connecting to %s from port %u", d->cfg.remote_addr, ntohs(sa.sin_port));
	lwt_cmd_connect(d, 0, sa.sin_port, NULL);
}

static void client_lost(struct lwt_daemon *d, const char *why)
{
	struct lwt_slot *s = &d->slots[0];

	d->pending_reject = 0;
	if (s->c.phase == LWT_PH_UP)
		d->reconnects++;
	lwt_warn("connection to server %s: %s", d->cfg.remote_addr, why);
	lwt_hs_client_clear(&d->hs);
	lwt_slot_kill(d, 0);
	lwt_p2p_hub_down(d);
	lwt_mesh_hub_down(d);
	schedule_reconnect(d);
}

struct lwt_install *lwt_make_install(struct lwt_daemon *d, const struct lwt_session_keys *k,
				     bool server, uint32_t session_id, uint32_t peer_tun_ip,
					int peer_k, int peer_m)
{
	struct lwt_install *in = calloc(1, sizeof(*in));
	const struct lwt_config *c = &d->cfg;

	if (!in)
		return NULL;
	/* FEC: we encode with our shape; we decode with the peer's (it told us
	 * in its HELLO / HELLO_ACK). Parity 0 on a side means no FEC at all. */
	if (c->fec_parity > 0) {
		/* Adaptive: fec_parity is the ceiling (the shape the handshake
		 * announced); start from what the path to this peer last needed. */
		uint32_t key = peer_tun_ip ? peer_tun_ip : c->remote.sin_addr.s_addr;
		int m = c->fec_adaptive ? lwt_fecctl_start(key, c->fec_parity) : c->fec_parity;

		in->fec_key = key;
		in->fenc = lwt_fec_enc_create(c->fec_data, m, c->fec_parity, d->bufs.pkt_max,
					      c->fec_flush_us);
		if (!in->fenc)
			lwt_warn("FEC: couldn't create the encoder for %d+%d", c->fec_data, c->fec_parity);
	}
	if (peer_m > 0) {
		in->fdec = lwt_fec_dec_create(peer_k, peer_m, d->bufs.pkt_max, 1000000000ull);
		if (!in->fdec)
			lwt_warn("FEC: couldn't create the decoder for %d+%d", peer_k, peer_m);
	}
	in->tx = lwt_aead_create(server ? k->s2c_key : k->c2s_key, server ? k->s2c_iv : k->c2s_iv);
	in->rx = lwt_aead_create(server ? k->c2s_key : k->s2c_key, server ? k->c2s_iv : k->s2c_iv);
	in->session_id = session_id;
	in->peer_tun_ip = peer_tun_ip;
	if (!in->tx || !in->rx) {
		lwt_aead_destroy(in->tx);
		lwt_aead_destroy(in->rx);
		lwt_fec_enc_destroy(in->fenc);
		lwt_fec_dec_destroy(in->fdec);
		free(in);
		return NULL;
	}
	return in;
}

void lwt_cmd(struct lwt_daemon *d, int type, int slot, void *ptr)
{
	cmd(d, type, slot, NULL, 0, ptr);
}

int lwt_send_msg(struct lwt_daemon *d, int i, uint8_t type, const void *body, size_t len)
{
	struct lwt_msg m = { .type = LWT_CMD_SEND_MSG, .slot = i, .gen = d->slots[i].gen, .u64 = type };

	memcpy(m.data, body, len);
	m.len = len;
	/* A quarter of the queue stays free for commands that cannot wait. */
	if (lwt_msgq_push_limit(dpq(d, i), &m, dpq(d, i)->cap * 3 / 4))
		return -EAGAIN;
	/* On the wire: TCP/IP with timestamps (52), frame and record headers
	 * (16), message type (1), body, tag (16). */
	d->ctl_msgs_tx++;
	d->ctl_bytes_tx += 52 + 16 + 1 + len + 16;
	return 0;
}


uint64_t lwt_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void client_frame(struct lwt_daemon *d, const uint8_t *f, size_t len)
{
	struct lwt_slot *s = &d->slots[0];
	struct lwt_hs_ack_info info;
	struct lwt_session_keys keys;
	struct lwt_install *in;
	uint8_t confirm[LWT_CONFIRM_FRAME_LEN];
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	int r;

	/* A REJECT is also taken while no record from the server has come yet
	 * on a session we think up: a server probing the session we had
	 * before (takeover.c) refuses us only after our CONFIRM. */
	if (f[0] == LWT_FT_REJECT && s->c.phase == LWT_PH_UP && !lwt_slot_confirmed(s)) {
		r = lwt_hs_reject_parse(f, len);
		if (!d->pending_reject) {
			d->pending_reject = r > 0 ? r : -1;
			lwt_info("server %s sent REJECT (%s) after our CONFIRM; unauthenticated, so "
				 "acted on only if no record comes", d->cfg.remote_addr,
				 r > 0 ? lwt_hs_reject_str(r) : "malformed reject");
		}
		return;
	}
	if (s->c.phase != LWT_PH_HELLO)
		return;
	if (f[0] == LWT_FT_REJECT) {
		/* Unauthenticated: anyone who sees the flow can send one. Noted,
		 * and acted on only if no HELLO_ACK comes before the handshake
		 * times out (tick). */
		r = lwt_hs_reject_parse(f, len);
		if (!d->pending_reject) {
			d->pending_reject = r > 0 ? r : -1;
			lwt_info("server %s sent REJECT (%s); unauthenticated, so a HELLO_ACK may still "
				 "come until the handshake times out", d->cfg.remote_addr,
				 r > 0 ? lwt_hs_reject_str(r) : "malformed reject");
		}
		return;
	}
	if (f[0] != LWT_FT_HELLO_ACK)
		return;
	r = lwt_hs_ack_verify(&d->hs, f, len, &info, &keys, confirm);
	if (r == -EACCES) {
		/* A CONFIRM still goes out (one that cannot verify): the server
		 * counts and logs the failed guess. It lets nobody test another
		 * password offline (docs/PROTOCOL.md). */
		d->handshakes_failed++;
		lwt_err("handshake failed: wrong key (key confirmation from server %s did not verify)",
			d->cfg.remote_addr);
		cmd(d, LWT_CMD_SEND_FRAME, 0, confirm, sizeof(confirm), NULL);
		if (d->backoff_ms > BACKOFF_UNAUTH_MS)
			d->backoff_ms = BACKOFF_UNAUTH_MS;
		client_lost(d, "handshake failed");
		return;
	}
	if (r) {
		d->handshakes_failed++;
		lwt_err("server %s: handshake failed: malformed HELLO_ACK", d->cfg.remote_addr);
		if (d->backoff_ms > BACKOFF_UNAUTH_MS)
			d->backoff_ms = BACKOFF_UNAUTH_MS;
		client_lost(d, "handshake failed");
		return;
	}
	/* CONFIRM before the keys: the data plane sends what it queued the
	 * moment it has them, and the server must see cA first. A RESUME
	 * (resume.c) rides in the same segment. */
	{
		uint8_t fr[LWT_CONFIRM_FRAME_LEN + 64];
		size_t fl = lwt_resume_confirm(d, confirm, sizeof(confirm), fr, sizeof(fr));

		cmd(d, LWT_CMD_SEND_FRAME, 0, fr, fl, NULL);
	}
	lwt_resume_client_up(d, info.session_id, &keys);
	in = make_install(d, &keys, false, info.session_id, 0, info.fec_data, info.fec_parity);
	lwt_natdet_start(d, &keys, info.session_id);
	memset(&keys, 0, sizeof(keys));
	if (in)
		in->auth_only = info.flags & LWT_HS_F_AUTH_ONLY;
	if (d->cfg.encrypt_after_auth && !(info.flags & LWT_HS_F_AUTH_ONLY))
		lwt_info("server does not use encrypt_after_auth: data stays encrypted");
	if (!in) {
		client_lost(d, "out of memory");
		return;
	}
	s->c.session_id = info.session_id;
	atomic_store_explicit(&d->server_tun_ip, info.server_tunnel_ip, memory_order_relaxed);
	cmd(d, LWT_CMD_INSTALL, 0, NULL, 0, in);
	s->c.handshake_us = (lwt_now_ns() - s->c.start_ns) / 1000;
	s->c.up_ns = lwt_now_ns();
	d->pending_reject = 0;	/* a REJECT before it was not the server's */
	s->c.last_ka_ns = 0;	/* first keepalive at once: RTT known from the start */
	s->c.rk_pending = false;
	s->c.rk_epoch = 0;
	set_phase(s, LWT_PH_UP);
	lwt_routes_session_up(d, 0);
	lwt_p2p_hub_up(d);
	d->handshakes_ok++;
	lwt_info("connected to server %s: session %08x, tunnel %s <-> %s, handshake %.1f ms, "
		 "client id %016llx", d->cfg.remote_addr, info.session_id, ip_str(d->cfg.tun_ip, a),
		 ip_str(info.server_tunnel_ip, b), s->c.handshake_us / 1000.0,
		 (unsigned long long)d->client_id);
}

static void handle_event(struct lwt_daemon *d, const struct lwt_msg *m)
{
	struct lwt_slot *s;
	char ps[64];

	if (m->slot < 0 || m->slot >= d->nslots)
		return;
	s = &d->slots[m->slot];
	if (m->gen != s->gen)
		return;
	lwt_slotlist_wake(&d->slist, m->slot);	/* its timers may have moved */
	if (d->cfg.mode == LWT_MODE_CLIENT && (m->slot > 0 || m->type == LWT_EVT_WANT_PEER)) {
		lwt_p2p_event(d, m);
		return;
	}
	switch (m->type) {
	case LWT_EVT_NEW_FLOW:
		s->c.raddr = s->tcp.raddr;
		s->c.rport = s->tcp.rport;
		s->c.ep = s->tcp.ra;
		s->c.start_ns = lwt_now_ns();
		s->c.port_fd = -1;
		s->c.client_id = 0;
		s->c.tun_ip = 0;
		s->c.tk_gen = 0;
		OPENSSL_cleanse(&s->c.hs, sizeof(s->c.hs));
		set_phase(s, LWT_PH_TCP);
		lwt_dbg("peer %s: SYN accepted", lwt_peer_str(s, ps, sizeof(ps)));
		break;
	case LWT_EVT_ESTABLISHED:
		if (s->c.phase != LWT_PH_TCP)
			break;
		set_phase(s, LWT_PH_HELLO);
		if (d->cfg.mode == LWT_MODE_CLIENT) {
			uint8_t f[LWT_HELLO_FRAME_LEN];

			d->hs.flags = d->cfg.encrypt_after_auth ? LWT_HS_F_AUTH_ONLY : 0;
			if (lwt_hs_hello_build(&d->psk, &d->hs, wall_ms(), d->client_id, d->cfg.tun_ip,
					       d->cfg.tun_prefix, d->cfg.fec_data, d->cfg.fec_parity, f)) {
				client_lost(d, "couldn't build HELLO");
				break;
			}
			cmd(d, LWT_CMD_SEND_FRAME, 0, f, sizeof(f), NULL);
		}
		break;
	case LWT_EVT_FRAME:
		if (d->cfg.mode == LWT_MODE_CLIENT)
			client_frame(d, m->data, m->len);
		else
			lwt_server_frame(d, m->slot, m->data, m->len);
		break;
	case LWT_EVT_RESET:
		if (d->cfg.mode == LWT_MODE_CLIENT) {
			if (s->c.phase != LWT_PH_CLOSING && s->c.phase != LWT_PH_FREE)
				client_lost(d, m->len == 5 && !memcmp(m->data, "close", 5) ?
					    "server closed the session" : "connection reset");
		} else if (s->c.phase != LWT_PH_CLOSING) {
			lwt_info("client %s (%s) disconnected", ip_str(s->c.tun_ip, (char[16]){ 0 }),
				 lwt_peer_str(s, ps, sizeof(ps)));
			lwt_slot_kill(d, m->slot);
		}
		break;
	case LWT_EVT_PROBED:
		lwt_takeover_probed(d, m->slot, m->len && m->data[0]);
		break;
	case LWT_EVT_KILLED:
		if (s->c.phase == LWT_PH_CLOSING)
			set_phase(s, LWT_PH_FREE);
		break;
	case LWT_EVT_MSG:
		if (m->len && (m->data[0] == LWT_MSG_REKEY || m->data[0] == LWT_MSG_REKEY_ACK))
			lwt_rekey_msg(d, m->slot, m->data, m->len);
		else if (m->len && m->data[0] == LWT_MSG_PMTU_ACK)
			lwt_pmtu_msg(d, m->slot, m->data, m->len);
		else if (m->len && m->data[0] == LWT_MSG_PEERS)
			lwt_peers_msg(d, m->data, m->len);
		else if (m->len && m->data[0] >= LWT_MSG_P2P_HELLO && m->data[0] <= LWT_MSG_P2P_CLOSE)
			lwt_p2p_msg(d, m->slot, m->data, m->len);
		else if (m->len && (m->data[0] == LWT_MSG_MESH_REPORT || m->data[0] == LWT_MSG_MESH_ROUTE))
			lwt_mesh_msg(d, m->slot, m->data, m->len);
		else if (m->len && m->data[0] == LWT_MSG_NAT_TCP && m->slot == 0)
			lwt_nat_tcp_msg(d, m->data + 1, m->len - 1);
		else
			lwt_routes_msg(d, m->slot, m->data, m->len);
		break;
	}
}

/* Every second: each session's counters into the data path's stats (the
 * pinned peers map on AF_XDP), so bpftool shows them. */
static void publish_stats(struct lwt_daemon *d, uint64_t now)
{
	static uint64_t next;
	int i, k;

	if (now < next)
		return;
	next = now + 1000000000ull;
	pthread_mutex_lock(&d->dp_lock);
	/* The sessions up (slotlist.h), not every slot. */
	for (k = 0; d->dp->ops->peer_stats && k < d->slist.nup; k++) {
		struct lwt_slot *s = &d->slots[i = d->slist.up_slot[k]];
		struct lwt_xdp_peer_stats st = { 0 };

		st.tunnel_ip = d->cfg.mode == LWT_MODE_SERVER || i > 0 ? s->c.tun_ip : 0;
		if (d->cfg.mode == LWT_MODE_CLIENT && i > 0)
			st.route = !strcmp(lwt_p2p_path(d, s->c.tun_ip), "lan") ? LWT_XDP_ROUTE_LAN :
				   LWT_XDP_ROUTE_DIRECT_TCP;
		st.rtt_us = (uint32_t)atomic_load(&s->rtt_us);
		st.rx_packets = LWT_CTR_GET(&s->ctr, rx_packets);
		st.tx_packets = LWT_CTR_GET(&s->ctr, tx_packets);
		st.rx_bytes = LWT_CTR_GET(&s->ctr, rx_bytes);
		st.tx_bytes = LWT_CTR_GET(&s->ctr, tx_bytes);
		st.drop_auth = LWT_CTR_GET(&s->ctr, drop_auth);
		st.drop_replay = LWT_CTR_GET(&s->ctr, drop_replay);
		st.fec_groups_sent = LWT_PUB_GET(s, groups_sent);
		st.fec_parity_sent = LWT_PUB_GET(s, parity_sent);
		st.fec_parity_now = LWT_PUB_GET(s, parity_now);
		st.fec_shards_lost = LWT_PUB_GET(s, shards_lost);
		st.fec_packets_rebuilt = LWT_PUB_GET(s, packets_rebuilt);
		st.fec_groups_unrecoverable = LWT_PUB_GET(s, groups_unrecoverable);
		st.key_epoch = atomic_load(&s->key_epoch);
		d->dp->ops->peer_stats(d->dp, &s->c.ep, s->c.rport, &st);
	}
	pthread_mutex_unlock(&d->dp_lock);
}

/* Client, session up but no record from the server yet: a server that
 * probes our previous session first (takeover.c) installs our keys only
 * after up to LWT_TAKEOVER_WAIT_NS, or refuses us. Silence that long is no
 * timeout (returns the silence allowed); a REJECT that came meanwhile and
 * no record by then ends the session (returns 0). */
static uint64_t client_unheard(struct lwt_daemon *d, struct lwt_slot *s, uint64_t now,
			       uint64_t to_ns)
{
	uint64_t wait = LWT_TAKEOVER_WAIT_NS + 1000000000ull;
	int r = d->pending_reject;

	if (!r || now - s->c.up_ns <= wait)
		return to_ns > wait ? to_ns : wait;
	d->handshakes_failed++;
	lwt_err("server %s refused the session: %s", d->cfg.remote_addr,
		r > 0 ? lwt_hs_reject_str(r) : "malformed reject");
	if (d->backoff_ms > BACKOFF_UNAUTH_MS)
		d->backoff_ms = BACKOFF_UNAUTH_MS;
	client_lost(d, "handshake rejected");
	return 0;
}

/* Server, session slot i after its tick: when it next needs one (its
 * keepalive, its silence timeout, its key rotation), so that tick() passes
 * it by until then (slotlist.h). A phase change, an event on the slot or a
 * reload wakes it sooner; a record that moves last_rx only makes the
 * timeout's check come early. */
static void up_next(struct lwt_daemon *d, int i, uint64_t now, uint64_t ka_ns, uint64_t to_ns)
{
	struct lwt_slot *s = &d->slots[i];
	uint64_t last_rx = atomic_load_explicit(&s->last_rx_ns, memory_order_relaxed);
	uint64_t at = s->c.last_ka_ns + ka_ns, t = (last_rx ? last_rx : now) + to_ns + 1;

	if (t < at)
		at = t;
	if (d->cfg.config_push_interval > 0) {
		t = !s->c.rk_pending ? s->c.rk_next_ns :
		    s->c.rk_sent_ns ? s->c.rk_sent_ns + REKEY_RETRY_NS : now;
		if (t < at)
			at = t;
	}
	lwt_slotlist_set_due(&d->slist, i, at > now ? at : now + 1);
}

/* Server: a reload that changed the timers' settings wakes every session. */
static void up_wake_on_reload(struct lwt_daemon *d)
{
	static int ka, to, push;

	if (ka == d->cfg.keepalive && to == d->cfg.timeout && push == d->cfg.config_push_interval)
		return;
	ka = d->cfg.keepalive;
	to = d->cfg.timeout;
	push = d->cfg.config_push_interval;
	for (int k = 0; k < d->slist.nup; k++)
		lwt_slotlist_wake(&d->slist, d->slist.up_slot[k]);
}

static void tick(struct lwt_daemon *d)
{
	uint64_t now = lwt_now_ns();
	uint64_t ka_ns = (uint64_t)d->cfg.keepalive * 1000000000ull;
	uint64_t to_ns = (uint64_t)d->cfg.timeout * 1000000000ull;
	char ps[64];
	int i, nx;

	/* A client's slots past 0 are its direct paths: lwt_p2p_tick. A
	 * server's: the slots not free (slotlist.h), not every slot, and of
	 * the sessions those whose timers are due. */
	if (d->cfg.mode == LWT_MODE_SERVER)
		up_wake_on_reload(d);
	for (i = d->cfg.mode == LWT_MODE_CLIENT ? 0 : lwt_slotlist_first(&d->slist); i >= 0; i = nx) {
		struct lwt_slot *s = &d->slots[i];
		uint64_t last_rx, silence;

		nx = d->cfg.mode == LWT_MODE_CLIENT ? -1 : lwt_slotlist_next(&d->slist, i);
		if (d->cfg.mode == LWT_MODE_SERVER && lwt_slotlist_resting(&d->slist, i, now))
			continue;

		switch (s->c.phase) {
		case LWT_PH_TCP:
		case LWT_PH_HELLO:
			if (lwt_takeover_waiting(d, i)) {
				lwt_takeover_tick(d, i, now);
				break;
			}
			/* Server: a record that authenticated under the keys given
			 * at the HELLO_ACK confirms as well as the CONFIRM would. */
			if (d->cfg.mode == LWT_MODE_SERVER && s->c.phase == LWT_PH_HELLO &&
			    s->c.hs.acked && s->c.hs.installed && lwt_slot_confirmed(s)) {
				lwt_info("peer %s: confirmed by its first record (its CONFIRM was lost)",
					lwt_peer_str(s, ps, sizeof(ps)));
				lwt_hs_limit_refund(&d->hs_limit, s->c.raddr, wall_ms());
				lwt_server_confirmed(d, i);
				break;
			}
			/* SYN retransmission at 1 s and 3 s, Linux's schedule. */
			if (s->c.phase == LWT_PH_TCP && d->cfg.mode == LWT_MODE_CLIENT &&
			    s->c.syn_sent < 2 &&
			    now - s->c.phase_ns > ((2ull << s->c.syn_sent) - 1) * 1000000000ull) {
				s->c.syn_sent++;
				cmd(d, LWT_CMD_RESYN, i, NULL, 0, NULL);
			}
			if (now - s->c.phase_ns > (d->cfg.mode == LWT_MODE_SERVER && !s->c.hs.acked ?
						   HELLO_DEADLINE_NS : PHASE_TIMEOUT_NS)) {
				if (d->cfg.mode == LWT_MODE_CLIENT && d->pending_reject) {
					int r = d->pending_reject;

					d->handshakes_failed++;
					lwt_err("server %s rejected the handshake: %s", d->cfg.remote_addr,
						r > 0 ? lwt_hs_reject_str(r) : "malformed reject");
					/* Unauthenticated, and perhaps not the server's:
					 * retried within BACKOFF_UNAUTH_MS at most. */
					if (d->backoff_ms > BACKOFF_UNAUTH_MS)
						d->backoff_ms = BACKOFF_UNAUTH_MS;
					client_lost(d, "handshake rejected");
				} else if (d->cfg.mode == LWT_MODE_CLIENT) {
					client_lost(d, s->c.phase == LWT_PH_TCP ? "no answer to SYN" :
						    "no answer to HELLO");
				} else if (s->c.hs.acked) {
					/* Its guess stays charged to the source. */
					d->handshakes_failed++;
					lwt_log_rl(LWT_LOG_WARN, "peer %s: handshake failed: no CONFIRM "
						   "within %llu s of the HELLO_ACK", lwt_peer_str(s, ps, sizeof(ps)),
						   PHASE_TIMEOUT_NS / 1000000000ull);
					lwt_slot_kill(d, i);
				} else {
					lwt_dbg("peer %s: handshake timed out", lwt_peer_str(s, ps, sizeof(ps)));
					lwt_slot_kill(d, i);
				}
			}
			break;
		case LWT_PH_UP:
			silence = to_ns;
			if (d->cfg.mode == LWT_MODE_CLIENT && !lwt_slot_confirmed(s)) {
				silence = client_unheard(d, s, now, to_ns);
				if (!silence)
					break;
			} else if (d->cfg.mode == LWT_MODE_CLIENT) {
				/* The server took the session: a REJECT noted
				 * before was not its own. */
				d->backoff_ms = 0;
				d->pending_reject = 0;
			}
			last_rx = atomic_load_explicit(&s->last_rx_ns, memory_order_relaxed);
			if (last_rx && now > last_rx && now - last_rx > silence) {
				if (d->cfg.mode == LWT_MODE_CLIENT) {
					char why[64];

					snprintf(why, sizeof(why), "silent for %d s", d->cfg.timeout);
					client_lost(d, why);
				} else {
					lwt_info("client %s (%s) timed out after %d s of silence",
						 ip_str(s->c.tun_ip, (char[16]){ 0 }),
						 lwt_peer_str(s, ps, sizeof(ps)), d->cfg.timeout);
					lwt_slot_kill(d, i);
				}
				break;
			}
			if (now - s->c.last_ka_ns >= ka_ns) {
				s->c.last_ka_ns = now;
				cmd(d, LWT_CMD_KEEPALIVE, i, NULL, 0, NULL);
			}
			if (d->cfg.mode == LWT_MODE_SERVER && d->cfg.config_push_interval > 0)
				lwt_rekey_tick(d, i, now);
			break;
		}
		if (d->cfg.mode == LWT_MODE_SERVER && s->c.phase == LWT_PH_UP)
			up_next(d, i, now, ka_ns, to_ns);
	}
	lwt_reconcile_tick(d, now);
	lwt_routes_tick(d, now);
	lwt_peers_tick(d, now);
	lwt_p2p_tick(d, now);
	lwt_mesh_tick(d, now);
	lwt_reload_tick(d);
	lwt_roam_tick(d, now);
	lwt_pmtu_tick(d, now);
	lwt_notify_tick(d, now);
	lwt_nat_tick(d, now);
	publish_stats(d, now);
	if (d->cfg.mode == LWT_MODE_CLIENT && d->slots[0].c.phase == LWT_PH_FREE &&
	    d->reconnect_at_ns && now >= d->reconnect_at_ns && lwt_resolve_reconnect(d, now))
		client_connect(d);
}

int lwt_control_run(struct lwt_daemon *d)
{
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000 },
				  .it_value = { 0, TICK_MS * 1000000 } };
	struct epoll_event ev, evs[8];
	struct signalfd_siginfo si;
	struct lwt_msg m;
	sigset_t mask;
	int ep, sfd, tfd, i, n, rc = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || ep < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
		lwt_err("control loop setup failed: %s", strerror(errno));
		rc = 1;
		goto out;
	}
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = d->to_ctl.efd;
	epoll_ctl(ep, EPOLL_CTL_ADD, d->to_ctl.efd, &ev);
	if (d->ctl_fd >= 0) {
		ev.data.fd = d->ctl_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, d->ctl_fd, &ev);
	}
	if (d->metrics) {
		ev.data.fd = lwt_metrics_fd(d->metrics);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if ((ev.data.fd = lwt_nat_fd(d)) >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (lwt_roam_fd(d) >= 0) {
		ev.data.fd = lwt_roam_fd(d);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if ((ev.data.fd = lwt_pmtu_fd(d)) >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	for (i = 0; i < d->nslots; i++)
		d->slots[i].c.port_fd = -1;
	/* A HELLO from before this start may be in no replay cache: refused. */
	d->start_wall_ms = wall_ms() - (lwt_now_ns() - d->start_ns) / 1000000;
	lwt_hs_limit_init(&d->hs_limit);
	if (d->cfg.mode == LWT_MODE_CLIENT)
		client_connect(d);

	while (!atomic_load(&d->stop)) {
		n = epoll_wait(ep, evs, 8, 1000);
		if (n < 0 && errno != EINTR) {
			lwt_err("control loop: epoll_wait: %s", strerror(errno));
			rc = 1;
			break;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					char msg[768];

					lwt_info("SIGHUP received; re-reading the config");
					lwt_reload(d, msg, sizeof(msg));
					continue;
				}
				lwt_info("%s received; shutting down", strsignal(si.ssi_signo));
				lwt_notify_stopping();
				atomic_store(&d->stop, 1);
			} else if (fd == tfd) {
				uint64_t exp;

				if (read(tfd, &exp, sizeof(exp)) < 0) {
					/* EAGAIN: spurious */
				}
				tick(d);
			} else if (fd == d->to_ctl.efd) {
				lwt_msgq_ack(&d->to_ctl);
				while (lwt_msgq_pop(&d->to_ctl, &m))
					handle_event(d, &m);
			} else if (fd == d->ctl_fd) {
				lwt_ctl_handle(d, d->ctl_fd);
			} else if (d->metrics && fd == lwt_metrics_fd(d->metrics)) {
				lwt_metrics_answer(d, d->metrics);
			} else if (fd == lwt_nat_fd(d)) {
				lwt_nat_handle(d);
			} else if (fd == lwt_roam_fd(d)) {
				lwt_roam_input(d);
			} else if (fd == lwt_pmtu_fd(d)) {
				lwt_pmtu_icmp_input(d);
			}
		}
	}
out:
	lwt_resolve_close(d);
	for (i = 0; i < d->nslots; i++)
		if (d->slots[i].c.port_fd >= 0)
			close(d->slots[i].c.port_fd);
	if (ep >= 0)
		close(ep);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
