/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.h - small file, string and number helpers shared by every module.
 *
 * Numbers are parsed strictly: junk, empty strings and overflow are errors
 * (no atoi()).  File helpers retry on EINTR and open everything O_CLOEXEC.
 */
#ifndef SK_BASE_UTIL_H
#define SK_BASE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Strict parsers: return 0, or -EINVAL (junk) / -ERANGE; *ret set on success. */
int sk_parse_int64(const char *s, int64_t *ret);
int sk_parse_uint64(const char *s, uint64_t *ret);
int sk_parse_int(const char *s, int *ret);

/* Reads a whole file (at most 16 MiB) into a NUL-terminated buffer. */
int sk_read_file(const char *path, char **ret, size_t *ret_len);
int sk_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len);
/* Writes buf to an existing file (O_WRONLY|O_TRUNC), e.g. a cgroup or /proc file. */
int sk_write_file(const char *path, const char *buf, size_t len);
int sk_write_file_at(int dirfd, const char *path, const char *buf, size_t len);
/* Writes atomically: temp file in the same directory, fsync optional, rename. */
int sk_write_file_atomic(const char *path, const char *buf, size_t len, mode_t mode, bool sync);

/* Writes/reads the whole buffer, retrying on EINTR and short transfers. */
int sk_write_all(int fd, const void *buf, size_t len);
ssize_t sk_read_all(int fd, void *buf, size_t len);

/* mkdir -p; returns 0 if it exists already.  Created dirs get `mode`. */
int sk_mkdir_p(const char *path, mode_t mode);
/* rm -rf of a directory tree that does not cross mount points. */
int sk_rm_rf(const char *path);

bool sk_str_has_prefix(const char *s, const char *prefix);
size_t sk_strv_length(char *const *v);
char **sk_strv_copy(char *const *v);
/* Appends a copy of s to *v (NULL-terminated, owned). */
void sk_strv_push(char ***v, const char *s);
char *sk_path_join(const char *a, const char *b);
/*
 * In a child forked from a process with sockets it must not keep (skiffd's
 * API and proxy listeners, proxy connections): closes every fd above 2 but
 * keep_a and keep_b (-1: none).
 */
void sk_close_fds_except(int keep_a, int keep_b);

/* Converts CLOCK_MONOTONIC to nanoseconds. */
uint64_t sk_now_ns(void);
/* CLOCK_REALTIME in nanoseconds since the Unix epoch (times users see). */
int64_t sk_wall_ns(void);

#endif
