/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-store.c - the desired-state store on a private temporary state dir:
 * every API call, revisions that bump only on change, the service rules of
 * sk_store_app_put(), cascading delete, event retention, persistence across
 * close/open, migration from an empty file, a reader beside a writer (WAL,
 * also from a thread), and the error paths (unwritable dir, corrupt file,
 * a newer or foreign database, constraint violations).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "daemon/store.h"
#include "sk-fork.h"

struct fixture {
	char dir[64];
	struct sk_store *s;
};

static int setup(void **state)
{
	struct fixture *f = sk_new0(struct fixture, 1);
	struct sk_error *err = NULL;

	snprintf(f->dir, sizeof(f->dir), "/tmp/skiff-unit-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (sk_store_open(f->dir, NULL, &f->s, &err) < 0) {
		fprintf(stderr, "%s\n", err->msg);
		sk_error_free(err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sk_store_close(f->s);
	(void)sk_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Fails the test with the error's message when r < 0. */
#define ok(call)                                                                                   \
	do {                                                                                       \
		struct sk_error *e_ = NULL;                                                        \
		struct sk_error **err_ = &e_;                                                      \
		int r_ = (call);                                                                   \
		if (r_ < 0)                                                                        \
			fail_msg("%s: %s", #call, e_ ? e_->msg : "?");                             \
		sk_error_free(e_);                                                                 \
	} while (0)
/* Inside ok(): the error slot ok() owns and reports. */
#define E err_

/* Checks a failure: -code and a "store: " message containing `needle`; frees e. */
static void check_fail(int r, struct sk_error *e, int code, const char *needle)
{
	assert_int_equal(r, -code);
	assert_non_null(e);
	if (!strstr(e->msg, needle))
		fail_msg("message '%s' lacks '%s'", e->msg, needle);
	assert_true(sk_str_has_prefix(e->msg, "store: "));
	sk_error_free(e);
}

/* `expr` fills the local `struct sk_error *e`; read it only after the call. */
#define expect_fail(expr, code, needle)                                                            \
	do {                                                                                       \
		int r__ = (expr);                                                                  \
		check_fail(r__, e, (code), (needle));                                              \
		e = NULL;                                                                          \
	} while (0)

static const struct sk_store_service_spec shop_v1[] = {
	{ "db", "hash-db-1", 1 },
	{ "web", "hash-web-1", 2 },
};

static void put(struct sk_store *s, const char *model, const struct sk_store_service_spec *svcs,
		size_t n, int64_t want_rev, bool want_changed)
{
	struct sk_store_app_spec spec = {
		.name = "shop",
		.project_dir = "/srv/shop",
		.model_json = model,
		.services = svcs,
		.n_services = n,
	};
	int64_t rev = -1;
	bool changed = !want_changed;

	ok(sk_store_app_put(s, &spec, &rev, &changed, E));
	assert_int_equal(rev, want_rev);
	assert_int_equal(changed, want_changed);
}

static void put_shop(struct sk_store *s)
{
	put(s, "{\"v\":1}", shop_v1, 2, 1, true);
}

static struct sk_store_replica replica(const char *service, int64_t idx, const char *cid)
{
	return (struct sk_store_replica){
		.app = (char *)"shop",
		.service = (char *)service,
		.index = idx,
		.container_id = (char *)cid,
		.config_hash = (char *)"h",
		.log_path = (char *)"/var/log/x.log",
		.obs = { .state = SK_STORE_OBS_CREATED, .health = SK_STORE_HEALTH_STARTING },
	};
}

/* Rows in `table`, read through a connection of our own. */
static int count_rows(const char *dir, const char *table)
{
	_cleanup_free_ char *path = sk_path_join(dir, "skiff.db");
	_cleanup_free_ char *sql = sk_asprintf("SELECT count(*) FROM %s", table);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* ---- open, schema, persistence ---- */

static void test_open_creates(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *sub = sk_path_join(f->dir, "a/b");
	_cleanup_free_ char *db = sk_path_join(sub, "skiff.db");
	_cleanup_free_ char *wal = sk_path_join(sub, "skiff.db-wal");
	struct sk_store *s = NULL;
	struct stat st;
	int v = 0;

	ok(sk_store_open(sub, NULL, &s, E));
	ok(sk_store_schema_version(s, &v, E));
	assert_int_equal(v, SK_STORE_SCHEMA_VERSION);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* WAL mode: a write goes to skiff.db-wal, which has the db's mode */
	put_shop(s);
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_rows(sub, "schema_version"), SK_STORE_SCHEMA_VERSION);
	sk_store_close(s);
	sk_store_close(NULL);
}

/* Every fd SQLite opened for the store is close-on-exec. */
static void test_open_cloexec(void **state)
{
	struct fixture *f = *state;
	int found = 0;

	put_shop(f->s);
	for (int fd = 3; fd < 1024; fd++) {
		char link[64], target[512];
		ssize_t n;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (!strstr(target, f->dir))
			continue;
		found++;
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	}
	assert_true(found >= 2); /* skiff.db and -wal (and -shm) */
}

static void test_reopen_persists(void **state)
{
	struct fixture *f = *state;
	struct sk_store_replica r = replica("web", 1, "c1");
	struct sk_store_replica got = { 0 };
	struct sk_store_app app = { 0 };
	int v = 0;

	put_shop(f->s);
	ok(sk_store_replica_upsert(f->s, &r, E));
	ok(sk_store_service_scale(f->s, "shop", "web", 5, E));
	sk_store_close(f->s);
	f->s = NULL;
	ok(sk_store_open(f->dir, NULL, &f->s, E));
	ok(sk_store_schema_version(f->s, &v, E));
	assert_int_equal(v, SK_STORE_SCHEMA_VERSION);
	assert_int_equal(count_rows(f->dir, "schema_version"),
			 SK_STORE_SCHEMA_VERSION); /* not migrated twice */
	ok(sk_store_app_get(f->s, "shop", &app, E));
	assert_string_equal(app.project_dir, "/srv/shop");
	assert_int_equal(app.revision, 1);
	sk_store_app_release(&app);
	ok(sk_store_replica_get(f->s, "shop", "web", 1, &got, E));
	assert_string_equal(got.container_id, "c1");
	sk_store_replica_release(&got);
	/* unchanged model after reopen: still revision 1, the scale stays */
	put(f->s, "{\"v\":1}", shop_v1, 2, 1, false);
	struct sk_store_service svc = { 0 };
	ok(sk_store_service_get(f->s, "shop", "web", &svc, E));
	assert_int_equal(svc.replicas, 5);
	sk_store_service_release(&svc);
}

/* An existing empty (0-byte) file is an empty database: migrated to v1. */
static void test_migrate_empty_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *sub = sk_path_join(f->dir, "empty");
	_cleanup_free_ char *db = sk_path_join(sub, "skiff.db");
	struct sk_store *s = NULL;
	int v = 0;

	assert_int_equal(sk_mkdir_p(sub, 0700), 0);
	assert_int_equal(sk_write_file_atomic(db, "", 0, 0600, false), 0);
	ok(sk_store_open(sub, NULL, &s, E));
	ok(sk_store_schema_version(s, &v, E));
	assert_int_equal(v, SK_STORE_SCHEMA_VERSION);
	sk_store_close(s);
	assert_int_equal(count_rows(sub, "apps"), 0);
	assert_int_equal(count_rows(sub, "events"), 0);
}

static void make_db(const char *dir, const char *sql)
{
	_cleanup_free_ char *db = sk_path_join(dir, "skiff.db");
	sqlite3 *h = NULL;

	assert_int_equal(sk_mkdir_p(dir, 0700), 0);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* A v2 database (before replicas.attempts) is migrated; its rows stay. */
static void test_migrate_v2(void **state)
{
	struct fixture *f = *state;
	struct sk_store_replica r = replica("web", 1, "c1");
	struct sk_store_replica got = { 0 };
	_cleanup_free_ char *db = sk_path_join(f->dir, "skiff.db");
	sqlite3 *h = NULL;
	int v = 0;

	put_shop(f->s);
	r.obs.attempts = 5;
	ok(sk_store_replica_upsert(f->s, &r, E));
	sk_store_close(f->s);
	f->s = NULL;
	/* what skiff with schema v2 left */
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h,
				      "ALTER TABLE replicas DROP COLUMN attempts;"
				      "DELETE FROM schema_version WHERE version = 3",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	ok(sk_store_open(f->dir, NULL, &f->s, E));
	ok(sk_store_schema_version(f->s, &v, E));
	assert_int_equal(v, 3);
	ok(sk_store_replica_get(f->s, "shop", "web", 1, &got, E));
	assert_string_equal(got.container_id, "c1");
	assert_int_equal(got.obs.attempts, 0);
	sk_store_replica_release(&got);
}

static void test_newer_or_foreign_refused(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *newer = sk_path_join(f->dir, "newer");
	_cleanup_free_ char *foreign = sk_path_join(f->dir, "foreign");
	struct sk_error *e = NULL;
	struct sk_store *s = NULL;

	make_db(newer, "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ns "
		       "INTEGER NOT NULL);"
		       "INSERT INTO schema_version VALUES (99, 0)");
	expect_fail(sk_store_open(newer, NULL, &s, &e), EPROTO,
		    "schema version 99, newer than this skiff's 3");
	assert_null(s);
	e = NULL;
	make_db(foreign, "CREATE TABLE photos (id INTEGER)");
	expect_fail(sk_store_open(foreign, NULL, &s, &e), EPROTO, "is not a skiff database");
	assert_null(s);
}

static void test_corrupt_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *sub = sk_path_join(f->dir, "corrupt");
	_cleanup_free_ char *db = sk_path_join(sub, "skiff.db");
	char junk[8192];
	struct sk_error *e = NULL;
	struct sk_store *s = NULL;

	memset(junk, 'x', sizeof(junk));
	assert_int_equal(sk_mkdir_p(sub, 0700), 0);
	assert_int_equal(sk_write_file_atomic(db, junk, sizeof(junk), 0600, false), 0);
	expect_fail(sk_store_open(sub, NULL, &s, &e), EBADMSG, "file is not a database");
	assert_null(s);
}

/* In a child, as nobody when we are root: a directory we cannot write. */
static int open_unwritable_child(void *arg, int fd)
{
	const char *dir = arg;
	struct sk_error *e = NULL;
	struct sk_store *s = NULL;
	int r;

	if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			       setresuid(65534, 65534, 65534) < 0))
		return 90;
	r = sk_store_open(dir, NULL, &s, &e);
	if (r >= 0)
		return 91;
	dprintf(fd, "%d %s", -r, e ? e->msg : "");
	sk_error_free(e);
	return 0;
}

static void test_unwritable_dir(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *sub = sk_path_join(f->dir, "ro");
	_cleanup_free_ char *out = NULL;

	assert_int_equal(mkdir(sub, 0555), 0);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(sk_test_fork(open_unwritable_child, sub, &out), 0);
	assert_non_null(strstr(out, "13 store: create '"));
	assert_non_null(strstr(out, "Permission denied"));
}

static void test_read_only_open(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *missing = sk_path_join(f->dir, "missing");
	struct sk_store_opts ro = { .read_only = true };
	struct sk_store_app app = { 0 };
	struct sk_error *e = NULL;
	struct sk_store *s = NULL;

	put_shop(f->s);
	ok(sk_store_open(f->dir, &ro, &s, E));
	ok(sk_store_app_get(s, "shop", &app, E));
	sk_store_app_release(&app);
	struct sk_store_app_spec spec = { .name = "x", .project_dir = "/", .model_json = "{}" };
	expect_fail(sk_store_app_put(s, &spec, NULL, NULL, &e), EROFS,
		    "attempt to write a readonly database");
	sk_store_close(s);
	s = NULL;
	e = NULL;
	assert_true(sk_store_open(missing, &ro, &s, &e) < 0);
	assert_non_null(strstr(e->msg, "unable to open database file"));
	sk_error_free(e);
}

/* ---- apps and revisions ---- */

static void test_app_revisions(void **state)
{
	struct fixture *f = *state;
	struct sk_store_revision rev = { 0 };
	struct sk_store_app *apps = NULL;
	struct sk_store_app app = { 0 };
	struct sk_error *e = NULL;
	size_t n = 0;

	put_shop(f->s);
	put(f->s, "{\"v\":1}", shop_v1, 2, 1, false); /* same model: no bump */
	put(f->s, "{\"v\":1}", shop_v1, 2, 1, false);
	put(f->s, "{\"v\":2}", shop_v1, 2, 2, true);
	put(f->s, "{\"v\":2}", shop_v1, 2, 2, false);
	put(f->s, "{\"v\":1}", shop_v1, 2, 3, true); /* back to an old model is still a change */

	ok(sk_store_app_get(f->s, "shop", &app, E));
	assert_string_equal(app.name, "shop");
	assert_int_equal(app.revision, 3);
	assert_true(app.created_ns > 0 && app.updated_ns >= app.created_ns);
	sk_store_app_release(&app);

	ok(sk_store_revision_get(f->s, "shop", 0, &rev, E));
	assert_int_equal(rev.number, 3);
	assert_string_equal(rev.model_json, "{\"v\":1}");
	assert_string_equal(rev.hashes_json, "{\"db\":\"hash-db-1\",\"web\":\"hash-web-1\"}");
	sk_store_revision_release(&rev);
	ok(sk_store_revision_get(f->s, "shop", 2, &rev, E));
	assert_string_equal(rev.model_json, "{\"v\":2}");
	sk_store_revision_release(&rev);
	expect_fail(sk_store_revision_get(f->s, "shop", 9, &rev, &e), ENOENT,
		    "get revision shop@9");
	e = NULL;
	expect_fail(sk_store_app_get(f->s, "nope", &app, &e), ENOENT, "get app nope: no such app");

	struct sk_store_app_spec other = { .name = "blog",
					   .project_dir = "/srv/blog",
					   .model_json = "{}" };
	ok(sk_store_app_put(f->s, &other, NULL, NULL, E));
	ok(sk_store_app_list(f->s, &apps, &n, E));
	assert_int_equal(n, 2);
	assert_string_equal(apps[0].name, "blog");
	assert_int_equal(apps[0].revision, 1);
	assert_string_equal(apps[1].name, "shop");
	sk_store_apps_free(apps, n);
}

static void test_app_put_invalid(void **state)
{
	struct fixture *f = *state;
	const struct sk_store_service_spec dup[] = { { "web", "a", 1 }, { "web", "b", 1 } };
	const struct sk_store_service_spec neg[] = { { "web", "a", -1 } };
	struct sk_store_app_spec spec = { .name = "shop", .project_dir = "/", .model_json = "{}" };
	struct sk_store_app app = { 0 };
	struct sk_error *e = NULL;

	spec.services = dup;
	spec.n_services = 2;
	expect_fail(sk_store_app_put(f->s, &spec, NULL, NULL, &e), EINVAL, "duplicate name");
	e = NULL;
	spec.services = neg;
	spec.n_services = 1;
	expect_fail(sk_store_app_put(f->s, &spec, NULL, NULL, &e), EINVAL, "negative replicas");
	/* the failed puts left nothing behind */
	e = NULL;
	expect_fail(sk_store_app_get(f->s, "shop", &app, &e), ENOENT, "no such app");
	e = NULL;
	spec.model_json = NULL;
	expect_fail(sk_store_app_put(f->s, &spec, NULL, NULL, &e), EINVAL, "required");
}

/* ---- services ---- */

static void get_service(struct sk_store *s, const char *name, struct sk_store_service *ret)
{
	*ret = (struct sk_store_service){ 0 };
	ok(sk_store_service_get(s, "shop", name, ret, E));
}

static void test_service_rules(void **state)
{
	struct fixture *f = *state;
	struct sk_store_service svc, *v = NULL;
	struct sk_error *e = NULL;
	size_t n = 0;

	put_shop(f->s);
	get_service(f->s, "web", &svc);
	assert_int_equal(svc.replicas, 2);
	assert_int_equal(svc.spec_replicas, 2);
	assert_int_equal(svc.revision, 1);
	assert_string_equal(svc.config_hash, "hash-web-1");
	assert_false(svc.removed);
	sk_store_service_release(&svc);

	/* a scale survives a new revision that leaves the file's count alone */
	ok(sk_store_service_scale(f->s, "shop", "web", 7, E));
	const struct sk_store_service_spec v2[] = { { "db", "hash-db-2", 1 },
						    { "web", "hash-web-1", 2 } };
	put(f->s, "{\"v\":2}", v2, 2, 2, true);
	get_service(f->s, "web", &svc);
	assert_int_equal(svc.replicas, 7);
	assert_int_equal(svc.revision, 1); /* hash unchanged */
	sk_store_service_release(&svc);
	get_service(f->s, "db", &svc);
	assert_int_equal(svc.revision, 2); /* hash changed */
	assert_string_equal(svc.config_hash, "hash-db-2");
	sk_store_service_release(&svc);

	/* the file's count changed: it wins; web dropped from the file: removed */
	const struct sk_store_service_spec v3[] = { { "db", "hash-db-2", 3 } };
	put(f->s, "{\"v\":3}", v3, 1, 3, true);
	get_service(f->s, "db", &svc);
	assert_int_equal(svc.replicas, 3);
	assert_int_equal(svc.revision, 2);
	sk_store_service_release(&svc);
	get_service(f->s, "web", &svc);
	assert_true(svc.removed);
	assert_int_equal(svc.replicas, 0);
	sk_store_service_release(&svc);
	expect_fail(sk_store_service_scale(f->s, "shop", "web", 2, &e), ENOENT,
		    "scale service shop.web");

	/* back in the file: like new */
	put(f->s, "{\"v\":4}", v2, 2, 4, true);
	get_service(f->s, "web", &svc);
	assert_false(svc.removed);
	assert_int_equal(svc.replicas, 2);
	assert_int_equal(svc.revision, 4);
	sk_store_service_release(&svc);

	ok(sk_store_service_list(f->s, "shop", &v, &n, E));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "db");
	assert_string_equal(v[0].app, "shop");
	assert_string_equal(v[1].name, "web");
	sk_store_services_free(v, n);

	e = NULL;
	expect_fail(sk_store_service_scale(f->s, "shop", "web", -1, &e), EINVAL,
		    "negative replicas");
	e = NULL;
	expect_fail(sk_store_service_scale(f->s, "shop", "nope", 1, &e), ENOENT, "not found");
	e = NULL;
	expect_fail(sk_store_service_get(f->s, "shop", "nope", &svc, &e), ENOENT,
		    "no such service");
	ok(sk_store_service_delete(f->s, "shop", "web", E));
	e = NULL;
	expect_fail(sk_store_service_delete(f->s, "shop", "web", &e), ENOENT,
		    "delete service shop.web");
}

/* ---- replicas ---- */

static void test_replicas(void **state)
{
	struct fixture *f = *state;
	struct sk_store_replica r1 = replica("web", 1, "c1"), r2 = replica("web", 2, "c2"),
				d1 = replica("db", 1, "c3");
	struct sk_store_replica got = { 0 }, *v = NULL;
	struct sk_error *e = NULL;
	size_t n = 0;

	put_shop(f->s);
	ok(sk_store_replica_upsert(f->s, &r1, E));
	ok(sk_store_replica_upsert(f->s, &r2, E));
	ok(sk_store_replica_upsert(f->s, &d1, E));

	ok(sk_store_replica_get(f->s, "shop", "web", 2, &got, E));
	assert_string_equal(got.app, "shop");
	assert_string_equal(got.service, "web");
	assert_int_equal(got.index, 2);
	assert_string_equal(got.container_id, "c2");
	assert_string_equal(got.log_path, "/var/log/x.log");
	assert_int_equal(got.desired, SK_STORE_DESIRED_RUNNING);
	assert_int_equal(got.obs.state, SK_STORE_OBS_CREATED);
	assert_int_equal(got.obs.health, SK_STORE_HEALTH_STARTING);
	assert_false(got.obs.has_exit);
	assert_true(got.updated_ns > 0);
	sk_store_replica_release(&got);

	struct sk_store_replica_obs obs = {
		.state = SK_STORE_OBS_EXITED,
		.pid = 4242,
		.pid_start_time = 123456789012ULL,
		.restarts = 3,
		.has_exit = true,
		.exit_code = 137,
		.exit_ns = 1700000000000000000LL,
		.health = SK_STORE_HEALTH_UNHEALTHY,
		.health_failures = 4,
		.started_ns = 1690000000000000000LL,
		.attempts = 2,
	};
	ok(sk_store_replica_observe(f->s, "shop", "web", 2, &obs, E));
	ok(sk_store_replica_set_desired(f->s, "shop", "web", 2, SK_STORE_DESIRED_STOPPED, E));
	ok(sk_store_replica_get(f->s, "shop", "web", 2, &got, E));
	assert_int_equal(got.obs.state, SK_STORE_OBS_EXITED);
	assert_int_equal(got.obs.pid, 4242);
	assert_int_equal(got.obs.pid_start_time, 123456789012ULL);
	assert_int_equal(got.obs.restarts, 3);
	assert_int_equal(got.obs.attempts, 2);
	assert_true(got.obs.has_exit);
	assert_int_equal(got.obs.exit_code, 137);
	assert_int_equal(got.obs.exit_ns, 1700000000000000000LL);
	assert_int_equal(got.obs.health, SK_STORE_HEALTH_UNHEALTHY);
	assert_int_equal(got.obs.health_failures, 4);
	assert_int_equal(got.obs.started_ns, 1690000000000000000LL);
	assert_int_equal(got.desired, SK_STORE_DESIRED_STOPPED);
	assert_string_equal(got.container_id, "c2"); /* observe leaves identity alone */
	sk_store_replica_release(&got);

	/* upsert of an existing row replaces it */
	r2.container_id = (char *)"c2b";
	ok(sk_store_replica_upsert(f->s, &r2, E));
	ok(sk_store_replica_list(f->s, "shop", "web", &v, &n, E));
	assert_int_equal(n, 2);
	assert_int_equal(v[0].index, 1);
	assert_string_equal(v[1].container_id, "c2b");
	assert_int_equal(v[1].obs.state, SK_STORE_OBS_CREATED);
	sk_store_replicas_free(v, n);
	ok(sk_store_replica_list(f->s, "shop", NULL, &v, &n, E));
	assert_int_equal(n, 3);
	assert_string_equal(v[0].service, "db");
	sk_store_replicas_free(v, n);

	/* errors */
	struct sk_store_replica clash = replica("web", 3, "c1");
	expect_fail(sk_store_replica_upsert(f->s, &clash, &e), EEXIST,
		    "store: insert replica web.3: UNIQUE constraint failed: replicas.container_id");
	struct sk_store_replica orphan = replica("nope", 1, "c9");
	e = NULL;
	expect_fail(sk_store_replica_upsert(f->s, &orphan, &e), ENOENT,
		    "no service nope in app shop");
	struct sk_store_replica zero = replica("web", 0, "c8");
	e = NULL;
	expect_fail(sk_store_replica_upsert(f->s, &zero, &e), EINVAL, "CHECK constraint failed");
	e = NULL;
	expect_fail(sk_store_replica_observe(f->s, "shop", "web", 9, &obs, &e), ENOENT,
		    "no such replica");
	e = NULL;
	expect_fail(
	    sk_store_replica_set_desired(f->s, "shop", "web", 9, SK_STORE_DESIRED_RUNNING, &e),
	    ENOENT, "no such replica");
	e = NULL;
	expect_fail(sk_store_replica_get(f->s, "shop", "web", 9, &got, &e), ENOENT,
		    "get replica web.9");

	ok(sk_store_replica_delete(f->s, "shop", "web", 1, E));
	e = NULL;
	expect_fail(sk_store_replica_delete(f->s, "shop", "web", 1, &e), ENOENT,
		    "delete replica web.1");
	/* deleting the service takes its replicas */
	ok(sk_store_service_delete(f->s, "shop", "web", E));
	ok(sk_store_replica_list(f->s, "shop", NULL, &v, &n, E));
	assert_int_equal(n, 1);
	sk_store_replicas_free(v, n);

	assert_string_equal(sk_store_observed_name(SK_STORE_OBS_BACKOFF), "backoff");
	assert_string_equal(sk_store_health_name(SK_STORE_HEALTH_HEALTHY), "healthy");
}

/* ---- delete and volumes ---- */

static void test_delete_cascades(void **state)
{
	struct fixture *f = *state;
	struct sk_store_replica r1 = replica("web", 1, "c1");
	struct sk_store_event ev = { .app = "shop",
				     .type = SK_STORE_EV_CREATE,
				     .message = "created" };
	struct sk_store_volume *vols = NULL;
	struct sk_store_app app = { 0 };
	struct sk_error *e = NULL;
	size_t n = 0;

	put_shop(f->s);
	put(f->s, "{\"v\":2}", shop_v1, 2, 2, true);
	ok(sk_store_replica_upsert(f->s, &r1, E));
	ok(sk_store_volume_put(f->s, "shop", "data", "/var/lib/skiff/volumes/shop_data", NULL, E));
	ok(sk_store_event_append(f->s, &ev, NULL, E));

	ok(sk_store_app_delete(f->s, "shop", 0, E));
	expect_fail(sk_store_app_get(f->s, "shop", &app, &e), ENOENT, "no such app");
	assert_int_equal(count_rows(f->dir, "revisions"), 0);
	assert_int_equal(count_rows(f->dir, "services"), 0);
	assert_int_equal(count_rows(f->dir, "replicas"), 0);
	assert_int_equal(count_rows(f->dir, "events"), 1);  /* history stays */
	assert_int_equal(count_rows(f->dir, "volumes"), 1); /* `down` keeps volumes */

	/* up again: revision numbering restarts, the volume is found */
	put_shop(f->s);
	char *path = NULL;
	ok(sk_store_volume_put(f->s, "shop", "data", "/other", &path, E));
	assert_string_equal(path, "/var/lib/skiff/volumes/shop_data");
	free(path);
	ok(sk_store_app_delete(f->s, "shop", SK_STORE_DELETE_VOLUMES, E));
	ok(sk_store_volume_list(f->s, "shop", &vols, &n, E));
	assert_int_equal(n, 0);
	assert_null(vols);
	e = NULL;
	expect_fail(sk_store_app_delete(f->s, "shop", 0, &e), ENOENT, "delete app shop: not found");
}

static void test_volumes(void **state)
{
	struct fixture *f = *state;
	struct sk_store_volume *v = NULL;
	struct sk_error *e = NULL;
	size_t n = 0;

	ok(sk_store_volume_put(f->s, "shop", "logs", "/v/logs", NULL, E));
	ok(sk_store_volume_put(f->s, "shop", "data", "/v/data", NULL, E));
	ok(sk_store_volume_put(f->s, "blog", "data", "/v/blog", NULL, E));
	ok(sk_store_volume_list(f->s, "shop", &v, &n, E));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "data");
	assert_string_equal(v[0].path, "/v/data");
	assert_string_equal(v[1].app, "shop");
	assert_true(v[1].created_ns > 0);
	sk_store_volumes_free(v, n);
	ok(sk_store_volume_delete(f->s, "shop", "data", E));
	expect_fail(sk_store_volume_delete(f->s, "shop", "data", &e), ENOENT,
		    "delete volume shop_data");
}

/* ---- networks, leases, faults ---- */

static void test_networks_and_leases(void **state)
{
	struct fixture *f = *state;
	_cleanup_strv_ char **apps = NULL, **subnets = NULL, **svcs = NULL, **js = NULL;
	_cleanup_free_ char *subnet = NULL, *bridge = NULL;
	struct sk_store_lease *v = NULL;
	struct sk_error *e = NULL;
	size_t n = 0;

	expect_fail(sk_store_net_get(f->s, "shop", &subnet, &bridge, &e), ENOENT, "no network");
	ok(sk_store_net_put(f->s, "shop", "10.89.1.0/24", "sk-1", E));
	ok(sk_store_net_put(f->s, "blog", "10.89.2.0/24", "sk-2", E));
	/* a subnet belongs to one app */
	expect_fail(sk_store_net_put(f->s, "wiki", "10.89.1.0/24", "sk-3", &e), EEXIST,
		    "already taken");
	ok(sk_store_net_get(f->s, "shop", &subnet, &bridge, E));
	assert_string_equal(subnet, "10.89.1.0/24");
	assert_string_equal(bridge, "sk-1");
	ok(sk_store_net_list(f->s, &apps, &subnets, E));
	assert_int_equal(sk_strv_length(apps), 2);
	assert_string_equal(apps[0], "blog");
	assert_string_equal(subnets[1], "10.89.1.0/24");

	ok(sk_store_lease_put(f->s, "shop", "10.89.1.2", "shop-web-1", E));
	ok(sk_store_lease_put(f->s, "shop", "10.89.1.3", "vip:web", E));
	expect_fail(sk_store_lease_put(f->s, "shop", "10.89.1.2", "shop-web-2", &e), EEXIST,
		    "already taken");
	expect_fail(sk_store_lease_put(f->s, "shop", "10.89.1.9", "shop-web-1", &e), EEXIST,
		    "already taken");
	ok(sk_store_lease_put(f->s, "blog", "10.89.1.2", "blog-web-1", E)); /* other app */
	ok(sk_store_lease_list(f->s, "shop", &v, &n, E));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].owner, "shop-web-1");
	assert_string_equal(v[1].addr, "10.89.1.3");
	sk_store_leases_free(v, n);
	ok(sk_store_lease_delete(f->s, "shop", "shop-web-1", E));
	ok(sk_store_lease_delete(f->s, "shop", "shop-web-1", E)); /* idempotent */
	/* deleting the network releases every lease of the app, and only its */
	ok(sk_store_net_delete(f->s, "shop", E));
	ok(sk_store_lease_list(f->s, "shop", &v, &n, E));
	assert_int_equal(n, 0);
	sk_store_leases_free(v, n);
	ok(sk_store_lease_list(f->s, "blog", &v, &n, E));
	assert_int_equal(n, 1);
	sk_store_leases_free(v, n);

	ok(sk_store_fault_put(f->s, "shop", "web", "{\"abort\": {\"status\": 503}}", E));
	ok(sk_store_fault_put(f->s, "shop", "web", "{}", E));
	expect_fail(sk_store_fault_put(f->s, "shop", "api", "{not json", &e), EINVAL,
		    "invalid value");
	ok(sk_store_fault_list(f->s, "shop", &svcs, &js, E));
	assert_int_equal(sk_strv_length(svcs), 1);
	assert_string_equal(js[0], "{}");
	ok(sk_store_fault_put(f->s, "shop", "web", NULL, E));
	ok(sk_store_fault_delete_app(f->s, "shop", E));
}

/* ---- transactions ---- */

static void test_transactions(void **state)
{
	struct fixture *f = *state;
	struct sk_store_app app = { 0 };
	struct sk_error *e = NULL;

	ok(sk_store_begin(f->s, E));
	assert_true(sk_store_in_transaction(f->s));
	expect_fail(sk_store_begin(f->s, &e), EBUSY, "already open");
	put_shop(f->s); /* joins as a savepoint */
	sk_store_rollback(f->s);
	assert_false(sk_store_in_transaction(f->s));
	e = NULL;
	expect_fail(sk_store_app_get(f->s, "shop", &app, &e), ENOENT, "no such app");

	ok(sk_store_begin(f->s, E));
	put_shop(f->s);
	/* a failing call inside rolls back only its own savepoint */
	const struct sk_store_service_spec neg[] = { { "web", "a", -1 } };
	struct sk_store_app_spec bad = { "blog", "/", "{}", neg, 1 };
	e = NULL;
	assert_true(sk_store_app_put(f->s, &bad, NULL, NULL, &e) < 0);
	sk_error_free(e);
	assert_true(sk_store_in_transaction(f->s));
	ok(sk_store_commit(f->s, E));
	ok(sk_store_app_get(f->s, "shop", &app, E));
	sk_store_app_release(&app);
	e = NULL;
	expect_fail(sk_store_app_get(f->s, "blog", &app, &e), ENOENT, "no such app");
	e = NULL;
	expect_fail(sk_store_commit(f->s, &e), EINVAL, "no transaction is open");
	sk_store_rollback(f->s); /* no-op */
}

/* ---- events ---- */

static int64_t append(struct sk_store *s, const char *app, const char *svc, int64_t rep,
		      enum sk_store_event_type type, int64_t t, const char *attrs)
{
	struct sk_store_event ev = { .time_ns = t,
				     .app = app,
				     .service = svc,
				     .replica = rep,
				     .type = type,
				     .message = "m",
				     .attrs_json = attrs };
	int64_t id = 0;

	ok(sk_store_event_append(s, &ev, &id, E));
	return id;
}

static size_t list(struct sk_store *s, const struct sk_store_event_filter *flt,
		   struct sk_store_event_rec **v)
{
	size_t n = 0;

	*v = NULL;
	ok(sk_store_event_list(s, flt, v, &n, E));
	return n;
}

static void test_events(void **state)
{
	struct fixture *f = *state;
	struct sk_store_event_filter flt;
	struct sk_store_event_rec *v = NULL;
	struct sk_error *e = NULL;
	enum sk_store_event_type t;
	size_t n;

	int64_t a = append(f->s, "shop", "web", 1, SK_STORE_EV_EXIT, 1000, "{\"code\":137}");
	int64_t b = append(f->s, "shop", "web", 2, SK_STORE_EV_OOM, 2000, NULL);
	int64_t c = append(f->s, "shop", "db", 1, SK_STORE_EV_RESTART, 3000, NULL);
	int64_t d = append(f->s, "blog", NULL, 0, SK_STORE_EV_SCALE, 4000, "{\"from\":1,\"to\":3}");
	int64_t g = append(f->s, NULL, NULL, 0, SK_STORE_EV_ERROR, 0, NULL);
	assert_true(a < b && b < c && c < d && d < g);

	sk_store_event_filter_init(&flt);
	n = list(f->s, &flt, &v);
	assert_int_equal(n, 5);
	assert_int_equal(v[0].id, a);
	assert_int_equal(v[0].time_ns, 1000);
	assert_string_equal(v[0].app, "shop");
	assert_string_equal(v[0].service, "web");
	assert_int_equal(v[0].replica, 1);
	assert_int_equal(v[0].type, SK_STORE_EV_EXIT);
	assert_string_equal(v[0].message, "m");
	assert_string_equal(v[0].attrs_json, "{\"code\":137}");
	assert_null(v[1].attrs_json);
	assert_null(v[3].service);
	assert_string_equal(v[4].app, "");
	assert_true(v[4].time_ns > 1000000000000000000LL); /* "now" */
	sk_store_events_free(v, n);

	/* tailing: after an id */
	flt.after_id = b;
	n = list(f->s, &flt, &v);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].id, c);
	sk_store_events_free(v, n);

	sk_store_event_filter_init(&flt);
	flt.app = "shop";
	flt.service = "web";
	assert_int_equal(list(f->s, &flt, &v), 2);
	sk_store_events_free(v, 2);
	flt.replica = 2;
	assert_int_equal(list(f->s, &flt, &v), 1);
	assert_int_equal(v[0].type, SK_STORE_EV_OOM);
	sk_store_events_free(v, 1);

	sk_store_event_filter_init(&flt);
	flt.type = SK_STORE_EV_SCALE;
	assert_int_equal(list(f->s, &flt, &v), 1);
	assert_string_equal(v[0].app, "blog");
	sk_store_events_free(v, 1);

	sk_store_event_filter_init(&flt);
	flt.since_ns = 2000;
	flt.until_ns = 4000;
	assert_int_equal(list(f->s, &flt, &v), 2);
	assert_int_equal(v[0].id, b);
	assert_int_equal(v[1].id, c);
	sk_store_events_free(v, 2);

	/* the newest two, oldest first; and the oldest two */
	sk_store_event_filter_init(&flt);
	flt.limit = 2;
	flt.last = true;
	assert_int_equal(list(f->s, &flt, &v), 2);
	assert_int_equal(v[0].id, d);
	assert_int_equal(v[1].id, g);
	sk_store_events_free(v, 2);
	flt.last = false;
	assert_int_equal(list(f->s, &flt, &v), 2);
	assert_int_equal(v[0].id, a);
	sk_store_events_free(v, 2);

	/* nothing new */
	sk_store_event_filter_init(&flt);
	flt.after_id = g;
	assert_int_equal(list(f->s, &flt, &v), 0);
	assert_null(v);

	struct sk_store_event bad = {
		.app = "shop", .type = SK_STORE_EV_EXIT, .message = "m", .attrs_json = "{nope"
	};
	expect_fail(sk_store_event_append(f->s, &bad, NULL, &e), EINVAL, "CHECK constraint failed");
	bad = (struct sk_store_event){ .app = "shop", .type = SK_STORE_EV_N_TYPES };
	e = NULL;
	expect_fail(sk_store_event_append(f->s, &bad, NULL, &e), EINVAL, "unknown type");

	for (int i = 0; i < SK_STORE_EV_N_TYPES; i++) {
		assert_int_equal(sk_store_event_type_from_name(sk_store_event_type_name(i), &t), 0);
		assert_int_equal((int)t, i);
	}
	assert_int_equal(sk_store_event_type_from_name("bogus", &t), -EINVAL);
}

static void test_event_retention(void **state)
{
	struct fixture *f = *state;
	struct sk_store_opts o = { .events_per_app = 100, .events_total = 250 };
	struct sk_store_event_filter flt;
	struct sk_store_event_rec *v = NULL;
	struct sk_store *s = NULL;
	int64_t last = 0, deleted = 0;
	int rows;

	sk_store_close(f->s);
	ok(sk_store_open(f->dir, &o, &f->s, E));
	s = f->s;
	for (int i = 0; i < 1000; i++)
		last = append(s, "shop", "web", 1, SK_STORE_EV_RESTART, 0, NULL);
	/* pruned along the way: at most one pass (64 appends) behind */
	rows = count_rows(f->dir, "events");
	assert_true(rows >= 100 && rows < 100 + 64);
	ok(sk_store_event_prune(s, "shop", &deleted, E));
	assert_int_equal(count_rows(f->dir, "events"), 100);

	/* the survivors are the newest 100 */
	sk_store_event_filter_init(&flt);
	flt.limit = 1000;
	assert_int_equal(list(s, &flt, &v), 100);
	assert_int_equal(v[99].id, last);
	assert_int_equal(v[0].id, last - 99);
	sk_store_events_free(v, 100);

	/* per-app caps, then the total cap across apps */
	for (int i = 0; i < 200; i++) {
		append(s, "blog", NULL, 0, SK_STORE_EV_HEALTH, 0, NULL);
		append(s, "wiki", NULL, 0, SK_STORE_EV_HEALTH, 0, NULL);
	}
	ok(sk_store_event_prune(s, "blog", NULL, E));
	ok(sk_store_event_prune(s, "wiki", NULL, E));
	ok(sk_store_event_prune(s, "shop", NULL, E));
	/* the total cap took the oldest rows, whichever app they were: shop's */
	rows = count_rows(f->dir, "events");
	assert_true(rows <= 250);
	sk_store_event_filter_init(&flt);
	flt.app = "blog";
	assert_int_equal(list(s, &flt, &v), 100);
	sk_store_events_free(v, 100);
	flt.app = "wiki";
	assert_int_equal(list(s, &flt, &v), 100);
	sk_store_events_free(v, 100);

	/* a big excess (retention lowered) is removed in bounded batches of 1024 */
	sk_store_close(f->s);
	f->s = NULL;
	ok(sk_store_open(f->dir, NULL, &f->s, E));
	s = f->s;
	ok(sk_store_begin(s, E));
	for (int i = 0; i < 3000; i++)
		append(s, "big", NULL, 0, SK_STORE_EV_HEALTH, 0, NULL);
	ok(sk_store_commit(s, E));
	sk_store_close(f->s);
	f->s = NULL;
	o = (struct sk_store_opts){ .events_per_app = 10 };
	ok(sk_store_open(f->dir, &o, &f->s, E));
	s = f->s;
	ok(sk_store_event_prune(s, "big", &deleted, E));
	assert_int_equal(deleted, 1024);
	do
		ok(sk_store_event_prune(s, "big", &deleted, E));
	while (deleted > 0);
	assert_int_equal(count_rows(f->dir, "events"), rows + 10);

	/* ids are never reused, even when the newest rows are gone */
	int64_t before = append(s, "gone", NULL, 0, SK_STORE_EV_CREATE, 0, NULL);
	_cleanup_free_ char *path = sk_path_join(f->dir, "skiff.db");
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "DELETE FROM events WHERE app = 'gone'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_true(append(s, "gone", NULL, 0, SK_STORE_EV_CREATE, 0, NULL) > before);
}

/* ---- concurrency ---- */

static void test_reader_beside_writer(void **state)
{
	struct fixture *f = *state;
	struct sk_store_replica r1 = replica("web", 1, "c1"), got = { 0 };
	struct sk_store_replica_obs obs = { .state = SK_STORE_OBS_RUNNING, .pid = 77 };
	struct sk_store_opts quick = { .busy_timeout_ms = 1 };
	struct sk_store *reader = NULL;

	put_shop(f->s);
	ok(sk_store_replica_upsert(f->s, &r1, E));
	ok(sk_store_open(f->dir, &quick, &reader, E));

	/* the reader holds a snapshot open (a read transaction) ... */
	ok(sk_store_replica_get(reader, "shop", "web", 1, &got, E)); /* prepare outside */
	sk_store_replica_release(&got);
	_cleanup_free_ char *path = sk_path_join(f->dir, "skiff.db");
	sqlite3 *raw = NULL;
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(raw, "BEGIN; SELECT count(*) FROM replicas", NULL, NULL, NULL), SQLITE_OK);

	/* ... the writer is not blocked, and the snapshot does not move */
	ok(sk_store_replica_observe(f->s, "shop", "web", 1, &obs, E));
	ok(sk_store_replica_get(reader, "shop", "web", 1, &got, E));
	assert_int_equal(got.obs.pid, 77); /* a fresh read sees the commit */
	sk_store_replica_release(&got);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(raw, "SELECT pid FROM replicas", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0); /* the old snapshot */
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);

	/* a second writer handle waits for the write lock, then gives up with EBUSY */
	ok(sk_store_begin(f->s, E));
	struct sk_error *e = NULL;
	expect_fail(sk_store_replica_observe(reader, "shop", "web", 1, &obs, &e), EBUSY,
		    "database is locked");
	sk_store_rollback(f->s);
	sk_store_close(reader);
}

struct writer_arg {
	const char *dir;
	int n;
	int failed;
};

static void *writer_thread(void *p)
{
	struct writer_arg *a = p;
	struct sk_store_opts o = { .manual_checkpoint = true };
	struct sk_store *s = NULL;
	struct sk_error *e = NULL;

	if (sk_store_open(a->dir, &o, &s, &e) < 0) {
		a->failed = 1;
		sk_error_free(e);
		return NULL;
	}
	for (int i = 1; i <= a->n && !a->failed; i++) {
		struct sk_store_replica_obs obs = { .state = SK_STORE_OBS_RUNNING,
						    .pid = i,
						    .restarts = i };
		if (sk_store_replica_observe(s, "shop", "web", 1 + i % 2, &obs, &e) < 0)
			a->failed = 1;
	}
	sk_error_free(e);
	sk_store_close(s);
	return NULL;
}

/* A writer thread updates replicas while this thread reads and checkpoints on its own handle. */
static void test_thread_reader_and_checkpoint(void **state)
{
	struct fixture *f = *state;
	struct sk_store_replica r1 = replica("web", 1, "c1"), r2 = replica("web", 2, "c2");
	struct writer_arg a = { .dir = f->dir, .n = 2000 };
	struct sk_store_replica *v = NULL;
	int64_t last_restarts = 0;
	int reads = 0, wal = 0, done = 0;
	pthread_t th;
	size_t n;

	put_shop(f->s);
	ok(sk_store_replica_upsert(f->s, &r1, E));
	ok(sk_store_replica_upsert(f->s, &r2, E));
	assert_int_equal(pthread_create(&th, NULL, writer_thread, &a), 0);
	for (;;) {
		ok(sk_store_replica_list(f->s, "shop", "web", &v, &n, E));
		assert_int_equal(n, 2);
		int64_t m =
		    v[0].obs.restarts > v[1].obs.restarts ? v[0].obs.restarts : v[1].obs.restarts;
		assert_true(m >= last_restarts); /* never goes back */
		last_restarts = m;
		sk_store_replicas_free(v, n);
		if (++reads % 16 == 0)
			ok(sk_store_checkpoint(f->s, &wal, &done, E));
		if (m == a.n || a.failed)
			break;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.failed, 0);
	ok(sk_store_checkpoint(f->s, &wal, &done, E));
	assert_int_equal(wal, done); /* nobody else reading: everything copied back */
}

/* Prints the cost of the control loop's hot write (sanitized build: a lower bound). */
static void test_write_rate(void **state)
{
	struct fixture *f = *state;
	struct sk_store_opts o = { .manual_checkpoint = true };
	struct sk_store_replica r1 = replica("web", 1, "c1");
	const int n = 2000;
	uint64_t t0, t1;

	sk_store_close(f->s);
	ok(sk_store_open(f->dir, &o, &f->s, E));
	put_shop(f->s);
	ok(sk_store_replica_upsert(f->s, &r1, E));
	t0 = sk_now_ns();
	for (int i = 0; i < n; i++) {
		struct sk_store_replica_obs obs = { .state = SK_STORE_OBS_RUNNING, .pid = i };
		ok(sk_store_replica_observe(f->s, "shop", "web", 1, &obs, E));
	}
	t1 = sk_now_ns();
	print_message("store: %d replica updates, one commit each: %.0f/s (sanitized build)\n", n,
		      n / ((double)(t1 - t0) / 1e9));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_networks_and_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_cloexec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_or_foreign_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_revisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_put_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replicas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_cascades, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_beside_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_reader_and_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_rate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
