/* SPDX-License-Identifier: Apache-2.0 */
/* test-util.c - strict number parsing, file helpers, strv and error objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"

static void test_parse_int64(void **state)
{
	int64_t v;

	assert_int_equal(sk_parse_int64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(sk_parse_int64("-7", &v), 0);
	assert_int_equal(v, -7);
	assert_int_equal(sk_parse_int64("", &v), -EINVAL);
	assert_int_equal(sk_parse_int64("12x", &v), -EINVAL);
	assert_int_equal(sk_parse_int64("99999999999999999999", &v), -ERANGE);
}

static void test_parse_uint64(void **state)
{
	uint64_t v;

	assert_int_equal(sk_parse_uint64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(sk_parse_uint64("-1", &v), -EINVAL);
	assert_int_equal(sk_parse_uint64(" 1", &v), -EINVAL);
	assert_int_equal(sk_parse_uint64("18446744073709551616", &v), -ERANGE);
}

static void test_parse_int(void **state)
{
	int v;

	assert_int_equal(sk_parse_int("2147483647", &v), 0);
	assert_int_equal(sk_parse_int("2147483648", &v), -ERANGE);
	assert_int_equal(sk_parse_int(NULL, &v), -EINVAL);
}

static void test_error_chain(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_error_set(&err, ENOENT, "open '%s'", "/x"), -ENOENT);
	assert_string_equal(err->msg, "open '/x': No such file or directory");
	/* a second set keeps the first, deepest error */
	assert_int_equal(sk_error_set(&err, EPERM, "other"), -EPERM);
	assert_string_equal(err->msg, "open '/x': No such file or directory");
	sk_error_prefix(&err, "load %s", "config.json");
	assert_string_equal(err->msg, "load config.json: open '/x': No such file or directory");
	assert_int_equal(sk_error_ret(err), -ENOENT);
	assert_int_equal(sk_error_set(NULL, 0, "ignored"), -EINVAL);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/sk-unit-XXXXXX";
	_cleanup_free_ char *sub = NULL, *file = NULL, *buf = NULL;
	size_t len;

	assert_non_null(mkdtemp(dir));
	sub = sk_asprintf("%s/a/b/c", dir);
	assert_int_equal(sk_mkdir_p(sub, 0755), 0);
	assert_int_equal(sk_mkdir_p(sub, 0755), 0);
	file = sk_path_join(sub, "/f");
	assert_int_equal(sk_write_file_atomic(file, "hello", 5, 0600, true), 0);
	assert_int_equal(sk_read_file(file, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(sk_write_file(file, "bye", 3), 0);
	free(buf);
	buf = NULL;
	assert_int_equal(sk_read_file(file, &buf, NULL), 0);
	assert_string_equal(buf, "bye");
	assert_int_equal(sk_read_file("/nonexistent/x", &buf, NULL), -ENOENT);
	assert_int_equal(sk_rm_rf(dir), 0);
	struct stat st;
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(sk_rm_rf(dir), 0);
}

static void test_close_fds_except(void **state)
{
	int fds[6], st = 0;
	pid_t pid;

	for (int i = 0; i < 6; i++)
		assert_true((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) > 2);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;
		sk_close_fds_except(fds[4], fds[1]);
		for (int i = 0; i < 6; i++)
			bad |= (fcntl(fds[i], F_GETFD) >= 0) != (i == 1 || i == 4);
		bad |= fcntl(2, F_GETFD) < 0; /* stdio stays */
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
}

static void test_strv(void **state)
{
	_cleanup_strv_ char **v = NULL;
	_cleanup_strv_ char **c = NULL;

	assert_int_equal(sk_strv_length(v), 0);
	sk_strv_push(&v, "a");
	sk_strv_push(&v, "b");
	assert_int_equal(sk_strv_length(v), 2);
	c = sk_strv_copy(v);
	assert_string_equal(c[1], "b");
	assert_null(c[2]);
	_cleanup_free_ char *j = sk_path_join("/a/", "/b");
	assert_string_equal(j, "/a/b");
	assert_true(sk_str_has_prefix("CAP_X", "CAP_"));
	assert_false(sk_str_has_prefix("CA", "CAP_"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_int64),
		cmocka_unit_test(test_parse_uint64),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_error_chain),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_close_fds_except),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
