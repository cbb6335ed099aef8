// SPDX-License-Identifier: MIT
/* lwt-ctl: talk to a running lightweight-tunnel through its control socket.
 *   lwt-ctl [-i TUN] status|stats|peers|reload [--json]
 * Without -i, the one daemon in this network namespace is used. */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlproto.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: lwt-ctl [-i TUN] <command> [--json]\n"
		   "commands:\n"
		   "  status   path in use (af-xdp or raw-socket, XDP mode, copy/zero-copy, queues),\n"
		   "           mode, TUN, sessions, uptime\n"
		   "  stats    status plus every counter, totals and per peer\n"
		   "  peers    one line per peer\n"
		   "  list     daemons in this network namespace\n"
		   "  attach IFACE [--mode native|generic|auto]   move the data path to AF_XDP\n"
		   "  detach IFACE                                back to raw sockets\n"
		   "  reload   re-read the daemon's config file (as SIGHUP does); exit 1 with the\n"
		   "           error if it does not load (the daemon keeps its running config)\n"
		   "-i TUN picks the daemon by its TUN name (needed when more than one runs here).\n");
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

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		fprintf(stderr, "lwt-ctl: couldn't check who holds '@%s%s': %s\n", LWT_CTL_PREFIX,
			inst, strerror(errno));
		return 1;
	}
	if (cred.uid == 0 || cred.uid == geteuid())
		return 0;
	pw = getpwnam("lwt");
	if (pw && pw->pw_uid == cred.uid)
		return 0;
	fprintf(stderr,
		"lwt-ctl: refusing '@%s%s': it is held by uid %u (pid %d), not by root, you or "
		"the service user 'lwt' (another user's socket squatting the daemon's name?)\n",
		LWT_CTL_PREFIX, inst, (unsigned)cred.uid, (int)cred.pid);
	return 1;
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

int main(int argc, char **argv)
{
	const char *inst = NULL, *command = NULL;
	char names[16][64], req[128], buf[4096];
	struct sockaddr_un sa;
	socklen_t len;
	bool json = false;
	const char *iface = NULL, *mode = "auto";
	int i, n, fd, rc = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-i") && i + 1 < argc)
			inst = argv[++i];
		else if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (argv[i][0] != '-' && !command)
			command = argv[i];
		else if (argv[i][0] != '-' && !iface)
			iface = argv[i];
		else {
			fprintf(stderr, "lwt-ctl: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!command) {
		usage(stderr);
		return 2;
	}
	n = find_instances(names, 16);
	if (!strcmp(command, "list")) {
		for (i = 0; i < n; i++)
			printf("%s\n", names[i]);
		return 0;
	}
	if (!strcmp(command, "attach") || !strcmp(command, "detach")) {
		if (!iface) {
			fprintf(stderr, "lwt-ctl: %s needs an interface\n", command);
			return 2;
		}
		if (strcmp(mode, "auto") && strcmp(mode, "native") && strcmp(mode, "generic")) {
			fprintf(stderr, "lwt-ctl: --mode must be native, generic or auto\n");
			return 2;
		}
	} else if (strcmp(command, "status") && strcmp(command, "stats") && strcmp(command, "peers") &&
		   strcmp(command, "reload")) {
		fprintf(stderr, "lwt-ctl: unknown command '%s'\n", command);
		usage(stderr);
		return 2;
	}
	if (!inst) {
		if (n <= 0) {
			fprintf(stderr, "lwt-ctl: no lightweight-tunnel daemon runs in this network namespace\n");
			return 1;
		}
		if (n > 1) {
			fprintf(stderr, "lwt-ctl: %d daemons run here; pick one with -i:", n);
			for (i = 0; i < n; i++)
				fprintf(stderr, " %s", names[i]);
			fprintf(stderr, "\n");
			return 2;
		}
		inst = names[0];
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	len = lwt_ctlproto_addr(&sa, inst);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len) < 0) {
		fprintf(stderr, "lwt-ctl: couldn't connect to daemon '%s': %s\n", inst, strerror(errno));
		return 1;
	}
	if (check_server(fd, inst)) {
		close(fd);
		return 1;
	}
	if (iface)
		snprintf(req, sizeof(req), "%s %s %s\n", command, iface, mode);
	else
		snprintf(req, sizeof(req), "%s%s\n", command, json ? " json" : "");
	/* A daemon that refuses us answers and closes before reading: EPIPE
	 * then, and its answer is still there to read. */
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET) {
		fprintf(stderr, "lwt-ctl: couldn't send request: %s\n", strerror(errno));
		return 1;
	}
	size_t total = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (!total && n >= 6 && !memcmp(buf, "error:", 6))
			rc = 1;
		write_clean(rc ? stderr : stdout, buf, n);
		total += n;
	}
	close(fd);
	if (!total) {
		fprintf(stderr, "lwt-ctl: daemon '%s' closed the connection without an answer\n", inst);
		return 1;
	}
	return rc;
}
