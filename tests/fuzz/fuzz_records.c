// SPDX-License-Identifier: MIT
/* libFuzzer target: records on a live session, from the segment in to the
 * TUN, the control thread's queue and the segments sent back. The data
 * plane (user/dataplane.c) is compiled into this file unchanged and driven
 * the way its poller drives it: dp_segment_input() for what arrives,
 * dp_handle_cmd() for the control thread's orders, dp_tun_input() for what the
 * TUN gives, dp_fec_timers() for its clock (pure ACKs included). Its path is the
 * harness's: what it sends is kept and read by the harness, which plays the
 * peer. The fake-TCP handshake is real; the session keys are built with
 * lwt_aead_create from fixed bytes (no lwt handshake), so the peer holds
 * them and seals what the input says: the fuzzer reaches past the MACs.
 *
 * Input: a header (server or client side, encrypt_after_auth, FEC either
 * way, a seed for the ISNs), then operations: a SEALED or AUTHED record
 * (message type and body from the input; counter fresh, replayed, old or
 * far ahead; session id, epoch and tag right or wrong) added to the next
 * segment; raw frame bytes added to it; the segment sent (at the right
 * sequence, too old, too far ahead, as RST, FIN or SYN, with a bad
 * checksum or ack); keepalive, close, message and key-rotation orders; an
 * inner packet from the TUN; the timers; the slot killed.
 *
 * Invariants:
 *  - nothing unauthenticated is taken: raw frames, records with a wrong
 *    tag or session, and any segment the fake TCP must refuse add no
 *    record to rx_packets, nothing to the TUN, no message to the control
 *    thread; nor is a record whose counter the slot already took (replay);
 *  - every record sealed right with a fresh counter under the keys the
 *    slot expects, in an acceptable segment, is taken (rx_packets), and
 *    its IPv4 packet (a well-formed one, client side) reaches the TUN;
 *  - what reaches the TUN is byte for byte a payload the peer sealed (or,
 *    after a parity shard, one the FEC decoder rebuilt);
 *  - a control message reaches the control thread exactly as sealed;
 *  - every segment the slot sends parses with its checksums, belongs to
 *    the flow, and its records open under the peer's keys with counters
 *    that only grow; a keepalive request gets its reply; a packet from
 *    the TUN reaches the peer as it was. */
#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "dataplane.c"
#include "fuzz.h"

#define PEER_IP 0x0200000a	/* 10.0.0.2 */
#define SELF_IP 0x0100000a	/* 10.0.0.1 */
#define TUN_SELF 0x0100a8c0	/* 192.168.0.1 */
#define TUN_PEER 0x0200a8c0	/* 192.168.0.2 */
#define SESSION 0x5e551011u
#define EPOCHS 64
#define MAX_TX 256
#define PEND_MAX 24000
#define FZ_MTU 9000		/* the slot's TUN MTU: sizes its buffers (bufs.h) */
#define SEG_MAX (FZ_MTU + LWT_OVERHEAD)

/* FUZZ_TRACE=1: what the harness does, on stderr (for a reproducer). */
static bool trace;
#define TRACE(...) do { if (trace) fprintf(stderr, __VA_ARGS__); } while (0)

/* --- determinism: the ISNs, TS offsets and IP ids come from here --- */

static uint64_t rng;

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	for (size_t i = 0; i < len; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		((uint8_t *)buf)[i] = (uint8_t)(rng >> 56);
	}
	return (ssize_t)len;
}

/* --- the path: keeps what the data plane sends --- */

static struct {
	uint8_t buf[MAX_TX][SEG_MAX];
	uint32_t len[MAX_TX];
	int n;
} TX;

static int fdp_rx(struct lwt_dp *dp, int shard, struct lwt_dp_pkt *pkts, int max)
{
	return 0;
}

static int fdp_tx(struct lwt_dp *dp, int shard, const struct lwt_dp_pkt *pkts, int n)
{
	for (int i = 0; i < n; i++) {
		FZ_CHECK(pkts[i].len <= SEG_MAX, "a %u-byte segment sent", pkts[i].len);
		if (TX.n == MAX_TX)
			continue;
		memcpy(TX.buf[TX.n], pkts[i].data, pkts[i].len);
		TX.len[TX.n++] = pkts[i].len;
	}
	return n;
}

static int fdp_fd(struct lwt_dp *dp, int shard)
{
	return -1;
}

static void fdp_destroy(struct lwt_dp *dp)
{
}

static const struct lwt_dp_ops fdp_ops = {
	.name = "fuzz", .rx_batch = fdp_rx, .tx_batch = fdp_tx, .rx_fd = fdp_fd,
	.destroy = fdp_destroy,
};
static struct lwt_dp fdp = { .ops = &fdp_ops, .shards = 1, .xdp_mode = "none" };

/* --- keys: epoch e, direction 0 client->server, 1 server->client --- */

static struct lwt_aead *key(int e, int dir)
{
	uint8_t k[32], iv[4] = { (uint8_t)e, (uint8_t)dir, 0x11, 0x22 };

	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(e * 7 + dir * 3 + i);
	return lwt_aead_create(k, iv);
}

/* --- the peer --- */

static struct {
	struct lwt_daemon d;
	struct dpctx *x;
	struct lwt_slot *s;
	bool server;		/* we (the data plane) are the server */
	int tun[2];		/* [0] the data plane's TUN fd, [1] ours */
	struct lwt_ftcp_conn pc;	/* the peer's side of the flow */
	struct ep {			/* what the peer knows of an epoch */
		bool used;
		uint16_t e;
		struct lwt_aead *tx, *rx;	/* its keys */
		uint64_t sealed_top;	/* highest counter + 1 sealed under it */
		uint64_t rx_top;	/* highest counter + 1 received under it */
		uint64_t taken[32];	/* counters the slot surely took (the last 32) */
		unsigned int ntaken;
	} ep[EPOCHS];
	uint16_t epoch;		/* the newest epoch handed to the slot */
	/* what the peer sealed in the pending segment */
	uint8_t pend[PEND_MAX];
	size_t plen;
	int clean, authentic, ka_req_clean, fec_parity;
	int sent_tun;		/* packets the peer got from the slot's TUN input */
	uint8_t tun_pkt[FZ_MTU];	/* the last one injected */
	size_t tun_len;
	bool tun_expect;
	int ka_replies;		/* keepalive replies the slot sent */
	bool killed, closed;
	int frames_posted;
} P;

/* The segment in flight as plaintext (P.pend is what goes on the wire;
 * the slot decrypts it in place in its own copy). */
static uint8_t plain[PEND_MAX];

/* Authentic payloads of the segment in flight (what the TUN and the
 * control thread may see): offsets into P.pend. */
static struct {
	uint32_t off, len;
	uint8_t type;
	uint16_t epoch;
	uint64_t seq;
	bool fresh, clean, ipok, reached, replay;
} R[512];
static int nR;

static int dir_to_slot(void)
{
	return P.server ? 0 : 1;
}

/* Epoch e's entry; NULL when the table is full. The input seals under
 * new epochs of its own only while it is under 40 full, and rotates keys
 * only under 56, so the slot's own always fit. */
static int epochs_used(void)
{
	int n = 0;

	while (n < EPOCHS && P.ep[n].used)
		n++;
	return n;
}

static struct ep *epoch(uint16_t e)
{
	for (int i = 0; i < EPOCHS; i++) {
		if (P.ep[i].used && P.ep[i].e == e)
			return &P.ep[i];
		if (!P.ep[i].used) {
			P.ep[i] = (struct ep){ .used = true, .e = e, .tx = key(e, dir_to_slot()),
					       .rx = key(e, !dir_to_slot()) };
			return &P.ep[i];
		}
	}
	return NULL;
}

/* Read what the slot sent: as the peer's fake TCP and record layer would,
 * checking everything. */
static void peer_read(void)
{
	for (int i = 0; i < TX.n; i++) {
		uint8_t *p = TX.buf[i];
		struct lwt_tcp_seg g;
		struct lwt_frame f;
		size_t off = 0;
		int r, v;

		FZ_CHECK(lwt_tcp_parse(p, TX.len[i], true, &g) == 0, "segment %d sent does not parse", i);
		FZ_CHECK(g.saddr == P.pc.raddr && g.daddr == P.pc.laddr && g.sport == P.pc.rport &&
			 g.dport == P.pc.lport, "segment %d sent off the flow", i);
		if (P.pc.state != LWT_FTCP_ESTABLISHED)
			continue;	/* the handshake reads its own */
		v = lwt_ftcp_input(&P.pc, &g);
		while ((r = lwt_frame_next(g.payload, g.payload_len, &off, &f)) == 1) {
			uint8_t *body = (uint8_t *)f.body + sizeof(struct lwt_record_hdr);
			size_t blen;
			uint64_t ctr;
			uint16_t ep;
			int bad;

			FZ_CHECK(f.type == LWT_FT_SEALED || f.type == LWT_FT_AUTHED,
				 "the slot sent a frame of type %u on a session", f.type);
			FZ_CHECK(f.body_len >= sizeof(struct lwt_record_hdr) + 1 + LWT_TAG_LEN,
				 "a %zu-byte record", f.body_len);
			memcpy(&ctr, f.body + 4, 8);
			ctr = be64toh(ctr);
			uint32_t sid;

			memcpy(&sid, f.body, 4);
			FZ_CHECK(ntohl(sid) == SESSION, "record of another session");
			ep = (uint16_t)(ctr >> LWT_EPOCH_SHIFT);
			struct ep *E = epoch(ep);

			FZ_CHECK(E, "the slot sends under more than %d epochs", EPOCHS);
			FZ_CHECK((ctr & LWT_SEQ_MASK) + 1 > E->rx_top, "counter %llx sent again or going "
				 "back", (unsigned long long)ctr);
			E->rx_top = (ctr & LWT_SEQ_MASK) + 1;
			blen = f.body_len - sizeof(struct lwt_record_hdr) - LWT_TAG_LEN;
			bad = f.type == LWT_FT_AUTHED ?
			      lwt_aead_gmac_open(E->rx, ctr, f.frame, REC_HDR, body, blen, body + blen) :
			      lwt_aead_open(E->rx, ctr, f.frame, REC_HDR, body, blen);
			FZ_CHECK(!bad, "a record the slot sent (epoch %u) does not open", ep);
			FZ_CHECK(f.type == LWT_FT_SEALED || body[0] == LWT_MSG_IP || body[0] == LWT_MSG_FEC,
				 "message %u sent AUTHED, not SEALED", body[0]);
			if (body[0] == LWT_MSG_KEEPALIVE) {
				FZ_CHECK(blen == 1 + sizeof(struct lwt_keepalive), "keepalive of %zu", blen);
				P.ka_replies += body[1 + offsetof(struct lwt_keepalive, is_reply)] != 0;
			} else if (body[0] == LWT_MSG_FEC_REPORT) {
				FZ_CHECK(blen == 1 + sizeof(struct lwt_fec_report), "report of %zu", blen);
				uint32_t ppm;

				memcpy(&ppm, body + 1, 4);
				FZ_CHECK(ntohl(ppm) <= 1000000, "loss over 100%%");
			} else if (P.tun_expect && ((body[0] == LWT_MSG_IP && blen - 1 == P.tun_len &&
						     !memcmp(body + 1, P.tun_pkt, P.tun_len)) ||
						    (body[0] == LWT_MSG_FEC &&
						     blen - 1 == sizeof(struct lwt_fec_hdr) + P.tun_len &&
						     !memcmp(body + 1 + sizeof(struct lwt_fec_hdr), P.tun_pkt,
							     P.tun_len)))) {
				P.sent_tun++;
				P.tun_expect = false;
			}
		}
		FZ_CHECK(r == 0, "the slot sent a malformed payload");
		if (v == LWT_FTCP_OK && g.payload_len)
			lwt_ftcp_commit(&P.pc, &g);
	}
	TX.n = 0;
}

static void flush(void)
{
	dp_tx_flush(P.x);
	peer_read();
}

/* What the data plane posted to the control thread since the last look. */
static void read_events(bool segment_ok)
{
	struct lwt_msg m;

	while (lwt_msgq_pop(&P.d.to_ctl, &m)) {
		if (m.type == LWT_EVT_FRAME) {
			FZ_CHECK(++P.frames_posted <= (int)dp_hs_frames_max(&P.d),
				 "%d handshake frames of one flow reached the control thread",
				 P.frames_posted);
			continue;
		}
		if (m.type == LWT_EVT_MSG) {
			int j;

			for (j = 0; j < nR; j++)
				if (R[j].len == m.len && !memcmp(plain + R[j].off, m.data, m.len))
					break;
			FZ_CHECK(segment_ok && j < nR, "a %u-byte message of type %u reached the control "
				 "thread, not one the peer sealed", m.len, m.len ? m.data[0] : 0);
		}
		if (m.type == LWT_EVT_RESET && m.len == 5 && !memcmp(m.data, "close", 5)) {
			int j;

			for (j = 0; j < nR && R[j].type != LWT_MSG_CLOSE; j++)
				;
			FZ_CHECK(segment_ok && j < nR, "the session closed without an authentic CLOSE");
			P.closed = true;
		}
	}
}

/* What reached the TUN since the last look: each a payload the peer sealed
 * in the segment (or FEC rebuilt after a parity shard). */
static int read_tun(void)
{
	static uint8_t b[LWT_DP_RXBUF];
	ssize_t n;
	int got = 0;

	while ((n = recv(P.tun[1], b, sizeof(b), MSG_DONTWAIT)) >= 0) {
		int j;

		got++;
		for (j = 0; j < nR; j++) {
			const uint8_t *q = plain + R[j].off + 1;
			size_t ql = R[j].len - 1;

			if (R[j].type == LWT_MSG_FEC && ql > sizeof(struct lwt_fec_hdr)) {
				q += sizeof(struct lwt_fec_hdr);
				ql -= sizeof(struct lwt_fec_hdr);
			}
			if (ql == (size_t)n && !memcmp(q, b, n))
				break;
		}
		FZ_CHECK(j < nR || P.fec_parity, "%zd bytes reached the TUN that the peer never sealed",
			 n);
	}
	return got;
}

/* --- building what the peer sends --- */

static const uint8_t msg_types[16] = {
	LWT_MSG_IP, LWT_MSG_IP, LWT_MSG_IP, LWT_MSG_KEEPALIVE, LWT_MSG_CLOSE, LWT_MSG_FEC,
	LWT_MSG_FEC, LWT_MSG_FEC_REPORT, LWT_MSG_REKEY, LWT_MSG_REKEY_ACK, LWT_MSG_ROUTES,
	LWT_MSG_ROUTE_RESULT, LWT_MSG_ROUTE_UPDATE, LWT_MSG_PEERS, 0, 0x42,
};

static void add_record(struct fz *f, uint8_t op, bool authed)
{
	struct lwt_slot *s = P.s;
	uint8_t sel = fz_u8(f), type = msg_types[sel & 15], how = fz_u8(f), *fr, *body;
	uint16_t want = fz_u16(f) % 1600;
	const uint8_t *src;
	size_t blen = 1 + fz_take(f, want, &src), flen = REC_HDR + blen + LWT_TAG_LEN;
	uint16_t ep;
	uint64_t seq, ctr;
	bool fresh = false, corrupt = false, wrong_sid = false;
	struct ep *E;
	uint32_t sid;

	if (sel >= 0xf0)
		type = fz_u8(f);	/* any type at all */
	if (P.plen + flen > PEND_MAX || nR == 512)
		return;
	/* The epoch: the slot's, the one before, the one it holds next, any. */
	switch (how & 3) {
	case 0: ep = s->rx_epoch; break;
	case 1: ep = s->rx_epoch - 1; break;
	case 2: ep = s->rx_next ? s->next_epoch : s->rx_epoch; break;
	default: ep = (uint16_t)fz_u16(f); break;
	}
	E = epochs_used() < 40 || (how & 3) != 3 ? epoch(ep) : NULL;
	if (!E)
		return;
	/* The counter: fresh, the last one again, far ahead, older. */
	switch (how >> 2 & 3) {
	case 0:
		seq = E->sealed_top;
		fresh = true;
		break;
	case 1:
		seq = E->sealed_top ? E->sealed_top - 1 : 0;
		break;
	case 2:
		seq = E->sealed_top + fz_u32(f);
		fresh = true;
		break;
	default:
		seq = fz_u64(f) & LWT_SEQ_MASK;
		break;
	}
	if (seq > LWT_SEQ_MASK)
		return;
	if (seq + 1 > E->sealed_top)
		E->sealed_top = seq + 1;
	else
		fresh = false;
	corrupt = (how & 0x30) == 0x30;
	wrong_sid = (how & 0xc0) == 0xc0;
	ctr = (uint64_t)ep << LWT_EPOCH_SHIFT | seq;
	fr = P.pend + P.plen;
	lwt_frame_put_hdr(fr, authed ? LWT_FT_AUTHED : LWT_FT_SEALED, flen - sizeof(struct lwt_frame_hdr));
	sid = htonl(wrong_sid ? SESSION ^ (1u << (op & 31)) : SESSION);
	memcpy(fr + 4, &sid, 4);
	ctr = htobe64(ctr);
	memcpy(fr + 8, &ctr, 8);
	ctr = be64toh(ctr);
	body = fr + REC_HDR;
	body[0] = type;
	memcpy(body + 1, src, blen - 1);
	/* A well-formed IPv4 packet for the TUN when the input's first byte
	 * of it says so (the server takes it only from the peer's address). */
	if (type == LWT_MSG_IP && blen >= 21 && (body[1] & 0xf0) == 0x40) {
		body[1] = 0x45;
		body[3] = (uint8_t)((blen - 1) >> 8);	/* its total length */
		body[4] = (uint8_t)(blen - 1);
		if (P.server) {
			uint32_t t = TUN_PEER;

			memcpy(body + 13, &t, 4);
		}
	}
	memcpy(plain + P.plen, fr, REC_HDR + blen);
	if (authed)
		lwt_aead_gmac_seal(E->tx, ctr, fr, REC_HDR, body, blen, body + blen);
	else
		lwt_aead_seal(E->tx, ctr, fr, REC_HDR, body, blen);
	if (corrupt)
		fr[REC_HDR + (op % (blen + LWT_TAG_LEN))] ^= 1 << (how & 7);
	P.plen += flen;
	TRACE("record %s type %u, %zu bytes, epoch %u seq %llu%s%s%s\n", authed ? "AUTHED" : "SEALED",
	      type, blen, ep, (unsigned long long)seq, fresh ? " fresh" : "", corrupt ? " corrupt" : "",
	      wrong_sid ? " wrong-session" : "");

	/* Authentic: a record the slot may take (if it holds keys of its
	 * epoch when the segment comes). */
	if (corrupt || wrong_sid || (authed && !s->auth_only) ||
	    (authed && type != LWT_MSG_IP && type != LWT_MSG_FEC))
		return;	/* never taken */
	body = plain + (body - P.pend);		/* the checks read the plaintext */
	R[nR] = (typeof(R[0])){ .off = (uint32_t)(body - plain), .len = (uint32_t)blen,
				.type = type, .epoch = ep, .seq = seq, .fresh = fresh,
				.ipok = type == LWT_MSG_IP && blen >= 21 && body[1] == 0x45 &&
					(size_t)(body[3] << 8 | body[4]) <= blen - 1 };
	P.authentic++;
	if (type == LWT_MSG_FEC && blen > 1 + 7 && (body[1 + 7] & LWT_FEC_F_PARITY))
		P.fec_parity++;
	nR++;
}

static void send_segment(struct fz *f, uint8_t op)
{
	static uint8_t seg[LWT_DP_RXBUF];
	struct lwt_slot *s = P.s;
	uint64_t rx0 = LWT_CTR_GET(&s->ctr, rx_packets), auth0 = LWT_CTR_GET(&s->ctr, drop_auth);
	int variant = op & 7, n, ka0 = P.ka_replies, tun, bound = 0;
	struct lwt_ftcp_conn pc = P.pc;
	bool ok = variant == 0 && !P.killed;

	memcpy(seg + SEG_HDR, P.pend, P.plen);
	/* Which authentic records must be taken: fresh ones under the keys
	 * the slot holds now (a switch to the next epoch by a record in the
	 * segment keeps the current keys as the previous ones). */
	{
		/* Only records the frame walk reaches (raw bytes before one may
		 * be malformed, or a frame that swallows it) can be taken. */
		struct lwt_frame fr;
		size_t off = 0;
		int j = 0;

		for (int k = 0; k < nR; k++)
			R[k].reached = false;
		while (lwt_frame_next(P.pend, P.plen, &off, &fr) == 1) {
			size_t at = (size_t)(fr.frame - P.pend) + REC_HDR;

			while (j < nR && R[j].off < at)
				j++;
			if (j < nR && R[j].off == at && fr.frame_len == REC_HDR + R[j].len + LWT_TAG_LEN)
				R[j].reached = true;
		}
	}
	for (int j = 0; j < nR; j++) {
		R[j].clean = R[j].reached && R[j].fresh &&
			     (R[j].epoch == s->rx_epoch || (s->rx_next && R[j].epoch == s->next_epoch));
		P.clean += R[j].clean;
		/* A counter the slot surely took already (here or before) must
		 * not be taken again. */
		struct ep *E = epoch(R[j].epoch);

		R[j].replay = false;
		for (unsigned int k = 0; E && R[j].reached && k < E->ntaken && k < 32; k++)
			R[j].replay |= E->taken[k] == R[j].seq;
		for (int k = 0; R[j].reached && k < j; k++)
			R[j].replay |= R[k].clean && R[k].epoch == R[j].epoch && R[k].seq == R[j].seq;
		bound += R[j].reached && !R[j].replay;
		if (R[j].type == LWT_MSG_KEEPALIVE && R[j].len == 1 + sizeof(struct lwt_keepalive) &&
		    !plain[R[j].off + 1 + offsetof(struct lwt_keepalive, is_reply)])
			P.ka_req_clean += R[j].clean;
	}
	switch (variant) {
	case 1: pc.snd_nxt -= 2u << 20; break;			/* older than late data */
	case 2: pc.snd_nxt += 64u << 20; break;			/* beyond the window */
	case 5: pc.rcv_nxt = s->tcp.snd_nxt + 1 + fz_u16(f); break;	/* acks the future */
	}
	n = lwt_ftcp_build_data(&pc, seg, sizeof(seg), P.plen);
	FZ_CHECK(n > 0, "couldn't build a %zu-byte segment", P.plen);
	switch (variant) {
	case 3: seg[LWT_IP_HDR_LEN + 13] |= LWT_TCP_RST; break;
	case 4: seg[LWT_IP_HDR_LEN + 13] |= LWT_TCP_FIN; break;
	case 6: seg[LWT_IP_HDR_LEN + 17] ^= 0x5a; break;	/* checksum */
	case 7: seg[LWT_IP_HDR_LEN + 13] |= LWT_TCP_SYN; break;
	}
	if (variant == 3 || variant == 4 || variant == 7) {
		/* flags changed: checksum again */
		uint16_t c;

		seg[LWT_IP_HDR_LEN + 16] = seg[LWT_IP_HDR_LEN + 17] = 0;
		c = lwt_tcp_csum(pc.laddr, pc.raddr, seg + LWT_IP_HDR_LEN, n - LWT_IP_HDR_LEN);
		memcpy(seg + LWT_IP_HDR_LEN + 16, &c, 2);
	}
	if (variant == 6 && n > 1500)
		ok = true;	/* merged segments are not checksummed: still taken */
	if (variant == 0 || variant == 6)
		P.pc.snd_nxt = pc.snd_nxt;	/* the peer sent it */
	P.pc.ip_id = pc.ip_id;
	TRACE("segment variant %d, %zu payload bytes, %d authentic records (%d must be taken)\n",
	      variant, P.plen, P.authentic, P.clean);
	P.x->now = lwt_now_ns();
	dp_segment_input(P.x, seg, n, false);
	flush();
	tun = read_tun();
	read_events(ok);
	{
		uint64_t rx = LWT_CTR_GET(&s->ctr, rx_packets) - rx0;

		TRACE("  taken %llu, %d to the TUN; slot drops: auth %llu malformed %llu replay %llu "
		      "stale %llu window %llu\n", (unsigned long long)rx, tun,
		      (unsigned long long)LWT_CTR_GET(&s->ctr, drop_auth),
		      (unsigned long long)LWT_CTR_GET(&s->ctr, drop_malformed),
		      (unsigned long long)LWT_CTR_GET(&s->ctr, drop_replay),
		      (unsigned long long)LWT_CTR_GET(&s->ctr, drop_stale_key),
		      (unsigned long long)LWT_CTR_GET(&s->ctr, drop_window));

		if (!ok || P.killed) {
			FZ_CHECK(rx == 0 && tun == 0, "a segment the flow must refuse (variant %d) "
				 "delivered %llu records, %d packets", variant, (unsigned long long)rx,
				 tun);
		} else {
			FZ_CHECK(rx <= (uint64_t)bound, "%llu records taken, only %d authentic and not "
				 "taken before (%d replays)", (unsigned long long)rx, bound, P.authentic - bound);
			FZ_CHECK(rx >= (uint64_t)P.clean, "%llu records taken of %d sealed right",
				 (unsigned long long)rx, P.clean);
			FZ_CHECK(P.ka_replies - ka0 >= P.ka_req_clean,
				 "%d keepalive requests, %d replies", P.ka_req_clean, P.ka_replies - ka0);
			if (!P.server && !P.fec_parity) {
				int want = 0;

				for (int j = 0; j < nR; j++)
					want += R[j].clean && R[j].ipok;
				FZ_CHECK(tun >= want, "%d good IPv4 packets sealed, %d reached the TUN",
					 want, tun);
			}
		}
		(void)auth0;
	}
	/* What the slot surely took, for the replays to come. */
	for (int j = 0; ok && !P.killed && j < nR; j++) {
		struct ep *E = R[j].clean ? epoch(R[j].epoch) : NULL;

		if (E)
			E->taken[E->ntaken++ % 32] = R[j].seq;
	}
	P.plen = 0;
	nR = 0;
	P.clean = P.authentic = P.ka_req_clean = 0;
}

static void raw_frames(struct fz *f)
{
	const uint8_t *src;
	size_t n = fz_take(f, fz_u8(f) * 4u, &src);

	if (P.plen + n > PEND_MAX)
		return;
	memcpy(P.pend + P.plen, src, n);
	memcpy(plain + P.plen, src, n);
	P.plen += n;
}

static void cmd(int type, uint64_t u64, void *ptr, const uint8_t *data, size_t len)
{
	struct lwt_msg m = { .type = type, .slot = 0, .gen = P.s->gen, .u64 = u64, .ptr = ptr };

	if (data && len <= sizeof(m.data)) {
		memcpy(m.data, data, len);
		m.len = (uint16_t)len;
	}
	dp_handle_cmd(P.x, &m);
	flush();
	read_events(false);
}

static void rekey(uint8_t op)
{
	struct lwt_rekey_keys *k = calloc(1, sizeof(*k));
	/* Always the next epoch, as the control thread orders it (the data
	 * plane keeps the previous keys for epoch - 1 only). */
	uint16_t e = (uint16_t)(P.s->tx_epoch + 1);

	if (epochs_used() >= 56) {
		free(k);
		return;
	}
	k->epoch = e;
	k->now = P.server;
	/* the slot's tx is toward the peer */
	k->tx = key(e, !dir_to_slot());
	k->rx = key(e, dir_to_slot());
	TRACE("rekey to epoch %u (%s)\n", e, k->now ? "now" : "held");
	cmd(LWT_CMD_REKEY, 0, k, NULL, 0);
}

static void tun_packet(struct fz *f)
{
	const uint8_t *src;
	uint16_t want = 20 + fz_u16(f) % 1500;
	size_t n = fz_take(f, want, &src), rec;
	uint32_t dst = TUN_PEER;
	int before = P.sent_tun;
	bool expect;

	if (n < 20)
		return;
	memcpy(P.tun_pkt, src, n);
	P.tun_pkt[0] = 0x45;
	memcpy(P.tun_pkt + 16, &dst, 4);
	P.tun_len = n;
	/* The record it goes in: IP, or a FEC data shard (10 more bytes). */
	rec = REC_HDR + 1 + (P.s->fenc ? sizeof(struct lwt_fec_hdr) : 0) + n + LWT_TAG_LEN;
	expect = !P.killed && lwt_ftcp_window_ok(&P.s->tcp, rec);
	P.tun_expect = expect;
	dp_tun_input(P.x, P.tun_pkt, n);
	flush();
	FZ_CHECK(P.sent_tun == before + expect, "a %zu-byte packet from the TUN %s", n,
		 expect ? "did not reach the peer as it was" : "was sent on a dead session");
	P.tun_expect = false;
}

/* The fake-TCP handshake, for real, then the session. */
static void setup(uint8_t hdr, uint8_t fec)
{
	struct lwt_daemon *d = &P.d;
	struct lwt_install *in;
	struct lwt_tcp_seg g;
	static uint8_t b[SEG_MAX];
	int n;

	P.server = hdr & 1;
	lwt_config_defaults(&d->cfg);
	d->cfg.mode = P.server ? LWT_MODE_SERVER : LWT_MODE_CLIENT;
	d->cfg.tun_ip = P.server ? TUN_SELF : TUN_PEER;
	d->cfg.send_queue_size = 8;
	d->cfg.fec_adaptive = hdr & 0x10;
	d->npollers = 1;
	d->nslots = 1;
	FZ_CHECK(!lwt_slotidx_init(&d->flow_idx, 1) && !lwt_slotidx_init(&d->tun_idx, 1), "slotidx");
	d->dp = &fdp;
	d->local_ip = SELF_IP;
	d->local_port = htons(9000);
	d->mss = d->mss6 = 1400;
	d->tun_mtu = FZ_MTU;
	lwt_bufs_init(&d->bufs, FZ_MTU);
	d->tun_fds[0] = P.tun[0];
	P.x = poller_new(d, 0);
	FZ_CHECK(P.x, "poller_new");
	P.s = &d->slots[0];
	if (P.server) {
		lwt_ftcp_init(&P.pc, PEER_IP, htons(40000), SELF_IP, htons(9000));
		n = lwt_ftcp_build_syn(&P.pc, b, sizeof(b), 1400);
		P.x->now = lwt_now_ns();
		dp_segment_input(P.x, b, n, false);
		dp_tx_flush(P.x);
		FZ_CHECK(TX.n == 1 && lwt_tcp_parse(TX.buf[0], TX.len[0], true, &g) == 0 &&
			 lwt_ftcp_input(&P.pc, &g) == LWT_FTCP_SEND_ACK, "no SYN-ACK for the SYN");
		TX.n = 0;
		n = lwt_ftcp_build_ack(&P.pc, b, sizeof(b));
		P.x->now = lwt_now_ns();
		dp_segment_input(P.x, b, n, false);
	} else {
		d->cfg.remote.sin_addr.s_addr = PEER_IP;
		d->cfg.remote.sin_port = htons(9000);
		struct lwt_msg m = { .type = LWT_CMD_CONNECT, .slot = 0, .u64 = htons(40000) };

		dp_handle_cmd(P.x, &m);
		lwt_ftcp_init(&P.pc, PEER_IP, htons(9000), SELF_IP, htons(40000));
		P.pc.state = LWT_FTCP_SYN_RCVD;
	}
	dp_tx_flush(P.x);
	if (!P.server) {
		FZ_CHECK(TX.n == 1 && lwt_tcp_parse(TX.buf[0], TX.len[0], true, &g) == 0 &&
			 lwt_ftcp_accept_syn(&P.pc, &g) == 0, "no SYN from the client");
		TX.n = 0;
		n = lwt_ftcp_build_synack(&P.pc, b, sizeof(b), 1400);
		P.x->now = lwt_now_ns();
		dp_segment_input(P.x, b, n, false);
		dp_tx_flush(P.x);
		FZ_CHECK(TX.n == 1 && lwt_tcp_parse(TX.buf[0], TX.len[0], true, &g) == 0 &&
			 lwt_ftcp_input(&P.pc, &g) == LWT_FTCP_OK, "no ACK for the SYN-ACK");
		TX.n = 0;
	}
	FZ_CHECK(P.s->tcp.state == LWT_FTCP_ESTABLISHED && P.pc.state == LWT_FTCP_ESTABLISHED,
		 "fake-TCP handshake did not complete (%d/%d)", P.s->tcp.state, P.pc.state);
	in = calloc(1, sizeof(*in));
	in->tx = key(0, !dir_to_slot());
	in->rx = key(0, dir_to_slot());
	in->session_id = SESSION;
	in->peer_tun_ip = P.server ? TUN_PEER : 0;
	in->auth_only = hdr & 2;
	if (hdr & 4)
		in->fdec = lwt_fec_dec_create(1 + fec % 10, 1 + (fec >> 4) % 4, FZ_MTU, 1000000000ull);
	if (hdr & 8)
		in->fenc = lwt_fec_enc_create(1 + fec % 10, (fec >> 4) % 4, 3, FZ_MTU, 500);
	cmd(LWT_CMD_INSTALL, 0, in, NULL, 0);
	FZ_CHECK(atomic_load(&P.s->state) == LWT_SLOT_SESSION, "install did not make a session");
	read_events(false);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	trace = getenv("FUZZ_TRACE");
	FZ_CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, P.tun) == 0, "socketpair");
	{
		int sz = 4 << 20;

		setsockopt(P.tun[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(P.tun[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	FZ_CHECK(lwt_msgq_init(&P.d.to_ctl, 256) == 0, "msgq");
	return 0;
}

static void teardown(void)
{
	struct lwt_msg m;

	if (P.x) {
		dp_slot_free(P.x, P.s);
		poller_free(P.x);
	}
	lwt_slotidx_destroy(&P.d.flow_idx);
	lwt_slotidx_destroy(&P.d.tun_idx);
	free(P.d.slots);
	P.d.slots = NULL;
	P.x = NULL;
	while (lwt_msgq_pop(&P.d.to_ctl, &m))
		;
	while (read_tun() > 0)
		;
	for (int i = 0; i < EPOCHS; i++) {
		lwt_aead_destroy(P.ep[i].tx);
		lwt_aead_destroy(P.ep[i].rx);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t hdr = fz_u8(&f), fec = fz_u8(&f);
	struct lwt_msgq q = P.d.to_ctl;
	int tun0 = P.tun[0], tun1 = P.tun[1];

	rng = fz_u32(&f) | 1;
	memset(&P, 0, sizeof(P));
	P.tun[0] = tun0;
	P.tun[1] = tun1;
	P.d.to_ctl = q;
	P.d.slots = calloc(1, sizeof(struct lwt_slot));
	TX.n = 0;
	nR = 0;
	setup(hdr, fec);
	while (f.n) {
		uint8_t op = fz_u8(&f);

		if (op < 0x50)
			add_record(&f, op, false);
		else if (op < 0x70)
			add_record(&f, op, true);
		else if (op < 0x80)
			raw_frames(&f);
		else if (op < 0xa0)
			send_segment(&f, op);
		else if (op < 0xa8)
			cmd(LWT_CMD_KEEPALIVE, 0, NULL, NULL, 0);
		else if (op < 0xb0) {
			const uint8_t *src;
			size_t n = fz_take(&f, fz_u8(&f), &src);

			cmd(LWT_CMD_SEND_MSG, msg_types[op & 15], NULL, src, n);
		} else if (op < 0xb8)
			rekey(op);
		else if (op < 0xe0)
			tun_packet(&f);
		else if (op < 0xf0) {
			dp_fec_timers(P.x);
			flush();
			read_events(false);
		} else if (op == 0xff && !P.killed) {
			cmd(LWT_CMD_KILL, 0, NULL, NULL, 0);
			P.killed = true;
		}
	}
	teardown();
	return 0;
}
