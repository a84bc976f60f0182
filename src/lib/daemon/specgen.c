/* SPDX-License-Identifier: Apache-2.0 */
/*
 * specgen.c - a Compose service replica and its image config become the
 * OCI config.json the runtime runs: process (command, environment, user,
 * capabilities, rlimits), hostname, namespaces, cgroup resources, sysctls
 * and annotations; specgen-mounts.c adds the mounts.  Also the two service
 * facts the daemon needs outside the spec: the stop signal and the
 * healthcheck that applies.
 *
 * It starts from sk_spec_default_json(false) and edits that document, so
 * what it does not touch stays runc's default.  It does not write files or
 * start anything; the choices it makes are listed in specgen.h.
 */
#include "daemon/specgen-internal.h"

#include <assert.h>
#include <ctype.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

#define NS(s) ((int64_t)(s)*SK_APP_NS_PER_SEC)
#define CPU_PERIOD 100000

/* Prefixes an error that a helper set with "service 'NAME'". */
static int svc_fail(const struct sk_app_service *svc, int r, struct sk_error **err)
{
	sk_error_prefix(err, "service '%s'", svc->name);
	return r;
}

/* obj[key] as an object, created when missing. */
static json_t *obj_child(json_t *obj, const char *key)
{
	json_t *c = json_object_get(obj, key);

	if (json_is_object(c))
		return c;
	c = sk_sg_must(json_object());
	sk_sg_set(obj, key, c);
	return c;
}

/* ---- process --------------------------------------------------------- */

/* Docker's default capability set (moby oci/caps/defaults.go). */
static const int docker_caps[] = {
	CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,	     CAP_FOWNER,
	CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,	     CAP_SETUID,
	CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
	CAP_KILL,    CAP_AUDIT_WRITE,
};

/*
 * "Every capability": those the kernel knows and this process may still
 * hold (its bounding set); a capability skiffd lacks cannot be granted.
 */
static uint64_t caps_all(void)
{
	uint64_t m = 0;

	for (int c = 0; c <= sk_cap_last_cap(); c++)
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1)
			m |= 1ull << c;
	return m;
}

/* A cap_add/cap_drop list as a mask; *ret_all when it holds "ALL". */
static int caps_list(char *const *names, const char *field, uint64_t *ret, bool *ret_all,
		     struct sk_error **err)
{
	*ret = 0;
	*ret_all = false;
	for (; names && *names; names++) {
		_cleanup_free_ char *up = NULL, *full = NULL;
		int c;

		up = sk_strdup(*names);
		for (char *p = up; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		if (!strcmp(up, "ALL") || !strcmp(up, "CAP_ALL")) {
			*ret_all = true;
			continue;
		}
		full = sk_str_has_prefix(up, "CAP_") ? TAKE_PTR(up) : sk_asprintf("CAP_%s", up);
		c = sk_cap_from_name(full);
		if (c < 0)
			return sk_error_set(err, 0, "%s: unknown capability '%s'", field, *names);
		*ret |= 1ull << c;
	}
	return 0;
}

/* Docker's TweakCapabilities: add ALL, drop ALL, else defaults - drop + add. */
static int caps_mask(const struct sk_app_service *svc, uint64_t *ret, struct sk_error **err)
{
	uint64_t add, drop, base = 0;
	bool add_all, drop_all;
	int r;

	if ((r = caps_list(svc->cap_add, "cap_add", &add, &add_all, err)) < 0 ||
	    (r = caps_list(svc->cap_drop, "cap_drop", &drop, &drop_all, err)) < 0)
		return r;
	if (svc->privileged) {
		*ret = caps_all();
		return 0;
	}
	for (size_t i = 0; i < SK_ELEMENTSOF(docker_caps); i++)
		base |= 1ull << docker_caps[i];
	if (add_all)
		*ret = caps_all() & ~drop;
	else if (drop_all)
		*ret = add;
	else
		*ret = (base & ~drop) | add;
	return 0;
}

static json_t *caps_json(uint64_t mask)
{
	json_t *arr = sk_sg_must(json_array());

	for (int c = 0; c <= sk_cap_last_cap(); c++)
		if (mask & (1ull << c))
			sk_sg_append(arr, json_string(sk_cap_to_name(c)));
	return arr;
}

static void set_caps(json_t *proc, uint64_t mask)
{
	json_t *c = sk_sg_must(json_object());

	sk_sg_set(c, "bounding", caps_json(mask));
	sk_sg_set(c, "effective", caps_json(mask));
	sk_sg_set(c, "permitted", caps_json(mask));
	sk_sg_set(c, "inheritable", json_array());
	sk_sg_set(c, "ambient", json_array());
	sk_sg_set(proc, "capabilities", c);
}

static json_int_t rlimit_value(int64_t v)
{
	return v < 0 ? (json_int_t)INT64_MAX : (json_int_t)v;
}

/* ulimits over the default spec's rlimits (RLIMIT_NOFILE 1024:1024). */
static int set_rlimits(json_t *proc, const struct sk_app_service *svc, struct sk_error **err)
{
	json_t *arr = json_object_get(proc, "rlimits");

	if (!json_is_array(arr)) {
		arr = sk_sg_must(json_array());
		sk_sg_set(proc, "rlimits", arr);
	}
	for (size_t i = 0; i < svc->n_ulimits; i++) {
		const struct sk_app_ulimit *u = &svc->ulimits[i];
		_cleanup_free_ char *type = sk_asprintf("RLIMIT_%s", u->name);
		json_t *rl, *v;
		size_t k;

		for (char *p = type; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		if (sk_rlimit_from_name(type) < 0)
			return sk_error_set(err, 0, "ulimits: unknown limit '%s'", u->name);
		rl = json_pack("{s:s, s:I, s:I}", "type", type, "hard", rlimit_value(u->hard),
			       "soft", rlimit_value(u->soft));
		json_array_foreach(arr, k, v)
		{
			if (!strcmp(json_string_value(json_object_get(v, "type")) ?: "", type))
				break;
		}
		if (k < json_array_size(arr)) {
			if (json_array_set_new(arr, k, sk_sg_must(rl)) < 0)
				abort();
		} else
			sk_sg_append(arr, rl);
	}
	return 0;
}

/* env_file values are raw bytes: refuse what JSON cannot carry instead of aborting. */
static int env_json(char *const *env, json_t **ret, struct sk_error **err)
{
	json_t *arr = sk_sg_must(json_array());

	for (; env && *env; env++) {
		json_t *v = json_string(*env);
		if (!v) {
			json_decref(arr);
			return sk_error_set(err, 0, "environment: '%.*s' is not valid UTF-8",
					    (int)strcspn(*env, "="), *env);
		}
		sk_sg_append(arr, v);
	}
	*ret = arr;
	return 0;
}

static bool env_has(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (; env && *env; env++)
		if (!strncmp(*env, key, n) && (*env)[n] == '=')
			return true;
	return false;
}

static char **service_env(const struct sk_app_kvs *kvs)
{
	char **env = sk_new0(char *, 1);

	for (size_t i = 0; i < kvs->n; i++) {
		_cleanup_free_ char *kv =
		    sk_asprintf("%s=%s", kvs->v[i].key, kvs->v[i].value ? kvs->v[i].value : "");
		sk_strv_push(&env, kv);
	}
	return env;
}

/* Whether rootfs holds a regular file at rel, resolved inside rootfs. */
static bool file_in_root(const char *rootfs, const char *rel)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (root < 0)
		return false;
	fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* init: true runs the command under the image's tini when it has one. */
static const char *find_tini(const char *rootfs)
{
	static const char *const paths[] = { "/sbin/tini", "/usr/bin/tini",	  "/usr/sbin/tini",
					     "/bin/tini",  "/usr/local/bin/tini", "/tini" };

	for (size_t i = 0; i < SK_ELEMENTSOF(paths); i++)
		if (file_in_root(rootfs, paths[i] + 1))
			return paths[i];
	return NULL;
}

static json_t *user_json(const struct sk_user *u)
{
	json_t *user =
	    json_pack("{s:I, s:I}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid);
	json_t *gids = sk_sg_must(json_array());

	for (size_t i = 0; i < u->n_additional_gids; i++)
		sk_sg_append(gids, json_integer(u->additional_gids[i]));
	sk_sg_set(sk_sg_must(user), "additionalGids", gids);
	return user;
}

static void set_args(json_t *proc, char *const *args, const char *tini)
{
	json_t *arr = sk_sg_must(json_array());

	if (tini) {
		sk_sg_append(arr, json_string(tini));
		sk_sg_append(arr, json_string("--"));
	}
	for (; args && *args; args++)
		sk_sg_append(arr, json_string(*args));
	sk_sg_set(proc, "args", arr);
}

static int build_process(json_t *doc, const struct sk_app_service *svc,
			 const struct sk_image_config *img, const struct sk_specgen_opts *o,
			 const char *hostname, uint64_t *ret_caps, struct sk_error **err)
{
	_cleanup_(sk_process_freep) struct sk_process *p = sk_new0(struct sk_process, 1);
	_cleanup_strv_ char **env = service_env(&svc->environment);
	struct sk_image_overrides ov = { .entrypoint = svc->entrypoint,
					 .cmd = svc->command,
					 .env = env,
					 .workdir = svc->working_dir,
					 .user = svc->user };
	json_t *proc = obj_child(doc, "process"), *env_arr = NULL;
	const char *tini = svc->init ? find_tini(o->rootfs) : NULL;
	uint64_t caps;
	int r;

	if ((r = sk_image_apply_config(img, &ov, o->rootfs, p, err)) < 0 ||
	    (r = caps_mask(svc, &caps, err)) < 0 || (r = set_rlimits(proc, svc, err)) < 0)
		return r;
	if (!env_has(p->env, "HOSTNAME")) {
		_cleanup_free_ char *h = sk_asprintf("HOSTNAME=%s", hostname);
		sk_strv_push(&p->env, h);
	}
	if ((r = env_json(p->env, &env_arr, err)) < 0)
		return r;
	if (svc->init)
		sk_sg_set(obj_child(doc, "annotations"), "skiff.init",
			  json_string(tini ? tini : "none"));
	sk_sg_set(proc, "terminal", json_false());
	sk_sg_set(proc, "user", user_json(&p->user));
	set_args(proc, p->args, tini);
	sk_sg_set(proc, "env", env_arr);
	sk_sg_set(proc, "cwd", json_string(p->cwd));
	set_caps(proc, caps);
	sk_sg_set(proc, "noNewPrivileges",
		  json_boolean(svc->security.no_new_privileges >= 0
				   ? svc->security.no_new_privileges
				   : !svc->privileged));
	sk_sg_set(proc, "oomScoreAdj", json_integer(svc->oom_score_adj));
	*ret_caps = caps;
	return 0;
}

/* ---- linux ------------------------------------------------------------ */

static int build_namespaces(json_t *lx, const struct sk_app_service *svc,
			    const struct sk_specgen_opts *o, struct sk_error **err)
{
	static const char *const always[] = { "pid", "ipc", "uts", "mount", "cgroup" };
	json_t *arr = sk_sg_must(json_array());

	for (size_t i = 0; i < SK_ELEMENTSOF(always); i++)
		if (!svc->pid_host || strcmp(always[i], "pid"))
			sk_sg_append(arr, json_pack("{s:s}", "type", always[i]));
	if (o->netns_path)
		sk_sg_append(arr,
			     json_pack("{s:s, s:s}", "type", "network", "path", o->netns_path));
	else if (svc->network_mode == SK_APP_NET_SERVICE ||
		 svc->network_mode == SK_APP_NET_CONTAINER) {
		json_decref(arr);
		return sk_error_set(
		    err, EOPNOTSUPP, "network_mode: %s:%s needs that network namespace's path",
		    svc->network_mode == SK_APP_NET_SERVICE ? "service" : "container",
		    svc->network_mode_ref ? svc->network_mode_ref : "?");
	} else if (svc->network_mode != SK_APP_NET_HOST)
		sk_sg_append(arr, json_pack("{s:s}", "type", "network"));
	sk_sg_set(lx, "namespaces", arr);
	return 0;
}

static void build_resources(json_t *lx, const struct sk_app_service *svc)
{
	json_t *res = obj_child(lx, "resources");
	const struct sk_app_resources *lim = &svc->limits, *resv = &svc->reservations;

	if (lim->memory)
		sk_sg_set(
		    obj_child(res, "memory"), "limit",
		    json_integer(lim->memory > INT64_MAX ? INT64_MAX : (json_int_t)lim->memory));
	if (resv->memory)
		sk_sg_set(
		    obj_child(res, "memory"), "reservation",
		    json_integer(resv->memory > INT64_MAX ? INT64_MAX : (json_int_t)resv->memory));
	if (svc->memswap_limit)
		sk_sg_set(obj_child(res, "memory"), "swap", json_integer(svc->memswap_limit));
	if (svc->mem_swappiness >= 0)
		sk_sg_set(obj_child(res, "memory"), "swappiness",
			  json_integer(svc->mem_swappiness));
	if (svc->oom_kill_disable)
		sk_sg_set(obj_child(res, "memory"), "disableOOMKiller", json_true());
	if (lim->cpus > 0) {
		sk_sg_set(obj_child(res, "cpu"), "quota",
			  json_integer((json_int_t)(lim->cpus * CPU_PERIOD + 0.5)));
		sk_sg_set(obj_child(res, "cpu"), "period", json_integer(CPU_PERIOD));
	}
	if (svc->cpu_shares > 0)
		sk_sg_set(obj_child(res, "cpu"), "shares", json_integer(svc->cpu_shares));
	if (svc->cpuset && *svc->cpuset)
		sk_sg_set(obj_child(res, "cpu"), "cpus", json_string(svc->cpuset));
	if (lim->pids > 0)
		sk_sg_set(obj_child(res, "pids"), "limit", json_integer(lim->pids));
	if (svc->privileged)
		sk_sg_set(res, "devices", json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm"));
}

static int build_sysctls(json_t *lx, const struct sk_app_service *svc,
			 const struct sk_specgen_opts *o, struct sk_error **err)
{
	json_t *sc = sk_sg_must(json_object());

	for (size_t i = 0; i < svc->sysctls.n; i++) {
		const struct sk_app_kv *kv = &svc->sysctls.v[i];
		if (sk_str_has_prefix(kv->key, "net.") && !o->netns_path &&
		    svc->network_mode == SK_APP_NET_HOST) {
			json_decref(sc);
			return sk_error_set(
			    err, 0, "sysctls: '%s' would change the host (network_mode host)",
			    kv->key);
		}
		sk_sg_set(sc, kv->key, json_string(kv->value ? kv->value : ""));
	}
	if (json_object_size(sc))
		sk_sg_set(lx, "sysctl", sc);
	else
		json_decref(sc);
	return 0;
}

/*
 * privileged or seccomp=unconfined: no filter (as Docker: privileged wins
 * over a profile file too); seccomp=PATH: that profile; else the default.
 */
static int build_seccomp(json_t *lx, const struct sk_app_service *svc, uint64_t caps,
			 struct sk_error **err)
{
	const struct sk_app_security *sec = &svc->security;
	json_t *prof = NULL;
	int r;

	if (svc->privileged || sec->seccomp == SK_APP_SECCOMP_UNCONFINED)
		return 0;
	if (sec->seccomp == SK_APP_SECCOMP_DEFAULT || !sec->seccomp_profile) {
		sk_sg_set(lx, "seccomp", sk_specgen_seccomp_default(caps));
		return 0;
	}
	r = sk_specgen_seccomp_profile(sec->seccomp_profile, caps, &prof, err);
	if (r < 0)
		return r;
	sk_sg_set(lx, "seccomp", prof);
	return 0;
}

static int build_linux(json_t *doc, const struct sk_app_service *svc,
		       const struct sk_specgen_opts *o, uint64_t caps, struct sk_error **err)
{
	json_t *lx = obj_child(doc, "linux");
	int r;

	if ((r = build_namespaces(lx, svc, o, err)) < 0 ||
	    (r = build_sysctls(lx, svc, o, err)) < 0 || (r = build_seccomp(lx, svc, caps, err)) < 0)
		return r;
	build_resources(lx, svc);
	if (o->cgroups_path)
		sk_sg_set(lx, "cgroupsPath", json_string(o->cgroups_path));
	if (svc->privileged) {
		json_object_del(lx, "maskedPaths");
		json_object_del(lx, "readonlyPaths");
	}
	return 0;
}

static void build_annotations(json_t *doc, const struct sk_app_service *svc,
			      const struct sk_specgen_opts *o)
{
	json_t *a = obj_child(doc, "annotations");
	char idx[24];

	for (size_t i = 0; i < svc->labels.n; i++)
		sk_sg_set(a, svc->labels.v[i].key,
			  json_string(svc->labels.v[i].value ? svc->labels.v[i].value : ""));
	snprintf(idx, sizeof(idx), "%lld", (long long)o->index);
	sk_sg_set(a, "skiff.app", json_string(o->app));
	sk_sg_set(a, "skiff.service", json_string(svc->name));
	sk_sg_set(a, "skiff.replica", json_string(idx));
}

static char *pick_hostname(const struct sk_app_service *svc, const struct sk_specgen_opts *o)
{
	char host[256] = "";

	if (svc->hostname && *svc->hostname)
		return sk_strdup(svc->hostname);
	if (svc->network_mode == SK_APP_NET_HOST && !o->netns_path &&
	    gethostname(host, sizeof(host) - 1) == 0 && host[0])
		return sk_strdup(host);
	return sk_strdup(o->container_id);
}

int sk_specgen_build(const struct sk_app_service *svc, const struct sk_image_config *img,
		     const struct sk_specgen_opts *o, json_t **ret, struct sk_error **err)
{
	_cleanup_free_ char *def = sk_spec_default_json(false), *hostname = NULL;
	json_auto_t *doc = NULL;
	uint64_t caps = 0;
	json_t *root;
	int r;

	assert(svc && img && o && ret);
	assert(o->app && o->container_id && o->rootfs);
	doc = sk_sg_must(json_loads(def, 0, NULL));
	hostname = pick_hostname(svc, o);
	if ((r = build_process(doc, svc, img, o, hostname, &caps, err)) < 0 ||
	    (r = build_linux(doc, svc, o, caps, err)) < 0 ||
	    (r = sk_specgen_mounts(doc, svc, o, err)) < 0)
		return svc_fail(svc, r, err);
	root = sk_sg_must(json_object());
	sk_sg_set(root, "path", json_string(o->rootfs));
	sk_sg_set(root, "readonly", json_boolean(svc->read_only));
	sk_sg_set(doc, "root", root);
	sk_sg_set(doc, "hostname", json_string(hostname));
	if (svc->domainname && *svc->domainname)
		sk_sg_set(doc, "domainname", json_string(svc->domainname));
	build_annotations(doc, svc, o);
	*ret = TAKE_PTR(doc);
	return 0;
}

/* ---- stop signal ------------------------------------------------------ */

static int parse_signal(const char *s)
{
	int n, off = 0;

	if (sk_parse_int(s, &n) == 0)
		return n > 0 && n < NSIG ? n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	if (!strncasecmp(s, "RTMIN", 5) || !strncasecmp(s, "RTMAX", 5)) {
		bool max = !strncasecmp(s, "RTMAX", 5);
		if (s[5] && (sk_parse_int(s + 5, &off) < 0 || (max ? off > 0 : off < 0)))
			return -1;
		n = (max ? SIGRTMAX : SIGRTMIN) + off;
		return n >= SIGRTMIN && n <= SIGRTMAX ? n : -1;
	}
	for (int i = 1; i < SIGRTMIN; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (*s && abbrev && !strcasecmp(abbrev, s))
			return i;
	}
	return -1;
}

int sk_specgen_stop_signal(const struct sk_app_service *svc, const struct sk_image_config *img,
			   int *ret_signo, struct sk_error **err)
{
	const char *s = svc->stop_signal, *field = "stop_signal";
	int n;

	if (!s && img && img->stop_signal && *img->stop_signal) {
		s = img->stop_signal;
		field = "image StopSignal";
	}
	if (!s) {
		*ret_signo = SIGTERM;
		return 0;
	}
	n = parse_signal(s);
	if (n < 0)
		return sk_error_set(err, 0, "service '%s': %s: unknown signal '%s'", svc->name,
				    field, s);
	*ret_signo = n;
	return 0;
}

/* ---- healthcheck ------------------------------------------------------ */

/* The service's value unless it is Compose's default, then the image's if set. */
static int64_t hc_pick(int64_t svc_v, int64_t def, int64_t img_v)
{
	return svc_v != def ? svc_v : img_v > 0 ? img_v : def;
}

/* The image's test ["CMD", argv...] / ["CMD-SHELL", line] into kind and test. */
static int hc_image_test(const struct sk_app_service *svc, char **test,
			 struct sk_app_healthcheck *hc, struct sk_error **err)
{
	if (!test || !test[0] || !strcmp(test[0], "NONE")) {
		hc->kind = SK_APP_HC_NONE;
		return 0;
	}
	if (!strcmp(test[0], "CMD") && test[1]) {
		hc->kind = SK_APP_HC_CMD;
		hc->test = sk_strv_copy(test + 1);
	} else if (!strcmp(test[0], "CMD-SHELL") && test[1] && !test[2]) {
		hc->kind = SK_APP_HC_SHELL;
		hc->test = sk_strv_copy(test + 1);
	} else
		return sk_error_set(err, 0, "service '%s': image Healthcheck: invalid test '%s'",
				    svc->name, test[0]);
	return 0;
}

int sk_specgen_healthcheck(const struct sk_app_service *svc, const struct sk_image_config *img,
			   struct sk_app_healthcheck *ret, struct sk_error **err)
{
	const struct sk_app_healthcheck *s = &svc->healthcheck;
	const struct sk_image_healthcheck *ih = img ? img->healthcheck : NULL;
	struct sk_app_healthcheck hc = { .kind = s->kind };
	int r;

	if (s->kind == SK_APP_HC_NONE || (s->kind == SK_APP_HC_INHERIT && !ih)) {
		*ret = (struct sk_app_healthcheck){ .kind = SK_APP_HC_NONE };
		return 0;
	}
	if (s->kind == SK_APP_HC_INHERIT) {
		if ((r = hc_image_test(svc, ih->test, &hc, err)) < 0)
			return r;
		if (hc.kind == SK_APP_HC_NONE) {
			*ret = hc;
			return 0;
		}
	} else
		hc.test = sk_strv_copy(s->test);
	hc.interval_ns = hc_pick(s->interval_ns, NS(30), ih ? ih->interval : 0);
	hc.timeout_ns = hc_pick(s->timeout_ns, NS(30), ih ? ih->timeout : 0);
	hc.start_period_ns = hc_pick(s->start_period_ns, 0, ih ? ih->start_period : 0);
	hc.start_interval_ns = hc_pick(s->start_interval_ns, NS(5), ih ? ih->start_interval : 0);
	hc.retries = (int)hc_pick(s->retries, 3, ih ? ih->retries : 0);
	*ret = hc;
	return 0;
}
