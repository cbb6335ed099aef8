// SPDX-License-Identifier: MIT
/* libFuzzer target: the JSON config (lwt_config_load_json_str) and the
 * argv flags (lwt_config_from_argv, with -c, -key-file, -h, -v). Input:
 * JSON text, a NUL, then argv entries separated by NULs. config.c is
 * compiled in here (its key table drives the round trip below).
 *
 * Nothing reaches the host: host names are resolved in a network
 * namespace of the process's own (no network, no DNS); -g (which writes
 * files) is refused; every -c and -key-file value, and a key_file in any
 * JSON read, is replaced by a file of this process's temporary directory
 * (the -c file holds the input's JSON, the key file a key or one of the
 * bad ones the input picks).
 *
 * Invariants:
 *  - results are 0, LWT_CFG_EXIT_OK or -EINVAL; an error is a non-empty
 *    message without a trailing newline;
 *  - a config accepted (JSON + finish, or argv) validates, holds
 *    terminated strings, CIDR lists without host bits, and a tunnel
 *    address/prefix equal to its tunnel_addr text;
 *  - encode(decode(x)): a JSON config that is accepted, written back as
 *    flags (and the file-only keys as a -c file), parses to the same value
 *    for every key;
 *  - lwt_config_scrub_argv leaves no -k value readable and no argument
 *    of another length. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "config.c"
#include "fuzz.h"

#define MAX_ARGS 40

static char dir[] = "/tmp/lwt-fuzz-config.XXXXXX";
static char json_path[64], key_path[64], rt_path[64];

static void cleanup(void)
{
	unlink(json_path);
	unlink(key_path);
	unlink(rt_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	fz_quiet();
	fz_private_netns("fuzz_config");
	if (!mkdtemp(dir))
		return 1;
	snprintf(json_path, sizeof(json_path), "%s/c.json", dir);
	snprintf(key_path, sizeof(key_path), "%s/key", dir);
	snprintf(rt_path, sizeof(rt_path), "%s/rt.json", dir);
	atexit(cleanup);
	/* -h and -v print on stdout. */
	fd = open("/dev/null", O_WRONLY);
	if (fd >= 0) {
		dup2(fd, 1);
		close(fd);
	}
	return 0;
}

static void put_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	FZ_CHECK(fd >= 0, "couldn't create %s", path);
	FZ_CHECK(write(fd, text, len) == (ssize_t)len, "couldn't write %s", path);
	close(fd);
}

static void check_err(int r, const char *err)
{
	FZ_CHECK(r == 0 || r == LWT_CFG_EXIT_OK || r == -EINVAL, "result %d", r);
	if (r != -EINVAL)
		return;
	/* (It may hold a newline: the bad value is quoted as it came.) */
	FZ_CHECK(err[0] && strnlen(err, 512) < 512 && err[strlen(err) - 1] != '\n',
		 "error message \"%s\"", err);
}

static void check_cfg(const struct lwt_config *c)
{
	char err[512];
	struct lwt_cidr t;
	struct lwt_cidr6 t6;
	bool has6;
	char errb[256];

	FZ_CHECK(lwt_config_validate(c, err, sizeof(err)) == 0, "an accepted config does not "
		 "validate: %s", err);
#define TERM(f) FZ_CHECK(strnlen(c->f, sizeof(c->f)) < sizeof(c->f), #f " not terminated")
	TERM(local_addr);
	TERM(remote_addr);
	TERM(tunnel_addr);
	TERM(key);
	TERM(key_file);
	TERM(tun_name);
	TERM(xdp_mode);
	TERM(transport);
	TERM(ctl_socket);
#undef TERM
	FZ_CHECK(c->n_routes >= 0 && c->n_routes <= LWT_MAX_ROUTES && c->n_allowed_routes >= 0 &&
		 c->n_allowed_routes <= LWT_MAX_ROUTES, "route counts %d/%d", c->n_routes,
		 c->n_allowed_routes);
	for (int i = 0; i < c->n_routes; i++)
		FZ_CHECK(c->routes[i].prefix <= 32 &&
			 !(c->routes[i].addr & ~mask_of(c->routes[i].prefix)), "route %d host bits", i);
	for (int i = 0; i < c->n_allowed_routes; i++)
		FZ_CHECK(c->allowed_routes[i].prefix <= 32 &&
			 !(c->allowed_routes[i].addr & ~mask_of(c->allowed_routes[i].prefix)),
			 "allowed route %d host bits", i);
	/* The IPv4 prefix, and an IPv6 one beside it (inet6_cfg.c). */
	FZ_CHECK(!lwt_tunnel_addr_parse(c->tunnel_addr, &t, &t6, &has6, errb, sizeof(errb)) &&
		 t.addr == c->tun_ip && t.prefix == c->tun_prefix && has6 == c->has_ip6 &&
		 (!has6 || (!memcmp(t6.addr, c->tun6.addr, 16) && t6.prefix == c->tun6.prefix)),
		 "tun_ip/prefix (or the IPv6 ones) do not match tunnel_addr \"%s\"", c->tunnel_addr);
	FZ_CHECK(c->key[0], "accepted without a key");
}

/* One key's value as a flag would give it. */
static void value_str(const struct lwt_config *c, int i, char *out, size_t len)
{
	const struct keydef *k = &keys[i];
	const void *p = (const char *)c + k->off;
	size_t off = 0;

	switch (k->type) {
	case K_STR:
		snprintf(out, len, "%s", (const char *)p);
		break;
	case K_MODE:
		snprintf(out, len, "%s", c->mode == LWT_MODE_SERVER ? "server" : "client");
		break;
	case K_INT:
	case K_LOGLEVEL:
		snprintf(out, len, "%d", *(const int *)p);
		break;
	case K_BOOL:
		snprintf(out, len, "%s", *(const bool *)p ? "true" : "false");
		break;
	case K_CIDRS: {
		const struct lwt_cidr *a = p;
		int n = *(const int *)((const char *)c + k->off + k->size);

		out[0] = 0;
		for (int j = 0; j < n && off < len; j++) {
			char ip[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &a[j].addr, ip, sizeof(ip));
			off += snprintf(out + off, len - off, "%s%s/%u", j ? "," : "", ip, a[j].prefix);
		}
		break;
	}
	}
}

/* a came from JSON: the same keys as flags (file-only ones in a -c file)
 * must parse to the same values. */
static void round_trip(const struct lwt_config *a)
{
	static char vals[NKEYS][4200], *argv[NKEYS + 4];
	struct lwt_config b;
	char err[512];
	cJSON *file = cJSON_CreateObject();
	int argc = 0, i, r;

	argv[argc++] = "lightweight-tunnel";
	for (i = 0; i < NKEYS; i++) {
		char v[4096];

		if (!(a->has[i / 64] >> (i % 64) & 1))
			continue;
		value_str(a, i, v, sizeof(v));
		if (keys[i].flag) {
			snprintf(vals[i], sizeof(vals[i]), "-%s=%s", keys[i].flag, v);
			argv[argc++] = vals[i];
		} else {
			cJSON_AddItemToObject(file, keys[i].json, keys[i].type == K_INT ?
					      cJSON_CreateNumber(*(const int *)((const char *)a + keys[i].off)) :
					      keys[i].type == K_BOOL ?
					      cJSON_CreateBool(*(const bool *)((const char *)a + keys[i].off)) :
					      cJSON_CreateString(v));
		}
	}
	if (file->child) {
		char *t = cJSON_PrintUnformatted(file);

		put_file(rt_path, t, strlen(t));
		free(t);
		argv[argc++] = "-c";
		argv[argc++] = rt_path;
	}
	cJSON_Delete(file);
	r = lwt_config_from_argv(&b, argc, argv, err, sizeof(err));
	FZ_CHECK(r == 0, "the accepted JSON config written as flags is refused: %s", err);
	for (i = 0; i < NKEYS; i++) {
		const struct keydef *k = &keys[i];
		size_t n = k->size + (k->type == K_CIDRS ? sizeof(int) : 0);

		FZ_CHECK(!memcmp((const char *)a + k->off, (const char *)&b + k->off,
				 k->type == K_STR ? strlen((const char *)a + k->off) + 1 : n),
			 "key %s: the JSON's value and the flag's differ", k->json);
	}
	FZ_CHECK(a->tun_ip == b.tun_ip && a->tun_prefix == b.tun_prefix && a->mode == b.mode &&
		 !memcmp(a->key, b.key, sizeof(a->key)), "tunnel address, mode or key differ");
}

/* Every key_file in a JSON text becomes our key file; the text to write. */
static char *sanitize_json(const char *text)
{
	cJSON *root = cJSON_Parse(text), *j;
	char *out;

	if (!root)
		return strdup(text);
	if (cJSON_IsObject(root))
		cJSON_ArrayForEach(j, root)
			if (j->string && !strcmp(j->string, "key_file") && cJSON_IsString(j))
				cJSON_SetValuestring(j, key_path);
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out ? out : strdup("{}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys_in_file[] = {
		"a-fuzz-key-of-some-length\n", "", "short", "key with spaces \t\r\n",
	};
	char *buf = malloc(size + 2), *json, *p, *end, *args[MAX_ARGS + 3], *copy[MAX_ARGS + 3];
	char err[512] = "", longkey[300];
	struct lwt_config c;
	static int key_now = -1;
	int argc = 0, r, i;
	bool cfile = false;
	uint8_t flags;

	if (!size) {
		free(buf);
		return 0;
	}
	flags = data[0];
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = buf[size] = 0;
	end = buf + size - 1;
	json = buf;
	/* The key file: a good key, an empty one, a short one, one with
	 * whitespace around, or one too long. */
	if ((flags & 7) != key_now) {
		key_now = flags & 7;
		if (key_now < 4) {
			put_file(key_path, keys_in_file[key_now], strlen(keys_in_file[key_now]));
		} else {
			memset(longkey, 'k', sizeof(longkey));
			put_file(key_path, longkey, 256 + (key_now & 3));
		}
	}

	/* 1. JSON text, then finish() as the argv path does. */
	lwt_config_defaults(&c);
	r = lwt_config_load_json_str(&c, json, err, sizeof(err));
	check_err(r, err);
	if (r == 0) {
		if (c.key_file[0])
			snprintf(c.key_file, sizeof(c.key_file), "%s", key_path);
		r = finish(&c, err, sizeof(err));
		check_err(r, err);
		if (r == 0) {
			check_cfg(&c);
			if (!c.key_file[0] && (flags & 0x80))
				round_trip(&c);
		}
	}

	/* 2. argv: the entries after the JSON's NUL. */
	args[argc++] = "lightweight-tunnel";
	for (p = json + strlen(json) + 1; p < end && argc < MAX_ARGS; p += strlen(p) + 1) {
		const char *a = p, *eq;
		char name[64];

		args[argc] = p;
		if (a[0] == '-') {
			a += a[1] == '-' ? 2 : 1;
			eq = strchr(a, '=');
			snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
			if (!strcmp(name, "g"))
				goto out;	/* writes files: not here */
			if (!strcmp(name, "c") || !strcmp(name, "key-file")) {
				const char *path = name[0] == 'c' ? json_path : key_path;

				cfile |= name[0] == 'c';

				if (eq) {
					/* a copy with the name and our path */
					static char fl[MAX_ARGS + 2][80];

					snprintf(fl[argc], sizeof(fl[argc]), "-%s=%s", name, path);
					args[argc] = fl[argc];
				} else if (p + strlen(p) + 1 < end) {
					argc++;
					p += strlen(p) + 1;
					args[argc] = (char *)path;
				}
			}
		}
		argc++;
	}
	args[argc] = NULL;
	if (cfile) {
		char *t = sanitize_json(json);

		put_file(json_path, t, strlen(t));
		free(t);
	}
	err[0] = 0;
	r = lwt_config_from_argv(&c, argc, args, err, sizeof(err));
	check_err(r, err);
	if (r == 0) {
		check_cfg(&c);
		lwt_config_log_notes(&c);
	}
	/* Scrubbing -k values: on copies (args may point into the input). */
	for (i = 0; i < argc; i++)
		copy[i] = strdup(args[i]);
	lwt_config_scrub_argv(argc, copy);
	for (i = 1; i < argc; i++) {
		const char *a = args[i] + (args[i][0] == '-' && args[i][1] == '-' ? 2 : 1);

		FZ_CHECK(strlen(copy[i]) == strlen(args[i]), "scrub changed argument %d's length", i);
		if (args[i][0] == '-' && !strncmp(a, "k=", 2) && a[2])
			FZ_CHECK(strspn(copy[i] + (a - args[i]) + 2, "x") == strlen(a + 2),
				 "-k=VALUE left readable");
		if (args[i][0] == '-' && !strcmp(a, "k") && i + 1 < argc && args[i + 1][0]) {
			FZ_CHECK(strspn(copy[i + 1], "x") == strlen(copy[i + 1]), "-k VALUE left readable");
			i++;
		}
	}
	for (i = 0; i < argc; i++)
		free(copy[i]);
out:
	free(buf);
	return 0;
}
