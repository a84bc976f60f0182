/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-proxy-config.c - the proxy's JSON configuration (docs/proxy.md):
 * a full example, defaults, durations and addresses, and one error per
 * rule (unknown fields, bad types, bad durations, bad addresses), plus the
 * checks sk_proxy_publish() makes (unknown cluster, fallback cycle).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy/proxy.h"

static int parse(const char *text, struct sk_proxy_config **ret, char **ret_msg)
{
	_cleanup_error_ struct sk_error *err = NULL;
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	int r;

	assert_non_null(j);
	r = sk_proxy_config_from_json(j, ret, &err);
	json_decref(j);
	if (ret_msg)
		*ret_msg = err ? sk_strdup(err->msg) : NULL;
	assert_true((r < 0) == (err != NULL));
	return r;
}

static const char full[] =
    "{\"listeners\":[{\"address\":\"127.0.0.1:8080\",\"cluster\":\"shop/web:80\"},"
    "{\"address\":\"[::1]:8081\",\"cluster\":\"shop/web:80\"}],"
    "\"clusters\":[{\"name\":\"shop/web:80\",\"app\":\"shop\",\"service\":\"web\","
    "\"endpoints\":[{\"id\":\"web-1\",\"address\":\"127.0.0.1:9001\"},"
    "{\"id\":\"web-2\",\"address\":\"10.0.0.2:9002\"}],"
    "\"fallback\":\"static\","
    "\"policy\":{\"mode\":\"http\",\"lb\":\"least_request\",\"connect_timeout\":\"250ms\","
    "\"try_timeout\":1.5,\"total_timeout\":\"5s\",\"idle_timeout\":\"1m\","
    "\"retry_attempts\":2,\"retry_on\":[\"connect\",\"reset\",\"status\",\"timeout\"],"
    "\"retry_status\":[502,503],\"retry_backoff\":\"10ms\",\"retry_max_backoff\":\"100ms\","
    "\"retry_budget_percent\":25,\"retry_min_concurrency\":5,"
    "\"outlier_consecutive_5xx\":3,\"outlier_consecutive_failures\":4,"
    "\"outlier_base_ejection\":\"30s\",\"outlier_max_ejection_percent\":50,"
    "\"max_concurrent\":100},"
    "\"fault\":{\"delay\":\"100ms\",\"delay_jitter\":\"20ms\",\"delay_percent\":10,"
    "\"abort_status\":503,\"abort_percent\":5.5}},"
    "{\"name\":\"static\",\"policy\":{\"mode\":\"tcp\"}}]}";

static void test_full(void **state)
{
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = NULL;
	const struct sk_proxy_cluster *w;
	const struct sockaddr_in *a;

	assert_int_equal(parse(full, &c, NULL), 0);
	assert_int_equal(c->n_listeners, 2);
	assert_int_equal(c->n_clusters, 2);
	assert_string_equal(c->listeners[0].cluster, "shop/web:80");
	a = (const struct sockaddr_in *)&c->listeners[0].addr;
	assert_int_equal(a->sin_family, AF_INET);
	assert_int_equal(ntohs(a->sin_port), 8080);
	assert_int_equal(c->listeners[1].addr.ss_family, AF_INET6);
	assert_int_equal(c->listeners[1].addrlen, sizeof(struct sockaddr_in6));
	w = &c->clusters[0];
	assert_string_equal(w->app, "shop");
	assert_string_equal(w->service, "web");
	assert_string_equal(w->fallback, "static");
	assert_int_equal(w->n_endpoints, 2);
	assert_string_equal(w->endpoints[1].id, "web-2");
	assert_int_equal(w->policy.lb, SK_PROXY_LEAST_REQUEST);
	assert_int_equal(w->policy.mode, SK_PROXY_HTTP);
	assert_int_equal(w->policy.connect_timeout_ns, 250000000ull);
	assert_int_equal(w->policy.try_timeout_ns, 1500000000ull);
	assert_int_equal(w->policy.idle_timeout_ns, 60000000000ull);
	assert_int_equal(w->policy.retry_attempts, 2);
	assert_int_equal(w->policy.retry_on, SK_PROXY_RETRY_CONNECT | SK_PROXY_RETRY_RESET |
						 SK_PROXY_RETRY_STATUS | SK_PROXY_RETRY_TIMEOUT);
	assert_int_equal(w->policy.n_retry_status, 2);
	assert_int_equal(w->policy.retry_status[1], 503);
	assert_int_equal(w->policy.retry_min_concurrency, 5);
	assert_int_equal(w->policy.outlier_consecutive_failures, 4);
	assert_int_equal(w->policy.max_concurrent, 100);
	assert_int_equal(w->fault.delay_jitter_ns, 20000000ull);
	assert_int_equal(w->fault.abort_status, 503);
	assert_true(w->fault.abort_percent > 5.4 && w->fault.abort_percent < 5.6);
	/* defaults */
	assert_string_equal(c->clusters[1].app, "");
	assert_string_equal(c->clusters[1].service, "static");
	assert_int_equal(c->clusters[1].policy.mode, SK_PROXY_TCP);
	assert_int_equal(c->clusters[1].policy.retry_on, SK_PROXY_RETRY_CONNECT);
	assert_int_equal(c->clusters[1].n_endpoints, 0);
}

static void expect_error(const char *text, const char *needle)
{
	struct sk_proxy_config *c = NULL;
	_cleanup_free_ char *msg = NULL;

	assert_true(parse(text, &c, &msg) < 0);
	assert_null(c);
	assert_non_null(msg);
	if (!strstr(msg, needle))
		fail_msg("error '%s' does not mention '%s'", msg, needle);
}

#define CL(x) "{\"clusters\":[{\"name\":\"c\"" x "}]}"

static void test_errors(void **state)
{
	expect_error("[]", "not an object");
	expect_error("{\"listener\":[]}", "unknown field 'listener'");
	expect_error("{\"clusters\":{}}", "arrays");
	expect_error("{\"clusters\":[{}]}", "clusters[0].name: required");
	expect_error(CL(",\"colour\":1"), "clusters[0]: unknown field 'colour'");
	expect_error(CL(",\"policy\":{\"lb\":\"random\"}"), "clusters[0].policy.lb");
	expect_error(CL(",\"policy\":{\"mode\":\"sctp\"}"),
		     "policy.mode: expected \"http\", \"tcp\" or \"udp\"");
	expect_error(CL(",\"policy\":{\"mode\":\"UDP\"}"), "policy.mode");
	expect_error(CL(",\"policy\":{\"mode\":17}"), "policy.mode");
	expect_error(CL(",\"policy\":{\"connect_timeout\":\"5 s\"}"), "connect_timeout: invalid");
	expect_error(CL(",\"policy\":{\"connect_timeout\":\"5\"}"), "connect_timeout: invalid");
	expect_error(CL(",\"policy\":{\"try_timeout\":-1}"), "try_timeout: invalid");
	expect_error(CL(",\"policy\":{\"idle_timeout\":\"ms\"}"), "idle_timeout");
	expect_error(CL(",\"policy\":{\"retry_attempts\":\"2\"}"), "retry_attempts");
	expect_error(CL(",\"policy\":{\"retry_on\":[\"always\"]}"), "retry_on[0]");
	expect_error(CL(",\"policy\":{\"retry_status\":[1,2,3,4,5,6,7,8,9]}"), "retry_status");
	expect_error(CL(",\"policy\":{\"retry_status\":[700]}"), "retry_status[0]");
	expect_error(CL(",\"policy\":{\"retry_budget_percent\":101}"), "retry_budget_percent");
	expect_error(CL(",\"policy\":{\"max_concurrent\":-1}"), "max_concurrent");
	expect_error(CL(",\"fault\":{\"abort_status\":99}"), "abort_status");
	expect_error(CL(",\"fault\":{\"abort_percent\":-1}"), "abort_percent");
	expect_error(CL(",\"fault\":{\"slow\":1}"), "unknown field 'slow'");
	expect_error(CL(",\"endpoints\":[{\"id\":\"a\"}]"), "endpoints[0].address");
	expect_error(CL(",\"endpoints\":[{\"address\":\"127.0.0.1:1\"}]"), "endpoints[0].id");
	expect_error(CL(",\"endpoints\":[{\"id\":\"a\",\"address\":\"localhost:80\"}]"),
		     "invalid address 'localhost:80'");
	expect_error(CL(",\"endpoints\":[{\"id\":\"a\",\"address\":\"127.0.0.1:0\"}]"),
		     "invalid address");
	expect_error(CL(",\"endpoints\":[{\"id\":\"a\",\"address\":\"127.0.0.1:65536\"}]"),
		     "invalid address");
	expect_error(CL(",\"endpoints\":[{\"id\":\"a\",\"address\":\"127.0.0.1\"}]"),
		     "invalid address");
	expect_error(CL(",\"endpoints\":[{\"id\":\"a\",\"address\":\"::1:80\"}]"),
		     "invalid address");
	expect_error("{\"listeners\":[{\"address\":\"127.0.0.1:80\"}]}", "listeners[0].cluster");
}

static void test_udp_mode(void **state)
{
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = NULL;
	_cleanup_(sk_proxy_freep) struct sk_proxy *p = NULL;
	_cleanup_free_ char *text = NULL;

	assert_int_equal(
	    parse("{\"listeners\":[{\"address\":\"127.0.0.1:5353\",\"cluster\":\"dns\"}],"
		  "\"clusters\":[{\"name\":\"dns\",\"app\":\"a\",\"service\":\"d\","
		  "\"endpoints\":[{\"id\":\"d-1\",\"address\":\"127.0.0.1:53\"}],"
		  "\"policy\":{\"mode\":\"udp\",\"lb\":\"least_request\","
		  "\"idle_timeout\":\"5s\"}},"
		  "{\"name\":\"plain\",\"policy\":{\"mode\":\"udp\"}}]}",
		  &c, NULL),
	    0);
	assert_int_equal(c->clusters[0].policy.mode, SK_PROXY_UDP);
	assert_int_equal(c->clusters[0].policy.lb, SK_PROXY_LEAST_REQUEST);
	assert_int_equal(c->clusters[0].policy.idle_timeout_ns, 5000000000ull);
	assert_int_equal(c->clusters[1].policy.mode, SK_PROXY_UDP);
	assert_int_equal(c->clusters[1].policy.idle_timeout_ns, 0); /* the proxy's default: 30 s */
	assert_int_equal(c->n_listeners, 1);
	/* it publishes (a UDP socket on a port a TCP listener may hold too) */
	assert_int_equal(sk_proxy_new(&(struct sk_proxy_opts){ .threads = 1 }, &p, NULL), 0);
	assert_int_equal(sk_proxy_publish(p, c, NULL), 0);
	assert_int_equal(sk_proxy_metrics(p, &text, NULL), 0);
	assert_non_null(strstr(text, "# TYPE skiff_service_udp_datagrams_total counter"));
	assert_non_null(strstr(text, "skiff_service_udp_datagrams_total{app=\"a\",service=\"d\","
				     "direction=\"to_endpoint\"} 0"));
	assert_non_null(
	    strstr(text, "skiff_service_udp_flows_total{app=\"\",service=\"plain\"} 0"));
}

static void publish_error(const char *text, const char *needle)
{
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = NULL;
	_cleanup_(sk_proxy_freep) struct sk_proxy *p = NULL;
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(parse(text, &c, NULL), 0);
	assert_int_equal(sk_proxy_new(&(struct sk_proxy_opts){ .threads = 1 }, &p, NULL), 0);
	assert_true(sk_proxy_publish(p, c, &err) < 0);
	assert_non_null(err);
	if (!strstr(err->msg, needle))
		fail_msg("error '%s' does not mention '%s'", err->msg, needle);
}

static void test_publish_errors(void **state)
{
	publish_error("{\"listeners\":[{\"address\":\"127.0.0.1:1\",\"cluster\":\"x\"}]}",
		      "unknown cluster 'x'");
	publish_error("{\"clusters\":[{\"name\":\"a\",\"fallback\":\"b\"},"
		      "{\"name\":\"b\",\"fallback\":\"c\"},{\"name\":\"c\",\"fallback\":\"a\"}]}",
		      "fallback cycle");
	publish_error("{\"clusters\":[{\"name\":\"a\",\"fallback\":\"a\"}]}", "fallback cycle");
	publish_error("{\"clusters\":[{\"name\":\"a\",\"fallback\":\"zz\"}]}",
		      "unknown fallback cluster 'zz'");
	publish_error("{\"clusters\":[{\"name\":\"a\"},{\"name\":\"a\"}]}", "duplicate cluster");
	publish_error("{\"clusters\":[{\"name\":\"a\",\"endpoints\":[{\"id\":\"e\",\"address\":"
		      "\"127.0.0.1:1\"},{\"id\":\"e\",\"address\":\"127.0.0.1:2\"}]}]}",
		      "duplicate endpoint 'e'");
}

static void test_publish_chain_ok(void **state)
{
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = NULL;
	_cleanup_(sk_proxy_freep) struct sk_proxy *p = NULL;
	_cleanup_free_ char *text = NULL;

	assert_int_equal(parse("{\"clusters\":[{\"name\":\"a\",\"fallback\":\"b\"},"
			       "{\"name\":\"b\",\"fallback\":\"c\"},{\"name\":\"c\"}]}",
			       &c, NULL),
			 0);
	assert_int_equal(sk_proxy_new(&(struct sk_proxy_opts){ .threads = 2 }, &p, NULL), 0);
	assert_int_equal(sk_proxy_publish(p, c, NULL), 0);
	assert_int_equal(sk_proxy_publish(p, c, NULL), 0);
	assert_int_equal(sk_proxy_metrics(p, &text, NULL), 0);
	assert_non_null(strstr(text, "# TYPE skiff_service_requests_total counter"));
	assert_non_null(strstr(text, "# TYPE skiff_service_request_duration_seconds histogram"));
	assert_non_null(strstr(text, "skiff_service_fallbacks_total{app=\"\",service=\"a\"} 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_udp_mode),
		cmocka_unit_test(test_publish_errors),
		cmocka_unit_test(test_publish_chain_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
