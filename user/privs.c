// SPDX-License-Identifier: MIT
/* Capabilities and user after set-up (see privs.h), with libcap-ng. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <cap-ng.h>

#include "daemon.h"
#include "dp.h"
#include "log.h"
#include "privs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define BPFFS		"/sys/fs/bpf"
#define PIN_BASE	BPFFS "/lwt"
#define BIT(c)		(1ull << (c))

/* The highest capability this kernel knows. */
static int last_cap(void)
{
	static int last = -1;
	FILE *f;

	if (last >= 0)
		return last;
	f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (!f || fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
		last = CAP_LAST_CAP < 63 ? CAP_LAST_CAP : 63;
	if (f)
		fclose(f);
	return last;
}

/* The process's set of one kind (CAPNG_EFFECTIVE, ...) as a mask. */
static uint64_t caps_now(capng_type_t which)
{
	uint64_t m = 0;
	int c;

	if (capng_get_caps_process())
		return 0;
	for (c = 0; c <= last_cap(); c++)
		if (capng_have_capability(which, c))
			m |= BIT(c);
	return m;
}

static void caps_text(uint64_t m, char *buf, size_t len)
{
	size_t off = 0;
	int c;

	buf[0] = 0;
	for (c = 0; c <= 63 && off < len; c++) {
		const char *n;

		if (!(m & BIT(c)))
			continue;
		n = capng_capability_to_name(c);
		off += snprintf(buf + off, len - off, "%scap_%s", off ? ", " : "", n ? n : "?");
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* Lower or raise the effective set within the permitted one (reversible). */
static int effective_set(uint64_t eff)
{
	int c;

	if (capng_get_caps_process())
		return -1;
	for (c = 0; c <= last_cap(); c++)
		capng_update(eff & BIT(c) ? CAPNG_ADD : CAPNG_DROP, CAPNG_EFFECTIVE, c);
	return capng_apply(CAPNG_SELECT_CAPS);
}

/* Can the XDP program be loaded with only eff in effect? */
static bool loads_with(uint64_t eff)
{
	return effective_set(eff) == 0 && lwt_xsk_probe_load() == 0;
}

/* What lwt-ctl attach needs to load the XDP program on this kernel, beyond
 * base: nothing, CAP_PERFMON, or (never seen) everything up to
 * CAP_SYS_ADMIN. Probed by loading it, never guessed from a version. */
static uint64_t bpf_extra(uint64_t base, uint64_t perm)
{
	uint64_t extra = 0;

	if (loads_with(base))
		goto out;
	if ((perm & BIT(CAP_PERFMON)) && loads_with(base | BIT(CAP_PERFMON))) {
		extra = BIT(CAP_PERFMON);
		lwt_info("privileges: this kernel loads the XDP program only with CAP_PERFMON; "
			 "keeping it");
		goto out;
	}
	if (loads_with(perm)) {
		extra = perm & (BIT(CAP_PERFMON) | BIT(CAP_SYS_ADMIN));
		lwt_warn("privileges: the XDP program loads only with CAP_SYS_ADMIN here; keeping it "
			 "so that lwt-ctl attach works");
		goto out;
	}
	lwt_info("privileges: the XDP program does not load here with the capabilities given "
		 "(%#llx); lwt-ctl attach will fail", (unsigned long long)perm);
out:
	effective_set(perm);
	return extra;
}

void lwt_privs_prepare(struct lwt_daemon *d)
{
	const struct passwd *pw;
	struct statfs sf;
	struct stat st;
	int fd;

	d->pin_root_fd = -1;
	d->pin_root[0] = 0;
	/* `ip netns exec` gives the daemon a fresh /sys without bpffs, and
	 * mounting needs CAP_SYS_ADMIN, which a later attach will not have. */
	if ((statfs(BPFFS, &sf) || sf.f_type != BPF_FS_MAGIC) &&
	    mount("bpf", BPFFS, "bpf", 0, "mode=0700"))
		lwt_info("privileges: couldn't mount bpffs on %s: %s (lwt-ctl attach will not pin)",
			 BPFFS, strerror(errno));
	if (!d->cfg.user[0])
		return;
	pw = getpwnam(d->cfg.user);
	if (!pw)
		return;		/* lwt_privs_drop says so */
	if (mkdir(PIN_BASE, 0700) && errno != EEXIST) {
		lwt_warn("privileges: couldn't create '%s': %s", PIN_BASE, strerror(errno));
		return;
	}
	fd = open(PIN_BASE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		lwt_warn("privileges: couldn't open '%s': %s", PIN_BASE, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	/* Root's, shared with the service group: its members add and remove
	 * their own entries only (sticky), root daemons keep theirs. */
	if (st.st_uid == 0 && (st.st_gid != pw->pw_gid || (st.st_mode & 07777) != 01770) &&
	    (fchown(fd, 0, pw->pw_gid) || fchmod(fd, 01770)))
		lwt_warn("privileges: couldn't open '%s' to group %u: %s", PIN_BASE,
			 (unsigned)pw->pw_gid, strerror(errno));
	else if (st.st_uid != 0 && st.st_uid != pw->pw_uid)
		lwt_warn("privileges: '%s' belongs to uid %u, neither root nor %s: pins may fail",
			 PIN_BASE, (unsigned)st.st_uid, d->cfg.user);
	d->pin_root_fd = fd;
	snprintf(d->pin_root, sizeof(d->pin_root), "/proc/self/fd/%d", fd);
}

/* Give dir/name and, for a directory, everything in it (depth levels)
 * to uid:gid. */
static int chown_tree(int dir, const char *name, uid_t uid, gid_t gid, int depth)
{
	struct dirent *e;
	DIR *dp;
	int fd, err = 0;

	if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR ? 0 : -errno;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -errno;
	}
	while (!err && (e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		err = depth > 0 ? chown_tree(fd, e->d_name, uid, gid, depth - 1) :
		      fchownat(fd, e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
	}
	closedir(dp);
	return err;
}

static int threads(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");
	int n = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

int lwt_privs_drop(struct lwt_daemon *d)
{
	const uint64_t amb_want = BIT(CAP_NET_ADMIN) | BIT(CAP_NET_RAW);
	const struct passwd *pw = NULL;
	uint64_t perm, base, keep, amb, eff_now, bnd_now;
	int c, r, bpf_cap = last_cap() >= CAP_BPF ? CAP_BPF : CAP_SYS_ADMIN;
	char have[512], ambs[128];
	uid_t uid = getuid();
	gid_t gid = getgid();
	bool bounds;

	if (threads() != 1) {
		lwt_err("privileges: %d threads run already; capabilities belong to each thread",
			threads());
		return -EBUSY;
	}
	if (d->cfg.user[0]) {
		errno = 0;
		pw = getpwnam(d->cfg.user);
		if (!pw) {
			lwt_err("privileges: no user '%s'%s%s", d->cfg.user, errno ? ": " : "",
				errno ? strerror(errno) : "");
			return -ENOENT;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (d->pin_root_fd >= 0) {
			r = chown_tree(d->pin_root_fd, d->instance, uid, gid, 2);
			if (r)
				lwt_warn("privileges: couldn't give the pins of %s to %s: %s",
					 d->instance, d->cfg.user, strerror(-r));
		}
	}
	perm = caps_now(CAPNG_PERMITTED);
	base = (BIT(CAP_NET_ADMIN) | BIT(CAP_NET_RAW) | BIT(CAP_IPC_LOCK) | BIT(bpf_cap)) & perm;
	keep = base;
	if ((base & BIT(bpf_cap)) && (base & BIT(CAP_NET_ADMIN)))
		keep |= bpf_extra(base, perm);
	amb = keep & amb_want;

	capng_clear(CAPNG_SELECT_ALL);
	for (c = 0; c <= last_cap(); c++) {
		if (keep & BIT(c))
			capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET, c);
		if (amb & BIT(c))
			capng_update(CAPNG_ADD, CAPNG_INHERITABLE, c);
	}
	/* The bounding set needs CAP_SETPCAP; a daemon given only a few
	 * capabilities (systemd) has its bounding set from there. */
	bounds = perm & BIT(CAP_SETPCAP);
	if (bounds && capng_apply(CAPNG_SELECT_BOUNDS)) {
		lwt_err("privileges: couldn't shrink the bounding set: %s", strerror(errno));
		return -EPERM;
	}
	if (pw)
		r = capng_change_id(uid, gid, CAPNG_DROP_SUPP_GRP);
	else
		r = capng_apply(CAPNG_SELECT_CAPS);
	if (r) {
		lwt_err("privileges: couldn't %s (libcap-ng %d): %s",
			pw ? "switch user" : "drop capabilities", r, strerror(errno));
		return -EPERM;
	}
	/* A uid change cleared the ambient set; nft, run at exit, gets what is
	 * raised here. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (c = 0; c <= last_cap(); c++)
		if ((amb & BIT(c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0)) {
			lwt_err("privileges: couldn't raise ambient capability %d: %s", c,
				strerror(errno));
			return -EPERM;
		}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		lwt_err("privileges: couldn't set no_new_privs: %s", strerror(errno));
		return -EPERM;
	}
	/* Trust what the kernel says, not what was asked. */
	eff_now = caps_now(CAPNG_EFFECTIVE);
	bnd_now = caps_now(CAPNG_BOUNDING_SET);
	if (eff_now != keep || caps_now(CAPNG_PERMITTED) != keep || (bounds && bnd_now != keep) ||
	    getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid ||
	    (pw && getgroups(0, NULL) != 0)) {
		lwt_err("privileges: the drop did not take (effective %#llx, want %#llx)",
			(unsigned long long)eff_now, (unsigned long long)keep);
		return -EPERM;
	}
	caps_text(keep, have, sizeof(have));
	caps_text(amb, ambs, sizeof(ambs));
	lwt_info("privileges: running as uid %u gid %u with %s only (bounding set %s; ambient %s)",
		 (unsigned)uid, (unsigned)gid, have, bounds ? "the same" : "as given", ambs);
	return 0;
}
