/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-service-refs.c - the service fields that name other things or fold
 * into another field: depends_on (list and map forms), expose, networks
 * (list and map forms, kept for the networking issue), and the
 * reconciliation of mem_limit / mem_reservation / cpus / pids_limit / scale
 * with deploy's values.  References are checked across services in
 * app-validate.c once every service is parsed.
 */
#include "app/app-internal.h"

#include <string.h>

#include "base/util.h"

static int dep_condition(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			 enum sk_app_dep_condition *ret)
{
	static const char *const names[] = { "service_started", "service_healthy",
					     "service_completed_successfully" };
	_cleanup_free_ char *s = NULL;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	for (size_t i = 0; i < SK_ELEMENTSOF(names); i++)
		if (!strcmp(s, names[i])) {
			*ret = (enum sk_app_dep_condition)i;
			return 0;
		}
	return sk_app_fail(c, n, path,
			   "invalid condition \"%s\" (service_started, service_healthy, "
			   "service_completed_successfully)",
			   s);
}

static int dep_map_entry(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			 struct sk_app_dep *d)
{
	int r = 0;

	if (sk_yn_is_null(v))
		return 0;
	if (sk_app_want(c, v, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < v->n; i++) {
		const struct sk_yn *k = sk_yn_key(v, i), *val = sk_yn_val(v, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "condition"))
			r |= dep_condition(c, val, p, &d->condition);
		else if (!strcmp(k->text, "required"))
			r |= sk_app_get_bool(c, val, p, &d->required);
		else if (!strcmp(k->text, "restart"))
			r |= sk_app_get_bool(c, val, p, &d->restart);
		else
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	return r ? -EINVAL : 0;
}

int sk_app_depends_on_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			    struct sk_app_service *s)
{
	bool map = v && v->type == SK_YN_MAP;
	int r = 0;

	if (!map && sk_app_want(c, v, path, SK_YN_SEQ) < 0)
		return -EINVAL;
	s->depends_on = sk_new0(struct sk_app_dep, v->n);
	for (size_t i = 0; i < v->n; i++) {
		struct sk_app_dep *d = &s->depends_on[s->n_depends_on];
		*d = (struct sk_app_dep){ .condition = SK_APP_DEP_STARTED, .required = true };
		if (map) {
			_cleanup_free_ char *p = sk_app_path(path, sk_yn_key(v, i)->text);
			d->service = sk_strdup(sk_yn_key(v, i)->text);
			if (dep_map_entry(c, sk_yn_val(v, i), p, d) < 0)
				r = -EINVAL;
		} else {
			_cleanup_free_ char *p = sk_app_path_i(path, i);
			if (sk_app_get_str(c, v->items[i], p, &d->service) < 0) {
				r = -EINVAL;
				continue;
			}
		}
		s->n_depends_on++;
	}
	return r;
}

/* "80", "8000-8010", "53/udp": what expose: and a container port accept. */
static bool valid_port_spec(const char *s)
{
	_cleanup_free_ char *copy = sk_strdup(s);
	char *proto = strchr(copy, '/'), *dash;
	int a, b;

	if (proto) {
		*proto++ = '\0';
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			return false;
	}
	dash = strchr(copy, '-');
	if (dash)
		*dash++ = '\0';
	if (sk_parse_int(copy, &a) < 0 || a < 1 || a > 65535)
		return false;
	if (dash && (sk_parse_int(dash, &b) < 0 || b < a || b > 65535))
		return false;
	return true;
}

int sk_app_expose_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct sk_app_service *s)
{
	int r;

	r = sk_app_get_strv(c, v, path, false, &s->expose);
	if (r < 0)
		return r;
	for (size_t i = 0; s->expose[i]; i++)
		if (!valid_port_spec(s->expose[i])) {
			_cleanup_free_ char *p = sk_app_path_i(path, i);
			r = sk_app_fail(c, v->items[i], p, "invalid port \"%s\"", s->expose[i]);
		}
	return r;
}

static int netattach(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct sk_app_netattach *a)
{
	int r = 0;

	if (sk_yn_is_null(v))
		return 0;
	if (sk_app_want(c, v, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < v->n; i++) {
		const struct sk_yn *k = sk_yn_key(v, i), *val = sk_yn_val(v, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "aliases"))
			r |= sk_app_get_strv(c, val, p, false, &a->aliases);
		else if (!strcmp(k->text, "ipv4_address"))
			r |= sk_app_get_str(c, val, p, &a->ipv4_address);
		else if (!strcmp(k->text, "ipv6_address"))
			r |= sk_app_get_str(c, val, p, &a->ipv6_address);
		else
			sk_app_warn(c, k, NULL, "%s is not supported by skiff, ignored", p);
	}
	return r ? -EINVAL : 0;
}

int sk_app_svc_networks_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			      struct sk_app_service *s)
{
	bool map = v && v->type == SK_YN_MAP;
	int r = 0;

	if (!map && sk_app_want(c, v, path, SK_YN_SEQ) < 0)
		return -EINVAL;
	s->networks = sk_new0(struct sk_app_netattach, v->n);
	for (size_t i = 0; i < v->n; i++) {
		struct sk_app_netattach *a = &s->networks[s->n_networks];
		if (map) {
			_cleanup_free_ char *p = sk_app_path(path, sk_yn_key(v, i)->text);
			a->network = sk_strdup(sk_yn_key(v, i)->text);
			if (netattach(c, sk_yn_val(v, i), p, a) < 0)
				r = -EINVAL;
		} else {
			_cleanup_free_ char *p = sk_app_path_i(path, i);
			if (sk_app_get_str(c, v->items[i], p, &a->network) < 0) {
				r = -EINVAL;
				continue;
			}
		}
		s->n_networks++;
	}
	return r;
}

/* A service-level value that deploy may also set: equal or one of them unset. */
static int fold_u64(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		    const char *deploy_name, uint64_t *dst)
{
	uint64_t v;

	if (!n)
		return 0;
	if (sk_app_get_bytes(c, n, path, &v) < 0)
		return -EINVAL;
	if (*dst && *dst != v)
		return sk_app_fail(c, n, path, "conflicts with %s", deploy_name);
	*dst = v;
	return 0;
}

int sk_app_resolve_limits(struct sk_app_ctx *c, const char *path, struct sk_app_service *s,
			  const struct sk_yn *mem_limit, const struct sk_yn *mem_res,
			  const struct sk_yn *cpus, const struct sk_yn *pids,
			  const struct sk_yn *scale)
{
	_cleanup_free_ char *pm = sk_app_path(path, "mem_limit"),
			    *pr = sk_app_path(path, "mem_reservation");
	_cleanup_free_ char *pc = sk_app_path(path, "cpus"), *pp = sk_app_path(path, "pids_limit");
	_cleanup_free_ char *ps = sk_app_path(path, "scale");
	int r = 0;

	r |= fold_u64(c, mem_limit, pm, "deploy.resources.limits.memory", &s->limits.memory);
	r |= fold_u64(c, mem_res, pr, "deploy.resources.reservations.memory",
		      &s->reservations.memory);
	if (cpus) {
		double v;
		if (sk_app_get_cpus(c, cpus, pc, &v) < 0)
			r = -EINVAL;
		else if (s->limits.cpus != 0 && s->limits.cpus != v)
			r = sk_app_fail(c, cpus, pc, "conflicts with deploy.resources.limits.cpus");
		else
			s->limits.cpus = v;
	}
	if (pids) {
		int64_t v;
		if (sk_app_get_int(c, pids, pp, -1, INT64_MAX, &v) < 0)
			r = -EINVAL;
		else if (s->limits.pids != 0 && s->limits.pids != v)
			r = sk_app_fail(c, pids, pp, "conflicts with deploy.resources.limits.pids");
		else
			s->limits.pids = v;
	}
	if (scale) {
		int64_t v;
		if (sk_app_get_int(c, scale, ps, 0, 100000, &v) < 0)
			r = -EINVAL;
		else if (s->replicas >= 0 && s->replicas != v)
			r = sk_app_fail(c, scale, ps, "conflicts with deploy.replicas");
		else
			s->replicas = v;
	}
	if (s->replicas < 0)
		s->replicas = 1;
	return r ? -EINVAL : 0;
}
