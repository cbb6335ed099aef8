// SPDX-License-Identifier: MIT
/* Control socket: an abstract Unix socket "@lwt/<tun name>". Abstract names
 * live in the network namespace, so two daemons in two namespaces never
 * collide and `ip netns exec NS lwt-ctl` finds the one in NS. Only root or
 * members of the daemon's group may talk to it (checked with SO_PEERCRED).
 * One request line in, one answer out, then close. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "daemon.h"
#include "inet6.h"
#include "fecpool.h"
#include "roam.h"
#include "log.h"
#include "lwt/xdp.h"
#include "natdetect.h"
#include "pmtu.h"

static const char *const phase_names[] = { "free", "tcp-handshake", "lwt-handshake", "up", "closing" };

int lwt_ctl_listen(struct lwt_daemon *d)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	len = lwt_ctlproto_addr(&sa, d->instance);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 16) < 0) {
		int err = -errno;

		lwt_err("couldn't open control socket '@%s%s': %s", LWT_CTL_PREFIX, d->instance,
			strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

void lwt_ctl_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void add_counters(cJSON *o, struct lwt_counters *c)
{
#define ADD(n) cJSON_AddNumberToObject(o, #n, (double)LWT_CTR_GET(c, n));
	LWT_COUNTERS(ADD)
#undef ADD
}

/* The XDP program's counters, if the path has one. */
/* mtu 0: a probing slot's path MTU (the metric) and search (server: per
 * client; a client's is also the status's "pmtu"). */
static void add_pmtu(cJSON *p, struct lwt_daemon *d, int i)
{
	cJSON *o;

	if (!d->pmtu || (d->cfg.mode == LWT_MODE_CLIENT && i > 0))
		return;
	o = lwt_pmtu_json(d, i);
	if (!o)
		return;
	cJSON_AddNumberToObject(p, "path_mtu", cJSON_GetNumberValue(cJSON_GetObjectItem(o, "path_mtu")));
	if (d->cfg.mode == LWT_MODE_SERVER)
		cJSON_AddItemToObject(p, "pmtu", o);
	else
		cJSON_Delete(o);
}

static void add_xdp(cJSON *root, struct lwt_dp *dp)
{
	struct lwt_xdp_stats x;
	cJSON *o;

	if (!dp->ops->xdp_stats || dp->ops->xdp_stats(dp, &x))
		return;
	o = cJSON_AddObjectToObject(root, "xdp");
#define XADD(n) cJSON_AddNumberToObject(o, #n, (double)x.n);
	XADD(rx_packets) XADD(redirected) XADD(passed) XADD(dropped_unknown)
	XADD(dropped_syn_rate) XADD(truncated) XADD(malformed) XADD(no_socket)
	XADD(flow_hits) XADD(syn_accepted) XADD(unknown_acks) XADD(dropped_ack_rate)
#undef XADD
}

/* What enable_kernel_tune changed: "summary" is the status line, "changes"
 * one entry a setting (none when nothing changed). */
static void add_ktune(cJSON *root, struct lwt_daemon *d)
{
	const struct lwt_ktune *k = &d->ktune;
	cJSON *o = cJSON_AddObjectToObject(root, "kernel_tune"), *ch, *c;
	char buf[192];

	cJSON_AddBoolToObject(o, "enabled", k->enabled);
	lwt_ktune_describe(k, d->tun.name, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "summary", buf);
	ch = cJSON_AddArrayToObject(o, "changes");
	if (k->enabled && k->txqlen_to != k->txqlen_from) {
		c = cJSON_CreateObject();
		snprintf(buf, sizeof(buf), "%s txqueuelen", d->tun.name);
		cJSON_AddStringToObject(c, "setting", buf);
		cJSON_AddNumberToObject(c, "from", k->txqlen_from);
		cJSON_AddNumberToObject(c, "to", k->txqlen_to);
		cJSON_AddItemToArray(ch, c);
	}
}

/* Shared with metrics.c; see daemon.h. */
/* The FEC pool (fecpool.h): bytes of groups in flight against the bound,
 * and the groups that gave way because it was short. */
static void add_fec_pool(cJSON *root, struct lwt_daemon *d)
{
	struct lwt_fecpool_stats st;
	cJSON *o = cJSON_AddObjectToObject(root, "fec_pool");

	lwt_dataplane_fec_pool(d, &st);
	cJSON_AddNumberToObject(o, "bound_bytes", (double)st.bound);
	cJSON_AddNumberToObject(o, "in_use_bytes", (double)st.in_use);
	cJSON_AddNumberToObject(o, "peak_bytes", (double)st.peak);
	cJSON_AddNumberToObject(o, "cached_bytes", (double)st.cached);
	cJSON_AddNumberToObject(o, "groups", (double)st.groups);
	cJSON_AddNumberToObject(o, "gets", (double)st.gets);
	cJSON_AddNumberToObject(o, "evictions", (double)st.evictions);
	cJSON_AddNumberToObject(o, "refused", (double)st.refused);
	cJSON_AddNumberToObject(o, "reused", (double)st.reused);
}

cJSON *lwt_ctl_stats(struct lwt_daemon *d)
{
	cJSON *root = cJSON_CreateObject(), *peers, *tot, *p, *nat;
	struct lwt_counters sum;
	char buf[64], ip[INET_ADDRSTRLEN];
	uint64_t now = lwt_now_ns();
	int i, up = 0;

	memset(&sum, 0, sizeof(sum));
#define SUM(n) LWT_CTR_ADD(&sum, n, LWT_CTR_GET(&d->ctr, n));
	LWT_COUNTERS(SUM)
#undef SUM
	cJSON_AddStringToObject(root, "version", LWT_VERSION);
	cJSON_AddStringToObject(root, "mode", d->cfg.mode == LWT_MODE_SERVER ? "server" : "client");
	cJSON_AddStringToObject(root, "instance", d->instance);
	cJSON_AddNumberToObject(root, "pid", getpid());
	cJSON_AddStringToObject(root, "path", d->dp->ops->name);
	cJSON_AddStringToObject(root, "xdp_mode", d->dp->xdp_mode);
	cJSON_AddStringToObject(root, "iface", d->dp->ifname);
	cJSON_AddStringToObject(root, "xsk_bind", strcmp(d->dp->xdp_mode, "none") ?
				(d->dp->zerocopy ? "zero-copy" : "copy") : "none");
	cJSON_AddNumberToObject(root, "queues", d->dp->queues);
	cJSON_AddNumberToObject(root, "poller_threads", d->npollers);
	cJSON_AddNumberToObject(root, "path_rx_errors", (double)atomic_load(&d->dp->rx_errors));
	cJSON_AddNumberToObject(root, "path_tx_errors", (double)atomic_load(&d->dp->tx_errors));
	add_xdp(root, d->dp);
	p = cJSON_AddArrayToObject(root, "pollers");
	for (i = 0; d->px && i < d->npollers; i++) {
		struct lwt_poller_stats ps;
		cJSON *o = cJSON_CreateObject();

		lwt_dataplane_poller_stats(d, i, &ps);
		cJSON_AddNumberToObject(o, "sessions", ps.slots);
		cJSON_AddNumberToObject(o, "rx_segments", (double)ps.rx_segments);
		cJSON_AddNumberToObject(o, "tun_reads", (double)ps.tun_reads);
		cJSON_AddNumberToObject(o, "handoffs_out", (double)ps.handoffs_out);
		cJSON_AddNumberToObject(o, "handoffs_in", (double)ps.handoffs_in);
		cJSON_AddNumberToObject(o, "handoff_drops", (double)ps.handoff_drops);
		cJSON_AddItemToArray(p, o);
	}
	add_fec_pool(root, d);
	add_ktune(root, d);
	cJSON_AddNumberToObject(root, "uptime_s", (double)(now - d->start_ns) / 1e9);
	cJSON_AddStringToObject(root, "tun", d->tun.name);
	cJSON_AddNumberToObject(root, "tun_mtu", d->tun_mtu);
	/* mtu 0: the client's search towards the server (a server's are per
	 * peer). */
	if (d->cfg.mode == LWT_MODE_CLIENT)
		cJSON_AddItemToObject(root, "pmtu", lwt_pmtu_json(d, 0));
	snprintf(buf, sizeof(buf), "%s/%u", inet_ntop(AF_INET, &d->cfg.tun_ip, ip, sizeof(ip)),
		 d->cfg.tun_prefix);
	cJSON_AddStringToObject(root, "tunnel_addr", buf);
	lwt_in6_status_json(d, root);
	cJSON_AddNumberToObject(root, "handshakes_ok", (double)d->handshakes_ok);
	cJSON_AddNumberToObject(root, "handshakes_failed", (double)d->handshakes_failed);
	cJSON_AddNumberToObject(root, "reconnects", (double)d->reconnects);
	{
		int dp_busy = 0, ctl_busy = 0;

		for (i = 0; i < d->nslots; i++) {
			dp_busy += atomic_load_explicit(&d->slots[i].state, memory_order_relaxed) !=
				   LWT_SLOT_FREE;
			ctl_busy += d->slots[i].c.phase != LWT_PH_FREE;
		}
		/* Both views of the slots; reconcile.c makes them agree. */
		cJSON_AddNumberToObject(root, "slots", d->nslots);
		cJSON_AddNumberToObject(root, "slots_busy_dataplane", dp_busy);
		cJSON_AddNumberToObject(root, "slots_busy_control", ctl_busy);
		cJSON_AddNumberToObject(root, "slot_repairs", (double)d->slot_repairs);
		/* takeover.c: claims of a live session's client id, and how they ended. */
		cJSON_AddNumberToObject(root, "takeover_probes", (double)d->takeover_probes);
		cJSON_AddNumberToObject(root, "takeovers", (double)d->takeovers);
		cJSON_AddNumberToObject(root, "takeovers_refused", (double)d->takeovers_refused);
	}
	/* roam.c, resume.c: re-homes (client); RESUMEs that moved a session
	 * at once, and those that did not verify (server). */
	if (d->roam) {
		cJSON_AddNumberToObject(root, "rehomes", (double)d->roam->rehomes);
		cJSON_AddNumberToObject(root, "resumes", (double)d->roam->resumes);
		cJSON_AddNumberToObject(root, "resumes_refused", (double)d->roam->resumes_bad);
	}
	cJSON_AddNumberToObject(root, "reloads", (double)d->reloads);
	cJSON_AddNumberToObject(root, "reloads_failed", (double)d->reloads_failed);
	cJSON_AddNumberToObject(root, "max_clients", d->cfg.multi_client ? d->cfg.max_clients : 1);
	cJSON_AddBoolToObject(root, "client_isolation", d->cfg.client_isolation);
	cJSON_AddStringToObject(root, "log_level", (const char *[]){ "error", "warn", "info",
				"debug", "trace" }[d->cfg.log_level >= 0 && d->cfg.log_level <= 4 ?
						   d->cfg.log_level : 2]);
	cJSON_AddNumberToObject(root, "rekeys", (double)d->rekeys);
	cJSON_AddNumberToObject(root, "rekeys_failed", (double)d->rekeys_failed);
	cJSON_AddNumberToObject(root, "control_tx_msgs", (double)d->ctl_msgs_tx);
	cJSON_AddNumberToObject(root, "control_tx_bytes", (double)d->ctl_bytes_tx);
	if (d->cfg.mode == LWT_MODE_CLIENT)
		cJSON_AddNumberToObject(root, "known_peers", d->nknown_peers);
	peers = cJSON_AddArrayToObject(root, "peers");
	for (i = 0; i < d->nslots; i++) {
		struct lwt_slot *s = &d->slots[i];
		struct in_addr a = { .s_addr = s->c.raddr };

		if (s->c.phase == LWT_PH_FREE)
			continue;
#define SUM(n) LWT_CTR_ADD(&sum, n, LWT_CTR_GET(&s->ctr, n));
		LWT_COUNTERS(SUM)
#undef SUM
		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "slot", i);
		lwt_peer_str(s, buf, sizeof(buf));	/* "[v6]:port" over IPv6 */
		cJSON_AddStringToObject(p, "endpoint", buf);
		a.s_addr = d->cfg.mode == LWT_MODE_SERVER || i > 0 ? s->c.tun_ip : 0;
		cJSON_AddStringToObject(p, "tunnel_ip", a.s_addr ? inet_ntop(AF_INET, &a, ip, sizeof(ip)) : "");
		lwt_in6_peer_json(d, i, p);
		/* A client's slot 0 is its hub session, the others direct paths. */
		if (d->cfg.mode == LWT_MODE_CLIENT)
			cJSON_AddStringToObject(p, "path", i ? lwt_p2p_path(d, s->c.tun_ip) : "hub");
		cJSON_AddStringToObject(p, "state", phase_names[s->c.phase]);
		snprintf(buf, sizeof(buf), "%08x", s->c.session_id);
		cJSON_AddStringToObject(p, "session_id", buf);
		cJSON_AddNumberToObject(p, "handshake_ms", s->c.handshake_us / 1000.0);
		cJSON_AddNumberToObject(p, "rtt_us", (double)atomic_load(&s->rtt_us));
		add_pmtu(p, d, i);
		cJSON_AddNumberToObject(p, "key_epoch", (double)atomic_load(&s->key_epoch));
		cJSON_AddNumberToObject(p, "last_rekey_ms", s->c.rk_last_us / 1000.0);
		cJSON_AddNumberToObject(p, "up_s", s->c.phase == LWT_PH_UP ?
					(double)(now - s->c.up_ns) / 1e9 : 0);
		if (LWT_PUB_GET(s, fec_tx) || LWT_PUB_GET(s, fec_rx)) {
			cJSON *fo = cJSON_AddObjectToObject(p, "fec");

			/* As the owning poller last published them. */
			cJSON_AddNumberToObject(fo, "parity_now", LWT_PUB_GET(s, parity_now));
#define PUB(n) cJSON_AddNumberToObject(fo, #n, (double)LWT_PUB_GET(s, n));
			LWT_FEC_STAT_FIELDS(PUB)
#undef PUB
			cJSON_AddNumberToObject(fo, "loss_ppm", atomic_load(&s->loss_ppm));
			cJSON_AddNumberToObject(fo, "peer_loss_ppm", atomic_load(&s->peer_loss_ppm));
			/* Adaptive parity: its steps, and the RTTs it judges by. */
			cJSON_AddNumberToObject(fo, "congestion_holds", (double)atomic_load(&s->fc.congestion_holds));
			cJSON_AddNumberToObject(fo, "parity_raises", (double)atomic_load(&s->fc.raises));
			cJSON_AddNumberToObject(fo, "parity_decays", (double)atomic_load(&s->fc.decays));
			cJSON_AddNumberToObject(fo, "srtt_us", atomic_load(&s->fc.pub_srtt_us));
			cJSON_AddNumberToObject(fo, "rtt_min_us", atomic_load(&s->fc.pub_min_us));
		}
		cJSON_AddNumberToObject(p, "tcp_snd_nxt", LWT_PUB_GET(s, snd_nxt));
		cJSON_AddNumberToObject(p, "tcp_rcv_nxt", LWT_PUB_GET(s, rcv_nxt));
		add_counters(p, &s->ctr);
		cJSON_AddItemToArray(peers, p);
		if (s->c.phase == LWT_PH_UP && (d->cfg.mode == LWT_MODE_SERVER || i == 0))
			up++;
	}
	cJSON_AddNumberToObject(root, "sessions", up);
	cJSON_AddItemToObject(root, "p2p", lwt_p2p_json(d));
	cJSON_AddItemToObject(root, "mesh", lwt_mesh_json(d));
	nat = lwt_nat_json(d);
	if (!nat && (nat = cJSON_CreateObject()))
		cJSON_AddStringToObject(nat, "state", "off");
	cJSON_AddItemToObject(root, d->cfg.mode == LWT_MODE_SERVER ? "nat_probe" : "nat", nat);
	tot = cJSON_AddObjectToObject(root, "totals");
	add_counters(tot, &sum);
	return root;
}

/* The NAT line(s) of status: the client's verdict, the server's probe
 * counters. */
static void render_nat(FILE *f, cJSON *j)
{
	cJSON *n = cJSON_GetObjectItem(j, "nat"), *p = cJSON_GetObjectItem(j, "nat_probe");
	const char *st;

#define S(o, k) (cJSON_GetStringValue(cJSON_GetObjectItem(o, k)) ?: "")
#define N(o, k) cJSON_GetNumberValue(cJSON_GetObjectItem(o, k))
	if (n) {
		st = S(n, "state");
		if (!strcmp(st, "done"))
			fprintf(f, "nat: %s (mapping %s, filtering %s), public %s from %s; tcp: %s\n",
				S(n, "type"), S(n, "mapping"), S(n, "filtering"), S(n, "public"),
				S(n, "local"), S(n, "tcp"));
		else if (!strcmp(st, "failed"))
			fprintf(f, "nat: detection failed: %s\n", S(n, "error"));
		else
			fprintf(f, "nat: detection %s%s%s\n", st, S(n, "type")[0] ? ", last: " : "",
				S(n, "type"));
		if (S(n, "note")[0])
			fprintf(f, "  note: %s\n", S(n, "note"));
	}
	if (p && strcmp(S(p, "state"), "off")) {
		cJSON *ports = cJSON_GetObjectItem(p, "ports");

		fprintf(f, "nat probes: %s%s%s ports %.0f,%.0f: rx %.0f answered %.0f "
			"unauthenticated %.0f malformed %.0f replayed %.0f rate-limited %.0f\n",
			S(p, "addr"), S(p, "other_addr")[0] ? " and " : "", S(p, "other_addr"),
			cJSON_GetNumberValue(cJSON_GetArrayItem(ports, 0)),
			cJSON_GetNumberValue(cJSON_GetArrayItem(ports, 1)), N(p, "rx"), N(p, "answered"),
			N(p, "unauthenticated"), N(p, "malformed"), N(p, "replayed"),
			N(p, "rate_limited"));
	} else if (p) {
		fprintf(f, "nat probes: off\n");
	}
#undef S
#undef N
}

static char *render_text(cJSON *j, const char *what)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	cJSON *peers = cJSON_GetObjectItem(j, "peers"), *p, *it;
	int k;

#define S(o, k) cJSON_GetStringValue(cJSON_GetObjectItem(o, k))
#define N(o, k) cJSON_GetNumberValue(cJSON_GetObjectItem(o, k))
	if (!f)
		return NULL;
	if (!strcmp(what, "status") || !strcmp(what, "stats")) {
		fprintf(f, "lwt %s  %s  instance %s  pid %.0f\n", S(j, "version"), S(j, "mode"),
			S(j, "instance"), N(j, "pid"));
		fprintf(f, "path: %s on %s (xdp: %s, %s, %.0f queue(s))  uptime %.0f s\n", S(j, "path"),
			S(j, "iface"), S(j, "xdp_mode"), S(j, "xsk_bind"), N(j, "queues"), N(j, "uptime_s"));
		fprintf(f, "tun: %s %s mtu %.0f", S(j, "tun"), S(j, "tunnel_addr"), N(j, "tun_mtu"));
		if (S(j, "tunnel_addr6"))
			fprintf(f, "  ipv6 %s%s%s%s", S(j, "tunnel_addr6"), S(j, "ip6_claim") ? " (" : "",
				S(j, "ip6_claim") ?: "", S(j, "ip6_claim") ? ")" : "");
		if ((p = cJSON_GetObjectItem(j, "pmtu")) && strcmp(S(p, "state") ?: "off", "off"))
			fprintf(f, "  path mtu %.0f (%s%s%s)", N(p, "path_mtu"), S(p, "state"),
				*(S(p, "found_by") ?: "") ? ", by " : "", S(p, "found_by") ?: "");
		fprintf(f, "\n");
		fprintf(f, "kernel tune: %s\n",
			S(cJSON_GetObjectItem(j, "kernel_tune"), "summary") ?: "?");
		fprintf(f, "pollers: %.0f", N(j, "poller_threads"));
		k = 0;
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "pollers"))
			fprintf(f, "  [%d] %.0f session(s) %.0f segs %.0f handed", k++,
				N(p, "sessions"), N(p, "rx_segments"), N(p, "handoffs_out"));
		fprintf(f, "\n");
		fprintf(f, "sessions: %.0f  handshakes ok %.0f failed %.0f  reconnects %.0f\n",
			N(j, "sessions"), N(j, "handshakes_ok"), N(j, "handshakes_failed"),
			N(j, "reconnects"));
		render_nat(f, j);
	}
	if (!strcmp(what, "stats")) {
		fprintf(f, "totals:\n");
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "totals"))
			fprintf(f, "  %-18s %.0f\n", it->string, it->valuedouble);
	}
	if (!strcmp(what, "peers") || !strcmp(what, "stats")) {
		fprintf(f, "%-4s %-21s %-15s %-13s %-8s %9s %9s %10s %10s\n", "slot", "endpoint",
			"tunnel_ip", "state", "session", "hs_ms", "rtt_us", "rx_pkts", "tx_pkts");
		cJSON_ArrayForEach(p, peers)
			fprintf(f, "%-4.0f %-21s %-15s %-13s %-8s %9.1f %9.0f %10.0f %10.0f\n",
				N(p, "slot"), S(p, "endpoint"), S(p, "tunnel_ip"), S(p, "state"),
				S(p, "session_id"), N(p, "handshake_ms"), N(p, "rtt_us"),
				N(p, "rx_packets"), N(p, "tx_packets"));
		/* Server: the clients' IPv6 tunnel addresses (inet6.c). */
		cJSON_ArrayForEach(p, peers)
			if (*(S(p, "tunnel_ip6") ?: ""))
				fprintf(f, "ipv6: %s %s\n", S(p, "tunnel_ip"), S(p, "tunnel_ip6"));
		/* Client: the other clients it has punched to, and how. */
		it = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "p2p"), "paths");
		if (cJSON_GetArraySize(it)) {
			fprintf(f, "%-15s %-10s %-21s %-10s %9s %s\n", "peer", "path", "endpoint", "role",
				"rtt_us", "last failure");
			cJSON_ArrayForEach(p, it) {
				char via[32];

				/* A relayed peer: the peer it goes through. */
				snprintf(via, sizeof(via), "via %s", S(p, "via") ?: "");
				fprintf(f, "%-15s %-10s %-21s %-10s %9.0f %s\n", S(p, "tunnel_ip"),
					S(p, "path"), S(p, "via") ? via : S(p, "endpoint") ? S(p, "endpoint") : "-",
					S(p, "role") ? S(p, "role") : "-", N(p, "rtt_us"),
					S(p, "last_failure") ? S(p, "last_failure") : "-");
			}
		}
	}
#undef S
#undef N
	fclose(f);
	return out;
}

static char *render_routes_text(cJSON *j)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	static const char *const lists[] = { "advertised", "accepted", "refused", "from_server" };
	cJSON *it, *v;

	if (!f)
		return NULL;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		cJSON *a = cJSON_GetObjectItem(j, lists[i]);

		if (!a)
			continue;
		fprintf(f, "%s:%s\n", lists[i], cJSON_GetArraySize(a) ? "" : " none");
		cJSON_ArrayForEach(it, a) {
			fprintf(f, " ");
			cJSON_ArrayForEach(v, it) {
				if (cJSON_IsString(v))
					fprintf(f, " %s%s%s", strcmp(v->string, "route") ? v->string : "",
						strcmp(v->string, "route") ? " " : "", v->valuestring);
				else
					fprintf(f, " %s %.0f", v->string, v->valuedouble);
			}
			fprintf(f, "\n");
		}
	}
	fclose(f);
	return out;
}

/* An error as the caller asked for answers: a line "error: ...", or under
 * json the object {"error": "..."}. */
static char *error_answer(const char *msg, bool json)
{
	char *out = NULL;

	if (!json) {
		if (asprintf(&out, "error: %s\n", msg) < 0)
			return NULL;
		return out;
	}
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "error", msg);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

void lwt_ctl_handle(struct lwt_daemon *d, int lfd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	char req[128], *out = NULL, *sp, msg[768], rerr[800];
	const char *err = NULL;
	bool json;
	cJSON *j;
	ssize_t n;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid() && cred.gid != getegid())) {
		static const char no[] = "error: permission denied (only root or the daemon's "
					 "user or group may use its control socket)\n";

		lwt_log_rl(LWT_LOG_WARN, "control socket: refused uid %u", cred.uid);
		if (send(fd, no, sizeof(no) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* peer went away */
		}
		close(fd);
		return;
	}
	n = recv(fd, req, sizeof(req) - 1, 0);
	if (n <= 0) {
		close(fd);
		return;
	}
	req[n] = 0;
	req[strcspn(req, "\r\n")] = 0;
	json = (sp = strstr(req, " json")) != NULL;
	if (sp)
		*sp = 0;
	if (!strncmp(req, "attach ", 7) || !strncmp(req, "detach ", 7)) {
		char ifn[32] = "", mode[16] = "auto";

		if (sscanf(req + 7, "%31s %15s", ifn, mode) < 1) {
			err = "attach IFACE [native|generic|auto] / detach IFACE";
		} else {
			out = malloc(256);
			if (out)
				lwt_path_switch(d, req[0] == 'a', ifn, mode, out, 256);
			if (out && json) {	/* {"error": ...} or {"result": ...} */
				bool bad = !strncmp(out, "error: ", 7);
				cJSON *a = cJSON_CreateObject();

				out[strcspn(out, "\n")] = 0;
				cJSON_AddStringToObject(a, bad ? "error" : "result", out + (bad ? 7 : 0));
				free(out);
				out = cJSON_PrintUnformatted(a);
				cJSON_Delete(a);
			}
		}
	} else if (!strcmp(req, "reload")) {
		if (lwt_reload(d, msg, sizeof(msg))) {
			snprintf(rerr, sizeof(rerr), "reload: %s", msg);
			err = rerr;
		} else if (json) {	/* {"result": ...} */
			cJSON *a = cJSON_CreateObject();

			cJSON_AddStringToObject(a, "result", msg);
			out = cJSON_PrintUnformatted(a);
			cJSON_Delete(a);
		} else if (asprintf(&out, "%s\n", msg) < 0) {
			out = NULL;
		}
	} else if (!strcmp(req, "routes")) {
		j = lwt_routes_json(d);
		out = json ? cJSON_Print(j) : render_routes_text(j);
		cJSON_Delete(j);
	} else if (strcmp(req, "status") && strcmp(req, "stats") && strcmp(req, "peers")) {
		err = "unknown request (status, stats, peers, routes, attach, detach, reload)";
	} else {
		pthread_mutex_lock(&d->dp_lock);
		j = lwt_ctl_stats(d);
		pthread_mutex_unlock(&d->dp_lock);
		if (json && !strcmp(req, "peers"))	/* the peers, not the whole document */
			out = cJSON_Print(cJSON_GetObjectItem(j, "peers"));
		else
			out = json ? cJSON_Print(j) : render_text(j, req);
		cJSON_Delete(j);
	}
	if (err)
		out = error_answer(err, json);
	if (out) {
		size_t len = strlen(out), off = 0;

		while (off < len) {
			ssize_t w = send(fd, out + off, len - off, MSG_NOSIGNAL);

			if (w <= 0)
				break;
			off += w;
		}
		if (json && send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
			/* peer went away */
		}
	}
	free(out);
	close(fd);
}
