// SPDX-License-Identifier: MIT
/* Key rotation (config_push_interval), control thread: the server offers a
 * fresh X25519 key for the next epoch inside the session; the client
 * answers with its own and holds the new keys until the server's first
 * record under them; the server switches on the answer. Keys: HKDF as at
 * the handshake (salt: the PSK's mix key), the context naming session and
 * epoch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "daemon.h"
#include "log.h"
#include "rekey.h"

#define cmd lwt_cmd_data

static const char *ip_str(uint32_t ip, char *buf)
{
	struct in_addr a = { .s_addr = ip };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* The side that offers rotations: the server, and on a client's direct
 * path the responder (p2p.c); keys from the hub's PSK or the pair secret. */
static bool rekey_offers(struct lwt_daemon *d, int i)
{
	return d->cfg.mode == LWT_MODE_SERVER || (i > 0 && d->slots[i].hs_responder);
}

static const struct lwt_psk_keys *rekey_psk(struct lwt_daemon *d, int i)
{
	return d->cfg.mode == LWT_MODE_CLIENT && i > 0 ? lwt_p2p_psk(d, i) : &d->psk;
}

static int rekey_derive(struct lwt_daemon *d, int i, struct lwt_slot *s, uint16_t epoch,
			const uint8_t priv[32], const uint8_t peer_pub[32], const uint8_t own_pub[32],
			bool server, struct lwt_rekey_keys **out)
{
	struct lwt_session_keys keys;
	struct lwt_rekey_keys *k;
	uint8_t dh[32], ctx[32] = "lwt-v1 rekey";
	uint32_t sid = htonl(s->c.session_id);
	uint16_t ep = htons(epoch);
	int err;

	memcpy(ctx + 16, &sid, 4);
	memcpy(ctx + 20, &ep, 2);
	err = lwt_x25519_shared(priv, peer_pub, dh);
	if (!err)
		err = lwt_crypto_session_derive(rekey_psk(d, i), dh, ctx, ctx, server ? peer_pub : own_pub,
						server ? own_pub : peer_pub, &keys);
	memset(dh, 0, sizeof(dh));
	if (err)
		return err;
	k = calloc(1, sizeof(*k));
	if (k) {
		k->tx = lwt_aead_create(server ? keys.s2c_key : keys.c2s_key,
					server ? keys.s2c_iv : keys.c2s_iv);
		k->rx = lwt_aead_create(server ? keys.c2s_key : keys.s2c_key,
					server ? keys.c2s_iv : keys.s2c_iv);
		k->epoch = epoch;
		k->now = server;
	}
	memset(&keys, 0, sizeof(keys));
	if (!k || !k->tx || !k->rx) {
		lwt_rekey_keys_free(k);
		return -ENOMEM;
	}
	*out = k;
	return 0;
}

/* Server (or a direct path's responder), every tick of a session: start a
 * rotation when due, repeat an unanswered offer, give up on a peer that
 * never answers. */
void lwt_rekey_tick(struct lwt_daemon *d, int i, uint64_t now)
{
	struct lwt_slot *s = &d->slots[i];
	struct lwt_rekey r = { 0 };
	char ps[64];

	if (!s->c.rk_pending) {
		if (now < s->c.rk_next_ns)
			return;
		if (lwt_x25519_keygen(s->c.rk_priv, s->c.rk_pub)) {
			s->c.rk_next_ns = now + REKEY_RETRY_NS;
			return;
		}
		s->c.rk_epoch++;
		s->c.rk_pending = true;
		s->c.rk_tries = 0;
		s->c.rk_sent_ns = 0;
		s->c.rk_start_ns = now;
	}
	if (s->c.rk_sent_ns && now - s->c.rk_sent_ns < REKEY_RETRY_NS)
		return;
	if (s->c.rk_tries == REKEY_TRIES) {
		lwt_warn("client %s (%s) did not answer key rotation %u; closing its session so it "
			 "handshakes again", ip_str(s->c.tun_ip, (char[16]){ 0 }),
			 lwt_peer_str(s, ps, sizeof(ps)), s->c.rk_epoch);
		d->rekeys_failed++;
		s->c.rk_pending = false;
		memset(s->c.rk_priv, 0, sizeof(s->c.rk_priv));
		cmd(d, LWT_CMD_CLOSE, i, NULL, 0, NULL);
		lwt_slot_kill(d, i);
		return;
	}
	s->c.rk_tries++;
	s->c.rk_sent_ns = now;
	r.epoch = htons(s->c.rk_epoch);
	memcpy(r.pub, s->c.rk_pub, 32);
	lwt_send_msg(d, i, LWT_MSG_REKEY, &r, sizeof(r));
}

void lwt_rekey_msg(struct lwt_daemon *d, int i, const uint8_t *m, size_t len)
{
	struct lwt_slot *s = &d->slots[i];
	struct lwt_rekey_keys *k;
	struct lwt_rekey r;
	uint8_t priv[32], pub[32];
	uint16_t ep;
	char ps[64];

	if (len != 1 + sizeof(r) || s->c.phase != LWT_PH_UP)
		return;
	memcpy(&r, m + 1, sizeof(r));
	ep = ntohs(r.epoch);
	if (rekey_offers(d, i)) {
		if (m[0] != LWT_MSG_REKEY_ACK || !s->c.rk_pending || ep != s->c.rk_epoch)
			return;
		s->c.rk_pending = false;
		s->c.rk_next_ns = lwt_now_ns() + (uint64_t)(i > 0 && d->cfg.mode == LWT_MODE_CLIENT ?
					lwt_p2p_rekey_s(d, i) : (unsigned int)d->cfg.config_push_interval) * 1000000000ull;
		if (rekey_derive(d, i, s, ep, s->c.rk_priv, r.pub, s->c.rk_pub, true, &k)) {
			lwt_warn("peer %s: key rotation %u failed", lwt_peer_str(s, ps, sizeof(ps)), ep);
			d->rekeys_failed++;
		} else {
			cmd(d, LWT_CMD_REKEY, i, NULL, 0, k);
			d->rekeys++;
			s->c.rk_last_us = (lwt_now_ns() - s->c.rk_start_ns) / 1000;
			lwt_dbg("client %s: keys rotated to epoch %u in %.2f ms",
				ip_str(s->c.tun_ip, (char[16]){ 0 }), ep,
				(lwt_now_ns() - s->c.rk_start_ns) / 1e6);
		}
		memset(s->c.rk_priv, 0, sizeof(s->c.rk_priv));
		return;
	}
	if (m[0] != LWT_MSG_REKEY)
		return;
	if (s->c.rk_pending && ep == s->c.rk_epoch) {
		/* Our answer was lost: the same again. */
		memcpy(r.pub, s->c.rk_pub, 32);
		lwt_send_msg(d, i, LWT_MSG_REKEY_ACK, &r, sizeof(r));
		return;
	}
	if (ep != (uint16_t)(s->c.rk_epoch + 1)) {
		lwt_dbg("server offered key epoch %u, expected %u; ignored", ep, s->c.rk_epoch + 1);
		return;
	}
	/* The new public key replaces ours only once the rotation worked: a
	 * failed one (an offer whose key makes no shared secret) must not
	 * change what we repeat when the server asks again for the epoch we
	 * are at (the server would then derive other keys than ours). */
	if (lwt_x25519_keygen(priv, pub) ||
	    rekey_derive(d, i, s, ep, priv, r.pub, pub, false, &k)) {
		memset(priv, 0, sizeof(priv));
		lwt_warn("key rotation %u failed", ep);
		return;
	}
	memset(priv, 0, sizeof(priv));
	memcpy(s->c.rk_pub, pub, sizeof(pub));
	s->c.rk_epoch = ep;
	s->c.rk_pending = true;
	/* Keys first, then the answer: the server's first record under the new
	 * keys can only follow the answer. */
	cmd(d, LWT_CMD_REKEY, i, NULL, 0, k);
	memcpy(r.pub, s->c.rk_pub, 32);
	lwt_send_msg(d, i, LWT_MSG_REKEY_ACK, &r, sizeof(r));
	d->rekeys++;
}
