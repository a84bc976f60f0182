/* SPDX-License-Identifier: Apache-2.0 */
/* test-hooks.c - OCI hooks: stdin state, argv/env, failures with output, timeouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "base/util.h"
#include "runtime/hooks.h"

#define STATE "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42}"

static char tmpdir[] = "/tmp/sk-hooks-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return sk_rm_rf(tmpdir);
}

static char *tmp_path(const char *name)
{
	return sk_asprintf("%s/%s", tmpdir, name);
}

static char *slurp(const char *path)
{
	char *buf = NULL;

	assert_int_equal(sk_read_file(path, &buf, NULL), 0);
	return buf;
}

static void test_stdin_state(void **state)
{
	_cleanup_free_ char *script = tmp_path("stdin.sh"), *out = tmp_path("stdin.out");
	_cleanup_free_ char *got = NULL;
	char *args[] = { "stdin-hook", out, NULL };
	struct sk_hook h = { .path = script, .args = args };
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_write_file_atomic(script, "#!/bin/sh\ncat > \"$1\"\n", 21, 0755, false),
			 0);
	assert_int_equal(sk_hooks_run(&h, 1, "prestart", STATE, &err), 0);
	assert_null(err);
	got = slurp(out);
	assert_string_equal(got, STATE);
}

static void test_args_env(void **state)
{
	_cleanup_free_ char *out = tmp_path("args.out"), *outenv = NULL, *got = NULL;
	char *args[] = {
		"sk-argv0",
		"-c",
		"tr '\\0' ' ' < /proc/$$/cmdline > \"$OUT\"; printf '%s' \"$FOO\" >> \"$OUT\"",
		"sk-name",
		"one",
		NULL
	};
	char *env[] = { "FOO=bar baz", "PATH=/usr/bin:/bin", NULL, NULL };
	struct sk_hook h = { .path = "/bin/sh", .args = args, .env = env };

	outenv = sk_asprintf("OUT=%s", out);
	env[2] = outenv;
	assert_int_equal(sk_hooks_run(&h, 1, "createRuntime", STATE, NULL), 0);
	got = slurp(out);
	assert_string_equal(got, "sk-argv0 -c tr '\\0' ' ' < /proc/$$/cmdline > \"$OUT\"; "
				 "printf '%s' \"$FOO\" >> \"$OUT\" sk-name one bar baz");
}

static void test_default_argv_env(void **state)
{
	/* args NULL: argv[0] is the path; env NULL: the runtime's environment */
	_cleanup_free_ char *script = tmp_path("env.sh"), *out = tmp_path("env.out");
	_cleanup_free_ char *body = NULL, *got = NULL, *want = NULL;
	struct sk_hook h = { .path = script };

	body = sk_asprintf("#!/bin/sh\nprintf '%%s %%s' \"$0\" \"$SK_HOOK_TEST\" > %s\n", out);
	assert_int_equal(sk_write_file_atomic(script, body, strlen(body), 0755, false), 0);
	assert_int_equal(setenv("SK_HOOK_TEST", "inherited", 1), 0);
	assert_int_equal(sk_hooks_run(&h, 1, "poststart", NULL, NULL), 0);
	unsetenv("SK_HOOK_TEST");
	got = slurp(out);
	want = sk_asprintf("%s inherited", script);
	assert_string_equal(got, want);
}

static void test_order_and_stop(void **state)
{
	_cleanup_free_ char *out = tmp_path("order.out"), *c1 = NULL, *c3 = NULL;
	_cleanup_free_ char *got = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	char *a1[] = { "sh", "-c", NULL, NULL }, *a2[] = { "sh", "-c", "exit 1", NULL };
	char *a3[] = { "sh", "-c", NULL, NULL };
	struct sk_hook hooks[] = {
		{ .path = "/bin/sh", .args = a1 },
		{ .path = "/bin/sh", .args = a2 },
		{ .path = "/bin/sh", .args = a3 },
	};

	a1[2] = c1 = sk_asprintf("echo first >> %s", out);
	a3[2] = c3 = sk_asprintf("echo third >> %s", out);
	assert_int_equal(sk_hooks_run(hooks, 3, "createContainer", STATE, &err), -ECHILD);
	got = slurp(out);
	assert_string_equal(got, "first\n");
	assert_string_equal(
	    err->msg, "createContainer hook /bin/sh failed: exit status 1, stdout: , stderr: ");
}

static void test_failure_output(void **state)
{
	char *args[] = { "sh", "-c", "cat >/dev/null; echo out; echo err >&2; exit 3", NULL };
	struct sk_hook h = { .path = "/bin/sh", .args = args };
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_hooks_run(&h, 1, "prestart", STATE, &err), -ECHILD);
	assert_string_equal(
	    err->msg, "prestart hook /bin/sh failed: exit status 3, stdout: out, stderr: err");
}

static void test_killed_by_signal(void **state)
{
	char *args[] = { "sh", "-c", "kill -9 $$", NULL };
	struct sk_hook h = { .path = "/bin/sh", .args = args };
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_hooks_run(&h, 1, "poststop", NULL, &err), -ECHILD);
	assert_string_equal(err->msg,
			    "poststop hook /bin/sh failed: killed by signal 9, stdout: , stderr: ");
}

static void test_output_bounded(void **state)
{
	char *args[] = { "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; exit 1", NULL };
	struct sk_hook h = { .path = "/bin/sh", .args = args };
	_cleanup_error_ struct sk_error *err = NULL;
	const char *x;

	assert_int_equal(sk_hooks_run(&h, 1, "prestart", NULL, &err), -ECHILD);
	x = strstr(err->msg, "stdout: ");
	assert_non_null(x);
	assert_int_equal(strspn(x + 8, "x"), SK_HOOK_OUTPUT_MAX);
	assert_non_null(strstr(err->msg, "(output truncated)"));
}

static void test_timeout(void **state)
{
	char *args[] = { "sh", "-c", "exec sleep 30", NULL };
	struct sk_hook h = { .path = "/bin/sh", .args = args, .has_timeout = true, .timeout = 1 };
	_cleanup_error_ struct sk_error *err = NULL;
	uint64_t start = sk_now_ns(), took;

	assert_int_equal(sk_hooks_run(&h, 1, "startContainer", STATE, &err), -ETIMEDOUT);
	took = sk_now_ns() - start;
	assert_true(took >= 900000000ull);
	assert_true(took < 3000000000ull);
	assert_string_equal(err->msg, "startContainer hook /bin/sh timed out after 1 s");
}

/* A hook that never reads a large state: EPIPE is tolerated, SIGPIPE does not hit us. */
static void test_unread_stdin(void **state)
{
	size_t n = 1 << 20;
	_cleanup_free_ char *big = sk_malloc0(n + 1);
	char *args[] = { "sh", "-c", "exit 0", NULL };
	struct sk_hook h = { .path = "/bin/sh", .args = args, .has_timeout = true, .timeout = 10 };
	struct sigaction before, after;
	sigset_t pending;

	memset(big, 'a', n);
	assert_int_equal(sigaction(SIGPIPE, NULL, &before), 0);
	assert_int_equal(sk_hooks_run(&h, 1, "prestart", big, NULL), 0);
	assert_int_equal(sigaction(SIGPIPE, NULL, &after), 0);
	assert_true(before.sa_handler == after.sa_handler);
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, SIGPIPE));
}

static void test_exec_failure(void **state)
{
	struct sk_hook h = { .path = "/nonexistent-sk-hook" };
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_hooks_run(&h, 1, "prestart", STATE, &err), -ENOENT);
	assert_string_equal(err->msg,
			    "prestart hook /nonexistent-sk-hook: exec: No such file or directory");
	assert_int_equal(sk_hooks_run(NULL, 0, "prestart", STATE, NULL), 0);
}

static void test_kind_names(void **state)
{
	assert_string_equal(sk_hook_kind_name(SK_HOOK_PRESTART), "prestart");
	assert_string_equal(sk_hook_kind_name(SK_HOOK_CREATE_RUNTIME), "createRuntime");
	assert_string_equal(sk_hook_kind_name(SK_HOOK_POSTSTOP), "poststop");
	assert_string_equal(sk_hook_kind_name(SK_HOOK__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdin_state),	 cmocka_unit_test(test_args_env),
		cmocka_unit_test(test_default_argv_env), cmocka_unit_test(test_order_and_stop),
		cmocka_unit_test(test_failure_output),	 cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_output_bounded),	 cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_unread_stdin),	 cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
