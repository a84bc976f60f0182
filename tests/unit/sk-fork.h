/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sk-fork.h - unit-test helpers for code that changes the calling process
 * (credentials, capabilities, seccomp): run it in a forked child that
 * reports back through a pipe and its exit status, so the test binary
 * itself is never changed.  Header-only; used by the runtime tests.
 */
#ifndef SK_TEST_FORK_H
#define SK_TEST_FORK_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"

/* A child body: writes what it wants to report to `fd`, returns the exit code. */
typedef int (*sk_test_child_fn)(void *arg, int fd);

/*
 * Runs fn in a child.  Returns its exit status (128 + signal when killed)
 * and sets *ret_out (owned, NUL-terminated) to what it wrote, when given.
 */
static inline int sk_test_fork(sk_test_child_fn fn, void *arg, char **ret_out)
{
	int p[2], status = 0;
	char *buf = sk_malloc0(1);
	size_t len = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(p[0]);
		_exit(fn(arg, p[1]) & 0xff);
	}
	close(p[1]);
	for (;;) {
		char chunk[4096];
		ssize_t r = read(p[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		buf = sk_realloc(buf, len + (size_t)r + 1);
		memcpy(buf + len, chunk, (size_t)r);
		len += (size_t)r;
		buf[len] = '\0';
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ret_out)
		*ret_out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The value of a "Name:\tvalue" line of /proc/self/status, whitespace trimmed. */
static inline char *sk_test_status_field(const char *name)
{
	_cleanup_free_ char *buf = NULL;
	size_t n = strlen(name);

	if (sk_read_file("/proc/self/status", &buf, NULL) < 0)
		return NULL;
	for (char *line = buf; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			char *v = line + n + 1;
			size_t l;
			while (*v == ' ' || *v == '\t')
				v++;
			l = strlen(v);
			while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'))
				v[--l] = '\0';
			return sk_strdup(v);
		}
		line = next;
	}
	return NULL;
}

/* Writes an error's message (or "ok") to fd and returns 1 for error, 0 for none. */
static inline int sk_test_report(int fd, int r, struct sk_error *err)
{
	if (r < 0)
		dprintf(fd, "%s", err ? err->msg : "(no message)");
	return r < 0 ? 1 : 0;
}

#endif
