/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.h - error objects carried up the stack.
 *
 * Library functions return 0 or a negative errno and fill `struct sk_error
 * **err` with a message that says what failed and why.  Callers add context
 * on the way up with sk_error_prefix(); only executables print, once.
 * A NULL `err` argument means the caller does not want the message.
 */
#ifndef SK_BASE_ERROR_H
#define SK_BASE_ERROR_H

#include "cleanup.h"

struct sk_error {
	int code; /* positive errno, or 0 when none applies */
	char *msg;
};

/*
 * Sets *err (if err is non-NULL and *err is still NULL) to the formatted
 * message, followed by ": strerror(code)" when code > 0.  Returns -code, or
 * -EINVAL when code is 0, so callers can `return sk_error_set(...)`.
 */
int sk_error_set(struct sk_error **err, int code, const char *fmt, ...) _printf_(3, 4);

/* As sk_error_set() with code = errno. */
int sk_error_errno(struct sk_error **err, const char *fmt, ...) _printf_(2, 3);

/* Prepends "context: " to an existing error; a no-op when there is none. */
void sk_error_prefix(struct sk_error **err, const char *fmt, ...) _printf_(2, 3);

/*
 * Moves *from into *to (when *to is still NULL, else drops it) and returns
 * its negative errno: for callers that looked at an error before passing it on.
 */
int sk_error_move(struct sk_error **to, struct sk_error **from);

/* Returns the negative errno stored in err (or -EINVAL when it has none). */
int sk_error_ret(const struct sk_error *err);

void sk_error_free(struct sk_error *err);
static inline void sk_error_freep(struct sk_error **e)
{
	sk_error_free(*e);
}
#define _cleanup_error_ _cleanup_(sk_error_freep)

/* Allocation helpers: skiff aborts on allocation failure. */
void *sk_malloc0(size_t n);
void *sk_realloc(void *p, size_t n);
char *sk_strdup(const char *s);
char *sk_strndup(const char *s, size_t n);
char *sk_asprintf(const char *fmt, ...) _printf_(1, 2);
#define sk_new0(type, n) ((type *)sk_malloc0(sizeof(type) * (n)))

#endif
