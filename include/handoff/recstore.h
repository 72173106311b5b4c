/*
 * The database side of reconciliation: the store hook that runs the
 * reconciliation core (reconcile.h) on each batch inside its transaction,
 * the event clock (SPEC §6.5) and the reconcile.unmatched notices.
 */
#ifndef HANDOFF_RECSTORE_H
#define HANDOFF_RECSTORE_H

#include <libpq-fe.h>

#include "handoff/batch.h"
#include "handoff/config.h"
#include "handoff/outbox.h"
#include "handoff/ts.h"

typedef struct recstore recstore_t;

/* NULL with *err when a calendar's time zone cannot be loaded. */
recstore_t *recstore_new(const cfg_t *cfg, char **err);
void recstore_destroy(recstore_t **rs);
/* After a reload: the new configuration; -1 (old kept) on failure. */
int recstore_set_config(recstore_t *rs, const cfg_t *cfg, char **err)
    MUSTCHECK;
/* When the next SLA alert falls due (lateness included), 0 when none. */
ts_t recstore_next_due(const recstore_t *rs);
/* A new database connection: reload the event clock at the next batch. */
void recstore_reset_connection(recstore_t *rs);
/* The daemon's clock: wall time, or the event clock in event mode. */
ts_t recstore_now(const recstore_t *rs);
const char *recstore_error(const recstore_t *rs);

/* The SLA cycles of a lead as JSON, measured at the daemon's clock. */
int recstore_cycles_json(recstore_t *rs, PGconn *c, const char *lead_key,
    sbuf_t *out, char **err) MUSTCHECK;

/* A store_hook_t: arg is the recstore_t. */
int recstore_hook(void *arg, PGconn *conn, batch_t *b,
    const batch_item_t *const *accepted, size_t n, outbox_t *o);

/* SQL run on each new connection (the temporary tables it writes through). */
extern const char *const recstore_session_sql;

#endif
