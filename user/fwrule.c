// SPDX-License-Identifier: MIT
/* The rule that keeps the kernel from answering our fake-TCP flows with RST:
 * an nftables table per instance (iptables chain where nft is absent). Runs
 * the nft/iptables binaries with fork+exec (no shell), ruleset on stdin. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/wait.h>

#include "fwrule.h"
#include "log.h"

enum { FW_NONE = 0, FW_NFT = 1, FW_IPT = 2, FW_IPT6 = 3 };
#define LWT_FW_MARK_S "0x6c777400"
_Static_assert(LWT_FW_MARK == 0x6c777400u, "LWT_FW_MARK_S");

static const char *const nft_paths[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", NULL };
static const char *const ipt_paths[] = { "/usr/sbin/iptables", "/sbin/iptables", NULL };
static const char *const ip6t_paths[] = { "/usr/sbin/ip6tables", "/sbin/ip6tables", NULL };

static const char *find(const char *const *paths)
{
	for (; *paths; paths++)
		if (access(*paths, X_OK) == 0)
			return *paths;
	return NULL;
}

/* Run argv with input on stdin; quiet unless verbose. Exit status or -errno. */
static int run(const char *const argv[], const char *input, bool quiet)
{
	int in[2], st;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(in[0], 0);
		if (quiet && devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	if (input) {
		size_t off = 0, len = strlen(input);

		while (off < len) {
			ssize_t w = write(in[1], input + off, len - off);

			if (w <= 0)
				break;
			off += w;
		}
	}
	close(in[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void sanitize(char *out, size_t len, const char *instance)
{
	size_t i;

	for (i = 0; instance[i] && i + 1 < len; i++) {
		char c = instance[i];

		out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ?
			 c : '_';
	}
	out[i] = 0;
}

static void nft_delete(const char *nft, const char *inst)
{
	char rules[128];
	const char *argv[] = { nft, "-f", "-", NULL };

	/* "add" first makes the delete succeed whether or not the table exists. */
	snprintf(rules, sizeof(rules), "add table inet lwt_%s\ndelete table inet lwt_%s\n", inst, inst);
	run(argv, rules, true);
}

static void ipt_delete(const char *ipt, const char *inst)
{
	char chain[48];
	const char *unlink_[] = { ipt, "-w", "-D", "OUTPUT", "-j", chain, NULL };
	const char *flush[] = { ipt, "-w", "-F", chain, NULL };
	const char *del[] = { ipt, "-w", "-X", chain, NULL };

	snprintf(chain, sizeof(chain), "LWT-%s", inst);
	while (run(unlink_, NULL, true) == 0)
		;
	run(flush, NULL, true);
	run(del, NULL, true);
}

void lwt_fwrule_cleanup_stale(const char *instance)
{
	char inst[32];
	const char *nft = find(nft_paths), *ipt = find(ipt_paths), *ip6t = find(ip6t_paths);

	sanitize(inst, sizeof(inst), instance);
	if (nft)
		nft_delete(nft, inst);
	if (ipt)
		ipt_delete(ipt, inst);
	if (ip6t)
		ipt_delete(ip6t, inst);
}

/* An iptables (or ip6tables) chain LWT-<inst> dropping the RSTs that
 * match, linked from OUTPUT. 0, or -EIO with the chain removed. */
static int ipt_install(const char *ipt, const char *inst, const char *const match[])
{
	char chain[48];
	const char *newc[] = { ipt, "-w", "-N", chain, NULL };
	const char *link[] = { ipt, "-w", "-I", "OUTPUT", "-j", chain, NULL };
	const char *argv[24];
	int i = 0, j;

	snprintf(chain, sizeof(chain), "LWT-%s", inst);
	argv[i++] = ipt;
	argv[i++] = "-w";
	argv[i++] = "-A";
	argv[i++] = chain;
	for (j = 0; match[j] && i < 18; j++)
		argv[i++] = match[j];
	argv[i++] = "--tcp-flags";
	argv[i++] = "RST";
	argv[i++] = "RST";
	argv[i++] = "-j";
	argv[i++] = "DROP";
	argv[i] = NULL;
	if (run(newc, NULL, false) == 0 && run(argv, NULL, false) == 0 &&
	    run(link, NULL, false) == 0)
		return 0;
	ipt_delete(ipt, inst);
	return -EIO;
}

/* ports: a client with P2P also drops RSTs from its local port (to
 * anyone: its direct flows), kept in set `ports` (lwt_fwrule_client_port). */
static int install(struct lwt_fwrule *r, const char *instance, const char *nft_match,
		   const char *const ipt_match[], bool ports, bool v6)
{
	const char *nft = find(nft_paths), *ipt = find(v6 ? ip6t_paths : ipt_paths);
	char rules[512], chain[48];
	int rc;

	memset(r, 0, sizeof(*r));
	sanitize(r->instance, sizeof(r->instance), instance);
	lwt_fwrule_cleanup_stale(instance);
	if (nft) {
		const char *argv[] = { nft, "-f", "-", NULL };

		/* Our own segments come from raw sockets and carry no RST, so only
		 * the kernel's answers match. The table is ours alone: removing it
		 * never touches anyone else's rules. */
		snprintf(rules, sizeof(rules),
			 "table inet lwt_%s {\n"
			 "%s"
			 "  chain out {\n"
			 "    type filter hook output priority filter; policy accept;\n"
			 "    %s tcp flags & rst == rst counter drop\n"
			 "%s"
			 "  }\n"
			 "}\n", r->instance, ports ? "  set ports { type inet_service; }\n" : "",
			 nft_match, ports ? "    meta mark != " LWT_FW_MARK_S " tcp sport @ports "
						"tcp flags & rst == rst counter drop\n" : "");
		rc = run(argv, rules, false);
		if (rc == 0) {
			r->backend = FW_NFT;
			lwt_info("firewall: nftables table inet lwt_%s drops the kernel's RSTs (%s)",
				 r->instance, nft_match);
			return 0;
		}
		lwt_warn("firewall: nft failed (status %d); trying iptables", rc);
	}
	if (ipt && ipt_install(ipt, r->instance, ipt_match) == 0) {
		r->backend = v6 ? FW_IPT6 : FW_IPT;
		snprintf(chain, sizeof(chain), "LWT-%s", r->instance);
		lwt_info("firewall: %s chain %s drops the kernel's RSTs", v6 ? "ip6tables" :
			 "iptables", chain);
		return 0;
	}
	lwt_err("firewall: neither nft nor iptables could install the anti-RST rule");
	return -ENOTSUP;
}

int lwt_fwrule_install_server(struct lwt_fwrule *r, const char *instance, uint32_t addr,
			      uint16_t port)
{
	char m[128], ps[8], as[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = addr };
	const char *ipt_any[] = { "-p", "tcp", "--sport", ps, NULL };
	const char *ipt_addr[] = { "-p", "tcp", "-s", as, "--sport", ps, NULL };

	inet_ntop(AF_INET, &a, as, sizeof(as));
	snprintf(ps, sizeof(ps), "%u", ntohs(port));
	if (addr)
		snprintf(m, sizeof(m), "ip saddr %s tcp sport %u", as, ntohs(port));
	else
		snprintf(m, sizeof(m), "tcp sport %u", ntohs(port));
	return install(r, instance, m, addr ? ipt_addr : ipt_any, false, false);
}

int lwt_fwrule_install_client(struct lwt_fwrule *r, const char *instance, uint32_t raddr,
			      uint16_t rport, bool p2p)
{
	char m[128], ps[8], as[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = raddr };
	const char *ipt[] = { "-p", "tcp", "-d", as, "--dport", ps, NULL };

	inet_ntop(AF_INET, &a, as, sizeof(as));
	snprintf(ps, sizeof(ps), "%u", ntohs(rport));
	snprintf(m, sizeof(m), "ip daddr %s tcp dport %u", as, ntohs(rport));
	if (install(r, instance, m, ipt, p2p, false))
		return -ENOTSUP;
	r->p2p = p2p;
	return 0;
}

int lwt_fwrule_install_server6(struct lwt_fwrule *r, const char *instance,
			       const struct lwt_addr *addr, bool listen4, uint16_t port)
{
	char m[160], ps[8], as[INET6_ADDRSTRLEN];
	const char *ipt_any[] = { "-p", "tcp", "--sport", ps, NULL };
	const char *ipt_addr[] = { "-p", "tcp", "-s", as, "--sport", ps, NULL };
	const char *ip6t = find(ip6t_paths);
	bool any = lwt_addr_is_any(addr);

	inet_ntop(AF_INET6, addr->b, as, sizeof(as));
	snprintf(ps, sizeof(ps), "%u", ntohs(port));
	if (listen4)		/* [::]: both families, one inet rule */
		snprintf(m, sizeof(m), "tcp sport %u", ntohs(port));
	else if (any)
		snprintf(m, sizeof(m), "meta nfproto ipv6 tcp sport %u", ntohs(port));
	else
		snprintf(m, sizeof(m), "ip6 saddr %s tcp sport %u", as, ntohs(port));
	if (install(r, instance, m, any ? ipt_any : ipt_addr, false, !listen4))
		return -ENOTSUP;
	/* iptables covers IPv4 only: IPv6 gets an ip6tables chain beside. */
	if (r->backend == FW_IPT && listen4) {
		if (!ip6t || ipt_install(ip6t, r->instance, ipt_any)) {
			lwt_err("firewall: no ip6tables chain for the IPv6 side of [::]:%s", ps);
			lwt_fwrule_remove(r);
			return -ENOTSUP;
		}
		r->ipt6 = true;
		lwt_info("firewall: ip6tables chain LWT-%s drops the kernel's RSTs", r->instance);
	}
	return 0;
}

int lwt_fwrule_install_client6(struct lwt_fwrule *r, const char *instance,
			       const struct lwt_addr *raddr, uint16_t rport, bool p2p)
{
	char m[128], ps[8], as[INET6_ADDRSTRLEN];
	const char *ipt[] = { "-p", "tcp", "-d", as, "--dport", ps, NULL };

	if (lwt_addr_is_v4(raddr))
		return lwt_fwrule_install_client(r, instance, lwt_addr_v4(raddr), rport, p2p);
	inet_ntop(AF_INET6, raddr->b, as, sizeof(as));
	snprintf(ps, sizeof(ps), "%u", ntohs(rport));
	snprintf(m, sizeof(m), "ip6 daddr %s tcp dport %u", as, ntohs(rport));
	if (install(r, instance, m, ipt, p2p, true))
		return -ENOTSUP;
	r->p2p = p2p;
	return 0;
}

int lwt_fwrule_client_port(struct lwt_fwrule *r, uint16_t lport)
{
	const char *nft = find(nft_paths), *ipt = find(ipt_paths);
	char cmd[160], chain[48], ps[8];

	if (!r->p2p || lport == r->lport)
		return 0;
	snprintf(ps, sizeof(ps), "%u", ntohs(lport));
	if (r->backend == FW_NFT && nft) {
		const char *argv[] = { nft, "-f", "-", NULL };

		snprintf(cmd, sizeof(cmd), "flush set inet lwt_%s ports\n"
			 "add element inet lwt_%s ports { %u }\n", r->instance, r->instance, ntohs(lport));
		if (run(argv, cmd, false))
			return -EIO;
	} else if (r->backend == FW_IPT && ipt) {
		char old[8];
		const char *del[] = { ipt, "-w", "-D", chain, "-p", "tcp", "--sport", old,
				      "--tcp-flags", "RST", "RST", "-m", "mark", "!", "--mark",
				      LWT_FW_MARK_S, "-j", "DROP", NULL };
		const char *add[] = { ipt, "-w", "-A", chain, "-p", "tcp", "--sport", ps,
				      "--tcp-flags", "RST", "RST", "-m", "mark", "!", "--mark",
				      LWT_FW_MARK_S, "-j", "DROP", NULL };

		snprintf(chain, sizeof(chain), "LWT-%s", r->instance);
		snprintf(old, sizeof(old), "%u", ntohs(r->lport));
		if (r->lport)
			run(del, NULL, true);
		if (run(add, NULL, false))
			return -EIO;
	} else {
		return 0;
	}
	r->lport = lport;
	lwt_dbg("firewall: the kernel's RSTs from port %s dropped too (direct paths)", ps);
	return 0;
}

void lwt_fwrule_remove(struct lwt_fwrule *r)
{
	const char *nft = find(nft_paths), *ipt = find(r->backend == FW_IPT6 ? ip6t_paths : ipt_paths);

	if (r->backend == FW_NFT && nft)
		nft_delete(nft, r->instance);
	else if ((r->backend == FW_IPT || r->backend == FW_IPT6) && ipt)
		ipt_delete(ipt, r->instance);
	if (r->ipt6 && find(ip6t_paths))
		ipt_delete(find(ip6t_paths), r->instance);
	r->ipt6 = false;
	if (r->backend)
		lwt_info("firewall: anti-RST rule removed");
	r->backend = FW_NONE;
}
