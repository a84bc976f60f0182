/* SPDX-License-Identifier: Apache-2.0 */
/*
 * refname.c - image references normalized as docker and podman do:
 * "busybox" -> "docker.io/library/busybox:latest", "me/app:1" ->
 * "docker.io/me/app:1", "localhost/app" -> "localhost/app:latest",
 * "quay.io/x/y@sha256:..." kept.  The first component is a registry when it
 * has a '.' or ':' or is "localhost" (docker's rule); "index.docker.io"
 * becomes "docker.io".  Repository paths must be lowercase, tags follow
 * distribution's grammar.  Lookup by short name also tries localhost/
 * (store.c), as podman does for images built locally.
 */
#include "image/image-internal.h"

#include <ctype.h>
#include <string.h>

#define SK_REF_MAX 255

static bool alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component: [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)* */
static bool valid_component(const char *c, size_t n)
{
	size_t i = 0;

	if (n == 0 || !alnum_lower(c[0]) || !alnum_lower(c[n - 1]))
		return false;
	while (i < n) {
		if (alnum_lower(c[i])) {
			i++;
			continue;
		}
		if (c[i] == '.' || (c[i] == '_' && c[i + 1] != '_')) {
			i++;
		} else if (c[i] == '_' && i + 1 < n && c[i + 1] == '_') {
			i += 2;
		} else if (c[i] == '-') {
			while (i < n && c[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i >= n || !alnum_lower(c[i]))
			return false;
	}
	return true;
}

static bool valid_domain(const char *d, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n && d[i] != ':'; i++)
		if (!isalnum((unsigned char)d[i]) && d[i] != '.' && d[i] != '-')
			return false;
	if (i < n) { /* :port */
		if (i + 1 == n)
			return false;
		for (i++; i < n; i++)
			if (!isdigit((unsigned char)d[i]))
				return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

static bool is_domain(const char *first, size_t n)
{
	return memchr(first, '.', n) || memchr(first, ':', n) ||
	       (n == 9 && !memcmp(first, "localhost", 9));
}

int sk_image_name_normalize(const char *name, char **ret, struct sk_error **err)
{
	_cleanup_free_ char *copy = NULL, *domain = NULL, *path = NULL;
	char *digest, *tag = NULL, *slash, *colon;

	if (!name || !*name || strlen(name) > SK_REF_MAX + 80)
		return sk_error_set(err, 0, "invalid image name '%.100s'", name ? name : "");
	copy = sk_strdup(name);
	digest = strchr(copy, '@');
	if (digest) {
		*digest++ = '\0';
		if (sk_digest_validate(digest, err) < 0) {
			sk_error_prefix(err, "invalid image name '%s'", name);
			return -EINVAL;
		}
	}
	slash = strrchr(copy, '/');
	colon = strrchr(slash ? slash : copy, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
		if (!valid_tag(tag))
			return sk_error_set(err, 0, "invalid tag in image name '%s'", name);
	}
	slash = strchr(copy, '/');
	if (slash && is_domain(copy, (size_t)(slash - copy))) {
		domain = sk_strndup(copy, (size_t)(slash - copy));
		path = sk_strdup(slash + 1);
		if (!valid_domain(domain, strlen(domain)))
			return sk_error_set(err, 0, "invalid registry in image name '%s'", name);
		if (!strcmp(domain, "index.docker.io")) {
			free(domain);
			domain = sk_strdup("docker.io");
		}
	} else {
		domain = sk_strdup("docker.io");
		path = slash ? sk_strdup(copy) : sk_asprintf("library/%s", copy);
	}
	for (char *c = path, *end;; c = end + 1) {
		end = strchr(c, '/');
		if (!valid_component(c, end ? (size_t)(end - c) : strlen(c)))
			return sk_error_set(err, 0,
					    "invalid image name '%s': repository names must be "
					    "lowercase letters, digits and separators",
					    name);
		if (!end)
			break;
	}
	if (strlen(domain) + strlen(path) + 1 > SK_REF_MAX)
		return sk_error_set(err, 0, "invalid image name '%.100s': longer than %d", name,
				    SK_REF_MAX);
	if (digest && !tag)
		*ret = sk_asprintf("%s/%s@%s", domain, path, digest);
	else if (digest)
		*ret = sk_asprintf("%s/%s:%s@%s", domain, path, tag, digest);
	else
		*ret = sk_asprintf("%s/%s:%s", domain, path, tag ? tag : "latest");
	return 0;
}
