/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-internal.h - what the store's .c files share: the handle, the
 * prepared-statement cache, transactions and SQLite error mapping.  Not
 * part of the store's contract; only src/lib/daemon/store*.c include it.
 */
#ifndef SK_DAEMON_STORE_INTERNAL_H
#define SK_DAEMON_STORE_INTERNAL_H

#include <sqlite3.h>

#include "daemon/store.h"

struct store_cached {
	const char *sql; /* identity: the address of a static string */
	sqlite3_stmt *st;
};

struct sk_store {
	sqlite3 *db;
	char *path;
	struct sk_store_opts opts;
	struct store_cached *cache;
	size_t n_cache;
	unsigned appends_since_prune;
};

/*
 * Sets *err to "store: <fmt>: <sqlite message>" with an errno derived from
 * the SQLite result code `rc`, and returns that negative errno.
 */
int store_err(struct sk_store *s, int rc, struct sk_error **err, const char *fmt, ...)
    _printf_(4, 5);
/* The negative errno for a SQLite result code (0 for OK/ROW/DONE). */
int store_errno(struct sk_store *s, int rc);

/*
 * The cached prepared statement for `sql` (a string literal: its address is
 * the cache key), prepared on first use.  Use it through a local declared
 * `_cleanup_stmt_ sqlite3_stmt *st`, which resets it and clears its
 * bindings on every path.
 */
int store_stmt(struct sk_store *s, const char *sql, sqlite3_stmt **ret, struct sk_error **err);
static inline void store_stmt_resetp(sqlite3_stmt **st)
{
	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
}
#define _cleanup_stmt_ _cleanup_(store_stmt_resetp)

/* Runs SQL without results (pragmas, DDL, transaction control). */
int store_exec(struct sk_store *s, const char *sql, struct sk_error **err);

/*
 * A unit of work: BEGIN IMMEDIATE when no transaction is open, else a
 * savepoint inside the caller's.  Declared `_cleanup_tx_ struct store_tx tx
 * = {0}`; leaving scope without store_tx_commit() rolls it back.
 */
struct store_tx {
	struct sk_store *s;
	bool savepoint;
};
int store_tx_begin(struct sk_store *s, struct store_tx *tx, struct sk_error **err);
int store_tx_commit(struct store_tx *tx, struct sk_error **err);
void store_tx_rollback(struct store_tx *tx);
static inline void store_tx_rollbackp(struct store_tx *tx)
{
	store_tx_rollback(tx);
}
#define _cleanup_tx_ _cleanup_(store_tx_rollbackp)

/* Binds a string, NULL as SQL NULL (SQLITE_STATIC: it must outlive the step). */
int store_bind_text(sqlite3_stmt *st, int i, const char *v);
/* A text column as an owned string, NULL for SQL NULL. */
char *store_col_text(sqlite3_stmt *st, int i);

/* Wall-clock nanoseconds since the epoch. */
int64_t store_now_ns(void);

/* Runs the schema migrations (store-schema.c); called by sk_store_open(). */
int store_migrate(struct sk_store *s, struct sk_error **err);
/* Reads the schema version (0 for an empty database). */
int store_read_version(struct sk_store *s, int *ret, struct sk_error **err);

#endif
