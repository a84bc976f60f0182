/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logs-writer.c - turns a container's stdout/stderr bytes into CRI log
 * records in PATH, rotating by rename at a size cap (see logs.h).
 *
 * Records of one sk_logs_writer_write() call are formatted into one buffer
 * and written with one write(2) (split only where a rotation falls), so the
 * cost is a syscall per pipe read, not per line.  Only base/ is used: this
 * runs in the keeper process too.
 */
#include "daemon/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/util.h"

#define MIN_MAX_SIZE 4096
#define HEADER_MAX 48 /* "2026-11-26T06:00:00.123456789Z stderr P " is 40 */

struct held {
	char *buf; /* an unterminated line, < max_line bytes */
	size_t len;
};

struct sk_logs_writer {
	char *path;
	int fd;
	uint64_t size; /* of PATH, including what is in `out` once flushed */
	struct sk_logs_writer_opts o;
	struct held held[2]; /* per stream */
	char *out;	     /* formatted records not yet written */
	size_t out_len, out_cap;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int open_log(struct sk_logs_writer *w, struct sk_error **err)
{
	struct stat st;

	w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (w->fd < 0)
		return sk_error_errno(err, "logs: open '%s'", w->path);
	if (fstat(w->fd, &st) < 0)
		return sk_error_errno(err, "logs: stat '%s'", w->path);
	w->size = (uint64_t)st.st_size;
	return 0;
}

int sk_logs_writer_open(const char *path, const struct sk_logs_writer_opts *opts,
			struct sk_logs_writer **ret, struct sk_error **err)
{
	_cleanup_(sk_logs_writer_closep) struct sk_logs_writer *w =
	    sk_new0(struct sk_logs_writer, 1);
	int r;

	w->fd = -1;
	w->path = sk_strdup(path);
	if (opts)
		w->o = *opts;
	if (!w->o.max_size)
		w->o.max_size = SK_LOGS_DEFAULT_MAX_SIZE;
	if (w->o.max_size < MIN_MAX_SIZE)
		w->o.max_size = MIN_MAX_SIZE;
	if (!w->o.max_files)
		w->o.max_files = SK_LOGS_DEFAULT_MAX_FILES;
	if (!w->o.max_line)
		w->o.max_line = SK_LOGS_DEFAULT_MAX_LINE;
	if (w->o.max_line > w->o.max_size / 4)
		w->o.max_line = w->o.max_size / 4;
	for (int i = 0; i < 2; i++)
		w->held[i].buf = sk_malloc0(w->o.max_line);
	r = open_log(w, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(w);
	return 0;
}

uint64_t sk_logs_writer_size(const struct sk_logs_writer *w)
{
	return w->size + w->out_len;
}

static int flush_out(struct sk_logs_writer *w, struct sk_error **err)
{
	size_t n = w->out_len;
	struct stat st;
	int r;

	if (n == 0)
		return 0;
	w->out_len = 0;
	r = sk_write_all(w->fd, w->out, n);
	if (r < 0) {
		/* part of it may be in the file: take the size from the kernel */
		if (fstat(w->fd, &st) == 0)
			w->size = (uint64_t)st.st_size;
		return sk_error_set(err, -r, "logs: write '%s'", w->path);
	}
	w->size += n;
	return 0;
}

/* PATH.(n-2) -> PATH.(n-1), ..., PATH -> PATH.1, then a fresh PATH. */
static int rotate(struct sk_logs_writer *w, struct sk_error **err)
{
	int r;

	r = flush_out(w, err);
	if (r < 0)
		return r;
	for (unsigned i = w->o.max_files - 1; i >= 1; i--) {
		_cleanup_free_ char *from =
		    i == 1 ? sk_strdup(w->path) : sk_asprintf("%s.%u", w->path, i - 1);
		_cleanup_free_ char *to = sk_asprintf("%s.%u", w->path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			return sk_error_errno(err, "logs: rotate '%s' to '%s'", from, to);
	}
	if (w->o.max_files == 1 && unlink(w->path) < 0 && errno != ENOENT)
		return sk_error_errno(err, "logs: rotate '%s'", w->path);
	sk_closep(&w->fd);
	w->fd = -1;
	return open_log(w, err);
}

/* Appends one record to `out`, rotating first when it would pass max_size. */
static int emit(struct sk_logs_writer *w, enum sk_logs_stream s, bool partial, const char *msg,
		size_t len, int64_t t, struct sk_error **err)
{
	char ts[31];
	size_t need = HEADER_MAX + len + 1;
	int r, n;

	if (w->size + w->out_len + need > w->o.max_size && w->size + w->out_len > 0) {
		r = rotate(w, err);
		if (r < 0)
			return r;
	}
	if (w->out_len + need > w->out_cap) {
		w->out_cap = (w->out_len + need) * 2;
		w->out = sk_realloc(w->out, w->out_cap);
	}
	sk_logs_format_time(t, ts);
	n = snprintf(w->out + w->out_len, HEADER_MAX, "%s %s %c ", ts, sk_logs_stream_name(s),
		     partial ? 'P' : 'F');
	w->out_len += (size_t)n;
	memcpy(w->out + w->out_len, msg, len);
	w->out_len += len;
	w->out[w->out_len++] = '\n';
	return 0;
}

/* A complete line (held part + `len` bytes of buf): P records of max_line, then F. */
static int emit_line(struct sk_logs_writer *w, enum sk_logs_stream s, const char *buf, size_t len,
		     int64_t t, struct sk_error **err)
{
	struct held *h = &w->held[s];
	size_t room;
	int r;

	if (h->len > 0) {
		/* fill the held part up to max_line so records stay max_line long */
		room = w->o.max_line - h->len;
		room = room < len ? room : len;
		memcpy(h->buf + h->len, buf, room);
		h->len += room;
		buf += room;
		len -= room;
		r = emit(w, s, len > 0, h->buf, h->len, t, err);
		h->len = 0;
		if (r < 0 || len == 0)
			return r;
	}
	for (; len > w->o.max_line; buf += w->o.max_line, len -= w->o.max_line) {
		r = emit(w, s, true, buf, w->o.max_line, t, err);
		if (r < 0)
			return r;
	}
	return emit(w, s, false, buf, len, t, err);
}

/* Bytes without a newline: held, with full max_line pieces written as P. */
static int hold(struct sk_logs_writer *w, enum sk_logs_stream s, const char *buf, size_t len,
		int64_t t, struct sk_error **err)
{
	struct held *h = &w->held[s];
	int r;

	while (len > 0) {
		size_t room = w->o.max_line - h->len;
		size_t n = room < len ? room : len;
		memcpy(h->buf + h->len, buf, n);
		h->len += n;
		buf += n;
		len -= n;
		if (h->len == w->o.max_line) {
			r = emit(w, s, true, h->buf, h->len, t, err);
			h->len = 0;
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int sk_logs_writer_write(struct sk_logs_writer *w, enum sk_logs_stream stream, const void *data,
			 size_t len, int64_t time_ns, struct sk_error **err)
{
	const char *p = data, *end = p + len;
	int64_t t = time_ns ? time_ns : now_ns();
	int r = 0;

	if (stream != SK_LOGS_STDOUT && stream != SK_LOGS_STDERR)
		return sk_error_set(err, EINVAL, "logs: write '%s': bad stream %d", w->path,
				    (int)stream);
	while (p < end && r >= 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			r = hold(w, stream, p, (size_t)(end - p), t, err);
			break;
		}
		r = emit_line(w, stream, p, (size_t)(nl - p), t, err);
		p = nl + 1;
	}
	if (r < 0) {
		w->out_len = 0;
		return r;
	}
	return flush_out(w, err);
}

static int write_held(struct sk_logs_writer *w, enum sk_logs_stream s, bool partial,
		      int64_t time_ns, struct sk_error **err)
{
	struct held *h = &w->held[s];
	int r;

	if (h->len == 0)
		return 0;
	r = emit(w, s, partial, h->buf, h->len, time_ns ? time_ns : now_ns(), err);
	h->len = 0;
	if (r >= 0)
		r = flush_out(w, err);
	w->out_len = 0;
	return r;
}

int sk_logs_writer_flush(struct sk_logs_writer *w, enum sk_logs_stream stream, int64_t time_ns,
			 struct sk_error **err)
{
	return write_held(w, stream, true, time_ns, err);
}

int sk_logs_writer_eof(struct sk_logs_writer *w, enum sk_logs_stream stream, int64_t time_ns,
		       struct sk_error **err)
{
	return write_held(w, stream, false, time_ns, err);
}

void sk_logs_writer_close(struct sk_logs_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		for (int s = 0; s < 2; s++)
			(void)write_held(w, s, false, 0, NULL);
	sk_closep(&w->fd);
	for (int i = 0; i < 2; i++)
		free(w->held[i].buf);
	free(w->out);
	free(w->path);
	free(w);
}
