/*
 * The wire codec (SPEC §2): inbound message bodies -> event_t, with every
 * check of SPEC §2.1 and §2.2, and outbound messages (SPEC §2.3) -> JSON
 * text. Decoding is on the daemon's hot path and allocates nothing per
 * message once warm: the JSON tree goes into the codec's own scratch arena,
 * which each decode reuses, and only the event's strings go into the arena
 * the caller gives.
 *
 * Limits the spec leaves open (characters are Unicode code points):
 *   id, lead.id, lead_ref.lead_key, lead_ref.crm_id, owner, team, deal.id,
 *   deal.stage: 1-128 printable characters, where printable means no
 *   control character (U+0000-U+001F, U+007F-U+009F);
 *   lead.first_name, last_name, company, title, segment, campaign,
 *   deal.name: at most 256 characters (empty allowed);
 *   reason, deal.reason: 1-200 characters;
 *   email: at most 254 characters once trimmed, no white space or control
 *   character inside, and an '@' with text on both sides of the last one;
 *   lead.score: an integer in the range of a 32-bit signed integer;
 *   lead.attributes: at most 100 entries, keys 1-128 characters, values
 *   strings of at most 1024 characters;
 *   deal.amount: a JSON number of at most 64 characters whose value is
 *   finite as a double; deal.currency: three ASCII letters (upper-cased).
 * A field that is null counts as absent (a required one is then reported
 * as "required"), and so does an email, a country or a currency that is
 * empty or only white space. Unknown fields are ignored.
 */
#ifndef HANDOFF_CODEC_H
#define HANDOFF_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/arena.h"
#include "handoff/event.h"
#include "handoff/ts.h"
#include "handoff/util.h"

#define CODEC_ID_MAX 128
#define CODEC_SOURCE_MAX 64
#define CODEC_TEXT_MAX 256
#define CODEC_EMAIL_MAX 254
#define CODEC_REASON_MAX 200
#define CODEC_ATTRS_MAX 100
#define CODEC_ATTR_KEY_MAX 128
#define CODEC_ATTR_VALUE_MAX 1024
#define CODEC_AMOUNT_MAX 64

/* Enough for every error codec_decode writes (longer ones are cut). */
#define CODEC_ERRLEN 256

typedef struct codec codec_t;

codec_t *codec_new(void);
void codec_destroy(codec_t **c);

/*
 * Decodes one inbound message: topic is frame 0, body frame 1. max_bytes
 * bounds the body (0: no bound). On success fills *ev, whose strings live
 * in a and whose raw/raw_len point at body (keep it alive as long as ev).
 * On failure returns -1 with a short, stable reason in err, such as
 * "lead.id: required" or "type: does not match the topic", and leaves in
 * *ev only id and source, each set when the body had a valid one and NULL
 * otherwise (for the router's reply), and raw/raw_len.
 */
int codec_decode(codec_t *c, arena_t *a, const char *topic, size_t topic_len,
    const char *body, size_t body_len, size_t max_bytes, event_t *ev,
    char *err, size_t errlen) MUSTCHECK;

/* Outbound messages (SPEC §2.3). */
typedef enum {
	OUT_HANDOFF_ASSIGNED = 0,
	OUT_HANDOFF_REASSIGNED,
	OUT_HANDOFF_RECYCLED,
	OUT_SLA_WARNING,
	OUT_SLA_BREACHED,
	OUT_SLA_ESCALATED,
	OUT_SLA_RESOLVED,
	OUT_SLA_RETRACTED,
	OUT_SLA_TARGET_MISSED,
	OUT_RECONCILE_UNMATCHED,
	OUT_RECONCILE_CONFLICT,
	OUT_BUS_HEARTBEAT,
	OUT__COUNT
} out_type_t;

/* "handoff.assigned" etc.: the topic and the body's type. */
const char *out_type_name(out_type_t t);

/*
 * The fields of each type. A NULL string is written as JSON null; every
 * time is written as RFC 3339 UTC, every duration as integer seconds.
 */
typedef struct {
	const char *clock;
	ts_t due;
} out_due_t;

typedef struct {
	const char *lead_key;
	/* The marketing source and the profile; lead->email as given. */
	const char *source;
	const ev_lead_t *lead;
	const char *owner;
	const char *team;
	const char *rule;
	const out_due_t *due; /* "due": {clock: time, ...} in this order */
	size_t ndue;
} out_assigned_t;

typedef enum {
	OUT_WHY_SLA_ESCALATION = 0,
	OUT_WHY_CRM,
	OUT_WHY_REP_AWAY
} out_why_t;

typedef struct {
	const char *lead_key;
	const char *from;
	const char *to;
	const char *team;
	out_why_t why;
} out_reassigned_t;

typedef struct {
	const char *lead_key;
	const char *source; /* lead.source, lead.id, lead.email */
	const char *id;
	const char *email;
	const char *reason;
	const char *by; /* the rep, or NULL */
} out_recycled_t;

/* sla.warning and sla.breached. */
typedef struct {
	const char *lead_key;
	const char *clock;
	int64_t cycle;
	const char *owner;
	const char *team;
	ts_t started_at;
	ts_t due_at;
	double fraction; /* sla.warning only */
	int64_t goal_s;  /* sla.breached only */
} out_sla_alert_t;

typedef struct {
	const char *lead_key;
	const char *clock;
	int64_t cycle;
	int level;
	const char *to; /* the recipient, or "reassign" */
	int64_t overdue_s;
} out_escalated_t;

/* sla.resolved and sla.retracted. */
typedef struct {
	const char *lead_key;
	const char *clock;
	int64_t cycle;
	ts_t stopped_at;
	int64_t overdue_s; /* sla.resolved only */
} out_sla_stop_t;

typedef struct {
	const char *target;
	const char *metric;
	ts_t period_start;
	ts_t period_end;
	double goal;
	double actual;
	const char *team; /* or NULL */
} out_target_missed_t;

typedef struct {
	const char *source; /* "event": {source, id, type} */
	const char *id;
	ev_type_t type;
	ev_lead_ref_t ref; /* "lead_ref": lead_key, crm_id, email (as sent) */
	int64_t waited_s;
} out_unmatched_t;

typedef struct {
	const char *kind;
	const char *const *lead_keys;
	size_t nlead_keys;
	const char *detail;
} out_conflict_t;

typedef struct {
	out_type_t type;
	union {
		out_assigned_t assigned;
		out_reassigned_t reassigned;
		out_recycled_t recycled;
		out_sla_alert_t alert;      /* OUT_SLA_WARNING, OUT_SLA_BREACHED */
		out_escalated_t escalated;
		out_sla_stop_t stop;        /* OUT_SLA_RESOLVED, OUT_SLA_RETRACTED */
		out_target_missed_t target_missed;
		out_unmatched_t unmatched;
		out_conflict_t conflict;
	} u; /* nothing for OUT_BUS_HEARTBEAT */
} out_msg_t;

/*
 * The body of m: {"v":1,"type":...,"seq":seq,"emitted_at":...} followed by
 * the type's fields in the order of SPEC §2.3. Returns a malloc'd,
 * NUL-terminated string and its length in *len. Never fails: a string that
 * is not valid UTF-8 (which validated input never yields) has its bad bytes
 * replaced by U+FFFD rather than producing invalid JSON.
 */
char *codec_encode(const out_msg_t *m, int64_t seq, ts_t emitted_at,
    size_t *len);

#endif
