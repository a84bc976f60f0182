/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy.c - the proxy object: worker threads, persistent per-cluster and
 * per-endpoint state, and publishing configuration snapshots.
 *
 * sk_proxy_publish() validates and deep-copies a config into an immutable
 * snapshot, opens listening sockets that are new (one SO_REUSEPORT socket
 * per worker) and swaps the snapshot in under the mutex; it gives each
 * worker a reference by atomic exchange of the worker's `pending` slot and
 * wakes it through its eventfd.  Workers never take a lock.  This file is not the
 * event loop (worker.c) nor the forwarding (forward-*.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "proxy/proxy-internal.h"

void sk_proxy_lsock_unref(struct sk_proxy_lsock *ls)
{
	if (!ls || atomic_fetch_sub(&ls->ref, 1) != 1)
		return;
	for (unsigned i = 0; i < ls->n; i++)
		if (ls->fds[i] >= 0)
			close(ls->fds[i]);
	free(ls->fds);
	free(ls->adopted);
	free(ls->tags);
	free(ls);
}

/* A snapshot stops naming ls: the last one closes the listening sockets. */
static void lsock_snap_release(struct sk_proxy_lsock *ls)
{
	if (atomic_fetch_sub(&ls->snaps, 1) == 1)
		for (unsigned i = 0; i < ls->n; i++)
			if (ls->fds[i] >= 0) {
				close(ls->fds[i]);
				ls->fds[i] = -1;
			}
	sk_proxy_lsock_unref(ls);
}

void sk_proxy_snap_unref(struct sk_proxy_snap *s)
{
	if (!s || atomic_fetch_sub(&s->ref, 1) != 1)
		return;
	for (size_t i = 0; i < s->n_clusters; i++) {
		struct sk_proxy_scluster *c = &s->clusters[i];

		for (size_t j = 0; j < c->n_eps; j++)
			free(c->eps[j].id);
		free(c->eps);
		free(c->name);
	}
	for (size_t i = 0; i < s->n_listeners; i++)
		lsock_snap_release(s->listeners[i].ls);
	free(s->clusters);
	free(s->listeners);
	free(s);
}

static struct sk_proxy_cstate *cstate_get(struct sk_proxy *p, const struct sk_proxy_cluster *c)
{
	struct sk_proxy_cstate *st;

	for (st = p->cstates; st; st = st->next)
		if (strcmp(st->name, c->name) == 0)
			break;
	if (!st) {
		st = sk_new0(struct sk_proxy_cstate, 1);
		st->name = sk_strdup(c->name);
		st->wstats = aligned_alloc(_Alignof(struct sk_proxy_wstats),
					   sizeof(struct sk_proxy_wstats) * p->threads);
		if (!st->wstats)
			abort();
		memset(st->wstats, 0, sizeof(struct sk_proxy_wstats) * p->threads);
		st->next = p->cstates;
		p->cstates = st;
	}
	free(st->app);
	free(st->service);
	st->app = sk_strdup(c->app ? c->app : "");
	st->service = sk_strdup(c->service ? c->service : c->name);
	return st;
}

static struct sk_proxy_estate *estate_get(struct sk_proxy *p, struct sk_proxy_cstate *cs,
					  const char *id)
{
	struct sk_proxy_estate *e;

	for (e = cs->endpoints; e; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	e = sk_new0(struct sk_proxy_estate, 1);
	e->id = sk_strdup(id);
	e->pools = sk_new0(struct sk_proxy_pool, p->threads);
	e->next = cs->endpoints;
	cs->endpoints = e;
	return e;
}

static bool addr_eq(const struct sockaddr_storage *a, socklen_t al,
		    const struct sockaddr_storage *b, socklen_t bl)
{
	return al == bl && memcmp(a, b, al) == 0;
}

/* "ADDR:PORT", "[ADDR6]:PORT", with "/udp" appended for a UDP listener. */
static void addr_str(const struct sockaddr_storage *a, bool udp, char *buf, size_t n)
{
	const char *proto = udp ? "/udp" : "";

	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)a;
		char h[64];

		inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
		snprintf(buf, n, "[%s]:%u%s", h, ntohs(s6->sin6_port), proto);
	} else {
		const struct sockaddr_in *s4 = (const void *)a;
		char h[32];

		inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
		snprintf(buf, n, "%s:%u%s", h, ntohs(s4->sin_port), proto);
	}
}

void sk_proxy_adopt(struct sk_proxy *p, int fd)
{
	pthread_mutex_lock(&p->lock);
	sk_spares_add(&p->spares, fd);
	pthread_mutex_unlock(&p->lock);
}

void sk_proxy_close_spares(struct sk_proxy *p)
{
	pthread_mutex_lock(&p->lock);
	sk_spares_close(&p->spares);
	pthread_mutex_unlock(&p->lock);
}

size_t sk_proxy_listener_fds(struct sk_proxy *p, int type, const struct sockaddr_storage *addr,
			     socklen_t addrlen, int *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t k = 0; p->cur && k < p->cur->n_listeners; k++) {
		const struct sk_proxy_lsock *ls = p->cur->listeners[k].ls;

		if ((ls->udp ? SOCK_DGRAM : SOCK_STREAM) != type ||
		    !addr_eq(&ls->addr, ls->addrlen, addr, addrlen))
			continue;
		for (unsigned i = 0; i < ls->n && n < max; i++) {
			int fd = ls->fds[i] >= 0 ? fcntl(ls->fds[i], F_DUPFD_CLOEXEC, 3) : -1;
			if (fd >= 0)
				out[n++] = fd;
		}
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* A listener of a publish that failed: its adopted sockets go back to the spares, under lock. */
static void lsock_return_spares(struct sk_proxy *p, struct sk_proxy_lsock *ls)
{
	for (unsigned i = 0; i < ls->n; i++)
		if (ls->adopted[i] && ls->fds[i] >= 0) {
			sk_spares_add(&p->spares, ls->fds[i]);
			ls->fds[i] = -1;
		}
}

/*
 * One worker's socket of a listener: TCP, or UDP without SO_REUSEADDR (for
 * UDP it would let us share a port another program holds, not fail).
 */
static int lsock_socket(const struct sk_proxy_listener *l, bool udp)
{
	int one = 1, fd;

	fd = socket(l->addr.ss_family,
		    (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if ((!udp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    (udp && sk_proxy_udp_sockopts(fd, l->addr.ss_family) < 0) ||
	    bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0 ||
	    (!udp && listen(fd, 1024) < 0)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int lsock_open(struct sk_proxy *p, const struct sk_proxy_listener *l, bool udp,
		      struct sk_proxy_lsock **ret, struct sk_error **err)
{
	struct sk_proxy_lsock *ls = sk_new0(struct sk_proxy_lsock, 1);
	char name[96];

	atomic_init(&ls->ref, 1);
	atomic_init(&ls->snaps, 1);
	ls->addr = l->addr;
	ls->addrlen = l->addrlen;
	ls->udp = udp;
	ls->n = p->threads;
	ls->fds = sk_new0(int, p->threads);
	ls->adopted = sk_new0(bool, p->threads);
	ls->fresh = true;
	ls->tags = sk_new0(struct sk_proxy_ltag, p->threads);
	for (unsigned i = 0; i < ls->n; i++) {
		ls->fds[i] = -1;
		ls->tags[i].tag.kind = udp ? SK_PROXY_K_UDP_LISTEN : SK_PROXY_K_LISTEN;
		ls->tags[i].ls = ls;
	}
	addr_str(&l->addr, udp, name, sizeof(name));
	for (unsigned i = 0; i < ls->n; i++) {
		int fd = sk_spares_take(&p->spares, udp ? SOCK_DGRAM : SOCK_STREAM,
					(const struct sockaddr *)&l->addr, l->addrlen);

		/* held across a restart of the daemon: bound (and listening) */
		ls->adopted[i] = fd >= 0;
		ls->fds[i] = fd >= 0 ? fd : lsock_socket(l, udp);
		if (ls->fds[i] < 0) {
			int r = sk_error_errno(err, "listen on '%s'", name);

			lsock_return_spares(p, ls);
			sk_proxy_lsock_unref(ls);
			return r;
		}
	}
	*ret = ls;
	return 0;
}

static int find_cluster(const struct sk_proxy_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_clusters; i++)
		if (strcmp(c->clusters[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Whether listener l serves a udp cluster (false for an unknown cluster). */
static bool listener_udp(const struct sk_proxy_config *c, const struct sk_proxy_listener *l)
{
	int i = l->cluster ? find_cluster(c, l->cluster) : -1;

	return i >= 0 && c->clusters[i].policy.mode == SK_PROXY_UDP;
}

/* Checks names, endpoints and fallbacks; fills fb[i] with fallback indexes. */
static int validate(const struct sk_proxy_config *c, int *fb, struct sk_error **err)
{
	for (size_t i = 0; i < c->n_clusters; i++) {
		const struct sk_proxy_cluster *cl = &c->clusters[i];

		if (!cl->name || !*cl->name)
			return sk_error_set(err, EINVAL, "cluster %zu has no name", i);
		if (find_cluster(c, cl->name) != (int)i)
			return sk_error_set(err, EINVAL, "duplicate cluster '%s'", cl->name);
		for (size_t j = 0; j < cl->n_endpoints; j++) {
			const struct sk_proxy_endpoint *e = &cl->endpoints[j];

			if (!e->id || e->addrlen == 0)
				return sk_error_set(
				    err, EINVAL, "cluster '%s': endpoint %zu has no id or address",
				    cl->name, j);
			for (size_t k = 0; k < j; k++)
				if (strcmp(cl->endpoints[k].id, e->id) == 0)
					return sk_error_set(err, EINVAL,
							    "cluster '%s': duplicate endpoint '%s'",
							    cl->name, e->id);
		}
		fb[i] = -1;
		if (cl->fallback) {
			fb[i] = find_cluster(c, cl->fallback);
			if (fb[i] < 0)
				return sk_error_set(err, EINVAL,
						    "cluster '%s': unknown fallback cluster '%s'",
						    cl->name, cl->fallback);
			/* datagrams and streams do not mix; a udp cluster has no fallback */
			if (cl->policy.mode == SK_PROXY_UDP ||
			    c->clusters[fb[i]].policy.mode == SK_PROXY_UDP)
				return sk_error_set(err, EINVAL,
						    "cluster '%s': no fallback to or from a udp "
						    "cluster ('%s')",
						    cl->name, cl->fallback);
		}
	}
	for (size_t i = 0; i < c->n_clusters; i++) {
		int at = fb[i];

		for (size_t steps = 0; at >= 0; steps++, at = fb[at])
			if (steps > c->n_clusters || at == (int)i)
				return sk_error_set(err, ELOOP, "cluster '%s': fallback cycle",
						    c->clusters[i].name);
	}
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct sk_proxy_listener *l = &c->listeners[i];

		if (!l->cluster || find_cluster(c, l->cluster) < 0)
			return sk_error_set(err, EINVAL, "listener %zu: unknown cluster '%s'", i,
					    l->cluster ? l->cluster : "(null)");
		for (size_t k = 0; k < i; k++)
			if (addr_eq(&c->listeners[k].addr, c->listeners[k].addrlen, &l->addr,
				    l->addrlen) &&
			    listener_udp(c, &c->listeners[k]) == listener_udp(c, l))
				return sk_error_set(err, EADDRINUSE,
						    "listener %zu: duplicate address", i);
	}
	return 0;
}

static void copy_cluster(struct sk_proxy *p, struct sk_proxy_scluster *d,
			 const struct sk_proxy_cluster *c, int fb)
{
	d->name = sk_strdup(c->name);
	d->policy = c->policy;
	sk_proxy_policy_defaults(&d->policy);
	d->fault = c->fault;
	d->fallback = fb;
	d->st = cstate_get(p, c);
	d->st->udp |= c->policy.mode == SK_PROXY_UDP;
	d->n_eps = c->n_endpoints;
	d->eps = sk_new0(struct sk_proxy_sep, c->n_endpoints ? c->n_endpoints : 1);
	for (size_t j = 0; j < c->n_endpoints; j++) {
		d->eps[j].id = sk_strdup(c->endpoints[j].id);
		d->eps[j].addr = c->endpoints[j].addr;
		d->eps[j].addrlen = c->endpoints[j].addrlen;
		d->eps[j].st = estate_get(p, d->st, c->endpoints[j].id);
	}
}

static int build_listeners(struct sk_proxy *p, const struct sk_proxy_config *c,
			   struct sk_proxy_snap *s, struct sk_error **err)
{
	s->listeners = sk_new0(struct sk_proxy_slistener, c->n_listeners ? c->n_listeners : 1);
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct sk_proxy_listener *l = &c->listeners[i];
		bool udp = listener_udp(c, l);
		struct sk_proxy_lsock *ls = NULL;

		for (size_t k = 0; p->cur && k < p->cur->n_listeners; k++) {
			struct sk_proxy_lsock *o = p->cur->listeners[k].ls;

			if (addr_eq(&o->addr, o->addrlen, &l->addr, l->addrlen) && o->udp == udp) {
				ls = o;
				atomic_fetch_add(&ls->ref, 1);
				atomic_fetch_add(&ls->snaps, 1);
				break;
			}
		}
		if (!ls) {
			int r = lsock_open(p, l, udp, &ls, err);

			if (r < 0)
				return r;
		}
		s->listeners[i].ls = ls;
		s->listeners[i].cluster = (size_t)find_cluster(c, l->cluster);
		s->n_listeners = i + 1;
	}
	return 0;
}

static void wake(struct sk_proxy_worker *w)
{
	uint64_t one = 1;

	if (write(w->evfd, &one, sizeof(one)) < 0) {
		/* the counter is full: the worker is awake already */
	}
}

int sk_proxy_publish(struct sk_proxy *p, const struct sk_proxy_config *c, struct sk_error **err)
{
	_cleanup_free_ int *fb = sk_new0(int, c->n_clusters + 1);
	struct sk_proxy_snap *s, *old;
	int r;

	r = validate(c, fb, err);
	if (r < 0)
		return r;
	s = sk_new0(struct sk_proxy_snap, 1);
	atomic_init(&s->ref, 1);
	pthread_mutex_lock(&p->lock);
	/* listeners first: a bind error must leave everything as it was */
	r = build_listeners(p, c, s, err);
	if (r < 0) {
		for (size_t i = 0; i < s->n_listeners; i++)
			if (s->listeners[i].ls->fresh)
				lsock_return_spares(p, s->listeners[i].ls);
		pthread_mutex_unlock(&p->lock);
		sk_proxy_snap_unref(s);
		return r;
	}
	for (size_t i = 0; i < s->n_listeners; i++)
		s->listeners[i].ls->fresh = false;
	s->clusters = sk_new0(struct sk_proxy_scluster, c->n_clusters ? c->n_clusters : 1);
	s->n_clusters = c->n_clusters;
	for (size_t i = 0; i < c->n_clusters; i++)
		copy_cluster(p, &s->clusters[i], &c->clusters[i], fb[i]);
	s->epoch = ++p->epoch;
	old = p->cur;
	p->cur = s;
	for (unsigned i = 0; i < p->threads; i++) {
		/* a reference for the worker; one it never took is dropped here */
		struct sk_proxy_snap *prev;

		atomic_fetch_add(&s->ref, 1);
		prev = atomic_exchange(&p->workers[i].pending, s);
		sk_proxy_snap_unref(prev);
		wake(&p->workers[i]);
	}
	pthread_mutex_unlock(&p->lock);
	sk_proxy_snap_unref(old);
	return 0;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > 4 ? 4 : (unsigned)n;
}

int sk_proxy_new(const struct sk_proxy_opts *o, struct sk_proxy **ret, struct sk_error **err)
{
	struct sk_proxy *p = sk_new0(struct sk_proxy, 1);
	int r = 0;

	p->threads = o && o->threads ? o->threads : default_threads();
	if (p->threads > SK_PROXY_MAX_THREADS)
		p->threads = SK_PROXY_MAX_THREADS;
	pthread_mutex_init(&p->lock, NULL);
	p->workers = sk_new0(struct sk_proxy_worker, p->threads);
	for (unsigned i = 0; i < p->threads; i++)
		p->workers[i].epfd = p->workers[i].evfd = -1;
	for (unsigned i = 0; i < p->threads; i++) {
		struct sk_proxy_worker *w = &p->workers[i];
		struct epoll_event ev = { .events = EPOLLIN };

		w->p = p;
		w->idx = i;
		w->wake_tag.kind = SK_PROXY_K_WAKE;
		w->rng = 0x9e3779b97f4a7c15ull * (i + 1) ^ (uint64_t)sk_now_ns();
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0) {
			r = sk_error_errno(err, "epoll_create1");
			break;
		}
		w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ev.data.ptr = &w->wake_tag;
		if (w->evfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev) < 0) {
			r = sk_error_errno(err, "eventfd");
			break;
		}
		/* workers take no signals: the control loop reads them through signalfd */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = -pthread_create(&w->thread, NULL, sk_proxy_worker_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r < 0) {
			sk_error_set(err, -r, "start proxy worker");
			break;
		}
		w->started = true;
	}
	if (r < 0) {
		sk_proxy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void sk_proxy_free(struct sk_proxy *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, true);
	for (unsigned i = 0; i < p->threads; i++) {
		struct sk_proxy_worker *w = &p->workers[i];

		if (w->started) {
			wake(w);
			pthread_join(w->thread, NULL);
		}
		if (w->evfd >= 0)
			close(w->evfd);
		if (w->epfd >= 0)
			close(w->epfd);
		sk_proxy_snap_unref(atomic_exchange(&w->pending, NULL));
	}
	sk_proxy_snap_unref(p->cur);
	sk_spares_close(&p->spares);
	while (p->cstates) {
		struct sk_proxy_cstate *c = p->cstates;

		p->cstates = c->next;
		while (c->endpoints) {
			struct sk_proxy_estate *e = c->endpoints;

			c->endpoints = e->next;
			free(e->id);
			free(e->pools);
			free(e);
		}
		free(c->name);
		free(c->app);
		free(c->service);
		free(c->wstats);
		free(c);
	}
	pthread_mutex_destroy(&p->lock);
	free(p->workers);
	free(p);
}
