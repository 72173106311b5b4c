/*
 * A bump allocator. A batch of decoded events lives in one arena, which is
 * reset when the batch is done: no per-field malloc/free on the hot path.
 */
#ifndef HANDOFF_ARENA_H
#define HANDOFF_ARENA_H

#include <stddef.h>

typedef struct arena arena_t;

arena_t *arena_new(size_t chunk);
void arena_destroy(arena_t **a);
/* Memory aligned for any type; aborts on exhaustion like xmalloc. */
void *arena_alloc(arena_t *a, size_t n);
char *arena_strndup(arena_t *a, const char *s, size_t n);
/*
 * Frees everything allocated since arena_new. The memory stays with the
 * arena for what comes next (the first chunk, and a few more of its size).
 */
void arena_reset(arena_t *a);
/* Bytes handed out since the last reset. */
size_t arena_used(const arena_t *a);
/* Bytes of chunk memory the arena holds, handed out or kept for reuse. */
size_t arena_held(const arena_t *a);

#endif
