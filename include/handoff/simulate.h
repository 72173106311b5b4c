/*
 * A realistic stream of marketing and sales events (SPEC §2.2) for a number
 * of days, for demonstrations, load and end-to-end tests: `handoffctl
 * simulate` sends it to a daemon, or prints it.
 *
 * Marketing tools ("marketo", "hubspot") create leads, mostly in business
 * hours of the calendar's time zone and more on weekdays, update some,
 * qualify about three in ten (lead.qualified) and disqualify or recycle a
 * few; some people are in both tools under the same email. Sales (the CRM
 * "salesforce") accepts or rejects each MQL after a skewed delay counted in
 * the calendar's business time (most within minutes, some hours, some past
 * the SLA goal, some only after the weekend), touches accepted leads
 * (sales.activity: attempts, then a connection), opens deals and moves them
 * through their stages to won or lost. The CRM first names a lead by its
 * email together with its own crm_id, and later by the crm_id alone.
 * clock.tick events every tick_s seconds keep an event-time daemon's clock
 * (SPEC §6.5) moving between events, and a last one at the end closes the
 * period.
 *
 * The module is pure: no I/O and no clock reads. The same parameters give
 * the same events, byte for byte. Event ids, lead ids, crm ids and deal ids
 * carry a tag derived from the parameters, so two runs with different seeds
 * or start times do not collide on (source, id).
 */
#ifndef HANDOFF_SIMULATE_H
#define HANDOFF_SIMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/calendar.h"
#include "handoff/event.h"
#include "handoff/ts.h"
#include "handoff/util.h"

#define SIM_DEFAULT_DAYS 7
#define SIM_MAX_DAYS 366
/* Leads a day on an ordinary weekday; weekends see about a fifth of it. */
#define SIM_DEFAULT_RATE 220
#define SIM_MAX_RATE 100000
#define SIM_DEFAULT_TICK_S 300

/* A rep sales.reassigned may name, with their team. */
typedef struct {
	const char *id;
	const char *team;
} sim_rep_t;

typedef struct {
	uint64_t seed;
	ts_t start;           /* the first instant simulated */
	int days;             /* 1 ... SIM_MAX_DAYS */
	int leads_per_day;    /* weekday mean, 1 ... SIM_MAX_RATE */
	int tick_s;           /* clock.tick interval; 0: no clock.tick at all */
	const cal_t *cal;     /* business hours of both departments */
	const sim_rep_t *reps; /* may be empty: then no sales.reassigned */
	size_t nreps;
} sim_params_t;

typedef struct {
	ts_t at;         /* its occurred_at */
	ev_type_t type;
	const char *json; /* the body, one line, NUL-terminated */
	size_t len;
	/* Where the occurred_at value (without quotes) lies in json. */
	size_t at_off, at_len;
} sim_event_t;

typedef struct sim sim_t;

/*
 * Checks the parameters and prepares the stream. NULL and *err (malloc'd,
 * naming the parameter) when one is out of range.
 */
sim_t *sim_new(const sim_params_t *p, char **err) MUSTCHECK;
void sim_destroy(sim_t **s);

/*
 * The next event, in order of occurred_at (never decreasing), all of them
 * in [start, end]; only the last clock.tick lies at end itself. Returns
 * true and *ev, valid until the next call, or false after the last one.
 */
bool sim_next(sim_t *s, sim_event_t *ev);

/*
 * The end of the simulated span: the local time of start, days later, in
 * the calendar's time zone (so a week from Monday 00:00 ends at the next
 * Monday 00:00, across a change of daylight-saving time too).
 */
ts_t sim_end(const sim_t *s);

/* The tag in the ids of this stream's events. */
const char *sim_tag(const sim_t *s);

/* ev's body with occurred_at replaced by at, into out (reset first). */
void sim_event_retime(const sim_event_t *ev, ts_t at, sbuf_t *out);

/*
 * Monday 00:00, in the zone tz, of the ISO week before the one that
 * contains now: the default start, which makes the simulated week the last
 * complete week on the daemon's clock once it has been replayed.
 */
ts_t sim_default_start(const cal_tz_t *tz, ts_t now);

#endif
