/*
 * The configuration loader (SPEC §3). libconfig parses the file; everything
 * else happens here, driven by one table of settings (`settings` below) that
 * gives every key of every group its type, bounds, default, whether it is
 * required and whether a reload may change it. The table alone decides which
 * keys exist, so an unknown key anywhere is an error; it fills the plain
 * values of the structure, and cfg_restart_needed walks it to find the
 * changed settings that only a restart can apply. What a row cannot express
 * (calendar hours, references between lists, event-type names) is checked by
 * the code of its group, after the table has done its part.
 *
 * Every problem is collected, not just the first, and reported as
 * "FILE:LINE: SETTING: message", SETTING a path such as
 * teams[0].reps[1].weight, in the order of the lines of the file.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "handoff/config.h"
#include "handoff/event.h"
#include "handoff/log.h"
#include "handoff/metrics.h"
#include "handoff/ts.h"
#include "handoff/util.h"

/* Files larger than this are not configuration files. */
#define CFG_MAX_BYTES (16 * 1024 * 1024)

/* The shapes a setting can take in the file. */
enum vtype {
	V_STRING,    /* a string, non-empty unless F_EMPTY */
	V_BOOL,      /* true or false */
	V_INT,       /* an integer within [min, max] */
	V_NUMBER,    /* an integer or a float within [min, max] */
	V_DURATION,  /* "1h30m": seconds within [min, max] */
	V_ENUM,      /* one of choices; stored as its index */
	V_STRINGS,   /* an array of strings, at least min of them */
	V_GROUP,     /* { ... }, described by its own rows */
	V_LIST,      /* ( { ... }, ... ), at least min groups */
	V_HOURS,     /* "24x7" or a group of days */
	V_FRACTIONS, /* a number or an array of numbers */
	V_DURMAP,    /* a group of name = duration, names free */
};

/* Where, and as what C type, the table stores a value; C_NONE: the group's
 * own code reads it. */
enum ctype { C_NONE, C_STR, C_BOOL, C_INT, C_I64, C_DBL, C_ENUM, C_STRV };

#define F_REQ      0x1 /* required */
#define F_NORELOAD 0x2 /* a reload cannot change it: a restart is needed */
#define F_EMPTY    0x4 /* empty strings are allowed */

typedef struct setting {
	const char *group; /* the schema it belongs to: "bus.ingest[]" */
	const char *name;
	enum vtype type;
	int flags;
	int64_t min, max;          /* bounds, or the least number of elements */
	const char *def;           /* the default, as written in the file */
	const char *const *choices; /* V_ENUM, NULL-terminated */
	enum ctype ctype;
	size_t off;  /* offset of the value in the group's structure */
	size_t offn; /* C_STRV: offset of the element count */
	/* F_NORELOAD lists: whether two configurations agree on it. */
	bool (*same)(const cfg_t *, const cfg_t *);
} setting_t;

static const char *const kind_names[] = { "sub", "pull", "router", NULL };
static const char *const mode_names[] = { "wall", "event", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug",
	NULL };
static const char *const metric_names[] = { "mql_count", "acceptance_rate",
	"first_touch_met_rate", NULL };
static const char *const period_names[] = { "day", "week", "month", NULL };
static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri",
	"sat", "sun", NULL };

static bool ingest_same(const cfg_t *, const cfg_t *);

#define ROW(g, n, t, f) .group = (g), .name = (n), .type = (t), .flags = (f)
#define AT(st, field, ct) .ctype = (ct), .off = offsetof(st, field)
#define ATV(st, field, nfield) .ctype = C_STRV, .off = offsetof(st, field), \
	.offn = offsetof(st, nfield)

/*
 * The settings. Rows of one group are contiguous; a group or list named N in
 * group G is described by the rows of group "G.N" (or "G.N[]" for the
 * elements of a list), the root group being "". deploy/CONFIGURATION.md
 * documents this table; keep the two in step.
 */
static const setting_t settings[] = {
	{ ROW("", "database", V_GROUP, F_REQ) },
	{ ROW("", "bus", V_GROUP, F_REQ) },
	{ ROW("", "batch", V_GROUP, 0) },
	{ ROW("", "clock", V_GROUP, 0) },
	{ ROW("", "calendars", V_LIST, 0) },
	{ ROW("", "teams", V_LIST, 0) },
	{ ROW("", "routing", V_GROUP, 0) },
	{ ROW("", "sla", V_GROUP, 0) },
	{ ROW("", "reconcile", V_GROUP, 0) },
	{ ROW("", "log", V_GROUP, 0) },
	{ ROW("", "metrics", V_GROUP, 0) },

	{ ROW("database", "conninfo", V_STRING, F_REQ | F_NORELOAD),
	  AT(cfg_t, db_conninfo, C_STR) },

	{ ROW("bus", "ingest", V_LIST, F_REQ | F_NORELOAD), .min = 1,
	  .same = ingest_same },
	{ ROW("bus", "publish", V_STRING, F_REQ | F_NORELOAD),
	  AT(cfg_t, publish, C_STR) },
	{ ROW("bus", "control", V_STRING, F_NORELOAD),
	  .def = "ipc:///run/handoff/control.sock", AT(cfg_t, control, C_STR) },
	{ ROW("bus", "max_message_bytes", V_INT, F_NORELOAD),
	  .min = 256, .max = 64 * 1024 * 1024, .def = "65536",
	  AT(cfg_t, max_message_bytes, C_I64) },
	{ ROW("bus", "curve", V_GROUP, F_NORELOAD) },

	{ ROW("bus.ingest[]", "kind", V_ENUM, F_REQ), .choices = kind_names,
	  AT(cfg_ingest_t, kind, C_ENUM) },
	{ ROW("bus.ingest[]", "endpoint", V_STRING, F_REQ),
	  AT(cfg_ingest_t, endpoint, C_STR) },
	{ ROW("bus.ingest[]", "connect", V_BOOL, 0),
	  AT(cfg_ingest_t, connect, C_BOOL) },
	{ ROW("bus.ingest[]", "subscribe", V_STRINGS, F_EMPTY),
	  ATV(cfg_ingest_t, subscribe, nsubscribe) },

	{ ROW("bus.curve", "secret_key_file", V_STRING, F_REQ | F_NORELOAD),
	  AT(cfg_t, curve_secret_key_file, C_STR) },
	{ ROW("bus.curve", "clients_dir", V_STRING, F_REQ | F_NORELOAD),
	  AT(cfg_t, curve_clients_dir, C_STR) },

	{ ROW("batch", "max_events", V_INT, F_NORELOAD),
	  .min = 1, .max = 100000, .def = "1000",
	  AT(cfg_t, batch_max_events, C_INT) },
	{ ROW("batch", "max_wait_ms", V_INT, F_NORELOAD),
	  .min = 0, .max = 10000, .def = "5",
	  AT(cfg_t, batch_max_wait_ms, C_INT) },
	{ ROW("batch", "buffer_events", V_INT, F_NORELOAD),
	  .min = 1, .max = 10000000, .def = "20000",
	  AT(cfg_t, buffer_max_events, C_INT) },

	{ ROW("clock", "mode", V_ENUM, F_NORELOAD), .choices = mode_names,
	  .def = "wall", AT(cfg_t, clock_mode, C_ENUM) },
	{ ROW("clock", "lateness", V_DURATION, 0), .min = 0, .max = 86400,
	  .def = "60s", AT(cfg_t, lateness_s, C_I64) },

	{ ROW("calendars[]", "name", V_STRING, F_REQ),
	  AT(cfg_calendar_t, name, C_STR) },
	{ ROW("calendars[]", "timezone", V_STRING, F_REQ),
	  AT(cfg_calendar_t, timezone, C_STR) },
	{ ROW("calendars[]", "hours", V_HOURS, F_REQ) },
	{ ROW("calendars[]", "holidays", V_STRINGS, 0) },

	{ ROW("calendars[].hours", "mon", V_STRING, 0) },
	{ ROW("calendars[].hours", "tue", V_STRING, 0) },
	{ ROW("calendars[].hours", "wed", V_STRING, 0) },
	{ ROW("calendars[].hours", "thu", V_STRING, 0) },
	{ ROW("calendars[].hours", "fri", V_STRING, 0) },
	{ ROW("calendars[].hours", "sat", V_STRING, 0) },
	{ ROW("calendars[].hours", "sun", V_STRING, 0) },

	{ ROW("teams[]", "name", V_STRING, F_REQ),
	  AT(cfg_team_t, name, C_STR) },
	{ ROW("teams[]", "calendar", V_STRING, F_REQ) },
	{ ROW("teams[]", "manager", V_STRING, 0),
	  AT(cfg_team_t, manager, C_STR) },
	{ ROW("teams[]", "reps", V_LIST, F_REQ) },

	{ ROW("teams[].reps[]", "id", V_STRING, F_REQ),
	  AT(cfg_rep_t, id, C_STR) },
	{ ROW("teams[].reps[]", "weight", V_INT, 0), .min = 1, .max = 1000,
	  .def = "1", AT(cfg_rep_t, weight, C_INT) },
	{ ROW("teams[].reps[]", "capacity", V_INT, 0), .min = 0,
	  .max = 1000000, .def = "0", AT(cfg_rep_t, capacity, C_INT) },
	{ ROW("teams[].reps[]", "away", V_BOOL, 0), .def = "false",
	  AT(cfg_rep_t, away, C_BOOL) },

	{ ROW("routing", "rules", V_LIST, 0) },
	{ ROW("routing", "sticky_domain", V_BOOL, 0), .def = "false",
	  AT(cfg_t, sticky_domain, C_BOOL) },
	{ ROW("routing", "free_mail_domains", V_STRINGS, 0),
	  ATV(cfg_t, free_mail_domains, nfree_mail_domains) },
	{ ROW("routing", "reassign_away", V_BOOL, 0), .def = "true",
	  AT(cfg_t, reassign_away, C_BOOL) },

	{ ROW("routing.rules[]", "name", V_STRING, F_REQ),
	  AT(cfg_rule_t, name, C_STR) },
	{ ROW("routing.rules[]", "segment", V_STRINGS, 0),
	  ATV(cfg_rule_t, segment, nsegment) },
	{ ROW("routing.rules[]", "country", V_STRINGS, 0),
	  ATV(cfg_rule_t, country, ncountry) },
	{ ROW("routing.rules[]", "min_score", V_INT, 0),
	  .min = INT64_MIN, .max = INT64_MAX,
	  AT(cfg_rule_t, min_score, C_I64) },
	{ ROW("routing.rules[]", "email_domain", V_STRINGS, 0),
	  ATV(cfg_rule_t, email_domain, nemail_domain) },
	{ ROW("routing.rules[]", "team", V_STRING, F_REQ) },

	{ ROW("sla", "clocks", V_LIST, 0) },
	{ ROW("sla", "targets", V_LIST, 0) },

	{ ROW("sla.clocks[]", "name", V_STRING, F_REQ),
	  AT(cfg_clock_t, name, C_STR) },
	{ ROW("sla.clocks[]", "start", V_STRINGS, F_REQ), .min = 1 },
	{ ROW("sla.clocks[]", "stop", V_STRINGS, F_REQ), .min = 1 },
	{ ROW("sla.clocks[]", "cancel", V_STRINGS, 0) },
	{ ROW("sla.clocks[]", "pause", V_STRINGS, 0) },
	{ ROW("sla.clocks[]", "resume", V_STRINGS, 0) },
	{ ROW("sla.clocks[]", "goal", V_DURATION, F_REQ),
	  .min = 1, .max = TS_DURATION_MAX, AT(cfg_clock_t, goal_s, C_I64) },
	{ ROW("sla.clocks[]", "goal_by_segment", V_DURMAP, 0),
	  .min = 1, .max = TS_DURATION_MAX },
	{ ROW("sla.clocks[]", "calendar", V_STRING, 0), .def = "team" },
	{ ROW("sla.clocks[]", "warn_at", V_FRACTIONS, 0) },
	{ ROW("sla.clocks[]", "escalate", V_LIST, 0) },

	{ ROW("sla.clocks[].escalate[]", "after", V_DURATION, F_REQ),
	  .min = 0, .max = TS_DURATION_MAX,
	  AT(cfg_escalation_t, after_s, C_I64) },
	{ ROW("sla.clocks[].escalate[]", "to", V_STRING, F_REQ),
	  AT(cfg_escalation_t, to, C_STR) },

	{ ROW("sla.targets[]", "name", V_STRING, F_REQ),
	  AT(cfg_target_t, name, C_STR) },
	{ ROW("sla.targets[]", "metric", V_ENUM, F_REQ),
	  .choices = metric_names, AT(cfg_target_t, metric, C_ENUM) },
	{ ROW("sla.targets[]", "period", V_ENUM, 0), .choices = period_names,
	  .def = "week", AT(cfg_target_t, period, C_ENUM) },
	{ ROW("sla.targets[]", "min", V_NUMBER, F_REQ), .min = 0,
	  .max = 1000000000, AT(cfg_target_t, min, C_DBL) },
	{ ROW("sla.targets[]", "calendar", V_STRING, 0) },
	{ ROW("sla.targets[]", "team", V_STRING, 0) },

	{ ROW("reconcile", "unmatched_grace", V_DURATION, 0), .min = 0,
	  .max = TS_DURATION_MAX, .def = "5m",
	  AT(cfg_t, unmatched_grace_s, C_I64) },

	{ ROW("log", "level", V_ENUM, 0), .choices = level_names,
	  .def = "info", AT(cfg_t, log_level, C_ENUM) },

	{ ROW("metrics", "listen", V_STRING, F_REQ | F_NORELOAD),
	  AT(cfg_t, metrics_listen, C_STR) },
};

/* The most rows one group has; grp_t keeps a slot for each. */
#define MAXROWS 16

/* Enumerations are stored through an int. */
_Static_assert(sizeof(cfg_ingest_kind_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_clock_mode_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_metric_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_period_t) == sizeof(int), "enum size");

/* One error, kept until all are known so they can be sorted by line. */
typedef struct {
	char *file;
	bool main;     /* in the main file, not an @include'd one */
	unsigned line;
	size_t seq;
	char *text;
} cerr_t;

typedef struct {
	const char *path;    /* the file as named by the caller */
	const char *dir;     /* its directory, for @include'd files */
	cerr_t *errs;
	size_t nerrs;
} ctx_t;

/* A group being read: its rows and, for each row, the setting found. */
typedef struct {
	const config_setting_t *set; /* NULL when the group is absent */
	char *path;
	const setting_t *rows;
	size_t nrows;
	const config_setting_t *val[MAXROWS]; /* NULL: absent or invalid */
} grp_t;

/* The path of an @include'd file, which libconfig gives relative to dir. */
static char *
include_path(const char *dir, const char *f)
{
	if (f[0] == '/' || strcmp(dir, ".") == 0)
		return xstrdup(f);
	return xasprintf("%s/%s", dir, f);
}

static char *
file_of(ctx_t *c, const config_setting_t *s)
{
	const char *f = s != NULL ? config_setting_source_file(s) : NULL;

	if (f == NULL)
		return xstrdup(c->path);
	return include_path(c->dir, f);
}

static void
add_error(ctx_t *c, char *file, unsigned line, char *text)
{
	cerr_t *e;

	c->errs = xreallocarray(c->errs, c->nerrs + 1, sizeof(*c->errs));
	e = &c->errs[c->nerrs];
	e->file = file;
	e->main = strcmp(file, c->path) == 0;
	e->line = line;
	e->seq = c->nerrs++;
	e->text = text;
}

/* Records "FILE:LINE: PATH: message", the line being that of setting s. */
static void PRINTFLIKE(4, 5)
emit(ctx_t *c, const config_setting_t *s, const char *path,
    const char *fmt, ...)
{
	unsigned line = s != NULL ? config_setting_source_line(s) : 0;
	char *file = file_of(c, s);
	char *msg;
	va_list ap, aq;
	int n;

	/* The root group has no line: the file starts at line 1. */
	if (line == 0)
		line = 1;
	va_start(ap, fmt);
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	msg = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	vsnprintf(msg, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
	va_end(ap);
	add_error(c, file, line, xasprintf("%s:%u: %s: %s", file, line, path,
	    msg));
	free(msg);
}

static int
cerr_cmp(const void *a, const void *b)
{
	const cerr_t *x = a, *y = b;
	int r;

	if (x->main != y->main)
		return x->main ? -1 : 1;
	r = strcmp(x->file, y->file);
	if (r != 0)
		return r;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The errors of the main file first, then those of included files. */
static char *
take_errors(ctx_t *c)
{
	sbuf_t b;
	size_t i;

	qsort(c->errs, c->nerrs, sizeof(*c->errs), cerr_cmp);
	sbuf_init(&b);
	for (i = 0; i < c->nerrs; i++) {
		sbuf_adds(&b, c->errs[i].text);
		sbuf_addc(&b, '\n');
	}
	return sbuf_take(&b);
}

static void
ctx_free(ctx_t *c)
{
	for (size_t i = 0; i < c->nerrs; i++) {
		free(c->errs[i].file);
		free(c->errs[i].text);
	}
	free(c->errs);
	c->errs = NULL;
	c->nerrs = 0;
}

static char *
path_key(const char *path, const char *name)
{
	if (path[0] == '\0')
		return xstrdup(name);
	return xasprintf("%s.%s", path, name);
}

static char *
path_index(const char *path, int i)
{
	return xasprintf("%s[%d]", path, i);
}

/* NULL-safe string equality: a missing name equals nothing. */
static bool
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void
fmt_duration(int64_t s, char *buf, size_t n)
{
	int64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
	size_t len = 0;

	buf[0] = '\0';
	if (h > 0)
		len += (size_t)snprintf(buf + len, n - len, "%lldh",
		    (long long)h);
	if (m > 0)
		len += (size_t)snprintf(buf + len, n - len, "%lldm",
		    (long long)m);
	if (sec > 0 || len == 0)
		snprintf(buf + len, n - len, "%llds", (long long)sec);
}

static const char *
ltype_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "a value of unknown type";
}

static const char *
vtype_expect(enum vtype t)
{
	switch (t) {
	case V_STRING:
	case V_ENUM:
		return "a string";
	case V_BOOL:
		return "true or false";
	case V_INT:
		return "an integer";
	case V_NUMBER:
		return "a number";
	case V_DURATION:
		return "a duration string such as \"90s\" or \"1h30m\"";
	case V_STRINGS:
		return "an array of strings [ \"...\", ... ]";
	case V_GROUP:
		return "a group { ... }";
	case V_LIST:
		return "a list of groups ( { ... }, ... )";
	case V_HOURS:
		return "\"24x7\" or a group of days "
		    "{ mon = \"09:00-17:00\"; ... }";
	case V_FRACTIONS:
		return "a number or an array of numbers";
	case V_DURMAP:
		return "a group of name = \"duration\"";
	}
	return "something else";
}

static bool
is_number(const config_setting_t *s)
{
	return config_setting_is_number(s);
}

static bool
type_ok(enum vtype t, const config_setting_t *s)
{
	int lt = config_setting_type(s);

	switch (t) {
	case V_STRING:
	case V_DURATION:
	case V_ENUM:
		return lt == CONFIG_TYPE_STRING;
	case V_BOOL:
		return lt == CONFIG_TYPE_BOOL;
	case V_INT:
		return lt == CONFIG_TYPE_INT || lt == CONFIG_TYPE_INT64;
	case V_NUMBER:
		return is_number(s);
	case V_STRINGS:
		return lt == CONFIG_TYPE_ARRAY || lt == CONFIG_TYPE_LIST;
	case V_GROUP:
	case V_DURMAP:
		return lt == CONFIG_TYPE_GROUP;
	case V_LIST:
		/* "[]" is how one may also write an empty list. */
		return lt == CONFIG_TYPE_LIST || (lt == CONFIG_TYPE_ARRAY &&
		    config_setting_length(s) == 0);
	case V_HOURS:
		return lt == CONFIG_TYPE_STRING || lt == CONFIG_TYPE_GROUP;
	case V_FRACTIONS:
		return is_number(s) || lt == CONFIG_TYPE_ARRAY ||
		    lt == CONFIG_TYPE_LIST;
	}
	return false;
}

static int64_t
num_int(const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_INT64)
		return config_setting_get_int64(s);
	return config_setting_get_int(s);
}

static double
num_value(const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		return config_setting_get_float(s);
	return (double)num_int(s);
}

static int
choice_index(const char *const *choices, const char *s)
{
	for (int i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], s) == 0)
			return i;
	return -1;
}

static void
choices_text(sbuf_t *b, const char *const *choices)
{
	for (int i = 0; choices[i] != NULL; i++)
		sbuf_printf(b, "%s\"%s\"", i > 0 ? ", " : "", choices[i]);
}

static void *
field(void *base, size_t off)
{
	return (char *)base + off;
}

static const void *
cfield(const void *base, size_t off)
{
	return (const char *)base + off;
}

/* Stores a default value, as written in the table, into base. */
static void
store_default(const setting_t *r, void *base)
{
	int64_t secs;
	const char *why;

	if (r->def == NULL || r->ctype == C_NONE)
		return;
	switch (r->ctype) {
	case C_STR:
		*(char **)field(base, r->off) = xstrdup(r->def);
		return;
	case C_BOOL:
		*(bool *)field(base, r->off) = strcmp(r->def, "true") == 0;
		return;
	case C_INT:
		*(int *)field(base, r->off) = (int)strtol(r->def, NULL, 10);
		return;
	case C_I64:
		if (r->type == V_DURATION) {
			if (ts_parse_duration(r->def, &secs, &why) == -1)
				fatalx("config: bad default %s.%s", r->group,
				    r->name);
			*(int64_t *)field(base, r->off) = secs;
		} else {
			*(int64_t *)field(base, r->off) =
			    strtoll(r->def, NULL, 10);
		}
		return;
	case C_DBL:
		*(double *)field(base, r->off) = strtod(r->def, NULL);
		return;
	case C_ENUM:
		*(int *)field(base, r->off) = choice_index(r->choices, r->def);
		return;
	case C_STRV:
	case C_NONE:
		return;
	}
}

/*
 * Checks the value of a setting against its row (the type is already known
 * to fit) and stores it into base. Returns false, having said why, when the
 * value is out of bounds or malformed.
 */
static bool
store_value(ctx_t *c, const setting_t *r, const config_setting_t *s,
    const char *path, void *base)
{
	const char *str, *why;
	int64_t v, secs;
	double d;
	int i, n, idx;
	bool ok;
	char b1[32];

	switch (r->type) {
	case V_STRING:
		str = config_setting_get_string(s);
		if (str[0] == '\0' && !(r->flags & F_EMPTY)) {
			emit(c, s, path, "must not be empty");
			return false;
		}
		if (r->ctype == C_STR)
			*(char **)field(base, r->off) = xstrdup(str);
		return true;
	case V_BOOL:
		if (r->ctype == C_BOOL)
			*(bool *)field(base, r->off) =
			    config_setting_get_bool(s) != 0;
		return true;
	case V_INT:
		v = num_int(s);
		if (v < r->min) {
			emit(c, s, path, "must be at least %lld, not %lld",
			    (long long)r->min, (long long)v);
			return false;
		}
		if (v > r->max) {
			emit(c, s, path, "must be at most %lld, not %lld",
			    (long long)r->max, (long long)v);
			return false;
		}
		if (r->ctype == C_INT)
			*(int *)field(base, r->off) = (int)v;
		else if (r->ctype == C_I64)
			*(int64_t *)field(base, r->off) = v;
		return true;
	case V_NUMBER:
		d = num_value(s);
		if (d < (double)r->min) {
			emit(c, s, path, "must be at least %lld, not %g",
			    (long long)r->min, d);
			return false;
		}
		if (d > (double)r->max) {
			emit(c, s, path, "must be at most %lld, not %g",
			    (long long)r->max, d);
			return false;
		}
		if (r->ctype == C_DBL)
			*(double *)field(base, r->off) = d;
		return true;
	case V_DURATION:
		str = config_setting_get_string(s);
		if (ts_parse_duration(str, &secs, &why) == -1) {
			emit(c, s, path, "bad duration \"%s\": %s", str, why);
			return false;
		}
		if (secs < r->min) {
			fmt_duration(r->min, b1, sizeof(b1));
			emit(c, s, path, "must be at least %s, not \"%s\"", b1,
			    str);
			return false;
		}
		if (secs > r->max) {
			fmt_duration(r->max, b1, sizeof(b1));
			emit(c, s, path, "must be at most %s, not \"%s\"", b1,
			    str);
			return false;
		}
		if (r->ctype == C_I64)
			*(int64_t *)field(base, r->off) = secs;
		return true;
	case V_ENUM:
		str = config_setting_get_string(s);
		idx = choice_index(r->choices, str);
		if (idx == -1) {
			sbuf_t b;

			sbuf_init(&b);
			choices_text(&b, r->choices);
			emit(c, s, path, "expected one of %s, not \"%s\"", b.s,
			    str);
			sbuf_free(&b);
			return false;
		}
		if (r->ctype == C_ENUM)
			*(int *)field(base, r->off) = idx;
		return true;
	case V_STRINGS:
		n = config_setting_length(s);
		ok = true;
		for (i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s,
			    (unsigned)i);
			char *p = path_index(path, i);

			if (config_setting_type(e) != CONFIG_TYPE_STRING) {
				emit(c, e, p, "expected a string, not %s",
				    ltype_name(e));
				ok = false;
			} else if (config_setting_get_string(e)[0] == '\0' &&
			    !(r->flags & F_EMPTY)) {
				emit(c, e, p, "must not be empty");
				ok = false;
			}
			free(p);
		}
		if (n < r->min) {
			emit(c, s, path, "must not be empty");
			ok = false;
		}
		if (ok && r->ctype == C_STRV) {
			char **v2 = xcalloc((size_t)n, sizeof(char *));

			for (i = 0; i < n; i++)
				v2[i] = xstrdup(config_setting_get_string_elem(
				    s, i));
			*(char ***)field(base, r->off) = v2;
			*(size_t *)field(base, r->offn) = (size_t)n;
		}
		return ok;
	case V_LIST:
		n = config_setting_length(s);
		for (i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s,
			    (unsigned)i);
			char *p;

			if (config_setting_is_group(e))
				continue;
			p = path_index(path, i);
			emit(c, e, p, "expected a group { ... }, not %s",
			    ltype_name(e));
			free(p);
		}
		if (n < r->min)
			emit(c, s, path, "must list at least %lld entr%s",
			    (long long)r->min, r->min == 1 ? "y" : "ies");
		/* Its code reads the elements that are groups. */
		return true;
	case V_GROUP:
	case V_HOURS:
	case V_FRACTIONS:
	case V_DURMAP:
		return true;
	}
	return false;
}

static void
schema_rows(const char *schema, const setting_t **rows, size_t *n)
{
	size_t i, j;

	for (i = 0; i < ARRAY_LEN(settings); i++)
		if (strcmp(settings[i].group, schema) == 0)
			break;
	for (j = i; j < ARRAY_LEN(settings); j++)
		if (strcmp(settings[j].group, schema) != 0)
			break;
	if (i == j || j - i > MAXROWS)
		fatalx("config: no or too many rows for group \"%s\"", schema);
	/* A row away from the others of its group would never be read. */
	for (size_t k = j; k < ARRAY_LEN(settings); k++)
		if (strcmp(settings[k].group, schema) == 0)
			fatalx("config: rows of group \"%s\" are not together",
			    schema);
	*rows = &settings[i];
	*n = j - i;
}

/*
 * Reads group set (NULL when absent) by the rows of schema: unknown keys,
 * wrong types, missing required keys and bad values are errors; values and
 * defaults are stored into base. g then tells which rows were given validly.
 */
static void
grp_read(ctx_t *c, grp_t *g, const config_setting_t *set, const char *schema,
    const char *path, void *base)
{
	int i, n;
	size_t k;

	memset(g, 0, sizeof(*g));
	g->set = set;
	g->path = xstrdup(path);
	schema_rows(schema, &g->rows, &g->nrows);

	n = set != NULL ? config_setting_length(set) : 0;
	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(set,
		    (unsigned)i);
		const char *name = config_setting_name(m);
		char *p = path_key(path, name);

		for (k = 0; k < g->nrows; k++)
			if (strcmp(g->rows[k].name, name) == 0)
				break;
		if (k == g->nrows) {
			sbuf_t b;

			sbuf_init(&b);
			for (k = 0; k < g->nrows; k++)
				sbuf_printf(&b, "%s%s", k > 0 ? ", " : "",
				    g->rows[k].name);
			emit(c, m, p, "unknown setting (expected one of: %s)",
			    b.s);
			sbuf_free(&b);
		} else if (!type_ok(g->rows[k].type, m)) {
			emit(c, m, p, "expected %s, not %s",
			    vtype_expect(g->rows[k].type), ltype_name(m));
		} else if (store_value(c, &g->rows[k], m, p, base)) {
			g->val[k] = m;
		}
		free(p);
	}
	for (k = 0; k < g->nrows; k++) {
		if (g->val[k] != NULL)
			continue;
		if (set != NULL && (g->rows[k].flags & F_REQ) &&
		    config_setting_get_member(set, g->rows[k].name) == NULL) {
			char *p = path_key(path, g->rows[k].name);

			emit(c, set, p, "missing required setting");
			free(p);
		}
		store_default(&g->rows[k], base);
	}
}

static void
grp_free(grp_t *g)
{
	free(g->path);
	g->path = NULL;
}

/* The setting given for name, or NULL when absent or invalid. */
static const config_setting_t *
grp_get(const grp_t *g, const char *name)
{
	for (size_t k = 0; k < g->nrows; k++)
		if (strcmp(g->rows[k].name, name) == 0)
			return g->val[k];
	fatalx("config: group %s has no row %s", g->path, name);
}

/* Whether name was written at all (valid or not). */
static bool
grp_has(const grp_t *g, const char *name)
{
	return g->set != NULL &&
	    config_setting_get_member(g->set, name) != NULL;
}

/* The string given for name, else the row's default (maybe NULL). */
static const char *
grp_string(const grp_t *g, const char *name)
{
	const config_setting_t *s = grp_get(g, name);

	if (s != NULL)
		return config_setting_get_string(s);
	if (grp_has(g, name))
		return NULL;
	for (size_t k = 0; k < g->nrows; k++)
		if (strcmp(g->rows[k].name, name) == 0)
			return g->rows[k].def;
	return NULL;
}

/* Emits at the setting of name (or the group when it has none). */
static const config_setting_t *
grp_where(const grp_t *g, const char *name)
{
	const config_setting_t *s = g->set != NULL ?
	    config_setting_get_member(g->set, name) : NULL;

	return s != NULL ? s : g->set;
}

/* --- Checks of single values. --- */

/*
 * A ZeroMQ endpoint: a transport, "://" and an address. libzmq checks the
 * rest when the socket binds or connects.
 */
static bool
endpoint_ok(const char *s)
{
	const char *p = strstr(s, "://");

	if (p == NULL || p == s || p[3] == '\0')
		return false;
	for (const char *q = s; q < p; q++)
		if (!islower((unsigned char)*q))
			return false;
	return true;
}

/* "host:port" with a port from 0 to 65535 and a host ("[::1]" for IPv6). */
static bool
listen_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || colon == s || colon[1] == '\0')
		return false;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port < 0 || port > 65535 ||
	    !isdigit((unsigned char)colon[1]))
		return false;
	if (s[0] == '[')
		return colon[-1] == ']' && colon - s > 2;
	/* An IPv6 address needs its brackets to be told from the port. */
	return memchr(s, ':', (size_t)(colon - s)) == NULL;
}

/*
 * Whether name is a zone of the system tz database: a TZif file under
 * $TZDIR or /usr/share/zoneinfo. Returns NULL, or why not (malloc'd).
 */
static char *
tz_check(const char *name)
{
	const char *dir = getenv("TZDIR");
	char magic[4], *file;
	struct stat st;
	FILE *f;
	size_t n;

	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if (name[0] == '/' || strstr(name, "..") != NULL)
		return xasprintf("not a time zone name: \"%s\"", name);
	file = xasprintf("%s/%s", dir, name);
	if (stat(file, &st) == -1 || !S_ISREG(st.st_mode)) {
		free(file);
		return xasprintf("unknown time zone \"%s\" (not in the tz "
		    "database at %s)", name, dir);
	}
	f = fopen(file, "rb");
	n = f != NULL ? fread(magic, 1, sizeof(magic), f) : 0;
	if (f != NULL)
		fclose(f);
	free(file);
	if (n != sizeof(magic) || memcmp(magic, "TZif", 4) != 0)
		return xasprintf("unknown time zone \"%s\" (%s/%s is not a "
		    "tz database file)", name, dir, name);
	return NULL;
}

/* Two ASCII digits, or -1. */
static int
two_digits(const char *s)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "HH:MM" at s: minutes from midnight, up to 24:00; -1 when malformed. */
static int
parse_hhmm(const char *s)
{
	int h = two_digits(s), m = two_digits(s + 3);

	if (h < 0 || m < 0 || s[2] != ':' || h > 24 || m > 59 ||
	    (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

typedef struct {
	cfg_interval_t iv;
	char text[12];
} piece_t;

static int
piece_cmp(const void *a, const void *b)
{
	const piece_t *x = a, *y = b;

	if (x->iv.open_min != y->iv.open_min)
		return x->iv.open_min < y->iv.open_min ? -1 : 1;
	return (x->iv.close_min > y->iv.close_min) -
	    (x->iv.close_min < y->iv.close_min);
}

/*
 * One day's hours, "HH:MM-HH:MM[,HH:MM-HH:MM...]" (spaces allowed around
 * the commas). The intervals are stored sorted, touching ones merged;
 * overlapping ones are an error.
 */
static void
parse_day(ctx_t *c, const config_setting_t *s, const char *path,
    cfg_interval_t **out, size_t *nout)
{
	const char *str = config_setting_get_string(s), *p = str;
	piece_t *pc = NULL;
	size_t n = 0, i, m;
	bool ok = true;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		int open, close;

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len != 11 || p[5] != '-' ||
		    (open = parse_hhmm(p)) == -1 ||
		    (close = parse_hhmm(p + 6)) == -1) {
			emit(c, s, path, "bad interval \"%.*s\" (expected "
			    "HH:MM-HH:MM from 00:00 to 24:00, several "
			    "separated by commas)", (int)len, p);
			ok = false;
		} else if (open >= close) {
			emit(c, s, path, "interval \"%.*s\" must open before "
			    "it closes", (int)len, p);
			ok = false;
		} else {
			pc = xreallocarray(pc, n + 1, sizeof(*pc));
			pc[n].iv.open_min = open;
			pc[n].iv.close_min = close;
			memcpy(pc[n].text, p, 11);
			pc[n].text[11] = '\0';
			n++;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (n > 1)
		qsort(pc, n, sizeof(*pc), piece_cmp);
	for (i = 1; i < n; i++)
		if (pc[i].iv.open_min < pc[i - 1].iv.close_min) {
			emit(c, s, path, "intervals \"%s\" and \"%s\" overlap",
			    pc[i - 1].text, pc[i].text);
			ok = false;
		}
	if (ok && n > 0) {
		*out = xcalloc(n, sizeof(**out));
		m = 0;
		for (i = 0; i < n; i++) {
			cfg_interval_t *last = m > 0 ? &(*out)[m - 1] : NULL;

			if (last != NULL &&
			    pc[i].iv.open_min == last->close_min)
				last->close_min = pc[i].iv.close_min;
			else
				(*out)[m++] = pc[i].iv;
		}
		*nout = m;
	}
	free(pc);
}

static int
i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A domain as found in an email address after the '@', lower-cased. */
static bool
domain_normalise(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		if (*p == '@' || isspace((unsigned char)*p) ||
		    (unsigned char)*p < 0x20)
			return false;
		*p = (char)tolower((unsigned char)*p);
	}
	return true;
}

/* Two ASCII letters (an ISO 3166-1 alpha-2 code), made upper case. */
static bool
country_normalise(char *cc)
{
	for (int i = 0; i < 2; i++)
		if (!((cc[i] >= 'a' && cc[i] <= 'z') ||
		    (cc[i] >= 'A' && cc[i] <= 'Z')))
			return false;
	if (cc[2] != '\0')
		return false;
	cc[0] = (char)toupper((unsigned char)cc[0]);
	cc[1] = (char)toupper((unsigned char)cc[1]);
	return true;
}

static void
domains_check(ctx_t *c, const config_setting_t *s, const char *path,
    char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (domain_normalise(v[i]))
			continue;
		char *p = path_index(path, (int)i);

		emit(c, config_setting_get_elem(s, (unsigned)i), p,
		    "not a domain: \"%s\" (write it without '@')", v[i]);
		free(p);
	}
}

/* --- The groups. --- */

/* True for an endpoint whose port the system chooses at bind time. */
static bool
wildcard_port(const char *ep)
{
	size_t n;

	if (ep == NULL || strncmp(ep, "tcp://", 6) != 0)
		return false;
	n = strlen(ep);
	return (n >= 2 && strcmp(ep + n - 2, ":*") == 0) ||
	    (n >= 2 && strcmp(ep + n - 2, ":0") == 0);
}

static void
load_bus(ctx_t *c, cfg_t *cfg, const config_setting_t *set)
{
	const config_setting_t *list, *s;
	grp_t g, gc;
	size_t i, j, n;

	grp_read(c, &g, set, "bus", "bus", cfg);
	list = grp_get(&g, "ingest");
	n = list != NULL ? (size_t)config_setting_length(list) : 0;
	cfg->ingest = xcalloc(n, sizeof(*cfg->ingest));
	cfg->ningest = n;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list,
		    (unsigned)i);
		cfg_ingest_t *in = &cfg->ingest[i];
		char *path = path_index("bus.ingest", (int)i);
		grp_t gi;

		in->line = (int)config_setting_source_line(e);
		if (!config_setting_is_group(e)) {
			free(path);
			continue;
		}
		grp_read(c, &gi, e, "bus.ingest[]", path, in);
		if ((s = grp_get(&gi, "endpoint")) != NULL &&
		    !endpoint_ok(in->endpoint)) {
			char *p = path_key(path, "endpoint");

			emit(c, s, p, "expected a ZeroMQ endpoint such as "
			    "\"tcp://127.0.0.1:5555\", not \"%s\"",
			    in->endpoint);
			free(p);
		}
		if (grp_get(&gi, "connect") == NULL)
			in->connect = in->kind == INGEST_SUB;
		if (grp_has(&gi, "subscribe") && in->kind != INGEST_SUB &&
		    grp_get(&gi, "kind") != NULL) {
			char *p = path_key(path, "subscribe");

			emit(c, grp_where(&gi, "subscribe"), p,
			    "only allowed when kind is \"sub\"");
			free(p);
		}
		if (in->kind == INGEST_SUB && in->subscribe == NULL) {
			/* One empty prefix: every message. */
			in->subscribe = xcalloc(1, sizeof(char *));
			in->subscribe[0] = xstrdup("");
			in->nsubscribe = 1;
		}
		grp_free(&gi);
		free(path);
	}

	s = grp_get(&g, "publish");
	if (s != NULL && !endpoint_ok(cfg->publish))
		emit(c, s, "bus.publish", "expected a ZeroMQ endpoint such as "
		    "\"tcp://127.0.0.1:5558\", not \"%s\"", cfg->publish);
	s = grp_get(&g, "control");
	if (s != NULL && !endpoint_ok(cfg->control))
		emit(c, s, "bus.control", "expected a ZeroMQ endpoint such as "
		    "\"ipc:///run/handoff/control.sock\", not \"%s\"",
		    cfg->control);

	/*
	 * No two sockets on one endpoint: the second bind would fail. A
	 * wildcard port ("tcp://127.0.0.1:*" or ":0") makes the system choose
	 * a free port for each socket, so it may appear several times.
	 */
	for (i = 0; i < n; i++) {
		const char *ep = cfg->ingest[i].endpoint;
		const config_setting_t *e = config_setting_get_elem(list,
		    (unsigned)i);
		char *p = path_index("bus.ingest", (int)i);
		char *pe = path_key(p, "endpoint");
		const config_setting_t *where = config_setting_get_member(e,
		    "endpoint");

		if (wildcard_port(ep)) {
			free(pe);
			free(p);
			continue;
		}
		for (j = 0; j < i; j++)
			if (streq(ep, cfg->ingest[j].endpoint))
				break;
		if (j < i)
			emit(c, where, pe, "endpoint \"%s\" is already used "
			    "by bus.ingest[%zu]", ep, j);
		else if (streq(ep, cfg->publish))
			emit(c, where, pe, "endpoint \"%s\" is also "
			    "bus.publish", ep);
		else if (streq(ep, cfg->control))
			emit(c, where, pe, "endpoint \"%s\" is also "
			    "bus.control", ep);
		free(pe);
		free(p);
	}
	if (streq(cfg->publish, cfg->control) && !wildcard_port(cfg->publish))
		emit(c, grp_where(&g, "control"), "bus.control",
		    "endpoint \"%s\" is also bus.publish", cfg->control);

	grp_read(c, &gc, grp_get(&g, "curve"), "bus.curve", "bus.curve", cfg);
	grp_free(&gc);
	grp_free(&g);
}

static void
load_calendars(ctx_t *c, cfg_t *cfg, const config_setting_t *list)
{
	size_t i, j, n = list != NULL ? (size_t)config_setting_length(list) : 0;

	cfg->calendars = xcalloc(n, sizeof(*cfg->calendars));
	cfg->ncalendars = n;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list,
		    (unsigned)i), *s;
		cfg_calendar_t *cal = &cfg->calendars[i];
		char *path = path_index("calendars", (int)i), *p, *why;
		grp_t g;

		cal->line = (int)config_setting_source_line(e);
		if (!config_setting_is_group(e)) {
			free(path);
			continue;
		}
		grp_read(c, &g, e, "calendars[]", path, cal);

		if ((s = grp_get(&g, "name")) != NULL) {
			p = path_key(path, "name");
			for (j = 0; j < i; j++)
				if (streq(cal->name, cfg->calendars[j].name))
					break;
			if (j < i)
				emit(c, s, p, "duplicate calendar name \"%s\" "
				    "(first at line %d)", cal->name,
				    cfg->calendars[j].line);
			else if (strcmp(cal->name, "team") == 0)
				emit(c, s, p, "the name \"team\" is reserved "
				    "(a clock's calendar = \"team\" means the "
				    "calendar of the lead's team)");
			free(p);
		}

		if ((s = grp_get(&g, "timezone")) != NULL &&
		    (why = tz_check(cal->timezone)) != NULL) {
			p = path_key(path, "timezone");
			emit(c, s, p, "%s", why);
			free(p);
			free(why);
		}

		if ((s = grp_get(&g, "hours")) != NULL) {
			p = path_key(path, "hours");
			if (config_setting_type(s) == CONFIG_TYPE_STRING) {
				if (strcmp(config_setting_get_string(s),
				    "24x7") == 0)
					cal->always_open = true;
				else
					emit(c, s, p, "expected \"24x7\" or a "
					    "group of days { mon = "
					    "\"09:00-17:00\"; ... }, not "
					    "\"%s\"",
					    config_setting_get_string(s));
			} else if (config_setting_length(s) == 0) {
				emit(c, s, p, "no day is open (a day left out "
				    "is closed; \"24x7\" is always open)");
			} else {
				grp_t gh;

				grp_read(c, &gh, s, "calendars[].hours", p,
				    NULL);
				for (int d = 0; d < 7; d++) {
					const config_setting_t *ds =
					    grp_get(&gh, day_names[d]);
					char *pd;

					if (ds == NULL)
						continue;
					pd = path_key(p, day_names[d]);
					parse_day(c, ds, pd, &cal->hours[d],
					    &cal->nhours[d]);
					free(pd);
				}
				grp_free(&gh);
			}
			free(p);
		}

		if ((s = grp_get(&g, "holidays")) != NULL) {
			int nh = config_setting_length(s), k;
			size_t m = 0;

			cal->holidays = xcalloc((size_t)nh, sizeof(int64_t));
			for (k = 0; k < nh; k++) {
				const char *d = config_setting_get_string_elem(
				    s, k);
				int y, mo, da;

				if (ts_parse_date(d, &y, &mo, &da) == -1) {
					p = xasprintf("%s.holidays[%d]", path,
					    k);
					emit(c, config_setting_get_elem(s,
					    (unsigned)k), p, "not a date "
					    "YYYY-MM-DD: \"%s\"", d);
					free(p);
					continue;
				}
				cal->holidays[m++] = ts_days_from_civil(y, mo,
				    da);
			}
			qsort(cal->holidays, m, sizeof(int64_t), i64_cmp);
			/* A date listed twice is still one holiday. */
			cal->nholidays = 0;
			for (size_t h = 0; h < m; h++)
				if (cal->nholidays == 0 ||
				    cal->holidays[cal->nholidays - 1] !=
				    cal->holidays[h])
					cal->holidays[cal->nholidays++] =
					    cal->holidays[h];
		}
		grp_free(&g);
		free(path);
	}
}

/* Resolves a calendar reference; emits and returns false when undefined. */
static bool
ref_calendar(ctx_t *c, const cfg_t *cfg, const config_setting_t *s,
    const char *path, size_t *out)
{
	int idx = cfg_calendar_index(cfg, config_setting_get_string(s));

	if (idx == -1) {
		emit(c, s, path, "undefined calendar \"%s\"",
		    config_setting_get_string(s));
		return false;
	}
	*out = (size_t)idx;
	return true;
}

static bool
ref_team(ctx_t *c, const cfg_t *cfg, const config_setting_t *s,
    const char *path, size_t *out)
{
	int idx = cfg_team_index(cfg, config_setting_get_string(s));

	if (idx == -1) {
		emit(c, s, path, "undefined team \"%s\"",
		    config_setting_get_string(s));
		return false;
	}
	*out = (size_t)idx;
	return true;
}

static void
load_teams(ctx_t *c, cfg_t *cfg, const config_setting_t *list)
{
	size_t i, j, n = list != NULL ? (size_t)config_setting_length(list) : 0;

	cfg->teams = xcalloc(n, sizeof(*cfg->teams));
	cfg->nteams = n;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list,
		    (unsigned)i), *s, *reps;
		cfg_team_t *t = &cfg->teams[i];
		char *path = path_index("teams", (int)i), *p;
		size_t r, nr;
		grp_t g;

		t->line = (int)config_setting_source_line(e);
		if (!config_setting_is_group(e)) {
			free(path);
			continue;
		}
		grp_read(c, &g, e, "teams[]", path, t);
		if ((s = grp_get(&g, "name")) != NULL) {
			for (j = 0; j < i; j++)
				if (streq(t->name, cfg->teams[j].name))
					break;
			if (j < i) {
				p = path_key(path, "name");
				emit(c, s, p, "duplicate team name \"%s\" "
				    "(first at line %d)", t->name,
				    cfg->teams[j].line);
				free(p);
			}
		}
		if ((s = grp_get(&g, "calendar")) != NULL) {
			p = path_key(path, "calendar");
			(void)ref_calendar(c, cfg, s, p, &t->calendar);
			free(p);
		}

		reps = grp_get(&g, "reps");
		nr = reps != NULL ? (size_t)config_setting_length(reps) : 0;
		t->reps = xcalloc(nr, sizeof(*t->reps));
		t->nreps = nr;
		for (r = 0; r < nr; r++) {
			const config_setting_t *re = config_setting_get_elem(
			    reps, (unsigned)r);
			cfg_rep_t *rep = &t->reps[r];
			char *pr = xasprintf("%s.reps[%zu]", path, r);
			grp_t gr;

			if (!config_setting_is_group(re)) {
				free(pr);
				continue;
			}
			grp_read(c, &gr, re, "teams[].reps[]", pr, rep);
			if ((s = grp_get(&gr, "id")) != NULL) {
				for (j = 0; j < r; j++)
					if (streq(rep->id, t->reps[j].id))
						break;
				if (j < r) {
					p = path_key(pr, "id");
					emit(c, s, p, "duplicate rep \"%s\" in "
					    "team \"%s\"", rep->id,
					    t->name != NULL ? t->name : "");
					free(p);
				}
			}
			grp_free(&gr);
			free(pr);
		}
		grp_free(&g);
		free(path);
	}
}

static void
load_rules(ctx_t *c, cfg_t *cfg, const config_setting_t *list)
{
	size_t i, j, k, n = list != NULL ?
	    (size_t)config_setting_length(list) : 0;

	cfg->rules = xcalloc(n, sizeof(*cfg->rules));
	cfg->nrules = n;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list,
		    (unsigned)i), *s;
		cfg_rule_t *ru = &cfg->rules[i];
		char *path = path_index("routing.rules", (int)i), *p;
		grp_t g;

		ru->line = (int)config_setting_source_line(e);
		if (!config_setting_is_group(e)) {
			free(path);
			continue;
		}
		grp_read(c, &g, e, "routing.rules[]", path, ru);
		if ((s = grp_get(&g, "name")) != NULL) {
			for (j = 0; j < i; j++)
				if (streq(ru->name, cfg->rules[j].name))
					break;
			if (j < i) {
				p = path_key(path, "name");
				emit(c, s, p, "duplicate rule name \"%s\" "
				    "(first at line %d)", ru->name,
				    cfg->rules[j].line);
				free(p);
			}
		}
		if ((s = grp_get(&g, "country")) != NULL) {
			for (k = 0; k < ru->ncountry; k++) {
				char *cc = ru->country[k];

				if (country_normalise(cc))
					continue;
				p = xasprintf("%s.country[%zu]", path, k);
				emit(c, config_setting_get_elem(s, (unsigned)k),
				    p, "expected a two-letter country code "
				    "(ISO 3166-1 alpha-2), not \"%s\"", cc);
				free(p);
			}
		}
		if ((s = grp_get(&g, "email_domain")) != NULL) {
			p = path_key(path, "email_domain");
			domains_check(c, s, p, ru->email_domain,
			    ru->nemail_domain);
			free(p);
		}
		ru->has_min_score = grp_get(&g, "min_score") != NULL;
		if ((s = grp_get(&g, "team")) != NULL) {
			p = path_key(path, "team");
			(void)ref_team(c, cfg, s, p, &ru->team);
			free(p);
		}
		grp_free(&g);
		free(path);
	}
}

static void
load_routing(ctx_t *c, cfg_t *cfg, const config_setting_t *root,
    const config_setting_t *set)
{
	const config_setting_t *s;
	grp_t g;

	grp_read(c, &g, set, "routing", "routing", cfg);
	load_rules(c, cfg, grp_get(&g, "rules"));
	if ((s = grp_get(&g, "free_mail_domains")) != NULL)
		domains_check(c, s, "routing.free_mail_domains",
		    cfg->free_mail_domains, cfg->nfree_mail_domains);
	/*
	 * Teams without a single rule would make every MQL unroutable: that
	 * is a mistake in the file, not a state to run in.
	 */
	if (cfg->nteams > 0 && cfg->nrules == 0) {
		if (!grp_has(&g, "rules"))
			emit(c, set != NULL ? set : root, "routing.rules",
			    "missing required setting (teams are defined, "
			    "and only rules send leads to them)");
		else if ((s = grp_get(&g, "rules")) != NULL)
			emit(c, s, "routing.rules", "must list at least one "
			    "rule when teams are defined");
	}
	grp_free(&g);
}

/* The five event-type lists of a clock, in the order they are checked. */
static const char *const evlist_names[] = { "start", "stop", "cancel",
	"pause", "resume" };

static void
load_clock_events(ctx_t *c, cfg_clock_t *ck, const grp_t *g, const char *path)
{
	uint32_t *masks[] = { &ck->start, &ck->stop, &ck->cancel, &ck->pause,
		&ck->resume };

	for (size_t l = 0; l < ARRAY_LEN(evlist_names); l++) {
		const config_setting_t *s = grp_get(g, evlist_names[l]);
		int n = s != NULL ? config_setting_length(s) : 0;

		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s,
			    (unsigned)i);
			const char *name = config_setting_get_string(e);
			int t = ev_type_from_name(name, strlen(name));
			char *p = xasprintf("%s.%s[%d]", path, evlist_names[l],
			    i);
			size_t o;

			if (t == -1) {
				emit(c, e, p, "unknown event type \"%s\"",
				    name);
			} else if (t == EV_CLOCK_TICK) {
				emit(c, e, p, "\"%s\" only moves the clock and "
				    "cannot drive an SLA clock", name);
			} else if (*masks[l] & EV_BIT(t)) {
				emit(c, e, p, "\"%s\" is listed twice", name);
			} else {
				for (o = 0; o < l; o++)
					if (*masks[o] & EV_BIT(t))
						break;
				if (o < l)
					emit(c, e, p, "\"%s\" is already in %s",
					    name, evlist_names[o]);
				else
					*masks[l] |= EV_BIT(t);
			}
			free(p);
		}
	}
	/* A pause without a resume would stop the clock for good. */
	if (grp_has(g, "pause") != grp_has(g, "resume")) {
		const char *given = grp_has(g, "pause") ? "pause" : "resume";
		const char *other = grp_has(g, "pause") ? "resume" : "pause";
		char *p = path_key(path, other);

		emit(c, g->set, p, "missing required setting (%s is given)",
		    given);
		free(p);
	}
}

static void
load_warn_at(ctx_t *c, cfg_clock_t *ck, const config_setting_t *s,
    const char *path)
{
	bool single = is_number(s);
	int n = single ? 1 : config_setting_length(s), i;
	size_t m = 0;

	ck->warn_at = xcalloc((size_t)n, sizeof(double));
	for (i = 0; i < n; i++) {
		const config_setting_t *e = single ? s :
		    config_setting_get_elem(s, (unsigned)i);
		char *p = single ? xstrdup(path) : path_index(path, i);
		double d;

		if (!is_number(e)) {
			emit(c, e, p, "expected a number, not %s",
			    ltype_name(e));
		} else if ((d = num_value(e)) <= 0 || d >= 1) {
			emit(c, e, p, "must be a fraction of the goal between "
			    "0 and 1 (both excluded), not %g", d);
		} else {
			size_t k;

			for (k = 0; k < m; k++)
				if (ck->warn_at[k] == d)
					break;
			if (k < m)
				emit(c, e, p, "%g is listed twice", d);
			else
				ck->warn_at[m++] = d;
		}
		free(p);
	}
	qsort(ck->warn_at, m, sizeof(double), dbl_cmp);
	ck->nwarn_at = m;
}

static void
load_goals(ctx_t *c, cfg_clock_t *ck, const setting_t *row,
    const config_setting_t *s, const char *path)
{
	int n = config_setting_length(s), i;

	ck->segment_goals = xcalloc((size_t)n, sizeof(*ck->segment_goals));
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		char *p = path_key(path, config_setting_name(e));
		setting_t r = *row;
		cfg_segment_goal_t sg = { NULL, 0 };

		/* Each member is read as a duration with the row's bounds. */
		r.type = V_DURATION;
		r.ctype = C_I64;
		r.off = offsetof(cfg_segment_goal_t, goal_s);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			emit(c, e, p, "expected %s, not %s",
			    vtype_expect(V_DURATION), ltype_name(e));
		} else if (store_value(c, &r, e, p, &sg)) {
			sg.segment = xstrdup(config_setting_name(e));
			ck->segment_goals[ck->nsegment_goals++] = sg;
		}
		free(p);
	}
}

typedef struct {
	cfg_escalation_t esc;
	size_t idx;
} esc_sort_t;

static int
esc_cmp(const void *a, const void *b)
{
	const esc_sort_t *x = a, *y = b;

	if (x->esc.after_s != y->esc.after_s)
		return x->esc.after_s < y->esc.after_s ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static void
load_escalate(ctx_t *c, cfg_clock_t *ck, const config_setting_t *list,
    const char *path)
{
	size_t i, n = (size_t)config_setting_length(list);
	esc_sort_t *v = xcalloc(n, sizeof(*v));

	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list,
		    (unsigned)i);
		char *p = path_index(path, (int)i);
		grp_t g;

		v[i].idx = i;
		if (!config_setting_is_group(e)) {
			free(p);
			continue;
		}
		grp_read(c, &g, e, "sla.clocks[].escalate[]", p, &v[i].esc);
		if (streq(v[i].esc.to, "manager"))
			v[i].esc.kind = ESC_MANAGER;
		else if (streq(v[i].esc.to, "reassign"))
			v[i].esc.kind = ESC_REASSIGN;
		else
			v[i].esc.kind = ESC_RECIPIENT;
		grp_free(&g);
		free(p);
	}
	/* Stable: levels with the same "after" keep their file order. */
	qsort(v, n, sizeof(*v), esc_cmp);
	ck->escalate = xcalloc(n, sizeof(*ck->escalate));
	for (i = 0; i < n; i++)
		ck->escalate[i] = v[i].esc;
	ck->nescalate = n;
	free(v);
}

static void
load_clocks(ctx_t *c, cfg_t *cfg, const config_setting_t *list)
{
	size_t i, j, n = list != NULL ? (size_t)config_setting_length(list) : 0;

	cfg->clocks = xcalloc(n, sizeof(*cfg->clocks));
	cfg->nclocks = n;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list,
		    (unsigned)i), *s;
		cfg_clock_t *ck = &cfg->clocks[i];
		char *path = path_index("sla.clocks", (int)i), *p;
		const char *cal;
		grp_t g;

		ck->line = (int)config_setting_source_line(e);
		if (!config_setting_is_group(e)) {
			free(path);
			continue;
		}
		grp_read(c, &g, e, "sla.clocks[]", path, ck);
		if ((s = grp_get(&g, "name")) != NULL) {
			for (j = 0; j < i; j++)
				if (streq(ck->name, cfg->clocks[j].name))
					break;
			if (j < i) {
				p = path_key(path, "name");
				emit(c, s, p, "duplicate clock name \"%s\" "
				    "(first at line %d)", ck->name,
				    cfg->clocks[j].line);
				free(p);
			}
		}
		load_clock_events(c, ck, &g, path);

		if ((s = grp_get(&g, "goal_by_segment")) != NULL) {
			const setting_t *row = NULL;

			for (size_t k = 0; k < g.nrows; k++)
				if (strcmp(g.rows[k].name,
				    "goal_by_segment") == 0)
					row = &g.rows[k];
			p = path_key(path, "goal_by_segment");
			load_goals(c, ck, row, s, p);
			free(p);
		}

		cal = grp_string(&g, "calendar");
		p = path_key(path, "calendar");
		if (streq(cal, "team")) {
			ck->calendar_team = true;
			if (cfg->ncalendars == 0)
				emit(c, grp_where(&g, "calendar"), p,
				    "\"team\" falls back to the first calendar "
				    "for leads without a team, and no calendar "
				    "is defined");
		} else if ((s = grp_get(&g, "calendar")) != NULL) {
			(void)ref_calendar(c, cfg, s, p, &ck->calendar);
		}
		free(p);

		if ((s = grp_get(&g, "warn_at")) != NULL) {
			p = path_key(path, "warn_at");
			load_warn_at(c, ck, s, p);
			free(p);
		}
		if ((s = grp_get(&g, "escalate")) != NULL) {
			p = path_key(path, "escalate");
			load_escalate(c, ck, s, p);
			free(p);
		}
		grp_free(&g);
		free(path);
	}
}

static void
load_targets(ctx_t *c, cfg_t *cfg, const config_setting_t *list)
{
	size_t i, j, n = list != NULL ? (size_t)config_setting_length(list) : 0;

	cfg->targets = xcalloc(n, sizeof(*cfg->targets));
	cfg->ntargets = n;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list,
		    (unsigned)i), *s;
		cfg_target_t *tg = &cfg->targets[i];
		char *path = path_index("sla.targets", (int)i), *p;
		grp_t g;

		tg->line = (int)config_setting_source_line(e);
		if (!config_setting_is_group(e)) {
			free(path);
			continue;
		}
		grp_read(c, &g, e, "sla.targets[]", path, tg);
		if ((s = grp_get(&g, "name")) != NULL) {
			for (j = 0; j < i; j++)
				if (streq(tg->name, cfg->targets[j].name))
					break;
			if (j < i) {
				p = path_key(path, "name");
				emit(c, s, p, "duplicate target name \"%s\" "
				    "(first at line %d)", tg->name,
				    cfg->targets[j].line);
				free(p);
			}
		}
		if ((s = grp_get(&g, "min")) != NULL &&
		    grp_get(&g, "metric") != NULL &&
		    tg->metric != METRIC_MQL_COUNT && tg->min > 1) {
			p = path_key(path, "min");
			emit(c, s, p, "%s is a rate: must be at most 1, not %g",
			    metric_names[tg->metric], tg->min);
			free(p);
		}
		p = path_key(path, "calendar");
		if ((s = grp_get(&g, "calendar")) != NULL)
			(void)ref_calendar(c, cfg, s, p, &tg->calendar);
		else if (!grp_has(&g, "calendar") && cfg->ncalendars == 0)
			emit(c, e, p, "missing required setting (there is no "
			    "calendar to default to)");
		free(p);
		if ((s = grp_get(&g, "team")) != NULL) {
			p = path_key(path, "team");
			tg->has_team = ref_team(c, cfg, s, p, &tg->team);
			free(p);
		}
		grp_free(&g);
		free(path);
	}
}

static void
load_all(ctx_t *c, cfg_t *cfg, const config_setting_t *root)
{
	const config_setting_t *s;
	grp_t g, sub;

	grp_read(c, &g, root, "", "", cfg);

	grp_read(c, &sub, grp_get(&g, "database"), "database", "database",
	    cfg);
	grp_free(&sub);

	load_bus(c, cfg, grp_get(&g, "bus"));

	grp_read(c, &sub, grp_get(&g, "batch"), "batch", "batch", cfg);
	/* Only when both values are valid (given or defaulted). */
	if ((grp_get(&sub, "buffer_events") != NULL ||
	    !grp_has(&sub, "buffer_events")) &&
	    (grp_get(&sub, "max_events") != NULL ||
	    !grp_has(&sub, "max_events")) &&
	    cfg->buffer_max_events < cfg->batch_max_events)
		emit(c, grp_where(&sub, grp_has(&sub, "buffer_events") ?
		    "buffer_events" : "max_events"), "batch.buffer_events",
		    "must be at least batch.max_events (%d), not %d",
		    cfg->batch_max_events, cfg->buffer_max_events);
	grp_free(&sub);

	grp_read(c, &sub, grp_get(&g, "clock"), "clock", "clock", cfg);
	grp_free(&sub);

	load_calendars(c, cfg, grp_get(&g, "calendars"));
	load_teams(c, cfg, grp_get(&g, "teams"));
	load_routing(c, cfg, root, grp_get(&g, "routing"));

	grp_read(c, &sub, grp_get(&g, "sla"), "sla", "sla", cfg);
	load_clocks(c, cfg, grp_get(&sub, "clocks"));
	load_targets(c, cfg, grp_get(&sub, "targets"));
	grp_free(&sub);

	grp_read(c, &sub, grp_get(&g, "reconcile"), "reconcile", "reconcile",
	    cfg);
	grp_free(&sub);
	grp_read(c, &sub, grp_get(&g, "log"), "log", "log", cfg);
	grp_free(&sub);

	grp_read(c, &sub, grp_get(&g, "metrics"), "metrics", "metrics", cfg);
	if ((s = grp_get(&sub, "listen")) != NULL &&
	    !listen_ok(cfg->metrics_listen))
		emit(c, s, "metrics.listen", "expected \"host:port\" such as "
		    "\"127.0.0.1:9464\", not \"%s\"", cfg->metrics_listen);
	/* It binds exactly one address: a host name could mean several. */
	else if (s != NULL && metrics_listen_parse(cfg->metrics_listen, NULL,
	    NULL) == -1)
		emit(c, s, "metrics.listen", "\"%s\": the host must be a "
		    "numeric IPv4 address or an IPv6 address in brackets, such "
		    "as \"127.0.0.1:9464\" or \"[::1]:9464\"",
		    cfg->metrics_listen);
	grp_free(&sub);

	grp_free(&g);
}

/*
 * libconfig 1.5 silently wraps decimal integers beyond 32 bits unless they
 * carry the L suffix, so a value such as 5000000000 would come out as
 * 705032704. This scan finds such literals before libconfig sees them:
 * it skips comments, strings and names, and reports each one.
 */
static void
scan_integers(ctx_t *c, const char *file, const char *s)
{
	unsigned line = 1;
	const char *p = s;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && strncmp(p, "*/", 2) != 0;
			    p++)
				if (*p == '\n')
					line++;
			if (*p != '\0')
				p += 2;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"' && *p != '\n'; p++)
				if (*p == '\\' && p[1] != '\0' && p[1] != '\n')
					p++;
			if (*p == '"')
				p++;
		} else if (isalpha((unsigned char)*p) || *p == '*' ||
		    *p == '_' || *p == '@') {
			while (isalnum((unsigned char)*p) || *p == '*' ||
			    *p == '_' || *p == '-' || *p == '@')
				p++;
		} else if (isdigit((unsigned char)*p)) {
			const char *start = p;
			bool neg = p > s && p[-1] == '-';
			unsigned long long v;
			bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');

			if (hex) {
				p += 2;
				while (isxdigit((unsigned char)*p))
					p++;
			} else {
				while (isdigit((unsigned char)*p))
					p++;
			}
			if (!hex && (*p == '.' || *p == 'e' || *p == 'E')) {
				/* A float: skip the rest of it. */
				while (isalnum((unsigned char)*p) ||
				    *p == '.' || ((*p == '+' || *p == '-') &&
				    (p[-1] == 'e' || p[-1] == 'E')))
					p++;
				continue;
			}
			if (*p == 'L')
				continue;
			errno = 0;
			v = strtoull(start, NULL, hex ? 16 : 10);
			if (errno == ERANGE || (hex ? v > 0xffffffffULL :
			    v > (neg ? (unsigned long long)INT_MAX + 1 :
			    (unsigned long long)INT_MAX))) {
				char *f = xstrdup(file);

				add_error(c, f, line, xasprintf("%s:%u: "
				    "syntax error: integer %s%.*s does not "
				    "fit in 32 bits (write %s%.*sL for a "
				    "64-bit integer)", f, line, neg ? "-" : "",
				    (int)(p - start), start, neg ? "-" : "",
				    (int)(p - start), start));
			}
		} else {
			p++;
		}
	}
}

#if defined(HANDOFF_ASAN)
/*
 * libconfig 1.5 leaks the string token at which a syntax error is found (its
 * parser frees no discarded token). LeakSanitizer would report that on every
 * file with such an error, so sanitizer builds tell it not to; the parsed
 * values of a good file are freed by config_destroy and are still checked,
 * since the settings holding them are allocated elsewhere.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\n";
}
#endif

/* Reads a whole file; NULL and why (a static string) when it cannot. */
static char *
read_file(const char *path, const char **why)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char buf[8192];
	size_t n;
	sbuf_t b;

	*why = NULL;
	if (f == NULL) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fileno(f), &st) == -1) {
		*why = strerror(errno);
		fclose(f);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		*why = strerror(EISDIR);
		fclose(f);
		return NULL;
	}
	sbuf_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (b.len + n > CFG_MAX_BYTES) {
			*why = "larger than 16 MiB, not a configuration file";
			fclose(f);
			sbuf_free(&b);
			return NULL;
		}
		if (memchr(buf, '\0', n) != NULL) {
			*why = "contains a NUL byte, not a configuration file";
			fclose(f);
			sbuf_free(&b);
			return NULL;
		}
		sbuf_add(&b, buf, n);
	}
	if (ferror(f)) {
		*why = strerror(errno);
		fclose(f);
		sbuf_free(&b);
		return NULL;
	}
	fclose(f);
	return sbuf_take(&b);
}

int
cfg_load(const char *path, cfg_t **out, char **errors)
{
	ctx_t c = { .path = path };
	config_t lc;
	cfg_t *cfg;
	char *text, *dir, *slash;
	const char *why;

	*out = NULL;
	*errors = NULL;
	if ((text = read_file(path, &why)) == NULL) {
		*errors = xasprintf("%s: cannot read: %s\n", path, why);
		return -1;
	}
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	c.dir = dir;

	scan_integers(&c, path, text);
	config_init(&lc);
	config_set_include_dir(&lc, dir);
	if (c.nerrs == 0 && config_read_string(&lc, text) == CONFIG_FALSE) {
		const char *f = config_error_file(&lc);
		const char *text_err = config_error_text(&lc);
		char *file = f == NULL ? xstrdup(path) : include_path(dir, f);
		unsigned line = (unsigned)config_error_line(&lc);

		if (strcmp(text_err, "syntax error") == 0)
			add_error(&c, file, line, xasprintf("%s:%u: syntax "
			    "error", file, line));
		else
			add_error(&c, file, line, xasprintf("%s:%u: syntax "
			    "error: %s", file, line, text_err));
	} else if (c.nerrs == 0) {
		/* Included files get the same integer check. */
		for (unsigned i = 0; i < lc.num_filenames; i++) {
			char *full = include_path(dir, lc.filenames[i]);
			char *t = read_file(full, &why);

			if (t != NULL)
				scan_integers(&c, full, t);
			free(t);
			free(full);
		}
	}
	free(text);

	if (c.nerrs > 0) {
		config_destroy(&lc);
		*errors = take_errors(&c);
		ctx_free(&c);
		free(dir);
		return -1;
	}

	cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	load_all(&c, cfg, config_root_setting(&lc));
	config_destroy(&lc);
	free(dir);
	if (c.nerrs > 0) {
		*errors = take_errors(&c);
		ctx_free(&c);
		cfg_destroy(&cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
cfg_destroy(cfg_t **p)
{
	cfg_t *cfg;
	size_t i, j;

	if (p == NULL || (cfg = *p) == NULL)
		return;
	free(cfg->path);
	free(cfg->db_conninfo);
	for (i = 0; i < cfg->ningest; i++) {
		free(cfg->ingest[i].endpoint);
		free_strv(cfg->ingest[i].subscribe, cfg->ingest[i].nsubscribe);
	}
	free(cfg->ingest);
	free(cfg->publish);
	free(cfg->control);
	free(cfg->curve_secret_key_file);
	free(cfg->curve_clients_dir);
	for (i = 0; i < cfg->ncalendars; i++) {
		free(cfg->calendars[i].name);
		free(cfg->calendars[i].timezone);
		for (j = 0; j < 7; j++)
			free(cfg->calendars[i].hours[j]);
		free(cfg->calendars[i].holidays);
	}
	free(cfg->calendars);
	for (i = 0; i < cfg->nteams; i++) {
		free(cfg->teams[i].name);
		free(cfg->teams[i].manager);
		for (j = 0; j < cfg->teams[i].nreps; j++)
			free(cfg->teams[i].reps[j].id);
		free(cfg->teams[i].reps);
	}
	free(cfg->teams);
	for (i = 0; i < cfg->nrules; i++) {
		free(cfg->rules[i].name);
		free_strv(cfg->rules[i].segment, cfg->rules[i].nsegment);
		free_strv(cfg->rules[i].country, cfg->rules[i].ncountry);
		free_strv(cfg->rules[i].email_domain,
		    cfg->rules[i].nemail_domain);
	}
	free(cfg->rules);
	free_strv(cfg->free_mail_domains, cfg->nfree_mail_domains);
	for (i = 0; i < cfg->nclocks; i++) {
		cfg_clock_t *ck = &cfg->clocks[i];

		free(ck->name);
		for (j = 0; j < ck->nsegment_goals; j++)
			free(ck->segment_goals[j].segment);
		free(ck->segment_goals);
		free(ck->warn_at);
		for (j = 0; j < ck->nescalate; j++)
			free(ck->escalate[j].to);
		free(ck->escalate);
	}
	free(cfg->clocks);
	for (i = 0; i < cfg->ntargets; i++)
		free(cfg->targets[i].name);
	free(cfg->targets);
	free(cfg->metrics_listen);
	free(cfg);
	*p = NULL;
}

static bool
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
strv_same(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_same(a[i], b[i]))
			return false;
	return true;
}

static bool
ingest_same(const cfg_t *a, const cfg_t *b)
{
	if (a->ningest != b->ningest)
		return false;
	for (size_t i = 0; i < a->ningest; i++) {
		const cfg_ingest_t *x = &a->ingest[i], *y = &b->ingest[i];

		if (x->kind != y->kind || x->connect != y->connect ||
		    !str_same(x->endpoint, y->endpoint) ||
		    !strv_same(x->subscribe, x->nsubscribe, y->subscribe,
		    y->nsubscribe))
			return false;
	}
	return true;
}

/* Whether a row's value, stored at its offset in cfg_t, is the same. */
static bool
field_same(const setting_t *r, const cfg_t *a, const cfg_t *b)
{
	const void *x = cfield(a, r->off), *y = cfield(b, r->off);

	switch (r->ctype) {
	case C_NONE:
		return true;
	case C_STR:
		return str_same(*(char *const *)x, *(char *const *)y);
	case C_BOOL:
		return *(const bool *)x == *(const bool *)y;
	case C_INT:
	case C_ENUM:
		return *(const int *)x == *(const int *)y;
	case C_I64:
		return *(const int64_t *)x == *(const int64_t *)y;
	case C_DBL:
		return *(const double *)x == *(const double *)y;
	case C_STRV:
		return strv_same(*(char **const *)x,
		    *(const size_t *)cfield(a, r->offn),
		    *(char **const *)y, *(const size_t *)cfield(b, r->offn));
	}
	return false;
}

char *
cfg_restart_needed(const cfg_t *running, const cfg_t *loaded)
{
	sbuf_t b;
	bool any = false;

	sbuf_init(&b);
	for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
		const setting_t *r = &settings[i];
		bool same;

		/* Rows inside lists are covered by their list's own check. */
		if (!(r->flags & F_NORELOAD) || strchr(r->group, '[') != NULL)
			continue;
		if (r->same != NULL)
			same = r->same(running, loaded);
		else
			same = field_same(r, running, loaded);
		if (same)
			continue;
		sbuf_printf(&b, "%s%s%s%s", any ? ", " : "", r->group,
		    r->group[0] != '\0' ? "." : "", r->name);
		any = true;
	}
	if (!any) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_take(&b);
}

int
cfg_calendar_index(const cfg_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ncalendars; i++)
		if (streq(cfg->calendars[i].name, name))
			return (int)i;
	return -1;
}

int
cfg_team_index(const cfg_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nteams; i++)
		if (streq(cfg->teams[i].name, name))
			return (int)i;
	return -1;
}
