/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rootfs.c - mounts, device nodes and pivot_root for a new container.
 *
 * Runs in the container process, in its new mount namespace, before it
 * execs.  Mounts are made on targets opened inside the rootfs with
 * openat2(RESOLVE_IN_ROOT) and addressed as /proc/self/fd/N, so the path
 * the kernel mounts on is the one that was checked.  This file does not
 * decide namespaces or users; init.c orders the steps.
 */
#include "runtime/rootfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "base/log.h"
#include "base/util.h"
#include "runtime/mountopt.h"

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

/*
 * Opens `path` inside the root as O_PATH, creating missing directories (and
 * the last component as an empty file when `file` is set).  Returns the fd
 * or a negative errno.
 */
static int mkpath_in_root(int rootfd, const char *path, bool file, mode_t mode)
{
	_cleanup_free_ char *p = sk_strdup(path);
	_cleanup_close_ int cur = -1;
	char *s = p;

	while (*s == '/')
		s++;
	if (!*s)
		return openat2_in_root(rootfd, "/", O_PATH);
	/* Most targets exist already: one lookup, no walk. */
	int fd = openat2_in_root(rootfd, s, O_PATH);
	if (fd != -ENOENT)
		return fd;
	for (;;) {
		char *slash = strchr(s, '/');
		bool last;

		if (slash)
			*slash = '\0';
		last = !slash || !slash[1 + strspn(slash + 1, "/")];
		fd = openat2_in_root(rootfd, p, O_PATH);
		if (fd == -ENOENT) {
			int parent = cur >= 0 ? cur : rootfd;
			int r;
			const char *comp = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;

			if (last && file) {
				r = openat(parent, comp,
					   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
					   mode);
				if (r >= 0)
					close(r);
			} else {
				r = mkdirat(parent, comp, 0755);
			}
			if (r < 0 && errno != EEXIST)
				return -errno;
			fd = openat2_in_root(rootfd, p, O_PATH);
		}
		if (fd < 0)
			return fd;
		sk_closep(&cur);
		cur = fd;
		if (last)
			return TAKE_FD(cur);
		*slash = '/';
		s = slash + 1;
		while (*s == '/')
			s++;
	}
}

static void fd_path(char buf[static 32], int fd)
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/* Flags that an unprivileged remount must keep (locked by the kernel). */
static unsigned long locked_flags(const char *target)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(target, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int remount_bind(const char *target, unsigned long flags, bool userns, const char *dest,
			struct sk_error **err)
{
	if (userns)
		flags |= locked_flags(target);
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
		return sk_error_errno(err, "remount '%s'", dest);
	return 0;
}

static int copy_tree(int srcfd, int dstfd);

static int copy_entry(int srcfd, int dstfd, const struct dirent *de)
{
	struct stat st;

	if (fstatat(srcfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dstfd, de->d_name, st.st_mode & 07777) < 0 && errno != EEXIST)
			return -errno;
		_cleanup_close_ int s =
		    openat(srcfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int d =
		    openat(dstfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s < 0 || d < 0)
			return -errno;
		int r = copy_tree(s, d);
		if (r < 0)
			return r;
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(srcfd, de->d_name, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, dstfd, de->d_name) < 0)
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int s = openat(srcfd, de->d_name, O_RDONLY | O_CLOEXEC);
		_cleanup_close_ int d = openat(
		    dstfd, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
		char buf[65536];
		ssize_t n;
		if (s < 0 || d < 0)
			return -errno;
		while ((n = read(s, buf, sizeof(buf))) > 0)
			if (sk_write_all(d, buf, (size_t)n) < 0)
				return -errno;
		if (n < 0)
			return -errno;
	} else if (mknodat(dstfd, de->d_name, st.st_mode, st.st_rdev) < 0) {
		return -errno;
	}
	if (fchownat(dstfd, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Copies a directory tree (tmpcopyup: what the image had under a tmpfs mount). */
static int copy_tree(int srcfd, int dstfd)
{
	int dup_fd = fcntl(srcfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	int r = 0;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	for (struct dirent *de; r == 0 && (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = copy_entry(srcfd, dstfd, de);
	closedir(d);
	return r;
}

static int mount_cgroup(const struct sk_rootfs *r, int rootfd, const struct sk_mount *m,
			const struct sk_mountopt *o, struct sk_error **err);

/* Mounts one entry of `mounts` (not a cgroup one) on its target inside the rootfs. */
static int mount_entry(const struct sk_rootfs *r, int rootfd, const struct sk_mount *m,
		       const struct sk_mountopt *o, bool bind, struct sk_error **err)
{
	const char *type = m->type;
	bool file = false;
	char target[32];
	int ret;

	if (bind) {
		struct stat st;
		if (!m->source || stat(m->source, &st) < 0) {
			ret = sk_error_errno(err, "mount '%s': bind source '%s'", m->destination,
					     m->source ? m->source : "");
			return ret;
		}
		file = !S_ISDIR(st.st_mode);
	}

	_cleanup_close_ int fd = mkpath_in_root(rootfd, m->destination, file, 0644);
	if (fd < 0) {
		ret = sk_error_set(err, -fd, "mount '%s': create mount point", m->destination);
		return ret;
	}
	_cleanup_close_ int under = -1;
	if (o->tmpcopyup)
		under = openat2_in_root(rootfd, m->destination, O_RDONLY | O_DIRECTORY);
	fd_path(target, fd);

	unsigned long flags = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
	if (bind) {
		if (mount(m->source, target, NULL, MS_BIND | (o->flags & MS_REC), NULL) < 0) {
			ret = sk_error_errno(err, "mount '%s' on '%s'", m->source, m->destination);
			return ret;
		}
	} else {
		unsigned long mflags = o->tmpcopyup ? flags & ~MS_RDONLY : flags;
		if (mount(m->source ? m->source : type, target, type, mflags, o->data) < 0) {
			int e = errno;
			/* sysfs cannot be mounted without a private netns under a user ns: bind it */
			if (type && !strcmp(type, "sysfs") && (e == EPERM || e == EBUSY) &&
			    mount("/sys", target, NULL, MS_BIND | MS_REC, NULL) == 0) {
				flags |= MS_RDONLY;
				bind = true;
			} else {
				errno = e;
				ret = sk_error_errno(err, "mount %s on '%s'",
						     type ? type : "(none)", m->destination);
				return ret;
			}
		}
	}

	/* Reopen: the old fd still points below the new mount. */
	sk_closep(&fd);
	fd = openat2_in_root(rootfd, m->destination, O_PATH);
	if (fd < 0) {
		ret = sk_error_set(err, -fd, "reopen mount '%s'", m->destination);
		return ret;
	}
	fd_path(target, fd);
	if (o->tmpcopyup && under >= 0) {
		_cleanup_close_ int dst =
		    openat2_in_root(rootfd, m->destination, O_RDONLY | O_DIRECTORY);
		int q = dst < 0 ? dst : copy_tree(under, dst);
		if (q < 0) {
			ret = sk_error_set(err, -q, "mount '%s': tmpcopyup", m->destination);
			return ret;
		}
		if ((flags & MS_RDONLY) &&
		    mount(NULL, target, NULL, MS_REMOUNT | flags, o->data) < 0) {
			ret = sk_error_errno(err, "remount '%s' read-only", m->destination);
			return ret;
		}
	}
	if (bind && flags) {
		ret = remount_bind(target, flags, r->userns, m->destination, err);
		if (ret < 0)
			return ret;
	}
	if (o->propagation && mount(NULL, target, NULL, o->propagation, NULL) < 0) {
		ret = sk_error_errno(err, "set propagation of '%s'", m->destination);
		return ret;
	}
	if (o->attr_set || o->attr_clr) {
		struct mount_attr attr = { .attr_set = o->attr_set, .attr_clr = o->attr_clr };
		if (o->attr_clr & MOUNT_ATTR__ATIME)
			attr.attr_clr |= MOUNT_ATTR__ATIME;
		if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			    sizeof(attr)) < 0) {
			ret =
			    sk_error_errno(err, "set recursive attributes of '%s'", m->destination);
			return ret;
		}
	}
	return 0;
}

static int do_mount(const struct sk_rootfs *r, int rootfd, const struct sk_mount *m,
		    struct sk_error **err)
{
	struct sk_mountopt o;
	const char *type = m->type;
	int ret;

	(void)sk_mountopt_parse(m->options, &o, NULL);
	bool bind = (o.flags & MS_BIND) || (type && !strcmp(type, "bind"));
	if (o.idmap || o.ridmap)
		ret = sk_error_set(err, EOPNOTSUPP, "mount '%s': idmapped mounts", m->destination);
	else if (!bind && type && (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")))
		ret = mount_cgroup(r, rootfd, m, &o, err);
	else
		ret = mount_entry(r, rootfd, m, &o, bind, err);
	sk_mountopt_release(&o);
	return ret;
}

/* The name a hierarchy gets under /sys/fs/cgroup inside the container. */
static char *hierarchy_name(const struct sk_cgroup_hierarchy *h)
{
	if (h->v2)
		return sk_strdup("unified");
	if (sk_str_has_prefix(h->controllers, "name="))
		return sk_strdup(h->controllers + 5);
	return sk_strdup(h->controllers);
}

static int mount_cgroup(const struct sk_rootfs *r, int rootfd, const struct sk_mount *m,
			const struct sk_mountopt *o, struct sk_error **err)
{
	const struct sk_cgroup_hierarchy *hs;
	size_t n = r->cgroup ? sk_cgroup_hierarchies(r->cgroup, &hs) : 0;
	unsigned long flags = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
	char target[32];

	if (n == 0)
		return sk_error_set(err, ENOENT, "mount '%s': no cgroup for the container",
				    m->destination);
	_cleanup_close_ int fd = mkpath_in_root(rootfd, m->destination, false, 0);
	if (fd < 0)
		return sk_error_set(err, -fd, "mount '%s': create mount point", m->destination);
	fd_path(target, fd);

	if (n == 1 && hs[0].v2) {
		/* Pure v2: the container's own cgroup is its root. */
		if (r->cgroupns ? mount("cgroup2", target, "cgroup2", flags, NULL) < 0
				: mount(hs[0].dir, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			return sk_error_errno(err, "mount cgroup2 on '%s'", m->destination);
		if (!r->cgroupns && flags) {
			sk_closep(&fd);
			fd = openat2_in_root(rootfd, m->destination, O_PATH);
			fd_path(target, fd);
			return remount_bind(target, flags, r->userns, m->destination, err);
		}
		return 0;
	}

	/* v1 and hybrid: a tmpfs with one bind mount per hierarchy, as runc does. */
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
		return sk_error_errno(err, "mount tmpfs on '%s'", m->destination);
	/* A tmpfs we just made holds no symlinks: plain *at() calls are safe in it. */
	_cleanup_close_ int dfd = openat2_in_root(rootfd, m->destination, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return sk_error_set(err, -dfd, "open '%s'", m->destination);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *name = hierarchy_name(&hs[i]);
		char subt[32];

		if (mkdirat(dfd, name, 0755) < 0)
			return sk_error_errno(err, "mkdir %s/%s", m->destination, name);
		_cleanup_close_ int sub =
		    openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return sk_error_errno(err, "open %s/%s", m->destination, name);
		fd_path(subt, sub);
		if (mount(hs[i].dir, subt, NULL, MS_BIND | MS_REC, NULL) < 0)
			return sk_error_errno(err, "bind cgroup '%s' on %s/%s", hs[i].dir,
					      m->destination, name);
		/* co-mounted controllers ("cpu,cpuacct") get a link per name */
		if (strchr(name, ',')) {
			_cleanup_free_ char *copy = sk_strdup(name);
			char *save = NULL;
			for (char *c = strtok_r(copy, ",", &save); c;
			     c = strtok_r(NULL, ",", &save))
				if (symlinkat(name, dfd, c) < 0 && errno != EEXIST)
					sk_debug("symlink %s to %s: %m", c, name);
		}
	}
	/* One recursive change for the tmpfs and every bind under it. */
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
			    ((flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0),
	};
	if (syscall(SYS_mount_setattr, dfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) <
	    0)
		return sk_error_errno(err, "set attributes of the mounts under '%s'",
				      m->destination);
	return 0;
}

struct dev_default {
	const char *path;
	unsigned major, minor;
};

static const struct dev_default default_devices[] = {
	{ "/dev/null", 1, 3 },	 { "/dev/zero", 1, 5 },	   { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static int make_device(int rootfd, const char *path, mode_t type, unsigned major, unsigned minor,
		       mode_t mode, uid_t uid, gid_t gid, bool userns, struct sk_error **err)
{
	_cleanup_free_ char *dir = sk_strdup(path);
	const char *base = strrchr(path, '/') + 1;
	char *slash = strrchr(dir, '/');

	*slash = '\0';
	_cleanup_close_ int dfd = mkpath_in_root(rootfd, *dir ? dir : "/", false, 0);
	if (dfd < 0)
		return sk_error_set(err, -dfd, "create device '%s'", path);
	char dpath[32];
	fd_path(dpath, dfd);
	_cleanup_close_ int d = open(dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return sk_error_errno(err, "open '%s'", dir);

	if (userns) {
		/* No mknod in a user namespace: bind the host's node. */
		int f = openat(d, base, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (f < 0)
			return sk_error_errno(err, "create device '%s'", path);
		close(f);
		_cleanup_close_ int t = openat2_in_root(rootfd, path, O_PATH);
		char tp[32];
		fd_path(tp, t);
		if (t < 0 || mount(path, tp, NULL, MS_BIND, NULL) < 0)
			return sk_error_errno(err, "bind device '%s'", path);
		return 0;
	}
	(void)unlinkat(d, base, 0);
	if (mknodat(d, base, type | (mode & 07777), makedev(major, minor)) < 0)
		return sk_error_errno(err, "mknod '%s'", path);
	if (fchmodat(d, base, mode & 07777, 0) < 0 ||
	    fchownat(d, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return sk_error_errno(err, "set owner and mode of '%s'", path);
	return 0;
}

static bool spec_has_device(const struct sk_spec *spec, const char *path)
{
	const struct sk_linux *l = spec->linux_;

	for (size_t i = 0; l && i < l->n_devices; i++)
		if (!strcmp(l->devices[i].path, path))
			return true;
	return false;
}

static bool dev_is_private(const struct sk_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct sk_mount *m = &spec->mounts[i];
		if (strcmp(m->destination, "/dev") != 0)
			continue;
		for (size_t j = 0; m->options && m->options[j]; j++)
			if (!strcmp(m->options[j], "bind") || !strcmp(m->options[j], "rbind"))
				return false;
		return !m->type || strcmp(m->type, "bind") != 0;
	}
	return false;
}

static int setup_devices(const struct sk_rootfs *r, int rootfd, struct sk_error **err)
{
	const struct sk_linux *l = r->spec->linux_;
	bool priv = dev_is_private(r->spec);
	int ret;

	for (size_t i = 0; priv && i < SK_ELEMENTSOF(default_devices); i++) {
		const struct dev_default *d = &default_devices[i];
		if (spec_has_device(r->spec, d->path))
			continue;
		ret = make_device(rootfd, d->path, S_IFCHR, d->major, d->minor, 0666, 0, 0,
				  r->userns, err);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; l && i < l->n_devices; i++) {
		const struct sk_device *d = &l->devices[i];
		mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
		ret = make_device(rootfd, d->path, type, (unsigned)d->major, (unsigned)d->minor,
				  d->has_file_mode ? d->file_mode : 0666, d->has_uid ? d->uid : 0,
				  d->has_gid ? d->gid : 0, r->userns && type != S_IFIFO, err);
		if (ret < 0)
			return ret;
	}
	if (!priv)
		return 0;
	_cleanup_close_ int dev = openat2_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY);
	if (dev < 0)
		return sk_error_set(err, -dev, "open /dev in the rootfs");
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },	 { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
		{ "/proc/kcore", "core" },
	};
	for (size_t i = 0; i < SK_ELEMENTSOF(links); i++)
		if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
			return sk_error_errno(err, "symlink /dev/%s", links[i][1]);
	struct stat st;
	if (fstatat(dev, "pts/ptmx", &st, 0) == 0 && symlinkat("pts/ptmx", dev, "ptmx") < 0 &&
	    errno != EEXIST)
		return sk_error_errno(err, "symlink /dev/ptmx");
	return 0;
}

/* Makes the mount holding `path` private, so pivot_root accepts a shared host. */
static int make_parent_private(const char *path, struct sk_error **err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ char *best = NULL;
	size_t best_len = 0;

	if (sk_read_file("/proc/self/mountinfo", &buf, NULL) < 0)
		return sk_error_errno(err, "read /proc/self/mountinfo");
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		size_t n = strlen(mp);
		bool under = !strcmp(mp, "/") ||
			     (!strncmp(path, mp, n) && (path[n] == '/' || path[n] == '\0'));
		if (under && n >= best_len) {
			free(best);
			best = sk_strdup(mp);
			best_len = n;
		}
	}
	if (best && mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
		return sk_error_errno(err, "make '%s' private", best);
	return 0;
}

/*
 * Only namespaced sysctls, and only in a namespace of the container's own
 * (as runc checks): anything else would change the host.
 */
static int sysctl_allowed(const struct sk_spec *spec, const char *key, struct sk_error **err)
{
	static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb",
					   "kernel.msgmni", "kernel.sem",
					   "kernel.shmall", "kernel.shmmax",
					   "kernel.shmmni", "kernel.shm_rmid_forced" };
	enum sk_ns_type need = SK_NS__COUNT;

	if (sk_str_has_prefix(key, "net."))
		need = SK_NS_NET;
	else if (sk_str_has_prefix(key, "fs.mqueue."))
		need = SK_NS_IPC;
	else if (!strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname"))
		need = SK_NS_UTS;
	for (size_t i = 0; need == SK_NS__COUNT && i < SK_ELEMENTSOF(ipc); i++)
		if (!strcmp(key, ipc[i]))
			need = SK_NS_IPC;
	if (need == SK_NS__COUNT)
		return sk_error_set(
		    err, 0, "linux.sysctl: '%s' is not in a separate kernel namespace", key);
	if (!sk_spec_namespace(spec, need))
		return sk_error_set(err, 0, "linux.sysctl: '%s' needs a private %s namespace", key,
				    sk_ns_type_name(need));
	return 0;
}

int sk_rootfs_sysctl(const struct sk_spec *spec, struct sk_error **err)
{
	const struct sk_linux *l = spec->linux_;
	int ret;

	for (size_t i = 0; l && i < l->n_sysctl; i++) {
		const char *key = l->sysctl[i].key;
		if (strstr(key, "..") || strchr(key, '/') == key)
			return sk_error_set(err, EINVAL, "sysctl '%s': invalid name", key);
		if ((ret = sysctl_allowed(spec, key, err)) < 0)
			return ret;
		_cleanup_free_ char *path = sk_asprintf("/proc/sys/%s", key);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		const char *v = l->sysctl[i].value;
		int r = sk_write_file(path, v, strlen(v));
		if (r < 0)
			return sk_error_set(err, -r, "sysctl '%s' = '%s'", key, v);
	}
	return 0;
}

int sk_rootfs_prepare(const struct sk_rootfs *r, struct sk_error **err)
{
	const struct sk_linux *l = r->spec->linux_;
	unsigned long prop = MS_SLAVE | MS_REC;
	int ret;

	if (l && l->rootfs_propagation && sk_mountopt_propagation(l->rootfs_propagation, &prop) < 0)
		return sk_error_set(err, 0, "linux.rootfsPropagation: unknown value '%s'",
				    l->rootfs_propagation);
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return sk_error_errno(err, "set propagation of / to %s",
				      l && l->rootfs_propagation ? l->rootfs_propagation
								 : "rslave");
	/* Unless every mount is now a slave or private, the mount holding the
	 * rootfs may still be shared: the rootfs bind would then propagate. */
	if ((!(prop & MS_REC) || (prop & MS_SHARED)) &&
	    (ret = make_parent_private(r->rootfs, err)) < 0)
		return ret;
	if (mount(r->rootfs, r->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return sk_error_errno(err, "bind mount rootfs '%s'", r->rootfs);

	_cleanup_close_ int rootfd = open(r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sk_error_errno(err, "open rootfs '%s'", r->rootfs);
	bool cg_ready = !r->cgroup_ready_cb;
	for (size_t i = 0; i < r->spec->n_mounts; i++) {
		const struct sk_mount *m = &r->spec->mounts[i];
		if (!cg_ready && m->type && sk_str_has_prefix(m->type, "cgroup")) {
			cg_ready = true;
			if ((ret = r->cgroup_ready_cb(r->userdata, err)) < 0)
				return ret;
		}
		if ((ret = do_mount(r, rootfd, m, err)) < 0)
			return ret;
	}
	if (!cg_ready && (ret = r->cgroup_ready_cb(r->userdata, err)) < 0)
		return ret;
	if ((ret = setup_devices(r, rootfd, err)) < 0)
		return ret;
	/* A missing cwd is created, as runc does. */
	const char *cwd = r->spec->process ? r->spec->process->cwd : NULL;
	if (cwd && strcmp(cwd, "/")) {
		int fd = mkpath_in_root(rootfd, cwd, false, 0755);
		if (fd < 0)
			return sk_error_set(err, -fd, "create cwd '%s' in the rootfs", cwd);
		close(fd);
	}
	return 0;
}

int sk_rootfs_pivot(const struct sk_rootfs *r, struct sk_error **err)
{
	if (r->no_pivot) {
		if (chdir(r->rootfs) < 0)
			return sk_error_errno(err, "chdir to rootfs '%s'", r->rootfs);
		if (mount(r->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
			return sk_error_errno(err, "move rootfs '%s' to /", r->rootfs);
		if (chroot(".") < 0)
			return sk_error_errno(err, "chroot to rootfs");
		if (chdir("/") < 0)
			return sk_error_errno(err, "chdir /");
		return 0;
	}
	_cleanup_close_ int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int newroot = open(r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		return sk_error_errno(err, "open old and new root");
	if (fchdir(newroot) < 0)
		return sk_error_errno(err, "chdir to rootfs '%s'", r->rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return sk_error_errno(err, "pivot_root to '%s'", r->rootfs);
	/* The old root is now stacked under the new one: detach it. */
	if (fchdir(oldroot) < 0)
		return sk_error_errno(err, "chdir to old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return sk_error_errno(err, "make old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return sk_error_errno(err, "unmount old root");
	if (chdir("/") < 0)
		return sk_error_errno(err, "chdir /");
	return 0;
}

static int mask_path(const char *path, struct sk_error **err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : sk_error_errno(err, "masked path '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
			return sk_error_errno(err, "mask '%s'", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		return sk_error_errno(err, "mask '%s'", path);
	}
	return 0;
}

static int readonly_path(const char *path, bool userns, struct sk_error **err)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : sk_error_errno(err, "read-only path '%s'", path);
	return remount_bind(path, MS_RDONLY | MS_REC, userns, path, err);
}

int sk_rootfs_finish(const struct sk_rootfs *r, struct sk_error **err)
{
	const struct sk_linux *l = r->spec->linux_;
	int ret;

	for (size_t i = 0; l && l->masked_paths && l->masked_paths[i]; i++)
		if ((ret = mask_path(l->masked_paths[i], err)) < 0)
			return ret;
	for (size_t i = 0; l && l->readonly_paths && l->readonly_paths[i]; i++)
		if ((ret = readonly_path(l->readonly_paths[i], r->userns, err)) < 0)
			return ret;
	if (r->spec->root_readonly && (ret = remount_bind("/", MS_RDONLY, r->userns, "/", err)) < 0)
		return ret;
	if (l && l->rootfs_propagation) {
		unsigned long prop;
		if (sk_mountopt_propagation(l->rootfs_propagation, &prop) == 0 &&
		    mount(NULL, "/", NULL, prop, NULL) < 0)
			return sk_error_errno(err, "set propagation of / to %s",
					      l->rootfs_propagation);
	}
	return 0;
}
