/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netns.c - persistent network namespaces (a bind mount of an nsfs file,
 * as `ip netns add` makes them) and netlink sockets opened inside one.
 *
 * skiffd is multi-threaded (proxy and DNS threads), so nothing here moves
 * the calling thread: a short-lived helper thread unshare()s or setns()es,
 * does its one job and exits, taking its namespace with it.  Network
 * namespaces are per thread, so the others never notice.
 */
#include <errno.h>
#include <fcntl.h>
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
	snprintf(self, sizeof(self), "/proc/self/task/%d/ns/net", (int)gettid());
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

/* Runs fn(j) on a new thread and waits for it.  0 or -errno (pthread_create). */
static int run_thread(void *(*fn)(void *), struct ns_job *j)
{
	pthread_t t;
	sigset_t all, old;
	int r;

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
