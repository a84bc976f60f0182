/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-stats.c - sk_cgroup_stats(): cpu, memory and pids counters of a cgroup.
 *
 * Each group of counters is read from the hierarchy that holds its
 * controller, so hybrid hosts mix v1 and v2 files.  Units are normalized:
 * cpu time in nanoseconds, memory in bytes, "unlimited" memory as
 * UINT64_MAX and unlimited pids as 0.  Working set is usage minus inactive
 * file pages, as cAdvisor (and so kubelet) computes it.  Counters a kernel
 * does not offer stay 0.  Nothing here writes to the cgroup.
 */
#include "cgroup-internal.h"

#include <string.h>
#include <unistd.h>

#include "base/util.h"

/* v1 says "unlimited" with a page-rounded LONG_MAX. */
#define SK_V1_UNLIMITED 0x7ffffffffffff000ull

static uint64_t get(const char *dir, const char *file)
{
	uint64_t v = 0;

	return sk_cgroup_read_u64(dir, file, &v) == 0 ? v : 0;
}

static uint64_t get_key(const char *dir, const char *file, const char *key)
{
	uint64_t v = 0;

	return sk_cgroup_read_key(dir, file, key, &v) == 0 ? v : 0;
}

static void v1_cpu(const char *acct, const char *cpu, struct sk_cgroup_stats *s)
{
	if (acct) {
		s->cpu_usage_ns = get(acct, "cpuacct.usage");
		s->cpu_user_ns = get(acct, "cpuacct.usage_user");
		s->cpu_system_ns = get(acct, "cpuacct.usage_sys");
		if (!s->cpu_user_ns && !s->cpu_system_ns) { /* old kernels: USER_HZ ticks */
			uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK);
			s->cpu_user_ns =
			    get_key(acct, "cpuacct.stat", "user") * (1000000000ull / hz);
			s->cpu_system_ns =
			    get_key(acct, "cpuacct.stat", "system") * (1000000000ull / hz);
		}
	}
	if (cpu) {
		s->cpu_throttled_periods = get_key(cpu, "cpu.stat", "nr_throttled");
		s->cpu_throttled_ns = get_key(cpu, "cpu.stat", "throttled_time");
	}
}

static void v2_cpu(const char *dir, struct sk_cgroup_stats *s, bool usage)
{
	if (usage) {
		s->cpu_usage_ns = get_key(dir, "cpu.stat", "usage_usec") * 1000;
		s->cpu_user_ns = get_key(dir, "cpu.stat", "user_usec") * 1000;
		s->cpu_system_ns = get_key(dir, "cpu.stat", "system_usec") * 1000;
	}
	s->cpu_throttled_periods = get_key(dir, "cpu.stat", "nr_throttled");
	s->cpu_throttled_ns = get_key(dir, "cpu.stat", "throttled_usec") * 1000;
}

static void working_set(struct sk_cgroup_stats *s, uint64_t inactive_file)
{
	s->memory_working_set =
	    s->memory_usage > inactive_file ? s->memory_usage - inactive_file : 0;
}

static void v1_memory(const char *dir, struct sk_cgroup_stats *s)
{
	s->memory_usage = get(dir, "memory.usage_in_bytes");
	s->memory_limit = get(dir, "memory.limit_in_bytes");
	if (s->memory_limit >= SK_V1_UNLIMITED)
		s->memory_limit = UINT64_MAX;
	s->memory_max_usage = get(dir, "memory.max_usage_in_bytes");
	s->memory_cache = get_key(dir, "memory.stat", "total_cache");
	s->memory_rss = get_key(dir, "memory.stat", "total_rss");
	s->memory_swap = get_key(dir, "memory.stat", "total_swap");
	working_set(s, get_key(dir, "memory.stat", "total_inactive_file"));
	/* v1 has no count of OOM events apart from kills (memory.oom_control, 4.13+) */
	s->oom_kills = get_key(dir, "memory.oom_control", "oom_kill");
	s->oom_events = s->oom_kills;
}

static void v2_memory(const char *dir, struct sk_cgroup_stats *s)
{
	s->memory_usage = get(dir, "memory.current");
	s->memory_limit = get(dir, "memory.max");
	s->memory_max_usage = get(dir, "memory.peak"); /* Linux 5.19+ */
	s->memory_cache = get_key(dir, "memory.stat", "file");
	s->memory_rss = get_key(dir, "memory.stat", "anon");
	s->memory_swap = get(dir, "memory.swap.current");
	working_set(s, get_key(dir, "memory.stat", "inactive_file"));
	s->oom_kills = get_key(dir, "memory.events", "oom_kill");
	s->oom_events = get_key(dir, "memory.events", "oom");
}

static void pids(const char *dir, struct sk_cgroup_stats *s)
{
	s->pids_current = get(dir, "pids.current");
	s->pids_limit = get(dir, "pids.max");
	if (s->pids_limit == UINT64_MAX)
		s->pids_limit = 0;
}

int sk_cgroup_stats(struct sk_cgroup *cg, struct sk_cgroup_stats *ret, struct sk_error **err)
{
	const struct sk_cgroup_hierarchy *v2 = sk_cgroup_find_v2(cg);
	const struct sk_cgroup_hierarchy *acct = sk_cgroup_find_v1(cg, "cpuacct");
	const struct sk_cgroup_hierarchy *cpu = sk_cgroup_find_v1(cg, "cpu");
	const struct sk_cgroup_hierarchy *mem = sk_cgroup_find_v1(cg, "memory");
	const struct sk_cgroup_hierarchy *pid = sk_cgroup_find_v1(cg, "pids");
	struct sk_cgroup_stats s;

	memset(&s, 0, sizeof(s));
	if (access(cg->h[0].dir, F_OK) < 0)
		return sk_error_errno(err, "stats of cgroup '%s'", cg->path);
	if (acct || cpu)
		v1_cpu(acct ? acct->dir : NULL, cpu ? cpu->dir : NULL, &s);
	else if (v2)
		v2_cpu(v2->dir, &s, true); /* usage is in cpu.stat even without the controller */
	if (mem)
		v1_memory(mem->dir, &s);
	else if (v2 && sk_cgroup_hierarchy_has(v2, "memory"))
		v2_memory(v2->dir, &s);
	if (pid)
		pids(pid->dir, &s);
	else if (v2 && sk_cgroup_hierarchy_has(v2, "pids"))
		pids(v2->dir, &s);
	*ret = s;
	return 0;
}
