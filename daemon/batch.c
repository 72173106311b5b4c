/*
 * Batch bookkeeping. The in-batch duplicate check is a small open-addressing
 * hash table of item indexes keyed by (source, id), so that a producer
 * resending inside one batch never reaches the database twice; duplicates
 * of events committed earlier are found by the store.
 */
#include <stdlib.h>
#include <string.h>

#include "handoff/batch.h"
#include "handoff/util.h"

#define EMPTY UINT32_MAX

static uint64_t
key_hash(const char *source, const char *id)
{
	/* FNV-1a over source, a separator, and id. */
	uint64_t h = UINT64_C(1469598103934665603);

	for (const unsigned char *p = (const unsigned char *)source; *p; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	h = (h ^ 0xff) * UINT64_C(1099511628211);
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	return h;
}

static void
slots_size(batch_t *b, size_t cap)
{
	size_t n = 16;

	while (n < cap * 2)
		n *= 2;
	free(b->slots);
	b->slots = xmalloc(n * sizeof(uint32_t));
	b->nslots = n;
	memset(b->slots, 0xff, n * sizeof(uint32_t));
}

batch_t *
batch_new(size_t cap)
{
	batch_t *b = xcalloc(1, sizeof(*b));

	b->arena = arena_new(1 << 20);
	b->cap = cap < 16 ? 16 : cap;
	b->items = xcalloc(b->cap, sizeof(*b->items));
	b->rejcap = 16;
	b->rej = xcalloc(b->rejcap, sizeof(*b->rej));
	slots_size(b, b->cap);
	return b;
}

void
batch_destroy(batch_t **bp)
{
	batch_t *b;

	if (bp == NULL || *bp == NULL)
		return;
	b = *bp;
	arena_destroy(&b->arena);
	free(b->items);
	free(b->rej);
	free(b->slots);
	free(b);
	*bp = NULL;
}

void
batch_reset(batch_t *b)
{
	arena_reset(b->arena);
	b->n = 0;
	b->nrej = 0;
	b->ndup_inbatch = 0;
	b->first_mono = 0;
	memset(b->slots, 0xff, b->nslots * sizeof(uint32_t));
}

static void
rehash(batch_t *b)
{
	slots_size(b, b->cap);
	for (size_t i = 0; i < b->n; i++) {
		const event_t *ev = &b->items[i].ev;
		size_t mask = b->nslots - 1;
		size_t s = key_hash(ev->source, ev->id) & mask;

		if (b->items[i].state == ITEM_DUPLICATE)
			continue;
		while (b->slots[s] != EMPTY)
			s = (s + 1) & mask;
		b->slots[s] = (uint32_t)i;
	}
}

batch_item_t *
batch_add(batch_t *b, const event_t *ev)
{
	size_t mask, s;
	batch_item_t *it;
	bool dup = false;

	if (b->n == b->cap) {
		b->cap *= 2;
		b->items = xreallocarray(b->items, b->cap, sizeof(*b->items));
		rehash(b);
	}
	mask = b->nslots - 1;
	s = key_hash(ev->source, ev->id) & mask;
	while (b->slots[s] != EMPTY) {
		const event_t *o = &b->items[b->slots[s]].ev;

		if (strcmp(o->id, ev->id) == 0 &&
		    strcmp(o->source, ev->source) == 0) {
			dup = true;
			break;
		}
		s = (s + 1) & mask;
	}
	it = &b->items[b->n];
	memset(it, 0, sizeof(*it));
	it->ev = *ev;
	if (dup) {
		it->state = ITEM_DUPLICATE;
		b->ndup_inbatch++;
	} else {
		b->slots[s] = (uint32_t)b->n;
	}
	b->n++;
	return it;
}

batch_rej_t *
batch_add_rejected(batch_t *b)
{
	batch_rej_t *r;

	if (b->nrej == b->rejcap) {
		b->rejcap *= 2;
		b->rej = xreallocarray(b->rej, b->rejcap, sizeof(*b->rej));
	}
	r = &b->rej[b->nrej++];
	memset(r, 0, sizeof(*r));
	return r;
}

size_t
batch_size(const batch_t *b)
{
	return b->n + b->nrej;
}
