/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.c - skiffd's setup, its link to the keeper, adoption of what runs
 * after a restart, events, signals and shutdown (daemon.h).
 *
 * Start: directories, the store (WAL, manual checkpoints on a timer), the
 * keeper (hello: it replays exits we have not acknowledged), the apps of
 * the store; then every replica the store says was running is checked
 * against the kernel (pid alive with the recorded start time): adopted if
 * so, else its exit is recorded (with the code the keeper kept) and the
 * restart policy applies.  Containers under the runtime root that no
 * replica owns are removed.  Then the API socket, sd_notify READY=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon-internal.h"
#include "daemon/keeper.h"
#include "cgroup/cgroup.h"
#include "runtime/state.h"

/* ---- events ---- */

void sk_daemon_event(struct sk_daemon *d, const char *app, const char *service, int64_t replica,
		     enum sk_store_event_type type, json_t *attrs, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *attrs_json = NULL;
	struct sk_error *err = NULL;
	int64_t id = 0, now = sk_wall_ns();
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (attrs)
		attrs_json = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
	struct sk_store_event ev = { .time_ns = now,
				     .app = app ? app : "",
				     .service = service,
				     .replica = replica,
				     .type = type,
				     .message = msg,
				     .attrs_json = attrs_json };
	if (sk_store_event_append(d->store, &ev, &id, &err) < 0) {
		sk_warn("event: %s", err->msg);
		sk_error_free(err);
	}
	if (service && replica)
		sk_info("%s-%s-%" PRId64 ": %s", app, service, replica, msg);
	else
		sk_info("%s%s%s: %s", app ? app : "", service ? "/" : "", service ? service : "",
			msg);
	if (d->followers) {
		json_t *j = json_pack("{s:I, s:I, s:s, s:s?, s:I, s:s, s:s}", "id", (json_int_t)id,
				      "time_ns", (json_int_t)now, "app", app ? app : "", "service",
				      service, "replica", (json_int_t)replica, "type",
				      sk_store_event_type_name(type), "message", msg);
		json_object_set(j, "attrs", attrs ? attrs : json_object());
		if (!attrs)
			json_decref(json_object_get(j, "attrs"));
		sk_daemon_followers_push(d, j);
		json_decref(j);
	}
	json_decref(attrs);
}

/* ---- the keeper ---- */

void sk_daemon_keeper_ack(struct sk_daemon *d, pid_t pid)
{
	struct sk_error *err = NULL;

	if (d->keeper_fd >= 0 && sk_keeper_ack(d->keeper_fd, pid, &err) < 0) {
		sk_warn("keeper: %s", err->msg);
		sk_error_free(err);
	}
}

static void keeper_lost(struct sk_daemon *d)
{
	sk_log_error("lost the keeper: containers can no longer be supervised, exiting");
	if (d->keeper_io)
		sk_loop_io_remove(d->keeper_io);
	d->keeper_io = NULL;
	close(d->keeper_fd);
	d->keeper_fd = -1;
	sk_loop_stop(d->loop);
}

static void keeper_io_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events,
			 void *userdata)
{
	struct sk_daemon *d = userdata;

	for (;;) {
		struct sk_keeper_msg m;
		struct sk_error *err = NULL;
		int r = sk_keeper_recv(fd, &m, &err);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			if (err)
				sk_log_error("keeper: %s", err->msg);
			sk_error_free(err);
			keeper_lost(d);
			return;
		}
		if (m.type == SK_KEEPER_MSG_EXIT)
			sk_reconcile_exit(d, m.pid, m.exit_code, m.time_ns);
		else if (m.type == SK_KEEPER_MSG_ERROR)
			sk_warn("keeper: %s", m.text);
		else if (m.type == SK_KEEPER_MSG_HELD)
			close(m.fd); /* only answers a hello */
	}
}

/* Connects, says hello and collects the exits it replays until READY. */
static int keeper_attach(struct sk_daemon *d, struct sk_error **err)
{
	int r, fl;

	r = sk_keeper_connect(d->cfg.run_dir, &d->keeper_fd, err);
	if (r < 0)
		return r;
	d->keeper_pid = sk_keeper_pid(d->cfg.run_dir);
	r = sk_keeper_hello(d->keeper_fd, err);
	if (r < 0)
		return r;
	for (;;) { /* blocking: the keeper answers at once */
		struct sk_keeper_msg m;
		r = sk_keeper_recv(d->keeper_fd, &m, err);
		if (r == -EAGAIN) {
			struct timeval tv = { .tv_sec = 5 };
			fd_set set;
			FD_ZERO(&set);
			FD_SET(d->keeper_fd, &set);
			if (select(d->keeper_fd + 1, &set, NULL, NULL, &tv) <= 0)
				return sk_error_set(err, 0, "keeper: no answer to hello");
			continue;
		}
		if (r < 0)
			return r;
		if (m.type == SK_KEEPER_MSG_READY)
			break;
		if (m.type == SK_KEEPER_MSG_EXIT)
			sk_reconcile_exit(d, m.pid, m.exit_code, m.time_ns);
		if (m.type == SK_KEEPER_MSG_HELD) {
			d->held_fds = sk_realloc(d->held_fds, (d->n_held_fds + 1) * sizeof(int));
			d->held_fds[d->n_held_fds++] = m.fd;
		}
	}
	fl = fcntl(d->keeper_fd, F_GETFL);
	if (fl < 0 || fcntl(d->keeper_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return sk_error_errno(err, "keeper socket");
	return sk_loop_io_add(d->loop, d->keeper_fd, SK_LOOP_READ, keeper_io_cb, d, &d->keeper_io,
			      err);
}

/* ---- adoption ---- */

static bool replica_owns(struct sk_daemon *d, const char *id)
{
	for (size_t i = 0; i < d->n_apps; i++)
		for (size_t j = 0; j < d->apps[i]->n_s; j++)
			for (size_t k = 0; k < d->apps[i]->s[j]->n_r; k++) {
				struct sk_dreplica *r = d->apps[i]->s[j]->r[k];
				if (sk_replica_live(r) && !strcmp(r->id, id))
					return true;
			}
	return false;
}

static void replica_adopt(struct sk_daemon *d, struct sk_dreplica *r)
{
	struct sk_dservice *s = r->svc;
	enum sk_store_observed st = r->obs.state;
	struct sk_error *err = NULL;
	int code;
	int64_t when;

	r->phase = st == SK_STORE_OBS_EXITED ? P_WAIT : P_IDLE;
	if (st != SK_STORE_OBS_RUNNING && st != SK_STORE_OBS_STOPPING && st != SK_STORE_OBS_CREATED)
		return;
	if (r->obs.pid > 0 && r->obs.pid_start_time &&
	    sk_proc_start_time(r->obs.pid) == r->obs.pid_start_time) {
		r->phase = P_RUNNING;
		sk_daemon_event(d, s->app->name, s->name, r->index, SK_STORE_EV_ADOPT,
				json_pack("{s:i}", "pid", r->obs.pid), "adopted (pid %d)",
				r->obs.pid);
		if (sk_dservice_load_image(s, &err) < 0) {
			sk_warn("%s: %s", r->id, err->msg);
			sk_error_free(err);
		}
		if (st == SK_STORE_OBS_STOPPING) { /* finish the stop it was in */
			r->phase = P_RUNNING;
			sk_replica_stop_now(r);
		} else {
			/* a replica that was healthy stays in the routes while its checks resume */
			enum sk_store_health h = r->obs.health;
			sk_reconcile_adopted(r);
			sk_health_start(r);
			if (h == SK_STORE_HEALTH_HEALTHY &&
			    r->obs.health == SK_STORE_HEALTH_STARTING)
				r->obs.health = h;
		}
		return;
	}
	/* it ended while skiffd was away: the keeper kept its exit code */
	if (r->obs.pid > 0 && sk_reconcile_take_orphan_exit(d, r->obs.pid, &code, &when)) {
		sk_daemon_keeper_ack(d, r->obs.pid);
	} else {
		code = 255;
		when = sk_wall_ns();
	}
	r->phase = P_RUNNING;
	sk_reconcile_replica_exited(r, code, when);
}

/* Apps with a network get their bridge (and virtual addresses, DNS zone) back at once. */
static void nets_resume(struct sk_daemon *d)
{
	struct sk_error *err = NULL;

	for (size_t i = 0; i < d->n_apps; i++) {
		struct sk_dapp *a = d->apps[i];
		if (!a->net || a->deleting)
			continue;
		if (sk_dnet_app_ensure(a, &err) < 0) {
			sk_warn("app '%s': network: %s", a->name, err->msg);
			sk_error_free(TAKE_PTR(err));
		}
	}
}

static void adopt_all(struct sk_daemon *d)
{
	_cleanup_strv_ char **ids = NULL;
	struct sk_error *err = NULL;

	for (size_t i = 0; i < d->n_apps; i++)
		for (size_t j = 0; j < d->apps[i]->n_s; j++)
			for (size_t k = 0; k < d->apps[i]->s[j]->n_r; k++)
				replica_adopt(d, d->apps[i]->s[j]->r[k]);
	if (sk_container_list(&d->rt, &ids, &err) < 0) {
		sk_warn("%s", err->msg);
		sk_error_free(err);
		return;
	}
	for (size_t i = 0; ids && ids[i]; i++)
		if (!replica_owns(d, ids[i]))
			sk_launch_janitor(d, ids[i]);
}

/* ---- cgroups ---- */

/*
 * Removes the app's cgroup directory (or, with app NULL, skiff's parent) in
 * every hierarchy once it is empty: a container removes only the
 * directories it created itself, and the first replica of an app made the
 * app's.  Busy directories (EBUSY, ENOTEMPTY) stay.
 */
void sk_daemon_cgroup_prune(struct sk_daemon *d, const char *app)
{
	_cleanup_free_ char *path = app ? sk_asprintf("/%s/%s", d->cfg.cgroup_parent, app)
					: sk_asprintf("/%s", d->cfg.cgroup_parent);
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	const struct sk_cgroup_hierarchy *h = NULL;
	struct sk_error *err = NULL;
	size_t n;

	if (sk_cgroup_open(path, NULL, &cg, &err) < 0) {
		sk_error_free(err);
		return;
	}
	n = sk_cgroup_hierarchies(cg, &h);
	for (size_t i = 0; i < n; i++)
		if (rmdir(h[i].dir) < 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY)
			sk_warn("rmdir '%s': %s", h[i].dir, strerror(errno));
}

/* ---- signals, readiness, checkpoints ---- */

static void shutdown_cb(struct sk_loop *loop, struct sk_loop_signal *sig,
			const struct signalfd_siginfo *info, void *userdata)
{
	struct sk_daemon *d = userdata;

	if (d->shutting_down) {
		sk_info("second signal: exiting now, containers keep running");
		sk_loop_stop(loop);
		return;
	}
	sk_info("signal %u: stopping every container, then exiting", info->ssi_signo);
	d->shutting_down = true;
	sk_reconcile_queue(d);
}

static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	size_t len;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	len = strlen(path);
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    sendto(fd, "READY=1\nSTATUS=running", 22, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   offsetof(struct sockaddr_un, sun_path) + len) < 0)
		sk_warn("sd_notify: %s", strerror(errno));
}

static void checkpoint_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_error *err = NULL;

	/* PASSIVE: copies what nobody reads; with synchronous=NORMAL the only fsync we pay */
	if (sk_store_checkpoint(d->store, NULL, NULL, &err) < 0) {
		sk_warn("store checkpoint: %s", err->msg);
		sk_error_free(err);
	}
}

/* Whether every container is gone after a shutdown request. */
bool sk_daemon_all_down(struct sk_daemon *d)
{
	for (size_t i = 0; i < d->n_apps; i++)
		for (size_t j = 0; j < d->apps[i]->n_s; j++)
			for (size_t k = 0; k < d->apps[i]->s[j]->n_r; k++)
				if (sk_replica_live(d->apps[i]->s[j]->r[k]))
					return false;
	return true;
}

/* ---- setup ---- */

static int dirs_make(struct sk_daemon *d, struct sk_error **err)
{
	const char *dirs[] = { d->cfg.run_dir, d->cfg.data_dir, d->runtime_root, d->bundles_dir,
			       d->logs_dir,    d->volumes_dir,	d->netns_dir };

	for (size_t i = 0; i < SK_ELEMENTSOF(dirs); i++)
		if (sk_mkdir_p(dirs[i], 0700) < 0)
			return sk_error_errno(err, "mkdir '%s'", dirs[i]);
	return 0;
}

static void daemon_release(struct sk_daemon *d)
{
	sk_routes_stop(d);
	for (size_t i = 0; i < d->n_apps; i++)
		sk_dapp_free(d->apps[i]);
	free(d->apps);
	free(d->orphan_exits);
	if (d->reconcile_defer)
		sk_loop_defer_cancel(d->reconcile_defer);
	if (d->checkpoint)
		sk_loop_timer_remove(d->checkpoint);
	if (d->keeper_io)
		sk_loop_io_remove(d->keeper_io);
	if (d->keeper_fd >= 0)
		close(d->keeper_fd);
	sk_api_server_free(d->api);
	sk_store_close(d->store);
	if (d->pid_path)
		unlink(d->pid_path);
	sk_loop_free(d->loop);
	free(d->runtime_root);
	free(d->bundles_dir);
	free(d->logs_dir);
	free(d->volumes_dir);
	free(d->images_dir);
	free(d->sock_path);
	free(d->pid_path);
	free(d->tag);
	free(d->netns_dir);
}

/* Six hex digits of the data dir: names of links this daemon makes carry it. */
static char *daemon_tag(const char *data_dir)
{
	_cleanup_free_ char *real = realpath(data_dir, NULL);
	const char *p = real ? real : data_dir;
	uint32_t h = 2166136261u;

	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return sk_asprintf("%06x", h & 0xffffffu);
}

static int daemon_setup(struct sk_daemon *d, struct sk_error **err)
{
	struct sk_store_opts so = { .manual_checkpoint = true };
	struct sk_api_server_config ac = { .max_output = 8 << 20 };
	_cleanup_free_ char *pid = NULL;
	int r;

	d->runtime_root = sk_path_join(d->cfg.run_dir, "runtime");
	d->bundles_dir = sk_path_join(d->cfg.run_dir, "bundles");
	d->sock_path = sk_path_join(d->cfg.run_dir, "skiffd.sock");
	d->pid_path = sk_path_join(d->cfg.run_dir, "skiffd.pid");
	d->logs_dir = sk_path_join(d->cfg.data_dir, "logs");
	d->volumes_dir = sk_path_join(d->cfg.data_dir, "volumes");
	d->images_dir = sk_strdup(d->cfg.data_dir);
	d->netns_dir = sk_path_join(d->cfg.run_dir, "netns");
	d->rt.root = d->runtime_root;
	d->started_ns = sk_wall_ns();
	r = dirs_make(d, err);
	if (r < 0)
		return r;
	d->tag = daemon_tag(d->cfg.data_dir);
	r = sk_loop_new(&d->loop, err);
	if (r < 0)
		return r;
	r = sk_store_open(d->cfg.data_dir, &so, &d->store, err);
	if (r < 0)
		return r;
	r = keeper_attach(d, err);
	if (r < 0) {
		sk_error_prefix(err, "keeper");
		return r;
	}
	r = sk_dapp_load_all(d, err);
	if (r < 0)
		return r;
	adopt_all(d);
	sk_dnet_janitor(d);
	nets_resume(d);
	r = sk_routes_start(d, err);
	if (r < 0)
		return r;
	d->api = sk_api_server_new(d->loop, &ac);
	sk_daemon_api_routes(d);
	r = sk_api_server_listen_unix(d->api, d->sock_path, err);
	if (r < 0)
		return r;
	if (d->cfg.metrics_addr) {
		_cleanup_free_ char *host = sk_strdup(d->cfg.metrics_addr);
		char *colon = strrchr(host, ':');
		int64_t port = 0;
		if (!colon || sk_parse_int64(colon + 1, &port) < 0 || port < 0 || port > 65535)
			return sk_error_set(err, 0, "--metrics-addr '%s': want HOST:PORT",
					    d->cfg.metrics_addr);
		*colon = '\0';
		r = sk_api_server_listen_tcp(d->api, host, (uint16_t)port, NULL, err);
		if (r < 0)
			return r;
	}
	r = sk_loop_signal_add(d->loop, SIGTERM, shutdown_cb, d, NULL, err);
	if (r >= 0)
		r = sk_loop_signal_add(d->loop, SIGINT, shutdown_cb, d, NULL, err);
	if (r < 0)
		return r;
	signal(SIGPIPE, SIG_IGN);
	d->checkpoint = sk_loop_timer_add(d->loop, 10ULL * 1000000000ULL, 10ULL * 1000000000ULL,
					  checkpoint_cb, d);
	pid = sk_asprintf("%d\n", (int)getpid());
	(void)sk_write_file_atomic(d->pid_path, pid, strlen(pid), 0644, false);
	return 0;
}

int sk_daemon_main(const struct sk_daemon_config *c, struct sk_error **err)
{
	struct sk_daemon d = { .cfg = *c, .keeper_fd = -1 };
	int r;

	if (!d.cfg.run_dir)
		d.cfg.run_dir = "/run/skiff";
	if (!d.cfg.data_dir)
		d.cfg.data_dir = "/var/lib/skiff";
	if (!d.cfg.cgroup_parent)
		d.cfg.cgroup_parent = "skiff";
	r = daemon_setup(&d, err);
	if (r >= 0) {
		sk_reconcile_queue(&d);
		sk_info("ready: %zu app(s), API on %s", d.n_apps, d.sock_path);
		sd_notify_ready();
		r = sk_loop_run(d.loop, err);
		if (d.shutting_down && sk_daemon_all_down(&d)) {
			for (size_t i = 0; i < d.n_apps; i++)
				sk_daemon_cgroup_prune(&d, d.apps[i]->name);
			sk_daemon_cgroup_prune(&d, NULL);
		}
	}
	daemon_release(&d);
	return r;
}
