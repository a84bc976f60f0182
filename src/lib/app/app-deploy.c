/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-deploy.c - the nested service blocks: deploy (replicas, resources,
 * restart_policy), healthcheck (Compose's defaults: 30s interval and
 * timeout, 3 retries, 0s start_period, 5s start_interval), and the service
 * defaults every builder starts from.  skiff's own x-skiff block is
 * app-xskiff.c.
 */
#include "app/app-internal.h"

#include <string.h>

#include "base/util.h"

#define NS(s) ((int64_t)(s)*SK_APP_NS_PER_SEC)

void sk_app_service_defaults(struct sk_app_service *svc)
{
	svc->replicas = -1; /* unset until deploy.replicas or scale; then 1 */
	svc->stop_grace_period_ns = NS(10);
	svc->healthcheck = (struct sk_app_healthcheck){ .kind = SK_APP_HC_INHERIT,
							.interval_ns = NS(30),
							.timeout_ns = NS(30),
							.start_interval_ns = NS(5),
							.retries = 3 };
	svc->x_skiff.restart_unhealthy = true;
	svc->security.no_new_privileges = -1;
	svc->mem_swappiness = -1;
	svc->x_skiff.proxy = (struct sk_app_proxy){
		.mode = SK_APP_PROXY_HTTP,
		.balance = SK_APP_LB_ROUND_ROBIN,
		.retry_attempts = 2,
		.retry_on = SK_APP_RETRY_CONNECT | SK_APP_RETRY_RESET,
		.outlier_consecutive_5xx = 5,
		.outlier_consecutive_failures = 5,
	};
}

static int resources(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		     struct sk_app_resources *res)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "cpus"))
			r |= sk_app_get_cpus(c, v, p, &res->cpus);
		else if (!strcmp(k->text, "memory"))
			r |= sk_app_get_bytes(c, v, p, &res->memory);
		else if (!strcmp(k->text, "pids"))
			r |= sk_app_get_int(c, v, p, -1, INT64_MAX, &res->pids);
		else
			sk_app_warn(c, k, NULL, "%s is not supported by skiff, ignored", p);
	}
	return r ? -EINVAL : 0;
}

static int deploy_resources(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			    struct sk_app_service *svc)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "limits"))
			r |= resources(c, v, p, &svc->limits);
		else if (!strcmp(k->text, "reservations"))
			r |= resources(c, v, p, &svc->reservations);
		else
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	return r ? -EINVAL : 0;
}

static int rp_condition(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			enum sk_app_rp_condition *ret)
{
	static const char *const names[] = { "none", "on-failure", "any" };
	_cleanup_free_ char *s = NULL;

	if (sk_app_get_str(c, n, path, &s) < 0)
		return -EINVAL;
	for (size_t i = 0; i < SK_ELEMENTSOF(names); i++)
		if (!strcmp(s, names[i])) {
			*ret = (enum sk_app_rp_condition)i;
			return 0;
		}
	return sk_app_fail(c, n, path, "invalid restart condition \"%s\" (none, on-failure, any)",
			   s);
}

static int restart_policy(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			  struct sk_app_restart_policy *rp)
{
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	*rp = (struct sk_app_restart_policy){ .set = true, .condition = SK_APP_RP_ANY };
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "condition"))
			r |= rp_condition(c, v, p, &rp->condition);
		else if (!strcmp(k->text, "delay"))
			r |= sk_app_get_duration(c, v, p, &rp->delay_ns);
		else if (!strcmp(k->text, "max_attempts"))
			r |= sk_app_get_int(c, v, p, 0, INT64_MAX, &rp->max_attempts);
		else if (!strcmp(k->text, "window"))
			r |= sk_app_get_duration(c, v, p, &rp->window_ns);
		else
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	return r ? -EINVAL : 0;
}

int sk_app_deploy_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			struct sk_app_service *svc)
{
	static const char *const unsupported[] = {
		"mode", "endpoint_mode", "labels", "placement", "rollback_config", "update_config"
	};
	int r = 0;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		bool handled = true;
		if (!strcmp(k->text, "replicas"))
			r |= sk_app_get_int(c, v, p, 0, 100000, &svc->replicas);
		else if (!strcmp(k->text, "resources"))
			r |= deploy_resources(c, v, p, svc);
		else if (!strcmp(k->text, "restart_policy"))
			r |= restart_policy(c, v, p, &svc->restart_policy);
		else
			handled = false;
		for (size_t j = 0; !handled && j < SK_ELEMENTSOF(unsupported); j++)
			if (!strcmp(k->text, unsupported[j])) {
				sk_app_warn(c, k, NULL, "%s is not supported by skiff, ignored", p);
				handled = true;
			}
		if (!handled)
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	return r ? -EINVAL : 0;
}

/* test: ["CMD", args...], ["CMD-SHELL", "line"], ["NONE"] or "line" (CMD-SHELL). */
static int hc_test(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		   struct sk_app_healthcheck *hc)
{
	_cleanup_strv_ char **v = NULL;

	if (n->type == SK_YN_SCALAR) {
		char *s;
		if (sk_app_get_str(c, n, path, &s) < 0)
			return -EINVAL;
		hc->kind = SK_APP_HC_SHELL;
		hc->test = sk_new0(char *, 2);
		hc->test[0] = s;
		return 0;
	}
	if (sk_app_get_strv(c, n, path, false, &v) < 0)
		return -EINVAL;
	if (!v[0])
		return sk_app_fail(c, n, path, "must not be empty");
	if (!strcmp(v[0], "NONE")) {
		hc->kind = SK_APP_HC_NONE;
		return 0;
	}
	if (!strcmp(v[0], "CMD") && v[1])
		hc->kind = SK_APP_HC_CMD;
	else if (!strcmp(v[0], "CMD-SHELL") && v[1] && !v[2])
		hc->kind = SK_APP_HC_SHELL;
	else
		return sk_app_fail(c, n, path,
				   "must start with CMD (and a command), CMD-SHELL (and one "
				   "command line) or NONE");
	hc->test = sk_strv_copy(v + 1);
	return 0;
}

int sk_app_healthcheck_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			     struct sk_app_healthcheck *hc)
{
	bool disable = false;
	int r = 0;
	int64_t retries;

	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const struct sk_yn *k = sk_yn_key(n, i), *v = sk_yn_val(n, i);
		_cleanup_free_ char *p = sk_app_path(path, k->text);
		if (!strcmp(k->text, "test"))
			r |= hc_test(c, v, p, hc);
		else if (!strcmp(k->text, "interval"))
			r |= sk_app_get_duration(c, v, p, &hc->interval_ns);
		else if (!strcmp(k->text, "timeout"))
			r |= sk_app_get_duration(c, v, p, &hc->timeout_ns);
		else if (!strcmp(k->text, "start_period"))
			r |= sk_app_get_duration(c, v, p, &hc->start_period_ns);
		else if (!strcmp(k->text, "start_interval"))
			r |= sk_app_get_duration(c, v, p, &hc->start_interval_ns);
		else if (!strcmp(k->text, "retries")) {
			if (sk_app_get_int(c, v, p, 0, 1000000, &retries) < 0)
				r = -EINVAL;
			else
				hc->retries = (int)retries;
		} else if (!strcmp(k->text, "disable"))
			r |= sk_app_get_bool(c, v, p, &disable);
		else
			r |= sk_app_fail(c, k, p, "unknown field");
	}
	if (disable) {
		sk_strv_free(hc->test);
		hc->test = NULL;
		hc->kind = SK_APP_HC_NONE;
	}
	return r ? -EINVAL : 0;
}
