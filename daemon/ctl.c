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

#include "handoff/client.h"
#include "handoff/config.h"

#define DEFAULT_CONFIG "/etc/handoff/handoffd.conf"
#define DEFAULT_CONTROL "ipc:///run/handoff/control.sock"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_CONFIG = 3 };

enum cmd {
	CMD_PING,
	CMD_STATUS,
	CMD_RELOAD,
	CMD_REPLAY,
	CMD_LEAD,
	CMD_SEND,
	CMD_TAIL,
	CMD_COUNT
};

static const char *const cmd_names[CMD_COUNT] = {
	"ping", "status", "reload", "replay", "lead", "send", "tail"
};

#define ONLY(c) (1u << (c))
#define ANY ((1u << CMD_COUNT) - 1)

enum {
	OPT_SINCE = 256, OPT_LIMIT, OPT_JSON_END, OPT_SOURCE, OPT_ID, OPT_TO,
	OPT_WINDOW, OPT_MAX_TRIES, OPT_FROM, OPT_COUNT, OPT_HEARTBEATS,
	OPT_NO_FILL, OPT_IDLE, OPT_VERSION
};

/* Every option, and the commands it applies to. */
static const struct {
	struct option opt;
	unsigned cmds;
} options[] = {
	{ { "endpoint", required_argument, NULL, 'e' }, ANY },
	{ { "config", required_argument, NULL, 'c' }, ANY },
	{ { "timeout", required_argument, NULL, 't' }, ANY },
	{ { "since", required_argument, NULL, OPT_SINCE },
	    ONLY(CMD_REPLAY) | ONLY(CMD_TAIL) },
	{ { "limit", required_argument, NULL, OPT_LIMIT }, ONLY(CMD_REPLAY) },
	{ { "json-end", no_argument, NULL, OPT_JSON_END }, ONLY(CMD_REPLAY) },
	{ { "source", required_argument, NULL, OPT_SOURCE }, ONLY(CMD_LEAD) },
	{ { "id", required_argument, NULL, OPT_ID }, ONLY(CMD_LEAD) },
	{ { "to", required_argument, NULL, OPT_TO }, ONLY(CMD_SEND) },
	{ { "window", required_argument, NULL, OPT_WINDOW }, ONLY(CMD_SEND) },
	{ { "max-tries", required_argument, NULL, OPT_MAX_TRIES },
	    ONLY(CMD_SEND) },
	{ { "from", required_argument, NULL, OPT_FROM }, ONLY(CMD_TAIL) },
	{ { "count", required_argument, NULL, OPT_COUNT }, ONLY(CMD_TAIL) },
	{ { "heartbeats", no_argument, NULL, OPT_HEARTBEATS }, ONLY(CMD_TAIL) },
	{ { "no-fill", no_argument, NULL, OPT_NO_FILL }, ONLY(CMD_TAIL) },
	{ { "idle", required_argument, NULL, OPT_IDLE }, ONLY(CMD_TAIL) },
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
	    "       [--no-fill] [--idle SECONDS]\n"
	    "                           print published messages as they arrive,\n"
	    "                           replaying any that were missed\n");
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

static int
run_send(const struct args *a, const char *file, struct conf *c)
{
	client_send_opts_t o;
	client_send_result_t res;
	char *endpoint = NULL, *err = NULL;
	cfg_t *cfg = NULL;
	int rc;

	client_send_opts_init(&o);
	o.warn = warn_stderr;
	if (a->timeout_ms != 0)
		o.timeout_ms = a->timeout_ms;
	if (a->window != 0)
		o.window = a->window;
	o.max_tries = a->max_tries;
	/* The configuration gives the endpoint when --to does not, and the
	 * size limit whenever it was named. */
	if (a->to == NULL || a->config != NULL) {
		if (conf_get(c, &cfg) == -1)
			return EXIT_CONFIG;
		o.max_message_bytes = cfg->max_message_bytes;
	}
	if (a->to != NULL) {
		endpoint = xstrdup(a->to);
	} else {
		for (size_t i = 0; i < cfg->ningest; i++)
			if (cfg->ingest[i].kind == INGEST_ROUTER &&
			    !cfg->ingest[i].connect) {
				endpoint = client_connect_endpoint(
				    cfg->ingest[i].endpoint);
				break;
			}
		if (endpoint == NULL) {
			fprintf(stderr, "handoffctl: %s: bus.ingest has no "
			    "router endpoint to send to (give --to ENDPOINT)\n",
			    c->path);
			return EXIT_CONFIG;
		}
	}

	rc = client_send_file(endpoint, file, &o, &res, &err);
	/* A file that could not be opened has no counts worth printing. */
	if (rc == 0 || res.accepted + res.duplicate + res.rejected +
	    res.invalid > 0)
		printf("accepted %" PRIu64 ", duplicate %" PRIu64
		    ", rejected %" PRIu64 ", invalid %" PRIu64 "\n",
		    res.accepted, res.duplicate, res.rejected, res.invalid);
	for (size_t i = 0; i < res.nproblems; i++) {
		const client_problem_t *p = &res.problems[i];

		if (p->invalid)
			printf("line %" PRIu64 ": invalid: %s\n", p->line,
			    p->error);
		else
			printf("line %" PRIu64 ": %s/%s: %s\n", p->line,
			    p->source, p->id, p->error);
	}
	if (rc == -1) {
		fflush(stdout);
		fprintf(stderr, "handoffctl: %s\n", err);
		free(err);
	}
	rc = rc == 0 && res.rejected == 0 && res.invalid == 0 ? EXIT_OK :
	    EXIT_FAIL;
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
	} else if (client_tail(&o, print_msg_flush, NULL, &err) == -1) {
		fprintf(stderr, "handoffctl: %s\n", err);
		free(err);
		rc = EXIT_FAIL;
	}
	free(control);
	free(publish);
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
	case CMD_COUNT:
		abort();
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
	case CMD_SEND:
	case CMD_TAIL:
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
