/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-image.c - `skiff image` (placeholder until its module lands). */
#include <stdio.h>

#include "cmd/skiff-cli.h"

int skiff_cmd_image(const struct skiff_opts *o, int argc, char **argv)
{
	fprintf(stderr, "skiff: image: not built yet\n");
	return 1;
}
