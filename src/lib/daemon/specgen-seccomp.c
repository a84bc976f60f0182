/* SPDX-License-Identifier: Apache-2.0 */
/*
 * specgen-seccomp.c - the seccomp profile skiff gives a replica by default,
 * as the linux.seccomp object of its config.json.
 *
 * The profile allows every syscall except a fixed list that reaches past the
 * container: kernel modules, keyrings, clocks, mounts and namespaces,
 * ptrace, NUMA policy, obsolete interfaces.  Those answer EPERM; clone3
 * answers ENOSYS (glibc then falls back to clone, whose flags a filter can
 * see) and clone answers EPERM when it asks for a new namespace.  As in
 * Docker, a capability the service holds re-allows what it governs
 * (CAP_SYS_ADMIN mounts and namespaces, CAP_SYS_PTRACE ptrace, ...), since
 * the kernel then checks that capability itself.  The list is skiff's own,
 * written from the syscalls Docker documents as blocked by default.
 *
 * A profile file given with security_opt seccomp=PATH comes here too: an
 * OCI linux.seccomp object passes as it is; Docker's format is reduced to
 * one, keeping the rules whose includes/excludes (capabilities, Go
 * architecture name, minKernel) hold for this replica on this machine and
 * taking architectures from the archMap entry of the native architecture.
 *
 * It decides nothing about when a profile applies (specgen.c does) and
 * loads nothing (the runtime does; it skips names its libseccomp does not
 * know, so the table may name syscalls of newer kernels or other
 * architectures).
 */
#include "daemon/specgen-internal.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "base/util.h"
#include "oci/spec.h"

#define C(x) (1ull << CAP_##x)

/* A syscall the default profile refuses unless the service holds one of `caps`. */
struct sg_blocked {
	const char *name;
	uint64_t caps; /* 0: refused whatever the capabilities */
};

static const struct sg_blocked blocked[] = {
	/* accounting, keyrings, obsolete or unsafe interfaces */
	{ "acct", C(SYS_PACCT) },
	{ "add_key", 0 },
	{ "keyctl", 0 },
	{ "request_key", 0 },
	{ "create_module", 0 },
	{ "get_kernel_syms", 0 },
	{ "query_module", 0 },
	{ "nfsservctl", 0 },
	{ "uselib", 0 },
	{ "ustat", 0 },
	{ "sysfs", 0 },
	{ "_sysctl", 0 },
	{ "vm86", 0 },
	{ "vm86old", 0 },
	/* kernel code and the machine */
	{ "init_module", C(SYS_MODULE) },
	{ "finit_module", C(SYS_MODULE) },
	{ "delete_module", C(SYS_MODULE) },
	{ "kexec_load", C(SYS_BOOT) },
	{ "kexec_file_load", C(SYS_BOOT) },
	{ "reboot", C(SYS_BOOT) },
	{ "ioperm", C(SYS_RAWIO) },
	{ "iopl", C(SYS_RAWIO) },
	{ "bpf", C(SYS_ADMIN) | C(BPF) },
	{ "perf_event_open", C(SYS_ADMIN) | C(PERFMON) },
	{ "lookup_dcookie", C(SYS_ADMIN) },
	{ "syslog", C(SYS_ADMIN) | C(SYSLOG) },
	{ "vhangup", C(SYS_TTY_CONFIG) },
	/* clocks: not namespaced */
	{ "settimeofday", C(SYS_TIME) },
	{ "stime", C(SYS_TIME) },
	{ "clock_settime", C(SYS_TIME) },
	{ "clock_settime64", C(SYS_TIME) },
	{ "clock_adjtime", C(SYS_TIME) },
	{ "clock_adjtime64", C(SYS_TIME) },
	/* mounts, namespaces, file handles, quotas, swap */
	{ "mount", C(SYS_ADMIN) },
	{ "mount_setattr", C(SYS_ADMIN) },
	{ "move_mount", C(SYS_ADMIN) },
	{ "open_tree", C(SYS_ADMIN) },
	{ "fsopen", C(SYS_ADMIN) },
	{ "fsconfig", C(SYS_ADMIN) },
	{ "fsmount", C(SYS_ADMIN) },
	{ "fspick", C(SYS_ADMIN) },
	{ "umount", C(SYS_ADMIN) },
	{ "umount2", C(SYS_ADMIN) },
	{ "pivot_root", C(SYS_ADMIN) },
	{ "unshare", C(SYS_ADMIN) },
	{ "setns", C(SYS_ADMIN) },
	{ "quotactl", C(SYS_ADMIN) },
	{ "quotactl_fd", C(SYS_ADMIN) },
	{ "swapon", C(SYS_ADMIN) },
	{ "swapoff", C(SYS_ADMIN) },
	{ "name_to_handle_at", C(SYS_ADMIN) | C(DAC_READ_SEARCH) },
	{ "open_by_handle_at", C(DAC_READ_SEARCH) },
	/* other processes' memory */
	{ "ptrace", C(SYS_PTRACE) },
	{ "process_vm_readv", C(SYS_PTRACE) },
	{ "process_vm_writev", C(SYS_PTRACE) },
	{ "kcmp", C(SYS_PTRACE) },
	{ "pidfd_getfd", C(SYS_PTRACE) },
	{ "userfaultfd", C(SYS_PTRACE) },
	/* NUMA placement */
	{ "mbind", C(SYS_NICE) },
	{ "set_mempolicy", C(SYS_NICE) },
	{ "set_mempolicy_home_node", C(SYS_NICE) },
	{ "get_mempolicy", C(SYS_NICE) },
	{ "move_pages", C(SYS_NICE) },
};

/* The clone flags that make a namespace; clone(2) with any of them is refused. */
static const unsigned long clone_ns_flags[] = {
	CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID,	CLONE_NEWNET,
};

/* The native architecture: libseccomp's name and Go's (Docker profiles use both). */
#if defined(__x86_64__)
#define NATIVE_SCMP "SCMP_ARCH_X86_64"
#define NATIVE_GO "amd64"
#elif defined(__aarch64__)
#define NATIVE_SCMP "SCMP_ARCH_AARCH64"
#define NATIVE_GO "arm64"
#else
#define NATIVE_SCMP NULL
#define NATIVE_GO NULL
#endif

/* The native ABI and the compat ones its kernel runs, so 32-bit calls meet the same rules. */
static json_t *architectures(void)
{
#if defined(__x86_64__)
	return json_pack("[s,s,s]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
#elif defined(__aarch64__)
	return json_pack("[s,s]", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
#else
	return json_array(); /* the native architecture only */
#endif
}

static json_t *errno_rule(json_t *names, int errno_ret)
{
	return json_pack("{s:o, s:s, s:i}", "names", names, "action", "SCMP_ACT_ERRNO", "errnoRet",
			 errno_ret);
}

/*
 * clone with a CLONE_NEW* flag: one masked comparison per flag on the
 * flags argument (index 0 on the architectures above); conditions on the
 * same argument are alternatives for the runtime, as in runc.
 */
static json_t *clone_rule(void)
{
	json_t *args = sk_sg_must(json_array());

	for (size_t i = 0; i < SK_ELEMENTSOF(clone_ns_flags); i++)
		sk_sg_append(args,
			     json_pack("{s:i, s:I, s:I, s:s}", "index", 0, "value",
				       (json_int_t)clone_ns_flags[i], "valueTwo",
				       (json_int_t)clone_ns_flags[i], "op", "SCMP_CMP_MASKED_EQ"));
	json_t *rule = sk_sg_must(errno_rule(json_pack("[s]", "clone"), EPERM));
	sk_sg_set(rule, "args", args);
	return rule;
}

json_t *sk_specgen_seccomp_default(uint64_t caps)
{
	json_t *names = sk_sg_must(json_array()), *rules = sk_sg_must(json_array());
	json_t *prof;

	for (size_t i = 0; i < SK_ELEMENTSOF(blocked); i++)
		if (!(blocked[i].caps & caps))
			sk_sg_append(names, json_string(blocked[i].name));
	sk_sg_append(rules, errno_rule(names, EPERM));
	if (!(caps & C(SYS_ADMIN))) {
		sk_sg_append(rules, errno_rule(json_pack("[s]", "clone3"), ENOSYS));
		sk_sg_append(rules, clone_rule());
	}
	prof = json_pack("{s:s, s:o, s:o}", "defaultAction", "SCMP_ACT_ALLOW", "architectures",
			 sk_sg_must(architectures()), "syscalls", rules);
	return sk_sg_must(prof);
}

/* ---- a profile file ------------------------------------------------------ */

/* "major.minor" as major * 1000 + minor; -1 when it is not that. */
static long kernel_version(const char *s)
{
	unsigned major, minor;

	if (!s || sscanf(s, "%u.%u", &major, &minor) != 2 || minor >= 1000)
		return -1;
	return (long)major * 1000 + minor;
}

static long running_kernel(void)
{
	struct utsname u;

	return uname(&u) == 0 ? kernel_version(u.release) : -1;
}

static bool str_in(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (s && json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	}
	return false;
}

static bool cap_held(json_t *name, uint64_t caps)
{
	int c = json_is_string(name) ? sk_cap_from_name(json_string_value(name)) : -1;

	return c >= 0 && (caps & (1ull << c));
}

/* Docker's excludes: the rule is dropped when any of its conditions holds. */
static bool excluded(json_t *ex, uint64_t caps, long kernel)
{
	json_t *v;
	size_t i;
	long min = kernel_version(json_string_value(json_object_get(ex, "minKernel")));

	if (str_in(json_object_get(ex, "arches"), NATIVE_GO))
		return true;
	json_array_foreach(json_object_get(ex, "caps"), i, v)
	{
		if (cap_held(v, caps))
			return true;
	}
	return min >= 0 && kernel >= min;
}

/* Docker's includes: the rule is kept only when all of its conditions hold. */
static bool included(json_t *in, uint64_t caps, long kernel)
{
	json_t *arches = json_object_get(in, "arches"), *v;
	size_t i;
	long min = kernel_version(json_string_value(json_object_get(in, "minKernel")));

	if (json_array_size(arches) && !str_in(arches, NATIVE_GO))
		return false;
	json_array_foreach(json_object_get(in, "caps"), i, v)
	{
		if (!cap_held(v, caps))
			return false;
	}
	return min < 0 || kernel >= min;
}

/* archMap: the native architecture and its sub-architectures, when architectures is unset. */
static void arch_from_map(json_t *prof)
{
	json_t *map = json_object_get(prof, "archMap"), *e, *sub, *arr;
	size_t i, k;

	if (json_array_size(json_object_get(prof, "architectures")) || !json_is_array(map))
		return;
	arr = sk_sg_must(json_array());
	json_array_foreach(map, i, e)
	{
		const char *a = json_string_value(json_object_get(e, "architecture"));
		if (!a || !NATIVE_SCMP || strcmp(a, NATIVE_SCMP))
			continue;
		sk_sg_append(arr, json_string(a));
		json_array_foreach(json_object_get(e, "subArchitectures"), k, sub)
		{
			if (json_is_string(sub))
				sk_sg_append(arr, json_string(json_string_value(sub)));
		}
	}
	sk_sg_set(prof, "architectures", arr);
}

int sk_specgen_seccomp_profile(const char *text, uint64_t caps, json_t **ret, struct sk_error **err)
{
	json_auto_t *prof = json_loads(text, 0, NULL);
	json_t *rules, *kept, *r;
	long kernel = running_kernel();
	size_t i;

	if (!json_is_object(prof))
		return sk_error_set(err, 0,
				    "security_opt: the seccomp profile is not a JSON object");
	arch_from_map(prof);
	json_object_del(prof, "archMap");
	json_object_del(prof, "comment");
	rules = json_object_get(prof, "syscalls");
	kept = sk_sg_must(json_array());
	json_array_foreach(rules, i, r)
	{
		if (excluded(json_object_get(r, "excludes"), caps, kernel) ||
		    !included(json_object_get(r, "includes"), caps, kernel))
			continue;
		json_t *copy = sk_sg_must(json_deep_copy(r));
		json_object_del(copy, "includes");
		json_object_del(copy, "excludes");
		json_object_del(copy, "comment");
		sk_sg_append(kept, copy);
	}
	sk_sg_set(prof, "syscalls", kept);
	*ret = TAKE_PTR(prof);
	return 0;
}
