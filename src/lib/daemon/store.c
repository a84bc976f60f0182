/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - the store handle: opening skiff.db with the pragmas skiffd
 * relies on, the prepared-statement cache, transactions, checkpoints and
 * the mapping of SQLite errors to errno + message.
 *
 * The tables live in store-schema.c; the queries in store-app.c,
 * store-replica.c and store-event.c.
 */
#include "daemon/store-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/util.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_EVENTS_PER_APP 10000
#define STORE_EVENTS_TOTAL 100000
/* After a checkpoint, a WAL restarted from the beginning is truncated to this. */
#define STORE_JOURNAL_SIZE_LIMIT (16 * 1024 * 1024)

int64_t store_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Constraint failures say which rule was broken: map the useful ones. */
static int constraint_errno(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return ENOENT;
	default:
		return EINVAL;
	}
}

int store_errno(struct sk_store *s, int rc)
{
	int sys = s && s->db ? sqlite3_system_errno(s->db) : 0;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		abort();
	case SQLITE_CONSTRAINT:
		return -constraint_errno(rc);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CANTOPEN:
		return -(sys > 0 ? sys : EACCES);
	case SQLITE_IOERR:
		return -(sys > 0 ? sys : EIO);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EPERM;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int store_err(struct sk_store *s, int rc, struct sk_error **err, const char *fmt, ...)
{
	int r = store_errno(s, rc);
	const char *why = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	char *what = NULL;
	va_list ap;

	if (r == 0)
		r = -EIO;
	if (!err || *err)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		abort();
	va_end(ap);
	/* sk_error_set() would append strerror(); the SQLite message says more. */
	*err = sk_new0(struct sk_error, 1);
	(*err)->code = -r;
	(*err)->msg = sk_asprintf("store: %s: %s", what, why);
	free(what);
	return r;
}

int store_stmt(struct sk_store *s, const char *sql, sqlite3_stmt **ret, struct sk_error **err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	for (size_t i = 0; i < s->n_cache; i++)
		if (s->cache[i].sql == sql) {
			*ret = s->cache[i].st;
			return 0;
		}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return store_err(s, rc, err, "prepare '%.40s...'", sql);
	s->cache = sk_realloc(s->cache, sizeof(*s->cache) * (s->n_cache + 1));
	s->cache[s->n_cache++] = (struct store_cached){ .sql = sql, .st = st };
	*ret = st;
	return 0;
}

int store_exec(struct sk_store *s, const char *sql, struct sk_error **err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_err(s, rc, err, "%s", sql);
	return 0;
}

int store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

char *store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? sk_strdup((const char *)t) : NULL;
}

/* ---- transactions ---- */

int store_tx_begin(struct sk_store *s, struct store_tx *tx, struct sk_error **err)
{
	bool nested = !sqlite3_get_autocommit(s->db);
	int r = store_exec(s, nested ? "SAVEPOINT sk" : "BEGIN IMMEDIATE", err);

	if (r < 0)
		return r;
	*tx = (struct store_tx){ .s = s, .savepoint = nested };
	return 0;
}

int store_tx_commit(struct store_tx *tx, struct sk_error **err)
{
	int r = store_exec(tx->s, tx->savepoint ? "RELEASE sk" : "COMMIT", err);

	if (r < 0)
		return r; /* still open: the cleanup rolls it back */
	tx->s = NULL;
	return 0;
}

void store_tx_rollback(struct store_tx *tx)
{
	struct sk_store *s = tx->s;

	if (!s)
		return;
	tx->s = NULL;
	/* SQLite may already have rolled back after an I/O error or SQLITE_FULL. */
	if (sqlite3_get_autocommit(s->db))
		return;
	if (tx->savepoint)
		(void)sqlite3_exec(s->db, "ROLLBACK TO sk; RELEASE sk", NULL, NULL, NULL);
	else
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int sk_store_begin(struct sk_store *s, struct sk_error **err)
{
	if (!sqlite3_get_autocommit(s->db))
		return sk_error_set(err, EBUSY, "store: begin: a transaction is already open");
	return store_exec(s, "BEGIN IMMEDIATE", err);
}

int sk_store_commit(struct sk_store *s, struct sk_error **err)
{
	if (sqlite3_get_autocommit(s->db))
		return sk_error_set(err, EINVAL, "store: commit: no transaction is open");
	return store_exec(s, "COMMIT", err);
}

void sk_store_rollback(struct sk_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

bool sk_store_in_transaction(struct sk_store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

int sk_store_checkpoint(struct sk_store *s, int *ret_wal_pages, int *ret_done,
			struct sk_error **err)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);

	/* Another connection checkpointing (or recovering) right now is not an
	 * error for a periodic checkpoint: nothing was copied this time. */
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		rc = SQLITE_OK;
		done = 0;
	}
	if (rc != SQLITE_OK)
		return store_err(s, rc, err, "checkpoint '%s'", s->path);
	if (ret_wal_pages)
		*ret_wal_pages = log;
	if (ret_done)
		*ret_done = done;
	return 0;
}

/* ---- open and close ---- */

/*
 * SQLite gives the -wal and -shm files the database file's mode, so
 * creating skiff.db 0600 first keeps all three private.
 */
static int create_db_file(const char *path, struct sk_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return sk_error_errno(err, "store: create '%s'", path);
	return 0;
}

static int set_pragmas(struct sk_store *s, struct sk_error **err)
{
	_cleanup_free_ char *limits = NULL;
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc, r;

	if (s->opts.read_only)
		return store_exec(s, "PRAGMA foreign_keys=ON", err);
	/* The first statement to read the file: a corrupt one fails here. */
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	if (rc != SQLITE_ROW || !mode || strcmp(mode, "wal") != 0) {
		r = rc == SQLITE_ROW
			? sk_error_set(err, EIO, "store: '%s' refuses WAL mode (%s)", s->path, mode)
			: store_err(s, rc, err, "open '%s'", s->path);
		sqlite3_finalize(st);
		return r;
	}
	sqlite3_finalize(st);
	limits = sk_asprintf("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
			     "PRAGMA journal_size_limit=%d; PRAGMA wal_autocheckpoint=%d",
			     STORE_JOURNAL_SIZE_LIMIT, s->opts.manual_checkpoint ? 0 : 1000);
	return store_exec(s, limits, err);
}

static void fill_defaults(struct sk_store_opts *o)
{
	if (o->busy_timeout_ms <= 0)
		o->busy_timeout_ms = STORE_BUSY_TIMEOUT_MS;
	if (!o->events_per_app)
		o->events_per_app = STORE_EVENTS_PER_APP;
	if (!o->events_total)
		o->events_total = STORE_EVENTS_TOTAL;
}

static int open_db(struct sk_store *s, struct sk_error **err)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int rc;

	flags |= s->opts.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	rc = sqlite3_open_v2(s->path, &s->db, flags, NULL);
	if (rc != SQLITE_OK)
		return store_err(s, rc, err, "open '%s'", s->path);
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, s->opts.busy_timeout_ms);
	return 0;
}

int sk_store_open(const char *dir, const struct sk_store_opts *opts, struct sk_store **ret,
		  struct sk_error **err)
{
	_cleanup_(sk_store_closep) struct sk_store *s = sk_new0(struct sk_store, 1);
	int r, version;

	if (!dir)
		dir = SK_STORE_DEFAULT_DIR;
	if (opts)
		s->opts = *opts;
	fill_defaults(&s->opts);
	s->path = sk_path_join(dir, SK_STORE_DB_NAME);
	if (!s->opts.read_only) {
		r = sk_mkdir_p(dir, 0700);
		if (r < 0)
			return sk_error_set(err, -r, "store: create directory '%s'", dir);
		r = create_db_file(s->path, err);
		if (r < 0)
			return r;
	}
	r = open_db(s, err);
	if (r < 0)
		return r;
	r = set_pragmas(s, err);
	if (r < 0)
		return r;
	if (!s->opts.read_only) {
		r = store_migrate(s, err);
	} else {
		r = store_read_version(s, &version, err);
		if (r == 0 && version != SK_STORE_SCHEMA_VERSION)
			r = sk_error_set(err, EPROTO,
					 "store: '%s' has schema version %d, this skiff reads %d",
					 s->path, version, SK_STORE_SCHEMA_VERSION);
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

void sk_store_close(struct sk_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_cache; i++)
		sqlite3_finalize(s->cache[i].st);
	free(s->cache);
	if (s->db)
		(void)sqlite3_close(s->db);
	free(s->path);
	free(s);
}

int sk_store_schema_version(struct sk_store *s, int *ret, struct sk_error **err)
{
	return store_read_version(s, ret, err);
}
