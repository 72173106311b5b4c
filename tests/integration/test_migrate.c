/*
 * Tests of the migration runner (daemon/migrate.c) and of the schema of
 * sql/001_init.sql, against the fixture PostgreSQL: a fresh database is
 * migrated, migrated again, migrated by two runners at once, and refused
 * when its recorded migrations do not match the binary's.
 */
#include <dirent.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handoff/log.h"
#include "handoff/migrate.h"
#include "handoff/util.h"
#include "testutil.h"

/* The runner's advisory lock, as pg_locks shows it (see daemon/migrate.c). */
#define LOCK_KEY "7521414230330205805"
#define LOCK_CLASSID "1751215716"
#define LOCK_OBJID "1868981869"

#define TSTZ "timestamp with time zone"

/* The single value of a one-row, one-column query, malloc'd. */
static char *
scalar(PGconn *c, const char *sql)
{
	PGresult *r = tu_pg_exec(c, sql);
	char *v;

	if (PQntuples(r) != 1 || PQnfields(r) != 1)
		fail_msg("%s: expected one value, got %d rows of %d columns",
		    sql, PQntuples(r), PQnfields(r));
	v = xstrdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static void
assert_scalar(PGconn *c, const char *sql, const char *want)
{
	char *got = scalar(c, sql);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", sql, got, want);
	free(got);
}

/* Runs sql, which must fail with SQLSTATE state. */
static void
assert_sql_fails(PGconn *c, const char *sql, const char *state)
{
	PGresult *r = PQexec(c, sql);
	const char *got = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	if (PQresultStatus(r) != PGRES_FATAL_ERROR || got == NULL ||
	    strcmp(got, state) != 0)
		fail_msg("%s: want SQLSTATE %s, got status %s, SQLSTATE %s",
		    sql, state, PQresStatus(PQresultStatus(r)),
		    got != NULL ? got : "none");
	PQclear(r);
}

/*
 * Calls migrate_run with the log (standard error) captured; returns what
 * was logged, malloc'd.
 */
static char *
run_captured(PGconn *c, int *rc, int *applied)
{
	FILE *f = tmpfile();
	int saved;
	char *text;
	long n;

	assert_non_null(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(fileno(f), STDERR_FILENO) != -1);
	*rc = migrate_run(c, applied);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	n = ftell(f);
	assert_true(n >= 0);
	text = xmalloc((size_t)n + 1);
	rewind(f);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	/* Shown as well, so that a failing test explains itself. */
	fputs(text, stderr);
	return text;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("'%s' not found in:\n%s", needle, hay);
}

static void
migrate_ok(PGconn *c, int want_applied)
{
	int applied = -1;

	assert_int_equal(migrate_run(c, &applied), 0);
	assert_int_equal(applied, want_applied);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
}

/* The runner's lock is free again: another session can take it. */
static void
assert_lock_free(const char *conninfo)
{
	PGconn *o = PQconnectdb(conninfo);

	assert_int_equal(PQstatus(o), CONNECTION_OK);
	assert_scalar(o, "SELECT pg_try_advisory_lock(" LOCK_KEY ")", "t");
	assert_scalar(o, "SELECT pg_advisory_unlock(" LOCK_KEY ")", "t");
	PQfinish(o);
}

/*
 * The compiled-in migrations are exactly the files of sql/, byte for byte,
 * in name order: the build embedded them correctly.
 */
static void
test_embedded_files(void **state)
{
	char *dir = tu_src_path("sql");
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t ondisk = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (fnmatch("[0-9][0-9][0-9]_*.sql", e->d_name, 0) == 0)
			ondisk++;
	closedir(d);
	free(dir);
	assert_int_equal(migrate_nfiles, ondisk);
	assert_true(migrate_nfiles >= 1);
	assert_string_equal(migrate_files[0].name, "001_init.sql");
	assert_string_equal(migrate_latest(),
	    migrate_files[migrate_nfiles - 1].name);
	for (size_t i = 0; i < migrate_nfiles; i++) {
		char *rel = xasprintf("sql/%s", migrate_files[i].name);
		char *path = tu_src_path(rel);
		size_t len;
		char *text = tu_read_file(path, &len);

		if (text == NULL)
			fail_msg("cannot read %s", path);
		assert_int_equal(strlen(migrate_files[i].sql), len);
		assert_memory_equal(migrate_files[i].sql, text, len);
		if (i > 0)
			assert_true(strcmp(migrate_files[i - 1].name,
			    migrate_files[i].name) < 0);
		free(text);
		free(path);
		free(rel);
	}
}

struct column {
	const char *table, *column, *type, *nullable;
};

/* What the pipeline relies on; later migrations may add to it. */
static const struct column expected_columns[] = {
	{ "schema_migrations", "name", "text", "NO" },
	{ "schema_migrations", "checksum", "text", "NO" },
	{ "schema_migrations", "applied_at", TSTZ, "NO" },
	{ "events", "id", "bigint", "NO" },
	{ "events", "source", "text", "NO" },
	{ "events", "event_id", "text", "NO" },
	{ "events", "type", "text", "NO" },
	{ "events", "occurred_at", TSTZ, "NO" },
	{ "events", "received_at", TSTZ, "NO" },
	{ "events", "body", "json", "NO" },
	{ "rejected_messages", "id", "bigint", "NO" },
	{ "rejected_messages", "received_at", TSTZ, "NO" },
	{ "rejected_messages", "endpoint", "text", "NO" },
	{ "rejected_messages", "topic", "text", "YES" },
	{ "rejected_messages", "reason", "text", "NO" },
	{ "rejected_messages", "source", "text", "YES" },
	{ "rejected_messages", "event_id", "text", "YES" },
	{ "rejected_messages", "raw", "bytea", "NO" },
	{ "rejected_messages", "raw_len", "integer", "NO" },
	{ "outbox", "seq", "bigint", "NO" },
	{ "outbox", "type", "text", "NO" },
	{ "outbox", "body", "text", "NO" },
	{ "outbox", "created_at", TSTZ, "NO" },
	{ "outbox_published", "id", "bigint", "NO" },
	{ "outbox_published", "lo", "bigint", "NO" },
	{ "outbox_published", "hi", "bigint", "NO" },
	{ "outbox_seq", "one", "boolean", "NO" },
	{ "outbox_seq", "last_seq", "bigint", "NO" },
	{ "clock_state", "one", "boolean", "NO" },
	{ "clock_state", "event_now", TSTZ, "YES" },
};

static void
check_columns(PGconn *c)
{
	for (size_t i = 0; i < ARRAY_LEN(expected_columns); i++) {
		const struct column *e = &expected_columns[i];
		const char *params[2] = { e->table, e->column };
		PGresult *r = PQexecParams(c,
		    "SELECT data_type, is_nullable"
		    " FROM information_schema.columns"
		    " WHERE table_schema = current_schema()"
		    " AND table_name = $1 AND column_name = $2",
		    2, NULL, params, NULL, NULL, 0);

		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		if (PQntuples(r) != 1)
			fail_msg("column %s.%s: not found", e->table,
			    e->column);
		if (strcmp(PQgetvalue(r, 0, 0), e->type) != 0 ||
		    strcmp(PQgetvalue(r, 0, 1), e->nullable) != 0)
			fail_msg("column %s.%s: %s, nullable %s; want %s, "
			    "nullable %s", e->table, e->column,
			    PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), e->type,
			    e->nullable);
		PQclear(r);
	}
}

static void
test_fresh_database(void **state)
{
	char *ci = NULL;
	PGconn *c = tu_pg_fresh_db("handoff_t_migrate_fresh", &ci);
	char *want;
	PGresult *r;

	(void)state;
	migrate_ok(c, (int)migrate_nfiles);

	/* One row per file, with the SHA-256 of the file on disk. */
	want = xasprintf("%zu", migrate_nfiles);
	assert_scalar(c, "SELECT count(*) FROM schema_migrations", want);
	free(want);
	{
		char *path = tu_src_path("sql/001_init.sql");
		size_t len;
		char *text = tu_read_file(path, &len);
		const char *values[1] = { text };
		int lengths[1] = { (int)len }, formats[1] = { 1 };

		assert_non_null(text);
		r = PQexecParams(c, "SELECT encode(sha256($1::bytea), 'hex') = "
		    "(SELECT checksum FROM schema_migrations"
		    " WHERE name = '001_init.sql')",
		    1, NULL, values, lengths, formats, 0);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		assert_string_equal(PQgetvalue(r, 0, 0), "t");
		PQclear(r);
		free(text);
		free(path);
	}

	check_columns(c);

	/* (source, event_id) is unique; the pipeline's ON CONFLICT works. */
	PQclear(tu_pg_exec(c, "INSERT INTO events (source, event_id, type, "
	    "occurred_at, body) VALUES ('marketo', 'e1', 'lead.upserted', "
	    "'2026-11-24T10:00:00Z', '{\"v\": 1}')"));
	assert_sql_fails(c, "INSERT INTO events (source, event_id, type, "
	    "occurred_at, body) VALUES ('marketo', 'e1', 'lead.qualified', "
	    "'2026-11-24T11:00:00Z', '{}')", "23505");
	r = tu_pg_exec(c, "INSERT INTO events (source, event_id, type, "
	    "occurred_at, body) VALUES ('marketo', 'e1', 'lead.qualified', "
	    "'2026-11-24T11:00:00Z', '{}') "
	    "ON CONFLICT (source, event_id) DO NOTHING RETURNING id");
	assert_int_equal(PQntuples(r), 0);
	PQclear(r);
	/* The same id from another source is another event. */
	PQclear(tu_pg_exec(c, "INSERT INTO events (source, event_id, type, "
	    "occurred_at, body) VALUES ('salesforce', 'e1', 'sales.accepted', "
	    "'2026-11-24T12:00:00Z', '{}')"));
	/* The raw event keeps its exact text. */
	PQclear(tu_pg_exec(c, "INSERT INTO events (source, event_id, type, "
	    "occurred_at, body) VALUES ('marketo', 'e2', 'lead.upserted', "
	    "'2026-11-24T10:00:00Z', '{\"b\" : 1.50,  \"a\": 2, \"a\": 3}')"));
	assert_scalar(c, "SELECT body::text FROM events WHERE event_id = 'e2'",
	    "{\"b\" : 1.50,  \"a\": 2, \"a\": 3}");

	/* outbox_seq: one row, 0, and no room for a second. */
	assert_scalar(c, "SELECT count(*) || ':' || max(last_seq) "
	    "FROM outbox_seq", "1:0");
	assert_sql_fails(c, "INSERT INTO outbox_seq (last_seq) VALUES (5)",
	    "23505");
	assert_sql_fails(c, "INSERT INTO outbox_seq (one, last_seq) "
	    "VALUES (false, 5)", "23514");
	assert_scalar(c, "SELECT count(*) || ':' || count(event_now) "
	    "FROM clock_state", "1:0");
	assert_sql_fails(c, "INSERT INTO clock_state DEFAULT VALUES", "23505");

	/* rejected_messages keeps at most 4096 raw bytes. */
	PQclear(tu_pg_exec(c, "INSERT INTO rejected_messages (endpoint, "
	    "reason, raw, raw_len) VALUES ('tcp://127.0.0.1:5556', 'bad json', "
	    "convert_to(repeat('x', 4096), 'UTF8'), 70000)"));
	assert_sql_fails(c, "INSERT INTO rejected_messages (endpoint, reason, "
	    "raw, raw_len) VALUES ('tcp://127.0.0.1:5556', 'bad json', "
	    "convert_to(repeat('x', 4097), 'UTF8'), 70000)", "23514");

	/* Nothing went out yet: one empty range to extend (009). */
	assert_scalar(c, "SELECT string_agg(lo || ':' || hi, ',') "
	    "FROM outbox_published", "0:0");
	assert_sql_fails(c, "INSERT INTO outbox_published (lo, hi) "
	    "VALUES (5, 4)", "23514");

	assert_lock_free(ci);
	PQfinish(c);
	free(ci);
}

/* A second run applies nothing and changes nothing. */
static void
test_rerun_is_noop(void **state)
{
	PGconn *c = tu_pg_fresh_db("handoff_t_migrate_rerun", NULL);
	const char *snap = "SELECT string_agg(name || ' ' || checksum || "
	    "' ' || applied_at, ',' ORDER BY name) FROM schema_migrations";
	char *before, *after;

	(void)state;
	migrate_ok(c, (int)migrate_nfiles);
	PQclear(tu_pg_exec(c, "UPDATE outbox_seq SET last_seq = 42"));
	before = scalar(c, snap);
	migrate_ok(c, 0);
	migrate_ok(c, 0);
	after = scalar(c, snap);
	assert_string_equal(before, after);
	assert_scalar(c, "SELECT last_seq FROM outbox_seq", "42");
	free(before);
	free(after);
	PQfinish(c);
}

/*
 * 009 turns the outbox's published_at into ranges: everything below the
 * first unpublished row, then each row published above it (several
 * daemons), and nothing that did not go out.
 */
static void
upgrade_outbox(const char *db, const char *published, const char *want)
{
	PGconn *c = tu_pg_fresh_db(db, NULL);
	size_t k = 0;
	char *sql;

	while (k < migrate_nfiles &&
	    strcmp(migrate_files[k].name, "009_outbox_published.sql") != 0)
		PQclear(tu_pg_exec(c, migrate_files[k++].sql));
	assert_true(k < migrate_nfiles);
	sql = xasprintf("INSERT INTO outbox (seq, type, body, published_at) "
	    "SELECT s, 'x', '{}', CASE WHEN s = ANY('%s'::bigint[]) "
	    "THEN now() END FROM generate_series(1, 6) s; "
	    "UPDATE outbox_seq SET last_seq = 6", published);
	PQclear(tu_pg_exec(c, sql));
	free(sql);
	PQclear(tu_pg_exec(c, migrate_files[k].sql));
	assert_scalar(c, "SELECT string_agg(lo || ':' || hi, ',' ORDER BY lo) "
	    "FROM outbox_published", want);
	/* The column and its index are gone. */
	assert_scalar(c, "SELECT count(*) FROM information_schema.columns "
	    "WHERE table_schema = current_schema() AND table_name = 'outbox' "
	    "AND column_name = 'published_at'", "0");
	assert_scalar(c, "SELECT count(*) FROM pg_indexes WHERE indexname = "
	    "'outbox_unpublished_idx'", "0");
	PQfinish(c);
}

static void
test_outbox_published_upgrade(void **state)
{
	(void)state;
	upgrade_outbox("handoff_t_migrate_pub1", "{1,2,3,5}", "0:3,4:5");
	upgrade_outbox("handoff_t_migrate_pub2", "{1,2,3,4,5,6}", "0:6");
	upgrade_outbox("handoff_t_migrate_pub3", "{}", "0:0");
	upgrade_outbox("handoff_t_migrate_pub4", "{2,6}", "0:0,1:2,5:6");
}

struct runner {
	const char *conninfo;
	int rc;
	int applied;
	char error[512];
};

static void *
runner_main(void *arg)
{
	struct runner *r = arg;
	PGconn *c = PQconnectdb(r->conninfo);

	r->rc = -1;
	if (PQstatus(c) != CONNECTION_OK)
		snprintf(r->error, sizeof(r->error), "connect: %s",
		    PQerrorMessage(c));
	else
		r->rc = migrate_run(c, &r->applied);
	PQfinish(c);
	return NULL;
}

/* Sessions waiting for the runner's lock in the current database. */
static int
lock_waiters(PGconn *c)
{
	char *v = scalar(c, "SELECT count(*) FROM pg_locks WHERE "
	    "locktype = 'advisory' AND classid = " LOCK_CLASSID " AND "
	    "objid = " LOCK_OBJID " AND NOT granted AND database = "
	    "(SELECT oid FROM pg_database WHERE datname = current_database())");
	int n = atoi(v);

	free(v);
	return n;
}

/*
 * Two runners at once: the test holds the lock while both start, sees both
 * wait for it with nothing created yet, then lets them race. Each migration
 * is applied once, and both succeed.
 */
static void
test_concurrent_runners(void **state)
{
	char *ci = NULL;
	PGconn *c = tu_pg_fresh_db("handoff_t_migrate_concurrent", &ci);
	struct runner r[2];
	pthread_t t[2];
	char *want;
	int i;

	(void)state;
	assert_scalar(c, "SELECT pg_advisory_lock(" LOCK_KEY ")", "");
	for (i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].conninfo = ci;
		assert_int_equal(pthread_create(&t[i], NULL, runner_main,
		    &r[i]), 0);
	}
	for (i = 0; i < 300 && lock_waiters(c) < 2; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	assert_int_equal(lock_waiters(c), 2);
	assert_scalar(c, "SELECT to_regclass('schema_migrations') IS NULL",
	    "t");
	assert_scalar(c, "SELECT pg_advisory_unlock(" LOCK_KEY ")", "t");
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);

	for (i = 0; i < 2; i++)
		if (r[i].rc != 0)
			fail_msg("runner %d failed: %s", i, r[i].error);
	assert_int_equal(r[0].applied + r[1].applied, (int)migrate_nfiles);
	assert_true(r[0].applied == 0 || r[1].applied == 0);
	want = xasprintf("%zu", migrate_nfiles);
	assert_scalar(c, "SELECT count(*) FROM schema_migrations", want);
	free(want);
	assert_scalar(c, "SELECT count(*) FROM outbox_seq", "1");
	assert_lock_free(ci);
	PQfinish(c);
	free(ci);
}

/* A migration edited after it was applied stops the runner. */
static void
test_tampered_checksum(void **state)
{
	char *ci = NULL;
	PGconn *c = tu_pg_fresh_db("handoff_t_migrate_tampered", &ci);
	int rc, applied = -1;
	char *log;

	(void)state;
	migrate_ok(c, (int)migrate_nfiles);
	PQclear(tu_pg_exec(c, "UPDATE schema_migrations SET checksum = "
	    "repeat('0', 64) WHERE name = '001_init.sql'"));
	log = run_captured(c, &rc, &applied);
	assert_int_equal(rc, -1);
	assert_int_equal(applied, 0);
	assert_contains(log, "001_init.sql");
	assert_contains(log, "checksum");
	assert_contains(log, "changed after it was applied");
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	assert_lock_free(ci);
	free(log);
	PQfinish(c);
	free(ci);
}

/* A database migrated by a newer binary is refused. */
static void
test_unknown_migration(void **state)
{
	char *ci = NULL;
	PGconn *c = tu_pg_fresh_db("handoff_t_migrate_unknown", &ci);
	int rc, applied = -1;
	char *log;

	(void)state;
	migrate_ok(c, (int)migrate_nfiles);
	PQclear(tu_pg_exec(c, "INSERT INTO schema_migrations (name, checksum) "
	    "VALUES ('999_from_the_future.sql', repeat('a', 64))"));
	log = run_captured(c, &rc, &applied);
	assert_int_equal(rc, -1);
	assert_int_equal(applied, 0);
	assert_contains(log, "999_from_the_future.sql");
	assert_contains(log, "newer than this binary");
	assert_lock_free(ci);
	free(log);
	PQfinish(c);
	free(ci);
}

/*
 * A migration that fails leaves nothing behind: not its earlier statements,
 * not its row in schema_migrations. Once the cause is gone it applies.
 */
static void
test_failed_migration_rolls_back(void **state)
{
	char *ci = NULL;
	PGconn *c = tu_pg_fresh_db("handoff_t_migrate_failed", &ci);
	int rc, applied = -1;
	char *log;

	(void)state;
	/* 001_init.sql creates clock_state last. */
	PQclear(tu_pg_exec(c, "CREATE TABLE clock_state (x integer)"));
	log = run_captured(c, &rc, &applied);
	assert_int_equal(rc, -1);
	assert_int_equal(applied, 0);
	assert_contains(log, "migration 001_init.sql failed");
	assert_contains(log, "42P07");
	assert_contains(log, "clock_state");
	free(log);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	assert_scalar(c, "SELECT to_regclass('events') IS NULL", "t");
	assert_scalar(c, "SELECT count(*) FROM schema_migrations", "0");
	assert_lock_free(ci);

	PQclear(tu_pg_exec(c, "DROP TABLE clock_state"));
	migrate_ok(c, (int)migrate_nfiles);
	assert_scalar(c, "SELECT count(*) FROM clock_state", "1");
	PQfinish(c);
	free(ci);
}

/* Misuse is refused without touching the database. */
static void
test_bad_connections(void **state)
{
	PGconn *c = tu_pg_fresh_db("handoff_t_migrate_misuse", NULL);
	int applied = -1;

	(void)state;
	PQclear(tu_pg_exec(c, "BEGIN"));
	assert_int_equal(migrate_run(c, &applied), -1);
	assert_int_equal(applied, 0);
	PQclear(tu_pg_exec(c, "ROLLBACK"));
	assert_scalar(c, "SELECT to_regclass('schema_migrations') IS NULL",
	    "t");
	PQfinish(c);

	/* Port 1 on the loopback: nothing listens there. */
	c = PQconnectdb("host=127.0.0.1 port=1 connect_timeout=5");
	assert_int_not_equal(PQstatus(c), CONNECTION_OK);
	applied = -1;
	assert_int_equal(migrate_run(c, &applied), -1);
	assert_int_equal(applied, 0);
	PQfinish(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_files),
		cmocka_unit_test(test_fresh_database),
		cmocka_unit_test(test_rerun_is_noop),
		cmocka_unit_test(test_outbox_published_upgrade),
		cmocka_unit_test(test_concurrent_runners),
		cmocka_unit_test(test_tampered_checksum),
		cmocka_unit_test(test_unknown_migration),
		cmocka_unit_test(test_failed_migration_rolls_back),
		cmocka_unit_test(test_bad_connections),
	};

	log_init("test_migrate", false, LOG_LVL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
