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
static struct lwt_hs_client client;	/* a HELLO sent: HELLO_ACKs have one to answer */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t key[32] = { 1 }, iv[4] = { 2 }, hello[LWT_HELLO_FRAME_LEN];

	lwt_crypto_psk_derive("fuzz key", &psk);
	lwt_hs_hello_build(&psk, &client, 1700000000000ull, 42, 0x0200000a, 24, 10, 3, hello);
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
	static struct lwt_hs_client st;
	static struct lwt_replay rp;
	uint8_t buf[LWT_FRAME_MAX_BODY + 64], ack[LWT_HELLO_ACK_FRAME_LEN], ca[32] = { 0 };
	uint8_t confirm[LWT_CONFIRM_FRAME_LEN];
	struct lwt_hs_ack_info info = { .session_id = 1, .fec_data = 10, .fec_parity = 3 };
	uint64_t now;
	size_t off = 0;

	lwt_tcp_parse(data, size, true, &g);
	if (lwt_tcp_parse(data, size, false, &g))
		return 0;
	lwt_ftcp_input(&c, &g);
	while (lwt_frame_next(g.payload, g.payload_len, &off, &f) == 1) {
		switch (f.type) {
		case LWT_FT_HELLO:
			/* The clock is the HELLO's own, so inputs get past it
			 * to the SPAKE2 side B on their share. */
			now = 0;
			if (f.frame_len >= 4 + 44)
				for (int i = 0; i < 8; i++)
					now = now << 8 | f.frame[4 + 36 + i];
			if (!lwt_hs_hello_verify(f.frame, f.frame_len, now, 0, &hi))
				lwt_hs_ack_build(&psk, f.frame, &hi, &info, ack, &keys, ca);
			break;
		case LWT_FT_HELLO_ACK:
			st = client;
			lwt_hs_ack_verify(&st, f.frame, f.frame_len, &ai, &keys, confirm);
			break;
		case LWT_FT_CONFIRM:
			lwt_hs_confirm_verify(ca, f.frame, f.frame_len);
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
