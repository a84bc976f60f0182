/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logs-reader.c - reads a container's CRI log files (PATH.k ... PATH.1,
 * PATH) as records: --tail N by scanning backward from the end, --since by
 * filtering, and follow across rotation (see logs.h for the contract).
 *
 * Follow and rotation: at EOF of the newest file the reader looks for the
 * file that comes after the one it holds open, by inode, among PATH.k ..
 * PATH.  Once a successor exists the writer will never append to the held
 * file again (it renames after its last write), so the reader reads the
 * held fd to EOF once more, then switches.  A reader more than max_files
 * rotations behind loses what was deleted and resumes at the oldest file.
 */
#include "daemon/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

#define READ_CHUNK (64 * 1024)
/* A line longer than this is not something the writer made: skipped as corrupt. */
#define MAX_RECORD (1024 * 1024)
#define HEADER_PEEK 64
#define MAX_ROTATED 1000

struct logs_file {
	int fd;
	dev_t dev;
	ino_t ino;
};

struct sk_logs_reader {
	char *path;
	struct sk_logs_read_opts o;
	struct logs_file *files; /* oldest first; files[cur] is being read */
	size_t n_files, cur;
	struct logs_file pending; /* follow: the successor of files[cur], fd -1 when none */
	bool rechecked;		  /* follow: inotify drained and the file re-read since EOF */
	char *buf;		  /* unread bytes are buf[start, end) */
	size_t start, end, cap;
	bool skipping; /* inside an overlong line, dropping up to its '\n' */
	int ino_fd;
	uint64_t corrupt;
};

void sk_logs_read_opts_init(struct sk_logs_read_opts *o)
{
	*o = (struct sk_logs_read_opts){ .tail = -1 };
}

static void file_close(struct logs_file *f)
{
	sk_closep(&f->fd);
	f->fd = -1;
}

/* PATH.k ... PATH.1, PATH: the names that exist now, oldest first. */
static char **list_names(const char *path)
{
	char **v = NULL;
	unsigned k = 0;
	struct stat st;

	while (k < MAX_ROTATED) {
		_cleanup_free_ char *n = sk_asprintf("%s.%u", path, k + 1);
		if (stat(n, &st) < 0)
			break;
		k++;
	}
	for (; k >= 1; k--) {
		_cleanup_free_ char *n = sk_asprintf("%s.%u", path, k);
		sk_strv_push(&v, n);
	}
	sk_strv_push(&v, path);
	return v;
}

/* Opens `name`; 0 with f->fd -1 when it does not exist. */
static int open_file(const char *name, struct logs_file *f, struct sk_error **err)
{
	struct stat st;

	f->fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f->fd < 0) {
		if (errno == ENOENT)
			return 0;
		return sk_error_errno(err, "logs: open '%s'", name);
	}
	if (fstat(f->fd, &st) < 0) {
		file_close(f);
		return sk_error_errno(err, "logs: stat '%s'", name);
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return 0;
}

static bool have_inode(const struct sk_logs_reader *r, const struct logs_file *f)
{
	for (size_t i = 0; i < r->n_files; i++)
		if (r->files[i].dev == f->dev && r->files[i].ino == f->ino)
			return true;
	return false;
}

static int open_all(struct sk_logs_reader *r, struct sk_error **err)
{
	_cleanup_strv_ char **names = list_names(r->path);
	int ret;

	for (char **n = names; *n; n++) {
		struct logs_file f = { .fd = -1 };
		ret = open_file(*n, &f, err);
		if (ret < 0)
			return ret;
		/* a rotation between two opens can show one file under two names */
		if (f.fd < 0 || have_inode(r, &f)) {
			file_close(&f);
			continue;
		}
		r->files = sk_realloc(r->files, sizeof(*r->files) * (r->n_files + 1));
		r->files[r->n_files++] = f;
	}
	if (r->n_files == 0)
		return sk_error_set(err, ENOENT, "logs: open '%s'", r->path);
	return 0;
}

/* ---- --tail: walking lines backward ---- */

struct backscan {
	int fd;
	off_t off; /* buf holds the file's bytes [off, off + len) */
	size_t len;
	char buf[READ_CHUNK];
};

/* The offset of the last '\n' before `pos`, or -1. */
static int prev_newline(struct backscan *b, off_t pos, off_t *ret)
{
	while (pos > 0) {
		if (!(pos > b->off && pos <= b->off + (off_t)b->len)) {
			off_t from = pos > READ_CHUNK ? pos - READ_CHUNK : 0;
			ssize_t n = pread(b->fd, b->buf, (size_t)(pos - from), from);
			if (n < 0)
				return -errno;
			if (n != pos - from)
				return -EIO; /* the file shrank under us */
			b->off = from;
			b->len = (size_t)n;
		}
		char *nl = memrchr(b->buf, '\n', (size_t)(pos - b->off));
		if (nl) {
			*ret = b->off + (nl - b->buf);
			return 0;
		}
		pos = b->off;
	}
	*ret = -1;
	return 0;
}

/* Whether the record starting at `at` is a full (F) one. */
static bool line_is_full(int fd, off_t at, off_t line_end)
{
	char head[HEADER_PEEK];
	size_t want =
	    (size_t)(line_end - at - 1) < sizeof(head) ? (size_t)(line_end - at - 1) : sizeof(head);
	struct sk_logs_record rec;
	ssize_t n = pread(fd, head, want, at);

	return n >= 0 && sk_logs_parse_line(head, (size_t)n, &rec) == 0 && !rec.partial;
}

/*
 * Looks for the start of the last *need lines in fd: *ret_start and true
 * when found, else false with *need reduced by the lines this file has.
 */
static int tail_scan(int fd, int64_t *need, off_t *ret_start, bool *found)
{
	_cleanup_free_ struct backscan *b = sk_new0(struct backscan, 1);
	off_t size, nl, line_end;
	int64_t full = 0;
	struct stat st;
	int r;

	*found = false;
	b->fd = fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	size = st.st_size;
	/* an unterminated last line is still being written: not a line yet */
	r = prev_newline(b, size, &nl);
	if (r < 0)
		return r;
	for (line_end = nl + 1; line_end > 0; line_end = nl + 1) {
		r = prev_newline(b, line_end - 1, &nl);
		if (r < 0)
			return r;
		if (!line_is_full(fd, nl + 1, line_end))
			continue;
		if (full++ == *need) {
			*ret_start = line_end;
			*found = true;
			return 0;
		}
	}
	*need -= full;
	return 0;
}

/* Starts reading at the last o.tail lines across the files, closing the older ones. */
static int position_tail(struct sk_logs_reader *r, struct sk_error **err)
{
	int64_t need = r->o.tail;
	size_t i = r->n_files;
	off_t start = 0;
	bool found = false;

	while (i > 0 && !found) {
		int ret = tail_scan(r->files[--i].fd, &need, &start, &found);
		if (ret < 0)
			return sk_error_set(err, -ret, "logs: read '%s'", r->path);
	}
	if (!found)
		start = 0;
	for (size_t k = 0; k < i; k++)
		file_close(&r->files[k]);
	r->cur = i;
	if (lseek(r->files[i].fd, start, SEEK_SET) < 0)
		return sk_error_errno(err, "logs: seek '%s'", r->path);
	return 0;
}

/* ---- opening ---- */

static int watch_dir(struct sk_logs_reader *r, struct sk_error **err)
{
	_cleanup_free_ char *dir = sk_strdup(r->path);
	char *slash = strrchr(dir, '/');

	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	r->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->ino_fd < 0)
		return sk_error_errno(err, "logs: inotify for '%s'", r->path);
	if (inotify_add_watch(r->ino_fd, dir,
			      IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0)
		return sk_error_errno(err, "logs: watch '%s'", dir);
	return 0;
}

int sk_logs_reader_open(const char *path, const struct sk_logs_read_opts *opts,
			struct sk_logs_reader **ret, struct sk_error **err)
{
	_cleanup_(sk_logs_reader_closep) struct sk_logs_reader *r =
	    sk_new0(struct sk_logs_reader, 1);
	int ret_;

	r->path = sk_strdup(path);
	r->ino_fd = -1;
	r->pending.fd = -1;
	if (opts)
		r->o = *opts;
	else
		sk_logs_read_opts_init(&r->o);
	/* watch before looking, so no change between the two is missed */
	if (r->o.follow) {
		ret_ = watch_dir(r, err);
		if (ret_ < 0)
			return ret_;
	}
	ret_ = open_all(r, err);
	if (ret_ >= 0 && r->o.tail >= 0)
		ret_ = position_tail(r, err);
	if (ret_ < 0)
		return ret_;
	*ret = TAKE_PTR(r);
	return 0;
}

int sk_logs_reader_fd(const struct sk_logs_reader *r)
{
	return r->ino_fd;
}

uint64_t sk_logs_reader_corrupt(const struct sk_logs_reader *r)
{
	return r->corrupt;
}

void sk_logs_reader_close(struct sk_logs_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_files; i++)
		file_close(&r->files[i]);
	file_close(&r->pending);
	sk_closep(&r->ino_fd);
	free(r->files);
	free(r->buf);
	free(r->path);
	free(r);
}

/* ---- reading records ---- */

/* The next complete, valid, wanted line in the buffer: 1, or 0 when more bytes are needed. */
static int take_line(struct sk_logs_reader *r, struct sk_logs_record *rec)
{
	while (r->start < r->end) {
		char *p = r->buf + r->start;
		char *nl = memchr(p, '\n', r->end - r->start);
		if (!nl)
			break;
		r->start += (size_t)(nl - p) + 1;
		if (r->skipping) {
			r->skipping = false;
			continue;
		}
		if (sk_logs_parse_line(p, (size_t)(nl - p), rec) < 0) {
			r->corrupt++;
			continue;
		}
		if (r->o.since_ns && rec->time_ns < r->o.since_ns)
			continue;
		rec->source = 0;
		return 1;
	}
	if (r->end - r->start > MAX_RECORD) {
		if (!r->skipping)
			r->corrupt++;
		r->skipping = true;
		r->start = r->end = 0;
	}
	return 0;
}

/* Reads more of files[cur]: > 0 bytes, 0 at EOF, or a negative errno. */
static ssize_t fill(struct sk_logs_reader *r)
{
	ssize_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < READ_CHUNK) {
		r->cap = r->end + 2 * READ_CHUNK;
		r->buf = sk_realloc(r->buf, r->cap);
	}
	do
		n = read(r->files[r->cur].fd, r->buf + r->end, r->cap - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	r->end += (size_t)n;
	return n;
}

/* Leaving a file: an unterminated line at its end was torn. */
static void drop_leftover(struct sk_logs_reader *r)
{
	if (r->end > r->start && !r->skipping)
		r->corrupt++;
	r->start = r->end = 0;
	r->skipping = false;
}

static void drain_inotify(struct sk_logs_reader *r)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(r->ino_fd, buf, sizeof(buf)) > 0)
		;
}

/* Index of (dev, ino) among names' files, -1 when none; fills inodes. */
static int find_inode(char **names, const struct logs_file *f)
{
	struct stat st;

	for (int i = 0; names[i]; i++)
		if (stat(names[i], &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino)
			return i;
	return -1;
}

/* Opens the file written after files[cur] into r->pending; 0 when there is none yet. */
static int find_successor(struct sk_logs_reader *r, struct sk_error **err)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		_cleanup_strv_ char **names = list_names(r->path);
		int i = find_inode(names, &r->files[r->cur]);
		int n = (int)sk_strv_length(names);
		struct stat st;
		int ret;

		/* not found: renamed while we looked (try again) or deleted (resume at the oldest) */
		if (i < 0 && attempt < 3)
			continue;
		if (i + 1 >= n)
			return 0;
		if (stat(names[i + 1], &st) < 0)
			continue;
		ret = open_file(names[i + 1], &r->pending, err);
		if (ret < 0)
			return ret;
		if (r->pending.fd >= 0 && r->pending.ino == st.st_ino &&
		    r->pending.dev == st.st_dev)
			return 1;
		file_close(&r->pending);
	}
	return 0;
}

/* At EOF of files[cur]: 1 when there is more to read (or to re-read), 0 when not now. */
static int next_file(struct sk_logs_reader *r, struct sk_error **err)
{
	int ret;

	if (r->cur + 1 < r->n_files) {
		drop_leftover(r);
		file_close(&r->files[r->cur++]);
		return 1;
	}
	if (!r->o.follow)
		return 0;
	/* re-read once after draining: a write that raced the drain is seen */
	if (!r->rechecked) {
		drain_inotify(r);
		r->rechecked = true;
		return 1;
	}
	r->rechecked = false;
	if (r->pending.fd >= 0) {
		/* the held file was read to EOF after its successor appeared: it is complete */
		drop_leftover(r);
		file_close(&r->files[r->cur]);
		r->files[r->cur] = r->pending;
		r->pending.fd = -1;
		return 1;
	}
	ret = find_successor(r, err);
	return ret;
}

int sk_logs_reader_next(struct sk_logs_reader *r, struct sk_logs_record *rec, struct sk_error **err)
{
	for (;;) {
		ssize_t n;
		int ret;

		if (take_line(r, rec))
			return 1;
		n = fill(r);
		if (n < 0)
			return sk_error_set(err, (int)-n, "logs: read '%s'", r->path);
		if (n > 0)
			continue;
		ret = next_file(r, err);
		if (ret <= 0)
			return ret;
	}
}
