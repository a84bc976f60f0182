/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api-server.c - the HTTP/JSON API server declared in api-server.h.
 *
 * A connection reads into a buffer, runs the HTTP parser over it, and
 * assembles one request at a time: the head is copied (so an async handler
 * may keep it after the connection's buffer moves on), the body gathered up
 * to max_body.  While a response is pending the connection reads nothing
 * more and only watches for the peer hanging up (EPOLLRDHUP), so a
 * `logs -f` whose client left is noticed even when no log line comes.
 * Output is buffered per connection and flushed as the socket allows.
 */
#include "api-server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define READ_CHUNK 16384

struct route {
	char *method;
	char **segs; /* literal, or "{name}" */
	size_t n_segs;
	unsigned flags;
	sk_api_handler_cb cb;
	void *userdata;
};

struct listener {
	struct sk_api_server *srv;
	int fd;
	bool tcp;
	struct sk_loop_io *io;
	char *path; /* unix socket file we created */
	dev_t dev;
	ino_t ino;
};

struct kv {
	char *key, *value;
};

struct sk_api_request {
	char *head; /* owned copy of the head; fields below point into it */
	const char *method, *path;
	struct sk_http_header *hdrs;
	size_t n_hdrs;
	struct kv *params, *query;
	size_t n_params, n_query;
	char *body;
	size_t body_len;
	json_t *json;
	bool tcp, keep_alive, http10;
};

enum resp_state { R_NEW, R_STREAMING, R_DONE };

struct conn;

struct sk_api_response {
	struct conn *conn; /* NULL once the client is gone */
	struct sk_api_request req;
	enum resp_state state;
	char *extra; /* extra header lines */
	sk_api_close_cb close_cb;
	void *close_data;
	sk_api_close_cb drain_cb; /* streaming: output fell to half of max_output */
	void *drain_data;
	struct sk_loop *loop;
	struct sk_loop_defer *close_defer; /* runs close_cb outside any API call */
};

struct conn {
	struct sk_api_server *srv;
	struct conn *prev, *next;
	int fd;
	bool tcp;
	struct sk_loop_io *io;
	struct sk_loop_timer *idle;
	struct sk_loop_defer *resume;
	struct sk_http_parser parser;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_off, out_len, out_cap;
	struct sk_api_response *building; /* head parsed, body being read */
	struct sk_api_response *cur;	  /* handed to a handler */
	bool close_after, processing, dead;
};

struct sk_api_server {
	struct sk_loop *loop;
	struct sk_api_server_config cfg;
	struct route *routes;
	size_t n_routes;
	struct listener *listeners[4];
	size_t n_listeners;
	struct conn *conns;
	size_t n_conns;
};

static void conn_close(struct conn *c);
static void conn_free(struct conn *c);
static bool conn_update(struct conn *c);
static void conn_process(struct conn *c);
static void conn_resume_cb(struct sk_loop *loop, void *userdata);

/* ---- small helpers ---- */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape or NUL. */
static char *pct_decode(const char *s, size_t n, bool plus_space)
{
	_cleanup_free_ char *out = sk_malloc0(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] != '%') {
			out[o++] = plus_space && s[i] == '+' ? ' ' : s[i];
			continue;
		}
		if (i + 2 >= n)
			return NULL;
		hi = hexval((unsigned char)s[i + 1]);
		lo = hexval((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return NULL;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	return TAKE_PTR(out);
}

static void kv_push(struct kv **v, size_t *n, char *key, char *value)
{
	*v = sk_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct kv){ key, value };
}

static void kv_free(struct kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static const char *kv_get(const struct kv *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].key, key) == 0)
			return v[i].value;
	return NULL;
}

/* ---- routes ---- */

static char **split_path(const char *path, size_t len, size_t *ret_n)
{
	char **segs = NULL;
	size_t n = 0, i = 1;

	assert(len > 0 && path[0] == '/');
	while (i <= len) {
		size_t j = i;
		while (j < len && path[j] != '/')
			j++;
		segs = sk_realloc(segs, (n + 2) * sizeof(*segs));
		segs[n++] = sk_strndup(path + i, j - i);
		segs[n] = NULL;
		i = j + 1;
	}
	*ret_n = n;
	return segs;
}

void sk_api_server_route(struct sk_api_server *srv, const char *method, const char *pattern,
			 unsigned flags, sk_api_handler_cb cb, void *userdata)
{
	struct route *r;

	assert(method && pattern && pattern[0] == '/' && cb);
	srv->routes = sk_realloc(srv->routes, (srv->n_routes + 1) * sizeof(*srv->routes));
	r = &srv->routes[srv->n_routes++];
	*r = (struct route){
		.method = sk_strdup(method), .flags = flags, .cb = cb, .userdata = userdata
	};
	r->segs = split_path(pattern, strlen(pattern), &r->n_segs);
	for (size_t i = 0; i < r->n_segs; i++) {
		size_t l = strlen(r->segs[i]);
		assert(!strchr(r->segs[i], '{') ||
		       (r->segs[i][0] == '{' && r->segs[i][l - 1] == '}' && l > 2));
	}
}

/*
 * Matches path segments against a route: 1 on a match (filling req's
 * params when req is given), 0 when not, -1 on a bad escape in a param.
 */
static int route_match(const struct route *r, char **segs, size_t n, struct sk_api_request *req)
{
	if (n != r->n_segs)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = r->segs[i];
		if (p[0] != '{') {
			if (strcmp(p, segs[i]) != 0)
				return 0;
		} else if (!segs[i][0]) {
			return 0;
		}
	}
	for (size_t i = 0; req && i < n; i++) {
		const char *p = r->segs[i];
		char *v;
		if (p[0] != '{')
			continue;
		v = pct_decode(segs[i], strlen(segs[i]), false);
		if (!v)
			return -1;
		kv_push(&req->params, &req->n_params, sk_strndup(p + 1, strlen(p) - 2), v);
	}
	return 1;
}

/*
 * Finds the route for req; returns it, or NULL with *ret_status set to
 * 400 (bad escape), 404 or 405.
 */
static const struct route *route_find(struct sk_api_server *srv, struct sk_api_request *req,
				      int *ret_status)
{
	size_t n = 0;
	char **segs = NULL;
	const struct route *found = NULL;
	bool other_method = false;

	*ret_status = 404;
	if (req->path[0] != '/')
		return NULL;
	segs = split_path(req->path, strlen(req->path), &n);
	for (size_t i = 0; i < srv->n_routes && !found; i++) {
		const struct route *r = &srv->routes[i];
		bool method_ok = strcmp(r->method, req->method) == 0;
		int m;
		if (req->tcp && !(r->flags & SK_API_ROUTE_TCP))
			continue;
		m = route_match(r, segs, n, method_ok ? req : NULL);
		if (m < 0) {
			*ret_status = 400;
			break;
		}
		if (m > 0 && method_ok)
			found = r;
		else if (m > 0)
			other_method = true;
	}
	sk_strv_free(segs);
	if (!found && *ret_status == 404 && other_method)
		*ret_status = 405;
	return found;
}

/* ---- requests ---- */

static void request_release(struct sk_api_request *req)
{
	free(req->head);
	free(req->hdrs);
	kv_free(req->params, req->n_params);
	kv_free(req->query, req->n_query);
	free(req->body);
	json_decref(req->json);
}

/* Splits "a=1&b=x%20y" into decoded pairs; false on a bad escape. */
static bool parse_query(struct sk_api_request *req, const char *q)
{
	while (*q) {
		const char *amp = strchrnul(q, '&'), *eq = memchr(q, '=', (size_t)(amp - q));
		const char *kend = eq ? eq : amp;
		char *k = pct_decode(q, (size_t)(kend - q), true);
		char *v = eq ? pct_decode(eq + 1, (size_t)(amp - eq - 1), true) : sk_strdup("");
		if (!k || !v) {
			free(k);
			free(v);
			return false;
		}
		kv_push(&req->query, &req->n_query, k, v);
		q = *amp ? amp + 1 : amp;
	}
	return true;
}

/* A C string for a slice of the parser's buffer, inside req->head. */
static const char *head_str(struct sk_api_request *req, const char *base, struct sk_http_str s)
{
	char *p = req->head + (s.p - base);

	p[s.len] = '\0'; /* the byte after is a delimiter (SP, ':', OWS or CR) */
	return p;
}

/* Copies the parsed head into req so it survives the connection buffer. */
static bool request_init(struct sk_api_request *req, const struct sk_http_parser *p,
			 const char *base, size_t head_len, bool tcp)
{
	const struct sk_http_msg *m = &p->msg;
	char *path, *qm;

	req->head = sk_malloc0(head_len + 1);
	memcpy(req->head, base, head_len);
	req->tcp = tcp;
	req->keep_alive = m->flags & SK_HTTP_F_KEEP_ALIVE;
	req->http10 = m->version_minor == 0;
	req->hdrs = sk_new0(struct sk_http_header, m->n_headers ? m->n_headers : 1);
	req->n_hdrs = m->n_headers;
	for (size_t i = 0; i < m->n_headers; i++) {
		req->hdrs[i].name.p = head_str(req, base, m->headers[i].name);
		req->hdrs[i].value.p = head_str(req, base, m->headers[i].value);
	}
	req->method = head_str(req, base, m->method);
	path = (char *)head_str(req, base, m->target);
	qm = strchr(path, '?');
	if (qm)
		*qm = '\0';
	req->path = path;
	return !qm || parse_query(req, qm + 1);
}

const char *sk_api_request_method(const struct sk_api_request *req)
{
	return req->method;
}

const char *sk_api_request_path(const struct sk_api_request *req)
{
	return req->path;
}

const char *sk_api_request_param(const struct sk_api_request *req, const char *name)
{
	return kv_get(req->params, req->n_params, name);
}

const char *sk_api_request_query(const struct sk_api_request *req, const char *name)
{
	return kv_get(req->query, req->n_query, name);
}

const char *sk_api_request_header(const struct sk_api_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_hdrs; i++)
		if (strcasecmp(req->hdrs[i].name.p, name) == 0)
			return req->hdrs[i].value.p;
	return NULL;
}

const char *sk_api_request_body(const struct sk_api_request *req, size_t *ret_len)
{
	if (ret_len)
		*ret_len = req->body_len;
	return req->body ? req->body : "";
}

int sk_api_request_json(struct sk_api_request *req, json_t **ret_json, struct sk_error **err)
{
	json_error_t jerr;

	if (!req->json) {
		req->json = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
		if (!req->json)
			return sk_error_set(err, EINVAL,
					    "invalid JSON body at line %d column %d: %s", jerr.line,
					    jerr.column, jerr.text);
	}
	*ret_json = req->json;
	return 0;
}

bool sk_api_request_is_tcp(const struct sk_api_request *req)
{
	return req->tcp;
}

/* ---- output ---- */

static void out_append(struct conn *c, const void *buf, size_t len)
{
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		while (c->out_len + len > c->out_cap)
			c->out_cap = c->out_cap ? c->out_cap * 2 : 4096;
		c->out = sk_realloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
}

static void out_printf(struct conn *c, const char *fmt, ...) _printf_(2, 3);
static void out_printf(struct conn *c, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	out_append(c, s, (size_t)n);
}

/* Writes what the socket takes; false when the connection failed. */
static bool conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return true;
		if (w < 0)
			return false;
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	return true;
}

/* ---- responses ---- */

static struct sk_api_response *response_new(struct conn *c)
{
	struct sk_api_response *r = sk_new0(struct sk_api_response, 1);

	r->conn = c;
	r->loop = c->srv->loop;
	r->extra = sk_strdup("");
	return r;
}

static void response_free(struct sk_api_response *r)
{
	if (!r)
		return;
	sk_loop_defer_cancel(r->close_defer);
	request_release(&r->req);
	free(r->extra);
	free(r);
}

void sk_api_response_header(struct sk_api_response *r, const char *name, const char *value)
{
	char *s;

	assert(r->state == R_NEW && !strpbrk(name, "\r\n:") && !strpbrk(value, "\r\n"));
	s = sk_asprintf("%s%s: %s\r\n", r->extra, name, value);
	free(r->extra);
	r->extra = s;
}

static void write_status(struct conn *c, struct sk_api_response *r, int status,
			 const char *content_type)
{
	out_printf(c, "HTTP/1.1 %d %s\r\n%s%s%s%s", status, sk_http_reason(status),
		   content_type ? "Content-Type: " : "", content_type ? content_type : "",
		   content_type ? "\r\n" : "", r->extra);
	if (!r->req.keep_alive || c->close_after)
		c->close_after = true;
	if (c->close_after)
		out_append(c, "Connection: close\r\n", 19);
}

/* The handler is done with r: free it and let the connection go on. */
static void response_finish(struct sk_api_response *r)
{
	struct conn *c = r->conn;

	r->state = R_DONE;
	response_free(r);
	if (!c)
		return;
	c->cur = NULL;
	if (c->idle)
		sk_loop_timer_set(c->idle, c->srv->cfg.idle_timeout_ns, 0);
	if (!conn_flush(c)) {
		conn_close(c);
		return;
	}
	if (!c->processing && !c->resume)
		c->resume = sk_loop_defer(c->srv->loop, conn_resume_cb, c);
	(void)conn_update(c);
}

void sk_api_respond(struct sk_api_response *r, int status, const char *content_type,
		    const void *body, size_t len)
{
	struct conn *c = r->conn;

	assert(r->state == R_NEW);
	if (c) {
		write_status(c, r, status, content_type);
		out_printf(c, "Content-Length: %zu\r\n\r\n", len);
		out_append(c, body, len);
	}
	response_finish(r);
}

void sk_api_respond_json(struct sk_api_response *r, int status, json_t *json)
{
	_cleanup_free_ char *s = json_dumps(json, JSON_COMPACT);

	json_decref(json);
	if (!s)
		abort();
	sk_api_respond(r, status, "application/json", s, strlen(s));
}

void sk_api_respond_error(struct sk_api_response *r, int status, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	sk_api_respond_json(r, status, json_pack("{s:s}", "error", msg));
}

void sk_api_stream_start(struct sk_api_response *r, int status, const char *content_type)
{
	struct conn *c = r->conn;

	assert(r->state == R_NEW);
	r->state = R_STREAMING;
	if (!c)
		return;
	if (r->req.http10) /* no chunked coding for HTTP/1.0: the close ends the body */
		c->close_after = true;
	write_status(c, r, status, content_type);
	out_printf(c, "%s\r\n", r->req.http10 ? "" : "Transfer-Encoding: chunked\r\n");
	if (!conn_flush(c))
		conn_close(c);
	else
		(void)conn_update(c);
}

int sk_api_stream_write(struct sk_api_response *r, const void *buf, size_t len)
{
	struct conn *c = r->conn;

	assert(r->state == R_STREAMING);
	if (!c)
		return -EPIPE;
	if (len == 0)
		return 0;
	if (c->out_len - c->out_off + len > c->srv->cfg.max_output)
		return -ENOBUFS;
	if (!r->req.http10)
		out_printf(c, "%zx\r\n", len);
	out_append(c, buf, len);
	if (!r->req.http10)
		out_append(c, "\r\n", 2);
	if (!conn_flush(c)) {
		conn_close(c);
		return -EPIPE;
	}
	return conn_update(c) ? 0 : -EPIPE;
}

void sk_api_stream_end(struct sk_api_response *r)
{
	assert(r->state == R_STREAMING);
	if (r->conn && !r->req.http10)
		out_append(r->conn, "0\r\n\r\n", 5);
	response_finish(r);
}

void sk_api_response_on_close(struct sk_api_response *r, sk_api_close_cb cb, void *userdata)
{
	r->close_cb = cb;
	r->close_data = userdata;
}

void sk_api_response_on_drain(struct sk_api_response *r, sk_api_close_cb cb, void *userdata)
{
	r->drain_cb = cb;
	r->drain_data = userdata;
}

size_t sk_api_stream_room(const struct sk_api_response *r)
{
	const struct conn *c = r->conn;
	size_t used;

	if (!c)
		return 0;
	used = c->out_len - c->out_off + 32; /* chunk framing */
	return used >= c->srv->cfg.max_output ? 0 : c->srv->cfg.max_output - used;
}

bool sk_api_response_closed(const struct sk_api_response *r)
{
	return !r->conn;
}

struct sk_api_request *sk_api_response_request(struct sk_api_response *r)
{
	return &r->req;
}

/* ---- connections ---- */

/* Sets the events to watch, or closes a finished connection; false when it closed. */
static bool conn_update(struct conn *c)
{
	uint32_t ev = SK_LOOP_RDHUP;

	if (c->dead)
		return false;
	if (!c->cur && !c->close_after)
		ev |= SK_LOOP_READ;
	if (c->out_off < c->out_len)
		ev |= SK_LOOP_WRITE;
	if ((c->close_after && c->out_off == c->out_len && !c->cur) ||
	    sk_loop_io_modify(c->io, ev, NULL) < 0) {
		conn_close(c);
		return false;
	}
	return true;
}

/* Answers a request the server rejects itself, then closes the connection. */
static void conn_fail(struct conn *c, int status, const char *msg)
{
	struct sk_api_response *r = c->building ? c->building : response_new(c);

	c->building = NULL;
	c->close_after = true;
	c->cur = r;
	sk_api_respond_error(r, status, "%s", msg);
}

static void dispatch(struct conn *c, struct sk_api_response *r)
{
	int status;
	const struct route *rt = route_find(c->srv, &r->req, &status);

	c->cur = r;
	if (!rt) {
		sk_api_respond_error(r, status,
				     status == 405   ? "method %s not allowed on '%s'"
				     : status == 404 ? "no route for %s '%s'"
						     : "bad escape in %s '%s'",
				     r->req.method, r->req.path);
		return;
	}
	rt->cb(&r->req, r, rt->userdata);
}

static void on_head(struct conn *c, const char *head, size_t head_len)
{
	const struct sk_http_msg *m = &c->parser.msg;
	struct sk_api_response *r = response_new(c);

	c->building = r;
	if (!request_init(&r->req, &c->parser, head, head_len, c->tcp)) {
		conn_fail(c, 400, "bad escape in query string");
		return;
	}
	if ((m->flags & SK_HTTP_F_CONTENT_LENGTH) && m->content_length > c->srv->cfg.max_body) {
		conn_fail(c, 413, "request body too large");
		return;
	}
	if ((m->flags & SK_HTTP_F_EXPECT_CONTINUE) && (m->flags & SK_HTTP_F_BODY))
		out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

static void on_data(struct conn *c, struct sk_http_str d)
{
	struct sk_api_request *req = &c->building->req;

	if (req->body_len + d.len > c->srv->cfg.max_body) {
		conn_fail(c, 413, "request body too large");
		return;
	}
	req->body = sk_realloc(req->body, req->body_len + d.len + 1);
	memcpy(req->body + req->body_len, d.p, d.len);
	req->body_len += d.len;
	req->body[req->body_len] = '\0';
}

/* Parses buffered input into requests until one is pending or input runs out. */
static void conn_process(struct conn *c)
{
	size_t off = 0;

	c->processing = true;
	while (!c->dead && !c->cur && !c->close_after) {
		struct sk_http_str d;
		size_t used = 0;
		int r = sk_http_parse(&c->parser, c->in + off, c->in_len - off, &used, &d);

		if (r < 0) {
			conn_fail(c, sk_http_error_status(r), sk_http_strerror(r));
			break;
		}
		if (r == SK_HTTP_HEAD)
			on_head(c, c->in + off, used);
		else if (r == SK_HTTP_DATA)
			on_data(c, d);
		off += used;
		if (r == SK_HTTP_DONE && c->building)
			dispatch(c, TAKE_PTR(c->building));
		if (r == SK_HTTP_AGAIN)
			break;
	}
	c->processing = false;
	if (c->dead) {
		conn_free(c);
		return;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	(void)conn_update(c);
}

static void conn_resume_cb(struct sk_loop *loop, void *userdata)
{
	struct conn *c = userdata;

	c->resume = NULL;
	conn_process(c);
}

static void conn_read(struct conn *c)
{
	ssize_t n;

	if (c->in_cap - c->in_len < READ_CHUNK) {
		c->in_cap = c->in_len + READ_CHUNK;
		c->in = sk_realloc(c->in, c->in_cap);
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	conn_process(c);
}

static void conn_io_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events,
		       void *userdata)
{
	struct conn *c = userdata;

	if (events & SK_LOOP_WRITE) {
		if (!conn_flush(c)) {
			conn_close(c);
			return;
		}
		if (!conn_update(c))
			return;
		if (c->cur && c->cur->drain_cb && c->cur->state == R_STREAMING &&
		    c->out_len - c->out_off <= c->srv->cfg.max_output / 2)
			c->cur->drain_cb(c->cur, c->cur->drain_data);
	}
	if (events & SK_LOOP_READ)
		conn_read(c);
	else if (events & (SK_LOOP_RDHUP | SK_LOOP_HUP | SK_LOOP_ERR))
		conn_close(c); /* hung up while a response is pending */
}

static void conn_idle_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct conn *c = userdata;

	if (!c->cur)
		conn_close(c);
}

static void listeners_pause(struct sk_api_server *srv, bool pause)
{
	for (size_t i = 0; i < srv->n_listeners; i++)
		(void)sk_loop_io_modify(srv->listeners[i]->io, pause ? 0 : SK_LOOP_READ, NULL);
}

static void response_closed_cb(struct sk_loop *loop, void *userdata)
{
	struct sk_api_response *r = userdata;

	r->close_defer = NULL;
	r->close_cb(r, r->close_data);
}

static void conn_close(struct conn *c)
{
	struct sk_api_server *srv = c->srv;
	struct sk_api_response *cur = c->cur;

	if (c->dead)
		return;
	c->dead = true;
	c->cur = NULL;
	if (cur) {
		cur->conn = NULL;
		if (cur->close_cb)
			cur->close_defer = sk_loop_defer(srv->loop, response_closed_cb, cur);
	}
	sk_loop_io_remove(TAKE_PTR(c->io));
	sk_loop_timer_remove(TAKE_PTR(c->idle));
	sk_loop_defer_cancel(TAKE_PTR(c->resume));
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (srv->n_conns-- == srv->cfg.max_connections)
		listeners_pause(srv, false);
	if (!c->processing) /* else conn_process() frees it on its way out */
		conn_free(c);
}

static void conn_free(struct conn *c)
{
	response_free(c->building);
	sk_http_parser_release(&c->parser);
	free(c->in);
	free(c->out);
	free(c);
}

static void conn_new(struct sk_api_server *srv, int fd, bool tcp)
{
	struct conn *c = sk_new0(struct conn, 1);

	c->srv = srv;
	c->fd = fd;
	c->tcp = tcp;
	sk_http_parser_init(&c->parser, SK_HTTP_REQUEST, &srv->cfg.limits);
	if (sk_loop_io_add(srv->loop, fd, SK_LOOP_READ | SK_LOOP_RDHUP, conn_io_cb, c, &c->io,
			   NULL) < 0) {
		sk_http_parser_release(&c->parser);
		close(fd);
		free(c);
		return;
	}
	c->idle = sk_loop_timer_add(srv->loop, srv->cfg.idle_timeout_ns, 0, conn_idle_cb, c);
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;
	if (++srv->n_conns == srv->cfg.max_connections)
		listeners_pause(srv, true);
}

static void listener_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events,
			void *userdata)
{
	struct listener *l = userdata;

	while (l->srv->n_conns < l->srv->cfg.max_connections) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				sk_warn("accept on API socket: %s", strerror(errno));
			return;
		}
		conn_new(l->srv, cfd, l->tcp);
	}
}

/* ---- listeners ---- */

static int listener_add(struct sk_api_server *srv, int fd, bool tcp, struct listener **ret,
			struct sk_error **err)
{
	struct listener *l;
	int r;

	assert(srv->n_listeners < SK_ELEMENTSOF(srv->listeners));
	if (listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return sk_error_set(err, -r, "listen");
	}
	l = sk_new0(struct listener, 1);
	l->srv = srv;
	l->fd = fd;
	l->tcp = tcp;
	r = sk_loop_io_add(srv->loop, fd, SK_LOOP_READ, listener_cb, l, &l->io, err);
	if (r < 0) {
		close(fd);
		free(l);
		return r;
	}
	srv->listeners[srv->n_listeners++] = l;
	*ret = l;
	return 0;
}

static int sockaddr_un_set(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/*
 * Checks what is at `path`: 0 when nothing or a socket nobody listens on
 * (safe to replace), -EADDRINUSE when a server answers, -EEXIST for a
 * file that is not a socket.
 */
static int check_stale(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	r = sockaddr_un_set(&sa, path);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? -EADDRINUSE : 0;
	if (r == 0 && errno != ECONNREFUSED && errno != ENOENT)
		r = -errno; /* e.g. EAGAIN: a full backlog still means alive */
	close(fd);
	return r == -EAGAIN ? -EADDRINUSE : r;
}

/* Binds a 0600 socket in a fresh 0700 directory next to `path` and renames it over. */
static int bind_atomic(int fd, const char *path, struct sk_error **err)
{
	_cleanup_free_ char *dir = sk_strdup(path), *tmpdir = NULL, *tmp = NULL;
	struct sockaddr_un sa;
	char *slash = strrchr(dir, '/');
	int r;

	if (slash)
		slash[slash == dir ? 1 : 0] = '\0';
	tmpdir = sk_asprintf("%s/.skiff-sock-XXXXXX", slash ? dir : ".");
	if (!mkdtemp(tmpdir))
		return sk_error_errno(err, "create temporary directory for '%s'", path);
	tmp = sk_asprintf("%s/s", tmpdir);
	r = sockaddr_un_set(&sa, tmp);
	if (r == 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	if (r == 0 && chmod(tmp, 0600) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	(void)unlink(tmp);
	(void)rmdir(tmpdir);
	if (r < 0)
		return sk_error_set(err, -r, "bind unix socket '%s'", path);
	return 0;
}

int sk_api_server_listen_unix(struct sk_api_server *srv, const char *path, struct sk_error **err)
{
	struct listener *l = NULL;
	struct stat st;
	int fd, r;

	r = check_stale(path);
	if (r == -EADDRINUSE)
		return sk_error_set(err, EADDRINUSE, "'%s' is in use by a running server", path);
	if (r < 0)
		return sk_error_set(err, -r, "replace '%s'", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sk_error_errno(err, "create unix socket");
	r = bind_atomic(fd, path, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = listener_add(srv, fd, false, &l, err);
	if (r < 0) {
		(void)unlink(path);
		sk_error_prefix(err, "'%s'", path);
		return r;
	}
	l->path = sk_strdup(path);
	if (lstat(path, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	return 0;
}

int sk_api_server_listen_tcp(struct sk_api_server *srv, const char *addr, uint16_t port,
			     uint16_t *ret_port, struct sk_error **err)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	struct listener *l = NULL;
	int fd, one = 1, r;

	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		return sk_error_set(err, EINVAL, "invalid listen address '%s'", addr);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sk_error_errno(err, "create TCP socket");
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		r = sk_error_errno(err, "bind %s port %u", addr, (unsigned)port);
		close(fd);
		return r;
	}
	r = listener_add(srv, fd, true, &l, err);
	if (r < 0)
		return r;
	if (ret_port)
		*ret_port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
	return 0;
}

/* Removes the socket file only if it is still the one we created. */
static void listener_free(struct listener *l)
{
	struct stat st;

	sk_loop_io_remove(l->io);
	close(l->fd);
	if (l->path && lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		(void)unlink(l->path);
	free(l->path);
	free(l);
}

/* ---- server ---- */

struct sk_api_server *sk_api_server_new(struct sk_loop *loop,
					const struct sk_api_server_config *cfg)
{
	struct sk_api_server *srv = sk_new0(struct sk_api_server, 1);
	struct sk_api_server_config *c = &srv->cfg;

	srv->loop = loop;
	if (cfg)
		*c = *cfg;
	if (!c->max_connections)
		c->max_connections = 128;
	if (!c->max_body)
		c->max_body = 1 << 20;
	if (!c->max_output)
		c->max_output = 4 << 20;
	if (!c->idle_timeout_ns)
		c->idle_timeout_ns = 60ull * 1000000000ull;
	if (!c->limits.max_line || !c->limits.max_headers || !c->limits.max_head)
		c->limits = SK_HTTP_LIMITS_DEFAULT;
	return srv;
}

void sk_api_server_free(struct sk_api_server *srv)
{
	if (!srv)
		return;
	for (size_t i = 0; i < srv->n_listeners; i++)
		listener_free(srv->listeners[i]);
	srv->n_listeners = 0;
	while (srv->conns)
		conn_close(srv->conns);
	for (size_t i = 0; i < srv->n_routes; i++) {
		free(srv->routes[i].method);
		sk_strv_free(srv->routes[i].segs);
	}
	free(srv->routes);
	free(srv);
}

size_t sk_api_server_connections(const struct sk_api_server *srv)
{
	return srv->n_conns;
}
