/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.h - a single-threaded epoll event loop: fd watches, timers, signals
 * (signalfd), child processes (pidfd), deferred callbacks and a thread-safe
 * wakeup/post (eventfd).
 *
 * One loop per thread and no globals: skiffd's control loop and each proxy
 * thread own a struct sk_loop.  Everything but sk_loop_post(),
 * sk_loop_wakeup() and sk_loop_stop() must be called on the loop's thread.
 *
 * Ownership.  The loop allocates every handle and owns its memory; the
 * caller holds a borrowed pointer that stays valid until it removes the
 * handle with the matching *_remove() (or, for one-shot children and
 * defers, until their callback has returned), or until sk_loop_free().
 * Removing any handle from any callback, including its own, is safe: the
 * handle is unlinked at once, never called again, and its memory is freed
 * at the end of the current iteration.  The loop never frees `userdata`.
 * The fd given to sk_loop_io_add() stays the caller's (the loop never
 * closes it; remove the watch before closing it); pidfds, the signalfd,
 * the eventfd and epoll fd are the loop's, all O_CLOEXEC.
 *
 * Timers are a binary min-heap on CLOCK_MONOTONIC driving epoll_wait()'s
 * timeout, which has millisecond resolution: a timer never fires early and
 * usually fires within a millisecond of its deadline.  Timers with the
 * same deadline fire in the order they were armed.
 *
 * This is not a thread pool and does no blocking work: hand that to a
 * worker thread that reports back with sk_loop_post().
 */
#ifndef SK_BASE_LOOP_H
#define SK_BASE_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/types.h>

#include "error.h"

struct sk_loop;
struct sk_loop_io;
struct sk_loop_timer;
struct sk_loop_signal;
struct sk_loop_child;
struct sk_loop_defer;

/* Event bits for fd watches; the callback also sees SK_LOOP_HUP/ERR. */
enum {
	SK_LOOP_READ = EPOLLIN,
	SK_LOOP_WRITE = EPOLLOUT,
	SK_LOOP_RDHUP = EPOLLRDHUP,
	SK_LOOP_HUP = EPOLLHUP,
	SK_LOOP_ERR = EPOLLERR,
	SK_LOOP_EDGE = EPOLLET, /* edge-triggered; level-triggered otherwise */
};

/* How a watched child process ended. */
struct sk_loop_child_status {
	pid_t pid;
	bool known;    /* false: not our child (or reaped elsewhere), only "exited" is known */
	int code;      /* CLD_EXITED, CLD_KILLED or CLD_DUMPED when known */
	int status;    /* exit code (CLD_EXITED) or signal number */
	int exit_code; /* shell convention: code, or 128 + signal; -1 when unknown */
};

typedef void (*sk_loop_io_cb)(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events,
			      void *userdata);
typedef void (*sk_loop_timer_cb)(struct sk_loop *loop, struct sk_loop_timer *timer, void *userdata);
typedef void (*sk_loop_signal_cb)(struct sk_loop *loop, struct sk_loop_signal *sig,
				  const struct signalfd_siginfo *info, void *userdata);
typedef void (*sk_loop_child_cb)(struct sk_loop *loop, struct sk_loop_child *child,
				 const struct sk_loop_child_status *status, void *userdata);
typedef void (*sk_loop_defer_cb)(struct sk_loop *loop, void *userdata);

/* Creates a loop.  Returns 0 or a negative errno (epoll/eventfd failure). */
int sk_loop_new(struct sk_loop **ret_loop, struct sk_error **err);

/*
 * Frees the loop and every handle still registered (children's pidfds are
 * closed, watched signals are unblocked again).  Posts not yet run are
 * dropped.  Must not be called from a callback or while another thread may
 * still post.  Accepts NULL.
 */
void sk_loop_free(struct sk_loop *loop);
static inline void sk_loop_freep(struct sk_loop **l)
{
	sk_loop_free(*l);
}

/*
 * Runs iterations until sk_loop_stop().  Returns 0 after a stop, or a
 * negative errno when epoll_wait() fails (EINTR is retried).
 */
int sk_loop_run(struct sk_loop *loop, struct sk_error **err);

/*
 * Runs one iteration, waiting at most timeout_ms (-1: until something
 * happens, 0: do not block).  Returns 0 or a negative errno.
 */
int sk_loop_run_once(struct sk_loop *loop, int timeout_ms, struct sk_error **err);

/* Makes sk_loop_run() return after the current iteration.  Thread-safe. */
void sk_loop_stop(struct sk_loop *loop);

/* Wakes a loop blocked in epoll_wait().  Thread-safe. */
void sk_loop_wakeup(struct sk_loop *loop);

/*
 * Queues cb(loop, userdata) to run on the loop's thread and wakes it.
 * Thread-safe; posts run in the order they were queued.
 */
void sk_loop_post(struct sk_loop *loop, sk_loop_defer_cb cb, void *userdata);

/* CLOCK_MONOTONIC in ns, cached at the start of the current iteration. */
uint64_t sk_loop_now(const struct sk_loop *loop);

/*
 * Watches `fd` for `events` (SK_LOOP_READ/WRITE, optionally SK_LOOP_EDGE).
 * Returns 0 or a negative errno from epoll_ctl (e.g. -EEXIST when the fd is
 * watched already, -EPERM for a regular file).
 */
int sk_loop_io_add(struct sk_loop *loop, int fd, uint32_t events, sk_loop_io_cb cb, void *userdata,
		   struct sk_loop_io **ret_io, struct sk_error **err);
/* Changes the watched events (0 pauses the watch).  Returns 0 or a negative errno. */
int sk_loop_io_modify(struct sk_loop_io *io, uint32_t events, struct sk_error **err);
uint32_t sk_loop_io_events(const struct sk_loop_io *io);
int sk_loop_io_fd(const struct sk_loop_io *io);
/* Stops watching and releases the handle; the fd stays open.  Accepts NULL. */
void sk_loop_io_remove(struct sk_loop_io *io);

/*
 * Creates a timer firing after delay_ns and then every period_ns (0: once).
 * A one-shot timer stays allocated, disarmed, after firing: re-arm it with
 * sk_loop_timer_set() or release it with sk_loop_timer_remove().
 */
struct sk_loop_timer *sk_loop_timer_add(struct sk_loop *loop, uint64_t delay_ns, uint64_t period_ns,
					sk_loop_timer_cb cb, void *userdata);
/* (Re-)arms a timer relative to now, cancelling any pending expiry. */
void sk_loop_timer_set(struct sk_loop_timer *timer, uint64_t delay_ns, uint64_t period_ns);
/* Disarms a timer (cancels it) without releasing it. */
void sk_loop_timer_stop(struct sk_loop_timer *timer);
bool sk_loop_timer_armed(const struct sk_loop_timer *timer);
/* Cancels and releases a timer.  Accepts NULL. */
void sk_loop_timer_remove(struct sk_loop_timer *timer);

/*
 * Delivers `signo` to cb through the loop's signalfd.  Blocks the signal in
 * the calling thread (block it in every thread, e.g. before creating any,
 * for process-directed signals to reach the signalfd reliably).  Returns 0,
 * -EBUSY when the signal is watched already, or -EINVAL.
 */
int sk_loop_signal_add(struct sk_loop *loop, int signo, sk_loop_signal_cb cb, void *userdata,
		       struct sk_loop_signal **ret_sig, struct sk_error **err);
/* Stops watching; unblocks the signal if sk_loop_signal_add() blocked it.  Accepts NULL. */
void sk_loop_signal_remove(struct sk_loop_signal *sig);

/*
 * Calls cb once when process `pid` exits, via pidfd_open().  If it is our
 * child it is reaped with waitid(P_PIDFD) and the status is known.  The
 * handle is released after cb returns.  Returns 0 or a negative errno
 * (-ESRCH: no such process).
 */
int sk_loop_child_add(struct sk_loop *loop, pid_t pid, sk_loop_child_cb cb, void *userdata,
		      struct sk_loop_child **ret_child, struct sk_error **err);
/* As sk_loop_child_add() for a pidfd the loop takes over (closed even on failure). */
int sk_loop_child_add_pidfd(struct sk_loop *loop, int pidfd, pid_t pid, sk_loop_child_cb cb,
			    void *userdata, struct sk_loop_child **ret_child,
			    struct sk_error **err);
/* Stops watching without reaping and closes the pidfd.  Accepts NULL. */
void sk_loop_child_remove(struct sk_loop_child *child);

/*
 * Runs cb at the start of the next iteration (once; the handle is released
 * after cb returns).  A defer queued by a defer runs one iteration later.
 */
struct sk_loop_defer *sk_loop_defer(struct sk_loop *loop, sk_loop_defer_cb cb, void *userdata);
/* Cancels a defer that has not run yet and releases it.  Accepts NULL. */
void sk_loop_defer_cancel(struct sk_loop_defer *defer);

#endif
