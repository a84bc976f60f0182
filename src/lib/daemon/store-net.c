/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-net.c - the store's networking rows: each app's subnet and bridge,
 * the address leases of its replicas and virtual service addresses (IPAM),
 * and faults injected at runtime.  The arithmetic of choosing addresses is
 * net/ipam.c's; this file only remembers the choices.
 */
#include "daemon/store-internal.h"

#include <errno.h>
#include <stdlib.h>

#include "base/cleanup.h"
#include "base/util.h"

/* Runs a statement that returns no rows; a CHECK violation is -EINVAL, other constraints -EEXIST. */
static int step_done(struct sk_store *s, sqlite3_stmt *st, struct sk_error **err, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT &&
	    sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_CHECK)
		return sk_error_set(err, EINVAL, "store: %s: invalid value", what);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return sk_error_set(err, EEXIST, "store: %s: already taken", what);
	return store_err(s, rc, err, "%s", what);
}

/* Collects two text columns of every row into parallel NULL-terminated arrays. */
static int step_pairs(struct sk_store *s, sqlite3_stmt *st, char ***ret_a, char ***ret_b,
		      struct sk_error **err, const char *what)
{
	_cleanup_strv_ char **a = NULL, **b = NULL;
	size_t n = 0;
	int rc;

	a = sk_malloc0(sizeof(*a));
	b = sk_malloc0(sizeof(*b));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a = sk_realloc(a, sizeof(*a) * (n + 2));
		b = sk_realloc(b, sizeof(*b) * (n + 2));
		a[n] = store_col_text(st, 0);
		b[n] = store_col_text(st, 1);
		a[++n] = NULL;
		b[n] = NULL;
	}
	if (rc != SQLITE_DONE)
		return store_err(s, rc, err, "%s", what);
	*ret_a = TAKE_PTR(a);
	*ret_b = TAKE_PTR(b);
	return 0;
}

int sk_store_net_get(struct sk_store *s, const char *app, char **ret_subnet, char **ret_bridge,
		     struct sk_error **err)
{
	static const char sql[] = "SELECT subnet, bridge FROM networks WHERE app = ?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return sk_error_set(err, ENOENT, "store: app '%s' has no network", app);
	if (rc != SQLITE_ROW)
		return store_err(s, rc, err, "get network of %s", app);
	*ret_subnet = store_col_text(st, 0);
	*ret_bridge = store_col_text(st, 1);
	return 0;
}

int sk_store_net_put(struct sk_store *s, const char *app, const char *subnet, const char *bridge,
		     struct sk_error **err)
{
	static const char sql[] = "INSERT INTO networks (app, subnet, bridge, created_ns)"
				  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (app) DO UPDATE"
				  " SET subnet = ?2, bridge = ?3";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *what = sk_asprintf("put network %s (%s)", app, subnet);
	int r;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, subnet);
	store_bind_text(st, 3, bridge);
	sqlite3_bind_int64(st, 4, store_now_ns());
	return step_done(s, st, err, what);
}

int sk_store_net_list(struct sk_store *s, char ***ret_apps, char ***ret_subnets,
		      struct sk_error **err)
{
	static const char sql[] = "SELECT app, subnet FROM networks ORDER BY app";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	return step_pairs(s, st, ret_apps, ret_subnets, err, "list networks");
}

int sk_store_net_delete(struct sk_store *s, const char *app, struct sk_error **err)
{
	static const char sql1[] = "DELETE FROM leases WHERE app = ?1";
	static const char sql2[] = "DELETE FROM networks WHERE app = ?1";
	_cleanup_tx_ struct store_tx tx = { 0 };
	_cleanup_free_ char *what = sk_asprintf("delete network of %s", app);
	int r;

	r = store_tx_begin(s, &tx, err);
	if (r < 0)
		return r;
	{
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		r = store_stmt(s, sql1, &st, err);
		if (r < 0)
			return r;
		store_bind_text(st, 1, app);
		r = step_done(s, st, err, what);
		if (r < 0)
			return r;
	}
	{
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		r = store_stmt(s, sql2, &st, err);
		if (r < 0)
			return r;
		store_bind_text(st, 1, app);
		r = step_done(s, st, err, what);
		if (r < 0)
			return r;
	}
	return store_tx_commit(&tx, err);
}

void sk_store_leases_free(struct sk_store_lease *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].addr);
		free(v[i].owner);
	}
	free(v);
}

int sk_store_lease_put(struct sk_store *s, const char *app, const char *addr, const char *owner,
		       struct sk_error **err)
{
	static const char sql[] = "INSERT INTO leases (app, addr, owner, created_ns)"
				  " VALUES (?1, ?2, ?3, ?4)";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *what = sk_asprintf("lease %s to %s/%s", addr, app, owner);
	int r;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, addr);
	store_bind_text(st, 3, owner);
	sqlite3_bind_int64(st, 4, store_now_ns());
	return step_done(s, st, err, what);
}

int sk_store_lease_list(struct sk_store *s, const char *app, struct sk_store_lease **ret,
			size_t *ret_n, struct sk_error **err)
{
	static const char sql[] = "SELECT addr, owner FROM leases WHERE app = ?1 ORDER BY owner";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_strv_ char **addrs = NULL, **owners = NULL;
	struct sk_store_lease *v;
	size_t n;
	int r;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	r = step_pairs(s, st, &addrs, &owners, err, "list leases");
	if (r < 0)
		return r;
	n = sk_strv_length(addrs);
	v = sk_malloc0(sizeof(*v) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		v[i].addr = TAKE_PTR(addrs[i]);
		v[i].owner = TAKE_PTR(owners[i]);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sk_store_lease_delete(struct sk_store *s, const char *app, const char *owner,
			  struct sk_error **err)
{
	static const char sql[] = "DELETE FROM leases WHERE app = ?1 AND owner = ?2";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *what = sk_asprintf("release lease of %s/%s", app, owner);
	int r;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, owner);
	return step_done(s, st, err, what);
}

int sk_store_fault_put(struct sk_store *s, const char *app, const char *service,
		       const char *fault_json, struct sk_error **err)
{
	static const char put[] =
	    "INSERT INTO faults (app, service, fault_json) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (app, service) DO UPDATE SET fault_json = ?3";
	static const char del[] = "DELETE FROM faults WHERE app = ?1 AND service = ?2";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *what = sk_asprintf("set fault of %s/%s", app, service);
	int r;

	r = store_stmt(s, fault_json ? put : del, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	store_bind_text(st, 2, service);
	if (fault_json)
		store_bind_text(st, 3, fault_json);
	return step_done(s, st, err, what);
}

int sk_store_fault_list(struct sk_store *s, const char *app, char ***ret_services, char ***ret_json,
			struct sk_error **err)
{
	static const char sql[] =
	    "SELECT service, fault_json FROM faults WHERE app = ?1 ORDER BY service";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	return step_pairs(s, st, ret_services, ret_json, err, "list faults");
}

int sk_store_fault_delete_app(struct sk_store *s, const char *app, struct sk_error **err)
{
	static const char sql[] = "DELETE FROM faults WHERE app = ?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *what = sk_asprintf("delete faults of %s", app);
	int r;

	r = store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	store_bind_text(st, 1, app);
	return step_done(s, st, err, what);
}
