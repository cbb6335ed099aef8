// SPDX-License-Identifier: MIT
/* ICMPv6 Packet Too Big as a raw ICMPv6 socket reads it (pmtu6.c): what
 * is taken as a path MTU hint for a flow, and what is not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "pmtu_search.h"

/* type 2 code 0, MTU, then the quoted IPv6 header and TCP ports. */
static size_t ptb(uint8_t *b, uint32_t mtu, uint8_t nexthdr)
{
	memset(b, 0, 128);
	b[0] = 2;
	b[4] = (uint8_t)(mtu >> 24);
	b[5] = (uint8_t)(mtu >> 16);
	b[6] = (uint8_t)(mtu >> 8);
	b[7] = (uint8_t)mtu;
	b[8] = 0x60;
	b[8 + 6] = nexthdr;
	b[8 + 7] = 64;
	inet_pton(AF_INET6, "2001:db8::2", b + 16);
	inet_pton(AF_INET6, "2001:db8:1::1", b + 32);
	b[48] = 0x9c; b[49] = 0x40;	/* sport 40000 */
	b[50] = 0x23; b[51] = 0x28;	/* dport 9000 */
	return 8 + 40 + 20;
}

static void test_ptb(void **state)
{
	struct lwt_pmtu_icmp q;
	struct lwt_addr da;
	uint8_t b[128];
	size_t n;

	(void)state;
	/* 1: a Packet Too Big quoting our segment. */
	n = ptb(b, 1400, 6);
	assert_int_equal(lwt_pmtu_icmp6_parse(b, n, &q), 0);
	assert_int_equal(q.mtu, 1400);
	assert_true(q.v6);
	assert_true(lwt_addr_parse("2001:db8:1::1", &da) && lwt_addr_eq(&q.da6, &da));
	assert_int_equal(q.daddr, lwt_addr_key32(&da));
	assert_int_equal(ntohs(q.sport), 40000);
	assert_int_equal(ntohs(q.dport), 9000);
	/* 2: an MTU under IPv6's minimum is never a hint (RFC 8201). */
	n = ptb(b, 1279, 6);
	assert_int_equal(lwt_pmtu_icmp6_parse(b, n, &q), -EINVAL);
	/* 3: another type or code. */
	n = ptb(b, 1400, 6);
	b[0] = 1;
	assert_int_equal(lwt_pmtu_icmp6_parse(b, n, &q), -EINVAL);
	n = ptb(b, 1400, 6);
	b[1] = 1;
	assert_int_equal(lwt_pmtu_icmp6_parse(b, n, &q), -EINVAL);
	/* 4: quoting UDP, or an extension header: not a segment of ours. */
	n = ptb(b, 1400, 17);
	assert_int_equal(lwt_pmtu_icmp6_parse(b, n, &q), -EINVAL);
	n = ptb(b, 1400, 44);
	assert_int_equal(lwt_pmtu_icmp6_parse(b, n, &q), -EINVAL);
	/* 5: cut short of the ports. */
	n = ptb(b, 1400, 6);
	for (size_t k = 0; k < 8 + 40 + 4; k++)
		assert_int_equal(lwt_pmtu_icmp6_parse(b, k, &q), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ptb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
