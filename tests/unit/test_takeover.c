// SPDX-License-Identifier: MIT
/* takeover.c with the real control.c: a confirmed handshake that claims the
 * tunnel IP and client id of a live session. Slot 0 holds the live session,
 * slots 1 and 2 are claimants; each numbered step drives one event and
 * states the orders that reach the data plane (per slot) and the phases
 * afterwards:
 *   1 a claim probes the session; the claimant waits, no keys installed
 *   2 a second claimant meanwhile is refused, REJECT(9)
 *   3 the session answered: the claimant is refused, REJECT(9); the
 *     session gets no order at all
 *   4 a new claim, the probe unanswered: the session is killed, the
 *     claimant installed and up
 *   5 a claim whose probe has no outcome by its deadline is refused, and
 *     the session may be probed again
 *   6 a claim whose session ends otherwise meanwhile goes up at once
 *   7 an unanswered probe with no claimant left ends the session */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "daemon.h"
#include "lwt/wire.h"

#define ID 0x1122334455667788ull
#define SEC 1000000000ull

static const struct lwt_dp_ops no_ops = { .name = "none" };
static struct lwt_dp no_dp = { .ops = &no_ops };

static struct lwt_daemon *daemon_new(void)
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
	return d;
}

/* Orders queued for slot (a bit per command type), freeing what they carry. */
static unsigned int orders(struct lwt_daemon *d, int slot, int *reject)
{
	unsigned int got = 0;
	struct lwt_msg m;

	*reject = 0;
	while (lwt_msgq_pop(&d->to_dp[0], &m)) {
		if (m.type == LWT_CMD_INSTALL)
			lwt_install_free(m.ptr);
		if (m.type == LWT_CMD_ROUTES)
			free(m.ptr);
		if (m.slot != slot)
			fail_msg("an order %d for slot %d, want only slot %d's", m.type, m.slot, slot);
		if (m.type == LWT_CMD_SEND_FRAME && m.data[0] == LWT_FT_REJECT)
			*reject = lwt_hs_reject_parse(m.data, m.len);
		got |= 1u << m.type;
	}
	return got;
}
#define O(t) (1u << LWT_CMD_##t)

/* Whether the queue holds a command type for a slot; empties it. */
static bool drained_had(struct lwt_daemon *d, int slot, int type, int slot2, int type2)
{
	bool a = false, b = false;
	struct lwt_msg m;

	while (lwt_msgq_pop(&d->to_dp[0], &m)) {
		a |= m.slot == slot && m.type == type;
		b |= m.slot == slot2 && m.type == type2;
		if (m.type == LWT_CMD_INSTALL)
			lwt_install_free(m.ptr);
		if (m.type == LWT_CMD_ROUTES)
			free(m.ptr);
	}
	return a && b;
}

static void session(struct lwt_daemon *d, int i, uint32_t gen)
{
	struct lwt_slot *s = &d->slots[i];

	memset(&s->c, 0, sizeof(s->c));
	atomic_store(&s->gen, gen);
	atomic_store(&s->state, LWT_SLOT_SESSION);
	s->c.phase = LWT_PH_UP;
	s->c.tun_ip = inet_addr("10.0.0.2");
	s->c.client_id = ID;
	s->c.raddr = inet_addr("192.0.2.1");
	s->c.rport = htons(40000);
	s->c.port_fd = -1;
	lwt_slotlist_note(s);
}

/* Slot i: a handshake of the same client id and tunnel IP, confirmed now. */
static void claim(struct lwt_daemon *d, int i, uint32_t gen)
{
	struct lwt_slot *s = &d->slots[i];

	memset(&s->c, 0, sizeof(s->c));
	atomic_store(&s->gen, gen);
	atomic_store(&s->state, LWT_SLOT_HANDSHAKE);
	s->c.phase = LWT_PH_HELLO;
	s->c.phase_ns = lwt_now_ns();
	s->c.raddr = inet_addr("198.51.100.7");
	s->c.rport = htons(50000 + i);
	s->c.port_fd = -1;
	s->c.hs.acked = true;
	s->c.hs.hello.client_id = ID;
	s->c.hs.hello.tunnel_ip = inet_addr("10.0.0.2");
	s->c.hs.hello.tunnel_prefix = 24;
	s->c.hs.hello.fec_data = 10;
	s->c.hs.ack.session_id = 0x5e55105e;
	s->c.client_id = ID;
	s->c.tun_ip = inet_addr("10.0.0.2");
	lwt_slotlist_note(s);
	lwt_server_confirmed(d, i);
}

static void test_takeover(void **state)
{
	struct lwt_daemon *d = daemon_new();
	int rej;

	/* 1 */
	session(d, 0, 5);
	claim(d, 1, 9);
	assert_int_equal(orders(d, 0, &rej), O(PROBE));
	assert_true(lwt_takeover_waiting(d, 1));
	assert_int_equal(d->slots[1].c.phase, LWT_PH_HELLO);
	assert_false(d->slots[1].c.hs.installed);
	/* 2 */
	claim(d, 2, 11);
	assert_int_equal(orders(d, 2, &rej), O(SEND_FRAME) | O(KILL));
	assert_int_equal(rej, LWT_REJECT_ID_INUSE);
	assert_int_equal(d->slots[2].c.phase, LWT_PH_CLOSING);
	assert_true(lwt_takeover_waiting(d, 1));
	/* 3 */
	lwt_takeover_probed(d, 0, true);
	assert_int_equal(orders(d, 1, &rej), O(SEND_FRAME) | O(KILL));
	assert_int_equal(rej, LWT_REJECT_ID_INUSE);
	assert_int_equal(d->slots[0].c.phase, LWT_PH_UP);
	assert_int_equal(d->slots[1].c.phase, LWT_PH_CLOSING);
	/* 4 */
	claim(d, 1, 13);
	assert_int_equal(orders(d, 0, &rej), O(PROBE));
	lwt_takeover_probed(d, 0, false);
	assert_int_equal(d->slots[0].c.phase, LWT_PH_CLOSING);
	assert_int_equal(d->slots[1].c.phase, LWT_PH_UP);
	assert_int_equal(d->slots[1].c.session_id, 0x5e55105e);
	assert_false(lwt_takeover_waiting(d, 1));
	assert_true(drained_had(d, 0, LWT_CMD_KILL, 1, LWT_CMD_INSTALL));
	/* 5: slot 1's session is the live one now */
	claim(d, 2, 15);
	assert_int_equal(orders(d, 1, &rej), O(PROBE));
	lwt_takeover_tick(d, 2, lwt_now_ns() + LWT_TAKEOVER_WAIT_NS / 2);
	assert_int_equal(orders(d, 1, &rej), 0);
	lwt_takeover_tick(d, 2, lwt_now_ns() + LWT_TAKEOVER_WAIT_NS + SEC);
	assert_int_equal(orders(d, 2, &rej), O(SEND_FRAME) | O(KILL));
	assert_int_equal(rej, LWT_REJECT_ID_INUSE);
	claim(d, 3, 17);
	assert_int_equal(orders(d, 1, &rej), O(PROBE));
	/* 6 */
	lwt_slot_kill(d, 1);
	lwt_takeover_tick(d, 3, lwt_now_ns());
	assert_int_equal(d->slots[3].c.phase, LWT_PH_UP);
	assert_false(lwt_takeover_waiting(d, 3));
	assert_true(drained_had(d, 1, LWT_CMD_KILL, 3, LWT_CMD_INSTALL));
	/* 7 */
	lwt_takeover_probed(d, 3, false);
	assert_int_equal(d->slots[3].c.phase, LWT_PH_CLOSING);
	assert_int_equal(orders(d, 3, &rej), O(KILL));
	assert_int_equal(d->takeover_probes, 4);
	assert_int_equal(d->takeovers, 2);
	assert_int_equal(d->takeovers_refused, 3);

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
		cmocka_unit_test(test_takeover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
