/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.h - skiffd, the platform daemon, as a library: configuration and
 * the entry point src/cmd/skiffd.c calls (after the keeper fork).
 *
 * The daemon keeps apps running as declared: desired state in SQLite
 * (store.h), containers through the runtime library (created by short-lived
 * forked helpers so they reparent to the keeper, keeper.h), health probes
 * (probe.h), logs (written by the keeper, read with logs.h), events and
 * Prometheus metrics, all behind the HTTP API of docs/api.md.  Everything
 * runs on one sk_loop thread; blocking work runs in forked helpers.
 */
#ifndef SK_DAEMON_DAEMON_H
#define SK_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

struct sk_daemon_config {
	const char *run_dir;  /* default /run/skiff: sockets, pid files, runtime state, bundles */
	const char *data_dir; /* default /var/lib/skiff: skiff.db, images, logs, volumes */
	const char *cgroup_parent; /* default "skiff": containers at /<parent>/<app>/<id> */
	const char *metrics_addr;  /* "127.0.0.1:9323" to serve /metrics on TCP, or NULL */
	bool no_keeper;		   /* run without a keeper (tests of the daemon alone) */
	unsigned max_helpers;	   /* container-creating helpers in flight, 0: 16 */
};

/*
 * Runs the daemon until SIGTERM/SIGINT: on those it stops every container
 * (stop signal, grace period, SIGKILL), keeps the desired state, and
 * returns 0.  Tells systemd it is ready when NOTIFY_SOCKET is set.
 */
int sk_daemon_main(const struct sk_daemon_config *c, struct sk_error **err);

#endif
