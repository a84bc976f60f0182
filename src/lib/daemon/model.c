/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model.c - the daemon's live model of apps, services and replicas
 * (daemon-internal.h): built from a Compose model on `up`, or from the
 * store when skiffd starts, and kept in step with the store.
 *
 * Not here: deciding what to start or stop (reconcile.c) or doing it
 * (launch.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon-internal.h"
#include "daemon/specgen.h"
#include "image/image.h"

struct sk_dapp *sk_dapp_find(struct sk_daemon *d, const char *name)
{
	for (size_t i = 0; i < d->n_apps; i++)
		if (!strcmp(d->apps[i]->name, name))
			return d->apps[i];
	return NULL;
}

struct sk_dservice *sk_dservice_find(struct sk_dapp *a, const char *name)
{
	for (size_t i = 0; i < a->n_s; i++)
		if (!strcmp(a->s[i]->name, name))
			return a->s[i];
	return NULL;
}

struct sk_dreplica *sk_dreplica_new(struct sk_dservice *s, int64_t index)
{
	struct sk_dreplica *r = sk_malloc0(sizeof(*r));

	r->svc = s;
	r->index = index;
	r->id = sk_asprintf("%s-%s-%" PRId64, s->app->name, s->name, index);
	r->config_hash = sk_strdup(s->hash);
	r->desired = SK_STORE_DESIRED_RUNNING;
	r->phase = P_IDLE;
	r->report_fd = -1;
	r->log_path = sk_asprintf("%s/%s/%s.%" PRId64 ".log", s->app->d->logs_dir, s->app->name,
				  s->name, index);
	return r;
}

void sk_dreplica_free(struct sk_dreplica *r)
{
	if (!r)
		return;
	sk_health_stop(r);
	sk_launch_cancel(r);
	if (r->timer)
		sk_loop_timer_remove(r->timer);
	if (r->drain_timer)
		sk_loop_timer_remove(r->drain_timer);
	free(r->id);
	free(r->config_hash);
	free(r->log_path);
	free(r);
}

void sk_dservice_free(struct sk_dservice *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_r; i++)
		sk_dreplica_free(s->r[i]);
	free(s->r);
	free(s->name);
	free(s->hash);
	sk_strv_free(s->hc.test);
	free(s);
}

void sk_dapp_free(struct sk_dapp *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_s; i++)
		sk_dservice_free(a->s[i]);
	free(a->s);
	free(a->name);
	free(a->model_json);
	sk_app_free(a->model);
	sk_dnet_free(a->net);
	free(a);
}

void sk_dapp_remove(struct sk_daemon *d, struct sk_dapp *a)
{
	for (size_t i = 0; i < d->n_apps; i++)
		if (d->apps[i] == a) {
			memmove(d->apps + i, d->apps + i + 1,
				(d->n_apps - i - 1) * sizeof(*d->apps));
			d->n_apps--;
			break;
		}
	sk_dapp_free(a);
}

/* Writes the replica's row (desired, hash, observation). */
void sk_dreplica_save(struct sk_dreplica *r)
{
	struct sk_dservice *s = r->svc;
	struct sk_store_replica row = {
		.app = s->app->name,
		.service = s->name,
		.index = r->index,
		.container_id = r->id,
		.config_hash = r->config_hash,
		.desired = r->desired,
		.log_path = r->log_path,
		.obs = r->obs,
	};
	struct sk_error *err = NULL;

	if (sk_store_replica_upsert(s->app->d->store, &row, &err) < 0) {
		sk_log_error("store replica '%s': %s", r->id, err->msg);
		sk_error_free(err);
	}
}

static struct sk_dreplica *replica_add(struct sk_dservice *s, int64_t index)
{
	struct sk_dreplica *r = sk_dreplica_new(s, index);
	size_t i = s->n_r;

	s->r = sk_realloc(s->r, (s->n_r + 1) * sizeof(*s->r));
	while (i > 0 && s->r[i - 1]->index > index) {
		s->r[i] = s->r[i - 1];
		i--;
	}
	s->r[i] = r;
	s->n_r++;
	return r;
}

/*
 * Sets the desired count: missing indexes 1..n are added (and saved), those
 * above n are marked for removal (the reconciler stops and deletes them).
 */
void sk_dservice_set_replicas(struct sk_dservice *s, int64_t n)
{
	s->replicas = n;
	for (int64_t i = 1; i <= n; i++) {
		struct sk_dreplica *r = NULL;
		for (size_t j = 0; j < s->n_r && !r; j++)
			if (s->r[j]->index == i)
				r = s->r[j];
		if (!r) {
			r = replica_add(s, i);
			sk_dreplica_save(r);
		}
		r->remove = false;
	}
	for (size_t j = 0; j < s->n_r; j++)
		if (s->r[j]->index > n)
			s->r[j]->remove = true;
}

/* The image config gives the stop signal and an inherited healthcheck. */
int sk_dservice_load_image(struct sk_dservice *s, struct sk_error **err)
{
	_cleanup_(sk_image_store_freep) struct sk_image_store *st = NULL;
	_cleanup_(sk_image_config_freep) struct sk_image_config *img = NULL;
	int r;

	if (s->hc_loaded)
		return 0;
	r = sk_image_store_open(s->app->d->images_dir, false, &st, err);
	if (r < 0)
		return r;
	r = sk_image_config_load(st, s->def->image, &img, err);
	if (r < 0) {
		sk_error_prefix(err, "service '%s'", s->name);
		return r;
	}
	r = sk_specgen_stop_signal(s->def, img, &s->stop_signal, err);
	if (r < 0)
		return r;
	sk_strv_free(s->hc.test);
	r = sk_specgen_healthcheck(s->def, img, &s->hc, err);
	if (r < 0)
		return r;
	s->hc_loaded = true;
	return 0;
}

static struct sk_dservice *service_new(struct sk_dapp *a, const struct sk_app_service *def)
{
	struct sk_dservice *s = sk_malloc0(sizeof(*s));

	s->app = a;
	s->name = sk_strdup(def->name);
	s->ghost.name = s->name;
	s->def = def->image ? def : &s->ghost;
	s->hash = sk_app_service_hash(def);
	s->stop_signal = SIGTERM;
	a->s = sk_realloc(a->s, (a->n_s + 1) * sizeof(*a->s));
	a->s[a->n_s++] = s;
	return s;
}

static struct sk_dapp *app_new(struct sk_daemon *d, const char *name)
{
	struct sk_dapp *a = sk_malloc0(sizeof(*a));

	a->d = d;
	a->name = sk_strdup(name);
	d->apps = sk_realloc(d->apps, (d->n_apps + 1) * sizeof(*d->apps));
	d->apps[d->n_apps++] = a;
	return a;
}

/* Points every service at the new model; services gone from it are marked removed. */
static void app_rebind(struct sk_dapp *a, struct sk_app *model, json_t *changes)
{
	for (size_t i = 0; i < a->n_s; i++) {
		struct sk_dservice *s = a->s[i];
		const struct sk_app_service *def = sk_app_service_find(model, s->name);
		if (!def) {
			if (!s->removed && changes)
				json_object_set_new(changes, s->name, json_string("removed"));
			if (s->def != &s->ghost) {
				/* the old model is freed below: keep what stopping needs */
				s->ghost.stop_grace_period_ns = s->def->stop_grace_period_ns;
				s->ghost.network_mode = s->def->network_mode;
				s->def = &s->ghost;
			}
			s->removed = true;
			sk_dservice_set_replicas(s, 0);
			continue;
		}
		_cleanup_free_ char *hash = sk_app_service_hash(def);
		if (changes)
			json_object_set_new(changes, s->name,
					    json_string(s->removed		? "created"
							: strcmp(hash, s->hash) ? "updated"
										: "unchanged"));
		s->removed = false;
		s->def = def;
		free(s->hash);
		s->hash = TAKE_PTR(hash);
		s->hc_loaded = false;
	}
	for (size_t i = 0; i < model->n_services; i++)
		if (!sk_dservice_find(a, model->services[i].name)) {
			service_new(a, &model->services[i]);
			if (changes)
				json_object_set_new(changes, model->services[i].name,
						    json_string("created"));
		}
	sk_app_free(a->model);
	a->model = model;
}

int sk_dapp_apply(struct sk_daemon *d, struct sk_app *model, const char *model_json,
		  json_t **ret_changes, struct sk_error **err)
{
	_cleanup_free_ struct sk_store_service_spec *specs =
	    sk_malloc0((model->n_services + 1) * sizeof(*specs));
	_cleanup_strv_ char **hashes = sk_malloc0((model->n_services + 1) * sizeof(char *));
	struct sk_store_service *rows = NULL;
	size_t n_rows = 0;
	struct sk_dapp *a;
	json_t *changes;
	int64_t rev;
	bool changed;
	int r;

	for (size_t i = 0; i < model->n_services; i++) {
		hashes[i] = sk_app_service_hash(&model->services[i]);
		specs[i] = (struct sk_store_service_spec){ model->services[i].name, hashes[i],
							   model->services[i].replicas };
	}
	struct sk_store_app_spec spec = { model->name, model->dir, model_json, specs,
					  model->n_services };
	r = sk_store_app_put(d->store, &spec, &rev, &changed, err);
	if (r < 0)
		return r;
	r = sk_store_service_list(d->store, model->name, &rows, &n_rows, err);
	if (r < 0)
		return r;

	a = sk_dapp_find(d, model->name);
	if (!a) {
		a = app_new(d, model->name);
		sk_daemon_event(d, a->name, NULL, 0, SK_STORE_EV_CREATE, NULL, "created");
	}
	a->deleting = false;
	a->revision = rev;
	free(a->model_json);
	a->model_json = sk_strdup(model_json);
	changes = json_object();
	app_rebind(a, model, changes);
	for (size_t i = 0; i < a->n_s; i++) {
		struct sk_dservice *s = a->s[i];
		int64_t want = s->removed ? 0 : s->def->replicas;
		for (size_t j = 0; j < n_rows; j++)
			if (!strcmp(rows[j].name, s->name))
				want = rows[j].replicas;
		sk_dservice_set_replicas(s, want);
		/* `up` starts replicas that exited for good or were stopped, like Compose */
		for (size_t j = 0; j < s->n_r; j++) {
			struct sk_dreplica *rep = s->r[j];
			if (rep->remove)
				continue;
			if (rep->desired != SK_STORE_DESIRED_RUNNING) {
				rep->desired = SK_STORE_DESIRED_RUNNING;
				sk_dreplica_save(rep);
			}
			if (rep->phase == P_WAIT && !sk_loop_timer_armed(rep->timer))
				rep->phase = P_IDLE;
		}
	}
	sk_store_services_free(rows, n_rows);
	if (changed)
		sk_daemon_event(d, a->name, NULL, 0, SK_STORE_EV_UPDATE, NULL, "revision %" PRId64,
				rev);
	sk_reconcile_queue(d);
	*ret_changes = changes;
	return 0;
}

/* ---- loading at start ---- */

static void replica_restore(struct sk_dservice *s, const struct sk_store_replica *row)
{
	struct sk_dreplica *r = replica_add(s, row->index);

	free(r->config_hash);
	r->config_hash = sk_strdup(row->config_hash ? row->config_hash : s->hash);
	r->desired = row->desired;
	r->obs = row->obs;
	if (row->index > s->replicas)
		r->remove = true;
}

/* Runtime faults (`skiff fault`) survive a daemon restart. */
static void faults_load(struct sk_dapp *a)
{
	_cleanup_strv_ char **svcs = NULL, **js = NULL;
	struct sk_error *err = NULL;

	if (sk_store_fault_list(a->d->store, a->name, &svcs, &js, &err) < 0) {
		sk_warn("app '%s': %s", a->name, err->msg);
		sk_error_free(err);
		return;
	}
	for (size_t i = 0; svcs && svcs[i]; i++) {
		struct sk_dservice *s = sk_dservice_find(a, svcs[i]);
		json_t *j = json_loads(js[i], 0, NULL);
		if (s && j && sk_app_fault_parse_json(j, &s->fault, &err) == 0)
			s->fault_set = true;
		sk_error_free(TAKE_PTR(err));
		json_decref(j);
	}
}

static int app_load(struct sk_daemon *d, const struct sk_store_app *sa, struct sk_error **err)
{
	struct sk_store_revision rev = { 0 };
	struct sk_store_service *rows = NULL;
	struct sk_store_replica *reps = NULL;
	size_t n_rows = 0, n_reps = 0;
	struct sk_app *model = NULL;
	struct sk_dapp *a;
	int r;

	r = sk_store_revision_get(d->store, sa->name, sa->revision, &rev, err);
	if (r < 0)
		return r;
	r = sk_app_from_json(rev.model_json, strlen(rev.model_json), &model, err);
	if (r < 0)
		goto out;
	a = app_new(d, sa->name);
	a->revision = sa->revision;
	a->model_json = TAKE_PTR(rev.model_json);
	app_rebind(a, model, NULL);
	r = sk_store_service_list(d->store, sa->name, &rows, &n_rows, err);
	if (r < 0)
		goto out;
	r = sk_store_replica_list(d->store, sa->name, NULL, &reps, &n_reps, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n_rows; i++) {
		struct sk_dservice *s = sk_dservice_find(a, rows[i].name);
		if (!s) /* removed from the model before the restart */
			s = service_new(a, &(struct sk_app_service){ .name = rows[i].name });
		/* (service_new copies the name; the ghost definition has no image) */
		s->replicas = rows[i].replicas;
		s->removed = rows[i].removed || !sk_app_service_find(a->model, s->name);
		for (size_t j = 0; j < n_reps; j++)
			if (!strcmp(reps[j].service, s->name))
				replica_restore(s, &reps[j]);
		sk_dservice_set_replicas(s, s->removed ? 0 : s->replicas);
	}
	sk_dnet_app_load(a);
	faults_load(a);
out:
	sk_store_revision_release(&rev);
	sk_store_services_free(rows, n_rows);
	sk_store_replicas_free(reps, n_reps);
	return r;
}

int sk_dapp_load_all(struct sk_daemon *d, struct sk_error **err)
{
	struct sk_store_app *apps = NULL;
	size_t n = 0;
	int r;

	r = sk_store_app_list(d->store, &apps, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = app_load(d, &apps[i], err);
	sk_store_apps_free(apps, n);
	return r;
}

json_t *sk_dreplica_json(struct sk_dreplica *r)
{
	const struct sk_store_replica_obs *o = &r->obs;
	json_t *j =
	    json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:i, s:I, s:s}", "name", r->id,
		      "app", r->svc->app->name, "service", r->svc->name, "index",
		      (json_int_t)r->index, "container_id", r->id, "desired",
		      r->desired == SK_STORE_DESIRED_RUNNING ? "running" : "stopped", "state",
		      sk_store_observed_name(o->state), "health", sk_store_health_name(o->health),
		      "restarts", (json_int_t)o->restarts, "pid", o->pid, "started_ns",
		      (json_int_t)o->started_ns, "log_path", r->log_path);

	json_object_set_new(j, "exit_code", o->has_exit ? json_integer(o->exit_code) : json_null());
	json_object_set_new(j, "exit_ns", o->has_exit ? json_integer(o->exit_ns) : json_null());
	json_object_set_new(j, "config_hash", json_string(r->config_hash));
	json_object_set_new(j, "removing", json_boolean(r->remove || r->svc->removed));
	if (r->has_addr) {
		char buf[INET_ADDRSTRLEN];
		json_object_set_new(j, "address",
				    json_string(inet_ntop(AF_INET, &r->addr, buf, sizeof(buf))));
	}
	json_object_set_new(j, "ready", json_boolean(sk_routes_ready(r)));
	return j;
}
