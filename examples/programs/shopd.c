/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shopd.c - the demo shop's backend services: a tiny HTTP/1.1 server in one
 * poll() loop, built -static for the skiff-demo/shop image.  A test subject for
 * skiff (replicas, health checks, restarts, logs, the proxy's retries, outlier
 * ejection and fallback), not a server to build on.
 *
 *   GET /          {"service": NAME, "replica": hostname, "pid", "requests"}
 *   GET /healthz   200 "ok", or 500 "unhealthy" while /tmp/unhealthy exists
 *   GET /crash     answers, then exits with code 3
 *   GET /slow?ms=N answers "done" after N ms (a poll timer; others go on meanwhile)
 *   GET /fail?code=N  answers status N (500..599) once: a failing request
 *   GET /items     ROLE=catalog: {"service", "replica", "items": [the catalog]}
 *   GET /recommendations
 *                  ROLE=recommendations: {"source": "recommendations",
 *                  "replica", "items": [...]}, a different pick per request;
 *                  ROLE=popular: {"source": "popular", "replica", "items"}, the
 *                  same fixed titles (the fallback serves the same path)
 *
 * While /tmp/fail exists every request but /healthz gets 503: a replica that
 * fails requests yet passes its health check, for skiff's outlier ejection.
 *
 * Environment: PORT (8080; 0 picks one, shown in the startup line), ROLE
 * (catalog, recommendations or popular; default catalog), NAME (default the
 * ROLE when set, else "shop"), ADDR (0.0.0.0).  Logs each request on stdout
 * ("GET / 200 0.1ms").
 * SIGTERM/SIGINT: "shutting down", exit 0.  Bounded: MAX_CONN connections,
 * IN_MAX bytes of head (431), IDLE_MS idle.  Strict: CRLF, token header names,
 * no obs-fold, no body, Host in HTTP/1.1, GET and HEAD only (405).
 */
#define _GNU_SOURCE /* memmem, strcasestr, accept4 */
#include <poll.h>

#include "minihttp.h"

#define MAX_CONN 512
#define IN_MAX 8192
#define OUT_MAX 4096
#define IDLE_MS 60000
#define SLOW_MAX_MS 60000

struct conn {
	int fd; /* -1: a free slot */
	bool waiting, crash_after;
	size_t in_len, out_len, out_off;
	int64_t deadline_ms; /* waiting: when /slow answers; else the idle limit */
	struct http_req req;
	char in[IN_MAX], out[OUT_MAX];
};

enum role { ROLE_CATALOG, ROLE_RECOMMENDATIONS, ROLE_POPULAR };

struct server {
	int lfd;
	enum role role;
	char name[64], host[128];
	unsigned long requests;
	size_t nconn;
	struct conn conns[MAX_CONN];
};

static const char ITEMS[] = "[{\"id\":1,\"name\":\"teapot\",\"price_cents\":1500,\"stock\":12},"
			    "{\"id\":2,\"name\":\"kettle\",\"price_cents\":3200,\"stock\":4},"
			    "{\"id\":3,\"name\":\"mug\",\"price_cents\":600,\"stock\":48},"
			    "{\"id\":4,\"name\":\"tea tin\",\"price_cents\":900,\"stock\":0}]";

/* What the recommendations role picks from, three at a time, a window that
 * moves with the request count: answers look personalised. */
static const char *const PICKS[] = {
	"{\"id\":3,\"name\":\"mug\",\"reason\":\"goes with your teapot\"}",
	"{\"id\":4,\"name\":\"tea tin\",\"reason\":\"you bought tea last month\"}",
	"{\"id\":2,\"name\":\"kettle\",\"reason\":\"people like you bought it\"}",
	"{\"id\":1,\"name\":\"teapot\",\"reason\":\"back in stock\"}",
	"{\"id\":5,\"name\":\"tea strainer\",\"reason\":\"new this week\"}",
};

static const char POPULAR[] = "[{\"id\":1,\"name\":\"teapot\"},{\"id\":3,\"name\":\"mug\"},"
			      "{\"id\":2,\"name\":\"kettle\"}]";

/* Makes s safe to print inside a JSON string. */
static void json_sanitize(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '_';
}

/* Queues the answer to c's current request and logs it. */
static void respond(struct conn *c, int status, const char *ctype, const char *body)
{
	/* 500 in full here; the other 5xx of /fail?code=N are "Server Error" */
	const char *reason = status == 500 ? "Internal Server Error" : http_reason(status);
	int n;

	http_close_after(&c->req, status);
	n = snprintf(c->out, sizeof(c->out),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		     "Connection: %s\r\n\r\n%s",
		     status, reason, ctype, strlen(body),
		     status == 405 ? "Allow: GET, HEAD\r\n" : "",
		     c->req.closing ? "close" : "keep-alive", c->req.head ? "" : body);
	c->out_len = n < 0 || (size_t)n >= sizeof(c->out) ? sizeof(c->out) - 1 : (size_t)n;
	c->out_off = 0;
	http_log(&c->req, status, NULL);
}

/* The body of GET /recommendations for s's role, into body (cap bytes). */
static void recommendations(struct server *s, char *body, size_t cap)
{
	size_t n = sizeof(PICKS) / sizeof(PICKS[0]), k = s->requests % n;

	if (s->role == ROLE_POPULAR) {
		snprintf(body, cap, "{\"source\":\"popular\",\"replica\":\"%s\",\"items\":%s}\n",
			 s->host, POPULAR);
		return;
	}
	snprintf(body, cap,
		 "{\"source\":\"recommendations\",\"replica\":\"%s\",\"items\":[%s,%s,%s]}\n",
		 s->host, PICKS[k], PICKS[(k + 1) % n], PICKS[(k + 2) % n]);
}

static void route(struct server *s, struct conn *c)
{
	char *q = strchr(c->req.target, '?'), body[1024];
	size_t plen = q ? (size_t)(q - c->req.target) : strlen(c->req.target);
	long n;

#define IS(p) (plen == strlen(p) && !strncmp(c->req.target, p, plen))
	if (IS("/healthz") && access("/tmp/unhealthy", F_OK) == 0) {
		respond(c, 500, "text/plain", "unhealthy\n");
	} else if (IS("/healthz")) {
		respond(c, 200, "text/plain", "ok\n");
	} else if (access("/tmp/fail", F_OK) == 0) {
		respond(c, 503, "text/plain", "failing: /tmp/fail exists\n");
	} else if (IS("/")) {
		snprintf(body, sizeof(body),
			 "{\"service\":\"%s\",\"replica\":\"%s\",\"pid\":%ld,\"requests\":%lu}\n",
			 s->name, s->host, (long)getpid(), s->requests);
		respond(c, 200, "application/json", body);
	} else if (IS("/crash")) {
		c->crash_after = true;
		c->req.closing = true;
		respond(c, 200, "text/plain", "crashing\n");
	} else if (IS("/slow") &&
		   (!q || strncmp(q, "?ms=", 4) || parse_num(q + 4, 0, SLOW_MAX_MS, &n) < 0)) {
		respond(c, 400, "text/plain", "want /slow?ms=N, N in 0..60000\n");
	} else if (IS("/slow")) {
		c->waiting = true;
		c->deadline_ms = now_us() / 1000 + n;
	} else if (IS("/fail") &&
		   (!q || strncmp(q, "?code=", 6) || parse_num(q + 6, 500, 599, &n) < 0)) {
		respond(c, 400, "text/plain", "want /fail?code=N, N in 500..599\n");
	} else if (IS("/fail")) {
		respond(c, (int)n, "text/plain", "failed on request\n");
	} else if (IS("/items") && s->role == ROLE_CATALOG) {
		snprintf(body, sizeof(body),
			 "{\"service\":\"%s\",\"replica\":\"%s\",\"items\":%s}\n", s->name, s->host,
			 ITEMS);
		respond(c, 200, "application/json", body);
	} else if (IS("/recommendations") && s->role != ROLE_CATALOG) {
		recommendations(s, body, sizeof(body));
		respond(c, 200, "application/json", body);
	} else {
		respond(c, 404, "text/plain", "not found\n");
	}
#undef IS
}

/* Answers the request head at the start of c->in (or arms the /slow timer).
 * Returns false when no complete head is buffered yet. */
static bool handle_request(struct server *s, struct conn *c)
{
	int st = http_take_head(&c->req, c->in, &c->in_len, sizeof(c->in));

	if (st < 0)
		return false;
	s->requests++;
	if (st)
		respond(c, st, "text/plain", st == 405 ? "GET and HEAD only\n" : "bad request\n");
	else
		route(s, c);
	return true;
}

static void conn_close(struct server *s, struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	s->nconn--;
}

/* Moves c on as far as it goes without blocking: reads what arrived (when
 * readable), writes the pending answer, answers buffered requests.  May close
 * c, or exit (/crash). */
static void conn_step(struct server *s, struct conn *c, bool readable)
{
	int r = readable ? http_recv(c->fd, c->in, &c->in_len, sizeof(c->in)) : 1;

	if (r < 0)
		conn_close(s, c); /* EOF (a half-close too) or an error */
	if (c->fd < 0 || r == 0)
		return;
	if (!c->waiting)
		c->deadline_ms = now_us() / 1000 + IDLE_MS; /* progress */
	for (;;) {
		r = http_send(c->fd, c->out, &c->out_off, c->out_len);
		if (r < 0)
			conn_close(s, c);
		if (r <= 0)
			return;
		c->out_len = c->out_off = 0;
		if (c->crash_after) {
			printf("crash requested, exiting 3\n");
			exit(3);
		}
		if (c->req.closing && !c->waiting)
			conn_close(s, c);
		if (c->waiting || c->fd < 0 || !handle_request(s, c))
			return;
	}
}

static void accept_all(struct server *s)
{
	for (size_t i = 0; i < MAX_CONN && s->nconn < MAX_CONN; i++) {
		struct conn *c = &s->conns[i];
		int fd;
		if (c->fd >= 0)
			continue;
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a transient error: poll again */
		memset(c, 0, offsetof(struct conn, in));
		c->fd = fd;
		c->deadline_ms = now_us() / 1000 + IDLE_MS;
		s->nconn++;
	}
}

/* Answers due /slow requests, closes idle connections; returns how long
 * poll() may sleep (-1: no timer). */
static int timers(struct server *s)
{
	int64_t now = now_us() / 1000, next = -1;

	for (size_t i = 0; i < MAX_CONN; i++) {
		struct conn *c = &s->conns[i];
		if (c->fd >= 0 && c->deadline_ms <= now && c->waiting) {
			c->waiting = false;
			respond(c, 200, "text/plain", "done\n");
			conn_step(s, c, false);
		} else if (c->fd >= 0 && c->deadline_ms <= now) {
			conn_close(s, c); /* idle, or not reading its answer */
		}
		if (c->fd >= 0 && (next < 0 || c->deadline_ms - now < next))
			next = c->deadline_ms > now ? c->deadline_ms - now : 0;
	}
	return (int)next;
}

int main(void)
{
	static struct server srv; /* ~6 MiB of buffers, touched as connections come */
	static struct pollfd pfd[MAX_CONN + 2];
	const char *port_s = getenv("PORT") ? getenv("PORT") : "8080";
	const char *addr = getenv("ADDR") ? getenv("ADDR") : "0.0.0.0";
	const char *role = getenv("ROLE");
	long port;

	snprintf(srv.name, sizeof(srv.name), "%s",
		 getenv("NAME") ? getenv("NAME")
		 : role		? role
				: "shop");
	if (parse_num(port_s, 0, 65535, &port) < 0) {
		fprintf(stderr, "shopd: invalid PORT '%s'\n", port_s);
		return 2;
	}
	if (!role || !strcmp(role, "catalog")) {
		srv.role = ROLE_CATALOG;
	} else if (!strcmp(role, "recommendations")) {
		srv.role = ROLE_RECOMMENDATIONS;
	} else if (!strcmp(role, "popular")) {
		srv.role = ROLE_POPULAR;
	} else {
		fprintf(stderr, "shopd: invalid ROLE '%s' (catalog, recommendations, popular)\n",
			role);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pfd[0] = (struct pollfd){ .fd = http_signalfd(), .events = POLLIN };
	(void)gethostname(srv.host, sizeof(srv.host) - 1); /* stays "" if it fails */
	json_sanitize(srv.name);
	json_sanitize(srv.host);
	for (size_t i = 0; i < MAX_CONN; i++)
		srv.conns[i].fd = -1;
	srv.lfd = http_listen(addr, &port);
	if (srv.lfd < 0) {
		fprintf(stderr, "shopd: listen on %s:%ld: %s\n", addr, port, strerror(errno));
		return 1;
	}
	printf("shopd: %s listening on %s:%ld (pid %ld, replica %s)\n", srv.name, addr, port,
	       (long)getpid(), srv.host);
	for (;;) {
		int timeout = timers(&srv), r;
		pfd[1] =
		    (struct pollfd){ .fd = srv.nconn < MAX_CONN ? srv.lfd : -1, .events = POLLIN };
		for (size_t i = 0; i < MAX_CONN; i++) {
			struct conn *c = &srv.conns[i];
			short ev = c->out_len ? POLLOUT : c->waiting ? 0 : POLLIN;
			pfd[i + 2] = (struct pollfd){ .fd = c->fd, .events = ev };
		}
		r = poll(pfd, MAX_CONN + 2, timeout);
		if (r < 0 && errno != EINTR) {
			perror("shopd: poll");
			return 1;
		}
		if (r > 0 && pfd[0].revents) {
			printf("shutting down\n");
			close(srv.lfd);
			return 0;
		}
		if (r > 0 && pfd[1].revents)
			accept_all(&srv);
		for (size_t i = 0; r > 0 && i < MAX_CONN; i++) {
			struct conn *c = &srv.conns[i];
			short rev = pfd[i + 2].revents;
			if (c->fd < 0 || !rev || pfd[i + 2].fd != c->fd)
				continue;
			if (rev & (POLLIN | POLLOUT)) /* one of them was asked for */
				conn_step(&srv, c, rev & POLLIN);
			else
				conn_close(&srv, c); /* POLLHUP or POLLERR while waiting */
		}
	}
}
