/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hello.c - the example image's program: prints who and where it runs
 * (image name from /etc/skiff-image, uid:gid, working directory, args,
 * GREETING from the environment), then exits 0. Built -static by
 * examples/images/build.sh: the image has no libc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char name[256] = "?", cwd[4096] = "?";
	const char *greeting = getenv("GREETING");
	FILE *f = fopen("/etc/skiff-image", "r");

	if (f) {
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
	}
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "?");
	printf("%s from %s: uid=%u gid=%u cwd=%s args=", greeting ? greeting : "hello", name,
	       (unsigned)getuid(), (unsigned)getgid(), cwd);
	for (int i = 1; i < argc; i++)
		printf("%s%s", i > 1 ? "," : "", argv[i]);
	printf("\n");
	return 0;
}
