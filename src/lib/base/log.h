/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - leveled logging to stderr or a file, as text or JSON lines.
 *
 * The JSON form is what runc writes with --log-format json and what
 * conmon and containerd's shim parse: {"level":"error","msg":"...","time":"..."}.
 * The log configuration is one of the few process-wide globals.
 */
#ifndef SK_BASE_LOG_H
#define SK_BASE_LOG_H

#include "cleanup.h"

enum sk_log_level { SK_LOG_ERROR, SK_LOG_WARN, SK_LOG_INFO, SK_LOG_DEBUG };
enum sk_log_format { SK_LOG_TEXT, SK_LOG_JSON };

/*
 * Sends log lines to `path` (opened append, CLOEXEC) or stderr when NULL.
 * Returns 0 or a negative errno when the file cannot be opened.
 */
int sk_log_open(const char *path, enum sk_log_format format);
void sk_log_set_level(enum sk_log_level level);
void sk_log_set_prefix(const char *prefix);
enum sk_log_level sk_log_get_level(void);
/* The fd log lines go to, so a child can keep it across setup (or -1). */
int sk_log_fd(void);

void sk_log(enum sk_log_level level, const char *fmt, ...) _printf_(2, 3);
#define sk_log_error(...) sk_log(SK_LOG_ERROR, __VA_ARGS__)
#define sk_warn(...) sk_log(SK_LOG_WARN, __VA_ARGS__)
#define sk_info(...) sk_log(SK_LOG_INFO, __VA_ARGS__)
#define sk_debug(...)                                                                              \
	do {                                                                                       \
		if (sk_log_get_level() >= SK_LOG_DEBUG)                                            \
			sk_log(SK_LOG_DEBUG, __VA_ARGS__);                                         \
	} while (0)

#endif
