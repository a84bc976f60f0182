/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup.c - the lifecycle of one cgroup in every hierarchy of the host.
 *
 * Creates (recording what it made), opens, enters, freezes, lists, kills
 * and destroys a cgroup in all the hierarchies cgroup-layout.c found, and
 * dispatches each controller of sk_cgroup_apply() to the backend of the
 * hierarchy that holds it (cgroup-v1.c, cgroup-v2.c).  It writes no limit
 * itself and reads no statistics (cgroup-stats.c).
 */
#include "cgroup-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"

/* How long freeze and destroy wait for the kernel to settle. */
#define SK_CGROUP_SETTLE_NS (10ull * 1000000000ull)

/* ---- struct sk_cgroup ---- */

const struct sk_cgroup_hierarchy *sk_cgroup_find_v1(const struct sk_cgroup *cg, const char *name)
{
	for (size_t i = 0; i < cg->n_h; i++)
		if (!cg->h[i].v2 && sk_cgroup_hierarchy_has(&cg->h[i], name))
			return &cg->h[i];
	return NULL;
}

const struct sk_cgroup_hierarchy *sk_cgroup_find_v2(const struct sk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_h; i++)
		if (cg->h[i].v2)
			return &cg->h[i];
	return NULL;
}

static struct sk_cgroup *cgroup_new(const struct sk_cgroup_layout *l, const char *path)
{
	struct sk_cgroup *cg = sk_new0(struct sk_cgroup, 1);

	cg->path = sk_strdup(path);
	cg->mode = l->mode;
	cg->h = sk_new0(struct sk_cgroup_hierarchy, l->n);
	cg->n_h = l->n;
	for (size_t i = 0; i < l->n; i++) {
		cg->h[i].mountpoint = sk_strdup(l->h[i].mountpoint);
		cg->h[i].controllers = sk_strdup(l->h[i].controllers);
		cg->h[i].v2 = l->h[i].v2;
		cg->h[i].dir = sk_path_join(l->h[i].mountpoint, path);
	}
	cg->created = sk_new0(char *, 1);
	return cg;
}

void sk_cgroup_free(struct sk_cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n_h; i++)
		sk_cgroup_hierarchy_release(&cg->h[i]);
	free(cg->h);
	sk_strv_free(cg->created);
	free(cg->path);
	free(cg);
}

const char *sk_cgroup_path(const struct sk_cgroup *cg)
{
	return cg->path;
}

char *const *sk_cgroup_created(const struct sk_cgroup *cg)
{
	return cg->created;
}

size_t sk_cgroup_hierarchies(const struct sk_cgroup *cg, const struct sk_cgroup_hierarchy **ret)
{
	*ret = cg->h;
	return cg->n_h;
}

/* ---- create ---- */

static bool is_blank(const char *s)
{
	return s[strspn(s, " \t\n")] == '\0';
}

/*
 * A v1 cpuset with empty cpus/mems refuses tasks: copy the parent's values
 * into a level skiff just created.
 */
static int cpuset_inherit(const char *dir, struct sk_error **err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	_cleanup_free_ char *parent = sk_strndup(dir, strrchr(dir, '/') - dir);

	for (size_t i = 0; i < SK_ELEMENTSOF(files); i++) {
		_cleanup_free_ char *mine = NULL, *theirs = NULL;
		int r = sk_cgroup_read(dir, files[i], &mine);
		if (r == 0 && !is_blank(mine))
			continue;
		r = sk_cgroup_read(parent, files[i], &theirs);
		if (r < 0)
			return sk_error_set(err, -r, "read '%s/%s'", parent, files[i]);
		theirs[strcspn(theirs, "\n")] = '\0';
		r = sk_cgroup_write(dir, files[i], theirs, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Enables in dir's cgroup.subtree_control every controller dir has. */
static void v2_enable_controllers(const char *dir)
{
	_cleanup_free_ char *avail = NULL, *enabled = NULL;
	char *save = NULL;

	if (sk_cgroup_read(dir, "cgroup.controllers", &avail) < 0 ||
	    sk_cgroup_read(dir, "cgroup.subtree_control", &enabled) < 0)
		return;
	struct sk_cgroup_hierarchy on = { .controllers = enabled };
	for (char *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
		_cleanup_error_ struct sk_error *e = NULL;
		if (sk_cgroup_hierarchy_has(&on, c))
			continue;
		/* One at a time: a controller the parent cannot delegate is not fatal here;
		 * apply reports the missing file if the spec needs it. */
		if (sk_cgroup_writef(dir, "cgroup.subtree_control", &e, "+%s", c) < 0)
			sk_debug("cgroup: %s", e->msg);
	}
}

/*
 * mkdir -p of cg->path under one hierarchy, recording each level it made.
 * On v2 each parent delegates its controllers before the child is made, so
 * every level has the controller files from the start; on v1 a new cpuset
 * level gets its parent's cpus and mems.
 */
static int mkdir_levels(struct sk_cgroup *cg, const struct sk_cgroup_hierarchy *h,
			struct sk_error **err)
{
	_cleanup_free_ char *copy = sk_strdup(cg->path), *cur = sk_strdup(h->mountpoint);
	char *save = NULL;

	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		char *next = sk_path_join(cur, t);
		if (h->v2)
			v2_enable_controllers(cur);
		free(cur);
		cur = next;
		if (mkdir(cur, 0755) < 0) {
			if (errno == EEXIST)
				continue;
			return sk_error_errno(err, "mkdir '%s'", cur);
		}
		sk_strv_push(&cg->created, cur);
		if (!h->v2 && sk_cgroup_hierarchy_has(h, "cpuset")) {
			int r = cpuset_inherit(cur, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* rmdir of the created dirs, innermost first; best effort (undo path). */
static void remove_created_now(struct sk_cgroup *cg)
{
	for (size_t i = sk_strv_length(cg->created); i-- > 0;)
		if (rmdir(cg->created[i]) < 0 && errno != ENOENT)
			sk_debug("cgroup: rmdir '%s': %m", cg->created[i]);
}

int sk_cgroup_create(const char *path, struct sk_cgroup **ret, struct sk_error **err)
{
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	_cleanup_free_ char *norm = NULL;
	const struct sk_cgroup_layout *l;
	int r = sk_cgroup_layout_get(&l, err);

	if (r < 0)
		return r;
	if (sk_cgroup_path_normalize(path, &norm) < 0)
		return sk_error_set(err, EINVAL, "cgroup path '%s': '..' is not allowed", path);
	cg = cgroup_new(l, norm);
	for (size_t i = 0; i < cg->n_h && r == 0; i++) {
		r = mkdir_levels(cg, &cg->h[i], err);
	}
	if (r < 0) {
		remove_created_now(cg);
		sk_error_prefix(err, "create cgroup '%s'", norm);
		return r;
	}
	*ret = TAKE_PTR(cg);
	return 0;
}

int sk_cgroup_open(const char *path, char *const *created, struct sk_cgroup **ret,
		   struct sk_error **err)
{
	_cleanup_free_ char *norm = NULL;
	const struct sk_cgroup_layout *l;
	struct sk_cgroup *cg;
	int r = sk_cgroup_layout_get(&l, err);

	if (r < 0)
		return r;
	if (sk_cgroup_path_normalize(path, &norm) < 0)
		return sk_error_set(err, EINVAL, "cgroup path '%s': '..' is not allowed", path);
	cg = cgroup_new(l, norm);
	for (size_t i = 0; created && created[i]; i++)
		sk_strv_push(&cg->created, created[i]);
	*ret = cg;
	return 0;
}

int sk_cgroup_enter(struct sk_cgroup *cg, pid_t pid, struct sk_error **err)
{
	for (size_t i = 0; i < cg->n_h; i++) {
		int r = sk_cgroup_writef(cg->h[i].dir, "cgroup.procs", err, "%d", (int)pid);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- apply ---- */

static bool want_memory(const struct sk_resources *r)
{
	return r->memory.has_limit || r->memory.has_reservation || r->memory.has_swap ||
	       r->memory.has_kernel || r->memory.has_kernel_tcp || r->memory.has_swappiness ||
	       r->memory.has_disable_oom_killer;
}

static bool want_cpu(const struct sk_resources *r)
{
	return (r->cpu.has_shares && r->cpu.shares) || r->cpu.has_quota || r->cpu.has_burst ||
	       r->cpu.has_period || r->cpu.has_realtime_runtime || r->cpu.has_realtime_period ||
	       r->cpu.has_idle;
}

static bool want_cpuset(const struct sk_resources *r)
{
	return r->cpu.cpus || r->cpu.mems;
}

static bool want_pids(const struct sk_resources *r)
{
	return r->pids.has_limit;
}

static bool want_io(const struct sk_resources *r)
{
	return (r->blkio.has_weight && r->blkio.weight) || r->blkio.has_leaf_weight ||
	       r->blkio.n_weight_devices || r->blkio.n_read_bps || r->blkio.n_write_bps ||
	       r->blkio.n_read_iops || r->blkio.n_write_iops;
}

static bool want_hugetlb(const struct sk_resources *r)
{
	return r->n_hugepage_limits > 0;
}

static bool want_devices(const struct sk_resources *r)
{
	return r->n_devices > 0;
}

static bool want_net(const struct sk_resources *r)
{
	return r->network.has_class_id;
}

static const struct {
	const char *v1, *v2; /* controller names; v2 NULL: not a v2 controller */
	bool (*wanted)(const struct sk_resources *r);
} controls[SK_CGROUP__COUNT] = {
	[SK_CGROUP_MEMORY] = { "memory", "memory", want_memory },
	[SK_CGROUP_CPU] = { "cpu", "cpu", want_cpu },
	[SK_CGROUP_CPUSET] = { "cpuset", "cpuset", want_cpuset },
	[SK_CGROUP_PIDS] = { "pids", "pids", want_pids },
	[SK_CGROUP_IO] = { "blkio", "io", want_io },
	[SK_CGROUP_HUGETLB] = { "hugetlb", "hugetlb", want_hugetlb },
	[SK_CGROUP_DEVICES] = { "devices", NULL, want_devices },
	[SK_CGROUP_NET] = { "net_cls", NULL, want_net },
};

/*
 * Runs the writer of the hierarchy that holds controller `c`: v1 when a v1
 * hierarchy has it, else v2.  v2 devices are an eBPF program on the v2
 * directory (no controller needed); net_cls has no v2 form and is ignored
 * there, as runc does.
 */
static int apply_one(struct sk_cgroup *cg, enum sk_cgroup_ctl c, const struct sk_resources *r,
		     struct sk_error **err)
{
	const struct sk_cgroup_hierarchy *h = sk_cgroup_find_v1(cg, controls[c].v1);
	const struct sk_cgroup_hierarchy *v2 = sk_cgroup_find_v2(cg);

	if (h)
		return sk_cgroup_v1_ops.write[c](h->dir, r, err);
	if (v2 && c == SK_CGROUP_DEVICES)
		return sk_cgroup_v2_ops.write[c](v2->dir, r, err);
	if (v2 && controls[c].v2 && sk_cgroup_hierarchy_has(v2, controls[c].v2))
		return sk_cgroup_v2_ops.write[c](v2->dir, r, err);
	if (c == SK_CGROUP_NET) {
		sk_debug("cgroup: no net_cls hierarchy: network.classID ignored");
		return 0;
	}
	return sk_error_set(err, EOPNOTSUPP, "no cgroup hierarchy has the '%s' controller",
			    controls[c].v1);
}

/* `unified` keys: file names in the cgroup's v2 directory, nothing else. */
static int apply_unified(struct sk_cgroup *cg, const struct sk_resources *r, struct sk_error **err)
{
	const struct sk_cgroup_hierarchy *v2 = sk_cgroup_find_v2(cg);

	if (!r->n_unified)
		return 0;
	if (!v2)
		return sk_error_set(err, EOPNOTSUPP, "unified: this host has no cgroup v2");
	for (size_t i = 0; i < r->n_unified; i++) {
		const char *k = r->unified[i].key;
		if (!*k || strchr(k, '/') || strstr(k, "..") || !strchr(k, '.'))
			return sk_error_set(err, EINVAL, "unified: invalid key '%s'", k);
		int q = sk_cgroup_write(v2->dir, k, r->unified[i].value, err);
		if (q < 0) {
			sk_error_prefix(err, "unified");
			return q;
		}
	}
	return 0;
}

int sk_cgroup_apply(struct sk_cgroup *cg, const struct sk_resources *r, struct sk_error **err)
{
	for (int c = 0; c < SK_CGROUP__COUNT; c++) {
		if (!controls[c].wanted(r))
			continue;
		int q = apply_one(cg, (enum sk_cgroup_ctl)c, r, err);
		if (q < 0) {
			sk_error_prefix(err, "cgroup '%s'", cg->path);
			return q;
		}
	}
	int q = apply_unified(cg, r, err);
	if (q < 0)
		sk_error_prefix(err, "cgroup '%s'", cg->path);
	return q;
}

/* ---- freeze ---- */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int v1_frozen(const char *dir, bool *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = sk_cgroup_read(dir, "freezer.state", &s);

	if (r < 0)
		return r;
	*ret = sk_str_has_prefix(s, "FROZEN");
	return 0;
}

static int v2_frozen(const char *dir, bool *ret)
{
	uint64_t v = 0;
	int r = sk_cgroup_read_key(dir, "cgroup.events", "frozen", &v);

	if (r < 0)
		return r;
	*ret = v == 1;
	return 0;
}

/*
 * Writes the target state and polls until the kernel reports it.  v1 moves
 * through FREEZING and may need the write repeated (runc does the same);
 * v2 reports "frozen 1" in cgroup.events.  Bounded by SK_CGROUP_SETTLE_NS;
 * a freeze that does not settle is undone.
 */
static int freeze_wait(const char *dir, bool v2, bool frozen, struct sk_error **err)
{
	const char *file = v2 ? "cgroup.freeze" : "freezer.state";
	const char *value = v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
	uint64_t deadline = sk_now_ns() + SK_CGROUP_SETTLE_NS;

	for (unsigned ms = 1;; ms = ms < 32 ? ms * 2 : ms) {
		bool now = !frozen;
		int r = sk_cgroup_write(dir, file, value, err);
		if (r < 0)
			return r;
		r = v2 ? v2_frozen(dir, &now) : v1_frozen(dir, &now);
		if (r < 0)
			return sk_error_set(err, -r, "read state of '%s'", dir);
		if (now == frozen)
			return 0;
		if (sk_now_ns() > deadline)
			break;
		sleep_ms(ms);
	}
	if (frozen)
		(void)sk_cgroup_write(dir, file, v2 ? "0" : "THAWED", NULL);
	return sk_error_set(err, EBUSY, "%s '%s': the kernel did not settle",
			    frozen ? "freeze" : "thaw", dir);
}

/* The freezer: v1 freezer hierarchy if mounted, else cgroup.freeze on v2. */
static int freezer_of(const struct sk_cgroup *cg, const char **ret_dir, bool *ret_v2,
		      struct sk_error **err)
{
	const struct sk_cgroup_hierarchy *h = sk_cgroup_find_v1(cg, "freezer");

	if (!h)
		h = sk_cgroup_find_v2(cg);
	if (!h || (h->v2 && !strcmp(cg->path, "/")))
		return sk_error_set(err, EOPNOTSUPP, "cgroup '%s' has no freezer", cg->path);
	*ret_dir = h->dir;
	*ret_v2 = h->v2;
	return 0;
}

int sk_cgroup_freeze(struct sk_cgroup *cg, bool frozen, struct sk_error **err)
{
	const char *dir;
	bool v2;
	int r = freezer_of(cg, &dir, &v2, err);

	if (r < 0)
		return r;
	return freeze_wait(dir, v2, frozen, err);
}

int sk_cgroup_is_frozen(struct sk_cgroup *cg, bool *ret, struct sk_error **err)
{
	const char *dir;
	bool v2;
	int r = freezer_of(cg, &dir, &v2, err);

	if (r < 0)
		return r;
	r = v2 ? v2_frozen(dir, ret) : v1_frozen(dir, ret);
	if (r < 0)
		return sk_error_set(err, -r, "read freezer state of '%s'", dir);
	return 0;
}

/* ---- processes ---- */

/*
 * The hierarchy whose cgroup.procs lists the cgroup's processes: v2 when
 * mounted (every process is in it), else v1 freezer, pids, the first one.
 */
static const struct sk_cgroup_hierarchy *procs_hierarchy(const struct sk_cgroup *cg)
{
	const struct sk_cgroup_hierarchy *h = sk_cgroup_find_v2(cg);

	if (!h)
		h = sk_cgroup_find_v1(cg, "freezer");
	if (!h)
		h = sk_cgroup_find_v1(cg, "pids");
	return h ? h : &cg->h[0];
}

static void pids_push(pid_t **v, size_t *n, pid_t pid)
{
	*v = sk_realloc(*v, sizeof(pid_t) * (*n + 1));
	(*v)[(*n)++] = pid;
}

/* Appends the pids in dir/cgroup.procs and in every sub-cgroup of dir. */
static int collect_pids(const char *dir, pid_t **v, size_t *n)
{
	_cleanup_free_ char *procs = NULL;
	DIR *d;
	int r = sk_cgroup_read(dir, "cgroup.procs", &procs);

	if (r < 0)
		return r;
	for (char *save = NULL, *l = strtok_r(procs, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		int pid;
		if (sk_parse_int(l, &pid) == 0 && pid > 0)
			pids_push(v, n, pid);
	}
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *de; (de = readdir(d)) && r == 0;) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = sk_path_join(dir, de->d_name);
		r = collect_pids(sub, v, n);
		if (r == -ENOENT) /* removed while we walked */
			r = 0;
	}
	closedir(d);
	return r;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int sk_cgroup_pids(struct sk_cgroup *cg, pid_t **ret, size_t *ret_n, struct sk_error **err)
{
	const struct sk_cgroup_hierarchy *h = procs_hierarchy(cg);
	_cleanup_free_ pid_t *v = NULL;
	size_t n = 0, w = 0;
	int r = collect_pids(h->dir, &v, &n);

	if (r < 0)
		return sk_error_set(err, -r, "list processes of '%s'", h->dir);
	if (n)
		qsort(v, n, sizeof(pid_t), cmp_pid);
	for (size_t i = 0; i < n; i++) /* dedup (a process moving while we read) */
		if (w == 0 || v[w - 1] != v[i])
			v[w++] = v[i];
	*ret = TAKE_PTR(v);
	*ret_n = w;
	return 0;
}

static int signal_each(struct sk_cgroup *cg, int sig, struct sk_error **err)
{
	_cleanup_free_ pid_t *v = NULL;
	size_t n = 0;
	int r = sk_cgroup_pids(cg, &v, &n, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (kill(v[i], sig) < 0 && errno != ESRCH)
			return sk_error_errno(err, "kill %d", (int)v[i]);
	return 0;
}

int sk_cgroup_kill_all(struct sk_cgroup *cg, int sig, struct sk_error **err)
{
	const struct sk_cgroup_hierarchy *v2 = sk_cgroup_find_v2(cg);
	bool froze = false;
	int r;

	if (sig == SIGKILL && v2 && strcmp(cg->path, "/") &&
	    sk_cgroup_has_file(v2->dir, "cgroup.kill"))
		return sk_cgroup_write(v2->dir, "cgroup.kill", "1", err);
	/* Freeze first so nothing forks between listing and killing (as runc does). */
	if (sig == SIGKILL) {
		_cleanup_error_ struct sk_error *e = NULL;
		froze = sk_cgroup_freeze(cg, true, &e) == 0;
	}
	r = signal_each(cg, sig, err);
	if (froze) {
		_cleanup_error_ struct sk_error *e = NULL;
		if (sk_cgroup_freeze(cg, false, &e) < 0 && r == 0)
			r = sk_error_set(err, -sk_error_ret(e), "%s", e->msg);
	}
	return r;
}

/* ---- destroy ---- */

/*
 * Kills what is left in the cgroup and waits, bounded, until it is empty.
 * A cgroup that is gone already counts as empty.
 */
static int drain(struct sk_cgroup *cg, struct sk_error **err)
{
	uint64_t deadline = sk_now_ns() + SK_CGROUP_SETTLE_NS;

	for (unsigned ms = 1;; ms = ms < 32 ? ms * 2 : ms) {
		_cleanup_error_ struct sk_error *e = NULL;
		_cleanup_free_ pid_t *v = NULL;
		size_t n = 0;
		int r = sk_cgroup_pids(cg, &v, &n, &e);
		if (r == -ENOENT || (r == 0 && n == 0))
			return 0;
		if (r < 0)
			return sk_error_set(err, -r, "%s", e->msg);
		if (sk_now_ns() > deadline)
			return sk_error_set(err, EBUSY, "cgroup '%s' still has %zu processes",
					    cg->path, n);
		sk_error_free(TAKE_PTR(e));
		(void)sk_cgroup_kill_all(cg, SIGKILL, &e);
		sk_error_free(TAKE_PTR(e));
		(void)sk_cgroup_freeze(cg, false, &e); /* SIGKILL waits for a thaw on v1 */
		sleep_ms(ms);
	}
}

/* rmdir of a tree of cgroups the container made under its own cgroup. */
static int rmdir_tree(const char *dir)
{
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = sk_path_join(dir, de->d_name);
		(void)rmdir_tree(sub);
	}
	closedir(d);
	return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}

static bool is_leaf(const struct sk_cgroup *cg, const char *dir)
{
	for (size_t i = 0; i < cg->n_h; i++)
		if (!strcmp(cg->h[i].dir, dir))
			return true;
	return false;
}

/*
 * Removes one created directory.  The cgroup itself (a leaf) goes with the
 * sub-cgroups its processes made, retrying while the kernel still counts
 * exiting tasks; a created parent that is busy is shared with another
 * cgroup now, so it stays.
 */
static int remove_one(const struct sk_cgroup *cg, const char *dir, struct sk_error **err)
{
	uint64_t deadline = sk_now_ns() + SK_CGROUP_SETTLE_NS;

	if (!is_leaf(cg, dir)) {
		if (rmdir(dir) == 0 || errno == ENOENT || errno == EBUSY || errno == ENOTEMPTY)
			return 0;
		return sk_error_errno(err, "rmdir '%s'", dir);
	}
	/* Usually empty: one rmdir, no directory walk. */
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	for (unsigned ms = 1;; ms = ms < 32 ? ms * 2 : ms) {
		int r = rmdir_tree(dir);
		if (r == 0)
			return 0;
		if (r != -EBUSY || sk_now_ns() > deadline)
			return sk_error_set(err, -r, "rmdir '%s'", dir);
		sleep_ms(ms);
	}
}

int sk_cgroup_destroy(struct sk_cgroup *cg, struct sk_error **err)
{
	size_t n = sk_strv_length(cg->created);
	int r;

	if (n == 0)
		return 0;
	r = drain(cg, err);
	for (size_t i = n; i-- > 0 && r == 0;)
		r = remove_one(cg, cg->created[i], err);
	if (r < 0)
		sk_error_prefix(err, "destroy cgroup '%s'", cg->path);
	return r;
}
