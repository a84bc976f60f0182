/* SPDX-License-Identifier: Apache-2.0 */
/*
 * finalize.h - the last steps in the container process before execve,
 * shared by create and exec.
 *
 * sk_finalize_process() applies, in this order (runc's
 * standard_init_linux.go and finalizeNamespace()):
 *
 *   1. rlimits (setrlimit; skipped with opts->skip_rlimits)
 *   2. oomScoreAdj (/proc/self/oom_score_adj)
 *   3. personality (opts->personality: LINUX / LINUX32)
 *   4. ioPriority (ioprio_set)
 *   5. scheduler (sched_setattr)
 *   6. seccomp, when noNewPrivileges is false: loading needs CAP_SYS_ADMIN,
 *      so it comes before the capabilities are dropped
 *   7. chdir(cwd), first try as the runtime's user
 *   8. PR_SET_KEEPCAPS 1, drop the bounding set
 *   9. setgroups(additionalGids) (not when setgroups is denied, see opts),
 *      setresgid(gid), setresuid(uid)
 *  10. chdir(cwd) again if step 7 failed with EACCES/EPERM (the directory
 *      may be readable only by the container user)
 *  11. PR_SET_KEEPCAPS 0, capset (inheritable/permitted/effective), ambient
 *  12. umask (0022 when unset, like runc)
 *  13. PR_SET_NO_NEW_PRIVS, when noNewPrivileges
 *  14. seccomp, when noNewPrivileges: the last syscall-visible step, so
 *      the profile only has to allow what follows (execve and PATH lookup)
 *
 * A process without a "capabilities" object ends with no capabilities at
 * all, as in runc; set has_caps for exec processes that inherit the
 * container's.  Lowering oom_score_adj and raising an rlimit above its hard
 * limit need CAP_SYS_RESOURCE; without it those steps fail with the errno.
 *
 * Things that are not done here: keyrings, hostname, mounts, sysctls,
 * AppArmor/SELinux labels, parent-death signal, the sync with the parent,
 * closing inherited fds.  The caller (the init path) owns those.
 */
#ifndef SK_RUNTIME_FINALIZE_H
#define SK_RUNTIME_FINALIZE_H

#include <stdbool.h>

#include "base/error.h"
#include "oci/spec.h"

/*
 * Receives the listener fd of a seccomp profile that uses SCMP_ACT_NOTIFY,
 * right after the filter is loaded (e.g. to pass it to the runtime over
 * the sync socket, which then calls sk_seccomp_notify_send()).  The
 * callback owns the fd.  Note that with noNewPrivileges it runs under the
 * filter.  Returns 0 or a negative errno with *err set.
 */
typedef int (*sk_finalize_notify_cb)(int notify_fd, void *userdata, struct sk_error **err);

struct sk_finalize_opts {
	/*
	 * In a user namespace whose /proc/self/setgroups is "deny": skip
	 * setgroups().  When unset and setgroups() fails with EPERM, the file
	 * is checked and a "deny" there skips it too (as runc does).
	 */
	bool setgroups_denied;
	/* The parent already set the rlimits with prlimit(), e.g. before entering a userns. */
	bool skip_rlimits;
	/* linux.personality of the spec, or NULL. */
	const struct sk_personality *personality;
	/* For SCMP_ACT_NOTIFY profiles; NULL makes such a profile an error. */
	sk_finalize_notify_cb seccomp_notify_cb;
	void *userdata;
};

/*
 * Applies `p` (and `seccomp`, may be NULL; `o` may be NULL for defaults) to
 * the calling process in the order above.  Returns 0 or a negative errno
 * with *err naming the step and value ("setrlimit RLIMIT_NOFILE
 * 1048576:1048576: Operation not permitted").  On failure the process is
 * half set up and must exit; nothing is undone.
 */
int sk_finalize_process(const struct sk_process *p, const struct sk_seccomp *seccomp,
			const struct sk_finalize_opts *o, struct sk_error **err);

/* Single steps, exported for exec paths and tests; same error rules. */
int sk_finalize_rlimits(const struct sk_process *p, struct sk_error **err);
int sk_finalize_user(const struct sk_process *p, bool setgroups_denied, struct sk_error **err);

/* "RLIMIT_NOFILE" for RLIMIT_NOFILE; NULL when unknown. */
const char *sk_rlimit_name(int resource);

#endif
