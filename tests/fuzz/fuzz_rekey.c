// SPDX-License-Identifier: MIT
/* libFuzzer target: key-rotation messages (LWT_MSG_REKEY / REKEY_ACK), as
 * the control thread takes them (handle_event -> lwt_rekey_msg) on a server and
 * a client whose sessions are up. control.c is compiled into this file
 * unchanged; the two daemons' orders to their data planes are read from
 * their queues: a message one sends goes into a channel to the other, keys
 * one installs are kept. The input schedules offers (lwt_rekey_tick), delivers,
 * changes, duplicates or drops what is in the channels, injects messages of
 * its own, and stalls the data planes (their queues then fill).
 *
 * Invariants:
 *  - a daemon sends only well-formed messages of its role (server: REKEY,
 *    client: REKEY_ACK; 36-byte body) for the epoch it is at;
 *  - a message of the wrong length, role, or epoch, or to a session not up,
 *    makes no keys and no answer;
 *  - keys are installed only for the next epoch (client: one above the
 *    last, held; server: the one it offered, at once), always a pair;
 *  - an exchange whose offer and answer arrived unchanged gives both sides
 *    the same keys: each side's seal opens with the other's;
 *  - nothing leaks, even when the data plane's queue is full (LSan). */
#include <stddef.h>
#include <stdint.h>

#include "control.c"
#include "fuzz.h"

#define CHAN 64
#define SID 0x0badcafe

struct msgbuf {
	uint8_t b[64];
	uint16_t len;
};

struct side {
	struct lwt_daemon d;
	bool server;
	struct msgbuf out[CHAN];	/* what it sent, not yet delivered */
	int nout;
	uint16_t epoch;			/* last keys installed */
	bool have_keys;
	struct lwt_rekey_keys *keys[4];	/* the last few, by epoch % 4 */
	bool honest[4];			/* derived from an unchanged message */
};

static struct side S, C;
static bool stalled;		/* the data planes stopped taking orders this input */
static int keys_made;		/* key sets installed this input */
static const struct lwt_dp_ops no_ops = { .name = "none" };
static struct lwt_dp no_dp = { .ops = &no_ops, .xdp_mode = "none" };
static struct lwt_psk_keys psk;
static struct lwt_msgq qs, qc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	FZ_CHECK(lwt_crypto_psk_derive("a fuzz key of some length", &psk) == 0, "psk");
	FZ_CHECK(lwt_msgq_init(&qs, 64) == 0 && lwt_msgq_init(&qc, 64) == 0, "msgq");
	return 0;
}

static void keys_put(struct side *x, struct lwt_rekey_keys *k, bool honest)
{
	int i = k->epoch % 4;

	lwt_rekey_keys_free(x->keys[i]);
	x->keys[i] = k;
	x->honest[i] = honest;
}

/* The other side's keys of the same epoch, if both came from unchanged
 * messages: a record sealed by one must open with the other. */
static void agree(uint16_t e)
{
	struct lwt_rekey_keys *ks = S.keys[e % 4], *kc = C.keys[e % 4];
	uint8_t aad[16] = "lwt fuzz rekey", buf[64] = "a record under the new keys";

	if (!ks || !kc || ks->epoch != e || kc->epoch != e || !S.honest[e % 4] || !C.honest[e % 4])
		return;
	FZ_CHECK(lwt_aead_seal(ks->tx, 7, aad, sizeof(aad), buf, 32) == 0 &&
		 lwt_aead_open(kc->rx, 7, aad, sizeof(aad), buf, 32) == 0,
		 "epoch %u: the client cannot open what the server seals", e);
	FZ_CHECK(lwt_aead_seal(kc->tx, 9, aad, sizeof(aad), buf, 32) == 0 &&
		 lwt_aead_open(ks->rx, 9, aad, sizeof(aad), buf, 32) == 0,
		 "epoch %u: the server cannot open what the client seals", e);
}

/* Take what a side ordered its data plane; returns the key sets seen. */
static int drain(struct side *x, bool honest_in, bool late)
{
	struct lwt_msg m;
	int keys = 0;

	while (lwt_msgq_pop(&x->d.to_dp[0], &m)) {
		if (m.type == LWT_CMD_SEND_MSG) {
			struct lwt_rekey r;

			FZ_CHECK(m.u64 == (x->server ? LWT_MSG_REKEY : LWT_MSG_REKEY_ACK),
				 "%s sent message type %llu", x->server ? "server" : "client",
				 (unsigned long long)m.u64);
			FZ_CHECK(m.len == sizeof(r), "a %u-byte rekey body", m.len);
			memcpy(&r, m.data, sizeof(r));
			/* (orders drained late may be from an epoch before) */
			FZ_CHECK(ntohs(r.epoch) == x->d.slots[0].c.rk_epoch ||
				 (late && (int16_t)(ntohs(r.epoch) - x->d.slots[0].c.rk_epoch) < 0),
				 "%s sent epoch %u at its epoch %u", x->server ? "server" : "client",
				 ntohs(r.epoch), x->d.slots[0].c.rk_epoch);
			if (x->nout < CHAN) {
				x->out[x->nout].b[0] = (uint8_t)m.u64;
				memcpy(x->out[x->nout].b + 1, m.data, m.len);
				x->out[x->nout++].len = 1 + m.len;
			}
		} else if (m.type == LWT_CMD_REKEY) {
			struct lwt_rekey_keys *k = m.ptr;

			FZ_CHECK(k && k->tx && k->rx, "rekey order without keys");
			FZ_CHECK(k->now == x->server, "%s keys: now=%d", x->server ? "server" : "client",
				 k->now);
			if (x->server && !late)
				FZ_CHECK(k->epoch == x->d.slots[0].c.rk_epoch,
					 "server installs epoch %u, offered %u", k->epoch,
					 x->d.slots[0].c.rk_epoch);
			else
				/* exactly the next one, unless a stalled queue lost an
				 * order (the client then skips the lost epoch) */
				FZ_CHECK(stalled ? (int16_t)(k->epoch - x->epoch) > 0 :
					 k->epoch == (uint16_t)(x->epoch + 1),
					 "client installs epoch %u after %u", k->epoch, x->epoch);
			x->epoch = k->epoch;
			x->have_keys = true;
			keys_put(x, k, honest_in);
			agree(k->epoch);
			keys++;
			keys_made++;
		} else if (m.type == LWT_CMD_ROUTES) {
			free(m.ptr);
		}
	}
	return keys;
}

/* Hand a side a message as the data plane would post it. */
static void deliver(struct side *x, const uint8_t *b, size_t len, bool honest, bool drain_now)
{
	struct lwt_msg m = { .type = LWT_EVT_MSG, .slot = 0, .gen = x->d.slots[0].gen };
	int n0 = x->nout;
	uint16_t e0 = x->d.slots[0].c.rk_epoch;
	bool ok_role;

	if (len > sizeof(m.data))
		len = sizeof(m.data);
	memcpy(m.data, b, len);
	m.len = (uint16_t)len;
	handle_event(&x->d, &m);
	if (!drain_now)
		return;
	int keys = drain(x, honest, false);

	ok_role = len == 1 + sizeof(struct lwt_rekey) && x->d.slots[0].c.phase == LWT_PH_UP &&
		  b[0] == (x->server ? LWT_MSG_REKEY_ACK : LWT_MSG_REKEY);
	if (!ok_role)
		FZ_CHECK(!keys && x->nout == n0 && x->d.slots[0].c.rk_epoch == e0,
			 "a %zu-byte message of type %u to the %s made keys or an answer", len,
			 len ? b[0] : 0, x->server ? "server" : "client");
}

static void setup(struct side *x, bool server, struct lwt_msgq *q)
{
	struct lwt_slot *s;

	memset(x, 0, sizeof(*x));
	x->server = server;
	lwt_config_defaults(&x->d.cfg);
	x->d.cfg.mode = server ? LWT_MODE_SERVER : LWT_MODE_CLIENT;
	x->d.cfg.config_push_interval = 30;
	x->d.psk = psk;
	x->d.npollers = 1;
	x->d.nslots = 1;
	x->d.dp = &no_dp;
	x->d.to_dp[0] = *q;
	x->d.slots = s = calloc(1, sizeof(*s));
	s->gen = 1;
	s->c.phase = LWT_PH_UP;
	s->c.session_id = SID;
	s->c.port_fd = -1;
}

static void teardown(struct side *x)
{
	for (int i = 0; i < 4; i++)
		lwt_rekey_keys_free(x->keys[i]);
	free(x->d.slots);
}

/* Deliver the oldest message from one side to the other, maybe changed. */
static void pass(struct fz *f, struct side *from, struct side *to, bool drain_now)
{
	uint8_t how = fz_u8(f), b[64];
	struct msgbuf *mb;
	size_t len;
	bool honest = true;

	if (!from->nout)
		return;
	mb = &from->out[0];
	memcpy(b, mb->b, mb->len);
	len = mb->len;
	switch (how & 7) {
	case 1:	/* a bit flipped */
		b[fz_u8(f) % len] ^= 1 << (how >> 5);
		honest = false;
		break;
	case 2:	/* cut short or made longer */
		len = fz_u8(f) % sizeof(b);
		honest = false;
		break;
	case 3:	/* lost */
		goto pop;
	case 4:	/* delivered, and again later */
		deliver(to, b, len, true, drain_now);
		return;
	}
	deliver(to, b, len, honest, drain_now);
pop:
	memmove(from->out, from->out + 1, (from->nout - 1) * sizeof(from->out[0]));
	from->nout--;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	bool stall = false;

	setup(&S, true, &qs);
	setup(&C, false, &qc);
	stalled = false;
	keys_made = 0;
	/* Each rotation costs two X25519 key pairs: eight make a long enough
	 * story (and keep the target fast). */
	while (f.n && keys_made < 8) {
		uint8_t op = fz_u8(&f);
		struct lwt_slot *ss = &S.d.slots[0];

		if (op < 0x20) {
			/* the server's timer: an offer when due, again when unanswered */
			ss->c.rk_next_ns = 0;
			if (op & 1)
				ss->c.rk_sent_ns = 0;
			lwt_rekey_tick(&S.d, 0, lwt_now_ns());
			if (!stall)
				drain(&S, false, false);
		} else if (op < 0x60) {
			pass(&f, &S, &C, !stall);
		} else if (op < 0xa0) {
			pass(&f, &C, &S, !stall);
		} else if (op < 0xe0) {
			/* a message of the input's own */
			uint8_t b[64];
			size_t len = 1 + fz_u8(&f) % 48;

			b[0] = op & 1 ? LWT_MSG_REKEY : LWT_MSG_REKEY_ACK;
			fz_copy(&f, b + 1, len - 1);
			if (op & 2) {
				/* the epoch the receiver wants */
				struct side *x = op & 4 ? &S : &C;
				uint16_t e = htons(x->server ? x->d.slots[0].c.rk_epoch :
						   (uint16_t)(x->d.slots[0].c.rk_epoch + 1));

				if (len >= 3)
					memcpy(b + 1, &e, 2);
			}
			deliver(op & 4 ? &S : &C, b, len, false, !stall);
		} else if (op < 0xf0) {
			/* the data planes stop taking orders, or start again */
			stall = !stall;
			stalled = true;
			if (!stall) {
				drain(&S, false, true);
				drain(&C, false, true);
			}
		} else if (op == 0xff) {
			/* the session ends on one side */
			(fz_u8(&f) & 1 ? &C : &S)->d.slots[0].c.phase = LWT_PH_CLOSING;
		}
	}
	drain(&S, false, true);
	drain(&C, false, true);
	teardown(&S);
	teardown(&C);
	return 0;
}
