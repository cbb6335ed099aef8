// SPDX-License-Identifier: MIT
/* Flags and JSON: every form, every error case, templates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "config.h"

#define MAXARGS 16

static int parse(struct lwt_config *c, char *err, const char *const *args)
{
	char *argv[MAXARGS + 1] = { (char *)"lightweight-tunnel" };
	int argc = 1;

	while (args[argc - 1] && argc < MAXARGS)
		argv[argc] = (char *)args[argc - 1], argc++;
	err[0] = 0;
	return lwt_config_from_argv(c, argc, argv, err, 256);
}

#define K "-k", "secret-key-123"

struct err_case {
	const char *args[MAXARGS];
	const char *want;	/* substring of the error */
};

static const struct err_case err_cases[] = {
	{ { "-m", "client", K }, "remote_addr" },				/* 1 */
	{ { "-m", "server" }, "key" },						/* 2 */
	{ { K, "-fec-data", "abc" }, "fec_data" },				/* 3 */
	{ { K, "-fec-data", "-1" }, "fec_data" },				/* 4: 0 = default */
	{ { K, "-fec-data", "129" }, "fec_data" },				/* 5 */
	{ { K, "-fec-parity", "-1" }, "fec_parity" },				/* 6 */
	{ { K, "-fec-parity", "65" }, "fec_parity" },				/* 7 */
	{ { K, "-t", "10.0.0.1/33" }, "tunnel_addr" },				/* 8 */
	{ { K, "-t", "10.0.0.1" }, "tunnel_addr" },				/* 9 */
	{ { K, "-t", "300.0.0.1/24" }, "tunnel_addr" },				/* 10 */
	{ { K, "-nosuchflag" }, "nosuchflag" },					/* 11 */
	{ { K, "-m", "router" }, "mode" },					/* 12 */
	{ { K, "-mtu", "100" }, "mtu" },					/* 13 */
	{ { K, "-mtu", "9001" }, "mtu" },					/* 14 */
	{ { K, "-multi-client=maybe" }, "multi_client" },			/* 15 */
	{ { K, "-max-clients", "-1" }, "max_clients" },			/* 16 */
	{ { K, "-l", "1.2.3.4" }, "local_addr" },				/* 17 */
	{ { K, "-l", "1.2.3.4:99999" }, "local_addr" },				/* 18 */
	{ { K, "-r", "1.2.3.4:9000" }, "remote_addr" },				/* 19: server given -r */
	{ { K, "-force" }, "-force: only with -g" },				/* 20 */
	{ { "-m", "client", K, "-r", "127.0.0.1:0" }, "remote_addr" },		/* 21 (no DNS in tests) */
	{ { "-m", "client", K, "-r", "1.2.3.4" }, "remote_addr" },		/* 22 */
	{ { K, "-routes", "10.0.0.0/8,bogus" }, "routes" },			/* 23 */
	{ { K, "-routes", "10.0.0.1/8" }, "host bits" },			/* 24 */
	{ { K, "-allowed-routes", "192.168.0.0/33" }, "allowed_routes" },	/* 25 */
	{ { K, "-tun-name", "this-name-is-far-too-long" }, "tun_name" },	/* 26 */
	{ { K, "-tun-name", "bad/name" }, "tun_name" },				/* 27 */
	{ { K, "-mtu" }, "needs a value" },					/* 28 */
	{ { K, "-xdp-mode", "turbo" }, "xdp_mode: must be auto, native or generic" }, /* 29 */
	{ { K, "-c" }, "-c" },							/* 29 */
	{ { K, "-c", "/nonexistent/lwt.json" }, "nonexistent" },		/* 30 */
	{ { K, "stray" }, "stray" },						/* 31 */
	{ { K, "-log-level", "loud" }, "log_level" },				/* 32 */
	{ { K, "-p2p-port", "70000" }, "p2p_port" },				/* 33 */
	{ { K, "-config-push-interval", "-5" }, "config_push_interval" },	/* 34 */
	{ { K, "-max-hops", "99" }, "max_hops" },				/* 35 */
	{ { K, "-send-queue", "-1" }, "send_queue_size" },			/* 36 */
	{ { "-k", "" }, "key" },						/* 37 */
	{ { K, "-p2p", "false" }, "false" },	/* 38: Go bools never take the next word */
	{ { "-k", "short-key12" }, "key: shorter than 12" },			/* 39 */
	{ { "-k", "your-secret-key" }, "example key" },				/* 40 */
	{ { "-k", "My-Secret-Key" }, "example key" },				/* 41 */
	{ { "-k", "CHANGE-ME-use-openssl-rand-base64-32-to-generate" }, "placeholder" }, /* 42 */
	{ { K, "-fec-dat", "3" }, "unknown flag -fec-dat (did you mean -fec-data?" }, /* 43 */
	{ { K, "-zzzzzzzz" }, "unknown flag -zzzzzzzz (see -h)" },		/* 44: nothing near */
	{ { "-g", "/tmp/never-written", "-m", "client" }, "no other flag" },	/* 45 */
	{ { "-c", "/tmp/x.json", "-g", "/tmp/never-written" }, "no other flag" }, /* 46 */
	{ { K, "-timeout", "5" }, "unknown flag -timeout" },			/* 47: file only */
	{ { K, "-metrics-listen", "127.0.0.1" }, "metrics_listen: bad address \"127.0.0.1\"" }, /* 48 */
	{ { K, "-metrics-listen", "localhost:9586" }, "metrics_listen: bad address" }, /* 49: no names */
	{ { K, "-metrics-listen", "127.0.0.1:0" }, "metrics_listen: bad address" }, /* 50 */
	{ { K, "-metrics-listen", "127.0.0.1: 9586" }, "metrics_listen: bad address" }, /* 51 */
	{ { K, "-metrics-listen", "127.0.0.1:+9586" }, "metrics_listen: bad address" }, /* 52 */
	{ { K, "-log-level", "5" }, "log_level: must be error, warn, info, debug or trace" }, /* 53 */
	{ { K, "-client-id", "0123456789abcdef" }, "client_id: only for client mode" }, /* 54 */
	{ { "-m", "client", K, "-r", "1.2.3.4:9000", "-client-id", "xyz" }, "client_id" }, /* 55 */
	{ { "-m", "client", K, "-r", "1.2.3.4:9000", "-client-id", "00000000" }, "client_id" }, /* 56 */
	{ { "-m", "client", K, "-r", "1.2.3.4:9000", "-client-id", "0123456789abcdef0" }, "client_id" }, /* 57 */
	/* remote_addr: syntax only (a name is resolved by the daemon) */
	{ { "-m", "client", K, "-r", "hub test:9000" }, "remote_addr: bad address" },	/* 58 */
	{ { "-m", "client", K, "-r", "10.0.0.300:9000" }, "remote_addr: bad address" },	/* 59 */
	{ { "-m", "client", K, "-r", "hub..test:9000" }, "remote_addr: bad address" },	/* 60 */
	{ { "-m", "client", K, "-r", "hub.test:65536" }, "remote_addr: bad address" },	/* 61 */
	{ { "-m", "client", K, "-r", ":9000" }, "remote_addr: bad address" },		/* 62 */
	{ { "-m", "client", K, "-r", "0.0.0.0:9000" }, "remote_addr: bad address" },	/* 63 */
	/* NAT detection */
	{ { K, "-nat-probe-port", "65535" }, "nat_probe_port" },			/* 64: P+1 too */
	{ { K, "-l", "0.0.0.0:65534" }, "nat_probe_port: the default" },		/* 65 */
	{ { "-m", "client", K, "-r", "1.2.3.4:65535" }, "nat_probe_port: the default" }, /* 66 */
	{ { K, "-nat-probe-addr", "1.2.3" }, "nat_probe_addr: bad address" },		/* 67 */
	{ { K, "-nat-probe-addr", "0.0.0.0" }, "nat_probe_addr: bad address" },	/* 68 */
	{ { K, "-nat-probe-addr", "hub.test" }, "nat_probe_addr: bad address" },	/* 69 */
	{ { "-m", "client", K, "-r", "1.2.3.4:9000", "-nat-probe-addr", "1.2.3.4" },
	  "nat_probe_addr: only for server mode" },					/* 70 */
};

/* NAT detection's keys: defaults, and a port at the top of the range is
 * fine with detection off or nat_probe_port set. */
static void test_nat_probe(void **state)
{
	struct lwt_config c;
	char err[256], ip[16];

	assert_int_equal(parse(&c, err, (const char *[]){ K, NULL }), 0);
	assert_true(c.enable_nat_detection);
	assert_int_equal(c.nat_probe_port, 0);
	assert_string_equal(c.nat_probe_addr, "");
	assert_int_equal(c.nat_probe.sin_addr.s_addr, 0);
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-nat-probe-port", "7000",
							  "-nat-probe-addr", "198.51.100.2", NULL }), 0);
	assert_int_equal(c.nat_probe_port, 7000);
	assert_string_equal(inet_ntop(AF_INET, &c.nat_probe.sin_addr, ip, sizeof(ip)), "198.51.100.2");
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-l", "0.0.0.0:65535",
							  "-nat-detection=false", NULL }), 0);
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-l", "0.0.0.0:65535",
							  "-nat-probe-port", "9001", NULL }), 0);
}

/* A name is taken without a look-up (none of these resolve here): the host
 * part kept, the address left for the daemon; a literal is parsed. */
static void test_remote_names(void **state)
{
	struct lwt_config c;
	char err[256];

	assert_int_equal(parse(&c, err, (const char *[]){ "-m", "client", K, "-r",
							  "hub.lwt-test.invalid:9000", NULL }), 0);
	assert_string_equal(c.remote_host, "hub.lwt-test.invalid");
	assert_int_equal(c.remote.sin_addr.s_addr, 0);
	assert_int_equal(ntohs(c.remote.sin_port), 9000);
	assert_int_equal(parse(&c, err, (const char *[]){ "-m", "client", K, "-r",
							  "10.1.2.3:7", NULL }), 0);
	assert_string_equal(c.remote_host, "10.1.2.3");
	assert_int_equal(c.remote.sin_addr.s_addr, htonl(0x0a010203));
	assert_int_equal(ntohs(c.remote.sin_port), 7);
}

static void test_errors(void **state)
{
	struct lwt_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		int r = parse(&c, err, err_cases[i].args);

		if (r != -EINVAL || !strstr(err, err_cases[i].want) || strchr(err, '\n'))
			fail_msg("error case %zu: r=%d err=\"%s\", want \"%s\"", i + 1, r, err,
				 err_cases[i].want);
	}
}

static void test_defaults_and_forms(void **state)
{
	struct lwt_config c;
	char err[256];
	char ip[16];

	assert_int_equal(parse(&c, err, (const char *[]){ K, NULL }), 0);
	assert_int_equal(c.mode, LWT_MODE_SERVER);
	assert_int_equal(c.mtu, 1400);
	assert_int_equal(c.fec_data, 10);
	assert_int_equal(c.fec_parity, 3);
	assert_true(c.fec_adaptive);	/* issue 15: fec_parity is a ceiling */
	assert_int_equal(c.send_queue_size, 5000);
	assert_int_equal(c.max_clients, 100);
	assert_true(c.multi_client && c.enable_xdp && c.p2p_enabled);
	assert_int_equal(c.keepalive, 5);
	assert_int_equal(c.timeout, 15);
	assert_int_equal(ntohs(c.local.sin_port), 9000);
	inet_ntop(AF_INET, &c.tun_ip, ip, sizeof(ip));
	assert_string_equal(ip, "10.0.0.1");
	assert_int_equal(c.tun_prefix, 24);

	assert_int_equal(parse(&c, err, (const char *[]){ "--m=client", "-r=127.0.0.1:9001", K,
		"-xdp=false", "--p2p", "-multi-client=0", "-client-isolation",
		"-mtu=0", "--fec-parity", "0", "-fec-adaptive=false", NULL }), 0);
	assert_false(c.fec_adaptive);
	assert_int_equal(c.mode, LWT_MODE_CLIENT);
	assert_int_equal(ntohs(c.remote.sin_port), 9001);
	assert_false(c.enable_xdp);
	assert_true(c.p2p_enabled);
	assert_false(c.multi_client);
	assert_true(c.client_isolation);
	assert_int_equal(c.mtu, 0);
	assert_int_equal(c.fec_parity, 0);
	inet_ntop(AF_INET, &c.tun_ip, ip, sizeof(ip));
	assert_string_equal(ip, "10.0.0.2");
	assert_string_equal(c.client_id, "");

	uint64_t id = 0;

	assert_int_equal(parse(&c, err, (const char *[]){ "-m", "client", "-r", "127.0.0.1:9001", K,
		"-client-id", "00C0ffee12345678", NULL }), 0);
	assert_true(lwt_client_id_parse(c.client_id, &id));
	assert_true(id == 0x00c0ffee12345678ull);
}

static void test_go_bool_forms(void **state)
{
	static const struct { const char *arg; bool want; } f[] = {
		{ "-xdp", true }, { "-xdp=true", true }, { "-xdp=false", false }, { "-xdp=1", true },
		{ "-xdp=0", false }, { "-xdp=t", true }, { "-xdp=F", false }, { "-xdp=TRUE", true },
		{ "--xdp=False", false },
	};
	struct lwt_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		assert_int_equal(parse(&c, err, (const char *[]){ K, "-xdp=false", f[i].arg, NULL }), 0);
		if (c.enable_xdp != f[i].want)
			fail_msg("bool form %zu (%s)", i + 1, f[i].arg);
	}
}

static void test_routes(void **state)
{
	struct lwt_config c;
	char err[256];

	assert_int_equal(parse(&c, err, (const char *[]){ K, "-routes", "192.168.1.0/24, 10.1.0.0/16",
		NULL }), 0);
	assert_int_equal(c.n_routes, 2);
	assert_int_equal(c.routes[1].prefix, 16);
	assert_int_equal(c.routes[0].addr, htonl(0xc0a80100));
}

static char *write_tmp(const char *text, mode_t mode)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/lwt-test-cfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	fchmod(fd, mode);
	close(fd);
	return path;
}

static void test_json_and_override(void **state)
{
	struct lwt_config c;
	char err[256];
	char *p = write_tmp("{\"mode\":\"client\",\"remote_addr\":\"127.0.0.1:7000\",\"key\":\"filekey-abcdef\","
			    "\"fec_data\":5,\"routes\":[\"10.9.0.0/16\"],\"keepalive\":2,\"timeout\":6,"
			    "\"enable_xdp\":false,\"log_level\":\"debug\",\"fec_adaptive\":false}", 0600);

	assert_int_equal(parse(&c, err, (const char *[]){ "-fec-data", "7", "-c", p, NULL }), 0);
	assert_int_equal(c.mode, LWT_MODE_CLIENT);
	assert_int_equal(c.fec_data, 7);	/* the flag wins, whatever its position */
	assert_int_equal(c.n_routes, 1);
	assert_int_equal(c.keepalive, 2);
	assert_int_equal(c.timeout, 6);
	assert_false(c.enable_xdp);
	assert_false(c.fec_adaptive);
	assert_int_equal(c.log_level, 3);
	assert_string_equal(c.key, "filekey-abcdef");
	assert_true(c.key_in_file);
	assert_true(lwt_config_has(&c, "fec_data"));
	assert_false(lwt_config_has(&c, "mtu"));
	unlink(p);
}

struct json_err {
	const char *json, *want;
};

static const struct json_err json_errs[] = {
	{ "{\"key\":5}", "key: must be a string" },			/* 1 */
	{ "{\"key\":\"k-123456789\",\"fec_dta\":3}", "unknown key \"fec_dta\" (did you mean \"fec_data\"?)" }, /* 2 */
	{ "{\"key\":\"k-123456789\",\"mtu\":\"1400\"}", "mtu: must be an integer" }, /* 3 */
	{ "{\"key\":\"k-123456789\",\"mtu\":1400.5}", "mtu" },		/* 4 */
	{ "{\"key\":\"k-123456789\",\"multi_client\":\"yes\"}", "multi_client" }, /* 5 */
	{ "{\"key\":\"k-123456789\",\"routes\":[1]}", "routes" },	/* 6 */
	{ "{\"key\":\"k-123456789\",\"routes\":{}}", "routes" },	/* 7 */
	{ "[1,2]", "object" },						/* 8 */
	{ "{\"key\":", "not valid JSON" },				/* 9 */
	{ "{\"key\":\"k-123456789\",\"transport\":\"udp\"}", "transport" }, /* 10 */
	{ "{\"key\":\"k-123456789\",\"keepalive\":10,\"timeout\":5}", "timeout" }, /* 11 */
	{ "{\"key\":\"k-123456789\",\"mode\":\"client\"}", "remote_addr" }, /* 12 */
	{ "{\"key\":\"k-123456789\",\"tunnel_addr\":\"10.0.0.1/24/3\"}", "tunnel_addr" }, /* 13 */
	{ "{\"key\":\"k-123456789\",\n\"tun-name\":\"x\"}", "(did you mean \"tun_name\"?)" }, /* 14 */
	{ "{\"key\":\"k-123456789\",\n \"mtu\": 1400,\n  \"fec_data\" 3}", ":3:14: not valid JSON" }, /* 15 */
	{ "{\"key\":\"k-123456789\", \"quux\": 1}", "unknown key \"quux\"" },	/* 16 */
	{ "{\"mode\":\"server\",\"remote_addr\":\"1.2.3.4:9000\",\"key\":\"k-1234567890\"}", "remote_addr: only for client" }, /* 17 */
};

static void test_json_errors(void **state)
{
	struct lwt_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(json_errs) / sizeof(json_errs[0]); i++) {
		char *p = write_tmp(json_errs[i].json, 0600);
		int r = parse(&c, err, (const char *[]){ "-c", p, NULL });

		unlink(p);
		if (r != -EINVAL || !strstr(err, json_errs[i].want))
			fail_msg("json case %zu: r=%d err=\"%s\"", i + 1, r, err);
	}
}

static void test_json_garbage_no_crash(void **state)
{
	struct lwt_config c;
	char err[256], buf[64];
	static const char alphabet[] = "{}[]\":,0123456789.eE-+tfnrul \\abckeymod";

	srand(1);
	for (int i = 0; i < 20000; i++) {
		size_t n = rand() % (sizeof(buf) - 1);

		for (size_t j = 0; j < n; j++)
			buf[j] = alphabet[rand() % (sizeof(alphabet) - 1)];
		buf[n] = 0;
		lwt_config_defaults(&c);
		lwt_config_load_json_str(&c, buf, err, sizeof(err));
	}
}

static void test_templates(void **state)
{
	struct lwt_config c;
	char err[256], path[64], cpath[80];
	struct stat st;

	snprintf(path, sizeof(path), "/tmp/lwt-test-gen-%d.json", getpid());
	snprintf(cpath, sizeof(cpath), "%s.client", path);
	assert_int_equal(parse(&c, err, (const char *[]){ "-g", path, NULL }), LWT_CFG_EXIT_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(cpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(parse(&c, err, (const char *[]){ "-c", path, NULL }), 0);
	assert_int_equal(c.mode, LWT_MODE_SERVER);
	assert_int_equal(parse(&c, err, (const char *[]){ "-c", cpath, "-r", "127.0.0.1:9000", NULL }), 0);
	lwt_config_defaults(&c);
	assert_int_equal(lwt_config_load_json(&c, cpath, err, sizeof(err)), 0);
	assert_int_equal(c.mode, LWT_MODE_CLIENT);
	unlink(path);
	unlink(cpath);
}

static void test_shipped_configs(void **state)
{
	static const char *const files[] = {
		"configs/server.json", "configs/client.json", "configs/low-spec-minimal.json",
		"configs/low-spec-moderate.json", "configs/low-spec-client.json",
	};
	struct lwt_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		/* Placeholder keys, refused as they stand; all else loads. */
		int r = parse(&c, err, (const char *[]){ "-c", files[i], NULL });

		if (r != -EINVAL || !strstr(err, "key: still the template's placeholder"))
			fail_msg("%s: placeholder key not refused: r=%d %s", files[i], r, err);
		r = parse(&c, err, (const char *[]){ "-c", files[i], K, NULL });
		if (r)
			fail_msg("%s: %s", files[i], err);
	}
}

/* key_file: a key of 255 characters (the most key/-k takes) is read whole;
 * one of 256, with or without its newline, is refused as -k refuses it,
 * never cut to 255 behind the user's back. */
static void test_key_file_length(void **state)
{
	static const struct { size_t len; const char *end; int want; } t[] = {
		{ 12, "\n", 0 }, { 255, "\n", 0 }, { 255, "", 0 }, { 255, " \r\n", 0 },
		{ 256, "\n", -EINVAL }, { 256, "", -EINVAL }, { 300, "\n", -EINVAL },
	};
	struct lwt_config c;
	char err[256], path[64], key[301];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/lwt-test-key-%d", getpid());
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (size_t j = 0; j < t[i].len; j++)
			key[j] = (char)('a' + (i + j) % 26);
		key[t[i].len] = 0;
		f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "%s%s", key, t[i].end);
		fclose(f);
		int r = parse(&c, err, (const char *[]){ "-key-file", path, NULL });

		if (r != t[i].want)
			fail_msg("key file case %zu (%zu characters): r=%d err=\"%s\"", i + 1,
				 t[i].len, r, err);
		if (r == 0) {
			assert_string_equal(c.key, key);
			assert_true(c.key_from_file);
		} else {
			assert_non_null(strstr(err, "longer than 255"));
		}
	}
	unlink(path);
}

/* Files written for the reference load unchanged: "_" notes, "remote_addr":
 * "" in a server file, local_addr in a client file, advertised_routes, 0 for
 * "default", a keepalive at the default timeout (which then follows it). */
static void test_reference_compat(void **state)
{
	struct lwt_config c;
	char err[256];
	char *p = write_tmp("{\"_comment\":\"from the reference\",\"_changes\":[1,2],"
			    "\"mode\":\"server\",\"local_addr\":\"0.0.0.0:9000\",\"remote_addr\":\"\","
			    "\"key\":\"a-long-enough-key\",\"advertised_routes\":[\"10.9.0.0/16\"],"
			    "\"fec_data\":0,\"send_queue_size\":0,\"recv_queue_size\":0,"
			    "\"max_clients\":0,\"max_hops\":0,\"keepalive\":15}", 0600);

	assert_int_equal(parse(&c, err, (const char *[]){ "-c", p, NULL }), 0);
	assert_int_equal(c.mode, LWT_MODE_SERVER);
	assert_int_equal(c.n_routes, 1);
	assert_int_equal(c.fec_data, 10);
	assert_int_equal(c.send_queue_size, 5000);
	assert_int_equal(c.recv_queue_size, 5000);
	assert_int_equal(c.max_clients, 100);
	assert_int_equal(c.max_hops, 3);
	assert_int_equal(c.keepalive, 15);
	assert_int_equal(c.timeout, 45);
	assert_true(c.timeout_raised);
	unlink(p);
	/* keepalive 0 is the default 5, under the default timeout */
	p = write_tmp("{\"mode\":\"client\",\"local_addr\":\"0.0.0.0:0\",\"remote_addr\":"
		      "\"127.0.0.1:9000\",\"key\":\"a-long-enough-key\",\"keepalive\":0}", 0600);
	assert_int_equal(parse(&c, err, (const char *[]){ "-c", p, NULL }), 0);
	assert_int_equal(c.keepalive, 5);
	assert_int_equal(c.timeout, 15);
	assert_false(c.timeout_raised);
	unlink(p);
	/* an explicit timeout is held to be longer than the keepalive */
	p = write_tmp("{\"key\":\"a-long-enough-key\",\"keepalive\":15,\"timeout\":15}", 0600);
	assert_int_equal(parse(&c, err, (const char *[]){ "-c", p, NULL }), -EINVAL);
	assert_non_null(strstr(err, "timeout: must be longer than keepalive"));
	unlink(p);
	/* -tun, the reference README's flag */
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-tun", "tun-b", NULL }), 0);
	assert_string_equal(c.tun_name, "tun-b");
	/* no guess when nothing is near */
	p = write_tmp("{\"key\":\"a-long-enough-key\",\"quux\":1}", 0600);
	assert_int_equal(parse(&c, err, (const char *[]){ "-c", p, NULL }), -EINVAL);
	assert_null(strstr(err, "did you mean"));
	unlink(p);
}

/* -g: never over an existing file or through a symlink unless -force; then
 * the link itself is replaced, its target untouched. */
static void test_templates_no_overwrite(void **state)
{
	struct lwt_config c;
	char err[256], path[64], cpath[80], target[64], buf[LWT_CFG_STR];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/lwt-test-gen2-%d.json", getpid());
	snprintf(cpath, sizeof(cpath), "%s.client", path);
	snprintf(target, sizeof(target), "/tmp/lwt-test-gen2-target-%d", getpid());
	f = fopen(target, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	/* the client template's name taken by a symlink: nothing written at all */
	assert_int_equal(symlink(target, cpath), 0);
	assert_int_equal(parse(&c, err, (const char *[]){ "-g", path, NULL }), -EINVAL);
	assert_non_null(strstr(err, "exists; -g never overwrites a file (add -force"));
	assert_int_equal(lstat(path, &st), -1);
	/* with -force: both written, the symlink replaced, its target intact */
	assert_int_equal(parse(&c, err, (const char *[]){ "-g", path, "-force", NULL }),
			 LWT_CFG_EXIT_OK);
	assert_int_equal(lstat(cpath, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	f = fopen(target, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious\n");
	/* and again without -force: refused, the files keep their key */
	assert_int_equal(parse(&c, err, (const char *[]){ "-c", path, NULL }), 0);
	snprintf(buf, sizeof(buf), "%s", c.key);
	assert_int_equal(parse(&c, err, (const char *[]){ "-g", path, NULL }), -EINVAL);
	assert_int_equal(parse(&c, err, (const char *[]){ "-c", path, NULL }), 0);
	assert_string_equal(c.key, buf);
	unlink(path);
	unlink(cpath);
	unlink(target);
}

static void test_metrics_listen_and_trace(void **state)
{
	struct lwt_config c;
	char err[256], ip[16];

	assert_int_equal(parse(&c, err, (const char *[]){ K, NULL }), 0);
	assert_string_equal(c.metrics_listen, "");		/* off by default */
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-metrics-listen", "127.0.0.1:9586",
							  "-log-level", "trace", NULL }), 0);
	assert_int_equal(ntohs(c.metrics.sin_port), 9586);
	assert_string_equal(inet_ntop(AF_INET, &c.metrics.sin_addr, ip, sizeof(ip)), "127.0.0.1");
	assert_int_equal(c.log_level, 4);
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-log-level", "4", NULL }), 0);
	assert_int_equal(c.log_level, 4);
}

static void test_version_help(void **state)
{
	struct lwt_config c;
	char err[256];

	assert_int_equal(parse(&c, err, (const char *[]){ "-v", NULL }), LWT_CFG_EXIT_OK);
	assert_int_equal(parse(&c, err, (const char *[]){ "-h", NULL }), LWT_CFG_EXIT_OK);
	assert_int_equal(parse(&c, err, (const char *[]){ "--help", NULL }), LWT_CFG_EXIT_OK);
}

/* lwt_config_diff: which keys a reload would name, table-driven. */
struct diff_case {
	const char *a[MAXARGS], *b[MAXARGS];
	const char *want;	/* the list, "" for none */
};

static const struct diff_case diff_cases[] = {
	{ { K }, { K }, "" },							/* 1 */
	{ { K }, { K, "-t", "10.0.0.1/16" }, "tunnel_addr" },			/* 2 */
	{ { K }, { "-m", "client", K, "-r", "1.2.3.4:9000" },
	  "mode, remote_addr, tunnel_addr" },					/* 3: defaults differ */
	{ { K, "-routes", "10.1.0.0/16" }, { K, "-routes", "10.2.0.0/16" }, "" }, /* 4: skipped */
	{ { K, "-routes", "10.1.0.0/16" }, { K, "-routes", "10.1.0.0/16,10.2.0.0/16" }, "" }, /* 5 */
	{ { K, "-max-clients", "5", "-log-level", "debug" }, { K, "-mtu", "1300" }, "mtu" }, /* 6 */
	{ { K }, { "-k", "another-key-1234" }, "key" },				/* 7 */
	{ { K, "-allowed-routes", "10.0.0.0/8" }, { K, "-allowed-routes", "10.0.0.0/8" }, "" }, /* 8 */
	{ { K, "-fec-data", "4" }, { K, "-fec-data", "5", "-tun-name", "x" },
	  "fec_data, tun_name" },						/* 9 */
};

static void test_diff(void **state)
{
	static const char *const skip[] = { "routes", "allowed_routes", "max_clients", "log_level",
					     NULL };
	struct lwt_config a, b;
	char err[256], out[256];
	size_t i;

	for (i = 0; i < sizeof(diff_cases) / sizeof(diff_cases[0]); i++) {
		const struct diff_case *t = &diff_cases[i];
		int n;

		assert_int_equal(parse(&a, err, t->a), 0);
		assert_int_equal(parse(&b, err, t->b), 0);
		n = lwt_config_diff(&a, &b, skip, out, sizeof(out));
		if (strcmp(out, t->want))
			fail_msg("diff case %zu: \"%s\", want \"%s\"", i + 1, out, t->want);
		assert_int_equal(n == 0, t->want[0] == 0);
	}
	/* -check is no key: it makes no difference. */
	assert_int_equal(parse(&a, err, (const char *[]){ K, "-check", NULL }), 0);
	assert_true(a.check_only);
	assert_int_equal(parse(&b, err, (const char *[]){ K, NULL }), 0);
	assert_false(b.check_only);
	assert_int_equal(lwt_config_diff(&a, &b, NULL, out, sizeof(out)), 0);
	assert_int_equal(parse(&a, err, (const char *[]){ K, "-check=true", NULL }), -EINVAL);
	assert_non_null(strstr(err, "-check"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_remote_names),
		cmocka_unit_test(test_defaults_and_forms),
		cmocka_unit_test(test_go_bool_forms),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_json_and_override),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_json_garbage_no_crash),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_shipped_configs),
		cmocka_unit_test(test_version_help),
		cmocka_unit_test(test_key_file_length),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_reference_compat),
		cmocka_unit_test(test_templates_no_overwrite),
		cmocka_unit_test(test_metrics_listen_and_trace),
		cmocka_unit_test(test_nat_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
