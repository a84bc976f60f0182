/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - leveled logging; text for people, JSON lines for runtime clients.
 */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include <jansson.h>

static struct {
	int fd;
	enum sk_log_format format;
	enum sk_log_level level;
	const char *prefix;
} sk_log_cfg = { .fd = STDERR_FILENO, .format = SK_LOG_TEXT, .level = SK_LOG_WARN };

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int sk_log_open(const char *path, enum sk_log_format format)
{
	sk_log_cfg.format = format;
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	sk_log_cfg.fd = fd;
	return 0;
}

void sk_log_set_level(enum sk_log_level level)
{
	sk_log_cfg.level = level;
}

void sk_log_set_prefix(const char *prefix)
{
	sk_log_cfg.prefix = prefix;
}

enum sk_log_level sk_log_get_level(void)
{
	return sk_log_cfg.level;
}

int sk_log_fd(void)
{
	return sk_log_cfg.fd;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

void sk_log(enum sk_log_level level, const char *fmt, ...)
{
	int saved = errno;
	char *msg = NULL;
	va_list ap;

	if (level > sk_log_cfg.level)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);

	if (sk_log_cfg.format == SK_LOG_JSON) {
		struct timespec ts;
		char tbuf[64];
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		size_t n = strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(tbuf + n, sizeof(tbuf) - n, ".%09ldZ", ts.tv_nsec);
		json_t *o = json_pack("{s:s, s:s, s:s}", "level", level_names[level], "msg", msg,
				      "time", tbuf);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (line) {
			struct iovec iov[2] = { { line, strlen(line) }, { "\n", 1 } };
			(void)!writev(sk_log_cfg.fd, iov, 2);
		}
		free(line);
		json_decref(o);
	} else {
		char head[64];
		int hn = snprintf(head, sizeof(head),
				  "%s%s%s: ", sk_log_cfg.prefix ? sk_log_cfg.prefix : "",
				  sk_log_cfg.prefix ? ": " : "", level_names[level]);
		write_all(sk_log_cfg.fd, head,
			  (size_t)hn < sizeof(head) ? (size_t)hn : sizeof(head) - 1);
		write_all(sk_log_cfg.fd, msg, strlen(msg));
		write_all(sk_log_cfg.fd, "\n", 1);
	}
	free(msg);
	errno = saved;
}
