/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-app.c - apps, their revisions, services and named volumes in the
 * store: `skiff up` (a new revision when the model changed), `scale`,
 * `down`.  See store.h for the rules sk_store_app_put() follows.
 */
#include "daemon/store-internal.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

/* ---- releasing ---- */

void sk_store_app_release(struct sk_store_app *a)
{
	if (!a)
		return;
	free(a->name);
	free(a->project_dir);
	*a = (struct sk_store_app){ 0 };
}

void sk_store_apps_free(struct sk_store_app *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		sk_store_app_release(&v[i]);
	free(v);
}

void sk_store_revision_release(struct sk_store_revision *r)
{
	if (!r)
		return;
	free(r->model_json);
	free(r->hashes_json);
	*r = (struct sk_store_revision){ 0 };
}

void sk_store_service_release(struct sk_store_service *svc)
{
	if (!svc)
		return;
	free(svc->app);
	free(svc->name);
	free(svc->config_hash);
	*svc = (struct sk_store_service){ 0 };
}

void sk_store_services_free(struct sk_store_service *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		sk_store_service_release(&v[i]);
	free(v);
}

void sk_store_volumes_free(struct sk_store_volume *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].app);
		free(v[i].name);
		free(v[i].path);
	}
	free(v);
}

/* ---- apps ---- */

/* {"service": "hash", ...} with sorted keys; -EINVAL on a duplicate or missing name. */
static int hashes_json(const struct sk_store_app_spec *spec, char **ret, struct sk_error **err)
{
	json_t *o = json_object();

	for (size_t i = 0; i < spec->n_services; i++) {
		const struct sk_store_service_spec *svc = &spec->services[i];
		if (!svc->name || !svc->config_hash || json_object_get(o, svc->name)) {
			json_decref(o);
			return sk_error_set(err, EINVAL, "store: put app %s: service %zu: %s",
					    spec->name, i,
					    svc->name && svc->config_hash ? "duplicate name"
									  : "missing name or hash");
		}
		json_object_set_new(o, svc->name, json_string(svc->config_hash));
	}
	*ret = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	if (!*ret)
		abort();
	return 0;
}

/* The app's id and current revision, inserting a new app (revision 0). */
static int app_row(struct sk_store *s, const struct sk_store_app_spec *spec, int64_t *ret_id,
		   int64_t *ret_rev, struct sk_error **err)
{
	static const char sel[] = "SELECT id, revision FROM apps WHERE name = ?1";
	static const char ins[] = "INSERT INTO apps (name, project_dir, created_ns, updated_ns)"
				  " VALUES (?1, ?2, ?3, ?3) RETURNING id";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_stmt_ sqlite3_stmt *in = NULL;
	int r, rc;

	r = store_stmt(s, sel, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, spec->name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_id = sqlite3_column_int64(st, 0);
		*ret_rev = sqlite3_column_int64(st, 1);
		return 0;
	}
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "get app %s", spec->name);
	r = store_stmt(s, ins, &in, err);
	if (r < 0)
		return r;
	store_bind_text(in, 1, spec->name);
	store_bind_text(in, 2, spec->project_dir);
	sqlite3_bind_int64(in, 3, store_now_ns());
	rc = sqlite3_step(in);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "insert app %s", spec->name);
	*ret_id = sqlite3_column_int64(in, 0);
	*ret_rev = 0;
	return 0;
}

static int model_unchanged(struct sk_store *s, int64_t app_id, int64_t rev, const char *model,
			   bool *ret, struct sk_error **err)
{
	static const char sql[] =
	    "SELECT model_json = ?3 FROM revisions WHERE app_id = ?1 AND number = ?2";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	*ret = false;
	if (rev == 0)
		return 0;
	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, app_id);
	sqlite3_bind_int64(st, 2, rev);
	store_bind_text(st, 3, model);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int(st, 0) == 1;
	else if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "get revision %lld", (long long)rev);
	return 0;
}

static int insert_revision(struct sk_store *s, int64_t app_id, int64_t rev,
			   const struct sk_store_app_spec *spec, const char *hashes,
			   struct sk_error **err)
{
	static const char ins[] =
	    "INSERT INTO revisions (app_id, number, model_json, hashes_json, created_ns)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)";
	static const char upd[] =
	    "UPDATE apps SET revision = ?2, project_dir = ?3, updated_ns = ?4 WHERE id = ?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_stmt_ sqlite3_stmt *up = NULL;
	int64_t now = store_now_ns();
	int r, rc;

	r = store_stmt(s, ins, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, app_id);
	sqlite3_bind_int64(st, 2, rev);
	store_bind_text(st, 3, spec->model_json);
	store_bind_text(st, 4, hashes);
	sqlite3_bind_int64(st, 5, now);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "insert revision %s@%lld", spec->name, (long long)rev);
	r = store_stmt(s, upd, &up, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(up, 1, app_id);
	sqlite3_bind_int64(up, 2, rev);
	store_bind_text(up, 3, spec->project_dir);
	sqlite3_bind_int64(up, 4, now);
	rc = sqlite3_step(up);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "update app %s", spec->name);
	return 0;
}

/*
 * A new or re-added service takes everything from the file; an existing one
 * keeps a scaled count unless the file's count changed, and its revision
 * unless its config hash changed.  (In an upsert's SET, bare column names
 * are the old row's values.)
 */
static int upsert_service(struct sk_store *s, int64_t app_id, int64_t rev, const char *app,
			  const struct sk_store_service_spec *svc, struct sk_error **err)
{
	static const char sql[] =
	    "INSERT INTO services (app_id, name, replicas, spec_replicas, config_hash, revision)"
	    " VALUES (?1, ?2, ?3, ?3, ?4, ?5)"
	    " ON CONFLICT (app_id, name) DO UPDATE SET"
	    "  replicas = CASE WHEN removed OR spec_replicas <> excluded.spec_replicas"
	    "   THEN excluded.replicas ELSE replicas END,"
	    "  revision = CASE WHEN removed OR config_hash <> excluded.config_hash"
	    "   THEN excluded.revision ELSE revision END,"
	    "  spec_replicas = excluded.spec_replicas, config_hash = excluded.config_hash, removed "
	    "= 0";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	if (svc->replicas < 0)
		return sk_error_set(err, EINVAL, "store: put service %s.%s: negative replicas %lld",
				    app, svc->name, (long long)svc->replicas);
	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, app_id);
	store_bind_text(st, 2, svc->name);
	sqlite3_bind_int64(st, 3, svc->replicas);
	store_bind_text(st, 4, svc->config_hash);
	sqlite3_bind_int64(st, 5, rev);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "put service %s.%s", app, svc->name);
	return 0;
}

static int mark_removed(struct sk_store *s, int64_t app_id, const char *app, const char *hashes,
			struct sk_error **err)
{
	static const char sql[] =
	    "UPDATE services SET removed = 1, replicas = 0"
	    " WHERE app_id = ?1 AND NOT removed AND name NOT IN (SELECT key FROM json_each(?2))";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, app_id);
	store_bind_text(st, 2, hashes);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "mark removed services of %s", app);
	return 0;
}

static int update_project_dir(struct sk_store *s, int64_t app_id,
			      const struct sk_store_app_spec *spec, struct sk_error **err)
{
	static const char sql[] =
	    "UPDATE apps SET project_dir = ?2 WHERE id = ?1 AND project_dir <> ?2";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, app_id);
	store_bind_text(st, 2, spec->project_dir);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "update app %s", spec->name);
	return 0;
}

static int put_new_revision(struct sk_store *s, int64_t app_id, int64_t rev,
			    const struct sk_store_app_spec *spec, struct sk_error **err)
{
	_cleanup_free_ char *hashes = NULL;
	int r;

	r = hashes_json(spec, &hashes, err);
	if (r < 0)
		return r;
	r = insert_revision(s, app_id, rev, spec, hashes, err);
	for (size_t i = 0; r >= 0 && i < spec->n_services; i++)
		r = upsert_service(s, app_id, rev, spec->name, &spec->services[i], err);
	if (r >= 0)
		r = mark_removed(s, app_id, spec->name, hashes, err);
	return r;
}

int sk_store_app_put(struct sk_store *s, const struct sk_store_app_spec *spec,
		     int64_t *ret_revision, bool *ret_changed, struct sk_error **err)
{
	_cleanup_tx_ struct store_tx tx = { 0 };
	int64_t app_id = 0, rev = 0;
	bool same;
	int r;

	if (!spec->name || !*spec->name || !spec->project_dir || !spec->model_json)
		return sk_error_set(err, EINVAL,
				    "store: put app: name, project dir and model are required");
	r = store_tx_begin(s, &tx, err);
	if (r < 0)
		return r;
	r = app_row(s, spec, &app_id, &rev, err);
	if (r >= 0)
		r = model_unchanged(s, app_id, rev, spec->model_json, &same, err);
	if (r < 0)
		return r;
	if (same)
		r = update_project_dir(s, app_id, spec, err);
	else
		r = put_new_revision(s, app_id, ++rev, spec, err);
	if (r >= 0)
		r = store_tx_commit(&tx, err);
	if (r < 0)
		return r;
	if (ret_revision)
		*ret_revision = rev;
	if (ret_changed)
		*ret_changed = !same;
	return 0;
}

#define APP_COLS "name, project_dir, created_ns, updated_ns, revision"

static void read_app(sqlite3_stmt *st, struct sk_store_app *a)
{
	a->name = store_col_text(st, 0);
	a->project_dir = store_col_text(st, 1);
	a->created_ns = sqlite3_column_int64(st, 2);
	a->updated_ns = sqlite3_column_int64(st, 3);
	a->revision = sqlite3_column_int64(st, 4);
}

int sk_store_app_get(struct sk_store *s, const char *name, struct sk_store_app *ret,
		     struct sk_error **err)
{
	static const char sql[] = "SELECT " APP_COLS " FROM apps WHERE name = ?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return sk_error_set(err, ENOENT, "store: get app %s: no such app", name);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "get app %s", name);
	read_app(st, ret);
	return 0;
}

int sk_store_app_list(struct sk_store *s, struct sk_store_app **ret, size_t *ret_n,
		      struct sk_error **err)
{
	static const char sql[] = "SELECT " APP_COLS " FROM apps ORDER BY name";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct sk_store_app *v = NULL;
	size_t n = 0;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sk_realloc(v, sizeof(*v) * (n + 1));
		v[n] = (struct sk_store_app){ 0 };
		read_app(st, &v[n++]);
	}
	if (rc != SQLITE_DONE) {
		sk_store_apps_free(v, n);
		return store_err(s, rc, err, "list apps");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sk_store_revision_get(struct sk_store *s, const char *app, int64_t number,
			  struct sk_store_revision *ret, struct sk_error **err)
{
	static const char sql[] =
	    "SELECT r.number, r.model_json, r.hashes_json, r.created_ns"
	    " FROM revisions r JOIN apps a ON a.id = r.app_id"
	    " WHERE a.name = ?1 AND r.number = CASE WHEN ?2 = 0 THEN a.revision ELSE ?2 END";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	sqlite3_bind_int64(st, 2, number);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return sk_error_set(err, ENOENT, "store: get revision %s@%lld: no such revision",
				    app, (long long)number);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "get revision %s@%lld", app, (long long)number);
	ret->number = sqlite3_column_int64(st, 0);
	ret->model_json = store_col_text(st, 1);
	ret->hashes_json = store_col_text(st, 2);
	ret->created_ns = sqlite3_column_int64(st, 3);
	return 0;
}

/* Runs a one-row-keyed DELETE/UPDATE bound by the caller; -ENOENT when it changed nothing. */
static int step_changes(struct sk_store *s, sqlite3_stmt *st, const char *what,
			struct sk_error **err)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "%s", what);
	if (sqlite3_changes(s->db) == 0)
		return sk_error_set(err, ENOENT, "store: %s: not found", what);
	return 0;
}

static int delete_volumes(struct sk_store *s, const char *app, struct sk_error **err)
{
	static const char sql[] = "DELETE FROM volumes WHERE app = ?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "delete volumes of %s", app);
	return 0;
}

int sk_store_app_delete(struct sk_store *s, const char *name, unsigned flags, struct sk_error **err)
{
	static const char sql[] = "DELETE FROM apps WHERE name = ?1";
	_cleanup_free_ char *what = sk_asprintf("delete app %s", name);
	_cleanup_tx_ struct store_tx tx = { 0 };
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = store_tx_begin(s, &tx, err);
	if (r < 0)
		return r;
	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, name);
	r = step_changes(s, st, what, err);
	if (r >= 0 && (flags & SK_STORE_DELETE_VOLUMES))
		r = delete_volumes(s, name, err);
	if (r < 0)
		return r;
	return store_tx_commit(&tx, err);
}

/* ---- services ---- */

#define SVC_SELECT                                                                                 \
	"SELECT a.name, s.name, s.replicas, s.spec_replicas, s.config_hash, s.revision, s.removed" \
	" FROM services s JOIN apps a ON a.id = s.app_id"

static void read_service(sqlite3_stmt *st, struct sk_store_service *svc)
{
	svc->app = store_col_text(st, 0);
	svc->name = store_col_text(st, 1);
	svc->replicas = sqlite3_column_int64(st, 2);
	svc->spec_replicas = sqlite3_column_int64(st, 3);
	svc->config_hash = store_col_text(st, 4);
	svc->revision = sqlite3_column_int64(st, 5);
	svc->removed = sqlite3_column_int(st, 6) != 0;
}

int sk_store_service_get(struct sk_store *s, const char *app, const char *name,
			 struct sk_store_service *ret, struct sk_error **err)
{
	static const char sql[] = SVC_SELECT " WHERE a.name = ?1 AND s.name = ?2";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return sk_error_set(err, ENOENT, "store: get service %s.%s: no such service", app,
				    name);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "get service %s.%s", app, name);
	read_service(st, ret);
	return 0;
}

int sk_store_service_list(struct sk_store *s, const char *app, struct sk_store_service **ret,
			  size_t *ret_n, struct sk_error **err)
{
	static const char sql[] = SVC_SELECT " WHERE a.name = ?1 ORDER BY s.name";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct sk_store_service *v = NULL;
	size_t n = 0;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sk_realloc(v, sizeof(*v) * (n + 1));
		v[n] = (struct sk_store_service){ 0 };
		read_service(st, &v[n++]);
	}
	if (rc != SQLITE_DONE) {
		sk_store_services_free(v, n);
		return store_err(s, rc, err, "list services of %s", app);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sk_store_service_scale(struct sk_store *s, const char *app, const char *name, int64_t replicas,
			   struct sk_error **err)
{
	static const char sql[] =
	    "UPDATE services SET replicas = ?3"
	    " WHERE app_id = (SELECT id FROM apps WHERE name = ?1) AND name = ?2 AND NOT removed";
	_cleanup_free_ char *what = sk_asprintf("scale service %s.%s", app, name);
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (replicas < 0)
		return sk_error_set(err, EINVAL, "store: %s: negative replicas %lld", what,
				    (long long)replicas);
	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, name);
	sqlite3_bind_int64(st, 3, replicas);
	return step_changes(s, st, what, err);
}

int sk_store_service_delete(struct sk_store *s, const char *app, const char *name,
			    struct sk_error **err)
{
	static const char sql[] = "DELETE FROM services WHERE app_id = (SELECT id FROM apps WHERE "
				  "name = ?1) AND name = ?2";
	_cleanup_free_ char *what = sk_asprintf("delete service %s.%s", app, name);
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, name);
	return step_changes(s, st, what, err);
}

/* ---- volumes ---- */

int sk_store_volume_put(struct sk_store *s, const char *app, const char *name, const char *path,
			char **ret_path, struct sk_error **err)
{
	static const char sql[] =
	    "INSERT INTO volumes (app, name, path, created_ns) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT (app, name) DO UPDATE SET path = path RETURNING path";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, name);
	store_bind_text(st, 3, path);
	sqlite3_bind_int64(st, 4, store_now_ns());
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "put volume %s_%s", app, name);
	if (ret_path)
		*ret_path = store_col_text(st, 0);
	return 0;
}

int sk_store_volume_list(struct sk_store *s, const char *app, struct sk_store_volume **ret,
			 size_t *ret_n, struct sk_error **err)
{
	static const char sql[] =
	    "SELECT app, name, path, created_ns FROM volumes WHERE app = ?1 ORDER BY name";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct sk_store_volume *v = NULL;
	size_t n = 0;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sk_realloc(v, sizeof(*v) * (n + 1));
		v[n].app = store_col_text(st, 0);
		v[n].name = store_col_text(st, 1);
		v[n].path = store_col_text(st, 2);
		v[n++].created_ns = sqlite3_column_int64(st, 3);
	}
	if (rc != SQLITE_DONE) {
		sk_store_volumes_free(v, n);
		return store_err(s, rc, err, "list volumes of %s", app);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sk_store_volume_delete(struct sk_store *s, const char *app, const char *name,
			   struct sk_error **err)
{
	static const char sql[] = "DELETE FROM volumes WHERE app = ?1 AND name = ?2";
	_cleanup_free_ char *what = sk_asprintf("delete volume %s_%s", app, name);
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, name);
	return step_changes(s, st, what, err);
}
