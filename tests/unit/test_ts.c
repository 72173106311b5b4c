/* Tests of timestamps, durations and dates (daemon/ts.c). */
#include <string.h>

#include "handoff/ts.h"
#include "testutil.h"

static ts_t
parse_ok(const char *s)
{
	ts_t t = 0;

	if (ts_parse_rfc3339(s, strlen(s), &t) != 0)
		fail_msg("'%s' should parse", s);
	return t;
}

static void
assert_bad(const char *s)
{
	ts_t t;

	if (ts_parse_rfc3339(s, strlen(s), &t) != -1)
		fail_msg("'%s' should not parse", s);
}

static void
test_rfc3339_utc(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("2026-11-24T10:15:30Z"),
	    INT64_C(1795515330) * TS_USEC);
	assert_int_equal(parse_ok("2026-11-24t10:15:30z"),
	    INT64_C(1795515330) * TS_USEC);
	assert_int_equal(parse_ok("2000-02-29T23:59:59Z"),
	    INT64_C(951868799) * TS_USEC);
	assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -TS_USEC);
}

static void
test_rfc3339_offsets(void **state)
{
	(void)state;
	/* The same instant written in three zones. */
	assert_int_equal(parse_ok("2026-03-29T01:30:00+01:00"),
	    parse_ok("2026-03-29T00:30:00Z"));
	assert_int_equal(parse_ok("2026-03-29T05:30:00+05:30"),
	    parse_ok("2026-03-29T00:00:00Z"));
	assert_int_equal(parse_ok("2026-03-28T20:00:00-04:00"),
	    parse_ok("2026-03-29T00:00:00Z"));
	assert_int_equal(parse_ok("2026-01-01T00:00:00-00:00"),
	    parse_ok("2026-01-01T00:00:00Z"));
	/* Crossing a year boundary through the offset. */
	assert_int_equal(parse_ok("2027-01-01T00:30:00+01:00"),
	    parse_ok("2026-12-31T23:30:00Z"));
}

static void
test_rfc3339_fractions(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1970-01-01T00:00:00.5Z"), 500000);
	assert_int_equal(parse_ok("1970-01-01T00:00:00.000001Z"), 1);
	assert_int_equal(parse_ok("1970-01-01T00:00:01.123456Z"), 1123456);
	assert_int_equal(parse_ok("1970-01-01T00:00:00.120+00:00"), 120000);
}

static void
test_rfc3339_rejects(void **state)
{
	(void)state;
	assert_bad("");
	assert_bad("2026-11-24");
	assert_bad("2026-11-24T10:15:30");        /* no offset */
	assert_bad("2026-11-24 10:15:30Z");       /* space for T */
	assert_bad("2026-11-24T10:15Z");          /* no seconds */
	assert_bad("2026-02-30T10:15:30Z");       /* no such day */
	assert_bad("2025-02-29T10:15:30Z");       /* not a leap year */
	assert_bad("2026-13-01T10:15:30Z");
	assert_bad("2026-00-01T10:15:30Z");
	assert_bad("2026-11-24T25:00:00Z");
	assert_bad("2026-11-24T10:60:00Z");
	assert_bad("2026-11-24T10:15:60Z");       /* leap seconds refused */
	assert_bad("2026-11-24T10:15:30.1234567Z"); /* 7 fraction digits */
	assert_bad("2026-11-24T10:15:30.Z");
	assert_bad("2026-11-24T10:15:30+0100");
	assert_bad("2026-11-24T10:15:30+01");
	assert_bad("2026-11-24T10:15:30+24:00");
	assert_bad("2026-11-24T10:15:30Zjunk");
	assert_bad("2026-11-24T10:15:30Z ");
	assert_bad("+2026-11-24T10:15:30Z");
	assert_bad("2026-1-24T10:15:30Z");
}

static void
test_rfc3339_not_nul_terminated(void **state)
{
	const char buf[] = "2026-11-24T10:15:30Z99999";
	ts_t t;

	(void)state;
	assert_int_equal(ts_parse_rfc3339(buf, 20, &t), 0);
	assert_int_equal(t, INT64_C(1795515330) * TS_USEC);
	assert_int_equal(ts_parse_rfc3339(buf, 19, &t), -1);
}

static void
test_format(void **state)
{
	char b[TS_BUFLEN];

	(void)state;
	ts_format(0, b);
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	ts_format(parse_ok("2026-11-24T10:15:30.000001+01:00"), b);
	assert_string_equal(b, "2026-11-24T09:15:30.000001Z");
	ts_format(-1, b);
	assert_string_equal(b, "1969-12-31T23:59:59.999999Z");
	ts_format(parse_ok("2024-02-29T23:59:59.5Z"), b);
	assert_string_equal(b, "2024-02-29T23:59:59.500000Z");
}

static void
test_round_trip(void **state)
{
	char b[TS_BUFLEN];

	(void)state;
	/* Every day over 800 years, at an odd time, survives format+parse. */
	for (int64_t day = -100000; day < 200000; day += 7) {
		ts_t t = (day * 86400 + 45296) * TS_USEC + 654321, u;
		size_t n = ts_format(t, b);

		assert_int_equal(ts_parse_rfc3339(b, n, &u), 0);
		assert_int_equal(t, u);
	}
}

static void
test_civil(void **state)
{
	int y, m, d;

	(void)state;
	assert_int_equal(ts_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(ts_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(ts_days_from_civil(1969, 12, 31), -1);
	for (int64_t z = -800000; z < 800000; z += 13) {
		ts_civil_from_days(z, &y, &m, &d);
		assert_int_equal(ts_days_from_civil(y, m, d), z);
	}
}

static void
test_date(void **state)
{
	int y, m, d;

	(void)state;
	assert_int_equal(ts_parse_date("2026-12-25", &y, &m, &d), 0);
	assert_int_equal(y, 2026);
	assert_int_equal(m, 12);
	assert_int_equal(d, 25);
	assert_int_equal(ts_parse_date("2024-02-29", &y, &m, &d), 0);
	assert_int_equal(ts_parse_date("2026-02-29", &y, &m, &d), -1);
	assert_int_equal(ts_parse_date("2026-12-32", &y, &m, &d), -1);
	assert_int_equal(ts_parse_date("2026-12-5", &y, &m, &d), -1);
	assert_int_equal(ts_parse_date("2026-12-05x", &y, &m, &d), -1);
	assert_int_equal(ts_parse_date("26-12-05", &y, &m, &d), -1);
	assert_int_equal(ts_parse_date("christmas", &y, &m, &d), -1);
}

static int64_t
dur_ok(const char *s)
{
	int64_t v = -1;
	const char *why;

	if (ts_parse_duration(s, &v, &why) != 0)
		fail_msg("'%s' should parse: %s", s, why);
	return v;
}

static void
dur_bad(const char *s, const char *expect_why)
{
	int64_t v;
	const char *why = NULL;

	if (ts_parse_duration(s, &v, &why) != -1)
		fail_msg("'%s' should not parse", s);
	assert_non_null(why);
	assert_string_equal(why, expect_why);
}

static void
test_duration(void **state)
{
	(void)state;
	assert_int_equal(dur_ok("90s"), 90);
	assert_int_equal(dur_ok("15m"), 900);
	assert_int_equal(dur_ok("4h"), 14400);
	assert_int_equal(dur_ok("1h30m"), 5400);
	assert_int_equal(dur_ok("5415s"), 5415);
	assert_int_equal(dur_ok("0s"), 0);
	assert_int_equal(dur_ok("1h2m3s"), 3723);
	assert_int_equal(dur_ok("2h0m"), 7200);
	dur_bad("", "empty duration");
	dur_bad("90", "missing unit (h, m or s)");
	dur_bad("1h30", "missing unit (h, m or s)");
	dur_bad("1d", "unknown unit (use h, m or s)");
	dur_bad("1.5h", "unknown unit (use h, m or s)");
	dur_bad("h", "expected a number (durations look like \"90s\", "
	    "\"15m\", \"1h30m\")");
	dur_bad("-5m", "expected a number (durations look like \"90s\", "
	    "\"15m\", \"1h30m\")");
	dur_bad(" 5m", "expected a number (durations look like \"90s\", "
	    "\"15m\", \"1h30m\")");
	dur_bad("30m1h", "units must appear once each, in the order h, m, s");
	dur_bad("1m1m", "units must appear once each, in the order h, m, s");
	dur_bad("99999999999999999999s", "duration too long");
	dur_bad("100000h", "duration too long");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_utc),
		cmocka_unit_test(test_rfc3339_offsets),
		cmocka_unit_test(test_rfc3339_fractions),
		cmocka_unit_test(test_rfc3339_rejects),
		cmocka_unit_test(test_rfc3339_not_nul_terminated),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
