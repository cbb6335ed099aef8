// SPDX-License-Identifier: MIT
/* lwt-squat: hold the abstract control-socket name "@lwt/NAME" as whoever
 * runs it, and answer every connection with TEXT: the squatter of the
 * local-attack tests (any user may bind an abstract name first).
 *   lwt-squat NAME TEXT READY_FILE
 * READY_FILE is created once the name is held; runs until killed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "../../user/ctlproto.h"

int main(int argc, char **argv)
{
	struct sockaddr_un sa;
	socklen_t len;
	char req[256];
	int fd, c;

	if (argc != 4) {
		fprintf(stderr, "usage: lwt-squat NAME TEXT READY_FILE\n");
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	len = lwt_ctlproto_addr(&sa, argv[1]);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 8) < 0) {
		fprintf(stderr, "lwt-squat: couldn't hold '@%s%s': %s\n", LWT_CTL_PREFIX, argv[1],
			strerror(errno));
		return 1;
	}
	c = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (c < 0) {
		fprintf(stderr, "lwt-squat: couldn't create '%s': %s\n", argv[3], strerror(errno));
		return 1;
	}
	close(c);
	for (;;) {
		c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		if (read(c, req, sizeof(req)) < 0) {
			/* the request does not matter */
		}
		if (write(c, argv[2], strlen(argv[2])) < 0) {
			/* nor whether it was read */
		}
		close(c);
	}
}
