/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hooks.c - runs OCI hooks: fork+execve, state JSON on stdin, output
 * captured into bounded buffers, timeout by timerfd, exit seen by pidfd.
 *
 * One poll() loop per hook drives the stdin writer, both output readers,
 * the timer and the pidfd; there is no sleeping and no thread.  It is not
 * a supervisor: a hook is waited for synchronously by the caller.
 */
#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

extern char **environ;

struct outbuf {
	char *data;
	size_t len;
	bool truncated;
};

/* One running hook; hook_release() kills and reaps it if still running. */
struct hook_run {
	const struct sk_hook *hook;
	pid_t pid;
	bool reaped;
	int status;
	int pidfd, in_fd, out_fd, err_fd, timer_fd;
	const char *state;
	size_t state_len, state_off;
	struct outbuf out, err;
};

enum { PFD_PID, PFD_OUT, PFD_ERR, PFD_IN, PFD_TIMER, PFD__COUNT };

const char *sk_hook_kind_name(enum sk_hook_kind kind)
{
	return sk_spec_hook_name(kind); /* one table, in the oci module */
}

static void close_fd(int *fd)
{
	sk_closep(fd);
	*fd = -1;
}

static void hook_release(struct hook_run *h)
{
	if (h->pid > 0 && !h->reaped) {
		if (h->pidfd >= 0)
			(void)syscall(SYS_pidfd_send_signal, h->pidfd, SIGKILL, NULL, 0);
		else
			(void)kill(h->pid, SIGKILL);
		while (waitpid(h->pid, &h->status, 0) < 0 && errno == EINTR)
			;
		h->reaped = true;
	}
	close_fd(&h->pidfd);
	close_fd(&h->in_fd);
	close_fd(&h->out_fd);
	close_fd(&h->err_fd);
	close_fd(&h->timer_fd);
	free(h->out.data);
	free(h->err.data);
	h->out.data = h->err.data = NULL;
}

/*
 * In the child: stdio from the pipes, default signal state, execve.  Only
 * async-signal-safe calls.  On failure the errno goes to `errfd`.
 */
_Noreturn static void hook_child(const int fds[3], int errfd, char *const argv[],
				 char *const envp[], const char *path)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int tmp[3], e;

	for (int i = 0; i < 3; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			goto fail;
	for (int i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			goto fail;
	/* An ignored SIGPIPE would survive execve; hooks get the default. */
	(void)sigaction(SIGPIPE, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, envp);
fail:
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

static int make_pipes(int in[2], int out[2], int errp[2], int ex[2])
{
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    pipe2(ex, O_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static void close_pair(int p[2])
{
	close_fd(&p[0]);
	close_fd(&p[1]);
}

/* Reads the exec status pipe: 0 once execve succeeded, else the child's errno. */
static int wait_exec(int fd)
{
	int e = 0;
	ssize_t r;

	do
		r = read(fd, &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)sizeof(e) ? e : 0;
}

static int hook_spawn(struct hook_run *h, const char *kind, struct sk_error **err)
{
	const struct sk_hook *k = h->hook;
	char *const def_argv[] = { k->path, NULL };
	char *const *argv = k->args && k->args[0] ? k->args : def_argv;
	char *const *envp = k->env ? k->env : environ;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, ep[2] = { -1, -1 }, ex[2] = { -1, -1 };
	int r = make_pipes(in, out, ep, ex);

	if (r < 0) {
		sk_error_set(err, -r, "%s hook %s: pipe", kind, k->path);
		goto out;
	}
	h->pid = fork();
	if (h->pid < 0) {
		r = sk_error_errno(err, "%s hook %s: fork", kind, k->path);
		goto out;
	}
	if (h->pid == 0)
		hook_child((int[3]){ in[0], out[1], ep[1] }, ex[1], argv, envp, k->path);
	h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	if (h->pidfd < 0) {
		r = sk_error_errno(err, "%s hook %s: pidfd_open", kind, k->path);
		goto out;
	}
	close_fd(&ex[1]);
	r = wait_exec(ex[0]);
	if (r > 0) {
		r = sk_error_set(err, r, "%s hook %s: exec", kind, k->path);
		goto out;
	}
	h->in_fd = TAKE_FD(in[1]);
	h->out_fd = TAKE_FD(out[0]);
	h->err_fd = TAKE_FD(ep[0]);
	r = 0;
out:
	close_pair(in);
	close_pair(out);
	close_pair(ep);
	close_pair(ex);
	return r;
}

static int hook_arm(struct hook_run *h, const char *kind, struct sk_error **err)
{
	struct itimerspec its = { .it_value = { .tv_sec = h->hook->timeout } };
	int fds[3] = { h->in_fd, h->out_fd, h->err_fd };

	for (int i = 0; i < 3; i++)
		if (fcntl(fds[i], F_SETFL, O_NONBLOCK) < 0)
			return sk_error_errno(err, "%s hook %s: set O_NONBLOCK", kind,
					      h->hook->path);
	if (!h->hook->has_timeout || h->hook->timeout <= 0)
		return 0;
	h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (h->timer_fd < 0 || timerfd_settime(h->timer_fd, 0, &its, NULL) < 0)
		return sk_error_errno(err, "%s hook %s: timerfd", kind, h->hook->path);
	return 0;
}

/* write() with SIGPIPE blocked for this thread; a raised SIGPIPE is consumed. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t set, old, pending;
	bool was_pending;
	ssize_t w;
	int e;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	w = write(fd, buf, len);
	e = errno;
	if (w < 0 && e == EPIPE && !was_pending) {
		struct timespec zero = { 0 };
		(void)sigtimedwait(&set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

/* Feeds stdin; closes it when done or when the hook stopped reading. */
static void feed_stdin(struct hook_run *h)
{
	ssize_t w = write_nosigpipe(h->in_fd, h->state + h->state_off, h->state_len - h->state_off);

	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (w > 0)
		h->state_off += (size_t)w;
	if (w < 0 || h->state_off >= h->state_len)
		close_fd(&h->in_fd);
}

/* Reads what is there; keeps the first SK_HOOK_OUTPUT_MAX bytes. */
static void drain(int *fd, struct outbuf *b)
{
	char chunk[4096];

	for (;;) {
		ssize_t r = read(*fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			close_fd(fd);
			return;
		}
		size_t take = SK_HOOK_OUTPUT_MAX - b->len;
		if ((size_t)r < take)
			take = (size_t)r;
		if (take < (size_t)r)
			b->truncated = true;
		if (!take)
			continue;
		b->data = sk_realloc(b->data, b->len + take + 1);
		memcpy(b->data + b->len, chunk, take);
		b->len += take;
		b->data[b->len] = '\0';
	}
}

static int reap(struct hook_run *h, const char *kind, struct sk_error **err)
{
	while (waitpid(h->pid, &h->status, 0) < 0)
		if (errno != EINTR)
			return sk_error_errno(err, "%s hook %s: waitpid", kind, h->hook->path);
	h->reaped = true;
	if (h->out_fd >= 0)
		drain(&h->out_fd, &h->out);
	if (h->err_fd >= 0)
		drain(&h->err_fd, &h->err);
	return 0;
}

/* Runs the poll loop until the hook exits (0), times out (-ETIMEDOUT) or fails. */
static int hook_wait(struct hook_run *h, const char *kind, struct sk_error **err)
{
	for (;;) {
		struct pollfd p[PFD__COUNT] = {
			[PFD_PID] = { .fd = h->pidfd, .events = POLLIN },
			[PFD_OUT] = { .fd = h->out_fd, .events = POLLIN },
			[PFD_ERR] = { .fd = h->err_fd, .events = POLLIN },
			[PFD_IN] = { .fd = h->in_fd, .events = POLLOUT },
			[PFD_TIMER] = { .fd = h->timer_fd, .events = POLLIN },
		};
		if (poll(p, PFD__COUNT, -1) < 0) {
			if (errno == EINTR)
				continue;
			return sk_error_errno(err, "%s hook %s: poll", kind, h->hook->path);
		}
		if (p[PFD_TIMER].revents) {
			/* hook_release() kills and reaps it. */
			sk_error_set(err, 0, "%s hook %s timed out after %d s", kind, h->hook->path,
				     h->hook->timeout);
			return -ETIMEDOUT;
		}
		if (p[PFD_IN].revents)
			feed_stdin(h);
		if (p[PFD_OUT].revents)
			drain(&h->out_fd, &h->out);
		if (p[PFD_ERR].revents)
			drain(&h->err_fd, &h->err);
		if (p[PFD_PID].revents)
			return reap(h, kind, err);
	}
}

static const char *trimmed(struct outbuf *b)
{
	while (b->len > 0 && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r'))
		b->data[--b->len] = '\0';
	return b->data ? b->data : "";
}

static int hook_result(struct hook_run *h, const char *kind, struct sk_error **err)
{
	const char *path = h->hook->path;
	const char *more = h->out.truncated || h->err.truncated ? " (output truncated)" : "";
	int st = h->status;

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		if (h->out.len || h->err.len)
			sk_debug("%s hook %s: stdout: %s, stderr: %s", kind, path, trimmed(&h->out),
				 trimmed(&h->err));
		return 0;
	}
	if (WIFEXITED(st))
		sk_error_set(err, 0, "%s hook %s failed: exit status %d, stdout: %s, stderr: %s%s",
			     kind, path, WEXITSTATUS(st), trimmed(&h->out), trimmed(&h->err), more);
	else
		sk_error_set(err, 0,
			     "%s hook %s failed: killed by signal %d, stdout: %s, stderr: %s%s",
			     kind, path, WTERMSIG(st), trimmed(&h->out), trimmed(&h->err), more);
	return -ECHILD;
}

static int hook_run_one(const struct sk_hook *hook, const char *kind, const char *state,
			struct sk_error **err)
{
	_cleanup_(hook_release) struct hook_run h = {
		.hook = hook,
		.pidfd = -1,
		.in_fd = -1,
		.out_fd = -1,
		.err_fd = -1,
		.timer_fd = -1,
		.state = state ? state : "",
		.state_len = state ? strlen(state) : 0,
	};
	int r;

	r = hook_spawn(&h, kind, err);
	if (r >= 0)
		r = hook_arm(&h, kind, err);
	if (r >= 0 && h.state_len == 0)
		close_fd(&h.in_fd);
	if (r >= 0)
		r = hook_wait(&h, kind, err);
	if (r >= 0)
		r = hook_result(&h, kind, err);
	return r;
}

int sk_hooks_run(const struct sk_hook *hooks, size_t n, const char *kind_name,
		 const char *state_json, struct sk_error **err)
{
	for (size_t i = 0; i < n; i++) {
		int r = hook_run_one(&hooks[i], kind_name, state_json, err);
		if (r < 0)
			return r;
	}
	return 0;
}
