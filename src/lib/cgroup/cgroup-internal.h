/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-internal.h - what cgroup.c shares with its backends.
 *
 * cgroup.c owns struct sk_cgroup, the host layout and the lifecycle; the
 * backends (cgroup-v1.c, cgroup-v2.c, cgroup-bpf.c) only write limits into
 * one hierarchy's directory.  Nothing outside src/lib/cgroup includes this.
 */
#ifndef SK_CGROUP_INTERNAL_H
#define SK_CGROUP_INTERNAL_H

#include "cgroup.h"

struct sk_cgroup {
	char *path; /* cgroupfs path, "/skiff/<id>" */
	enum sk_cgroup_mode mode;
	struct sk_cgroup_hierarchy *h;
	size_t n_h;
	char **created; /* absolute dirs skiff made, outermost first per hierarchy */
};

/* The host's hierarchies (cgroup-layout.c); dir is NULL in these. */
struct sk_cgroup_layout {
	enum sk_cgroup_mode mode;
	struct sk_cgroup_hierarchy *h;
	size_t n;
};

/* Parsed once per process and kept; the caller must not free it. */
int sk_cgroup_layout_get(const struct sk_cgroup_layout **ret, struct sk_error **err);
void sk_cgroup_hierarchy_release(struct sk_cgroup_hierarchy *h);
/*
 * Parses mountinfo text into a new layout (the first mount of each hierarchy
 * wins; v2 controllers are read from the mount's cgroup.controllers, "" when
 * unreadable).  -ENOENT when no cgroup filesystem is in it.
 */
int sk_cgroup_layout_parse(const char *mountinfo, struct sk_cgroup_layout **ret,
			   struct sk_error **err);
void sk_cgroup_layout_free(struct sk_cgroup_layout *l);
/* Collapses "//" and "/./", rejects ".." (-EINVAL); "/a/b" or "/" in *ret. */
int sk_cgroup_path_normalize(const char *in, char **ret);

/* The controller groups that sk_cgroup_apply() drives, one writer each. */
enum sk_cgroup_ctl {
	SK_CGROUP_MEMORY,
	SK_CGROUP_CPU,
	SK_CGROUP_CPUSET,
	SK_CGROUP_PIDS,
	SK_CGROUP_IO, /* "blkio" on v1, "io" on v2 */
	SK_CGROUP_HUGETLB,
	SK_CGROUP_DEVICES, /* v1 devices.allow/deny, v2 an eBPF program */
	SK_CGROUP_NET,	   /* v1 net_cls only */
	SK_CGROUP__COUNT,
};

typedef int (*sk_cgroup_write_fn)(const char *dir, const struct sk_resources *r,
				  struct sk_error **err);

/*
 * One backend: a writer per controller group.  Each receives the directory
 * of the hierarchy that holds the controller and writes only what `r` sets.
 * A NULL entry means the backend has no such controller.
 */
struct sk_cgroup_ops {
	sk_cgroup_write_fn write[SK_CGROUP__COUNT];
};

extern const struct sk_cgroup_ops sk_cgroup_v1_ops;
extern const struct sk_cgroup_ops sk_cgroup_v2_ops;

/* Whether `name` is in h's controller list ("cpu,cpuacct" or "cpu io"). */
bool sk_cgroup_hierarchy_has(const struct sk_cgroup_hierarchy *h, const char *name);
/* The v1 hierarchy holding controller `name`, or the v2 one; NULL when none. */
const struct sk_cgroup_hierarchy *sk_cgroup_find_v1(const struct sk_cgroup *cg, const char *name);
const struct sk_cgroup_hierarchy *sk_cgroup_find_v2(const struct sk_cgroup *cg);

/*
 * Writes `value` to dir/file.  Errors read "write 'VALUE' to 'DIR/FILE': why".
 */
int sk_cgroup_write(const char *dir, const char *file, const char *value, struct sk_error **err);
/* As sk_cgroup_write() with a printf format. */
int sk_cgroup_writef(const char *dir, const char *file, struct sk_error **err, const char *fmt, ...)
    _printf_(4, 5);
/* Reads dir/file into *ret (NUL-terminated, trailing newline kept); negative errno. */
int sk_cgroup_read(const char *dir, const char *file, char **ret);
/* Reads one unsigned number ("max" reads as UINT64_MAX); negative errno. */
int sk_cgroup_read_u64(const char *dir, const char *file, uint64_t *ret);
/* Finds "key value" in a flat-keyed file such as memory.stat; negative errno. */
int sk_cgroup_read_key(const char *dir, const char *file, const char *key, uint64_t *ret);
/* Whether dir/file exists (e.g. memory.memsw.limit_in_bytes). */
bool sk_cgroup_has_file(const char *dir, const char *file);

/* Writers whose files are the same on v1 and v2 (in cgroup-v1.c). */
int sk_cgroup_cpuset_write(const char *dir, const struct sk_resources *r, struct sk_error **err);
int sk_cgroup_pids_write(const char *dir, const struct sk_resources *r, struct sk_error **err);
/* hugetlb.<size>.<suffix>: "limit_in_bytes" on v1, "max" on v2. */
int sk_cgroup_hugetlb_write(const char *dir, const struct sk_resources *r, const char *suffix,
			    struct sk_error **err);

/*
 * Attaches a BPF_PROG_TYPE_CGROUP_DEVICE program built from `rules` to the
 * cgroup v2 directory, replacing the program skiff attached there before.
 */
int sk_cgroup_bpf_devices(const char *dir, const struct sk_device_rule *rules, size_t n,
			  struct sk_error **err);

/* Conversions used by the v2 backend (pure; exported for the unit tests). */
uint64_t sk_cgroup_shares_to_weight(uint64_t shares);
uint64_t sk_cgroup_blkio_to_io_weight(uint64_t weight);
/* OCI memory.swap (memory+swap) to memory.swap.max; -1 in or out means "max". */
int sk_cgroup_swap_to_v2(int64_t swap, int64_t memory, int64_t *ret);
/*
 * "a-b.slice" -> "/a.slice/a-b.slice" as systemd lays out nested slices
 * (runc's ExpandSlice).  Returns 0 or -EINVAL for a malformed name.
 */
int sk_cgroup_expand_slice(const char *slice, char **ret);

#endif
