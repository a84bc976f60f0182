/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netns.c - persistent network namespaces (a bind mount of an nsfs file,
 * as `ip netns add` makes them) and netlink sockets opened inside one.
 *
 * skiffd is multi-threaded (proxy and DNS threads), so nothing here moves
 * the calling thread: a short-lived helper thread unshare()s or setns()es,
 * does its one job and exits, taking its namespace with it.  Network
 * namespaces are per thread, so the others never notice.  A single-threaded
 * process (skiffd's forked launch helpers) does the job on its own thread
 * and setns()es back: threads must not be made after fork() of a
 * multi-threaded process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "net/net.h"

struct ns_job {
	const char *path; /* create: the bind-mount target */
	int netns_fd;	  /* open: the namespace to enter */
	struct sk_nl *nl;
	const char *what; /* the step that failed */
	int r;
};

static void *create_thread(void *arg)
{
	struct ns_job *j = arg;
	char self[64];

	if (unshare(CLONE_NEWNET) < 0) {
		j->what = "unshare";
		j->r = -errno;
		return NULL;
	}
	snprintf(self, sizeof(self), "/proc/%d/task/%d/ns/net", (int)getpid(), (int)gettid());
	if (mount(self, j->path, NULL, MS_BIND, NULL) < 0) {
		j->what = "bind mount";
		j->r = -errno;
	}
	return NULL;
}

static void *open_thread(void *arg)
{
	struct ns_job *j = arg;

	if (setns(j->netns_fd, CLONE_NEWNET) < 0) {
		j->r = -errno;
		return NULL;
	}
	j->r = sk_nl_open(j->nl, NETLINK_ROUTE);
	return NULL;
}

/* Whether this process has one thread (/proc/self/status "Threads:"). */
static bool single_threaded(void)
{
	char buf[4096];
	const char *t;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	t = strstr(buf, "\nThreads:");
	return t && strtol(t + 9, NULL, 10) == 1;
}

/*
 * Runs fn(j) in the calling thread and puts the thread back into its network
 * namespace after: for a single-threaded process, such as a helper forked
 * from skiffd, where pthread_create() is unsafe (a lock another thread held
 * at fork time, ASan's thread registry among them, is never released).
 */
static int run_inline(void *(*fn)(void *), struct ns_job *j)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (self < 0)
		return -errno;
	(void)fn(j);
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* stuck in another namespace: nothing after this would be right */
	return 0;
}

/*
 * Runs fn(j) on a new thread and waits for it (or inline when the process is
 * single-threaded).  0 or -errno (pthread_create).
 */
static int run_thread(void *(*fn)(void *), struct ns_job *j)
{
	pthread_t t;
	sigset_t all, old;
	int r;

	if (single_threaded())
		return run_inline(fn, j);

	/* the helper thread takes no signals (a SIGTERM meant for the caller's loop) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&t, NULL, fn, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (r != 0)
		return -r;
	(void)pthread_join(t, NULL);
	return 0;
}

int sk_netns_create(const char *path, struct sk_error **err)
{
	struct ns_job j = { .path = path };
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return sk_error_errno(err, "create netns '%s'", path);
	r = run_thread(create_thread, &j);
	if (r == 0)
		r = j.r;
	if (r < 0) {
		(void)unlink(path);
		return sk_error_set(err, -r, "create netns '%s': %s", path,
				    j.what ? j.what : "thread");
	}
	return 0;
}

int sk_netns_delete(const char *path, struct sk_error **err)
{
	/* Stacked mounts (a create that raced another) come off one by one. */
	for (int i = 0; i < 8; i++) {
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			break;
		return sk_error_errno(err, "delete netns '%s': unmount", path);
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return sk_error_errno(err, "delete netns '%s': unlink", path);
	return 0;
}

int sk_nl_open_in_netns(struct sk_nl *nl, int netns_fd)
{
	struct ns_job j = { .netns_fd = netns_fd, .nl = nl };
	int r = run_thread(open_thread, &j);

	return r < 0 ? r : j.r;
}
