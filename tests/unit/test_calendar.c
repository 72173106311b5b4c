/*
 * Tests of time zones and business calendars (daemon/calendar.c). Offsets
 * are checked against known values, against the C library's own reading of
 * every zone of the system's tz database, and against its reading of POSIX TZ
 * strings (through TZif files built here with only a footer). Calendars are
 * checked on hand-worked cases (closed starts, holidays, weekends, lunch
 * breaks, the daylight-saving weeks of London and New York, long goals, far
 * years), against a minute-by-minute count, and on properties over many
 * random instants and goals. The random cases come from a fixed seed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "handoff/calendar.h"
#include "testutil.h"

#define H (3600 * TS_USEC)
#define MIN (60 * TS_USEC)
#define WEEK (7 * 24 * H)

/* ---- Helpers ------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int64_t
rng_between(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

static ts_t
T(const char *s)
{
	ts_t t = 0;

	if (ts_parse_rfc3339(s, strlen(s), &t) != 0)
		fail_msg("bad timestamp in test: %s", s);
	return t;
}

static const char *
fmt(ts_t t)
{
	static char buf[8][TS_BUFLEN + 8];
	static int n;
	char *b = buf[n++ % 8];

	if (t == CAL_NEVER)
		return "NEVER";
	ts_format(t, b);
	return b;
}

#define assert_ts(got, want) do {					\
	ts_t got_ = (got), want_ = (want);				\
	if (got_ != want_)						\
		fail_msg("%s: got %s, want %s", #got, fmt(got_),	\
		    fmt(want_));					\
} while (0)

static int64_t
day_of(const char *date)
{
	int y, m, d;

	if (ts_parse_date(date, &y, &m, &d) != 0)
		fail_msg("bad date in test: %s", date);
	return ts_days_from_civil(y, m, d);
}

static cal_tz_t *
tz_ok(const char *name)
{
	char *err = NULL;
	cal_tz_t *tz = cal_tz_load(name, &err);

	if (tz == NULL)
		fail_msg("loading %s: %s", name, err);
	return tz;
}

/*
 * A calendar: its zone, each day's hours as "09:00-12:00,13:00-17:00"
 * (NULL: closed), holidays, or 24x7.
 */
typedef struct {
	const char *tz;
	const char *days[7];
	const char *holidays[64];
	bool always;
} spec_t;

static cal_t *
mkcal(const spec_t *sp)
{
	cfg_calendar_t c;
	cfg_interval_t iv[7][16];
	int64_t hol[64];
	char *err = NULL;
	cal_t *cal;

	memset(&c, 0, sizeof(c));
	c.name = "test";
	c.timezone = (char *)sp->tz;
	c.always_open = sp->always;
	for (int d = 0; d < 7; d++) {
		const char *p = sp->days[d];
		int h1, m1, h2, m2, n;

		c.hours[d] = iv[d];
		while (p != NULL && *p != '\0') {
			if (sscanf(p, "%d:%d-%d:%d%n", &h1, &m1, &h2, &m2,
			    &n) != 4)
				fail_msg("bad hours in test: %s", sp->days[d]);
			iv[d][c.nhours[d]].open_min = h1 * 60 + m1;
			iv[d][c.nhours[d]++].close_min = h2 * 60 + m2;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	for (; sp->holidays[c.nholidays] != NULL; c.nholidays++)
		hol[c.nholidays] = day_of(sp->holidays[c.nholidays]);
	c.holidays = hol;
	if ((cal = cal_new(&c, &err)) == NULL)
		fail_msg("cal_new: %s", err);
	return cal;
}

#define WEEKDAYS(h) { h, h, h, h, h, NULL, NULL }
#define EVERY_DAY(h) { h, h, h, h, h, h, h }

static const spec_t emea = { "Europe/London", WEEKDAYS("09:00-17:30"),
	{ "2026-12-25", "2026-12-28" }, false };
/* Open across both daylight-saving changes (01:00-02:00 London time). */
static const spec_t dst_london = { "Europe/London",
	EVERY_DAY("00:00-04:00,09:00-17:00"), { NULL }, false };
static const spec_t dst_ny = { "America/New_York",
	EVERY_DAY("00:00-04:00,09:00-17:00"), { NULL }, false };
static const spec_t ny = { "America/New_York", WEEKDAYS("09:00-17:00"),
	{ NULL }, false };
static const spec_t lunch = { "Europe/Berlin",
	WEEKDAYS("09:00-12:00,13:00-17:00"), { "2026-12-24", "2026-12-25",
	"2026-12-31", "2027-01-01" }, false };
static const spec_t kolkata = { "Asia/Kolkata", WEEKDAYS("09:00-17:30"),
	{ "2026-08-15" }, false };
static const spec_t lord_howe = { "Australia/Lord_Howe",
	WEEKDAYS("08:00-12:00,12:30-18:00"), { NULL }, false };
/* Boundaries at midnight, where Santiago changes its clocks. */
static const spec_t santiago = { "America/Santiago",
	EVERY_DAY("00:00-02:00,22:00-24:00"), { "2026-09-19" }, false };
/* Boundaries inside London's gap and fold. */
static const spec_t gapfold = { "Europe/London",
	{ NULL, NULL, NULL, NULL, NULL, NULL, "01:30-03:00,05:00-06:00" },
	{ NULL }, false };
static const spec_t always_hol = { "Europe/London", { NULL },
	{ "2026-12-25" }, true };

/* ---- Zones -------------------------------------------------------------- */

static void
assert_offset(const char *zone, const char *at, int64_t want)
{
	cal_tz_t *tz = tz_ok(zone);
	int64_t got = cal_tz_offset(tz, T(at));

	if (got != want)
		fail_msg("%s at %s: offset %lld, want %lld", zone, at,
		    (long long)got, (long long)want);
	cal_tz_destroy(&tz);
	assert_null(tz);
}

static void
test_tz_offsets_known(void **state)
{
	(void)state;
	assert_offset("Europe/London", "2026-07-01T00:00:00Z", 3600);
	assert_offset("Europe/London", "2026-01-01T00:00:00Z", 0);
	assert_offset("America/New_York", "2026-07-01T00:00:00Z", -14400);
	assert_offset("America/New_York", "2026-01-01T00:00:00Z", -18000);
	assert_offset("Asia/Kolkata", "2026-07-01T00:00:00Z", 19800);
	assert_offset("Asia/Kolkata", "2026-01-01T00:00:00Z", 19800);
	assert_offset("Australia/Lord_Howe", "2026-01-01T00:00:00Z", 39600);
	assert_offset("Australia/Lord_Howe", "2026-07-01T00:00:00Z", 37800);
	assert_offset("Europe/Dublin", "2026-01-01T00:00:00Z", 0);
	assert_offset("Europe/Dublin", "2026-07-01T00:00:00Z", 3600);
	assert_offset("UTC", "2026-07-01T00:00:00Z", 0);
	assert_offset("Asia/Kathmandu", "2026-07-01T00:00:00Z", 20700);
}

static void
test_tz_transitions_exact(void **state)
{
	(void)state;
	assert_offset("Europe/London", "2026-03-29T00:59:59.999999Z", 0);
	assert_offset("Europe/London", "2026-03-29T01:00:00Z", 3600);
	assert_offset("Europe/London", "2026-10-25T00:59:59.999999Z", 3600);
	assert_offset("Europe/London", "2026-10-25T01:00:00Z", 0);
	assert_offset("America/New_York", "2026-03-08T06:59:59Z", -18000);
	assert_offset("America/New_York", "2026-03-08T07:00:00Z", -14400);
	assert_offset("America/New_York", "2026-11-01T05:59:59Z", -14400);
	assert_offset("America/New_York", "2026-11-01T06:00:00Z", -18000);
	/* Midnight changes: 24:00 on the first Saturday. */
	assert_offset("America/Santiago", "2026-09-06T03:59:59Z", -14400);
	assert_offset("America/Santiago", "2026-09-06T04:00:00Z", -10800);
	assert_offset("America/Santiago", "2026-04-05T02:59:59Z", -10800);
	assert_offset("America/Santiago", "2026-04-05T03:00:00Z", -14400);
}

static void
test_tz_far_years(void **state)
{
	(void)state;
	/* 2090: past every table, so from the footer rules. */
	assert_offset("Europe/London", "2090-03-26T00:59:59Z", 0);
	assert_offset("Europe/London", "2090-03-26T01:00:00Z", 3600);
	assert_offset("Europe/London", "2090-10-29T00:59:59Z", 3600);
	assert_offset("Europe/London", "2090-10-29T01:00:00Z", 0);
	assert_offset("America/New_York", "2090-03-12T06:59:59Z", -18000);
	assert_offset("America/New_York", "2090-03-12T07:00:00Z", -14400);
	assert_offset("America/New_York", "2090-11-05T05:59:59Z", -14400);
	assert_offset("America/New_York", "2090-11-05T06:00:00Z", -18000);
	assert_offset("Australia/Lord_Howe", "2090-04-01T14:59:59Z", 39600);
	assert_offset("Australia/Lord_Howe", "2090-04-01T15:00:00Z", 37800);
	assert_offset("Australia/Lord_Howe", "2090-09-30T15:29:59Z", 37800);
	assert_offset("Australia/Lord_Howe", "2090-09-30T15:30:00Z", 39600);
	assert_offset("America/Nuuk", "2090-07-01T00:00:00Z", -3600);
	assert_offset("Asia/Kolkata", "2090-07-01T00:00:00Z", 19800);
	assert_offset("Europe/London", "2600-07-01T00:00:00Z", 3600);
	assert_offset("Europe/London", "9999-12-31T23:59:59Z", 0);
	/* The past: local mean time, and British double summer time. */
	assert_offset("Europe/London", "1800-01-01T00:00:00Z", -75);
	assert_offset("Europe/London", "1941-07-01T00:00:00Z", 7200);
	assert_offset("America/New_York", "1850-01-01T00:00:00Z", -17762);
	assert_offset("Europe/London", "0001-01-01T00:00:00Z", -75);
}

/* The local time (seconds since 1970-01-01 local) of the instant t. */
static int64_t
wall(const cal_tz_t *tz, ts_t t)
{
	int64_t s = t / TS_USEC - (t % TS_USEC < 0);

	return s + cal_tz_offset(tz, t);
}

static void
test_tz_to_utc_gap_fold(void **state)
{
	cal_tz_t *lon = tz_ok("Europe/London"), *nyc = tz_ok("America/New_York");
	cal_tz_t *kol = tz_ok("Asia/Kolkata"), *scl = tz_ok("America/Santiago");

	(void)state;
	/* Ordinary times. */
	assert_ts(cal_tz_to_utc(lon, day_of("2026-07-01"), 9 * 60),
	    T("2026-07-01T08:00:00Z"));
	assert_ts(cal_tz_to_utc(kol, day_of("2026-07-01"), 9 * 60),
	    T("2026-07-01T03:30:00Z"));
	assert_ts(cal_tz_to_utc(nyc, day_of("2026-07-01"), 1440),
	    T("2026-07-02T04:00:00Z"));
	/* Gaps map to their end. */
	assert_ts(cal_tz_to_utc(lon, day_of("2026-03-29"), 60),
	    T("2026-03-29T01:00:00Z"));
	assert_ts(cal_tz_to_utc(lon, day_of("2026-03-29"), 90),
	    T("2026-03-29T01:00:00Z"));
	assert_ts(cal_tz_to_utc(lon, day_of("2026-03-29"), 120),
	    T("2026-03-29T01:00:00Z"));
	assert_ts(cal_tz_to_utc(lon, day_of("2026-03-29"), 59),
	    T("2026-03-29T00:59:00Z"));
	assert_ts(cal_tz_to_utc(nyc, day_of("2026-03-08"), 150),
	    T("2026-03-08T07:00:00Z"));
	assert_ts(cal_tz_to_utc(scl, day_of("2026-09-06"), 0),
	    T("2026-09-06T04:00:00Z"));
	assert_ts(cal_tz_to_utc(scl, day_of("2026-09-06"), 60),
	    T("2026-09-06T04:00:00Z"));
	/* Folds map to the first occurrence. */
	assert_ts(cal_tz_to_utc(lon, day_of("2026-10-25"), 90),
	    T("2026-10-25T00:30:00Z"));
	assert_ts(cal_tz_to_utc(lon, day_of("2026-10-25"), 60),
	    T("2026-10-25T00:00:00Z"));
	assert_ts(cal_tz_to_utc(lon, day_of("2026-10-25"), 120),
	    T("2026-10-25T02:00:00Z"));
	assert_ts(cal_tz_to_utc(nyc, day_of("2026-11-01"), 90),
	    T("2026-11-01T05:30:00Z"));
	assert_ts(cal_tz_to_utc(scl, day_of("2026-04-04"), 23 * 60 + 30),
	    T("2026-04-05T02:30:00Z"));
	/* Santiago goes from Saturday 24:00 back to 23:00. */
	assert_ts(cal_tz_to_utc(scl, day_of("2026-04-05"), 0),
	    T("2026-04-05T04:00:00Z"));
	/* Minutes past 24:00 run on into the next days. */
	assert_ts(cal_tz_to_utc(lon, day_of("2026-03-28"), 1440 + 90),
	    T("2026-03-29T01:00:00Z"));
	cal_tz_destroy(&lon);
	cal_tz_destroy(&nyc);
	cal_tz_destroy(&kol);
	cal_tz_destroy(&scl);
}

/*
 * For random local times L: the instant found shows L or later on the wall
 * clock, the second before it shows an earlier time, and later local times
 * never map to earlier instants.
 */
static void
test_tz_to_utc_properties(void **state)
{
	static const char *zones[] = { "Europe/London", "America/New_York",
		"Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata",
		"Europe/Dublin", "America/Nuuk", "Pacific/Apia",
		"Antarctica/Troll" };

	(void)state;
	rng_state = 1;
	for (size_t z = 0; z < ARRAY_LEN(zones); z++) {
		cal_tz_t *tz = tz_ok(zones[z]);
		int64_t d0 = day_of("1900-01-01"), d1 = day_of("2100-12-31");

		for (int i = 0; i < 20000; i++) {
			int64_t d = rng_between(d0, d1);
			int m = (int)rng_between(0, 1440);
			ts_t u = cal_tz_to_utc(tz, d, m), u2;
			int64_t L = d * 86400 + m * 60;

			if (wall(tz, u) < L || wall(tz, u - TS_USEC) >= L)
				fail_msg("%s: local %lld maps to %s", zones[z],
				    (long long)L, fmt(u));
			/* Within a minute ahead, and a day ahead. */
			u2 = cal_tz_to_utc(tz, d, m + 1);
			assert_true(u2 >= u);
			u2 = cal_tz_to_utc(tz, d + 1, m);
			assert_true(u2 > u);
		}
		cal_tz_destroy(&tz);
	}
}

/* Calls fn for every TZif file under dir (not right/ or posix/). */
static void
each_zone(const char *dir, const char *rel, void (*fn)(const char *, void *),
    void *arg)
{
	char *path = rel[0] ? xasprintf("%s/%s", dir, rel) : xstrdup(dir);
	DIR *dp = opendir(path);
	struct dirent *de;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL) {
		char *sub, *full, magic[4];
		struct stat st;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		if (rel[0] == '\0' && (strcmp(de->d_name, "right") == 0 ||
		    strcmp(de->d_name, "posix") == 0))
			continue;
		sub = rel[0] ? xasprintf("%s/%s", rel, de->d_name) :
		    xstrdup(de->d_name);
		full = xasprintf("%s/%s", dir, sub);
		if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			each_zone(dir, sub, fn, arg);
		} else if (S_ISREG(st.st_mode) &&
		    (f = fopen(full, "rb")) != NULL) {
			if (fread(magic, 1, 4, f) == 4 &&
			    memcmp(magic, "TZif", 4) == 0)
				fn(sub, arg);
			fclose(f);
		}
		free(full);
		free(sub);
	}
	closedir(dp);
	free(path);
}

/* Compares cal_tz_offset with localtime_r under TZ=tzenv at many instants. */
static int
compare_with_libc(const cal_tz_t *tz, const char *tzenv, int64_t lo,
    int64_t hi, int n, char *why, size_t whylen)
{
	struct tm tm;
	int bad = 0;

	setenv("TZ", tzenv, 1);
	tzset();
	for (int i = 0; i < n; i++) {
		time_t t = (time_t)rng_between(lo, hi);
		int64_t mine = cal_tz_offset(tz, (ts_t)t * TS_USEC);

		if (localtime_r(&t, &tm) == NULL)
			fail_msg("localtime_r failed for %lld", (long long)t);
		if (mine != tm.tm_gmtoff) {
			if (bad++ == 0)
				snprintf(why, whylen, "%s at %s: %lld, libc "
				    "%ld", tzenv, fmt((ts_t)t * TS_USEC),
				    (long long)mine, tm.tm_gmtoff);
		}
	}
	unsetenv("TZ");
	tzset();
	return bad;
}

typedef struct {
	int zones, bad;
	char why[256];
} zones_t;

static void
check_zone(const char *name, void *arg)
{
	zones_t *z = arg;
	char *err = NULL, why[256];
	cal_tz_t *tz = cal_tz_load(name, &err);

	if (tz == NULL)
		fail_msg("%s: %s", name, err);
	z->zones++;
	/* Mostly recent years, where the rules are dense, and 1800-2200. */
	if (compare_with_libc(tz, name, 0, 4102444800LL, 300, why,
	    sizeof(why)) + compare_with_libc(tz, name, -5364662400LL,
	    7258118400LL, 200, why, sizeof(why)) > 0) {
		if (z->bad++ == 0)
			snprintf(z->why, sizeof(z->why), "%s", why);
	}
	cal_tz_destroy(&tz);
}

static void
test_tz_every_zone_matches_libc(void **state)
{
	const char *dir = getenv("TZDIR");
	zones_t z;

	(void)state;
	memset(&z, 0, sizeof(z));
	rng_state = 2;
	each_zone(dir != NULL && dir[0] ? dir : "/usr/share/zoneinfo", "",
	    check_zone, &z);
	if (z.bad > 0)
		fail_msg("%d of %d zones differ, first: %s", z.bad, z.zones,
		    z.why);
	/* Debian has some 600 zone files; a handful means a broken walk. */
	assert_true(z.zones > 300);
}

/* ---- TZif files built here ---------------------------------------------- */

static void
put32(sbuf_t *b, uint32_t v)
{
	char c[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8),
		(char)v };

	sbuf_add(b, c, 4);
}

static void
put64(sbuf_t *b, int64_t v)
{
	put32(b, (uint32_t)((uint64_t)v >> 32));
	put32(b, (uint32_t)v);
}

static void
header(sbuf_t *b, char version, uint32_t leap, uint32_t ntrans,
    uint32_t ntype, uint32_t nchar)
{
	char pad[15];

	memset(pad, 0, sizeof(pad));
	sbuf_add(b, "TZif", 4);
	sbuf_addc(b, version);
	sbuf_add(b, pad, sizeof(pad));
	put32(b, 0);
	put32(b, 0);
	put32(b, leap);
	put32(b, ntrans);
	put32(b, ntype);
	put32(b, nchar);
}

/*
 * A version 2 TZif file: an empty version 1 block, then the transitions
 * trans[i] (to type idx[i]) of types with offsets utoff[], and the footer.
 */
static char *
tzif(size_t *len, const int64_t *trans, const unsigned char *idx, int ntrans,
    const int32_t *utoff, int ntype, const char *footer)
{
	sbuf_t b;

	sbuf_init(&b);
	header(&b, '2', 0, 0, 1, 4);
	put32(&b, 0);
	sbuf_add(&b, "\0\0", 2);
	sbuf_add(&b, "UTC", 4);
	header(&b, '2', 0, (uint32_t)ntrans, (uint32_t)ntype, 4);
	for (int i = 0; i < ntrans; i++)
		put64(&b, trans[i]);
	if (ntrans > 0)
		sbuf_add(&b, (const char *)idx, (size_t)ntrans);
	for (int i = 0; i < ntype; i++) {
		put32(&b, (uint32_t)utoff[i]);
		sbuf_add(&b, "\0\0", 2);
	}
	sbuf_add(&b, "ABC", 4);
	sbuf_printf(&b, "\n%s\n", footer);
	*len = b.len;
	return sbuf_take(&b);
}

static cal_tz_t *
footer_only(const char *footer, char **err)
{
	int32_t off = 0;
	size_t len;
	char *f = tzif(&len, NULL, NULL, 0, &off, 1, footer);
	cal_tz_t *tz = cal_tz_from_tzif("Test/Footer", f, len, err);

	free(f);
	return tz;
}

/*
 * The footer alone decides every offset; the C library reads the same
 * string from TZ. Only from 1970 on: glibc evaluates TZ rules for earlier
 * years as if they were 1970. Covers Mm.w.d, Jn and n dates, explicit daylight offsets,
 * negative daylight time, southern zones, half hours, a 30-minute daylight
 * shift, and rule times of 24 hours and more.
 */
static void
test_tz_footer_rules_match_libc(void **state)
{
	static const char *rules[] = {
		"EST5EDT,M3.2.0,M11.1.0",
		"GMT0BST,M3.5.0/1,M10.5.0",
		"<+0530>-5:30",
		"IST-5:30",
		"AEST-10AEDT,M10.1.0,M4.1.0/3",
		"IST-1GMT0,M10.5.0,M3.5.0/1",
		"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		"<-04>4<-03>,M9.1.6/24,M4.1.6/24",
		"XST3XDT,J60/2,J300/2",
		"XST3XDT,59/2,299/2",
		"XST3XDT,J1/0,J365/2",
		"CET-1CEST,M3.5.0,M10.5.0/3",
		"NZST-12NZDT,M9.5.0,M4.1.0/3",
		"<+0845>-8:45",
		"HST10",
		"XST-3:15:30XDT-4:15:30,M4.5.6/23:59:59,M10.5.6/1:30",
	};
	char *err = NULL, why[256];

	(void)state;
	rng_state = 3;
	for (size_t i = 0; i < ARRAY_LEN(rules); i++) {
		cal_tz_t *tz = footer_only(rules[i], &err);

		if (tz == NULL)
			fail_msg("footer %s: %s", rules[i], err);
		if (compare_with_libc(tz, rules[i], 0, 4102444800LL, 3000,
		    why, sizeof(why)) + compare_with_libc(tz, rules[i],
		    0, 32503680000LL, 1000, why, sizeof(why)) > 0)
			fail_msg("%s", why);
		cal_tz_destroy(&tz);
	}
}

/* Rule forms the C library may not know: RFC 8536 version 3 extensions. */
static void
test_tz_footer_v3_extensions(void **state)
{
	char *err = NULL;
	cal_tz_t *tz;

	(void)state;
	/* Nuuk: daylight time from 22:00 (-1 hour) on the last Saturday. */
	tz = footer_only("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", &err);
	assert_non_null(tz);
	/* 2026-03-28 (Saturday) 23:00 -02 = 2026-03-29T01:00:00Z. */
	assert_int_equal(cal_tz_offset(tz, T("2026-03-29T00:59:59Z")), -7200);
	assert_int_equal(cal_tz_offset(tz, T("2026-03-29T01:00:00Z")), -3600);
	/* 2026-10-25 00:00 -01 = 2026-10-25T01:00:00Z. */
	assert_int_equal(cal_tz_offset(tz, T("2026-10-25T00:59:59Z")), -3600);
	assert_int_equal(cal_tz_offset(tz, T("2026-10-25T01:00:00Z")), -7200);
	cal_tz_destroy(&tz);
	/* Daylight time all year: it ends as it starts again. */
	tz = footer_only("EST5EDT,0/0,J365/25", &err);
	assert_non_null(tz);
	for (int y = 2020; y < 2030; y++) {
		ts_t jan1 = ts_days_from_civil(y, 1, 1) * 86400 * TS_USEC;

		assert_int_equal(cal_tz_offset(tz, jan1 + 5 * H), -14400);
		assert_int_equal(cal_tz_offset(tz, jan1 + 4 * H - 1), -14400);
		assert_int_equal(cal_tz_offset(tz, jan1 + 180 * 24 * H),
		    -14400);
	}
	cal_tz_destroy(&tz);
	/* Rule times of -167 to 167 hours. */
	tz = footer_only("XST0XDT,M3.1.6/167,M11.1.0/-167", &err);
	assert_non_null(tz);
	/* First Saturday of March 2026 is the 7th: + 167h = 03-13T23:00Z. */
	assert_int_equal(cal_tz_offset(tz, T("2026-03-13T22:59:59Z")), 0);
	assert_int_equal(cal_tz_offset(tz, T("2026-03-13T23:00:00Z")), 3600);
	/* First Sunday of November is the 1st: - 167h = 10-25T01:00 XDT. */
	assert_int_equal(cal_tz_offset(tz, T("2026-10-24T23:59:59Z")), 3600);
	assert_int_equal(cal_tz_offset(tz, T("2026-10-25T00:00:00Z")), 0);
	cal_tz_destroy(&tz);
}

/* Transitions in the table, then the footer for the instants after them. */
static void
test_tz_table_then_footer(void **state)
{
	/* 2000-01-01: to -05 (type 1); 2010-01-01: to -06 (type 2). */
	int64_t trans[] = { 946684800, 1262304000 };
	unsigned char idx[] = { 1, 2 };
	int32_t off[] = { -17762, -18000, -21600 };
	char *err = NULL, *f;
	cal_tz_t *tz;
	size_t len;

	(void)state;
	f = tzif(&len, trans, idx, 2, off, 3, "CST6CDT,M3.2.0,M11.1.0");
	tz = cal_tz_from_tzif("Test/Table", f, len, &err);
	free(f);
	if (tz == NULL)
		fail_msg("%s", err);
	assert_string_equal(cal_tz_name(tz), "Test/Table");
	/* Before the first transition: type 0. */
	assert_int_equal(cal_tz_offset(tz, T("1999-12-31T23:59:59Z")), -17762);
	assert_int_equal(cal_tz_offset(tz, T("2000-01-01T00:00:00Z")), -18000);
	assert_int_equal(cal_tz_offset(tz, T("2009-07-01T00:00:00Z")), -18000);
	/* The footer only from the last transition on. */
	assert_int_equal(cal_tz_offset(tz, T("2010-01-01T00:00:00Z")), -21600);
	assert_int_equal(cal_tz_offset(tz, T("2010-07-01T00:00:00Z")), -18000);
	assert_int_equal(cal_tz_offset(tz, T("2011-01-01T00:00:00Z")), -21600);
	/* A fold just after the table: 2010-11-07 02:00 CDT -> 01:00 CST. */
	assert_ts(cal_tz_to_utc(tz, day_of("2010-11-07"), 90),
	    T("2010-11-07T06:30:00Z"));
	cal_tz_destroy(&tz);

	/* Without a footer, the last type holds for ever. */
	f = tzif(&len, trans, idx, 2, off, 3, "");
	tz = cal_tz_from_tzif("Test/NoFooter", f, len, &err);
	free(f);
	assert_non_null(tz);
	assert_int_equal(cal_tz_offset(tz, T("2090-07-01T00:00:00Z")), -21600);
	cal_tz_destroy(&tz);
}

/*
 * A TZDIR of our own, made by the test's setup and removed by its teardown
 * (which runs even when the test fails), with zones written into its "Test"
 * directory. tzdir_on points TZDIR at it; the teardown restores TZDIR.
 */
typedef struct {
	char *dir;
	char *saved; /* TZDIR before, or NULL */
	bool had;
} tzdir_t;

static int
tzdir_setup(void **state)
{
	tzdir_t *z = xcalloc(1, sizeof(*z));
	const char *old = getenv("TZDIR"), *tmp = getenv("TMPDIR");
	char *sub;

	z->dir = xasprintf("%s/handoff-tz-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(z->dir) == NULL)
		return -1;
	sub = xasprintf("%s/Test", z->dir);
	if (mkdir(sub, 0700) == -1)
		return -1;
	free(sub);
	z->had = old != NULL;
	z->saved = old != NULL ? xstrdup(old) : NULL;
	*state = z;
	return 0;
}

static void
tzdir_off(tzdir_t *z)
{
	if (z->had)
		setenv("TZDIR", z->saved, 1);
	else
		unsetenv("TZDIR");
}

static void
tzdir_on(tzdir_t *z)
{
	setenv("TZDIR", z->dir, 1);
}

static int
tzdir_teardown(void **state)
{
	tzdir_t *z = *state;
	char *sub = xasprintf("%s/Test", z->dir);
	DIR *dp = opendir(sub);
	struct dirent *de;
	int rc = 0;

	tzdir_off(z);
	while (dp != NULL && (de = readdir(dp)) != NULL) {
		char *f;

		if (de->d_name[0] == '.')
			continue;
		f = xasprintf("%s/%s", sub, de->d_name);
		rc |= unlink(f);
		free(f);
	}
	if (dp != NULL)
		closedir(dp);
	rc |= rmdir(sub);
	rc |= rmdir(z->dir);
	free(sub);
	free(z->saved);
	free(z->dir);
	free(z);
	return rc == 0 ? 0 : -1;
}

/* Writes Test/<name> into the TZDIR: a TZif file with only the footer. */
static void
tzdir_zone(tzdir_t *z, const char *name, const char *footer)
{
	int32_t off = 0;
	char *path = xasprintf("%s/Test/%s", z->dir, name), *f;
	size_t len;
	FILE *fp;

	f = tzif(&len, NULL, NULL, 0, &off, 1, footer);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(f, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	free(f);
	free(path);
}

/* A "slim" file in a TZDIR of our own behaves like the full system file. */
static void
test_tz_slim_file_in_tzdir(void **state)
{
	cal_tz_t *slim, *full = tz_ok("America/New_York");
	tzdir_t *z = *state;
	char *err = NULL;

	tzdir_zone(z, "Zone", "EST5EDT,M3.2.0,M11.1.0");
	tzdir_on(z);
	slim = cal_tz_load("Test/Zone", &err);
	if (slim == NULL)
		fail_msg("%s", err);
	assert_null(cal_tz_load("America/New_York", &err));
	assert_non_null(strstr(err, "unknown time zone \"America/New_York\""));
	assert_non_null(strstr(err, z->dir));
	free(err);
	tzdir_off(z);

	/* New York's rules since 2007. */
	rng_state = 4;
	for (int i = 0; i < 20000; i++) {
		ts_t t = rng_between(T("2007-01-01T00:00:00Z"),
		    T("2037-12-31T00:00:00Z"));

		if (cal_tz_offset(slim, t) != cal_tz_offset(full, t))
			fail_msg("at %s", fmt(t));
	}
	for (int i = 0; i < 2000; i++) {
		int64_t d = rng_between(day_of("2007-01-01"),
		    day_of("2037-12-31"));
		int m = (int)rng_between(0, 1440);

		assert_ts(cal_tz_to_utc(slim, d, m), cal_tz_to_utc(full, d, m));
	}
	cal_tz_destroy(&slim);
	cal_tz_destroy(&full);
}

static void
assert_load_fails(const char *name, const char *want)
{
	char *err = NULL;
	cal_tz_t *tz = cal_tz_load(name, &err);

	if (tz != NULL)
		fail_msg("loading \"%s\" should fail", name);
	assert_non_null(err);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	free(err);
}

static void
test_tz_bad_names(void **state)
{
	tzdir_t *z = *state;
	char *junk;
	FILE *fp;

	assert_load_fails("Mars/Olympus_Mons",
	    "unknown time zone \"Mars/Olympus_Mons\"");
	assert_load_fails("", "not a time zone name");
	assert_load_fails("/etc/localtime", "not a time zone name");
	assert_load_fails("../zoneinfo/UTC", "not a time zone name");
	assert_load_fails("Europe/..", "not a time zone name");
	assert_load_fails("Europe/London\n", "not a time zone name");
	/* err may be NULL when the caller only wants to know. */
	assert_null(cal_tz_load("Mars/Olympus_Mons", NULL));

	/* A directory, and a file that is not a TZif file. */
	junk = xasprintf("%s/Test/Junk", z->dir);
	assert_non_null(fp = fopen(junk, "w"));
	assert_true(fputs("# Not a TZif file, though long enough to hold "
	    "a header.\n", fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	tzdir_on(z);
	assert_load_fails("Test", "not a regular file");
	assert_load_fails("Test/Junk", "not a TZif file");
	assert_load_fails("Test/Junk", junk);
	tzdir_off(z);
	free(junk);
}

static void
assert_parse_fails(const char *data, size_t len, const char *want)
{
	char *err = NULL;
	cal_tz_t *tz = cal_tz_from_tzif("Test/Bad", data, len, &err);

	if (tz != NULL)
		fail_msg("should not parse (want \"%s\")", want);
	if (strstr(err, "time zone \"Test/Bad\"") == NULL ||
	    strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	free(err);
}

static void
test_tz_bad_files(void **state)
{
	int64_t trans[] = { 946684800, 1262304000 }, back[] = { 1262304000,
		946684800 }, huge[] = { INT64_C(1) << 62 };
	unsigned char idx[] = { 1, 2 }, badidx[] = { 1, 3 };
	int32_t off[] = { 0, 3600, 7200 }, bigoff[] = { 0, 100000 };
	size_t len, i;
	char *f;
	static const char *footers[] = { "EST", "EST5EDT", "EST5EDT,M3.2.0",
		"EST5EDT,M13.2.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
		"EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J100", "EST5EDT,366,1",
		"EST5EDT,M3.2.0/168,M11.1.0", "EST25", "E5", "<EST5",
		"EST5:60", "EST5EDT,M3.2.0,M11.1.0x", "EST5EDT4x,M3.2.0,M11.1.0",
		"EST5EDT,M3.2.0/2:3,M11.1.0", "EST5EDT,M3.2.0,M11.1.0/1234" };

	(void)state;
	assert_parse_fails("", 0, "truncated header");
	assert_parse_fails("TZjf2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 44, "not a TZif file");

	f = tzif(&len, trans, idx, 2, off, 3, "CET-1");
	for (i = 0; i < len; i++) {
		char *err = NULL;
		cal_tz_t *tz = cal_tz_from_tzif("Test/Cut", f, i, &err);

		/* Every proper prefix is refused (the last one: no '\n'). */
		if (tz != NULL)
			fail_msg("prefix of %zu bytes parsed", i);
		free(err);
	}
	/* Version byte, counts of types and of indicators. */
	f[4] = '1';
	assert_parse_fails(f, len, "unknown TZif version");
	f[4] = '2';
	{
		/* The second header: after the 44 + 10 bytes of version 1. */
		char *h2 = f + 54;
		char *err = NULL;
		cal_tz_t *tz;

		h2[36 + 3] = 0;
		assert_parse_fails(f, len, "bad header");
		h2[36 + 3] = 3;
		h2[20 + 3] = 2;
		assert_parse_fails(f, len, "bad header");
		h2[20 + 3] = 0;
		/* Counts of the skipped version 1 block are not checked. */
		f[36 + 3] = 0;
		f[40 + 3] = 0;
		memmove(f + 44, f + 54, len - 54);
		tz = cal_tz_from_tzif("Test/V1Empty", f, len - 10, &err);
		if (tz == NULL)
			fail_msg("%s", err);
		assert_int_equal(cal_tz_offset(tz, T("2005-01-01T00:00:00Z")),
		    3600);
		cal_tz_destroy(&tz);
	}
	free(f);

	f = tzif(&len, back, idx, 2, off, 3, "CET-1");
	assert_parse_fails(f, len, "not ascending");
	free(f);
	f = tzif(&len, trans, badidx, 2, off, 3, "CET-1");
	assert_parse_fails(f, len, "unknown time type");
	free(f);
	f = tzif(&len, huge, idx, 1, off, 3, "CET-1");
	assert_parse_fails(f, len, "out of range");
	free(f);
	f = tzif(&len, trans, idx, 1, bigoff, 2, "CET-1");
	assert_parse_fails(f, len, "UTC offset out of range");
	free(f);
	for (i = 0; i < ARRAY_LEN(footers); i++) {
		f = tzif(&len, trans, idx, 2, off, 3, footers[i]);
		assert_parse_fails(f, len, "footer");
		free(f);
	}
	/* A leap-second record in the 64-bit block. */
	{
		sbuf_t b;

		sbuf_init(&b);
		header(&b, '2', 0, 0, 1, 4);
		put32(&b, 0);
		sbuf_add(&b, "\0\0UTC", 6);
		header(&b, '2', 1, 0, 1, 4);
		put32(&b, 0);
		sbuf_add(&b, "\0\0UTC", 6);
		put64(&b, 78796800);
		put32(&b, 1);
		sbuf_adds(&b, "\nUTC0\n");
		assert_parse_fails(b.s, b.len, "leap-second");
		sbuf_free(&b);
	}
}

/* A version 1 file: 32-bit times and no footer. */
static void
test_tz_version1(void **state)
{
	sbuf_t b;
	char *err = NULL;
	cal_tz_t *tz;

	(void)state;
	sbuf_init(&b);
	header(&b, '\0', 0, 1, 2, 4);
	put32(&b, 946684800);
	sbuf_addc(&b, 1);
	put32(&b, (uint32_t)-3600);
	sbuf_add(&b, "\0\0", 2);
	put32(&b, 3600);
	sbuf_add(&b, "\0\0", 2);
	sbuf_add(&b, "ABC", 4);
	tz = cal_tz_from_tzif("Test/V1", b.s, b.len, &err);
	if (tz == NULL)
		fail_msg("%s", err);
	assert_int_equal(cal_tz_offset(tz, T("1999-01-01T00:00:00Z")), -3600);
	assert_int_equal(cal_tz_offset(tz, T("2090-01-01T00:00:00Z")), 3600);
	cal_tz_destroy(&tz);
	sbuf_free(&b);
}

/* ---- Calendars: hand-worked cases ----------------------------------------- */

static void
test_cal_open_and_next_open(void **state)
{
	cal_t *c = mkcal(&emea);

	(void)state;
	assert_string_equal(cal_tz_name(cal_tz(c)), "Europe/London");
	assert_true(cal_is_open(c, T("2026-11-24T09:00:00Z")));
	assert_false(cal_is_open(c, T("2026-11-24T08:59:59.999999Z")));
	assert_true(cal_is_open(c, T("2026-11-24T17:29:59.999999Z")));
	assert_false(cal_is_open(c, T("2026-11-24T17:30:00Z")));
	assert_false(cal_is_open(c, T("2026-11-21T12:00:00Z")));
	/* Summer: 09:00 BST is 08:00 UTC. */
	assert_true(cal_is_open(c, T("2026-06-23T08:00:00Z")));
	assert_false(cal_is_open(c, T("2026-06-23T16:30:00Z")));
	assert_false(cal_is_open(c, T("2026-12-25T12:00:00Z")));

	assert_ts(cal_next_open(c, T("2026-11-24T10:00:00Z")),
	    T("2026-11-24T10:00:00Z"));
	assert_ts(cal_next_open(c, T("2026-11-24T07:00:00Z")),
	    T("2026-11-24T09:00:00Z"));
	assert_ts(cal_next_open(c, T("2026-11-24T17:30:00Z")),
	    T("2026-11-25T09:00:00Z"));
	assert_ts(cal_next_open(c, T("2026-11-21T10:00:00Z")),
	    T("2026-11-23T09:00:00Z"));
	assert_ts(cal_next_open(c, T("2026-12-24T18:00:00Z")),
	    T("2026-12-29T09:00:00Z"));
	cal_destroy(&c);
	assert_null(c);
	cal_destroy(&c);
}

static void
test_cal_outside_hours_and_holidays(void **state)
{
	cal_t *c = mkcal(&emea);

	(void)state;
	/* Saturday: counting starts on Monday at 09:00. */
	assert_ts(cal_add_business(c, T("2026-11-21T10:00:00Z"), 4 * H),
	    T("2026-11-23T13:00:00Z"));
	/* Before opening, after closing. */
	assert_ts(cal_add_business(c, T("2026-11-24T07:00:00Z"), H),
	    T("2026-11-24T10:00:00Z"));
	assert_ts(cal_add_business(c, T("2026-11-24T18:00:00Z"), H),
	    T("2026-11-25T10:00:00Z"));
	/* Christmas Eve late: Friday 25th and Monday 28th are holidays. */
	assert_ts(cal_add_business(c, T("2026-12-24T17:00:00Z"), H),
	    T("2026-12-29T09:30:00Z"));
	/* Started on a holiday. */
	assert_ts(cal_add_business(c, T("2026-12-25T10:00:00Z"), H),
	    T("2026-12-29T10:00:00Z"));
	assert_ts(cal_next_open(c, T("2026-12-25T10:00:00Z")),
	    T("2026-12-29T09:00:00Z"));
	assert_int_equal(cal_business_us(c, T("2026-12-24T00:00:00Z"),
	    T("2026-12-30T00:00:00Z")), 17 * H);
	assert_int_equal(cal_business_us(c, T("2026-12-25T00:00:00Z"),
	    T("2026-12-29T00:00:00Z")), 0);
	cal_destroy(&c);
}

static void
test_cal_friday_to_monday(void **state)
{
	cal_t *c = mkcal(&emea);

	(void)state;
	/* Two hours on Friday, two on Monday. */
	assert_ts(cal_add_business(c, T("2026-11-20T15:30:00Z"), 4 * H),
	    T("2026-11-23T11:00:00Z"));
	/* In summer time, the same in local time. */
	assert_ts(cal_add_business(c, T("2026-06-19T14:30:00Z"), 4 * H),
	    T("2026-06-22T10:00:00Z"));
	assert_int_equal(cal_business_us(c, T("2026-06-19T14:30:00Z"),
	    T("2026-06-22T10:00:00Z")), 4 * H);
	/* A goal met exactly at closing is due at closing, not on Monday. */
	assert_ts(cal_add_business(c, T("2026-11-20T15:30:00Z"), 2 * H),
	    T("2026-11-20T17:30:00Z"));
	assert_ts(cal_add_business(c, T("2026-11-20T15:30:00Z"), 2 * H + 1),
	    T("2026-11-23T09:00:00.000001Z"));
	cal_destroy(&c);
}

static void
test_cal_lunch_break(void **state)
{
	cal_t *c = mkcal(&lunch);

	(void)state;
	/* 11:00 CET + 2h = 12:00, lunch, 13:00 + 1h = 14:00 CET. */
	assert_ts(cal_add_business(c, T("2026-11-24T10:00:00Z"), 2 * H),
	    T("2026-11-24T13:00:00Z"));
	assert_false(cal_is_open(c, T("2026-11-24T11:30:00Z")));
	assert_ts(cal_next_open(c, T("2026-11-24T11:30:00Z")),
	    T("2026-11-24T12:00:00Z"));
	assert_ts(cal_add_business(c, T("2026-11-24T11:30:00Z"), 30 * MIN),
	    T("2026-11-24T12:30:00Z"));
	/* 09:00-18:00 CET holds 3 + 4 hours. */
	assert_int_equal(cal_business_us(c, T("2026-11-24T08:00:00Z"),
	    T("2026-11-24T17:00:00Z")), 7 * H);
	/* Morning ends at 12:00: due then, not after lunch. */
	assert_ts(cal_add_business(c, T("2026-11-24T10:00:00Z"), H),
	    T("2026-11-24T11:00:00Z"));
	/* Christmas: the 24th and 25th are holidays, then a weekend. */
	assert_ts(cal_add_business(c, T("2026-12-23T15:00:00Z"), 2 * H),
	    T("2026-12-28T09:00:00Z"));
	cal_destroy(&c);
}

/* Open time of the local day that contains t. */
static int64_t
day_total(const cal_t *c, ts_t t)
{
	return cal_business_us(c, cal_period_start(c, t, PERIOD_DAY),
	    cal_period_end(c, t, PERIOD_DAY));
}

static void
test_cal_london_spring_forward(void **state)
{
	cal_t *c = mkcal(&dst_london);
	ts_t sun = T("2026-03-29T12:00:00Z");

	(void)state;
	/* 00:00-04:00 is three real hours (00:00Z-03:00Z), 09-17 is eight. */
	assert_int_equal(day_total(c, T("2026-03-28T12:00:00Z")), 12 * H);
	assert_int_equal(day_total(c, sun), 11 * H);
	assert_int_equal(day_total(c, T("2026-03-30T12:00:00Z")), 12 * H);
	assert_int_equal(cal_business_us(c, cal_period_start(c, sun,
	    PERIOD_WEEK), cal_period_end(c, sun, PERIOD_WEEK)), 83 * H);
	assert_true(cal_is_open(c, T("2026-03-29T02:59:59Z")));
	assert_false(cal_is_open(c, T("2026-03-29T03:00:00Z")));
	assert_true(cal_is_open(c, T("2026-03-29T08:00:00Z")));
	assert_false(cal_is_open(c, T("2026-03-29T07:59:59Z")));
	/* One hour on Saturday, then the short night interval. */
	assert_ts(cal_add_business(c, T("2026-03-28T16:00:00Z"), 4 * H),
	    T("2026-03-29T03:00:00Z"));
	assert_ts(cal_add_business(c, T("2026-03-28T16:00:00Z"),
	    4 * H + 30 * MIN), T("2026-03-29T08:30:00Z"));
	assert_int_equal(cal_business_us(c, T("2026-03-28T16:00:00Z"),
	    T("2026-03-29T08:30:00Z")), 4 * H + 30 * MIN);
	/* Measured straight across the change. */
	assert_int_equal(cal_business_us(c, T("2026-03-29T00:30:00Z"),
	    T("2026-03-29T02:30:00Z")), 2 * H);
	cal_destroy(&c);
}

static void
test_cal_london_fall_back(void **state)
{
	cal_t *c = mkcal(&dst_london);
	ts_t sun = T("2026-10-25T12:00:00Z");

	(void)state;
	/* 00:00 BST (23:00Z) to 04:00 GMT (04:00Z) is five hours. */
	assert_int_equal(day_total(c, sun), 13 * H);
	assert_int_equal(cal_business_us(c, cal_period_start(c, sun,
	    PERIOD_WEEK), cal_period_end(c, sun, PERIOD_WEEK)), 85 * H);
	assert_true(cal_is_open(c, T("2026-10-24T23:00:00Z")));
	assert_false(cal_is_open(c, T("2026-10-24T22:59:59Z")));
	assert_true(cal_is_open(c, T("2026-10-25T01:30:00Z")));
	assert_true(cal_is_open(c, T("2026-10-25T03:59:59Z")));
	assert_false(cal_is_open(c, T("2026-10-25T04:00:00Z")));
	/* Saturday 16:00 BST: one hour, then three of the long night. */
	assert_ts(cal_add_business(c, T("2026-10-24T15:00:00Z"), 4 * H),
	    T("2026-10-25T02:00:00Z"));
	assert_ts(cal_add_business(c, T("2026-10-24T15:00:00Z"), 6 * H),
	    T("2026-10-25T04:00:00Z"));
	assert_ts(cal_add_business(c, T("2026-10-24T15:00:00Z"),
	    6 * H + 30 * MIN), T("2026-10-25T09:30:00Z"));
	assert_int_equal(cal_business_us(c, T("2026-10-25T00:30:00Z"),
	    T("2026-10-25T02:30:00Z")), 2 * H);
	cal_destroy(&c);
}

static void
test_cal_new_york_spring_forward(void **state)
{
	cal_t *c = mkcal(&dst_ny);
	ts_t sun = T("2026-03-08T18:00:00Z");

	(void)state;
	assert_ts(cal_period_start(c, sun, PERIOD_DAY),
	    T("2026-03-08T05:00:00Z"));
	assert_ts(cal_period_end(c, sun, PERIOD_DAY), T("2026-03-09T04:00:00Z"));
	assert_int_equal(day_total(c, sun), 11 * H);
	assert_int_equal(cal_business_us(c, cal_period_start(c, sun,
	    PERIOD_WEEK), cal_period_end(c, sun, PERIOD_WEEK)), 83 * H);
	assert_true(cal_is_open(c, T("2026-03-08T07:59:59Z")));
	assert_false(cal_is_open(c, T("2026-03-08T08:00:00Z")));
	assert_true(cal_is_open(c, T("2026-03-08T13:00:00Z")));
	/* Saturday 16:00 EST (21:00Z): one hour, then 00:00-04:00 EDT. */
	assert_ts(cal_add_business(c, T("2026-03-07T21:00:00Z"), 4 * H),
	    T("2026-03-08T08:00:00Z"));
	assert_ts(cal_add_business(c, T("2026-03-07T21:00:00Z"), 5 * H),
	    T("2026-03-08T14:00:00Z"));
	cal_destroy(&c);
}

static void
test_cal_new_york_fall_back(void **state)
{
	cal_t *c = mkcal(&dst_ny);
	ts_t sun = T("2026-11-01T18:00:00Z");

	(void)state;
	assert_ts(cal_period_start(c, sun, PERIOD_DAY),
	    T("2026-11-01T04:00:00Z"));
	assert_ts(cal_period_end(c, sun, PERIOD_DAY), T("2026-11-02T05:00:00Z"));
	assert_int_equal(day_total(c, sun), 13 * H);
	assert_int_equal(cal_business_us(c, cal_period_start(c, sun,
	    PERIOD_WEEK), cal_period_end(c, sun, PERIOD_WEEK)), 85 * H);
	assert_true(cal_is_open(c, T("2026-11-01T08:59:59Z")));
	assert_false(cal_is_open(c, T("2026-11-01T09:00:00Z")));
	/* Saturday 16:00 EDT (20:00Z): one hour, then three of five. */
	assert_ts(cal_add_business(c, T("2026-10-31T20:00:00Z"), 4 * H),
	    T("2026-11-01T07:00:00Z"));
	assert_ts(cal_add_business(c, T("2026-10-31T20:00:00Z"), 7 * H),
	    T("2026-11-01T15:00:00Z"));
	cal_destroy(&c);
}

static void
test_cal_boundaries_in_gap_and_fold(void **state)
{
	cal_t *c = mkcal(&gapfold);

	(void)state;
	/* Spring: 01:30 does not exist; the interval opens at 02:00 BST. */
	assert_int_equal(day_total(c, T("2026-03-29T12:00:00Z")), 2 * H);
	assert_ts(cal_next_open(c, T("2026-03-29T00:00:00Z")),
	    T("2026-03-29T01:00:00Z"));
	assert_false(cal_is_open(c, T("2026-03-29T00:59:59Z")));
	assert_true(cal_is_open(c, T("2026-03-29T01:59:59Z")));
	assert_false(cal_is_open(c, T("2026-03-29T02:00:00Z")));
	/* Autumn: from the first 01:30 (BST) to 03:00 GMT. */
	assert_int_equal(day_total(c, T("2026-10-25T12:00:00Z")),
	    3 * H + 30 * MIN);
	assert_ts(cal_next_open(c, T("2026-10-24T22:00:00Z")),
	    T("2026-10-25T00:30:00Z"));
	assert_true(cal_is_open(c, T("2026-10-25T01:15:00Z")));
	assert_ts(cal_add_business(c, T("2026-10-24T22:00:00Z"), 150 * MIN),
	    T("2026-10-25T03:00:00Z"));
	assert_ts(cal_add_business(c, T("2026-10-24T22:00:00Z"), 151 * MIN),
	    T("2026-10-25T05:01:00Z"));
	/* An ordinary Sunday. */
	assert_int_equal(day_total(c, T("2026-04-05T12:00:00Z")),
	    2 * H + 30 * MIN);
	cal_destroy(&c);
}

static void
test_cal_long_goals(void **state)
{
	cal_t *n = mkcal(&ny), *e = mkcal(&emea);

	(void)state;
	/* 100 hours of 40-hour weeks: two weeks, then Mon, Tue, half Wed. */
	assert_ts(cal_add_business(n, T("2026-11-02T14:00:00Z"), 100 * H),
	    T("2026-11-18T18:00:00Z"));
	/* Three weeks of 42.5 hours across the March change. */
	assert_ts(cal_add_business(e, T("2026-03-16T09:00:00Z"),
	    3 * 85 * H / 2), T("2026-04-03T16:30:00Z"));
	/* Ten and twenty weeks. */
	assert_ts(cal_add_business(e, T("2026-01-05T09:00:00Z"), 425 * H),
	    T("2026-03-13T17:30:00Z"));
	assert_ts(cal_add_business(e, T("2026-01-05T09:00:00Z"), 850 * H),
	    T("2026-05-22T16:30:00Z"));
	assert_int_equal(cal_business_us(e, T("2026-01-05T09:00:00Z"),
	    T("2026-05-22T16:30:00Z")), 850 * H);
	/* Two weeks' worth across Christmas and its holidays. */
	assert_ts(cal_add_business(e, T("2026-12-14T09:00:00Z"), 85 * H),
	    T("2026-12-29T17:30:00Z"));
	/* A year: 52 weeks less the two holidays of 8.5 hours. */
	assert_int_equal(cal_business_us(e, T("2026-06-01T00:00:00Z"),
	    T("2027-05-31T00:00:00Z")), 52 * 85 * H / 2 - 17 * H);
	/* A goal from Friday evening, in 2090, over the March change. */
	assert_ts(cal_add_business(n, T("2090-03-10T21:00:00Z"), 2 * H),
	    T("2090-03-13T14:00:00Z"));
	cal_destroy(&n);
	cal_destroy(&e);
}

static void
test_cal_kolkata(void **state)
{
	cal_t *c = mkcal(&kolkata);

	(void)state;
	assert_false(cal_is_open(c, T("2026-11-23T03:29:59Z")));
	assert_true(cal_is_open(c, T("2026-11-23T03:30:00Z")));
	assert_true(cal_is_open(c, T("2026-11-23T11:59:59Z")));
	assert_false(cal_is_open(c, T("2026-11-23T12:00:00Z")));
	/* Friday 16:00 IST + 2h: 90 minutes, then Monday 09:00-09:30. */
	assert_ts(cal_add_business(c, T("2026-11-20T10:30:00Z"), 2 * H),
	    T("2026-11-23T04:00:00Z"));
	/* Independence Day (Saturday in 2026) changes nothing; a week. */
	assert_int_equal(cal_business_us(c, T("2026-08-10T00:00:00Z"),
	    T("2026-08-17T00:00:00Z")), 85 * H / 2);
	assert_ts(cal_period_start(c, T("2026-11-23T20:00:00Z"), PERIOD_DAY),
	    T("2026-11-23T18:30:00Z"));
	cal_destroy(&c);
}

static void
test_cal_far_years(void **state)
{
	static const spec_t lmt_london = { "Europe/London",
		WEEKDAYS("09:00-17:00"), { NULL }, false };
	static const spec_t lmt_ny = { "America/New_York",
		WEEKDAYS("09:00-17:00"), { NULL }, false };
	cal_t *l = mkcal(&lmt_london), *n = mkcal(&lmt_ny);
	cal_t *d = mkcal(&dst_london), *dn = mkcal(&dst_ny);

	(void)state;
	/* 1800: London mean time, 75 seconds behind Greenwich. */
	assert_ts(cal_next_open(l, T("1800-01-04T12:00:00Z")),
	    T("1800-01-06T09:01:15Z"));
	assert_ts(cal_add_business(l, T("1800-01-04T12:00:00Z"), 8 * H),
	    T("1800-01-06T17:01:15Z"));
	/* 1850: New York mean time, -4:56:02. */
	assert_ts(cal_next_open(n, T("1850-01-05T12:00:00Z")),
	    T("1850-01-07T13:56:02Z"));
	/* 2090, from the footer rules. */
	assert_int_equal(day_total(d, T("2090-03-26T12:00:00Z")), 11 * H);
	assert_int_equal(day_total(d, T("2090-10-29T12:00:00Z")), 13 * H);
	assert_int_equal(day_total(d, T("2090-07-02T12:00:00Z")), 12 * H);
	assert_int_equal(day_total(dn, T("2090-03-12T18:00:00Z")), 11 * H);
	assert_int_equal(day_total(dn, T("2090-11-05T18:00:00Z")), 13 * H);
	assert_ts(cal_add_business(d, T("2090-03-25T16:00:00Z"), 4 * H),
	    T("2090-03-26T03:00:00Z"));
	cal_destroy(&l);
	cal_destroy(&n);
	cal_destroy(&d);
	cal_destroy(&dn);
}

static void
test_cal_24x7(void **state)
{
	static const spec_t utc = { "UTC", { NULL }, { NULL }, true };
	cal_t *c = mkcal(&utc), *h = mkcal(&always_hol);
	ts_t t = T("2026-11-21T03:17:00.5Z");

	(void)state;
	assert_true(cal_is_open(c, t));
	assert_ts(cal_next_open(c, t), t);
	assert_ts(cal_add_business(c, t, 3 * WEEK + 7), t + 3 * WEEK + 7);
	assert_int_equal(cal_business_us(c, t, t + 5 * WEEK), 5 * WEEK);
	assert_ts(cal_add_business(c, CAL_TS_MAX - 10, 11), CAL_NEVER);
	assert_ts(cal_add_business(c, CAL_TS_MAX - 10, 10), CAL_TS_MAX);
	/* 24x7 with a holiday: closed all that London day. */
	assert_false(cal_is_open(h, T("2026-12-25T12:00:00Z")));
	assert_true(cal_is_open(h, T("2026-12-24T23:59:59Z")));
	assert_true(cal_is_open(h, T("2026-12-26T00:00:00Z")));
	assert_int_equal(cal_business_us(h, T("2026-12-24T12:00:00Z"),
	    T("2026-12-26T12:00:00Z")), 24 * H);
	assert_ts(cal_add_business(h, T("2026-12-24T23:00:00Z"), 2 * H),
	    T("2026-12-26T01:00:00Z"));
	assert_ts(cal_next_open(h, T("2026-12-25T05:00:00Z")),
	    T("2026-12-26T00:00:00Z"));
	/* Summer: its days are London days. */
	assert_int_equal(cal_business_us(h, T("2026-06-01T00:00:00Z"),
	    T("2026-06-08T00:00:00Z")), WEEK);
	cal_destroy(&c);
	cal_destroy(&h);
}

static void
test_cal_no_open_time(void **state)
{
	static const spec_t closed = { "Europe/London", { NULL }, { NULL },
		false };
	/* Only Mondays, and every Monday of 2026 a holiday. */
	spec_t mondays = { "Europe/London", { "09:00-10:00" }, { NULL },
		false };
	char dates[53][11];
	cal_t *c = mkcal(&closed), *m;
	ts_t t = T("2026-01-01T00:00:00Z");
	int n = 0;

	(void)state;
	assert_false(cal_is_open(c, t));
	assert_ts(cal_next_open(c, t), CAL_NEVER);
	assert_ts(cal_add_business(c, t, H), CAL_NEVER);
	assert_int_equal(cal_business_us(c, t, t + WEEK), 0);
	/* A zero goal is due at once, open or not. */
	assert_ts(cal_add_business(c, t, 0), t);

	for (int64_t d = day_of("2026-01-05"); d < day_of("2027-01-01");
	    d += 7) {
		int y, mo, dd;

		ts_civil_from_days(d, &y, &mo, &dd);
		snprintf(dates[n], sizeof(dates[n]), "%04d-%02d-%02d", y, mo,
		    dd);
		mondays.holidays[n] = dates[n];
		n++;
	}
	mondays.holidays[n] = NULL;
	m = mkcal(&mondays);
	assert_ts(cal_next_open(m, t), T("2027-01-04T09:00:00Z"));
	assert_ts(cal_add_business(m, t, H), T("2027-01-04T10:00:00Z"));
	assert_int_equal(cal_business_us(m, t, T("2027-01-05T00:00:00Z")), H);
	cal_destroy(&c);
	cal_destroy(&m);
}

static void
test_cal_goal_zero_and_extremes(void **state)
{
	cal_t *c = mkcal(&emea);
	ts_t sat = T("2026-11-21T10:00:00Z");

	(void)state;
	/* Documented choice: a zero goal is due at the start itself. */
	assert_ts(cal_add_business(c, sat, 0), sat);
	assert_ts(cal_add_business(c, sat, -5), sat);
	assert_ts(cal_add_business(c, sat, 1), T("2026-11-23T09:00:00.000001Z"));
	assert_int_equal(cal_business_us(c, sat, sat), 0);
	assert_int_equal(cal_business_us(c, sat + H, sat), 0);
	/* Out of range: clamped, never overflowing. */
	assert_false(cal_is_open(c, INT64_MIN));
	assert_false(cal_is_open(c, INT64_MAX));
	assert_ts(cal_next_open(c, INT64_MAX), CAL_NEVER);
	assert_ts(cal_add_business(c, INT64_MAX - 5, H), CAL_NEVER);
	assert_ts(cal_add_business(c, sat, INT64_MAX), CAL_NEVER);
	assert_ts(cal_next_open(c, INT64_MIN), T("0001-01-01T09:01:15Z"));
	assert_int_equal(cal_business_us(c, INT64_MIN,
	    T("0001-01-08T00:00:00Z")), 5 * 85 * H / 10);
	/* The last two weeks of 9999, Monday 20th to Friday 31st. */
	assert_int_equal(cal_business_us(c, T("9999-12-20T00:00:00Z"),
	    INT64_MAX), 85 * H);
	/* 10000-01-01T00:00:00Z, which ts_t can hold but not parse. */
	assert_ts(cal_period_end(c, INT64_MAX, PERIOD_MONTH),
	    INT64_C(253402300800) * TS_USEC);
	cal_destroy(&c);
}

static void
test_cal_periods(void **state)
{
	cal_t *l = mkcal(&emea), *n = mkcal(&ny), *s = mkcal(&santiago);
	ts_t t = T("2026-03-29T12:00:00Z");

	(void)state;
	assert_ts(cal_period_start(l, t, PERIOD_DAY), T("2026-03-29T00:00:00Z"));
	assert_ts(cal_period_end(l, t, PERIOD_DAY), T("2026-03-29T23:00:00Z"));
	assert_ts(cal_period_start(l, t, PERIOD_WEEK),
	    T("2026-03-23T00:00:00Z"));
	assert_ts(cal_period_end(l, t, PERIOD_WEEK), T("2026-03-29T23:00:00Z"));
	assert_ts(cal_period_start(l, t, PERIOD_MONTH),
	    T("2026-03-01T00:00:00Z"));
	assert_ts(cal_period_end(l, t, PERIOD_MONTH),
	    T("2026-03-31T23:00:00Z"));
	t = T("2026-10-15T12:00:00Z");
	assert_ts(cal_period_start(l, t, PERIOD_MONTH),
	    T("2026-09-30T23:00:00Z"));
	assert_ts(cal_period_end(l, t, PERIOD_MONTH), T("2026-11-01T00:00:00Z"));
	/* December runs into the next year. */
	assert_ts(cal_period_end(l, T("2026-12-31T23:59:59Z"), PERIOD_MONTH),
	    T("2027-01-01T00:00:00Z"));
	/* The end belongs to the next period; a microsecond before does not. */
	t = T("2026-03-29T23:00:00Z");
	assert_ts(cal_period_start(l, t, PERIOD_WEEK), t);
	assert_ts(cal_period_end(l, t - 1, PERIOD_WEEK), t);
	/* New York's fall-back week. */
	t = T("2026-11-01T12:00:00Z");
	assert_ts(cal_period_start(n, t, PERIOD_WEEK),
	    T("2026-10-26T04:00:00Z"));
	assert_ts(cal_period_end(n, t, PERIOD_WEEK), T("2026-11-02T05:00:00Z"));
	/* Santiago: Sunday 00:00 skipped in September (day from 01:00). */
	t = T("2026-09-06T12:00:00Z");
	assert_ts(cal_period_start(s, t, PERIOD_DAY), T("2026-09-06T04:00:00Z"));
	assert_ts(cal_period_end(s, t, PERIOD_DAY), T("2026-09-07T03:00:00Z"));
	/* ...and in April Saturday has 25 hours: 23:00-24:00 twice. */
	t = T("2026-04-05T03:30:00Z");
	assert_ts(cal_period_start(s, t, PERIOD_DAY), T("2026-04-04T03:00:00Z"));
	assert_ts(cal_period_end(s, t, PERIOD_DAY), T("2026-04-05T04:00:00Z"));
	assert_ts(cal_period_start(s, t, PERIOD_WEEK),
	    T("2026-03-30T03:00:00Z"));
	assert_ts(cal_period_end(s, T("2026-04-05T04:00:00Z"), PERIOD_DAY),
	    T("2026-04-06T04:00:00Z"));
	/* Its calendar runs 22:00-24:00 (three hours that Saturday). */
	assert_true(cal_is_open(s, T("2026-04-05T03:30:00Z")));
	assert_int_equal(cal_business_us(s, T("2026-04-05T01:00:00Z"),
	    T("2026-04-05T06:00:00Z")), 5 * H);

	/* Properties at random instants. */
	rng_state = 5;
	for (int i = 0; i < 3000; i++) {
		const cal_t *c = i % 3 == 0 ? l : i % 3 == 1 ? n : s;
		ts_t r = rng_between(T("1990-01-01T00:00:00Z"),
		    T("2100-01-01T00:00:00Z"));

		for (int p = PERIOD_DAY; p <= PERIOD_MONTH; p++) {
			ts_t a = cal_period_start(c, r, (cfg_period_t)p);
			ts_t b = cal_period_end(c, r, (cfg_period_t)p);

			if (!(a <= r && r < b))
				fail_msg("period %d of %s: %s - %s", p, fmt(r),
				    fmt(a), fmt(b));
			assert_ts(cal_period_start(c, b, (cfg_period_t)p), b);
			assert_ts(cal_period_end(c, a, (cfg_period_t)p), b);
			assert_ts(cal_period_start(c, b - 1, (cfg_period_t)p),
			    a);
		}
	}
	cal_destroy(&l);
	cal_destroy(&n);
	cal_destroy(&s);
}

static void
assert_new_fails(const cfg_calendar_t *c, const char *want)
{
	char *err = NULL;
	cal_t *cal = cal_new(c, &err);

	if (cal != NULL)
		fail_msg("cal_new should fail (want \"%s\")", want);
	if (strstr(err, "calendar \"bad\"") == NULL || strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	free(err);
}

static void
test_cal_new_errors(void **state)
{
	cfg_interval_t ov[2] = { { 540, 720 }, { 700, 800 } };
	cfg_interval_t empty[1] = { { 540, 540 } };
	cfg_interval_t late[1] = { { 540, 1441 } };
	int64_t hol[2] = { 20000, 19999 };
	cfg_calendar_t c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.name = "bad";
	c.timezone = "Mars/Olympus_Mons";
	assert_new_fails(&c, "unknown time zone \"Mars/Olympus_Mons\"");
	c.timezone = "Europe/London";
	c.hours[2] = ov;
	c.nhours[2] = 2;
	assert_new_fails(&c, "wed: interval 2");
	c.hours[2] = empty;
	c.nhours[2] = 1;
	assert_new_fails(&c, "wed: interval 1");
	c.hours[2] = late;
	assert_new_fails(&c, "wed: interval 1");
	c.nhours[2] = 0;
	c.holidays = hol;
	c.nholidays = 2;
	assert_new_fails(&c, "holidays are not sorted");
}

/* ---- Calendars: properties and a minute-by-minute count ------------------ */

static const spec_t *const all_specs[] = { &emea, &dst_london, &dst_ny, &ny,
	&lunch, &kolkata, &lord_howe, &santiago, &gapfold, &always_hol };

/* A random instant in 2025-2027 or 2089-2091, at a whole second or not. */
static ts_t
random_instant(void)
{
	ts_t t = rng() % 4 == 0 ?
	    rng_between(T("2089-01-01T00:00:00Z"), T("2091-12-31T00:00:00Z")) :
	    rng_between(T("2025-06-01T00:00:00Z"), T("2027-06-30T00:00:00Z"));

	switch (rng() % 3) {
	case 0:
		return t - t % MIN;
	case 1:
		return t - t % TS_USEC;
	default:
		return t;
	}
}

static int64_t
random_goal(void)
{
	switch (rng() % 4) {
	case 0:
		return rng_between(1, 4 * H);
	case 1:
		return rng_between(1, 48) * 15 * MIN;
	case 2:
		return rng_between(1, 6 * WEEK);
	default:
		return rng_between(1, 30) * 8 * H;
	}
}

static void
check_properties(const cal_t *c, const char *what, int n)
{
	for (int i = 0; i < n; i++) {
		ts_t from = random_instant(), r, r2, r3, no;
		int64_t g = random_goal(), g2, a, b;

		r = cal_add_business(c, from, g);
		if (r == CAL_NEVER || r <= from)
			fail_msg("%s: add(%s, %lld) = %s", what, fmt(from),
			    (long long)g, fmt(r));
		/* The elapsed time is the goal, and not earlier. */
		if (cal_business_us(c, from, r) != g ||
		    cal_business_us(c, from, r - 1) != g - 1 ||
		    !cal_is_open(c, r - 1))
			fail_msg("%s: add(%s, %lld) = %s, which holds %lld",
			    what, fmt(from), (long long)g, fmt(r),
			    (long long)cal_business_us(c, from, r));
		/* Monotonic in the goal. */
		g2 = g + rng_between(0, 2 * H);
		r2 = cal_add_business(c, from, g2);
		if (r2 < r)
			fail_msg("%s: not monotonic at %s", what, fmt(from));
		/* Adding in two steps is adding at once. */
		a = rng_between(1, g);
		b = g2 - a;
		r3 = b > 0 ? cal_add_business(c, cal_add_business(c, from, a),
		    b) : cal_add_business(c, from, a);
		if (r3 != r2)
			fail_msg("%s: add(%s, %lld + %lld) = %s, in two steps "
			    "%s", what, fmt(from), (long long)a, (long long)b,
			    fmt(r2), fmt(r3));
		/* The first open microsecond. */
		no = cal_next_open(c, from);
		assert_ts(cal_add_business(c, from, 1), no + 1);
		assert_true(cal_is_open(c, no));
		assert_int_equal(cal_business_us(c, from, no), 0);
		if (no > from)
			assert_false(cal_is_open(c, no - 1));
		assert_int_equal(cal_is_open(c, from), no == from);
		/* Measures add up. */
		assert_int_equal(cal_business_us(c, from, r2),
		    cal_business_us(c, from, r) + cal_business_us(c, r, r2));
	}
}

static void
test_cal_properties(void **state)
{
	(void)state;
	rng_state = 6;
	for (size_t k = 0; k < ARRAY_LEN(all_specs); k++) {
		cal_t *c = mkcal(all_specs[k]);

		check_properties(c, all_specs[k]->tz, 400);
		cal_destroy(&c);
	}
}

/*
 * A zone whose daylight time (+2) ends at 01:00 on Sunday, back to 23:00 on
 * Saturday: Sunday has begun (at its first 00:00) while the wall clock shows
 * Saturday 23:00-24:00 a second time. Those instants belong to Sunday.
 */
static void
test_cal_day_begins_before_the_fold(void **state)
{
	static const spec_t sp = { "Test/Zone", { NULL, NULL, NULL, NULL, NULL,
		"22:00-24:00", "00:00-01:00" }, { NULL }, false };
	ts_t t = T("2026-10-24T23:30:00Z");
	tzdir_t *z = *state;
	cal_t *c;

	tzdir_zone(z, "Zone", "XST0XDT-2,M3.5.0/1,M10.5.0/1");
	tzdir_on(z);
	c = mkcal(&sp);
	tzdir_off(z);
	assert_int_equal(cal_tz_offset(cal_tz(c), t), 0);
	assert_ts(cal_period_start(c, t, PERIOD_DAY), T("2026-10-24T22:00:00Z"));
	assert_ts(cal_period_end(c, t, PERIOD_DAY), T("2026-10-26T00:00:00Z"));
	assert_ts(cal_period_start(c, T("2026-10-24T21:59:59Z"), PERIOD_DAY),
	    T("2026-10-23T22:00:00Z"));
	assert_ts(cal_period_start(c, t, PERIOD_WEEK),
	    T("2026-10-18T22:00:00Z"));
	/* Saturday 22:00-24:00 is 20:00Z-22:00Z; Sunday's hour lasts three. */
	assert_true(cal_is_open(c, t));
	assert_true(cal_is_open(c, T("2026-10-25T00:59:59Z")));
	assert_false(cal_is_open(c, T("2026-10-25T01:00:00Z")));
	assert_int_equal(cal_business_us(c, T("2026-10-24T19:00:00Z"),
	    T("2026-10-25T02:00:00Z")), 5 * H);
	assert_ts(cal_add_business(c, T("2026-10-24T21:00:00Z"), 2 * H),
	    T("2026-10-24T23:00:00Z"));
	assert_ts(cal_add_business(c, T("2026-10-24T21:00:00Z"), 4 * H),
	    T("2026-10-25T01:00:00Z"));
	assert_ts(cal_tz_to_utc(cal_tz(c), day_of("2026-10-24"), 23 * 60 + 30),
	    T("2026-10-24T21:30:00Z"));
	/* Spring: 01:00-03:00 is skipped, Sunday 00:00-01:00 is whole. */
	assert_int_equal(cal_business_us(c, T("2026-03-28T00:00:00Z"),
	    T("2026-03-30T00:00:00Z")), 3 * H);
	rng_state = 8;
	check_properties(c, "Test/Zone", 300);
	cal_destroy(&c);
}

/*
 * The open time of [a, b), minute by minute: a minute counts when its local
 * wall-clock time lies in an interval of its local date. This agrees with
 * the calendar whenever no interval boundary falls in a gap or a fold.
 */
static int64_t
count_minutes(const spec_t *sp, const cal_tz_t *tz, ts_t a, ts_t b)
{
	int iv[7][16][2], niv[7], h1, m1, h2, m2, k, nhol = 0;
	int64_t hol[64], n = 0;

	for (int d = 0; d < 7; d++) {
		const char *p = sp->always ? "00:00-24:00" : sp->days[d];

		for (niv[d] = 0; p != NULL && *p != '\0' && sscanf(p,
		    "%d:%d-%d:%d%n", &h1, &m1, &h2, &m2, &k) == 4; niv[d]++) {
			iv[d][niv[d]][0] = h1 * 60 + m1;
			iv[d][niv[d]][1] = h2 * 60 + m2;
			p += k;
			p += *p == ',';
		}
	}
	for (; sp->holidays[nhol] != NULL; nhol++)
		hol[nhol] = day_of(sp->holidays[nhol]);
	for (ts_t t = a; t < b; t += MIN) {
		int64_t L = wall(tz, t), d = L / 86400 - (L % 86400 < 0);
		int m = (int)((L - d * 86400) / 60), wd = (int)((d + 3) % 7);
		bool closed = false;

		for (int i = 0; i < nhol; i++)
			closed |= hol[i] == d;
		for (int i = 0; !closed && i < niv[wd]; i++)
			if (m >= iv[wd][i][0] && m < iv[wd][i][1]) {
				n++;
				break;
			}
	}
	return n * MIN;
}

static void
test_cal_against_minute_count(void **state)
{
	static const spec_t *const specs[] = { &emea, &dst_london, &dst_ny,
		&ny, &lunch, &kolkata, &lord_howe, &always_hol };

	(void)state;
	rng_state = 7;
	for (size_t k = 0; k < ARRAY_LEN(specs); k++) {
		cal_t *c = mkcal(specs[k]);

		for (int i = 0; i < 40; i++) {
			ts_t a = random_instant(), b;

			a -= a % MIN;
			/* Windows around the changes of 2026, often. */
			if (i % 4 == 0)
				a = T(i % 8 == 0 ? "2026-03-27T00:00:00Z" :
				    "2026-10-23T00:00:00Z") +
				    rng_between(0, 48) * 30 * MIN;
			b = a + rng_between(0, 12 * 24 * 60) * MIN;
			if (cal_business_us(c, a, b) !=
			    count_minutes(specs[k], cal_tz(c), a, b))
				fail_msg("%s: [%s, %s): %lld, counted %lld",
				    specs[k]->tz, fmt(a), fmt(b), (long long)
				    cal_business_us(c, a, b), (long long)
				    count_minutes(specs[k], cal_tz(c), a, b));
		}
		cal_destroy(&c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tz_offsets_known),
		cmocka_unit_test(test_tz_transitions_exact),
		cmocka_unit_test(test_tz_far_years),
		cmocka_unit_test(test_tz_to_utc_gap_fold),
		cmocka_unit_test(test_tz_to_utc_properties),
		cmocka_unit_test(test_tz_every_zone_matches_libc),
		cmocka_unit_test(test_tz_footer_rules_match_libc),
		cmocka_unit_test(test_tz_footer_v3_extensions),
		cmocka_unit_test(test_tz_table_then_footer),
		cmocka_unit_test_setup_teardown(test_tz_slim_file_in_tzdir, tzdir_setup,
		    tzdir_teardown),
		cmocka_unit_test_setup_teardown(test_tz_bad_names, tzdir_setup,
		    tzdir_teardown),
		cmocka_unit_test(test_tz_bad_files),
		cmocka_unit_test(test_tz_version1),
		cmocka_unit_test(test_cal_open_and_next_open),
		cmocka_unit_test(test_cal_outside_hours_and_holidays),
		cmocka_unit_test(test_cal_friday_to_monday),
		cmocka_unit_test(test_cal_lunch_break),
		cmocka_unit_test(test_cal_london_spring_forward),
		cmocka_unit_test(test_cal_london_fall_back),
		cmocka_unit_test(test_cal_new_york_spring_forward),
		cmocka_unit_test(test_cal_new_york_fall_back),
		cmocka_unit_test(test_cal_boundaries_in_gap_and_fold),
		cmocka_unit_test(test_cal_long_goals),
		cmocka_unit_test(test_cal_kolkata),
		cmocka_unit_test(test_cal_far_years),
		cmocka_unit_test(test_cal_24x7),
		cmocka_unit_test(test_cal_no_open_time),
		cmocka_unit_test(test_cal_goal_zero_and_extremes),
		cmocka_unit_test(test_cal_periods),
		cmocka_unit_test_setup_teardown(test_cal_day_begins_before_the_fold, tzdir_setup,
		    tzdir_teardown),
		cmocka_unit_test(test_cal_new_errors),
		cmocka_unit_test(test_cal_properties),
		cmocka_unit_test(test_cal_against_minute_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
