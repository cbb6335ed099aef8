// SPDX-License-Identifier: MIT
/* The XDP program on the link and its pins (xsk_int.h): attach in native or
 * generic mode or replace ours in place, clear what a killed run left (its
 * program, once its owner is gone; never another's), and pin the program
 * and its maps with BTF so bpftool reads them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "xsk_int.h"

static int prog_name_of(uint32_t id, char *name, size_t len)
{
	struct bpf_prog_info info;
	uint32_t il = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), err = 0;

	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &il))
		err = -errno;
	else
		snprintf(name, len, "%s", info.name);
	close(fd);
	return err;
}

/* An lwt program whose owner (config.owner_pid) is gone: a killed run's,
 * whose pins went with its mount namespace (ip netns exec). */
static bool owner_dead(uint32_t prog_id)
{
	struct bpf_prog_info info;
	struct bpf_map_info mi;
	struct lwt_xdp_config c;
	uint32_t maps[8], il = sizeof(info), ml, i, zero = 0;
	bool dead = false;
	int fd = bpf_prog_get_fd_by_id(prog_id), mfd;

	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 8;
	info.map_ids = (uintptr_t)maps;
	if (bpf_obj_get_info_by_fd(fd, &info, &il) || strcmp(info.name, "lwt_xdp")) {
		close(fd);
		return false;
	}
	for (i = 0; i < info.nr_map_ids && i < 8; i++) {
		mfd = bpf_map_get_fd_by_id(maps[i]);
		if (mfd < 0)
			continue;
		ml = sizeof(mi);
		memset(&mi, 0, sizeof(mi));
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &ml) && !strcmp(mi.name, LWT_XDP_MAP_CONFIG) &&
		    mi.value_size == sizeof(c) && !bpf_map_lookup_elem(mfd, &zero, &c))
			dead = c.owner_pid && kill((pid_t)c.owner_pid, 0) < 0 && errno == ESRCH;
		close(mfd);
	}
	close(fd);
	return dead;
}

/* The program a previous run of this instance pinned, if any: fd and id. */
static int pinned_prog(const char *pin_dir, uint32_t *id)
{
	char path[PATH_MAX];
	struct bpf_prog_info info;
	uint32_t il = sizeof(info);
	int fd;

	*id = 0;
	if (!pin_dir || snprintf(path, sizeof(path), "%s/%s/%s", pin_dir, LWT_XDP_PIN_SUBDIR,
				 LWT_XDP_PROG_NAME) >= (int)sizeof(path))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &il)) {
		close(fd);
		return -1;
	}
	*id = info.id;
	return fd;
}

/* Native and generic XDP exclude each other, so any program on the link
 * stops us. The one a killed run of this instance left (pinned under our
 * pin_dir) is taken down; anything else is refused, never replaced. */
int xprog_clear_stale(struct xskdp *x, const char *pin_dir, char *why, size_t wl)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, qo);
	LIBBPF_OPTS(bpf_xdp_attach_opts, ao);
	char name[BPF_OBJ_NAME_LEN] = "?";
	uint32_t ids[2], stale_id, i;
	static const uint32_t modes[2] = { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE };
	int stale_fd, err = 0;

	if (bpf_xdp_query(x->ifindex, 0, &qo))
		return 0;	/* can't tell: the attach will say */
	ids[0] = qo.drv_prog_id;
	ids[1] = qo.skb_prog_id;
	if (!ids[0] && !ids[1])
		return 0;
	stale_fd = pinned_prog(pin_dir, &stale_id);
	for (i = 0; i < 2 && !err; i++) {
		if (!ids[i])
			continue;
		if (ids[i] == stale_id) {
			lwt_warn("xsk: removing the XDP program a killed run left on '%s'",
				 x->ifname);
			ao.old_prog_fd = stale_fd;
			if (bpf_xdp_detach(x->ifindex, modes[i] | XDP_FLAGS_REPLACE, &ao) == 0)
				continue;
		} else if (owner_dead(ids[i])) {
			int pfd = bpf_prog_get_fd_by_id(ids[i]);

			lwt_warn("xsk: removing the XDP program (id %u) a killed lwt left on '%s'",
				 ids[i], x->ifname);
			ao.old_prog_fd = pfd;
			err = bpf_xdp_detach(x->ifindex, modes[i] | XDP_FLAGS_REPLACE, &ao);
			if (pfd >= 0)
				close(pfd);
			if (err == 0)
				continue;
			err = 0;
		}
		prog_name_of(ids[i], name, sizeof(name));
		snprintf(why, wl, "'%s' already has XDP program '%s' (id %u); not replacing it",
			 x->ifname, name, ids[i]);
		err = -EBUSY;
	}
	if (stale_fd >= 0)
		close(stale_fd);
	return err;
}

int xprog_attach(struct xskdp *x, int mode, char *why, size_t wl)
{
	static const uint32_t modes[][2] = {
		{ XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE },	/* auto */
		{ XDP_FLAGS_DRV_MODE, 0 },			/* native */
		{ XDP_FLAGS_SKB_MODE, 0 },			/* generic */
	};
	int i, err = -EINVAL, prog = bpf_program__fd(x->skel->progs.lwt_xdp);

	for (i = 0; i < 2 && modes[mode][i]; i++) {
		err = bpf_xdp_attach(x->ifindex, prog, modes[mode][i] | XDP_FLAGS_UPDATE_IF_NOEXIST,
				     NULL);
		if (!err) {
			x->xdp_flags = modes[mode][i];
			return 0;
		}
	}
	snprintf(why, wl, "couldn't attach XDP program to '%s': %s%s", x->ifname, strerror(-err),
		 mode == 1 ? " (hint: try generic mode)" : "");
	return err;
}

void xprog_detach(struct xskdp *x)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
		    .old_prog_fd = bpf_program__fd(x->skel->progs.lwt_xdp));

	if (!x->xdp_flags)
		return;
	/* Only our program: never take down one that replaced it. */
	if (bpf_xdp_detach(x->ifindex, x->xdp_flags | XDP_FLAGS_REPLACE, &opts))
		lwt_warn("xsk: couldn't detach the XDP program from '%s': %s", x->ifname,
			 strerror(errno));
	x->xdp_flags = 0;
}

/* --- pins ----------------------------------------------------------------- */

static struct bpf_map *pinned_map(struct xskdp *x, int i)
{
	struct bpf_map *maps[] = { x->skel->maps.config, x->skel->maps.flows,
				   x->skel->maps.xsks, x->skel->maps.syn_buckets,
				   x->skel->maps.stats, x->skel->maps.peers };

	return i < (int)(sizeof(maps) / sizeof(maps[0])) ? maps[i] : NULL;
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX], *p;

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* `ip netns exec` and minimal containers leave bpffs unmounted. */
static int bpffs_ensure(const char *dir)
{
	struct statfs st;

	if (!strncmp(dir, BPFFS "/", sizeof(BPFFS)) &&
	    (statfs(BPFFS, &st) || st.f_type != BPF_FS_MAGIC) &&
	    mount("bpf", BPFFS, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

void xprog_unpin(struct xskdp *x)
{
	char path[PATH_MAX + 64];
	struct bpf_map *m;
	int i;

	if (!x->pin_dir[0])
		return;
	for (i = 0; (m = pinned_map(x, i)); i++) {
		snprintf(path, sizeof(path), "%s/%s", x->pin_dir, bpf_map__name(m));
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", x->pin_dir, LWT_XDP_PROG_NAME);
	unlink(path);
	rmdir(x->pin_dir);
	/* The instance directory too, if nothing else lives there. */
	*strrchr(x->pin_dir, '/') = 0;
	rmdir(x->pin_dir);
	x->pin_dir[0] = 0;
}

/* Pins replace what a killed run left: a pin is only ever ours. */
int xprog_pin(struct xskdp *x, const char *pin_dir, char *why, size_t wl)
{
	char path[PATH_MAX + 64];
	struct bpf_map *m;
	int i, err;
	struct statfs st;

	if (snprintf(x->pin_dir, sizeof(x->pin_dir), "%s/%s", pin_dir, LWT_XDP_PIN_SUBDIR) >=
	    (int)sizeof(x->pin_dir)) {
		x->pin_dir[0] = 0;
		snprintf(why, wl, "pin directory '%s' is too long", pin_dir);
		return -ENAMETOOLONG;
	}
	err = bpffs_ensure(pin_dir);
	if (!err)
		err = mkdir_p(x->pin_dir);
	if (!err && (statfs(x->pin_dir, &st) || st.f_type != BPF_FS_MAGIC))
		err = -ENOTSUP;
	if (err) {
		snprintf(why, wl, "couldn't prepare pin directory '%s' on bpffs: %s", x->pin_dir,
			 strerror(-err));
		x->pin_dir[0] = 0;
		return err;
	}
	for (i = 0; (m = pinned_map(x, i)); i++) {
		snprintf(path, sizeof(path), "%s/%s", x->pin_dir, bpf_map__name(m));
		unlink(path);
		err = bpf_map__pin(m, path);
		if (err)
			goto fail;
	}
	snprintf(path, sizeof(path), "%s/%s", x->pin_dir, LWT_XDP_PROG_NAME);
	unlink(path);
	err = bpf_program__pin(x->skel->progs.lwt_xdp, path);
	if (!err)
		return 0;
fail:
	snprintf(why, wl, "couldn't pin '%s': %s", path, strerror(-err));
	xprog_unpin(x);
	return err;
}
