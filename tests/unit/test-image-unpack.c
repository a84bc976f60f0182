/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-image-unpack.c - the layer unpacker: entry kinds (files, dirs,
 * symlinks, hard links, devices, fifos, xattrs, owners, modes, mtimes),
 * overlay whiteouts and opaque dirs, hard links into lower layers, and
 * hostile archives refused with the entry named and nothing written
 * outside the layer directory.  Tars are built in memory with libarchive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "base/util.h"
#include "image/image-internal.h"

struct ent {
	char type; /* f d l h c p w(raw name) */
	const char *path;
	const char *arg; /* data, or link target */
	mode_t mode;
};

static char tarbuf[1 << 20];

static size_t make_tar(const struct ent *ents, size_t n, const char *xattr_name)
{
	struct archive *w = archive_write_new();
	size_t used = 0;

	archive_write_set_format_pax(w);
	assert_int_equal(archive_write_open_memory(w, tarbuf, sizeof(tarbuf), &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		const struct ent *x = &ents[i];
		size_t len = x->type == 'f' && x->arg ? strlen(x->arg) : 0;

		archive_entry_set_pathname(e, x->path);
		archive_entry_set_perm(e, x->mode ? x->mode : 0644);
		archive_entry_set_mtime(e, 1000000 + (time_t)i, 0);
		archive_entry_set_uid(e, 1234);
		archive_entry_set_gid(e, 5678);
		switch (x->type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)len);
			if (xattr_name)
				archive_entry_xattr_add_entry(e, xattr_name, "v", 1);
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, x->arg);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, x->arg);
			break;
		case 'c':
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_rdev(e, makedev(1, 3));
			break;
		case 'p':
			archive_entry_set_filetype(e, AE_IFIFO);
			break;
		}
		assert_true(archive_write_header(w, e) >= ARCHIVE_WARN);
		if (len)
			assert_int_equal(archive_write_data(w, x->arg, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
	return used;
}

struct fixture {
	char *dir;
	int fd;
};

static int setup(void **state)
{
	char tmpl[] = "/tmp/test-unpack-XXXXXX";
	struct fixture *f = sk_new0(struct fixture, 1);

	f->dir = sk_strdup(mkdtemp(tmpl));
	f->fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->fd);
	assert_int_equal(sk_rm_rf(f->dir), 0);
	free(f->dir);
	free(f);
	return 0;
}

static int unpack(struct fixture *f, const struct ent *e, size_t n, struct sk_error **err)
{
	size_t len = make_tar(e, n, NULL);

	return sk_unpack_buffer(tarbuf, len, f->fd, NULL, err);
}

static void test_kinds(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = {
		{ 'd', "./etc", NULL, 0755 },
		{ 'f', "./etc/passwd", "root:x:0:0::/:/bin/sh\n", 0600 },
		{ 'f', "bin/sticky", "x", 04755 },
		{ 'l', "bin/sh", "/bin/busybox", 0 },
		{ 'l', "etc/rel", "../bin/sh", 0 },
		{ 'h', "etc/passwd-", "etc/passwd", 0 },
		{ 'c', "dev/null", NULL, 0666 },
		{ 'p', "run/fifo", NULL, 0600 },
	};
	char buf[64];
	struct stat st, st2;

	assert_int_equal(unpack(f, e, SK_ELEMENTSOF(e), NULL), 0);
	assert_int_equal(fstatat(f->fd, "etc/passwd", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 22);
	assert_int_equal(st.st_mtime, 1000001);
	if (geteuid() == 0)
		assert_int_equal(st.st_uid, 1234);
	assert_int_equal(fstatat(f->fd, "etc/passwd-", &st2, 0), 0);
	assert_true(st.st_ino == st2.st_ino);
	assert_int_equal(fstatat(f->fd, "bin/sticky", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 04755); /* chmod after chown */
	assert_int_equal(readlinkat(f->fd, "bin/sh", buf, sizeof(buf)), 12);
	assert_int_equal(fstatat(f->fd, "dev/null", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
	assert_int_equal(fstatat(f->fd, "run/fifo", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(fstatat(f->fd, "etc", &st, 0), 0);
	assert_int_equal(st.st_mtime, 1000000); /* directory times set last */
}

static void test_whiteouts(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = {
		{ 'd', "a", NULL, 0755 },	{ 'f', "a/.wh.gone", "", 0 },
		{ 'd', "b", NULL, 0755 },	{ 'f', "b/.wh..wh..opq", "", 0 },
		{ 'f', ".wh..wh.plnk", "", 0 },
	};
	char v[4] = { 0 };
	struct stat st;

	assert_int_equal(unpack(f, e, SK_ELEMENTSOF(e), NULL), 0);
	assert_int_equal(fstatat(f->fd, "a/gone", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == 0);
	assert_int_equal(fstatat(f->fd, "a/.wh.gone", &st, AT_SYMLINK_NOFOLLOW), -1);
	{
		_cleanup_free_ char *p = sk_asprintf("%s/b", f->dir);

		assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
		assert_int_equal(v[0], 'y');
	}
}

static void test_replace_file_by_dir_and_back(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = {
		{ 'f', "x", "file", 0 },   { 'd', "x", NULL, 0755 }, { 'f', "x/in", "in", 0 },
		{ 'f', "y", "second", 0 }, { 'f', "y", "third", 0 },
	};
	struct stat st;

	assert_int_equal(unpack(f, e, SK_ELEMENTSOF(e), NULL), 0);
	assert_int_equal(fstatat(f->fd, "x/in", &st, 0), 0);
	assert_int_equal(fstatat(f->fd, "y", &st, 0), 0);
	assert_int_equal(st.st_size, 5);
}

static void test_overlay_xattrs_dropped(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = { { 'f', "evil", "x", 0 } };
	size_t len = make_tar(e, 1, "trusted.overlay.redirect");
	_cleanup_free_ char *p = sk_asprintf("%s/evil", f->dir);
	char v[8];

	assert_int_equal(sk_unpack_buffer(tarbuf, len, f->fd, NULL, NULL), 0);
	assert_int_equal(lgetxattr(p, "trusted.overlay.redirect", v, sizeof(v)), -1);
}

static void test_user_xattr_kept(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = { { 'f', "attr", "x", 0 } };
	size_t len = make_tar(e, 1, "user.skiff");
	_cleanup_free_ char *p = sk_asprintf("%s/attr", f->dir);
	char v[8];

	assert_int_equal(sk_unpack_buffer(tarbuf, len, f->fd, NULL, NULL), 0);
	assert_int_equal(lgetxattr(p, "user.skiff", v, sizeof(v)), 1);
}

static void hostile(struct fixture *f, const struct ent *e, size_t n, const char *want)
{
	_cleanup_error_ struct sk_error *err = NULL;

	assert_true(unpack(f, e, n, &err) < 0);
	if (!strstr(err->msg, want))
		fail_msg("'%s' lacks '%s'", err->msg, want);
}

static void test_hostile(void **state)
{
	struct fixture *f = *state;
	const struct ent dotdot[] = { { 'f', "../escape", "x", 0 } };
	const struct ent deep[] = { { 'd', "a", NULL, 0755 }, { 'f', "a/../../escape", "x", 0 } };
	const struct ent abs[] = { { 'f', "/abs", "x", 0 } };
	const struct ent sl[] = { { 'l', "a/b/up", "../../../etc", 0 } };
	const struct ent via[] = { { 'l', "link", "/tmp", 0 }, { 'f', "link/pwned", "x", 0 } };
	const struct ent hl[] = { { 'h', "hl", "../../etc/passwd", 0 } };
	const struct ent hlabs[] = { { 'h', "hl2", "/etc/passwd", 0 } };
	const struct ent hlmiss[] = { { 'h', "hl3", "nothere", 0 } };
	const struct ent wh[] = { { 'f', ".wh...", "", 0 } };
	char longname[5000];

	hostile(f, dotdot, 1, "'../escape'");
	hostile(f, deep, 2, "contains '..'");
	hostile(f, abs, 1, "absolute");
	hostile(f, sl, 1, "'a/b/up': symlink to '../../../etc' escapes the layer");
	hostile(f, via, 2, "'link' is a symlink");
	hostile(f, hl, 1, "entry 'hl'");
	hostile(f, hlabs, 1, "absolute hard link target");
	hostile(f, hlmiss, 1, "hard link target 'nothere' not found");
	hostile(f, wh, 1, "invalid whiteout");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	{
		const struct ent lng[] = { { 'f', longname, "x", 0 } };

		hostile(f, lng, 1, "longer than");
	}
	assert_int_equal(access("/tmp/pwned", F_OK), -1);
}

static void test_hardlink_into_lower(void **state)
{
	struct fixture *f = *state;
	char tmpl[] = "/tmp/test-unpack-lower-XXXXXX";
	_cleanup_free_ char *lower = sk_strdup(mkdtemp(tmpl));
	int lfd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct sk_unpack_opts o = { .lower_fds = &lfd, .n_lowers = 1 };
	const struct ent base[] = { { 'd', "d", NULL, 0755 },
				    { 'f', "d/orig", "lower data", 0640 } };
	const struct ent top[] = { { 'h', "d/link", "d/orig", 0 } };
	struct stat st;
	size_t len = make_tar(base, 2, NULL);

	assert_int_equal(sk_unpack_buffer(tarbuf, len, lfd, NULL, NULL), 0);
	len = make_tar(top, 1, NULL);
	assert_int_equal(sk_unpack_buffer(tarbuf, len, f->fd, &o, NULL), 0);
	assert_int_equal(fstatat(f->fd, "d/link", &st, 0), 0);
	assert_int_equal(st.st_size, 10);
	assert_int_equal(st.st_mode & 0777, 0640);
	close(lfd);
	assert_int_equal(sk_rm_rf(lower), 0);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = { { 'f', "big", NULL, 0 } };
	_cleanup_error_ struct sk_error *err = NULL;
	static char data[100000];
	struct ent e2[] = { { 'f', "big", data, 0 } };
	size_t len;

	(void)e;
	memset(data, 'z', sizeof(data) - 1);
	len = make_tar(e2, 1, NULL);
	assert_true(sk_unpack_buffer(tarbuf, len / 2, f->fd, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, "big"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_file_by_dir_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_xattrs_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_xattr_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_into_lower, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
