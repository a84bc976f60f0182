/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-rootfs.c - sk_rootfs_prepare/pivot/finish for real, as root.
 *
 * Each case forks a child that unshares its mount namespace, builds the
 * container root from a spec (JSON written here) on a small rootfs in a
 * temporary directory, pivots into it, and then checks from inside what the
 * kernel shows: /proc/self/mountinfo, stat() of device nodes, EROFS on
 * read-only paths.  The child reports failures through a pipe; the parent
 * asserts, and after each case checks that nothing was mounted on the host
 * and nothing escaped the rootfs through a symlink.  Without root every case
 * is skipped.
 */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "oci/spec.h"
#include "runtime/rootfs.h"
#include "sk-fork.h"

/* ---- fixture: a rootfs in a temporary directory ---- */

struct fx {
	char dir[64];	 /* /tmp/skiff-unit-rootfs-XXXXXX */
	char *rootfs;	 /* dir/rootfs */
	char *bindsrc;	 /* dir/bindsrc, a host directory bind-mounted into the
                    container */
	char *escape;	 /* a name the escape mounts use: must appear nowhere on the host
                 */
	char *mountinfo; /* host mountinfo before the case */
};

static void mkdir_ok(const char *base, const char *rel, mode_t mode)
{
	_cleanup_free_ char *p = sk_path_join(base, rel);
	if (mkdir(p, mode) < 0)
		fail_msg("mkdir %s: %s", p, strerror(errno));
}

static void write_ok(const char *base, const char *rel, const char *text)
{
	_cleanup_free_ char *p = sk_path_join(base, rel);
	if (sk_write_file_atomic(p, text, strlen(text), 0644, false) < 0)
		fail_msg("write %s", p);
}

static void symlink_ok(const char *target, const char *base, const char *rel)
{
	_cleanup_free_ char *p = sk_path_join(base, rel);
	if (symlink(target, p) < 0)
		fail_msg("symlink %s: %s", p, strerror(errno));
}

static int setup(void **state)
{
	struct fx *f = sk_new0(struct fx, 1);

	if (geteuid() != 0) {
		*state = f;
		return 0;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/skiff-unit-rootfs-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->rootfs = sk_path_join(f->dir, "rootfs");
	f->bindsrc = sk_path_join(f->dir, "bindsrc");
	f->escape = sk_asprintf("skiff-unit-escape-%d", (int)getpid());
	static const char *const dirs[] = { "proc", "dev",     "etc",	     "tmp",    "bin",
					    "opt",  "opt/sub", "masked-dir", "ro-dir", "mnt" };
	mkdir_ok(f->dir, "rootfs", 0755);
	for (size_t i = 0; i < SK_ELEMENTSOF(dirs); i++)
		mkdir_ok(f->rootfs, dirs[i], 0755);
	write_ok(f->rootfs, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
	write_ok(f->rootfs, "opt/keep.txt", "original\n");
	write_ok(f->rootfs, "opt/sub/deep.txt", "deep\n");
	symlink_ok("keep.txt", f->rootfs, "opt/link");
	write_ok(f->rootfs, "masked-dir/secret", "s\n");
	write_ok(f->rootfs, "masked-file", "secret\n");
	write_ok(f->rootfs, "ro-dir/file", "x\n");
	write_ok(f->rootfs, "marker", "this is the rootfs\n");
	/* symlinks that point out of the rootfs, absolute and relative */
	symlink_ok("/etc", f->rootfs, "evil");
	symlink_ok("../../../../../../../etc", f->rootfs, "evil2");
	mkdir_ok(f->dir, "bindsrc", 0755);
	write_ok(f->bindsrc, "hello", "hi\n");
	if (sk_read_file("/proc/self/mountinfo", &f->mountinfo, NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

/* Host mount lines added since setup that mention our directory or /etc. */
static char *host_mount_changes(struct fx *f)
{
	_cleanup_free_ char *now = NULL;
	char *out = sk_strdup("");

	if (sk_read_file("/proc/self/mountinfo", &now, NULL) < 0)
		return out;
	for (char *save = NULL, *line = strtok_r(now, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (strstr(f->mountinfo, line))
			continue;
		if (strstr(line, f->dir) || sk_str_has_prefix(mp, "/etc") ||
		    strstr(line, f->escape)) {
			char *n = sk_asprintf("%s%s\n", out, line);
			free(out);
			out = n;
		}
	}
	return out;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->rootfs) {
		/* nothing under our directory may still be mounted: rm -rf would cross into
     * it */
		_cleanup_free_ char *changes = host_mount_changes(f);
		if (!*changes)
			(void)sk_rm_rf(f->dir);
		else
			fprintf(stderr, "rootfs test: leaving %s, host mounts changed:\n%s", f->dir,
				changes);
	}
	free(f->rootfs);
	free(f->bindsrc);
	free(f->escape);
	free(f->mountinfo);
	free(f);
	return 0;
}

#define NEED_ROOT()                                                                                \
	do {                                                                                       \
		if (geteuid() != 0)                                                                \
			skip();                                                                    \
	} while (0)

/* Parses a spec written with single quotes. */
static struct sk_spec *spec_from(const char *text)
{
	_cleanup_free_ char *json = sk_strdup(text);
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_spec *s = NULL;

	for (char *p = json; *p; p++)
		if (*p == '\'')
			*p = '"';
	if (sk_spec_parse(json, strlen(json), "config.json", &s, &err) < 0)
		fail_msg("spec: %s\n%s", err->msg, json);
	return s;
}

/* ---- the child ---- */

struct run {
	struct fx *f;
	struct sk_spec *spec;
	bool userns, no_pivot;
	/* after finish, inside the new root: write failures to fd, return their count
   */
	int (*check)(struct run *r, int fd);
};

static int child_build(void *arg, int fd)
{
	struct run *run = arg;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_rootfs r = { .spec = run->spec,
			       .rootfs = run->f->rootfs,
			       .userns = run->userns,
			       .no_pivot = run->no_pivot };

	if (unshare(CLONE_NEWNS) < 0)
		return sk_test_report(fd, sk_error_errno(&err, "unshare"), err);
	int ret = sk_rootfs_prepare(&r, &err);
	if (ret == 0)
		ret = sk_rootfs_pivot(&r, &err);
	if (ret == 0)
		ret = sk_rootfs_finish(&r, &err);
	if (ret < 0) {
		dprintf(fd, "ERR %s", err ? err->msg : "(no message)");
		return 1;
	}
	return run->check ? run->check(run, fd) : 0;
}

/* Runs the build in a child; returns what it reported ("" when all is well). */
static char *build(struct run *run, int *ret_status)
{
	char *out = NULL;
	int status = sk_test_fork(child_build, run, &out);

	if (ret_status)
		*ret_status = status;
	else if (status != 0 || *out)
		fail_msg("child status %d:\n%s", status, out);
	return out;
}

/* ---- checks run inside the container ---- */

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			dprintf(fd, "line %d: %s: ", __LINE__, #cond);                             \
			dprintf(fd, __VA_ARGS__);                                                  \
			dprintf(fd, "\n");                                                         \
			fails++;                                                                   \
		}                                                                                  \
	} while (0)

struct mnt {
	char opts[512], fstype[64], source[512], super[1024];
};

/* The last (topmost) mount at mountpoint mp, from /proc/self/mountinfo. */
static bool find_mount(const char *mp, struct mnt *ret)
{
	_cleanup_free_ char *buf = NULL;
	bool found = false;

	if (sk_read_file("/proc/self/mountinfo", &buf, NULL) < 0)
		return false;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char point[4096];
		struct mnt m;
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s %511s", point, m.opts) != 2 ||
		    strcmp(point, mp) != 0)
			continue;
		m.super[0] = '\0';
		if (sscanf(dash + 3, "%63s %511s %1023s", m.fstype, m.source, m.super) < 2)
			continue;
		*ret = m;
		found = true;
	}
	return found;
}

static bool has_opt(const char *list, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = list; p && *p;) {
		if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

static bool file_is(const char *path, const char *want)
{
	_cleanup_free_ char *got = NULL;

	return sk_read_file(path, &got, NULL) == 0 && !strcmp(got, want);
}

/* errno of creating `path` (0 when it could: then it is removed again). */
static int create_errno(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno;
	close(fd);
	unlink(path);
	return 0;
}

static bool is_dev(const char *path, mode_t type, unsigned maj, unsigned min, mode_t mode,
		   uid_t uid, gid_t gid)
{
	struct stat st;

	return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == type && major(st.st_rdev) == maj &&
	       minor(st.st_rdev) == min && (st.st_mode & 07777) == mode && st.st_uid == uid &&
	       st.st_gid == gid;
}

static bool link_is(const char *path, const char *want)
{
	char buf[256];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return !strcmp(buf, want);
}

static int check_full(struct run *run, int fd)
{
	struct mnt m;
	struct stat st;
	int fails = 0;

	/* we are in the rootfs */
	CHECK(file_is("/marker", "this is the rootfs\n"), "no marker");
	char cwd[256];
	CHECK(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/"), "cwd %s", cwd);
	/* the old root is gone: no mount outside the new root is visible */
	CHECK(!find_mount("/sys", &m), "host /sys visible");

	/* root.readonly */
	CHECK(find_mount("/", &m) && has_opt(m.opts, "ro"), "/ opts %s", m.opts);
	CHECK(mkdir("/newdir", 0755) < 0 && errno == EROFS, "mkdir /: %s", strerror(errno));

	/* tmpfs /dev with its options */
	CHECK(find_mount("/dev", &m) && !strcmp(m.fstype, "tmpfs"), "/dev fstype %s", m.fstype);
	CHECK(has_opt(m.opts, "nosuid") && has_opt(m.opts, "rw"), "/dev opts %s", m.opts);
	CHECK(has_opt(m.super, "mode=755") && has_opt(m.super, "size=65536k"), "/dev super %s",
	      m.super);
	CHECK(stat("/dev", &st) == 0 && (st.st_mode & 07777) == 0755, "/dev mode %o", st.st_mode);
	CHECK(create_errno("/dev/writable") == 0, "/dev not writable");
	CHECK(find_mount("/dev/pts", &m) && !strcmp(m.fstype, "devpts"), "/dev/pts %s", m.fstype);
	CHECK(has_opt(m.super, "ptmxmode=666"), "/dev/pts super %s", m.super);
	CHECK(find_mount("/proc", &m) && !strcmp(m.fstype, "proc"), "/proc %s", m.fstype);

	/* default devices and the spec's own */
	CHECK(is_dev("/dev/null", S_IFCHR, 1, 3, 0666, 0, 0), "/dev/null");
	CHECK(is_dev("/dev/zero", S_IFCHR, 1, 5, 0666, 0, 0), "/dev/zero");
	CHECK(is_dev("/dev/full", S_IFCHR, 1, 7, 0666, 0, 0), "/dev/full");
	CHECK(is_dev("/dev/random", S_IFCHR, 1, 8, 0666, 0, 0), "/dev/random");
	CHECK(is_dev("/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0), "/dev/urandom");
	CHECK(is_dev("/dev/tty", S_IFCHR, 5, 0, 0666, 0, 0), "/dev/tty");
	CHECK(is_dev("/dev/mydev", S_IFCHR, 1, 7, 0600, 1000, 1001), "/dev/mydev");
	CHECK(is_dev("/dev/sub/fifo", S_IFIFO, 0, 0, 0640, 0, 0), "/dev/sub/fifo");
	CHECK(is_dev("/dev/blk", S_IFBLK, 7, 200, 0660, 0, 6), "/dev/blk");
	/* a spec device on a default path replaces the default */
	CHECK(is_dev("/dev/random", S_IFCHR, 1, 8, 0666, 0, 0), "/dev/random");
	int nfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK(nfd >= 0 && write(nfd, "x", 1) == 1, "write /dev/null: %s", strerror(errno));
	if (nfd >= 0)
		close(nfd);

	/* /dev symlinks */
	CHECK(link_is("/dev/fd", "/proc/self/fd"), "/dev/fd");
	CHECK(link_is("/dev/stdin", "/proc/self/fd/0"), "/dev/stdin");
	CHECK(link_is("/dev/stdout", "/proc/self/fd/1"), "/dev/stdout");
	CHECK(link_is("/dev/stderr", "/proc/self/fd/2"), "/dev/stderr");
	CHECK(link_is("/dev/core", "/proc/kcore"), "/dev/core");
	CHECK(link_is("/dev/ptmx", "pts/ptmx"), "/dev/ptmx");
	CHECK(access("/dev/fd/0", F_OK) == 0, "/dev/fd/0 does not resolve");

	/* ro bind mount of a host directory */
	CHECK(find_mount("/data", &m), "no /data mount");
	CHECK(has_opt(m.opts, "ro") && has_opt(m.opts, "nosuid"), "/data opts %s", m.opts);
	CHECK(file_is("/data/hello", "hi\n"), "/data/hello");
	CHECK(create_errno("/data/new") == EROFS, "/data writable: %s",
	      strerror(create_errno("/data/new")));
	/* a file bind mount: the mount point is created as a file */
	CHECK(find_mount("/etc/hello-file", &m) && has_opt(m.opts, "ro"), "/etc/hello-file %s",
	      m.opts);
	CHECK(file_is("/etc/hello-file", "hi\n"), "/etc/hello-file content");
	CHECK(stat("/etc/hello-file", &st) == 0 && S_ISREG(st.st_mode), "/etc/hello-file type");
	int wfd = open("/etc/hello-file", O_WRONLY | O_CLOEXEC);
	CHECK(wfd < 0 && errno == EROFS, "/etc/hello-file writable");
	if (wfd >= 0)
		close(wfd);

	/* tmpcopyup: a tmpfs over /opt holding what the image had there */
	CHECK(find_mount("/opt", &m) && !strcmp(m.fstype, "tmpfs"), "/opt %s", m.fstype);
	CHECK(has_opt(m.super, "mode=750"), "/opt super %s", m.super);
	CHECK(file_is("/opt/keep.txt", "original\n"), "/opt/keep.txt");
	CHECK(file_is("/opt/sub/deep.txt", "deep\n"), "/opt/sub/deep.txt");
	CHECK(link_is("/opt/link", "keep.txt"), "/opt/link");
	CHECK(create_errno("/opt/new") == 0, "/opt not writable");

	/* mounts through symlinks landed inside the rootfs */
	_cleanup_free_ char *e1 = sk_asprintf("/etc/%s", run->f->escape);
	_cleanup_free_ char *e2 = sk_asprintf("/etc/%s-2", run->f->escape);
	CHECK(find_mount(e1, &m) && !strcmp(m.fstype, "tmpfs"), "no mount on %s", e1);
	CHECK(find_mount(e2, &m) && !strcmp(m.fstype, "tmpfs"), "no mount on %s", e2);
	CHECK(file_is("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
	      "/etc is not the rootfs' /etc");

	/* masked paths */
	CHECK(is_dev("/masked-file", S_IFCHR, 1, 3, 0666, 0, 0), "/masked-file not /dev/null");
	CHECK(file_is("/masked-file", ""), "/masked-file readable");
	CHECK(access("/masked-dir/secret", F_OK) < 0 && errno == ENOENT,
	      "/masked-dir/secret visible");
	CHECK(find_mount("/masked-dir", &m) && has_opt(m.opts, "ro"), "/masked-dir %s", m.opts);
	CHECK(create_errno("/masked-dir/x") == EROFS, "/masked-dir writable");

	/* read-only paths */
	CHECK(create_errno("/ro-dir/new") == EROFS, "/ro-dir writable");
	CHECK(file_is("/ro-dir/file", "x\n"), "/ro-dir/file");
	int sfd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
	CHECK(sfd < 0 && errno == EROFS, "/proc/sys writable");
	if (sfd >= 0)
		close(sfd);

	/* the cwd was made */
	CHECK(stat("/work/deep/cwd", &st) == 0 && S_ISDIR(st.st_mode), "cwd missing");
	return fails;
}

static char *full_spec(struct fx *f)
{
	return sk_asprintf(
	    "{'ociVersion':'1.2.0','root':{'path':'%s','readonly':true},"
	    "'process':{'args':['sh'],'cwd':'/work/deep/cwd'},"
	    "'mounts':["
	    "{'destination':'/proc','type':'proc','source':'proc'},"
	    "{'destination':'/dev','type':'tmpfs','source':'tmpfs',"
	    " 'options':['nosuid','strictatime','mode=755','size=65536k']},"
	    "{'destination':'/dev/pts','type':'devpts','source':'devpts',"
	    " 'options':['nosuid','noexec','newinstance','ptmxmode=0666','mode=0620']"
	    "},"
	    "{'destination':'/"
	    "data','type':'bind','source':'%s','options':['rbind','ro','nosuid']},"
	    "{'destination':'/etc/hello-file','source':'%s/"
	    "hello','options':['bind','ro']},"
	    "{'destination':'/"
	    "opt','type':'tmpfs','source':'tmpfs','options':['tmpcopyup','mode=750']}"
	    ","
	    "{'destination':'/evil/%s','type':'tmpfs','source':'tmpfs'},"
	    "{'destination':'/evil2/%s-2','type':'tmpfs','source':'tmpfs'}],"
	    "'linux':{'namespaces':[{'type':'mount'}],"
	    " 'devices':[{'path':'/dev/"
	    "mydev','type':'c','major':1,'minor':7,'fileMode':384,"
	    "   'uid':1000,'gid':1001},"
	    "  "
	    "{'path':'/dev/sub/fifo','type':'p','major':0,'minor':0,'fileMode':416},"
	    "  "
	    "{'path':'/dev/"
	    "blk','type':'b','major':7,'minor':200,'fileMode':432,'gid':6},"
	    "  {'path':'/dev/random','type':'c','major':1,'minor':8}],"
	    " 'maskedPaths':['/masked-dir','/masked-file','/proc/kcore','/does/not/"
	    "exist'],"
	    " 'readonlyPaths':['/ro-dir','/proc/sys','/not/there']}}",
	    f->rootfs, f->bindsrc, f->bindsrc, f->escape, f->escape);
}

/* After a case: nothing escaped the rootfs, nothing stayed mounted on the host.
 */
static void assert_host_clean(struct fx *f)
{
	_cleanup_free_ char *h1 = sk_asprintf("/etc/%s", f->escape);
	_cleanup_free_ char *h2 = sk_asprintf("/etc/%s-2", f->escape);
	_cleanup_free_ char *changes = host_mount_changes(f);

	if (access(h1, F_OK) == 0 || access(h2, F_OK) == 0)
		fail_msg("a mount escaped the rootfs: %s exists on the host", h1);
	if (*changes)
		fail_msg("host mounts changed:\n%s", changes);
}

static void test_full(void **state)
{
	struct fx *f = *state;
	NEED_ROOT();
	_cleanup_free_ char *json = full_spec(f);
	_cleanup_(sk_spec_freep) struct sk_spec *spec = spec_from(json);
	struct run run = { .f = f, .spec = spec, .check = check_full };
	_cleanup_free_ char *out = build(&run, NULL);

	assert_host_clean(f);
	/* the escape mount points were made inside the rootfs */
	_cleanup_free_ char *in1 = sk_asprintf("%s/etc/%s", f->rootfs, f->escape);
	_cleanup_free_ char *in2 = sk_asprintf("%s/etc/%s-2", f->rootfs, f->escape);
	struct stat st;
	assert_int_equal(stat(in1, &st), 0);
	assert_int_equal(stat(in2, &st), 0);
	/* tmpcopyup left the image's files alone */
	_cleanup_free_ char *keep = sk_path_join(f->rootfs, "opt/keep.txt");
	_cleanup_free_ char *text = NULL;
	assert_int_equal(sk_read_file(keep, &text, NULL), 0);
	assert_string_equal(text, "original\n");
	_cleanup_free_ char *added = sk_path_join(f->rootfs, "opt/new");
	assert_int_equal(access(added, F_OK), -1);
}

/* A user namespace cannot mknod: devices are bind mounts of the host's nodes.
 */
static int check_userns(struct run *run, int fd)
{
	struct mnt m;
	int fails = 0;

	CHECK(find_mount("/dev/null", &m), "/dev/null is not a bind mount");
	CHECK(find_mount("/dev/zero", &m), "/dev/zero is not a bind mount");
	CHECK(is_dev("/dev/null", S_IFCHR, 1, 3, 0666, 0, 0), "/dev/null");
	CHECK(is_dev("/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0), "/dev/urandom");
	/* a fifo is still made (no host node to bind) */
	CHECK(is_dev("/dev/sub/fifo", S_IFIFO, 0, 0, 0640, 0, 0), "/dev/sub/fifo");
	return fails;
}

static void test_userns_devices(void **state)
{
	struct fx *f = *state;
	NEED_ROOT();
	_cleanup_free_ char *json =
	    sk_asprintf("{'ociVersion':'1.2.0','root':{'path':'%s'},'process':{'args':['sh'],'"
			"cwd':'/'},"
			"'mounts':[{'destination':'/proc','type':'proc','source':'proc'},"
			"{'destination':'/"
			"dev','type':'tmpfs','source':'tmpfs','options':['mode=755']}],"
			"'linux':{'devices':[{'path':'/dev/sub/"
			"fifo','type':'p','major':0,'minor':0,'fileMode':416}]}}",
			f->rootfs);
	_cleanup_(sk_spec_freep) struct sk_spec *spec = spec_from(json);
	struct run run = { .f = f, .spec = spec, .userns = true, .check = check_userns };
	_cleanup_free_ char *out = build(&run, NULL);

	assert_host_clean(f);
}

/* --no-pivot: MS_MOVE + chroot; no /dev mount: no default devices or links. */
static int check_no_pivot(struct run *run, int fd)
{
	struct mnt m;
	int fails = 0;

	CHECK(file_is("/marker", "this is the rootfs\n"), "not in the rootfs");
	CHECK(find_mount("/proc", &m), "no /proc");
	CHECK(access("/dev/null", F_OK) < 0, "/dev/null made without a private /dev");
	CHECK(access("/dev/fd", F_OK) < 0, "/dev/fd made without a private /dev");
	CHECK(create_errno("/tmp/x") == 0, "rootfs not writable");
	return fails;
}

static void test_no_pivot(void **state)
{
	struct fx *f = *state;
	NEED_ROOT();
	_cleanup_free_ char *json =
	    sk_asprintf("{'ociVersion':'1.2.0','root':{'path':'%s'},'process':{'args'"
			":['sh'],'cwd':'/'},"
			"'mounts':[{'destination':'/"
			"proc','type':'proc','source':'proc'}],'linux':{}}",
			f->rootfs);
	_cleanup_(sk_spec_freep) struct sk_spec *spec = spec_from(json);
	struct run run = { .f = f, .spec = spec, .no_pivot = true, .check = check_no_pivot };
	_cleanup_free_ char *out = build(&run, NULL);

	assert_host_clean(f);
}

/* ---- error paths ---- */

static void expect_error(struct fx *f, struct sk_spec *spec, const char *want)
{
	struct run run = { .f = f, .spec = spec };
	int status = 0;
	_cleanup_free_ char *out = build(&run, &status);
	_cleanup_free_ char *w = sk_asprintf("ERR %s", want);

	assert_int_equal(status, 1);
	assert_string_equal(out, w);
	assert_host_clean(f);
}

static void test_missing_bind_source(void **state)
{
	struct fx *f = *state;
	NEED_ROOT();
	_cleanup_free_ char *json =
	    sk_asprintf("{'ociVersion':'1.2.0','root':{'path':'%s'},'process':{'args'"
			":['sh'],'cwd':'/'},"
			"'mounts':[{'destination':'/mnt/"
			"x','type':'bind','source':'%s/nope','options':['rbind']}],"
			"'linux':{}}",
			f->rootfs, f->dir);
	_cleanup_(sk_spec_freep) struct sk_spec *spec = spec_from(json);
	_cleanup_free_ char *want =
	    sk_asprintf("mount '/mnt/x': bind source '%s/nope': %s", f->dir, strerror(ENOENT));

	expect_error(f, spec, want);
	/* no mount point was made for it */
	_cleanup_free_ char *mp = sk_path_join(f->rootfs, "mnt/x");
	assert_int_equal(access(mp, F_OK), -1);
}

static void test_bad_fstype(void **state)
{
	struct fx *f = *state;
	NEED_ROOT();
	_cleanup_free_ char *json =
	    sk_asprintf("{'ociVersion':'1.2.0','root':{'path':'%s'},'process':{'args'"
			":['sh'],'cwd':'/'},"
			"'mounts':[{'destination':'/mnt/"
			"y','type':'skiff-no-such-fs','source':'none'}],"
			"'linux':{}}",
			f->rootfs);
	_cleanup_(sk_spec_freep) struct sk_spec *spec = spec_from(json);
	_cleanup_free_ char *want =
	    sk_asprintf("mount skiff-no-such-fs on '/mnt/y': %s", strerror(ENODEV));

	expect_error(f, spec, want);
}

static void test_idmap_unsupported(void **state)
{
	struct fx *f = *state;
	NEED_ROOT();
	_cleanup_free_ char *json =
	    sk_asprintf("{'ociVersion':'1.2.0','root':{'path':'%s'},'process':{'args':['sh'],'"
			"cwd':'/'},"
			"'mounts':[{'destination':'/mnt/"
			"z','type':'bind','source':'%s','options':['rbind','idmap']}],"
			"'linux':{}}",
			f->rootfs, f->bindsrc);
	_cleanup_(sk_spec_freep) struct sk_spec *spec = spec_from(json);
	_cleanup_free_ char *want =
	    sk_asprintf("mount '/mnt/z': idmapped mounts: %s", strerror(EOPNOTSUPP));

	expect_error(f, spec, want);
}

static void test_bad_propagation(void **state)
{
	struct fx *f = *state;
	NEED_ROOT();
	_cleanup_free_ char *json =
	    sk_asprintf("{'ociVersion':'1.2.0','root':{'path':'%s'},'process':{'args'"
			":['sh'],'cwd':'/'},"
			"'linux':{'rootfsPropagation':'rslave'}}",
			f->rootfs);
	_cleanup_(sk_spec_freep) struct sk_spec *spec = spec_from(json);

	/* the parser rejects it; a spec built in memory (skiffd) may still carry it
   */
	free(spec->linux_->rootfs_propagation);
	spec->linux_->rootfs_propagation = sk_strdup("bogus");
	expect_error(f, spec, "linux.rootfsPropagation: unknown value 'bogus'");
}

/* ---- propagation to a shared "host" ---- */

struct prop_arg {
	struct fx *f;
	struct sk_spec *spec;
};

/*
 * Plays the host: makes our directory a shared mount in its own namespace,
 * runs the container build in a child namespace whose mounts are peers of
 * ours, then reports any container mount that propagated back.
 */
static int child_shared_host(void *arg, int fd)
{
	struct prop_arg *a = arg;
	_cleanup_free_ char *buf = NULL;
	int fails = 0;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(a->f->dir, a->f->dir, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, a->f->dir, NULL, MS_SHARED, NULL) < 0) {
		dprintf(fd, "set up shared host: %s", strerror(errno));
		return 1;
	}
	struct run run = { .f = a->f, .spec = a->spec, .check = check_full };
	_cleanup_free_ char *out = NULL;
	int status = sk_test_fork(child_build, &run, &out);
	if (status != 0 || *out) {
		dprintf(fd, "container build failed (%d): %s", status, out);
		return 1;
	}
	if (sk_read_file("/proc/self/mountinfo", &buf, NULL) < 0)
		return 1;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, a->f->dir) != 0 &&
		    sk_str_has_prefix(mp, a->f->dir)) {
			dprintf(fd, "propagated to the host: %s\n", line);
			fails++;
		}
	}
	return fails;
}

static void run_shared_host(struct fx *f, const char *propagation)
{
	_cleanup_free_ char *base = full_spec(f);
	_cleanup_(sk_spec_freep) struct sk_spec *spec = spec_from(base);
	struct prop_arg a = { f, spec };
	_cleanup_free_ char *out = NULL;

	if (propagation)
		spec->linux_->rootfs_propagation = sk_strdup(propagation);
	int status = sk_test_fork(child_shared_host, &a, &out);
	if (status != 0 || *out)
		fail_msg("rootfsPropagation %s: status %d:\n%s",
			 propagation ? propagation : "(default)", status, out);
	assert_host_clean(f);
}

static void test_shared_host_default(void **state)
{
	NEED_ROOT();
	run_shared_host(*state, NULL);
}

static void test_shared_host_rshared(void **state)
{
	NEED_ROOT();
	run_shared_host(*state, "rshared");
}

static void test_shared_host_private(void **state)
{
	NEED_ROOT();
	run_shared_host(*state, "private");
}

/* ---- sysctl ---- */

static int child_sysctl(void *arg, int fd)
{
	_cleanup_error_ struct sk_error *err = NULL;
	char name[64] = "";

	if (unshare(CLONE_NEWUTS) < 0)
		return sk_test_report(fd, sk_error_errno(&err, "unshare"), err);
	if (sk_rootfs_sysctl(arg, &err) < 0)
		return sk_test_report(fd, -1, err);
	if (getdomainname(name, sizeof(name)) < 0)
		return 2;
	dprintf(fd, "%s", name);
	return 0;
}

static void test_sysctl(void **state)
{
	_cleanup_(sk_spec_freep) struct sk_spec *spec =
	    spec_from("{'ociVersion':'1.2.0','root':{'path':'r'},'linux':{'namespaces':"
		      "[{'type':'uts'}],'sysctl':{'kernel.domainname':'skiff.unit'}}}");
	_cleanup_free_ char *out = NULL;

	NEED_ROOT();
	assert_int_equal(sk_test_fork(child_sysctl, spec, &out), 0);
	assert_string_equal(out, "skiff.unit");
}

static void test_sysctl_errors(void **state)
{
	static const char *const bad[] = { "kernel..x", "../../etc/passwd", "/kernel/hostname",
					   "net/../../x" };

	for (size_t i = 0; i < SK_ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *json =
		    sk_asprintf("{'ociVersion':'1.2.0','root':{'path':'r'},'linux':{'"
				"sysctl':{'%s':'1'}}}",
				bad[i]);
		_cleanup_(sk_spec_freep) struct sk_spec *spec = NULL;
		_cleanup_error_ struct sk_error *err = NULL;
		_cleanup_free_ char *want =
		    sk_asprintf("sysctl '%s': invalid name: %s", bad[i], strerror(EINVAL));

		/* the spec parser may already refuse it; if not, sysctl must */
		for (char *p = json; *p; p++)
			if (*p == '\'')
				*p = '"';
		if (sk_spec_parse(json, strlen(json), "config.json", &spec, NULL) < 0)
			continue;
		assert_int_equal(sk_rootfs_sysctl(spec, &err), -EINVAL);
		assert_string_equal(err->msg, want);
	}

	/* a key that is not namespaced would change the host: refused */
	_cleanup_(sk_spec_freep) struct sk_spec *spec =
	    spec_from("{'ociVersion':'1.2.0','root':{'path':'r'},'linux':{'sysctl':{'"
		      "kernel.skiff_nope':'7'}}}");
	_cleanup_error_ struct sk_error *err = NULL;
	assert_int_equal(sk_rootfs_sysctl(spec, &err), -EINVAL);
	assert_string_equal(err->msg, "linux.sysctl: 'kernel.skiff_nope' is not in a separate "
				      "kernel namespace");

	/* a namespaced key without that namespace: refused, names the namespace */
	_cleanup_(sk_spec_freep) struct sk_spec *net =
	    spec_from("{'ociVersion':'1.2.0','root':{'path':'r'},'linux':{'sysctl':{'"
		      "net.ipv4.ip_forward':'1'}}}");
	_cleanup_error_ struct sk_error *nerr = NULL;
	assert_int_equal(sk_rootfs_sysctl(net, &nerr), -EINVAL);
	assert_string_equal(nerr->msg, "linux.sysctl: 'net.ipv4.ip_forward' needs a private "
				       "network namespace");

	/* a namespaced key the kernel lacks: the error names it and its value */
	_cleanup_(sk_spec_freep) struct sk_spec *missing =
	    spec_from("{'ociVersion':'1.2.0','root':{'path':'r'},'linux':{'namespaces':"
		      "[{'type':'network'}],'sysctl':{'net.skiff_nope':'7'}}}");
	_cleanup_error_ struct sk_error *merr = NULL;
	assert_int_equal(sk_rootfs_sysctl(missing, &merr), -ENOENT);
	_cleanup_free_ char *want =
	    sk_asprintf("sysctl 'net.skiff_nope' = '7': %s", strerror(ENOENT));
	assert_string_equal(merr->msg, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userns_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_pivot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_bind_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_fstype, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idmap_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_propagation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_host_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_host_rshared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_host_private, setup, teardown),
		cmocka_unit_test(test_sysctl),
		cmocka_unit_test(test_sysctl_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
