/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-config.c - `skiff config` (placeholder until its module lands). */
#include <stdio.h>

#include "cmd/skiff-cli.h"

int skiff_cmd_config(const struct skiff_opts *o, int argc, char **argv)
{
	fprintf(stderr, "skiff: config: not built yet\n");
	return 1;
}
