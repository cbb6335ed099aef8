// SPDX-License-Identifier: MIT
/* The outer address (addr.h) and the IPv6 forms of local_addr and
 * remote_addr: what parses, into what, and the reason a bad form gives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "config.h"

#define MAXARGS 16
#define K "-k", "secret-key-123"

static int parse(struct lwt_config *c, char *err, const char *const *args)
{
	char *argv[MAXARGS + 1] = { (char *)"lightweight-tunnel" };
	int argc = 1;

	while (args[argc - 1] && argc < MAXARGS)
		argv[argc] = (char *)args[argc - 1], argc++;
	err[0] = 0;
	return lwt_config_from_argv(c, argc, argv, err, 256);
}

/* 1: host:port splitting. */
static void test_split(void **state)
{
	static const struct {
		const char *s, *host;
		long port;
		const char *why;	/* NULL: accepted */
	} t[] = {
		{ "[::]:9000", "::", 9000, NULL },				/* 1 */
		{ "[2001:db8::1]:443", "2001:db8::1", 443, NULL },		/* 2 */
		{ "10.0.0.1:80", "10.0.0.1", 80, NULL },			/* 3 */
		{ "host.example:1", "host.example", 1, NULL },			/* 4 */
		{ "2001:db8::1:9000", NULL, 0, "brackets" },			/* 5 */
		{ "[2001:db8::1]", NULL, 0, "':port'" },			/* 6 */
		{ "[2001:db8::1:9000", NULL, 0, "without ']'" },		/* 7 */
		{ "[2001:db8::1]:0", NULL, 0, "1..65535" },			/* 8 */
		{ "[2001:db8::1]:70000", NULL, 0, "1..65535" },		/* 9 */
		{ "[10.0.0.1]:80", NULL, 0, "not an IPv6" },			/* 10 */
		{ "[fe80::zz]:80", NULL, 0, "not an IPv6" },			/* 11 */
		{ "[::1]:8x", NULL, 0, "1..65535" },				/* 12 */
		{ "", NULL, 0, "host:port" },					/* 13 */
	};
	char host[64];
	const char *why;
	long port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool ok = lwt_hostport_split(t[i].s, host, sizeof(host), &port, &why);

		printf("case %zu: %s -> %s\n", i + 1, t[i].s, ok ? host : why);
		assert_int_equal(ok, t[i].why == NULL);
		if (ok) {
			assert_string_equal(host, t[i].host);
			assert_int_equal(port, t[i].port);
		} else {
			assert_non_null(strstr(why, t[i].why));
		}
	}
}

/* 2: text forms, families, the 32-bit stand-in. */
static void test_addr_forms(void **state)
{
	struct lwt_addr a, b;
	char s[LWT_ADDR_STRLEN];

	(void)state;
	assert_true(lwt_addr_parse("10.1.2.3", &a));
	assert_true(lwt_addr_is_v4(&a));
	assert_int_equal(lwt_addr_key32(&a), inet_addr("10.1.2.3"));
	assert_string_equal(lwt_addr_str(&a, htons(9000), s, sizeof(s)), "10.1.2.3:9000");
	assert_true(lwt_addr_parse("2001:db8::7", &a));
	assert_false(lwt_addr_is_v4(&a));
	assert_string_equal(lwt_addr_str(&a, htons(9000), s, sizeof(s)), "[2001:db8::7]:9000");
	assert_string_equal(lwt_addr_str(&a, 0, s, sizeof(s)), "2001:db8::7");
	assert_true(lwt_addr_key32_is_v6(lwt_addr_key32(&a)));
	assert_false(lwt_addr_key32_is_v6(inet_addr("10.1.2.3")));
	/* The same /64: the same stand-in prefix (the hub's per-net caps). */
	assert_true(lwt_addr_parse("2001:db8::8", &b));
	assert_int_equal(ntohl(lwt_addr_key32(&a)) >> 8, ntohl(lwt_addr_key32(&b)) >> 8);
	assert_true(lwt_addr_parse("::", &a));
	assert_true(lwt_addr_is_any(&a));
	assert_false(lwt_addr_parse("2001:db8::g", &a));
}

/* 3: the flags: [::] listens on both families, [v6] on IPv6 only, a v4
 * form on IPv4 only; -r [v6]:port is an IPv6 server. */
static void test_config6(void **state)
{
	struct lwt_config c;
	char err[256];
	struct lwt_addr want;

	(void)state;
	assert_int_equal(parse(&c, err, (const char *const[]){ K, "-l", "[::]:9000", NULL }), 0);
	assert_true(c.listen4 && c.listen6);
	assert_int_equal(ntohs(c.local.sin_port), 9000);
	assert_int_equal(parse(&c, err, (const char *const[]){ K, "-l", "[2001:db8::1]:9001", NULL }), 0);
	assert_true(!c.listen4 && c.listen6);
	assert_true(lwt_addr_parse("2001:db8::1", &want) && lwt_addr_eq(&want, &c.listen_ep6));
	assert_int_equal(parse(&c, err, (const char *const[]){ K, "-l", "0.0.0.0:9000", NULL }), 0);
	assert_true(c.listen4 && !c.listen6);
	assert_int_equal(parse(&c, err, (const char *const[]){ "-m", "client", K, "-r",
						"[2001:db8::1]:9000", NULL }), 0);
	assert_true(c.remote6 && lwt_addr_eq(&want, &c.remote_ep));
	assert_int_equal(ntohs(c.remote.sin_port), 9000);
	assert_int_equal(parse(&c, err, (const char *const[]){ "-m", "client", K, "-r",
						"10.0.0.9:9000", NULL }), 0);
	assert_false(c.remote6);
	/* Bad forms: the key named, the reason said. */
	assert_int_not_equal(parse(&c, err, (const char *const[]){ "-m", "client", K, "-r",
						    "2001:db8::1:9000", NULL }), 0);
	assert_non_null(strstr(err, "remote_addr"));
	assert_non_null(strstr(err, "brackets"));
	assert_int_not_equal(parse(&c, err, (const char *const[]){ "-m", "client", K, "-r",
						    "[::]:9000", NULL }), 0);
	assert_non_null(strstr(err, "remote_addr"));
	assert_non_null(strstr(err, "[::]"));
	assert_int_not_equal(parse(&c, err, (const char *const[]){ K, "-l", "[::1:9000", NULL }), 0);
	assert_non_null(strstr(err, "local_addr"));
	assert_non_null(strstr(err, "without ']'"));
	assert_int_not_equal(parse(&c, err, (const char *const[]){ K, "-l", "[::1]:0", NULL }), 0);
	assert_non_null(strstr(err, "1..65535"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_addr_forms),
		cmocka_unit_test(test_config6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
