/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-http.c - libFuzzer target for the HTTP/1.1 parser (base/http.h).
 *
 * Input: one control byte (bit 0: parse as response, bit 1: the response
 * answers HEAD, bit 2: tiny limits), two seed bytes for the split points,
 * then the bytes of the stream.  Each input is parsed twice: in one piece,
 * and fed in pseudo-random pieces the way a socket delivers them.  Beyond
 * "no crash", it asserts the invariants: consumed <= len, every slice lies
 * inside the buffer, header counts stay within limits, and both runs see
 * the same events, heads, body bytes and final result (a hash of each).
 * Seeds live in tests/fuzz/corpus/fuzz-http/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

struct outcome {
	uint64_t hash;
	int rc;
	int msgs;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ull;
}

static bool inside(struct sk_http_str s, const char *buf, size_t len)
{
	return s.len == 0 || (s.p >= buf && s.p + s.len <= buf + len);
}

static void check_head(const struct sk_http_parser *p, const char *buf, size_t len, uint64_t *h)
{
	const struct sk_http_msg *m = &p->msg;

	CHECK(m->n_headers <= p->limits.max_headers);
	CHECK(inside(m->method, buf, len) && inside(m->target, buf, len));
	CHECK(inside(m->reason, buf, len));
	CHECK(!(m->flags & SK_HTTP_F_CHUNKED) || !(m->flags & SK_HTTP_F_CONTENT_LENGTH));
	mix(h, "H", 1);
	mix(h, m->method.p ? m->method.p : "", m->method.len);
	mix(h, m->target.p ? m->target.p : "", m->target.len);
	mix(h, &m->status, sizeof(m->status));
	mix(h, &m->flags, sizeof(m->flags));
	mix(h, &m->content_length, sizeof(m->content_length));
	for (size_t i = 0; i < m->n_headers; i++) {
		CHECK(inside(m->headers[i].name, buf, len) &&
		      inside(m->headers[i].value, buf, len));
		CHECK(m->headers[i].name.len > 0);
		mix(h, m->headers[i].name.p, m->headers[i].name.len);
		mix(h, ":", 1);
		mix(h, m->headers[i].value.p, m->headers[i].value.len);
	}
}

/* Parses buf[0..*have), shifting consumed bytes out; false once it failed. */
static bool pump(struct sk_http_parser *p, char *buf, size_t *have, struct outcome *o)
{
	for (;;) {
		struct sk_http_str d = { 0 };
		size_t c = SIZE_MAX;
		int r = sk_http_parse(p, buf, *have, &c, &d);

		CHECK(c <= *have);
		if (r < 0) {
			CHECK(c == 0);
			o->rc = r;
			return false;
		}
		if (r == SK_HTTP_HEAD)
			check_head(p, buf, *have, &o->hash);
		if (r == SK_HTTP_DATA) {
			CHECK(d.len > 0 && inside(d, buf, *have) && d.p + d.len <= buf + c);
			mix(&o->hash, d.p, d.len);
		}
		if (r == SK_HTTP_DONE) {
			mix(&o->hash, "D", 1);
			o->msgs++;
		}
		memmove(buf, buf + c, *have - c);
		*have -= c;
		if (r == SK_HTTP_AGAIN)
			return true;
	}
}

static struct outcome run(const uint8_t *in, size_t len, uint8_t ctl, uint32_t seed)
{
	struct sk_http_limits tiny = { .max_line = 24, .max_headers = 3, .max_head = 96 };
	struct outcome o = { .hash = 0xcbf29ce484222325ull };
	struct sk_http_parser p;
	char *buf = malloc(len + 1);
	size_t have = 0, fed = 0;

	sk_http_parser_init(&p, (ctl & 1) ? SK_HTTP_RESPONSE : SK_HTTP_REQUEST,
			    (ctl & 4) ? &tiny : NULL);
	if (ctl & 2)
		sk_http_parser_skip_body(&p);
	do {
		size_t n = len - fed;
		if (seed) { /* xorshift: pieces of 1..16 bytes */
			seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
			if (n > 1 + seed % 16)
				n = 1 + seed % 16;
		}
		memcpy(buf + have, in + fed, n);
		have += n;
		fed += n;
		if (!pump(&p, buf, &have, &o))
			break;
	} while (fed < len);
	if (o.rc == 0) {
		int r = sk_http_parse_eof(&p);
		o.rc = r < 0 ? r : 0;
		if (r == SK_HTTP_DONE)
			o.msgs++;
	}
	sk_http_parser_release(&p);
	free(buf);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, pieces;
	uint32_t seed;

	if (size < 3)
		return 0;
	seed = (uint32_t)data[1] << 8 | data[2] | 1u;
	whole = run(data + 3, size - 3, data[0], 0);
	pieces = run(data + 3, size - 3, data[0], seed);
	CHECK(whole.rc == pieces.rc);
	CHECK(whole.msgs == pieces.msgs);
	CHECK(whole.hash == pieces.hash);
	return 0;
}
