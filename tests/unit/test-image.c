/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-image.c - the image module's parsers and merges: reference
 * normalization, digests, manifest/index/docker manifest and config parsing
 * (with their error messages), config -> process (docker's override rules)
 * and user resolution against a rootfs's /etc/passwd and /etc/group.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "image/image-internal.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void check_norm(const char *in, const char *want)
{
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_image_name_normalize(in, &out, NULL), 0);
	assert_string_equal(out, want);
}

static void check_norm_bad(const char *in)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *out = NULL;

	assert_int_equal(sk_image_name_normalize(in, &out, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "invalid"));
}

static void test_normalize(void **state)
{
	check_norm("busybox", "docker.io/library/busybox:latest");
	check_norm("busybox:1.36", "docker.io/library/busybox:1.36");
	check_norm("me/app", "docker.io/me/app:latest");
	check_norm("localhost/app", "localhost/app:latest");
	check_norm("localhost:5000/a/b:v1", "localhost:5000/a/b:v1");
	check_norm("quay.io/x/y:2", "quay.io/x/y:2");
	check_norm("index.docker.io/library/alpine", "docker.io/library/alpine:latest");
	check_norm("a/b@" D1, "docker.io/a/b@" D1);
	check_norm_bad("");
	check_norm_bad("UPPER");
	check_norm_bad("a//b");
	check_norm_bad("a:bad tag");
	check_norm_bad("a@sha256:123");
	check_norm_bad("-a");
}

static void test_digest(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	char d[72];

	assert_int_equal(sk_digest_validate(D1, NULL), 0);
	assert_int_equal(sk_digest_validate("sha512:ab", &err), -EINVAL);
	assert_non_null(strstr(err->msg, "unsupported digest algorithm"));
	assert_int_equal(sk_digest_validate("sha256:ABC", NULL), -EINVAL);
	assert_int_equal(sk_digest_validate(NULL, NULL), -EINVAL);
	sk_sha256_buf("", 0, d);
	assert_string_equal(
	    d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static const char manifest_ok[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" SK_MT_OCI_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" SK_MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":10},"
    "\"layers\":[{\"mediaType\":\"" SK_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D2 "\",\"size\":5}]}";

static void test_manifest(void **state)
{
	struct sk_image_manifest *m = NULL;

	assert_int_equal(sk_image_manifest_parse(manifest_ok, strlen(manifest_ok), "m", &m, NULL),
			 0);
	assert_string_equal(m->config.digest, D1);
	assert_int_equal(m->n_layers, 1);
	assert_int_equal(m->layers[0].size, 5);
	sk_image_manifest_free(m);
}

static void manifest_bad(const char *json, const char *want)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_image_manifest *m = NULL;

	assert_true(sk_image_manifest_parse(json, strlen(json), "doc", &m, &err) < 0);
	assert_null(m);
	if (!strstr(err->msg, want))
		fail_msg("'%s' lacks '%s'", err->msg, want);
}

static void test_manifest_errors(void **state)
{
	manifest_bad("{", "invalid JSON");
	manifest_bad("{\"schemaVersion\":1}", "schemaVersion");
	manifest_bad("{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}",
		     "wrong mediaType 'text/plain'");
	manifest_bad(
	    "{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:x\",\"size\":1},\"layers\":[]}",
	    "config.digest");
	manifest_bad("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
		     "\",\"size\":-1},\"layers\":[]}",
		     "config.size");
	manifest_bad("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1}}",
		     "layers");
	manifest_bad("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},"
		     "\"layers\":[{\"mediaType\":\"application/x-foo\",\"digest\":\"" D2
		     "\",\"size\":1}]}",
		     "layers[0].mediaType: wrong mediaType 'application/x-foo'");
}

static void test_index_and_platform(void **state)
{
	static const char idx[] =
	    "{\"schemaVersion\":2,\"manifests\":["
	    "{\"mediaType\":\"" SK_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	    "{\"mediaType\":\"" SK_MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":1,"
	    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"x/y:1\"},"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_image_index *x = NULL;

	assert_int_equal(sk_image_index_parse(idx, strlen(idx), "index.json", &x, NULL), 0);
	assert_int_equal(x->n_manifests, 2);
	assert_false(sk_descriptor_matches_platform(&x->manifests[0], NULL));
	assert_true(sk_descriptor_matches_platform(&x->manifests[0], "linux/arm64"));
	assert_true(sk_descriptor_matches_platform(&x->manifests[0], "linux/arm64/v8"));
	assert_false(sk_descriptor_matches_platform(&x->manifests[0], "linux/arm64/v7"));
	assert_true(sk_descriptor_matches_platform(&x->manifests[1], NULL));
	assert_string_equal(x->manifests[1].ref_name, "x/y:1");
	sk_image_index_free(x);
	x = NULL;
	{
		static const char bad[] = "{\"schemaVersion\":2,\"manifests\":{}}";

		assert_true(sk_image_index_parse(bad, strlen(bad), "i", &x, &err) < 0);
	}
	assert_non_null(strstr(err->msg, "manifests: not an array"));
}

static void test_docker_manifest(void **state)
{
	static const char ok[] = "[{\"Config\":\"abc.json\",\"RepoTags\":[\"a:1\",\"b:2\"],"
				 "\"Layers\":[\"x/layer.tar\"]}]";
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_docker_manifest *m = NULL;

	assert_int_equal(sk_docker_manifest_parse(ok, strlen(ok), "manifest.json", &m, NULL), 0);
	assert_int_equal(m->n_entries, 1);
	assert_string_equal(m->entries[0].repo_tags[1], "b:2");
	sk_docker_manifest_free(m);
	m = NULL;
	assert_true(sk_docker_manifest_parse("[{\"Config\":1}]", 14, "manifest.json", &m, &err) <
		    0);
	assert_string_equal(err->msg, "manifest.json: [0].Config: not a string");
	sk_error_free(err);
	err = NULL;
	assert_true(sk_docker_manifest_parse("[]", 2, "manifest.json", &m, &err) < 0);
}

static const char config_ok[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
    "\"config\":{\"Entrypoint\":[\"/bin/ep\"],\"Cmd\":[\"a\",\"b\"],\"Env\":[\"A=1\",\"PATH=/x\"],"
    "\"WorkingDir\":\"work\",\"User\":\"app\",\"StopSignal\":\"SIGINT\","
    "\"ExposedPorts\":{\"80/tcp\":{}},\"Labels\":{\"k\":\"v\"},"
    "\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000000,\"Retries\":3}},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}}";

static void test_config(void **state)
{
	struct sk_image_config *c = NULL;

	assert_int_equal(sk_image_config_parse(config_ok, strlen(config_ok), "c", &c, NULL), 0);
	assert_string_equal(c->entrypoint[0], "/bin/ep");
	assert_string_equal(c->cmd[1], "b");
	assert_string_equal(c->stop_signal, "SIGINT");
	assert_string_equal(c->exposed_ports[0], "80/tcp");
	assert_int_equal(c->n_labels, 1);
	assert_string_equal(c->labels[0].value, "v");
	assert_int_equal(c->healthcheck->retries, 3);
	assert_true(c->healthcheck->interval == 1000000000);
	assert_string_equal(c->diff_ids[0], D1);
	sk_image_config_free(c);
}

static void config_bad(const char *json, const char *want)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_image_config *c = NULL;

	assert_true(sk_image_config_parse(json, strlen(json), "cfg", &c, &err) < 0);
	if (!strstr(err->msg, want))
		fail_msg("'%s' lacks '%s'", err->msg, want);
}

static void test_config_errors(void **state)
{
	config_bad("[]", "not an object");
	config_bad("{}", "rootfs: missing");
	config_bad("{\"rootfs\":{\"type\":\"x\"}}", "rootfs.type");
	config_bad("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"nope\"]}}",
		   "rootfs.diff_ids[0]");
	config_bad("{\"config\":{\"Cmd\":\"ls\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		   "config.Cmd: not an array of strings");
	config_bad("{\"config\":{\"Labels\":{\"a\":1}},\"rootfs\":{\"type\":\"layers\"}}",
		   "config.Labels.a");
	config_bad(
	    "{\"config\":{\"Healthcheck\":{\"Interval\":-1}},\"rootfs\":{\"type\":\"layers\"}}",
	    "config.Healthcheck.Interval");
}

/* A rootfs with /etc/passwd and /etc/group; returns its path (owned). */
static char *make_rootfs(void)
{
	char tmpl[] = "/tmp/test-image-XXXXXX";
	char *dir = sk_strdup(mkdtemp(tmpl));
	_cleanup_free_ char *etc = sk_path_join(dir, "etc"), *pw = sk_path_join(dir, "etc/passwd"),
			    *gr = sk_path_join(dir, "etc/group");
	static const char passwd[] =
	    "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"
	    "broken-line\n";
	static const char group[] =
	    "root:x:0:\nappgrp:x:1001:\nwheel:x:10:root,app\naudio:x:29:app\n";

	assert_int_equal(mkdir(etc, 0755), 0);
	assert_int_equal(sk_write_file_atomic(pw, passwd, strlen(passwd), 0644, false), 0);
	assert_int_equal(sk_write_file_atomic(gr, group, strlen(group), 0644, false), 0);
	return dir;
}

static void test_resolve_user(void **state)
{
	_cleanup_free_ char *root = make_rootfs();
	_cleanup_error_ struct sk_error *err = NULL;
	uint32_t uid, gid, *gids = NULL;
	size_t n = 0;

	assert_int_equal(sk_image_resolve_user(root, "app", &uid, &gid, &gids, &n, NULL), 0);
	assert_int_equal(uid, 1000);
	assert_int_equal(gid, 1001);
	assert_int_equal(n, 2);
	assert_int_equal(gids[0], 10);
	assert_int_equal(gids[1], 29);
	free(gids);
	assert_int_equal(sk_image_resolve_user(root, "app:wheel", &uid, &gid, NULL, NULL, NULL), 0);
	assert_int_equal(gid, 10);
	assert_int_equal(sk_image_resolve_user(root, "1000", &uid, &gid, NULL, NULL, NULL), 0);
	assert_int_equal(gid, 1001);
	assert_int_equal(sk_image_resolve_user(NULL, "5:6", &uid, &gid, NULL, NULL, NULL), 0);
	assert_int_equal(uid, 5);
	assert_int_equal(gid, 6);
	assert_int_equal(sk_image_resolve_user(root, "4242", &uid, &gid, NULL, NULL, NULL), 0);
	assert_int_equal(gid, 0);
	assert_int_equal(sk_image_resolve_user(root, "", &uid, &gid, NULL, NULL, NULL), 0);
	assert_int_equal(uid, 0);
	assert_true(sk_image_resolve_user(root, "nobody", &uid, &gid, NULL, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, "user 'nobody' not found"));
	sk_error_free(err);
	err = NULL;
	assert_true(sk_image_resolve_user(root, "app:nogroup", &uid, &gid, NULL, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, "group 'nogroup' not found"));
	assert_int_equal(sk_rm_rf(root), 0);
}

static void test_resolve_user_symlink_stays_inside(void **state)
{
	_cleanup_free_ char *root = make_rootfs(), *pw = sk_path_join(root, "etc/passwd");
	_cleanup_error_ struct sk_error *err = NULL;
	uint32_t uid, gid;

	/* /etc/passwd -> /etc/passwd is resolved in the image, not on the host */
	assert_int_equal(unlink(pw), 0);
	assert_int_equal(symlink("/etc/../../../../etc/passwd", pw), 0);
	assert_true(sk_image_resolve_user(root, "root", &uid, &gid, NULL, NULL, &err) < 0);
	assert_int_equal(sk_rm_rf(root), 0);
}

static void test_apply_config(void **state)
{
	_cleanup_free_ char *root = make_rootfs();
	struct sk_image_config *c = NULL;
	struct sk_process p = { 0 };
	char *ep[] = { (char *)"/bin/other", NULL }, *cmd[] = { (char *)"x", NULL },
	     *env[] = { (char *)"A=2", (char *)"B=3", NULL }, *empty[] = { NULL };
	struct sk_image_overrides o = { 0 };

	assert_int_equal(sk_image_config_parse(config_ok, strlen(config_ok), "c", &c, NULL), 0);
	assert_int_equal(sk_image_apply_config(c, NULL, root, &p, NULL), 0);
	assert_string_equal(p.args[0], "/bin/ep");
	assert_string_equal(p.args[2], "b");
	assert_string_equal(p.cwd, "/work");
	assert_int_equal(p.user.uid, 1000);
	assert_string_equal(p.env[0], "PATH=/x"); /* the image's PATH replaces the default */
	assert_string_equal(p.env[1], "A=1");

	o.cmd = cmd; /* Cmd replaced, Entrypoint kept */
	o.env = env;
	assert_int_equal(sk_image_apply_config(c, &o, root, &p, NULL), 0);
	assert_int_equal(sk_strv_length(p.args), 2);
	assert_string_equal(p.args[1], "x");
	assert_string_equal(p.env[1], "A=2");
	assert_string_equal(p.env[2], "B=3");

	o.cmd = NULL; /* a new Entrypoint drops the image's Cmd */
	o.entrypoint = ep;
	o.user = "0:0";
	o.workdir = "/w";
	assert_int_equal(sk_image_apply_config(c, &o, root, &p, NULL), 0);
	assert_int_equal(sk_strv_length(p.args), 1);
	assert_string_equal(p.args[0], "/bin/other");
	assert_int_equal(p.user.uid, 0);
	assert_string_equal(p.cwd, "/w");

	o.entrypoint = empty; /* nothing left to run */
	{
		_cleanup_error_ struct sk_error *err = NULL;

		assert_true(sk_image_apply_config(c, &o, root, &p, &err) < 0);
		assert_non_null(strstr(err->msg, "no command"));
	}
	sk_strv_free(p.args);
	sk_strv_free(p.env);
	free(p.cwd);
	free(p.user.additional_gids);
	sk_image_config_free(c);
	assert_int_equal(sk_rm_rf(root), 0);
}

static void test_bundle_write(void **state)
{
	_cleanup_free_ char *root = make_rootfs(), *bundle = sk_path_join(root, "bundle"),
			    *cfgpath = sk_path_join(bundle, "config.json");
	struct sk_image_config *c = NULL;
	struct sk_spec *spec = NULL;

	assert_int_equal(sk_image_config_parse(config_ok, strlen(config_ok), "c", &c, NULL), 0);
	assert_int_equal(sk_image_bundle_write(c, root, bundle, NULL), 0);
	assert_int_equal(sk_spec_load(cfgpath, &spec, NULL), 0);
	assert_false(spec->process->terminal);
	assert_string_equal(spec->process->args[0], "/bin/ep");
	assert_int_equal(spec->process->user.uid, 1000);
	assert_string_equal(spec->root_path, root);
	assert_false(spec->root_readonly);
	sk_spec_free(spec);
	sk_image_config_free(c);
	assert_int_equal(sk_rm_rf(root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_manifest_errors),
		cmocka_unit_test(test_index_and_platform),
		cmocka_unit_test(test_docker_manifest),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_resolve_user),
		cmocka_unit_test(test_resolve_user_symlink_stays_inside),
		cmocka_unit_test(test_apply_config),
		cmocka_unit_test(test_bundle_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
