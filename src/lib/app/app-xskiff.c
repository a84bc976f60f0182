/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-xskiff.c - skiff's own compose extensions, the x-skiff blocks.
 *
 * Service level: health (an http/tcp probe skiff runs from outside),
 * restart_unhealthy, proxy (how skiff's proxy balances, times out, retries
 * and ejects replicas), fault (injected delays and aborts) and fallback (the
 * service that answers when this one cannot).  App level: egress and
 * subnet.  Defaults are filled in here and in sk_app_service_defaults(), so
 * the daemon reads finished values.  An unknown key directly under x-skiff
 * is a warning (autoscale is reserved for a later issue); an unknown key
 * inside a block skiff defines is an error.  Whether fallback names another
 * service, and fallback cycles, are checked in app-validate.c.
 */
#include "app/app-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define NS(s) ((int64_t)(s)*SK_APP_NS_PER_SEC)

/* ---- health ------------------------------------------------------------- */

/* "200", "200-399" */
static int status_range(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			struct sk_app_probe *pr)
{
	_cleanup_free_ char *s = NULL;
	int lo, hi;
	char *dash;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	dash = strchr(s, '-');
	if (dash)
		*dash++ = '\0';
	if (sk_parse_int(s, &lo) < 0 || (dash && sk_parse_int(dash, &hi) < 0) || lo < 100 ||
	    lo > 599)
		goto bad;
	if (!dash)
		hi = lo;
	if (hi < lo || hi > 599)
		goto bad;
	pr->status_min = lo;
	pr->status_max = hi;
	return 0;
bad:
	if (dash)
		dash[-1] = '-';
	return sk_app_fail(c, n, path, "invalid status \"%s\" (like 200 or 200-399)", s);
}

static int probe_field(struct sk_app_ctx *c, const struct sk_yn *k, const struct sk_yn *v,
		       const char *p, struct sk_app_probe *pr)
{
	int64_t i;

	if (!strcmp(k->text, "port")) {
		if (sk_app_get_int(c, v, p, 1, 65535, &i) < 0)
			return -EINVAL;
		pr->port = (uint16_t)i;
		return 0;
	}
	if (!strcmp(k->text, "path") && pr->kind == SK_APP_PROBE_HTTP) {
		free(pr->path);
		pr->path = NULL;
		if (sk_app_get_str(c, v, p, &pr->path) < 0)
			return -EINVAL;
		return pr->path[0] == '/' ? 0 : sk_app_fail(c, v, p, "must start with /");
	}
	if (!strcmp(k->text, "status") && pr->kind == SK_APP_PROBE_HTTP)
		return status_range(c, v, p, pr);
	if (!strcmp(k->text, "interval"))
		return sk_app_get_duration(c, v, p, &pr->interval_ns);
	if (!strcmp(k->text, "timeout"))
		return sk_app_get_duration(c, v, p, &pr->timeout_ns);
	if (!strcmp(k->text, "start_period"))
		return sk_app_get_duration(c, v, p, &pr->start_period_ns);
	if (!strcmp(k->text, "retries")) {
		if (sk_app_get_int(c, v, p, 1, 1000000, &i) < 0)
			return -EINVAL;
		pr->retries = (int)i;
		return 0;
	}
	return sk_app_fail(c, k, p, "unknown field");
}

static int probe(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		 enum sk_app_probe_kind kind, struct sk_app_probe *pr)
{
	int r = 0;

	if (pr->kind != SK_APP_PROBE_NONE)
		return sk_app_fail(c, n, path, "only one of http and tcp may be given");
	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	*pr = (struct sk_app_probe){
		.kind = kind, .interval_ns = NS(5), .timeout_ns = NS(2), .retries = 3
	};
	if (kind == SK_APP_PROBE_HTTP) {
		pr->path = sk_strdup("/");
		pr->status_min = 200;
		pr->status_max = 399;
	}
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path(path, sk_yn_key(n, i)->text);
		r |= probe_field(c, sk_yn_key(n, i), sk_yn_val(n, i), p, pr);
	}
	if (!r && !pr->port)
		return sk_app_fail(c, n, path, "port is required");
	return r ? -EINVAL : 0;
}

static int health(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		  struct sk_app_skiff_service *x)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "http"))
			r |= probe(c, v, p, SK_APP_PROBE_HTTP, &x->probe);
		else if (!strcmp(k->text, "tcp"))
			r |= probe(c, v, p, SK_APP_PROBE_TCP, &x->probe);
		else
			r |= sk_app_fail(c, k, p, "unknown probe (http, tcp)");
	}
	return r ? -EINVAL : 0;
}

/* ---- shared value parsers ---------------------------------------------- */

/* "20", "12.5" or "20%": a percentage 0..100. */
static int parse_percent(const char *s, double *ret)
{
	size_t len = strlen(s);
	char *end;
	double v;

	if (len && s[len - 1] == '%')
		len--;
	if (!len || s[0] == '.' || strspn(s, "0123456789.") != len)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end != s + len)
		return -EINVAL;
	if (v > 100)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int get_percent(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, double *ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	r = parse_percent(s, ret);
	if (r == -ERANGE)
		return sk_app_fail(c, n, path, "%s is out of range (0..100)", s);
	if (r < 0)
		return sk_app_fail(c, n, path, "invalid percentage \"%s\" (like 20 or 20%%)", s);
	return 0;
}

static int get_int_to(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, int min,
		      int max, int *ret)
{
	int64_t v;

	if (sk_app_get_int(c, n, path, min, max, &v) < 0)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* One of `names`; the error lists them. */
static int get_choice(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		      const char *what, const char *const *names, size_t n_names, int *ret)
{
	_cleanup_free_ char *s = NULL, *list = NULL;
	struct sk_app_buf b = { 0 };

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n_names; i++)
		if (!strcmp(s, names[i])) {
			*ret = (int)i;
			return 0;
		}
	for (size_t i = 0; i < n_names; i++) {
		if (i)
			sk_app_buf_adds(&b, ", ");
		sk_app_buf_adds(&b, names[i]);
	}
	list = sk_app_buf_take(&b);
	return sk_app_fail(c, n, path, "invalid %s \"%s\" (%s)", what, s, list);
}

/* ---- proxy -------------------------------------------------------------- */

/* One retries.on entry: a named condition or a status 500-599. */
static int retry_cond(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		      struct sk_app_proxy *px)
{
	static const struct {
		const char *name;
		unsigned bit;
	} conds[] = { { "connect-failure", SK_APP_RETRY_CONNECT },
		      { "reset", SK_APP_RETRY_RESET },
		      { "timeout", SK_APP_RETRY_TIMEOUT } };
	_cleanup_free_ char *s = NULL;
	int st;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	for (size_t i = 0; i < SK_ELEMENTSOF(conds); i++)
		if (!strcmp(s, conds[i].name)) {
			px->retry_on |= conds[i].bit;
			return 0;
		}
	if (sk_parse_int(s, &st) < 0 || st < 500 || st > 599)
		return sk_app_fail(c, n, path,
				   "unknown retry condition \"%s\" (connect-failure, reset, "
				   "timeout, or a status 500-599)",
				   s);
	for (size_t i = 0; i < px->n_retry_status; i++)
		if (px->retry_status[i] == st)
			return 0; /* listed twice: once is enough */
	if (px->n_retry_status == SK_ELEMENTSOF(px->retry_status))
		return sk_app_fail(c, n, path, "at most %zu retry statuses may be given",
				   SK_ELEMENTSOF(px->retry_status));
	px->retry_status[px->n_retry_status++] = st;
	px->retry_on |= SK_APP_RETRY_STATUS;
	return 0;
}

/* retries.on replaces the default conditions; statuses are kept sorted (canonical). */
static int retry_on(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		    struct sk_app_proxy *px)
{
	int r = 0;

	px->retry_on = 0;
	px->n_retry_status = 0;
	if (n && n->type == SK_YN_SCALAR && !sk_yn_is_null(n))
		return retry_cond(c, n, path, px);
	if (sk_app_want(c, n, path, SK_YN_SEQ) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path_i(path, i);
		r |= retry_cond(c, n->items[i], p, px);
	}
	for (size_t i = 1; i < px->n_retry_status; i++)
		for (size_t j = i; j > 0 && px->retry_status[j - 1] > px->retry_status[j]; j--) {
			int t = px->retry_status[j];
			px->retry_status[j] = px->retry_status[j - 1];
			px->retry_status[j - 1] = t;
		}
	return r ? -EINVAL : 0;
}

static int retries(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		   struct sk_app_proxy *px)
{
	const struct sk_yn *max_backoff = NULL;
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "attempts"))
			r |= get_int_to(c, v, p, 0, 10, &px->retry_attempts);
		else if (!strcmp(k->text, "on"))
			r |= retry_on(c, v, p, px);
		else if (!strcmp(k->text, "backoff"))
			r |= sk_app_get_duration(c, v, p, &px->retry_backoff_ns);
		else if (!strcmp(k->text, "max_backoff")) {
			r |= sk_app_get_duration(c, v, p, &px->retry_max_backoff_ns);
			max_backoff = v;
		} else if (!strcmp(k->text, "budget"))
			r |= get_percent(c, v, p, &px->retry_budget_percent);
		else
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	if (!r && max_backoff && px->retry_max_backoff_ns < px->retry_backoff_ns) {
		_cleanup_free_ char *p = sk_app_path(path, "max_backoff");
		return sk_app_fail(c, max_backoff, p, "must not be shorter than backoff");
	}
	return r ? -EINVAL : 0;
}

static int outlier(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		   struct sk_app_proxy *px)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "consecutive_5xx"))
			r |= get_int_to(c, v, p, 0, 1000000, &px->outlier_consecutive_5xx);
		else if (!strcmp(k->text, "consecutive_failures"))
			r |= get_int_to(c, v, p, 0, 1000000, &px->outlier_consecutive_failures);
		else if (!strcmp(k->text, "base_ejection_time"))
			r |= sk_app_get_duration(c, v, p, &px->outlier_base_ejection_ns);
		else if (!strcmp(k->text, "max_ejection_percent"))
			r |= get_int_to(c, v, p, 0, 100, &px->outlier_max_ejection_percent);
		else
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	return r ? -EINVAL : 0;
}

static int proxy_field(struct sk_app_ctx *c, const struct sk_yn *k, const struct sk_yn *v,
		       const char *p, struct sk_app_proxy *px)
{
	static const char *const modes[] = { "http", "tcp" };
	static const char *const balances[] = { "round_robin", "least_request" };
	int i;

	if (!strcmp(k->text, "mode")) {
		if (get_choice(c, v, p, "proxy mode", modes, SK_ELEMENTSOF(modes), &i) < 0)
			return -EINVAL;
		px->mode = (enum sk_app_proxy_mode)i;
		return 0;
	}
	if (!strcmp(k->text, "balance")) {
		if (get_choice(c, v, p, "balance", balances, SK_ELEMENTSOF(balances), &i) < 0)
			return -EINVAL;
		px->balance = (enum sk_app_lb)i;
		return 0;
	}
	if (!strcmp(k->text, "internal"))
		return sk_app_get_bool(c, v, p, &px->internal);
	if (!strcmp(k->text, "connect_timeout"))
		return sk_app_get_duration(c, v, p, &px->connect_timeout_ns);
	if (!strcmp(k->text, "timeout"))
		return sk_app_get_duration(c, v, p, &px->try_timeout_ns);
	if (!strcmp(k->text, "total_timeout"))
		return sk_app_get_duration(c, v, p, &px->total_timeout_ns);
	if (!strcmp(k->text, "idle_timeout"))
		return sk_app_get_duration(c, v, p, &px->idle_timeout_ns);
	if (!strcmp(k->text, "max_concurrent"))
		return sk_app_get_int(c, v, p, 0, 1000000, &px->max_concurrent);
	if (!strcmp(k->text, "drain")) {
		if (sk_app_get_duration(c, v, p, &px->drain_ns) < 0)
			return -EINVAL;
		if (px->drain_ns > 300 * 1000000000LL)
			return sk_app_fail(c, v, p, "at most 5m");
		return 0;
	}
	if (!strcmp(k->text, "retries"))
		return retries(c, v, p, px);
	if (!strcmp(k->text, "outlier"))
		return outlier(c, v, p, px);
	return sk_app_fail(c, k, p, "unknown field");
}

static int proxy(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		 struct sk_app_proxy *px)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path(path, sk_yn_key(n, i)->text);
		r |= proxy_field(c, sk_yn_key(n, i), sk_yn_val(n, i), p, px);
	}
	return r ? -EINVAL : 0;
}

/* ---- fault -------------------------------------------------------------- */

/* delay: {fixed, jitter, percent}; fixed is required, percent defaults to 100. */
static int fault_delay(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		       struct sk_app_fault *f)
{
	const struct sk_yn *jitter = NULL;
	bool fixed = false, percent = false;
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "fixed")) {
			r |= sk_app_get_duration(c, v, p, &f->delay_ns);
			fixed = true;
		} else if (!strcmp(k->text, "jitter")) {
			r |= sk_app_get_duration(c, v, p, &f->delay_jitter_ns);
			jitter = v;
		} else if (!strcmp(k->text, "percent")) {
			r |= get_percent(c, v, p, &f->delay_percent);
			percent = true;
		} else
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	if (r)
		return -EINVAL;
	if (!fixed)
		return sk_app_fail(c, n, path, "fixed is required");
	if (jitter && f->delay_jitter_ns > f->delay_ns) {
		_cleanup_free_ char *p = sk_app_path(path, "jitter");
		return sk_app_fail(c, jitter, p, "must not be longer than fixed");
	}
	if (!percent)
		f->delay_percent = 100;
	return 0;
}

/* abort: {status, percent}; status is required, percent defaults to 100. */
static int fault_abort(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		       struct sk_app_fault *f)
{
	bool status = false, percent = false;
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "status")) {
			r |= get_int_to(c, v, p, 200, 599, &f->abort_status);
			status = true;
		} else if (!strcmp(k->text, "percent")) {
			r |= get_percent(c, v, p, &f->abort_percent);
			percent = true;
		} else
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	if (r)
		return -EINVAL;
	if (!status)
		return sk_app_fail(c, n, path, "status is required");
	if (!percent)
		f->abort_percent = 100;
	return 0;
}

static int fault(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		 struct sk_app_fault *f)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "delay"))
			r |= fault_delay(c, v, p, f);
		else if (!strcmp(k->text, "abort"))
			r |= fault_abort(c, v, p, f);
		else
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	return r ? -EINVAL : 0;
}

/* ---- the blocks --------------------------------------------------------- */

/* Keys later issues will parse; until then they are accepted with a warning. */
static const char *const reserved_service_keys[] = { "autoscale" };

static int xskiff_service_field(struct sk_app_ctx *c, const struct sk_yn *k, const struct sk_yn *v,
				const char *p, struct sk_app_skiff_service *x)
{
	bool reserved = false;

	if (!strcmp(k->text, "health"))
		return health(c, v, p, x);
	if (!strcmp(k->text, "restart_unhealthy"))
		return sk_app_get_bool(c, v, p, &x->restart_unhealthy);
	if (!strcmp(k->text, "proxy"))
		return proxy(c, v, p, &x->proxy);
	if (!strcmp(k->text, "fault"))
		return fault(c, v, p, &x->fault);
	if (!strcmp(k->text, "fallback")) {
		free(x->fallback);
		x->fallback = NULL;
		return sk_app_get_str(c, v, p, &x->fallback);
	}
	for (size_t j = 0; j < SK_ELEMENTSOF(reserved_service_keys); j++)
		reserved |= !strcmp(k->text, reserved_service_keys[j]);
	sk_app_warn(c, k, p,
		    reserved ? "not implemented yet, ignored" : "unknown x-skiff setting, ignored");
	return 0;
}

int sk_app_xskiff_service_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
				struct sk_app_skiff_service *x)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = sk_app_path(path, sk_yn_key(n, i)->text);
		r |= xskiff_service_field(c, sk_yn_key(n, i), sk_yn_val(n, i), p, x);
	}
	return r ? -EINVAL : 0;
}

int sk_app_subnet_parse(const char *s, char **ret_network)
{
	_cleanup_free_ char *addr = NULL;
	char buf[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	uint32_t host, mask;
	int prefix;

	if (!slash)
		return -EINVAL;
	addr = sk_strndup(s, (size_t)(slash - s));
	/* the prefix: plain digits, no sign or leading zero */
	if (inet_pton(AF_INET, addr, &a) != 1 || slash[1] == '0' ||
	    strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
	    sk_parse_int(slash + 1, &prefix) < 0 || prefix < 16 || prefix > 28)
		return -EINVAL;
	mask = ~0u << (32 - prefix);
	host = ntohl(a.s_addr);
	a.s_addr = htonl(host & mask);
	if (!inet_ntop(AF_INET, &a, buf, sizeof(buf)))
		return -EINVAL;
	*ret_network = sk_asprintf("%s/%d", buf, prefix);
	return host & ~mask ? -EADDRNOTAVAIL : 0;
}

static int get_subnet(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, char **ret)
{
	_cleanup_free_ char *s = NULL, *net = NULL;
	int r;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	r = sk_app_subnet_parse(s, &net);
	if (r == -EADDRNOTAVAIL)
		return sk_app_fail(c, n, path, "subnet \"%s\" has host bits set (did you mean %s?)",
				   s, net);
	if (r < 0)
		return sk_app_fail(c, n, path, "invalid subnet \"%s\" (a.b.c.d/n, n 16..28)", s);
	*ret = TAKE_PTR(net);
	return 0;
}

int sk_app_xskiff_app_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			    struct sk_app_skiff_app *x)
{
	static const char *const reserved[] = { "proxy" };
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		bool res = false;
		if (!strcmp(k->text, "egress")) {
			r |= sk_app_get_bool(c, v, p, &x->egress);
			continue;
		}
		if (!strcmp(k->text, "subnet")) {
			free(x->subnet);
			x->subnet = NULL;
			r |= get_subnet(c, v, p, &x->subnet);
			continue;
		}
		for (size_t j = 0; j < SK_ELEMENTSOF(reserved); j++)
			res |= !strcmp(k->text, reserved[j]);
		sk_app_warn(c, k, p,
			    res ? "not implemented yet, ignored"
				: "unknown x-skiff setting, ignored");
	}
	return r ? -EINVAL : 0;
}
