/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-v2.c - writes OCI linux.resources into cgroup v2 interface files.
 *
 * The OCI model speaks v1 (cpu shares, blkio weights, memory+swap), so this
 * file converts as runc and crun do: shares to cpu.weight, blkio weight to
 * io.weight, memory+swap to memory.swap.max.  Devices are not a v2 file but
 * an eBPF program (cgroup-bpf.c).  cgroup.c decides which controllers come
 * here; this file only writes into the directory it is given.
 */
#include "cgroup-internal.h"

#include <string.h>

#include "base/log.h"
#include "base/util.h"

uint64_t sk_cgroup_shares_to_weight(uint64_t shares)
{
	/* [2, 262144] onto [1, 10000], the formula runc and crun use */
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t sk_cgroup_blkio_to_io_weight(uint64_t weight)
{
	/* [10, 1000] onto [1, 10000] (runc's ConvertBlkIOToIOWeightValue) */
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + (weight - 10) * 9999 / 990;
}

int sk_cgroup_swap_to_v2(int64_t swap, int64_t memory, int64_t *ret)
{
	/* memory unlimited and swap unset: both unlimited, as v1 would have it */
	if (memory == -1 && swap == 0) {
		*ret = -1;
		return 0;
	}
	if (swap == -1 || swap == 0) { /* "max" or "leave alone" */
		*ret = swap;
		return 0;
	}
	if (memory == 0 || memory == -1 || memory < 0 || swap < memory)
		return -EINVAL;
	*ret = swap - memory;
	return 0;
}

static int write_max(const char *dir, const char *file, int64_t v, struct sk_error **err)
{
	if (v < 0)
		return sk_cgroup_write(dir, file, "max", err);
	return sk_cgroup_writef(dir, file, err, "%lld", (long long)v);
}

static int v2_swap(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	int64_t memory = r->memory.has_limit ? r->memory.limit : 0;
	int64_t swap = r->memory.has_swap ? r->memory.swap : 0, v = 0;

	if (!r->memory.has_swap && memory != -1)
		return 0;
	if (sk_cgroup_swap_to_v2(swap, memory, &v) < 0)
		return sk_error_set(err, EINVAL,
				    "memory.swap %lld: needs a memory limit no larger than it",
				    (long long)swap);
	if (swap == 0 && v == 0)
		return 0;
	if (!sk_cgroup_has_file(dir, "memory.swap.max")) {
		if (v == -1)
			return 0;
		return sk_error_set(err, EOPNOTSUPP,
				    "memory.swap: no swap accounting on this host");
	}
	return write_max(dir, "memory.swap.max", v, err);
}

static int v2_memory(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	int q;

	if (r->memory.has_limit && (q = write_max(dir, "memory.max", r->memory.limit, err)) < 0)
		return q;
	if (r->memory.has_reservation &&
	    (q = write_max(dir, "memory.low", r->memory.reservation, err)) < 0)
		return q;
	if ((q = v2_swap(dir, r, err)) < 0)
		return q;
	if (r->memory.has_kernel || r->memory.has_kernel_tcp)
		sk_debug("cgroup: kernel memory limits do not exist on v2: ignored");
	if (r->memory.has_swappiness)
		sk_debug("cgroup: memory.swappiness does not exist on v2: ignored");
	if (r->memory.has_disable_oom_killer && r->memory.disable_oom_killer)
		sk_debug("cgroup: disableOOMKiller does not exist on v2: ignored (as runc does)");
	return 0;
}

/* cpu.max is "QUOTA PERIOD"; keep the half the spec does not set. */
static int v2_cpu_max(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	_cleanup_free_ char *cur = NULL, *quota = NULL;
	uint64_t period = 100000;
	char *sp;

	if (sk_cgroup_read(dir, "cpu.max", &cur) == 0 && (sp = strchr(cur, ' '))) {
		*sp = '\0';
		sp[1 + strcspn(sp + 1, "\n")] = '\0';
		(void)sk_parse_uint64(sp + 1, &period);
		quota = sk_strdup(cur);
	}
	if (r->cpu.has_quota) {
		free(quota);
		quota = r->cpu.quota > 0 ? sk_asprintf("%lld", (long long)r->cpu.quota)
					 : sk_strdup("max");
	}
	if (r->cpu.has_period && r->cpu.period)
		period = r->cpu.period;
	return sk_cgroup_writef(dir, "cpu.max", err, "%s %llu", quota ? quota : "max",
				(unsigned long long)period);
}

static int v2_cpu(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	int q;

	if (r->cpu.has_shares && r->cpu.shares &&
	    (q = sk_cgroup_writef(dir, "cpu.weight", err, "%llu",
				  (unsigned long long)sk_cgroup_shares_to_weight(r->cpu.shares))) <
		0)
		return q;
	if ((r->cpu.has_quota || (r->cpu.has_period && r->cpu.period)) &&
	    (q = v2_cpu_max(dir, r, err)) < 0)
		return q;
	if (r->cpu.has_burst && (q = sk_cgroup_writef(dir, "cpu.max.burst", err, "%llu",
						      (unsigned long long)r->cpu.burst)) < 0)
		return q;
	if (r->cpu.has_realtime_runtime && r->cpu.realtime_runtime != 0)
		return sk_error_set(err, EOPNOTSUPP, "realtime cpu limits need cgroup v1");
	if (r->cpu.has_idle)
		return sk_cgroup_writef(dir, "cpu.idle", err, "%lld", (long long)r->cpu.idle);
	return 0;
}

/* "8:0 rbps=1048576"; a rate of 0 lifts the limit, as on v1. */
static int v2_io_max(const char *dir, const char *key, const struct sk_throttle_device *d, size_t n,
		     struct sk_error **err)
{
	for (size_t i = 0; i < n; i++) {
		char rate[24] = "max";
		if (d[i].rate)
			snprintf(rate, sizeof(rate), "%llu", (unsigned long long)d[i].rate);
		int q = sk_cgroup_writef(dir, "io.max", err, "%lld:%lld %s=%s",
					 (long long)d[i].major, (long long)d[i].minor, key, rate);
		if (q < 0)
			return q;
	}
	return 0;
}

static int v2_io_weights(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	/* Without io.weight (no CFQ-style weights) BFQ's io.bfq.weight takes 1..1000 as is. */
	bool bfq = !sk_cgroup_has_file(dir, "io.weight");
	const char *file = bfq ? "io.bfq.weight" : "io.weight";
	int q;

	if (r->blkio.has_weight && r->blkio.weight) {
		uint64_t w = bfq ? r->blkio.weight : sk_cgroup_blkio_to_io_weight(r->blkio.weight);
		if ((q = sk_cgroup_writef(dir, file, err, "default %llu", (unsigned long long)w)) <
		    0)
			return q;
	}
	for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
		const struct sk_weight_device *d = &r->blkio.weight_devices[i];
		if (!d->has_weight)
			continue;
		uint64_t w = bfq ? d->weight : sk_cgroup_blkio_to_io_weight(d->weight);
		q = sk_cgroup_writef(dir, file, err, "%lld:%lld %llu", (long long)d->major,
				     (long long)d->minor, (unsigned long long)w);
		if (q < 0)
			return q;
	}
	return 0;
}

static int v2_io(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	int q = v2_io_weights(dir, r, err);

	if (q == 0)
		q = v2_io_max(dir, "rbps", r->blkio.read_bps, r->blkio.n_read_bps, err);
	if (q == 0)
		q = v2_io_max(dir, "wbps", r->blkio.write_bps, r->blkio.n_write_bps, err);
	if (q == 0)
		q = v2_io_max(dir, "riops", r->blkio.read_iops, r->blkio.n_read_iops, err);
	if (q == 0)
		q = v2_io_max(dir, "wiops", r->blkio.write_iops, r->blkio.n_write_iops, err);
	return q;
}

static int v2_hugetlb(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	return sk_cgroup_hugetlb_write(dir, r, "max", err);
}

static int v2_devices(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	return sk_cgroup_bpf_devices(dir, r->devices, r->n_devices, err);
}

const struct sk_cgroup_ops sk_cgroup_v2_ops = {
	.write = {
		[SK_CGROUP_MEMORY] = v2_memory,
		[SK_CGROUP_CPU] = v2_cpu,
		[SK_CGROUP_CPUSET] = sk_cgroup_cpuset_write,
		[SK_CGROUP_PIDS] = sk_cgroup_pids_write,
		[SK_CGROUP_IO] = v2_io,
		[SK_CGROUP_HUGETLB] = v2_hugetlb,
		[SK_CGROUP_DEVICES] = v2_devices,
	},
};
