/*
 * Helpers shared by the tests: paths of the source tree, the private
 * PostgreSQL of the "pg" fixture, reading whole files.
 */
#ifndef HANDOFF_TESTUTIL_H
#define HANDOFF_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>

/* HANDOFF_SOURCE_DIR + "/" + rel, malloc'd. Fails the test if unset. */
char *tu_src_path(const char *rel);
/* Reads a whole file (NUL-terminated); NULL if it cannot. */
char *tu_read_file(const char *path, size_t *len);
/* The fixture's libpq connection string (malloc'd); fails if absent. */
char *tu_pg_conninfo(void);
/* A connection to a fresh empty database made for this test. */
PGconn *tu_pg_fresh_db(const char *name, char **conninfo_out);
/* Runs SQL that must succeed; returns the result (caller PQclear()s). */
PGresult *tu_pg_exec(PGconn *c, const char *sql);

#endif
