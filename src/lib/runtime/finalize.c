/* SPDX-License-Identifier: Apache-2.0 */
/*
 * finalize.c - rlimits, OOM score, personality, I/O and CPU scheduling,
 * user ids, capabilities, umask, cwd, no_new_privs and seccomp: the steps
 * the container process takes last, in the order finalize.h documents.
 *
 * It is not the init path itself (namespaces, mounts, sync with the parent
 * live elsewhere) and it never execs: exec.c does that.
 */
#include "runtime/finalize.h"

#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"

#define IOPRIO_WHO_PROCESS_ 1
#define IOPRIO_CLASS_SHIFT_ 13

/* struct sched_attr as the kernel defines it (glibc 2.36 has none). */
struct sk_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

static const struct {
	int resource;
	const char *name;
} rlimit_names[] = {
	{ RLIMIT_AS, "RLIMIT_AS" },
	{ RLIMIT_CORE, "RLIMIT_CORE" },
	{ RLIMIT_CPU, "RLIMIT_CPU" },
	{ RLIMIT_DATA, "RLIMIT_DATA" },
	{ RLIMIT_FSIZE, "RLIMIT_FSIZE" },
	{ RLIMIT_LOCKS, "RLIMIT_LOCKS" },
	{ RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK" },
	{ RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE" },
	{ RLIMIT_NICE, "RLIMIT_NICE" },
	{ RLIMIT_NOFILE, "RLIMIT_NOFILE" },
	{ RLIMIT_NPROC, "RLIMIT_NPROC" },
	{ RLIMIT_RSS, "RLIMIT_RSS" },
	{ RLIMIT_RTPRIO, "RLIMIT_RTPRIO" },
	{ RLIMIT_RTTIME, "RLIMIT_RTTIME" },
	{ RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING" },
	{ RLIMIT_STACK, "RLIMIT_STACK" },
};

const char *sk_rlimit_name(int resource)
{
	for (size_t i = 0; i < SK_ELEMENTSOF(rlimit_names); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return NULL;
}

int sk_finalize_rlimits(const struct sk_process *p, struct sk_error **err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct sk_rlimit *l = &p->rlimits[i];
		struct rlimit rl = { .rlim_cur = l->soft, .rlim_max = l->hard };
		const char *name = sk_rlimit_name(l->resource);
		char buf[32];

		if (!name) {
			snprintf(buf, sizeof(buf), "rlimit %d", l->resource);
			name = buf;
		}
		if (setrlimit((__rlimit_resource_t)l->resource, &rl) < 0)
			return sk_error_errno(err, "setrlimit %s %llu:%llu", name,
					      (unsigned long long)l->soft,
					      (unsigned long long)l->hard);
	}
	return 0;
}

static int set_oom_score_adj(const struct sk_process *p, struct sk_error **err)
{
	char buf[16];
	int r;

	if (!p->has_oom_score_adj)
		return 0;
	snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	r = sk_write_file("/proc/self/oom_score_adj", buf, strlen(buf));
	if (r < 0)
		return sk_error_set(err, -r, "set oom_score_adj to %d", p->oom_score_adj);
	return 0;
}

static int set_personality(const struct sk_personality *pers, struct sk_error **err)
{
	unsigned long domain;

	if (!pers || !pers->domain)
		return 0;
	if (strcmp(pers->domain, "LINUX") == 0)
		domain = PER_LINUX;
	else if (strcmp(pers->domain, "LINUX32") == 0)
		domain = PER_LINUX32;
	else
		return sk_error_set(err, 0, "personality: unknown domain '%s'", pers->domain);
	/* The spec defines no flags yet; runc ignores them too. */
	for (char **f = pers->flags; f && *f; f++)
		sk_debug("personality: ignoring flag '%s'", *f);
	if (personality(domain) < 0)
		return sk_error_errno(err, "personality %s", pers->domain);
	return 0;
}

static int set_io_priority(const struct sk_process *p, struct sk_error **err)
{
	int value;

	if (!p->has_io_priority)
		return 0;
	value = (p->io_priority_class << IOPRIO_CLASS_SHIFT_) | p->io_priority;
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS_, 0, value) < 0)
		return sk_error_errno(err, "ioprio_set class %d priority %d", p->io_priority_class,
				      p->io_priority);
	return 0;
}

static int sched_policy(const char *name)
{
	static const struct {
		const char *name;
		int policy;
	} table[] = {
		{ "SCHED_OTHER", 0 },	 { "SCHED_FIFO", 1 }, { "SCHED_RR", 2 },
		{ "SCHED_BATCH", 3 },	 { "SCHED_ISO", 4 },  { "SCHED_IDLE", 5 },
		{ "SCHED_DEADLINE", 6 },
	};
	for (size_t i = 0; name && i < SK_ELEMENTSOF(table); i++)
		if (strcmp(name, table[i].name) == 0)
			return table[i].policy;
	return -1;
}

static int sched_flag(const char *name, uint64_t *ret)
{
	static const struct {
		const char *name;
		uint64_t flag;
	} table[] = {
		{ "SCHED_FLAG_RESET_ON_FORK", 0x01 },  { "SCHED_FLAG_RECLAIM", 0x02 },
		{ "SCHED_FLAG_DL_OVERRUN", 0x04 },     { "SCHED_FLAG_KEEP_POLICY", 0x08 },
		{ "SCHED_FLAG_KEEP_PARAMS", 0x10 },    { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
		{ "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
	};
	for (size_t i = 0; i < SK_ELEMENTSOF(table); i++)
		if (strcmp(name, table[i].name) == 0) {
			*ret |= table[i].flag;
			return 0;
		}
	return -EINVAL;
}

static int set_scheduler(const struct sk_process *p, struct sk_error **err)
{
	struct sk_sched_attr a = { .size = sizeof(a) };
	int policy;

	if (!p->has_scheduler)
		return 0;
	policy = sched_policy(p->sched_policy);
	if (policy < 0)
		return sk_error_set(err, 0, "scheduler: unknown policy '%s'",
				    p->sched_policy ? p->sched_policy : "(null)");
	for (char **f = p->sched_flags; f && *f; f++)
		if (sched_flag(*f, &a.sched_flags) < 0)
			return sk_error_set(err, 0, "scheduler: unknown flag '%s'", *f);
	a.sched_policy = (uint32_t)policy;
	a.sched_nice = p->sched_nice;
	a.sched_priority = (uint32_t)p->sched_priority;
	a.sched_runtime = p->sched_runtime;
	a.sched_deadline = p->sched_deadline;
	a.sched_period = p->sched_period;
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		return sk_error_errno(err, "sched_setattr %s", p->sched_policy);
	return 0;
}

static int load_seccomp(const struct sk_seccomp *s, const struct sk_finalize_opts *o,
			struct sk_error **err)
{
	int fd = -1, r;

	if (!sk_seccomp_uses_notify(s) || !o->seccomp_notify_cb)
		return sk_seccomp_load(s, err);
	r = sk_seccomp_load_notify(s, &fd, err);
	if (r < 0)
		return r;
	return o->seccomp_notify_cb(fd, o->userdata, err);
}

/* Whether /proc/self/setgroups says "deny" (a user namespace set up for rootless). */
static bool setgroups_is_denied(void)
{
	_cleanup_free_ char *buf = NULL;

	return sk_read_file("/proc/self/setgroups", &buf, NULL) == 0 &&
	       sk_str_has_prefix(buf, "deny");
}

int sk_finalize_user(const struct sk_process *p, bool setgroups_denied, struct sk_error **err)
{
	const struct sk_user *u = &p->user;

	if (!setgroups_denied && setgroups(u->n_additional_gids, u->additional_gids) < 0) {
		if (errno != EPERM || !setgroups_is_denied())
			return sk_error_errno(err, "setgroups (%zu additional gids)",
					      u->n_additional_gids);
		/* runc skips supplementary groups there, silently */
		sk_debug("setgroups is denied in this user namespace: skipping %zu gids",
			 u->n_additional_gids);
	}
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return sk_error_errno(err, "setresgid %u", u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return sk_error_errno(err, "setresuid %u", u->uid);
	return 0;
}

static int chdir_cwd(const char *cwd, struct sk_error **err)
{
	if (chdir(cwd) < 0)
		return sk_error_errno(err, "chdir to cwd (\"%s\") set in config.json failed", cwd);
	return 0;
}

/* Step 7: true when the chdir must be retried as the container user. */
static int chdir_early(const char *cwd, bool *retry, struct sk_error **err)
{
	*retry = false;
	if (!cwd)
		return 0;
	if (chdir(cwd) == 0)
		return 0;
	if (errno == EACCES || errno == EPERM) {
		*retry = true;
		return 0;
	}
	return chdir_cwd(cwd, err);
}

/* Steps 8-11: bounding set, user ids, late chdir, capability sets. */
static int switch_user(const struct sk_process *p, const struct sk_finalize_opts *o,
		       struct sk_error **err)
{
	static const struct sk_caps no_caps;
	const struct sk_caps *caps = p->has_caps ? &p->caps : &no_caps;
	bool retry_chdir;
	int r;

	r = chdir_early(p->cwd, &retry_chdir, err);
	if (r < 0)
		return r;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return sk_error_errno(err, "set keep caps");
	r = sk_caps_drop_bounding(caps, err);
	if (r < 0)
		return r;
	r = sk_finalize_user(p, o->setgroups_denied, err);
	if (r < 0)
		return r;
	if (retry_chdir && (r = chdir_cwd(p->cwd, err)) < 0)
		return r;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return sk_error_errno(err, "clear keep caps");
	return sk_caps_set(caps, err);
}

/* Steps 1-5: limits and scheduling, while still fully privileged. */
static int set_limits(const struct sk_process *p, const struct sk_finalize_opts *o,
		      struct sk_error **err)
{
	int r = 0;

	if (!o->skip_rlimits)
		r = sk_finalize_rlimits(p, err);
	if (r >= 0)
		r = set_oom_score_adj(p, err);
	if (r >= 0)
		r = set_personality(o->personality, err);
	if (r >= 0)
		r = set_io_priority(p, err);
	if (r >= 0)
		r = set_scheduler(p, err);
	return r;
}

int sk_finalize_process(const struct sk_process *p, const struct sk_seccomp *seccomp,
			const struct sk_finalize_opts *o, struct sk_error **err)
{
	static const struct sk_finalize_opts defaults;
	int r;

	if (!o)
		o = &defaults;
	r = set_limits(p, o, err);
	if (r < 0)
		return r;
	if (seccomp && !p->no_new_privileges && (r = load_seccomp(seccomp, o, err)) < 0)
		return r;
	r = switch_user(p, o, err);
	if (r < 0)
		return r;
	umask(p->user.has_umask ? (mode_t)p->user.umask : 0022);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sk_error_errno(err, "set no_new_privs");
	if (seccomp && p->no_new_privileges)
		return load_seccomp(seccomp, o, err);
	return 0;
}
