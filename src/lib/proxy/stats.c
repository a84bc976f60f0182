/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.c - the proxy's statistics: recording a finished request (relaxed
 * atomics on persistent per-cluster state: no lock on the request path) and
 * rendering everything in the Prometheus text exposition format.
 *
 * Clusters that share app and service labels (the same service on several
 * ports) are summed, so every label set appears once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy-internal.h"

static const uint64_t bucket_ns[SK_PROXY_NBUCKETS - 1] = {
	500000ull,     1000000ull,    2500000ull,    5000000ull,     10000000ull,
	25000000ull,   50000000ull,   100000000ull,  250000000ull,   500000000ull,
	1000000000ull, 2500000000ull, 5000000000ull, 10000000000ull,
};
static const char *const bucket_le[SK_PROXY_NBUCKETS] = { "0.0005", "0.001", "0.0025", "0.005",
							  "0.01",   "0.025", "0.05",   "0.1",
							  "0.25",   "0.5",   "1",      "2.5",
							  "5",	    "10",    "+Inf" };
static const char *const classes[SK_PROXY_NCLASSES] = { "1xx", "2xx", "3xx", "4xx", "5xx" };

int sk_proxy_status_class(int status)
{
	if (status < 200)
		return 0; /* only a 101 that switched protocols is counted */
	if (status < 300)
		return 1;
	if (status < 400)
		return 2;
	if (status < 500)
		return 3;
	return 4;
}

/* Only `worker` writes its slot: a relaxed load and store, no locked instruction. */
static inline void bump(sk_proxy_ctr *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

void sk_proxy_stats_request(struct sk_proxy_cstate *c, unsigned worker, int method, int status,
			    uint64_t duration_ns)
{
	struct sk_proxy_wstats *ws = &c->wstats[worker];
	size_t b = 0;

	while (b < SK_PROXY_NBUCKETS - 1 && duration_ns > bucket_ns[b])
		b++;
	bump(&ws->requests[method][sk_proxy_status_class(status)], 1);
	bump(&ws->buckets[b], 1);
	bump(&ws->duration_ns, duration_ns);
	bump(&ws->count, 1);
}

void sk_proxy_stats_udp(struct sk_proxy_cstate *c, unsigned worker, enum sk_proxy_udp_stat what)
{
	bump(&c->wstats[worker].udp[what], 1);
}

/* A per-worker counter summed over the workers. */
#define WSUM(p, o, field)                                                                          \
	({                                                                                         \
		uint64_t _w = 0;                                                                   \
		for (unsigned _i = 0; _i < (p)->threads; _i++)                                     \
			_w += sk_proxy_ctr_get(&(o)->wstats[_i].field);                            \
		_w;                                                                                \
	})

/* Writes a label value with \, " and newline escaped. */
static void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void svc_labels(FILE *f, const struct sk_proxy_cstate *c)
{
	fputs("app=\"", f);
	label(f, c->app);
	fputs("\",service=\"", f);
	label(f, c->service);
	fputc('"', f);
}

static bool same_service(const struct sk_proxy_cstate *a, const struct sk_proxy_cstate *b)
{
	return strcmp(a->app, b->app) == 0 && strcmp(a->service, b->service) == 0;
}

/* First cstate of each (app, service) group, so groups are rendered once. */
static bool group_first(struct sk_proxy *p, const struct sk_proxy_cstate *c)
{
	for (const struct sk_proxy_cstate *o = p->cstates; o != c; o = o->next)
		if (same_service(o, c))
			return false;
	return true;
}

#define SUM(p, c, expr)                                                                            \
	({                                                                                         \
		uint64_t _s = 0;                                                                   \
		for (struct sk_proxy_cstate *_o = (c); _o; _o = _o->next)                          \
			if (same_service(_o, (c))) {                                               \
				struct sk_proxy_cstate *o = _o;                                    \
				_s += (expr);                                                      \
			}                                                                          \
		_s;                                                                                \
	})

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void simple_counter(FILE *f, struct sk_proxy *p, const char *name, const char *help,
			   size_t off)
{
	header(f, name, "counter", help);
	for (struct sk_proxy_cstate *c = p->cstates; c; c = c->next) {
		if (!group_first(p, c))
			continue;
		fprintf(f, "%s{", name);
		svc_labels(f, c);
		fprintf(f, "} %llu\n",
			(unsigned long long)SUM(
			    p, c, sk_proxy_ctr_get((sk_proxy_ctr *)((char *)o + off))));
	}
}

static void requests(FILE *f, struct sk_proxy *p)
{
	header(f, "skiff_service_requests_total", "counter", "Requests answered, by status class.");
	for (struct sk_proxy_cstate *c = p->cstates; c; c = c->next) {
		if (!group_first(p, c))
			continue;
		for (int m = 0; m < SK_PROXY_NMETHODS; m++)
			for (int k = 0; k < SK_PROXY_NCLASSES; k++) {
				uint64_t v = SUM(p, c, WSUM(p, o, requests[m][k]));

				if (!v)
					continue;
				fputs("skiff_service_requests_total{", f);
				svc_labels(f, c);
				fprintf(f, ",method=\"%s\",code=\"%s\"} %llu\n",
					sk_proxy_method_name(m), classes[k], (unsigned long long)v);
			}
	}
}

static void durations(FILE *f, struct sk_proxy *p)
{
	const char *n = "skiff_service_request_duration_seconds";

	header(f, n, "histogram", "Time from the request head to the response head or error.");
	for (struct sk_proxy_cstate *c = p->cstates; c; c = c->next) {
		uint64_t cum = 0;

		if (!group_first(p, c))
			continue;
		for (int b = 0; b < SK_PROXY_NBUCKETS; b++) {
			cum += SUM(p, c, WSUM(p, o, buckets[b]));
			fprintf(f, "%s_bucket{", n);
			svc_labels(f, c);
			fprintf(f, ",le=\"%s\"} %llu\n", bucket_le[b], (unsigned long long)cum);
		}
		fprintf(f, "%s_sum{", n);
		svc_labels(f, c);
		fprintf(f, "} %.9f\n", (double)SUM(p, c, WSUM(p, o, duration_ns)) / 1e9);
		fprintf(f, "%s_count{", n);
		svc_labels(f, c);
		fprintf(f, "} %llu\n", (unsigned long long)SUM(p, c, WSUM(p, o, count)));
	}
}

static void endpoints(FILE *f, struct sk_proxy *p)
{
	header(f, "skiff_endpoint_requests_total", "counter",
	       "Responses from each endpoint (replica), by status class.");
	for (struct sk_proxy_cstate *c = p->cstates; c; c = c->next)
		for (struct sk_proxy_estate *e = c->endpoints; e; e = e->next)
			for (int k = 0; k < SK_PROXY_NCLASSES; k++) {
				uint64_t v = sk_proxy_ctr_get(&e->requests[k]);

				if (!v)
					continue;
				fputs("skiff_endpoint_requests_total{", f);
				svc_labels(f, c);
				fputs(",replica=\"", f);
				label(f, e->id);
				fprintf(f, "\",code=\"%s\"} %llu\n", classes[k],
					(unsigned long long)v);
			}
}

static void gauges_and_faults(FILE *f, struct sk_proxy *p)
{
	header(f, "skiff_service_active_connections", "gauge",
	       "Client connections open on the service's listeners.");
	for (struct sk_proxy_cstate *c = p->cstates; c; c = c->next) {
		if (!group_first(p, c))
			continue;
		fputs("skiff_service_active_connections{", f);
		svc_labels(f, c);
		fprintf(f, "} %lld\n",
			(long long)SUM(p, c, (uint64_t)atomic_load(&o->active_conns)));
	}
	header(f, "skiff_service_faults_total", "counter", "Injected faults, by kind.");
	for (struct sk_proxy_cstate *c = p->cstates; c; c = c->next) {
		if (!group_first(p, c))
			continue;
		fputs("skiff_service_faults_total{", f);
		svc_labels(f, c);
		fprintf(f, ",kind=\"abort\"} %llu\n",
			(unsigned long long)SUM(p, c, sk_proxy_ctr_get(&o->fault_aborts)));
		fputs("skiff_service_faults_total{", f);
		svc_labels(f, c);
		fprintf(f, ",kind=\"delay\"} %llu\n",
			(unsigned long long)SUM(p, c, sk_proxy_ctr_get(&o->fault_delays)));
	}
}

/* A udp counter of every service with a udp cluster. */
static void udp_counter(FILE *f, struct sk_proxy *p, const char *name, const char *help,
			const char *extra, enum sk_proxy_udp_stat what, bool with_header)
{
	if (with_header)
		header(f, name, "counter", help);
	for (struct sk_proxy_cstate *c = p->cstates; c; c = c->next) {
		if (!group_first(p, c) || !SUM(p, c, (uint64_t)o->udp))
			continue;
		fprintf(f, "%s{", name);
		svc_labels(f, c);
		fprintf(f, "%s} %llu\n", extra,
			(unsigned long long)SUM(p, c, WSUM(p, o, udp[what])));
	}
}

static void udp_stats(FILE *f, struct sk_proxy *p)
{
	const char *dg = "skiff_service_udp_datagrams_total";
	bool any = false;

	for (struct sk_proxy_cstate *c = p->cstates; c; c = c->next)
		any |= c->udp;
	if (!any)
		return;
	udp_counter(f, p, dg, "UDP datagrams forwarded, by direction.",
		    ",direction=\"to_endpoint\"", SK_PROXY_UDP_TO_ENDPOINT, true);
	udp_counter(f, p, dg, NULL, ",direction=\"to_client\"", SK_PROXY_UDP_TO_CLIENT, false);
	udp_counter(f, p, "skiff_service_udp_dropped_total",
		    "UDP datagrams dropped: no endpoint, bulkhead full, send failed.", "",
		    SK_PROXY_UDP_DROPPED, true);
	udp_counter(f, p, "skiff_service_udp_flows_total", "UDP flows (client addresses) started.",
		    "", SK_PROXY_UDP_FLOWS, true);
}

int sk_proxy_metrics(struct sk_proxy *p, char **ret_text, struct sk_error **err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return sk_error_errno(err, "open_memstream");
	pthread_mutex_lock(&p->lock);
	requests(f, p);
	durations(f, p);
	endpoints(f, p);
	gauges_and_faults(f, p);
	simple_counter(f, p, "skiff_service_retries_total", "Retries sent.",
		       offsetof(struct sk_proxy_cstate, retries));
	simple_counter(f, p, "skiff_service_ejections_total", "Endpoints ejected as outliers.",
		       offsetof(struct sk_proxy_cstate, ejections));
	simple_counter(f, p, "skiff_service_fallbacks_total",
		       "Requests sent on to the fallback cluster.",
		       offsetof(struct sk_proxy_cstate, fallbacks));
	simple_counter(f, p, "skiff_service_rejected_total",
		       "Requests or connections refused by the bulkhead.",
		       offsetof(struct sk_proxy_cstate, rejected));
	udp_stats(f, p);
	pthread_mutex_unlock(&p->lock);
	if (fclose(f) != 0) {
		free(buf);
		return sk_error_errno(err, "render metrics");
	}
	*ret_text = buf;
	return 0;
}
