/*
 * handoffd: the hand-off daemon. This file only parses the command line and
 * dispatches: --check-config validates the configuration, --migrate applies
 * the schema, and otherwise the service loop runs in the foreground.
 * Exit codes (SPEC §8): 0 clean, 1 runtime failure, 2 usage, 3 configuration.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "handoff/config.h"
#include "handoff/curve.h"
#include "handoff/log.h"
#include "handoff/loop.h"
#include "handoff/migrate.h"

#define DEFAULT_CONFIG "/etc/handoff/handoffd.conf"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_CONFIG = 3 };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: handoffd [-c FILE] [--check-config] [--migrate] [--version] [--help]\n"
	    "\n"
	    "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
	    "      --check-config  validate the configuration and exit\n"
	    "      --migrate       apply pending database migrations and exit\n"
	    "      --version       print the version and exit\n"
	    "  -h, --help          print this help and exit\n");
}

static void
curve_warn(void *arg, const char *msg)
{
	(void)arg;
	log_warnx("curve: %s", msg);
}

/*
 * Reads the key files of bus.curve, so that a bad one is a configuration
 * error (exit 3) of --check-config and of the start alike. The check may
 * run outside the service: a secret key file that is a systemd credential
 * (a relative path, without $CREDENTIALS_DIRECTORY set) is then skipped.
 */
static int
load_curve(const char *path, const cfg_t *cfg, bool check,
    curve_server_t **out)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	bool skip = check && cfg->curve_secret_key_file[0] != '/' &&
	    (creds == NULL || creds[0] == '\0');
	char *err = NULL;

	if (curve_server_load(cfg, skip, curve_warn, NULL, out, &err) == -1) {
		fprintf(stderr, "%s: %s\n", path, err);
		free(err);
		return -1;
	}
	if (!check)
		return 0;
	if (skip)
		printf("%s: bus.curve.secret_key_file \"%s\" is a systemd "
		    "credential ($CREDENTIALS_DIRECTORY is not set here): not "
		    "checked\n", path, cfg->curve_secret_key_file);
	else
		printf("%s: CurveZMQ server public key %s\n", path,
		    (*out)->pub.z85);
	printf("%s: %zu CurveZMQ client key(s) in %s\n", path,
	    curve_clients_count((*out)->clients), (*out)->clients_dir);
	return 0;
}

static int
do_migrate(const cfg_t *cfg)
{
	PGconn *conn = PQconnectdb(cfg->db_conninfo);
	int applied = 0;

	if (PQstatus(conn) != CONNECTION_OK) {
		log_error("database: cannot connect: %s",
		    PQerrorMessage(conn));
		PQfinish(conn);
		return EXIT_RUNTIME;
	}
	if (migrate_run(conn, &applied) == -1) {
		PQfinish(conn);
		return EXIT_RUNTIME;
	}
	PQfinish(conn);
	if (applied == 0)
		log_info("schema is current (%s)", migrate_latest());
	else
		log_info("applied %d migration(s); schema is at %s", applied,
		    migrate_latest());
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_MIGRATE, OPT_VERSION };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "migrate", no_argument, NULL, OPT_MIGRATE },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG;
	bool check = false, migrate = false;
	char *errors = NULL;
	cfg_t *cfg = NULL;
	curve_server_t *curve = NULL;
	int ch, rc;

	log_init("handoffd", log_under_systemd(), LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_MIGRATE:
			migrate = true;
			break;
		case OPT_VERSION:
			printf("handoffd %s\n", HANDOFF_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "handoffd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (check && migrate) {
		fprintf(stderr, "handoffd: --check-config and --migrate "
		    "exclude each other\n");
		return EXIT_USAGE;
	}

	if (cfg_load(path, &cfg, &errors) == -1) {
		fputs(errors, stderr);
		if (errors[0] != '\0' && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		return EXIT_CONFIG;
	}
	log_set_level((log_level_t)cfg->log_level);
	if (!migrate && cfg->curve_secret_key_file != NULL &&
	    load_curve(path, cfg, check, &curve) == -1) {
		cfg_destroy(&cfg);
		return EXIT_CONFIG;
	}
	if (check) {
		printf("%s: configuration OK\n", path);
		rc = EXIT_OK;
	} else if (migrate) {
		rc = do_migrate(cfg);
	} else {
		/* loop_run owns the configuration and keys from here on. */
		return loop_run(path, cfg, curve);
	}
	curve_server_destroy(&curve);
	cfg_destroy(&cfg);
	return rc;
}
