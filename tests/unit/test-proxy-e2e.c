/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-proxy-e2e.c - the proxy end to end over loopback sockets: backends
 * are threads of this test (a poll loop with the base HTTP parser), clients
 * are blocking sockets.  Covers round robin with keep-alive and pooling,
 * X-Forwarded-*, bodies (Content-Length beyond the replay buffer, chunked),
 * pipelining, HEAD, chunked and close-delimited responses, HTTP/1.0
 * clients, 503/502/504, retries, smuggling rejection, fallback, fault
 * aborts, bulkhead, TCP mode, HTTP upgrades (a backend that answers 101 and
 * then echoes upper-cased) and the metrics text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/http.h"
#include "base/util.h"
#include "proxy/proxy.h"

/* BE_UPGRADE: 101 to any request, a greeting, then upper-cased echo of every byte */
enum be_mode { BE_OK, BE_503, BE_HANG, BE_CLOSE, BE_CHUNKED, BE_EOF, BE_UPGRADE };

#define BE_CONNS 32

struct backend {
	const char *name;
	int lfd, port, stop[2];
	pthread_t thr;
	_Atomic int mode, accepts, requests;
	_Atomic int tunnel_eofs; /* upgraded connections that saw the proxy's EOF */
};

struct be_conn {
	int fd;
	char buf[65536];
	size_t len;
	struct sk_http_parser p;
	char line[512];
	char upg[128]; /* " upgrade=V connection=V" when the request had Upgrade */
	size_t body;
	bool tunnel; /* answered 101: bytes from now on */
};

static int listen_any(int *ret_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*ret_port = ntohs(a.sin_port);
	return fd;
}

/* A port nothing listens on, never one this process got before: the kernel may
 * hand out a closed port again, and two listeners of one test must differ. */
static int free_port(void)
{
	static int given[256];
	static size_t n_given;

	for (;;) {
		int port, fd = listen_any(&port);
		bool seen = false;

		close(fd);
		for (size_t i = 0; i < n_given; i++)
			seen = seen || given[i] == port;
		if (seen)
			continue;
		if (n_given < SK_ELEMENTSOF(given))
			given[n_given++] = port;
		return port;
	}
}

/* The tunnel's echo: the bytes back, upper-cased (so they went through here). */
static void be_echo(struct be_conn *c, char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'a' && p[i] <= 'z')
			p[i] = (char)(p[i] - 'a' + 'A');
	(void)sk_write_all(c->fd, p, n);
}

static void be_reply(struct backend *b, struct be_conn *c)
{
	char out[1024];
	int n, mode = b->mode;

	b->requests++;
	switch (mode) {
	case BE_HANG:
		return;
	case BE_CLOSE:
		close(c->fd);
		c->fd = -1;
		return;
	case BE_503:
		n = snprintf(out, sizeof(out),
			     "HTTP/1.1 503 Service Unavailable\r\n"
			     "Content-Length: 4\r\n\r\nbusy");
		break;
	case BE_CHUNKED:
		n = snprintf(out, sizeof(out),
			     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "%zx\r\n%s\r\n%zx\r\n%s\r\n0\r\n\r\n",
			     strlen(b->name), b->name, strlen(c->line), c->line);
		break;
	case BE_EOF:
		n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\n\r\n%s %s", b->name, c->line);
		break;
	case BE_UPGRADE:
		/* the head and the first tunnel bytes in one write */
		n = snprintf(out, sizeof(out),
			     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\n\r\n%s %s\n",
			     b->name, c->line);
		c->tunnel = true;
		break;
	default:
		n = snprintf(out, sizeof(out),
			     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s %s",
			     strlen(b->name) + 1 + strlen(c->line), b->name, c->line);
		if (strncmp(c->line, "HEAD ", 5) == 0)
			n -= (int)(strlen(b->name) + 1 + strlen(c->line));
	}
	(void)sk_write_all(c->fd, out, (size_t)n);
	if (mode == BE_EOF) {
		close(c->fd);
		c->fd = -1;
	}
}

/* Parses what a connection sent; replies at each message end. */
static void be_input(struct backend *b, struct be_conn *c)
{
	for (;;) {
		size_t used = 0;
		struct sk_http_str d;
		int r = sk_http_parse(&c->p, c->buf, c->len, &used, &d);

		if (r < 0) {
			close(c->fd);
			c->fd = -1;
			return;
		}
		if (r == SK_HTTP_HEAD) {
			const struct sk_http_msg *m = &c->p.msg;
			const struct sk_http_header *x = sk_http_msg_header(m, "x-forwarded-for");
			const struct sk_http_header *pr =
			    sk_http_msg_header(m, "x-forwarded-proto");
			const struct sk_http_header *up = sk_http_msg_header(m, "upgrade");
			const struct sk_http_header *co = sk_http_msg_header(m, "connection");

			snprintf(c->line, sizeof(c->line), "%.*s %.*s xff=%.*s proto=%.*s",
				 (int)m->method.len, m->method.p, (int)m->target.len, m->target.p,
				 x ? (int)x->value.len : 0, x ? x->value.p : "",
				 pr ? (int)pr->value.len : 0, pr ? pr->value.p : "");
			c->upg[0] = 0;
			if (up)
				snprintf(c->upg, sizeof(c->upg), " upgrade=%.*s connection=%.*s",
					 (int)up->value.len, up->value.p,
					 co ? (int)co->value.len : 0, co ? co->value.p : "");
			c->body = 0;
		} else if (r == SK_HTTP_DATA) {
			c->body += d.len;
		}
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (r == SK_HTTP_DONE) {
			size_t l = strlen(c->line);

			snprintf(c->line + l, sizeof(c->line) - l, " body=%zu%s", c->body, c->upg);
			be_reply(b, c);
			if (c->fd < 0)
				return;
			if (c->tunnel) { /* what followed the request head is tunnel bytes */
				be_echo(c, c->buf, c->len);
				c->len = 0;
				return;
			}
		} else if (r == SK_HTTP_AGAIN) {
			return;
		}
	}
}

static void *be_main(void *arg)
{
	struct backend *b = arg;
	static __thread struct be_conn *conns[BE_CONNS];

	for (;;) {
		struct pollfd pf[BE_CONNS + 2];
		int n = 2;

		pf[0] = (struct pollfd){ b->stop[0], POLLIN, 0 };
		pf[1] = (struct pollfd){ b->lfd, POLLIN, 0 };
		for (int i = 0; i < BE_CONNS; i++)
			if (conns[i])
				pf[n++] = (struct pollfd){ conns[i]->fd, POLLIN, 0 };
		if (poll(pf, (nfds_t)n, -1) < 0)
			continue;
		if (pf[0].revents)
			break;
		if (pf[1].revents) {
			int fd = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC);

			for (int i = 0; fd >= 0 && i < BE_CONNS; i++)
				if (!conns[i]) {
					conns[i] = sk_malloc0(sizeof(*conns[i]));
					conns[i]->fd = fd;
					sk_http_parser_init(&conns[i]->p, SK_HTTP_REQUEST, NULL);
					b->accepts++;
					fd = -1;
				}
			if (fd >= 0)
				close(fd);
		}
		for (int k = 2; k < n; k++) {
			struct be_conn *c;
			int i = -1;

			for (int j = 0; j < BE_CONNS; j++)
				if (conns[j] && conns[j]->fd == pf[k].fd)
					i = j;
			if (i < 0 || !pf[k].revents)
				continue;
			c = conns[i];
			ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (c->tunnel && r > 0)
				be_echo(c, c->buf, (size_t)r);
			else if (c->tunnel)
				b->tunnel_eofs++;
			else if (r > 0) {
				c->len += (size_t)r;
				be_input(b, c);
			}
			if (r <= 0 || c->fd < 0) {
				if (c->fd >= 0)
					close(c->fd);
				sk_http_parser_release(&c->p);
				free(c);
				conns[i] = NULL;
			}
		}
	}
	for (int i = 0; i < BE_CONNS; i++)
		if (conns[i]) {
			close(conns[i]->fd);
			sk_http_parser_release(&conns[i]->p);
			free(conns[i]);
			conns[i] = NULL;
		}
	return NULL;
}

static struct backend *be_start(const char *name, enum be_mode mode)
{
	struct backend *b = sk_malloc0(sizeof(*b));

	b->name = name;
	b->mode = mode;
	b->lfd = listen_any(&b->port);
	assert_int_equal(pipe2(b->stop, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&b->thr, NULL, be_main, b), 0);
	return b;
}

static void be_stop(struct backend *b)
{
	assert_int_equal(write(b->stop[1], "x", 1), 1);
	pthread_join(b->thr, NULL);
	close(b->stop[0]);
	close(b->stop[1]);
	close(b->lfd);
	free(b);
}

/* ---- the proxy ---- */

static struct sk_proxy *proxy_start(const char *json)
{
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_proxy *p = NULL;
	json_error_t jerr;
	json_t *j = json_loads(json, 0, &jerr);

	if (!j)
		fail_msg("bad test json: %s: %s", jerr.text, json);
	assert_int_equal(sk_proxy_config_from_json(j, &c, &err), 0);
	json_decref(j);
	assert_int_equal(sk_proxy_new(&(struct sk_proxy_opts){ .threads = 2 }, &p, &err), 0);
	if (sk_proxy_publish(p, c, &err) < 0)
		fail_msg("publish: %s", err->msg);
	return p;
}

static int client(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

struct resp {
	int status;
	char head[2048];
	char body[8192];
	size_t body_len;
	bool closed;
};

/* Reads one response from fd into r (head text and decoded body). */
static void read_resp(int fd, struct resp *r, bool head_req)
{
	static __thread char buf[65536];
	static __thread size_t len;
	struct sk_http_parser p;
	bool done = false;

	memset(r, 0, sizeof(*r));
	sk_http_parser_init(&p, SK_HTTP_RESPONSE, NULL);
	if (head_req)
		sk_http_parser_skip_body(&p);
	while (!done) {
		size_t used = 0;
		struct sk_http_str d;
		int rc = sk_http_parse(&p, buf, len, &used, &d);

		assert_true(rc >= 0);
		if (rc == SK_HTTP_HEAD) {
			r->status = p.msg.status;
			for (size_t i = 0; i < p.msg.n_headers; i++) {
				size_t l = strlen(r->head);

				snprintf(r->head + l, sizeof(r->head) - l, "%.*s: %.*s\n",
					 (int)p.msg.headers[i].name.len, p.msg.headers[i].name.p,
					 (int)p.msg.headers[i].value.len, p.msg.headers[i].value.p);
			}
		} else if (rc == SK_HTTP_DATA) {
			assert_true(r->body_len + d.len < sizeof(r->body));
			memcpy(r->body + r->body_len, d.p, d.len);
			r->body_len += d.len;
		} else if (rc == SK_HTTP_DONE && r->status >= 200) {
			done = true;
		}
		memmove(buf, buf + used, len - used);
		len -= used;
		if (rc == SK_HTTP_AGAIN) {
			ssize_t n = read(fd, buf + len, sizeof(buf) - len);

			if (n <= 0) {
				r->closed = true;
				if (sk_http_parse_eof(&p) != SK_HTTP_DONE)
					fail_msg("truncated: %s / %.*s", r->head, (int)r->body_len,
						 r->body);
				done = true;
			} else {
				len += (size_t)n;
			}
		}
	}
	if (r->closed)
		len = 0;
	sk_http_parser_release(&p);
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(sk_write_all(fd, s, strlen(s)), 0);
}

static bool peer_closed(int fd)
{
	char c;

	return read(fd, &c, 1) == 0;
}

static struct resp get(int port, const char *req)
{
	struct resp r;
	int fd = client(port);

	send_str(fd, req);
	read_resp(fd, &r, strncmp(req, "HEAD ", 5) == 0);
	close(fd);
	return r;
}

#define JSON(...) sk_asprintf(__VA_ARGS__)

/* A proxy on a free port whose one listener serves cluster "c" of one endpoint "a" (backend a). */
static struct sk_proxy *one_endpoint_proxy(const struct backend *a, int *ret_port)
{
	int port = free_port();
	_cleanup_free_ char *cfg =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"c\"}],"
		 "\"clusters\":[{\"name\":\"c\",\"endpoints\":[{\"id\":\"a\",\"address\":"
		 "\"127.0.0.1:%d\"}]}]}",
		 port, a->port);

	*ret_port = port;
	return proxy_start(cfg);
}

#define GET "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"

/* ---- tests ---- */

static void test_round_robin_keepalive(void **state)
{
	struct backend *a = be_start("a", BE_OK), *b = be_start("b", BE_OK);
	int port = free_port();
	_cleanup_free_ char *cfg =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"web\"}],"
		 "\"clusters\":[{\"name\":\"web\",\"app\":\"shop\",\"service\":\"web\","
		 "\"endpoints\":[{\"id\":\"a\",\"address\":\"127.0.0.1:%d\"},"
		 "{\"id\":\"b\",\"address\":\"127.0.0.1:%d\"}]}]}",
		 port, a->port, b->port);
	struct sk_proxy *p = proxy_start(cfg);
	int fd = client(port), na = 0, nb = 0;
	_cleanup_free_ char *text = NULL;
	struct resp r;

	for (int i = 0; i < 6; i++) {
		send_str(fd, "GET /k HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.1.1.1\r\n"
			     "Connection: keep-alive, x-drop\r\nX-Drop: 1\r\n\r\n");
		read_resp(fd, &r, false);
		assert_int_equal(r.status, 200);
		assert_false(r.closed);
		na += strstr(r.head, "x-skiff-upstream: a\n") != NULL;
		nb += strstr(r.head, "x-skiff-upstream: b\n") != NULL;
		assert_non_null(strstr(r.body, "GET /k xff=10.1.1.1, 127.0.0.1 proto=http body=0"));
	}
	assert_int_equal(na, 3);
	assert_int_equal(nb, 3);
	/* pooled: one upstream connection per backend */
	assert_int_equal(a->accepts, 1);
	assert_int_equal(b->accepts, 1);

	/* HTTP/1.0 client without keep-alive: answered, then closed */
	send_str(fd, "GET /old HTTP/1.0\r\n\r\n");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Connection: close"));
	assert_true(peer_closed(fd));
	close(fd);

	assert_int_equal(sk_proxy_metrics(p, &text, NULL), 0);
	assert_non_null(strstr(text, "skiff_service_requests_total{app=\"shop\",service=\"web\","
				     "method=\"GET\",code=\"2xx\"} 7"));
	assert_non_null(strstr(text, "skiff_endpoint_requests_total{app=\"shop\",service=\"web\","
				     "replica=\"a\",code=\"2xx\"}"));
	assert_non_null(strstr(text, "skiff_service_request_duration_seconds_bucket{app=\"shop\","
				     "service=\"web\",le=\"+Inf\"} 7"));
	sk_proxy_free(p);
	be_stop(a);
	be_stop(b);
}

static void test_bodies_pipelining(void **state)
{
	struct backend *a = be_start("a", BE_OK);
	int port;
	struct sk_proxy *p = one_endpoint_proxy(a, &port);
	size_t big = 200 * 1024;
	_cleanup_free_ char *body = sk_malloc0(big);
	int fd = client(port);
	char head[128];
	struct resp r;

	/* a body larger than the replay buffer streams through */
	memset(body, 'x', big);
	snprintf(head, sizeof(head), "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
		 big);
	send_str(fd, head);
	assert_int_equal(sk_write_all(fd, body, big), 0);
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "POST /big"));
	assert_non_null(strstr(r.body, "body=204800"));

	/* chunked request */
	send_str(fd, "POST /ch HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "POST /ch xff=127.0.0.1 proto=http body=11"));

	/* pipelined: answered in order */
	send_str(fd, "GET /one HTTP/1.1\r\nHost: t\r\n\r\nHEAD /two HTTP/1.1\r\nHost: t\r\n\r\n"
		     "GET /three HTTP/1.1\r\nHost: t\r\n\r\n");
	read_resp(fd, &r, false);
	assert_non_null(strstr(r.body, "GET /one"));
	read_resp(fd, &r, true);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	read_resp(fd, &r, false);
	assert_non_null(strstr(r.body, "GET /three"));
	close(fd);

	sk_proxy_free(p);
	be_stop(a);
}

static void test_expect_continue(void **state)
{
	struct backend *a = be_start("a", BE_OK);
	int port;
	struct sk_proxy *p = one_endpoint_proxy(a, &port);
	int fd = client(port);
	char buf[64] = "";
	struct resp r;

	send_str(fd, "PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
		     "Expect: 100-continue\r\n\r\n");
	assert_true(read(fd, buf, 25) == 25);
	assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
	send_str(fd, "hello");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "PUT /e xff=127.0.0.1 proto=http body=5"));
	close(fd);
	sk_proxy_free(p);
	be_stop(a);
}

static void test_response_framing(void **state)
{
	struct backend *a = be_start("a", BE_CHUNKED);
	int port;
	struct sk_proxy *p = one_endpoint_proxy(a, &port);
	struct resp r;

	r = get(port, GET);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Transfer-Encoding: chunked"));
	assert_non_null(strstr(r.body, "aGET /x"));
	/* close-delimited: chunked to 1.1 clients, until close to 1.0 ones */
	a->mode = BE_EOF;
	r = get(port, GET);
	assert_non_null(strstr(r.head, "Transfer-Encoding: chunked"));
	assert_non_null(strstr(r.body, "a GET /x"));
	r = get(port, "GET /z HTTP/1.0\r\n\r\n");
	assert_true(r.closed);
	assert_non_null(strstr(r.body, "a GET /z"));
	sk_proxy_free(p);
	be_stop(a);
}

static void test_errors_retries(void **state)
{
	struct backend *a = be_start("a", BE_OK), *h = be_start("h", BE_HANG);
	int pn = free_port(), pd = free_port(), pr = free_port(), ph = free_port();
	int dead = free_port();
	_cleanup_free_ char *cfg =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"none\"},"
		 "{\"address\":\"127.0.0.1:%d\",\"cluster\":\"dead\"},"
		 "{\"address\":\"127.0.0.1:%d\",\"cluster\":\"retry\"},"
		 "{\"address\":\"127.0.0.1:%d\",\"cluster\":\"hang\"}],"
		 "\"clusters\":[{\"name\":\"none\"},"
		 "{\"name\":\"dead\",\"endpoints\":[{\"id\":\"d\",\"address\":\"127.0.0.1:%d\"}]},"
		 "{\"name\":\"retry\",\"policy\":{\"retry_attempts\":1,\"retry_backoff\":\"1ms\"},"
		 "\"endpoints\":[{\"id\":\"d\",\"address\":\"127.0.0.1:%d\"},"
		 "{\"id\":\"a\",\"address\":\"127.0.0.1:%d\"}]},"
		 "{\"name\":\"hang\",\"policy\":{\"try_timeout\":\"100ms\"},"
		 "\"endpoints\":[{\"id\":\"h\",\"address\":\"127.0.0.1:%d\"}]}]}",
		 pn, pd, pr, ph, dead, dead, a->port, h->port);
	struct sk_proxy *p = proxy_start(cfg);
	_cleanup_free_ char *text = NULL;
	struct resp r;
	int fd;

	r = get(pn, GET);
	assert_int_equal(r.status, 503);
	assert_false(r.closed);
	r = get(pd, GET);
	assert_int_equal(r.status, 502);
	for (int i = 0; i < 4; i++) {
		r = get(pr, GET);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.head, "x-skiff-upstream: a"));
	}
	r = get(ph, GET);
	assert_int_equal(r.status, 504);

	/* request smuggling: 400 and the connection is closed */
	fd = client(pr);
	send_str(fd, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.head, "Connection: close"));
	assert_true(r.closed || peer_closed(fd));
	close(fd);

	assert_int_equal(sk_proxy_metrics(p, &text, NULL), 0);
	assert_non_null(strstr(text, "skiff_service_retries_total{app=\"\",service=\"retry\"}"));
	assert_null(strstr(text, "skiff_service_retries_total{app=\"\",service=\"retry\"} 0"));
	assert_non_null(strstr(text, "service=\"hang\",method=\"GET\",code=\"5xx\"} 1"));
	sk_proxy_free(p);
	be_stop(a);
	be_stop(h);
}

static void test_fallback_faults_bulkhead(void **state)
{
	struct backend *bad = be_start("bad", BE_503), *fb = be_start("fb", BE_OK);
	struct backend *h = be_start("h", BE_HANG);
	int pm = free_port(), pf = free_port(), pb = free_port();
	_cleanup_free_ char *cfg = JSON(
	    "{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"main\"},"
	    "{\"address\":\"127.0.0.1:%d\",\"cluster\":\"faulty\"},"
	    "{\"address\":\"127.0.0.1:%d\",\"cluster\":\"small\"}],"
	    "\"clusters\":[{\"name\":\"main\",\"fallback\":\"spare\","
	    "\"policy\":{\"outlier_consecutive_5xx\":2},"
	    "\"endpoints\":[{\"id\":\"bad\",\"address\":\"127.0.0.1:%d\"}]},"
	    "{\"name\":\"spare\",\"endpoints\":[{\"id\":\"fb\",\"address\":\"127.0.0.1:%d\"}]},"
	    "{\"name\":\"faulty\",\"fault\":{\"abort_status\":418,\"abort_percent\":100},"
	    "\"endpoints\":[{\"id\":\"fb\",\"address\":\"127.0.0.1:%d\"}]},"
	    "{\"name\":\"small\",\"policy\":{\"max_concurrent\":1},"
	    "\"endpoints\":[{\"id\":\"h\",\"address\":\"127.0.0.1:%d\"}]}]}",
	    pm, pf, pb, bad->port, fb->port, fb->port, h->port);
	struct sk_proxy *p = proxy_start(cfg);
	_cleanup_free_ char *text = NULL;
	struct resp r;
	int fd;

	for (int i = 0; i < 4; i++) {
		r = get(pm, GET);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.head, "x-skiff-upstream: fb"));
	}
	/* ejected after 2 5xx: later requests go straight to the fallback */
	assert_int_equal(bad->requests, 2);
	r = get(pf, GET);
	assert_int_equal(r.status, 418);

	/* bulkhead: one request hangs in flight, the next is refused at once */
	fd = client(pb);
	send_str(fd, GET);
	for (int i = 0; i < 500 && h->requests == 0; i++)
		usleep(10000);
	assert_int_equal(h->requests, 1);
	r = get(pb, GET);
	assert_int_equal(r.status, 503);
	close(fd);

	assert_int_equal(sk_proxy_metrics(p, &text, NULL), 0);
	assert_non_null(strstr(text, "skiff_service_fallbacks_total{app=\"\",service=\"main\"} 4"));
	assert_non_null(strstr(text, "skiff_service_ejections_total{app=\"\",service=\"main\"} 1"));
	assert_non_null(strstr(text, "skiff_service_faults_total{app=\"\",service=\"faulty\","
				     "kind=\"abort\"} 1"));
	assert_non_null(strstr(text, "skiff_service_rejected_total{app=\"\",service=\"small\"} 1"));
	sk_proxy_free(p);
	be_stop(bad);
	be_stop(fb);
	be_stop(h);
}

static void test_tcp_mode(void **state)
{
	struct backend *a = be_start("a", BE_OK);
	int port = free_port(), dead = free_port();
	_cleanup_free_ char *cfg =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"t\"}],"
		 "\"clusters\":[{\"name\":\"t\",\"policy\":{\"mode\":\"tcp\"},"
		 "\"endpoints\":[{\"id\":\"d\",\"address\":\"127.0.0.1:%d\"},"
		 "{\"id\":\"a\",\"address\":\"127.0.0.1:%d\"}]}]}",
		 port, dead, a->port);
	struct sk_proxy *p = proxy_start(cfg);

	for (int i = 0; i < 3; i++) {
		int fd = client(port);
		char buf[512] = "";
		size_t len = 0;
		ssize_t n;

		/* raw bytes, then a half-close: the answer still comes back */
		send_str(fd, "GET /raw HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
		assert_int_equal(shutdown(fd, SHUT_WR), 0);
		while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += (size_t)n;
		buf[len] = 0;
		assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
		assert_non_null(strstr(buf, "a GET /raw xff= proto= body=0"));
		assert_null(strstr(buf, "x-skiff-upstream"));
		close(fd);
	}
	sk_proxy_free(p);
	be_stop(a);
}

/* ---- upgrades ---- */

#define UPGRADE_REQ                                                                                \
	"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Upgrade\r\nUpgrade: "              \
	"websocket\r\n\r\n"

/* Reads a response head byte by byte (nothing after it): the tunnel's bytes stay unread. */
static void read_head(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0) {
		assert_true(len + 1 < size);
		if (read(fd, buf + len, 1) != 1)
			fail_msg("no complete head: %.*s", (int)len, buf);
		len++;
	}
	buf[len] = 0;
}

/* Reads exactly strlen(want) bytes and compares them with want. */
static void expect_bytes(int fd, const char *want)
{
	char buf[1024];
	size_t n = strlen(want), len = 0;

	assert_true(n < sizeof(buf));
	while (len < n) {
		ssize_t r = read(fd, buf + len, n - len);

		if (r <= 0)
			fail_msg("got %zu of %zu bytes: %.*s", len, n, (int)len, buf);
		len += (size_t)r;
	}
	buf[len] = 0;
	assert_string_equal(buf, want);
}

static bool metrics_has(struct sk_proxy *p, const char *line)
{
	_cleanup_free_ char *text = NULL;

	assert_int_equal(sk_proxy_metrics(p, &text, NULL), 0);
	return strstr(text, line) != NULL;
}

/* Waits up to 5 s for the metrics text to show `line`. */
static void wait_metrics(struct sk_proxy *p, const char *line)
{
	for (int i = 0; i < 500 && !metrics_has(p, line); i++)
		usleep(10000);
	if (!metrics_has(p, line))
		fail_msg("metrics never showed %s", line);
}

static void wait_eofs(struct backend *b, int n)
{
	for (int i = 0; i < 500 && b->tunnel_eofs < n; i++)
		usleep(10000);
	assert_int_equal(b->tunnel_eofs, n);
}

/* Opens a tunnel through port: the 101 head, then the backend's greeting. */
static int upgrade(int port, const char *name, const char *extra, char *head, size_t size)
{
	_cleanup_free_ char *greeting = sk_asprintf(
	    "%s GET /ws xff=127.0.0.1 proto=http body=0 upgrade=websocket connection=upgrade\n",
	    name);
	int fd = client(port);

	send_str(fd, extra); /* UPGRADE_REQ and what follows it, in one write */
	read_head(fd, head, size);
	assert_true(strncmp(head, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
	expect_bytes(fd, greeting);
	return fd;
}

struct bulk_writer {
	int fd;
	size_t n;
};

static void *bulk_write(void *u)
{
	struct bulk_writer *b = u;
	char chunk[65536];

	memset(chunk, 'x', sizeof(chunk));
	for (size_t sent = 0; sent < b->n;) {
		size_t k = b->n - sent < sizeof(chunk) ? b->n - sent : sizeof(chunk);
		ssize_t r = write(b->fd, chunk, k);

		if (r <= 0)
			break;
		sent += (size_t)r;
	}
	return NULL;
}

/* Megabytes both ways through a tunnel: the splice never stalls on data it was told of once. */
static void test_upgrade_bulk(void **state)
{
	struct backend *a = be_start("a", BE_UPGRADE);
	int port = free_port();
	_cleanup_free_ char *cfg =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"ws\"}],"
		 "\"clusters\":[{\"name\":\"ws\",\"endpoints\":[{\"id\":\"a\",\"address\":"
		 "\"127.0.0.1:%d\"}]}]}",
		 port, a->port);
	struct sk_proxy *p = proxy_start(cfg);
	struct bulk_writer bw = { .n = 16u << 20 };
	struct timeval tv = { .tv_sec = 10 };
	char head[2048], buf[65536];
	size_t got = 0;
	pthread_t th;

	bw.fd = upgrade(port, "a", UPGRADE_REQ, head, sizeof(head));
	assert_int_equal(setsockopt(bw.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(bw.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(pthread_create(&th, NULL, bulk_write, &bw), 0);
	while (got < bw.n) {
		ssize_t r = read(bw.fd, buf, sizeof(buf));

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != 'X')
				fail_msg("byte %zu is '%c'", got + (size_t)i, buf[i]);
		got += (size_t)r;
	}
	pthread_join(th, NULL);
	assert_int_equal(got, bw.n);
	close(bw.fd);
	sk_proxy_free(p);
	be_stop(a);
}

static void test_upgrade_tunnel(void **state)
{
	struct backend *a = be_start("a", BE_UPGRADE);
	int port = free_port(), dead = free_port();
	_cleanup_free_ char *cfg =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"ws\"}],"
		 "\"clusters\":[{\"name\":\"ws\",\"app\":\"chat\",\"service\":\"ws\","
		 "\"policy\":{\"retry_attempts\":1,\"retry_backoff\":\"1ms\"},"
		 "\"endpoints\":[{\"id\":\"d\",\"address\":\"127.0.0.1:%d\"},"
		 "{\"id\":\"a\",\"address\":\"127.0.0.1:%d\"}]}]}",
		 port, dead, a->port);
	struct sk_proxy *p = proxy_start(cfg);
	char head[2048];
	int fd;

	/* bytes right behind the request head (same write) wait for the switch, then go through */
	fd = upgrade(port, "a", UPGRADE_REQ "hello", head, sizeof(head));
	assert_non_null(strstr(head, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(head, "\r\nConnection: upgrade\r\n"));
	assert_non_null(strstr(head, "\r\nx-skiff-upstream: a\r\n"));
	assert_null(strstr(head, "Content-Length"));
	assert_null(strstr(head, "keep-alive"));
	expect_bytes(fd, "HELLO");
	send_str(fd, "more bytes");
	expect_bytes(fd, "MORE BYTES");

	assert_true(metrics_has(p, "skiff_service_requests_total{app=\"chat\",service=\"ws\","
				   "method=\"GET\",code=\"1xx\"} 1"));
	assert_true(metrics_has(p, "skiff_endpoint_requests_total{app=\"chat\",service=\"ws\","
				   "replica=\"a\",code=\"1xx\"} 1"));
	assert_true(
	    metrics_has(p, "skiff_service_active_connections{app=\"chat\",service=\"ws\"} 1"));

	/* a half-close reaches the backend, which closes: the client sees the end */
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	wait_eofs(a, 1);
	assert_true(peer_closed(fd));
	close(fd);
	wait_metrics(p, "skiff_service_active_connections{app=\"chat\",service=\"ws\"} 0");
	assert_false(metrics_has(p, "code=\"2xx\""));
	sk_proxy_free(p);
	be_stop(a);
}

/* An upgrade the endpoint declines is a plain request: the connection stays HTTP. */
static void test_upgrade_declined(void **state)
{
	struct backend *a = be_start("a", BE_OK);
	int port;
	struct sk_proxy *p = one_endpoint_proxy(a, &port);
	int fd = client(port);
	struct resp r;

	send_str(fd, UPGRADE_REQ);
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	assert_false(r.closed);
	assert_non_null(strstr(r.body, "GET /ws xff=127.0.0.1 proto=http body=0 "
				       "upgrade=websocket connection=upgrade"));
	send_str(fd, GET);
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "a GET /x"));
	assert_int_equal(a->accepts, 1); /* and the upstream connection was pooled */

	/* not an upgrade, sent without Upgrade: a body, another method, no Connection token */
	send_str(fd, "POST /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
		     "Content-Length: 2\r\n\r\nhi");
	read_resp(fd, &r, false);
	assert_non_null(strstr(r.body, "POST /ws xff=127.0.0.1 proto=http body=2"));
	assert_null(strstr(r.body, "upgrade="));
	send_str(fd, "GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n");
	read_resp(fd, &r, false);
	assert_non_null(strstr(r.body, "GET /ws xff=127.0.0.1 proto=http body=1"));
	assert_null(strstr(r.body, "upgrade="));
	send_str(fd, "OPTIONS /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
		     "Upgrade: websocket\r\n\r\n");
	read_resp(fd, &r, false);
	assert_non_null(strstr(r.body, "OPTIONS /ws"));
	assert_null(strstr(r.body, "upgrade="));
	send_str(fd, "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n\r\n");
	read_resp(fd, &r, false);
	assert_non_null(strstr(r.body, "GET /ws"));
	assert_null(strstr(r.body, "upgrade="));
	assert_false(r.closed);
	close(fd);
	r = get(port, "GET /old HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "GET /old"));
	assert_null(strstr(r.body, "upgrade="));
	sk_proxy_free(p);
	be_stop(a);
}

/* A 101 to a request that did not ask for it is the endpoint's error: 502. */
static void test_upgrade_unexpected_101(void **state)
{
	struct backend *a = be_start("a", BE_UPGRADE);
	int port;
	struct sk_proxy *p = one_endpoint_proxy(a, &port);
	int fd = client(port);
	struct resp r;

	send_str(fd, GET);
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 502);
	assert_false(r.closed);
	/* a POST with Upgrade is not upgraded, so its 101 is no better */
	send_str(fd, "POST /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
		     "Content-Length: 2\r\n\r\nhi");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 502);
	close(fd);
	assert_int_equal(a->requests, 2);
	assert_true(metrics_has(p, "method=\"GET\",code=\"5xx\"} 1"));
	assert_true(metrics_has(p, "method=\"POST\",code=\"5xx\"} 1"));
	sk_proxy_free(p);
	be_stop(a);
}

/* Closing the client ends the tunnel upstream; the tunnel holds its bulkhead slot until then. */
static void test_upgrade_close_and_bulkhead(void **state)
{
	struct backend *a = be_start("a", BE_UPGRADE);
	int port = free_port(), pidle = free_port();
	_cleanup_free_ char *cfg =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"c\"},"
		 "{\"address\":\"127.0.0.1:%d\",\"cluster\":\"idle\"}],"
		 "\"clusters\":[{\"name\":\"c\",\"policy\":{\"max_concurrent\":1},"
		 "\"endpoints\":[{\"id\":\"a\",\"address\":\"127.0.0.1:%d\"}]},"
		 "{\"name\":\"idle\",\"policy\":{\"idle_timeout\":\"200ms\"},"
		 "\"endpoints\":[{\"id\":\"a\",\"address\":\"127.0.0.1:%d\"}]}]}",
		 port, pidle, a->port, a->port);
	struct sk_proxy *p = proxy_start(cfg);
	char head[2048];
	struct resp r;
	uint64_t t0;
	int fd;

	fd = upgrade(port, "a", UPGRADE_REQ, head, sizeof(head));
	r = get(port, GET);
	assert_int_equal(r.status, 503);
	send_str(fd, "ping");
	expect_bytes(fd, "PING");
	close(fd);
	wait_eofs(a, 1);
	wait_metrics(p, "skiff_service_active_connections{app=\"\",service=\"c\"} 0");

	/* a new tunnel gets a new upstream connection: the first one was never pooled */
	fd = upgrade(port, "a", UPGRADE_REQ, head, sizeof(head));
	assert_int_equal(a->accepts, 2);
	close(fd);
	wait_eofs(a, 2);
	assert_true(metrics_has(p, "skiff_service_rejected_total{app=\"\",service=\"c\"} 1"));

	/* a silent tunnel ends after the cluster's idle_timeout, on both sides */
	fd = upgrade(pidle, "a", UPGRADE_REQ, head, sizeof(head));
	t0 = sk_now_ns();
	assert_true(peer_closed(fd));
	assert_true(sk_now_ns() - t0 >= 150000000ull);
	close(fd);
	wait_eofs(a, 3);
	sk_proxy_free(p);
	be_stop(a);
}

static void publish(struct sk_proxy *p, const char *json)
{
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	json_t *j = json_loads(json, 0, NULL);

	assert_non_null(j);
	assert_int_equal(sk_proxy_config_from_json(j, &c, &err), 0);
	json_decref(j);
	if (sk_proxy_publish(p, c, &err) < 0)
		fail_msg("publish: %s", err->msg);
}

static bool refused(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool r = connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0;

	close(fd);
	return r;
}

/* Publishing moves listeners and endpoints; a kept connection follows the new config. */
static void test_republish(void **state)
{
	struct backend *a = be_start("a", BE_OK), *b = be_start("b", BE_OK);
	int l1 = free_port(), l2 = free_port();
	_cleanup_free_ char *c1 =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"c\"}],"
		 "\"clusters\":[{\"name\":\"c\",\"endpoints\":[{\"id\":\"a\",\"address\":"
		 "\"127.0.0.1:%d\"}]}]}",
		 l1, a->port);
	_cleanup_free_ char *c2 =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"c\"},"
		 "{\"address\":\"127.0.0.1:%d\",\"cluster\":\"c\"}],"
		 "\"clusters\":[{\"name\":\"c\",\"endpoints\":[{\"id\":\"b\",\"address\":"
		 "\"127.0.0.1:%d\"}]}]}",
		 l1, l2, b->port);
	_cleanup_free_ char *c3 =
	    JSON("{\"listeners\":[{\"address\":\"127.0.0.1:%d\",\"cluster\":\"c\"}],"
		 "\"clusters\":[{\"name\":\"c\",\"endpoints\":[{\"id\":\"b\",\"address\":"
		 "\"127.0.0.1:%d\"}]}]}",
		 l2, b->port);
	struct sk_proxy *p = proxy_start(c1);
	int fd = client(l1);
	struct resp r;

	send_str(fd, GET);
	read_resp(fd, &r, false);
	assert_non_null(strstr(r.head, "x-skiff-upstream: a"));
	assert_true(refused(l2));
	publish(p, c2);
	/* the workers take the new config asynchronously: the kept connection follows it (5 s) */
	for (int i = 0; i < 500; i++) {
		send_str(fd, GET);
		read_resp(fd, &r, false);
		assert_int_equal(r.status, 200);
		if (strstr(r.head, "x-skiff-upstream: b"))
			break;
		usleep(10000);
	}
	assert_non_null(strstr(r.head, "x-skiff-upstream: b"));
	r = get(l2, GET);
	assert_non_null(strstr(r.head, "x-skiff-upstream: b"));
	publish(p, c3);
	/* l1 closes once every worker has let go of the old config (5 s) */
	for (int i = 0; i < 500 && !refused(l1); i++)
		usleep(10000);
	assert_true(refused(l1));
	/* the kept connection's listener is gone: answered 503, then closed */
	send_str(fd, GET);
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 503);
	close(fd);
	r = get(l2, GET);
	assert_int_equal(r.status, 200);
	sk_proxy_free(p);
	be_stop(a);
	be_stop(b);
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int fds_at_start;

static int group_setup(void **state)
{
	fds_at_start = count_dir("/proc/self/fd");
	return 0;
}

/* Every proxy, backend and client above is gone: no fd, no thread left. */
static void test_no_leaks(void **state)
{
	assert_int_equal(count_dir("/proc/self/fd"), fds_at_start);
	assert_int_equal(count_dir("/proc/self/task"), 3); /* ".", "..", main thread */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_robin_keepalive),
		cmocka_unit_test(test_bodies_pipelining),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_response_framing),
		cmocka_unit_test(test_errors_retries),
		cmocka_unit_test(test_fallback_faults_bulkhead),
		cmocka_unit_test(test_tcp_mode),
		cmocka_unit_test(test_upgrade_tunnel),
		cmocka_unit_test(test_upgrade_bulk),
		cmocka_unit_test(test_upgrade_declined),
		cmocka_unit_test(test_upgrade_unexpected_101),
		cmocka_unit_test(test_upgrade_close_and_bulkhead),
		cmocka_unit_test(test_republish),
		cmocka_unit_test(test_no_leaks),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
