/*
 * handoffctl: the command-line tool (SPEC §8). This file parses the command
 * line, finds the endpoints (given, or read from the configuration file)
 * and prints; the protocol lives in daemon/client.c.
 *
 * Exit codes: 0 success, 1 failure (no reply, an error reply, a rejected or
 * invalid event), 2 usage, 3 configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handoff/calendar.h"
#include "handoff/client.h"
#include "handoff/config.h"
#include "handoff/report.h"
#include "handoff/report_render.h"
#include "handoff/curve.h"
#include "handoff/simulate.h"

#define DEFAULT_CONFIG "/etc/handoff/handoffd.conf"
#define DEFAULT_CONTROL "ipc:///run/handoff/control.sock"
/* report: the scorecard's queries may take longer than a ping. */
#define REPORT_TIMEOUT_MS 60000
/* simulate's seed when none is given: the same events run after run. */
#define SIM_DEFAULT_SEED 1
/* simulate --wall: how long the sender waits at most before looking at
 * the next event's time (and at an interrupt) again. */
#define SIM_PACE_MS 250
/* simulate: events in flight when --window is not given (see its use). */
#define SIM_WINDOW 50

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_CONFIG = 3 };

enum cmd {
	CMD_PING,
	CMD_STATUS,
	CMD_RELOAD,
	CMD_REPLAY,
	CMD_LEAD,
	CMD_SEND,
	CMD_TAIL,
	CMD_KEYGEN,
	CMD_SIMULATE,
	CMD_REPORT,
	CMD_COUNT
};

static const char *const cmd_names[CMD_COUNT] = {
	"ping", "status", "reload", "replay", "lead", "send", "tail", "keygen",
	"simulate", "report"
};

#define ONLY(c) (1u << (c))
#define ANY ((1u << CMD_COUNT) - 1)
/* The commands that talk to the daemon (all but keygen). */
#define BUS (ANY & ~ONLY(CMD_KEYGEN))

enum {
	OPT_SINCE = 256, OPT_LIMIT, OPT_JSON_END, OPT_SOURCE, OPT_ID, OPT_TO,
	OPT_WINDOW, OPT_MAX_TRIES, OPT_FROM, OPT_COUNT, OPT_HEARTBEATS,
	OPT_NO_FILL, OPT_IDLE, OPT_VERSION, OPT_SERVER_KEY, OPT_CLIENT_KEY,
	OPT_OUT, OPT_BRIEF, OPT_START, OPT_DAYS, OPT_SEED, OPT_RATE,
	OPT_TICK, OPT_WALL, OPT_SPEED, OPT_DRY_RUN, OPT_WEEK, OPT_FORMAT
};

/* The commands that send events through the acknowledged endpoint. */
#define SENDERS (ONLY(CMD_SEND) | ONLY(CMD_SIMULATE))

/* Every option, and the commands it applies to. */
static const struct {
	struct option opt;
	unsigned cmds;
} options[] = {
	{ { "endpoint", required_argument, NULL, 'e' }, BUS },
	{ { "config", required_argument, NULL, 'c' }, BUS },
	{ { "timeout", required_argument, NULL, 't' }, BUS },
	{ { "server-key", required_argument, NULL, OPT_SERVER_KEY }, BUS },
	{ { "client-key", required_argument, NULL, OPT_CLIENT_KEY }, BUS },
	{ { "out", required_argument, NULL, OPT_OUT }, ONLY(CMD_KEYGEN) },
	{ { "since", required_argument, NULL, OPT_SINCE },
	    ONLY(CMD_REPLAY) | ONLY(CMD_TAIL) },
	{ { "limit", required_argument, NULL, OPT_LIMIT }, ONLY(CMD_REPLAY) },
	{ { "json-end", no_argument, NULL, OPT_JSON_END }, ONLY(CMD_REPLAY) },
	{ { "source", required_argument, NULL, OPT_SOURCE }, ONLY(CMD_LEAD) },
	{ { "id", required_argument, NULL, OPT_ID }, ONLY(CMD_LEAD) },
	{ { "to", required_argument, NULL, OPT_TO }, SENDERS },
	{ { "window", required_argument, NULL, OPT_WINDOW }, SENDERS },
	{ { "max-tries", required_argument, NULL, OPT_MAX_TRIES }, SENDERS },
	{ { "from", required_argument, NULL, OPT_FROM }, ONLY(CMD_TAIL) },
	{ { "count", required_argument, NULL, OPT_COUNT }, ONLY(CMD_TAIL) },
	{ { "heartbeats", no_argument, NULL, OPT_HEARTBEATS }, ONLY(CMD_TAIL) },
	{ { "no-fill", no_argument, NULL, OPT_NO_FILL }, ONLY(CMD_TAIL) },
	{ { "idle", required_argument, NULL, OPT_IDLE }, ONLY(CMD_TAIL) },
	{ { "brief", no_argument, NULL, OPT_BRIEF }, ONLY(CMD_TAIL) },
	{ { "start", required_argument, NULL, OPT_START },
	    ONLY(CMD_SIMULATE) },
	{ { "days", required_argument, NULL, OPT_DAYS }, ONLY(CMD_SIMULATE) },
	{ { "seed", required_argument, NULL, OPT_SEED }, ONLY(CMD_SIMULATE) },
	{ { "rate", required_argument, NULL, OPT_RATE }, ONLY(CMD_SIMULATE) },
	{ { "tick", required_argument, NULL, OPT_TICK }, ONLY(CMD_SIMULATE) },
	{ { "wall", no_argument, NULL, OPT_WALL }, ONLY(CMD_SIMULATE) },
	{ { "speed", required_argument, NULL, OPT_SPEED },
	    ONLY(CMD_SIMULATE) },
	{ { "dry-run", no_argument, NULL, OPT_DRY_RUN }, ONLY(CMD_SIMULATE) },
	{ { "week", required_argument, NULL, OPT_WEEK }, ONLY(CMD_REPORT) },
	{ { "format", required_argument, NULL, OPT_FORMAT }, ONLY(CMD_REPORT) },
	{ { "help", no_argument, NULL, 'h' }, ANY },
	{ { "version", no_argument, NULL, OPT_VERSION }, ANY },
};

struct args {
	const char *endpoint;
	const char *config;
	int timeout_ms; /* 0: the command's default */
	bool has_since;
	uint64_t since;
	uint64_t limit;
	bool json_end;
	const char *source, *id;
	const char *to;
	int window;
	int max_tries;
	const char *from;
	uint64_t count;
	bool heartbeats;
	bool no_fill;
	int idle_ms;
	const char *server_key, *client_key;
	const char *out;
	bool brief;
	const char *start; /* simulate: checked by parse_start */
	int days, rate, tick_min;
	bool has_seed;
	uint64_t seed;
	bool wall, dry_run;
	double speed; /* 0: real time */
	bool has_week;
	report_week_t week;
	report_format_t format;
	bool seen[ARRAY_LEN(options)];
};

static volatile sig_atomic_t stop_flag;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: handoffctl [-e ENDPOINT | -c FILE] [-t SECONDS] COMMAND [ARGS]\n"
	    "\n"
	    "  -e, --endpoint ENDPOINT  the control endpoint (default: bus.control\n"
	    "                           of the configuration file)\n"
	    "  -c, --config FILE        configuration file (default " DEFAULT_CONFIG ")\n"
	    "  -t, --timeout SECONDS    wait this long for a reply (default 5;\n"
	    "                           send: resend after this long, default 2)\n"
	    "  -h, --help               print this help and exit\n"
	    "      --version            print the version and exit\n"
	    "\n"
	    "commands:\n"
	    "  ping | status | reload   ask the daemon, print its reply\n"
	    "  replay --since N [--limit L] [--json-end]\n"
	    "                           print the published messages after seq N\n"
	    "  lead KEY|EMAIL | lead --source S --id ID\n"
	    "                           print the reconciled lead\n"
	    "  send FILE|- [--to ENDPOINT] [--window N] [--max-tries N]\n"
	    "                           send a JSON-lines file of events through the\n"
	    "                           acknowledged endpoint until each is answered\n"
	    "  tail [PREFIX] [--from ENDPOINT] [--since N] [--count N] [--heartbeats]\n"
	    "       [--no-fill] [--idle SECONDS] [--brief]\n"
	    "                           print published messages as they arrive,\n"
	    "                           replaying any that were missed; --brief:\n"
	    "                           one line for people instead of the JSON\n"
	    "  keygen NAME [--out DIR]  write a new CurveZMQ key pair: DIR/NAME.key\n"
	    "                           (secret, mode 0600) and DIR/NAME.pub (public);\n"
	    "                           DIR defaults to the current directory\n"
	    "  simulate [--start DATE] [--days N] [--seed N] [--rate LEADS] [--tick MIN]\n"
	    "           [--wall [--speed X]] [--dry-run] [--to ENDPOINT] [--window N]\n"
	    "           [--max-tries N]\n"
	    "                           send a realistic stream of marketing and sales\n"
	    "                           events through the acknowledged endpoint, as\n"
	    "                           fast as acknowledged (50 in flight unless\n"
	    "                           --window); needs clock.mode \"event\". Defaults:\n"
	    "                           last week (Monday to Monday in the first team's\n"
	    "                           calendar), 7 days, seed 1, 220 leads a weekday,\n"
	    "                           a clock.tick every 5 minutes. --wall: from now,\n"
	    "                           in real time (--speed X: X times faster);\n"
	    "                           --dry-run: print the events, send nothing\n"
	    "  report [--week YYYY-Www] [--format text|json|html]\n"
	    "                           print the joint scorecard of an ISO week\n"
	    "                           (default: the last complete one) as tables,\n"
	    "                           the daemon's JSON, or one HTML page\n"
	    "                           (-t defaults to 60 here)\n"
	    "\n"
	    "CurveZMQ (when the daemon sets bus.curve), for every tcp:// endpoint:\n"
	    "      --server-key FILE    the daemon's public key (its NAME.pub);\n"
	    "                           default $HANDOFF_CURVE_SERVER_KEY\n"
	    "      --client-key FILE    this client's secret key (its NAME.key), whose\n"
	    "                           NAME.pub is in the daemon's bus.curve.clients_dir;\n"
	    "                           default $HANDOFF_CURVE_CLIENT_KEY\n");
}

static int
usage_error(const char *fmt, ...) PRINTFLIKE(1, 2);

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("handoffctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(handoffctl --help for usage)\n", stderr);
	return EXIT_USAGE;
}

static int
parse_u64(const char *s, uint64_t min, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min)
		return -1;
	*out = v;
	return 0;
}

static int
parse_int(const char *s, int min, int *out)
{
	uint64_t v;

	if (parse_u64(s, (uint64_t)min, &v) == -1 || v > INT32_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* Positive seconds, fractions allowed, at most a day; to milliseconds. */
static int
parse_seconds(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v < 0.001 || v > 86400)
		return -1;
	*ms = (int)lround(v * 1000);
	return 0;
}

/* A factor above 0 and at most a million. */
static int
parse_speed(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v <= 0 || v > 1e6)
		return -1;
	*out = v;
	return 0;
}

/* simulate --start: a date (local midnight) or an RFC 3339 time. */
static bool
start_ok(const char *s)
{
	int y, m, d;
	ts_t t;

	return ts_parse_date(s, &y, &m, &d) == 0 ||
	    ts_parse_rfc3339(s, strlen(s), &t) == 0;
}

/*
 * Parses the whole command line: options may come before or after the
 * command. Returns -1 after a usage error was printed (*rc set), 0 to run
 * *cmd, 1 when --help or --version was served.
 */
static int
parse_args(int argc, char **argv, struct args *a, enum cmd *cmd, int *first,
    int *rc)
{
	struct option longopts[ARRAY_LEN(options) + 1];
	const char *badnum = NULL, *optname = NULL;
	bool help = false, version = false;
	size_t i;
	int ch, idx;

	for (i = 0; i < ARRAY_LEN(options); i++)
		longopts[i] = options[i].opt;
	memset(&longopts[i], 0, sizeof(longopts[i]));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":e:c:t:h", longopts, &idx)) !=
	    -1) {
		if (ch == '?') {
			*rc = optopt != 0 ?
			    usage_error("unknown option -%c", optopt) :
			    usage_error("unknown option %s", argv[optind - 1]);
			return -1;
		}
		if (ch == ':') {
			*rc = usage_error("option %s needs an argument",
			    argv[optind - 1]);
			return -1;
		}
		for (i = 0; i < ARRAY_LEN(options); i++)
			if (options[i].opt.val == ch)
				break;
		a->seen[i] = true;
		optname = options[i].opt.name;
		switch (ch) {
		case 'e':
			a->endpoint = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 't':
			if (parse_seconds(optarg, &a->timeout_ms) == -1)
				badnum = "a number of seconds (0.001 to 86400)";
			break;
		case OPT_SINCE:
			a->has_since = true;
			if (parse_u64(optarg, 0, &a->since) == -1)
				badnum = "a non-negative integer";
			break;
		case OPT_LIMIT:
			if (parse_u64(optarg, 1, &a->limit) == -1)
				badnum = "a positive integer";
			break;
		case OPT_JSON_END:
			a->json_end = true;
			break;
		case OPT_SOURCE:
			a->source = optarg;
			break;
		case OPT_ID:
			a->id = optarg;
			break;
		case OPT_TO:
			a->to = optarg;
			break;
		case OPT_WINDOW:
			if (parse_int(optarg, 1, &a->window) == -1)
				badnum = "a positive integer";
			break;
		case OPT_MAX_TRIES:
			if (parse_int(optarg, 1, &a->max_tries) == -1)
				badnum = "a positive integer";
			break;
		case OPT_FROM:
			a->from = optarg;
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, 1, &a->count) == -1)
				badnum = "a positive integer";
			break;
		case OPT_HEARTBEATS:
			a->heartbeats = true;
			break;
		case OPT_NO_FILL:
			a->no_fill = true;
			break;
		case OPT_IDLE:
			if (parse_seconds(optarg, &a->idle_ms) == -1)
				badnum = "a number of seconds (0.001 to 86400)";
			break;
		case 'h':
			help = true;
			break;
		case OPT_VERSION:
			version = true;
			break;
		case OPT_SERVER_KEY:
			a->server_key = optarg;
			break;
		case OPT_CLIENT_KEY:
			a->client_key = optarg;
			break;
		case OPT_OUT:
			a->out = optarg;
			break;
		case OPT_BRIEF:
			a->brief = true;
			break;
		case OPT_START:
			a->start = optarg;
			if (!start_ok(optarg))
				badnum = "a date (YYYY-MM-DD) or an RFC 3339 "
				    "time";
			break;
		case OPT_DAYS:
			if (parse_int(optarg, 1, &a->days) == -1 ||
			    a->days > SIM_MAX_DAYS)
				badnum = "a number of days (1 to 366)";
			break;
		case OPT_SEED:
			a->has_seed = true;
			if (parse_u64(optarg, 0, &a->seed) == -1)
				badnum = "a non-negative integer";
			break;
		case OPT_RATE:
			if (parse_int(optarg, 1, &a->rate) == -1 ||
			    a->rate > SIM_MAX_RATE)
				badnum = "a number of leads a day (1 to 100000)";
			break;
		case OPT_TICK:
			if (parse_int(optarg, 1, &a->tick_min) == -1 ||
			    a->tick_min > 1440)
				badnum = "a number of minutes (1 to 1440)";
			break;
		case OPT_WALL:
			a->wall = true;
			break;
		case OPT_SPEED:
			if (parse_speed(optarg, &a->speed) == -1)
				badnum = "a speed-up factor (above 0, at most "
				    "1000000)";
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		case OPT_WEEK: {
			char why[160];

			a->has_week = true;
			if (report_parse_week(optarg, &a->week, why,
			    sizeof(why)) == -1) {
				fprintf(stderr, "handoffctl: --week: %s\n", why);
				*rc = EXIT_USAGE;
				return -1;
			}
			break;
		}
		case OPT_FORMAT:
			if (report_render_format(optarg, &a->format) == -1)
				badnum = "a format: text, json or html";
			break;
		default:
			/* Every value of the table is a case above. */
			abort();
		}
		if (badnum != NULL) {
			fprintf(stderr, "handoffctl: --%s: '%s' is not %s\n",
			    optname, optarg, badnum);
			*rc = EXIT_USAGE;
			return -1;
		}
	}
	if (help) {
		usage(stdout);
		*rc = EXIT_OK;
		return 1;
	}
	if (version) {
		printf("handoffctl %s\n", HANDOFF_VERSION);
		*rc = EXIT_OK;
		return 1;
	}
	if (optind == argc) {
		*rc = usage_error("no command given");
		return -1;
	}
	for (idx = 0; idx < CMD_COUNT; idx++)
		if (strcmp(argv[optind], cmd_names[idx]) == 0)
			break;
	if (idx == CMD_COUNT) {
		*rc = usage_error("unknown command '%s'", argv[optind]);
		return -1;
	}
	*cmd = (enum cmd)idx;
	*first = optind + 1;
	for (i = 0; i < ARRAY_LEN(options); i++)
		if (a->seen[i] && (options[i].cmds & ONLY(*cmd)) == 0) {
			*rc = usage_error("option --%s does not apply to '%s'",
			    options[i].opt.name, cmd_names[*cmd]);
			return -1;
		}
	return 0;
}

static void
warn_stderr(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "handoffctl: %s\n", msg);
}

/*
 * Prints a JSON document on one line. Raw line breaks in JSON can only be
 * white space between tokens (inside strings they are escaped), so turning
 * them into spaces keeps the document and the one-a-line promise.
 */
static void
print_line(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		putchar(s[i] == '\n' || s[i] == '\r' ? ' ' : s[i]);
	putchar('\n');
}

static void
print_msg(void *arg, const char *topic, const char *body, size_t len,
    uint64_t seq)
{
	(void)arg;
	(void)topic;
	(void)seq;
	print_line(body, len);
}

static void
print_msg_flush(void *arg, const char *topic, const char *body, size_t len,
    uint64_t seq)
{
	print_msg(arg, topic, body, len, seq);
	fflush(stdout);
}

static void
print_brief_flush(void *arg, const char *topic, const char *body, size_t len,
    uint64_t seq)
{
	char *line = client_brief(body, len);

	(void)arg;
	(void)topic;
	(void)seq;
	puts(line);
	free(line);
	fflush(stdout);
}

/* The configuration, loaded on first need. */
struct conf {
	const char *path;
	cfg_t *cfg;
};

static int
conf_get(struct conf *c, cfg_t **out)
{
	char *errors = NULL;

	if (c->cfg == NULL && cfg_load(c->path, &c->cfg, &errors) == -1) {
		fputs(errors, stderr);
		if (errors[0] != '\0' && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		return -1;
	}
	*out = c->cfg;
	return 0;
}

static char *
control_endpoint(const struct args *a, struct conf *c)
{
	cfg_t *cfg;

	if (a->endpoint != NULL)
		return xstrdup(a->endpoint);
	if (conf_get(c, &cfg) == -1)
		return NULL;
	return client_connect_endpoint(cfg->control != NULL ? cfg->control :
	    DEFAULT_CONTROL);
}

static int
show_reply(const char *endpoint, const char *command, const char *args,
    int timeout_ms)
{
	client_reply_t r;
	char *err = NULL;
	int rc = EXIT_OK;

	if (client_control(endpoint, command, args, timeout_ms, &r, &err) ==
	    -1) {
		fprintf(stderr, "handoffctl: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < r.nframes; i++) {
		char *e = client_reply_error(r.frame[i], r.len[i]);

		if (e != NULL) {
			fprintf(stderr, "handoffctl: %s: %s: %s\n", endpoint,
			    command, e);
			free(e);
			rc = EXIT_FAIL;
		} else {
			print_line(r.frame[i], r.len[i]);
		}
	}
	client_reply_free(&r);
	return rc;
}

static int
run_replay(const struct args *a, const char *endpoint, int timeout_ms)
{
	client_replay_end_t end;
	char *err = NULL;

	if (client_replay(endpoint, a->since, a->limit, timeout_ms, print_msg,
	    NULL, &end, &err) == -1) {
		fprintf(stderr, "handoffctl: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	if (a->json_end)
		printf("{\"end\": true, \"last_seq\": %" PRIu64 "}\n",
		    end.last_seq);
	else
		fprintf(stderr, "replayed %" PRIu64 " messages; last_seq %"
		    PRIu64 "\n", end.count, end.last_seq);
	return EXIT_OK;
}

/* The arguments of `lead` as JSON, or -1 after a usage error. */
static int
lead_args(const struct args *a, int nargs, char **args, char **json)
{
	if ((a->source != NULL) != (a->id != NULL)) {
		usage_error("lead: --source and --id go together");
		return -1;
	}
	if (a->source != NULL && nargs != 0) {
		usage_error("lead: give KEY|EMAIL or --source and --id, "
		    "not both");
		return -1;
	}
	if (a->source == NULL && nargs != 1) {
		usage_error("lead needs one KEY|EMAIL");
		return -1;
	}
	*json = a->source != NULL ? client_lead_args_source(a->source, a->id) :
	    client_lead_args(args[0]);
	if (*json == NULL) {
		fprintf(stderr, "handoffctl: lead: arguments must be UTF-8\n");
		return -1;
	}
	return 0;
}

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * Makes every tcp:// connection a CurveZMQ client when keys are given, on
 * the command line or in the environment. Returns EXIT_OK, or the exit
 * code after printing why not.
 */
static int
setup_curve(const struct args *a)
{
	const char *server = a->server_key, *client = a->client_key;
	const char *sname = "--server-key", *cname = "--client-key";
	curve_key_t spub, cpub, csec;
	char *err = NULL;

	if (server == NULL && (server = env_nonempty(
	    "HANDOFF_CURVE_SERVER_KEY")) != NULL)
		sname = "HANDOFF_CURVE_SERVER_KEY";
	if (client == NULL && (client = env_nonempty(
	    "HANDOFF_CURVE_CLIENT_KEY")) != NULL)
		cname = "HANDOFF_CURVE_CLIENT_KEY";
	if (server == NULL && client == NULL)
		return EXIT_OK;
	if (server == NULL || client == NULL)
		return usage_error("CurveZMQ needs both keys: %s without %s "
		    "(--server-key/--client-key, or HANDOFF_CURVE_SERVER_KEY/"
		    "HANDOFF_CURVE_CLIENT_KEY)", server != NULL ? sname : cname,
		    server != NULL ? "--client-key" : "--server-key");
	if (curve_read_public(server, &spub, &err) == -1) {
		fprintf(stderr, "handoffctl: %s: %s\n", sname, err);
		free(err);
		return EXIT_CONFIG;
	}
	if (curve_read_secret(client, &csec, &cpub, &err) == -1) {
		fprintf(stderr, "handoffctl: %s: %s\n", cname, err);
		free(err);
		return EXIT_CONFIG;
	}
	client_set_curve(&spub, &cpub, &csec);
	explicit_bzero(&csec, sizeof(csec));
	return EXIT_OK;
}

static int
run_keygen(const struct args *a, int nargs, char **args)
{
	const char *dir = a->out != NULL ? a->out : ".";
	curve_key_t pub;
	char *err = NULL;

	if (nargs != 1)
		return usage_error("keygen needs one NAME");
	if (!curve_name_ok(args[0]))
		return usage_error("keygen: '%s' is not a key name (1 to 64 "
		    "letters, digits, '.', '_' or '-', not starting with '.')",
		    args[0]);
	if (curve_keygen(dir, args[0], &pub, &err) == -1) {
		fprintf(stderr, "handoffctl: keygen: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	printf("%s/%s.key: secret key (mode 0600)\n", dir, args[0]);
	printf("%s/%s.pub: public key %s\n", dir, args[0], pub.z85);
	return EXIT_OK;
}

/*
 * What send and simulate share: the CurveZMQ keys, the sender's options
 * and the acknowledged endpoint (--to, else the configuration's router).
 * Returns EXIT_OK and *endpoint (malloc'd), or the exit code after saying
 * why not.
 */
static int
send_setup(const struct args *a, struct conf *c, client_send_opts_t *o,
    char **endpoint)
{
	cfg_t *cfg = NULL;
	int rc;

	*endpoint = NULL;
	if ((rc = setup_curve(a)) != EXIT_OK)
		return rc;
	client_send_opts_init(o);
	o->warn = warn_stderr;
	if (a->timeout_ms != 0)
		o->timeout_ms = a->timeout_ms;
	if (a->window != 0)
		o->window = a->window;
	o->max_tries = a->max_tries;
	/* The configuration gives the endpoint when --to does not, and the
	 * size limit whenever it was named. */
	if (a->to == NULL || a->config != NULL) {
		if (conf_get(c, &cfg) == -1)
			return EXIT_CONFIG;
		o->max_message_bytes = cfg->max_message_bytes;
	}
	if (a->to != NULL) {
		*endpoint = xstrdup(a->to);
		return EXIT_OK;
	}
	for (size_t i = 0; i < cfg->ningest; i++)
		if (cfg->ingest[i].kind == INGEST_ROUTER &&
		    !cfg->ingest[i].connect) {
			*endpoint = client_connect_endpoint(
			    cfg->ingest[i].endpoint);
			return EXIT_OK;
		}
	fprintf(stderr, "handoffctl: %s: bus.ingest has no router endpoint "
	    "to send to (give --to ENDPOINT)\n", c->path);
	return EXIT_CONFIG;
}

/*
 * Prints the counts of a send and its problems (at most max of them; 0: all),
 * each named "UNIT N" (a line of a file, an event of a simulation), and
 * the error of a send that failed. Returns the exit code.
 */
static int
send_report(client_send_result_t *res, int rc, char *err, const char *unit,
    size_t max)
{
	/* A file that could not be opened has no counts worth printing. */
	if (rc == 0 || res->accepted + res->duplicate + res->rejected +
	    res->invalid > 0)
		printf("accepted %" PRIu64 ", duplicate %" PRIu64
		    ", rejected %" PRIu64 ", invalid %" PRIu64 "\n",
		    res->accepted, res->duplicate, res->rejected, res->invalid);
	/* Why a send took long: what went again, unanswered in time. */
	if (res->resent > 0 || res->reopened > 0) {
		fflush(stdout);
		fprintf(stderr, "handoffctl: resent %" PRIu64 " without a reply "
		    "within the timeout; reconnected %" PRIu64 " times\n",
		    (uint64_t)res->resent, (uint64_t)res->reopened);
	}
	for (size_t i = 0; i < res->nproblems; i++) {
		const client_problem_t *p = &res->problems[i];

		if (max > 0 && i == max) {
			printf("... and %zu more\n", res->nproblems - max);
			break;
		}
		if (p->invalid)
			printf("%s %" PRIu64 ": invalid: %s\n", unit, p->line,
			    p->error);
		else
			printf("%s %" PRIu64 ": %s/%s: %s\n", unit, p->line,
			    p->source, p->id, p->error);
	}
	if (rc == -1) {
		fflush(stdout);
		fprintf(stderr, "handoffctl: %s\n", err);
		free(err);
	}
	return rc == 0 && res->rejected == 0 && res->invalid == 0 ? EXIT_OK :
	    EXIT_FAIL;
}

static int
run_send(const struct args *a, const char *file, struct conf *c)
{
	client_send_opts_t o;
	client_send_result_t res;
	char *endpoint = NULL, *err = NULL;
	int rc;

	if ((rc = send_setup(a, c, &o, &endpoint)) != EXIT_OK)
		return rc;
	rc = client_send_file(endpoint, file, &o, &res, &err);
	rc = send_report(&res, rc, err, "line", 0);
	client_send_result_free(&res);
	free(endpoint);
	return rc;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int
run_tail(const struct args *a, int nargs, char **args, struct conf *c)
{
	client_tail_opts_t o;
	struct sigaction sa;
	char *control = NULL, *publish = NULL, *err = NULL;
	cfg_t *cfg;
	int rc = EXIT_OK;

	if (nargs > 1)
		return usage_error("tail takes at most one PREFIX");
	if (a->no_fill && a->has_since)
		return usage_error("tail: --since needs the replay that "
		    "--no-fill turns off");
	if ((rc = setup_curve(a)) != EXIT_OK)
		return rc;
	client_tail_opts_init(&o);
	o.prefix = nargs == 1 ? args[0] : "";
	o.heartbeats = a->heartbeats;
	o.has_since = a->has_since;
	o.since = a->since;
	o.count = a->count;
	o.idle_ms = a->idle_ms;
	if (a->timeout_ms != 0)
		o.timeout_ms = a->timeout_ms;
	o.stop = &stop_flag;
	o.warn = warn_stderr;
	if (!a->no_fill && (control = control_endpoint(a, c)) == NULL)
		return EXIT_CONFIG;
	if (a->from != NULL) {
		publish = xstrdup(a->from);
	} else if (conf_get(c, &cfg) == -1) {
		free(control);
		return EXIT_CONFIG;
	} else {
		publish = client_connect_endpoint(cfg->publish);
	}
	o.control = control;
	o.publish = publish;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the poll must return to see the flag. */
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1) {
		fprintf(stderr, "handoffctl: sigaction: %s\n", strerror(errno));
		rc = EXIT_FAIL;
	} else if (client_tail(&o, a->brief ? print_brief_flush :
	    print_msg_flush, NULL, &err) == -1) {
		fprintf(stderr, "handoffctl: %s\n", err);
		free(err);
		rc = EXIT_FAIL;
	}
	free(control);
	free(publish);
	return rc;
}

/* simulate: the generator as the sender's source of lines. */
struct sim_source {
	sim_t *sim;
	bool wall;
	double speed;
	ts_t start;
	int64_t t0_ms;    /* --wall: the monotonic time of start */
	bool have;        /* ev is drawn but not handed out yet */
	sim_event_t ev;
	sbuf_t buf;
	uint64_t count[EV__COUNT];
	uint64_t total;
	bool interrupted;
};

/*
 * The first interrupt ends the simulation after the events in flight are
 * answered; a second one, while a daemon keeps silent, ends it at once.
 */
static void
sim_on_signal(int sig)
{
	if (stop_flag) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_flag = 1;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
sim_line(void *arg, char **line, size_t *len, int *wait_ms, char **err)
{
	struct sim_source *ss = arg;

	(void)err;
	if (stop_flag) {
		ss->interrupted = true;
		return 0;
	}
	if (!ss->have) {
		if (!sim_next(ss->sim, &ss->ev))
			return 0;
		ss->have = true;
	}
	if (ss->wall) {
		int64_t due = ss->t0_ms + (int64_t)((double)(ss->ev.at -
		    ss->start) / 1000.0 / ss->speed), now = mono_ms();

		/* Not due yet: asked again soon, so that an interrupt is
		 * seen even during a long pause. */
		if (now < due) {
			*wait_ms = (int)(due - now < SIM_PACE_MS ? due - now :
			    SIM_PACE_MS);
			return CLIENT_LINE_LATER;
		}
		sim_event_retime(&ss->ev, ts_now(), &ss->buf);
		*line = xstrndup(ss->buf.s, ss->buf.len);
		*len = ss->buf.len;
	} else {
		*line = xstrndup(ss->ev.json, ss->ev.len);
		*len = ss->ev.len;
	}
	ss->have = false;
	ss->count[ss->ev.type]++;
	ss->total++;
	return 1;
}

/* The ISO 8601 week ("2026-W48") of a day number. */
static void
iso_week(int64_t day, char *buf, size_t len)
{
	int64_t wd = ((day % 7) + 7 + 3) % 7, thu = day - wd + 3;
	int y, m, d;

	ts_civil_from_days(thu, &y, &m, &d);
	snprintf(buf, len, "%d-W%02d", y,
	    (int)((thu - ts_days_from_civil(y, 1, 1)) / 7 + 1));
}

static void
sim_summary(FILE *f, const struct sim_source *ss, const cal_t *cal,
    const struct args *a, int days, uint64_t seed, int rate)
{
	const cal_tz_t *tz = cal_tz(cal);
	char from[TS_BUFLEN], to[TS_BUFLEN];
	int64_t local = ss->start / TS_USEC + cal_tz_offset(tz, ss->start);

	ts_format(ss->start, from);
	ts_format(sim_end(ss->sim), to);
	fprintf(f, "simulated %s to %s (%d day%s in %s, seed %" PRIu64
	    ", %d leads a weekday, ids tagged %s)", from, to, days,
	    days == 1 ? "" : "s", cal_tz_name(tz), seed, rate,
	    sim_tag(ss->sim));
	/* A whole week from a local Monday 00:00 is a report's week. */
	if (!a->wall && days == 7 && local % 86400 == 0 &&
	    ((local / 86400 % 7) + 7 + 3) % 7 == 0) {
		char week[16];

		iso_week(local / 86400, week, sizeof(week));
		fprintf(f, ", week %s", week);
	}
	fprintf(f, ": %" PRIu64 " events%s\n", ss->total,
	    ss->interrupted ? " before the interrupt" : "");
	for (int t = 0; t < EV__COUNT; t++)
		if (ss->count[t] > 0)
			fprintf(f, "  %-19s %7" PRIu64 "\n",
			    ev_type_name((ev_type_t)t), ss->count[t]);
}

/* The calendar the simulation keeps office hours by: the first team's. */
static cal_t *
sim_calendar(const cfg_t *cfg)
{
	char *err = NULL;
	cal_t *cal;

	if (cfg->ncalendars == 0) {
		fprintf(stderr, "handoffctl: simulate: %s has no calendar\n",
		    cfg->path);
		return NULL;
	}
	cal = cal_new(&cfg->calendars[cfg->nteams > 0 ?
	    cfg->teams[0].calendar : 0], &err);
	if (cal == NULL) {
		fprintf(stderr, "handoffctl: simulate: %s\n", err);
		free(err);
	}
	return cal;
}

/* --start: a date is its local midnight in tz. */
static ts_t
sim_start(const char *s, const cal_tz_t *tz)
{
	int y, m, d;
	ts_t t = 0;

	if (ts_parse_date(s, &y, &m, &d) == 0)
		return cal_tz_to_utc(tz, ts_days_from_civil(y, m, d), 0);
	if (ts_parse_rfc3339(s, strlen(s), &t) == -1)
		abort(); /* start_ok() accepted it */
	return t - t % TS_USEC;
}

static int
run_simulate(const struct args *a, int nargs, char **args, struct conf *c)
{
	struct sim_source ss;
	client_send_opts_t o;
	client_send_result_t res;
	struct sigaction sa;
	sim_params_t p;
	sim_rep_t *reps = NULL;
	char *endpoint = NULL, *err = NULL;
	cal_t *cal = NULL;
	cfg_t *cfg;
	int rc;

	if (nargs != 0)
		return usage_error("simulate takes no argument ('%s')",
		    args[0]);
	if (a->wall && a->start != NULL)
		return usage_error("simulate: --start does not apply to --wall "
		    "(its events happen now)");
	if (a->wall && a->tick_min != 0)
		return usage_error("simulate: --tick does not apply to --wall "
		    "(a daemon on the wall clock rejects clock.tick)");
	if (a->wall && a->dry_run)
		return usage_error("simulate: --dry-run prints the events at "
		    "once; --wall does not apply");
	if (a->speed != 0 && !a->wall)
		return usage_error("simulate: --speed needs --wall");
	if (a->dry_run && (a->to != NULL || a->window != 0 ||
	    a->max_tries != 0))
		return usage_error("simulate: --dry-run sends nothing: --to, "
		    "--window and --max-tries do not apply");
	if (conf_get(c, &cfg) == -1)
		return EXIT_CONFIG;
	if ((cal = sim_calendar(cfg)) == NULL)
		return EXIT_CONFIG;

	memset(&p, 0, sizeof(p));
	p.seed = a->has_seed ? a->seed : SIM_DEFAULT_SEED;
	p.days = a->days != 0 ? a->days : SIM_DEFAULT_DAYS;
	p.leads_per_day = a->rate != 0 ? a->rate : SIM_DEFAULT_RATE;
	p.tick_s = a->wall ? 0 : a->tick_min != 0 ? a->tick_min * 60 :
	    SIM_DEFAULT_TICK_S;
	p.cal = cal;
	if (a->wall)
		p.start = ts_now() / TS_USEC * TS_USEC;
	else if (a->start != NULL)
		p.start = sim_start(a->start, cal_tz(cal));
	else
		p.start = sim_default_start(cal_tz(cal), ts_now());
	/* sales.reassigned names reps who take leads. */
	for (size_t i = 0; i < cfg->nteams; i++)
		for (size_t j = 0; j < cfg->teams[i].nreps; j++)
			if (!cfg->teams[i].reps[j].away) {
				reps = xreallocarray(reps, p.nreps + 1,
				    sizeof(*reps));
				reps[p.nreps].id = cfg->teams[i].reps[j].id;
				reps[p.nreps++].team = cfg->teams[i].name;
			}
	p.reps = reps;

	memset(&ss, 0, sizeof(ss));
	sbuf_init(&ss.buf);
	ss.wall = a->wall;
	ss.speed = a->speed != 0 ? a->speed : 1.0;
	ss.start = p.start;
	if ((ss.sim = sim_new(&p, &err)) == NULL) {
		rc = usage_error("%s", err);
		free(err);
		goto out;
	}

	if (a->dry_run) {
		sim_event_t ev;

		while (sim_next(ss.sim, &ev)) {
			fwrite(ev.json, 1, ev.len, stdout);
			putchar('\n');
			ss.count[ev.type]++;
			ss.total++;
		}
		sim_summary(stderr, &ss, cal, a, p.days, p.seed,
		    p.leads_per_day);
		rc = EXIT_OK;
		goto out;
	}
	if (!a->wall && cfg->clock_mode == CLOCK_WALL) {
		fprintf(stderr, "handoffctl: simulate: %s: clock.mode is "
		    "\"wall\"; a simulation in event time needs \"event\" "
		    "(or use --wall)\n", cfg->path);
		rc = EXIT_FAIL;
		goto out;
	}
	if ((rc = send_setup(a, c, &o, &endpoint)) != EXIT_OK)
		goto out;
	/*
	 * An event-time daemon's clock is the newest occurred_at of each
	 * batch it commits, and a batch holds at most what is in flight: a
	 * small window keeps that clock moving in steps of minutes, as it
	 * would in a real week, instead of jumping a day at a time.
	 */
	if (a->window == 0)
		o.window = SIM_WINDOW;
	/* A daemon that is not there is said so at once, rather than by
	 * resending the first events for ever. */
	if (a->to == NULL || a->endpoint != NULL) {
		char *control = control_endpoint(a, c);
		client_reply_t r;

		if (control == NULL) {
			rc = EXIT_CONFIG;
			goto out;
		}
		if (client_control(control, "ping", NULL, a->timeout_ms != 0 ?
		    a->timeout_ms : CLIENT_CONTROL_TIMEOUT_MS, &r, &err) ==
		    -1) {
			fprintf(stderr, "handoffctl: simulate: %s (is handoffd "
			    "running?)\n", err);
			free(err);
			free(control);
			rc = EXIT_FAIL;
			goto out;
		}
		client_reply_free(&r);
		free(control);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sim_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1) {
		fprintf(stderr, "handoffctl: sigaction: %s\n", strerror(errno));
		rc = EXIT_FAIL;
		goto out;
	}
	ss.t0_ms = mono_ms();
	{
		client_lines_t src = { sim_line, &ss, "simulate" };

		rc = client_send_lines(endpoint, &src, &o, &res, &err);
	}
	sim_summary(stdout, &ss, cal, a, p.days, p.seed, p.leads_per_day);
	rc = send_report(&res, rc, err, "event", 20);
	client_send_result_free(&res);
	if (ss.interrupted) {
		fflush(stdout);
		fprintf(stderr, "handoffctl: simulate: interrupted\n");
		rc = EXIT_FAIL;
	}
out:
	sim_destroy(&ss.sim);
	sbuf_free(&ss.buf);
	cal_destroy(&cal);
	free(reps);
	free(endpoint);
	return rc;
}

/*
 * Asks the daemon for the scorecard and renders it; the daemon's errors
 * (a bad week, the database) are shown as they come.
 */
static int
run_report(const struct args *a, const char *endpoint, int timeout_ms)
{
	char wb[REPORT_WEEK_BUFLEN], *json = NULL, *err = NULL, *e;
	client_reply_t r;
	sbuf_t out;
	int rc = EXIT_OK;

	if (a->has_week) {
		report_week_format(a->week, wb);
		json = xasprintf("{\"week\":\"%s\"}", wb);
	}
	rc = client_control(endpoint, "report", json, timeout_ms, &r, &err);
	free(json);
	if (rc == -1) {
		fprintf(stderr, "handoffctl: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	if (r.nframes != 1) {
		fprintf(stderr, "handoffctl: %s: report: expected one reply "
		    "frame, got %zu\n", endpoint, r.nframes);
		client_reply_free(&r);
		return EXIT_FAIL;
	}
	if ((e = client_reply_error(r.frame[0], r.len[0])) != NULL) {
		fprintf(stderr, "handoffctl: %s: report: %s\n", endpoint, e);
		free(e);
		client_reply_free(&r);
		return EXIT_FAIL;
	}
	sbuf_init(&out);
	if (report_render(r.frame[0], r.len[0], a->format, &out, &err) == -1) {
		fprintf(stderr, "handoffctl: %s: %s\n", endpoint, err);
		free(err);
		rc = EXIT_FAIL;
	} else {
		fwrite(out.s, 1, out.len, stdout);
		rc = EXIT_OK;
	}
	sbuf_free(&out);
	client_reply_free(&r);
	return rc;
}

static int
run(const struct args *a, enum cmd cmd, int nargs, char **args,
    struct conf *c)
{
	int timeout_ms = a->timeout_ms != 0 ? a->timeout_ms :
	    CLIENT_CONTROL_TIMEOUT_MS;
	char *endpoint, *json = NULL;
	int rc = EXIT_FAIL;

	/* Usage first: a wrong command line is reported as such even when
	 * the configuration is missing too. */
	switch (cmd) {
	case CMD_SEND:
		if (nargs != 1)
			return usage_error("send needs one FILE (or - for "
			    "standard input)");
		return run_send(a, args[0], c);
	case CMD_TAIL:
		return run_tail(a, nargs, args, c);
	case CMD_PING:
	case CMD_STATUS:
	case CMD_RELOAD:
	case CMD_REPLAY:
		if (nargs != 0)
			return usage_error("%s takes no argument ('%s')",
			    cmd_names[cmd], args[0]);
		if (cmd == CMD_REPLAY && !a->has_since)
			return usage_error("replay needs --since N");
		break;
	case CMD_LEAD:
		if (lead_args(a, nargs, args, &json) == -1)
			return EXIT_USAGE;
		break;
	case CMD_KEYGEN:
		return run_keygen(a, nargs, args);
	case CMD_SIMULATE:
		return run_simulate(a, nargs, args, c);
	case CMD_REPORT:
		if (nargs != 0)
			return usage_error("report takes no argument ('%s'): "
			    "give the week with --week", args[0]);
		if (a->timeout_ms == 0)
			timeout_ms = REPORT_TIMEOUT_MS;
		break;
	case CMD_COUNT:
		abort();
	}
	if ((rc = setup_curve(a)) != EXIT_OK) {
		free(json);
		return rc;
	}
	if ((endpoint = control_endpoint(a, c)) == NULL) {
		free(json);
		return EXIT_CONFIG;
	}
	switch (cmd) {
	case CMD_REPLAY:
		rc = run_replay(a, endpoint, timeout_ms);
		break;
	case CMD_LEAD:
		rc = show_reply(endpoint, "lead", json, timeout_ms);
		break;
	case CMD_PING:
	case CMD_STATUS:
	case CMD_RELOAD:
		rc = show_reply(endpoint, cmd_names[cmd], NULL, timeout_ms);
		break;
	case CMD_REPORT:
		rc = run_report(a, endpoint, timeout_ms);
		break;
	case CMD_SEND:
	case CMD_TAIL:
	case CMD_KEYGEN:
	case CMD_SIMULATE:
	case CMD_COUNT:
		abort();
	}
	free(json);
	free(endpoint);
	return rc;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct conf c = { 0 };
	enum cmd cmd = CMD_PING;
	int first = 0, rc = EXIT_OK;

	memset(&a, 0, sizeof(a));
	if (parse_args(argc, argv, &a, &cmd, &first, &rc) != 0)
		return rc;
	c.path = a.config != NULL ? a.config : DEFAULT_CONFIG;
	rc = run(&a, cmd, argc - first, argv + first, &c);
	cfg_destroy(&c.cfg);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "handoffctl: standard output: %s\n",
		    strerror(errno));
		return EXIT_FAIL;
	}
	return rc;
}
