/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keeper.c - the keeper loop (keeper.h): one sk_loop with a SIGCHLD/TERM/
 * INT signalfd, the listening socket, one watch per client, one per log
 * pipe, a restart timer and a once-a-second partial-line flush timer.
 *
 * Reaping is waitid(P_ALL, WNOHANG) on every SIGCHLD: the daemon's exit
 * restarts it (with backoff) or ends a shutdown; any other pid is a
 * container (or an orphaned helper) and becomes an EXIT kept until a client
 * acknowledges it.  Replies to a client are queued per client and sent
 * without blocking; a client that stops reading and lets its queue pass
 * MAX_QUEUE is disconnected (its next HELLO gets every unacknowledged exit).
 * This file holds no Compose, HTTP or SQLite code and must stay small.
 */
#include "daemon/keeper.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/util.h"
#include "daemon/logs.h"

extern char **environ;

#define NSEC 1000000000ull
#define DEFAULT_DELAY NSEC
#define MAX_DELAY (30 * NSEC)
#define STABLE_UPTIME (10 * NSEC) /* a daemon that lived this long resets the backoff */
#define FLUSH_PERIOD NSEC	  /* a partial line waits 1-2 s before it is written as P */
#define MAX_CLIENTS 64
#define MAX_QUEUE (SK_KEEPER_MAX_EXITS + MAX_HELD + 64) /* a HELLO's answer fits */
#define MAX_FDS SK_KEEPER_MAX_FDS /* received per message; more are cut (and closed) */
#define READS_PER_WAKEUP 16 /* per pipe per readiness, so one chatty container cannot starve */
#define MAX_HELD 1024	    /* listening sockets held for the daemon */

struct keeper;

struct exit_rec {
	pid_t pid;
	int code;
	int64_t time_ns;
};

struct client {
	struct keeper *k;
	struct client *next;
	int fd;
	struct sk_loop_io *io;
	bool hello, dead;
	struct qmsg *q; /* queued datagrams, q[q_head..q_len) */
	size_t q_head, q_len, q_cap;
};

/* A queued datagram, with the fd it passes (ours to close) or -1. */
struct qmsg {
	char *s;
	int fd;
};

struct log_stream {
	struct sink *sink;
	enum sk_logs_stream stream;
	int fd;
	struct sk_loop_io *io;
	bool fresh; /* data arrived since the last flush tick */
};

struct sink {
	struct keeper *k;
	struct sink *next;
	char *id;
	struct sk_logs_writer *w;
	struct log_stream st[2];
	bool failing; /* the last write failed: warn once per failure streak */
};

struct keeper {
	const struct sk_keeper_config *c;
	struct sk_error **err;
	struct sk_loop *loop;
	char *sock_path, *pid_path;
	int listen_fd;
	struct client *clients;
	size_t n_clients;
	bool sweep_queued;
	struct sink *sinks;
	struct sk_loop_timer *flush_timer, *restart_timer;
	struct exit_rec *exits;
	size_t n_exits;
	int *held; /* listening sockets the daemon asked us to hold (HOLD) */
	size_t n_held;
	pid_t daemon;
	uint64_t daemon_start, delay;
	bool stopping, pid_written;
	int ret;
	char buf[64 * 1024];
};

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * (int64_t)NSEC + ts.tv_nsec;
}

/* ---- clients ---- */

static void client_free(struct client *cl)
{
	sk_loop_io_remove(cl->io);
	if (cl->fd >= 0)
		close(cl->fd);
	for (size_t i = cl->q_head; i < cl->q_len; i++) {
		free(cl->q[i].s);
		if (cl->q[i].fd >= 0)
			close(cl->q[i].fd);
	}
	free(cl->q);
	free(cl);
}

static void sweep_cb(struct sk_loop *loop, void *userdata)
{
	struct keeper *k = userdata;

	k->sweep_queued = false;
	for (struct client **p = &k->clients; *p;) {
		struct client *cl = *p;
		if (!cl->dead) {
			p = &cl->next;
			continue;
		}
		*p = cl->next;
		k->n_clients--;
		client_free(cl);
	}
}

/* Disconnects a client now; its memory goes at the next iteration, so callers may still look. */
static void client_kill(struct client *cl)
{
	if (cl->dead)
		return;
	cl->dead = true;
	sk_loop_io_remove(TAKE_PTR(cl->io));
	close(TAKE_FD(cl->fd));
	if (!cl->k->sweep_queued) {
		cl->k->sweep_queued = true;
		sk_loop_defer(cl->k->loop, sweep_cb, cl->k);
	}
}

static void client_flush(struct client *cl)
{
	uint32_t want;

	while (!cl->dead && cl->q_head < cl->q_len) {
		struct qmsg *m = &cl->q[cl->q_head];
		if (sk_keeper_sendmsg(cl->fd, m->s, &m->fd, m->fd >= 0, MSG_DONTWAIT) >= 0) {
			free(m->s);
			if (m->fd >= 0)
				close(m->fd);
			cl->q_head++;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		sk_debug("keeper: client gone: %m");
		client_kill(cl);
		return;
	}
	if (cl->q_head == cl->q_len)
		cl->q_head = cl->q_len = 0;
	want = SK_LOOP_READ | (cl->q_len > 0 ? SK_LOOP_WRITE : 0);
	if (!cl->dead && sk_loop_io_events(cl->io) != want)
		(void)sk_loop_io_modify(cl->io, want, NULL);
}

/*
 * Queues a datagram passing fd (taken; -1 for none) without sending it: call
 * client_flush() after.
 */
static void client_queue_fd(struct client *cl, char *msg, int fd)
{
	if (!cl->dead && cl->q_len - cl->q_head >= MAX_QUEUE) {
		sk_warn("keeper: a client does not read its messages, disconnecting it");
		client_kill(cl);
	}
	if (cl->dead) {
		free(msg);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (cl->q_head > 0 && cl->q_len == cl->q_cap) {
		memmove(cl->q, cl->q + cl->q_head, (cl->q_len - cl->q_head) * sizeof(*cl->q));
		cl->q_len -= cl->q_head;
		cl->q_head = 0;
	}
	if (cl->q_len == cl->q_cap) {
		cl->q_cap = cl->q_cap ? cl->q_cap * 2 : 16;
		cl->q = sk_realloc(cl->q, cl->q_cap * sizeof(*cl->q));
	}
	cl->q[cl->q_len++] = (struct qmsg){ msg, fd };
}

static void client_queue(struct client *cl, char *msg)
{
	client_queue_fd(cl, msg, -1);
}

static void client_reply(struct client *cl, char *msg)
{
	client_queue(cl, msg);
	client_flush(cl);
}

static void client_error(struct client *cl, struct sk_error *e)
{
	sk_debug("keeper: refused: %s", e->msg);
	client_reply(cl, sk_asprintf("ERROR %.240s", e->msg));
}

static char *exit_msg(const struct exit_rec *e)
{
	return sk_asprintf("EXIT %d %d %" PRId64, (int)e->pid, e->code, e->time_ns);
}

/* ---- exits ---- */

static void exit_add(struct keeper *k, pid_t pid, int code)
{
	struct exit_rec e = { .pid = pid, .code = code, .time_ns = realtime_ns() };

	sk_debug("keeper: pid %d exited with %d", (int)pid, code);
	if (k->n_exits == SK_KEEPER_MAX_EXITS) {
		sk_warn("keeper: %d unacknowledged exits, forgetting that of pid %d",
			SK_KEEPER_MAX_EXITS, (int)k->exits[0].pid);
		memmove(k->exits, k->exits + 1, (k->n_exits - 1) * sizeof(*k->exits));
		k->n_exits--;
	}
	k->exits[k->n_exits++] = e;
	for (struct client *cl = k->clients; cl; cl = cl->next)
		if (cl->hello)
			client_reply(cl, exit_msg(&e));
}

static void exit_ack(struct keeper *k, pid_t pid)
{
	for (size_t i = 0; i < k->n_exits; i++) {
		if (k->exits[i].pid != pid)
			continue;
		memmove(k->exits + i, k->exits + i + 1, (k->n_exits - i - 1) * sizeof(*k->exits));
		k->n_exits--;
		return;
	}
	sk_debug("keeper: ack of unknown pid %d", (int)pid);
}

/* ---- log pipes ---- */

static void sink_free(struct keeper *k, struct sink *s)
{
	for (struct sink **p = &k->sinks; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	for (size_t i = 0; i < 2; i++) {
		sk_loop_io_remove(s->st[i].io);
		if (s->st[i].fd >= 0)
			close(s->st[i].fd);
	}
	sk_logs_writer_close(s->w);
	free(s->id);
	free(s);
}

static void sink_check(struct sink *s, int r, struct sk_error *e)
{
	if (r < 0 && !s->failing)
		sk_warn("keeper: log of '%s': %s", s->id, e ? e->msg : "write failed");
	s->failing = r < 0;
}

/* EOF (or a read error) on one stream; frees the sink when both are done. */
static void stream_eof(struct keeper *k, struct log_stream *ls)
{
	struct sink *s = ls->sink;
	_cleanup_error_ struct sk_error *e = NULL;

	sink_check(s, sk_logs_writer_eof(s->w, ls->stream, realtime_ns(), &e), e);
	sk_loop_io_remove(TAKE_PTR(ls->io));
	close(TAKE_FD(ls->fd));
	if (s->st[0].fd < 0 && s->st[1].fd < 0) {
		sk_debug("keeper: log of '%s' done", s->id);
		sink_free(k, s);
	}
}

/* Reads up to `max` chunks (fairness: one chatty container cannot starve the others). */
static void stream_read(struct keeper *k, struct log_stream *ls, int max)
{
	for (int i = 0; i < max; i++) {
		_cleanup_error_ struct sk_error *e = NULL;
		ssize_t n = read(ls->fd, k->buf, sizeof(k->buf));
		if (n > 0) {
			int r = sk_logs_writer_write(ls->sink->w, ls->stream, k->buf, (size_t)n,
						     realtime_ns(), &e);
			sink_check(ls->sink, r, e);
			ls->fresh = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0)
			sk_warn("keeper: read log pipe of '%s': %m", ls->sink->id);
		stream_eof(k, ls);
		return;
	}
}

static void stream_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events,
		      void *userdata)
{
	struct log_stream *ls = userdata;

	stream_read(ls->sink->k, ls, READS_PER_WAKEUP);
}

/* Writes partial lines that waited a whole tick without more data of their stream. */
static void flush_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct keeper *k = userdata;

	if (!k->sinks) {
		sk_loop_timer_stop(t);
		return;
	}
	for (struct sink *s = k->sinks; s; s = s->next) {
		for (size_t i = 0; i < 2; i++) {
			struct log_stream *ls = &s->st[i];
			_cleanup_error_ struct sk_error *e = NULL;
			if (ls->fd >= 0 && !ls->fresh)
				sink_check(s, sk_logs_writer_flush(s->w, ls->stream, 0, &e), e);
			ls->fresh = false;
		}
	}
}

/* Reads what the pipes hold now and closes every writer (held partial lines become F). */
static void sinks_drain(struct keeper *k)
{
	while (k->sinks) {
		struct sink *s = k->sinks;
		/* stream_read() frees the sink at EOF on both streams: then k->sinks moved on */
		for (size_t i = 0; i < 2 && k->sinks == s; i++)
			if (s->st[i].fd >= 0)
				stream_read(k, &s->st[i], 64);
		if (k->sinks == s)
			sink_free(k, s);
	}
}

static int sink_watch(struct keeper *k, struct log_stream *ls, int fd, struct sk_error **err)
{
	struct stat st;
	int fl;

	ls->fd = fd; /* the sink's now, closed with it */
	if (fstat(fd, &st) < 0)
		return sk_error_errno(err, "stat %s pipe", sk_logs_stream_name(ls->stream));
	if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
		return sk_error_set(err, EINVAL, "%s is not a pipe",
				    sk_logs_stream_name(ls->stream));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return sk_error_errno(err, "set %s pipe non-blocking",
				      sk_logs_stream_name(ls->stream));
	return sk_loop_io_add(k->loop, fd, SK_LOOP_READ, stream_cb, ls, &ls->io, err);
}

/* Takes fds[0..1] (set to -1 when taken) for a new sink writing to path. */
static int sink_add(struct keeper *k, const char *id, const char *path,
		    const struct sk_logs_writer_opts *o, int fds[2], struct sk_error **err)
{
	struct sink *s = sk_new0(struct sink, 1);
	int r;

	*s = (struct sink){ .k = k, .id = sk_strdup(id), .next = k->sinks };
	for (size_t i = 0; i < 2; i++)
		s->st[i] = (struct log_stream){ .sink = s, .stream = i, .fd = -1 };
	k->sinks = s;
	r = sk_logs_writer_open(path, o, &s->w, err);
	for (size_t i = 0; r >= 0 && i < 2; i++)
		if (fds[i] >= 0)
			r = sink_watch(k, &s->st[i], TAKE_FD(fds[i]), err);
	if (r < 0) {
		sink_free(k, s);
		return r;
	}
	if (!sk_loop_timer_armed(k->flush_timer))
		sk_loop_timer_set(k->flush_timer, FLUSH_PERIOD, FLUSH_PERIOD);
	sk_debug("keeper: logging '%s' to '%s'", id, path);
	return 0;
}

/* "LOG <id> <max_size> <max_files> <o|-><e|-> <path>" with one fd per stream given. */
static int handle_log(struct keeper *k, char *args, int *fds, size_t n_fds, struct sk_error **err)
{
	char *save = NULL, *id = strtok_r(args, " ", &save), *size = strtok_r(NULL, " ", &save);
	char *files = strtok_r(NULL, " ", &save), *which = strtok_r(NULL, " ", &save);
	const char *path = save;
	struct sk_logs_writer_opts o = { 0 };
	int pipes[2] = { -1, -1 }, n_files, want, r;

	if (!id || !size || !files || !which || !path)
		return sk_error_set(err, EINVAL, "log: malformed request");
	if (!sk_keeper_id_valid(id))
		return sk_error_set(err, EINVAL, "log: invalid id '%.*s'", SK_KEEPER_MAX_ID, id);
	if (sk_parse_uint64(size, &o.max_size) < 0 || sk_parse_int(files, &n_files) < 0 ||
	    n_files < 0 || n_files > 1000)
		return sk_error_set(err, EINVAL, "log %s: invalid rotation limits", id);
	o.max_files = (unsigned)n_files;
	if (strlen(which) != 2 || !strchr("o-", which[0]) || !strchr("e-", which[1]) ||
	    strcmp(which, "--") == 0)
		return sk_error_set(err, EINVAL, "log %s: invalid streams '%.8s'", id, which);
	want = (which[0] == 'o') + (which[1] == 'e');
	if (n_fds != (size_t)want)
		return sk_error_set(err, EINVAL, "log %s: %zu fds for %d streams", id, n_fds, want);
	if (path[0] != '/' || strlen(path) >= PATH_MAX)
		return sk_error_set(err, EINVAL, "log %s: invalid path '%.200s'", id, path);
	pipes[0] = which[0] == 'o' ? TAKE_FD(fds[0]) : -1;
	pipes[1] = which[1] == 'e' ? TAKE_FD(fds[want - 1]) : -1;
	r = sink_add(k, id, path, &o, pipes, err);
	for (size_t i = 0; i < 2; i++)
		if (pipes[i] >= 0)
			close(pipes[i]);
	if (r < 0)
		sk_error_prefix(err, "log %s", id);
	return r;
}

/* ---- the daemon ---- */

static int daemon_spawn(struct keeper *k, struct sk_error **err)
{
	char *const *argv = k->c->daemon_argv;
	posix_spawnattr_t a;
	sigset_t none, dfl;
	pid_t pid;
	int r;

	sigemptyset(&none);
	sigemptyset(&dfl);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&dfl, s);
	posix_spawnattr_init(&a);
	posix_spawnattr_setsigmask(&a, &none);
	posix_spawnattr_setsigdefault(&a, &dfl);
	posix_spawnattr_setflags(&a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(&pid, argv[0], NULL, &a, argv, environ);
	posix_spawnattr_destroy(&a);
	if (r != 0)
		return sk_error_set(err, r, "keeper: spawn daemon '%s'", argv[0]);
	k->daemon = pid;
	k->daemon_start = sk_now_ns();
	sk_info("keeper: daemon started as pid %d", (int)pid);
	return 0;
}

static void daemon_schedule(struct keeper *k, bool stable)
{
	uint64_t base = k->c->restart_delay_ns ? k->c->restart_delay_ns : DEFAULT_DELAY;
	uint64_t cap = base > MAX_DELAY ? base : MAX_DELAY;

	if (stable)
		k->delay = base;
	sk_info("keeper: restarting the daemon in %" PRIu64 " ms", k->delay / 1000000);
	sk_loop_timer_set(k->restart_timer, k->delay, 0);
	if (!stable)
		k->delay = k->delay * 2 > cap ? cap : k->delay * 2;
}

static void restart_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *userdata)
{
	struct keeper *k = userdata;
	_cleanup_error_ struct sk_error *e = NULL;

	if (k->daemon > 0 || k->stopping)
		return;
	if (daemon_spawn(k, &e) < 0) {
		sk_log_error("%s", e->msg);
		daemon_schedule(k, false);
	}
}

static void finish(struct keeper *k)
{
	sinks_drain(k);
	sk_loop_stop(k->loop);
}

static void daemon_exited(struct keeper *k, int code)
{
	bool stable = sk_now_ns() - k->daemon_start >= STABLE_UPTIME;

	sk_info("keeper: daemon pid %d exited with status %d", (int)k->daemon, code);
	k->daemon = 0;
	if (k->stopping) {
		if (code != 0)
			k->ret =
			    sk_error_set(k->err, ECHILD,
					 "keeper: daemon exited with status %d at shutdown", code);
		finish(k);
		return;
	}
	daemon_schedule(k, stable);
}

static void reap(struct keeper *k)
{
	for (;;) {
		siginfo_t si = { 0 };
		int code;

		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				sk_warn("keeper: waitid: %m");
			return;
		}
		if (si.si_pid == 0)
			return;
		code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
		if (si.si_pid == k->daemon)
			daemon_exited(k, code);
		else
			exit_add(k, si.si_pid, code);
	}
}

static void sigchld_cb(struct sk_loop *loop, struct sk_loop_signal *sig,
		       const struct signalfd_siginfo *info, void *userdata)
{
	reap(userdata);
}

static void sigterm_cb(struct sk_loop *loop, struct sk_loop_signal *sig,
		       const struct signalfd_siginfo *info, void *userdata)
{
	struct keeper *k = userdata;

	sk_info("keeper: signal %d, shutting down", (int)info->ssi_signo);
	k->stopping = true;
	sk_loop_timer_stop(k->restart_timer);
	if (k->daemon > 0)
		(void)kill(k->daemon, SIGTERM);
	else
		finish(k);
}

/* ---- held listening sockets ---- */

/* "HOLD" with one or more listening sockets: kept until DROPped or the keeper ends. */
static int handle_hold(struct keeper *k, int *fds, size_t n_fds, struct sk_error **err)
{
	if (n_fds == 0)
		return sk_error_set(err, EINVAL, "hold: no socket");
	if (k->n_held + n_fds > MAX_HELD)
		return sk_error_set(err, ENOSPC, "hold: more than %d sockets", MAX_HELD);
	for (size_t i = 0; i < n_fds; i++) {
		char key[SK_KEEPER_MAX_KEY];
		if (sk_keeper_socket_key(fds[i], key, sizeof(key)) < 0)
			return sk_error_set(err, EINVAL, "hold: fd %zu is not a bound socket", i);
	}
	for (size_t i = 0; i < n_fds; i++) {
		k->held[k->n_held++] = fds[i];
		fds[i] = -1;
	}
	return 0;
}

/* "DROP <key>": closes every held socket bound to that address. */
static void handle_drop(struct keeper *k, const char *key)
{
	for (size_t i = 0; i < k->n_held;) {
		char have[SK_KEEPER_MAX_KEY];
		if (sk_keeper_socket_key(k->held[i], have, sizeof(have)) == 0 &&
		    strcmp(have, key) != 0) {
			i++;
			continue;
		}
		close(k->held[i]);
		k->held[i] = k->held[--k->n_held];
	}
}

/* ---- requests ---- */

static int handle_spawn(struct keeper *k, struct sk_error **err)
{
	if (k->stopping)
		return sk_error_set(err, ESHUTDOWN, "spawn: the keeper is shutting down");
	if (k->daemon > 0)
		return sk_error_set(err, EEXIST, "spawn: a daemon runs already as pid %d",
				    (int)k->daemon);
	sk_loop_timer_stop(k->restart_timer);
	return daemon_spawn(k, err);
}

/* Handles one request; the fds it does not take (set to -1) are closed by the caller. */
static int handle_msg(struct client *cl, char *msg, int *fds, size_t n_fds, struct sk_error **err)
{
	struct keeper *k = cl->k;
	int r, pid;

	if (sk_str_has_prefix(msg, "LOG "))
		return handle_log(k, msg + 4, fds, n_fds, err);
	if (strcmp(msg, "HOLD") == 0)
		return handle_hold(k, fds, n_fds, err);
	if (n_fds > 0)
		return sk_error_set(err, EINVAL, "unexpected fds with '%.32s'", msg);
	if (strcmp(msg, "HELLO") == 0) {
		cl->hello = true;
		for (size_t i = 0; i < k->n_held; i++) {
			int fd = fcntl(k->held[i], F_DUPFD_CLOEXEC, 3);
			if (fd >= 0)
				client_queue_fd(cl, sk_strdup("HELD"), fd);
		}
		for (size_t i = 0; i < k->n_exits; i++)
			client_queue(cl, exit_msg(&k->exits[i]));
		client_reply(cl, sk_strdup("READY"));
	} else if (sk_str_has_prefix(msg, "DROP ")) {
		handle_drop(k, msg + 5);
	} else if (sk_str_has_prefix(msg, "ACK ")) {
		r = sk_parse_int(msg + 4, &pid);
		if (r < 0 || pid <= 0)
			return sk_error_set(err, EINVAL, "ack: invalid pid '%.32s'", msg + 4);
		exit_ack(k, pid);
	} else if (strcmp(msg, "SPAWN") == 0) {
		r = handle_spawn(k, err);
		if (r < 0)
			return r;
		client_reply(cl, sk_strdup("READY"));
	} else {
		return sk_error_set(err, EINVAL, "unknown request '%.32s'", msg);
	}
	return 0;
}

/* Receives one datagram; returns false when there is nothing more to read now. */
static bool client_recv(struct client *cl)
{
	union {
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	char *buf = cl->k->buf;
	struct iovec iov = { .iov_base = buf, .iov_len = SK_KEEPER_MAX_MSG };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	_cleanup_error_ struct sk_error *e = NULL;
	int fds[MAX_FDS], r;
	size_t n_fds = 0;
	ssize_t n = recvmsg(cl->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return errno == EINTR;
	if (n <= 0) {
		client_kill(cl);
		return false;
	}
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t c;
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		c = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < c; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (n_fds < MAX_FDS)
				fds[n_fds++] = fd;
			else
				close(fd);
		}
	}
	buf[n] = '\0';
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		r = sk_error_set(&e, EMSGSIZE, "request too long or with too many fds");
	else if (strlen(buf) != (size_t)n)
		r = sk_error_set(&e, EINVAL, "NUL byte in request");
	else
		r = handle_msg(cl, buf, fds, n_fds, &e);
	/* closed before any answer, so a client that sees ERROR sees its fds closed */
	for (size_t i = 0; i < n_fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r < 0)
		client_error(cl, e);
	return !cl->dead;
}

static void client_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events,
		      void *userdata)
{
	struct client *cl = userdata;

	if (events & SK_LOOP_WRITE)
		client_flush(cl);
	for (int i = 0; i < 32 && !cl->dead && (events & ~SK_LOOP_WRITE); i++)
		if (!client_recv(cl))
			break;
}

static void accept_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events,
		      void *userdata)
{
	struct keeper *k = userdata;

	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct client *cl;
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				sk_warn("keeper: accept: %m");
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    (cred.uid != 0 && cred.uid != geteuid()) || k->n_clients >= MAX_CLIENTS) {
			sk_warn("keeper: refusing a connection (uid or client limit)");
			close(cfd);
			continue;
		}
		cl = sk_new0(struct client, 1);
		*cl = (struct client){ .k = k, .fd = cfd, .next = k->clients };
		if (sk_loop_io_add(loop, cfd, SK_LOOP_READ, client_cb, cl, &cl->io, NULL) < 0) {
			client_free(cl);
			continue;
		}
		k->clients = cl;
		k->n_clients++;
	}
}

/* ---- setup ---- */

/* Binds <run_dir>/keeper.sock, replacing a stale socket nobody answers on. */
static int listen_socket(struct keeper *k, struct sk_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(k->sock_path) >= sizeof(sa.sun_path))
		return sk_error_set(err, ENAMETOOLONG, "keeper: socket path '%s'", k->sock_path);
	strcpy(sa.sun_path, k->sock_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sk_error_errno(err, "keeper: create socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		_cleanup_close_ int probe = -1;
		if (errno != EADDRINUSE)
			return sk_error_errno(err, "keeper: bind '%s'", k->sock_path);
		probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return sk_error_errno(err, "keeper: create socket");
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return sk_error_set(err, EADDRINUSE, "keeper: a keeper listens on '%s'",
					    k->sock_path);
		if (errno != ECONNREFUSED)
			return sk_error_errno(err, "keeper: probe '%s'", k->sock_path);
		sk_info("keeper: removing stale socket '%s'", k->sock_path);
		if (unlink(k->sock_path) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return sk_error_errno(err, "keeper: bind '%s'", k->sock_path);
	}
	k->listen_fd = TAKE_FD(fd);
	if (chmod(k->sock_path, 0600) < 0 || listen(k->listen_fd, 16) < 0)
		return sk_error_errno(err, "keeper: listen on '%s'", k->sock_path);
	return 0;
}

static int keeper_setup(struct keeper *k, pid_t daemon_pid, struct sk_error **err)
{
	struct sk_loop_signal *sig;
	struct sk_loop_io *io;
	char pid[32];
	int r;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return sk_error_errno(err, "keeper: become child subreaper");
	r = sk_loop_new(&k->loop, err);
	if (r < 0)
		return r;
	if ((r = sk_loop_signal_add(k->loop, SIGCHLD, sigchld_cb, k, &sig, err)) < 0 ||
	    (r = sk_loop_signal_add(k->loop, SIGTERM, sigterm_cb, k, &sig, err)) < 0 ||
	    (r = sk_loop_signal_add(k->loop, SIGINT, sigterm_cb, k, &sig, err)) < 0)
		return r;
	r = listen_socket(k, err);
	if (r < 0)
		return r;
	r = sk_loop_io_add(k->loop, k->listen_fd, SK_LOOP_READ, accept_cb, k, &io, err);
	if (r < 0)
		return r;
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	r = sk_write_file_atomic(k->pid_path, pid, strlen(pid), 0644, false);
	if (r < 0)
		return sk_error_set(err, -r, "keeper: write '%s'", k->pid_path);
	k->pid_written = true;
	k->flush_timer = sk_loop_timer_add(k->loop, 0, 0, flush_cb, k);
	sk_loop_timer_stop(k->flush_timer);
	k->restart_timer = sk_loop_timer_add(k->loop, 0, 0, restart_cb, k);
	sk_loop_timer_stop(k->restart_timer);
	if (daemon_pid > 0) {
		k->daemon = daemon_pid;
		k->daemon_start = sk_now_ns();
		return 0;
	}
	return daemon_spawn(k, err);
}

static void keeper_release(struct keeper *k)
{
	while (k->sinks)
		sink_free(k, k->sinks);
	while (k->clients) {
		struct client *cl = k->clients;
		k->clients = cl->next;
		client_free(cl);
	}
	sk_loop_timer_remove(k->flush_timer);
	sk_loop_timer_remove(k->restart_timer);
	sk_loop_free(k->loop);
	if (k->listen_fd >= 0) {
		(void)unlink(k->sock_path);
		close(k->listen_fd);
	}
	if (k->pid_written)
		(void)unlink(k->pid_path);
	for (size_t i = 0; i < k->n_held; i++)
		close(k->held[i]);
	free(k->held);
	free(k->exits);
	free(k->sock_path);
	free(k->pid_path);
}

int sk_keeper_run(const struct sk_keeper_config *c, pid_t daemon_pid, struct sk_error **err)
{
	struct keeper *k = sk_new0(struct keeper, 1);
	int r;

	assert(c && c->run_dir && c->daemon_argv && c->daemon_argv[0]);
	*k = (struct keeper){ .c = c,
			      .err = err,
			      .listen_fd = -1,
			      .sock_path = sk_path_join(c->run_dir, "keeper.sock"),
			      .pid_path = sk_path_join(c->run_dir, "keeper.pid"),
			      .exits = sk_new0(struct exit_rec, SK_KEEPER_MAX_EXITS),
			      .held = sk_new0(int, MAX_HELD),
			      .delay = c->restart_delay_ns ? c->restart_delay_ns : DEFAULT_DELAY };
	r = keeper_setup(k, daemon_pid, err);
	if (r >= 0) {
		reap(k); /* a daemon or child that exited before SIGCHLD was blocked */
		r = sk_loop_run(k->loop, err);
	}
	if (r >= 0)
		r = k->ret;
	keeper_release(k);
	free(k);
	return r;
}
