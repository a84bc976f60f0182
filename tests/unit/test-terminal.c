/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-terminal.c - fd passing over unix sockets (what --console-socket
 * receives), console socket connection errors, and sk_terminal_setup() in a
 * forked child: the parent gets the pty master over a socketpair, talks to
 * the child through it, and the child checks that the pty is its
 * controlling terminal and its stdio.
 */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/util.h"
#include "runtime/terminal.h"
#include "sk-fork.h"

/* ---- fd passing ---- */

static void test_send_recv(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	char path[] = "/tmp/skiff-unit-term-XXXXXX";
	int sp[2];
	struct stat a, b;

	int file = mkstemp(path);
	assert_true(file >= 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);

	if (sk_terminal_send_fd(sp[0], file, "/dev/pts/7", &err) < 0)
		fail_msg("send: %s", err->msg);
	int got = sk_terminal_recv_fd(sp[1], &err);
	if (got < 0)
		fail_msg("recv: %s", err->msg);
	assert_null(err);
	assert_int_not_equal(got, file);

	/* the same open file: same inode, and a write through one shows in the other
   */
	assert_int_equal(fstat(file, &a), 0);
	assert_int_equal(fstat(got, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	assert_int_equal(write(got, "abc", 3), 3);
	assert_int_equal(lseek(file, 0, SEEK_CUR), 3);
	/* received CLOEXEC: it must not leak into a container's exec */
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);

	close(got);
	close(file);
	close(sp[0]);
	close(sp[1]);
}

static void test_recv_without_fd(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(write(sp[0], "name", 4), 4);
	assert_int_equal(sk_terminal_recv_fd(sp[1], &err), -EBADMSG);
	assert_non_null(err);
	assert_true(sk_str_has_prefix(err->msg, "receive terminal: no file descriptor"));
	sk_error_free(err);
	err = NULL;

	/* the peer closed without sending anything */
	close(sp[0]);
	assert_int_equal(sk_terminal_recv_fd(sp[1], &err), -EBADMSG);
	assert_true(sk_str_has_prefix(err->msg, "receive terminal: no file descriptor"));
	sk_error_free(err);
	err = NULL;

	/* not a socket */
	close(sp[1]);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(sk_terminal_recv_fd(devnull, &err), -ENOTSOCK);
	assert_true(sk_str_has_prefix(err->msg, "receive terminal: "));
	close(devnull);
}

static void test_send_errors(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	/* no such fd to pass */
	assert_int_equal(sk_terminal_send_fd(sp[0], 1000000, "x", &err), -EBADF);
	assert_non_null(err);
	_cleanup_free_ char *want =
	    sk_asprintf("send terminal to console socket: %s", strerror(EBADF));
	assert_string_equal(err->msg, want);
	sk_error_free(err);
	err = NULL;

	/* the receiver is gone: EPIPE, and no SIGPIPE kills us */
	close(sp[1]);
	assert_int_equal(sk_terminal_send_fd(sp[0], 0, "x", &err), -EPIPE);
	assert_true(sk_str_has_prefix(err->msg, "send terminal to console socket: "));
	close(sp[0]);
}

/* ---- console socket ---- */

static void test_connect(void **state)
{
	char dir[] = "/tmp/skiff-unit-term-XXXXXX";
	_cleanup_error_ struct sk_error *err = NULL;

	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = sk_path_join(dir, "console.sock");

	/* missing socket: the error names the path */
	assert_int_equal(sk_terminal_connect(path, &err), -ENOENT);
	_cleanup_free_ char *want =
	    sk_asprintf("connect to console socket '%s': %s", path, strerror(ENOENT));
	assert_string_equal(err->msg, want);
	sk_error_free(err);
	err = NULL;

	/* a listening socket: connected, and an fd sent over it arrives */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	int c = sk_terminal_connect(path, &err);
	if (c < 0)
		fail_msg("connect: %s", err->msg);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
	int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(a >= 0);
	assert_int_equal(sk_terminal_send_fd(c, STDIN_FILENO, "stdin", NULL), 0);
	int got = sk_terminal_recv_fd(a, NULL);
	assert_true(got >= 0);
	close(got);
	close(a);
	close(c);
	close(l);

	/* a path that is not a socket */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(sk_write_file_atomic(path, "", 0, 0600, false), 0);
	assert_int_equal(sk_terminal_connect(path, &err), -ECONNREFUSED);
	assert_true(strstr(err->msg, path) != NULL);
	sk_error_free(err);
	err = NULL;
	(void)sk_rm_rf(dir);

	/* longer than sun_path */
	char longp[sizeof(sa.sun_path) + 10];
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(sk_terminal_connect(longp, &err), -ENAMETOOLONG);
	_cleanup_free_ char *want2 =
	    sk_asprintf("console socket '%s': %s", longp, strerror(ENAMETOOLONG));
	assert_string_equal(err->msg, want2);
	sk_error_free(err);
	err = NULL;
	/* exactly sizeof(sun_path) characters leaves no room for the NUL */
	longp[sizeof(sa.sun_path)] = '\0';
	assert_int_equal(sk_terminal_connect(longp, &err), -ENAMETOOLONG);
}

/* ---- the pty ---- */

struct term_child {
	int console; /* the child's end of the console socketpair */
	int report;  /* pipe for errors (stdio becomes the pty) */
	bool set_size;
	bool mount_console;
};

/* In the child: set up the terminal, then talk through stdio. */
static _Noreturn void term_child_main(struct term_child *t)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_process p = { .terminal = true };
	char line[128];

	if (t->mount_console) {
		/* a private mount namespace, so the /dev/console bind stays here */
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			dprintf(t->report, "unshare: %s", strerror(errno));
			_exit(1);
		}
	}
	if (t->set_size) {
		p.has_console_size = true;
		p.console_height = 33;
		p.console_width = 111;
	}
	if (sk_terminal_setup(t->console, &p, t->mount_console, &err) < 0) {
		dprintf(t->report, "%s", err->msg);
		_exit(1);
	}
	close(t->console);
	/* fds 0-2 are the slave and it is our controlling terminal */
	const char *name = ttyname(0);
	struct winsize ws = { 0 };
	(void)ioctl(0, TIOCGWINSZ, &ws);
	printf("tty=%s ctty=%d same=%d size=%ux%u\n", name ? name : "none",
	       tcgetsid(0) == getpid() && getsid(0) == getpid(),
	       name && ttyname(1) && ttyname(2) && !strcmp(ttyname(1), name) &&
		   !strcmp(ttyname(2), name),
	       ws.ws_row, ws.ws_col);
	if (t->mount_console) {
		struct stat a, b;
		printf("console=%d\n", stat("/dev/console", &a) == 0 && fstat(0, &b) == 0 &&
					   a.st_rdev == b.st_rdev);
	}
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		_exit(2);
	printf("got=%s", line);
	fflush(stdout);
	_exit(0);
}

/* Reads from fd until `want` and the end of its line appear, or 5 s pass;
 * returns what was read. */
static char *read_until(int fd, const char *want)
{
	char *buf = sk_malloc0(1);
	size_t len = 0;
	uint64_t end = sk_now_ns() + 5000000000ull;

	for (;;) {
		const char *at = strstr(buf, want);
		if ((at && strchr(at, '\n')) || sk_now_ns() >= end)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		char chunk[512];
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		buf = sk_realloc(buf, len + (size_t)n + 1);
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
	}
	return buf;
}

static void run_pty(bool set_size, bool mount_console)
{
	int sp[2], rp[2], status = 0;
	struct term_child t = { .set_size = set_size, .mount_console = mount_console };
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(pipe2(rp, O_CLOEXEC), 0);
	t.console = sp[1];
	t.report = rp[1];
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sp[0]);
		close(rp[0]);
		term_child_main(&t);
	}
	close(sp[1]);
	close(rp[1]);

	int master = sk_terminal_recv_fd(sp[0], &err);
	close(sp[0]);
	if (master < 0) {
		_cleanup_free_ char *why = read_until(rp[0], "\x01");
		(void)waitpid(pid, NULL, 0);
		fail_msg("receive master: %s (child: %s)", err->msg, why);
	}
	/* it is a pty master */
	char pts[64];
	assert_int_equal(ptsname_r(master, pts, sizeof(pts)), 0);
	assert_true(sk_str_has_prefix(pts, "/dev/pts/"));

	_cleanup_free_ char *hello = read_until(master, mount_console ? "console=" : "size=");
	_cleanup_free_ char *want =
	    sk_asprintf("tty=%s ctty=1 same=1 size=%s", pts, set_size ? "33x111" : "0x0");
	if (!strstr(hello, want))
		fail_msg("child said '%s', want '%s'", hello, want);
	if (mount_console && !strstr(hello, "console=1"))
		fail_msg("/dev/console is not the pty: '%s'", hello);

	/* what we type reaches the child's stdin; what it prints comes back */
	assert_int_equal(write(master, "ping 42\n", 8), 8);
	_cleanup_free_ char *reply = read_until(master, "got=ping 42");
	if (!strstr(reply, "got=ping 42"))
		fail_msg("no echo from the child: '%s'", reply);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	_cleanup_free_ char *why = read_until(rp[0], "\x01");
	close(rp[0]);
	close(master);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child status 0x%x: %s", status, why);
	assert_string_equal(why, "");
}

static void test_setup(void **state)
{
	run_pty(false, false);
}

static void test_setup_size(void **state)
{
	run_pty(true, false);
}

static void test_setup_mount_console(void **state)
{
	struct stat sb;

	if (geteuid() != 0 || stat("/dev/console", &sb) < 0)
		skip();
	run_pty(true, true);
}

/* The console socket is not usable: the error says so, and the pty is not
 * leaked. */
/* Whether fd i is open and refers to a pty (master or slave). */
static bool is_pty_fd(int i)
{
	char link[64], target[256] = "";

	snprintf(link, sizeof(link), "/proc/self/fd/%d", i);
	return readlink(link, target, sizeof(target) - 1) > 0 &&
	       (strstr(target, "ptmx") || strstr(target, "/dev/pts/"));
}

/* The console socket is not usable: the error says so, and the pty is not
 * leaked. */
static int child_bad_socket(void *arg, int fd)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_process p = { .terminal = true };
	bool before[256];
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return 3;
	close(sp[1]);
	for (int i = 0; i < 256; i++)
		before[i] = is_pty_fd(i);
	int r = sk_terminal_setup(sp[0], &p, false, &err);
	if (r >= 0)
		return 2;
	dprintf(fd, "%d %s", r, err->msg);
	for (int i = 0; i < 256; i++)
		if (!before[i] && is_pty_fd(i))
			dprintf(fd, " leaked pty fd %d", i);
	/* and we did not become a session leader with the pty as controlling tty */
	if (getsid(0) == getpid())
		dprintf(fd, " called setsid");
	return 0;
}

static void test_setup_bad_socket(void **state)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ char *want =
	    sk_asprintf("%d send terminal to console socket: %s", -EPIPE, strerror(EPIPE));

	assert_int_equal(sk_test_fork(child_bad_socket, NULL, &out), 0);
	assert_string_equal(out, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_recv),
		cmocka_unit_test(test_recv_without_fd),
		cmocka_unit_test(test_send_errors),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_setup),
		cmocka_unit_test(test_setup_size),
		cmocka_unit_test(test_setup_mount_console),
		cmocka_unit_test(test_setup_bad_socket),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
