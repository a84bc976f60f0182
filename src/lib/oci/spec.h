/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec.h - the OCI runtime-spec (config.json, 1.0.x - 1.2.x) as C structs.
 *
 * sk_spec_parse() turns a JSON document into a struct sk_spec that owns all
 * of its memory; sk_spec_free() releases it.  Unknown fields are ignored,
 * ociVersion is checked, and the first invalid field yields one error line
 * naming it by its JSON path ("process.capabilities.bounding[2]: unknown
 * capability "CAP_FOO"").  Optional values carry a `has_` flag so that "not
 * set" and "zero" stay different.  This module knows nothing about the
 * kernel: the runtime module applies what is described here.
 */
#ifndef SK_OCI_SPEC_H
#define SK_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"

#define SK_OCI_VERSION "1.2.0"

enum sk_ns_type {
	SK_NS_PID,
	SK_NS_NET,
	SK_NS_MNT,
	SK_NS_IPC,
	SK_NS_UTS,
	SK_NS_USER,
	SK_NS_CGROUP,
	SK_NS_TIME,
	SK_NS__COUNT,
};

struct sk_namespace {
	enum sk_ns_type type;
	char *path; /* NULL: create a new one; else join this one */
};

struct sk_id_mapping {
	uint32_t container_id, host_id, size;
};

struct sk_mount {
	char *destination;
	char *type;	/* may be NULL (bind mounts) */
	char *source;	/* may be NULL */
	char **options; /* NULL-terminated, raw as in config.json */
	struct sk_id_mapping *uid_mappings, *gid_mappings; /* idmapped mounts */
	size_t n_uid_mappings, n_gid_mappings;
};

struct sk_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

/* Capability sets hold bit masks of CAP_* numbers (1ull << CAP_X). */
struct sk_caps {
	bool has_bounding, has_effective, has_inheritable, has_permitted, has_ambient;
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct sk_user {
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* Windows only in the spec; kept, unused */
};

struct sk_process {
	bool terminal;
	bool has_console_size;
	unsigned console_height, console_width;
	struct sk_user user;
	char **args;	    /* NULL-terminated; required for start */
	char *command_line; /* Windows only; kept, unused */
	char **env;	    /* NULL-terminated "K=V" */
	char *cwd;	    /* required, absolute */
	bool has_caps;
	struct sk_caps caps;
	struct sk_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	char *selinux_label;
	bool has_oom_score_adj;
	int oom_score_adj;
	bool has_io_priority;
	int io_priority_class; /* IOPRIO_CLASS_RT / BE / IDLE */
	int io_priority;
	/* scheduler (1.2): kept as raw JSON-free fields */
	bool has_scheduler;
	char *sched_policy;
	int sched_nice, sched_priority;
	char **sched_flags;
	uint64_t sched_runtime, sched_deadline, sched_period;
	/* execCPUAffinity (1.2) */
	char *exec_cpu_affinity_initial, *exec_cpu_affinity_final;
};

struct sk_device {
	char *path;
	char type; /* 'c', 'b', 'u' or 'p' */
	int64_t major, minor;
	bool has_file_mode, has_uid, has_gid;
	uint32_t file_mode, uid, gid;
};

/* A rule of linux.resources.devices: allow/deny type major:minor access. */
struct sk_device_rule {
	bool allow;
	char type;	      /* 'a', 'c' or 'b'; 'a' when absent */
	int64_t major, minor; /* -1 means wildcard '*' */
	char access[4];	      /* subset of "rwm"; "rwm" when absent */
};

struct sk_weight_device {
	int64_t major, minor;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
};

struct sk_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct sk_hugepage_limit {
	char *page_size; /* "2MB", "1GB", ... */
	uint64_t limit;
};

struct sk_kv {
	char *key, *value;
};

struct sk_resources {
	struct sk_device_rule *devices;
	size_t n_devices;

	struct {
		bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp,
		    has_swappiness, has_disable_oom_killer, has_use_hierarchy,
		    has_check_before_update;
		int64_t limit, reservation, swap, kernel, kernel_tcp; /* -1: unlimited */
		uint64_t swappiness;
		bool disable_oom_killer, use_hierarchy, check_before_update;
	} memory;

	struct {
		bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime,
		    has_realtime_period, has_idle;
		uint64_t shares;
		int64_t quota; /* -1: unlimited */
		uint64_t burst, period;
		int64_t realtime_runtime;
		uint64_t realtime_period;
		int64_t idle;
		char *cpus, *mems; /* cpuset lists, NULL when unset */
	} cpu;

	struct {
		bool has_limit;
		int64_t limit; /* <= 0: unlimited */
	} pids;

	struct {
		bool has_weight, has_leaf_weight;
		uint16_t weight, leaf_weight;
		struct sk_weight_device *weight_devices;
		size_t n_weight_devices;
		struct sk_throttle_device *read_bps, *write_bps, *read_iops, *write_iops;
		size_t n_read_bps, n_write_bps, n_read_iops, n_write_iops;
	} blkio;

	struct sk_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;

	struct {
		bool has_class_id;
		uint32_t class_id;
	} network;

	struct sk_kv *unified; /* raw cgroup v2 "file": "value" pairs */
	size_t n_unified;
};

enum sk_hook_kind {
	SK_HOOK_PRESTART,
	SK_HOOK_CREATE_RUNTIME,
	SK_HOOK_CREATE_CONTAINER,
	SK_HOOK_START_CONTAINER,
	SK_HOOK_POSTSTART,
	SK_HOOK_POSTSTOP,
	SK_HOOK__COUNT,
};

struct sk_hook {
	char *path;
	char **args; /* NULL-terminated, may be NULL */
	char **env;  /* NULL-terminated, may be NULL */
	bool has_timeout;
	int timeout; /* seconds, > 0 */
};

struct sk_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	char *op; /* "SCMP_CMP_EQ", ... validated by the parser */
};

struct sk_seccomp_syscall {
	char **names;
	char *action; /* "SCMP_ACT_ERRNO", ... */
	bool has_errno_ret;
	unsigned errno_ret;
	struct sk_seccomp_arg *args;
	size_t n_args;
};

struct sk_seccomp {
	char *default_action;
	bool has_default_errno_ret;
	unsigned default_errno_ret;
	char **architectures; /* "SCMP_ARCH_X86_64", ... */
	char **flags;	      /* "SECCOMP_FILTER_FLAG_LOG", ... */
	char *listener_path;
	char *listener_metadata;
	struct sk_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct sk_personality {
	char *domain; /* "LINUX" or "LINUX32" */
	char **flags;
};

struct sk_linux {
	struct sk_namespace *namespaces;
	size_t n_namespaces;
	struct sk_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct sk_kv *time_offsets; /* key "monotonic"/"boottime", value "secs nanosecs" */
	size_t n_time_offsets;
	struct sk_device *devices;
	size_t n_devices;
	char *cgroups_path; /* NULL when absent */
	bool has_resources;
	struct sk_resources resources;
	char *rootfs_propagation;   /* "shared", "slave", "private", "unbindable" or NULL */
	struct sk_seccomp *seccomp; /* NULL when absent */
	struct sk_kv *sysctl;
	size_t n_sysctl;
	char **masked_paths;
	char **readonly_paths;
	char *mount_label;
	struct sk_personality *personality; /* NULL when absent */
	/* intelRdt, memoryPolicy, netDevices are not supported: ignored with a debug line */
};

struct sk_spec {
	char *oci_version;
	char *root_path; /* root.path, relative to the bundle or absolute */
	bool root_readonly;
	struct sk_process *process; /* NULL when absent (allowed for create) */
	char *hostname;
	char *domainname;
	struct sk_mount *mounts;
	size_t n_mounts;
	struct sk_hook *hooks[SK_HOOK__COUNT];
	size_t n_hooks[SK_HOOK__COUNT];
	struct sk_kv *annotations;
	size_t n_annotations;
	struct sk_linux *linux_; /* NULL when absent */
};

/*
 * Parses a config.json document of `len` bytes.  `name` is what errors call
 * the document ("config.json").  On success *ret owns a new spec; on failure
 * returns a negative errno and sets *err to "NAME: FIELD: what is wrong".
 */
int sk_spec_parse(const char *json, size_t len, const char *name, struct sk_spec **ret,
		  struct sk_error **err);
/* Reads and parses a file; errors name the file. */
int sk_spec_load(const char *path, struct sk_spec **ret, struct sk_error **err);
/*
 * Parses a runtime-spec "process" object alone (runc exec --process FILE).
 */
int sk_spec_parse_process(const char *json, size_t len, const char *name, struct sk_process **ret,
			  struct sk_error **err);
/*
 * Parses a linux.resources object alone (runc update --resources FILE; "-"
 * is stdin for the caller to read).
 */
int sk_spec_parse_resources(const char *json, size_t len, const char *name,
			    struct sk_resources **ret, struct sk_error **err);

/*
 * Parses a linux.seccomp object alone: a seccomp profile file.  Fields the
 * runtime-spec does not define (Docker's archMap, includes, excludes,
 * comment) are ignored like any unknown field; errors read
 * "NAME: syscalls[2].action: unknown seccomp action ...".
 */
int sk_spec_parse_seccomp(const char *json, size_t len, const char *name, struct sk_seccomp **ret,
			  struct sk_error **err);

void sk_spec_free(struct sk_spec *spec);
void sk_process_free(struct sk_process *p);
void sk_resources_free(struct sk_resources *r);
static inline void sk_spec_freep(struct sk_spec **s)
{
	sk_spec_free(*s);
}
static inline void sk_process_freep(struct sk_process **p)
{
	sk_process_free(*p);
}
static inline void sk_resources_freep(struct sk_resources **r)
{
	sk_resources_free(*r);
}
void sk_seccomp_free(struct sk_seccomp *s);
static inline void sk_seccomp_freep(struct sk_seccomp **s)
{
	sk_seccomp_free(*s);
}

/* The namespace entry of that type, or NULL when the spec does not list it. */
const struct sk_namespace *sk_spec_namespace(const struct sk_spec *spec, enum sk_ns_type type);
const char *sk_ns_type_name(enum sk_ns_type type); /* "pid", "network", ... as in the spec */
int sk_ns_type_clone_flag(enum sk_ns_type type);   /* CLONE_NEWPID, ... */

/* The config.json name of a hook kind ("createRuntime"); "unknown" when out of range. */
const char *sk_spec_hook_name(enum sk_hook_kind kind);

/* Capability name <-> number ("CAP_SYS_ADMIN" <-> 21); -1 when unknown. */
int sk_cap_from_name(const char *name);
const char *sk_cap_to_name(int cap);
int sk_cap_last_cap(void); /* highest capability this table knows */

/* RLIMIT_* name <-> number ("RLIMIT_NOFILE"); -1 when unknown. */
int sk_rlimit_from_name(const char *name);

/*
 * The default config.json that `spec` writes (runc's defaults: sh in a
 * terminal, the usual mounts, masked and read-only paths, a capability set).
 * `rootless` adds a user namespace with the caller's ids mapped and drops
 * the mounts that need privilege.  Returns a newly allocated JSON string.
 */
char *sk_spec_default_json(bool rootless);

/*
 * The runtime-spec "features" document (features.md) for this runtime;
 * mount_options (NULL-terminated) are the options the runtime's mount code
 * accepts, which this module does not know.
 */
char *sk_spec_features_json(const char *const *mount_options);

#endif
