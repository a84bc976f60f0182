/* SPDX-License-Identifier: Apache-2.0 */
/*
 * health.c - each running replica's health checks, on their own timers.
 *
 * The check is the service's x-skiff probe (http or tcp, run against the
 * replica from outside) when it has one, else its Compose healthcheck (or
 * the image's HEALTHCHECK) run inside the container.  Status follows
 * Docker: "starting" until the first success; failures during start_period
 * do not count, and checks run every start_interval then; `retries`
 * consecutive failures make it "unhealthy", one success "healthy".  An
 * unhealthy replica is restarted unless x-skiff.restart_unhealthy is false.
 * Probes run in forked children (probe.h), never on the loop.
 */
#include <signal.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon-internal.h"
#include "daemon/probe.h"

struct check {
	struct sk_probe_spec spec;
	int64_t interval, start_interval, start_period;
	int retries;
};

/* Fills *c with the replica's check; false when it has none. */
static bool check_get(struct sk_dreplica *r, struct check *c, char ***ret_argv)
{
	struct sk_dservice *s = r->svc;
	const struct sk_app_probe *p = &s->def->x_skiff.probe;
	struct sk_daemon *d = s->app->d;

	memset(c, 0, sizeof(*c));
	*ret_argv = NULL;
	if (p->kind != SK_APP_PROBE_NONE) {
		c->spec.kind = p->kind == SK_APP_PROBE_HTTP ? SK_PROBE_HTTP : SK_PROBE_TCP;
		c->spec.port = p->port;
		c->spec.path = p->path ? p->path : "/";
		c->spec.status_min = p->status_min;
		c->spec.status_max = p->status_max;
		c->spec.timeout_ns = p->timeout_ns;
		/* host network: the daemon's namespace; else the replica's own */
		c->spec.netns_pid = s->def->network_mode == SK_APP_NET_HOST ? 0 : r->obs.pid;
		c->interval = p->interval_ns;
		c->start_interval = p->interval_ns;
		c->start_period = p->start_period_ns;
		c->retries = p->retries;
		return true;
	}
	if (!s->hc_loaded || (s->hc.kind != SK_APP_HC_CMD && s->hc.kind != SK_APP_HC_SHELL))
		return false;
	if (s->hc.kind == SK_APP_HC_SHELL) {
		char **argv = NULL;
		sk_strv_push(&argv, "/bin/sh");
		sk_strv_push(&argv, "-c");
		sk_strv_push(&argv, s->hc.test && s->hc.test[0] ? s->hc.test[0] : "");
		*ret_argv = argv;
		c->spec.argv = argv;
	} else {
		c->spec.argv = s->hc.test;
	}
	c->spec.kind = SK_PROBE_EXEC;
	c->spec.runtime_root = d->rt.root;
	c->spec.container_id = r->id;
	c->spec.timeout_ns = s->hc.timeout_ns;
	c->interval = s->hc.interval_ns;
	c->start_interval = s->hc.start_interval_ns;
	c->start_period = s->hc.start_period_ns;
	c->retries = s->hc.retries;
	return true;
}

static void health_set(struct sk_dreplica *r, enum sk_store_health h, const char *output)
{
	struct sk_dservice *s = r->svc;
	enum sk_store_health old = r->obs.health;

	r->obs.health = h;
	sk_routes_queue(s->app->d);
	sk_dreplica_save(r);
	if (old == h)
		return;
	sk_daemon_event(s->app->d, s->app->name, s->name, r->index, SK_STORE_EV_HEALTH,
			json_pack("{s:s, s:s}", "status", sk_store_health_name(h), "output",
				  output ? output : ""),
			"%s%s%s", sk_store_health_name(h), output && *output ? ": " : "",
			output ? output : "");
	sk_reconcile_queue(s->app->d); /* service_healthy dependents may start */
}

static void schedule(struct sk_dreplica *r, const struct check *c);

static void probe_done_cb(enum sk_probe_result res, const char *output, void *userdata)
{
	struct sk_dreplica *r = userdata;
	struct sk_dservice *s = r->svc;
	_cleanup_strv_ char **argv = NULL;
	struct check c;
	bool in_start;

	r->probe = NULL;
	if (r->phase != P_RUNNING || !check_get(r, &c, &argv))
		return;
	in_start = (int64_t)sk_now_ns() - r->health_started_ns < c.start_period;
	if (r->health_early && res != SK_PROBE_OK) {
		/* checked early so dependents need not wait a whole interval; as Docker, the
		 * first check that counts comes after the interval */
		r->health_early = false;
		schedule(r, &c);
		return;
	}
	r->health_early = false;
	if (res == SK_PROBE_OK) {
		r->obs.health_failures = 0;
		health_set(r, SK_STORE_HEALTH_HEALTHY, NULL);
	} else if (!in_start || r->obs.health == SK_STORE_HEALTH_HEALTHY) {
		r->obs.health_failures++;
		sk_debug("%s: health check %s: %s", r->id, sk_probe_result_name(res), output);
		if (r->obs.health_failures >= c.retries) {
			health_set(r, SK_STORE_HEALTH_UNHEALTHY, output);
			if (s->def->x_skiff.restart_unhealthy &&
			    r->desired == SK_STORE_DESIRED_RUNNING) {
				sk_info("%s: unhealthy, restarting it", r->id);
				r->restart_now = true;
				sk_replica_stop(r);
				return;
			}
		} else {
			sk_dreplica_save(r);
		}
	}
	schedule(r, &c);
}

static void health_timer_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct sk_dreplica *r = userdata;
	struct sk_daemon *d = r->svc->app->d;
	_cleanup_strv_ char **argv = NULL;
	struct sk_error *err = NULL;
	struct check c;

	if (r->phase != P_RUNNING || r->probe || !check_get(r, &c, &argv))
		return;
	if (sk_probe_start(d->loop, &c.spec, probe_done_cb, r, &r->probe, &err) < 0) {
		sk_warn("%s: health check: %s", r->id, err->msg);
		sk_error_free(err);
		schedule(r, &c);
	}
}

static void schedule(struct sk_dreplica *r, const struct check *c)
{
	bool in_start = (int64_t)sk_now_ns() - r->health_started_ns < c->start_period;
	int64_t next =
	    in_start && r->obs.health != SK_STORE_HEALTH_HEALTHY ? c->start_interval : c->interval;

	if (next <= 0)
		next = 1000000000LL;
	if (!r->health_timer)
		r->health_timer =
		    sk_loop_timer_add(r->svc->app->d->loop, (uint64_t)next, 0, health_timer_cb, r);
	else
		sk_loop_timer_set(r->health_timer, (uint64_t)next, 0);
}

void sk_health_start(struct sk_dreplica *r)
{
	_cleanup_strv_ char **argv = NULL;
	struct check c;

	if (!check_get(r, &c, &argv))
		return;
	r->health_started_ns = (int64_t)sk_now_ns();
	r->health_early = true;
	r->obs.health = SK_STORE_HEALTH_STARTING;
	r->obs.health_failures = 0;
	sk_dreplica_save(r);
	/* the first check soon, so service_healthy dependents do not wait a whole interval */
	if (!r->health_timer)
		r->health_timer = sk_loop_timer_add(r->svc->app->d->loop, 100 * 1000000ULL, 0,
						    health_timer_cb, r);
	else
		sk_loop_timer_set(r->health_timer, 100 * 1000000ULL, 0);
}

void sk_health_stop(struct sk_dreplica *r)
{
	if (r->probe) {
		sk_probe_cancel(r->probe);
		r->probe = NULL;
	}
	if (r->health_timer) {
		sk_loop_timer_remove(r->health_timer);
		r->health_timer = NULL;
	}
}
