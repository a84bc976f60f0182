/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h - what the runtime remembers about a container between commands.
 *
 * Each container has a directory <root>/<id>/ holding state.json (this
 * record), config.json (the spec it was created from, byte for byte) and,
 * until `start`, exec.fifo.  The live status is never stored: it is derived
 * from the kernel each time (is the pid alive with the same start time, does
 * the fifo exist, is the cgroup frozen), as runc does.
 */
#ifndef SK_RUNTIME_STATE_H
#define SK_RUNTIME_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

enum sk_status {
	SK_STATUS_CREATING,
	SK_STATUS_CREATED,
	SK_STATUS_RUNNING,
	SK_STATUS_PAUSED,
	SK_STATUS_STOPPED
};

struct sk_state {
	char *id;
	char *dir; /* <root>/<id> */
	pid_t pid;
	uint64_t pid_start; /* /proc/<pid>/stat starttime, guards against pid reuse */
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339, UTC */
	char *cgroup_path;
	char **cgroup_created; /* dirs skiff made, for destroy */
	bool systemd_cgroup;
	char *annotations_json; /* the spec's annotations object, or NULL */
	bool new_pidns; /* when false, `kill --all`/delete must kill the cgroup's processes */
};

const char *sk_status_name(enum sk_status s);

/* Container ids: 1-1024 characters of [A-Za-z0-9_+.-], not "." or "..". */
int sk_state_check_id(const char *id, struct sk_error **err);

int sk_state_save(const struct sk_state *st, struct sk_error **err);
/* Loads <root>/<id>/state.json; -ENOENT with "container \"ID\" does not exist". */
int sk_state_load(const char *root, const char *id, struct sk_state **ret, struct sk_error **err);
void sk_state_free(struct sk_state *st);
static inline void sk_state_freep(struct sk_state **st)
{
	sk_state_free(*st);
}

/* Reads the start time of pid from /proc; 0 when it does not exist. */
uint64_t sk_proc_start_time(pid_t pid);
/* Whether st->pid is still the container's process (alive, not a zombie, same start). */
bool sk_state_pid_alive(const struct sk_state *st);
enum sk_status sk_state_status(const struct sk_state *st);

/* The runtime-spec state document, as `state` prints it and hooks read it. */
char *sk_state_json(const struct sk_state *st, enum sk_status status, bool pretty);

/*
 * Removes the state directory: its known files, then the directory; a
 * full walk only when something else was left in it.
 */
int sk_state_remove(const struct sk_state *st, struct sk_error **err);

/* "<dir>/<name>" */
char *sk_state_file(const struct sk_state *st, const char *name);

#endif
