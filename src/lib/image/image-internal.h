/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image-internal.h - what the files of the image module share: the store
 * object, digests, the blob writer, the layer unpacker and the parsed forms
 * of manifests and indexes.  Other modules include image.h only; tests and
 * fuzz targets may include this.
 */
#ifndef SK_IMAGE_INTERNAL_H
#define SK_IMAGE_INTERNAL_H

#include <jansson.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/util.h"
#include "image/image.h"

#define SK_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define SK_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define SK_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define SK_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define SK_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define SK_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define SK_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define SK_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define SK_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define SK_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Limits on what untrusted input may make us hold in memory. */
#define SK_IMAGE_JSON_MAX (8u << 20) /* manifests, configs, indexes */
#define SK_IMAGE_MAX_LAYERS 500	     /* overlayfs' own limit */
#define SK_IMAGE_SHORT_LINK_LEN 26

struct sk_image_store {
	char *root;
	int dirfd;
	int lock_fd;
	bool write;
	struct sk_image_info *images;
	size_t n_images;
	json_t *layers; /* "sha256:<diffid>" -> {"size": N} */
};

/* ---- digest.c ---- */
#define SK_DIGEST_HEX_LEN 64
/* Checks "sha256:<64 lowercase hex>"; errors name what is wrong. */
int sk_digest_validate(const char *digest, struct sk_error **err);
/* The hex part of a valid digest. */
const char *sk_digest_hex(const char *digest);
struct sk_sha256;
struct sk_sha256 *sk_sha256_new(void);
void sk_sha256_update(struct sk_sha256 *h, const void *buf, size_t len);
/* Writes "sha256:<hex>" (72 bytes with NUL) and frees h. */
void sk_sha256_final(struct sk_sha256 *h, char out[72]);
void sk_sha256_free(struct sk_sha256 *h);
void sk_sha256_buf(const void *buf, size_t len, char out[72]);

/* ---- blobs.c ---- */
struct sk_blob_writer;
/* Starts a blob in the store (an unnamed temp file until committed). */
int sk_blob_writer_new(struct sk_image_store *s, struct sk_blob_writer **ret,
		       struct sk_error **err);
int sk_blob_writer_write(struct sk_blob_writer *w, const void *buf, size_t len,
			 struct sk_error **err);
/*
 * Verifies the digest and size (when `digest` / size >= 0 are given),
 * fsyncs and names the blob.  `what` names the source in errors.
 * *ret_digest (optional, 72 bytes): what was written.  Frees nothing.
 */
int sk_blob_writer_commit(struct sk_blob_writer *w, const char *what, const char *digest,
			  int64_t size, char ret_digest[72], struct sk_error **err);
uint64_t sk_blob_writer_size(const struct sk_blob_writer *w);
void sk_blob_writer_free(struct sk_blob_writer *w);
static inline void sk_blob_writer_freep(struct sk_blob_writer **w)
{
	sk_blob_writer_free(*w);
}
/* Copies fd (to EOF) into the store, verifying as above. */
int sk_blob_put_fd(struct sk_image_store *s, int fd, const char *what, const char *digest,
		   int64_t size, char ret_digest[72], struct sk_error **err);
int sk_blob_put_buf(struct sk_image_store *s, const void *buf, size_t len, char ret_digest[72],
		    struct sk_error **err);
bool sk_blob_exists(struct sk_image_store *s, const char *digest);
int sk_blob_open(struct sk_image_store *s, const char *digest, struct sk_error **err);
/* Reads a JSON blob (at most SK_IMAGE_JSON_MAX) and checks its digest. */
int sk_blob_read(struct sk_image_store *s, const char *digest, char **ret, size_t *ret_len,
		 struct sk_error **err);

/* ---- unpack.c ---- */
struct archive;
struct sk_unpack_opts {
	const int *lower_fds; /* lower layers, top first, for hard links into them */
	size_t n_lowers;
	bool overlay_whiteouts; /* whiteouts as 0:0 char devices + opaque xattrs */
};
/*
 * Unpacks the tar archive `a` (opened, positioned at the first header) into
 * the directory `dirfd`, never following a symlink and refusing entries
 * that would leave it.  Errors name the entry.
 */
int sk_unpack_archive(struct archive *a, int dirfd, const struct sk_unpack_opts *o,
		      struct sk_error **err);
/* Same from a memory buffer (any compression): the fuzz target's door. */
int sk_unpack_buffer(const void *buf, size_t len, int dirfd, const struct sk_unpack_opts *o,
		     struct sk_error **err);

/* ---- layers.c ---- */
/*
 * Unpacks layer blob `digest` (gzip, zstd or plain tar) into
 * layers/<diffid-hex>/ unless it is there, checking that the uncompressed
 * stream hashes to `diff_id`.  `lowers` are the diff ids below, bottom first.
 */
int sk_layer_ensure(struct sk_image_store *s, const char *digest, const char *diff_id,
		    char *const *lowers, size_t n_lowers, struct sk_error **err);
/* The same for a layer whose diff id is not known yet; *ret_diff_id: what it hashed to. */
int sk_layer_ensure_unknown(struct sk_image_store *s, const char *digest, char ret_diff_id[72],
			    struct sk_error **err);
bool sk_layer_exists(struct sk_image_store *s, const char *diff_id);
/* "l/<short>" for a diff id, created on demand; *ret is "<root>/l/<short>". */
int sk_layer_link(struct sk_image_store *s, const char *diff_id, char **ret, struct sk_error **err);
char *sk_layer_short_name(const char *diff_id);
/* Sum of regular file sizes of an unpacked tree (for prune's report). */
uint64_t sk_tree_size(int dirfd, const char *name);

/* ---- manifest.c ---- */
struct sk_image_descriptor {
	char *media_type;
	char *digest;
	int64_t size;
	char *ref_name;	       /* annotations: org.opencontainers.image.ref.name */
	char *containerd_name; /* annotations: io.containerd.image.name */
	bool has_platform;
	char *os, *architecture, *variant;
};

struct sk_image_manifest {
	char *media_type;
	struct sk_image_descriptor config;
	struct sk_image_descriptor *layers;
	size_t n_layers;
};

struct sk_image_index {
	struct sk_image_descriptor *manifests;
	size_t n_manifests;
};

struct sk_docker_manifest_entry {
	char *config;
	char **repo_tags;
	char **layers;
};

struct sk_docker_manifest {
	struct sk_docker_manifest_entry *entries;
	size_t n_entries;
};

int sk_image_manifest_parse(const char *json, size_t len, const char *name,
			    struct sk_image_manifest **ret, struct sk_error **err);
int sk_image_index_parse(const char *json, size_t len, const char *name,
			 struct sk_image_index **ret, struct sk_error **err);
int sk_docker_manifest_parse(const char *json, size_t len, const char *name,
			     struct sk_docker_manifest **ret, struct sk_error **err);
void sk_image_manifest_free(struct sk_image_manifest *m);
void sk_image_index_free(struct sk_image_index *x);
void sk_docker_manifest_free(struct sk_docker_manifest *m);
static inline void sk_image_manifest_freep(struct sk_image_manifest **m)
{
	sk_image_manifest_free(*m);
}
static inline void sk_image_index_freep(struct sk_image_index **x)
{
	sk_image_index_free(*x);
}
static inline void sk_docker_manifest_freep(struct sk_docker_manifest **m)
{
	sk_docker_manifest_free(*m);
}
bool sk_media_type_is_manifest(const char *mt);
bool sk_media_type_is_index(const char *mt);
bool sk_media_type_is_layer(const char *mt);
/* Does a descriptor's platform match "os/arch[/variant]"? */
bool sk_descriptor_matches_platform(const struct sk_image_descriptor *d, const char *platform);

/* ---- store.c ---- */
/* Records a verified image (manifest and config blobs and layers present). */
int sk_store_add_image(struct sk_image_store *s, const char *manifest_digest,
		       const char *manifest_media_type, const char *config_digest,
		       const struct sk_image_config *c, const char *name, char **ret_id,
		       struct sk_error **err);
int sk_store_save(struct sk_image_store *s, struct sk_error **err);
/* Drops the in-memory index and reads images.json again. */
int sk_store_reload(struct sk_image_store *s, struct sk_error **err);
void sk_store_set_layer_size(struct sk_image_store *s, const char *diff_id, uint64_t size);
/* Removes layers, blobs, links and temp files nothing references; adds to *freed. */
int sk_store_gc(struct sk_image_store *s, uint64_t *freed, struct sk_error **err);
/* Is any container's rootfs built from image `id`? */
bool sk_store_image_in_use(struct sk_image_store *s, const char *id);
/* A string list of every diff id the containers' rootfs use. */
json_t *sk_store_container_layers(struct sk_image_store *s);

/* ---- source.c: where an import reads from (a directory or a tar) ---- */
struct sk_src_file {
	char *name;
	char *buf;
	size_t len;
};
struct sk_src_want {
	char *name;
	char *digest; /* expected, or NULL */
	int64_t size; /* expected, or -1 */
	char got[72]; /* "" until stored */
};
struct sk_src {
	const char *path;
	bool is_dir;
	int dirfd;
	struct sk_src_file *files; /* small files of an archive, read in pass 1 */
	size_t n_files;
	uint64_t mem;
	struct sk_src_want *wants;
	size_t n_wants;
	char **names; /* every entry name of an archive */
};
int sk_src_open(struct sk_src *src, const char *path, struct sk_error **err);
void sk_src_release(struct sk_src *src);
bool sk_src_has(struct sk_src *src, const char *name);
/* Reads a small (JSON) file of the source. */
int sk_src_read(struct sk_src *src, const char *name, char **ret, size_t *ret_len,
		struct sk_error **err);
/* Asks for `name` to be stored as a blob by sk_src_fetch(); returns its want. */
size_t sk_src_want(struct sk_src *src, const char *name, const char *digest, int64_t size);
struct sk_import;
int sk_src_fetch(struct sk_import *im, struct sk_error **err);

/* ---- import.c / import-docker.c / import-rootfs.c ---- */
struct sk_import {
	struct sk_image_store *s;
	const struct sk_image_import_opts *o;
	const char *path;
	struct sk_src src;
	char **ids; /* imported so far */
};
/* Stores, verifies and unpacks one image whose blobs are in the store, and indexes it. */
int sk_import_commit(struct sk_import *im, const char *manifest_json, size_t manifest_len,
		     const char *config_json, size_t config_len, char **names,
		     struct sk_error **err);
int sk_import_oci(struct sk_import *im, struct sk_error **err);
int sk_import_docker(struct sk_import *im, struct sk_error **err);
int sk_import_docker_legacy(struct sk_import *im, struct sk_error **err);
int sk_import_rootfs(struct sk_import *im, bool is_dir, struct sk_error **err);
/* The layer media type for a blob by its first bytes (gzip, zstd or plain tar). */
const char *sk_layer_media_type_sniff(struct sk_image_store *s, const char *digest);
void sk_import_progress(struct sk_import *im, const char *what, uint64_t done, uint64_t total);

/* ---- helpers shared by the files (image-util.c) ---- */
char *sk_image_now_rfc3339(void);
char **sk_json_strv(json_t *arr); /* NULL unless an array of strings */
json_t *sk_strv_json(char *const *v);
json_t *sk_json_must(json_t *v);
void sk_json_set(json_t *obj, const char *key, json_t *v);
void sk_json_append(json_t *arr, json_t *v);

#endif
