/*
 * A small read-only JSON document tree, built from yajl's callback parser
 * into an arena: the codec's view of one message body. Building a tree
 * first (instead of decoding straight from the callbacks) lets the codec
 * look fields up in any order and report errors in a fixed order, whatever
 * order the producer wrote the fields in.
 *
 * jdoc_parse accepts exactly one JSON object (RFC 8259) in strict UTF-8 and
 * rejects, with a short stable reason:
 *   "body: not valid UTF-8"          bytes that are not well-formed UTF-8
 *                                    (overlong forms and surrogates too)
 *   "body: unpaired surrogate in a \u escape"
 *   "body: not valid JSON"           any syntax error, an empty body, or
 *                                    anything but white space after the
 *                                    object
 *   "body: not a JSON object"        a top-level array, string, number...
 *   "body: nesting deeper than 16"   more than JDOC_MAX_DEPTH open containers
 *   "<path>: duplicate key"          a key twice in one object
 *   "<path>: contains NUL"           a \u0000 escape in a string or a key
 * where <path> is the dotted path of the value, e.g. "lead.attributes.x" or
 * "tags[3]". The UTF-8 check comes first, then the JSON syntax; of the
 * remaining errors the first one met in document order is reported.
 */
#ifndef HANDOFF_JDOC_H
#define HANDOFF_JDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/arena.h"
#include "handoff/util.h"

/* Containers open at once, the top-level object included. */
#define JDOC_MAX_DEPTH 16

typedef enum {
	JDOC_NULL = 0,
	JDOC_BOOL,
	JDOC_NUMBER,
	JDOC_STRING,
	JDOC_ARRAY,
	JDOC_OBJECT
} jdoc_kind_t;

/*
 * One value. Text (s, key) is NOT NUL-terminated: it points into the parsed
 * text when it needed no unescaping and into the arena otherwise, so the
 * parsed text must outlive the tree. Always use the lengths.
 */
typedef struct jdoc_node jdoc_node_t;
struct jdoc_node {
	jdoc_kind_t kind;
	bool boolean;  /* JDOC_BOOL */
	bool is_int;   /* JDOC_NUMBER: an integer literal that fits int64 */
	int64_t i;     /* JDOC_NUMBER when is_int */
	const char *s; /* JDOC_STRING: the unescaped text; NUMBER: the literal */
	size_t len;    /* bytes of s; ARRAY and OBJECT: number of children */
	const char *key; /* the member's key when the parent is an object */
	size_t key_len;
	const jdoc_node_t *first; /* ARRAY, OBJECT: children in document order */
	const jdoc_node_t *next;  /* the next sibling */
};

typedef struct jdoc jdoc_t;

/* A parser, reusable for any number of documents (one at a time). */
jdoc_t *jdoc_new(void);
void jdoc_destroy(jdoc_t **d);

/*
 * Parses text[0..len) into a tree allocated in a. On success *root is the
 * top-level object. On failure returns -1 with the reason in err (which is
 * always NUL-terminated when errlen > 0); what was allocated stays in a.
 */
int jdoc_parse(jdoc_t *d, arena_t *a, const char *text, size_t len,
    const jdoc_node_t **root, char *err, size_t errlen) MUSTCHECK;

/* The member of obj named key[0..len), or NULL (also when obj is no object). */
const jdoc_node_t *jdoc_get(const jdoc_node_t *obj, const char *key,
    size_t len);
/* jdoc_get with a string literal key, its length known at compile time. */
#define JDOC_GET(obj, lit) jdoc_get((obj), "" lit, sizeof(lit) - 1)

/*
 * Writes a key (or any string from a document) as error messages show it
 * into buf, NUL-terminated: ASCII control characters become '?', and text
 * longer than 64 bytes is cut at a character boundary and ends in "...".
 * Returns the length written.
 */
size_t jdoc_key_display(const char *key, size_t len, char *buf, size_t buflen);

/*
 * JSON string literals for the text that the daemon splices into JSON it
 * assembles from stored parts (a stored profile's values, profile_at, the
 * cycles that `lead` lists): yajl's generator does the escaping. One
 * quoter serves any number of strings, one at a time.
 */
typedef struct jquote jquote_t;

jquote_t *jquote_new(void);
void jquote_destroy(jquote_t **q);
/* Appends s[0..n) to b as a JSON string literal ("" when s is NULL). */
void jquote(jquote_t *q, sbuf_t *b, const char *s, size_t n);
/* jquote of a NUL-terminated string (NULL: ""). */
void jquotes(jquote_t *q, sbuf_t *b, const char *s);
/* jquotes with a quoter of its own, for code off the hot paths. */
void jquote_once(sbuf_t *b, const char *s);

/*
 * The text of the JSON string literal lit[0..n) (quotes included),
 * unescaped by yajl's parser, NUL-terminated in a; NULL when lit is not one
 * string literal. A literal without a backslash is copied without a parse.
 */
const char *jdoc_unquote(arena_t *a, const char *lit, size_t n);

#endif
