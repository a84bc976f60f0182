/* SPDX-License-Identifier: Apache-2.0 */
/*
 * terminal.c - pty creation inside the container and fd passing.
 */
#include "runtime/terminal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "base/util.h"

int sk_terminal_connect(const char *path, struct sk_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return sk_error_set(err, ENAMETOOLONG, "console socket '%s'", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sk_error_errno(err, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = sk_error_errno(err, "connect to console socket '%s'", path);
		close(fd);
		return e;
	}
	return fd;
}

int sk_terminal_send_fd(int sock, int fd, const char *name, struct sk_error **err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)name, strlen(name) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return sk_error_errno(err, "send terminal to console socket");
	return 0;
}

int sk_terminal_recv_fd(int sock, struct sk_error **err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char name[256];
	struct iovec iov = { name, sizeof(name) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sk_error_errno(err, "receive terminal");
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return sk_error_set(err, EBADMSG, "receive terminal: no file descriptor");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

int sk_terminal_setup(int console_fd, const struct sk_process *p, bool mount_console,
		      struct sk_error **err)
{
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	char name[64];
	int r;

	if (master < 0)
		return sk_error_errno(err, "open /dev/ptmx");
	if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
		return sk_error_errno(err, "set up pty");
	_cleanup_close_ int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return sk_error_errno(err, "open '%s'", name);
	if (p->has_console_size) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_height,
				      .ws_col = (unsigned short)p->console_width };
		(void)ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (mount_console) {
		int f = open("/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (f >= 0)
			close(f);
		if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
			return sk_error_errno(err, "bind '%s' on /dev/console", name);
	}
	if ((r = sk_terminal_send_fd(console_fd, master, name, err)) < 0)
		return r;
	if (setsid() < 0)
		return sk_error_errno(err, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return sk_error_errno(err, "set controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return sk_error_errno(err, "dup2 pty to fd %d", i);
	return 0;
}
