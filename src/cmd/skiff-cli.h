/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-cli.h - the `skiff` command's subcommands, one file each
 * (skiff-image.c, skiff-config.c, ...).  Each gets argv with argv[0] = the
 * subcommand name and returns the process exit code; errors are printed
 * once with skiff_fail().
 *
 * The app verbs (up, down, ps, logs, exec, scale, ...) talk to skiffd over
 * its unix socket; skiff-common.c holds what they share: choosing the app,
 * connecting, calling the API, tables, human units and times.
 */
#ifndef SK_CMD_SKIFF_CLI_H
#define SK_CMD_SKIFF_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "daemon/api-client.h"

struct skiff_opts {
	const char *store;   /* image/state store, default /var/lib/skiff */
	const char *sock;    /* skiffd API socket: --sock, $SKIFF_SOCK, /run/skiff/skiffd.sock */
	const char *file;    /* global -f/--file: the compose file, or NULL */
	const char *project; /* global -p/--project-name, or NULL */
};

/* Prints "skiff: <err>" to stderr once, frees err, returns 1. */
int skiff_fail(struct sk_error *err);

int skiff_cmd_image(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_config(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_up(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_down(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_ps(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_logs(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_exec(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_scale(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_stop(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_start(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_restart(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_top(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_events(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_inspect(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_fault(const struct skiff_opts *o, int argc, char **argv);

/* ---- skiff-common.c: shared by the app verbs ------------------------- */

/* The app a verb works on: -p wins, else the compose file (-f or found in the cwd). */
struct skiff_app_sel {
	const char *file;
	const char *project;
};

/* Starts from the global -f/-p; a verb's own -f/-p then overwrite the fields. */
void skiff_app_sel_init(struct skiff_app_sel *sel, const struct skiff_opts *o);

/*
 * The app name the way `docker compose` finds it: -p (normalized), else the
 * compose file's `name:` or its directory's name.  Loading errors are
 * printed (file:line:col, one per line); warnings are not.  Returns 0 with
 * *ret_name (owned), or the exit code (1) after printing.  With `optional`,
 * no -p and no compose file in the cwd gives 0 and *ret_name = NULL.
 */
int skiff_app_name(const struct skiff_app_sel *sel, bool optional, char **ret_name);

/*
 * Connects to skiffd.  Returns 0 and *ret, or prints one line ("cannot
 * reach skiffd at PATH: start it with ..." when it is not running) and
 * returns the exit code 1.
 */
int skiff_connect(const struct skiff_opts *o, struct sk_api_client **ret);

/*
 * One JSON call: `body` borrowed (NULL for none), *ret_json owned (may be
 * NULL).  A non-2xx answer is an error whose message is the daemon's
 * {"error"} text alone.  Returns 0 or a negative errno with *err set.
 */
int skiff_call(struct sk_api_client *c, const char *method, const char *path, json_t *body,
	       json_t **ret_json, struct sk_error **err);

/* "/v1/apps/<app><suffix>" with the app name percent-encoded; caller frees. */
char *skiff_app_path(const char *app, const char *suffix);
/* Percent-encodes everything outside [A-Za-z0-9._~-] for a query value; caller frees. */
char *skiff_url_escape(const char *s);

/* The GET .../ps replicas array (new reference), or NULL after printing the error (exit 1). */
json_t *skiff_get_replicas(struct sk_api_client *c, const char *app);

/*
 * NDJSON lines from a streamed body: feed bytes with skiff_ndjson_feed(),
 * each complete line is parsed and handed to `cb` (return non-zero to
 * stop).  Lines longer than 4 MiB are an error.
 */
typedef int (*skiff_json_line_cb)(json_t *obj, void *userdata);
struct skiff_ndjson {
	char *buf;
	size_t len;
	skiff_json_line_cb cb;
	void *userdata;
	int error; /* negative errno once a line was too long or not JSON */
};
int skiff_ndjson_feed(const char *data, size_t len, void *userdata); /* an sk_api_chunk_cb */
void skiff_ndjson_release(struct skiff_ndjson *n);

/* A text table: left-aligned columns two spaces apart, the last not padded. */
struct skiff_table {
	size_t n_cols, n_rows;
	char **cells; /* n_rows * n_cols, owned */
};
void skiff_table_init(struct skiff_table *t, size_t n_cols, const char *const *headers);
/* Appends a row of n_cols strings (copied; NULL prints "-"). */
void skiff_table_add(struct skiff_table *t, const char *const *row);
void skiff_table_print(const struct skiff_table *t, FILE *f);
void skiff_table_release(struct skiff_table *t);

/* "512B", "12.5MiB", "3.0GiB" */
void skiff_human_bytes(uint64_t n, char *buf, size_t len);
/* "45s", "3m12s", "2h5m", "3d4h"; negative durations print as "0s" */
void skiff_human_duration(int64_t ns, char *buf, size_t len);
/* RFC 3339 UTC with `digits` (0, 3 or 9) fractional digits: "2026-11-26T10:00:00.123Z" */
void skiff_format_time(int64_t ns, int digits, char *buf, size_t len);
/* Wall-clock time in nanoseconds since the epoch. */
int64_t skiff_now_ns(void);

/*
 * A --since value: a duration before now ("10m", "1h30m"), an RFC 3339 time
 * ("2026-11-26T10:00:00Z", "...+02:00", fractional seconds allowed) or Unix
 * seconds ("1764151200", "1764151200.5").  Returns 0 or -EINVAL.
 */
int skiff_parse_since(const char *s, int64_t *ret_ns);

/* ---- skiff-logs.c: the log printer `up` shares ---------------------- */

struct skiff_logs_opts {
	bool follow, timestamps, no_prefix, color;
	int64_t tail;	  /* lines per replica; -1: all */
	int64_t since_ns; /* 0: from the start */
	char **services;  /* NULL or empty: all */
	int width;	  /* the "service-N" prefix is padded to this */
};

/*
 * Streams GET /v1/apps/{app}/logs and prints "service-N  | msg" lines to
 * stdout, joining partial lines.  Returns 0 when the stream ends, or a
 * negative errno with *err set.
 */
int skiff_logs_stream(struct sk_api_client *c, const char *app, const struct skiff_logs_opts *lo,
		      struct sk_error **err);

#endif
