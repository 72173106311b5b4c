/*
 * Business time (SPEC §6.2): time zones read from the system's tz database,
 * and calendars of weekly open hours and holidays in such a zone, with the
 * arithmetic the SLA clocks need: is it open, when does it next open, how
 * much open time lies between two instants, and when has a given amount of
 * open time elapsed. Everything works on UTC instants (ts_t); local time only
 * lives inside this module.
 *
 * The module is pure: the only I/O is reading a zone's TZif file once, when
 * the zone (or a calendar) is built. Every other function is a computation on
 * const data and may be called from any thread.
 *
 * Local time to UTC. Opening hours stay local across daylight-saving changes,
 * so a local date and time must become an instant even where the wall clock
 * skips or repeats it. This module maps a local time L to the first instant
 * at which the wall clock reads L or later:
 *   - a local time that exists once maps to that instant;
 *   - a local time in a gap (spring forward) maps to the end of the gap: an
 *     interval 01:30-03:00 on the day London moves from 01:00 GMT to 02:00 BST
 *     opens at 02:00 BST and lasts one hour; an interval that lies wholly in
 *     the gap is empty that day;
 *   - a local time in a fold (fall back) maps to its first occurrence, so an
 *     interval that spans the fold (00:00-04:00 on the day London goes back)
 *     is longer by the shift (five hours), and an interval that starts inside
 *     the fold starts at the first occurrence.
 * The mapping never decreases, so the open intervals of a calendar, taken in
 * UTC, stay sorted and disjoint. A local day d runs from the mapped instant of
 * its 00:00 to that of the next day's 00:00; an instant belongs to the last
 * day that has begun.
 *
 * Instants outside the years 1 to 9999 are clamped to that range, which
 * keeps every computation free of overflow.
 */
#ifndef HANDOFF_CALENDAR_H
#define HANDOFF_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/config.h"
#include "handoff/ts.h"
#include "handoff/util.h"

/* "Never": no open time is left, or the answer lies past the year 9999. */
#define CAL_NEVER INT64_MAX
/* The instants the module works with: 0001-01-01 to 9999-12-31 UTC. */
#define CAL_TS_MIN (INT64_C(-62135596800) * TS_USEC)
#define CAL_TS_MAX (INT64_C(253402300800) * TS_USEC - 1)

typedef struct cal_tz cal_tz_t;
typedef struct cal cal_t;

/*
 * Loads the zone "name" (e.g. "Europe/London") from $TZDIR, or from
 * /usr/share/zoneinfo when TZDIR is unset or empty. The name must be
 * relative and must not contain "..". Returns NULL on failure with *err
 * (when err is not NULL) a malloc'd message naming the zone and the file.
 */
cal_tz_t *cal_tz_load(const char *name, char **err) MUSTCHECK;

/*
 * Builds a zone from the bytes of a TZif file (RFC 8536, versions 1 to 4;
 * the 64-bit data and the POSIX TZ footer are used when present). Files with
 * leap-second records (the "right/" zones) are refused: their timestamps do
 * not count like ts_t does. Errors as for cal_tz_load.
 */
cal_tz_t *cal_tz_from_tzif(const char *name, const void *data, size_t len,
    char **err) MUSTCHECK;

void cal_tz_destroy(cal_tz_t **tz);
const char *cal_tz_name(const cal_tz_t *tz);

/* Seconds east of UTC in effect at the instant t. */
int64_t cal_tz_offset(const cal_tz_t *tz, ts_t t);

/*
 * The instant of minute "minute" (0 ... 1440, or beyond: it counts on into
 * the following days) of the local date "day" (days since 1970-01-01), by
 * the rule at the top of this file: gaps map to their end, folds to the
 * first occurrence.
 */
ts_t cal_tz_to_utc(const cal_tz_t *tz, int64_t day, int minute);

/*
 * Builds a calendar from its configuration, loading its zone. The intervals
 * of each day must be sorted, within 00:00-24:00, non-empty and must not
 * overlap; holidays must be sorted (config.c guarantees all of this; the
 * checks here name the calendar and the day when it is not so). A "24x7"
 * calendar is open all the time; holidays listed with it are still closed
 * days (it then behaves as 00:00-24:00 every day). Returns NULL and *err on
 * failure.
 */
cal_t *cal_new(const cfg_calendar_t *c, char **err) MUSTCHECK;
void cal_destroy(cal_t **cal);
const cal_tz_t *cal_tz(const cal_t *cal);

bool cal_is_open(const cal_t *cal, ts_t t);

/*
 * t when the calendar is open at t, else the start of the next open
 * interval. CAL_NEVER when the calendar has no open hours at all.
 */
ts_t cal_next_open(const cal_t *cal, ts_t t);

/* Open time in [from, to), in microseconds; 0 when to <= from. */
int64_t cal_business_us(const cal_t *cal, ts_t from, ts_t to);

/*
 * The earliest instant at which the open time elapsed since from equals
 * us (SPEC §6.2: the due time of a goal). A start while closed counts from
 * the next opening; a goal reached exactly at a closing time is due at that
 * closing time, not at the next opening. A goal of zero (or less) is due at
 * from itself, even while closed: at from, the elapsed time already equals
 * the goal. CAL_NEVER when the calendar has no open hours, or when the due
 * time lies past the year 9999.
 *
 * For us > 0 and a result r other than CAL_NEVER:
 *   cal_business_us(cal, from, r) == us, and cal_is_open(cal, r - 1).
 * Long goals cost one step per day, and whole weeks at a time where no
 * holiday and no change of UTC offset intervenes.
 */
ts_t cal_add_business(const cal_t *cal, ts_t from, int64_t us);

/*
 * The period (day, week from Monday, month from the 1st) that contains t, in
 * the calendar's time zone: its start, and its end (the next period's
 * start). Both are the local 00:00 of their day, mapped as described above.
 */
ts_t cal_period_start(const cal_t *cal, ts_t t, cfg_period_t period);
ts_t cal_period_end(const cal_t *cal, ts_t t, cfg_period_t period);

#endif
