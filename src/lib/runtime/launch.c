/* SPDX-License-Identifier: Apache-2.0 */
/*
 * launch.c - create and run: the runtime's side of starting a container.
 *
 * Sets up what lives outside the container (state directory, cgroup, exec
 * fifo, console socket), clones the container process with its new pid and
 * user namespaces, writes id maps, places it in the cgroup, runs the
 * runtime-namespace hooks, and records the state.  On any failure it undoes
 * all of that, so a failed create leaves nothing behind.  `run` without
 * --detach then waits for the process, forwarding signals and the terminal.
 */
#include "runtime/container.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"
#include "cgroup/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/terminal.h"

struct launch {
	const struct sk_runtime *rt;
	const struct sk_create_opts *o;
	const char *id;
	struct sk_spec *spec;
	char *spec_text;
	size_t spec_len;
	char *bundle, *rootfs;
	struct sk_state st;
	struct sk_cgroup *cg;	   /* created by us; destroyed on failure */
	struct sk_cgroup *cg_view; /* opened (not created) before clone, for the child */
	bool cg_early;		   /* a cgroup2 hierarchy: create before clone, clone into it */
	bool parent_enters;	   /* the child cannot join its cgroup itself (user ns) */
	char *fifo_path;	   /* NULL for run */
	bool made_dir;
	int sync_fd;	/* parent end */
	int console_fd; /* connected console socket, or our end of the run pty pair */
	int pty_master; /* run in the foreground with a terminal */
	pid_t pid;
};

static char *now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
	return sk_strdup(buf);
}

static void launch_cleanup(struct launch *l)
{
	if (l->pid > 0) {
		(void)kill(l->pid, SIGKILL);
		(void)waitpid(l->pid, NULL, 0);
		l->pid = 0;
	}
	if (l->cg) {
		_cleanup_error_ struct sk_error *e = NULL;
		if (sk_cgroup_destroy(l->cg, &e) < 0)
			sk_warn("cleanup: %s", e->msg);
	}
	if (l->made_dir)
		(void)sk_rm_rf(l->st.dir);
	l->made_dir = false;
}

static void launch_release(struct launch *l)
{
	sk_spec_free(l->spec);
	free(l->spec_text);
	free(l->bundle);
	free(l->rootfs);
	free(l->st.id);
	free(l->st.dir);
	free(l->st.created);
	free(l->st.cgroup_path);
	free(l->st.annotations_json);
	/* st.bundle/rootfs alias l->bundle/rootfs; cgroup_created aliases the cgroup's */
	sk_cgroup_free(l->cg);
	sk_cgroup_free(l->cg_view);
	free(l->fifo_path);
	if (l->sync_fd >= 0)
		close(l->sync_fd);
	if (l->console_fd >= 0)
		close(l->console_fd);
	if (l->pty_master >= 0)
		close(l->pty_master);
}

static int load_spec(struct launch *l, struct sk_error **err)
{
	char cwd[PATH_MAX];
	const char *b = l->o->bundle;
	int r;

	if (!b) {
		if (!getcwd(cwd, sizeof(cwd)))
			return sk_error_errno(err, "getcwd");
		b = cwd;
	}
	l->bundle = realpath(b, NULL);
	if (!l->bundle)
		return sk_error_errno(err, "bundle '%s'", b);
	_cleanup_free_ char *cfg = sk_path_join(l->bundle, "config.json");
	r = sk_read_file(cfg, &l->spec_text, &l->spec_len);
	if (r < 0)
		return sk_error_set(err, -r, "read '%s'", cfg);
	if ((r = sk_spec_parse(l->spec_text, l->spec_len, "config.json", &l->spec, err)) < 0)
		return r;
	if (!l->spec->process)
		return sk_error_set(err, 0, "config.json: process: required to create a container");
	if (!l->spec->linux_)
		return sk_error_set(err, 0, "config.json: linux: required on Linux");
	if (l->spec->process->terminal && !l->o->console_socket && l->o->detach)
		return sk_error_set(err, 0,
				    "cannot allocate tty if the runtime will detach without "
				    "setting console socket");
	_cleanup_free_ char *root = l->spec->root_path[0] == '/'
					? sk_strdup(l->spec->root_path)
					: sk_path_join(l->bundle, l->spec->root_path);
	l->rootfs = realpath(root, NULL);
	struct stat sb;
	if (!l->rootfs || stat(l->rootfs, &sb) < 0)
		return sk_error_errno(err, "config.json: root.path: '%s'", root);
	if (!S_ISDIR(sb.st_mode))
		return sk_error_set(err, ENOTDIR, "config.json: root.path: '%s'", root);
	return 0;
}

static int create_cgroup(struct launch *l, struct sk_error **err)
{
	int r = sk_cgroup_create(l->st.cgroup_path, &l->cg, err);

	if (r == 0)
		l->st.cgroup_created = (char **)sk_cgroup_created(l->cg);
	return r;
}

static int apply_limits(struct launch *l, struct sk_error **err)
{
	const struct sk_linux *lx = l->spec->linux_;

	return lx->has_resources ? sk_runtime_apply_resources(l->cg, &lx->resources, err) : 0;
}

static int setup_state_dir(struct launch *l, struct sk_error **err)
{
	int r;

	l->st.dir = sk_path_join(l->rt->root, l->id);
	/* The root usually exists: one mkdir, and mkdir -p only when it did not. */
	int q = mkdir(l->st.dir, 0711) < 0 ? -errno : 0;
	if (q == -ENOENT) {
		if ((r = sk_mkdir_p(l->rt->root, 0711)) < 0)
			return sk_error_set(err, -r, "create state root '%s'", l->rt->root);
		q = mkdir(l->st.dir, 0711) < 0 ? -errno : 0;
	}
	if (q == -EEXIST) {
		sk_error_set(err, 0, "container with id exists: %s", l->id);
		return -EEXIST;
	}
	if (q < 0)
		return sk_error_set(err, -q, "create state directory '%s'", l->st.dir);
	l->made_dir = true;
	return 0;
}

/* The spec the container was created from, and the exec fifo `start` opens. */
static int fill_state_dir(struct launch *l, struct sk_error **err)
{
	_cleanup_free_ char *cfg = sk_state_file(&l->st, "config.json");
	int r;

	/* 0622 whatever the umask: the container process may not be root. */
	if (l->fifo_path && (mkfifo(l->fifo_path, 0622) < 0 || chmod(l->fifo_path, 0622) < 0))
		return sk_error_errno(err, "create exec fifo '%s'", l->fifo_path);
	/* No temp file and rename: nothing reads config.json before state.json,
	 * which is written after it, and the directory is brand new. */
	_cleanup_close_ int fd = open(cfg, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return sk_error_errno(err, "create '%s'", cfg);
	if ((r = sk_write_all(fd, l->spec_text, l->spec_len)) < 0)
		return sk_error_set(err, -r, "write '%s'", cfg);
	return 0;
}

static int write_id_map(pid_t pid, const char *file, const struct sk_id_mapping *m, size_t n,
			struct sk_error **err)
{
	_cleanup_free_ char *buf = sk_strdup("");
	char path[64];

	for (size_t i = 0; i < n; i++) {
		char *b =
		    sk_asprintf("%s%u %u %u\n", buf, m[i].container_id, m[i].host_id, m[i].size);
		free(buf);
		buf = b;
	}
	if (!*buf)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int r = sk_write_file(path, buf, strlen(buf));
	return r < 0 ? sk_error_set(err, -r, "write %s", file) : 0;
}

static char *hook_state(struct launch *l, enum sk_status status)
{
	l->st.pid = l->pid;
	return sk_state_json(&l->st, status, false);
}

static int run_runtime_hooks(struct launch *l, struct sk_error **err)
{
	_cleanup_free_ char *doc = hook_state(l, SK_STATUS_CREATING);
	const struct sk_spec *s = l->spec;
	int r;

	r = sk_hooks_run(s->hooks[SK_HOOK_PRESTART], s->n_hooks[SK_HOOK_PRESTART], "prestart", doc,
			 err);
	if (r == 0)
		r = sk_hooks_run(s->hooks[SK_HOOK_CREATE_RUNTIME],
				 s->n_hooks[SK_HOOK_CREATE_RUNTIME], "createRuntime", doc, err);
	return r;
}

/* Reads the child's messages until it is ready; runs runtime hooks when asked. */
static int wait_ready(struct launch *l, struct sk_error **err)
{
	for (;;) {
		_cleanup_free_ char *msg = NULL;
		char m = 0;
		int r = sk_sync_recv(l->sync_fd, &m, &msg);

		if (r < 0)
			return sk_error_set(err, -r, "read from container init");
		if (r == 0) {
			int status = 0;
			(void)waitpid(l->pid, &status, 0);
			l->pid = 0;
			return sk_error_set(err, 0,
					    "container init exited before it was ready (status %d)",
					    status);
		}
		if (m == SK_SYNC_ERROR)
			return sk_error_set(err, 0, "%s", msg);
		if (m == SK_SYNC_READY)
			return 0;
		if (m != SK_SYNC_HOOKS)
			return sk_error_set(err, EPROTO,
					    "unexpected message '%c' from container init", m);
		if ((r = run_runtime_hooks(l, err)) < 0)
			return r;
		if ((r = sk_sync_send(l->sync_fd, SK_SYNC_HOOKS_DONE)) < 0)
			return sk_error_set(err, -r, "resume container init");
	}
}

static int clone_flags(const struct sk_spec *s, int *ret_later, bool *ret_userns, int *ret_pidns_fd,
		       struct sk_error **err)
{
	int flags = 0, later = 0;

	*ret_pidns_fd = -1;
	*ret_userns = false;
	for (size_t i = 0; i < s->linux_->n_namespaces; i++) {
		const struct sk_namespace *ns = &s->linux_->namespaces[i];
		int f = sk_ns_type_clone_flag(ns->type);
		if (ns->type == SK_NS_PID && ns->path) {
			*ret_pidns_fd = open(ns->path, O_RDONLY | O_CLOEXEC);
			if (*ret_pidns_fd < 0)
				return sk_error_errno(err, "open pid namespace '%s'", ns->path);
			continue;
		}
		if (ns->path)
			continue;
		if (ns->type == SK_NS_PID || ns->type == SK_NS_USER || ns->type == SK_NS_MNT ||
		    ns->type == SK_NS_UTS || ns->type == SK_NS_IPC || ns->type == SK_NS_NET)
			flags |= f;
		else
			later |= f; /* cgroup after joining the cgroup; time needs offsets first */
		if (ns->type == SK_NS_USER)
			*ret_userns = true;
	}
	const struct sk_namespace *user = sk_spec_namespace(s, SK_NS_USER);
	if (user && user->path && (flags & ~CLONE_NEWPID)) {
		/* New namespaces must be owned by the joined user namespace: unshare them later. */
		if (flags & CLONE_NEWPID)
			return sk_error_set(err, 0,
					    "joining a user namespace by path together with a "
					    "new pid namespace is not supported");
		later |= flags;
		flags = 0;
	}
	*ret_later = later;
	return flags;
}

/*
 * clone(2) with fork semantics.  With a cgroup2 hierarchy the child starts
 * in its cgroup there (CLONE_INTO_CGROUP): no migration, so none of the
 * RCU grace periods a migration can wait for.  v1 hierarchies are joined
 * by the child itself (init.c).
 */
static pid_t clone_into_cgroup(struct launch *l, unsigned long flags)
{
	const struct sk_cgroup_hierarchy *hs;
	size_t n = l->cg_early ? sk_cgroup_hierarchies(l->cg, &hs) : 0;
	_cleanup_close_ int cgfd = -1;

	for (size_t i = 0; i < n && cgfd < 0; i++)
		if (hs[i].v2)
			cgfd = open(hs[i].dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cgfd >= 0) {
		struct clone_args args = { .flags = flags | CLONE_INTO_CGROUP,
					   .exit_signal = SIGCHLD,
					   .cgroup = (uint64_t)cgfd };
		pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL))
			return pid;
		/* an old kernel: the parent moves the child instead */
		l->parent_enters = true;
	}
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

static int spawn(struct launch *l, struct sk_error **err)
{
	int sp[2];
	int later = 0;
	bool userns = false;
	_cleanup_close_ int pidns = -1;
	int flags = clone_flags(l->spec, &later, &userns, &pidns, err);

	if (flags < 0)
		return flags;
	_cleanup_close_ int own = pidns >= 0 ? open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC) : -1;
	if (pidns >= 0 && (own < 0 || setns(pidns, CLONE_NEWPID) < 0))
		return sk_error_errno(err, "join pid namespace");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return sk_error_errno(err, "socketpair");
	struct sk_init_args a = {
		.spec = l->spec,
		.id = l->id,
		.bundle = l->bundle,
		.rootfs = l->rootfs,
		.fifo_path = l->fifo_path,
		.sync_fd = sp[1],
		.console_fd = l->console_fd,
		.preserve_fds = l->o->preserve_fds,
		.no_pivot = l->o->no_pivot,
		.no_new_keyring = l->o->no_new_keyring,
		.new_userns = userns,
		.new_ns_flags = later,
		.cgroup = l->cg_view,
		.join_cgroup = l->parent_enters ? SK_JOIN_NONE
			       : l->cg_early	? SK_JOIN_AT_GO
						: SK_JOIN_AT_CGROUP,
	};
	/*
	 * The child starts in the bundle directory: relative mount sources
	 * resolve there, and a child in a user namespace needs no search
	 * permission on the bundle's parents to reach it.
	 */
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(l->bundle) < 0) {
		close(sp[0]);
		close(sp[1]);
		return sk_error_errno(err, "chdir to bundle '%s'", l->bundle);
	}
	fflush(NULL);
	pid_t pid = clone_into_cgroup(l, (unsigned long)flags);
	if (pid != 0 && fchdir(cwd) < 0)
		sk_warn("restore working directory: %m");
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return sk_error_errno(err, "clone container process");
	}
	if (pid == 0) {
		close(sp[0]);
		sk_init_main(&a);
	}
	if (own >= 0 && setns(own, CLONE_NEWPID) < 0)
		sk_warn("restore pid namespace: %m");
	close(sp[1]);
	l->sync_fd = sp[0];
	l->pid = pid;
	return 0;
}

static int write_pid_file(const char *path, pid_t pid, struct sk_error **err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	int r = sk_write_file_atomic(path, buf, (size_t)n, 0644, false);

	return r < 0 ? sk_error_set(err, -r, "write pid file '%s'", path) : 0;
}

static int record_state(struct launch *l, struct sk_error **err)
{

	l->st.pid = l->pid;
	l->st.pid_start = sk_proc_start_time(l->pid);
	l->st.created = now_rfc3339();
	l->st.systemd_cgroup = l->rt->systemd_cgroup;
	const struct sk_namespace *pidns = sk_spec_namespace(l->spec, SK_NS_PID);
	l->st.new_pidns = pidns && !pidns->path;
	if (l->spec->n_annotations) {
		json_t *o = json_object();
		for (size_t i = 0; i < l->spec->n_annotations; i++)
			json_object_set_new(o, l->spec->annotations[i].key,
					    json_string(l->spec->annotations[i].value));
		l->st.annotations_json = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
	return sk_state_save(&l->st, err);
}

static int configure_child(struct launch *l, struct sk_error **err)
{
	const struct sk_linux *lx = l->spec->linux_;
	int r;

	if (lx->n_uid_mappings || lx->n_gid_mappings) {
		if ((r = write_id_map(l->pid, "uid_map", lx->uid_mappings, lx->n_uid_mappings,
				      err)) < 0 ||
		    (r = write_id_map(l->pid, "gid_map", lx->gid_mappings, lx->n_gid_mappings,
				      err)) < 0)
			return r;
	}
	/*
	 * Moving another process into a cgroup takes the threadgroup rwsem for
	 * writing, which waits for an RCU grace period (milliseconds).  The
	 * child moves itself (cheap) unless a user namespace stops it.
	 */
	if (l->cg_early && l->parent_enters && (r = sk_cgroup_enter(l->cg, l->pid, err)) < 0)
		return r;
	/* A failed send means the child failed: wait_ready() reads why. */
	if (sk_sync_send_go(l->sync_fd, l->pid) < 0)
		return wait_ready(l, err);
	/* While the child makes its mounts: the cgroup (v1-only hosts), limits,
	 * state dir contents, state. */
	if (!l->cg_early && (r = create_cgroup(l, err)) < 0)
		return r;
	if (!l->cg_early && l->parent_enters && (r = sk_cgroup_enter(l->cg, l->pid, err)) < 0)
		return r;
	if ((r = apply_limits(l, err)) < 0 || (r = fill_state_dir(l, err)) < 0 ||
	    (r = record_state(l, err)) < 0)
		return r;
	(void)sk_sync_send(l->sync_fd, SK_SYNC_CGROUP);
	return wait_ready(l, err);
}

/* Everything up to a container waiting for start; on failure nothing is left. */
static int launch_create(struct launch *l, bool fifo, struct sk_error **err)
{
	const struct sk_linux *lx;
	int r;

	if ((r = sk_state_check_id(l->id, err)) < 0 || (r = load_spec(l, err)) < 0)
		return r;
	lx = l->spec->linux_;
	l->st.id = sk_strdup(l->id);
	l->st.bundle = l->bundle;
	l->st.rootfs = l->rootfs;
	if ((r = sk_cgroup_resolve_path(lx->cgroups_path, l->id, l->rt->systemd_cgroup,
					&l->st.cgroup_path, err)) < 0 ||
	    (r = sk_cgroup_open(l->st.cgroup_path, NULL, &l->cg_view, err)) < 0)
		return r;
	const struct sk_cgroup_hierarchy *hs;
	for (size_t i = 0, n = sk_cgroup_hierarchies(l->cg_view, &hs); i < n; i++)
		l->cg_early |= hs[i].v2;
	if ((r = setup_state_dir(l, err)) < 0)
		goto fail;
	if (l->cg_early && (r = create_cgroup(l, err)) < 0)
		goto fail;
	/* a process in a user namespace cannot write the host's cgroup files */
	l->parent_enters = sk_spec_namespace(l->spec, SK_NS_USER) != NULL;
	if (fifo)
		l->fifo_path = sk_state_file(&l->st, "exec.fifo");
	if (l->spec->process->terminal) {
		if (l->o->console_socket) {
			l->console_fd = sk_terminal_connect(l->o->console_socket, err);
		} else {
			int sp[2];
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
				r = sk_error_errno(err, "socketpair");
				goto fail;
			}
			l->console_fd = sp[1];
			l->pty_master = sp[0]; /* until the master arrives on it */
		}
		if (l->console_fd < 0) {
			r = l->console_fd;
			goto fail;
		}
	}
	if ((r = spawn(l, err)) < 0 || (r = configure_child(l, err)) < 0)
		goto fail;
	if (l->pty_master >= 0) {
		int m = sk_terminal_recv_fd(l->pty_master, err);
		if (m < 0) {
			r = m;
			goto fail;
		}
		close(l->pty_master);
		l->pty_master = m;
	}
	if (l->o->pid_file && (r = write_pid_file(l->o->pid_file, l->pid, err)) < 0)
		goto fail;
	return 0;
fail:
	launch_cleanup(l);
	return r;
}

int sk_container_create(const struct sk_runtime *rt, const char *id, const struct sk_create_opts *o,
			struct sk_error **err)
{
	struct launch l = {
		.rt = rt, .o = o, .id = id, .sync_fd = -1, .console_fd = -1, .pty_master = -1
	};
	struct sk_create_opts oo = *o;
	int r;

	oo.detach = true; /* create always leaves the container behind */
	l.o = &oo;
	r = launch_create(&l, true, err);
	l.pid = 0; /* the container outlives us */
	launch_release(&l);
	return r;
}

/* Waits for the container process to exec (its end of the sync socket closes). */
static int wait_exec(struct launch *l, struct sk_error **err)
{
	_cleanup_free_ char *msg = NULL;
	char m = 0;
	int r = sk_sync_send(l->sync_fd, SK_SYNC_START);

	if (r < 0)
		return sk_error_set(err, -r, "start container process");
	r = sk_sync_recv(l->sync_fd, &m, &msg);
	if (r < 0)
		return sk_error_set(err, -r, "wait for container process");
	if (r > 0 && m == SK_SYNC_ERROR)
		return sk_error_set(err, 0, "%s", msg);
	return 0;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* The caller's terminal size, onto the container's pty. */
static void copy_winsize(int master)
{
	struct winsize ws;

	if (master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(master, TIOCSWINSZ, &ws);
}

static void copy_fd(int from, int to, bool *open_)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*open_ = false;
		return;
	}
	if (sk_write_all(to, buf, (size_t)n) < 0)
		*open_ = false;
}

int sk_runtime_apply_resources(struct sk_cgroup *cg, const struct sk_resources *in,
			       struct sk_error **err)
{
	/* After the spec's rules, the devices every container may use (as runc adds). */
	static const struct sk_device_rule defaults[] = {
		{ true, 'c', -1, -1, "m" },    { true, 'b', -1, -1, "m" },
		{ true, 'c', 1, 3, "rwm" },    { true, 'c', 1, 8, "rwm" },
		{ true, 'c', 1, 7, "rwm" },    { true, 'c', 5, 0, "rwm" },
		{ true, 'c', 1, 5, "rwm" },    { true, 'c', 1, 9, "rwm" },
		{ true, 'c', 136, -1, "rwm" }, { true, 'c', 5, 2, "rwm" },
		{ true, 'c', 10, 200, "rwm" },
	};
	struct sk_resources r = *in;

	if (in->n_devices == 0)
		return sk_cgroup_apply(cg, &r, err);
	_cleanup_free_ struct sk_device_rule *rules =
	    sk_new0(struct sk_device_rule, in->n_devices + SK_ELEMENTSOF(defaults));
	memcpy(rules, in->devices, sizeof(*in->devices) * in->n_devices);
	memcpy(rules + in->n_devices, defaults, sizeof(defaults));
	r.devices = rules;
	r.n_devices = in->n_devices + SK_ELEMENTSOF(defaults);
	return sk_cgroup_apply(cg, &r, err);
}

void sk_runtime_block_signals(sigset_t *ret_old)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, ret_old);
}

/*
 * Waits for pid, forwarding every catchable signal to it and, when master
 * is a pty master, copying stdin to it and its output to stdout. The caller
 * blocked every signal (sk_runtime_block_signals) before pid could run, so a
 * signal sent as soon as the process shows life is forwarded, not lost; old
 * is restored on return.
 */
int sk_runtime_wait_forward(pid_t pid, int master, const sigset_t *old, int *ret_status)
{
	sigset_t all;
	struct termios saved;
	bool raw = false, in_open = master >= 0, out_open = master >= 0;
	int status = 0;

	sigfillset(&all);
	_cleanup_close_ int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0) {
		int r = -errno;
		sigprocmask(SIG_SETMASK, old, NULL);
		return r;
	}
	copy_winsize(master);
	if (master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
	/* The child may have exited before SIGCHLD was blocked: look once first. */
	bool done = waitpid(pid, &status, WNOHANG) == pid;
	while (!done) {
		struct pollfd p[3] = { { sfd, POLLIN, 0 },
				       { out_open ? master : -1, POLLIN, 0 },
				       { in_open ? STDIN_FILENO : -1, POLLIN, 0 } };
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			copy_fd(master, STDOUT_FILENO, &out_open);
		if (p[2].revents)
			copy_fd(STDIN_FILENO, master, &in_open);
		if (!(p[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGWINCH && master >= 0) {
			copy_winsize(master); /* the kernel signals the container's side */
			continue;
		}
		if (si.ssi_signo != SIGCHLD) {
			(void)kill(pid, (int)si.ssi_signo);
			continue;
		}
		/* Only our own child: a daemon calling this has others. */
		done = waitpid(pid, &status, WNOHANG) == pid;
	}
	while (out_open) { /* drain what the process wrote last */
		struct pollfd p = { master, POLLIN, 0 };
		if (poll(&p, 1, 0) <= 0)
			break;
		copy_fd(master, STDOUT_FILENO, &out_open);
	}
	if (raw)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, old, NULL);
	*ret_status = exit_code(status);
	return 0;
}

int sk_container_run(const struct sk_runtime *rt, const char *id, const struct sk_create_opts *o,
		     int *ret_status, struct sk_error **err)
{
	struct launch l = {
		.rt = rt, .o = o, .id = id, .sync_fd = -1, .console_fd = -1, .pty_master = -1
	};
	_cleanup_free_ char *doc = NULL, *stopped = NULL;
	_cleanup_error_ struct sk_error *derr = NULL;
	int r;

	sigset_t old;
	bool blocked = false;

	*ret_status = 0;
	if ((r = launch_create(&l, false, err)) < 0)
		goto out;
	if (!o->detach) {
		sk_runtime_block_signals(&old);
		blocked = true;
	}
	if ((r = wait_exec(&l, err)) < 0) {
		launch_cleanup(&l);
		goto out;
	}
	doc = hook_state(&l, SK_STATUS_RUNNING);
	r = sk_hooks_run(l.spec->hooks[SK_HOOK_POSTSTART], l.spec->n_hooks[SK_HOOK_POSTSTART],
			 "poststart", doc, err);
	if (r < 0) {
		launch_cleanup(&l);
		goto out;
	}
	if (o->detach) {
		l.pid = 0;
		goto out;
	}
	pid_t pid = l.pid;
	l.pid = 0;
	blocked = false;
	r = sk_runtime_wait_forward(pid, l.pty_master, &old, ret_status);
	if (r < 0)
		sk_error_set(err, -r, "wait for container");
	/* What `delete` does, from what we hold in memory. */
	if (sk_cgroup_destroy(l.cg, &derr) < 0)
		sk_warn("delete %s: %s", id, derr->msg);
	sk_error_free(TAKE_PTR(derr));
	if (l.spec->n_hooks[SK_HOOK_POSTSTOP]) {
		stopped = hook_state(&l, SK_STATUS_STOPPED);
		if (sk_hooks_run(l.spec->hooks[SK_HOOK_POSTSTOP], l.spec->n_hooks[SK_HOOK_POSTSTOP],
				 "poststop", stopped, &derr) < 0)
			sk_warn("%s", derr->msg);
	}
	sk_error_free(TAKE_PTR(derr));
	if (sk_state_remove(&l.st, &derr) < 0)
		sk_warn("%s", derr->msg);
	l.made_dir = false;
out:
	if (blocked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	launch_release(&l);
	return r;
}
