// SPDX-License-Identifier: MIT
/* HELLO / HELLO_ACK / REJECT encode and verify (docs/PROTOCOL.md). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <endian.h>
#include <openssl/crypto.h>

#include "frame.h"
#include "handshake.h"

#define HDR sizeof(struct lwt_frame_hdr)

int lwt_hs_hello_build(const struct lwt_psk_keys *psk, struct lwt_hs_client *st,
		       uint64_t now_ms, uint64_t client_id, uint32_t tunnel_ip,
		       uint8_t tunnel_prefix, uint8_t fec_data, uint8_t fec_parity, uint8_t *out)
{
	struct lwt_hello h;

	memset(&h, 0, sizeof(h));
	if (lwt_x25519_keygen(st->priv, st->pub) || lwt_crypto_random(st->random, 32))
		return -EIO;
	h.version = LWT_PROTO_VERSION;
	h.flags = st->flags;
	memcpy(h.client_random, st->random, 32);
	memcpy(h.client_pub, st->pub, 32);
	h.timestamp_ms = htobe64(now_ms);
	h.client_id = htobe64(client_id);
	h.tunnel_ip = tunnel_ip;
	h.tunnel_prefix = tunnel_prefix;
	h.fec_data = fec_data;
	h.fec_parity = fec_parity;
	lwt_frame_put_hdr(out, LWT_FT_HELLO, sizeof(h));
	memcpy(out + HDR, &h, sizeof(h));
	if (lwt_crypto_hmac(psk->auth_key, out, HDR + offsetof(struct lwt_hello, mac),
			    out + HDR + offsetof(struct lwt_hello, mac)))
		return -EIO;
	memcpy(st->hello_frame, out, LWT_HELLO_FRAME_LEN);
	return 0;
}

static int check_hdr(const uint8_t *f, size_t len, uint8_t type, size_t body)
{
	if (len != HDR + body || f[0] != type || f[1] || (size_t)((f[2] << 8) | f[3]) != body)
		return -EBADMSG;
	return 0;
}

int lwt_hs_hello_verify(const struct lwt_psk_keys *psk, const uint8_t *frame, size_t len,
			uint64_t now_ms, struct lwt_hs_hello_info *out)
{
	struct lwt_hello h;
	uint8_t mac[LWT_HMAC_LEN];
	uint64_t ts;

	if (check_hdr(frame, len, LWT_FT_HELLO, sizeof(h)))
		return -EBADMSG;
	memcpy(&h, frame + HDR, sizeof(h));
	if (h.version != LWT_PROTO_VERSION || (h.flags & ~LWT_HS_F_AUTH_ONLY) ||
	    h.tunnel_prefix > 32 || !h.fec_data ||
	    h.fec_data > 128 || h.fec_parity > 64)
		return -EBADMSG;
	if (lwt_crypto_hmac(psk->auth_key, frame, HDR + offsetof(struct lwt_hello, mac), mac))
		return -EIO;
	if (!lwt_crypto_equal(mac, h.mac, sizeof(mac)))
		return -EACCES;
	ts = be64toh(h.timestamp_ms);
	if (ts + LWT_HELLO_MAX_SKEW_MS < now_ms || ts > now_ms + LWT_HELLO_MAX_SKEW_MS)
		return -ETIME;
	memcpy(out->client_random, h.client_random, 32);
	memcpy(out->client_pub, h.client_pub, 32);
	out->timestamp_ms = ts;
	out->client_id = be64toh(h.client_id);
	out->tunnel_ip = h.tunnel_ip;
	out->tunnel_prefix = h.tunnel_prefix;
	out->fec_data = h.fec_data;
	out->fec_parity = h.fec_parity;
	out->flags = h.flags;
	return 0;
}

/* MAC of an ACK: HMAC(auth_key, hello frame || ack hdr || ack body up to mac). */
static int ack_mac(const struct lwt_psk_keys *psk, const uint8_t *hello_frame, const uint8_t *ack,
		   uint8_t mac[LWT_HMAC_LEN])
{
	uint8_t buf[LWT_HELLO_FRAME_LEN + HDR + offsetof(struct lwt_hello_ack, mac)];
	int err;

	memcpy(buf, hello_frame, LWT_HELLO_FRAME_LEN);
	memcpy(buf + LWT_HELLO_FRAME_LEN, ack, sizeof(buf) - LWT_HELLO_FRAME_LEN);
	err = lwt_crypto_hmac(psk->auth_key, buf, sizeof(buf), mac);
	return err;
}

int lwt_hs_ack_build(const struct lwt_psk_keys *psk, const uint8_t *hello_frame,
		     const struct lwt_hs_hello_info *hello, const struct lwt_hs_ack_info *info,
		     uint8_t *out, struct lwt_session_keys *keys)
{
	struct lwt_hello_ack a;
	uint8_t priv[32], dh[32];
	int err;

	memset(&a, 0, sizeof(a));
	a.version = LWT_PROTO_VERSION;
	if (lwt_x25519_keygen(priv, a.server_pub) || lwt_crypto_random(a.server_random, 32))
		return -EIO;
	err = lwt_x25519_shared(priv, hello->client_pub, dh);
	OPENSSL_cleanse(priv, sizeof(priv));
	if (err)
		return err;
	err = lwt_crypto_session_derive(psk, dh, hello->client_random, a.server_random,
					hello->client_pub, a.server_pub, keys);
	OPENSSL_cleanse(dh, sizeof(dh));
	if (err)
		return err;
	a.session_id = htonl(info->session_id);
	a.server_tunnel_ip = info->server_tunnel_ip;
	a.server_tunnel_prefix = info->server_tunnel_prefix;
	a.fec_data = info->fec_data;
	a.fec_parity = info->fec_parity;
	a.flags = info->flags & hello->flags;	/* never more than asked */
	lwt_frame_put_hdr(out, LWT_FT_HELLO_ACK, sizeof(a));
	memcpy(out + HDR, &a, sizeof(a));
	return ack_mac(psk, hello_frame, out, out + HDR + offsetof(struct lwt_hello_ack, mac));
}

int lwt_hs_ack_verify(const struct lwt_psk_keys *psk, const struct lwt_hs_client *st,
		      const uint8_t *frame, size_t len, struct lwt_hs_ack_info *info,
		      struct lwt_session_keys *keys)
{
	struct lwt_hello_ack a;
	uint8_t mac[LWT_HMAC_LEN], dh[32];
	int err;

	if (check_hdr(frame, len, LWT_FT_HELLO_ACK, sizeof(a)))
		return -EBADMSG;
	memcpy(&a, frame + HDR, sizeof(a));
	if (a.version != LWT_PROTO_VERSION || (a.flags & ~st->flags) || a.server_tunnel_prefix > 32 ||
	    !a.fec_data || a.fec_data > 128 || a.fec_parity > 64)
		return -EBADMSG;
	if (ack_mac(psk, st->hello_frame, frame, mac))
		return -EIO;
	if (!lwt_crypto_equal(mac, a.mac, sizeof(mac)))
		return -EACCES;
	err = lwt_x25519_shared(st->priv, a.server_pub, dh);
	if (err)
		return -EBADMSG;
	err = lwt_crypto_session_derive(psk, dh, st->random, a.server_random, st->pub, a.server_pub,
					keys);
	OPENSSL_cleanse(dh, sizeof(dh));
	if (err)
		return err;
	info->session_id = ntohl(a.session_id);
	info->server_tunnel_ip = a.server_tunnel_ip;
	info->server_tunnel_prefix = a.server_tunnel_prefix;
	info->fec_data = a.fec_data;
	info->fec_parity = a.fec_parity;
	info->flags = a.flags;
	return 0;
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
	}
	return "unknown reason";
}
