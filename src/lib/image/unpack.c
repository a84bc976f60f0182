/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unpack.c - unpacks one layer tar into a directory, as the OCI image-spec
 * (layer.md) says, for use as an overlayfs lower layer.
 *
 * Whiteouts (.wh.NAME) become 0:0 character devices and opaque markers
 * (.wh..wh..opq) the trusted.overlay.opaque="y" xattr, which is how
 * overlayfs spells them.  Regular files (sparse too), directories, symlinks,
 * hard links, device nodes and fifos are created with their owners, modes,
 * xattrs and mtimes (directories' mtimes last, once their children exist).
 *
 * The archive is hostile until proven otherwise.  Names are normalized and
 * refused when absolute, when they contain "..", or when longer than
 * PATH_MAX; every directory is opened one component at a time with
 * O_NOFOLLOW from the layer root, so no symlink is ever followed, whether
 * it came in this archive or was planted by an earlier entry.  Relative
 * symlinks that climb out of the layer and hard links that would point out
 * of it are refused; trusted.overlay.* and user.overlay.* xattrs in the
 * archive are dropped (they would steer overlayfs).  Errors name the entry.
 *
 * This file does not know about blobs, digests or compression: layers.c
 * feeds it the uncompressed tar stream.
 */
#include "image/image-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define SK_WH_PREFIX ".wh."
#define SK_WH_OPAQUE ".wh..wh..opq"
#define SK_XATTR_MAX_COUNT 256

struct dir_time {
	char *path;
	struct timespec ts[2];
};

struct unpacker {
	int root;
	const struct sk_unpack_opts *o;
	struct sk_error **err;
	bool chown;
	char *cache_path; /* the directory cache_fd is, relative to root */
	int cache_fd;
	struct dir_time *dirs;
	size_t n_dirs;
	const char *entry; /* the raw name of the entry being unpacked, for errors */
};

/* "./a//b/" -> "a/b"; refuses absolute names, "..", and overlong names. */
static int normalize(struct unpacker *u, const char *raw, const char *what, char **ret)
{
	_cleanup_free_ char *out = NULL, *copy = NULL;
	char *save = NULL;
	size_t len = 0;

	if (!raw)
		return sk_error_set(u->err, 0, "entry without a name");
	if (strlen(raw) >= PATH_MAX)
		return sk_error_set(u->err, 0, "entry '%.100s...': %s longer than %d bytes",
				    u->entry, what, PATH_MAX);
	if (raw[0] == '/')
		return sk_error_set(u->err, 0, "entry '%s': absolute %s '%s' refused", u->entry,
				    what, raw);
	copy = sk_strdup(raw);
	out = sk_malloc0(strlen(raw) + 1);
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, ".."))
			return sk_error_set(u->err, 0, "entry '%s': %s '%s' contains '..'",
					    u->entry, what, raw);
		if (strlen(c) > NAME_MAX)
			return sk_error_set(u->err, 0, "entry '%.100s': component longer than %d",
					    u->entry, NAME_MAX);
		if (len)
			out[len++] = '/';
		memcpy(out + len, c, strlen(c));
		len += strlen(c);
	}
	out[len] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

static void drop_cache(struct unpacker *u)
{
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	u->cache_fd = -1;
	free(u->cache_path);
	u->cache_path = NULL;
}

/* Opens one component below dirfd without following symlinks, creating it if asked. */
static int open_component(struct unpacker *u, int dirfd, const char *name, bool create,
			  const char *path)
{
	struct stat st;
	int fd;

	for (int tries = 0; tries < 2; tries++) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == ENOENT && create) {
			if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
				return sk_error_errno(u->err, "entry '%s': mkdir '%s'", u->entry,
						      path);
			continue;
		}
		if ((errno != ENOTDIR && errno != ELOOP) ||
		    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return sk_error_errno(u->err, "entry '%s': open '%s'", u->entry, path);
		if (S_ISLNK(st.st_mode))
			return sk_error_set(u->err, 0,
					    "entry '%s': '%s' is a symlink, refusing to follow it",
					    u->entry, path);
		/* a whiteout earlier in this layer may be replaced by a directory */
		if (!create || !S_ISCHR(st.st_mode) || st.st_rdev != 0 ||
		    unlinkat(dirfd, name, 0) < 0)
			return sk_error_set(u->err, ENOTDIR, "entry '%s': '%s'", u->entry, path);
	}
	return sk_error_set(u->err, EAGAIN, "entry '%s': open '%s'", u->entry, path);
}

/*
 * Returns a new fd of directory `rel` (relative to root, "" is root),
 * walked component by component with O_NOFOLLOW.  The last directory
 * opened is cached: tar entries come grouped by directory.
 */
static int open_dir_from(struct unpacker *u, int root, const char *rel, bool create, bool cache)
{
	_cleanup_free_ char *copy = sk_strdup(rel);
	_cleanup_close_ int cur = -1;
	const char *rest = copy;
	char *save = NULL;
	int base = root;

	if (cache && u->cache_path) {
		size_t n = strlen(u->cache_path);

		if (!strcmp(rel, u->cache_path)) {
			int fd = fcntl(u->cache_fd, F_DUPFD_CLOEXEC, 3);
			return fd < 0 ? sk_error_errno(u->err, "dup") : fd;
		}
		if (!strncmp(rel, u->cache_path, n) && rel[n] == '/') {
			base = u->cache_fd;
			rest = copy + n + 1;
		}
	}
	cur = fcntl(base, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return sk_error_errno(u->err, "dup");
	for (char *c = strtok_r((char *)rest, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = open_component(u, cur, c, create, rel);

		if (next < 0)
			return next;
		close(cur);
		cur = next;
	}
	if (cache) {
		drop_cache(u);
		u->cache_fd = fcntl(cur, F_DUPFD_CLOEXEC, 3);
		if (u->cache_fd >= 0)
			u->cache_path = sk_strdup(rel);
	}
	return TAKE_FD(cur);
}

static int open_dir(struct unpacker *u, const char *rel, bool create)
{
	return open_dir_from(u, u->root, rel, create, true);
}

static void split(char *path, char **ret_parent, char **ret_base)
{
	char *slash = strrchr(path, '/');

	if (!slash) {
		*ret_parent = (char *)"";
		*ret_base = path;
		return;
	}
	*slash = '\0';
	*ret_parent = path;
	*ret_base = slash + 1;
}

/* Removes whatever is at pfd/name (a tree too); `path` is its name in the layer. */
static int remove_at(struct unpacker *u, int pfd, const char *name, const char *path)
{
	struct stat st;
	int r = 0;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : sk_error_errno(u->err, "entry '%s': stat", u->entry);
	if (S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *p = sk_asprintf("/proc/self/fd/%d/%s", pfd, name);
		size_t n = strlen(path);

		if (u->cache_path && !strncmp(u->cache_path, path, n) &&
		    (u->cache_path[n] == '\0' || u->cache_path[n] == '/'))
			drop_cache(u);
		r = sk_rm_rf(p);
	} else if (unlinkat(pfd, name, 0) < 0) {
		r = -errno;
	}
	return r < 0 ? sk_error_set(u->err, -r, "entry '%s': remove '%s'", u->entry, path) : 0;
}

static bool is_overlay_xattr(const char *name)
{
	return sk_str_has_prefix(name, "trusted.overlay.") ||
	       sk_str_has_prefix(name, "user.overlay.");
}

static int set_xattrs(struct unpacker *u, struct archive_entry *e, int fd, int pfd,
		      const char *base)
{
	const char *name;
	const void *val;
	size_t size;
	int count = archive_entry_xattr_reset(e);

	if (count > SK_XATTR_MAX_COUNT)
		return sk_error_set(u->err, 0, "entry '%s': more than %d xattrs", u->entry,
				    SK_XATTR_MAX_COUNT);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		int r;

		if (!name || is_overlay_xattr(name))
			continue;
		if (fd >= 0) {
			r = fsetxattr(fd, name, val, size, 0);
		} else {
			_cleanup_free_ char *p = sk_asprintf("/proc/self/fd/%d/%s", pfd, base);
			r = lsetxattr(p, name, val, size, 0);
		}
		if (r < 0 && errno != ENOTSUP && errno != EPERM)
			return sk_error_errno(u->err, "entry '%s': set xattr '%s'", u->entry, name);
	}
	return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

/*
 * Owner, mode, xattrs and times of what was just created at pfd/base
 * (fd: an open fd of it, or -1).  chown comes before chmod, which would
 * otherwise lose set-id bits.
 */
static int set_meta(struct unpacker *u, struct archive_entry *e, int fd, int pfd, const char *base,
		    bool is_link)
{
	mode_t mode = archive_entry_perm(e) & 07777;
	struct timespec ts[2];
	int r;

	if (u->chown) {
		r = fd >= 0 ? fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e))
			    : fchownat(pfd, base, (uid_t)archive_entry_uid(e),
				       (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			return sk_error_errno(u->err, "entry '%s': chown", u->entry);
	}
	if (!is_link) {
		r = fd >= 0 ? fchmod(fd, mode) : fchmodat(pfd, base, mode, 0);
		if (r < 0)
			return sk_error_errno(u->err, "entry '%s': chmod", u->entry);
	}
	r = set_xattrs(u, e, fd, pfd, base);
	if (r < 0)
		return r;
	if (archive_entry_filetype(e) == AE_IFDIR)
		return 0; /* directories get their times at the end */
	entry_times(e, ts);
	r = fd >= 0 ? futimens(fd, ts) : utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return r < 0 ? sk_error_errno(u->err, "entry '%s': set times", u->entry) : 0;
}

static int write_data(struct unpacker *u, struct archive *a, struct archive_entry *e, int fd)
{
	int64_t pos = 0, offset;
	const void *buf;
	size_t size;
	int r;

	for (;;) {
		r = archive_read_data_block(a, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return sk_error_set(u->err, 0, "entry '%s': read: %s", u->entry,
					    archive_error_string(a));
		if (offset != pos && lseek(fd, offset, SEEK_SET) < 0)
			return sk_error_errno(u->err, "entry '%s': seek", u->entry);
		r = sk_write_all(fd, buf, size);
		if (r < 0)
			return sk_error_set(u->err, -r, "entry '%s': write", u->entry);
		pos = offset + (int64_t)size;
	}
	if (archive_entry_size_is_set(e) && pos < archive_entry_size(e) &&
	    ftruncate(fd, archive_entry_size(e)) < 0)
		return sk_error_errno(u->err, "entry '%s': truncate", u->entry);
	return 0;
}

static int make_file(struct unpacker *u, struct archive *a, struct archive_entry *e, int pfd,
		     const char *base)
{
	_cleanup_close_ int fd =
	    openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return sk_error_errno(u->err, "entry '%s': create", u->entry);
	r = write_data(u, a, e, fd);
	if (r < 0)
		return r;
	return set_meta(u, e, fd, pfd, base, false);
}

static int make_dir(struct unpacker *u, struct archive_entry *e, int pfd, const char *base,
		    const char *path)
{
	_cleanup_close_ int fd = -1;
	struct dir_time *d;

	if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST)
		return sk_error_errno(u->err, "entry '%s': mkdir", u->entry);
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sk_error_errno(u->err, "entry '%s': open", u->entry);
	u->dirs = sk_realloc(u->dirs, sizeof(*u->dirs) * (u->n_dirs + 1));
	d = &u->dirs[u->n_dirs++];
	d->path = sk_strdup(path);
	entry_times(e, d->ts);
	return set_meta(u, e, fd, pfd, base, false);
}

/* A relative symlink target climbing above the layer root from `parent`. */
static bool symlink_escapes(const char *parent, const char *target)
{
	_cleanup_free_ char *copy = sk_strdup(target);
	char *save = NULL;
	long depth = 0;

	if (target[0] == '/')
		return false; /* resolved in the container's root at run time */
	for (const char *p = parent; *p; p++)
		depth += *p == '/';
	depth += *parent != '\0';
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		depth += strcmp(c, "..") ? 1 : -1;
		if (depth < 0)
			return true;
	}
	return false;
}

static int make_symlink(struct unpacker *u, struct archive_entry *e, int pfd, const char *base,
			const char *parent)
{
	const char *target = archive_entry_symlink(e);

	if (!target)
		target = archive_entry_symlink_utf8(e);
	if (!target || !*target || strlen(target) >= PATH_MAX)
		return sk_error_set(u->err, 0, "entry '%s': invalid symlink target", u->entry);
	if (symlink_escapes(parent, target))
		return sk_error_set(u->err, 0, "entry '%s': symlink to '%s' escapes the layer",
				    u->entry, target);
	if (symlinkat(target, pfd, base) < 0)
		return sk_error_errno(u->err, "entry '%s': symlink", u->entry);
	return set_meta(u, e, -1, pfd, base, true);
}

static int make_node(struct unpacker *u, struct archive_entry *e, int pfd, const char *base)
{
	mode_t type = archive_entry_filetype(e);

	if (mknodat(pfd, base, type | 0600, archive_entry_rdev(e)) < 0)
		return sk_error_errno(u->err, "entry '%s': mknod", u->entry);
	return set_meta(u, e, -1, pfd, base, false);
}

/* Copies a regular file from a lower layer: a hard link to a file no longer in this layer. */
static int copy_up(struct unpacker *u, int src, int pfd, const char *base)
{
	_cleanup_close_ int dst = -1;
	struct stat st;
	struct timespec ts[2];

	if (fstat(src, &st) < 0)
		return sk_error_errno(u->err, "entry '%s': stat", u->entry);
	dst = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dst < 0)
		return sk_error_errno(u->err, "entry '%s': create", u->entry);
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, (size_t)left, 0);
		if (n <= 0)
			return sk_error_errno(u->err, "entry '%s': copy", u->entry);
		left -= n;
	}
	if (u->chown && fchown(dst, st.st_uid, st.st_gid) < 0)
		return sk_error_errno(u->err, "entry '%s': chown", u->entry);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (fchmod(dst, st.st_mode & 07777) < 0 || futimens(dst, ts) < 0)
		return sk_error_errno(u->err, "entry '%s': set metadata", u->entry);
	return 0;
}

static int link_from_lower(struct unpacker *u, const char *tparent, const char *tbase, int pfd,
			   const char *base, const char *target)
{
	for (size_t i = 0; u->o && i < u->o->n_lowers; i++) {
		struct sk_error *ignored = NULL, **saved = u->err;
		_cleanup_close_ int dfd = -1, src = -1;
		struct stat st;

		u->err = &ignored;
		dfd = open_dir_from(u, u->o->lower_fds[i], tparent, false, false);
		u->err = saved;
		sk_error_free(ignored);
		if (dfd < 0)
			continue;
		if (fstatat(dfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode))
			break; /* a whiteout or something no hard link can point at */
		src = openat(dfd, tbase, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (src < 0)
			break;
		return copy_up(u, src, pfd, base);
	}
	return sk_error_set(u->err, 0, "entry '%s': hard link target '%s' not found in the layer",
			    u->entry, target);
}

static int make_hardlink(struct unpacker *u, const char *raw_target, int pfd, const char *base)
{
	_cleanup_free_ char *target = NULL;
	_cleanup_close_ int tpfd = -1;
	char *tparent, *tbase;
	int r = normalize(u, raw_target, "hard link target", &target);

	if (r < 0)
		return r;
	if (!*target)
		return sk_error_set(u->err, 0, "entry '%s': hard link to the layer root", u->entry);
	_cleanup_free_ char *full = sk_strdup(target);
	split(target, &tparent, &tbase);
	{
		struct sk_error *ignored = NULL, **saved = u->err;

		u->err = &ignored;
		tpfd = open_dir_from(u, u->root, tparent, false, false);
		u->err = saved;
		sk_error_free(ignored);
	}
	if (tpfd < 0)
		return link_from_lower(u, tparent, tbase, pfd, base, full);
	if (linkat(tpfd, tbase, pfd, base, 0) == 0)
		return 0;
	if (errno == ENOENT)
		return link_from_lower(u, tparent, tbase, pfd, base, full);
	return sk_error_errno(u->err, "entry '%s': hard link to '%s'", u->entry, full);
}

static int whiteout(struct unpacker *u, int pfd, const char *base, const char *parent)
{
	const char *name = base + strlen(SK_WH_PREFIX);
	_cleanup_free_ char *path = NULL;
	int r;

	if (!strcmp(base, SK_WH_OPAQUE)) {
		if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return sk_error_errno(u->err, "entry '%s': mark opaque", u->entry);
		return 0;
	}
	if (sk_str_has_prefix(base, ".wh..wh."))
		return 0; /* aufs metadata (.wh..wh.plnk and friends): not content */
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return sk_error_set(u->err, 0, "entry '%s': invalid whiteout", u->entry);
	path = *parent ? sk_asprintf("%s/%s", parent, name) : sk_strdup(name);
	r = remove_at(u, pfd, name, path);
	if (r < 0)
		return r;
	if (mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		return sk_error_errno(u->err, "entry '%s': create whiteout", u->entry);
	return 0;
}

static int unpack_root_entry(struct unpacker *u, struct archive_entry *e)
{
	if (archive_entry_filetype(e) != AE_IFDIR)
		return sk_error_set(u->err, 0, "entry '%s': the layer root is not a directory",
				    u->entry);
	u->dirs = sk_realloc(u->dirs, sizeof(*u->dirs) * (u->n_dirs + 1));
	u->dirs[u->n_dirs].path = sk_strdup("");
	entry_times(e, u->dirs[u->n_dirs++].ts);
	return set_meta(u, e, u->root, -1, NULL, false);
}

static int unpack_entry(struct unpacker *u, struct archive *a, struct archive_entry *e)
{
	_cleanup_free_ char *path = NULL, *full = NULL;
	_cleanup_close_ int pfd = -1;
	const char *hardlink = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	char *parent, *base;
	struct stat st;
	int r;

	u->entry = archive_entry_pathname(e);
	if (!u->entry)
		u->entry = archive_entry_pathname_utf8(e);
	r = normalize(u, u->entry, "path", &path);
	if (r < 0)
		return r;
	if (!*path)
		return unpack_root_entry(u, e);
	full = sk_strdup(path);
	split(path, &parent, &base);
	pfd = open_dir(u, parent, true);
	if (pfd < 0)
		return pfd;
	if (sk_str_has_prefix(base, SK_WH_PREFIX))
		return whiteout(u, pfd, base, parent);
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !(S_ISDIR(st.st_mode) && type == AE_IFDIR && !hardlink)) {
		r = remove_at(u, pfd, base, full);
		if (r < 0)
			return r;
	}
	if (hardlink)
		return make_hardlink(u, hardlink, pfd, base);
	switch (type) {
	case AE_IFREG:
		return make_file(u, a, e, pfd, base);
	case AE_IFDIR:
		return make_dir(u, e, pfd, base, full);
	case AE_IFLNK:
		return make_symlink(u, e, pfd, base, parent);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return make_node(u, e, pfd, base);
	case AE_IFSOCK:
		return 0; /* sockets are not content */
	default:
		return sk_error_set(u->err, 0, "entry '%s': unsupported file type 0%o", u->entry,
				    (unsigned)type);
	}
}

static int apply_dir_times(struct unpacker *u)
{
	for (size_t i = u->n_dirs; i-- > 0;) {
		struct dir_time *d = &u->dirs[i];
		_cleanup_close_ int pfd = -1;
		char *parent, *base;
		int r;

		if (!*d->path) {
			r = futimens(u->root, d->ts);
		} else {
			split(d->path, &parent, &base);
			u->entry = d->path;
			pfd = open_dir(u, parent, false);
			if (pfd < 0)
				return pfd;
			r = utimensat(pfd, base, d->ts, AT_SYMLINK_NOFOLLOW);
		}
		if (r < 0 && errno != ENOENT) /* a later entry may have removed it */
			return sk_error_errno(u->err, "directory '%s': set times", d->path);
	}
	return 0;
}

int sk_unpack_archive(struct archive *a, int dirfd, const struct sk_unpack_opts *o,
		      struct sk_error **err)
{
	struct unpacker u = {
		.root = dirfd, .o = o, .err = err, .cache_fd = -1, .chown = geteuid() == 0
	};
	struct archive_entry *e;
	int r = 0;

	for (;;) {
		int ar = archive_read_next_header(a, &e);

		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = sk_error_set(err, 0, "read tar header: %s", archive_error_string(a));
			break;
		}
		r = unpack_entry(&u, a, e);
		if (r < 0)
			break;
	}
	if (r == 0)
		r = apply_dir_times(&u);
	drop_cache(&u);
	for (size_t i = 0; i < u.n_dirs; i++)
		free(u.dirs[i].path);
	free(u.dirs);
	return r;
}

int sk_unpack_buffer(const void *buf, size_t len, int dirfd, const struct sk_unpack_opts *o,
		     struct sk_error **err)
{
	struct archive *a = archive_read_new();
	int r;

	if (!a)
		abort();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
		r = sk_error_set(err, 0, "open tar: %s", archive_error_string(a));
	else
		r = sk_unpack_archive(a, dirfd, o, err);
	archive_read_free(a);
	return r;
}
