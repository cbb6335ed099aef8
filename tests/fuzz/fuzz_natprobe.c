// SPDX-License-Identifier: MIT
/* libFuzzer target: the hub's NAT probe answerer (natprobe.c, compiled into
 * this file) as the control thread runs it, with real UDP sockets on
 * loopback in a network namespace of the process's own: probe ports on
 * 127.0.0.1 and, as nat_probe_addr, 127.0.0.2; every datagram comes "from"
 * 127.0.0.3:50000, where a socket reads the answers back.
 *
 * Input: a script of datagrams (raw bytes, or requests the harness builds
 * and MACs with a session's real key from fuzzed fields), sessions that end
 * or change keys, and time passing.
 *
 * Invariants, after every step:
 *  - every answer is 72 bytes, an ANSWER that verifies under the key of
 *    the session it names, for a seq the harness sent under that key,
 *    carries the address it came from (127.0.0.3:50000), and left from the
 *    address and port its flags say;
 *  - no more answers than requests with a valid MAC and a new seq (a
 *    replay gets none), and none to a raw datagram the harness did not
 *    MAC (the fuzzer cannot forge one);
 *  - per session no more answers than its budget allows;
 *  - every datagram taken is counted exactly once: rx = answered +
 *    malformed + unauthenticated + replayed + rate-limited + no-other-addr
 *    + tx errors. */
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>

#include "natprobe.c"
#include "netlink.h"
#include "fuzz.h"

#define NS 4
#define PORT 40000

static struct lwt_daemon D;
static struct lwt_nat nat;
static struct lwt_natprobe *P;
static int rxfd;
static struct sockaddr_in from;

static struct {
	uint32_t sid;
	uint8_t key[32];
	uint64_t sent_seq[256];		/* seqs sent under this key, this input */
	int nsent;
	unsigned answers;
} S[NS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(50000) };
	int lo;

	fz_quiet();
	fz_private_netns("fuzz_natprobe");
	lo = lwt_nl_link_index("lo");
	FZ_CHECK(lo > 0 && lwt_nl_link_set_up(lo, true) == 0, "couldn't bring lo up");
	D.cfg.mode = LWT_MODE_SERVER;
	D.cfg.local.sin_addr.s_addr = inet_addr("127.0.0.1");
	D.cfg.local.sin_port = htons(9000);
	D.cfg.nat_probe_port = PORT;
	D.cfg.nat_probe.sin_addr.s_addr = inet_addr("127.0.0.2");
	D.nslots = NS;
	D.slots = calloc(NS, sizeof(*D.slots));
	nat.epfd = epoll_create1(EPOLL_CLOEXEC);
	FZ_CHECK(D.slots && nat.epfd >= 0, "setup");
	D.nat = &nat;
	FZ_CHECK(lwt_natprobe_create(&D, nat.epfd, &P) == 0, "couldn't open the probe sockets");
	nat.probe = P;
	sa.sin_addr.s_addr = inet_addr("127.0.0.3");
	from = sa;
	rxfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	FZ_CHECK(rxfd >= 0 && bind(rxfd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "receiver");
	return 0;
}

static void new_session(int i, uint32_t sid)
{
	struct lwt_session_keys k;

	memset(&k, 0, sizeof(k));
	memset(k.c2s_key, i + 1, 32);
	memcpy(k.s2c_key, &sid, sizeof(sid));
	D.slots[i].c.phase = LWT_PH_UP;
	D.slots[i].c.session_id = sid;
	lwt_natprobe_session(&D, i, sid, &k);
	FZ_CHECK(lwt_natmsg_key(&k, sid, S[i].key) == 0, "key");
	S[i].sid = sid;
	S[i].nsent = 0;
	S[i].answers = 0;
}

static int sess_of(uint32_t sid)
{
	for (int i = 0; i < NS; i++)
		if (S[i].sid == sid)
			return i;
	return -1;
}

/* Read back every answer and check it. */
static void drain(int fi, unsigned *answers)
{
	uint8_t buf[256];
	struct sockaddr_in src;
	struct lwt_natmsg_info in;
	socklen_t sl;
	ssize_t n;
	int i, k, side, port;

	for (;;) {
		sl = sizeof(src);
		n = recvfrom(rxfd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &sl);
		if (n < 0)
			break;
		(*answers)++;
		FZ_CHECK(n == LWT_NATMSG_LEN, "answer of %zd bytes", n);
		FZ_CHECK(lwt_natmsg_parse(buf, n, &in) == 0 && in.type == LWT_NATMSG_ANSWER,
			 "answer does not parse");
		i = sess_of(in.session_id);
		FZ_CHECK(i >= 0 && lwt_natmsg_verify(S[i].key, buf, n) == 0,
			 "answer for session %08x does not verify under its key", in.session_id);
		for (k = 0; k < S[i].nsent && S[i].sent_seq[k] != in.seq; k++)
			;
		FZ_CHECK(k < S[i].nsent, "answer for seq %llu never sent", (unsigned long long)in.seq);
		S[i].answers++;
		FZ_CHECK(in.mapped_addr == from.sin_addr.s_addr && in.mapped_port == 50000,
			 "wrong mapped address");
		side = (fi >> 1) ^ !!(in.flags & LWT_NAT_FROM_OTHER_ADDR);
		port = (fi & 1) ^ !!(in.flags & LWT_NAT_FROM_OTHER_PORT);
		FZ_CHECK(src.sin_addr.s_addr == inet_addr(side ? "127.0.0.2" : "127.0.0.1") &&
			 ntohs(src.sin_port) == PORT + port,
			 "answer to a probe of socket %d left from %s:%u with flags %02x", fi,
			 inet_ntoa(src.sin_addr), ntohs(src.sin_port), in.flags);
		FZ_CHECK(!(in.flags & LWT_NAT_CHANGE_ADDR) == !(in.flags & LWT_NAT_FROM_OTHER_ADDR) &&
			 !(in.flags & LWT_NAT_CHANGE_PORT) == !(in.flags & LWT_NAT_FROM_OTHER_PORT),
			 "answer flags %02x: not as asked", in.flags);
		FZ_CHECK(in.other_addr == inet_addr("127.0.0.2"), "other address");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint64_t now = 1000000, start = now;
	unsigned answers = 0, valid = 0;
	int i, steps = 0;

	for (i = 0; i < NS; i++)
		new_session(i, 0x1000 + i);
	memset(&P->sec, 0, sizeof(*P) - offsetof(struct lwt_natprobe, sec));
	while (f.n && steps++ < 256) {
		uint8_t op = fz_u8(&f), fi = op >> 4 & 3, buf[LWT_NATMSG_LEN + 64];
		size_t len;

		switch (op & 7) {
		case 0:	/* raw bytes */
			len = fz_u8(&f) % sizeof(buf);
			fz_copy(&f, buf, len);
			take(&D, P, fi, buf, len, &from, 0, now);
			break;
		case 1:
		case 2: {	/* a request the harness MACs; sometimes a byte changed after */
			int s = fz_u8(&f) % (NS + 1);
			struct lwt_natmsg_info in = { .type = LWT_NATMSG_REQUEST, .flags = fz_u8(&f),
						      .seq = fz_u8(&f) };
			uint8_t flip = (op & 7) == 2 ? fz_u8(&f) : 0;
			uint8_t key[32];

			in.session_id = s < NS ? S[s].sid : 0xdead;
			memcpy(key, s < NS ? S[s].key : (uint8_t[32]){ 1 }, 32);
			lwt_natmsg_build(key, &in, buf);
			if (flip)
				buf[flip % LWT_NATMSG_LEN] ^= fz_u8(&f) | 1;
			/* Valid: MAC'd with the key, and a seq not sent before
			 * under it. */
			if (s < NS && lwt_natmsg_verify(S[s].key, buf, LWT_NATMSG_LEN) == 0 &&
			    !lwt_natmsg_parse(buf, LWT_NATMSG_LEN, &in)) {
				for (i = 0; i < S[s].nsent && S[s].sent_seq[i] != in.seq; i++)
					;
				if (i == S[s].nsent && S[s].nsent < 256) {
					valid++;
					S[s].sent_seq[S[s].nsent++] = in.seq;
				}
			}
			take(&D, P, fi, buf, LWT_NATMSG_LEN, &from, 0, now);
			break;
		}
		case 3:	/* a session ends, or its slot is reused */
			i = fz_u8(&f) % NS;
			if (fz_u8(&f) & 1)
				D.slots[i].c.phase = LWT_PH_FREE;
			else
				atomic_fetch_add(&D.slots[i].gen, 1);
			break;
		case 4: {	/* new keys for a slot */
			uint32_t sid = fz_u32(&f) | 1;

			i = fz_u8(&f) % NS;
			while (sid == 0xdead || (sess_of(sid) >= 0 && sess_of(sid) != i))
				sid += 2;
			new_session(i, sid);
			break;
		}
		default:
			now += fz_u16(&f);
			break;
		}
		drain(fi, &answers);
		FZ_CHECK(answers <= valid, "%u answers to %u valid requests", answers, valid);
		FZ_CHECK(P->rx == P->answered + P->malformed + P->unauth + P->replayed + P->limited +
			 P->no_alt + P->tx_errors, "a datagram not counted once");
		for (i = 0; i < NS; i++)
			FZ_CHECK(S[i].answers <= LWT_NP_BURST + (now - start) / LWT_NP_EVERY_MS + 1,
				 "session %d: %u answers in %llu ms", i, S[i].answers,
				 (unsigned long long)(now - start));
	}
	return 0;
}
