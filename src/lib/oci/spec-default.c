/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec-default.c - the documents skiff writes rather than reads: the
 * default config.json of `spec` (runc's defaults, hostname "skiff") with its
 * rootless variant, and the runtime-spec features document (features.md).
 *
 * Both are built as jansson values and dumped with two-space indentation,
 * fields in the order runc prints them.  Neither reads config.json; the
 * features document is fixed at compile time, as features.md asks.
 */
#include "oci/spec-internal.h"

#include <seccomp.h>
#include <string.h>
#include <unistd.h>

#ifndef SK_VERSION
#define SK_VERSION "0.0.0"
#endif

/* jansson reports allocation failure as NULL or -1; skiff aborts on it. */
static json_t *must(json_t *v)
{
	if (!v)
		abort();
	return v;
}

static void set(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, must(v)) < 0)
		abort();
}

static void append(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, must(v)) < 0)
		abort();
}

static json_t *strv_json(const char *const *v)
{
	json_t *arr = must(json_array());

	for (; v && *v; v++)
		append(arr, json_string(*v));
	return arr;
}

static char *dump(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2));

	json_decref(doc);
	if (!s)
		abort();
	return s;
}

static json_t *default_process(void)
{
	static const char *const args[] = { "sh", NULL };
	static const char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
		NULL
	};
	static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					    NULL };
	json_t *p = must(json_object()), *c = must(json_object());

	set(p, "terminal", json_true());
	set(p, "user", json_pack("{s:i, s:i}", "uid", 0, "gid", 0));
	set(p, "args", strv_json(args));
	set(p, "env", strv_json(env));
	set(p, "cwd", json_string("/"));
	set(c, "bounding", strv_json(caps));
	set(c, "effective", strv_json(caps));
	set(c, "permitted", strv_json(caps));
	set(p, "capabilities", c);
	set(p, "rlimits",
	    json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024));
	set(p, "noNewPrivileges", json_true());
	return p;
}

/* One mount; rootless drops uid=/gid= options (no such ids in the userns). */
static json_t *mount_json(const char *dest, const char *type, const char *src,
			  const char *const *opts, bool rootless)
{
	json_t *m = must(json_object()), *o = must(json_array());

	set(m, "destination", json_string(dest));
	set(m, "type", json_string(type));
	set(m, "source", json_string(src));
	for (; opts && *opts; opts++)
		if (!rootless || (strncmp(*opts, "uid=", 4) != 0 && strncmp(*opts, "gid=", 4) != 0))
			append(o, json_string(*opts));
	if (json_array_size(o) > 0)
		set(m, "options", o);
	else
		json_decref(o);
	return m;
}

static json_t *default_mounts(bool rootless)
{
	static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k",
					   NULL };
	static const char *const pts[] = { "nosuid",	"noexec", "newinstance", "ptmxmode=0666",
					   "mode=0620", "gid=5",  NULL };
	static const char *const shm[] = { "nosuid",	"noexec",      "nodev",
					   "mode=1777", "size=65536k", NULL };
	static const char *const mq[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const sys_rbind[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
	json_t *arr = must(json_array());

	append(arr, mount_json("/proc", "proc", "proc", NULL, rootless));
	append(arr, mount_json("/dev", "tmpfs", "tmpfs", dev, rootless));
	append(arr, mount_json("/dev/pts", "devpts", "devpts", pts, rootless));
	append(arr, mount_json("/dev/shm", "tmpfs", "shm", shm, rootless));
	append(arr, mount_json("/dev/mqueue", "mqueue", "mqueue", mq, rootless));
	/* without privilege over the host's network namespace sysfs cannot be mounted */
	if (rootless)
		append(arr, mount_json("/sys", "none", "/sys", sys_rbind, rootless));
	else
		append(arr, mount_json("/sys", "sysfs", "sysfs", sys, rootless));
	append(arr, mount_json("/sys/fs/cgroup", "cgroup", "cgroup", cg, rootless));
	return arr;
}

static json_t *id_mapping_json(unsigned host_id)
{
	return json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t)host_id,
			 "size", 1);
}

static json_t *default_linux(bool rootless)
{
	static const char *const masked[] = {
		"/proc/acpi",
		"/proc/asound",
		"/proc/kcore",
		"/proc/keys",
		"/proc/latency_stats",
		"/proc/timer_list",
		"/proc/timer_stats",
		"/proc/sched_debug",
		"/sys/firmware",
		"/proc/scsi",
		"/sys/devices/virtual/tpm",
		NULL,
	};
	static const char *const readonly[] = { "/proc/bus",	       "/proc/fs",
						"/proc/irq",	       "/proc/sys",
						"/proc/sysrq-trigger", NULL };
	static const char *const ns[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", NULL };
	static const char *const ns_rootless[] = { "pid",    "ipc",  "uts", "mount",
						   "cgroup", "user", NULL };
	json_t *l = must(json_object()), *nss = must(json_array());

	if (rootless) {
		set(l, "uidMappings", id_mapping_json(geteuid()));
		set(l, "gidMappings", id_mapping_json(getegid()));
	} else {
		set(l, "resources",
		    json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm"));
	}
	for (const char *const *n = rootless ? ns_rootless : ns; *n; n++)
		append(nss, json_pack("{s:s}", "type", *n));
	set(l, "namespaces", nss);
	set(l, "maskedPaths", strv_json(masked));
	set(l, "readonlyPaths", strv_json(readonly));
	return l;
}

char *sk_spec_default_json(bool rootless)
{
	json_t *doc = must(json_object());

	set(doc, "ociVersion", json_string(SK_OCI_VERSION));
	set(doc, "process", default_process());
	set(doc, "root", json_pack("{s:s, s:b}", "path", "rootfs", "readonly", 1));
	set(doc, "hostname", json_string("skiff"));
	set(doc, "mounts", default_mounts(rootless));
	set(doc, "linux", default_linux(rootless));
	return dump(doc);
}

static json_t *features_seccomp(void)
{
	static const char *const supported_flags[] = {
		"SECCOMP_FILTER_FLAG_TSYNC",
		"SECCOMP_FILTER_FLAG_LOG",
		"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
		"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
#endif
		NULL,
	};
	json_t *s = must(json_object());

	set(s, "enabled", json_true());
	set(s, "actions", strv_json(sk_oci_seccomp_actions));
	set(s, "operators", strv_json(sk_oci_seccomp_operators));
	set(s, "archs", strv_json(sk_oci_seccomp_archs));
	set(s, "knownFlags", strv_json(sk_oci_seccomp_flags));
	set(s, "supportedFlags", strv_json(supported_flags));
	return s;
}

static json_t *features_linux(void)
{
	json_t *l = must(json_object()), *arr = must(json_array());

	for (int t = 0; t < SK_NS__COUNT; t++)
		append(arr, json_string(sk_ns_type_name((enum sk_ns_type)t)));
	set(l, "namespaces", arr);
	arr = must(json_array());
	for (int c = 0; c <= sk_cap_last_cap(); c++)
		append(arr, json_string(sk_cap_to_name(c)));
	set(l, "capabilities", arr);
	set(l, "cgroup",
	    json_pack("{s:b, s:b, s:b, s:b, s:b}", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0,
		      "rdma", 0));
	set(l, "seccomp", features_seccomp());
	set(l, "apparmor", json_pack("{s:b}", "enabled", 0));
	set(l, "selinux", json_pack("{s:b}", "enabled", 0));
	set(l, "intelRdt", json_pack("{s:b}", "enabled", 0));
	set(l, "mountExtensions", json_pack("{s:{s:b}}", "idmap", "enabled", 0));
	return l;
}

char *sk_spec_features_json(const char *const *mount_options)
{
	json_t *doc = must(json_object());
	char seccomp_version[32];

	snprintf(seccomp_version, sizeof(seccomp_version), "%d.%d.%d", SCMP_VER_MAJOR,
		 SCMP_VER_MINOR, SCMP_VER_MICRO);
	set(doc, "ociVersionMin", json_string("1.0.0"));
	set(doc, "ociVersionMax", json_string(SK_OCI_VERSION));
	set(doc, "hooks", strv_json(sk_oci_hook_names));
	set(doc, "mountOptions", strv_json(mount_options));
	set(doc, "linux", features_linux());
	set(doc, "annotations",
	    json_pack("{s:s, s:s}", "io.github.seccomp.libseccomp.version", seccomp_version,
		      "io.skiff.runtime.version", SK_VERSION));
	return dump(doc);
}
