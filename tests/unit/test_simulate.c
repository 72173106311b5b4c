/*
 * Tests of the event generator behind `handoffctl simulate`
 * (daemon/simulate.c): the same parameters give the same bytes; every event
 * passes the daemon's own codec; times never go backwards and stay within
 * the span; and over whole weeks the proportions it promises hold within
 * bounds (leads mostly in business hours and on weekdays, about three in
 * ten qualified, about one MQL in eight rejected, the CRM naming leads by
 * email first). The calendar is the example configuration's: Europe/London,
 * Monday to Thursday 09:00-17:30, Friday 09:00-12:00 and 13:00-16:00.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/codec.h"
#include "handoff/simulate.h"
#include "testutil.h"

#define H (3600 * TS_USEC)
#define DAY (24 * H)

static cal_t *
emea(void)
{
	static cfg_interval_t day[] = { { 540, 1050 } };
	static cfg_interval_t fri[] = { { 540, 720 }, { 780, 960 } };
	cfg_calendar_t c;
	char *err = NULL;
	cal_t *cal;

	memset(&c, 0, sizeof(c));
	c.name = "emea";
	c.timezone = "Europe/London";
	for (int d = 0; d < 4; d++) {
		c.hours[d] = day;
		c.nhours[d] = 1;
	}
	c.hours[4] = fri;
	c.nhours[4] = 2;
	cal = cal_new(&c, &err);
	if (cal == NULL)
		fail_msg("calendar: %s", err);
	return cal;
}

static ts_t
T(const char *s)
{
	ts_t t = 0;

	if (ts_parse_rfc3339(s, strlen(s), &t) != 0)
		fail_msg("bad timestamp in test: %s", s);
	return t;
}

static const sim_rep_t reps[] = {
	{ "ana@corp.example", "emea-smb" }, { "bo@corp.example", "emea-smb" },
	{ "dev@corp.example", "emea-ent" },
};

static sim_params_t
week_params(const cal_t *cal, uint64_t seed)
{
	sim_params_t p;

	memset(&p, 0, sizeof(p));
	p.seed = seed;
	p.start = T("2026-11-23T00:00:00Z"); /* a Monday, GMT */
	p.days = 7;
	p.leads_per_day = SIM_DEFAULT_RATE;
	p.tick_s = SIM_DEFAULT_TICK_S;
	p.cal = cal;
	p.reps = reps;
	p.nreps = ARRAY_LEN(reps);
	return p;
}

/* The whole stream as one string, one event a line. */
static char *
stream(const sim_params_t *p, size_t *nevents)
{
	char *err = NULL;
	sim_t *s = sim_new(p, &err);
	sim_event_t ev;
	sbuf_t b;

	if (s == NULL)
		fail_msg("sim_new: %s", err);
	sbuf_init(&b);
	*nevents = 0;
	while (sim_next(s, &ev)) {
		sbuf_add(&b, ev.json, ev.len);
		sbuf_addc(&b, '\n');
		(*nevents)++;
	}
	sim_destroy(&s);
	assert_null(s);
	return sbuf_take(&b);
}

static void
test_deterministic(void **state)
{
	cal_t *cal = emea();
	sim_params_t p = week_params(cal, 42);
	size_t n1, n2, n3;
	char *a = stream(&p, &n1), *b = stream(&p, &n2), *c;

	(void)state;
	assert_true(n1 > 1000);
	assert_int_equal(n1, n2);
	assert_string_equal(a, b);
	p.seed = 43;
	c = stream(&p, &n3);
	assert_true(strcmp(a, c) != 0);
	free(a);
	free(b);
	free(c);
	cal_destroy(&cal);
}

static void
test_bad_params(void **state)
{
	cal_t *cal = emea();
	sim_params_t p = week_params(cal, 1);
	char *err = NULL;
	sim_t *s;

	(void)state;
	p.days = 0;
	assert_null(s = sim_new(&p, &err));
	assert_non_null(strstr(err, "days must be 1 to 366"));
	free(err);
	p = week_params(cal, 1);
	p.days = SIM_MAX_DAYS + 1;
	assert_null(s = sim_new(&p, &err));
	free(err);
	p = week_params(cal, 1);
	p.leads_per_day = 0;
	assert_null(s = sim_new(&p, &err));
	assert_non_null(strstr(err, "leads a day"));
	free(err);
	p = week_params(cal, 1);
	p.tick_s = -1;
	assert_null(s = sim_new(&p, &err));
	assert_non_null(strstr(err, "clock.tick"));
	free(err);
	p = week_params(cal, 1);
	p.cal = NULL;
	assert_null(s = sim_new(&p, &err));
	free(err);
	cal_destroy(&cal);
}

/* Counts over one week of one seed. */
struct tally {
	size_t total, by_type[EV__COUNT];
	size_t persons, early_persons, early_mql;
	size_t created_weekday, created_weekend, created_business;
	size_t crm_first_with_email, crm_first_without_email;
	size_t crm_later_with_email;
};

/* A small string set, enough for a week's emails and ids. */
struct set {
	char **k;
	size_t n, cap;
};

static size_t
set_find(const struct set *s, const char *k)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->k[i], k) == 0)
			return i;
	return SIZE_MAX;
}

static bool
set_add(struct set *s, const char *k)
{
	if (set_find(s, k) != SIZE_MAX)
		return false;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->k = realloc(s->k, s->cap * sizeof(*s->k));
		assert_non_null(s->k);
	}
	s->k[s->n++] = strdup(k);
	return true;
}

static void
set_free(struct set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->k[i]);
	free(s->k);
}

static void
lower(char *d, const char *s, size_t n)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < n; i++)
		d[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') :
		    s[i];
	d[i] = '\0';
}

/*
 * Runs one week through the codec and checks every event on the way: it
 * decodes, its type and occurred_at are the ones announced, time never goes
 * back, nothing lies past the end and only the last tick lies at it, a
 * lead is created before anything else names it.
 */
static void
run_week(const cal_t *cal, uint64_t seed, struct tally *t)
{
	sim_params_t p = week_params(cal, seed);
	const cal_tz_t *tz = cal_tz(cal);
	struct set emails = { 0 }, lead_ids = { 0 }, mql_emails = { 0 };
	struct set early = { 0 }, crm_ids = { 0 };
	/* email of each lead id, in lead_ids order */
	char **email_of = NULL;
	char err[CODEC_ERRLEN], *perr = NULL;
	codec_t *codec = codec_new();
	arena_t *a = arena_new(64 * 1024);
	sim_t *s = sim_new(&p, &perr);
	ts_t prev = p.start, end;
	sim_event_t ev;
	event_t e;

	if (s == NULL)
		fail_msg("sim_new: %s", perr);
	end = sim_end(s);
	assert_int_equal(end, T("2026-11-30T00:00:00Z"));
	memset(t, 0, sizeof(*t));
	while (sim_next(s, &ev)) {
		const char *topic = ev_type_name(ev.type);

		arena_reset(a);
		if (codec_decode(codec, a, topic, strlen(topic), ev.json,
		    ev.len, 65536, &e, err, sizeof(err)) != 0)
			fail_msg("event %zu does not decode: %s\n%s", t->total,
			    err, ev.json);
		assert_int_equal(e.type, ev.type);
		assert_int_equal(e.occurred_at, ev.at);
		assert_int_equal(ev.len, strlen(ev.json));
		assert_null(memchr(ev.json, '\n', ev.len));
		if (ev.at < prev)
			fail_msg("event %zu goes back in time: %s", t->total,
			    ev.json);
		assert_true(ev.at >= p.start);
		assert_true(ev.at <= end);
		if (ev.at == end)
			assert_int_equal(ev.type, EV_CLOCK_TICK);
		prev = ev.at;
		t->total++;
		t->by_type[ev.type]++;

		switch (ev.type) {
		case EV_LEAD_UPSERTED:
			if (e.lead.email != NULL) {
				char m[300];
				int64_t local = ev.at / TS_USEC +
				    cal_tz_offset(tz, ev.at);
				int64_t day = local / 86400, wd = (day + 3) % 7;
				int hour = (int)(local % 86400 / 3600);

				lower(m, e.lead.email, sizeof(m));
				if (set_add(&lead_ids, e.lead.id)) {
					email_of = realloc(email_of, lead_ids.n *
					    sizeof(*email_of));
					email_of[lead_ids.n - 1] = strdup(m);
				}
				if (!set_add(&emails, m))
					break;
				/* A new person. */
				if (wd < 5)
					t->created_weekday++;
				else
					t->created_weekend++;
				if (wd < 5 && hour >= 8 && hour < 18)
					t->created_business++;
				if (ev.at < p.start + 4 * DAY)
					set_add(&early, m);
			} else if (set_find(&lead_ids, e.lead.id) == SIZE_MAX) {
				fail_msg("update before the lead: %s",
				    ev.json);
			}
			break;
		case EV_LEAD_QUALIFIED:
		case EV_LEAD_RECYCLED:
		case EV_LEAD_DISQUALIFIED: {
			size_t i = set_find(&lead_ids, e.lead.id);

			if (i == SIZE_MAX)
				fail_msg("%s before the lead: %s", topic,
				    ev.json);
			if (ev.type == EV_LEAD_QUALIFIED)
				set_add(&mql_emails, email_of[i]);
			break;
		}
		case EV_SALES_ACCEPTED:
		case EV_SALES_REJECTED:
		case EV_SALES_ACTIVITY:
		case EV_SALES_REASSIGNED:
		case EV_DEAL_OPENED:
			/* The CRM's first word on a lead names it by email
			 * and its own id; later ones by the id alone. */
			assert_non_null(e.ref.crm_id);
			if (set_add(&crm_ids, e.ref.crm_id)) {
				if (e.ref.email != NULL) {
					char m[300];

					t->crm_first_with_email++;
					lower(m, e.ref.email, sizeof(m));
					if (set_find(&mql_emails, m) ==
					    SIZE_MAX)
						fail_msg("the CRM names a lead "
						    "that is no MQL: %s",
						    ev.json);
				} else {
					t->crm_first_without_email++;
				}
			} else if (e.ref.email != NULL) {
				t->crm_later_with_email++;
			}
			if (ev.type == EV_SALES_REASSIGNED) {
				bool known = false;

				for (size_t i = 0; i < ARRAY_LEN(reps); i++)
					known |= strcmp(e.owner,
					    reps[i].id) == 0 && strcmp(e.team,
					    reps[i].team) == 0;
				assert_true(known);
			}
			break;
		default:
			break;
		}
	}
	assert_int_equal(prev, end);
	t->persons = emails.n;
	t->early_persons = early.n;
	for (size_t i = 0; i < early.n; i++)
		if (set_find(&mql_emails, early.k[i]) != SIZE_MAX)
			t->early_mql++;
	for (size_t i = 0; i < lead_ids.n; i++)
		free(email_of[i]);
	free(email_of);
	set_free(&emails);
	set_free(&lead_ids);
	set_free(&mql_emails);
	set_free(&early);
	set_free(&crm_ids);
	sim_destroy(&s);
	arena_destroy(&a);
	codec_destroy(&codec);
}

static void
test_weeks(void **state)
{
	cal_t *cal = emea();

	(void)state;
	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct tally t;
		double mql, reject, business;
		size_t answered;

		run_week(cal, seed, &t);
		answered = t.by_type[EV_SALES_ACCEPTED] +
		    t.by_type[EV_SALES_REJECTED];
		mql = (double)t.early_mql / (double)t.early_persons;
		reject = (double)t.by_type[EV_SALES_REJECTED] /
		    (double)answered;
		business = (double)t.created_business / (double)t.persons;
		print_message("seed %" PRIu64 ": %zu events, %zu people, "
		    "%.2f MQL, %.2f rejected, %.2f in business hours, "
		    "%zu deals opened, %zu closed\n", seed, t.total,
		    t.persons, mql, reject, business,
		    t.by_type[EV_DEAL_OPENED], t.by_type[EV_DEAL_CLOSED]);

		/* A few thousand events; a tick every 5 minutes. */
		assert_int_equal(t.by_type[EV_CLOCK_TICK], 7 * 24 * 12);
		assert_true(t.total > 3000 && t.total < 9000);
		/* 150 to 300 leads a weekday, far fewer at the weekend. */
		assert_true(t.created_weekday >= 5 * 150 &&
		    t.created_weekday <= 5 * 300);
		assert_true(t.created_weekend * 5 < t.created_weekday);
		assert_true(business > 0.6);
		/* About three in ten qualify (those with days to do so). */
		assert_true(mql > 0.22 && mql < 0.38);
		/* About one in eight answers is a rejection. */
		assert_true(reject > 0.07 && reject < 0.19);
		assert_true(t.by_type[EV_SALES_ACCEPTED] >
		    t.by_type[EV_SALES_REJECTED] * 4);
		/* Every kind of event happens. */
		for (int k = 0; k < EV__COUNT; k++)
			if (k != EV_SALES_REASSIGNED && k != EV_LEAD_RECYCLED)
				assert_true(t.by_type[k] > 0);
		assert_true(t.by_type[EV_SALES_ACTIVITY] >
		    t.by_type[EV_SALES_ACCEPTED]);
		/* The CRM introduces each lead by email and crm_id. */
		assert_int_equal(t.crm_first_without_email, 0);
		assert_int_equal(t.crm_later_with_email, 0);
		assert_int_equal(t.crm_first_with_email, answered);
		/* Some people are in both marketing tools. */
		assert_true(t.by_type[EV_LEAD_UPSERTED] > t.persons);
	}
	cal_destroy(&cal);
}

/* The sales side keeps office hours: an MQL of Friday evening is answered
 * on Monday, and most answers fall in open hours. */
static void
test_sales_office_hours(void **state)
{
	cal_t *cal = emea();
	sim_params_t p = week_params(cal, 7);
	char *err = NULL;
	sim_t *s = sim_new(&p, &err);
	size_t open = 0, answers = 0;
	sim_event_t ev;

	(void)state;
	assert_non_null(s);
	while (sim_next(s, &ev))
		if (ev.type == EV_SALES_ACCEPTED ||
		    ev.type == EV_SALES_REJECTED) {
			answers++;
			/* cal_is_open(t) says whether [t, t+1us) is open; an
			 * answer at a closing time ends open time. */
			if (cal_is_open(cal, ev.at - 1))
				open++;
		}
	sim_destroy(&s);
	assert_true(answers > 100);
	assert_true(open * 100 > answers * 80);
	cal_destroy(&cal);
}

static void
test_span_and_ticks(void **state)
{
	cal_t *cal = emea();
	sim_params_t p = week_params(cal, 3);
	char *err = NULL;
	size_t ticks = 0, n = 0;
	sim_event_t ev, last;
	sim_t *s;

	(void)state;
	/* A week across the end of summer time is an hour longer. */
	p.start = T("2026-10-18T23:00:00Z"); /* Monday 00:00 BST */
	p.days = 7;
	assert_non_null(s = sim_new(&p, &err));
	assert_int_equal(sim_end(s), T("2026-10-26T00:00:00Z"));
	sim_destroy(&s);

	/* No ticks: nothing but business events. */
	p = week_params(cal, 3);
	p.tick_s = 0;
	p.days = 1;
	assert_non_null(s = sim_new(&p, &err));
	while (sim_next(s, &ev)) {
		assert_int_not_equal(ev.type, EV_CLOCK_TICK);
		assert_true(ev.at < sim_end(s));
		n++;
	}
	assert_true(n > 100);
	sim_destroy(&s);

	/* An interval that does not divide the span still ends on a tick
	 * at the end. */
	p = week_params(cal, 3);
	p.tick_s = 7 * 60;
	p.days = 1;
	assert_non_null(s = sim_new(&p, &err));
	memset(&last, 0, sizeof(last));
	while (sim_next(s, &ev)) {
		if (ev.type == EV_CLOCK_TICK)
			ticks++;
		last = ev;
	}
	assert_int_equal(ticks, 1440 / 7 + 1);
	assert_int_equal(last.type, EV_CLOCK_TICK);
	assert_int_equal(last.at, sim_end(s));
	sim_destroy(&s);
	cal_destroy(&cal);
}

static void
test_ids_and_retime(void **state)
{
	cal_t *cal = emea();
	sim_params_t p = week_params(cal, 5);
	char *err = NULL, tag1[16], *want;
	sim_t *s = sim_new(&p, &err), *s2;
	char cerr[CODEC_ERRLEN];
	sim_event_t ev;
	sbuf_t b;
	ts_t now = T("2027-01-04T10:11:12.345678Z");
	codec_t *codec = codec_new();
	arena_t *a = arena_new(4096);
	event_t e;

	(void)state;
	assert_non_null(s);
	snprintf(tag1, sizeof(tag1), "%s", sim_tag(s));
	assert_int_equal(strlen(tag1), 6);
	assert_true(sim_next(s, &ev));
	want = xasprintf("-%s-", tag1);
	assert_non_null(strstr(ev.json, want));
	free(want);

	/* Another start or seed, another tag: no (source, id) in common. */
	p.start += DAY;
	assert_non_null(s2 = sim_new(&p, &err));
	assert_string_not_equal(sim_tag(s2), tag1);
	sim_destroy(&s2);

	sbuf_init(&b);
	sim_event_retime(&ev, now, &b);
	assert_non_null(strstr(b.s, "\"occurred_at\":\"2027-01-04T10:11:12.345678Z\""));
	if (codec_decode(codec, a, ev_type_name(ev.type),
	    strlen(ev_type_name(ev.type)), b.s, b.len, 0, &e, cerr,
	    sizeof(cerr)) != 0)
		fail_msg("retimed event does not decode: %s", cerr);
	assert_int_equal(e.occurred_at, now);
	sbuf_free(&b);
	sim_destroy(&s);
	arena_destroy(&a);
	codec_destroy(&codec);
	cal_destroy(&cal);
}

static void
test_default_start(void **state)
{
	cal_t *cal = emea();
	const cal_tz_t *tz = cal_tz(cal);

	(void)state;
	/* Saturday night: the week before this one began on the 16th. */
	assert_int_equal(sim_default_start(tz, T("2026-11-28T23:06:00Z")),
	    T("2026-11-16T00:00:00Z"));
	/* Monday 00:30 local: this week has just begun, so last week. */
	assert_int_equal(sim_default_start(tz, T("2026-11-23T00:30:00Z")),
	    T("2026-11-16T00:00:00Z"));
	/* Sunday 23:30 UTC in summer is already Monday in London. */
	assert_int_equal(sim_default_start(tz, T("2026-06-28T23:30:00Z")),
	    T("2026-06-21T23:00:00Z"));
	assert_int_equal(sim_default_start(tz, T("2026-06-28T22:30:00Z")),
	    T("2026-06-14T23:00:00Z"));
	cal_destroy(&cal);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_weeks),
		cmocka_unit_test(test_sales_office_hours),
		cmocka_unit_test(test_span_and_ticks),
		cmocka_unit_test(test_ids_and_retime),
		cmocka_unit_test(test_default_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
