/* SPDX-License-Identifier: MIT */
/* Frame codec: split a TCP payload into lwt frames; append frames. */
#ifndef LWT_FRAME_H
#define LWT_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "lwt/wire.h"

struct lwt_frame {
	uint8_t type;
	const uint8_t *frame;	/* points at the frame header */
	size_t frame_len;	/* header + body */
	const uint8_t *body;
	size_t body_len;
};

/* Iterate over frames in buf. *off starts at 0. Returns 1 and fills f for the
 * next frame, 0 at the clean end, -EBADMSG if the rest is malformed
 * (truncated frame, unknown type, nonzero flags, len > LWT_FRAME_MAX_BODY). */
int lwt_frame_next(const uint8_t *buf, size_t len, size_t *off, struct lwt_frame *f);
/* Write a frame header for a body of body_len bytes at out. */
void lwt_frame_put_hdr(uint8_t *out, uint8_t type, size_t body_len);
/* True if type is one lwt knows. */
int lwt_frame_type_known(uint8_t type);

#endif
