/*
 * Tests of the configuration loader (daemon/config.c): the example
 * configuration in deploy/ loads with the right values, defaults apply,
 * and every kind of mistake gives exactly one error naming the file, the
 * line and the setting. The broken files live in tests/config/bad/, each
 * with its expected error on its first line ("# expect: ..."), so that
 * tests/unit/test_check_config.sh can check them through handoffd too.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handoff/config.h"
#include "handoff/event.h"
#include "handoff/log.h"
#include "handoff/util.h"
#include "testutil.h"

/* A private directory for the files a test writes, removed afterwards. */
static char tmpdir[256];

static int
setup_tmp(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown_tmp(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	(void)state;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", tmpdir, e->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	return rmdir(tmpdir);
}

/* Writes text to tmpdir/name and returns the path (malloc'd). */
static char *
write_tmp(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail_msg("cannot write %s", path);
	fputs(text, f);
	fclose(f);
	return path;
}

/* The smallest configuration that loads: only the required settings. */
#define MINIMAL \
	"database = { conninfo = \"postgresql:///handoff\"; };\n" \
	"bus = { ingest = ( { kind = \"sub\"; endpoint = \"tcp://127.0.0.1:5555\"; } );\n" \
	"        publish = \"tcp://127.0.0.1:5558\"; };\n"

static cfg_t *
load_ok(const char *path)
{
	cfg_t *cfg = NULL;
	char *errors = NULL;

	if (cfg_load(path, &cfg, &errors) != 0)
		fail_msg("%s should load, but:\n%s", path, errors);
	assert_null(errors);
	assert_non_null(cfg);
	return cfg;
}

static cfg_t *
load_text_ok(const char *text)
{
	char *path = write_tmp("ok.conf", text);
	cfg_t *cfg = load_ok(path);

	free(path);
	return cfg;
}

/* Loads path, which must fail with exactly the errors want. */
static void
expect_errors(const char *path, const char *want)
{
	cfg_t *cfg = NULL;
	char *errors = NULL;

	if (cfg_load(path, &cfg, &errors) != -1)
		fail_msg("%s should not load", path);
	assert_null(cfg);
	assert_non_null(errors);
	assert_string_equal(errors, want);
	free(errors);
}

/*
 * Loads tests/config/bad/name, which must fail with exactly one error: the
 * line given by its "# expect:" comment, {FILE} standing for its path.
 */
static void
expect_bad(const char *name)
{
	char *rel = xasprintf("tests/config/bad/%s", name);
	char *path = tu_src_path(rel);
	char *text = tu_read_file(path, NULL), *nl, *tok;
	const char *pfx = "# expect: ";
	sbuf_t want;

	if (text == NULL)
		fail_msg("cannot read %s", path);
	if (strncmp(text, pfx, strlen(pfx)) != 0 ||
	    (nl = strchr(text, '\n')) == NULL)
		fail_msg("%s: the first line must be \"# expect: ...\"", path);
	*nl = '\0';
	sbuf_init(&want);
	for (const char *p = text + strlen(pfx); *p != '\0';) {
		if ((tok = strstr(p, "{FILE}")) == NULL) {
			sbuf_adds(&want, p);
			break;
		}
		sbuf_add(&want, p, (size_t)(tok - p));
		sbuf_adds(&want, path);
		p = tok + strlen("{FILE}");
	}
	sbuf_addc(&want, '\n');
	expect_errors(path, want.s);
	sbuf_free(&want);
	free(text);
	free(path);
	free(rel);
}

static void
test_example(void **state)
{
	char *path = tu_src_path("deploy/handoffd.conf");
	cfg_t *cfg = load_ok(path);
	const cfg_calendar_t *cal;
	const cfg_team_t *t;
	const cfg_clock_t *ck;

	(void)state;
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->db_conninfo, "postgresql:///handoff");

	assert_int_equal(cfg->ningest, 3);
	assert_int_equal(cfg->ingest[0].kind, INGEST_SUB);
	assert_string_equal(cfg->ingest[0].endpoint, "tcp://127.0.0.1:5555");
	assert_true(cfg->ingest[0].connect);
	assert_int_equal(cfg->ingest[0].nsubscribe, 3);
	assert_string_equal(cfg->ingest[0].subscribe[0], "lead.");
	assert_string_equal(cfg->ingest[0].subscribe[2], "deal.");
	assert_int_equal(cfg->ingest[1].kind, INGEST_PULL);
	assert_false(cfg->ingest[1].connect);
	assert_int_equal(cfg->ingest[1].nsubscribe, 0);
	assert_int_equal(cfg->ingest[2].kind, INGEST_ROUTER);
	assert_string_equal(cfg->ingest[2].endpoint, "tcp://127.0.0.1:5557");
	assert_string_equal(cfg->publish, "tcp://127.0.0.1:5558");
	assert_string_equal(cfg->control, "ipc:///run/handoff/control.sock");
	assert_int_equal(cfg->max_message_bytes, 65536);
	assert_null(cfg->curve_secret_key_file);
	assert_null(cfg->curve_clients_dir);

	assert_int_equal(cfg->batch_max_events, 1000);
	assert_int_equal(cfg->batch_max_wait_ms, 5);
	assert_int_equal(cfg->buffer_max_events, 20000);
	assert_int_equal(cfg->clock_mode, CLOCK_WALL);
	assert_int_equal(cfg->lateness_s, 60);

	assert_int_equal(cfg->ncalendars, 2);
	cal = &cfg->calendars[0];
	assert_string_equal(cal->name, "emea");
	assert_string_equal(cal->timezone, "Europe/London");
	assert_false(cal->always_open);
	for (int d = 0; d < 4; d++) {
		assert_int_equal(cal->nhours[d], 1);
		assert_int_equal(cal->hours[d][0].open_min, 9 * 60);
		assert_int_equal(cal->hours[d][0].close_min, 17 * 60 + 30);
	}
	assert_int_equal(cal->nhours[4], 2);
	assert_int_equal(cal->hours[4][0].open_min, 540);
	assert_int_equal(cal->hours[4][0].close_min, 720);
	assert_int_equal(cal->hours[4][1].open_min, 780);
	assert_int_equal(cal->hours[4][1].close_min, 960);
	assert_int_equal(cal->nhours[5], 0);
	assert_int_equal(cal->nhours[6], 0);
	assert_null(cal->hours[5]);
	/* 2026-12-25 and 2026-12-28, in days since 1970-01-01. */
	assert_int_equal(cal->nholidays, 2);
	assert_int_equal(cal->holidays[0], 20812);
	assert_int_equal(cal->holidays[1], 20815);
	assert_int_equal(cal->line, 49);
	assert_string_equal(cfg->calendars[1].name, "always");
	assert_string_equal(cfg->calendars[1].timezone, "UTC");
	assert_true(cfg->calendars[1].always_open);
	assert_int_equal(cfg->calendars[1].nholidays, 0);

	assert_int_equal(cfg->nteams, 2);
	t = &cfg->teams[0];
	assert_string_equal(t->name, "emea-smb");
	assert_int_equal(t->calendar, 0);
	assert_string_equal(t->manager, "maria@corp.example");
	assert_int_equal(t->nreps, 3);
	assert_string_equal(t->reps[0].id, "ana@corp.example");
	assert_int_equal(t->reps[0].weight, 2);
	assert_int_equal(t->reps[0].capacity, 30);
	assert_false(t->reps[0].away);
	assert_int_equal(t->reps[1].weight, 1);
	assert_int_equal(t->reps[1].capacity, 0);
	assert_true(t->reps[2].away);
	assert_string_equal(cfg->teams[1].name, "emea-ent");
	assert_int_equal(cfg->teams[1].nreps, 2);
	assert_string_equal(cfg->teams[1].reps[1].id, "eli@corp.example");

	assert_int_equal(cfg->nrules, 3);
	assert_string_equal(cfg->rules[0].name, "enterprise");
	assert_int_equal(cfg->rules[0].nsegment, 1);
	assert_string_equal(cfg->rules[0].segment[0], "enterprise");
	assert_int_equal(cfg->rules[0].team, 1);
	assert_false(cfg->rules[0].has_min_score);
	assert_int_equal(cfg->rules[1].ncountry, 2);
	assert_string_equal(cfg->rules[1].country[0], "GB");
	assert_string_equal(cfg->rules[1].country[1], "DE");
	assert_true(cfg->rules[1].has_min_score);
	assert_int_equal(cfg->rules[1].min_score, 50);
	assert_int_equal(cfg->rules[1].team, 0);
	assert_int_equal(cfg->rules[2].nsegment + cfg->rules[2].ncountry +
	    cfg->rules[2].nemail_domain, 0);
	assert_false(cfg->rules[2].has_min_score);
	assert_true(cfg->sticky_domain);
	assert_int_equal(cfg->nfree_mail_domains, 4);
	assert_string_equal(cfg->free_mail_domains[3], "hotmail.com");
	assert_true(cfg->reassign_away);

	assert_int_equal(cfg->nclocks, 2);
	ck = &cfg->clocks[0];
	assert_string_equal(ck->name, "mql_acceptance");
	assert_int_equal(ck->start, EV_BIT(EV_LEAD_QUALIFIED));
	assert_int_equal(ck->stop,
	    EV_BIT(EV_SALES_ACCEPTED) | EV_BIT(EV_SALES_REJECTED));
	assert_int_equal(ck->cancel,
	    EV_BIT(EV_LEAD_RECYCLED) | EV_BIT(EV_LEAD_DISQUALIFIED));
	assert_int_equal(ck->pause, 0);
	assert_int_equal(ck->resume, 0);
	assert_int_equal(ck->goal_s, 4 * 3600);
	assert_int_equal(ck->nsegment_goals, 1);
	assert_string_equal(ck->segment_goals[0].segment, "enterprise");
	assert_int_equal(ck->segment_goals[0].goal_s, 3600);
	assert_true(ck->calendar_team);
	assert_int_equal(ck->nwarn_at, 2);
	assert_true(ck->warn_at[0] == 0.5);
	assert_true(ck->warn_at[1] == 0.75);
	assert_int_equal(ck->nescalate, 2);
	assert_int_equal(ck->escalate[0].after_s, 2 * 3600);
	assert_int_equal(ck->escalate[0].kind, ESC_MANAGER);
	assert_string_equal(ck->escalate[0].to, "manager");
	assert_int_equal(ck->escalate[1].after_s, 8 * 3600);
	assert_int_equal(ck->escalate[1].kind, ESC_REASSIGN);
	ck = &cfg->clocks[1];
	assert_string_equal(ck->name, "first_touch");
	assert_int_equal(ck->start, EV_BIT(EV_SALES_ACCEPTED));
	assert_int_equal(ck->stop, EV_BIT(EV_SALES_ACTIVITY));
	assert_int_equal(ck->cancel, EV_BIT(EV_LEAD_RECYCLED) |
	    EV_BIT(EV_LEAD_DISQUALIFIED) | EV_BIT(EV_SALES_REJECTED));
	assert_int_equal(ck->goal_s, 8 * 3600);
	assert_int_equal(ck->nwarn_at, 0);
	assert_int_equal(ck->nescalate, 0);

	assert_int_equal(cfg->ntargets, 2);
	assert_string_equal(cfg->targets[0].name, "mql_volume");
	assert_int_equal(cfg->targets[0].metric, METRIC_MQL_COUNT);
	assert_int_equal(cfg->targets[0].period, PERIOD_WEEK);
	assert_true(cfg->targets[0].min == 200);
	assert_int_equal(cfg->targets[0].calendar, 0);
	assert_false(cfg->targets[0].has_team);
	assert_int_equal(cfg->targets[1].metric, METRIC_ACCEPTANCE_RATE);
	assert_true(cfg->targets[1].min == 0.6);

	assert_int_equal(cfg->unmatched_grace_s, 300);
	assert_int_equal(cfg->log_level, LOG_LVL_INFO);
	assert_string_equal(cfg->metrics_listen, "127.0.0.1:9464");

	assert_int_equal(cfg_calendar_index(cfg, "always"), 1);
	assert_int_equal(cfg_calendar_index(cfg, "nowhere"), -1);
	assert_int_equal(cfg_team_index(cfg, "emea-ent"), 1);
	assert_int_equal(cfg_team_index(cfg, "emea"), -1);

	cfg_destroy(&cfg);
	assert_null(cfg);
	cfg_destroy(&cfg);
	free(path);
}

static void
test_defaults(void **state)
{
	cfg_t *cfg = load_text_ok(MINIMAL);

	(void)state;
	assert_true(cfg->ingest[0].connect); /* sub connects by default */
	assert_int_equal(cfg->ingest[0].nsubscribe, 1);
	assert_string_equal(cfg->ingest[0].subscribe[0], "");
	assert_string_equal(cfg->control, "ipc:///run/handoff/control.sock");
	assert_int_equal(cfg->max_message_bytes, 65536);
	assert_int_equal(cfg->batch_max_events, 1000);
	assert_int_equal(cfg->batch_max_wait_ms, 5);
	assert_int_equal(cfg->buffer_max_events, 20000);
	assert_int_equal(cfg->clock_mode, CLOCK_WALL);
	assert_int_equal(cfg->lateness_s, 60);
	assert_int_equal(cfg->ncalendars + cfg->nteams + cfg->nrules +
	    cfg->nclocks + cfg->ntargets, 0);
	assert_false(cfg->sticky_domain);
	assert_true(cfg->reassign_away);
	assert_int_equal(cfg->nfree_mail_domains, 0);
	assert_int_equal(cfg->unmatched_grace_s, 300);
	assert_int_equal(cfg->log_level, LOG_LVL_INFO);
	assert_null(cfg->metrics_listen);
	assert_null(cfg->curve_secret_key_file);
	cfg_destroy(&cfg);
}

static void
test_durations(void **state)
{
	cfg_t *cfg = load_text_ok(MINIMAL
	    "clock = { mode = \"event\"; lateness = \"0s\"; };\n"
	    "calendars = ( { name = \"c\"; timezone = \"UTC\"; hours = \"24x7\"; } );\n"
	    "sla = { clocks = ( { name = \"k\"; start = [\"lead.qualified\"];\n"
	    "  stop = [\"sales.accepted\"]; goal = \"1h30m\"; calendar = \"c\";\n"
	    "  goal_by_segment = { smb = \"5415s\"; ent = \"15m\"; };\n"
	    "  warn_at = 0.9;\n"
	    "  escalate = ( { after = \"8h\"; to = \"reassign\"; },\n"
	    "               { after = \"90s\"; to = \"ops@corp.example\"; } ); } ); };\n"
	    "reconcile = { unmatched_grace = \"2h\"; };\n");
	const cfg_clock_t *ck = &cfg->clocks[0];

	(void)state;
	assert_int_equal(cfg->clock_mode, CLOCK_EVENT);
	assert_int_equal(cfg->lateness_s, 0);
	assert_int_equal(ck->goal_s, 5400);
	assert_false(ck->calendar_team);
	assert_int_equal(ck->calendar, 0);
	assert_int_equal(ck->nsegment_goals, 2);
	assert_string_equal(ck->segment_goals[0].segment, "smb");
	assert_int_equal(ck->segment_goals[0].goal_s, 5415);
	assert_int_equal(ck->segment_goals[1].goal_s, 900);
	assert_int_equal(ck->nwarn_at, 1);
	assert_true(ck->warn_at[0] == 0.9);
	/* Escalations are sorted by when they fire. */
	assert_int_equal(ck->escalate[0].after_s, 90);
	assert_int_equal(ck->escalate[0].kind, ESC_RECIPIENT);
	assert_string_equal(ck->escalate[0].to, "ops@corp.example");
	assert_int_equal(ck->escalate[1].after_s, 8 * 3600);
	assert_int_equal(cfg->unmatched_grace_s, 7200);
	cfg_destroy(&cfg);
}

static void
test_hours_and_normalising(void **state)
{
	cfg_t *cfg = load_text_ok(MINIMAL
	    "calendars = ( { name = \"c\"; timezone = \"America/New_York\";\n"
	    "  hours = { mon = \"13:00-24:00, 08:00-12:00\";\n"
	    "            sat = \"10:00-11:00,11:00-12:00\";\n"
	    "            sun = \"00:00-24:00\"; };\n"
	    "  holidays = [\"2024-02-29\", \"2024-02-29\"]; } );\n"
	    "teams = ( { name = \"t\"; calendar = \"c\"; reps = (); } );\n"
	    "routing = { rules = ( { name = \"r\"; team = \"t\"; country = [\"gb\"];\n"
	    "  email_domain = [\"Corp.EXAMPLE\"]; min_score = -5; } );\n"
	    "  free_mail_domains = [\"GMail.com\"]; };\n"
	    "sla = { targets = ( { name = \"x\"; metric = \"first_touch_met_rate\";\n"
	    "  min = 1; team = \"t\"; period = \"month\"; } ); };\n"
	    "log = { level = \"debug\"; };\n");
	const cfg_calendar_t *cal = &cfg->calendars[0];

	(void)state;
	/* Sorted, whatever the order written. */
	assert_int_equal(cal->nhours[0], 2);
	assert_int_equal(cal->hours[0][0].open_min, 480);
	assert_int_equal(cal->hours[0][0].close_min, 720);
	assert_int_equal(cal->hours[0][1].open_min, 780);
	assert_int_equal(cal->hours[0][1].close_min, 1440);
	/* Touching intervals are merged. */
	assert_int_equal(cal->nhours[5], 1);
	assert_int_equal(cal->hours[5][0].open_min, 600);
	assert_int_equal(cal->hours[5][0].close_min, 720);
	assert_int_equal(cal->nhours[6], 1);
	assert_int_equal(cal->hours[6][0].close_min, 1440);
	/* A date listed twice is one holiday. */
	assert_int_equal(cal->nholidays, 1);
	assert_int_equal(cal->holidays[0], 19782);
	assert_int_equal(cfg->teams[0].nreps, 0);
	assert_string_equal(cfg->rules[0].country[0], "GB");
	assert_string_equal(cfg->rules[0].email_domain[0], "corp.example");
	assert_int_equal(cfg->rules[0].min_score, -5);
	assert_string_equal(cfg->free_mail_domains[0], "gmail.com");
	/* Without a calendar, a target uses the first one. */
	assert_int_equal(cfg->targets[0].calendar, 0);
	assert_true(cfg->targets[0].has_team);
	assert_int_equal(cfg->targets[0].team, 0);
	assert_int_equal(cfg->targets[0].period, PERIOD_MONTH);
	assert_int_equal(cfg->log_level, LOG_LVL_DEBUG);
	cfg_destroy(&cfg);
}

static void
test_restart_needed(void **state)
{
	cfg_t *a = load_text_ok(MINIMAL
	    "log = { level = \"info\"; };\n"
	    "metrics = { listen = \"127.0.0.1:9464\"; };\n");
	cfg_t *b = load_text_ok(MINIMAL
	    "log = { level = \"debug\"; };\n"
	    "metrics = { listen = \"127.0.0.1:9464\"; };\n");
	cfg_t *d = load_text_ok(
	    "database = { conninfo = \"postgresql:///other\"; };\n"
	    "bus = { ingest = ( { kind = \"sub\"; endpoint = \"tcp://127.0.0.1:5555\";\n"
	    "                     subscribe = [\"lead.\"]; } );\n"
	    "        publish = \"tcp://127.0.0.1:5558\"; max_message_bytes = 4096; };\n"
	    "batch = { max_wait_ms = 50; };\n"
	    "clock = { lateness = \"5m\"; };\n");
	char *r;

	(void)state;
	/* The log level may change on reload. */
	assert_null(cfg_restart_needed(a, b));
	r = cfg_restart_needed(a, d);
	assert_non_null(r);
	assert_string_equal(r, "database.conninfo, bus.ingest, "
	    "bus.max_message_bytes, batch.max_wait_ms, metrics.listen");
	free(r);
	cfg_destroy(&a);
	cfg_destroy(&b);
	cfg_destroy(&d);
}

static void
test_timezone_database(void **state)
{
	char *zone = write_tmp("Fake_Zone", "TZif2 and the rest");
	char *notz = write_tmp("Not_A_Zone", "# just text\n");
	char *path = write_tmp("tz.conf", MINIMAL
	    "calendars = ( { name = \"a\"; timezone = \"Fake_Zone\"; hours = \"24x7\"; },\n"
	    "              { name = \"b\"; timezone = \"Not_A_Zone\"; hours = \"24x7\"; },\n"
	    "              { name = \"c\"; timezone = \"/etc/passwd\"; hours = \"24x7\"; },\n"
	    "              { name = \"d\"; timezone = \"x/../Fake_Zone\"; hours = \"24x7\"; } );\n");
	const char *old = getenv("TZDIR");
	char *saved = old != NULL ? xstrdup(old) : NULL, *want;

	(void)state;
	setenv("TZDIR", tmpdir, 1);
	want = xasprintf(
	    "%s:5: calendars[1].timezone: unknown time zone \"Not_A_Zone\" "
	    "(%s/Not_A_Zone is not a tz database file)\n"
	    "%s:6: calendars[2].timezone: not a time zone name: \"/etc/passwd\"\n"
	    "%s:7: calendars[3].timezone: not a time zone name: "
	    "\"x/../Fake_Zone\"\n", path, tmpdir, path, path);
	expect_errors(path, want);
	if (saved != NULL)
		setenv("TZDIR", saved, 1);
	else
		unsetenv("TZDIR");
	free(saved);
	free(want);
	free(path);
	free(notz);
	free(zone);
}

static void
test_all_errors_collected(void **state)
{
	char *path = write_tmp("many.conf",
	    "log = { level = \"loud\"; };\n"
	    "database = { conninfo = \"\"; };\n"
	    "bus = { ingest = ( { kind = \"sub\"; endpoint = \"tcp://127.0.0.1:5555\"; } );\n"
	    "        publish = \"tcp://127.0.0.1:5555\"; };\n"
	    "metrics = { listen = \"9464\"; };\n");
	char *want = xasprintf(
	    "%s:1: log.level: expected one of \"error\", \"warn\", \"info\", "
	    "\"debug\", not \"loud\"\n"
	    "%s:2: database.conninfo: must not be empty\n"
	    "%s:3: bus.ingest[0].endpoint: endpoint \"tcp://127.0.0.1:5555\" "
	    "is also bus.publish\n"
	    "%s:5: metrics.listen: expected \"host:port\" such as "
	    "\"127.0.0.1:9464\", not \"9464\"\n", path, path, path, path);

	(void)state;
	expect_errors(path, want);
	free(want);
	free(path);
}

static void
test_missing_file(void **state)
{
	char *path = xasprintf("%s/no-such.conf", tmpdir);
	char *want = xasprintf("%s: cannot read: No such file or directory\n",
	    path);

	(void)state;
	expect_errors(path, want);
	free(want);
	free(path);
}

static void
test_missing_top_level(void **state)
{
	char *path = write_tmp("top.conf", "# nothing but a comment\n");
	char *want = xasprintf("%s:1: database: missing required setting\n"
	    "%s:1: bus: missing required setting\n", path, path);

	(void)state;
	expect_errors(path, want);
	free(want);
	free(path);
}

/* One test per kind of mistake: the state is its file in tests/config/bad. */
static void
test_bad(void **state)
{
	expect_bad(*state);
}

/* Every file in tests/config/bad, including any added later. */
static void
test_every_bad_file(void **state)
{
	char *dir = tu_src_path("tests/config/bad");
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	(void)state;
	if (d == NULL)
		fail_msg("cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len < 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		expect_bad(e->d_name);
		n++;
	}
	closedir(d);
	assert_true(n >= 12);
	free(dir);
}

/* A test named after its file, which it gets as its state. */
#define BAD(name) { "bad/" name, test_bad, NULL, NULL, \
	(void *)(uintptr_t)(name ".conf") }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_hours_and_normalising),
		cmocka_unit_test(test_restart_needed),
		cmocka_unit_test(test_timezone_database),
		cmocka_unit_test(test_all_errors_collected),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_missing_top_level),
		BAD("unknown_key"),
		BAD("wrong_type"),
		BAD("missing_required"),
		BAD("bad_duration"),
		BAD("bad_hours"),
		BAD("overlapping_hours"),
		BAD("open_after_close"),
		BAD("hours_not_24x7"),
		BAD("unknown_day"),
		BAD("unknown_timezone"),
		BAD("bad_holiday"),
		BAD("undefined_team"),
		BAD("undefined_calendar"),
		BAD("duplicate_name"),
		BAD("weight_below_1"),
		BAD("warn_at_range"),
		BAD("unknown_event_type"),
		BAD("no_start"),
		BAD("pause_without_resume"),
		BAD("syntax_error"),
		BAD("integer_overflow"),
		BAD("ingest_kind"),
		BAD("subscribe_not_sub"),
		BAD("empty_ingest"),
		BAD("country_code"),
		BAD("rate_above_1"),
		BAD("teams_without_rules"),
		cmocka_unit_test(test_every_bad_file),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
