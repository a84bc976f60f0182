/* SPDX-License-Identifier: Apache-2.0 */
/*
 * container.h - the OCI runtime operations, as library calls.
 *
 * skiff-runtime's subcommands are thin wrappers around these; skiffd calls
 * them in-process.  Each takes the runtime context (state root, cgroup
 * driver) and a container id, returns 0 or a negative errno, and fills
 * *err with one message saying what failed.  A failed create leaves no
 * process, mount, cgroup directory or state directory behind.
 */
#ifndef SK_RUNTIME_CONTAINER_H
#define SK_RUNTIME_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "oci/spec.h"
#include "runtime/state.h"

struct sk_runtime {
	const char *root; /* state root, e.g. /run/skiff-runtime */
	bool systemd_cgroup;
};

struct sk_create_opts {
	const char *bundle;	    /* NULL: the current directory */
	const char *pid_file;	    /* NULL: none */
	const char *console_socket; /* NULL: none */
	bool no_pivot;
	bool no_new_keyring;
	unsigned preserve_fds; /* fds 3 .. 3+n-1 passed to the container */
	bool detach;	       /* run: return once started */
};

int sk_container_create(const struct sk_runtime *rt, const char *id, const struct sk_create_opts *o,
			struct sk_error **err);
/* Lets a created container exec its process, then runs poststart hooks. */
int sk_container_start(const struct sk_runtime *rt, const char *id, struct sk_error **err);
/*
 * create + start; without o->detach also waits (forwarding signals, and
 * the terminal when no console socket is given), deletes the container and
 * sets *ret_status to its exit code (128+N for signal N).
 */
int sk_container_run(const struct sk_runtime *rt, const char *id, const struct sk_create_opts *o,
		     int *ret_status, struct sk_error **err);

int sk_container_kill(const struct sk_runtime *rt, const char *id, int sig, bool all,
		      struct sk_error **err);
int sk_container_delete(const struct sk_runtime *rt, const char *id, bool force,
			struct sk_error **err);
int sk_container_pause(const struct sk_runtime *rt, const char *id, struct sk_error **err);
int sk_container_resume(const struct sk_runtime *rt, const char *id, struct sk_error **err);
int sk_container_update(const struct sk_runtime *rt, const char *id, const struct sk_resources *r,
			struct sk_error **err);
/* Pids of every process in the container, sorted. */
int sk_container_pids(const struct sk_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
		      struct sk_error **err);
/* Ids of every container under the root, sorted. */
int sk_container_list(const struct sk_runtime *rt, char ***ret, struct sk_error **err);

struct sk_exec_opts {
	const char *console_socket;
	const char *pid_file;
	bool detach;
	unsigned preserve_fds;
};

/*
 * Runs `p` inside a running container's namespaces and cgroup with the
 * container's seccomp profile.  Without o->detach waits for it and sets
 * *ret_status like sk_container_run().
 */
int sk_container_exec(const struct sk_runtime *rt, const char *id, const struct sk_process *p,
		      const struct sk_exec_opts *o, int *ret_status, struct sk_error **err);

/* Loads the spec a container was created from (the copy in its state dir). */
int sk_container_spec(const struct sk_state *st, struct sk_spec **ret, struct sk_error **err);

#endif
