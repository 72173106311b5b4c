/* Test helpers; see testutil.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/util.h"
#include "testutil.h"

char *
tu_src_path(const char *rel)
{
	const char *root = getenv("HANDOFF_SOURCE_DIR");

	if (root == NULL)
		fail_msg("HANDOFF_SOURCE_DIR is not set (run the tests with ctest)");
	return xasprintf("%s/%s", root, rel);
}

char *
tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	sbuf_t b;
	char buf[8192];
	size_t n;

	if (f == NULL)
		return NULL;
	sbuf_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&b, buf, n);
	fclose(f);
	if (len != NULL)
		*len = b.len;
	return sbuf_take(&b);
}

char *
tu_pg_conninfo(void)
{
	const char *state = getenv("HANDOFF_TEST_PGSTATE");
	char *path, *s;
	size_t n;

	if (state == NULL)
		fail_msg("HANDOFF_TEST_PGSTATE is not set (run the tests with ctest)");
	path = xasprintf("%s/conninfo", state);
	s = tu_read_file(path, &n);
	if (s == NULL)
		fail_msg("no PostgreSQL fixture at %s", path);
	free(path);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

PGresult *
tu_pg_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("SQL failed: %s\n%s", sql, PQerrorMessage(c));
	return r;
}

PGconn *
tu_pg_fresh_db(const char *name, char **conninfo_out)
{
	char *base = tu_pg_conninfo();
	PGconn *admin = PQconnectdb(base);
	char *sql, *ci;
	PGconn *c;

	if (PQstatus(admin) != CONNECTION_OK)
		fail_msg("cannot connect to the fixture: %s", PQerrorMessage(admin));
	sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	PQclear(tu_pg_exec(admin, sql));
	free(sql);
	sql = xasprintf("CREATE DATABASE %s", name);
	PQclear(tu_pg_exec(admin, sql));
	free(sql);
	PQfinish(admin);
	/* A later dbname= overrides the earlier one in a libpq string. */
	ci = xasprintf("%s dbname=%s", base, name);
	free(base);
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to %s: %s", ci, PQerrorMessage(c));
	if (conninfo_out != NULL)
		*conninfo_out = ci;
	else
		free(ci);
	return c;
}
