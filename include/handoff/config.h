/*
 * The configuration file (SPEC §3), parsed with libconfig into one validated
 * structure. cfg_load either returns a complete, consistent configuration or
 * a list of errors, each naming the file, the line and the setting:
 *   "/etc/handoff/handoffd.conf:42: teams[0].reps[1].weight: must be at least 1"
 * Every index into another list (team -> calendar, rule -> team, ...) is
 * resolved here, so later code never looks a name up and never fails to.
 */
#ifndef HANDOFF_CONFIG_H
#define HANDOFF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/util.h"

typedef enum { INGEST_SUB, INGEST_PULL, INGEST_ROUTER } cfg_ingest_kind_t;

typedef struct {
	cfg_ingest_kind_t kind;
	char *endpoint;
	bool connect;      /* connect instead of bind (default: sub connects) */
	char **subscribe;  /* sub only; default one empty prefix (everything) */
	size_t nsubscribe;
	int line;
} cfg_ingest_t;

/* One open interval of a day, minutes from local midnight, [open, close). */
typedef struct {
	int open_min;
	int close_min; /* up to 1440 ("24:00") */
} cfg_interval_t;

typedef struct {
	char *name;
	char *timezone; /* IANA name, checked against the system tz database */
	bool always_open; /* hours = "24x7" */
	cfg_interval_t *hours[7]; /* 0 = Monday ... 6 = Sunday, sorted */
	size_t nhours[7];
	int64_t *holidays; /* days since 1970-01-01 of the local dates, sorted */
	size_t nholidays;
	int line;
} cfg_calendar_t;

typedef struct {
	char *id;
	int weight;   /* >= 1, default 1 */
	int capacity; /* 0: unlimited */
	bool away;
} cfg_rep_t;

typedef struct {
	char *name;
	size_t calendar; /* index into cfg_t.calendars */
	char *manager;   /* NULL when none */
	cfg_rep_t *reps;
	size_t nreps;
	int line;
} cfg_team_t;

typedef struct {
	char *name;
	char **segment;
	size_t nsegment;
	char **country; /* upper case */
	size_t ncountry;
	bool has_min_score;
	int64_t min_score;
	char **email_domain; /* lower case */
	size_t nemail_domain;
	size_t team; /* index into cfg_t.teams */
	int line;
} cfg_rule_t;

typedef enum { ESC_MANAGER, ESC_REASSIGN, ESC_RECIPIENT } cfg_esc_kind_t;

typedef struct {
	int64_t after_s;      /* overdue business seconds */
	cfg_esc_kind_t kind;
	char *to;             /* "manager", "reassign" or the recipient */
} cfg_escalation_t;

typedef struct {
	char *segment;
	int64_t goal_s;
} cfg_segment_goal_t;

typedef struct {
	char *name;
	/* Event-type masks, bits EV_BIT(ev_type_t). */
	uint32_t start, stop, cancel, pause, resume;
	int64_t goal_s;
	cfg_segment_goal_t *segment_goals;
	size_t nsegment_goals;
	bool calendar_team; /* calendar = "team" */
	size_t calendar;    /* index, when !calendar_team */
	double *warn_at;    /* sorted, each in (0,1) */
	size_t nwarn_at;
	cfg_escalation_t *escalate; /* sorted by after_s */
	size_t nescalate;
	int line;
} cfg_clock_t;

typedef enum {
	METRIC_MQL_COUNT,
	METRIC_ACCEPTANCE_RATE,
	METRIC_FIRST_TOUCH_MET_RATE
} cfg_metric_t;

typedef enum { PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH } cfg_period_t;

typedef struct {
	char *name;
	cfg_metric_t metric;
	cfg_period_t period;
	double min;
	size_t calendar; /* index: the period's time zone */
	bool has_team;
	size_t team;     /* index, when has_team: the metric over that team */
	int line;
} cfg_target_t;

typedef enum { CLOCK_WALL, CLOCK_EVENT } cfg_clock_mode_t;

typedef struct {
	char *path; /* the file it was read from */

	char *db_conninfo;

	cfg_ingest_t *ingest;
	size_t ningest;
	char *publish;
	char *control;
	int64_t max_message_bytes;
	char *curve_secret_key_file; /* NULL: no CurveZMQ */
	char *curve_clients_dir;

	/* Batching (an extension of SPEC §3: group "batch", all optional). */
	int batch_max_events;  /* events per transaction */
	int batch_max_wait_ms; /* how long the first event waits for company */
	int buffer_max_events; /* bound of the in-memory buffer */

	cfg_clock_mode_t clock_mode;
	int64_t lateness_s;

	cfg_calendar_t *calendars;
	size_t ncalendars;
	cfg_team_t *teams;
	size_t nteams;

	cfg_rule_t *rules;
	size_t nrules;
	bool sticky_domain;
	char **free_mail_domains;
	size_t nfree_mail_domains;
	bool reassign_away; /* routing.reassign_away, default true */

	cfg_clock_t *clocks;
	size_t nclocks;
	cfg_target_t *targets;
	size_t ntargets;

	int64_t unmatched_grace_s;
	int log_level; /* log_level_t */
	char *metrics_listen; /* NULL: no metrics endpoint */
} cfg_t;

/*
 * Reads and validates path. On success returns 0 and *out. On failure
 * returns -1 and *errors, a malloc'd string of one error per line, each
 * "FILE:LINE: SETTING: message" (the caller frees it).
 */
int cfg_load(const char *path, cfg_t **out, char **errors) MUSTCHECK;
void cfg_destroy(cfg_t **cfg);

/*
 * Settings that a reload cannot change (endpoints, database, ...): returns
 * a malloc'd, comma-separated list of their names, or NULL when none differ.
 */
char *cfg_restart_needed(const cfg_t *running, const cfg_t *loaded);

/* Lookups by name; -1 when absent. */
int cfg_calendar_index(const cfg_t *cfg, const char *name);
int cfg_team_index(const cfg_t *cfg, const char *name);

#endif
