/* SPDX-License-Identifier: Apache-2.0 */
/* test-app-interp.c - interpolation, dotenv, shlex splitting and the unit parsers of src/lib/app. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "app/app-interp.h"
#include "base/util.h"

/* SET=value, EMPTY="", FOO=foo; everything else unset. */
static const char *lookup(void *ud, const char *name)
{
	if (!strcmp(name, "SET"))
		return "value";
	if (!strcmp(name, "EMPTY"))
		return "";
	if (!strcmp(name, "FOO"))
		return "foo";
	return NULL;
}

static void expect(const char *in, const char *out)
{
	_cleanup_free_ char *got = NULL;
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_app_interpolate(in, lookup, NULL, &got, NULL, &err), 0);
	assert_string_equal(got, out);
}

static void expect_error(const char *in, const char *msg)
{
	_cleanup_free_ char *got = NULL;
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_app_interpolate(in, lookup, NULL, &got, NULL, &err), -EINVAL);
	assert_null(got);
	assert_string_equal(err->msg, msg);
}

static void test_interp_forms(void **state)
{
	expect("plain", "plain");
	expect("${SET}", "value");
	expect("$SET/x", "value/x");
	expect("a${SET}b", "avalueb");
	expect("${UNSET}", "");
	expect("${UNSET:-def}", "def");
	expect("${EMPTY:-def}", "def");
	expect("${EMPTY-def}", "");
	expect("${UNSET-def}", "def");
	expect("${SET:-def}", "value");
	expect("${SET:+alt}", "alt");
	expect("${EMPTY:+alt}", "");
	expect("${EMPTY+alt}", "alt");
	expect("${UNSET+alt}", "");
	expect("${SET:?boom}", "value");
	expect("${EMPTY?boom}", "");
	expect("$$", "$");
	expect("$${SET}", "${SET}");
	expect("$$SET", "$SET");
	expect("cost: $5", "cost: $5");
	expect("end$", "end$");
	expect("${UNSET:-${FOO}}", "foo");
	expect("${UNSET:-${UNSET2:-deep}}", "deep");
}

static void test_interp_lazy_and_errors(void **state)
{
	/* the operand of an unused default is not evaluated */
	expect("${SET:-${UNSET:?never}}", "value");
	expect_error("${UNSET:?please set UNSET}",
		     "required variable UNSET is missing a value: please set UNSET");
	expect_error("${EMPTY:?}", "required variable EMPTY is missing a value");
	expect_error("${UNSET?$FOO is needed}",
		     "required variable UNSET is missing a value: foo is needed");
	expect_error("${", "invalid interpolation format \"${\" (a literal $ is written $$)");
	expect_error("x ${SET",
		     "invalid interpolation format \"${SET\" (a literal $ is written $$)");
	expect_error("${5}", "invalid interpolation format \"${5}\" (a literal $ is written $$)");
	expect_error("${SET/a/b}",
		     "invalid interpolation format \"${SET/a/b}\" (a literal $ is written $$)");
	expect_error("${}", "invalid interpolation format \"${}\" (a literal $ is written $$)");
}

static void test_interp_unset_list_and_depth(void **state)
{
	_cleanup_free_ char *got = NULL, *deep = NULL;
	_cleanup_strv_ char **unset = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_app_buf b = { 0 };

	assert_int_equal(sk_app_interpolate("$A-${B}-${C:-x}", lookup, NULL, &got, &unset, &err),
			 0);
	assert_string_equal(got, "--x");
	assert_int_equal(sk_strv_length(unset), 2);
	assert_string_equal(unset[0], "A");
	assert_string_equal(unset[1], "B");
	for (int i = 0; i < 40; i++)
		sk_app_buf_adds(&b, "${U:-");
	for (int i = 0; i < 40; i++)
		sk_app_buf_addc(&b, '}');
	deep = sk_app_buf_take(&b);
	free(got);
	got = NULL;
	assert_int_equal(sk_app_interpolate(deep, lookup, NULL, &got, NULL, &err), -EINVAL);
	assert_string_equal(err->msg, "interpolation nested deeper than 16 levels");
}

static void test_dotenv(void **state)
{
	const char *env = "# comment\n"
			  "\n"
			  "A=1\n"
			  "export B = two words  # trailing comment\n"
			  "C='single $SET # kept'\n"
			  "D=\"double ${SET}\\n$$ \\\"q\\\"\"\n"
			  "E=${A}-${FOO}\n"
			  "F=\n"
			  "G=a#b\n"
			  "H=\"multi\nline\"\n"
			  "A=override\n";
	struct sk_app_kvs kvs = { 0 };
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_app_dotenv_parse(env, strlen(env), ".env", lookup, NULL, &kvs, &err),
			 0);
	assert_string_equal(sk_app_kvs_get(&kvs, "A")->value, "override");
	assert_string_equal(sk_app_kvs_get(&kvs, "B")->value, "two words");
	assert_string_equal(sk_app_kvs_get(&kvs, "C")->value, "single $SET # kept");
	assert_string_equal(sk_app_kvs_get(&kvs, "D")->value, "double value\n$ \"q\"");
	assert_string_equal(sk_app_kvs_get(&kvs, "E")->value, "1-foo");
	assert_string_equal(sk_app_kvs_get(&kvs, "F")->value, "");
	assert_string_equal(sk_app_kvs_get(&kvs, "G")->value, "a#b");
	assert_string_equal(sk_app_kvs_get(&kvs, "H")->value, "multi\nline");
	assert_int_equal(kvs.n, 8);
	sk_app_kvs_release(&kvs);
}

static void dotenv_error(const char *text, const char *msg)
{
	struct sk_app_kvs kvs = { 0 };
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_app_dotenv_parse(text, strlen(text), ".env", lookup, NULL, &kvs, &err),
			 -EINVAL);
	assert_string_equal(err->msg, msg);
	sk_app_kvs_release(&kvs);
}

static void test_dotenv_errors(void **state)
{
	dotenv_error("A=1\n1B=2\n", ".env:2: expected a variable name");
	dotenv_error("A\n", ".env:1: expected '=' after the variable name");
	dotenv_error("A='open\n", ".env:2: unterminated quoted value");
	dotenv_error("A=\"x\" y\n", ".env:1: unexpected characters after the value");
	dotenv_error("A=${UNSET:?need A}\n",
		     ".env:1: required variable UNSET is missing a value: need A");
}

static void split(const char *s, const char *const *want)
{
	_cleanup_strv_ char **v = NULL;
	size_t i;

	assert_int_equal(sk_app_shlex_split(s, &v), 0);
	for (i = 0; want[i]; i++) {
		assert_non_null(v[i]);
		assert_string_equal(v[i], want[i]);
	}
	assert_null(v[i]);
}

static void test_shlex(void **state)
{
	_cleanup_strv_ char **v = NULL;

	split("httpd -f -p 8080", (const char *const[]){ "httpd", "-f", "-p", "8080", NULL });
	split("sh -c 'echo $HOME; exit 1'",
	      (const char *const[]){ "sh", "-c", "echo $HOME; exit 1", NULL });
	split("echo \"a \\\"b\\\" c\" d\\ e ''",
	      (const char *const[]){ "echo", "a \"b\" c", "d e", "", NULL });
	split("  ", (const char *const[]){ NULL });
	assert_int_equal(sk_app_shlex_split("echo 'open", &v), -EINVAL);
	assert_int_equal(sk_app_shlex_split("echo \"open", &v), -EINVAL);
}

static void test_durations(void **state)
{
	int64_t ns;

	assert_int_equal(sk_app_parse_duration("10s", &ns), 0);
	assert_true(ns == 10 * SK_APP_NS_PER_SEC);
	assert_int_equal(sk_app_parse_duration("1m30s", &ns), 0);
	assert_true(ns == 90 * SK_APP_NS_PER_SEC);
	assert_int_equal(sk_app_parse_duration("500ms", &ns), 0);
	assert_true(ns == 500000000);
	assert_int_equal(sk_app_parse_duration("1.5s", &ns), 0);
	assert_true(ns == 1500000000);
	assert_int_equal(sk_app_parse_duration("1h", &ns), 0);
	assert_true(ns == 3600 * SK_APP_NS_PER_SEC);
	assert_int_equal(sk_app_parse_duration("2us", &ns), 0);
	assert_true(ns == 2000);
	assert_int_equal(sk_app_parse_duration("0", &ns), 0);
	assert_true(ns == 0);
	assert_int_equal(sk_app_parse_duration("10x", &ns), -EINVAL);
	assert_int_equal(sk_app_parse_duration("10", &ns), -EINVAL);
	assert_int_equal(sk_app_parse_duration("-1s", &ns), -EINVAL);
	assert_int_equal(sk_app_parse_duration("", &ns), -EINVAL);
	assert_int_equal(sk_app_parse_duration("s", &ns), -EINVAL);
	assert_int_equal(sk_app_parse_duration("3000000h", &ns), -ERANGE);
}

static void test_bytes_and_cpus(void **state)
{
	uint64_t b;
	double c;

	assert_int_equal(sk_app_parse_bytes("1024", &b), 0);
	assert_true(b == 1024);
	assert_int_equal(sk_app_parse_bytes("512k", &b), 0);
	assert_true(b == 512 * 1024);
	assert_int_equal(sk_app_parse_bytes("64m", &b), 0);
	assert_true(b == 64ULL << 20);
	assert_int_equal(sk_app_parse_bytes("1g", &b), 0);
	assert_true(b == 1ULL << 30);
	assert_int_equal(sk_app_parse_bytes("1.5gb", &b), 0);
	assert_true(b == 3ULL << 29);
	assert_int_equal(sk_app_parse_bytes("2GiB", &b), 0);
	assert_true(b == 2ULL << 30);
	assert_int_equal(sk_app_parse_bytes("100b", &b), 0);
	assert_true(b == 100);
	assert_int_equal(sk_app_parse_bytes("64q", &b), -EINVAL);
	assert_int_equal(sk_app_parse_bytes("m", &b), -EINVAL);
	assert_int_equal(sk_app_parse_bytes("-1m", &b), -EINVAL);
	assert_int_equal(sk_app_parse_bytes("64 ", &b), -EINVAL);
	assert_int_equal(sk_app_parse_bytes("99999999999p", &b), -ERANGE);
	assert_int_equal(sk_app_parse_cpus("0.5", &c), 0);
	assert_true(c == 0.5);
	assert_int_equal(sk_app_parse_cpus("2", &c), 0);
	assert_true(c == 2.0);
	assert_int_equal(sk_app_parse_cpus("1,5", &c), -EINVAL);
	assert_int_equal(sk_app_parse_cpus("2000", &c), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interp_forms),
		cmocka_unit_test(test_interp_lazy_and_errors),
		cmocka_unit_test(test_interp_unset_list_and_depth),
		cmocka_unit_test(test_dotenv),
		cmocka_unit_test(test_dotenv_errors),
		cmocka_unit_test(test_shlex),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_bytes_and_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
