/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api-client.c - the blocking API client declared in api-client.h.
 *
 * A request is written whole, then the response is read into a growing
 * buffer and fed to the HTTP parser until SK_HTTP_DONE (or EOF for a body
 * delimited by close).  A reused keep-alive connection that turns out to be
 * closed before any response byte arrives is reopened and the request sent
 * once more; skiffd closes idle connections only between requests.
 */
#include "api-client.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/http.h"
#include "base/util.h"

struct sk_api_client {
	char *path;
	int fd;
	unsigned timeout_ms;
	char *buf; /* unparsed response bytes */
	size_t len, cap;
};

void sk_api_reply_release(struct sk_api_reply *reply)
{
	free(reply->content_type);
	free(reply->body);
	memset(reply, 0, sizeof(*reply));
}

static void set_timeouts(struct sk_api_client *c)
{
	struct timeval tv = { .tv_sec = c->timeout_ms / 1000,
			      .tv_usec = (c->timeout_ms % 1000) * 1000 };

	if (c->fd < 0)
		return;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int client_connect(struct sk_api_client *c, struct sk_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(c->path) >= sizeof(sa.sun_path))
		return sk_error_set(err, ENAMETOOLONG, "connect to '%s'", c->path);
	strcpy(sa.sun_path, c->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sk_error_errno(err, "create unix socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = sk_error_errno(err, "connect to '%s'", c->path);
		close(fd);
		return r;
	}
	c->fd = fd;
	c->len = 0;
	set_timeouts(c);
	return 0;
}

static void client_disconnect(struct sk_api_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

int sk_api_client_new(const char *path, struct sk_api_client **ret, struct sk_error **err)
{
	struct sk_api_client *c = sk_new0(struct sk_api_client, 1);
	int r;

	c->path = sk_strdup(path);
	c->fd = -1;
	r = client_connect(c, err);
	if (r < 0) {
		sk_api_client_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void sk_api_client_free(struct sk_api_client *c)
{
	if (!c)
		return;
	client_disconnect(c);
	free(c->path);
	free(c->buf);
	free(c);
}

void sk_api_client_set_timeout(struct sk_api_client *c, unsigned timeout_ms)
{
	c->timeout_ms = timeout_ms;
	set_timeouts(c);
}

static int send_request(struct sk_api_client *c, const char *method, const char *path,
			const char *content_type, const void *body, size_t len)
{
	_cleanup_free_ char *head = NULL;

	if (body || len)
		head = sk_asprintf("%s %s HTTP/1.1\r\nHost: skiffd\r\nUser-Agent: skiff\r\n"
				   "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
				   method, path, content_type ? content_type : "application/json",
				   len);
	else
		head = sk_asprintf("%s %s HTTP/1.1\r\nHost: skiffd\r\nUser-Agent: skiff\r\n\r\n",
				   method, path);
	/* MSG_NOSIGNAL: a closed connection is an error to retry, not SIGPIPE. */
	for (size_t off = 0, n = strlen(head); off < n;) {
		ssize_t w = send(c->fd, head + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = send(c->fd, (const char *)body + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

/* Reads more bytes into c->buf; returns the count, 0 at EOF, or a negative errno. */
static ssize_t fill(struct sk_api_client *c)
{
	ssize_t n;

	if (c->cap - c->len < 16384) {
		c->cap = c->len + 65536;
		c->buf = sk_realloc(c->buf, c->cap);
	}
	do
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	c->len += (size_t)n;
	return n;
}

struct body_sink {
	sk_api_chunk_cb cb;
	void *userdata;
	char *body;
	size_t len;
};

static int sink_data(struct body_sink *s, struct sk_http_str d)
{
	if (s->cb)
		return s->cb(d.p, d.len, s->userdata) ? -ECANCELED : 0;
	s->body = sk_realloc(s->body, s->len + d.len + 1);
	memcpy(s->body + s->len, d.p, d.len);
	s->len += d.len;
	s->body[s->len] = '\0';
	return 0;
}

/* Drops the first n buffered bytes. */
static void consume(struct sk_api_client *c, size_t n)
{
	if (n == 0)
		return;
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static void take_head(const struct sk_http_msg *m, struct sk_api_reply *reply)
{
	const struct sk_http_header *ct = sk_http_msg_header(m, "content-type");

	reply->status = m->status;
	free(reply->content_type);
	reply->content_type = ct ? sk_strndup(ct->value.p, ct->value.len) : NULL;
}

/*
 * Reads one response (skipping 1xx).  *ret_keep says whether the
 * connection can be reused; *ret_got whether any byte arrived.
 */
static int read_response(struct sk_api_client *c, struct sk_http_parser *p, struct body_sink *s,
			 struct sk_api_reply *reply, bool *ret_keep, bool *ret_got)
{
	size_t off = 0;

	for (;;) {
		struct sk_http_str d;
		size_t used = 0;
		int r = sk_http_parse(p, c->buf + off, c->len - off, &used, &d);
		ssize_t n;

		if (r < 0)
			return -EPROTO;
		off += used;
		if (r == SK_HTTP_HEAD) {
			take_head(&p->msg, reply);
			*ret_keep = p->msg.flags & SK_HTTP_F_KEEP_ALIVE;
		} else if (r == SK_HTTP_DATA) {
			int k = sink_data(s, d);
			if (k < 0)
				return k;
		} else if (r == SK_HTTP_DONE && reply->status >= 200) {
			consume(c, off);
			return 0;
		}
		if (r != SK_HTTP_AGAIN)
			continue;
		consume(c, off);
		off = 0;
		n = fill(c);
		if (n < 0)
			return (int)n;
		if (n > 0) {
			*ret_got = true;
			continue;
		}
		r = sk_http_parse_eof(p);
		*ret_keep = false;
		if (r == SK_HTTP_DONE)
			return 0;
		return *ret_got ? -EPROTO : -ECONNRESET;
	}
}

static int attempt(struct sk_api_client *c, const char *method, const char *path,
		   const char *content_type, const void *body, size_t len, struct body_sink *s,
		   struct sk_api_reply *reply, bool *ret_got)
{
	struct sk_http_parser p;
	bool keep = false;
	int r;

	r = send_request(c, method, path, content_type, body, len);
	if (r < 0)
		return r;
	sk_http_parser_init(&p, SK_HTTP_RESPONSE, NULL);
	if (strcmp(method, "HEAD") == 0)
		sk_http_parser_skip_body(&p);
	r = read_response(c, &p, s, reply, &keep, ret_got);
	sk_http_parser_release(&p);
	if (r < 0 || !keep)
		client_disconnect(c);
	return r;
}

int sk_api_client_request(struct sk_api_client *c, const char *method, const char *path,
			  const char *content_type, const void *body, size_t len,
			  sk_api_chunk_cb on_chunk, void *userdata, struct sk_api_reply *ret,
			  struct sk_error **err)
{
	struct sk_api_reply reply = { 0 };
	struct body_sink s = { .cb = on_chunk, .userdata = userdata };
	bool reused = c->fd >= 0, got = false;
	int r;

	if (c->fd < 0 && (r = client_connect(c, err)) < 0)
		return r;
	r = attempt(c, method, path, content_type, body, len, &s, &reply, &got);
	if (r < 0 && reused && !got && (r == -EPIPE || r == -ECONNRESET)) {
		/* the server closed the idle connection: once more on a new one */
		free(s.body);
		s.body = NULL;
		s.len = 0;
		if ((r = client_connect(c, err)) < 0) {
			sk_api_reply_release(&reply);
			return r;
		}
		r = attempt(c, method, path, content_type, body, len, &s, &reply, &got);
	}
	if (r < 0) {
		free(s.body);
		sk_api_reply_release(&reply);
		return sk_error_set(err, -r, "%s %s via '%s'", method, path, c->path);
	}
	reply.body = s.body ? s.body : sk_strdup("");
	reply.body_len = s.len;
	*ret = reply;
	return 0;
}

static int status_errno(int status)
{
	switch (status) {
	case 400:
		return EINVAL;
	case 404:
		return ENOENT;
	case 409:
		return EEXIST;
	case 413:
		return EMSGSIZE;
	case 423:
	case 503:
		return EBUSY;
	default:
		return EIO;
	}
}

int sk_api_client_call(struct sk_api_client *c, const char *method, const char *path, json_t *body,
		       json_t **ret_json, struct sk_error **err)
{
	_cleanup_free_ char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct sk_api_reply reply = { 0 };
	json_t *j = NULL;
	json_error_t jerr;
	int r;

	r = sk_api_client_request(c, method, path, "application/json", s, s ? strlen(s) : 0, NULL,
				  NULL, &reply, err);
	if (r < 0)
		return r;
	if (reply.body_len > 0)
		j = json_loadb(reply.body, reply.body_len, 0, &jerr);
	if (reply.status < 200 || reply.status > 299) {
		const char *msg = json_string_value(json_object_get(j, "error"));
		int code = status_errno(reply.status);
		/* the server's message stands alone: no strerror() appended */
		(void)sk_error_set(err, 0, "%s %s: %s", method, path,
				   msg ? msg : sk_http_reason(reply.status));
		if (err && *err && !(*err)->code)
			(*err)->code = code;
		r = -code;
	} else if (reply.body_len > 0 && !j) {
		r = sk_error_set(err, EPROTO, "%s %s: invalid JSON in response: %s", method, path,
				 jerr.text);
	} else if (ret_json) {
		*ret_json = TAKE_PTR(j);
	}
	json_decref(j);
	sk_api_reply_release(&reply);
	return r;
}
