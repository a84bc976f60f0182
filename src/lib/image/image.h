/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.h - skiff's image store: a content-addressed store of OCI images
 * on local disk, its importers, exporters and the overlay root filesystems
 * containers run on.
 *
 * Layout under the store root (default /var/lib/skiff):
 *
 *   blobs/sha256/<hex>      manifests, configs and layer blobs as imported,
 *                           each verified (digest and size) while streaming
 *   layers/<diffid-hex>/    each layer unpacked once, shared by every image
 *   l/<short>               short symlinks to layers/ for overlay lowerdir
 *   containers/<id>/        upper, work and merged dirs of one container
 *   images.json             the index: names and ids -> manifests
 *   lock                    flock()ed: shared by readers, exclusive by writers
 *
 * Image ids are config digests ("sha256:<hex>"), as in docker and podman.
 * Names are normalized as docker does: "busybox" is
 * "docker.io/library/busybox:latest".  This module knows nothing about
 * skiffd: it is driven by the `skiff image` CLI and by the spec builder.
 */
#ifndef SK_IMAGE_IMAGE_H
#define SK_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "../oci/spec.h"

struct sk_image_store;

/* One image in the index.  Owned by the store; valid until it changes. */
struct sk_image_info {
	char *id;		   /* "sha256:<hex>" of the config blob */
	char *manifest_digest;	   /* "sha256:<hex>" of the manifest blob */
	char *manifest_media_type; /* OCI or docker schema 2 manifest */
	char **names;		   /* normalized references, may be empty */
	char *created;		   /* config "created", may be NULL */
	char *imported;		   /* RFC 3339 UTC time of the import */
	uint64_t size;		   /* sum of the layers' uncompressed tar sizes */
	char **diff_ids;	   /* bottom layer first */
};

/*
 * Opens (creating when `write`) the store at `root` and locks it: shared
 * for readers, exclusive for writers, until sk_image_store_free().
 */
int sk_image_store_open(const char *root, bool write, struct sk_image_store **ret,
			struct sk_error **err);
void sk_image_store_free(struct sk_image_store *s);
static inline void sk_image_store_freep(struct sk_image_store **s)
{
	sk_image_store_free(*s);
}
const char *sk_image_store_root(const struct sk_image_store *s);

/* All images, in import order. */
const struct sk_image_info *sk_image_list(const struct sk_image_store *s, size_t *ret_n);

/*
 * Finds an image by name (normalized first), by "sha256:<hex>" or by a
 * unique prefix of at least 4 hex digits of its id.  -ENOENT when none.
 */
int sk_image_lookup(const struct sk_image_store *s, const char *name,
		    const struct sk_image_info **ret, struct sk_error **err);

/* Progress of a long import: what is being read and how far (total 0: unknown). */
typedef void (*sk_image_progress_cb)(const char *what, uint64_t done, uint64_t total,
				     void *userdata);

/* Options of an import.  Everything may be NULL/0. */
struct sk_image_import_opts {
	const char *name;     /* NAME[:TAG] for the (single) imported image */
	const char *platform; /* "os/arch[/variant]", default "linux/amd64" */
	/* a plain rootfs tarball or directory gets its config from these: */
	char **entrypoint; /* argv */
	char **cmd;	   /* argv */
	char **env;	   /* "K=V" */
	const char *workdir;
	const char *user;
	char **expose; /* "80", "53/udp" */
	sk_image_progress_cb progress;
	void *userdata;
};

/*
 * Imports an OCI layout directory, an oci-archive, a docker-archive (both
 * forms) or a plain rootfs tarball/directory, whichever `path` holds.
 * Every image in it is imported; on failure the index is unchanged.
 * *ret_ids (optional) receives the ids imported, NULL-terminated.
 */
int sk_image_import(struct sk_image_store *s, const char *path,
		    const struct sk_image_import_opts *o, char ***ret_ids, struct sk_error **err);

/* Adds name `dst` (normalized) to the image `src`, taking it from any other. */
int sk_image_tag(struct sk_image_store *s, const char *src, const char *dst, struct sk_error **err);

/*
 * Removes a name; when `name` is an id, or the image's last name, removes
 * the image and then the layers and blobs no other image or container
 * uses.  Refuses (-EBUSY) an image a container rootfs uses unless `force`.
 */
int sk_image_remove(struct sk_image_store *s, const char *name, bool force, struct sk_error **err);

/*
 * Removes images without names that no container uses, then every layer,
 * blob, short link and temp file nothing references.  *ret_freed: bytes.
 */
int sk_image_prune(struct sk_image_store *s, uint64_t *ret_freed, struct sk_error **err);

enum sk_image_export_format { SK_IMAGE_EXPORT_OCI_DIR, SK_IMAGE_EXPORT_OCI_ARCHIVE };

/*
 * Writes the image as an OCI layout directory or oci-archive tar at `path`
 * (which must not exist), with its blobs byte for byte as imported.
 */
int sk_image_export(struct sk_image_store *s, const char *name, const char *path,
		    enum sk_image_export_format format, struct sk_error **err);

/* A JSON document describing the image (podman inspect's main fields). */
int sk_image_inspect_json(struct sk_image_store *s, const char *name, char **ret,
			  struct sk_error **err);

/*
 * Mounts an overlay root for container `container_id` ([A-Za-z0-9_.-],
 * at most 64) at <store>/containers/<id>/merged: the image's layers as
 * lowerdirs, upper and work dirs beside it.  `readonly` mounts it MS_RDONLY.
 * Needs an exclusive store.  *ret_path: the merged directory.
 */
int sk_image_rootfs_mount(struct sk_image_store *s, const char *image, const char *container_id,
			  bool readonly, char **ret_path, struct sk_error **err);
/* Unmounts the container's overlay and removes its upper; 0 if it had none. */
int sk_image_rootfs_unmount(struct sk_image_store *s, const char *container_id,
			    struct sk_error **err);

/* The docker Healthcheck of an image config. Durations in nanoseconds. */
struct sk_image_healthcheck {
	char **test; /* ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"] */
	int64_t interval, timeout, start_period, start_interval;
	int retries;
};

/* The parts of an OCI image config (config.json of image-spec) skiff uses. */
struct sk_image_config {
	char *architecture, *os, *variant, *created, *author;
	char **entrypoint; /* NULL when unset */
	char **cmd;	   /* NULL when unset */
	char **env;
	char *working_dir, *user, *stop_signal;
	char **exposed_ports; /* "80/tcp" */
	char **volumes;
	struct sk_kv *labels;
	size_t n_labels;
	struct sk_image_healthcheck *healthcheck; /* NULL when absent */
	char **diff_ids;			  /* rootfs.diff_ids, bottom first */
};

/* Parses an image config document; errors name `name` and the field. */
int sk_image_config_parse(const char *json, size_t len, const char *name,
			  struct sk_image_config **ret, struct sk_error **err);
/* Loads the config of an image from the store. */
int sk_image_config_load(struct sk_image_store *s, const char *image, struct sk_image_config **ret,
			 struct sk_error **err);
void sk_image_config_free(struct sk_image_config *c);
static inline void sk_image_config_freep(struct sk_image_config **c)
{
	sk_image_config_free(*c);
}

/* What a service or `run` overrides.  NULL: keep the image's. */
struct sk_image_overrides {
	char **entrypoint; /* non-NULL (even empty) replaces it and drops the image Cmd */
	char **cmd;
	char **env; /* merged over the image's by key */
	const char *workdir;
	const char *user;
};

/*
 * Sets p->args, env, cwd and user from the image config and overrides with
 * docker's semantics.  User names are resolved against `rootfs`'s
 * /etc/passwd and /etc/group (without leaving it); numeric ids need no
 * rootfs (NULL is fine then).  Fails when no command results.
 */
int sk_image_apply_config(const struct sk_image_config *c, const struct sk_image_overrides *o,
			  const char *rootfs, struct sk_process *p, struct sk_error **err);

/*
 * Resolves "user[:group]" (names or numbers) against rootfs/etc/passwd and
 * /etc/group.  *ret_gids (optional): supplementary groups of a named user.
 */
int sk_image_resolve_user(const char *rootfs, const char *spec, uint32_t *ret_uid,
			  uint32_t *ret_gid, uint32_t **ret_gids, size_t *ret_n_gids,
			  struct sk_error **err);

/*
 * Writes dir/config.json: skiff's default spec with the image's process
 * (terminal false) and root.path = `rootfs`.
 */
int sk_image_bundle_write(const struct sk_image_config *c, const char *rootfs, const char *dir,
			  struct sk_error **err);

/*
 * Normalizes a reference as docker does; *ret is "host/path:tag" or
 * "host/path@sha256:...".  -EINVAL with a message for invalid names.
 */
int sk_image_name_normalize(const char *name, char **ret, struct sk_error **err);

#endif
