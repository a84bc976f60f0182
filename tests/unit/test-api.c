/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-api.c - the API server and client in one process: the server's loop
 * runs in a thread, the blocking client (or a raw socket) in the test.
 * Routing and params, 404/405, JSON round trip, 400 on bad JSON, 413,
 * async and streamed responses read incrementally, a client leaving a
 * stream, keep-alive over many requests, pipelining, Expect: 100-continue,
 * the TCP listener serving only its routes, and the socket file: 0600,
 * stale sockets replaced, live ones and other files refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "base/loop.h"
#include "base/util.h"
#include "daemon/api-client.h"
#include "daemon/api-server.h"

#define MS 1000000ull

struct fixture {
	char dir[64];
	char *path;
	struct sk_loop *loop;
	struct sk_api_server *srv;
	pthread_t thread;
	uint16_t tcp_port;
	atomic_int closed_streams;
};

/* ---- handlers (run on the server thread) ---- */

static void h_ping(struct sk_api_request *req, struct sk_api_response *resp, void *u)
{
	sk_api_respond_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static void h_service(struct sk_api_request *req, struct sk_api_response *resp, void *u)
{
	const char *x = sk_api_request_query(req, "x");

	sk_api_respond_json(resp, 200,
			    json_pack("{s:s,s:s,s:s?,s:s?}", "app",
				      sk_api_request_param(req, "app"), "svc",
				      sk_api_request_param(req, "svc"), "x", x, "ua",
				      sk_api_request_header(req, "user-agent")));
}

static void h_echo(struct sk_api_request *req, struct sk_api_response *resp, void *u)
{
	_cleanup_error_ struct sk_error *err = NULL;
	json_t *j;

	if (sk_api_request_json(req, &j, &err) < 0) {
		sk_api_respond_error(resp, 400, "%s", err->msg);
		return;
	}
	sk_api_respond_json(resp, 201, json_pack("{s:O}", "got", j));
}

static void h_conns(struct sk_api_request *req, struct sk_api_response *resp, void *u)
{
	struct fixture *f = u;

	sk_api_respond_json(
	    resp, 200, json_pack("{s:I}", "conns", (json_int_t)sk_api_server_connections(f->srv)));
}

static void async_fire(struct sk_loop *loop, struct sk_loop_timer *t, void *u)
{
	sk_api_respond(u, 200, "text/plain", "later", 5);
	sk_loop_timer_remove(t);
}

static void h_async(struct sk_api_request *req, struct sk_api_response *resp, void *u)
{
	struct fixture *f = u;

	(void)sk_loop_timer_add(f->loop, 10 * MS, 0, async_fire, resp);
}

/* A stream of `n` lines 100 ms apart (n = 0: until the client leaves). */
struct stream {
	struct fixture *f;
	struct sk_api_response *resp;
	struct sk_loop_timer *t;
	int sent, n;
};

static void stream_tick(struct sk_loop *loop, struct sk_loop_timer *t, void *u)
{
	struct stream *s = u;
	char line[32];
	int n = snprintf(line, sizeof(line), "line %d\n", s->sent++);

	assert_int_equal(sk_api_stream_write(s->resp, line, (size_t)n), 0);
	if (s->n && s->sent == s->n) {
		sk_api_stream_end(s->resp);
		sk_loop_timer_remove(t);
		free(s);
	}
}

static void stream_closed(struct sk_api_response *resp, void *u)
{
	struct stream *s = u;

	assert_true(sk_api_response_closed(resp));
	assert_int_equal(sk_api_stream_write(resp, "x", 1), -EPIPE);
	sk_api_stream_end(resp);
	sk_loop_timer_remove(s->t);
	atomic_fetch_add(&s->f->closed_streams, 1);
	free(s);
}

static void h_stream(struct sk_api_request *req, struct sk_api_response *resp, void *u)
{
	struct stream *s = sk_new0(struct stream, 1);
	const char *n = sk_api_request_query(req, "n");

	s->f = u;
	s->resp = resp;
	s->n = n ? atoi(n) : 0;
	sk_api_response_on_close(resp, stream_closed, s);
	sk_api_stream_start(resp, 200, "text/plain");
	s->t = sk_loop_timer_add(s->f->loop, 1 * MS, 100 * MS, stream_tick, s);
}

static void h_metrics(struct sk_api_request *req, struct sk_api_response *resp, void *u)
{
	static const char text[] = "skiff_up 1\n";

	assert_true(sk_api_request_is_tcp(req));
	sk_api_respond(resp, 200, "text/plain; version=0.0.4", text, sizeof(text) - 1);
}

/* ---- fixture ---- */

static void *server_thread(void *u)
{
	struct fixture *f = u;

	assert_int_equal(sk_loop_run(f->loop, NULL), 0);
	return NULL;
}

static int setup(void **state)
{
	struct fixture *f = sk_new0(struct fixture, 1);
	struct sk_api_server_config cfg = { .max_body = 1024, .idle_timeout_ns = 5000 * MS };
	_cleanup_error_ struct sk_error *err = NULL;

	strcpy(f->dir, "/tmp/sk-api-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->path = sk_asprintf("%s/skiffd.sock", f->dir);
	assert_int_equal(sk_loop_new(&f->loop, NULL), 0);
	f->srv = sk_api_server_new(f->loop, &cfg);
	sk_api_server_route(f->srv, "GET", "/v1/ping", 0, h_ping, f);
	sk_api_server_route(f->srv, "GET", "/v1/apps/{app}/services/{svc}", 0, h_service, f);
	sk_api_server_route(f->srv, "POST", "/v1/echo", 0, h_echo, f);
	sk_api_server_route(f->srv, "GET", "/v1/conns", 0, h_conns, f);
	sk_api_server_route(f->srv, "GET", "/v1/async", 0, h_async, f);
	sk_api_server_route(f->srv, "GET", "/v1/stream", 0, h_stream, f);
	sk_api_server_route(f->srv, "GET", "/metrics", SK_API_ROUTE_TCP, h_metrics, f);
	if (sk_api_server_listen_unix(f->srv, f->path, &err) < 0)
		fail_msg("%s", err->msg);
	assert_int_equal(sk_api_server_listen_tcp(f->srv, "127.0.0.1", 0, &f->tcp_port, NULL), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sk_loop_stop(f->loop);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	sk_api_server_free(f->srv);
	/* let close callbacks deferred by the server's shutdown run */
	assert_int_equal(sk_loop_run_once(f->loop, 0, NULL), 0);
	sk_loop_free(f->loop);
	assert_int_equal(access(f->path, F_OK), -1); /* the socket file is gone */
	rmdir(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static struct sk_api_client *client(struct fixture *f)
{
	struct sk_api_client *c = NULL;

	assert_int_equal(sk_api_client_new(f->path, &c, NULL), 0);
	sk_api_client_set_timeout(c, 5000);
	return c;
}

/* Sends raw bytes on a new unix connection and reads until the server closes. */
static char *raw(struct fixture *f, const char *req, bool tcp)
{
	char *out = sk_malloc0(65536);
	size_t len = 0;
	int fd;

	if (tcp) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->tcp_port) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	} else {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strcpy(sa.sun_path, f->path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	assert_int_equal(sk_write_all(fd, req, strlen(req)), 0);
	for (;;) {
		ssize_t n = read(fd, out + len, 65535 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return out;
}

/* ---- tests ---- */

static void test_routing_params(void **state)
{
	struct fixture *f = *state;
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = client(f);
	json_t *j = NULL;

	assert_int_equal(sk_api_client_call(c, "GET", "/v1/ping", NULL, &j, NULL), 0);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	assert_int_equal(sk_api_client_call(c, "GET", "/v1/apps/shop/services/cart%20v2?x=a+b&y=1",
					    NULL, &j, NULL),
			 0);
	assert_string_equal(json_string_value(json_object_get(j, "app")), "shop");
	assert_string_equal(json_string_value(json_object_get(j, "svc")), "cart v2");
	assert_string_equal(json_string_value(json_object_get(j, "x")), "a b");
	assert_string_equal(json_string_value(json_object_get(j, "ua")), "skiff");
	json_decref(j);
}

static void test_not_found_not_allowed(void **state)
{
	struct fixture *f = *state;
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = client(f);
	struct sk_api_reply reply;
	struct sk_error *err = NULL;

	assert_int_equal(
	    sk_api_client_request(c, "GET", "/v1/nope", NULL, NULL, 0, NULL, NULL, &reply, NULL),
	    0);
	assert_int_equal(reply.status, 404);
	assert_string_equal(reply.content_type, "application/json");
	assert_non_null(strstr(reply.body, "\"error\""));
	sk_api_reply_release(&reply);
	/* the pattern exists, the method does not */
	assert_int_equal(sk_api_client_call(c, "DELETE", "/v1/ping", NULL, NULL, &err), -EIO);
	assert_string_equal(err->msg, "DELETE /v1/ping: method DELETE not allowed on '/v1/ping'");
	sk_error_free(err);
	err = NULL;
	assert_int_equal(sk_api_client_call(c, "GET", "/v1/apps//services/x", NULL, NULL, &err),
			 -ENOENT);
	sk_error_free(err);
	err = NULL;
	assert_int_equal(sk_api_client_call(c, "GET", "/v1/apps/a%zz/services/x", NULL, NULL, &err),
			 -EINVAL);
	sk_error_free(err);
}

static void test_json_round_trip(void **state)
{
	struct fixture *f = *state;
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = client(f);
	json_t *in = json_pack("{s:s,s:[i,i],s:{s:n}}", "name", "shop \"demo\" ✓", "ports", 80, 443,
			       "x", "y");
	json_t *out = NULL;
	struct sk_api_reply reply;
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_api_client_call(c, "POST", "/v1/echo", in, &out, NULL), 0);
	assert_true(json_equal(in, json_object_get(out, "got")));
	json_decref(in);
	json_decref(out);
	/* invalid JSON: 400 with the parser's message */
	assert_int_equal(sk_api_client_request(c, "POST", "/v1/echo", NULL, "{\"a\":", 5, NULL,
					       NULL, &reply, NULL),
			 0);
	assert_int_equal(reply.status, 400);
	assert_non_null(strstr(reply.body, "invalid JSON body at line 1"));
	sk_api_reply_release(&reply);
	assert_int_equal(sk_api_client_call(c, "POST", "/v1/echo", NULL, NULL, &err), -EINVAL);
}

static void test_body_too_large(void **state)
{
	struct fixture *f = *state;
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = client(f);
	_cleanup_free_ char *big = sk_malloc0(4096);
	_cleanup_free_ char *req = NULL;
	struct sk_api_reply reply;
	char *out;

	memset(big, 'a', 4095);
	assert_int_equal(sk_api_client_request(c, "POST", "/v1/echo", "text/plain", big, 4095, NULL,
					       NULL, &reply, NULL),
			 0);
	assert_int_equal(reply.status, 413);
	assert_non_null(strstr(reply.body, "too large"));
	sk_api_reply_release(&reply);
	/* chunked bodies are counted as they arrive */
	/* chunked bodies are counted as they arrive: 1024 bytes, then one more */
	big[1024] = '\0';
	req = sk_asprintf("POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "400\r\n%s\r\n1\r\nb\r\n0\r\n\r\n",
			  big);
	out = raw(f, req, false);
	assert_true(strncmp(out, "HTTP/1.1 413 ", 13) == 0);
	free(out);
}

static int count_chunk(const char *data, size_t len, void *u)
{
	uint64_t *times = u;

	times[++times[0]] = sk_now_ns();
	return 0;
}

static void test_streaming(void **state)
{
	struct fixture *f = *state;
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = client(f);
	uint64_t times[16] = { 0 };
	struct sk_api_reply reply;

	assert_int_equal(sk_api_client_request(c, "GET", "/v1/stream?n=5", NULL, NULL, 0,
					       count_chunk, times, &reply, NULL),
			 0);
	assert_int_equal(reply.status, 200);
	assert_int_equal(reply.body_len, 0);
	/* five pieces, arriving as written: ~400 ms between first and last (half of it
	 * leaves room for a client scheduled late on a loaded machine) */
	assert_int_equal(times[0], 5);
	assert_true(times[5] - times[1] >= 200 * MS);
	sk_api_reply_release(&reply);
	/* the connection is still usable */
	assert_int_equal(sk_api_client_call(c, "GET", "/v1/ping", NULL, NULL, NULL), 0);
}

static int stop_after_one(const char *data, size_t len, void *u)
{
	assert_true(len > 0);
	return 1;
}

static void test_stream_client_leaves(void **state)
{
	struct fixture *f = *state;
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = client(f);
	struct sk_api_reply reply;
	int i;

	assert_int_equal(sk_api_client_request(c, "GET", "/v1/stream", NULL, NULL, 0,
					       stop_after_one, NULL, &reply, NULL),
			 -ECANCELED);
	for (i = 0; i < 1000 && atomic_load(&f->closed_streams) == 0; i++)
		usleep(5000);
	assert_int_equal(atomic_load(&f->closed_streams), 1);
}

static void test_async(void **state)
{
	struct fixture *f = *state;
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = client(f);
	struct sk_api_reply reply;

	assert_int_equal(
	    sk_api_client_request(c, "GET", "/v1/async", NULL, NULL, 0, NULL, NULL, &reply, NULL),
	    0);
	assert_int_equal(reply.status, 200);
	assert_string_equal(reply.body, "later");
	sk_api_reply_release(&reply);
}

static void test_keep_alive_many(void **state)
{
	struct fixture *f = *state;
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = client(f);
	json_t *j = NULL;

	for (int i = 0; i < 500; i++)
		assert_int_equal(sk_api_client_call(c, "GET", "/v1/ping", NULL, NULL, NULL), 0);
	assert_int_equal(sk_api_client_call(c, "GET", "/v1/conns", NULL, &j, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "conns")), 1);
	json_decref(j);
}

static void test_pipelined_and_continue(void **state)
{
	struct fixture *f = *state;
	char *out =
	    raw(f,
		"GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /v1/async HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /v1/apps/a/services/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		false);
	const char *a = strstr(out, "{\"ok\":true}"), *b = strstr(out, "later"),
		   *cc = strstr(out, "\"app\":\"a\"");

	assert_true(a && b && cc && a < b && b < cc); /* answered in order */
	assert_non_null(strstr(out, "Connection: close"));
	free(out);

	out = raw(f,
		  "POST /v1/echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
		  "Connection: close\r\nContent-Length: 2\r\n\r\n[]",
		  false);
	assert_true(strncmp(out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 ", 38) == 0);
	free(out);

	/* a smuggling attempt: 400 with a JSON error, then the server hangs up */
	out = raw(f,
		  "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		  false);
	assert_true(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
	assert_non_null(strstr(out, "{\"error\":\"both content-length and transfer-encoding\"}"));
	free(out);
}

static void test_tcp_listener(void **state)
{
	struct fixture *f = *state;
	char *out = raw(f, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true);

	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(out, "skiff_up 1\n"));
	free(out);
	/* the control API is not on TCP */
	out = raw(f, "GET /v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true);
	assert_true(strncmp(out, "HTTP/1.1 404 ", 13) == 0);
	free(out);
}

static void test_socket_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_(sk_loop_freep) struct sk_loop *loop = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *stale = sk_asprintf("%s/stale.sock", f->dir);
	_cleanup_free_ char *file = sk_asprintf("%s/file", f->dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sk_api_server *srv;
	struct stat st;
	int fd;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	/* no temporary directories left behind */
	assert_int_equal(access(f->dir, F_OK), 0);

	assert_int_equal(sk_loop_new(&loop, NULL), 0);
	srv = sk_api_server_new(loop, NULL);
	/* a live server's socket is not taken over */
	assert_int_equal(sk_api_server_listen_unix(srv, f->path, &err), -EADDRINUSE);
	sk_error_free(err);
	err = NULL;
	/* a stale socket (nobody listening) is replaced */
	strcpy(sa.sun_path, stale);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(sk_api_server_listen_unix(srv, stale, NULL), 0);
	assert_int_equal(stat(stale, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* anything else is left alone */
	assert_int_equal(sk_write_file_atomic(file, "x", 1, 0644, false), 0);
	assert_int_equal(sk_api_server_listen_unix(srv, file, &err), -EEXIST);
	sk_api_server_free(srv);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(unlink(file), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_routing_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streaming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_client_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_and_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
