/*
 * The database side of routing (SPEC §4), inside a batch's transaction:
 * loads the waiting queue, the rotation and the reps' open loads with a
 * few set-based queries (only when the batch has something to route), asks
 * the pure core (route.c) for decisions, records them in the leads' logs
 * (reconcile.h, RECON_MADE_*), queues handoff.* and reconcile.conflict
 * messages, and writes the rotation and the queue back.
 *
 * Routing is on when the configuration has routing rules; without any, no
 * lead is routed (the CRM assigns owners) and no conflict is published.
 *
 * A lead that no rule matches (unroutable) or whose team has no available
 * rep (no_capacity) waits in routing_waiting; the conflict is published
 * once, when it starts waiting. Waiting leads whose team has an available
 * rep are assigned first in each batch, oldest MQL first, at the daemon's
 * clock; unroutable ones are tried again when an event touches them or
 * after a reload.
 */
#ifndef HANDOFF_ROUTESTORE_H
#define HANDOFF_ROUTESTORE_H

#include <libpq-fe.h>

#include "handoff/arena.h"
#include "handoff/config.h"
#include "handoff/outbox.h"
#include "handoff/reconcile.h"

typedef struct routestore routestore_t;

/* One batch's routing; a and cfg must outlive it. */
routestore_t *routestore_new(const cfg_t *cfg, arena_t *a);
void routestore_destroy(routestore_t **rt);

/* Whether the configuration routes at all (it has rules). */
bool routestore_enabled(const cfg_t *cfg);

/*
 * After recon_apply: finds the leads to route, loads what routing needs,
 * and touches (recon_touch) the waiting leads that may be assigned now;
 * the caller loads the touched leads before routestore_route.
 * retry_unroutable: try the unroutable waiting leads too (after a reload).
 */
int routestore_prepare(routestore_t *rt, PGconn *c, recon_t *r,
    bool retry_unroutable, char **err) MUSTCHECK;
/* Whether the waiting queue was left empty by this batch (as far as this
 * daemon knows): a batch with no lead to route may then probe with
 * routestore_others_waiting instead of routestore_prepare. */
bool routestore_queue_empty(const routestore_t *rt);
/* Whether routing_waiting holds a lead of a configured team, whoever
 * queued it: one query. 0, or -1 with *err. */
int routestore_others_waiting(routestore_t *rt, PGconn *c, bool *any,
    char **err) MUSTCHECK;
/* Whether this batch has a lead to route (after routestore_prepare, or
 * routestore_candidates alone). */
size_t routestore_candidates(routestore_t *rt, recon_t *r);

/* Decides: assignments go into the leads' logs; conflicts are queued. */
void routestore_route(routestore_t *rt, recon_t *r, ts_t now, outbox_t *o);

/*
 * Queues handoff.assigned for the batch's assignments before the pending
 * message at pos (call after the SLA shell has set the leads' due times).
 */
void routestore_announce(routestore_t *rt, outbox_t *o, size_t pos);

/*
 * Moves loaded leads of r to another rep of their team (skipping the
 * current owner) with why OUT_WHY_SLA_ESCALATION (clock names the clock
 * whose cycle restarts) or OUT_WHY_REP_AWAY, at the given instants.
 * Publishes handoff.reassigned, or reconcile.conflict when no other rep is
 * available (the lead keeps its owner).
 */
typedef struct {
	int64_t lead_id;
	const char *clock; /* sla_escalation only */
	ts_t at;
} routestore_move_t;
int routestore_reassign(routestore_t *rt, PGconn *c, recon_t *r,
    const routestore_move_t *mv, size_t n, out_why_t why, outbox_t *o,
    char **err) MUSTCHECK;

/* Writes the rotation and the waiting queue's changes. */
int routestore_write(routestore_t *rt, PGconn *c, char **err) MUSTCHECK;

#endif
