// SPDX-License-Identifier: MIT
/* The data plane's side of the mesh relay (user/dataplane.c compiled into
 * this file unchanged, mesh.c from liblwt): what a client takes from its
 * direct paths once the hub's routes are in. Each numbered case is one
 * inner packet handed to dp_deliver_ip() on a direct slot, with what reaches
 * the TUN and the counters afterwards.
 *
 * As the relay c (direct paths to a, b and x; the hub named c for a-b):
 *   1 a -> b over a's path, b's path not confirmed yet: taken for relaying
 *     (not the TUN), dropped as no route
 *   2 a -> x over a's path: no relay named for a-x: refused
 *   3 x -> b over a's path (a speaking for x): refused
 *   4 a -> c over a's path: ours, to the TUN
 * As the end b (direct paths to c and x; the hub said a comes via c):
 *   5 a -> b over c's path: to the TUN, counted relayed_in
 *   6 a -> b over x's path (x claims to relay for a): refused
 *   7 y -> b over c's path (a source the hub named for nobody): refused
 *   8 the route withdrawn, a -> b over c's path: refused */
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>

#include "dataplane.c"
#include "mesh.h"
#include "testutil.h"

static const char *const name[] = { "10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14", "10.0.0.15" };
enum { A, B, C, X, Y };
#define IP(i) inet_addr(name[i])

struct rig {
	struct lwt_daemon d;
	struct dpctx x;
	int tun[2];
};

/* A client with tunnel IP me and direct slots 1..3 to peers p1..p3 (-1 none). */
static void rig_init(struct rig *r, int me, int p1, int p2, int p3)
{
	int peer[] = { -1, p1, p2, p3 };

	memset(r, 0, sizeof(*r));
	r->d.cfg.mode = LWT_MODE_CLIENT;
	r->d.cfg.tun_ip = IP(me);
	r->d.cfg.p2p_enabled = true;
	r->d.cfg.enable_mesh_routing = true;
	r->d.cfg.max_hops = 3;
	r->d.nslots = 4;
	r->d.npollers = 1;
	r->d.slots = calloc(4, sizeof(*r->d.slots));
	assert_non_null(r->d.slots);
	assert_int_equal(lwt_slotidx_init(&r->d.tun_idx, 4), 0);
	assert_int_equal(lwt_msgq_init(&r->d.to_dp[0], 256), 0);
	assert_int_equal(lwt_p2p_init(&r->d), 0);
	assert_int_equal(lwt_mesh_init(&r->d), 0);
	assert_int_equal(pipe2(r->tun, O_NONBLOCK), 0);
	r->x.d = &r->d;
	r->x.np = 1;
	r->x.now = lwt_now_ns();
	r->x.tun_fd = r->tun[1];
	for (int i = 1; i < 4; i++) {
		if (peer[i] < 0)
			continue;
		atomic_store(&r->d.slots[i].state, LWT_SLOT_SESSION);
		dp_tun_publish(&r->d, &r->d.slots[i], IP(peer[i]));
		LWT_CTR_INC(&r->d.slots[i].ctr, rx_packets);	/* confirmed */
	}
}

static void rig_free(struct rig *r)
{
	close(r->tun[0]);
	close(r->tun[1]);
	lwt_mesh_free(&r->d);
	lwt_p2p_free(&r->d);
	lwt_msgq_uninit(&r->d.to_dp[0]);
	lwt_slotidx_destroy(&r->d.tun_idx);
	free(r->d.slots);
}

static void hub_says(struct rig *r, uint8_t kind, uint8_t flags, int peer, int relay)
{
	struct lwt_mesh_route m = { .kind = kind, .flags = flags, .hops = 2,
				    .peer_tun_ip = IP(peer), .relay_tun_ip = IP(relay) };
	uint8_t b[1 + sizeof(m)] = { LWT_MSG_MESH_ROUTE };

	memcpy(b + 1, &m, sizeof(m));
	lwt_mesh_msg(&r->d, 0, b, sizeof(b));
}

/* Packet src -> dst over slot; bytes that reached the TUN. */
static ssize_t deliver(struct rig *r, int slot, int src, int dst)
{
	uint8_t p[28] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17 }, out[64];
	uint32_t s = IP(src), t = IP(dst);
	ssize_t n;

	memcpy(p + 12, &s, 4);
	memcpy(p + 16, &t, 4);
	dp_deliver_ip(&r->x, &r->d.slots[slot], p, sizeof(p));
	n = read(r->tun[0], out, sizeof(out));
	return n < 0 ? 0 : n;
}

#define SPOOFED(r, i) LWT_CTR_GET(&(r)->d.slots[i].ctr, drop_spoofed_src)

static void test_relay(void **state)
{
	struct rig r;

	(void)state;
	rig_init(&r, C, A, B, X);
	hub_says(&r, LWT_MESH_RELAY, 0, A, B);
	/* 1 */
	atomic_store(&r.d.slots[2].ctr.rx_packets, 0);			/* b's path unconfirmed */
	assert_int_equal(deliver(&r, 1, A, B), 0);
	assert_int_equal(LWT_CTR_GET(&r.d.ctr, drop_no_route), 1);
	assert_int_equal(SPOOFED(&r, 1), 0);
	/* 2 */
	assert_int_equal(deliver(&r, 1, A, X), 0);
	assert_int_equal(SPOOFED(&r, 1), 1);
	/* 3 */
	assert_int_equal(deliver(&r, 1, X, B), 0);
	assert_int_equal(SPOOFED(&r, 1), 2);
	/* 4 */
	assert_int_equal(deliver(&r, 1, A, C), 28);
	assert_int_equal(atomic_load(&r.d.mesh->refused), 2);
	assert_int_equal(atomic_load(&r.d.mesh->relayed), 0);
	rig_free(&r);
}

static void test_end(void **state)
{
	struct rig r;

	(void)state;
	rig_init(&r, B, C, -1, X);
	hub_says(&r, LWT_MESH_VIA, 0, A, C);
	/* 5 */
	assert_int_equal(deliver(&r, 1, A, B), 28);
	assert_int_equal(atomic_load(&r.d.mesh->relayed_in), 1);
	/* 6 */
	assert_int_equal(deliver(&r, 3, A, B), 0);
	assert_int_equal(SPOOFED(&r, 3), 1);
	/* 7 */
	assert_int_equal(deliver(&r, 1, Y, B), 0);
	assert_int_equal(SPOOFED(&r, 1), 1);
	/* 8 */
	hub_says(&r, LWT_MESH_VIA, LWT_MESH_F_WITHDRAW, A, C);
	assert_int_equal(deliver(&r, 1, A, B), 0);
	assert_int_equal(SPOOFED(&r, 1), 2);
	assert_int_equal(atomic_load(&r.d.mesh->relayed_in), 1);
	rig_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
