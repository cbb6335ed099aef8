// SPDX-License-Identifier: MIT
/* libFuzzer target: the control-socket request parser (lwt_ctl_handle),
 * over a real listening abstract socket in a network namespace of the
 * process's own (abstract names are per namespace): the input's request is
 * sent by a client socket, lwt_ctl_handle accepts and answers it, and the
 * harness reads the answer. The daemon's state (mode, slots in every
 * phase, counters, names) comes from the input too, so every renderer
 * sees odd values. lwt_path_switch is the harness's (attach/detach would
 * load XDP programs and pin maps): it records what it was asked.
 *
 * Invariants:
 *  - every request gets an answer ending in a newline;
 *  - attach/detach: the interface handed on is the request's first word
 *    after the verb (at most 31 bytes, no blank), the mode its second (at
 *    most 15, "auto" by default), and the answer is the path's own;
 *  - an unknown request gets exactly the "unknown request" error;
 *  - status/stats/peers with " json" give JSON that parses, with one peer
 *    per slot in use, its counters as the slot holds them; without it,
 *    text whose first line names the version and mode (status/stats).
 * Only the first 127 bytes of a request count, up to CR or LF. */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <math.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "daemon.h"
#include "fuzz.h"

// fuzz-omit: user/path.c

#define SLOTS 4

static struct lwt_daemon D;
static struct lwt_dp_ops dops = { .name = "raw" };
static struct lwt_dp dp = { .ops = &dops, .xdp_mode = "none" };
static int lfd;
static struct {
	bool called, xdp;
	char ifname[64], mode[64];
} sw;

int lwt_path_switch(struct lwt_daemon *d, bool xdp, const char *ifname, const char *mode,
		    char *answer, size_t al)
{
	sw.called = true;
	sw.xdp = xdp;
	snprintf(sw.ifname, sizeof(sw.ifname), "%s", ifname);
	snprintf(sw.mode, sizeof(sw.mode), "%s", mode);
	snprintf(answer, al, "fuzz: path switched\n");
	return 0;
}

/* The stand-in path.c must still provide what other objects call. */
int lwt_path_iface(struct lwt_daemon *d, char *ifname, char *why, size_t wl)
{
	return -ENOSYS;
}

int lwt_path_open(struct lwt_daemon *d, bool xdp, const char *mode, const char *ifname,
		  struct lwt_dp **out, char *why, size_t wl)
{
	return -ENOSYS;
}

int lwt_local_ip_for(uint32_t remote, uint32_t *out)
{
	return -ENOSYS;
}

struct lwt_dp *lwt_path_swap(struct lwt_daemon *d, struct lwt_dp *dp, bool hold)
{
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	fz_private_netns("fuzz_ctl");
	D.instance = "lwtfuzz0";
	lfd = lwt_ctl_listen(&D);
	FZ_CHECK(lfd >= 0, "couldn't listen: %d", lfd);
	return 0;
}

static int client(void)
{
	struct sockaddr_un sa;
	socklen_t len = lwt_ctlproto_addr(&sa, D.instance);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	FZ_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, len) == 0, "couldn't connect");
	return fd;
}

static void fill_state(struct fz *f)
{
	static char tun_name[16], ifname[16];
	static const char *const modes[] = { "none", "native", "generic" };
	uint8_t b = fz_u8(f);

	D.cfg.mode = b & 1 ? LWT_MODE_CLIENT : LWT_MODE_SERVER;
	D.cfg.tun_ip = fz_u32(f);
	D.cfg.tun_prefix = fz_u8(f) % 33;
	D.nslots = SLOTS;
	D.npollers = 1 + (b >> 1 & 3);
	D.handshakes_ok = fz_u64(f);
	D.rekeys = fz_u32(f);
	D.nknown_peers = fz_u16(f);
	fz_copy(f, tun_name, sizeof(tun_name) - 1);
	memcpy(D.tun.name, tun_name, sizeof(D.tun.name));
	D.tun.name[15] = 0;
	fz_copy(f, ifname, sizeof(ifname) - 1);
	memcpy(dp.ifname, ifname, sizeof(dp.ifname));
	dp.ifname[15] = 0;
	dp.xdp_mode = modes[(b >> 3) % 3];
	dp.zerocopy = b & 0x20;
	dp.queues = fz_u8(f);
	D.dp = &dp;
	D.tun_mtu = (int)fz_u16(f);
	for (int i = 0; i < SLOTS; i++) {
		struct lwt_slot *s = &D.slots[i];
		uint8_t p = fz_u8(f);

		s->c.phase = p % 5;
		atomic_store(&s->state, p >> 3 & 3 ? LWT_SLOT_SESSION : LWT_SLOT_FREE);
		s->c.raddr = fz_u32(f);
		s->c.rport = fz_u16(f);
		s->c.tun_ip = fz_u32(f);
		s->c.session_id = fz_u32(f);
		s->c.handshake_us = fz_u32(f);
		atomic_store(&s->rtt_us, fz_u32(f));
		atomic_store(&s->key_epoch, fz_u16(f));
		atomic_store(&s->ctr.rx_packets, fz_u64(f));
		atomic_store(&s->ctr.tx_packets, fz_u32(f));
		atomic_store(&s->ctr.drop_auth, fz_u16(f));
		atomic_store(&s->pub.fec_tx, p >> 5 & 1);
		atomic_store(&s->pub.fec_rx, p >> 6 & 1);
		atomic_store(&s->pub.packets_rebuilt, fz_u32(f));
		atomic_store(&s->loss_ppm, fz_u32(f));
	}
}

/* What lwt_ctl_handle must make of the request (as the daemon reads it). */
static void check(const char *sent, size_t n, const char *ans)
{
	char req[128], *sp;
	bool json;

	FZ_CHECK(ans[0] && ans[strlen(ans) - 1] == '\n', "answer without a final newline: \"%s\"", ans);
	n = n < sizeof(req) - 1 ? n : sizeof(req) - 1;
	memcpy(req, sent, n);
	req[n] = 0;
	req[strcspn(req, "\r\n")] = 0;
	json = (sp = strstr(req, " json")) != NULL;
	if (sp)
		*sp = 0;
	if (!strncmp(req, "attach ", 7) || !strncmp(req, "detach ", 7)) {
		char w1[200] = "", w2[200] = "";
		int words = sscanf(req + 7, "%199s %199s", w1, w2);

		if (words < 1) {
			FZ_CHECK(!sw.called && !strncmp(ans, json ? "{\"error\":\"attach IFACE" :
							 "error: attach IFACE", json ? 21 : 19),
				 "attach/detach without an interface: \"%s\"", ans);
			return;
		}
		FZ_CHECK(sw.called && sw.xdp == (req[0] == 'a'), "%s not handed on", req);
		FZ_CHECK(!strncmp(sw.ifname, w1, 31) && strlen(sw.ifname) == (strlen(w1) < 31 ? strlen(w1) : 31),
			 "interface \"%s\" handed on for \"%s\"", sw.ifname, w1);
		FZ_CHECK(!strpbrk(sw.ifname, " \t\n\v\f\r"), "interface name with a blank");
		if (words < 2 || strlen(w1) > 31)
			FZ_CHECK(strlen(sw.mode) <= 15, "mode \"%s\"", sw.mode);
		else
			FZ_CHECK(!strncmp(sw.mode, w2, 15), "mode \"%s\" handed on for \"%s\"", sw.mode, w2);
		if (words < 2 && strlen(w1) <= 31)
			FZ_CHECK(!strcmp(sw.mode, "auto"), "default mode \"%s\"", sw.mode);
		/* Under json the path's answer line becomes {"result": ...}. */
		FZ_CHECK(!strcmp(ans, json ? "{\"result\":\"fuzz: path switched\"}\n" :
				 "fuzz: path switched\n"),
			 "answer \"%s\" is not the path's", ans);
		return;
	}
	FZ_CHECK(!sw.called, "\"%s\" switched the path", req);
	if (!strcmp(req, "reload")) {
		/* The harness's daemon has no -c file: refused, nothing else. */
		FZ_CHECK(!strcmp(ans, json ? "{\"error\":\"reload: started without -c FILE: there is "
				 "no config file to re-read\"}\n" : "error: reload: started without -c "
				 "FILE: there is no config file to re-read\n"),
			 "reload answered \"%.80s\"", ans);
		return;
	}
	if (!strcmp(req, "routes")) {
		cJSON *j = json ? cJSON_Parse(ans) : NULL;

		FZ_CHECK(!json || cJSON_IsArray(cJSON_GetObjectItem(j, "advertised")),
			 "routes json: \"%.60s\"", ans);
		cJSON_Delete(j);
		return;
	}
	if (strcmp(req, "status") && strcmp(req, "stats") && strcmp(req, "peers")) {
		static const char what[] = "unknown request (status, stats, peers, routes, attach, "
					   "detach, reload)";

		if (json) {
			cJSON *j = cJSON_Parse(ans);

			FZ_CHECK(j && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")) ?: "",
					      what), "\"%s\" json answered \"%.60s\"", req, ans);
			cJSON_Delete(j);
		} else {
			FZ_CHECK(!strncmp(ans, "error: ", 7) && !strncmp(ans + 7, what, sizeof(what) - 1),
				 "\"%s\" answered \"%.60s\"", req, ans);
		}
		return;
	}
	if (json) {
		cJSON *j = cJSON_Parse(ans), *peers, *p;
		int np = 0, busy = 0;

		FZ_CHECK(j, "%s json: the answer does not parse", req);
		/* peers: the array of peers; status and stats: the document. */
		if (strcmp(req, "peers"))
			FZ_CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "version")), "no version");
		peers = strcmp(req, "peers") ? cJSON_GetObjectItem(j, "peers") : j;
		FZ_CHECK(cJSON_IsArray(peers), "no peers array");
		for (int i = 0; i < SLOTS; i++)
			busy += D.slots[i].c.phase != LWT_PH_FREE;
		cJSON_ArrayForEach(p, peers) {
			int slot = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "slot"));

			FZ_CHECK(slot >= 0 && slot < SLOTS && D.slots[slot].c.phase != LWT_PH_FREE,
				 "peer entry for slot %d", slot);
			double want = (double)atomic_load(&D.slots[slot].ctr.rx_packets),
			       got = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "rx_packets"));

			/* cJSON prints 15 significant digits when they read back
			 * within its epsilon: exact only below 1e15. */
			FZ_CHECK(want < 1e15 ? got == want : fabs(got - want) <= want * 1e-14,
				 "slot %d: rx_packets %.17g shown as %.17g", slot, want, got);
			np++;
		}
		FZ_CHECK(np == busy, "%d peer entries for %d slots in use", np, busy);
		cJSON_Delete(j);
		return;
	}
	if (strcmp(req, "peers"))
		FZ_CHECK(!strncmp(ans, "lwt ", 4) && strstr(ans, D.cfg.mode == LWT_MODE_SERVER ?
							  "server" : "client"),
			 "%s: first line \"%.40s\"", req, ans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lwt_slot slots[SLOTS];
	static char ans[1 << 20];
	struct fz f = { data, size };
	const uint8_t *req;
	size_t n, got = 0;
	ssize_t r;
	int fd;

	memset(&D.cfg, 0, sizeof(D.cfg));
	memset(slots, 0, sizeof(slots));
	memset(&sw, 0, sizeof(sw));
	D.slots = slots;
	/* The request first (the interesting part), then the state. */
	n = fz_take(&f, fz_u8(&f), &req);
	fill_state(&f);
	fd = client();
	if (n && send(fd, req, n, MSG_NOSIGNAL) != (ssize_t)n)
		FZ_CHECK(0, "couldn't send the request");
	if (!n)
		shutdown(fd, SHUT_WR);
	lwt_ctl_handle(&D, lfd);
	while ((r = recv(fd, ans + got, sizeof(ans) - 1 - got, 0)) > 0)
		got += r;
	ans[got] = 0;
	close(fd);
	if (!n) {
		FZ_CHECK(!got, "an empty request was answered");
		return 0;
	}
	FZ_CHECK(strlen(ans) == got, "a NUL in the answer");
	check((const char *)req, strnlen((const char *)req, n), ans);
	return 0;
}
