/* SPDX-License-Identifier: Apache-2.0 */
/* test-seccomp.c - building seccomp filters from struct sk_seccomp, loading them in children. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <seccomp.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>

#include "runtime/seccomp.h"
#include "sk-fork.h"

static char *mkdir_names[] = { "mkdir", "mkdirat", NULL };
static char *uname_names[] = { "uname", NULL };
static char *bogus_names[] = { "sk_no_such_syscall", "getcwd", NULL };
static char *pers_names[] = { "personality", NULL };
static char *prio_names[] = { "getpriority", NULL };

/* default allow; mkdir -> EACCES; an unknown name; a rule equal to the default. */
static struct sk_seccomp_syscall basic_calls[] = {
	{ .names = mkdir_names,
	  .action = "SCMP_ACT_ERRNO",
	  .has_errno_ret = true,
	  .errno_ret = EACCES },
	{ .names = bogus_names, .action = "SCMP_ACT_LOG" },
	{ .names = uname_names, .action = "SCMP_ACT_ALLOW" },
};

static struct sk_seccomp basic = {
	.default_action = "SCMP_ACT_ALLOW",
	.syscalls = basic_calls,
	.n_syscalls = SK_ELEMENTSOF(basic_calls),
};

static void test_build_basic(void **state)
{
	char *arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
	char *flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL };
	struct sk_seccomp s = basic;
	_cleanup_error_ struct sk_error *err = NULL;
	void *ctx = NULL;

	s.architectures = arches;
	s.flags = flags;
	assert_int_equal(sk_seccomp_build(&s, &ctx, &err), 0);
	assert_non_null(ctx);
	assert_null(err);
	sk_seccomp_ctx_free(ctx);
	sk_seccomp_ctx_free(NULL);
	assert_false(sk_seccomp_uses_notify(&s));
}

static void expect_build_error(struct sk_seccomp *s, const char *needle)
{
	_cleanup_error_ struct sk_error *err = NULL;
	void *ctx = NULL;

	assert_true(sk_seccomp_build(s, &ctx, &err) < 0);
	assert_null(ctx);
	assert_non_null(err);
	if (!strstr(err->msg, needle))
		fail_msg("error '%s' lacks '%s'", err->msg, needle);
}

static void test_build_errors(void **state)
{
	char *bad_flag[] = { "SECCOMP_FILTER_FLAG_BOGUS", NULL };
	char *bad_arch[] = { "SCMP_ARCH_VAX", NULL };
	struct sk_seccomp_arg bad_op = { .index = 0, .op = "SCMP_CMP_SOMETIMES" };
	struct sk_seccomp_arg bad_index = { .index = 6, .op = "SCMP_CMP_EQ" };
	struct sk_seccomp_syscall call = { .names = pers_names,
					   .action = "SCMP_ACT_ERRNO",
					   .n_args = 1 };
	struct sk_seccomp s = basic;

	s.flags = bad_flag;
	expect_build_error(&s, "SECCOMP_FILTER_FLAG_BOGUS");
	s.flags = NULL;
	s.architectures = bad_arch;
	expect_build_error(&s, "unknown architecture 'SCMP_ARCH_VAX'");
	s = basic;
	s.default_action = "SCMP_ACT_MAYBE";
	expect_build_error(&s, "bad defaultAction 'SCMP_ACT_MAYBE'");
	s = basic;
	s.syscalls = &call;
	s.n_syscalls = 1;
	call.args = &bad_op;
	expect_build_error(&s, "unknown operator 'SCMP_CMP_SOMETIMES'");
	call.args = &bad_index;
	expect_build_error(&s, "argument index 6 out of range");
	call.n_args = 0;
	call.action = "SCMP_ACT_FOO";
	expect_build_error(&s, "syscall 'personality': bad action 'SCMP_ACT_FOO'");
	call.action = "SCMP_ACT_ERRNO";
	call.has_errno_ret = true;
	call.errno_ret = 70000;
	expect_build_error(&s, "bad action 'SCMP_ACT_ERRNO' (errnoRet above 65535)");
}

static void test_flag_wait_killable(void **state)
{
	char *flags[] = { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL };
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_seccomp s = basic;
	void *ctx = NULL;
	int r;

	s.flags = flags;
	r = sk_seccomp_build(&s, &ctx, &err);
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
	(void)r;
	sk_seccomp_ctx_free(ctx);
#else
	assert_int_equal(r, -EINVAL);
	assert_non_null(
	    strstr(err->msg, "flag 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV' is not supported"));
#endif
}

static int child_basic(void *arg, int fd)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct utsname u;

	if (sk_seccomp_load(&basic, &err) < 0)
		return sk_test_report(fd, -1, err);
	if (mkdir("/tmp/sk-seccomp-never", 0700) == 0 || errno != EACCES) {
		dprintf(fd, "mkdir: %m");
		return 2;
	}
	if (uname(&u) < 0) {
		dprintf(fd, "uname: %m");
		return 3;
	}
	dprintf(fd, "%s", u.sysname);
	return 0;
}

static void test_load_errno(void **state)
{
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_test_fork(child_basic, NULL, &out), 0);
	assert_string_equal(out, "Linux");
}

/* personality(0xffffffff) is blocked (EQ and MASKED_EQ rules); personality(PER_LINUX) is not. */
static int child_args(void *arg, int fd)
{
	struct sk_seccomp *s = arg;
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_seccomp_load(s, &err) < 0)
		return sk_test_report(fd, -1, err);
	if (personality(0xffffffff) != -1 || errno != EPERM) {
		dprintf(fd, "personality(0xffffffff) not blocked");
		return 2;
	}
	if (personality(PER_LINUX) < 0) {
		dprintf(fd, "personality(PER_LINUX): %m");
		return 3;
	}
	return 0;
}

static void test_arg_filter(void **state)
{
	struct sk_seccomp_arg eq = { .index = 0, .value = 0xffffffff, .op = "SCMP_CMP_EQ" };
	struct sk_seccomp_arg masked = {
		.index = 0, .value = 0xffff0000, .value_two = 0xffff0000, .op = "SCMP_CMP_MASKED_EQ"
	};
	struct sk_seccomp_syscall call = {
		.names = pers_names, .action = "SCMP_ACT_ERRNO", .args = &eq, .n_args = 1
	};
	struct sk_seccomp s = { .default_action = "SCMP_ACT_ALLOW",
				.syscalls = &call,
				.n_syscalls = 1 };
	_cleanup_free_ char *out = NULL, *out2 = NULL;

	assert_int_equal(sk_test_fork(child_args, &s, &out), 0);
	call.args = &masked;
	assert_int_equal(sk_test_fork(child_args, &s, &out2), 0);
}

/* Two conditions on different arguments are ANDed in one rule. */
static int child_and(void *arg, int fd)
{
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_seccomp_load(arg, &err) < 0)
		return sk_test_report(fd, -1, err);
	errno = 0;
	if (getpriority(PRIO_PROCESS, 999999) != -1 || errno != ENOTSUP)
		return 2; /* both conditions hold: blocked with errnoRet */
	errno = 0;
	if (getpriority(PRIO_PROCESS, 0) == -1 && errno)
		return 3; /* first only: allowed */
	errno = 0;
	if (getpriority(PRIO_PGRP, 999999) != -1 || errno != ESRCH)
		return 4; /* second only: allowed, the kernel says no such group */
	return 0;
}

static void test_args_and(void **state)
{
	struct sk_seccomp_arg args[] = {
		{ .index = 0, .value = PRIO_PROCESS, .op = "SCMP_CMP_EQ" },
		{ .index = 1, .value = 999999, .op = "SCMP_CMP_EQ" },
	};
	struct sk_seccomp_syscall call = { .names = prio_names,
					   .action = "SCMP_ACT_ERRNO",
					   .has_errno_ret = true,
					   .errno_ret = ENOTSUP,
					   .args = args,
					   .n_args = 2 };
	struct sk_seccomp s = { .default_action = "SCMP_ACT_ALLOW",
				.syscalls = &call,
				.n_syscalls = 1 };

	assert_int_equal(sk_test_fork(child_and, &s, NULL), 0);
}

static int child_default(void *arg, int fd)
{
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_seccomp_load(arg, &err) < 0)
		return sk_test_report(fd, -1, err);
	if (syscall(SYS_getppid) != -1 || errno != ENOSYS)
		return 2;
	return 0;
}

static void test_default_errno(void **state)
{
	/* default ERRNO with defaultErrnoRet; allowed: what the child (and ASan) needs */
	char *allow[] = { "exit_group", "exit",	    "write",	   "mmap",	     "munmap",
			  "madvise",	"mprotect", "sigaltstack", "rt_sigprocmask", "rt_sigaction",
			  "brk",	"futex",    "sched_yield", "getpid",	     "gettid",
			  "prctl",	"seccomp",  NULL };
	struct sk_seccomp_syscall call = { .names = allow, .action = "SCMP_ACT_ALLOW" };
	struct sk_seccomp s = { .default_action = "SCMP_ACT_ERRNO",
				.has_default_errno_ret = true,
				.default_errno_ret = ENOSYS,
				.syscalls = &call,
				.n_syscalls = 1 };
	void *ctx = NULL;

	assert_int_equal(sk_seccomp_build(&s, &ctx, NULL), 0);
	sk_seccomp_ctx_free(ctx);
	assert_int_equal(sk_test_fork(child_default, &s, NULL), 0);
}

static void test_notify_refused(void **state)
{
	struct sk_seccomp_syscall call = { .names = mkdir_names, .action = "SCMP_ACT_NOTIFY" };
	struct sk_seccomp s = { .default_action = "SCMP_ACT_ALLOW",
				.syscalls = &call,
				.n_syscalls = 1,
				.listener_path = "/run/agent.sock" };
	_cleanup_error_ struct sk_error *err = NULL, *err2 = NULL;
	int fd = -1;

	assert_true(sk_seccomp_uses_notify(&s));
	assert_int_equal(sk_seccomp_load(&s, &err), -EOPNOTSUPP);
	assert_non_null(
	    strstr(err->msg, "seccomp: listenerPath '/run/agent.sock' is not supported"));
	s.listener_path = NULL;
	assert_int_equal(sk_seccomp_load_notify(&s, &fd, &err2), -EINVAL);
	assert_non_null(strstr(err2->msg, "needs a listenerPath"));
}

/* Child: load a notify filter, hand the fd to the agent, then mkdir (answered by the agent). */
static int child_notify(void *arg, int fd)
{
	_cleanup_error_ struct sk_error *err = NULL;
	int nfd = -1;

	if (sk_seccomp_load_notify(arg, &nfd, &err) < 0 ||
	    sk_seccomp_notify_send(arg, nfd, getpid(), "{\"id\":\"c1\"}", &err) < 0)
		return sk_test_report(fd, -1, err);
	close(nfd);
	if (mkdir("/tmp/sk-seccomp-notify-never", 0700) == 0 || errno != EROFS) {
		dprintf(fd, "mkdir: %m");
		return 2;
	}
	return 0;
}

static int recv_fd(int conn, char *buf, size_t len)
{
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl,
			     .msg_controllen = sizeof(ctrl) };
	ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fd;

	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(c);
	assert_int_equal(c->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void agent_answer(int nfd)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;

	assert_int_equal(seccomp_notify_alloc(&req, &resp), 0);
	assert_int_equal(seccomp_notify_receive(nfd, req), 0);
	resp->id = req->id;
	resp->error = -EROFS;
	resp->val = 0;
	resp->flags = 0;
	assert_int_equal(seccomp_notify_respond(nfd, resp), 0);
	seccomp_notify_free(req, resp);
}

static void agent_serve(int lsock)
{
	char buf[4096];
	int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	int nfd = recv_fd(conn, buf, sizeof(buf));
	json_t *root = json_loads(buf, 0, NULL);

	assert_non_null(root);
	assert_string_equal(json_string_value(json_array_get(json_object_get(root, "fds"), 0)),
			    "seccompFd");
	assert_string_equal(json_string_value(json_object_get(root, "metadata")), "meta");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "state"), "id")), "c1");
	assert_true(json_integer_value(json_object_get(root, "pid")) > 0);
	json_decref(root);
	agent_answer(nfd);
	close(nfd);
	close(conn);
}

/* The test process plays the seccomp agent listening on listenerPath. */
static void test_notify_send(void **state)
{
	char dir[] = "/tmp/sk-seccomp-XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sk_seccomp_syscall call = { .names = mkdir_names, .action = "SCMP_ACT_NOTIFY" };
	struct sk_seccomp s = { .default_action = "SCMP_ACT_ALLOW",
				.syscalls = &call,
				.n_syscalls = 1,
				.listener_metadata = "meta" };
	int lsock, status;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	path = sk_asprintf("%s/agent.sock", dir);
	s.listener_path = path;
	strcpy(sa.sun_path, path);
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lsock, 1), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_notify(&s, STDERR_FILENO));
	agent_serve(lsock);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(lsock);
	assert_int_equal(sk_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_basic),	   cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_flag_wait_killable), cmocka_unit_test(test_load_errno),
		cmocka_unit_test(test_arg_filter),	   cmocka_unit_test(test_args_and),
		cmocka_unit_test(test_default_errno),	   cmocka_unit_test(test_notify_refused),
		cmocka_unit_test(test_notify_send),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
