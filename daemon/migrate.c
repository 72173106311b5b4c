/*
 * The schema migration runner (SPEC §5). The numbered files of sql/ are
 * compiled in (migrations_data.c, written by sql/embed.cmake) and applied in
 * name order, each in its own transaction together with its row in
 * schema_migrations, so that a migration is either applied and recorded or
 * not at all. A session advisory lock serialises runners, so that daemons
 * starting together apply each migration once: the later ones wait, then
 * find nothing left to do.
 *
 * The runner refuses, before changing anything, to work on a schema other
 * than the one this binary was built for: a recorded migration it does not
 * know (a newer handoffd migrated the database), a recorded migration whose
 * text has changed since it was applied (its checksum differs), or a pending
 * migration that sorts before one already applied. Running on regardless
 * could corrupt data quietly; stopping with a clear message cannot.
 *
 * The checksum is the SHA-256 of the file's bytes in hexadecimal, computed by
 * the server's sha256(), so that an operator can compare the value in
 * schema_migrations with `sha256sum sql/NNN_name.sql`.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "handoff/log.h"
#include "handoff/migrate.h"
#include "handoff/util.h"

/*
 * The advisory lock key: the ASCII bytes "handoffm" (handoff, migrate) read
 * as a big-endian 64-bit integer, 0x68616e646f66666d. pg_locks shows it as
 * locktype advisory, classid 1751215716, objid 1868981869, objsubid 1.
 */
#define LOCK_KEY "7521414230330205805"

/* The type OID of bytea, for binary parameters (pg_type.dat). */
#define BYTEAOID 17

/* What schema_migrations holds for one migration. */
struct recorded {
	char *name;
	char *checksum;
};

/*
 * One line describing a failed command: PostgreSQL's severity, SQLSTATE,
 * message, detail, hint and context, and the line of sql the error points
 * at when there is one (sql may be NULL). Falls back to libpq's own message
 * for failures that did not come from the server (a lost connection).
 * Returns a malloc'd string.
 */
static char *
pg_error(PGconn *conn, const PGresult *r, const char *sql)
{
	const char *sev, *state, *msg, *detail, *hint, *ctx, *pos;
	sbuf_t b;
	char *out, *s, *d;
	bool space;

	sbuf_init(&b);
	msg = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL) {
		const char *m = r != NULL ? PQresultErrorMessage(r) : "";

		if (m[0] == '\0')
			m = PQerrorMessage(conn);
		if (m[0] == '\0')
			m = "unknown error (no message from libpq)";
		sbuf_adds(&b, m);
	} else {
		sev = PQresultErrorField(r, PG_DIAG_SEVERITY);
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
		hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
		ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
		pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
		if (sql != NULL && pos != NULL) {
			/*
			 * The position counts characters from 1; the files
			 * are UTF-8, so a character starts at every byte that
			 * is not a continuation byte.
			 */
			long want = strtol(pos, NULL, 10), chars = 0;
			long line = 1;

			for (const char *p = sql; *p != '\0'; p++) {
				if (((unsigned char)*p & 0xc0) != 0x80 &&
				    ++chars >= want)
					break;
				if (*p == '\n')
					line++;
			}
			sbuf_printf(&b, "line %ld: ", line);
		}
		sbuf_printf(&b, "%s %s: %s", sev != NULL ? sev : "ERROR",
		    state != NULL ? state : "?????", msg);
		if (detail != NULL)
			sbuf_printf(&b, "; DETAIL: %s", detail);
		if (hint != NULL)
			sbuf_printf(&b, "; HINT: %s", hint);
		if (ctx != NULL)
			sbuf_printf(&b, "; CONTEXT: %s", ctx);
	}

	/* One log line: runs of white space (libpq's \n\t) become a space. */
	out = sbuf_take(&b);
	space = false;
	for (s = d = out; *s != '\0'; s++) {
		if (*s == '\n' || *s == '\t' || *s == '\r' || *s == ' ') {
			space = true;
			continue;
		}
		if (space && d != out)
			*d++ = ' ';
		space = false;
		*d++ = *s;
	}
	*d = '\0';
	return out;
}

/*
 * Runs one command that must succeed with status want; on failure logs
 * "migrate: <what>: <error>" and returns NULL. The caller PQclear()s.
 */
static PGresult *
run(PGconn *conn, const char *sql, ExecStatusType want, const char *what)
{
	PGresult *r = PQexec(conn, sql);
	char *err;

	if (PQresultStatus(r) == want)
		return r;
	err = pg_error(conn, r, NULL);
	log_error("migrate: %s: %s", what, err);
	free(err);
	PQclear(r);
	return NULL;
}

static int
run_command(PGconn *conn, const char *sql, const char *what)
{
	PGresult *r = run(conn, sql, PGRES_COMMAND_OK, what);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/*
 * Takes the session advisory lock, saying so when another runner holds it,
 * since the wait lasts as long as that runner's migrations.
 */
static int
lock(PGconn *conn)
{
	PGresult *r;
	bool got;

	r = run(conn, "SELECT pg_try_advisory_lock(" LOCK_KEY ")",
	    PGRES_TUPLES_OK, "taking the migration lock");
	if (r == NULL)
		return -1;
	got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (got)
		return 0;
	log_info("migrate: another process is migrating this database; "
	    "waiting for it to finish");
	r = run(conn, "SELECT pg_advisory_lock(" LOCK_KEY ")",
	    PGRES_TUPLES_OK, "waiting for the migration lock");
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/*
 * Releases the lock. A failure matters: the connection goes on to serve the
 * daemon, and a lock left behind would block every other runner.
 */
static int
unlock(PGconn *conn)
{
	PGresult *r;
	bool held;

	r = run(conn, "SELECT pg_advisory_unlock(" LOCK_KEY ")",
	    PGRES_TUPLES_OK, "releasing the migration lock");
	if (r == NULL)
		return -1;
	held = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!held) {
		log_error("migrate: releasing the migration lock: this session "
		    "did not hold it");
		return -1;
	}
	return 0;
}

/*
 * Creates schema_migrations when it does not exist. The check runs under
 * the lock, so two runners cannot both decide to create it.
 */
static int
ensure_table(PGconn *conn)
{
	PGresult *r;
	bool exists;

	r = run(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL",
	    PGRES_TUPLES_OK, "looking for table schema_migrations");
	if (r == NULL)
		return -1;
	exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (exists)
		return 0;
	if (run_command(conn,
	    "CREATE TABLE schema_migrations ("
	    " name text PRIMARY KEY,"
	    " checksum text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())",
	    "creating table schema_migrations") == -1)
		return -1;
	log_info("migrate: created table schema_migrations");
	return 0;
}

/*
 * The checksums of the compiled-in files, in one round trip: one column of
 * one row per file, each file sent as a binary bytea so that the server
 * hashes its exact bytes whatever the client encoding. Returns a malloc'd
 * array of migrate_nfiles malloc'd strings, or NULL after logging.
 */
static char **
checksums(PGconn *conn)
{
	const char **values;
	int *lengths, *formats;
	Oid *types;
	int n = (int)migrate_nfiles;
	PGresult *r;
	char **sums = NULL;
	char *err;
	sbuf_t q;

	sbuf_init(&q);
	sbuf_adds(&q, "SELECT ");
	values = xcalloc(migrate_nfiles, sizeof(*values));
	lengths = xcalloc(migrate_nfiles, sizeof(*lengths));
	formats = xcalloc(migrate_nfiles, sizeof(*formats));
	types = xcalloc(migrate_nfiles, sizeof(*types));
	for (int i = 0; i < n; i++) {
		sbuf_printf(&q, "%sencode(sha256($%d), 'hex')", i ? ", " : "",
		    i + 1);
		values[i] = migrate_files[i].sql;
		lengths[i] = (int)strlen(migrate_files[i].sql);
		formats[i] = 1;
		types[i] = BYTEAOID;
	}
	r = PQexecParams(conn, q.s, n, types, values, lengths, formats, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		err = pg_error(conn, r, NULL);
		log_error("migrate: computing the migrations' checksums: %s",
		    err);
		free(err);
	} else {
		sums = xcalloc(migrate_nfiles, sizeof(*sums));
		for (int i = 0; i < n; i++)
			sums[i] = xstrdup(PQgetvalue(r, 0, i));
	}
	PQclear(r);
	sbuf_free(&q);
	free(values);
	free(lengths);
	free(formats);
	free(types);
	return sums;
}

static void
free_strings(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The rows of schema_migrations, by name; -1 after logging. */
static int
read_recorded(PGconn *conn, struct recorded **out, size_t *nout)
{
	PGresult *r;
	struct recorded *v;
	size_t n;

	r = run(conn, "SELECT name, checksum FROM schema_migrations "
	    "ORDER BY name", PGRES_TUPLES_OK, "reading schema_migrations");
	if (r == NULL)
		return -1;
	n = (size_t)PQntuples(r);
	v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].name = xstrdup(PQgetvalue(r, (int)i, 0));
		v[i].checksum = xstrdup(PQgetvalue(r, (int)i, 1));
	}
	PQclear(r);
	*out = v;
	*nout = n;
	return 0;
}

static void
free_recorded(struct recorded *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].checksum);
	}
	free(v);
}

/* The index of the compiled-in migration called name, or -1. */
static int
file_index(const char *name)
{
	for (size_t i = 0; i < migrate_nfiles; i++)
		if (strcmp(migrate_files[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Compares what the database recorded with what the binary holds and marks
 * in done[] the migrations already applied. Logs every problem found and
 * returns -1 if there was one.
 */
static int
check_recorded(const struct recorded *rec, size_t nrec, char **sums,
    bool *done)
{
	const char *newest = NULL;
	int rc = 0, i;

	for (size_t k = 0; k < nrec; k++) {
		if ((i = file_index(rec[k].name)) == -1) {
			log_error("migrate: the database has migration %s, "
			    "which this handoffd does not know (its newest is "
			    "%s): the schema is newer than this binary; run "
			    "the handoffd that migrated it, or a newer one",
			    rec[k].name, migrate_latest());
			rc = -1;
			continue;
		}
		if (strcmp(rec[k].checksum, sums[i]) != 0) {
			log_error("migrate: migration %s was applied with "
			    "checksum %s, but this handoffd's copy has %s: the "
			    "file was changed after it was applied; restore "
			    "it and put the change in a new migration",
			    rec[k].name, rec[k].checksum, sums[i]);
			rc = -1;
		}
		done[i] = true;
		if (newest == NULL || strcmp(rec[k].name, newest) > 0)
			newest = rec[k].name;
	}
	if (rc == -1 || newest == NULL)
		return rc;

	/*
	 * Migrations are written against the schema their predecessors left,
	 * so one that sorts before an applied migration cannot be applied
	 * after it safely.
	 */
	for (size_t j = 0; j < migrate_nfiles; j++) {
		if (!done[j] && strcmp(migrate_files[j].name, newest) < 0) {
			log_error("migrate: migration %s is pending but %s, "
			    "which sorts after it, is already applied; give "
			    "%s a number after %s", migrate_files[j].name,
			    newest, migrate_files[j].name, newest);
			rc = -1;
		}
	}
	return rc;
}

static long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - since->tv_sec) * 1000 +
	    (now.tv_nsec - since->tv_nsec) / 1000000;
}

/*
 * Applies one migration and records it, in one transaction. The file is
 * sent as one simple query, which may hold many statements; they run inside
 * our BEGIN, so a file that commits by itself is caught and reported.
 */
static int
apply(PGconn *conn, const migrate_file_t *f, const char *sum)
{
	const char *params[2] = { f->name, sum };
	struct timespec start;
	PGresult *r;
	ExecStatusType st;
	char *err;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (run_command(conn, "BEGIN", "starting a transaction") == -1)
		return -1;
	r = PQexec(conn, f->sql);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
	    st != PGRES_EMPTY_QUERY) {
		err = pg_error(conn, r, f->sql);
		log_error("migration %s failed: %s", f->name, err);
		free(err);
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		log_error("migration %s failed: it ended the transaction "
		    "itself (a migration file must not contain BEGIN, COMMIT "
		    "or ROLLBACK), so it may be partly applied; check the "
		    "schema by hand", f->name);
		goto fail;
	}
	r = PQexecParams(conn, "INSERT INTO schema_migrations (name, checksum) "
	    "VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		err = pg_error(conn, r, NULL);
		log_error("migration %s: recording it in schema_migrations: %s",
		    f->name, err);
		free(err);
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	r = PQexec(conn, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		err = pg_error(conn, r, NULL);
		log_error("migration %s failed at COMMIT: %s", f->name, err);
		free(err);
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	log_info("migrate: applied migration %s (%ld ms)", f->name,
	    elapsed_ms(&start));
	return 0;

fail:
	if (PQtransactionStatus(conn) != PQTRANS_IDLE &&
	    PQtransactionStatus(conn) != PQTRANS_UNKNOWN)
		(void)run_command(conn, "ROLLBACK", "rolling back");
	return -1;
}

/* Everything migrate_run does while it holds the lock. */
static int
migrate_locked(PGconn *conn, int *applied)
{
	struct recorded *rec = NULL;
	size_t nrec = 0;
	char **sums = NULL;
	bool *done = NULL;
	int rc = -1;

	if (ensure_table(conn) == -1)
		return -1;
	if ((sums = checksums(conn)) == NULL)
		return -1;
	if (read_recorded(conn, &rec, &nrec) == -1)
		goto out;
	done = xcalloc(migrate_nfiles, sizeof(*done));
	if (check_recorded(rec, nrec, sums, done) == -1)
		goto out;
	for (size_t i = 0; i < migrate_nfiles; i++) {
		if (done[i])
			continue;
		if (apply(conn, &migrate_files[i], sums[i]) == -1)
			goto out;
		(*applied)++;
	}
	rc = 0;
out:
	free(done);
	free_recorded(rec, nrec);
	free_strings(sums, migrate_nfiles);
	return rc;
}

int
migrate_run(PGconn *conn, int *applied)
{
	int rc;

	*applied = 0;
	if (PQstatus(conn) != CONNECTION_OK) {
		char *err = pg_error(conn, NULL, NULL);

		log_error("migrate: no database connection: %s", err);
		free(err);
		return -1;
	}
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		log_error("migrate: the connection is inside a transaction; "
		    "migrations need their own");
		return -1;
	}
	if (lock(conn) == -1)
		return -1;
	rc = migrate_locked(conn, applied);
	if (unlock(conn) == -1)
		rc = -1;
	return rc;
}

/* sql/embed.cmake refuses to build without a migration, so there is one. */
const char *
migrate_latest(void)
{
	return migrate_files[migrate_nfiles - 1].name;
}
