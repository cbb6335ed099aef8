// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "frame.h"

int lwt_frame_type_known(uint8_t type)
{
	switch (type) {
	case LWT_FT_HELLO:
	case LWT_FT_HELLO_ACK:
	case LWT_FT_REJECT:
	case LWT_FT_CONFIRM:
	case LWT_FT_RESUME:
	case LWT_FT_SEALED:
	case LWT_FT_AUTHED:
		return 1;
	}
	return 0;
}

int lwt_frame_next(const uint8_t *buf, size_t len, size_t *off, struct lwt_frame *f)
{
	struct lwt_frame_hdr h;
	size_t body;

	if (*off == len)
		return 0;
	if (*off > len || len - *off < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf + *off, sizeof(h));
	body = ntohs(h.len);
	if (!lwt_frame_type_known(h.type) || h.flags || body > LWT_FRAME_MAX_BODY ||
	    len - *off - sizeof(h) < body)
		return -EBADMSG;
	f->type = h.type;
	f->frame = buf + *off;
	f->frame_len = sizeof(h) + body;
	f->body = f->frame + sizeof(h);
	f->body_len = body;
	*off += f->frame_len;
	return 1;
}

void lwt_frame_put_hdr(uint8_t *out, uint8_t type, size_t body_len)
{
	out[0] = type;
	out[1] = 0;
	out[2] = body_len >> 8;
	out[3] = body_len & 0xff;
}
