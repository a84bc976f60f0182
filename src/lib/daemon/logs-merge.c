/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logs-merge.c - `skiff logs SERVICE`: the records of several replicas'
 * readers interleaved by time.  Each reader keeps one record ahead (its
 * head); the oldest head goes out next.  A head's bytes live in its
 * reader's buffer, which only changes when that reader is read again, i.e.
 * after the head has been handed out.
 */
#include "daemon/logs.h"

#include <errno.h>
#include <sys/epoll.h>

struct merge_src {
	struct sk_logs_reader *r;
	bool has_head;
	struct sk_logs_record head;
};

struct sk_logs_merge {
	struct merge_src *v;
	size_t n;
	int epfd;	/* -1 until sk_logs_merge_fd() */
	size_t watched; /* sources [0, watched) are in epfd */
};

struct sk_logs_merge *sk_logs_merge_new(void)
{
	struct sk_logs_merge *m = sk_new0(struct sk_logs_merge, 1);

	m->epfd = -1;
	return m;
}

void sk_logs_merge_free(struct sk_logs_merge *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		sk_logs_reader_close(m->v[i].r);
	sk_closep(&m->epfd);
	free(m->v);
	free(m);
}

/* Adds the follow readers not yet in epfd. */
static int watch_new(struct sk_logs_merge *m, struct sk_error **err)
{
	for (; m->watched < m->n; m->watched++) {
		int fd = sk_logs_reader_fd(m->v[m->watched].r);
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = m->watched };
		if (fd >= 0 && epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return sk_error_errno(err, "logs: watch reader %zu", m->watched);
	}
	return 0;
}

size_t sk_logs_merge_add(struct sk_logs_merge *m, struct sk_logs_reader *r)
{
	m->v = sk_realloc(m->v, sizeof(*m->v) * (m->n + 1));
	m->v[m->n] = (struct merge_src){ .r = r };
	/* an epoll fd exists already: keep it complete (an error shows at the next sk_logs_merge_fd) */
	if (m->epfd >= 0) {
		m->n++;
		(void)watch_new(m, NULL);
		return m->n - 1;
	}
	return m->n++;
}

int sk_logs_merge_fd(struct sk_logs_merge *m, int *ret_fd, struct sk_error **err)
{
	bool any = false;
	int r;

	*ret_fd = -1;
	for (size_t i = 0; i < m->n; i++)
		any |= sk_logs_reader_fd(m->v[i].r) >= 0;
	if (!any)
		return 0;
	if (m->epfd < 0) {
		m->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (m->epfd < 0)
			return sk_error_errno(err, "logs: epoll");
	}
	r = watch_new(m, err);
	if (r < 0)
		return r;
	*ret_fd = m->epfd;
	return 0;
}

uint64_t sk_logs_merge_corrupt(const struct sk_logs_merge *m)
{
	uint64_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += sk_logs_reader_corrupt(m->v[i].r);
	return n;
}

int sk_logs_merge_next(struct sk_logs_merge *m, struct sk_logs_record *rec, struct sk_error **err)
{
	struct merge_src *best = NULL;

	for (size_t i = 0; i < m->n; i++) {
		struct merge_src *s = &m->v[i];
		if (!s->has_head) {
			int r = sk_logs_reader_next(s->r, &s->head, err);
			if (r < 0)
				return r;
			s->has_head = r > 0;
			s->head.source = i;
		}
		if (s->has_head && (!best || s->head.time_ns < best->head.time_ns))
			best = s;
	}
	if (!best)
		return 0;
	*rec = best->head;
	best->has_head = false;
	return 1;
}
