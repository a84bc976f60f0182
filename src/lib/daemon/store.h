/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - skiffd's desired-state store: apps, revisions, services,
 * replicas, volumes and events in SQLite (<state dir>/skiff.db, WAL).
 *
 * What the user asked for is data here; the reconciler compares it with
 * what runs.  The store knows nothing about Compose: callers hand it the
 * app model as JSON plus the per-service facts it indexes (name, config
 * hash, replicas from the file).  It is not the OCI runtime state (that
 * lives in the runtime root) and it never looks at the kernel.
 *
 * Handles and threads.  A struct sk_store is one SQLite connection with its
 * own cache of prepared statements; use it from one thread at a time.
 * Open a second handle for another thread: WAL lets readers run while the
 * (single) writer writes, and a reader never blocks the writer.
 *
 * Blocking.  With journal_mode=WAL and synchronous=NORMAL a commit is a
 * write() to the WAL in the page cache: no fsync.  fsync happens only at a
 * checkpoint (copying the WAL back into skiff.db) and when the last handle
 * closes.  So:
 *   - never blocks on fsync: every put/get/list/update/append below, on a
 *     handle opened with .manual_checkpoint = true, with one exception: the
 *     first commit after a checkpoint has copied the whole WAL back restarts
 *     the WAL and fdatasyncs its 32-byte header (SQLite does this at
 *     synchronous=NORMAL; at most once per checkpoint, measured as rare
 *     under load, ~1 ms on ext4);
 *   - may block on fsync: sk_store_open() (creates and migrates),
 *     sk_store_close() of the last handle, sk_store_checkpoint(), and any
 *     commit on a handle with automatic checkpoints (SQLite runs one in the
 *     committing call once the WAL passes 1000 pages);
 *   - may wait up to busy_timeout_ms when another process holds the write
 *     lock (skiffd is the only writer, so this does not happen in practice).
 * The daemon's control loop opens its handle with manual_checkpoint and a
 * worker thread opens a second handle and calls sk_store_checkpoint() every
 * second or so.  bench/store-write.c measures the resulting cost of a write
 * (release build, ext4 on virtio: ~17k single-commit replica updates/s with
 * the WAL growing, ~43k/s with the checkpoint thread, p99 65-120 us, rare
 * multi-ms outliers; ~160k/s batched 100 per transaction).  That is far
 * above what a control loop needs (a crash loop of 100 replicas is a few
 * hundred writes/s), so writes stay on the loop and no write thread exists;
 * batch in a transaction when handling many events in one loop iteration.
 *
 * Times are wall-clock nanoseconds since the epoch (records for humans);
 * 0 means "not set" in outputs and "now" in inputs where documented.
 * Errors: 0 or a negative errno, and *err "store: <what> <subject>: <sqlite
 * message>", e.g. "store: insert replica web.2: UNIQUE constraint failed:
 * replicas.container_id" (-EEXIST).  Missing rows are -ENOENT.
 */
#ifndef SK_DAEMON_STORE_H
#define SK_DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define SK_STORE_DEFAULT_DIR "/var/lib/skiff"
#define SK_STORE_DB_NAME "skiff.db"
/* The schema version this build writes (see store-schema.c). */
#define SK_STORE_SCHEMA_VERSION 3

struct sk_store;

struct sk_store_opts {
	int busy_timeout_ms;	 /* 0: 5000 */
	bool manual_checkpoint;	 /* no automatic checkpoint in commits (control loop) */
	unsigned events_per_app; /* retention per app, 0: 10000 */
	unsigned events_total;	 /* retention across apps, 0: 100000 */
	bool read_only;		 /* open an existing database for reading only */
};

/*
 * Opens (creating when missing, mode 0700 dir / 0600 file) <dir>/skiff.db,
 * sets WAL, synchronous=NORMAL, foreign keys and the busy timeout, and
 * migrates the schema forward to SK_STORE_SCHEMA_VERSION.  A database from a
 * newer skiff (higher version) is refused.  `dir` NULL means
 * SK_STORE_DEFAULT_DIR; `opts` NULL means defaults.  On success *ret is the
 * caller's, released with sk_store_close().
 */
int sk_store_open(const char *dir, const struct sk_store_opts *opts, struct sk_store **ret,
		  struct sk_error **err);
/* Finalizes the cached statements and closes; accepts NULL.  May fsync. */
void sk_store_close(struct sk_store *s);
static inline void sk_store_closep(struct sk_store **s)
{
	sk_store_close(*s);
}
#define _cleanup_store_ _cleanup_(sk_store_closep)

/* The schema version of the open database. */
int sk_store_schema_version(struct sk_store *s, int *ret, struct sk_error **err);

/*
 * Explicit transactions (BEGIN IMMEDIATE: the write lock is taken at once,
 * so a commit cannot fail with a stale snapshot).  The calls below join an
 * open transaction (as a savepoint) or run in their own.  Batching many
 * updates in one transaction is the cheap way to write a lot.
 */
int sk_store_begin(struct sk_store *s, struct sk_error **err);
int sk_store_commit(struct sk_store *s, struct sk_error **err);
/* Rolls back an open transaction; a no-op when none is open. */
void sk_store_rollback(struct sk_store *s);
bool sk_store_in_transaction(struct sk_store *s);

/*
 * Copies the WAL back into skiff.db (PASSIVE: waits for nobody) and fsyncs.
 * Meant for a worker thread with its own handle.  *ret_wal_pages and
 * *ret_done (either may be NULL) receive the WAL size and the pages copied.
 * When another connection is checkpointing at that moment, nothing is
 * copied (*ret_done is 0) and it still returns 0: the next call does it.
 */
int sk_store_checkpoint(struct sk_store *s, int *ret_wal_pages, int *ret_done,
			struct sk_error **err);

/* ---- apps and revisions ------------------------------------------------ */

/* What the store indexes of one service of the model. */
struct sk_store_service_spec {
	const char *name;
	const char *config_hash; /* sk_app_service_hash() */
	int64_t replicas;	 /* deploy.replicas in the file */
};

struct sk_store_app_spec {
	const char *name;
	const char *project_dir;
	const char *model_json; /* sk_app_to_json(): canonical, so equal models compare equal */
	const struct sk_store_service_spec *services;
	size_t n_services;
};

/*
 * Stores the app and, when model_json differs from the current revision's
 * (or the app is new), a new revision numbered current + 1, and brings the
 * services in line with it:
 *   - a new service is added with its replicas and config hash;
 *   - a service whose config hash changed gets the new hash and `revision`
 *     = the new number (the reconciler recreates its replicas);
 *   - desired replicas take the file's value when the service is new or the
 *     file's value changed; otherwise a `skiff scale` (or autoscaler) count
 *     stays;
 *   - a service gone from the model is marked `removed` with 0 replicas;
 *     the reconciler stops its replicas and calls sk_store_service_delete().
 * An unchanged model only updates project_dir.  *ret_revision (may be NULL)
 * is the current revision afterwards, *ret_changed (may be NULL) whether it
 * was bumped.
 */
int sk_store_app_put(struct sk_store *s, const struct sk_store_app_spec *spec,
		     int64_t *ret_revision, bool *ret_changed, struct sk_error **err);

struct sk_store_app {
	char *name;
	char *project_dir;
	int64_t created_ns, updated_ns;
	int64_t revision; /* current revision number, >= 1 */
};

void sk_store_app_release(struct sk_store_app *a);
void sk_store_apps_free(struct sk_store_app *v, size_t n);

/* -ENOENT when there is no such app. */
int sk_store_app_get(struct sk_store *s, const char *name, struct sk_store_app *ret,
		     struct sk_error **err);
/* All apps by name; *ret (NULL when none) is freed with sk_store_apps_free(). */
int sk_store_app_list(struct sk_store *s, struct sk_store_app **ret, size_t *ret_n,
		      struct sk_error **err);

struct sk_store_revision {
	int64_t number;
	char *model_json;
	char *hashes_json; /* {"service": "config hash", ...} */
	int64_t created_ns;
};

void sk_store_revision_release(struct sk_store_revision *r);

/* Revision `number` of the app, or the current one when number is 0. */
int sk_store_revision_get(struct sk_store *s, const char *app, int64_t number,
			  struct sk_store_revision *ret, struct sk_error **err);

enum sk_store_delete_flags {
	SK_STORE_DELETE_VOLUMES = 1 << 0, /* `down -v`: forget the app's volumes too */
};

/*
 * Deletes the app with its revisions, services and replicas (ON DELETE
 * CASCADE).  Its events stay (they are history, pruned by retention) and so
 * do its volumes unless SK_STORE_DELETE_VOLUMES: `down` keeps named volumes
 * for the next `up`, like Compose.  -ENOENT when there is no such app.
 */
int sk_store_app_delete(struct sk_store *s, const char *name, unsigned flags,
			struct sk_error **err);

/* ---- services ----------------------------------------------------------- */

struct sk_store_service {
	char *app, *name;
	int64_t replicas;      /* desired */
	int64_t spec_replicas; /* what the file says */
	char *config_hash;
	int64_t revision; /* revision that last changed the config hash */
	bool removed;	  /* gone from the model, waiting for its replicas to stop */
};

void sk_store_service_release(struct sk_store_service *svc);
void sk_store_services_free(struct sk_store_service *v, size_t n);

int sk_store_service_get(struct sk_store *s, const char *app, const char *name,
			 struct sk_store_service *ret, struct sk_error **err);
/* The app's services by name (removed ones included). */
int sk_store_service_list(struct sk_store *s, const char *app, struct sk_store_service **ret,
			  size_t *ret_n, struct sk_error **err);
/* Sets the desired replica count (skiff scale, the autoscaler). */
int sk_store_service_scale(struct sk_store *s, const char *app, const char *name, int64_t replicas,
			   struct sk_error **err);
/* Deletes the service and its replica rows. */
int sk_store_service_delete(struct sk_store *s, const char *app, const char *name,
			    struct sk_error **err);

/* ---- replicas ----------------------------------------------------------- */

enum sk_store_desired { SK_STORE_DESIRED_RUNNING, SK_STORE_DESIRED_STOPPED };

enum sk_store_observed {
	SK_STORE_OBS_NONE,    /* no container (yet) */
	SK_STORE_OBS_CREATED, /* created, init not started */
	SK_STORE_OBS_RUNNING,
	SK_STORE_OBS_STOPPING, /* stop signal sent, grace period running */
	SK_STORE_OBS_EXITED,
	SK_STORE_OBS_BACKOFF, /* exited, restart scheduled */
};

enum sk_store_health {
	SK_STORE_HEALTH_NONE,
	SK_STORE_HEALTH_STARTING,
	SK_STORE_HEALTH_HEALTHY,
	SK_STORE_HEALTH_UNHEALTHY
};

/* What the daemon last saw of a replica (sk_store_replica_observe()). */
struct sk_store_replica_obs {
	enum sk_store_observed state;
	int pid;		 /* 0: none */
	uint64_t pid_start_time; /* /proc/PID/stat starttime, ticks since boot */
	int64_t restarts;
	int64_t attempts; /* restarts since the last reset, for on-failure:N / max_attempts */
	bool has_exit;	  /* exit_code and exit_ns are set */
	int exit_code;	  /* 128 + signal for a signal death */
	int64_t exit_ns;
	enum sk_store_health health;
	int64_t health_failures; /* consecutive */
	int64_t started_ns;
};

struct sk_store_replica {
	char *app, *service;
	int64_t index; /* 1-based, as in web.1 */
	char *container_id;
	char *config_hash; /* the config the container was created with */
	enum sk_store_desired desired;
	char *log_path;
	struct sk_store_replica_obs obs;
	int64_t updated_ns; /* output only */
};

void sk_store_replica_release(struct sk_store_replica *r);
void sk_store_replicas_free(struct sk_store_replica *v, size_t n);

/* Inserts or replaces the whole row (the service must exist). */
int sk_store_replica_upsert(struct sk_store *s, const struct sk_store_replica *r,
			    struct sk_error **err);
/* Updates only the observed part: the hot path.  -ENOENT when missing. */
int sk_store_replica_observe(struct sk_store *s, const char *app, const char *service,
			     int64_t index, const struct sk_store_replica_obs *obs,
			     struct sk_error **err);
/* Sets the desired state (start/stop).  -ENOENT when missing. */
int sk_store_replica_set_desired(struct sk_store *s, const char *app, const char *service,
				 int64_t index, enum sk_store_desired desired,
				 struct sk_error **err);
int sk_store_replica_get(struct sk_store *s, const char *app, const char *service, int64_t index,
			 struct sk_store_replica *ret, struct sk_error **err);
/* Replicas of one service, or of the whole app when service is NULL, by service then index. */
int sk_store_replica_list(struct sk_store *s, const char *app, const char *service,
			  struct sk_store_replica **ret, size_t *ret_n, struct sk_error **err);
int sk_store_replica_delete(struct sk_store *s, const char *app, const char *service, int64_t index,
			    struct sk_error **err);

const char *sk_store_observed_name(enum sk_store_observed o);
const char *sk_store_health_name(enum sk_store_health h);

/* ---- volumes ------------------------------------------------------------ */

struct sk_store_volume {
	char *app, *name, *path;
	int64_t created_ns;
};

void sk_store_volumes_free(struct sk_store_volume *v, size_t n);

/* Records a named volume's directory; an existing record keeps its path (returned in *ret_path, may be NULL). */
int sk_store_volume_put(struct sk_store *s, const char *app, const char *name, const char *path,
			char **ret_path, struct sk_error **err);
int sk_store_volume_list(struct sk_store *s, const char *app, struct sk_store_volume **ret,
			 size_t *ret_n, struct sk_error **err);
int sk_store_volume_delete(struct sk_store *s, const char *app, const char *name,
			   struct sk_error **err);

/* ---- networks, address leases, runtime faults (store-net.c) ------------- */

/* An app's network: -ENOENT when it has none. */
int sk_store_net_get(struct sk_store *s, const char *app, char **ret_subnet, char **ret_bridge,
		     struct sk_error **err);
/* Records an app's network; -EEXIST when the subnet belongs to another app. */
int sk_store_net_put(struct sk_store *s, const char *app, const char *subnet, const char *bridge,
		     struct sk_error **err);
/* Every recorded network: parallel NULL-terminated arrays of app names and subnets. */
int sk_store_net_list(struct sk_store *s, char ***ret_apps, char ***ret_subnets,
		      struct sk_error **err);
/* Removes an app's network and all its leases (0 when there was none). */
int sk_store_net_delete(struct sk_store *s, const char *app, struct sk_error **err);

struct sk_store_lease {
	char *addr, *owner;
};
void sk_store_leases_free(struct sk_store_lease *v, size_t n);
/* Records addr for owner; -EEXIST when the address or the owner already has a lease. */
int sk_store_lease_put(struct sk_store *s, const char *app, const char *addr, const char *owner,
		       struct sk_error **err);
int sk_store_lease_list(struct sk_store *s, const char *app, struct sk_store_lease **ret,
			size_t *ret_n, struct sk_error **err);
/* Releases owner's lease (0 when it had none). */
int sk_store_lease_delete(struct sk_store *s, const char *app, const char *owner,
			  struct sk_error **err);

/* Runtime faults: fault_json NULL deletes the row. */
int sk_store_fault_put(struct sk_store *s, const char *app, const char *service,
		       const char *fault_json, struct sk_error **err);
/* Parallel NULL-terminated arrays of service names and fault JSON for an app. */
int sk_store_fault_list(struct sk_store *s, const char *app, char ***ret_services, char ***ret_json,
			struct sk_error **err);
/* Removes every fault of an app. */
int sk_store_fault_delete_app(struct sk_store *s, const char *app, struct sk_error **err);

/* ---- events ------------------------------------------------------------- */

enum sk_store_event_type {
	SK_STORE_EV_CREATE, /* app or replica created */
	SK_STORE_EV_START,
	SK_STORE_EV_STOP,
	SK_STORE_EV_EXIT, /* attrs: exit code */
	SK_STORE_EV_OOM,
	SK_STORE_EV_RESTART, /* attrs: attempt, backoff */
	SK_STORE_EV_HEALTH,  /* attrs: status */
	SK_STORE_EV_SCALE,   /* attrs: from, to */
	SK_STORE_EV_UPDATE,  /* new revision */
	SK_STORE_EV_DELETE,
	SK_STORE_EV_ADOPT, /* found running after a daemon restart */
	SK_STORE_EV_ERROR,
	SK_STORE_EV_N_TYPES,
};

/* "exit", "oom", ...; sk_store_event_type_from_name returns -EINVAL for an unknown name. */
const char *sk_store_event_type_name(enum sk_store_event_type t);
int sk_store_event_type_from_name(const char *name, enum sk_store_event_type *ret);

struct sk_store_event {
	int64_t id;	     /* output: monotonic, never reused (AUTOINCREMENT) */
	int64_t time_ns;     /* input 0: now */
	const char *app;     /* "" for daemon-wide events */
	const char *service; /* NULL: app-level */
	int64_t replica;     /* 0: service- or app-level */
	enum sk_store_event_type type;
	const char *message;
	const char *attrs_json; /* a JSON object or NULL */
};

/* An event read back: same fields, owned strings. */
struct sk_store_event_rec {
	int64_t id, time_ns;
	char *app, *service;
	int64_t replica;
	enum sk_store_event_type type;
	char *message, *attrs_json;
};

void sk_store_events_free(struct sk_store_event_rec *v, size_t n);

/*
 * Appends an event; *ret_id (may be NULL) is its id.  Retention: every 64
 * appends on a handle (and on a retention change) the oldest events beyond
 * events_per_app for this app and events_total overall are deleted, at most
 * 1024 rows per call, so an append never does unbounded work.
 */
int sk_store_event_append(struct sk_store *s, const struct sk_store_event *ev, int64_t *ret_id,
			  struct sk_error **err);
/* Runs the retention pass for `app` now (and overall); *ret_deleted may be NULL. */
int sk_store_event_prune(struct sk_store *s, const char *app, int64_t *ret_deleted,
			 struct sk_error **err);

struct sk_store_event_filter {
	int64_t after_id;    /* only id > after_id: the cursor of `events -f` */
	const char *app;     /* NULL: any */
	const char *service; /* NULL: any */
	int64_t replica;     /* 0: any */
	int type;	     /* -1: any, else an sk_store_event_type */
	int64_t since_ns;    /* 0: no lower bound */
	int64_t until_ns;    /* 0: no upper bound (exclusive) */
	size_t limit;	     /* 0: 1000 */
	bool last;	     /* the newest `limit` matches rather than the oldest */
};

/* Sets *f to match everything (type -1). */
void sk_store_event_filter_init(struct sk_store_event_filter *f);

/* Matching events in id order; *ret (NULL when none) freed with sk_store_events_free(). */
int sk_store_event_list(struct sk_store *s, const struct sk_store_event_filter *f,
			struct sk_store_event_rec **ret, size_t *ret_n, struct sk_error **err);

#endif
