/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - per-container metrics in the Prometheus text exposition
 * format (version 0.0.4), for skiffd's GET /metrics.
 *
 * Families use cAdvisor's names, so dashboards and alerts written for
 * Kubernetes or cAdvisor work unchanged: container_cpu_usage_seconds_total,
 * container_memory_working_set_bytes, container_memory_usage_bytes,
 * container_memory_rss, container_oom_events_total,
 * container_spec_memory_limit_bytes (0: no limit, as cAdvisor),
 * container_processes, container_start_time_seconds.  skiff adds
 * skiff_container_restarts_total and, one sample per possible value with 1
 * for the current one (as kube-state-metrics does), skiff_container_health_status
 * {status=...} and skiff_container_state{state=...}.  Every sample carries
 * the labels app, service, replica and name (the container id).
 *
 * The values come from the kernel at render time (cgroup files through
 * sk_cgroup_stats(): v1, v2 and hybrid hosts); nothing is cached.  This is
 * not an HTTP handler: the caller serves the text.
 */
#ifndef SK_DAEMON_METRICS_H
#define SK_DAEMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* The Content-Type of what sk_metrics_render() produces. */
#define SK_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct sk_metrics_container {
	const char *app, *service, *name; /* name = container id */
	int64_t replica;
	/* as in the container's config.json linux.cgroupsPath; NULL: the
	 * runtime's default "/skiff/<name>"; "slice:prefix:name" is systemd's form */
	const char *cgroups_path;
	int64_t restarts;
	const char *health; /* "none"|"starting"|"healthy"|"unhealthy" */
	const char *state;  /* "none"|"created"|"running"|"stopping"|"exited"|"backoff" */
	int64_t started_ns; /* 0 when not running */
};

/*
 * Appends the exposition for these containers to *buf (realloc'd, kept
 * NUL-terminated; *buf may be NULL with *len 0) and updates *len.  HELP and
 * TYPE appear once per family, before its first sample; a family without
 * samples is left out.  A container whose cgroup is missing or unreadable
 * (not started yet, exited) gets no cgroup metrics but keeps its restarts,
 * health, state and start time.  Label values are escaped (\\, \", \n).
 * Returns 0; the error argument is for symmetry with the other renderers.
 */
int sk_metrics_render(const struct sk_metrics_container *c, size_t n, char **buf, size_t *len,
		      struct sk_error **err);

/*
 * The cpu and memory columns of `skiff ps`: total cpu time in seconds and
 * the working set (usage minus inactive file pages) in bytes of the cgroup
 * at `cgroups_path` (config.json's form, as above; required here).  Returns
 * 0, or a negative errno (-ENOENT: no such cgroup) with *err set; the
 * outputs are set only on success.
 */
int sk_metrics_container_usage(const char *cgroups_path, double *ret_cpu_seconds,
			       uint64_t *ret_memory_working_set, struct sk_error **err);

#endif
