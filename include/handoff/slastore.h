/*
 * The database side of the SLA clocks (sla.h): refolding the cycles of the
 * leads a batch touched, and publishing the alerts that fall due, inside
 * the batch's transaction.
 */
#ifndef HANDOFF_SLASTORE_H
#define HANDOFF_SLASTORE_H

#include <libpq-fe.h>

#include "handoff/arena.h"
#include "handoff/config.h"
#include "handoff/outbox.h"
#include "handoff/reconcile.h"

typedef struct slastore slastore_t;

/* Builds the calendars of cfg; NULL with *err when one cannot be. */
slastore_t *slastore_new(const cfg_t *cfg, char **err);
void slastore_destroy(slastore_t **ss);
/* A reloaded configuration; -1 (old one kept) when a calendar fails. */
int slastore_set_config(slastore_t *ss, const cfg_t *cfg, char **err)
    MUSTCHECK;

/* Refolds the cycles of the dirty leads and publishes what they owe. */
int slastore_apply(slastore_t *ss, PGconn *c, arena_t *a,
    recon_lead_t *const *leads, size_t n, ts_t now, outbox_t *o, char **err)
    MUSTCHECK;
/*
 * Publishes the alerts of the cycles whose next alert is due at now, and
 * learns the next instant one will be (slastore_next_due).
 */
int slastore_due(slastore_t *ss, PGconn *c, arena_t *a, ts_t now,
    outbox_t *o, char **err) MUSTCHECK;
/*
 * The cycles of a lead as a JSON array for the lead command: clock, cycle,
 * state, paused, started_at, due_at, stopped_at, and elapsed_s and
 * remaining_s in business seconds at now (remaining is negative when
 * overdue).
 */
int slastore_cycles_json(slastore_t *ss, PGconn *c, const char *lead_key,
    ts_t now, sbuf_t *out, char **err) MUSTCHECK;
/*
 * Evaluates each target's last closed period once (SPEC §6.6) and
 * publishes sla.target_missed when it fell short.
 */
int slastore_targets(slastore_t *ss, PGconn *c, arena_t *a, ts_t now,
    outbox_t *o, char **err) MUSTCHECK;
/* The earliest next alert instant (lateness included), 0 when none. */
ts_t slastore_next_due(const slastore_t *ss);

/*
 * An escalation with to = "reassign" that was just published: the shell
 * routes the lead to the next rep of its team (SPEC §4).
 */
typedef struct {
	int64_t lead_id;
	const char *clock; /* the configuration's string */
	int cycle;
	ts_t at;           /* the escalation's instant */
} slastore_reassign_t;

/*
 * The reassignments published since the last call (valid until the next
 * publication); the call empties the list.
 */
const slastore_reassign_t *slastore_reassigns(slastore_t *ss, size_t *n);

#endif
