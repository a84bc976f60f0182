/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-metrics.c - the Prometheus exposition of container metrics.
 *
 * Without root: families, labels and escaping for containers whose cgroup
 * does not exist (no cgroup families then), appending to a buffer.  With
 * root: real cgroups under "/skiff-metrics-<pid>" in every hierarchy, a
 * forked child inside that burns cpu and touches memory (and one that the
 * OOM killer ends), the rendered text parsed back and checked against what
 * the kernel counted.  Every cgroup made here is destroyed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "base/util.h"
#include "cgroup/cgroup-internal.h"
#include "cgroup/cgroup.h"
#include "daemon/metrics.h"

static char base[64];	    /* "/skiff-metrics-<pid>" */
static char *saved_subtree; /* the v2 root's cgroup.subtree_control before the tests */

static const char *const cgroup_families[] = {
	"container_cpu_usage_seconds_total",
	"container_memory_working_set_bytes",
	"container_memory_usage_bytes",
	"container_memory_rss",
	"container_oom_events_total",
	"container_spec_memory_limit_bytes",
	"container_processes",
};

/* ---- parsing the text back ---- */

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The family's "# TYPE" line is there once, with `type`, before its first sample. */
static void assert_family(const char *text, const char *family, const char *type)
{
	_cleanup_free_ char *help = sk_asprintf("# HELP %s ", family);
	_cleanup_free_ char *t = sk_asprintf("# TYPE %s %s\n", family, type);
	_cleanup_free_ char *sample = sk_asprintf("\n%s{", family);

	if (count(text, t) != 1 || count(text, help) != 1)
		fail_msg("family %s: HELP/TYPE %s not there exactly once", family, type);
	assert_true(strstr(text, t) < strstr(text, sample));
}

/*
 * The value of the sample `family{LABELS EXTRA}` where LABELS are the four
 * standard labels; false when there is none.  Fails if there are several.
 */
static bool sample(const char *text, const char *family, const char *labels, const char *extra,
		   double *ret)
{
	_cleanup_free_ char *head = sk_asprintf("\n%s{%s%s} ", family, labels, extra ? extra : "");
	const char *p = strstr(text, head);

	if (!p)
		return false;
	assert_null(strstr(p + 1, head));
	char *end;
	*ret = strtod(p + strlen(head), &end);
	assert_int_equal(*end, '\n');
	return true;
}

static double value(const char *text, const char *family, const char *labels, const char *extra)
{
	double v = 0;

	if (!sample(text, family, labels, extra, &v))
		fail_msg("no sample %s{%s%s}\n%s", family, labels, extra ? extra : "", text);
	return v;
}

/* Every line is a comment or `name{...} value` with balanced quotes. */
static void assert_wellformed(const char *text, size_t len)
{
	assert_int_equal(strlen(text), len);
	assert_true(len == 0 || text[len - 1] == '\n');
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		assert_non_null(nl);
		if (*l != '#') {
			const char *brace = memchr(l, '{', (size_t)(nl - l));
			assert_non_null(brace);
			bool quoted = false;
			const char *c = brace + 1;
			for (; c < nl && (quoted || *c != '}'); c++) {
				if (quoted && *c == '\\')
					c++;
				else if (*c == '"')
					quoted = !quoted;
			}
			assert_true(c < nl && c[1] == ' ');
		}
		l = nl + 1;
	}
}

static char *render(const struct sk_metrics_container *c, size_t n, size_t *ret_len)
{
	_cleanup_error_ struct sk_error *err = NULL;
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(sk_metrics_render(c, n, &buf, &len, &err), 0);
	assert_non_null(buf);
	assert_wellformed(buf, len);
	if (ret_len)
		*ret_len = len;
	return buf;
}

/* ---- without cgroups ---- */

static void test_render_empty(void **state)
{
	size_t len = 1;
	_cleanup_free_ char *buf = render(NULL, 0, &len);

	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
}

static void test_render_no_cgroup(void **state)
{
	_cleanup_free_ char *missing = sk_asprintf("%s/missing", base);
	struct sk_metrics_container c[] = {
		{ .app = "a\"b\\c\nd",
		  .service = "web",
		  .name = "a-web-1",
		  .replica = 1,
		  .cgroups_path = missing,
		  .restarts = 3,
		  .health = "unhealthy",
		  .state = "backoff",
		  .started_ns = 1700000000500000000 },
		{ .app = "shop",
		  .service = "db",
		  .name = "shop-db-2",
		  .replica = 2,
		  .cgroups_path = "skiff-metrics-none:x:y", /* systemd form, no such scope */
		  .health = "none",
		  .state = "paused" },
	};
	const char *l0 = "app=\"a\\\"b\\\\c\\nd\",service=\"web\",replica=\"1\",name=\"a-web-1\"";
	const char *l1 = "app=\"shop\",service=\"db\",replica=\"2\",name=\"shop-db-2\"";
	char *buf = sk_strdup("# before\n");
	size_t len = strlen(buf);
	double v;

	assert_int_equal(sk_metrics_render(c, SK_ELEMENTSOF(c), &buf, &len, NULL), 0);
	assert_wellformed(buf, len);
	assert_true(sk_str_has_prefix(buf, "# before\n# HELP "));
	for (size_t i = 0; i < SK_ELEMENTSOF(cgroup_families); i++)
		assert_null(strstr(buf, cgroup_families[i]));
	assert_family(buf, "container_start_time_seconds", "gauge");
	assert_non_null(strstr(buf,
			       "container_start_time_seconds{app=\"a\\\"b\\\\c\\nd\",service="
			       "\"web\",replica=\"1\",name=\"a-web-1\"} 1700000000.500000000\n"));
	assert_false(sample(buf, "container_start_time_seconds", l1, NULL, &v));
	assert_family(buf, "skiff_container_restarts_total", "counter");
	assert_true(value(buf, "skiff_container_restarts_total", l0, NULL) == 3);
	assert_true(value(buf, "skiff_container_restarts_total", l1, NULL) == 0);
	assert_family(buf, "skiff_container_health_status", "gauge");
	assert_true(value(buf, "skiff_container_health_status", l0, ",status=\"unhealthy\"") == 1);
	assert_true(value(buf, "skiff_container_health_status", l0, ",status=\"healthy\"") == 0);
	assert_true(value(buf, "skiff_container_health_status", l0, ",status=\"starting\"") == 0);
	assert_true(value(buf, "skiff_container_health_status", l0, ",status=\"none\"") == 0);
	assert_true(value(buf, "skiff_container_health_status", l1, ",status=\"none\"") == 1);
	assert_family(buf, "skiff_container_state", "gauge");
	assert_true(value(buf, "skiff_container_state", l0, ",state=\"backoff\"") == 1);
	assert_true(value(buf, "skiff_container_state", l0, ",state=\"running\"") == 0);
	/* a state outside the known list is still reported */
	assert_true(value(buf, "skiff_container_state", l1, ",state=\"paused\"") == 1);
	assert_true(value(buf, "skiff_container_state", l1, ",state=\"none\"") == 0);
	assert_int_equal(count(buf, "skiff_container_state{"), 6 + 7);
	free(buf);
}

static void test_usage_errors(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *missing = sk_asprintf("%s/missing", base);
	double cpu = -1;
	uint64_t mem = 7;

	assert_int_equal(sk_metrics_container_usage(NULL, &cpu, &mem, &err), -EINVAL);
	sk_error_free(TAKE_PTR(err));
	assert_int_equal(sk_metrics_container_usage(missing, &cpu, &mem, &err), -ENOENT);
	assert_non_null(err);
	sk_error_free(TAKE_PTR(err));
	assert_int_equal(sk_metrics_container_usage("/a/../b", &cpu, &mem, &err), -EINVAL);
	assert_true(cpu == -1 && mem == 7);
}

/* ---- real cgroups ---- */

static bool kernel_tests_possible(void)
{
	enum sk_cgroup_mode mode;
	_cleanup_error_ struct sk_error *err = NULL;

	return geteuid() == 0 && sk_cgroup_mode(&mode, &err) == 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct sk_cgroup *create_ok(const char *name, int64_t mem_limit)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *path = sk_asprintf("%s/%s", base, name);
	struct sk_resources r;
	struct sk_cgroup *cg = NULL;

	if (sk_cgroup_create(path, &cg, &err) < 0)
		fail_msg("create %s: %s", path, err->msg);
	memset(&r, 0, sizeof(r));
	r.memory.has_limit = true;
	r.memory.limit = mem_limit;
	if (sk_cgroup_apply(cg, &r, &err) < 0)
		fail_msg("apply: %s", err->msg);
	return cg;
}

static void destroy_ok(struct sk_cgroup *cg)
{
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_cgroup_destroy(cg, &err) < 0)
		fail_msg("destroy: %s", err->msg);
	sk_cgroup_free(cg);
}

/* Forks a child that waits on a pipe until it is in the cgroup, then runs `mb` MiB and spins. */
static pid_t spawn_in(struct sk_cgroup *cg, size_t mb)
{
	_cleanup_error_ struct sk_error *err = NULL;
	int p[2];
	char c;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec ts = { 0 };
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(100);
		char *m = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (m == MAP_FAILED)
			_exit(101);
		memset(m, 1, mb << 20);
		(void)mlock(m, mb << 20); /* no reclaim (DAMON, swap) may shrink the RSS checked */
		while (ts.tv_sec == 0 && ts.tv_nsec < 80000000L) /* 80 ms of cpu */
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		for (;;)
			pause();
	}
	close(p[0]);
	if (sk_cgroup_enter(cg, pid, &err) < 0)
		fail_msg("enter: %s", err->msg);
	assert_int_equal(write(p[1], "x", 1), 1);
	close(p[1]);
	return pid;
}

static void test_render_cgroup(void **state)
{
	_cleanup_free_ char *path = NULL, *buf = NULL, *missing = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_cgroup *cg;
	double cpu = 0;
	uint64_t ws = 0;
	pid_t pid;

	if (!kernel_tests_possible())
		skip();
	cg = create_ok("c1", 256 << 20);
	path = sk_strdup(sk_cgroup_path(cg));
	missing = sk_asprintf("%s/missing", base);
	pid = spawn_in(cg, 16);
	for (int i = 0; i < 300 && (cpu < 0.05 || ws < (16u << 20)); i++) {
		if (sk_metrics_container_usage(path, &cpu, &ws, &err) < 0)
			fail_msg("usage: %s", err->msg);
		sleep_ms(10);
	}
	print_message("usage: cpu %.3f s, working set %llu\n", cpu, (unsigned long long)ws);
	assert_true(cpu >= 0.05);
	assert_true(ws >= (16u << 20));

	struct sk_metrics_container c[] = {
		{ .app = "shop",
		  .service = "web",
		  .name = "shop-web-1",
		  .replica = 1,
		  .cgroups_path = path,
		  .restarts = 1,
		  .health = "healthy",
		  .state = "running",
		  .started_ns = 1700000000000000000 },
		{ .app = "shop",
		  .service = "web",
		  .name = "shop-web-2",
		  .replica = 2,
		  .cgroups_path = missing,
		  .health = "starting",
		  .state = "exited" },
	};
	const char *l = "app=\"shop\",service=\"web\",replica=\"1\",name=\"shop-web-1\"";
	const char *l2 = "app=\"shop\",service=\"web\",replica=\"2\",name=\"shop-web-2\"";
	/* the anonymous pages are all in the RSS once the child spins (and locked there) */
	for (int i = 0; i < 300; i++) {
		free(buf);
		buf = render(c, SK_ELEMENTSOF(c), NULL);
		if (value(buf, "container_memory_rss", l, NULL) >= (16u << 20))
			break;
		sleep_ms(10);
	}
	/* what the assertions need is in buf: end the child first, so a failure leaves no cgroup */
	destroy_ok(cg);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_family(buf, "container_cpu_usage_seconds_total", "counter");
	assert_family(buf, "container_oom_events_total", "counter");
	for (size_t i = 0; i < SK_ELEMENTSOF(cgroup_families); i++) {
		double v;
		if (strcmp(cgroup_families[i], "container_cpu_usage_seconds_total") &&
		    strcmp(cgroup_families[i], "container_oom_events_total"))
			assert_family(buf, cgroup_families[i], "gauge");
		assert_true(sample(buf, cgroup_families[i], l, NULL, &v));
		assert_false(sample(buf, cgroup_families[i], l2, NULL, &v));
	}
	double cpu_m = value(buf, "container_cpu_usage_seconds_total", l, NULL);
	double ws_m = value(buf, "container_memory_working_set_bytes", l, NULL);
	double usage = value(buf, "container_memory_usage_bytes", l, NULL);
	assert_true(cpu_m >= cpu);
	assert_true(ws_m >= (16u << 20) && ws_m <= usage);
	assert_true(value(buf, "container_memory_rss", l, NULL) >= (16u << 20));
	assert_true(value(buf, "container_oom_events_total", l, NULL) == 0);
	assert_true(value(buf, "container_spec_memory_limit_bytes", l, NULL) == 256 << 20);
	assert_true(value(buf, "container_processes", l, NULL) == 1);
	assert_true(value(buf, "container_start_time_seconds", l, NULL) == 1700000000);
	assert_true(value(buf, "skiff_container_restarts_total", l, NULL) == 1);
	assert_true(value(buf, "skiff_container_health_status", l, ",status=\"healthy\"") == 1);
	assert_true(value(buf, "skiff_container_health_status", l2, ",status=\"starting\"") == 1);
	assert_true(value(buf, "skiff_container_state", l, ",state=\"running\"") == 1);
}

/* A child that needs 64 MiB in a 16 MiB cgroup: the OOM killer ends it and the counter says so. */
static void test_oom_events(void **state)
{
	_cleanup_free_ char *buf = NULL;
	struct sk_cgroup *cg;
	int status = 0;

	if (!kernel_tests_possible())
		skip();
	cg = create_ok("oom", 16 << 20);
	pid_t pid = spawn_in(cg, 64);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	struct sk_metrics_container c = { .app = "a",
					  .service = "s",
					  .name = "a-s-1",
					  .replica = 1,
					  .cgroups_path = sk_cgroup_path(cg),
					  .health = "none",
					  .state = "exited" };
	const char *l = "app=\"a\",service=\"s\",replica=\"1\",name=\"a-s-1\"";
	buf = render(&c, 1, NULL);
	assert_true(value(buf, "container_oom_events_total", l, NULL) >= 1);
	assert_true(value(buf, "container_spec_memory_limit_bytes", l, NULL) == 16 << 20);
	assert_true(value(buf, "container_processes", l, NULL) == 0);
	destroy_ok(cg);
}

static char *v2_root(void)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	const struct sk_cgroup_hierarchy *h;

	if (sk_cgroup_open("/", NULL, &cg, &err) < 0 || !(h = sk_cgroup_find_v2(cg)))
		return NULL;
	return sk_strdup(h->mountpoint);
}

static int setup(void **state)
{
	_cleanup_free_ char *root = NULL;

	snprintf(base, sizeof(base), "/skiff-metrics-%d", (int)getpid());
	if (kernel_tests_possible() && (root = v2_root()) &&
	    sk_cgroup_read(root, "cgroup.subtree_control", &saved_subtree) < 0)
		saved_subtree = NULL;
	return 0;
}

/* Removes the (empty) base directories and disables in the v2 root what the tests enabled. */
static int teardown(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	_cleanup_free_ char *root = v2_root(), *now = NULL;
	const struct sk_cgroup_hierarchy *h;
	int leftovers = 0;

	if (!kernel_tests_possible())
		return 0;
	if (sk_cgroup_open(base, NULL, &cg, &err) == 0) {
		size_t n = sk_cgroup_hierarchies(cg, &h);
		for (size_t i = 0; i < n; i++)
			if (rmdir(h[i].dir) < 0 && errno != ENOENT) {
				fprintf(stderr, "leftover cgroup '%s': %m\n", h[i].dir);
				leftovers++;
			}
	}
	if (root && saved_subtree && sk_cgroup_read(root, "cgroup.subtree_control", &now) == 0) {
		struct sk_cgroup_hierarchy before = { .controllers = saved_subtree };
		char *save = NULL;
		for (char *c = strtok_r(now, " \n", &save); c; c = strtok_r(NULL, " \n", &save))
			if (!sk_cgroup_hierarchy_has(&before, c))
				(void)sk_cgroup_writef(root, "cgroup.subtree_control", NULL, "-%s",
						       c);
	}
	free(saved_subtree);
	return leftovers ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_empty), cmocka_unit_test(test_render_no_cgroup),
		cmocka_unit_test(test_usage_errors), cmocka_unit_test(test_render_cgroup),
		cmocka_unit_test(test_oom_events),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
