/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.c - error objects and allocation helpers that abort on exhaustion.
 */
#include "error.h"

#include <stdarg.h>
#include <string.h>

static _printf_(3, 0) int set_v(struct sk_error **err, int code, const char *fmt, va_list ap)
{
	int ret = code > 0 ? -code : -EINVAL;
	char *msg = NULL;

	if (!err || *err)
		return ret;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	if (code > 0) {
		char *full = sk_asprintf("%s: %s", msg, strerror(code));
		free(msg);
		msg = full;
	}
	*err = sk_new0(struct sk_error, 1);
	(*err)->code = code;
	(*err)->msg = msg;
	return ret;
}

int sk_error_set(struct sk_error **err, int code, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = set_v(err, code, fmt, ap);
	va_end(ap);
	return ret;
}

int sk_error_errno(struct sk_error **err, const char *fmt, ...)
{
	int code = errno ? errno : EIO;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = set_v(err, code, fmt, ap);
	va_end(ap);
	errno = code;
	return ret;
}

void sk_error_prefix(struct sk_error **err, const char *fmt, ...)
{
	char *ctx = NULL;
	char *full;
	va_list ap;

	if (!err || !*err)
		return;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		abort();
	va_end(ap);
	full = sk_asprintf("%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = full;
}

int sk_error_move(struct sk_error **to, struct sk_error **from)
{
	int r = sk_error_ret(*from);

	if (to && !*to)
		*to = *from;
	else
		sk_error_free(*from);
	*from = NULL;
	return r;
}

int sk_error_ret(const struct sk_error *err)
{
	return err && err->code > 0 ? -err->code : -EINVAL;
}

void sk_error_free(struct sk_error *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err);
}

void *sk_malloc0(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		abort();
	return p;
}

void *sk_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *sk_strdup(const char *s)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		abort();
	return p;
}

char *sk_strndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		abort();
	return p;
}

char *sk_asprintf(const char *fmt, ...)
{
	char *p = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		abort();
	va_end(ap);
	return p;
}
