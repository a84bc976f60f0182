/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-service.c - one `services.NAME` mapping into a struct sk_app_service.
 *
 * A table maps each compose-spec service field to its parser; fields skiff
 * does not implement are listed so they become warnings, and a key that is
 * in neither list is an error (as docker compose rejects it).  After the
 * fields, the service is resolved: env_file then environment, variables
 * without a value taken from the environment, mem_limit/cpus/pids_limit and
 * scale folded into deploy's values (a conflict is an error), memswap_limit
 * checked against the memory limit.
 * Ports, volumes, deploy, healthcheck and x-skiff live in their own files.
 */
#include "app/app-internal.h"

#include <ctype.h>
#include <signal.h>
#include <string.h>

#include "base/util.h"

/* Service-level values that deploy.* also sets; reconciled in finish(). */
struct svc_parse {
	struct sk_app_service *svc;
	const struct sk_yn *mem_limit, *cpus, *pids_limit, *scale, *mem_reservation, *memswap;
	const struct sk_yn *oom_kill_disable;
	bool has_image;
	const struct sk_yn *build;
};

typedef int (*field_fn)(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct svc_parse *sp);

static int f_image(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		   struct svc_parse *sp)
{
	sp->has_image = true;
	return sk_app_get_str(c, v, path, &sp->svc->image);
}

/* command/entrypoint: a string split as a shell would (compose uses shlex), or a list. */
static int argv_field(struct sk_app_ctx *c, const struct sk_yn *v, const char *path, char ***ret)
{
	_cleanup_free_ char *s = NULL;

	if (sk_yn_is_null(v))
		return 0;
	if (v->type != SK_YN_SCALAR)
		return sk_app_get_strv(c, v, path, false, ret);
	if (sk_app_get_str(c, v, path, &s) < 0)
		return -EINVAL;
	if (sk_app_shlex_split(s, ret) < 0)
		return sk_app_fail(c, v, path, "unterminated quote in \"%s\"", s);
	return 0;
}

static int f_command(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct svc_parse *sp)
{
	return argv_field(c, v, path, &sp->svc->command);
}

static int f_entrypoint(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct svc_parse *sp)
{
	return argv_field(c, v, path, &sp->svc->entrypoint);
}

static int f_environment(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			 struct svc_parse *sp)
{
	struct sk_app_kvs kvs = { 0 };

	if (sk_app_get_kvs(c, v, path, true, &kvs) < 0)
		return -EINVAL;
	/* env_file values come first: environment overrides them */
	for (size_t i = 0; i < kvs.n; i++) {
		const char *val = kvs.v[i].value;
		if (!val)
			val = sk_app_env_lookup(c, kvs.v[i].key);
		if (val)
			sk_app_kvs_set(&sp->svc->environment, kvs.v[i].key, val);
	}
	/* remember explicit keys so env_file (if it comes later) does not override them */
	sk_app_kvs_release(&kvs);
	return 0;
}

static int read_env_file(struct sk_app_ctx *c, const struct sk_yn *at, const char *path,
			 const char *file, bool required, struct sk_app_kvs *out)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_error_ struct sk_error *e = NULL;
	size_t len;
	int r;

	r = sk_read_file(file, &buf, &len);
	if (r == -ENOENT && !required)
		return 0;
	if (r < 0)
		return sk_app_fail(c, at, path, "env file '%s': %s", file, strerror(-r));
	if (sk_app_dotenv_parse(buf, len, file, sk_app_env_lookup, c, out, &e) < 0)
		return sk_app_fail(c, at, path, "%s", e->msg);
	return 0;
}

static int env_file_entry(struct sk_app_ctx *c, const struct sk_yn *n, const char *path,
			  struct sk_app_service *s, struct sk_app_kvs *vars)
{
	_cleanup_free_ char *file = NULL;
	bool required = true;

	if (n->type == SK_YN_MAP) {
		const struct sk_yn *req = sk_yn_get(n, "required");
		_cleanup_free_ char *pp = sk_app_path(path, "path"),
				    *pr = sk_app_path(path, "required");
		if (sk_app_get_str(c, sk_yn_get(n, "path"), pp, &file) < 0)
			return -EINVAL;
		if (req && sk_app_get_bool(c, req, pr, &required) < 0)
			return -EINVAL;
	} else if (sk_app_get_str(c, n, path, &file) < 0)
		return -EINVAL;
	_cleanup_free_ char *abs = sk_app_abspath(c, file);
	sk_strv_push(&s->env_files, abs);
	return read_env_file(c, n, path, abs, required, vars);
}

static int f_env_file(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		      struct svc_parse *sp)
{
	struct sk_app_kvs vars = { 0 }, *env = &sp->svc->environment;
	int r = 0;

	if (v->type == SK_YN_SEQ)
		for (size_t i = 0; i < v->n; i++) {
			_cleanup_free_ char *p = sk_app_path_i(path, i);
			if (env_file_entry(c, v->items[i], p, sp->svc, &vars) < 0)
				r = -EINVAL;
		}
	else
		r = env_file_entry(c, v, path, sp->svc, &vars);
	/* env_file values go first: keys `environment` already set win */
	for (size_t i = 0; i < vars.n; i++)
		if (!sk_app_kvs_get(env, vars.v[i].key))
			sk_app_kvs_set(env, vars.v[i].key, vars.v[i].value);
	sk_app_kvs_release(&vars);
	return r;
}

static int f_working_dir(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			 struct svc_parse *sp)
{
	if (sk_app_get_str(c, v, path, &sp->svc->working_dir) < 0)
		return -EINVAL;
	if (sp->svc->working_dir[0] != '/')
		return sk_app_fail(c, v, path, "must be an absolute path, not \"%s\"",
				   sp->svc->working_dir);
	return 0;
}

static int f_user(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		  struct svc_parse *sp)
{
	return sk_app_get_str(c, v, path, &sp->svc->user);
}

static int f_hostname(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		      struct svc_parse *sp)
{
	return sk_app_get_str(c, v, path, &sp->svc->hostname);
}

static int f_domainname(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct svc_parse *sp)
{
	return sk_app_get_str(c, v, path, &sp->svc->domainname);
}

static int f_ports(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		   struct svc_parse *sp)
{
	return sk_app_ports_parse(c, v, path, sp->svc);
}

static int f_volumes(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct svc_parse *sp)
{
	return sk_app_volumes_parse(c, v, path, sp->svc);
}

static int f_tmpfs(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		   struct svc_parse *sp)
{
	return sk_app_tmpfs_parse(c, v, path, sp->svc);
}

static int f_healthcheck(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			 struct svc_parse *sp)
{
	return sk_app_healthcheck_parse(c, v, path, &sp->svc->healthcheck);
}

static int f_deploy(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		    struct svc_parse *sp)
{
	return sk_app_deploy_parse(c, v, path, sp->svc);
}

static int f_xskiff(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		    struct svc_parse *sp)
{
	return sk_app_xskiff_service_parse(c, v, path, &sp->svc->x_skiff);
}

static int f_restart(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct svc_parse *sp)
{
	static const char *const names[] = { "no", "always", "on-failure", "unless-stopped" };
	_cleanup_free_ char *s = NULL;
	char *colon;

	if (sk_app_get_str(c, v, path, &s) < 0)
		return -EINVAL;
	colon = strchr(s, ':');
	if (colon)
		*colon++ = '\0';
	for (size_t i = 0; i < SK_ELEMENTSOF(names); i++) {
		if (strcmp(s, names[i]))
			continue;
		sp->svc->restart = (enum sk_app_restart)i;
		if (!colon)
			return 0;
		if (i == SK_APP_RESTART_ON_FAILURE &&
		    sk_parse_int64(colon, &sp->svc->restart_max_retries) == 0 &&
		    sp->svc->restart_max_retries >= 0)
			return 0;
		break;
	}
	if (colon)
		colon[-1] = ':';
	return sk_app_fail(
	    c, v, path,
	    "invalid restart policy \"%s\" (no, always, on-failure[:N], unless-stopped)", s);
}

/* Capability names are kept as CAP_XXX in upper case ("ALL" stays ALL). */
static int caps(struct sk_app_ctx *c, const struct sk_yn *v, const char *path, char ***ret)
{
	if (sk_app_get_strv(c, v, path, false, ret) < 0)
		return -EINVAL;
	for (char **p = *ret; *p; p++) {
		for (char *q = *p; *q; q++)
			*q = (char)toupper((unsigned char)*q);
		if (strcmp(*p, "ALL") && !sk_str_has_prefix(*p, "CAP_")) {
			char *full = sk_asprintf("CAP_%s", *p);
			free(*p);
			*p = full;
		}
	}
	return 0;
}

static int f_cap_add(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct svc_parse *sp)
{
	return caps(c, v, path, &sp->svc->cap_add);
}

static int f_cap_drop(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		      struct svc_parse *sp)
{
	return caps(c, v, path, &sp->svc->cap_drop);
}

static int f_read_only(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		       struct svc_parse *sp)
{
	return sk_app_get_bool(c, v, path, &sp->svc->read_only);
}

static int f_privileged(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct svc_parse *sp)
{
	return sk_app_get_bool(c, v, path, &sp->svc->privileged);
}

static int f_security_opt(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			  struct svc_parse *sp)
{
	return sk_app_security_opt_parse(c, v, path, &sp->svc->security);
}

static int f_secrets(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct svc_parse *sp)
{
	return sk_app_service_secrets_parse(c, v, path, sp->svc);
}

static int f_shm_size(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		      struct svc_parse *sp)
{
	return sk_app_shm_size_parse(c, v, path, sp->svc);
}

static int f_pid(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		 struct svc_parse *sp)
{
	return sk_app_pid_parse(c, v, path, sp->svc);
}

static int f_mem_swappiness(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			    struct svc_parse *sp)
{
	return sk_app_mem_swappiness_parse(c, v, path, sp->svc);
}

static int f_oom_kill_disable(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			      struct svc_parse *sp)
{
	sp->oom_kill_disable = v;
	return sk_app_oom_kill_disable_parse(c, v, path, sp->svc);
}

/* Checked in sk_app_service_parse(), against the resolved memory limit. */
static int f_memswap_limit(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			   struct svc_parse *sp)
{
	sp->memswap = v;
	return 0;
}

static int f_init(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		  struct svc_parse *sp)
{
	return sk_app_get_bool(c, v, path, &sp->svc->init);
}

static int f_stop_signal(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			 struct svc_parse *sp)
{
	_cleanup_free_ char *s = NULL;
	const char *name;
	int n;

	if (sk_app_get_str(c, v, path, &s) < 0)
		return -EINVAL;
	name = sk_str_has_prefix(s, "SIG") ? s + 3 : s;
	if (sk_parse_int(s, &n) == 0 && n > 0 && n < NSIG) {
		sp->svc->stop_signal = sk_strdup(s);
		return 0;
	}
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && !strcmp(abbrev, name)) {
			sp->svc->stop_signal = sk_asprintf("SIG%s", name);
			return 0;
		}
	}
	return sk_app_fail(c, v, path, "unknown signal \"%s\"", s);
}

static int f_stop_grace(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct svc_parse *sp)
{
	return sk_app_get_duration(c, v, path, &sp->svc->stop_grace_period_ns);
}

static int ulimit_one(struct sk_app_ctx *c, const char *name, const struct sk_yn *v,
		      const char *path, struct sk_app_ulimit *u)
{
	*u = (struct sk_app_ulimit){ .name = sk_strdup(name) };
	if (v->type == SK_YN_MAP) {
		_cleanup_free_ char *ps = sk_app_path(path, "soft"),
				    *ph = sk_app_path(path, "hard");
		if (sk_app_get_int(c, sk_yn_get(v, "soft"), ps, -1, INT64_MAX, &u->soft) < 0 ||
		    sk_app_get_int(c, sk_yn_get(v, "hard"), ph, -1, INT64_MAX, &u->hard) < 0)
			return -EINVAL;
		if (u->hard != -1 && (u->soft == -1 || u->soft > u->hard))
			return sk_app_fail(c, v, path, "soft limit exceeds hard limit");
		return 0;
	}
	if (sk_app_get_int(c, v, path, -1, INT64_MAX, &u->soft) < 0)
		return -EINVAL;
	u->hard = u->soft;
	return 0;
}

static int f_ulimits(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct svc_parse *sp)
{
	struct sk_app_service *s = sp->svc;
	int r = 0;

	if (sk_app_want(c, v, path, SK_YN_MAP) < 0)
		return -EINVAL;
	s->ulimits = sk_new0(struct sk_app_ulimit, v->n);
	for (size_t i = 0; i < v->n; i++) {
		_cleanup_free_ char *p = sk_app_path(path, sk_yn_key(v, i)->text);
		if (ulimit_one(c, sk_yn_key(v, i)->text, sk_yn_val(v, i), p,
			       &s->ulimits[s->n_ulimits++]) < 0)
			r = -EINVAL;
	}
	return r;
}

static int f_sysctls(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		     struct svc_parse *sp)
{
	return sk_app_get_kvs(c, v, path, false, &sp->svc->sysctls);
}

static int f_labels(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		    struct svc_parse *sp)
{
	return sk_app_get_kvs(c, v, path, false, &sp->svc->labels);
}

static int f_cpuset(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		    struct svc_parse *sp)
{
	char **s = &sp->svc->cpuset;

	if (sk_app_get_str(c, v, path, s) < 0)
		return -EINVAL;
	if (!**s || strspn(*s, "0123456789,-") != strlen(*s))
		return sk_app_fail(c, v, path, "invalid cpu list \"%s\" (like 0-3,6)", *s);
	return 0;
}

static int f_cpu_shares(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct svc_parse *sp)
{
	return sk_app_get_int(c, v, path, 0, 262144, &sp->svc->cpu_shares);
}

static int f_oom_score_adj(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			   struct svc_parse *sp)
{
	int64_t adj;

	if (sk_app_get_int(c, v, path, -1000, 1000, &adj) < 0)
		return -EINVAL;
	sp->svc->oom_score_adj = (int)adj;
	return 0;
}

static int f_profiles(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		      struct svc_parse *sp)
{
	return sk_app_get_strv(c, v, path, false, &sp->svc->profiles);
}

static int f_network_mode(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			  struct svc_parse *sp)
{
	_cleanup_free_ char *s = NULL;
	struct sk_app_service *svc = sp->svc;

	if (sk_app_get_str(c, v, path, &s) < 0)
		return -EINVAL;
	if (!strcmp(s, "host"))
		svc->network_mode = SK_APP_NET_HOST;
	else if (!strcmp(s, "none"))
		svc->network_mode = SK_APP_NET_NONE;
	else if (!strcmp(s, "bridge") || !strcmp(s, "default"))
		svc->network_mode = SK_APP_NET_DEFAULT;
	else if (sk_str_has_prefix(s, "service:") && s[8]) {
		svc->network_mode = SK_APP_NET_SERVICE;
		svc->network_mode_ref = sk_strdup(s + 8);
	} else if (sk_str_has_prefix(s, "container:") && s[10]) {
		svc->network_mode = SK_APP_NET_CONTAINER;
		svc->network_mode_ref = sk_strdup(s + 10);
	} else
		return sk_app_fail(c, v, path,
				   "invalid network_mode \"%s\" (host, none, service:NAME)", s);
	return 0;
}

/* Fields deploy also has: kept aside and reconciled in finish(). */
static int f_mem_limit(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		       struct svc_parse *sp)
{
	sp->mem_limit = v;
	return 0;
}

static int f_mem_reservation(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			     struct svc_parse *sp)
{
	sp->mem_reservation = v;
	return 0;
}

static int f_cpus(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		  struct svc_parse *sp)
{
	sp->cpus = v;
	return 0;
}

static int f_pids_limit(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct svc_parse *sp)
{
	sp->pids_limit = v;
	return 0;
}

static int f_scale(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		   struct svc_parse *sp)
{
	sp->scale = v;
	return 0;
}

static int f_build(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		   struct svc_parse *sp)
{
	sp->build = v;
	return 1; /* and warn as unsupported */
}

static int f_depends_on(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
			struct svc_parse *sp)
{
	return sk_app_depends_on_parse(c, v, path, sp->svc);
}

static int f_expose(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		    struct svc_parse *sp)
{
	return sk_app_expose_parse(c, v, path, sp->svc);
}

static int f_networks(struct sk_app_ctx *c, const struct sk_yn *v, const char *path,
		      struct svc_parse *sp)
{
	return sk_app_svc_networks_parse(c, v, path, sp->svc);
}

static const struct {
	const char *key;
	field_fn fn;
} fields[] = {
	{ "image", f_image },
	{ "command", f_command },
	{ "entrypoint", f_entrypoint },
	{ "environment", f_environment },
	{ "env_file", f_env_file },
	{ "working_dir", f_working_dir },
	{ "user", f_user },
	{ "hostname", f_hostname },
	{ "domainname", f_domainname },
	{ "ports", f_ports },
	{ "expose", f_expose },
	{ "volumes", f_volumes },
	{ "tmpfs", f_tmpfs },
	{ "depends_on", f_depends_on },
	{ "healthcheck", f_healthcheck },
	{ "restart", f_restart },
	{ "deploy", f_deploy },
	{ "cap_add", f_cap_add },
	{ "cap_drop", f_cap_drop },
	{ "read_only", f_read_only },
	{ "privileged", f_privileged },
	{ "security_opt", f_security_opt },
	{ "secrets", f_secrets },
	{ "shm_size", f_shm_size },
	{ "pid", f_pid },
	{ "mem_swappiness", f_mem_swappiness },
	{ "memswap_limit", f_memswap_limit },
	{ "oom_kill_disable", f_oom_kill_disable },
	{ "init", f_init },
	{ "stop_signal", f_stop_signal },
	{ "stop_grace_period", f_stop_grace },
	{ "ulimits", f_ulimits },
	{ "sysctls", f_sysctls },
	{ "labels", f_labels },
	{ "cpuset", f_cpuset },
	{ "cpu_shares", f_cpu_shares },
	{ "cpus", f_cpus },
	{ "mem_limit", f_mem_limit },
	{ "mem_reservation", f_mem_reservation },
	{ "pids_limit", f_pids_limit },
	{ "oom_score_adj", f_oom_score_adj },
	{ "profiles", f_profiles },
	{ "network_mode", f_network_mode },
	{ "networks", f_networks },
	{ "scale", f_scale },
	{ "build", f_build },
	{ "x-skiff", f_xskiff },
};

/* compose-spec service fields skiff does not implement: a warning each. */
static const char *const unsupported[] = {
	"annotations",
	"attach",
	"blkio_config",
	"build",
	"cgroup",
	"cgroup_parent",
	"configs",
	"container_name",
	"cpu_count",
	"cpu_percent",
	"cpu_period",
	"cpu_quota",
	"cpu_rt_period",
	"cpu_rt_runtime",
	"credential_spec",
	"develop",
	"device_cgroup_rules",
	"devices",
	"dns",
	"dns_opt",
	"dns_search",
	"driver_opts",
	"extends",
	"external_links",
	"extra_hosts",
	"gpus",
	"group_add",
	"ipc",
	"isolation",
	"label_file",
	"links",
	"logging",
	"mac_address",
	"models",
	"platform",
	"post_start",
	"pre_stop",
	"provider",
	"pull_policy",
	"runtime",
	"stdin_open",
	"storage_opt",
	"tty",
	"use_api_socket",
	"userns_mode",
	"uts",
	"volumes_from",
};

static int one_field(struct sk_app_ctx *c, const struct sk_yn *k, const struct sk_yn *v,
		     const char *svc_path, struct svc_parse *sp)
{
	_cleanup_free_ char *path = sk_app_path(svc_path, k->text);
	int r = 1;

	for (size_t i = 0; i < SK_ELEMENTSOF(fields); i++)
		if (!strcmp(fields[i].key, k->text)) {
			r = fields[i].fn(c, v, path, sp);
			if (r <= 0)
				return r;
		}
	for (size_t i = 0; i < SK_ELEMENTSOF(unsupported); i++)
		if (!strcmp(unsupported[i], k->text)) {
			sk_app_warn(c, k, NULL, "%s is not supported by skiff, ignored", path);
			return 0;
		}
	if (r == 1 && sk_str_has_prefix(k->text, "x-"))
		return 0; /* extensions: collected by the caller */
	return sk_app_fail(c, k, path, "unknown field");
}

static json_t *extensions(struct sk_app_ctx *c, const struct sk_yn *n, const char *svc_path)
{
	json_t *x = NULL;

	for (size_t i = 0; i < n->n; i++) {
		const char *k = sk_yn_key(n, i)->text;
		if (!sk_str_has_prefix(k, "x-") || !strcmp(k, "x-skiff"))
			continue;
		_cleanup_free_ char *p = sk_app_path(svc_path, k);
		json_t *j = sk_app_yn_to_json(c, sk_yn_val(n, i), p);
		if (!j)
			continue;
		if (!x)
			x = json_object();
		json_object_set_new(x, k, j);
	}
	return x;
}

int sk_app_service_parse(struct sk_app_ctx *c, const struct sk_yn *key, const struct sk_yn *n,
			 struct sk_app_service *svc)
{
	const char *name = key->text;
	_cleanup_free_ char *path = sk_app_path("services", name);
	struct svc_parse sp = { .svc = svc };
	int r = 0;
	json_t *x;

	svc->name = sk_strdup(name);
	sk_app_service_defaults(svc);
	if (sk_app_want(c, n, path, SK_YN_MAP) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++)
		if (one_field(c, sk_yn_key(n, i), sk_yn_val(n, i), path, &sp) < 0)
			r = -EINVAL;
	x = extensions(c, n, path);
	if (x) {
		svc->extensions = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(x);
	}
	if (sk_app_resolve_limits(c, path, svc, sp.mem_limit, sp.mem_reservation, sp.cpus,
				  sp.pids_limit, sp.scale) < 0)
		r = -EINVAL;
	else {
		_cleanup_free_ char *pm = sk_app_path(path, "memswap_limit");
		if (sk_app_memswap_check(c, sp.memswap, pm, svc) < 0)
			r = -EINVAL;
		if (svc->oom_kill_disable && !svc->limits.memory)
			sk_app_warn(c, sp.oom_kill_disable, NULL,
				    "%s.oom_kill_disable without a memory limit lets the "
				    "service take all of the host's memory",
				    path);
	}
	if (!sp.has_image)
		r = sp.build ? sk_app_fail(c, sp.build, path,
					   "has build: but no image (skiff does not build images)")
			     : sk_app_fail(c, key, path, "no image given");
	return r;
}
