// SPDX-License-Identifier: MIT
/* Reload (control thread): SIGHUP or `lwt-ctl reload` parses the command
 * line again exactly as at start -- the -c file re-read, the flags given
 * beside it still taking precedence -- and applies what can change while
 * sessions run: routes, allowed_routes, client_isolation, max_clients,
 * log_level, fec_parity. Every other key that changed is named in one log
 * line and keeps its old value. A file that does not parse or validate
 * changes nothing. The pollers learn client_isolation and fec_parity through
 * their command queues (LWT_CMD_CONFIG), never by reading d->cfg. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "inet6.h"
#include "log.h"
#include "notify.h"

static char **saved_argv;
static int saved_argc;

int lwt_reload_save_argv(int argc, char **argv)
{
	int i;

	saved_argv = calloc(argc + 1, sizeof(*saved_argv));
	if (!saved_argv)
		return -ENOMEM;
	for (i = 0; i < argc; i++) {
		saved_argv[i] = strdup(argv[i]);
		if (!saved_argv[i]) {
			lwt_reload_free_argv();
			return -ENOMEM;
		}
	}
	saved_argc = argc;
	return 0;
}

void lwt_reload_free_argv(void)
{
	int i;

	for (i = 0; saved_argv && i < saved_argc; i++) {
		/* It may hold a -k key. */
		OPENSSL_cleanse(saved_argv[i], strlen(saved_argv[i]));
		free(saved_argv[i]);
	}
	free(saved_argv);
	saved_argv = NULL;
	saved_argc = 0;
}

/* Keys applied at run time; the rest are compared and, if changed, named. */
static const char *const runtime_keys[] = {
	"routes", "allowed_routes", "client_isolation", "max_clients", "log_level", "fec_parity",
	NULL
};

static void tell_pollers(struct lwt_daemon *d)
{
	uint64_t v = (uint64_t)d->cfg.client_isolation | (uint64_t)d->cfg.fec_parity << 8;
	int i;

	for (i = 0; i < d->npollers; i++) {
		struct lwt_msg m = { .type = LWT_CMD_CONFIG, .slot = -1, .u64 = v };

		if (!(d->config_owed & 1u << i))
			continue;
		if (!lwt_msgq_push(&d->to_dp[i], &m))
			d->config_owed &= ~(1u << i);
	}
}

void lwt_reload_tick(struct lwt_daemon *d)
{
	if (d->config_owed)
		tell_pollers(d);
}

static bool cidrs_equal(const struct lwt_cidr *a, int na, const struct lwt_cidr *b, int nb)
{
	int i;

	for (i = 0; na == nb && i < na; i++)
		if (a[i].addr != b[i].addr || a[i].prefix != b[i].prefix)
			return false;
	return na == nb;
}

/* Append ", name" (or "name") to a list in buf. */
static void add(char *buf, size_t len, const char *name)
{
	size_t off = strlen(buf);

	if (off < len)
		snprintf(buf + off, len - off, "%s%s", off ? ", " : "", name);
}

static int reload(struct lwt_daemon *d, struct lwt_config *n, char *msg, size_t len)
{
	struct lwt_config *c = &d->cfg;
	char fixed[512], applied[256] = "";
	/* max_clients may rise at run time only as far as the slots made at
	 * start. */
	int r, cap = d->cfg.mode == LWT_MODE_SERVER ? d->nslots - LWT_EMBRYONIC_SLOTS : 1;
	bool routes, allowed;

	if (!c->config_path[0] || !saved_argv) {
		snprintf(msg, len, "started without -c FILE: there is no config file to re-read");
		return -ENOENT;
	}
	r = lwt_config_from_argv(n, saved_argc, saved_argv, msg, len);
	if (r < 0)
		return r;
	if (r != LWT_CFG_RUN) {
		snprintf(msg, len, "the command line no longer parses as a start");
		return -EINVAL;
	}
	lwt_config_diff(c, n, runtime_keys, fixed, sizeof(fixed));
	if (n->multi_client && c->multi_client && n->max_clients > cap) {
		/* Slots are made at start. */
		add(fixed, sizeof(fixed), "max_clients above its value at start");
		n->max_clients = c->max_clients;
	}
	if (fixed[0])
		lwt_warn("reload: not changed at run time: %s (restart to apply)", fixed);

	routes = !cidrs_equal(c->routes, c->n_routes, n->routes, n->n_routes);
	allowed = !cidrs_equal(c->allowed_routes, c->n_allowed_routes, n->allowed_routes,
			       n->n_allowed_routes);
	lwt_in6_reload_cfg(c, n, &routes, &allowed);	/* their IPv6 entries: inet6.c */
	if (routes) {
		memcpy(c->routes, n->routes, sizeof(c->routes));
		c->n_routes = n->n_routes;
		add(applied, sizeof(applied), "routes");
	}
	if (allowed) {
		memcpy(c->allowed_routes, n->allowed_routes, sizeof(c->allowed_routes));
		c->n_allowed_routes = n->n_allowed_routes;
		add(applied, sizeof(applied), "allowed_routes");
	}
	if (c->max_clients != n->max_clients) {
		/* Live sessions stay; admit() counts them against new ones. */
		lwt_info("reload: max_clients %d -> %d", c->max_clients, n->max_clients);
		c->max_clients = n->max_clients;
		add(applied, sizeof(applied), "max_clients");
	}
	if (c->log_level != n->log_level) {
		c->log_level = n->log_level;
		lwt_log_set_level(n->log_level);
		add(applied, sizeof(applied), "log_level");
	}
	if (c->client_isolation != n->client_isolation || c->fec_parity != n->fec_parity) {
		if (c->client_isolation != n->client_isolation)
			add(applied, sizeof(applied), "client_isolation");
		if (c->fec_parity != n->fec_parity)
			add(applied, sizeof(applied), "fec_parity");
		/* New handshakes offer the new FEC shape (make_install, HELLO). */
		c->client_isolation = n->client_isolation;
		c->fec_parity = n->fec_parity;
		d->config_owed = (d->npollers >= 32 ? ~0u : (1u << d->npollers) - 1);
		tell_pollers(d);
		/* Isolated clients must not keep their direct paths either. */
		if (c->client_isolation && c->mode == LWT_MODE_SERVER)
			lwt_p2p_close_all(d);
	}
	lwt_routes_reload(d, routes, allowed);
	snprintf(msg, len, "reloaded %s: %s%s%s%s", c->config_path, applied[0] ? "applied " : "",
		 applied[0] ? applied : "no run-time change", fixed[0] ? "; not changed at run time: " : "",
		 fixed);
	return 0;
}

int lwt_reload(struct lwt_daemon *d, char *msg, size_t len)
{
	struct lwt_config *n = calloc(1, sizeof(*n));
	int r;

	lwt_notify_reloading();
	if (!n) {
		snprintf(msg, len, "out of memory");
		r = -ENOMEM;
	} else {
		r = reload(d, n, msg, len);
		OPENSSL_cleanse(n, sizeof(*n));
		free(n);
	}
	if (r) {
		d->reloads_failed++;
		/* Without -c there is nothing to do: the asker is told. */
		lwt_log(r == -ENOENT ? LWT_LOG_WARN : LWT_LOG_ERROR,
			"reload: %s; still running on the previous config", msg);
	} else {
		d->reloads++;
		lwt_info("reload: %s", msg);
	}
	lwt_notify_ready(d);
	return r;
}
