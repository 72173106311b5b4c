/*
 * Timestamps, durations and dates. Civil-date arithmetic follows Howard
 * Hinnant's days_from_civil algorithm, which is exact over the proleptic
 * Gregorian calendar and needs no time zone database: RFC 3339 carries its
 * own offset, so parsing never consults one.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handoff/ts.h"

static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };

	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

int64_t
ts_days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
ts_civil_from_days(int64_t z, int *year, int *month, int *day)
{
	int64_t era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp + (mp < 10 ? 3 : -9);
	*year = (int)(y + (m <= 2));
	*month = (int)m;
	*day = (int)d;
}

static int
parse_date(const char *s, int *y, int *m, int *d)
{
	if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) ||
	    s[7] != '-' || digits(s + 8, 2, d))
		return -1;
	if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
		return -1;
	return 0;
}

int
ts_parse_date(const char *s, int *year, int *month, int *day)
{
	if (strlen(s) != 10)
		return -1;
	return parse_date(s, year, month, day);
}

int
ts_parse_rfc3339(const char *s, size_t n, ts_t *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, secs;
	size_t i;

	/* "YYYY-MM-DDTHH:MM:SS" is 19 characters, then fraction and zone. */
	if (n < 20)
		return -1;
	if (parse_date(s, &y, &mo, &d) == -1)
		return -1;
	if (s[10] != 'T' && s[10] != 't')
		return -1;
	if (digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	if (h > 23 || mi > 59 || sec > 59)
		return -1;
	i = 19;
	if (s[i] == '.') {
		int nd = 0;

		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (++nd > 6)
				return -1;
			frac = frac * 10 + (s[i] - '0');
			i++;
		}
		if (nd == 0)
			return -1;
		for (; nd < 6; nd++)
			frac *= 10;
	}
	if (i >= n)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '+' ? 1 : -1;
		if (n - i != 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	secs = ts_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	secs -= sign * (oh * 3600 + om * 60);
	*out = secs * TS_USEC + frac;
	return 0;
}

size_t
ts_format(ts_t t, char buf[TS_BUFLEN])
{
	int64_t secs = t / TS_USEC, us = t % TS_USEC, days, rem;
	int y, m, d, n;

	if (us < 0) {
		us += TS_USEC;
		secs--;
	}
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	ts_civil_from_days(days, &y, &m, &d);
	if (us != 0)
		n = snprintf(buf, TS_BUFLEN,
		    "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d,
		    (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
		    (int)us);
	else
		n = snprintf(buf, TS_BUFLEN, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
		    (int)(rem % 60));
	return n < 0 ? 0 : (size_t)n;
}

int
ts_parse_duration(const char *s, int64_t *seconds, const char **why)
{
	static const char units[] = "hms";
	static const int64_t mult[] = { 3600, 60, 1 };
	int64_t total = 0;
	int next = 0; /* index of the smallest unit still allowed */
	const char *p = s;

	*why = NULL;
	if (*p == '\0') {
		*why = "empty duration";
		return -1;
	}
	while (*p != '\0') {
		int64_t v = 0;
		const char *u;
		int k;

		if (*p < '0' || *p > '9') {
			*why = "expected a number (durations look like "
			    "\"90s\", \"15m\", \"1h30m\")";
			return -1;
		}
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p - '0');
			if (v > TS_DURATION_MAX) {
				*why = "duration too long";
				return -1;
			}
			p++;
		}
		if (*p == '\0') {
			*why = "missing unit (h, m or s)";
			return -1;
		}
		u = strchr(units, *p);
		if (u == NULL) {
			*why = "unknown unit (use h, m or s)";
			return -1;
		}
		k = (int)(u - units);
		if (k < next) {
			*why = "units must appear once each, in the order h, m, s";
			return -1;
		}
		next = k + 1;
		total += v * mult[k];
		if (total > TS_DURATION_MAX) {
			*why = "duration too long";
			return -1;
		}
		p++;
	}
	*seconds = total;
	return 0;
}

ts_t
ts_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (ts_t)t.tv_sec * TS_USEC + t.tv_nsec / 1000;
}
