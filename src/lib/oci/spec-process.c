/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec-process.c - the "process" object of config.json (and of
 * `exec --process FILE`): args, env, cwd, user, capabilities, rlimits,
 * scheduler, I/O priority, CPU affinity.
 *
 * It checks what the runtime-spec requires (args non-empty, cwd absolute,
 * known capability and rlimit names, soft <= hard, no duplicate rlimit) and
 * stores the rest as given; applying it is the runtime module's job.
 */
#include "oci/spec-internal.h"

#include <linux/ioprio.h>
#include <string.h>

static const char *const sched_policies[] = {
	"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",       "SCHED_BATCH",
	"SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE", NULL,
};

static const char *const sched_flags[] = {
	"SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",
	"SCHED_FLAG_DL_OVERRUN",     "SCHED_FLAG_KEEP_POLICY",
	"SCHED_FLAG_KEEP_PARAMS",    "SCHED_FLAG_UTIL_CLAMP_MIN",
	"SCHED_FLAG_UTIL_CLAMP_MAX", NULL,
};

static int parse_cap_set(const struct sk_oj *j, json_t *obj, const char *path, const char *key,
			 uint64_t *ret, bool *has)
{
	_cleanup_strv_ char **names = NULL;
	uint64_t mask = 0;
	int r;

	r = sk_oj_strv(j, obj, path, key, false, &names);
	if (r < 0 || !names)
		return r;
	for (size_t i = 0; names[i]; i++) {
		int cap = sk_cap_from_name(names[i]);

		if (cap < 0) {
			_cleanup_free_ char *p = sk_oj_elem(path, key, i);

			return sk_oj_fail(j, p, NULL, "unknown capability \"%s\"", names[i]);
		}
		mask |= 1ull << cap;
	}
	*ret = mask;
	*has = true;
	return 0;
}

static int parse_caps(const struct sk_oj *j, json_t *obj, const char *path, struct sk_process *p)
{
	_cleanup_free_ char *cp = sk_oj_join(path, "capabilities");
	struct sk_caps *c = &p->caps;
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "capabilities", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	p->has_caps = true;
	if ((r = parse_cap_set(j, o, cp, "bounding", &c->bounding, &c->has_bounding)) < 0 ||
	    (r = parse_cap_set(j, o, cp, "effective", &c->effective, &c->has_effective)) < 0 ||
	    (r = parse_cap_set(j, o, cp, "inheritable", &c->inheritable, &c->has_inheritable)) <
		0 ||
	    (r = parse_cap_set(j, o, cp, "permitted", &c->permitted, &c->has_permitted)) < 0 ||
	    (r = parse_cap_set(j, o, cp, "ambient", &c->ambient, &c->has_ambient)) < 0)
		return r;
	return 0;
}

static int parse_rlimit(const struct sk_oj *j, json_t *o, const char *p, struct sk_rlimit *rl)
{
	_cleanup_free_ char *type = NULL;
	int r;

	if ((r = sk_oj_str(j, o, p, "type", true, &type)) < 0 ||
	    (r = sk_oj_u64(j, o, p, "soft", true, &rl->soft, NULL)) < 0 ||
	    (r = sk_oj_u64(j, o, p, "hard", true, &rl->hard, NULL)) < 0)
		return r;
	rl->resource = sk_rlimit_from_name(type);
	if (rl->resource < 0)
		return sk_oj_fail(j, p, "type", "unknown rlimit \"%s\"", type);
	if (rl->soft > rl->hard)
		return sk_oj_fail(j, p, NULL, "soft limit %llu is greater than hard limit %llu",
				  (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	return 0;
}

static int parse_rlimits(const struct sk_oj *j, json_t *obj, const char *path, struct sk_process *p)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, obj, path, "rlimits", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	p->rlimits = sk_new0(struct sk_rlimit, json_array_size(arr));
	for (size_t i = 0; i < json_array_size(arr); i++) {
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		r = sk_oj_elem_object(j, arr, i, path, "rlimits", &o, &ep);
		if (r < 0)
			return r;
		r = parse_rlimit(j, o, ep, &p->rlimits[i]);
		if (r < 0)
			return r;
		p->n_rlimits = i + 1;
		for (size_t k = 0; k < i; k++)
			if (p->rlimits[k].resource == p->rlimits[i].resource)
				return sk_oj_fail(j, ep, "type", "duplicate rlimit \"%s\"",
						  json_string_value(json_object_get(o, "type")));
	}
	return 0;
}

static int parse_gids(const struct sk_oj *j, json_t *obj, const char *path, struct sk_user *u)
{
	json_t *arr, *e;
	size_t i;
	int r;

	r = sk_oj_member(j, obj, path, "additionalGids", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	u->additional_gids = sk_new0(uint32_t, json_array_size(arr));
	json_array_foreach(arr, i, e)
	{
		_cleanup_free_ char *p = sk_oj_elem(path, "additionalGids", i);
		int64_t gid;

		r = sk_oj_int_value(j, e, p, NULL, 0, UINT32_MAX, &gid);
		if (r < 0)
			return r;
		u->additional_gids[i] = (uint32_t)gid;
		u->n_additional_gids = i + 1;
	}
	return 0;
}

static int parse_user(const struct sk_oj *j, json_t *obj, const char *path, struct sk_user *u)
{
	_cleanup_free_ char *up = sk_oj_join(path, "user");
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "user", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	if ((r = sk_oj_u32(j, o, up, "uid", false, &u->uid, NULL)) < 0 ||
	    (r = sk_oj_u32(j, o, up, "gid", false, &u->gid, NULL)) < 0 ||
	    (r = sk_oj_u32(j, o, up, "umask", false, &u->umask, &u->has_umask)) < 0 ||
	    (r = parse_gids(j, o, up, u)) < 0 ||
	    (r = sk_oj_str(j, o, up, "username", false, &u->username)) < 0)
		return r;
	if (u->has_umask && u->umask > 0777)
		return sk_oj_fail(j, up, "umask", "%#o is not a valid umask", u->umask);
	return 0;
}

static int parse_console_size(const struct sk_oj *j, json_t *obj, const char *path,
			      struct sk_process *p)
{
	_cleanup_free_ char *cp = sk_oj_join(path, "consoleSize");
	uint32_t h = 0, w = 0;
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "consoleSize", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	if ((r = sk_oj_u32(j, o, cp, "height", true, &h, NULL)) < 0 ||
	    (r = sk_oj_u32(j, o, cp, "width", true, &w, NULL)) < 0)
		return r;
	p->has_console_size = true;
	p->console_height = h;
	p->console_width = w;
	return 0;
}

static int parse_io_priority(const struct sk_oj *j, json_t *obj, const char *path,
			     struct sk_process *p)
{
	static const char *const classes[] = { "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
					       "IOPRIO_CLASS_IDLE", NULL };
	static const int class_values[] = { IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE };
	_cleanup_free_ char *ip = sk_oj_join(path, "ioPriority"), *cls = NULL;
	int64_t prio = 0;
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "ioPriority", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	if ((r = sk_oj_str(j, o, ip, "class", true, &cls)) < 0 ||
	    (r = sk_oj_int(j, o, ip, "priority", false, 0, 7, &prio, NULL)) < 0)
		return r;
	for (size_t i = 0; classes[i]; i++)
		if (strcmp(classes[i], cls) == 0) {
			p->has_io_priority = true;
			p->io_priority_class = class_values[i];
			p->io_priority = (int)prio;
			return 0;
		}
	return sk_oj_fail(j, ip, "class", "unknown I/O priority class \"%s\"", cls);
}

static int parse_sched_fields(const struct sk_oj *j, json_t *o, const char *sp,
			      struct sk_process *p)
{
	int64_t nice = 0, prio = 0;
	int r;

	if ((r = sk_oj_str(j, o, sp, "policy", true, &p->sched_policy)) < 0)
		return r;
	if (!sk_oci_name_in(sched_policies, p->sched_policy))
		return sk_oj_fail(j, sp, "policy", "unknown scheduler policy \"%s\"",
				  p->sched_policy);
	if ((r = sk_oj_int(j, o, sp, "nice", false, -20, 19, &nice, NULL)) < 0 ||
	    (r = sk_oj_int(j, o, sp, "priority", false, 0, INT32_MAX, &prio, NULL)) < 0 ||
	    (r = sk_oj_strv(j, o, sp, "flags", false, &p->sched_flags)) < 0 ||
	    (r = sk_oj_u64(j, o, sp, "runtime", false, &p->sched_runtime, NULL)) < 0 ||
	    (r = sk_oj_u64(j, o, sp, "deadline", false, &p->sched_deadline, NULL)) < 0 ||
	    (r = sk_oj_u64(j, o, sp, "period", false, &p->sched_period, NULL)) < 0)
		return r;
	p->sched_nice = (int)nice;
	p->sched_priority = (int)prio;
	for (size_t i = 0; p->sched_flags && p->sched_flags[i]; i++)
		if (!sk_oci_name_in(sched_flags, p->sched_flags[i])) {
			_cleanup_free_ char *fp = sk_oj_elem(sp, "flags", i);

			return sk_oj_fail(j, fp, NULL, "unknown scheduler flag \"%s\"",
					  p->sched_flags[i]);
		}
	return 0;
}

static int parse_scheduler(const struct sk_oj *j, json_t *obj, const char *path,
			   struct sk_process *p)
{
	_cleanup_free_ char *sp = sk_oj_join(path, "scheduler");
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "scheduler", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	p->has_scheduler = true;
	return parse_sched_fields(j, o, sp, p);
}

static int parse_cpu_affinity(const struct sk_oj *j, json_t *obj, const char *path,
			      struct sk_process *p)
{
	_cleanup_free_ char *ap = sk_oj_join(path, "execCPUAffinity");
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "execCPUAffinity", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	if ((r = sk_oj_str(j, o, ap, "initial", false, &p->exec_cpu_affinity_initial)) < 0 ||
	    (r = sk_oj_str(j, o, ap, "final", false, &p->exec_cpu_affinity_final)) < 0)
		return r;
	return 0;
}

static int parse_args_cwd(const struct sk_oj *j, json_t *obj, const char *path,
			  struct sk_process *p)
{
	int r;

	if ((r = sk_oj_strv(j, obj, path, "args", true, &p->args)) < 0)
		return r;
	if (!p->args[0])
		return sk_oj_fail(j, path, "args", "must not be empty");
	if ((r = sk_oj_str(j, obj, path, "cwd", true, &p->cwd)) < 0)
		return r;
	if (p->cwd[0] != '/')
		return sk_oj_fail(j, path, "cwd", "\"%s\" is not an absolute path", p->cwd);
	return 0;
}

int sk_oci_parse_process(const struct sk_oj *j, json_t *obj, const char *path, struct sk_process *p)
{
	int64_t oom = 0;
	int r;

	if ((r = sk_oj_bool(j, obj, path, "terminal", &p->terminal, NULL)) < 0 ||
	    (r = parse_console_size(j, obj, path, p)) < 0 ||
	    (r = parse_user(j, obj, path, &p->user)) < 0 ||
	    (r = parse_args_cwd(j, obj, path, p)) < 0 ||
	    (r = sk_oj_str(j, obj, path, "commandLine", false, &p->command_line)) < 0 ||
	    (r = sk_oj_strv(j, obj, path, "env", false, &p->env)) < 0 ||
	    (r = parse_caps(j, obj, path, p)) < 0 || (r = parse_rlimits(j, obj, path, p)) < 0 ||
	    (r = sk_oj_bool(j, obj, path, "noNewPrivileges", &p->no_new_privileges, NULL)) < 0 ||
	    (r = sk_oj_str(j, obj, path, "apparmorProfile", false, &p->apparmor_profile)) < 0 ||
	    (r = sk_oj_str(j, obj, path, "selinuxLabel", false, &p->selinux_label)) < 0 ||
	    (r = sk_oj_int(j, obj, path, "oomScoreAdj", false, -1000, 1000, &oom,
			   &p->has_oom_score_adj)) < 0 ||
	    (r = parse_io_priority(j, obj, path, p)) < 0 ||
	    (r = parse_scheduler(j, obj, path, p)) < 0 ||
	    (r = parse_cpu_affinity(j, obj, path, p)) < 0)
		return r;
	p->oom_score_adj = (int)oom;
	return 0;
}

void sk_oci_process_release(struct sk_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	free(p->user.username);
	sk_strv_free(p->args);
	free(p->command_line);
	sk_strv_free(p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p->sched_policy);
	sk_strv_free(p->sched_flags);
	free(p->exec_cpu_affinity_initial);
	free(p->exec_cpu_affinity_final);
	memset(p, 0, sizeof(*p));
}

void sk_process_free(struct sk_process *p)
{
	sk_oci_process_release(p);
	free(p);
}

int sk_spec_parse_process(const char *json, size_t len, const char *name, struct sk_process **ret,
			  struct sk_error **err)
{
	struct sk_oj j = { .name = name ? name : "process.json", .err = err };
	_cleanup_(sk_process_freep) struct sk_process *p = NULL;
	json_t *root = NULL;
	int r;

	r = sk_oj_load(&j, json, len, &root);
	if (r < 0)
		return r;
	p = sk_new0(struct sk_process, 1);
	r = sk_oci_parse_process(&j, root, "", p);
	json_decref(root);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}
