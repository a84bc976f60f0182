/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-proxy-balance.c - the proxy's decisions without sockets: round
 * robin and least-request picks, avoiding endpoints already tried, outlier
 * ejection (consecutive 5xx and failures, k x base duration, the max
 * ejection percent, coming back), the retry budget, backoff bounds, fault
 * dice and method classes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "proxy/proxy-internal.h"

#define S 1000000000ull

struct fixture {
	struct sk_proxy_cstate cs;
	struct sk_proxy_estate es[4];
	struct sk_proxy_sep eps[4];
	struct sk_proxy_scluster c;
};

static void setup(struct fixture *f, size_t n, enum sk_proxy_lb lb)
{
	static char *ids[] = { "a", "b", "c", "d" };

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		f->es[i].id = ids[i];
		f->eps[i].id = ids[i];
		f->eps[i].st = &f->es[i];
	}
	f->c.eps = f->eps;
	f->c.n_eps = n;
	f->c.st = &f->cs;
	f->c.fallback = -1;
	f->c.policy.lb = lb;
	sk_proxy_policy_defaults(&f->c.policy);
}

static void test_round_robin(void **state)
{
	struct fixture f;
	int seen[3] = { 0 };

	setup(&f, 3, SK_PROXY_ROUND_ROBIN);
	for (int i = 0; i < 30; i++)
		seen[sk_proxy_pick(&f.c, 0, 1, (uint64_t)i)]++;
	assert_int_equal(seen[0], 10);
	assert_int_equal(seen[1], 10);
	assert_int_equal(seen[2], 10);
	/* avoid: endpoints tried already are skipped while others remain */
	for (int i = 0; i < 10; i++)
		assert_int_equal(sk_proxy_pick(&f.c, 0x3, 1, 0), 2);
	/* all tried: any usable one */
	assert_true(sk_proxy_pick(&f.c, 0x7, 1, 0) >= 0);
	setup(&f, 0, SK_PROXY_ROUND_ROBIN);
	assert_int_equal(sk_proxy_pick(&f.c, 0, 1, 0), -1);
}

static void test_least_request(void **state)
{
	struct fixture f;
	uint64_t rnd = 12345;

	setup(&f, 2, SK_PROXY_LEAST_REQUEST);
	f.es[0].outstanding = 10;
	f.es[1].outstanding = 1;
	for (int i = 0; i < 20; i++) {
		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
		assert_int_equal(sk_proxy_pick(&f.c, 0, 1, rnd), 1);
	}
	setup(&f, 4, SK_PROXY_LEAST_REQUEST);
	f.es[0].outstanding = f.es[1].outstanding = f.es[2].outstanding = 5;
	int hits = 0;
	for (int i = 0; i < 200; i++) {
		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
		hits += sk_proxy_pick(&f.c, 0, 1, rnd) == 3;
	}
	assert_true(hits > 60); /* P2C: the idle one wins whenever it is drawn */
}

static void test_outlier(void **state)
{
	struct fixture f;

	setup(&f, 4, SK_PROXY_ROUND_ROBIN);
	f.c.policy.outlier_consecutive_5xx = 3;
	f.c.policy.outlier_consecutive_failures = 2;
	f.c.policy.outlier_base_ejection_ns = 10 * S;
	f.c.policy.outlier_max_ejection_percent = 50;

	assert_false(sk_proxy_outlier_record(&f.c, &f.eps[0], false, true, false, 100));
	assert_false(sk_proxy_outlier_record(&f.c, &f.eps[0], false, true, false, 100));
	/* a success resets the run */
	assert_false(sk_proxy_outlier_record(&f.c, &f.eps[0], true, false, false, 100));
	assert_false(sk_proxy_outlier_record(&f.c, &f.eps[0], false, true, false, 100));
	assert_false(sk_proxy_outlier_record(&f.c, &f.eps[0], false, true, false, 100));
	assert_true(sk_proxy_outlier_record(&f.c, &f.eps[0], false, true, false, 100));
	assert_true(sk_proxy_ejected(&f.eps[0], 100));
	assert_true(sk_proxy_ejected(&f.eps[0], 100 + 10 * S - 1));
	assert_false(sk_proxy_ejected(&f.eps[0], 100 + 10 * S));
	assert_int_equal(f.cs.ejections, 1);
	for (int i = 0; i < 8; i++)
		assert_int_not_equal(sk_proxy_pick(&f.c, 0, 200, (uint64_t)i), 0);

	/* failures: second endpoint ejected; a third is refused (50% of 4) */
	assert_false(sk_proxy_outlier_record(&f.c, &f.eps[1], false, false, true, 200));
	assert_true(sk_proxy_outlier_record(&f.c, &f.eps[1], false, false, true, 200));
	assert_false(sk_proxy_outlier_record(&f.c, &f.eps[2], false, false, true, 200));
	assert_false(sk_proxy_outlier_record(&f.c, &f.eps[2], false, false, true, 200));
	assert_false(sk_proxy_ejected(&f.eps[2], 300));

	/* the second ejection of an endpoint lasts twice as long */
	uint64_t t = 100 + 10 * S;
	for (int i = 0; i < 3; i++)
		sk_proxy_outlier_record(&f.c, &f.eps[0], false, true, false, t);
	assert_true(sk_proxy_ejected(&f.eps[0], t + 20 * S - 1));
	assert_false(sk_proxy_ejected(&f.eps[0], t + 20 * S));

	/* one endpoint may always be ejected, even when 50% rounds to 0 */
	setup(&f, 1, SK_PROXY_ROUND_ROBIN);
	f.c.policy.outlier_consecutive_failures = 1;
	assert_true(sk_proxy_outlier_record(&f.c, &f.eps[0], false, false, true, 1));
	assert_int_equal(sk_proxy_pick(&f.c, 0, 2, 0), -1);
	/* ...but then panic routing still uses it rather than failing everything */
	assert_int_equal(sk_proxy_pick_panic(&f.c, 0, 2), 0);
	assert_int_equal(sk_proxy_pick_panic(&f.c, 1, 2), 0); /* tried: still the only one */

	/* no panic while any endpoint is in */
	setup(&f, 2, SK_PROXY_ROUND_ROBIN);
	f.c.policy.outlier_consecutive_failures = 1;
	assert_true(sk_proxy_outlier_record(&f.c, &f.eps[0], false, false, true, 1));
	assert_int_equal(sk_proxy_pick_panic(&f.c, 0, 2), -1);
	assert_int_equal(sk_proxy_pick(&f.c, 2, 2, 0), 1);
}

static void test_budget_backoff(void **state)
{
	struct fixture f;

	setup(&f, 1, SK_PROXY_ROUND_ROBIN);
	f.cs.active_requests = 2;
	f.cs.active_retries = 2;
	assert_true(sk_proxy_retry_budget_ok(&f.c)); /* below min concurrency 3 */
	f.cs.active_requests = 10;
	f.cs.active_retries = 1;
	assert_true(sk_proxy_retry_budget_ok(&f.c)); /* 2 <= 20% of 10 */
	f.cs.active_retries = 2;
	assert_false(sk_proxy_retry_budget_ok(&f.c));

	struct sk_proxy_policy p = { .retry_backoff_ns = 100, .retry_max_backoff_ns = 1000 };
	for (uint64_t r = 0; r < 50; r++) {
		uint64_t d1 = sk_proxy_backoff(&p, 1, r * 7919), d3 = sk_proxy_backoff(&p, 3, r);
		uint64_t d9 = sk_proxy_backoff(&p, 9, r);

		assert_true(d1 >= 50 && d1 <= 100);
		assert_true(d3 >= 200 && d3 <= 400);
		assert_true(d9 >= 500 && d9 <= 1000);
	}
	p.retry_on = SK_PROXY_RETRY_STATUS;
	p.retry_status[0] = 503;
	p.n_retry_status = 1;
	assert_true(sk_proxy_status_retryable(&p, 503));
	assert_false(sk_proxy_status_retryable(&p, 500));
	p.retry_on = 0;
	assert_false(sk_proxy_status_retryable(&p, 503));
}

static void test_dice_methods(void **state)
{
	int hits = 0;

	assert_false(sk_proxy_roll(0, 5));
	assert_true(sk_proxy_roll(100, 5));
	for (uint64_t i = 0; i < 10000; i++)
		hits += sk_proxy_roll(25, i * 2654435761ull);
	assert_true(hits > 2000 && hits < 3000);
	assert_int_equal(sk_proxy_method_index((struct sk_http_str){ "GET", 3 }), 0);
	assert_string_equal(
	    sk_proxy_method_name(sk_proxy_method_index((struct sk_http_str){ "BREW", 4 })),
	    "OTHER");
	assert_true(
	    sk_proxy_method_idempotent(sk_proxy_method_index((struct sk_http_str){ "PUT", 3 })));
	assert_false(
	    sk_proxy_method_idempotent(sk_proxy_method_index((struct sk_http_str){ "POST", 4 })));
	assert_false(
	    sk_proxy_method_idempotent(sk_proxy_method_index((struct sk_http_str){ "PATCH", 5 })));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_robin),  cmocka_unit_test(test_least_request),
		cmocka_unit_test(test_outlier),	     cmocka_unit_test(test_budget_backoff),
		cmocka_unit_test(test_dice_methods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
