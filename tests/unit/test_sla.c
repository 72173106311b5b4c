/*
 * Tests of the SLA core (daemon/sla.c) without a database: the states a
 * clock's cycles go through as its log is folded, the instants of their
 * warnings, breach and escalations in business time, and which alerts are
 * owed at a given time, lateness included. Clocks and calendars are built
 * here by hand, as config.c would build them: calendar 0 is open all the
 * time in UTC, calendar 1 is London, Monday to Friday 09:00-17:30, with the
 * 2026 August bank holiday (Monday 31st) closed. Every expected instant was
 * worked out by hand; the comments show the arithmetic.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/calendar.h"
#include "handoff/sla.h"
#include "handoff/util.h"
#include "testutil.h"

#define MIN (60 * TS_USEC)
#define H (60 * MIN)
#define LATE (30 * TS_USEC)
#define MAX_CYCLES 8

/*
 * The event types the test clocks use. Which types a clock uses is up to
 * its configuration; these are only names for the roles.
 */
#define EV_START EV_LEAD_QUALIFIED
#define EV_STOP EV_SALES_ACCEPTED
#define EV_CANCEL EV_LEAD_DISQUALIFIED
#define EV_PAUSE EV_DEAL_STAGE_CHANGED
#define EV_RESUME EV_SALES_ACTIVITY
#define EV_OTHER EV_LEAD_UPSERTED

#define CAL_ALWAYS 0
#define CAL_LONDON 1

/* ---- Helpers ------------------------------------------------------------ */

static cal_t *cals[2];
static cfg_calendar_t cal_cfgs[2];
static cfg_interval_t london_hours[1] = { { 9 * 60, 17 * 60 + 30 } };
static int64_t london_holidays[1];
static cfg_t cfg;

static ts_t
T(const char *s)
{
	ts_t t = 0;

	if (ts_parse_rfc3339(s, strlen(s), &t) != 0)
		fail_msg("bad timestamp in test: %s", s);
	return t;
}

/* An instant of Tuesday 2026-06-02 (UTC), the day of the 24x7 cases. */
#define D(hms) T("2026-06-02T" hms "Z")

static const char *
fmt(ts_t t)
{
	static char buf[8][TS_BUFLEN];
	static int n;
	char *b = buf[n++ % 8];

	if (t == 0)
		return "0 (unknown)";
	ts_format(t, b);
	return b;
}

#define assert_ts(got, want) do {					\
	ts_t got_ = (got), want_ = (want);				\
	if (got_ != want_)						\
		fail_msg("%s: got %s, want %s", #got, fmt(got_),	\
		    fmt(want_));					\
} while (0)

static int
setup(void **state)
{
	char *err = NULL;

	(void)state;
	memset(cal_cfgs, 0, sizeof(cal_cfgs));
	cal_cfgs[CAL_ALWAYS].name = (char *)"always";
	cal_cfgs[CAL_ALWAYS].timezone = (char *)"UTC";
	cal_cfgs[CAL_ALWAYS].always_open = true;
	cal_cfgs[CAL_LONDON].name = (char *)"emea";
	cal_cfgs[CAL_LONDON].timezone = (char *)"Europe/London";
	for (int d = 0; d < 5; d++) {
		cal_cfgs[CAL_LONDON].hours[d] = london_hours;
		cal_cfgs[CAL_LONDON].nhours[d] = 1;
	}
	london_holidays[0] = ts_days_from_civil(2026, 8, 31);
	cal_cfgs[CAL_LONDON].holidays = london_holidays;
	cal_cfgs[CAL_LONDON].nholidays = 1;
	for (size_t i = 0; i < ARRAY_LEN(cals); i++) {
		if ((cals[i] = cal_new(&cal_cfgs[i], &err)) == NULL) {
			fprintf(stderr, "cal_new %s: %s\n", cal_cfgs[i].name,
			    err);
			free(err);
			return -1;
		}
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.calendars = cal_cfgs;
	cfg.ncalendars = ARRAY_LEN(cal_cfgs);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cals); i++)
		cal_destroy(&cals[i]);
	return 0;
}

static double warn_half_3q[] = { 0.5, 0.75 };
static double warn_quarters[] = { 0.25, 0.5, 0.75 };
static double warn_half[] = { 0.5 };
static double warn_07[] = { 0.7 };
static cfg_escalation_t esc_basic[] = {
	{ 30 * 60, ESC_MANAGER, (char *)"manager" },
	{ 2 * 3600, ESC_RECIPIENT, (char *)"ops@example.com" },
};
static cfg_escalation_t esc_london[] = {
	{ 1 * 3600, ESC_MANAGER, (char *)"manager" },
	{ 8 * 3600, ESC_REASSIGN, (char *)"reassign" },
	{ 9 * 3600, ESC_RECIPIENT, (char *)"ops@example.com" },
};
static cfg_segment_goal_t seg_goals[] = {
	{ (char *)"enterprise", 4 * 3600 },
	{ (char *)"smb", 30 * 60 },
};

static cfg_clock_t
mkclock(int64_t goal_s, size_t calendar, double *warn, size_t nwarn,
    cfg_escalation_t *esc, size_t nesc)
{
	cfg_clock_t c;

	memset(&c, 0, sizeof(c));
	c.name = (char *)"first_response";
	c.start = EV_BIT(EV_START);
	c.stop = EV_BIT(EV_STOP);
	c.cancel = EV_BIT(EV_CANCEL);
	c.pause = EV_BIT(EV_PAUSE);
	c.resume = EV_BIT(EV_RESUME);
	c.goal_s = goal_s;
	c.calendar = calendar;
	c.warn_at = warn;
	c.nwarn_at = nwarn;
	c.escalate = esc;
	c.nescalate = nesc;
	return c;
}

/* 24x7, goal 1h, warnings at 0.5 and 0.75, escalations after 30m and 2h. */
static cfg_clock_t
basic_clock(void)
{
	return mkclock(3600, CAL_ALWAYS, warn_half_3q, 2, esc_basic, 2);
}

/* London hours, goal 2h, a warning at 0.5, escalations after 1h, 8h, 9h. */
static cfg_clock_t
london_clock(void)
{
	return mkclock(2 * 3600, CAL_LONDON, warn_half, 1, esc_london, 3);
}

typedef struct {
	ev_type_t type;
	ts_t at;
} step_t;

/*
 * Folds clock over the steps (already in log order), as the lead of the
 * given segment whose team has calendar team_cal.
 */
static size_t
fold_team(const cfg_clock_t *clock, size_t team_cal, const char *segment,
    const step_t *st, size_t nst, const sla_stored_t *stored,
    size_t nstored, ts_t now, sla_cycle_t *out, size_t max)
{
	recon_log_t log[32];
	char ids[32][16];

	if (nst > ARRAY_LEN(log))
		fail_msg("too many steps in test: %zu", nst);
	memset(log, 0, sizeof(log));
	for (size_t i = 0; i < nst; i++) {
		snprintf(ids[i], sizeof(ids[i]), "e%02zu", i);
		log[i].type = st[i].type;
		log[i].occurred_at = st[i].at;
		log[i].source = "crm";
		log[i].event_id = ids[i];
	}
	return sla_fold(&cfg, clock, cals, team_cal, segment, log, nst, stored,
	    nstored, now, out, max);
}

static size_t
fold(const cfg_clock_t *clock, const char *segment, const step_t *st,
    size_t nst, const sla_stored_t *stored, size_t nstored, ts_t now,
    sla_cycle_t *out)
{
	return fold_team(clock, CAL_ALWAYS, segment, st, nst, stored, nstored,
	    now, out, MAX_CYCLES);
}

/* Folds steps that must give exactly one cycle, and returns it. */
static sla_cycle_t
fold1(const cfg_clock_t *clock, const char *segment, const step_t *st,
    size_t nst, const sla_stored_t *stored, size_t nstored, ts_t now)
{
	sla_cycle_t out[MAX_CYCLES];
	size_t n = fold(clock, segment, st, nst, stored, nstored, now, out);

	if (n != 1)
		fail_msg("fold gave %zu cycles, want 1", n);
	return out[0];
}

static void
assert_state(const sla_cycle_t *c, sla_state_t want)
{
	if (c->state != want)
		fail_msg("cycle %d: state %d (%s), want %d (%s)", c->cycle,
		    (int)c->state, sla_state_name(c->state), (int)want,
		    sla_state_name(want));
}

static const char *
kind_name(sla_alert_kind_t k)
{
	switch (k) {
	case SLA_ALERT_WARNING:
		return "warning";
	case SLA_ALERT_BREACHED:
		return "breached";
	case SLA_ALERT_ESCALATED:
		return "escalated";
	case SLA_ALERT_RESOLVED:
		return "resolved";
	case SLA_ALERT_RETRACTED:
		return "retracted";
	}
	return "?";
}

static uint32_t
bit_of(sla_alert_kind_t k, int index)
{
	switch (k) {
	case SLA_ALERT_WARNING:
		return SLA_BIT_WARN(index);
	case SLA_ALERT_BREACHED:
		return SLA_BIT_BREACH;
	case SLA_ALERT_ESCALATED:
		return SLA_BIT_ESC(index);
	case SLA_ALERT_RESOLVED:
		return SLA_BIT_RESOLVED;
	case SLA_ALERT_RETRACTED:
		return SLA_BIT_RETRACTED;
	}
	fail_msg("unknown alert kind %d", (int)k);
	return 0;
}

typedef struct {
	sla_alert_kind_t kind;
	int index;
	ts_t at;
} want_t;

#define W(i, t) { SLA_ALERT_WARNING, (i), (t) }
#define BREACH(t) { SLA_ALERT_BREACHED, 0, (t) }
#define ESC(k, t) { SLA_ALERT_ESCALATED, (k), (t) }
#define RESOLVED(t) { SLA_ALERT_RESOLVED, 0, (t) }
#define RETRACTED(t) { SLA_ALERT_RETRACTED, 0, (t) }

/* The alerts owed at now are exactly want, in that order. */
static void
check_alerts(int line, const sla_cycle_t *c, ts_t now,
    int64_t lateness, size_t max, const want_t *want, size_t nwant)
{
	sla_alert_t got[SLA_MAX_WARN + SLA_MAX_ESC + 4];
	size_t n;

	if (max > ARRAY_LEN(got))
		max = ARRAY_LEN(got);
	n = sla_due_alerts(c, now, lateness, got, max);
	for (size_t i = 0; i < n && i < nwant; i++) {
		if (got[i].kind != want[i].kind || got[i].index != want[i].index ||
		    got[i].at != want[i].at)
			fail_msg("line %d: at %s alert %zu is %s[%d] at %s, "
			    "want %s[%d] at %s", line, fmt(now), i,
			    kind_name(got[i].kind), got[i].index,
			    fmt(got[i].at), kind_name(want[i].kind),
			    want[i].index, fmt(want[i].at));
		if (got[i].bit != bit_of(got[i].kind, got[i].index))
			fail_msg("line %d: alert %zu (%s) has bit %#x", line, i,
			    kind_name(got[i].kind), (unsigned)got[i].bit);
	}
	if (n != nwant)
		fail_msg("line %d: at %s %zu alerts owed, want %zu%s%s", line,
		    fmt(now), n, nwant, n > nwant ? "; the first extra is " :
		    "", n > nwant ? kind_name(got[nwant].kind) : "");
}

#define EXPECT_ALERTS(c, now, late, ...) do {				\
	const want_t w_[] = { __VA_ARGS__ };				\
	check_alerts(__LINE__, (c), (now), (late), SIZE_MAX, w_,	\
	    ARRAY_LEN(w_));						\
} while (0)
#define EXPECT_NO_ALERTS(c, now, late)					\
	check_alerts(__LINE__, (c), (now), (late), SIZE_MAX, NULL, 0)

/* Publishes (marks done) every alert owed at now; returns how many. */
static size_t
publish(sla_cycle_t *c, ts_t now, int64_t lateness)
{
	sla_alert_t al[SLA_MAX_WARN + SLA_MAX_ESC + 4];
	size_t n = sla_due_alerts(c, now, lateness, al, ARRAY_LEN(al));

	for (size_t i = 0; i < n; i++)
		c->done |= al[i].bit;
	return n;
}

/* Far enough ahead for every instant of the tests to have passed. */
#define FAR T("2027-01-01T00:00:00Z")

/* ---- Cycles: start, stop, cancel ---------------------------------------- */

static void
test_start_opens_cycle(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t none[] = { { EV_OTHER, D("09:00:00") },
		{ EV_STOP, D("09:30:00") }, { EV_PAUSE, D("09:40:00") } };
	const step_t ev[] = { { EV_OTHER, D("09:00:00") },
		{ EV_STOP, D("09:30:00") }, { EV_START, D("10:00:00") } };
	sla_cycle_t out[MAX_CYCLES], c;

	(void)state;
	/* Without a start there is no cycle, whatever else happened. */
	assert_int_equal(fold(&clk, NULL, none, ARRAY_LEN(none), NULL, 0,
	    D("12:00:00"), out), 0);

	/* A stop before the start (in log order) does not touch it. */
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("10:10:00"));
	assert_int_equal(c.cycle, 1);
	assert_state(&c, CYC_RUNNING);
	assert_string_equal(sla_state_name(c.state), "running");
	assert_ts(c.started_at, D("10:00:00"));
	assert_ts(c.stopped_at, 0);
	assert_int_equal(c.goal_us, H);
	assert_int_equal(c.calendar, CAL_ALWAYS);
	assert_int_equal(c.done, 0);
	assert_int_equal(c.elapsed_us, 10 * MIN);
	assert_ts(c.due_at, D("11:00:00"));
	assert_int_equal(c.nwarn, 2);
	assert_ts(c.warn_at[0], D("10:30:00"));
	assert_ts(c.warn_at[1], D("10:45:00"));
	assert_true(c.warn_frac[0] == 0.5 && c.warn_frac[1] == 0.75);
	assert_int_equal(c.nesc, 2);
	assert_ts(c.esc_at[0], D("11:30:00"));
	assert_ts(c.esc_at[1], D("13:00:00"));
	EXPECT_NO_ALERTS(&c, D("10:10:00"), 0);
	assert_ts(sla_next_alert(&c, 0), D("10:30:00"));
	assert_ts(sla_next_alert(&c, LATE), D("10:30:30"));

	/* Open at its due time: breached, and still open. */
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("11:00:00"));
	assert_state(&c, CYC_BREACHED);
	assert_ts(c.stopped_at, 0);
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("10:59:59"));
	assert_state(&c, CYC_RUNNING);
}

static void
test_start_while_open(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t ev[] = { { EV_START, D("10:00:00") },
		{ EV_START, D("10:20:00") }, { EV_START, D("10:50:00") } };
	/* A start while paused neither resumes it nor opens a cycle. */
	const step_t paused[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("10:10:00") }, { EV_START, D("10:20:00") },
		{ EV_RESUME, D("10:40:00") } };
	sla_cycle_t c;

	(void)state;
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("10:55:00"));
	assert_int_equal(c.cycle, 1);
	assert_ts(c.started_at, D("10:00:00"));
	assert_ts(c.due_at, D("11:00:00"));
	assert_int_equal(c.elapsed_us, 55 * MIN);

	c = fold1(&clk, NULL, paused, ARRAY_LEN(paused), NULL, 0,
	    D("10:50:00"));
	assert_state(&c, CYC_RUNNING);
	assert_int_equal(c.elapsed_us, 20 * MIN);
	assert_ts(c.due_at, D("11:30:00"));
}

static void
test_stop_met_or_resolved(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t early[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("10:20:00") } };
	const step_t at_due[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("11:00:00") } };
	const step_t late[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("11:10:00") } };
	sla_cycle_t c;

	(void)state;
	/* Before the first warning: met, and nothing is ever owed. */
	c = fold1(&clk, NULL, early, ARRAY_LEN(early), NULL, 0, D("12:00:00"));
	assert_state(&c, CYC_MET);
	assert_string_equal(sla_state_name(c.state), "met");
	assert_ts(c.stopped_at, D("10:20:00"));
	assert_int_equal(c.elapsed_us, 20 * MIN);
	/* A stopped cycle still shows where its due time was. */
	assert_ts(c.due_at, D("11:00:00"));
	EXPECT_NO_ALERTS(&c, FAR, 0);
	assert_ts(sla_next_alert(&c, 0), 0);
	assert_ts(sla_next_alert(&c, LATE), 0);

	/* Exactly at the due time: met, the warnings before it still owed. */
	c = fold1(&clk, NULL, at_due, ARRAY_LEN(at_due), NULL, 0,
	    D("12:00:00"));
	assert_state(&c, CYC_MET);
	assert_int_equal(c.elapsed_us, H);
	EXPECT_ALERTS(&c, FAR, 0, W(0, D("10:30:00")), W(1, D("10:45:00")));
	assert_int_equal(publish(&c, FAR, 0), 2);
	assert_ts(sla_next_alert(&c, 0), 0);
	EXPECT_NO_ALERTS(&c, FAR, 0);

	/* After it: breached, then resolved by the stop. */
	c = fold1(&clk, NULL, late, ARRAY_LEN(late), NULL, 0, D("12:00:00"));
	assert_state(&c, CYC_RESOLVED);
	assert_string_equal(sla_state_name(c.state), "breached");
	assert_ts(c.stopped_at, D("11:10:00"));
	assert_int_equal(c.elapsed_us, 70 * MIN);
	/* The escalation at 11:30 came after the stop: never owed. */
	EXPECT_ALERTS(&c, D("12:00:00"), 0, W(0, D("10:30:00")),
	    W(1, D("10:45:00")), BREACH(D("11:00:00")),
	    RESOLVED(D("11:10:00")));
	assert_int_equal(publish(&c, D("12:00:00"), 0), 4);
	assert_ts(sla_next_alert(&c, 0), 0);
	EXPECT_NO_ALERTS(&c, FAR, 0);
}

static void
test_cancel(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t before_warn[] = { { EV_START, D("10:00:00") },
		{ EV_CANCEL, D("10:20:00") } };
	const step_t after_warn[] = { { EV_START, D("10:00:00") },
		{ EV_CANCEL, D("10:40:00") } };
	const step_t at_due[] = { { EV_START, D("10:00:00") },
		{ EV_CANCEL, D("11:00:00") } };
	const step_t after_due[] = { { EV_START, D("10:00:00") },
		{ EV_CANCEL, D("11:40:00") } };
	sla_cycle_t c;

	(void)state;
	c = fold1(&clk, NULL, before_warn, ARRAY_LEN(before_warn), NULL, 0,
	    D("12:00:00"));
	assert_state(&c, CYC_CANCELLED);
	assert_string_equal(sla_state_name(c.state), "cancelled");
	assert_ts(c.stopped_at, D("10:20:00"));
	EXPECT_NO_ALERTS(&c, FAR, 0);
	assert_ts(sla_next_alert(&c, LATE), 0);

	/*
	 * A warning that fell due before the cancel stays owed: it was owed
	 * before the cancel happened, whatever order the events arrive in.
	 */
	c = fold1(&clk, NULL, after_warn, ARRAY_LEN(after_warn), NULL, 0,
	    D("12:00:00"));
	assert_state(&c, CYC_CANCELLED);
	EXPECT_ALERTS(&c, FAR, 0, W(0, D("10:30:00")));

	c = fold1(&clk, NULL, at_due, ARRAY_LEN(at_due), NULL, 0,
	    D("12:00:00"));
	assert_state(&c, CYC_CANCELLED);
	EXPECT_ALERTS(&c, FAR, 0, W(0, D("10:30:00")), W(1, D("10:45:00")));

	/* Cancelled after the due time: the breach is resolved. */
	c = fold1(&clk, NULL, after_due, ARRAY_LEN(after_due), NULL, 0,
	    D("12:00:00"));
	assert_state(&c, CYC_RESOLVED);
	EXPECT_ALERTS(&c, FAR, 0, W(0, D("10:30:00")), W(1, D("10:45:00")),
	    BREACH(D("11:00:00")), ESC(0, D("11:30:00")),
	    RESOLVED(D("11:40:00")));
}

static void
test_second_cycle(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t ev[] = {
		{ EV_START, D("10:00:00") },
		{ EV_STOP, D("10:20:00") },
		/* No cycle is open: these change nothing. */
		{ EV_STOP, D("10:30:00") },
		{ EV_PAUSE, D("10:40:00") },
		{ EV_CANCEL, D("10:50:00") },
		{ EV_START, D("12:00:00") },
		{ EV_START, D("12:10:00") },
		{ EV_CANCEL, D("12:20:00") },
		{ EV_START, D("14:00:00") },
	};
	sla_cycle_t out[MAX_CYCLES];
	size_t n;

	(void)state;
	n = fold(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("14:30:00"), out);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].cycle, 1);
	assert_state(&out[0], CYC_MET);
	assert_ts(out[0].stopped_at, D("10:20:00"));
	assert_int_equal(out[1].cycle, 2);
	assert_state(&out[1], CYC_CANCELLED);
	assert_ts(out[1].started_at, D("12:00:00"));
	assert_ts(out[1].stopped_at, D("12:20:00"));
	assert_ts(out[1].due_at, D("13:00:00"));
	assert_int_equal(out[2].cycle, 3);
	assert_state(&out[2], CYC_RUNNING);
	assert_ts(out[2].started_at, D("14:00:00"));
	assert_ts(out[2].due_at, D("15:00:00"));
	assert_int_equal(out[2].elapsed_us, 30 * MIN);

	/* At most max cycles are written. */
	n = fold_team(&clk, CAL_ALWAYS, NULL, ev, ARRAY_LEN(ev), NULL, 0,
	    D("14:30:00"), out, 2);
	assert_int_equal(n, 2);
	assert_int_equal(out[1].cycle, 2);
}

/* ---- Pauses ------------------------------------------------------------- */

static void
test_pause_resume_moves_due(void **state)
{
	cfg_clock_t clk = basic_clock();
	cfg_clock_t ldn = mkclock(4 * 3600, CAL_LONDON, NULL, 0, NULL, 0);
	/* 10 minutes, 30 paused, then the remaining 50. */
	const step_t ev[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("10:10:00") },
		{ EV_PAUSE, D("10:20:00") },   /* already paused */
		{ EV_RESUME, D("10:40:00") },
		{ EV_RESUME, D("10:45:00") } }; /* already running */
	/*
	 * London, Tuesday 2 June 2026 (BST, UTC+1), goal 4h: started 16:00,
	 * due Wednesday 11:30 (1.5h on Tuesday, 2.5h on Wednesday). Paused
	 * 17:00 Tuesday to 10:00 Wednesday, i.e. 1.5h of open time (17:00-
	 * 17:30 and 09:00-10:00): due 1.5h later, at 13:00.
	 */
	const step_t lon_plain[] = {
		{ EV_START, T("2026-06-02T15:00:00Z") } };
	const step_t lon[] = {
		{ EV_START, T("2026-06-02T15:00:00Z") },
		{ EV_PAUSE, T("2026-06-02T16:00:00Z") },
		{ EV_RESUME, T("2026-06-03T09:00:00Z") } };
	sla_cycle_t c;

	(void)state;
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("10:50:00"));
	assert_state(&c, CYC_RUNNING);
	assert_int_equal(c.elapsed_us, 20 * MIN);
	assert_ts(c.warn_at[0], D("11:00:00"));
	assert_ts(c.warn_at[1], D("11:15:00"));
	assert_ts(c.due_at, D("11:30:00"));
	assert_ts(c.esc_at[0], D("12:00:00"));
	assert_ts(c.esc_at[1], D("13:30:00"));

	c = fold1(&ldn, NULL, lon_plain, ARRAY_LEN(lon_plain), NULL, 0,
	    T("2026-06-02T15:30:00Z"));
	assert_int_equal(c.calendar, CAL_LONDON);
	assert_ts(c.due_at, T("2026-06-03T10:30:00Z"));
	c = fold1(&ldn, NULL, lon, ARRAY_LEN(lon), NULL, 0,
	    T("2026-06-03T10:00:00Z"));
	assert_state(&c, CYC_RUNNING);
	assert_ts(c.due_at, T("2026-06-03T12:00:00Z"));
	/* One hour on Tuesday, one on Wednesday from 10:00. */
	assert_int_equal(c.elapsed_us, 2 * H);
}

static void
test_paused_instants_unknown(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t early[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("10:20:00") } };
	const step_t resumed[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("10:20:00") }, { EV_RESUME, D("11:00:00") } };
	const step_t mid[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("10:35:00") } };
	const step_t after_due[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("11:10:00") } };
	const step_t stopped[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("10:20:00") }, { EV_STOP, D("11:50:00") } };
	sla_cycle_t c;

	(void)state;
	c = fold1(&clk, NULL, early, ARRAY_LEN(early), NULL, 0, D("10:50:00"));
	assert_state(&c, CYC_PAUSED);
	assert_string_equal(sla_state_name(c.state), "paused");
	assert_int_equal(c.elapsed_us, 20 * MIN);
	assert_ts(c.due_at, 0);
	assert_ts(c.warn_at[0], 0);
	assert_ts(c.warn_at[1], 0);
	assert_ts(c.esc_at[0], 0);
	assert_ts(c.esc_at[1], 0);
	assert_ts(sla_next_alert(&c, 0), 0);
	assert_ts(sla_next_alert(&c, LATE), 0);
	EXPECT_NO_ALERTS(&c, FAR, 0);
	/* However long it stays paused, it is never breached. */
	c = fold1(&clk, NULL, early, ARRAY_LEN(early), NULL, 0, FAR);
	assert_state(&c, CYC_PAUSED);

	/* A resume makes them known again, 40 minutes later. */
	c = fold1(&clk, NULL, resumed, ARRAY_LEN(resumed), NULL, 0,
	    D("11:05:00"));
	assert_state(&c, CYC_RUNNING);
	assert_ts(c.warn_at[0], D("11:10:00"));
	assert_ts(c.warn_at[1], D("11:25:00"));
	assert_ts(c.due_at, D("11:40:00"));

	/* Paused between the warnings: the first is known and owed. */
	c = fold1(&clk, NULL, mid, ARRAY_LEN(mid), NULL, 0, D("10:50:00"));
	assert_state(&c, CYC_PAUSED);
	assert_ts(c.warn_at[0], D("10:30:00"));
	assert_ts(c.warn_at[1], 0);
	assert_ts(c.due_at, 0);
	assert_ts(sla_next_alert(&c, LATE), D("10:30:30"));
	EXPECT_ALERTS(&c, FAR, LATE, W(0, D("10:30:00")));
	assert_int_equal(publish(&c, FAR, LATE), 1);
	assert_ts(sla_next_alert(&c, LATE), 0);

	/* Paused after the due time: still breached; escalations unknown. */
	c = fold1(&clk, NULL, after_due, ARRAY_LEN(after_due), NULL, 0,
	    D("12:00:00"));
	assert_state(&c, CYC_BREACHED);
	assert_ts(c.due_at, D("11:00:00"));
	assert_ts(c.esc_at[0], 0);
	assert_ts(c.esc_at[1], 0);
	EXPECT_ALERTS(&c, FAR, 0, W(0, D("10:30:00")), W(1, D("10:45:00")),
	    BREACH(D("11:00:00")));

	/* Stopped while paused before the due time: met. */
	c = fold1(&clk, NULL, stopped, ARRAY_LEN(stopped), NULL, 0,
	    D("12:00:00"));
	assert_state(&c, CYC_MET);
	assert_ts(c.stopped_at, D("11:50:00"));
	assert_ts(c.due_at, 0);
	assert_int_equal(c.elapsed_us, 20 * MIN);
	EXPECT_NO_ALERTS(&c, FAR, 0);
	assert_ts(sla_next_alert(&c, 0), 0);
}

/* ---- Instants ----------------------------------------------------------- */

static void
test_warnings_in_order(void **state)
{
	cfg_clock_t clk = mkclock(3600, CAL_ALWAYS, warn_quarters, 3, NULL, 0);
	const step_t ev[] = { { EV_START, D("10:00:00") } };
	sla_cycle_t c;

	(void)state;
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("10:00:00"));
	assert_int_equal(c.nwarn, 3);
	assert_ts(c.warn_at[0], D("10:15:00"));
	assert_ts(c.warn_at[1], D("10:30:00"));
	assert_ts(c.warn_at[2], D("10:45:00"));
	assert_true(c.warn_frac[0] == 0.25 && c.warn_frac[1] == 0.5 &&
	    c.warn_frac[2] == 0.75);
	assert_int_equal(c.nesc, 0);

	EXPECT_NO_ALERTS(&c, D("10:15:00") - 1, 0);
	EXPECT_ALERTS(&c, D("10:15:00"), 0, W(0, D("10:15:00")));
	/* Owed together, they come in the order of their fractions. */
	EXPECT_ALERTS(&c, D("10:50:00"), 0, W(0, D("10:15:00")),
	    W(1, D("10:30:00")), W(2, D("10:45:00")));
	EXPECT_ALERTS(&c, FAR, 0, W(0, D("10:15:00")), W(1, D("10:30:00")),
	    W(2, D("10:45:00")), BREACH(D("11:00:00")));
	/* Each only once. */
	assert_int_equal(publish(&c, D("10:15:00"), 0), 1);
	EXPECT_ALERTS(&c, D("10:50:00"), 0, W(1, D("10:30:00")),
	    W(2, D("10:45:00")));
	c.done |= SLA_BIT_WARN(2);
	EXPECT_ALERTS(&c, D("10:50:00"), 0, W(1, D("10:30:00")));
	assert_ts(sla_next_alert(&c, 0), D("10:30:00"));

	/*
	 * 0.7 x 24h is 16h48m exactly, though 0.7 x 86400e6 in floating
	 * point is a hair under 60480e6: the instant must not be one
	 * microsecond early.
	 */
	clk = mkclock(86400, CAL_ALWAYS, warn_07, 1, NULL, 0);
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("10:00:00"));
	assert_ts(c.warn_at[0], T("2026-06-03T02:48:00Z"));
	EXPECT_NO_ALERTS(&c, T("2026-06-03T02:48:00Z") - 1, 0);
}

static void
test_escalations_in_business_time(void **state)
{
	cfg_clock_t clk = london_clock();
	/*
	 * Friday 28 August 2026, 16:00 BST (15:00Z). Open until 17:30 on
	 * Friday (1.5h); Saturday, Sunday and Monday 31st (the holiday) are
	 * closed; Tuesday and Wednesday open 09:00-17:30 (08:00-16:30Z).
	 *   warning 0.5 = 1h:  Friday 17:00         16:00Z
	 *   due 2h:            Tuesday 09:30        08:30Z
	 *   level 1, 2h+1h:    Tuesday 10:30        09:30Z
	 *   level 2, 2h+8h:    Tuesday 17:30        16:30Z (at the close)
	 *   level 3, 2h+9h:    Wednesday 10:00      09:00Z
	 */
	const step_t ev[] = { { EV_START, T("2026-08-28T15:00:00Z") } };
	/* Started on Saturday: counts from Tuesday's opening. */
	const step_t closed[] = { { EV_START, T("2026-08-29T11:00:00Z") } };
	sla_cycle_t c;

	(void)state;
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0,
	    T("2026-08-31T12:00:00Z"));
	assert_int_equal(c.calendar, CAL_LONDON);
	assert_state(&c, CYC_RUNNING);
	assert_int_equal(c.elapsed_us, 90 * MIN);
	assert_ts(c.warn_at[0], T("2026-08-28T16:00:00Z"));
	assert_ts(c.due_at, T("2026-09-01T08:30:00Z"));
	assert_int_equal(c.nesc, 3);
	assert_ts(c.esc_at[0], T("2026-09-01T09:30:00Z"));
	assert_ts(c.esc_at[1], T("2026-09-01T16:30:00Z"));
	assert_ts(c.esc_at[2], T("2026-09-02T09:00:00Z"));

	EXPECT_ALERTS(&c, T("2026-09-01T16:30:00Z") - 1, 0,
	    W(0, T("2026-08-28T16:00:00Z")),
	    BREACH(T("2026-09-01T08:30:00Z")),
	    ESC(0, T("2026-09-01T09:30:00Z")));
	EXPECT_ALERTS(&c, T("2026-09-02T12:00:00Z"), 0,
	    W(0, T("2026-08-28T16:00:00Z")),
	    BREACH(T("2026-09-01T08:30:00Z")),
	    ESC(0, T("2026-09-01T09:30:00Z")),
	    ESC(1, T("2026-09-01T16:30:00Z")),
	    ESC(2, T("2026-09-02T09:00:00Z")));

	c = fold1(&clk, NULL, closed, ARRAY_LEN(closed), NULL, 0,
	    T("2026-08-31T12:00:00Z"));
	assert_int_equal(c.elapsed_us, 0);
	assert_ts(c.warn_at[0], T("2026-09-01T09:00:00Z"));
	assert_ts(c.due_at, T("2026-09-01T10:00:00Z"));
	assert_ts(c.esc_at[0], T("2026-09-01T11:00:00Z"));
	/* 2h+8h = 10h: 8.5h on Tuesday, 1.5h on Wednesday. */
	assert_ts(c.esc_at[1], T("2026-09-02T09:30:00Z"));
	assert_ts(c.esc_at[2], T("2026-09-02T10:30:00Z"));
}

static void
test_goal_by_segment(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t ev[] = { { EV_START, D("10:00:00") } };
	sla_cycle_t c;

	(void)state;
	clk.segment_goals = seg_goals;
	clk.nsegment_goals = ARRAY_LEN(seg_goals);

	c = fold1(&clk, "smb", ev, ARRAY_LEN(ev), NULL, 0, D("10:00:00"));
	assert_int_equal(c.goal_us, 30 * MIN);
	assert_ts(c.warn_at[0], D("10:15:00"));
	assert_ts(c.warn_at[1], D("10:22:30"));
	assert_ts(c.due_at, D("10:30:00"));
	assert_ts(c.esc_at[0], D("11:00:00"));
	assert_ts(c.esc_at[1], D("12:30:00"));

	c = fold1(&clk, "enterprise", ev, ARRAY_LEN(ev), NULL, 0,
	    D("10:00:00"));
	assert_int_equal(c.goal_us, 4 * H);
	assert_ts(c.due_at, D("14:00:00"));

	/* A segment the clock has no goal for, or none: the default. */
	c = fold1(&clk, "startup", ev, ARRAY_LEN(ev), NULL, 0, D("10:00:00"));
	assert_int_equal(c.goal_us, H);
	assert_ts(c.due_at, D("11:00:00"));
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("10:00:00"));
	assert_int_equal(c.goal_us, H);
}

static void
test_team_calendar(void **state)
{
	cfg_clock_t clk = basic_clock();
	/* Tuesday 2 June 2026, 17:00 BST: 30 minutes left that day. */
	const step_t ev[] = { { EV_START, T("2026-06-02T16:00:00Z") } };
	sla_cycle_t out[MAX_CYCLES];

	(void)state;
	clk.calendar_team = true;
	clk.calendar = CAL_ALWAYS;
	assert_int_equal(fold_team(&clk, CAL_LONDON, NULL, ev, ARRAY_LEN(ev),
	    NULL, 0, T("2026-06-02T16:00:00Z"), out, MAX_CYCLES), 1);
	assert_int_equal(out[0].calendar, CAL_LONDON);
	assert_ts(out[0].due_at, T("2026-06-03T08:30:00Z"));
	assert_int_equal(fold_team(&clk, CAL_ALWAYS, NULL, ev, ARRAY_LEN(ev),
	    NULL, 0, T("2026-06-02T16:00:00Z"), out, MAX_CYCLES), 1);
	assert_int_equal(out[0].calendar, CAL_ALWAYS);
	assert_ts(out[0].due_at, T("2026-06-02T17:00:00Z"));
}

/* ---- Refolds: what a stored cycle started with -------------------------- */

static void
test_stored_cycle_kept(void **state)
{
	cfg_clock_t v1 = basic_clock();
	cfg_clock_t v2 = london_clock();
	/* Tuesday 2 June 2026, 16:00 BST. */
	const step_t open[] = { { EV_START, T("2026-06-02T15:00:00Z") } };
	const step_t two[] = { { EV_START, T("2026-06-02T15:00:00Z") },
		{ EV_STOP, T("2026-06-02T15:20:00Z") },
		{ EV_START, T("2026-06-02T15:30:00Z") } };
	sla_cycle_t before, after, out[MAX_CYCLES];
	sla_stored_t st;
	size_t n;

	(void)state;
	before = fold1(&v1, "smb", open, ARRAY_LEN(open), NULL, 0,
	    T("2026-06-02T15:40:00Z"));
	assert_ts(before.due_at, T("2026-06-02T16:00:00Z"));
	assert_int_equal(publish(&before, T("2026-06-02T15:40:00Z"), 0), 1);
	assert_int_equal(before.done, SLA_BIT_WARN(0));
	st.cycle = before.cycle;
	st.goal_us = before.goal_us;
	st.calendar = before.calendar;
	st.done = before.done;

	/*
	 * A reload changes the goal (2h, and segment goals), the calendar
	 * (London) and the warnings: the open cycle keeps its goal, its
	 * calendar and what it published. The warnings and escalations are
	 * the configuration's (the stored cycle does not carry them).
	 */
	v2.segment_goals = seg_goals;
	v2.nsegment_goals = ARRAY_LEN(seg_goals);
	after = fold1(&v2, "enterprise", open, ARRAY_LEN(open), &st, 1,
	    T("2026-06-02T15:40:00Z"));
	assert_int_equal(after.cycle, 1);
	assert_int_equal(after.goal_us, H);
	assert_int_equal(after.calendar, CAL_ALWAYS);
	assert_int_equal(after.done, SLA_BIT_WARN(0));
	assert_ts(after.due_at, before.due_at);
	assert_ts(after.started_at, before.started_at);
	assert_int_equal(after.elapsed_us, before.elapsed_us);
	EXPECT_NO_ALERTS(&after, T("2026-06-02T15:40:00Z"), 0);

	/*
	 * The stored values belong to cycle 1 only: cycle 2 starts under the
	 * new configuration (goal 4h for "enterprise", London hours: 1h on
	 * Tuesday until 17:30 BST, then 3h from Wednesday 09:00 BST).
	 */
	n = fold(&v2, "enterprise", two, ARRAY_LEN(two), &st, 1,
	    T("2026-06-02T15:40:00Z"), out);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].goal_us, H);
	assert_int_equal(out[0].calendar, CAL_ALWAYS);
	assert_int_equal(out[0].done, SLA_BIT_WARN(0));
	assert_state(&out[0], CYC_MET);
	assert_int_equal(out[1].cycle, 2);
	assert_int_equal(out[1].goal_us, 4 * H);
	assert_int_equal(out[1].calendar, CAL_LONDON);
	assert_int_equal(out[1].done, 0);
	assert_ts(out[1].due_at, T("2026-06-03T11:00:00Z"));

	/* A stored cycle 2 applies to cycle 2, not to cycle 1. */
	st.cycle = 2;
	st.goal_us = 2 * H;
	st.calendar = CAL_ALWAYS;
	st.done = SLA_BIT_WARN(0);
	n = fold(&v1, NULL, two, ARRAY_LEN(two), &st, 1,
	    T("2026-06-02T15:40:00Z"), out);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].goal_us, H);
	assert_int_equal(out[0].done, 0);
	assert_int_equal(out[1].goal_us, 2 * H);
	assert_int_equal(out[1].done, SLA_BIT_WARN(0));
	assert_ts(out[1].due_at, T("2026-06-02T17:30:00Z"));
}

/* ---- Lateness, retraction, resolution ----------------------------------- */

static void
test_lateness(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t open[] = { { EV_START, D("10:00:00") } };
	/* Accepted at 10:59 for 11:00; the event arrives at 11:00:20. */
	const step_t late_stop[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("10:59:00") } };
	sla_cycle_t c;

	(void)state;
	c = fold1(&clk, NULL, open, ARRAY_LEN(open), NULL, 0, D("11:00:20"));
	EXPECT_NO_ALERTS(&c, D("10:30:30") - 1, LATE);
	EXPECT_ALERTS(&c, D("10:30:30"), LATE, W(0, D("10:30:00")));
	c.done = SLA_BIT_WARN(0) | SLA_BIT_WARN(1);
	/* The cycle is breached at 11:00, but not published before 11:00:30. */
	assert_state(&c, CYC_BREACHED);
	EXPECT_NO_ALERTS(&c, D("11:00:30") - 1, LATE);
	assert_ts(sla_next_alert(&c, LATE), D("11:00:30"));
	EXPECT_ALERTS(&c, D("11:00:30"), LATE, BREACH(D("11:00:00")));

	/* The stop arrived within the lateness: no breach, ever. */
	c = fold1(&clk, NULL, late_stop, ARRAY_LEN(late_stop), NULL, 0,
	    D("11:00:20"));
	c.done = SLA_BIT_WARN(0) | SLA_BIT_WARN(1);
	assert_state(&c, CYC_MET);
	EXPECT_NO_ALERTS(&c, D("11:00:30"), LATE);
	EXPECT_NO_ALERTS(&c, FAR, LATE);
	assert_ts(sla_next_alert(&c, LATE), 0);
}

static void
test_retraction(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t stop_before[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("10:59:00") } };
	const step_t stop_at_due[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("11:00:00") } };
	const step_t cancel_before[] = { { EV_START, D("10:00:00") },
		{ EV_CANCEL, D("10:50:00") } };
	const step_t stop_after[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("11:05:00") } };
	const step_t paused_stop[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("10:40:00") }, { EV_STOP, D("11:20:00") } };
	sla_stored_t st = { 1, H, CAL_ALWAYS,
		SLA_BIT_WARN(0) | SLA_BIT_WARN(1) | SLA_BIT_BREACH };
	sla_cycle_t c;

	(void)state;
	/*
	 * The breach was published at 11:00:30; the stop of 10:59 arrives
	 * at 11:00:50. The cycle was met: the breach is retracted, once.
	 */
	c = fold1(&clk, NULL, stop_before, ARRAY_LEN(stop_before), &st, 1,
	    D("11:00:50"));
	assert_state(&c, CYC_MET);
	assert_int_equal(c.done, st.done);
	EXPECT_ALERTS(&c, D("11:00:50"), LATE, RETRACTED(D("10:59:00")));
	assert_int_equal(publish(&c, D("11:00:50"), LATE), 1);
	assert_true(c.done & SLA_BIT_RETRACTED);
	EXPECT_NO_ALERTS(&c, D("11:00:50"), LATE);
	EXPECT_NO_ALERTS(&c, FAR, LATE);
	assert_ts(sla_next_alert(&c, LATE), 0);
	/* A refold with the retraction stored does not retract again. */
	st.done |= SLA_BIT_RETRACTED;
	c = fold1(&clk, NULL, stop_before, ARRAY_LEN(stop_before), &st, 1,
	    D("11:05:00"));
	EXPECT_NO_ALERTS(&c, FAR, LATE);
	st.done &= ~SLA_BIT_RETRACTED;

	/* A stop exactly at the due time was in time too. */
	c = fold1(&clk, NULL, stop_at_due, ARRAY_LEN(stop_at_due), &st, 1,
	    D("11:00:50"));
	assert_state(&c, CYC_MET);
	EXPECT_ALERTS(&c, D("11:00:50"), LATE, RETRACTED(D("11:00:00")));

	/* So was a cancel before it. */
	c = fold1(&clk, NULL, cancel_before, ARRAY_LEN(cancel_before), &st, 1,
	    D("11:00:50"));
	assert_state(&c, CYC_CANCELLED);
	EXPECT_ALERTS(&c, D("11:00:50"), LATE, RETRACTED(D("10:50:00")));

	/* A late pause then a stop: met, the due time never came. */
	c = fold1(&clk, NULL, paused_stop, ARRAY_LEN(paused_stop), &st, 1,
	    D("11:30:00"));
	assert_state(&c, CYC_MET);
	assert_ts(c.due_at, 0);
	EXPECT_ALERTS(&c, D("11:30:00"), LATE, RETRACTED(D("11:20:00")));

	/*
	 * Escalated too: only the breach is retracted, and nothing else is
	 * owed (no resolution of a breach that did not happen).
	 */
	st.done |= SLA_BIT_ESC(0);
	c = fold1(&clk, NULL, stop_before, ARRAY_LEN(stop_before), &st, 1,
	    D("12:00:00"));
	EXPECT_ALERTS(&c, FAR, LATE, RETRACTED(D("10:59:00")));
	st.done &= ~SLA_BIT_ESC(0);

	/* A stop after the due time confirms the breach: resolved. */
	c = fold1(&clk, NULL, stop_after, ARRAY_LEN(stop_after), &st, 1,
	    D("11:05:00"));
	assert_state(&c, CYC_RESOLVED);
	EXPECT_NO_ALERTS(&c, D("11:05:30") - 1, LATE);
	EXPECT_ALERTS(&c, D("11:05:30"), LATE, RESOLVED(D("11:05:00")));

	/* Without a published breach there is nothing to retract. */
	st.done = SLA_BIT_WARN(0) | SLA_BIT_WARN(1);
	c = fold1(&clk, NULL, stop_before, ARRAY_LEN(stop_before), &st, 1,
	    D("11:00:50"));
	EXPECT_NO_ALERTS(&c, FAR, LATE);
}

static void
test_resolved_after_breach(void **state)
{
	cfg_clock_t clk = basic_clock();
	const step_t ev[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("11:10:00") } };
	/* Stopped one microsecond after the due time. */
	const step_t just[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("11:00:00") + 1 } };
	const step_t escalated[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("12:00:00") } };
	sla_cycle_t c;

	(void)state;
	c = fold1(&clk, NULL, ev, ARRAY_LEN(ev), NULL, 0, D("12:00:00"));
	/* With room for only three, the resolution waits for its breach. */
	{
		const want_t w[] = { W(0, D("10:30:00")), W(1, D("10:45:00")),
			BREACH(D("11:00:00")) };

		check_alerts(__LINE__, &c, D("12:00:00"), 0, 3, w,
		    ARRAY_LEN(w));
	}
	c.done = SLA_BIT_WARN(0) | SLA_BIT_WARN(1);
	EXPECT_ALERTS(&c, D("11:10:30") - 1, LATE, BREACH(D("11:00:00")));
	assert_ts(sla_next_alert(&c, LATE), D("11:00:30"));
	/* Both owed: the breach first, in the same call. */
	EXPECT_ALERTS(&c, D("11:10:30"), LATE, BREACH(D("11:00:00")),
	    RESOLVED(D("11:10:00")));
	c.done |= SLA_BIT_BREACH;
	assert_ts(sla_next_alert(&c, LATE), D("11:10:30"));
	EXPECT_NO_ALERTS(&c, D("11:10:30") - 1, LATE);
	EXPECT_ALERTS(&c, D("11:10:30"), LATE, RESOLVED(D("11:10:00")));
	c.done |= SLA_BIT_RESOLVED;
	EXPECT_NO_ALERTS(&c, FAR, LATE);
	assert_ts(sla_next_alert(&c, LATE), 0);

	/* Resolved one microsecond after the breach is owed, not with it. */
	c = fold1(&clk, NULL, just, ARRAY_LEN(just), NULL, 0, D("11:01:00"));
	assert_state(&c, CYC_RESOLVED);
	c.done = SLA_BIT_WARN(0) | SLA_BIT_WARN(1);
	EXPECT_NO_ALERTS(&c, D("11:00:30") - 1, LATE);
	EXPECT_ALERTS(&c, D("11:00:30"), LATE, BREACH(D("11:00:00")));
	c.done |= SLA_BIT_BREACH;
	EXPECT_NO_ALERTS(&c, D("11:00:30"), LATE);
	EXPECT_ALERTS(&c, D("11:00:30") + 1, LATE,
	    RESOLVED(D("11:00:00") + 1));

	/*
	 * A fold never gives a resolved cycle without a due time, but the
	 * shell also rebuilds cycles from stored rows: without a breach
	 * published or owed, there is nothing to resolve.
	 */
	c.done = SLA_BIT_WARN(0) | SLA_BIT_WARN(1);
	c.due_at = 0;
	EXPECT_NO_ALERTS(&c, FAR, LATE);

	/* An escalation before the stop comes before the resolution. */
	c = fold1(&clk, NULL, escalated, ARRAY_LEN(escalated), NULL, 0,
	    D("12:30:00"));
	EXPECT_ALERTS(&c, D("12:30:00"), 0, W(0, D("10:30:00")),
	    W(1, D("10:45:00")), BREACH(D("11:00:00")),
	    ESC(0, D("11:30:00")), RESOLVED(D("12:00:00")));
}

/* ---- sla_next_alert against sla_due_alerts ------------------------------ */

/*
 * Publishes c's alerts one instant at a time, from sla_next_alert: at each
 * instant something is owed, one microsecond before it nothing is, and the
 * next instant is later. Returns how many alerts were published.
 */
static size_t
walk(const char *what, sla_cycle_t c, int64_t lateness)
{
	sla_alert_t last[1];
	size_t total = 0;
	ts_t t, prev = 0;
	int steps = 0;

	(void)publish(&c, c.started_at, lateness);
	while ((t = sla_next_alert(&c, lateness)) != 0) {
		sla_alert_t al[SLA_MAX_WARN + SLA_MAX_ESC + 4];
		size_t n;
		bool exact = false;

		if (++steps > 32)
			fail_msg("%s: sla_next_alert does not settle", what);
		if (t <= prev)
			fail_msg("%s: next alert %s not after %s", what,
			    fmt(t), fmt(prev));
		n = sla_due_alerts(&c, t - 1, lateness, al, ARRAY_LEN(al));
		if (n != 0)
			fail_msg("%s: %zu alerts owed at %s, before the next "
			    "(%s), the first %s", what, n, fmt(t - 1), fmt(t),
			    kind_name(al[0].kind));
		n = sla_due_alerts(&c, t, lateness, al, ARRAY_LEN(al));
		if (n == 0)
			fail_msg("%s: nothing owed at the next alert %s",
			    what, fmt(t));
		for (size_t i = 0; i < n; i++) {
			if (al[i].at + lateness > t)
				fail_msg("%s: %s at %s owed early at %s", what,
				    kind_name(al[i].kind), fmt(al[i].at),
				    fmt(t));
			if (al[i].at + lateness == t)
				exact = true;
			c.done |= al[i].bit;
		}
		if (!exact)
			fail_msg("%s: no alert owed exactly at %s", what,
			    fmt(t));
		total += n;
		prev = t;
	}
	if (sla_due_alerts(&c, FAR, lateness, last, ARRAY_LEN(last)) != 0)
		fail_msg("%s: alerts owed after sla_next_alert gave 0", what);
	return total;
}

static void
test_next_alert_consistent(void **state)
{
	cfg_clock_t clk = basic_clock();
	cfg_clock_t ldn = london_clock();
	cfg_clock_t seg = basic_clock();
	const step_t open[] = { { EV_START, D("10:00:00") } };
	const step_t resolved[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("11:10:00") } };
	const step_t resolved_esc[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("11:40:00") } };
	const step_t met[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("10:40:00") } };
	const step_t cancelled[] = { { EV_START, D("10:00:00") },
		{ EV_CANCEL, D("10:10:00") } };
	const step_t paused[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("10:35:00") } };
	const step_t resumed[] = { { EV_START, D("10:00:00") },
		{ EV_PAUSE, D("10:10:00") }, { EV_RESUME, D("10:40:00") } };
	/* Stopped exactly at the first escalation, which it prevents. */
	const step_t at_esc[] = { { EV_START, D("10:00:00") },
		{ EV_STOP, D("11:30:00") } };
	const step_t lon[] = { { EV_START, T("2026-08-28T15:00:00Z") } };
	const int64_t lateness[] = { 0, 1, LATE };
	sla_cycle_t c;

	(void)state;
	seg.segment_goals = seg_goals;
	seg.nsegment_goals = ARRAY_LEN(seg_goals);
	for (size_t i = 0; i < ARRAY_LEN(lateness); i++) {
		int64_t L = lateness[i];

		c = fold1(&clk, NULL, open, ARRAY_LEN(open), NULL, 0, FAR);
		assert_int_equal(walk("open", c, L), 5);
		c = fold1(&seg, "smb", open, ARRAY_LEN(open), NULL, 0, FAR);
		assert_int_equal(walk("smb", c, L), 5);
		c = fold1(&clk, NULL, resolved, ARRAY_LEN(resolved), NULL, 0,
		    FAR);
		assert_int_equal(walk("resolved", c, L), 4);
		c = fold1(&clk, NULL, resolved_esc, ARRAY_LEN(resolved_esc),
		    NULL, 0, FAR);
		assert_int_equal(walk("resolved_esc", c, L), 5);
		c = fold1(&clk, NULL, at_esc, ARRAY_LEN(at_esc), NULL, 0, FAR);
		assert_int_equal(walk("at_esc", c, L), 4);
		c = fold1(&clk, NULL, met, ARRAY_LEN(met), NULL, 0, FAR);
		assert_int_equal(walk("met", c, L), 1);
		c = fold1(&clk, NULL, cancelled, ARRAY_LEN(cancelled), NULL, 0,
		    FAR);
		assert_int_equal(walk("cancelled", c, L), 0);
		c = fold1(&clk, NULL, paused, ARRAY_LEN(paused), NULL, 0, FAR);
		assert_int_equal(walk("paused", c, L), 1);
		c = fold1(&clk, NULL, resumed, ARRAY_LEN(resumed), NULL, 0,
		    FAR);
		assert_int_equal(walk("resumed", c, L), 5);
		c = fold1(&ldn, NULL, lon, ARRAY_LEN(lon), NULL, 0, FAR);
		assert_int_equal(walk("london", c, L), 5);
		/* Half published already (stored). */
		c.done = SLA_BIT_BREACH | SLA_BIT_ESC(1);
		assert_int_equal(walk("london, half done", c, L), 3);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_opens_cycle),
		cmocka_unit_test(test_start_while_open),
		cmocka_unit_test(test_stop_met_or_resolved),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_second_cycle),
		cmocka_unit_test(test_pause_resume_moves_due),
		cmocka_unit_test(test_paused_instants_unknown),
		cmocka_unit_test(test_warnings_in_order),
		cmocka_unit_test(test_escalations_in_business_time),
		cmocka_unit_test(test_goal_by_segment),
		cmocka_unit_test(test_team_calendar),
		cmocka_unit_test(test_stored_cycle_kept),
		cmocka_unit_test(test_lateness),
		cmocka_unit_test(test_retraction),
		cmocka_unit_test(test_resolved_after_breach),
		cmocka_unit_test(test_next_alert_consistent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
