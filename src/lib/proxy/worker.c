/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.c - one proxy worker thread: its epoll loop, its timer heap, its
 * listening sockets (one SO_REUSEPORT socket per listener), the client
 * sessions it accepted and its upstream connections and their pools.
 *
 * Every socket is registered once, edge-triggered for EPOLLIN and EPOLLOUT,
 * so forwarding a request needs no epoll_ctl.  Objects closed while a batch
 * of events is being handled are freed after the batch (a later event of
 * the same batch may still point at them).  This file does not parse or
 * forward anything: forward-http.c and forward-tcp.c do.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "proxy/proxy-internal.h"

#define SWEEP_NS 1000000000ull

/* ---- timers: a binary min-heap of pointers ---- */

static void heap_swap(struct sk_proxy_worker *w, size_t a, size_t b)
{
	struct sk_proxy_timer *t = w->heap[a];

	w->heap[a] = w->heap[b];
	w->heap[b] = t;
	w->heap[a]->idx = a;
	w->heap[b]->idx = b;
}

static void heap_up(struct sk_proxy_worker *w, size_t i)
{
	while (i > 0 && w->heap[(i - 1) / 2]->at > w->heap[i]->at) {
		heap_swap(w, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct sk_proxy_worker *w, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < w->n_heap && w->heap[l]->at < w->heap[m]->at)
			m = l;
		if (r < w->n_heap && w->heap[r]->at < w->heap[m]->at)
			m = r;
		if (m == i)
			return;
		heap_swap(w, i, m);
		i = m;
	}
}

void sk_proxy_timer_stop(struct sk_proxy_worker *w, struct sk_proxy_timer *t)
{
	size_t i = t->idx;

	if (i == SIZE_MAX)
		return;
	t->idx = SIZE_MAX;
	if (i != --w->n_heap) {
		w->heap[i] = w->heap[w->n_heap];
		w->heap[i]->idx = i;
		heap_up(w, i);
		heap_down(w, i);
	}
}

void sk_proxy_timer_set(struct sk_proxy_worker *w, struct sk_proxy_timer *t, uint64_t at)
{
	if (t->idx != SIZE_MAX) {
		bool later = at > t->at;

		t->at = at;
		if (later)
			heap_down(w, t->idx);
		else
			heap_up(w, t->idx);
		return;
	}
	if (w->n_heap == w->cap_heap) {
		w->cap_heap = w->cap_heap ? 2 * w->cap_heap : 64;
		w->heap = sk_realloc(w->heap, w->cap_heap * sizeof(*w->heap));
	}
	t->at = at;
	t->idx = w->n_heap;
	w->heap[w->n_heap++] = t;
	heap_up(w, t->idx);
}

uint64_t sk_proxy_rand(struct sk_proxy_worker *w)
{
	/* xorshift64*: per worker, no locking */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dull;
}

/* ---- snapshots ---- */

static void uconn_close(struct sk_proxy_uconn *u);

static bool snap_has_endpoint(const struct sk_proxy_snap *s, const struct sk_proxy_estate *e)
{
	for (size_t i = 0; i < s->n_clusters; i++)
		for (size_t j = 0; j < s->clusters[i].n_eps; j++)
			if (s->clusters[i].eps[j].st == e)
				return true;
	return false;
}

/* Idle connections to endpoints the new snapshot no longer names are closed. */
static void drop_stale_pools(struct sk_proxy_worker *w, const struct sk_proxy_snap *s)
{
	struct sk_proxy_uconn *u = w->uconns, *next;

	for (; u; u = next) {
		next = u->anext;
		if (u->pooled && !snap_has_endpoint(s, u->est))
			uconn_close(u);
	}
}

void sk_proxy_ws_release(struct sk_proxy_worker *w, struct sk_proxy_wsnap *ws)
{
	if (!ws || --ws->users > 0 || ws == w->ws)
		return;
	for (struct sk_proxy_wsnap **pp = &w->ws; *pp; pp = &(*pp)->next)
		if (*pp == ws) {
			*pp = ws->next;
			break;
		}
	/* Unreferenced after the batch (free_dead): a later event of this batch may still
	 * name a listener only this snapshot keeps alive. */
	ws->next = w->released;
	w->released = ws;
}

static bool snap_has(const struct sk_proxy_snap *s, const struct sk_proxy_lsock *ls)
{
	for (size_t i = 0; s && i < s->n_listeners; i++)
		if (s->listeners[i].ls == ls)
			return true;
	return false;
}

static void refresh(struct sk_proxy_worker *w)
{
	struct sk_proxy_snap *old = w->ws ? w->ws->snap : NULL, *s;
	struct sk_proxy_wsnap *ws, *prev = w->ws;

	s = atomic_exchange(&w->pending, NULL);
	if (!s)
		return;

	for (size_t i = 0; i < s->n_listeners; i++) {
		struct sk_proxy_lsock *ls = s->listeners[i].ls;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &ls->tags[w->idx] };

		if (!snap_has(old, ls))
			(void)epoll_ctl(w->epfd, EPOLL_CTL_ADD, ls->fds[w->idx], &ev);
	}
	for (size_t i = 0; old && i < old->n_listeners; i++) {
		struct sk_proxy_lsock *ls = old->listeners[i].ls;

		if (!snap_has(s, ls))
			(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, ls->fds[w->idx], NULL);
	}
	drop_stale_pools(w, s);
	sk_proxy_udp_refresh(w, s);
	ws = sk_new0(struct sk_proxy_wsnap, 1);
	ws->snap = s;
	ws->users = 1; /* the worker's own use while it is current (the reference it was given) */
	ws->next = w->ws;
	w->ws = ws;
	sk_proxy_ws_release(w, prev);
}

/* ---- upstream connections ---- */

static void uconn_unlink_pool(struct sk_proxy_uconn *u)
{
	struct sk_proxy_pool *pool = &u->est->pools[u->w->idx];

	if (u->pprev)
		u->pprev->pnext = u->pnext;
	else
		pool->head = u->pnext;
	if (u->pnext)
		u->pnext->pprev = u->pprev;
	else
		pool->tail = u->pprev;
	u->pprev = u->pnext = NULL;
	u->pooled = false;
}

static void uconn_close(struct sk_proxy_uconn *u)
{
	struct sk_proxy_worker *w = u->w;

	if (u->pooled)
		uconn_unlink_pool(u);
	/* explicit: a process forked meanwhile (skiffd's launch helpers) may hold a copy
	 * of the fd, and epoll drops a registration only when every copy is closed */
	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, u->fd, NULL);
	close(u->fd);
	u->fd = -1;
	u->s = NULL;
	if (u->aprev)
		u->aprev->anext = u->anext;
	else
		w->uconns = u->anext;
	if (u->anext)
		u->anext->aprev = u->aprev;
	u->aprev = NULL;
	u->anext = w->dead_uconns;
	w->dead_uconns = u;
}

static void uconn_free(struct sk_proxy_uconn *u)
{
	sk_http_parser_release(&u->resp);
	free(u->in);
	free(u);
}

void sk_proxy_uconn_release(struct sk_proxy_uconn *u, bool reuse)
{
	struct sk_proxy_pool *pool;

	if (!u)
		return;
	if (!reuse || u->eof || u->hup || u->in_len > u->in_off) {
		uconn_close(u);
		return;
	}
	u->s = NULL;
	u->in_off = u->in_len = 0;
	sk_http_parser_reset(&u->resp);
	u->idle_since = u->w->now;
	pool = &u->est->pools[u->w->idx];
	u->pprev = NULL;
	u->pnext = pool->head;
	if (pool->head)
		pool->head->pprev = u;
	else
		pool->tail = u;
	pool->head = u;
	u->pooled = true;
}

static int uconn_connect(struct sk_proxy_worker *w, struct sk_proxy_sep *ep,
			 struct sk_proxy_uconn **ret)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct sk_proxy_uconn *u;
	int one = 1, fd, r;

	fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r = connect(fd, (const struct sockaddr *)&ep->addr, ep->addrlen);
	if (r < 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	u = sk_new0(struct sk_proxy_uconn, 1);
	u->tag.kind = SK_PROXY_K_UPSTREAM;
	u->fd = fd;
	u->w = w;
	u->est = ep->st;
	u->addr = ep->addr;
	u->addrlen = ep->addrlen;
	u->connected = r == 0;
	u->in = malloc(SK_PROXY_IN_SIZE);
	if (!u->in)
		abort();
	sk_http_parser_init(&u->resp, SK_HTTP_RESPONSE,
			    &(struct sk_http_limits){ 8192, 100, SK_PROXY_MAX_HEAD });
	ev.data.ptr = &u->tag;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		close(fd);
		uconn_free(u);
		return r;
	}
	u->anext = w->uconns;
	if (w->uconns)
		w->uconns->aprev = u;
	w->uconns = u;
	*ret = u;
	return 0;
}

struct sk_proxy_uconn *sk_proxy_uconn_get(struct sk_proxy_worker *w, struct sk_proxy_sep *ep,
					  bool fresh, int *ret_err)
{
	struct sk_proxy_pool *pool = &ep->st->pools[w->idx];
	struct sk_proxy_uconn *u;
	int r;

	while (!fresh && (u = pool->head)) {
		uconn_unlink_pool(u);
		if (u->addrlen == ep->addrlen && memcmp(&u->addr, &ep->addr, ep->addrlen) == 0 &&
		    !u->eof) {
			u->reused = true;
			u->got_bytes = false;
			return u;
		}
		uconn_close(u);
	}
	r = uconn_connect(w, ep, &u);
	if (r < 0) {
		*ret_err = r;
		return NULL;
	}
	return u;
}

static void sweep(struct sk_proxy_worker *w)
{
	struct sk_proxy_snap *s = w->ws ? w->ws->snap : NULL;

	for (size_t i = 0; s && i < s->n_clusters; i++) {
		struct sk_proxy_scluster *c = &s->clusters[i];

		for (size_t j = 0; j < c->n_eps; j++) {
			struct sk_proxy_pool *pool = &c->eps[j].st->pools[w->idx];

			while (pool->tail &&
			       pool->tail->idle_since + c->policy.idle_timeout_ns <= w->now)
				uconn_close(pool->tail);
		}
	}
}

static void uconn_event(struct sk_proxy_uconn *u, uint32_t events)
{
	if (u->fd < 0)
		return;
	if (!u->s) {
		/* idle in the pool: anything but silence means it is done */
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			uconn_close(u);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		u->can_read = true;
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		u->hup = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		u->can_write = true;
	if (u->s->tcp)
		sk_proxy_tcp_run(u->s);
	else
		sk_proxy_http_run(u->s);
}

/* ---- client sessions ---- */

void sk_proxy_sess_close(struct sk_proxy_sess *s)
{
	struct sk_proxy_worker *w = s->w;

	if (s->dead)
		return;
	s->dead = true;
	sk_proxy_http_abort(s);
	if (s->conn_st)
		atomic_fetch_sub_explicit(&s->conn_st->active_conns, 1, memory_order_relaxed);
	if (s->u) {
		uconn_close(s->u);
		s->u = NULL;
	}
	sk_proxy_timer_stop(w, &s->timer);
	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL); /* see uconn_close() */
	close(s->fd);
	s->fd = -1;
	if (s->prev)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = NULL;
	s->next = w->dead_sessions;
	w->dead_sessions = s;
}

static void sess_free(struct sk_proxy_sess *s)
{
	sk_http_parser_release(&s->req);
	sk_proxy_lsock_unref(s->ls);
	free(s->rbuf);
	free(s);
}

static void peer_str(const struct sockaddr_storage *sa, char *buf, size_t n)
{
	buf[0] = 0;
	if (sa->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)n);
	else if (sa->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  (socklen_t)n);
}

static void accept_one(struct sk_proxy_worker *w, struct sk_proxy_lsock *ls, int fd,
		       const struct sockaddr_storage *sa)
{
	struct sk_proxy_snap *snap = w->ws->snap;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct sk_proxy_scluster *c = NULL;
	struct sk_proxy_sess *s;
	int one = 1;

	for (size_t i = 0; i < snap->n_listeners; i++)
		if (snap->listeners[i].ls == ls)
			c = &snap->clusters[snap->listeners[i].cluster];
	if (!c) {
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s = malloc(sizeof(*s) + SK_PROXY_IN_SIZE + SK_PROXY_OUT_SIZE);
	if (!s)
		abort();
	memset(s, 0, sizeof(*s));
	s->tag.kind = SK_PROXY_K_CLIENT;
	s->fd = fd;
	s->w = w;
	s->ls = ls;
	atomic_fetch_add(&ls->ref, 1);
	s->timer.idx = SIZE_MAX;
	s->in = (char *)(s + 1);
	s->out = s->in + SK_PROXY_IN_SIZE;
	s->last_active = w->now;
	s->tcp = c->policy.mode == SK_PROXY_TCP;
	peer_str(sa, s->peer, sizeof(s->peer));
	s->next = w->sessions;
	if (w->sessions)
		w->sessions->prev = s;
	w->sessions = s;
	ev.data.ptr = &s->tag;
	s->conn_st = c->st;
	atomic_fetch_add_explicit(&c->st->active_conns, 1, memory_order_relaxed);
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		sk_proxy_sess_close(s);
		return;
	}
	if (s->tcp)
		sk_proxy_tcp_start(s, c);
	else
		sk_proxy_http_start(s);
}

/* Turns the current listeners on or off (out of fds: the backlog waits, no busy loop). */
static void listeners_enable(struct sk_proxy_worker *w, bool on)
{
	struct sk_proxy_snap *s = w->ws ? w->ws->snap : NULL;

	for (size_t i = 0; s && i < s->n_listeners; i++) {
		struct sk_proxy_lsock *ls = s->listeners[i].ls;
		struct epoll_event ev = { .events = on ? EPOLLIN : 0,
					  .data.ptr = &ls->tags[w->idx] };

		(void)epoll_ctl(w->epfd, EPOLL_CTL_MOD, ls->fds[w->idx], &ev);
	}
}

static void listener_event(struct sk_proxy_worker *w, struct sk_proxy_lsock *ls)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(ls->fds[w->idx], (struct sockaddr *)&sa, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				listeners_enable(w, false);
				w->accept_resume = w->now + 100000000ull;
			}
			return;
		}
		accept_one(w, ls, fd, &sa);
	}
}

static void sess_event(struct sk_proxy_sess *s, uint32_t events)
{
	if (s->dead)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->can_read = true;
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->hup = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		s->can_write = true;
	if (s->tcp)
		sk_proxy_tcp_run(s);
	else
		sk_proxy_http_run(s);
}

static void run_timers(struct sk_proxy_worker *w)
{
	while (w->n_heap && w->heap[0]->at <= w->now) {
		struct sk_proxy_timer *t = w->heap[0];
		struct sk_proxy_sess *s =
		    (struct sk_proxy_sess *)((char *)t - offsetof(struct sk_proxy_sess, timer));

		sk_proxy_timer_stop(w, t);
		if (s->tcp)
			sk_proxy_tcp_timer(s);
		else
			sk_proxy_http_timer(s);
	}
}

void sk_proxy_run_again(struct sk_proxy_sess *s)
{
	struct sk_proxy_worker *w = s->w;

	if (s->more)
		return;
	if (w->n_again == w->cap_again) {
		w->cap_again = w->cap_again ? 2 * w->cap_again : 16;
		w->again = sk_realloc(w->again, w->cap_again * sizeof(*w->again));
	}
	s->more = true;
	w->again[w->n_again++] = s;
}

/* Before free_dead(): a session that died while listed is skipped, not freed yet. */
static void run_again(struct sk_proxy_worker *w)
{
	size_t n = w->n_again;
	struct sk_proxy_sess **v = w->again;

	if (n == 0)
		return;
	w->again = NULL;
	w->n_again = w->cap_again = 0;
	for (size_t i = 0; i < n; i++) {
		struct sk_proxy_sess *s = v[i];

		s->more = false;
		if (s->dead)
			continue;
		if (s->tcp)
			sk_proxy_tcp_run(s);
		else
			sk_proxy_http_run(s);
	}
	free(v);
}

static void free_dead(struct sk_proxy_worker *w)
{
	while (w->dead_sessions) {
		struct sk_proxy_sess *s = w->dead_sessions;

		w->dead_sessions = s->next;
		sess_free(s);
	}
	while (w->dead_uconns) {
		struct sk_proxy_uconn *u = w->dead_uconns;

		w->dead_uconns = u->anext;
		uconn_free(u);
	}
	while (w->released) {
		struct sk_proxy_wsnap *ws = w->released;

		w->released = ws->next;
		sk_proxy_snap_unref(ws->snap);
		free(ws);
	}
}

static void dispatch(struct sk_proxy_worker *w, struct epoll_event *ev)
{
	struct sk_proxy_tag *tag = ev->data.ptr;
	uint64_t v;

	switch (tag->kind) {
	case SK_PROXY_K_WAKE:
		if (read(w->evfd, &v, sizeof(v)) < 0) {
			/* EAGAIN: another wake consumed it */
		}
		refresh(w);
		break;
	case SK_PROXY_K_LISTEN:
		listener_event(w, ((struct sk_proxy_ltag *)tag)->ls);
		break;
	case SK_PROXY_K_CLIENT:
		sess_event((struct sk_proxy_sess *)tag, ev->events);
		break;
	case SK_PROXY_K_UPSTREAM:
		uconn_event((struct sk_proxy_uconn *)tag, ev->events);
		break;
	case SK_PROXY_K_UDP_LISTEN:
	case SK_PROXY_K_UDP_FLOW:
	case SK_PROXY_K_UDP_TIMER:
		sk_proxy_udp_event(w, tag);
		break;
	}
}

static void teardown(struct sk_proxy_worker *w)
{
	while (w->sessions)
		sk_proxy_sess_close(w->sessions);
	while (w->uconns)
		uconn_close(w->uconns);
	sk_proxy_udp_teardown(w);
	free_dead(w);
	free(TAKE_PTR(w->again));
	w->n_again = w->cap_again = 0;
	while (w->ws) {
		struct sk_proxy_wsnap *ws = w->ws;

		w->ws = ws->next;
		sk_proxy_snap_unref(ws->snap);
		free(ws);
	}
	free(w->heap);
}

void *sk_proxy_worker_main(void *arg)
{
	struct sk_proxy_worker *w = arg;
	struct epoll_event evs[128];

	w->now = sk_now_ns();
	w->next_sweep = w->now + SWEEP_NS;
	refresh(w);
	while (!atomic_load_explicit(&w->p->stop, memory_order_relaxed)) {
		int timeout = 1000, n;

		if (w->n_again) {
			timeout = 0;
		} else if (w->n_heap || w->accept_resume) {
			uint64_t at = w->n_heap ? w->heap[0]->at : w->accept_resume;

			if (w->accept_resume && w->accept_resume < at)
				at = w->accept_resume;

			timeout = at <= w->now ? 0 : (int)((at - w->now + 999999) / 1000000);
			if (timeout > 1000)
				timeout = 1000;
		}
		n = epoll_wait(w->epfd, evs, (int)SK_ELEMENTSOF(evs), timeout);
		w->now = sk_now_ns();
		for (int i = 0; i < n; i++)
			dispatch(w, &evs[i]);
		run_timers(w);
		run_again(w);
		if (w->accept_resume && w->now >= w->accept_resume) {
			w->accept_resume = 0;
			listeners_enable(w, true);
		}
		if (w->now >= w->next_sweep) {
			sweep(w);
			w->next_sweep = w->now + SWEEP_NS;
		}
		free_dead(w);
	}
	teardown(w);
	return NULL;
}
