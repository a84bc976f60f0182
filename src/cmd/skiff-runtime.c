/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-runtime.c - the runc-compatible command line (being built). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
		printf("skiff-runtime version %s\ncommit: %s\nspec: 1.2.0\n", SK_VERSION, SK_COMMIT);
		return 0;
	}
	fprintf(stderr, "skiff-runtime: usage: skiff-runtime [global options] command [args]\n");
	return 2;
}
