// SPDX-License-Identifier: MIT
/* lightweight-tunnel (lwt): set-up and tear-down ladder. Everything that
 * touches the system happens after the configuration has been fully
 * validated, and is undone in reverse order on every exit path. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "daemon.h"
#include "inet6.h"
#include "fwrule.h"
#include "ktune.h"
#include "log.h"
#include "metrics.h"
#include "natdetect.h"
#include "netlink.h"
#include "notify.h"
#include "pmtu.h"
#include "privs.h"
#include "roam.h"
#include "underlay6.h"

/* A segment's TCP payload beyond the inner packet it carries (bufs.h:
 * lwt's framing, FEC header and parity length, tag). */
#define LWT_SEG_OVERHEAD ((int)(LWT_OVERHEAD - LWT_SEG_HDR))

static int reserve_port(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* The MTU of the outer link the tunnel's segments use (ifn gets its name),
 * or 0 when that link is unknown. */
static int outer_link_mtu(struct lwt_daemon *d, char *ifn)
{
	char why[192];
	int ifindex, mtu;

	if (lwt_path_iface(d, ifn, why, sizeof(why)) || !(ifindex = (int)if_nametoindex(ifn)))
		return 0;
	mtu = lwt_nl_link_mtu(ifindex);
	return mtu > 0 ? mtu : 0;
}

/* The MSS of a link MTU less the segment's IP and TCP headers. */
static uint16_t mss_of(int link, int headers)
{
	int m = link - headers;

	return (uint16_t)(m > 65535 ? 65535 : m > 0 ? m : 536);
}

/* The TUN MTU: the configured one, if its largest segment fits the outer
 * link (a segment never leaves fragmented, and one too large for the link
 * would be lost, so a user learns it at start, not from a silent tunnel);
 * for mtu 0 the largest that fits the link, at most LWT_MTU_MAX. Also the
 * MSS our SYN and SYN-ACK announce: the link's, as the host's kernel
 * announces it. -EMSGSIZE with a logged reason. */
static int pick_mtu(struct lwt_daemon *d)
{
	char ifn[IF_NAMESIZE] = "";
	int link = outer_link_mtu(d, ifn), mtu, l = link ? link : 1500;

	/* A segment's MSS is its family's, whatever else the daemon carries:
	 * a [::] server tells its IPv4 clients 1460 on a 1500-byte link, as
	 * the kernel does, and its IPv6 ones 1440. */
	d->mss = mss_of(l, 40);
	d->mss6 = mss_of(l, 60);
	/* IPv6 segments carry 20 bytes more header: the TUN MTU (one for all
	 * peers) is picked for a link that much smaller. */
	if (lwt_u6_active(d))
		link = link ? link - LWT_IP6_EXTRA : 1500 - LWT_IP6_EXTRA;
	/* ... and the SYN's window and window scale (DESIGN: the SYN equals
	 * the one this host's kernel would send). */
	if (lwt_ftcp_profile_load("/proc/sys"))
		lwt_warn("fake TCP: cannot read tcp_rmem/rmem_max; SYNs use window scale %u",
			 lwt_ftcp_prof.wscale);
	/* The default 1400 was never asked for: on a link too small for it
	 * (PPPoE 1492 less FEC's share, a cloud's 1460, a tunnel's 1420) it
	 * comes down to what the link carries, as mtu 0 would pick. */
	if (d->cfg.mtu && !lwt_config_has(&d->cfg, "mtu") && link &&
	    d->cfg.mtu + (int)LWT_OVERHEAD > link && lwt_bufs_mtu_for_link(link)) {
		mtu = lwt_bufs_mtu_for_link(link);
		lwt_info("mtu: the default %d does not fit the MTU %d of '%s' with lwt's %d bytes "
			 "of headers; TUN MTU %d", d->cfg.mtu, link, ifn, (int)LWT_OVERHEAD, mtu);
		return mtu;
	}
	if (d->cfg.mtu) {
		if (link && d->cfg.mtu + (int)LWT_OVERHEAD > link) {
			lwt_err("mtu: %d needs outer segments of up to %d bytes, more than the MTU %d "
				"of '%s' that carries the tunnel; set mtu to at most %d (or 0 to pick it "
				"from the link)", d->cfg.mtu, d->cfg.mtu + (int)LWT_OVERHEAD, link, ifn,
				lwt_bufs_mtu_for_link(link));
			return -EMSGSIZE;
		}
		return d->cfg.mtu;
	}
	if (!link) {
		mtu = lwt_bufs_mtu_for_link(1500);
		lwt_info("mtu 0: outer link unknown; assuming 1500, TUN MTU %d", mtu);
		return mtu;
	}
	mtu = lwt_bufs_mtu_for_link(link);
	if (!mtu) {
		lwt_err("mtu 0: the MTU %d of '%s' that carries the tunnel leaves less than %d bytes "
			"for a TUN packet after lwt's %d bytes of headers", link, ifn, LWT_MTU_MIN,
			(int)LWT_OVERHEAD);
		return -EMSGSIZE;
	}
	lwt_info("mtu 0: outer link '%s' MTU %d, TUN MTU %d%s", ifn, link, mtu,
		 link - (int)LWT_OVERHEAD > mtu ? " (the largest lwt carries)" : "");
	return mtu;
}

/* faketcp_max_segment: no segment carries more TCP payload than this. A
 * record is one inner packet and never split, so the TUN MTU comes down
 * to fit, and the MSS we announce says the same to the peer. */
static void cap_segment(struct lwt_daemon *d)
{
	int seg = d->cfg.faketcp_max_segment, fit = seg - LWT_SEG_OVERHEAD;

	if (!seg)
		return;
	if (d->tun_mtu > fit) {
		lwt_info("faketcp_max_segment %d: TUN MTU %d instead of %d", seg, fit, d->tun_mtu);
		d->tun_mtu = fit;
	}
	if (d->mss > seg)
		d->mss = seg;
	if (d->mss6 > seg)
		d->mss6 = seg;
}

/* -check: a server name that does not resolve now is no error (the daemon
 * would wait for it), but worth a warning. */
static void check_remote(const struct lwt_config *c)
{
	char why[96];
	uint32_t a;

	if (c->mode == LWT_MODE_CLIENT && !c->remote.sin_addr.s_addr && !c->remote6 &&
	    lwt_resolve_host(c->remote_host, &a, why, sizeof(why)))
		lwt_warn("remote_addr: %s does not resolve now (%s); the daemon would wait for it, "
			 "retrying", c->remote_host, why);
}

int main(int argc, char **argv)
{
	static struct lwt_daemon dd;
	struct lwt_daemon *d = &dd;
	char err[512];
	int i;
	sigset_t mask;
	int r, rc = 1, port_fd = -1, port6_fd = -1;

	lwt_log_route_libbpf();
	r = lwt_config_from_argv(&d->cfg, argc, argv, err, sizeof(err));
	if (r == LWT_CFG_EXIT_OK)
		return 0;
	if (r < 0) {
		fprintf(stderr, "lightweight-tunnel: %s\n", err);
		return 2;
	}
	lwt_log_set_level(d->cfg.log_level);
	if (d->cfg.check_only) {
		/* Validation only: the warnings a start would log (not its
		 * notes), the summary, and nothing created. */
		lwt_log_set_level(LWT_LOG_WARN);
		lwt_config_log_notes(&d->cfg);
		check_remote(&d->cfg);
		lwt_config_summary(&d->cfg, err, sizeof(err));
		printf("%s\n", err);
		return 0;
	}
	lwt_info("lightweight-tunnel (lwt) %s starting as %s", LWT_VERSION,
		 d->cfg.mode == LWT_MODE_SERVER ? "server" : "client");
	lwt_config_log_notes(&d->cfg);
	/* For a reload: the command line as given, before -k is scrubbed. */
	if (lwt_reload_save_argv(argc, argv)) {
		lwt_err("out of memory");
		return 1;
	}
	if (lwt_config_scrub_argv(argc, argv))
		lwt_warn("key: given with -k, which other local users could read in the process "
			 "list until now (it is scrubbed from it); prefer key_file or a config file "
			 "of mode 0600");
	if (lwt_crypto_psk_derive(d->cfg.key, &d->psk)) {
		lwt_err("couldn't derive keys from the pre-shared key");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	/* Blocked in every thread; the control loop reads them from a signalfd. */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);

	d->start_ns = lwt_now_ns();
	d->ctl_fd = -1;
	d->pin_root_fd = -1;
	d->resolver.fd = -1;
	if (!d->cfg.client_id[0] || !lwt_client_id_parse(d->cfg.client_id, &d->client_id))
		lwt_crypto_random(&d->client_id, sizeof(d->client_id));
	for (i = 0; i < LWT_DP_MAX_SHARDS; i++)
		if (lwt_msgq_init(&d->to_dp[i], 1024))
			goto out_nomem;
	if (lwt_msgq_init(&d->to_ctl, 1024)) {
out_nomem:
		lwt_err("out of memory");
		goto out_q;
	}
	/* A client's direct paths to other clients take slots 1.. (p2p.c). */
	d->nslots = d->cfg.mode == LWT_MODE_CLIENT ? 1 + (d->cfg.p2p_enabled ? LWT_P2P_SLOTS : 0) :
		    (d->cfg.multi_client ? d->cfg.max_clients : 1) + LWT_EMBRYONIC_SLOTS;
	d->slots = calloc(d->nslots, sizeof(*d->slots));
	if (!d->slots || lwt_routes_init(d) || lwt_peers_init(d) || lwt_p2p_init(d) ||
	    lwt_mesh_init(d) ||
	    lwt_slotidx_init(&d->flow_idx, d->nslots) || lwt_slotidx_init(&d->tun_idx, d->nslots) ||
	    lwt_slotlist_init(&d->slist, d->slots, d->nslots)) {
		lwt_err("out of memory for %d slots", d->nslots);
		goto out_q;
	}

	if (d->cfg.mode == LWT_MODE_SERVER) {
		d->local_ip = d->cfg.local.sin_addr.s_addr;
		d->local_port = d->cfg.local.sin_port;
		port_fd = reserve_port(&d->cfg.local);
		if (port_fd < 0) {
			lwt_err("couldn't reserve TCP port %u on %s: %s", ntohs(d->local_port),
				d->cfg.local_addr, strerror(-port_fd));
			goto out_slots;
		}
		d->filter = (struct lwt_dp_filter){ .laddr = d->local_ip, .lport = d->local_port,
						    .server = 1, .listen4 = d->cfg.listen4,
						    .listen6 = d->cfg.listen6,
						    .la6 = d->cfg.listen_ep6 };
		if (d->cfg.listen6) {
			port6_fd = lwt_u6_reserve_port(d);
			if (port6_fd < 0) {
				lwt_err("couldn't reserve TCP port %u on %s: %s", ntohs(d->local_port),
					d->cfg.local_addr, strerror(-port6_fd));
				goto out_port;
			}
		}
	} else {
		/* A name that does not resolve yet waits here, before anything
		 * is created; a SIGTERM meanwhile is a clean stop. */
		r = lwt_resolve_start(d);
		if (r) {
			if (r > 0)
				rc = 0;
			else
				lwt_err("couldn't resolve %s: %s", d->cfg.remote_host, strerror(-r));
			goto out_slots;
		}
		/* No route yet (a client that boots before its network): it
		 * comes up without one, and roam.c connects once one appears. */
		if (d->cfg.remote6)
			r = 0;
		else
			r = lwt_local_ip_for(d->cfg.remote.sin_addr.s_addr, &d->local_ip);
		if (r) {
			d->local_ip = 0;
			lwt_warn("no route to server %s yet (%s); waiting for one", d->cfg.remote_addr,
				 strerror(-r));
		}
		d->filter = (struct lwt_dp_filter){ .laddr = d->local_ip,
						    .raddr = d->cfg.remote.sin_addr.s_addr,
						    .rport = d->cfg.remote.sin_port,
						    .p2p = d->cfg.p2p_enabled };
		if (d->cfg.remote6 && (r = lwt_u6_client_setup(d)))
			lwt_warn("no route to server %s yet (%s); waiting for one", d->cfg.remote_addr,
				 strerror(-r));
	}
	d->filter.queue_pkts = d->cfg.recv_queue_size;

	/* vnet header + TSO/GSO: the kernel hands 64 KB of a flow per read. A
	 * server has a TUN queue per poller (one per queue of the link). */
	r = -EINVAL;
	if (d->cfg.mode == LWT_MODE_SERVER)
		r = lwt_tun_create2(&d->tun, d->cfg.tun_name, LWT_TUN_VNET | LWT_TUN_MULTI_QUEUE);
	if (r)
		r = lwt_tun_create2(&d->tun, d->cfg.tun_name, LWT_TUN_VNET);
	if (r) {
		lwt_info("TUN without offloads (%s)", strerror(-r));
		r = lwt_tun_create(&d->tun, d->cfg.tun_name);
	}
	if (r)
		goto out_port;
	d->instance = d->tun.name;
	/* Before the TUN is up, so that its queues start at the new length. */
	lwt_ktune_apply(&d->ktune, &d->tun, d->cfg.enable_kernel_tune);
	d->tun_mtu = pick_mtu(d);
	if (d->tun_mtu < 0)
		goto out_tun;
	cap_segment(d);
	lwt_bufs_init(&d->bufs, d->tun_mtu);
	d->filter.seg_max = d->bufs.seg_max;
	r = lwt_tun_configure(&d->tun, d->cfg.tun_ip, d->cfg.tun_prefix, d->tun_mtu);
	if (!r)
		r = lwt_in6_tun_setup(d);	/* inet6.c */
	if (r)
		goto out_tun;

	if (d->cfg.mode == LWT_MODE_SERVER)
		r = d->cfg.listen6 ?
		    lwt_fwrule_install_server6(&d->fw, d->instance, &d->cfg.listen_ep6, d->cfg.listen4,
					       d->local_port) :
		    lwt_fwrule_install_server(&d->fw, d->instance, d->local_ip, d->local_port);
	else
		r = d->cfg.remote6 ?
		    lwt_fwrule_install_client6(&d->fw, d->instance, &d->cfg.remote_ep,
					       d->cfg.remote.sin_port, d->cfg.p2p_enabled) :
		    lwt_fwrule_install_client(&d->fw, d->instance, d->cfg.remote.sin_addr.s_addr,
					      d->cfg.remote.sin_port, d->cfg.p2p_enabled);
	if (r) {
		lwt_err("couldn't install the firewall rule that stops kernel RSTs: %s", strerror(-r));
		goto out_tun;
	}

	/* Before the data path pins anything: where pins go under -user. */
	lwt_privs_prepare(d);
	pthread_mutex_init(&d->dp_lock, NULL);
	d->filter.shards = d->tun.flags & LWT_TUN_MULTI_QUEUE ? 0 : 1;
	{
		char ifn[IF_NAMESIZE] = "", why[192] = "";

		r = lwt_path_iface(d, ifn, why, sizeof(why));
		if (!d->cfg.enable_xdp) {
			r = -1;
			snprintf(why, sizeof(why), "disabled by enable_xdp/-xdp");
		} else if (!r) {
			r = lwt_path_open(d, true, d->cfg.xdp_mode, ifn, &d->dp, why, sizeof(why));
		}
		if (r) {
			lwt_info("data path: raw sockets (AF_XDP not used: %s)", why);
			r = lwt_path_open(d, false, NULL, ifn, &d->dp, why, sizeof(why));
			if (r) {
				lwt_err("%s", why);
				goto out_fw;
			}
		}
	}
	/* From now on every path must serve as many pollers. */
	d->npollers = d->dp->shards;
	d->filter.shards = d->npollers;
	d->tun_fds[0] = d->tun.fd;
	for (i = 1; i < LWT_DP_MAX_SHARDS; i++)
		d->tun_fds[i] = -1;
	for (i = 1; i < d->npollers; i++) {
		d->tun_fds[i] = lwt_tun_open_queue(&d->tun);
		if (d->tun_fds[i] < 0) {
			lwt_err("couldn't open TUN queue %d of %s: %s", i, d->tun.name,
				strerror(-d->tun_fds[i]));
			goto out_tunq;
		}
	}
	lwt_info("data path: %s%s%s, %d poller thread(s)", d->dp->ops->name,
		 d->dp->ifname[0] ? " on " : "", d->dp->ifname, d->npollers);

	d->ctl_fd = lwt_ctl_listen(d);
	if (d->ctl_fd < 0)
		goto out_tunq;
	if (d->cfg.metrics_listen[0] && lwt_metrics_bind(&d->metrics, &d->cfg.metrics))
		goto out_ctl;
	if (lwt_nat_create(d))
		goto out_ctl;
	if (lwt_roam_init(d) || lwt_pmtu_init(d)) {
		lwt_err("out of memory");
		goto out_ctl;
	}

	/* Set-up is done: from here on only what the running path needs, and
	 * before the pollers start, as capabilities belong to each thread. */
	if (lwt_privs_drop(d))
		goto out_ctl;
	if (d->metrics && lwt_metrics_start(d->metrics))
		goto out_ctl;
	if (lwt_dataplane_start(d))
		goto out_ctl;
	if (d->cfg.mode == LWT_MODE_SERVER)
		lwt_info("listening on %s, tunnel %s on %s (mtu %d)", d->cfg.local_addr,
			 d->cfg.tunnel_addr, d->tun.name, d->tun_mtu);
	else
		lwt_info("tunnel %s on %s (mtu %d), server %s", d->cfg.tunnel_addr, d->tun.name,
			 d->tun_mtu, d->cfg.remote_addr);
	lwt_notify_ready(d);

	rc = lwt_control_run(d);

	/* Before the pollers go: a scrape waiting for the control thread is
	 * answered now. */
	lwt_metrics_destroy(d->metrics);
	d->metrics = NULL;
	lwt_dataplane_stop(d);
	lwt_info("stopped");
out_ctl:
	lwt_nat_destroy(d);
	lwt_roam_free(d);
	lwt_pmtu_free(d);
	lwt_metrics_destroy(d->metrics);
	lwt_ctl_close(d->ctl_fd);
out_tunq:
	for (i = 1; i < d->npollers; i++)
		if (d->tun_fds[i] >= 0)
			close(d->tun_fds[i]);
	d->dp->ops->destroy(d->dp);
out_fw:
	lwt_fwrule_remove(&d->fw);
out_tun:
	lwt_tun_destroy(&d->tun);
out_port:
	if (port_fd >= 0)
		close(port_fd);
	if (port6_fd >= 0)
		close(port6_fd);
out_slots:
	lwt_slotidx_destroy(&d->flow_idx);
	lwt_slotidx_destroy(&d->tun_idx);
	lwt_slotlist_destroy(&d->slist);
	free(d->slots);
	lwt_routes_free(d);
	lwt_peers_free(d);
	lwt_p2p_free(d);
	lwt_mesh_free(d);
out_q:
	if (d->pin_root_fd >= 0)
		close(d->pin_root_fd);
	for (i = 0; i < LWT_DP_MAX_SHARDS; i++)
		lwt_msgq_uninit(&d->to_dp[i]);
	lwt_msgq_uninit(&d->to_ctl);
	lwt_reload_free_argv();
	return rc;
}
