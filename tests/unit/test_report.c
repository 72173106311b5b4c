/*
 * Tests of the scorecard's rendering (daemon/report_render.c): how figures
 * are written, escaping of the data in HTML and on a terminal, an empty
 * week, documents that lack what the renderers need; and of the ISO week
 * names and arithmetic of daemon/report.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/report.h"
#include "handoff/report_render.h"
#include "handoff/ts.h"
#include "testutil.h"

/* A week with a bit of everything, and strings that need escaping. */
static const char full_doc[] =
    "{\"week\":\"2026-W48\",\"zone\":\"Europe/Berlin\","
    "\"start\":\"2026-11-22T23:00:00Z\",\"end\":\"2026-11-29T23:00:00Z\","
    "\"first_day\":\"2026-11-23\",\"last_day\":\"2026-11-29\","
    "\"clock\":\"2026-12-01T12:00:00Z\",\"complete\":true,"
    "\"funnel\":{\"entered\":{\"lead\":1234,\"mql\":9,\"sal\":4,\"sql\":2,"
    "\"won\":1,\"lost\":1,\"recycled\":3,\"disqualified\":2},"
    "\"leads\":{\"created\":9,\"became_mql\":8},"
    "\"mqls\":{\"count\":9,\"reached_sal\":5,\"reached_sql\":2,\"won\":1,"
    "\"lost\":0},\"conversion\":{\"lead_mql\":0.8889,\"mql_sal\":0.5556,"
    "\"sal_sql\":0.4000,\"sql_won\":0.5000,\"mql_won\":0.1111}},"
    "\"acceptance\":{\"mqls\":9,\"answered\":8,\"accepted\":5,\"rejected\":3,"
    "\"rate\":0.6250},"
    "\"speed_to_lead\":{\"mqls\":9,\"touched\":4,\"median_s\":19800,"
    "\"p90_s\":246960},"
    "\"sla\":{\"clocks\":[{\"clock\":\"mql_acceptance\",\"met\":5,"
    "\"breached\":3,\"open\":0,\"cancelled\":1,\"compliance\":0.6250}],"
    "\"teams\":[{\"team\":\"<b>Team & co</b>\",\"clock\":\"mql_acceptance\","
    "\"met\":5,\"breached\":1,\"open\":0,\"cancelled\":1,"
    "\"compliance\":0.8333},{\"team\":null,\"clock\":\"mql_acceptance\","
    "\"met\":0,\"breached\":0,\"open\":2,\"cancelled\":0,"
    "\"compliance\":null}]},"
    "\"rejections\":{\"total\":3,\"reasons\":[{\"reason\":"
    "\"<script>alert('x')</script>\",\"count\":2},{\"reason\":"
    "\"clear\\u001b[2J screen\",\"count\":1}]},"
    "\"targets\":[{\"name\":\"mql_volume\",\"metric\":\"mql_count\","
    "\"period\":\"week\",\"team\":null,\"goal\":10,\"actual\":9,"
    "\"met\":false,\"evaluations\":[{\"period_start\":"
    "\"2026-11-22T23:00:00Z\",\"period_end\":\"2026-11-29T23:00:00Z\","
    "\"actual\":9,\"missed\":true}]},{\"name\":\"acceptance\","
    "\"metric\":\"acceptance_rate\",\"period\":\"week\",\"team\":\"smb\","
    "\"goal\":0.6,\"actual\":0.6250,\"met\":true,\"evaluations\":[]}],"
    "\"pipeline\":{\"opened\":[{\"currency\":\"EUR\",\"deals\":2,"
    "\"amount\":62000.50}],\"won\":[{\"currency\":\"EUR\",\"deals\":1,"
    "\"amount\":1234567.00}],\"lost\":[],\"open\":[{\"currency\":null,"
    "\"deals\":1,\"amount\":0}]},"
    "\"trend\":[{\"week\":\"2026-W47\",\"start\":\"2026-11-15T23:00:00Z\","
    "\"mqls\":1,\"touched\":1,\"median_s\":7200,\"p90_s\":7200},"
    "{\"week\":\"2026-W48\",\"start\":\"2026-11-22T23:00:00Z\",\"mqls\":9,"
    "\"touched\":4,\"median_s\":19800,\"p90_s\":246960}]}";

/* A week with nothing in it, in a configuration with no targets. */
static const char empty_doc[] =
    "{\"week\":\"2026-W10\",\"zone\":\"UTC\","
    "\"start\":\"2026-03-02T00:00:00Z\",\"end\":\"2026-03-09T00:00:00Z\","
    "\"first_day\":\"2026-03-02\",\"last_day\":\"2026-03-08\","
    "\"clock\":null,\"complete\":false,"
    "\"funnel\":{\"entered\":{\"lead\":0,\"mql\":0,\"sal\":0,\"sql\":0,"
    "\"won\":0,\"lost\":0,\"recycled\":0,\"disqualified\":0},"
    "\"leads\":{\"created\":0,\"became_mql\":0},"
    "\"mqls\":{\"count\":0,\"reached_sal\":0,\"reached_sql\":0,\"won\":0,"
    "\"lost\":0},\"conversion\":{\"lead_mql\":null,\"mql_sal\":null,"
    "\"sal_sql\":null,\"sql_won\":null,\"mql_won\":null}},"
    "\"acceptance\":{\"mqls\":0,\"answered\":0,\"accepted\":0,\"rejected\":0,"
    "\"rate\":null},"
    "\"speed_to_lead\":{\"mqls\":0,\"touched\":0,\"median_s\":null,"
    "\"p90_s\":null},"
    "\"sla\":{\"clocks\":[],\"teams\":[]},"
    "\"rejections\":{\"total\":0,\"reasons\":[]},\"targets\":[],"
    "\"pipeline\":{\"opened\":[],\"won\":[],\"lost\":[],\"open\":[]},"
    "\"trend\":[{\"week\":\"2026-W10\",\"start\":\"2026-03-02T00:00:00Z\","
    "\"mqls\":0,\"touched\":0,\"median_s\":null,\"p90_s\":null}]}";

/* Renders doc in format f; the output (malloc'd), or fails the test. */
static char *
render_ok(const char *doc, report_format_t f)
{
	char *err = NULL;
	sbuf_t out;

	sbuf_init(&out);
	if (report_render(doc, strlen(doc), f, &out, &err) != 0)
		fail_msg("render failed: %s", err);
	return sbuf_take(&out);
}

/* The error rendering doc gives (malloc'd), or fails the test. */
static char *
render_err(const char *doc, report_format_t f)
{
	char *err = NULL;
	sbuf_t out;

	sbuf_init(&out);
	if (report_render(doc, strlen(doc), f, &out, &err) != -1)
		fail_msg("render of a bad document succeeded: %s", doc);
	sbuf_free(&out);
	assert_non_null(err);
	return err;
}

/* doc with the first occurrence of from replaced by to (malloc'd). */
static char *
replaced(const char *doc, const char *from, const char *to)
{
	const char *p = strstr(doc, from);
	sbuf_t b;

	if (p == NULL)
		fail_msg("'%s' is not in the document", from);
	sbuf_init(&b);
	sbuf_add(&b, doc, (size_t)(p - doc));
	sbuf_adds(&b, to);
	sbuf_adds(&b, p + strlen(from));
	return sbuf_take(&b);
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("output lacks '%s':\n%s", needle, hay);
}

static void
assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("output has '%s':\n%s", needle, hay);
}

#define FIGURE(fn, arg, want)						\
	do {								\
		sbuf_t b_;						\
		sbuf_init(&b_);						\
		fn(&b_, arg);						\
		assert_string_equal(b_.s != NULL ? b_.s : "", want);	\
		sbuf_free(&b_);						\
	} while (0)

static void
amount_is(const char *lit, const char *want)
{
	sbuf_t b;

	sbuf_init(&b);
	report_render_amount(&b, lit, strlen(lit));
	assert_string_equal(b.s != NULL ? b.s : "", want);
	sbuf_free(&b);
}

static void
test_counts(void **state)
{
	(void)state;
	FIGURE(report_render_count, 0, "0");
	FIGURE(report_render_count, 999, "999");
	FIGURE(report_render_count, 1000, "1,000");
	FIGURE(report_render_count, 1234567, "1,234,567");
	FIGURE(report_render_count, -1234, "-1,234");
	FIGURE(report_render_count, INT64_MAX, "9,223,372,036,854,775,807");
	FIGURE(report_render_count, INT64_MIN, "-9,223,372,036,854,775,808");
}

static void
test_amounts(void **state)
{
	(void)state;
	amount_is("62000.50", "62,000.50");
	amount_is("1234567.00", "1,234,567.00");
	amount_is("0", "0");
	amount_is("999.99", "999.99");
	amount_is("-1234.5", "-1,234.5");
	amount_is("100000", "100,000");
	/* Not a plain decimal: left as it is. */
	amount_is("1e5", "1e5");
	amount_is("1.5e3", "1.5e3");
	amount_is("", "");
	amount_is("-", "-");
}

static void
test_percents(void **state)
{
	(void)state;
	FIGURE(report_render_percent, 0.625, "62.5%");
	FIGURE(report_render_percent, 1.0, "100%");
	FIGURE(report_render_percent, 0.0, "0%");
	FIGURE(report_render_percent, 0.88889, "88.9%");
	FIGURE(report_render_percent, 0.4, "40%");
	FIGURE(report_render_percent, 0.0004, "0%");
	FIGURE(report_render_percent, NAN, "-");
}

static void
test_durations(void **state)
{
	(void)state;
	FIGURE(report_render_duration, 0.0, "0s");
	FIGURE(report_render_duration, 45.0, "45s");
	FIGURE(report_render_duration, 59.6, "1m");
	FIGURE(report_render_duration, 300.0, "5m");
	FIGURE(report_render_duration, 3599.0, "1h");
	FIGURE(report_render_duration, 14400.0, "4h");
	FIGURE(report_render_duration, 19800.0, "5h 30m");
	FIGURE(report_render_duration, 86400.0, "1d");
	FIGURE(report_render_duration, 246960.0, "2d 21h");
	FIGURE(report_render_duration, 342000.0, "3d 23h");
	FIGURE(report_render_duration, NAN, "-");
	FIGURE(report_render_duration, INFINITY, "-");
}

static void
test_escaping(void **state)
{
	static const char in[] = "<a href=\"x\">&'</a>";
	static const char ctl[] = "a\x1b[31mb\nc\x7f\xc2\x9b" "d\xc3\xa9";
	sbuf_t b;

	(void)state;
	sbuf_init(&b);
	report_render_html_escape(&b, in, strlen(in));
	assert_string_equal(b.s,
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	sbuf_reset(&b);
	/* ESC, newline, DEL and the C1 CSI go; UTF-8 letters stay. */
	report_render_text_clean(&b, ctl, strlen(ctl));
	assert_string_equal(b.s, "a?[31mb?c??d\xc3\xa9");
	sbuf_free(&b);
}

static void
test_text(void **state)
{
	char *t = render_ok(full_doc, REPORT_FORMAT_TEXT), *doc;

	(void)state;
	assert_contains(t, "week 2026-W48\n");
	assert_contains(t, "Mon 23 Nov 2026 to Sun 29 Nov 2026 (Europe/Berlin)");
	assert_contains(t, "62.5% (5 accepted of 8 answered; 3 rejected)");
	assert_contains(t, "median 5h 30m, p90 2d 21h (4 of 9 MQLs touched)");
	/* Aligned tables: numbers to the right of their column. */
	assert_contains(t, "  lead            1,234\n  MQL                 9\n");
	assert_contains(t, "  mql_acceptance    5         3     0          1"
	    "       62.5%\n");
	assert_contains(t, "  (no team)         mql_acceptance    0         0"
	    "     2          0           -\n");
	assert_contains(t, "  lost this week                  0\n");
	assert_contains(t, "  opened this week  EUR           2     62,000.50\n");
	assert_contains(t, "  won this week     EUR           1  1,234,567.00\n");
	assert_contains(t, "  open at week end  (none)        1             0\n");
	assert_contains(t, "  mql_volume  mql_count         >= 10          9  "
	    "MISSED  all   9, missed\n");
	assert_contains(t, "  acceptance  acceptance_rate  >= 60%      62.5%  "
	    "met     smb   not evaluated\n");
	assert_contains(t, "  2026-W48     9        4  5h 30m  2d 21h\n");
	/* The data's strings as they are, but no control character. */
	assert_contains(t, "<script>alert('x')</script>");
	assert_contains(t, "clear?[2J screen");
	assert_lacks(t, "\x1b");
	assert_lacks(t, "NOT OVER YET");
	free(t);

	/* Short of a goal in a week not over yet is not missed yet. */
	doc = replaced(full_doc, "\"complete\":true", "\"complete\":false");
	t = render_ok(doc, REPORT_FORMAT_TEXT);
	assert_contains(t, "NOT OVER YET: the daemon's clock reads "
	    "2026-12-01T12:00:00Z; these figures will still change\n");
	assert_contains(t, "          9  below   all   9, missed\n");
	assert_lacks(t, "MISSED");
	free(t);
	t = render_ok(doc, REPORT_FORMAT_HTML);
	assert_contains(t, "<span class=\"pill muted\">below, so far</span>");
	free(t);
	free(doc);
}

static void
test_html(void **state)
{
	char *h = render_ok(full_doc, REPORT_FORMAT_HTML);

	(void)state;
	assert_true(strncmp(h, "<!DOCTYPE html>\n", 16) == 0);
	assert_contains(h, "<title>Scorecard 2026-W48</title>");
	assert_contains(h, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	assert_contains(h, "&lt;b&gt;Team &amp; co&lt;/b&gt;");
	assert_contains(h, "(no team)");
	assert_contains(h, "62,000.50");
	assert_contains(h, "5h 30m");
	assert_lacks(h, "<script");
	assert_lacks(h, "<b>Team");
	/* One page, nothing fetched. */
	assert_lacks(h, "src=");
	assert_lacks(h, "href=");
	assert_lacks(h, "url(");
	assert_lacks(h, "http");
	assert_lacks(h, "@import");
	/* The three charts. */
	assert_contains(h, "aria-label=\"Funnel\"");
	assert_contains(h, "aria-label=\"SLA compliance by team\"");
	assert_contains(h, "aria-label=\"Speed to lead trend\"");
	assert_lacks(h, "nan");
	assert_lacks(h, "inf");
	assert_true(strcmp(h + strlen(h) - 8, "</html>\n") == 0);
	free(h);
}

static void
test_json(void **state)
{
	char *j = render_ok(full_doc, REPORT_FORMAT_JSON);

	(void)state;
	assert_int_equal(strlen(j), strlen(full_doc) + 1);
	assert_memory_equal(j, full_doc, strlen(full_doc));
	assert_int_equal(j[strlen(full_doc)], '\n');
	free(j);
}

static void
test_empty_week(void **state)
{
	char *t = render_ok(empty_doc, REPORT_FORMAT_TEXT);
	char *h = render_ok(empty_doc, REPORT_FORMAT_HTML);

	(void)state;
	assert_contains(t, "NOT OVER YET: the daemon's clock reads -;");
	assert_contains(t, "  MQLs             0\n");
	assert_contains(t, "  acceptance rate  - (0 accepted of 0 answered; "
	    "0 rejected)\n");
	assert_contains(t, "median -, p90 -");
	assert_contains(t, "  lead -> MQL     0        0     -\n");
	assert_contains(t, "no SLA cycles started this week");
	assert_contains(t, "no targets configured");
	assert_contains(t, "no rejections this week");
	assert_contains(t, "  opened this week                0\n");
	assert_lacks(t, "nan");
	assert_lacks(t, "inf");
	assert_contains(h, "No SLA cycles started this week.");
	assert_contains(h, "No targets configured.");
	assert_contains(h, "No rejections this week.");
	assert_contains(h, "not over");
	assert_lacks(h, "nan");
	assert_lacks(h, "inf");
	free(t);
	free(h);
}

static void
test_bad_documents(void **state)
{
	char *doc, *err;

	(void)state;
	err = render_err("not json", REPORT_FORMAT_TEXT);
	assert_string_equal(err, "report: the reply is not a JSON object: "
	    "body: not valid JSON");
	free(err);
	err = render_err("[1]", REPORT_FORMAT_HTML);
	assert_string_equal(err, "report: the reply is not a JSON object: "
	    "body: not a JSON object");
	free(err);
	err = render_err("{}", REPORT_FORMAT_TEXT);
	assert_string_equal(err, "report: week: missing");
	free(err);

	doc = replaced(full_doc, "\"mql\":9,", "");
	err = render_err(doc, REPORT_FORMAT_TEXT);
	assert_string_equal(err, "report: funnel.entered.mql: missing");
	free(err);
	free(doc);

	doc = replaced(full_doc, "\"rate\":0.6250", "\"rate\":\"high\"");
	err = render_err(doc, REPORT_FORMAT_HTML);
	assert_string_equal(err, "report: acceptance.rate: not a number");
	free(err);
	free(doc);

	doc = replaced(full_doc, "\"deals\":2,", "\"deals\":-2,");
	err = render_err(doc, REPORT_FORMAT_TEXT);
	assert_string_equal(err, "report: pipeline.opened[0].deals: "
	    "not a count");
	free(err);
	free(doc);

	doc = replaced(full_doc, "\"missed\":true", "\"missed\":1");
	err = render_err(doc, REPORT_FORMAT_TEXT);
	assert_string_equal(err, "report: targets[0].evaluations[0].missed: "
	    "not a boolean");
	free(err);
	free(doc);

	/* JSON as it is needs only valid JSON. */
	doc = render_ok("{}", REPORT_FORMAT_JSON);
	assert_string_equal(doc, "{}\n");
	free(doc);
}

static void
test_formats(void **state)
{
	report_format_t f = REPORT_FORMAT_HTML;

	(void)state;
	assert_int_equal(report_render_format("text", &f), 0);
	assert_int_equal(f, REPORT_FORMAT_TEXT);
	assert_int_equal(report_render_format("json", &f), 0);
	assert_int_equal(f, REPORT_FORMAT_JSON);
	assert_int_equal(report_render_format("html", &f), 0);
	assert_int_equal(f, REPORT_FORMAT_HTML);
	assert_int_equal(report_render_format("pdf", &f), -1);
	assert_int_equal(report_render_format("TEXT", &f), -1);
	assert_int_equal(report_render_format("", &f), -1);
}

static void
week_ok(const char *s, int year, int week)
{
	report_week_t w;
	char why[160];

	if (report_parse_week(s, &w, why, sizeof(why)) != 0)
		fail_msg("'%s' should parse: %s", s, why);
	assert_int_equal(w.year, year);
	assert_int_equal(w.week, week);
}

static void
week_bad(const char *s, const char *want)
{
	report_week_t w;
	char why[160];

	if (report_parse_week(s, &w, why, sizeof(why)) != -1)
		fail_msg("'%s' should not parse", s);
	assert_string_equal(why, want);
}

static void
test_week_names(void **state)
{
	char buf[REPORT_WEEK_BUFLEN];
	report_week_t w = { 2026, 5 };

	(void)state;
	week_ok("2026-W48", 2026, 48);
	week_ok("2026-w01", 2026, 1);
	week_ok("2026-W53", 2026, 53);
	week_ok("2020-W53", 2020, 53);
	week_bad("2025-W53", "'2025-W53' is not a week of 2025 (it has weeks "
	    "01 to 52)");
	week_bad("2026-W60", "'2026-W60' is not a week of 2026 (it has weeks "
	    "01 to 53)");
	week_bad("2026-W00", "'2026-W00' is not a week of 2026 (it has weeks "
	    "01 to 53)");
	week_bad("garbage", "'garbage' is not an ISO week like 2026-W48");
	week_bad("2026W48", "'2026W48' is not an ISO week like 2026-W48");
	week_bad("2026-W4", "'2026-W4' is not an ISO week like 2026-W48");
	week_bad("2026-W480", "'2026-W480' is not an ISO week like 2026-W48");
	week_bad("2026-11-23", "'2026-11-23' is not an ISO week like 2026-W48");
	week_bad("", "'' is not an ISO week like 2026-W48");
	week_bad("0999-W01", "'0999-W01': the year must be from 1000 to 9999");
	week_bad("2026-W4\n", "'2026-W4?' is not an ISO week like 2026-W48");
	report_week_format(w, buf);
	assert_string_equal(buf, "2026-W05");
}

static void
test_week_arithmetic(void **state)
{
	report_week_t w;

	(void)state;
	assert_int_equal(report_weeks_in_year(2026), 53);
	assert_int_equal(report_weeks_in_year(2025), 52);
	assert_int_equal(report_weeks_in_year(2020), 53);
	assert_int_equal(report_weeks_in_year(2015), 53);
	assert_int_equal(report_weeks_in_year(2021), 52);

	w.year = 2026;
	w.week = 48;
	assert_int_equal(report_week_monday(w),
	    ts_days_from_civil(2026, 11, 23));
	w.week = 1;
	assert_int_equal(report_week_monday(w),
	    ts_days_from_civil(2025, 12, 29));

	/* Days near the new year belong to the year of their Thursday. */
	w = report_week_of_day(ts_days_from_civil(2027, 1, 1));
	assert_int_equal(w.year, 2026);
	assert_int_equal(w.week, 53);
	w = report_week_of_day(ts_days_from_civil(2024, 12, 30));
	assert_int_equal(w.year, 2025);
	assert_int_equal(w.week, 1);
	w = report_week_of_day(ts_days_from_civil(2026, 11, 29));
	assert_int_equal(w.year, 2026);
	assert_int_equal(w.week, 48);
	w = report_week_of_day(ts_days_from_civil(1969, 12, 29));
	assert_int_equal(w.year, 1970);
	assert_int_equal(w.week, 1);

	w.year = 2026;
	w.week = 53;
	w = report_week_add(w, 1);
	assert_int_equal(w.year, 2027);
	assert_int_equal(w.week, 1);
	w = report_week_add(w, -8);
	assert_int_equal(w.year, 2026);
	assert_int_equal(w.week, 46);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_amounts),
		cmocka_unit_test(test_percents),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_empty_week),
		cmocka_unit_test(test_bad_documents),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_week_names),
		cmocka_unit_test(test_week_arithmetic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
