/*
 * The weekly scorecard for people: aligned text tables for a terminal and
 * one self-contained HTML page for the meeting (report_render.h).
 *
 * The document is first read into a struct, checking every field the
 * renderers use (a missing or ill-typed one is reported with its path), so
 * that the two renderers below work on plain C values and cannot disagree
 * about what the document says.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/arena.h"
#include "handoff/report_render.h"
#include "handoff/ts.h"

/* ---- figures ---- */

void
report_render_count(sbuf_t *out, int64_t n)
{
	char digits[32];
	int len, lead;

	if (n < 0) {
		sbuf_addc(out, '-');
		/* The most negative value has no positive counterpart. */
		if (n == INT64_MIN) {
			sbuf_adds(out, "9,223,372,036,854,775,808");
			return;
		}
		n = -n;
	}
	len = snprintf(digits, sizeof(digits), "%lld", (long long)n);
	lead = len % 3 == 0 ? 3 : len % 3;
	sbuf_add(out, digits, (size_t)lead);
	for (int i = lead; i < len; i += 3) {
		sbuf_addc(out, ',');
		sbuf_add(out, digits + i, 3);
	}
}

void
report_render_amount(sbuf_t *out, const char *num, size_t len)
{
	size_t i = 0, int_end, lead;

	if (len > 0 && num[0] == '-')
		i = 1;
	int_end = i;
	while (int_end < len && num[int_end] >= '0' && num[int_end] <= '9')
		int_end++;
	/* Only a plain decimal is grouped; anything else goes out as is. */
	if (int_end == i || (int_end < len && num[int_end] != '.')) {
		sbuf_add(out, num, len);
		return;
	}
	for (size_t k = int_end + (int_end < len); k < len; k++)
		if (num[k] < '0' || num[k] > '9') {
			sbuf_add(out, num, len);
			return;
		}
	sbuf_add(out, num, i);
	lead = (int_end - i) % 3 == 0 ? 3 : (int_end - i) % 3;
	sbuf_add(out, num + i, lead);
	for (size_t k = i + lead; k < int_end; k += 3) {
		sbuf_addc(out, ',');
		sbuf_add(out, num + k, 3);
	}
	sbuf_add(out, num + int_end, len - int_end);
}

void
report_render_percent(sbuf_t *out, double ratio)
{
	char b[48];
	int n;

	if (!isfinite(ratio)) {
		sbuf_adds(out, "-");
		return;
	}
	n = snprintf(b, sizeof(b), "%.1f", ratio * 100.0);
	/* "100.0" reads better as "100", "62.5" stays. */
	if (n > 2 && strcmp(b + n - 2, ".0") == 0)
		b[n - 2] = '\0';
	if (strcmp(b, "-0") == 0)
		strcpy(b, "0");
	sbuf_adds(out, b);
	sbuf_addc(out, '%');
}

void
report_render_duration(sbuf_t *out, double seconds)
{
	long long s, m, h, d;

	if (!isfinite(seconds)) {
		sbuf_adds(out, "-");
		return;
	}
	if (seconds < 0) {
		sbuf_addc(out, '-');
		seconds = -seconds;
	}
	if (seconds > 1e15)
		seconds = 1e15;
	s = llround(seconds);
	if (s < 60) {
		sbuf_printf(out, "%llds", s);
		return;
	}
	m = (s + 30) / 60;
	if (m < 60) {
		sbuf_printf(out, "%lldm", m);
		return;
	}
	if (m < 24 * 60) {
		h = m / 60;
		m %= 60;
		if (m == 0)
			sbuf_printf(out, "%lldh", h);
		else
			sbuf_printf(out, "%lldh %02lldm", h, m);
		return;
	}
	h = (m + 30) / 60;
	d = h / 24;
	h %= 24;
	if (h == 0)
		sbuf_printf(out, "%lldd", d);
	else
		sbuf_printf(out, "%lldd %lldh", d, h);
}

void
report_render_html_escape(sbuf_t *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			sbuf_adds(out, "&amp;");
			break;
		case '<':
			sbuf_adds(out, "&lt;");
			break;
		case '>':
			sbuf_adds(out, "&gt;");
			break;
		case '"':
			sbuf_adds(out, "&quot;");
			break;
		case '\'':
			sbuf_adds(out, "&#39;");
			break;
		case '\0':
			sbuf_adds(out, "&#xFFFD;");
			break;
		default:
			sbuf_addc(out, s[i]);
		}
	}
}

void
report_render_text_clean(sbuf_t *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			sbuf_addc(out, '?');
		} else if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			/* U+0080..U+009F, the C1 controls (CSI among them). */
			sbuf_addc(out, '?');
			i++;
		} else {
			sbuf_addc(out, (char)c);
		}
	}
}

/* ---- reading the document ---- */

/* A string from the document: s is NULL for JSON null. */
typedef struct {
	const char *s;
	size_t len;
} str_t;

typedef struct {
	str_t team, clock;
	int64_t met, breached, open, cancelled;
	double compliance; /* NAN: none decided */
} sla_row_t;

typedef struct {
	str_t reason;
	int64_t count;
} reason_t;

typedef struct {
	str_t start, end;
	double actual;
	bool missed;
} eval_t;

typedef struct {
	str_t name, metric, period, team;
	double goal, actual;
	int met; /* -1: unknown */
	eval_t *evals;
	size_t nevals;
} target_t;

typedef struct {
	str_t currency, amount;
	int64_t deals;
} money_t;

typedef struct {
	str_t week, start;
	int64_t mqls, touched;
	double median_s, p90_s;
} trend_t;

enum { PIPE_OPENED, PIPE_WON, PIPE_LOST, PIPE_OPEN, PIPE__COUNT };
static const char *const pipe_keys[PIPE__COUNT] = { "opened", "won", "lost",
	"open" };

static const char *const stage_keys[] = { "lead", "mql", "sal", "sql", "won",
	"lost", "recycled", "disqualified" };
#define NSTAGES ARRAY_LEN(stage_keys)

typedef struct {
	str_t week, zone, start, end, first_day, last_day, clock;
	bool complete;
	int64_t entered[NSTAGES];
	int64_t leads, leads_mql;
	int64_t mqls, reached_sal, reached_sql, won, lost;
	double c_lead_mql, c_mql_sal, c_sal_sql, c_sql_won, c_mql_won;
	int64_t answered, accepted, rejected;
	double acc_rate;
	int64_t touched;
	double median_s, p90_s;
	sla_row_t *clocks, *teams;
	size_t nclocks, nteams;
	int64_t rej_total;
	reason_t *reasons;
	size_t nreasons;
	target_t *targets;
	size_t ntargets;
	money_t *pipe[PIPE__COUNT];
	size_t npipe[PIPE__COUNT];
	trend_t *trend;
	size_t ntrend;
} sc_t;

typedef struct {
	arena_t *a;
	char *err; /* the first problem found */
} rd_t;

static const jdoc_node_t empty_obj = { .kind = JDOC_OBJECT };
static const jdoc_node_t empty_arr = { .kind = JDOC_ARRAY };

static void
problem(rd_t *rd, const char *path, const char *key, const char *what)
{
	if (rd->err == NULL)
		rd->err = xasprintf("report: %s%s%s: %s", path,
		    path[0] != '\0' ? "." : "", key, what);
}

static const jdoc_node_t *
member(rd_t *rd, const jdoc_node_t *o, const char *path, const char *key)
{
	const jdoc_node_t *v = jdoc_get(o, key, strlen(key));

	if (v == NULL)
		problem(rd, path, key, "missing");
	return v;
}

static const jdoc_node_t *
get_obj(rd_t *rd, const jdoc_node_t *o, const char *path, const char *key)
{
	const jdoc_node_t *v = member(rd, o, path, key);

	if (v != NULL && v->kind != JDOC_OBJECT) {
		problem(rd, path, key, "not an object");
		v = NULL;
	}
	return v != NULL ? v : &empty_obj;
}

static const jdoc_node_t *
get_arr(rd_t *rd, const jdoc_node_t *o, const char *path, const char *key)
{
	const jdoc_node_t *v = member(rd, o, path, key);

	if (v != NULL && v->kind != JDOC_ARRAY) {
		problem(rd, path, key, "not an array");
		v = NULL;
	}
	return v != NULL ? v : &empty_arr;
}

/* A non-negative integer. */
static int64_t
get_count(rd_t *rd, const jdoc_node_t *o, const char *path, const char *key)
{
	const jdoc_node_t *v = member(rd, o, path, key);

	if (v == NULL)
		return 0;
	if (v->kind != JDOC_NUMBER || !v->is_int || v->i < 0) {
		problem(rd, path, key, "not a count");
		return 0;
	}
	return v->i;
}

/* A number, or NAN for null. */
static double
get_num(rd_t *rd, const jdoc_node_t *o, const char *path, const char *key)
{
	const jdoc_node_t *v = member(rd, o, path, key);
	char buf[64];

	if (v == NULL || v->kind == JDOC_NULL)
		return NAN;
	if (v->kind != JDOC_NUMBER || v->len >= sizeof(buf)) {
		problem(rd, path, key, "not a number");
		return NAN;
	}
	memcpy(buf, v->s, v->len);
	buf[v->len] = '\0';
	return strtod(buf, NULL);
}

/* A number's literal (kept exact, for amounts), or null. */
static str_t
get_numtext(rd_t *rd, const jdoc_node_t *o, const char *path,
    const char *key)
{
	const jdoc_node_t *v = member(rd, o, path, key);
	str_t r = { NULL, 0 };

	if (v == NULL || v->kind == JDOC_NULL)
		return r;
	if (v->kind != JDOC_NUMBER) {
		problem(rd, path, key, "not a number");
		return r;
	}
	r.s = v->s;
	r.len = v->len;
	return r;
}

static str_t
get_str(rd_t *rd, const jdoc_node_t *o, const char *path, const char *key)
{
	const jdoc_node_t *v = member(rd, o, path, key);
	str_t r = { NULL, 0 };

	if (v == NULL || v->kind == JDOC_NULL)
		return r;
	if (v->kind != JDOC_STRING) {
		problem(rd, path, key, "not a string");
		return r;
	}
	r.s = v->s;
	r.len = v->len;
	return r;
}

/* true, false, or -1 for null. */
static int
get_bool(rd_t *rd, const jdoc_node_t *o, const char *path, const char *key)
{
	const jdoc_node_t *v = member(rd, o, path, key);

	if (v == NULL || v->kind == JDOC_NULL)
		return -1;
	if (v->kind != JDOC_BOOL) {
		problem(rd, path, key, "not a boolean");
		return -1;
	}
	return v->boolean;
}

/* The path of element i of the array at path.key, in buf. */
static const char *
elem_path(char *buf, size_t n, const char *path, const char *key, size_t i)
{
	snprintf(buf, n, "%s%s%s[%zu]", path, path[0] != '\0' ? "." : "", key,
	    i);
	return buf;
}

static void
read_sla(rd_t *rd, const jdoc_node_t *arr, const char *key, bool teams,
    sla_row_t **out, size_t *n)
{
	char p[64];
	size_t i = 0;

	*n = arr->len;
	*out = arena_alloc(rd->a, (arr->len + 1) * sizeof(**out));
	for (const jdoc_node_t *e = arr->first; e != NULL; e = e->next, i++) {
		sla_row_t *r = &(*out)[i];

		elem_path(p, sizeof(p), "sla", key, i);
		if (e->kind != JDOC_OBJECT) {
			problem(rd, "sla", key, "holds a non-object");
			e = &empty_obj;
		}
		memset(r, 0, sizeof(*r));
		if (teams)
			r->team = get_str(rd, e, p, "team");
		r->clock = get_str(rd, e, p, "clock");
		r->met = get_count(rd, e, p, "met");
		r->breached = get_count(rd, e, p, "breached");
		r->open = get_count(rd, e, p, "open");
		r->cancelled = get_count(rd, e, p, "cancelled");
		r->compliance = get_num(rd, e, p, "compliance");
	}
}

static void
read_targets(rd_t *rd, const jdoc_node_t *arr, sc_t *sc)
{
	char p[64], q[96];
	size_t i = 0;

	sc->ntargets = arr->len;
	sc->targets = arena_alloc(rd->a, (arr->len + 1) * sizeof(target_t));
	for (const jdoc_node_t *e = arr->first; e != NULL; e = e->next, i++) {
		target_t *t = &sc->targets[i];
		const jdoc_node_t *ev;
		size_t k = 0;

		elem_path(p, sizeof(p), "", "targets", i);
		if (e->kind != JDOC_OBJECT) {
			problem(rd, "", "targets", "holds a non-object");
			e = &empty_obj;
		}
		t->name = get_str(rd, e, p, "name");
		t->metric = get_str(rd, e, p, "metric");
		t->period = get_str(rd, e, p, "period");
		t->team = get_str(rd, e, p, "team");
		t->goal = get_num(rd, e, p, "goal");
		t->actual = get_num(rd, e, p, "actual");
		t->met = get_bool(rd, e, p, "met");
		ev = get_arr(rd, e, p, "evaluations");
		t->nevals = ev->len;
		t->evals = arena_alloc(rd->a, (ev->len + 1) * sizeof(eval_t));
		for (const jdoc_node_t *v = ev->first; v != NULL; v = v->next,
		    k++) {
			eval_t *x = &t->evals[k];

			elem_path(q, sizeof(q), p, "evaluations", k);
			if (v->kind != JDOC_OBJECT) {
				problem(rd, p, "evaluations",
				    "holds a non-object");
				v = &empty_obj;
			}
			x->start = get_str(rd, v, q, "period_start");
			x->end = get_str(rd, v, q, "period_end");
			x->actual = get_num(rd, v, q, "actual");
			x->missed = get_bool(rd, v, q, "missed") == 1;
		}
	}
}

static void
read_doc(rd_t *rd, const jdoc_node_t *root, sc_t *sc)
{
	const jdoc_node_t *f, *o, *s, *arr;
	char p[64];
	size_t i;

	memset(sc, 0, sizeof(*sc));
	if (root == NULL || root->kind != JDOC_OBJECT) {
		rd->err = xstrdup("report: not a JSON object");
		root = &empty_obj;
	}
	sc->week = get_str(rd, root, "", "week");
	sc->zone = get_str(rd, root, "", "zone");
	sc->start = get_str(rd, root, "", "start");
	sc->end = get_str(rd, root, "", "end");
	sc->first_day = get_str(rd, root, "", "first_day");
	sc->last_day = get_str(rd, root, "", "last_day");
	sc->clock = get_str(rd, root, "", "clock");
	sc->complete = get_bool(rd, root, "", "complete") == 1;

	f = get_obj(rd, root, "", "funnel");
	o = get_obj(rd, f, "funnel", "entered");
	for (i = 0; i < NSTAGES; i++)
		sc->entered[i] = get_count(rd, o, "funnel.entered",
		    stage_keys[i]);
	o = get_obj(rd, f, "funnel", "leads");
	sc->leads = get_count(rd, o, "funnel.leads", "created");
	sc->leads_mql = get_count(rd, o, "funnel.leads", "became_mql");
	o = get_obj(rd, f, "funnel", "mqls");
	sc->mqls = get_count(rd, o, "funnel.mqls", "count");
	sc->reached_sal = get_count(rd, o, "funnel.mqls", "reached_sal");
	sc->reached_sql = get_count(rd, o, "funnel.mqls", "reached_sql");
	sc->won = get_count(rd, o, "funnel.mqls", "won");
	sc->lost = get_count(rd, o, "funnel.mqls", "lost");
	o = get_obj(rd, f, "funnel", "conversion");
	sc->c_lead_mql = get_num(rd, o, "funnel.conversion", "lead_mql");
	sc->c_mql_sal = get_num(rd, o, "funnel.conversion", "mql_sal");
	sc->c_sal_sql = get_num(rd, o, "funnel.conversion", "sal_sql");
	sc->c_sql_won = get_num(rd, o, "funnel.conversion", "sql_won");
	sc->c_mql_won = get_num(rd, o, "funnel.conversion", "mql_won");

	o = get_obj(rd, root, "", "acceptance");
	sc->answered = get_count(rd, o, "acceptance", "answered");
	sc->accepted = get_count(rd, o, "acceptance", "accepted");
	sc->rejected = get_count(rd, o, "acceptance", "rejected");
	sc->acc_rate = get_num(rd, o, "acceptance", "rate");

	o = get_obj(rd, root, "", "speed_to_lead");
	sc->touched = get_count(rd, o, "speed_to_lead", "touched");
	sc->median_s = get_num(rd, o, "speed_to_lead", "median_s");
	sc->p90_s = get_num(rd, o, "speed_to_lead", "p90_s");

	s = get_obj(rd, root, "", "sla");
	read_sla(rd, get_arr(rd, s, "sla", "clocks"), "clocks", false,
	    &sc->clocks, &sc->nclocks);
	read_sla(rd, get_arr(rd, s, "sla", "teams"), "teams", true,
	    &sc->teams, &sc->nteams);

	o = get_obj(rd, root, "", "rejections");
	sc->rej_total = get_count(rd, o, "rejections", "total");
	arr = get_arr(rd, o, "rejections", "reasons");
	sc->nreasons = arr->len;
	sc->reasons = arena_alloc(rd->a, (arr->len + 1) * sizeof(reason_t));
	i = 0;
	for (const jdoc_node_t *e = arr->first; e != NULL; e = e->next, i++) {
		elem_path(p, sizeof(p), "rejections", "reasons", i);
		if (e->kind != JDOC_OBJECT) {
			problem(rd, "rejections", "reasons",
			    "holds a non-object");
			e = &empty_obj;
		}
		sc->reasons[i].reason = get_str(rd, e, p, "reason");
		sc->reasons[i].count = get_count(rd, e, p, "count");
	}

	read_targets(rd, get_arr(rd, root, "", "targets"), sc);

	o = get_obj(rd, root, "", "pipeline");
	for (int k = 0; k < PIPE__COUNT; k++) {
		arr = get_arr(rd, o, "pipeline", pipe_keys[k]);
		sc->npipe[k] = arr->len;
		sc->pipe[k] = arena_alloc(rd->a, (arr->len + 1) *
		    sizeof(money_t));
		i = 0;
		for (const jdoc_node_t *e = arr->first; e != NULL;
		    e = e->next, i++) {
			money_t *m = &sc->pipe[k][i];

			elem_path(p, sizeof(p), "pipeline", pipe_keys[k], i);
			if (e->kind != JDOC_OBJECT) {
				problem(rd, "pipeline", pipe_keys[k],
				    "holds a non-object");
				e = &empty_obj;
			}
			m->currency = get_str(rd, e, p, "currency");
			m->deals = get_count(rd, e, p, "deals");
			m->amount = get_numtext(rd, e, p, "amount");
		}
	}

	arr = get_arr(rd, root, "", "trend");
	sc->ntrend = arr->len;
	sc->trend = arena_alloc(rd->a, (arr->len + 1) * sizeof(trend_t));
	i = 0;
	for (const jdoc_node_t *e = arr->first; e != NULL; e = e->next, i++) {
		trend_t *t = &sc->trend[i];

		elem_path(p, sizeof(p), "", "trend", i);
		if (e->kind != JDOC_OBJECT) {
			problem(rd, "", "trend", "holds a non-object");
			e = &empty_obj;
		}
		t->week = get_str(rd, e, p, "week");
		t->start = get_str(rd, e, p, "start");
		t->mqls = get_count(rd, e, p, "mqls");
		t->touched = get_count(rd, e, p, "touched");
		t->median_s = get_num(rd, e, p, "median_s");
		t->p90_s = get_num(rd, e, p, "p90_s");
	}
}

/* ---- shared wording ---- */

static bool
str_is(str_t s, const char *lit)
{
	return s.s != NULL && s.len == strlen(lit) &&
	    memcmp(s.s, lit, s.len) == 0;
}

/* Equal strings, null equal to null only. */
static bool
same_str(str_t a, str_t b)
{
	if (a.s == NULL || b.s == NULL)
		return a.s == b.s;
	return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

static bool
is_rate(str_t metric)
{
	return !str_is(metric, "mql_count");
}

/* A target's goal or value in its metric's unit. */
static void
metric_value(sbuf_t *out, str_t metric, double v)
{
	if (isnan(v))
		sbuf_adds(out, "-");
	else if (is_rate(metric))
		report_render_percent(out, v);
	else if (fabs(v) < 1e15 && v == floor(v))
		report_render_count(out, (int64_t)v);
	else
		sbuf_printf(out, "%.2f", v);
}

/* "2026-11-23" as "Mon 23 Nov 2026"; anything else as it is. */
static void
nice_day(sbuf_t *out, str_t day, bool html)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const char *const wdays[] = { "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat", "Sun" };
	char buf[16];
	int y, m, d;

	if (day.s == NULL)
		return;
	if (day.len == 10 && day.len < sizeof(buf)) {
		memcpy(buf, day.s, day.len);
		buf[day.len] = '\0';
		if (ts_parse_date(buf, &y, &m, &d) == 0) {
			int64_t days = ts_days_from_civil(y, m, d);
			int wd = (int)(((days + 3) % 7 + 7) % 7);

			sbuf_printf(out, "%s %d %s %d", wdays[wd], d,
			    months[m - 1], y);
			return;
		}
	}
	if (html)
		report_render_html_escape(out, day.s, day.len);
	else
		report_render_text_clean(out, day.s, day.len);
}

static double
ratio(int64_t a, int64_t b)
{
	return b > 0 ? (double)a / (double)b : NAN;
}

/* ---- text ---- */

/* A table for the terminal: row 0 is the header. */
typedef struct {
	size_t ncols;
	unsigned right;  /* bit i: column i is right-aligned */
	char **cells;
	size_t ncells, cap;
} ttab_t;

static void
tt_init(ttab_t *t, size_t ncols, unsigned right)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->right = right;
}

/* Appends a cell, taking ownership of s (malloc'd). */
static void
tt_own(ttab_t *t, char *s)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->cells = xreallocarray(t->cells, t->cap, sizeof(char *));
	}
	t->cells[t->ncells++] = s;
}

static void
tt_lit(ttab_t *t, const char *s)
{
	tt_own(t, xstrdup(s));
}

static void
tt_str(ttab_t *t, str_t s, const char *ifnull)
{
	sbuf_t b;

	if (s.s == NULL) {
		tt_lit(t, ifnull);
		return;
	}
	sbuf_init(&b);
	report_render_text_clean(&b, s.s, s.len);
	tt_own(t, sbuf_take(&b));
}

static void
tt_count(ttab_t *t, int64_t n)
{
	sbuf_t b;

	sbuf_init(&b);
	report_render_count(&b, n);
	tt_own(t, sbuf_take(&b));
}

static void
tt_pct(ttab_t *t, double r)
{
	sbuf_t b;

	sbuf_init(&b);
	report_render_percent(&b, r);
	tt_own(t, sbuf_take(&b));
}

static void
tt_dur(ttab_t *t, double s)
{
	sbuf_t b;

	sbuf_init(&b);
	report_render_duration(&b, s);
	tt_own(t, sbuf_take(&b));
}

/* Display width: code points (the text is UTF-8). */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
pad(sbuf_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sbuf_addc(out, ' ');
}

static void
tt_print(ttab_t *t, sbuf_t *out)
{
	size_t *w = xcalloc(t->ncols, sizeof(size_t));
	size_t nrows = t->ncells / t->ncols;

	for (size_t i = 0; i < nrows * t->ncols; i++) {
		size_t c = i % t->ncols, x = width(t->cells[i]);

		if (x > w[c])
			w[c] = x;
	}
	for (size_t r = 0; r < nrows; r++) {
		size_t end = 0;

		/* Empty cells at the end of a row leave no trailing spaces. */
		for (size_t c = 0; c < t->ncols; c++)
			if (t->cells[r * t->ncols + c][0] != '\0')
				end = c + 1;
		sbuf_adds(out, "  ");
		for (size_t c = 0; c < end; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t gap = w[c] - width(s);

			if (c > 0)
				sbuf_adds(out, "  ");
			if (t->right & (1u << c)) {
				pad(out, gap);
				sbuf_adds(out, s);
			} else {
				sbuf_adds(out, s);
				if (c + 1 < end)
					pad(out, gap);
			}
		}
		sbuf_addc(out, '\n');
	}
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(w);
}

static void
heading(sbuf_t *out, const char *title)
{
	sbuf_printf(out, "\n%s\n", title);
}

static void
text_clean_str(sbuf_t *out, str_t s)
{
	if (s.s != NULL)
		report_render_text_clean(out, s.s, s.len);
	else
		sbuf_adds(out, "-");
}

static void
text_funnel(sbuf_t *out, const sc_t *sc)
{
	static const char *const names[] = { "lead", "MQL", "SAL", "SQL",
		"won", "lost", "recycled", "disqualified" };
	ttab_t t;

	heading(out, "Funnel: stages entered this week");
	tt_init(&t, 2, 2);
	tt_lit(&t, "stage");
	tt_lit(&t, "entered");
	for (size_t i = 0; i < NSTAGES; i++) {
		tt_lit(&t, names[i]);
		tt_count(&t, sc->entered[i]);
	}
	tt_print(&t, out);

	heading(out, "Conversion: this week's new leads and MQLs, so far");
	tt_init(&t, 4, 2 | 4 | 8);
	tt_lit(&t, "step");
	tt_lit(&t, "from");
	tt_lit(&t, "reached");
	tt_lit(&t, "rate");
	tt_lit(&t, "lead -> MQL");
	tt_count(&t, sc->leads);
	tt_count(&t, sc->leads_mql);
	tt_pct(&t, sc->c_lead_mql);
	tt_lit(&t, "MQL -> SAL");
	tt_count(&t, sc->mqls);
	tt_count(&t, sc->reached_sal);
	tt_pct(&t, sc->c_mql_sal);
	tt_lit(&t, "SAL -> SQL");
	tt_count(&t, sc->reached_sal);
	tt_count(&t, sc->reached_sql);
	tt_pct(&t, sc->c_sal_sql);
	tt_lit(&t, "SQL -> won");
	tt_count(&t, sc->reached_sql);
	tt_count(&t, sc->won);
	tt_pct(&t, sc->c_sql_won);
	tt_lit(&t, "MQL -> won");
	tt_count(&t, sc->mqls);
	tt_count(&t, sc->won);
	tt_pct(&t, sc->c_mql_won);
	tt_print(&t, out);
}

static void
text_sla(sbuf_t *out, const sc_t *sc)
{
	ttab_t t;

	heading(out, "SLA compliance by clock (cycles started this week)");
	tt_init(&t, 6, 2 | 4 | 8 | 16 | 32);
	tt_lit(&t, "clock");
	tt_lit(&t, "met");
	tt_lit(&t, "breached");
	tt_lit(&t, "open");
	tt_lit(&t, "cancelled");
	tt_lit(&t, "compliance");
	for (size_t i = 0; i < sc->nclocks; i++) {
		const sla_row_t *r = &sc->clocks[i];

		tt_str(&t, r->clock, "-");
		tt_count(&t, r->met);
		tt_count(&t, r->breached);
		tt_count(&t, r->open);
		tt_count(&t, r->cancelled);
		tt_pct(&t, r->compliance);
	}
	tt_print(&t, out);

	heading(out, "SLA compliance by team");
	if (sc->nteams == 0) {
		sbuf_adds(out, "  no SLA cycles started this week\n");
		return;
	}
	tt_init(&t, 7, 4 | 8 | 16 | 32 | 64);
	tt_lit(&t, "team");
	tt_lit(&t, "clock");
	tt_lit(&t, "met");
	tt_lit(&t, "breached");
	tt_lit(&t, "open");
	tt_lit(&t, "cancelled");
	tt_lit(&t, "compliance");
	for (size_t i = 0; i < sc->nteams; i++) {
		const sla_row_t *r = &sc->teams[i];

		tt_str(&t, r->team, "(no team)");
		tt_str(&t, r->clock, "-");
		tt_count(&t, r->met);
		tt_count(&t, r->breached);
		tt_count(&t, r->open);
		tt_count(&t, r->cancelled);
		tt_pct(&t, r->compliance);
	}
	tt_print(&t, out);
}

/* "missed 1 of 7 days" and the like, for the evaluations of a target. */
static void
eval_summary(sbuf_t *out, const target_t *t)
{
	size_t missed = 0;

	for (size_t i = 0; i < t->nevals; i++)
		missed += t->evals[i].missed;
	if (t->nevals == 0) {
		sbuf_adds(out, "not evaluated");
		return;
	}
	if (t->nevals == 1) {
		metric_value(out, t->metric, t->evals[0].actual);
		sbuf_adds(out, t->evals[0].missed ? ", missed" : ", met");
		return;
	}
	sbuf_printf(out, "missed %zu of %zu ", missed, t->nevals);
	if (t->period.s != NULL && t->period.len < 16) {
		report_render_text_clean(out, t->period.s, t->period.len);
		sbuf_addc(out, 's');
	} else {
		sbuf_adds(out, "periods");
	}
}

static void
text_targets(sbuf_t *out, const sc_t *sc)
{
	ttab_t t;

	heading(out, "Targets");
	if (sc->ntargets == 0) {
		sbuf_adds(out, "  no targets configured\n");
		return;
	}
	tt_init(&t, 7, 4 | 8);
	tt_lit(&t, "target");
	tt_lit(&t, "metric");
	tt_lit(&t, "goal");
	tt_lit(&t, "this week");
	tt_lit(&t, "status");
	tt_lit(&t, "team");
	tt_lit(&t, "evaluated at period close");
	for (size_t i = 0; i < sc->ntargets; i++) {
		const target_t *x = &sc->targets[i];
		sbuf_t b;

		tt_str(&t, x->name, "-");
		sbuf_init(&b);
		text_clean_str(&b, x->metric);
		if (x->period.s != NULL && !str_is(x->period, "week")) {
			sbuf_adds(&b, " per ");
			text_clean_str(&b, x->period);
		}
		tt_own(&t, sbuf_take(&b));
		sbuf_init(&b);
		sbuf_adds(&b, ">= ");
		metric_value(&b, x->metric, x->goal);
		tt_own(&t, sbuf_take(&b));
		sbuf_init(&b);
		metric_value(&b, x->metric, x->actual);
		tt_own(&t, sbuf_take(&b));
		/* Short of the goal in a week not over is not missed yet. */
		tt_lit(&t, x->met == 1 ? "met" : x->met == 0 ? sc->complete ?
		    "MISSED" : "below" : "-");
		tt_str(&t, x->team, "all");
		sbuf_init(&b);
		eval_summary(&b, x);
		tt_own(&t, sbuf_take(&b));
	}
	tt_print(&t, out);
}

static void
text_money(ttab_t *t, const char *kind, const money_t *m, size_t n)
{
	if (n == 0) {
		tt_lit(t, kind);
		tt_lit(t, "");
		tt_count(t, 0);
		tt_lit(t, "");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		sbuf_t b;

		tt_lit(t, i == 0 ? kind : "");
		tt_str(t, m[i].currency, "(none)");
		tt_count(t, m[i].deals);
		sbuf_init(&b);
		if (m[i].amount.s != NULL)
			report_render_amount(&b, m[i].amount.s, m[i].amount.len);
		tt_own(t, sbuf_take(&b));
	}
}

static void
text_rest(sbuf_t *out, const sc_t *sc)
{
	ttab_t t;

	heading(out, "Rejection reasons");
	if (sc->nreasons == 0) {
		sbuf_adds(out, "  no rejections this week\n");
	} else {
		tt_init(&t, 2, 2);
		tt_lit(&t, "reason");
		tt_lit(&t, "count");
		for (size_t i = 0; i < sc->nreasons; i++) {
			tt_str(&t, sc->reasons[i].reason, "(none)");
			tt_count(&t, sc->reasons[i].count);
		}
		tt_lit(&t, "total");
		tt_count(&t, sc->rej_total);
		tt_print(&t, out);
	}

	heading(out, "Pipeline from marketing's leads");
	tt_init(&t, 4, 4 | 8);
	tt_lit(&t, "deals");
	tt_lit(&t, "currency");
	tt_lit(&t, "count");
	tt_lit(&t, "amount");
	text_money(&t, "opened this week", sc->pipe[PIPE_OPENED],
	    sc->npipe[PIPE_OPENED]);
	text_money(&t, "won this week", sc->pipe[PIPE_WON], sc->npipe[PIPE_WON]);
	text_money(&t, "lost this week", sc->pipe[PIPE_LOST],
	    sc->npipe[PIPE_LOST]);
	text_money(&t, "open at week end", sc->pipe[PIPE_OPEN],
	    sc->npipe[PIPE_OPEN]);
	tt_print(&t, out);

	heading(out, "Speed to lead, week by week");
	tt_init(&t, 5, 2 | 4 | 8 | 16);
	tt_lit(&t, "week");
	tt_lit(&t, "MQLs");
	tt_lit(&t, "touched");
	tt_lit(&t, "median");
	tt_lit(&t, "p90");
	for (size_t i = 0; i < sc->ntrend; i++) {
		const trend_t *w = &sc->trend[i];

		tt_str(&t, w->week, "-");
		tt_count(&t, w->mqls);
		tt_count(&t, w->touched);
		tt_dur(&t, w->median_s);
		tt_dur(&t, w->p90_s);
	}
	tt_print(&t, out);
}

static void
text_all(sbuf_t *out, const sc_t *sc)
{
	sbuf_adds(out, "Joint marketing & sales scorecard, week ");
	text_clean_str(out, sc->week);
	sbuf_adds(out, "\n");
	nice_day(out, sc->first_day, false);
	sbuf_adds(out, " to ");
	nice_day(out, sc->last_day, false);
	sbuf_adds(out, " (");
	text_clean_str(out, sc->zone);
	sbuf_adds(out, "); ");
	text_clean_str(out, sc->start);
	sbuf_adds(out, " to ");
	text_clean_str(out, sc->end);
	sbuf_adds(out, "\n");
	if (!sc->complete) {
		sbuf_adds(out, "NOT OVER YET: the daemon's clock reads ");
		text_clean_str(out, sc->clock);
		sbuf_adds(out, "; these figures will still change\n");
	}

	heading(out, "Headline");
	{
		ttab_t t;
		sbuf_t b;

		tt_init(&t, 2, 0);
		tt_lit(&t, "MQLs");
		tt_count(&t, sc->mqls);
		tt_lit(&t, "acceptance rate");
		sbuf_init(&b);
		report_render_percent(&b, sc->acc_rate);
		sbuf_adds(&b, " (");
		report_render_count(&b, sc->accepted);
		sbuf_adds(&b, " accepted of ");
		report_render_count(&b, sc->answered);
		sbuf_adds(&b, " answered; ");
		report_render_count(&b, sc->rejected);
		sbuf_adds(&b, " rejected)");
		tt_own(&t, sbuf_take(&b));
		tt_lit(&t, "speed to lead");
		sbuf_init(&b);
		sbuf_adds(&b, "median ");
		report_render_duration(&b, sc->median_s);
		sbuf_adds(&b, ", p90 ");
		report_render_duration(&b, sc->p90_s);
		sbuf_adds(&b, " (");
		report_render_count(&b, sc->touched);
		sbuf_adds(&b, " of ");
		report_render_count(&b, sc->mqls);
		sbuf_adds(&b, " MQLs touched)");
		tt_own(&t, sbuf_take(&b));
		tt_print(&t, out);
	}
	text_funnel(out, sc);
	text_sla(out, sc);
	text_targets(out, sc);
	text_rest(out, sc);
}

/* ---- HTML ---- */

static void
h_str(sbuf_t *out, str_t s, const char *ifnull)
{
	if (s.s == NULL)
		sbuf_adds(out, ifnull);
	else
		report_render_html_escape(out, s.s, s.len);
}

static void
h_count(sbuf_t *out, int64_t n)
{
	report_render_count(out, n);
}

static void
h_pct(sbuf_t *out, double r)
{
	if (isnan(r))
		sbuf_adds(out, "&ndash;");
	else
		report_render_percent(out, r);
}

static void
h_dur(sbuf_t *out, double s)
{
	if (isnan(s))
		sbuf_adds(out, "&ndash;");
	else
		report_render_duration(out, s);
}

/* The colour class of a compliance or rate against a comfortable level. */
static const char *
grade(double r)
{
	if (isnan(r))
		return "muted";
	return r >= 0.9 ? "good" : r >= 0.75 ? "warn" : "bad";
}

static const char *
grade_fill(double r)
{
	if (isnan(r))
		return "#d1d5db";
	return r >= 0.9 ? "#16a34a" : r >= 0.75 ? "#d97706" : "#dc2626";
}

static const char css[] =
    ":root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#eef1f5;"
    "--card:#fff;--accent:#1d4ed8;--good:#15803d;--warn:#b45309;"
    "--bad:#b91c1c}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--ink);"
    "font:14px/1.45 \"DejaVu Sans\",\"Segoe UI\",Roboto,Helvetica,Arial,"
    "sans-serif}\n"
    "main{max-width:1160px;margin:0 auto;padding:26px 30px 34px}\n"
    "header{display:flex;justify-content:space-between;align-items:flex-end;"
    "gap:20px;border-bottom:3px solid var(--accent);padding-bottom:12px;"
    "margin-bottom:18px}\n"
    "h1{font-size:25px;margin:0;letter-spacing:-.01em}\n"
    ".sub{color:var(--muted);margin:4px 0 0}\n"
    ".weekname{font-size:30px;font-weight:700;color:var(--accent);"
    "white-space:nowrap}\n"
    ".banner{background:#fef3c7;border:1px solid #f59e0b;color:#78350f;"
    "border-radius:8px;padding:8px 12px;margin-bottom:16px}\n"
    ".tiles{display:grid;grid-template-columns:repeat(5,1fr);gap:14px;"
    "margin-bottom:18px}\n"
    ".tile,.card{background:var(--card);border-radius:10px;"
    "box-shadow:0 1px 3px rgba(15,23,42,.08)}\n"
    ".tile{padding:13px 15px}\n"
    ".tile .label{color:var(--muted);font-size:11px;text-transform:uppercase;"
    "letter-spacing:.06em}\n"
    ".tile .value{font-size:27px;font-weight:700;margin:3px 0 2px;"
    "white-space:nowrap}\n"
    ".tile .note{font-size:12px;color:var(--muted)}\n"
    ".grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px;"
    "margin-bottom:18px}\n"
    ".card{padding:15px 18px 16px;margin-bottom:18px}\n"
    ".grid .card{margin-bottom:0}\n"
    ".card h2{font-size:15px;margin:0 0 2px}\n"
    ".card .hint{color:var(--muted);font-size:12px;margin:0 0 10px}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{padding:5px 8px;border-bottom:1px solid var(--line);"
    "text-align:left;vertical-align:top}\n"
    "th{font-size:11px;text-transform:uppercase;letter-spacing:.05em;"
    "color:var(--muted);font-weight:600}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}\n"
    ".good{color:var(--good)}.warn{color:var(--warn)}.bad{color:var(--bad)}"
    ".muted{color:var(--muted)}\n"
    ".pill{display:inline-block;border-radius:999px;padding:1px 9px;"
    "font-size:12px;font-weight:600}\n"
    ".pill.good{background:#dcfce7}.pill.bad{background:#fee2e2}"
    ".pill.muted{background:#f3f4f6}\n"
    ".bar{height:8px;border-radius:4px;background:#6366f1;min-width:2px}\n"
    "svg{display:block;width:100%;height:auto}\n"
    "svg text{font-family:inherit}\n"
    "footer{color:var(--muted);font-size:12px}\n"
    "@media print{body{background:#fff}.tile,.card{box-shadow:none;"
    "border:1px solid var(--line)}}\n";

static void
tile(sbuf_t *out, const char *label, const char *cls, const char *value,
    const char *note)
{
	sbuf_printf(out, "<div class=\"tile\"><div class=\"label\">%s</div>"
	    "<div class=\"value %s\">%s</div><div class=\"note\">%s</div>"
	    "</div>\n", label, cls, value, note);
}

/* The first weekly target of a metric over all teams, or NULL. */
static const target_t *
find_target(const sc_t *sc, const char *metric)
{
	for (size_t i = 0; i < sc->ntargets; i++)
		if (str_is(sc->targets[i].metric, metric) &&
		    str_is(sc->targets[i].period, "week") &&
		    sc->targets[i].team.s == NULL)
			return &sc->targets[i];
	return NULL;
}

static void
target_note(sbuf_t *b, const target_t *t)
{
	if (t == NULL)
		return;
	sbuf_adds(b, " &middot; target &ge; ");
	metric_value(b, t->metric, t->goal);
}

static void
html_tiles(sbuf_t *out, const sc_t *sc)
{
	const target_t *vol = find_target(sc, "mql_count");
	const target_t *acc = find_target(sc, "acceptance_rate");
	int64_t met = 0, decided = 0, breached = 0;
	sbuf_t v, n;

	sbuf_init(&v);
	sbuf_init(&n);
	sbuf_adds(out, "<section class=\"tiles\">\n");

	h_count(&v, sc->mqls);
	h_count(&n, sc->leads);
	sbuf_adds(&n, " new leads");
	target_note(&n, vol);
	tile(out, "MQLs", vol == NULL || vol->met < 0 ? "" : vol->met ?
	    "good" : "bad", v.s, n.s);

	sbuf_reset(&v);
	sbuf_reset(&n);
	h_pct(&v, sc->acc_rate);
	h_count(&n, sc->accepted);
	sbuf_adds(&n, " of ");
	h_count(&n, sc->answered);
	sbuf_adds(&n, " answered");
	target_note(&n, acc);
	tile(out, "Acceptance rate", acc == NULL || acc->met < 0 ? "" :
	    acc->met ? "good" : "bad", v.s, n.s);

	sbuf_reset(&v);
	sbuf_reset(&n);
	h_dur(&v, sc->median_s);
	sbuf_adds(&n, "median &middot; p90 ");
	h_dur(&n, sc->p90_s);
	sbuf_adds(&n, " &middot; ");
	h_count(&n, sc->touched);
	sbuf_adds(&n, " of ");
	h_count(&n, sc->mqls);
	sbuf_adds(&n, " touched");
	tile(out, "Speed to lead", "", v.s, n.s);

	for (size_t i = 0; i < sc->nclocks; i++) {
		met += sc->clocks[i].met;
		breached += sc->clocks[i].breached;
		decided += sc->clocks[i].met + sc->clocks[i].breached;
	}
	sbuf_reset(&v);
	sbuf_reset(&n);
	h_pct(&v, ratio(met, decided));
	h_count(&n, breached);
	sbuf_adds(&n, " breached of ");
	h_count(&n, decided);
	sbuf_adds(&n, " decided, all clocks");
	tile(out, "SLA met", grade(ratio(met, decided)), v.s, n.s);

	sbuf_reset(&v);
	sbuf_reset(&n);
	if (sc->npipe[PIPE_WON] == 0) {
		sbuf_adds(&v, "0");
	} else {
		const money_t *m = &sc->pipe[PIPE_WON][0];

		if (m->amount.s != NULL)
			report_render_amount(&v, m->amount.s, m->amount.len);
		sbuf_adds(&v, " <small>");
		h_str(&v, m->currency, "");
		sbuf_adds(&v, "</small>");
	}
	{
		int64_t won = 0, opened = 0;

		for (size_t i = 0; i < sc->npipe[PIPE_WON]; i++)
			won += sc->pipe[PIPE_WON][i].deals;
		for (size_t i = 0; i < sc->npipe[PIPE_OPENED]; i++)
			opened += sc->pipe[PIPE_OPENED][i].deals;
		h_count(&n, won);
		sbuf_adds(&n, won == 1 ? " deal won" : " deals won");
		if (sc->npipe[PIPE_WON] > 1)
			sbuf_printf(&n, " (+%zu currencies)",
			    sc->npipe[PIPE_WON] - 1);
		sbuf_adds(&n, " &middot; ");
		h_count(&n, opened);
		sbuf_adds(&n, " opened");
	}
	tile(out, "Won", "", v.s, n.s);
	sbuf_adds(out, "</section>\n");
	sbuf_free(&v);
	sbuf_free(&n);
}

/* The funnel of the week: new leads, then how far the week's MQLs got. */
static void
svg_funnel(sbuf_t *out, const sc_t *sc)
{
	const char *names[] = { "Leads", "MQL", "SAL", "SQL", "Won" };
	const char *fills[] = { "#93c5fd", "#60a5fa", "#3b82f6", "#2563eb",
		"#15803d" };
	int64_t v[] = { sc->leads, sc->mqls, sc->reached_sal, sc->reached_sql,
		sc->won };
	double conv[] = { NAN, sc->c_lead_mql, sc->c_mql_sal, sc->c_sal_sql,
		sc->c_sql_won };
	const double left = 78, right = 448, rowh = 46, top = 8;
	double max = 1, mid = (left + right) / 2;

	for (int i = 0; i < 5; i++)
		if ((double)v[i] > max)
			max = (double)v[i];
	sbuf_printf(out, "<svg viewBox=\"0 0 540 %.0f\" role=\"img\" "
	    "aria-label=\"Funnel\">\n", top * 2 + rowh * 5);
	for (int i = 0; i < 5; i++) {
		double y = top + rowh * i;
		double w = (right - left) * (double)v[i] / max;

		if (w < 3)
			w = 3;
		sbuf_printf(out, "<text x=\"0\" y=\"%.1f\" font-size=\"14\" "
		    "font-weight=\"600\" fill=\"#374151\">%s</text>\n",
		    y + 25, names[i]);
		sbuf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"36\" rx=\"5\" fill=\"%s\"/>\n", mid - w / 2, y,
		    w, fills[i]);
		sbuf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" "
		    "font-weight=\"700\" text-anchor=\"middle\" fill=\"%s\">",
		    mid, y + 24, w > 60 ? "#ffffff" : "#111827");
		h_count(out, v[i]);
		sbuf_adds(out, "</text>\n");
		if (i > 0) {
			sbuf_printf(out, "<text x=\"540\" y=\"%.1f\" "
			    "font-size=\"13\" text-anchor=\"end\" "
			    "fill=\"#4b5563\">", y + 16);
			h_pct(out, conv[i]);
			sbuf_printf(out, "</text>\n<text x=\"540\" y=\"%.1f\" "
			    "font-size=\"10\" text-anchor=\"end\" "
			    "fill=\"#9ca3af\">of %s</text>\n", y + 30,
			    names[i - 1]);
		}
	}
	sbuf_adds(out, "</svg>\n");
}

/* Compliance bars, one row per team and clock. */
static void
svg_sla_teams(sbuf_t *out, const sc_t *sc)
{
	const double x0 = 150, x1 = 400, rowh = 26, headh = 24;
	size_t nheads = 0;
	double y = 4, h;

	if (sc->nteams == 0) {
		sbuf_adds(out, "<p class=\"muted\">No SLA cycles started this "
		    "week.</p>\n");
		return;
	}
	for (size_t i = 0; i < sc->nteams; i++)
		if (i == 0 || !same_str(sc->teams[i].team,
		    sc->teams[i - 1].team))
			nheads++;
	h = 8 + (double)nheads * headh + (double)sc->nteams * rowh;
	sbuf_printf(out, "<svg viewBox=\"0 0 540 %.0f\" role=\"img\" "
	    "aria-label=\"SLA compliance by team\">\n", h);
	for (size_t i = 0; i < sc->nteams; i++) {
		const sla_row_t *r = &sc->teams[i];
		bool head = i == 0 || !same_str(r->team,
		    sc->teams[i - 1].team);
		double w = isnan(r->compliance) ? 0 : (x1 - x0) *
		    r->compliance;

		if (head) {
			sbuf_printf(out, "<text x=\"0\" y=\"%.1f\" "
			    "font-size=\"14\" font-weight=\"700\" "
			    "fill=\"#111827\">", y + 17);
			h_str(out, r->team, "(no team)");
			sbuf_adds(out, "</text>\n");
			y += headh;
		}
		sbuf_printf(out, "<text x=\"12\" y=\"%.1f\" font-size=\"12\" "
		    "fill=\"#4b5563\">", y + 15);
		h_str(out, r->clock, "-");
		sbuf_printf(out, "</text>\n<rect x=\"%.1f\" y=\"%.1f\" "
		    "width=\"%.1f\" height=\"14\" rx=\"4\" fill=\"#eef0f3\"/>\n",
		    x0, y + 4, x1 - x0);
		if (w > 0)
			sbuf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" "
			    "width=\"%.1f\" height=\"14\" rx=\"4\" "
			    "fill=\"%s\"/>\n", x0, y + 4, w,
			    grade_fill(r->compliance));
		sbuf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" "
		    "fill=\"#111827\"><tspan font-weight=\"700\">", x1 + 8,
		    y + 15);
		h_pct(out, r->compliance);
		sbuf_adds(out, "</tspan> ");
		h_count(out, r->met);
		sbuf_adds(out, "/");
		h_count(out, r->met + r->breached);
		if (r->open > 0) {
			sbuf_adds(out, " &middot; ");
			h_count(out, r->open);
			sbuf_adds(out, " open");
		}
		sbuf_adds(out, "</text>\n");
		y += rowh;
	}
	sbuf_adds(out, "</svg>\n");
}

/* A round upper bound for an axis of hours. */
static double
nice_hours(double h)
{
	static const double steps[] = { 1, 2, 4, 8, 12, 24, 48, 72, 96, 120,
		168, 240, 336, 504, 720 };

	for (size_t i = 0; i < ARRAY_LEN(steps); i++)
		if (h <= steps[i])
			return steps[i];
	return ceil(h / 720) * 720;
}

static void
axis_label(sbuf_t *out, double hours)
{
	if (hours == 0)
		sbuf_adds(out, "0");
	else if (hours >= 24 && fmod(hours, 24) == 0)
		sbuf_printf(out, "%.0fd", hours / 24);
	else if (hours == floor(hours))
		sbuf_printf(out, "%.0fh", hours);
	else
		sbuf_printf(out, "%.0fm", hours * 60);
}

static void
svg_line(sbuf_t *out, const sc_t *sc, const double *xs, bool p90,
    double y0, double scale)
{
	const char *stroke = p90 ? "#f97316" : "#1d4ed8";
	bool open = false;

	for (size_t i = 0; i < sc->ntrend; i++) {
		double v = p90 ? sc->trend[i].p90_s : sc->trend[i].median_s;

		if (isnan(v)) {
			if (open)
				sbuf_adds(out, "\"/>\n");
			open = false;
			continue;
		}
		if (!open)
			sbuf_printf(out, "<polyline fill=\"none\" stroke=\"%s\" "
			    "stroke-width=\"2.5\"%s points=\"", stroke,
			    p90 ? " stroke-dasharray=\"6 4\"" : "");
		sbuf_printf(out, "%s%.1f,%.1f", open ? " " : "", xs[i],
		    y0 - v / 3600 * scale);
		open = true;
	}
	if (open)
		sbuf_adds(out, "\"/>\n");
	for (size_t i = 0; i < sc->ntrend; i++) {
		double v = p90 ? sc->trend[i].p90_s : sc->trend[i].median_s;

		if (!isnan(v))
			sbuf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" "
			    "r=\"4\" fill=\"%s\"/>\n", xs[i],
			    y0 - v / 3600 * scale, stroke);
	}
}

/* Median and p90 speed to lead over the trend's weeks, in hours. */
static void
svg_trend(sbuf_t *out, const sc_t *sc)
{
	const double L = 58, R = 1060, T = 30, B = 220;
	double xs[64], maxh = 0, top, scale;
	size_t n = sc->ntrend < ARRAY_LEN(xs) ? sc->ntrend : ARRAY_LEN(xs);

	for (size_t i = 0; i < n; i++) {
		if (!isnan(sc->trend[i].p90_s) && sc->trend[i].p90_s / 3600 >
		    maxh)
			maxh = sc->trend[i].p90_s / 3600;
		if (!isnan(sc->trend[i].median_s) &&
		    sc->trend[i].median_s / 3600 > maxh)
			maxh = sc->trend[i].median_s / 3600;
		xs[i] = n > 1 ? L + 30 + (R - L - 60) * (double)i /
		    (double)(n - 1) : (L + R) / 2;
	}
	top = nice_hours(maxh > 0 ? maxh * 1.12 : 1);
	scale = (B - T) / top;
	sbuf_adds(out, "<svg viewBox=\"0 0 1080 290\" role=\"img\" "
	    "aria-label=\"Speed to lead trend\">\n");
	for (int k = 0; k <= 4; k++) {
		double y = B - (B - T) * k / 4.0;

		sbuf_printf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" "
		    "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1\"/>\n", L, y, R,
		    y, k == 0 ? "#9ca3af" : "#e5e7eb");
		sbuf_printf(out, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" "
		    "text-anchor=\"end\" fill=\"#6b7280\">", L - 8, y + 4);
		axis_label(out, top * k / 4.0);
		sbuf_adds(out, "</text>\n");
	}
	for (size_t i = 0; i < n; i++) {
		sbuf_printf(out, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"12\" "
		    "text-anchor=\"middle\" fill=\"#374151\" "
		    "font-weight=\"%s\">", xs[i], B + 18, i + 1 == n ? "700" :
		    "400");
		h_str(out, sc->trend[i].week, "-");
		sbuf_printf(out, "</text>\n<text x=\"%.1f\" y=\"%.0f\" "
		    "font-size=\"10\" text-anchor=\"middle\" fill=\"#9ca3af\">",
		    xs[i], B + 32);
		h_count(out, sc->trend[i].touched);
		sbuf_adds(out, " of ");
		h_count(out, sc->trend[i].mqls);
		sbuf_adds(out, " touched</text>\n");
		/* The values go under the axis, where they cannot collide
		 * with each other or with the lines. */
		sbuf_printf(out, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" "
		    "text-anchor=\"middle\" fill=\"#1d4ed8\">", xs[i], B + 48);
		h_dur(out, sc->trend[i].median_s);
		sbuf_printf(out, "</text>\n<text x=\"%.1f\" y=\"%.0f\" "
		    "font-size=\"11\" text-anchor=\"middle\" "
		    "fill=\"#ea580c\">", xs[i], B + 62);
		h_dur(out, sc->trend[i].p90_s);
		sbuf_adds(out, "</text>\n");
	}
	svg_line(out, sc, xs, true, B, scale);
	svg_line(out, sc, xs, false, B, scale);
	sbuf_printf(out, "<line x1=\"%.0f\" y1=\"12\" x2=\"%.0f\" y2=\"12\" "
	    "stroke=\"#1d4ed8\" stroke-width=\"2.5\"/><text x=\"%.0f\" y=\"16\" "
	    "font-size=\"12\" fill=\"#374151\">median</text>\n", R - 210,
	    R - 186, R - 180);
	sbuf_printf(out, "<line x1=\"%.0f\" y1=\"12\" x2=\"%.0f\" y2=\"12\" "
	    "stroke=\"#f97316\" stroke-width=\"2.5\" "
	    "stroke-dasharray=\"6 4\"/><text x=\"%.0f\" y=\"16\" "
	    "font-size=\"12\" fill=\"#374151\">90th percentile</text>\n",
	    R - 118, R - 94, R - 88);
	sbuf_adds(out, "</svg>\n");
}

static void
html_targets(sbuf_t *out, const sc_t *sc)
{
	sbuf_adds(out, "<div class=\"card\"><h2>Targets</h2><p class=\"hint\">"
	    "This week as measured now, and as evaluated when each period "
	    "closed</p>\n");
	if (sc->ntargets == 0) {
		sbuf_adds(out, "<p class=\"muted\">No targets configured.</p>"
		    "</div>\n");
		return;
	}
	sbuf_adds(out, "<table><tr><th>Target</th><th class=\"n\">Goal</th>"
	    "<th class=\"n\">This week</th><th>Status</th><th>At close</th>"
	    "</tr>\n");
	for (size_t i = 0; i < sc->ntargets; i++) {
		const target_t *t = &sc->targets[i];
		const char *pill = t->met == 1 ? "good" : t->met == 0 &&
		    sc->complete ? "bad" : "muted";
		sbuf_t e;

		sbuf_adds(out, "<tr><td><strong>");
		h_str(out, t->name, "-");
		sbuf_adds(out, "</strong><br><span class=\"muted\">");
		h_str(out, t->metric, "-");
		if (t->period.s != NULL && !str_is(t->period, "week")) {
			sbuf_adds(out, " per ");
			h_str(out, t->period, "");
		}
		if (t->team.s != NULL) {
			sbuf_adds(out, " &middot; team ");
			h_str(out, t->team, "");
		}
		sbuf_adds(out, "</span></td><td class=\"n\">&ge; ");
		metric_value(out, t->metric, t->goal);
		sbuf_adds(out, "</td><td class=\"n\">");
		if (isnan(t->actual))
			sbuf_adds(out, "&ndash;");
		else
			metric_value(out, t->metric, t->actual);
		sbuf_printf(out, "</td><td><span class=\"pill %s\">%s</span>"
		    "</td><td>", pill, t->met == 1 ? "met" : t->met == 0 ?
		    sc->complete ? "missed" : "below, so far" : "n/a");
		sbuf_init(&e);
		eval_summary(&e, t);
		report_render_html_escape(out, e.s, e.len);
		sbuf_free(&e);
		sbuf_adds(out, "</td></tr>\n");
	}
	sbuf_adds(out, "</table></div>\n");
}

static void
html_rejections(sbuf_t *out, const sc_t *sc)
{
	int64_t max = 1;

	sbuf_adds(out, "<div class=\"card\"><h2>Rejection reasons</h2>"
	    "<p class=\"hint\">Sales rejections of MQLs this week, with the "
	    "reps' reasons</p>\n");
	if (sc->nreasons == 0) {
		sbuf_adds(out, "<p class=\"muted\">No rejections this week.</p>"
		    "</div>\n");
		return;
	}
	for (size_t i = 0; i < sc->nreasons; i++)
		if (sc->reasons[i].count > max)
			max = sc->reasons[i].count;
	sbuf_adds(out, "<table><tr><th>Reason</th><th class=\"n\">Count</th>"
	    "<th style=\"width:38%\"></th></tr>\n");
	for (size_t i = 0; i < sc->nreasons; i++) {
		sbuf_adds(out, "<tr><td>");
		h_str(out, sc->reasons[i].reason, "(none)");
		sbuf_adds(out, "</td><td class=\"n\">");
		h_count(out, sc->reasons[i].count);
		sbuf_printf(out, "</td><td><div class=\"bar\" style=\"width:"
		    "%.0f%%\"></div></td></tr>\n",
		    100.0 * (double)sc->reasons[i].count / (double)max);
	}
	sbuf_adds(out, "<tr><td><strong>Total</strong></td><td class=\"n\">"
	    "<strong>");
	h_count(out, sc->rej_total);
	sbuf_adds(out, "</strong></td><td></td></tr></table></div>\n");
}

static void
html_entries(sbuf_t *out, const sc_t *sc)
{
	static const char *const names[] = { "Lead", "MQL", "SAL", "SQL",
		"Won", "Lost", "Recycled", "Disqualified" };

	sbuf_adds(out, "<div class=\"card\"><h2>Stages entered this week</h2>"
	    "<p class=\"hint\">Every pass through the funnel counts, so a "
	    "recycled lead qualified again is a second MQL</p>\n<table><tr>");
	for (size_t i = 0; i < NSTAGES; i++)
		sbuf_printf(out, "<th class=\"n\">%s</th>", names[i]);
	sbuf_adds(out, "</tr><tr>");
	for (size_t i = 0; i < NSTAGES; i++) {
		sbuf_adds(out, "<td class=\"n\">");
		h_count(out, sc->entered[i]);
		sbuf_adds(out, "</td>");
	}
	sbuf_adds(out, "</tr></table>\n<table style=\"margin-top:12px\"><tr>"
	    "<th>Clock</th><th class=\"n\">Met</th><th class=\"n\">Breached"
	    "</th><th class=\"n\">Open</th><th class=\"n\">Cancelled</th>"
	    "<th class=\"n\">Compliance</th></tr>\n");
	for (size_t i = 0; i < sc->nclocks; i++) {
		const sla_row_t *r = &sc->clocks[i];

		sbuf_adds(out, "<tr><td>");
		h_str(out, r->clock, "-");
		sbuf_adds(out, "</td><td class=\"n\">");
		h_count(out, r->met);
		sbuf_adds(out, "</td><td class=\"n\">");
		h_count(out, r->breached);
		sbuf_adds(out, "</td><td class=\"n\">");
		h_count(out, r->open);
		sbuf_adds(out, "</td><td class=\"n\">");
		h_count(out, r->cancelled);
		sbuf_printf(out, "</td><td class=\"n %s\"><strong>",
		    grade(r->compliance));
		h_pct(out, r->compliance);
		sbuf_adds(out, "</strong></td></tr>\n");
	}
	sbuf_adds(out, "</table></div>\n");
}

static void
html_money_rows(sbuf_t *out, const char *kind, const money_t *m, size_t n)
{
	if (n == 0) {
		sbuf_printf(out, "<tr><td>%s</td><td></td><td class=\"n\">0</td>"
		    "<td></td></tr>\n", kind);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		sbuf_printf(out, "<tr><td>%s</td><td>", i == 0 ? kind : "");
		h_str(out, m[i].currency, "(none)");
		sbuf_adds(out, "</td><td class=\"n\">");
		h_count(out, m[i].deals);
		sbuf_adds(out, "</td><td class=\"n\">");
		if (m[i].amount.s != NULL)
			report_render_amount(out, m[i].amount.s, m[i].amount.len);
		sbuf_adds(out, "</td></tr>\n");
	}
}

static void
html_pipeline(sbuf_t *out, const sc_t *sc)
{
	sbuf_adds(out, "<div class=\"card\"><h2>Pipeline from marketing's "
	    "leads</h2><p class=\"hint\">Deals at their current amount, per "
	    "currency</p>\n<table><tr><th>Deals</th><th>Currency</th>"
	    "<th class=\"n\">Count</th><th class=\"n\">Amount</th></tr>\n");
	html_money_rows(out, "Opened this week", sc->pipe[PIPE_OPENED],
	    sc->npipe[PIPE_OPENED]);
	html_money_rows(out, "Won this week", sc->pipe[PIPE_WON],
	    sc->npipe[PIPE_WON]);
	html_money_rows(out, "Lost this week", sc->pipe[PIPE_LOST],
	    sc->npipe[PIPE_LOST]);
	html_money_rows(out, "Open at week end", sc->pipe[PIPE_OPEN],
	    sc->npipe[PIPE_OPEN]);
	sbuf_adds(out, "</table></div>\n");
}

static void
html_all(sbuf_t *out, const sc_t *sc)
{
	sbuf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n<title>"
	    "Scorecard ");
	h_str(out, sc->week, "");
	sbuf_adds(out, "</title>\n<style>\n");
	sbuf_adds(out, css);
	sbuf_adds(out, "</style>\n</head>\n<body>\n<main>\n<header><div>"
	    "<h1>Marketing &amp; sales scorecard</h1><p class=\"sub\">");
	nice_day(out, sc->first_day, true);
	sbuf_adds(out, " &ndash; ");
	nice_day(out, sc->last_day, true);
	sbuf_adds(out, " &middot; ");
	h_str(out, sc->zone, "");
	sbuf_adds(out, "</p></div><div class=\"weekname\">");
	h_str(out, sc->week, "");
	sbuf_adds(out, "</div></header>\n");
	if (!sc->complete) {
		sbuf_adds(out, "<div class=\"banner\">This week is not over on "
		    "the daemon&#39;s clock (");
		h_str(out, sc->clock, "not started");
		sbuf_adds(out, "): these figures will still change.</div>\n");
	}
	html_tiles(out, sc);

	sbuf_adds(out, "<section class=\"grid\">\n<div class=\"card\"><h2>"
	    "Funnel</h2><p class=\"hint\">Leads created and MQLs qualified "
	    "this week; SAL, SQL and won: how far those MQLs have got</p>\n");
	svg_funnel(out, sc);
	sbuf_adds(out, "</div>\n<div class=\"card\"><h2>SLA compliance by "
	    "team</h2><p class=\"hint\">Cycles started this week: met of met "
	    "and breached</p>\n");
	svg_sla_teams(out, sc);
	sbuf_adds(out, "</div>\n</section>\n");

	sbuf_adds(out, "<div class=\"card\"><h2>Speed to lead</h2><p "
	    "class=\"hint\">MQL to first sales touch, elapsed time, by week "
	    "of qualification</p>\n");
	svg_trend(out, sc);
	sbuf_adds(out, "</div>\n");

	sbuf_adds(out, "<section class=\"grid\">\n");
	html_targets(out, sc);
	html_rejections(out, sc);
	sbuf_adds(out, "</section>\n<section class=\"grid\">\n");
	html_entries(out, sc);
	html_pipeline(out, sc);
	sbuf_adds(out, "</section>\n<footer>From the kpi_* views of handoff "
	    "&middot; week ");
	h_str(out, sc->start, "");
	sbuf_adds(out, " to ");
	h_str(out, sc->end, "");
	sbuf_adds(out, " &middot; daemon clock ");
	h_str(out, sc->clock, "not started");
	sbuf_adds(out, "</footer>\n</main>\n</body>\n</html>\n");
}

/* ---- entry points ---- */

typedef void (*render_fn)(sbuf_t *, const sc_t *);

static int
render_with(const jdoc_node_t *root, sbuf_t *out, char **err, render_fn fn)
{
	rd_t rd = { arena_new(1 << 14), NULL };
	sc_t sc;
	int rc = 0;

	read_doc(&rd, root, &sc);
	if (rd.err != NULL) {
		*err = rd.err;
		rc = -1;
	} else {
		fn(out, &sc);
	}
	arena_destroy(&rd.a);
	return rc;
}

int
report_render_text(const jdoc_node_t *report, sbuf_t *out, char **err)
{
	return render_with(report, out, err, text_all);
}

int
report_render_html(const jdoc_node_t *report, sbuf_t *out, char **err)
{
	return render_with(report, out, err, html_all);
}

int
report_render_format(const char *name, report_format_t *f)
{
	if (strcmp(name, "json") == 0)
		*f = REPORT_FORMAT_JSON;
	else if (strcmp(name, "text") == 0)
		*f = REPORT_FORMAT_TEXT;
	else if (strcmp(name, "html") == 0)
		*f = REPORT_FORMAT_HTML;
	else
		return -1;
	return 0;
}

int
report_render(const char *json, size_t len, report_format_t f, sbuf_t *out,
    char **err)
{
	jdoc_t *d = jdoc_new();
	arena_t *a = arena_new(1 << 16);
	const jdoc_node_t *root;
	char why[128];
	int rc;

	*err = NULL;
	if (jdoc_parse(d, a, json, len, &root, why, sizeof(why)) == -1) {
		*err = xasprintf("report: the reply is not a JSON object: %s",
		    why);
		rc = -1;
	} else if (f == REPORT_FORMAT_JSON) {
		sbuf_add(out, json, len);
		sbuf_addc(out, '\n');
		rc = 0;
	} else if (f == REPORT_FORMAT_TEXT) {
		rc = report_render_text(root, out, err);
	} else {
		rc = report_render_html(root, out, err);
	}
	arena_destroy(&a);
	jdoc_destroy(&d);
	return rc;
}
