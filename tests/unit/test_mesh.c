// SPDX-License-Identifier: MIT
/* mesh.c and mesh_hub.c with the real control.c: which relay the hub names
 * for a pair, from whose reports, and what a client's data plane then lets
 * through. Server slots 0..3 hold clients a, b, c, x; each numbered step
 * drives reports or a request and states the MESH_ROUTE records that reach
 * the data plane:
 *   1 c alone claims direct paths to a and b: no relay (a and b do not
 *     confirm them)
 *   2 a and b confirm their paths to c: c named, a told "b via c", b told
 *     "a via c", c told "relay a-b"
 *   3 x claims paths to a and b too, confirmed by nobody: nothing changes
 *   4 c's report drops b: withdrawn from all three; with x now confirmed
 *     by a and b but taking no part (mesh off), no new relay
 *   5 a report from a slot whose session is not up changes nothing
 *   6 c reports b again: named again; then a and b report a direct path
 *     to each other: withdrawn, and the pair forgotten
 * Client: 7 the hub's routes vouch exactly the named pair (b's packets over
 *     c's path; as c, a-b either way), nothing for x; a route from a direct
 *     slot or one naming ourselves is ignored; a withdrawal ends it. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "daemon.h"
#include "mesh.h"
#include "lwt/wire.h"

static const struct lwt_dp_ops no_ops = { .name = "none" };
static struct lwt_dp no_dp = { .ops = &no_ops };
static const char *const ip[] = { "10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14" };
enum { A, B, C, X };
#define IP(i) inet_addr(ip[i])

static struct lwt_daemon *daemon_new(int mode)
{
	struct lwt_daemon *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->cfg.mode = mode;
	d->cfg.tun_ip = mode == LWT_MODE_SERVER ? inet_addr("10.0.0.1") : IP(C);
	d->cfg.tun_prefix = 24;
	d->cfg.multi_client = true;
	d->cfg.p2p_enabled = true;
	d->cfg.enable_mesh_routing = true;
	d->cfg.max_hops = 3;
	d->nslots = 4;
	d->npollers = 1;
	d->dp = &no_dp;
	pthread_mutex_init(&d->dp_lock, NULL);
	d->slots = calloc(d->nslots, sizeof(*d->slots));
	assert_non_null(d->slots);
	assert_int_equal(lwt_slotlist_init(&d->slist, d->slots, d->nslots), 0);
	assert_int_equal(lwt_msgq_init(&d->to_dp[0], 256), 0);
	assert_int_equal(lwt_p2p_init(d), 0);
	assert_int_equal(lwt_mesh_init(d), 0);
	for (int i = 0; i < d->nslots && mode == LWT_MODE_SERVER; i++) {
		struct lwt_slot *s = &d->slots[i];

		atomic_store(&s->state, LWT_SLOT_SESSION);
		s->c.phase = LWT_PH_UP;
		s->c.tun_ip = IP(i);
		s->c.session_id = 0x100 + i;
		lwt_slotlist_note(s);
	}
	return d;
}

static void daemon_free(struct lwt_daemon *d)
{
	lwt_mesh_free(d);
	lwt_p2p_free(d);
	lwt_msgq_uninit(&d->to_dp[0]);
	lwt_slotlist_destroy(&d->slist);
	free(d->slots);
	free(d);
}

/* A report from slot i: flags, then the peers it holds direct paths to. */
static void report(struct lwt_daemon *d, int i, uint8_t flags, int n, ...)
{
	uint8_t m[1 + sizeof(struct lwt_mesh_report) + LWT_MESH_REPORT_MAX * sizeof(struct lwt_mesh_entry)];
	struct lwt_mesh_report h = { .flags = flags, .max_hops = 3, .n = (uint8_t)n };
	va_list ap;

	m[0] = LWT_MSG_MESH_REPORT;
	memcpy(m + 1, &h, sizeof(h));
	va_start(ap, n);
	for (int k = 0; k < n; k++) {
		struct lwt_mesh_entry e = { .peer_tun_ip = IP(va_arg(ap, int)), .rtt_us = htonl(100) };

		memcpy(m + 1 + sizeof(h) + k * sizeof(e), &e, sizeof(e));
	}
	va_end(ap);
	lwt_mesh_msg(d, i, m, 1 + sizeof(h) + n * sizeof(struct lwt_mesh_entry));
	lwt_mesh_tick(d, lwt_now_ns());
}

/* The routes queued, as "slot:kind:flags:peer:relay " per record, in order. */
static const char *routes(struct lwt_daemon *d)
{
	static char out[512];
	struct lwt_mesh_route r;
	struct lwt_msg m;
	size_t n = 0;

	out[0] = 0;
	while (lwt_msgq_pop(&d->to_dp[0], &m)) {
		if (m.type != LWT_CMD_SEND_MSG || m.u64 != LWT_MSG_MESH_ROUTE)
			continue;
		assert_int_equal(m.len, sizeof(r));
		memcpy(&r, m.data, sizeof(r));
		assert_int_equal(r.hops, 2);
		for (int k = 0; k < 4; k++)
			if (r.peer_tun_ip == IP(k))
				for (int l = 0; l < 4; l++)
					if (r.relay_tun_ip == IP(l))
						n += (size_t)snprintf(out + n, sizeof(out) - n, "%d:%s:%d:%c:%c ",
							m.slot, r.kind == LWT_MESH_VIA ? "via" : "relay",
							r.flags, 'a' + k, 'a' + l);
	}
	return out;
}

static void test_hub(void **state)
{
	struct lwt_daemon *d = daemon_new(LWT_MODE_SERVER);

	(void)state;
	lwt_mesh_want(d, A, B);				/* a asked for b */
	assert_string_equal(routes(d), "");
	/* 1 */
	report(d, C, LWT_MESH_F_RELAY, 2, A, B);
	report(d, A, LWT_MESH_F_RELAY, 0);
	report(d, B, LWT_MESH_F_RELAY, 0);
	assert_string_equal(routes(d), "");
	/* 2 */
	report(d, A, LWT_MESH_F_RELAY, 1, C);
	assert_string_equal(routes(d), "");
	report(d, B, LWT_MESH_F_RELAY, 1, C);
	assert_string_equal(routes(d), "2:relay:0:a:b 0:via:0:b:c 1:via:0:a:c ");
	/* 3 */
	report(d, X, LWT_MESH_F_RELAY, 2, A, B);
	lwt_mesh_want(d, B, A);
	assert_string_equal(routes(d), "");
	/* 4 */
	report(d, X, 0, 2, A, B);
	report(d, A, LWT_MESH_F_RELAY, 2, C, X);
	report(d, B, LWT_MESH_F_RELAY, 2, C, X);
	assert_string_equal(routes(d), "");
	report(d, C, LWT_MESH_F_RELAY, 1, A);
	assert_string_equal(routes(d), "0:via:1:b:c 1:via:1:a:c 2:relay:1:a:b ");
	/* 5 */
	d->slots[X].c.phase = LWT_PH_HELLO;
	lwt_slotlist_note(&d->slots[X]);
	report(d, X, LWT_MESH_F_RELAY, 2, A, B);
	d->slots[X].c.phase = LWT_PH_UP;
	lwt_slotlist_note(&d->slots[X]);
	assert_string_equal(routes(d), "");
	assert_int_equal(d->mesh->named, 1);
	assert_int_equal(d->mesh->withdrawn, 1);
	/* 6 */
	report(d, C, LWT_MESH_F_RELAY, 2, A, B);
	assert_string_equal(routes(d), "2:relay:0:a:b 0:via:0:b:c 1:via:0:a:c ");
	report(d, A, LWT_MESH_F_RELAY, 2, C, B);
	report(d, B, LWT_MESH_F_RELAY, 2, C, A);
	assert_string_equal(routes(d), "0:via:1:b:c 1:via:1:a:c 2:relay:1:a:b ");
	for (int k = 0; k < LWT_MESH_WANTS; k++)
		assert_int_equal(d->mesh->want[k].a, 0);
	daemon_free(d);
}

static void route(struct lwt_daemon *d, int slot, uint8_t kind, uint8_t flags, uint32_t peer,
		  uint32_t relay)
{
	struct lwt_mesh_route r = { .kind = kind, .flags = flags, .hops = 2, .peer_tun_ip = peer,
				    .relay_tun_ip = relay };
	uint8_t m[1 + sizeof(r)] = { LWT_MSG_MESH_ROUTE };

	memcpy(m + 1, &r, sizeof(r));
	lwt_mesh_msg(d, slot, m, sizeof(m));
}

static void test_client(void **state)
{
	struct lwt_daemon *d = daemon_new(LWT_MODE_CLIENT);	/* we are c */

	(void)state;
	/* 7 */
	route(d, 1, LWT_MESH_RELAY, 0, IP(A), IP(B));		/* over a direct path */
	assert_false(lwt_mesh_relay_ok(d, IP(A), IP(B)));
	route(d, 0, LWT_MESH_RELAY, 0, IP(A), IP(C));		/* names us */
	assert_false(lwt_mesh_relay_ok(d, IP(A), IP(C)));
	route(d, 0, LWT_MESH_RELAY, 0, IP(A), IP(B));
	assert_true(lwt_mesh_relay_ok(d, IP(A), IP(B)));
	assert_true(lwt_mesh_relay_ok(d, IP(B), IP(A)));
	assert_false(lwt_mesh_relay_ok(d, IP(A), IP(X)));
	assert_false(lwt_mesh_relay_ok(d, IP(X), IP(B)));
	route(d, 0, LWT_MESH_VIA, 0, IP(B), IP(A));		/* b through a */
	assert_true(lwt_mesh_vouched(d, IP(B), IP(A)));
	assert_false(lwt_mesh_vouched(d, IP(B), IP(X)));
	assert_false(lwt_mesh_vouched(d, IP(X), IP(A)));
	assert_int_equal(lwt_mesh_via(d, IP(B)), 0);		/* not scored yet */
	route(d, 0, LWT_MESH_RELAY, LWT_MESH_F_WITHDRAW, IP(B), IP(A));
	assert_false(lwt_mesh_relay_ok(d, IP(A), IP(B)));
	route(d, 0, LWT_MESH_VIA, LWT_MESH_F_WITHDRAW, IP(B), IP(A));
	assert_false(lwt_mesh_vouched(d, IP(B), IP(A)));
	assert_int_equal(d->mesh->bad, 1);
	/* Mesh off: nothing taken. */
	d->cfg.max_hops = 1;
	route(d, 0, LWT_MESH_RELAY, 0, IP(A), IP(B));
	assert_false(lwt_mesh_relay_ok(d, IP(A), IP(B)));
	daemon_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hub),
		cmocka_unit_test(test_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
