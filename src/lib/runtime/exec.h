/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec.h - resolving and executing the container process's args[0].
 *
 * args[0] without a '/' is looked up in the PATH of the process's own env
 * (not the runtime's), or in "/usr/local/sbin:/usr/local/bin:/usr/sbin:
 * /usr/bin:/sbin:/bin" when env has no PATH; the lookup follows Go's
 * exec.LookPath as runc uses it, and so do the messages:
 *   exec: "foo": executable file not found in $PATH
 *   exec /bin/x: permission denied
 */
#ifndef SK_RUNTIME_EXEC_H
#define SK_RUNTIME_EXEC_H

#include "base/error.h"
#include "oci/spec.h"

#define SK_EXEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * Sets *ret_path (owned by the caller) to the file args[0] names.  Returns
 * 0, or a negative errno with *err in runc's words; the errno is kept in
 * (*err)->code (ENOENT when not found in PATH).
 */
int sk_exec_resolve(const struct sk_process *p, char **ret_path, struct sk_error **err);

/*
 * Resolves args[0] and execve()s it with p->args and p->env.  Returns only
 * on failure: a negative errno with *err set.
 */
int sk_exec_process(const struct sk_process *p, struct sk_error **err);

#endif
