/* SPDX-License-Identifier: MIT */
/* lwt configuration: the reference tool's flags and JSON keys (SEED.md), plus
 * lwt's own additions. Addresses are stored parsed, in network byte order. */
#ifndef LWT_CONFIG_H
#define LWT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "addr.h"

#define LWT_MAX_ROUTES 64
#define LWT_CFG_STR 256

enum lwt_mode {
	LWT_MODE_SERVER = 0,
	LWT_MODE_CLIENT = 1,
};

struct lwt_cidr {
	uint32_t addr;		/* network byte order, host bits cleared */
	uint8_t prefix;		/* 0..32 */
};

/* An IPv6 prefix (IPv6 inside the tunnel: inet6.h). */
struct lwt_cidr6 {
	uint8_t addr[16];
	uint8_t prefix;		/* 0..128 */
};

struct lwt_config {
	enum lwt_mode mode;			/* mode / -m */
	char local_addr[LWT_CFG_STR];		/* local_addr / -l, "ip:port" */
	struct sockaddr_in local;		/* parsed local_addr */
	char remote_addr[LWT_CFG_STR];		/* remote_addr / -r, "host:port" */
	struct sockaddr_in remote;		/* remote_addr: port; address of a literal, or
					 * as resolved by the daemon (resolve.c) */
	char remote_host[LWT_CFG_STR];		/* ... its host part (a name or a literal) */
	/* IPv6 underlay (addr.h). local_addr "[::]:port" listens on both
	 * families, "[v6]:port" on that address only, "ip:port" on IPv4 only.
	 * remote6: the server is reached over IPv6 at remote_ep (a literal
	 * "[v6]:port", or a name resolved to an AAAA record); port as
	 * remote.sin_port. */
	bool listen4, listen6;
	struct lwt_addr listen_ep6;		/* the IPv6 listen address (:: = any) */
	bool remote6;
	struct lwt_addr remote_ep;
	char remote_family[8];			/* remote_family (lwt): auto, ipv4, ipv6 */
	char tunnel_addr[64];			/* tunnel_addr / -t, CIDR */
	uint32_t tun_ip;			/* network byte order */
	uint8_t tun_prefix;
	bool has_ip6;				/* tunnel_addr named an IPv6 prefix too */
	struct lwt_cidr6 tun6;			/* ... that address and prefix length */
	char key[LWT_CFG_STR];			/* key / -k */
	char key_file[LWT_CFG_STR];		/* key_file / -key-file: read key from it */
	bool key_from_file;			/* key came from key_file */
	int mtu;				/* mtu / -mtu, 0 = discover */
	int fec_data, fec_parity;		/* fec_data, fec_parity */
	int fec_flush_us;			/* fec_flush_us (lwt) */
	bool fec_adaptive;			/* fec_adaptive (lwt) */
	int send_queue_size, recv_queue_size;
	int fec_pool_mb;		/* FEC pool bound (fecpool.h); 0 = sized at start */
	bool multi_client;
	int max_clients;
	bool client_isolation;
	char tun_name[16];			/* tun_name / -tun-name, "" = kernel's choice */
	struct lwt_cidr routes[LWT_MAX_ROUTES];	/* routes / -routes */
	int n_routes;
	struct lwt_cidr allowed_routes[LWT_MAX_ROUTES]; /* allowed_routes (lwt, server) */
	int n_allowed_routes;
	struct lwt_cidr6 routes6[LWT_MAX_ROUTES];	/* the IPv6 entries of routes */
	int n_routes6;
	struct lwt_cidr6 allowed_routes6[LWT_MAX_ROUTES]; /* ... of allowed_routes */
	int n_allowed_routes6;
	int config_push_interval;		/* s, 0 = off */
	bool p2p_enabled;
	int p2p_port;
	int p2p_syn_ttl;			/* first SYN of a punch; 0 = default TTL */
	bool enable_mesh_routing;
	int max_hops;
	int route_update_interval;		/* s */
	bool enable_nat_detection;
	int nat_probe_port;			/* nat_probe_port (lwt), 0 = the server's port + 1 */
	char nat_probe_addr[64];		/* nat_probe_addr (lwt, server), "" = none */
	struct sockaddr_in nat_probe;		/* parsed nat_probe_addr (address only) */
	bool enable_xdp;
	char xdp_mode[16];			/* xdp_mode / -xdp-mode (lwt): auto, native, generic */
	bool enable_kernel_tune;
	bool encrypt_after_auth;
	int faketcp_pacing_us;
	int faketcp_max_segment;
	int keepalive;				/* s, file only */
	int timeout;				/* s, file only */
	int p2p_keepalive_interval, p2p_timeout;
	int send_workers;
	int route_advert_interval;
	char transport[16];			/* always "rawtcp" */
	int broadcast_throttle_ms;
	bool enable_incremental_update;
	int max_peer_info_batch_size;
	int log_level;				/* log_level / -log-level: 0..4 (lwt) */
	char ctl_socket[LWT_CFG_STR];		/* ctl_socket / -ctl-socket (lwt), "" = default */
	char user[64];				/* user / -user (lwt): run as this user after set-up */
	char metrics_listen[64];		/* metrics_listen / -metrics-listen (lwt), "" = off */
	struct sockaddr_in metrics;		/* parsed metrics_listen */
	char client_id[24];			/* client_id / -client-id (lwt): 16 hex digits, "" = random */
	char config_path[LWT_CFG_STR];		/* the -c file, "" if none */
	bool key_in_file;			/* the -c file holds the key */
	bool check_only;			/* -check: validate, print a summary, exit */
	bool timeout_raised;			/* timeout unset and raised to 3 x keepalive */
	/* Which keys were set explicitly (flag or file); indexes are enum lwt_key. */
	uint64_t has[2];
};

/* Result of lwt_config_from_argv(). */
enum {
	LWT_CFG_RUN = 0,	/* run the daemon with cfg */
	LWT_CFG_EXIT_OK = 1,	/* -v, -h or -g handled; exit 0 */
};

void lwt_config_defaults(struct lwt_config *cfg);
/* Format a one-line config error into err (control characters shown as
 * '?'); returns -EINVAL. */
int lwt_config_errf(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* True if the JSON key was set by a flag or the file. */
bool lwt_config_has(const struct lwt_config *cfg, const char *json_key);
/* Parse argv (Go flag syntax) and the -c file; flags given beside -c override
 * the file. Validates everything. On error returns -EINVAL and writes one line
 * "<key>: <problem>" (no trailing newline) into err. Writes -v/-h/-g output to
 * stdout. Never touches the system (no TUN, no sockets) other than -g's files. */
int lwt_config_from_argv(struct lwt_config *cfg, int argc, char **argv,
			 char *err, size_t errlen);
/* Load a JSON file into cfg (keys override what is in cfg). -EINVAL + err on error. */
int lwt_config_load_json(struct lwt_config *cfg, const char *path, char *err, size_t errlen);
/* Same from a string (for tests and fuzzing). */
int lwt_config_load_json_str(struct lwt_config *cfg, const char *json, char *err, size_t errlen);
/* Cross-key validation (missing key for the mode, wrong mode for an address, ranges). */
int lwt_config_validate(const struct lwt_config *cfg, char *err, size_t errlen);
/* Write a server template to path and a client template to path.client, mode
 * 0600, each through a temporary file renamed into place; an existing file
 * (or symlink) at either path is an error unless force (then replaced, never
 * followed). */
int lwt_config_write_templates(const char *path, bool force, char *err, size_t errlen);
/* Overwrite the value of every -k/--k flag in argv with 'x' (so that
 * /proc/PID/cmdline no longer shows the key); the number of values scrubbed. */
int lwt_config_scrub_argv(int argc, char **argv);
/* -check's one-line summary of a valid cfg (no trailing newline). */
void lwt_config_summary(const struct lwt_config *cfg, char *out, size_t len);
/* The JSON keys whose values differ between a and b, comma separated into
 * out, leaving out those named in skip (NULL-terminated); how many. */
int lwt_config_diff(const struct lwt_config *a, const struct lwt_config *b,
		    const char *const *skip, char *out, size_t len);
/* Log notes on the options (e.g. a key file readable by others, a timeout
 * raised to the keepalive's). */
void lwt_config_log_notes(const struct lwt_config *cfg);
/* Parse a client_id: 1..16 hex digits, not zero. */
bool lwt_client_id_parse(const char *s, uint64_t *out);
/* "address/n" of family (AF_INET: n 0..32, AF_INET6: 0..128): the
 * address's 4 or 16 bytes into addr, n into prefix; false if malformed.
 * addrparse.c, for both families' CIDRs. */
bool lwt_prefix_parse(const char *s, int family, void *addr, uint8_t *prefix);
/* Parse "a.b.c.d/n" -> cidr; false if malformed. */
bool lwt_cidr_parse(const char *s, struct lwt_cidr *out);
/* An IPv6 CIDR (host bits kept as given). inet6_cfg.c */
bool lwt_cidr6_parse(const char *s, struct lwt_cidr6 *out);
/* tunnel_addr: an IPv4 CIDR and optionally an IPv6 one, comma separated.
 * 0, or -EINVAL with the reason in err. inet6_cfg.c */
int lwt_tunnel_addr_parse(const char *s, struct lwt_cidr *v4, struct lwt_cidr6 *v6, bool *has6,
			  char *err, size_t el);
/* Parse "a.b.c.d:port" (a literal address, port 1..65535). */
bool lwt_ipport_parse(const char *s, struct sockaddr_in *out);
/* A client's remote_addr "host:port": syntax only, never a look-up. host
 * gets the host part; out the port, and the address when host is an IPv4
 * literal (else 0.0.0.0: a name, resolved by the daemon, resolve.c). */
bool lwt_remote_parse(const char *s, struct sockaddr_in *out, char *host, size_t hl);
/* config6.c: why s failed to parse as an address and port, for the
 * error message: an IPv6-form reason, else dflt. */
const char *lwt_hostport_why(const char *s, const char *dflt);
/* config6.c: set listen4/listen6/listen_ep6 (server) or remote6/remote_ep
 * (client, a literal) from the parsed local_addr / remote_addr. */
void lwt_config_underlay6(struct lwt_config *c);
/* Parse "host:port" (host may be a name; resolved with getaddrinfo AF_INET). */
bool lwt_hostport_parse(const char *s, struct sockaddr_in *out, bool allow_any_host);

#endif
