// SPDX-License-Identifier: MIT
/* resume.c with the real takeover.c and control.c: a client that held the
 * live session of its client id proves it on its new flow (RESUME), and the
 * server moves the session at once; nothing else does. Slot 0 holds the
 * live session (session id SID0, keys K0); slot 1 is the new flow of the
 * same client id, confirmed and waiting (its probe of slot 0 sent). Each
 * numbered case builds the client's frames with lwt_resume_confirm and
 * hands the RESUME to the server:
 *   1 the client had no session before: CONFIRM alone, no RESUME
 *   2 a RESUME bound to another handshake's cA (one seen on the wire): refused
 *   3 a RESUME under another session's keys: refused
 *   4 a RESUME naming another session id: refused
 *   5 a RESUME for a flow that is not waiting: ignored, nothing counted
 *   6 the right one: slot 0 killed, slot 1 up at once, counted */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "daemon.h"
#include "frame.h"
#include "roam.h"
#include "lwt/wire.h"

#define ID 0x1122334455667788ull
#define SID0 0x0a0b0c0du
#define HDR sizeof(struct lwt_frame_hdr)
#define RESUME_LEN (HDR + sizeof(struct lwt_resume))

static const struct lwt_dp_ops no_ops = { .name = "none" };
static struct lwt_dp no_dp = { .ops = &no_ops, .xdp_mode = "none" };

static struct lwt_daemon *server_new(void)
{
	struct lwt_daemon *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->cfg.mode = LWT_MODE_SERVER;
	d->cfg.tun_ip = inet_addr("10.0.0.1");
	d->cfg.tun_prefix = 24;
	d->cfg.multi_client = true;
	d->cfg.max_clients = 10;
	d->nslots = 4;
	d->npollers = 1;
	d->dp = &no_dp;
	pthread_mutex_init(&d->dp_lock, NULL);
	d->slots = calloc(d->nslots, sizeof(*d->slots));
	assert_non_null(d->slots);
	assert_int_equal(lwt_slotlist_init(&d->slist, d->slots, d->nslots), 0);
	assert_int_equal(lwt_msgq_init(&d->to_dp[0], 256), 0);
	assert_int_equal(lwt_routes_init(d), 0);
	assert_int_equal(lwt_peers_init(d), 0);
	assert_int_equal(lwt_roam_init(d), 0);
	return d;
}

static void drain(struct lwt_daemon *d)
{
	struct lwt_msg m;

	while (lwt_msgq_pop(&d->to_dp[0], &m)) {
		if (m.type == LWT_CMD_INSTALL)
			lwt_install_free(m.ptr);
		if (m.type == LWT_CMD_ROUTES)
			free(m.ptr);
	}
}

static void keys(struct lwt_session_keys *k, uint8_t fill)
{
	memset(k, fill, sizeof(*k));
}

/* Slot 0: the live session SID0 under k. */
static void session(struct lwt_daemon *d, const struct lwt_session_keys *k, uint32_t gen)
{
	struct lwt_slot *s = &d->slots[0];

	memset(&s->c, 0, sizeof(s->c));
	lwt_resume_keys(d, 0, SID0, k);
	atomic_store(&s->gen, gen);
	atomic_store(&s->state, LWT_SLOT_SESSION);
	s->c.phase = LWT_PH_UP;
	s->c.session_id = SID0;
	s->c.tun_ip = inet_addr("10.0.0.2");
	s->c.client_id = ID;
	s->c.raddr = inet_addr("192.0.2.1");
	s->c.rport = htons(40000);
	s->c.port_fd = -1;
	lwt_slotlist_note(s);
}

/* Slot 1: the same client id on a new flow whose handshake's cA is ca,
 * confirmed: it waits for the probe of slot 0. */
static void claim(struct lwt_daemon *d, const uint8_t *ca, uint32_t gen)
{
	struct lwt_slot *s = &d->slots[1];
	struct lwt_session_keys k1;

	memset(&s->c, 0, sizeof(s->c));
	keys(&k1, 0x77);
	lwt_resume_keys(d, 1, 0x5e55105e, &k1);
	atomic_store(&s->gen, gen);
	atomic_store(&s->state, LWT_SLOT_HANDSHAKE);
	s->c.phase = LWT_PH_HELLO;
	s->c.phase_ns = lwt_now_ns();
	s->c.raddr = inet_addr("198.51.100.7");
	s->c.rport = htons(50001);
	s->c.port_fd = -1;
	s->c.hs.acked = true;
	memcpy(s->c.hs.expect_ca, ca, LWT_HS_CONFIRM_LEN);
	s->c.hs.hello.client_id = ID;
	s->c.hs.hello.tunnel_ip = inet_addr("10.0.0.2");
	s->c.hs.hello.tunnel_prefix = 24;
	s->c.hs.hello.fec_data = 10;
	s->c.hs.ack.session_id = 0x5e55105e;
	s->c.client_id = ID;
	s->c.tun_ip = inet_addr("10.0.0.2");
	lwt_slotlist_note(s);
	lwt_server_confirmed(d, 1);
	assert_true(lwt_takeover_waiting(d, 1));
	drain(d);
}

/* The client's frames after a HELLO_ACK whose cA is ca; returns their length. */
static size_t client_frames(struct lwt_daemon *c, const uint8_t *ca, uint8_t *out, size_t max)
{
	uint8_t confirm[HDR + LWT_HS_CONFIRM_LEN];

	lwt_frame_put_hdr(confirm, LWT_FT_CONFIRM, LWT_HS_CONFIRM_LEN);
	memcpy(confirm + HDR, ca, LWT_HS_CONFIRM_LEN);
	return lwt_resume_confirm(c, confirm, sizeof(confirm), out, max);
}

static void test_resume(void **state)
{
	struct lwt_daemon *d = server_new(), c = { 0 };
	struct lwt_session_keys k0, kx;
	uint8_t ca[LWT_HS_CONFIRM_LEN], ca2[LWT_HS_CONFIRM_LEN], f[128];
	size_t n;

	(void)state;
	keys(&k0, 0x42);
	keys(&kx, 0x43);
	memset(ca, 0xca, sizeof(ca));
	memset(ca2, 0xcb, sizeof(ca2));
	c.cfg.mode = LWT_MODE_CLIENT;
	c.roam = calloc(1, sizeof(*c.roam));
	assert_non_null(c.roam);

	/* 1 */
	n = client_frames(&c, ca, f, sizeof(f));
	assert_int_equal(n, HDR + LWT_HS_CONFIRM_LEN);
	assert_int_equal(f[0], LWT_FT_CONFIRM);

	/* 2 */
	session(d, &k0, 5);
	lwt_resume_client_up(&c, SID0, &k0);
	claim(d, ca, 9);
	n = client_frames(&c, ca2, f, sizeof(f));
	assert_int_equal(n, HDR + LWT_HS_CONFIRM_LEN + RESUME_LEN);
	assert_int_equal(f[HDR + LWT_HS_CONFIRM_LEN], LWT_FT_RESUME);
	lwt_resume_frame(d, 1, f + HDR + LWT_HS_CONFIRM_LEN, RESUME_LEN);
	assert_true(lwt_takeover_waiting(d, 1));
	assert_int_equal(d->slots[0].c.phase, LWT_PH_UP);
	assert_int_equal(d->roam->resumes_bad, 1);

	/* 3 */
	lwt_resume_client_up(&c, SID0, &kx);
	n = client_frames(&c, ca, f, sizeof(f));
	lwt_resume_frame(d, 1, f + HDR + LWT_HS_CONFIRM_LEN, RESUME_LEN);
	assert_true(lwt_takeover_waiting(d, 1));
	assert_int_equal(d->roam->resumes_bad, 2);

	/* 4 */
	lwt_resume_client_up(&c, SID0 + 1, &k0);
	n = client_frames(&c, ca, f, sizeof(f));
	lwt_resume_frame(d, 1, f + HDR + LWT_HS_CONFIRM_LEN, RESUME_LEN);
	assert_true(lwt_takeover_waiting(d, 1));
	assert_int_equal(d->roam->resumes_bad, 3);

	/* 5: the right RESUME, on a flow that waits for nothing */
	lwt_resume_client_up(&c, SID0, &k0);
	n = client_frames(&c, ca, f, sizeof(f));
	lwt_resume_frame(d, 2, f + HDR + LWT_HS_CONFIRM_LEN, RESUME_LEN);
	assert_int_equal(d->slots[0].c.phase, LWT_PH_UP);
	assert_int_equal(d->roam->resumes + d->roam->resumes_bad, 3);

	/* 6 */
	lwt_resume_frame(d, 1, f + HDR + LWT_HS_CONFIRM_LEN, RESUME_LEN);
	assert_false(lwt_takeover_waiting(d, 1));
	assert_int_equal(d->slots[0].c.phase, LWT_PH_CLOSING);
	assert_int_equal(d->slots[1].c.phase, LWT_PH_UP);
	assert_int_equal(d->slots[1].c.session_id, 0x5e55105e);
	assert_int_equal(d->roam->resumes, 1);
	assert_int_equal(d->takeovers, 1);
	assert_int_equal(d->takeovers_refused, 0);
	(void)n;

	drain(d);
	free(c.roam);
	lwt_roam_free(d);
	lwt_msgq_uninit(&d->to_dp[0]);
	lwt_routes_free(d);
	lwt_peers_free(d);
	lwt_slotlist_destroy(&d->slist);
	free(d->slots);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
