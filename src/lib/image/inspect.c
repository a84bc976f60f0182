/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect.c - `skiff image inspect`: one JSON object per image with the
 * fields podman inspect users look for (Id, Digest, RepoTags, Created,
 * Architecture, Os, Size, Config, RootFS), plus the manifest's layer blobs.
 * Config is the image config's "config" object as stored, not re-rendered.
 */
#include "image/image-internal.h"

#include <string.h>

int sk_image_inspect_json(struct sk_image_store *s, const char *name, char **ret,
			  struct sk_error **err)
{
	_cleanup_(sk_image_manifest_freep) struct sk_image_manifest *m = NULL;
	_cleanup_free_ char *cbuf = NULL, *mbuf = NULL;
	const struct sk_image_info *in;
	json_t *cfg, *doc, *layers;
	size_t clen, mlen;
	int r = sk_image_lookup(s, name, &in, err);

	if (r == 0)
		r = sk_blob_read(s, in->id, &cbuf, &clen, err);
	if (r == 0)
		r = sk_blob_read(s, in->manifest_digest, &mbuf, &mlen, err);
	if (r == 0)
		r = sk_image_manifest_parse(mbuf, mlen, in->manifest_digest, &m, err);
	if (r < 0)
		return r;
	cfg = json_loadb(cbuf, clen, 0, NULL);
	if (!cfg)
		return sk_error_set(err, 0, "image %s: config is not JSON", in->id);
	layers = sk_json_must(json_array());
	for (size_t i = 0; i < m->n_layers; i++)
		sk_json_append(layers,
			       json_pack("{s:s, s:s, s:I}", "MediaType", m->layers[i].media_type,
					 "Digest", m->layers[i].digest, "Size",
					 (json_int_t)m->layers[i].size));
	doc = sk_json_must(json_object());
	sk_json_set(doc, "Id", json_string(in->id));
	sk_json_set(doc, "Digest", json_string(in->manifest_digest));
	sk_json_set(doc, "ManifestMediaType", json_string(in->manifest_media_type));
	sk_json_set(doc, "RepoTags", sk_strv_json(in->names));
	sk_json_set(doc, "Created", in->created ? json_string(in->created) : json_null());
	sk_json_set(doc, "Imported", json_string(in->imported ? in->imported : ""));
	sk_json_set(doc, "Architecture",
		    json_incref(json_object_get(cfg, "architecture")) ?: json_null());
	sk_json_set(doc, "Os", json_incref(json_object_get(cfg, "os")) ?: json_null());
	sk_json_set(doc, "Size", json_integer((json_int_t)in->size));
	sk_json_set(doc, "Config", json_incref(json_object_get(cfg, "config")) ?: json_object());
	sk_json_set(
	    doc, "RootFS",
	    json_pack("{s:s, s:o}", "Type", "layers", "Layers", sk_strv_json(in->diff_ids)));
	sk_json_set(doc, "Layers", layers);
	json_decref(cfg);
	*ret = json_dumps(doc, JSON_INDENT(4));
	json_decref(doc);
	if (!*ret)
		abort();
	return 0;
}
