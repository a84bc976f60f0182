/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-image-store.c - the store end to end in a temp dir: import of a
 * plain rootfs directory and tarball, lookup by name and id prefix, tag,
 * rm (untag, in-use refusal, force), export to an OCI layout and back with
 * the same id, a corrupted layout refused with the store left as it was,
 * prune, and (as root) an overlay rootfs mounted and removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "image/image-internal.h"

struct fx {
	char *tmp, *store, *rootfs;
	struct sk_image_store *s;
};

static void put(const char *dir, const char *name, const char *data)
{
	_cleanup_free_ char *p = sk_path_join(dir, name);

	assert_int_equal(sk_write_file_atomic(p, data, strlen(data), 0644, false), 0);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/test-image-store-XXXXXX";
	struct fx *f = sk_new0(struct fx, 1);

	f->tmp = sk_strdup(mkdtemp(tmpl));
	f->store = sk_path_join(f->tmp, "store");
	f->rootfs = sk_path_join(f->tmp, "rootfs");
	assert_int_equal(mkdir(f->rootfs, 0755), 0);
	{
		_cleanup_free_ char *etc = sk_path_join(f->rootfs, "etc");
		assert_int_equal(mkdir(etc, 0755), 0);
	}
	put(f->rootfs, "etc/passwd", "root:x:0:0::/:/bin/sh\napp:x:7:8::/:/bin/sh\n");
	put(f->rootfs, "etc/group", "root:x:0:\n");
	put(f->rootfs, "hello", "hello world\n");
	assert_int_equal(sk_image_store_open(f->store, true, &f->s, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sk_image_store_free(f->s);
	assert_int_equal(sk_rm_rf(f->tmp), 0);
	free(f->tmp);
	free(f->store);
	free(f->rootfs);
	free(f);
	return 0;
}

static char *import_rootfs(struct fx *f, const char *name)
{
	char *cmd[] = { (char *)"/hello", NULL };
	struct sk_image_import_opts o = { .name = name, .cmd = cmd, .user = "app" };
	char **ids = NULL, *id;

	assert_int_equal(sk_image_import(f->s, f->rootfs, &o, &ids, NULL), 0);
	assert_int_equal(sk_strv_length(ids), 1);
	id = sk_strdup(ids[0]);
	sk_strv_free(ids);
	return id;
}

static void test_import_lookup_tag_rm(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *id = import_rootfs(f, "app:1"), *prefix = sk_strndup(id + 7, 8);
	_cleanup_error_ struct sk_error *err = NULL;
	const struct sk_image_info *in;
	size_t n;

	assert_int_equal(sk_image_lookup(f->s, "app:1", &in, NULL), 0);
	assert_string_equal(in->id, id);
	assert_string_equal(in->names[0], "docker.io/library/app:1");
	assert_true(in->size > 0);
	assert_int_equal(sk_image_lookup(f->s, prefix, &in, NULL), 0);
	assert_int_equal(sk_image_lookup(f->s, id, &in, NULL), 0);
	assert_int_equal(sk_image_lookup(f->s, "nope", &in, &err), -ENOENT);
	assert_string_equal(err->msg, "image 'nope': No such file or directory");

	assert_int_equal(sk_image_tag(f->s, "app:1", "localhost/other:2", NULL), 0);
	assert_int_equal(sk_image_lookup(f->s, "other:2", &in, NULL), 0); /* localhost/ fallback */
	assert_int_equal(sk_image_remove(f->s, "app:1", false, NULL), 0); /* untag */
	(void)sk_image_list(f->s, &n);
	assert_int_equal(n, 1);
	assert_int_equal(sk_image_remove(f->s, "localhost/other:2", false, NULL), 0);
	(void)sk_image_list(f->s, &n);
	assert_int_equal(n, 0);
	{
		_cleanup_free_ char *blobs = sk_path_join(f->store, "blobs/sha256/"),
				    *p = sk_asprintf("%s%s", blobs, id + 7);
		assert_int_equal(access(p, F_OK), -1); /* rm collected its blobs */
	}
}

static void test_reopen_sees_index(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *id = import_rootfs(f, "keep:1");
	_cleanup_(sk_image_store_freep) struct sk_image_store *r = NULL;
	const struct sk_image_info *in;
	_cleanup_(sk_image_config_freep) struct sk_image_config *c = NULL;

	sk_image_store_free(f->s);
	assert_int_equal(sk_image_store_open(f->store, false, &r, NULL), 0);
	assert_int_equal(sk_image_lookup(r, "keep:1", &in, NULL), 0);
	assert_string_equal(in->id, id);
	assert_int_equal(sk_image_config_load(r, "keep:1", &c, NULL), 0);
	assert_string_equal(c->cmd[0], "/hello");
	assert_string_equal(c->user, "app");
	sk_image_store_free(TAKE_PTR(r));
	assert_int_equal(sk_image_store_open(f->store, true, &f->s, NULL), 0);
}

static void test_export_reimport_same_id(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *id = import_rootfs(f, "exp:1"), *out = sk_path_join(f->tmp, "out"),
			    *tar = sk_path_join(f->tmp, "out.tar");
	_cleanup_error_ struct sk_error *err = NULL;
	char **ids = NULL;
	size_t n;

	assert_int_equal(sk_image_export(f->s, "exp:1", out, SK_IMAGE_EXPORT_OCI_DIR, NULL), 0);
	assert_int_equal(sk_image_export(f->s, "exp:1", tar, SK_IMAGE_EXPORT_OCI_ARCHIVE, NULL), 0);
	assert_int_equal(sk_image_export(f->s, "exp:1", out, SK_IMAGE_EXPORT_OCI_DIR, &err),
			 -EEXIST);
	assert_int_equal(sk_image_remove(f->s, "exp:1", false, NULL), 0);
	assert_int_equal(sk_image_import(f->s, out, NULL, &ids, NULL), 0);
	assert_string_equal(ids[0], id);
	sk_strv_free(ids);
	ids = NULL;
	assert_int_equal(sk_image_remove(f->s, id, false, NULL), 0);
	assert_int_equal(sk_image_import(f->s, tar, NULL, &ids, NULL), 0);
	assert_string_equal(ids[0], id);
	sk_strv_free(ids);
	(void)sk_image_list(f->s, &n);
	assert_int_equal(n, 1);
}

/* Flips one byte of the layout's only layer blob (same size). */
static void corrupt_layer(const char *layout, struct sk_image_store *s, const char *id)
{
	const struct sk_image_info *in;
	_cleanup_free_ char *mb = NULL, *p = NULL;
	struct sk_image_manifest *m = NULL;
	size_t len;
	int fd;
	char c;

	assert_int_equal(sk_image_lookup(s, id, &in, NULL), 0);
	assert_int_equal(sk_blob_read(s, in->manifest_digest, &mb, &len, NULL), 0);
	assert_int_equal(sk_image_manifest_parse(mb, len, "m", &m, NULL), 0);
	p = sk_asprintf("%s/blobs/sha256/%s", layout, sk_digest_hex(m->layers[0].digest));
	sk_image_manifest_free(m);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, 100), 1);
	c ^= 1;
	assert_int_equal(pwrite(fd, &c, 1, 100), 1);
	close(fd);
}

static void test_corrupt_layout_refused(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *id = import_rootfs(f, "c:1"), *out = sk_path_join(f->tmp, "bad");
	_cleanup_error_ struct sk_error *err = NULL;
	size_t n;

	assert_int_equal(sk_image_export(f->s, "c:1", out, SK_IMAGE_EXPORT_OCI_DIR, NULL), 0);
	corrupt_layer(out, f->s, id);
	assert_int_equal(sk_image_remove(f->s, "c:1", false, NULL), 0);
	assert_true(sk_image_import(f->s, out, NULL, NULL, &err) < 0);
	if (!strstr(err->msg, "digest mismatch for blob sha256:"))
		fail_msg("%s", err->msg);
	(void)sk_image_list(f->s, &n);
	assert_int_equal(n, 0);
	{
		_cleanup_free_ char *layers = sk_path_join(f->store, "layers");
		_cleanup_close_ int fd = open(layers, O_RDONLY | O_DIRECTORY);
		assert_int_equal(sk_tree_size(fd, "."), 0); /* nothing left behind */
	}
}

static void test_name_with_multi_image_refused(void **state)
{
	struct fx *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_image_import_opts o = { .name = "Bad Name" };

	assert_true(sk_image_import(f->s, f->rootfs, &o, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, "invalid"));
}

static void test_prune(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *id = import_rootfs(f, "p:1");
	uint64_t freed = 0;
	size_t n;

	assert_int_equal(sk_image_prune(f->s, &freed, NULL), 0);
	assert_int_equal(freed, 0); /* named: kept */
	put(f->rootfs, "more", "more\n");
	{
		_cleanup_free_ char *id2 = import_rootfs(f, "p:1"); /* takes the name */
		assert_string_not_equal(id, id2);
	}
	assert_int_equal(sk_image_prune(f->s, &freed, NULL), 0);
	assert_true(freed > 0);
	(void)sk_image_list(f->s, &n);
	assert_int_equal(n, 1);
}

static void test_rootfs_mount(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *id = import_rootfs(f, "m:1"), *path = NULL, *hello = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	size_t n;

	if (geteuid() != 0)
		skip();
	assert_int_equal(sk_image_rootfs_mount(f->s, "m:1", "../x", false, &path, &err), -EINVAL);
	assert_int_equal(sk_image_rootfs_mount(f->s, "m:1", "ctr1", false, &path, NULL), 0);
	hello = sk_path_join(path, "hello");
	assert_int_equal(access(hello, R_OK), 0);
	put(path, "written", "upper\n");
	free(path);
	path = NULL;
	sk_error_free(err);
	err = NULL;
	assert_int_equal(sk_image_rootfs_mount(f->s, "m:1", "ctr1", false, &path, &err), -EEXIST);
	sk_error_free(err);
	err = NULL;
	assert_int_equal(sk_image_remove(f->s, "m:1", false, &err), -EBUSY);
	assert_non_null(strstr(err->msg, "in use"));
	assert_int_equal(sk_image_remove(f->s, "m:1", true, NULL), 0);
	assert_int_equal(access(hello, R_OK), 0); /* layers stay for the container */
	assert_int_equal(sk_image_rootfs_unmount(f->s, "ctr1", NULL), 0);
	assert_int_equal(access(hello, F_OK), -1);
	assert_int_equal(sk_image_rootfs_unmount(f->s, "ctr1", NULL), 0);
	assert_int_equal(sk_image_prune(f->s, NULL, NULL), 0);
	(void)sk_image_list(f->s, &n);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_import_lookup_tag_rm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_sees_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_reimport_same_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_layout_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_with_multi_image_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_mount, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
