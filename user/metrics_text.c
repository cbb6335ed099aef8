// SPDX-License-Identifier: MIT
/* The stats document of lwt-ctl (ctl.c) as Prometheus text exposition
 * format 0.0.4: one HELP and one TYPE line per family, then its samples;
 * counters end in _total, gauges do not; label values escaped (\\, \", \n).
 * Pure: takes the document, returns text, so the unit test feeds it one.
 *
 * Per-peer families cover sessions that are up, labelled by the peer's
 * tunnel IP (empty on a client, whose one peer is the server) and outer
 * endpoint: at most one session holds a tunnel IP or an endpoint, so no two
 * samples of a family share their labels. Sessions still handshaking are
 * counted by state in lwt_peers. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "daemon.h"
#include "metrics.h"

struct fam {
	const char *name, *type, *help;
	bool headed;
};

static void escape(FILE *f, const char *v, bool label)
{
	for (; v && *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else if (*v == '"' && label)
			fputs("\\\"", f);
		else
			fputc(*v, f);
	}
}

static void value(FILE *f, double v)
{
	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else if (v == floor(v) && fabs(v) < 9e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.15g", v);
}

/* One sample of family m: label pairs (name, value) up to a NULL name. The
 * family's HELP and TYPE go first, once. */
static void sample(FILE *f, struct fam *m, double v, ...)
{
	const char *k, *sep = "{";
	va_list ap;

	if (!m->headed) {
		fprintf(f, "# HELP %s ", m->name);
		escape(f, m->help, false);
		fprintf(f, "\n# TYPE %s %s\n", m->name, m->type);
		m->headed = true;
	}
	fputs(m->name, f);
	va_start(ap, v);
	while ((k = va_arg(ap, const char *))) {
		fprintf(f, "%s%s=\"", sep, k);
		escape(f, va_arg(ap, const char *), true);
		fputc('"', f);
		sep = ",";
	}
	va_end(ap);
	if (sep[0] == ',')
		fputc('}', f);
	fputc(' ', f);
	value(f, v);
	fputc('\n', f);
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));

	return s ? s : "";
}

/* What each of the daemon's counters (LWT_COUNTERS) counts. */
static const struct { const char *name, *help; } ctr_help[] = {
	{ "rx_packets", "Records received and authenticated" },
	{ "rx_bytes", "Bytes of inner packets received" },
	{ "tx_packets", "Records sent" },
	{ "tx_bytes", "Bytes of inner packets sent" },
	{ "drop_replay", "replay: a record counter seen before or behind the window" },
	{ "drop_auth", "auth: a record that failed authentication" },
	{ "drop_malformed", "malformed: a frame or record that did not parse" },
	{ "drop_window", "window: a segment outside the fake-TCP window" },
	{ "drop_unknown_flow", "unknown_flow: a segment of no known flow" },
	{ "drop_spoofed_src", "spoofed_src: an inner source address the peer does not own" },
	{ "drop_no_route", "no_route: an inner destination no peer serves" },
	{ "drop_isolation", "isolation: client-to-client traffic under client_isolation" },
	{ "drop_queue_full", "queue_full: a queue or ring was full" },
	{ "drop_stale_key", "stale_key: a record under a key epoch no longer held" },
	{ "drop_no_session", "no_session: a record before the session's keys" },
	{ "drop_handshake", "handshake: a handshake frame refused" },
	{ "drop_bad_cookie", "bad_cookie: an ACK whose SYN cookie did not check" },
	{ "drop_halfopen", "halfopen: a new flow beyond the half-open limit" },
	{ "rst_ignored", "RST or FIN segments outside the window, ignored" },
	{ "challenge_acks", "Challenge ACKs sent (RFC 5961)" },
	{ "pure_acks", "Pure ACK segments sent" },
	{ "keepalives_rx", "Keepalives received" },
	{ "keepalives_tx", "Keepalives sent" },
	{ "forwarded", "Packets relayed between clients" },
	{ "rekeys", "Key epochs switched to" },
	{ "rx_prev_key", "Records accepted under the previous key epoch" },
	{ "events_lost", "Data-plane events the control thread never got (queue full)" },
	{ "rst_probes", "Keepalives sent to check a RST or FIN with the peer" },
	{ "rst_probes_failed", "Sessions ended because the peer did not answer such a check" },
	{ "syn_cookies", "SYN cookies sent" },
	{ "cookie_flows", "Flows opened from a SYN cookie" },
	{ "drop_too_big", "too_big: a packet longer than the buffers hold" },
	{ "peer_reflexive", "Direct flows answered at the port the peer's SYN came from" },
};

static const char *counter_help(const char *name)
{
	for (size_t i = 0; i < sizeof(ctr_help) / sizeof(ctr_help[0]); i++)
		if (!strcmp(ctr_help[i].name, name))
			return ctr_help[i].help;
	return name;
}

#define CTR_NAME(n) #n,
static const char *const ctr_names[] = { LWT_COUNTERS(CTR_NAME) };
#define NCTR (sizeof(ctr_names) / sizeof(ctr_names[0]))

static const char *const states[] = { "tcp-handshake", "lwt-handshake", "up", "closing" };

static void daemon_wide(FILE *f, const cJSON *j)
{
	struct fam info = { "lwt_info", "gauge", "The daemon: version, mode, instance, data path", false };
	struct fam g[] = {
		{ "lwt_uptime_seconds", "gauge", "Seconds since the daemon started", false },
		{ "lwt_sessions", "gauge", "Sessions up", false },
		{ "lwt_queues", "gauge", "Queues of the outer link in use", false },
		{ "lwt_poller_threads", "gauge", "Data-plane poller threads", false },
		{ "lwt_tun_mtu_bytes", "gauge", "MTU of the TUN device", false },
		{ "lwt_slots", "gauge", "Session slots (clients plus embryonic flows)", false },
		{ "lwt_known_peers", "gauge", "Client: other clients the server has told of", false },
	};
	static const char *const gk[] = { "uptime_s", "sessions", "queues", "poller_threads",
					  "tun_mtu", "slots", "known_peers" };
	struct fam busy = { "lwt_slots_busy", "gauge", "Slots in use, as the data plane and the control thread see them", false };
	struct fam hs = { "lwt_handshakes_total", "counter", "lwt handshakes completed (ok) and failed", false };
	struct fam rk = { "lwt_rekey_exchanges_total", "counter", "Key rotation exchanges completed (ok) and failed", false };
	struct fam c[] = {
		{ "lwt_reconnects_total", "counter", "Client: reconnections to the server", false },
		{ "lwt_slot_repairs_total", "counter", "Slots whose data-plane and control views were made to agree", false },
		{ "lwt_control_tx_messages_total", "counter", "Control records sent", false },
		{ "lwt_control_tx_bytes_total", "counter", "Bytes of control records sent", false },
		{ "lwt_path_rx_errors_total", "counter", "Receive errors of the outer data path", false },
		{ "lwt_path_tx_errors_total", "counter", "Send errors of the outer data path", false },
	};
	static const char *const ck[] = { "reconnects", "slot_repairs", "control_tx_msgs",
					  "control_tx_bytes", "path_rx_errors", "path_tx_errors" };
	size_t i;

	sample(f, &info, 1, "version", str(j, "version"), "mode", str(j, "mode"), "instance",
	       str(j, "instance"), "path", str(j, "path"), "xdp_mode", str(j, "xdp_mode"),
	       "xsk_bind", str(j, "xsk_bind"), "iface", str(j, "iface"), "tunnel_addr",
	       str(j, "tunnel_addr"), NULL);
	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		if (!isnan(num(j, gk[i])))
			sample(f, &g[i], num(j, gk[i]), NULL);
	sample(f, &busy, num(j, "slots_busy_dataplane"), "view", "dataplane", NULL);
	sample(f, &busy, num(j, "slots_busy_control"), "view", "control", NULL);
	sample(f, &hs, num(j, "handshakes_ok"), "result", "ok", NULL);
	sample(f, &hs, num(j, "handshakes_failed"), "result", "failed", NULL);
	sample(f, &rk, num(j, "rekeys"), "result", "ok", NULL);
	sample(f, &rk, num(j, "rekeys_failed"), "result", "failed", NULL);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (!isnan(num(j, ck[i])))
			sample(f, &c[i], num(j, ck[i]), NULL);
}

/* totals: every counter of every session, past and present, and of none. */
static void totals(FILE *f, const cJSON *t)
{
	struct fam drops = { "lwt_drops_total", "counter", "Packets dropped, by reason (all peers)", false };
	char name[96];
	size_t i;

	for (i = 0; i < NCTR; i++) {
		struct fam m = { name, "counter", counter_help(ctr_names[i]), false };

		if (!strncmp(ctr_names[i], "drop_", 5) || isnan(num(t, ctr_names[i])))
			continue;
		snprintf(name, sizeof(name), "lwt_%s_total", ctr_names[i]);
		sample(f, &m, num(t, ctr_names[i]), NULL);
	}
	for (i = 0; i < NCTR; i++)
		if (!strncmp(ctr_names[i], "drop_", 5) && !isnan(num(t, ctr_names[i])))
			sample(f, &drops, num(t, ctr_names[i]), "reason", ctr_names[i] + 5, NULL);
}

static void pollers(FILE *f, const cJSON *arr)
{
	struct fam m[] = {
		{ "lwt_poller_sessions", "gauge", "Sessions a poller thread owns", false },
		{ "lwt_poller_rx_segments_total", "counter", "Segments a poller received", false },
		{ "lwt_poller_tun_reads_total", "counter", "TUN reads of a poller", false },
		{ "lwt_poller_handoffs_out_total", "counter", "Segments a poller handed to the owner of their session", false },
		{ "lwt_poller_handoffs_in_total", "counter", "Segments a poller was handed", false },
		{ "lwt_poller_handoff_drops_total", "counter", "Segments lost on the way between pollers (ring full)", false },
	};
	static const char *const k[] = { "sessions", "rx_segments", "tun_reads", "handoffs_out",
					 "handoffs_in", "handoff_drops" };
	const cJSON *p;
	char id[16];
	size_t i;
	int n;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		n = 0;
		cJSON_ArrayForEach(p, arr) {
			snprintf(id, sizeof(id), "%d", n++);
			sample(f, &m[i], num(p, k[i]), "poller", id, NULL);
		}
	}
}

/* The FEC pool: bytes against the bound, groups that gave way. */
static void fec_pool(FILE *f, const cJSON *o)
{
	struct fam b = { "lwt_fec_pool_bytes", "gauge", "FEC pool: bytes of groups in flight (in_use), most ever (peak), free blocks kept (cached), the bound", false };
	struct fam g = { "lwt_fec_pool_groups", "gauge", "FEC pool: groups holding a block", false };
	struct fam c[] = {
		{ "lwt_fec_pool_evictions_total", "counter", "FEC pool: incomplete groups that gave way to newer ones (pool short)", false },
		{ "lwt_fec_pool_refused_total", "counter", "FEC pool: blocks refused (group kept without its shards, or sent without parity)", false },
	};

	if (!o)
		return;
	sample(f, &b, num(o, "in_use_bytes"), "kind", "in_use", NULL);
	sample(f, &b, num(o, "peak_bytes"), "kind", "peak", NULL);
	sample(f, &b, num(o, "cached_bytes"), "kind", "cached", NULL);
	sample(f, &b, num(o, "bound_bytes"), "kind", "bound", NULL);
	sample(f, &g, num(o, "groups"), NULL);
	sample(f, &c[0], num(o, "evictions"), NULL);
	sample(f, &c[1], num(o, "refused"), NULL);
}

static void xdp(FILE *f, const cJSON *x)
{
	const cJSON *it;
	char name[96], help[128];

	cJSON_ArrayForEach(it, x) {
		struct fam m = { name, "counter", help, false };

		if (!cJSON_IsNumber(it))
			continue;
		snprintf(name, sizeof(name), "lwt_xdp_%s_total", it->string);
		snprintf(help, sizeof(help), "XDP program: %s (see struct lwt_xdp_stats)", it->string);
		sample(f, &m, it->valuedouble, NULL);
	}
}

static bool is_up(const cJSON *p)
{
	return !strcmp(str(p, "state"), "up");
}

#define FOR_UP(p, arr) cJSON_ArrayForEach(p, arr) if (is_up(p))
#define PL(p) "peer", str(p, "tunnel_ip"), "endpoint", str(p, "endpoint")

static void peer_fec(FILE *f, const cJSON *peers)
{
	struct fam g[] = {
		{ "lwt_peer_fec_parity_shards", "gauge", "Parity shards per group sent now", false },
		{ "lwt_peer_loss_ratio", "gauge", "Loss measured towards us (0..1)", false },
		{ "lwt_peer_reported_loss_ratio", "gauge", "Loss the peer reported towards it (0..1)", false },
	};
	static const char *const gk[] = { "parity_now", "loss_ppm", "peer_loss_ppm" };
	static const double gs[] = { 1, 1e-6, 1e-6 };
	static const struct { const char *k, *help; } c[] = {
		{ "groups_sent", "FEC groups sent" },
		{ "data_sent", "FEC data shards sent" },
		{ "parity_sent", "FEC parity shards sent" },
		{ "shards_received", "FEC data shards received" },
		{ "parity_received", "FEC parity shards received" },
		{ "shards_lost", "FEC data shards lost (counted when their group closes)" },
		{ "packets_rebuilt", "Packets recovered from parity" },
		{ "groups_rebuilt_multi", "FEC groups rebuilt with two or more data shards missing" },
		{ "groups_closed", "FEC groups done with" },
		{ "groups_unrecoverable", "FEC groups that lost more shards than parity could rebuild" },
		{ "duplicates", "FEC shards received twice" },
		{ "late", "FEC shards that arrived after their group closed" },
	};
	/* Every field of struct lwt_fec_stats has its row above. */
#define FEC_ONE(n) +1
	_Static_assert(sizeof(c) / sizeof(c[0]) == 0 LWT_FEC_STAT_FIELDS(FEC_ONE), "FEC fields");
#undef FEC_ONE
	char name[96];
	const cJSON *p, *fo;
	size_t i;

	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		FOR_UP(p, peers)
			if ((fo = cJSON_GetObjectItem(p, "fec")) && !isnan(num(fo, gk[i])))
				sample(f, &g[i], num(fo, gk[i]) * gs[i], PL(p), NULL);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct fam m = { name, "counter", c[i].help, false };

		snprintf(name, sizeof(name), "lwt_peer_fec_%s_total", c[i].k);
		FOR_UP(p, peers)
			if ((fo = cJSON_GetObjectItem(p, "fec")) && !isnan(num(fo, c[i].k)))
				sample(f, &m, num(fo, c[i].k), PL(p), NULL);
	}
}

static void peer_all(FILE *f, const cJSON *peers, const char *path)
{
	struct fam count = { "lwt_peers", "gauge", "Peers (sessions and flows) by state", false };
	struct fam info = { "lwt_peer_info", "gauge", "A session that is up: its id and the data path it runs on", false };
	struct fam route = { "lwt_peer_route", "gauge", "Client: a session's route (hub, or a direct path: direct-tcp, lan)", false };
	struct fam g[] = {
		{ "lwt_peer_rtt_seconds", "gauge", "Round-trip time measured by keepalive echoes", false },
		{ "lwt_peer_handshake_seconds", "gauge", "How long the session's handshake took", false },
		{ "lwt_peer_up_seconds", "gauge", "Seconds since the session came up", false },
		{ "lwt_peer_key_epoch", "gauge", "Key epoch the session sends under", false },
		{ "lwt_peer_rekey_duration_seconds", "gauge", "How long the last key rotation took", false },
		{ "lwt_peer_path_mtu_bytes", "gauge", "mtu 0: the path MTU found towards the peer (0 while unknown)", false },
	};
	static const char *const gk[] = { "rtt_us", "handshake_ms", "up_s", "key_epoch", "last_rekey_ms",
					  "path_mtu" };
	static const double gs[] = { 1e-6, 1e-3, 1, 1, 1e-3, 1 };
	struct fam drops = { "lwt_peer_drops_total", "counter", "Packets of a peer dropped, by reason", false };
	char name[96];
	const cJSON *p;
	size_t i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		int n = 0;

		cJSON_ArrayForEach(p, peers)
			n += !strcmp(str(p, "state"), states[i]);
		sample(f, &count, n, "state", states[i], NULL);
	}
	FOR_UP(p, peers)
		sample(f, &info, 1, PL(p), "session_id", str(p, "session_id"), "path", path, NULL);
	/* A client's sessions: the hub's, and its direct paths to peers. */
	FOR_UP(p, peers)
		if (*str(p, "path"))
			sample(f, &route, 1, PL(p), "route", str(p, "path"), NULL);
	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		FOR_UP(p, peers)
			if (!isnan(num(p, gk[i])))
				sample(f, &g[i], num(p, gk[i]) * gs[i], PL(p), NULL);
	for (i = 0; i < NCTR; i++) {
		struct fam m = { name, "counter", counter_help(ctr_names[i]), false };

		if (!strncmp(ctr_names[i], "drop_", 5))
			continue;
		snprintf(name, sizeof(name), "lwt_peer_%s_total", ctr_names[i]);
		FOR_UP(p, peers)
			if (!isnan(num(p, ctr_names[i])))
				sample(f, &m, num(p, ctr_names[i]), PL(p), NULL);
	}
	for (i = 0; i < NCTR; i++)
		if (!strncmp(ctr_names[i], "drop_", 5))
			FOR_UP(p, peers)
				if (!isnan(num(p, ctr_names[i])))
					sample(f, &drops, num(p, ctr_names[i]), PL(p), "reason",
					       ctr_names[i] + 5, NULL);
	peer_fec(f, peers);
}

/* Client: the mesh relay's counters (mesh.c). */
static void mesh(FILE *f, const cJSON *o)
{
	static const struct {
		const char *k, *name, *help;
	} c[] = {
		{ "relayed", "lwt_mesh_relayed_packets_total", "Packets relayed between two peers the hub named" },
		{ "relayed_bytes", "lwt_mesh_relayed_bytes_total", "Bytes of inner packets relayed between two peers" },
		{ "relayed_in", "lwt_mesh_relayed_in_packets_total", "Packets from a peer that came through a relay" },
		{ "refused", "lwt_mesh_refused_packets_total", "Packets over a direct path that no named relay covers" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct fam m = { c[i].name, "counter", c[i].help, false };

		if (!isnan(num(o, c[i].k)))
			sample(f, &m, num(o, c[i].k), NULL);
	}
}

char *lwt_metrics_text(const cJSON *j)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const cJSON *x;

	if (!f)
		return NULL;
	daemon_wide(f, j);
	totals(f, cJSON_GetObjectItem(j, "totals"));
	pollers(f, cJSON_GetObjectItem(j, "pollers"));
	fec_pool(f, cJSON_GetObjectItem(j, "fec_pool"));
	if ((x = cJSON_GetObjectItem(j, "xdp")))
		xdp(f, x);
	peer_all(f, cJSON_GetObjectItem(j, "peers"), str(j, "path"));
	if ((x = cJSON_GetObjectItem(j, "mesh")))
		mesh(f, x);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}
