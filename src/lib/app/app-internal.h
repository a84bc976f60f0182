/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-internal.h - what the files of src/lib/app share and nobody else sees:
 * the positioned YAML tree (app-yaml.c), the load context with its
 * diagnostics, and typed getters that interpolate, convert and report
 * "file:line:col: path: problem".
 */
#ifndef SK_APP_INTERNAL_H
#define SK_APP_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>

#include "app/app-interp.h"
#include "app/app.h"

/* ---- the YAML tree ---------------------------------------------------- */

enum sk_yn_type { SK_YN_SCALAR, SK_YN_SEQ, SK_YN_MAP };

/*
 * A node of a parsed YAML document.  Aliases are resolved to the anchored
 * node (the tree is a DAG); merge keys (<<) are applied, so a mapping's pairs
 * are its own keys followed by the merged ones it did not override.
 */
struct sk_yn {
	enum sk_yn_type type;
	int line, col;	      /* 1-based; 0 when unknown (an empty value) */
	char *text;	      /* scalar text */
	bool plain;	      /* scalar was unquoted (so "null", "~", "" are null) */
	struct sk_yn **items; /* seq: items; map: key, value, key, value, ... */
	size_t n;	      /* items in a seq, pairs in a map */
	struct sk_yn *next_alloc;
};

struct sk_yaml {
	struct sk_yn *root; /* NULL for an empty document */
	struct sk_yn *all;
};

/* Parses one YAML document; errors read "file:line:col: message". */
int sk_app_yaml_parse(const char *buf, size_t len, const char *file, struct sk_yaml *ret,
		      struct sk_error **err);
void sk_app_yaml_release(struct sk_yaml *y);

static inline struct sk_yn *sk_yn_key(const struct sk_yn *m, size_t i)
{
	return m->items[2 * i];
}
static inline struct sk_yn *sk_yn_val(const struct sk_yn *m, size_t i)
{
	return m->items[2 * i + 1];
}
bool sk_yn_is_null(const struct sk_yn *n);
/* The value of `key` in mapping m, or NULL. */
struct sk_yn *sk_yn_get(const struct sk_yn *m, const char *key);

/* ---- load context ------------------------------------------------------ */

struct sk_app_ctx {
	const char *file;      /* as shown in messages */
	const char *dir;       /* absolute directory for relative paths */
	struct sk_app_kvs env; /* process environment, then .env */
	struct sk_app_diags *diags;
	const struct sk_app *app; /* top-level volumes and networks, once parsed */
	size_t budget;		  /* node visits left for extension conversion */
};

/* Adds a diagnostic at node n (or at `at` when n has no position). */
void sk_app_diag(struct sk_app_ctx *c, enum sk_app_diag_level lvl, const struct sk_yn *n,
		 const char *path, const char *fmt, ...) _printf_(5, 6);
/* An error diagnostic; returns -EINVAL. */
int sk_app_fail(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, const char *fmt, ...)
    _printf_(4, 5);
void sk_app_warn(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, const char *fmt,
		 ...) _printf_(4, 5);

const char *sk_app_env_lookup(void *ctx, const char *name);

/* "a.b" + "c" -> "a.b.c"; "a" + index -> "a[3]".  Caller frees. */
char *sk_app_path(const char *path, const char *key);
char *sk_app_path_i(const char *path, size_t i);
/* p made absolute against the compose file's directory. */
char *sk_app_abspath(const struct sk_app_ctx *c, const char *p);
/* Lexically cleans an absolute path: no "//", ".", ".." or trailing "/".  Caller frees. */
char *sk_app_clean_path(const char *in);

/* Typed getters: 0 on success, -EINVAL after adding an error diagnostic. */
int sk_app_get_str(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, char **ret);
int sk_app_get_bool(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, bool *ret);
int sk_app_get_int(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, int64_t min,
		   int64_t max, int64_t *ret);
int sk_app_get_duration(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			int64_t *ret);
int sk_app_get_bytes(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, uint64_t *ret);
int sk_app_get_cpus(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, double *ret);
/* A string or a list of strings. */
int sk_app_get_strv(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		    bool allow_string, char ***ret);
/* A map or a list of "k=v" (sep '=') entries; null values kept as NULL when keep_null. */
int sk_app_get_kvs(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, bool keep_null,
		   struct sk_app_kvs *ret);
int sk_app_want(struct sk_app_ctx *c, const struct sk_yn *n, const char *path, enum sk_yn_type t);
/* x- extension value as JSON (interpolated), bounded by c->budget. */
json_t *sk_app_yn_to_json(struct sk_app_ctx *c, const struct sk_yn *n, const char *path);

/* ---- per-part builders ------------------------------------------------- */

int sk_app_service_parse(struct sk_app_ctx *c, const struct sk_yn *key, const struct sk_yn *n,
			 struct sk_app_service *svc);
int sk_app_depends_on_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			    struct sk_app_service *s);
int sk_app_expose_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct sk_app_service *s);
int sk_app_svc_networks_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			      struct sk_app_service *s);
/* Folds mem_limit, mem_reservation, cpus, pids_limit and scale into deploy's values. */
int sk_app_resolve_limits(struct sk_app_ctx *c, const char *path, struct sk_app_service *s,
			  const struct sk_yn *mem_limit, const struct sk_yn *mem_res,
			  const struct sk_yn *cpus, const struct sk_yn *pids,
			  const struct sk_yn *scale);
void sk_app_service_release(struct sk_app_service *svc);
void sk_app_service_defaults(struct sk_app_service *svc);
int sk_app_ports_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		       struct sk_app_service *svc);
int sk_app_volumes_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			 struct sk_app_service *svc);
int sk_app_tmpfs_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
		       struct sk_app_service *svc);
int sk_app_security_opt_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			      struct sk_app_security *sec);
void sk_app_security_release(struct sk_app_security *sec);
/* The top-level secrets: section; before the services, which resolve against it. */
int sk_app_secrets_section(struct sk_app_ctx *c, const struct sk_yn *n, struct sk_app *app);
int sk_app_service_secrets_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
				 struct sk_app_service *s);
void sk_app_secret_ref_release(struct sk_app_secret_ref *ref);
void sk_app_secret_release(struct sk_app_secret *s);
/* app-kernel-opts.c: shm_size, pid, mem_swappiness, oom_kill_disable, memswap_limit. */
int sk_app_shm_size_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			  struct sk_app_service *s);
int sk_app_pid_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct sk_app_service *s);
int sk_app_mem_swappiness_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
				struct sk_app_service *s);
int sk_app_oom_kill_disable_parse(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
				  struct sk_app_service *s);
/* memswap_limit, once the memory limit is resolved (v NULL: not given). */
int sk_app_memswap_check(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			 struct sk_app_service *s);
int sk_app_deploy_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			struct sk_app_service *svc);
int sk_app_healthcheck_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			     struct sk_app_healthcheck *hc);
int sk_app_xskiff_service_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
				struct sk_app_skiff_service *x);
int sk_app_xskiff_app_parse(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			    struct sk_app_skiff_app *x);
/*
 * An x-skiff subnet "a.b.c.d/n" (IPv4, n 16..28).  Returns 0 and the canonical
 * form in *ret_network (caller frees); -EADDRNOTAVAIL when host bits are set,
 * *ret_network then being the network meant; -EINVAL otherwise.
 */
int sk_app_subnet_parse(const char *s, char **ret_network);
void sk_app_mount_release(struct sk_app_mount *m);
void sk_app_port_release(struct sk_app_port *p);

/* Cross-service checks: depends_on targets and cycles, network and volume references. */
int sk_app_validate(struct sk_app_ctx *c, struct sk_app *app, const struct sk_yn *services);
/* Drops services whose profiles are not active (profiles, else COMPOSE_PROFILES). */
int sk_app_profiles_apply(struct sk_app_ctx *c, struct sk_app *app, char *const *profiles);
void sk_app_sort_services(struct sk_app *app);

/* The JSON form of one service / app (app-json.c). */
json_t *sk_app_service_json(const struct sk_app_service *svc);
void sk_app_sha256_hex(const void *data, size_t len, char out[65]);

#endif
