/* SPDX-License-Identifier: Apache-2.0 */
/*
 * init.c - the container process from clone to execve.
 *
 * Runs in the child that launch.c cloned with the new pid (and user)
 * namespaces.  It joins or creates the remaining namespaces, builds the
 * root filesystem, sets up the terminal, drops privileges and waits for
 * `start` (the exec fifo) or for the launcher (`run`), then execs.  Every
 * failure is sent to the launcher as one message and the process exits;
 * the launcher undoes what was done outside this process.
 */
#include "runtime/init.h"

#include <fcntl.h>
#include <jansson.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/util.h"
#include "runtime/exec.h"
#include "runtime/finalize.h"
#include "runtime/hooks.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"
#include "runtime/terminal.h"

int sk_sync_send(int fd, char msg)
{
	ssize_t n;

	do
		n = send(fd, &msg, 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -errno;
}

int sk_sync_send_go(int fd, pid_t host_pid)
{
	char buf[1 + sizeof(pid_t)] = { SK_SYNC_GO };
	ssize_t n;

	memcpy(buf + 1, &host_pid, sizeof(pid_t));
	do
		n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(buf) ? 0 : -errno;
}

/* Waits for SK_SYNC_GO and returns the host pid it carries. */
static int recv_go(int fd, pid_t *ret, struct sk_error **err)
{
	char buf[1 + sizeof(pid_t)];
	ssize_t n;

	do
		n = recv(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(buf) || buf[0] != SK_SYNC_GO)
		return sk_error_set(err, EPIPE, "wait for the runtime");
	memcpy(ret, buf + 1, sizeof(pid_t));
	return 0;
}

void sk_sync_send_error(int fd, const char *msg)
{
	size_t n = strlen(msg);
	_cleanup_free_ char *buf = sk_malloc0(n + 2);

	buf[0] = SK_SYNC_ERROR;
	memcpy(buf + 1, msg, n);
	(void)!send(fd, buf, n + 1, MSG_NOSIGNAL);
}

int sk_sync_recv(int fd, char *ret, char **ret_msg)
{
	char buf[8192];
	ssize_t n;

	do
		n = recv(fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	buf[n] = '\0';
	*ret = buf[0];
	if (buf[0] == SK_SYNC_ERROR && ret_msg)
		*ret_msg = sk_strdup(buf + 1);
	return 1;
}

static int expect(int fd, char want, struct sk_error **err)
{
	char got = 0;
	int r = sk_sync_recv(fd, &got, NULL);

	if (r <= 0)
		return sk_error_set(err, r < 0 ? -r : EPIPE, "wait for the runtime");
	if (got != want)
		return sk_error_set(err, EPROTO, "unexpected message '%c' from the runtime", got);
	return 0;
}

/* Joins namespaces given by path (the user namespace first). */
static int join_namespaces(const struct sk_spec *spec, struct sk_error **err)
{
	static const enum sk_ns_type order[] = { SK_NS_USER, SK_NS_IPC,	   SK_NS_UTS, SK_NS_NET,
						 SK_NS_MNT,  SK_NS_CGROUP, SK_NS_TIME };

	for (size_t i = 0; i < SK_ELEMENTSOF(order); i++) {
		const struct sk_namespace *ns = sk_spec_namespace(spec, order[i]);
		if (!ns || !ns->path)
			continue;
		_cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sk_error_errno(err, "open %s namespace '%s'",
					      sk_ns_type_name(ns->type), ns->path);
		if (setns(fd, sk_ns_type_clone_flag(ns->type)) < 0)
			return sk_error_errno(err, "join %s namespace '%s'",
					      sk_ns_type_name(ns->type), ns->path);
	}
	return 0;
}

static int setup_timens(const struct sk_spec *spec, struct sk_error **err)
{
	const struct sk_linux *l = spec->linux_;
	_cleanup_free_ char *offsets = sk_strdup("");

	if (unshare(CLONE_NEWTIME) < 0)
		return sk_error_errno(err, "create time namespace");
	for (size_t i = 0; l && i < l->n_time_offsets; i++) {
		char *n = sk_asprintf("%s%s %s\n", offsets, l->time_offsets[i].key,
				      l->time_offsets[i].value);
		free(offsets);
		offsets = n;
	}
	if (*offsets) {
		int r = sk_write_file("/proc/self/timens_offsets", offsets, strlen(offsets));
		if (r < 0)
			return sk_error_set(err, -r, "write time namespace offsets");
	}
	_cleanup_close_ int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0)
		return sk_error_errno(err, "enter time namespace");
	return 0;
}

/*
 * Moves this (single-threaded) process into its cgroup in every v1
 * hierarchy by writing "0" to `tasks`: a thread moving itself skips the
 * global threadgroup lock, and its RCU grace period, that moving another
 * process takes.  cgroup2 was joined at clone (CLONE_INTO_CGROUP).
 */
static int join_own_cgroup(const struct sk_init_args *a, struct sk_error **err)
{
	const struct sk_cgroup_hierarchy *hs;
	size_t n = sk_cgroup_hierarchies(a->cgroup, &hs);

	for (size_t i = 0; i < n; i++) {
		if (hs[i].v2)
			continue;
		_cleanup_free_ char *tasks = sk_path_join(hs[i].dir, "tasks");
		int r = sk_write_file(tasks, "0", 1);
		if (r < 0)
			return sk_error_set(err, -r, "join cgroup '%s'", hs[i].dir);
	}
	return 0;
}

static int loopback_up(struct sk_error **err);

static int setup_namespaces(const struct sk_init_args *a, struct sk_error **err)
{
	int r;

	if (a->new_userns) {
		/* Become root of the new user namespace (when root is mapped). */
		(void)!setresgid(0, 0, 0);
		(void)!setresuid(0, 0, 0);
	}
	if ((r = join_namespaces(a->spec, err)) < 0)
		return r;
	/* cgroup: unshared once the parent has put us in our cgroup */
	int flags = a->new_ns_flags & ~(CLONE_NEWTIME | CLONE_NEWCGROUP);
	if (flags && unshare(flags) < 0)
		return sk_error_errno(err, "create namespaces (flags 0x%x)", flags);
	if ((a->new_ns_flags & CLONE_NEWTIME) && (r = setup_timens(a->spec, err)) < 0)
		return r;
	const struct sk_namespace *net = sk_spec_namespace(a->spec, SK_NS_NET);
	if (net && !net->path && (r = loopback_up(err)) < 0)
		return r;
	return 0;
}

/*
 * A new network namespace starts with `lo` down; runc brings it up (its
 * "loopback" network), and programs expect 127.0.0.1 to work.
 */
static int loopback_up(struct sk_error **err)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return sk_error_errno(err, "socket for lo");
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		r = sk_error_errno(err, "get flags of lo");
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			r = sk_error_errno(err, "bring lo up");
	}
	close(fd);
	return r;
}

static int setup_uts(const struct sk_spec *spec, struct sk_error **err)
{
	const struct sk_namespace *uts = sk_spec_namespace(spec, SK_NS_UTS);

	if ((spec->hostname || spec->domainname) && !uts)
		return sk_error_set(err, 0,
				    "unable to set hostname without a private UTS namespace");
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return sk_error_errno(err, "sethostname '%s'", spec->hostname);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return sk_error_errno(err, "setdomainname '%s'", spec->domainname);
	return 0;
}

/* The state document in-container hooks read; pid as the host sees it. */
static char *state_doc(const struct sk_init_args *a, pid_t host_pid, const char *status)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "ociVersion", SK_OCI_VERSION, "id",
			      a->id, "status", status, "pid", (int)host_pid, "bundle", a->bundle,
			      "rootfs", a->rootfs);
	if (a->spec->n_annotations) {
		json_t *ann = json_object();
		for (size_t i = 0; i < a->spec->n_annotations; i++)
			json_object_set_new(ann, a->spec->annotations[i].key,
					    json_string(a->spec->annotations[i].value));
		json_object_set_new(o, "annotations", ann);
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int run_hooks(const struct sk_init_args *a, pid_t host_pid, enum sk_hook_kind kind,
		     const char *status, struct sk_error **err)
{
	if (a->spec->n_hooks[kind] == 0)
		return 0;
	_cleanup_free_ char *doc = state_doc(a, host_pid, status);
	return sk_hooks_run(a->spec->hooks[kind], a->spec->n_hooks[kind], sk_hook_kind_name(kind),
			    doc, err);
}

/* Waits until the parent has built our cgroup, then does what needed it. */
static int cgroup_ready(void *userdata, struct sk_error **err)
{
	struct sk_init_args *a = userdata;
	int ret = expect(a->sync_fd, SK_SYNC_CGROUP, err);

	if (ret < 0)
		return ret;
	if (a->join_cgroup == SK_JOIN_AT_CGROUP && (ret = join_own_cgroup(a, err)) < 0)
		return ret;
	if ((a->new_ns_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		return sk_error_errno(err, "create cgroup namespace");
	if (a->fifo_path) {
		a->procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		a->fifofd = open(a->fifo_path, O_PATH | O_CLOEXEC);
		if (a->procfd < 0 || a->fifofd < 0)
			return sk_error_errno(err, "open exec fifo '%s'", a->fifo_path);
	}
	return 0;
}

static int build_rootfs(struct sk_init_args *a, pid_t host_pid, struct sk_error **err)
{
	const struct sk_spec *s = a->spec;
	struct sk_rootfs r = {
		.spec = s,
		.rootfs = a->rootfs,
		.cgroup = a->cgroup,
		.userns = a->new_userns || (sk_spec_namespace(s, SK_NS_USER) != NULL),
		.cgroupns = sk_spec_namespace(s, SK_NS_CGROUP) != NULL,
		.no_pivot = a->no_pivot,
		.cgroup_ready_cb = cgroup_ready,
		.userdata = a,
	};
	int ret;

	if (!sk_spec_namespace(s, SK_NS_MNT))
		return sk_error_set(err, 0, "linux.namespaces: a mount namespace is required");
	if ((ret = sk_rootfs_prepare(&r, err)) < 0)
		return ret;
	if (s->n_hooks[SK_HOOK_PRESTART] || s->n_hooks[SK_HOOK_CREATE_RUNTIME]) {
		if ((ret = sk_sync_send(a->sync_fd, SK_SYNC_HOOKS)) < 0)
			return sk_error_set(err, -ret, "ask the runtime to run hooks");
		if ((ret = expect(a->sync_fd, SK_SYNC_HOOKS_DONE, err)) < 0)
			return ret;
	}
	if ((ret = run_hooks(a, host_pid, SK_HOOK_CREATE_CONTAINER, "creating", err)) < 0)
		return ret;
	if ((ret = sk_rootfs_pivot(&r, err)) < 0)
		return ret;
	return sk_rootfs_finish(&r, err);
}

static bool apparmor_enabled(void)
{
	_cleanup_free_ char *v = NULL;
	return sk_read_file("/sys/module/apparmor/parameters/enabled", &v, NULL) == 0 &&
	       v[0] == 'Y';
}

/* Labels for the exec that follows, when that LSM is active; else a debug line. */
int sk_init_apply_lsm(const struct sk_process *p, struct sk_error **err)
{
	int r;

	if (p->apparmor_profile && *p->apparmor_profile) {
		if (!apparmor_enabled()) {
			sk_debug("apparmor is not enabled: ignoring profile '%s'",
				 p->apparmor_profile);
		} else {
			_cleanup_free_ char *cmd = sk_asprintf("exec %s", p->apparmor_profile);
			r = sk_write_file("/proc/self/attr/apparmor/exec", cmd, strlen(cmd));
			if (r == -ENOENT)
				r = sk_write_file("/proc/self/attr/exec", cmd, strlen(cmd));
			if (r < 0)
				return sk_error_set(err, -r, "apply apparmor profile '%s'",
						    p->apparmor_profile);
		}
	}
	if (p->selinux_label && *p->selinux_label) {
		if (access("/sys/fs/selinux/enforce", F_OK) < 0) {
			sk_debug("selinux is not enabled: ignoring label '%s'", p->selinux_label);
		} else if ((r = sk_write_file("/proc/self/attr/exec", p->selinux_label,
					      strlen(p->selinux_label))) < 0) {
			return sk_error_set(err, -r, "apply selinux label '%s'", p->selinux_label);
		}
	}
	return 0;
}

/*
 * Blocks until `start` opens the fifo, through the host /proc held open
 * before pivot.  Returns the write end: it stays open (CLOEXEC) so that
 * `start` sees EOF only when the process execs (or dies).
 */
static int wait_fifo(int procfd, int fifo_path_fd, struct sk_error **err)
{
	char path[64];

	snprintf(path, sizeof(path), "self/fd/%d", fifo_path_fd);
	int fd = openat(procfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return sk_error_errno(err, "open exec fifo");
	if (sk_write_all(fd, "0", 1) < 0) {
		close(fd);
		return sk_error_errno(err, "write exec fifo");
	}
	return fd;
}

int sk_init_prepare_fds(unsigned preserve)
{
	if (syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return -errno;
	for (unsigned i = 0; i < preserve; i++)
		if (fcntl(3 + (int)i, F_SETFD, 0) < 0 && errno != EBADF)
			return -errno;
	return 0;
}

static int init_steps(struct sk_init_args *a, struct sk_error **err)
{
	const struct sk_spec *s = a->spec;
	const struct sk_process *p = s->process;
	bool nnp_seccomp = s->linux_ && s->linux_->seccomp && p->no_new_privileges;
	int ret;

	pid_t host_pid = 0;
	if ((ret = recv_go(a->sync_fd, &host_pid, err)) < 0)
		return ret;
	if (a->join_cgroup == SK_JOIN_AT_GO && (ret = join_own_cgroup(a, err)) < 0)
		return ret;
	if ((ret = setup_namespaces(a, err)) < 0)
		return ret;
	if ((ret = setup_uts(s, err)) < 0 || (ret = sk_rootfs_sysctl(s, err)) < 0)
		return ret;
	if ((ret = build_rootfs(a, host_pid, err)) < 0)
		return ret;
	if (p->terminal) {
		if ((ret = sk_terminal_setup(a->console_fd, p, true, err)) < 0)
			return ret;
	} else if (setsid() < 0) {
		return sk_error_errno(err, "setsid");
	}
	if (a->console_fd >= 0)
		close(a->console_fd);
	if (!a->no_new_keyring &&
	    syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, a->id) < 0 &&
	    errno != ENOSYS && errno != EPERM)
		return sk_error_errno(err, "join session keyring");

	struct sk_finalize_opts fo = { .personality = s->linux_ ? s->linux_->personality : NULL };
	const struct sk_seccomp *sc = s->linux_ ? s->linux_->seccomp : NULL;
	if ((ret = sk_finalize_process(p, nnp_seccomp ? NULL : sc, &fo, err)) < 0)
		return ret;
	_cleanup_free_ char *path = NULL;
	if ((ret = sk_exec_resolve(p, &path, err)) < 0 || (ret = sk_init_apply_lsm(p, err)) < 0)
		return ret;
	if ((ret = sk_sync_send(a->sync_fd, SK_SYNC_READY)) < 0)
		return sk_error_set(err, -ret, "tell the runtime the container is ready");
	a->ready_sent = true;
	if (a->fifo_path)
		ret = wait_fifo(a->procfd, a->fifofd, err); /* fd kept until exec */
	else
		ret = expect(a->sync_fd, SK_SYNC_START, err);
	if (ret < 0)
		return ret;
	if ((ret = run_hooks(a, host_pid, SK_HOOK_START_CONTAINER, "created", err)) < 0)
		return ret;
	if (nnp_seccomp && (ret = sk_seccomp_load(sc, err)) < 0)
		return ret;
	if ((ret = sk_init_prepare_fds(a->preserve_fds)) < 0)
		return sk_error_set(err, -ret, "prepare file descriptors");
	return sk_exec_process(p, err);
}

_Noreturn void sk_init_main(struct sk_init_args *a)
{
	_cleanup_error_ struct sk_error *err = NULL;

	a->procfd = a->fifofd = -1;
	a->ready_sent = false;
	prctl(PR_SET_PDEATHSIG, 0);
	(void)init_steps(a, &err);
	/* Only failures get here. */
	const char *msg = err ? err->msg : "container init failed";
	sk_sync_send_error(a->sync_fd, msg);
	/* After READY nobody reads the socket for `create`: log it ourselves. */
	if (a->fifo_path && a->ready_sent)
		sk_log(SK_LOG_ERROR, "%s", msg);
	_exit(1);
}
