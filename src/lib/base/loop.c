/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.c - the epoll event loop declared in loop.h.
 *
 * One iteration: run the defers queued before it, wait in epoll_wait() for
 * at most the time to the earliest timer, dispatch fd events (io watches,
 * the signalfd, pidfds, the wakeup eventfd), fire expired timers, then free
 * the handles removed during the iteration.  Removed handles are only
 * marked dead while an iteration runs, so events already fetched for them
 * are skipped instead of touching freed memory.
 */
#include "loop.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define LOOP_MAX_EVENTS 64
#define HEAP_NONE SIZE_MAX

enum handle_type { H_IO, H_TIMER, H_SIGNAL, H_CHILD, H_SIGFD, H_WAKE };

struct handle {
	struct sk_loop *loop;
	enum handle_type type;
	bool dead;
	struct handle *dead_next;
};

struct sk_loop_io {
	struct handle h;
	int fd;
	uint32_t events;
	bool registered; /* in the epoll set (not while events == 0) */
	sk_loop_io_cb cb;
	void *userdata;
};

struct sk_loop_timer {
	struct handle h;
	uint64_t deadline, period, seq;
	size_t idx;   /* position in the heap or HEAP_NONE */
	bool pending; /* expired in this iteration, callback not run yet */
	sk_loop_timer_cb cb;
	void *userdata;
};

struct sk_loop_signal {
	struct handle h;
	int signo;
	bool blocked_by_us;
	sk_loop_signal_cb cb;
	void *userdata;
};

struct sk_loop_child {
	struct handle h;
	int pidfd;
	pid_t pid;
	sk_loop_child_cb cb;
	void *userdata;
};

struct sk_loop_defer {
	struct sk_loop *loop;
	bool dead;
	struct sk_loop_defer *next;
	sk_loop_defer_cb cb;
	void *userdata;
};

struct post {
	sk_loop_defer_cb cb;
	void *userdata;
};

struct sk_loop {
	int epfd;
	atomic_bool stop;
	bool in_iteration;
	uint64_t now;

	struct handle wake; /* the eventfd's epoll tag */
	int wakefd;
	pthread_mutex_t post_lock;
	struct post *posts;
	size_t n_posts, cap_posts;

	struct handle sigfd_h;
	int sigfd;
	sigset_t sigmask;
	struct sk_loop_signal *sigs[_NSIG];

	struct sk_loop_timer **heap, **expired;
	size_t n_heap, cap_heap, n_expired, cap_expired;
	uint64_t timer_seq;

	struct sk_loop_defer *defer_head, *defer_tail;
	struct handle *dead;

	/* Every live io and child handle, for sk_loop_free(). */
	struct handle **live;
	size_t n_live, cap_live;
};

/* ---- handle bookkeeping ---- */

static void live_add(struct sk_loop *loop, struct handle *h)
{
	if (loop->n_live == loop->cap_live) {
		loop->cap_live = loop->cap_live ? loop->cap_live * 2 : 16;
		loop->live = sk_realloc(loop->live, loop->cap_live * sizeof(*loop->live));
	}
	loop->live[loop->n_live++] = h;
}

static void live_del(struct sk_loop *loop, struct handle *h)
{
	for (size_t i = loop->n_live; i-- > 0;)
		if (loop->live[i] == h) {
			loop->live[i] = loop->live[--loop->n_live];
			return;
		}
}

/* Marks h dead; frees it now, or at the end of the running iteration. */
static void handle_release(struct handle *h)
{
	struct sk_loop *loop = h->loop;

	assert(!h->dead);
	h->dead = true;
	if (h->type == H_IO || h->type == H_CHILD)
		live_del(loop, h);
	if (loop->in_iteration) {
		h->dead_next = loop->dead;
		loop->dead = h;
	} else {
		free(h);
	}
}

static void free_dead(struct sk_loop *loop)
{
	while (loop->dead) {
		struct handle *h = loop->dead;
		loop->dead = h->dead_next;
		free(h);
	}
}

/* ---- timer heap ---- */

static bool timer_before(const struct sk_loop_timer *a, const struct sk_loop_timer *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(struct sk_loop *loop, size_t i, struct sk_loop_timer *t)
{
	loop->heap[i] = t;
	t->idx = i;
}

static void heap_up(struct sk_loop *loop, size_t i)
{
	struct sk_loop_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(t, loop->heap[parent]))
			break;
		heap_place(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_place(loop, i, t);
}

static void heap_down(struct sk_loop *loop, size_t i)
{
	struct sk_loop_timer *t = loop->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= loop->n_heap)
			break;
		if (c + 1 < loop->n_heap && timer_before(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!timer_before(loop->heap[c], t))
			break;
		heap_place(loop, i, loop->heap[c]);
		i = c;
	}
	heap_place(loop, i, t);
}

static void heap_push(struct sk_loop *loop, struct sk_loop_timer *t)
{
	if (loop->n_heap == loop->cap_heap) {
		loop->cap_heap = loop->cap_heap ? loop->cap_heap * 2 : 16;
		loop->heap = sk_realloc(loop->heap, loop->cap_heap * sizeof(*loop->heap));
	}
	t->seq = loop->timer_seq++;
	heap_place(loop, loop->n_heap++, t);
	heap_up(loop, t->idx);
}

static void heap_remove(struct sk_loop *loop, struct sk_loop_timer *t)
{
	size_t i = t->idx;
	struct sk_loop_timer *last;

	assert(i < loop->n_heap && loop->heap[i] == t);
	t->idx = HEAP_NONE;
	last = loop->heap[--loop->n_heap];
	if (last == t)
		return;
	heap_place(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->idx);
}

/* ---- loop lifecycle ---- */

static int epoll_add_tag(struct sk_loop *loop, int fd, uint32_t events, void *tag)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int sk_loop_new(struct sk_loop **ret_loop, struct sk_error **err)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = sk_new0(struct sk_loop, 1);
	int r;

	loop->sigfd = -1;
	loop->wakefd = -1;
	loop->wake.type = H_WAKE;
	loop->sigfd_h.type = H_SIGFD;
	sigemptyset(&loop->sigmask);
	pthread_mutex_init(&loop->post_lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return sk_error_errno(err, "create epoll instance");
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wakefd < 0)
		return sk_error_errno(err, "create wakeup eventfd");
	r = epoll_add_tag(loop, loop->wakefd, EPOLLIN, &loop->wake);
	if (r < 0)
		return sk_error_set(err, -r, "watch wakeup eventfd");
	loop->now = sk_now_ns();
	*ret_loop = TAKE_PTR(loop);
	return 0;
}

static void free_handles(struct sk_loop *loop)
{
	while (loop->n_live > 0) {
		struct handle *h = loop->live[loop->n_live - 1];
		if (h->type == H_IO)
			sk_loop_io_remove((struct sk_loop_io *)h);
		else
			sk_loop_child_remove((struct sk_loop_child *)h);
	}
	for (int s = 1; s < _NSIG; s++)
		sk_loop_signal_remove(loop->sigs[s]);
	while (loop->n_heap > 0)
		sk_loop_timer_remove(loop->heap[loop->n_heap - 1]);
	while (loop->defer_head) {
		struct sk_loop_defer *d = loop->defer_head;
		loop->defer_head = d->next;
		free(d);
	}
}

void sk_loop_free(struct sk_loop *loop)
{
	if (!loop)
		return;
	assert(!loop->in_iteration);
	free_handles(loop);
	free_dead(loop);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	pthread_mutex_destroy(&loop->post_lock);
	free(loop->posts);
	free(loop->heap);
	free(loop->expired);
	free(loop->live);
	free(loop);
}

uint64_t sk_loop_now(const struct sk_loop *loop)
{
	return loop->now;
}

/* ---- wakeup, posts, stop ---- */

void sk_loop_wakeup(struct sk_loop *loop)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: the loop is awake anyway. */
	(void)!write(loop->wakefd, &one, sizeof(one));
}

void sk_loop_post(struct sk_loop *loop, sk_loop_defer_cb cb, void *userdata)
{
	pthread_mutex_lock(&loop->post_lock);
	if (loop->n_posts == loop->cap_posts) {
		loop->cap_posts = loop->cap_posts ? loop->cap_posts * 2 : 8;
		loop->posts = sk_realloc(loop->posts, loop->cap_posts * sizeof(*loop->posts));
	}
	loop->posts[loop->n_posts++] = (struct post){ cb, userdata };
	pthread_mutex_unlock(&loop->post_lock);
	sk_loop_wakeup(loop);
}

void sk_loop_stop(struct sk_loop *loop)
{
	atomic_store(&loop->stop, true);
	sk_loop_wakeup(loop);
}

static void run_posts(struct sk_loop *loop)
{
	uint64_t count;
	struct post *posts;
	size_t n;

	(void)!read(loop->wakefd, &count, sizeof(count));
	pthread_mutex_lock(&loop->post_lock);
	posts = TAKE_PTR(loop->posts);
	n = loop->n_posts;
	loop->n_posts = loop->cap_posts = 0;
	pthread_mutex_unlock(&loop->post_lock);
	for (size_t i = 0; i < n; i++)
		posts[i].cb(loop, posts[i].userdata);
	free(posts);
}

/* ---- fd watches ---- */

int sk_loop_io_add(struct sk_loop *loop, int fd, uint32_t events, sk_loop_io_cb cb, void *userdata,
		   struct sk_loop_io **ret_io, struct sk_error **err)
{
	struct sk_loop_io *io = sk_new0(struct sk_loop_io, 1);
	int r;

	assert(fd >= 0 && cb);
	io->h = (struct handle){ .loop = loop, .type = H_IO };
	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->userdata = userdata;
	if (events) {
		r = epoll_add_tag(loop, fd, events, io);
		if (r < 0) {
			free(io);
			return sk_error_set(err, -r, "watch fd %d", fd);
		}
		io->registered = true;
	}
	live_add(loop, &io->h);
	*ret_io = io;
	return 0;
}

int sk_loop_io_modify(struct sk_loop_io *io, uint32_t events, struct sk_error **err)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };
	int op;

	assert(!io->h.dead);
	if (events == io->events && io->registered == (events != 0))
		return 0;
	/* A paused watch leaves the epoll set, or HUP/ERR would still wake us. */
	op = !events ? EPOLL_CTL_DEL : io->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(io->h.loop->epfd, op, io->fd, &ev) < 0)
		return sk_error_errno(err, "watch fd %d", io->fd);
	io->registered = events != 0;
	io->events = events;
	return 0;
}

uint32_t sk_loop_io_events(const struct sk_loop_io *io)
{
	return io->events;
}

int sk_loop_io_fd(const struct sk_loop_io *io)
{
	return io->fd;
}

void sk_loop_io_remove(struct sk_loop_io *io)
{
	if (!io)
		return;
	/* EBADF/ENOENT when the caller closed the fd first: nothing to undo. */
	if (io->registered)
		(void)epoll_ctl(io->h.loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->registered = false;
	handle_release(&io->h);
}

/* ---- timers ---- */

struct sk_loop_timer *sk_loop_timer_add(struct sk_loop *loop, uint64_t delay_ns, uint64_t period_ns,
					sk_loop_timer_cb cb, void *userdata)
{
	struct sk_loop_timer *t = sk_new0(struct sk_loop_timer, 1);

	assert(cb);
	t->h = (struct handle){ .loop = loop, .type = H_TIMER };
	t->idx = HEAP_NONE;
	t->cb = cb;
	t->userdata = userdata;
	sk_loop_timer_set(t, delay_ns, period_ns);
	return t;
}

void sk_loop_timer_stop(struct sk_loop_timer *t)
{
	if (t->idx != HEAP_NONE)
		heap_remove(t->h.loop, t);
	t->pending = false;
}

void sk_loop_timer_set(struct sk_loop_timer *t, uint64_t delay_ns, uint64_t period_ns)
{
	assert(!t->h.dead);
	sk_loop_timer_stop(t);
	t->deadline = sk_now_ns() + delay_ns;
	t->period = period_ns;
	heap_push(t->h.loop, t);
}

bool sk_loop_timer_armed(const struct sk_loop_timer *t)
{
	return t && (t->idx != HEAP_NONE || t->pending);
}

void sk_loop_timer_remove(struct sk_loop_timer *t)
{
	if (!t)
		return;
	sk_loop_timer_stop(t);
	handle_release(&t->h);
}

/* Milliseconds until the first deadline, rounded up; -1 without timers. */
static int timers_timeout(struct sk_loop *loop)
{
	uint64_t now, d;

	if (loop->n_heap == 0)
		return -1;
	now = sk_now_ns();
	d = loop->heap[0]->deadline;
	if (d <= now)
		return 0;
	d = (d - now + 999999) / 1000000;
	return d > INT32_MAX ? INT32_MAX : (int)d;
}

static void collect_expired(struct sk_loop *loop)
{
	while (loop->n_heap > 0 && loop->heap[0]->deadline <= loop->now) {
		struct sk_loop_timer *t = loop->heap[0];
		heap_remove(loop, t);
		t->pending = true;
		if (loop->n_expired == loop->cap_expired) {
			loop->cap_expired = loop->cap_expired ? loop->cap_expired * 2 : 16;
			loop->expired =
			    sk_realloc(loop->expired, loop->cap_expired * sizeof(*loop->expired));
		}
		loop->expired[loop->n_expired++] = t;
	}
}

/* Fires the timers due now; a callback may stop, re-arm or remove any timer. */
static void run_timers(struct sk_loop *loop)
{
	collect_expired(loop);
	for (size_t i = 0; i < loop->n_expired; i++) {
		struct sk_loop_timer *t = loop->expired[i];
		if (t->h.dead || !t->pending)
			continue;
		t->pending = false;
		if (t->period) {
			t->deadline += t->period;
			if (t->deadline <= loop->now) /* missed periods are skipped */
				t->deadline = loop->now + t->period;
			heap_push(loop, t);
		}
		t->cb(loop, t, t->userdata);
	}
	loop->n_expired = 0;
}

/* ---- signals ---- */

static int sigfd_update(struct sk_loop *loop)
{
	int fd = signalfd(loop->sigfd, &loop->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	int r;

	if (fd < 0)
		return -errno;
	if (loop->sigfd < 0) {
		r = epoll_add_tag(loop, fd, EPOLLIN, &loop->sigfd_h);
		if (r < 0) {
			close(fd);
			return r;
		}
		loop->sigfd = fd;
	}
	return 0;
}

int sk_loop_signal_add(struct sk_loop *loop, int signo, sk_loop_signal_cb cb, void *userdata,
		       struct sk_loop_signal **ret_sig, struct sk_error **err)
{
	struct sk_loop_signal *s;
	sigset_t one, old;
	int r;

	if (signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP)
		return sk_error_set(err, EINVAL, "watch signal %d", signo);
	if (loop->sigs[signo])
		return sk_error_set(err, EBUSY, "watch signal %d", signo);
	sigemptyset(&one);
	sigaddset(&one, signo);
	r = pthread_sigmask(SIG_BLOCK, &one, &old);
	if (r != 0)
		return sk_error_set(err, r, "block signal %d", signo);
	sigaddset(&loop->sigmask, signo);
	r = sigfd_update(loop);
	if (r < 0) {
		sigdelset(&loop->sigmask, signo);
		if (!sigismember(&old, signo))
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		return sk_error_set(err, -r, "signalfd for signal %d", signo);
	}
	s = sk_new0(struct sk_loop_signal, 1);
	*s = (struct sk_loop_signal){ .h = { .loop = loop, .type = H_SIGNAL },
				      .signo = signo,
				      .blocked_by_us = !sigismember(&old, signo),
				      .cb = cb,
				      .userdata = userdata };
	loop->sigs[signo] = s;
	if (ret_sig)
		*ret_sig = s;
	return 0;
}

void sk_loop_signal_remove(struct sk_loop_signal *s)
{
	struct sk_loop *loop;
	sigset_t one;

	if (!s)
		return;
	loop = s->h.loop;
	loop->sigs[s->signo] = NULL;
	sigdelset(&loop->sigmask, s->signo);
	/* Shrinking the mask of an existing signalfd cannot fail in practice. */
	(void)sigfd_update(loop);
	if (s->blocked_by_us) {
		sigemptyset(&one);
		sigaddset(&one, s->signo);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	}
	handle_release(&s->h);
}

static void dispatch_signals(struct sk_loop *loop)
{
	struct signalfd_siginfo si;

	while (read(loop->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		struct sk_loop_signal *s = si.ssi_signo < _NSIG ? loop->sigs[si.ssi_signo] : NULL;
		if (s)
			s->cb(loop, s, &si, s->userdata);
	}
}

/* ---- children ---- */

int sk_loop_child_add_pidfd(struct sk_loop *loop, int pidfd, pid_t pid, sk_loop_child_cb cb,
			    void *userdata, struct sk_loop_child **ret_child, struct sk_error **err)
{
	struct sk_loop_child *c;
	int r;

	assert(cb);
	c = sk_new0(struct sk_loop_child, 1);
	*c = (struct sk_loop_child){ .h = { .loop = loop, .type = H_CHILD },
				     .pidfd = pidfd,
				     .pid = pid,
				     .cb = cb,
				     .userdata = userdata };
	r = epoll_add_tag(loop, pidfd, EPOLLIN, c);
	if (r < 0) {
		close(pidfd);
		free(c);
		return sk_error_set(err, -r, "watch pidfd of process %d", (int)pid);
	}
	live_add(loop, &c->h);
	if (ret_child)
		*ret_child = c;
	return 0;
}

int sk_loop_child_add(struct sk_loop *loop, pid_t pid, sk_loop_child_cb cb, void *userdata,
		      struct sk_loop_child **ret_child, struct sk_error **err)
{
	int fd = pidfd_open(pid, 0);

	if (fd < 0)
		return sk_error_errno(err, "pidfd_open for process %d", (int)pid);
	/* pidfd_open() sets O_CLOEXEC itself. */
	return sk_loop_child_add_pidfd(loop, fd, pid, cb, userdata, ret_child, err);
}

void sk_loop_child_remove(struct sk_loop_child *c)
{
	if (!c)
		return;
	(void)epoll_ctl(c->h.loop->epfd, EPOLL_CTL_DEL, c->pidfd, NULL);
	close(c->pidfd);
	c->pidfd = -1;
	handle_release(&c->h);
}

static void fill_status(struct sk_loop_child_status *st, const siginfo_t *si)
{
	st->known = true;
	st->code = si->si_code;
	st->status = si->si_status;
	st->exit_code = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
}

static void dispatch_child(struct sk_loop *loop, struct sk_loop_child *c)
{
	struct sk_loop_child_status st = { .pid = c->pid, .exit_code = -1 };
	siginfo_t si = { 0 };
	int r;

	do
		r = waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0 && si.si_pid == 0)
		return; /* readable but not waitable yet: wait for the next wakeup */
	if (r == 0)
		fill_status(&st, &si);
	/* r < 0 (ECHILD): not our child, or reaped elsewhere: it exited. */
	c->cb(loop, c, &st, c->userdata);
	if (!c->h.dead)
		sk_loop_child_remove(c);
}

/* ---- defers ---- */

struct sk_loop_defer *sk_loop_defer(struct sk_loop *loop, sk_loop_defer_cb cb, void *userdata)
{
	struct sk_loop_defer *d = sk_new0(struct sk_loop_defer, 1);

	assert(cb);
	d->loop = loop;
	d->cb = cb;
	d->userdata = userdata;
	if (loop->defer_tail)
		loop->defer_tail->next = d;
	else
		loop->defer_head = d;
	loop->defer_tail = d;
	return d;
}

void sk_loop_defer_cancel(struct sk_loop_defer *d)
{
	/* Freed when the queue reaches it: it may sit in the middle of a list. */
	if (d)
		d->dead = true;
}

static void run_defers(struct sk_loop *loop)
{
	struct sk_loop_defer *d = loop->defer_head;

	loop->defer_head = loop->defer_tail = NULL;
	while (d) {
		struct sk_loop_defer *next = d->next;
		if (!d->dead)
			d->cb(loop, d->userdata);
		free(d);
		d = next;
	}
}

/* ---- iteration ---- */

static void dispatch(struct sk_loop *loop, const struct epoll_event *ev)
{
	struct handle *h = ev->data.ptr;

	if (h->dead)
		return;
	switch (h->type) {
	case H_IO: {
		struct sk_loop_io *io = (struct sk_loop_io *)h;
		io->cb(loop, io, io->fd, ev->events, io->userdata);
		break;
	}
	case H_CHILD:
		dispatch_child(loop, (struct sk_loop_child *)h);
		break;
	case H_SIGFD:
		dispatch_signals(loop);
		break;
	case H_WAKE:
		run_posts(loop);
		break;
	default:
		assert(!"unexpected handle in epoll set");
	}
}

int sk_loop_run_once(struct sk_loop *loop, int timeout_ms, struct sk_error **err)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n, t;

	assert(!loop->in_iteration);
	loop->in_iteration = true;
	loop->now = sk_now_ns();
	run_defers(loop);
	t = timers_timeout(loop);
	if (loop->defer_head || atomic_load(&loop->stop))
		t = 0;
	if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
		t = timeout_ms;
	n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, t);
	if (n < 0 && errno != EINTR) {
		loop->in_iteration = false;
		free_dead(loop);
		return sk_error_errno(err, "epoll_wait");
	}
	loop->now = sk_now_ns();
	for (int i = 0; i < n; i++)
		dispatch(loop, &evs[i]);
	run_timers(loop);
	loop->in_iteration = false;
	free_dead(loop);
	return 0;
}

int sk_loop_run(struct sk_loop *loop, struct sk_error **err)
{
	int r = 0;

	while (!atomic_load(&loop->stop)) {
		r = sk_loop_run_once(loop, -1, err);
		if (r < 0)
			break;
	}
	atomic_store(&loop->stop, false);
	return r;
}
