/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime-cli.h - skiff-runtime's subcommands (one function each).
 *
 * Each gets argv with argv[0] = the subcommand name, parses its own
 * options, and returns the process exit code.
 */
#ifndef SK_CMD_RUNTIME_CLI_H
#define SK_CMD_RUNTIME_CLI_H

#include "runtime/container.h"

struct sk_cli_command {
	const char *name;
	int (*fn)(const struct sk_runtime *rt, int argc, char **argv);
	const char *help;
};

int sk_cli_create(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_start(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_run(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_state(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_kill(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_delete(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_list(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_ps(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_exec(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_pause(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_resume(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_update(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_spec(const struct sk_runtime *rt, int argc, char **argv);
int sk_cli_features(const struct sk_runtime *rt, int argc, char **argv);

/* Prints err once (to the log, and to stderr when the log is a file) and returns 1. */
int sk_cli_fail(struct sk_error *err);
/* Signal name ("TERM", "SIGTERM", "KILL", "9", "RTMIN+1") to number; -1 when unknown. */
int sk_cli_parse_signal(const char *s);
/* "64m", "1G", "1024", "-1" to bytes; -EINVAL on junk. */
int sk_cli_parse_bytes(const char *s, int64_t *ret);

#endif
