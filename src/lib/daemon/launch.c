/* SPDX-License-Identifier: Apache-2.0 */
/*
 * launch.c - creating and removing a replica's container, off the loop.
 *
 * Each is a short-lived helper forked from skiffd that calls the runtime
 * library in-process: mount the overlay root, build config.json
 * (specgen.h), create and start the container, then exit - so the
 * container's init reparents to the keeper (the subreaper above skiffd),
 * which reaps it and holds its stdout/stderr pipes (handed over before the
 * fork).  The helper reports on a pipe: "P <pid> <starttime>" once created,
 * "S" once started, "E <message>" on failure (having undone what it did);
 * the cleanup helper reports "O <oom kills>" after deleting the container
 * and its overlay.  Helpers run in parallel (up to max_helpers), which is
 * what makes 100 replicas start in a fraction of a second on two cores.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "cgroup/cgroup.h"
#include "daemon/daemon-internal.h"
#include "daemon/keeper.h"
#include "daemon/specgen.h"
#include "image/image.h"
#include "runtime/state.h"

#define REPORT_MAX 4096

/* ---- in the helper (a forked child: report and _exit, never return) ---- */

static void report(int fd, const char *fmt, ...) _printf_(2, 3);
static void report(int fd, const char *fmt, ...)
{
	char buf[REPORT_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	for (int i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[n++] = '\n';
	(void)sk_write_all(fd, buf, (size_t)n);
}

static void helper_child_setup(void)
{
	sigset_t none;

	/* the loop blocks the signals it reads through signalfd */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
}

static int rootfs_unmount(struct sk_daemon *d, const char *id, struct sk_error **err)
{
	_cleanup_(sk_image_store_freep) struct sk_image_store *st = NULL;
	int r = sk_image_store_open(d->images_dir, true, &st, err);

	return r < 0 ? r : sk_image_rootfs_unmount(st, id, err);
}

static int write_bundle(struct sk_dreplica *r, const char *rootfs,
			const struct sk_image_config *img, const char *bundle, const char *netns,
			struct sk_error **err)
{
	struct sk_dservice *s = r->svc;
	struct sk_daemon *d = s->app->d;
	_cleanup_free_ char *cg =
	    sk_asprintf("/%s/%s/%s", d->cfg.cgroup_parent, s->app->name, r->id);
	_cleanup_free_ char *cfg = sk_path_join(bundle, "config.json");
	_cleanup_free_ char *hosts = sk_path_join(bundle, "hosts");
	_cleanup_free_ char *resolv = sk_path_join(bundle, "resolv.conf");
	_cleanup_free_ char *secrets = sk_path_join(bundle, "secrets");
	struct sk_specgen_opts o = {
		.app = s->app->name,
		.index = r->index,
		.container_id = r->id,
		.rootfs = rootfs,
		.cgroups_path = cg,
		.volumes_dir = d->volumes_dir,
		.netns_path = netns,
		.resolv_conf = netns ? resolv : NULL,
		.hosts = netns ? hosts : NULL,
		.secrets_dir = secrets, /* removed with the bundle */
	};
	json_t *spec = NULL;
	int ret;

	ret = sk_specgen_build(s->def, img, &o, &spec, err);
	if (ret < 0)
		return ret;
	ret = json_dump_file(spec, cfg, JSON_COMPACT);
	json_decref(spec);
	if (ret < 0)
		return sk_error_set(err, 0, "write '%s'", cfg);
	return 0;
}

static int helper_create(struct sk_dreplica *r, const char *bundle, int rep, struct sk_error **err)
{
	struct sk_dservice *s = r->svc;
	struct sk_daemon *d = s->app->d;
	_cleanup_(sk_image_store_freep) struct sk_image_store *st = NULL;
	_cleanup_(sk_image_config_freep) struct sk_image_config *img = NULL;
	_cleanup_(sk_state_freep) struct sk_state *state = NULL;
	_cleanup_free_ char *rootfs = NULL, *netns = NULL;
	struct sk_create_opts co = { .bundle = bundle };
	int ret;

	ret = sk_image_store_open(d->images_dir, true, &st, err);
	if (ret < 0)
		return ret;
	ret = sk_image_config_load(st, s->def->image, &img, err);
	if (ret >= 0)
		/* writable overlay even for read_only services: mount points for volumes and
		 * tmpfs are made in it; root.readonly in the spec makes it read-only after */
		ret = sk_image_rootfs_mount(st, s->def->image, r->id, false, &rootfs, err);
	sk_image_store_free(TAKE_PTR(st)); /* the store lock: other helpers wait on it */
	if (ret < 0)
		return ret;
	if (mkdir(bundle, 0700) < 0 && errno != EEXIST)
		return sk_error_errno(err, "mkdir '%s'", bundle);
	if (r->has_addr) {
		ret = sk_dnet_replica_attach(r, bundle, &netns, err);
		if (ret < 0)
			return ret;
	}
	ret = write_bundle(r, rootfs, img, bundle, netns, err);
	if (ret < 0)
		return ret;
	ret = sk_container_create(&d->rt, r->id, &co, err);
	if (ret < 0)
		return ret;
	ret = sk_state_load(d->rt.root, r->id, &state, err);
	if (ret < 0)
		return ret;
	report(rep, "P %d %" PRIu64, (int)state->pid, state->pid_start);
	ret = sk_container_start(&d->rt, r->id, err);
	if (ret < 0)
		return ret;
	report(rep, "S");
	return 0;
}

static _Noreturn void helper_create_main(struct sk_dreplica *r, int out, int errfd, int rep)
{
	struct sk_daemon *d = r->svc->app->d;
	_cleanup_free_ char *bundle = sk_path_join(d->bundles_dir, r->id);
	struct sk_error *err = NULL;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	helper_child_setup();
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(1);
	sk_close_fds_except(rep, -1); /* skiffd's sockets stay skiffd's */
	if (helper_create(r, bundle, rep, &err) == 0)
		_exit(0);
	report(rep, "E %s", err->msg);
	sk_error_free(err);
	err = NULL;
	(void)sk_container_delete(&d->rt, r->id, true, &err);
	sk_error_free(err);
	err = NULL;
	(void)rootfs_unmount(d, r->id, &err);
	sk_error_free(err);
	err = NULL;
	if (r->has_addr)
		(void)sk_dnet_replica_detach(d, r->id, &err);
	sk_error_free(err);
	(void)sk_rm_rf(bundle);
	_exit(1);
}

/* OOM kills recorded in the container's memory cgroup (0 when unknown). */
static uint64_t oom_kills(struct sk_daemon *d, const char *id)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	struct sk_cgroup_stats stats = { 0 };
	struct sk_error *err = NULL;

	if (sk_state_load(d->rt.root, id, &st, &err) < 0 || !st->cgroup_path ||
	    sk_cgroup_open(st->cgroup_path, st->cgroup_created, &cg, &err) < 0 ||
	    sk_cgroup_stats(cg, &stats, &err) < 0) {
		sk_error_free(err);
		return 0;
	}
	return stats.oom_kills;
}

static _Noreturn void helper_cleanup_main(struct sk_daemon *d, const char *id, int rep)
{
	_cleanup_free_ char *bundle = sk_path_join(d->bundles_dir, id);
	struct sk_error *err = NULL;
	uint64_t ooms;
	int code = 0;

	helper_child_setup();
	sk_close_fds_except(rep, -1);
	ooms = oom_kills(d, id);
	if (sk_container_delete(&d->rt, id, true, &err) < 0 && err->code != ENOENT) {
		report(rep, "E %s", err->msg);
		code = 1;
	}
	sk_error_free(err);
	err = NULL;
	if (rootfs_unmount(d, id, &err) < 0) {
		report(rep, "E %s", err->msg);
		code = 1;
	}
	sk_error_free(err);
	err = NULL;
	if (sk_dnet_replica_detach(d, id, &err) < 0) {
		report(rep, "E %s", err->msg);
		code = 1;
	}
	sk_error_free(err);
	(void)sk_rm_rf(bundle);
	report(rep, "O %" PRIu64, ooms);
	_exit(code);
}

/* ---- on the loop ---- */

struct report {
	pid_t pid;
	uint64_t start;
	bool started;
	uint64_t ooms;
	char error[REPORT_MAX];
};

static void report_read(int fd, struct report *ret)
{
	char buf[4 * REPORT_MAX];
	ssize_t n = sk_read_all(fd, buf, sizeof(buf) - 1);
	char *line, *save = NULL;

	memset(ret, 0, sizeof(*ret));
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a = 0, b = 0;
		if (line[0] == 'P' && sscanf(line, "P %llu %llu", &a, &b) == 2) {
			ret->pid = (pid_t)a;
			ret->start = b;
		} else if (!strcmp(line, "S")) {
			ret->started = true;
		} else if (line[0] == 'O' && sscanf(line, "O %llu", &a) == 1) {
			ret->ooms = a;
		} else if (line[0] == 'E' && line[1] == ' ' && !ret->error[0]) {
			snprintf(ret->error, sizeof(ret->error), "%s", line + 2);
		}
	}
}

static void helper_forget(struct sk_dreplica *r)
{
	struct sk_daemon *d = r->svc->app->d;

	if (r->report_fd >= 0)
		close(r->report_fd);
	r->report_fd = -1;
	r->helper = NULL;
	r->helper_pid = 0;
	d->helpers_running--;
}

static void create_done_cb(struct sk_loop *loop, struct sk_loop_child *child,
			   const struct sk_loop_child_status *st, void *userdata)
{
	struct sk_dreplica *r = userdata;
	struct sk_dservice *s = r->svc;
	struct report rep;
	int code;
	int64_t when;

	report_read(r->report_fd, &rep);
	helper_forget(r);
	if (!rep.started) {
		const char *msg = rep.error[0] ? rep.error : "container helper died";
		sk_log_error("%s: %s", r->id, msg);
		sk_daemon_event(s->app->d, s->app->name, s->name, r->index, SK_STORE_EV_ERROR, NULL,
				"%s", msg);
		r->obs.has_exit = true;
		r->obs.exit_code = 125; /* as docker run: the container could not be run */
		r->obs.exit_ns = sk_wall_ns();
		if (rep.pid > 0) /* created, then start failed: the helper removed it */
			sk_daemon_keeper_ack(s->app->d, rep.pid);
		sk_reconcile_cleaned(r);
		return;
	}
	r->obs.pid = rep.pid;
	r->obs.pid_start_time = rep.start;
	free(r->config_hash);
	r->config_hash = sk_strdup(s->hash);
	sk_daemon_event(s->app->d, s->app->name, s->name, r->index, SK_STORE_EV_START,
			json_pack("{s:i}", "pid", rep.pid), "started (pid %d)", rep.pid);
	sk_reconcile_started(r);
	if (sk_reconcile_take_orphan_exit(s->app->d, rep.pid, &code, &when)) {
		sk_reconcile_replica_exited(r, code, when);
		sk_daemon_keeper_ack(s->app->d, rep.pid);
	}
}

static void cleanup_done_cb(struct sk_loop *loop, struct sk_loop_child *child,
			    const struct sk_loop_child_status *st, void *userdata)
{
	struct sk_dreplica *r = userdata;
	struct sk_dservice *s = r->svc;
	struct report rep;

	report_read(r->report_fd, &rep);
	helper_forget(r);
	if (rep.error[0])
		sk_warn("%s: cleanup: %s", r->id, rep.error);
	if (rep.ooms > 0) {
		sk_daemon_event(s->app->d, s->app->name, s->name, r->index, SK_STORE_EV_OOM,
				json_pack("{s:I}", "oom_kills", (json_int_t)rep.ooms),
				"out of memory: %" PRIu64 " process(es) killed", rep.ooms);
		r->oom_kills += rep.ooms;
	}
	sk_reconcile_cleaned(r);
}

static int fork_helper(struct sk_dreplica *r, int *ret_rep_w, pid_t *ret_pid, struct sk_error **err)
{
	int rep[2];
	pid_t pid;

	if (pipe2(rep, O_CLOEXEC) < 0)
		return sk_error_errno(err, "pipe");
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(rep[0]);
		close(rep[1]);
		errno = e;
		return sk_error_errno(err, "fork");
	}
	if (pid == 0) {
		close(rep[0]);
		*ret_rep_w = rep[1];
		*ret_pid = 0;
		return 0;
	}
	close(rep[1]);
	r->report_fd = rep[0];
	*ret_pid = pid;
	return 0;
}

static int watch_helper(struct sk_dreplica *r, pid_t pid, sk_loop_child_cb cb,
			struct sk_error **err)
{
	struct sk_daemon *d = r->svc->app->d;
	int ret = sk_loop_child_add(d->loop, pid, cb, r, &r->helper, err);

	if (ret < 0) { /* cannot happen short of running out of fds; do not leave it */
		kill(pid, SIGKILL);
		close(r->report_fd);
		r->report_fd = -1;
		return ret;
	}
	r->helper_pid = pid;
	d->helpers_running++;
	return 0;
}

/*
 * The app's cgroup directory is made here, once, not by the helpers: helpers
 * running in parallel would race making it (a v1 cpuset copied from the
 * parent too late) and one failing would remove it under its siblings.
 */
static int app_cgroup_make(struct sk_dapp *a, struct sk_error **err)
{
	_cleanup_free_ char *path = sk_asprintf("/%s/%s", a->d->cfg.cgroup_parent, a->name);
	struct sk_cgroup *cg = NULL;
	int r;

	if (a->cgroup_made)
		return 0;
	r = sk_cgroup_create(path, &cg, err);
	if (r < 0)
		return r;
	sk_cgroup_free(cg); /* kept: removed by sk_daemon_cgroup_prune after `down` */
	a->cgroup_made = true;
	return 0;
}

int sk_launch_create(struct sk_dreplica *r, struct sk_error **err)
{
	struct sk_dservice *s = r->svc;
	struct sk_daemon *d = s->app->d;
	_cleanup_free_ char *logdir = sk_path_join(d->logs_dir, s->app->name);
	_cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
	int p[2], rep_w = -1, ret;
	pid_t pid;

	if (d->keeper_fd < 0)
		return sk_error_set(err, 0, "no keeper to hold the container's output");
	ret = app_cgroup_make(s->app, err);
	if (ret < 0)
		return ret;
	if (sk_dnet_wanted(s->def)) {
		ret = sk_dnet_replica_lease(r, err);
		if (ret < 0)
			return ret;
	} else {
		sk_dnet_replica_release(r);
	}
	if (sk_mkdir_p(logdir, 0700) < 0)
		return sk_error_errno(err, "mkdir '%s'", logdir);
	if (pipe2(p, O_CLOEXEC) < 0)
		return sk_error_errno(err, "pipe");
	out_r = p[0], out_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sk_error_errno(err, "pipe");
	err_r = p[0], err_w = p[1];
	ret = sk_keeper_send_log(d->keeper_fd, r->id, r->log_path, 0, 0, out_r, err_r, err);
	if (ret < 0)
		return ret;
	ret = fork_helper(r, &rep_w, &pid, err);
	if (ret < 0)
		return ret;
	if (pid == 0)
		helper_create_main(r, out_w, err_w, rep_w);
	ret = watch_helper(r, pid, create_done_cb, err);
	if (ret < 0)
		return ret;
	sk_daemon_event(d, s->app->name, s->name, r->index, SK_STORE_EV_CREATE, NULL,
			"creating container %s", r->id);
	r->phase = P_LAUNCH;
	r->obs.state = SK_STORE_OBS_CREATED;
	r->obs.pid = 0;
	sk_dreplica_save(r);
	return 0;
}

int sk_launch_cleanup(struct sk_dreplica *r, struct sk_error **err)
{
	int rep_w = -1, ret;
	pid_t pid;

	ret = fork_helper(r, &rep_w, &pid, err);
	if (ret < 0)
		return ret;
	if (pid == 0)
		helper_cleanup_main(r->svc->app->d, r->id, rep_w);
	return watch_helper(r, pid, cleanup_done_cb, err);
}

/* Removes a container with no replica (left by a daemon that died mid-launch), synchronously. */
void sk_launch_janitor(struct sk_daemon *d, const char *id)
{
	_cleanup_free_ char *bundle = sk_path_join(d->bundles_dir, id);
	struct sk_error *err = NULL;

	sk_info("removing container '%s': no replica owns it", id);
	if (sk_container_delete(&d->rt, id, true, &err) < 0)
		sk_warn("%s: %s", id, err->msg);
	sk_error_free(err);
	err = NULL;
	if (rootfs_unmount(d, id, &err) < 0)
		sk_warn("%s: %s", id, err->msg);
	sk_error_free(err);
	err = NULL;
	if (sk_dnet_replica_detach(d, id, &err) < 0)
		sk_warn("%s: %s", id, err->msg);
	sk_error_free(err);
	(void)sk_rm_rf(bundle);
}

void sk_launch_cancel(struct sk_dreplica *r)
{
	if (!r->helper)
		return;
	sk_loop_child_remove(r->helper);
	helper_forget(r);
}
