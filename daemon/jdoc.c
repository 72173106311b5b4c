/*
 * The JSON document tree of jdoc.h, built from yajl's callback (SAX)
 * parser, which measured several times faster than yajl_tree, json-c or
 * jansson on our messages. Nodes and unescaped strings go into the caller's
 * arena; strings that need no unescaping point into the parsed text, so the
 * common message costs one node allocation per value and no copying.
 *
 * yajl checks only the shape of UTF-8 sequences (it lets overlong forms,
 * surrogates and code points past U+10FFFF through) and silently turns an
 * unpaired \u surrogate escape into '?' or into the wrong character, so
 * before yajl sees the text one pass checks it strictly for both; that pass
 * skips eight plain ASCII bytes at a time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "handoff/jdoc.h"

/* Objects with this many members get a hash index for the duplicate key
 * check, so that a large object does not cost quadratic time; below it a
 * linear scan is faster. */
#define INDEX_MIN 16

/* Nodes are taken from the arena this many at a time. */
#define NODE_BLOCK 32

struct frame {
	jdoc_node_t *node;
	jdoc_node_t *last;
	const char *key; /* the key of the member being parsed (objects) */
	size_t key_len;
	const jdoc_node_t **index; /* open addressing, index_cap slots */
	size_t index_cap;
};

/*
 * yajl's memory. A yajl handle costs half a dozen mallocs and frees (the
 * handle, its lexer, their buffers, the state stack), which measured as a
 * third of the whole parse of a typical message. yajl 2.1 cannot reset a
 * handle for the next document, so instead its allocations come from a
 * pool in the jdoc_t that is emptied before each parse: a bump allocator
 * whose blocks carry their size (for realloc) and whose free does nothing.
 * A request that does not fit goes to the heap, through xmalloc, so that
 * running out of memory aborts with a message like everywhere else.
 */
#define POOL_SIZE (16 * 1024)
#define POOL_HDR 16 /* keeps blocks aligned for any type yajl stores */

struct pool {
	size_t used;
	_Alignas(16) unsigned char buf[POOL_SIZE];
};

struct jdoc {
	struct pool pool;
	/* The state of the parse in progress. */
	arena_t *a;
	const char *text;
	size_t len;
	struct frame stack[JDOC_MAX_DEPTH];
	int depth;
	jdoc_node_t *spare; /* nodes allocated but not yet used */
	size_t nspare;
	jdoc_node_t *root;
	bool root_done;
	bool failed; /* a callback has written err */
	char *err;
	size_t errlen;
};

jdoc_t *
jdoc_new(void)
{
	return xcalloc(1, sizeof(jdoc_t));
}

void
jdoc_destroy(jdoc_t **dp)
{
	if (dp == NULL || *dp == NULL)
		return;
	free(*dp);
	*dp = NULL;
}

static void set_err(jdoc_t *d, const char *fmt, ...) PRINTFLIKE(2, 3);

static void
set_err(jdoc_t *d, const char *fmt, ...)
{
	va_list ap;

	d->failed = true;
	if (d->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(d->err, d->errlen, fmt, ap);
		va_end(ap);
	}
}

size_t
jdoc_key_display(const char *key, size_t len, char *buf, size_t buflen)
{
	const unsigned char *k = (const unsigned char *)key;
	size_t i, o = 0, lim = len;

	if (buflen == 0)
		return 0;
	if (lim > 64) {
		lim = 64;
		/* Back up to the start of a character. */
		while (lim > 0 && (k[lim] & 0xC0) == 0x80)
			lim--;
	}
	for (i = 0; i < lim && o + 1 < buflen; i++) {
		if (k[i] < 0x20 || k[i] == 0x7F)
			buf[o++] = '?';
		else if ((k[i] & 0xC0) == 0xC0 && o + 4 >= buflen)
			break; /* no room for the whole character */
		else
			buf[o++] = (char)k[i];
	}
	if (lim < len)
		for (const char *e = "..."; *e != '\0' && o + 1 < buflen; e++)
			buf[o++] = *e;
	buf[o] = '\0';
	return o;
}

/*
 * The path of the value being parsed, e.g. "lead.attributes.x" or "a[2]".
 * When key is given it names the member of the innermost object instead of
 * the pending key (for an error about the key itself).
 */
static void
path_of(const jdoc_t *d, const char *key, size_t key_len, char *buf,
    size_t buflen)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < d->depth && o + 1 < buflen; i++) {
		const struct frame *f = &d->stack[i];
		bool top = i == d->depth - 1;

		if (f->node->kind == JDOC_OBJECT) {
			const char *k = top && key != NULL ? key : f->key;
			size_t kl = top && key != NULL ? key_len : f->key_len;

			if (k == NULL)
				break;
			if (o > 0)
				buf[o++] = '.';
			o += jdoc_key_display(k, kl, buf + o, buflen - o);
		} else {
			/* The innermost array's element is not added yet. */
			size_t idx = top ? f->node->len : f->node->len - 1;
			int n = snprintf(buf + o, buflen - o, "[%zu]", idx);

			if (n < 0 || (size_t)n >= buflen - o)
				break;
			o += (size_t)n;
		}
	}
	if (o == 0)
		snprintf(buf, buflen, "body");
}

/* "<path>: what", the path being that of path_of. */
static void
set_path_err(jdoc_t *d, const char *what, const char *key, size_t key_len)
{
	char path[256];

	path_of(d, key, key_len, path, sizeof(path));
	set_err(d, "%s: %s", path, what);
}

/* Keys are short and mostly differ in length or first byte; comparing
 * them inline measured faster than calling memcmp. */
static inline bool
same_key(const jdoc_node_t *n, const char *key, size_t len)
{
	if (n->key_len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (n->key[i] != key[i])
			return false;
	return true;
}

static uint32_t
hash_key(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void
index_put(struct frame *f, const jdoc_node_t *n)
{
	size_t m = f->index_cap - 1, i = hash_key(n->key, n->key_len) & m;

	while (f->index[i] != NULL)
		i = (i + 1) & m;
	f->index[i] = n;
}

/* Builds or doubles the index so that it stays at most half full. */
static void
index_grow(jdoc_t *d, struct frame *f)
{
	size_t cap = f->index_cap ? f->index_cap * 2 : 4 * INDEX_MIN;

	f->index = arena_alloc(d->a, cap * sizeof(*f->index));
	memset(f->index, 0, cap * sizeof(*f->index));
	f->index_cap = cap;
	for (const jdoc_node_t *n = f->node->first; n != NULL; n = n->next)
		index_put(f, n);
}

static bool
has_member(const struct frame *f, const char *key, size_t len)
{
	if (f->index != NULL) {
		size_t m = f->index_cap - 1, i = hash_key(key, len) & m;

		for (; f->index[i] != NULL; i = (i + 1) & m)
			if (same_key(f->index[i], key, len))
				return true;
		return false;
	}
	for (const jdoc_node_t *n = f->node->first; n != NULL; n = n->next)
		if (same_key(n, key, len))
			return true;
	return false;
}

/* Attaches a new node of the given kind where the parser stands. */
static jdoc_node_t *
add_node(jdoc_t *d, jdoc_kind_t kind)
{
	jdoc_node_t *n;
	struct frame *f;

	if (d->depth == 0 && kind != JDOC_OBJECT) {
		set_err(d, "body: not a JSON object");
		return NULL;
	}
	if (d->nspare == 0) {
		d->spare = arena_alloc(d->a, NODE_BLOCK * sizeof(*n));
		d->nspare = NODE_BLOCK;
	}
	n = d->spare++;
	d->nspare--;
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	if (d->depth == 0) {
		d->root = n;
		return n;
	}
	f = &d->stack[d->depth - 1];
	if (f->node->kind == JDOC_OBJECT) {
		n->key = f->key;
		n->key_len = f->key_len;
	}
	if (f->last != NULL)
		f->last->next = n;
	else
		f->node->first = n;
	f->last = n;
	f->node->len++;
	if (f->node->kind == JDOC_OBJECT) {
		if (f->index != NULL && f->node->len * 2 <= f->index_cap)
			index_put(f, n);
		else if (f->node->len >= INDEX_MIN)
			index_grow(d, f);
	}
	return n;
}

/*
 * Text yajl hands us points into the parsed text unless it had to be
 * unescaped into yajl's own buffer, which the next token overwrites: copy
 * that, and look for the NUL that only an escape can produce.
 */
static const char *
keep(jdoc_t *d, const unsigned char *s, size_t n, bool *nul)
{
	uintptr_t p = (uintptr_t)s, t = (uintptr_t)d->text;

	*nul = false;
	if (p >= t && p - t <= d->len && n <= d->len - (p - t))
		return (const char *)s;
	*nul = memchr(s, '\0', n) != NULL;
	return arena_strndup(d->a, (const char *)s, n);
}

static int
cb_null(void *ctx)
{
	return add_node(ctx, JDOC_NULL) != NULL;
}

static int
cb_boolean(void *ctx, int v)
{
	jdoc_node_t *n = add_node(ctx, JDOC_BOOL);

	if (n == NULL)
		return 0;
	n->boolean = v != 0;
	return 1;
}

/* Sets is_int and i when the literal is an integer that fits int64. */
static void
number_int(jdoc_node_t *n)
{
	const char *s = n->s;
	size_t i = 0, len = n->len;
	bool neg = false;
	uint64_t v = 0, lim;

	if (i < len && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i == len)
		return;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned dig;

		if (s[i] < '0' || s[i] > '9')
			return;
		dig = (unsigned)(s[i] - '0');
		if (v > (lim - dig) / 10)
			return;
		v = v * 10 + dig;
	}
	n->is_int = true;
	n->i = neg ? (int64_t)(0 - v) : (int64_t)v;
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	jdoc_t *d = ctx;
	jdoc_node_t *n = add_node(d, JDOC_NUMBER);
	bool nul;

	if (n == NULL)
		return 0;
	n->s = keep(d, (const unsigned char *)s, len, &nul);
	n->len = len;
	number_int(n);
	return 1;
}

static int
cb_string(void *ctx, const unsigned char *s, size_t len)
{
	jdoc_t *d = ctx;
	jdoc_node_t *n;
	const char *v;
	bool nul;

	v = keep(d, s, len, &nul);
	if (nul) {
		set_path_err(d, "contains NUL", NULL, 0);
		return 0;
	}
	if ((n = add_node(d, JDOC_STRING)) == NULL)
		return 0;
	n->s = v;
	n->len = len;
	return 1;
}

static int
open_container(jdoc_t *d, jdoc_kind_t kind)
{
	struct frame *f;
	jdoc_node_t *n;

	if (d->depth == JDOC_MAX_DEPTH) {
		set_err(d, "body: nesting deeper than %d", JDOC_MAX_DEPTH);
		return 0;
	}
	if ((n = add_node(d, kind)) == NULL)
		return 0;
	f = &d->stack[d->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	return 1;
}

/*
 * The end of the top-level object stops the parse (returning 0 cancels
 * it): jdoc_parse then checks that only white space follows, because
 * yajl itself accepts some trailing garbage, such as an unterminated
 * string, as long as the input ends inside it.
 */
static int
close_container(jdoc_t *d)
{
	if (--d->depth > 0)
		return 1;
	d->root_done = true;
	return 0;
}

static int
cb_start_map(void *ctx)
{
	return open_container(ctx, JDOC_OBJECT);
}

static int
cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
	jdoc_t *d = ctx;
	struct frame *f = &d->stack[d->depth - 1];
	const char *k;
	bool nul;

	k = keep(d, s, len, &nul);
	if (nul) {
		set_path_err(d, "contains NUL", k, len);
		return 0;
	}
	if (has_member(f, k, len)) {
		set_path_err(d, "duplicate key", k, len);
		return 0;
	}
	f->key = k;
	f->key_len = len;
	return 1;
}

static int
cb_end(void *ctx)
{
	return close_container(ctx);
}

static int
cb_start_array(void *ctx)
{
	return open_container(ctx, JDOC_ARRAY);
}

static bool
in_pool(const struct pool *pl, const void *p)
{
	uintptr_t u = (uintptr_t)p, b = (uintptr_t)pl->buf;

	return u >= b && u < b + POOL_SIZE;
}

static size_t
block_size(const void *p)
{
	size_t n;

	memcpy(&n, (const unsigned char *)p - POOL_HDR, sizeof(n));
	return n;
}

static void *
ya_malloc(void *ctx, size_t n)
{
	struct pool *pl = ctx;
	size_t need = POOL_HDR + ((n + POOL_HDR - 1) & ~(size_t)(POOL_HDR - 1));
	unsigned char *p;

	if (n < POOL_SIZE && need <= POOL_SIZE - pl->used) {
		p = pl->buf + pl->used;
		pl->used += need;
	} else {
		p = xmalloc(n + POOL_HDR);
	}
	memcpy(p, &n, sizeof(n));
	return p + POOL_HDR;
}

static void
ya_free(void *ctx, void *p)
{
	if (p != NULL && !in_pool(ctx, p))
		free((unsigned char *)p - POOL_HDR);
}

static void *
ya_realloc(void *ctx, void *p, size_t n)
{
	void *q;
	size_t old;

	if (p == NULL)
		return ya_malloc(ctx, n);
	old = block_size(p);
	if (!in_pool(ctx, p)) {
		q = xrealloc((unsigned char *)p - POOL_HDR, n + POOL_HDR);
		memcpy(q, &n, sizeof(n));
		return (unsigned char *)q + POOL_HDR;
	}
	q = ya_malloc(ctx, n);
	memcpy(q, p, old < n ? old : n);
	return q;
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_boolean,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end,
};

static int
hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * The strict pass over the raw text: well-formed UTF-8, and every \u
 * surrogate escape paired. A backslash outside a string is a JSON syntax
 * error that yajl reports, and inside a string it always starts an escape,
 * so stepping over backslash pairs finds exactly the escapes. Returns the
 * reason, or NULL when the text is fine.
 */
static const char *
scan_text(const char *text, size_t n)
{
	const unsigned char *p = (const unsigned char *)text;
	const uint64_t ones = 0x0101010101010101ULL, highs = ones * 0x80,
	    bslashes = ones * '\\';
	size_t i = 0;

	while (i < n) {
		unsigned char c;

		/* Skip words with neither a high bit nor a backslash. */
		while (n - i >= 8) {
			uint64_t w, x;

			memcpy(&w, p + i, 8);
			x = w ^ bslashes;
			if (((w | ((x - ones) & ~x)) & highs) != 0)
				break;
			i += 8;
		}
		if (i == n)
			break;
		c = p[i];
		if (c == '\\') {
			unsigned u, lo;

			if (n - i < 6 || p[i + 1] != 'u' || hex4(p + i + 2, &u)) {
				i += 2; /* any other escape, or yajl's error */
				continue;
			}
			if (u >= 0xDC00 && u <= 0xDFFF)
				return "body: unpaired surrogate in a \\u escape";
			if (u >= 0xD800 && u <= 0xDBFF) {
				if (n - i < 12 || p[i + 6] != '\\' ||
				    p[i + 7] != 'u' || hex4(p + i + 8, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return "body: unpaired surrogate in a \\u "
					    "escape";
				i += 12;
			} else {
				i += 6;
			}
		} else if (c < 0x80) {
			i++;
		} else {
			size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;

			if (k > n - i || !utf8_valid(text + i, k))
				return "body: not valid UTF-8";
			i += k;
		}
	}
	return NULL;
}

int
jdoc_parse(jdoc_t *d, arena_t *a, const char *text, size_t len,
    const jdoc_node_t **root, char *err, size_t errlen)
{
	yajl_alloc_funcs afs = {
		.malloc = ya_malloc,
		.realloc = ya_realloc,
		.free = ya_free,
		.ctx = &d->pool,
	};
	const char *why;
	yajl_handle h;
	yajl_status st;
	size_t end;

	if (errlen > 0)
		err[0] = '\0';
	*root = NULL;
	if ((why = scan_text(text, len)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	d->a = a;
	d->text = text;
	d->len = len;
	d->depth = 0;
	d->spare = NULL;
	d->nspare = 0;
	d->root = NULL;
	d->root_done = false;
	d->failed = false;
	d->err = err;
	d->errlen = errlen;

	d->pool.used = 0;
	h = yajl_alloc(&callbacks, &afs, d);
	if (h == NULL)
		abort(); /* only when allocating failed, which aborts before */
	st = yajl_parse(h, (const unsigned char *)text, len);
	/* Just past the object's closing brace when the parse stopped there. */
	end = yajl_get_bytes_consumed(h);
	yajl_free(h);
	d->a = NULL;
	d->text = NULL;
	d->err = NULL;
	d->spare = NULL;
	d->nspare = 0;
	if (d->failed)
		return -1;
	if (st != yajl_status_client_canceled || !d->root_done || end > len) {
		snprintf(err, errlen, "body: not valid JSON");
		return -1;
	}
	for (; end < len; end++) {
		char c = text[end];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			snprintf(err, errlen, "body: not valid JSON");
			return -1;
		}
	}
	*root = d->root;
	return 0;
}

const jdoc_node_t *
jdoc_get(const jdoc_node_t *obj, const char *key, size_t len)
{
	if (obj == NULL || obj->kind != JDOC_OBJECT)
		return NULL;
	for (const jdoc_node_t *n = obj->first; n != NULL; n = n->next)
		if (same_key(n, key, len))
			return n;
	return NULL;
}

/* ---- Quoting ------------------------------------------------------------ */

struct jquote {
	yajl_gen g;
	sbuf_t *out;	/* where the string being quoted goes */
};

static void
jquote_print(void *ctx, const char *s, size_t len)
{
	jquote_t *q = ctx;

	sbuf_add(q->out, s, len);
}

jquote_t *
jquote_new(void)
{
	jquote_t *q = xcalloc(1, sizeof(*q));

	q->g = yajl_gen_alloc(NULL);
	/* yajl fails to allocate only when memory is exhausted. */
	if (q->g == NULL ||
	    !yajl_gen_config(q->g, yajl_gen_print_callback, jquote_print, q))
		abort();
	return q;
}

void
jquote_destroy(jquote_t **q)
{
	if (*q == NULL)
		return;
	yajl_gen_free((*q)->g);
	free(*q);
	*q = NULL;
}

void
jquote(jquote_t *q, sbuf_t *b, const char *s, size_t n)
{
	q->out = b;
	/* Each string is a document of its own. */
	yajl_gen_reset(q->g, NULL);
	/*
	 * Without yajl_gen_validate_utf8 a string at the top level cannot
	 * fail: the text comes from documents that jdoc_parse checked.
	 */
	if (yajl_gen_string(q->g, (const unsigned char *)(s != NULL ? s : ""),
	    s != NULL ? n : 0) != yajl_gen_status_ok)
		abort();
	q->out = NULL;
}

void
jquotes(jquote_t *q, sbuf_t *b, const char *s)
{
	jquote(q, b, s, s != NULL ? strlen(s) : 0);
}

void
jquote_once(sbuf_t *b, const char *s)
{
	jquote_t *q = jquote_new();

	jquotes(q, b, s);
	jquote_destroy(&q);
}

/* ---- Unquoting ---------------------------------------------------------- */

typedef struct {
	arena_t *a;
	const char *out;
	int strings;
} unquote_t;

static int
unquote_string(void *ctx, const unsigned char *s, size_t len)
{
	unquote_t *u = ctx;

	u->out = arena_strndup(u->a, (const char *)s, len);
	u->strings++;
	return 1;
}

const char *
jdoc_unquote(arena_t *a, const char *lit, size_t n)
{
	static const yajl_callbacks cb = { .yajl_string = unquote_string };
	unquote_t u = { a, NULL, 0 };
	yajl_handle h;
	bool ok;

	if (n < 2 || lit[0] != '"' || lit[n - 1] != '"')
		return NULL;
	if (memchr(lit, '\\', n) == NULL) {
		/* Nothing escaped: the text between the quotes, if it
		 * holds no other quote. */
		if (memchr(lit + 1, '"', n - 2) != NULL)
			return NULL;
		return arena_strndup(a, lit + 1, n - 2);
	}
	h = yajl_alloc(&cb, NULL, &u);
	if (h == NULL)
		abort();
	ok = yajl_parse(h, (const unsigned char *)lit, n) == yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok && u.strings == 1;
	yajl_free(h);
	return ok ? u.out : NULL;
}
