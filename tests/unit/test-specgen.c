/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-specgen.c - the daemon's spec builder (src/lib/daemon/specgen*.c):
 * services parsed from compose YAML plus an image config become config.json
 * documents that are serialized and read back by the runtime's own parser
 * (sk_spec_parse), then checked field by field: process, user resolution in
 * a scratch rootfs, resources, capabilities, mounts and the directories
 * they create, namespaces, rlimits, sysctls, annotations; the stop signal
 * and healthcheck helpers; and the error paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/app.h"
#include "base/util.h"
#include "daemon/specgen.h"
#include "image/image.h"
#include "oci/spec.h"
#include "runtime/seccomp.h"

static char dir[] = "/tmp/sk-specgen-XXXXXX";
static char *rootfs, *volumes, *secrets;
static char *env[] = { "HOME=/home/u", NULL };

static void write_file(const char *rel, const char *content, mode_t mode)
{
	_cleanup_free_ char *p = sk_path_join(dir, rel), *d = sk_strdup(p);

	*strrchr(d, '/') = '\0';
	assert_int_equal(sk_mkdir_p(d, 0755), 0);
	assert_int_equal(sk_write_file_atomic(p, content, strlen(content), mode, false), 0);
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chdir(dir), 0);
	rootfs = sk_path_join(dir, "rootfs");
	volumes = sk_path_join(dir, "volumes");
	secrets = sk_path_join(dir, "secrets");
	write_file("rootfs/etc/passwd",
		   "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", 0644);
	write_file("rootfs/etc/group", "root:x:0:\napp:x:1000:\nwheel:x:10:app\naudio:x:29:app\n",
		   0644);
	write_file("resolv.conf", "nameserver 10.0.0.1\n", 0644);
	write_file("hosts", "127.0.0.1 localhost\n", 0644);
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(chdir("/"), 0);
	free(rootfs);
	free(volumes);
	free(secrets);
	return sk_rm_rf(dir);
}

static struct sk_app *load(const char *yaml)
{
	struct sk_app_load_opts o = { .environ = env };
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_app *app = NULL;

	if (sk_app_parse(yaml, strlen(yaml), "compose.yaml", &o, &app, NULL, &err) < 0)
		fail_msg("compose: %s", err->msg);
	return app;
}

static const char image_json[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\","
    "\"config\":{\"Entrypoint\":[\"/bin/ep\"],\"Cmd\":[\"serve\",\"--fast\"],"
    "\"Env\":[\"PATH=/usr/bin:/bin\",\"A=1\",\"B=image\"],\"WorkingDir\":\"/srv\","
    "\"User\":\"app\",\"StopSignal\":\"SIGINT\","
    "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"curl -f localhost\"],\"Interval\":1000000000,"
    "\"Retries\":5}},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";

static struct sk_image_config *image(const char *json)
{
	struct sk_image_config *c = NULL;
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_image_config_parse(json, strlen(json), "image", &c, &err) < 0)
		fail_msg("image: %s", err->msg);
	return c;
}

static struct sk_specgen_opts opts(void)
{
	return (struct sk_specgen_opts){ .app = "demo",
					 .index = 2,
					 .container_id = "demo-web-2",
					 .rootfs = rootfs,
					 .cgroups_path = "/skiff/demo/demo-web-2",
					 .volumes_dir = volumes,
					 .secrets_dir = secrets };
}

/* Builds the spec of service `name` and reads it back through the runtime's parser. */
static struct sk_spec *build(const char *yaml, const char *name, const struct sk_specgen_opts *o)
{
	_cleanup_(sk_app_freep) struct sk_app *app = load(yaml);
	_cleanup_(sk_image_config_freep) struct sk_image_config *img = image(image_json);
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *s = NULL;
	struct sk_specgen_opts def = opts();
	struct sk_spec *spec = NULL;
	json_t *doc = NULL;

	if (sk_specgen_build(sk_app_service_find(app, name), img, o ? o : &def, &doc, &err) < 0)
		fail_msg("specgen: %s", err->msg);
	s = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	assert_non_null(s);
	if (sk_spec_parse(s, strlen(s), "config.json", &spec, &err) < 0)
		fail_msg("spec: %s\n%s", err->msg, s);
	return spec;
}

/* The error message of building service `name`, or fails when it builds. */
static char *build_error(const char *yaml, const char *name, int *ret_r)
{
	_cleanup_(sk_app_freep) struct sk_app *app = load(yaml);
	_cleanup_(sk_image_config_freep) struct sk_image_config *img = image(image_json);
	struct sk_specgen_opts o = opts();
	struct sk_error *err = NULL;
	json_t *doc = NULL;
	char *msg;
	int r = sk_specgen_build(sk_app_service_find(app, name), img, &o, &doc, &err);

	if (r >= 0)
		fail_msg("service '%s' built", name);
	assert_null(doc);
	msg = sk_strdup(err->msg);
	sk_error_free(err);
	if (ret_r)
		*ret_r = r;
	return msg;
}

static const char *kv_get(const struct sk_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

static const struct sk_mount *mount_at(const struct sk_spec *s, const char *dest)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (!strcmp(s->mounts[i].destination, dest))
			return &s->mounts[i];
	return NULL;
}

static bool has_opt(const struct sk_mount *m, const char *opt)
{
	for (char **o = m->options; o && *o; o++)
		if (!strcmp(*o, opt))
			return true;
	return false;
}

static const struct sk_rlimit *rlimit_of(const struct sk_spec *s, int res)
{
	for (size_t i = 0; i < s->process->n_rlimits; i++)
		if (s->process->rlimits[i].resource == res)
			return &s->process->rlimits[i];
	return NULL;
}

#define CAP(x) (1ull << (x))

/* ---- process ------------------------------------------------------------ */

static void test_process(void **state)
{
	_cleanup_(sk_spec_freep) struct sk_spec *s = build("name: demo\n"
							   "services:\n"
							   "  web:\n"
							   "    image: x\n"
							   "    environment: [B=service, C=3]\n"
							   "    domainname: example.org\n",
							   "web", NULL);
	const struct sk_process *p = s->process;

	assert_false(p->terminal);
	assert_string_equal(p->args[0], "/bin/ep");
	assert_string_equal(p->args[1], "serve");
	assert_string_equal(p->args[2], "--fast");
	assert_null(p->args[3]);
	/* image env, service env merged over it by key, then HOSTNAME */
	assert_string_equal(p->env[0], "PATH=/usr/bin:/bin");
	assert_string_equal(p->env[1], "A=1");
	assert_string_equal(p->env[2], "B=service");
	assert_string_equal(p->env[3], "C=3");
	assert_string_equal(p->env[4], "HOSTNAME=demo-web-2");
	assert_null(p->env[5]);
	assert_string_equal(p->cwd, "/srv");
	/* "app" resolved in the rootfs, with its supplementary groups */
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 1000);
	assert_int_equal(p->user.n_additional_gids, 2);
	assert_int_equal(p->user.additional_gids[0], 10);
	assert_int_equal(p->user.additional_gids[1], 29);
	assert_true(p->no_new_privileges);
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, 0);
	assert_string_equal(s->hostname, "demo-web-2");
	assert_string_equal(s->domainname, "example.org");
	assert_string_equal(s->root_path, rootfs);
	assert_false(s->root_readonly);
	assert_string_equal(s->linux_->cgroups_path, "/skiff/demo/demo-web-2");
	assert_non_null(s->linux_->seccomp); /* test_seccomp_default has the details */
	assert_non_null(s->linux_->masked_paths);
	assert_string_equal(kv_get(s->annotations, s->n_annotations, "skiff.app"), "demo");
	assert_string_equal(kv_get(s->annotations, s->n_annotations, "skiff.service"), "web");
	assert_string_equal(kv_get(s->annotations, s->n_annotations, "skiff.replica"), "2");
	assert_null(kv_get(s->annotations, s->n_annotations, "skiff.init"));
}

static void test_overrides(void **state)
{
	static const char yaml[] = "services:\n"
				   "  cmd:\n"
				   "    image: x\n"
				   "    command: [run, 'a b']\n"
				   "    user: root\n"
				   "    working_dir: /work\n"
				   "    hostname: box\n"
				   "    environment: {HOSTNAME: mine}\n"
				   "  ep:\n"
				   "    image: x\n"
				   "    entrypoint: /bin/other --flag\n"
				   "    user: '4242'\n";
	_cleanup_(sk_spec_freep) struct sk_spec *c = build(yaml, "cmd", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *e = build(yaml, "ep", NULL);

	/* command replaces Cmd only */
	assert_string_equal(c->process->args[0], "/bin/ep");
	assert_string_equal(c->process->args[1], "run");
	assert_string_equal(c->process->args[2], "a b");
	assert_null(c->process->args[3]);
	assert_int_equal(c->process->user.uid, 0);
	assert_string_equal(c->process->cwd, "/work");
	assert_string_equal(c->hostname, "box");
	/* the service's HOSTNAME is kept, not doubled */
	assert_string_equal(c->process->env[3], "HOSTNAME=mine");
	assert_null(c->process->env[4]);
	/* a new entrypoint drops the image's Cmd (docker) */
	assert_string_equal(e->process->args[0], "/bin/other");
	assert_string_equal(e->process->args[1], "--flag");
	assert_null(e->process->args[2]);
	/* a uid without a passwd entry: group root */
	assert_int_equal(e->process->user.uid, 4242);
	assert_int_equal(e->process->user.gid, 0);
}

static void test_init(void **state)
{
	static const char yaml[] = "services:\n  web: {image: x, init: true}\n";
	struct sk_spec *s = build(yaml, "web", NULL);

	/* no tini in the image: the command stays PID 1, and the spec says so */
	assert_string_equal(s->process->args[0], "/bin/ep");
	assert_string_equal(kv_get(s->annotations, s->n_annotations, "skiff.init"), "none");
	sk_spec_free(s);

	write_file("rootfs/usr/bin/tini", "#!/bin/sh\n", 0755);
	s = build(yaml, "web", NULL);
	assert_string_equal(s->process->args[0], "/usr/bin/tini");
	assert_string_equal(s->process->args[1], "--");
	assert_string_equal(s->process->args[2], "/bin/ep");
	assert_string_equal(kv_get(s->annotations, s->n_annotations, "skiff.init"),
			    "/usr/bin/tini");
	sk_spec_free(s);
	assert_int_equal(unlink("rootfs/usr/bin/tini"), 0);
}

/* ---- resources, limits, namespaces --------------------------------------- */

static void test_resources(void **state)
{
	_cleanup_(sk_spec_freep) struct sk_spec *s =
	    build("services:\n"
		  "  web:\n"
		  "    image: x\n"
		  "    cpu_shares: 512\n"
		  "    cpuset: 0-1\n"
		  "    deploy:\n"
		  "      resources:\n"
		  "        limits: {cpus: '1.5', memory: 256m, pids: 100}\n"
		  "        reservations: {memory: 128m}\n",
		  "web", NULL);
	const struct sk_resources *r = &s->linux_->resources;

	assert_true(s->linux_->has_resources);
	assert_true(r->memory.has_limit);
	assert_int_equal(r->memory.limit, 256 << 20);
	assert_true(r->memory.has_reservation);
	assert_int_equal(r->memory.reservation, 128 << 20);
	assert_true(r->cpu.has_quota);
	assert_int_equal(r->cpu.quota, 150000);
	assert_int_equal(r->cpu.period, 100000);
	assert_int_equal(r->cpu.shares, 512);
	assert_string_equal(r->cpu.cpus, "0-1");
	assert_true(r->pids.has_limit);
	assert_int_equal(r->pids.limit, 100);
	/* the default spec's device rule stays: deny all */
	assert_int_equal(r->n_devices, 1);
	assert_false(r->devices[0].allow);
}

static void test_limits_sysctls_labels(void **state)
{
	_cleanup_(sk_spec_freep) struct sk_spec *s =
	    build("services:\n"
		  "  web:\n"
		  "    image: x\n"
		  "    read_only: true\n"
		  "    oom_score_adj: -300\n"
		  "    ulimits: {nofile: {soft: 2048, hard: 4096}, nproc: 100, memlock: -1}\n"
		  "    sysctls: {net.core.somaxconn: 1024, kernel.shmmax: '65536'}\n"
		  "    labels: {tier: front}\n",
		  "web", NULL);
	const struct sk_rlimit *rl;

	assert_true(s->root_readonly);
	assert_int_equal(s->process->oom_score_adj, -300);
	rl = rlimit_of(s, RLIMIT_NOFILE);
	assert_non_null(rl);
	assert_int_equal(rl->soft, 2048);
	assert_int_equal(rl->hard, 4096);
	rl = rlimit_of(s, RLIMIT_NPROC);
	assert_non_null(rl);
	assert_int_equal(rl->soft, 100);
	assert_int_equal(rl->hard, 100);
	rl = rlimit_of(s, RLIMIT_MEMLOCK);
	assert_non_null(rl);
	assert_int_equal(rl->hard, INT64_MAX);
	assert_int_equal(s->process->n_rlimits, 3);
	assert_string_equal(kv_get(s->linux_->sysctl, s->linux_->n_sysctl, "net.core.somaxconn"),
			    "1024");
	assert_string_equal(kv_get(s->linux_->sysctl, s->linux_->n_sysctl, "kernel.shmmax"),
			    "65536");
	assert_string_equal(kv_get(s->annotations, s->n_annotations, "tier"), "front");
}

static void test_default_rlimit(void **state)
{
	_cleanup_(sk_spec_freep) struct sk_spec *s =
	    build("services: {web: {image: x}}\n", "web", NULL);
	const struct sk_rlimit *rl = rlimit_of(s, RLIMIT_NOFILE);

	assert_int_equal(s->process->n_rlimits, 1);
	assert_int_equal(rl->soft, 1024);
	assert_int_equal(rl->hard, 1024);
}

static void test_namespaces(void **state)
{
	static const char yaml[] = "services:\n"
				   "  def: {image: x}\n"
				   "  none: {image: x, network_mode: none}\n"
				   "  host: {image: x, network_mode: host}\n";
	_cleanup_(sk_spec_freep) struct sk_spec *d = build(yaml, "def", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *n = build(yaml, "none", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *h = build(yaml, "host", NULL);
	struct sk_specgen_opts o = opts();
	_cleanup_(sk_spec_freep) struct sk_spec *j = NULL;
	char host[256] = "";

	for (int t = 0; t < SK_NS__COUNT; t++) {
		bool want = t != SK_NS_USER && t != SK_NS_TIME;
		assert_int_equal(sk_spec_namespace(d, (enum sk_ns_type)t) != NULL, want);
		assert_int_equal(sk_spec_namespace(n, (enum sk_ns_type)t) != NULL, want);
		assert_int_equal(sk_spec_namespace(h, (enum sk_ns_type)t) != NULL,
				 want && t != SK_NS_NET);
	}
	assert_null(sk_spec_namespace(d, SK_NS_NET)->path);
	/* host network: the host's name, as docker does */
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(h->hostname, host);

	o.netns_path = "/run/netns/x";
	j = build(yaml, "def", &o);
	assert_string_equal(sk_spec_namespace(j, SK_NS_NET)->path, "/run/netns/x");
}

/* ---- capabilities --------------------------------------------------------- */

static uint64_t docker_default(void)
{
	return CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) | CAP(CAP_FOWNER) |
	       CAP(CAP_MKNOD) | CAP(CAP_NET_RAW) | CAP(CAP_SETGID) | CAP(CAP_SETUID) |
	       CAP(CAP_SETFCAP) | CAP(CAP_SETPCAP) | CAP(CAP_NET_BIND_SERVICE) |
	       CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) | CAP(CAP_AUDIT_WRITE);
}

static uint64_t all_caps(void)
{
	uint64_t m = 0;

	for (int c = 0; c <= sk_cap_last_cap(); c++)
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1)
			m |= CAP(c);
	return m;
}

static void test_caps(void **state)
{
	static const char yaml[] =
	    "services:\n"
	    "  def: {image: x}\n"
	    "  tweak: {image: x, cap_add: [sys_admin], cap_drop: [NET_RAW, "
	    "CAP_MKNOD]}\n"
	    "  min: {image: x, cap_drop: [ALL], cap_add: [NET_BIND_SERVICE]}\n"
	    "  all: {image: x, cap_add: [ALL], cap_drop: [SYS_ADMIN]}\n"
	    "  priv: {image: x, privileged: true}\n";
	_cleanup_(sk_spec_freep) struct sk_spec *d = build(yaml, "def", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *t = build(yaml, "tweak", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *m = build(yaml, "min", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *a = build(yaml, "all", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *p = build(yaml, "priv", NULL);
	const struct sk_caps *c = &d->process->caps;

	assert_true(d->process->has_caps);
	assert_int_equal(c->bounding, docker_default());
	assert_int_equal(c->effective, docker_default());
	assert_int_equal(c->permitted, docker_default());
	assert_true(c->has_inheritable);
	assert_int_equal(c->inheritable, 0);
	assert_true(c->has_ambient);
	assert_int_equal(c->ambient, 0);
	assert_int_equal(t->process->caps.bounding,
			 (docker_default() & ~(CAP(CAP_NET_RAW) | CAP(CAP_MKNOD))) |
			     CAP(CAP_SYS_ADMIN));
	assert_int_equal(m->process->caps.effective, CAP(CAP_NET_BIND_SERVICE));
	assert_int_equal(a->process->caps.permitted, all_caps() & ~CAP(CAP_SYS_ADMIN));

	/* privileged: everything, no masks, every device, privileges may grow */
	assert_int_equal(p->process->caps.bounding, all_caps());
	assert_false(p->process->no_new_privileges);
	assert_null(p->linux_->masked_paths);
	assert_null(p->linux_->readonly_paths);
	assert_int_equal(p->linux_->resources.n_devices, 1);
	assert_true(p->linux_->resources.devices[0].allow);
	assert_false(has_opt(mount_at(p, "/sys"), "ro"));
	assert_true(has_opt(mount_at(d, "/sys"), "ro"));
}

/* ---- seccomp -------------------------------------------------------------- */

/* The rule of `sc` that names `name`, or NULL. */
static const struct sk_seccomp_syscall *rule_for(const struct sk_seccomp *sc, const char *name)
{
	for (size_t i = 0; i < sc->n_syscalls; i++)
		for (char **n = sc->syscalls[i].names; n && *n; n++)
			if (!strcmp(*n, name))
				return &sc->syscalls[i];
	return NULL;
}

static bool blocked_with(const struct sk_seccomp *sc, const char *name, unsigned errno_ret)
{
	const struct sk_seccomp_syscall *r = rule_for(sc, name);

	return r && !strcmp(r->action, "SCMP_ACT_ERRNO") && r->has_errno_ret &&
	       r->errno_ret == errno_ret;
}

/*
 * Loads the filter in a child and returns the errno each call gets (0 when
 * it succeeds): unshare(CLONE_NEWUSER), clone3 with no arguments, keyctl,
 * ptrace(PTRACE_CONT) of a process it does not trace (ESRCH when allowed),
 * clone(CLONE_NEWUSER), clone with no new namespace.
 */
static void kernel_answers(const struct sk_seccomp *sc, int ret[6])
{
	int pfd[2];
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sk_error *err = NULL;
		int out[6];

		close(pfd[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sk_seccomp_load(sc, &err) < 0)
			_exit(2);
		out[0] = syscall(SYS_unshare, CLONE_NEWUSER) < 0 ? errno : 0;
		out[1] = syscall(SYS_clone3, NULL, 0) < 0 ? errno : 0;
		out[2] = syscall(SYS_keyctl, 0, 0, 0, 0, 0) < 0 ? errno : 0;
		out[3] = syscall(SYS_ptrace, 7 /* PTRACE_CONT */, getppid(), 0, 0) < 0 ? errno : 0;
		for (int k = 0; k < 2; k++) {
			long c = syscall(SYS_clone, (k ? 0 : CLONE_NEWUSER) | SIGCHLD, 0, 0, 0, 0);
			if (c == 0)
				_exit(0);
			out[4 + k] = c < 0 ? errno : 0;
			if (c > 0)
				(void)waitpid((pid_t)c, NULL, 0);
		}
		_exit(write(pfd[1], out, sizeof(out)) == sizeof(out) ? 0 : 3);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], ret, 6 * sizeof(int)), 6 * sizeof(int));
	close(pfd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_seccomp_default(void **state)
{
	static const char yaml[] = "services:\n"
				   "  def: {image: x}\n"
				   "  tracer: {image: x, cap_add: [SYS_PTRACE]}\n"
				   "  admin: {image: x, cap_add: [SYS_ADMIN, SYS_TIME]}\n"
				   "  priv: {image: x, privileged: true}\n";
	_cleanup_(sk_spec_freep) struct sk_spec *d = build(yaml, "def", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *t = build(yaml, "tracer", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *a = build(yaml, "admin", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *p = build(yaml, "priv", NULL);
	const struct sk_seccomp *sc = d->linux_->seccomp;
	const struct sk_seccomp_syscall *clone;
	void *ctx = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	int k[6];

	assert_non_null(sc);
	assert_string_equal(sc->default_action, "SCMP_ACT_ALLOW");
#if defined(__x86_64__)
	assert_string_equal(sc->architectures[0], "SCMP_ARCH_X86_64");
	assert_string_equal(sc->architectures[1], "SCMP_ARCH_X86");
	assert_string_equal(sc->architectures[2], "SCMP_ARCH_X32");
#endif
	static const char *const eperm[] = { "mount",
					     "umount2",
					     "unshare",
					     "setns",
					     "pivot_root",
					     "ptrace",
					     "kcmp",
					     "keyctl",
					     "add_key",
					     "bpf",
					     "reboot",
					     "init_module",
					     "settimeofday",
					     "acct",
					     "iopl",
					     "mbind",
					     "open_by_handle_at",
					     "userfaultfd",
					     "_sysctl" };
	for (size_t i = 0; i < SK_ELEMENTSOF(eperm); i++)
		if (!blocked_with(sc, eperm[i], EPERM))
			fail_msg("%s is not answered EPERM", eperm[i]);
	assert_true(blocked_with(sc, "clone3", ENOSYS));
	clone = rule_for(sc, "clone");
	assert_non_null(clone);
	assert_int_equal(clone->n_args, 7);
	for (size_t i = 0; i < clone->n_args; i++) {
		assert_int_equal(clone->args[i].index, 0);
		assert_string_equal(clone->args[i].op, "SCMP_CMP_MASKED_EQ");
		assert_int_equal(clone->args[i].value, clone->args[i].value_two);
	}
	assert_null(rule_for(sc, "read"));
	/* libseccomp takes it (names it does not know are skipped) */
	assert_int_equal(sk_seccomp_build(sc, &ctx, &err), 0);
	sk_seccomp_ctx_free(ctx);

	/* what the kernel answers under it */
	kernel_answers(sc, k);
	assert_int_equal(k[0], EPERM);
	assert_int_equal(k[1], ENOSYS);
	assert_int_equal(k[2], EPERM);
	assert_int_equal(k[3], EPERM);
	assert_int_equal(k[4], EPERM);
	assert_int_equal(k[5], 0);

	/* a capability re-allows what it governs, nothing else */
	sc = t->linux_->seccomp;
	assert_null(rule_for(sc, "ptrace"));
	assert_null(rule_for(sc, "process_vm_readv"));
	assert_null(rule_for(sc, "kcmp"));
	assert_true(blocked_with(sc, "mount", EPERM));
	kernel_answers(sc, k);
	assert_int_equal(k[3], ESRCH); /* the kernel, not the filter, answered */
	assert_int_equal(k[0], EPERM);

	sc = a->linux_->seccomp;
	assert_null(rule_for(sc, "mount"));
	assert_null(rule_for(sc, "unshare"));
	assert_null(rule_for(sc, "clone"));
	assert_null(rule_for(sc, "clone3"));
	assert_null(rule_for(sc, "settimeofday"));
	assert_true(blocked_with(sc, "keyctl", EPERM));
	assert_true(blocked_with(sc, "ptrace", EPERM));

	/* privileged: no filter */
	assert_null(p->linux_->seccomp);
}

static void test_security_opt(void **state)
{
	static const char docker_profile[] =
	    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1,\n"
	    " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": "
	    "[\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]},\n"
	    "  {\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": "
	    "[\"SCMP_ARCH_ARM\"]}],\n"
	    " \"syscalls\": [\n"
	    "  {\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
	    "  {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": "
	    "[\"CAP_SYS_PTRACE\"]}},\n"
	    "  {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", \"excludes\": "
	    "{\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
	    "  {\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": "
	    "{\"minKernel\": \"99.0\"}},\n"
	    "  {\"names\": [\"chmod\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": "
	    "{\"arches\": [\"s390x\"]}, \"comment\": \"s390 only\"}]}\n";
	static const char yaml[] =
	    "services:\n"
	    "  open: {image: x, security_opt: [seccomp=unconfined]}\n"
	    "  nonnp: {image: x, security_opt: [\"no-new-privileges:false\"]}\n"
	    "  privnnp: {image: x, privileged: true, security_opt: [no-new-privileges, "
	    "seccomp=docker.json]}\n"
	    "  dock: {image: x, security_opt: [seccomp=docker.json]}\n"
	    "  dockcaps: {image: x, cap_add: [SYS_PTRACE, SYS_ADMIN], "
	    "security_opt: [seccomp=docker.json]}\n";
	_cleanup_(sk_spec_freep) struct sk_spec *o = NULL, *n = NULL, *p = NULL, *d = NULL,
						*dc = NULL;
	const struct sk_seccomp *sc;

	write_file("docker.json", docker_profile, 0644);
	o = build(yaml, "open", NULL);
	n = build(yaml, "nonnp", NULL);
	p = build(yaml, "privnnp", NULL);
	d = build(yaml, "dock", NULL);
	dc = build(yaml, "dockcaps", NULL);
	assert_null(o->linux_->seccomp);
	assert_true(o->process->no_new_privileges);
	assert_false(n->process->no_new_privileges);
	assert_non_null(n->linux_->seccomp);
	/* privileged wins over a profile (as Docker); no-new-privileges still applies */
	assert_null(p->linux_->seccomp);
	assert_true(p->process->no_new_privileges);

	/* Docker's format: rules whose includes/excludes hold, archMap of this machine */
	sc = d->linux_->seccomp;
	assert_string_equal(sc->default_action, "SCMP_ACT_ERRNO");
	assert_true(sc->has_default_errno_ret);
	assert_non_null(rule_for(sc, "read"));
	assert_non_null(rule_for(sc, "personality"));
	assert_null(rule_for(sc, "ptrace"));
	assert_null(rule_for(sc, "mkdir"));
	assert_null(rule_for(sc, "chmod"));
#if defined(__x86_64__)
	assert_string_equal(sc->architectures[0], "SCMP_ARCH_X86_64");
	assert_string_equal(sc->architectures[1], "SCMP_ARCH_X86");
	assert_string_equal(sc->architectures[2], "SCMP_ARCH_X32");
	assert_null(sc->architectures[3]);
#endif
	sc = dc->linux_->seccomp;
	assert_non_null(rule_for(sc, "ptrace"));
	assert_null(rule_for(sc, "personality"));
	assert_non_null(rule_for(sc, "write"));
}

static void test_secrets(void **state)
{
	static const char yaml[] =
	    "services:\n"
	    "  web:\n"
	    "    image: x\n"
	    "    secrets:\n"
	    "      - pass\n"
	    "      - {source: home, target: /etc/home, mode: 0440, uid: '7', gid: '8'}\n"
	    "      - home\n"
	    "secrets:\n"
	    "  pass: {file: pass.txt}\n"
	    "  home: {environment: HOME}\n";
	_cleanup_free_ char *pass = sk_path_join(dir, "pass.txt");
	_cleanup_free_ char *f1 = sk_path_join(secrets, "1-home"),
			    *f2 = sk_path_join(secrets, "2-home");
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *msg = NULL;
	_cleanup_(sk_spec_freep) struct sk_spec *s = NULL;
	const struct sk_mount *m;
	struct stat st;
	size_t len;

	write_file("pass.txt", "hunter2\n", 0600);
	s = build(yaml, "web", NULL);
	m = mount_at(s, "/run/secrets/pass");
	assert_non_null(m);
	assert_string_equal(m->source, pass);
	assert_true(has_opt(m, "rbind") && has_opt(m, "ro") && has_opt(m, "nosuid") &&
		    has_opt(m, "nodev") && has_opt(m, "noexec"));
	/* environment secrets: a file each, with the entry's owner and mode */
	m = mount_at(s, "/etc/home");
	assert_non_null(m);
	assert_string_equal(m->source, f1);
	assert_true(has_opt(m, "ro"));
	assert_int_equal(sk_read_file(f1, &c1, &len), 0);
	assert_string_equal(c1, "/home/u");
	assert_int_equal(stat(f1, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0440);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(st.st_gid, 8);
	/* defaults: 0400, owned by the container's user (the image's "app") */
	assert_string_equal(mount_at(s, "/run/secrets/home")->source, f2);
	assert_int_equal(sk_read_file(f2, &c2, &len), 0);
	assert_string_equal(c2, "/home/u");
	assert_int_equal(stat(f2, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1000);
	assert_int_equal(stat(secrets, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* a file secret gone between load and launch */
	assert_int_equal(unlink(pass), 0);
	write_file("pass.txt", "x", 0600);
	{
		_cleanup_(sk_app_freep) struct sk_app *app = load(yaml);
		_cleanup_(sk_image_config_freep) struct sk_image_config *img = image(image_json);
		_cleanup_error_ struct sk_error *err = NULL;
		struct sk_specgen_opts o = opts();
		json_t *doc = NULL;

		assert_int_equal(unlink(pass), 0);
		assert_int_equal(
		    sk_specgen_build(sk_app_service_find(app, "web"), img, &o, &doc, &err),
		    -ENOENT);
		msg = sk_strdup(err->msg);
	}
	_cleanup_free_ char *want = sk_asprintf(
	    "service 'web': secrets: 'pass': file '%s': No such file or directory", pass);
	assert_string_equal(msg, want);
}

static void test_kernel_opts(void **state)
{
	static const char yaml[] = "services:\n"
				   "  web:\n"
				   "    image: x\n"
				   "    shm_size: 256m\n"
				   "    pid: host\n"
				   "    mem_limit: 64m\n"
				   "    memswap_limit: 128m\n"
				   "    mem_swappiness: 10\n"
				   "    oom_kill_disable: true\n"
				   "  unl: {image: x, mem_limit: 64m, memswap_limit: -1}\n"
				   "  plain: {image: x}\n";
	_cleanup_(sk_spec_freep) struct sk_spec *w = build(yaml, "web", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *u = build(yaml, "unl", NULL);
	_cleanup_(sk_spec_freep) struct sk_spec *p = build(yaml, "plain", NULL);
	const struct sk_resources *r = &w->linux_->resources;
	const struct sk_mount *shm = mount_at(w, "/dev/shm");
	size_t n_size = 0;

	assert_non_null(shm);
	for (char **o = shm->options; *o; o++)
		n_size += sk_str_has_prefix(*o, "size=");
	assert_int_equal(n_size, 1);
	assert_true(has_opt(shm, "size=268435456"));
	assert_true(has_opt(shm, "nosuid") && has_opt(shm, "mode=1777"));
	assert_true(has_opt(mount_at(p, "/dev/shm"), "size=65536k"));
	/* pid: host: no pid namespace, the others stay */
	assert_null(sk_spec_namespace(w, SK_NS_PID));
	assert_non_null(sk_spec_namespace(w, SK_NS_MNT));
	assert_non_null(sk_spec_namespace(p, SK_NS_PID));
	assert_true(r->memory.has_limit && r->memory.limit == 64 << 20);
	assert_true(r->memory.has_swap && r->memory.swap == 128 << 20);
	assert_true(r->memory.has_swappiness && r->memory.swappiness == 10);
	assert_true(r->memory.has_disable_oom_killer && r->memory.disable_oom_killer);
	assert_true(u->linux_->resources.memory.has_swap);
	assert_int_equal(u->linux_->resources.memory.swap, -1);
	assert_false(p->linux_->resources.memory.has_swap);
	assert_false(p->linux_->resources.memory.has_swappiness);
	assert_false(p->linux_->resources.memory.has_disable_oom_killer);
}

/* ---- mounts --------------------------------------------------------------- */

static void test_mounts(void **state)
{
	struct sk_specgen_opts o = opts();
	_cleanup_free_ char *resolv = sk_path_join(dir, "resolv.conf"),
			    *hosts = sk_path_join(dir, "hosts"), *src = NULL;
	_cleanup_(sk_spec_freep) struct sk_spec *s = NULL;
	const struct sk_mount *m;
	struct stat st;

	o.resolv_conf = resolv;
	o.hosts = hosts;
	write_file("conf/app.ini", "x=1\n", 0644); /* long syntax: the source must exist */
	s = build("services:\n"
		  "  web:\n"
		  "    image: x\n"
		  "    volumes:\n"
		  "      - ./site/html:/usr/share/html:ro\n"
		  "      - db:/var/lib/db\n"
		  "      - /cache\n"
		  "      - {type: volume, source: db, target: /sub, volume: {subpath: a/b}}\n"
		  "      - {type: bind, source: ./conf, target: /conf, bind: {propagation: "
		  "rslave}}\n"
		  "      - {type: tmpfs, target: /scratch, tmpfs: {size: 1m, mode: 1777}}\n"
		  "    tmpfs: ['/run:size=64m,mode=755,exec', /dev/shm]\n"
		  "volumes: {db: {}}\n",
		  "web", &o);

	/* the defaults come first */
	assert_string_equal(s->mounts[0].destination, "/proc");
	/* bind, short syntax: created, read-only, rprivate */
	m = mount_at(s, "/usr/share/html");
	assert_non_null(m);
	src = sk_path_join(dir, "site/html");
	assert_string_equal(m->source, src);
	assert_true(has_opt(m, "rbind") && has_opt(m, "ro") && has_opt(m, "rprivate"));
	assert_int_equal(stat(src, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(src);
	m = mount_at(s, "/conf");
	assert_true(has_opt(m, "rslave") && !has_opt(m, "ro"));
	/* named volume in <volumes_dir>/<app>_<name>, created */
	m = mount_at(s, "/var/lib/db");
	src = sk_path_join(volumes, "demo_db");
	assert_string_equal(m->source, src);
	assert_string_equal(m->type, "bind");
	assert_int_equal(stat(src, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	free(src);
	/* subpath: created inside the volume */
	m = mount_at(s, "/sub");
	src = sk_path_join(volumes, "demo_db/a/b");
	assert_string_equal(m->source, src);
	assert_int_equal(stat(src, &st), 0);
	free(src);
	/* anonymous volume: per replica */
	m = mount_at(s, "/cache");
	src = sk_path_join(volumes, "demo_demo-web-2_anon_1");
	assert_string_equal(m->source, src);
	assert_int_equal(stat(src, &st), 0);
	/* tmpfs: docker's defaults, then the entry's options */
	m = mount_at(s, "/scratch");
	assert_string_equal(m->type, "tmpfs");
	assert_true(has_opt(m, "size=1048576") && has_opt(m, "mode=1777") && has_opt(m, "noexec"));
	m = mount_at(s, "/run");
	assert_true(has_opt(m, "size=67108864") && has_opt(m, "mode=755") && has_opt(m, "exec"));
	/* a service tmpfs replaces the default /dev/shm: only one left */
	m = mount_at(s, "/dev/shm");
	assert_false(has_opt(m, "size=65536k"));
	for (size_t i = 0, n = 0; i < s->n_mounts; i++)
		assert_true((n += !strcmp(s->mounts[i].destination, "/dev/shm")) <= 1);
	/* resolv.conf and hosts, read-only */
	m = mount_at(s, "/etc/resolv.conf");
	assert_string_equal(m->source, resolv);
	assert_true(has_opt(m, "ro"));
	m = mount_at(s, "/etc/hosts");
	assert_string_equal(m->source, hosts);
	/* parents before children: /etc/hosts (depth 2) after /cache (depth 1) */
	for (size_t i = 0; i < s->n_mounts; i++)
		if (!strcmp(s->mounts[i].destination, "/etc/hosts"))
			for (size_t k = i + 1; k < s->n_mounts; k++)
				assert_string_not_equal(s->mounts[k].destination, "/cache");
}

/* ---- stop signal and healthcheck ------------------------------------------ */

static void test_stop_signal(void **state)
{
	_cleanup_(sk_app_freep) struct sk_app *app = load("services:\n"
							  "  a: {image: x}\n"
							  "  b: {image: x, stop_signal: SIGQUIT}\n"
							  "  c: {image: x, stop_signal: '9'}\n");
	_cleanup_(sk_image_config_freep) struct sk_image_config *img = image(image_json);
	struct sk_image_config none = { 0 };
	struct sk_app_service *a = &app->services[0];
	_cleanup_error_ struct sk_error *err = NULL;
	char *saved;
	int sig;

	assert_int_equal(sk_specgen_stop_signal(a, &none, &sig, NULL), 0);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(sk_specgen_stop_signal(a, img, &sig, NULL), 0);
	assert_int_equal(sig, SIGINT);
	assert_int_equal(sk_specgen_stop_signal(&app->services[1], img, &sig, NULL), 0);
	assert_int_equal(sig, SIGQUIT);
	assert_int_equal(sk_specgen_stop_signal(&app->services[2], img, &sig, NULL), 0);
	assert_int_equal(sig, SIGKILL);
	none.stop_signal = "term";
	assert_int_equal(sk_specgen_stop_signal(a, &none, &sig, NULL), 0);
	assert_int_equal(sig, SIGTERM);
	none.stop_signal = "SIGRTMIN+2";
	assert_int_equal(sk_specgen_stop_signal(a, &none, &sig, NULL), 0);
	assert_int_equal(sig, SIGRTMIN + 2);

	none.stop_signal = "SIGBOGUS";
	assert_int_equal(sk_specgen_stop_signal(a, &none, &sig, &err), -EINVAL);
	assert_string_equal(err->msg, "service 'a': image StopSignal: unknown signal 'SIGBOGUS'");
	sk_error_free(err);
	err = NULL;
	saved = a->stop_signal;
	a->stop_signal = "0";
	assert_int_equal(sk_specgen_stop_signal(a, img, &sig, &err), -EINVAL);
	assert_string_equal(err->msg, "service 'a': stop_signal: unknown signal '0'");
	a->stop_signal = saved;
}

static void test_healthcheck(void **state)
{
	_cleanup_(sk_app_freep) struct sk_app *app =
	    load("services:\n"
		 "  inherit: {image: x}\n"
		 "  tuned: {image: x, healthcheck: {interval: 10s, retries: 2}}\n"
		 "  own: {image: x, healthcheck: {test: [CMD, /bin/check, -q], timeout: 3s}}\n"
		 "  off: {image: x, healthcheck: {disable: true}}\n");
	_cleanup_(sk_image_config_freep) struct sk_image_config *img = image(image_json);
	struct sk_image_config bare = { 0 };
	struct sk_app_healthcheck hc;
	_cleanup_error_ struct sk_error *err = NULL;
	char *bad[] = { "HTTP", "x", NULL };
	struct sk_image_healthcheck ih = { .test = bad };

	/* the image's test and interval/retries; Compose's defaults for the rest */
	assert_int_equal(sk_specgen_healthcheck(&app->services[0], img, &hc, NULL), 0);
	assert_int_equal(hc.kind, SK_APP_HC_SHELL);
	assert_string_equal(hc.test[0], "curl -f localhost");
	assert_null(hc.test[1]);
	assert_int_equal(hc.interval_ns, 1000000000);
	assert_int_equal(hc.retries, 5);
	assert_int_equal(hc.timeout_ns, 30 * SK_APP_NS_PER_SEC);
	assert_int_equal(hc.start_period_ns, 0);
	assert_int_equal(hc.start_interval_ns, 5 * SK_APP_NS_PER_SEC);
	sk_strv_free(hc.test);
	/* service fields win over the image's */
	assert_int_equal(sk_specgen_healthcheck(&app->services[3], img, &hc, NULL), 0);
	assert_int_equal(hc.kind, SK_APP_HC_SHELL);
	assert_int_equal(hc.interval_ns, 10 * SK_APP_NS_PER_SEC);
	assert_int_equal(hc.retries, 2);
	sk_strv_free(hc.test);
	/* the service's own test */
	assert_int_equal(sk_specgen_healthcheck(&app->services[2], img, &hc, NULL), 0);
	assert_int_equal(hc.kind, SK_APP_HC_CMD);
	assert_string_equal(hc.test[0], "/bin/check");
	assert_string_equal(hc.test[1], "-q");
	assert_int_equal(hc.timeout_ns, 3 * SK_APP_NS_PER_SEC);
	sk_strv_free(hc.test);
	/* disabled, and inheriting from an image without one */
	assert_int_equal(sk_specgen_healthcheck(&app->services[1], img, &hc, NULL), 0);
	assert_int_equal(hc.kind, SK_APP_HC_NONE);
	assert_null(hc.test);
	assert_int_equal(sk_specgen_healthcheck(&app->services[0], &bare, &hc, NULL), 0);
	assert_int_equal(hc.kind, SK_APP_HC_NONE);
	/* an image test of an unknown kind */
	bare.healthcheck = &ih;
	assert_int_equal(sk_specgen_healthcheck(&app->services[0], &bare, &hc, &err), -EINVAL);
	assert_string_equal(err->msg, "service 'inherit': image Healthcheck: invalid test 'HTTP'");
}

/* ---- errors --------------------------------------------------------------- */

static void test_errors(void **state)
{
	static const char yaml[] =
	    "services:\n"
	    "  nouser: {image: x, user: bob}\n"
	    "  nogroup: {image: x, user: 'app:nobody'}\n"
	    "  badcap: {image: x, cap_add: [CAP_FOO]}\n"
	    "  baddrop: {image: x, cap_drop: [bar]}\n"
	    "  nobind: {image: x, volumes: [{type: bind, source: /nonexistent/sk, target: /x}]}\n"
	    "  escape: {image: x, volumes: [{type: volume, source: v, target: /x, volume: "
	    "{subpath: ../../etc}}]}\n"
	    "  hostnet: {image: x, network_mode: host, sysctls: [net.ipv4.ip_forward=1]}\n"
	    "  badlimit: {image: x, ulimits: {bogus: 1}}\n"
	    "volumes: {v: {}}\n";
	_cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL, *e6 = NULL,
			    *e7 = NULL, *e8 = NULL;
	_cleanup_free_ char *want = NULL;
	int r;

	e1 = build_error(yaml, "nouser", NULL);
	want = sk_asprintf("service 'nouser': user 'bob' not found in %s/etc/passwd", rootfs);
	assert_string_equal(e1, want);
	e2 = build_error(yaml, "nogroup", NULL);
	assert_non_null(strstr(e2, "service 'nogroup': group 'nobody' not found"));
	e3 = build_error(yaml, "badcap", &r);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(e3, "service 'badcap': cap_add: unknown capability 'CAP_FOO'");
	e4 = build_error(yaml, "baddrop", NULL);
	assert_string_equal(e4, "service 'baddrop': cap_drop: unknown capability 'CAP_BAR'");
	e5 = build_error(yaml, "nobind", &r);
	assert_int_equal(r, -ENOENT);
	assert_string_equal(e5, "service 'nobind': volumes: '/x': bind source '/nonexistent/sk': "
				"No such file or directory");
	e6 = build_error(yaml, "escape", NULL);
	assert_string_equal(e6, "service 'escape': volumes: '/x': subpath '../../etc': '.' and "
				"'..' are not allowed");
	e7 = build_error(yaml, "hostnet", NULL);
	assert_string_equal(e7, "service 'hostnet': sysctls: 'net.ipv4.ip_forward' would change "
				"the host (network_mode host)");
	e8 = build_error(yaml, "badlimit", NULL);
	assert_string_equal(e8, "service 'badlimit': ulimits: unknown limit 'bogus'");
}

static void test_errors_network_env(void **state)
{
	_cleanup_free_ char *e1 = NULL, *e2 = NULL;
	int r;

	e1 = build_error("services:\n"
			 "  db: {image: x}\n"
			 "  web: {image: x, network_mode: 'service:db'}\n",
			 "web", &r);
	assert_int_equal(r, -EOPNOTSUPP);
	assert_non_null(strstr(e1, "service 'web': network_mode: service:db needs"));
	/* env_file bytes JSON cannot carry are an error, not an abort */
	write_file("bad.env", "GOOD=1\nBAD=\xff\xfe\n", 0644);
	e2 = build_error("services:\n  web: {image: x, env_file: bad.env}\n", "web", NULL);
	assert_string_equal(e2, "service 'web': environment: 'BAD' is not valid UTF-8");
}

static void test_subpath_symlink(void **state)
{
	_cleanup_free_ char *vol = sk_path_join(volumes, "demo_v"), *link = NULL, *msg = NULL;

	assert_int_equal(sk_mkdir_p(vol, 0755), 0);
	link = sk_path_join(vol, "evil");
	assert_int_equal(symlink("/etc", link), 0);
	msg = build_error("services:\n"
			  "  web: {image: x, volumes: [{type: volume, source: v, target: /x, "
			  "volume: {subpath: evil}}]}\n"
			  "volumes: {v: {}}\n",
			  "web", NULL);
	assert_non_null(strstr(msg, "subpath 'evil': open 'evil'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_limits_sysctls_labels),
		cmocka_unit_test(test_default_rlimit),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_seccomp_default),
		cmocka_unit_test(test_security_opt),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_kernel_opts),
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_stop_signal),
		cmocka_unit_test(test_healthcheck),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_errors_network_env),
		cmocka_unit_test(test_subpath_symlink),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
