/* SPDX-License-Identifier: Apache-2.0 */
/*
 * terminal.h - container terminals: a pty made inside the container, its
 * master handed to the caller over a unix socket (--console-socket) as runc
 * does, and the proxy `run` uses when it holds the master itself.
 */
#ifndef SK_RUNTIME_TERMINAL_H
#define SK_RUNTIME_TERMINAL_H

#include <stdbool.h>

#include "base/error.h"
#include "oci/spec.h"

/* Connects to the console socket at path; returns the fd or a negative errno. */
int sk_terminal_connect(const char *path, struct sk_error **err);

/*
 * In the container (after pivot_root): opens a pty from /dev/ptmx, sends the
 * master over console_fd, makes the slave the controlling terminal and
 * stdin/stdout/stderr, and bind-mounts it on /dev/console when
 * mount_console is set.
 */
int sk_terminal_setup(int console_fd, const struct sk_process *p, bool mount_console,
		      struct sk_error **err);

int sk_terminal_send_fd(int sock, int fd, const char *name, struct sk_error **err);
/* Receives one fd; returns it or a negative errno. */
int sk_terminal_recv_fd(int sock, struct sk_error **err);

#endif
