/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-sha256.c - hex SHA-256 of a buffer (OpenSSL's EVP) for the
 * per-service config hashes.
 */
#include "app/app-internal.h"

#include <openssl/evp.h>

void sk_app_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		abort();
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}
