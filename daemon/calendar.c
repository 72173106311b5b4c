/*
 * Time zones and business calendars. A zone is read from its TZif file
 * (RFC 8536, tzfile(5)) into a table of transitions, each with the UTC offset
 * that starts there, plus the POSIX TZ rule of the file's footer, which
 * governs every instant after the last transition. Debian's "slim" files end
 * their tables early and rely on that rule, so it is evaluated here too,
 * without the C library's TZ machinery (setenv and localtime are neither
 * reentrant nor fast).
 *
 * Internally instants are whole seconds ("u", UTC) and local times are
 * seconds since 1970-01-01 00:00 local ("L"). The zone is viewed as segments
 * [s, e) of constant offset; within one, the wall clock f(u) = u + offset
 * rises with u, so the first instant at which the wall clock reads L or later
 * is easy to find segment by segment (local_to_utc). Every boundary of an
 * open interval is such an instant, and so a whole number of seconds.
 *
 * The calendar walks local days from the one that holds the starting instant,
 * turning each day's intervals into UTC spans as it goes. When a whole week
 * has no holiday and the offset does not change during it, its open time is
 * the weekly total and the week is skipped in one step.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handoff/calendar.h"

#define DAY_S 86400
#define WEEK_S (7 * DAY_S)
/*
 * Bound on any UTC offset, in seconds: RFC 8536 asks for offsets within
 * -25:59:59 and +25:59:59. A local time L is therefore reached no earlier
 * than L - MAXOFF.
 */
#define MAXOFF 93600
/* Transition times beyond this (about 36 billion years) are refused. */
#define TRANS_LIMIT (INT64_C(1) << 60)
/* The largest TZif file accepted; real ones are a few kilobytes. */
#define TZIF_MAX (1 << 20)
#define T_MIN INT64_MIN
#define T_MAX INT64_MAX

/* Local days of CAL_TS_MIN and CAL_TS_MAX, with a margin for the offsets. */
#define DAY_MIN (INT64_C(-719162) - 2)
#define DAY_MAX (INT64_C(2932897) + 2)

typedef enum { RULE_JULIAN, RULE_ZERO_BASED, RULE_MONTH } rule_kind_t;

/* One date rule of a POSIX TZ string: "Jn", "n" or "Mm.w.d", and "/time". */
typedef struct {
	rule_kind_t kind;
	int n;           /* Jn: 1-365; n: 0-365 */
	int month, week, wday; /* Mm.w.d: 1-12, 1-5, 0-6 (Sunday = 0) */
	int32_t time;    /* seconds after local midnight, -167h to 167h */
} tzrule_t;

struct cal_tz {
	char *name;
	int64_t *trans;  /* transition times, ascending */
	int32_t *off;    /* offset from each transition on */
	size_t ntrans;
	int32_t off0;    /* before the first transition: time type 0 */
	bool footer;     /* the TZ rule governs after the last transition */
	bool dst;        /* the rule has daylight time */
	int32_t std_off, dst_off;
	tzrule_t start, end; /* daylight time starts, ends */
};

/* A stretch [s, e) of constant offset; s may be T_MIN, e T_MAX. */
typedef struct {
	int64_t s, e;
	int32_t off;
} seg_t;

struct cal {
	cal_tz_t *tz;
	bool always;     /* 24x7 without holidays: no walking at all */
	cfg_interval_t *hours[7]; /* 0 = Monday */
	size_t nhours[7];
	int64_t *holidays;
	size_t nholidays;
	int64_t week_s;  /* open seconds of a week without change */
};

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t
floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

/* Monday = 0: 1970-01-01 was a Thursday. */
static int
weekday(int64_t day)
{
	return (int)floor_mod(day + 3, 7);
}

static bool
leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static ts_t
clamp_ts(ts_t t)
{
	return t < CAL_TS_MIN ? CAL_TS_MIN : t > CAL_TS_MAX ? CAL_TS_MAX : t;
}

/* ---- POSIX TZ rules ---------------------------------------------------- */

/* Local date (days since the epoch) on which rule r falls in year y. */
static int64_t
rule_day(const tzrule_t *r, int y)
{
	int64_t jan1 = ts_days_from_civil(y, 1, 1), d, first, next;

	switch (r->kind) {
	case RULE_JULIAN:
		/* February 29 is never counted: day 60 is always March 1. */
		return jan1 + r->n - 1 + (leap_year(y) && r->n >= 60);
	case RULE_ZERO_BASED:
		return jan1 + r->n;
	case RULE_MONTH:
		first = ts_days_from_civil(y, r->month, 1);
		next = r->month == 12 ? ts_days_from_civil(y + 1, 1, 1) :
		    ts_days_from_civil(y, r->month + 1, 1);
		/* Weekday of "first" with Sunday = 0 is (first + 4) mod 7. */
		d = first + floor_mod(r->wday - (first + 4), 7) +
		    7 * (r->week - 1);
		while (d >= next)
			d -= 7;
		return d;
	}
	abort();
}

/*
 * The footer rule's segment around u. The transitions of five years around
 * u are laid out in the order the rule produces them and sorted stably by
 * time, so that of two at the same instant (a rule for daylight time all
 * year ends one year exactly when it starts the next) the later one wins.
 */
static void
footer_seg(const cal_tz_t *tz, int64_t u, seg_t *g)
{
	struct {
		int64_t t;
		int32_t off;
	} tr[10], x;
	int y, dd, mm, n = 0, j, k;

	if (!tz->dst) {
		g->s = T_MIN;
		g->e = T_MAX;
		g->off = tz->std_off;
		return;
	}
	ts_civil_from_days(floor_div(u + tz->std_off, DAY_S), &y, &mm, &dd);
	for (int yy = y - 2; yy <= y + 2; yy++) {
		tr[n].t = rule_day(&tz->start, yy) * DAY_S + tz->start.time -
		    tz->std_off;
		tr[n++].off = tz->dst_off;
		tr[n].t = rule_day(&tz->end, yy) * DAY_S + tz->end.time -
		    tz->dst_off;
		tr[n++].off = tz->std_off;
	}
	for (j = 1; j < n; j++) {
		x = tr[j];
		for (k = j; k > 0 && tr[k - 1].t > x.t; k--)
			tr[k] = tr[k - 1];
		tr[k] = x;
	}
	for (j = -1; j + 1 < n && tr[j + 1].t <= u; j++)
		;
	if (j < 0) {
		/* Cannot happen with two years of rules on each side of u. */
		g->s = u;
		g->off = tr[0].off == tz->dst_off ? tz->std_off : tz->dst_off;
	} else {
		g->s = tr[j].t;
		g->off = tr[j].off;
	}
	g->e = j + 1 < n ? tr[j + 1].t : T_MAX;
}

/* The segment of constant offset that contains u. */
static void
seg_at(const cal_tz_t *tz, int64_t u, seg_t *g)
{
	size_t n = tz->ntrans, lo, hi, mid;

	if (n > 0 && u < tz->trans[0]) {
		g->s = T_MIN;
		g->e = tz->trans[0];
		g->off = tz->off0;
		return;
	}
	if (n == 0 || u >= tz->trans[n - 1]) {
		if (tz->footer) {
			footer_seg(tz, u, g);
			if (n > 0 && g->s < tz->trans[n - 1])
				g->s = tz->trans[n - 1];
			return;
		}
		g->s = n > 0 ? tz->trans[n - 1] : T_MIN;
		g->e = T_MAX;
		g->off = n > 0 ? tz->off[n - 1] : tz->off0;
		return;
	}
	/* trans[lo] <= u < trans[hi] */
	lo = 0;
	hi = n - 1;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= u)
			lo = mid;
		else
			hi = mid;
	}
	g->s = tz->trans[lo];
	g->e = tz->trans[hi];
	g->off = tz->off[lo];
}

/*
 * The first instant at which the wall clock reads L or later. No instant
 * before L - MAXOFF can, so the search starts there and moves on segment by
 * segment; in a segment [s, e) of offset o the clock runs from s + o up to
 * (not including) e + o.
 */
static int64_t
local_to_utc(const cal_tz_t *tz, int64_t L)
{
	seg_t g;

	seg_at(tz, L - MAXOFF, &g);
	for (;;) {
		if (g.e == T_MAX || L < g.e + g.off)
			return g.s != T_MIN && g.s > L - g.off ? g.s :
			    L - g.off;
		seg_at(tz, g.e, &g);
	}
}

/* ---- Parsing ----------------------------------------------------------- */

/* A zone abbreviation: three or more letters, or "<...>" quoted. */
static int
parse_abbr(const char **pp)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '<') {
		for (p++; isalnum((unsigned char)*p) || *p == '+' || *p == '-';
		    p++)
			n++;
		if (*p++ != '>')
			return -1;
	} else {
		for (; isalpha((unsigned char)*p); p++)
			n++;
	}
	if (n < 3)
		return -1;
	*pp = p;
	return 0;
}

/* "[+-]hh[:mm[:ss]]" with hh at most maxh: seconds. */
static int
parse_hms(const char **pp, int maxh, int32_t *out)
{
	const char *p = *pp;
	int sign = 1, part[3] = { 0, 0, 0 }, np = 0, nd;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (;;) {
		for (nd = 0; isdigit((unsigned char)*p); p++, nd++) {
			if (nd == 3)
				return -1;
			part[np] = part[np] * 10 + (*p - '0');
		}
		if (nd == 0 || (np > 0 && (nd != 2 || part[np] > 59)))
			return -1;
		if (++np == 3 || *p != ':')
			break;
		p++;
	}
	if (part[0] > maxh)
		return -1;
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	*pp = p;
	return 0;
}

static int
parse_num(const char **pp, int lo, int hi, int *out)
{
	const char *p = *pp;
	int v = 0, nd = 0;

	for (; isdigit((unsigned char)*p); p++) {
		if (++nd > 3)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (nd == 0 || v < lo || v > hi)
		return -1;
	*out = v;
	*pp = p;
	return 0;
}

/* ",date[/time]" of a POSIX TZ string. */
static int
parse_rule(const char **pp, tzrule_t *r)
{
	const char *p = *pp;

	if (*p++ != ',')
		return -1;
	if (*p == 'J') {
		p++;
		r->kind = RULE_JULIAN;
		if (parse_num(&p, 1, 365, &r->n) == -1)
			return -1;
	} else if (*p == 'M') {
		p++;
		r->kind = RULE_MONTH;
		if (parse_num(&p, 1, 12, &r->month) == -1 || *p++ != '.' ||
		    parse_num(&p, 1, 5, &r->week) == -1 || *p++ != '.' ||
		    parse_num(&p, 0, 6, &r->wday) == -1)
			return -1;
	} else {
		r->kind = RULE_ZERO_BASED;
		if (parse_num(&p, 0, 365, &r->n) == -1)
			return -1;
	}
	r->time = 2 * 3600;
	/* RFC 8536 (version 3) allows -167 to 167 hours here. */
	if (*p == '/' && (p++, parse_hms(&p, 167, &r->time) == -1))
		return -1;
	*pp = p;
	return 0;
}

/*
 * The footer "std offset [dst [offset] ,start[/time],end[/time]]". POSIX
 * offsets count west of Greenwich; the stored ones count east.
 */
static const char *
parse_footer(cal_tz_t *tz, const char *s)
{
	const char *p = s;
	int32_t v;

	if (parse_abbr(&p) == -1)
		return "footer: bad standard time name";
	if (parse_hms(&p, 24, &v) == -1)
		return "footer: bad standard time offset";
	tz->std_off = -v;
	tz->footer = true;
	if (*p == '\0')
		return NULL;
	if (parse_abbr(&p) == -1)
		return "footer: bad daylight time name";
	tz->dst = true;
	tz->dst_off = tz->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if (parse_hms(&p, 24, &v) == -1)
			return "footer: bad daylight time offset";
		tz->dst_off = -v;
	}
	if (*p == '\0')
		return "footer: daylight time without rules";
	if (parse_rule(&p, &tz->start) == -1)
		return "footer: bad start rule";
	if (parse_rule(&p, &tz->end) == -1)
		return "footer: bad end rule";
	if (*p != '\0')
		return "footer: trailing characters";
	return NULL;
}

typedef struct {
	uint32_t isut, isstd, leap, time, type, chars;
} tzhead_t;

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The 44-byte header at p; "end" is the end of the data. */
static const char *
read_head(const unsigned char *p, const unsigned char *end, tzhead_t *h,
    int *version)
{
	if (end - p < 44)
		return "truncated header";
	if (memcmp(p, "TZif", 4) != 0)
		return "not a TZif file";
	*version = p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	return NULL;
}

/* The counts of a header whose block is read (not merely skipped). */
static const char *
check_head(const tzhead_t *h)
{
	if (h->type == 0 || h->type > 256 || h->chars == 0)
		return "bad header (type or abbreviation count)";
	if ((h->isut != 0 && h->isut != h->type) ||
	    (h->isstd != 0 && h->isstd != h->type))
		return "bad header (indicator counts)";
	return NULL;
}

/* Size of the data block after a header, with times of tsize bytes. */
static uint64_t
block_size(const tzhead_t *h, int tsize)
{
	return (uint64_t)h->time * (uint64_t)(tsize + 1) +
	    (uint64_t)h->type * 6 + h->chars +
	    (uint64_t)h->leap * (uint64_t)(tsize + 4) + h->isstd + h->isut;
}

/* Reads the transitions and types of the block at p into tz. */
static const char *
read_block(cal_tz_t *tz, const tzhead_t *h, const unsigned char *p, int tsize)
{
	const unsigned char *idx = p + (size_t)h->time * (size_t)tsize;
	const unsigned char *types = idx + h->time;
	int32_t utoff[256];

	if (h->leap != 0)
		return "has leap-second records (a \"right/\" zone); "
		    "use the zone without them";
	for (uint32_t i = 0; i < h->type; i++) {
		int64_t o = (int32_t)be32(types + 6 * i);

		if (o <= -MAXOFF || o >= MAXOFF)
			return "UTC offset out of range";
		if (types[6 * i + 4] > 1)
			return "bad daylight-saving indicator";
		utoff[i] = (int32_t)o;
	}
	tz->ntrans = h->time;
	tz->trans = xcalloc(h->time, sizeof(*tz->trans));
	tz->off = xcalloc(h->time, sizeof(*tz->off));
	tz->off0 = utoff[0];
	for (uint32_t i = 0; i < h->time; i++) {
		int64_t t = tsize == 8 ? be64(p + 8 * (size_t)i) :
		    (int32_t)be32(p + 4 * (size_t)i);

		if (t < -TRANS_LIMIT || t > TRANS_LIMIT)
			return "transition time out of range";
		if (i > 0 && t <= tz->trans[i - 1])
			return "transition times not ascending";
		if (idx[i] >= h->type)
			return "transition to an unknown time type";
		tz->trans[i] = t;
		tz->off[i] = utoff[idx[i]];
	}
	return NULL;
}

static const char *
parse_tzif(cal_tz_t *tz, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len, *nl;
	const char *why;
	tzhead_t h;
	uint64_t sz;
	int version;
	char *footer;

	if ((why = read_head(p, end, &h, &version)) != NULL)
		return why;
	sz = block_size(&h, 4);
	if (sz > (uint64_t)(end - p - 44))
		return "truncated data";
	if (version == 0)
		return (why = check_head(&h)) != NULL ? why :
		    read_block(tz, &h, p + 44, 4);
	if (version < '2')
		return "unknown TZif version";

	/*
	 * Version 2 and later repeat everything with 64-bit times; the first
	 * block is only for old readers and is skipped.
	 */
	p += 44 + sz;
	if ((why = read_head(p, end, &h, &version)) != NULL ||
	    (why = check_head(&h)) != NULL)
		return why;
	sz = block_size(&h, 8);
	if (sz > (uint64_t)(end - p - 44))
		return "truncated data";
	if ((why = read_block(tz, &h, p + 44, 8)) != NULL)
		return why;
	p += 44 + sz;
	if (p == end || *p != '\n' ||
	    (nl = memchr(p + 1, '\n', (size_t)(end - p - 1))) == NULL)
		return "missing footer";
	if (nl == p + 1)
		return NULL; /* no rule: the last transition's type holds */
	footer = xstrndup((const char *)p + 1, (size_t)(nl - p - 1));
	if (strlen(footer) != (size_t)(nl - p - 1))
		why = "footer: NUL byte";
	else
		why = parse_footer(tz, footer);
	free(footer);
	return why;
}

/* ---- Zones -------------------------------------------------------------- */

cal_tz_t *
cal_tz_from_tzif(const char *name, const void *data, size_t len, char **err)
{
	cal_tz_t *tz = xcalloc(1, sizeof(*tz));
	const char *why;

	tz->name = xstrdup(name);
	if ((why = parse_tzif(tz, data, len)) != NULL) {
		if (err != NULL)
			*err = xasprintf("time zone \"%s\": %s", name, why);
		cal_tz_destroy(&tz);
	}
	return tz;
}

static bool
valid_name(const char *name)
{
	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_-+.", *p) == NULL)
			return false;
	return true;
}

/*
 * Reads the whole regular file at path. On failure returns NULL with either
 * *errnum (the system's reason) or *why (a static text) set.
 */
static unsigned char *
read_small_file(const char *path, size_t *len, int *errnum, const char **why)
{
	unsigned char *buf;
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;

	*errnum = 0;
	*why = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*errnum = errno;
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		*errnum = errno;
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TZIF_MAX) {
		*why = S_ISREG(st.st_mode) ? "file too large" :
		    "not a regular file";
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (n <= (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*errnum = errno;
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > (size_t)st.st_size) {
		*why = "file grew while being read";
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

cal_tz_t *
cal_tz_load(const char *name, char **err)
{
	const char *dir = getenv("TZDIR"), *why;
	cal_tz_t *tz = NULL;
	unsigned char *buf;
	char *path, *e = NULL;
	size_t len = 0;
	int errnum;

	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if (!valid_name(name)) {
		if (err != NULL)
			*err = xasprintf("not a time zone name: \"%s\"", name);
		return NULL;
	}
	path = xasprintf("%s/%s", dir, name);
	buf = read_small_file(path, &len, &errnum, &why);
	if (buf == NULL) {
		if (err != NULL && errnum == ENOENT)
			*err = xasprintf("unknown time zone \"%s\" (no file "
			    "%s)", name, path);
		else if (err != NULL)
			*err = xasprintf("time zone \"%s\": %s: %s", name,
			    path, why != NULL ? why : strerror(errnum));
		free(path);
		return NULL;
	}
	tz = cal_tz_from_tzif(name, buf, len, &e);
	if (tz == NULL && err != NULL)
		*err = xasprintf("%s (in %s)", e, path);
	free(e);
	free(buf);
	free(path);
	return tz;
}

void
cal_tz_destroy(cal_tz_t **tzp)
{
	cal_tz_t *tz = *tzp;

	if (tz == NULL)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->off);
	free(tz);
	*tzp = NULL;
}

const char *
cal_tz_name(const cal_tz_t *tz)
{
	return tz->name;
}

static int32_t
offset_at(const cal_tz_t *tz, int64_t u)
{
	seg_t g;

	seg_at(tz, u, &g);
	return g.off;
}

int64_t
cal_tz_offset(const cal_tz_t *tz, ts_t t)
{
	return offset_at(tz, floor_div(t, TS_USEC));
}

ts_t
cal_tz_to_utc(const cal_tz_t *tz, int64_t day, int minute)
{
	int64_t L;

	if (day < DAY_MIN)
		return CAL_TS_MIN;
	if (day > DAY_MAX)
		return CAL_TS_MAX;
	L = day * DAY_S + (int64_t)minute * 60;
	return clamp_ts(local_to_utc(tz, L) * TS_USEC);
}

/* ---- Calendars ---------------------------------------------------------- */

static const char *const day_name[7] = { "mon", "tue", "wed", "thu", "fri",
	"sat", "sun" };

static void
hours_all_day(cal_t *cal)
{
	for (int d = 0; d < 7; d++) {
		cal->hours[d] = xcalloc(1, sizeof(cfg_interval_t));
		cal->hours[d][0].open_min = 0;
		cal->hours[d][0].close_min = 1440;
		cal->nhours[d] = 1;
	}
}

cal_t *
cal_new(const cfg_calendar_t *c, char **err)
{
	cal_t *cal = xcalloc(1, sizeof(*cal));
	char *e = NULL;

	if ((cal->tz = cal_tz_load(c->timezone, &e)) == NULL) {
		if (err != NULL)
			*err = xasprintf("calendar \"%s\": %s", c->name, e);
		free(e);
		cal_destroy(&cal);
		return NULL;
	}
	if (c->always_open && c->nholidays == 0)
		cal->always = true;
	if (c->always_open)
		hours_all_day(cal);
	for (int d = 0; d < 7 && !c->always_open; d++) {
		const cfg_interval_t *h = c->hours[d];

		for (size_t i = 0; i < c->nhours[d]; i++) {
			if (h[i].open_min < 0 || h[i].close_min > 1440 ||
			    h[i].open_min >= h[i].close_min ||
			    (i > 0 && h[i].open_min < h[i - 1].close_min)) {
				if (err != NULL)
					*err = xasprintf("calendar \"%s\": %s: "
					    "interval %zu is empty, out of "
					    "00:00-24:00, or not after the one "
					    "before", c->name, day_name[d],
					    i + 1);
				cal_destroy(&cal);
				return NULL;
			}
			cal->week_s += (int64_t)(h[i].close_min -
			    h[i].open_min) * 60;
		}
		cal->nhours[d] = c->nhours[d];
		cal->hours[d] = xcalloc(c->nhours[d] ? c->nhours[d] : 1,
		    sizeof(cfg_interval_t));
		if (c->nhours[d] > 0)
			memcpy(cal->hours[d], h,
			    c->nhours[d] * sizeof(cfg_interval_t));
	}
	if (c->always_open)
		cal->week_s = WEEK_S;
	for (size_t i = 1; i < c->nholidays; i++)
		if (c->holidays[i] <= c->holidays[i - 1]) {
			if (err != NULL)
				*err = xasprintf("calendar \"%s\": holidays "
				    "are not sorted", c->name);
			cal_destroy(&cal);
			return NULL;
		}
	cal->nholidays = c->nholidays;
	cal->holidays = xcalloc(c->nholidays ? c->nholidays : 1,
	    sizeof(int64_t));
	if (c->nholidays > 0)
		memcpy(cal->holidays, c->holidays,
		    c->nholidays * sizeof(int64_t));
	return cal;
}

void
cal_destroy(cal_t **calp)
{
	cal_t *cal = *calp;

	if (cal == NULL)
		return;
	cal_tz_destroy(&cal->tz);
	for (int d = 0; d < 7; d++)
		free(cal->hours[d]);
	free(cal->holidays);
	free(cal);
	*calp = NULL;
}

const cal_tz_t *
cal_tz(const cal_t *cal)
{
	return cal->tz;
}

/* The first holiday on or after day d, or T_MAX. */
static int64_t
holiday_from(const cal_t *cal, int64_t d)
{
	size_t lo = 0, hi = cal->nholidays, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cal->holidays[mid] < d)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cal->nholidays ? cal->holidays[lo] : T_MAX;
}

/*
 * The local day an instant belongs to: the last one whose 00:00 has come.
 * The wall-clock date is a lower bound; in a fold around midnight the next
 * day may already have begun.
 */
static int64_t
owner_day(const cal_tz_t *tz, int64_t u)
{
	int64_t d = floor_div(u + offset_at(tz, u), DAY_S);

	while (local_to_utc(tz, (d + 1) * DAY_S) <= u)
		d++;
	return d;
}

/* Interval iv of day d as a UTC span [*s, *e) in microseconds. */
static void
span(const cal_t *cal, int64_t d, const cfg_interval_t *iv, ts_t *s, ts_t *e)
{
	*s = local_to_utc(cal->tz, d * DAY_S + iv->open_min * 60) * TS_USEC;
	*e = local_to_utc(cal->tz, d * DAY_S + iv->close_min * 60) * TS_USEC;
}

/*
 * How many whole weeks from local day d on can be skipped: none holds a
 * holiday, and one offset *off holds from L0 - MAXOFF (so no earlier instant
 * reaches any of their local times) until after their end. Each such week
 * maps every local time L to L - *off and holds exactly week_s of open time.
 */
static int64_t
weeks_unchanged(const cal_t *cal, int64_t d, int32_t *off)
{
	int64_t L0 = d * DAY_S, h = holiday_from(cal, d), k = T_MAX;
	seg_t g;

	if (h != T_MAX)
		k = (h - d) / 7;
	seg_at(cal->tz, L0 - MAXOFF, &g);
	*off = g.off;
	if (g.e != T_MAX) {
		int64_t room = g.e - 1 - (L0 - g.off);

		k = room < 0 ? 0 : k < room / WEEK_S ? k : room / WEEK_S;
	}
	return k;
}

bool
cal_is_open(const cal_t *cal, ts_t t)
{
	int64_t d;
	ts_t s, e;
	int wd;

	t = clamp_ts(t);
	if (cal->always)
		return true;
	d = owner_day(cal->tz, floor_div(t, TS_USEC));
	if (holiday_from(cal, d) == d)
		return false;
	wd = weekday(d);
	for (size_t i = 0; i < cal->nhours[wd]; i++) {
		span(cal, d, &cal->hours[wd][i], &s, &e);
		if (t < s)
			return false;
		if (t < e)
			return true;
	}
	return false;
}

ts_t
cal_next_open(const cal_t *cal, ts_t t)
{
	int64_t d;
	ts_t s, e;
	int wd;

	t = clamp_ts(t);
	if (cal->always)
		return t;
	if (cal->week_s == 0)
		return CAL_NEVER;
	/*
	 * This ends: after the last holiday, some day within two weeks has a
	 * non-empty span (a gap empties an interval on one day only).
	 */
	for (d = owner_day(cal->tz, floor_div(t, TS_USEC)); d <= DAY_MAX;
	    d++) {
		if (holiday_from(cal, d) == d)
			continue;
		wd = weekday(d);
		for (size_t i = 0; i < cal->nhours[wd]; i++) {
			span(cal, d, &cal->hours[wd][i], &s, &e);
			if (e > t)
				return s > t ? (s > CAL_TS_MAX ? CAL_NEVER : s) :
				    t;
		}
	}
	return CAL_NEVER;
}

int64_t
cal_business_us(const cal_t *cal, ts_t from, ts_t to)
{
	int64_t d, first, sum = 0, k, to_s, wk = cal->week_s * TS_USEC;
	int32_t off;
	ts_t s, e;
	int wd;

	if (to <= from)
		return 0;
	from = clamp_ts(from);
	to = clamp_ts(to);
	if (to <= from)
		return 0;
	if (cal->always)
		return to - from;
	if (cal->week_s == 0)
		return 0;
	to_s = floor_div(to, TS_USEC);
	first = d = owner_day(cal->tz, floor_div(from, TS_USEC));
	for (;;) {
		/* No span of day d starts before L0 - MAXOFF. */
		if ((d * DAY_S - MAXOFF) * TS_USEC >= to)
			return sum;
		if (d > first && (k = weeks_unchanged(cal, d, &off)) > 0) {
			/* Whole weeks that end by "to", since to_s <= to. */
			int64_t room = to_s - (d * DAY_S - off);

			if (room >= WEEK_S) {
				if (k > room / WEEK_S)
					k = room / WEEK_S;
				sum += k * wk;
				d += 7 * k;
				continue;
			}
		}
		if (holiday_from(cal, d) != d) {
			wd = weekday(d);
			for (size_t i = 0; i < cal->nhours[wd]; i++) {
				span(cal, d, &cal->hours[wd][i], &s, &e);
				if (s >= to)
					return sum;
				if (e <= from)
					continue;
				sum += (e < to ? e : to) - (s > from ? s : from);
			}
		}
		d++;
	}
}

ts_t
cal_add_business(const cal_t *cal, ts_t from, int64_t us)
{
	int64_t d, first, k, wk = cal->week_s * TS_USEC;
	int32_t off;
	ts_t s, e;
	int wd;

	if (us <= 0)
		return from;
	from = clamp_ts(from);
	if (cal->always)
		return us > CAL_TS_MAX - from ? CAL_NEVER : from + us;
	if (cal->week_s == 0)
		return CAL_NEVER;
	first = d = owner_day(cal->tz, floor_div(from, TS_USEC));
	while (d <= DAY_MAX) {
		/*
		 * Whole weeks, leaving some goal over: the due time is then
		 * found inside a week walked day by day.
		 */
		if (d > first && us > wk &&
		    (k = weeks_unchanged(cal, d, &off)) > 0) {
			if (k > (us - 1) / wk)
				k = (us - 1) / wk;
			us -= k * wk;
			d += 7 * k;
			continue;
		}
		if (holiday_from(cal, d) != d) {
			wd = weekday(d);
			for (size_t i = 0; i < cal->nhours[wd]; i++) {
				span(cal, d, &cal->hours[wd][i], &s, &e);
				if (e <= from)
					continue;
				if (s < from)
					s = from;
				if (us <= e - s)
					return s + us > CAL_TS_MAX ? CAL_NEVER :
					    s + us;
				us -= e - s;
			}
		}
		d++;
	}
	return CAL_NEVER;
}

/* The first local day of the period that holds day d, and of the next. */
static void
period_days(int64_t d, cfg_period_t period, int64_t *first, int64_t *next)
{
	int y, m, dd;

	switch (period) {
	case PERIOD_DAY:
		*first = d;
		*next = d + 1;
		return;
	case PERIOD_WEEK:
		*first = d - weekday(d);
		*next = *first + 7;
		return;
	case PERIOD_MONTH:
		ts_civil_from_days(d, &y, &m, &dd);
		*first = ts_days_from_civil(y, m, 1);
		*next = m == 12 ? ts_days_from_civil(y + 1, 1, 1) :
		    ts_days_from_civil(y, m + 1, 1);
		return;
	}
	abort();
}

ts_t
cal_period_start(const cal_t *cal, ts_t t, cfg_period_t period)
{
	int64_t first, next;

	t = clamp_ts(t);
	period_days(owner_day(cal->tz, floor_div(t, TS_USEC)), period, &first,
	    &next);
	return local_to_utc(cal->tz, first * DAY_S) * TS_USEC;
}

ts_t
cal_period_end(const cal_t *cal, ts_t t, cfg_period_t period)
{
	int64_t first, next;

	t = clamp_ts(t);
	period_days(owner_day(cal->tz, floor_div(t, TS_USEC)), period, &first,
	    &next);
	return local_to_utc(cal->tz, next * DAY_S) * TS_USEC;
}
