/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logs.h - container log files: a writer that turns bytes from a
 * container's stdout/stderr pipes into timestamped records with size-capped
 * rotation, and readers for `skiff logs [-f] [--tail N] [--since T]`.
 *
 * Format: the CRI log format Kubernetes uses (kubelet reads it, containerd
 * and CRI-O write it), one record per line:
 *
 *   2026-11-26T06:00:00.123456789Z stdout F message bytes
 *
 * RFC 3339 UTC time with nine fraction digits (fixed width, so records sort
 * as text), the stream, P (partial: the line continues in the next record of
 * that stream) or F (full: the line ends here; the '\n' itself is not
 * stored), a space and the bytes.  A line longer than max_line is split into
 * P records and a final F.  Records are appended with write(2), never
 * fsynced, and never split across files: readers treat an unterminated last
 * line as not yet written.
 *
 * Rotation: before a record would take the file past max_size, PATH.(n-2)
 * is renamed to PATH.(n-1), ..., PATH to PATH.1 (dropping the oldest) and a
 * new PATH is started; max_files counts PATH too.
 *
 * The writer depends only on base/: it is meant to run inside the keeper
 * process that holds the containers' stdio pipes across skiffd restarts.
 * It is not thread-safe; one writer per container.
 *
 * Readers never block: sk_logs_reader_next() returns what is in the files
 * now (1 = a record, 0 = nothing more for now).  A follow reader survives
 * rotation (it finishes the renamed file, then moves to its successor) and
 * offers an inotify fd (sk_logs_reader_fd) that becomes readable when the
 * directory changes: add it to the event loop and call next() until it
 * returns 0 each time it fires.  The reader drains the fd itself.  Callers
 * that prefer to poll on a timer just call next() from the timer.
 */
#ifndef SK_DAEMON_LOGS_H
#define SK_DAEMON_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum sk_logs_stream { SK_LOGS_STDOUT, SK_LOGS_STDERR };

#define SK_LOGS_DEFAULT_MAX_SIZE (10 * 1024 * 1024)
#define SK_LOGS_DEFAULT_MAX_FILES 5
#define SK_LOGS_DEFAULT_MAX_LINE (16 * 1024) /* containerd's max container log line size */

/* "stdout" / "stderr" */
const char *sk_logs_stream_name(enum sk_logs_stream s);

/* ---- writing ---------------------------------------------------------- */

struct sk_logs_writer_opts {
	uint64_t max_size;  /* bytes per file, 0: SK_LOGS_DEFAULT_MAX_SIZE (min 4 KiB) */
	unsigned max_files; /* files kept including PATH, 0: SK_LOGS_DEFAULT_MAX_FILES */
	size_t
	    max_line; /* bytes of message per record, 0: SK_LOGS_DEFAULT_MAX_LINE; clamped to max_size / 4 */
};

struct sk_logs_writer;

/*
 * Opens PATH for appending (creating it 0640; an existing file is continued,
 * as after a keeper or container restart).  The directory must exist.
 */
int sk_logs_writer_open(const char *path, const struct sk_logs_writer_opts *opts,
			struct sk_logs_writer **ret, struct sk_error **err);

/*
 * Takes bytes read from a stream's pipe: any chunking, partial lines
 * included.  Complete lines become F records (split into P records past
 * max_line); an unterminated tail is held per stream until its newline, a
 * flush, or until it reaches max_line (then written as P).  time_ns is the
 * records' wall-clock time, 0 for now.  On a write error the chunk's records
 * are lost (nothing is retried) and the writer stays usable.
 */
int sk_logs_writer_write(struct sk_logs_writer *w, enum sk_logs_stream stream, const void *buf,
			 size_t len, int64_t time_ns, struct sk_error **err);

/*
 * Writes a held partial line now as a P record (the rest follows later):
 * call it when a partial line has waited long enough (e.g. 1 s), so a
 * prompt without a newline is visible.  No-op when nothing is held.
 */
int sk_logs_writer_flush(struct sk_logs_writer *w, enum sk_logs_stream stream, int64_t time_ns,
			 struct sk_error **err);

/* The stream's pipe hit EOF: a held partial line is written as F (as containerd does). */
int sk_logs_writer_eof(struct sk_logs_writer *w, enum sk_logs_stream stream, int64_t time_ns,
		       struct sk_error **err);

/* Size of PATH now (for tests and metrics). */
uint64_t sk_logs_writer_size(const struct sk_logs_writer *w);

/* Writes held partial lines as F records (best effort) and closes; accepts NULL. */
void sk_logs_writer_close(struct sk_logs_writer *w);
static inline void sk_logs_writer_closep(struct sk_logs_writer **w)
{
	sk_logs_writer_close(*w);
}

/* ---- reading ---------------------------------------------------------- */

struct sk_logs_record {
	int64_t time_ns;
	enum sk_logs_stream stream;
	bool partial;	 /* P: no newline after msg */
	const char *msg; /* not NUL-terminated; valid until the next call on the reader/merge */
	size_t len;
	size_t source; /* merge: index of the reader it came from (order of sk_logs_merge_add) */
};

struct sk_logs_read_opts {
	int64_t
	    tail; /* < 0: everything; N >= 0: start at the last N lines (an F record ends a line) */
	int64_t since_ns; /* records before this wall-clock time are skipped; 0: none */
	bool follow;	  /* keep reading as records are appended, across rotation */
};

/* Defaults: everything, no since, no follow. */
void sk_logs_read_opts_init(struct sk_logs_read_opts *o);

struct sk_logs_reader;

/*
 * Opens PATH and its rotated files (PATH.1, PATH.2, ... oldest last) as
 * they are now.  -ENOENT when none exists (a follow reader does not wait
 * for a log to appear: the daemon opens it after creating the container).
 */
int sk_logs_reader_open(const char *path, const struct sk_logs_read_opts *opts,
			struct sk_logs_reader **ret, struct sk_error **err);

/* 1 and *rec: a record; 0: nothing more now (or ever, without follow); < 0: an I/O error. */
int sk_logs_reader_next(struct sk_logs_reader *r, struct sk_logs_record *rec,
			struct sk_error **err);

/* A follow reader's inotify fd (O_NONBLOCK, O_CLOEXEC; owned by the reader), or -1. */
int sk_logs_reader_fd(const struct sk_logs_reader *r);

/* Lines skipped because they are not valid records (a torn write, a foreign file). */
uint64_t sk_logs_reader_corrupt(const struct sk_logs_reader *r);

void sk_logs_reader_close(struct sk_logs_reader *r);
static inline void sk_logs_reader_closep(struct sk_logs_reader **r)
{
	sk_logs_reader_close(*r);
}

/* ---- merging replicas ------------------------------------------------- */

/*
 * Several readers (the replicas of a service) merged by record time, ties
 * in the order readers were added.  Without follow the result is sorted;
 * with follow it is sorted among what is available at each call (a record
 * written later with an earlier time is not held back for).  Readers can
 * be added at any time (a replica appears or restarts).
 */
struct sk_logs_merge;

struct sk_logs_merge *sk_logs_merge_new(void);
/* Takes ownership of r; returns its source index. */
size_t sk_logs_merge_add(struct sk_logs_merge *m, struct sk_logs_reader *r);
/* As sk_logs_reader_next(), over all readers; rec->source says which. */
int sk_logs_merge_next(struct sk_logs_merge *m, struct sk_logs_record *rec, struct sk_error **err);
/*
 * *ret_fd: an epoll fd (O_CLOEXEC, owned by the merge) that is readable
 * when any follow reader's inotify fd is, or -1 when no reader follows.
 */
int sk_logs_merge_fd(struct sk_logs_merge *m, int *ret_fd, struct sk_error **err);
uint64_t sk_logs_merge_corrupt(const struct sk_logs_merge *m);
void sk_logs_merge_free(struct sk_logs_merge *m);
static inline void sk_logs_merge_freep(struct sk_logs_merge **m)
{
	sk_logs_merge_free(*m);
}

/* ---- the record format (exported for tests and the fuzz target) -------- */

/* Writes "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (30 chars + NUL) into buf[31]. */
void sk_logs_format_time(int64_t time_ns, char buf[static 31]);
/*
 * Parses one record line (without its '\n').  Accepts any RFC 3339 time
 * (0-9 fraction digits, Z or +hh:mm).  Returns 0 or -EINVAL.
 */
int sk_logs_parse_line(const char *line, size_t len, struct sk_logs_record *ret);

#endif
