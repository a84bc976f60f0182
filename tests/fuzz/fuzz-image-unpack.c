/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-image-unpack.c - libFuzzer target for the layer unpacker: each input
 * is a (possibly compressed) tar stream unpacked into a fresh temp dir,
 * which is then removed.  Any write outside that dir is a bug the unpacker
 * must prevent; ASan checks the error paths.  Seeds (small tars with
 * whiteouts, links, hostile names) live in tests/fuzz/corpus/fuzz-image-unpack/.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"
#include "image/image-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char tmpl[] = "/tmp/fuzz-image-unpack-XXXXXX";
	struct sk_error *err = NULL;
	int fd;

	if (!mkdtemp(tmpl))
		abort();
	fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		abort();
	(void)sk_unpack_buffer(data, size, fd, NULL, &err);
	sk_error_free(err);
	close(fd);
	if (sk_rm_rf(tmpl) < 0)
		abort();
	return 0;
}
