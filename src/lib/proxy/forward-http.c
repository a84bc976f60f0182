/* SPDX-License-Identifier: Apache-2.0 */
/*
 * forward-http.c - HTTP/1.1 forwarding for one client session: parse a
 * request (base/http.h), have its head rewritten (http-head.c), choose an
 * endpoint, send, parse the response and stream it back; retries,
 * fallback, fault injection, bulkhead and timeouts on the way.
 *
 * Requests are handled one at a time and in order, so pipelining is safe.
 * The bytes sent upstream (rewritten head and re-framed body) go through
 * s->rbuf, which keeps them while they fit (80 KiB) so a retry can replay
 * them; past that the sent part is dropped and the request is no longer
 * replayable.  Response bytes go through the fixed s->out.  Each buffer
 * being full stops the parser feeding it: memory per connection is bounded.
 * The session timer is the lazy idle check unless a try has deadlines.
 *
 * Upgrades: a GET without a body that asks for one (Connection: upgrade and
 * an Upgrade field, HTTP/1.1) is forwarded with them; a 101 for it is
 * relayed and hands the session to forward-tcp.c's splice, with whatever
 * either side sent after its head.  Any other answer is an ordinary
 * response, and a 101 for any other request is a 502.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/util.h"
#include "proxy/http-internal.h"

static const struct sk_http_limits req_limits = { 8192, 100, SK_PROXY_MAX_HEAD };

static void begin_try(struct sk_proxy_sess *s);
static void enter_cluster(struct sk_proxy_sess *s, struct sk_proxy_scluster *c);

/* ---- requests: accounting ---- */

static void end_try(struct sk_proxy_sess *s)
{
	if (s->ep) {
		atomic_fetch_sub_explicit(&s->ep->st->outstanding, 1, memory_order_relaxed);
		s->ep = NULL;
	}
}

static void end_request(struct sk_proxy_sess *s)
{
	if (!s->in_request)
		return;
	s->in_request = false;
	end_try(s);
	for (int i = 0; i < s->n_active; i++)
		atomic_fetch_sub_explicit(&s->active[i]->active_requests, 1, memory_order_relaxed);
	if (s->in_retry_budget)
		atomic_fetch_sub_explicit(&s->cl->st->active_retries, 1, memory_order_relaxed);
	s->n_active = 0;
	s->in_retry_budget = false;
	sk_proxy_ws_release(s->w, s->ws);
	s->ws = NULL;
	s->entry = s->cl = NULL;
}

static void restore_idle_timer(struct sk_proxy_sess *s)
{
	if (s->timed) {
		s->timed = false;
		sk_proxy_timer_set(s->w, &s->timer, s->last_active + s->idle_ns);
	}
}

static void finish_stats(struct sk_proxy_sess *s, int status)
{
	if (s->entry)
		sk_proxy_stats_request(s->entry->st, s->w->idx, s->method, status,
				       s->w->now - s->started);
}

/* The proxy answers the request itself. */
static void respond(struct sk_proxy_sess *s, int status, const char *text, bool close_conn)
{
	char head[512];
	size_t blen = strlen(text) + 1;
	int n;

	s->gen++;
	if (s->u) {
		sk_proxy_uconn_release(s->u, false);
		s->u = NULL;
	}
	if (s->in_request)
		finish_stats(s, status);
	end_request(s);
	restore_idle_timer(s);
	if (s->rq != SK_PROXY_RQ_DONE || !s->keep_alive || s->rd_eof)
		close_conn = true;
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
		     status, sk_http_reason(status), blen,
		     close_conn		     ? "Connection: close\r\n"
		     : s->version_minor == 0 ? "Connection: keep-alive\r\n"
					     : "");
	if (out_room(s, (size_t)n + blen) >= (size_t)n + blen) {
		out_add(s, head, (size_t)n);
		if (!s->head_req) {
			out_add(s, text, blen - 1);
			out_add(s, "\n", 1);
		}
	} else {
		close_conn = true;
	}
	s->phase = close_conn ? SK_PROXY_P_CLOSE : SK_PROXY_P_IDLE;
	s->rq = SK_PROXY_RQ_HEAD;
}

/* ---- requests: the head ---- */
static struct sk_proxy_scluster *listener_cluster(struct sk_proxy_sess *s)
{
	struct sk_proxy_snap *snap = s->ws->snap;

	for (size_t i = 0; i < snap->n_listeners; i++)
		if (snap->listeners[i].ls == s->ls)
			return &snap->clusters[snap->listeners[i].cluster];
	return NULL;
}

static void on_request_head(struct sk_proxy_sess *s)
{
	const struct sk_http_msg *m = &s->req.msg;
	struct sk_proxy_scluster *c;

	s->method = sk_proxy_method_index(m->method);
	s->head_req = sk_http_str_eq(m->method, "HEAD");
	s->version_minor = m->version_minor;
	s->keep_alive = m->flags & SK_HTTP_F_KEEP_ALIVE;
	s->chunked_req = m->flags & SK_HTTP_F_CHUNKED;
	s->rq = SK_PROXY_RQ_BODY;
	s->expect = (m->flags & SK_HTTP_F_EXPECT_CONTINUE) && (m->flags & SK_HTTP_F_BODY);
	/* RFC 6455 section 4.1: a GET, and HTTP/1.1; a body would have to be
	 * forwarded before the switch, so such a request simply loses its Upgrade */
	s->upgrade = (m->flags & SK_HTTP_F_UPGRADE) && !(m->flags & SK_HTTP_F_BODY) &&
		     m->version_minor == 1 && sk_http_str_eq(m->method, "GET");
	s->sent_100 = s->reuse_retried = false;
	s->replayable = true;
	s->started = s->w->now;
	s->total_deadline = 0;
	s->status = 0;
	sk_proxy_http_request_head(s, m);
	if (!(m->flags & SK_HTTP_F_BODY)) {
		/* the message is complete: let the parser say so now */
		struct sk_http_str d;
		size_t used = 0;

		if (sk_http_parse(&s->req, s->in + s->in_off, 0, &used, &d) == SK_HTTP_DONE)
			s->rq = SK_PROXY_RQ_DONE;
	}

	s->in_request = true;
	s->ws = s->w->ws;
	s->ws->users++;
	c = listener_cluster(s);
	if (!c) {
		respond(s, 503, "listener removed", true);
		return;
	}
	s->entry = c;
	enter_cluster(s, c);
}

static void fault_delay_or_try(struct sk_proxy_sess *s)
{
	const struct sk_proxy_fault *f = &s->cl->fault;
	struct sk_proxy_worker *w = s->w;

	if (f->delay_percent > 0 && sk_proxy_roll(f->delay_percent, sk_proxy_rand(w))) {
		uint64_t d = f->delay_ns;

		if (f->delay_jitter_ns) {
			uint64_t j = sk_proxy_rand(w) % (2 * f->delay_jitter_ns + 1);

			d = d + j > f->delay_jitter_ns ? d + j - f->delay_jitter_ns : 0;
		}
		sk_proxy_ctr_add(&s->cl->st->fault_delays, 1);
		s->phase = SK_PROXY_P_WAIT;
		s->timed = true;
		sk_proxy_timer_set(w, &s->timer, w->now + d);
		return;
	}
	begin_try(s);
}

static void enter_cluster(struct sk_proxy_sess *s, struct sk_proxy_scluster *c)
{
	const struct sk_proxy_policy *pol = &c->policy;
	struct sk_proxy_worker *w = s->w;

	if (s->n_active == (int)SK_ELEMENTSOF(s->active)) {
		respond(s, 503, "fallback chain too long", false);
		return;
	}
	if (s->in_retry_budget) {
		atomic_fetch_sub_explicit(&s->cl->st->active_retries, 1, memory_order_relaxed);
		s->in_retry_budget = false;
	}
	s->cl = c;
	s->tried = 0;
	s->tries = s->retries = 0;
	if (pol->max_concurrent > 0 &&
	    atomic_load_explicit(&c->st->active_requests, memory_order_relaxed) >=
		pol->max_concurrent) {
		sk_proxy_ctr_add(&c->st->rejected, 1);
		respond(s, 503, "too many requests in flight", false);
		return;
	}
	atomic_fetch_add_explicit(&c->st->active_requests, 1, memory_order_relaxed);
	s->active[s->n_active++] = c->st;
	if (pol->total_timeout_ns) {
		uint64_t d = s->started + pol->total_timeout_ns;

		if (!s->total_deadline || d < s->total_deadline)
			s->total_deadline = d;
	}
	if (c->fault.abort_status && c->fault.abort_percent > 0 &&
	    sk_proxy_roll(c->fault.abort_percent, sk_proxy_rand(w))) {
		sk_proxy_ctr_add(&c->st->fault_aborts, 1);
		respond(s, c->fault.abort_status, "fault injected", false);
		return;
	}
	if (s->expect && !s->sent_100 && s->rq == SK_PROXY_RQ_BODY) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		if (out_room(s, sizeof(cont)) >= sizeof(cont) - 1)
			out_add(s, cont, sizeof(cont) - 1);
		s->sent_100 = true;
	}
	fault_delay_or_try(s);
}

static bool go_fallback(struct sk_proxy_sess *s)
{
	struct sk_proxy_scluster *c = s->cl;

	if (c->fallback < 0 || !s->replayable)
		return false;
	sk_proxy_ctr_add(&c->st->fallbacks, 1);
	enter_cluster(s, &s->ws->snap->clusters[c->fallback]);
	return true;
}

static void arm_try_timer(struct sk_proxy_sess *s)
{
	uint64_t at = 0;
	uint64_t d[3] = { s->try_deadline, s->total_deadline, s->connect_deadline };

	for (int i = 0; i < 3; i++)
		if (d[i] && (!at || d[i] < at))
			at = d[i];
	if (at) {
		s->timed = true;
		sk_proxy_timer_set(s->w, &s->timer, at);
	} else {
		restore_idle_timer(s);
	}
}

static void try_failed(struct sk_proxy_sess *s, enum sk_proxy_fail kind);

static void begin_try(struct sk_proxy_sess *s)
{
	struct sk_proxy_scluster *c = s->cl;
	struct sk_proxy_worker *w = s->w;
	struct sk_proxy_uconn *u;
	int idx, err = 0;

	s->gen++;
	if (s->total_deadline && w->now >= s->total_deadline) {
		respond(s, 504, "upstream timeout", false);
		return;
	}
	idx = sk_proxy_pick(c, s->tried, w->now, sk_proxy_rand(w));
	if (idx < 0) {
		if (go_fallback(s))
			return;
		idx = sk_proxy_pick_panic(c, s->tried, w->now);
		if (idx < 0) {
			respond(s, 503, "no endpoint available", false);
			return;
		}
	}
	s->ep = &c->eps[idx];
	if (idx < 64)
		s->tried |= 1ull << idx;
	s->tries++;
	atomic_fetch_add_explicit(&s->ep->st->outstanding, 1, memory_order_relaxed);
	s->phase = SK_PROXY_P_TRY;
	s->up_sent = 0;
	u = sk_proxy_uconn_get(w, s->ep, false, &err);
	if (!u) {
		try_failed(s, SK_PROXY_F_CONNECT);
		return;
	}
	u->s = s;
	s->u = u;
	if (s->head_req)
		sk_http_parser_skip_body(&u->resp);
	u->can_read = false;
	u->can_write = u->connected;
	s->try_deadline = c->policy.try_timeout_ns ? w->now + c->policy.try_timeout_ns : 0;
	s->connect_deadline = u->connected ? 0 : w->now + c->policy.connect_timeout_ns;
	if (s->try_deadline || s->total_deadline || s->connect_deadline)
		arm_try_timer(s);
}

static bool retry_allowed(struct sk_proxy_sess *s, enum sk_proxy_fail kind)
{
	const struct sk_proxy_policy *pol = &s->cl->policy;
	static const unsigned bit[] = { SK_PROXY_RETRY_CONNECT, SK_PROXY_RETRY_RESET,
					SK_PROXY_RETRY_TIMEOUT, SK_PROXY_RETRY_STATUS };

	if (s->retries >= pol->retry_attempts || !s->replayable)
		return false;
	if (kind != SK_PROXY_F_CONNECT &&
	    (!(pol->retry_on & bit[kind]) || !sk_proxy_method_idempotent(s->method) ||
	     s->rq != SK_PROXY_RQ_DONE))
		return false;
	return sk_proxy_retry_budget_ok(s->cl);
}

static void schedule_retry(struct sk_proxy_sess *s)
{
	struct sk_proxy_scluster *c = s->cl;
	uint64_t d;

	s->gen++;
	s->retries++;
	sk_proxy_ctr_add(&c->st->retries, 1);
	if (!s->in_retry_budget) {
		atomic_fetch_add_explicit(&c->st->active_retries, 1, memory_order_relaxed);
		s->in_retry_budget = true;
	}
	d = sk_proxy_backoff(&c->policy, s->retries, sk_proxy_rand(s->w));
	s->phase = SK_PROXY_P_WAIT;
	s->timed = true;
	sk_proxy_timer_set(s->w, &s->timer, s->w->now + d);
}

static void try_failed(struct sk_proxy_sess *s, enum sk_proxy_fail kind)
{
	struct sk_proxy_uconn *u = s->u;
	bool reused = u && u->reused && !u->got_bytes;

	if (u) {
		sk_proxy_uconn_release(u, false);
		s->u = NULL;
	}
	if (reused && kind == SK_PROXY_F_RESET && !s->reuse_retried && s->replayable) {
		/* the pooled connection was closed under us: not the endpoint's fault */
		s->reuse_retried = true;
		end_try(s);
		s->tries--;
		begin_try(s);
		return;
	}
	if (s->ep)
		sk_proxy_outlier_record(s->cl, s->ep, false, false, true, s->w->now);
	end_try(s);
	if (retry_allowed(s, kind)) {
		schedule_retry(s);
		return;
	}
	if (kind == SK_PROXY_F_CONNECT && go_fallback(s))
		return;
	if (kind == SK_PROXY_F_TIMEOUT)
		respond(s, 504, "upstream timeout", false);
	else
		respond(s, 502, "upstream failure", false);
}

/* ---- the response ---- */
static bool on_response_head(struct sk_proxy_sess *s)
{
	const struct sk_http_msg *m = &s->u->resp.msg;
	struct sk_proxy_scluster *c = s->cl;
	int status = m->status;
	bool is5 = status >= 500;

	sk_proxy_outlier_record(c, s->ep, !is5, is5, false, s->w->now);
	if (sk_proxy_status_retryable(&c->policy, status) && retry_allowed(s, SK_PROXY_F_STATUS)) {
		sk_proxy_ctr_add(&s->ep->st->requests[sk_proxy_status_class(status)], 1);
		sk_proxy_uconn_release(s->u, false);
		s->u = NULL;
		end_try(s);
		schedule_retry(s);
		return false;
	}
	if (is5 && c->fallback >= 0 && s->replayable && s->rq == SK_PROXY_RQ_DONE) {
		sk_proxy_ctr_add(&s->ep->st->requests[sk_proxy_status_class(status)], 1);
		sk_proxy_uconn_release(s->u, false);
		s->u = NULL;
		end_try(s);
		(void)go_fallback(s);
		return false;
	}
	s->up_keep = m->flags & SK_HTTP_F_KEEP_ALIVE;
	if (sk_proxy_http_response_head(s, m) < 0) {
		try_failed(s, SK_PROXY_F_RESET);
		return false;
	}
	sk_proxy_ctr_add(&s->ep->st->requests[sk_proxy_status_class(status)], 1);
	s->status = status;
	s->phase = SK_PROXY_P_RESP;
	restore_idle_timer(s);
	return true;
}

/*
 * A 101 from the endpoint.  For an upgrade request whose head was sent, it
 * is relayed (with x-skiff-upstream) and the session becomes a splice of the
 * client and this connection, which is never pooled again; the request
 * stays in flight (bulkhead, least_request) until the tunnel closes.
 * Anything else is a 502.  Returns false: the session moved on.
 */
static bool on_switch(struct sk_proxy_sess *s)
{
	struct sk_proxy_scluster *c = s->cl;

	if (!s->upgrade || s->phase != SK_PROXY_P_TRY || s->up_sent < s->rbuf_len) {
		respond(s, 502, "unexpected upgrade", false);
		return false;
	}
	sk_proxy_outlier_record(c, s->ep, true, false, false, s->w->now);
	if (sk_proxy_http_response_head(s, &s->u->resp.msg) < 0) {
		try_failed(s, SK_PROXY_F_RESET);
		return false;
	}
	sk_proxy_ctr_add(&s->ep->st->requests[sk_proxy_status_class(101)], 1);
	s->status = 101;
	finish_stats(s, 101);
	free(s->rbuf); /* nothing to replay any more */
	s->rbuf = NULL;
	s->rbuf_len = s->rbuf_cap = s->up_sent = 0;
	s->replayable = false;
	sk_proxy_tcp_splice(s, c->policy.idle_timeout_ns);
	return false;
}

static void finish_response(struct sk_proxy_sess *s)
{
	struct sk_proxy_uconn *u = s->u;

	s->gen++;
	if (s->resp_chunked)
		out_add(s, "0\r\n\r\n", 5);
	s->u = NULL;
	sk_proxy_uconn_release(u, s->up_keep && s->rq == SK_PROXY_RQ_DONE &&
				      s->up_sent == s->rbuf_len);
	finish_stats(s, s->status);
	end_request(s);
	if (!s->keep_alive || s->rq != SK_PROXY_RQ_DONE || s->resp_to_close) {
		s->phase = SK_PROXY_P_CLOSE;
		return;
	}
	s->phase = SK_PROXY_P_IDLE;
	s->rq = SK_PROXY_RQ_HEAD;
}

static void body_out(struct sk_proxy_sess *s, struct sk_http_str d)
{
	if (s->resp_chunked) {
		char hdr[24];
		int n = snprintf(hdr, sizeof(hdr), "%zx\r\n", d.len);

		out_add(s, hdr, (size_t)n);
		out_add(s, d.p, d.len);
		out_add(s, "\r\n", 2);
	} else {
		out_add(s, d.p, d.len);
	}
}

/* Parses what the endpoint sent; returns true on progress. */
static bool response_step(struct sk_proxy_sess *s)
{
	struct sk_proxy_uconn *u = s->u;
	size_t avail = u->in_len - u->in_off, len = avail, used = 0;
	struct sk_http_str d = { 0 };
	int r;

	if (s->phase == SK_PROXY_P_RESP) {
		size_t room = out_room(s, avail + 32);

		if (room < 64)
			return false;
		if (len > room - 32)
			len = room - 32;
	}
	r = sk_http_parse(&u->resp, u->in + u->in_off, len, &used, &d);
	u->in_off += used;
	if (r == SK_HTTP_AGAIN) {
		if (!u->eof || len < avail)
			return used > 0;
		r = sk_http_parse_eof(&u->resp);
		if (r == SK_HTTP_AGAIN) { /* nothing of a response */
			try_failed(s, SK_PROXY_F_RESET);
			return false;
		}
	}
	if (r < 0) {
		if (s->phase == SK_PROXY_P_TRY)
			respond(s, 502, "bad response from upstream", false);
		else
			sk_proxy_sess_close(s); /* the response is cut short */
		return false;
	}
	switch (r) {
	case SK_HTTP_HEAD:
		if (u->resp.msg.status == 101)
			return on_switch(s);
		if (u->resp.msg.status < 200)
			return true; /* interim responses are not relayed */
		if (s->phase != SK_PROXY_P_TRY) {
			respond(s, 502, "unexpected response", false);
			return false;
		}
		return on_response_head(s);
	case SK_HTTP_DATA:
		body_out(s, d);
		return true;
	case SK_HTTP_DONE:
		if (s->phase == SK_PROXY_P_RESP) {
			finish_response(s);
			return false;
		}
		return true; /* after an interim response */
	}
	return used > 0;
}

/* ---- i/o ---- */

static bool client_read(struct sk_proxy_sess *s)
{
	size_t room;
	ssize_t n;

	if (!s->can_read || s->rd_eof)
		return false;
	if (s->in_off == s->in_len) {
		s->in_off = s->in_len = 0;
	} else if (s->in_off > 0 && s->in_len == SK_PROXY_IN_SIZE) {
		memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
		s->in_len -= s->in_off;
		s->in_off = 0;
	}
	room = SK_PROXY_IN_SIZE - s->in_len;
	if (room == 0)
		return false;
	n = recv(s->fd, s->in + s->in_len, room, 0);
	if (n > 0) {
		s->in_len += (size_t)n;
		s->last_active = s->w->now;
		if ((size_t)n < room && !s->hup)
			s->can_read = false;
		return true;
	}
	s->can_read = false;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	s->rd_eof = true;
	return true;
}

static bool client_parse(struct sk_proxy_sess *s)
{
	size_t avail = s->in_len - s->in_off, len = avail, used = 0;
	struct sk_http_str d = { 0 };
	int r;

	if (s->rq == SK_PROXY_RQ_HEAD) {
		if (s->phase != SK_PROXY_P_IDLE)
			return false;
		if (avail == 0) {
			if (s->rd_eof)
				s->phase = SK_PROXY_P_CLOSE;
			return false;
		}
	} else if (s->rq == SK_PROXY_RQ_BODY) {
		size_t room = rbuf_room(s, avail + 32);

		if (room < 64)
			return false;
		if (len > room - 32)
			len = room - 32;
	} else {
		return false;
	}
	r = sk_http_parse(&s->req, s->in + s->in_off, len, &used, &d);
	s->in_off += used;
	if (r < 0) {
		if (s->rq == SK_PROXY_RQ_HEAD || s->phase == SK_PROXY_P_IDLE ||
		    s->phase == SK_PROXY_P_WAIT || s->phase == SK_PROXY_P_TRY) {
			s->rq = SK_PROXY_RQ_BODY; /* forces Connection: close */
			respond(s, sk_http_error_status(r), sk_http_strerror(r), true);
		} else {
			sk_proxy_sess_close(s);
		}
		return false;
	}
	switch (r) {
	case SK_HTTP_HEAD:
		on_request_head(s);
		return true;
	case SK_HTTP_DATA:
		if (s->chunked_req) {
			char hdr[24];
			int n = snprintf(hdr, sizeof(hdr), "%zx\r\n", d.len);

			rbuf_add(s, hdr, (size_t)n);
			rbuf_add(s, d.p, d.len);
			rbuf_add(s, "\r\n", 2);
		} else {
			rbuf_add(s, d.p, d.len);
		}
		return true;
	case SK_HTTP_DONE:
		if (s->rq == SK_PROXY_RQ_BODY && s->chunked_req)
			rbuf_add(s, "0\r\n\r\n", 5);
		s->rq = SK_PROXY_RQ_DONE;
		return true;
	}
	if (s->rd_eof && len == avail) {
		/* the client went away inside a request */
		sk_proxy_sess_close(s);
		return false;
	}
	return used > 0;
}

static bool client_flush(struct sk_proxy_sess *s)
{
	bool progress = false;

	while (s->can_write && s->out_len > s->out_off) {
		ssize_t n = send(s->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				s->can_write = false;
				break;
			}
			sk_proxy_sess_close(s);
			return false;
		}
		s->out_off += (size_t)n;
		s->last_active = s->w->now;
		progress = true;
		if (s->out_off < s->out_len)
			s->can_write = false;
	}
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
	return progress;
}

static bool up_flush(struct sk_proxy_sess *s)
{
	struct sk_proxy_uconn *u = s->u;
	bool progress = false;

	while (u->can_write && s->up_sent < s->rbuf_len) {
		ssize_t n =
		    send(u->fd, s->rbuf + s->up_sent, s->rbuf_len - s->up_sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR ||
			    (errno == ENOTCONN && !u->connected)) {
				u->can_write = false;
				break;
			}
			if (s->phase == SK_PROXY_P_TRY) {
				try_failed(s, u->connected ? SK_PROXY_F_RESET : SK_PROXY_F_CONNECT);
			} else {
				/* the endpoint stopped reading our body but may answer: keep reading */
				u->can_write = false;
				s->up_sent = s->rbuf_len;
				s->keep_alive = false;
				return false;
			}
			return false;
		}
		if (!u->connected) {
			u->connected = true;
			if (s->connect_deadline) {
				s->connect_deadline = 0;
				arm_try_timer(s);
			}
		}
		s->up_sent += (size_t)n;
		progress = true;
		if (s->up_sent < s->rbuf_len)
			u->can_write = false;
	}
	if (!s->replayable && s->up_sent == s->rbuf_len)
		s->up_sent = s->rbuf_len = 0; /* streaming: nothing to keep */
	return progress;
}

static bool up_read(struct sk_proxy_sess *s)
{
	struct sk_proxy_uconn *u = s->u;
	size_t room;
	ssize_t n;

	if (!u->can_read || u->eof)
		return false;
	if (u->in_off == u->in_len) {
		u->in_off = u->in_len = 0;
	} else if (u->in_off > 0 && u->in_len == SK_PROXY_IN_SIZE) {
		memmove(u->in, u->in + u->in_off, u->in_len - u->in_off);
		u->in_len -= u->in_off;
		u->in_off = 0;
	}
	room = SK_PROXY_IN_SIZE - u->in_len;
	if (room == 0)
		return false;
	n = recv(u->fd, u->in + u->in_len, room, 0);
	if (n > 0) {
		u->in_len += (size_t)n;
		u->got_bytes = true;
		u->connected = true;
		s->last_active = s->w->now;
		if ((size_t)n < room && !u->hup)
			u->can_read = false;
		return true;
	}
	u->can_read = false;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n < 0 && !u->connected && s->phase == SK_PROXY_P_TRY) {
		try_failed(s, SK_PROXY_F_CONNECT);
		return false;
	}
	u->eof = true;
	return true;
}

static bool want_response_step(struct sk_proxy_sess *s)
{
	return !s->dead && s->u &&
	       (s->u->in_len > s->u->in_off || s->u->eof || s->phase == SK_PROXY_P_RESP);
}

/*
 * Moves data until nothing moves.  Each parser runs until it stalls before
 * its output is flushed, so a head and a small body leave in one send.
 */
void sk_proxy_http_run(struct sk_proxy_sess *s)
{
	int guard;

	for (guard = 0; guard < 1000 && !s->dead; guard++) {
		unsigned gen = s->gen;
		bool progress = client_read(s);

		while (!s->dead && client_parse(s))
			progress = true;
		if (!s->dead && s->u && s->up_sent < s->rbuf_len)
			progress |= up_flush(s);
		if (!s->dead && s->u)
			progress |= up_read(s);
		while (want_response_step(s) && response_step(s))
			progress = true;
		if (s->tcp) { /* switched protocols: a splice from now on */
			sk_proxy_tcp_run(s);
			return;
		}
		if (!s->dead)
			progress |= client_flush(s);
		if (s->dead)
			return;
		if (s->phase == SK_PROXY_P_CLOSE && s->out_len == 0) {
			sk_proxy_sess_close(s);
			return;
		}
		if (!progress && gen == s->gen)
			break;
	}
	if (guard == 1000 && !s->dead)
		sk_proxy_run_again(s); /* bytes may wait behind an edge already reported */
}

void sk_proxy_http_start(struct sk_proxy_sess *s)
{
	struct sk_proxy_snap *snap = s->w->ws->snap;

	sk_http_parser_init(&s->req, SK_HTTP_REQUEST, &req_limits);
	s->phase = SK_PROXY_P_IDLE;
	s->rq = SK_PROXY_RQ_HEAD;
	s->idle_ns = 60000000000ull;
	for (size_t i = 0; i < snap->n_listeners; i++)
		if (snap->listeners[i].ls == s->ls)
			s->idle_ns =
			    snap->clusters[snap->listeners[i].cluster].policy.idle_timeout_ns;
	sk_proxy_timer_set(s->w, &s->timer, s->w->now + s->idle_ns);
	s->can_read = s->can_write = true;
	sk_proxy_http_run(s);
}

void sk_proxy_http_timer(struct sk_proxy_sess *s)
{
	struct sk_proxy_worker *w = s->w;
	bool timed = s->timed;

	s->timed = false;
	if (s->phase == SK_PROXY_P_WAIT) {
		begin_try(s);
	} else if (s->phase == SK_PROXY_P_TRY && timed) {
		if (s->connect_deadline && w->now >= s->connect_deadline)
			try_failed(s, SK_PROXY_F_CONNECT);
		else if (s->total_deadline && w->now >= s->total_deadline)
			respond(s, 504, "upstream timeout", false);
		else if (s->try_deadline && w->now >= s->try_deadline)
			try_failed(s, SK_PROXY_F_TIMEOUT);
		else
			arm_try_timer(s);
	} else if (s->last_active + s->idle_ns <= w->now) {
		if (s->phase == SK_PROXY_P_TRY)
			try_failed(s, SK_PROXY_F_TIMEOUT);
		else
			sk_proxy_sess_close(s);
		return;
	} else {
		sk_proxy_timer_set(w, &s->timer, s->last_active + s->idle_ns);
		return;
	}
	if (!s->dead && s->timer.idx == SIZE_MAX)
		sk_proxy_timer_set(w, &s->timer, s->last_active + s->idle_ns);
	sk_proxy_http_run(s);
}

void sk_proxy_http_abort(struct sk_proxy_sess *s)
{
	end_request(s);
}
