/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-container.c - the runtime library driven in-process, as skiffd
 * drives it: create/start/kill/delete/pause/resume/run/list/pids on a
 * busybox bundle with a private state root under /tmp and cgroups under
 * "/skiff-unit-<pid>/<id>" in every hierarchy the host mounts.
 *
 * The container process is a child of the test process (as it is of
 * skiffd); each test reaps what it started.  sk_container_run() without
 * detach blocks every signal and reaps any child while it waits, so it runs
 * in a forked child.  Failed creates are checked to leave nothing: no state
 * directory, no cgroup directory in any hierarchy, no process.  Needs root;
 * skipped otherwise.
 */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "sk-fork.h"

/* ---- fixture ---- */

static char base[64];	   /* "/skiff-unit-<pid>" */
static char **hierarchies; /* every mounted cgroup hierarchy, NULL-terminated */

struct fx {
	char dir[64]; /* /tmp/skiff-unit-ctr-XXXXXX */
	char *bundle; /* dir/bundle, rootfs in dir/bundle/rootfs */
	char *root;   /* dir/state: the runtime's state root */
	struct sk_runtime rt;
};

/* Mount points of cgroup and cgroup2 filesystems, from our mountinfo. */
static char **cgroup_mounts(void)
{
	_cleanup_free_ char *buf = NULL;
	char **v = sk_new0(char *, 1);

	if (sk_read_file("/proc/self/mountinfo", &buf, NULL) < 0)
		return v;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char mp[4096], type[64];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(dash + 3, "%63s", type) != 1)
			continue;
		if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2"))
			sk_strv_push(&v, mp);
	}
	return v;
}

static bool possible(void)
{
	enum sk_cgroup_mode mode;

	return geteuid() == 0 && access("/bin/busybox", X_OK) == 0 &&
	       sk_cgroup_mode(&mode, NULL) == 0;
}

#define NEED_ROOT()                                                                                \
	do {                                                                                       \
		if (!possible())                                                                   \
			skip();                                                                    \
	} while (0)

/*
 * The base cgroup is made here, in every hierarchy, so that no container
 * owns it (a container that created it would try to remove it while its
 * siblings still live there); group_teardown removes it.
 */
static int group_setup(void **state)
{
	snprintf(base, sizeof(base), "/skiff-unit-%d", (int)getpid());
	hierarchies = cgroup_mounts();
	if (!possible())
		return 0;
	for (size_t i = 0; hierarchies[i]; i++) {
		_cleanup_free_ char *d = sk_asprintf("%s%s", hierarchies[i], base);
		if (mkdir(d, 0755) < 0 && errno != EEXIST)
			return -1;
		/* v1 cpuset: a new cgroup starts with no cpus or mems; inherit the root's
     */
		static const char *const inherit[] = { "cpuset.cpus", "cpuset.mems" };
		for (size_t j = 0; j < SK_ELEMENTSOF(inherit); j++) {
			_cleanup_free_ char *from = sk_path_join(hierarchies[i], inherit[j]);
			_cleanup_free_ char *to = sk_path_join(d, inherit[j]);
			_cleanup_free_ char *v = NULL;
			if (access(to, F_OK) == 0 && sk_read_file(from, &v, NULL) == 0 &&
			    sk_write_file(to, v, strlen(v)) < 0)
				return -1;
		}
	}
	return 0;
}

static int group_teardown(void **state)
{
	int left = 0;

	for (size_t i = 0; hierarchies && hierarchies[i]; i++) {
		_cleanup_free_ char *d = sk_asprintf("%s%s", hierarchies[i], base);
		if (rmdir(d) < 0 && errno != ENOENT) {
			fprintf(stderr, "test-container: cannot remove %s: %s\n", d,
				strerror(errno));
			left++;
		}
	}
	sk_strv_free(hierarchies);
	return left ? -1 : 0;
}

static void mkdir_ok(const char *path)
{
	if (sk_mkdir_p(path, 0755) < 0 || (mkdir(path, 0755) < 0 && errno != EEXIST))
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

/* A busybox rootfs: bin/busybox and a link per applet the tests use. */
static void make_rootfs(const char *rootfs)
{
	static const char *const applets[] = { "sh", "sleep", "echo", "cat", "true", "false" };
	static const char *const dirs[] = { "bin", "proc", "dev", "tmp", "etc" };
	_cleanup_free_ char *bb = NULL;
	size_t len = 0;

	for (size_t i = 0; i < SK_ELEMENTSOF(dirs); i++) {
		_cleanup_free_ char *d = sk_path_join(rootfs, dirs[i]);
		mkdir_ok(d);
	}
	assert_int_equal(sk_read_file("/bin/busybox", &bb, &len), 0);
	_cleanup_free_ char *dst = sk_path_join(rootfs, "bin/busybox");
	assert_int_equal(sk_write_file_atomic(dst, bb, len, 0755, false), 0);
	for (size_t i = 0; i < SK_ELEMENTSOF(applets); i++) {
		_cleanup_free_ char *l = sk_asprintf("%s/bin/%s", rootfs, applets[i]);
		assert_int_equal(symlink("busybox", l), 0);
	}
}

static int setup(void **state)
{
	struct fx *f = sk_new0(struct fx, 1);

	*state = f;
	if (!possible())
		return 0;
	snprintf(f->dir, sizeof(f->dir), "/tmp/skiff-unit-ctr-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->bundle = sk_path_join(f->dir, "bundle");
	f->root = sk_path_join(f->dir, "state");
	f->rt.root = f->root;
	_cleanup_free_ char *rootfs = sk_path_join(f->bundle, "rootfs");
	mkdir_ok(rootfs);
	make_rootfs(rootfs);
	return 0;
}

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Paths under the base cgroup, in any hierarchy, that still exist. */
static char *cgroups_left(void)
{
	char *out = sk_strdup("");

	for (size_t i = 0; hierarchies && hierarchies[i]; i++) {
		_cleanup_free_ char *d = sk_asprintf("%s%s", hierarchies[i], base);
		DIR *dir = opendir(d);
		if (!dir)
			continue;
		for (struct dirent *de; (de = readdir(dir));) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			char *n = sk_asprintf("%s%s/%s\n", out, d, de->d_name);
			free(out);
			out = n;
		}
		closedir(dir);
	}
	return out;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int ret = 0;

	if (f->root) {
		char **ids = NULL;
		if (sk_container_list(&f->rt, &ids, NULL) == 0)
			for (size_t i = 0; ids[i]; i++)
				(void)sk_container_delete(&f->rt, ids[i], true, NULL);
		sk_strv_free(ids);
		reap_all();
		_cleanup_free_ char *left = cgroups_left();
		if (*left) {
			fprintf(stderr, "test-container: cgroups left behind:\n%s", left);
			ret = -1;
		}
		(void)sk_rm_rf(f->dir);
	}
	free(f->bundle);
	free(f->root);
	free(f);
	return ret;
}

/* Writes config.json for `args` (a JSON array body, single quotes). */
static void write_config_extra(struct fx *f, const char *id, const char *args, const char *extra)
{
	_cleanup_free_ char *json =
	    sk_asprintf("{'ociVersion':'1.2.0',"
			"'process':{'args':[%s],'cwd':'/','env':['PATH=/"
			"bin'],'user':{'uid':0,'gid':0}},"
			"'root':{'path':'rootfs'},'hostname':'unit',"
			"'mounts':[{'destination':'/proc','type':'proc','source':'proc'},"
			"{'destination':'/"
			"dev','type':'tmpfs','source':'tmpfs','options':['nosuid','mode=755']}],"
			"'annotations':{'org.skiff.test':'yes'},"
			"'linux':{'cgroupsPath':'%s/%s',"
			"'namespaces':[{'type':'pid'},{'type':'mount'},{'type':'ipc'},{'type':'"
			"uts'},"
			"{'type':'network'}]%s}}",
			args, base, id, extra ? extra : "");
	for (char *p = json; *p; p++)
		if (*p == '\'')
			*p = '"';
	_cleanup_free_ char *path = sk_path_join(f->bundle, "config.json");
	assert_int_equal(sk_write_file_atomic(path, json, strlen(json), 0644, false), 0);
}

static void write_config(struct fx *f, const char *id, const char *args)
{
	write_config_extra(f, id, args, NULL);
}

static struct sk_create_opts opts_for(struct fx *f)
{
	return (struct sk_create_opts){ .bundle = f->bundle };
}

static void create_ok(struct fx *f, const char *id)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_create_opts o = opts_for(f);

	if (sk_container_create(&f->rt, id, &o, &err) < 0)
		fail_msg("create %s: %s", id, err->msg);
	assert_null(err);
}

static struct sk_state *load_ok(struct fx *f, const char *id)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_state *st = NULL;

	if (sk_state_load(f->root, id, &st, &err) < 0)
		fail_msg("load %s: %s", id, err->msg);
	return st;
}

static enum sk_status status_of(struct fx *f, const char *id)
{
	_cleanup_(sk_state_freep) struct sk_state *st = load_ok(f, id);
	return sk_state_status(st);
}

/* Waits up to 5 s for the container to reach `want`. */
static enum sk_status wait_status(struct fx *f, const char *id, enum sk_status want)
{
	enum sk_status s = status_of(f, id);

	for (int i = 0; i < 500 && s != want; i++) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
		s = status_of(f, id);
	}
	return s;
}

/* How many of the container's cgroup directories exist, over all hierarchies.
 */
static size_t cgroup_dirs(const char *id)
{
	size_t n = 0;

	for (size_t i = 0; hierarchies[i]; i++) {
		_cleanup_free_ char *d = sk_asprintf("%s%s/%s", hierarchies[i], base, id);
		struct stat sb;
		if (stat(d, &sb) == 0)
			n++;
	}
	return n;
}

static bool state_dir_exists(struct fx *f, const char *id)
{
	_cleanup_free_ char *d = sk_path_join(f->root, id);
	return access(d, F_OK) == 0;
}

static void assert_error(int r, struct sk_error *err, int want_r, const char *want_msg)
{
	if (r != want_r || !err || strcmp(err->msg, want_msg) != 0)
		fail_msg("got %d '%s', want %d '%s'", r, err ? err->msg : "(none)", want_r,
			 want_msg);
}

/* Whether the test process has any child left (all reaped: ECHILD). */
static bool have_children(void)
{
	siginfo_t si = { 0 };
	int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);

	return r == 0;
}

static char *comm_of(pid_t pid)
{
	char path[64];
	char *s = NULL;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (sk_read_file(path, &s, NULL) < 0)
		return sk_strdup("");
	s[strcspn(s, "\n")] = '\0';
	return s;
}

/* The process's comm once it is `want` (it execs after the start returned), or after 5 s. */
static char *comm_when(pid_t pid, const char *want)
{
	char *s = comm_of(pid);

	for (int i = 0; i < 500 && strcmp(s, want) != 0; i++) {
		free(s);
		usleep(10000);
		s = comm_of(pid);
	}
	return s;
}

/* ---- the lifecycle ---- */

static void test_lifecycle(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	int r;

	NEED_ROOT();
	write_config(f, "life", "'sleep','300'");
	create_ok(f, "life");

	/* created: a live process waiting on the fifo, in its cgroup everywhere */
	_cleanup_(sk_state_freep) struct sk_state *st = load_ok(f, "life");
	assert_true(st->pid > 0);
	assert_true(st->pid_start == sk_proc_start_time(st->pid));
	assert_int_equal(sk_state_status(st), SK_STATUS_CREATED);
	_cleanup_free_ char *cgpath = sk_asprintf("%s/life", base);
	assert_string_equal(st->cgroup_path, cgpath);
	assert_true(st->new_pidns);
	_cleanup_free_ char *bundle_real = realpath(f->bundle, NULL);
	assert_string_equal(st->bundle, bundle_real);
	assert_string_equal(st->annotations_json, "{\"org.skiff.test\":\"yes\"}");
	assert_int_equal(cgroup_dirs("life"), sk_strv_length(hierarchies));
	_cleanup_free_ char *fifo = sk_state_file(st, "exec.fifo");
	assert_int_equal(access(fifo, F_OK), 0);
	/* the state dir keeps the spec byte for byte */
	_cleanup_free_ char *a = NULL, *b = NULL;
	_cleanup_free_ char *cfg = sk_state_file(st, "config.json");
	_cleanup_free_ char *orig = sk_path_join(f->bundle, "config.json");
	assert_int_equal(sk_read_file(cfg, &a, NULL), 0);
	assert_int_equal(sk_read_file(orig, &b, NULL), 0);
	assert_string_equal(a, b);

	pid_t *pids = NULL;
	size_t n = 0;
	if (sk_container_pids(&f->rt, "life", &pids, &n, &err) < 0)
		fail_msg("pids: %s", err->msg);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], st->pid);
	free(pids);

	/* start: the process execs, the fifo goes */
	if (sk_container_start(&f->rt, "life", &err) < 0)
		fail_msg("start: %s", err->msg);
	assert_int_equal(status_of(f, "life"), SK_STATUS_RUNNING);
	assert_int_equal(access(fifo, F_OK), -1);
	_cleanup_free_ char *comm = comm_when(st->pid, "sleep");
	assert_string_equal(comm, "sleep");

	/* a second start, a delete without force: refused, nothing changes */
	r = sk_container_start(&f->rt, "life", &err);
	assert_error(r, err, -EINVAL, "cannot start an already running container");
	sk_error_free(err);
	err = NULL;
	r = sk_container_delete(&f->rt, "life", false, &err);
	assert_error(r, err, -EINVAL, "cannot delete container life that is not stopped: running");
	sk_error_free(err);
	err = NULL;
	assert_int_equal(status_of(f, "life"), SK_STATUS_RUNNING);

	/* pause and resume through the freezer */
	if (sk_container_pause(&f->rt, "life", &err) < 0)
		fail_msg("pause: %s", err->msg);
	assert_int_equal(status_of(f, "life"), SK_STATUS_PAUSED);
	r = sk_container_pause(&f->rt, "life", &err);
	assert_error(r, err, -EINVAL, "container not running");
	sk_error_free(err);
	err = NULL;
	if (sk_container_resume(&f->rt, "life", &err) < 0)
		fail_msg("resume: %s", err->msg);
	assert_int_equal(status_of(f, "life"), SK_STATUS_RUNNING);
	r = sk_container_resume(&f->rt, "life", &err);
	assert_error(r, err, -EINVAL, "container not paused");
	sk_error_free(err);
	err = NULL;

	/* kill: stopped; a second kill is refused */
	if (sk_container_kill(&f->rt, "life", SIGKILL, false, &err) < 0)
		fail_msg("kill: %s", err->msg);
	assert_int_equal(wait_status(f, "life", SK_STATUS_STOPPED), SK_STATUS_STOPPED);
	int wst = 0;
	assert_int_equal(waitpid(st->pid, &wst, 0), st->pid);
	assert_true(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);
	assert_int_equal(status_of(f, "life"), SK_STATUS_STOPPED);
	r = sk_container_kill(&f->rt, "life", SIGTERM, false, &err);
	assert_error(r, err, -EINVAL, "container not running");
	sk_error_free(err);
	err = NULL;
	r = sk_container_start(&f->rt, "life", &err);
	assert_error(r, err, -EINVAL, "cannot start a container that has stopped");
	sk_error_free(err);
	err = NULL;

	/* delete: state and cgroups gone */
	if (sk_container_delete(&f->rt, "life", false, &err) < 0)
		fail_msg("delete: %s", err->msg);
	assert_false(state_dir_exists(f, "life"));
	assert_int_equal(cgroup_dirs("life"), 0);
	struct sk_state *gone = NULL;
	r = sk_state_load(f->root, "life", &gone, &err);
	assert_error(r, err, -ENOENT, "container \"life\" does not exist");
	sk_error_free(err);
	err = NULL;
	/* delete --force of a missing container succeeds (runc) */
	assert_int_equal(sk_container_delete(&f->rt, "life", true, NULL), 0);
	assert_false(have_children());
}

/*
 * BUG (ops.c, sk_container_delete): without --force, deleting a missing
 * container returns -EINVAL (sk_error_move() returns the stored code, 0 ->
 * -EINVAL) instead of the -ENOENT that sk_state_load() returned and that
 * start/kill/pids return for the same message.
 */
static void test_delete_missing(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;

	NEED_ROOT();
	int r = sk_container_kill(&f->rt, "ghost", SIGTERM, false, &err);
	assert_error(r, err, -ENOENT, "container \"ghost\" does not exist");
	sk_error_free(err);
	err = NULL;
	r = sk_container_delete(&f->rt, "ghost", false, &err);
	assert_error(r, err, -ENOENT, "container \"ghost\" does not exist");
}

/* delete --force of a created (never started) container kills it. */
static void test_delete_force_created(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;

	NEED_ROOT();
	write_config(f, "forced", "'sleep','300'");
	create_ok(f, "forced");
	_cleanup_(sk_state_freep) struct sk_state *st = load_ok(f, "forced");
	if (sk_container_delete(&f->rt, "forced", true, &err) < 0)
		fail_msg("delete --force: %s", err->msg);
	assert_false(state_dir_exists(f, "forced"));
	assert_int_equal(cgroup_dirs("forced"), 0);
	assert_int_equal(waitpid(st->pid, NULL, 0), st->pid);
	assert_false(have_children());
}

/* kill --all reaches every process of the cgroup. */
static void test_kill_all(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;

	NEED_ROOT();
	write_config(f, "all", "'sh','-c','sleep 300 & sleep 301 & wait'");
	create_ok(f, "all");
	if (sk_container_start(&f->rt, "all", &err) < 0)
		fail_msg("start: %s", err->msg);
	pid_t *pids = NULL;
	size_t n = 0;
	for (int i = 0; i < 500 && n < 3; i++) {
		free(pids);
		pids = NULL;
		assert_int_equal(sk_container_pids(&f->rt, "all", &pids, &n, NULL), 0);
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(n, 3);
	for (size_t i = 1; i < n; i++)
		assert_true(pids[i - 1] < pids[i]);
	free(pids);
	if (sk_container_kill(&f->rt, "all", SIGKILL, true, &err) < 0)
		fail_msg("kill --all: %s", err->msg);
	assert_int_equal(wait_status(f, "all", SK_STATUS_STOPPED), SK_STATUS_STOPPED);
	assert_int_equal(sk_container_delete(&f->rt, "all", false, NULL), 0);
	reap_all();
	assert_int_equal(cgroup_dirs("all"), 0);
}

/* ---- failed creates leave nothing ---- */

static void assert_nothing_left(struct fx *f, const char *id)
{
	assert_false(state_dir_exists(f, id));
	assert_int_equal(cgroup_dirs(id), 0);
	assert_false(have_children());
	char **ids = NULL;
	assert_int_equal(sk_container_list(&f->rt, &ids, NULL), 0);
	for (size_t i = 0; ids[i]; i++)
		if (!strcmp(ids[i], id))
			fail_msg("%s is listed", id);
	sk_strv_free(ids);
}

static void test_create_exists(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_create_opts o = opts_for(f);

	NEED_ROOT();
	write_config(f, "dup", "'sleep','300'");
	create_ok(f, "dup");
	_cleanup_(sk_state_freep) struct sk_state *st = load_ok(f, "dup");
	int r = sk_container_create(&f->rt, "dup", &o, &err);
	assert_error(r, err, -EEXIST, "container with id exists: dup");
	/* the first one is untouched */
	assert_int_equal(status_of(f, "dup"), SK_STATUS_CREATED);
	assert_int_equal(cgroup_dirs("dup"), sk_strv_length(hierarchies));
	_cleanup_free_ char *fifo = sk_state_file(st, "exec.fifo");
	assert_int_equal(access(fifo, F_OK), 0);
	assert_int_equal(sk_container_delete(&f->rt, "dup", true, NULL), 0);
	assert_int_equal(waitpid(st->pid, NULL, 0), st->pid);
	assert_nothing_left(f, "dup");
}

static void test_create_bad_bundle(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_create_opts o = { .bundle = "/nonexistent/skiff-unit-bundle" };
	int r;

	NEED_ROOT();
	r = sk_container_create(&f->rt, "nob", &o, &err);
	_cleanup_free_ char *want =
	    sk_asprintf("bundle '/nonexistent/skiff-unit-bundle': %s", strerror(ENOENT));
	assert_error(r, err, -ENOENT, want);
	assert_nothing_left(f, "nob");
	sk_error_free(err);
	err = NULL;

	/* a bundle without config.json */
	o.bundle = f->dir;
	r = sk_container_create(&f->rt, "nocfg", &o, &err);
	_cleanup_free_ char *want2 =
	    sk_asprintf("read '%s/config.json': %s", f->dir, strerror(ENOENT));
	assert_error(r, err, -ENOENT, want2);
	assert_nothing_left(f, "nocfg");
	sk_error_free(err);
	err = NULL;

	/* an invalid id */
	o.bundle = f->bundle;
	write_config(f, "x", "'true'");
	r = sk_container_create(&f->rt, "a/b", &o, &err);
	assert_error(r, err, -EINVAL, "invalid container id 'a/b'");
	assert_nothing_left(f, "a");
}

static void test_create_missing_process(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_create_opts o = opts_for(f);

	NEED_ROOT();
	_cleanup_free_ char *json =
	    sk_asprintf("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},"
			"\"linux\":{\"cgroupsPath\":\"%s/"
			"noproc\",\"namespaces\":[{\"type\":\"mount\"}]}}",
			base);
	_cleanup_free_ char *path = sk_path_join(f->bundle, "config.json");
	assert_int_equal(sk_write_file_atomic(path, json, strlen(json), 0644, false), 0);
	int r = sk_container_create(&f->rt, "noproc", &o, &err);
	assert_error(r, err, -EINVAL, "config.json: process: required to create a container");
	assert_nothing_left(f, "noproc");
}

static void test_create_missing_rootfs(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_create_opts o = opts_for(f);

	NEED_ROOT();
	_cleanup_free_ char *rootfs = sk_path_join(f->bundle, "rootfs");
	_cleanup_free_ char *moved = sk_path_join(f->bundle, "rootfs.away");
	assert_int_equal(rename(rootfs, moved), 0);
	write_config(f, "noroot", "'true'");
	int r = sk_container_create(&f->rt, "noroot", &o, &err);
	assert_int_equal(rename(moved, rootfs), 0);
	assert_int_equal(r, -ENOENT);
	assert_true(strstr(err->msg, "config.json: root.path: ") != NULL);
	assert_true(strstr(err->msg, rootfs) != NULL);
	assert_nothing_left(f, "noroot");
}

/* The init fails after the cgroup, fifo and process exist: all of them go. */
static void test_create_args_not_found(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_create_opts o = opts_for(f);

	NEED_ROOT();
	write_config(f, "noexe", "'skiff-no-such-command','x'");
	int r = sk_container_create(&f->rt, "noexe", &o, &err);
	assert_true(r < 0);
	assert_non_null(err);
	if (!strstr(err->msg, "skiff-no-such-command"))
		fail_msg("error does not name the command: %s", err->msg);
	assert_nothing_left(f, "noexe");
	sk_error_free(err);
	err = NULL;

	/* an absolute path that is missing */
	write_config(f, "noexe2", "'/bin/skiff-missing'");
	r = sk_container_create(&f->rt, "noexe2", &o, &err);
	assert_true(r < 0);
	if (!strstr(err->msg, "/bin/skiff-missing"))
		fail_msg("error does not name the command: %s", err->msg);
	assert_nothing_left(f, "noexe2");
}

/* A mount the init cannot make: the error names it, and nothing is left. */
static void test_create_bad_mount(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_create_opts o = opts_for(f);

	NEED_ROOT();
	write_config_extra(f, "badmnt", "'true'", NULL);
	/* rewrite with a bind mount whose source is missing */
	_cleanup_free_ char *path = sk_path_join(f->bundle, "config.json");
	_cleanup_free_ char *text = NULL;
	assert_int_equal(sk_read_file(path, &text, NULL), 0);
	char *at = strstr(text, "\"mounts\":[");
	assert_non_null(at);
	at += strlen("\"mounts\":[");
	_cleanup_free_ char *patched =
	    sk_asprintf("%.*s{\"destination\":\"/mnt/"
			"gone\",\"type\":\"bind\",\"source\":\"%s/missing\","
			"\"options\":[\"rbind\"]},%s",
			(int)(at - text), text, f->dir, at);
	assert_int_equal(sk_write_file_atomic(path, patched, strlen(patched), 0644, false), 0);
	int r = sk_container_create(&f->rt, "badmnt", &o, &err);
	assert_true(r < 0);
	_cleanup_free_ char *want =
	    sk_asprintf("mount '/mnt/gone': bind source '%s/missing'", f->dir);
	if (!err || !strstr(err->msg, want))
		fail_msg("got '%s', want '%s'", err ? err->msg : "(none)", want);
	assert_nothing_left(f, "badmnt");
}

/* ---- run ---- */

struct run_arg {
	struct fx *f;
	const char *id;
};

/* Runs the container in the foreground; its stdout is the report pipe. */
static int child_run(void *arg, int fd)
{
	struct run_arg *a = arg;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_create_opts o = opts_for(a->f);
	int status = -1;

	if (dup2(fd, STDOUT_FILENO) < 0)
		return 3;
	int r = sk_container_run(&a->f->rt, a->id, &o, &status, &err);
	if (r < 0)
		return sk_test_report(fd, r, err);
	dprintf(fd, "status=%d", status);
	return 0;
}

static void test_run(void **state)
{
	struct fx *f = *state;
	struct run_arg a = { f, "runner" };
	_cleanup_free_ char *out = NULL;

	NEED_ROOT();
	write_config(f, "runner", "'sh','-c','echo hello from $(hostname); exit 7'");
	assert_int_equal(sk_test_fork(child_run, &a, &out), 0);
	assert_string_equal(out, "hello from unit\nstatus=7");
	/* run deletes what it made */
	assert_nothing_left(f, "runner");

	/* run blocks signals while it waits; the container starts with none blocked */
	free(out);
	out = NULL;
	write_config(f, "runner",
		     "'sh','-c','while read k v; do [ $k = SigBlk: ] && echo $v; done "
		     "</proc/self/status; exit 0'");
	assert_int_equal(sk_test_fork(child_run, &a, &out), 0);
	assert_string_equal(out, "0000000000000000\nstatus=0");
	assert_nothing_left(f, "runner");

	/* a run that cannot start reports why and leaves nothing */
	free(out);
	out = NULL;
	write_config(f, "runner", "'skiff-no-such-command'");
	assert_int_equal(sk_test_fork(child_run, &a, &out), 1);
	assert_non_null(strstr(out, "skiff-no-such-command"));
	assert_nothing_left(f, "runner");
}

/* Starts child_run in the background; *ret_fd reads what it and the container
 * print. */
static pid_t start_run(struct run_arg *a, int *ret_fd)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		_exit(child_run(a, p[1]));
	}
	close(p[1]);
	*ret_fd = p[0];
	return pid;
}

/* Reads fd until `want` was seen (5 s at most); with want NULL, to EOF. */
static char *read_until(int fd, const char *want)
{
	char *buf = sk_malloc0(1);
	size_t len = 0;
	uint64_t end = sk_now_ns() + 5000000000ull;

	while ((!want || !strstr(buf, want)) && sk_now_ns() < end) {
		struct pollfd pf = { fd, POLLIN, 0 };
		char chunk[256];
		if (poll(&pf, 1, 100) <= 0)
			continue;
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		buf = sk_realloc(buf, len + (size_t)n + 1);
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
	}
	return buf;
}

/* run forwards signals to the container, and reports 128 + N for a killed one.
 */
static void test_run_signals(void **state)
{
	struct fx *f = *state;
	struct run_arg a = { f, "sig" };
	int fd, status = 0;

	NEED_ROOT();
	write_config(f, "sig",
		     "'sh','-c','trap \\\"echo got-term; exit 42\\\" TERM; echo "
		     "ready; sleep 300 & wait'");
	pid_t pid = start_run(&a, &fd);
	_cleanup_free_ char *ready = read_until(fd, "ready\n");
	if (!strstr(ready, "ready\n")) {
		kill(pid, SIGKILL);
		fail_msg("container did not start: '%s'", ready);
	}
	/* a signal to the runtime goes to the container */
	assert_int_equal(kill(pid, SIGTERM), 0);
	_cleanup_free_ char *rest = read_until(fd, NULL);
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_string_equal(rest, "got-term\nstatus=42");
	assert_nothing_left(f, "sig");

	/* killed from outside: 128 + SIGKILL */
	write_config(f, "sig", "'sh','-c','echo ready; exec sleep 300'");
	pid = start_run(&a, &fd);
	_cleanup_free_ char *ready2 = read_until(fd, "ready\n");
	_cleanup_error_ struct sk_error *err = NULL;
	int r = sk_container_kill(&f->rt, "sig", SIGKILL, false, &err);
	_cleanup_free_ char *rest2 = read_until(fd, NULL);
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (r < 0)
		fail_msg("kill: %s", err->msg);
	assert_string_equal(ready2, "ready\n");
	assert_string_equal(rest2, "status=137");
	assert_nothing_left(f, "sig");
}

static void test_run_detach(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_create_opts o = opts_for(f);
	int status = -1;

	NEED_ROOT();
	o.detach = true;
	write_config(f, "bg", "'sleep','300'");
	if (sk_container_run(&f->rt, "bg", &o, &status, &err) < 0)
		fail_msg("run --detach: %s", err->msg);
	assert_int_equal(status, 0);
	_cleanup_(sk_state_freep) struct sk_state *st = load_ok(f, "bg");
	/* no fifo: running at once */
	assert_int_equal(sk_state_status(st), SK_STATUS_RUNNING);
	_cleanup_free_ char *comm = comm_when(st->pid, "sleep");
	assert_string_equal(comm, "sleep");
	assert_int_equal(sk_container_kill(&f->rt, "bg", SIGKILL, false, NULL), 0);
	assert_int_equal(waitpid(st->pid, NULL, 0), st->pid);
	assert_int_equal(sk_container_delete(&f->rt, "bg", false, NULL), 0);
	assert_nothing_left(f, "bg");
}

/* ---- list ---- */

static void test_list(void **state)
{
	struct fx *f = *state;
	char **ids = NULL;

	NEED_ROOT();
	/* no root yet: an empty list */
	assert_int_equal(sk_container_list(&f->rt, &ids, NULL), 0);
	assert_null(ids[0]);
	sk_strv_free(ids);

	write_config(f, "b-2", "'sleep','300'");
	create_ok(f, "b-2");
	write_config(f, "a-1", "'sleep','300'");
	create_ok(f, "a-1");
	/* not containers: a dir without state.json, a hidden dir, an invalid name */
	static const char *const junk[] = { "zz-half", ".hidden", "bad name" };
	for (size_t i = 0; i < SK_ELEMENTSOF(junk); i++) {
		_cleanup_free_ char *d = sk_path_join(f->root, junk[i]);
		assert_int_equal(mkdir(d, 0700), 0);
		_cleanup_free_ char *s = sk_path_join(d, "state.json");
		if (i > 0)
			assert_int_equal(sk_write_file_atomic(s, "{}", 2, 0600, false), 0);
	}
	assert_int_equal(sk_container_list(&f->rt, &ids, NULL), 0);
	assert_int_equal(sk_strv_length(ids), 2);
	assert_string_equal(ids[0], "a-1");
	assert_string_equal(ids[1], "b-2");
	sk_strv_free(ids);

	/* both containers have their own process and cgroup */
	pid_t *p1 = NULL, *p2 = NULL;
	size_t n1 = 0, n2 = 0;
	assert_int_equal(sk_container_pids(&f->rt, "a-1", &p1, &n1, NULL), 0);
	assert_int_equal(sk_container_pids(&f->rt, "b-2", &p2, &n2, NULL), 0);
	assert_int_equal(n1, 1);
	assert_int_equal(n2, 1);
	assert_int_not_equal(p1[0], p2[0]);
	free(p1);
	free(p2);

	/* pids of a missing container */
	_cleanup_error_ struct sk_error *err = NULL;
	pid_t *p3 = NULL;
	size_t n3 = 0;
	int r = sk_container_pids(&f->rt, "nope", &p3, &n3, &err);
	assert_error(r, err, -ENOENT, "container \"nope\" does not exist");

	for (size_t i = 0; i < SK_ELEMENTSOF(junk); i++) {
		_cleanup_free_ char *d = sk_path_join(f->root, junk[i]);
		(void)sk_rm_rf(d);
	}
	assert_int_equal(sk_container_delete(&f->rt, "a-1", true, NULL), 0);
	assert_int_equal(sk_container_delete(&f->rt, "b-2", true, NULL), 0);
	reap_all();
	assert_nothing_left(f, "a-1");
	assert_nothing_left(f, "b-2");
	assert_int_equal(sk_container_list(&f->rt, &ids, NULL), 0);
	assert_null(ids[0]);
	sk_strv_free(ids);
}

static void test_list_unreadable_root(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	char **ids = NULL;

	NEED_ROOT();
	/* the root is a file */
	assert_int_equal(sk_write_file_atomic(f->root, "", 0, 0600, false), 0);
	int r = sk_container_list(&f->rt, &ids, &err);
	_cleanup_free_ char *want =
	    sk_asprintf("open state root '%s': %s", f->root, strerror(ENOTDIR));
	assert_error(r, err, -ENOTDIR, want);
	assert_null(ids);
	assert_int_equal(unlink(f->root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_force_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_bad_bundle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_missing_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_missing_rootfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_args_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_bad_mount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_detach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_unreadable_root, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
