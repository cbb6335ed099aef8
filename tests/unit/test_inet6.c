// SPDX-License-Identifier: MIT
/* IPv6 inside the tunnel: tunnel_addr with an IPv6 prefix (good forms and
 * every refusal with its reason), IPv6 entries of routes/allowed_routes,
 * and the longest-prefix-match table (user/in6idx.h) against a model: a
 * linear scan for the longest prefix. */
#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "config.h"
#include "in6idx.h"

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

static void a6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static void test_tunnel_addr_good(void **state)
{
	static const char *const good[] = {
		"10.0.0.2/24,fd00::2/64", "fd00::2/64,10.0.0.2/24", "10.0.0.2/24, fd00::2/64",
		"10.0.0.2/24,2001:db8:1::ff/48", "10.0.0.2/24,fd00::2/126",
	};
	struct lwt_config c;
	uint8_t want[16];
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse(&c, err, (const char *[]){ K, "-t", good[i], NULL }), 0);
		assert_true(c.has_ip6);
		assert_int_equal(c.tun_ip, htonl(0x0a000002));
		assert_int_equal(c.tun_prefix, 24);
	}
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-t", "10.0.0.2/24,fd00::2/64", NULL }), 0);
	a6("fd00::2", want);
	assert_memory_equal(c.tun6.addr, want, 16);
	assert_int_equal(c.tun6.prefix, 64);
	/* IPv4 alone: no IPv6, as before. */
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-t", "10.0.0.2/24", NULL }), 0);
	assert_false(c.has_ip6);
}

static void test_tunnel_addr_bad(void **state)
{
	static const struct { const char *v, *want; } bad[] = {
		{ "fd00::2/64", "an IPv4 tunnel address is required" },			/* 1: IPv6 only */
		{ "10.0.0.2/24,fd00::2/64,fd01::2/64", "more than one IPv6 prefix" },	/* 2 */
		{ "10.0.0.2/24,10.0.1.2/24", "more than one IPv4 prefix" },		/* 3 */
		{ "10.0.0.2/24,fd00::2", "bad IPv6 CIDR" },				/* 4: no prefix */
		{ "10.0.0.2/24,fd00::2/129", "bad IPv6 CIDR" },				/* 5 */
		{ "10.0.0.2/24,fd00::2/127", "bad IPv6 CIDR" },				/* 6: no host room */
		{ "10.0.0.2/24,fd00::2/8", "bad IPv6 CIDR" },				/* 7 */
		{ "10.0.0.2/24,fd00:::2/64", "bad IPv6 CIDR" },				/* 8 */
		{ "10.0.0.2/24,fd00::/64", "not a host address" },			/* 9: the network */
		{ "10.0.0.2/24,ff02::1/64", "not a host address" },			/* 10: multicast */
		{ "10.0.0.2/24,fe80::1/64", "not a host address" },			/* 11: link-local */
		{ "10.0.0.2/33,fd00::2/64", "bad CIDR" },				/* 12 */
		{ ",", "an IPv4 tunnel address is required" },				/* 13 */
	};
	struct lwt_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(&c, err, (const char *[]){ K, "-t", bad[i].v, NULL });

		if (r != -EINVAL || !strstr(err, "tunnel_addr") || !strstr(err, bad[i].want))
			fail_msg("case %zu (%s): r=%d err=\"%s\", want \"%s\"", i + 1, bad[i].v, r, err,
				 bad[i].want);
	}
}

static void test_routes6(void **state)
{
	struct lwt_config c;
	uint8_t want[16];
	char err[256];

	assert_int_equal(parse(&c, err, (const char *[]){ K, "-routes", "192.168.1.0/24,fd10:1::/48",
		"-allowed-routes", "fd10::/16,::/0,10.0.0.0/8", NULL }), 0);
	assert_int_equal(c.n_routes, 1);
	assert_int_equal(c.n_routes6, 1);
	a6("fd10:1::", want);
	assert_memory_equal(c.routes6[0].addr, want, 16);
	assert_int_equal(c.routes6[0].prefix, 48);
	assert_int_equal(c.n_allowed_routes, 1);
	assert_int_equal(c.n_allowed_routes6, 2);
	assert_int_equal(c.allowed_routes6[1].prefix, 0);
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-routes", "fd10:1::1/48", NULL }), -EINVAL);
	assert_non_null(strstr(err, "host bits"));
	assert_int_equal(parse(&c, err, (const char *[]){ K, "-routes", "fd10:1::/129", NULL }), -EINVAL);
	assert_non_null(strstr(err, "bad IPv6 CIDR"));
}

/* The model: the longest prefix holding a, by a scan. */
static int model(const struct lwt_rt6_ent *e, int n, const uint8_t a[16])
{
	int best = -1;

	for (int i = 0; i < n; i++)
		if (lwt_in6_within(a, e[i].net, e[i].prefix) && (best < 0 || e[i].prefix > e[best].prefix))
			best = i;
	return best;
}

static void test_lpm_basic(void **state)
{
	struct lwt_rt6_ent e[4] = { 0 };
	struct lwt_rt6 *t;
	uint8_t a[16];

	a6("fd10::", e[0].net), e[0].prefix = 16, e[0].slot = 1;
	a6("fd10:1::", e[1].net), e[1].prefix = 32, e[1].slot = 2;
	a6("fd10:1:2:3::", e[2].net), e[2].prefix = 64, e[2].slot = 3;
	a6("::", e[3].net), e[3].prefix = 0, e[3].slot = 4;
	t = lwt_rt6_build(e, 3);
	assert_non_null(t);
	a6("fd10:1:2:3::9", a);
	assert_int_equal(t->e[lwt_rt6_lookup(t, a)].slot, 3);
	a6("fd10:1:2:4::9", a);
	assert_int_equal(t->e[lwt_rt6_lookup(t, a)].slot, 2);
	a6("fd10:9::1", a);
	assert_int_equal(t->e[lwt_rt6_lookup(t, a)].slot, 1);
	a6("fd11::1", a);
	assert_int_equal(lwt_rt6_lookup(t, a), -1);
	free(t);
	/* A default route catches what nothing longer holds. */
	t = lwt_rt6_build(e, 4);
	assert_non_null(t);
	assert_int_equal(t->e[lwt_rt6_lookup(t, a)].slot, 4);
	free(t);
	/* An empty table, and none at all. */
	t = lwt_rt6_build(e, 0);
	assert_int_equal(lwt_rt6_lookup(t, a), -1);
	free(t);
	assert_int_equal(lwt_rt6_lookup(NULL, a), -1);
}

/* Random nested prefixes in a small corner of the space, so lookups hit
 * them at every length; each lookup agrees with the model. */
static void test_lpm_model(void **state)
{
	enum { N = 2000, Q = 20000 };
	struct lwt_rt6_ent *e = calloc(N, sizeof(*e));
	struct lwt_rt6 *t;
	uint8_t a[16];
	int n = 0;

	srandom(12345);
	while (n < N) {
		uint8_t raw[16] = { 0xfd, 0x10 };
		int p = 16 + (int)(random() % 113), dup = 0;

		for (int i = 2; i < 16; i++)
			raw[i] = (uint8_t)(random() & (i < 6 ? 0x3 : 0xff));
		lwt_in6_mask(raw, p, e[n].net);
		e[n].prefix = (uint8_t)p;
		for (int i = 0; i < n && !dup; i++)
			dup = e[i].prefix == p && !memcmp(e[i].net, e[n].net, 16);
		if (dup)
			continue;
		e[n].slot = n;
		n++;
	}
	t = lwt_rt6_build(e, n);
	assert_non_null(t);
	assert_int_equal(t->n, N);
	for (int q = 0; q < Q; q++) {
		int want, got;

		if (q & 1) {	/* inside a route, with random host bits */
			memcpy(a, e[random() % N].net, 16);
			a[8 + random() % 8] ^= (uint8_t)random();
		} else {
			a[0] = 0xfd, a[1] = 0x10;
			for (int i = 2; i < 16; i++)
				a[i] = (uint8_t)(random() & (i < 6 ? 0x3 : 0xff));
		}
		want = model(e, n, a);
		got = lwt_rt6_lookup(t, a);
		if (want < 0)
			assert_int_equal(got, -1);
		else if (got < 0 || t->e[got].slot != e[want].slot)
			fail_msg("query %d: got %d, want slot %d (/%d)", q, got < 0 ? -1 : t->e[got].slot,
				 e[want].slot, e[want].prefix);
	}
	free(t);
	free(e);
}

static void test_overlap(void **state)
{
	uint8_t a[16], b[16];

	a6("fd10:1::", a);
	a6("fd10::", b);
	assert_true(lwt_in6_overlap(a, 32, b, 16));
	assert_true(lwt_in6_overlap(b, 16, a, 32));
	a6("fd11::", b);
	assert_false(lwt_in6_overlap(a, 32, b, 16));
	assert_true(lwt_in6_overlap(a, 32, b, 0));
	a6("fd10:1::5", b);
	assert_true(lwt_in6_within(b, a, 32));
	assert_false(lwt_in6_within(a, b, 128));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tunnel_addr_good),
		cmocka_unit_test(test_tunnel_addr_bad),
		cmocka_unit_test(test_routes6),
		cmocka_unit_test(test_lpm_basic),
		cmocka_unit_test(test_lpm_model),
		cmocka_unit_test(test_overlap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
