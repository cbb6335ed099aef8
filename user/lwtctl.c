// SPDX-License-Identifier: MIT
/* lwt-ctl: talk to a running lightweight-tunnel through its control socket.
 *   lwt-ctl [-i TUN] status|stats|peers [--json]
 * Without -i, the one daemon in this network namespace is used. */
#include <errno.h>
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
		   "-i TUN picks the daemon by its TUN name (needed when more than one runs here).\n");
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
	} else if (strcmp(command, "status") && strcmp(command, "stats") && strcmp(command, "peers")) {
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
	if (iface)
		snprintf(req, sizeof(req), "%s %s %s\n", command, iface, mode);
	else
		snprintf(req, sizeof(req), "%s%s\n", command, json ? " json" : "");
	if (write(fd, req, strlen(req)) < 0) {
		fprintf(stderr, "lwt-ctl: couldn't send request: %s\n", strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (!rc && n >= 6 && !memcmp(buf, "error:", 6))
			rc = 1;
		fwrite(buf, 1, n, rc ? stderr : stdout);
	}
	close(fd);
	return rc;
}
