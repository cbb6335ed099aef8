// SPDX-License-Identifier: MIT
/* Configuration: lwt_config_validate(), the checks a loaded configuration
 * passes before the daemon uses it (names, keys, addresses, ranges and how
 * the values go together), each refusal naming the key and the reason. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include "config.h"

static bool tun_name_ok(const char *n)
{
	int pct = 0;

	if (strlen(n) > 15)
		return false;
	for (const char *p = n; *p; p++) {
		if (*p == '%') {
			if (p[1] != 'd' || pct++)
				return false;
			p++;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '-'))
			return false;
	}
	return true;
}

/* Keys from templates and the reference's README, which many copy as they
 * are (compared without case). */
static const char *const placeholder_keys[] = {
	"your-secret-key", "my-secret-key", "shared-secret", "p2p-secret", "same-key",
	"my-key", "complex-random-key-123!", "secret-key", "your-key", "changeme",
};

static int key_ok(const char *key, char *err, size_t el)
{
	static const char how[] = "generate one with lightweight-tunnel -g FILE or "
				  "openssl rand -base64 32";

	if (!strncasecmp(key, "CHANGE-ME", 9) || !strncasecmp(key, "CHANGEME", 8))
		return lwt_config_errf(err, el, "key: still the template's placeholder; %s", how);
	for (size_t i = 0; i < sizeof(placeholder_keys) / sizeof(placeholder_keys[0]); i++)
		if (!strcasecmp(key, placeholder_keys[i]))
			return lwt_config_errf(err, el, "key: \"%s\" is an example key from the reference's "
				    "README; %s", placeholder_keys[i], how);
	if (strlen(key) < 12)
		return lwt_config_errf(err, el, "key: shorter than 12 characters; %s", how);
	return 0;
}

/* NAT detection's ports: P and P + 1 (default: the server's port + 1),
 * within 1..65535; nat_probe_addr a literal of the server's. */
static int nat_probe_check(const struct lwt_config *c, char *err, size_t el)
{
	char host[LWT_CFG_STR];
	struct sockaddr_in sa;
	struct in_addr a;
	int base = 0;

	if (c->mode == LWT_MODE_SERVER && lwt_hostport_parse(c->local_addr, &sa, true))
		base = ntohs(sa.sin_port);
	else if (c->mode == LWT_MODE_CLIENT && lwt_remote_parse(c->remote_addr, &sa, host, sizeof(host)))
		base = ntohs(sa.sin_port);
	if (!c->nat_probe_port && base + 2 > 65535 && c->enable_nat_detection)
		return lwt_config_errf(err, el, "nat_probe_port: the default (port %d + 1, and + 2) is out "
				       "of range: set nat_probe_port, or enable_nat_detection false", base);
	if (c->nat_probe_addr[0] && c->mode != LWT_MODE_SERVER)
		return lwt_config_errf(err, el, "nat_probe_addr: only for server mode");
	if (c->nat_probe_addr[0] && (inet_pton(AF_INET, c->nat_probe_addr, &a) != 1 || !a.s_addr ||
				     a.s_addr == INADDR_BROADCAST))
		return lwt_config_errf(err, el, "nat_probe_addr: bad address \"%s\" (want an IPv4 "
				       "address of this host)", c->nat_probe_addr);
	return 0;
}

int lwt_config_validate(const struct lwt_config *c, char *err, size_t el)
{
	struct lwt_cidr t;
	struct lwt_cidr6 t6;
	bool has6;
	struct sockaddr_in sa;
	char host[LWT_CFG_STR];
	uint64_t id;

	if (!c->key[0])
		return lwt_config_errf(err, el, "key: required (-k or key_file); lwt refuses to run without a pre-shared key");
	if (c->mode == LWT_MODE_CLIENT && !c->remote_addr[0])
		return lwt_config_errf(err, el, "remote_addr: required in client mode (-r host:port)");
	/* The reference's server files carry "remote_addr": "", its client
	 * files a local_addr it never used: both load (the latter noted). */
	if (c->mode == LWT_MODE_SERVER && c->remote_addr[0])
		return lwt_config_errf(err, el, "remote_addr: only for client mode");
	if (c->mode == LWT_MODE_SERVER && !lwt_hostport_parse(c->local_addr, &sa, true))
		return lwt_config_errf(err, el, "local_addr: bad address \"%s\" (%s)", c->local_addr,
				       lwt_hostport_why(c->local_addr, "want ip:port or [ipv6]:port"));
	/* A name need not resolve yet: the daemon retries (resolve.c). */
	if (c->mode == LWT_MODE_CLIENT && !lwt_remote_parse(c->remote_addr, &sa, host, sizeof(host)))
		return lwt_config_errf(err, el, "remote_addr: bad address \"%s\" (%s)", c->remote_addr,
			    lwt_hostport_why(c->remote_addr, "want host:port, host a name or an IPv4 "
					     "address, or [ipv6]:port; port 1..65535"));
	if (strcmp(c->remote_family, "auto") && strcmp(c->remote_family, "ipv4") &&
	    strcmp(c->remote_family, "ipv6"))
		return lwt_config_errf(err, el, "remote_family: must be auto, ipv4 or ipv6, got \"%s\"",
				       c->remote_family);
	/* A literal is its own family. */
	if (c->mode == LWT_MODE_CLIENT && strcmp(c->remote_family, "auto")) {
		bool lit6 = c->remote_addr[0] == '[';
		struct in_addr a4;

		if (lit6 && !strcmp(c->remote_family, "ipv4"))
			return lwt_config_errf(err, el, "remote_family: ipv4, but remote_addr \"%s\" is "
					       "an IPv6 address", c->remote_addr);
		if (!lit6 && inet_pton(AF_INET, host, &a4) == 1 && !strcmp(c->remote_family, "ipv6"))
			return lwt_config_errf(err, el, "remote_family: ipv6, but remote_addr \"%s\" is "
					       "an IPv4 address", c->remote_addr);
	}
	if (c->tunnel_addr[0] && lwt_tunnel_addr_parse(c->tunnel_addr, &t, &t6, &has6, err, el))
		return -EINVAL;
	if (c->faketcp_max_segment && c->faketcp_max_segment < 576 + 45)
		return lwt_config_errf(err, el, "faketcp_max_segment: must be 0 or at least %d (a 576-byte packet "
			    "and lwt's 45 bytes), got %d", 576 + 45, c->faketcp_max_segment);
	if (c->mtu && c->mtu < 576)
		return lwt_config_errf(err, el, "mtu: must be 0 or 576..9000, got %d", c->mtu);
	if (c->fec_data + c->fec_parity > 255)
		return lwt_config_errf(err, el, "fec_parity: fec_data + fec_parity must be at most 255, got %d",
			    c->fec_data + c->fec_parity);
	if (c->timeout <= c->keepalive)
		return lwt_config_errf(err, el, "timeout: must be longer than keepalive (%d s), got %d s",
			    c->keepalive, c->timeout);
	if (c->tun_name[0] && !tun_name_ok(c->tun_name))
		return lwt_config_errf(err, el, "tun_name: bad name \"%s\" (at most 15 of [A-Za-z0-9_.-], one %%d)",
			    c->tun_name);
	if (strcmp(c->xdp_mode, "auto") && strcmp(c->xdp_mode, "native") && strcmp(c->xdp_mode, "generic"))
		return lwt_config_errf(err, el, "xdp_mode: must be auto, native or generic, got \"%s\"", c->xdp_mode);
	if (strcmp(c->transport, "rawtcp"))
		return lwt_config_errf(err, el, "transport: only \"rawtcp\" is supported, got \"%s\"", c->transport);
	if (lwt_config_has(c, "client_id") && c->mode != LWT_MODE_CLIENT)
		return lwt_config_errf(err, el, "client_id: only for client mode");
	if (c->client_id[0] && !lwt_client_id_parse(c->client_id, &id))
		return lwt_config_errf(err, el, "client_id: must be 1 to 16 hex digits, not all zero, got \"%s\"",
			    c->client_id);
	if (c->user[0] && !getpwnam(c->user))
		return lwt_config_errf(err, el, "user: no such user \"%s\"", c->user);
	if (c->metrics_listen[0] && !lwt_ipport_parse(c->metrics_listen, &sa))
		return lwt_config_errf(err, el, "metrics_listen: bad address \"%s\" (want ip:port, e.g. "
			    "127.0.0.1:9586)", c->metrics_listen);
	if (nat_probe_check(c, err, el))
		return -EINVAL;
	return key_ok(c->key, err, el);
}

/* Fill parsed fields after validation. */
/* key_file: the key is the file's first line (trailing whitespace cut). */
