/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe.h - health probes (Compose healthcheck exec, x-skiff.health http and
 * tcp) that never block the daemon's event loop.
 *
 * Each probe forks a child from the calling process; the child does the
 * blocking work (sk_container_exec, connect, the HTTP exchange), writes a
 * one-line verdict to a pipe and _exit()s.  The loop watches the child with
 * a pidfd, reads the pipes, and a loop timer enforces the timeout: on expiry
 * the child (and, for exec probes, the process it runs in the container,
 * with its process group) gets SIGKILL and the probe reports
 * SK_PROBE_TIMEOUT at once; the child is reaped later by the loop.
 *
 * Probes still running when the loop is freed are leaked (their children
 * are not reaped): stop or finish them first.  The child is a plain fork(),
 * so a daemon with other threads must not hold locks the child's code
 * (malloc aside, which glibc makes fork-safe) could need.
 *
 * This is not a scheduler: intervals, retries, start periods and the
 * healthy/unhealthy state machine belong to the caller.
 */
#ifndef SK_DAEMON_PROBE_H
#define SK_DAEMON_PROBE_H

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/loop.h"

/* What a probe found; SK_PROBE_ERROR means it could not be run at all. */
enum sk_probe_result { SK_PROBE_OK, SK_PROBE_FAIL, SK_PROBE_TIMEOUT, SK_PROBE_ERROR };

/* The bytes of exec output a probe keeps (Docker's limit too). */
#define SK_PROBE_OUTPUT_MAX 4096

struct sk_probe_spec {
	enum { SK_PROBE_EXEC, SK_PROBE_HTTP, SK_PROBE_TCP } kind;
	/* EXEC: argv run inside the container with its process's env, user and
	 * cwd (CMD-SHELL already turned into {"/bin/sh","-c",cmd}) */
	char **argv;
	const char *runtime_root; /* EXEC: runtime state root */
	const char *container_id; /* EXEC: the container */
	/* HTTP/TCP: enter this pid's network namespace first (setns on
	 * /proc/PID/ns/net); 0: stay in the caller's (host network) */
	pid_t netns_pid;
	uint16_t port;		    /* HTTP/TCP: connect to 127.0.0.1:port */
	const char *path;	    /* HTTP: request target, NULL: "/" */
	int status_min, status_max; /* HTTP: healthy statuses; both 0: 200..399 */
	int64_t timeout_ns;	    /* > 0 */
};

/*
 * How a probe ended.  `output` (never NULL, valid during the call): for exec
 * probes the first SK_PROBE_OUTPUT_MAX bytes of the process's stdout and
 * stderr; otherwise, and for errors and timeouts, a one-line reason
 * ("connect: Connection refused", "status 500", "timed out after 2000 ms").
 */
typedef void (*sk_probe_done_cb)(enum sk_probe_result r, const char *output, void *userdata);

struct sk_probe;

/*
 * Validates `spec`, forks the probe child and arms its timeout.  The spec
 * need not outlive the call (the child has its own copy).  done_cb is
 * called exactly once on the loop thread, never from inside this call,
 * unless sk_probe_cancel() is called first.  *ret is a borrowed handle,
 * valid until done_cb has been called or sk_probe_cancel() has returned.
 * Returns 0, -EINVAL for a bad spec, or a negative errno (pipe, fork,
 * pidfd); on failure nothing is left running and *ret is untouched.
 */
int sk_probe_start(struct sk_loop *loop, const struct sk_probe_spec *spec, sk_probe_done_cb cb,
		   void *userdata, struct sk_probe **ret, struct sk_error **err);

/*
 * Kills the child (SIGKILL) and drops the probe: done_cb is never called.
 * The loop reaps the child later.  Accepts NULL.
 */
void sk_probe_cancel(struct sk_probe *p);

/* "ok", "fail", "timeout", "error". */
const char *sk_probe_result_name(enum sk_probe_result r);

#endif
