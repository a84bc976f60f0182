/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keeper.h - skiff-keeper, the small process that outlives skiffd: the
 * parent of the daemon and the subreaper of every container (see
 * docs/daemon.md).  It holds the read ends of the containers' stdout/stderr
 * pipes and writes them to CRI log files, reaps every child and keeps the
 * exits in memory until the daemon acknowledges them, and restarts the
 * daemon when it dies.  It never parses Compose files, speaks HTTP or
 * touches SQLite.
 *
 * The keeper side is sk_keeper_run(); the rest is the client side skiffd
 * uses over <run_dir>/keeper.sock (AF_UNIX SOCK_SEQPACKET, one text
 * datagram per message, fds passed with SCM_RIGHTS).  The wire format:
 *
 *   client -> keeper   HELLO
 *                      LOG <id> <max_size> <max_files> <o|-><e|-> <path>   + 1 or 2 fds
 *                      ACK <pid>
 *                      SPAWN
 *                      HOLD                                   + 1 to 4 listening sockets
 *                      DROP <key>
 *   keeper -> client   EXIT <pid> <exit_code> <time_ns>
 *                      HELD                                   + 1 socket
 *                      READY
 *                      ERROR <text>
 *
 * HELLO is answered with a HELD per socket held, every unacknowledged EXIT,
 * then READY; later exits are sent as they happen to every client that said
 * HELLO.  HOLD hands over copies of the proxy's listening sockets: while
 * skiffd is dead and restarting, the kernel keeps queueing connections to
 * published ports on them (clients wait instead of being refused), and the
 * next skiffd takes them back from the HELD answers.  DROP closes the held
 * sockets bound to <key> (sk_keeper_addr_key(): "tcp 0.0.0.0:8080").  LOG has no
 * answer unless it is refused (ERROR).  SPAWN is answered with READY or
 * ERROR.  Exits are kept in memory only (at most SK_KEEPER_MAX_EXITS): they
 * survive the daemon, not the keeper.
 */
#ifndef SK_DAEMON_KEEPER_H
#define SK_DAEMON_KEEPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "base/error.h"

#define SK_KEEPER_MAX_EXITS 4096 /* unacknowledged exits kept; the oldest is dropped past it */
#define SK_KEEPER_MAX_MSG 4608	 /* bytes in a datagram: a path plus a few numbers */
#define SK_KEEPER_MAX_ID 128
#define SK_KEEPER_MAX_FDS 4  /* fds in one datagram */
#define SK_KEEPER_MAX_KEY 80 /* "udp [v6 address]:port" */

struct sk_keeper_config {
	const char *run_dir; /* socket at <run_dir>/keeper.sock, pid file <run_dir>/keeper.pid */
	char *const *daemon_argv;  /* argv to exec when (re)starting the daemon, NULL-terminated */
	uint64_t restart_delay_ns; /* first delay before restarting a daemon that died; 0: 1 s;
				    * doubles up to 30 s when it dies within 10 s of its start,
				    * resets otherwise */
};

/*
 * Runs the keeper loop in this process until the daemon exits after a
 * shutdown (SIGTERM/SIGINT to the keeper, forwarded to the daemon as
 * SIGTERM): returns 0 when it exited with status 0, -ECHILD otherwise.
 * With no daemon running at the shutdown the keeper returns 0 at once.
 * Either way the log pipes are drained and their writers closed first.
 *
 * daemon_pid: the daemon child fork()ed by the caller before this call, or
 * 0 to spawn one from daemon_argv right away.  Sets PR_SET_CHILD_SUBREAPER,
 * binds the socket (removing a stale one only if nothing answers:
 * -EADDRINUSE when a keeper lives), writes the pid file, and removes both
 * before it returns.  Blocks SIGCHLD, SIGTERM and SIGINT in the calling
 * thread (a spawned daemon starts with an empty mask and default signal
 * dispositions).  When setup fails, a daemon_pid child is left running: the
 * caller's to stop.
 */
int sk_keeper_run(const struct sk_keeper_config *c, pid_t daemon_pid, struct sk_error **err);

/* ---- client side (skiffd) ---- */

/*
 * Connects to <run_dir>/keeper.sock (SOCK_SEQPACKET, CLOEXEC, blocking: set
 * O_NONBLOCK to poll it from a loop).  *ret_fd is the caller's.  Returns 0,
 * -ECONNREFUSED/-ENOENT when no keeper listens, or another negative errno.
 */
int sk_keeper_connect(const char *run_dir, int *ret_fd, struct sk_error **err);

/*
 * The daemon announces itself: the keeper answers (as messages read with
 * sk_keeper_recv()) every exit not yet acknowledged, then
 * SK_KEEPER_MSG_READY, and sends later exits as they happen.
 */
int sk_keeper_hello(int fd, struct sk_error **err);

/*
 * Hands over the read ends of a container's stdout and stderr pipes (either
 * may be -1, not both).  The keeper writes them to `log_path` (absolute;
 * opened appending; rotation per max_size/max_files, 0 = the logs.h
 * defaults) until EOF on both, and sets O_NONBLOCK on them (a flag of the
 * shared open file).  `id` names the container in the keeper's messages:
 * 1..SK_KEEPER_MAX_ID of [A-Za-z0-9_.-], not starting with '.'.  Closes
 * nothing of the caller's: the caller closes its copies after.  A refusal
 * arrives later as an SK_KEEPER_MSG_ERROR naming the id.
 */
int sk_keeper_send_log(int fd, const char *id, const char *log_path, uint64_t max_size,
		       unsigned max_files, int out_fd, int err_fd, struct sk_error **err);

/* The daemon has recorded the exit of pid: the keeper forgets it (no answer). */
int sk_keeper_ack(int fd, pid_t pid, struct sk_error **err);

/*
 * Asks the keeper to start a daemon from its daemon_argv (a hand-started
 * skiffd when a keeper already lives): answered by SK_KEEPER_MSG_READY once
 * spawned, or SK_KEEPER_MSG_ERROR (a daemon runs already, spawn failed,
 * shutting down).
 */
int sk_keeper_spawn_daemon(int fd, struct sk_error **err);

/*
 * Hands the keeper copies of listening sockets to hold (the caller keeps
 * and closes its own).  Refusals arrive later as SK_KEEPER_MSG_ERROR.
 */
int sk_keeper_hold(int fd, const int *fds, size_t n_fds, struct sk_error **err);

/* The keeper closes every socket it holds bound to key (no answer). */
int sk_keeper_drop(int fd, const char *key, struct sk_error **err);

/* "tcp 10.0.0.1:80", "udp [::1]:53": the key of a SOCK_STREAM/SOCK_DGRAM address. */
int sk_keeper_addr_key(int type, const struct sockaddr *sa, char *buf, size_t n);

/* The key of the address fd is bound to; negative errno for no socket. */
int sk_keeper_socket_key(int fd, char *buf, size_t n);

/* sendmsg() of text with up to SK_KEEPER_MAX_FDS fds (-1 skipped); flags added. */
ssize_t sk_keeper_sendmsg(int fd, const char *text, const int *fds, size_t n_fds, int flags);

enum sk_keeper_msg_type {
	SK_KEEPER_MSG_EXIT,
	SK_KEEPER_MSG_READY,
	SK_KEEPER_MSG_ERROR,
	SK_KEEPER_MSG_HELD,
};

struct sk_keeper_msg {
	enum sk_keeper_msg_type type;
	int fd;		 /* HELD: a listening socket, the caller's to close; else -1 */
	pid_t pid;	 /* EXIT */
	int exit_code;	 /* EXIT: code, or 128 + signal */
	int64_t time_ns; /* EXIT: CLOCK_REALTIME ns when reaped */
	char text[256];	 /* ERROR */
};

/*
 * Reads one message into *ret.  Returns 0, -EAGAIN when none is there (on a
 * non-blocking fd), -ECONNRESET when the keeper is gone, -EBADMSG for a
 * message this client does not understand.
 */
int sk_keeper_recv(int fd, struct sk_keeper_msg *ret, struct sk_error **err);

/* The keeper's pid from <run_dir>/keeper.pid if that process lives, else 0. */
pid_t sk_keeper_pid(const char *run_dir);

/* True for a valid container id in LOG messages (see sk_keeper_send_log()). */
bool sk_keeper_id_valid(const char *id);

#endif
