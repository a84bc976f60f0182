/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp.h - turning the OCI linux.seccomp object into a loaded filter.
 *
 * The filter is built with libseccomp as runc builds it: the default action
 * (with defaultErrnoRet), one rule per syscall name (names libseccomp does
 * not know are skipped with a debug line; rules whose action equals the
 * default action are skipped because the kernel would do that anyway),
 * argument conditions ANDed in one rule unless two name the same argument
 * (then one rule per condition, as runc does), extra architectures, and the
 * filter flags libseccomp can express.  The no_new_privs bit is NOT set by
 * loading: finalize.c owns that.
 *
 * Ordering is the caller's job: with noNewPrivileges the filter is loaded
 * as the very last step before execve (after NO_NEW_PRIVS is set); without
 * it loading needs CAP_SYS_ADMIN, so it happens before the capabilities
 * are dropped.  Either way everything after the load (and execve itself)
 * must be allowed by the profile.
 *
 * SCMP_ACT_NOTIFY: loading yields a listener fd that belongs to a
 * supervisor outside the container.  sk_seccomp_load() refuses such a
 * profile; sk_seccomp_load_notify() returns the fd, and the runtime (in a
 * process that can still reach listenerPath) hands it over with
 * sk_seccomp_notify_send(), following runtime-spec's seccomp notify
 * protocol (state JSON + SCM_RIGHTS).
 */
#ifndef SK_RUNTIME_SECCOMP_H
#define SK_RUNTIME_SECCOMP_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "oci/spec.h"

/*
 * Builds (does not load) the filter.  On success *ret_ctx is a
 * scmp_filter_ctx that the caller frees with sk_seccomp_ctx_free().
 * Returns 0 or a negative errno with *err naming the offending field
 * ("seccomp: syscall 'mkdir': unknown action 'SCMP_ACT_FOO'").
 */
int sk_seccomp_build(const struct sk_seccomp *s, void **ret_ctx, struct sk_error **err);
void sk_seccomp_ctx_free(void *ctx);

/* Whether the profile uses SCMP_ACT_NOTIFY (default or any rule). */
bool sk_seccomp_uses_notify(const struct sk_seccomp *s);

/*
 * Builds and loads the filter into the calling thread (all threads with
 * SECCOMP_FILTER_FLAG_TSYNC).  A profile that uses SCMP_ACT_NOTIFY is
 * refused ("seccomp: listenerPath ... is not supported here"): use
 * sk_seccomp_load_notify().
 */
int sk_seccomp_load(const struct sk_seccomp *s, struct sk_error **err);

/*
 * As sk_seccomp_load(), and when the profile uses SCMP_ACT_NOTIFY sets
 * *ret_notify_fd to the listener fd (CLOEXEC, owned by the caller); -1
 * otherwise.  A notify profile without listenerPath is an error.
 */
int sk_seccomp_load_notify(const struct sk_seccomp *s, int *ret_notify_fd, struct sk_error **err);

/*
 * Connects to the unix socket at s->listener_path and sends one message:
 * the runtime-spec "container process state" JSON
 *   {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}
 * built from `pid`, s->listener_metadata and `state_json` (the container
 * state document), with `notify_fd` attached by SCM_RIGHTS.  Does not close
 * notify_fd.  Returns 0 or a negative errno.
 */
int sk_seccomp_notify_send(const struct sk_seccomp *s, int notify_fd, pid_t pid,
			   const char *state_json, struct sk_error **err);

#endif
