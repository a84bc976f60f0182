/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-event.c - the event log: exits, OOM kills, restarts, health
 * changes, scaling, ... appended by the control loop and read by `skiff
 * events [-f]` (a cursor on the monotonic id) and the dashboard.
 *
 * Retention is bounded work: a pass looks up the id of the (N+1)-th newest
 * event through the (app, id) index and deletes at most PRUNE_BATCH older
 * rows.  Appends run a pass every PRUNE_EVERY calls, so the table converges
 * to its caps without any single append paying for a big delete.
 */
#include "daemon/store-internal.h"

#include <errno.h>
#include <string.h>

#define PRUNE_EVERY 64
#define PRUNE_BATCH 1024
#define LIST_DEFAULT_LIMIT 1000

static const char *const type_names[SK_STORE_EV_N_TYPES] = {
	[SK_STORE_EV_CREATE] = "create", [SK_STORE_EV_START] = "start",
	[SK_STORE_EV_STOP] = "stop",	 [SK_STORE_EV_EXIT] = "exit",
	[SK_STORE_EV_OOM] = "oom",	 [SK_STORE_EV_RESTART] = "restart",
	[SK_STORE_EV_HEALTH] = "health", [SK_STORE_EV_SCALE] = "scale",
	[SK_STORE_EV_UPDATE] = "update", [SK_STORE_EV_DELETE] = "delete",
	[SK_STORE_EV_ADOPT] = "adopt",	 [SK_STORE_EV_ERROR] = "error",
};

const char *sk_store_event_type_name(enum sk_store_event_type t)
{
	return (size_t)t < SK_ELEMENTSOF(type_names) ? type_names[t] : "unknown";
}

int sk_store_event_type_from_name(const char *name, enum sk_store_event_type *ret)
{
	for (size_t i = 0; name && i < SK_ELEMENTSOF(type_names); i++)
		if (strcmp(type_names[i], name) == 0) {
			*ret = (enum sk_store_event_type)i;
			return 0;
		}
	return -EINVAL;
}

void sk_store_events_free(struct sk_store_event_rec *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].app);
		free(v[i].service);
		free(v[i].message);
		free(v[i].attrs_json);
	}
	free(v);
}

void sk_store_event_filter_init(struct sk_store_event_filter *f)
{
	*f = (struct sk_store_event_filter){ .type = -1 };
}

/* ---- retention ---- */

/* The id at or below which events must go, or 0 when within the cap. */
static int cutoff(struct sk_store *s, const char *app, unsigned keep, int64_t *ret,
		  struct sk_error **err)
{
	static const char per_app[] =
	    "SELECT id FROM events WHERE app = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2";
	static const char total[] = "SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?2";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, app ? per_app : total, &st, err);
	if (r < 0)
		return r;
	if (app)
		store_bind_text(st, 1, app);
	sqlite3_bind_int64(st, 2, keep);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_err(s, rc, err, "prune events");
	return 0;
}

static int delete_upto(struct sk_store *s, const char *app, int64_t upto, int64_t *deleted,
		       struct sk_error **err)
{
	static const char per_app[] = "DELETE FROM events WHERE id IN (SELECT id FROM events"
				      " WHERE app = ?1 AND id <= ?2 ORDER BY id LIMIT ?3)";
	static const char total[] = "DELETE FROM events WHERE id IN (SELECT id FROM events"
				    " WHERE id <= ?2 ORDER BY id LIMIT ?3)";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, app ? per_app : total, &st, err);
	if (r < 0)
		return r;
	if (app)
		store_bind_text(st, 1, app);
	sqlite3_bind_int64(st, 2, upto);
	sqlite3_bind_int(st, 3, PRUNE_BATCH);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "prune events");
	*deleted += sqlite3_changes(s->db);
	return 0;
}

static int prune_one(struct sk_store *s, const char *app, unsigned keep, int64_t *deleted,
		     struct sk_error **err)
{
	int64_t upto = 0;
	int r = cutoff(s, app, keep, &upto, err);

	if (r < 0 || upto == 0)
		return r;
	return delete_upto(s, app, upto, deleted, err);
}

int sk_store_event_prune(struct sk_store *s, const char *app, int64_t *ret_deleted,
			 struct sk_error **err)
{
	_cleanup_tx_ struct store_tx tx = { 0 };
	int64_t deleted = 0;
	int r;

	r = store_tx_begin(s, &tx, err);
	if (r < 0)
		return r;
	if (app)
		r = prune_one(s, app, s->opts.events_per_app, &deleted, err);
	if (r >= 0)
		r = prune_one(s, NULL, s->opts.events_total, &deleted, err);
	if (r >= 0)
		r = store_tx_commit(&tx, err);
	if (r < 0)
		return r;
	if (ret_deleted)
		*ret_deleted = deleted;
	return 0;
}

/* ---- append and list ---- */

int sk_store_event_append(struct sk_store *s, const struct sk_store_event *ev, int64_t *ret_id,
			  struct sk_error **err)
{
	static const char sql[] =
	    "INSERT INTO events (time_ns, app, service, replica, type, message, attrs_json)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const char *app = ev->app ? ev->app : "";
	int r, rc;

	if ((size_t)ev->type >= SK_ELEMENTSOF(type_names))
		return sk_error_set(err, EINVAL, "store: append event: unknown type %d",
				    (int)ev->type);
	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, ev->time_ns ? ev->time_ns : store_now_ns());
	store_bind_text(st, 2, app);
	store_bind_text(st, 3, ev->service);
	sqlite3_bind_int64(st, 4, ev->replica);
	store_bind_text(st, 5, type_names[ev->type]);
	store_bind_text(st, 6, ev->message ? ev->message : "");
	store_bind_text(st, 7, ev->attrs_json);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "append %s event for %s", type_names[ev->type],
				 *app ? app : "skiffd");
	if (ret_id)
		*ret_id = sqlite3_column_int64(st, 0);
	store_stmt_resetp(&st); /* finish the INSERT before the prune's statements */
	if (++s->appends_since_prune < PRUNE_EVERY)
		return 0;
	s->appends_since_prune = 0;
	return sk_store_event_prune(s, app, NULL, err);
}

#define EVENT_WHERE                                                                                \
	" FROM events WHERE id > ?1 AND (?2 IS NULL OR app = ?2) AND (?3 IS NULL OR service = ?3)" \
	" AND (?4 = 0 OR replica = ?4) AND (?5 IS NULL OR type = ?5) AND time_ns >= ?6"            \
	" AND (?7 = 0 OR time_ns < ?7)"
#define EVENT_COLS "SELECT id, time_ns, app, service, replica, type, message, attrs_json"

static void read_event(sqlite3_stmt *st, struct sk_store_event_rec *e)
{
	enum sk_store_event_type t = SK_STORE_EV_ERROR;

	e->id = sqlite3_column_int64(st, 0);
	e->time_ns = sqlite3_column_int64(st, 1);
	e->app = store_col_text(st, 2);
	e->service = store_col_text(st, 3);
	e->replica = sqlite3_column_int64(st, 4);
	(void)sk_store_event_type_from_name((const char *)sqlite3_column_text(st, 5), &t);
	e->type = t;
	e->message = store_col_text(st, 6);
	e->attrs_json = store_col_text(st, 7);
}

static void bind_filter(sqlite3_stmt *st, const struct sk_store_event_filter *f)
{
	sqlite3_bind_int64(st, 1, f->after_id);
	store_bind_text(st, 2, f->app);
	store_bind_text(st, 3, f->service);
	sqlite3_bind_int64(st, 4, f->replica);
	store_bind_text(st, 5, f->type >= 0 ? sk_store_event_type_name(f->type) : NULL);
	sqlite3_bind_int64(st, 6, f->since_ns);
	sqlite3_bind_int64(st, 7, f->until_ns);
	sqlite3_bind_int64(st, 8, f->limit ? (int64_t)f->limit : LIST_DEFAULT_LIMIT);
}

/* The newest matches come out newest first: turn them around. */
static void reverse(struct sk_store_event_rec *v, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		struct sk_store_event_rec t = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

int sk_store_event_list(struct sk_store *s, const struct sk_store_event_filter *f,
			struct sk_store_event_rec **ret, size_t *ret_n, struct sk_error **err)
{
	static const char oldest[] = EVENT_COLS EVENT_WHERE " ORDER BY id LIMIT ?8";
	static const char newest[] = EVENT_COLS EVENT_WHERE " ORDER BY id DESC LIMIT ?8";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct sk_store_event_rec *v = NULL;
	size_t n = 0;
	int r, rc;

	r = store_stmt(s, f->last ? newest : oldest, &st, err);
	if (r < 0)
		return r;
	bind_filter(st, f);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sk_realloc(v, sizeof(*v) * (n + 1));
		v[n] = (struct sk_store_event_rec){ 0 };
		read_event(st, &v[n++]);
	}
	if (rc != SQLITE_DONE) {
		sk_store_events_free(v, n);
		return store_err(s, rc, err, "list events");
	}
	if (f->last)
		reverse(v, n);
	*ret = v;
	*ret_n = n;
	return 0;
}
