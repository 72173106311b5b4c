/*
 * A batch: the events read from the bus since the last commit, decoded,
 * with where each came from (to acknowledge it after the commit), and the
 * messages that were rejected. Everything a batch holds lives in its arena,
 * which is reset once the batch is committed and acknowledged.
 */
#ifndef HANDOFF_BATCH_H
#define HANDOFF_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/arena.h"
#include "handoff/bus.h"
#include "handoff/event.h"
#include "handoff/ts.h"

typedef enum {
	ITEM_PENDING = 0, /* not yet committed */
	ITEM_ACCEPTED,    /* stored by this batch */
	ITEM_DUPLICATE    /* (source, id) was stored before, or earlier in the batch */
} batch_state_t;

typedef struct {
	event_t ev;
	batch_state_t state;
	int ingest;          /* endpoint index */
	const bus_frame_t *env; /* router reply envelope, or NULL */
	size_t nenv;
	bool delim;
	int64_t recv_mono;   /* monotonic µs at receipt, for latency */
	ts_t received_at;    /* wall clock at receipt */
} batch_item_t;

typedef struct {
	int ingest;
	const char *topic;   /* NULL when not valid text */
	const char *reason;
	const char *source;  /* NULL when unreadable */
	const char *id;
	const char *raw;     /* at most BATCH_RAW_MAX bytes of the body */
	size_t raw_len;
	size_t orig_len;     /* the body's full length */
	ts_t received_at;
} batch_rej_t;

/* Bytes of a rejected body that are kept (matches the schema's bound). */
#define BATCH_RAW_MAX 4096

typedef struct {
	arena_t *arena;
	batch_item_t *items;
	size_t n, cap;
	batch_rej_t *rej;
	size_t nrej, rejcap;
	size_t ndup_inbatch;
	int64_t first_mono; /* receipt of the oldest item, 0 when empty */
	/* In-batch duplicate detection: open addressing over item indexes. */
	uint32_t *slots;
	size_t nslots;
} batch_t;

batch_t *batch_new(size_t cap);
void batch_destroy(batch_t **b);
void batch_reset(batch_t *b);

/*
 * Appends a decoded event (its strings already in b->arena). Marks it
 * ITEM_DUPLICATE at once when an earlier item has the same (source, id).
 */
batch_item_t *batch_add(batch_t *b, const event_t *ev);
batch_rej_t *batch_add_rejected(batch_t *b);

/* Items plus rejections: what counts against the buffer bound. */
size_t batch_size(const batch_t *b);

#endif
