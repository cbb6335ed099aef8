/* SPDX-License-Identifier: MIT */
/* Privileges after set-up (privs.c, libcap-ng). The daemon starts as root
 * (or with capabilities); once its TUN, firewall rule, data path, pins and
 * control socket exist it keeps only what its running path still does:
 *
 *   CAP_NET_ADMIN  routes (netlink), XDP attach/detach, SO_RCVBUFFORCE, and
 *                  the nft/iptables run that removes the anti-RST rule at exit
 *   CAP_NET_RAW    raw sockets (lwt-ctl detach, the AF_XDP path's own) and
 *                  AF_XDP sockets (lwt-ctl attach)
 *   CAP_BPF        loading the XDP program again (attach); CAP_SYS_ADMIN
 *                  instead on a kernel that has no CAP_BPF
 *   CAP_PERFMON    only where this kernel's verifier refuses lwt's program
 *                  without it (probed at start)
 *   CAP_IPC_LOCK   an AF_XDP UMEM made without it is charged to
 *                  RLIMIT_MEMLOCK (8 MiB on Debian: one queue)
 *
 * in the effective, permitted and bounding sets; CAP_NET_ADMIN and
 * CAP_NET_RAW also inheritable and ambient, so that nft, run as a child,
 * has them. Everything else is dropped, and no_new_privs set. With
 * cfg.user the daemon then runs as that user and its group, without
 * supplementary groups. */
#ifndef LWT_PRIVS_H
#define LWT_PRIVS_H

struct lwt_daemon;

/* Before the data path pins anything: bpffs mounted at /sys/fs/bpf (a
 * later attach could not mount it), and with cfg.user the pin directory
 * /sys/fs/bpf/lwt open for the user's group (root:GROUP, mode 1770) and
 * reached through a descriptor (d->pin_root), as the user may not search
 * /sys/fs/bpf (systemd mounts it 0700). Problems are logged; attach will
 * say what fails. */
void lwt_privs_prepare(struct lwt_daemon *d);

/* After set-up, before any thread starts (capabilities belong to a
 * thread): give the instance's pins to cfg.user, drop to the capabilities
 * above, switch user. 0, or -errno after logging why: the daemon must not
 * run on with more than it should. */
int lwt_privs_drop(struct lwt_daemon *d);

#endif
