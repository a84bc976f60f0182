/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-proxy-udp.c - the proxy's udp mode end to end over loopback: backends
 * are threads of this test that echo each datagram prefixed with
 * "<id>:<the proxy's source port>:", clients are UDP sockets of the test
 * that wait at most a second for each answer.  Covers spreading flows over
 * endpoints, a flow sticking to its endpoint, replies from the published
 * address, re-balancing after an endpoint refuses (closed) or leaves the
 * configuration, idle expiry, a 60000-byte datagram, the bulkhead, fault
 * aborts, a TCP and a UDP listener on one port, and the metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "proxy/proxy.h"

#define BIG 60000

struct ubackend {
	char id[8];
	int fd, port, stop[2];
	pthread_t thr;
	_Atomic int datagrams;
	char in[65536], out[65600];
};

static void *ub_main(void *arg)
{
	struct ubackend *b = arg;

	for (;;) {
		struct pollfd pf[2] = { { b->stop[0], POLLIN, 0 }, { b->fd, POLLIN, 0 } };
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		ssize_t n;
		int h;

		if (poll(pf, 2, -1) < 0)
			continue;
		if (pf[0].revents)
			break;
		n = recvfrom(b->fd, b->in, sizeof(b->in), MSG_DONTWAIT, (struct sockaddr *)&peer,
			     &pl);
		if (n < 0)
			continue;
		b->datagrams++;
		h = snprintf(b->out, sizeof(b->out), "%s:%u:", b->id, ntohs(peer.sin_port));
		memcpy(b->out + h, b->in, (size_t)n);
		(void)sendto(b->fd, b->out, (size_t)h + (size_t)n, 0, (struct sockaddr *)&peer, pl);
	}
	return NULL;
}

static int udp_socket(int *ret_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	if (ret_port)
		*ret_port = ntohs(a.sin_port);
	return fd;
}

/* A port free for TCP and UDP alike (for a while). */
static int free_port(void)
{
	for (;;) {
		int port, fd = udp_socket(&port),
			  t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int r = bind(t, (struct sockaddr *)&a, sizeof(a));

		close(t);
		close(fd);
		if (r == 0)
			return port;
	}
}

static struct ubackend *ub_start(const char *id)
{
	struct ubackend *b = sk_malloc0(sizeof(*b));

	snprintf(b->id, sizeof(b->id), "%s", id);
	b->fd = udp_socket(&b->port);
	assert_int_equal(pipe2(b->stop, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&b->thr, NULL, ub_main, b), 0);
	return b;
}

/* Stops the thread and closes the socket: datagrams to its port are refused from now on. */
static void ub_close(struct ubackend *b)
{
	if (b->fd < 0)
		return;
	assert_int_equal(write(b->stop[1], "x", 1), 1);
	pthread_join(b->thr, NULL);
	close(b->stop[0]);
	close(b->stop[1]);
	close(b->fd);
	b->fd = -1;
}

static void ub_free(struct ubackend *b)
{
	ub_close(b);
	free(b);
}

/* ---- the proxy ---- */

static struct sk_proxy_config *config(const char *json)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_proxy_config *c = NULL;
	json_error_t jerr;
	json_t *j = json_loads(json, 0, &jerr);

	if (!j)
		fail_msg("bad test json: %s: %s", jerr.text, json);
	if (sk_proxy_config_from_json(j, &c, &err) < 0)
		fail_msg("config: %s", err->msg);
	json_decref(j);
	return c;
}

static void publish(struct sk_proxy *p, const char *json)
{
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = config(json);
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_proxy_publish(p, c, &err) < 0)
		fail_msg("publish: %s", err->msg);
}

static struct sk_proxy *proxy_start(const char *json)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_proxy *p = NULL;

	assert_int_equal(sk_proxy_new(&(struct sk_proxy_opts){ .threads = 2 }, &p, &err), 0);
	publish(p, json);
	return p;
}

/* A config: listener on `port` for cluster "t/dns:53/udp" over the given backends. */
static char *udp_json(int port, const char *policy, const char *fault, struct ubackend *a,
		      struct ubackend *b)
{
	char eps[256] = "";

	if (a)
		snprintf(eps, sizeof(eps), "{\"id\":\"%s\",\"address\":\"127.0.0.1:%d\"}", a->id,
			 a->port);
	if (b) {
		size_t l = strlen(eps);

		snprintf(eps + l, sizeof(eps) - l, "%s{\"id\":\"%s\",\"address\":\"127.0.0.1:%d\"}",
			 a ? "," : "", b->id, b->port);
	}
	return sk_asprintf("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"dns\"}],"
			   "\"clusters\":[{\"name\":\"dns\",\"app\":\"t\",\"service\":\"dns\","
			   "\"endpoints\":[%s],\"policy\":{\"mode\":\"udp\"%s}%s}]}",
			   port, eps, policy ? policy : "", fault ? fault : "");
}

/* ---- clients ---- */

struct answer {
	char id[8];
	int via; /* the proxy's source port towards the endpoint */
	struct sockaddr_in from;
};

/*
 * Sends msg (len bytes) from fd to 127.0.0.1:port and waits up to timeout_ms
 * for the answer to it (stale answers to earlier datagrams are skipped).
 * True with *ret filled when it came, its payload checked against msg.
 */
static bool exchange(int fd, int port, const char *msg, size_t len, int timeout_ms,
		     struct answer *ret)
{
	static char buf[65600];
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint64_t deadline = sk_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	assert_int_equal(sendto(fd, msg, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
	for (;;) {
		uint64_t now = sk_now_ns();
		struct pollfd pf = { fd, POLLIN, 0 };
		socklen_t fl = sizeof(ret->from);
		char *a, *b;
		ssize_t n;

		if (now >= deadline || poll(&pf, 1, (int)((deadline - now) / 1000000 + 1)) <= 0)
			return false;
		n = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&ret->from,
			     &fl);
		if (n <= 0)
			continue;
		buf[n] = 0;
		a = memchr(buf, ':', (size_t)n);
		b = a ? memchr(a + 1, ':', (size_t)(n - (a + 1 - buf))) : NULL;
		if (!b || (size_t)(buf + n - (b + 1)) != len || memcmp(b + 1, msg, len) != 0)
			continue; /* an answer to something else */
		snprintf(ret->id, sizeof(ret->id), "%.*s", (int)(a - buf), buf);
		ret->via = atoi(a + 1);
		return true;
	}
}

/* An exchange that must succeed; the endpoint's id. */
static const char *must(int fd, int port, const char *msg, struct answer *a)
{
	if (!exchange(fd, port, msg, strlen(msg), 1000, a))
		fail_msg("no answer to '%s' through port %d", msg, port);
	return a->id;
}

static long metric(struct sk_proxy *p, const char *needle)
{
	_cleanup_free_ char *text = NULL;
	const char *at;

	assert_int_equal(sk_proxy_metrics(p, &text, NULL), 0);
	at = strstr(text, needle);
	if (!at)
		fail_msg("no '%s' in\n%s", needle, text);
	return atol(at + strlen(needle));
}

/* A counter the worker bumps just after the datagram went out: wait up to 5 s for it. */
static void wait_metric(struct sk_proxy *p, const char *needle, long want)
{
	for (int i = 0; i < 500 && metric(p, needle) != want; i++)
		usleep(10000);
	assert_int_equal(metric(p, needle), want);
}

#define SVC "{app=\"t\",service=\"dns\""

/* ---- tests ---- */

static void test_flows_spread_and_stick(void **state)
{
	struct ubackend *a = ub_start("a"), *b = ub_start("b");
	int port = free_port(), fds[6];
	_cleanup_free_ char *json = udp_json(port, NULL, NULL, a, b);
	struct sk_proxy *p = proxy_start(json);
	char first[6][8];
	int seen_a = 0, seen_b = 0;

	for (int i = 0; i < 6; i++)
		fds[i] = udp_socket(NULL);
	for (int round = 0; round < 4; round++)
		for (int i = 0; i < 6; i++) {
			struct answer ans;
			char msg[32];

			snprintf(msg, sizeof(msg), "q%d.%d", i, round);
			must(fds[i], port, msg, &ans);
			/* the answer comes from the published address */
			assert_int_equal(ans.from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
			assert_int_equal(ntohs(ans.from.sin_port), port);
			if (round == 0)
				snprintf(first[i], sizeof(first[i]), "%s", ans.id);
			else
				assert_string_equal(ans.id, first[i]); /* the flow sticks */
		}
	for (int i = 0; i < 6; i++) {
		seen_a += strcmp(first[i], "a") == 0;
		seen_b += strcmp(first[i], "b") == 0;
	}
	/* round robin over the new flows: three each */
	assert_int_equal(seen_a, 3);
	assert_int_equal(seen_b, 3);
	assert_int_equal(a->datagrams + b->datagrams, 24);
	assert_int_equal(
	    metric(p, "skiff_service_udp_datagrams_total" SVC ",direction=\"to_endpoint\"} "), 24);
	wait_metric(p, "skiff_service_udp_datagrams_total" SVC ",direction=\"to_client\"} ", 24);
	assert_int_equal(metric(p, "skiff_service_udp_flows_total" SVC "} "), 6);
	assert_int_equal(metric(p, "skiff_service_active_connections" SVC "} "), 6);
	assert_int_equal(metric(p, "skiff_service_udp_dropped_total" SVC "} "), 0);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	sk_proxy_free(p);
	ub_free(a);
	ub_free(b);
}

static void test_closed_endpoint_rebalances(void **state)
{
	struct ubackend *be[2] = { ub_start("a"), ub_start("b") };
	int port = free_port(), fd = udp_socket(NULL), lost = 0;
	_cleanup_free_ char *json =
	    udp_json(port, ",\"outlier_consecutive_failures\":1", NULL, be[0], be[1]);
	struct sk_proxy *p = proxy_start(json);
	struct answer ans;
	const char *other;
	int gone;

	must(fd, port, "hello", &ans);
	gone = strcmp(ans.id, "a") == 0 ? 0 : 1;
	other = be[1 - gone]->id;
	ub_close(be[gone]);
	/* the endpoint refuses (ICMP port unreachable): the flow moves on */
	for (int i = 0; i < 5; i++) {
		char msg[32];

		snprintf(msg, sizeof(msg), "again%d", i);
		if (!exchange(fd, port, msg, strlen(msg), 300, &ans)) {
			lost++;
			continue;
		}
		assert_string_equal(ans.id, other);
	}
	assert_true(lost <= 1);
	/* the refusal ejected it: a new client goes to the other endpoint too */
	{
		int fd2 = udp_socket(NULL);

		for (int i = 0; i < 3; i++)
			assert_string_equal(must(fd2, port, "new", &ans), other);
		close(fd2);
	}
	assert_int_equal(metric(p, "skiff_service_ejections_total" SVC "} "), 1);
	close(fd);
	sk_proxy_free(p);
	ub_free(be[0]);
	ub_free(be[1]);
}

static void test_endpoint_leaving_the_config_rebalances(void **state)
{
	struct ubackend *be[2] = { ub_start("a"), ub_start("b") };
	int port = free_port(), fd = udp_socket(NULL);
	_cleanup_free_ char *json = udp_json(port, NULL, NULL, be[0], be[1]);
	struct sk_proxy *p = proxy_start(json);
	struct answer ans;
	int stay;

	must(fd, port, "one", &ans);
	stay = strcmp(ans.id, "a") == 0 ? 1 : 0; /* the one the flow does not use */
	{
		_cleanup_free_ char *j2 = udp_json(port, NULL, NULL, be[stay], NULL);

		publish(p, j2);
	}
	/* no datagram lost: the next one picks the remaining endpoint */
	for (int i = 0; i < 3; i++)
		assert_string_equal(must(fd, port, "two", &ans), be[stay]->id);
	close(fd);
	sk_proxy_free(p);
	ub_free(be[0]);
	ub_free(be[1]);
}

static void test_idle_flows_expire(void **state)
{
	struct ubackend *a = ub_start("a");
	int port = free_port(), fd = udp_socket(NULL);
	_cleanup_free_ char *json = udp_json(port, ",\"idle_timeout\":\"200ms\"", NULL, a, NULL);
	struct sk_proxy *p = proxy_start(json);
	struct answer ans;
	int via;

	must(fd, port, "x", &ans);
	via = ans.via;
	/* activity keeps the flow: the same socket towards the endpoint */
	for (int i = 0; i < 4; i++) {
		usleep(100000);
		must(fd, port, "y", &ans);
		assert_int_equal(ans.via, via);
	}
	assert_int_equal(metric(p, "skiff_service_active_connections" SVC "} "), 1);
	usleep(500000);
	assert_int_equal(metric(p, "skiff_service_active_connections" SVC "} "), 0);
	/* a new flow */
	must(fd, port, "z", &ans);
	assert_int_equal(metric(p, "skiff_service_udp_flows_total" SVC "} "), 2);
	close(fd);
	sk_proxy_free(p);
	ub_free(a);
}

/* Sends one datagram from 127.1.(i / 200).(i % 200 + 1):sport and closes the socket. */
static void send_from(int i, int sport, int port, const char *msg)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sport) };
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	src.sin_addr.s_addr =
	    htonl(0x7f010000u | (uint32_t)(i / 200) << 8 | (uint32_t)(i % 200 + 1));
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	assert_int_equal(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)strlen(msg));
	close(fd);
}

static void test_flow_table_is_bounded(void **state)
{
	const int n = 4096 + 1; /* SK_PROXY_UDP_MAX_FLOWS + 1, one worker */
	struct ubackend *a = ub_start("a");
	int port = free_port(), sport = free_port();
	_cleanup_free_ char *json = udp_json(port, NULL, NULL, a, NULL);
	_cleanup_(sk_proxy_freep) struct sk_proxy *p = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	struct rlimit rl;

	/* a socket per flow in this process */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < 4096 + 256) {
		ub_free(a);
		skip();
	}
	assert_int_equal(sk_proxy_new(&(struct sk_proxy_opts){ .threads = 1 }, &p, &err), 0);
	publish(p, json);
	/* n clients, each from an address of its own, oldest first */
	for (int i = 0; i < n; i++) {
		send_from(i, sport, port, "hi");
		/* let the worker keep up: its socket buffer holds ~200 datagrams */
		if (i % 100 == 99)
			wait_metric(p, "skiff_service_udp_flows_total" SVC "} ", i + 1);
	}
	wait_metric(p, "skiff_service_udp_flows_total" SVC "} ", n);
	/* the first client's flow made room for the last one */
	assert_int_equal(metric(p, "skiff_service_active_connections" SVC "} "), 4096);
	send_from(n - 1, sport, port, "newest again");
	send_from(0, sport, port, "oldest again");
	wait_metric(p, "skiff_service_udp_flows_total" SVC "} ", n + 1);
	assert_int_equal(metric(p, "skiff_service_active_connections" SVC "} "), 4096);
	assert_int_equal(
	    metric(p, "skiff_service_udp_datagrams_total" SVC ",direction=\"to_endpoint\"} "),
	    n + 2);
	sk_proxy_free(TAKE_PTR(p));
	ub_free(a);
}

static void test_big_datagram_goes_through_intact(void **state)
{
	struct ubackend *a = ub_start("a");
	int port = free_port(), fd = udp_socket(NULL), sz = 256 * 1024;
	_cleanup_free_ char *json = udp_json(port, NULL, NULL, a, NULL);
	struct sk_proxy *p = proxy_start(json);
	_cleanup_free_ char *msg = sk_malloc0(BIG);
	struct answer ans;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	for (size_t i = 0; i < BIG; i++)
		msg[i] = (char)('a' + (i * 7 + i / 251) % 26);
	/* exchange() checks the payload byte for byte */
	assert_true(exchange(fd, port, msg, BIG, 2000, &ans));
	assert_string_equal(ans.id, "a");
	close(fd);
	sk_proxy_free(p);
	ub_free(a);
}

static void test_bulkhead_and_fault_abort(void **state)
{
	struct ubackend *a = ub_start("a");
	int port = free_port(), fd = udp_socket(NULL), fd2 = udp_socket(NULL);
	_cleanup_free_ char *json = udp_json(port, ",\"max_concurrent\":1", NULL, a, NULL);
	_cleanup_free_ char *aborts = udp_json(
	    port, NULL, ",\"fault\":{\"abort_status\":503,\"abort_percent\":100}", a, NULL);
	struct sk_proxy *p = proxy_start(json);
	struct answer ans;

	must(fd, port, "first", &ans);
	/* a second flow does not fit: its datagrams are dropped */
	assert_false(exchange(fd2, port, "second", 6, 300, &ans));
	assert_int_equal(metric(p, "skiff_service_rejected_total" SVC "} "), 1);
	assert_int_equal(metric(p, "skiff_service_udp_dropped_total" SVC "} "), 1);
	must(fd, port, "first again", &ans);
	/* a fault abort drops every datagram */
	publish(p, aborts);
	assert_false(exchange(fd, port, "dropped", 7, 300, &ans));
	assert_int_equal(metric(p, "skiff_service_faults_total" SVC ",kind=\"abort\"} "), 1);
	close(fd);
	close(fd2);
	sk_proxy_free(p);
	ub_free(a);
}

static void test_tcp_and_udp_share_a_port(void **state)
{
	struct ubackend *a = ub_start("a");
	int port = free_port(), fd = udp_socket(NULL), t;
	_cleanup_free_ char *json = sk_asprintf(
	    "{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"tcp\"},"
	    "{\"address\":\"127.0.0.1:%d\",\"cluster\":\"udp\"}],"
	    "\"clusters\":[{\"name\":\"tcp\",\"policy\":{\"mode\":\"tcp\"}},"
	    "{\"name\":\"udp\",\"endpoints\":[{\"id\":\"a\",\"address\":\"127.0.0.1:%d\"}],"
	    "\"policy\":{\"mode\":\"udp\"}}]}",
	    port, port, a->port);
	struct sk_proxy *p = proxy_start(json);
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct answer ans;

	must(fd, port, "over udp", &ans);
	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(t, (struct sockaddr *)&to, sizeof(to)), 0);
	close(t);
	/* the same again: the sockets are kept, and the reload keeps them apart */
	publish(p, json);
	must(fd, port, "still", &ans);
	close(fd);
	sk_proxy_free(p);
	ub_free(a);
}

static void test_publish_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"listeners\":[{\"address\":\"127.0.0.1:1\",\"cluster\":\"u\"},"
		  "{\"address\":\"127.0.0.1:1\",\"cluster\":\"u\"}],"
		  "\"clusters\":[{\"name\":\"u\",\"policy\":{\"mode\":\"udp\"}}]}",
		  "duplicate address" },
		{ "{\"clusters\":[{\"name\":\"u\",\"fallback\":\"h\",\"policy\":{\"mode\":\"udp\"}}"
		  ","
		  "{\"name\":\"h\"}]}",
		  "no fallback to or from a udp cluster" },
		{ "{\"clusters\":[{\"name\":\"h\",\"fallback\":\"u\"},"
		  "{\"name\":\"u\",\"policy\":{\"mode\":\"udp\"}}]}",
		  "no fallback to or from a udp cluster" },
	};
	_cleanup_(sk_proxy_freep) struct sk_proxy *p = NULL;

	assert_int_equal(sk_proxy_new(&(struct sk_proxy_opts){ .threads = 1 }, &p, NULL), 0);
	for (size_t i = 0; i < SK_ELEMENTSOF(bad); i++) {
		_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = config(bad[i][0]);
		_cleanup_error_ struct sk_error *err = NULL;

		assert_true(sk_proxy_publish(p, c, &err) < 0);
		if (!strstr(err->msg, bad[i][1]))
			fail_msg("error '%s' does not mention '%s'", err->msg, bad[i][1]);
	}
}

static void test_port_taken_names_the_udp_listener(void **state)
{
	_cleanup_(sk_proxy_freep) struct sk_proxy *p = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	int port, holder = udp_socket(&port);
	_cleanup_free_ char *json = udp_json(port, NULL, NULL, NULL, NULL);
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = config(json);
	_cleanup_free_ char *want = sk_asprintf("'127.0.0.1:%d/udp'", port);

	assert_int_equal(sk_proxy_new(&(struct sk_proxy_opts){ .threads = 1 }, &p, NULL), 0);
	assert_true(sk_proxy_publish(p, c, &err) < 0);
	if (!strstr(err->msg, want))
		fail_msg("error '%s' does not name %s", err->msg, want);
	close(holder);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flows_spread_and_stick),
		cmocka_unit_test(test_closed_endpoint_rebalances),
		cmocka_unit_test(test_endpoint_leaving_the_config_rebalances),
		cmocka_unit_test(test_idle_flows_expire),
		cmocka_unit_test(test_flow_table_is_bounded),
		cmocka_unit_test(test_big_datagram_goes_through_intact),
		cmocka_unit_test(test_bulkhead_and_fault_abort),
		cmocka_unit_test(test_tcp_and_udp_share_a_port),
		cmocka_unit_test(test_publish_errors),
		cmocka_unit_test(test_port_taken_names_the_udp_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
