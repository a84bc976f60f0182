/* SPDX-License-Identifier: Apache-2.0 */
/*
 * forward-udp.c - udp mode: datagrams between the clients of a UDP listener
 * and a cluster's endpoints, handled by each worker on its own.
 *
 * Each worker reads its own SO_REUSEPORT socket of every UDP listener; the
 * kernel hashes a client's address to one of them, so a client stays on one
 * worker.  A flow is (listener, client address): its first datagram picks an
 * endpoint with the cluster's balancer and opens a socket connected to it,
 * registered in the worker's epoll.  Later datagrams go the same way; what
 * the endpoint sends back goes to the client from the listener's socket, from
 * the address the client sent to (IP_PKTINFO), so the client sees the
 * published address answer.
 *
 * A flow ends after the cluster's idle timeout (default 30 s) without a
 * datagram either way, when its listener leaves the configuration, or when
 * the worker needs room (at most SK_PROXY_UDP_MAX_FLOWS; the flow idle the
 * longest goes).  A flow whose endpoint left the snapshot, or refused
 * (ECONNREFUSED from ICMP port unreachable on the connected socket: counted
 * for outlier ejection), picks another endpoint with its next datagram.
 *
 * Datagrams are copied through one buffer per worker: nothing is allocated
 * per datagram, and flows that end are kept for reuse (an event of the same
 * epoll batch may still name one: it finds fd -1, or a socket that has
 * nothing to read).  Not supported here: fallback clusters (publish refuses
 * them), fault delays (a datagram is not held back); a fault abort drops the
 * client's datagram; max_concurrent bounds the cluster's flows.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/util.h"
#include "proxy/proxy-internal.h"

#define BUCKETS 8192 /* a power of two, twice the flows */
#define BUDGET 64    /* datagrams per event before other sockets get a turn */
#define BUF_SIZE (64 * 1024)
#define MIN_TICK_NS 5000000ull
#define MAX_TICK_NS 1000000000ull

_Static_assert(BUCKETS >= 2 * SK_PROXY_UDP_MAX_FLOWS && (BUCKETS & (BUCKETS - 1)) == 0, "buckets");

/* Where a client's datagram was sent to (a cmsg of recvmsg, given back to sendmsg). */
struct udp_local {
	bool known;
	int level, type;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} u;
};

struct udp_flow {
	struct sk_proxy_tag tag; /* SK_PROXY_K_UDP_FLOW */
	int fd; /* connected to ep, or -1: pick an endpoint with the next datagram */
	struct sk_proxy_lsock *ls;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint32_t hash;
	struct udp_local local;
	struct sk_proxy_scluster *cl; /* of the worker's current snapshot */
	struct sk_proxy_sep *ep;      /* likewise, or NULL */
	struct sk_proxy_estate *est;  /* outstanding taken */
	struct sk_proxy_cstate *cst;  /* active_conns taken */
	uint64_t tried;		      /* endpoint indexes of cl that refused since the last reply */
	uint64_t last_active;
	struct udp_flow *hnext;	      /* bucket */
	struct udp_flow *prev, *next; /* least recently active first; the free list uses next */
};

struct sk_proxy_udp {
	struct sk_proxy_tag timer_tag; /* SK_PROXY_K_UDP_TIMER */
	int tfd;
	uint64_t tick_ns, min_idle_ns;
	struct udp_flow *buckets[BUCKETS];
	struct udp_flow *head, *tail, *free;
	size_t n_flows;
	char buf[BUF_SIZE];
};

int sk_proxy_udp_sockopts(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

/* ---- the flow table ---- */

static bool peer_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

	return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 16777619u;
	return h;
}

static uint32_t flow_hash(const struct sk_proxy_lsock *ls, const struct sockaddr_storage *a)
{
	uint32_t h = fnv(2166136261u, &ls, sizeof(ls));

	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a;

		h = fnv(h, &x->sin6_port, sizeof(x->sin6_port));
		return fnv(h, &x->sin6_addr, sizeof(x->sin6_addr));
	}
	const struct sockaddr_in *x = (const void *)a;

	h = fnv(h, &x->sin_port, sizeof(x->sin_port));
	return fnv(h, &x->sin_addr, sizeof(x->sin_addr));
}

static struct udp_flow *flow_find(struct sk_proxy_udp *u, const struct sk_proxy_lsock *ls,
				  const struct sockaddr_storage *peer, uint32_t h)
{
	for (struct udp_flow *f = u->buckets[h & (BUCKETS - 1)]; f; f = f->hnext)
		if (f->hash == h && f->ls == ls && peer_eq(&f->peer, peer))
			return f;
	return NULL;
}

static void lru_unlink(struct sk_proxy_udp *u, struct udp_flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		u->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		u->tail = f->prev;
	f->prev = f->next = NULL;
}

static void lru_append(struct sk_proxy_udp *u, struct udp_flow *f)
{
	f->prev = u->tail;
	f->next = NULL;
	if (u->tail)
		u->tail->next = f;
	else
		u->head = f;
	u->tail = f;
}

static void touch(struct sk_proxy_worker *w, struct udp_flow *f)
{
	f->last_active = w->now;
	if (w->udp->tail != f) {
		lru_unlink(w->udp, f);
		lru_append(w->udp, f);
	}
}

/* Runs the expiry tick while there are flows. */
static void timer_arm(struct sk_proxy_udp *u, bool on)
{
	struct itimerspec its = { 0 };

	if (on) {
		its.it_value.tv_sec = its.it_interval.tv_sec = (time_t)(u->tick_ns / 1000000000ull);
		its.it_value.tv_nsec = its.it_interval.tv_nsec = (long)(u->tick_ns % 1000000000ull);
	}
	(void)timerfd_settime(u->tfd, 0, &its, NULL);
}

/* Leaves the endpoint: the socket is closed; the next datagram picks again. */
static void flow_unbind(struct sk_proxy_worker *w, struct udp_flow *f)
{
	if (f->fd >= 0) {
		/* explicit: a forked process may hold a copy of the fd (see worker.c) */
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, f->fd, NULL);
		close(f->fd);
		f->fd = -1;
	}
	if (f->est)
		atomic_fetch_sub_explicit(&f->est->outstanding, 1, memory_order_relaxed);
	f->est = NULL;
	f->ep = NULL;
}

static void flow_end(struct sk_proxy_worker *w, struct udp_flow *f)
{
	struct sk_proxy_udp *u = w->udp;

	flow_unbind(w, f);
	atomic_fetch_sub_explicit(&f->cst->active_conns, 1, memory_order_relaxed);
	for (struct udp_flow **pp = &u->buckets[f->hash & (BUCKETS - 1)]; *pp; pp = &(*pp)->hnext)
		if (*pp == f) {
			*pp = f->hnext;
			break;
		}
	lru_unlink(u, f);
	f->ls = NULL;
	f->next = u->free;
	u->free = f;
	u->n_flows--;
}

static struct udp_flow *flow_new(struct sk_proxy_worker *w, struct sk_proxy_lsock *ls,
				 struct sk_proxy_scluster *cl, const struct sockaddr_storage *peer,
				 socklen_t peerlen, uint32_t h)
{
	struct sk_proxy_udp *u = w->udp;
	struct udp_flow *f;

	if (u->n_flows >= SK_PROXY_UDP_MAX_FLOWS)
		flow_end(w, u->head);
	f = u->free;
	if (f)
		u->free = f->next;
	else
		f = sk_new0(struct udp_flow, 1);
	memset(f, 0, sizeof(*f));
	f->tag.kind = SK_PROXY_K_UDP_FLOW;
	f->fd = -1;
	f->ls = ls;
	memcpy(&f->peer, peer, peerlen);
	f->peerlen = peerlen;
	f->hash = h;
	f->cl = cl;
	f->cst = cl->st;
	atomic_fetch_add_explicit(&f->cst->active_conns, 1, memory_order_relaxed);
	sk_proxy_stats_udp(cl->st, w->idx, SK_PROXY_UDP_FLOWS);
	f->hnext = u->buckets[h & (BUCKETS - 1)];
	u->buckets[h & (BUCKETS - 1)] = f;
	f->last_active = w->now;
	lru_append(u, f);
	if (u->n_flows++ == 0)
		timer_arm(u, true);
	return f;
}

/* ---- endpoints ---- */

/* Picks an endpoint (untried first) and connects a socket to it; -1 when none is left. */
static int flow_connect(struct sk_proxy_worker *w, struct udp_flow *f)
{
	struct sk_proxy_scluster *c = f->cl;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->tag };

	for (size_t tries = 0; tries < c->n_eps; tries++) {
		int idx = sk_proxy_pick(c, f->tried, w->now, sk_proxy_rand(w)), fd;
		struct sk_proxy_sep *ep;

		if (idx < 0)
			idx = sk_proxy_pick_panic(c, f->tried, w->now);
		if (idx < 0)
			return -1;
		ep = &c->eps[idx];
		f->tried |= idx < 64 ? 1ull << idx : 0;
		fd = socket(ep->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (const struct sockaddr *)&ep->addr, ep->addrlen) < 0) {
			close(fd);
			sk_proxy_outlier_record(c, ep, false, false, true, w->now);
			continue;
		}
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			return -1;
		}
		f->fd = fd;
		f->ep = ep;
		f->est = ep->st;
		atomic_fetch_add_explicit(&f->est->outstanding, 1, memory_order_relaxed);
		return 0;
	}
	return -1;
}

/* ICMP errors a connected socket reports: the endpoint is not there. */
static bool endpoint_error(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN;
}

static void flow_failed(struct sk_proxy_worker *w, struct udp_flow *f)
{
	if (f->ep)
		sk_proxy_outlier_record(f->cl, f->ep, false, false, true, w->now);
	flow_unbind(w, f);
}

/* Sends the datagram in the buffer to the flow's endpoint, picking one if needed. */
static void flow_send(struct sk_proxy_worker *w, struct udp_flow *f, size_t n)
{
	for (size_t tries = 0; tries <= f->cl->n_eps; tries++) {
		if (f->fd < 0 && flow_connect(w, f) < 0)
			break;
		if (send(f->fd, w->udp->buf, n, MSG_DONTWAIT) >= 0) {
			sk_proxy_stats_udp(f->cl->st, w->idx, SK_PROXY_UDP_TO_ENDPOINT);
			return;
		}
		if (!endpoint_error(errno))
			break; /* EAGAIN, ENOBUFS: dropped, as a network would */
		/* the error of an earlier datagram: this one goes to another endpoint */
		flow_failed(w, f);
	}
	sk_proxy_stats_udp(f->cl->st, w->idx, SK_PROXY_UDP_DROPPED);
}

/* ---- datagrams ---- */

static void local_from(struct msghdr *mh, struct udp_local *l)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&l->u.v4, CMSG_DATA(c), sizeof(l->u.v4));
			/* answer from the address the client sent to, by any interface */
			l->u.v4.ipi_spec_dst = l->u.v4.ipi_addr;
			l->u.v4.ipi_ifindex = 0;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&l->u.v6, CMSG_DATA(c), sizeof(l->u.v6));
		} else {
			continue;
		}
		l->known = true;
		l->level = c->cmsg_level;
		l->type = c->cmsg_type;
	}
}

/* Sends the buffer back to the flow's client, from the address it sent to. */
static void reply(struct sk_proxy_worker *w, struct udp_flow *f, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { w->udp->buf, n };
	struct msghdr mh = {
		.msg_name = &f->peer, .msg_namelen = f->peerlen, .msg_iov = &iov, .msg_iovlen = 1
	};
	int fd = f->ls->fds[w->idx];

	if (f->local.known) {
		size_t len =
		    f->local.level == IPPROTO_IP ? sizeof(f->local.u.v4) : sizeof(f->local.u.v6);
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(len);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = f->local.level;
		c->cmsg_type = f->local.type;
		c->cmsg_len = CMSG_LEN(len);
		memcpy(CMSG_DATA(c), &f->local.u, len);
	}
	if (sendmsg(fd, &mh, MSG_DONTWAIT) >= 0) {
		sk_proxy_stats_udp(f->cl->st, w->idx, SK_PROXY_UDP_TO_CLIENT);
		return;
	}
	if (mh.msg_control && errno != EAGAIN && errno != EWOULDBLOCK) {
		/* not from that address (the client sent to a broadcast address, say) */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		if (sendmsg(fd, &mh, MSG_DONTWAIT) >= 0) {
			sk_proxy_stats_udp(f->cl->st, w->idx, SK_PROXY_UDP_TO_CLIENT);
			return;
		}
	}
	sk_proxy_stats_udp(f->cl->st, w->idx, SK_PROXY_UDP_DROPPED);
}

static struct sk_proxy_scluster *listener_cluster(struct sk_proxy_snap *s,
						  const struct sk_proxy_lsock *ls)
{
	for (size_t i = 0; s && i < s->n_listeners; i++)
		if (s->listeners[i].ls == ls)
			return &s->clusters[s->listeners[i].cluster];
	return NULL;
}

static void client_datagram(struct sk_proxy_worker *w, struct sk_proxy_lsock *ls,
			    struct sk_proxy_scluster *c, struct msghdr *mh, size_t n)
{
	const struct sockaddr_storage *peer = mh->msg_name;
	uint32_t h = flow_hash(ls, peer);
	struct udp_flow *f = flow_find(w->udp, ls, peer, h);

	if (c->fault.abort_status && sk_proxy_roll(c->fault.abort_percent, sk_proxy_rand(w))) {
		sk_proxy_ctr_add(&c->st->fault_aborts, 1);
		return;
	}
	if (!f) {
		if (c->policy.max_concurrent > 0 &&
		    atomic_load_explicit(&c->st->active_conns, memory_order_relaxed) >=
			c->policy.max_concurrent) {
			sk_proxy_ctr_add(&c->st->rejected, 1);
			sk_proxy_stats_udp(c->st, w->idx, SK_PROXY_UDP_DROPPED);
			return;
		}
		f = flow_new(w, ls, c, peer, mh->msg_namelen, h);
	}
	local_from(mh, &f->local);
	touch(w, f);
	flow_send(w, f, n);
}

static void listener_event(struct sk_proxy_worker *w, struct sk_proxy_lsock *ls)
{
	struct sk_proxy_scluster *c = listener_cluster(w->ws ? w->ws->snap : NULL, ls);
	int fd;

	/* an event of this batch for a listener the new snapshot dropped: its fds may be closed */
	if (!c)
		return;
	fd = ls->fds[w->idx];
	for (int i = 0; i < BUDGET; i++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				 CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} cbuf;
		struct sockaddr_storage peer;
		struct iovec iov = { w->udp ? w->udp->buf : NULL, w->udp ? BUF_SIZE : 0 };
		struct msghdr mh = { .msg_name = &peer,
				     .msg_namelen = sizeof(peer),
				     .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue; /* a pending error of the socket: read past it */
		}
		if (!w->udp || (mh.msg_flags & MSG_TRUNC)) {
			sk_proxy_stats_udp(c->st, w->idx, SK_PROXY_UDP_DROPPED);
			continue;
		}
		client_datagram(w, ls, c, &mh, (size_t)n);
	}
}

static void flow_event(struct sk_proxy_worker *w, struct udp_flow *f)
{
	for (int i = 0; i < BUDGET && f->fd >= 0; i++) {
		ssize_t n = recv(f->fd, w->udp->buf, BUF_SIZE, MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (endpoint_error(errno))
				flow_failed(w, f);
			continue;
		}
		if (n > BUF_SIZE) {
			sk_proxy_stats_udp(f->cl->st, w->idx, SK_PROXY_UDP_DROPPED);
			continue;
		}
		/* it answers: its failure streak ends; refusals of others no longer matter */
		sk_proxy_outlier_record(f->cl, f->ep, true, false, false, w->now);
		f->tried = 0;
		touch(w, f);
		reply(w, f, (size_t)n);
	}
}

static void expire(struct sk_proxy_worker *w)
{
	struct sk_proxy_udp *u = w->udp;
	struct udp_flow *f, *next;
	uint64_t v;

	if (read(u->tfd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing expired yet */
	}
	/* least recently active first: stop at the first that even the shortest timeout spares */
	for (f = u->head; f && f->last_active + u->min_idle_ns <= w->now; f = next) {
		next = f->next;
		if (f->last_active + f->cl->policy.idle_timeout_ns <= w->now)
			flow_end(w, f);
	}
	if (!u->n_flows)
		timer_arm(u, false);
}

void sk_proxy_udp_event(struct sk_proxy_worker *w, struct sk_proxy_tag *tag)
{
	switch (tag->kind) {
	case SK_PROXY_K_UDP_LISTEN:
		listener_event(w, ((struct sk_proxy_ltag *)tag)->ls);
		break;
	case SK_PROXY_K_UDP_FLOW:
		flow_event(w, (struct udp_flow *)tag);
		break;
	case SK_PROXY_K_UDP_TIMER:
		expire(w);
		break;
	default:
		break;
	}
}

/* ---- snapshots and teardown ---- */

static struct sk_proxy_udp *udp_new(struct sk_proxy_worker *w)
{
	struct sk_proxy_udp *u = sk_new0(struct sk_proxy_udp, 1);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &u->timer_tag };

	u->timer_tag.kind = SK_PROXY_K_UDP_TIMER;
	u->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (u->tfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, u->tfd, &ev) < 0) {
		/* no flows without expiry: this worker drops its UDP datagrams */
		if (u->tfd >= 0)
			close(u->tfd);
		free(u);
		return NULL;
	}
	return u;
}

/* Points f at s's structures: its listener's cluster and the same endpoint, if still there. */
static void flow_follow(struct sk_proxy_worker *w, struct udp_flow *f, struct sk_proxy_snap *s)
{
	struct sk_proxy_scluster *c = listener_cluster(s, f->ls);
	struct sk_proxy_sep *ep = NULL;

	if (!c || c->policy.mode != SK_PROXY_UDP) {
		flow_end(w, f);
		return;
	}
	if (c->st != f->cst) {
		atomic_fetch_sub_explicit(&f->cst->active_conns, 1, memory_order_relaxed);
		f->cst = c->st;
		atomic_fetch_add_explicit(&f->cst->active_conns, 1, memory_order_relaxed);
	}
	f->cl = c;
	f->tried = 0;
	for (size_t j = 0; f->est && j < c->n_eps && !ep; j++)
		if (c->eps[j].st == f->est && c->eps[j].addrlen == f->ep->addrlen &&
		    memcmp(&c->eps[j].addr, &f->ep->addr, f->ep->addrlen) == 0)
			ep = &c->eps[j];
	if (ep)
		f->ep = ep;
	else
		flow_unbind(w, f); /* gone (or moved): the next datagram picks again */
}

void sk_proxy_udp_refresh(struct sk_proxy_worker *w, struct sk_proxy_snap *s)
{
	struct sk_proxy_udp *u = w->udp;
	uint64_t min_idle = UINT64_MAX, tick;
	struct udp_flow *f, *next;

	for (size_t i = 0; i < s->n_listeners; i++) {
		struct sk_proxy_scluster *c = &s->clusters[s->listeners[i].cluster];

		if (s->listeners[i].ls->udp && c->policy.idle_timeout_ns < min_idle)
			min_idle = c->policy.idle_timeout_ns;
	}
	if (!u && min_idle == UINT64_MAX)
		return;
	if (!u) {
		u = w->udp = udp_new(w);
		if (!u)
			return;
	}
	/* flows still point at the old snapshot, which lives until this returns */
	for (f = u->head; f; f = next) {
		next = f->next;
		flow_follow(w, f, s);
	}
	u->min_idle_ns = min_idle == UINT64_MAX ? 30000000000ull : min_idle;
	tick = u->min_idle_ns / 8;
	tick = tick < MIN_TICK_NS ? MIN_TICK_NS : tick > MAX_TICK_NS ? MAX_TICK_NS : tick;
	if (tick != u->tick_ns) {
		u->tick_ns = tick;
		timer_arm(u, u->n_flows > 0);
	} else if (!u->n_flows) {
		timer_arm(u, false);
	}
}

void sk_proxy_udp_teardown(struct sk_proxy_worker *w)
{
	struct sk_proxy_udp *u = w->udp;

	if (!u)
		return;
	while (u->head)
		flow_end(w, u->head);
	while (u->free) {
		struct udp_flow *f = u->free;

		u->free = f->next;
		free(f);
	}
	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, u->tfd, NULL);
	close(u->tfd);
	free(u);
	w->udp = NULL;
}
