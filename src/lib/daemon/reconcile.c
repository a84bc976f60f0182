/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reconcile.c - the replica state machine: compares what each replica
 * should be (desired state, config hash, dependencies, restart policy) with
 * what it is, and takes the next step.
 *
 * One pass runs deferred on the loop after anything changes (an API call,
 * a helper finishing, an exit, a timer).  Starting honours depends_on
 * conditions; stopping goes in reverse (a service stops once nothing that
 * depends on it still runs).  Restarts back off 0, 100 ms, 200 ms, ...
 * capped at 10 s, and the backoff resets after 10 s of running.
 *
 * Not here: creating or removing containers (launch.c), probes (health.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon-internal.h"

#define BACKOFF_FIRST_NS (100 * 1000000LL)
#define BACKOFF_MAX_NS (10 * 1000000000LL)
#define BACKOFF_RESET_NS (10 * 1000000000LL)

static void reconcile_cb(struct sk_loop *loop, void *userdata);

#define DRAIN_NS (300 * 1000000LL) /* out of the routes before the stop signal (default) */

void sk_reconcile_queue(struct sk_daemon *d)
{
	if (d->reconcile_queued)
		return;
	d->reconcile_queued = true;
	d->reconcile_defer = sk_loop_defer(d->loop, reconcile_cb, d);
}

/* A container exists or is being made or removed. */
bool sk_replica_live(const struct sk_dreplica *r)
{
	return r->phase == P_LAUNCH || r->phase == P_RUNNING || r->phase == P_STOPPING ||
	       r->phase == P_CLEANUP;
}

static bool replica_wanted(const struct sk_dreplica *r)
{
	return !r->remove && !r->svc->removed && !r->svc->app->deleting &&
	       !r->svc->app->d->shutting_down && r->desired == SK_STORE_DESIRED_RUNNING;
}

static void observe(struct sk_dreplica *r, enum sk_store_observed state)
{
	r->obs.state = state;
	sk_dreplica_save(r);
}

/* ---- dependencies ---- */

static bool dep_satisfied(struct sk_dapp *a, const struct sk_app_dep *dep)
{
	struct sk_dservice *s = sk_dservice_find(a, dep->service);
	size_t ok = 0, n = 0;

	if (!s || s->removed)
		return !dep->required;
	for (size_t i = 0; i < s->n_r; i++) {
		struct sk_dreplica *r = s->r[i];
		if (r->remove)
			continue;
		n++;
		switch (dep->condition) {
		case SK_APP_DEP_STARTED:
			ok += r->phase == P_RUNNING;
			break;
		case SK_APP_DEP_HEALTHY:
			ok += r->phase == P_RUNNING &&
			      (r->obs.health == SK_STORE_HEALTH_HEALTHY ||
			       (s->hc_loaded && s->hc.kind == SK_APP_HC_NONE &&
				s->def->x_skiff.probe.kind == SK_APP_PROBE_NONE));
			break;
		case SK_APP_DEP_COMPLETED:
			ok += r->phase == P_WAIT && r->obs.has_exit && r->obs.exit_code == 0;
			break;
		}
	}
	return ok == n;
}

static bool deps_satisfied(struct sk_dservice *s)
{
	for (size_t i = 0; i < s->def->n_depends_on; i++)
		if (!dep_satisfied(s->app, &s->def->depends_on[i]))
			return false;
	return true;
}

/* While stopping: a service waits until no live replica of a service depending on it remains. */
static bool dependents_down(struct sk_dservice *s)
{
	struct sk_dapp *a = s->app;

	for (size_t i = 0; i < a->n_s; i++) {
		struct sk_dservice *o = a->s[i];
		bool depends = false;
		if (o == s)
			continue;
		for (size_t k = 0; k < o->def->n_depends_on; k++)
			depends |= !strcmp(o->def->depends_on[k].service, s->name);
		if (!depends)
			continue;
		for (size_t j = 0; j < o->n_r; j++)
			if (sk_replica_live(o->r[j]) && !replica_wanted(o->r[j]))
				return false;
	}
	return true;
}

/* ---- stopping ---- */

static void grace_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct sk_dreplica *r = userdata;
	struct sk_error *err = NULL;

	if (r->phase != P_STOPPING)
		return;
	sk_info("%s: still running after the grace period, killing it", r->id);
	if (sk_container_kill(&r->svc->app->d->rt, r->id, SIGKILL, true, &err) < 0) {
		sk_warn("%s: %s", r->id, err->msg);
		sk_error_free(err);
	}
}

static void timer_arm(struct sk_dreplica *r, int64_t ns, sk_loop_timer_cb cb)
{
	if (r->timer)
		sk_loop_timer_remove(r->timer);
	r->timer = sk_loop_timer_add(r->svc->app->d->loop, (uint64_t)ns, 0, cb, r);
}

static void timer_clear(struct sk_dreplica *r)
{
	if (r->timer) {
		sk_loop_timer_remove(r->timer);
		r->timer = NULL;
	}
}

static void drain_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct sk_dreplica *r = userdata;

	sk_loop_timer_remove(r->drain_timer);
	r->drain_timer = NULL;
	/* wanted again meanwhile (scaled back up): back into the routes, no stop */
	if (replica_wanted(r) && !r->recreate && !r->restart_now &&
	    !strcmp(r->config_hash, r->svc->hash)) {
		r->draining = false;
		sk_routes_queue(r->svc->app->d);
		return;
	}
	sk_replica_stop_now(r);
}

/*
 * Stops a replica: one that takes traffic first leaves the proxy's and the
 * DNS tables and gets x-skiff.proxy.drain (DRAIN_NS) for requests in flight (unless the whole app
 * or skiffd is going down); then the stop signal, and SIGKILL after
 * stop_grace_period.
 */
void sk_replica_stop(struct sk_dreplica *r)
{
	const struct sk_app_service *def = r->svc->def;
	struct sk_daemon *d = r->svc->app->d;

	if (r->phase != P_RUNNING || r->draining)
		return;
	if (sk_routes_ready(r) && (def->n_ports || def->expose) && !r->svc->app->deleting &&
	    !d->shutting_down) {
		r->draining = true;
		sk_routes_queue(d);
		if (r->drain_timer)
			sk_loop_timer_remove(r->drain_timer);
		int64_t drain =
		    def->x_skiff.proxy.drain_ns ? def->x_skiff.proxy.drain_ns : DRAIN_NS;
		r->drain_timer = sk_loop_timer_add(d->loop, (uint64_t)drain, 0, drain_cb, r);
		return;
	}
	sk_replica_stop_now(r);
}

void sk_replica_stop_now(struct sk_dreplica *r)
{
	struct sk_dservice *s = r->svc;
	struct sk_error *err = NULL;
	int sig = s->stop_signal ? s->stop_signal : SIGTERM;
	int64_t grace = s->def->stop_grace_period_ns;

	if (r->phase != P_RUNNING)
		return;
	r->draining = true;
	sk_health_stop(r);
	r->phase = P_STOPPING;
	r->stop_sent_ns = sk_now_ns();
	observe(r, SK_STORE_OBS_STOPPING);
	sk_daemon_event(s->app->d, s->app->name, s->name, r->index, SK_STORE_EV_STOP, NULL,
			"stopping with signal %d", sig);
	if (sk_container_kill(&s->app->d->rt, r->id, sig, false, &err) < 0) {
		/* gone already: the keeper will report the exit */
		sk_debug("%s: %s", r->id, err->msg);
		sk_error_free(err);
	}
	timer_arm(r, grace > 0 ? grace : 0, grace_cb);
}

/* ---- exits and restarts ---- */

static bool policy_restarts(struct sk_dreplica *r)
{
	const struct sk_app_service *def = r->svc->def;
	bool failed = r->obs.exit_code != 0;

	if (def->restart_policy.set) {
		const struct sk_app_restart_policy *p = &def->restart_policy;
		if (p->max_attempts > 0 && r->obs.attempts >= p->max_attempts)
			return false;
		return p->condition == SK_APP_RP_ANY ||
		       (p->condition == SK_APP_RP_ON_FAILURE && failed);
	}
	switch (def->restart) {
	case SK_APP_RESTART_ALWAYS:
	case SK_APP_RESTART_UNLESS_STOPPED:
		return true;
	case SK_APP_RESTART_ON_FAILURE:
		return failed && (def->restart_max_retries == 0 ||
				  r->obs.attempts < def->restart_max_retries);
	default:
		return false;
	}
}

static void backoff_done_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct sk_dreplica *r = userdata;

	if (r->phase == P_WAIT)
		r->phase = P_IDLE;
	sk_reconcile_queue(r->svc->app->d);
}

/* Called by launch.c once an exited container is removed. */
static void replica_down(struct sk_dreplica *r)
{
	struct sk_dservice *s = r->svc;
	struct sk_daemon *d = s->app->d;
	int64_t delay;

	r->obs.pid = 0;
	r->obs.pid_start_time = 0;
	r->phase = P_WAIT;
	timer_clear(r);
	if (!replica_wanted(r)) {
		/* stopped by a daemon shutdown: started again when skiffd comes back */
		bool back = d->shutting_down && !r->remove && !s->removed && !s->app->deleting &&
			    r->desired == SK_STORE_DESIRED_RUNNING;
		observe(r, back || !r->obs.has_exit ? SK_STORE_OBS_NONE : SK_STORE_OBS_EXITED);
		return;
	}
	if (r->recreate || r->restart_now) {
		if (r->restart_now) {
			r->obs.restarts++;
			sk_daemon_event(d, s->app->name, s->name, r->index, SK_STORE_EV_RESTART,
					json_pack("{s:I}", "backoff_ms", (json_int_t)0),
					"restarting");
		}
		r->recreate = r->restart_now = false;
		r->phase = P_IDLE;
		observe(r, SK_STORE_OBS_NONE);
		return;
	}
	if (!policy_restarts(r)) {
		observe(r, SK_STORE_OBS_EXITED);
		return;
	}
	delay = r->backoff_ns;
	r->backoff_ns = delay == 0 ? BACKOFF_FIRST_NS : delay * 2;
	if (r->backoff_ns > BACKOFF_MAX_NS)
		r->backoff_ns = BACKOFF_MAX_NS;
	r->obs.attempts++;
	r->obs.restarts++;
	sk_daemon_event(d, s->app->name, s->name, r->index, SK_STORE_EV_RESTART,
			json_pack("{s:I, s:I}", "attempt", (json_int_t)r->obs.attempts,
				  "backoff_ms", (json_int_t)(delay / 1000000)),
			"restarting in %" PRId64 " ms (attempt %" PRId64 ")", delay / 1000000,
			r->obs.attempts);
	if (delay == 0) {
		r->phase = P_IDLE;
		observe(r, SK_STORE_OBS_BACKOFF);
		return;
	}
	observe(r, SK_STORE_OBS_BACKOFF);
	timer_arm(r, delay, backoff_done_cb);
}

void sk_reconcile_cleaned(struct sk_dreplica *r)
{
	replica_down(r);
	sk_reconcile_queue(r->svc->app->d);
}

static void running_long_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct sk_dreplica *r = userdata;

	/* 10 s of running: a later crash restarts at once again */
	r->backoff_ns = 0;
	if (r->obs.attempts) {
		r->obs.attempts = 0;
		sk_dreplica_save(r);
	}
}

/* An adopted running replica: its attempt count resets after 10 s of running, as a started one. */
void sk_reconcile_adopted(struct sk_dreplica *r)
{
	int64_t ran = r->obs.started_ns ? sk_wall_ns() - r->obs.started_ns : 0;

	timer_arm(r, ran >= BACKOFF_RESET_NS ? 0 : BACKOFF_RESET_NS - (ran > 0 ? ran : 0),
		  running_long_cb);
}

/* Called by launch.c when the container runs. */
void sk_reconcile_started(struct sk_dreplica *r)
{
	r->phase = P_RUNNING;
	r->draining = false;
	r->obs.started_ns = sk_wall_ns();
	r->obs.has_exit = false;
	r->obs.health = SK_STORE_HEALTH_NONE;
	r->obs.health_failures = 0;
	observe(r, SK_STORE_OBS_RUNNING);
	timer_arm(r, BACKOFF_RESET_NS, running_long_cb);
	sk_health_start(r);
	sk_reconcile_queue(r->svc->app->d);
}

/* An exit the keeper reported (or found missing after a daemon restart). */
void sk_reconcile_replica_exited(struct sk_dreplica *r, int exit_code, int64_t time_ns)
{
	struct sk_dservice *s = r->svc;
	struct sk_daemon *d = s->app->d;
	bool stopping = r->phase == P_STOPPING;
	struct sk_error *err = NULL;

	sk_health_stop(r);
	timer_clear(r);
	r->obs.has_exit = true;
	r->obs.exit_code = exit_code;
	r->obs.exit_ns = time_ns;
	r->obs.state = SK_STORE_OBS_EXITED;
	sk_dreplica_save(r);
	sk_daemon_event(d, s->app->name, s->name, r->index, SK_STORE_EV_EXIT,
			json_pack("{s:i, s:b}", "exit_code", exit_code, "stopped", stopping),
			"exited with code %d%s", exit_code, stopping ? " after stop" : "");
	r->phase = P_CLEANUP;
	if (sk_launch_cleanup(r, &err) < 0) {
		sk_log_error("%s: cleanup: %s", r->id, err->msg);
		sk_error_free(err);
		replica_down(r);
	}
}

void sk_reconcile_exit(struct sk_daemon *d, pid_t pid, int exit_code, int64_t time_ns)
{
	for (size_t i = 0; i < d->n_apps; i++)
		for (size_t j = 0; j < d->apps[i]->n_s; j++) {
			struct sk_dservice *s = d->apps[i]->s[j];
			for (size_t k = 0; k < s->n_r; k++) {
				struct sk_dreplica *r = s->r[k];
				if (r->obs.pid != pid ||
				    (r->phase != P_RUNNING && r->phase != P_STOPPING))
					continue;
				sk_reconcile_replica_exited(r, exit_code, time_ns);
				sk_daemon_keeper_ack(d, pid);
				sk_reconcile_queue(d);
				return;
			}
		}
	/* not known (yet): a container whose helper has not reported its pid */
	d->orphan_exits =
	    sk_realloc(d->orphan_exits, (d->n_orphan_exits + 1) * sizeof(*d->orphan_exits));
	d->orphan_exits[d->n_orphan_exits].pid = pid;
	d->orphan_exits[d->n_orphan_exits].code = exit_code;
	d->orphan_exits[d->n_orphan_exits].time_ns = time_ns;
	d->n_orphan_exits++;
	if (d->n_orphan_exits > 4096) { /* bounded: forget the oldest */
		sk_daemon_keeper_ack(d, d->orphan_exits[0].pid);
		memmove(d->orphan_exits, d->orphan_exits + 1,
			--d->n_orphan_exits * sizeof(*d->orphan_exits));
	}
}

/* Takes a keeper exit recorded for `pid` before its replica knew it; true if there was one. */
bool sk_reconcile_take_orphan_exit(struct sk_daemon *d, pid_t pid, int *ret_code,
				   int64_t *ret_time_ns)
{
	for (size_t i = 0; i < d->n_orphan_exits; i++)
		if (d->orphan_exits[i].pid == pid) {
			*ret_code = d->orphan_exits[i].code;
			*ret_time_ns = d->orphan_exits[i].time_ns;
			memmove(d->orphan_exits + i, d->orphan_exits + i + 1,
				(d->n_orphan_exits - i - 1) * sizeof(*d->orphan_exits));
			d->n_orphan_exits--;
			return true;
		}
	return false;
}

/* ---- the pass ---- */

static void replica_step(struct sk_daemon *d, struct sk_dreplica *r)
{
	struct sk_dservice *s = r->svc;
	struct sk_error *err = NULL;

	if (!replica_wanted(r)) {
		/* a whole app going down stops dependents first */
		bool ordered = r->svc->app->deleting || d->shutting_down;
		if (r->phase == P_RUNNING && (!ordered || dependents_down(s)))
			sk_replica_stop(r);
		if (r->phase == P_WAIT && sk_loop_timer_armed(r->timer)) {
			timer_clear(r); /* no restart after all */
			observe(r, SK_STORE_OBS_EXITED);
		}
		return;
	}
	if (r->phase == P_RUNNING && !r->draining && strcmp(r->config_hash, s->hash)) {
		r->recreate = true;
		sk_daemon_event(d, s->app->name, s->name, r->index, SK_STORE_EV_UPDATE, NULL,
				"recreating with the new configuration");
		sk_replica_stop(r);
		return;
	}
	if (r->phase != P_IDLE)
		return;
	if (d->helpers_running >= (d->cfg.max_helpers ? d->cfg.max_helpers : 16))
		return;
	if (!deps_satisfied(s))
		return;
	if (sk_dservice_load_image(s, &err) < 0 || sk_launch_create(r, &err) < 0) {
		sk_log_error("%s: %s", r->id, err->msg);
		sk_daemon_event(d, s->app->name, s->name, r->index, SK_STORE_EV_ERROR, NULL, "%s",
				err->msg);
		sk_error_free(err);
		r->phase = P_WAIT;
		r->obs.has_exit = true;
		r->obs.exit_code = 127;
		r->obs.exit_ns = sk_now_ns();
		replica_down(r);
	}
}

/* Deletes replicas marked for removal once they are down; true if `s` is now empty and removed. */
static bool service_prune(struct sk_daemon *d, struct sk_dservice *s)
{
	struct sk_error *err = NULL;

	for (size_t i = 0; i < s->n_r;) {
		struct sk_dreplica *r = s->r[i];
		bool gone = r->remove || s->removed || s->app->deleting;
		if (!gone || sk_replica_live(r)) {
			i++;
			continue;
		}
		if (!s->app->deleting &&
		    sk_store_replica_delete(d->store, s->app->name, s->name, r->index, &err) < 0) {
			sk_warn("%s: %s", r->id, err->msg);
			sk_error_free(err);
			err = NULL;
		}
		sk_dnet_replica_release(r);
		sk_dreplica_free(r);
		memmove(s->r + i, s->r + i + 1, (s->n_r - i - 1) * sizeof(*s->r));
		s->n_r--;
	}
	return s->removed && s->n_r == 0;
}

static void app_prune(struct sk_daemon *d, struct sk_dapp *a)
{
	struct sk_error *err = NULL;

	for (size_t i = 0; i < a->n_s;) {
		struct sk_dservice *s = a->s[i];
		if (!service_prune(d, s) || a->deleting) {
			i++;
			continue;
		}
		if (s->has_vip)
			(void)sk_dnet_service_vip(s, false, NULL);
		if (sk_store_fault_put(d->store, a->name, s->name, NULL, &err) < 0)
			sk_error_free(TAKE_PTR(err));
		if (sk_store_service_delete(d->store, a->name, s->name, &err) < 0) {
			sk_warn("service '%s': %s", s->name, err->msg);
			sk_error_free(err);
			err = NULL;
		}
		sk_dservice_free(s);
		memmove(a->s + i, a->s + i + 1, (a->n_s - i - 1) * sizeof(*a->s));
		a->n_s--;
	}
}

/* Internal services get their virtual address (once the app has running replicas). */
static void app_vips(struct sk_dapp *a)
{
	struct sk_error *err = NULL;

	for (size_t i = 0; i < a->n_s; i++) {
		struct sk_dservice *s = a->s[i];
		bool want = !a->deleting && !s->removed && sk_dnet_wanted(s->def) &&
			    s->def->x_skiff.proxy.internal && a->net && a->net->up;
		if (want == s->has_vip)
			continue;
		if (sk_dnet_service_vip(s, want, &err) < 0) {
			_cleanup_free_ char *m =
			    sk_asprintf("service '%s': virtual address: %s", s->name, err->msg);
			sk_dnet_note(a, s->name, m);
			sk_error_free(TAKE_PTR(err));
		}
	}
}

static void reconcile_cb(struct sk_loop *loop, void *userdata)
{
	struct sk_daemon *d = userdata;

	d->reconcile_queued = false;
	d->reconcile_defer = NULL;
	for (size_t i = 0; i < d->n_apps; i++) {
		struct sk_dapp *a = d->apps[i];
		_cleanup_free_ size_t *order = a->model ? sk_app_start_order(a->model) : NULL;
		/* services of the model in dependency order, then removed ones */
		for (size_t k = 0; order && k < a->model->n_services; k++) {
			struct sk_dservice *s =
			    sk_dservice_find(a, a->model->services[order[k]].name);
			for (size_t j = 0; s && j < s->n_r; j++)
				replica_step(d, s->r[j]);
		}
		for (size_t k = 0; k < a->n_s; k++)
			if (a->s[k]->removed)
				for (size_t j = 0; j < a->s[k]->n_r; j++)
					replica_step(d, a->s[k]->r[j]);
		app_prune(d, a);
		app_vips(a);
		sk_dnet_app_sync(a);
	}
	sk_routes_queue(d);
	sk_reconcile_check_waiters(d);
	if (d->shutting_down && sk_daemon_all_down(d)) {
		sk_info("every container stopped");
		sk_loop_stop(d->loop);
	}
}
