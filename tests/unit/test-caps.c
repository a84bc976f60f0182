/* SPDX-License-Identifier: Apache-2.0 */
/* test-caps.c - capability sets applied in forked children, read back from /proc/self/status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/prctl.h>

#include <linux/capability.h>

#include "runtime/caps.h"
#include "sk-fork.h"

#define BIT(c) (1ull << (c))

/* Applies the sets in arg, then reports the five lines of /proc/self/status. */
static int child_apply(void *arg, int fd)
{
	static const char *const fields[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_caps_apply(arg, &err) < 0)
		return sk_test_report(fd, -1, err);
	for (size_t i = 0; i < SK_ELEMENTSOF(fields); i++) {
		_cleanup_free_ char *v = sk_test_status_field(fields[i]);
		dprintf(fd, "%s=%s\n", fields[i], v ? v : "?");
	}
	return 0;
}

static void test_last_cap(void **state)
{
	_cleanup_free_ char *buf = NULL;
	int last;

	assert_int_equal(sk_read_file("/proc/sys/kernel/cap_last_cap", &buf, NULL), 0);
	assert_int_equal(sk_parse_int(strtok(buf, "\n"), &last), 0);
	assert_int_equal(sk_caps_last_cap(), last);
	assert_int_equal(sk_caps_last_cap(), last); /* cached */
	assert_true(sk_caps_kernel_mask() == (BIT(last + 1) - 1));
}

static void test_apply_sets(void **state)
{
	struct sk_caps c = {
		.has_bounding = true,
		.has_permitted = true,
		.has_effective = true,
		.has_inheritable = true,
		.has_ambient = true,
		/* bit 62 is unknown to any kernel: ignored */
		.bounding = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_SETGID) |
			    BIT(CAP_SETUID) | BIT(CAP_NET_BIND_SERVICE) | BIT(62),
		.permitted = BIT(CAP_CHOWN) | BIT(CAP_SETUID) | BIT(CAP_NET_BIND_SERVICE) | BIT(62),
		.effective = BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE),
		.inheritable = BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE),
		.ambient = BIT(CAP_NET_BIND_SERVICE) | BIT(62),
	};
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_test_fork(child_apply, &c, &out), 0);
	assert_string_equal(out, "CapInh=0000000000000401\n"
				 "CapPrm=0000000000000481\n"
				 "CapEff=0000000000000401\n"
				 "CapBnd=00000000000004c3\n"
				 "CapAmb=0000000000000400\n");
}

static void test_apply_nothing(void **state)
{
	/* runc: a capabilities object without a set means that set is empty */
	struct sk_caps c = { .has_bounding = false };
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_test_fork(child_apply, &c, &out), 0);
	assert_string_equal(out, "CapInh=0000000000000000\n"
				 "CapPrm=0000000000000000\n"
				 "CapEff=0000000000000000\n"
				 "CapBnd=0000000000000000\n"
				 "CapAmb=0000000000000000\n");
}

/* Regaining a dropped permitted capability must fail with EPERM and say so. */
static int child_regain(void *arg, int fd)
{
	struct sk_caps c = { .has_permitted = true,
			     .has_effective = true,
			     .permitted = BIT(CAP_CHOWN),
			     .effective = BIT(CAP_CHOWN) };
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_caps_set(&c, &err) < 0)
		return sk_test_report(fd, -1, err);
	c.permitted |= BIT(CAP_SETUID);
	int r = sk_caps_set(&c, &err);
	return sk_test_report(fd, r, err);
}

static void test_regain_fails(void **state)
{
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_test_fork(child_regain, NULL, &out), 1);
	assert_string_equal(out, "capset inheritable 0x0 permitted 0x81 effective 0x1: "
				 "Operation not permitted");
}

/*
 * An ambient capability that is not inheritable cannot be raised: like runc
 * (whose default spec asks for it), the set succeeds without it.
 */
static int child_ambient(void *arg, int fd)
{
	struct sk_caps c = { .has_permitted = true,
			     .has_ambient = true,
			     .permitted = BIT(CAP_NET_BIND_SERVICE),
			     .ambient = BIT(CAP_NET_BIND_SERVICE) };
	_cleanup_error_ struct sk_error *err = NULL;
	int r = sk_caps_set(&c, &err);

	if (r == 0 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 0)
		dprintf(fd, "CAP_NET_BIND_SERVICE is ambient");
	return sk_test_report(fd, r, err);
}

static void test_ambient_needs_inheritable(void **state)
{
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_test_fork(child_ambient, NULL, &out), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_last_cap),
		cmocka_unit_test(test_apply_sets),
		cmocka_unit_test(test_apply_nothing),
		cmocka_unit_test(test_regain_fails),
		cmocka_unit_test(test_ambient_needs_inheritable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
