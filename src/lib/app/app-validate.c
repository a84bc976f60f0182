/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-validate.c - checks that span services, run once every service is
 * parsed: depends_on and network_mode service: targets exist, dependencies
 * have no cycle (reported as "a -> b -> a"), attached networks are
 * declared, no two services publish the same host port, x-skiff.fallback
 * names another service and fallbacks have no cycle; then profiles.  Also
 * the start order the daemon uses (dependencies first).
 */
#include "app/app-internal.h"

#include <string.h>

#include "base/util.h"

static ssize_t service_index(const struct sk_app *app, const char *name)
{
	for (size_t i = 0; i < app->n_services; i++)
		if (!strcmp(app->services[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* The YAML node of depends_on entry i of service `name`, for positions. */
static const struct sk_yn *dep_node(const struct sk_yn *services, const char *name, size_t i)
{
	const struct sk_yn *d = sk_yn_get(sk_yn_get(services, name), "depends_on");

	if (!d || i >= d->n)
		return d;
	return d->type == SK_YN_MAP ? sk_yn_key(d, i) : d->items[i];
}

static int check_refs(struct sk_app_ctx *c, const struct sk_app *app, const struct sk_yn *services)
{
	int r = 0;

	for (size_t i = 0; i < app->n_services; i++) {
		const struct sk_app_service *s = &app->services[i];
		_cleanup_free_ char *path = sk_app_path("services", s->name);
		_cleanup_free_ char *dp = sk_app_path(path, "depends_on"),
				    *np = sk_app_path(path, "network_mode");
		for (size_t j = 0; j < s->n_depends_on; j++)
			if (service_index(app, s->depends_on[j].service) < 0)
				r = sk_app_fail(c, dep_node(services, s->name, j), dp,
						"unknown service \"%s\"", s->depends_on[j].service);
		if (s->network_mode == SK_APP_NET_SERVICE &&
		    service_index(app, s->network_mode_ref) < 0)
			r = sk_app_fail(c, sk_yn_get(sk_yn_get(services, s->name), "network_mode"),
					np, "unknown service \"%s\"", s->network_mode_ref);
		for (size_t j = 0; j < s->n_networks; j++) {
			bool found = !strcmp(s->networks[j].network, "default");
			for (size_t k = 0; k < app->n_networks && !found; k++)
				found = !strcmp(app->networks[k].name, s->networks[j].network);
			if (!found) {
				_cleanup_free_ char *p = sk_app_path(path, "networks");
				r = sk_app_fail(
				    c, sk_yn_get(sk_yn_get(services, s->name), "networks"), p,
				    "network \"%s\" is not declared under the top-level networks:",
				    s->networks[j].network);
			}
		}
	}
	return r;
}

enum { WHITE, GREY, BLACK };

struct dfs {
	struct sk_app_ctx *c;
	const struct sk_app *app;
	const struct sk_yn *services;
	int *color;
	size_t *stack;
	size_t depth;
	bool found;
};

/* Dependencies of service i: depends_on entries, then network_mode service:. */
static ssize_t dep_of(const struct sk_app *app, size_t i, size_t j)
{
	const struct sk_app_service *s = &app->services[i];

	if (j < s->n_depends_on)
		return service_index(app, s->depends_on[j].service);
	if (j == s->n_depends_on && s->network_mode == SK_APP_NET_SERVICE)
		return service_index(app, s->network_mode_ref);
	return -2;
}

static void report_cycle(struct dfs *d, size_t from, size_t edge, size_t to)
{
	struct sk_app_buf b = { 0 };
	size_t start = 0;
	const struct sk_app_service *s = &d->app->services[from];
	_cleanup_free_ char *path = sk_app_path("services", s->name),
			    *dp = sk_app_path(path, "depends_on");
	const struct sk_yn *at = edge < s->n_depends_on
				     ? dep_node(d->services, s->name, edge)
				     : sk_yn_get(sk_yn_get(d->services, s->name), "network_mode");

	while (d->stack[start] != to)
		start++;
	for (size_t k = start; k < d->depth; k++) {
		sk_app_buf_adds(&b, d->app->services[d->stack[k]].name);
		sk_app_buf_adds(&b, " -> ");
	}
	sk_app_buf_adds(&b, d->app->services[to].name);
	sk_app_fail(d->c, at, edge < s->n_depends_on ? dp : NULL, "dependency cycle: %s", b.s);
	free(b.s);
	d->found = true;
}

static void visit(struct dfs *d, size_t i)
{
	ssize_t t;

	d->color[i] = GREY;
	d->stack[d->depth++] = i;
	for (size_t j = 0; !d->found && (t = dep_of(d->app, i, j)) != -2; j++) {
		if (t < 0)
			continue;
		if (d->color[t] == GREY)
			report_cycle(d, i, j, (size_t)t);
		else if (d->color[t] == WHITE)
			visit(d, (size_t)t);
	}
	d->depth--;
	d->color[i] = BLACK;
}

static int check_cycles(struct sk_app_ctx *c, const struct sk_app *app,
			const struct sk_yn *services)
{
	_cleanup_free_ int *color = sk_new0(int, app->n_services + 1);
	_cleanup_free_ size_t *stack = sk_new0(size_t, app->n_services + 1);
	struct dfs d = { .c = c, .app = app, .services = services, .color = color, .stack = stack };

	for (size_t i = 0; i < app->n_services && !d.found; i++)
		if (color[i] == WHITE)
			visit(&d, i);
	return d.found ? -EINVAL : 0;
}

static bool host_ports_clash(const struct sk_app_port *a, const struct sk_app_port *b)
{
	if (!a->host_start || !b->host_start || a->proto != b->proto)
		return false;
	if (a->host_ip && b->host_ip && strcmp(a->host_ip, b->host_ip))
		return false;
	return a->host_start <= b->host_end && b->host_start <= a->host_end;
}

static int check_host_ports(struct sk_app_ctx *c, const struct sk_app *app,
			    const struct sk_yn *services)
{
	int r = 0;

	for (size_t i = 0; i < app->n_services; i++)
		for (size_t pi = 0; pi < app->services[i].n_ports; pi++)
			for (size_t j = 0; j <= i; j++)
				for (size_t pj = 0; pj < (j == i ? pi : app->services[j].n_ports);
				     pj++) {
					const struct sk_app_port *a = &app->services[i].ports[pi];
					if (!host_ports_clash(a, &app->services[j].ports[pj]) ||
					    (j == i && a->host_end != a->host_start))
						continue;
					const struct sk_yn *pn = sk_yn_get(
					    sk_yn_get(services, app->services[i].name), "ports");
					_cleanup_free_ char *path =
					    sk_app_path("services", app->services[i].name);
					_cleanup_free_ char *pp = sk_app_path(path, "ports");
					r = sk_app_fail(
					    c, pn && pi < pn->n ? pn->items[pi] : pn, pp,
					    "host port %u is also published by service \"%s\"",
					    a->host_start, app->services[j].name);
				}
	return r;
}

/* ---- x-skiff.fallback ---------------------------------------------------- */

/* The key node `key` of the x-skiff block of service `name`, for positions. */
static const struct sk_yn *xskiff_key(const struct sk_yn *services, const char *name,
				      const char *key)
{
	const struct sk_yn *x = sk_yn_get(sk_yn_get(services, name), "x-skiff");

	for (size_t i = 0; x && x->type == SK_YN_MAP && i < x->n; i++)
		if (!strcmp(sk_yn_key(x, i)->text, key))
			return sk_yn_key(x, i);
	return NULL;
}

static const struct sk_yn *fallback_node(const struct sk_yn *services, const char *name)
{
	return sk_yn_get(sk_yn_get(sk_yn_get(services, name), "x-skiff"), "fallback");
}

/* fallback names another existing service. */
static int check_fallback_refs(struct sk_app_ctx *c, const struct sk_app *app,
			       const struct sk_yn *services)
{
	int r = 0;

	for (size_t i = 0; i < app->n_services; i++) {
		const struct sk_app_service *s = &app->services[i];
		_cleanup_free_ char *path = NULL;
		if (!s->x_skiff.fallback)
			continue;
		path = sk_asprintf("services.%s.x-skiff.fallback", s->name);
		if (!strcmp(s->x_skiff.fallback, s->name))
			r = sk_app_fail(c, fallback_node(services, s->name), path,
					"must name another service, not the service itself");
		else if (service_index(app, s->x_skiff.fallback) < 0)
			r = sk_app_fail(c, fallback_node(services, s->name), path,
					"unknown service \"%s\"", s->x_skiff.fallback);
	}
	return r;
}

static ssize_t fallback_of(const struct sk_app *app, size_t i)
{
	const char *f = app->services[i].x_skiff.fallback;

	return f ? service_index(app, f) : -1;
}

/*
 * Each service has at most one fallback, so a cycle is found by following
 * the chain from each service.  A cycle is reported once, from its first
 * service (by name), at the fallback that closes it: "a -> b -> a".
 */
static int check_fallback_cycles(struct sk_app_ctx *c, const struct sk_app *app,
				 const struct sk_yn *services)
{
	int r = 0;

	for (size_t i = 0; i < app->n_services; i++) {
		_cleanup_free_ char *path = NULL;
		struct sk_app_buf b = { 0 };
		size_t cur = i, steps = 0, last = i;
		bool cycle = false, first = true;
		ssize_t t;
		while ((t = fallback_of(app, cur)) >= 0 && (size_t)t != cur &&
		       steps++ < app->n_services) {
			first &= (size_t)t >= i;
			last = cur;
			cur = (size_t)t;
			if (cur == i) {
				cycle = true;
				break;
			}
		}
		if (!cycle || !first)
			continue;
		cur = i;
		do {
			sk_app_buf_adds(&b, app->services[cur].name);
			sk_app_buf_adds(&b, " -> ");
			cur = (size_t)fallback_of(app, cur);
		} while (cur != i);
		sk_app_buf_adds(&b, app->services[i].name);
		path = sk_asprintf("services.%s.x-skiff.fallback", app->services[last].name);
		r = sk_app_fail(c, fallback_node(services, app->services[last].name), path,
				"fallback cycle: %s", b.s);
		free(b.s);
	}
	return r;
}

/* proxy, fault and fallback act on the ports the proxy serves: without any, warn. */
static void check_proxied_ports(struct sk_app_ctx *c, const struct sk_app *app,
				const struct sk_yn *services)
{
	static const char *const keys[] = { "proxy", "fault", "fallback" };

	for (size_t i = 0; i < app->n_services; i++) {
		const struct sk_app_service *s = &app->services[i];
		if (s->n_ports || (s->expose && s->expose[0]))
			continue;
		for (size_t k = 0; k < SK_ELEMENTSOF(keys); k++) {
			const struct sk_yn *n = xskiff_key(services, s->name, keys[k]);
			_cleanup_free_ char *path = NULL;
			if (!n)
				continue;
			path = sk_asprintf("services.%s.x-skiff.%s", s->name, keys[k]);
			sk_app_warn(c, n, path,
				    "has no effect: the service has no ports or expose for the "
				    "proxy to serve");
		}
	}
}

int sk_app_validate(struct sk_app_ctx *c, struct sk_app *app, const struct sk_yn *services)
{
	int r = 0;

	r |= check_refs(c, app, services);
	r |= check_cycles(c, app, services);
	r |= check_host_ports(c, app, services);
	r |= check_fallback_refs(c, app, services);
	r |= check_fallback_cycles(c, app, services);
	check_proxied_ports(c, app, services);
	return r ? -EINVAL : 0;
}

/* ---- profiles ------------------------------------------------------------ */

static bool service_active(const struct sk_app_service *s, char *const *active)
{
	if (!s->profiles || !s->profiles[0])
		return true;
	for (char *const *a = active; a && *a; a++) {
		if (!strcmp(*a, "*"))
			return true;
		for (char **p = s->profiles; *p; p++)
			if (!strcmp(*p, *a))
				return true;
	}
	return false;
}

int sk_app_profiles_apply(struct sk_app_ctx *c, struct sk_app *app, char *const *profiles)
{
	_cleanup_strv_ char **from_env = NULL;
	_cleanup_free_ bool *keep = sk_new0(bool, app->n_services + 1);
	size_t n = 0;
	int r = 0;

	if (!profiles) {
		const char *env = sk_app_env_lookup(c, "COMPOSE_PROFILES");
		_cleanup_free_ char *copy = sk_strdup(env ? env : "");
		char *save = NULL;
		from_env = sk_new0(char *, 1);
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			sk_strv_push(&from_env, t);
		profiles = from_env;
	}
	for (size_t i = 0; i < app->n_services; i++)
		keep[i] = service_active(&app->services[i], profiles);
	for (size_t i = 0; i < app->n_services; i++)
		for (size_t j = 0; keep[i] && j < app->services[i].n_depends_on; j++) {
			const struct sk_app_dep *d = &app->services[i].depends_on[j];
			ssize_t t = service_index(app, d->service);
			if (t >= 0 && !keep[t] && d->required) {
				_cleanup_free_ char *p =
				    sk_app_path("services", app->services[i].name);
				r = sk_app_fail(
				    c, NULL, p,
				    "depends on \"%s\", which is not in an active profile",
				    d->service);
			}
		}
	for (size_t i = 0; i < app->n_services; i++) {
		struct sk_app_skiff_service *x = &app->services[i].x_skiff;
		ssize_t t = x->fallback ? service_index(app, x->fallback) : -1;
		if (keep[i] && t >= 0 && !keep[t]) {
			_cleanup_free_ char *p =
			    sk_asprintf("services.%s.x-skiff.fallback", app->services[i].name);
			sk_app_warn(c, NULL, p, "\"%s\" is not in an active profile, ignored",
				    x->fallback);
			free(x->fallback);
			x->fallback = NULL;
		}
	}
	for (size_t i = 0; i < app->n_services; i++) {
		if (keep[i])
			app->services[n++] = app->services[i];
		else
			sk_app_service_release(&app->services[i]);
	}
	app->n_services = n;
	return r;
}

/* ---- order --------------------------------------------------------------- */

static void order_visit(const struct sk_app *app, size_t i, bool *done, size_t *out, size_t *n)
{
	ssize_t t;

	if (done[i])
		return;
	done[i] = true; /* cycles were rejected at load; this also stops one in a hand-made model */
	for (size_t j = 0; (t = dep_of(app, i, j)) != -2; j++)
		if (t >= 0)
			order_visit(app, (size_t)t, done, out, n);
	out[(*n)++] = i;
}

size_t *sk_app_start_order(const struct sk_app *app)
{
	_cleanup_free_ bool *done = sk_new0(bool, app->n_services + 1);
	size_t *out = sk_new0(size_t, app->n_services + 1), n = 0;

	for (size_t i = 0; i < app->n_services; i++)
		order_visit(app, i, done, out, &n);
	return out;
}
