/* SPDX-License-Identifier: Apache-2.0 */
/*
 * routes.c - turns the live model into the proxy's and the DNS responder's
 * tables and publishes them: the control loop's only link to the fast paths.
 *
 * Proxy: one cluster per (service, container port), named
 * "<app>/<service>:<port>" ("<app>/<service>:<port>/udp" for a UDP port, in
 * the proxy's udp mode), whose endpoints are the ready replicas' addresses;
 * a listener per published host port (`ports: "8080:80"` or "53:53/udp", on
 * host_ip or every address) and, for x-skiff.proxy.internal services, one
 * per container port on the service's virtual address.  A fallback service
 * serves the same TCP port when it has it, else its first one (UDP clusters
 * have no fallback).
 *
 * DNS: one zone per app with a network, on its bridge's gateway: the
 * service name (its virtual address when internal, else the ready replicas'
 * addresses), network aliases likewise, and per replica "<container id>",
 * "<index>.<service>" and "<container id>.<service>".
 *
 * Publishing is coalesced through a deferred call and skipped when nothing
 * changed (a text signature of what would be published).  The proxy and the
 * responder copy what they get; nothing here waits on their threads.
 *
 * The keeper holds a copy of every published listening socket (keeper_sync):
 * while skiffd is dead and restarting, connections to published ports queue
 * in the kernel instead of being refused, and the next skiffd's proxy takes
 * the same sockets back (sk_proxy_adopt) and serves them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon-internal.h"
#include "daemon/keeper.h"
#include "net/dns.h"
#include "proxy/proxy.h"

#define MAX_PORTS 64			/* container ports per service that get a cluster */
#define RETRY_NS (5ULL * 1000000000ULL) /* a port that could not be opened is tried again */

bool sk_routes_ready(const struct sk_dreplica *r)
{
	return r->phase == P_RUNNING && !r->draining && r->has_addr &&
	       (r->obs.health == SK_STORE_HEALTH_NONE || r->obs.health == SK_STORE_HEALTH_HEALTHY);
}

const struct sk_app_fault *sk_routes_fault(const struct sk_dservice *s)
{
	if (s->fault_set)
		return &s->fault;
	return s->def ? &s->def->x_skiff.fault : &s->fault;
}

/* The service's TCP or UDP container ports (ports: and expose:), deduplicated, in order. */
static size_t service_ports(const struct sk_app_service *def, enum sk_app_proto proto,
			    uint16_t *out)
{
	size_t n = 0;

#define ADD(p)                                                                                     \
	do {                                                                                       \
		bool dup_ = false;                                                                 \
		for (size_t k_ = 0; k_ < n; k_++)                                                  \
			dup_ |= out[k_] == (p);                                                    \
		if (!dup_ && n < MAX_PORTS && (p))                                                 \
			out[n++] = (p);                                                            \
	} while (0)

	for (size_t i = 0; i < def->n_ports; i++) {
		const struct sk_app_port *p = &def->ports[i];
		if (p->proto != proto)
			continue;
		for (unsigned c = p->container_start; c <= p->container_end && c; c++)
			ADD((uint16_t)c);
	}
	for (size_t i = 0; def->expose && def->expose[i]; i++) {
		const char *e = def->expose[i];
		char *end = NULL;
		unsigned long lo = strtoul(e, &end, 10), hi = lo;
		if (end && *end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (end && *end && strcmp(end, proto == SK_APP_UDP ? "/udp" : "/tcp"))
			continue;
		if (end && !*end && proto != SK_APP_TCP)
			continue;
		for (unsigned long c = lo; c <= hi && c <= 65535; c++)
			ADD((uint16_t)c);
	}
#undef ADD
	return n;
}

static void policy_from(const struct sk_app_proxy *x, struct sk_proxy_policy *p)
{
	/* field by field after a memset: padding stays zero (the signature reads bytes) */
	memset(p, 0, sizeof(*p));
	p->mode = x->mode == SK_APP_PROXY_TCP ? SK_PROXY_TCP : SK_PROXY_HTTP;
	p->lb =
	    x->balance == SK_APP_LB_LEAST_REQUEST ? SK_PROXY_LEAST_REQUEST : SK_PROXY_ROUND_ROBIN;
	p->connect_timeout_ns = (uint64_t)x->connect_timeout_ns;
	p->try_timeout_ns = (uint64_t)x->try_timeout_ns;
	p->total_timeout_ns = (uint64_t)x->total_timeout_ns;
	p->idle_timeout_ns = (uint64_t)x->idle_timeout_ns;
	p->retry_attempts = x->retry_attempts;
	p->retry_on = x->retry_on; /* SK_APP_RETRY_* == SK_PROXY_RETRY_* */
	p->n_retry_status = x->n_retry_status;
	memcpy(p->retry_status, x->retry_status, sizeof(p->retry_status));
	p->retry_backoff_ns = (uint64_t)x->retry_backoff_ns;
	p->retry_max_backoff_ns = (uint64_t)x->retry_max_backoff_ns;
	p->retry_budget_percent = x->retry_budget_percent;
	p->outlier_consecutive_5xx = x->outlier_consecutive_5xx;
	p->outlier_consecutive_failures = x->outlier_consecutive_failures;
	p->outlier_base_ejection_ns = (uint64_t)x->outlier_base_ejection_ns;
	p->outlier_max_ejection_percent = x->outlier_max_ejection_percent;
	p->max_concurrent = x->max_concurrent;
}

_Static_assert(SK_APP_RETRY_CONNECT == SK_PROXY_RETRY_CONNECT &&
		   SK_APP_RETRY_RESET == SK_PROXY_RETRY_RESET &&
		   SK_APP_RETRY_STATUS == SK_PROXY_RETRY_STATUS &&
		   SK_APP_RETRY_TIMEOUT == SK_PROXY_RETRY_TIMEOUT,
	       "retry bits agree");

static void sockaddr4(struct sockaddr_storage *ss, socklen_t *len, struct in_addr a, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
	sin->sin_port = htons(port);
	*len = sizeof(*sin);
}

/* ---- building ---- */

struct build {
	struct sk_proxy_config pc;
	struct sk_dns_zone *zones;
	size_t n_zones;
	FILE *sig;
	char *sig_text;
	size_t sig_len;
};

static void build_release(struct build *b)
{
	for (size_t i = 0; i < b->pc.n_clusters; i++) {
		struct sk_proxy_cluster *c = &b->pc.clusters[i];
		free(c->name);
		free(c->app);
		free(c->service);
		free(c->fallback);
		for (size_t j = 0; j < c->n_endpoints; j++)
			free(c->endpoints[j].id);
		free(c->endpoints);
	}
	free(b->pc.clusters);
	for (size_t i = 0; i < b->pc.n_listeners; i++)
		free(b->pc.listeners[i].cluster);
	free(b->pc.listeners);
	for (size_t i = 0; i < b->n_zones; i++) {
		for (size_t j = 0; j < b->zones[i].n_records; j++) {
			free(b->zones[i].records[j].name);
			free(b->zones[i].records[j].addrs);
		}
		free(b->zones[i].records);
	}
	free(b->zones);
	if (b->sig)
		fclose(b->sig);
	free(b->sig_text);
}

static char *cluster_name(const struct sk_dservice *s, uint16_t port, bool udp)
{
	return sk_asprintf("%s/%s:%u%s", s->app->name, s->name, port, udp ? "/udp" : "");
}

static void add_listener(struct build *b, struct sockaddr_storage *ss, socklen_t len,
			 const char *cluster)
{
	struct sk_proxy_listener *l;
	char buf[INET6_ADDRSTRLEN] = "";
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	b->pc.listeners =
	    sk_realloc(b->pc.listeners, sizeof(*b->pc.listeners) * (b->pc.n_listeners + 1));
	l = &b->pc.listeners[b->pc.n_listeners++];
	memcpy(&l->addr, ss, sizeof(*ss));
	l->addrlen = len;
	l->cluster = sk_strdup(cluster);
	inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
	fprintf(b->sig, "L %s:%u %s\n", buf, ntohs(sin->sin_port), cluster);
}

static void add_cluster(struct build *b, struct sk_dservice *s, uint16_t port, bool udp)
{
	const struct sk_app_service *def = s->def;
	struct sk_dapp *a = s->app;
	const struct sk_app_fault *f = sk_routes_fault(s);
	struct sk_proxy_cluster *c;

	b->pc.clusters =
	    sk_realloc(b->pc.clusters, sizeof(*b->pc.clusters) * (b->pc.n_clusters + 1));
	c = &b->pc.clusters[b->pc.n_clusters++];
	memset(c, 0, sizeof(*c));
	c->name = cluster_name(s, port, udp);
	c->app = sk_strdup(a->name);
	c->service = sk_strdup(s->name);
	policy_from(&def->x_skiff.proxy, &c->policy);
	if (udp)
		c->policy.mode = SK_PROXY_UDP;
	c->fault = (struct sk_proxy_fault){
		.delay_ns = (uint64_t)f->delay_ns,
		.delay_jitter_ns = (uint64_t)f->delay_jitter_ns,
		.delay_percent = f->delay_percent,
		.abort_status = f->abort_status,
		.abort_percent = f->abort_percent,
	};
	if (def->x_skiff.fallback && !udp) {
		struct sk_dservice *fb = sk_dservice_find(a, def->x_skiff.fallback);
		uint16_t ports[MAX_PORTS];
		/* only a service on the app's network has clusters (host/none modes do not) */
		size_t n = fb && !fb->removed && sk_dnet_wanted(fb->def)
			       ? service_ports(fb->def, SK_APP_TCP, ports)
			       : 0;
		uint16_t use = 0;
		for (size_t i = 0; i < n && !use; i++)
			if (ports[i] == port)
				use = port;
		if (!use && n)
			use = ports[0];
		if (use)
			c->fallback = cluster_name(fb, use, false);
	}
	fprintf(b->sig, "C %s fb=%s f=%" PRId64 "/%" PRId64 "/%g/%d/%g p=", c->name,
		c->fallback ? c->fallback : "-", f->delay_ns, f->delay_jitter_ns, f->delay_percent,
		f->abort_status, f->abort_percent);
	/* the policy as bytes: any change of a setting republishes */
	for (size_t i = 0; i < sizeof(c->policy); i++)
		fprintf(b->sig, "%02x", ((const unsigned char *)&c->policy)[i]);
	fputc('\n', b->sig);
	for (size_t i = 0; i < s->n_r; i++) {
		struct sk_dreplica *r = s->r[i];
		struct sk_proxy_endpoint *e;
		if (!sk_routes_ready(r))
			continue;
		c->endpoints =
		    sk_realloc(c->endpoints, sizeof(*c->endpoints) * (c->n_endpoints + 1));
		e = &c->endpoints[c->n_endpoints++];
		e->id = sk_strdup(r->id);
		sockaddr4(&e->addr, &e->addrlen, r->addr, port);
		fprintf(b->sig, "E %s %08x\n", r->id, r->addr.s_addr);
	}
}

/* The clusters and listeners of one protocol (TCP or UDP) of a service. */
static void service_proto_routes(struct build *b, struct sk_dservice *s, enum sk_app_proto proto)
{
	const struct sk_app_service *def = s->def;
	bool udp = proto == SK_APP_UDP;
	uint16_t ports[MAX_PORTS];
	size_t n;

	n = service_ports(def, proto, ports);
	for (size_t i = 0; i < n; i++)
		add_cluster(b, s, ports[i], udp);
	for (size_t i = 0; i < def->n_ports; i++) {
		const struct sk_app_port *p = &def->ports[i];
		struct in_addr any = { htonl(INADDR_ANY) };
		if (p->proto != proto || !p->host_start)
			continue;
		if (p->host_ip && inet_pton(AF_INET, p->host_ip, &any) != 1)
			continue; /* IPv6 host addresses: not yet */
		for (unsigned h = p->host_start; h <= p->host_end; h++) {
			unsigned c = p->container_end > p->container_start
					 ? p->container_start + (h - p->host_start)
					 : p->container_start;
			struct sockaddr_storage ss;
			socklen_t len;
			_cleanup_free_ char *cn = cluster_name(s, (uint16_t)c, udp);
			sockaddr4(&ss, &len, any, (uint16_t)h);
			add_listener(b, &ss, len, cn);
		}
	}
	if (s->has_vip && s->app->net && s->app->net->up)
		for (size_t i = 0; i < n; i++) {
			struct sockaddr_storage ss;
			socklen_t len;
			_cleanup_free_ char *cn = cluster_name(s, ports[i], udp);
			sockaddr4(&ss, &len, s->vip, ports[i]);
			add_listener(b, &ss, len, cn);
		}
}

static void service_routes(struct build *b, struct sk_dservice *s)
{
	if (s->removed || !sk_dnet_wanted(s->def))
		return;
	service_proto_routes(b, s, SK_APP_TCP);
	service_proto_routes(b, s, SK_APP_UDP);
}

static void record_add(struct sk_dns_zone *z, FILE *sig, char *name, const struct in_addr *a,
		       size_t n)
{
	struct sk_dns_record *rec;

	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	z->records = sk_realloc(z->records, sizeof(*z->records) * (z->n_records + 1));
	rec = &z->records[z->n_records++];
	rec->name = name;
	rec->n_addrs = n;
	rec->addrs = sk_malloc0(sizeof(*a) * (n ? n : 1));
	memcpy(rec->addrs, a, sizeof(*a) * n);
	fprintf(sig, "R %s", name);
	for (size_t i = 0; i < n; i++)
		fprintf(sig, " %08x", a[i].s_addr);
	fputc('\n', sig);
}

static void app_zone(struct build *b, struct sk_dapp *a)
{
	struct sk_dns_zone *z;

	if (!a->net || !a->net->up)
		return;
	b->zones = sk_realloc(b->zones, sizeof(*b->zones) * (b->n_zones + 1));
	z = &b->zones[b->n_zones++];
	memset(z, 0, sizeof(*z));
	z->listen = a->net->gw;
	z->forward = a->model && a->model->x_skiff.egress;
	z->ttl = 2;
	fprintf(b->sig, "Z %08x %d\n", z->listen.s_addr, z->forward);
	for (size_t i = 0; i < a->n_s; i++) {
		struct sk_dservice *s = a->s[i];
		_cleanup_free_ struct in_addr *ready = sk_malloc0(sizeof(*ready) * (s->n_r + 1));
		size_t n = 0;
		if (s->removed || !sk_dnet_wanted(s->def))
			continue;
		for (size_t j = 0; j < s->n_r; j++) {
			struct sk_dreplica *r = s->r[j];
			if (!r->has_addr)
				continue;
			if (sk_routes_ready(r))
				ready[n++] = r->addr;
			if (r->phase != P_RUNNING)
				continue;
			record_add(z, b->sig, sk_strdup(r->id), &r->addr, 1);
			record_add(z, b->sig, sk_asprintf("%" PRId64 ".%s", r->index, s->name),
				   &r->addr, 1);
			record_add(z, b->sig, sk_asprintf("%s.%s", r->id, s->name), &r->addr, 1);
		}
		record_add(z, b->sig, sk_strdup(s->name), s->has_vip ? &s->vip : ready,
			   s->has_vip ? 1 : n);
		for (size_t k = 0; k < s->def->n_networks; k++)
			for (size_t m = 0;
			     s->def->networks[k].aliases && s->def->networks[k].aliases[m]; m++)
				record_add(z, b->sig, sk_strdup(s->def->networks[k].aliases[m]),
					   s->has_vip ? &s->vip : ready, s->has_vip ? 1 : n);
	}
}

static void routes_build(struct sk_daemon *d, struct build *b)
{
	b->sig = open_memstream(&b->sig_text, &b->sig_len);
	if (!b->sig)
		abort();
	for (size_t i = 0; i < d->n_apps; i++) {
		struct sk_dapp *a = d->apps[i];
		if (a->deleting && !a->net)
			continue;
		for (size_t j = 0; j < a->n_s; j++)
			service_routes(b, a->s[j]);
		app_zone(b, a);
	}
	fflush(b->sig);
}

/* ---- publishing ---- */

/* The cluster listener i serves, or NULL. */
static const struct sk_proxy_cluster *listener_cluster(const struct sk_proxy_config *pc, size_t i)
{
	for (size_t k = 0; k < pc->n_clusters; k++)
		if (!strcmp(pc->clusters[k].name, pc->listeners[i].cluster))
			return &pc->clusters[k];
	return NULL;
}

/* "/udp" for a listener of a UDP cluster (as the proxy names it in errors), else "". */
static const char *listener_proto(const struct sk_proxy_config *pc, size_t i)
{
	const struct sk_proxy_cluster *cl = listener_cluster(pc, i);

	return cl && cl->policy.mode == SK_PROXY_UDP ? "/udp" : "";
}

/* The listener an error of sk_proxy_publish() names, or SIZE_MAX. */
static size_t listener_named(const struct sk_proxy_config *pc, const char *msg)
{
	size_t i;

	if (sscanf(msg, "listener %zu:", &i) == 1 && i < pc->n_listeners)
		return i;
	for (i = 0; i < pc->n_listeners; i++) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&pc->listeners[i].addr;
		char a[INET_ADDRSTRLEN], q[INET_ADDRSTRLEN + 16];
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		/* 'ADDR:PORT' or 'ADDR:PORT/udp': the quotes keep TCP and UDP apart */
		snprintf(q, sizeof(q), "'%s:%u%s'", a, ntohs(sin->sin_port), listener_proto(pc, i));
		if (strstr(msg, q))
			return i;
	}
	return SIZE_MAX;
}

/*
 * Something left out of a publication (a port, a DNS zone): said once (log
 * and event) until the reason changes, remembered in *now for the next time.
 */
static void drop_note(struct sk_daemon *d, char **now, const char *app, const char *service,
		      const char *what)
{
	char *all;

	if (!d->routes_dropped || !strstr(d->routes_dropped, what)) {
		sk_log_error("%s", what);
		sk_daemon_event(d, app, service, 0, SK_STORE_EV_ERROR, NULL, "%s", what);
	}
	all = sk_asprintf("%s%s\n", *now ? *now : "", what);
	free(*now);
	*now = all;
}

/*
 * Publishes the proxy's table.  A listener that cannot be opened (the port is
 * taken by another program, two apps publish the same port) is left out, so
 * one app's bad port does not freeze every route; true when one was.
 */
static bool proxy_publish(struct sk_daemon *d, struct sk_proxy_config *pc, char **now)
{
	struct sk_error *err = NULL;
	bool dropped = false;

	for (unsigned tries = 0; sk_proxy_publish(d->proxy, pc, &err) < 0; tries++) {
		size_t i = tries <= pc->n_listeners ? listener_named(pc, err->msg) : SIZE_MAX;
		const struct sk_proxy_cluster *cl = NULL;
		const struct sockaddr_in *sin;
		_cleanup_free_ char *what = NULL;
		char a[INET_ADDRSTRLEN];

		if (i == SIZE_MAX) {
			what = sk_asprintf("proxy: %s", err->msg);
			drop_note(d, now, NULL, NULL, what);
			sk_error_free(err);
			return true;
		}
		cl = listener_cluster(pc, i);
		sin = (const struct sockaddr_in *)&pc->listeners[i].addr;
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		what = sk_asprintf("port %s:%u%s not published: %s", a, ntohs(sin->sin_port),
				   listener_proto(pc, i), err->msg);
		sk_error_free(TAKE_PTR(err));
		drop_note(d, now, cl ? cl->app : NULL, cl ? cl->service : NULL, what);
		dropped = true;
		free(pc->listeners[i].cluster);
		memmove(pc->listeners + i, pc->listeners + i + 1,
			(pc->n_listeners - i - 1) * sizeof(*pc->listeners));
		pc->n_listeners--;
	}
	return dropped;
}

/* The same for DNS: a zone whose address cannot be served is left out. */
static bool dns_publish(struct sk_daemon *d, struct build *b, char **now)
{
	struct sk_error *err = NULL;
	bool dropped = false;

	for (unsigned tries = 0; sk_dns_publish(d->dns, b->zones, b->n_zones, &err) < 0; tries++) {
		_cleanup_free_ char *what = sk_asprintf("%s", err->msg);
		size_t i = SIZE_MAX;

		for (size_t k = 0; k < b->n_zones && i == SIZE_MAX && tries <= b->n_zones; k++) {
			char a[INET_ADDRSTRLEN], q[INET_ADDRSTRLEN + 8];
			inet_ntop(AF_INET, &b->zones[k].listen, a, sizeof(a));
			snprintf(q, sizeof(q), "%s:", a);
			if (strstr(err->msg, q))
				i = k;
		}
		sk_error_free(TAKE_PTR(err));
		drop_note(d, now, NULL, NULL, what);
		if (i == SIZE_MAX)
			return true;
		dropped = true;
		for (size_t j = 0; j < b->zones[i].n_records; j++) {
			free(b->zones[i].records[j].name);
			free(b->zones[i].records[j].addrs);
		}
		free(b->zones[i].records);
		memmove(b->zones + i, b->zones + i + 1, (b->n_zones - i - 1) * sizeof(*b->zones));
		b->n_zones--;
	}
	return dropped;
}

static ssize_t held_find(struct sk_daemon *d, const char *key)
{
	for (size_t i = 0; i < d->n_held_keys; i++)
		if (!strcmp(d->held_keys[i], key))
			return (ssize_t)i;
	return -1;
}

static void held_drop(struct sk_daemon *d, size_t i)
{
	struct sk_error *err = NULL;

	if (sk_keeper_drop(d->keeper_fd, d->held_keys[i], &err) < 0) {
		sk_warn("%s", err->msg);
		sk_error_free(err);
	}
	free(d->held_keys[i]);
	d->held_keys[i] = d->held_keys[--d->n_held_keys];
}

/*
 * One group of copies of a published socket (fds, all bound to one address
 * and type; closed here): held if the keeper does not hold that key yet.
 * Marks the key live.
 */
static void hold_group(struct sk_daemon *d, int *fds, size_t n, bool **live)
{
	char key[SK_KEEPER_MAX_KEY];
	struct sk_error *err = NULL;
	ssize_t at;

	if (n == 0)
		return;
	if (sk_keeper_socket_key(fds[0], key, sizeof(key)) < 0) {
		/* not a bound socket: nothing to hold */
	} else if ((at = held_find(d, key)) >= 0) {
		(*live)[at] = true;
	} else if (sk_keeper_hold(d->keeper_fd, fds, n, &err) < 0) {
		sk_warn("%s", err->msg);
		sk_error_free(err);
	} else {
		d->held_keys = sk_realloc(d->held_keys, (d->n_held_keys + 1) * sizeof(char *));
		*live = sk_realloc(*live, (d->n_held_keys + 1) * sizeof(bool));
		(*live)[d->n_held_keys] = true;
		d->held_keys[d->n_held_keys++] = sk_strdup(key);
	}
	for (size_t k = 0; k < n; k++)
		close(fds[k]);
}

/*
 * Gives the keeper copies of the sockets published now (the proxy's
 * listeners, the DNS responder's UDP and TCP sockets) and takes back those
 * of what is gone.  The first publish after a start adopted what the keeper
 * held: those holds are dropped and made anew from the sockets in use, so
 * no copy of a socket nobody serves stays bound (or in a port's
 * SO_REUSEPORT group).
 */
static void keeper_sync(struct sk_daemon *d, const struct build *b)
{
	const struct sk_proxy_config *pc = &b->pc;
	bool *live;

	if (d->held_refresh) {
		d->held_refresh = false;
		if (d->proxy)
			sk_proxy_close_spares(d->proxy);
		if (d->dns)
			sk_dns_close_spares(d->dns);
		while (d->n_held_keys > 0 && d->keeper_fd >= 0)
			held_drop(d, d->n_held_keys - 1);
	}
	if (d->keeper_fd < 0)
		return;
	live = sk_new0(bool, d->n_held_keys + 1);
	for (size_t i = 0; d->proxy && i < pc->n_listeners; i++) {
		const struct sk_proxy_listener *l = &pc->listeners[i];
		int fds[16], type = *listener_proto(pc, i) ? SOCK_DGRAM : SOCK_STREAM;
		size_t n = sk_proxy_listener_fds(d->proxy, type, &l->addr, l->addrlen, fds,
						 SK_ELEMENTSOF(fds));

		hold_group(d, fds, n, &live);
	}
	for (size_t i = 0; d->dns && i < b->n_zones; i++) {
		int fds[2];
		size_t n = sk_dns_listener_fds(d->dns, b->zones[i].listen, fds);

		for (size_t k = 0; k < n; k++) /* UDP and TCP: two keys */
			hold_group(d, &fds[k], 1, &live);
	}
	for (size_t i = d->n_held_keys; i-- > 0;)
		if (!live[i]) {
			held_drop(d, i); /* moves the last key to i: live or checked already */
			live[i] = live[d->n_held_keys];
		}
	free(live);
}

static void retry_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct sk_daemon *d = userdata;

	free(TAKE_PTR(d->routes_sig)); /* publish again even if nothing changed */
	sk_routes_queue(d);
}

static void routes_publish_cb(struct sk_loop *loop, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct build b = { 0 };
	char *dropped = NULL;

	d->routes_defer = NULL;
	routes_build(d, &b);
	if (d->routes_sig && !strcmp(d->routes_sig, b.sig_text)) {
		build_release(&b);
		return;
	}
	/* both, always: one failing must not keep the other from publishing */
	bool proxy_short = d->proxy && proxy_publish(d, &b.pc, &dropped);
	bool dns_short = d->dns && dns_publish(d, &b, &dropped);
	keeper_sync(d, &b);
	if (proxy_short || dns_short) {
		if (!d->routes_retry)
			d->routes_retry = sk_loop_timer_add(d->loop, RETRY_NS, 0, retry_cb, d);
		else
			sk_loop_timer_set(d->routes_retry, RETRY_NS, 0);
	}
	free(d->routes_dropped);
	d->routes_dropped = TAKE_PTR(dropped);
	sk_debug("routes: %zu listener(s), %zu cluster(s), %zu zone(s)", b.pc.n_listeners,
		 b.pc.n_clusters, b.n_zones);
	free(d->routes_sig);
	fclose(TAKE_PTR(b.sig));
	d->routes_sig = TAKE_PTR(b.sig_text);
	build_release(&b);
}

void sk_routes_publish_now(struct sk_daemon *d)
{
	if (d->routes_defer)
		sk_loop_defer_cancel(TAKE_PTR(d->routes_defer));
	routes_publish_cb(d->loop, d);
}

void sk_routes_queue(struct sk_daemon *d)
{
	if (!d->routes_defer && d->loop)
		d->routes_defer = sk_loop_defer(d->loop, routes_publish_cb, d);
}

int sk_routes_start(struct sk_daemon *d, struct sk_error **err)
{
	struct sk_proxy_opts po = { .threads = 0 };
	struct sk_dns_opts dopts = { .port = 0 };
	int r;

	r = sk_proxy_new(&po, &d->proxy, err);
	if (r < 0) {
		sk_error_prefix(err, "proxy");
		return r;
	}
	r = sk_dns_new(&dopts, &d->dns, err);
	if (r < 0) {
		sk_error_prefix(err, "dns");
		return r;
	}
	/* what the keeper held for the last skiffd: served again from the first publish */
	for (size_t i = 0; i < d->n_held_fds; i++) {
		char key[SK_KEEPER_MAX_KEY];

		if (sk_keeper_socket_key(d->held_fds[i], key, sizeof(key)) == 0 &&
		    held_find(d, key) < 0) {
			d->held_keys =
			    sk_realloc(d->held_keys, (d->n_held_keys + 1) * sizeof(char *));
			d->held_keys[d->n_held_keys++] = sk_strdup(key);
		}
		/* a copy for each: the first publish tells which one binds the address */
		int copy = fcntl(d->held_fds[i], F_DUPFD_CLOEXEC, 3);
		if (copy >= 0)
			sk_dns_adopt(d->dns, copy);
		sk_proxy_adopt(d->proxy, d->held_fds[i]);
	}
	free(TAKE_PTR(d->held_fds));
	d->n_held_fds = 0;
	d->held_refresh = true;
	sk_routes_queue(d);
	return 0;
}

void sk_routes_stop(struct sk_daemon *d)
{
	if (d->routes_defer)
		sk_loop_defer_cancel(TAKE_PTR(d->routes_defer));
	if (d->routes_retry)
		sk_loop_timer_remove(TAKE_PTR(d->routes_retry));
	free(TAKE_PTR(d->routes_dropped));
	sk_proxy_free(TAKE_PTR(d->proxy));
	sk_dns_free(TAKE_PTR(d->dns));
	free(TAKE_PTR(d->routes_sig));
	for (size_t i = 0; i < d->n_held_fds; i++)
		close(d->held_fds[i]);
	free(TAKE_PTR(d->held_fds));
	d->n_held_fds = 0;
	for (size_t i = 0; i < d->n_held_keys; i++)
		free(d->held_keys[i]);
	free(TAKE_PTR(d->held_keys));
	d->n_held_keys = 0;
}

void sk_routes_metrics(struct sk_daemon *d, char **text)
{
	_cleanup_free_ char *m = NULL;
	struct sk_error *err = NULL;
	char *joined;

	if (!d->proxy)
		return;
	if (sk_proxy_metrics(d->proxy, &m, &err) < 0) {
		sk_warn("proxy metrics: %s", err->msg);
		sk_error_free(err);
		return;
	}
	joined = sk_asprintf("%s%s", *text ? *text : "", m);
	free(*text);
	*text = joined;
}
