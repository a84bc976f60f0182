/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http-head.c - rewriting message heads on the way through the proxy:
 * hop-by-hop fields (Connection and the fields it names, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Upgrade) are dropped, framing is written
 * anew (Content-Length, or chunked when the length is unknown and the
 * client speaks HTTP/1.1), X-Forwarded-For/-Proto are added to requests
 * and x-skiff-upstream to responses.  A request forwarded as an upgrade
 * (s->upgrade) keeps its Upgrade fields and gets `Connection: upgrade`, and
 * so does the 101 that answers it.  Nothing here does i/o.
 */
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "proxy/http-internal.h"

/* ---- header filtering ---- */

static bool slice_caseeq(struct sk_http_str a, struct sk_http_str b)
{
	return a.len == b.len && strncasecmp(a.p, b.p, a.len) == 0;
}

/* The field names listed by Connection headers (at most 16). */
struct conn_tokens {
	struct sk_http_str t[16];
	size_t n;
};

static void conn_tokens(const struct sk_http_msg *m, struct conn_tokens *ct)
{
	ct->n = 0;
	for (size_t i = 0; i < m->n_headers; i++) {
		struct sk_http_str v = m->headers[i].value;
		size_t a = 0;

		if (!sk_http_str_caseeq(m->headers[i].name, "connection"))
			continue;
		while (a < v.len && ct->n < SK_ELEMENTSOF(ct->t)) {
			size_t b = a;

			while (b < v.len && v.p[b] != ',')
				b++;
			size_t x = a, y = b;
			while (x < y && (v.p[x] == ' ' || v.p[x] == '\t'))
				x++;
			while (y > x && (v.p[y - 1] == ' ' || v.p[y - 1] == '\t'))
				y--;
			if (y > x)
				ct->t[ct->n++] = (struct sk_http_str){ v.p + x, y - x };
			a = b + 1;
		}
	}
}

/* True for hop-by-hop and framing fields the proxy drops or re-writes. */
static bool drop_field(struct sk_http_str name, const struct conn_tokens *ct)
{
	static const char *const hop[] = { "connection",	"keep-alive",
					   "proxy-connection",	"te",
					   "trailer",		"upgrade",
					   "transfer-encoding", "content-length" };

	for (size_t i = 0; i < SK_ELEMENTSOF(hop); i++)
		if (sk_http_str_caseeq(name, hop[i]))
			return true;
	for (size_t i = 0; i < ct->n; i++)
		if (slice_caseeq(name, ct->t[i]))
			return true;
	return false;
}

void sk_proxy_http_request_head(struct sk_proxy_sess *s, const struct sk_http_msg *m)
{
	struct conn_tokens ct;
	size_t est = m->method.len + m->target.len + 256 + 2 * sizeof(s->peer);
	bool xff = false;

	for (size_t i = 0; i < m->n_headers; i++)
		est += m->headers[i].name.len + m->headers[i].value.len + 4;
	conn_tokens(m, &ct);
	s->rbuf_len = s->up_sent = 0;
	(void)rbuf_room(s, est);
	rbuf_slice(s, m->method);
	rbuf_add(s, " ", 1);
	rbuf_slice(s, m->target);
	rbuf_str(s, " HTTP/1.1\r\n");
	for (size_t i = 0; i < m->n_headers; i++) {
		const struct sk_http_header *h = &m->headers[i];

		/* an upgrade keeps its Upgrade fields: the endpoint may switch protocols */
		bool keep = s->upgrade && sk_http_str_caseeq(h->name, "upgrade");

		if (!keep && (drop_field(h->name, &ct) || sk_http_str_caseeq(h->name, "expect") ||
			      sk_http_str_caseeq(h->name, "x-forwarded-proto") ||
			      sk_http_str_caseeq(h->name, "x-forwarded-for")))
			continue;
		rbuf_slice(s, h->name);
		rbuf_add(s, ": ", 2);
		rbuf_slice(s, h->value);
		rbuf_add(s, "\r\n", 2);
	}
	if (s->upgrade)
		rbuf_str(s, "Connection: upgrade\r\n");
	if (m->version_minor == 0 && !sk_http_msg_header(m, "host"))
		rbuf_str(s, "Host: \r\n"); /* RFC 9112 3.2: no authority, empty Host */
	/* X-Forwarded-For: the values the client sent, then the client */
	rbuf_str(s, "X-Forwarded-For: ");
	for (size_t i = 0; i < m->n_headers; i++)
		if (sk_http_str_caseeq(m->headers[i].name, "x-forwarded-for")) {
			if (xff)
				rbuf_add(s, ", ", 2);
			rbuf_slice(s, m->headers[i].value);
			xff = true;
		}
	if (xff)
		rbuf_add(s, ", ", 2);
	rbuf_str(s, s->peer);
	rbuf_str(s, "\r\nX-Forwarded-Proto: http\r\n");
	if (m->flags & SK_HTTP_F_CHUNKED) {
		rbuf_str(s, "Transfer-Encoding: chunked\r\n\r\n");
	} else if (m->flags & SK_HTTP_F_CONTENT_LENGTH) {
		char cl[48];
		int n = snprintf(cl, sizeof(cl), "Content-Length: %llu\r\n\r\n",
				 (unsigned long long)m->content_length);
		rbuf_add(s, cl, (size_t)n);
	} else {
		rbuf_add(s, "\r\n", 2);
	}
}

int sk_proxy_http_response_head(struct sk_proxy_sess *s, const struct sk_http_msg *m)
{
	struct conn_tokens ct;
	size_t est = m->reason.len + 256 + strlen(s->ep->id);
	bool body = m->flags & SK_HTTP_F_BODY;
	bool up = m->status == 101; /* switching: the connection becomes a tunnel */
	char line[64];
	int n;

	for (size_t i = 0; i < m->n_headers; i++)
		est += m->headers[i].name.len + m->headers[i].value.len + 4;
	if (out_room(s, est) < est)
		return -ENOBUFS;
	s->resp_chunked = s->resp_to_close = false;
	if (body && !(m->flags & SK_HTTP_F_CONTENT_LENGTH)) {
		if (s->version_minor >= 1)
			s->resp_chunked = true;
		else
			s->resp_to_close = true;
	}
	conn_tokens(m, &ct);
	n = snprintf(line, sizeof(line), "HTTP/1.1 %d ", m->status);
	out_add(s, line, (size_t)n);
	out_add(s, m->reason.p, m->reason.len);
	out_add(s, "\r\n", 2);
	for (size_t i = 0; i < m->n_headers; i++) {
		const struct sk_http_header *h = &m->headers[i];

		/* a 101 keeps Upgrade (the protocol switched to), and no Content-Length */
		bool keep = up ? sk_http_str_caseeq(h->name, "upgrade")
			       : !body && sk_http_str_caseeq(h->name, "content-length");

		if (!keep && drop_field(h->name, &ct))
			continue;
		out_add(s, h->name.p, h->name.len);
		out_add(s, ": ", 2);
		out_add(s, h->value.p, h->value.len);
		out_add(s, "\r\n", 2);
	}
	if (body && (m->flags & SK_HTTP_F_CONTENT_LENGTH)) {
		n = snprintf(line, sizeof(line), "Content-Length: %llu\r\n",
			     (unsigned long long)m->content_length);
		out_add(s, line, (size_t)n);
	} else if (s->resp_chunked) {
		out_add(s, "Transfer-Encoding: chunked\r\n", 28);
	}
	if (up) {
		out_add(s, "Connection: upgrade\r\n", 21);
	} else if (s->resp_to_close || !s->keep_alive || s->rq != SK_PROXY_RQ_DONE) {
		s->keep_alive = false;
		out_add(s, "Connection: close\r\n", 19);
	} else if (s->version_minor == 0) {
		out_add(s, "Connection: keep-alive\r\n", 24);
	}
	out_add(s, "x-skiff-upstream: ", 18);
	out_add(s, s->ep->id, strlen(s->ep->id));
	out_add(s, "\r\n\r\n", 4);
	return 0;
}
