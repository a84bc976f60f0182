/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rootfs.c - a container's root filesystem: an overlayfs of the image's
 * unpacked layers (lowerdir, top first) with a per-container upper and work
 * dir under containers/<id>/, mounted on containers/<id>/merged.
 *
 * lowerdir names the layers through the short links in l/ (as
 * containers-storage does) so that the mount option stays under a page;
 * when even that is too long, the new mount API's "lowerdir+" (Linux 6.8)
 * adds the layers one fsconfig() call at a time.  containers/<id>/info.json
 * records the image and layers, so that rm and prune keep them.  A failed
 * mount removes what it created; unmount removes the upper.
 */
#include "image/image-internal.h"

#include <assert.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define SK_MOUNT_DATA_MAX 4000 /* the kernel copies one page of options */

static bool valid_container_id(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= 64 && id[0] != '.' &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* The new mount API, for more layers than fit in one page of options. */
static int mount_fsconfig(char **lowers, const char *upper, const char *work, const char *target,
			  bool readonly, struct sk_error **err)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	_cleanup_close_ int mnt = -1;

	if (fs < 0)
		return sk_error_errno(err, "fsopen overlay");
	for (char **l = lowers; *l; l++)
		if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", *l, 0) < 0)
			return sk_error_errno(err,
					      "overlay: add lower layer '%s' (needs Linux 6.8 "
					      "for this many layers)",
					      *l);
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return sk_error_errno(err, "overlay: configure");
	mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, readonly ? MOUNT_ATTR_RDONLY : 0);
	if (mnt < 0)
		return sk_error_errno(err, "fsmount overlay");
	if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return sk_error_errno(err, "mount overlay on '%s'", target);
	return 0;
}

static int do_mount(char **lowers, const char *dir, bool readonly, struct sk_error **err)
{
	_cleanup_free_ char *upper = sk_asprintf("%s/upper", dir),
			    *work = sk_asprintf("%s/work", dir),
			    *merged = sk_asprintf("%s/merged", dir), *data = NULL;
	size_t len = strlen(upper) + strlen(work) + 64;
	char *p;

	for (char **l = lowers; *l; l++)
		len += strlen(*l) + 1;
	if (len > SK_MOUNT_DATA_MAX)
		return mount_fsconfig(lowers, upper, work, merged, readonly, err);
	data = sk_malloc0(len);
	p = stpcpy(data, "lowerdir=");
	for (char **l = lowers; *l; l++) {
		if (l != lowers)
			*p++ = ':';
		p = stpcpy(p, *l);
	}
	sprintf(p, ",upperdir=%s,workdir=%s", upper, work);
	if (mount("overlay", merged, "overlay", readonly ? MS_RDONLY : 0, data) < 0)
		return sk_error_errno(err, "mount overlay on '%s'", merged);
	return 0;
}

static int write_info(struct sk_image_store *s, const char *id, const struct sk_image_info *in,
		      struct sk_error **err)
{
	_cleanup_free_ char *path = sk_asprintf("%s/containers/%s/info.json", s->root, id), *out;
	json_t *doc =
	    json_pack("{s:s, s:o}", "image", in->id, "layers", sk_strv_json(in->diff_ids));
	int r;

	out = json_dumps(sk_json_must(doc), JSON_INDENT(1));
	json_decref(doc);
	if (!out)
		abort();
	r = sk_write_file_atomic(path, out, strlen(out), 0600, false);
	return r < 0 ? sk_error_set(err, -r, "write '%s'", path) : 0;
}

int sk_image_rootfs_mount(struct sk_image_store *s, const char *image, const char *container_id,
			  bool readonly, char **ret_path, struct sk_error **err)
{
	_cleanup_free_ char *dir = NULL, *rel = NULL;
	_cleanup_strv_ char **lowers = sk_new0(char *, 1);
	const struct sk_image_info *in;
	size_t n;
	int r;

	assert(s->write);
	if (!valid_container_id(container_id))
		return sk_error_set(err, 0, "invalid container id '%.80s'", container_id);
	r = sk_image_lookup(s, image, &in, err);
	if (r < 0)
		return r;
	n = sk_strv_length(in->diff_ids);
	if (n == 0)
		return sk_error_set(err, 0, "image %s has no layers", in->id);
	for (size_t i = n; i-- > 0;) {
		char *link;

		if (!sk_layer_exists(s, in->diff_ids[i]))
			return sk_error_set(err, ENOENT, "image %s: layer %s", in->id,
					    in->diff_ids[i]);
		r = sk_layer_link(s, in->diff_ids[i], &link, err);
		if (r < 0)
			return r;
		sk_strv_push(&lowers, link);
		free(link);
	}
	rel = sk_asprintf("containers/%s", container_id);
	if (mkdirat(s->dirfd, rel, 0700) < 0)
		return errno == EEXIST
			   ? sk_error_set(err, EEXIST, "container '%s' has a rootfs already",
					  container_id)
			   : sk_error_errno(err, "create '%s/%s'", s->root, rel);
	dir = sk_asprintf("%s/%s", s->root, rel);
	static const char *const subdirs[] = { "upper", "work", "merged" };
	for (size_t i = 0; i < SK_ELEMENTSOF(subdirs); i++) {
		_cleanup_free_ char *p = sk_asprintf("%s/%s", rel, subdirs[i]);

		if (mkdirat(s->dirfd, p, 0755) < 0) {
			r = sk_error_errno(err, "create '%s/%s'", s->root, p);
			goto fail;
		}
	}
	r = write_info(s, container_id, in, err);
	if (r == 0)
		r = do_mount(lowers, dir, readonly, err);
	if (r < 0)
		goto fail;
	*ret_path = sk_asprintf("%s/merged", dir);
	return 0;
fail:
	(void)sk_rm_rf(dir);
	return r;
}

int sk_image_rootfs_unmount(struct sk_image_store *s, const char *container_id,
			    struct sk_error **err)
{
	_cleanup_free_ char *dir = NULL, *merged = NULL;
	struct stat st;
	int r;

	if (!valid_container_id(container_id))
		return sk_error_set(err, 0, "invalid container id '%.80s'", container_id);
	dir = sk_asprintf("%s/containers/%s", s->root, container_id);
	if (lstat(dir, &st) < 0)
		return errno == ENOENT ? 0 : sk_error_errno(err, "stat '%s'", dir);
	merged = sk_asprintf("%s/merged", dir);
	if (umount2(merged, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return sk_error_errno(err, "unmount '%s'", merged);
	r = sk_rm_rf(dir);
	if (r < 0)
		return sk_error_set(err, -r, "remove '%s'", dir);
	return 0;
}
