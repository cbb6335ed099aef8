// SPDX-License-Identifier: MIT
/* HELLO / HELLO_ACK / CONFIRM / REJECT encode and verify over SPAKE2-P256
 * (handshake.h, docs/PROTOCOL.md), and the server's per-source limit on
 * online guesses. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <endian.h>
#include <openssl/crypto.h>

#include "frame.h"
#include "handshake.h"

#define HDR sizeof(struct lwt_frame_hdr)
#define ACK_SIGNED (HDR + offsetof(struct lwt_hello_ack, confirm))

_Static_assert(LWT_HS_SHARE_LEN == LWT_SPAKE2_SHARE_LEN, "share length");
_Static_assert(LWT_HS_CONFIRM_LEN == LWT_SPAKE2_CONFIRM_LEN, "confirmation length");
_Static_assert(LWT_HS_TRANSCRIPT_LEN == LWT_HELLO_FRAME_LEN + ACK_SIGNED, "transcript");
_Static_assert(LWT_HS_TRANSCRIPT_LEN <= LWT_SPAKE2_AAD_MAX, "transcript fits the AAD");

static const char id_client[] = LWT_HS_ID_CLIENT, id_server[] = LWT_HS_ID_SERVER;

static bool zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

int lwt_hs_hello_build(const struct lwt_psk_keys *psk, struct lwt_hs_client *st,
		       uint64_t now_ms, uint64_t client_id, uint32_t tunnel_ip,
		       uint8_t tunnel_prefix, uint8_t fec_data, uint8_t fec_parity, uint8_t *out)
{
	struct lwt_hello h;
	uint8_t flags = st->flags;
	int err;

	lwt_hs_client_clear(st);
	st->flags = flags;
	memset(&h, 0, sizeof(h));
	err = lwt_spake2_init_pw(&st->sp, LWT_SPAKE2_ROLE_A, id_client, sizeof(id_client) - 1,
				 id_server, sizeof(id_server) - 1, &psk->pw);
	if (!err)
		err = lwt_spake2_start(&st->sp, h.share);
	if (!err && lwt_crypto_random(h.client_random, 32))
		err = -EIO;
	if (err) {
		lwt_hs_client_clear(st);
		st->flags = flags;
		return err;
	}
	h.version = LWT_PROTO_VERSION;
	h.flags = flags;
	h.timestamp_ms = htobe64(now_ms);
	h.client_id = htobe64(client_id);
	h.tunnel_ip = tunnel_ip;
	h.tunnel_prefix = tunnel_prefix;
	h.fec_data = fec_data;
	h.fec_parity = fec_parity;
	lwt_frame_put_hdr(out, LWT_FT_HELLO, sizeof(h));
	memcpy(out + HDR, &h, sizeof(h));
	memcpy(st->hello_frame, out, LWT_HELLO_FRAME_LEN);
	st->started = true;
	return 0;
}

static int check_hdr(const uint8_t *f, size_t len, uint8_t type, size_t body)
{
	if (len != HDR + body || f[0] != type || f[1] || (size_t)((f[2] << 8) | f[3]) != body)
		return -EBADMSG;
	return 0;
}

int lwt_hs_hello_verify(const uint8_t *frame, size_t len, uint64_t now_ms, uint64_t start_ms,
			struct lwt_hs_hello_info *out)
{
	struct lwt_hello h;
	uint64_t ts;

	/* Another version's HELLO may have another length: say which it is. */
	out->version = len > HDR && frame[0] == LWT_FT_HELLO ? frame[HDR] : 0;
	if (len > HDR && frame[0] == LWT_FT_HELLO && out->version != LWT_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	if (check_hdr(frame, len, LWT_FT_HELLO, sizeof(h)))
		return -EBADMSG;
	memcpy(&h, frame + HDR, sizeof(h));
	if ((h.flags & ~LWT_HS_F_AUTH_ONLY) || h.tunnel_prefix > 32 || !h.fec_data ||
	    h.fec_data > 128 || h.fec_parity > 64 || !zero(h.pad, sizeof(h.pad)) ||
	    !zero(h.pad2, sizeof(h.pad2)))
		return -EBADMSG;
	ts = be64toh(h.timestamp_ms);
	if (ts + LWT_HELLO_MAX_SKEW_MS < now_ms || ts > now_ms + LWT_HELLO_MAX_SKEW_MS)
		return -ETIME;
	if (ts < start_ms)
		return -ESTALE;
	memcpy(out->client_random, h.client_random, 32);
	memcpy(out->share, h.share, sizeof(out->share));
	out->timestamp_ms = ts;
	out->client_id = be64toh(h.client_id);
	out->tunnel_ip = h.tunnel_ip;
	out->tunnel_prefix = h.tunnel_prefix;
	out->fec_data = h.fec_data;
	out->fec_parity = h.fec_parity;
	out->flags = h.flags;
	return 0;
}

/* The transcript both confirmations and the session keys cover: the HELLO
 * frame, then the HELLO_ACK frame up to cB. */
static void transcript(uint8_t t[LWT_HS_TRANSCRIPT_LEN], const uint8_t *hello_frame,
		       const uint8_t *ack_frame)
{
	memcpy(t, hello_frame, LWT_HELLO_FRAME_LEN);
	memcpy(t + LWT_HELLO_FRAME_LEN, ack_frame, ACK_SIGNED);
}

/* Ke and the transcript's last steps, on either side: AAD, finish, keys. */
static int finish(struct lwt_spake2 *sp, const uint8_t *t, const uint8_t *peer_share,
		  const uint8_t client_random[32], const uint8_t server_random[32],
		  uint8_t mine[LWT_HS_CONFIRM_LEN], uint8_t expect[LWT_HS_CONFIRM_LEN],
		  struct lwt_session_keys *keys)
{
	uint8_t ke[LWT_SPAKE2_KE_LEN];
	int err;

	err = lwt_spake2_set_aad(sp, t, LWT_HS_TRANSCRIPT_LEN);
	if (!err)
		err = lwt_spake2_finish(sp, peer_share, LWT_HS_SHARE_LEN, ke, mine, expect);
	if (!err)
		err = lwt_crypto_hs_derive(ke, sizeof(ke), client_random, server_random, t,
					   LWT_HS_TRANSCRIPT_LEN, keys);
	OPENSSL_cleanse(ke, sizeof(ke));
	return err;
}

int lwt_hs_ack_build(const struct lwt_psk_keys *psk, const uint8_t *hello_frame,
		     const struct lwt_hs_hello_info *hello, const struct lwt_hs_ack_info *info,
		     uint8_t *out, struct lwt_session_keys *keys,
		     uint8_t expect_ca[LWT_HS_CONFIRM_LEN])
{
	uint8_t t[LWT_HS_TRANSCRIPT_LEN];
	struct lwt_hello_ack a;
	struct lwt_spake2 sp;
	int err;

	memset(&a, 0, sizeof(a));
	a.version = LWT_PROTO_VERSION;
	err = lwt_spake2_init_pw(&sp, LWT_SPAKE2_ROLE_B, id_client, sizeof(id_client) - 1,
				 id_server, sizeof(id_server) - 1, &psk->pw);
	if (!err)
		err = lwt_spake2_start(&sp, a.share);
	if (!err && lwt_crypto_random(a.server_random, 32))
		err = -EIO;
	if (err)
		goto out;
	a.session_id = htonl(info->session_id);
	a.server_tunnel_ip = info->server_tunnel_ip;
	a.server_tunnel_prefix = info->server_tunnel_prefix;
	a.fec_data = info->fec_data;
	a.fec_parity = info->fec_parity;
	a.flags = info->flags & hello->flags;	/* never more than asked */
	lwt_frame_put_hdr(out, LWT_FT_HELLO_ACK, sizeof(a));
	memcpy(out + HDR, &a, sizeof(a));
	transcript(t, hello_frame, out);
	err = finish(&sp, t, hello->share, hello->client_random, a.server_random,
		     out + ACK_SIGNED, expect_ca, keys);
out:
	lwt_spake2_clear(&sp);
	if (err) {
		OPENSSL_cleanse(keys, sizeof(*keys));
		OPENSSL_cleanse(expect_ca, LWT_HS_CONFIRM_LEN);
	}
	return err;
}

int lwt_hs_ack_verify(struct lwt_hs_client *st, const uint8_t *frame, size_t len,
		      struct lwt_hs_ack_info *info, struct lwt_session_keys *keys,
		      uint8_t confirm_out[LWT_CONFIRM_FRAME_LEN])
{
	uint8_t t[LWT_HS_TRANSCRIPT_LEN], expect_cb[LWT_HS_CONFIRM_LEN];
	const struct lwt_hello *h = (const void *)(st->hello_frame + HDR);
	struct lwt_session_keys k;
	struct lwt_hello_ack a;
	int err = -EBADMSG;

	if (!st->started)
		return -EINVAL;
	if (check_hdr(frame, len, LWT_FT_HELLO_ACK, sizeof(a)))
		goto out;
	memcpy(&a, frame + HDR, sizeof(a));
	if (a.version != LWT_PROTO_VERSION || (a.flags & ~st->flags) || a.server_tunnel_prefix > 32 ||
	    !a.fec_data || a.fec_data > 128 || a.fec_parity > 64 || !zero(a.pad, sizeof(a.pad)) ||
	    !zero(a.pad2, sizeof(a.pad2)))
		goto out;
	transcript(t, st->hello_frame, frame);
	lwt_frame_put_hdr(confirm_out, LWT_FT_CONFIRM, sizeof(struct lwt_confirm));
	err = finish(&st->sp, t, a.share, h->client_random, a.server_random, confirm_out + HDR,
		     expect_cb, &k);
	if (err) {
		err = err == -EBADMSG ? -EBADMSG : -EIO;
		goto out;
	}
	if (!lwt_crypto_equal(expect_cb, a.confirm, sizeof(expect_cb))) {
		/* cA does not cover cB: a HELLO_ACK whose cB alone was changed
		 * would leave the server content with a true cA. Inverted, it
		 * fails there in every case it failed here, and tells an
		 * eavesdropper no more than cA itself (nothing offline). */
		confirm_out[LWT_CONFIRM_FRAME_LEN - 1] ^= 1;
		err = -EACCES;
		goto out;
	}
	*keys = k;
	info->session_id = ntohl(a.session_id);
	info->server_tunnel_ip = a.server_tunnel_ip;
	info->server_tunnel_prefix = a.server_tunnel_prefix;
	info->fec_data = a.fec_data;
	info->fec_parity = a.fec_parity;
	info->flags = a.flags;
out:
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(expect_cb, sizeof(expect_cb));
	lwt_spake2_clear(&st->sp);
	st->started = false;
	return err;
}

int lwt_hs_confirm_verify(const uint8_t expect_ca[LWT_HS_CONFIRM_LEN], const uint8_t *frame,
			  size_t len)
{
	if (check_hdr(frame, len, LWT_FT_CONFIRM, sizeof(struct lwt_confirm)))
		return -EBADMSG;
	return lwt_crypto_equal(expect_ca, frame + HDR, LWT_HS_CONFIRM_LEN) ? 0 : -EACCES;
}

void lwt_hs_client_clear(struct lwt_hs_client *st)
{
	OPENSSL_cleanse(st, sizeof(*st));
}

void lwt_hs_reject_build(uint8_t reason, uint8_t *out)
{
	lwt_frame_put_hdr(out, LWT_FT_REJECT, sizeof(struct lwt_reject));
	out[HDR] = reason;
	memset(out + HDR + 1, 0, 3);
}

int lwt_hs_reject_parse(const uint8_t *frame, size_t len)
{
	if (check_hdr(frame, len, LWT_FT_REJECT, sizeof(struct lwt_reject)) || !frame[HDR])
		return -EBADMSG;
	return frame[HDR];
}

const char *lwt_hs_reject_str(int reason)
{
	switch (reason) {
	case LWT_REJECT_AUTH:
		return "wrong key";
	case LWT_REJECT_IP_INUSE:
		return "tunnel IP already in use";
	case LWT_REJECT_FULL:
		return "server full";
	case LWT_REJECT_VERSION:
		return "protocol version mismatch";
	case LWT_REJECT_STALE:
		return "stale or replayed hello";
	case LWT_REJECT_ADDR:
		return "tunnel IP not allowed (outside the server's tunnel subnet, or inside a route)";
	case LWT_REJECT_FEC:
		return "FEC shape larger than the server accepts";
	case LWT_REJECT_LIMIT:
		return "too many failed handshakes from this address; retry later";
	case LWT_REJECT_ID_INUSE:
		return "client id in use by a live session";
	}
	return "unknown reason";
}

/* Guess limiter (handshake.h). */
void lwt_hs_limit_init(struct lwt_hs_limit *l)
{
	memset(l, 0, sizeof(*l));
	lwt_crypto_random(&l->k1, sizeof(l->k1));
	lwt_crypto_random(&l->k2, sizeof(l->k2));
	l->k1 |= 1;
}

static unsigned int set_of(const struct lwt_hs_limit *l, uint32_t addr)
{
	uint32_t h = (addr ^ l->k2) * l->k1;

	h ^= h >> 15;
	h *= 0x2c1b3c6dU;
	h ^= h >> 12;
	return h % LWT_HS_LIMIT_SETS;
}

static struct lwt_hs_limit_entry *find(const struct lwt_hs_limit *l, uint32_t addr)
{
	const struct lwt_hs_limit_entry *set = l->e[set_of(l, addr)];

	for (int w = 0; w < LWT_HS_LIMIT_WAYS; w++)
		if (set[w].addr == addr)
			return (struct lwt_hs_limit_entry *)&set[w];
	return NULL;
}

bool lwt_hs_limit_allow(const struct lwt_hs_limit *l, uint32_t addr, uint64_t now_ms)
{
	const struct lwt_hs_limit_entry *e = find(l, addr);

	/* Another guess would owe until tat + every: allowed within the burst. */
	return !e || e->tat_ms <= now_ms ||
	       e->tat_ms - now_ms <= (uint64_t)(LWT_HS_GUESS_BURST - 1) * LWT_HS_GUESS_EVERY_MS;
}

void lwt_hs_limit_charge(struct lwt_hs_limit *l, uint32_t addr, uint64_t now_ms)
{
	struct lwt_hs_limit_entry *e = find(l, addr), *set;

	if (!e) {
		/* The entry owing least: a free or settled one if any. */
		set = l->e[set_of(l, addr)];
		e = &set[0];
		for (int w = 1; w < LWT_HS_LIMIT_WAYS && (e->addr && e->tat_ms > now_ms); w++)
			if (!set[w].addr || set[w].tat_ms < e->tat_ms)
				e = &set[w];
		e->addr = addr;
		e->tat_ms = 0;
	}
	e->tat_ms = (e->tat_ms > now_ms ? e->tat_ms : now_ms) + LWT_HS_GUESS_EVERY_MS;
}

void lwt_hs_limit_refund(struct lwt_hs_limit *l, uint32_t addr, uint64_t now_ms)
{
	struct lwt_hs_limit_entry *e = find(l, addr);

	if (!e || e->tat_ms <= now_ms)
		return;
	e->tat_ms = e->tat_ms - now_ms > LWT_HS_GUESS_EVERY_MS ? e->tat_ms - LWT_HS_GUESS_EVERY_MS
							      : now_ms;
}
