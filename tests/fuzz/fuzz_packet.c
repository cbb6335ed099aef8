// SPDX-License-Identifier: MIT
/* libFuzzer target for everything a packet from the network reaches before
 * authentication: the IPv4/TCP parser, the fake-TCP state machine, the frame
 * codec, the handshake verifiers and record opening. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "faketcp.h"
#include "frame.h"
#include "handshake.h"
#include "replay.h"

static struct lwt_psk_keys psk;
static struct lwt_aead *aead;
static struct lwt_ftcp_conn proto;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t key[32] = { 1 }, iv[4] = { 2 };

	lwt_crypto_psk_derive("fuzz key", &psk);
	aead = lwt_aead_create(key, iv);
	lwt_ftcp_init(&proto, 0x0100000a, 0x2823, 0x0200000a, 0x9c40);
	proto.state = LWT_FTCP_ESTABLISHED;
	proto.rcv_wnd = LWT_FTCP_WINDOW;
	proto.snd_wnd = LWT_FTCP_WINDOW;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lwt_tcp_seg g;
	struct lwt_ftcp_conn c = proto;
	struct lwt_frame f;
	struct lwt_hs_hello_info hi;
	struct lwt_hs_ack_info ai;
	struct lwt_session_keys keys;
	struct lwt_hs_client st = { 0 };
	static struct lwt_replay rp;
	uint8_t buf[LWT_FRAME_MAX_BODY + 64];
	size_t off = 0;

	memset(&st, 0, sizeof(st));
	lwt_tcp_parse(data, size, true, &g);
	if (lwt_tcp_parse(data, size, false, &g))
		return 0;
	lwt_ftcp_input(&c, &g);
	while (lwt_frame_next(g.payload, g.payload_len, &off, &f) == 1) {
		switch (f.type) {
		case LWT_FT_HELLO:
			lwt_hs_hello_verify(&psk, f.frame, f.frame_len, 0, &hi);
			break;
		case LWT_FT_HELLO_ACK:
			lwt_hs_ack_verify(&psk, &st, f.frame, f.frame_len, &ai, &keys);
			break;
		case LWT_FT_REJECT:
			lwt_hs_reject_parse(f.frame, f.frame_len);
			break;
		default:
			if (f.body_len >= 12 + 1 + 16 && f.body_len <= sizeof(buf)) {
				uint64_t ctr;

				memcpy(&ctr, f.body + 4, 8);
				if (lwt_replay_check(&rp, ctr)) {
					memcpy(buf, f.body + 12, f.body_len - 12);
					if (!lwt_aead_open(aead, ctr, f.frame, 16, buf, f.body_len - 12 - 16))
						lwt_replay_update(&rp, ctr);
				}
			}
		}
	}
	return 0;
}
