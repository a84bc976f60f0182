/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-http.c - the HTTP/1.1 parser: requests and responses, bodies
 * (Content-Length, chunked with extensions and trailers, until close),
 * keep-alive rules, Expect, pipelining, limits, and one distinct error per
 * request-smuggling rule.  Every case also runs fed byte by byte and in
 * uneven pieces, and must produce the same transcript as one-shot parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/http.h"

/* What a parse produced, as text, so one-shot and incremental runs compare. */
struct run {
	int rc; /* first error, or 0 */
	int msgs;
	size_t leftover;
	unsigned flags; /* of the last head */
	int status;
	char log[4096];
	char body[4096];
	size_t body_len;
};

static void logf_(struct run *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct run *o, const char *fmt, ...)
{
	size_t n = strlen(o->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->log + n, sizeof(o->log) - n, fmt, ap);
	va_end(ap);
}

static void record_head(struct run *o, const struct sk_http_msg *m)
{
	if (m->method.len)
		logf_(o, "H %.*s %.*s", (int)m->method.len, m->method.p, (int)m->target.len,
		      m->target.p);
	else
		logf_(o, "H %d '%.*s'", m->status, (int)m->reason.len, m->reason.p);
	logf_(o, " 1.%d f=%x cl=%llu", m->version_minor, m->flags,
	      (unsigned long long)m->content_length);
	for (size_t i = 0; i < m->n_headers; i++)
		logf_(o, " [%.*s=%.*s]", (int)m->headers[i].name.len, m->headers[i].name.p,
		      (int)m->headers[i].value.len, m->headers[i].value.p);
	logf_(o, "\n");
	o->flags = m->flags;
	o->status = m->status;
}

/* Runs the parser over buf[0..have), recording events; returns false on error. */
static bool pump(struct sk_http_parser *p, char *buf, size_t *have, struct run *o)
{
	for (;;) {
		struct sk_http_str d = { 0 };
		size_t c = 0;
		int r = sk_http_parse(p, buf, *have, &c, &d);

		assert_true(c <= *have);
		if (r < 0) {
			o->rc = r;
			return false;
		}
		if (r == SK_HTTP_HEAD)
			record_head(o, &p->msg);
		if (r == SK_HTTP_DATA) {
			assert_true(d.len > 0 && d.p >= buf && d.p + d.len <= buf + *have);
			assert_true(o->body_len + d.len <= sizeof(o->body));
			memcpy(o->body + o->body_len, d.p, d.len);
			o->body_len += d.len;
		}
		if (r == SK_HTTP_DONE) {
			logf_(o, "B %zu '%.*s'\n", o->body_len, (int)o->body_len, o->body);
			o->body_len = 0;
			o->msgs++;
		}
		memmove(buf, buf + c, *have - c);
		*have -= c;
		if (r == SK_HTTP_AGAIN)
			return true;
	}
}

/* Feeds `in` in pieces of `step` bytes (0: all at once). */
static struct run feed(enum sk_http_kind kind, const char *in, size_t len, size_t step,
		       const struct sk_http_limits *lim, bool eof)
{
	struct sk_http_parser p;
	struct run o = { 0 };
	char *buf = malloc(len + 1);
	size_t have = 0, fed = 0;

	sk_http_parser_init(&p, kind, lim);
	do {
		size_t n = step && step < len - fed ? step : len - fed;
		memcpy(buf + have, in + fed, n);
		have += n;
		fed += n;
		if (!pump(&p, buf, &have, &o))
			break;
	} while (fed < len);
	if (o.rc == 0 && eof) {
		int r = sk_http_parse_eof(&p);
		if (r < 0)
			o.rc = r;
		else if (r == SK_HTTP_DONE)
			logf_(&o, "B %zu '%.*s' (eof)\n", o.body_len, (int)o.body_len, o.body),
			    o.msgs++;
	}
	o.leftover = have;
	sk_http_parser_release(&p);
	free(buf);
	return o;
}

/* Parses one-shot, byte by byte and in 7-byte pieces; all must agree. */
static struct run parse_kind(enum sk_http_kind kind, const char *in, bool eof)
{
	size_t len = strlen(in);
	struct run a = feed(kind, in, len, 0, NULL, eof);
	size_t steps[] = { 1, 2, 7, 64 };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct run b = feed(kind, in, len, steps[i], NULL, eof);
		assert_int_equal(a.rc, b.rc);
		assert_string_equal(a.log, b.log);
		assert_int_equal(a.msgs, b.msgs);
		if (a.rc == 0)
			assert_int_equal(a.leftover, b.leftover);
	}
	return a;
}

static struct run req(const char *in)
{
	return parse_kind(SK_HTTP_REQUEST, in, false);
}

static struct run resp(const char *in, bool eof)
{
	return parse_kind(SK_HTTP_RESPONSE, in, eof);
}

/* ---- valid requests ---- */

static void test_get(void **state)
{
	struct run o = req("GET /v1/apps?all=1 HTTP/1.1\r\nHost: skiff\r\nUser-Agent: t \r\n"
			   "X-Empty:\r\n\r\n");

	assert_int_equal(o.rc, 0);
	assert_int_equal(o.msgs, 1);
	assert_string_equal(o.log, "H GET /v1/apps?all=1 1.1 f=1 cl=0 [Host=skiff] [User-Agent=t] "
				   "[X-Empty=]\nB 0 ''\n");
	assert_int_equal(o.flags, SK_HTTP_F_KEEP_ALIVE);
}

static void test_content_length_body(void **state)
{
	struct run o = req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world");

	assert_int_equal(o.rc, 0);
	assert_int_equal(o.msgs, 1);
	assert_non_null(strstr(o.log, "B 11 'hello world'"));
	assert_true(o.flags & SK_HTTP_F_CONTENT_LENGTH);
	assert_true(o.flags & SK_HTTP_F_BODY);
	/* zero length: no body events */
	o = req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(o.msgs, 1);
	assert_false(o.flags & SK_HTTP_F_BODY);
}

static void test_chunked(void **state)
{
	struct run o = req("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
			   "5;name=val;q=\"a \\\" b\"\r\nhello\r\n"
			   "6 ; ext\r\n world\r\n"
			   "A\r\n0123456789\r\n"
			   "0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n");

	assert_int_equal(o.rc, 0);
	assert_int_equal(o.msgs, 1);
	assert_non_null(strstr(o.log, "B 21 'hello world0123456789'"));
	assert_true(o.flags & SK_HTTP_F_CHUNKED);
	/* no trailers */
	o = req("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.msgs, 1);
}

static void test_pipelined(void **state)
{
	const char *in = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
			 "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
			 "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "2\r\nxy\r\n0\r\n\r\n"
			 "GET /4 HTTP/1.1\r\nHost: a\r\n\r\n"
			 "GET /5 HTTP/1.1\r\nHo";
	struct run o = req(in);
	struct sk_http_parser p;
	size_t c, off = 0;
	int r;

	assert_int_equal(o.rc, 0);
	assert_int_equal(o.msgs, 4);
	assert_int_equal(o.leftover, strlen("GET /5 HTTP/1.1\r\nHo"));
	assert_non_null(strstr(o.log, "B 3 'abc'"));
	assert_non_null(strstr(o.log, "B 2 'xy'"));

	/* consumed reports exactly where the first message ends */
	sk_http_parser_init(&p, SK_HTTP_REQUEST, NULL);
	r = sk_http_parse(&p, in, strlen(in), &c, NULL);
	assert_int_equal(r, SK_HTTP_HEAD);
	assert_int_equal(c, strlen("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"));
	off += c;
	r = sk_http_parse(&p, in + off, strlen(in) - off, &c, NULL);
	assert_int_equal(r, SK_HTTP_DONE);
	assert_int_equal(c, 0);
	assert_true(sk_http_msg_header(&p.msg, "HOST") != NULL);
	assert_null(sk_http_msg_header(&p.msg, "content-length"));
	sk_http_parser_release(&p);
}

static void test_keep_alive_rules(void **state)
{
	assert_true(req("GET / HTTP/1.1\r\nHost: a\r\n\r\n").flags & SK_HTTP_F_KEEP_ALIVE);
	assert_false(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").flags &
		     SK_HTTP_F_KEEP_ALIVE);
	assert_false(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n").flags &
		     SK_HTTP_F_KEEP_ALIVE);
	assert_false(req("GET / HTTP/1.0\r\n\r\n").flags & SK_HTTP_F_KEEP_ALIVE);
	assert_true(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").flags &
		    SK_HTTP_F_KEEP_ALIVE);
	assert_false(
	    req("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n").flags &
	    SK_HTTP_F_KEEP_ALIVE);
	assert_true(
	    req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: ws\r\n\r\n").flags &
	    SK_HTTP_F_UPGRADE);
	/* HTTP/1.0 needs no Host; HTTP/1.1 does */
	assert_int_equal(req("GET / HTTP/1.0\r\n\r\n").rc, 0);
}

static void test_expect_continue(void **state)
{
	const char *in =
	    "PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n";
	struct sk_http_parser p;
	size_t c;

	sk_http_parser_init(&p, SK_HTTP_REQUEST, NULL);
	assert_int_equal(sk_http_parse(&p, in, strlen(in), &c, NULL), SK_HTTP_HEAD);
	assert_true(p.msg.flags & SK_HTTP_F_EXPECT_CONTINUE);
	/* the body has not arrived yet: the server may now send 100 Continue */
	assert_int_equal(sk_http_parse(&p, in + c, 0, &c, NULL), SK_HTTP_AGAIN);
	assert_true(sk_http_parser_in_body(&p));
	sk_http_parser_release(&p);
	assert_false(req("PUT /x HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").flags &
		     SK_HTTP_F_EXPECT_CONTINUE);
}

static void test_leading_crlf(void **state)
{
	struct run o = req("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");

	assert_int_equal(o.rc, 0);
	assert_int_equal(o.msgs, 1);
}

/* ---- request smuggling and malformed input: one code per rule ---- */

struct bad {
	const char *in;
	int code;
};

static const struct bad bad_requests[] = {
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	  SK_HTTP_E_CL_AND_TE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	  SK_HTTP_E_CL_AND_TE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
	  SK_HTTP_E_CL_MULTIPLE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
	  SK_HTTP_E_CL_MULTIPLE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", SK_HTTP_E_CL_MULTIPLE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n", SK_HTTP_E_CL_INVALID },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\n", SK_HTTP_E_CL_INVALID },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", SK_HTTP_E_CL_INVALID },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
	  SK_HTTP_E_CL_INVALID },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
	  SK_HTTP_E_TE_NOT_CHUNKED },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
	  SK_HTTP_E_TE_NOT_CHUNKED },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
	  "x\r\n\r\n",
	  SK_HTTP_E_TE_NOT_CHUNKED },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
	  SK_HTTP_E_TE_NOT_CHUNKED },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	  SK_HTTP_E_TE_INVALID },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
	  SK_HTTP_E_TE_INVALID },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", SK_HTTP_E_TE_HTTP10 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
	  SK_HTTP_E_CHUNK_OVERFLOW },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1g\r\n",
	  SK_HTTP_E_CHUNK_SIZE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
	  SK_HTTP_E_CHUNK_SIZE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
	  SK_HTTP_E_CHUNK_SIZE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n",
	  SK_HTTP_E_CHUNK_SIZE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\n",
	  SK_HTTP_E_CHUNK_SIZE },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;\r\n",
	  SK_HTTP_E_CHUNK_EXT },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"x\r\n",
	  SK_HTTP_E_CHUNK_EXT },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
	  SK_HTTP_E_CHUNK_CRLF },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA(B: "
	  "c\r\n\r\n",
	  SK_HTTP_E_HEADER_NAME },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n", SK_HTTP_E_OBS_FOLD },
	{ "GET / HTTP/1.1\r\n Host: a\r\n\r\n", SK_HTTP_E_OBS_FOLD },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\n\r\n", SK_HTTP_E_BARE_LF },
	{ "GET / HTTP/1.1\nHost: a\r\n\r\n", SK_HTTP_E_BARE_LF },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", SK_HTTP_E_HEADER_VALUE },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01"
	  "b\r\n\r\n",
	  SK_HTTP_E_HEADER_VALUE },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", SK_HTTP_E_HEADER_VALUE },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n", SK_HTTP_E_SPACE_BEFORE_COLON },
	{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n",
	  SK_HTTP_E_SPACE_BEFORE_COLON },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", SK_HTTP_E_HEADER_NAME },
	{ "GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n", SK_HTTP_E_HEADER_NAME },
	{ "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", SK_HTTP_E_HEADER_NAME },
	{ "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", SK_HTTP_E_METHOD },
	{ " GET / HTTP/1.1\r\nHost: a\r\n\r\n", SK_HTTP_E_METHOD },
	{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", SK_HTTP_E_TARGET },
	{ "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", SK_HTTP_E_TARGET },
	{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", SK_HTTP_E_VERSION },
	{ "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", SK_HTTP_E_VERSION },
	{ "GET / http/1.1\r\nHost: a\r\n\r\n", SK_HTTP_E_VERSION },
	{ "GET / HTTP/1.1\r\n\r\n", SK_HTTP_E_HOST },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", SK_HTTP_E_HOST },
};

static void test_bad_requests(void **state)
{
	bool seen[64] = { 0 };

	for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++) {
		struct run o = req(bad_requests[i].in);
		if (o.rc != bad_requests[i].code)
			fail_msg("case %zu: got %d (%s), want %d", i, o.rc, sk_http_strerror(o.rc),
				 bad_requests[i].code);
		assert_int_equal(o.msgs, 0);
		seen[-o.rc] = true;
		assert_int_equal(sk_http_error_status(o.rc), o.rc == SK_HTTP_E_VERSION ? 505 : 400);
	}
	/* every smuggling rule has its own code */
	int rules[] = { SK_HTTP_E_CL_AND_TE,	  SK_HTTP_E_CL_MULTIPLE,
			SK_HTTP_E_CL_INVALID,	  SK_HTTP_E_TE_NOT_CHUNKED,
			SK_HTTP_E_TE_INVALID,	  SK_HTTP_E_TE_HTTP10,
			SK_HTTP_E_CHUNK_OVERFLOW, SK_HTTP_E_CHUNK_SIZE,
			SK_HTTP_E_CHUNK_EXT,	  SK_HTTP_E_CHUNK_CRLF,
			SK_HTTP_E_OBS_FOLD,	  SK_HTTP_E_BARE_LF,
			SK_HTTP_E_HEADER_VALUE,	  SK_HTTP_E_SPACE_BEFORE_COLON,
			SK_HTTP_E_HEADER_NAME,	  SK_HTTP_E_METHOD };
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		assert_true(seen[-rules[i]]);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(rules[i], rules[j]);
	}
}

static void test_error_is_sticky(void **state)
{
	const char *in = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
	struct sk_http_parser p;
	size_t c = 99;

	sk_http_parser_init(&p, SK_HTTP_REQUEST, NULL);
	assert_int_equal(sk_http_parse(&p, in, strlen(in), &c, NULL), SK_HTTP_E_HOST);
	assert_int_equal(c, 0);
	assert_int_equal(sk_http_parse(&p, "GET", 3, &c, NULL), SK_HTTP_E_STATE);
	assert_int_equal(sk_http_parse_eof(&p), SK_HTTP_E_STATE);
	sk_http_parser_reset(&p);
	in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	assert_int_equal(sk_http_parse(&p, in, strlen(in), &c, NULL), SK_HTTP_HEAD);
	sk_http_parser_release(&p);
}

/* ---- limits ---- */

static void test_limits(void **state)
{
	struct sk_http_limits lim = { .max_line = 32, .max_headers = 3, .max_head = 128 };
	const char *ok = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
	const char *many = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	const char *longline =
	    "GET / HTTP/1.1\r\nHost: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	const char *longpartial = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	char big[400];
	struct run o;

	for (size_t step = 0; step < 3; step++) {
		o = feed(SK_HTTP_REQUEST, ok, strlen(ok), step, &lim, false);
		assert_int_equal(o.rc, 0);
		o = feed(SK_HTTP_REQUEST, many, strlen(many), step, &lim, false);
		assert_int_equal(o.rc, SK_HTTP_E_TOO_MANY_HEADERS);
		o = feed(SK_HTTP_REQUEST, longline, strlen(longline), step, &lim, false);
		assert_int_equal(o.rc, SK_HTTP_E_LINE_TOO_LONG);
		/* detected before the line ends */
		o = feed(SK_HTTP_REQUEST, longpartial, strlen(longpartial), step, &lim, false);
		assert_int_equal(o.rc, SK_HTTP_E_LINE_TOO_LONG);
	}
	strcpy(big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 8; i++)
		strcat(big, "Xxxxxxxxxxxxxxxx: yyyyyyy\r\n");
	lim.max_headers = 100;
	o = feed(SK_HTTP_REQUEST, big, strlen(big), 1, &lim, false);
	assert_int_equal(o.rc, SK_HTTP_E_HEAD_TOO_LARGE);
	assert_int_equal(sk_http_error_status(o.rc), 431);
	/* a chunk-size line with a huge extension */
	lim.max_head = 4096;
	const char *ext = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=b\r\n";
	lim.max_line = 40;
	o = feed(SK_HTTP_REQUEST, ext, strlen(ext), 0, &lim, false);
	assert_int_equal(o.rc, SK_HTTP_E_LINE_TOO_LONG);
}

/* ---- responses ---- */

static void test_responses(void **state)
{
	struct run o = resp("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", false);

	assert_int_equal(o.rc, 0);
	assert_int_equal(o.status, 200);
	assert_non_null(strstr(o.log, "B 2 'hi'"));

	o = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
		 false);
	assert_int_equal(o.msgs, 1);
	assert_non_null(strstr(o.log, "B 2 'ab'"));

	/* until close: no keep-alive, ended by eof */
	o = resp("HTTP/1.1 200 OK\r\n\r\nstream of bytes", true);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.msgs, 1);
	assert_true(o.flags & SK_HTTP_F_BODY_TO_EOF);
	assert_false(o.flags & SK_HTTP_F_KEEP_ALIVE);
	assert_non_null(strstr(o.log, "'stream of bytes' (eof)"));

	/* 100 Continue, then the final response; 204 and 304 carry no body */
	o = resp("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
		 "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
		 "HTTP/1.0 200\r\nContent-Length: 1\r\n\r\nx",
		 false);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.msgs, 4);
	assert_non_null(strstr(o.log, "H 200 '' 1.0"));

	assert_int_equal(resp("HTTP/1.1 20 OK\r\n\r\n", false).rc, SK_HTTP_E_STATUS);
	assert_int_equal(resp("HTTP/1.1 200OK\r\n\r\n", false).rc, SK_HTTP_E_STATUS);
	assert_int_equal(resp("HTTP/1.1 200 O\x01K\r\n\r\n", false).rc, SK_HTTP_E_STATUS);
	assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: "
			      "chunked\r\n\r\n",
			      false)
			     .rc,
			 SK_HTTP_E_CL_AND_TE);
	/* truncated bodies */
	assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true).rc,
			 SK_HTTP_E_TRUNCATED);
	assert_int_equal(
	    resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true).rc,
	    SK_HTTP_E_TRUNCATED);
	assert_int_equal(resp("HTTP/1.1 200 O", true).rc, SK_HTTP_E_TRUNCATED);
}

static void test_response_to_head(void **state)
{
	const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\n"
			 "Content-Length: 1\r\n\r\nz";
	struct sk_http_parser p;
	size_t c, off = 0;

	sk_http_parser_init(&p, SK_HTTP_RESPONSE, NULL);
	sk_http_parser_skip_body(&p);
	assert_int_equal(sk_http_parse(&p, in, strlen(in), &c, NULL), SK_HTTP_HEAD);
	assert_int_equal(p.msg.content_length, 100);
	off += c;
	assert_int_equal(sk_http_parse(&p, in + off, strlen(in) - off, &c, NULL), SK_HTTP_DONE);
	off += c;
	/* only the one response: the next has its body */
	assert_int_equal(sk_http_parse(&p, in + off, strlen(in) - off, &c, NULL), SK_HTTP_HEAD);
	off += c;
	assert_int_equal(sk_http_parse(&p, in + off, strlen(in) - off, &c, NULL), SK_HTTP_DATA);
	sk_http_parser_release(&p);
}

static void test_eof_between_messages(void **state)
{
	struct sk_http_parser p;

	sk_http_parser_init(&p, SK_HTTP_REQUEST, NULL);
	assert_int_equal(sk_http_parse_eof(&p), SK_HTTP_AGAIN);
	sk_http_parser_release(&p);
	assert_string_equal(sk_http_strerror(SK_HTTP_E_CL_AND_TE),
			    "both content-length and transfer-encoding");
	assert_string_equal(sk_http_strerror(-999), "unknown HTTP parser error");
	assert_string_equal(sk_http_reason(404), "Not Found");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_content_length_body),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_keep_alive_rules),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_leading_crlf),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_error_is_sticky),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_response_to_head),
		cmocka_unit_test(test_eof_between_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
