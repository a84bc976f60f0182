/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-logs.c - container log files in a private temporary directory: the
 * CRI record format, partial and overlong lines, stdout/stderr interleaving,
 * rotation at the size cap with max files, --tail across rotated files,
 * --since, follow across rotation (woken by the inotify fd), merging two
 * containers by time, and corrupt lines skipped with a count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "daemon/logs.h"

#define SEC 1000000000LL
#define T0 (1764136800LL * SEC) /* 2025-11-26T06:00:00Z */

struct fixture {
	char dir[64];
	char *path; /* dir/c.log */
};

static int setup(void **state)
{
	struct fixture *f = sk_new0(struct fixture, 1);

	snprintf(f->dir, sizeof(f->dir), "/tmp/skiff-unit-logs-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->path = sk_path_join(f->dir, "c.log");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	(void)sk_rm_rf(f->dir);
	free(f->path);
	free(f);
	return 0;
}

#define ok(call)                                                                                   \
	do {                                                                                       \
		struct sk_error *e_ = NULL;                                                        \
		struct sk_error **err_ = &e_;                                                      \
		int r_ = (call);                                                                   \
		if (r_ < 0)                                                                        \
			fail_msg("%s: %s", #call, e_ ? e_->msg : "?");                             \
		sk_error_free(e_);                                                                 \
	} while (0)
/* Inside ok(): the error slot ok() owns and reports. */
#define E err_

static struct sk_logs_writer *writer(const char *path, uint64_t max_size, unsigned max_files,
				     size_t max_line)
{
	struct sk_logs_writer_opts o = { .max_size = max_size,
					 .max_files = max_files,
					 .max_line = max_line };
	struct sk_logs_writer *w = NULL;

	ok(sk_logs_writer_open(path, &o, &w, E));
	return w;
}

static void put(struct sk_logs_writer *w, enum sk_logs_stream s, const char *text, int64_t t)
{
	ok(sk_logs_writer_write(w, s, text, strlen(text), t, E));
}

/* Records as "stream flag msg" strings (NULL-terminated, owned). */
static char **collect(struct sk_logs_reader *r)
{
	struct sk_logs_record rec;
	char **v = NULL;
	int n;

	for (;;) {
		struct sk_error *e = NULL;
		n = sk_logs_reader_next(r, &rec, &e);
		if (n < 0)
			fail_msg("next: %s", e->msg);
		if (n == 0)
			break;
		_cleanup_free_ char *s =
		    sk_asprintf("%s %c %.*s", sk_logs_stream_name(rec.stream),
				rec.partial ? 'P' : 'F', (int)rec.len, rec.msg);
		sk_strv_push(&v, s);
	}
	if (!v)
		v = sk_new0(char *, 1);
	return v;
}

static char **read_path(const char *path, int64_t tail, int64_t since)
{
	struct sk_logs_read_opts o = { .tail = tail, .since_ns = since };
	struct sk_logs_reader *r = NULL;
	char **v;

	ok(sk_logs_reader_open(path, &o, &r, E));
	v = collect(r);
	sk_logs_reader_close(r);
	return v;
}

static void assert_strv(char **got, const char *const *want, size_t n)
{
	if (sk_strv_length(got) != n) {
		for (char **p = got; *p; p++)
			print_message("  got: %s\n", *p);
		fail_msg("%zu records, want %zu", sk_strv_length(got), n);
	}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], want[i]);
	sk_strv_free(got);
}

/* "stdout F line 17" -> 17, -1 for anything else. */
static int seq_of(const char *rec)
{
	const char *p = strstr(rec, "line ");
	return p ? atoi(p + 5) : -1;
}

/* ---- format ---- */

static void test_format(void **state)
{
	struct sk_logs_record rec;
	char ts[31];

	sk_logs_format_time(T0 + 123456789, ts);
	assert_string_equal(ts, "2025-11-26T06:00:00.123456789Z");
	sk_logs_format_time(0, ts);
	assert_string_equal(ts, "1970-01-01T00:00:00.000000000Z");

	const char *l = "2025-11-26T06:00:00.123456789Z stderr P hello world";
	assert_int_equal(sk_logs_parse_line(l, strlen(l), &rec), 0);
	assert_int_equal(rec.time_ns, T0 + 123456789);
	assert_int_equal(rec.stream, SK_LOGS_STDERR);
	assert_true(rec.partial);
	assert_int_equal(rec.len, 11);
	assert_memory_equal(rec.msg, "hello world", 11);

	/* what other writers produce: trimmed fractions, offsets, empty messages */
	const char *ok_lines[] = {
		"2025-11-26T06:00:00.5Z stdout F x",
		"2025-11-26T07:00:00.500+01:00 stdout F x",
		"2025-11-26T06:00:00Z stdout F",
		"2025-11-26T06:00:00.5Z stdout F ",
	};
	for (size_t i = 0; i < SK_ELEMENTSOF(ok_lines); i++) {
		assert_int_equal(sk_logs_parse_line(ok_lines[i], strlen(ok_lines[i]), &rec), 0);
		assert_int_equal(rec.time_ns,
				 T0 + (i == 2 || i == 3 ? (i == 3 ? 500000000 : 0) : 500000000));
		assert_false(rec.partial);
	}
	const char *bad[] = {
		"",
		"garbage",
		"2025-13-26T06:00:00Z stdout F x",
		"2025-02-30T06:00:00Z stdout F x",
		"2025-11-26T24:00:00Z stdout F x",
		"2025-11-26T06:00:00.1234567890Z stdout F x",
		"2025-11-26T06:00:00. stdout F x",
		"2025-11-26T06:00:00 stdout F x",
		"2025-11-26T06:00:00Z stdin F x",
		"2025-11-26T06:00:00Z stdout X x",
		"2025-11-26T06:00:00Z stdout Fx",
		"2025-11-26T06:00:00Z  stdout F x",
		"9999-12-31T23:59:59Z stdout F past int64 nanoseconds",
		"1000-01-01T00:00:00Z stdout F before them",
	};
	for (size_t i = 0; i < SK_ELEMENTSOF(bad); i++)
		if (sk_logs_parse_line(bad[i], strlen(bad[i]), &rec) == 0)
			fail_msg("parsed '%s'", bad[i]);
	/* round trip across the range */
	for (int64_t t = -5 * SEC; t < 4102444800LL * SEC; t += 86400LL * 365 * SEC + 123456789) {
		char line[64];
		sk_logs_format_time(t, ts);
		snprintf(line, sizeof(line), "%s stdout F", ts);
		assert_int_equal(sk_logs_parse_line(line, strlen(line), &rec), 0);
		assert_int_equal(rec.time_ns, t);
	}
}

/* ---- writing ---- */

static void test_partial_lines(void **state)
{
	struct fixture *f = *state;
	struct sk_logs_writer *w = writer(f->path, 0, 0, 0);

	put(w, SK_LOGS_STDOUT, "hel", 0);
	put(w, SK_LOGS_STDOUT, "lo\nwor", 0);
	put(w, SK_LOGS_STDOUT, "ld\n\n", 0);
	put(w, SK_LOGS_STDOUT, "prompt> ", 0);
	ok(sk_logs_writer_flush(w, SK_LOGS_STDOUT, 0, E)); /* a prompt waiting for input shows */
	ok(sk_logs_writer_flush(w, SK_LOGS_STDOUT, 0, E)); /* nothing held: no-op */
	put(w, SK_LOGS_STDOUT, "yes\n", 0);
	put(w, SK_LOGS_STDOUT, "no newline at exit", 0);
	ok(sk_logs_writer_eof(w, SK_LOGS_STDOUT, 0, E));
	put(w, SK_LOGS_STDERR, "held at close", 0);
	sk_logs_writer_close(w);

	const char *want[] = {
		"stdout F hello",	  "stdout F world", "stdout F ",
		"stdout P prompt> ",	  "stdout F yes",   "stdout F no newline at exit",
		"stderr F held at close",
	};
	assert_strv(read_path(f->path, -1, 0), want, SK_ELEMENTSOF(want));
}

static void test_long_lines(void **state)
{
	struct fixture *f = *state;
	struct sk_logs_writer *w = writer(f->path, 0, 0, 10);

	put(w, SK_LOGS_STDOUT, "0123456789abcdefghijKLMNO\n", 0); /* 25: P10 P10 F5 */
	put(w, SK_LOGS_STDOUT, "exactly10!\n", 0);
	put(w, SK_LOGS_STDOUT, "012345", 0); /* held, then completed past the cap */
	put(w, SK_LOGS_STDOUT, "6789ab\n", 0);
	put(w, SK_LOGS_STDERR, "01234567890123456789", 0); /* two full pieces, nothing held */
	put(w, SK_LOGS_STDERR, "\n", 0);
	sk_logs_writer_close(w);

	const char *want[] = {
		"stdout P 0123456789", "stdout P abcdefghij", "stdout F KLMNO",
		"stdout F exactly10!", "stdout P 0123456789", "stdout F ab",
		"stderr P 0123456789", "stderr P 0123456789", "stderr F ",
	};
	assert_strv(read_path(f->path, -1, 0), want, SK_ELEMENTSOF(want));
}

static void test_interleave(void **state)
{
	struct fixture *f = *state;
	struct sk_logs_writer *w = writer(f->path, 0, 0, 0);

	put(w, SK_LOGS_STDOUT, "out 1\nout", 0);
	put(w, SK_LOGS_STDERR, "err 1\n", 0);
	put(w, SK_LOGS_STDERR, "err", 0);
	put(w, SK_LOGS_STDOUT, " 2\n", 0);
	put(w, SK_LOGS_STDERR, " 2\n", 0);
	sk_logs_writer_close(w);

	const char *want[] = { "stdout F out 1", "stderr F err 1", "stdout F out 2",
			       "stderr F err 2" };
	assert_strv(read_path(f->path, -1, 0), want, SK_ELEMENTSOF(want));
}

/* Writes lines "line 0" .. "line n-1", each padded to ~100 bytes, one second apart from T0. */
static void write_lines(struct sk_logs_writer *w, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char buf[128];
		snprintf(buf, sizeof(buf), "line %d %.*s\n", i, 50,
			 "..................................................");
		put(w, i % 3 ? SK_LOGS_STDOUT : SK_LOGS_STDERR, buf, T0 + i * SEC);
	}
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The kept records are consecutive and end at `last`; returns how many. */
static int check_sequence(char **v, int last)
{
	int n = (int)sk_strv_length(v);

	assert_true(n > 0);
	for (int i = 0; i < n; i++)
		if (seq_of(v[i]) != last - n + 1 + i)
			fail_msg("record %d is '%s', want line %d", i, v[i], last - n + 1 + i);
	return n;
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;
	struct sk_logs_writer *w = writer(f->path, 4096, 3, 0);
	_cleanup_free_ char *p1 = sk_asprintf("%s.1", f->path);
	_cleanup_free_ char *p2 = sk_asprintf("%s.2", f->path);
	_cleanup_free_ char *p3 = sk_asprintf("%s.3", f->path);

	write_lines(w, 0, 200);
	assert_int_equal(sk_logs_writer_size(w), file_size(f->path));
	sk_logs_writer_close(w);
	assert_true(file_size(f->path) > 0 && file_size(f->path) <= 4096);
	assert_true(file_size(p1) > 4096 - 150 && file_size(p1) <= 4096);
	assert_true(file_size(p2) > 4096 - 150 && file_size(p2) <= 4096);
	assert_int_equal(file_size(p3), -1);

	char **v = read_path(f->path, -1, 0);
	int n = check_sequence(v, 199);
	assert_true(n > 60 && n < 120);
	sk_strv_free(v);

	/* a reopened writer continues the file and its size accounting */
	w = writer(f->path, 4096, 3, 0);
	assert_int_equal(sk_logs_writer_size(w), file_size(f->path));
	write_lines(w, 200, 1);
	sk_logs_writer_close(w);
	v = read_path(f->path, 1, 0);
	assert_int_equal(seq_of(v[0]), 200);
	sk_strv_free(v);

	/* max_files 1: the file is started over */
	_cleanup_free_ char *solo = sk_path_join(f->dir, "solo.log");
	_cleanup_free_ char *solo1 = sk_asprintf("%s.1", solo);
	w = writer(solo, 4096, 1, 0);
	write_lines(w, 0, 100);
	sk_logs_writer_close(w);
	assert_true(file_size(solo) <= 4096);
	assert_int_equal(file_size(solo1), -1);
	v = read_path(solo, -1, 0);
	check_sequence(v, 99);
	sk_strv_free(v);
}

static void test_tail(void **state)
{
	struct fixture *f = *state;
	struct sk_logs_writer *w = writer(f->path, 4096, 4, 0);
	char **v;

	write_lines(w, 0, 200);
	/* a long line in P pieces counts once; the tail starts at its first piece */
	sk_logs_writer_close(w);
	w = writer(f->path, 4096, 4, 40);
	put(w, SK_LOGS_STDOUT, "line 200 is long: 0123456789012345678901234567890123456789\n",
	    T0 + 200 * SEC);
	sk_logs_writer_close(w);

	v = read_path(f->path, 1, 0);
	assert_int_equal(sk_strv_length(v), 2);
	assert_string_equal(v[0], "stdout P line 200 is long: 0123456789012345678901");
	sk_strv_free(v);

	v = read_path(f->path, 3, 0);
	assert_int_equal(sk_strv_length(v), 4);
	assert_int_equal(seq_of(v[0]), 198);
	sk_strv_free(v);

	/* across rotated files: ~29 lines a file */
	v = read_path(f->path, 70, 0);
	assert_int_equal(sk_strv_length(v), 71);
	assert_int_equal(seq_of(v[0]), 131);
	assert_int_equal(seq_of(v[68]), 199);
	sk_strv_free(v);

	v = read_path(f->path, 0, 0);
	assert_int_equal(sk_strv_length(v), 0);
	sk_strv_free(v);

	/* more than there is: everything kept */
	char **all = read_path(f->path, -1, 0);
	v = read_path(f->path, 100000, 0);
	assert_int_equal(sk_strv_length(v), sk_strv_length(all));
	sk_strv_free(v);
	sk_strv_free(all);

	/* an unterminated last line (a write in progress) is not counted nor returned */
	int fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(sk_write_all(fd, "2025-11-26T06:10:00Z stdout F half", 34), 0);
	close(fd);
	v = read_path(f->path, 1, 0);
	assert_int_equal(sk_strv_length(v), 2);
	sk_strv_free(v);
}

static void test_since(void **state)
{
	struct fixture *f = *state;
	struct sk_logs_writer *w = writer(f->path, 4096, 5, 0);
	char **v;

	write_lines(w, 0, 100);
	sk_logs_writer_close(w);
	v = read_path(f->path, -1, T0 + 60 * SEC);
	assert_int_equal(check_sequence(v, 99), 40);
	sk_strv_free(v);
	/* since and tail together: the last 5, all after since */
	v = read_path(f->path, 5, T0 + 60 * SEC);
	assert_int_equal(check_sequence(v, 99), 5);
	sk_strv_free(v);
	v = read_path(f->path, -1, T0 + 1000 * SEC);
	assert_int_equal(sk_strv_length(v), 0);
	sk_strv_free(v);
}

/* ---- follow ---- */

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static void test_follow(void **state)
{
	struct fixture *f = *state;
	struct sk_logs_writer *w = writer(f->path, 4096, 3, 0);
	struct sk_logs_read_opts o = { .tail = 2, .follow = true };
	struct sk_logs_reader *r = NULL;
	char **v;
	int seen = 0, last = 4;

	write_lines(w, 0, 5);
	ok(sk_logs_reader_open(f->path, &o, &r, E));
	assert_true(fcntl(sk_logs_reader_fd(r), F_GETFD) & FD_CLOEXEC);
	v = collect(r);
	check_sequence(v, 4);
	assert_int_equal(sk_strv_length(v), 2);
	sk_strv_free(v);
	assert_false(readable(sk_logs_reader_fd(r), 0)); /* drained */

	/* appends wake the fd; rotations (two per round, inside max_files) lose nothing */
	for (int round = 0; round < 10; round++) {
		write_lines(w, last + 1, 60);
		last += 60;
		assert_true(readable(sk_logs_reader_fd(r), 1000));
		v = collect(r);
		for (char **p = v; *p; p++)
			if (seq_of(*p) != last - 60 + 1 + seen++ % 60)
				fail_msg("round %d: got '%s'", round, *p);
		assert_int_equal(sk_strv_length(v), 60);
		sk_strv_free(v);
	}
	/* a partial line shows once flushed, its rest later */
	put(w, SK_LOGS_STDOUT, "typing", 0);
	ok(sk_logs_writer_flush(w, SK_LOGS_STDOUT, 0, E));
	assert_true(readable(sk_logs_reader_fd(r), 1000));
	const char *want1[] = { "stdout P typing" };
	assert_strv(collect(r), want1, 1);
	put(w, SK_LOGS_STDOUT, " done\n", 0);
	const char *want2[] = { "stdout F  done" };
	assert_strv(collect(r), want2, 1);
	assert_int_equal(sk_logs_reader_corrupt(r), 0);
	sk_logs_reader_close(r);
	sk_logs_writer_close(w);
}

/* A non-follow reader keeps reading the files it opened while they rotate. */
static void test_read_during_rotation(void **state)
{
	struct fixture *f = *state;
	struct sk_logs_writer *w = writer(f->path, 4096, 4, 0);
	struct sk_logs_reader *r = NULL;
	struct sk_logs_record rec;

	write_lines(w, 0, 60);
	ok(sk_logs_reader_open(f->path, NULL, &r, E));
	ok(sk_logs_reader_next(r, &rec, E));
	write_lines(w, 60, 60); /* two more rotations */
	char **v = collect(r);
	assert_true(sk_strv_length(v) > 0);
	for (char **p = v; p[1]; p++)
		assert_int_equal(seq_of(p[1]), seq_of(p[0]) + 1);
	sk_strv_free(v);
	sk_logs_reader_close(r);
	sk_logs_writer_close(w);
}

/* ---- merge ---- */

static void test_merge(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *pa = sk_path_join(f->dir, "web.1.log");
	_cleanup_free_ char *pb = sk_path_join(f->dir, "web.2.log");
	struct sk_logs_writer *a = writer(pa, 4096, 3, 0), *b = writer(pb, 4096, 3, 0);
	struct sk_logs_read_opts o = { .tail = -1, .follow = true };
	struct sk_logs_merge *m = sk_logs_merge_new();
	struct sk_logs_reader *ra = NULL, *rb = NULL;
	struct sk_logs_record rec;
	int fd = -1, n = 0;
	int64_t prev = 0;

	for (int i = 0; i < 100; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%s %d\n", i % 2 ? "b" : "a", i);
		put(i % 2 ? b : a, SK_LOGS_STDOUT, buf, T0 + i * SEC);
	}
	ok(sk_logs_reader_open(pa, &o, &ra, E));
	ok(sk_logs_reader_open(pb, &o, &rb, E));
	assert_int_equal(sk_logs_merge_add(m, ra), 0);
	ok(sk_logs_merge_fd(m, &fd, E));
	assert_true(fd >= 0);
	assert_int_equal(sk_logs_merge_add(m, rb), 1); /* added after the fd exists */
	for (;;) {
		struct sk_error *e = NULL;
		int r = sk_logs_merge_next(m, &rec, &e);
		assert_true(r >= 0);
		if (r == 0)
			break;
		assert_true(rec.time_ns > prev);
		prev = rec.time_ns;
		assert_int_equal(rec.source, (size_t)(n % 2));
		assert_int_equal(atoi(rec.msg + 2), n);
		n++;
	}
	assert_int_equal(n, 100);

	/* following: a new record on either wakes the merge fd */
	put(b, SK_LOGS_STDERR, "b late\n", T0 + 500 * SEC);
	assert_true(readable(fd, 1000));
	ok(sk_logs_merge_next(m, &rec, E));
	assert_int_equal(rec.source, 1);
	assert_int_equal(rec.stream, SK_LOGS_STDERR);
	assert_int_equal(sk_logs_merge_next(m, &rec, NULL), 0);
	assert_int_equal(sk_logs_merge_corrupt(m), 0);
	sk_logs_merge_free(m);
	sk_logs_writer_close(a);
	sk_logs_writer_close(b);
}

/* ---- damage ---- */

static void test_corrupt(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *p1 = sk_asprintf("%s.1", f->path);
	const char rotated[] = "2025-11-26T06:00:00Z stdout F one\n"
			       "not a log line\n"
			       "2025-11-26T06:00:01Z stdout F two\n"
			       "2025-11-26T06:00:02Z std"; /* torn by a crash */
	const char current[] = "2025-11-26T06:00:03Z stderr F three\n"
			       "2025-11-26T06:00:0 stdout F bad time\n"
			       "2025-11-26T06:00:04Z stdout F four\n";

	assert_int_equal(sk_write_file_atomic(p1, rotated, sizeof(rotated) - 1, 0640, false), 0);
	assert_int_equal(sk_write_file_atomic(f->path, current, sizeof(current) - 1, 0640, false),
			 0);
	struct sk_logs_reader *r = NULL;
	ok(sk_logs_reader_open(f->path, NULL, &r, E));
	const char *want[] = { "stdout F one", "stdout F two", "stderr F three", "stdout F four" };
	assert_strv(collect(r), want, SK_ELEMENTSOF(want));
	assert_int_equal(sk_logs_reader_corrupt(r), 3);
	sk_logs_reader_close(r);

	/* a line of megabytes without a newline is dropped, reading goes on after it */
	size_t big = 3 * 1024 * 1024;
	char *junk = sk_malloc0(big + 64);
	memset(junk, 'x', big);
	strcpy(junk + big, "\n2025-11-26T06:00:05Z stdout F after\n");
	assert_int_equal(sk_write_file_atomic(f->path, junk, strlen(junk), 0640, false), 0);
	free(junk);
	assert_int_equal(unlink(p1), 0);
	ok(sk_logs_reader_open(f->path, NULL, &r, E));
	const char *want2[] = { "stdout F after" };
	assert_strv(collect(r), want2, 1);
	assert_int_equal(sk_logs_reader_corrupt(r), 1);
	sk_logs_reader_close(r);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *missing = sk_path_join(f->dir, "no/such/dir.log");
	struct sk_logs_writer *w = NULL;
	struct sk_logs_reader *r = NULL;
	struct sk_error *e = NULL;

	assert_int_equal(sk_logs_writer_open(missing, NULL, &w, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "logs: open '"));
	sk_error_free(e);
	e = NULL;
	assert_int_equal(sk_logs_reader_open(f->path, NULL, &r, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "logs: open '"));
	sk_error_free(e);
	e = NULL;
	w = writer(f->path, 0, 0, 0);
	assert_int_equal(sk_logs_writer_write(w, (enum sk_logs_stream)7, "x", 1, 0, &e), -EINVAL);
	sk_error_free(e);
	sk_logs_writer_close(w);
	sk_logs_writer_close(NULL);
	sk_logs_reader_close(NULL);
	sk_logs_merge_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test_setup_teardown(test_partial_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_during_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
