/* SPDX-License-Identifier: MIT */
/* Control-socket addressing shared by the daemon and lwt-ctl. */
#ifndef LWT_CTLPROTO_H
#define LWT_CTLPROTO_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define LWT_CTL_PREFIX "lwt/"

/* Abstract socket "@lwt/<instance>"; returns the address length. */
static inline socklen_t lwt_ctlproto_addr(struct sockaddr_un *sa, const char *instance)
{
	size_t n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "%s%s", LWT_CTL_PREFIX, instance);
	if (n > sizeof(sa->sun_path) - 2)
		n = sizeof(sa->sun_path) - 2;
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

#endif
