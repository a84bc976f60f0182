/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup.h - one interface to control groups, whatever the host mounts.
 *
 * The host layout is read from /proc/self/mountinfo once per process: pure
 * cgroup v2, pure v1, or hybrid (v1 controllers plus a cgroup2 mount that
 * may hold some controllers, as on hosts where /sys/fs/cgroup/unified has
 * only hugetlb).  Each controller is driven by the backend of the hierarchy
 * that holds it (cgroup-v1.c or cgroup-v2.c), so hybrid hosts just work.
 *
 * A struct sk_cgroup names one cgroup in every hierarchy and remembers which
 * directories skiff created, so destroy removes exactly those and nothing
 * it did not make.
 */
#ifndef SK_CGROUP_CGROUP_H
#define SK_CGROUP_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"
#include "../oci/spec.h"

struct sk_cgroup;

/* One mounted hierarchy and this cgroup's directory in it. */
struct sk_cgroup_hierarchy {
	char *mountpoint; /* "/sys/fs/cgroup/memory" or "/sys/fs/cgroup" */
	char *
	    controllers; /* "cpu,cpuacct", "name=systemd"; for v2 the enabled ones, space separated */
	bool v2;
	char *dir; /* mountpoint + cgroup path */
};

enum sk_cgroup_mode { SK_CGROUP_V1, SK_CGROUP_HYBRID, SK_CGROUP_V2 };

struct sk_cgroup_stats {
	uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
	uint64_t memory_usage, memory_limit, memory_working_set, memory_max_usage;
	uint64_t memory_cache, memory_rss, memory_swap;
	uint64_t oom_kills, oom_events;
	uint64_t pids_current, pids_limit; /* limit 0: unlimited */
	uint64_t cpu_throttled_periods, cpu_throttled_ns;
};

/* What this host mounts; 0 or -ENOENT when no cgroup filesystem exists. */
int sk_cgroup_mode(enum sk_cgroup_mode *ret, struct sk_error **err);

/*
 * Turns a spec's linux.cgroupsPath into a cgroupfs path.
 *  - NULL: "/skiff/<id>" (skiff's own subtree)
 *  - absolute "/a/b": as is
 *  - relative "a/b": under the calling process's own cgroup
 *  - with systemd=true, "slice:prefix:name" becomes
 *    "/<slice path>/<prefix>-<name>.scope" (no systemd here: cgroupfs is used)
 */
int sk_cgroup_resolve_path(const char *cgroups_path, const char *id, bool systemd, char **ret,
			   struct sk_error **err);

/*
 * Creates the cgroup at `path` in every hierarchy (mkdir -p, recording the
 * directories it made) and, on v2, enables the controllers it needs in the
 * parents' cgroup.subtree_control.  On failure removes what it created.
 */
int sk_cgroup_create(const char *path, struct sk_cgroup **ret, struct sk_error **err);

/*
 * Re-opens a cgroup created earlier (e.g. by another runtime invocation),
 * given its path and the directories that sk_cgroup_created() listed then.
 * Does not touch the filesystem.
 */
int sk_cgroup_open(const char *path, char *const *created, struct sk_cgroup **ret,
		   struct sk_error **err);

const char *sk_cgroup_path(const struct sk_cgroup *cg);
/* Absolute directories skiff created, outermost first; NULL-terminated. */
char *const *sk_cgroup_created(const struct sk_cgroup *cg);
size_t sk_cgroup_hierarchies(const struct sk_cgroup *cg, const struct sk_cgroup_hierarchy **ret);

/* Moves pid into the cgroup in every hierarchy. */
int sk_cgroup_enter(struct sk_cgroup *cg, pid_t pid, struct sk_error **err);

/*
 * Writes the limits in `r` (OCI linux.resources) to the cgroup files of the
 * right backend; values absent in `r` are left alone, so this serves both
 * create and `update`.  Device rules: v1 devices.allow/deny; v2 an eBPF
 * device program attached to the cgroup (replacing skiff's previous one).
 * Unified keys are written only on v2 and are an error elsewhere.
 */
int sk_cgroup_apply(struct sk_cgroup *cg, const struct sk_resources *r, struct sk_error **err);

/* Freezes (true) or thaws (false) every process in the cgroup and waits for it. */
int sk_cgroup_freeze(struct sk_cgroup *cg, bool frozen, struct sk_error **err);
/* Whether the cgroup is frozen now. */
int sk_cgroup_is_frozen(struct sk_cgroup *cg, bool *ret, struct sk_error **err);

/* Every pid in the cgroup (and its descendants), sorted; *ret owned by caller. */
int sk_cgroup_pids(struct sk_cgroup *cg, pid_t **ret, size_t *ret_n, struct sk_error **err);

/* Sends sig to every process in the cgroup (cgroup.kill on v2 for SIGKILL). */
int sk_cgroup_kill_all(struct sk_cgroup *cg, int sig, struct sk_error **err);

int sk_cgroup_stats(struct sk_cgroup *cg, struct sk_cgroup_stats *ret, struct sk_error **err);

/*
 * Removes the directories skiff created, innermost first, after killing and
 * thawing any processes still inside.  ENOENT is success.
 */
int sk_cgroup_destroy(struct sk_cgroup *cg, struct sk_error **err);

void sk_cgroup_free(struct sk_cgroup *cg);
static inline void sk_cgroup_freep(struct sk_cgroup **cg)
{
	sk_cgroup_free(*cg);
}

#endif
