/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns-publish.c - the publishing half of the DNS responder: listeners
 * (a bound UDP socket and TCP listener per zone address, reference-counted
 * and reused across publishes), zone snapshots, and sk_dns_publish(),
 * which runs on the caller's thread and hands a snapshot to the responder
 * thread (dns.c) through an atomic one-slot mailbox without waiting on it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "net/dns-responder.h"

/* ---- listeners and snapshots (any thread) ---- */

void sk_dns_listener_unref(struct listener *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	if (l->udp_fd >= 0)
		close(l->udp_fd);
	if (l->tcp_fd >= 0)
		close(l->tcp_fd);
	free(l);
}

static struct listener *listener_ref(struct listener *l)
{
	atomic_fetch_add(&l->refs, 1);
	return l;
}

static int bind_one(struct sk_dns *d, int type, struct in_addr addr, uint16_t port,
		    bool *ret_adopted, struct sk_error **err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr = addr };
	int spare = sk_spares_take(&d->spares, type, (struct sockaddr *)&sa, sizeof(sa));
	_cleanup_close_ int fd = -1;
	char a[INET_ADDRSTRLEN];
	int one = 1;

	*ret_adopted = spare >= 0;
	if (spare >= 0)
		return spare; /* held across a restart of skiffd: bound (and listening) */
	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if (fd < 0)
		return sk_error_errno(err, "dns: socket for %s:%u", a, port);
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return sk_error_errno(err, "dns: listen on %s:%u/%s", a, port,
				      type == SOCK_STREAM ? "tcp" : "udp");
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		return sk_error_errno(err, "dns: listen on %s:%u/tcp", a, port);
	return TAKE_FD(fd);
}

static int listener_new(struct sk_dns *d, struct in_addr addr, uint16_t port, struct listener **ret,
			struct sk_error **err)
{
	struct listener *l;
	bool ua = false, ta = false;
	int u, t;

	u = bind_one(d, SOCK_DGRAM, addr, port, &ua, err);
	if (u < 0)
		return u;
	t = bind_one(d, SOCK_STREAM, addr, port, &ta, err);
	if (t < 0) {
		if (ua)
			sk_spares_add(&d->spares, u);
		else
			close(u);
		return t;
	}
	l = sk_new0(struct listener, 1);
	l->udp_adopted = ua;
	l->tcp_adopted = ta;
	l->fresh = true;
	l->hu.kind = H_UDP;
	l->ht.kind = H_TCP;
	atomic_init(&l->refs, 1);
	l->addr = addr;
	l->udp_fd = u;
	l->tcp_fd = t;
	*ret = l;
	return 0;
}

static void zone_release(struct sk_dns_zone *z)
{
	for (size_t i = 0; i < z->n_records; i++) {
		free(z->records[i].name);
		free(z->records[i].addrs);
	}
	free(z->records);
}

static void zone_copy(struct sk_dns_zone *dst, const struct sk_dns_zone *src)
{
	*dst = *src;
	dst->records = sk_new0(struct sk_dns_record, src->n_records ? src->n_records : 1);
	for (size_t i = 0; i < src->n_records; i++) {
		const struct sk_dns_record *r = &src->records[i];
		struct sk_dns_record *c = &dst->records[i];

		c->name = sk_strdup(r->name ? r->name : "");
		for (char *p = c->name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		c->n_addrs = r->n_addrs;
		c->addrs = sk_new0(struct in_addr, r->n_addrs ? r->n_addrs : 1);
		if (r->n_addrs)
			memcpy(c->addrs, r->addrs, r->n_addrs * sizeof(*r->addrs));
	}
}

void sk_dns_snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		zone_release(&s->zones[i]);
		sk_dns_listener_unref(s->listeners[i]);
	}
	free(s->zones);
	free(s->listeners);
	free(s);
}

/* ---- publishing (caller's thread) ---- */

/* A listener for address a that this or the last publish has (a new reference). */
static struct listener *find_pub(struct sk_dns *d, struct in_addr a)
{
	for (size_t i = 0; i < d->n_pub; i++)
		if (d->pub[i]->addr.s_addr == a.s_addr)
			return listener_ref(d->pub[i]);
	for (size_t i = 0; i < d->n_retired; i++)
		if (d->retired[i].l->addr.s_addr == a.s_addr)
			return listener_ref(d->retired[i].l);
	return NULL;
}

/* Moves the previous publish's listeners to the retired list; drops what the responder left. */
static void retire(struct sk_dns *d, struct listener **prev, size_t n_prev, uint64_t gen)
{
	uint64_t adopted = atomic_load(&d->adopted_gen);
	size_t k = 0;

	d->retired = sk_realloc(d->retired, (d->n_retired + n_prev + 1) * sizeof(*d->retired));
	for (size_t i = 0; i < n_prev; i++)
		d->retired[d->n_retired++] = (struct retired){ prev[i], gen };
	for (size_t i = 0; i < d->n_retired; i++) {
		struct listener *l = d->retired[i].l;
		bool live = false;

		for (size_t j = 0; j < d->n_pub && !live; j++)
			live = d->pub[j] == l;
		if (live || d->retired[i].gen <= adopted)
			sk_dns_listener_unref(l); /* the pub list or nobody holds it now */
		else
			d->retired[k++] = d->retired[i];
	}
	d->n_retired = k;
}

int sk_dns_publish(struct sk_dns *d, const struct sk_dns_zone *zones, size_t n_zones,
		   struct sk_error **err)
{
	struct snapshot *s = sk_new0(struct snapshot, 1), *old;
	struct listener **prev;
	size_t n_prev;
	uint64_t one = 1;
	int r = 0;

	s->zones = sk_new0(struct sk_dns_zone, n_zones + 1);
	s->listeners = sk_new0(struct listener *, n_zones + 1);
	pthread_mutex_lock(&d->pub_lock);
	for (size_t i = 0; i < n_zones && r == 0; i++) {
		struct listener *l = NULL;

		for (size_t j = 0; j < i && r == 0; j++)
			if (zones[j].listen.s_addr == zones[i].listen.s_addr) {
				char a[INET_ADDRSTRLEN];
				r = sk_error_set(
				    err, EINVAL, "dns: two zones listen on %s",
				    inet_ntop(AF_INET, &zones[i].listen, a, sizeof(a)));
			}
		if (r == 0 && !(l = find_pub(d, zones[i].listen)))
			r = listener_new(d, zones[i].listen, d->port, &l, err);
		if (r < 0)
			break;
		zone_copy(&s->zones[i], &zones[i]);
		s->listeners[i] = l;
		s->n = i + 1;
	}
	if (r < 0) {
		for (size_t i = 0; i < s->n; i++) {
			struct listener *l = s->listeners[i];
			if (!l->fresh)
				continue;
			if (l->udp_adopted) { /* back to the spares for the next try */
				sk_spares_add(&d->spares, l->udp_fd);
				l->udp_fd = -1;
			}
			if (l->tcp_adopted) {
				sk_spares_add(&d->spares, l->tcp_fd);
				l->tcp_fd = -1;
			}
		}
		pthread_mutex_unlock(&d->pub_lock);
		sk_dns_snapshot_free(s); /* closes only what this call opened */
		return r;
	}
	for (size_t i = 0; i < s->n; i++)
		s->listeners[i]->fresh = false;
	prev = d->pub;
	n_prev = d->n_pub;
	d->pub = sk_new0(struct listener *, n_zones + 1);
	for (size_t i = 0; i < n_zones; i++)
		d->pub[i] = listener_ref(s->listeners[i]);
	d->n_pub = n_zones;
	s->gen = ++d->pub_gen;
	retire(d, prev, n_prev, s->gen);
	free(prev);
	old = atomic_exchange(&d->mailbox, s);
	sk_dns_snapshot_free(old); /* never seen by the responder */
	if (write(d->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		r = sk_error_errno(err, "dns: wake the responder");
	pthread_mutex_unlock(&d->pub_lock);
	return r;
}

/* ---- sockets held across a restart of skiffd ---- */

void sk_dns_adopt(struct sk_dns *d, int fd)
{
	pthread_mutex_lock(&d->pub_lock);
	sk_spares_add(&d->spares, fd);
	pthread_mutex_unlock(&d->pub_lock);
}

void sk_dns_close_spares(struct sk_dns *d)
{
	pthread_mutex_lock(&d->pub_lock);
	sk_spares_close(&d->spares);
	pthread_mutex_unlock(&d->pub_lock);
}

size_t sk_dns_listener_fds(struct sk_dns *d, struct in_addr addr, int out[2])
{
	size_t n = 0;

	pthread_mutex_lock(&d->pub_lock);
	for (size_t i = 0; i < d->n_pub && n == 0; i++) {
		if (d->pub[i]->addr.s_addr != addr.s_addr)
			continue;
		int u = fcntl(d->pub[i]->udp_fd, F_DUPFD_CLOEXEC, 3);
		int t = fcntl(d->pub[i]->tcp_fd, F_DUPFD_CLOEXEC, 3);
		if (u >= 0)
			out[n++] = u;
		if (t >= 0)
			out[n++] = t;
	}
	pthread_mutex_unlock(&d->pub_lock);
	return n;
}
