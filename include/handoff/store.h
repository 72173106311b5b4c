/*
 * PostgreSQL: the connection, and the one transaction per batch that stores
 * its events (deduplicated by (source, id)), its rejected messages, the
 * state changes and the outbound messages the core made of it (SPEC §5).
 * No per-event round trip: events go in with COPY.
 */
#ifndef HANDOFF_STORE_H
#define HANDOFF_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "handoff/batch.h"
#include "handoff/outbox.h"
#include "handoff/util.h"

typedef struct store store_t;

/*
 * The domain's part of a batch: called inside the batch's transaction with
 * the events that were accepted (not duplicates), in arrival order. It may
 * query and write through conn and queue outbound messages in o. Returns 0,
 * or -1 to roll the whole batch back.
 */
typedef int (*store_hook_t)(void *arg, PGconn *conn, batch_t *b,
    const batch_item_t *const *accepted, size_t n, outbox_t *o);

store_t *store_new(const char *conninfo);
void store_destroy(store_t **s);

/*
 * Connects (with keepalive and connect_timeout defaults that the conninfo
 * or PG* variables override) and prepares the session. Returns 0 or -1;
 * the reason is in store_error().
 */
int store_connect(store_t *s) MUSTCHECK;
void store_disconnect(store_t *s);
bool store_connected(const store_t *s);
const char *store_error(const store_t *s);
PGconn *store_conn(store_t *s);

void store_set_hook(store_t *s, store_hook_t hook, void *arg);
/*
 * SQL to run once the schema is current on each new connection (temporary
 * tables of the hook), and running it.
 */
void store_set_session_sql(store_t *s, const char *sql);
int store_prepare_session(store_t *s) MUSTCHECK;
/* The endpoint of each ingest index, named in rejected_messages rows. */
void store_set_endpoints(store_t *s, const char *const *endpoints);

/*
 * Commits batch b: events, rejections, the hook's work, the outbox's
 * pending messages (numbered and encoded here) and the record of messages
 * already published. On success every pending item is ITEM_ACCEPTED or
 * ITEM_DUPLICATE, the messages are in o's ready list, and it returns 0. On
 * failure nothing changed (the transaction rolled back) and it returns -1.
 */
int store_commit(store_t *s, batch_t *b, outbox_t *o, ts_t now) MUSTCHECK;

/*
 * Merges the touching ranges of outbox_published, then loads the committed
 * messages that no range covers (not recorded as published), with seq >
 * o->last_published, into o's ready list; sets o->last_seq.
 */
int store_load_outbox(store_t *s, outbox_t *o) MUSTCHECK;

/*
 * Records the seqs o->pub lists as published, when no batch will do it
 * soon. When another daemon's batch holds the lock it waits for it if
 * wait, else it leaves them for later and returns 0.
 */
int store_mark_published(store_t *s, outbox_t *o, bool wait) MUSTCHECK;

/*
 * Outbound messages with seq > since, oldest first, at most limit: calls
 * fn for each body. Sets *last_seq to the last seq committed.
 */
int store_replay(store_t *s, int64_t since, int64_t limit,
    void (*fn)(void *arg, const char *body, size_t len), void *arg,
    int64_t *last_seq) MUSTCHECK;

/* The last seq committed, from the database. */
int store_last_seq(store_t *s, int64_t *last_seq) MUSTCHECK;

/*
 * The SLA cycles still open (running, paused, or breached and not yet
 * stopped), counted per clock: calls fn once for each clock that has any.
 * One read of the partial index that holds exactly the open cycles.
 */
int store_open_cycles(store_t *s,
    void (*fn)(void *arg, const char *clock, int64_t n), void *arg)
    MUSTCHECK;

#endif
