/*
 * SLA clocks (SPEC §6): the pure core that turns a lead's event log into
 * the cycles of each configured clock, and the instants at which their
 * alerts fall due. No I/O and no clock reads: the log, the calendar and
 * "now" are parameters.
 *
 * A clock runs in cycles over the lead's log sorted by (occurred_at,
 * source, id), the same order the reconciliation fold reads:
 *   - a start event opens cycle k+1 when no cycle is open (a start while
 *     one is open does nothing);
 *   - a pause event stops counting; a resume event counts again;
 *   - a stop event closes the open cycle: met when it is at or before the
 *     due time, breached otherwise (a breached cycle stays open until a
 *     stop or cancel event closes it, which resolves it);
 *   - a cancel event closes the open cycle as cancelled (no alert), or,
 *     when it was already breached, resolves it.
 * The goal (by the lead's segment when the clock has one for it) and the
 * calendar are fixed when a cycle starts: a reload changes them for the
 * cycles that start afterwards, so the shell passes back what a stored
 * cycle started with.
 *
 * Elapsed time counts only the calendar's open time while running. The due
 * time is the earliest instant at which elapsed time equals the goal; a
 * warning's instant is where it equals fraction x goal; escalation k's is
 * where it equals goal + after_k (overdue business time). While a cycle is
 * paused its later instants are unknown (none is due).
 *
 * An alert is published when the daemon's clock reaches its instant plus
 * clock.lateness, unless the cycle stopped before the instant. A breach that
 * was published and that a late event shows did not happen (the cycle
 * stopped at or before its due time) is retracted, once.
 */
#ifndef HANDOFF_SLA_H
#define HANDOFF_SLA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/calendar.h"
#include "handoff/config.h"
#include "handoff/reconcile.h"
#include "handoff/ts.h"

typedef enum {
	CYC_RUNNING = 0,
	CYC_PAUSED,
	CYC_MET,
	CYC_BREACHED,  /* past its due time; open until stopped or cancelled */
	CYC_RESOLVED,  /* breached, then stopped or cancelled */
	CYC_CANCELLED
} sla_state_t;

const char *sla_state_name(sla_state_t s);

/* Alerts of a cycle, as bits of sla_cycle_t.done. */
#define SLA_MAX_WARN 8
#define SLA_MAX_ESC 8
#define SLA_BIT_WARN(i) (UINT32_C(1) << (i))          /* i < SLA_MAX_WARN */
#define SLA_BIT_BREACH (UINT32_C(1) << 8)
#define SLA_BIT_ESC(k) (UINT32_C(1) << (9 + (k)))     /* k < SLA_MAX_ESC */
#define SLA_BIT_RESOLVED (UINT32_C(1) << 17)
#define SLA_BIT_RETRACTED (UINT32_C(1) << 18)

typedef struct {
	int cycle;              /* 1, 2, ... */
	sla_state_t state;
	ts_t started_at;
	ts_t stopped_at;        /* 0 while open */
	int64_t goal_us;
	size_t calendar;        /* index into cfg->calendars */
	ts_t due_at;            /* 0 while unknown (paused before it) */
	ts_t warn_at[SLA_MAX_WARN];
	double warn_frac[SLA_MAX_WARN];
	size_t nwarn;
	ts_t esc_at[SLA_MAX_ESC];
	size_t nesc;
	int64_t elapsed_us;     /* at the time given to the fold */
	uint32_t done;          /* alerts already published (stored) */
} sla_cycle_t;

/* What a stored cycle started with, so a refold keeps it. */
typedef struct {
	int cycle;
	int64_t goal_us;
	size_t calendar;
	uint32_t done;
} sla_stored_t;

/*
 * Folds one clock over a lead's sorted log. cals are the configuration's
 * calendars (cal_t per cfg->calendars entry); team_cal is the calendar of
 * the lead's team, or the first when it has none. Stored cycles keep their
 * goal, calendar and published alerts. Writes at most max cycles into out
 * and returns how many.
 */
size_t sla_fold(const cfg_t *cfg, const cfg_clock_t *clock,
    cal_t *const *cals, size_t team_cal, const char *segment,
    const recon_log_t *log, size_t nlog, const sla_stored_t *stored,
    size_t nstored, ts_t now, sla_cycle_t *out, size_t max);

/* The kinds of alert a cycle can owe. */
typedef enum {
	SLA_ALERT_WARNING = 0,
	SLA_ALERT_BREACHED,
	SLA_ALERT_ESCALATED,
	SLA_ALERT_RESOLVED,
	SLA_ALERT_RETRACTED
} sla_alert_kind_t;

typedef struct {
	sla_alert_kind_t kind;
	int index;   /* warning index or escalation level - 1 */
	ts_t at;     /* its instant (before lateness) */
	uint32_t bit;
} sla_alert_t;

/*
 * The alerts of c that are owed at now (instant + lateness <= now, not yet
 * done), in the order they must be published. Returns how many (at most
 * max).
 */
size_t sla_due_alerts(const sla_cycle_t *c, ts_t now, int64_t lateness_us,
    sla_alert_t *out, size_t max);

/*
 * The next instant (lateness included) at which c will owe an alert, or 0
 * when it never will (closed and settled, or paused).
 */
ts_t sla_next_alert(const sla_cycle_t *c, int64_t lateness_us);

#endif
