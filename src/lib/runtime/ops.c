/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops.c - the operations on an existing container: start, kill, delete,
 * pause, resume, update, pids, list.
 *
 * Each loads the container's state, derives its live status from the
 * kernel, and acts through pidfds (so a recycled pid is never signalled)
 * and the container's cgroup.
 */
#include "runtime/container.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "base/util.h"
#include "cgroup/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/init.h"

static int open_cgroup(const struct sk_state *st, struct sk_cgroup **ret, struct sk_error **err)
{
	return sk_cgroup_open(st->cgroup_path, st->cgroup_created, ret, err);
}

/* A pidfd for the container's process, or -ESRCH when it is gone or recycled. */
static int container_pidfd(const struct sk_state *st)
{
	int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);

	if (fd < 0)
		return -errno;
	if (!sk_state_pid_alive(st)) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

static int wait_pidfd(int fd, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -ETIMEDOUT;
}

int sk_container_spec(const struct sk_state *st, struct sk_spec **ret, struct sk_error **err)
{
	_cleanup_free_ char *path = sk_state_file(st, "config.json");
	return sk_spec_load(path, ret, err);
}

static int run_poststart(const struct sk_state *st, struct sk_error **err)
{
	_cleanup_(sk_spec_freep) struct sk_spec *spec = NULL;
	int r = sk_container_spec(st, &spec, err);

	if (r < 0 || spec->n_hooks[SK_HOOK_POSTSTART] == 0)
		return r;
	_cleanup_free_ char *doc = sk_state_json(st, SK_STATUS_RUNNING, false);
	return sk_hooks_run(spec->hooks[SK_HOOK_POSTSTART], spec->n_hooks[SK_HOOK_POSTSTART],
			    "poststart", doc, err);
}

/* Reads the exec fifo until the init writes to it and then execs (EOF). */
static int drain_fifo(const struct sk_state *st, const char *fifo, struct sk_error **err)
{
	/* The pidfd first: opening the fifo lets the process run (and maybe exit). */
	_cleanup_close_ int pfd = container_pidfd(st);
	_cleanup_close_ int fd = -1;
	bool got = false;

	if (pfd < 0)
		return sk_error_set(err, 0, "container process is gone");
	fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return sk_error_errno(err, "open exec fifo");
	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { pfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return sk_error_errno(err, "wait for container start");
		}
		if (p[0].revents) {
			char buf[16];
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n > 0) {
				got = true;
				continue;
			}
			/* EOF after the byte: the process exec'd (or died after it). */
			if (n == 0 && got)
				return 0;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return sk_error_errno(err, "read exec fifo");
		}
		if (p[1].revents && !got)
			return sk_error_set(err, 0, "container process exited before start");
	}
}

int sk_container_start(const struct sk_runtime *rt, const char *id, struct sk_error **err)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	int r;

	if ((r = sk_state_load(rt->root, id, &st, err)) < 0)
		return r;
	enum sk_status s = sk_state_status(st);
	if (s == SK_STATUS_STOPPED)
		return sk_error_set(err, 0, "cannot start a container that has stopped");
	if (s != SK_STATUS_CREATED)
		return sk_error_set(err, 0, "cannot start an already running container");
	_cleanup_free_ char *fifo = sk_state_file(st, "exec.fifo");
	r = drain_fifo(st, fifo, err);
	(void)unlink(fifo);
	if (r < 0)
		return r;
	return run_poststart(st, err);
}

int sk_container_kill(const struct sk_runtime *rt, const char *id, int sig, bool all,
		      struct sk_error **err)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	int r;

	if ((r = sk_state_load(rt->root, id, &st, err)) < 0)
		return r;
	enum sk_status s = sk_state_status(st);
	if (all || !st->new_pidns) {
		_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
		if (s == SK_STATUS_STOPPED && !all)
			return sk_error_set(err, 0, "container not running");
		if ((r = open_cgroup(st, &cg, err)) < 0 ||
		    (r = sk_cgroup_kill_all(cg, sig, err)) < 0)
			return r;
		if (s == SK_STATUS_PAUSED && sig == SIGKILL)
			(void)sk_cgroup_freeze(cg, false, NULL);
		return 0;
	}
	if (s == SK_STATUS_STOPPED)
		return sk_error_set(err, 0, "container not running");
	_cleanup_close_ int pfd = container_pidfd(st);
	if (pfd < 0)
		return sk_error_set(err, 0, "container not running");
	if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
		return sk_error_errno(err, "kill container %s with signal %d", id, sig);
	if (s == SK_STATUS_PAUSED && sig == SIGKILL) {
		_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
		if (open_cgroup(st, &cg, NULL) == 0)
			(void)sk_cgroup_freeze(cg, false, NULL);
	}
	return 0;
}

static void run_poststop(const struct sk_state *st)
{
	_cleanup_(sk_spec_freep) struct sk_spec *spec = NULL;
	_cleanup_error_ struct sk_error *e = NULL;

	if (sk_container_spec(st, &spec, &e) < 0 || spec->n_hooks[SK_HOOK_POSTSTOP] == 0) {
		if (e)
			sk_warn("poststop hooks: %s", e->msg);
		return;
	}
	_cleanup_free_ char *doc = sk_state_json(st, SK_STATUS_STOPPED, false);
	/* The spec says a failing poststop hook is a warning; the delete goes on. */
	if (sk_hooks_run(spec->hooks[SK_HOOK_POSTSTOP], spec->n_hooks[SK_HOOK_POSTSTOP], "poststop",
			 doc, &e) < 0)
		sk_warn("%s", e->msg);
}

static int stop_init(const struct sk_state *st, struct sk_cgroup *cg, struct sk_error **err)
{
	_cleanup_close_ int pfd = container_pidfd(st);

	if (pfd < 0)
		return 0;
	(void)sk_cgroup_freeze(cg, false, NULL);
	if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return sk_error_errno(err, "kill container %s", st->id);
	if (wait_pidfd(pfd, 10000) < 0)
		return sk_error_set(err, ETIMEDOUT, "container %s did not die after SIGKILL",
				    st->id);
	return 0;
}

int sk_container_delete(const struct sk_runtime *rt, const char *id, bool force,
			struct sk_error **err)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	_cleanup_error_ struct sk_error *lerr = NULL;
	int r;

	r = sk_state_load(rt->root, id, &st, &lerr);
	if (r == -ENOENT && force)
		return 0; /* runc: delete --force of a missing container succeeds */
	if (r < 0) {
		sk_error_move(err, &lerr);
		return r;
	}
	enum sk_status s = sk_state_status(st);
	if ((s == SK_STATUS_RUNNING || s == SK_STATUS_PAUSED) && !force)
		return sk_error_set(err, 0, "cannot delete container %s that is not stopped: %s",
				    id, sk_status_name(s));
	if ((r = open_cgroup(st, &cg, err)) < 0)
		return r;
	if (s != SK_STATUS_STOPPED && (r = stop_init(st, cg, err)) < 0)
		return r;
	if ((r = sk_cgroup_destroy(cg, err)) < 0)
		return r;
	run_poststop(st);
	return sk_state_remove(st, err);
}

static int set_frozen(const struct sk_runtime *rt, const char *id, bool frozen,
		      struct sk_error **err)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	int r;

	if ((r = sk_state_load(rt->root, id, &st, err)) < 0)
		return r;
	enum sk_status s = sk_state_status(st);
	if (frozen && s != SK_STATUS_RUNNING && s != SK_STATUS_CREATED)
		return sk_error_set(err, 0, "container not running");
	if (!frozen && s != SK_STATUS_PAUSED)
		return sk_error_set(err, 0, "container not paused");
	if ((r = open_cgroup(st, &cg, err)) < 0)
		return r;
	return sk_cgroup_freeze(cg, frozen, err);
}

int sk_container_pause(const struct sk_runtime *rt, const char *id, struct sk_error **err)
{
	return set_frozen(rt, id, true, err);
}

int sk_container_resume(const struct sk_runtime *rt, const char *id, struct sk_error **err)
{
	return set_frozen(rt, id, false, err);
}

int sk_container_update(const struct sk_runtime *rt, const char *id, const struct sk_resources *res,
			struct sk_error **err)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	int r;

	if ((r = sk_state_load(rt->root, id, &st, err)) < 0)
		return r;
	if (sk_state_status(st) == SK_STATUS_STOPPED)
		return sk_error_set(err, 0, "container not running");
	if ((r = open_cgroup(st, &cg, err)) < 0)
		return r;
	return sk_runtime_apply_resources(cg, res, err);
}

int sk_container_pids(const struct sk_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
		      struct sk_error **err)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	int r;

	if ((r = sk_state_load(rt->root, id, &st, err)) < 0 || (r = open_cgroup(st, &cg, err)) < 0)
		return r;
	return sk_cgroup_pids(cg, ret, ret_n, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sk_container_list(const struct sk_runtime *rt, char ***ret, struct sk_error **err)
{
	char **ids = sk_new0(char *, 1);
	DIR *d = opendir(rt->root);

	if (!d) {
		if (errno == ENOENT) {
			*ret = ids;
			return 0;
		}
		sk_strv_free(ids);
		return sk_error_errno(err, "open state root '%s'", rt->root);
	}
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.' || sk_state_check_id(de->d_name, NULL) < 0)
			continue;
		char path[PATH_MAX];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/%s/state.json", rt->root, de->d_name);
		if (stat(path, &sb) == 0)
			sk_strv_push(&ids, de->d_name);
	}
	closedir(d);
	qsort(ids, sk_strv_length(ids), sizeof(char *), cmp_str);
	*ret = ids;
	return 0;
}
