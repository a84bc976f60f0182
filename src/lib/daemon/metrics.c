/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c - the Prometheus text exposition of per-container metrics.
 *
 * Rendering reads every container's cgroup counters once, then writes the
 * families one after the other, each with its HELP and TYPE lines and one
 * sample per container.  Reads are of cgroupfs pseudo-files (memory, not
 * disk), so a scrape may run on the control loop.  The text is built in a
 * growable buffer with amortized doubling and handed back to the caller.
 */
#include "daemon/metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cgroup/cgroup.h"

struct out {
	char *p;
	size_t len, cap;
};

_printf_(2, 3) static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? o->cap - o->len : 0, fmt, ap);
	va_end(ap);
	assert(n >= 0);
	if (o->len + (size_t)n + 1 > o->cap) {
		while (o->len + (size_t)n + 1 > o->cap)
			o->cap = o->cap ? o->cap * 2 : 4096;
		o->p = sk_realloc(o->p, o->cap);
		va_start(ap, fmt);
		vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
	}
	o->len += (size_t)n;
}

/* A label value escaped per the exposition format: backslash, quote, newline. */
static void out_label_value(struct out *o, const char *v)
{
	for (const char *c = v ? v : ""; *c;) {
		size_t plain = strcspn(c, "\\\"\n");
		if (plain)
			out_printf(o, "%.*s", (int)plain, c);
		c += plain;
		if (*c)
			out_printf(o, "\\%c", *c == '\n' ? 'n' : *c);
		c += *c ? 1 : 0;
	}
}

/* ---- reading a container's cgroup ---- */

static int read_stats(const char *cgroups_path, const char *id, struct sk_cgroup_stats *ret,
		      struct sk_error **err)
{
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	_cleanup_free_ char *path = NULL;
	/* "slice:prefix:name" is the only form with a colon that is not absolute */
	bool systemd = cgroups_path && cgroups_path[0] != '/' && strchr(cgroups_path, ':');
	int r;

	if ((r = sk_cgroup_resolve_path(cgroups_path, id, systemd, &path, err)) < 0 ||
	    (r = sk_cgroup_open(path, NULL, &cg, err)) < 0 ||
	    (r = sk_cgroup_stats(cg, ret, err)) < 0)
		return r;
	return 0;
}

int sk_metrics_container_usage(const char *cgroups_path, double *ret_cpu_seconds,
			       uint64_t *ret_memory_working_set, struct sk_error **err)
{
	struct sk_cgroup_stats s;
	int r;

	if (!cgroups_path || !*cgroups_path)
		return sk_error_set(err, EINVAL, "container usage: no cgroup path");
	if ((r = read_stats(cgroups_path, NULL, &s, err)) < 0)
		return r;
	*ret_cpu_seconds = (double)s.cpu_usage_ns / 1e9;
	*ret_memory_working_set = s.memory_working_set;
	return 0;
}

/* ---- families ---- */

enum value {
	V_CPU,
	V_WORKING_SET,
	V_USAGE,
	V_RSS,
	V_OOM,
	V_LIMIT,
	V_PROCESSES,
};

static const struct cgroup_family {
	const char *name, *type, *help;
	enum value v;
} cgroup_families[] = {
	{ "container_cpu_usage_seconds_total", "counter",
	  "Cumulative cpu time consumed in seconds.", V_CPU },
	{ "container_memory_working_set_bytes", "gauge",
	  "Current working set in bytes (usage minus inactive file pages).", V_WORKING_SET },
	{ "container_memory_usage_bytes", "gauge",
	  "Current memory usage in bytes, including all memory regardless of when it was accessed.",
	  V_USAGE },
	{ "container_memory_rss", "gauge", "Size of RSS in bytes.", V_RSS },
	{ "container_oom_events_total", "counter",
	  "Count of out of memory events observed for the container.", V_OOM },
	{ "container_spec_memory_limit_bytes", "gauge", "Memory limit for the container (0: none).",
	  V_LIMIT },
	{ "container_processes", "gauge", "Number of processes running inside the container.",
	  V_PROCESSES },
};

static const char *const health_values[] = { "healthy", "unhealthy", "starting", "none" };
static const char *const state_values[] = { "none",	"created", "running",
					    "stopping", "exited",  "backoff" };

struct row {
	const struct sk_metrics_container *c;
	bool has_stats;
	struct sk_cgroup_stats s;
};

static void header(struct out *o, const char *name, const char *type, const char *help)
{
	out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `name{app="..",service="..",replica="N",name=".."` without the closing brace. */
static void sample_start(struct out *o, const char *family, const struct sk_metrics_container *c)
{
	out_printf(o, "%s{app=\"", family);
	out_label_value(o, c->app);
	out_printf(o, "\",service=\"");
	out_label_value(o, c->service);
	out_printf(o, "\",replica=\"%" PRId64 "\",name=\"", c->replica);
	out_label_value(o, c->name);
	out_printf(o, "\"");
}

static void cgroup_sample(struct out *o, const struct cgroup_family *f, const struct row *r)
{
	const struct sk_cgroup_stats *s = &r->s;
	uint64_t v = 0;

	sample_start(o, f->name, r->c);
	switch (f->v) {
	case V_CPU:
		out_printf(o, "} %" PRIu64 ".%09" PRIu64 "\n", s->cpu_usage_ns / 1000000000u,
			   s->cpu_usage_ns % 1000000000u);
		return;
	case V_WORKING_SET:
		v = s->memory_working_set;
		break;
	case V_USAGE:
		v = s->memory_usage;
		break;
	case V_RSS:
		v = s->memory_rss;
		break;
	case V_OOM:
		v = s->oom_kills;
		break;
	case V_LIMIT:
		v = s->memory_limit == UINT64_MAX ? 0 : s->memory_limit;
		break;
	case V_PROCESSES:
		v = s->pids_current;
		break;
	}
	out_printf(o, "} %" PRIu64 "\n", v);
}

static void render_cgroup_families(struct out *o, const struct row *rows, size_t n)
{
	for (size_t f = 0; f < SK_ELEMENTSOF(cgroup_families); f++) {
		bool any = false;
		for (size_t i = 0; i < n; i++) {
			if (!rows[i].has_stats)
				continue;
			if (!any)
				header(o, cgroup_families[f].name, cgroup_families[f].type,
				       cgroup_families[f].help);
			any = true;
			cgroup_sample(o, &cgroup_families[f], &rows[i]);
		}
	}
}

static void render_start_times(struct out *o, const struct sk_metrics_container *c, size_t n)
{
	static const char name[] = "container_start_time_seconds";
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (c[i].started_ns <= 0)
			continue;
		if (!any)
			header(o, name, "gauge",
			       "Start time of the container since unix epoch in seconds.");
		any = true;
		sample_start(o, name, &c[i]);
		out_printf(o, "} %" PRId64 ".%09" PRId64 "\n", c[i].started_ns / 1000000000,
			   c[i].started_ns % 1000000000);
	}
}

/* One sample per known value (1 for the current one, 0 else), plus the current if unknown. */
static void render_enum(struct out *o, const char *family, const char *label,
			const char *const *values, size_t n_values,
			const struct sk_metrics_container *c, const char *current)
{
	bool known = false;

	if (!current)
		current = "none";
	for (size_t v = 0; v < n_values; v++) {
		bool is = strcmp(values[v], current) == 0;
		known = known || is;
		sample_start(o, family, c);
		out_printf(o, ",%s=\"%s\"} %d\n", label, values[v], is ? 1 : 0);
	}
	if (!known) {
		sample_start(o, family, c);
		out_printf(o, ",%s=\"", label);
		out_label_value(o, current);
		out_printf(o, "\"} 1\n");
	}
}

static void render_skiff_families(struct out *o, const struct sk_metrics_container *c, size_t n)
{
	static const char restarts[] = "skiff_container_restarts_total";
	static const char health[] = "skiff_container_health_status";
	static const char state[] = "skiff_container_state";

	header(o, restarts, "counter", "Times skiff restarted the container.");
	for (size_t i = 0; i < n; i++) {
		sample_start(o, restarts, &c[i]);
		out_printf(o, "} %" PRId64 "\n", c[i].restarts);
	}
	header(o, health, "gauge", "The container's health check status (1: current).");
	for (size_t i = 0; i < n; i++)
		render_enum(o, health, "status", health_values, SK_ELEMENTSOF(health_values), &c[i],
			    c[i].health);
	header(o, state, "gauge", "The container's state (1: current).");
	for (size_t i = 0; i < n; i++)
		render_enum(o, state, "state", state_values, SK_ELEMENTSOF(state_values), &c[i],
			    c[i].state);
}

int sk_metrics_render(const struct sk_metrics_container *c, size_t n, char **buf, size_t *len,
		      struct sk_error **err)
{
	_cleanup_free_ struct row *rows = n ? sk_new0(struct row, n) : NULL;
	struct out o = { .p = *buf, .len = *buf ? *len : 0, .cap = *buf ? *len : 0 };

	assert(c || n == 0);
	for (size_t i = 0; i < n; i++) {
		_cleanup_error_ struct sk_error *serr = NULL;
		rows[i].c = &c[i];
		/* a missing cgroup (not started, exited) is normal: no cgroup metrics */
		rows[i].has_stats =
		    read_stats(c[i].cgroups_path, c[i].name, &rows[i].s, &serr) == 0;
	}
	if (n > 0) {
		render_cgroup_families(&o, rows, n);
		render_start_times(&o, c, n);
		render_skiff_families(&o, c, n);
	}
	if (!o.p)
		o.p = sk_malloc0(1);
	*buf = o.p;
	*len = o.len;
	return 0;
}
