/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http-internal.h - what forward-http.c and http-head.c share: the
 * session's bounded buffers (s->out towards the client, s->rbuf towards the
 * endpoint, kept for a replay while it fits) and the head rewriters.
 */
#ifndef SK_PROXY_HTTP_INTERNAL_H
#define SK_PROXY_HTTP_INTERNAL_H

#include <string.h>

#include "proxy/proxy-internal.h"

/* ---- buffers ---- */

static inline size_t out_room(struct sk_proxy_sess *s, size_t want)
{
	if (s->out_off == s->out_len) {
		s->out_off = s->out_len = 0;
	} else if (SK_PROXY_OUT_SIZE - s->out_len < want && s->out_off > 0) {
		memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
		s->out_len -= s->out_off;
		s->out_off = 0;
	}
	return SK_PROXY_OUT_SIZE - s->out_len;
}

static inline void out_add(struct sk_proxy_sess *s, const void *p, size_t n)
{
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
}

/* Room in rbuf for up to `want` more bytes: grows it, or drops what was sent. */
static inline size_t rbuf_room(struct sk_proxy_sess *s, size_t want)
{
	size_t need = s->rbuf_len + want;

	if (need > s->rbuf_cap && s->rbuf_cap < SK_PROXY_RBUF_MAX) {
		size_t cap = s->rbuf_cap ? 2 * s->rbuf_cap : 4096;

		while (cap < need && cap < SK_PROXY_RBUF_MAX)
			cap *= 2;
		if (cap > SK_PROXY_RBUF_MAX)
			cap = SK_PROXY_RBUF_MAX;
		s->rbuf = sk_realloc(s->rbuf, cap);
		s->rbuf_cap = cap;
	}
	if (need > s->rbuf_cap && s->up_sent > 0) {
		memmove(s->rbuf, s->rbuf + s->up_sent, s->rbuf_len - s->up_sent);
		s->rbuf_len -= s->up_sent;
		s->up_sent = 0;
		s->replayable = false;
	}
	return s->rbuf_cap - s->rbuf_len;
}

static inline void rbuf_add(struct sk_proxy_sess *s, const void *p, size_t n)
{
	memcpy(s->rbuf + s->rbuf_len, p, n);
	s->rbuf_len += n;
}

static inline void rbuf_str(struct sk_proxy_sess *s, const char *str)
{
	rbuf_add(s, str, strlen(str));
}

static inline void rbuf_slice(struct sk_proxy_sess *s, struct sk_http_str v)
{
	rbuf_add(s, v.p, v.len);
}

/* http-head.c */
/* Writes the request head for the endpoint into s->rbuf (from its start). */
void sk_proxy_http_request_head(struct sk_proxy_sess *s, const struct sk_http_msg *m);
/*
 * Writes the response head for the client into s->out; sets
 * s->resp_chunked / s->resp_to_close and may clear s->keep_alive.  A 101
 * (only passed for an upgrade request) keeps its Upgrade fields and says
 * `Connection: upgrade`.  Returns -ENOBUFS when it does not fit.
 */
int sk_proxy_http_response_head(struct sk_proxy_sess *s, const struct sk_http_msg *m);

#endif
