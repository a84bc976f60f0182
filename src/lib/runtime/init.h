/* SPDX-License-Identifier: Apache-2.0 */
/*
 * init.h - the container process between clone and execve (internal).
 *
 * launch.c clones a child with the new namespaces and calls sk_init_main()
 * in it.  The two talk over a SOCK_SEQPACKET pair with one-byte messages
 * (plus an error text) so each side knows where the other is.
 */
#ifndef SK_RUNTIME_INIT_H
#define SK_RUNTIME_INIT_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "oci/spec.h"

/* Messages on the sync socket. */
enum {
	SK_SYNC_GO = 'G',     /* parent -> child: id maps written */
	SK_SYNC_CGROUP = 'C', /* parent -> child: in its cgroup; state dir and fifo exist */
	SK_SYNC_HOOKS = 'P',  /* child -> parent: run prestart/createRuntime hooks now */
	SK_SYNC_HOOKS_DONE = 'H',
	SK_SYNC_READY = 'R', /* child -> parent: set up, waiting for start */
	SK_SYNC_START = 'S', /* parent -> child (run): exec now */
	SK_SYNC_ERROR = 'E', /* child -> parent: 'E' followed by the message */
};

struct sk_init_args {
	const struct sk_spec *spec;
	const char *id;
	const char *bundle;
	const char *rootfs;
	const char *fifo_path; /* create: wait on this fifo; NULL: wait for SK_SYNC_START */
	int sync_fd;
	int console_fd; /* connected console socket, or -1 */
	unsigned preserve_fds;
	bool no_pivot, no_new_keyring;
	bool new_userns;
	int new_ns_flags;	  /* CLONE_NEW* the child still has to unshare */
	struct sk_cgroup *cgroup; /* the container's cgroup (maybe not created yet) */
	/* when to move ourselves into the v1 hierarchies (cgroup2: clone did) */
	enum { SK_JOIN_NONE, SK_JOIN_AT_GO, SK_JOIN_AT_CGROUP } join_cgroup;
	/* the child's own, filled once the cgroup is ready */
	int procfd, fifofd;
	bool ready_sent;
};

/* Never returns: execs the container process or exits non-zero. */
_Noreturn void sk_init_main(struct sk_init_args *a);

/* Sends SK_SYNC_GO followed by the child's pid as the host sees it. */
int sk_sync_send_go(int fd, pid_t host_pid);

/* Sends an error message on the sync socket (best effort). */
void sk_sync_send_error(int fd, const char *msg);
int sk_sync_send(int fd, char msg);
/* Receives one message; for SK_SYNC_ERROR *ret_msg gets the text. 0 on EOF. */
int sk_sync_recv(int fd, char *ret, char **ret_msg);

/*
 * Sets the AppArmor profile / SELinux label for the coming execve when
 * that LSM is active; logs at debug level and ignores them otherwise.
 */
int sk_init_apply_lsm(const struct sk_process *p, struct sk_error **err);

/* Marks every fd from 3+preserve CLOEXEC and keeps 3..3+preserve-1 open across exec. */
int sk_init_prepare_fds(unsigned preserve);

/*
 * Applies linux.resources to cg; device rules get the devices every
 * container may use appended (null, zero, tty, pts, ...), on create and
 * on update alike.
 */
int sk_runtime_apply_resources(struct sk_cgroup *cg, const struct sk_resources *r,
			       struct sk_error **err);

/*
 * Blocks every signal in the caller; *ret_old gets the mask it had. run and
 * exec call it before their process can run, so a signal sent the moment
 * the process shows life waits for sk_runtime_wait_forward instead of
 * killing the runtime. The process itself starts with an empty mask
 * (sk_exec_process).
 */
void sk_runtime_block_signals(sigset_t *ret_old);

/*
 * Waits for pid (a child of the caller), forwarding every catchable signal
 * to it and, when master >= 0, proxying stdin/stdout to that pty master.
 * Signals must be blocked (sk_runtime_block_signals); old is restored on
 * return. *ret_status gets the exit code (128+N for signal N).
 */
int sk_runtime_wait_forward(pid_t pid, int master, const sigset_t *old, int *ret_status);

#endif
