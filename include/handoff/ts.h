/*
 * Time values and their text forms: RFC 3339 timestamps (normalised to UTC
 * microseconds), the configuration's durations ("1h30m") and dates
 * ("2026-12-25"). Pure functions; only ts_now() reads a clock.
 */
#ifndef HANDOFF_TS_H
#define HANDOFF_TS_H

#include <stddef.h>
#include <stdint.h>

#include "handoff/util.h"

/* Microseconds since 1970-01-01T00:00:00Z. */
typedef int64_t ts_t;

#define TS_USEC 1000000LL
/* Longest output of ts_format: "9999-12-31T23:59:59.999999Z" + NUL. */
#define TS_BUFLEN 32
/* Largest accepted duration: ten years of seconds. */
#define TS_DURATION_MAX (10LL * 366 * 86400)

/*
 * Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±hh:mm)",
 * with 't' and 'z' also accepted. Seconds 60 (leap second) are rejected.
 * The string is exactly s[0..n). Returns 0, or -1 when it is not one.
 */
int ts_parse_rfc3339(const char *s, size_t n, ts_t *out) MUSTCHECK;

/*
 * Formats t as RFC 3339 UTC: "2026-11-24T10:15:30Z", with ".ffffff"
 * before the Z when t has a sub-second part. Returns the length.
 */
size_t ts_format(ts_t t, char buf[TS_BUFLEN]);

/*
 * Parses a duration: one or more "<integer><unit>" parts, units h, m, s,
 * each unit at most once and in that order ("1h30m", "90s", "0s").
 * Returns 0 and the seconds, or -1 with a short reason in *why.
 */
int ts_parse_duration(const char *s, int64_t *seconds, const char **why)
    MUSTCHECK;

/* Parses "YYYY-MM-DD" (a real calendar date). Returns 0 or -1. */
int ts_parse_date(const char *s, int *year, int *month, int *day) MUSTCHECK;

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t ts_days_from_civil(int year, int month, int day);
void ts_civil_from_days(int64_t days, int *year, int *month, int *day);

/* The system's real-time clock. */
ts_t ts_now(void);

#endif
