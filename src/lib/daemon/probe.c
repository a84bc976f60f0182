/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe.c - health probes run in forked children, watched by the loop.
 *
 * Parent side: two pipes per probe, read non-blocking by the loop.  The
 * verdict pipe carries one record the child writes with a single write()
 * just before _exit(): a letter ('O' ok, 'F' fail, 'E' error) and a
 * one-line reason.  The output pipe (exec probes only) is the stdout and
 * stderr of the process run in the container; the loop reads it as it
 * comes, keeps SK_PROBE_OUTPUT_MAX bytes and discards the rest, so a
 * chatty check never stalls on a full pipe.  The child's exit (pidfd) ends
 * the probe; a one-shot timer kills it first when it takes too long.
 *
 * Child side: it is a fork of the daemon, so it resets signal handling,
 * becomes its own process group, and does blocking work freely: setns into
 * a network namespace, connect, an HTTP/1.1 GET parsed by base/http.c, or
 * sk_container_exec().  It never returns into the daemon's code.
 *
 * A probe's memory lives until its child is reaped, even after a timeout
 * or cancel, so no zombie is ever left behind while the loop runs.
 */
#include "daemon/probe.h"

#include <arpa/inet.h>
#include <assert.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/http.h"
#include "base/util.h"
#include "runtime/container.h"
#include "runtime/state.h"

#define MS 1000000LL
#define HTTP_HEAD_MAX 16384
#define DRAIN_READS 16 /* reads of the output pipe once the child is gone */

struct sk_probe {
	struct sk_loop *loop;
	int kind;
	pid_t pid;
	int64_t timeout_ns;
	struct sk_loop_child *child; /* until the child is reaped */
	struct sk_loop_timer *timer;
	struct sk_loop_io *out_io;
	int out_fd, res_fd; /* read ends, -1 once closed */
	char out[SK_PROBE_OUTPUT_MAX + 1];
	size_t out_len;
	sk_probe_done_cb cb;
	void *userdata;
	bool finished; /* reported or cancelled: only the reap is left */
};

const char *sk_probe_result_name(enum sk_probe_result r)
{
	switch (r) {
	case SK_PROBE_OK:
		return "ok";
	case SK_PROBE_FAIL:
		return "fail";
	case SK_PROBE_TIMEOUT:
		return "timeout";
	case SK_PROBE_ERROR:
		return "error";
	}
	return "unknown";
}

/* ---- the child ---- */

/* Writes the verdict record with one write() (<= PIPE_BUF: atomic, never blocks). */
_printf_(3, 4) static void verdict(int fd, char kind, const char *fmt, ...)
{
	char buf[SK_PROBE_OUTPUT_MAX];
	va_list ap;
	int n;

	buf[0] = kind;
	va_start(ap, fmt);
	n = vsnprintf(buf + 1, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	(void)!write(fd, buf, (size_t)n + 1);
}

/* A fork of the daemon: default signal handling, nothing blocked, own group, no stdin. */
static void child_reset(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setpgid(0, 0);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		(void)dup2(null, STDIN_FILENO);
		close(null);
	}
}

static void exec_child(const struct sk_probe_spec *s, int out, int res)
{
	_cleanup_(sk_state_freep) struct sk_state *st = NULL;
	_cleanup_(sk_spec_freep) struct sk_spec *spec = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_exec_opts o = { 0 };
	int status = 0;

	if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0) {
		verdict(res, 'E', "dup2: %m");
		return;
	}
	close(out);
	if (sk_state_load(s->runtime_root, s->container_id, &st, &err) < 0 ||
	    sk_container_spec(st, &spec, &err) < 0) {
		verdict(res, 'E', "%s", err->msg);
		return;
	}
	if (!spec->process) {
		verdict(res, 'E', "container '%s' has no process", s->container_id);
		return;
	}
	/* Docker runs the check with the container's env, user and cwd. */
	struct sk_process *p = spec->process;
	sk_strv_free(p->args);
	p->args = sk_strv_copy(s->argv);
	p->terminal = false;
	struct sk_runtime rt = { .root = s->runtime_root, .systemd_cgroup = st->systemd_cgroup };
	if (sk_container_exec(&rt, s->container_id, p, &o, &status, &err) < 0)
		verdict(res, 'E', "%s", err->msg);
	else if (status == 0)
		verdict(res, 'O', "%s", "");
	else
		verdict(res, 'F', "exit status %d", status);
}

static int enter_netns(pid_t pid, int res)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		verdict(res, 'E', "enter network namespace of pid %d: %m", (int)pid);
		return -1;
	}
	return 0;
}

/* Connects to 127.0.0.1:port; -1 after writing the verdict. */
static int tcp_connect(uint16_t port, int res)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		verdict(res, 'E', "socket: %m");
		return -1;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		verdict(res, 'F', "connect: %m");
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads and strictly parses the response head; returns its verdict. */
static void http_exchange(const struct sk_probe_spec *s, int fd, int res)
{
	static const struct sk_http_limits limits = { 4096, 100, HTTP_HEAD_MAX };
	struct sk_http_parser hp;
	struct sk_http_str data;
	char buf[HTTP_HEAD_MAX];
	size_t len = 0, used;
	int lo = s->status_min, hi = s->status_max;
	int n = snprintf(buf, sizeof(buf),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUser-Agent: skiff-probe/1\r\n"
			 "Accept: */*\r\nConnection: close\r\n\r\n",
			 s->path ? s->path : "/", (unsigned)s->port);

	if (sk_write_all(fd, buf, (size_t)n) < 0) {
		verdict(res, 'F', "send request: %m");
		return;
	}
	if (lo == 0 && hi == 0) {
		lo = 200;
		hi = 399;
	}
	sk_http_parser_init(&hp, SK_HTTP_RESPONSE, &limits);
	for (;;) {
		int r = sk_http_parse(&hp, buf, len, &used, &data);
		if (r < 0) {
			verdict(res, 'F', "bad response: %s", sk_http_strerror(r));
			break;
		}
		memmove(buf, buf + used, len - used);
		len -= used;
		if (r == SK_HTTP_HEAD && hp.msg.status >= 200) {
			int st = hp.msg.status;
			verdict(res, st >= lo && st <= hi ? 'O' : 'F', "status %d", st);
			break;
		}
		if (r != SK_HTTP_AGAIN)
			continue; /* a 1xx head and its end: the real response follows */
		if (len == sizeof(buf)) {
			verdict(res, 'F', "response head too large");
			break;
		}
		ssize_t got = read(fd, buf + len, sizeof(buf) - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			verdict(res, 'F', "read response: %m");
			break;
		}
		if (got == 0) {
			verdict(res, 'F', "connection closed before the response");
			break;
		}
		len += (size_t)got;
	}
	sk_http_parser_release(&hp);
}

static void net_child(const struct sk_probe_spec *s, int res)
{
	(void)signal(SIGPIPE, SIG_IGN); /* a peer that hangs up is a failure, not a crash */
	if (s->netns_pid > 0 && enter_netns(s->netns_pid, res) < 0)
		return;
	int fd = tcp_connect(s->port, res);
	if (fd < 0)
		return;
	if (s->kind == SK_PROBE_TCP)
		verdict(res, 'O', "connected to 127.0.0.1:%u", (unsigned)s->port);
	else
		http_exchange(s, fd, res);
	close(fd);
}

_Noreturn static void child_main(const struct sk_probe_spec *s, int out, int res)
{
	child_reset();
	sk_close_fds_except(out, res);
	if (s->kind == SK_PROBE_EXEC)
		exec_child(s, out, res);
	else
		net_child(s, res);
	_exit(0);
}

/* ---- the parent ---- */

static int validate(const struct sk_probe_spec *s, struct sk_error **err)
{
	if (s->timeout_ns <= 0)
		return sk_error_set(err, EINVAL, "probe: timeout must be positive");
	switch (s->kind) {
	case SK_PROBE_EXEC:
		if (!s->argv || !s->argv[0] || !s->argv[0][0])
			return sk_error_set(err, EINVAL, "probe: exec needs a command");
		if (!s->runtime_root || !s->container_id)
			return sk_error_set(err, EINVAL,
					    "probe: exec needs a runtime root and a container");
		return sk_state_check_id(s->container_id, err);
	case SK_PROBE_HTTP:
		if (s->path && (s->path[0] != '/' || strlen(s->path) > 2048))
			return sk_error_set(err, EINVAL, "probe: invalid path '%s'", s->path);
		for (const char *c = s->path; c && *c; c++)
			if (*c <= ' ' || *c == 0x7f)
				return sk_error_set(err, EINVAL,
						    "probe: path has a space or control character");
		if (!(s->status_min == 0 && s->status_max == 0) &&
		    (s->status_min < 100 || s->status_max > 999 || s->status_min > s->status_max))
			return sk_error_set(err, EINVAL, "probe: invalid status range %d-%d",
					    s->status_min, s->status_max);
		/* fall through */
	case SK_PROBE_TCP:
		if (s->port == 0)
			return sk_error_set(err, EINVAL, "probe: port must not be 0");
		if (s->netns_pid < 0)
			return sk_error_set(err, EINVAL, "probe: invalid netns pid %d",
					    (int)s->netns_pid);
		return 0;
	}
	return sk_error_set(err, EINVAL, "probe: unknown kind %d", (int)s->kind);
}

/* Reads what the output pipe has (at most `reads` reads); closes it at EOF. */
static void out_read(struct sk_probe *p, int reads)
{
	char chunk[4096];

	while (p->out_fd >= 0 && reads-- > 0) {
		ssize_t n = read(p->out_fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			sk_loop_io_remove(TAKE_PTR(p->out_io));
			close(TAKE_FD(p->out_fd));
			return;
		}
		size_t keep = SK_PROBE_OUTPUT_MAX - p->out_len;
		if (keep > (size_t)n)
			keep = (size_t)n;
		memcpy(p->out + p->out_len, chunk, keep);
		p->out_len += keep;
		p->out[p->out_len] = '\0';
	}
}

static void out_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events,
		   void *userdata)
{
	out_read(userdata, 1);
}

/* Releases everything but the child watch and the memory. */
static void probe_release(struct sk_probe *p)
{
	sk_loop_timer_remove(TAKE_PTR(p->timer));
	sk_loop_io_remove(TAKE_PTR(p->out_io));
	if (p->out_fd >= 0)
		close(TAKE_FD(p->out_fd));
	if (p->res_fd >= 0)
		close(TAKE_FD(p->res_fd));
}

/*
 * SIGKILLs the child and its group and, first, each of its own children
 * with their groups: an exec probe's process in the container called
 * setsid(), so the child's group does not reach it.  The children are
 * pinned by pidfd and checked to still be ours before the signal; a pid
 * freed and reused in between would need the pid counter to wrap.
 */
static void kill_child(pid_t pid)
{
	_cleanup_free_ char *list = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if (sk_read_file(path, &list, NULL) == 0) {
		for (char *tok = strtok(list, " \n"); tok; tok = strtok(NULL, " \n")) {
			int64_t g;
			if (sk_parse_int64(tok, &g) < 0 || g <= 1 || g > INT32_MAX)
				continue;
			_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, (pid_t)g, 0);
			_cleanup_free_ char *stat = NULL;
			snprintf(path, sizeof(path), "/proc/%d/stat", (int)g);
			if (pfd < 0 || sk_read_file(path, &stat, NULL) < 0)
				continue;
			const char *rp = strrchr(stat, ')');
			int ppid = 0;
			if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1 || ppid != pid)
				continue;
			(void)kill(-(pid_t)g, SIGKILL);
			(void)syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		}
	}
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
}

static void report(struct sk_probe *p, enum sk_probe_result r, const char *output)
{
	p->finished = true;
	p->cb(r, output, p->userdata);
}

static void timeout_cb(struct sk_loop *loop, struct sk_loop_timer *timer, void *userdata)
{
	struct sk_probe *p = userdata;
	char msg[64];

	kill_child(p->pid);
	probe_release(p);
	snprintf(msg, sizeof(msg), "timed out after %lld ms", (long long)(p->timeout_ns / MS));
	report(p, SK_PROBE_TIMEOUT, msg);
}

/* The verdict of a child that has exited, from its record and its status. */
static void finish(struct sk_probe *p, const struct sk_loop_child_status *st)
{
	char res[SK_PROBE_OUTPUT_MAX + 1];
	ssize_t n;

	out_read(p, DRAIN_READS);
	do
		n = read(p->res_fd, res, sizeof(res) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (st->known && st->code != CLD_EXITED)
			snprintf(res, sizeof(res), "probe process killed by signal %d", st->status);
		else
			snprintf(res, sizeof(res), "probe process exited (%d) without a result",
				 st->exit_code);
		report(p, SK_PROBE_ERROR, res);
		return;
	}
	res[n] = '\0';
	const char *msg = res + 1;
	enum sk_probe_result r = res[0] == 'O'	 ? SK_PROBE_OK
				 : res[0] == 'F' ? SK_PROBE_FAIL
						 : SK_PROBE_ERROR;
	if (r != SK_PROBE_ERROR && p->kind == SK_PROBE_EXEC && p->out_len > 0)
		msg = p->out;
	report(p, r, msg);
}

static void child_cb(struct sk_loop *loop, struct sk_loop_child *child,
		     const struct sk_loop_child_status *status, void *userdata)
{
	struct sk_probe *p = userdata;

	p->child = NULL; /* the loop releases it after this returns */
	if (!p->finished)
		finish(p, status);
	probe_release(p);
	free(p);
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

static void close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int sk_probe_start(struct sk_loop *loop, const struct sk_probe_spec *spec, sk_probe_done_cb cb,
		   void *userdata, struct sk_probe **ret, struct sk_error **err)
{
	int out[2] = { -1, -1 }, res[2] = { -1, -1 }, r;
	struct sk_probe *p;

	assert(loop && spec && cb);
	if ((r = validate(spec, err)) < 0)
		return r;
	if (pipe2(res, O_CLOEXEC) < 0 ||
	    (spec->kind == SK_PROBE_EXEC && pipe2(out, O_CLOEXEC) < 0)) {
		r = sk_error_errno(err, "probe: pipe");
		goto fail;
	}
	if ((r = nonblock(res[0])) < 0 || (out[0] >= 0 && (r = nonblock(out[0])) < 0)) {
		sk_error_set(err, -r, "probe: set pipe non-blocking");
		goto fail;
	}
	p = sk_new0(struct sk_probe, 1);
	*p = (struct sk_probe){ .loop = loop,
				.kind = spec->kind,
				.timeout_ns = spec->timeout_ns,
				.out_fd = -1,
				.res_fd = -1,
				.cb = cb,
				.userdata = userdata };
	if (out[0] >= 0 &&
	    (r = sk_loop_io_add(loop, out[0], SK_LOOP_READ, out_cb, p, &p->out_io, err)) < 0) {
		free(p);
		goto fail;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r = sk_error_errno(err, "probe: fork");
		sk_loop_io_remove(p->out_io);
		free(p);
		goto fail;
	}
	if (pid == 0) {
		close(res[0]);
		if (out[0] >= 0)
			close(out[0]);
		child_main(spec, out[1], res[1]);
	}
	(void)setpgid(pid, pid); /* also in the child: whichever runs first */
	p->pid = pid;
	p->res_fd = TAKE_FD(res[0]);
	p->out_fd = TAKE_FD(out[0]);
	close_pair(res);
	close_pair(out);
	if ((r = sk_loop_child_add(loop, pid, child_cb, p, &p->child, err)) < 0) {
		/* Just forked, never stopped: SIGKILL ends it at once. */
		kill_child(pid);
		(void)waitpid(pid, NULL, 0);
		probe_release(p);
		free(p);
		sk_error_prefix(err, "probe");
		return r;
	}
	p->timer = sk_loop_timer_add(loop, (uint64_t)spec->timeout_ns, 0, timeout_cb, p);
	if (ret)
		*ret = p;
	return 0;
fail:
	close_pair(res);
	close_pair(out);
	return r;
}

void sk_probe_cancel(struct sk_probe *p)
{
	if (!p || p->finished)
		return;
	kill_child(p->pid);
	probe_release(p);
	p->finished = true;
}
