/*
 * COPY text format: fields separated by tabs, rows by newlines, NULL as
 * \N, and backslash, tab, newline and carriage return escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/pgcopy.h"

void
pgcopy_text(sbuf_t *b, const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		const char *esc;

		switch (s[i]) {
		case '\\':
			esc = "\\\\";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		default:
			continue;
		}
		sbuf_add(b, s + start, i - start);
		sbuf_adds(b, esc);
		start = i + 1;
	}
	sbuf_add(b, s + start, n - start);
}

void
pgcopy_str(sbuf_t *b, const char *s)
{
	if (s == NULL)
		sbuf_adds(b, "\\N");
	else
		pgcopy_text(b, s, strlen(s));
}

void
pgcopy_ts(sbuf_t *b, ts_t t)
{
	char buf[TS_BUFLEN];

	if (t == 0)
		sbuf_adds(b, "\\N");
	else
		sbuf_add(b, buf, ts_format(t, buf));
}

void
pgcopy_int(sbuf_t *b, long long v)
{
	sbuf_printf(b, "%lld", v);
}

static char *
pg_error(PGconn *c, const PGresult *r, const char *what)
{
	const char *m = r != NULL ? PQresultErrorMessage(r) : NULL;
	char *s;
	size_t n;

	if (m == NULL || *m == '\0')
		m = PQerrorMessage(c);
	s = xasprintf("%s: %s", what, m);
	n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

int
pgcopy_run(PGconn *c, const char *sql, const sbuf_t *data, char **err)
{
	PGresult *r = PQexec(c, sql), *extra;
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		*err = pg_error(c, r, sql);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if ((data->len > 0 && PQputCopyData(c, data->s, (int)data->len) != 1) ||
	    PQputCopyEnd(c, NULL) != 1) {
		*err = pg_error(c, NULL, sql);
		rc = -1;
	}
	r = PQgetResult(c);
	if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = pg_error(c, r, sql);
		rc = -1;
	}
	PQclear(r);
	while ((extra = PQgetResult(c)) != NULL)
		PQclear(extra);
	return rc;
}

void
pgcopy_array(sbuf_t *b, const char *const *v, size_t n)
{
	sbuf_addc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sbuf_addc(b, ',');
		if (v[i] == NULL) {
			sbuf_adds(b, "NULL");
			continue;
		}
		sbuf_addc(b, '"');
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				sbuf_addc(b, '\\');
			sbuf_addc(b, *p);
		}
		sbuf_addc(b, '"');
	}
	sbuf_addc(b, '}');
}

int
pgcopy_exec(PGconn *c, const char *sql, char **err)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		*err = pg_error(c, r, sql);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}
