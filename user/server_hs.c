// SPDX-License-Identifier: MIT
/* The server's side of the handshake (docs/PROTOCOL.md "Handshake"): a
 * HELLO answered with a HELLO_ACK (or a REJECT) under the per-source
 * budget, a CONFIRM that installs the session's keys, a client id already
 * in use handed to takeover.c, a RESUME to resume.c. Control thread only;
 * the slot lifecycle and the event loop are control.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "log.h"
#include "natdetect.h"
#include "roam.h"

static const char *ip_str(uint32_t ip, char *buf)
{
	struct in_addr a = { .s_addr = ip };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static bool hello_replayed(struct lwt_daemon *d, const uint8_t random[32])
{
	unsigned int i;

	for (i = 0; i < sizeof(d->seen_randoms) / sizeof(d->seen_randoms[0]); i++)
		if (!memcmp(d->seen_randoms[i], random, 16))
			return true;
	memcpy(d->seen_randoms[d->seen_next], random, 16);
	d->seen_next = (d->seen_next + 1) % (sizeof(d->seen_randoms) / sizeof(d->seen_randoms[0]));
	return false;
}

void lwt_reject(struct lwt_daemon *d, int i, int reason)
{
	uint8_t f[LWT_REJECT_FRAME_LEN];

	lwt_hs_reject_build(reason, f);
	lwt_cmd_data(d, LWT_CMD_SEND_FRAME, i, f, sizeof(f), NULL);
	d->handshakes_failed++;
	lwt_slot_kill(d, i);
}

static int server_install(struct lwt_daemon *d, int i, const struct lwt_session_keys *keys)
{
	struct lwt_hs_server *h = &d->slots[i].c.hs;
	struct lwt_install *in;

	in = lwt_make_install(d, keys, true, h->ack.session_id, h->hello.tunnel_ip, h->hello.fec_data,
			  h->hello.fec_parity);
	if (!in)
		return -ENOMEM;
	in->auth_only = h->ack.flags & LWT_HS_F_AUTH_ONLY;
	lwt_cmd_data(d, LWT_CMD_INSTALL, i, NULL, 0, in);
	h->installed = true;
	return 0;
}

/* Server, HELLO: the cheap checks first (format, timestamp, the source's
 * guess budget, the replay cache, the client's claims), and only then the
 * curve work of SPAKE2's side B and the HELLO_ACK. The session is not up
 * before the CONFIRM (server_confirm). */
static void server_hello(struct lwt_daemon *d, int i, const uint8_t *f, size_t len)
{
	struct lwt_slot *s = &d->slots[i];
	struct lwt_hs_server *h = &s->c.hs;
	struct lwt_hs_ack_info info;
	struct lwt_session_keys keys;
	uint8_t ack[LWT_HELLO_ACK_FRAME_LEN];
	char ps[64], src[INET_ADDRSTRLEN];
	uint64_t now = lwt_wall_ms();
	int r, same;

	if ((s->c.phase != LWT_PH_HELLO && s->c.phase != LWT_PH_TCP) || h->acked)
		return;
	lwt_peer_str(s, ps, sizeof(ps));
	r = lwt_hs_hello_verify(f, len, now, d->start_wall_ms, &h->hello);
	if (r == -EPROTONOSUPPORT) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: handshake failed: protocol version %u, this server "
			   "speaks %u", ps, h->hello.version, LWT_PROTO_VERSION);
		lwt_reject(d, i, LWT_REJECT_VERSION);
		return;
	}
	if (r == -ETIME || r == -ESTALE) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: handshake failed: stale or replayed HELLO (%s)", ps,
			   r == -ETIME ? "timestamp more than 120 s off this server's clock" :
			   "sent before this server started");
		lwt_reject(d, i, LWT_REJECT_STALE);
		return;
	}
	if (r) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: handshake failed: malformed HELLO", ps);
		lwt_reject(d, i, LWT_REJECT_VERSION);
		return;
	}
	if (!lwt_hs_limit_allow(&d->hs_limit, s->c.raddr, now)) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: refused: too many failed handshakes from %s (%d, "
			   "then one per %d s); no curve work done", ps,
			   lwt_addr_str(&s->c.ep, 0, src, sizeof(src)),
			   LWT_HS_GUESS_BURST, LWT_HS_GUESS_EVERY_MS / 1000);
		lwt_reject(d, i, LWT_REJECT_LIMIT);
		return;
	}
	if (hello_replayed(d, h->hello.client_random)) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: handshake failed: stale or replayed HELLO", ps);
		lwt_reject(d, i, LWT_REJECT_STALE);
		return;
	}
	r = lwt_admit(d, i, &h->hello, ps, &same);
	if (r) {
		lwt_reject(d, i, r);
		return;
	}
	do
		lwt_crypto_random(&info.session_id, sizeof(info.session_id));
	while (!info.session_id);
	info.server_tunnel_ip = d->cfg.tun_ip;
	info.server_tunnel_prefix = d->cfg.tun_prefix;
	info.fec_data = d->cfg.fec_data;
	info.fec_parity = d->cfg.fec_parity;
	info.flags = d->cfg.encrypt_after_auth ? LWT_HS_F_AUTH_ONLY : 0;
	/* From here on this HELLO is one online guess at the key, until its
	 * CONFIRM proves otherwise. */
	lwt_hs_limit_charge(&d->hs_limit, s->c.raddr, now);
	r = lwt_hs_ack_build(&d->psk, f, &h->hello, &info, ack, &keys, h->expect_ca);
	if (r == -EBADMSG) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: handshake failed: its SPAKE2 share is not a usable "
			   "point", ps);
		lwt_reject(d, i, LWT_REJECT_VERSION);
		return;
	}
	if (r) {
		lwt_err("peer %s: couldn't build HELLO_ACK", ps);
		lwt_slot_kill(d, i);
		return;
	}
	h->ack = info;
	h->ack.flags = info.flags & h->hello.flags;
	lwt_natprobe_session(d, i, info.session_id, &keys);
	lwt_resume_keys(d, i, info.session_id, &keys);
	/* The keys go to the data plane now, so that the client's first
	 * records (sent right after its CONFIRM) are not lost: only a holder of
	 * the key can seal under them. Not when another slot routes the tunnel
	 * IP (a live session of this client_id, or another handshake): an
	 * unconfirmed handshake never takes traffic from anyone; its keys wait
	 * for the CONFIRM. */
	if (lwt_ip_holder(d, i, h->hello.tunnel_ip) < 0) {
		if (server_install(d, i, &keys)) {
			OPENSSL_cleanse(&keys, sizeof(keys));
			lwt_slot_kill(d, i);
			return;
		}
	} else {
		h->keys = keys;
	}
	OPENSSL_cleanse(&keys, sizeof(keys));
	s->c.client_id = h->hello.client_id;
	s->c.tun_ip = h->hello.tunnel_ip;
	s->c.tun_prefix = h->hello.tunnel_prefix;
	lwt_cmd_data(d, LWT_CMD_SEND_FRAME, i, ack, sizeof(ack), NULL);
	h->acked = true;
	lwt_set_phase(s, LWT_PH_HELLO);	/* the CONFIRM is due within PHASE_TIMEOUT_NS */
	lwt_dbg("peer %s: HELLO_ACK sent, awaiting CONFIRM", ps);
}

/* Server, CONFIRM: cA decides. Right: the guess is refunded and the client
 * proved its keys (lwt_server_confirmed). Wrong: one failed guess, logged,
 * REJECT(1). */
static void server_confirm(struct lwt_daemon *d, int i, const uint8_t *f, size_t len)
{
	struct lwt_slot *s = &d->slots[i];
	struct lwt_hs_server *h = &s->c.hs;
	char ps[64];
	int r;

	if (s->c.phase != LWT_PH_HELLO || !h->acked || lwt_takeover_waiting(d, i))
		return;
	lwt_peer_str(s, ps, sizeof(ps));
	r = lwt_hs_confirm_verify(h->expect_ca, f, len);
	if (r) {
		lwt_log_rl(LWT_LOG_WARN, "peer %s: handshake failed: %s", ps,
			   r == -EACCES ? "wrong key" : "malformed CONFIRM");
		lwt_reject(d, i, LWT_REJECT_AUTH);
		return;
	}
	lwt_hs_limit_refund(&d->hs_limit, s->c.raddr, lwt_wall_ms());
	lwt_server_confirmed(d, i);
}

/* The client proved it holds the session keys: by its CONFIRM, or by a
 * record that authenticated under the keys installed at the HELLO_ACK
 * (its CONFIRM lost on the way: only a holder of the password has them).
 * Its claims are checked again (other handshakes may have finished
 * meanwhile). A live session of its client id does not give way at once:
 * it is probed first, and this slot waits (takeover.c), which calls here
 * again when that session failed the probe or is gone. */
void lwt_server_confirmed(struct lwt_daemon *d, int i)
{
	struct lwt_slot *s = &d->slots[i];
	struct lwt_hs_server *h = &s->c.hs;
	char ps[64], ts[INET_ADDRSTRLEN];
	int r, same, j;

	lwt_peer_str(s, ps, sizeof(ps));
	r = lwt_admit(d, i, &h->hello, ps, &same);
	if (!r && same >= 0)
		r = lwt_takeover_start(d, i, same);
	if (r) {
		lwt_reject(d, i, r);
		return;
	}
	if (same >= 0)
		return;
	ip_str(h->hello.tunnel_ip, ts);
	/* Handshakes still unconfirmed for this tunnel IP lose it. */
	while ((j = lwt_ip_holder(d, i, h->hello.tunnel_ip)) >= 0) {
		lwt_dbg("peer %s: unconfirmed handshake for %s dropped", lwt_peer_str(&d->slots[j],
			(char[64]){ 0 }, 64), ts);
		lwt_slot_kill(d, j);
	}
	if (!h->installed && server_install(d, i, &h->keys)) {
		lwt_slot_kill(d, i);
		return;
	}
	if (!(h->hello.flags & LWT_HS_F_AUTH_ONLY) != !d->cfg.encrypt_after_auth)
		lwt_info("peer %s: encrypt_after_auth is %s here and %s at the client: data stays "
			 "encrypted", ps, d->cfg.encrypt_after_auth ? "on" : "off",
			 h->hello.flags & LWT_HS_F_AUTH_ONLY ? "on" : "off");
	s->c.session_id = h->ack.session_id;
	OPENSSL_cleanse(h, sizeof(*h));
	s->c.handshake_us = (lwt_now_ns() - s->c.start_ns) / 1000;
	s->c.up_ns = s->c.last_ka_ns = lwt_now_ns();
	s->c.rk_pending = false;
	s->c.rk_epoch = 0;
	s->c.rk_next_ns = s->c.up_ns + (uint64_t)d->cfg.config_push_interval * 1000000000ull;
	lwt_set_phase(s, LWT_PH_UP);
	lwt_p2p_hub_session_up(d, i);
	lwt_routes_session_up(d, i);
	lwt_peers_changed(d, i, s->c.tun_ip, true);
	d->handshakes_ok++;
	lwt_info("client %s connected from %s: session %08x, handshake %.1f ms", ts, ps,
		 s->c.session_id, s->c.handshake_us / 1000.0);
}

void lwt_server_frame(struct lwt_daemon *d, int i, const uint8_t *f, size_t len)
{
	if (f[0] == LWT_FT_HELLO)
		server_hello(d, i, f, len);
	else if (f[0] == LWT_FT_CONFIRM)
		server_confirm(d, i, f, len);
	else if (f[0] == LWT_FT_RESUME)
		lwt_resume_frame(d, i, f, len);
}
