/*
 * Helpers for PostgreSQL's COPY text format and array literals, shared by
 * the modules that write batches (store.c, recstore.c).
 */
#ifndef HANDOFF_PGCOPY_H
#define HANDOFF_PGCOPY_H

#include <stddef.h>

#include <libpq-fe.h>

#include "handoff/ts.h"
#include "handoff/util.h"

/* A field: escaped text, "\N" for NULL, a timestamp (0: NULL), a number. */
void pgcopy_text(sbuf_t *b, const char *s, size_t n);
void pgcopy_str(sbuf_t *b, const char *s);
void pgcopy_ts(sbuf_t *b, ts_t t);
void pgcopy_int(sbuf_t *b, long long v);
/* Tab between fields, newline after the last. */
#define pgcopy_sep(b) sbuf_addc((b), '\t')
#define pgcopy_end(b) sbuf_addc((b), '\n')

/*
 * Runs "COPY ... FROM STDIN" with the buffer as data. Returns 0, or -1
 * with PostgreSQL's message in *err (malloc'd).
 */
int pgcopy_run(PGconn *c, const char *sql, const sbuf_t *data, char **err)
    MUSTCHECK;

/* A text[] literal ("{"a","b"}") of v[0..n), for a query parameter; a
 * NULL element is SQL NULL. */
void pgcopy_array(sbuf_t *b, const char *const *v, size_t n);

/* Runs a command; 0, or -1 with *err. */
int pgcopy_exec(PGconn *c, const char *sql, char **err) MUSTCHECK;

#endif
