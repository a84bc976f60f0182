/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon-api.c - the handlers of skiffd's HTTP API (docs/api.md) except
 * logs (daemon-api-logs.c): info, apps, ps, scale, stop/start/restart,
 * down, top, events and /metrics.
 *
 * Handlers change the live model and the store, queue a reconcile pass and
 * answer at once, or register a waiter answered when the replicas got
 * there (stop, restart, down).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon-internal.h"
#include "daemon/metrics.h"

struct sk_dapp *sk_daemon_api_app(struct sk_daemon *d, struct sk_api_request *req,
				  struct sk_api_response *resp)
{
	const char *name = sk_api_request_param(req, "app");
	struct sk_dapp *a = sk_dapp_find(d, name);

	if (!a || a->deleting) {
		sk_api_respond_error(resp, 404, "no such app '%s'", name);
		return NULL;
	}
	return a;
}

static void info_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;

	sk_api_respond_json(resp, 200,
			    json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:I, s:I}", "version",
				      SK_VERSION, "pid", (int)getpid(), "keeper_pid",
				      (int)d->keeper_pid, "run_dir", d->cfg.run_dir, "data_dir",
				      d->cfg.data_dir, "runtime_root", d->runtime_root,
				      "cgroup_parent", d->cfg.cgroup_parent, "started_ns",
				      (json_int_t)d->started_ns, "apps", (json_int_t)d->n_apps));
}

/* ---- apps ---- */

static void app_put_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	const char *name = sk_api_request_param(req, "app");
	struct sk_error *err = NULL;
	struct sk_app *model = NULL;
	_cleanup_free_ char *mj = NULL;
	json_t *body = NULL, *changes = NULL;
	struct sk_dapp *a = sk_dapp_find(d, name);

	if (a && a->deleting) {
		sk_api_respond_error(resp, 409, "app '%s' is being removed", name);
		return;
	}
	if (sk_api_request_json(req, &body, &err) < 0) {
		sk_api_respond_error(resp, 400, "%s", err->msg);
		sk_error_free(err);
		return;
	}
	json_t *m = json_object_get(body, "model");
	_cleanup_free_ char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	if (!text || sk_app_from_json(text, strlen(text), &model, &err) < 0) {
		sk_api_respond_error(resp, 400, "model: %s", err ? err->msg : "missing");
		sk_error_free(err);
		return;
	}
	if (strcmp(model->name, name)) {
		sk_api_respond_error(resp, 400, "model is app '%s', not '%s'", model->name, name);
		sk_app_free(model);
		return;
	}
	mj = sk_app_to_json(model, false); /* canonical: equal models compare equal */
	if (sk_dapp_apply(d, model, mj, &changes, &err) < 0) {
		sk_api_respond_error(resp, 500, "%s", err->msg);
		sk_error_free(err);
		sk_app_free(model);
		return;
	}
	a = sk_dapp_find(d, name);
	sk_api_respond_json(resp, 200,
			    json_pack("{s:s, s:I, s:b, s:o}", "app", name, "revision",
				      (json_int_t)a->revision, "changed", true, "services",
				      changes));
}

static json_t *replicas_json(struct sk_dapp *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->n_s; i++)
		for (size_t j = 0; j < a->s[i]->n_r; j++) {
			struct sk_dreplica *r = a->s[i]->r[j];
			json_t *o = sk_dreplica_json(r);
			_cleanup_free_ char *cg =
			    sk_asprintf("/%s/%s/%s", a->d->cfg.cgroup_parent, a->name, r->id);
			double cpu = 0;
			uint64_t mem = 0;
			struct sk_error *err = NULL;
			if (r->phase == P_RUNNING &&
			    sk_metrics_container_usage(cg, &cpu, &mem, &err) < 0)
				sk_error_free(err);
			json_object_set_new(o, "cpu_seconds", json_real(cpu));
			json_object_set_new(o, "memory_bytes", json_integer((json_int_t)mem));
			json_array_append_new(arr, o);
		}
	return arr;
}

static int name_cmp(const void *a, const void *b)
{
	const struct sk_dservice *x = *(struct sk_dservice *const *)a,
				 *y = *(struct sk_dservice *const *)b;

	return strcmp(x->name, y->name);
}

static void app_get_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_dapp *a = sk_daemon_api_app(userdata, req, resp);
	json_t *svcs, *model;

	if (!a)
		return;
	qsort(a->s, a->n_s, sizeof(*a->s), name_cmp);
	svcs = json_array();
	for (size_t i = 0; i < a->n_s; i++)
		json_array_append_new(
		    svcs, json_pack("{s:s, s:I, s:I, s:s, s:b}", "name", a->s[i]->name, "replicas",
				    (json_int_t)a->s[i]->replicas, "spec_replicas",
				    (json_int_t)a->s[i]->def->replicas, "config_hash",
				    a->s[i]->hash, "removed", a->s[i]->removed));
	model = json_loads(a->model_json, 0, NULL);
	sk_api_respond_json(resp, 200,
			    json_pack("{s:s, s:I, s:s, s:o, s:o, s:o}", "name", a->name, "revision",
				      (json_int_t)a->revision, "project_dir",
				      a->model->dir ? a->model->dir : "", "model",
				      model ? model : json_null(), "services", svcs, "replicas",
				      replicas_json(a)));
}

static void ps_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_dapp *a = sk_daemon_api_app(userdata, req, resp);

	if (!a)
		return;
	qsort(a->s, a->n_s, sizeof(*a->s), name_cmp);
	sk_api_respond_json(resp, 200, json_pack("{s:o}", "replicas", replicas_json(a)));
}

static void apps_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	json_t *arr = json_array();

	for (size_t i = 0; i < d->n_apps; i++) {
		struct sk_dapp *a = d->apps[i];
		json_int_t n = 0, running = 0;
		for (size_t j = 0; j < a->n_s; j++)
			for (size_t k = 0; k < a->s[j]->n_r; k++) {
				n++;
				running += a->s[j]->r[k]->phase == P_RUNNING;
			}
		json_array_append_new(arr,
				      json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:b}", "name",
						a->name, "revision", (json_int_t)a->revision,
						"project_dir", a->model->dir ? a->model->dir : "",
						"services", (json_int_t)a->n_s, "replicas", n,
						"running", running, "deleting", a->deleting));
	}
	sk_api_respond_json(resp, 200, json_pack("{s:o}", "apps", arr));
}

/* ---- waiters ---- */

static void waiter_closed_cb(struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;

	for (struct sk_dwaiter **p = &d->waiters; *p; p = &(*p)->next)
		if ((*p)->resp == resp) {
			struct sk_dwaiter *w = *p;
			*p = w->next;
			sk_strv_free(w->services);
			json_decref(w->result);
			free(w);
			return;
		}
}

static void waiter_add(struct sk_daemon *d, struct sk_dapp *a, struct sk_api_response *resp,
		       int kind, char **services, json_t *result)
{
	struct sk_dwaiter *w = sk_malloc0(sizeof(*w));

	w->app = a;
	w->resp = resp;
	w->kind = kind;
	w->services = services;
	w->result = result;
	w->next = d->waiters;
	d->waiters = w;
	sk_api_response_on_close(resp, waiter_closed_cb, d);
	sk_reconcile_queue(d);
}

static bool selected(char **services, const char *name)
{
	if (!services || !services[0])
		return true;
	for (size_t i = 0; services[i]; i++)
		if (!strcmp(services[i], name))
			return true;
	return false;
}

static bool waiter_done(struct sk_dwaiter *w)
{
	struct sk_dapp *a = w->app;

	if (!a) /* its app was removed by another `down` */
		return true;
	for (size_t i = 0; i < a->n_s; i++) {
		if (!selected(w->services, a->s[i]->name))
			continue;
		for (size_t j = 0; j < a->s[i]->n_r; j++) {
			struct sk_dreplica *r = a->s[i]->r[j];
			if (w->kind == W_RESTART ? r->phase == P_LAUNCH || r->phase == P_STOPPING ||
						       r->phase == P_CLEANUP || r->restart_now
						 : sk_replica_live(r))
				return false;
		}
	}
	return true;
}

static void volumes_remove(struct sk_daemon *d, struct sk_dapp *a)
{
	_cleanup_free_ char *anon = sk_asprintf("%s_%s-", a->name, a->name);
	struct dirent *de;
	DIR *dir;

	for (size_t i = 0; i < a->model->n_volumes; i++) {
		const struct sk_app_volume *v = &a->model->volumes[i];
		_cleanup_free_ char *p = NULL;
		if (v->external)
			continue;
		p = sk_asprintf("%s/%s_%s", d->volumes_dir, a->name, v->name);
		(void)sk_rm_rf(p);
	}
	dir = opendir(d->volumes_dir);
	while (dir && (de = readdir(dir)))
		if (sk_str_has_prefix(de->d_name, anon) && strstr(de->d_name, "_anon_")) {
			_cleanup_free_ char *p = sk_path_join(d->volumes_dir, de->d_name);
			(void)sk_rm_rf(p);
		}
	if (dir)
		closedir(dir);
}

static void app_finish_delete(struct sk_daemon *d, struct sk_dapp *a, json_t *result)
{
	_cleanup_free_ char *logs = sk_path_join(d->logs_dir, a->name);
	struct sk_error *err = NULL;

	if (a->volumes) /* the directories specgen made for named and anonymous volumes */
		volumes_remove(d, a);
	if (sk_store_app_delete(d->store, a->name, a->volumes ? SK_STORE_DELETE_VOLUMES : 0, &err) <
		0 &&
	    err->code != ENOENT)
		sk_warn("app '%s': %s", a->name, err->msg);
	sk_error_free(err);
	(void)sk_rm_rf(logs);
	sk_daemon_cgroup_prune(d, a->name);
	/* bridge, NAT, leases; the proxy and DNS forget the app before `down` returns */
	sk_dnet_app_teardown(a);
	sk_routes_publish_now(d);
	sk_daemon_event(d, a->name, NULL, 0, SK_STORE_EV_DELETE, NULL, "removed");
	(void)result;
}

void sk_reconcile_check_waiters(struct sk_daemon *d)
{
	struct sk_dwaiter **p = &d->waiters;

	while (*p) {
		struct sk_dwaiter *w = *p;
		if (!waiter_done(w)) {
			p = &w->next;
			continue;
		}
		*p = w->next;
		sk_api_response_on_close(w->resp, NULL, NULL);
		if (w->kind == W_DOWN) {
			struct sk_dapp *a = w->app;
			app_finish_delete(d, a, w->result);
			/* other waiters on this app are answered too */
			for (struct sk_dwaiter *o = d->waiters; o; o = o->next)
				if (o->app == a)
					o->app = NULL;
			sk_dapp_remove(d, a);
		}
		sk_api_respond_json(w->resp, 200, json_incref(w->result));
		sk_strv_free(w->services);
		json_decref(w->result);
		free(w);
	}
}

/* The "services" array of a body as a strv (NULL: all); false with a 400 answered if invalid. */
static bool body_services(struct sk_api_request *req, struct sk_api_response *resp,
			  struct sk_dapp *a, char ***ret)
{
	struct sk_error *err = NULL;
	json_t *body = NULL, *arr, *v;
	size_t i;

	*ret = NULL;
	if (sk_api_request_body(req, &i) && i == 0)
		return true;
	if (sk_api_request_json(req, &body, &err) < 0) {
		sk_api_respond_error(resp, 400, "%s", err->msg);
		sk_error_free(err);
		return false;
	}
	arr = json_object_get(body, "services");
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || !sk_dservice_find(a, json_string_value(v))) {
			sk_api_respond_error(resp, 400, "no such service '%s'",
					     json_is_string(v) ? json_string_value(v) : "?");
			sk_strv_free(*ret);
			*ret = NULL;
			return false;
		}
		sk_strv_push(ret, json_string_value(v));
	}
	return true;
}

static void desire(struct sk_dapp *a, char **services, enum sk_store_desired want, bool restart,
		   json_int_t *n)
{
	for (size_t i = 0; i < a->n_s; i++) {
		if (!selected(services, a->s[i]->name))
			continue;
		for (size_t j = 0; j < a->s[i]->n_r; j++) {
			struct sk_dreplica *r = a->s[i]->r[j];
			if (r->remove)
				continue;
			(*n)++;
			r->desired = want;
			if (restart && r->phase == P_RUNNING) {
				r->restart_now = true;
				sk_replica_stop(r);
			} else if (want == SK_STORE_DESIRED_RUNNING && r->phase == P_WAIT) {
				r->phase = P_IDLE;
			}
			sk_dreplica_save(r);
		}
	}
}

static void stop_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_dapp *a = sk_daemon_api_app(d, req, resp);
	char **services;
	json_int_t n = 0;

	if (!a || !body_services(req, resp, a, &services))
		return;
	desire(a, services, SK_STORE_DESIRED_STOPPED, false, &n);
	waiter_add(d, a, resp, W_STOP, services, json_pack("{s:I}", "stopped", n));
}

static void start_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_dapp *a = sk_daemon_api_app(d, req, resp);
	_cleanup_strv_ char **services = NULL;
	json_int_t n = 0;

	if (!a || !body_services(req, resp, a, &services))
		return;
	desire(a, services, SK_STORE_DESIRED_RUNNING, false, &n);
	sk_reconcile_queue(d);
	sk_api_respond_json(resp, 200, json_pack("{s:I}", "started", n));
}

static void restart_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_dapp *a = sk_daemon_api_app(d, req, resp);
	char **services;
	json_int_t n = 0;

	if (!a || !body_services(req, resp, a, &services))
		return;
	desire(a, services, SK_STORE_DESIRED_RUNNING, true, &n);
	waiter_add(d, a, resp, W_RESTART, services, json_pack("{s:I}", "restarted", n));
}

static void delete_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_dapp *a = sk_daemon_api_app(d, req, resp);
	const char *v;
	json_t *removed;

	if (!a) /* answered: req and resp are gone */
		return;
	v = sk_api_request_query(req, "volumes");
	removed = json_array();
	a->deleting = true;
	a->volumes = v && (!strcmp(v, "1") || !strcmp(v, "true"));
	for (size_t i = 0; i < a->n_s; i++)
		for (size_t j = 0; j < a->s[i]->n_r; j++)
			json_array_append_new(removed, json_string(a->s[i]->r[j]->id));
	waiter_add(d, a, resp, W_DOWN, NULL, json_pack("{s:o}", "removed", removed));
}

static void scale_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_dapp *a = sk_daemon_api_app(d, req, resp);
	struct sk_error *err = NULL;
	json_t *body = NULL;
	const char *svc_name = NULL;
	json_int_t n = -1;
	struct sk_dservice *s;
	int64_t from;

	if (!a)
		return;
	if (sk_api_request_json(req, &body, &err) < 0 ||
	    json_unpack_ex(body, NULL, 0, "{s:s, s:I}", "service", &svc_name, "replicas", &n) < 0 ||
	    n < 0 || n > 10000) {
		sk_api_respond_error(resp, 400, "%s",
				     err ? err->msg
					 : "want {\"service\": NAME, \"replicas\": 0..10000}");
		sk_error_free(err);
		return;
	}
	s = sk_dservice_find(a, svc_name);
	if (!s || s->removed) {
		sk_api_respond_error(resp, 404, "no such service '%s'", svc_name);
		return;
	}
	from = s->replicas;
	if (sk_store_service_scale(d->store, a->name, s->name, n, &err) < 0) {
		sk_api_respond_error(resp, 500, "%s", err->msg);
		sk_error_free(err);
		return;
	}
	sk_dservice_set_replicas(s, n);
	if (from != n)
		sk_daemon_event(d, a->name, s->name, 0, SK_STORE_EV_SCALE,
				json_pack("{s:I, s:I}", "from", (json_int_t)from, "to", n),
				"scaled from %" PRId64 " to %" PRId64, from, (int64_t)n);
	sk_reconcile_queue(d);
	sk_api_respond_json(
	    resp, 200,
	    json_pack("{s:s, s:I, s:I}", "service", s->name, "from", (json_int_t)from, "to", n));
}

/* ---- top ---- */

static json_t *proc_json(pid_t pid)
{
	_cleanup_free_ char *path = sk_asprintf("/proc/%d/stat", (int)pid), *stat = NULL,
			    *cmd = NULL, *cpath = sk_asprintf("/proc/%d/cmdline", (int)pid),
			    *status = NULL, *spath = sk_asprintf("/proc/%d/status", (int)pid);
	size_t len = 0, clen = 0;
	char state = '?';
	int ppid = 0;
	long uid = -1;
	char *p;

	if (sk_read_file(path, &stat, &len) < 0)
		return NULL;
	p = strrchr(stat, ')');
	if (p)
		(void)sscanf(p + 1, " %c %d", &state, &ppid);
	if (sk_read_file(cpath, &cmd, &clen) == 0)
		for (size_t i = 0; i + 1 < clen; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
	if (sk_read_file(spath, &status, &len) == 0 && (p = strstr(status, "\nUid:")))
		uid = strtol(p + 5, NULL, 10);
	return json_pack("{s:i, s:i, s:I, s:s#, s:s}", "pid", (int)pid, "ppid", ppid, "uid",
			 (json_int_t)uid, "state", &state, 1, "cmd", cmd ? cmd : "");
}

static void top_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_dapp *a = sk_daemon_api_app(d, req, resp);
	json_t *arr = json_array();

	if (!a) {
		json_decref(arr);
		return;
	}
	for (size_t i = 0; i < a->n_s; i++)
		for (size_t j = 0; j < a->s[i]->n_r; j++) {
			struct sk_dreplica *r = a->s[i]->r[j];
			_cleanup_free_ pid_t *pids = NULL;
			struct sk_error *err = NULL;
			size_t n = 0;
			json_t *procs = json_array();
			if (r->phase == P_RUNNING &&
			    sk_container_pids(&d->rt, r->id, &pids, &n, &err) < 0)
				sk_error_free(err);
			for (size_t k = 0; k < n; k++) {
				json_t *p = proc_json(pids[k]);
				if (p)
					json_array_append_new(procs, p);
			}
			json_array_append_new(arr,
					      json_pack("{s:s, s:s, s:I, s:o}", "name", r->id,
							"service", r->svc->name, "index",
							(json_int_t)r->index, "processes", procs));
		}
	sk_api_respond_json(resp, 200, json_pack("{s:o}", "replicas", arr));
}

/* ---- metrics ---- */

static void metrics_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_metrics_container *v = NULL;
	char **paths = NULL;
	size_t n = 0, len = 0;
	char *buf = NULL;
	struct sk_error *err = NULL;

	for (size_t i = 0; i < d->n_apps; i++)
		for (size_t j = 0; j < d->apps[i]->n_s; j++)
			for (size_t k = 0; k < d->apps[i]->s[j]->n_r; k++) {
				struct sk_dreplica *r = d->apps[i]->s[j]->r[k];
				v = sk_realloc(v, (n + 1) * sizeof(*v));
				sk_strv_push(&paths, "");
				free(paths[n]);
				paths[n] = sk_asprintf("/%s/%s/%s", d->cfg.cgroup_parent,
						       d->apps[i]->name, r->id);
				v[n] = (struct sk_metrics_container){
					.app = d->apps[i]->name,
					.service = r->svc->name,
					.name = r->id,
					.replica = r->index,
					.cgroups_path = r->phase == P_RUNNING ? paths[n] : NULL,
					.restarts = r->obs.restarts,
					.health = sk_store_health_name(r->obs.health),
					.state = sk_store_observed_name(r->obs.state),
					.started_ns = r->phase == P_RUNNING ? r->obs.started_ns : 0,
				};
				n++;
			}
	if (sk_metrics_render(v, n, &buf, &len, &err) < 0) {
		sk_api_respond_error(resp, 500, "%s", err->msg);
		sk_error_free(err);
	} else {
		sk_routes_metrics(d, &buf);
		sk_api_respond(resp, 200, SK_METRICS_CONTENT_TYPE, buf, strlen(buf));
	}
	free(buf);
	free(v);
	sk_strv_free(paths);
}

/* ---- events ---- */

static json_t *event_json(const struct sk_store_event_rec *e)
{
	json_t *attrs = e->attrs_json ? json_loads(e->attrs_json, 0, NULL) : NULL;

	return json_pack("{s:I, s:I, s:s, s:s?, s:I, s:s, s:s, s:o}", "id", (json_int_t)e->id,
			 "time_ns", (json_int_t)e->time_ns, "app", e->app, "service", e->service,
			 "replica", (json_int_t)e->replica, "type",
			 sk_store_event_type_name(e->type), "message", e->message ? e->message : "",
			 "attrs", attrs ? attrs : json_object());
}

static void follower_closed_cb(struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;

	for (struct sk_dfollower **p = &d->followers; *p; p = &(*p)->next)
		if ((*p)->resp == resp) {
			struct sk_dfollower *f = *p;
			*p = f->next;
			free(f->app);
			free(f);
			return;
		}
}

static int stream_json(struct sk_api_response *resp, json_t *j)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	size_t len = strlen(s);
	int r;

	s[len] = '\n'; /* json_dumps leaves room: replace the NUL */
	r = sk_api_stream_write(resp, s, len + 1);
	s[len] = '\0';
	return r;
}

void sk_daemon_followers_push(struct sk_daemon *d, json_t *event)
{
	const char *app = json_string_value(json_object_get(event, "app"));
	struct sk_dfollower *f = d->followers, *next;

	for (; f; f = next) {
		next = f->next;
		if (f->app && (!app || strcmp(f->app, app)))
			continue;
		if (stream_json(f->resp, event) < 0) { /* too slow or gone: end its stream */
			struct sk_api_response *resp = f->resp;
			follower_closed_cb(resp, d);
			sk_api_response_on_close(resp, NULL, NULL);
			sk_api_stream_end(resp);
		}
	}
}

static void events_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_store_event_filter f;
	struct sk_store_event_rec *ev = NULL;
	const char *q;
	struct sk_error *err = NULL;
	bool follow = (q = sk_api_request_query(req, "follow")) && strcmp(q, "0");
	size_t n = 0;
	int64_t v;

	sk_store_event_filter_init(&f);
	f.app = sk_api_request_query(req, "app");
	f.service = sk_api_request_query(req, "service");
	f.last = true;
	f.limit = follow ? 100 : 1000;
	if ((q = sk_api_request_query(req, "since")) && sk_parse_int64(q, &v) == 0)
		f.since_ns = v;
	if ((q = sk_api_request_query(req, "after")) && sk_parse_int64(q, &v) == 0)
		f.after_id = v;
	if ((q = sk_api_request_query(req, "limit")) && sk_parse_int64(q, &v) == 0 && v > 0)
		f.limit = (size_t)v;
	if (sk_store_event_list(d->store, &f, &ev, &n, &err) < 0) {
		sk_api_respond_error(resp, 500, "%s", err->msg);
		sk_error_free(err);
		return;
	}
	if (!follow) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, event_json(&ev[i]));
		sk_store_events_free(ev, n);
		sk_api_respond_json(resp, 200, json_pack("{s:o}", "events", arr));
		return;
	}
	sk_api_stream_start(resp, 200, "application/x-ndjson");
	for (size_t i = 0; i < n; i++) {
		json_t *j = event_json(&ev[i]);
		(void)stream_json(resp, j);
		json_decref(j);
	}
	sk_store_events_free(ev, n);
	struct sk_dfollower *fl = sk_malloc0(sizeof(*fl));
	fl->d = d;
	fl->resp = resp;
	fl->app = f.app ? sk_strdup(f.app) : NULL;
	fl->next = d->followers;
	d->followers = fl;
	sk_api_response_on_close(resp, follower_closed_cb, d);
}

void sk_daemon_api_routes(struct sk_daemon *d)
{
	struct sk_api_server *s = d->api;

	sk_api_server_route(s, "GET", "/v1/info", 0, info_cb, d);
	sk_api_server_route(s, "GET", "/metrics", SK_API_ROUTE_TCP, metrics_cb, d);
	sk_api_server_route(s, "GET", "/v1/events", 0, events_cb, d);
	sk_api_server_route(s, "GET", "/v1/apps", 0, apps_cb, d);
	sk_api_server_route(s, "PUT", "/v1/apps/{app}", 0, app_put_cb, d);
	sk_api_server_route(s, "GET", "/v1/apps/{app}", 0, app_get_cb, d);
	sk_api_server_route(s, "DELETE", "/v1/apps/{app}", 0, delete_cb, d);
	sk_api_server_route(s, "GET", "/v1/apps/{app}/ps", 0, ps_cb, d);
	sk_api_server_route(s, "POST", "/v1/apps/{app}/scale", 0, scale_cb, d);
	sk_api_server_route(s, "POST", "/v1/apps/{app}/stop", 0, stop_cb, d);
	sk_api_server_route(s, "POST", "/v1/apps/{app}/start", 0, start_cb, d);
	sk_api_server_route(s, "POST", "/v1/apps/{app}/restart", 0, restart_cb, d);
	sk_api_server_route(s, "GET", "/v1/apps/{app}/top", 0, top_cb, d);
	sk_daemon_api_logs_route(d);
	sk_daemon_api_net_routes(d);
}
