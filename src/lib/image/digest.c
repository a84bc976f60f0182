/* SPDX-License-Identifier: Apache-2.0 */
/*
 * digest.c - sha256 content digests ("sha256:<hex>") for the image store,
 * computed with OpenSSL's libcrypto.  Only sha256 is accepted: it is what
 * every image tool writes, and one algorithm keeps the store's names unique.
 */
#include "image/image-internal.h"

#include <openssl/evp.h>
#include <string.h>

struct sk_sha256 {
	EVP_MD_CTX *ctx;
};

int sk_digest_validate(const char *digest, struct sk_error **err)
{
	const char *hex;

	if (!digest)
		return sk_error_set(err, 0, "missing digest");
	if (!sk_str_has_prefix(digest, "sha256:")) {
		if (strchr(digest, ':'))
			return sk_error_set(err, 0, "unsupported digest algorithm in '%.80s'",
					    digest);
		return sk_error_set(err, 0, "invalid digest '%.80s'", digest);
	}
	hex = digest + 7;
	if (strlen(hex) != SK_DIGEST_HEX_LEN ||
	    strspn(hex, "0123456789abcdef") != SK_DIGEST_HEX_LEN)
		return sk_error_set(err, 0, "invalid digest '%.80s'", digest);
	return 0;
}

const char *sk_digest_hex(const char *digest)
{
	return digest + 7;
}

struct sk_sha256 *sk_sha256_new(void)
{
	struct sk_sha256 *h = sk_new0(struct sk_sha256, 1);

	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		abort();
	return h;
}

void sk_sha256_update(struct sk_sha256 *h, const void *buf, size_t len)
{
	if (len && EVP_DigestUpdate(h->ctx, buf, len) != 1)
		abort();
}

void sk_sha256_final(struct sk_sha256 *h, char out[72])
{
	static const char hexdig[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned n = 0;

	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
		abort();
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++) {
		out[7 + 2 * i] = hexdig[md[i] >> 4];
		out[8 + 2 * i] = hexdig[md[i] & 15];
	}
	out[71] = '\0';
	sk_sha256_free(h);
}

void sk_sha256_free(struct sk_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void sk_sha256_buf(const void *buf, size_t len, char out[72])
{
	struct sk_sha256 *h = sk_sha256_new();

	sk_sha256_update(h, buf, len);
	sk_sha256_final(h, out);
}
