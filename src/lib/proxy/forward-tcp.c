/* SPDX-License-Identifier: Apache-2.0 */
/*
 * forward-tcp.c - raw TCP mode: pick an endpoint, connect (trying the other
 * endpoints when a connect fails), then copy both ways through two fixed
 * buffers (the session's input buffer one way, the upstream connection's
 * the other).  A half-close is passed on with shutdown(SHUT_WR); the
 * session ends when both directions are done or on an error.
 *
 * The same splice carries an HTTP upgrade once the endpoint answered 101
 * (forward-http.c hands the session over with sk_proxy_tcp_splice()): the
 * 101 head waiting in s->out goes to the client first, and bytes already
 * buffered on either side are copied on like any others.
 *
 * Faults: the delay is applied before connecting; an abort closes the
 * client connection.  The bulkhead counts connections.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/proxy-internal.h"

#define TCP_METHOD (SK_PROXY_NMETHODS - 1) /* "OTHER" */

static void tcp_fail(struct sk_proxy_sess *s)
{
	if (s->in_request)
		sk_proxy_stats_request(s->cl->st, s->w->idx, TCP_METHOD, 503,
				       s->w->now - s->started);
	sk_proxy_sess_close(s);
}

static void tcp_connect(struct sk_proxy_sess *s)
{
	struct sk_proxy_scluster *c = s->cl;
	struct sk_proxy_worker *w = s->w;

	while (s->tries < (int)c->n_eps + 1) {
		int err = 0, idx = sk_proxy_pick(c, s->tried, w->now, sk_proxy_rand(w));
		struct sk_proxy_uconn *u;

		if (idx < 0 && c->fallback < 0)
			idx = sk_proxy_pick_panic(c, s->tried, w->now);
		if (idx < 0 || (idx < 64 && (s->tried & (1ull << idx))))
			break;
		s->tried |= idx < 64 ? 1ull << idx : 0;
		s->tries++;
		s->ep = &c->eps[idx];
		atomic_fetch_add_explicit(&s->ep->st->outstanding, 1, memory_order_relaxed);
		u = sk_proxy_uconn_get(w, s->ep, true, &err);
		if (!u) {
			sk_proxy_outlier_record(c, s->ep, false, false, true, w->now);
			atomic_fetch_sub_explicit(&s->ep->st->outstanding, 1, memory_order_relaxed);
			s->ep = NULL;
			continue;
		}
		u->s = s;
		s->u = u;
		u->can_read = u->can_write = false;
		s->phase = SK_PROXY_P_TRY;
		s->timed = true;
		sk_proxy_timer_set(w, &s->timer, w->now + c->policy.connect_timeout_ns);
		return;
	}
	tcp_fail(s);
}

static void connect_failed(struct sk_proxy_sess *s)
{
	sk_proxy_outlier_record(s->cl, s->ep, false, false, true, s->w->now);
	atomic_fetch_sub_explicit(&s->ep->st->outstanding, 1, memory_order_relaxed);
	s->ep = NULL;
	sk_proxy_uconn_release(s->u, false);
	s->u = NULL;
	tcp_connect(s);
}

void sk_proxy_tcp_splice(struct sk_proxy_sess *s, uint64_t idle_ns)
{
	s->tcp = true;
	s->phase = SK_PROXY_P_RESP;
	s->timed = false;
	s->idle_ns = idle_ns;
	s->last_active = s->w->now;
	sk_proxy_timer_set(s->w, &s->timer, s->w->now + idle_ns);
}

static void connected(struct sk_proxy_sess *s)
{
	struct sk_proxy_scluster *c = s->cl;

	s->u->connected = true;
	sk_proxy_outlier_record(c, s->ep, true, false, false, s->w->now);
	sk_proxy_ctr_add(&s->ep->st->requests[sk_proxy_status_class(200)], 1);
	sk_proxy_stats_request(c->st, s->w->idx, TCP_METHOD, 200, s->w->now - s->started);
	sk_proxy_tcp_splice(s, c->policy.idle_timeout_ns);
}

void sk_proxy_tcp_start(struct sk_proxy_sess *s, struct sk_proxy_scluster *c)
{
	struct sk_proxy_worker *w = s->w;
	const struct sk_proxy_fault *f = &c->fault;

	s->ws = w->ws;
	s->ws->users++;
	s->cl = s->entry = c;
	s->started = w->now;
	s->idle_ns = c->policy.idle_timeout_ns;
	if (c->policy.max_concurrent > 0 &&
	    atomic_load_explicit(&c->st->active_requests, memory_order_relaxed) >=
		c->policy.max_concurrent) {
		sk_proxy_ctr_add(&c->st->rejected, 1);
		sk_proxy_sess_close(s);
		return;
	}
	atomic_fetch_add_explicit(&c->st->active_requests, 1, memory_order_relaxed);
	s->active[s->n_active++] = c->st;
	s->in_request = true;
	if (f->abort_status && sk_proxy_roll(f->abort_percent, sk_proxy_rand(w))) {
		sk_proxy_ctr_add(&c->st->fault_aborts, 1);
		sk_proxy_sess_close(s);
		return;
	}
	if (f->delay_percent > 0 && sk_proxy_roll(f->delay_percent, sk_proxy_rand(w))) {
		uint64_t d = f->delay_ns;

		if (f->delay_jitter_ns) {
			uint64_t j = sk_proxy_rand(w) % (2 * f->delay_jitter_ns + 1);

			d = d + j > f->delay_jitter_ns ? d + j - f->delay_jitter_ns : 0;
		}
		sk_proxy_ctr_add(&c->st->fault_delays, 1);
		s->phase = SK_PROXY_P_WAIT;
		s->timed = true;
		sk_proxy_timer_set(w, &s->timer, w->now + d);
		return;
	}
	tcp_connect(s);
	if (!s->dead)
		sk_proxy_tcp_run(s);
}

/* Copies buf[*off..*len) to fd; returns 1 when it sent bytes, 0 when not, -1 on an error. */
static int copy_out(int fd, char *buf, size_t *off, size_t *len, bool *can_write)
{
	int moved = 0;

	while (*can_write && *off < *len) {
		ssize_t n = send(fd, buf + *off, *len - *off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				*can_write = false;
				break;
			}
			return -1;
		}
		*off += (size_t)n;
		moved = 1;
	}
	if (*off == *len)
		*off = *len = 0;
	return moved;
}

/* Reads into buf; returns 1 on data, 0 on nothing, -1 on EOF or error. */
static int copy_in(int fd, char *buf, size_t *len, bool *can_read)
{
	ssize_t n;

	if (!*can_read || *len == SK_PROXY_IN_SIZE)
		return 0;
	n = recv(fd, buf + *len, SK_PROXY_IN_SIZE - *len, 0);
	if (n > 0) {
		*len += (size_t)n;
		return 1;
	}
	*can_read = false;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1;
}

/*
 * One round of the splice: read both sides, write both sides (the client
 * gets what waits in s->out before any byte of the endpoint), pass on
 * half-closes.  Returns true when bytes moved; closes the session when both
 * directions are done or on an error.
 */
static bool tcp_step(struct sk_proxy_sess *s)
{
	struct sk_proxy_uconn *u = s->u;
	bool progress = false;
	int r, w1, w2, w3 = 0;

	if (!s->rd_eof) {
		r = copy_in(s->fd, s->in, &s->in_len, &s->can_read);
		if (r < 0)
			s->rd_eof = true;
		progress |= r != 0;
	}
	if (!u->eof) {
		r = copy_in(u->fd, u->in, &u->in_len, &u->can_read);
		if (r < 0)
			u->eof = true;
		progress |= r != 0;
	}
	if (progress)
		s->last_active = s->w->now;
	w1 = copy_out(u->fd, s->in, &s->in_off, &s->in_len, &u->can_write);
	w2 = copy_out(s->fd, s->out, &s->out_off, &s->out_len, &s->can_write);
	if (w1 >= 0 && w2 >= 0 && s->out_len == 0)
		w3 = copy_out(s->fd, u->in, &u->in_off, &u->in_len, &s->can_write);
	if (w1 < 0 || w2 < 0 || w3 < 0) {
		sk_proxy_sess_close(s);
		return false;
	}
	progress |= w1 || w2 || w3;
	if (s->rd_eof && s->in_len == 0 && !u->wr_shut) {
		(void)shutdown(u->fd, SHUT_WR);
		u->wr_shut = true;
	}
	if (u->eof && u->in_len == 0 && s->out_len == 0 && !s->wr_shut) {
		(void)shutdown(s->fd, SHUT_WR);
		s->wr_shut = true;
	}
	if (s->wr_shut && u->wr_shut) {
		sk_proxy_sess_close(s);
		return false;
	}
	return progress;
}

void sk_proxy_tcp_run(struct sk_proxy_sess *s)
{
	if (s->dead || !s->u)
		return;
	if (s->phase == SK_PROXY_P_TRY) {
		struct sk_proxy_uconn *u = s->u;
		int soerr = 0;
		socklen_t l = sizeof(soerr);

		if (!u->can_write && !u->can_read)
			return;
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0 || soerr) {
			connect_failed(s);
			return;
		}
		if (!u->can_write)
			return;
		connected(s);
	}
	int guard;

	for (guard = 0; guard < 64 && !s->dead; guard++)
		if (!tcp_step(s))
			break;
	if (guard == 64 && !s->dead)
		sk_proxy_run_again(s); /* bytes may wait behind an edge already reported */
}

void sk_proxy_tcp_timer(struct sk_proxy_sess *s)
{
	struct sk_proxy_worker *w = s->w;

	if (s->phase == SK_PROXY_P_WAIT) {
		s->timed = false;
		tcp_connect(s);
		if (!s->dead)
			sk_proxy_tcp_run(s);
	} else if (s->phase == SK_PROXY_P_TRY) {
		connect_failed(s);
	} else if (s->last_active + s->idle_ns <= w->now) {
		sk_proxy_sess_close(s);
	} else {
		sk_proxy_timer_set(w, &s->timer, s->last_active + s->idle_ns);
	}
}
