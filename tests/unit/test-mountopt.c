/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-mountopt.c - OCI mount options to mount(2) flags, propagation,
 * recursive attributes and the filesystem data string.  Pure: no kernel.
 */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>

#include "base/util.h"
#include "runtime/mountopt.h"

#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

/* Parses a NULL-terminated list given inline; fails the test on error. */
#define PARSE(o, ...)                                                                              \
	do {                                                                                       \
		char *const opts_[] = { __VA_ARGS__, NULL };                                       \
		_cleanup_error_ struct sk_error *err_ = NULL;                                      \
		assert_int_equal(sk_mountopt_parse(opts_, (o), &err_), 0);                         \
		assert_null(err_);                                                                 \
	} while (0)

static void test_empty(void **state)
{
	struct sk_mountopt o;

	memset(&o, 0xff, sizeof(o));
	assert_int_equal(sk_mountopt_parse(NULL, &o, NULL), 0);
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.clear, 0);
	assert_int_equal(o.propagation, 0);
	assert_int_equal(o.attr_set, 0);
	assert_int_equal(o.attr_clr, 0);
	assert_false(o.tmpcopyup);
	assert_false(o.idmap);
	assert_false(o.ridmap);
	assert_null(o.data);
	sk_mountopt_release(&o);

	char *const none[] = { NULL };
	assert_int_equal(sk_mountopt_parse(none, &o, NULL), 0);
	assert_int_equal(o.flags, 0);
	assert_null(o.data);
	sk_mountopt_release(&o);
}

static void test_flags_set(void **state)
{
	struct sk_mountopt o;

	PARSE(&o, "ro", "nosuid", "nodev", "noexec", "sync", "dirsync", "remount", "mand",
	      "noatime", "nodiratime", "relatime", "strictatime", "lazytime", "silent", "defaults");
	assert_int_equal(o.flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS |
				      MS_DIRSYNC | MS_REMOUNT | MS_MANDLOCK | MS_NOATIME |
				      MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME |
				      MS_SILENT);
	assert_int_equal(o.clear, 0);
	assert_null(o.data);
	sk_mountopt_release(&o);
}

static void test_flags_cleared(void **state)
{
	struct sk_mountopt o;

	PARSE(&o, "rw", "suid", "dev", "exec", "async", "nomand", "atime", "diratime", "norelatime",
	      "nostrictatime", "nolazytime", "loud");
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.clear, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS |
				      MS_MANDLOCK | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
				      MS_STRICTATIME | MS_LAZYTIME | MS_SILENT);
	assert_null(o.data);
	sk_mountopt_release(&o);
}

static void test_last_wins(void **state)
{
	struct sk_mountopt o;

	PARSE(&o, "ro", "rw");
	assert_int_equal(o.flags & MS_RDONLY, 0);
	assert_int_equal(o.clear & MS_RDONLY, MS_RDONLY);
	sk_mountopt_release(&o);

	PARSE(&o, "rw", "ro");
	assert_int_equal(o.flags & MS_RDONLY, MS_RDONLY);
	assert_int_equal(o.clear & MS_RDONLY, 0);
	sk_mountopt_release(&o);

	PARSE(&o, "nosuid", "suid", "nosuid", "exec", "noexec", "exec");
	assert_int_equal(o.flags, MS_NOSUID);
	assert_int_equal(o.clear, MS_NOEXEC);
	sk_mountopt_release(&o);
}

static void test_bind(void **state)
{
	struct sk_mountopt o;

	PARSE(&o, "bind");
	assert_int_equal(o.flags, MS_BIND);
	sk_mountopt_release(&o);

	PARSE(&o, "rbind", "ro");
	assert_int_equal(o.flags, MS_BIND | MS_REC | MS_RDONLY);
	assert_int_equal(o.propagation, 0);
	sk_mountopt_release(&o);
}

static void test_propagation_options(void **state)
{
	static const struct {
		const char *name;
		unsigned long want;
	} cases[] = {
		{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
		{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
		{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
		{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
	};

	for (size_t i = 0; i < SK_ELEMENTSOF(cases); i++) {
		char *const opts[] = { (char *)cases[i].name, NULL };
		struct sk_mountopt o;
		unsigned long p = 0;

		assert_int_equal(sk_mountopt_parse(opts, &o, NULL), 0);
		assert_int_equal(o.propagation, cases[i].want);
		/* propagation never leaks into the mount flags (mount(2) would reject the
     * mix) */
		assert_int_equal(o.flags, 0);
		assert_null(o.data);
		sk_mountopt_release(&o);

		assert_int_equal(sk_mountopt_propagation(cases[i].name, &p), 0);
		assert_int_equal(p, cases[i].want);
	}

	/* the last propagation option wins, it does not accumulate */
	struct sk_mountopt o;
	PARSE(&o, "rshared", "private");
	assert_int_equal(o.propagation, MS_PRIVATE);
	sk_mountopt_release(&o);
}

static void test_propagation_errors(void **state)
{
	unsigned long p = 12345;

	assert_int_equal(sk_mountopt_propagation("rslavee", &p), -EINVAL);
	assert_int_equal(sk_mountopt_propagation("", &p), -EINVAL);
	/* a known option of another class is not a propagation */
	assert_int_equal(sk_mountopt_propagation("ro", &p), -EINVAL);
	assert_int_equal(sk_mountopt_propagation("rbind", &p), -EINVAL);
	assert_int_equal(sk_mountopt_propagation("rro", &p), -EINVAL);
	assert_int_equal(sk_mountopt_propagation("SHARED", &p), -EINVAL);
	/* *ret is only set on success */
	assert_int_equal(p, 12345);
}

static void test_recursive_attrs(void **state)
{
	struct sk_mountopt o;

	PARSE(&o, "rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow");
	assert_int_equal(o.attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					 MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
					 MOUNT_ATTR_NOSYMFOLLOW);
	assert_int_equal(o.attr_clr, 0);
	/* recursive options are not mount(2) flags */
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.clear, 0);
	assert_null(o.data);
	sk_mountopt_release(&o);

	PARSE(&o, "rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow");
	assert_int_equal(o.attr_set, 0);
	assert_int_equal(o.attr_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					 MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
					 MOUNT_ATTR_NOSYMFOLLOW);
	sk_mountopt_release(&o);

	/* atime-class attributes */
	PARSE(&o, "rnoatime");
	assert_int_equal(o.attr_set, MOUNT_ATTR_NOATIME);
	sk_mountopt_release(&o);
	PARSE(&o, "rstrictatime");
	assert_int_equal(o.attr_set, MOUNT_ATTR_STRICTATIME);
	sk_mountopt_release(&o);
	PARSE(&o, "rrelatime");
	assert_int_equal(o.attr_set, MOUNT_ATTR_RELATIME);
	sk_mountopt_release(&o);
	PARSE(&o, "ratime", "rnorelatime", "rnostrictatime");
	assert_int_equal(o.attr_clr,
			 MOUNT_ATTR_NOATIME | MOUNT_ATTR_RELATIME | MOUNT_ATTR_STRICTATIME);
	sk_mountopt_release(&o);

	/* last wins between a set and its clear */
	PARSE(&o, "rro", "rrw");
	assert_int_equal(o.attr_set, 0);
	assert_int_equal(o.attr_clr, MOUNT_ATTR_RDONLY);
	sk_mountopt_release(&o);
	PARSE(&o, "rrw", "rro");
	assert_int_equal(o.attr_set, MOUNT_ATTR_RDONLY);
	assert_int_equal(o.attr_clr, 0);
	sk_mountopt_release(&o);

	/* "ro" and "rro" are independent */
	PARSE(&o, "ro", "rrw");
	assert_int_equal(o.flags, MS_RDONLY);
	assert_int_equal(o.attr_clr, MOUNT_ATTR_RDONLY);
	sk_mountopt_release(&o);
}

static void test_special(void **state)
{
	struct sk_mountopt o;

	PARSE(&o, "tmpcopyup");
	assert_true(o.tmpcopyup);
	assert_false(o.idmap);
	assert_false(o.ridmap);
	assert_int_equal(o.flags, 0);
	assert_null(o.data);
	sk_mountopt_release(&o);

	PARSE(&o, "idmap");
	assert_false(o.tmpcopyup);
	assert_true(o.idmap);
	assert_false(o.ridmap);
	sk_mountopt_release(&o);

	PARSE(&o, "ridmap", "rbind");
	assert_false(o.idmap);
	assert_true(o.ridmap);
	assert_int_equal(o.flags, MS_BIND | MS_REC);
	sk_mountopt_release(&o);
}

static void test_data(void **state)
{
	struct sk_mountopt o;

	PARSE(&o, "size=65536k");
	assert_string_equal(o.data, "size=65536k");
	sk_mountopt_release(&o);
	assert_null(o.data);

	/* unknown options are joined in order; known ones are taken out */
	PARSE(&o, "nosuid", "mode=755", "strictatime", "size=64k", "ro", "newinstance", "gid=5");
	assert_string_equal(o.data, "mode=755,size=64k,newinstance,gid=5");
	assert_int_equal(o.flags, MS_NOSUID | MS_STRICTATIME | MS_RDONLY);
	sk_mountopt_release(&o);

	/* options are case-sensitive: "RO" is for the filesystem */
	PARSE(&o, "RO", "x-foo");
	assert_string_equal(o.data, "RO,x-foo");
	assert_int_equal(o.flags, 0);
	sk_mountopt_release(&o);

	/* release is idempotent */
	sk_mountopt_release(&o);
	assert_null(o.data);
}

static void test_names(void **state)
{
	size_t n = sk_mountopt_count();
	static const char *const must[] = { "ro",	    "rw",	 "bind",   "rbind",
					    "rslave",	    "rprivate",	 "shared", "rro",
					    "rnosymfollow", "tmpcopyup", "idmap",  "nosuid",
					    "strictatime" };
	bool found[SK_ELEMENTSOF(must)] = { false };

	assert_true(n >= SK_ELEMENTSOF(must));
	for (size_t i = 0; i < n; i++) {
		const char *name = sk_mountopt_name(i);
		assert_non_null(name);
		assert_true(name[0] != '\0');
		/* no duplicates */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(name, sk_mountopt_name(j));
		for (size_t j = 0; j < SK_ELEMENTSOF(must); j++)
			if (!strcmp(name, must[j]))
				found[j] = true;
		/* every listed name is understood: it never ends up in data */
		char *const opts[] = { (char *)name, NULL };
		struct sk_mountopt o;
		assert_int_equal(sk_mountopt_parse(opts, &o, NULL), 0);
		assert_null(o.data);
		sk_mountopt_release(&o);
	}
	for (size_t j = 0; j < SK_ELEMENTSOF(must); j++)
		if (!found[j])
			fail_msg("'%s' missing from the option names", must[j]);
	assert_null(sk_mountopt_name(n));
	assert_null(sk_mountopt_name((size_t)-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_flags_set),
		cmocka_unit_test(test_flags_cleared),
		cmocka_unit_test(test_last_wins),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_propagation_options),
		cmocka_unit_test(test_propagation_errors),
		cmocka_unit_test(test_recursive_attrs),
		cmocka_unit_test(test_special),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
