/* SPDX-License-Identifier: Apache-2.0 */
/*
 * balance.c - the proxy's decisions, as small functions without i/o:
 * choosing an endpoint (round robin, least outstanding requests by power of
 * two choices), passive outlier ejection, the retry budget, backoff with
 * jitter, fault dice, method classification and policy defaults.
 *
 * Callers pass the time and random numbers in, so the unit tests drive
 * these directly.  State read and written here is the persistent,
 * atomically updated per-cluster and per-endpoint state.
 */
#include <string.h>

#include "proxy/proxy-internal.h"

#define MAX_EJECTION_NS (300ull * 1000000000ull)

bool sk_proxy_ejected(const struct sk_proxy_sep *ep, uint64_t now)
{
	uint64_t until = atomic_load_explicit(&ep->st->ejected_until, memory_order_relaxed);

	return until && now < until;
}

static bool usable(struct sk_proxy_scluster *c, size_t i, uint64_t avoid, uint64_t now)
{
	if (sk_proxy_ejected(&c->eps[i], now))
		return false;
	return i >= 64 || !(avoid & (1ull << i));
}

static int pick_rr(struct sk_proxy_scluster *c, uint64_t avoid, uint64_t now)
{
	uint64_t start = atomic_fetch_add_explicit(&c->st->rr, 1, memory_order_relaxed);

	for (size_t k = 0; k < c->n_eps; k++) {
		size_t i = (size_t)((start + k) % c->n_eps);

		if (usable(c, i, avoid, now))
			return (int)i;
	}
	return -1;
}

static int pick_least(struct sk_proxy_scluster *c, uint64_t avoid, uint64_t now, uint64_t rnd)
{
	size_t cand[64], n = 0;
	int64_t oa, ob;
	size_t a, b;

	for (size_t i = 0; i < c->n_eps && n < SK_ELEMENTSOF(cand); i++)
		if (usable(c, i, avoid, now))
			cand[n++] = i;
	if (n == 0)
		return -1;
	if (n == 1)
		return (int)cand[0];
	a = cand[rnd % n];
	b = cand[(rnd >> 32) % (n - 1)];
	if (b == a)
		b = cand[n - 1];
	oa = atomic_load_explicit(&c->eps[a].st->outstanding, memory_order_relaxed);
	ob = atomic_load_explicit(&c->eps[b].st->outstanding, memory_order_relaxed);
	if (oa == ob)
		return (int)((rnd >> 16) & 1 ? a : b);
	return (int)(oa < ob ? a : b);
}

int sk_proxy_pick(struct sk_proxy_scluster *c, uint64_t avoid, uint64_t now, uint64_t rnd)
{
	int i;

	if (c->n_eps == 0)
		return -1;
	/* prefer endpoints not tried yet; then any usable one */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t av = pass == 0 ? avoid : 0;

		i = c->policy.lb == SK_PROXY_LEAST_REQUEST ? pick_least(c, av, now, rnd)
							   : pick_rr(c, av, now);
		if (i >= 0 || avoid == 0)
			return i;
	}
	return -1;
}

int sk_proxy_pick_panic(struct sk_proxy_scluster *c, uint64_t avoid, uint64_t now)
{
	uint64_t start;

	for (size_t i = 0; i < c->n_eps; i++)
		if (!sk_proxy_ejected(&c->eps[i], now))
			return -1; /* not a panic: some endpoint is in, only tried ones left */
	if (c->n_eps == 0)
		return -1;
	start = atomic_fetch_add_explicit(&c->st->rr, 1, memory_order_relaxed);
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < c->n_eps; k++) {
			size_t i = (size_t)((start + k) % c->n_eps);
			if (pass == 1 || i >= 64 || !(avoid & (1ull << i)))
				return (int)i;
		}
	return -1;
}

static size_t ejected_count(struct sk_proxy_scluster *c, uint64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_eps; i++)
		n += sk_proxy_ejected(&c->eps[i], now);
	return n;
}

static bool eject(struct sk_proxy_scluster *c, struct sk_proxy_sep *ep, uint64_t now)
{
	const struct sk_proxy_policy *pol = &c->policy;
	size_t max = c->n_eps * (size_t)pol->outlier_max_ejection_percent / 100;
	uint64_t d;
	int k;

	if (sk_proxy_ejected(ep, now))
		return false;
	if (max < 1)
		max = 1;
	if (ejected_count(c, now) >= max)
		return false;
	k = atomic_fetch_add_explicit(&ep->st->eject_count, 1, memory_order_relaxed) + 1;
	d = (uint64_t)k * pol->outlier_base_ejection_ns;
	if (d > MAX_EJECTION_NS || d / (uint64_t)k != pol->outlier_base_ejection_ns)
		d = MAX_EJECTION_NS;
	atomic_store_explicit(&ep->st->ejected_until, now + d, memory_order_relaxed);
	atomic_store_explicit(&ep->st->consec_5xx, 0, memory_order_relaxed);
	atomic_store_explicit(&ep->st->consec_fail, 0, memory_order_relaxed);
	sk_proxy_ctr_add(&c->st->ejections, 1);
	return true;
}

bool sk_proxy_outlier_record(struct sk_proxy_scluster *c, struct sk_proxy_sep *ep, bool ok,
			     bool is_5xx, bool is_failure, uint64_t now)
{
	const struct sk_proxy_policy *pol = &c->policy;
	struct sk_proxy_estate *st = ep->st;

	if (ok) {
		if (atomic_load_explicit(&st->consec_5xx, memory_order_relaxed))
			atomic_store_explicit(&st->consec_5xx, 0, memory_order_relaxed);
		if (atomic_load_explicit(&st->consec_fail, memory_order_relaxed))
			atomic_store_explicit(&st->consec_fail, 0, memory_order_relaxed);
		return false;
	}
	if (is_5xx && pol->outlier_consecutive_5xx > 0 &&
	    atomic_fetch_add_explicit(&st->consec_5xx, 1, memory_order_relaxed) + 1 >=
		pol->outlier_consecutive_5xx)
		return eject(c, ep, now);
	if (is_failure && pol->outlier_consecutive_failures > 0 &&
	    atomic_fetch_add_explicit(&st->consec_fail, 1, memory_order_relaxed) + 1 >=
		pol->outlier_consecutive_failures)
		return eject(c, ep, now);
	return false;
}

bool sk_proxy_retry_budget_ok(const struct sk_proxy_scluster *c)
{
	int64_t active = atomic_load_explicit(&c->st->active_requests, memory_order_relaxed);
	int64_t retries = atomic_load_explicit(&c->st->active_retries, memory_order_relaxed);

	if (active < c->policy.retry_min_concurrency)
		return true;
	return (double)(retries + 1) <= c->policy.retry_budget_percent * (double)active / 100.0;
}

uint64_t sk_proxy_backoff(const struct sk_proxy_policy *pol, int retry, uint64_t rnd)
{
	uint64_t d = pol->retry_backoff_ns;

	for (int i = 1; i < retry && d < pol->retry_max_backoff_ns; i++)
		d *= 2;
	if (d > pol->retry_max_backoff_ns)
		d = pol->retry_max_backoff_ns;
	/* jitter: uniform in [d/2, d] */
	return d / 2 + (d / 2 ? rnd % (d / 2 + 1) : 0);
}

bool sk_proxy_status_retryable(const struct sk_proxy_policy *pol, int status)
{
	if (!(pol->retry_on & SK_PROXY_RETRY_STATUS))
		return false;
	for (size_t i = 0; i < pol->n_retry_status && i < SK_ELEMENTSOF(pol->retry_status); i++)
		if (pol->retry_status[i] == status)
			return true;
	return false;
}

bool sk_proxy_roll(double percent, uint64_t rnd)
{
	if (percent <= 0)
		return false;
	if (percent >= 100)
		return true;
	return (double)(rnd % 1000000) < percent * 10000.0;
}

static const char *const methods[SK_PROXY_NMETHODS] = { "GET",	   "HEAD",  "POST",    "PUT",
							"DELETE",  "PATCH", "OPTIONS", "TRACE",
							"CONNECT", "OTHER" };

int sk_proxy_method_index(struct sk_http_str m)
{
	for (int i = 0; i < SK_PROXY_NMETHODS - 1; i++)
		if (sk_http_str_eq(m, methods[i]))
			return i;
	return SK_PROXY_NMETHODS - 1;
}

const char *sk_proxy_method_name(int idx)
{
	return methods[idx];
}

bool sk_proxy_method_idempotent(int idx)
{
	/* GET HEAD PUT DELETE OPTIONS TRACE */
	return idx == 0 || idx == 1 || idx == 3 || idx == 4 || idx == 6 || idx == 7;
}

void sk_proxy_policy_defaults(struct sk_proxy_policy *p)
{
	if (!p->connect_timeout_ns)
		p->connect_timeout_ns = 2000000000ull;
	if (!p->idle_timeout_ns) /* a udp flow has no close: it ends by its idle timeout */
		p->idle_timeout_ns = p->mode == SK_PROXY_UDP ? 30000000000ull : 60000000000ull;
	if (!p->retry_backoff_ns)
		p->retry_backoff_ns = 25000000ull;
	if (!p->retry_max_backoff_ns)
		p->retry_max_backoff_ns = 10 * p->retry_backoff_ns;
	if (p->retry_max_backoff_ns < p->retry_backoff_ns)
		p->retry_max_backoff_ns = p->retry_backoff_ns;
	if (p->retry_budget_percent <= 0)
		p->retry_budget_percent = 20;
	if (!p->retry_min_concurrency)
		p->retry_min_concurrency = 3;
	if (!p->outlier_base_ejection_ns)
		p->outlier_base_ejection_ns = 30000000000ull;
	if (p->outlier_max_ejection_percent <= 0)
		p->outlier_max_ejection_percent = 50;
	if (p->n_retry_status > SK_ELEMENTSOF(p->retry_status))
		p->n_retry_status = SK_ELEMENTSOF(p->retry_status);
}
