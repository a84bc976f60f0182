/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-json-in.c - sk_app_from_json(): the canonical JSON of app-json.c back
 * into a struct sk_app, as the daemon receives it from the CLI.  The input
 * crosses a trust boundary (the API socket), so every field is type-checked
 * and errors name the JSON path ("services.web.replicas: expected an
 * integer").  Missing fields take the model's defaults.
 */
#include "app/app-internal.h"

#include <string.h>

#include "base/util.h"
#include "oci/spec.h"

struct jin {
	struct sk_error **err;
	int r;
};

static void bad(struct jin *j, const char *path, const char *key, const char *what)
{
	if (j->r == 0)
		j->r = sk_error_set(j->err, 0, "%s%s%s: %s", path ? path : "",
				    path && *path ? "." : "", key, what);
}

static json_t *field(struct jin *j, json_t *o, const char *path, const char *key, json_type t)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return NULL;
	if (json_typeof(v) != t && !(t == JSON_REAL && json_is_integer(v)) &&
	    !(t == JSON_TRUE && json_is_boolean(v))) {
		static const char *const names[] = { "an object",  "an array", "a string",
						     "an integer", "a number", "a boolean",
						     "a boolean",  "null" };
		bad(j, path, key, names[t] ? names[t] : "another type");
		return NULL;
	}
	return v;
}

static bool present(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v && !json_is_null(v);
}

static void get_str(struct jin *j, json_t *o, const char *path, const char *key, char **ret)
{
	json_t *v = field(j, o, path, key, JSON_STRING);

	if (v)
		*ret = sk_strdup(json_string_value(v));
}

static void get_int(struct jin *j, json_t *o, const char *path, const char *key, int64_t min,
		    int64_t max, int64_t *ret)
{
	json_t *v = field(j, o, path, key, JSON_INTEGER);

	if (!v)
		return;
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		bad(j, path, key, "out of range");
	else
		*ret = json_integer_value(v);
}

static void get_bool(struct jin *j, json_t *o, const char *path, const char *key, bool *ret)
{
	json_t *v = field(j, o, path, key, JSON_TRUE);

	if (v)
		*ret = json_is_true(v);
}

/* A percentage 0..100 (a JSON number). */
static void get_percent(struct jin *j, json_t *o, const char *path, const char *key, double *ret)
{
	json_t *v = field(j, o, path, key, JSON_REAL);

	if (!v)
		return;
	if (!(json_number_value(v) >= 0 && json_number_value(v) <= 100))
		bad(j, path, key, "out of range (0..100)");
	else
		*ret = json_number_value(v);
}

static void get_int_to(struct jin *j, json_t *o, const char *path, const char *key, int min,
		       int max, int *ret)
{
	int64_t v = *ret;

	get_int(j, o, path, key, min, max, &v);
	*ret = (int)v;
}

static void get_dur(struct jin *j, json_t *o, const char *path, const char *key, int64_t *ret)
{
	json_t *v = field(j, o, path, key, JSON_STRING);

	if (v && sk_app_parse_duration(json_string_value(v), ret) < 0)
		bad(j, path, key, "invalid duration");
}

static void get_strv(struct jin *j, json_t *o, const char *path, const char *key, char ***ret)
{
	json_t *v = field(j, o, path, key, JSON_ARRAY), *e;
	size_t i;

	if (!v)
		return;
	*ret = sk_new0(char *, 1);
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e)) {
			bad(j, path, key, "expected strings");
			return;
		}
		sk_strv_push(ret, json_string_value(e));
	}
}

static void get_kvs(struct jin *j, json_t *o, const char *path, const char *key,
		    struct sk_app_kvs *ret)
{
	json_t *v = field(j, o, path, key, JSON_OBJECT), *e;
	const char *k;

	json_object_foreach(v, k, e)
	{
		if (!json_is_string(e) && !json_is_null(e)) {
			bad(j, path, key, "expected string values");
			return;
		}
		sk_app_kvs_set(ret, k, json_string_value(e));
	}
}

static int enum_of(struct jin *j, json_t *o, const char *path, const char *key,
		   const char *const *names, size_t n, int dflt)
{
	_cleanup_free_ char *s = NULL;

	get_str(j, o, path, key, &s);
	if (!s)
		return dflt;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	bad(j, path, key, "unknown value");
	return dflt;
}

#define ENUM(j, o, p, k, names, d) enum_of(j, o, p, k, names, SK_ELEMENTSOF(names), d)

static const char *const restart_names[] = { "no", "always", "on-failure", "unless-stopped" };
static const char *const dep_names[] = { "service_started", "service_healthy",
					 "service_completed_successfully" };
static const char *const rp_names[] = { "none", "on-failure", "any" };
static const char *const proto_names[] = { "tcp", "udp", "sctp" };
static const char *const mount_names[] = { "bind", "volume", "tmpfs" };
static const char *const hc_names[] = { "inherit", "CMD", "CMD-SHELL", "NONE" };

static void ports_in(struct jin *j, json_t *a, const char *path, struct sk_app_service *s)
{
	json_t *e;
	size_t i;

	s->ports = sk_new0(struct sk_app_port, json_array_size(a) + 1);
	json_array_foreach(a, i, e)
	{
		_cleanup_free_ char *p = sk_app_path_i(path, i);
		struct sk_app_port *pt = &s->ports[s->n_ports++];
		int64_t v[4] = { 0 };
		static const char *const keys[] = { "host_start", "host_end", "container_start",
						    "container_end" };
		for (size_t k = 0; k < 4; k++)
			get_int(j, e, p, keys[k], 0, 65535, &v[k]);
		pt->host_start = (uint16_t)v[0];
		pt->host_end = (uint16_t)v[1];
		pt->container_start = (uint16_t)v[2];
		pt->container_end = (uint16_t)v[3];
		pt->proto = (enum sk_app_proto)ENUM(j, e, p, "protocol", proto_names, 0);
		get_str(j, e, p, "host_ip", &pt->host_ip);
		get_str(j, e, p, "name", &pt->name);
		get_str(j, e, p, "app_protocol", &pt->app_protocol);
	}
}

static void mounts_in(struct jin *j, json_t *a, const char *path, struct sk_app_mount **ret,
		      size_t *n)
{
	json_t *e;
	size_t i;

	*ret = sk_new0(struct sk_app_mount, json_array_size(a) + 1);
	json_array_foreach(a, i, e)
	{
		_cleanup_free_ char *p = sk_app_path_i(path, i);
		struct sk_app_mount *m = &(*ret)[(*n)++];
		int64_t size = 0, mode = 0;
		m->type = (enum sk_app_mount_type)ENUM(j, e, p, "type", mount_names, 0);
		get_str(j, e, p, "source", &m->source);
		get_str(j, e, p, "target", &m->target);
		if (!m->target)
			bad(j, p, "target", "missing");
		get_bool(j, e, p, "read_only", &m->read_only);
		get_bool(j, e, p, "create_host_path", &m->create_host_path);
		get_str(j, e, p, "propagation", &m->propagation);
		get_str(j, e, p, "selinux", &m->selinux);
		get_bool(j, e, p, "nocopy", &m->nocopy);
		get_str(j, e, p, "subpath", &m->subpath);
		get_int(j, e, p, "tmpfs_size", 0, INT64_MAX, &size);
		get_int(j, e, p, "tmpfs_mode", 0, 07777, &mode);
		m->tmpfs_size = (uint64_t)size;
		m->tmpfs_mode = (uint32_t)mode;
		get_str(j, e, p, "options", &m->options);
	}
}

static void deps_in(struct jin *j, json_t *o, const char *path, struct sk_app_service *s)
{
	const char *k;
	json_t *e;

	s->depends_on = sk_new0(struct sk_app_dep, json_object_size(o) + 1);
	json_object_foreach(o, k, e)
	{
		_cleanup_free_ char *p = sk_app_path(path, k);
		struct sk_app_dep *d = &s->depends_on[s->n_depends_on++];
		d->service = sk_strdup(k);
		d->condition = (enum sk_app_dep_condition)ENUM(j, e, p, "condition", dep_names, 0);
		d->required = true;
		get_bool(j, e, p, "required", &d->required);
		get_bool(j, e, p, "restart", &d->restart);
	}
}

static void res_in(struct jin *j, json_t *o, const char *path, const char *key,
		   struct sk_app_resources *r)
{
	_cleanup_free_ char *p = sk_app_path(path, key);
	json_t *v = field(j, o, path, key, JSON_OBJECT), *cpus;
	int64_t mem = 0;

	if (!v)
		return;
	cpus = field(j, v, p, "cpus", JSON_REAL);
	r->cpus = cpus ? json_number_value(cpus) : 0;
	get_int(j, v, p, "memory", 0, INT64_MAX, &mem);
	r->memory = (uint64_t)mem;
	get_int(j, v, p, "pids", -1, INT64_MAX, &r->pids);
}

static void healthcheck_in(struct jin *j, json_t *o, const char *path, struct sk_app_healthcheck *h)
{
	_cleanup_free_ char *p = sk_app_path(path, "healthcheck");
	json_t *v = field(j, o, path, "healthcheck", JSON_OBJECT);
	int64_t retries = h->retries;

	if (!v)
		return;
	h->kind = (enum sk_app_hc_kind)ENUM(j, v, p, "kind", hc_names, 0);
	get_strv(j, v, p, "test", &h->test);
	get_dur(j, v, p, "interval", &h->interval_ns);
	get_dur(j, v, p, "timeout", &h->timeout_ns);
	get_dur(j, v, p, "start_period", &h->start_period_ns);
	get_dur(j, v, p, "start_interval", &h->start_interval_ns);
	get_int(j, v, p, "retries", 0, 1000000, &retries);
	h->retries = (int)retries;
}

static void restart_policy_in(struct jin *j, json_t *o, const char *path,
			      struct sk_app_restart_policy *rp)
{
	_cleanup_free_ char *p = sk_app_path(path, "restart_policy");
	json_t *v = field(j, o, path, "restart_policy", JSON_OBJECT);

	if (!v)
		return;
	rp->set = true;
	rp->condition =
	    (enum sk_app_rp_condition)ENUM(j, v, p, "condition", rp_names, SK_APP_RP_ANY);
	get_dur(j, v, p, "delay", &rp->delay_ns);
	get_int(j, v, p, "max_attempts", 0, INT64_MAX, &rp->max_attempts);
	get_dur(j, v, p, "window", &rp->window_ns);
}

static int service_rest(struct jin *j, json_t *o, const char *path, struct sk_app_service *s);

static void service_in(struct jin *j, const char *name, json_t *o, const char *path,
		       struct sk_app_service *s)
{
	_cleanup_free_ char *pp = sk_app_path(path, "ports"), *pv = sk_app_path(path, "volumes");
	_cleanup_free_ char *pt = sk_app_path(path, "tmpfs"), *pd = sk_app_path(path, "depends_on");

	s->name = sk_strdup(name);
	sk_app_service_defaults(s);
	s->replicas = 1;
	get_str(j, o, path, "image", &s->image);
	get_strv(j, o, path, "command", &s->command);
	get_strv(j, o, path, "entrypoint", &s->entrypoint);
	get_kvs(j, o, path, "environment", &s->environment);
	get_strv(j, o, path, "env_files", &s->env_files);
	get_str(j, o, path, "working_dir", &s->working_dir);
	get_str(j, o, path, "user", &s->user);
	get_str(j, o, path, "hostname", &s->hostname);
	get_str(j, o, path, "domainname", &s->domainname);
	ports_in(j, field(j, o, path, "ports", JSON_ARRAY), pp, s);
	get_strv(j, o, path, "expose", &s->expose);
	mounts_in(j, field(j, o, path, "volumes", JSON_ARRAY), pv, &s->volumes, &s->n_volumes);
	mounts_in(j, field(j, o, path, "tmpfs", JSON_ARRAY), pt, &s->tmpfs, &s->n_tmpfs);
	deps_in(j, field(j, o, path, "depends_on", JSON_OBJECT), pd, s);
	healthcheck_in(j, o, path, &s->healthcheck);
	s->restart = (enum sk_app_restart)ENUM(j, o, path, "restart", restart_names, 0);
	get_int(j, o, path, "restart_max_retries", 0, INT64_MAX, &s->restart_max_retries);
	get_int(j, o, path, "replicas", 0, 100000, &s->replicas);
	res_in(j, o, path, "limits", &s->limits);
	res_in(j, o, path, "reservations", &s->reservations);
	restart_policy_in(j, o, path, &s->restart_policy);
	(void)service_rest(j, o, path, s);
	if (!s->image)
		bad(j, path, "image", "missing");
}

static void ulimits_in(struct jin *j, json_t *o, const char *path, struct sk_app_service *s)
{
	_cleanup_free_ char *pu = sk_app_path(path, "ulimits");
	json_t *v = field(j, o, path, "ulimits", JSON_OBJECT), *e;
	const char *k;

	s->ulimits = sk_new0(struct sk_app_ulimit, json_object_size(v) + 1);
	json_object_foreach(v, k, e)
	{
		_cleanup_free_ char *p = sk_app_path(pu, k);
		struct sk_app_ulimit *u = &s->ulimits[s->n_ulimits++];
		u->name = sk_strdup(k);
		get_int(j, e, p, "soft", -1, INT64_MAX, &u->soft);
		get_int(j, e, p, "hard", -1, INT64_MAX, &u->hard);
	}
}

static void netmode_in(struct jin *j, json_t *o, const char *path, struct sk_app_service *s)
{
	static const char *const names[] = { "default", "host", "none" };
	_cleanup_free_ char *m = NULL;

	get_str(j, o, path, "network_mode", &m);
	if (!m)
		return;
	for (size_t i = 0; i < SK_ELEMENTSOF(names); i++)
		if (!strcmp(m, names[i])) {
			s->network_mode = (enum sk_app_netmode)i;
			return;
		}
	if (sk_str_has_prefix(m, "service:") && m[8]) {
		s->network_mode = SK_APP_NET_SERVICE;
		s->network_mode_ref = sk_strdup(m + 8);
	} else if (sk_str_has_prefix(m, "container:") && m[10]) {
		s->network_mode = SK_APP_NET_CONTAINER;
		s->network_mode_ref = sk_strdup(m + 10);
	} else
		bad(j, path, "network_mode", "unknown value");
}

static void networks_in(struct jin *j, json_t *o, const char *path, struct sk_app_service *s)
{
	_cleanup_free_ char *pn = sk_app_path(path, "networks");
	json_t *v = field(j, o, path, "networks", JSON_OBJECT), *e;
	const char *k;

	s->networks = sk_new0(struct sk_app_netattach, json_object_size(v) + 1);
	json_object_foreach(v, k, e)
	{
		_cleanup_free_ char *p = sk_app_path(pn, k);
		struct sk_app_netattach *a = &s->networks[s->n_networks++];
		a->network = sk_strdup(k);
		get_strv(j, e, p, "aliases", &a->aliases);
		get_str(j, e, p, "ipv4_address", &a->ipv4_address);
		get_str(j, e, p, "ipv6_address", &a->ipv6_address);
	}
}

static void probe_in(struct jin *j, json_t *o, const char *path, enum sk_app_probe_kind kind,
		     struct sk_app_probe *p)
{
	_cleanup_free_ char *status = NULL;
	int64_t port = 0, retries = 3;

	p->kind = kind;
	get_int(j, o, path, "port", 0, 65535, &port);
	p->port = (uint16_t)port;
	get_dur(j, o, path, "interval", &p->interval_ns);
	get_dur(j, o, path, "timeout", &p->timeout_ns);
	get_dur(j, o, path, "start_period", &p->start_period_ns);
	get_int(j, o, path, "retries", 1, 1000000, &retries);
	p->retries = (int)retries;
	if (kind != SK_APP_PROBE_HTTP)
		return;
	get_str(j, o, path, "path", &p->path);
	get_str(j, o, path, "status", &status);
	if (status && sscanf(status, "%d-%d", &p->status_min, &p->status_max) != 2)
		bad(j, path, "status", "expected LOW-HIGH");
}

static const char *const proxy_mode_names[] = { "http", "tcp" };
static const char *const lb_names[] = { "round_robin", "least_request" };

/* retries.on: "connect-failure", "reset", "timeout" and statuses 500-599. */
static void retry_on_in(struct jin *j, json_t *o, const char *path, struct sk_app_proxy *px)
{
	static const struct {
		const char *name;
		unsigned bit;
	} conds[] = { { "connect-failure", SK_APP_RETRY_CONNECT },
		      { "reset", SK_APP_RETRY_RESET },
		      { "timeout", SK_APP_RETRY_TIMEOUT } };
	json_t *a = field(j, o, path, "on", JSON_ARRAY), *e;
	size_t i, k;

	if (!a)
		return;
	px->retry_on = 0;
	px->n_retry_status = 0;
	json_array_foreach(a, i, e)
	{
		for (k = 0; json_is_string(e) && k < SK_ELEMENTSOF(conds); k++)
			if (!strcmp(json_string_value(e), conds[k].name))
				break;
		if (json_is_string(e) && k < SK_ELEMENTSOF(conds)) {
			px->retry_on |= conds[k].bit;
			continue;
		}
		if (!json_is_integer(e) || json_integer_value(e) < 500 ||
		    json_integer_value(e) > 599) {
			bad(j, path, "on", "unknown retry condition");
			return;
		}
		if (px->n_retry_status == SK_ELEMENTSOF(px->retry_status)) {
			bad(j, path, "on", "too many statuses");
			return;
		}
		px->retry_status[px->n_retry_status++] = (int)json_integer_value(e);
		px->retry_on |= SK_APP_RETRY_STATUS;
	}
}

static void proxy_in(struct jin *j, json_t *o, const char *path, struct sk_app_proxy *px)
{
	_cleanup_free_ char *pr = sk_app_path(path, "retries"), *po = sk_app_path(path, "outlier");
	json_t *r = field(j, o, path, "retries", JSON_OBJECT);
	json_t *ol = field(j, o, path, "outlier", JSON_OBJECT);

	px->mode = (enum sk_app_proxy_mode)ENUM(j, o, path, "mode", proxy_mode_names, 0);
	px->balance = (enum sk_app_lb)ENUM(j, o, path, "balance", lb_names, 0);
	get_bool(j, o, path, "internal", &px->internal);
	get_dur(j, o, path, "connect_timeout", &px->connect_timeout_ns);
	get_dur(j, o, path, "timeout", &px->try_timeout_ns);
	get_dur(j, o, path, "total_timeout", &px->total_timeout_ns);
	get_dur(j, o, path, "idle_timeout", &px->idle_timeout_ns);
	get_int(j, o, path, "max_concurrent", 0, 1000000, &px->max_concurrent);
	get_dur(j, o, path, "drain", &px->drain_ns);
	get_int_to(j, r, pr, "attempts", 0, 10, &px->retry_attempts);
	retry_on_in(j, r, pr, px);
	get_dur(j, r, pr, "backoff", &px->retry_backoff_ns);
	get_dur(j, r, pr, "max_backoff", &px->retry_max_backoff_ns);
	get_percent(j, r, pr, "budget", &px->retry_budget_percent);
	get_int_to(j, ol, po, "consecutive_5xx", 0, 1000000, &px->outlier_consecutive_5xx);
	get_int_to(j, ol, po, "consecutive_failures", 0, 1000000,
		   &px->outlier_consecutive_failures);
	get_dur(j, ol, po, "base_ejection_time", &px->outlier_base_ejection_ns);
	get_int_to(j, ol, po, "max_ejection_percent", 0, 100, &px->outlier_max_ejection_percent);
}

/*
 * {"delay": {"fixed", "jitter", "percent"}, "abort": {"status", "percent"}};
 * a missing percent is 100 when fixed (status) is given.
 */
static void fault_in(struct jin *j, json_t *o, const char *path, struct sk_app_fault *f)
{
	_cleanup_free_ char *pd = sk_app_path(path, "delay"), *pa = sk_app_path(path, "abort");
	json_t *d = field(j, o, path, "delay", JSON_OBJECT);
	json_t *a = field(j, o, path, "abort", JSON_OBJECT);

	if (d) {
		if (!field(j, d, pd, "fixed", JSON_STRING))
			bad(j, pd, "fixed", "missing");
		get_dur(j, d, pd, "fixed", &f->delay_ns);
		get_dur(j, d, pd, "jitter", &f->delay_jitter_ns);
		if (f->delay_jitter_ns > f->delay_ns)
			bad(j, pd, "jitter", "must not be longer than fixed");
		f->delay_percent = present(d, "percent") ? 0 : 100;
		get_percent(j, d, pd, "percent", &f->delay_percent);
	}
	if (a) {
		get_int_to(j, a, pa, "status", 0, 599, &f->abort_status);
		if (f->abort_status && f->abort_status < 200)
			bad(j, pa, "status", "out of range (200..599, or 0 for none)");
		f->abort_percent = present(a, "percent") || !f->abort_status ? 0 : 100;
		get_percent(j, a, pa, "percent", &f->abort_percent);
	}
}

int sk_app_fault_parse_json(json_t *o, struct sk_app_fault *ret, struct sk_error **err)
{
	struct sk_app_fault f = { 0 };
	struct jin j = { .err = err };

	if (!json_is_object(o))
		return sk_error_set(err, 0, "fault: expected an object");
	fault_in(&j, o, "", &f);
	if (j.r < 0)
		return j.r;
	*ret = f;
	return 0;
}

static void xskiff_in(struct jin *j, json_t *o, const char *path, struct sk_app_skiff_service *x)
{
	_cleanup_free_ char *px = sk_app_path(path, "x-skiff"), *ph = sk_app_path(px, "health");
	json_t *v = field(j, o, path, "x-skiff", JSON_OBJECT), *h, *pr;

	if (!v)
		return;
	get_bool(j, v, px, "restart_unhealthy", &x->restart_unhealthy);
	get_str(j, v, px, "fallback", &x->fallback);
	if ((pr = field(j, v, px, "proxy", JSON_OBJECT))) {
		_cleanup_free_ char *pp = sk_app_path(px, "proxy");
		proxy_in(j, pr, pp, &x->proxy);
	}
	if ((pr = field(j, v, px, "fault", JSON_OBJECT))) {
		_cleanup_free_ char *pf = sk_app_path(px, "fault");
		fault_in(j, pr, pf, &x->fault);
	}
	h = field(j, v, px, "health", JSON_OBJECT);
	if ((pr = field(j, h, ph, "http", JSON_OBJECT))) {
		_cleanup_free_ char *pp = sk_app_path(ph, "http");
		probe_in(j, pr, pp, SK_APP_PROBE_HTTP, &x->probe);
	} else if ((pr = field(j, h, ph, "tcp", JSON_OBJECT))) {
		_cleanup_free_ char *pp = sk_app_path(ph, "tcp");
		probe_in(j, pr, pp, SK_APP_PROBE_TCP, &x->probe);
	}
}

static char *extensions_in(json_t *o)
{
	json_t *x = NULL, *v;
	const char *k;
	char *s;

	json_object_foreach(o, k, v)
	{
		if (!sk_str_has_prefix(k, "x-") || !strcmp(k, "x-skiff"))
			continue;
		if (!x)
			x = json_object();
		json_object_set(x, k, v);
	}
	if (!x)
		return NULL;
	s = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(x);
	return s;
}

/* security_opt; a profile is checked again: this JSON crossed the API socket. */
static void security_in(struct jin *j, json_t *o, const char *path, struct sk_app_security *sec)
{
	_cleanup_free_ char *ps = sk_app_path(path, "security_opt"), *mode = NULL;
	json_t *v = field(j, o, path, "security_opt", JSON_OBJECT), *prof;
	bool nnp = false;

	if (!v)
		return;
	if (field(j, v, ps, "no_new_privileges", JSON_TRUE)) {
		get_bool(j, v, ps, "no_new_privileges", &nnp);
		sec->no_new_privileges = nnp;
	}
	get_str(j, v, ps, "seccomp", &mode);
	prof = field(j, v, ps, "seccomp_profile", JSON_OBJECT);
	if (!mode || !strcmp(mode, "default") || !strcmp(mode, "unconfined")) {
		sec->seccomp = mode && !strcmp(mode, "unconfined") ? SK_APP_SECCOMP_UNCONFINED
								   : SK_APP_SECCOMP_DEFAULT;
		if (prof)
			bad(j, ps, "seccomp_profile", "given without a profile file");
		return;
	}
	if (mode[0] != '/' || !prof) {
		bad(j, ps, "seccomp",
		    "expected default, unconfined or an absolute path with "
		    "seccomp_profile");
		return;
	}
	_cleanup_error_ struct sk_error *e = NULL;
	_cleanup_(sk_seccomp_freep) struct sk_seccomp *parsed = NULL;
	_cleanup_free_ char *text = json_dumps(prof, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		abort();
	if (sk_spec_parse_seccomp(text, strlen(text), "profile", &parsed, &e) < 0) {
		bad(j, ps, "seccomp_profile", e->msg);
		return;
	}
	sec->seccomp = SK_APP_SECCOMP_PROFILE;
	sec->seccomp_file = TAKE_PTR(mode);
	sec->seccomp_profile = TAKE_PTR(text);
}

/* Whether absolute path p has a ".." component. */
static bool has_dotdot(const char *p)
{
	for (const char *c = strstr(p, "/.."); c; c = strstr(c + 1, "/.."))
		if (c[3] == '/' || c[3] == '\0')
			return true;
	return false;
}

static void secret_refs_in(struct jin *j, json_t *o, const char *path, struct sk_app_service *s)
{
	_cleanup_free_ char *ps = sk_app_path(path, "secrets");
	json_t *a = field(j, o, path, "secrets", JSON_ARRAY), *e;
	size_t i;

	s->secrets = sk_new0(struct sk_app_secret_ref, json_array_size(a) + 1);
	json_array_foreach(a, i, e)
	{
		_cleanup_free_ char *p = sk_app_path_i(ps, i);
		struct sk_app_secret_ref *r = &s->secrets[s->n_secrets++];
		int64_t mode = 0400;

		*r = (struct sk_app_secret_ref){ .uid = -1, .gid = -1 };
		get_str(j, e, p, "source", &r->source);
		get_str(j, e, p, "target", &r->target);
		get_str(j, e, p, "file", &r->file);
		get_str(j, e, p, "content", &r->content);
		get_int(j, e, p, "uid", -1, UINT32_MAX - 1, &r->uid);
		get_int(j, e, p, "gid", -1, UINT32_MAX - 1, &r->gid);
		get_int(j, e, p, "mode", 0, 07777, &mode);
		r->mode = (uint32_t)mode;
		if (!r->source || !*r->source)
			bad(j, p, "source", "missing");
		if (!r->target || r->target[0] != '/' || has_dotdot(r->target))
			bad(j, p, "target", "expected an absolute path without ..");
		if (!r->file == !r->content || (r->file && r->file[0] != '/'))
			bad(j, p, "file", "expected an absolute file or a content");
	}
}

static void secrets_top_in(struct jin *j, json_t *o, struct sk_app *app)
{
	json_t *v = field(j, o, "app", "secrets", JSON_OBJECT), *e;
	const char *k;

	app->secrets = sk_new0(struct sk_app_secret, json_object_size(v) + 1);
	json_object_foreach(v, k, e)
	{
		_cleanup_free_ char *p = sk_app_path("secrets", k);
		struct sk_app_secret *sec = &app->secrets[app->n_secrets++];
		sec->name = sk_strdup(k);
		get_str(j, e, p, "file", &sec->file);
		get_str(j, e, p, "environment", &sec->environment);
	}
}

static void kernel_opts_in(struct jin *j, json_t *o, const char *path, struct sk_app_service *s)
{
	_cleanup_free_ char *pid = NULL;
	int64_t shm = 0;

	get_int(j, o, path, "shm_size", 0, INT64_MAX, &shm);
	s->shm_size = (uint64_t)shm;
	get_str(j, o, path, "pid", &pid);
	if (pid && strcmp(pid, "host"))
		bad(j, path, "pid", "unknown value");
	s->pid_host = pid != NULL;
	get_int(j, o, path, "memswap_limit", -1, INT64_MAX, &s->memswap_limit);
	get_int(j, o, path, "mem_swappiness", 0, 100, &s->mem_swappiness);
	get_bool(j, o, path, "oom_kill_disable", &s->oom_kill_disable);
}

static int service_rest(struct jin *j, json_t *o, const char *path, struct sk_app_service *s)
{
	int64_t adj = 0;

	get_strv(j, o, path, "cap_add", &s->cap_add);
	get_strv(j, o, path, "cap_drop", &s->cap_drop);
	get_bool(j, o, path, "read_only", &s->read_only);
	get_bool(j, o, path, "privileged", &s->privileged);
	get_bool(j, o, path, "init", &s->init);
	security_in(j, o, path, &s->security);
	secret_refs_in(j, o, path, s);
	kernel_opts_in(j, o, path, s);
	get_str(j, o, path, "stop_signal", &s->stop_signal);
	get_dur(j, o, path, "stop_grace_period", &s->stop_grace_period_ns);
	ulimits_in(j, o, path, s);
	get_kvs(j, o, path, "sysctls", &s->sysctls);
	get_kvs(j, o, path, "labels", &s->labels);
	get_str(j, o, path, "cpuset", &s->cpuset);
	get_int(j, o, path, "cpu_shares", 0, 262144, &s->cpu_shares);
	get_int(j, o, path, "oom_score_adj", -1000, 1000, &adj);
	s->oom_score_adj = (int)adj;
	get_strv(j, o, path, "profiles", &s->profiles);
	netmode_in(j, o, path, s);
	networks_in(j, o, path, s);
	xskiff_in(j, o, path, &s->x_skiff);
	s->extensions = extensions_in(o);
	return j->r;
}

static void volumes_in(struct jin *j, json_t *o, struct sk_app *app)
{
	json_t *v = field(j, o, "app", "volumes", JSON_OBJECT), *e;
	const char *k;

	app->volumes = sk_new0(struct sk_app_volume, json_object_size(v) + 1);
	json_object_foreach(v, k, e)
	{
		_cleanup_free_ char *p = sk_app_path("volumes", k);
		struct sk_app_volume *vol = &app->volumes[app->n_volumes++];
		vol->name = sk_strdup(k);
		get_str(j, e, p, "name", &vol->ext_name);
		get_bool(j, e, p, "external", &vol->external);
		get_str(j, e, p, "driver", &vol->driver);
		get_kvs(j, e, p, "driver_opts", &vol->driver_opts);
		get_kvs(j, e, p, "labels", &vol->labels);
	}
}

static void networks_top_in(struct jin *j, json_t *o, struct sk_app *app)
{
	json_t *v = field(j, o, "app", "networks", JSON_OBJECT), *e;
	const char *k;

	app->networks = sk_new0(struct sk_app_network, json_object_size(v) + 1);
	json_object_foreach(v, k, e)
	{
		_cleanup_free_ char *p = sk_app_path("networks", k);
		struct sk_app_network *n = &app->networks[app->n_networks++];
		n->name = sk_strdup(k);
		get_str(j, e, p, "name", &n->ext_name);
		get_bool(j, e, p, "external", &n->external);
		get_bool(j, e, p, "internal", &n->internal);
		get_bool(j, e, p, "enable_ipv6", &n->enable_ipv6);
		get_str(j, e, p, "driver", &n->driver);
		get_strv(j, e, p, "subnets", &n->subnets);
		get_kvs(j, e, p, "driver_opts", &n->driver_opts);
		get_kvs(j, e, p, "labels", &n->labels);
	}
}

static void xskiff_app_in(struct jin *j, json_t *o, struct sk_app_skiff_app *x)
{
	json_t *v = field(j, o, "app", "x-skiff", JSON_OBJECT);

	get_bool(j, v, "x-skiff", "egress", &x->egress);
	get_str(j, v, "x-skiff", "subnet", &x->subnet);
	if (x->subnet) {
		_cleanup_free_ char *canon = NULL;
		if (sk_app_subnet_parse(x->subnet, &canon) < 0 || strcmp(canon, x->subnet))
			bad(j, "x-skiff", "subnet", "invalid subnet (a.b.c.d/n, n 16..28)");
	}
}

int sk_app_from_json(const char *json, size_t len, struct sk_app **ret_app, struct sk_error **err)
{
	_cleanup_(sk_app_freep) struct sk_app *app = sk_new0(struct sk_app, 1);
	struct jin j = { .err = err };
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je), *svcs, *e;
	const char *k;

	if (!root)
		return sk_error_set(err, 0, "app JSON: line %d: %s", je.line, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return sk_error_set(err, 0, "app JSON: expected an object");
	}
	get_str(&j, root, "app", "name", &app->name);
	get_str(&j, root, "app", "file", &app->file);
	get_str(&j, root, "app", "dir", &app->dir);
	if (!app->name)
		bad(&j, "app", "name", "missing");
	xskiff_app_in(&j, root, &app->x_skiff);
	volumes_in(&j, root, app);
	networks_top_in(&j, root, app);
	secrets_top_in(&j, root, app);
	svcs = field(&j, root, "app", "services", JSON_OBJECT);
	app->services = sk_new0(struct sk_app_service, json_object_size(svcs) + 1);
	json_object_foreach(svcs, k, e)
	{
		_cleanup_free_ char *p = sk_app_path("services", k);
		if (!json_is_object(e)) {
			bad(&j, "services", k, "expected an object");
			break;
		}
		service_in(&j, k, e, p, &app->services[app->n_services++]);
	}
	app->extensions = extensions_in(root);
	json_decref(root);
	if (j.r < 0)
		return j.r;
	sk_app_sort_services(app);
	*ret_app = TAKE_PTR(app);
	return 0;
}
