/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keeper-client.c - the skiffd side of the keeper socket (keeper.h): one
 * sendmsg() per request, one recv() per message.  No state is kept here;
 * the fd is the caller's.  The keeper loop itself is keeper.c.
 */
#include "daemon/keeper.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "base/util.h"

bool sk_keeper_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > SK_KEEPER_MAX_ID || id[0] == '.')
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

ssize_t sk_keeper_sendmsg(int fd, const char *text, const int *fds, size_t n_fds, int flags)
{
	union {
		char buf[CMSG_SPACE(SK_KEEPER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int pass[SK_KEEPER_MAX_FDS];
	size_t n = 0;
	ssize_t r;

	for (size_t i = 0; i < n_fds && i < SK_KEEPER_MAX_FDS; i++)
		if (fds[i] >= 0)
			pass[n++] = fds[i];
	if (n > 0) {
		struct cmsghdr *cm;
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cm), pass, n * sizeof(int));
	}
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL | flags);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Sends one datagram with up to SK_KEEPER_MAX_FDS fds (-1 entries are skipped). */
static int send_msg(int fd, const char *text, const int *fds, size_t n_fds, struct sk_error **err)
{
	if (sk_keeper_sendmsg(fd, text, fds, n_fds, 0) < 0)
		return sk_error_errno(err, "keeper: send '%.*s'", (int)strcspn(text, " "), text);
	return 0;
}

int sk_keeper_addr_key(int type, const struct sockaddr *sa, char *buf, size_t n)
{
	char host[INET6_ADDRSTRLEN];
	const char *proto = type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : NULL;
	int w;

	if (!proto)
		return -EAFNOSUPPORT;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		w = snprintf(buf, n, "%s %s:%u", proto, host, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		w = snprintf(buf, n, "%s [%s]:%u", proto, host, ntohs(s6->sin6_port));
	} else {
		return -EAFNOSUPPORT;
	}
	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

int sk_keeper_socket_key(int fd, char *buf, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type;
	socklen_t tl = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return sk_keeper_addr_key(type, (struct sockaddr *)&ss, buf, n);
}

int sk_keeper_hold(int fd, const int *fds, size_t n_fds, struct sk_error **err)
{
	for (size_t i = 0; i < n_fds; i += SK_KEEPER_MAX_FDS) {
		size_t n = n_fds - i < SK_KEEPER_MAX_FDS ? n_fds - i : SK_KEEPER_MAX_FDS;
		int r = send_msg(fd, "HOLD", fds + i, n, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int sk_keeper_drop(int fd, const char *key, struct sk_error **err)
{
	_cleanup_free_ char *msg = sk_asprintf("DROP %s", key);

	return send_msg(fd, msg, NULL, 0, err);
}

int sk_keeper_connect(const char *run_dir, int *ret_fd, struct sk_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/keeper.sock", run_dir);
	_cleanup_close_ int fd = -1;

	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return sk_error_set(err, ENAMETOOLONG, "keeper: socket path in '%s'", run_dir);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sk_error_errno(err, "keeper: create socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return sk_error_errno(err, "keeper: connect to '%s'", sa.sun_path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int sk_keeper_hello(int fd, struct sk_error **err)
{
	return send_msg(fd, "HELLO", NULL, 0, err);
}

int sk_keeper_spawn_daemon(int fd, struct sk_error **err)
{
	return send_msg(fd, "SPAWN", NULL, 0, err);
}

int sk_keeper_ack(int fd, pid_t pid, struct sk_error **err)
{
	char buf[32];

	if (pid <= 0)
		return sk_error_set(err, EINVAL, "keeper: ack of pid %d", (int)pid);
	snprintf(buf, sizeof(buf), "ACK %d", (int)pid);
	return send_msg(fd, buf, NULL, 0, err);
}

int sk_keeper_send_log(int fd, const char *id, const char *log_path, uint64_t max_size,
		       unsigned max_files, int out_fd, int err_fd, struct sk_error **err)
{
	_cleanup_free_ char *msg = NULL;
	int fds[2] = { out_fd, err_fd };

	if (!sk_keeper_id_valid(id))
		return sk_error_set(err, EINVAL, "keeper: invalid container id '%s'", id);
	if (log_path[0] != '/')
		return sk_error_set(err, EINVAL, "keeper: log path '%s' is not absolute", log_path);
	if (out_fd < 0 && err_fd < 0)
		return sk_error_set(err, EINVAL, "keeper: log of '%s' without a pipe", id);
	msg = sk_asprintf("LOG %s %" PRIu64 " %u %c%c %s", id, max_size, max_files,
			  out_fd >= 0 ? 'o' : '-', err_fd >= 0 ? 'e' : '-', log_path);
	if (strlen(msg) >= SK_KEEPER_MAX_MSG)
		return sk_error_set(err, ENAMETOOLONG, "keeper: log path '%s'", log_path);
	return send_msg(fd, msg, fds, 2, err);
}

static int parse_exit(char *args, struct sk_keeper_msg *m)
{
	char *pid = strtok_r(args, " ", &args), *code = strtok_r(NULL, " ", &args);
	char *time = strtok_r(NULL, " ", &args);
	int64_t t;
	int p;

	if (!pid || !code || !time || sk_parse_int(pid, &p) < 0 || p <= 0 ||
	    sk_parse_int(code, &m->exit_code) < 0 || sk_parse_int64(time, &t) < 0)
		return -EBADMSG;
	m->pid = p;
	m->time_ns = t;
	return 0;
}

int sk_keeper_recv(int fd, struct sk_keeper_msg *ret, struct sk_error **err)
{
	union {
		char buf[CMSG_SPACE(SK_KEEPER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	char buf[SK_KEEPER_MAX_MSG + 1];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct sk_keeper_msg m = { .fd = -1 };
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN;
	if (n < 0)
		return sk_error_errno(err, "keeper: receive");
	if (n == 0)
		return sk_error_set(err, ECONNRESET, "keeper: connection closed");
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (m.fd < 0)
				m.fd = got;
			else
				close(got);
		}
	}
	buf[n] = '\0';
	if (m.fd >= 0 && strcmp(buf, "HELD") != 0) {
		close(m.fd);
		return sk_error_set(err, EBADMSG, "keeper: unexpected fd with '%.64s'", buf);
	}
	if (strcmp(buf, "HELD") == 0) {
		if (m.fd < 0)
			return sk_error_set(err, EBADMSG, "keeper: HELD without a socket");
		m.type = SK_KEEPER_MSG_HELD;
	} else if (strcmp(buf, "READY") == 0) {
		m.type = SK_KEEPER_MSG_READY;
	} else if (sk_str_has_prefix(buf, "ERROR ")) {
		m.type = SK_KEEPER_MSG_ERROR;
		snprintf(m.text, sizeof(m.text), "%.255s", buf + 6);
	} else if (sk_str_has_prefix(buf, "EXIT ") && parse_exit(buf + 5, &m) == 0) {
		m.type = SK_KEEPER_MSG_EXIT;
	} else {
		return sk_error_set(err, EBADMSG, "keeper: unexpected message '%.64s'", buf);
	}
	*ret = m;
	return 0;
}

pid_t sk_keeper_pid(const char *run_dir)
{
	_cleanup_free_ char *path = sk_path_join(run_dir, "keeper.pid"), *buf = NULL;
	int pid;

	if (sk_read_file(path, &buf, NULL) < 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	if (sk_parse_int(buf, &pid) < 0 || pid <= 0)
		return 0;
	if (kill(pid, 0) < 0 && errno != EPERM)
		return 0;
	return pid;
}
