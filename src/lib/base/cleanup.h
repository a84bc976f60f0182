/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cleanup.h - scope-bound release of memory and file descriptors.
 *
 * A local declared `_cleanup_free_ char *p = NULL;` is freed when it leaves
 * scope on every path; TAKE_PTR()/TAKE_FD() hand ownership to the caller.
 * This is the only resource-management idiom skiff uses for locals.
 */
#ifndef SK_BASE_CLEANUP_H
#define SK_BASE_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(sk_freep)
#define _cleanup_close_ _cleanup_(sk_closep)
#define _cleanup_fclose_ _cleanup_(sk_fclosep)
#define _cleanup_strv_ _cleanup_(sk_strv_freep)
#define _unused_ __attribute__((unused))
#define _must_check_ __attribute__((warn_unused_result))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp_ = (p);                                                          \
		(p) = NULL;                                                                        \
		_tp_;                                                                              \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf_ = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_tf_;                                                                              \
	})

#define SK_ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void sk_freep(void *p)
{
	free(*(void **)p);
}

/* Closes without disturbing errno, so error paths can still report it. */
static inline void sk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void sk_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* A NULL-terminated array of owned strings. */
static inline void sk_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static inline void sk_strv_freep(char ***v)
{
	sk_strv_free(*v);
}

#endif
