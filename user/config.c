// SPDX-License-Identifier: MIT
/* The reference's flags and JSON keys, table-driven: one row per key gives
 * its flag, type, range and field. Flags beside -c override the file. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "crypto.h"
#include "log.h"

#ifndef LWT_VERSION
#define LWT_VERSION "dev"
#endif

enum kt { K_STR, K_INT, K_BOOL, K_MODE, K_CIDRS, K_LOGLEVEL };

struct keydef {
	const char *json;
	const char *flag;	/* NULL: file only */
	enum kt type;
	size_t off, size;	/* field; for K_CIDRS the count follows the array */
	long min, max;
	const char *help;
};

#define F(field) offsetof(struct lwt_config, field), sizeof(((struct lwt_config *)0)->field)

static const struct keydef keys[] = {
	{ "mode", "m", K_MODE, F(mode), 0, 0, "server or client" },
	{ "local_addr", "l", K_STR, F(local_addr), 0, 0, "server: listen address ip:port, [ipv6]:port, [::]:port for both families (default 0.0.0.0:9000)" },
	{ "remote_addr", "r", K_STR, F(remote_addr), 0, 0, "client: server host:port or [ipv6]:port" },
	{ "remote_family", "remote-family", K_STR, F(remote_family), 0, 0, "lwt, client: the family of the server's address when its name has A and AAAA records: auto (the host's address selection), ipv4 or ipv6 (default auto)" },
	{ "tunnel_addr", "t", K_STR, F(tunnel_addr), 0, 0, "tunnel IP in CIDR, optionally with an IPv6 one: 10.0.0.2/24,fd00::2/64 (default 10.0.0.1/24 server, 10.0.0.2/24 client)" },
	{ "key", "k", K_STR, F(key), 0, 0, "pre-shared key (this or key_file required)" },
	{ "key_file", "key-file", K_STR, F(key_file), 0, 0, "lwt: file whose first line is the key (not shown in ps)" },
	{ "mtu", "mtu", K_INT, F(mtu), 0, 9000, "TUN MTU, 576..9000; 0 = from the path (default 1400)" },
	{ "fec_data", "fec-data", K_INT, F(fec_data), 0, 128, "FEC data shards 1..128; 0 = default (10)" },
	{ "fec_parity", "fec-parity", K_INT, F(fec_parity), 0, 64, "FEC parity shards 0..64, 0 = off; the ceiling when adaptive (default 3)" },
	{ "fec_flush_us", "fec-flush-us", K_INT, F(fec_flush_us), 10, 1000000, "lwt: parity flush timer, us (default 500)" },
	{ "fec_adaptive", "fec-adaptive", K_BOOL, F(fec_adaptive), 0, 0, "lwt: parity from measured random loss, fec-parity the ceiling (default true)" },
	{ "send_queue_size", "send-queue", K_INT, F(send_queue_size), 0, 1000000, "packets queued while (re)connecting; 0 = default (5000)" },
	{ "recv_queue_size", "recv-queue", K_INT, F(recv_queue_size), 0, 1000000, "receive queue, packets; 0 = default (5000)" },
	{ "fec_pool_mb", "fec-pool-mb", K_INT, F(fec_pool_mb), 0, 65536, "lwt: memory for FEC groups in flight, all peers, MB; 0 = from max_clients and recv_queue_size" },
	{ "multi_client", "multi-client", K_BOOL, F(multi_client), 0, 0, "server: more than one client (default true)" },
	{ "max_clients", "max-clients", K_INT, F(max_clients), 0, 65535, "server: client limit 1..65535; 0 = default (100)" },
	{ "client_isolation", "client-isolation", K_BOOL, F(client_isolation), 0, 0, "server: clients cannot reach each other" },
	{ "tun_name", "tun-name", K_STR, F(tun_name), 0, 0, "TUN device name (default: kernel's choice, lwt%d)" },
	{ "routes", "routes", K_CIDRS, F(routes), 0, 0, "CIDRs this host advertises, comma separated (IPv4 or IPv6)" },
	{ "allowed_routes", "allowed-routes", K_CIDRS, F(allowed_routes), 0, 0, "lwt, server: CIDRs clients may advertise (IPv4 or IPv6)" },
	{ "config_push_interval", "config-push-interval", K_INT, F(config_push_interval), 0, 86400 * 30, "server: key rotation period, s; 0 = off" },
	{ "p2p_enabled", "p2p", K_BOOL, F(p2p_enabled), 0, 0, "P2P paths between clients (default true)" },
	{ "p2p_port", "p2p-port", K_INT, F(p2p_port), 0, 65535, "client: local port of the hub flow and every direct path; 0 = ephemeral" },
	{ "p2p_syn_ttl", "p2p-syn-ttl", K_INT, F(p2p_syn_ttl), 0, 255, "TTL of a punch's first SYN (opens our NAT, dies before the peer's); 0 = as any SYN" },
	{ "enable_mesh_routing", "mesh-routing", K_BOOL, F(enable_mesh_routing), 0, 0, "relay through peers (default true)" },
	{ "max_hops", "max-hops", K_INT, F(max_hops), 0, 16, "links a path may have 1..16 (a relayed one has 2; 1 = no relay); 0 = default (3)" },
	{ "route_update_interval", "route-update", K_INT, F(route_update_interval), 1, 86400, "route refresh period, s (default 30)" },
	{ "enable_nat_detection", "nat-detection", K_BOOL, F(enable_nat_detection), 0, 0, "detect the NAT type through the hub (default true)" },
	{ "nat_probe_port", "nat-probe-port", K_INT, F(nat_probe_port), 0, 65534, "lwt: UDP port P of NAT detection, the server answers on P and P+1; 0 = the server's port + 1" },
	{ "nat_probe_addr", "nat-probe-addr", K_STR, F(nat_probe_addr), 0, 0, "lwt, server: a second address of this host that answers NAT probes too (tells every NAT kind apart)" },
	{ "enable_xdp", "xdp", K_BOOL, F(enable_xdp), 0, 0, "XDP/AF_XDP data plane (default true)" },
	{ "xdp_mode", "xdp-mode", K_STR, F(xdp_mode), 0, 0, "lwt: auto, native or generic (default auto)" },
	{ "enable_kernel_tune", "kernel-tune", K_BOOL, F(enable_kernel_tune), 0, 0, "tune the kernel for lwt: TUN txqueuelen, no sysctl (default true)" },
	{ "encrypt_after_auth", "encrypt-after-auth", K_BOOL, F(encrypt_after_auth), 0, 0, "data authenticated (GMAC), not encrypted" },
	{ "faketcp_pacing_us", "faketcp-pacing-us", K_INT, F(faketcp_pacing_us), 0, 1000000, "pause between the segments sent for the TUN's packets, us, per poller thread; 0 = off" },
	{ "faketcp_max_segment", "faketcp-max-seg", K_INT, F(faketcp_max_segment), 0, 65000, "largest TCP payload, 0 or 621..65000: the TUN MTU is lowered to fit; 0 = from MTU" },
	{ "log_level", "log-level", K_LOGLEVEL, F(log_level), 0, 4, "lwt: error, warn, info, debug or trace (debug plus libbpf's own; default info)" },
	{ "ctl_socket", "ctl-socket", K_STR, F(ctl_socket), 0, 0, "lwt: control socket name (default: the TUN name)" },
	{ "user", "user", K_STR, F(user), 0, 0, "lwt: run as this user and group after set-up, with only the capabilities needed; lwt-ctl trusts root, itself and 'lwt': use 'lwt'" },
	{ "metrics_listen", "metrics-listen", K_STR, F(metrics_listen), 0, 0, "lwt: serve Prometheus metrics on http://ip:port/metrics, e.g. 127.0.0.1:9586 (default off)" },
	{ "client_id", "client-id", K_STR, F(client_id), 0, 0, "lwt, client: its id, 16 hex digits (default: random each start); the server lets a flow with the id of a live session take it over only if it proves it held that session's keys or that session fails a probe" },
	{ "keepalive", NULL, K_INT, F(keepalive), 0, 3600, "keepalive period, s; 0 = default (5)" },
	{ "timeout", NULL, K_INT, F(timeout), 2, 86400, "silence before a session ends, s (default 15, or 3 x keepalive if that is longer)" },
	{ "p2p_keepalive_interval", NULL, K_INT, F(p2p_keepalive_interval), 1, 3600, "s (default 25)" },
	{ "p2p_timeout", NULL, K_INT, F(p2p_timeout), 1, 3600, "s (default 5)" },
	{ "send_workers", NULL, K_INT, F(send_workers), 1, 64, "(default 4)" },
	{ "route_advert_interval", NULL, K_INT, F(route_advert_interval), 1, 86400, "s (default 300)" },
	{ "transport", NULL, K_STR, F(transport), 0, 0, "always rawtcp" },
	{ "broadcast_throttle_ms", NULL, K_INT, F(broadcast_throttle_ms), 0, 60000, "ms (default 0)" },
	{ "enable_incremental_update", NULL, K_BOOL, F(enable_incremental_update), 0, 0, "(default false)" },
	{ "max_peer_info_batch_size", NULL, K_INT, F(max_peer_info_batch_size), 0, 10000, "0 = no batching" },
};

#define NKEYS (int)(sizeof(keys) / sizeof(keys[0]))
_Static_assert(sizeof(keys) / sizeof(keys[0]) <= 128, "has[] bitset too small");

static int key_index(const char *name, bool flag)
{
	for (int i = 0; i < NKEYS; i++)
		if (flag ? (keys[i].flag && !strcmp(keys[i].flag, name)) : !strcmp(keys[i].json, name))
			return i;
	return -1;
}

/* Other names the reference's files, README and flags use for a key. */
static const struct { const char *alias, *name; bool flag; } aliases[] = {
	{ "advertised_routes", "routes", false },
	{ "tun", "tun-name", true },
};

static int key_lookup(const char *name, bool flag)
{
	int i = key_index(name, flag);

	for (size_t a = 0; i < 0 && a < sizeof(aliases) / sizeof(aliases[0]); a++)
		if (aliases[a].flag == flag && !strcmp(aliases[a].alias, name))
			i = key_index(aliases[a].name, flag);
	return i;
}

/* Levenshtein distance, '-' and '_' alike (a flag's spelling in a file). */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[64], prev, cur;

	if (la >= 64 || lb >= 64)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			bool same = a[i - 1] == b[j - 1] ||
				    (strchr("-_", a[i - 1]) && strchr("-_", b[j - 1]));

			cur = row[j];
			row[j] = prev + !same;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (cur + 1 < row[j])
				row[j] = cur + 1;
			prev = cur;
		}
	}
	return row[lb];
}

/* The known name nearest to an unknown one, if near enough to be a typo. */
static const char *nearest(const char *name, bool flag)
{
	const char *best = NULL;
	int bd = 64, limit = (int)strlen(name) / 3;

	if (limit < 2)
		limit = 2;
	for (int i = 0; i < NKEYS; i++) {
		const char *n = flag ? keys[i].flag : keys[i].json;
		int d = n ? edit_distance(name, n) : 64;

		if (d < bd) {
			bd = d;
			best = n;
		}
	}
	return bd <= limit ? best : NULL;
}

bool lwt_config_has(const struct lwt_config *cfg, const char *json_key)
{
	int i = key_index(json_key, false);

	return i >= 0 && (cfg->has[i / 64] >> (i % 64) & 1);
}

static void mark(struct lwt_config *cfg, int i)
{
	cfg->has[i / 64] |= 1ull << (i % 64);
}

int lwt_config_errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	/* One line, whatever the file held: a control character quoted from
	 * it (a key name with a newline) is shown as '?'. */
	for (char *c = err; len && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -EINVAL;
}

void lwt_config_defaults(struct lwt_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = LWT_MODE_SERVER;
	snprintf(c->local_addr, sizeof(c->local_addr), "0.0.0.0:9000");
	c->mtu = 1400;
	c->fec_data = 10;
	c->fec_parity = 3;
	c->fec_adaptive = true;
	c->fec_flush_us = 500;
	c->send_queue_size = c->recv_queue_size = 5000;
	c->multi_client = true;
	c->max_clients = 100;
	c->p2p_enabled = true;
	c->enable_mesh_routing = true;
	c->max_hops = 3;
	c->route_update_interval = 30;
	c->enable_nat_detection = true;
	c->enable_xdp = true;
	c->enable_kernel_tune = true;
	c->keepalive = 5;
	c->timeout = 15;
	c->p2p_keepalive_interval = 25;
	c->p2p_timeout = 5;
	c->send_workers = 4;
	c->route_advert_interval = 300;
	snprintf(c->transport, sizeof(c->transport), "rawtcp");
	snprintf(c->xdp_mode, sizeof(c->xdp_mode), "auto");
	snprintf(c->remote_family, sizeof(c->remote_family), "auto");
	c->log_level = LWT_LOG_INFO;
}

static uint32_t mask_of(uint8_t prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const f[] = { "0", "f", "F", "false", "FALSE", "False" };

	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(v, t[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(v, f[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* An IPv6 entry of routes or allowed_routes (arr says which): kept apart. */
static int set_cidr6(struct lwt_config *c, const struct lwt_cidr *arr, const char *tok,
		     const char *key, char *err, size_t el)
{
	struct lwt_cidr6 *a6 = arr == c->routes ? c->routes6 : c->allowed_routes6;
	int *n6 = arr == c->routes ? &c->n_routes6 : &c->n_allowed_routes6;
	struct lwt_cidr6 r;
	int i;

	if (*n6 == LWT_MAX_ROUTES)
		return lwt_config_errf(err, el, "%s: more than %d IPv6 entries", key, LWT_MAX_ROUTES);
	if (!lwt_cidr6_parse(tok, &r))
		return lwt_config_errf(err, el, "%s: bad IPv6 CIDR \"%s\"", key, tok);
	for (i = r.prefix; i < 128; i++)
		if (r.addr[i / 8] & (0x80 >> (i % 8)))
			return lwt_config_errf(err, el, "%s: \"%s\" has host bits set", key, tok);
	a6[(*n6)++] = r;
	return 0;
}

static int set_cidrs(struct lwt_config *c, const struct keydef *k, const char *list, char *err,
		     size_t el)
{
	struct lwt_cidr *arr = (struct lwt_cidr *)((char *)c + k->off);
	int *n = (int *)((char *)c + k->off + k->size);
	char buf[4096], *save = NULL, *tok;

	if (strlen(list) >= sizeof(buf))
		return lwt_config_errf(err, el, "%s: list too long", k->json);
	snprintf(buf, sizeof(buf), "%s", list);
	*n = 0;
	if (arr == c->routes)
		c->n_routes6 = 0;
	else if (arr == c->allowed_routes)
		c->n_allowed_routes6 = 0;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct lwt_cidr r;

		if (*n == LWT_MAX_ROUTES)
			return lwt_config_errf(err, el, "%s: more than %d entries", k->json, LWT_MAX_ROUTES);
		if (strchr(tok, ':')) {
			int e6 = set_cidr6(c, arr, tok, k->json, err, el);

			if (e6)
				return e6;
			continue;
		}
		if (!lwt_cidr_parse(tok, &r))
			return lwt_config_errf(err, el, "%s: bad CIDR \"%s\"", k->json, tok);
		if (r.addr & ~mask_of(r.prefix))
			return lwt_config_errf(err, el, "%s: \"%s\" has host bits set", k->json, tok);
		arr[(*n)++] = r;
	}
	return 0;
}

/* Set key k from a string value (flags, and JSON strings). */
static int set_str(struct lwt_config *c, int i, const char *v, char *err, size_t el)
{
	const struct keydef *k = &keys[i];
	void *p = (char *)c + k->off;
	char *end;
	long n;
	bool b;

	switch (k->type) {
	case K_STR:
		if (strlen(v) >= k->size)
			return lwt_config_errf(err, el, "%s: longer than %zu characters", k->json, k->size - 1);
		/* Nothing of an earlier value stays behind it (a key given twice). */
		memset(p, 0, k->size);
		memcpy(p, v, strlen(v));
		break;
	case K_MODE:
		if (!strcmp(v, "server"))
			c->mode = LWT_MODE_SERVER;
		else if (!strcmp(v, "client"))
			c->mode = LWT_MODE_CLIENT;
		else
			return lwt_config_errf(err, el, "mode: must be \"server\" or \"client\", got \"%s\"", v);
		break;
	case K_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (!*v || *end || errno || n < k->min || n > k->max)
			return lwt_config_errf(err, el, "%s: must be an integer %ld..%ld, got \"%s\"", k->json,
				    k->min, k->max, v);
		*(int *)p = (int)n;
		break;
	case K_BOOL:
		if (!parse_bool(v, &b))
			return lwt_config_errf(err, el, "%s: must be true or false, got \"%s\"", k->json, v);
		*(bool *)p = b;
		break;
	case K_CIDRS:
		if (set_cidrs(c, k, v, err, el))
			return -EINVAL;
		break;
	case K_LOGLEVEL:
		if (!strcmp(v, "error") || !strcmp(v, "0"))
			c->log_level = 0;
		else if (!strcmp(v, "warn") || !strcmp(v, "1"))
			c->log_level = 1;
		else if (!strcmp(v, "info") || !strcmp(v, "2"))
			c->log_level = 2;
		else if (!strcmp(v, "debug") || !strcmp(v, "3"))
			c->log_level = 3;
		else if (!strcmp(v, "trace") || !strcmp(v, "4"))
			c->log_level = 4;
		else
			return lwt_config_errf(err, el, "log_level: must be error, warn, info, debug or trace, got \"%s\"", v);
		break;
	}
	mark(c, i);
	return 0;
}

static const char *jtype(const cJSON *j)
{
	if (cJSON_IsString(j))
		return "string";
	if (cJSON_IsNumber(j))
		return "number";
	if (cJSON_IsBool(j))
		return "boolean";
	if (cJSON_IsArray(j))
		return "array";
	if (cJSON_IsObject(j))
		return "object";
	return "null";
}

static int set_json(struct lwt_config *c, int i, const cJSON *j, char *err, size_t el)
{
	const struct keydef *k = &keys[i];
	char buf[4096];
	size_t off = 0;
	const cJSON *e;

	switch (k->type) {
	case K_STR:
	case K_MODE:
		if (!cJSON_IsString(j))
			return lwt_config_errf(err, el, "%s: must be a string, got %s", k->json, jtype(j));
		return set_str(c, i, j->valuestring, err, el);
	case K_LOGLEVEL:
		if (cJSON_IsNumber(j)) {
			snprintf(buf, sizeof(buf), "%g", j->valuedouble);
			return set_str(c, i, buf, err, el);
		}
		if (!cJSON_IsString(j))
			return lwt_config_errf(err, el, "%s: must be a string, got %s", k->json, jtype(j));
		return set_str(c, i, j->valuestring, err, el);
	case K_INT:
		/* Range first: converting inf, nan or 1e300 to long is undefined. */
		if (cJSON_IsNumber(j) && !(j->valuedouble > -1e15 && j->valuedouble < 1e15))
			return lwt_config_errf(err, el, "%s: must be an integer %ld..%ld, got %g", k->json,
				    k->min, k->max, j->valuedouble);
		if (!cJSON_IsNumber(j) || j->valuedouble != (double)(long)j->valuedouble)
			return lwt_config_errf(err, el, "%s: must be an integer, got %s", k->json, jtype(j));
		snprintf(buf, sizeof(buf), "%ld", (long)j->valuedouble);
		return set_str(c, i, buf, err, el);
	case K_BOOL:
		if (!cJSON_IsBool(j))
			return lwt_config_errf(err, el, "%s: must be true or false, got %s", k->json, jtype(j));
		return set_str(c, i, cJSON_IsTrue(j) ? "true" : "false", err, el);
	case K_CIDRS:
		if (cJSON_IsString(j))
			return set_str(c, i, j->valuestring, err, el);
		if (!cJSON_IsArray(j))
			return lwt_config_errf(err, el, "%s: must be a string or an array of strings, got %s",
				    k->json, jtype(j));
		buf[0] = 0;
		cJSON_ArrayForEach(e, j) {
			if (!cJSON_IsString(e))
				return lwt_config_errf(err, el, "%s: entries must be strings, got %s", k->json,
					    jtype(e));
			off += snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "," : "",
					e->valuestring);
			if (off >= sizeof(buf))
				return lwt_config_errf(err, el, "%s: list too long", k->json);
		}
		return set_str(c, i, buf, err, el);
	}
	return -EINVAL;
}

static int load_json(struct lwt_config *c, const char *name, const char *text, char *err, size_t el)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithOpts(text, &end, true), *j;
	int i, r = 0;

	if (!root) {
		/* line:column of where the parser stopped, as editors count */
		int line = 1, col = 1;

		for (const char *p = text; end && p < end && *p; p++, col++)
			if (*p == '\n')
				line++, col = 0;
		return lwt_config_errf(err, el, "%s:%d:%d: not valid JSON", name, line, col);
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return lwt_config_errf(err, el, "%s: the top level must be a JSON object", name);
	}
	cJSON_ArrayForEach(j, root) {
		/* "_comment", "_changes": notes in the reference's files */
		if (j->string && j->string[0] == '_')
			continue;
		i = j->string ? key_lookup(j->string, false) : -1;
		if (i < 0) {
			const char *near = j->string ? nearest(j->string, false) : NULL;

			r = lwt_config_errf(err, el, "%s: unknown key \"%s\"%s%s%s", name,
				 j->string ? j->string : "", near ? " (did you mean \"" : "",
				 near ? near : "", near ? "\"?)" : "");
			break;
		}
		r = set_json(c, i, j, err, el);
		if (r)
			break;
	}
	cJSON_Delete(root);
	return r;
}

int lwt_config_load_json_str(struct lwt_config *cfg, const char *json, char *err, size_t errlen)
{
	return load_json(cfg, "config", json, err, errlen);
}

int lwt_config_load_json(struct lwt_config *cfg, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	struct stat st;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lwt_config_errf(err, errlen, "%s: couldn't open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
		close(fd);
		return lwt_config_errf(err, errlen, "%s: not a regular file under 1 MiB", path);
	}
	text = calloc(1, st.st_size + 1);
	if (!text || read(fd, text, st.st_size) != st.st_size) {
		free(text);
		close(fd);
		return lwt_config_errf(err, errlen, "%s: couldn't read", path);
	}
	close(fd);
	r = load_json(cfg, base, text, err, errlen);
	free(text);
	if (!r)
		snprintf(cfg->config_path, sizeof(cfg->config_path), "%s", path);
	return r;
}

static int load_key_file(struct lwt_config *c, char *err, size_t el)
{
	char *line = NULL;
	size_t cap = 0, n;
	ssize_t got;
	FILE *f;
	int r = 0;

	if (c->key[0])
		return lwt_config_errf(err, el, "key_file: give the key either with key/-k or with key_file, not both");
	f = fopen(c->key_file, "re");
	if (!f)
		return lwt_config_errf(err, el, "key_file: couldn't open \"%s\": %s", c->key_file, strerror(errno));
	/* The whole line, so that trailing whitespace is cut before the length
	 * is judged and a long key is refused, never silently shortened. */
	got = getline(&line, &cap, f);
	fclose(f);
	n = got > 0 ? (size_t)got : 0;
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
		     line[n - 1] == '\t'))
		line[--n] = 0;
	if (!n)
		r = lwt_config_errf(err, el, "key_file: \"%s\" holds no key on its first line", c->key_file);
	else if (n >= sizeof(c->key))
		r = lwt_config_errf(err, el, "key_file: the key in \"%s\" is longer than %d characters",
			 c->key_file, LWT_CFG_STR - 1);
	else
		memcpy(c->key, line, n + 1);
	if (line)
		explicit_bzero(line, cap);
	free(line);
	if (!r)
		c->key_from_file = true;
	return r;
}

/* 0 means "the default" for these, as in the reference. */
static void zero_defaults(struct lwt_config *c)
{
	struct lwt_config d;

	lwt_config_defaults(&d);
	if (!c->fec_data)
		c->fec_data = d.fec_data;
	if (!c->send_queue_size)
		c->send_queue_size = d.send_queue_size;
	if (!c->recv_queue_size)
		c->recv_queue_size = d.recv_queue_size;
	if (!c->max_clients)
		c->max_clients = d.max_clients;
	if (!c->max_hops)
		c->max_hops = d.max_hops;
	if (!c->keepalive)
		c->keepalive = d.keepalive;
}

static int finish(struct lwt_config *c, char *err, size_t el)
{
	struct lwt_cidr t;

	if (c->key_file[0] && load_key_file(c, err, el))
		return -EINVAL;

	if (!c->tunnel_addr[0])
		snprintf(c->tunnel_addr, sizeof(c->tunnel_addr), "%s",
			 c->mode == LWT_MODE_SERVER ? "10.0.0.1/24" : "10.0.0.2/24");
	zero_defaults(c);
	/* A keepalive at or over the default idle timeout (the reference's
	 * low-spec client has 15 against 15): the timeout follows it. Only a
	 * timeout set explicitly is held to be longer. */
	if (c->timeout <= c->keepalive && !lwt_config_has(c, "timeout")) {
		c->timeout = 3 * c->keepalive;
		c->timeout_raised = true;
	}
	if (lwt_config_validate(c, err, el))
		return -EINVAL;
	lwt_tunnel_addr_parse(c->tunnel_addr, &t, &c->tun6, &c->has_ip6, NULL, 0);
	c->tun_ip = t.addr;
	c->tun_prefix = t.prefix;
	if (c->mode == LWT_MODE_SERVER)
		lwt_hostport_parse(c->local_addr, &c->local, true);
	else
		lwt_remote_parse(c->remote_addr, &c->remote, c->remote_host, sizeof(c->remote_host));
	lwt_config_underlay6(c);
	if (c->metrics_listen[0])
		lwt_ipport_parse(c->metrics_listen, &c->metrics);
	if (c->nat_probe_addr[0])
		inet_pton(AF_INET, c->nat_probe_addr, &c->nat_probe.sin_addr);
	return 0;
}

static void usage(void)
{
	printf("usage: lightweight-tunnel [flags]\n"
	       "  -c FILE   load a JSON config; flags given beside -c override the file\n"
	       "  -check    validate the flags and the -c file, print a summary and exit:\n"
	       "            0 valid, 2 invalid (the message names the key); touches nothing\n"
	       "  -g FILE   write a server template FILE and a client template FILE.client (mode 0600);\n"
	       "            never over an existing file unless -force\n"
	       "  -v        print the version\n"
	       "A running daemon re-reads the -c file on SIGHUP or `lwt-ctl reload` (flags\n"
	       "keep precedence): routes, allowed_routes, client_isolation, max_clients,\n"
	       "log_level and fec_parity take effect at once; other keys need a restart.\n");
	for (int i = 0; i < NKEYS; i++)
		if (keys[i].flag)
			printf("  -%-22s %-22s %s\n", keys[i].flag, keys[i].json, keys[i].help);
	printf("file-only keys:\n");
	for (int i = 0; i < NKEYS; i++)
		if (!keys[i].flag)
			printf("  %-47s %s\n", keys[i].json, keys[i].help);
	printf("Go flag syntax: -x v, -x=v, --x v; booleans -x, -x=true, -x=false.\n");
}

int lwt_config_from_argv(struct lwt_config *cfg, int argc, char **argv, char *err, size_t el)
{
	const char *cfile = NULL, *gfile = NULL, *other = NULL;
	bool force = false, check = false;
	int i, r;

	lwt_config_defaults(cfg);
	/* First pass: -h, -v, -g, -c; check every flag exists and has a value. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		char name[64];
		int k;

		if (a[0] != '-' || !a[1])
			return lwt_config_errf(err, el, "unexpected argument \"%s\" (flags start with -)", a);
		a += (a[1] == '-') ? 2 : 1;
		eq = strchr(a, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		if (!strcmp(name, "h") || !strcmp(name, "help")) {
			usage();
			return LWT_CFG_EXIT_OK;
		}
		if (!strcmp(name, "check")) {
			if (eq)
				return lwt_config_errf(err, el, "flag -check takes no value");
			check = true;
			other = argv[i];	/* -g would ignore it */
			continue;
		}
		if (!strcmp(name, "v") || !strcmp(name, "version")) {
			printf("lightweight-tunnel (lwt) %s\n", LWT_VERSION);
			return LWT_CFG_EXIT_OK;
		}
		if (!strcmp(name, "c") || !strcmp(name, "g")) {
			const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v || !*v)
				return lwt_config_errf(err, el, "flag -%s needs a file name", name);
			if (name[0] == 'g')
				gfile = v;
			else
				cfile = other = v;
			continue;
		}
		if (!strcmp(name, "force")) {
			if (eq && !parse_bool(eq + 1, &force))
				return lwt_config_errf(err, el, "-force: must be true or false, got \"%s\"", eq + 1);
			force = !eq || force;
			continue;
		}
		k = key_lookup(name, true);
		if (k < 0) {
			const char *near = nearest(name, true);

			return lwt_config_errf(err, el, "unknown flag -%s (%s%s%ssee -h)", name,
				    near ? "did you mean -" : "", near ? near : "", near ? "? " : "");
		}
		other = argv[i];
		if (!eq && keys[k].type != K_BOOL) {
			if (i + 1 >= argc)
				return lwt_config_errf(err, el, "%s: flag -%s needs a value", keys[k].json, name);
			i++;
		}
	}
	if (gfile) {
		/* -g writes the templates and nothing else: a flag beside it
		 * would be silently ignored, so it is refused. */
		if (other)
			return lwt_config_errf(err, el, "-g: writes the two templates only; it takes no other "
				    "flag than -force (got %s)", other);
		r = lwt_config_write_templates(gfile, force, err, el);
		return r ? r : LWT_CFG_EXIT_OK;
	}
	if (force)
		return lwt_config_errf(err, el, "-force: only with -g (overwrite existing templates)");
	if (cfile) {
		r = lwt_config_load_json(cfg, cfile, err, el);
		if (r)
			return r;
		cfg->key_in_file = lwt_config_has(cfg, "key");
	}
	/* Second pass: apply flags over the file. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i] + ((argv[i][1] == '-') ? 2 : 1), *eq = strchr(a, '='), *v;
		char name[64];
		int k;

		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		if (!strcmp(name, "c")) {
			if (!eq)
				i++;
			continue;
		}
		if (!strcmp(name, "check"))
			continue;
		k = key_lookup(name, true);
		if (eq)
			v = eq + 1;
		else if (keys[k].type == K_BOOL)
			v = "true";
		else
			v = argv[++i];
		r = set_str(cfg, k, v, err, el);
		if (r)
			return r;
	}
	r = finish(cfg, err, el);
	cfg->check_only = check;
	return r;
}

void lwt_config_summary(const struct lwt_config *c, char *out, size_t len)
{
	char fec[32];

	if (c->fec_parity)
		snprintf(fec, sizeof(fec), "%d+%d%s", c->fec_data, c->fec_parity,
			 c->fec_adaptive ? " adaptive" : "");
	else
		snprintf(fec, sizeof(fec), "off");
	snprintf(out, len, "config OK: %s, %s %s, tunnel %s%s%s, mtu %d, FEC %s, data path %s%s%s%s",
		 c->mode == LWT_MODE_SERVER ? "server" : "client",
		 c->mode == LWT_MODE_SERVER ? "listen" : "server", c->mode == LWT_MODE_SERVER ?
		 c->local_addr : c->remote_addr, c->tunnel_addr, c->tun_name[0] ? " on " : "",
		 c->tun_name, c->mtu, fec, c->enable_xdp ? "AF_XDP " : "raw sockets",
		 c->enable_xdp ? c->xdp_mode : "", c->config_path[0] ? ", file " : "", c->config_path);
}

static bool same_value(const struct lwt_config *a, const struct lwt_config *b, const struct keydef *k)
{
	const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
	const struct lwt_cidr *ca = (const void *)pa, *cb = (const void *)pb;
	int na, nb, i;

	if (k->type != K_CIDRS)
		return !memcmp(pa, pb, k->size);
	/* Entry by entry: the padding of struct lwt_cidr is not compared. */
	memcpy(&na, pa + k->size, sizeof(na));
	memcpy(&nb, pb + k->size, sizeof(nb));
	for (i = 0; na == nb && i < na; i++)
		if (ca[i].addr != cb[i].addr || ca[i].prefix != cb[i].prefix)
			return false;
	return na == nb;
}

int lwt_config_diff(const struct lwt_config *a, const struct lwt_config *b,
		    const char *const *skip, char *out, size_t len)
{
	size_t off = 0;
	int i, j, n = 0;

	if (len)
		out[0] = 0;
	for (i = 0; i < NKEYS; i++) {
		for (j = 0; skip && skip[j] && strcmp(skip[j], keys[i].json); j++)
			;
		if ((skip && skip[j]) || same_value(a, b, &keys[i]))
			continue;
		n++;
		if (off < len)
			off += snprintf(out + off, len - off, "%s%s", off ? ", " : "", keys[i].json);
	}
	return n;
}

int lwt_config_scrub_argv(int argc, char **argv)
{
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		char *a = argv[i], *v = NULL;

		if (a[0] != '-')
			continue;
		a += a[1] == '-' ? 2 : 1;
		if (!strcmp(a, "k") && i + 1 < argc)
			v = argv[++i];
		else if (!strncmp(a, "k=", 2))
			v = a + 2;
		if (v && *v) {
			memset(v, 'x', strlen(v));
			n++;
		}
	}
	return n;
}

void lwt_config_log_notes(const struct lwt_config *c)
{
	struct stat st;

	/* Group-readable is fine for the daemon's own group (the service's
	 * root:lwt 0640). */
	if (c->config_path[0] && stat(c->config_path, &st) == 0 && c->key_in_file &&
	    ((st.st_mode & 007) || ((st.st_mode & 070) && st.st_gid != getegid())))
		lwt_warn("config %s holds the key and is readable by other users (mode %o); chmod 600 it",
			 c->config_path, st.st_mode & 0777);
	if (c->key_file[0] && stat(c->key_file, &st) == 0 && (st.st_mode & 077))
		lwt_warn("key_file %s is readable by other users (mode %o); chmod 600 it",
			 c->key_file, st.st_mode & 0777);
	if (c->timeout_raised)
		lwt_info("timeout: keepalive is %d s, so the idle timeout is %d s (3 x keepalive; "
			 "set timeout to choose another)", c->keepalive, c->timeout);
	if (c->mode == LWT_MODE_CLIENT && lwt_config_has(c, "local_addr"))
		lwt_info("local_addr: not used by a client (its local address and port follow the "
			 "route to the server)");
}
