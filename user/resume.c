// SPDX-License-Identifier: MIT
/* Resumption (docs/PROTOCOL.md "Resumption"): a client that comes back on
 * a new flow (it roamed to another uplink, or its old flow died) proves to
 * the server that it held the session the server still keeps for its
 * client id, so the server moves the tunnel IP to the new flow at once
 * instead of probing the old flow for LWT_PROBE_NS first (takeover.c).
 *
 * Both sides derive a resume key from each session's handshake keys:
 *   rk  = HKDF-SHA256(salt = "", ikm = c2s_key || s2c_key || c2s_iv || s2c_iv,
 *                     info = "lwt-v2 resume key" || session_id (4, BE))
 * After the next handshake's HELLO_ACK the client sends, in the segment of
 * its CONFIRM, a RESUME frame:
 *   session_id (4, BE) of the previous session,
 *   HMAC-SHA256(rk, "lwt-v2 resume" || session_id || cA)
 * where cA is the new handshake's key confirmation. Only a holder of the
 * old session's keys can make it (a client id alone is public: it travels
 * in every HELLO); it is bound to one handshake by cA, so a RESUME seen on
 * the wire is worth nothing in another handshake. The server acts on it
 * only for a flow that passed its CONFIRM (so a holder of the PSK) and
 * waits to take over the session of its client id and tunnel IP. */
#include <string.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "log.h"
#include "roam.h"

static const char key_label[] = "lwt-v2 resume key";
static const char mac_label[] = "lwt-v2 resume";

static int derive(uint32_t sid, const struct lwt_session_keys *k, uint8_t out[LWT_RESUME_KEY_LEN])
{
	uint8_t info[sizeof(key_label) - 1 + 4];
	uint32_t be = htonl(sid);

	memcpy(info, key_label, sizeof(key_label) - 1);
	memcpy(info + sizeof(key_label) - 1, &be, 4);
	return lwt_crypto_hkdf(NULL, 0, (const uint8_t *)k, sizeof(*k), info, sizeof(info), out,
			       LWT_RESUME_KEY_LEN);
}

static int mac(const uint8_t key[LWT_RESUME_KEY_LEN], uint32_t sid, const uint8_t *ca,
	       uint8_t out[LWT_HMAC_LEN])
{
	uint8_t in[sizeof(mac_label) - 1 + 4 + LWT_HS_CONFIRM_LEN];
	uint32_t be = htonl(sid);

	memcpy(in, mac_label, sizeof(mac_label) - 1);
	memcpy(in + sizeof(mac_label) - 1, &be, 4);
	memcpy(in + sizeof(mac_label) - 1 + 4, ca, LWT_HS_CONFIRM_LEN);
	return lwt_crypto_hmac(key, in, sizeof(in), out);
}

void lwt_resume_keys(struct lwt_daemon *d, int i, uint32_t sid, const struct lwt_session_keys *k)
{
	struct lwt_roam *r = d->roam;

	if (!r)
		return;
	if (d->cfg.mode == LWT_MODE_SERVER) {
		struct lwt_resume_slot *rs = &r->srv[i];

		/* A new flow in this slot: whatever it held before is void. */
		OPENSSL_cleanse(rs, sizeof(*rs));
		if (!derive(sid, k, rs->key))
			rs->key_sid = sid;
	}
	/* The client's key of the new session is kept by lwt_resume_confirm,
	 * once the previous one has served this handshake's proof. */
}

size_t lwt_resume_confirm(struct lwt_daemon *d, const uint8_t *confirm, size_t clen,
			  uint8_t *out, size_t max)
{
	struct lwt_roam *r = d->roam;
	struct lwt_frame_hdr *h;
	struct lwt_resume *rb;
	size_t n = sizeof(*h) + sizeof(*rb);

	memcpy(out, confirm, clen);
	if (!r || !r->prev_sid || clen + n > max)
		return clen;
	h = (struct lwt_frame_hdr *)(out + clen);
	rb = (struct lwt_resume *)(h + 1);
	h->type = LWT_FT_RESUME;
	h->flags = 0;
	h->len = htons(sizeof(*rb));
	rb->session_id = htonl(r->prev_sid);
	if (mac(r->prev_key, r->prev_sid, confirm + sizeof(*h), rb->mac))
		return clen;
	lwt_dbg("RESUME for session %08x sent with the CONFIRM", r->prev_sid);
	return clen + n;
}

/* Client, a session up: its key serves the next handshake's RESUME. */
static void client_keep(struct lwt_daemon *d, uint32_t sid, const struct lwt_session_keys *k)
{
	struct lwt_roam *r = d->roam;

	if (derive(sid, k, r->prev_key)) {
		OPENSSL_cleanse(r->prev_key, sizeof(r->prev_key));
		r->prev_sid = 0;
		return;
	}
	r->prev_sid = sid;
}

void lwt_resume_client_up(struct lwt_daemon *d, uint32_t sid, const struct lwt_session_keys *k)
{
	if (d->roam)
		client_keep(d, sid, k);
}

void lwt_resume_frame(struct lwt_daemon *d, int i, const uint8_t *f, size_t len)
{
	struct lwt_resume_slot *rs;
	struct lwt_resume rb;

	if (!d->roam || len != sizeof(struct lwt_frame_hdr) + sizeof(rb))
		return;
	memcpy(&rb, f + sizeof(struct lwt_frame_hdr), sizeof(rb));
	rs = &d->roam->srv[i];
	rs->old_sid = ntohl(rb.session_id);
	memcpy(rs->mac, rb.mac, sizeof(rs->mac));
	/* The CONFIRM came first in the same segment: a takeover may wait. */
	lwt_takeover_resumed(d, i);
}

bool lwt_resume_proven(struct lwt_daemon *d, int w, int o)
{
	struct lwt_resume_slot *rw, *ro;
	uint8_t want[LWT_HMAC_LEN];
	bool ok;

	if (!d->roam || w < 0 || o < 0)
		return false;
	rw = &d->roam->srv[w];
	ro = &d->roam->srv[o];
	if (!rw->old_sid)
		return false;
	/* One try per RESUME: a wrong one is not looked at again. */
	ok = ro->key_sid && rw->old_sid == ro->key_sid && d->slots[o].c.session_id == ro->key_sid &&
	     !mac(ro->key, rw->old_sid, d->slots[w].c.hs.expect_ca, want) &&
	     lwt_crypto_equal(want, rw->mac, sizeof(want));
	rw->old_sid = 0;
	OPENSSL_cleanse(want, sizeof(want));
	if (ok)
		d->roam->resumes++;
	else
		d->roam->resumes_bad++;
	return ok;
}
