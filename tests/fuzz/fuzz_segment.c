// SPDX-License-Identifier: MIT
/* libFuzzer target: the IPv4/TCP and IPv6/TCP segment parser (lwt_tcp_parse) and the
 * fake-TCP state machine behind it (lwt_ftcp_input, lwt_ftcp_accept_syn).
 * Input: one byte choosing the flow's state and window, then the packet.
 * Invariants:
 *  - a parse that succeeds describes bytes inside the input: payload
 *    within it, doff and payload_len adding up to the IP total length
 *    (IPv6: 40 + payload length);
 *  - checking checksums never accepts what the unchecked parse refuses,
 *    and both parse the same fields;
 *  - encode(decode(x)): the parsed header and payload, built again with
 *    lwt_ftcp_build_data, parse back (checksums verified) to the same
 *    addresses, ports, seq, ack and payload bytes;
 *  - the state machine changes state only as its verdict says; on an
 *    established flow, no segment moves rcv_nxt or ts_recent before it is
 *    committed (authenticated), no data segment moves snd_una or the
 *    window, no ACK pulls the window's right edge back; it accepts data
 *    only inside [rcv_nxt - LWT_FTCP_LATE_BYTES, rcv_nxt + rcv_wnd) with an
 *    ACK inside [snd_una - max_snd_wnd, snd_nxt] (RFC 5961), resets only on
 *    an exact RST/FIN; a commit moves rcv_nxt forward to the segment's end
 *    only; snd_una never passes snd_nxt; a SYN it accepts gets a SYN-ACK
 *    acking it;
 *  - the AVX2 checksum equals the scalar one over the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "faketcp.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	return 0;
}

static void check_parse(const uint8_t *pkt, size_t len, const struct lwt_tcp_seg *g)
{
	bool v6 = pkt[0] >> 4 == 6;
	size_t ihl = v6 ? 40 : (pkt[0] & 15) * 4u;
	size_t tot = v6 ? (size_t)(pkt[4] << 8 | pkt[5]) : (size_t)(pkt[2] << 8 | pkt[3]);

	FZ_CHECK(g->v6 == v6, "parsed as IPv%d, version nibble %u", g->v6 ? 6 : 4, pkt[0] >> 4);
	if (!tot)
		tot = len;
	else if (v6)
		tot += 40;
	FZ_CHECK(g->payload >= pkt && g->payload + g->payload_len <= pkt + len,
		 "payload %p+%zu outside the input %p+%zu", (void *)g->payload, g->payload_len,
		 (void *)pkt, len);
	FZ_CHECK(g->doff >= 20 && g->doff % 4 == 0, "doff %u", g->doff);
	FZ_CHECK(ihl + g->doff + g->payload_len == tot, "ihl %zu + doff %u + payload %zu != tot %zu",
		 ihl, g->doff, g->payload_len, tot);
	FZ_CHECK(g->payload == pkt + ihl + g->doff, "payload not right after the headers");
	FZ_CHECK(!g->has_ws || g->wscale <= 14, "wscale %u", g->wscale);
	FZ_CHECK(!(g->flags & 0xc0), "flags 0x%x beyond the six classic ones", g->flags);
}

/* Build the parsed segment again (as our own data segment) and parse it. */
static void round_trip(const struct lwt_tcp_seg *g)
{
	static uint8_t buf[65536];
	struct lwt_ftcp_conn c;
	struct lwt_tcp_seg h;
	int n;

	size_t nh;

	if (LWT_IP6_HDR_LEN + LWT_TCP_DATA_HDR_LEN + g->payload_len > sizeof(buf))
		return;
	lwt_ftcp_init_addr(&c, &g->sa, g->sport, &g->da, g->dport);
	FZ_CHECK(c.v6 == g->v6, "a flow from an IPv%d segment is IPv%d", g->v6 ? 6 : 4, c.v6 ? 6 : 4);
	nh = lwt_ftcp_nhlen(&c);
	c.snd_nxt = g->seq;
	c.rcv_nxt = g->ack;
	memcpy(buf + nh + LWT_TCP_DATA_HDR_LEN, g->payload, g->payload_len);
	n = lwt_ftcp_build_data(&c, buf, sizeof(buf), g->payload_len);
	if (n < 0) {
		FZ_CHECK(nh + LWT_TCP_DATA_HDR_LEN + g->payload_len > 65535,
			 "build_data refused %zu payload bytes", g->payload_len);
		return;
	}
	FZ_CHECK(lwt_tcp_parse(buf, n, true, &h) == 0, "our own segment (%d bytes) does not parse", n);
	FZ_CHECK(h.saddr == g->saddr && h.daddr == g->daddr && h.sport == g->sport &&
		 h.dport == g->dport && !memcmp(&h.sa, &g->sa, sizeof(h.sa)) &&
		 !memcmp(&h.da, &g->da, sizeof(h.da)) && h.v6 == g->v6, "addresses or ports changed");
	FZ_CHECK(h.seq == g->seq && h.ack == g->ack, "seq/ack %u/%u became %u/%u", g->seq, g->ack,
		 h.seq, h.ack);
	FZ_CHECK(h.flags == (LWT_TCP_ACK | LWT_TCP_PSH) && h.has_ts && h.doff == LWT_TCP_DATA_HDR_LEN,
		 "data segment header: flags 0x%x doff %u", h.flags, h.doff);
	FZ_CHECK(h.payload_len == g->payload_len && !memcmp(h.payload, g->payload, g->payload_len),
		 "payload changed in the round trip");
	FZ_CHECK(c.snd_nxt == g->seq + (uint32_t)g->payload_len, "snd_nxt not advanced by the payload");
}

/* Feed g to c; authed: a record in it authenticated (the caller then
 * commits an accepted data segment). */
static void check_input(struct lwt_ftcp_conn *c, const struct lwt_tcp_seg *g, bool authed)
{
	struct lwt_ftcp_conn before = *c;
	enum lwt_ftcp_verdict v = lwt_ftcp_input(c, g);
	uint32_t end = g->seq + (uint32_t)g->payload_len;

	FZ_CHECK(v >= LWT_FTCP_DROP && v <= LWT_FTCP_RESET, "verdict %d", v);
	/* A SYN that crosses ours (P2P simultaneous open) is the one
	 * SYN-ACK verdict that moves the flow: SYN_SENT -> SYN_RCVD, learning
	 * the peer's ISN, our own untouched. */
	bool crossed = before.state == LWT_FTCP_SYN_SENT && v == LWT_FTCP_SEND_SYNACK;

	if (v == LWT_FTCP_DROP || v == LWT_FTCP_RESET || v == LWT_FTCP_CHALLENGE_ACK ||
	    (v == LWT_FTCP_SEND_SYNACK && !crossed))
		FZ_CHECK(c->state == before.state && c->rcv_nxt == before.rcv_nxt,
			 "verdict %d changed state %d->%d or rcv_nxt", v, before.state, c->state);
	if (crossed)
		FZ_CHECK(c->state == LWT_FTCP_SYN_RCVD && (g->flags & LWT_TCP_SYN) &&
			 !(g->flags & LWT_TCP_ACK) && c->irs == g->seq && c->rcv_nxt == g->seq + 1 &&
			 c->iss == before.iss && c->snd_nxt == before.snd_nxt &&
			 c->snd_una == before.snd_una,
			 "a crossing SYN moved the flow wrongly: state %d irs %u rcv_nxt %u", c->state,
			 c->irs, c->rcv_nxt);
	if (c->state != before.state) {
		FZ_CHECK((c->state == LWT_FTCP_ESTABLISHED &&
			  ((before.state == LWT_FTCP_SYN_SENT && v == LWT_FTCP_SEND_ACK) ||
			   (before.state == LWT_FTCP_SYN_RCVD &&
			    (v == LWT_FTCP_OK || v == LWT_FTCP_SEND_ACK)))) || crossed,
			 "state %d -> %d on verdict %d", before.state, c->state, v);
	}
	/* The peer's SYN-ACK completing a simultaneous open acks exactly our
	 * SYN and repeats exactly its own. */
	if (before.state == LWT_FTCP_SYN_RCVD && v == LWT_FTCP_SEND_ACK)
		FZ_CHECK(g->seq == before.irs && g->ack == before.iss + 1,
			 "SYN_RCVD took a SYN-ACK %u/%u for ISNs %u/%u", g->seq, g->ack, before.irs,
			 before.iss);
	if (before.state != LWT_FTCP_ESTABLISHED)
		return;
	/* Unauthenticated, a segment moves no receive state, and the peer's
	 * window's right edge never back. */
	FZ_CHECK(c->rcv_nxt == before.rcv_nxt && c->ts_recent == before.ts_recent,
		 "an unauthenticated segment moved rcv_nxt %u -> %u or ts_recent", before.rcv_nxt,
		 c->rcv_nxt);
	FZ_CHECK(!g->payload_len || (c->snd_una == before.snd_una && c->snd_wnd == before.snd_wnd),
		 "an unauthenticated data segment moved snd_una or the window");
	FZ_CHECK(lwt_seq_ge(c->snd_una + c->snd_wnd, before.snd_una + before.snd_wnd),
		 "an unauthenticated ACK pulled the window's right edge back (%u -> %u)",
		 before.snd_una + before.snd_wnd, c->snd_una + c->snd_wnd);
	if (v == LWT_FTCP_OK) {
		FZ_CHECK(!(g->flags & (LWT_TCP_RST | LWT_TCP_SYN | LWT_TCP_FIN)) &&
			 (g->flags & LWT_TCP_ACK), "flags 0x%x accepted as data", g->flags);
		FZ_CHECK(lwt_seq_ge(g->seq, before.rcv_nxt - LWT_FTCP_LATE_BYTES) &&
			 lwt_seq_lt(g->seq, before.rcv_nxt + before.rcv_wnd),
			 "seq %u accepted outside [rcv_nxt %u - late, + window %u)", g->seq,
			 before.rcv_nxt, before.rcv_wnd);
		FZ_CHECK(lwt_seq_le(g->ack, before.snd_nxt) &&
			 lwt_seq_ge(g->ack, before.snd_una - before.max_snd_wnd),
			 "ack %u accepted outside [snd_una %u - max window %u, snd_nxt %u]", g->ack,
			 before.snd_una, before.max_snd_wnd, before.snd_nxt);
		if (authed && g->payload_len) {
			lwt_ftcp_commit(c, g);
			FZ_CHECK(c->rcv_nxt == before.rcv_nxt || c->rcv_nxt == end,
				 "rcv_nxt %u is neither the old %u nor the segment's end %u", c->rcv_nxt,
				 before.rcv_nxt, end);
			FZ_CHECK(lwt_seq_ge(c->rcv_nxt, before.rcv_nxt) &&
				 c->rcv_nxt - before.rcv_nxt <= before.rcv_wnd + (uint32_t)g->payload_len,
				 "rcv_nxt moved %u -> %u", before.rcv_nxt, c->rcv_nxt);
		}
	}
	FZ_CHECK(lwt_seq_le(c->snd_una, c->snd_nxt) && lwt_seq_ge(c->snd_una, before.snd_una),
		 "snd_una %u (was %u) vs snd_nxt %u", c->snd_una, before.snd_una, c->snd_nxt);
	if (v == LWT_FTCP_RESET)
		FZ_CHECK((g->flags & (LWT_TCP_RST | LWT_TCP_FIN)) &&
			 (g->seq == before.rcv_nxt || end == before.rcv_nxt),
			 "reset by flags 0x%x at seq %u, rcv_nxt %u", g->flags, g->seq, before.rcv_nxt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[70000];
	struct lwt_tcp_seg g, gv;
	struct lwt_ftcp_conn c;
	uint8_t mode;
	int r, rv;

	if (size < 1 || size - 1 > sizeof(pkt))
		return -1;
	mode = data[0];
	size--;
	/* A copy of exactly the packet's size: reads past it are caught. */
	uint8_t *p = malloc(size ? size : 1);

	memcpy(p, data + 1, size);
	FZ_CHECK(lwt_csum64(0, p, size) == lwt_csum64_scalar(0, p, size),
		 "the AVX2 and the scalar checksum of %zu bytes differ", size);
	r = lwt_tcp_parse(p, size, false, &g);
	rv = lwt_tcp_parse(p, size, true, &gv);
	if (rv == 0)
		FZ_CHECK(r == 0 && !memcmp(&g, &gv, sizeof(g)),
			 "checksummed parse accepted what the plain one refused (%d) or read it "
			 "differently", r);
	if (r) {
		FZ_CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT, "parse returned %d", r);
		free(p);
		return 0;
	}
	check_parse(p, size, &g);
	round_trip(&g);

	/* The flow this segment belongs to, in the state mode picks. */
	lwt_ftcp_init_addr(&c, &g.da, g.dport, &g.sa, g.sport);
	switch (mode & 3) {
	case 0:	/* server: a SYN opens the flow */
		if (lwt_ftcp_accept_syn(&c, &g) == 0) {
			struct lwt_tcp_seg sa;
			int n = lwt_ftcp_build_synack(&c, pkt, sizeof(pkt), 1400);

			FZ_CHECK(g.flags & LWT_TCP_SYN, "accept_syn took flags 0x%x", g.flags);
			FZ_CHECK(n > 0 && lwt_tcp_parse(pkt, n, true, &sa) == 0 &&
				 sa.ack == g.seq + 1 && sa.flags == (LWT_TCP_SYN | LWT_TCP_ACK) &&
				 sa.has_mss && sa.mss == 1400, "SYN-ACK for an accepted SYN is wrong");
			check_input(&c, &g, false);	/* the same SYN again */
		}
		break;
	case 1:	/* client after its SYN */
		lwt_ftcp_build_syn(&c, pkt, sizeof(pkt), 1400);
		if (mode & 4)
			c.iss = g.ack - 1;	/* so that the segment acks our SYN */
		check_input(&c, &g, false);
		break;
	case 2:	/* server after its SYN-ACK */
		c.state = LWT_FTCP_SYN_RCVD;
		c.irs = g.seq - ((mode & 4) ? 0 : 1);
		c.rcv_nxt = (mode & 8) ? g.seq : g.seq - 7;
		c.iss = g.ack - ((mode & 16) ? 1 : 0);
		check_input(&c, &g, false);
		break;
	case 3:	/* established, the segment somewhere around the window */
		c.state = LWT_FTCP_ESTABLISHED;
		c.rcv_wnd = (mode & 4) ? LWT_FTCP_WINDOW : 65535;
		c.rcv_nxt = g.seq - (uint32_t)((int8_t)(mode & 0xf0) * 4096);
		c.snd_nxt = g.ack + ((mode & 8) ? 0 : 100);
		c.snd_una = c.snd_nxt - 1000;
		c.snd_wscale = 7;
		c.max_snd_wnd = c.snd_wnd = 1000u << (mode >> 6);
		check_input(&c, &g, mode & 16);
		check_input(&c, &g, mode & 16);	/* and once more: a duplicate */
		break;
	}
	free(p);
	return 0;
}
