/*
 * Bump allocator in linked chunks. Allocations larger than the chunk size
 * get a chunk of their own. Reset keeps the first chunk and up to
 * ARENA_SPARE_MAX more of the standard size, so a steady stream of
 * batches of similar size allocates nothing after warming up.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/arena.h"
#include "handoff/util.h"

/*
 * Under AddressSanitizer, memory the arena has not handed out since its
 * last reset is poisoned: a read of batch memory after its batch (kept
 * chunks are reused, not freed) is reported as it would be after free().
 */
#if defined(HANDOFF_ASAN)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct chunk {
	struct chunk *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct chunk *head;
	struct chunk *spare;	/* chunks of the standard size, kept by reset */
	size_t nspare;
	size_t chunk;
	size_t used;
};

/*
 * How many chunks a reset keeps for the next batch. Giving them back to
 * malloc made each batch fault its memory in again from the kernel (a
 * tenth of the daemon's CPU under load); a batch that needed more than
 * this returns the rest.
 */
#define ARENA_SPARE_MAX 16

static struct chunk *
chunk_new(size_t size)
{
	struct chunk *c = xmalloc(sizeof(*c) + size);

	c->next = NULL;
	c->size = size;
	c->used = 0;
	POISON(c->data, size);
	return c;
}

static void
chunk_free(struct chunk *c)
{
	UNPOISON(c->data, c->size);
	free(c);
}

arena_t *
arena_new(size_t chunk)
{
	arena_t *a = xcalloc(1, sizeof(*a));

	a->chunk = chunk < 1024 ? 1024 : chunk;
	a->head = chunk_new(a->chunk);
	return a;
}

void
arena_destroy(arena_t **ap)
{
	arena_t *a;
	struct chunk *c, *n;

	if (ap == NULL || *ap == NULL)
		return;
	a = *ap;
	for (c = a->head; c != NULL; c = n) {
		n = c->next;
		chunk_free(c);
	}
	for (c = a->spare; c != NULL; c = n) {
		n = c->next;
		chunk_free(c);
	}
	free(a);
	*ap = NULL;
}

void *
arena_alloc(arena_t *a, size_t n)
{
	const size_t al = alignof(max_align_t);
	size_t need = (n + al - 1) & ~(al - 1);
	struct chunk *c = a->head;
	void *p;

	if (need == 0)
		need = al;
	if (c->size - c->used < need) {
		if (need <= a->chunk && a->spare != NULL) {
			c = a->spare;
			a->spare = c->next;
			a->nspare--;
			c->used = 0;
		} else {
			c = chunk_new(need > a->chunk ? need : a->chunk);
		}
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	UNPOISON(p, n);
	c->used += need;
	a->used += need;
	return p;
}

char *
arena_strndup(arena_t *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
arena_reset(arena_t *a)
{
	struct chunk *c = a->head, *n;

	/*
	 * The oldest chunk is last in the list; keep it, and up to
	 * ARENA_SPARE_MAX others of the standard size for the next round.
	 */
	while (c->next != NULL) {
		n = c->next;
		if (c->size == a->chunk && a->nspare < ARENA_SPARE_MAX) {
			POISON(c->data, c->used);
			c->next = a->spare;
			a->spare = c;
			a->nspare++;
		} else {
			chunk_free(c);
		}
		c = n;
	}
	POISON(c->data, c->used);
	c->used = 0;
	a->head = c;
	a->used = 0;
}

size_t
arena_used(const arena_t *a)
{
	return a->used;
}

size_t
arena_held(const arena_t *a)
{
	size_t n = 0;

	for (const struct chunk *c = a->head; c != NULL; c = c->next)
		n += c->size;
	for (const struct chunk *c = a->spare; c != NULL; c = c->next)
		n += c->size;
	return n;
}
