/* SPDX-License-Identifier: Apache-2.0 */
/*
 * specgen.h - the daemon's spec builder: one replica of a Compose service
 * plus its image config become the OCI config.json that skiffd writes into
 * the replica's bundle and the runtime library runs.
 *
 * The document starts from sk_spec_default_json(false) and is edited the
 * way Docker/Compose would configure the container.  Choices where skiff
 * differs from Docker, or where Compose leaves room:
 *
 *   init: true    skiff ships no init binary.  When the image has tini
 *                 (/sbin/tini, /usr/bin/tini, /usr/sbin/tini, /bin/tini,
 *                 /usr/local/bin/tini, /tini) the command runs as
 *                 `tini -- CMD`; otherwise the command stays PID 1 of its
 *                 pid namespace and the annotation "skiff.init" says "none"
 *                 so the daemon can warn.  "skiff.init" holds the tini path
 *                 when one is used; it is absent when init is false.
 *   volumes       named: <volumes_dir>/<app>_<name>; anonymous (a target
 *                 only): <volumes_dir>/<app>_<container_id>_anon_<n>, n
 *                 counting the service's anonymous volumes from 1, so a
 *                 recreated replica finds its data again.  Top-level
 *                 `name:`/`external:` of a volume is not consulted (the
 *                 service alone does not carry it).  New volumes start
 *                 empty: Docker's copy of the image's content into a new
 *                 volume and image VOLUME declarations are not done.  A
 *                 subpath is created in the volume when missing and may not
 *                 contain "..", "." or symlinks.
 *   binds         rbind with the given propagation (default rprivate); a
 *                 missing source is created (mode 0755) when
 *                 create_host_path, else an error.  SELinux z/Z are ignored.
 *   secrets       read-only binds (nosuid,nodev,noexec) at their targets
 *                 (/run/secrets/<name> by default): a file secret's host
 *                 file as it is; an environment secret's value written to
 *                 <secrets_dir>/<n>-<name> with the entry's mode (default
 *                 0400) and uid/gid (default the container process's).
 *   tmpfs         nosuid,nodev,noexec (as docker --tmpfs), then ro, size=,
 *                 mode= and the entry's own options, which may undo the
 *                 defaults ("exec").
 *   mounts        the spec's defaults first; a service mount replaces a
 *                 default with the same destination; service mounts are
 *                 ordered by path depth (as Docker does) so /a comes before
 *                 /a/b.
 *   network       o->netns_path given: join it, whatever network_mode says.
 *                 Else host: no network namespace and, without a hostname,
 *                 the host's; none and default: a new namespace (loopback
 *                 only until networking lands); service:/container: need a
 *                 netns_path (error otherwise).  net.* sysctls are refused
 *                 in the host's namespace.
 *   hostname      svc->hostname, else the container id (host network: the
 *                 host's name); HOSTNAME is added to the environment unless
 *                 the image or service sets it.
 *   capabilities  Docker's default set, then cap_add/cap_drop with Docker's
 *                 rules (cap_add ALL: everything but cap_drop; cap_drop ALL:
 *                 only cap_add; else defaults - drop + add).  bounding,
 *                 effective and permitted; inheritable and ambient empty.
 *   privileged    every capability (that the kernel knows and skiffd's own
 *                 bounding set holds, likewise for cap_add ALL), no masked or read-only paths, /sys and
 *                 /sys/fs/cgroup read-write, every device allowed in the
 *                 device cgroup (host device nodes are not copied into /dev),
 *                 noNewPrivileges false (unless security_opt says otherwise).
 *   resources     limits.cpus -> quota/period 100000; reservations.cpus and
 *                 reservations.pids have no OCI equivalent and are ignored.
 *                 memswap_limit -> memory.swap (memory plus swap, -1
 *                 unlimited), mem_swappiness -> memory.swappiness,
 *                 oom_kill_disable -> memory.disableOOMKiller.
 *   shm_size      the size= of the default /dev/shm tmpfs (64 MiB otherwise).
 *   pid: host     no pid namespace: the container sees the host's processes.
 *   ulimits       -1 (unlimited) is written as INT64_MAX: config.json
 *                 numbers are int64 in skiff's parser.
 *   oomScoreAdj   always written (0 by default), so replicas do not inherit
 *                 the daemon's own adjustment.
 *   seccomp       skiff's default profile (specgen-seccomp.c): everything
 *                 allowed but a list of syscalls that reach past the
 *                 container (EPERM; clone3 ENOSYS, clone with CLONE_NEW*
 *                 EPERM), each re-allowed by the capability that governs it
 *                 when the service holds it, as Docker does.  privileged
 *                 or security_opt seccomp=unconfined: no filter.
 *                 seccomp=PATH: that profile (read at load time), Docker's
 *                 includes/excludes/archMap resolved for this replica.
 *   no_new_privs  true unless privileged; security_opt no-new-privileges
 *                 (or :false) sets it either way.
 */
#ifndef SK_DAEMON_SPECGEN_H
#define SK_DAEMON_SPECGEN_H

#include <jansson.h>
#include <stdint.h>

#include "app/app.h"
#include "base/error.h"
#include "image/image.h"

struct sk_specgen_opts {
	const char *app;	  /* app (project) name */
	int64_t index;		  /* replica index, 1-based */
	const char *container_id; /* "<app>-<service>-<index>" */
	const char *rootfs;	  /* mounted overlay root (absolute) */
	const char *cgroups_path; /* e.g. "/skiff/<app>/<id>"; NULL: none in the spec */
	/* named volumes live in <volumes_dir>/<app>_<name>, created (0755) when missing;
	 * NULL: a service with named or anonymous volumes fails */
	const char *volumes_dir;
	/* NULL: per network_mode (host: no net ns; none/default: a new empty one);
	 * else join this path */
	const char *netns_path;
	/* host files bind-mounted read-only at /etc/resolv.conf and /etc/hosts, or NULL */
	const char *resolv_conf, *hosts;
	/* where environment secrets' files are written (created 0700); NULL: such a
	 * secret fails */
	const char *secrets_dir;
};

/*
 * Builds config.json for one replica.  Returns 0 and *ret (a new JSON
 * object, the caller's), or a negative errno with *err naming the service
 * and field ("service 'web': cap_add: unknown capability 'CAP_FOO'").
 * Pure except that it reads the rootfs's /etc/passwd, /etc/group and looks
 * for tini there, creates volume and bind-source directories and writes
 * the files of environment secrets.
 */
int sk_specgen_build(const struct sk_app_service *svc, const struct sk_image_config *img,
		     const struct sk_specgen_opts *o, json_t **ret, struct sk_error **err);

/*
 * The stop signal number: the service's stop_signal, else the image's
 * StopSignal, else SIGTERM.  Accepts "SIGTERM", "TERM", "term", "15",
 * "SIGRTMIN+3".  -EINVAL with *err naming the field for anything else.
 */
int sk_specgen_stop_signal(const struct sk_app_service *svc, const struct sk_image_config *img,
			   int *ret_signo, struct sk_error **err);

/*
 * The healthcheck that applies: the service's, or the image's Healthcheck
 * when the service inherits (kind SK_APP_HC_INHERIT).  Durations and
 * retries merge per field as Docker does: the service's value when it is
 * not Compose's default (interval 30s, timeout 30s, retries 3, start_period
 * 0, start_interval 5s), else the image's when set, else the default.
 * ret->kind is SK_APP_HC_NONE (test NULL) when there is none.  The caller
 * releases ret->test (sk_strv_free).
 */
int sk_specgen_healthcheck(const struct sk_app_service *svc, const struct sk_image_config *img,
			   struct sk_app_healthcheck *ret, struct sk_error **err);

#endif
