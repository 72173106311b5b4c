/*
 * Reconciliation: the pure core that turns a batch of events into one
 * record per lead (SPEC §2.2, §6.4). No I/O: the shell loads the state the
 * batch needs with set-based queries, hands it in, and writes back what
 * comes out, in the batch's transaction.
 *
 * Semantics (the choices SPEC leaves open are documented in the README):
 *
 * Identity. A lead is created by a marketing event (lead.*) for a
 * (source, id) not seen before, unless its normalised email already belongs
 * to exactly one lead, which then gains that (source, id): one person in
 * two marketing tools is one lead. A sales event names its lead by
 * lead_key, else crm_id, else email. Every crm_id and email seen with a
 * resolved lead is remembered. Ambiguities publish reconcile.conflict and
 * are never guessed:
 *   unknown_lead_key  a lead_key that does not exist (event not applied)
 *   email_ambiguous   an email that names several leads (not applied)
 *   crm_id_conflict   a crm_id already linked to another lead than the one
 *                     the event names by lead_key (applied to the named
 *                     lead; the crm_id keeps its first lead)
 *   email_shared      a marketing event gives a lead an email that already
 *                     belongs to another lead (both keep it)
 * A sales event whose lead is unknown waits in pending_events for its
 * crm_id or email to appear with a lead; a lead.recycled/disqualified for an
 * unknown (source, id) waits for it; a deal event for an unknown deal waits
 * for its deal.opened. reconcile.unmatched is published once per waiting
 * event, unmatched_grace after its arrival on the daemon's clock.
 *
 * Lifecycle. The stage and everything order-sensitive is the fold of the
 * lead's log (every applied event but lead.upserted, which is logged too
 * when an SLA clock names it) sorted by
 * (occurred_at, source, id), so arrival order never matters:
 *   lead.qualified     lead/recycled/lost/disqualified -> mql (a new pass
 *                      unless from lead); ignored in mql/sal/sql/won
 *   sales.accepted     lead/mql -> sal
 *   sales.rejected     lead/mql/sal -> recycled; owner cleared
 *   lead.recycled      any stage but recycled -> recycled; owner cleared
 *   lead.disqualified  any stage but disqualified -> disqualified
 *   deal.opened        lead/mql/sal -> sql
 *   deal.closed        won -> won, lost -> lost, from any stage but
 *                      won/lost/recycled/disqualified
 * An event that does not apply in the stage the fold has reached changes
 * nothing (it is still kept in the log). Owner: the newest owner given by
 * sales.accepted/activity/reassigned/deal.opened or by routing's own
 * entries (RECON_MADE_*), cleared by a later recycle; team: the newest team
 * given by sales.reassigned or routing. first_touch_at / connected_at: the first sales.activity (the
 * first with outcome connected) at or after the current pass's MQL time.
 *
 * Profile. Each field of a lead.upserted/qualified is merged on its own:
 * the value with the newest occurred_at wins (ties: the greater (source,
 * id)); attributes merge key by key the same way.
 */
#ifndef HANDOFF_RECONCILE_H
#define HANDOFF_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/arena.h"
#include "handoff/event.h"
#include "handoff/outbox.h"
#include "handoff/ts.h"
#include "handoff/util.h"

typedef enum {
	STAGE_LEAD = 0,
	STAGE_MQL,
	STAGE_SAL,
	STAGE_SQL,
	STAGE_WON,
	STAGE_LOST,
	STAGE_RECYCLED,
	STAGE_DISQUALIFIED,
	STAGE__COUNT
} recon_stage_t;

const char *recon_stage_name(recon_stage_t s);
int recon_stage_from_name(const char *s); /* -1 when unknown */

typedef enum { ID_MKT = 0, ID_CRM, ID_EMAIL, ID_KEY, ID__COUNT } recon_idkind_t;
const char *recon_idkind_name(recon_idkind_t k); /* "mkt", "crm", "email", "key" */

/* One profile field: value (NULL: unset) and the time that set it. */
typedef struct {
	const char *name;
	const char *value;  /* JSON text of the value (a string or a number) */
	ts_t at;
	const char *src;    /* source and id of the setting event, for ties */
	const char *id;
} recon_field_t;

/*
 * Entries the daemon adds to a lead's log itself (lead_log.type
 * "handoff.assigned" and "handoff.reassigned", source "handoffd"), so that
 * the fold reproduces routing decisions, which depend on when they were
 * made and cannot be recomputed from the inbound events. Their type is
 * EV__COUNT, which no clock lists. At an equal occurred_at they sort after
 * the inbound events.
 */
typedef enum {
	RECON_MADE_NONE = 0,   /* an inbound event */
	RECON_MADE_ASSIGNED,   /* routing: team (reason: the rule) and owner,
	                        * or only the team when no rep was available */
	RECON_MADE_REASSIGNED  /* owner moved by the daemon (to nobody when
	                        * owner is NULL); outcome is why
	                        * (sla_escalation: reason names the clock, whose
	                        * open cycle closes and restarts; rep_away) */
} recon_made_t;

#define RECON_SOURCE "handoffd"

/* One entry of a lead's log. */
typedef struct {
	ts_t occurred_at;
	const char *source;
	const char *event_id;
	ev_type_t type;
	const char *owner;
	const char *team;
	const char *reason;
	const char *deal_id;
	const char *outcome;
	recon_made_t made;
	bool stored; /* loaded from the database (not new in this batch) */
	const char *prev_owner; /* set by the fold: the owner before it */
} recon_log_t;

/* lead_log.type of an entry, and back (-1 when unknown). */
const char *recon_log_type_name(const recon_log_t *e);
int recon_log_type_parse(const char *s, size_t n, recon_log_t *e);

typedef struct {
	recon_stage_t stage;
	int pass;
	ts_t entered_at;
	const char *source;
	const char *event_id;
} recon_hist_t;

/* A lead as stored (in) and as it must be written back (out). */
typedef struct {
	int64_t id;
	char *lead_key;
	const char *source; /* the creating marketing source and its lead id */
	const char *mkt_id;
	const char *email;
	const char *email_norm;
	recon_stage_t stage;
	ts_t stage_at;
	int pass;
	ts_t stages[STAGE__COUNT]; /* entered at, this pass; 0 = not entered */
	const char *owner;
	const char *team;
	recon_field_t *fields; /* profile and attributes ("attributes.K") */
	size_t nfields, fieldcap;
	int touches;
	ts_t first_touch_at;   /* 0 = none */
	ts_t connected_at;
	ts_t first_seen;

	/* Bookkeeping of the batch. */
	bool is_new;        /* created by this batch: INSERT, not UPDATE */
	bool dirty;         /* changed: write back */
	bool refold;        /* its log or first_seen changed: the history and
	                     * SLA cycles must be recomputed and rewritten */
	bool log_loaded;    /* the shell gave its stored log */
	recon_log_t *log;   /* stored entries, then the batch's */
	size_t nlog, logcap;
	size_t nlog_stored;
	recon_hist_t *hist; /* the fold's result */
	size_t nhist;
	/* Set by the SLA shell: the due times of the lead's running cycles,
	 * for handoff.assigned. */
	out_due_t *due;
	size_t ndue;
} recon_lead_t;

typedef struct {
	const char *source;
	const char *deal_id;
	int64_t lead_id;
	const char *name;
	const char *amount;
	ts_t amount_at;      /* occurred_at of the event that set amount */
	const char *currency;
	const char *stage;
	ts_t stage_at;
	const char *outcome; /* NULL, "won", "lost" */
	ts_t closed_at;
	const char *close_reason;
	ts_t opened_at;
	bool is_new, dirty;
} recon_deal_t;

/* What happened to one event of the batch. */
typedef enum {
	RES_APPLIED = 0,
	RES_PENDING,   /* waits for its lead or deal */
	RES_CONFLICT,  /* not applied; a conflict was published */
	RES_NOOP       /* clock.tick: nothing to reconcile */
} recon_result_t;

/* A new identity link to write. */
typedef struct {
	recon_idkind_t kind;
	const char *value;
	int64_t lead_id;
} recon_ident_t;

/* An event to keep in pending_events. */
typedef struct {
	const event_t *ev;
	ts_t arrived;
	const char *crm_id, *email_norm, *mkt, *deal;
} recon_pending_t;

/* A deal history row to write. */
typedef struct {
	const event_t *ev;
	const char *source, *deal_id;
} recon_dealhist_t;

typedef struct recon recon_t;

/*
 * A reconciliation of one batch. Strings handed in must live as long as
 * the arena a (the batch's), which also holds everything made here.
 */
recon_t *recon_new(arena_t *a, ts_t unmatched_grace_s);
/*
 * Event types that go into the lead's log although the lifecycle does not
 * need them (EV_BIT mask): lead.upserted when an SLA clock names it.
 */
void recon_set_log_types(recon_t *r, uint32_t mask);
void recon_destroy(recon_t **r);

/* ---- the state the shell loads ---- */

/*
 * The keys whose identities must be loaded before recon_resolve: for each
 * kind, the distinct values the events name. Valid until the next call.
 */
typedef struct {
	const char **v[ID__COUNT];
	size_t n[ID__COUNT];
	const char **deals; /* "source deal_id" */
	size_t ndeals;
} recon_keys_t;
void recon_keys(recon_t *r, const event_t *const *ev, size_t n,
    recon_keys_t *out);

/* A stored identity link (kind ID_KEY: value is the lead_key). */
void recon_add_identity(recon_t *r, recon_idkind_t kind, const char *value,
    int64_t lead_id);
/* A stored deal (its lead id and fields). */
void recon_add_deal(recon_t *r, const recon_deal_t *d);
/* Lead ids the core may give new leads (from the id sequence). */
void recon_add_ids(recon_t *r, const int64_t *ids, size_t n);
/* The number of ids recon_resolve may need for ev[0..n) (after the
 * identities are loaded). */
size_t recon_ids_needed(recon_t *r, const event_t *const *ev, size_t n);

/*
 * Resolves events to leads: creates leads, links identities, marks what
 * waits and what conflicts. from_pending: these events were waiting
 * (their arrival is not now); one already resolved by an earlier call is
 * not resolved again. Each call also retries the batch's own events that
 * wait (they are not in pending_events yet), so an event older than its
 * lead in the same batch does not stay pending. Returns 0, or -1 when the
 * id pool ran out.
 */
int recon_resolve(recon_t *r, const event_t *const *ev, size_t n,
    recon_result_t *res, bool from_pending, ts_t now, outbox_t *o) MUSTCHECK;

/*
 * The identities linked during resolution that pending events might wait
 * for (crm ids, emails, marketing keys, deals) since the last call: the
 * shell looks those up in pending_events and resolves what it finds.
 */
void recon_new_keys(recon_t *r, recon_keys_t *out);

/* Ids of the existing leads whose rows and logs must be loaded. */
size_t recon_leads_to_load(recon_t *r, int64_t **ids);
/* A stored lead row, then its stored log entries. */
recon_lead_t *recon_add_lead(recon_t *r, const recon_lead_t *row);
void recon_add_log(recon_t *r, int64_t lead_id, const recon_log_t *e);

/*
 * Applies the resolved events to their leads (log, profile, deals), folds
 * each touched lead, and queues the outbound messages. Returns 0 or -1.
 */
int recon_apply(recon_t *r, outbox_t *o) MUSTCHECK;

/*
 * A stored lead the batch has no event for (a waiting lead, an escalation's
 * reassignment): the shell loads it with the others, then refolds it.
 */
void recon_touch(recon_t *r, int64_t lead_id);
/* Folds a loaded lead again and marks it to be written back. */
void recon_refold(recon_t *r, recon_lead_t *l);
/* The touched lead of an id, or NULL. */
recon_lead_t *recon_lead(recon_t *r, int64_t lead_id);
/*
 * Appends an entry of the daemon's own (made) to a lead's log and refolds
 * it. Strings must live as long as the batch's arena.
 */
void recon_add_made(recon_t *r, recon_lead_t *l, recon_made_t made,
    ts_t at, const char *owner, const char *team, const char *reason,
    const char *outcome);
/*
 * Queues what depends on the final fold, for the events the batch applied:
 * handoff.recycled for each sales.rejected (by: the event's owner, else
 * the lead's owner before it) and handoff.reassigned (why crm) for each
 * sales.reassigned. Call once, after routing.
 */
void recon_finish(recon_t *r, outbox_t *o);

/* A profile field's plain value (a JSON string unescaped, a number as
 * text), or NULL when absent. */
const char *recon_field_plain(arena_t *a, const recon_lead_t *l,
    const char *name);

/* ---- what the shell writes back ---- */

/* Every lead touched (check is_new/dirty), its new log entries are
 * log[nlog_stored..nlog), its history replaces the stored one. */
recon_lead_t **recon_leads(recon_t *r, size_t *n);
recon_deal_t **recon_deals(recon_t *r, size_t *n);
const recon_ident_t *recon_idents(recon_t *r, size_t *n);
const recon_pending_t *recon_pendings(recon_t *r, size_t *n);
/* Pending events that were resolved (applied or conflicting): delete. */
const event_t *const *recon_unpended(recon_t *r, size_t *n);
const recon_dealhist_t *recon_dealhist(recon_t *r, size_t *n);

/* The lead_key of a lead id ("L" followed by the id in decimal). */
char *recon_lead_key(arena_t *a, int64_t id);

#endif
