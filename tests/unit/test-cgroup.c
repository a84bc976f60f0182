/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-cgroup.c - path resolution, conversions, and real cgroups on this kernel.
 *
 * The pure tests need nothing.  The kernel tests need root: they create
 * cgroups under "/skiff-unit-<pid>" in every hierarchy the host mounts, move
 * forked children in, apply limits and read them back from the cgroup files,
 * freeze, kill and destroy, and check that no directory is left behind.  They
 * run on the hybrid build host (v1 backend) and in a QEMU guest with pure
 * cgroup v2 (v2 backend and the eBPF device filter): scripts/qemu-cgroup2.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "base/util.h"
#include "cgroup/cgroup-internal.h"
#include "cgroup/cgroup.h"

/* "/skiff-unit-<pid>": every cgroup these tests make lives below it. */
static char base[64];
/* The v2 root's cgroup.subtree_control before the tests, to restore after. */
static char *saved_subtree;

/* ---- helpers ---- */

static bool kernel_tests_possible(void)
{
	enum sk_cgroup_mode mode;
	_cleanup_error_ struct sk_error *err = NULL;

	return geteuid() == 0 && sk_cgroup_mode(&mode, &err) == 0;
}

#define NEED_KERNEL()                                                                              \
	do {                                                                                       \
		if (!kernel_tests_possible())                                                      \
			skip();                                                                    \
	} while (0)

static char *sub(const char *name)
{
	return sk_asprintf("%s/%s", base, name);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct sk_cgroup *create_ok(const char *name)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *path = sub(name);
	struct sk_cgroup *cg = NULL;
	int r = sk_cgroup_create(path, &cg, &err);

	if (r < 0)
		fail_msg("create %s: %s", path, err->msg);
	return cg;
}

static void destroy_ok(struct sk_cgroup *cg)
{
	_cleanup_error_ struct sk_error *err = NULL;
	const struct sk_cgroup_hierarchy *h;
	size_t n = sk_cgroup_hierarchies(cg, &h);

	if (sk_cgroup_destroy(cg, &err) < 0)
		fail_msg("destroy: %s", err->msg);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(access(h[i].dir, F_OK), -1);
	sk_cgroup_free(cg);
}

static void apply_ok(struct sk_cgroup *cg, const struct sk_resources *r)
{
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_cgroup_apply(cg, r, &err) < 0)
		fail_msg("apply: %s", err->msg);
}

/*
 * Forks a child that waits for one byte on a pipe, then runs fn and exits
 * with its result.  *ret_go is the write end: write a byte to start it.
 */
static pid_t spawn(int (*fn)(void *), void *arg, int *ret_go)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(100);
		_exit(fn(arg));
	}
	close(p[0]);
	*ret_go = p[1];
	return pid;
}

static void go(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static int sleep_forever(void *arg)
{
	for (;;)
		pause();
	return 0;
}

static int spin_counter(void *arg)
{
	volatile uint64_t *c = arg;

	for (;;)
		(*c)++;
	return 0;
}

static void enter_ok(struct sk_cgroup *cg, pid_t pid)
{
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_cgroup_enter(cg, pid, &err) < 0)
		fail_msg("enter: %s", err->msg);
}

/* Waits for pid and returns its wait status. */
static int reap(pid_t pid)
{
	int status = 0;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/*
 * The trimmed contents of `file` in the hierarchy that holds `ctrl` (v1
 * name), or of `file_v2` when v2 holds it; NULL when neither has the file.
 */
static char *read_ctrl(struct sk_cgroup *cg, const char *ctrl, const char *ctrl_v2,
		       const char *file, const char *file_v2, bool *ret_v2)
{
	const struct sk_cgroup_hierarchy *h = sk_cgroup_find_v1(cg, ctrl);
	char *s = NULL;

	*ret_v2 = false;
	if (!h) {
		h = sk_cgroup_find_v2(cg);
		if (!h || !sk_cgroup_hierarchy_has(h, ctrl_v2))
			return NULL;
		*ret_v2 = true;
		file = file_v2;
	}
	if (sk_cgroup_read(h->dir, file, &s) < 0)
		return NULL;
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static void assert_ctrl(struct sk_cgroup *cg, const char *ctrl, const char *ctrl_v2,
			const char *file, const char *want, const char *file_v2,
			const char *want_v2)
{
	bool v2;
	_cleanup_free_ char *s = read_ctrl(cg, ctrl, ctrl_v2, file, file_v2, &v2);

	if (!s)
		fail_msg("no %s/%s file to read back", ctrl, v2 ? file_v2 : file);
	assert_string_equal(s, v2 ? want_v2 : want);
}

/* ---- pure functions ---- */

static void test_resolve_default(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *p = NULL;

	assert_int_equal(sk_cgroup_resolve_path(NULL, "abc", false, &p, &err), 0);
	assert_string_equal(p, "/skiff/abc");
	free(TAKE_PTR(p));
	assert_int_equal(sk_cgroup_resolve_path("", "abc", true, &p, &err), 0);
	assert_string_equal(p, "/skiff/abc");
	assert_int_equal(sk_cgroup_resolve_path(NULL, "a/b", false, &p, &err), -EINVAL);
	assert_non_null(err);
}

static void test_resolve_absolute(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *p = NULL;

	assert_int_equal(sk_cgroup_resolve_path("/a//b/./c/", "id", false, &p, &err), 0);
	assert_string_equal(p, "/a/b/c");
	free(TAKE_PTR(p));
	/* an absolute path is cgroupfs even with the systemd driver */
	assert_int_equal(sk_cgroup_resolve_path("/x/y", "id", true, &p, &err), 0);
	assert_string_equal(p, "/x/y");
	assert_int_equal(sk_cgroup_resolve_path("/a/../../etc", "id", false, &p, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "'..'"));
}

static void test_resolve_relative(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *p = NULL;
	enum sk_cgroup_mode mode;

	if (sk_cgroup_mode(&mode, &err) < 0)
		skip();
	assert_int_equal(sk_cgroup_resolve_path("x/y", "id", false, &p, &err), 0);
	assert_true(p[0] == '/');
	assert_true(strlen(p) >= 4 && !strcmp(p + strlen(p) - 4, "/x/y"));
}

static void test_resolve_systemd(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "system.slice:docker:abc", "/system.slice/docker-abc.scope" },
		{ "a-b.slice:skiff:c1", "/a.slice/a-b.slice/skiff-c1.scope" },
		{ "-.slice:p:n", "/p-n.scope" },
		{ ":p:n", "/system.slice/p-n.scope" },
		{ "user.slice::n", "/user.slice/n.scope" },
		{ "a.slice:p:x-y.slice", "/a.slice/x-y.slice" },
	};
	static const char *const bad[] = { "nocolons",	 "a.slice:p",	   "a.slice:p:n:x", "a:p:n",
					   "a.slice:p:", "a--b.slice:p:n", "a.slice:p:n/x" };

	for (size_t i = 0; i < SK_ELEMENTSOF(ok); i++) {
		_cleanup_error_ struct sk_error *err = NULL;
		_cleanup_free_ char *p = NULL;
		if (sk_cgroup_resolve_path(ok[i].in, "id", true, &p, &err) < 0)
			fail_msg("%s: %s", ok[i].in, err->msg);
		assert_string_equal(p, ok[i].out);
	}
	for (size_t i = 0; i < SK_ELEMENTSOF(bad); i++) {
		_cleanup_error_ struct sk_error *err = NULL;
		_cleanup_free_ char *p = NULL;
		assert_int_equal(sk_cgroup_resolve_path(bad[i], "id", true, &p, &err), -EINVAL);
		assert_non_null(err);
		assert_null(p);
	}
}

static void test_expand_slice(void **state)
{
	_cleanup_free_ char *p = NULL;

	assert_int_equal(sk_cgroup_expand_slice("a-b-c.slice", &p), 0);
	assert_string_equal(p, "/a.slice/a-b.slice/a-b-c.slice");
	free(TAKE_PTR(p));
	assert_int_equal(sk_cgroup_expand_slice("machine.slice", &p), 0);
	assert_string_equal(p, "/machine.slice");
	free(TAKE_PTR(p));
	assert_int_equal(sk_cgroup_expand_slice("-.slice", &p), 0);
	assert_string_equal(p, "/");
	assert_int_equal(sk_cgroup_expand_slice(".slice", &p), -EINVAL);
	assert_int_equal(sk_cgroup_expand_slice("foo", &p), -EINVAL);
	assert_int_equal(sk_cgroup_expand_slice("a--b.slice", &p), -EINVAL);
	assert_int_equal(sk_cgroup_expand_slice("-a.slice", &p), -EINVAL);
	assert_int_equal(sk_cgroup_expand_slice("a-.slice", &p), -EINVAL);
	assert_int_equal(sk_cgroup_expand_slice("a/b.slice", &p), -EINVAL);
}

static void test_shares_to_weight(void **state)
{
	assert_int_equal(sk_cgroup_shares_to_weight(0), 0);
	assert_int_equal(sk_cgroup_shares_to_weight(2), 1);
	assert_int_equal(sk_cgroup_shares_to_weight(512), 20);
	assert_int_equal(sk_cgroup_shares_to_weight(1024), 39);
	assert_int_equal(sk_cgroup_shares_to_weight(262144), 10000);
	assert_int_equal(sk_cgroup_shares_to_weight(1u << 30), 10000); /* clamped */
	assert_int_equal(sk_cgroup_blkio_to_io_weight(10), 1);
	assert_int_equal(sk_cgroup_blkio_to_io_weight(500), 4950);
	assert_int_equal(sk_cgroup_blkio_to_io_weight(1000), 10000);
}

static void test_swap_to_v2(void **state)
{
	int64_t v = 99;

	assert_int_equal(sk_cgroup_swap_to_v2(0, -1, &v), 0);
	assert_int_equal(v, -1); /* memory unlimited, swap unset: both unlimited */
	assert_int_equal(sk_cgroup_swap_to_v2(-1, 100, &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(sk_cgroup_swap_to_v2(0, 100, &v), 0);
	assert_int_equal(v, 0); /* unset */
	assert_int_equal(sk_cgroup_swap_to_v2(300, 100, &v), 0);
	assert_int_equal(v, 200);
	assert_int_equal(sk_cgroup_swap_to_v2(100, 100, &v), 0);
	assert_int_equal(v, 0); /* no swap at all */
	assert_int_equal(sk_cgroup_swap_to_v2(50, 100, &v), -EINVAL);
	assert_int_equal(sk_cgroup_swap_to_v2(200, 0, &v), -EINVAL);
	assert_int_equal(sk_cgroup_swap_to_v2(200, -1, &v), -EINVAL);
}

static void test_layout_parse(void **state)
{
	static const char hybrid[] =
	    "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
	    "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
	    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup "
	    "rw,cpu,cpuacct\n"
	    "33 31 0:30 / /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,nosuid,memory\n"
	    "34 31 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
	    "rw,xattr,release_agent=/x,name=systemd\n"
	    "35 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
	    "36 1 0:29 / /mnt/again rw - cgroup cgroup rw,cpu,cpuacct\n"
	    "37 1 0:38 / /mnt/unified2 rw - cgroup2 cgroup2 rw\n";
	static const char v2only[] = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_cgroup_layout *l = NULL;

	assert_int_equal(sk_cgroup_layout_parse(hybrid, &l, &err), 0);
	assert_int_equal(l->mode, SK_CGROUP_HYBRID);
	assert_int_equal(l->n, 4); /* the bind mounts of known hierarchies are dropped */
	assert_string_equal(l->h[0].mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(l->h[0].controllers, "cpu,cpuacct");
	assert_true(sk_cgroup_hierarchy_has(&l->h[0], "cpuacct"));
	assert_false(sk_cgroup_hierarchy_has(&l->h[0], "cpuset"));
	assert_string_equal(l->h[1].mountpoint, "/sys/fs/cgroup/mem ory");
	assert_string_equal(l->h[1].controllers, "memory");
	assert_string_equal(l->h[2].controllers, "name=systemd");
	assert_true(l->h[3].v2);
	assert_string_equal(l->h[3].mountpoint, "/sys/fs/cgroup/unified");
	sk_cgroup_layout_free(l);
	assert_int_equal(sk_cgroup_layout_parse(v2only, &l, &err), 0);
	assert_int_equal(l->mode, SK_CGROUP_V2);
	assert_int_equal(l->n, 1);
	sk_cgroup_layout_free(l);
	l = NULL;
	assert_int_equal(sk_cgroup_layout_parse("22 1 0:21 / /proc rw - proc proc rw\n", &l, &err),
			 -ENOENT);
	assert_null(l);
	sk_error_free(TAKE_PTR(err));
	assert_int_equal(sk_cgroup_layout_parse("garbage\n\n1 2 3\n", &l, &err), -ENOENT);
}

static void test_mode(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	const struct sk_cgroup_hierarchy *h;
	enum sk_cgroup_mode mode;
	size_t n;

	if (sk_cgroup_mode(&mode, &err) < 0)
		skip();
	assert_int_equal(sk_cgroup_open("/skiff-unit-never-created", NULL, &cg, &err), 0);
	n = sk_cgroup_hierarchies(cg, &h);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		assert_true(h[i].mountpoint[0] == '/');
		assert_true(sk_str_has_prefix(h[i].dir, h[i].mountpoint));
		if (mode == SK_CGROUP_V2)
			assert_true(h[i].v2);
	}
	assert_null(sk_cgroup_created(cg)[0]);
	print_message("cgroup mode: %s, %zu hierarchies\n",
		      mode == SK_CGROUP_V2	 ? "v2"
		      : mode == SK_CGROUP_HYBRID ? "hybrid"
						 : "v1",
		      n);
}

/* ---- real cgroups ---- */

static void test_create_enter_destroy(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_free_ char *own = NULL;
	struct sk_cgroup *cg;
	const struct sk_cgroup_hierarchy *h;
	size_t n, n_pids = 0;
	int gofd, status;
	pid_t pid;

	NEED_KERNEL();
	cg = create_ok("c1");
	n = sk_cgroup_hierarchies(cg, &h);
	/* base and base/c1 were made in every hierarchy, outermost first */
	assert_int_equal(sk_strv_length(sk_cgroup_created(cg)), 2 * n);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		assert_int_equal(stat(h[i].dir, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	pid = spawn(sleep_forever, NULL, &gofd);
	enter_ok(cg, pid);
	go(gofd);
	assert_int_equal(sk_cgroup_pids(cg, &pids, &n_pids, &err), 0);
	assert_int_equal(n_pids, 1);
	assert_int_equal(pids[0], pid);
	/* the kernel agrees: the child's /proc/PID/cgroup names our path */
	_cleanup_free_ char *procfile = sk_asprintf("/proc/%d/cgroup", (int)pid);
	assert_int_equal(sk_read_file(procfile, &own, NULL), 0);
	assert_non_null(strstr(own, sk_cgroup_path(cg)));
	/* destroy kills what is left */
	destroy_ok(cg);
	status = reap(pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void test_apply_limits(void **state)
{
	struct sk_resources r;
	struct sk_cgroup *cg;
	bool v2;

	NEED_KERNEL();
	cg = create_ok("limits");
	memset(&r, 0, sizeof(r));
	r.memory.has_limit = true;
	r.memory.limit = 64 << 20;
	r.memory.has_reservation = true;
	r.memory.reservation = 32 << 20;
	r.cpu.has_shares = true;
	r.cpu.shares = 512;
	r.cpu.has_quota = r.cpu.has_period = true;
	r.cpu.quota = 50000;
	r.cpu.period = 100000;
	r.cpu.cpus = (char *)"0";
	r.cpu.mems = (char *)"0";
	r.pids.has_limit = true;
	r.pids.limit = 42;
	apply_ok(cg, &r);
	assert_ctrl(cg, "memory", "memory", "memory.limit_in_bytes", "67108864", "memory.max",
		    "67108864");
	assert_ctrl(cg, "memory", "memory", "memory.soft_limit_in_bytes", "33554432", "memory.low",
		    "33554432");
	assert_ctrl(cg, "cpu", "cpu", "cpu.shares", "512", "cpu.weight", "20");
	assert_ctrl(cg, "cpu", "cpu", "cpu.cfs_quota_us", "50000", "cpu.max", "50000 100000");
	assert_ctrl(cg, "cpu", "cpu", "cpu.cfs_period_us", "100000", "cpu.max", "50000 100000");
	assert_ctrl(cg, "cpuset", "cpuset", "cpuset.cpus", "0", "cpuset.cpus", "0");
	assert_ctrl(cg, "pids", "pids", "pids.max", "42", "pids.max", "42");

	/* update: only what is set changes; -1 lifts limits */
	memset(&r, 0, sizeof(r));
	r.memory.has_limit = true;
	r.memory.limit = -1;
	r.cpu.has_quota = true;
	r.cpu.quota = -1;
	r.pids.has_limit = true;
	r.pids.limit = 0;
	apply_ok(cg, &r);
	_cleanup_free_ char *mem =
	    read_ctrl(cg, "memory", "memory", "memory.limit_in_bytes", "memory.max", &v2);
	assert_non_null(mem);
	assert_true(v2 ? !strcmp(mem, "max") : strtoull(mem, NULL, 10) > (1ull << 62));
	assert_ctrl(cg, "cpu", "cpu", "cpu.cfs_quota_us", "-1", "cpu.max", "max 100000");
	assert_ctrl(cg, "cpu", "cpu", "cpu.shares", "512", "cpu.weight", "20");
	assert_ctrl(cg, "pids", "pids", "pids.max", "max", "pids.max", "max");
	destroy_ok(cg);
}

/* memory+swap, hugetlb and io: only where this kernel has the files. */
static void test_apply_optional(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_hugepage_limit huge = { .page_size = (char *)"2MB", .limit = 4 << 20 };
	struct sk_resources r;
	struct sk_cgroup *cg;
	bool v2;

	NEED_KERNEL();
	cg = create_ok("optional");
	memset(&r, 0, sizeof(r));
	r.memory.has_limit = r.memory.has_swap = true;
	r.memory.limit = 64 << 20;
	r.memory.swap = 96 << 20;
	_cleanup_free_ char *swapfile = read_ctrl(
	    cg, "memory", "memory", "memory.memsw.limit_in_bytes", "memory.swap.max", &v2);
	if (swapfile) {
		apply_ok(cg, &r);
		assert_ctrl(cg, "memory", "memory", "memory.memsw.limit_in_bytes", "100663296",
			    "memory.swap.max", "33554432");
		/* swap below memory is refused before anything is written on v2 */
		r.memory.swap = 32 << 20;
		assert_true(sk_cgroup_apply(cg, &r, &err) < 0);
		assert_non_null(err);
	} else {
		print_message("no swap accounting: memory+swap not tested\n");
	}
	memset(&r, 0, sizeof(r));
	r.hugepage_limits = &huge;
	r.n_hugepage_limits = 1;
	_cleanup_free_ char *hfile = read_ctrl(
	    cg, "hugetlb", "hugetlb", "hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max", &v2);
	if (hfile) {
		apply_ok(cg, &r);
		assert_ctrl(cg, "hugetlb", "hugetlb", "hugetlb.2MB.limit_in_bytes", "4194304",
			    "hugetlb.2MB.max", "4194304");
	} else {
		print_message("no hugetlb controller: hugepage limits not tested\n");
	}
	huge.page_size = (char *)"../x";
	sk_error_free(TAKE_PTR(err));
	assert_int_equal(sk_cgroup_apply(cg, &r, &err), -EINVAL);
	destroy_ok(cg);
}

static void test_unified(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_kv kv = { .key = (char *)"cgroup.max.descendants", .value = (char *)"7" };
	struct sk_resources r;
	struct sk_cgroup *cg;

	NEED_KERNEL();
	cg = create_ok("unified");
	memset(&r, 0, sizeof(r));
	r.unified = &kv;
	r.n_unified = 1;
	if (sk_cgroup_find_v2(cg)) {
		_cleanup_free_ char *s = NULL;
		apply_ok(cg, &r);
		assert_int_equal(
		    sk_cgroup_read(sk_cgroup_find_v2(cg)->dir, "cgroup.max.descendants", &s), 0);
		assert_string_equal(s, "7\n");
	} else {
		assert_int_equal(sk_cgroup_apply(cg, &r, &err), -EOPNOTSUPP);
		sk_error_free(TAKE_PTR(err));
	}
	kv.key = (char *)"../../cgroup.procs";
	assert_int_equal(sk_cgroup_apply(cg, &r, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "invalid key"));
	sk_error_free(TAKE_PTR(err));
	kv.key = (char *)"sub/memory.max";
	assert_int_equal(sk_cgroup_apply(cg, &r, &err), -EINVAL);
	destroy_ok(cg);
}

/* Child of the device test: 0 when reads work and writes fail with EPERM. */
static int try_dev_null(void *arg)
{
	bool want_write = *(bool *)arg;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	close(fd);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (want_write)
		return fd >= 0 ? 0 : 2;
	if (fd >= 0 || errno != EPERM)
		return 3;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC); /* r allowed, w denied: denied */
	return fd < 0 && errno == EPERM ? 0 : 4;
}

static int run_dev_child(struct sk_cgroup *cg, bool want_write)
{
	int gofd, status;
	pid_t pid = spawn(try_dev_null, &want_write, &gofd);

	enter_ok(cg, pid);
	go(gofd);
	status = reap(pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_devices(void **state)
{
	struct sk_device_rule rules[] = {
		{ .allow = true, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
		{ .allow = false, .type = 'c', .major = 1, .minor = 3, .access = "w" },
	};
	struct sk_resources r;
	struct sk_cgroup *cg;

	NEED_KERNEL();
	cg = create_ok("devices");
	memset(&r, 0, sizeof(r));
	r.devices = rules;
	r.n_devices = 2;
	apply_ok(cg, &r);
	assert_int_equal(run_dev_child(cg, false), 0);
	/* update to allow everything: the old rules (v2: the old program) must go */
	r.n_devices = 1;
	apply_ok(cg, &r);
	assert_int_equal(run_dev_child(cg, true), 0);
	destroy_ok(cg);
}

static void test_freeze(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	volatile uint64_t *counter;
	struct sk_cgroup *cg;
	uint64_t a, b;
	bool frozen = true;
	int gofd;
	pid_t pid;

	NEED_KERNEL();
	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(counter != MAP_FAILED);
	cg = create_ok("freeze");
	pid = spawn(spin_counter, (void *)counter, &gofd);
	enter_ok(cg, pid);
	go(gofd);
	while (*counter == 0)
		sleep_ms(1);
	assert_int_equal(sk_cgroup_is_frozen(cg, &frozen, &err), 0);
	assert_false(frozen);
	if (sk_cgroup_freeze(cg, true, &err) < 0)
		fail_msg("freeze: %s", err->msg);
	assert_int_equal(sk_cgroup_is_frozen(cg, &frozen, &err), 0);
	assert_true(frozen);
	a = *counter;
	sleep_ms(100);
	b = *counter;
	assert_true(a == b); /* a frozen child makes no progress */
	if (sk_cgroup_freeze(cg, false, &err) < 0)
		fail_msg("thaw: %s", err->msg);
	assert_int_equal(sk_cgroup_is_frozen(cg, &frozen, &err), 0);
	assert_false(frozen);
	for (int i = 0; i < 5000 && *counter == b; i++) /* it runs again (5 s) */
		sleep_ms(1);
	assert_true(*counter != b);
	/* destroy a frozen cgroup: it must thaw to let SIGKILL through */
	assert_int_equal(sk_cgroup_freeze(cg, true, &err), 0);
	destroy_ok(cg);
	assert_true(WIFSIGNALED(reap(pid)));
	munmap((void *)counter, 4096);
}

static void test_kill_all(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	struct sk_cgroup *cg;
	pid_t p1, p2;
	size_t n = 0;
	int g1, g2, s1, s2;

	NEED_KERNEL();
	cg = create_ok("kill");
	p1 = spawn(sleep_forever, NULL, &g1);
	p2 = spawn(sleep_forever, NULL, &g2);
	enter_ok(cg, p1);
	enter_ok(cg, p2);
	go(g1);
	go(g2);
	assert_int_equal(sk_cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(pids[0] < pids[1]);
	assert_int_equal(sk_cgroup_kill_all(cg, SIGTERM, &err), 0);
	s1 = reap(p1);
	s2 = reap(p2);
	assert_true(WIFSIGNALED(s1) && WTERMSIG(s1) == SIGTERM);
	assert_true(WIFSIGNALED(s2) && WTERMSIG(s2) == SIGTERM);
	p1 = spawn(sleep_forever, NULL, &g1);
	enter_ok(cg, p1);
	go(g1);
	assert_int_equal(sk_cgroup_kill_all(cg, SIGKILL, &err), 0);
	s1 = reap(p1);
	assert_true(WIFSIGNALED(s1) && WTERMSIG(s1) == SIGKILL);
	destroy_ok(cg);
}

static int touch_memory(void *arg)
{
	size_t len = 8 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec ts = { 0 };

	if (p == MAP_FAILED)
		return 1;
	memset(p, 1, len);
	while (ts.tv_sec == 0 && ts.tv_nsec < 80000000L) /* burn 80 ms of cpu time */
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	for (;;)
		pause();
	return 0;
}

static void test_stats(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_cgroup_stats s;
	struct sk_resources r;
	struct sk_cgroup *cg;
	int gofd;
	pid_t pid;

	NEED_KERNEL();
	cg = create_ok("stats");
	memset(&r, 0, sizeof(r));
	r.pids.has_limit = true;
	r.pids.limit = 42;
	r.memory.has_limit = true;
	r.memory.limit = 256 << 20;
	apply_ok(cg, &r);
	pid = spawn(touch_memory, NULL, &gofd);
	enter_ok(cg, pid);
	go(gofd);
	/* 10 s: the child may get little CPU on a loaded machine */
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(sk_cgroup_stats(cg, &s, &err), 0);
		if (s.cpu_usage_ns >= 50000000ull && s.memory_usage >= (8u << 20))
			break;
		sleep_ms(10);
	}
	print_message(
	    "stats: cpu %llu ns (user %llu, sys %llu), mem %llu/%llu ws %llu, pids %llu/%llu\n",
	    (unsigned long long)s.cpu_usage_ns, (unsigned long long)s.cpu_user_ns,
	    (unsigned long long)s.cpu_system_ns, (unsigned long long)s.memory_usage,
	    (unsigned long long)s.memory_limit, (unsigned long long)s.memory_working_set,
	    (unsigned long long)s.pids_current, (unsigned long long)s.pids_limit);
	assert_true(s.cpu_usage_ns >= 50000000ull);
	assert_true(s.memory_usage >= (8u << 20));
	assert_true(s.memory_working_set <= s.memory_usage);
	assert_int_equal(s.memory_limit, 256 << 20);
	assert_int_equal(s.pids_current, 1);
	assert_int_equal(s.pids_limit, 42);
	destroy_ok(cg);
	(void)reap(pid);
}

/*
 * A create that fails half-way removes what it made: "memory.stat" is a
 * file in a memory cgroup, so mkdir of ".../memory.stat/x" fails there
 * after other hierarchies (v1) or the upper levels (v2) were made.
 */
static void test_create_undo(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *probe = NULL;
	_cleanup_free_ char *top = sub("undo"), *path = sub("undo/memory.stat/x");
	const struct sk_cgroup_hierarchy *h;
	struct sk_cgroup *cg = NULL;
	size_t n;

	NEED_KERNEL();
	assert_int_equal(sk_cgroup_open(top, NULL, &probe, &err), 0);
	n = sk_cgroup_hierarchies(probe, &h);
	if (!sk_cgroup_find_v1(probe, "memory") &&
	    !(sk_cgroup_find_v2(probe) &&
	      sk_cgroup_hierarchy_has(sk_cgroup_find_v2(probe), "memory")))
		skip();
	assert_true(sk_cgroup_create(path, &cg, &err) < 0);
	assert_null(cg);
	assert_non_null(strstr(err->msg, "mkdir"));
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *b = sk_path_join(h[i].mountpoint, base);
		assert_int_equal(access(h[i].dir, F_OK), -1);
		assert_int_equal(access(b, F_OK), -1);
	}
}

/* A cgroup opened from a saved list of created dirs destroys exactly those. */
static void test_open_destroy(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_cgroup *cg, *again = NULL;
	_cleanup_strv_ char **created = NULL;

	NEED_KERNEL();
	cg = create_ok("reopen/leaf");
	created = sk_strv_copy(sk_cgroup_created(cg));
	_cleanup_free_ char *path = sk_strdup(sk_cgroup_path(cg));
	sk_cgroup_free(cg);
	assert_int_equal(sk_cgroup_open(path, created, &again, &err), 0);
	assert_string_equal(sk_cgroup_path(again), path);
	assert_int_equal(sk_strv_length(sk_cgroup_created(again)), sk_strv_length(created));
	destroy_ok(again);
	for (size_t i = 0; created[i]; i++)
		assert_int_equal(access(created[i], F_OK), -1);
}

/* destroy must leave alone a parent directory it did not create. */
static void test_destroy_keeps_foreign_parent(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *probe = NULL;
	_cleanup_free_ char *parent = sub("foreign");
	const struct sk_cgroup_hierarchy *h;
	struct sk_cgroup *cg;
	size_t n;

	NEED_KERNEL();
	assert_int_equal(sk_cgroup_open(parent, NULL, &probe, &err), 0);
	n = sk_cgroup_hierarchies(probe, &h);
	for (size_t i = 0; i < n; i++) /* made by "someone else": this test */
		assert_int_equal(sk_mkdir_p(h[i].dir, 0755), 0);
	cg = create_ok("foreign/child");
	for (size_t i = 0; sk_cgroup_created(cg)[i]; i++)
		assert_non_null(strstr(sk_cgroup_created(cg)[i], "/foreign/child"));
	destroy_ok(cg);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(access(h[i].dir, F_OK), 0);
		assert_int_equal(rmdir(h[i].dir), 0);
		_cleanup_free_ char *b = sk_path_join(h[i].mountpoint, base);
		/* not empty only after an earlier failed test; teardown reports that */
		assert_true(rmdir(b) == 0 || errno == EBUSY || errno == ENOTEMPTY);
	}
}

static void test_errors(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_cgroup *cg = NULL;
	struct sk_resources r;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	NEED_KERNEL();
	assert_int_equal(sk_cgroup_create("/skiff-x/../../etc", &cg, &err), -EINVAL);
	assert_null(cg);
	sk_error_free(TAKE_PTR(err));
	cg = create_ok("gone");
	destroy_ok(cg);
	_cleanup_free_ char *path = sub("gone");
	assert_int_equal(sk_cgroup_open(path, NULL, &cg, &err), 0);
	memset(&r, 0, sizeof(r));
	r.pids.has_limit = true;
	r.pids.limit = 5;
	assert_true(sk_cgroup_apply(cg, &r, &err) < 0);
	assert_non_null(strstr(err->msg, path));
	sk_error_free(TAKE_PTR(err));
	assert_int_equal(sk_cgroup_pids(cg, &pids, &n, &err), -ENOENT);
	sk_error_free(TAKE_PTR(err));
	assert_true(sk_cgroup_enter(cg, getpid(), &err) < 0);
	sk_error_free(TAKE_PTR(err));
	assert_int_equal(sk_cgroup_destroy(cg, &err), 0); /* created nothing: removes nothing */
	sk_cgroup_free(cg);
}

/* ---- fixtures: save/restore the v2 root, and prove nothing is left ---- */

static char *v2_root(void)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	const struct sk_cgroup_hierarchy *h;

	if (sk_cgroup_open("/", NULL, &cg, &err) < 0 || !(h = sk_cgroup_find_v2(cg)))
		return NULL;
	return sk_strdup(h->mountpoint);
}

static int setup(void **state)
{
	_cleanup_free_ char *root = NULL;

	snprintf(base, sizeof(base), "/skiff-unit-%d", (int)getpid());
	if (!kernel_tests_possible() || !(root = v2_root()))
		return 0;
	if (sk_cgroup_read(root, "cgroup.subtree_control", &saved_subtree) < 0)
		saved_subtree = NULL;
	return 0;
}

/* Disables in the v2 root what the tests enabled there (hybrid hosts). */
static void restore_subtree(void)
{
	_cleanup_free_ char *root = v2_root(), *now = NULL;
	char *save = NULL;

	if (!root || !saved_subtree || sk_cgroup_read(root, "cgroup.subtree_control", &now) < 0)
		return;
	struct sk_cgroup_hierarchy before = { .controllers = saved_subtree };
	for (char *c = strtok_r(now, " \n", &save); c; c = strtok_r(NULL, " \n", &save))
		if (!sk_cgroup_hierarchy_has(&before, c))
			(void)sk_cgroup_writef(root, "cgroup.subtree_control", NULL, "-%s", c);
}

/*
 * After a failed test: kill what is left under our own base (only children
 * of this test ever go there), thaw, and remove the directories bottom-up.
 */
static void rescue(const char *dir)
{
	_cleanup_free_ char *procs = NULL;
	DIR *d = opendir(dir);

	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			_cleanup_free_ char *s = sk_path_join(dir, de->d_name);
			rescue(s);
		}
	}
	closedir(d);
	(void)sk_cgroup_write(dir, "freezer.state", "THAWED", NULL);
	(void)sk_cgroup_write(dir, "cgroup.freeze", "0", NULL);
	if (sk_cgroup_read(dir, "cgroup.procs", &procs) == 0)
		for (char *save = NULL, *l = strtok_r(procs, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			int pid;
			if (sk_parse_int(l, &pid) == 0 && pid > 0 && kill(pid, SIGKILL) == 0)
				(void)waitpid(pid, NULL, 0);
		}
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
		sleep_ms(10);
}

static int teardown(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	const struct sk_cgroup_hierarchy *h;
	int leftovers = 0;

	if (!kernel_tests_possible())
		return 0;
	if (sk_cgroup_open(base, NULL, &cg, &err) == 0) {
		size_t n = sk_cgroup_hierarchies(cg, &h);
		for (size_t i = 0; i < n; i++) {
			if (access(h[i].dir, F_OK) < 0)
				continue;
			fprintf(stderr, "leftover cgroup '%s'\n", h[i].dir);
			leftovers++;
			rescue(h[i].dir);
		}
	}
	restore_subtree();
	free(saved_subtree);
	return leftovers ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_default),
		cmocka_unit_test(test_resolve_absolute),
		cmocka_unit_test(test_resolve_relative),
		cmocka_unit_test(test_resolve_systemd),
		cmocka_unit_test(test_expand_slice),
		cmocka_unit_test(test_shares_to_weight),
		cmocka_unit_test(test_swap_to_v2),
		cmocka_unit_test(test_layout_parse),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_create_enter_destroy),
		cmocka_unit_test(test_create_undo),
		cmocka_unit_test(test_apply_limits),
		cmocka_unit_test(test_apply_optional),
		cmocka_unit_test(test_unified),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_freeze),
		cmocka_unit_test(test_kill_all),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_open_destroy),
		cmocka_unit_test(test_destroy_keeps_foreign_parent),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
