/* SPDX-License-Identifier: Apache-2.0 */
/* test-ipam.c - IPAM arithmetic: CIDR parsing, gateways, next free address, membership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "net/net.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static const char *str(struct in_addr a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, buf[i], sizeof(buf[i]));
}

static void test_parse_cidr(void **state)
{
	struct in_addr net;
	int prefix;

	assert_int_equal(sk_ipam_parse_cidr("10.88.0.0/16", &net, &prefix, NULL), 0);
	assert_string_equal(str(net), "10.88.0.0");
	assert_int_equal(prefix, 16);
	assert_int_equal(sk_ipam_parse_cidr("192.168.7.0/24", &net, &prefix, NULL), 0);
	assert_int_equal(sk_ipam_parse_cidr("10.0.0.0/8", &net, &prefix, NULL), 0);
	assert_int_equal(sk_ipam_parse_cidr("10.0.0.4/30", &net, &prefix, NULL), 0);
	assert_int_equal(prefix, 30);
}

static void test_parse_cidr_errors(void **state)
{
	const char *bad[] = { "",
			      "10.0.0.0",
			      "10.0.0.0/",
			      "10.0.0.0/7",
			      "10.0.0.0/31",
			      "10.0.0.0/32",
			      "10.0.0.1/24",
			      "10.0.0/24",
			      "10.0.0.0/+24",
			      "10.0.0.0/ 24",
			      "10.0.0.0/24x",
			      "10.0.0.0/-1",
			      "300.0.0.0/24",
			      "x.y.z.w/24",
			      "10.0.0.0/99999999999" };
	struct in_addr net = { 0x12345678 };
	int prefix = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sk_error *err = NULL;

		assert_int_equal(sk_ipam_parse_cidr(bad[i], &net, &prefix, &err), -EINVAL);
		assert_non_null(err);
		assert_non_null(strstr(err->msg, "subnet '"));
		sk_error_free(err);
	}
	/* Outputs are untouched on failure. */
	assert_int_equal(net.s_addr, 0x12345678);
	assert_int_equal(prefix, 77);
}

static void test_gateway(void **state)
{
	assert_string_equal(str(sk_ipam_gateway(ip("10.88.3.0"), 24)), "10.88.3.1");
	assert_string_equal(str(sk_ipam_gateway(ip("10.88.0.0"), 16)), "10.88.0.1");
	/* Host bits in the argument are ignored. */
	assert_string_equal(str(sk_ipam_gateway(ip("10.88.3.77"), 24)), "10.88.3.1");
}

static void test_contains(void **state)
{
	struct in_addr net = ip("10.88.3.0");

	assert_true(sk_ipam_contains(net, 24, ip("10.88.3.1")));
	assert_true(sk_ipam_contains(net, 24, ip("10.88.3.254")));
	assert_false(sk_ipam_contains(net, 24, ip("10.88.3.0")));   /* network */
	assert_false(sk_ipam_contains(net, 24, ip("10.88.3.255"))); /* broadcast */
	assert_false(sk_ipam_contains(net, 24, ip("10.88.4.1")));
	assert_false(sk_ipam_contains(net, 24, ip("10.89.3.1")));
	assert_true(sk_ipam_contains(ip("10.88.0.0"), 16, ip("10.88.200.9")));
}

static void test_next(void **state)
{
	struct in_addr net = ip("10.88.3.0"), got;
	struct in_addr used[] = { ip("10.88.3.4"), ip("10.88.3.2"), ip("10.88.3.3"),
				  ip("10.99.0.2") };

	assert_int_equal(sk_ipam_next(net, 24, NULL, 0, &got), 0);
	assert_string_equal(str(got), "10.88.3.2"); /* .0 network, .1 gateway */
	assert_int_equal(sk_ipam_next(net, 24, used, 4, &got), 0);
	assert_string_equal(str(got), "10.88.3.5");
	assert_int_equal(sk_ipam_next(net, 24, used, 1, &got), 0);
	assert_string_equal(str(got), "10.88.3.2");
}

static void test_next_full(void **state)
{
	struct in_addr net = ip("10.88.3.0"), got = { 0 };
	struct in_addr used[256];
	size_t n = 0;

	/* A /30 has two hosts: the gateway and one more. */
	assert_int_equal(sk_ipam_next(ip("10.0.0.4"), 30, NULL, 0, &got), 0);
	assert_string_equal(str(got), "10.0.0.6");
	used[0] = got;
	got.s_addr = 0;
	assert_int_equal(sk_ipam_next(ip("10.0.0.4"), 30, used, 1, &got), -ENOSPC);
	assert_int_equal(got.s_addr, 0);

	for (int i = 2; i <= 254; i++)
		used[n++] = (struct in_addr){ htonl(ntohl(net.s_addr) + (uint32_t)i) };
	assert_int_equal(sk_ipam_next(net, 24, used, n, &got), -ENOSPC);
	n--; /* frees .254, the last host */
	assert_int_equal(sk_ipam_next(net, 24, used, n, &got), 0);
	assert_string_equal(str(got), "10.88.3.254");
	assert_int_equal(sk_ipam_next(net, 31, NULL, 0, &got), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cidr), cmocka_unit_test(test_parse_cidr_errors),
		cmocka_unit_test(test_gateway),	   cmocka_unit_test(test_contains),
		cmocka_unit_test(test_next),	   cmocka_unit_test(test_next_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
