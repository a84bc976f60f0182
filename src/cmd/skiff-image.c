/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-image.c - `skiff image ...`: import, ls, inspect, tag, rm, export,
 * prune, mount, umount and bundle over the image store (src/lib/image).
 * Argument parsing and printing only; every operation is one library call.
 * Progress goes to stderr only when it is a terminal.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "cmd/skiff-cli.h"
#include "image/image.h"

static int usage(void)
{
	fprintf(
	    stderr,
	    "usage: skiff image import PATH [--name NAME[:TAG]] [--platform OS/ARCH]\n"
	    "                   [--entrypoint ARGV] [--cmd ARGV] [--env K=V]... [--workdir DIR]\n"
	    "                   [--user USER[:GROUP]] [--expose PORT[/PROTO]]...\n"
	    "       skiff image ls [--json]\n"
	    "       skiff image inspect NAME...\n"
	    "       skiff image tag SRC DST\n"
	    "       skiff image rm [--force] NAME...\n"
	    "       skiff image export NAME PATH [--format oci-dir|oci-archive]\n"
	    "       skiff image prune\n"
	    "       skiff image mount [--read-only] NAME ID\n"
	    "       skiff image umount ID\n"
	    "       skiff image bundle NAME DIR [--id ID] [--read-only]\n"
	    "ARGV is a JSON array ('[\"sh\",\"-c\",\"echo hi\"]') or words split on spaces.\n");
	return 2;
}

static int open_store(const struct skiff_opts *o, bool write, struct sk_image_store **ret)
{
	struct sk_error *err = NULL;

	if (sk_image_store_open(o->store, write, ret, &err) < 0)
		return skiff_fail(err);
	return 0;
}

/* A JSON array of strings, or words split on blanks. */
static char **parse_argv(const char *s)
{
	char **v = sk_new0(char *, 1);
	json_t *j;

	if (s[0] == '[' && (j = json_loads(s, 0, NULL))) {
		size_t i;
		json_t *e;

		json_array_foreach(j, i, e) if (json_is_string(e))
		    sk_strv_push(&v, json_string_value(e));
		json_decref(j);
		return v;
	}
	_cleanup_free_ char *copy = sk_strdup(s);
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		sk_strv_push(&v, w);
	return v;
}

static void progress_cb(const char *what, uint64_t done, uint64_t total, void *userdata)
{
	int *shown = userdata;
	size_t n = strlen(what);

	if (n > 40)
		what += n - 40;
	if (total)
		fprintf(stderr, "\rimporting %-40s %3" PRIu64 "%%", what,
			total ? done * 100 / total : 0);
	else
		fprintf(stderr, "\rimporting %-40s %8.1f MB", what, (double)done / 1e6);
	*shown = 1;
}

static int cmd_import(const struct skiff_opts *so, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "platform", required_argument, NULL, 'p' },
		{ "entrypoint", required_argument, NULL, 'E' },
		{ "cmd", required_argument, NULL, 'C' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "expose", required_argument, NULL, 'x' },
		{ 0 },
	};
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	_cleanup_strv_ char **env = NULL, **expose = NULL, **ep = NULL, **cmd = NULL, **ids = NULL;
	struct sk_image_import_opts io = { 0 };
	struct sk_error *err = NULL;
	int c, shown = 0, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			io.name = optarg;
			break;
		case 'p':
			io.platform = optarg;
			break;
		case 'E':
			sk_strv_free(ep);
			ep = parse_argv(optarg);
			break;
		case 'C':
			sk_strv_free(cmd);
			cmd = parse_argv(optarg);
			break;
		case 'e':
			sk_strv_push(&env, optarg);
			break;
		case 'w':
			io.workdir = optarg;
			break;
		case 'u':
			io.user = optarg;
			break;
		case 'x':
			sk_strv_push(&expose, optarg);
			break;
		default:
			return usage();
		}
	}
	if (optind + 1 != argc)
		return usage();
	io.entrypoint = ep;
	io.cmd = cmd;
	io.env = env;
	io.expose = expose;
	if (isatty(STDERR_FILENO)) {
		io.progress = progress_cb;
		io.userdata = &shown;
	}
	if ((r = open_store(so, true, &s)) != 0)
		return r;
	r = sk_image_import(s, argv[optind], &io, &ids, &err);
	if (shown)
		fprintf(stderr, "\r\033[K");
	if (r < 0)
		return skiff_fail(err);
	for (char **i = ids; *i; i++)
		printf("%s\n", *i);
	return 0;
}

static void human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000 && u + 1 < SK_ELEMENTSOF(units)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.3g %s" : "%.0f %s", v, units[u]);
}

static int cmd_ls(const struct skiff_opts *so, int argc, char **argv)
{
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	bool as_json = argc == 2 && !strcmp(argv[1], "--json");
	const struct sk_image_info *imgs;
	size_t n;
	int r;

	if (argc > 2 || (argc == 2 && !as_json))
		return usage();
	if ((r = open_store(so, false, &s)) != 0)
		return r;
	imgs = sk_image_list(s, &n);
	if (as_json) {
		json_t *a = json_array();
		char *out;

		for (size_t i = 0; i < n; i++) {
			json_t *names = json_array();

			for (char **nm = imgs[i].names; *nm; nm++)
				json_array_append_new(names, json_string(*nm));
			json_array_append_new(
			    a, json_pack("{s:s, s:o, s:s, s:I, s:s?, s:s?, s:i}", "id", imgs[i].id,
					 "names", names, "digest", imgs[i].manifest_digest, "size",
					 (json_int_t)imgs[i].size, "created", imgs[i].created,
					 "imported", imgs[i].imported, "layers",
					 (int)sk_strv_length(imgs[i].diff_ids)));
		}
		out = json_dumps(a, JSON_INDENT(2));
		json_decref(a);
		printf("%s\n", out ? out : "[]");
		free(out);
		return 0;
	}
	printf("%-50s %-12s %10s  %s\n", "NAME", "ID", "SIZE", "CREATED");
	for (size_t i = 0; i < n; i++) {
		char size[32], created[32] = "-";
		char *none[] = { (char *)"<none>", NULL };

		human_size(imgs[i].size, size, sizeof(size));
		if (imgs[i].created) {
			snprintf(created, sizeof(created), "%.19s", imgs[i].created);
			if (strlen(created) > 10)
				created[10] = ' ';
		}
		for (char **nm = imgs[i].names[0] ? imgs[i].names : none; *nm; nm++)
			printf("%-50s %.12s %10s  %s\n", *nm, imgs[i].id + 7, size, created);
	}
	return 0;
}

static int cmd_inspect(const struct skiff_opts *so, int argc, char **argv)
{
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	int r;

	if (argc < 2)
		return usage();
	if ((r = open_store(so, false, &s)) != 0)
		return r;
	printf("[\n");
	for (int i = 1; i < argc; i++) {
		_cleanup_free_ char *out = NULL;
		struct sk_error *err = NULL;

		if (sk_image_inspect_json(s, argv[i], &out, &err) < 0) {
			printf("]\n");
			return skiff_fail(err);
		}
		printf("%s%s\n", out, i + 1 < argc ? "," : "");
	}
	printf("]\n");
	return 0;
}

static int cmd_tag(const struct skiff_opts *so, int argc, char **argv)
{
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	struct sk_error *err = NULL;
	int r;

	if (argc != 3)
		return usage();
	if ((r = open_store(so, true, &s)) != 0)
		return r;
	return sk_image_tag(s, argv[1], argv[2], &err) < 0 ? skiff_fail(err) : 0;
}

static int cmd_rm(const struct skiff_opts *so, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	bool force = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c != 'f')
			return usage();
		force = true;
	}
	if (optind >= argc)
		return usage();
	if ((r = open_store(so, true, &s)) != 0)
		return r;
	for (int i = optind; i < argc; i++) {
		struct sk_error *err = NULL;

		if (sk_image_remove(s, argv[i], force, &err) < 0)
			return skiff_fail(err);
		printf("removed %s\n", argv[i]);
	}
	return 0;
}

static int cmd_export(const struct skiff_opts *so, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'F' }, { 0 } };
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	const char *format = NULL;
	enum sk_image_export_format f;
	struct sk_error *err = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'F')
			return usage();
		format = optarg;
	}
	if (optind + 2 != argc)
		return usage();
	if (!format) {
		size_t n = strlen(argv[optind + 1]);
		format =
		    n > 4 && !strcmp(argv[optind + 1] + n - 4, ".tar") ? "oci-archive" : "oci-dir";
	}
	if (!strcmp(format, "oci-dir"))
		f = SK_IMAGE_EXPORT_OCI_DIR;
	else if (!strcmp(format, "oci-archive"))
		f = SK_IMAGE_EXPORT_OCI_ARCHIVE;
	else
		return usage();
	/* shared: export only reads the store */
	if ((r = open_store(so, false, &s)) != 0)
		return r;
	return sk_image_export(s, argv[optind], argv[optind + 1], f, &err) < 0 ? skiff_fail(err)
									       : 0;
}

static int cmd_prune(const struct skiff_opts *so, int argc, char **argv)
{
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	struct sk_error *err = NULL;
	uint64_t freed = 0;
	char human[32];
	int r;

	if (argc != 1)
		return usage();
	if ((r = open_store(so, true, &s)) != 0)
		return r;
	if (sk_image_prune(s, &freed, &err) < 0)
		return skiff_fail(err);
	human_size(freed, human, sizeof(human));
	printf("freed %" PRIu64 " bytes (%s)\n", freed, human);
	return 0;
}

static int cmd_mount(const struct skiff_opts *so, int argc, char **argv)
{
	static const struct option opts[] = { { "read-only", no_argument, NULL, 'r' }, { 0 } };
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	_cleanup_free_ char *path = NULL;
	struct sk_error *err = NULL;
	bool ro = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return usage();
		ro = true;
	}
	if (optind + 2 != argc)
		return usage();
	if ((r = open_store(so, true, &s)) != 0)
		return r;
	if (sk_image_rootfs_mount(s, argv[optind], argv[optind + 1], ro, &path, &err) < 0)
		return skiff_fail(err);
	printf("%s\n", path);
	return 0;
}

static int cmd_umount(const struct skiff_opts *so, int argc, char **argv)
{
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	struct sk_error *err = NULL;
	int r;

	if (argc != 2)
		return usage();
	if ((r = open_store(so, true, &s)) != 0)
		return r;
	return sk_image_rootfs_unmount(s, argv[1], &err) < 0 ? skiff_fail(err) : 0;
}

static int cmd_bundle(const struct skiff_opts *so, int argc, char **argv)
{
	static const struct option opts[] = { { "id", required_argument, NULL, 'i' },
					      { "read-only", no_argument, NULL, 'r' },
					      { 0 } };
	_cleanup_(sk_image_store_freep) struct sk_image_store *s = NULL;
	_cleanup_(sk_image_config_freep) struct sk_image_config *cfg = NULL;
	_cleanup_free_ char *path = NULL, *dircopy = NULL;
	struct sk_error *err = NULL;
	const char *id = NULL;
	bool ro = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i')
			id = optarg;
		else if (c == 'r')
			ro = true;
		else
			return usage();
	}
	if (optind + 2 != argc)
		return usage();
	dircopy = sk_strdup(argv[optind + 1]);
	if (!id)
		id = basename(dircopy);
	if ((r = open_store(so, true, &s)) != 0)
		return r;
	if (sk_image_config_load(s, argv[optind], &cfg, &err) < 0 ||
	    sk_image_rootfs_mount(s, argv[optind], id, ro, &path, &err) < 0)
		return skiff_fail(err);
	if (sk_image_bundle_write(cfg, path, argv[optind + 1], &err) < 0) {
		struct sk_error *e2 = NULL;

		(void)sk_image_rootfs_unmount(s, id, &e2);
		sk_error_free(e2);
		return skiff_fail(err);
	}
	printf("%s\n", id);
	return 0;
}

int skiff_cmd_image(const struct skiff_opts *o, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct skiff_opts *o, int argc, char **argv);
	} cmds[] = {
		{ "import", cmd_import },   { "ls", cmd_ls },	      { "list", cmd_ls },
		{ "inspect", cmd_inspect }, { "tag", cmd_tag },	      { "rm", cmd_rm },
		{ "export", cmd_export },   { "prune", cmd_prune },   { "mount", cmd_mount },
		{ "umount", cmd_umount },   { "bundle", cmd_bundle },
	};

	if (argc < 2)
		return usage();
	for (size_t i = 0; i < SK_ELEMENTSOF(cmds); i++)
		if (!strcmp(cmds[i].name, argv[1])) {
			optind = 0; /* 0, not 1: glibc re-reads the option string's ordering */
			return cmds[i].fn(o, argc - 1, argv + 1);
		}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage();
		return 0;
	}
	fprintf(stderr, "skiff: image: unknown command '%s'\n", argv[1]);
	return usage();
}
