/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon-internal.h - the daemon's in-memory model, shared by daemon.c
 * (setup, signals, keeper link), reconcile.c (replica state machine),
 * launch.c (helpers that create and remove containers), health.c, and
 * daemon-api*.c (HTTP handlers).
 *
 * The store holds the desired state and the last observation of every
 * replica; these structs are the live copy the loop works on.  A replica
 * moves NONE -> (helper) -> RUNNING -> STOPPING -> (exit) -> cleanup ->
 * NONE/EXITED/BACKOFF; every change is written to the store and, where users
 * care, becomes an event.
 */
#ifndef SK_DAEMON_DAEMON_INTERNAL_H
#define SK_DAEMON_DAEMON_INTERNAL_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "app/app.h"
#include "base/loop.h"
#include "daemon/api-server.h"
#include "daemon/daemon.h"
#include "daemon/store.h"
#include "runtime/container.h"

struct sk_daemon;
struct sk_dapp;
struct sk_dservice;
struct sk_probe;

/* A client waiting for replicas to reach a state (stop, down, restart). */
struct sk_dwaiter {
	struct sk_dwaiter *next;
	struct sk_dapp *app;
	struct sk_api_response *resp;
	enum { W_STOP, W_DOWN, W_RESTART } kind;
	char **services; /* NULL: all */
	json_t *result;	 /* answered when done */
};

enum sk_dphase {
	P_IDLE,	    /* no container, nothing in flight */
	P_LAUNCH,   /* a helper is creating the container */
	P_RUNNING,  /* container running (obs.state RUNNING) */
	P_STOPPING, /* stop signal sent */
	P_CLEANUP,  /* exited; a helper is deleting it */
	P_WAIT,	    /* exited and cleaned; waiting for backoff or dependencies */
};

struct sk_dreplica {
	struct sk_dservice *svc;
	int64_t index;
	char *id; /* container id = replica name */
	char *config_hash;
	enum sk_store_desired desired;
	bool remove;	  /* delete the replica once it is down (scale down, service removed) */
	bool recreate;	  /* config changed: when down, start again with the new config */
	bool restart_now; /* stopped for a restart (unhealthy, `restart`): start again */
	enum sk_dphase phase;
	struct sk_store_replica_obs obs;
	char *log_path;

	/* helper (create or cleanup) */
	pid_t helper_pid;
	struct sk_loop_child *helper;
	int report_fd;
	struct sk_loop_timer *timer; /* backoff, stop grace, restart-count reset */
	int64_t backoff_ns;	     /* next backoff (0 first) */
	int64_t stop_sent_ns;

	/* health */
	struct sk_probe *probe;
	struct sk_loop_timer *health_timer;
	int64_t health_started_ns;
	bool health_early; /* the first, early check: a failure does not count */

	int64_t cpu_prev_ns;
	int64_t oom_kills; /* seen in its cgroups over its lifetime in this daemon */

	/* network (dnet.c): the leased address on the app's bridge */
	bool has_addr;
	struct in_addr addr;
	bool draining; /* out of the routes, stop signal after the drain period */
	struct sk_loop_timer *drain_timer;
};

struct sk_dservice {
	struct sk_dapp *app;
	const struct sk_app_service *def; /* in app->model */
	char *name;
	char *hash;
	int64_t replicas; /* desired count */
	bool removed;	  /* gone from the model */
	int stop_signal;
	struct sk_app_healthcheck hc; /* the effective one (image's when inherited) */
	bool hc_loaded;
	struct sk_dreplica **r;
	size_t n_r;
	struct sk_app_service ghost; /* def of a service gone from the model (name only) */

	/* proxy (dnet.c, routes.c) */
	bool has_vip; /* x-skiff.proxy.internal: a virtual address on the bridge */
	struct in_addr vip;
	bool fault_set; /* a runtime fault (skiff fault) overrides x-skiff.fault */
	struct sk_app_fault fault;
};

/* An app's private network: a bridge, its subnet, and the leases in it (mirror of the store). */
struct sk_dnet {
	char *subnet; /* "10.89.3.0/24" */
	struct in_addr net, gw;
	int prefix;
	char *bridge;	   /* "sk-<8 hex>" */
	bool up;	   /* the bridge is known to exist in this daemon's life */
	bool egress;	   /* NAT enabled */
	bool egress_known; /* egress says what the kernel has (set by the first sync) */
	char *last_error;  /* the last error reported as an event (each is said once) */
	struct sk_dlease {
		struct in_addr addr;
		char *owner; /* container id, or "vip:<service>" */
	} * leases;
	size_t n_leases;
};

struct sk_dapp {
	struct sk_daemon *d;
	char *name;
	struct sk_app *model;
	char *model_json;
	int64_t revision;
	bool deleting;
	bool volumes;	  /* down -v */
	bool cgroup_made; /* /<parent>/<app> exists in every hierarchy */
	struct sk_dservice **s;
	size_t n_s;
	struct sk_dnet *net; /* NULL until a replica needs it */
};

/* A client following events (`skiff events -f`). */
struct sk_dfollower {
	struct sk_dfollower *next;
	struct sk_daemon *d;
	struct sk_api_response *resp;
	char *app; /* NULL: all */
};

struct sk_daemon {
	struct sk_daemon_config cfg;
	char *runtime_root, *bundles_dir, *logs_dir, *volumes_dir, *images_dir;
	char *sock_path, *pid_path, *self_exe;
	struct sk_runtime rt;
	struct sk_loop *loop;
	struct sk_store *store;
	struct sk_api_server *api;
	int keeper_fd;
	pid_t keeper_pid;
	struct sk_loop_io *keeper_io;
	struct sk_dapp **apps;
	size_t n_apps;
	struct sk_dwaiter *waiters;
	struct sk_dfollower *followers;
	unsigned helpers_running;
	bool reconcile_queued;
	struct sk_loop_defer *reconcile_defer;
	bool shutting_down;
	int64_t started_ns;
	struct sk_loop_timer *checkpoint;

	/* networking: names carry `tag` (from the data dir) so daemons sharing a netns stay apart */
	char *tag, *netns_dir;
	struct sk_proxy *proxy;
	struct sk_dns *dns;
	struct sk_loop_defer *routes_defer;
	char *routes_sig;     /* what was published last */
	char *routes_dropped; /* listeners left out of it, and why (one line each) */
	struct sk_loop_timer *routes_retry;
	/* listening sockets the keeper holds (see keeper.h HOLD): their keys */
	char **held_keys;
	size_t n_held_keys;
	int *held_fds; /* HELD at hello, handed to the proxy at routes start */
	size_t n_held_fds;
	bool held_refresh; /* the first publish drops the old holds and holds anew */

	/* exits the keeper reported for pids not (yet) known: matched at launch */
	struct {
		pid_t pid;
		int code;
		int64_t time_ns;
	} * orphan_exits;
	size_t n_orphan_exits;
};

/* daemon.c */
void sk_daemon_event(struct sk_daemon *d, const char *app, const char *service, int64_t replica,
		     enum sk_store_event_type type, json_t *attrs, const char *fmt, ...)
    _printf_(7, 8);
void sk_daemon_keeper_ack(struct sk_daemon *d, pid_t pid);
bool sk_daemon_all_down(struct sk_daemon *d);
void sk_daemon_cgroup_prune(struct sk_daemon *d, const char *app);

/* model.c */
struct sk_dapp *sk_dapp_find(struct sk_daemon *d, const char *name);
struct sk_dservice *sk_dservice_find(struct sk_dapp *a, const char *name);
/* Applies a model: new services, changed hashes, replica counts; records it in the store. */
int sk_dapp_apply(struct sk_daemon *d, struct sk_app *model, const char *model_json,
		  json_t **ret_changes, struct sk_error **err);
/* Loads every app of the store at start; replicas get their last observation. */
int sk_dapp_load_all(struct sk_daemon *d, struct sk_error **err);
struct sk_dreplica *sk_dreplica_new(struct sk_dservice *s, int64_t index);
void sk_dreplica_free(struct sk_dreplica *r);
void sk_dservice_free(struct sk_dservice *s);
void sk_dapp_free(struct sk_dapp *a);
void sk_dapp_remove(struct sk_daemon *d, struct sk_dapp *a);
void sk_dservice_set_replicas(struct sk_dservice *s, int64_t n);
void sk_dreplica_save(struct sk_dreplica *r);
json_t *sk_dreplica_json(struct sk_dreplica *r);
int sk_dservice_load_image(struct sk_dservice *s, struct sk_error **err);

/* reconcile.c */
void sk_reconcile_queue(struct sk_daemon *d);
void sk_reconcile_exit(struct sk_daemon *d, pid_t pid, int exit_code, int64_t time_ns);
void sk_replica_stop(struct sk_dreplica *r);
/* The stop signal now, without the drain (a stop a previous daemon had begun). */
void sk_replica_stop_now(struct sk_dreplica *r);
void sk_reconcile_check_waiters(struct sk_daemon *d);
bool sk_replica_live(const struct sk_dreplica *r);
/* From launch.c: the container runs / was removed after an exit or a failed launch. */
void sk_reconcile_started(struct sk_dreplica *r);
void sk_reconcile_adopted(struct sk_dreplica *r);
void sk_reconcile_cleaned(struct sk_dreplica *r);
/* An exit of the replica's container (keeper report, or found missing at adoption). */
void sk_reconcile_replica_exited(struct sk_dreplica *r, int exit_code, int64_t time_ns);
/* Takes an exit the keeper reported before the pid was known; true if there was one. */
bool sk_reconcile_take_orphan_exit(struct sk_daemon *d, pid_t pid, int *ret_code,
				   int64_t *ret_time_ns);

/* launch.c */
int sk_launch_create(struct sk_dreplica *r, struct sk_error **err);
int sk_launch_cleanup(struct sk_dreplica *r, struct sk_error **err);
void sk_launch_cancel(struct sk_dreplica *r);
/* Removes a container no replica owns (synchronously: only at start). */
void sk_launch_janitor(struct sk_daemon *d, const char *id);

/* health.c */
void sk_health_start(struct sk_dreplica *r);
void sk_health_stop(struct sk_dreplica *r);

/* dnet.c: app networks, address leases, per-replica attachment */
/* Whether replicas of the service get a veth on the app's bridge (network_mode default). */
bool sk_dnet_wanted(const struct sk_app_service *def);
void sk_dnet_free(struct sk_dnet *n);
/* Reports an error of the app's network as a log line and an event, unless it was the last one. */
void sk_dnet_note(struct sk_dapp *a, const char *service, const char *msg);
/* Loads the app's network and leases from the store (no kernel action). */
void sk_dnet_app_load(struct sk_dapp *a);
/* Makes sure the app's subnet is chosen and its bridge exists (before a replica launches). */
int sk_dnet_app_ensure(struct sk_dapp *a, struct sk_error **err);
/* Follows app-level settings that need no replica change (x-skiff.egress); each reconcile pass. */
void sk_dnet_app_sync(struct sk_dapp *a);
/* Removes the app's bridge, NAT, leases and faults (after `down`). */
void sk_dnet_app_teardown(struct sk_dapp *a);
/* Leases an address for the replica (kept across restarts until the replica is removed). */
int sk_dnet_replica_lease(struct sk_dreplica *r, struct sk_error **err);
void sk_dnet_replica_release(struct sk_dreplica *r);
/* Virtual address of an internal service: leased and on the bridge, or released. */
int sk_dnet_service_vip(struct sk_dservice *s, bool want, struct sk_error **err);
/* In a helper: the replica's netns, veth, address and route; /etc/hosts and resolv.conf in bundle. */
int sk_dnet_replica_attach(struct sk_dreplica *r, const char *bundle, char **ret_netns,
			   struct sk_error **err);
/* In a helper or at start: the replica's veth and netns are removed (idempotent). */
int sk_dnet_replica_detach(struct sk_daemon *d, const char *id, struct sk_error **err);
/* At start: removes bridges, veths and netns files no app or replica owns. */
void sk_dnet_janitor(struct sk_daemon *d);
char *sk_dnet_host_if(struct sk_daemon *d, const char *id);

/* routes.c: proxy and DNS tables from the live model */
int sk_routes_start(struct sk_daemon *d, struct sk_error **err);
void sk_routes_stop(struct sk_daemon *d);
/* Rebuilds and publishes the tables soon (coalesced); cheap to call often. */
void sk_routes_queue(struct sk_daemon *d);
/* Publishes at once (after `down`, so its ports are free when it answers). */
void sk_routes_publish_now(struct sk_daemon *d);
/* Whether the replica takes traffic: running, healthy (when checked), not draining. */
bool sk_routes_ready(const struct sk_dreplica *r);
/* The fault in force for a service (runtime override, else x-skiff.fault). */
const struct sk_app_fault *sk_routes_fault(const struct sk_dservice *s);
/* Appends the proxy's metrics to *text (may be NULL). */
void sk_routes_metrics(struct sk_daemon *d, char **text);

/* daemon-api.c, daemon-api-logs.c */
void sk_daemon_api_routes(struct sk_daemon *d);
void sk_daemon_api_logs_route(struct sk_daemon *d);
void sk_daemon_api_net_routes(struct sk_daemon *d);
/* The request's {app}, or NULL after answering 404 (unknown or being removed). */
struct sk_dapp *sk_daemon_api_app(struct sk_daemon *d, struct sk_api_request *req,
				  struct sk_api_response *resp);
void sk_daemon_followers_push(struct sk_daemon *d, json_t *event);

#endif
