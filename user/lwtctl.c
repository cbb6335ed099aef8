// SPDX-License-Identifier: MIT
/* lwt-ctl: talk to a running lightweight-tunnel through its control socket.
 *   lwt-ctl [-i TUN] status|stats|peers|routes|reload [--json]
 * Without -i, the one daemon in this network namespace is used. Exit
 * status: 0 answered, 1 the daemon (or finding it) failed, 2 bad usage.
 * Under --json every answer on stdout is JSON, errors too:
 * {"error": "..."}. */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ctlproto.h"

#ifndef LWT_VERSION
#define LWT_VERSION "dev"
#endif

static bool json;

/* An error: a line on stderr, or under --json {"error": ...} on stdout. */
static int fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json) {
		cJSON *j = cJSON_CreateObject();
		char *out;

		cJSON_AddStringToObject(j, "error", msg);
		out = cJSON_PrintUnformatted(j);
		if (out)
			printf("%s\n", out);
		free(out);
		cJSON_Delete(j);
	} else {
		fprintf(stderr, "lwt-ctl: %s\n", msg);
	}
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lwt-ctl [-i TUN] <command> [--json]\n"
		   "       lwt-ctl --version\n"
		   "commands:\n"
		   "  status   path in use (af-xdp or raw-socket, XDP mode, copy/zero-copy, queues),\n"
		   "           mode, TUN, kernel tuning, sessions, uptime\n"
		   "  stats    status plus every counter, totals and per peer\n"
		   "  peers    one line per peer (--json: the array of peers)\n"
		   "  routes   advertised routes and what became of them (accepted, refused and\n"
		   "           why, installed here)\n"
		   "  list     daemons in this network namespace\n"
		   "  attach IFACE [--mode native|generic|auto]   move the data path to AF_XDP\n"
		   "  detach IFACE                                back to raw sockets\n"
		   "  reload   re-read the daemon's config file (as SIGHUP does); exit 1 with the\n"
		   "           error if it does not load (the daemon keeps its running config)\n"
		   "-i TUN picks the daemon by its TUN name (needed when more than one runs here).\n"
		   "--json: answers, errors included, as JSON on stdout.\n"
		   "Exit status: 0 answered, 1 the daemon refused or could not be reached, 2 usage.\n");
}

/* Abstract socket names carry no permissions: any local user may bind
 * "@lwt/<name>" before the daemon does. Trust the server end only if its
 * owner (SO_PEERCRED, as of its listen()) is root, ourselves, or the
 * service user "lwt"; 0 if trusted, else prints why and returns 1. */
static int check_server(int fd, const char *inst)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	const struct passwd *pw;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		return fail(1, "couldn't check who holds '@%s%s': %s", LWT_CTL_PREFIX, inst,
			    strerror(errno));
	if (cred.uid == 0 || cred.uid == geteuid())
		return 0;
	pw = getpwnam("lwt");
	if (pw && pw->pw_uid == cred.uid)
		return 0;
	return fail(1, "refusing '@%s%s': it is held by uid %u (pid %d), not by root, you or "
		    "the service user 'lwt' (another user's socket squatting the daemon's name?)",
		    LWT_CTL_PREFIX, inst, (unsigned)cred.uid, (int)cred.pid);
}

/* Write n bytes of the daemon's answer with every control character but
 * newline and tab (and every byte outside ASCII) shown as '?': nothing the
 * daemon (or an impostor) sends can drive the terminal. */
static void write_clean(FILE *f, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];

		fputc(c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f) ? c : '?', f);
	}
}

/* Abstract sockets "@lwt/<name>" of this network namespace, from /proc/net/unix. */
static int find_instances(char names[][64], int max)
{
	FILE *f = fopen("/proc/net/unix", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " @" LWT_CTL_PREFIX);
		int i;

		if (!p)
			continue;
		p += 2 + strlen(LWT_CTL_PREFIX);
		p[strcspn(p, " \n")] = 0;
		for (i = 0; i < n; i++)
			if (!strcmp(names[i], p))
				break;
		if (i == n && n < max)
			snprintf(names[n++], 64, "%s", p);
	}
	fclose(f);
	return n;
}

/* "a, b, c" of the daemons found, or "none". */
static const char *name_list(char names[][64], int n, char *buf, size_t len)
{
	size_t off = 0;

	snprintf(buf, len, "none");
	for (int i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", names[i]);
	return buf;
}

int main(int argc, char **argv)
{
	const char *inst = NULL, *command = NULL;
	char names[16][64], req[128], buf[4096], list[512];
	struct sockaddr_un sa;
	socklen_t len;
	const char *iface = NULL, *mode = "auto";
	int i, n, fd, rc = 0;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = true;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-i") && i + 1 < argc)
			inst = argv[++i];
		else if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			continue;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("lwt-ctl (lwt) %s\n", LWT_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (argv[i][0] != '-' && !command)
			command = argv[i];
		else if (argv[i][0] != '-' && !iface)
			iface = argv[i];
		else {
			if (!json)
				usage(stderr);
			return fail(2, "unknown argument '%s'", argv[i]);
		}
	}
	if (!command) {
		if (!json)
			usage(stderr);
		return fail(2, "no command given");
	}
	n = find_instances(names, 16);
	if (!strcmp(command, "list")) {
		if (json) {
			cJSON *a = cJSON_CreateArray();
			char *out;

			for (i = 0; i < n; i++)
				cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
			out = cJSON_PrintUnformatted(a);
			printf("%s\n", out ? out : "[]");
			free(out);
			cJSON_Delete(a);
			return 0;
		}
		for (i = 0; i < n; i++)
			printf("%s\n", names[i]);
		return 0;
	}
	if (!strcmp(command, "attach") || !strcmp(command, "detach")) {
		if (!iface)
			return fail(2, "%s needs an interface", command);
		if (strcmp(mode, "auto") && strcmp(mode, "native") && strcmp(mode, "generic"))
			return fail(2, "--mode must be native, generic or auto");
	} else if (strcmp(command, "status") && strcmp(command, "stats") && strcmp(command, "peers") &&
		   strcmp(command, "routes") && strcmp(command, "reload")) {
		if (!json)
			usage(stderr);
		return fail(2, "unknown command '%s'", command);
	}
	if (!inst) {
		if (n <= 0)
			return fail(1, "no lightweight-tunnel daemon runs in this network namespace");
		if (n > 1)
			return fail(2, "%d daemons run here; pick one with -i: %s", n,
				    name_list(names, n, list, sizeof(list)));
		inst = names[0];
	} else {
		for (i = 0; i < n && strcmp(names[i], inst); i++)
			;
		if (i == n)
			return fail(1, "no daemon '%s' in this network namespace; running here: %s",
				    inst, name_list(names, n, list, sizeof(list)));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	len = lwt_ctlproto_addr(&sa, inst);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len) < 0)
		return fail(1, "couldn't connect to daemon '%s': %s", inst, strerror(errno));
	if (check_server(fd, inst)) {
		close(fd);
		return 1;
	}
	if (iface)
		snprintf(req, sizeof(req), "%s %s %s%s\n", command, iface, mode, json ? " json" : "");
	else
		snprintf(req, sizeof(req), "%s%s\n", command, json ? " json" : "");
	/* A daemon that refuses us answers and closes before reading: EPIPE
	 * then, and its answer is still there to read. */
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		return fail(1, "couldn't send request: %s", strerror(errno));
	size_t total = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (!total && ((n >= 6 && !memcmp(buf, "error:", 6)) ||
			       (n >= 9 && !memcmp(buf, "{\"error\":", 9)))) {
			rc = 1;
			/* A refusal comes as a line even under --json (the
			 * daemon does not read the request of a user it
			 * refuses): say it as asked. */
			if (json && buf[0] == 'e') {
				buf[n < (int)sizeof(buf) ? n : n - 1] = 0;
				buf[strcspn(buf, "\n")] = 0;
				close(fd);
				return fail(1, "%s", buf + 7);
			}
		}
		write_clean(rc && !json ? stderr : stdout, buf, n);
		total += n;
	}
	close(fd);
	if (!total)
		return fail(1, "daemon '%s' closed the connection without an answer", inst);
	return rc;
}
