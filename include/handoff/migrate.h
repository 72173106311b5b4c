/*
 * Schema migrations: the numbered files of sql/, compiled into the binary,
 * applied in order under an advisory lock and recorded in the database.
 */
#ifndef HANDOFF_MIGRATE_H
#define HANDOFF_MIGRATE_H

#include <stddef.h>
#include <libpq-fe.h>

#include "handoff/util.h"

typedef struct {
	const char *name; /* "001_init.sql" */
	const char *sql;
} migrate_file_t;

/* Generated at build time from sql/, sorted by name. */
extern const migrate_file_t migrate_files[];
extern const size_t migrate_nfiles;

/*
 * Applies every pending migration, each in its own transaction, under a
 * session advisory lock so that concurrent daemons do it once. Sets
 * *applied to the number applied (0 when the schema was current).
 * Returns 0, or -1 after logging what failed.
 */
int migrate_run(PGconn *conn, int *applied) MUSTCHECK;

/* The highest migration name in the binary, e.g. "001_init.sql". */
const char *migrate_latest(void);

#endif
