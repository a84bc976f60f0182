/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dnet.c - the daemon's side of container networking: each app's subnet and
 * bridge, address leases for replicas and virtual service addresses
 * (persisted in the store so a restarted skiffd hands out the same ones),
 * the per-replica attachment a launch helper performs (netns, veth,
 * /etc/hosts, /etc/resolv.conf), and the janitor that removes what a dead
 * daemon left behind.
 *
 * Names: bridge "sk-<8 hex>" and veth "skv<10 hex>" are hashes of the
 * daemon's tag (from its data dir) and the app or container id; every link
 * carries the alias "skiff:<tag>:<app>[:<container id>]", which is what the
 * janitor reads.  Netns files live in <run>/netns/<container id>.
 *
 * The kernel work of sk_net_* is netlink and fast; bridges are made on the
 * loop (once per app), veths and namespaces in the forked launch helpers.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon-internal.h"
#include "net/net.h"

#define POOL_NET 0x0a590000u /* 10.89.0.0/16: apps get /24s of it */

static uint64_t fnv64(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = a; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	h = (h ^ ':') * 0x100000001b3ULL;
	for (const char *p = b; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return h;
}

static char *bridge_name(struct sk_daemon *d, const char *app)
{
	return sk_asprintf("sk-%08" PRIx64, (uint64_t)(fnv64(d->tag, app) & 0xffffffffu));
}

char *sk_dnet_host_if(struct sk_daemon *d, const char *id)
{
	return sk_asprintf("skv%010" PRIx64, (uint64_t)(fnv64(d->tag, id) & 0xffffffffffu));
}

bool sk_dnet_wanted(const struct sk_app_service *def)
{
	return def && def->image && def->network_mode == SK_APP_NET_DEFAULT;
}

static char *addr_str(struct in_addr a)
{
	char buf[INET_ADDRSTRLEN];

	return sk_strdup(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
}

void sk_dnet_free(struct sk_dnet *n)
{
	if (!n)
		return;
	free(n->last_error);
	for (size_t i = 0; i < n->n_leases; i++)
		free(n->leases[i].owner);
	free(n->leases);
	free(n->subnet);
	free(n->bridge);
	free(n);
}

static void lease_add(struct sk_dnet *n, struct in_addr a, const char *owner)
{
	n->leases = sk_realloc(n->leases, sizeof(*n->leases) * (n->n_leases + 1));
	n->leases[n->n_leases].addr = a;
	n->leases[n->n_leases++].owner = sk_strdup(owner);
}

static struct sk_dlease *lease_find(struct sk_dnet *n, const char *owner)
{
	for (size_t i = 0; n && i < n->n_leases; i++)
		if (!strcmp(n->leases[i].owner, owner))
			return &n->leases[i];
	return NULL;
}

static void lease_drop(struct sk_dnet *n, const char *owner)
{
	struct sk_dlease *l = lease_find(n, owner);
	size_t i;

	if (!l)
		return;
	i = (size_t)(l - n->leases);
	free(l->owner);
	memmove(n->leases + i, n->leases + i + 1, (n->n_leases - i - 1) * sizeof(*n->leases));
	n->n_leases--;
}

/* Gives replicas and services the addresses their leases hold. */
static void leases_bind(struct sk_dapp *a)
{
	for (size_t i = 0; i < a->n_s; i++) {
		struct sk_dservice *s = a->s[i];
		_cleanup_free_ char *vip = sk_asprintf("vip:%s", s->name);
		struct sk_dlease *l = lease_find(a->net, vip);
		s->has_vip = l != NULL;
		if (l)
			s->vip = l->addr;
		for (size_t j = 0; j < s->n_r; j++) {
			l = lease_find(a->net, s->r[j]->id);
			s->r[j]->has_addr = l != NULL;
			if (l)
				s->r[j]->addr = l->addr;
		}
	}
}

static struct sk_dnet *dnet_new(struct sk_daemon *d, const char *app, const char *subnet,
				struct sk_error **err)
{
	struct sk_dnet *n = sk_malloc0(sizeof(*n));

	if (sk_ipam_parse_cidr(subnet, &n->net, &n->prefix, err) < 0) {
		sk_dnet_free(n);
		return NULL;
	}
	n->subnet = sk_strdup(subnet);
	n->gw = sk_ipam_gateway(n->net, n->prefix);
	n->bridge = bridge_name(d, app);
	return n;
}

void sk_dnet_app_load(struct sk_dapp *a)
{
	struct sk_daemon *d = a->d;
	_cleanup_free_ char *subnet = NULL, *bridge = NULL;
	struct sk_store_lease *v = NULL;
	struct sk_error *err = NULL;
	size_t n = 0;

	if (sk_store_net_get(d->store, a->name, &subnet, &bridge, &err) < 0)
		goto out;
	sk_dnet_free(a->net);
	a->net = dnet_new(d, a->name, subnet, &err);
	if (!a->net)
		goto out;
	if (sk_store_lease_list(d->store, a->name, &v, &n, &err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct in_addr ad;
		if (inet_pton(AF_INET, v[i].addr, &ad) == 1)
			lease_add(a->net, ad, v[i].owner);
	}
	leases_bind(a);
out:
	if (err && err->code != ENOENT)
		sk_warn("app '%s': network: %s", a->name, err->msg);
	sk_error_free(err);
	sk_store_leases_free(v, n);
}

/* A /24 of the pool that no other app has and no host route overlaps. */
static int subnet_pick(struct sk_daemon *d, char **ret, struct sk_error **err)
{
	_cleanup_strv_ char **apps = NULL, **subnets = NULL;
	int r = sk_store_net_list(d->store, &apps, &subnets, err);

	if (r < 0)
		return r;
	for (unsigned i = 1; i < 255; i++) {
		struct in_addr net = { htonl(POOL_NET | (i << 8)) };
		_cleanup_free_ char *s = NULL;
		bool taken = false;
		char buf[INET_ADDRSTRLEN];

		snprintf(buf, sizeof(buf), "10.89.%u.0", i);
		s = sk_asprintf("%s/24", buf);
		for (size_t j = 0; subnets && subnets[j] && !taken; j++)
			taken = !strcmp(subnets[j], s);
		if (taken || sk_net_route_overlaps(net, 24))
			continue;
		*ret = TAKE_PTR(s);
		return 0;
	}
	return sk_error_set(err, ENOSPC, "no free /24 left in 10.89.0.0/16 for another app");
}

/*
 * NAT as the model says (x-skiff.egress may change with `up` alone).  The
 * first call in a daemon's life also removes a rule a previous daemon left
 * for an app that no longer wants it.
 */
static int egress_sync(struct sk_dapp *a, struct sk_error **err)
{
	struct sk_dnet *n = a->net;
	bool want = a->model && a->model->x_skiff.egress;
	_cleanup_free_ char *tag = NULL;
	int r;

	if (n->egress_known && want == n->egress)
		return 0;
	tag = sk_asprintf("%s:%s", a->d->tag, a->name);
	if (want)
		r = sk_net_egress_enable(tag, n->bridge, n->net, n->prefix, err);
	else
		r = sk_net_egress_disable(tag, err);
	if (r < 0 && !(r == -ENOENT && !want))
		return r;
	if (r < 0 && err)
		sk_error_free(TAKE_PTR(*err));
	n->egress = want;
	n->egress_known = true;
	return 0;
}

void sk_dnet_note(struct sk_dapp *a, const char *service, const char *msg)
{
	if (a->net && a->net->last_error && !strcmp(a->net->last_error, msg))
		return; /* said already */
	sk_log_error("app '%s': %s", a->name, msg);
	sk_daemon_event(a->d, a->name, service, 0, SK_STORE_EV_ERROR, NULL, "%s", msg);
	if (a->net) {
		free(a->net->last_error);
		a->net->last_error = sk_strdup(msg);
	}
}

static bool cidr_overlap(struct in_addr a, int pa, struct in_addr b, int pb)
{
	int p = pa < pb ? pa : pb;
	uint32_t mask = p ? htonl(~0u << (32 - p)) : 0;

	return (a.s_addr & mask) == (b.s_addr & mask);
}

/* An explicit x-skiff.subnet must not overlap another app's or a route of the host. */
static int subnet_check(struct sk_dapp *a, const char *want, struct sk_error **err)
{
	_cleanup_strv_ char **apps = NULL, **subnets = NULL;
	_cleanup_free_ char *bridge = bridge_name(a->d, a->name);
	struct in_addr net, o;
	int prefix, op, r;

	r = sk_ipam_parse_cidr(want, &net, &prefix, err);
	if (r < 0)
		return r;
	r = sk_store_net_list(a->d->store, &apps, &subnets, err);
	if (r < 0)
		return r;
	for (size_t i = 0; subnets && subnets[i]; i++)
		if (strcmp(apps[i], a->name) &&
		    sk_ipam_parse_cidr(subnets[i], &o, &op, NULL) == 0 &&
		    cidr_overlap(net, prefix, o, op))
			return sk_error_set(err, EEXIST, "x-skiff.subnet %s overlaps app '%s' (%s)",
					    want, apps[i], subnets[i]);
	if (!sk_net_link_exists(bridge) && sk_net_route_overlaps(net, prefix))
		return sk_error_set(err, EEXIST, "x-skiff.subnet %s overlaps a route of this host",
				    want);
	return 0;
}

int sk_dnet_app_ensure(struct sk_dapp *a, struct sk_error **err)
{
	struct sk_daemon *d = a->d;
	const char *want = a->model ? a->model->x_skiff.subnet : NULL;
	_cleanup_free_ char *alias = sk_asprintf("skiff:%s:%s", d->tag, a->name);
	_cleanup_free_ char *picked = NULL;
	int r;

	if (!a->net) /* rows a previous life of the app left (a failed down): reuse them */
		sk_dnet_app_load(a);
	if (a->net && want && strcmp(a->net->subnet, want)) {
		if (a->net->n_leases == 0) {
			/* the file asks for another subnet and nothing holds an address: move */
			(void)sk_net_link_delete(a->net->bridge, NULL);
			sk_dnet_free(TAKE_PTR(a->net));
		} else {
			_cleanup_free_ char *m = sk_asprintf(
			    "x-skiff.subnet %s: the app keeps %s while addresses are leased in it "
			    "(skiff down, then up, to move)",
			    want, a->net->subnet);
			sk_dnet_note(a, NULL, m);
		}
	}
	if (!a->net) {
		if (!want) {
			r = subnet_pick(d, &picked, err);
			if (r < 0)
				return r;
		} else {
			r = subnet_check(a, want, err);
			if (r < 0)
				return r;
		}
		a->net = dnet_new(d, a->name, want ? want : picked, err);
		if (!a->net)
			return -EINVAL;
		r = sk_store_net_put(d->store, a->name, a->net->subnet, a->net->bridge, err);
		if (r < 0) {
			sk_dnet_free(TAKE_PTR(a->net));
			return r;
		}
	}
	if (!a->net->up) {
		r = sk_net_bridge_ensure(a->net->bridge, alias, a->net->gw, a->net->prefix, 0, err);
		if (r < 0)
			return r;
		a->net->up = true;
		/* addresses of internal services come back with a new bridge */
		for (size_t i = 0; i < a->n_s; i++)
			if (a->s[i]->has_vip)
				(void)sk_dnet_service_vip(a->s[i], true, NULL);
		sk_routes_queue(d);
	}
	return egress_sync(a, err);
}

void sk_dnet_app_sync(struct sk_dapp *a)
{
	struct sk_error *err = NULL;

	if (!a->net || !a->net->up || a->deleting)
		return;
	if (egress_sync(a, &err) < 0) {
		sk_dnet_note(a, NULL, err->msg);
		sk_error_free(err);
	}
}

void sk_dnet_app_teardown(struct sk_dapp *a)
{
	struct sk_daemon *d = a->d;
	_cleanup_free_ char *bridge = bridge_name(d, a->name);
	_cleanup_free_ char *tag = sk_asprintf("%s:%s", d->tag, a->name);
	struct sk_error *err = NULL;

	if (sk_net_egress_disable(tag, &err) < 0) { /* whatever this daemon believes */
		sk_warn("app '%s': %s", a->name, err->msg);
		sk_error_free(TAKE_PTR(err));
	}
	if (sk_net_link_delete(bridge, &err) < 0) {
		sk_warn("app '%s': %s", a->name, err->msg);
		sk_error_free(TAKE_PTR(err));
	}
	if (sk_store_net_delete(d->store, a->name, &err) < 0 ||
	    sk_store_fault_delete_app(d->store, a->name, &err) < 0) {
		sk_warn("app '%s': %s", a->name, err->msg);
		sk_error_free(TAKE_PTR(err));
	}
	sk_dnet_free(TAKE_PTR(a->net));
	for (size_t i = 0; i < a->n_s; i++) {
		a->s[i]->has_vip = false;
		for (size_t j = 0; j < a->s[i]->n_r; j++)
			a->s[i]->r[j]->has_addr = false;
	}
	sk_routes_queue(d);
}

/* Leases the lowest free address of the app's subnet to owner. */
static int lease_new(struct sk_dapp *a, const char *owner, struct in_addr *ret,
		     struct sk_error **err)
{
	struct sk_dnet *n = a->net;
	_cleanup_free_ struct in_addr *used = sk_malloc0(sizeof(*used) * (n->n_leases + 1));
	_cleanup_free_ char *text = NULL;
	struct in_addr addr;
	int r;

	for (size_t i = 0; i < n->n_leases; i++)
		used[i] = n->leases[i].addr;
	r = sk_ipam_next(n->net, n->prefix, used, n->n_leases, &addr);
	if (r < 0)
		return sk_error_set(err, -r, "app '%s': no free address left in %s", a->name,
				    n->subnet);
	text = addr_str(addr);
	r = sk_store_lease_put(a->d->store, a->name, text, owner, err);
	if (r < 0)
		return r;
	lease_add(n, addr, owner);
	*ret = addr;
	return 0;
}

/* networks[].ipv4_address of the service, for its first replica (Compose allows one replica). */
static int fixed_address(struct sk_dreplica *r, bool *ret_fixed, struct in_addr *ret,
			 struct sk_error **err)
{
	const struct sk_app_service *def = r->svc->def;
	struct sk_dnet *n = r->svc->app->net;

	*ret_fixed = false;
	for (size_t i = 0; i < def->n_networks && r->index == 1; i++) {
		const char *want = def->networks[i].ipv4_address;
		if (!want)
			continue;
		if (inet_pton(AF_INET, want, ret) != 1 ||
		    !sk_ipam_contains(n->net, n->prefix, *ret) || ret->s_addr == n->gw.s_addr)
			return sk_error_set(err, EINVAL,
					    "service '%s': ipv4_address '%s' is not a host address "
					    "of the app's subnet %s",
					    def->name, want, n->subnet);
		*ret_fixed = true;
		return 0;
	}
	return 0;
}

int sk_dnet_replica_lease(struct sk_dreplica *r, struct sk_error **err)
{
	struct sk_dapp *a = r->svc->app;
	struct sk_dlease *l;
	struct in_addr fixed;
	bool is_fixed;
	int ret;

	ret = sk_dnet_app_ensure(a, err);
	if (ret < 0)
		return ret;
	ret = fixed_address(r, &is_fixed, &fixed, err);
	if (ret < 0)
		return ret;
	l = lease_find(a->net, r->id);
	if (is_fixed && !(l && l->addr.s_addr == fixed.s_addr)) {
		_cleanup_free_ char *text = addr_str(fixed);
		for (size_t i = 0; i < a->net->n_leases; i++)
			if (a->net->leases[i].addr.s_addr == fixed.s_addr)
				return sk_error_set(err, EADDRINUSE,
						    "service '%s': ipv4_address %s is taken by %s",
						    r->svc->name, text, a->net->leases[i].owner);
		if (l)
			sk_dnet_replica_release(r);
		ret = sk_store_lease_put(a->d->store, a->name, text, r->id, err);
		if (ret < 0)
			return ret;
		lease_add(a->net, fixed, r->id);
		r->addr = fixed;
		r->has_addr = true;
		return 0;
	}
	if (l && sk_ipam_contains(a->net->net, a->net->prefix, l->addr)) {
		r->addr = l->addr;
		r->has_addr = true;
		return 0;
	}
	if (l)
		sk_dnet_replica_release(r);
	ret = lease_new(a, r->id, &r->addr, err);
	if (ret < 0)
		return ret;
	r->has_addr = true;
	return 0;
}

void sk_dnet_replica_release(struct sk_dreplica *r)
{
	struct sk_dapp *a = r->svc->app;
	struct sk_error *err = NULL;

	r->has_addr = false;
	if (!a->net || !lease_find(a->net, r->id))
		return;
	if (sk_store_lease_delete(a->d->store, a->name, r->id, &err) < 0) {
		sk_warn("%s: %s", r->id, err->msg);
		sk_error_free(err);
	}
	lease_drop(a->net, r->id);
}

int sk_dnet_service_vip(struct sk_dservice *s, bool want, struct sk_error **err)
{
	struct sk_dapp *a = s->app;
	_cleanup_free_ char *owner = sk_asprintf("vip:%s", s->name);
	struct sk_dlease *l = lease_find(a->net, owner);
	struct sk_error *e2 = NULL;
	int r;

	if (!want) {
		if (!l)
			return 0;
		if (a->net->up && sk_net_addr_del(a->net->bridge, l->addr, 32, &e2) < 0) {
			sk_warn("service '%s': %s", s->name, e2->msg);
			sk_error_free(TAKE_PTR(e2));
		}
		if (sk_store_lease_delete(a->d->store, a->name, owner, &e2) < 0) {
			sk_warn("service '%s': %s", s->name, e2->msg);
			sk_error_free(e2);
		}
		lease_drop(a->net, owner);
		s->has_vip = false;
		sk_routes_queue(a->d);
		return 0;
	}
	r = sk_dnet_app_ensure(a, err);
	if (r < 0)
		return r;
	l = lease_find(a->net, owner);
	if (!l) {
		r = lease_new(a, owner, &s->vip, err);
		if (r < 0)
			return r;
	} else {
		s->vip = l->addr;
	}
	r = sk_net_addr_add(a->net->bridge, s->vip, 32, err);
	if (r < 0)
		return r;
	if (!s->has_vip)
		sk_routes_queue(a->d);
	s->has_vip = true;
	return 0;
}

/* ---- in the launch helper ---- */

static int write_etc(struct sk_dreplica *r, const char *bundle, struct sk_error **err)
{
	struct sk_dservice *s = r->svc;
	struct sk_dapp *a = s->app;
	_cleanup_free_ char *ip = addr_str(r->addr), *gw = addr_str(a->net->gw);
	_cleanup_free_ char *hosts = NULL, *resolv = NULL, *hp = NULL, *rp = NULL;
	const char *hn = s->def->hostname ? s->def->hostname : r->id;

	hosts = sk_asprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			    "%s\t%s %s %" PRId64 ".%s\n",
			    ip, hn, strcmp(hn, r->id) ? r->id : "", r->index, s->name);
	resolv = sk_asprintf("# skiff: the app's DNS on its bridge\nnameserver %s\n"
			     "options ndots:0 timeout:1 attempts:2\n",
			     gw);
	hp = sk_path_join(bundle, "hosts");
	rp = sk_path_join(bundle, "resolv.conf");
	if (sk_write_file_atomic(hp, hosts, strlen(hosts), 0644, false) < 0)
		return sk_error_errno(err, "write '%s'", hp);
	if (sk_write_file_atomic(rp, resolv, strlen(resolv), 0644, false) < 0)
		return sk_error_errno(err, "write '%s'", rp);
	return 0;
}

int sk_dnet_replica_attach(struct sk_dreplica *r, const char *bundle, char **ret_netns,
			   struct sk_error **err)
{
	struct sk_daemon *d = r->svc->app->d;
	struct sk_dnet *n = r->svc->app->net;
	_cleanup_free_ char *ns = sk_path_join(d->netns_dir, r->id);
	_cleanup_free_ char *hif = sk_dnet_host_if(d, r->id);
	_cleanup_free_ char *alias =
	    sk_asprintf("skiff:%s:%s:%s", d->tag, r->svc->app->name, r->id);
	struct sk_net_attach at = {
		.bridge = n->bridge,
		.host_if = hif,
		.alias = alias,
		.netns_path = ns,
		.ifname = "eth0",
		.addr = r->addr,
		.prefix = n->prefix,
		.gw = n->gw,
		.mac_from_addr = true,
	};
	int ret;

	/* a previous life's leftovers (a helper killed mid-way) */
	(void)sk_dnet_replica_detach(d, r->id, NULL);
	ret = write_etc(r, bundle, err);
	if (ret < 0)
		return ret;
	ret = sk_netns_create(ns, err);
	if (ret < 0)
		return ret;
	ret = sk_net_veth_attach(&at, err);
	if (ret < 0) {
		(void)sk_netns_delete(ns, NULL);
		return ret;
	}
	*ret_netns = TAKE_PTR(ns);
	return 0;
}

int sk_dnet_replica_detach(struct sk_daemon *d, const char *id, struct sk_error **err)
{
	_cleanup_free_ char *ns = sk_path_join(d->netns_dir, id);
	_cleanup_free_ char *hif = sk_dnet_host_if(d, id);
	int r1, r2;

	r1 = sk_net_link_delete(hif, err);
	if (r1 < 0)
		err = NULL; /* keep the first error */
	r2 = sk_netns_delete(ns, err);
	return r1 < 0 ? r1 : r2;
}

/* ---- janitor ---- */

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static bool replica_known(struct sk_daemon *d, const char *id)
{
	for (size_t i = 0; i < d->n_apps; i++)
		for (size_t j = 0; j < d->apps[i]->n_s; j++)
			for (size_t k = 0; k < d->apps[i]->s[j]->n_r; k++) {
				struct sk_dreplica *r = d->apps[i]->s[j]->r[k];
				if (!strcmp(r->id, id) && sk_replica_live(r))
					return true;
			}
	return false;
}

void sk_dnet_janitor(struct sk_daemon *d)
{
	_cleanup_free_ char *prefix = sk_asprintf("skiff:%s:", d->tag);
	_cleanup_strv_ char **links = NULL;
	_cleanup_(closedirp) DIR *dir = NULL;
	struct sk_error *err = NULL;
	struct dirent *de;

	if (sk_net_links_by_alias(prefix, &links, &err) < 0) {
		sk_warn("network janitor: %s", err->msg);
		sk_error_free(TAKE_PTR(err));
	}
	for (size_t i = 0; links && links[i]; i++) {
		const char *name = links[i];
		bool keep = false;
		if (sk_str_has_prefix(name, "sk-")) {
			for (size_t j = 0; j < d->n_apps && !keep; j++) {
				_cleanup_free_ char *b = bridge_name(d, d->apps[j]->name);
				keep = !strcmp(b, name);
			}
		} else {
			for (size_t j = 0; j < d->n_apps && !keep; j++)
				for (size_t k = 0; k < d->apps[j]->n_s && !keep; k++)
					for (size_t m = 0; m < d->apps[j]->s[k]->n_r && !keep;
					     m++) {
						struct sk_dreplica *r = d->apps[j]->s[k]->r[m];
						_cleanup_free_ char *h = sk_dnet_host_if(d, r->id);
						keep = !strcmp(h, name) && sk_replica_live(r);
					}
		}
		if (keep)
			continue;
		sk_info("removing link '%s': no app or replica owns it", name);
		if (sk_net_link_delete(name, &err) < 0) {
			sk_warn("%s", err->msg);
			sk_error_free(TAKE_PTR(err));
		}
	}
	dir = opendir(d->netns_dir);
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.' || replica_known(d, de->d_name))
			continue;
		sk_info("removing network namespace '%s': no replica owns it", de->d_name);
		if (sk_dnet_replica_detach(d, de->d_name, &err) < 0) {
			sk_warn("%s", err->msg);
			sk_error_free(TAKE_PTR(err));
		}
	}
}
