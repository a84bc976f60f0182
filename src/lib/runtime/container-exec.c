/* SPDX-License-Identifier: Apache-2.0 */
/*
 * container-exec.c - running another process in a running container.
 *
 * The runtime joins the container's pid namespace for its children, forks,
 * and the child joins the other namespaces of the container's init, enters
 * its cgroup (done by the parent), sets up a terminal if asked, drops
 * privileges with the container's seccomp profile and execs.  The parent
 * learns the outcome from the sync socket: EOF means the exec happened,
 * an error message means it did not.
 */
#include "runtime/container.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/util.h"
#include "cgroup/cgroup.h"
#include "runtime/exec.h"
#include "runtime/finalize.h"
#include "runtime/init.h"
#include "runtime/seccomp.h"
#include "runtime/terminal.h"

static const struct {
	const char *name;
	int flag;
} ns_order[] = {
	{ "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC },	  { "uts", CLONE_NEWUTS },
	{ "net", CLONE_NEWNET },   { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
	{ "mnt", CLONE_NEWNS },
};

struct exec_ctx {
	int ns_fd[SK_ELEMENTSOF(ns_order)]; /* -1: same as ours, not joined */
	bool in_userns;
	const struct sk_process *p;
	const struct sk_spec *spec;
	const struct sk_exec_opts *o;
	int sync_fd, console_fd;
};

static int open_ns(pid_t pid, const char *name, int *ret)
{
	char path[64], self[64];
	struct stat a, b;

	*ret = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
	snprintf(self, sizeof(self), "/proc/self/ns/%s", name);
	if (stat(path, &a) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		return 0;
	*ret = open(path, O_RDONLY | O_CLOEXEC);
	return *ret < 0 ? -errno : 0;
}

static int exec_child_steps(struct exec_ctx *c, struct sk_error **err)
{
	const struct sk_seccomp *sc = c->spec->linux_ ? c->spec->linux_->seccomp : NULL;
	bool nnp_seccomp = sc && c->p->no_new_privileges;
	char go = 0;
	int r;

	if (sk_sync_recv(c->sync_fd, &go, NULL) <= 0 || go != SK_SYNC_GO)
		return sk_error_set(err, EPIPE, "wait for the runtime");
	for (size_t i = 0; i < SK_ELEMENTSOF(ns_order); i++)
		if (c->ns_fd[i] >= 0 && setns(c->ns_fd[i], ns_order[i].flag) < 0)
			return sk_error_errno(err, "join %s namespace", ns_order[i].name);
	if (c->ns_fd[0] >= 0) {
		(void)!setresgid(0, 0, 0);
		(void)!setresuid(0, 0, 0);
	}
	if (c->p->terminal) {
		if ((r = sk_terminal_setup(c->console_fd, c->p, false, err)) < 0)
			return r;
	} else if (setsid() < 0) {
		return sk_error_errno(err, "setsid");
	}
	if (c->console_fd >= 0)
		close(c->console_fd);
	struct sk_finalize_opts fo = { .personality =
					   c->spec->linux_ ? c->spec->linux_->personality : NULL };
	if ((r = sk_finalize_process(c->p, nnp_seccomp ? NULL : sc, &fo, err)) < 0)
		return r;
	_cleanup_free_ char *path = NULL;
	if ((r = sk_exec_resolve(c->p, &path, err)) < 0 || (r = sk_init_apply_lsm(c->p, err)) < 0)
		return r;
	if (nnp_seccomp && (r = sk_seccomp_load(sc, err)) < 0)
		return r;
	if ((r = sk_init_prepare_fds(c->o->preserve_fds)) < 0)
		return sk_error_set(err, -r, "prepare file descriptors");
	return sk_exec_process(c->p, err);
}

_Noreturn static void exec_child(struct exec_ctx *c)
{
	_cleanup_error_ struct sk_error *err = NULL;

	(void)exec_child_steps(c, &err);
	sk_sync_send_error(c->sync_fd, err ? err->msg : "exec failed");
	_exit(1);
}

/* Waits for EOF (exec happened) or an error message on the sync socket. */
static int wait_exec_done(int fd, struct sk_error **err)
{
	_cleanup_free_ char *msg = NULL;
	char m = 0;
	int r = sk_sync_recv(fd, &m, &msg);

	if (r < 0)
		return sk_error_set(err, -r, "wait for exec");
	if (r > 0 && m == SK_SYNC_ERROR)
		return sk_error_set(err, 0, "%s", msg);
	return 0;
}

static int exec_prepare(const struct sk_state *st, struct exec_ctx *c, struct sk_error **err)
{
	for (size_t i = 0; i < SK_ELEMENTSOF(ns_order); i++)
		c->ns_fd[i] = -1;
	for (size_t i = 0; i < SK_ELEMENTSOF(ns_order); i++) {
		int r = open_ns(st->pid, ns_order[i].name, &c->ns_fd[i]);
		if (r < 0)
			return sk_error_set(err, -r, "open %s namespace of pid %d",
					    ns_order[i].name, (int)st->pid);
	}
	return 0;
}

static void exec_release(struct exec_ctx *c)
{
	for (size_t i = 0; i < SK_ELEMENTSOF(ns_order); i++)
		if (c->ns_fd[i] >= 0)
			close(c->ns_fd[i]);
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	if (c->console_fd >= 0)
		close(c->console_fd);
}

static int exec_spawn(const struct sk_state *st, struct exec_ctx *c, struct sk_cgroup *cg,
		      pid_t *ret_pid, struct sk_error **err)
{
	char path[64];
	int sp[2];

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)st->pid);
	_cleanup_close_ int pidns = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (pidns < 0 || own < 0 || setns(pidns, CLONE_NEWPID) < 0)
		return sk_error_errno(err, "join pid namespace of the container");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return sk_error_errno(err, "socketpair");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return sk_error_errno(err, "fork");
	}
	if (pid == 0) {
		close(sp[0]);
		c->sync_fd = sp[1];
		exec_child(c);
	}
	/* Our later children (helpers, sanitizer threads) belong in our own namespace. */
	if (setns(own, CLONE_NEWPID) < 0)
		sk_warn("restore pid namespace: %m");
	close(sp[1]);
	c->sync_fd = sp[0];
	*ret_pid = pid;
	int r = sk_cgroup_enter(cg, pid, err);
	if (r == 0 && (r = sk_sync_send(c->sync_fd, SK_SYNC_GO)) < 0)
		sk_error_set(err, -r, "start exec process");
	if (r == 0)
		r = wait_exec_done(c->sync_fd, err);
	if (r < 0) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
	}
	return r;
}

int sk_container_exec(const struct sk_runtime *rt, const char *id, const struct sk_process *p,
		      const struct sk_exec_opts *o, int *ret_status, struct sk_error **err)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	_cleanup_(sk_spec_freep) struct sk_spec *spec = NULL;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	_cleanup_close_ int pty_sock = -1, master = -1;
	struct exec_ctx c = { .p = p, .o = o, .sync_fd = -1, .console_fd = -1 };
	pid_t pid = 0;
	sigset_t old;
	bool blocked = false;
	int r;

	*ret_status = 0;
	if ((r = sk_state_load(rt->root, id, &st, err)) < 0)
		return r;
	enum sk_status s = sk_state_status(st);
	if (s == SK_STATUS_STOPPED)
		return sk_error_set(err, 0, "cannot exec in a stopped container");
	if (s == SK_STATUS_PAUSED)
		return sk_error_set(err, 0, "cannot exec in a paused container");
	if (p->terminal && !o->console_socket && o->detach)
		return sk_error_set(err, 0,
				    "cannot allocate tty if the runtime will detach without "
				    "setting console socket");
	if ((r = sk_container_spec(st, &spec, err)) < 0 ||
	    (r = sk_cgroup_open(st->cgroup_path, st->cgroup_created, &cg, err)) < 0)
		return r;
	c.spec = spec;
	if ((r = exec_prepare(st, &c, err)) < 0)
		goto out;
	if (p->terminal) {
		if (o->console_socket) {
			c.console_fd = sk_terminal_connect(o->console_socket, err);
		} else {
			int sp[2];
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
				r = sk_error_errno(err, "socketpair");
				goto out;
			}
			pty_sock = sp[0];
			c.console_fd = sp[1];
		}
		if (c.console_fd < 0) {
			r = c.console_fd;
			goto out;
		}
	}
	if (!o->detach) {
		sk_runtime_block_signals(&old);
		blocked = true;
	}
	if ((r = exec_spawn(st, &c, cg, &pid, err)) < 0)
		goto out;
	if (o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		if ((r = sk_write_file_atomic(o->pid_file, buf, (size_t)n, 0644, false)) < 0) {
			sk_error_set(err, -r, "write pid file '%s'", o->pid_file);
			goto out;
		}
	}
	if (o->detach)
		goto out;
	master = pty_sock >= 0 ? sk_terminal_recv_fd(pty_sock, err) : -1;
	if (pty_sock >= 0 && master < 0) {
		r = master;
		goto out;
	}
	blocked = false;
	r = sk_runtime_wait_forward(pid, master, &old, ret_status);
	if (r < 0)
		sk_error_set(err, -r, "wait for exec process");
out:
	if (blocked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	exec_release(&c);
	return r;
}
