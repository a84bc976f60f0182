/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - the strict incremental HTTP/1.1 parser declared in http.h.
 *
 * The head is parsed in two passes: a scan with memchr() for line ends
 * (checking CRLF, line length, line count and head size as bytes arrive,
 * resumable across calls), then, once the empty line is there, one pass
 * over the complete head with character-class tables.  Bodies are a small
 * state machine: Content-Length, chunked (size line, data, CRLF, trailers)
 * or, for responses, until the peer closes.
 */
#include "http.h"

#include <assert.h>
#include <string.h>

#include "error.h"

enum state {
	S_HEAD,
	S_NO_BODY, /* head returned, DONE next */
	S_BODY_CL,
	S_BODY_EOF,
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_CRLF,
	S_TRAILER,
	S_ERROR,
};

/* Character classes. */
enum { C_TOKEN = 1, C_VALUE = 2, C_TARGET = 4, C_HEX = 8, C_OWS = 16 };

#define V (C_VALUE | C_TARGET)		 /* visible, not a token character */
#define T (C_TOKEN | C_VALUE | C_TARGET) /* tchar (RFC 9110 section 5.6.2) */
#define H (T | C_HEX)
static const uint8_t cls[256] = {
	['\t'] = C_VALUE | C_OWS,
	[' '] = C_VALUE | C_OWS,
	['!'] = T,
	['"'] = V,
	['#' ... '\''] = T,
	['(' ... ')'] = V,
	['*' ... '+'] = T,
	[','] = V,
	['-' ... '.'] = T,
	['/'] = V,
	['0' ... '9'] = H,
	[':' ... '@'] = V,
	['A' ... 'F'] = H,
	['G' ... 'Z'] = T,
	['[' ... ']'] = V,
	['^' ... '`'] = T,
	['a' ... 'f'] = H,
	['g' ... 'z'] = T,
	['{'] = V,
	['|'] = T,
	['}'] = V,
	['~'] = T,
	[0x80 ... 0xff] = C_VALUE, /* obs-text: in values only */
};
#undef V
#undef T
#undef H

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static bool mem_caseeq(const char *a, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

bool sk_http_str_eq(struct sk_http_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.p, lit, n) == 0;
}

bool sk_http_str_caseeq(struct sk_http_str s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
			return false;
	return true;
}

/* ---- lifecycle ---- */

void sk_http_parser_init(struct sk_http_parser *p, enum sk_http_kind kind,
			 const struct sk_http_limits *limits)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->limits = limits ? *limits : SK_HTTP_LIMITS_DEFAULT;
	assert(p->limits.max_line > 0 && p->limits.max_headers > 0 && p->limits.max_head > 0);
	p->hdrs = sk_new0(struct sk_http_header, p->limits.max_headers);
	p->msg.headers = p->hdrs;
}

void sk_http_parser_release(struct sk_http_parser *p)
{
	free(p->hdrs);
	p->hdrs = NULL;
}

static void head_reset(struct sk_http_parser *p)
{
	p->state = S_HEAD;
	p->scan = p->line_start = p->lead = p->n_lines = 0;
}

void sk_http_parser_reset(struct sk_http_parser *p)
{
	head_reset(p);
	p->error = 0;
	p->no_body_next = false;
}

void sk_http_parser_skip_body(struct sk_http_parser *p)
{
	p->no_body_next = true;
}

bool sk_http_parser_in_body(const struct sk_http_parser *p)
{
	return p->state != S_HEAD && p->state != S_ERROR;
}

/* ---- head, pass 1: find the end, enforcing line rules and limits ---- */

/*
 * Returns 1 and sets *ret_end to the length of the head once its empty line
 * is in buf, 0 when more bytes are needed, or an error.  Only the first
 * max_head bytes are ever looked at, and each check is one that no later
 * byte could undo, so the result is the same however the input is split.
 */
static int scan_head(struct sk_http_parser *p, const char *buf, size_t len, size_t *ret_end)
{
	size_t lim = len < p->limits.max_head ? len : p->limits.max_head;
	size_t i = p->scan;

	while (i < lim) {
		const char *nl = memchr(buf + i, '\n', lim - i);
		size_t pos;

		if (!nl)
			break;
		pos = (size_t)(nl - buf);
		if (pos - p->line_start > p->limits.max_line + 1)
			return SK_HTTP_E_LINE_TOO_LONG;
		if (pos == 0 || buf[pos - 1] != '\r')
			return SK_HTTP_E_BARE_LF;
		i = pos + 1;
		if (pos - 1 == p->line_start) { /* an empty line */
			p->line_start = i;
			if (p->n_lines == 0) {
				p->lead = i; /* before the start line: skipped */
				continue;
			}
			*ret_end = i;
			return 1;
		}
		p->line_start = i;
		if (++p->n_lines > p->limits.max_headers + 1)
			return SK_HTTP_E_TOO_MANY_HEADERS;
	}
	p->scan = lim;
	if (lim - p->line_start > p->limits.max_line + 1)
		return SK_HTTP_E_LINE_TOO_LONG;
	if (len >= p->limits.max_head)
		return SK_HTTP_E_HEAD_TOO_LARGE;
	return 0;
}

/* ---- head, pass 2: the start line ---- */

/* Parses "HTTP/1.x" at *q; sets version_minor. */
static int parse_version(struct sk_http_parser *p, const char **q, const char *end)
{
	const char *s = *q;

	if (end - s < 8 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1'))
		return SK_HTTP_E_VERSION;
	p->msg.version_minor = s[7] - '0';
	*q = s + 8;
	return 0;
}

static int parse_request_line(struct sk_http_parser *p, const char **q, const char *end)
{
	const char *s = *q, *m = s;
	int r;

	while (cls[(unsigned char)*s] & C_TOKEN)
		s++;
	if (s == m || *s != ' ')
		return SK_HTTP_E_METHOD;
	p->msg.method = (struct sk_http_str){ m, (size_t)(s - m) };
	m = ++s;
	while (cls[(unsigned char)*s] & C_TARGET)
		s++;
	if (s == m || *s != ' ')
		return SK_HTTP_E_TARGET;
	p->msg.target = (struct sk_http_str){ m, (size_t)(s - m) };
	s++;
	r = parse_version(p, &s, end);
	if (r < 0)
		return r;
	if (s[0] != '\r' || s[1] != '\n')
		return SK_HTTP_E_VERSION;
	*q = s + 2;
	return 0;
}

static int parse_status_line(struct sk_http_parser *p, const char **q, const char *end)
{
	const char *s = *q, *reason;
	int r = parse_version(p, &s, end);

	if (r < 0)
		return r;
	if (s[0] != ' ' || !(s[1] >= '1' && s[1] <= '9') || !(s[2] >= '0' && s[2] <= '9') ||
	    !(s[3] >= '0' && s[3] <= '9'))
		return SK_HTTP_E_STATUS;
	p->msg.status = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	s += 4;
	if (*s == ' ')
		s++;
	else if (*s != '\r')
		return SK_HTTP_E_STATUS;
	reason = s;
	while (cls[(unsigned char)*s] & C_VALUE)
		s++;
	if (s[0] != '\r' || s[1] != '\n')
		return SK_HTTP_E_STATUS;
	p->msg.reason = (struct sk_http_str){ reason, (size_t)(s - reason) };
	*q = s + 2;
	return 0;
}

/* ---- head, pass 2: header fields ---- */

/*
 * Parses one "name: value CRLF" line at *q (shared by headers and
 * trailers).  Relies on pass 1: every LF in the head follows a CR.
 */
static int parse_field(const char **q, struct sk_http_header *h)
{
	const char *s = *q, *n = s, *v, *e;

	if (cls[(unsigned char)*s] & C_OWS)
		return SK_HTTP_E_OBS_FOLD;
	while (cls[(unsigned char)*s] & C_TOKEN)
		s++;
	if (*s != ':') {
		if (s != n && (cls[(unsigned char)*s] & C_OWS))
			return SK_HTTP_E_SPACE_BEFORE_COLON;
		return SK_HTTP_E_HEADER_NAME;
	}
	if (s == n)
		return SK_HTTP_E_HEADER_NAME;
	h->name = (struct sk_http_str){ n, (size_t)(s - n) };
	s++;
	while (cls[(unsigned char)*s] & C_OWS)
		s++;
	v = s;
	while (cls[(unsigned char)*s] & C_VALUE)
		s++;
	if (s[0] != '\r' || s[1] != '\n')
		return SK_HTTP_E_HEADER_VALUE; /* NUL, CTL or a bare CR */
	e = s;
	while (e > v && (cls[(unsigned char)e[-1]] & C_OWS))
		e--;
	h->value = (struct sk_http_str){ v, (size_t)(e - v) };
	*q = s + 2;
	return 0;
}

/* What the framing headers said, gathered while parsing fields. */
struct framing {
	bool cl, te, te_chunked_last, te_chunked_seen, conn_close, conn_keep, conn_upgrade, upgrade;
	int hosts;
};

static int parse_content_length(struct sk_http_parser *p, struct framing *f, struct sk_http_str v)
{
	uint64_t n = 0;

	if (f->cl)
		return SK_HTTP_E_CL_MULTIPLE;
	if (v.len == 0)
		return SK_HTTP_E_CL_INVALID;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c == ',')
			return SK_HTTP_E_CL_MULTIPLE;
		if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10)
			return SK_HTTP_E_CL_INVALID;
		n = n * 10 + (c - '0');
	}
	f->cl = true;
	p->msg.content_length = n;
	return 0;
}

/*
 * Calls fn on each comma-separated element of a list value (RFC 9110
 * section 5.6.1), trimmed of OWS.  Empty elements are skipped.
 */
typedef int (*list_fn)(struct framing *f, const char *s, size_t n);
static int for_each_element(struct framing *f, struct sk_http_str v, list_fn fn)
{
	size_t i = 0;

	while (i < v.len) {
		size_t b, e;
		int r;
		while (i < v.len && (v.p[i] == ',' || (cls[(unsigned char)v.p[i]] & C_OWS)))
			i++;
		b = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		e = i;
		while (e > b && (cls[(unsigned char)v.p[e - 1]] & C_OWS))
			e--;
		if (e > b && (r = fn(f, v.p + b, e - b)) < 0)
			return r;
	}
	return 0;
}

static int te_element(struct framing *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(cls[(unsigned char)s[i]] & C_TOKEN))
			return SK_HTTP_E_TE_INVALID; /* parameters or junk */
	if (f->te_chunked_seen)
		return n == 7 && mem_caseeq(s, "chunked", 7) ? SK_HTTP_E_TE_INVALID
							     : SK_HTTP_E_TE_NOT_CHUNKED;
	f->te = true;
	f->te_chunked_last = n == 7 && mem_caseeq(s, "chunked", 7);
	f->te_chunked_seen = f->te_chunked_last;
	return 0;
}

static int conn_element(struct framing *f, const char *s, size_t n)
{
	if (n == 5 && mem_caseeq(s, "close", 5))
		f->conn_close = true;
	else if (n == 10 && mem_caseeq(s, "keep-alive", 10))
		f->conn_keep = true;
	else if (n == 7 && mem_caseeq(s, "upgrade", 7))
		f->conn_upgrade = true;
	return 0;
}

/* Looks at the fields that frame the message; others pass untouched. */
static int inspect_field(struct sk_http_parser *p, struct framing *f,
			 const struct sk_http_header *h)
{
	const char *n = h->name.p;
	int r = 0;

	switch (h->name.len) {
	case 4:
		if (mem_caseeq(n, "host", 4))
			f->hosts++;
		break;
	case 6:
		if (mem_caseeq(n, "expect", 6) && sk_http_str_caseeq(h->value, "100-continue"))
			p->msg.flags |= SK_HTTP_F_EXPECT_CONTINUE;
		break;
	case 7:
		if (mem_caseeq(n, "upgrade", 7))
			f->upgrade = true;
		break;
	case 10:
		if (mem_caseeq(n, "connection", 10))
			r = for_each_element(f, h->value, conn_element);
		break;
	case 14:
		if (mem_caseeq(n, "content-length", 14))
			r = parse_content_length(p, f, h->value);
		break;
	case 17:
		if (mem_caseeq(n, "transfer-encoding", 17)) {
			f->te = true;
			r = for_each_element(f, h->value, te_element);
		}
		break;
	}
	return r;
}

/* ---- head, pass 2: framing decisions ---- */

static bool response_has_no_body(struct sk_http_parser *p)
{
	int s = p->msg.status;

	if (s < 200)
		return true; /* 1xx: the final response follows */
	if (p->no_body_next) {
		p->no_body_next = false;
		return true;
	}
	return s == 204 || s == 304;
}

static int decide_framing(struct sk_http_parser *p, struct framing *f)
{
	struct sk_http_msg *m = &p->msg;
	bool req = p->kind == SK_HTTP_REQUEST;

	if (f->te && f->cl)
		return SK_HTTP_E_CL_AND_TE;
	if (f->te && req && m->version_minor == 0)
		return SK_HTTP_E_TE_HTTP10;
	if (f->te && !f->te_chunked_last)
		return SK_HTTP_E_TE_NOT_CHUNKED;
	if (req && (f->hosts > 1 || (f->hosts == 0 && m->version_minor == 1)))
		return SK_HTTP_E_HOST;
	if (m->version_minor == 1 ? !f->conn_close : (f->conn_keep && !f->conn_close))
		m->flags |= SK_HTTP_F_KEEP_ALIVE;
	if (m->version_minor == 0) /* RFC 9110 section 10.1.1: ignored in HTTP/1.0 */
		m->flags &= ~(unsigned)SK_HTTP_F_EXPECT_CONTINUE;
	if (f->conn_upgrade && f->upgrade)
		m->flags |= SK_HTTP_F_UPGRADE;
	if (f->cl)
		m->flags |= SK_HTTP_F_CONTENT_LENGTH;
	if (f->te)
		m->flags |= SK_HTTP_F_CHUNKED;

	if (!req && response_has_no_body(p))
		p->state = S_NO_BODY;
	else if (f->te)
		p->state = S_CHUNK_SIZE;
	else if (f->cl && m->content_length > 0)
		p->state = S_BODY_CL;
	else if (f->cl || req)
		p->state = S_NO_BODY;
	else {
		p->state = S_BODY_EOF;
		m->flags |= SK_HTTP_F_BODY_TO_EOF;
		m->flags &= ~(unsigned)SK_HTTP_F_KEEP_ALIVE;
	}
	if (p->state != S_NO_BODY)
		m->flags |= SK_HTTP_F_BODY;
	p->remaining = m->content_length;
	p->trailer_size = p->n_trailers = 0;
	return 0;
}

static int parse_head(struct sk_http_parser *p, const char *buf, size_t end)
{
	struct sk_http_msg *m = &p->msg;
	struct framing f = { 0 };
	const char *q = buf + p->lead, *e = buf + end - 2;
	int r;

	memset(m, 0, sizeof(*m));
	m->headers = p->hdrs;
	r = p->kind == SK_HTTP_REQUEST ? parse_request_line(p, &q, e) : parse_status_line(p, &q, e);
	if (r < 0)
		return r;
	while (q < e) {
		struct sk_http_header *h;
		if (m->n_headers == p->limits.max_headers)
			return SK_HTTP_E_TOO_MANY_HEADERS;
		h = &p->hdrs[m->n_headers];
		r = parse_field(&q, h);
		if (r < 0)
			return r;
		m->n_headers++;
		r = inspect_field(p, &f, h);
		if (r < 0)
			return r;
	}
	return decide_framing(p, &f);
}

static int step_head(struct sk_http_parser *p, const char *buf, size_t len, size_t *consumed)
{
	size_t end = 0;
	int r = scan_head(p, buf, len, &end);

	if (r <= 0)
		return r;
	r = parse_head(p, buf, end);
	if (r < 0)
		return r;
	*consumed = end;
	return SK_HTTP_HEAD;
}

/* ---- chunked bodies ---- */

/*
 * Finds the CRLF ending the line at buf: returns 1 and sets *ret_len to the
 * line's length without it, 0 when incomplete, or an error.
 */
static int find_line(const struct sk_http_parser *p, const char *buf, size_t len, size_t *ret_len)
{
	size_t n = len < p->limits.max_line + 2 ? len : p->limits.max_line + 2;
	const char *nl = memchr(buf, '\n', n);

	if (!nl)
		return len >= p->limits.max_line + 2 ? SK_HTTP_E_LINE_TOO_LONG : 0;
	if (nl == buf || nl[-1] != '\r')
		return SK_HTTP_E_BARE_LF;
	*ret_len = (size_t)(nl - buf) - 1;
	return 1;
}

/* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) */
static int parse_chunk_ext(const char *s, const char *e)
{
	while (s < e) {
		while (s < e && (cls[(unsigned char)*s] & C_OWS))
			s++;
		if (s == e || *s++ != ';')
			return SK_HTTP_E_CHUNK_EXT;
		while (s < e && (cls[(unsigned char)*s] & C_OWS))
			s++;
		if (s == e || !(cls[(unsigned char)*s] & C_TOKEN))
			return SK_HTTP_E_CHUNK_EXT;
		while (s < e && (cls[(unsigned char)*s] & C_TOKEN))
			s++;
		while (s < e && (cls[(unsigned char)*s] & C_OWS))
			s++;
		if (s == e || *s != '=')
			continue;
		s++;
		while (s < e && (cls[(unsigned char)*s] & C_OWS))
			s++;
		if (s < e && *s == '"') {
			for (s++; s < e && *s != '"'; s++) {
				if (*s == '\\' && ++s == e)
					return SK_HTTP_E_CHUNK_EXT;
				if (!(cls[(unsigned char)*s] & C_VALUE))
					return SK_HTTP_E_CHUNK_EXT;
			}
			if (s++ == e)
				return SK_HTTP_E_CHUNK_EXT;
		} else {
			const char *t = s;
			while (s < e && (cls[(unsigned char)*s] & C_TOKEN))
				s++;
			if (s == t)
				return SK_HTTP_E_CHUNK_EXT;
		}
	}
	return 0;
}

static int parse_chunk_size(struct sk_http_parser *p, const char *s, size_t n)
{
	const char *e = s + n;
	uint64_t size = 0;

	if (n == 0 || !(cls[(unsigned char)*s] & C_HEX))
		return SK_HTTP_E_CHUNK_SIZE;
	for (; s < e && (cls[(unsigned char)*s] & C_HEX); s++) {
		unsigned char c = lower((unsigned char)*s);
		if (size >> 60)
			return SK_HTTP_E_CHUNK_OVERFLOW;
		size = size * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	if (s < e) {
		const char *t = s;
		while (t < e && (cls[(unsigned char)*t] & C_OWS))
			t++;
		if (t == e || *t != ';')
			return SK_HTTP_E_CHUNK_SIZE;
		if (parse_chunk_ext(s, e) < 0)
			return SK_HTTP_E_CHUNK_EXT;
	}
	p->remaining = size;
	p->state = size ? S_CHUNK_DATA : S_TRAILER;
	return 0;
}

/* One trailer line, or the empty line that ends the message. */
static int parse_trailer(struct sk_http_parser *p, const char *buf, size_t line)
{
	struct sk_http_header h;
	const char *q = buf;

	p->trailer_size += line + 2;
	if (p->trailer_size > p->limits.max_head)
		return SK_HTTP_E_HEAD_TOO_LARGE;
	if (line == 0)
		return SK_HTTP_DONE;
	if (++p->n_trailers > p->limits.max_headers)
		return SK_HTTP_E_TOO_MANY_HEADERS;
	return parse_field(&q, &h);
}

/* ---- the driver ---- */

static int take_data(struct sk_http_parser *p, const char *buf, size_t len, size_t *off,
		     struct sk_http_str *ret_data)
{
	size_t n = len - *off;

	if (p->state != S_BODY_EOF && n > p->remaining)
		n = (size_t)p->remaining;
	if (ret_data)
		*ret_data = (struct sk_http_str){ buf + *off, n };
	if (p->state != S_BODY_EOF)
		p->remaining -= n;
	*off += n;
	return SK_HTTP_DATA;
}

/* Runs the body state machine until it has an event or needs bytes. */
static int step_body(struct sk_http_parser *p, const char *buf, size_t len, size_t *off,
		     struct sk_http_str *ret_data)
{
	for (;;) {
		const char *s = buf + *off;
		size_t avail = len - *off, line;
		int r;

		switch (p->state) {
		case S_NO_BODY:
			return SK_HTTP_DONE;
		case S_BODY_CL:
			if (p->remaining == 0)
				return SK_HTTP_DONE;
			return avail ? take_data(p, buf, len, off, ret_data) : SK_HTTP_AGAIN;
		case S_BODY_EOF:
			return avail ? take_data(p, buf, len, off, ret_data) : SK_HTTP_AGAIN;
		case S_CHUNK_DATA:
			if (p->remaining == 0) {
				p->state = S_CHUNK_CRLF;
				continue;
			}
			return avail ? take_data(p, buf, len, off, ret_data) : SK_HTTP_AGAIN;
		case S_CHUNK_CRLF:
			if (avail < 2)
				return avail == 1 && s[0] != '\r' ? SK_HTTP_E_CHUNK_CRLF
								  : SK_HTTP_AGAIN;
			if (s[0] != '\r' || s[1] != '\n')
				return SK_HTTP_E_CHUNK_CRLF;
			*off += 2;
			p->state = S_CHUNK_SIZE;
			continue;
		case S_CHUNK_SIZE:
		case S_TRAILER:
			r = find_line(p, s, avail, &line);
			if (r <= 0)
				return r;
			r = p->state == S_CHUNK_SIZE ? parse_chunk_size(p, s, line)
						     : parse_trailer(p, s, line);
			if (r < 0)
				return r;
			*off += line + 2;
			if (r == SK_HTTP_DONE)
				return r;
			continue;
		default:
			return SK_HTTP_E_STATE;
		}
	}
}

int sk_http_parse(struct sk_http_parser *p, const char *buf, size_t len, size_t *ret_consumed,
		  struct sk_http_str *ret_data)
{
	size_t off = 0;
	int r;

	if (p->state == S_ERROR) {
		*ret_consumed = 0;
		return SK_HTTP_E_STATE;
	}
	if (p->state == S_HEAD)
		r = step_head(p, buf, len, &off);
	else
		r = step_body(p, buf, len, &off, ret_data);
	if (r == SK_HTTP_DONE)
		head_reset(p);
	if (r < 0) {
		p->state = S_ERROR;
		p->error = r;
		off = 0;
	}
	*ret_consumed = off;
	return r;
}

int sk_http_parse_eof(struct sk_http_parser *p)
{
	switch (p->state) {
	case S_HEAD:
		return p->scan > p->lead ? SK_HTTP_E_TRUNCATED : SK_HTTP_AGAIN;
	case S_NO_BODY:
	case S_BODY_EOF:
		head_reset(p);
		return SK_HTTP_DONE;
	case S_ERROR:
		return SK_HTTP_E_STATE;
	default:
		if (p->state == S_BODY_CL && p->remaining == 0) {
			head_reset(p);
			return SK_HTTP_DONE;
		}
		return SK_HTTP_E_TRUNCATED;
	}
}

/* ---- lookups and descriptions ---- */

const struct sk_http_header *sk_http_msg_header(const struct sk_http_msg *m, const char *name)
{
	for (size_t i = 0; i < m->n_headers; i++)
		if (sk_http_str_caseeq(m->headers[i].name, name))
			return &m->headers[i];
	return NULL;
}

static const char *const errors[] = {
	[1] = "request or header line too long",
	[2] = "header section too large",
	[3] = "too many header fields",
	[4] = "bare LF line ending",
	[5] = "invalid method",
	[6] = "invalid request target",
	[7] = "unsupported HTTP version",
	[8] = "invalid status line",
	[9] = "invalid header field name",
	[10] = "whitespace before colon in header field",
	[11] = "invalid character in header field value",
	[12] = "obsolete line folding",
	[13] = "invalid content-length",
	[14] = "multiple content-length values",
	[15] = "both content-length and transfer-encoding",
	[16] = "transfer-encoding does not end in chunked",
	[17] = "invalid transfer-encoding",
	[18] = "transfer-encoding in an HTTP/1.0 request",
	[19] = "missing or repeated host header",
	[20] = "invalid chunk size",
	[21] = "chunk size overflow",
	[22] = "invalid chunk extension",
	[23] = "missing CRLF after chunk data",
	[24] = "connection closed within a message",
	[25] = "parser used after an error",
};

const char *sk_http_strerror(int code)
{
	if (code < 0 && (size_t)-code < SK_ELEMENTSOF(errors) && errors[-code])
		return errors[-code];
	return "unknown HTTP parser error";
}

int sk_http_error_status(int code)
{
	switch (code) {
	case SK_HTTP_E_LINE_TOO_LONG:
	case SK_HTTP_E_HEAD_TOO_LARGE:
	case SK_HTTP_E_TOO_MANY_HEADERS:
		return 431;
	case SK_HTTP_E_VERSION:
		return 505;
	default:
		return 400;
	}
}

const char *sk_http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 417:
		return "Expectation Failed";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "";
	}
}
