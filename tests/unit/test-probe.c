/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-probe.c - health probes against real sockets on this kernel.
 *
 * A tiny HTTP responder runs in a forked child on a loopback port (200, 500,
 * 1xx then 200, garbage, closing early, never answering); TCP probes use a
 * bare listener and a closed port; the netns test runs the responder in a
 * new network namespace and checks the probe only reaches it by entering
 * that namespace.  While a probe hangs, a loop timer keeps ticking: the
 * loop is never blocked.  Exec probes run in a real busybox container (root
 * and /bin/busybox needed; cgroup "/skiff-probe-<pid>/c1", removed by the
 * runtime's delete).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "base/loop.h"
#include "base/util.h"
#include "cgroup/cgroup.h"
#include "daemon/probe.h"
#include "runtime/container.h"

#define MS 1000000LL

struct done {
	int calls;
	enum sk_probe_result r;
	char out[SK_PROBE_OUTPUT_MAX + 1];
};

static void done_cb(enum sk_probe_result r, const char *output, void *userdata)
{
	struct done *d = userdata;

	d->calls++;
	d->r = r;
	snprintf(d->out, sizeof(d->out), "%s", output);
}

static struct sk_loop *new_loop(void)
{
	struct sk_loop *loop = NULL;

	assert_int_equal(sk_loop_new(&loop, NULL), 0);
	return loop;
}

/* Runs the loop until the probe reported or `ms` passed. */
static void run_until_done(struct sk_loop *loop, struct done *d, int ms)
{
	uint64_t end = sk_now_ns() + (uint64_t)ms * MS;

	while (d->calls == 0 && sk_now_ns() < end)
		assert_int_equal(sk_loop_run_once(loop, 10, NULL), 0);
}

static void run_for(struct sk_loop *loop, int ms)
{
	uint64_t end = sk_now_ns() + (uint64_t)ms * MS;

	while (sk_now_ns() < end)
		assert_int_equal(sk_loop_run_once(loop, 10, NULL), 0);
}

/* This process's children (zombies too), at most max; how many. */
static size_t children(pid_t *pids, size_t max)
{
	_cleanup_free_ char *path = sk_asprintf("/proc/%d/task/%d/children", (int)getpid(),
						(int)getpid()),
			    *buf = NULL;
	char *save = NULL;
	size_t n = 0;

	assert_int_equal(sk_read_file(path, &buf, NULL), 0);
	for (char *t = strtok_r(buf, " \n", &save); t && n < max; t = strtok_r(NULL, " \n", &save))
		pids[n++] = atoi(t);
	return n;
}

static bool is_child(pid_t pid)
{
	pid_t pids[64];
	size_t n = children(pids, 64);

	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Runs the loop until it has reaped our child `pid` (5 s). */
static void run_until_reaped(struct sk_loop *loop, pid_t pid)
{
	uint64_t end = sk_now_ns() + 5000 * MS;

	while (is_child(pid) && sk_now_ns() < end)
		assert_int_equal(sk_loop_run_once(loop, 10, NULL), 0);
	assert_false(is_child(pid));
}

/* Starts a probe; its child's pid (the one child that was not there before). */
static pid_t probe_start(struct sk_loop *loop, const struct sk_probe_spec *s, struct done *d,
			 struct sk_probe **ret)
{
	_cleanup_error_ struct sk_error *err = NULL;
	pid_t before[64], after[64], pid = 0;
	size_t nb = children(before, 64), na;

	if (sk_probe_start(loop, s, done_cb, d, ret, &err) < 0)
		fail_msg("probe start: %s", err->msg);
	na = children(after, 64);
	for (size_t i = 0; i < na; i++) {
		bool old = false;

		for (size_t j = 0; j < nb; j++)
			old = old || after[i] == before[j];
		if (!old) {
			assert_int_equal(pid, 0);
			pid = after[i];
		}
	}
	assert_true(pid > 0);
	return pid;
}

static void probe_ok(struct sk_loop *loop, const struct sk_probe_spec *s, struct done *d)
{
	struct sk_probe *p = NULL;
	pid_t pid = probe_start(loop, s, d, &p);

	assert_non_null(p);
	assert_int_equal(d->calls, 0); /* never from inside start */
	run_until_done(loop, d, 5000);
	assert_int_equal(d->calls, 1);
	run_until_reaped(loop, pid); /* the child is reaped and the probe freed */
	assert_int_equal(d->calls, 1);
}

static int listen_lo(uint16_t port, uint16_t *ret_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t alen = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*ret_port = ntohs(a.sin_port);
	return fd;
}

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

/* ---- the HTTP responder ---- */

enum { NEVER_ANSWER = 1, CLOSE_EARLY = 2 };

struct server {
	pid_t pid;
	uint16_t port;
	int fd; /* the port (2 bytes), then the request head it read, then EOF */
};

_Noreturn static void serve(int lfd, int report, const char *response, int mode)
{
	char req[4096];
	size_t len = 0;
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		_exit(2);
	if (mode == NEVER_ANSWER)
		for (;;)
			pause();
	while (len < sizeof(req) - 1 && !memmem(req, len, "\r\n\r\n", 4)) {
		ssize_t n = read(c, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			_exit(3);
		len += (size_t)n;
	}
	(void)!write(report, req, len);
	if (mode != CLOSE_EARLY)
		(void)!write(c, response, strlen(response));
	close(c);
	_exit(0);
}

/* Starts a responder on 127.0.0.1 (port `port`, 0: any), in a new netns if asked. */
static struct server server_start(const char *response, int mode, bool netns, uint16_t port)
{
	struct server s = { 0 };
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	s.pid = fork();
	assert_true(s.pid >= 0);
	if (s.pid == 0) {
		close(p[0]);
		if (netns && (unshare(CLONE_NEWNET) < 0 || lo_up() < 0))
			_exit(10);
		int lfd = listen_lo(port, &s.port);
		if (write(p[1], &s.port, sizeof(s.port)) != sizeof(s.port))
			_exit(11);
		serve(lfd, p[1], response, mode);
	}
	close(p[1]);
	s.fd = p[0];
	assert_int_equal(read(s.fd, &s.port, sizeof(s.port)), (ssize_t)sizeof(s.port));
	return s;
}

/* The request the responder read (its EOF means it is done). */
static char *server_request(struct server *s)
{
	char *buf = sk_malloc0(4096);

	assert_true(sk_read_all(s->fd, buf, 4095) >= 0);
	return buf;
}

static void server_stop(struct server *s)
{
	(void)kill(s->pid, SIGKILL);
	assert_int_equal(waitpid(s->pid, NULL, 0), s->pid);
	close(s->fd);
}

static struct sk_probe_spec http_spec(uint16_t port)
{
	return (struct sk_probe_spec){ .kind = SK_PROBE_HTTP,
				       .port = port,
				       .path = "/healthz?x=1",
				       .status_min = 200,
				       .status_max = 399,
				       .timeout_ns = 3000 * MS };
}

/* ---- tests ---- */

static void test_result_names(void **state)
{
	assert_string_equal(sk_probe_result_name(SK_PROBE_OK), "ok");
	assert_string_equal(sk_probe_result_name(SK_PROBE_FAIL), "fail");
	assert_string_equal(sk_probe_result_name(SK_PROBE_TIMEOUT), "timeout");
	assert_string_equal(sk_probe_result_name(SK_PROBE_ERROR), "error");
}

static void expect_invalid(struct sk_loop *loop, const struct sk_probe_spec *s, const char *msg)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_probe *p = NULL;
	struct done d = { 0 };

	assert_int_equal(sk_probe_start(loop, s, done_cb, &d, &p, &err), -EINVAL);
	assert_null(p);
	assert_non_null(err);
	if (!strstr(err->msg, msg))
		fail_msg("error '%s' does not say '%s'", err->msg, msg);
	run_for(loop, 20);
	assert_int_equal(d.calls, 0);
}

static void test_validation(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	char *argv[] = { "/bin/true", NULL }, *empty[] = { NULL };
	struct sk_probe_spec s = { .kind = SK_PROBE_EXEC,
				   .argv = argv,
				   .runtime_root = "/run/none",
				   .container_id = "c1",
				   .timeout_ns = 0 };

	expect_invalid(loop, &s, "timeout");
	s.timeout_ns = MS;
	s.argv = NULL;
	expect_invalid(loop, &s, "needs a command");
	s.argv = empty;
	expect_invalid(loop, &s, "needs a command");
	s.argv = argv;
	s.container_id = NULL;
	expect_invalid(loop, &s, "container");
	s.container_id = "../etc";
	expect_invalid(loop, &s, "");
	s.container_id = "c1";
	s.runtime_root = NULL;
	expect_invalid(loop, &s, "runtime root");

	s = http_spec(0);
	expect_invalid(loop, &s, "port");
	s.port = 80;
	s.path = "healthz";
	expect_invalid(loop, &s, "invalid path");
	s.path = "/a b";
	expect_invalid(loop, &s, "space or control");
	s.path = "/a\r\nX-Injected: 1";
	expect_invalid(loop, &s, "space or control");
	s.path = "/";
	s.status_min = 400;
	s.status_max = 300;
	expect_invalid(loop, &s, "status range");
	s.status_min = 0;
	s.status_max = 1000;
	expect_invalid(loop, &s, "status range");
	s.status_max = 0;
	s.netns_pid = -1;
	expect_invalid(loop, &s, "netns");
	s.kind = 42;
	expect_invalid(loop, &s, "unknown kind");
}

static void test_tcp_ok(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	uint16_t port;
	_cleanup_close_ int lfd = listen_lo(0, &port);
	struct sk_probe_spec s = { .kind = SK_PROBE_TCP, .port = port, .timeout_ns = 2000 * MS };
	struct done d = { 0 };

	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_OK);
	assert_non_null(strstr(d.out, "connected"));
}

/* A port nothing listens on: bound (so nobody else takes it) but not listening. */
static void test_tcp_closed(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct done d = { 0 };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	struct sk_probe_spec s = { .kind = SK_PROBE_TCP,
				   .port = ntohs(a.sin_port),
				   .timeout_ns = 2000 * MS };
	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_string_equal(d.out, "connect: Connection refused");

	/* HTTP to the same port fails the same way */
	memset(&d, 0, sizeof(d));
	s = http_spec(ntohs(a.sin_port));
	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_string_equal(d.out, "connect: Connection refused");
}

static void test_http_200(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct server srv =
	    server_start("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, false, 0);
	struct sk_probe_spec s = http_spec(srv.port);
	struct done d = { 0 };

	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_OK);
	assert_string_equal(d.out, "status 200");
	_cleanup_free_ char *req = server_request(&srv);
	_cleanup_free_ char *host = sk_asprintf("\r\nHost: 127.0.0.1:%u\r\n", srv.port);
	assert_true(sk_str_has_prefix(req, "GET /healthz?x=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(req, host));
	assert_non_null(strstr(req, "\r\nConnection: close\r\n"));
	server_stop(&srv);
}

static void test_http_default_path_and_range(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct server srv = server_start("HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n", 0, false, 0);
	struct sk_probe_spec s = http_spec(srv.port);
	struct done d = { 0 };

	s.path = NULL;
	s.status_min = s.status_max = 0; /* 200..399 */
	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_OK);
	assert_string_equal(d.out, "status 302");
	_cleanup_free_ char *req = server_request(&srv);
	assert_true(sk_str_has_prefix(req, "GET / HTTP/1.1\r\n"));
	server_stop(&srv);
}

static void test_http_500(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct server srv = server_start(
	    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom", 0, false, 0);
	struct sk_probe_spec s = http_spec(srv.port);
	struct done d = { 0 };

	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_string_equal(d.out, "status 500");
	server_stop(&srv);
}

static void test_http_continue_then_204(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct server srv = server_start(
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0, false, 0);
	struct sk_probe_spec s = http_spec(srv.port);
	struct done d = { 0 };

	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_OK);
	assert_string_equal(d.out, "status 204");
	server_stop(&srv);
}

static void test_http_garbage(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct server srv = server_start("HTTP/1.1 200 OK\nContent-Length: 0\n\n", 0, false, 0);
	struct sk_probe_spec s = http_spec(srv.port);
	struct done d = { 0 };

	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_true(sk_str_has_prefix(d.out, "bad response: "));
	server_stop(&srv);

	memset(&d, 0, sizeof(d));
	srv = server_start("SSH-2.0-OpenSSH_9.2\r\n\r\n", 0, false, 0);
	s = http_spec(srv.port);
	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_true(sk_str_has_prefix(d.out, "bad response: "));
	server_stop(&srv);
}

static void test_http_close_early(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct server srv = server_start("", CLOSE_EARLY, false, 0);
	struct sk_probe_spec s = http_spec(srv.port);
	struct done d = { 0 };

	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_string_equal(d.out, "connection closed before the response");
	server_stop(&srv);

	/* a head cut off in the middle */
	memset(&d, 0, sizeof(d));
	srv = server_start("HTTP/1.1 200 OK\r\nContent-Le", 0, false, 0);
	s = http_spec(srv.port);
	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_string_equal(d.out, "connection closed before the response");
	server_stop(&srv);
}

struct ticks {
	int n;
};

static void tick_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	((struct ticks *)userdata)->n++;
}

/* A server that accepts and never answers: timeout, and the loop keeps running meanwhile. */
static void test_http_timeout(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct server srv = server_start(NULL, NEVER_ANSWER, false, 0);
	struct sk_probe_spec s = http_spec(srv.port);
	struct ticks ticks = { 0 };
	struct sk_loop_timer *t = sk_loop_timer_add(loop, 20 * MS, 20 * MS, tick_cb, &ticks);
	struct done d = { 0 };

	s.timeout_ns = 300 * MS;
	uint64_t t0 = sk_now_ns();
	probe_ok(loop, &s, &d);
	uint64_t took = sk_now_ns() - t0;
	assert_int_equal(d.r, SK_PROBE_TIMEOUT);
	assert_string_equal(d.out, "timed out after 300 ms");
	assert_true(took >= 300 * (uint64_t)MS);
	assert_true(took < 5000 * (uint64_t)MS);
	print_message("timeout after %llu ms, %d ticks meanwhile\n",
		      (unsigned long long)(took / MS), ticks.n);
	assert_true(ticks.n >= 3); /* 300 ms of 20 ms ticks: the loop ran meanwhile */
	sk_loop_timer_remove(t);
	server_stop(&srv);
}

/* Cancel kills the child; the callback never comes, the child is reaped. */
static void test_cancel(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct server srv = server_start(NULL, NEVER_ANSWER, false, 0);
	struct sk_probe_spec s = http_spec(srv.port);
	struct sk_probe *p = NULL;
	struct done d = { 0 };
	pid_t pid = probe_start(loop, &s, &d, &p);

	run_for(loop, 50);
	sk_probe_cancel(p);
	run_until_reaped(loop, pid);
	run_for(loop, 50);
	assert_int_equal(d.calls, 0);
	sk_probe_cancel(NULL);
	/* the probe child was reaped by the loop: we have no other child but the server */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), 0);
	server_stop(&srv);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* The responder listens only inside its own netns: reached only by entering it. */
static void test_http_netns(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct server srv;
	struct sk_probe_spec s;
	struct done d = { 0 };

	if (geteuid() != 0)
		skip();
	srv = server_start("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, true, 0);
	/* from the host's namespace: nothing there (the port is not bound on the host) */
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(srv.port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		skip(); /* taken on the host by chance */
	s = http_spec(srv.port);
	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_string_equal(d.out, "connect: Connection refused");

	memset(&d, 0, sizeof(d));
	s.netns_pid = srv.pid;
	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_OK);
	assert_string_equal(d.out, "status 200");
	_cleanup_free_ char *req = server_request(&srv);
	assert_true(sk_str_has_prefix(req, "GET /healthz?x=1 HTTP/1.1\r\n"));
	server_stop(&srv);
}

static void test_netns_missing(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct sk_probe_spec s = { .kind = SK_PROBE_TCP, .port = 1, .timeout_ns = 2000 * MS };
	struct done d = { 0 };
	pid_t dead = fork();

	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	s.netns_pid = dead;
	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_ERROR);
	assert_true(sk_str_has_prefix(d.out, "enter network namespace of pid "));
}

/* Exec in a container that does not exist: an error, reported by the child. */
static void test_exec_missing_container(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	char dir[] = "/tmp/skiff-probe-XXXXXX";
	char *argv[] = { "/bin/sh", "-c", "exit 0", NULL };
	struct done d = { 0 };

	assert_non_null(mkdtemp(dir));
	struct sk_probe_spec s = { .kind = SK_PROBE_EXEC,
				   .argv = argv,
				   .runtime_root = dir,
				   .container_id = "nope",
				   .timeout_ns = 2000 * MS };
	probe_ok(loop, &s, &d);
	assert_int_equal(d.r, SK_PROBE_ERROR);
	assert_non_null(strstr(d.out, "does not exist"));
	assert_int_equal(rmdir(dir), 0);
}

/* ---- exec probes in a real container ---- */

struct ctr {
	char dir[64];
	char *root;
	struct sk_runtime rt;
};

static void write_ok(const char *path, const char *text, mode_t mode)
{
	assert_int_equal(sk_write_file_atomic(path, text, strlen(text), mode, false), 0);
}

/* A busybox bundle running `sleep 300` as container "c1", created and started. */
static bool ctr_start(struct ctr *c)
{
	static const char *const applets[] = { "sh", "sleep", "echo", "true" };
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *bb = NULL, *bundle = NULL, *bin = NULL, *cfg = NULL, *json = NULL;
	enum sk_cgroup_mode mode;
	size_t len;

	if (geteuid() != 0 || access("/bin/busybox", X_OK) < 0 || sk_cgroup_mode(&mode, NULL) < 0)
		return false;
	snprintf(c->dir, sizeof(c->dir), "/tmp/skiff-probe-ctr-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	c->root = sk_path_join(c->dir, "state");
	c->rt.root = c->root;
	bundle = sk_path_join(c->dir, "bundle");
	bin = sk_path_join(bundle, "rootfs/bin");
	assert_int_equal(sk_mkdir_p(bin, 0755), 0);
	for (const char *d = "proc\0dev\0tmp\0"; *d; d += strlen(d) + 1) {
		_cleanup_free_ char *p = sk_asprintf("%s/rootfs/%s", bundle, d);
		assert_int_equal(sk_mkdir_p(p, 0755), 0);
	}
	assert_int_equal(sk_read_file("/bin/busybox", &bb, &len), 0);
	_cleanup_free_ char *dst = sk_path_join(bin, "busybox");
	assert_int_equal(sk_write_file_atomic(dst, bb, len, 0755, false), 0);
	for (size_t i = 0; i < SK_ELEMENTSOF(applets); i++) {
		_cleanup_free_ char *l = sk_path_join(bin, applets[i]);
		assert_int_equal(symlink("busybox", l), 0);
	}
	json =
	    sk_asprintf("{'ociVersion':'1.2.0','process':{'args':['sleep','300'],'cwd':'/tmp',"
			"'env':['PATH=/bin','PROBE_ENV=from-spec'],'user':{'uid':0,'gid':0}},"
			"'root':{'path':'rootfs'},'hostname':'probe',"
			"'mounts':[{'destination':'/proc','type':'proc','source':'proc'}],"
			"'linux':{'cgroupsPath':'/skiff-probe-%d/c1','namespaces':[{'type':'pid'},"
			"{'type':'mount'},{'type':'ipc'},{'type':'uts'},{'type':'network'}]}}",
			(int)getpid());
	for (char *p = json; *p; p++)
		if (*p == '\'')
			*p = '"';
	cfg = sk_path_join(bundle, "config.json");
	write_ok(cfg, json, 0644);
	struct sk_create_opts o = { .bundle = bundle };
	if (sk_container_create(&c->rt, "c1", &o, &err) < 0 ||
	    sk_container_start(&c->rt, "c1", &err) < 0)
		fail_msg("container: %s", err->msg);
	return true;
}

static void ctr_stop(struct ctr *c)
{
	_cleanup_error_ struct sk_error *err = NULL;

	if (sk_container_delete(&c->rt, "c1", true, &err) < 0)
		fail_msg("delete: %s", err->msg);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	assert_int_equal(sk_rm_rf(c->dir), 0);
	free(c->root);
}

static void exec_probe(struct sk_loop *loop, struct ctr *c, const char *cmd, int64_t timeout_ms,
		       struct done *d)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	struct sk_probe_spec s = { .kind = SK_PROBE_EXEC,
				   .argv = argv,
				   .runtime_root = c->root,
				   .container_id = "c1",
				   .timeout_ns = timeout_ms * MS };

	memset(d, 0, sizeof(*d));
	probe_ok(loop, &s, d);
}

static void test_exec_container(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	_cleanup_error_ struct sk_error *err = NULL;
	struct ctr c = { 0 };
	struct done d;

	if (!ctr_start(&c))
		skip();
	/* ok, with the container's env and cwd, stdout and stderr captured */
	exec_probe(loop, &c, "echo $PROBE_ENV $(pwd); echo oops >&2", 5000, &d);
	assert_int_equal(d.r, SK_PROBE_OK);
	assert_string_equal(d.out, "from-spec /tmp\noops\n");
	/* the check ran in the container's namespaces: its hostname */
	exec_probe(loop, &c, "test \"$(cat /proc/sys/kernel/hostname)\" = probe", 5000, &d);
	assert_int_equal(d.r, SK_PROBE_OK);
	/* fail: the exit status when there is no output, the output otherwise */
	exec_probe(loop, &c, "exit 3", 5000, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_string_equal(d.out, "exit status 3");
	exec_probe(loop, &c, "echo not ready; exit 1", 5000, &d);
	assert_int_equal(d.r, SK_PROBE_FAIL);
	assert_string_equal(d.out, "not ready\n");
	/* output is bounded: 22000 bytes written, 4096 kept, the writer never stalls */
	exec_probe(loop, &c, "i=0; while [ $i -lt 2000 ]; do echo 0123456789; i=$((i+1)); done",
		   5000, &d);
	assert_int_equal(d.r, SK_PROBE_OK);
	assert_int_equal(strlen(d.out), SK_PROBE_OUTPUT_MAX);
	/* timeout: reported on time, and the check's processes in the container are killed */
	exec_probe(loop, &c, "sleep 100; true", 300, &d);
	assert_int_equal(d.r, SK_PROBE_TIMEOUT);
	pid_t *pids = NULL;
	size_t n = 0;
	for (int i = 0; i < 500; i++) {
		free(pids);
		assert_int_equal(sk_container_pids(&c.rt, "c1", &pids, &n, &err), 0);
		if (n == 1)
			break;
		run_for(loop, 10);
	}
	free(pids);
	assert_int_equal(n, 1); /* only the container's own sleep 300 */
	ctr_stop(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_tcp_ok),
		cmocka_unit_test(test_tcp_closed),
		cmocka_unit_test(test_http_200),
		cmocka_unit_test(test_http_default_path_and_range),
		cmocka_unit_test(test_http_500),
		cmocka_unit_test(test_http_continue_then_204),
		cmocka_unit_test(test_http_garbage),
		cmocka_unit_test(test_http_close_early),
		cmocka_unit_test(test_http_timeout),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_http_netns),
		cmocka_unit_test(test_netns_missing),
		cmocka_unit_test(test_exec_missing_container),
		cmocka_unit_test(test_exec_container),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
