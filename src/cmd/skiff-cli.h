/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-cli.h - the `skiff` command's subcommands, one file each
 * (skiff-image.c, skiff-config.c, ...).  Each gets argv with argv[0] = the
 * subcommand name and returns the process exit code; errors are printed
 * once with sk_cli_error().
 */
#ifndef SK_CMD_SKIFF_CLI_H
#define SK_CMD_SKIFF_CLI_H

#include "base/error.h"

struct skiff_opts {
	const char *store; /* image/state store, default /var/lib/skiff */
	const char *sock;  /* skiffd API socket, default /run/skiff/skiffd.sock */
};

/* Prints "skiff: <err>" to stderr once, frees err, returns 1. */
int skiff_fail(struct sk_error *err);

int skiff_cmd_image(const struct skiff_opts *o, int argc, char **argv);
int skiff_cmd_config(const struct skiff_opts *o, int argc, char **argv);

#endif
