/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec-resources.c - linux.resources of config.json (and the document
 * `update --resources FILE` reads): device rules, memory, cpu, pids,
 * blockIO, hugepage limits, network class id and raw cgroup v2 "unified"
 * values.
 *
 * Limits are stored as the spec states them (-1 means unlimited where the
 * spec allows it); the cgroup module turns them into cgroup v1 or v2 files.
 * rdma and network priorities are not kept.
 */
#include "oci/spec-internal.h"

#include <string.h>

/* Normalises a device rule's access string to a subset of "rwm" in that order. */
static int parse_access(const struct sk_oj *j, json_t *o, const char *p, char access[4])
{
	_cleanup_free_ char *s = NULL;
	size_t n = 0;
	int r;

	r = sk_oj_str(j, o, p, "access", false, &s);
	if (r < 0)
		return r;
	if (!s || !*s) {
		memcpy(access, "rwm", 4);
		return 0;
	}
	if (strspn(s, "rwm") != strlen(s))
		return sk_oj_fail(j, p, "access", "invalid device access \"%s\"", s);
	for (const char *c = "rwm"; *c; c++)
		if (strchr(s, *c))
			access[n++] = *c;
	access[n] = '\0';
	return 0;
}

static int parse_device_rule(const struct sk_oj *j, json_t *o, const char *p,
			     struct sk_device_rule *d)
{
	_cleanup_free_ char *type = NULL;
	json_t *allow;
	int r;

	d->major = d->minor = -1;
	if ((r = sk_oj_member(j, o, p, "allow", JSON_TRUE, true, &allow)) < 0)
		return r;
	d->allow = json_is_true(allow);
	if ((r = sk_oj_str(j, o, p, "type", false, &type)) < 0 ||
	    (r = sk_oj_int(j, o, p, "major", false, -1, INT64_MAX, &d->major, NULL)) < 0 ||
	    (r = sk_oj_int(j, o, p, "minor", false, -1, INT64_MAX, &d->minor, NULL)) < 0 ||
	    (r = parse_access(j, o, p, d->access)) < 0)
		return r;
	if (!type || !*type)
		d->type = 'a';
	else if (strlen(type) == 1 && strchr("acb", type[0]))
		d->type = type[0];
	else
		return sk_oj_fail(j, p, "type", "unknown device type \"%s\"", type);
	return 0;
}

static int parse_device_rules(const struct sk_oj *j, json_t *obj, const char *path,
			      struct sk_resources *res)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, obj, path, "devices", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	res->devices = sk_new0(struct sk_device_rule, json_array_size(arr));
	res->n_devices = json_array_size(arr);
	for (size_t i = 0; i < res->n_devices; i++) {
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		if ((r = sk_oj_elem_object(j, arr, i, path, "devices", &o, &ep)) < 0 ||
		    (r = parse_device_rule(j, o, ep, &res->devices[i])) < 0)
			return r;
	}
	return 0;
}

/* A memory amount: a byte count, or -1 for unlimited. */
static int get_limit(const struct sk_oj *j, json_t *o, const char *p, const char *key, int64_t *ret,
		     bool *has)
{
	return sk_oj_int(j, o, p, key, false, -1, INT64_MAX, ret, has);
}

static int parse_memory(const struct sk_oj *j, json_t *obj, const char *path,
			struct sk_resources *res)
{
	_cleanup_free_ char *mp = sk_oj_join(path, "memory");
	__typeof__(res->memory) *m = &res->memory;
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "memory", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	if ((r = get_limit(j, o, mp, "limit", &m->limit, &m->has_limit)) < 0 ||
	    (r = get_limit(j, o, mp, "reservation", &m->reservation, &m->has_reservation)) < 0 ||
	    (r = get_limit(j, o, mp, "swap", &m->swap, &m->has_swap)) < 0 ||
	    (r = get_limit(j, o, mp, "kernel", &m->kernel, &m->has_kernel)) < 0 ||
	    (r = get_limit(j, o, mp, "kernelTCP", &m->kernel_tcp, &m->has_kernel_tcp)) < 0 ||
	    (r = sk_oj_u64(j, o, mp, "swappiness", false, &m->swappiness, &m->has_swappiness)) <
		0 ||
	    (r = sk_oj_bool(j, o, mp, "disableOOMKiller", &m->disable_oom_killer,
			    &m->has_disable_oom_killer)) < 0 ||
	    (r = sk_oj_bool(j, o, mp, "useHierarchy", &m->use_hierarchy, &m->has_use_hierarchy)) <
		0 ||
	    (r = sk_oj_bool(j, o, mp, "checkBeforeUpdate", &m->check_before_update,
			    &m->has_check_before_update)) < 0)
		return r;
	if (m->has_swappiness && m->swappiness > 100)
		return sk_oj_fail(j, mp, "swappiness", "%llu is out of range [0, 100]",
				  (unsigned long long)m->swappiness);
	return 0;
}

static int parse_cpu(const struct sk_oj *j, json_t *obj, const char *path, struct sk_resources *res)
{
	_cleanup_free_ char *cp = sk_oj_join(path, "cpu");
	__typeof__(res->cpu) *c = &res->cpu;
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "cpu", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	if ((r = sk_oj_u64(j, o, cp, "shares", false, &c->shares, &c->has_shares)) < 0 ||
	    (r = sk_oj_int(j, o, cp, "quota", false, -1, INT64_MAX, &c->quota, &c->has_quota)) <
		0 ||
	    (r = sk_oj_u64(j, o, cp, "burst", false, &c->burst, &c->has_burst)) < 0 ||
	    (r = sk_oj_u64(j, o, cp, "period", false, &c->period, &c->has_period)) < 0 ||
	    (r = sk_oj_int(j, o, cp, "realtimeRuntime", false, INT64_MIN, INT64_MAX,
			   &c->realtime_runtime, &c->has_realtime_runtime)) < 0 ||
	    (r = sk_oj_u64(j, o, cp, "realtimePeriod", false, &c->realtime_period,
			   &c->has_realtime_period)) < 0 ||
	    (r = sk_oj_int(j, o, cp, "idle", false, INT64_MIN, INT64_MAX, &c->idle, &c->has_idle)) <
		0 ||
	    (r = sk_oj_str(j, o, cp, "cpus", false, &c->cpus)) < 0 ||
	    (r = sk_oj_str(j, o, cp, "mems", false, &c->mems)) < 0)
		return r;
	return 0;
}

static int parse_pids(const struct sk_oj *j, json_t *obj, const char *path,
		      struct sk_resources *res)
{
	_cleanup_free_ char *pp = sk_oj_join(path, "pids");
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "pids", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	return sk_oj_int(j, o, pp, "limit", false, INT64_MIN, INT64_MAX, &res->pids.limit,
			 &res->pids.has_limit);
}

static int parse_hugepages(const struct sk_oj *j, json_t *obj, const char *path,
			   struct sk_resources *res)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, obj, path, "hugepageLimits", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	res->hugepage_limits = sk_new0(struct sk_hugepage_limit, json_array_size(arr));
	res->n_hugepage_limits = json_array_size(arr);
	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		struct sk_hugepage_limit *h = &res->hugepage_limits[i];
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		if ((r = sk_oj_elem_object(j, arr, i, path, "hugepageLimits", &o, &ep)) < 0 ||
		    (r = sk_oj_str(j, o, ep, "pageSize", true, &h->page_size)) < 0 ||
		    (r = sk_oj_u64(j, o, ep, "limit", true, &h->limit, NULL)) < 0)
			return r;
	}
	return 0;
}

static int parse_network(const struct sk_oj *j, json_t *obj, const char *path,
			 struct sk_resources *res)
{
	_cleanup_free_ char *np = sk_oj_join(path, "network");
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "network", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	return sk_oj_u32(j, o, np, "classID", false, &res->network.class_id,
			 &res->network.has_class_id);
}

static int get_weight(const struct sk_oj *j, json_t *o, const char *p, const char *key,
		      uint16_t *ret, bool *has)
{
	int64_t v = 0;
	int r = sk_oj_int(j, o, p, key, false, 0, UINT16_MAX, &v, has);

	*ret = (uint16_t)v;
	return r;
}

static int parse_weight_devices(const struct sk_oj *j, json_t *obj, const char *path,
				struct sk_resources *res)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, obj, path, "weightDevice", JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	res->blkio.weight_devices = sk_new0(struct sk_weight_device, json_array_size(arr));
	res->blkio.n_weight_devices = json_array_size(arr);
	for (size_t i = 0; i < res->blkio.n_weight_devices; i++) {
		struct sk_weight_device *w = &res->blkio.weight_devices[i];
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		if ((r = sk_oj_elem_object(j, arr, i, path, "weightDevice", &o, &ep)) < 0 ||
		    (r = sk_oj_int(j, o, ep, "major", true, 0, INT64_MAX, &w->major, NULL)) < 0 ||
		    (r = sk_oj_int(j, o, ep, "minor", true, 0, INT64_MAX, &w->minor, NULL)) < 0 ||
		    (r = get_weight(j, o, ep, "weight", &w->weight, &w->has_weight)) < 0 ||
		    (r = get_weight(j, o, ep, "leafWeight", &w->leaf_weight, &w->has_leaf_weight)) <
			0)
			return r;
	}
	return 0;
}

static int parse_throttle(const struct sk_oj *j, json_t *obj, const char *path, const char *key,
			  struct sk_throttle_device **ret, size_t *ret_n)
{
	json_t *arr;
	int r;

	r = sk_oj_member(j, obj, path, key, JSON_ARRAY, false, &arr);
	if (r < 0 || !arr)
		return r;
	*ret = sk_new0(struct sk_throttle_device, json_array_size(arr));
	*ret_n = json_array_size(arr);
	for (size_t i = 0; i < *ret_n; i++) {
		struct sk_throttle_device *t = &(*ret)[i];
		_cleanup_free_ char *ep = NULL;
		json_t *o;

		if ((r = sk_oj_elem_object(j, arr, i, path, key, &o, &ep)) < 0 ||
		    (r = sk_oj_int(j, o, ep, "major", true, 0, INT64_MAX, &t->major, NULL)) < 0 ||
		    (r = sk_oj_int(j, o, ep, "minor", true, 0, INT64_MAX, &t->minor, NULL)) < 0 ||
		    (r = sk_oj_u64(j, o, ep, "rate", true, &t->rate, NULL)) < 0)
			return r;
	}
	return 0;
}

static int parse_blkio(const struct sk_oj *j, json_t *obj, const char *path,
		       struct sk_resources *res)
{
	_cleanup_free_ char *bp = sk_oj_join(path, "blockIO");
	__typeof__(res->blkio) *b = &res->blkio;
	json_t *o;
	int r;

	r = sk_oj_member(j, obj, path, "blockIO", JSON_OBJECT, false, &o);
	if (r < 0 || !o)
		return r;
	if ((r = get_weight(j, o, bp, "weight", &b->weight, &b->has_weight)) < 0 ||
	    (r = get_weight(j, o, bp, "leafWeight", &b->leaf_weight, &b->has_leaf_weight)) < 0 ||
	    (r = parse_weight_devices(j, o, bp, res)) < 0 ||
	    (r = parse_throttle(j, o, bp, "throttleReadBpsDevice", &b->read_bps, &b->n_read_bps)) <
		0 ||
	    (r = parse_throttle(j, o, bp, "throttleWriteBpsDevice", &b->write_bps,
				&b->n_write_bps)) < 0 ||
	    (r = parse_throttle(j, o, bp, "throttleReadIOPSDevice", &b->read_iops,
				&b->n_read_iops)) < 0 ||
	    (r = parse_throttle(j, o, bp, "throttleWriteIOPSDevice", &b->write_iops,
				&b->n_write_iops)) < 0)
		return r;
	return 0;
}

int sk_oci_parse_resources(const struct sk_oj *j, json_t *obj, const char *path,
			   struct sk_resources *res)
{
	int r;

	if ((r = parse_device_rules(j, obj, path, res)) < 0 ||
	    (r = parse_memory(j, obj, path, res)) < 0 || (r = parse_cpu(j, obj, path, res)) < 0 ||
	    (r = parse_pids(j, obj, path, res)) < 0 || (r = parse_blkio(j, obj, path, res)) < 0 ||
	    (r = parse_hugepages(j, obj, path, res)) < 0 ||
	    (r = parse_network(j, obj, path, res)) < 0 ||
	    (r = sk_oj_kv(j, obj, path, "unified", &res->unified, &res->n_unified)) < 0)
		return r;
	return 0;
}

void sk_oci_resources_release(struct sk_resources *r)
{
	if (!r)
		return;
	free(r->devices);
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->blkio.weight_devices);
	free(r->blkio.read_bps);
	free(r->blkio.write_bps);
	free(r->blkio.read_iops);
	free(r->blkio.write_iops);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	sk_oj_kv_free(r->unified, r->n_unified);
	memset(r, 0, sizeof(*r));
}

void sk_resources_free(struct sk_resources *r)
{
	sk_oci_resources_release(r);
	free(r);
}

int sk_spec_parse_resources(const char *json, size_t len, const char *name,
			    struct sk_resources **ret, struct sk_error **err)
{
	struct sk_oj j = { .name = name ? name : "resources.json", .err = err };
	_cleanup_(sk_resources_freep) struct sk_resources *res = NULL;
	json_t *root = NULL;
	int r;

	r = sk_oj_load(&j, json, len, &root);
	if (r < 0)
		return r;
	res = sk_new0(struct sk_resources, 1);
	r = sk_oci_parse_resources(&j, root, "", res);
	json_decref(root);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(res);
	return 0;
}
