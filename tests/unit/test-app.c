/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-app.c - the compose model: every field in effect, anchors and merge
 * keys, environment and .env, project names, profiles, start order, JSON
 * round trip and config hashes, the x-skiff blocks (proxy, fault, fallback,
 * egress, subnet) and the fault JSON helpers.  Runs in a scratch directory holding the
 * .env and env_file fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "base/util.h"

static char dir[] = "/tmp/sk-app-XXXXXX";
static char *env[] = { "HOME=/home/u", "TAG=1.2", "FROM_ENV=env-value", "SHADOW=from-env", NULL };

static int setup(void **state)
{
	_cleanup_free_ char *p = NULL;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chdir(dir), 0);
	p = sk_path_join(dir, "web.env");
	assert_int_equal(
	    sk_write_file_atomic(p, "FILE_VAR=from-file\nOVERRIDDEN=file\n", 34, 0644, false), 0);
	free(p);
	p = sk_path_join(dir, ".env");
	assert_int_equal(
	    sk_write_file_atomic(p, "DOTENV=dot\nSHADOW=from-dotenv\nPORT=8081\n", 40, 0644, false),
	    0);
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(chdir("/"), 0);
	return sk_rm_rf(dir);
}

static struct sk_app *load(const char *yaml, struct sk_app_diags *d)
{
	struct sk_app_load_opts o = { .environ = env };
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_app *app = NULL;
	int r = sk_app_parse(yaml, strlen(yaml), "compose.yaml", &o, &app, d, &err);

	if (r < 0)
		fail_msg("unexpected error: %s", err->msg);
	return app;
}

static const char full[] =
    "name: Demo_App\n"
    "x-defaults: &defaults\n"
    "  restart: on-failure:5\n"
    "  labels: {tier: back, team: x}\n"
    "services:\n"
    "  api:\n"
    "    <<: *defaults\n"
    "    image: registry/api:${TAG}\n"
    "    entrypoint: [\"/bin/api\", \"--serve\"]\n"
    "    command: run --port \"${PORT}\" 'a b'\n"
    "    environment:\n"
    "      - PLAIN=1\n"
    "      - FROM_ENV\n"
    "      - MISSING\n"
    "      - OVERRIDDEN=env\n"
    "      - SHADOW=$SHADOW/$DOTENV\n"
    "    env_file: web.env\n"
    "    working_dir: /srv\n"
    "    user: \"1000:1000\"\n"
    "    hostname: api-host\n"
    "    ports: [\"8080:80\", \"[::1]:9000:90/udp\", \"7000-7001:7000-7001\", \"3000\",\n"
    "            {target: 443, published: \"8443\", host_ip: 127.0.0.1, name: https}]\n"
    "    expose: [\"9100\", 9200-9201/udp]\n"
    "    volumes:\n"
    "      - ./data/../conf:/etc/api:ro\n"
    "      - store:/var/lib/api\n"
    "      - /anon\n"
    "      - {type: tmpfs, target: /scratch, tmpfs: {size: 64m, mode: 1777}}\n"
    "      - {type: bind, source: ~/src, target: /src, bind: {propagation: rshared}}\n"
    "    tmpfs: [\"/run:size=16m,mode=755,noexec\", /tmp]\n"
    "    depends_on:\n"
    "      db: {condition: service_healthy, restart: true}\n"
    "      cache: {condition: service_started, required: false}\n"
    "    healthcheck:\n"
    "      test: curl -f http://localhost/ || exit 1\n"
    "      interval: 1m30s\n"
    "      timeout: 5s\n"
    "      retries: 4\n"
    "      start_period: 2s\n"
    "      start_interval: 500ms\n"
    "    deploy:\n"
    "      replicas: 3\n"
    "      resources:\n"
    "        limits: {cpus: \"0.5\", memory: 64m, pids: 100}\n"
    "        reservations: {cpus: 0.25, memory: 32m}\n"
    "      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}\n"
    "    cap_add: [net_admin, CAP_SYS_TIME]\n"
    "    cap_drop: [ALL]\n"
    "    read_only: true\n"
    "    privileged: false\n"
    "    init: yes\n"
    "    stop_signal: QUIT\n"
    "    stop_grace_period: 1m\n"
    "    ulimits: {nproc: 512, nofile: {soft: 1024, hard: 4096}}\n"
    "    sysctls: [net.core.somaxconn=1024]\n"
    "    cpuset: 0-1,3\n"
    "    cpu_shares: 512\n"
    "    oom_score_adj: -500\n"
    "    networks: {front: {aliases: [api-alias]}, default: null}\n"
    "    x-skiff:\n"
    "      health: {http: {path: /healthz, port: 8080, status: 200-299, interval: 2s}}\n"
    "      restart_unhealthy: false\n"
    "      proxy:\n"
    "        mode: http\n"
    "        balance: least_request\n"
    "        internal: true\n"
    "        connect_timeout: 1s\n"
    "        timeout: 2s\n"
    "        total_timeout: 10s\n"
    "        idle_timeout: 60s\n"
    "        max_concurrent: 100\n"
    "        drain: 2s\n"
    "        retries:\n"
    "          attempts: 3\n"
    "          on: [connect-failure, reset, timeout, 504, 502, \"503\", 502]\n"
    "          backoff: 25ms\n"
    "          max_backoff: 250ms\n"
    "          budget: 20%\n"
    "        outlier:\n"
    "          consecutive_5xx: 7\n"
    "          consecutive_failures: 0\n"
    "          base_ejection_time: 30s\n"
    "          max_ejection_percent: 50\n"
    "      fallback: cache\n"
    "      fault:\n"
    "        delay: {fixed: 100ms, jitter: 20ms, percent: 12.5}\n"
    "        abort: {status: 503}\n"
    "    x-note: {owner: me, count: 2}\n"
    "  db:\n"
    "    image: postgres\n"
    "    mem_limit: 1g\n"
    "    pids_limit: 200\n"
    "    cpus: 1.5\n"
    "    healthcheck: {test: [\"CMD-SHELL\", \"pg_isready\"]}\n"
    "    restart: always\n"
    "    network_mode: host\n"
    "  cache:\n"
    "    image: redis\n"
    "    scale: 2\n"
    "    healthcheck: {disable: true}\n"
    "    network_mode: none\n"
    "    x-skiff: {health: {tcp: {port: 6379}}}\n"
    "volumes:\n"
    "  store:\n"
    "    labels: [a=b]\n"
    "networks:\n"
    "  front:\n"
    "    ipam: {config: [{subnet: 10.9.0.0/24}]}\n"
    "x-top: [1, two]\n"
    "x-skiff: {egress: true, subnet: 10.89.7.0/24}\n";

static const char *env_get(const struct sk_app_service *s, const char *k)
{
	for (size_t i = 0; i < s->environment.n; i++)
		if (!strcmp(s->environment.v[i].key, k))
			return s->environment.v[i].value;
	return NULL;
}

static void test_service_fields(void **state)
{
	struct sk_app_diags d = { 0 };
	_cleanup_(sk_app_freep) struct sk_app *app = load(full, &d);
	const struct sk_app_service *s = sk_app_service_find(app, "api");
	_cleanup_free_ char *conf = sk_path_join(dir, "conf");

	assert_string_equal(app->name, "demo_app");
	assert_int_equal(app->n_services, 3);
	assert_string_equal(app->services[0].name, "api"); /* sorted */
	assert_string_equal(s->image, "registry/api:1.2");
	assert_string_equal(s->entrypoint[1], "--serve");
	assert_string_equal(s->command[0], "run");
	assert_string_equal(s->command[2], "8081"); /* PORT from .env */
	assert_string_equal(s->command[3], "a b");
	assert_null(s->command[4]);
	assert_string_equal(env_get(s, "PLAIN"), "1");
	assert_string_equal(env_get(s, "FROM_ENV"), "env-value");
	assert_null(env_get(s, "MISSING"));
	assert_string_equal(env_get(s, "OVERRIDDEN"), "env");
	assert_string_equal(env_get(s, "FILE_VAR"), "from-file");
	assert_string_equal(env_get(s, "SHADOW"), "from-env/dot"); /* environment wins over .env */
	assert_string_equal(s->working_dir, "/srv");
	assert_string_equal(s->user, "1000:1000");
	assert_string_equal(s->hostname, "api-host");
	assert_int_equal(s->restart, SK_APP_RESTART_ON_FAILURE);
	assert_int_equal(s->restart_max_retries, 5);
	assert_int_equal(s->labels.n, 2);
	assert_int_equal(s->n_ports, 5);
	assert_int_equal(s->ports[0].host_start, 8080);
	assert_int_equal(s->ports[0].container_start, 80);
	assert_string_equal(s->ports[1].host_ip, "::1");
	assert_int_equal(s->ports[1].proto, SK_APP_UDP);
	assert_int_equal(s->ports[2].host_end, 7001);
	assert_int_equal(s->ports[2].container_end, 7001);
	assert_int_equal(s->ports[3].host_start, 0);
	assert_int_equal(s->ports[3].container_start, 3000);
	assert_int_equal(s->ports[4].host_start, 8443);
	assert_string_equal(s->ports[4].name, "https");
	assert_string_equal(s->expose[1], "9200-9201/udp");
	assert_int_equal(s->n_volumes, 5);
	assert_int_equal(s->volumes[0].type, SK_APP_MOUNT_BIND);
	assert_string_equal(s->volumes[0].source, conf);
	assert_true(s->volumes[0].read_only);
	assert_int_equal(s->volumes[1].type, SK_APP_MOUNT_VOLUME);
	assert_string_equal(s->volumes[1].source, "store");
	assert_null(s->volumes[2].source);
	assert_int_equal(s->volumes[3].type, SK_APP_MOUNT_TMPFS);
	assert_true(s->volumes[3].tmpfs_size == 64ULL << 20);
	assert_int_equal(s->volumes[3].tmpfs_mode, 01777);
	assert_string_equal(s->volumes[4].source, "/home/u/src");
	assert_string_equal(s->volumes[4].propagation, "rshared");
	assert_int_equal(s->n_tmpfs, 2);
	assert_true(s->tmpfs[0].tmpfs_size == 16ULL << 20);
	assert_int_equal(s->tmpfs[0].tmpfs_mode, 0755);
	assert_string_equal(s->tmpfs[0].options, "noexec");
	assert_string_equal(s->tmpfs[1].target, "/tmp");
	sk_app_diags_release(&d);
}

static void test_service_fields_2(void **state)
{
	_cleanup_(sk_app_freep) struct sk_app *app = load(full, NULL);
	const struct sk_app_service *s = sk_app_service_find(app, "api");
	const struct sk_app_service *db = sk_app_service_find(app, "db");
	const struct sk_app_service *cache = sk_app_service_find(app, "cache");

	assert_int_equal(s->n_depends_on, 2);
	assert_string_equal(s->depends_on[0].service, "db");
	assert_int_equal(s->depends_on[0].condition, SK_APP_DEP_HEALTHY);
	assert_true(s->depends_on[0].restart && s->depends_on[0].required);
	assert_false(s->depends_on[1].required);
	assert_int_equal(s->healthcheck.kind, SK_APP_HC_SHELL);
	assert_string_equal(s->healthcheck.test[0], "curl -f http://localhost/ || exit 1");
	assert_true(s->healthcheck.interval_ns == 90 * SK_APP_NS_PER_SEC);
	assert_true(s->healthcheck.timeout_ns == 5 * SK_APP_NS_PER_SEC);
	assert_int_equal(s->healthcheck.retries, 4);
	assert_true(s->healthcheck.start_interval_ns == SK_APP_NS_PER_SEC / 2);
	assert_int_equal(s->replicas, 3);
	assert_true(s->limits.cpus == 0.5 && s->limits.memory == 64ULL << 20 &&
		    s->limits.pids == 100);
	assert_true(s->reservations.cpus == 0.25 && s->reservations.memory == 32ULL << 20);
	assert_true(s->restart_policy.set);
	assert_int_equal(s->restart_policy.condition, SK_APP_RP_ON_FAILURE);
	assert_int_equal(s->restart_policy.max_attempts, 3);
	assert_true(s->restart_policy.window_ns == 120 * SK_APP_NS_PER_SEC);
	assert_string_equal(s->cap_add[0], "CAP_NET_ADMIN");
	assert_string_equal(s->cap_add[1], "CAP_SYS_TIME");
	assert_string_equal(s->cap_drop[0], "ALL");
	assert_true(s->read_only && !s->privileged && s->init);
	assert_string_equal(s->stop_signal, "SIGQUIT");
	assert_true(s->stop_grace_period_ns == 60 * SK_APP_NS_PER_SEC);
	assert_int_equal(s->n_ulimits, 2);
	assert_string_equal(s->ulimits[0].name, "nproc");
	assert_true(s->ulimits[0].soft == 512 && s->ulimits[0].hard == 512);
	assert_true(s->ulimits[1].soft == 1024 && s->ulimits[1].hard == 4096);
	assert_string_equal(s->sysctls.v[0].key, "net.core.somaxconn");
	assert_string_equal(s->sysctls.v[0].value, "1024");
	assert_string_equal(s->cpuset, "0-1,3");
	assert_int_equal(s->cpu_shares, 512);
	assert_int_equal(s->oom_score_adj, -500);
	assert_int_equal(s->n_networks, 2);
	assert_string_equal(s->networks[0].aliases[0], "api-alias");
	assert_int_equal(s->x_skiff.probe.kind, SK_APP_PROBE_HTTP);
	assert_string_equal(s->x_skiff.probe.path, "/healthz");
	assert_int_equal(s->x_skiff.probe.status_max, 299);
	assert_false(s->x_skiff.restart_unhealthy);
	assert_string_equal(s->extensions, "{\"x-note\":{\"count\":2,\"owner\":\"me\"}}");
	/* folded service-level limits, scale, defaults */
	assert_true(db->limits.memory == 1ULL << 30 && db->limits.pids == 200 &&
		    db->limits.cpus == 1.5);
	assert_int_equal(db->healthcheck.kind, SK_APP_HC_SHELL);
	assert_true(db->healthcheck.interval_ns == 30 * SK_APP_NS_PER_SEC);
	assert_int_equal(db->healthcheck.retries, 3);
	assert_true(db->stop_grace_period_ns == 10 * SK_APP_NS_PER_SEC);
	assert_int_equal(db->network_mode, SK_APP_NET_HOST);
	assert_int_equal(db->replicas, 1);
	assert_true(db->x_skiff.restart_unhealthy);
	assert_int_equal(cache->replicas, 2);
	assert_int_equal(cache->healthcheck.kind, SK_APP_HC_NONE);
	assert_int_equal(cache->network_mode, SK_APP_NET_NONE);
	assert_int_equal(cache->x_skiff.probe.kind, SK_APP_PROBE_TCP);
	assert_int_equal(cache->x_skiff.probe.port, 6379);
	assert_string_equal(app->volumes[0].labels.v[0].value, "b");
	assert_string_equal(app->networks[0].subnets[0], "10.9.0.0/24");
	assert_string_equal(app->extensions,
			    "{\"x-defaults\":{\"labels\":{\"team\":\"x\",\"tier\":\"back\"},"
			    "\"restart\":\"on-failure:5\"},\"x-top\":[1,\"two\"]}");
}

static void test_start_order(void **state)
{
	_cleanup_(sk_app_freep) struct sk_app *app = load(full, NULL);
	_cleanup_free_ size_t *order = sk_app_start_order(app);

	/* api depends on cache and db: it starts last */
	assert_string_equal(app->services[order[2]].name, "api");
}

static void test_merge_keys(void **state)
{
	const char *y = "x-a: &a {image: a, user: ua, hostname: ha}\n"
			"x-b: &b {image: b, user: ub, working_dir: /b}\n"
			"services:\n"
			"  s1: {<<: [*a, *b], user: own}\n"
			"  s2:\n"
			"    <<: *b\n"
			"    environment: &e {K: v}\n"
			"  s3: {image: c, labels: *e}\n";
	_cleanup_(sk_app_freep) struct sk_app *app = load(y, NULL);
	const struct sk_app_service *s1 = sk_app_service_find(app, "s1"),
				    *s2 = sk_app_service_find(app, "s2");

	assert_string_equal(s1->image, "a"); /* the first merged mapping wins */
	assert_string_equal(s1->user, "own");
	assert_string_equal(s1->hostname, "ha");
	assert_string_equal(s1->working_dir, "/b");
	assert_string_equal(s2->image, "b");
	assert_string_equal(sk_app_service_find(app, "s3")->labels.v[0].value, "v");
}

static void test_warnings(void **state)
{
	const char *y = "version: '3.8'\n"
			"services:\n"
			"  web:\n"
			"    image: busybox:${NOPE}\n"
			"    build: .\n"
			"    logging: {driver: json-file}\n"
			"    x-skiff: {autoscale: {min: 1}, colour: blue}\n"
			"configs: {}\n";
	struct sk_app_diags d = { 0 };
	_cleanup_(sk_app_freep) struct sk_app *app = load(y, &d);

	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n, 7);
	assert_string_equal(d.v[0].msg, "compose.yaml:1:1: warning: version: is obsolete, ignored");
	assert_string_equal(
	    d.v[1].msg, "compose.yaml:4:12: warning: services.web.image: variable \"NOPE\" is not "
			"set, substituting an empty string");
	assert_string_equal(
	    d.v[2].msg, "compose.yaml:5:5: warning: services.web.build is not supported by skiff, "
			"ignored");
	assert_string_equal(d.v[3].msg,
			    "compose.yaml:6:5: warning: services.web.logging is not supported by "
			    "skiff, ignored");
	assert_string_equal(
	    d.v[4].msg,
	    "compose.yaml:7:15: warning: services.web.x-skiff.autoscale: not implemented "
	    "yet, ignored");
	assert_string_equal(
	    d.v[5].msg, "compose.yaml:7:36: warning: services.web.x-skiff.colour: unknown x-skiff "
			"setting, ignored");
	assert_string_equal(
	    d.v[6].msg, "compose.yaml:8:1: warning: configs is not supported by skiff, ignored");
	assert_string_equal(app->services[0].image, "busybox:");
	sk_app_diags_release(&d);
}

static void test_project_name_and_profiles(void **state)
{
	const char *y = "services:\n"
			"  web: {image: a}\n"
			"  debug: {image: b, profiles: [dev]}\n";
	char *prof[] = { "dev", NULL };
	struct sk_app_load_opts o = { .environ = env, .project_name = "My Project!" };
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_app *app = NULL;
	_cleanup_free_ char *norm = sk_app_normalize_name("--X_y.Z");

	assert_string_equal(norm, "x_yz");
	assert_null(sk_app_normalize_name("!!"));
	assert_int_equal(sk_app_parse(y, strlen(y), "compose.yaml", &o, &app, NULL, &err), 0);
	assert_string_equal(app->name, "myproject");
	assert_int_equal(app->n_services, 1);
	sk_app_free(app);
	o.project_name = NULL;
	o.profiles = prof;
	assert_int_equal(sk_app_parse(y, strlen(y), "compose.yaml", &o, &app, NULL, &err), 0);
	free(norm);
	norm = sk_app_normalize_name(strrchr(dir, '/') + 1); /* the directory's name */
	assert_string_equal(app->name, norm);
	assert_int_equal(app->n_services, 2);
	sk_app_free(app);
}

/* Field by field: a field the JSON forgets shows here, padding does not. */
static bool proxy_equal(const struct sk_app_proxy *a, const struct sk_app_proxy *b)
{
	if (a->n_retry_status != b->n_retry_status)
		return false;
	for (size_t i = 0; i < a->n_retry_status; i++)
		if (a->retry_status[i] != b->retry_status[i])
			return false;
	return a->mode == b->mode && a->balance == b->balance && a->internal == b->internal &&
	       a->connect_timeout_ns == b->connect_timeout_ns &&
	       a->try_timeout_ns == b->try_timeout_ns &&
	       a->total_timeout_ns == b->total_timeout_ns &&
	       a->idle_timeout_ns == b->idle_timeout_ns && a->drain_ns == b->drain_ns &&
	       a->retry_attempts == b->retry_attempts && a->retry_on == b->retry_on &&
	       a->retry_backoff_ns == b->retry_backoff_ns &&
	       a->retry_max_backoff_ns == b->retry_max_backoff_ns &&
	       a->retry_budget_percent == b->retry_budget_percent &&
	       a->outlier_consecutive_5xx == b->outlier_consecutive_5xx &&
	       a->outlier_consecutive_failures == b->outlier_consecutive_failures &&
	       a->outlier_base_ejection_ns == b->outlier_base_ejection_ns &&
	       a->outlier_max_ejection_percent == b->outlier_max_ejection_percent &&
	       a->max_concurrent == b->max_concurrent;
}

static bool fault_equal(const struct sk_app_fault *a, const struct sk_app_fault *b)
{
	return a->delay_ns == b->delay_ns && a->delay_jitter_ns == b->delay_jitter_ns &&
	       a->delay_percent == b->delay_percent && a->abort_status == b->abort_status &&
	       a->abort_percent == b->abort_percent;
}

static void test_json_round_trip(void **state)
{
	_cleanup_(sk_app_freep) struct sk_app *app = load(full, NULL);
	_cleanup_(sk_app_freep) struct sk_app *back = NULL;
	_cleanup_free_ char *j1 = sk_app_to_json(app, false), *j2 = NULL, *yaml = NULL;
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_app_from_json(j1, strlen(j1), &back, &err), 0);
	j2 = sk_app_to_json(back, false);
	assert_string_equal(j1, j2);
	for (size_t i = 0; i < app->n_services; i++) {
		const struct sk_app_skiff_service *a = &app->services[i].x_skiff,
						  *b = &back->services[i].x_skiff;
		assert_true(proxy_equal(&a->proxy, &b->proxy));
		assert_true(fault_equal(&a->fault, &b->fault));
		assert_true(a->fallback ? b->fallback && !strcmp(a->fallback, b->fallback)
					: !b->fallback);
	}
	assert_true(back->x_skiff.egress);
	assert_string_equal(back->x_skiff.subnet, "10.89.7.0/24");
	for (size_t i = 0; i < app->n_services; i++) {
		_cleanup_free_ char *h1 = sk_app_service_hash(&app->services[i]);
		_cleanup_free_ char *h2 = sk_app_service_hash(&back->services[i]);
		assert_string_equal(h1, h2);
		assert_int_equal(strlen(h1), 64);
	}
	yaml = sk_app_to_yaml(app, &err);
	assert_non_null(strstr(yaml, "\n  api:\n    cap_add:\n    - CAP_NET_ADMIN\n"));
	assert_non_null(strstr(yaml, "interval: \"1m30s\"\n"));
}

static void test_json_errors(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_app *app = NULL;
	const char *bad =
	    "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"replicas\":\"3\"}}}";
	const char *bad2 = "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"stop_grace_"
			   "period\":\"soon\"}}}";

	assert_int_equal(sk_app_from_json(bad, strlen(bad), &app, &err), -EINVAL);
	assert_string_equal(err->msg, "services.web.replicas: an integer");
	sk_error_free(err);
	err = NULL;
	assert_int_equal(sk_app_from_json(bad2, strlen(bad2), &app, &err), -EINVAL);
	assert_string_equal(err->msg, "services.web.stop_grace_period: invalid duration");
	sk_error_free(err);
	err = NULL;
	assert_int_equal(sk_app_from_json("[", 1, &app, &err), -EINVAL);
	assert_null(app);
}

static void test_xskiff_proxy_fault(void **state)
{
	_cleanup_(sk_app_freep) struct sk_app *app = load(full, NULL);
	const struct sk_app_skiff_service *x = &sk_app_service_find(app, "api")->x_skiff;
	const struct sk_app_proxy *px = &x->proxy;
	const int64_t ms = SK_APP_NS_PER_SEC / 1000;

	assert_int_equal(px->mode, SK_APP_PROXY_HTTP);
	assert_int_equal(px->balance, SK_APP_LB_LEAST_REQUEST);
	assert_true(px->internal);
	assert_true(px->connect_timeout_ns == SK_APP_NS_PER_SEC);
	assert_true(px->try_timeout_ns == 2 * SK_APP_NS_PER_SEC);
	assert_true(px->total_timeout_ns == 10 * SK_APP_NS_PER_SEC);
	assert_true(px->idle_timeout_ns == 60 * SK_APP_NS_PER_SEC);
	assert_int_equal(px->max_concurrent, 100);
	assert_true(px->drain_ns == 2 * SK_APP_NS_PER_SEC);
	assert_int_equal(px->retry_attempts, 3);
	assert_int_equal(px->retry_on, SK_APP_RETRY_CONNECT | SK_APP_RETRY_RESET |
					   SK_APP_RETRY_TIMEOUT | SK_APP_RETRY_STATUS);
	/* sorted, the duplicate 502 dropped, "503" as a string accepted */
	assert_int_equal(px->n_retry_status, 3);
	assert_int_equal(px->retry_status[0], 502);
	assert_int_equal(px->retry_status[1], 503);
	assert_int_equal(px->retry_status[2], 504);
	assert_true(px->retry_backoff_ns == 25 * ms && px->retry_max_backoff_ns == 250 * ms);
	assert_true(px->retry_budget_percent == 20.0);
	assert_int_equal(px->outlier_consecutive_5xx, 7);
	assert_int_equal(px->outlier_consecutive_failures, 0);
	assert_true(px->outlier_base_ejection_ns == 30 * SK_APP_NS_PER_SEC);
	assert_int_equal(px->outlier_max_ejection_percent, 50);
	assert_string_equal(x->fallback, "cache");
	assert_true(x->fault.delay_ns == 100 * ms && x->fault.delay_jitter_ns == 20 * ms);
	assert_true(x->fault.delay_percent == 12.5);
	assert_int_equal(x->fault.abort_status, 503);
	assert_true(x->fault.abort_percent == 100.0); /* default when status is set */
	assert_true(app->x_skiff.egress);
	assert_string_equal(app->x_skiff.subnet, "10.89.7.0/24");
}

static void test_xskiff_defaults(void **state)
{
	const char *y = "services:\n"
			"  web:\n"
			"    image: a\n"
			"    ports: [\"80\"]\n"
			"    x-skiff:\n"
			"      proxy: {mode: tcp, retries: {budget: 35}}\n"
			"      fault: {delay: {fixed: 1s}}\n"
			"  db: {image: b}\n";
	_cleanup_(sk_app_freep) struct sk_app *app = load(y, NULL);
	const struct sk_app_skiff_service *web = &sk_app_service_find(app, "web")->x_skiff;
	const struct sk_app_skiff_service *db = &sk_app_service_find(app, "db")->x_skiff;

	assert_int_equal(web->proxy.mode, SK_APP_PROXY_TCP);
	assert_true(web->proxy.retry_budget_percent == 35.0);
	assert_true(web->fault.delay_ns == SK_APP_NS_PER_SEC);
	assert_true(web->fault.delay_percent == 100.0); /* default when fixed is set */
	assert_int_equal(web->fault.abort_status, 0);
	assert_true(web->fault.abort_percent == 0.0);
	/* a service without x-skiff: the proxy defaults, no fault, no fallback */
	assert_int_equal(db->proxy.mode, SK_APP_PROXY_HTTP);
	assert_int_equal(db->proxy.balance, SK_APP_LB_ROUND_ROBIN);
	assert_false(db->proxy.internal);
	assert_int_equal(db->proxy.retry_attempts, 2);
	assert_int_equal(db->proxy.retry_on, SK_APP_RETRY_CONNECT | SK_APP_RETRY_RESET);
	assert_int_equal(db->proxy.n_retry_status, 0);
	assert_int_equal(db->proxy.outlier_consecutive_5xx, 5);
	assert_int_equal(db->proxy.outlier_consecutive_failures, 5);
	assert_true(db->proxy.connect_timeout_ns == 0 && db->proxy.try_timeout_ns == 0 &&
		    db->proxy.total_timeout_ns == 0 && db->proxy.idle_timeout_ns == 0 &&
		    db->proxy.retry_backoff_ns == 0 && db->proxy.retry_max_backoff_ns == 0 &&
		    db->proxy.retry_budget_percent == 0 && db->proxy.max_concurrent == 0 &&
		    db->proxy.outlier_base_ejection_ns == 0 &&
		    db->proxy.outlier_max_ejection_percent == 0);
	assert_true(db->fault.delay_ns == 0 && db->fault.delay_percent == 0 &&
		    db->fault.abort_status == 0 && db->fault.abort_percent == 0);
	assert_null(db->fallback);
	assert_false(app->x_skiff.egress);
	assert_null(app->x_skiff.subnet);
}

static void test_xskiff_warnings(void **state)
{
	const char *y = "services:\n"
			"  web:\n"
			"    image: a\n"
			"    x-skiff: {proxy: {internal: true}, fallback: spare}\n"
			"  spare: {image: b, expose: [\"80\"], profiles: [dev]}\n"
			"x-skiff: {proxy: {}, colour: blue}\n";
	struct sk_app_diags d = { 0 };
	_cleanup_(sk_app_freep) struct sk_app *app = load(y, &d);

	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n, 5);
	assert_string_equal(
	    d.v[0].msg, "compose.yaml: warning: services.web.x-skiff.fallback: \"spare\" is not "
			"in an active profile, ignored");
	assert_string_equal(
	    d.v[1].msg, "compose.yaml:4:15: warning: services.web.x-skiff.proxy: has no effect: "
			"the service has no ports or expose for the proxy to serve");
	assert_string_equal(d.v[2].msg,
			    "compose.yaml:4:40: warning: services.web.x-skiff.fallback: has no "
			    "effect: the service has no ports or expose for the proxy to serve");
	assert_string_equal(
	    d.v[3].msg, "compose.yaml:6:11: warning: x-skiff.proxy: not implemented yet, ignored");
	assert_string_equal(
	    d.v[4].msg,
	    "compose.yaml:6:22: warning: x-skiff.colour: unknown x-skiff setting, ignored");
	assert_int_equal(app->n_services, 1);
	assert_null(app->services[0].x_skiff.fallback); /* its target is not running */
	assert_true(app->services[0].x_skiff.proxy.internal);
	sk_app_diags_release(&d);
}

static void test_fault_json(void **state)
{
	const char *text =
	    "{\"delay\": {\"fixed\": \"100ms\", \"jitter\": \"20ms\", \"percent\": 50},"
	    " \"abort\": {\"status\": 503, \"percent\": 10}}";
	json_t *j = json_loads(text, 0, NULL), *back;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_app_fault f = { 0 }, g = { 0 };
	_cleanup_free_ char *s = NULL;

	assert_int_equal(sk_app_fault_parse_json(j, &f, &err), 0);
	json_decref(j);
	assert_true(f.delay_ns == 100000000 && f.delay_jitter_ns == 20000000);
	assert_true(f.delay_percent == 50.0 && f.abort_percent == 10.0);
	assert_int_equal(f.abort_status, 503);
	back = sk_app_fault_json(&f);
	s = json_dumps(back, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"abort\":{\"percent\":10,\"status\":503},\"delay\":{\"fixed\":"
			       "\"100ms\",\"jitter\":\"20ms\",\"percent\":50}}");
	assert_int_equal(sk_app_fault_parse_json(back, &g, &err), 0);
	json_decref(back);
	assert_true(fault_equal(&f, &g));
	/* percent defaults to 100; an empty object clears every fault */
	j = json_loads("{\"delay\": {\"fixed\": \"1s\"}, \"abort\": {\"status\": 500}}", 0, NULL);
	assert_int_equal(sk_app_fault_parse_json(j, &f, &err), 0);
	json_decref(j);
	assert_true(f.delay_percent == 100.0 && f.abort_percent == 100.0);
	j = json_object();
	assert_int_equal(sk_app_fault_parse_json(j, &f, &err), 0);
	json_decref(j);
	assert_true(f.delay_ns == 0 && f.delay_percent == 0 && f.abort_status == 0 &&
		    f.abort_percent == 0);
}

static void test_fault_json_errors(void **state)
{
	static const struct {
		const char *json, *error;
	} cases[] = {
		{ "{\"delay\": {\"fixed\": \"1s\", \"percent\": 150}}",
		  "delay.percent: out of range (0..100)" },
		{ "{\"delay\": {\"jitter\": \"1s\"}}", "delay.fixed: missing" },
		{ "{\"delay\": {\"fixed\": \"1s\", \"jitter\": \"2s\"}}",
		  "delay.jitter: must not be longer than fixed" },
		{ "{\"delay\": {\"fixed\": \"soon\"}}", "delay.fixed: invalid duration" },
		{ "{\"abort\": {\"status\": 42}}",
		  "abort.status: out of range (200..599, or 0 for none)" },
		{ "{\"abort\": {\"status\": \"503\"}}", "abort.status: an integer" },
		{ "{\"abort\": {\"status\": 503, \"percent\": \"10%\"}}",
		  "abort.percent: a number" },
		{ "{\"delay\": 5}", "delay: an object" },
		{ "[]", "fault: expected an object" },
	};
	struct sk_app_fault f = { .abort_status = 7 };

	for (size_t i = 0; i < SK_ELEMENTSOF(cases); i++) {
		_cleanup_error_ struct sk_error *err = NULL;
		json_t *j = json_loads(cases[i].json, 0, NULL);
		assert_non_null(j);
		assert_int_equal(sk_app_fault_parse_json(j, &f, &err), -EINVAL);
		json_decref(j);
		assert_string_equal(err->msg, cases[i].error);
		assert_int_equal(f.abort_status, 7); /* untouched on failure */
	}
}

static void test_xskiff_json_errors(void **state)
{
	static const struct {
		const char *json, *error;
	} cases[] = {
		{ "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"x-skiff\":{\"proxy\":{"
		  "\"retries\":{\"on\":[\"reset\",404]}}}}}}",
		  "services.web.x-skiff.proxy.retries.on: unknown retry condition" },
		{ "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"x-skiff\":{\"proxy\":{"
		  "\"mode\":\"udp\"}}}}}",
		  "services.web.x-skiff.proxy.mode: unknown value" },
		{ "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"x-skiff\":{\"fault\":{"
		  "\"abort\":{\"status\":503,\"percent\":200}}}}}}",
		  "services.web.x-skiff.fault.abort.percent: out of range (0..100)" },
		{ "{\"name\":\"x\",\"services\":{},\"x-skiff\":{\"subnet\":\"10.0.0.1/24\"}}",
		  "x-skiff.subnet: invalid subnet (a.b.c.d/n, n 16..28)" },
	};

	for (size_t i = 0; i < SK_ELEMENTSOF(cases); i++) {
		_cleanup_error_ struct sk_error *err = NULL;
		struct sk_app *app = NULL;
		assert_int_equal(sk_app_from_json(cases[i].json, strlen(cases[i].json), &app, &err),
				 -EINVAL);
		assert_string_equal(err->msg, cases[i].error);
		assert_null(app);
	}
}

static void test_hash_tracks_changes(void **state)
{
	const char *a = "services: {web: {image: a, deploy: {replicas: 1}}}\n";
	const char *b = "services: {web: {image: a, deploy: {replicas: 5}, depends_on: []}}\n";
	const char *c = "services: {web: {image: a, environment: [X=1]}}\n";
	const char *d = "services: {web: {image: a, expose: [80], x-skiff: {proxy: {timeout: 2s},"
			" fault: {abort: {status: 503}}}}}\n";
	const char *e = "services: {web: {image: a, expose: [80]}}\n";
	_cleanup_(sk_app_freep) struct sk_app *A = load(a, NULL), *B = load(b, NULL),
					      *C = load(c, NULL), *D = load(d, NULL),
					      *E = load(e, NULL);
	_cleanup_free_ char *ha = sk_app_service_hash(&A->services[0]),
			    *hb = sk_app_service_hash(&B->services[0]);
	_cleanup_free_ char *hc = sk_app_service_hash(&C->services[0]);
	_cleanup_free_ char *hd = sk_app_service_hash(&D->services[0]),
			    *he = sk_app_service_hash(&E->services[0]);

	assert_string_equal(ha, hb); /* scaling does not recreate containers */
	assert_string_not_equal(ha, hc);
	assert_string_equal(hd, he); /* nor do traffic policy and faults (the proxy applies them) */
}

/* The first error of a compose document that must not load. */
static char *load_error(const char *yaml)
{
	struct sk_app_load_opts o = { .environ = env };
	struct sk_error *err = NULL;
	struct sk_app *app = NULL;
	char *msg;

	if (sk_app_parse(yaml, strlen(yaml), "compose.yaml", &o, &app, NULL, &err) == 0)
		fail_msg("loaded: %s", yaml);
	msg = sk_strdup(err->msg);
	sk_error_free(err);
	return msg;
}

static void write_scratch(const char *name, const char *text)
{
	_cleanup_free_ char *p = sk_path_join(dir, name);

	assert_int_equal(sk_write_file_atomic(p, text, strlen(text), 0644, false), 0);
}

static void test_security_opt(void **state)
{
	const char *y = "services:\n"
			"  web:\n"
			"    image: a\n"
			"    security_opt:\n"
			"      - seccomp:unconfined\n"
			"      - no-new-privileges:false\n"
			"      - apparmor=docker-default\n"
			"      - label:disable\n"
			"      - systempaths=unconfined\n"
			"  db:\n"
			"    image: a\n"
			"    security_opt: [no-new-privileges, seccomp=prof.json]\n"
			"  plain: {image: a}\n";
	struct sk_app_diags d = { 0 };
	_cleanup_(sk_app_freep) struct sk_app *app = NULL, *back = NULL;
	_cleanup_free_ char *j1 = NULL, *j2 = NULL, *prof = sk_path_join(dir, "prof.json");
	_cleanup_free_ char *h1 = NULL, *h2 = NULL, *e1 = NULL, *e2 = NULL, *e3 = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	const struct sk_app_service *web, *db, *plain;

	write_scratch("prof.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": "
				   "[{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\"}]}\n");
	app = load(y, &d);
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.v[0].msg, "compose.yaml:7:9: warning: services.web.security_opt[2]: "
					"\"apparmor=docker-default\" is not supported by skiff, "
					"ignored");
	assert_string_equal(d.v[1].msg, "compose.yaml:8:9: warning: services.web.security_opt[3]: "
					"\"label:disable\" is not supported by skiff, ignored");
	assert_string_equal(d.v[2].msg, "compose.yaml:9:9: warning: services.web.security_opt[4]: "
					"\"systempaths=unconfined\" is not supported by skiff, "
					"ignored");
	sk_app_diags_release(&d);
	web = sk_app_service_find(app, "web");
	db = sk_app_service_find(app, "db");
	plain = sk_app_service_find(app, "plain");
	assert_int_equal(web->security.seccomp, SK_APP_SECCOMP_UNCONFINED);
	assert_int_equal(web->security.no_new_privileges, 0);
	assert_int_equal(db->security.seccomp, SK_APP_SECCOMP_PROFILE);
	assert_int_equal(db->security.no_new_privileges, 1);
	assert_string_equal(db->security.seccomp_file, prof);
	assert_string_equal(db->security.seccomp_profile,
			    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":"
			    "\"SCMP_ACT_ERRNO\",\"names\":[\"mkdir\"]}]}");
	assert_int_equal(plain->security.seccomp, SK_APP_SECCOMP_DEFAULT);
	assert_int_equal(plain->security.no_new_privileges, -1);

	/* the daemon gets it all back, profile included */
	j1 = sk_app_to_json(app, false);
	assert_int_equal(sk_app_from_json(j1, strlen(j1), &back, &err), 0);
	j2 = sk_app_to_json(back, false);
	assert_string_equal(j1, j2);
	assert_string_equal(sk_app_service_find(back, "db")->security.seccomp_profile,
			    db->security.seccomp_profile);
	h1 = sk_app_service_hash(db);
	h2 = sk_app_service_hash(plain);
	assert_string_not_equal(h1, h2);

	/* a bad profile is reported with the file's own words */
	write_scratch("bad.json", "{\"defaultAction\": \"SCMP_ACT_NOPE\"}");
	write_scratch("broken.json", "{\"defaultAction\": ");
	e1 = load_error("services:\n  web:\n    image: a\n    security_opt: [seccomp=bad.json]\n");
	assert_string_equal(e1, "compose.yaml:4:20: services.web.security_opt[0]: bad.json: "
				"defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\"");
	e2 = load_error(
	    "services:\n  web:\n    image: a\n    security_opt: [seccomp=broken.json]\n");
	assert_non_null(strstr(e2, "compose.yaml:4:20: services.web.security_opt[0]: broken.json: "
				   "line 1 column "));
	write_scratch("big.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
				  "[{\"names\": [\"x\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
				  "[{\"index\": 0, \"value\": 18446744073709551615, \"op\": "
				  "\"SCMP_CMP_EQ\"}]}]}");
	e3 = load_error("services:\n  web:\n    image: a\n    security_opt: [seccomp=big.json]\n");
	assert_string_equal(e3, "compose.yaml:4:20: services.web.security_opt[0]: seccomp profile "
				"'big.json': a number above 9223372036854775807 is not supported");
}

static void test_security_json_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"security_opt\":"
		  "{\"seccomp\":\"rel.json\",\"seccomp_profile\":{\"defaultAction\":"
		  "\"SCMP_ACT_ALLOW\"}}}}}",
		  "services.web.security_opt.seccomp: expected default, unconfined or an absolute "
		  "path with seccomp_profile" },
		{ "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"security_opt\":"
		  "{\"seccomp\":\"/p.json\",\"seccomp_profile\":{\"defaultAction\":\"KILL\"}}}}}",
		  "services.web.security_opt.seccomp_profile: profile: defaultAction: unknown "
		  "seccomp action \"KILL\"" },
		{ "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"security_opt\":"
		  "{\"no_new_privileges\":\"yes\"}}}}",
		  "services.web.security_opt.no_new_privileges: a boolean" },
	};

	for (size_t i = 0; i < SK_ELEMENTSOF(bad); i++) {
		_cleanup_error_ struct sk_error *err = NULL;
		struct sk_app *app = NULL;

		assert_int_equal(sk_app_from_json(bad[i][0], strlen(bad[i][0]), &app, &err),
				 -EINVAL);
		assert_string_equal(err->msg, bad[i][1]);
	}
}

static void test_secrets(void **state)
{
	const char *y =
	    "services:\n"
	    "  web:\n"
	    "    image: a\n"
	    "    secrets:\n"
	    "      - db_pass\n"
	    "      - {source: token, target: api/token, uid: '1000', gid: '1001', mode: 0440}\n"
	    "      - {source: token, target: /etc/token, mode: 0o400}\n"
	    "      - {source: db_pass, target: other, mode: 0444}\n"
	    "secrets:\n"
	    "  db_pass: {file: ./db.txt}\n"
	    "  token: {environment: FROM_ENV}\n"
	    "  dot: {environment: DOTENV, name: x}\n";
	struct sk_app_diags d = { 0 };
	_cleanup_(sk_app_freep) struct sk_app *app = NULL, *back = NULL;
	_cleanup_free_ char *j1 = NULL, *j2 = NULL, *file = sk_path_join(dir, "db.txt");
	_cleanup_error_ struct sk_error *err = NULL;
	const struct sk_app_secret_ref *r;

	write_scratch("db.txt", "hunter2\n");
	app = load(y, &d);
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[0].msg,
			    "compose.yaml:8:18: warning: services.web.secrets[3]: uid, "
			    "gid and mode do not apply to file secret \"db_pass\" (it is "
			    "bind-mounted as it is), ignored");
	assert_string_equal(d.v[1].msg, "compose.yaml:12:30: warning: secrets.dot.name is not "
					"supported by skiff, ignored");
	sk_app_diags_release(&d);
	assert_int_equal(app->n_secrets, 3);
	assert_string_equal(app->secrets[0].file, file);
	assert_string_equal(app->secrets[1].environment, "FROM_ENV");
	assert_int_equal(app->services[0].n_secrets, 4);
	r = &app->services[0].secrets[0];
	assert_string_equal(r->source, "db_pass");
	assert_string_equal(r->target, "/run/secrets/db_pass");
	assert_string_equal(r->file, file);
	assert_null(r->content);
	assert_int_equal(r->uid, -1);
	assert_int_equal(r->mode, 0400);
	r = &app->services[0].secrets[1];
	assert_string_equal(r->target, "/run/secrets/api/token");
	assert_null(r->file);
	assert_string_equal(r->content, "env-value"); /* read at load time */
	assert_int_equal(r->uid, 1000);
	assert_int_equal(r->gid, 1001);
	assert_int_equal(r->mode, 0440);
	r = &app->services[0].secrets[2];
	assert_string_equal(r->target, "/etc/token");
	assert_int_equal(r->mode, 0400);
	assert_int_equal(r->gid, -1);

	/* the daemon gets the resolved entries back */
	j1 = sk_app_to_json(app, false);
	assert_int_equal(sk_app_from_json(j1, strlen(j1), &back, &err), 0);
	j2 = sk_app_to_json(back, false);
	assert_string_equal(j1, j2);
	assert_string_equal(back->services[0].secrets[1].content, "env-value");
	assert_int_equal(back->n_secrets, 3);
	for (size_t i = 0; i < back->n_secrets; i++)
		if (!strcmp(back->secrets[i].name, "dot"))
			assert_string_equal(back->secrets[i].environment, "DOTENV");
}

static void test_secrets_json_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"secrets\":[{\"source\":"
		  "\"s\",\"target\":\"/run/../etc\",\"content\":\"v\"}]}}}",
		  "services.web.secrets[0].target: expected an absolute path without .." },
		{ "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"secrets\":[{\"source\":"
		  "\"s\",\"target\":\"/s\",\"file\":\"/f\",\"content\":\"v\"}]}}}",
		  "services.web.secrets[0].file: expected an absolute file or a content" },
		{ "{\"name\":\"x\",\"services\":{\"web\":{\"image\":\"a\",\"secrets\":[{\"source\":"
		  "\"s\",\"target\":\"/s\",\"content\":\"v\",\"mode\":4096}]}}}",
		  "services.web.secrets[0].mode: out of range" },
	};

	for (size_t i = 0; i < SK_ELEMENTSOF(bad); i++) {
		_cleanup_error_ struct sk_error *err = NULL;
		struct sk_app *app = NULL;

		assert_int_equal(sk_app_from_json(bad[i][0], strlen(bad[i][0]), &app, &err),
				 -EINVAL);
		assert_string_equal(err->msg, bad[i][1]);
	}
}

static void test_kernel_opts(void **state)
{
	const char *y = "services:\n"
			"  web:\n"
			"    image: a\n"
			"    shm_size: 256m\n"
			"    pid: host\n"
			"    mem_limit: 64m\n"
			"    memswap_limit: 128m\n"
			"    mem_swappiness: 0\n"
			"    oom_kill_disable: true\n"
			"  unl:\n"
			"    image: a\n"
			"    memswap_limit: -1\n"
			"    oom_kill_disable: true\n"
			"  plain: {image: a}\n";
	struct sk_app_diags d = { 0 };
	_cleanup_(sk_app_freep) struct sk_app *app = load(y, &d), *back = NULL;
	_cleanup_free_ char *j1 = sk_app_to_json(app, false), *j2 = NULL;
	_cleanup_free_ char *h1 = NULL, *h2 = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	const struct sk_app_service *web = sk_app_service_find(app, "web"),
				    *unl = sk_app_service_find(app, "unl"),
				    *plain = sk_app_service_find(app, "plain");

	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg,
			    "compose.yaml:13:23: warning: services.unl.oom_kill_disable "
			    "without a memory limit lets the service take all of the "
			    "host's memory");
	sk_app_diags_release(&d);
	assert_int_equal(web->shm_size, 256 << 20);
	assert_true(web->pid_host);
	assert_int_equal(web->memswap_limit, 128 << 20);
	assert_int_equal(web->mem_swappiness, 0);
	assert_true(web->oom_kill_disable);
	assert_int_equal(unl->memswap_limit, -1);
	assert_int_equal(plain->shm_size, 0);
	assert_false(plain->pid_host);
	assert_int_equal(plain->memswap_limit, 0);
	assert_int_equal(plain->mem_swappiness, -1);
	assert_false(plain->oom_kill_disable);
	assert_int_equal(sk_app_from_json(j1, strlen(j1), &back, &err), 0);
	j2 = sk_app_to_json(back, false);
	assert_string_equal(j1, j2);
	assert_int_equal(sk_app_service_find(back, "plain")->mem_swappiness, -1);
	assert_true(sk_app_service_find(back, "web")->pid_host);
	h1 = sk_app_service_hash(web);
	h2 = sk_app_service_hash(plain);
	assert_string_not_equal(h1, h2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_fields),
		cmocka_unit_test(test_service_fields_2),
		cmocka_unit_test(test_start_order),
		cmocka_unit_test(test_merge_keys),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_project_name_and_profiles),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_hash_tracks_changes),
		cmocka_unit_test(test_xskiff_proxy_fault),
		cmocka_unit_test(test_xskiff_defaults),
		cmocka_unit_test(test_xskiff_warnings),
		cmocka_unit_test(test_fault_json),
		cmocka_unit_test(test_fault_json_errors),
		cmocka_unit_test(test_xskiff_json_errors),
		cmocka_unit_test(test_security_opt),
		cmocka_unit_test(test_security_json_errors),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_secrets_json_errors),
		cmocka_unit_test(test_kernel_opts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
