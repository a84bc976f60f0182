/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-yaml.c - a positioned YAML tree built from libfyaml's event parser.
 *
 * libfyaml does the YAML; this file keeps line:column for every node (the
 * document API of libfyaml 0.7 has no marks for collections), resolves
 * aliases to the anchored node without copying (the tree becomes a DAG, so
 * "billion laughs" costs nothing here) and applies merge keys: `<<: *a` or
 * `<<: [*a, *b]` adds the pairs of the merged mappings that the mapping does
 * not set itself, earlier sources winning.  Duplicate keys are errors, as
 * in docker compose.  Limits bound what a hostile file can make us allocate.
 */
#include "app/app-internal.h"

#include <libfyaml.h>
#include <string.h>

#define SK_YAML_MAX_NODES 1000000
#define SK_YAML_MAX_PAIRS 4096

struct frame {
	struct sk_yn *node;
	char *anchor;
	struct sk_yn **items;
	size_t n, cap;
};

struct anchor {
	char *name;
	struct sk_yn *node;
};

struct builder {
	const char *file;
	struct sk_yaml *y;
	struct frame *stack;
	size_t depth, cap;
	struct anchor *anchors;
	size_t n_anchors;
	size_t n_nodes;
	int last_line, last_col;
	struct sk_error **err;
};

static _printf_(4, 5) int fail_at(struct builder *b, int line, int col, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);

	return sk_error_set(b->err, 0, "%s:%d:%d: %s", b->file, line, col, msg);
}

static struct sk_yn *node_new(struct builder *b, enum sk_yn_type t, const struct fy_mark *m)
{
	struct sk_yn *n = sk_new0(struct sk_yn, 1);

	n->type = t;
	if (m && m->line >= 0) {
		n->line = m->line + 1;
		n->col = m->column + 1;
		b->last_line = n->line;
		b->last_col = n->col;
	} else { /* an empty value: point at what came before it (its key) */
		n->line = b->last_line;
		n->col = b->last_col;
	}
	n->next_alloc = b->y->all;
	b->y->all = n;
	b->n_nodes++;
	return n;
}

static char *token_text(struct fy_token *t)
{
	size_t len = 0;
	const char *s = t ? fy_token_get_text(t, &len) : NULL;

	return s ? sk_strndup(s, len) : NULL;
}

static void anchor_add(struct builder *b, char *name, struct sk_yn *n)
{
	if (!name)
		return;
	b->anchors = sk_realloc(b->anchors, (b->n_anchors + 1) * sizeof(*b->anchors));
	b->anchors[b->n_anchors++] = (struct anchor){ name, n };
}

static struct sk_yn *anchor_find(struct builder *b, const char *name)
{
	for (size_t i = b->n_anchors; i > 0; i--)
		if (!strcmp(b->anchors[i - 1].name, name))
			return b->anchors[i - 1].node;
	return NULL;
}

static void frame_push_item(struct frame *f, struct sk_yn *n)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->items = sk_realloc(f->items, f->cap * sizeof(*f->items));
	}
	f->items[f->n++] = n;
}

static bool is_merge_key(const struct sk_yn *k)
{
	return k->type == SK_YN_SCALAR && k->plain && !strcmp(k->text, "<<");
}

static bool has_key(struct sk_yn **items, size_t n_pairs, const char *key)
{
	for (size_t i = 0; i < n_pairs; i++)
		if (!strcmp(items[2 * i]->text, key))
			return true;
	return false;
}

/* Appends the pairs of merge source `src` that `f` does not have yet. */
static int merge_from(struct builder *b, struct frame *f, const struct sk_yn *src,
		      const struct sk_yn *at)
{
	if (src->type != SK_YN_MAP)
		return fail_at(b, at->line, at->col, "%s",
			       "merge key (<<) needs a mapping or a list of mappings");
	for (size_t i = 0; i < src->n; i++) {
		struct sk_yn *k = sk_yn_key(src, i);
		if (has_key(f->items, f->n / 2, k->text))
			continue;
		if (f->n / 2 >= SK_YAML_MAX_PAIRS)
			return fail_at(b, at->line, at->col, "%s", "mapping has too many keys");
		frame_push_item(f, k);
		frame_push_item(f, sk_yn_val(src, i));
	}
	return 0;
}

/* Turns the collected key/value items of a mapping into its final pairs. */
static int map_finish(struct builder *b, struct frame *f)
{
	struct sk_yn **raw = f->items;
	size_t n = f->n;
	struct sk_yn *merges[64];
	size_t n_merges = 0;
	int r = 0;

	f->items = NULL;
	f->n = f->cap = 0;
	for (size_t i = 0; i + 1 < n && r == 0; i += 2) {
		struct sk_yn *k = raw[i], *v = raw[i + 1];
		if (k->type != SK_YN_SCALAR)
			r = fail_at(b, k->line, k->col, "%s", "mapping keys must be scalars");
		else if (is_merge_key(k)) {
			if (n_merges == SK_ELEMENTSOF(merges))
				r = fail_at(b, k->line, k->col, "%s", "too many merge keys");
			else
				merges[n_merges++] = v;
		} else if (has_key(f->items, f->n / 2, k->text))
			r = fail_at(b, k->line, k->col, "duplicate key \"%s\"", k->text);
		else if (f->n / 2 >= SK_YAML_MAX_PAIRS)
			r = fail_at(b, k->line, k->col, "%s", "mapping has too many keys");
		else {
			frame_push_item(f, k);
			frame_push_item(f, v);
		}
	}
	for (size_t m = 0; m < n_merges && r == 0; m++) {
		const struct sk_yn *v = merges[m];
		if (v->type == SK_YN_SEQ)
			for (size_t i = 0; i < v->n && r == 0; i++)
				r = merge_from(b, f, v->items[i], v->items[i]);
		else
			r = merge_from(b, f, v, v);
	}
	free(raw);
	return r;
}

/* Adds a finished node to the open container (or makes it the root). */
static void attach(struct builder *b, struct sk_yn *n)
{
	if (b->depth == 0) {
		if (!b->y->root)
			b->y->root = n;
		return;
	}
	frame_push_item(&b->stack[b->depth - 1], n);
}

static int open_container(struct builder *b, enum sk_yn_type t, struct fy_event *e)
{
	struct fy_token *anchor =
	    t == SK_YN_MAP ? e->mapping_start.anchor : e->sequence_start.anchor;

	if (b->depth == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->stack = sk_realloc(b->stack, b->cap * sizeof(*b->stack));
	}
	b->stack[b->depth++] = (struct frame){ .node = node_new(b, t, fy_event_start_mark(e)),
					       .anchor = token_text(anchor) };
	return 0;
}

static int close_container(struct builder *b)
{
	struct frame f = b->stack[--b->depth];
	int r = 0;

	if (f.node->type == SK_YN_MAP)
		r = map_finish(b, &f);
	f.node->items = f.items;
	f.node->n = f.node->type == SK_YN_MAP ? f.n / 2 : f.n;
	anchor_add(b, f.anchor, f.node);
	attach(b, f.node);
	return r;
}

static int on_event(struct builder *b, struct fy_event *e)
{
	struct sk_yn *n;

	if (b->n_nodes > SK_YAML_MAX_NODES)
		return sk_error_set(b->err, 0, "%s: document has more than %d nodes", b->file,
				    SK_YAML_MAX_NODES);
	switch (e->type) {
	case FYET_DOCUMENT_START:
		if (b->y->root)
			return fail_at(b, b->last_line, b->last_col, "%s",
				       "a compose file holds one YAML document");
		return 0;
	case FYET_SCALAR:
		n = node_new(b, SK_YN_SCALAR, fy_event_start_mark(e));
		n->text = token_text(e->scalar.value);
		if (!n->text)
			n->text = sk_strdup("");
		n->plain = !e->scalar.value || fy_token_scalar_style(e->scalar.value) == FYSS_PLAIN;
		if (e->scalar.value && n->col > 1 &&
		    (fy_token_scalar_style(e->scalar.value) == FYSS_SINGLE_QUOTED ||
		     fy_token_scalar_style(e->scalar.value) == FYSS_DOUBLE_QUOTED))
			n->col--; /* point at the opening quote, not the text */
		anchor_add(b, token_text(e->scalar.anchor), n);
		attach(b, n);
		return 0;
	case FYET_ALIAS: {
		_cleanup_free_ char *name = token_text(e->alias.anchor);
		const struct fy_mark *m = fy_event_start_mark(e);
		n = name ? anchor_find(b, name) : NULL;
		if (!n)
			return fail_at(b, m ? m->line + 1 : 0,
				       m ? m->column : 0, /* the mark is past the '*' */
				       "unknown anchor \"%s\"", name ? name : "");
		attach(b, n);
		return 0;
	}
	case FYET_MAPPING_START:
		return open_container(b, SK_YN_MAP, e);
	case FYET_SEQUENCE_START:
		return open_container(b, SK_YN_SEQ, e);
	case FYET_MAPPING_END:
	case FYET_SEQUENCE_END:
		return close_container(b);
	default:
		return 0;
	}
}

static int syntax_error(struct builder *b, struct fy_diag *diag)
{
	void *it = NULL;
	struct fy_diag_error *de = fy_diag_errors_iterate(diag, &it);

	if (de)
		return sk_error_set(b->err, 0, "%s:%d:%d: %s", b->file, de->line, de->column,
				    de->msg);
	return sk_error_set(b->err, 0, "%s: invalid YAML", b->file);
}

static void builder_release(struct builder *b)
{
	for (size_t i = 0; i < b->depth; i++) {
		free(b->stack[i].items);
		free(b->stack[i].anchor);
	}
	free(b->stack);
	for (size_t i = 0; i < b->n_anchors; i++)
		free(b->anchors[i].name);
	free(b->anchors);
}

/* Length of the valid UTF-8 sequence at p (strict: no overlongs, surrogates or > U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0x80		    ? 1
		     : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
		     : (p[0] & 0xf0) == 0xe0	    ? 3
		     : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
						    : 0;
	uint32_t cp;

	if (len == 0 || len > n)
		return 0;
	cp = len == 1 ? p[0] : p[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * Compose files are UTF-8.  Checked before libfyaml sees the text: libfyaml
 * 0.7.12 loops forever on some invalid sequences (e.g. in a % directive).
 */
static int check_utf8(const char *buf, size_t len, const char *file, struct sk_error **err)
{
	int line = 1, col = 1;

	for (size_t i = 0; i < len;) {
		size_t l = utf8_len((const unsigned char *)buf + i, len - i);
		if (l == 0)
			return sk_error_set(err, 0, "%s:%d:%d: invalid UTF-8", file, line, col);
		if (buf[i] == '\n') {
			line++;
			col = 0;
		}
		col++;
		i += l;
	}
	return 0;
}

static void diag_silent(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
}

int sk_app_yaml_parse(const char *buf, size_t len, const char *file, struct sk_yaml *ret,
		      struct sk_error **err)
{
	struct sk_yaml y = { 0 };
	struct builder b = { .file = file, .y = &y, .err = err };
	struct fy_diag_cfg dc;
	struct fy_diag *diag;
	struct fy_parser *p;
	struct fy_event *e;
	int r = 0;

	if (check_utf8(buf, len, file, err) < 0)
		return -EINVAL;
	fy_diag_cfg_default(&dc);
	dc.fp = NULL;
	dc.output_fn = diag_silent;
	dc.colorize = false;
	diag = fy_diag_create(&dc);
	if (!diag)
		abort();
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2,
				    .diag = diag };
	p = fy_parser_create(&cfg);
	if (!p || fy_parser_set_string(p, buf, len) != 0)
		abort();
	while (r == 0 && (e = fy_parser_parse(p))) {
		r = on_event(&b, e);
		fy_parser_event_free(p, e);
	}
	if (r == 0 && fy_parser_get_stream_error(p))
		r = syntax_error(&b, diag);
	fy_parser_destroy(p);
	fy_diag_destroy(diag);
	builder_release(&b);
	if (r < 0) {
		sk_app_yaml_release(&y);
		return r;
	}
	*ret = y;
	return 0;
}

void sk_app_yaml_release(struct sk_yaml *y)
{
	struct sk_yn *n = y->all;

	while (n) {
		struct sk_yn *next = n->next_alloc;
		free(n->text);
		free(n->items);
		free(n);
		n = next;
	}
	*y = (struct sk_yaml){ 0 };
}

bool sk_yn_is_null(const struct sk_yn *n)
{
	if (!n)
		return true;
	if (n->type != SK_YN_SCALAR || !n->plain)
		return false;
	return !*n->text || !strcmp(n->text, "~") || !strcmp(n->text, "null") ||
	       !strcmp(n->text, "Null") || !strcmp(n->text, "NULL");
}

struct sk_yn *sk_yn_get(const struct sk_yn *m, const char *key)
{
	if (!m || m->type != SK_YN_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(sk_yn_key(m, i)->text, key))
			return sk_yn_val(m, i);
	return NULL;
}
