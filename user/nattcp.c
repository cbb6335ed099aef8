// SPDX-License-Identifier: MIT
/* NAT detection over TCP, client side (docs/PROTOCOL.md "NAT type detection
 * over TCP"). Control thread only.
 *
 * A NAT may map TCP and UDP differently, and direct paths use fake TCP, so
 * the mapping test runs over TCP too: from local_ip:L, the hub session's
 * own local port, a SYN to the hub's probe port P1 (TT1), one to P2 (TT2)
 * and, when the hub has a second address, one to A2:P1 (TT3). Each SYN is
 * shaped like our others and carries a NAT probe request (natmsg.h, flag
 * LWT_NAT_OVER_TCP) as its payload; the hub sees the SYN's source as the
 * NAT mapped it and answers over the session (LWT_MSG_NAT_TCP), never on
 * the wire, so no unsolicited packet has to reach us: filtering over TCP is
 * not tested. The hub's kernel answers the SYN with a RST (nothing listens
 * there), which ends the NAT's entry. The same mapping for all three (or
 * our own address: no NAT) is endpoint-independent; another port for P2 is
 * address-and-port-dependent, another for A2 only, address-dependent.
 * It runs once the UDP tests are over: its SYNs to the hub's other port and
 * address would open a NAT that filters by destination whatever the
 * transport, and UDP's filtering test would find it open. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "faketcp.h"
#include "log.h"
#include "natdetect.h"
#include "natmsg.h"

#define RETRY_NS (250 * 1000000ull)
#define TRIES 6
#define SETTLE_NS (300 * 1000000ull)	/* after a probe's last try, at least */

enum { TT1, TT2, TT3, NPROBES };
enum { TS_IDLE, TS_PENDING, TS_RUN, TS_DONE, TS_FAILED };
static const char *const state_names[] = { "idle", "pending", "running", "done", "failed" };

struct tt_probe {
	bool want, got;
	uint8_t tries;
	uint32_t dst;			/* network order */
	uint16_t dport;			/* host order */
	uint64_t seq, last_ns, rtt_ns;
	uint32_t maddr;			/* answer: mapped, network order */
	uint16_t mport;
};

struct lwt_nattcp {
	int fd;				/* raw IPv4 socket during a run, else -1 */
	int state;
	uint8_t key[LWT_KEY_LEN];
	uint32_t sid;
	uint64_t seq;			/* shared with nothing: its own counter */
	uint32_t hub, alt, local_ip;
	uint16_t p1, p2, lport;
	struct tt_probe pr[NPROBES];
	const char *mapping;
	char pub[24], note[128], logged[256];
	bool symmetric;
	uint32_t runs, sent, answers, bad;
};

struct lwt_nattcp *lwt_nattcp_create(uint16_t p1)
{
	struct lwt_nattcp *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fd = -1;
	t->p1 = p1;
	t->p2 = p1 + 1;
	t->mapping = "";
	return t;
}

static void stop_run(struct lwt_nattcp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

void lwt_nattcp_destroy(struct lwt_nattcp *t)
{
	if (!t)
		return;
	stop_run(t);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

void lwt_nattcp_start(struct lwt_nattcp *t, const struct lwt_session_keys *keys,
		      uint32_t session_id)
{
	if (!t)
		return;
	stop_run(t);
	if (lwt_natmsg_key(keys, session_id, t->key)) {
		t->state = TS_IDLE;
		return;
	}
	t->sid = session_id;
	t->seq = 0;
	t->state = TS_PENDING;
}

/* A SYN from local_ip:L to the probe's destination with the request as its
 * payload. */
static void send_probe(struct lwt_nattcp *t, struct tt_probe *p, uint64_t now)
{
	struct lwt_natmsg_info in = { .type = LWT_NATMSG_REQUEST, .flags = LWT_NAT_OVER_TCP,
				      .session_id = t->sid, .seq = ++t->seq };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = p->dst };
	struct lwt_ftcp_conn c;
	uint8_t pkt[LWT_IP_HDR_LEN + LWT_TCP_SYN_HDR_LEN + LWT_NATMSG_LEN];
	int tot;

	lwt_ftcp_init(&c, t->local_ip, htons(t->lport), p->dst, htons(p->dport));
	if (lwt_natmsg_build(t->key, &in, pkt + LWT_IP_HDR_LEN + LWT_TCP_SYN_HDR_LEN))
		return;
	tot = lwt_ftcp_build_syn_data(&c, pkt, sizeof(pkt), 1460, LWT_NATMSG_LEN);
	if (tot <= 0)
		return;
	p->seq = t->seq;
	p->tries++;
	p->last_ns = now;
	t->sent++;
	if (sendto(t->fd, pkt, (size_t)tot, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0)
		lwt_dbg("NAT detection (TCP): probe to %s:%u: %s", inet_ntoa(to.sin_addr), p->dport,
			strerror(errno));
}

static void want(struct lwt_nattcp *t, int i, uint32_t dst, uint16_t port)
{
	t->pr[i] = (struct tt_probe){ .want = true, .dst = dst, .dport = port };
}

static void finish(struct lwt_nattcp *t, const char *fail)
{
	const struct tt_probe *p = t->pr;
	bool no_nat = p[TT1].got && p[TT1].maddr == t->local_ip && p[TT1].mport == t->lport;
	char a[INET_ADDRSTRLEN], line[256];

	stop_run(t);
	t->state = fail ? TS_FAILED : TS_DONE;
	t->symmetric = false;
	t->note[0] = 0;
	t->pub[0] = 0;
	if (fail) {
		t->mapping = "unknown";
		snprintf(t->note, sizeof(t->note), "%s", fail);
	} else {
		snprintf(t->pub, sizeof(t->pub), "%s:%u",
			 inet_ntop(AF_INET, &p[TT1].maddr, a, sizeof(a)), p[TT1].mport);
		if (p[TT2].got && (p[TT2].maddr != p[TT1].maddr || p[TT2].mport != p[TT1].mport)) {
			t->mapping = "address-and-port-dependent";
			t->symmetric = true;
		} else if (p[TT3].got &&
			   (p[TT3].maddr != p[TT1].maddr || p[TT3].mport != p[TT1].mport)) {
			t->mapping = "address-dependent";
			t->symmetric = true;
		} else if (!p[TT2].got) {
			t->mapping = "unknown";
			snprintf(t->note, sizeof(t->note), "the hub's other probe port did not answer");
		} else if (no_nat) {
			t->mapping = "none (no NAT)";
		} else if (!t->alt || !p[TT3].got) {
			t->mapping = "endpoint-independent or address-dependent";
			snprintf(t->note, sizeof(t->note), "%s", t->alt ?
				 "the hub's other address did not answer" :
				 "one hub address cannot tell them apart (set nat_probe_addr on the hub)");
		} else {
			t->mapping = "endpoint-independent";
		}
	}
	snprintf(line, sizeof(line), "NAT mapping (TCP, from %s:%u): %s%s%s%s%s",
		 inet_ntop(AF_INET, &t->local_ip, a, sizeof(a)), t->lport, t->mapping,
		 t->pub[0] ? ", public " : "", t->pub, t->note[0] ? "; " : "", t->note);
	/* Logged once: a reconnect that finds the same says nothing. */
	if (strcmp(strchr(line, ')'), t->logged)) {
		lwt_info("%s", line);
		snprintf(t->logged, sizeof(t->logged), "%s", strchr(line, ')'));
	}
}

/* An answer the hub sent over the session (LWT_MSG_NAT_TCP). */
void lwt_nattcp_answer(struct lwt_nattcp *t, const uint8_t *buf, size_t len)
{
	struct lwt_natmsg_info in;
	struct tt_probe *p = NULL;

	if (!t || t->state != TS_RUN)
		return;		/* late: an earlier run's, or after the verdict */
	if (lwt_natmsg_parse(buf, len, &in) || in.type != LWT_NATMSG_ANSWER ||
	    in.flags != LWT_NAT_OVER_TCP || in.session_id != t->sid ||
	    lwt_natmsg_verify(t->key, buf, len)) {
		t->bad++;
		return;
	}
	for (int i = 0; i < NPROBES; i++)
		if (t->pr[i].want && !t->pr[i].got && t->pr[i].seq == in.seq)
			p = &t->pr[i];
	if (!p)
		return;		/* an earlier try's, already answered: no news */
	t->answers++;
	p->got = true;
	p->rtt_ns = lwt_now_ns() - p->last_ns;
	p->maddr = in.mapped_addr;
	p->mport = in.mapped_port;
	if (p == &t->pr[TT1] && in.other_addr && !t->alt) {
		t->alt = in.other_addr;
		want(t, TT3, t->alt, t->p1);
	}
}

static int begin(struct lwt_daemon *d, struct lwt_nattcp *t, uint64_t now)
{
	t->hub = d->cfg.remote.sin_addr.s_addr;
	t->local_ip = d->local_ip;
	t->lport = ntohs(d->filter.lport);
	t->alt = 0;
	memset(t->pr, 0, sizeof(t->pr));
	t->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (t->fd < 0)
		return -errno;
	t->runs++;
	t->state = TS_RUN;
	want(t, TT1, t->hub, t->p1);
	want(t, TT2, t->hub, t->p2);
	send_probe(t, &t->pr[TT1], now);
	send_probe(t, &t->pr[TT2], now);
	return 0;
}

void lwt_nattcp_tick(struct lwt_daemon *d, struct lwt_nattcp *t, uint64_t now, bool udp_done)
{
	const struct lwt_slot *s = &d->slots[0];
	uint64_t settle = SETTLE_NS;
	bool done = true;
	char why[128];
	int r;

	if (!t || t->state == TS_IDLE || t->state == TS_DONE || t->state == TS_FAILED)
		return;
	if (s->c.phase != LWT_PH_UP || s->c.session_id != t->sid) {
		if (t->state != TS_PENDING || s->c.phase == LWT_PH_FREE) {
			stop_run(t);
			t->state = TS_IDLE;
		}
		return;
	}
	if (t->state == TS_PENDING) {
		if (!udp_done)
			return;
		r = begin(d, t, now);
		if (r) {
			snprintf(why, sizeof(why), "couldn't open a raw socket: %s", strerror(-r));
			finish(t, why);
		}
		return;
	}
	if (t->pr[TT1].got && 3 * t->pr[TT1].rtt_ns > settle)
		settle = 3 * t->pr[TT1].rtt_ns;
	for (int i = 0; i < NPROBES; i++) {
		struct tt_probe *p = &t->pr[i];

		if (!p->want || p->got || (p->tries >= TRIES && now - p->last_ns >= settle))
			continue;
		done = false;
		if (p->tries < TRIES && now - p->last_ns >= RETRY_NS)
			send_probe(t, p, now);
	}
	if (!done)
		return;
	if (!t->pr[TT1].got) {
		snprintf(why, sizeof(why), "no answer over TCP from the hub's probe port %s:%u "
			 "(SYNs blocked on the way, or a hub without it)",
			 inet_ntoa((struct in_addr){ t->hub }), t->p1);
		finish(t, why);
		return;
	}
	finish(t, NULL);
}

int lwt_nattcp_mapping(const struct lwt_nattcp *t)
{
	if (!t || t->state != TS_DONE || !strcmp(t->mapping, "unknown"))
		return 0;
	/* "endpoint-independent or address-dependent" (one hub address): as
	 * UDP's verdict takes it, a cone. */
	return t->symmetric ? 2 : 1;
}

void *lwt_nattcp_json(const struct lwt_nattcp *t)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !t)
		return o;
	cJSON_AddStringToObject(o, "state", state_names[t->state]);
	cJSON_AddStringToObject(o, "mapping", t->mapping);
	cJSON_AddStringToObject(o, "filtering", "not tested over TCP");
	cJSON_AddStringToObject(o, "public", t->pub);
	cJSON_AddStringToObject(o, "note", t->note);
	cJSON_AddNumberToObject(o, "runs", t->runs);
	cJSON_AddNumberToObject(o, "probes_sent", t->sent);
	cJSON_AddNumberToObject(o, "answers", t->answers);
	cJSON_AddNumberToObject(o, "answers_refused", t->bad);
	return o;
}
