/*
 * The outbox (SPEC §2.3): outbound messages made while a batch is applied
 * wait here until the batch's transaction gives them their seq and stores
 * them; once committed they are published in seq order. Messages committed
 * but not yet published when the daemon stopped are loaded back at start.
 */
#ifndef HANDOFF_OUTBOX_H
#define HANDOFF_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "handoff/codec.h"
#include "handoff/ts.h"

/* The seqs lo + 1 .. hi. */
typedef struct {
	int64_t lo, hi;
} outbox_range_t;

typedef struct {
	int64_t seq;
	char *type;
	char *body;
	size_t len;
} outbox_ready_t;

typedef struct {
	/* Made by the batch being applied; owned by the caller's arena. */
	const out_msg_t **pending;
	size_t npending, pendcap;
	/* Committed, in seq order, waiting to be published (owned here). */
	outbox_ready_t *ready;
	size_t nready, readycap;
	int64_t last_seq;        /* last seq committed (as far as we know) */
	int64_t last_published;  /* last seq this process published */
	/*
	 * The seqs this process published and has not yet recorded in
	 * outbox_published: ranges (lo, hi], ascending, none touching.
	 */
	outbox_range_t *pub;
	size_t npub, pubcap;
	/*
	 * After a start that found messages to publish: the last seq
	 * recorded as published, which last_published becomes once they
	 * have all gone out (0: none).
	 */
	int64_t resume;
} outbox_t;

outbox_t *outbox_new(void);
void outbox_destroy(outbox_t **o);

/* Queues a message made by the current batch. */
void outbox_add(outbox_t *o, const out_msg_t *m);
/* Queues a message before the pending one at pos (at the end past it). */
void outbox_insert(outbox_t *o, size_t pos, const out_msg_t *m);
/* Drops the pending messages (the batch's transaction rolled back). */
void outbox_discard_pending(outbox_t *o);
/* Appends a committed message (takes ownership of type and body). */
void outbox_ready(outbox_t *o, int64_t seq, char *type, char *body,
    size_t len);
/* Frees the published messages. */
void outbox_clear_ready(outbox_t *o);
/* Notes that seq went out on the bus, to be recorded. */
void outbox_published(outbox_t *o, int64_t seq);

#endif
