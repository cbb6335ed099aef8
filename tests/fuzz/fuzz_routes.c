// SPDX-License-Identifier: MIT
/* libFuzzer target: route lists (LWT_MSG_ROUTES / ROUTE_RESULT /
 * ROUTE_UPDATE, lwt_routes_msg) and peer lists (LWT_MSG_PEERS,
 * lwt_peers_msg) as a server with several clients up, or a client, takes
 * them; routes go to the kernel for real, in a network namespace of the
 * process's own with lo standing for the TUN. What the daemon tells its
 * data plane (route tables, messages to clients) is read from its queue.
 *
 * Input: the side, the server's allowed_routes and own routes, then
 * messages (well-formed lists built from the input, or raw bytes) from a
 * client slot or from the server, clients leaving and coming back.
 *
 * Invariants, after every message:
 *  - server: the accepted routes have no host bits, lie inside an
 *    allowed_routes entry, are no default route unless one is named, never
 *    cover the server's tunnel address, belong to a client that is up, and
 *    no two clients' overlap; the kernel holds exactly these routes (lwt's
 *    protocol, on the TUN); the data plane's table is the same set, longest
 *    prefix first; every list sent is well formed (FIRST on the first, LAST
 *    on the last, at most 30 entries, statuses known) and a client is never
 *    sent its own routes;
 *  - client: every kernel route of lwt's is in the list the server sent
 *    last; the peers it knows hold no duplicate, and after a full list are
 *    exactly that list;
 *  - when the clients have left (server) or the server sent an empty list
 *    (client), the kernel holds no route of lwt's. */
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "netlink.h"
#include "fuzz.h"

#define SLOTS 4
#define RTPROT_LWT 0x4c
#define MAXK 2048

static struct lwt_daemon D;
static struct lwt_msgq q;
static const struct lwt_dp_ops no_ops = { .name = "none" };
static struct lwt_dp no_dp = { .ops = &no_ops, .xdp_mode = "none" };
static int lo;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	fz_private_netns("fuzz_routes");
	lo = lwt_nl_link_index("lo");
	FZ_CHECK(lo > 0 && lwt_nl_link_set_up(lo, true) == 0, "couldn't bring lo up");
	FZ_CHECK(lwt_msgq_init(&q, 512) == 0, "msgq");
	return 0;
}

static uint32_t mask_of(uint8_t p)
{
	return p ? htonl(~0u << (32 - p)) : 0;
}

static bool within(uint32_t an, uint8_t ap, uint32_t bn, uint8_t bp)
{
	return bp <= ap && (an & mask_of(bp)) == bn;
}

/* lwt's routes in the kernel's main table: net/prefix pairs. */
static int kernel_routes(struct lwt_cidr *out, int max)
{
	struct {
		struct nlmsghdr h;
		struct rtmsg r;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		  .r = { .rtm_family = AF_INET } };
	static char buf[32768];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), n = 0;
	bool done = false;

	FZ_CHECK(fd >= 0 && send(fd, &req, sizeof(req), 0) == sizeof(req), "route dump");
	while (!done) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		FZ_CHECK(len > 0, "route dump: recv");
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct rtmsg *r = NLMSG_DATA(h);
			struct rtattr *a;
			int alen = RTM_PAYLOAD(h);
			uint32_t dst = 0;
			int oif = 0;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (r->rtm_protocol != RTPROT_LWT || r->rtm_table != RT_TABLE_MAIN)
				continue;
			for (a = RTM_RTA(r); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				if (a->rta_type == RTA_DST)
					memcpy(&dst, RTA_DATA(a), 4);
				else if (a->rta_type == RTA_OIF)
					memcpy(&oif, RTA_DATA(a), 4);
			}
			FZ_CHECK(oif == lo, "an lwt route on interface %d, not the TUN", oif);
			if (n < max)
				out[n++] = (struct lwt_cidr){ .addr = dst, .prefix = r->rtm_dst_len };
		}
	}
	close(fd);
	return n;
}

static bool in_list(const struct lwt_cidr *l, int n, uint32_t net, uint8_t p)
{
	for (int i = 0; i < n; i++)
		if (l[i].addr == net && l[i].prefix == p)
			return true;
	return false;
}

/* Take what the daemon ordered its data plane. */
static void drain(void)
{
	struct lwt_msg m;

	while (lwt_msgq_pop(&D.to_dp[0], &m)) {
		if (m.type == LWT_CMD_ROUTES) {
			struct lwt_rtable *t = m.ptr;

			FZ_CHECK(t->n == D.nroutes, "data-plane table of %d routes, %d accepted", t->n,
				 D.nroutes);
			for (int i = 0; i < t->n; i++) {
				int j;

				FZ_CHECK(!i || ntohl(t->r[i].mask) <= ntohl(t->r[i - 1].mask),
					 "table entry %d: a longer prefix after a shorter one", i);
				for (j = 0; j < D.nroutes; j++)
					if (D.routes[j].net == t->r[i].net &&
					    mask_of(D.routes[j].prefix) == t->r[i].mask &&
					    D.routes[j].slot == t->r[i].slot)
						break;
				FZ_CHECK(j < D.nroutes, "table entry %d is not an accepted route", i);
			}
			free(t);
			continue;
		}
		if (m.type != LWT_CMD_SEND_MSG)
			continue;
		uint8_t type = (uint8_t)m.u64;

		FZ_CHECK(m.len >= 4, "a %u-byte list", m.len);
		if (type == LWT_MSG_PEERS) {
			FZ_CHECK(m.data[1] <= LWT_PEERS_MSG_MAX && m.len == 4 + 8 * m.data[1],
				 "peer list of %u entries in %u bytes", m.data[1], m.len);
			continue;
		}
		FZ_CHECK(type == LWT_MSG_ROUTE_RESULT || type == LWT_MSG_ROUTE_UPDATE ||
			 type == LWT_MSG_ROUTES, "message type %u", type);
		FZ_CHECK(m.data[1] <= LWT_ROUTE_MSG_MAX && m.len == 4 + 8 * m.data[1],
			 "route list of %u entries in %u bytes", m.data[1], m.len);
		for (int i = 0; i < m.data[1]; i++) {
			struct lwt_route_entry e;

			memcpy(&e, m.data + 4 + 8 * i, sizeof(e));
			if (type == LWT_MSG_ROUTE_RESULT)
				FZ_CHECK(e.status <= LWT_ROUTE_LOCAL, "status %u", e.status);
			if (type == LWT_MSG_ROUTE_UPDATE) {
				/* never the receiver's own routes */
				for (int j = 0; j < D.nroutes; j++)
					FZ_CHECK(!(D.routes[j].slot == m.slot && D.routes[j].net == e.net &&
						   D.routes[j].prefix == e.prefix),
						 "client %d is told its own route", m.slot);
			}
		}
	}
}

static void check_server(void)
{
	static struct lwt_cidr k[MAXK];
	int nk = kernel_routes(k, MAXK), i, j;
	const struct lwt_config *c = &D.cfg;

	for (i = 0; i < D.nroutes; i++) {
		struct lwt_route *r = &D.routes[i];
		bool named = false, allowed = false;

		FZ_CHECK(r->prefix <= 32 && !(r->net & ~mask_of(r->prefix)), "route %d has host bits", i);
		for (j = 0; j < c->n_allowed_routes; j++) {
			named |= c->allowed_routes[j].addr == r->net &&
				 c->allowed_routes[j].prefix == r->prefix;
			allowed |= within(r->net, r->prefix, c->allowed_routes[j].addr,
					  c->allowed_routes[j].prefix);
		}
		FZ_CHECK(allowed, "route %d is outside allowed_routes", i);
		FZ_CHECK(r->prefix || named, "a default route accepted without being named");
		FZ_CHECK(!within(c->tun_ip, 32, r->net, r->prefix), "route %d covers the server's "
			 "tunnel address", i);
		FZ_CHECK(r->slot >= 0 && r->slot < D.nslots && D.slots[r->slot].c.phase == LWT_PH_UP,
			 "route %d belongs to slot %d, not up", i, r->slot);
		for (j = 0; j < D.nroutes; j++)
			FZ_CHECK(D.routes[j].slot == r->slot ||
				 !(within(r->net, r->prefix, D.routes[j].net, D.routes[j].prefix) ||
				   within(D.routes[j].net, D.routes[j].prefix, r->net, r->prefix)),
				 "routes %d and %d of two clients overlap", i, j);
		FZ_CHECK(in_list(k, nk, r->net, r->prefix), "accepted route %d is not in the kernel", i);
	}
	for (i = 0; i < nk; i++) {
		for (j = 0; j < D.nroutes; j++)
			if (D.routes[j].net == k[i].addr && D.routes[j].prefix == k[i].prefix)
				break;
		FZ_CHECK(j < D.nroutes, "the kernel holds an lwt route the server has not accepted");
	}
}

/* The client: the list the server sent last (stage when complete). */
static struct lwt_cidr last_update[MAXK];
static int nlast = -1;

static void check_client(void)
{
	static struct lwt_cidr k[MAXK];
	int nk = kernel_routes(k, MAXK);

	if (nlast >= 0)
		for (int i = 0; i < nk; i++)
			FZ_CHECK(in_list(last_update, nlast, k[i].addr, k[i].prefix),
				 "the kernel holds an lwt route the server did not send");
	for (int i = 0; i < D.nknown_peers; i++)
		for (int j = i + 1; j < D.nknown_peers; j++)
			FZ_CHECK(D.known_peers[i] != D.known_peers[j], "a peer known twice");
}

/* A list message built from the input: flags, count, entries. */
static size_t build_list(struct fz *f, uint8_t type, uint8_t *b, bool peers)
{
	uint8_t flags = fz_u8(f), n = fz_u8(f) % (LWT_ROUTE_MSG_MAX + 1);

	b[0] = type;
	b[1] = flags & 7;
	b[2] = n;
	b[3] = b[4] = 0;
	for (int i = 0; i < n; i++) {
		uint8_t *e = b + 5 + 8 * i, sel = fz_u8(f);
		uint32_t net;

		/* Addresses near the configured ones most of the time. */
		static const uint32_t base[4] = { 0x0000010a, 0x0000a8c0, 0x000010ac, 0x0000000a };

		net = sel & 0x80 ? fz_u32(f) : base[sel & 3] | htonl((uint32_t)fz_u16(f) << 4);
		memcpy(e, &net, 4);
		static const uint8_t plen[8] = { 8, 12, 16, 20, 24, 25, 28, 32 };

		/* sel: bits 0-1 a base, 2-4 a prefix length, 5 a status byte
		 * follows, 6 a prefix byte follows, 7 a whole address follows */
		e[4] = peers ? (uint8_t)(1 + (sel >> 4 & 1)) :
			       (uint8_t)(sel & 0x40 ? fz_u8(f) : plen[sel >> 2 & 7]);
		e[5] = peers ? 0 : (uint8_t)(sel & 0x20 ? fz_u8(f) : 0);
		e[6] = e[7] = 0;
		if (!peers && !(sel & 0x40))
			memcpy(e, &(uint32_t){ net & mask_of(e[4] > 32 ? 32 : e[4]) }, 4);
	}
	return 5 + 8 * n;
}

static void msg_to(int slot, const uint8_t *b, size_t len)
{
	if (b[0] == LWT_MSG_PEERS)
		lwt_peers_msg(&D, b, len);
	else
		lwt_routes_msg(&D, slot, b, len);
	drain();
}

static void setup(uint8_t hdr, struct fz *f)
{
	static const char *const allowed[8] = {
		"10.1.0.0/16", "192.168.0.0/16", "0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12",
		"10.1.2.0/24", "10.0.0.0/24", "192.168.4.0/22",
	};
	struct lwt_msgq keep = q;

	memset(&D, 0, sizeof(D));
	lwt_config_defaults(&D.cfg);
	D.cfg.mode = hdr & 1 ? LWT_MODE_CLIENT : LWT_MODE_SERVER;
	D.cfg.tun_ip = htonl(0x0a000001);	/* 10.0.0.1/24 */
	D.cfg.tun_prefix = 24;
	D.cfg.route_update_interval = 30;
	D.cfg.route_advert_interval = 300;
	uint8_t am = fz_u8(f);

	for (int i = 0; i < 8; i++)
		if (am >> i & 1)
			lwt_cidr_parse(allowed[i], &D.cfg.allowed_routes[D.cfg.n_allowed_routes++]);
	if (hdr & 2)
		lwt_cidr_parse("172.20.0.0/16", &D.cfg.routes[D.cfg.n_routes++]);
	D.npollers = 1;
	D.nslots = D.cfg.mode == LWT_MODE_SERVER ? SLOTS : 1;
	D.dp = &no_dp;
	D.to_dp[0] = keep;
	D.tun.ifindex = lo;
	D.slots = calloc(D.nslots, sizeof(*D.slots));
	for (int i = 0; i < D.nslots; i++) {
		D.slots[i].gen = 1;
		D.slots[i].c.phase = LWT_PH_UP;
		D.slots[i].c.tun_ip = htonl(0x0a000002 + i);
		D.slots[i].c.port_fd = -1;
		LWT_CTR_INC(&D.slots[i].ctr, rx_packets);	/* confirmed */
	}
	FZ_CHECK(lwt_routes_init(&D) == 0 && lwt_peers_init(&D) == 0, "init");
	if (D.cfg.mode == LWT_MODE_SERVER) {
		/* An advert left half-gathered by the last input: start afresh. */
		uint8_t first[5] = { LWT_MSG_ROUTES, LWT_ROUTE_F_FIRST, 0, 0, 0 };

		lwt_routes_msg(&D, 0, first, sizeof(first));
	}
	nlast = -1;
}

static void teardown(void)
{
	static struct lwt_cidr k[MAXK];
	int nk;

	if (D.cfg.mode == LWT_MODE_SERVER) {
		for (int i = 0; i < D.nslots; i++) {
			D.slots[i].c.phase = LWT_PH_CLOSING;
			lwt_routes_withdraw(&D, i);
			drain();
		}
		FZ_CHECK(D.nroutes == 0, "%d routes left after every client left", D.nroutes);
	} else {
		uint8_t empty[5] = { LWT_MSG_ROUTE_UPDATE, LWT_ROUTE_F_FIRST | LWT_ROUTE_F_LAST, 0, 0, 0 };

		msg_to(0, empty, sizeof(empty));
	}
	nk = kernel_routes(k, MAXK);
	for (int i = 0; i < nk; i++)	/* never carried into the next input */
		lwt_nl_route_del(lo, k[i].addr, k[i].prefix);
	FZ_CHECK(nk == 0, "%d lwt routes left in the kernel after %s", nk,
		 D.cfg.mode == LWT_MODE_SERVER ? "every client left" : "an empty list");
	drain();
	lwt_routes_free(&D);
	lwt_peers_free(&D);
	free(D.slots);
	D.slots = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t hdr = fz_u8(&f), b[512];
	bool server;

	setup(hdr, &f);
	server = D.cfg.mode == LWT_MODE_SERVER;
	while (f.n) {
		uint8_t op = fz_u8(&f);
		int slot = op & (SLOTS - 1);
		size_t len;

		if (op < 0x80) {
			/* a well-formed list */
			uint8_t type = server ? LWT_MSG_ROUTES :
				       (op & 0x30) == 0x00 ? LWT_MSG_ROUTE_RESULT :
				       (op & 0x30) == 0x10 ? LWT_MSG_PEERS : LWT_MSG_ROUTE_UPDATE;
			bool peers = type == LWT_MSG_PEERS;

			len = build_list(&f, type, b, peers);
			if (!server && type == LWT_MSG_ROUTE_UPDATE) {
				/* remember what a complete update holds */
				static struct lwt_cidr stage[MAXK];
				static int nstage;

				if (b[1] & LWT_ROUTE_F_FIRST)
					nstage = 0;
				for (int i = 0; i < b[2] && nstage < MAXK; i++) {
					memcpy(&stage[nstage].addr, b + 5 + 8 * i, 4);
					stage[nstage++].prefix = b[5 + 8 * i + 4];
				}
				msg_to(server ? slot : 0, b, len);
				if (b[1] & LWT_ROUTE_F_LAST) {
					memcpy(last_update, stage, nstage * sizeof(stage[0]));
					nlast = nstage;
				}
			} else {
				msg_to(server ? slot : 0, b, len);
			}
			if (peers && (b[1] & LWT_PEERS_F_FULL) && (b[1] & LWT_PEERS_F_FIRST) &&
			    (b[1] & LWT_PEERS_F_LAST)) {
				/* a whole list in one: exactly these peers now */
				for (int i = 0; i < b[2]; i++) {
					uint32_t ip;
					int j;

					memcpy(&ip, b + 5 + 8 * i, 4);
					for (j = 0; j < D.nknown_peers && D.known_peers[j] != ip; j++)
						;
					FZ_CHECK(j < D.nknown_peers, "a peer of the full list is unknown");
				}
				FZ_CHECK(D.nknown_peers <= b[2], "%d peers known after a full list of %u",
					 D.nknown_peers, b[2]);
			}
		} else if (op < 0xc0) {
			/* raw bytes */
			len = 1 + fz_u8(&f) % 300;
			b[0] = op & 1 ? (server ? LWT_MSG_ROUTES : LWT_MSG_ROUTE_UPDATE) :
			       (op & 2 ? LWT_MSG_PEERS : LWT_MSG_ROUTE_RESULT);
			fz_copy(&f, b + 1, len - 1);
			msg_to(server ? slot : 0, b, len);
		} else if (op < 0xe0 && server) {
			/* a client leaves, or comes back */
			struct lwt_slot *s = &D.slots[slot];

			if (s->c.phase == LWT_PH_UP) {
				s->c.phase = LWT_PH_CLOSING;
				lwt_routes_withdraw(&D, slot);
			} else {
				s->c.phase = LWT_PH_UP;
				s->gen++;
				lwt_routes_session_up(&D, slot);
			}
			drain();
		} else if (op < 0xf0) {
			lwt_routes_tick(&D, lwt_now_ns());
			drain();
		}
		if (server)
			check_server();
		else
			check_client();
	}
	teardown();
	return 0;
}
