/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-replica.c - replica rows: which container stands for web.2, what
 * skiffd wants of it and what it last observed (pid and its start time for
 * adoption after a restart, exit code, restarts, health).
 *
 * sk_store_replica_observe() is the control loop's hot path: one cached
 * UPDATE by primary key (see bench/store-write.c for its cost).
 */
#include "daemon/store-internal.h"

#include <errno.h>
#include <string.h>

static const char *const observed_names[] = {
	[SK_STORE_OBS_NONE] = "none",	    [SK_STORE_OBS_CREATED] = "created",
	[SK_STORE_OBS_RUNNING] = "running", [SK_STORE_OBS_STOPPING] = "stopping",
	[SK_STORE_OBS_EXITED] = "exited",   [SK_STORE_OBS_BACKOFF] = "backoff",
};

static const char *const health_names[] = {
	[SK_STORE_HEALTH_NONE] = "none",
	[SK_STORE_HEALTH_STARTING] = "starting",
	[SK_STORE_HEALTH_HEALTHY] = "healthy",
	[SK_STORE_HEALTH_UNHEALTHY] = "unhealthy",
};

static const char *const desired_names[] = {
	[SK_STORE_DESIRED_RUNNING] = "running",
	[SK_STORE_DESIRED_STOPPED] = "stopped",
};

const char *sk_store_observed_name(enum sk_store_observed o)
{
	return (size_t)o < SK_ELEMENTSOF(observed_names) ? observed_names[o] : "none";
}

const char *sk_store_health_name(enum sk_store_health h)
{
	return (size_t)h < SK_ELEMENTSOF(health_names) ? health_names[h] : "none";
}

static const char *desired_name(enum sk_store_desired d)
{
	return (size_t)d < SK_ELEMENTSOF(desired_names) ? desired_names[d] : "running";
}

/* Index of `name` in `names`, or 0 (the "none"/default entry) when unknown. */
static int name_index(const char *const *names, size_t n, const unsigned char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(names[i], (const char *)name) == 0)
			return (int)i;
	return 0;
}

void sk_store_replica_release(struct sk_store_replica *r)
{
	if (!r)
		return;
	free(r->app);
	free(r->service);
	free(r->container_id);
	free(r->config_hash);
	free(r->log_path);
	*r = (struct sk_store_replica){ 0 };
}

void sk_store_replicas_free(struct sk_store_replica *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		sk_store_replica_release(&v[i]);
	free(v);
}

/* The service's row id expressed in SQL, from ?1 = app and ?2 = service. */
#define SERVICE_ID                                                                                 \
	"(SELECT s.id FROM services s JOIN apps a ON a.id = s.app_id WHERE a.name = ?1 AND "       \
	"s.name = ?2)"

/* Binds the observed fields to parameters ?4 .. ?14. */
static void bind_obs(sqlite3_stmt *st, const struct sk_store_replica_obs *o)
{
	store_bind_text(st, 4, sk_store_observed_name(o->state));
	sqlite3_bind_int(st, 5, o->pid);
	sqlite3_bind_int64(st, 6, (int64_t)o->pid_start_time);
	sqlite3_bind_int64(st, 7, o->restarts);
	if (o->has_exit) {
		sqlite3_bind_int(st, 8, o->exit_code);
		sqlite3_bind_int64(st, 9, o->exit_ns);
	} else {
		sqlite3_bind_null(st, 8);
		sqlite3_bind_null(st, 9);
	}
	store_bind_text(st, 10, sk_store_health_name(o->health));
	sqlite3_bind_int64(st, 11, o->health_failures);
	sqlite3_bind_int64(st, 12, o->started_ns);
	sqlite3_bind_int64(st, 13, store_now_ns());
	sqlite3_bind_int64(st, 14, o->attempts);
}

static void bind_key(sqlite3_stmt *st, const char *app, const char *service, int64_t index)
{
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, service);
	sqlite3_bind_int64(st, 3, index);
}

/*
 * An upsert keyed by (service, index), so a clash on container_id with
 * another replica is an error rather than a silent REPLACE of that row.  A
 * missing service makes service_id NULL, which NOT NULL turns into ENOENT.
 */
int sk_store_replica_upsert(struct sk_store *s, const struct sk_store_replica *rep,
			    struct sk_error **err)
{
	static const char sql[] =
	    "INSERT INTO replicas (service_id, idx, observed, pid, pid_start_time, restarts,"
	    " exit_code, exit_ns, health, health_failures, started_ns, updated_ns, attempts,"
	    " container_id, config_hash, desired, log_path)"
	    " VALUES (" SERVICE_ID
	    ", ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
	    " ON CONFLICT (service_id, idx) DO UPDATE SET observed = ?4, pid = ?5, pid_start_time "
	    "= ?6,"
	    " restarts = ?7, exit_code = ?8, exit_ns = ?9, health = ?10, health_failures = ?11,"
	    " started_ns = ?12, updated_ns = ?13, attempts = ?14, container_id = ?15,"
	    " config_hash = ?16, desired = ?17, log_path = ?18";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	bind_key(st, rep->app, rep->service, rep->index);
	bind_obs(st, &rep->obs);
	store_bind_text(st, 15, rep->container_id);
	store_bind_text(st, 16, rep->config_hash);
	store_bind_text(st, 17, desired_name(rep->desired));
	store_bind_text(st, 18, rep->log_path);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_NOTNULL)
		return sk_error_set(err, ENOENT,
				    "store: insert replica %s.%lld: no service %s in app %s",
				    rep->service, (long long)rep->index, rep->service, rep->app);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "insert replica %s.%lld", rep->service,
				 (long long)rep->index);
	return 0;
}

int sk_store_replica_observe(struct sk_store *s, const char *app, const char *service,
			     int64_t index, const struct sk_store_replica_obs *obs,
			     struct sk_error **err)
{
	static const char sql[] =
	    "UPDATE replicas SET observed = ?4, pid = ?5, pid_start_time = ?6, restarts = ?7,"
	    " exit_code = ?8, exit_ns = ?9, health = ?10, health_failures = ?11, started_ns = ?12,"
	    " updated_ns = ?13, attempts = ?14 WHERE service_id = " SERVICE_ID " AND idx = ?3";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	bind_key(st, app, service, index);
	bind_obs(st, obs);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "update replica %s.%lld", service, (long long)index);
	if (sqlite3_changes(s->db) == 0)
		return sk_error_set(err, ENOENT,
				    "store: update replica %s.%lld: no such replica in app %s",
				    service, (long long)index, app);
	return 0;
}

int sk_store_replica_set_desired(struct sk_store *s, const char *app, const char *service,
				 int64_t index, enum sk_store_desired desired,
				 struct sk_error **err)
{
	static const char sql[] = "UPDATE replicas SET desired = ?4, updated_ns = ?5"
				  " WHERE service_id = " SERVICE_ID " AND idx = ?3";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	bind_key(st, app, service, index);
	store_bind_text(st, 4, desired_name(desired));
	sqlite3_bind_int64(st, 5, store_now_ns());
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "update replica %s.%lld", service, (long long)index);
	if (sqlite3_changes(s->db) == 0)
		return sk_error_set(err, ENOENT,
				    "store: update replica %s.%lld: no such replica in app %s",
				    service, (long long)index, app);
	return 0;
}

#define REPLICA_SELECT                                                                             \
	"SELECT a.name, s.name, r.idx, r.container_id, r.config_hash, r.desired, r.log_path, "     \
	"r.observed,"                                                                              \
	" r.pid, r.pid_start_time, r.restarts, r.exit_code, r.exit_ns, r.health, "                 \
	"r.health_failures,"                                                                       \
	" r.started_ns, r.updated_ns, r.attempts"                                                  \
	" FROM replicas r JOIN services s ON s.id = r.service_id JOIN apps a ON a.id = s.app_id"

static void read_replica(sqlite3_stmt *st, struct sk_store_replica *r)
{
	struct sk_store_replica_obs *o = &r->obs;

	r->app = store_col_text(st, 0);
	r->service = store_col_text(st, 1);
	r->index = sqlite3_column_int64(st, 2);
	r->container_id = store_col_text(st, 3);
	r->config_hash = store_col_text(st, 4);
	r->desired =
	    name_index(desired_names, SK_ELEMENTSOF(desired_names), sqlite3_column_text(st, 5));
	r->log_path = store_col_text(st, 6);
	o->state =
	    name_index(observed_names, SK_ELEMENTSOF(observed_names), sqlite3_column_text(st, 7));
	o->pid = sqlite3_column_int(st, 8);
	o->pid_start_time = (uint64_t)sqlite3_column_int64(st, 9);
	o->restarts = sqlite3_column_int64(st, 10);
	o->has_exit = sqlite3_column_type(st, 11) != SQLITE_NULL;
	o->exit_code = sqlite3_column_int(st, 11);
	o->exit_ns = sqlite3_column_int64(st, 12);
	o->health =
	    name_index(health_names, SK_ELEMENTSOF(health_names), sqlite3_column_text(st, 13));
	o->health_failures = sqlite3_column_int64(st, 14);
	o->started_ns = sqlite3_column_int64(st, 15);
	r->updated_ns = sqlite3_column_int64(st, 16);
	o->attempts = sqlite3_column_int64(st, 17);
}

int sk_store_replica_get(struct sk_store *s, const char *app, const char *service, int64_t index,
			 struct sk_store_replica *ret, struct sk_error **err)
{
	static const char sql[] =
	    REPLICA_SELECT " WHERE a.name = ?1 AND s.name = ?2 AND r.idx = ?3";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	bind_key(st, app, service, index);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return sk_error_set(err, ENOENT,
				    "store: get replica %s.%lld: no such replica in app %s",
				    service, (long long)index, app);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "get replica %s.%lld", service, (long long)index);
	read_replica(st, ret);
	return 0;
}

int sk_store_replica_list(struct sk_store *s, const char *app, const char *service,
			  struct sk_store_replica **ret, size_t *ret_n, struct sk_error **err)
{
	static const char sql[] =
	    REPLICA_SELECT " WHERE a.name = ?1 AND (?2 IS NULL OR s.name = ?2)"
			   " ORDER BY s.name, r.idx";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct sk_store_replica *v = NULL;
	size_t n = 0;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, service);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sk_realloc(v, sizeof(*v) * (n + 1));
		v[n] = (struct sk_store_replica){ 0 };
		read_replica(st, &v[n++]);
	}
	if (rc != SQLITE_DONE) {
		sk_store_replicas_free(v, n);
		return store_err(s, rc, err, "list replicas of %s%s%s", app, service ? "." : "",
				 service ? service : "");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sk_store_replica_delete(struct sk_store *s, const char *app, const char *service, int64_t index,
			    struct sk_error **err)
{
	static const char sql[] =
	    "DELETE FROM replicas WHERE service_id = " SERVICE_ID " AND idx = ?3";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	bind_key(st, app, service, index);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "delete replica %s.%lld", service, (long long)index);
	if (sqlite3_changes(s->db) == 0)
		return sk_error_set(err, ENOENT,
				    "store: delete replica %s.%lld: no such replica in app %s",
				    service, (long long)index, app);
	return 0;
}
