/*
 * The weekly joint scorecard (SPEC §7) as one JSON object, for the control
 * command `report`. Every figure is a query of a kpi_* view of
 * sql/006_kpi_views.sql over the week's timestamp range, so the scorecard
 * and an analyst's query of the views agree by construction; this file
 * only chooses the week, runs the queries in one snapshot and writes the
 * JSON. Rates are rounded to four decimals and durations to whole seconds
 * in SQL, so the JSON carries exactly what the views give.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "handoff/calendar.h"
#include "handoff/jdoc.h"
#include "handoff/log.h"
#include "handoff/pgcopy.h"
#include "handoff/report.h"

/* ---- ISO weeks ---- */

/* Day of the week, Monday 0 ... Sunday 6 (1970-01-01 was a Thursday). */
static int
weekday(int64_t day)
{
	int64_t r = (day + 3) % 7;

	return (int)(r < 0 ? r + 7 : r);
}

/* The Monday of week 1 of year y: the week that holds January 4th. */
static int64_t
week1_monday(int year)
{
	int64_t jan4 = ts_days_from_civil(year, 1, 4);

	return jan4 - weekday(jan4);
}

int
report_weeks_in_year(int year)
{
	return (int)((week1_monday(year + 1) - week1_monday(year)) / 7);
}

int64_t
report_week_monday(report_week_t w)
{
	return week1_monday(w.year) + (int64_t)(w.week - 1) * 7;
}

report_week_t
report_week_of_day(int64_t day)
{
	int64_t monday = day - weekday(day);
	int y, m, d;
	report_week_t w;

	/* A week belongs to the year of its Thursday. */
	ts_civil_from_days(monday + 3, &y, &m, &d);
	w.year = y;
	w.week = (int)((monday - week1_monday(y)) / 7) + 1;
	return w;
}

report_week_t
report_week_add(report_week_t w, int n)
{
	return report_week_of_day(report_week_monday(w) + (int64_t)n * 7);
}

void
report_week_format(report_week_t w, char buf[REPORT_WEEK_BUFLEN])
{
	snprintf(buf, REPORT_WEEK_BUFLEN, "%04d-W%02d", w.year % 10000,
	    w.week % 100);
}

static bool
digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int
report_parse_week(const char *s, report_week_t *w, char *why, size_t whylen)
{
	char shown[80];
	int year, week, last;

	jdoc_key_display(s, strlen(s), shown, sizeof(shown));
	if (strlen(s) != 8 || !digits(s, 4) || s[4] != '-' ||
	    (s[5] != 'W' && s[5] != 'w') || !digits(s + 6, 2)) {
		snprintf(why, whylen, "'%s' is not an ISO week like 2026-W48",
		    shown);
		return -1;
	}
	year = atoi(s);
	week = atoi(s + 6);
	if (year < 1000) {
		snprintf(why, whylen, "'%s': the year must be from 1000 to "
		    "9999", shown);
		return -1;
	}
	last = report_weeks_in_year(year);
	if (week < 1 || week > last) {
		snprintf(why, whylen, "'%s' is not a week of %d (it has weeks "
		    "01 to %d)", shown, year, last);
		return -1;
	}
	w->year = year;
	w->week = week;
	return 0;
}

const char *
report_zone(const cfg_t *cfg)
{
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (cfg->targets[i].period == PERIOD_WEEK)
			return cfg->calendars[cfg->targets[i].calendar].timezone;
	if (cfg->ncalendars > 0)
		return cfg->calendars[0].timezone;
	return "UTC";
}

/* ---- the queries ---- */

/* The week's range is $1 and $2 in every query that filters on it. */
#define IN_WEEK(col) col " >= $1::timestamptz AND " col " < $2::timestamptz"

/* Naming the stages lets the (stage, entered_at) index serve the range. */
static const char q_entered[] =
    "SELECT stage, count(*) FROM kpi_stage_entries "
    "WHERE stage = ANY ('{lead,mql,sal,sql,won,lost,recycled,disqualified}') "
    "AND " IN_WEEK("entered_at") " GROUP BY stage";

static const char q_leads[] =
    "SELECT count(*), count(first_mql_at), "
    "round(count(first_mql_at)::numeric / nullif(count(*), 0), 4) "
    "FROM kpi_leads WHERE " IN_WEEK("created_at");

static const char q_mqls[] =
    "SELECT mqls, reached_sal, reached_sql, won, lost, answered, accepted, "
    "rejected, touched, median_s, p90_s, "
    "round(reached_sal::numeric / nullif(mqls, 0), 4), "
    "round(reached_sql::numeric / nullif(reached_sal, 0), 4), "
    "round(won::numeric / nullif(reached_sql, 0), 4), "
    "round(won::numeric / nullif(mqls, 0), 4), "
    "round(accepted::numeric / nullif(answered, 0), 4) "
    "FROM (SELECT count(*) AS mqls, "
    "count(*) FILTER (WHERE reached_sal) AS reached_sal, "
    "count(*) FILTER (WHERE reached_sql) AS reached_sql, "
    "count(*) FILTER (WHERE reached_won) AS won, "
    "count(*) FILTER (WHERE lost_at IS NOT NULL) AS lost, "
    "count(*) FILTER (WHERE answered) AS answered, "
    "count(*) FILTER (WHERE accepted) AS accepted, "
    "count(*) FILTER (WHERE rejected) AS rejected, "
    "count(speed_to_lead_s) AS touched, "
    "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY speed_to_lead_s)"
    "::numeric) AS median_s, "
    "round(percentile_cont(0.9) WITHIN GROUP (ORDER BY speed_to_lead_s)"
    "::numeric) AS p90_s "
    "FROM kpi_mql_passes WHERE " IN_WEEK("mql_at") ") m";

/* SLA outcome counts and compliance of the cycles in c, grouped by g. */
#define SLA_COUNTS(g)							\
	"SELECT " g ", met, breached, open, cancelled, "		\
	"round(met::numeric / nullif(met + breached, 0), 4) FROM ("	\
	"SELECT " g ", "						\
	"count(c.outcome) FILTER (WHERE c.outcome = 'met') AS met, "	\
	"count(c.outcome) FILTER (WHERE c.outcome = 'breached') AS breached, " \
	"count(c.outcome) FILTER (WHERE c.outcome = 'open') AS open, "	\
	"count(c.outcome) FILTER (WHERE c.outcome = 'cancelled') "	\
	"AS cancelled "

#define SLA_WEEK							\
	"WITH c AS (SELECT clock, team, outcome FROM kpi_sla_cycles "	\
	"WHERE " IN_WEEK("started_at") ") "

/* Every configured clock ($3, in file order), then any other that has
 * cycles in the week (a clock since removed from the file). */
static const char q_sla_clocks[] =
    SLA_WEEK ", k AS (SELECT n AS clock, o FROM unnest($3::text[]) "
    "WITH ORDINALITY AS u(n, o) UNION ALL SELECT DISTINCT clock, NULL::bigint "
    "FROM c WHERE NOT clock = ANY ($3::text[])) "
    SLA_COUNTS("clock") ", o FROM k LEFT JOIN c USING (clock) "
    "GROUP BY clock, o) s ORDER BY o NULLS LAST, clock";

static const char q_sla_teams[] =
    SLA_WEEK SLA_COUNTS("team, clock") "FROM c GROUP BY team, clock) s "
    "ORDER BY team NULLS LAST, array_position($3::text[], clock) "
    "NULLS LAST, clock";

static const char q_rejections[] =
    "SELECT reason, count(*) FROM kpi_rejections "
    "WHERE " IN_WEEK("rejected_at") " GROUP BY reason "
    "ORDER BY count(*) DESC, reason";

/* Deals opened, won and lost in the week, and still open at its end. */
static const char q_pipeline[] =
    "SELECT kind, currency, count(*), round(coalesce(sum(amount), 0), 2) "
    "FROM (SELECT 'opened' AS kind, currency, amount FROM kpi_deals "
    "WHERE " IN_WEEK("opened_at") " "
    "UNION ALL SELECT outcome, currency, amount FROM kpi_deals "
    "WHERE outcome IS NOT NULL AND " IN_WEEK("closed_at") " "
    "UNION ALL SELECT 'open', currency, amount FROM kpi_deals "
    "WHERE opened_at < $2::timestamptz AND (closed_at IS NULL OR "
    "closed_at >= $2::timestamptz)) d "
    "GROUP BY kind, currency ORDER BY kind, currency NULLS LAST";

/*
 * A target's metric over the week, as the daemon evaluates it (SPEC 6.6),
 * from the views: $3 the target's team (NULL: all), $4 its goal. Columns:
 * the value (NULL without a denominator) and whether it reaches the goal
 * (compared before rounding).
 */
static const char *const q_metric[] = {
	[METRIC_MQL_COUNT] =
	    "SELECT count(*), count(*) >= $4::float8 FROM kpi_mql_passes "
	    "WHERE " IN_WEEK("mql_at") " AND ($3::text IS NULL OR team = $3)",
	[METRIC_ACCEPTANCE_RATE] =
	    "SELECT round(v::numeric, 4), v >= $4::float8 FROM (SELECT "
	    "count(*) FILTER (WHERE accepted)::float8 / "
	    "nullif(count(*) FILTER (WHERE answered), 0) AS v "
	    "FROM kpi_mql_passes WHERE " IN_WEEK("mql_at") " "
	    "AND ($3::text IS NULL OR team = $3)) m",
	[METRIC_FIRST_TOUCH_MET_RATE] =
	    "SELECT round(v::numeric, 4), v >= $4::float8 FROM (SELECT "
	    "count(*) FILTER (WHERE outcome = 'met')::float8 / "
	    "nullif(count(*) FILTER (WHERE outcome IN ('met', 'breached')), 0) "
	    "AS v FROM kpi_sla_cycles WHERE clock = 'first_touch' "
	    "AND " IN_WEEK("started_at") " "
	    "AND ($3::text IS NULL OR team = $3)) m",
};

static const char *const metric_names[] = {
	[METRIC_MQL_COUNT] = "mql_count",
	[METRIC_ACCEPTANCE_RATE] = "acceptance_rate",
	[METRIC_FIRST_TOUCH_MET_RATE] = "first_touch_met_rate",
};

static const char *const period_names[] = {
	[PERIOD_DAY] = "day", [PERIOD_WEEK] = "week", [PERIOD_MONTH] = "month",
};

/* The evaluations of target $3 whose period's middle lies in the week. */
static const char q_evaluations[] =
    "SELECT (extract(epoch FROM period_start) * 1000000)::bigint, "
    "(extract(epoch FROM period_end) * 1000000)::bigint, actual, missed "
    "FROM kpi_target_periods WHERE target = $3 AND "
    IN_WEEK("period_start + (period_end - period_start) / 2") " "
    "ORDER BY period_start";

/*
 * Speed to lead of each week of the trend: $3 the weeks' starts and the
 * last one's end, ascending, so width_bucket numbers the weeks from 1.
 */
static const char q_trend[] =
    "SELECT width_bucket(mql_at, $3::timestamptz[]), count(*), "
    "count(speed_to_lead_s), "
    "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY speed_to_lead_s)"
    "::numeric), "
    "round(percentile_cont(0.9) WITHIN GROUP (ORDER BY speed_to_lead_s)"
    "::numeric) "
    "FROM kpi_mql_passes WHERE " IN_WEEK("mql_at") " GROUP BY 1 ORDER BY 1";

/* ---- building the reply ---- */

typedef struct {
	PGconn *c;
	yajl_gen g;
	char *err;
	char from[TS_BUFLEN]; /* the week's range, $1 and $2 */
	char to[TS_BUFLEN];
} ctx_t;

static void
gkey(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

/* A string, or null when s is NULL or not valid UTF-8. */
static void
gstr(yajl_gen g, const char *s)
{
	if (s == NULL || yajl_gen_string(g, (const unsigned char *)s,
	    strlen(s)) != yajl_gen_status_ok)
		yajl_gen_null(g);
}

static void
gts(yajl_gen g, ts_t t)
{
	char b[TS_BUFLEN];

	ts_format(t, b);
	gstr(g, b);
}

static void
gday(yajl_gen g, int64_t day)
{
	char b[16];
	int y, m, d;

	ts_civil_from_days(day, &y, &m, &d);
	snprintf(b, sizeof(b), "%04d-%02d-%02d", y % 10000, m, d);
	gstr(g, b);
}

static void
gweek(yajl_gen g, report_week_t w)
{
	char b[REPORT_WEEK_BUFLEN];

	report_week_format(w, b);
	gstr(g, b);
}

/* Column col of row i as a JSON number (PostgreSQL's own spelling of an
 * integer or numeric is one), or null. */
static void
gcol(yajl_gen g, const PGresult *r, int i, int col)
{
	if (PQgetisnull(r, i, col))
		yajl_gen_null(g);
	else
		yajl_gen_number(g, PQgetvalue(r, i, col),
		    (size_t)PQgetlength(r, i, col));
}

static void
gcolkey(yajl_gen g, const char *key, const PGresult *r, int i, int col)
{
	gkey(g, key);
	gcol(g, r, i, col);
}

static void
gstrcol(yajl_gen g, const PGresult *r, int i, int col)
{
	gstr(g, PQgetisnull(r, i, col) ? NULL : PQgetvalue(r, i, col));
}

/* Runs sql with the week's range and the extra parameters; NULL on error
 * (then x->err says which part failed and why). */
static PGresult *
run(ctx_t *x, const char *what, const char *sql, int nextra,
    const char *const *extra, int nrows)
{
	const char *p[6] = { x->from, x->to, NULL, NULL, NULL, NULL };
	PGresult *r;

	for (int i = 0; i < nextra && i < 4; i++)
		p[2 + i] = extra[i];
	r = PQexecParams(x->c, sql, 2 + nextra, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK ||
	    (nrows >= 0 && PQntuples(r) != nrows)) {
		const char *m = PQresultErrorMessage(r);
		size_t n;

		if (m == NULL || *m == '\0')
			m = PQerrorMessage(x->c);
		n = strlen(m);
		while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
			n--;
		x->err = xasprintf("report: %s: %.*s", what, (int)n,
		    n > 0 ? m : "unexpected result");
		PQclear(r);
		return NULL;
	}
	return r;
}

static const char *const stages[] = { "lead", "mql", "sal", "sql", "won",
	"lost", "recycled", "disqualified" };

static int
funnel(ctx_t *x, const PGresult *mq)
{
	PGresult *r;

	if ((r = run(x, "funnel", q_entered, 0, NULL, -1)) == NULL)
		return -1;
	gkey(x->g, "funnel");
	yajl_gen_map_open(x->g);
	gkey(x->g, "entered");
	yajl_gen_map_open(x->g);
	for (size_t s = 0; s < ARRAY_LEN(stages); s++) {
		int found = -1;

		for (int i = 0; i < PQntuples(r); i++)
			if (strcmp(PQgetvalue(r, i, 0), stages[s]) == 0)
				found = i;
		gkey(x->g, stages[s]);
		if (found >= 0)
			gcol(x->g, r, found, 1);
		else
			yajl_gen_integer(x->g, 0);
	}
	yajl_gen_map_close(x->g);
	PQclear(r);

	if ((r = run(x, "new leads", q_leads, 0, NULL, 1)) == NULL)
		return -1;
	gkey(x->g, "leads");
	yajl_gen_map_open(x->g);
	gcolkey(x->g, "created", r, 0, 0);
	gcolkey(x->g, "became_mql", r, 0, 1);
	yajl_gen_map_close(x->g);

	gkey(x->g, "mqls");
	yajl_gen_map_open(x->g);
	gcolkey(x->g, "count", mq, 0, 0);
	gcolkey(x->g, "reached_sal", mq, 0, 1);
	gcolkey(x->g, "reached_sql", mq, 0, 2);
	gcolkey(x->g, "won", mq, 0, 3);
	gcolkey(x->g, "lost", mq, 0, 4);
	yajl_gen_map_close(x->g);

	gkey(x->g, "conversion");
	yajl_gen_map_open(x->g);
	gcolkey(x->g, "lead_mql", r, 0, 2);
	gcolkey(x->g, "mql_sal", mq, 0, 11);
	gcolkey(x->g, "sal_sql", mq, 0, 12);
	gcolkey(x->g, "sql_won", mq, 0, 13);
	gcolkey(x->g, "mql_won", mq, 0, 14);
	yajl_gen_map_close(x->g);
	yajl_gen_map_close(x->g);
	PQclear(r);

	gkey(x->g, "acceptance");
	yajl_gen_map_open(x->g);
	gcolkey(x->g, "mqls", mq, 0, 0);
	gcolkey(x->g, "answered", mq, 0, 5);
	gcolkey(x->g, "accepted", mq, 0, 6);
	gcolkey(x->g, "rejected", mq, 0, 7);
	gcolkey(x->g, "rate", mq, 0, 15);
	yajl_gen_map_close(x->g);

	gkey(x->g, "speed_to_lead");
	yajl_gen_map_open(x->g);
	gcolkey(x->g, "mqls", mq, 0, 0);
	gcolkey(x->g, "touched", mq, 0, 8);
	gcolkey(x->g, "median_s", mq, 0, 9);
	gcolkey(x->g, "p90_s", mq, 0, 10);
	yajl_gen_map_close(x->g);
	return 0;
}

static void
sla_counts(yajl_gen g, const PGresult *r, int i, int first)
{
	gcolkey(g, "met", r, i, first);
	gcolkey(g, "breached", r, i, first + 1);
	gcolkey(g, "open", r, i, first + 2);
	gcolkey(g, "cancelled", r, i, first + 3);
	gcolkey(g, "compliance", r, i, first + 4);
}

static int
sla(ctx_t *x, const cfg_t *cfg)
{
	const char **names = xcalloc(cfg->nclocks + 1, sizeof(char *));
	PGresult *r;
	sbuf_t arr;

	for (size_t i = 0; i < cfg->nclocks; i++)
		names[i] = cfg->clocks[i].name;
	sbuf_init(&arr);
	pgcopy_array(&arr, names, cfg->nclocks);
	free(names);

	gkey(x->g, "sla");
	yajl_gen_map_open(x->g);
	if ((r = run(x, "SLA by clock", q_sla_clocks, 1,
	    (const char *const *)&arr.s, -1)) == NULL) {
		sbuf_free(&arr);
		return -1;
	}
	gkey(x->g, "clocks");
	yajl_gen_array_open(x->g);
	for (int i = 0; i < PQntuples(r); i++) {
		yajl_gen_map_open(x->g);
		gkey(x->g, "clock");
		gstrcol(x->g, r, i, 0);
		sla_counts(x->g, r, i, 1);
		yajl_gen_map_close(x->g);
	}
	yajl_gen_array_close(x->g);
	PQclear(r);

	r = run(x, "SLA by team", q_sla_teams, 1, (const char *const *)&arr.s,
	    -1);
	sbuf_free(&arr);
	if (r == NULL)
		return -1;
	gkey(x->g, "teams");
	yajl_gen_array_open(x->g);
	for (int i = 0; i < PQntuples(r); i++) {
		yajl_gen_map_open(x->g);
		gkey(x->g, "team");
		gstrcol(x->g, r, i, 0);
		gkey(x->g, "clock");
		gstrcol(x->g, r, i, 1);
		sla_counts(x->g, r, i, 2);
		yajl_gen_map_close(x->g);
	}
	yajl_gen_array_close(x->g);
	yajl_gen_map_close(x->g);
	PQclear(r);
	return 0;
}

static int
rejections(ctx_t *x)
{
	PGresult *r = run(x, "rejections", q_rejections, 0, NULL, -1);
	long long total = 0;

	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		total += strtoll(PQgetvalue(r, i, 1), NULL, 10);
	gkey(x->g, "rejections");
	yajl_gen_map_open(x->g);
	gkey(x->g, "total");
	yajl_gen_integer(x->g, total);
	gkey(x->g, "reasons");
	yajl_gen_array_open(x->g);
	for (int i = 0; i < PQntuples(r); i++) {
		yajl_gen_map_open(x->g);
		gkey(x->g, "reason");
		gstrcol(x->g, r, i, 0);
		gcolkey(x->g, "count", r, i, 1);
		yajl_gen_map_close(x->g);
	}
	yajl_gen_array_close(x->g);
	yajl_gen_map_close(x->g);
	PQclear(r);
	return 0;
}

static int
pipeline(ctx_t *x)
{
	static const char *const kinds[] = { "opened", "won", "lost", "open" };
	PGresult *r = run(x, "pipeline", q_pipeline, 0, NULL, -1);

	if (r == NULL)
		return -1;
	gkey(x->g, "pipeline");
	yajl_gen_map_open(x->g);
	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		gkey(x->g, kinds[k]);
		yajl_gen_array_open(x->g);
		for (int i = 0; i < PQntuples(r); i++) {
			if (strcmp(PQgetvalue(r, i, 0), kinds[k]) != 0)
				continue;
			yajl_gen_map_open(x->g);
			gkey(x->g, "currency");
			gstrcol(x->g, r, i, 1);
			gcolkey(x->g, "deals", r, i, 2);
			gcolkey(x->g, "amount", r, i, 3);
			yajl_gen_map_close(x->g);
		}
		yajl_gen_array_close(x->g);
	}
	yajl_gen_map_close(x->g);
	PQclear(r);
	return 0;
}

static int
target(ctx_t *x, const cfg_t *cfg, const cfg_target_t *t)
{
	const char *team = t->has_team ? cfg->teams[t->team].name : NULL;
	char goal[40];
	const char *p[2];
	PGresult *r;

	snprintf(goal, sizeof(goal), "%.15g", t->min);
	yajl_gen_map_open(x->g);
	gkey(x->g, "name");
	gstr(x->g, t->name);
	gkey(x->g, "metric");
	gstr(x->g, metric_names[t->metric]);
	gkey(x->g, "period");
	gstr(x->g, period_names[t->period]);
	gkey(x->g, "team");
	gstr(x->g, team);
	gkey(x->g, "goal");
	yajl_gen_number(x->g, goal, strlen(goal));
	/*
	 * The week's value only means something against a weekly goal; the
	 * evaluations below show how day and month targets fared.
	 */
	if (t->period == PERIOD_WEEK) {
		p[0] = team;
		p[1] = goal;
		if ((r = run(x, t->name, q_metric[t->metric], 2, p, 1)) ==
		    NULL)
			return -1;
		gcolkey(x->g, "actual", r, 0, 0);
		gkey(x->g, "met");
		if (PQgetisnull(r, 0, 1))
			yajl_gen_null(x->g);
		else
			yajl_gen_bool(x->g, PQgetvalue(r, 0, 1)[0] == 't');
		PQclear(r);
	} else {
		gkey(x->g, "actual");
		yajl_gen_null(x->g);
		gkey(x->g, "met");
		yajl_gen_null(x->g);
	}
	p[0] = t->name;
	if ((r = run(x, t->name, q_evaluations, 1, p, -1)) == NULL)
		return -1;
	gkey(x->g, "evaluations");
	yajl_gen_array_open(x->g);
	for (int i = 0; i < PQntuples(r); i++) {
		yajl_gen_map_open(x->g);
		gkey(x->g, "period_start");
		gts(x->g, strtoll(PQgetvalue(r, i, 0), NULL, 10));
		gkey(x->g, "period_end");
		gts(x->g, strtoll(PQgetvalue(r, i, 1), NULL, 10));
		gcolkey(x->g, "actual", r, i, 2);
		gkey(x->g, "missed");
		yajl_gen_bool(x->g, PQgetvalue(r, i, 3)[0] == 't');
		yajl_gen_map_close(x->g);
	}
	yajl_gen_array_close(x->g);
	yajl_gen_map_close(x->g);
	PQclear(r);
	return 0;
}

static int
trend(ctx_t *x, const cal_tz_t *tz, report_week_t w)
{
	const char *bounds[REPORT_TREND_WEEKS + 1];
	char buf[REPORT_TREND_WEEKS + 1][TS_BUFLEN];
	report_week_t weeks[REPORT_TREND_WEEKS];
	ctx_t wide = *x;
	PGresult *r;
	sbuf_t arr;
	int row = 0;

	for (int i = 0; i < REPORT_TREND_WEEKS; i++) {
		weeks[i] = report_week_add(w, i - (REPORT_TREND_WEEKS - 1));
		ts_format(cal_tz_to_utc(tz, report_week_monday(weeks[i]), 0),
		    buf[i]);
		bounds[i] = buf[i];
	}
	ts_format(cal_tz_to_utc(tz, report_week_monday(w) + 7, 0),
	    buf[REPORT_TREND_WEEKS]);
	bounds[REPORT_TREND_WEEKS] = buf[REPORT_TREND_WEEKS];
	sbuf_init(&arr);
	pgcopy_array(&arr, bounds, REPORT_TREND_WEEKS + 1);
	/* The whole trend's range, not the week's, bounds this query. */
	memcpy(wide.from, buf[0], TS_BUFLEN);
	memcpy(wide.to, buf[REPORT_TREND_WEEKS], TS_BUFLEN);
	r = run(&wide, "trend", q_trend, 1, (const char *const *)&arr.s, -1);
	sbuf_free(&arr);
	if (r == NULL) {
		x->err = wide.err;
		return -1;
	}
	gkey(x->g, "trend");
	yajl_gen_array_open(x->g);
	for (int i = 0; i < REPORT_TREND_WEEKS; i++) {
		yajl_gen_map_open(x->g);
		gkey(x->g, "week");
		gweek(x->g, weeks[i]);
		gkey(x->g, "start");
		gstr(x->g, buf[i]);
		while (row < PQntuples(r) &&
		    atoi(PQgetvalue(r, row, 0)) < i + 1)
			row++;
		if (row < PQntuples(r) && atoi(PQgetvalue(r, row, 0)) == i + 1) {
			gcolkey(x->g, "mqls", r, row, 1);
			gcolkey(x->g, "touched", r, row, 2);
			gcolkey(x->g, "median_s", r, row, 3);
			gcolkey(x->g, "p90_s", r, row, 4);
		} else {
			gkey(x->g, "mqls");
			yajl_gen_integer(x->g, 0);
			gkey(x->g, "touched");
			yajl_gen_integer(x->g, 0);
			gkey(x->g, "median_s");
			yajl_gen_null(x->g);
			gkey(x->g, "p90_s");
			yajl_gen_null(x->g);
		}
		yajl_gen_map_close(x->g);
	}
	yajl_gen_array_close(x->g);
	PQclear(r);
	return 0;
}

static int
exec_cmd(PGconn *c, const char *sql, char **err)
{
	PGresult *r = PQexec(c, sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *m = PQresultErrorMessage(r);
		size_t n = m != NULL ? strlen(m) : 0;

		while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
			n--;
		*err = xasprintf("report: %s: %.*s", sql, (int)n,
		    n > 0 ? m : PQerrorMessage(c));
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/* The whole object, inside the transaction. */
static int
build(ctx_t *x, const cfg_t *cfg, const cal_tz_t *tz, report_week_t w,
    ts_t start, ts_t end, ts_t now)
{
	int64_t monday = report_week_monday(w);
	PGresult *mq;

	yajl_gen_map_open(x->g);
	gkey(x->g, "week");
	gweek(x->g, w);
	gkey(x->g, "zone");
	gstr(x->g, cal_tz_name(tz));
	gkey(x->g, "start");
	gts(x->g, start);
	gkey(x->g, "end");
	gts(x->g, end);
	gkey(x->g, "first_day");
	gday(x->g, monday);
	gkey(x->g, "last_day");
	gday(x->g, monday + 6);
	gkey(x->g, "clock");
	if (now != 0)
		gts(x->g, now);
	else
		yajl_gen_null(x->g);
	gkey(x->g, "complete");
	yajl_gen_bool(x->g, now >= end);

	if ((mq = run(x, "MQLs", q_mqls, 0, NULL, 1)) == NULL)
		return -1;
	if (funnel(x, mq) == -1) {
		PQclear(mq);
		return -1;
	}
	PQclear(mq);
	if (sla(x, cfg) == -1 || rejections(x) == -1)
		return -1;
	gkey(x->g, "targets");
	yajl_gen_array_open(x->g);
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (target(x, cfg, &cfg->targets[i]) == -1)
			return -1;
	yajl_gen_array_close(x->g);
	if (pipeline(x) == -1 || trend(x, tz, w) == -1)
		return -1;
	yajl_gen_map_close(x->g);
	return 0;
}

int
report_json(PGconn *c, const cfg_t *cfg, const report_week_t *wp, ts_t now,
    char **json, size_t *len, char **err)
{
	const char *zone = report_zone(cfg);
	cal_tz_t *tz;
	report_week_t w;
	ts_t start, end;
	ctx_t x;
	bool begun;
	int rc;

	*json = NULL;
	*err = NULL;
	if ((tz = cal_tz_load(zone, err)) == NULL)
		return -1;
	if (wp != NULL) {
		w = *wp;
	} else if (now == 0 && cfg->clock_mode == CLOCK_EVENT) {
		*err = xstrdup("week: no default week yet: the event clock "
		    "starts with the first event; give a week");
		cal_tz_destroy(&tz);
		return -1;
	} else {
		/* The local day of now, then the Monday a week before its
		 * week's Monday: the last week that has ended. */
		int64_t local = now / TS_USEC + cal_tz_offset(tz, now);
		int64_t day = local >= 0 ? local / 86400 :
		    -((-local + 86399) / 86400);

		w = report_week_add(report_week_of_day(day), -1);
	}
	start = cal_tz_to_utc(tz, report_week_monday(w), 0);
	end = cal_tz_to_utc(tz, report_week_monday(w) + 7, 0);

	memset(&x, 0, sizeof(x));
	x.c = c;
	ts_format(start, x.from);
	ts_format(end, x.to);
	x.g = yajl_gen_alloc(NULL);
	if (x.g == NULL)
		fatalx("yajl_gen_alloc: out of memory");
	yajl_gen_config(x.g, yajl_gen_validate_utf8, 1);

	/* One snapshot for every figure, and a bound on the time the
	 * daemon's loop waits for them. */
	begun = exec_cmd(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    err) == 0;
	rc = begun ? 0 : -1;
	/*
	 * The queries are many small index look-ups, for which compiling
	 * (jit) costs more than it saves: the planner's cost estimates of
	 * the views' subqueries would otherwise cross jit_above_cost. The
	 * batch session forbids sequential scans (store.c); the views'
	 * aggregates over a week or the whole history may want them.
	 */
	if (rc == 0 && (rc = exec_cmd(c, "SET LOCAL statement_timeout = '"
	    REPORT_STATEMENT_TIMEOUT "'", err)) == 0 &&
	    (rc = exec_cmd(c, "SET LOCAL jit = off", err)) == 0 &&
	    (rc = exec_cmd(c, "SET LOCAL enable_seqscan = on", err)) == 0) {
		rc = build(&x, cfg, tz, w, start, end, now);
		if (rc == -1)
			*err = x.err;
		else
			rc = exec_cmd(c, "COMMIT", err);
	}
	if (rc == -1 && begun) {
		PGresult *r = PQexec(c, "ROLLBACK");

		PQclear(r);
	} else if (rc == 0) {
		const unsigned char *buf;

		yajl_gen_get_buf(x.g, &buf, len);
		*json = xstrndup((const char *)buf, *len);
	}
	yajl_gen_free(x.g);
	cal_tz_destroy(&tz);
	return rc;
}
