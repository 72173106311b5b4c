/*
 * The decoded form of every inbound message type (SPEC §2.1, §2.2). The
 * codec fills these; the core reads them. Strings are NUL-terminated and
 * live in the arena the codec was given; an absent optional string is NULL.
 */
#ifndef HANDOFF_EVENT_H
#define HANDOFF_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/ts.h"

typedef enum {
	EV_LEAD_UPSERTED = 0,
	EV_LEAD_QUALIFIED,
	EV_LEAD_RECYCLED,
	EV_LEAD_DISQUALIFIED,
	EV_SALES_ACCEPTED,
	EV_SALES_REJECTED,
	EV_SALES_ACTIVITY,
	EV_SALES_REASSIGNED,
	EV_DEAL_OPENED,
	EV_DEAL_STAGE_CHANGED,
	EV_DEAL_CLOSED,
	EV_CLOCK_TICK,
	EV__COUNT
} ev_type_t;

/* "lead.upserted" -> EV_LEAD_UPSERTED; -1 when unknown. */
int ev_type_from_name(const char *name, size_t len);
const char *ev_type_name(ev_type_t t);
/* Bit of a type in an event-type mask (config clock start/stop lists). */
#define EV_BIT(t) (UINT32_C(1) << (t))

typedef struct {
	const char *key;
	const char *value;
} ev_attr_t;

/* A marketing lead (lead.* events). Only id is required. */
typedef struct {
	const char *id;
	const char *email;     /* as sent */
	const char *email_norm; /* trimmed, lower-cased; NULL when no email */
	const char *first_name;
	const char *last_name;
	const char *company;
	const char *title;
	const char *country; /* ISO 3166-1 alpha-2, upper case */
	const char *segment;
	bool has_score;
	int64_t score;
	const char *campaign;
	ev_attr_t *attrs;
	size_t nattrs;
} ev_lead_t;

/* A sales-side reference to a lead: at least one field is set. */
typedef struct {
	const char *lead_key;
	const char *crm_id;
	const char *email;
	const char *email_norm;
} ev_lead_ref_t;

typedef enum {
	CH_CALL = 0,
	CH_EMAIL,
	CH_MEETING,
	CH_SOCIAL,
	CH_OTHER
} ev_channel_t;

typedef enum {
	OUTCOME_NONE = 0,
	OUTCOME_ATTEMPTED,
	OUTCOME_CONNECTED
} ev_outcome_t;

typedef enum {
	DEAL_OPEN = 0, /* not closed */
	DEAL_WON,
	DEAL_LOST
} ev_deal_outcome_t;

typedef struct {
	const char *id;
	const char *name;
	/* The JSON number exactly as sent (for PostgreSQL numeric), or NULL. */
	const char *amount;
	const char *currency;
	const char *stage;
	ev_deal_outcome_t outcome; /* deal.closed only */
	const char *reason;        /* deal.closed only */
} ev_deal_t;

typedef struct {
	/* Envelope. */
	ev_type_t type;
	const char *id;
	const char *source;
	ts_t occurred_at;

	/* The raw body as received, for storage (not NUL-terminated). */
	const char *raw;
	size_t raw_len;

	/* Payload: which parts are set depends on type. */
	ev_lead_t lead;        /* lead.* */
	ev_lead_ref_t ref;     /* sales.*, deal.opened */
	ev_deal_t deal;        /* deal.* */
	const char *reason;    /* lead.qualified/recycled/disqualified, sales.rejected */
	const char *owner;     /* sales.*, deal.opened */
	const char *team;      /* sales.reassigned */
	ev_channel_t channel;  /* sales.activity */
	ev_outcome_t outcome;  /* sales.activity */
} event_t;

#endif
