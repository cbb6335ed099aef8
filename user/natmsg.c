// SPDX-License-Identifier: MIT
/* NAT probe messages: build, parse, verify (natmsg.h). */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>

#include "natmsg.h"

int lwt_natmsg_key(const struct lwt_session_keys *k, uint32_t session_id,
		   uint8_t key[LWT_KEY_LEN])
{
	static const uint8_t salt[] = "lwt-v2 natprobe";
	uint8_t ikm[2 * LWT_KEY_LEN];
	uint32_t sid = htobe32(session_id);
	int r;

	memcpy(ikm, k->c2s_key, LWT_KEY_LEN);
	memcpy(ikm + LWT_KEY_LEN, k->s2c_key, LWT_KEY_LEN);
	r = lwt_crypto_hkdf(salt, sizeof(salt) - 1, ikm, sizeof(ikm), (const uint8_t *)&sid,
			    sizeof(sid), key, LWT_KEY_LEN);
	OPENSSL_cleanse(ikm, sizeof(ikm));
	return r;
}

int lwt_natmsg_build(const uint8_t key[LWT_KEY_LEN], const struct lwt_natmsg_info *in,
		     uint8_t *out)
{
	struct lwt_natmsg m;
	bool ans = in->type == LWT_NATMSG_ANSWER;

	memset(&m, 0, sizeof(m));
	memcpy(m.magic, LWT_NATMSG_MAGIC, sizeof(m.magic));
	m.version = LWT_NATMSG_VERSION;
	m.type = in->type;
	m.flags = in->flags & (ans ? LWT_NAT_ANS_FLAGS : LWT_NAT_REQ_FLAGS);
	m.session_id = htobe32(in->session_id);
	m.seq = htobe64(in->seq);
	if (ans) {
		m.mapped_addr = in->mapped_addr;
		m.mapped_port = htobe16(in->mapped_port);
		m.other_port = htobe16(in->other_port);
		m.other_addr = in->other_addr;
	}
	if (lwt_crypto_hmac(key, (const uint8_t *)&m, offsetof(struct lwt_natmsg, mac), m.mac))
		return -EIO;
	memcpy(out, &m, sizeof(m));
	return 0;
}

int lwt_natmsg_parse(const uint8_t *buf, size_t len, struct lwt_natmsg_info *out)
{
	struct lwt_natmsg m;

	if (len != sizeof(m))
		return -EBADMSG;
	memcpy(&m, buf, sizeof(m));
	if (memcmp(m.magic, LWT_NATMSG_MAGIC, sizeof(m.magic)) || m.version != LWT_NATMSG_VERSION ||
	    m.zero1 || m.zero2 || m.zero3 || !m.seq || !m.session_id)
		return -EBADMSG;
	if (m.type == LWT_NATMSG_REQUEST) {
		if ((m.flags & ~LWT_NAT_REQ_FLAGS) || m.mapped_addr || m.mapped_port ||
		    m.other_port || m.other_addr)
			return -EBADMSG;
	} else if (m.type == LWT_NATMSG_ANSWER) {
		if (m.flags & ~LWT_NAT_ANS_FLAGS)
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	out->type = m.type;
	out->flags = m.flags;
	out->session_id = be32toh(m.session_id);
	out->seq = be64toh(m.seq);
	out->mapped_addr = m.mapped_addr;
	out->mapped_port = be16toh(m.mapped_port);
	out->other_port = be16toh(m.other_port);
	out->other_addr = m.other_addr;
	return 0;
}

int lwt_natmsg_verify(const uint8_t key[LWT_KEY_LEN], const uint8_t *buf, size_t len)
{
	uint8_t mac[LWT_HMAC_LEN];
	size_t ml = offsetof(struct lwt_natmsg, mac);

	if (len != LWT_NATMSG_LEN || lwt_crypto_hmac(key, buf, ml, mac))
		return -EACCES;
	return lwt_crypto_equal(mac, buf + ml, LWT_HMAC_LEN) ? 0 : -EACCES;
}

bool lwt_natmsg_window_check(struct lwt_natmsg_window *w, uint64_t seq)
{
	uint64_t d;

	if (!seq)
		return false;
	if (seq > w->top) {
		d = seq - w->top;
		w->bits = d >= 64 ? 0 : w->bits << d;
		w->bits |= 1;
		w->top = seq;
		return true;
	}
	d = w->top - seq;
	if (d >= 64 || (w->bits >> d & 1))
		return false;
	w->bits |= 1ull << d;
	return true;
}
