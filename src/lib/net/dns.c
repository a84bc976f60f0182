/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns.c - the embedded DNS responder's thread, sockets and forwarding
 * (the message codec is dns-wire.c).
 *
 * Threads.  sk_dns_publish() runs on the caller's thread: it opens and
 * binds sockets for new listen addresses (so bind errors reach the caller),
 * builds an immutable snapshot of all zones and drops it into a one-slot
 * mailbox with an atomic exchange, then pokes an eventfd.  It never waits
 * for the responder; a snapshot the responder has not picked up yet is
 * simply replaced (and freed by the publisher).  A mutex serialises
 * publishers only.  The responder thread owns its epoll set, the snapshot
 * in use, TCP connections and the table of forwarded queries.
 *
 * Listeners (a UDP socket and a TCP listener on one address) are shared
 * between consecutive snapshots and reference-counted, so republishing the
 * same address never closes and re-binds it; the responder adds a
 * listener to epoll when a snapshot it adopts names it, and removes it
 * when a newer one does not.  A listener is closed by whoever drops its
 * last reference, and a listener in epoll is always referenced by the
 * responder's current snapshot.
 *
 * Forwarding relays the query unchanged but for a fresh random id over a
 * connected UDP socket to the first IPv4 nameserver of resolv.conf,
 * matches replies by id, and answers SERVFAIL after 2 s or when the
 * bounded pending table is full.  A query that came over TCP (usually the
 * retry of a truncated UDP answer) goes out over a TCP connection of its
 * own, so a long answer arrives whole.  TCP: length-prefixed messages, at most
 * DNS_MAX_CONNS connections, closed after DNS_TCP_IDLE of silence.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "net/dns-responder.h"

/* ---- the responder thread ---- */

static void conn_close(struct sk_dns *d, struct conn *c);

static uint16_t random_id(struct sk_dns *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return (uint16_t)(d->rng >> 24);
}

static void pending_release(struct sk_dns *d, struct pending *p)
{
	free(p->query);
	*p = (struct pending){ 0 };
	d->n_pending--;
}

static struct conn *conn_find(struct sk_dns *d, uint64_t id)
{
	for (struct conn *c = d->conns; c; c = c->next)
		if (c->id == id && !c->dead)
			return c;
	return NULL;
}

static void conn_flush(struct sk_dns *d, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_close(d, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->eof) {
			bool waiting = false;
			for (size_t i = 0; i < DNS_MAX_PENDING && !waiting; i++)
				waiting = d->pend[i].used && d->pend[i].conn_id == c->id;
			for (size_t i = 0; i < DNS_MAX_UPTCP && !waiting; i++)
				waiting = d->uptcp[i].fd >= 0 && d->uptcp[i].conn_id == c->id;
			if (!waiting)
				conn_close(d, c);
		}
	}
	if (!c->dead) {
		struct epoll_event ev = { .events =
					      (c->eof ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0),
					  .data.ptr = &c->h };
		(void)epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

static void conn_send(struct sk_dns *d, struct conn *c, const uint8_t *msg, size_t len)
{
	if (c->dead)
		return;
	if (c->out_len + 2 + len > DNS_CONN_OUT_MAX) {
		conn_close(d, c); /* a client that does not read */
		return;
	}
	c->out = sk_realloc(c->out, c->out_len + 2 + len);
	c->out[c->out_len] = (uint8_t)(len >> 8);
	c->out[c->out_len + 1] = (uint8_t)len;
	memcpy(c->out + c->out_len + 2, msg, len);
	c->out_len += 2 + len;
	conn_flush(d, c);
}

/* Sends a reply to whoever asked: a UDP client or a TCP connection. */
static void deliver(struct sk_dns *d, struct listener *l, const struct sockaddr_in *client,
		    uint64_t conn_id, const uint8_t *msg, size_t len)
{
	if (conn_id) {
		struct conn *c = conn_find(d, conn_id);
		if (c)
			conn_send(d, c, msg, len);
	} else if (l) {
		(void)sendto(l->udp_fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)client,
			     sizeof(*client));
	}
}

static void servfail(struct sk_dns *d, struct listener *l, const struct sockaddr_in *client,
		     uint64_t conn_id, const uint8_t *q, size_t len)
{
	size_t n;

	if (sk_dns_error_reply(q, len, SK_DNS_RCODE_SERVFAIL, d->out, SK_DNS_MSG_MAX, &n))
		deliver(d, l, client, conn_id, d->out, n);
}

static void uptcp_close(struct sk_dns *d, struct uptcp *u)
{
	(void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, u->fd, NULL);
	close(u->fd);
	free(u->q);
	free(u->r);
	*u = (struct uptcp){ .fd = -1 };
	d->n_uptcp--;
}

/* SERVFAIL to the client of u, and the end of u. */
static void uptcp_fail(struct sk_dns *d, struct uptcp *u)
{
	servfail(d, NULL, NULL, u->conn_id, u->q + 2, u->q_len - 2);
	uptcp_close(d, u);
}

/* A query of TCP connection conn_id, over TCP to the upstream (no id rewrite: its own connection). */
static void forward_tcp(struct sk_dns *d, uint64_t conn_id, const uint8_t *q, size_t len)
{
	struct uptcp *u = NULL;
	struct epoll_event ev;
	int fd;

	for (size_t i = 0; i < DNS_MAX_UPTCP && !u; i++)
		if (d->uptcp[i].fd < 0)
			u = &d->uptcp[i];
	fd = u ? socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
	if (fd < 0 || (connect(fd, (struct sockaddr *)&d->upstream, sizeof(d->upstream)) < 0 &&
		       errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		servfail(d, NULL, NULL, conn_id, q, len);
		return;
	}
	*u = (struct uptcp){ .h.kind = H_UPTCP,
			     .fd = fd,
			     .conn_id = conn_id,
			     .deadline = sk_now_ns() + DNS_FORWARD_TIMEOUT,
			     .q = sk_malloc0(2 + len),
			     .q_len = 2 + len,
			     .r = sk_malloc0(2 + SK_DNS_MSG_MAX),
			     .r_len = 2 };
	u->q[0] = (uint8_t)(len >> 8);
	u->q[1] = (uint8_t)len;
	memcpy(u->q + 2, q, len);
	d->n_uptcp++;
	ev = (struct epoll_event){ .events = EPOLLOUT | EPOLLIN, .data.ptr = &u->h };
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		uptcp_fail(d, u);
}

static void uptcp_event(struct sk_dns *d, struct uptcp *u, uint32_t events)
{
	ssize_t n;

	if (u->q_off < u->q_len) {
		n = send(u->fd, u->q + u->q_off, u->q_len - u->q_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			uptcp_fail(d, u);
			return;
		}
		u->q_off += n > 0 ? (size_t)n : 0;
		if (u->q_off < u->q_len)
			return;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &u->h };
		(void)epoll_ctl(d->epfd, EPOLL_CTL_MOD, u->fd, &ev);
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		n = recv(u->fd, u->r + u->r_off, u->r_len - u->r_off, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) { /* closed or reset before a whole reply */
			uptcp_fail(d, u);
			return;
		}
		u->r_off += (size_t)n;
		if (u->r_off < u->r_len)
			continue;
		if (u->r_len == 2) {
			size_t m = (size_t)(u->r[0] << 8 | u->r[1]);
			if (m < SK_DNS_HEADER || m > SK_DNS_MSG_MAX) {
				uptcp_fail(d, u);
				return;
			}
			u->r_len = 2 + m;
			continue;
		}
		deliver(d, NULL, NULL, u->conn_id, u->r + 2, u->r_len - 2);
		uptcp_close(d, u);
		return;
	}
}

static void forward(struct sk_dns *d, struct listener *l, const struct sockaddr_in *client,
		    uint64_t conn_id, const uint8_t *q, size_t len)
{
	struct pending *p = NULL;
	uint16_t id = 0;

	if (d->upstream_fd >= 0 && conn_id) {
		forward_tcp(d, conn_id, q, len);
		return;
	}
	if (d->upstream_fd < 0 || d->n_pending >= DNS_MAX_PENDING) {
		servfail(d, l, client, conn_id, q, len);
		return;
	}
	for (int tries = 0; tries < 64 && !p; tries++) {
		bool taken = false;

		id = random_id(d);
		for (size_t i = 0; i < DNS_MAX_PENDING && !taken; i++)
			taken = d->pend[i].used && d->pend[i].new_id == id;
		for (size_t i = 0; i < DNS_MAX_PENDING && !taken && !p; i++)
			if (!d->pend[i].used)
				p = &d->pend[i];
	}
	if (!p) {
		servfail(d, l, client, conn_id, q, len);
		return;
	}
	*p = (struct pending){ .used = true,
			       .new_id = id,
			       .old_id = (uint16_t)(q[0] << 8 | q[1]),
			       .deadline = sk_now_ns() + DNS_FORWARD_TIMEOUT,
			       .l = conn_id ? NULL : l,
			       .conn_id = conn_id,
			       .query = sk_malloc0(len),
			       .query_len = len };
	if (client)
		p->client = *client;
	memcpy(p->query, q, len);
	d->n_pending++;
	memcpy(d->out, q, len);
	d->out[0] = (uint8_t)(id >> 8);
	d->out[1] = (uint8_t)id;
	if (send(d->upstream_fd, d->out, len, MSG_DONTWAIT) < 0) {
		servfail(d, l, client, conn_id, q, len);
		pending_release(d, p);
	}
}

static void upstream_read(struct sk_dns *d)
{
	for (int i = 0; i < DNS_UDP_BUDGET; i++) {
		ssize_t n = recv(d->upstream_fd, d->buf, SK_DNS_MSG_MAX, MSG_DONTWAIT);
		uint16_t id;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* EAGAIN, or ECONNREFUSED from an ICMP: the timeout answers */
		if (n < SK_DNS_HEADER || !(d->buf[2] & 0x80))
			continue;
		id = (uint16_t)(d->buf[0] << 8 | d->buf[1]);
		for (size_t k = 0; k < DNS_MAX_PENDING; k++) {
			struct pending *p = &d->pend[k];

			if (!p->used || p->new_id != id)
				continue;
			d->buf[0] = (uint8_t)(p->old_id >> 8);
			d->buf[1] = (uint8_t)p->old_id;
			deliver(d, p->l, &p->client, p->conn_id, d->buf, (size_t)n);
			pending_release(d, p);
			break;
		}
	}
}

static void answer(struct sk_dns *d, struct listener *l, const struct sockaddr_in *client,
		   struct conn *c, const uint8_t *q, size_t len)
{
	size_t n = 0;

	switch (
	    sk_dns_answer_ex(l->zone, q, len, d->rot++, c != NULL, d->out, SK_DNS_MSG_MAX, &n)) {
	case SK_DNS_REPLY:
		deliver(d, l, client, c ? c->id : 0, d->out, n);
		break;
	case SK_DNS_FORWARD:
		forward(d, l, client, c ? c->id : 0, q, len);
		break;
	case SK_DNS_DROP:
		if (c)
			conn_close(d, c);
		break;
	}
}

static void udp_read(struct sk_dns *d, struct listener *l)
{
	for (int i = 0; i < DNS_UDP_BUDGET; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(l->udp_fd, d->buf, SK_DNS_QUERY_MAX, MSG_TRUNC | MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		if (n > SK_DNS_QUERY_MAX || from.sin_family != AF_INET || !l->zone)
			continue;
		answer(d, l, &from, NULL, d->buf, (size_t)n);
	}
}

static void tcp_accept(struct sk_dns *d, struct listener *l)
{
	for (;;) {
		int fd = accept4(l->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0)
			return;
		if (d->n_conns >= DNS_MAX_CONNS || !l->zone) {
			close(fd);
			continue;
		}
		c = sk_new0(struct conn, 1);
		c->h.kind = H_CONN;
		c->fd = fd;
		c->l = l;
		c->id = ++d->next_conn_id;
		c->deadline = sk_now_ns() + DNS_TCP_IDLE;
		ev.data.ptr = &c->h;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = d->conns;
		d->conns = c;
		d->n_conns++;
	}
}

static void conn_read(struct sk_dns *d, struct conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		c->eof = true;
		conn_flush(d, c);
		return;
	}
	c->in_len += (size_t)n;
	c->deadline = sk_now_ns() + DNS_TCP_IDLE;
	while (!c->dead && c->in_len >= 2) {
		size_t mlen = (size_t)c->in[0] << 8 | c->in[1];

		if (mlen < SK_DNS_HEADER || mlen > SK_DNS_QUERY_MAX) {
			conn_close(d, c);
			return;
		}
		if (c->in_len < 2 + mlen)
			break;
		if (!c->l->zone) {
			conn_close(d, c);
			return;
		}
		answer(d, c->l, NULL, c, c->in + 2, mlen);
		memmove(c->in, c->in + 2 + mlen, c->in_len - 2 - mlen);
		c->in_len -= 2 + mlen;
	}
}

/* Marks a connection dead; it is freed at the end of the loop iteration. */
static void conn_close(struct sk_dns *d, struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	(void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	for (size_t i = 0; i < DNS_MAX_PENDING; i++)
		if (d->pend[i].used && d->pend[i].conn_id == c->id)
			pending_release(d, &d->pend[i]);
}

static void conns_reap(struct sk_dns *d)
{
	for (struct conn **pp = &d->conns; *pp;) {
		struct conn *c = *pp;

		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		d->n_conns--;
		free(c->out);
		free(c);
	}
}

static bool in_snapshot(const struct snapshot *s, const struct listener *l)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->listeners[i] == l)
			return true;
	return false;
}

/* Adopts the snapshot from the mailbox, if there is one. */
static void adopt(struct sk_dns *d)
{
	struct snapshot *s = atomic_exchange(&d->mailbox, NULL), *old = d->cur;

	if (!s)
		return;
	for (size_t i = 0; old && i < old->n; i++) {
		struct listener *l = old->listeners[i];

		if (in_snapshot(s, l))
			continue;
		(void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, l->udp_fd, NULL);
		(void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, l->tcp_fd, NULL);
		l->registered = false;
		l->zone = NULL;
		for (struct conn *c = d->conns; c; c = c->next)
			if (c->l == l)
				conn_close(d, c);
		for (size_t k = 0; k < DNS_MAX_PENDING; k++)
			if (d->pend[k].used && d->pend[k].l == l)
				pending_release(d, &d->pend[k]);
	}
	for (size_t i = 0; i < s->n; i++) {
		struct listener *l = s->listeners[i];

		l->zone = &s->zones[i];
		if (!l->registered) {
			struct epoll_event eu = { .events = EPOLLIN, .data.ptr = &l->hu };
			struct epoll_event et = { .events = EPOLLIN, .data.ptr = &l->ht };

			(void)epoll_ctl(d->epfd, EPOLL_CTL_ADD, l->udp_fd, &eu);
			(void)epoll_ctl(d->epfd, EPOLL_CTL_ADD, l->tcp_fd, &et);
			l->registered = true;
		}
	}
	d->cur = s;
	conns_reap(d); /* before old's listeners can go */
	sk_dns_snapshot_free(old);
	atomic_store(&d->adopted_gen, s->gen);
}

static void expire(struct sk_dns *d)
{
	uint64_t now = sk_now_ns();

	for (size_t i = 0; i < DNS_MAX_PENDING && d->n_pending; i++) {
		struct pending *p = &d->pend[i];

		if (!p->used || p->deadline > now)
			continue;
		servfail(d, p->l, &p->client, p->conn_id, p->query, p->query_len);
		pending_release(d, p);
	}
	for (struct conn *c = d->conns; c; c = c->next)
		if (!c->dead && c->deadline <= now)
			conn_close(d, c);
	for (size_t i = 0; i < DNS_MAX_UPTCP && d->n_uptcp; i++)
		if (d->uptcp[i].fd >= 0 && d->uptcp[i].deadline <= now)
			uptcp_fail(d, &d->uptcp[i]);
}

static void dispatch(struct sk_dns *d, struct handler *h, uint32_t events)
{
	switch (h->kind) {
	case H_EVENT: {
		uint64_t v;
		(void)!read(d->evfd, &v, sizeof(v));
		break; /* the mailbox is read after the batch */
	}
	case H_UDP:
		udp_read(d, (struct listener *)((char *)h - offsetof(struct listener, hu)));
		break;
	case H_TCP:
		tcp_accept(d, (struct listener *)((char *)h - offsetof(struct listener, ht)));
		break;
	case H_UPSTREAM:
		upstream_read(d);
		break;
	case H_UPTCP: {
		struct uptcp *u = (struct uptcp *)h;
		if (u->fd >= 0)
			uptcp_event(d, u, events);
		break;
	}
	case H_CONN: {
		struct conn *c = (struct conn *)h;
		if (c->dead)
			break;
		if (events & (EPOLLERR | EPOLLHUP)) {
			conn_close(d, c);
			break;
		}
		if (events & EPOLLOUT)
			conn_flush(d, c);
		if (!c->dead && (events & EPOLLIN))
			conn_read(d, c);
		break;
	}
	}
}

static void *responder(void *arg)
{
	struct sk_dns *d = arg;
	struct epoll_event evs[32];

	while (!atomic_load(&d->stop)) {
		int timeout = d->n_pending || d->n_conns || d->n_uptcp ? 100 : -1;
		int n = epoll_wait(d->epfd, evs, (int)SK_ELEMENTSOF(evs), timeout);

		/* Handlers may close connections that later events name: reap after. */
		for (int i = 0; i < n; i++)
			dispatch(d, evs[i].data.ptr, evs[i].events);
		expire(d);
		conns_reap(d);
		adopt(d);
	}
	return NULL;
}

/* ---- lifecycle ---- */

/* The first IPv4 nameserver of a resolv.conf; false when none. */
static bool read_upstream(const char *path, struct sockaddr_in *ret)
{
	_cleanup_free_ char *buf = NULL;

	if (sk_read_file(path, &buf, NULL) < 0)
		return false;
	for (char *line = buf, *next; line; line = next) {
		char *addr, *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "nameserver", 10) != 0 || (line[10] != ' ' && line[10] != '\t'))
			continue;
		addr = line + 10 + strspn(line + 10, " \t");
		end = addr + strcspn(addr, " \t\r#;");
		*end = '\0';
		*ret = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(53) };
		if (inet_pton(AF_INET, addr, &ret->sin_addr) == 1)
			return true;
	}
	return false;
}

static int epoll_add(struct sk_dns *d, int fd, struct handler *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int sk_dns_new(const struct sk_dns_opts *o, struct sk_dns **ret, struct sk_error **err)
{
	_cleanup_(sk_dns_freep) struct sk_dns *d = sk_new0(struct sk_dns, 1);
	char a[INET_ADDRSTRLEN];
	struct sockaddr_in up;
	sigset_t all, saved;
	int r;

	d->epfd = d->evfd = d->upstream_fd = -1;
	d->port = o && o->port ? o->port : 53;
	d->h_event.kind = H_EVENT;
	d->h_upstream.kind = H_UPSTREAM;
	for (size_t i = 0; i < DNS_MAX_UPTCP; i++)
		d->uptcp[i].fd = -1;
	pthread_mutex_init(&d->pub_lock, NULL);
	d->buf = sk_malloc0(SK_DNS_MSG_MAX + 2);
	d->out = sk_malloc0(SK_DNS_MSG_MAX + 2);
	if (getrandom(&d->rng, sizeof(d->rng), 0) != sizeof(d->rng) || !d->rng)
		d->rng = sk_now_ns() | 1;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->epfd < 0 || d->evfd < 0)
		return sk_error_errno(err, "dns: epoll/eventfd");
	r = epoll_add(d, d->evfd, &d->h_event);
	if (r < 0)
		return sk_error_set(err, -r, "dns: epoll");
	if (read_upstream(o && o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf", &up)) {
		d->upstream_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (d->upstream_fd < 0)
			return sk_error_errno(err, "dns: upstream socket");
		if (connect(d->upstream_fd, (struct sockaddr *)&up, sizeof(up)) < 0) {
			/* no route to it from this namespace: serve the zones, forward nothing
			 * (unknown names get SERVFAIL from forwarding zones) */
			sk_warn("dns: upstream %s unreachable (%s): no forwarding",
				inet_ntop(AF_INET, &up.sin_addr, a, sizeof(a)), strerror(errno));
			close(d->upstream_fd);
			d->upstream_fd = -1;
		} else {
			d->upstream = up;
			r = epoll_add(d, d->upstream_fd, &d->h_upstream);
			if (r < 0)
				return sk_error_set(err, -r, "dns: epoll");
		}
	}
	/* The responder takes no signals: they belong to the control loop's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	r = pthread_create(&d->thread, NULL, responder, d);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (r != 0)
		return sk_error_set(err, r, "dns: start the responder thread");
	d->started = true;
	*ret = TAKE_PTR(d);
	return 0;
}

void sk_dns_free(struct sk_dns *d)
{
	if (!d)
		return;
	if (d->started) {
		uint64_t one = 1;

		atomic_store(&d->stop, true);
		(void)!write(d->evfd, &one, sizeof(one));
		pthread_join(d->thread, NULL);
	}
	for (struct conn *c = d->conns; c; c = c->next)
		conn_close(d, c);
	conns_reap(d);
	for (size_t i = 0; i < DNS_MAX_PENDING; i++)
		if (d->pend[i].used)
			pending_release(d, &d->pend[i]);
	for (size_t i = 0; i < DNS_MAX_UPTCP; i++)
		if (d->uptcp[i].fd >= 0)
			uptcp_close(d, &d->uptcp[i]);
	sk_dns_snapshot_free(d->cur);
	sk_dns_snapshot_free(atomic_exchange(&d->mailbox, NULL));
	for (size_t i = 0; i < d->n_pub; i++)
		sk_dns_listener_unref(d->pub[i]);
	free(d->pub);
	for (size_t i = 0; i < d->n_retired; i++)
		sk_dns_listener_unref(d->retired[i].l);
	free(d->retired);
	sk_spares_close(&d->spares);
	if (d->upstream_fd >= 0)
		close(d->upstream_fd);
	if (d->evfd >= 0)
		close(d->evfd);
	if (d->epfd >= 0)
		close(d->epfd);
	pthread_mutex_destroy(&d->pub_lock);
	free(d->buf);
	free(d->out);
	free(d);
}
