/*
 * The weekly joint scorecard (SPEC §7): the control command `report`
 * builds it as one JSON object from the kpi_* views of
 * sql/006_kpi_views.sql, so that its figures are the views' figures by
 * construction; `handoffctl report` renders it (report_render.h).
 *
 * The week is an ISO week (Monday 00:00 to the next Monday 00:00) in one
 * time zone: the zone of the first target with period "week" (so the
 * scorecard's MQL volume and acceptance rate are measured over the very
 * weeks those targets are evaluated over), else the zone of the first
 * calendar, else UTC. The views are read with timestamp ranges, which
 * their indexes serve, in one read-only snapshot.
 *
 * Also here, because handoffctl checks its --week before asking the
 * daemon: ISO week names ("2026-W48") and their arithmetic.
 */
#ifndef HANDOFF_REPORT_H
#define HANDOFF_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "handoff/config.h"
#include "handoff/ts.h"
#include "handoff/util.h"

/* Weeks in the speed-to-lead trend, the report's week the last of them. */
#define REPORT_TREND_WEEKS 8
/* Room for the name of a week, "9999-W53", with its NUL. */
#define REPORT_WEEK_BUFLEN 16
/* How long the report's queries may run before they are cancelled. */
#define REPORT_STATEMENT_TIMEOUT "30s"

typedef struct {
	int year; /* the ISO week-numbering year, 1000 to 9999 */
	int week; /* 1 to 52 or 53 */
} report_week_t;

/*
 * Parses an ISO week name, "YYYY-Www" (e.g. "2026-W48"; the W may be lower
 * case). Returns 0, or -1 with a message for humans in why, e.g.
 * "'2026-W60' is not a week of 2026 (it has weeks 01 to 53)".
 */
int report_parse_week(const char *s, report_week_t *w, char *why,
    size_t whylen) MUSTCHECK;
/* Writes "2026-W48". */
void report_week_format(report_week_t w, char buf[REPORT_WEEK_BUFLEN]);
/* 52 or 53. */
int report_weeks_in_year(int year);
/* The Monday of the week, in days since 1970-01-01. */
int64_t report_week_monday(report_week_t w);
/* The ISO week that contains the day (days since 1970-01-01). */
report_week_t report_week_of_day(int64_t day);
/* The week n weeks after w (n may be negative). */
report_week_t report_week_add(report_week_t w, int n);

/* The name of the time zone weeks are taken in (see the top of this file). */
const char *report_zone(const cfg_t *cfg);

/*
 * Builds the scorecard of week w (NULL: the last complete week by now, the
 * daemon's clock) as one JSON object; the fields are documented in
 * proto/README.md (control command `report`). Runs its queries on c in one
 * REPEATABLE READ READ ONLY transaction. Returns 0 and *json (malloc'd,
 * *len bytes), or -1 and *err (malloc'd): a database error, or no week to
 * default to (the event clock has not started).
 */
int report_json(PGconn *c, const cfg_t *cfg, const report_week_t *w,
    ts_t now, char **json, size_t *len, char **err) MUSTCHECK;

#endif
