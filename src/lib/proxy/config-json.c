/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config-json.c - struct sk_proxy_config from JSON (docs/proxy.md) and its
 * destructor.  Strict: unknown fields, wrong types, bad durations and
 * addresses are errors that name the field ("clusters[1].policy.lb").
 * Cross-references (listener -> cluster, fallbacks, cycles) are checked by
 * sk_proxy_publish(), not here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy.h"

/* "250ms", "2s", "1.5m", or a number of seconds. */
static int parse_duration(json_t *v, uint64_t *ret)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = { { "ns", 1 },  { "us", 1e3 }, { "ms", 1e6 },
		      { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 } };
	double x;

	if (json_is_number(v)) {
		x = json_number_value(v) * 1e9;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		if (!*s || !(*s >= '0' && *s <= '9'))
			return -EINVAL;
		x = strtod(s, &end);
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(end, units[i].unit) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		x *= units[i].ns;
	} else {
		return -EINVAL;
	}
	if (!isfinite(x) || x < 0 || x > 1e18)
		return -ERANGE;
	*ret = (uint64_t)x;
	return 0;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon, *h = s;
	size_t hl;
	char *end;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host) || !colon[1])
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port == 0 || port > 65535 || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	if (*s != '[') {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}

/* Fails on a member of `obj` not in the NULL-terminated `known`. */
static int check_keys(json_t *obj, const char *const *known, const char *path,
		      struct sk_error **err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		bool ok = false;

		for (const char *const *k = known; *k; k++)
			ok |= strcmp(*k, key) == 0;
		if (!ok)
			return sk_error_set(err, EINVAL, "%s: unknown field '%s'", path, key);
	}
	return 0;
}

static int get_str(json_t *obj, const char *key, bool required, const char *path, char **ret,
		   struct sk_error **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			return sk_error_set(err, EINVAL, "%s.%s: required", path, key);
		return 0;
	}
	if (!json_is_string(v))
		return sk_error_set(err, EINVAL, "%s.%s: not a string", path, key);
	free(*ret);
	*ret = sk_strdup(json_string_value(v));
	return 0;
}

static int get_addr(json_t *obj, const char *path, struct sockaddr_storage *ss, socklen_t *len,
		    struct sk_error **err)
{
	json_t *v = json_object_get(obj, "address");

	if (!json_is_string(v))
		return sk_error_set(err, EINVAL, "%s.address: required string", path);
	if (parse_addr(json_string_value(v), ss, len) < 0)
		return sk_error_set(err, EINVAL, "%s.address: invalid address '%s'", path,
				    json_string_value(v));
	return 0;
}

static int get_dur(json_t *obj, const char *key, const char *path, uint64_t *ret,
		   struct sk_error **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (parse_duration(v, ret) < 0)
		return sk_error_set(err, EINVAL, "%s.%s: invalid duration", path, key);
	return 0;
}

static int get_int(json_t *obj, const char *key, const char *path, int64_t min, int64_t max,
		   int64_t *ret, struct sk_error **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return sk_error_set(err, EINVAL, "%s.%s: expected an integer in %lld..%lld", path,
				    key, (long long)min, (long long)max);
	*ret = json_integer_value(v);
	return 0;
}

static int get_pct(json_t *obj, const char *key, const char *path, double *ret,
		   struct sk_error **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 100)
		return sk_error_set(err, EINVAL, "%s.%s: expected a number in 0..100", path, key);
	*ret = json_number_value(v);
	return 0;
}

/* One of the NULL-terminated `names`: *ret is its index. */
static int get_enum(json_t *obj, const char *key, const char *path, const char *const *names,
		    int *ret, struct sk_error **err)
{
	json_t *v = json_object_get(obj, key);
	char expected[128] = "";
	size_t off = 0;

	if (!v)
		return 0;
	for (int i = 0; names[i]; i++) {
		if (json_is_string(v) && strcmp(json_string_value(v), names[i]) == 0) {
			*ret = i;
			return 0;
		}
		off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s\"%s\"",
					i == 0	       ? ""
					: names[i + 1] ? ", "
						       : " or ",
					names[i]);
		if (off >= sizeof(expected))
			off = sizeof(expected) - 1;
	}
	return sk_error_set(err, EINVAL, "%s.%s: expected %s", path, key, expected);
}

static int parse_retry_lists(json_t *obj, const char *path, struct sk_proxy_policy *p,
			     struct sk_error **err)
{
	static const char *const conds[] = { "connect", "reset", "status", "timeout" };
	static const unsigned bits[] = { SK_PROXY_RETRY_CONNECT, SK_PROXY_RETRY_RESET,
					 SK_PROXY_RETRY_STATUS, SK_PROXY_RETRY_TIMEOUT };
	json_t *on = json_object_get(obj, "retry_on"), *st = json_object_get(obj, "retry_status");
	size_t i;
	json_t *v;

	p->retry_on = SK_PROXY_RETRY_CONNECT;
	if (on) {
		if (!json_is_array(on))
			return sk_error_set(err, EINVAL, "%s.retry_on: not an array", path);
		p->retry_on = 0;
		json_array_foreach(on, i, v)
		{
			size_t k;

			for (k = 0; k < 4; k++)
				if (json_is_string(v) &&
				    strcmp(json_string_value(v), conds[k]) == 0)
					break;
			if (k == 4)
				return sk_error_set(err, EINVAL,
						    "%s.retry_on[%zu]: unknown condition", path, i);
			p->retry_on |= bits[k];
		}
	}
	if (st) {
		if (!json_is_array(st) || json_array_size(st) > 8)
			return sk_error_set(err, EINVAL, "%s.retry_status: not an array of <= 8",
					    path);
		json_array_foreach(st, i, v)
		{
			if (!json_is_integer(v) || json_integer_value(v) < 100 ||
			    json_integer_value(v) > 599)
				return sk_error_set(err, EINVAL,
						    "%s.retry_status[%zu]: not a status", path, i);
			p->retry_status[i] = (int)json_integer_value(v);
		}
		p->n_retry_status = json_array_size(st);
	}
	return 0;
}

static int parse_policy(json_t *obj, const char *path, struct sk_proxy_policy *p,
			struct sk_error **err)
{
	static const char *const known[] = {
		"mode",
		"lb",
		"connect_timeout",
		"try_timeout",
		"total_timeout",
		"idle_timeout",
		"retry_attempts",
		"retry_on",
		"retry_status",
		"retry_backoff",
		"retry_max_backoff",
		"retry_budget_percent",
		"retry_min_concurrency",
		"outlier_consecutive_5xx",
		"outlier_consecutive_failures",
		"outlier_base_ejection",
		"outlier_max_ejection_percent",
		"max_concurrent",
		NULL,
	};
	static const char *const modes[] = { "http", "tcp", "udp", NULL };
	static const char *const lbs[] = { "round_robin", "least_request", NULL };
	static const enum sk_proxy_mode mode_values[] = { SK_PROXY_HTTP, SK_PROXY_TCP,
							  SK_PROXY_UDP };
	int64_t attempts = 0, minc = 0, c5 = 0, cf = 0, maxej = 0, maxc = 0;
	int mode = 0, lb = 0, r;

	if (!json_is_object(obj))
		return sk_error_set(err, EINVAL, "%s: not an object", path);
	if ((r = check_keys(obj, known, path, err)) < 0 ||
	    (r = get_enum(obj, "mode", path, modes, &mode, err)) < 0 ||
	    (r = get_enum(obj, "lb", path, lbs, &lb, err)) < 0 ||
	    (r = get_dur(obj, "connect_timeout", path, &p->connect_timeout_ns, err)) < 0 ||
	    (r = get_dur(obj, "try_timeout", path, &p->try_timeout_ns, err)) < 0 ||
	    (r = get_dur(obj, "total_timeout", path, &p->total_timeout_ns, err)) < 0 ||
	    (r = get_dur(obj, "idle_timeout", path, &p->idle_timeout_ns, err)) < 0 ||
	    (r = get_int(obj, "retry_attempts", path, 0, 100, &attempts, err)) < 0 ||
	    (r = parse_retry_lists(obj, path, p, err)) < 0 ||
	    (r = get_dur(obj, "retry_backoff", path, &p->retry_backoff_ns, err)) < 0 ||
	    (r = get_dur(obj, "retry_max_backoff", path, &p->retry_max_backoff_ns, err)) < 0 ||
	    (r = get_pct(obj, "retry_budget_percent", path, &p->retry_budget_percent, err)) < 0 ||
	    (r = get_int(obj, "retry_min_concurrency", path, 0, 1000000, &minc, err)) < 0 ||
	    (r = get_int(obj, "outlier_consecutive_5xx", path, 0, 1000000, &c5, err)) < 0 ||
	    (r = get_int(obj, "outlier_consecutive_failures", path, 0, 1000000, &cf, err)) < 0 ||
	    (r = get_dur(obj, "outlier_base_ejection", path, &p->outlier_base_ejection_ns, err)) <
		0 ||
	    (r = get_int(obj, "outlier_max_ejection_percent", path, 0, 100, &maxej, err)) < 0 ||
	    (r = get_int(obj, "max_concurrent", path, 0, INT64_MAX, &maxc, err)) < 0)
		return r;
	p->mode = mode_values[mode];
	p->lb = lb ? SK_PROXY_LEAST_REQUEST : SK_PROXY_ROUND_ROBIN;
	p->retry_attempts = (int)attempts;
	p->retry_min_concurrency = (int)minc;
	p->outlier_consecutive_5xx = (int)c5;
	p->outlier_consecutive_failures = (int)cf;
	p->outlier_max_ejection_percent = (int)maxej;
	p->max_concurrent = maxc;
	return 0;
}

static int parse_fault(json_t *obj, const char *path, struct sk_proxy_fault *f,
		       struct sk_error **err)
{
	static const char *const known[] = { "delay",	     "delay_jitter",  "delay_percent",
					     "abort_status", "abort_percent", NULL };
	int64_t st = 0;
	int r;

	if (!json_is_object(obj))
		return sk_error_set(err, EINVAL, "%s: not an object", path);
	if ((r = check_keys(obj, known, path, err)) < 0 ||
	    (r = get_dur(obj, "delay", path, &f->delay_ns, err)) < 0 ||
	    (r = get_dur(obj, "delay_jitter", path, &f->delay_jitter_ns, err)) < 0 ||
	    (r = get_pct(obj, "delay_percent", path, &f->delay_percent, err)) < 0 ||
	    (r = get_int(obj, "abort_status", path, 0, 599, &st, err)) < 0 ||
	    (r = get_pct(obj, "abort_percent", path, &f->abort_percent, err)) < 0)
		return r;
	if (st != 0 && st < 200)
		return sk_error_set(err, EINVAL, "%s.abort_status: expected 200..599", path);
	f->abort_status = (int)st;
	return 0;
}

static int parse_endpoints(json_t *arr, const char *path, struct sk_proxy_cluster *c,
			   struct sk_error **err)
{
	static const char *const known[] = { "id", "address", NULL };
	size_t i;
	json_t *e;

	if (!json_is_array(arr))
		return sk_error_set(err, EINVAL, "%s.endpoints: not an array", path);
	c->endpoints = sk_new0(struct sk_proxy_endpoint, json_array_size(arr) + 1);
	json_array_foreach(arr, i, e)
	{
		_cleanup_free_ char *ep = sk_asprintf("%s.endpoints[%zu]", path, i);
		struct sk_proxy_endpoint *d = &c->endpoints[i];
		int r;

		if (!json_is_object(e))
			return sk_error_set(err, EINVAL, "%s: not an object", ep);
		c->n_endpoints = i + 1;
		if ((r = check_keys(e, known, ep, err)) < 0 ||
		    (r = get_str(e, "id", true, ep, &d->id, err)) < 0 ||
		    (r = get_addr(e, ep, &d->addr, &d->addrlen, err)) < 0)
			return r;
	}
	return 0;
}

static int parse_cluster(json_t *obj, const char *path, struct sk_proxy_cluster *c,
			 struct sk_error **err)
{
	static const char *const known[] = { "name",	 "app",	   "service", "endpoints",
					     "fallback", "policy", "fault",   NULL };
	json_t *v;
	int r;

	if (!json_is_object(obj))
		return sk_error_set(err, EINVAL, "%s: not an object", path);
	if ((r = check_keys(obj, known, path, err)) < 0 ||
	    (r = get_str(obj, "name", true, path, &c->name, err)) < 0 ||
	    (r = get_str(obj, "app", false, path, &c->app, err)) < 0 ||
	    (r = get_str(obj, "service", false, path, &c->service, err)) < 0 ||
	    (r = get_str(obj, "fallback", false, path, &c->fallback, err)) < 0)
		return r;
	if (!*c->name)
		return sk_error_set(err, EINVAL, "%s.name: empty", path);
	if (!c->app)
		c->app = sk_strdup("");
	if (!c->service)
		c->service = sk_strdup(c->name);
	if ((v = json_object_get(obj, "endpoints")) && (r = parse_endpoints(v, path, c, err)) < 0)
		return r;
	if ((v = json_object_get(obj, "policy"))) {
		_cleanup_free_ char *pp = sk_asprintf("%s.policy", path);

		if ((r = parse_policy(v, pp, &c->policy, err)) < 0)
			return r;
	} else {
		c->policy.retry_on = SK_PROXY_RETRY_CONNECT;
	}
	if ((v = json_object_get(obj, "fault"))) {
		_cleanup_free_ char *fp = sk_asprintf("%s.fault", path);

		if ((r = parse_fault(v, fp, &c->fault, err)) < 0)
			return r;
	}
	return 0;
}

static int parse_listener(json_t *obj, const char *path, struct sk_proxy_listener *l,
			  struct sk_error **err)
{
	static const char *const known[] = { "address", "cluster", NULL };
	int r;

	if (!json_is_object(obj))
		return sk_error_set(err, EINVAL, "%s: not an object", path);
	if ((r = check_keys(obj, known, path, err)) < 0 ||
	    (r = get_addr(obj, path, &l->addr, &l->addrlen, err)) < 0 ||
	    (r = get_str(obj, "cluster", true, path, &l->cluster, err)) < 0)
		return r;
	return 0;
}

int sk_proxy_config_from_json(json_t *j, struct sk_proxy_config **ret, struct sk_error **err)
{
	static const char *const known[] = { "listeners", "clusters", NULL };
	_cleanup_(sk_proxy_config_freep) struct sk_proxy_config *c = NULL;
	json_t *ls, *cs, *v;
	size_t i;
	int r;

	if (!json_is_object(j))
		return sk_error_set(err, EINVAL, "proxy config: not an object");
	r = check_keys(j, known, "proxy config", err);
	if (r < 0)
		return r;
	ls = json_object_get(j, "listeners");
	cs = json_object_get(j, "clusters");
	if ((ls && !json_is_array(ls)) || (cs && !json_is_array(cs)))
		return sk_error_set(err, EINVAL, "proxy config: listeners and clusters are arrays");
	c = sk_new0(struct sk_proxy_config, 1);
	c->clusters = sk_new0(struct sk_proxy_cluster, json_array_size(cs) + 1);
	json_array_foreach(cs, i, v)
	{
		_cleanup_free_ char *path = sk_asprintf("clusters[%zu]", i);

		c->n_clusters = i + 1;
		r = parse_cluster(v, path, &c->clusters[i], err);
		if (r < 0)
			return r;
	}
	c->listeners = sk_new0(struct sk_proxy_listener, json_array_size(ls) + 1);
	json_array_foreach(ls, i, v)
	{
		_cleanup_free_ char *path = sk_asprintf("listeners[%zu]", i);

		c->n_listeners = i + 1;
		r = parse_listener(v, path, &c->listeners[i], err);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

void sk_proxy_config_free(struct sk_proxy_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_clusters; i++) {
		struct sk_proxy_cluster *cl = &c->clusters[i];

		for (size_t j = 0; j < cl->n_endpoints; j++)
			free(cl->endpoints[j].id);
		free(cl->endpoints);
		free(cl->name);
		free(cl->app);
		free(cl->service);
		free(cl->fallback);
	}
	for (size_t i = 0; i < c->n_listeners; i++)
		free(c->listeners[i].cluster);
	free(c->clusters);
	free(c->listeners);
	free(c);
}
