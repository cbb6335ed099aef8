// SPDX-License-Identifier: MIT
/* -g FILE: a server template in FILE and a client template in FILE.client,
 * both holding one new random key. Neither ever lands on an existing file
 * (or through a symlink) unless -force; each is written to a temporary file
 * in the same directory and renamed into place, so a crash leaves either
 * the old file or the whole new one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config.h"
#include "crypto.h"

/* The text goes to path.XXXXXX, then takes path's name: without force only
 * if nothing has it (RENAME_NOREPLACE, so a file appearing meanwhile is not
 * lost either); with force it replaces what is there, a symlink included
 * (the link itself, never its target). */
static int put_file(const char *path, const char *text, bool force, char *err, size_t el)
{
	char tmp[LWT_CFG_STR + 16];
	size_t len = strlen(text);
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return lwt_config_errf(err, el, "%s: path too long", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return lwt_config_errf(err, el, "%s: couldn't create a file beside it: %s", path,
			       strerror(errno));
	if (fchmod(fd, 0600) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		r = lwt_config_errf(err, el, "%s: couldn't write: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		return r;
	}
	close(fd);
	if (force)
		r = rename(tmp, path);
	else
		r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
	if (r < 0) {
		r = errno == EEXIST ?
		    lwt_config_errf(err, el, "%s: exists; -g never overwrites a file (add -force to replace it)",
			    path) :
		    lwt_config_errf(err, el, "%s: couldn't create: %s", path, strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

int lwt_config_write_templates(const char *path, bool force, char *err, size_t el)
{
	uint8_t rnd[24];
	char key[64], text[2048], cpath[LWT_CFG_STR + 8];
	struct stat st;
	int r;

	if ((size_t)snprintf(cpath, sizeof(cpath), "%s.client", path) >= sizeof(cpath))
		return lwt_config_errf(err, el, "%s: path too long", path);
	/* Both names first: never write one template and then refuse the other. */
	if (!force) {
		if (lstat(path, &st) == 0)
			return lwt_config_errf(err, el, "%s: exists; -g never overwrites a file (add -force "
				       "to replace it)", path);
		if (lstat(cpath, &st) == 0)
			return lwt_config_errf(err, el, "%s: exists; -g never overwrites a file (add -force "
				       "to replace it)", cpath);
	}
	if (lwt_crypto_random(rnd, sizeof(rnd)))
		return lwt_config_errf(err, el, "couldn't generate a key");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(key + 2 * i, 3, "%02x", rnd[i]);
	snprintf(text, sizeof(text),
		 "{\n  \"mode\": \"server\",\n  \"local_addr\": \"0.0.0.0:9000\",\n"
		 "  \"tunnel_addr\": \"10.0.0.1/24\",\n  \"key\": \"%s\",\n  \"mtu\": 1400,\n"
		 "  \"fec_data\": 10,\n  \"fec_parity\": 3,\n  \"fec_adaptive\": true,\n  \"multi_client\": true,\n"
		 "  \"max_clients\": 100,\n  \"client_isolation\": false,\n  \"keepalive\": 5,\n"
		 "  \"timeout\": 15,\n  \"enable_xdp\": true\n}\n", key);
	r = put_file(path, text, force, err, el);
	if (r)
		goto out;
	snprintf(text, sizeof(text),
		 "{\n  \"mode\": \"client\",\n  \"remote_addr\": \"SERVER-IP:9000\",\n"
		 "  \"tunnel_addr\": \"10.0.0.2/24\",\n  \"key\": \"%s\",\n  \"mtu\": 1400,\n"
		 "  \"fec_data\": 10,\n  \"fec_parity\": 3,\n  \"fec_adaptive\": true,\n  \"keepalive\": 5,\n"
		 "  \"timeout\": 15,\n  \"enable_xdp\": true\n}\n", key);
	r = put_file(cpath, text, force, err, el);
	if (r) {
		unlink(path);	/* one key in two files, or none */
		goto out;
	}
	printf("wrote %s (server) and %s (client); both hold the same new key; "
	       "set remote_addr in the client file to the server's address\n", path, cpath);
out:
	explicit_bzero(text, sizeof(text));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(rnd, sizeof(rnd));
	return r;
}
