/*
 * Memory helpers. Out-of-memory is not a condition the daemon can recover
 * from in any useful way, so these abort with a message instead of returning
 * NULL; callers never check for NULL from them.
 */
#ifndef HANDOFF_UTIL_H
#define HANDOFF_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define MUSTCHECK __attribute__((warn_unused_result))
#define PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Defined when AddressSanitizer instruments this build (gcc or clang). */
#if defined(__SANITIZE_ADDRESS__)
#define HANDOFF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HANDOFF_ASAN 1
#endif
#endif

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTFLIKE(1, 2);

/* A growable string buffer, always NUL-terminated. */
typedef struct {
	char *s;
	size_t len;
	size_t cap;
} sbuf_t;

void sbuf_init(sbuf_t *b);
void sbuf_free(sbuf_t *b);
void sbuf_reset(sbuf_t *b);
void sbuf_add(sbuf_t *b, const char *s, size_t n);
void sbuf_adds(sbuf_t *b, const char *s);
void sbuf_addc(sbuf_t *b, char c);
void sbuf_printf(sbuf_t *b, const char *fmt, ...) PRINTFLIKE(2, 3);
/* Hands the string to the caller (who frees it) and leaves b empty. */
char *sbuf_take(sbuf_t *b);

/* Checks that s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t n);

#endif
