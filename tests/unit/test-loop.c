/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-loop.c - the epoll event loop: fd readiness, timers (ordering,
 * cancellation, periodic), signals through signalfd, child exits through
 * pidfd, removal from callbacks, defers, posts from another thread, stop,
 * and CLOEXEC on every fd the loop opens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>

#include "base/loop.h"
#include "base/util.h"

#define MS 1000000ull

static struct sk_loop *new_loop(void)
{
	struct sk_loop *loop = NULL;

	assert_int_equal(sk_loop_new(&loop, NULL), 0);
	return loop;
}

/* ---- fd readiness ---- */

struct io_state {
	int calls;
	uint32_t last;
	char got[16];
};

static void read_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events, void *u)
{
	struct io_state *st = u;

	st->calls++;
	st->last = events;
	if (events & SK_LOOP_READ)
		assert_int_equal(read(fd, st->got, sizeof(st->got) - 1), 2);
}

static void test_io_readiness(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct io_state st = { 0 };
	struct sk_loop_io *io = NULL;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(sk_loop_io_add(loop, p[0], SK_LOOP_READ, read_cb, &st, &io, NULL), 0);
	assert_int_equal(sk_loop_io_fd(io), p[0]);
	assert_int_equal(sk_loop_run_once(loop, 0, NULL), 0);
	assert_int_equal(st.calls, 0);
	assert_int_equal(write(p[1], "hi", 2), 2);
	assert_int_equal(sk_loop_run_once(loop, 1000, NULL), 0);
	assert_int_equal(st.calls, 1);
	assert_string_equal(st.got, "hi");

	/* paused: no callback even with data (and no HUP busy loop) */
	assert_int_equal(sk_loop_io_modify(io, 0, NULL), 0);
	assert_int_equal(write(p[1], "yo", 2), 2);
	close(p[1]);
	assert_int_equal(sk_loop_run_once(loop, 0, NULL), 0);
	assert_int_equal(st.calls, 1);
	assert_int_equal(sk_loop_io_modify(io, SK_LOOP_READ, NULL), 0);
	assert_int_equal(sk_loop_io_events(io), SK_LOOP_READ);
	assert_int_equal(sk_loop_run_once(loop, 1000, NULL), 0);
	assert_int_equal(st.calls, 2);
	assert_true(st.last & SK_LOOP_HUP);

	/* the same fd twice is refused */
	struct sk_loop_io *dup = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	assert_int_equal(sk_loop_io_add(loop, p[0], SK_LOOP_READ, read_cb, &st, &dup, &err),
			 -EEXIST);
	assert_non_null(err);
	sk_loop_io_remove(io);
	close(p[0]);
}

static void write_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events, void *u)
{
	int *calls = u;

	(*calls)++;
	sk_loop_io_remove(io); /* self-removal from its own callback */
}

static void test_io_write_edge(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct sk_loop_io *io = NULL;
	int calls = 0, p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(
	    sk_loop_io_add(loop, p[1], SK_LOOP_WRITE | SK_LOOP_EDGE, write_cb, &calls, &io, NULL),
	    0);
	assert_int_equal(sk_loop_run_once(loop, 1000, NULL), 0);
	assert_int_equal(sk_loop_run_once(loop, 0, NULL), 0);
	assert_int_equal(calls, 1);
	close(p[0]);
	close(p[1]);
}

/* ---- timers ---- */

struct order {
	int seq[8];
	int n;
	struct sk_loop_timer *victim;
};

struct tagged {
	struct order *o;
	int id;
	struct sk_loop_timer *t;
};

static void tagged_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *u)
{
	struct tagged *tg = u;

	tg->o->seq[tg->o->n++] = tg->id;
	if (tg->o->victim && tg->o->victim != t) {
		sk_loop_timer_remove(tg->o->victim); /* due in this same iteration */
		tg->o->victim = NULL;
	}
	if (tg->o->n >= 3)
		sk_loop_stop(loop);
}

static void test_timer_order_cancel(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct order o = { 0 };
	struct tagged tg[5];
	uint64_t start = sk_now_ns();
	uint64_t delays[5] = { 30 * MS, 10 * MS, 20 * MS, 20 * MS, 15 * MS };

	for (int i = 0; i < 5; i++) {
		tg[i] = (struct tagged){ &o, i, NULL };
		tg[i].t = sk_loop_timer_add(loop, delays[i], 0, tagged_cb, &tg[i]);
		assert_true(sk_loop_timer_armed(tg[i].t));
	}
	sk_loop_timer_stop(tg[4].t); /* cancelled: never fires */
	assert_false(sk_loop_timer_armed(tg[4].t));
	assert_int_equal(sk_loop_run(loop, NULL), 0);
	/* 10 ms, then 20 ms (armed first), then 20 ms second (same deadline order) */
	assert_int_equal(o.n, 3);
	assert_int_equal(o.seq[0], 1);
	assert_int_equal(o.seq[1], 2);
	assert_int_equal(o.seq[2], 3);
	assert_true(sk_now_ns() - start >= 20 * MS);
	assert_false(sk_loop_timer_armed(tg[1].t)); /* one-shot: disarmed after firing */
	/* re-arm one and remove the 30 ms one */
	sk_loop_timer_remove(tg[0].t);
	sk_loop_timer_set(tg[1].t, 1 * MS, 0);
	assert_int_equal(sk_loop_run(loop, NULL), 0);
	assert_int_equal(o.n, 4);
	assert_int_equal(o.seq[3], 1);
	for (int i = 1; i < 5; i++)
		sk_loop_timer_remove(tg[i].t);
}

static void test_timer_remove_other_expired(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct order o = { 0 };
	struct tagged a = { &o, 1, NULL }, b = { &o, 2, NULL };

	a.t = sk_loop_timer_add(loop, 0, 0, tagged_cb, &a);
	b.t = sk_loop_timer_add(loop, 0, 0, tagged_cb, &b);
	o.victim = b.t; /* a fires first and removes b, already expired */
	usleep(2000);
	assert_int_equal(sk_loop_run_once(loop, 0, NULL), 0);
	assert_int_equal(sk_loop_run_once(loop, 0, NULL), 0);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.seq[0], 1);
	sk_loop_timer_remove(a.t);
}

struct periodic {
	int fired;
	uint64_t first, last;
};

static void periodic_cb(struct sk_loop *loop, struct sk_loop_timer *t, void *u)
{
	struct periodic *p = u;

	if (p->fired++ == 0)
		p->first = sk_now_ns();
	p->last = sk_now_ns();
	if (p->fired == 5) {
		sk_loop_timer_remove(t);
		sk_loop_stop(loop);
	}
}

static void test_timer_periodic(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct periodic p = { 0 };
	uint64_t start = sk_now_ns();

	(void)sk_loop_timer_add(loop, 5 * MS, 5 * MS, periodic_cb, &p);
	assert_int_equal(sk_loop_run(loop, NULL), 0);
	assert_int_equal(p.fired, 5);
	assert_true(p.first - start >= 5 * MS);
	assert_true(p.last - start >= 25 * MS);
	assert_true(p.last - start < 500 * MS);
}

/* ---- signals ---- */

static void sig_cb(struct sk_loop *loop, struct sk_loop_signal *s,
		   const struct signalfd_siginfo *si, void *u)
{
	*(int *)u = (int)si->ssi_signo;
	sk_loop_stop(loop);
}

static void test_signal(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct sk_loop_signal *s = NULL, *s2 = NULL;
	_cleanup_error_ struct sk_error *err = NULL;
	sigset_t cur;
	int got = 0;

	assert_int_equal(sk_loop_signal_add(loop, SIGUSR1, sig_cb, &got, &s, NULL), 0);
	assert_int_equal(sk_loop_signal_add(loop, SIGUSR1, sig_cb, &got, &s2, &err), -EBUSY);
	assert_int_equal(sk_loop_signal_add(loop, SIGKILL, sig_cb, &got, &s2, NULL), -EINVAL);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_true(sigismember(&cur, SIGUSR1));
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(sk_loop_run(loop, NULL), 0);
	assert_int_equal(got, SIGUSR1);
	sk_loop_signal_remove(s);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGUSR1)); /* unblocked again */
}

/* ---- children ---- */

struct child_state {
	int calls;
	struct sk_loop_child_status st;
};

static void child_cb(struct sk_loop *loop, struct sk_loop_child *c,
		     const struct sk_loop_child_status *st, void *u)
{
	struct child_state *cs = u;

	cs->calls++;
	cs->st = *st;
	sk_loop_stop(loop);
}

static pid_t spawn(int how)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (how == 1)
			pause();
		_exit(7);
	}
	return pid;
}

static void test_child_exit_status(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct child_state cs = { 0 };
	pid_t pid = spawn(0);

	assert_int_equal(sk_loop_child_add(loop, pid, child_cb, &cs, NULL, NULL), 0);
	assert_int_equal(sk_loop_run(loop, NULL), 0);
	assert_int_equal(cs.calls, 1);
	assert_true(cs.st.known);
	assert_int_equal(cs.st.pid, pid);
	assert_int_equal(cs.st.code, CLD_EXITED);
	assert_int_equal(cs.st.status, 7);
	assert_int_equal(cs.st.exit_code, 7);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1); /* reaped by the loop */
	assert_int_equal(errno, ECHILD);
}

static void test_child_killed(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct child_state cs = { 0 };
	pid_t pid = spawn(1);

	assert_int_equal(sk_loop_child_add(loop, pid, child_cb, &cs, NULL, NULL), 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(sk_loop_run(loop, NULL), 0);
	assert_true(cs.st.known);
	assert_int_equal(cs.st.code, CLD_KILLED);
	assert_int_equal(cs.st.status, SIGKILL);
	assert_int_equal(cs.st.exit_code, 128 + SIGKILL);
}

static void test_child_not_ours(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct child_state cs = { 0 };
	_cleanup_error_ struct sk_error *err = NULL;
	pid_t pid = spawn(1);

	assert_int_equal(sk_loop_child_add(loop, pid, child_cb, &cs, NULL, NULL), 0);
	/* someone else reaps it: the loop only learns that it exited */
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(sk_loop_run(loop, NULL), 0);
	assert_int_equal(cs.calls, 1);
	assert_false(cs.st.known);
	assert_int_equal(cs.st.exit_code, -1);
	/* a pid that does not exist */
	assert_int_equal(sk_loop_child_add(loop, pid, child_cb, &cs, NULL, &err), -ESRCH);
}

static void test_child_remove(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct child_state cs = { 0 };
	struct sk_loop_child *c = NULL;
	pid_t pid = spawn(1);

	assert_int_equal(sk_loop_child_add(loop, pid, child_cb, &cs, &c, NULL), 0);
	sk_loop_child_remove(c);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(sk_loop_run_once(loop, 10, NULL), 0);
	assert_int_equal(cs.calls, 0);
}

/* ---- removal of another handle from a callback ---- */

struct pair {
	struct sk_loop_io *io[2];
	int calls;
};

static void pair_cb(struct sk_loop *loop, struct sk_loop_io *io, int fd, uint32_t events, void *u)
{
	struct pair *p = u;
	int other = p->io[0] == io ? 1 : 0;

	p->calls++;
	sk_loop_io_remove(p->io[other]); /* its event is already fetched */
	p->io[other] = NULL;
	sk_loop_io_remove(io);
	p->io[1 - other] = NULL;
}

static void test_remove_during_callback(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct pair p = { 0 };
	int a[2], b[2];

	assert_int_equal(pipe2(a, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(sk_loop_io_add(loop, a[0], SK_LOOP_READ, pair_cb, &p, &p.io[0], NULL), 0);
	assert_int_equal(sk_loop_io_add(loop, b[0], SK_LOOP_READ, pair_cb, &p, &p.io[1], NULL), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	assert_int_equal(sk_loop_run_once(loop, 1000, NULL), 0);
	assert_int_equal(sk_loop_run_once(loop, 0, NULL), 0);
	assert_int_equal(p.calls, 1);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
}

/* ---- defers ---- */

struct defers {
	struct sk_loop *loop;
	int order[8];
	int n;
	struct sk_loop_defer *cancel_me;
};

static void defer_b(struct sk_loop *loop, void *u)
{
	struct defers *d = u;

	d->order[d->n++] = 2;
}

static void defer_a(struct sk_loop *loop, void *u)
{
	struct defers *d = u;

	d->order[d->n++] = 1;
	sk_loop_defer_cancel(d->cancel_me);    /* queued behind us in this batch */
	(void)sk_loop_defer(loop, defer_b, d); /* runs one iteration later */
}

static void test_defer(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct defers d = { .loop = loop };

	(void)sk_loop_defer(loop, defer_a, &d);
	d.cancel_me = sk_loop_defer(loop, defer_b, &d);
	assert_int_equal(sk_loop_run_once(loop, 0, NULL), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(sk_loop_run_once(loop, 0, NULL), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.order[1], 2);
	/* one left queued at free: released without running */
	(void)sk_loop_defer(loop, defer_b, &d);
}

/* ---- posts from another thread, stop ---- */

struct poster {
	struct sk_loop *loop;
	int runs;
	pthread_t self;
	bool on_loop_thread;
};

static void posted(struct sk_loop *loop, void *u)
{
	struct poster *p = u;

	p->runs++;
	p->on_loop_thread = pthread_equal(pthread_self(), p->self);
	if (p->runs == 100)
		sk_loop_stop(loop);
}

static void *post_thread(void *u)
{
	struct poster *p = u;

	usleep(20000); /* let the loop block in epoll_wait */
	for (int i = 0; i < 100; i++)
		sk_loop_post(p->loop, posted, p);
	return NULL;
}

static void test_post_from_thread(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct poster p = { .loop = loop, .self = pthread_self() };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, post_thread, &p), 0);
	assert_int_equal(sk_loop_run(loop, NULL), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(p.runs, 100);
	assert_true(p.on_loop_thread);
}

static void *stop_thread(void *u)
{
	usleep(20000);
	sk_loop_stop(u);
	return NULL;
}

static void test_stop_from_thread(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	uint64_t start = sk_now_ns();
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, stop_thread, loop), 0);
	assert_int_equal(sk_loop_run(loop, NULL), 0); /* returns only because of the stop */
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(sk_now_ns() - start >= 15 * MS);
	/* the stop flag was consumed: a later run blocks again until stopped */
	sk_loop_stop(loop);
	assert_int_equal(sk_loop_run(loop, NULL), 0);
}

/* ---- every fd the loop opens is CLOEXEC ---- */

static void test_cloexec(void **state)
{
	_cleanup_(sk_loop_freep) struct sk_loop *loop = new_loop();
	struct sk_loop_signal *s = NULL;
	struct child_state cs = { 0 };
	pid_t pid = spawn(1);
	struct dirent *de;
	DIR *d;
	int checked = 0;

	assert_int_equal(sk_loop_signal_add(loop, SIGUSR2, sig_cb, &cs, &s, NULL), 0);
	assert_int_equal(sk_loop_child_add(loop, pid, child_cb, &cs, NULL, NULL), 0);
	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((de = readdir(d))) {
		char link[64], target[256] = "";
		int fd;
		if (de->d_name[0] == '.' || sk_parse_int(de->d_name, &fd) < 0 || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if (readlink(link, target, sizeof(target) - 1) < 0)
			continue;
		if (!strstr(target, "eventpoll") && !strstr(target, "eventfd") &&
		    !strstr(target, "signalfd") && !strstr(target, "pidfd"))
			continue;
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		checked++;
	}
	closedir(d);
	assert_true(checked >= 4);
	kill(pid, SIGKILL);
	assert_int_equal(sk_loop_run(loop, NULL), 0);
	sk_loop_signal_remove(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_readiness),
		cmocka_unit_test(test_io_write_edge),
		cmocka_unit_test(test_timer_order_cancel),
		cmocka_unit_test(test_timer_remove_other_expired),
		cmocka_unit_test(test_timer_periodic),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_child_exit_status),
		cmocka_unit_test(test_child_killed),
		cmocka_unit_test(test_child_not_ours),
		cmocka_unit_test(test_child_remove),
		cmocka_unit_test(test_remove_during_callback),
		cmocka_unit_test(test_defer),
		cmocka_unit_test(test_post_from_thread),
		cmocka_unit_test(test_stop_from_thread),
		cmocka_unit_test(test_cloexec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
