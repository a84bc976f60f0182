/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-v1.c - writes OCI linux.resources into cgroup v1 controller files.
 *
 * One writer per controller (memory, cpu, cpuset, pids, blkio, hugetlb,
 * devices, net_cls); cgroup.c calls the one whose controller a v1 hierarchy
 * holds and passes that hierarchy's directory.  Only values the spec sets
 * are written, so the same code serves create and update.  This file knows
 * nothing about which hierarchies exist or how cgroups are made.
 */
#include "cgroup-internal.h"

#include <fcntl.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

/* v1 spells "unlimited" as -1 in most files. */
static int write_i64(const char *dir, const char *file, int64_t v, struct sk_error **err)
{
	return sk_cgroup_writef(dir, file, err, "%lld", (long long)v);
}

/*
 * memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes, so
 * the order of the two writes depends on whether the limit grows.
 */
static int v1_memory_limits(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	bool memsw = sk_cgroup_has_file(dir, "memory.memsw.limit_in_bytes");
	bool swap_first = false;
	uint64_t cur_memsw = 0;
	int q;

	if (r->memory.has_swap && !memsw && r->memory.swap != -1)
		return sk_error_set(err, EOPNOTSUPP,
				    "memory.swap: no swap accounting on this host");
	if (r->memory.has_swap && memsw && r->memory.has_limit) {
		if (sk_cgroup_read_u64(dir, "memory.memsw.limit_in_bytes", &cur_memsw) < 0)
			cur_memsw = UINT64_MAX;
		swap_first = r->memory.limit == -1 || (uint64_t)r->memory.limit > cur_memsw;
	}
	if (swap_first &&
	    (q = write_i64(dir, "memory.memsw.limit_in_bytes", r->memory.swap, err)) < 0)
		return q;
	if (r->memory.has_limit &&
	    (q = write_i64(dir, "memory.limit_in_bytes", r->memory.limit, err)) < 0)
		return q;
	if (!swap_first && r->memory.has_swap && memsw &&
	    (q = write_i64(dir, "memory.memsw.limit_in_bytes", r->memory.swap, err)) < 0)
		return q;
	return 0;
}

/* Kernel memory limits are gone since Linux 5.16 (EOPNOTSUPP/ENOTSUPP): skip them then. */
static int v1_memory_kmem(const char *dir, const char *file, int64_t v, struct sk_error **err)
{
	_cleanup_error_ struct sk_error *e = NULL;
	int q;

	if (!sk_cgroup_has_file(dir, file))
		return 0;
	q = write_i64(dir, file, v, &e);
	if (q == -EOPNOTSUPP || q == -524 /* ENOTSUPP */ || q == -EINVAL) {
		sk_debug("cgroup: %s ignored: %s", file, e->msg);
		return 0;
	}
	if (q < 0)
		return sk_error_set(err, -q, "%s", e->msg);
	return 0;
}

static int v1_memory(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	int q = v1_memory_limits(dir, r, err);

	if (q < 0)
		return q;
	if (r->memory.has_reservation &&
	    (q = write_i64(dir, "memory.soft_limit_in_bytes", r->memory.reservation, err)) < 0)
		return q;
	if (r->memory.has_kernel &&
	    (q = v1_memory_kmem(dir, "memory.kmem.limit_in_bytes", r->memory.kernel, err)) < 0)
		return q;
	if (r->memory.has_kernel_tcp && (q = v1_memory_kmem(dir, "memory.kmem.tcp.limit_in_bytes",
							    r->memory.kernel_tcp, err)) < 0)
		return q;
	if (r->memory.has_swappiness) {
		if (r->memory.swappiness > 100)
			return sk_error_set(err, EINVAL, "memory.swappiness %llu is over 100",
					    (unsigned long long)r->memory.swappiness);
		q = sk_cgroup_writef(dir, "memory.swappiness", err, "%llu",
				     (unsigned long long)r->memory.swappiness);
		if (q < 0)
			return q;
	}
	if (r->memory.has_disable_oom_killer)
		return sk_cgroup_write(dir, "memory.oom_control",
				       r->memory.disable_oom_killer ? "1" : "0", err);
	return 0;
}

static int v1_cpu(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	int q;

	if (r->cpu.has_shares && r->cpu.shares &&
	    (q = sk_cgroup_writef(dir, "cpu.shares", err, "%llu",
				  (unsigned long long)r->cpu.shares)) < 0)
		return q;
	/* period first: the kernel checks quota against the period in place */
	if (r->cpu.has_period && r->cpu.period &&
	    (q = sk_cgroup_writef(dir, "cpu.cfs_period_us", err, "%llu",
				  (unsigned long long)r->cpu.period)) < 0)
		return q;
	if (r->cpu.has_quota &&
	    (q = write_i64(dir, "cpu.cfs_quota_us", r->cpu.quota > 0 ? r->cpu.quota : -1, err)) < 0)
		return q;
	if (r->cpu.has_burst && (q = sk_cgroup_writef(dir, "cpu.cfs_burst_us", err, "%llu",
						      (unsigned long long)r->cpu.burst)) < 0)
		return q;
	if (r->cpu.has_realtime_period && r->cpu.realtime_period &&
	    (q = sk_cgroup_writef(dir, "cpu.rt_period_us", err, "%llu",
				  (unsigned long long)r->cpu.realtime_period)) < 0)
		return q;
	if (r->cpu.has_realtime_runtime &&
	    (q = write_i64(dir, "cpu.rt_runtime_us", r->cpu.realtime_runtime, err)) < 0)
		return q;
	if (r->cpu.has_idle && sk_cgroup_has_file(dir, "cpu.idle"))
		return write_i64(dir, "cpu.idle", r->cpu.idle, err);
	return 0;
}

int sk_cgroup_cpuset_write(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	int q;

	if (r->cpu.cpus && (q = sk_cgroup_write(dir, "cpuset.cpus", r->cpu.cpus, err)) < 0)
		return q;
	if (r->cpu.mems && (q = sk_cgroup_write(dir, "cpuset.mems", r->cpu.mems, err)) < 0)
		return q;
	return 0;
}

int sk_cgroup_pids_write(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	if (r->pids.limit <= 0)
		return sk_cgroup_write(dir, "pids.max", "max", err);
	return write_i64(dir, "pids.max", r->pids.limit, err);
}

static int v1_throttle(const char *dir, const char *file, const struct sk_throttle_device *d,
		       size_t n, struct sk_error **err)
{
	for (size_t i = 0; i < n; i++) {
		int q = sk_cgroup_writef(dir, file, err, "%lld:%lld %llu", (long long)d[i].major,
					 (long long)d[i].minor, (unsigned long long)d[i].rate);
		if (q < 0)
			return q;
	}
	return 0;
}

static int v1_blkio_weights(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	/* Kernels with BFQ only have blkio.bfq.weight (no leaf weights). */
	bool bfq = !sk_cgroup_has_file(dir, "blkio.weight");
	const char *wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
	const char *dfile = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
	int q;

	if (r->blkio.has_weight && r->blkio.weight &&
	    (q = sk_cgroup_writef(dir, wfile, err, "%u", r->blkio.weight)) < 0)
		return q;
	if (r->blkio.has_leaf_weight && !bfq &&
	    (q = sk_cgroup_writef(dir, "blkio.leaf_weight", err, "%u", r->blkio.leaf_weight)) < 0)
		return q;
	for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
		const struct sk_weight_device *d = &r->blkio.weight_devices[i];
		if (d->has_weight &&
		    (q = sk_cgroup_writef(dir, dfile, err, "%lld:%lld %u", (long long)d->major,
					  (long long)d->minor, d->weight)) < 0)
			return q;
		if (d->has_leaf_weight && !bfq &&
		    (q = sk_cgroup_writef(dir, "blkio.leaf_weight_device", err, "%lld:%lld %u",
					  (long long)d->major, (long long)d->minor,
					  d->leaf_weight)) < 0)
			return q;
	}
	return 0;
}

static int v1_blkio(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	int q = v1_blkio_weights(dir, r, err);

	if (q == 0)
		q = v1_throttle(dir, "blkio.throttle.read_bps_device", r->blkio.read_bps,
				r->blkio.n_read_bps, err);
	if (q == 0)
		q = v1_throttle(dir, "blkio.throttle.write_bps_device", r->blkio.write_bps,
				r->blkio.n_write_bps, err);
	if (q == 0)
		q = v1_throttle(dir, "blkio.throttle.read_iops_device", r->blkio.read_iops,
				r->blkio.n_read_iops, err);
	if (q == 0)
		q = v1_throttle(dir, "blkio.throttle.write_iops_device", r->blkio.write_iops,
				r->blkio.n_write_iops, err);
	return q;
}

int sk_cgroup_hugetlb_write(const char *dir, const struct sk_resources *r, const char *suffix,
			    struct sk_error **err)
{
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const struct sk_hugepage_limit *h = &r->hugepage_limits[i];
		if (!h->page_size || !*h->page_size || strchr(h->page_size, '/') ||
		    strchr(h->page_size, '.'))
			return sk_error_set(err, EINVAL, "hugepageLimits: invalid page size '%s'",
					    h->page_size ? h->page_size : "");
		_cleanup_free_ char *file = sk_asprintf("hugetlb.%s.%s", h->page_size, suffix);
		int q = sk_cgroup_writef(dir, file, err, "%llu", (unsigned long long)h->limit);
		if (q < 0)
			return q;
	}
	return 0;
}

static int v1_hugetlb(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	return sk_cgroup_hugetlb_write(dir, r, "limit_in_bytes", err);
}

/* "c 1:3 rwm", with '*' for wildcards, as devices.allow/deny read it. */
static char *device_rule_string(const struct sk_device_rule *d)
{
	char major[24] = "*", minor[24] = "*";

	if (d->type == 'a')
		return sk_strdup("a");
	if (d->major >= 0)
		snprintf(major, sizeof(major), "%lld", (long long)d->major);
	if (d->minor >= 0)
		snprintf(minor, sizeof(minor), "%lld", (long long)d->minor);
	return sk_asprintf("%c %s:%s %s", d->type, major, minor, d->access[0] ? d->access : "rwm");
}

static int v1_devices(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	_cleanup_close_ int allow = -1, deny = -1;

	/* One open per file; each write(2) is one rule to the kernel. */
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct sk_device_rule *d = &r->devices[i];
		const char *file = d->allow ? "devices.allow" : "devices.deny";
		int *fd = d->allow ? &allow : &deny;
		_cleanup_free_ char *rule = device_rule_string(d);

		if (*fd < 0) {
			_cleanup_free_ char *path = sk_path_join(dir, file);
			*fd = open(path, O_WRONLY | O_CLOEXEC);
			if (*fd < 0)
				return sk_error_errno(err, "open '%s'", path);
		}
		if (write(*fd, rule, strlen(rule)) < 0)
			return sk_error_errno(err, "write '%s' to %s/%s", rule, dir, file);
	}
	return 0;
}

static int v1_net(const char *dir, const struct sk_resources *r, struct sk_error **err)
{
	return sk_cgroup_writef(dir, "net_cls.classid", err, "%u", r->network.class_id);
}

const struct sk_cgroup_ops sk_cgroup_v1_ops = {
	.write = {
		[SK_CGROUP_MEMORY] = v1_memory,
		[SK_CGROUP_CPU] = v1_cpu,
		[SK_CGROUP_CPUSET] = sk_cgroup_cpuset_write,
		[SK_CGROUP_PIDS] = sk_cgroup_pids_write,
		[SK_CGROUP_IO] = v1_blkio,
		[SK_CGROUP_HUGETLB] = v1_hugetlb,
		[SK_CGROUP_DEVICES] = v1_devices,
		[SK_CGROUP_NET] = v1_net,
	},
};
