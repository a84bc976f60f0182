/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hooks.h - running OCI lifecycle hooks (prestart, createRuntime, ...).
 *
 * Each hook is fork+execve(path, args, env): args[0] is argv[0] (path when
 * args is NULL); env NULL means the runtime's environment, as runc (Go's
 * exec.Cmd) does.  The container state JSON is written to the hook's stdin
 * through a pipe; a hook that exits without reading it is fine.  stdout and
 * stderr are captured (at most 64 KiB each) like runc: on failure they are
 * appended to the error, on success they go to the debug log.  A hook with
 * a timeout is killed with SIGKILL when it runs past it.
 *
 * The caller chooses the namespace/cwd the hooks run in; hooks do not
 * inherit any fd but 0-2 (everything else here is CLOEXEC).  A hook's
 * children that outlive it are not waited for.
 */
#ifndef SK_RUNTIME_HOOKS_H
#define SK_RUNTIME_HOOKS_H

#include <stddef.h>

#include "base/error.h"
#include "oci/spec.h"

#define SK_HOOK_OUTPUT_MAX (64u << 10)

/*
 * Runs hooks[0..n) in order and stops at the first failure.  `kind_name`
 * names them in errors ("prestart"), `state_json` is written to each
 * hook's stdin (may be NULL: empty stdin).  Returns 0, or a negative errno
 * with *err one of
 *   "<kind> hook <path> failed: exit status N, stdout: ..., stderr: ..."
 *   "<kind> hook <path> failed: killed by signal N, stdout: ..., stderr: ..."
 *   "<kind> hook <path> timed out after N s"
 *   "<kind> hook <path>: exec: No such file or directory"
 */
int sk_hooks_run(const struct sk_hook *hooks, size_t n, const char *kind_name,
		 const char *state_json, struct sk_error **err);

/* "prestart", "createRuntime", ... as config.json names them. */
const char *sk_hook_kind_name(enum sk_hook_kind kind);

#endif
