/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app.h - the Compose app model: what a compose.yaml asks skiff to run.
 *
 * sk_app_load() reads a compose file (compose-spec: anchors, aliases, merge
 * keys, x- extensions, ${VAR} interpolation from the environment and a .env
 * beside the file), validates it and returns a fully resolved struct sk_app:
 * defaults filled in, relative paths made absolute, sizes in bytes,
 * durations in nanoseconds.  Every problem is a diagnostic naming
 * file:line:column; a field skiff does not support is a warning, never
 * silently dropped.  The model is plain data: the daemon receives it as
 * JSON (sk_app_to_json / sk_app_from_json) and compares per-service config
 * hashes to change only what changed.
 *
 * This module does not start anything; it is the contract between the CLI,
 * the daemon and (later) networking and the proxy (x-skiff settings).
 */
#ifndef SK_APP_APP_H
#define SK_APP_APP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* ---- diagnostics ---------------------------------------------------- */

enum sk_app_diag_level { SK_APP_WARNING, SK_APP_ERROR };

struct sk_app_diag {
	enum sk_app_diag_level level;
	int line, col; /* 1-based position in the compose file, 0 when none */
	/* One line: "file:line:col: path: text", warnings with "warning: " after the position. */
	char *msg;
};

struct sk_app_diags {
	struct sk_app_diag *v;
	size_t n;
	size_t n_errors;
};

void sk_app_diags_release(struct sk_app_diags *d);

/* ---- the model ------------------------------------------------------ */

#define SK_APP_NS_PER_SEC 1000000000LL

/* An ordered key/value list (environment, labels, sysctls, ...). */
struct sk_app_kv {
	char *key;
	char *value;
};
struct sk_app_kvs {
	struct sk_app_kv *v;
	size_t n;
};

enum sk_app_proto { SK_APP_TCP, SK_APP_UDP, SK_APP_SCTP };

/* One `ports:` entry.  host_start == 0: not published on a fixed host port. */
struct sk_app_port {
	char *host_ip; /* NULL: all addresses */
	uint16_t host_start, host_end;
	uint16_t container_start, container_end;
	enum sk_app_proto proto;
	char *name;	    /* long syntax only, else NULL */
	char *app_protocol; /* long syntax only, else NULL */
};

enum sk_app_mount_type { SK_APP_MOUNT_BIND, SK_APP_MOUNT_VOLUME, SK_APP_MOUNT_TMPFS };

/* One `volumes:` or `tmpfs:` entry. */
struct sk_app_mount {
	enum sk_app_mount_type type;
	char *source; /* bind: absolute host path; volume: name (NULL = anonymous); tmpfs: NULL */
	char *target; /* absolute path in the container */
	bool read_only;
	bool create_host_path; /* bind: create a missing source (short syntax does) */
	char *propagation;     /* bind: rprivate, shared, ...; NULL = default */
	char *selinux;	       /* bind: "z" or "Z", else NULL */
	bool nocopy;	       /* volume */
	char *subpath;	       /* volume */
	uint64_t tmpfs_size;   /* bytes, 0 = kernel default */
	uint32_t tmpfs_mode;   /* 0 = kernel default */
	char *options;	       /* tmpfs: other mount options ("noexec,nosuid"), else NULL */
};

enum sk_app_dep_condition { SK_APP_DEP_STARTED, SK_APP_DEP_HEALTHY, SK_APP_DEP_COMPLETED };

struct sk_app_dep {
	char *service;
	enum sk_app_dep_condition condition;
	bool required; /* default true */
	bool restart;  /* restart this service when the dependency is updated */
};

enum sk_app_hc_kind {
	SK_APP_HC_INHERIT, /* no test given: the image's HEALTHCHECK, if any */
	SK_APP_HC_CMD,	   /* test = argv */
	SK_APP_HC_SHELL,   /* test = { "command line" }, run with /bin/sh -c */
	SK_APP_HC_NONE,	   /* disabled (test NONE or disable: true) */
};

struct sk_app_healthcheck {
	enum sk_app_hc_kind kind;
	char **test;
	int64_t interval_ns;	   /* default 30s */
	int64_t timeout_ns;	   /* default 30s */
	int64_t start_period_ns;   /* default 0 */
	int64_t start_interval_ns; /* default 5s */
	int retries;		   /* default 3 */
};

enum sk_app_restart {
	SK_APP_RESTART_NO,
	SK_APP_RESTART_ALWAYS,
	SK_APP_RESTART_ON_FAILURE,
	SK_APP_RESTART_UNLESS_STOPPED
};

enum sk_app_rp_condition { SK_APP_RP_NONE, SK_APP_RP_ON_FAILURE, SK_APP_RP_ANY };

/* deploy.restart_policy; `set` false when absent (then `restart:` rules). */
struct sk_app_restart_policy {
	bool set;
	enum sk_app_rp_condition condition; /* default any */
	int64_t delay_ns;		    /* default 0 */
	int64_t max_attempts;		    /* 0 = never give up */
	int64_t window_ns;		    /* 0 = decide at once */
};

/* Limits or reservations; 0 means unset. */
struct sk_app_resources {
	double cpus;
	uint64_t memory; /* bytes */
	int64_t pids;
};

struct sk_app_ulimit {
	char *name;
	int64_t soft, hard;
};

enum sk_app_netmode {
	SK_APP_NET_DEFAULT,
	SK_APP_NET_HOST,
	SK_APP_NET_NONE,
	SK_APP_NET_SERVICE,
	SK_APP_NET_CONTAINER
};

enum sk_app_seccomp {
	SK_APP_SECCOMP_DEFAULT,	   /* skiff's default profile */
	SK_APP_SECCOMP_UNCONFINED, /* security_opt seccomp=unconfined: no filter */
	SK_APP_SECCOMP_PROFILE,	   /* security_opt seccomp=PATH */
};

/* security_opt, resolved. */
struct sk_app_security {
	enum sk_app_seccomp seccomp;
	char *seccomp_file;    /* PROFILE: the file's absolute path */
	char *seccomp_profile; /* PROFILE: its JSON (compact, sorted keys), read at load time */
	int no_new_privileges; /* -1: skiff's default (true unless privileged), else 0 or 1 */
};

/* A top-level secrets.NAME: a file or an environment variable. */
struct sk_app_secret {
	char *name;
	char *file;	   /* absolute path, or NULL */
	char *environment; /* the variable's name, or NULL */
};

/* One entry of a service's secrets:, resolved against the top-level secret. */
struct sk_app_secret_ref {
	char *source;	  /* the secret's name */
	char *target;	  /* absolute path in the container (default /run/secrets/<source>) */
	char *file;	  /* a file secret: the host file, bind-mounted read-only; else NULL */
	char *content;	  /* an environment secret: the variable's value at load time; else NULL */
	int64_t uid, gid; /* environment secrets: the owner; -1: the container's user */
	uint32_t mode;	  /* environment secrets: the file mode, default 0400 */
	bool has_mode;	  /* mode was given (parse time only, for the file-secret warning) */
};

/* A service's attachment to an app network (issue 5). */
struct sk_app_netattach {
	char *network;
	char **aliases;
	char *ipv4_address;
	char *ipv6_address;
};

enum sk_app_probe_kind { SK_APP_PROBE_NONE, SK_APP_PROBE_HTTP, SK_APP_PROBE_TCP };

/* x-skiff.health: a probe skiff runs against the replica from outside. */
struct sk_app_probe {
	enum sk_app_probe_kind kind;
	char *path;		    /* http: default "/" */
	uint16_t port;		    /* required */
	int status_min, status_max; /* http: default 200-399 */
	int64_t interval_ns;	    /* default 5s */
	int64_t timeout_ns;	    /* default 2s */
	int retries;		    /* consecutive failures to unhealthy, default 3 */
	int64_t start_period_ns;    /* default 0 */
};

enum sk_app_proxy_mode { SK_APP_PROXY_HTTP, SK_APP_PROXY_TCP };
enum sk_app_lb { SK_APP_LB_ROUND_ROBIN, SK_APP_LB_LEAST_REQUEST };

/* Retry conditions, x-skiff.proxy.retries.on (bits). */
#define SK_APP_RETRY_CONNECT 0x1u /* "connect-failure" */
#define SK_APP_RETRY_RESET 0x2u	  /* "reset" */
#define SK_APP_RETRY_STATUS 0x4u  /* any listed status code, e.g. 503 */
#define SK_APP_RETRY_TIMEOUT 0x8u /* "timeout" */

/*
 * x-skiff.proxy: how skiff's proxy serves the service's published ports (and
 * its virtual address when `internal`).  0 means "the proxy's default".
 */
struct sk_app_proxy {
	enum sk_app_proxy_mode mode; /* mode: http (default) | tcp */
	enum sk_app_lb balance;	     /* balance: round_robin (default) | least_request */
	bool internal; /* internal: true -> a virtual address other services reach it by */
	int64_t connect_timeout_ns; /* connect_timeout */
	int64_t try_timeout_ns;	    /* timeout (per try) */
	int64_t total_timeout_ns;   /* total_timeout */
	int64_t idle_timeout_ns;    /* idle_timeout */
	int retry_attempts;	    /* retries.attempts (default 2) */
	unsigned retry_on;	    /* retries.on (default connect-failure, reset) */
	int retry_status[8];	    /* the status codes in retries.on */
	size_t n_retry_status;
	int64_t retry_backoff_ns;	  /* retries.backoff */
	int64_t retry_max_backoff_ns;	  /* retries.max_backoff */
	double retry_budget_percent;	  /* retries.budget ("20%" or 20) */
	int outlier_consecutive_5xx;	  /* outlier.consecutive_5xx (default 5; 0 off) */
	int outlier_consecutive_failures; /* outlier.consecutive_failures (default 5; 0 off) */
	int64_t outlier_base_ejection_ns; /* outlier.base_ejection_time */
	int outlier_max_ejection_percent; /* outlier.max_ejection_percent */
	int64_t max_concurrent;		  /* max_concurrent: bulkhead, 0 = unlimited */
	int64_t drain_ns; /* drain: a stopping replica leaves the routes this long before its
			   * stop signal (0: 300 ms) */
};

/* x-skiff.fault, and the runtime `skiff fault` setting: injected delays and aborts. */
struct sk_app_fault {
	int64_t delay_ns;	 /* delay.fixed */
	int64_t delay_jitter_ns; /* delay.jitter */
	double delay_percent;	 /* delay.percent, 0..100 (default 100 when fixed is set) */
	int abort_status;	 /* abort.status, 200..599 (a final answer); 0 = none */
	double abort_percent;	 /* abort.percent, 0..100 (default 100 when status is set) */
};

/* A service's x-skiff block.  Later issues add autoscale. */
struct sk_app_skiff_service {
	struct sk_app_probe probe;
	bool restart_unhealthy; /* default true */
	struct sk_app_proxy proxy;
	struct sk_app_fault fault;
	char *fallback; /* fallback: SERVICE (another service of the app), or NULL */
};

struct sk_app_service {
	char *name;
	char *image;
	char **command;		       /* NULL: the image's CMD; may be empty */
	char **entrypoint;	       /* NULL: the image's ENTRYPOINT; may be empty */
	struct sk_app_kvs environment; /* env_file values, then environment: resolved */
	char **env_files;	       /* absolute paths, already merged into environment */
	char *working_dir, *user, *hostname, *domainname;
	struct sk_app_port *ports;
	size_t n_ports;
	char **expose; /* "port[-port][/proto]" */
	struct sk_app_mount *volumes;
	size_t n_volumes;
	struct sk_app_mount *tmpfs;
	size_t n_tmpfs;
	struct sk_app_dep *depends_on;
	size_t n_depends_on;
	struct sk_app_healthcheck healthcheck;
	enum sk_app_restart restart;
	int64_t restart_max_retries;	/* on-failure:N, 0 = unlimited */
	int64_t replicas;		/* default 1 */
	struct sk_app_resources limits; /* deploy.resources.limits, cpus, mem_limit, pids_limit */
	struct sk_app_resources reservations; /* deploy.resources.reservations, mem_reservation */
	struct sk_app_restart_policy restart_policy;
	char **cap_add, **cap_drop;
	bool read_only, privileged, init;
	struct sk_app_security security; /* security_opt */
	struct sk_app_secret_ref *secrets;
	size_t n_secrets;
	uint64_t shm_size;	/* bytes of /dev/shm; 0: the default (64 MiB) */
	bool pid_host;		/* pid: host, no pid namespace */
	int64_t memswap_limit;	/* memory plus swap in bytes; -1 unlimited; 0 unset */
	int64_t mem_swappiness; /* 0..100; -1 unset */
	bool oom_kill_disable;
	char *stop_signal;	      /* NULL: the image's or SIGTERM */
	int64_t stop_grace_period_ns; /* default 10s */
	struct sk_app_ulimit *ulimits;
	size_t n_ulimits;
	struct sk_app_kvs sysctls, labels;
	char *cpuset;
	int64_t cpu_shares;
	int oom_score_adj;
	char **profiles;
	enum sk_app_netmode network_mode;
	char *network_mode_ref; /* service:NAME / container:NAME target */
	struct sk_app_netattach *networks;
	size_t n_networks;
	struct sk_app_skiff_service x_skiff;
	char *extensions; /* other x- fields as a JSON object, or NULL */
};

struct sk_app_volume {
	char *name;	/* key in the compose file */
	char *ext_name; /* `name:` or NULL */
	bool external;
	char *driver;
	struct sk_app_kvs driver_opts, labels;
};

struct sk_app_network {
	char *name;
	char *ext_name;
	bool external, internal, enable_ipv6;
	char *driver;
	char **subnets; /* ipam.config[].subnet */
	struct sk_app_kvs driver_opts, labels;
};

/* The app-wide x-skiff block. */
struct sk_app_skiff_app {
	bool egress;  /* egress: true -> outbound NAT and DNS forwarding (default false) */
	char *subnet; /* subnet: "10.89.7.0/24" (default: a free /24 of 10.89.0.0/16) */
};

struct sk_app {
	char *name; /* project name, normalized */
	char *file; /* the compose file as given */
	char *dir;  /* absolute directory of the compose file */
	struct sk_app_service *services;
	size_t n_services; /* sorted by name */
	struct sk_app_volume *volumes;
	size_t n_volumes;
	struct sk_app_network *networks;
	size_t n_networks;
	struct sk_app_secret *secrets;
	size_t n_secrets;
	struct sk_app_skiff_app x_skiff;
	char *extensions; /* top-level x- fields as a JSON object, or NULL */
};

/* ---- loading -------------------------------------------------------- */

struct sk_app_load_opts {
	const char *file;	  /* compose file; NULL: search compose.yaml, ... in cwd */
	const char *project_name; /* -p, or NULL */
	char *const *environ;	  /* NULL-terminated KEY=VALUE; NULL: the process environment */
	const char *env_file;	  /* the .env to read; NULL: .env beside the compose file */
	char *const *profiles;	  /* active profiles ("*" = all); NULL: COMPOSE_PROFILES */
};

/*
 * Loads, interpolates and validates a compose file.  Returns 0 and *ret_app,
 * or a negative errno with *err set to the first error (an I/O failure or
 * the first diagnostic).  `diags` (may be NULL) receives every warning and
 * error in file order; the caller releases it.
 */
int sk_app_load(const struct sk_app_load_opts *o, struct sk_app **ret_app,
		struct sk_app_diags *diags, struct sk_error **err);

/* As sk_app_load() for a compose document in memory; `file` names it in messages and anchors relative paths. */
int sk_app_parse(const char *buf, size_t len, const char *file, const struct sk_app_load_opts *o,
		 struct sk_app **ret_app, struct sk_app_diags *diags, struct sk_error **err);

/* The compose file sk_app_load() uses when none is given: compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml. */
int sk_app_find_file(const char *dir, char **ret_path, struct sk_error **err);

/* Lowercases and drops characters outside [a-z0-9_-] (and leading _ or -); NULL if nothing is left. */
char *sk_app_normalize_name(const char *s);

void sk_app_free(struct sk_app *app);
static inline void sk_app_freep(struct sk_app **a)
{
	sk_app_free(*a);
}

const struct sk_app_service *sk_app_service_find(const struct sk_app *app, const char *name);

/*
 * Services in start order (dependencies first, then by name): a new array of
 * n_services indexes into app->services, owned by the caller.
 */
size_t *sk_app_start_order(const struct sk_app *app);

/* ---- JSON and hashes ------------------------------------------------- */

/* The canonical JSON of the app (sorted keys, defaults explicit); caller frees. */
char *sk_app_to_json(const struct sk_app *app, bool pretty);
/* The canonical JSON of one service. */
char *sk_app_service_to_json(const struct sk_app_service *svc, bool pretty);
/* Rebuilds an app from sk_app_to_json() output; errors name the JSON path. */
int sk_app_from_json(const char *json, size_t len, struct sk_app **ret_app, struct sk_error **err);

/*
 * The runtime `skiff fault` body, in the shape of x-skiff.fault:
 * {"delay": {"fixed": "100ms", "jitter": "20ms", "percent": 50},
 *  "abort": {"status": 503, "percent": 10}}.  Both parts are optional (an
 * empty object clears every fault); a missing percent is 100 when fixed (or a
 * nonzero status) is given; status is 0 (none) or 200..599; percentages are
 * numbers 0..100.  Returns 0 and *ret (set only on success), or -EINVAL with
 * *err naming the field ("delay.percent: out of range (0..100)").  `j` is
 * borrowed.
 */
int sk_app_fault_parse_json(json_t *j, struct sk_app_fault *ret, struct sk_error **err);
/* The JSON of a fault setting, both parts always present; a new reference. */
json_t *sk_app_fault_json(const struct sk_app_fault *f);

/*
 * The service's config hash: hex sha256 of its canonical JSON without
 * replicas, depends_on and profiles (changing those does not recreate
 * containers).  Caller frees.
 */
char *sk_app_service_hash(const struct sk_app_service *svc);

/* The resolved app as YAML, like `docker compose config`; caller frees. */
char *sk_app_to_yaml(const struct sk_app *app, struct sk_error **err);

/* ---- strict value parsers (exported for the CLI and tests) ----------- */

/* Go-style durations: "1m30s", "500ms", "1.5s", "0"; negative values rejected. */
int sk_app_parse_duration(const char *s, int64_t *ret_ns);
/* Byte sizes with binary units: "1024", "512k", "64m", "1.5gb", "2GiB". */
int sk_app_parse_bytes(const char *s, uint64_t *ret);
/* A CPU count: "0.5", "2" (0.001 .. 1024). */
int sk_app_parse_cpus(const char *s, double *ret);

#endif
