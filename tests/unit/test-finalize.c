/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-finalize.c - the last steps before execve (finalize.c) and the PATH
 * lookup and execve (exec.c), each run in a forked child that reports back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "runtime/exec.h"
#include "runtime/finalize.h"
#include "sk-fork.h"

#define BIT(c) (1ull << (c))

struct fin_case {
	struct sk_process p;
	const struct sk_seccomp *seccomp;
	struct sk_finalize_opts opts;
	/* after a successful finalize: what to print */
	int (*report)(int fd);
};

static int child_finalize(void *arg, int fd)
{
	struct fin_case *c = arg;
	_cleanup_error_ struct sk_error *err = NULL;
	int r = sk_finalize_process(&c->p, c->seccomp, &c->opts, &err);

	if (r < 0)
		return sk_test_report(fd, r, err);
	return c->report ? c->report(fd) : 0;
}

static int report_fields(int fd, const char *const *fields)
{
	for (; *fields; fields++) {
		_cleanup_free_ char *v = sk_test_status_field(*fields);
		dprintf(fd, "%s=%s\n", *fields, v ? v : "?");
	}
	return 0;
}

static int report_ids(int fd)
{
	static const char *const f[] = {
		"Uid", "Gid", "Groups", "CapEff", "CapPrm", "CapAmb", NULL
	};
	return report_fields(fd, f);
}

static void test_user_switch(void **state)
{
	uint32_t gids[] = { 10, 20 };
	struct fin_case c = {
		.p = { .cwd = "/",
		       .user = { .uid = 1000,
				 .gid = 1000,
				 .additional_gids = gids,
				 .n_additional_gids = 2 } },
		.report = report_ids,
	};
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_test_fork(child_finalize, &c, &out), 0);
	assert_string_equal(out, "Uid=1000\t1000\t1000\t1000\n"
				 "Gid=1000\t1000\t1000\t1000\n"
				 "Groups=10 20\n"
				 "CapEff=0000000000000000\n"
				 "CapPrm=0000000000000000\n"
				 "CapAmb=0000000000000000\n");
}

static void test_user_keeps_caps(void **state)
{
	uint64_t nbs = BIT(CAP_NET_BIND_SERVICE);
	struct fin_case c = {
		.p = { .cwd = "/",
		       .user = { .uid = 1000, .gid = 1000 },
		       .has_caps = true,
		       .caps = { .has_bounding = true,
				 .has_effective = true,
				 .has_permitted = true,
				 .has_inheritable = true,
				 .has_ambient = true,
				 .bounding = nbs,
				 .effective = nbs,
				 .permitted = nbs,
				 .inheritable = nbs,
				 .ambient = nbs } },
		.opts = { .setgroups_denied = true }, /* keeps root's (empty) groups */
		.report = report_ids,
	};
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_test_fork(child_finalize, &c, &out), 0);
	assert_string_equal(out, "Uid=1000\t1000\t1000\t1000\n"
				 "Gid=1000\t1000\t1000\t1000\n"
				 "Groups=\n"
				 "CapEff=0000000000000400\n"
				 "CapPrm=0000000000000400\n"
				 "CapAmb=0000000000000400\n");
}

/* In a user namespace with setgroups "deny", setgroups is skipped (runc does the same). */
static int child_userns(void *arg, int fd)
{
	if (unshare(CLONE_NEWUSER) < 0)
		return 77;
	if (sk_write_file("/proc/self/setgroups", "deny", 4) < 0 ||
	    sk_write_file("/proc/self/uid_map", "0 0 1", 5) < 0 ||
	    sk_write_file("/proc/self/gid_map", "0 0 1", 5) < 0)
		return 78;
	return child_finalize(arg, fd);
}

static void test_setgroups_denied(void **state)
{
	uint32_t gids[] = { 0 };
	struct fin_case c = { .p = { .cwd = "/",
				     .user = { .additional_gids = gids, .n_additional_gids = 1 } },
			      .report = report_ids };
	_cleanup_free_ char *out = NULL;
	int r = sk_test_fork(child_userns, &c, &out);

	if (r == 77)
		skip(); /* no user namespaces here */
	assert_int_equal(r, 0);
	assert_non_null(strstr(out, "Uid=0\t0\t0\t0\n"));
}

static int report_rlimits(int fd)
{
	struct rlimit nofile, core;

	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0 || getrlimit(RLIMIT_CORE, &core) < 0)
		return 2;
	dprintf(fd, "nofile=%llu:%llu core=%llu:%llu", (unsigned long long)nofile.rlim_cur,
		(unsigned long long)nofile.rlim_max, (unsigned long long)core.rlim_cur,
		(unsigned long long)core.rlim_max);
	return 0;
}

static void test_rlimits(void **state)
{
	struct sk_rlimit limits[] = {
		{ .resource = RLIMIT_NOFILE, .soft = 1024, .hard = 4096 },
		{ .resource = RLIMIT_CORE, .soft = 0, .hard = 0 },
	};
	struct fin_case c = { .p = { .cwd = "/", .rlimits = limits, .n_rlimits = 2 },
			      .report = report_rlimits };
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_test_fork(child_finalize, &c, &out), 0);
	assert_string_equal(out, "nofile=1024:4096 core=0:0");
	assert_string_equal(sk_rlimit_name(RLIMIT_MEMLOCK), "RLIMIT_MEMLOCK");
	assert_null(sk_rlimit_name(999));
}

static void test_rlimit_above_hard(void **state)
{
	_cleanup_free_ char *eff = sk_test_status_field("CapEff");
	_cleanup_free_ char *out = NULL, *want = NULL;
	struct rlimit cur;
	uint64_t caps = 0;

	assert_non_null(eff);
	caps = strtoull(eff, NULL, 16);
	if (caps & BIT(CAP_SYS_RESOURCE))
		skip(); /* raising the hard limit is allowed here */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &cur), 0);
	uint64_t v = cur.rlim_max < 1048576 ? 1048576 : (uint64_t)cur.rlim_max + 1;
	struct sk_rlimit limit = { .resource = RLIMIT_NOFILE, .soft = v, .hard = v };
	struct fin_case c = { .p = { .cwd = "/", .rlimits = &limit, .n_rlimits = 1 } };

	assert_int_equal(sk_test_fork(child_finalize, &c, &out), 1);
	want = sk_asprintf("setrlimit RLIMIT_NOFILE %llu:%llu: Operation not permitted",
			   (unsigned long long)v, (unsigned long long)v);
	assert_string_equal(out, want);
	/* skip_rlimits: the parent set them */
	c.opts.skip_rlimits = true;
	assert_int_equal(sk_test_fork(child_finalize, &c, NULL), 0);
}

static int report_nnp_umask(int fd)
{
	_cleanup_free_ char *nnp = sk_test_status_field("NoNewPrivs");
	mode_t m = umask(0);

	dprintf(fd, "nnp=%s umask=%04o", nnp ? nnp : "?", (unsigned)m);
	return 0;
}

static void test_nnp_umask(void **state)
{
	struct fin_case c = { .p = { .cwd = "/",
				     .no_new_privileges = true,
				     .user = { .has_umask = true, .umask = 077 } },
			      .report = report_nnp_umask };
	_cleanup_free_ char *out = NULL, *out2 = NULL;

	assert_int_equal(sk_test_fork(child_finalize, &c, &out), 0);
	assert_string_equal(out, "nnp=1 umask=0077");
	c.p.no_new_privileges = false;
	c.p.user.has_umask = false;
	assert_int_equal(sk_test_fork(child_finalize, &c, &out2), 0);
	assert_string_equal(out2, "nnp=0 umask=0022");
}

static void test_cwd_missing(void **state)
{
	struct fin_case c = { .p = { .cwd = "/nonexistent-sk-cwd" } };
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_test_fork(child_finalize, &c, &out), 1);
	assert_string_equal(out, "chdir to cwd (\"/nonexistent-sk-cwd\") set in config.json "
				 "failed: No such file or directory");
}

static int report_cwd(int fd)
{
	char buf[4096];

	dprintf(fd, "%s", getcwd(buf, sizeof(buf)) ? buf : "?");
	return 0;
}

/* Without DAC override the runtime cannot enter a 0700 dir of uid 1000; the user can. */
static int child_cwd_retry(void *arg, int fd)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return 3;
	data[0].effective &= ~(uint32_t)(BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return 4;
	return child_finalize(arg, fd);
}

static void test_cwd_after_setuid(void **state)
{
	char dir[] = "/tmp/sk-finalize-XXXXXX";
	_cleanup_free_ char *sub = NULL, *out = NULL;
	struct fin_case c = { .p = { .user = { .uid = 1000, .gid = 1000 } }, .report = report_cwd };

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	sub = sk_asprintf("%s/home", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chown(sub, 1000, 1000), 0);
	c.p.cwd = sub;
	assert_int_equal(sk_test_fork(child_cwd_retry, &c, &out), 0);
	assert_string_equal(out, sub);
	assert_int_equal(sk_rm_rf(dir), 0);
}

static int report_sched(int fd)
{
	_cleanup_free_ char *oom = NULL;
	int ioprio = (int)syscall(SYS_ioprio_get, 1, 0);

	if (sk_read_file("/proc/self/oom_score_adj", &oom, NULL) < 0)
		return 2;
	oom[strcspn(oom, "\n")] = '\0';
	errno = 0;
	dprintf(fd, "oom=%s pers=%#x ioprio=%d:%d policy=%d nice=%d", oom,
		(unsigned)personality(0xffffffff), ioprio >> 13, ioprio & 0x1fff,
		sched_getscheduler(0), getpriority(PRIO_PROCESS, 0));
	return 0;
}

static void test_oom_personality_io_sched(void **state)
{
	struct sk_personality pers = { .domain = "LINUX32" };
	struct fin_case c = {
		.p = { .cwd = "/",
		       .has_oom_score_adj = true,
		       .oom_score_adj = 500,
		       .has_io_priority = true,
		       .io_priority_class = 2,
		       .io_priority = 5,
		       .has_scheduler = true,
		       .sched_policy = "SCHED_BATCH",
		       .sched_nice = 5 },
		.opts = { .personality = &pers },
		.report = report_sched,
	};
	_cleanup_free_ char *out = NULL, *want = NULL;

	assert_int_equal(sk_test_fork(child_finalize, &c, &out), 0);
	want =
	    sk_asprintf("oom=500 pers=%#x ioprio=2:5 policy=%d nice=5", PER_LINUX32, SCHED_BATCH);
	assert_string_equal(out, want);
}

static void test_bad_values(void **state)
{
	struct sk_personality pers = { .domain = "BSD" };
	struct fin_case c = { .p = { .cwd = "/" }, .opts = { .personality = &pers } };
	_cleanup_free_ char *out = NULL, *out2 = NULL;

	assert_int_equal(sk_test_fork(child_finalize, &c, &out), 1);
	assert_string_equal(out, "personality: unknown domain 'BSD'");
	c.opts.personality = NULL;
	c.p.has_scheduler = true;
	c.p.sched_policy = "SCHED_FAST";
	assert_int_equal(sk_test_fork(child_finalize, &c, &out2), 1);
	assert_string_equal(out2, "scheduler: unknown policy 'SCHED_FAST'");
}

static int report_seccomp(int fd)
{
	_cleanup_free_ char *nnp = sk_test_status_field("NoNewPrivs");
	_cleanup_free_ char *mode = sk_test_status_field("Seccomp");
	int r = mkdir("/tmp/sk-finalize-never", 0700);

	dprintf(fd, "nnp=%s seccomp=%s mkdir=%d/%d uid=%d", nnp, mode, r, r < 0 ? errno : 0,
		(int)getuid());
	return 0;
}

static void test_seccomp_order(void **state)
{
	char *names[] = { "mkdir", "mkdirat", NULL };
	struct sk_seccomp_syscall call = { .names = names,
					   .action = "SCMP_ACT_ERRNO",
					   .has_errno_ret = true,
					   .errno_ret = EACCES };
	struct sk_seccomp s = { .default_action = "SCMP_ACT_ALLOW",
				.syscalls = &call,
				.n_syscalls = 1 };
	struct fin_case c = { .p = { .cwd = "/",
				     .no_new_privileges = true,
				     .user = { .uid = 1000, .gid = 1000 } },
			      .seccomp = &s,
			      .report = report_seccomp };
	_cleanup_free_ char *out = NULL, *out2 = NULL, *want = NULL, *want2 = NULL;

	/* with NNP: loaded last, as the unprivileged user */
	assert_int_equal(sk_test_fork(child_finalize, &c, &out), 0);
	want = sk_asprintf("nnp=1 seccomp=2 mkdir=-1/%d uid=1000", EACCES);
	assert_string_equal(out, want);
	/* without NNP: loaded early, while CAP_SYS_ADMIN is still there */
	c.p.no_new_privileges = false;
	assert_int_equal(sk_test_fork(child_finalize, &c, &out2), 0);
	want2 = sk_asprintf("nnp=0 seccomp=2 mkdir=-1/%d uid=1000", EACCES);
	assert_string_equal(out2, want2);
}

static void test_exec_resolve(void **state)
{
	char *args[] = { "true", NULL };
	char *env[] = { "A=b", "PATH=/nonexistent-sk:/usr/bin:/bin", NULL };
	char *noenv[] = { "A=b", NULL };
	char *shargs[] = { "sh", NULL };
	struct sk_process p = { .args = args, .env = env };
	_cleanup_free_ char *path = NULL, *path2 = NULL;

	assert_int_equal(sk_exec_resolve(&p, &path, NULL), 0);
	assert_string_equal(path, "/usr/bin/true");
	/* no PATH in env: the default one */
	p.args = shargs;
	p.env = noenv;
	assert_int_equal(sk_exec_resolve(&p, &path2, NULL), 0);
	assert_true(sk_str_has_prefix(path2, "/usr/") || sk_str_has_prefix(path2, "/bin/"));
	assert_non_null(strstr(path2, "/sh"));
}

static void expect_resolve_error(char *arg0, int code, const char *msg)
{
	char *args[] = { arg0, NULL };
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	struct sk_process p = { .args = args, .env = env };
	_cleanup_error_ struct sk_error *err = NULL;
	char *path = NULL;

	assert_int_equal(sk_exec_resolve(&p, &path, &err), -code);
	assert_null(path);
	assert_int_equal(err->code, code);
	assert_string_equal(err->msg, msg);
}

static void test_exec_resolve_errors(void **state)
{
	char dir[] = "/tmp/sk-exec-XXXXXX";
	_cleanup_free_ char *f = NULL, *want = NULL;

	expect_resolve_error("sk-no-such-cmd", ENOENT,
			     "exec: \"sk-no-such-cmd\": executable file not found in $PATH");
	expect_resolve_error("/nonexistent-sk/x", ENOENT,
			     "exec: \"/nonexistent-sk/x\": stat /nonexistent-sk/x: no such file "
			     "or directory");
	expect_resolve_error("/tmp", EISDIR, "exec: \"/tmp\": is a directory");
	assert_non_null(mkdtemp(dir));
	f = sk_asprintf("%s/noexec", dir);
	assert_int_equal(sk_write_file_atomic(f, "#!/bin/sh\n", 10, 0644, false), 0);
	want = sk_asprintf("exec: \"%s\": permission denied", f);
	expect_resolve_error(f, EACCES, want);
	assert_int_equal(sk_rm_rf(dir), 0);
}

static int child_exec(void *arg, int fd)
{
	_cleanup_error_ struct sk_error *err = NULL;
	int r = sk_exec_process(arg, &err);

	return sk_test_report(fd, r, err);
}

static void test_exec_process(void **state)
{
	char dir[] = "/tmp/sk-exec-XXXXXX";
	char *args[] = { "sh", "-c", "exit $CODE", NULL };
	char *env[] = { "CODE=7", NULL };
	struct sk_process p = { .args = args, .env = env };
	_cleanup_free_ char *f = NULL, *out = NULL, *want = NULL;

	assert_int_equal(sk_test_fork(child_exec, &p, NULL), 7);
	/* executable bit but no format the kernel knows: execve's errno, runc's words */
	assert_non_null(mkdtemp(dir));
	f = sk_asprintf("%s/junk", dir);
	assert_int_equal(sk_write_file_atomic(f, "\x01\x02junk", 6, 0755, false), 0);
	args[0] = f;
	assert_int_equal(sk_test_fork(child_exec, &p, &out), 1);
	want = sk_asprintf("exec %s: exec format error", f);
	assert_string_equal(out, want);
	assert_int_equal(sk_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_switch),
		cmocka_unit_test(test_user_keeps_caps),
		cmocka_unit_test(test_setgroups_denied),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_rlimit_above_hard),
		cmocka_unit_test(test_nnp_umask),
		cmocka_unit_test(test_cwd_missing),
		cmocka_unit_test(test_cwd_after_setuid),
		cmocka_unit_test(test_oom_personality_io_sched),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_seccomp_order),
		cmocka_unit_test(test_exec_resolve),
		cmocka_unit_test(test_exec_resolve_errors),
		cmocka_unit_test(test_exec_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
