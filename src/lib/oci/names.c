/* SPDX-License-Identifier: Apache-2.0 */
/*
 * names.c - the spec's name tables: capabilities, rlimits, namespaces,
 * seccomp actions/operators/architectures/flags and hook kinds.
 *
 * Numbers come from the kernel and libc headers (linux/capability.h,
 * sys/resource.h, sched.h) so the tables cannot drift from them.  Seccomp
 * names are kept as strings: the runtime maps them to libseccomp.  All
 * tables are constant; nothing here has state.
 */
#include "oci/spec-internal.h"

#include <linux/capability.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>

#define SK_CAP(x) [x] = #x
static const char *const cap_names[] = {
	SK_CAP(CAP_CHOWN),
	SK_CAP(CAP_DAC_OVERRIDE),
	SK_CAP(CAP_DAC_READ_SEARCH),
	SK_CAP(CAP_FOWNER),
	SK_CAP(CAP_FSETID),
	SK_CAP(CAP_KILL),
	SK_CAP(CAP_SETGID),
	SK_CAP(CAP_SETUID),
	SK_CAP(CAP_SETPCAP),
	SK_CAP(CAP_LINUX_IMMUTABLE),
	SK_CAP(CAP_NET_BIND_SERVICE),
	SK_CAP(CAP_NET_BROADCAST),
	SK_CAP(CAP_NET_ADMIN),
	SK_CAP(CAP_NET_RAW),
	SK_CAP(CAP_IPC_LOCK),
	SK_CAP(CAP_IPC_OWNER),
	SK_CAP(CAP_SYS_MODULE),
	SK_CAP(CAP_SYS_RAWIO),
	SK_CAP(CAP_SYS_CHROOT),
	SK_CAP(CAP_SYS_PTRACE),
	SK_CAP(CAP_SYS_PACCT),
	SK_CAP(CAP_SYS_ADMIN),
	SK_CAP(CAP_SYS_BOOT),
	SK_CAP(CAP_SYS_NICE),
	SK_CAP(CAP_SYS_RESOURCE),
	SK_CAP(CAP_SYS_TIME),
	SK_CAP(CAP_SYS_TTY_CONFIG),
	SK_CAP(CAP_MKNOD),
	SK_CAP(CAP_LEASE),
	SK_CAP(CAP_AUDIT_WRITE),
	SK_CAP(CAP_AUDIT_CONTROL),
	SK_CAP(CAP_SETFCAP),
	SK_CAP(CAP_MAC_OVERRIDE),
	SK_CAP(CAP_MAC_ADMIN),
	SK_CAP(CAP_SYSLOG),
	SK_CAP(CAP_WAKE_ALARM),
	SK_CAP(CAP_BLOCK_SUSPEND),
	SK_CAP(CAP_AUDIT_READ),
	SK_CAP(CAP_PERFMON),
	SK_CAP(CAP_BPF),
	SK_CAP(CAP_CHECKPOINT_RESTORE),
};
#undef SK_CAP
_Static_assert(SK_ELEMENTSOF(cap_names) == CAP_CHECKPOINT_RESTORE + 1, "capability table has gaps");

int sk_cap_from_name(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < SK_ELEMENTSOF(cap_names); i++)
		if (strcmp(cap_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *sk_cap_to_name(int cap)
{
	if (cap < 0 || (size_t)cap >= SK_ELEMENTSOF(cap_names))
		return NULL;
	return cap_names[cap];
}

int sk_cap_last_cap(void)
{
	return (int)SK_ELEMENTSOF(cap_names) - 1;
}

#define SK_RL(x)                                                                                   \
	{                                                                                          \
#x, x                                                                              \
	}
static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	SK_RL(RLIMIT_CPU),	SK_RL(RLIMIT_FSIZE), SK_RL(RLIMIT_DATA),   SK_RL(RLIMIT_STACK),
	SK_RL(RLIMIT_CORE),	SK_RL(RLIMIT_RSS),   SK_RL(RLIMIT_NPROC),  SK_RL(RLIMIT_NOFILE),
	SK_RL(RLIMIT_MEMLOCK),	SK_RL(RLIMIT_AS),    SK_RL(RLIMIT_LOCKS),  SK_RL(RLIMIT_SIGPENDING),
	SK_RL(RLIMIT_MSGQUEUE), SK_RL(RLIMIT_NICE),  SK_RL(RLIMIT_RTPRIO), SK_RL(RLIMIT_RTTIME),
};
#undef SK_RL

int sk_rlimit_from_name(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < SK_ELEMENTSOF(rlimit_names); i++)
		if (strcmp(rlimit_names[i].name, name) == 0)
			return rlimit_names[i].resource;
	return -1;
}

static const struct {
	const char *name;
	int clone_flag;
} ns_types[SK_NS__COUNT] = {
	[SK_NS_PID] = { "pid", CLONE_NEWPID },		[SK_NS_NET] = { "network", CLONE_NEWNET },
	[SK_NS_MNT] = { "mount", CLONE_NEWNS },		[SK_NS_IPC] = { "ipc", CLONE_NEWIPC },
	[SK_NS_UTS] = { "uts", CLONE_NEWUTS },		[SK_NS_USER] = { "user", CLONE_NEWUSER },
	[SK_NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP }, [SK_NS_TIME] = { "time", CLONE_NEWTIME },
};

const char *sk_ns_type_name(enum sk_ns_type type)
{
	if ((unsigned)type >= SK_NS__COUNT)
		return NULL;
	return ns_types[type].name;
}

int sk_ns_type_clone_flag(enum sk_ns_type type)
{
	if ((unsigned)type >= SK_NS__COUNT)
		return 0;
	return ns_types[type].clone_flag;
}

int sk_ns_type_from_name(const char *name)
{
	for (int i = 0; i < SK_NS__COUNT; i++)
		if (strcmp(ns_types[i].name, name) == 0)
			return i;
	return -1;
}

const char *const sk_oci_seccomp_actions[] = {
	"SCMP_ACT_KILL",	"SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
	"SCMP_ACT_ERRNO",	"SCMP_ACT_TRACE",
	"SCMP_ACT_ALLOW",	"SCMP_ACT_LOG",
	"SCMP_ACT_NOTIFY",	NULL,
};

const char *const sk_oci_seccomp_operators[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",	    "SCMP_CMP_EQ",
	"SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

/* The architectures config-linux.md lists, plus those libseccomp added since. */
const char *const sk_oci_seccomp_archs[] = {
	"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",	    "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",	   "SCMP_ARCH_MIPS64",	    "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",	    "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",	    "SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K",    "SCMP_ARCH_SH",	   "SCMP_ARCH_SHEB",	    NULL,
};

const char *const sk_oci_seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_LOG",
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
	NULL,
};

const char *const sk_oci_hook_names[SK_HOOK__COUNT + 1] = {
	[SK_HOOK_PRESTART] = "prestart",
	[SK_HOOK_CREATE_RUNTIME] = "createRuntime",
	[SK_HOOK_CREATE_CONTAINER] = "createContainer",
	[SK_HOOK_START_CONTAINER] = "startContainer",
	[SK_HOOK_POSTSTART] = "poststart",
	[SK_HOOK_POSTSTOP] = "poststop",
	[SK_HOOK__COUNT] = NULL,
};

const char *sk_spec_hook_name(enum sk_hook_kind kind)
{
	return (unsigned)kind < SK_HOOK__COUNT ? sk_oci_hook_names[kind] : "unknown";
}

bool sk_oci_name_in(const char *const *table, const char *name)
{
	for (; *table; table++)
		if (strcmp(*table, name) == 0)
			return true;
	return false;
}
