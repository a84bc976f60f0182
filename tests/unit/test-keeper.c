/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-keeper.c - the keeper with real processes: a forked child runs
 * sk_keeper_run() and this test is its client.  The "daemon" is this very
 * binary run as `test-keeper daemon DIR MODE`: it appends its pid and start
 * time (CLOCK_MONOTONIC ns) to DIR/daemons, records how many fds it inherited, optionally leaves two
 * orphans behind (one exits 7, one is killed), and exits 0 on SIGTERM.
 * Covered: log pipes to CRI files (also while the daemon is down, and at
 * shutdown), exits of orphans until acknowledged, restart after kill -9,
 * SPAWN, SIGTERM with and without a daemon, protocol errors (and that the
 * refused fds are closed), one keeper per run dir, stale sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"
#include "daemon/keeper.h"
#include "daemon/logs.h"

#define MS 1000000ull

static char self_exe[PATH_MAX];

/* ---- the fake daemon (runs in its own process) ---- */

static void write_pid_file(const char *dir, const char *name)
{
	_cleanup_free_ char *path = sk_path_join(dir, name), *buf = sk_asprintf("%d", getpid());

	(void)sk_write_file_atomic(path, buf, strlen(buf), 0644, false);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (atoi(de->d_name) > 2 && atoi(de->d_name) != dirfd(d))
			n++;
	closedir(d);
	return n;
}

static void leave_orphans(const char *dir)
{
	pid_t mid = fork();

	if (mid == 0) {
		if (fork() == 0) {
			write_pid_file(dir, "orphan-exit.pid");
			usleep(200 * 1000);
			_exit(7);
		}
		if (fork() == 0) {
			write_pid_file(dir, "orphan-kill.pid");
			usleep(300 * 1000);
			raise(SIGKILL);
		}
		_exit(0);
	}
	(void)waitpid(mid, NULL, 0);
}

static int fake_daemon(const char *dir, const char *mode)
{
	_cleanup_free_ char *path = sk_path_join(dir, "daemons"), *fds = NULL, *line = NULL;
	sigset_t set;
	int fd, sig;

	alarm(60); /* never outlive a broken test */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fds = sk_asprintf("%s/fds.%d", dir, getpid());
	line = sk_asprintf("%d", count_fds());
	(void)sk_write_file_atomic(fds, line, strlen(line), 0644, false);
	if (strcmp(mode, "orphans") == 0)
		leave_orphans(dir);
	free(line);
	line = sk_asprintf("%d %llu\n", getpid(), (unsigned long long)sk_now_ns());
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || sk_write_all(fd, line, strlen(line)) < 0)
		return 1;
	close(fd);
	if (strcmp(mode, "crash") == 0)
		return 3;
	sigwait(&set, &sig);
	return 0;
}

/* ---- helpers ---- */

struct fixture {
	char dir[64];
	pid_t keeper;
};

static int setup(void **state)
{
	struct fixture *f = sk_new0(struct fixture, 1);

	strcpy(f->dir, "/tmp/sk-keeper-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

/* The pids in DIR/daemons, in start order; returns how many (at most max). */
static size_t daemon_pids(struct fixture *f, pid_t *pids, size_t max)
{
	_cleanup_free_ char *path = sk_path_join(f->dir, "daemons"), *buf = NULL;
	size_t n = 0;
	char *save = NULL;

	if (sk_read_file(path, &buf, NULL) < 0)
		return 0;
	for (char *t = strtok_r(buf, "\n", &save); t && n < max; t = strtok_r(NULL, "\n", &save))
		pids[n++] = atoi(t);
	return n;
}

/* The start times (CLOCK_MONOTONIC ns) in DIR/daemons, in start order; returns how many. */
static size_t daemon_starts(struct fixture *f, uint64_t *ns, size_t max)
{
	_cleanup_free_ char *path = sk_path_join(f->dir, "daemons"), *buf = NULL;
	size_t n = 0;
	char *save = NULL, *sp;

	if (sk_read_file(path, &buf, NULL) < 0)
		return 0;
	for (char *t = strtok_r(buf, "\n", &save); t && n < max; t = strtok_r(NULL, "\n", &save)) {
		sp = strchr(t, ' ');
		ns[n++] = sp ? strtoull(sp + 1, NULL, 10) : 0;
	}
	return n;
}

static int wait_keeper(pid_t pid, int timeout_ms)
{
	int status;

	for (int i = 0; i < timeout_ms / 10; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10 * 1000);
	}
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pid_t pids[16];
	size_t n = daemon_pids(f, pids, 16);

	if (f->keeper > 0) {
		kill(f->keeper, SIGTERM);
		if (wait_keeper(f->keeper, 5000) < 0) {
			kill(f->keeper, SIGKILL);
			(void)waitpid(f->keeper, NULL, 0);
		}
	}
	for (size_t i = 0; i < n; i++)
		(void)kill(pids[i], SIGKILL); /* only left when the keeper did not stop them */
	(void)sk_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Forks a keeper for f->dir whose daemon runs `mode`; waits until it answers. */
static void keeper_start(struct fixture *f, const char *mode, uint64_t delay_ns, bool fork_daemon)
{
	char *argv[] = { self_exe, "daemon", f->dir, (char *)mode, NULL };
	pid_t pids[1];
	int fd = -1;

	f->keeper = fork();
	assert_true(f->keeper >= 0);
	if (f->keeper == 0) {
		struct sk_keeper_config c = { .run_dir = f->dir,
					      .daemon_argv = argv,
					      .restart_delay_ns = delay_ns };
		struct sk_error *e = NULL;
		pid_t d = 0;
		int r;

		sk_log_set_level(SK_LOG_WARN);
		if (fork_daemon && (d = fork()) == 0) {
			execv(argv[0], argv);
			_exit(127);
		}
		r = sk_keeper_run(&c, d, &e);
		if (r < 0)
			fprintf(stderr, "keeper: %s\n", e->msg);
		sk_error_free(e);
		exit(r < 0 ? -r : 0); /* exit(): LeakSanitizer checks the keeper too */
	}
	for (int i = 0; i < 500; i++) {
		if (daemon_pids(f, pids, 1) == 1 && sk_keeper_connect(f->dir, &fd, NULL) == 0)
			break;
		usleep(10 * 1000);
	}
	assert_true(fd >= 0);
	close(fd);
}

static int keeper_stop(struct fixture *f)
{
	_cleanup_free_ char *sock = sk_path_join(f->dir, "keeper.sock");
	_cleanup_free_ char *pidf = sk_path_join(f->dir, "keeper.pid");
	int r;

	assert_int_equal(kill(f->keeper, SIGTERM), 0);
	r = wait_keeper(f->keeper, 5000);
	f->keeper = 0;
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(access(pidf, F_OK), -1);
	return r;
}

static int client(struct fixture *f)
{
	struct timeval tv = { .tv_sec = 5 };
	int fd = -1;

	assert_int_equal(sk_keeper_connect(f->dir, &fd, NULL), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static struct sk_keeper_msg recv_msg(int fd)
{
	struct sk_keeper_msg m;

	assert_int_equal(sk_keeper_recv(fd, &m, NULL), 0);
	return m;
}

/* HELLO; returns the exits answered before READY (at most max). */
static size_t hello(int fd, struct sk_keeper_msg *exits, size_t max)
{
	size_t n = 0;

	assert_int_equal(sk_keeper_hello(fd, NULL), 0);
	for (;;) {
		struct sk_keeper_msg m = recv_msg(fd);
		if (m.type == SK_KEEPER_MSG_READY)
			return n;
		assert_int_equal(m.type, SK_KEEPER_MSG_EXIT);
		assert_true(n < max);
		exits[n++] = m;
	}
}

static pid_t read_pid(struct fixture *f, const char *name)
{
	_cleanup_free_ char *path = sk_path_join(f->dir, name), *buf = NULL;

	for (int i = 0; i < 500 && sk_read_file(path, &buf, NULL) < 0; i++)
		usleep(10 * 1000);
	assert_non_null(buf);
	return atoi(buf);
}

struct rec {
	enum sk_logs_stream stream;
	bool partial;
	char msg[64];
};

/* Reads path's records; returns how many (at most max). */
static size_t read_log(const char *path, struct rec *recs, size_t max)
{
	_cleanup_(sk_logs_reader_closep) struct sk_logs_reader *r = NULL;
	struct sk_logs_read_opts o;
	struct sk_logs_record rec;
	size_t n = 0;

	sk_logs_read_opts_init(&o);
	if (sk_logs_reader_open(path, &o, &r, NULL) < 0)
		return 0;
	while (n < max && sk_logs_reader_next(r, &rec, NULL) == 1) {
		recs[n] = (struct rec){ .stream = rec.stream, .partial = rec.partial };
		snprintf(recs[n].msg, sizeof(recs[n].msg), "%.*s", (int)rec.len, rec.msg);
		n++;
	}
	return n;
}

/* Waits until path holds at least `want` records. */
static size_t wait_log(const char *path, struct rec *recs, size_t max, size_t want)
{
	size_t n = 0;

	for (int i = 0; i < 500 && (n = read_log(path, recs, max)) < want; i++)
		usleep(10 * 1000);
	return n;
}

static void write_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* ---- tests ---- */

static void test_logs(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *log1 = sk_path_join(f->dir, "c1.log");
	_cleanup_free_ char *log2 = sk_path_join(f->dir, "c2.log");
	int out[2], err[2], out2[2], fd;
	struct rec r[16];
	size_t n;

	keeper_start(f, "idle", 0, false);
	fd = client(f);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out2, O_CLOEXEC), 0);
	assert_int_equal(sk_keeper_send_log(fd, "c1", log1, 0, 0, out[0], err[0], NULL), 0);
	assert_int_equal(sk_keeper_send_log(fd, "c2", log2, 0, 0, out2[0], -1, NULL), 0);
	close(out[0]);
	close(err[0]);
	close(out2[0]);
	write_str(out[1], "hello\nwor");
	write_str(err[1], "oops\n");
	write_str(out2[1], "second container\n");
	write_str(out[1], "ld\ntail");
	close(out[1]);
	close(err[1]);
	close(out2[1]);

	n = wait_log(log1, r, 16, 4);
	assert_int_equal(n, 4);
	/* the two pipes are read in any order; each stream's records keep theirs */
	const char *want_out[] = { "hello", "world", "tail" };
	size_t i_out = 0, i_err = 0;
	for (size_t i = 0; i < n; i++) {
		assert_false(r[i].partial);
		if (r[i].stream == SK_LOGS_STDOUT)
			assert_string_equal(r[i].msg, want_out[i_out++]);
		else
			assert_string_equal(r[i].msg, i_err++ == 0 ? "oops" : "?");
	}
	assert_int_equal(wait_log(log2, r, 16, 1), 1);
	assert_string_equal(r[0].msg, "second container");

	/* the same path again, as after a container restart: appended */
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(sk_keeper_send_log(fd, "c1", log1, 0, 0, -1, out[0], NULL), 0);
	close(out[0]);
	write_str(out[1], "again\n");
	close(out[1]);
	assert_int_equal(wait_log(log1, r, 16, 5), 5);
	assert_int_equal(r[4].stream, SK_LOGS_STDERR);
	assert_string_equal(r[4].msg, "again");

	close(fd);
	assert_int_equal(keeper_stop(f), 0);
}

static void test_exits(void **state)
{
	struct fixture *f = *state;
	struct sk_keeper_msg m[4];
	pid_t exited, killed, daemon;
	int64_t now = (int64_t)time(NULL) * 1000000000LL;
	size_t n;
	int fd;

	keeper_start(f, "orphans", 0, false);
	exited = read_pid(f, "orphan-exit.pid");
	killed = read_pid(f, "orphan-kill.pid");
	assert_int_equal(daemon_pids(f, &daemon, 1), 1);
	fd = client(f);
	n = hello(fd, m, 4);
	while (n < 2)
		m[n++] = recv_msg(fd); /* the orphans are still running: exits come later */
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(m[i].type, SK_KEEPER_MSG_EXIT);
		assert_true(m[i].time_ns >= now - 10000000000LL);
		assert_true(m[i].pid == exited || m[i].pid == killed);
		assert_int_equal(m[i].exit_code, m[i].pid == exited ? 7 : 128 + SIGKILL);
	}
	assert_int_not_equal(m[0].pid, m[1].pid);
	close(fd);

	/* unacknowledged: a new client gets them again; acknowledged ones are gone */
	fd = client(f);
	assert_int_equal(hello(fd, m, 4), 2);
	assert_int_equal(sk_keeper_ack(fd, exited, NULL), 0);
	close(fd);
	fd = client(f);
	assert_int_equal(hello(fd, m, 4), 1);
	assert_int_equal(m[0].pid, killed);
	assert_int_equal(sk_keeper_ack(fd, killed, NULL), 0);
	assert_int_equal(sk_keeper_ack(fd, 999999, NULL), 0); /* unknown: ignored */
	assert_int_equal(hello(fd, m, 4), 0);
	close(fd);

	/* the daemon is alive: never reported as an exit */
	assert_int_equal(kill(daemon, 0), 0);
	assert_int_equal(keeper_stop(f), 0);
	assert_int_equal(kill(daemon, 0), -1);
}

static void test_restart(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *log = sk_path_join(f->dir, "c.log"), *fds = NULL, *buf = NULL;
	struct sk_keeper_msg m[2];
	pid_t pids[4];
	struct rec r[4];
	int p[2], fd;

	/* a restart delay long enough to see the daemon down on a loaded machine */
	keeper_start(f, "idle", 2000 * MS, true);
	fd = client(f);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(sk_keeper_send_log(fd, "c", log, 0, 0, p[0], -1, NULL), 0);
	close(p[0]);
	assert_int_equal(hello(fd, m, 2), 0);
	assert_int_equal(daemon_pids(f, pids, 4), 1);

	assert_int_equal(kill(pids[0], SIGKILL), 0);
	/* the keeper keeps writing logs while the daemon is down */
	write_str(p[1], "while down\n");
	assert_int_equal(wait_log(log, r, 4, 1), 1);
	assert_string_equal(r[0].msg, "while down");
	assert_int_equal(daemon_pids(f, pids, 4), 1);
	for (int i = 0; i < 1000 && daemon_pids(f, pids, 4) < 2; i++)
		usleep(10 * 1000);
	assert_int_equal(daemon_pids(f, pids, 4), 2);
	assert_int_not_equal(pids[0], pids[1]);
	assert_int_equal(kill(pids[1], 0), 0);

	/* the restarted daemon inherited none of the keeper's sockets or pipes */
	fds = sk_asprintf("%s/fds.%d", f->dir, pids[1]);
	assert_int_equal(sk_read_file(fds, &buf, NULL), 0);
	assert_string_equal(buf, "0");

	/* the daemon's own death is not an exit for clients */
	close(fd);
	fd = client(f);
	assert_int_equal(hello(fd, m, 2), 0);
	close(fd);
	close(p[1]);
	assert_int_equal(keeper_stop(f), 0);
	assert_int_equal(kill(pids[1], 0), -1);
}

static void test_backoff(void **state)
{
	struct fixture *f = *state;
	uint64_t t[16];
	pid_t pids[16];
	size_t n;
	int r;

	/* a daemon dying at once is restarted after 100, 200, 400, 800 ms...: the gaps between
	 * starts are at least that (more on a loaded machine) */
	keeper_start(f, "crash", 100 * MS, false);
	for (int i = 0; i < 1000 && daemon_pids(f, pids, 16) < 4; i++)
		usleep(10 * 1000);
	n = daemon_starts(f, t, 16);
	assert_in_range(n, 4, 16);
	assert_true(t[1] >= t[0] + 95 * MS);
	assert_true(t[2] >= t[1] + 195 * MS);
	assert_true(t[3] >= t[2] + 395 * MS);
	r = keeper_stop(f);
	/* 0, or ECHILD when the shutdown caught a daemon starting (it exits 3, not 0) */
	assert_true(r == 0 || r == ECHILD);
}

static void test_partial_line_flush(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *log = sk_path_join(f->dir, "c.log");
	struct rec r[4];
	int p[2], fd;

	keeper_start(f, "idle", 0, false);
	fd = client(f);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(sk_keeper_send_log(fd, "c", log, 0, 0, -1, p[0], NULL), 0);
	close(p[0]);
	/* a prompt without a newline shows up as P within about 2 s, the rest follows as F */
	write_str(p[1], "password: ");
	assert_int_equal(wait_log(log, r, 4, 1), 1);
	assert_true(r[0].partial);
	assert_int_equal(r[0].stream, SK_LOGS_STDERR);
	assert_string_equal(r[0].msg, "password: ");
	write_str(p[1], "ok\n");
	assert_int_equal(wait_log(log, r, 4, 2), 2);
	assert_false(r[1].partial);
	assert_string_equal(r[1].msg, "ok");
	close(p[1]);
	close(fd);
	assert_int_equal(keeper_stop(f), 0);
}

static void wait_reaped(pid_t pid)
{
	for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10 * 1000);
	assert_int_equal(kill(pid, 0), -1);
}

static void test_spawn(void **state)
{
	struct fixture *f = *state;
	struct sk_keeper_msg m;
	pid_t pids[4];
	int fd;

	keeper_start(f, "idle", 60000 * MS, false);
	fd = client(f);
	assert_int_equal(sk_keeper_spawn_daemon(fd, NULL), 0);
	m = recv_msg(fd);
	assert_int_equal(m.type, SK_KEEPER_MSG_ERROR);
	assert_non_null(strstr(m.text, "runs already"));

	assert_int_equal(daemon_pids(f, pids, 4), 1);
	assert_int_equal(kill(pids[0], SIGKILL), 0);
	wait_reaped(pids[0]);
	assert_int_equal(sk_keeper_spawn_daemon(fd, NULL), 0);
	m = recv_msg(fd);
	assert_int_equal(m.type, SK_KEEPER_MSG_READY);
	for (int i = 0; i < 500 && daemon_pids(f, pids, 4) < 2; i++)
		usleep(10 * 1000);
	assert_int_equal(daemon_pids(f, pids, 4), 2);
	assert_int_equal(kill(pids[1], 0), 0);
	close(fd);
	assert_int_equal(keeper_stop(f), 0);
}

/* A listening socket on 127.0.0.1 (an ephemeral port): its fd, and its port in *port. */
static int listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_port(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* HELLO; the sockets answered as HELD before READY (at most max); exits are skipped. */
static size_t hello_held(int fd, int *held, size_t max)
{
	size_t n = 0;

	assert_int_equal(sk_keeper_hello(fd, NULL), 0);
	for (;;) {
		struct sk_keeper_msg m = recv_msg(fd);
		if (m.type == SK_KEEPER_MSG_READY)
			return n;
		if (m.type != SK_KEEPER_MSG_HELD)
			continue;
		assert_true(m.fd >= 0 && n < max);
		held[n++] = m.fd;
	}
}

/*
 * HOLD keeps a listening socket for the next daemon: a connection made while
 * nobody else has the socket waits in its backlog and is accepted from the
 * copy a later HELLO gets; DROP closes it, and the port is free.
 */
static void test_hold(void **state)
{
	struct fixture *f = *state;
	char key[SK_KEEPER_MAX_KEY], got[SK_KEEPER_MAX_KEY], want[64];
	int port, lfd, fd, held[4], c, a, p[2];
	struct sk_keeper_msg m;
	struct sk_error *e = NULL;

	keeper_start(f, "idle", 60000 * MS, false);
	fd = client(f);
	lfd = listener(&port);
	assert_int_equal(sk_keeper_socket_key(lfd, key, sizeof(key)), 0);
	snprintf(want, sizeof(want), "tcp 127.0.0.1:%d", port);
	assert_string_equal(key, want);
	assert_int_equal(sk_keeper_hold(fd, &lfd, 1, NULL), 0);
	assert_int_equal(hello_held(fd, held, 4), 1); /* HOLD is answered by nothing */
	close(held[0]);
	close(lfd); /* the "daemon" dies: only the keeper has the socket */

	c = connect_port(port);
	assert_true(c >= 0); /* queued, not refused */
	assert_int_equal(write(c, "hi", 2), 2);
	close(fd);

	fd = client(f); /* the next daemon */
	assert_int_equal(hello_held(fd, held, 4), 1);
	assert_int_equal(sk_keeper_socket_key(held[0], got, sizeof(got)), 0);
	assert_string_equal(got, key);
	a = accept4(held[0], NULL, NULL, SOCK_CLOEXEC);
	assert_true(a >= 0);
	char buf[4] = { 0 };
	assert_int_equal(read(a, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "hi");
	close(a);
	close(c);
	close(held[0]);

	/* a pipe is no socket to hold */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(sk_keeper_hold(fd, &p[0], 1, NULL), 0);
	m = recv_msg(fd);
	assert_int_equal(m.type, SK_KEEPER_MSG_ERROR);
	close(p[0]);
	close(p[1]);

	/* DROP of another key keeps it; of its key closes it: the port is free */
	assert_int_equal(sk_keeper_drop(fd, "tcp 127.0.0.1:1", NULL), 0);
	assert_int_equal(hello_held(fd, held, 4), 1);
	close(held[0]);
	assert_int_equal(sk_keeper_drop(fd, key, &e), 0);
	assert_int_equal(hello_held(fd, held, 4), 0);
	assert_int_equal(connect_port(port), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(fd);
	assert_int_equal(keeper_stop(f), 0);
}

static void test_stop_without_daemon(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *log = sk_path_join(f->dir, "c.log");
	pid_t pid;
	struct rec r[4];
	int p[2], fd;

	keeper_start(f, "idle", 60000 * MS, false);
	fd = client(f);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(sk_keeper_send_log(fd, "c", log, 0, 0, p[0], -1, NULL), 0);
	close(p[0]);
	assert_int_equal(daemon_pids(f, &pid, 1), 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	wait_reaped(pid);
	write_str(p[1], "last words, no newline");
	assert_int_equal(sk_keeper_pid(f->dir), f->keeper);
	assert_int_equal(keeper_stop(f), 0);
	assert_int_equal(sk_keeper_pid(f->dir), 0);
	/* drained at shutdown: the held partial line is written as F */
	assert_int_equal(read_log(log, r, 4), 1);
	assert_false(r[0].partial);
	assert_string_equal(r[0].msg, "last words, no newline");
	close(p[1]);
	close(fd);
}

/* Sends a raw datagram with fds, as a broken or hostile client would. */
static void send_raw(int fd, const char *text, size_t len, const int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n > 0) {
		struct cmsghdr *cm;
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		*cm = (struct cmsghdr){ .cmsg_level = SOL_SOCKET,
					.cmsg_type = SCM_RIGHTS,
					.cmsg_len = CMSG_LEN(n * sizeof(int)) };
		memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	}
	assert_true(sendmsg(fd, &mh, MSG_NOSIGNAL) >= 0);
}

/* Sends text with the read end of a new pipe; expects ERROR and the pipe closed by the keeper. */
static void refused(int fd, const char *text, size_t n_fds)
{
	struct sk_keeper_msg m;
	int p[2][2], ends[2] = { -1, -1 };

	for (size_t i = 0; i < n_fds; i++) {
		assert_int_equal(pipe2(p[i], O_CLOEXEC), 0);
		ends[i] = p[i][0];
	}
	send_raw(fd, text, strlen(text), ends, n_fds);
	for (size_t i = 0; i < n_fds; i++)
		close(p[i][0]);
	m = recv_msg(fd);
	assert_int_equal(m.type, SK_KEEPER_MSG_ERROR);
	for (size_t i = 0; i < n_fds; i++) {
		assert_int_equal(write(p[i][1], "x", 1), -1);
		assert_int_equal(errno, EPIPE);
		close(p[i][1]);
	}
}

static void test_protocol_errors(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *log = sk_path_join(f->dir, "c.log");
	_cleanup_free_ char *bad = sk_asprintf("LOG a/b 0 0 o- %s", log);
	_cleanup_free_ char *few = sk_asprintf("LOG c 0 0 oe %s", log);
	_cleanup_free_ char *limits = sk_asprintf("LOG c 1x 0 o- %s", log);
	_cleanup_free_ char *nodir = sk_asprintf("LOG c 0 0 o- %s/no/such/dir/log", f->dir);
	struct sk_error *e = NULL;
	struct sk_keeper_msg m;
	int fd, file;

	assert_true(sk_keeper_id_valid("web-1.abc_2"));
	assert_false(sk_keeper_id_valid(""));
	assert_false(sk_keeper_id_valid(".."));
	assert_false(sk_keeper_id_valid("a/b"));
	assert_false(sk_keeper_id_valid("a b"));

	keeper_start(f, "idle", 0, false);
	fd = client(f);
	/* refused by the client side before anything is sent */
	assert_int_equal(sk_keeper_send_log(fd, "a/b", log, 0, 0, 0, -1, &e), -EINVAL);
	sk_error_free(TAKE_PTR(e));
	assert_int_equal(sk_keeper_send_log(fd, "c", "rel/log", 0, 0, 0, -1, &e), -EINVAL);
	sk_error_free(TAKE_PTR(e));
	assert_int_equal(sk_keeper_send_log(fd, "c", log, 0, 0, -1, -1, &e), -EINVAL);
	sk_error_free(TAKE_PTR(e));
	assert_int_equal(sk_keeper_ack(fd, 0, &e), -EINVAL);
	sk_error_free(TAKE_PTR(e));

	/* refused by the keeper, which closes every fd it was given */
	refused(fd, bad, 1);
	refused(fd, few, 1);
	refused(fd, limits, 1);
	refused(fd, nodir, 1);
	refused(fd, "LOG c 0 0 o- relative", 1);
	refused(fd, "LOG c 0 0 o-", 1);
	refused(fd, "HELLO", 1);
	refused(fd, "ACK 12", 2);
	refused(fd, "FROB", 1);
	refused(fd, "ACK -3", 0);
	refused(fd, "ACK x", 0);
	file = open(log, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(file >= 0);
	send_raw(fd, few, strlen(few), (int[]){ file, file }, 2); /* regular files are not pipes */
	close(file);
	m = recv_msg(fd);
	assert_int_equal(m.type, SK_KEEPER_MSG_ERROR);
	assert_non_null(strstr(m.text, "not a pipe"));
	send_raw(fd, "HELLO\0junk", 10, NULL, 0);
	assert_int_equal(recv_msg(fd).type, SK_KEEPER_MSG_ERROR);
	assert_int_equal(hello(fd, &m, 1), 0);

	/* still serving */
	assert_int_equal(sk_keeper_spawn_daemon(fd, NULL), 0);
	assert_int_equal(recv_msg(fd).type, SK_KEEPER_MSG_ERROR);
	close(fd);
	assert_int_equal(keeper_stop(f), 0);
}

static void test_one_keeper(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *sock = sk_path_join(f->dir, "keeper.sock");
	char *argv[] = { "/bin/false", NULL };
	struct sk_keeper_config c = { .run_dir = f->dir, .daemon_argv = argv };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, fd = -1, status;
	pid_t pid;

	/* no keeper, then a stale socket nobody listens on */
	assert_int_equal(sk_keeper_connect(f->dir, &fd, NULL), -ENOENT);
	assert_int_equal(sk_keeper_pid(f->dir), 0);
	strcpy(sa.sun_path, sock);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	assert_int_equal(sk_keeper_connect(f->dir, &fd, NULL), -ECONNREFUSED);

	keeper_start(f, "idle", 0, false);
	assert_int_equal(sk_keeper_pid(f->dir), f->keeper);

	/* a second keeper on the same run dir refuses to start and leaves the first alone */
	pid = fork();
	if (pid == 0) {
		sk_log_set_level(SK_LOG_ERROR);
		_exit(-sk_keeper_run(&c, 0, NULL));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), EADDRINUSE);
	assert_int_equal(sk_keeper_pid(f->dir), f->keeper); /* its pid file is not touched */
	fd = client(f);
	assert_int_equal(hello(fd, NULL, 0), 0);
	close(fd);
	assert_int_equal(keeper_stop(f), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_logs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_line_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_without_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_keeper, setup, teardown),
	};
	ssize_t n;

	if (argc == 4 && strcmp(argv[1], "daemon") == 0)
		return fake_daemon(argv[2], argv[3]);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n < 0)
		return 1;
	self_exe[n] = '\0';
	signal(SIGPIPE, SIG_IGN);
	(void)close_range(3, ~0u, 0); /* what we inherited would show up in the daemon */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
