/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rootfs.h - the container's root filesystem, built inside its new mount
 * namespace by the container process before it execs.
 *
 * Three steps, called in order by the container init: prepare (propagation,
 * the rootfs bind, every entry of `mounts`, /dev nodes and symlinks, sysctl
 * and hostname), pivot (pivot_root, or MS_MOVE + chroot for --no-pivot),
 * finish (masked and read-only paths, read-only root, root propagation).
 * Mount targets are resolved inside the rootfs with openat2(RESOLVE_IN_ROOT)
 * so a symlink in an image can never point a mount outside it.
 */
#ifndef SK_RUNTIME_ROOTFS_H
#define SK_RUNTIME_ROOTFS_H

#include <stdbool.h>

#include "base/error.h"
#include "cgroup/cgroup.h"
#include "oci/spec.h"

struct sk_rootfs {
	const struct sk_spec *spec;
	const char *rootfs;	  /* absolute host path of the root filesystem */
	struct sk_cgroup *cgroup; /* for "cgroup" mounts; may be NULL */
	bool userns;		  /* in a new user namespace: bind devices, no mknod */
	bool cgroupns;		  /* in a new cgroup namespace */
	bool no_pivot;
	/*
	 * Called once during prepare, before the first cgroup mount (or after
	 * the last mount when there is none): the launcher builds the cgroup
	 * while the mounts before it are made.  May be NULL.
	 */
	int (*cgroup_ready_cb)(void *userdata, struct sk_error **err);
	void *userdata;
};

int sk_rootfs_prepare(const struct sk_rootfs *r, struct sk_error **err);
int sk_rootfs_pivot(const struct sk_rootfs *r, struct sk_error **err);
int sk_rootfs_finish(const struct sk_rootfs *r, struct sk_error **err);

/* Writes each linux.sysctl entry through /proc/sys (in the current namespaces). */
int sk_rootfs_sysctl(const struct sk_spec *spec, struct sk_error **err);

#endif
