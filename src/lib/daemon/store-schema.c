/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-schema.c - the tables of skiff.db and their forward migrations.
 *
 * Schema v1 (all tables STRICT; times are wall-clock ns since the epoch):
 *
 *   schema_version(version PK, applied_ns)      one row per applied migration
 *   apps(id PK, name UNIQUE, project_dir, created_ns, updated_ns, revision)
 *       revision: the current revision number (0 only inside the first put)
 *   revisions(app_id -> apps CASCADE, number, model_json, hashes_json,
 *             created_ns; PK (app_id, number))
 *       model_json: the canonical app JSON; hashes_json: {service: hash}
 *   services(id PK, app_id -> apps CASCADE, name, replicas, spec_replicas,
 *            config_hash, revision, removed; UNIQUE (app_id, name))
 *       replicas: desired count (scale/autoscaler); spec_replicas: the
 *       file's; revision: the one that last changed config_hash; removed:
 *       gone from the model, replicas still to stop
 *   replicas(service_id -> services CASCADE, idx >= 1, container_id UNIQUE,
 *            config_hash, desired, observed, pid, pid_start_time, restarts,
 *            exit_code, exit_ns, health, health_failures, started_ns,
 *            log_path, updated_ns; PK (service_id, idx))
 *       desired/observed/health are readable words with CHECK constraints,
 *       so `sqlite3 skiff.db` is a debugging tool
 *   events(id INTEGER PK AUTOINCREMENT, time_ns, app, service, replica,
 *          type, message, attrs_json; INDEX (app, id))
 *       AUTOINCREMENT: ids are never reused, even after pruning deletes the
 *       newest rows, so an `events -f` cursor stays valid.  No foreign key:
 *       events are history and outlive the app (retention prunes them).
 *   volumes(app, name, path, created_ns; PK (app, name))
 *       keyed by app name, no foreign key: named volumes outlive `down`.
 *
 * Schema v2 (networking):
 *
 *   networks(app PK, subnet UNIQUE, bridge, created_ns)
 *       an app's private network; the row lives as long as its bridge
 *   leases(app, addr, owner, created_ns; PK (app, addr), UNIQUE (app, owner))
 *       IPAM: owner is a replica's container id or "vip:<service>"
 *   faults(app, service, fault_json; PK (app, service))
 *       faults set at runtime (`skiff fault`), overriding x-skiff.fault
 *   No foreign keys: the daemon removes these rows itself after it removed
 *   the kernel objects they describe (a bridge outliving its row would be
 *   invisible to the janitor's bookkeeping).
 *
 * Schema v3:
 *
 *   replicas gains attempts: restarts since the last reset (10 s of
 *   running), so on-failure:N and max_attempts hold across skiffd restarts
 *
 * A migration is SQL run in the same transaction as its schema_version row.
 * Append to `migrations`; never edit a shipped entry.
 */
#include "daemon/store-internal.h"

#include <errno.h>

static const char *const migrations[] = {
	/* v1 */
	"CREATE TABLE apps ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" project_dir TEXT NOT NULL,"
	" created_ns INTEGER NOT NULL,"
	" updated_ns INTEGER NOT NULL,"
	" revision INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE TABLE revisions ("
	" app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,"
	" number INTEGER NOT NULL CHECK (number >= 1),"
	" model_json TEXT NOT NULL,"
	" hashes_json TEXT NOT NULL CHECK (json_valid(hashes_json)),"
	" created_ns INTEGER NOT NULL,"
	" PRIMARY KEY (app_id, number)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE services ("
	" id INTEGER PRIMARY KEY,"
	" app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" replicas INTEGER NOT NULL CHECK (replicas >= 0),"
	" spec_replicas INTEGER NOT NULL CHECK (spec_replicas >= 0),"
	" config_hash TEXT NOT NULL,"
	" revision INTEGER NOT NULL,"
	" removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),"
	" UNIQUE (app_id, name)"
	") STRICT;"
	"CREATE TABLE replicas ("
	" service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL CHECK (idx >= 1),"
	" container_id TEXT UNIQUE,"
	" config_hash TEXT,"
	" desired TEXT NOT NULL CHECK (desired IN ('running', 'stopped')),"
	" observed TEXT NOT NULL CHECK (observed IN"
	"  ('none', 'created', 'running', 'stopping', 'exited', 'backoff')),"
	" pid INTEGER NOT NULL DEFAULT 0,"
	" pid_start_time INTEGER NOT NULL DEFAULT 0,"
	" restarts INTEGER NOT NULL DEFAULT 0,"
	" exit_code INTEGER,"
	" exit_ns INTEGER,"
	" health TEXT NOT NULL CHECK (health IN ('none', 'starting', 'healthy', 'unhealthy')),"
	" health_failures INTEGER NOT NULL DEFAULT 0,"
	" started_ns INTEGER NOT NULL DEFAULT 0,"
	" log_path TEXT,"
	" updated_ns INTEGER NOT NULL,"
	" PRIMARY KEY (service_id, idx)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time_ns INTEGER NOT NULL,"
	" app TEXT NOT NULL,"
	" service TEXT,"
	" replica INTEGER NOT NULL DEFAULT 0,"
	" type TEXT NOT NULL,"
	" message TEXT NOT NULL,"
	" attrs_json TEXT CHECK (attrs_json IS NULL OR json_valid(attrs_json))"
	") STRICT;"
	"CREATE INDEX events_by_app ON events(app, id);"
	"CREATE TABLE volumes ("
	" app TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" path TEXT NOT NULL,"
	" created_ns INTEGER NOT NULL,"
	" PRIMARY KEY (app, name)"
	") STRICT, WITHOUT ROWID;",
	/* v2 */
	"CREATE TABLE networks ("
	" app TEXT PRIMARY KEY,"
	" subnet TEXT NOT NULL UNIQUE,"
	" bridge TEXT NOT NULL,"
	" created_ns INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE leases ("
	" app TEXT NOT NULL,"
	" addr TEXT NOT NULL,"
	" owner TEXT NOT NULL,"
	" created_ns INTEGER NOT NULL,"
	" PRIMARY KEY (app, addr),"
	" UNIQUE (app, owner)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE faults ("
	" app TEXT NOT NULL,"
	" service TEXT NOT NULL,"
	" fault_json TEXT NOT NULL CHECK (json_valid(fault_json)),"
	" PRIMARY KEY (app, service)"
	") STRICT, WITHOUT ROWID;",
	/* v3 */
	"ALTER TABLE replicas ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;",
};

_Static_assert(SK_ELEMENTSOF(migrations) == SK_STORE_SCHEMA_VERSION,
	       "one migration per schema version");

static int table_exists(struct sk_store *s, const char *name, bool *ret, struct sk_error **err)
{
	static const char sql[] =
	    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "read schema of '%s'", s->path);
	*ret = sqlite3_column_int(st, 0) > 0;
	return 0;
}

static int count_tables(struct sk_store *s, int *ret, struct sk_error **err)
{
	static const char sql[] = "SELECT count(*) FROM sqlite_schema";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "read schema of '%s'", s->path);
	*ret = sqlite3_column_int(st, 0);
	return 0;
}

int store_read_version(struct sk_store *s, int *ret, struct sk_error **err)
{
	static const char sql[] = "SELECT coalesce(max(version), 0) FROM schema_version";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	bool exists = false;
	int r, rc, n = 0;

	r = table_exists(s, "schema_version", &exists, err);
	if (r < 0)
		return r;
	if (!exists) {
		/* An empty database is version 0; someone else's is not ours to migrate. */
		r = count_tables(s, &n, err);
		if (r < 0)
			return r;
		if (n > 0)
			return sk_error_set(
			    err, EPROTO,
			    "store: '%s' is not a skiff database (no schema_version table)",
			    s->path);
		*ret = 0;
		return 0;
	}
	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "read schema version of '%s'", s->path);
	*ret = sqlite3_column_int(st, 0);
	return 0;
}

static int apply(struct sk_store *s, int version, struct sk_error **err)
{
	static const char sql[] =
	    "INSERT INTO schema_version (version, applied_ns) VALUES (?1, ?2)";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_exec(s, migrations[version - 1], err);
	if (r < 0) {
		sk_error_prefix(err, "migrate to schema version %d", version);
		return r;
	}
	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 1, version);
	sqlite3_bind_int64(st, 2, store_now_ns());
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "record schema version %d", version);
	return 0;
}

int store_migrate(struct sk_store *s, struct sk_error **err)
{
	_cleanup_tx_ struct store_tx tx = { 0 };
	int r, version;

	/* Under the write lock, so two skiffds starting at once migrate once. */
	r = store_tx_begin(s, &tx, err);
	if (r < 0)
		return r;
	r = store_read_version(s, &version, err);
	if (r < 0)
		return r;
	if (version > SK_STORE_SCHEMA_VERSION)
		return sk_error_set(err, EPROTO,
				    "store: '%s' has schema version %d, newer than this skiff's %d",
				    s->path, version, SK_STORE_SCHEMA_VERSION);
	if (version == SK_STORE_SCHEMA_VERSION)
		return store_tx_commit(&tx, err);
	if (version == 0) {
		r = store_exec(s,
			       "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
			       "applied_ns INTEGER NOT NULL)"
			       " STRICT",
			       err);
		if (r < 0)
			return r;
	}
	for (int v = version + 1; v <= SK_STORE_SCHEMA_VERSION; v++) {
		r = apply(s, v, err);
		if (r < 0)
			return r;
	}
	return store_tx_commit(&tx, err);
}
