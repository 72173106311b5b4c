/*
 * Pipeline benchmark (issue "the pipeline", Performance): drives a running
 * handoffd through its `pull` endpoint and measures what reaches
 * PostgreSQL. bench/run_pipeline.sh starts the database and the daemon and
 * runs each phase against a fresh daemon; this program only measures.
 *
 *   bench_pipeline throughput -e CONTROL -p PULL -d CONNINFO [-n N]
 *       [-l LEADS] [-b BATCH] [-o ID_OFFSET] [-P PID]
 *     Makes N events (default 1,000,000 over 200,000 leads; ids from
 *     ID_OFFSET + 1) of the realistic mix (bench/mix.h) in memory, pushes
 *     them as fast as the daemon takes them, and times from the first send
 *     until the daemon's status counts all N committed; on the same
 *     database, loads the same N events with COPY into an empty copy of the
 *     events table, BATCH rows per COPY (one transaction each,
 *     synchronous_commit on), and reports both rates and their ratio. The
 *     two loads take turns, SEGMENTS (default 10) slices of the events
 *     each, so that load from elsewhere on the machine hits both alike.
 *
 *   bench_pipeline latency -e CONTROL -p PULL [-d CONNINFO] [-r RATE]
 *       [-s SECONDS] [-o ID_OFFSET] [-P PID]
 *     Offers events at a fixed RATE a second (default 5,000) for SECONDS
 *     (default 20), after a CHECKPOINT when given CONNINFO; waits until
 *     all are committed and reports the daemon's receive-to-commit latency
 *     (status.commit_latency_ms covers its last 65,536 events, so run this
 *     against a daemon that has seen nothing else).
 *
 *     With -F, then the floor: the rows the daemon left in the TABLEs
 *     (say leads,lead_identities) are read into memory and loaded again,
 *     dealt out evenly over the batches, in the same transactions as a
 *     COPY of the events into a third table, again in turns with a COPY of
 *     the events alone. No daemon that stores those rows with its events
 *     can beat that ratio ("RESULT floor_ratio=...").
 *
 * With -P, the daemon's peak resident set (VmHWM) and its CPU time over the
 * phase are reported too. The last line of each phase is "RESULT k=v ...",
 * for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <yajl/yajl_tree.h>
#include <zmq.h>

#include "handoff/client.h"
#include "handoff/util.h"
#include "mix.h"

/* A status request that goes unanswered this long fails the run. */
#define STATUS_TIMEOUT_MS 10000
/* No progress for this long while waiting for commits fails the run. */
#define STALL_MS 120000

typedef struct {
	const char *control, *pull, *conninfo;
	const char *floor;  /* -F: tables for the floor, comma-separated */
	size_t n, leads, batch, segments;
	int pid;
	double rate, seconds;
	uint64_t id_offset;
} opts_t;

/* The events of a run: raw topic and body, and the columns COPY needs. */
typedef struct {
	size_t n;
	char *bodies;       /* all bodies, back to back */
	size_t *off, *len;  /* of each body in bodies */
	const char **topic; /* interned: see intern_topic */
	char *cols;         /* "source\tid\ttype\toccurred_at\t" per event */
	size_t *coff, *clen;
	bool *escape;       /* the body has a character COPY text escapes */
	size_t bytes;
} events_t;

typedef struct {
	uint64_t accepted, duplicate, rejected, batches;
	double batch_avg, p50, p99;
} status_t;

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
die(const char *fmt, ...) PRINTFLIKE(1, 2);

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench_pipeline: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* The mix's topics, interned, so that every event can point at one. */
static const char *
intern_topic(const char *t)
{
	static char *seen[32];
	size_t i;

	for (i = 0; i < ARRAY_LEN(seen) && seen[i] != NULL; i++)
		if (strcmp(seen[i], t) == 0)
			return seen[i];
	if (i == ARRAY_LEN(seen))
		die("more than %zu topics in the mix", ARRAY_LEN(seen));
	seen[i] = xstrdup(t);
	return seen[i];
}

/* The string value of the first "key":"..." in body (the mix's envelope
 * fields come first and hold no escapes). */
static void
field(const char *body, const char *key, const char **p, size_t *n)
{
	char pat[40];
	const char *s, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	s = strstr(body, pat);
	if (s == NULL)
		die("event without %s: %s", key, body);
	s += strlen(pat);
	e = strchr(s, '"');
	if (e == NULL)
		die("unterminated %s: %s", key, body);
	*p = s;
	*n = (size_t)(e - s);
}

static void
events_make(events_t *E, size_t n, size_t leads, uint64_t id_offset)
{
	sbuf_t bodies, cols;
	char topic[64], body[4096];
	mix_t m;

	memset(E, 0, sizeof(*E));
	E->n = n;
	E->off = xcalloc(n, sizeof(size_t));
	E->len = xcalloc(n, sizeof(size_t));
	E->topic = xcalloc(n, sizeof(char *));
	E->coff = xcalloc(n, sizeof(size_t));
	E->clen = xcalloc(n, sizeof(size_t));
	E->escape = xcalloc(n, sizeof(bool));
	sbuf_init(&bodies);
	sbuf_init(&cols);
	mix_init(&m, 42, leads);
	m.n = id_offset;
	for (size_t i = 0; i < n; i++) {
		size_t len = mix_next(&m, topic, sizeof(topic), body,
		    sizeof(body));
		const char *keys[] = { "source", "id", "type", "occurred_at" };

		if (len == 0 || len >= sizeof(body))
			die("event %zu does not fit in %zu bytes", i,
			    sizeof(body));
		E->topic[i] = intern_topic(topic);
		E->off[i] = bodies.len;
		E->len[i] = len;
		sbuf_add(&bodies, body, len);
		E->bytes += len;
		E->escape[i] = strpbrk(body, "\\\t\n\r") != NULL;
		E->coff[i] = cols.len;
		for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
			const char *p;
			size_t fl;

			field(body, keys[k], &p, &fl);
			sbuf_add(&cols, p, fl);
			sbuf_addc(&cols, '\t');
		}
		E->clen[i] = cols.len - E->coff[i];
	}
	E->bodies = sbuf_take(&bodies);
	E->cols = sbuf_take(&cols);
}

static void
events_free(events_t *E)
{
	free(E->bodies);
	free(E->off);
	free(E->len);
	free(E->topic);
	free(E->cols);
	free(E->coff);
	free(E->clen);
	free(E->escape);
}

/* ---- the daemon's side ---- */

static double
jnum(yajl_val root, const char *a, const char *b)
{
	const char *path[] = { a, b, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_number);

	if (v == NULL)
		die("status reply without %s%s%s", a, b ? "." : "", b ? b : "");
	return YAJL_GET_DOUBLE(v);
}

static void
status_one(const char *control, status_t *st)
{
	client_reply_t r;
	char *err = NULL, eb[256];
	yajl_val root;

	if (client_control(control, "status", NULL, STATUS_TIMEOUT_MS, &r,
	    &err) == -1)
		die("status: %s", err);
	if (r.nframes < 1)
		die("status: empty reply");
	root = yajl_tree_parse(r.frame[0], eb, sizeof(eb));
	if (root == NULL)
		die("status: %s", eb);
	st->accepted = (uint64_t)jnum(root, "events", "accepted");
	st->duplicate = (uint64_t)jnum(root, "events", "duplicate");
	st->rejected = (uint64_t)jnum(root, "events", "rejected");
	st->batches = (uint64_t)jnum(root, "batches", NULL);
	st->batch_avg = jnum(root, "batch_avg", NULL);
	st->p50 = jnum(root, "commit_latency_ms", "p50");
	st->p99 = jnum(root, "commit_latency_ms", "p99");
	yajl_tree_free(root);
	client_reply_free(&r);
}

/*
 * The status of one daemon, or of several (controls separated by commas):
 * their counts summed, the batch mean over all, the latencies the largest.
 */
static void
status_get(const char *controls, status_t *st)
{
	char *list = xstrdup(controls), *save = NULL;
	double events = 0;

	memset(st, 0, sizeof(*st));
	for (char *c = strtok_r(list, ",", &save); c != NULL;
	    c = strtok_r(NULL, ",", &save)) {
		status_t one;

		status_one(c, &one);
		st->accepted += one.accepted;
		st->duplicate += one.duplicate;
		st->rejected += one.rejected;
		st->batches += one.batches;
		events += one.batch_avg * (double)one.batches;
		st->p50 = one.p50 > st->p50 ? one.p50 : st->p50;
		st->p99 = one.p99 > st->p99 ? one.p99 : st->p99;
	}
	st->batch_avg = st->batches > 0 ? events / (double)st->batches : 0;
	free(list);
}

/*
 * Waits until the daemon has handled target events (accepted, duplicate or
 * rejected) and returns the monotonic time it saw that. A status request
 * costs the daemon some work (quantiles over its latency ring), so it is
 * asked rarely while far from the end and often near it: the end time is
 * known to within 5 ms.
 */
static double
wait_handled(const char *control, uint64_t target, status_t *st)
{
	uint64_t last = 0;
	double last_change = now_s(), last_t = 0, rate = 0;
	bool first = true;

	for (;;) {
		uint64_t done;
		double t, sleep_s;

		status_get(control, st);
		t = now_s();
		done = st->accepted + st->duplicate + st->rejected;
		if (done >= target)
			return t;
		if (first || done != last) {
			if (!first && t > last_t && done > last)
				rate = (double)(done - last) / (t - last_t);
			first = false;
			last = done;
			last_change = last_t = t;
		} else if ((t - last_change) * 1000 > STALL_MS) {
			die("no progress for %d s at %llu of %llu events",
			    STALL_MS / 1000, (unsigned long long)done,
			    (unsigned long long)target);
		}
		sleep_s = rate > 0 ? (double)(target - done) / rate / 2 : 0.05;
		if (sleep_s > 0.25)
			sleep_s = 0.25;
		if (sleep_s < 0.005)
			sleep_s = 0.005;
		usleep((useconds_t)(sleep_s * 1e6));
	}
}

/* Peak and current resident set of a process, KiB; -1 when unreadable. */
static void
rss_kib(int pid, long *hwm, long *rss)
{
	char path[64], line[256];
	FILE *f;

	*hwm = *rss = -1;
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

/* User plus system CPU seconds of a process; -1 when unreadable. */
static double
cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15, counted after the ")" that ends the name. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy CPU seconds of the whole machine (all cores). */
static double
machine_busy_s(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
		fclose(f);
		return -1;
	}
	fclose(f);
	/* Everything but idle (3) and iowait (4). */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	    (double)sysconf(_SC_CLK_TCK);
}

static void *
push_open(void *ctx, const char *pull, int hwm)
{
	void *s = zmq_socket(ctx, ZMQ_PUSH);
	int linger = -1;

	if (s == NULL)
		die("zmq_socket: %s", zmq_strerror(errno));
	zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	/* Several endpoints: PUSH deals the events out in turn. */
	{
		char *list = xstrdup(pull), *save = NULL;

		for (char *e = strtok_r(list, ",", &save); e != NULL;
		    e = strtok_r(NULL, ",", &save))
			if (zmq_connect(s, e) == -1)
				die("connect %s: %s", e, zmq_strerror(errno));
		free(list);
	}
	return s;
}

static void
push_one(void *s, const events_t *E, size_t i)
{
	/* The events outlive the socket: no copy is needed. */
	if (zmq_send_const(s, E->topic[i], strlen(E->topic[i]),
	    ZMQ_SNDMORE) == -1 ||
	    zmq_send_const(s, E->bodies + E->off[i], E->len[i], 0) == -1)
		die("send: %s", zmq_strerror(errno));
}

/* ---- PostgreSQL ---- */

static PGresult *
sql(PGconn *c, const char *q, ExecStatusType want)
{
	PGresult *r = PQexec(c, q);

	if (PQresultStatus(r) != want)
		die("%s: %s", q, PQerrorMessage(c));
	return r;
}

static void
sql_ok(PGconn *c, const char *q)
{
	PQclear(sql(c, q, PGRES_COMMAND_OK));
}

static long long
sql_int(PGconn *c, const char *q)
{
	PGresult *r = sql(c, q, PGRES_TUPLES_OK);
	long long v;

	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
		die("%s: expected one value", q);
	v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* The pid of the database backend of the daemon started first (the one
 * -P names: run_pipeline.sh starts each daemon once the one before is
 * connected), 0 when not found. */
static int
daemon_backend(PGconn *c)
{
	PGresult *r = sql(c, "SELECT pid FROM pg_stat_activity WHERE "
	    "application_name = 'handoffd' AND datname = current_database() "
	    "ORDER BY backend_start LIMIT 1", PGRES_TUPLES_OK);
	int pid = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;

	PQclear(r);
	return pid;
}

static void
copy_escaped(sbuf_t *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '\\':
			sbuf_adds(b, "\\\\");
			break;
		case '\t':
			sbuf_adds(b, "\\t");
			break;
		case '\n':
			sbuf_adds(b, "\\n");
			break;
		case '\r':
			sbuf_adds(b, "\\r");
			break;
		default:
			sbuf_addc(b, s[i]);
		}
	}
}

/* received_at of a COPY batch: now, as PostgreSQL reads timestamptz. */
static void
now_text(char buf[64])
{
	struct timespec t;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &t);
	gmtime_r(&t.tv_sec, &tm);
	n = strftime(buf, 64, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, 64 - n, ".%06ld+00", t.tv_nsec / 1000);
}

/* An empty copy of the events table, for the COPY load; returns the pid
 * of the connection's backend. */
static int
copy_prepare(PGconn *c)
{
	sql_ok(c, "DROP TABLE IF EXISTS bench_events");
	sql_ok(c, "CREATE TABLE bench_events (LIKE events INCLUDING ALL)");
	sql_ok(c, "SET synchronous_commit = on");
	return (int)sql_int(c, "SELECT pg_backend_pid()");
}

/*
 * Loads events [from, to) into bench_events with COPY, batch rows per
 * statement, each its own transaction. Returns the seconds it took.
 */
/* Runs one COPY ... FROM STDIN of the rows in data[0, n). */
static void
copy_in(PGconn *c, const char *stmt, const char *data, size_t n)
{
	PGresult *r = PQexec(c, stmt);

	if (PQresultStatus(r) != PGRES_COPY_IN)
		die("%s: %s", stmt, PQerrorMessage(c));
	PQclear(r);
	if ((n > 0 && PQputCopyData(c, data, (int)n) != 1) ||
	    PQputCopyEnd(c, NULL) != 1)
		die("%s: data: %s", stmt, PQerrorMessage(c));
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("%s: %s", stmt, PQerrorMessage(c));
	PQclear(r);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
}

/* The COPY text rows of events [i, end), received now. */
static void
event_rows(sbuf_t *b, const events_t *E, size_t i, size_t end)
{
	char recv[64];

	now_text(recv);
	sbuf_reset(b);
	for (size_t k = i; k < end; k++) {
		sbuf_add(b, E->cols + E->coff[k], E->clen[k]);
		sbuf_adds(b, recv);
		sbuf_addc(b, '\t');
		if (E->escape[k])
			copy_escaped(b, E->bodies + E->off[k], E->len[k]);
		else
			sbuf_add(b, E->bodies + E->off[k], E->len[k]);
		sbuf_addc(b, '\n');
	}
}

/*
 * Loads events [from, to) into the table bench_events with COPY, batch
 * rows per statement, each its own transaction. Returns the seconds it
 * took.
 */
static double
copy_range(PGconn *c, const events_t *E, size_t from, size_t to,
    size_t batch)
{
	double t0 = now_s();
	sbuf_t b;

	sbuf_init(&b);
	for (size_t i = from; i < to; i += batch) {
		size_t end = i + batch < to ? i + batch : to;

		event_rows(&b, E, i, end);
		copy_in(c, "COPY bench_events (source, event_id, type, "
		    "occurred_at, received_at, body) FROM STDIN", b.s, b.len);
	}
	sbuf_free(&b);
	return now_s() - t0;
}

/*
 * The floor (-F): the rows of some state tables as the daemon left them,
 * written again with nothing else: no reads, no daemon, each row once.
 * A daemon that must store those rows in the events' transactions can go
 * no faster, so COPY of the events alone over COPY of the events with
 * these rows bounds its ratio from above.
 */
typedef struct {
	char *name;       /* the daemon's table */
	char *copy;       /* COPY bench_floor_<name> (columns) FROM STDIN */
	char *data;       /* its rows in COPY text, back to back */
	size_t *line;     /* offset of each row; line[rows] = the end */
	size_t rows;
} floor_table_t;

typedef struct {
	floor_table_t *t;
	size_t n;
	size_t batches;   /* of the whole load: rows are dealt out evenly */
} floor_t;

/* Reads table name into memory and makes its empty copy. */
static void
floor_table(PGconn *c, floor_table_t *t, const char *name)
{
	char q[512];
	PGresult *r;
	sbuf_t b, lines;
	char *cols, *row;
	size_t off;
	int n;

	if (*name == '\0' || name[strspn(name, "abcdefghijklmnopqrstuvwxyz_")]
	    != '\0')
		die("-F: '%s' is not a table name", name);
	/* Every column COPY can write: not generated, not an identity
	 * that is always generated. */
	snprintf(q, sizeof(q), "SELECT string_agg(quote_ident(attname), ', ' "
	    "ORDER BY attnum) FROM pg_attribute WHERE attrelid = "
	    "to_regclass('%s') AND attnum > 0 AND NOT attisdropped AND "
	    "attgenerated = '' AND attidentity <> 'a'", name);
	r = PQexec(c, q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
	    PQgetisnull(r, 0, 0))
		die("-F: no table %s %s", name, PQerrorMessage(c));
	cols = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	t->name = xstrdup(name);
	sbuf_init(&b);
	sbuf_printf(&b, "COPY bench_floor_%s (%s) FROM STDIN", name, cols);
	t->copy = sbuf_take(&b);

	sbuf_printf(&b, "COPY %s (%s) TO STDOUT", name, cols);
	r = PQexec(c, b.s);
	if (PQresultStatus(r) != PGRES_COPY_OUT)
		die("%s: %s", b.s, PQerrorMessage(c));
	PQclear(r);
	free(cols);
	sbuf_reset(&b);
	sbuf_init(&lines);
	while ((n = PQgetCopyData(c, &row, 0)) > 0) {
		off = b.len;
		sbuf_add(&lines, (const char *)&off, sizeof(off));
		sbuf_add(&b, row, (size_t)n);
		PQfreemem(row);
		t->rows++;
	}
	if (n != -1)
		die("COPY %s TO: %s", name, PQerrorMessage(c));
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("COPY %s TO: %s", name, PQerrorMessage(c));
	PQclear(r);
	off = b.len;
	sbuf_add(&lines, (const char *)&off, sizeof(off));
	t->data = sbuf_take(&b);
	t->line = (size_t *)(void *)sbuf_take(&lines);

	snprintf(q, sizeof(q), "DROP TABLE IF EXISTS bench_floor_%s", name);
	sql_ok(c, q);
	snprintf(q, sizeof(q), "CREATE TABLE bench_floor_%s (LIKE %s "
	    "INCLUDING ALL)", name, name);
	sql_ok(c, q);
}

static void
floor_init(PGconn *c, floor_t *F, const char *tables, size_t batches)
{
	char *list = xstrdup(tables), *save = NULL;

	memset(F, 0, sizeof(*F));
	F->batches = batches;
	sql_ok(c, "DROP TABLE IF EXISTS bench_floor_events");
	sql_ok(c, "CREATE TABLE bench_floor_events (LIKE events INCLUDING ALL)");
	for (char *s = strtok_r(list, ",", &save); s != NULL;
	    s = strtok_r(NULL, ",", &save)) {
		F->t = xrealloc(F->t, (F->n + 1) * sizeof(*F->t));
		memset(&F->t[F->n], 0, sizeof(*F->t));
		floor_table(c, &F->t[F->n++], s);
	}
	free(list);
}

static void
floor_free(floor_t *F)
{
	for (size_t i = 0; i < F->n; i++) {
		free(F->t[i].name);
		free(F->t[i].copy);
		free(F->t[i].data);
		free(F->t[i].line);
	}
	free(F->t);
}

/*
 * Like copy_range, into bench_floor_events, and each transaction also
 * copies its share of every floor table's rows: batch number k of the
 * whole load (first_batch counts those of earlier segments) takes rows
 * [k * rows / batches, (k + 1) * rows / batches).
 */
static double
floor_range(PGconn *c, const floor_t *F, const events_t *E, size_t from,
    size_t to, size_t batch, size_t first_batch)
{
	double t0 = now_s();
	size_t k = first_batch;
	sbuf_t b;

	sbuf_init(&b);
	for (size_t i = from; i < to; i += batch, k++) {
		size_t end = i + batch < to ? i + batch : to;

		sql_ok(c, "BEGIN");
		event_rows(&b, E, i, end);
		copy_in(c, "COPY bench_floor_events (source, event_id, type, "
		    "occurred_at, received_at, body) FROM STDIN", b.s, b.len);
		for (size_t j = 0; j < F->n; j++) {
			const floor_table_t *t = &F->t[j];
			size_t r0 = k * t->rows / F->batches;
			size_t r1 = (k + 1) * t->rows / F->batches;

			if (r1 > t->rows)
				r1 = t->rows;
			if (r0 < r1)
				copy_in(c, t->copy, t->data + t->line[r0],
				    t->line[r1] - t->line[r0]);
		}
		sql_ok(c, "COMMIT");
	}
	sbuf_free(&b);
	return now_s() - t0;
}

/* The floor load, in turns with a second COPY of the events alone. */
static void
floor_run(PGconn *c, const events_t *E, const opts_t *o, size_t nseg,
    size_t per)
{
	floor_t F;
	double base = 0, fl = 0;
	size_t first = 0;

	printf("floor: reading %s as handoffd left them...\n", o->floor);
	floor_init(c, &F, o->floor, 0);
	for (size_t k = 0; k < nseg; k++) {
		size_t from = k * per, to = from + per < E->n ? from + per : E->n;

		if (from >= to)
			break;
		F.batches += (to - from + o->batch - 1) / o->batch;
	}
	for (size_t j = 0; j < F.n; j++)
		printf("floor: %s, %zu rows, %.1f MB\n", F.t[j].name,
		    F.t[j].rows, (double)F.t[j].line[F.t[j].rows] / 1e6);
	sql_ok(c, "TRUNCATE bench_events");
	sql_ok(c, "CHECKPOINT");
	for (size_t k = 0; k < nseg; k++) {
		size_t from = k * per, to = from + per < E->n ? from + per : E->n;

		if (from >= to)
			break;
		base += copy_range(c, E, from, to, o->batch);
		fl += floor_range(c, &F, E, from, to, o->batch, first);
		first += (to - from + o->batch - 1) / o->batch;
	}
	printf("floor: COPY of the events alone %.3f s; with the rows of %s "
	    "%.3f s: %.0f events/s\n", base, o->floor, fl,
	    (double)E->n / fl);
	printf("RESULT floor_ratio=%.3f floor_eps=%.0f\n", base / fl,
	    (double)E->n / fl);
	floor_free(&F);
}

/* ---- phases ---- */

/* CPU seconds of the processes and of the machine over a phase. */
typedef struct {
	double daemon, backend, copy_backend, machine;
} cpu_t;

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
throughput(const opts_t *o)
{
	events_t E;
	status_t st0, st;
	PGconn *c;
	void *ctx, *push;
	double dt = 0, copy_dt = 0, tsend = 0, *segratio, mid;
	cpu_t cpu = { 0 };
	int backend, copy_backend;
	size_t nseg = o->segments, per;
	long hwm, rss;
	long long stored, copied;
	uint64_t base;

	printf("making %zu events (%zu leads)...\n", o->n, o->leads);
	fflush(stdout);
	events_make(&E, o->n, o->leads, o->id_offset);
	printf("%zu events, %.1f MB of bodies, mean %zu bytes\n", E.n,
	    (double)E.bytes / 1e6, E.bytes / E.n);
	if (nseg > E.n)
		nseg = E.n;
	per = (E.n + nseg - 1) / nseg;
	segratio = xcalloc(nseg, sizeof(double));

	c = PQconnectdb(o->conninfo);
	if (PQstatus(c) != CONNECTION_OK)
		die("connect: %s", PQerrorMessage(c));
	sql_ok(c, "SET client_min_messages = warning");
	stored = sql_int(c, "SELECT count(*) FROM events");
	backend = daemon_backend(c);
	copy_backend = copy_prepare(c);
	/* Both loads start from a checkpoint. */
	sql_ok(c, "CHECKPOINT");
	status_get(o->control, &st0);
	base = st0.accepted + st0.duplicate + st0.rejected;

	ctx = zmq_ctx_new();
	push = push_open(ctx, o->pull, (int)(per < 1000000 ? 1000000 : per));
	/* Let the connection come up, so that it is not in the timing. */
	usleep(200000);

	/*
	 * The machine is shared, and other load comes and goes: the two
	 * loads take turns, a segment of the events each, so that both see
	 * the same conditions on average.
	 */
	for (size_t k = 0; k < nseg; k++) {
		size_t from = k * per, to = from + per < E.n ? from + per : E.n;
		double t0, t1, ts, d0, b0, m0, c0, sd, sc;

		if (from >= to) {
			nseg = k; /* -k does not divide -n: no events left */
			break;
		}

		d0 = cpu_s(o->pid);
		b0 = cpu_s(backend);
		m0 = machine_busy_s();
		t0 = now_s();
		for (size_t i = from; i < to; i++)
			push_one(push, &E, i);
		ts = now_s();
		t1 = wait_handled(o->control, base + to, &st);
		sd = t1 - t0;
		dt += sd;
		tsend += ts - t0;
		cpu.daemon += cpu_s(o->pid) - d0;
		cpu.backend += cpu_s(backend) - b0;
		cpu.machine += machine_busy_s() - m0;

		c0 = cpu_s(copy_backend);
		m0 = machine_busy_s();
		sc = copy_range(c, &E, from, to, o->batch);
		copy_dt += sc;
		cpu.copy_backend += cpu_s(copy_backend) - c0;
		cpu.machine += machine_busy_s() - m0;
		segratio[k] = sc / sd;
		printf("segment %zu: %zu events, daemon %.3f s (%.0f/s), COPY "
		    "%.3f s (%.0f/s), ratio %.3f\n", k + 1, to - from, sd,
		    (double)(to - from) / sd, sc, (double)(to - from) / sc,
		    segratio[k]);
	}
	rss_kib(o->pid, &hwm, &rss);
	zmq_close(push);
	zmq_ctx_term(ctx);

	printf("daemon: %zu events committed in %.3f s: %.0f events/s "
	    "(sending took %.3f s)\n", E.n, dt, (double)E.n / dt, tsend);
	printf("daemon: %llu accepted, %llu duplicate, %llu rejected; "
	    "%llu batches, mean %.1f events; commit latency p50 %.3f ms, "
	    "p99 %.3f ms (last 65,536 events)\n",
	    (unsigned long long)(st.accepted - st0.accepted),
	    (unsigned long long)(st.duplicate - st0.duplicate),
	    (unsigned long long)(st.rejected - st0.rejected),
	    (unsigned long long)(st.batches - st0.batches), st.batch_avg,
	    st.p50, st.p99);
	if (st.accepted - st0.accepted != E.n)
		die("expected %zu accepted events; the events must be new to "
		    "this database", E.n);
	if (sql_int(c, "SELECT count(*) FROM events") != stored +
	    (long long)E.n)
		die("events table does not hold the %zu new events", E.n);
	copied = sql_int(c, "SELECT count(*) FROM bench_events");
	if (copied != (long long)E.n)
		die("bench_events holds %lld rows, not %zu", copied, E.n);
	printf("copy: %zu rows in %.3f s: %.0f rows/s (%zu per COPY)\n", E.n,
	    copy_dt, (double)E.n / copy_dt, o->batch);
	qsort(segratio, nseg, sizeof(double), cmp_double);
	mid = nseg % 2 ? segratio[nseg / 2] :
	    (segratio[nseg / 2 - 1] + segratio[nseg / 2]) / 2;
	printf("ratio daemon/COPY: %.3f (segments: min %.3f, median %.3f, "
	    "max %.3f)\n", copy_dt / dt, segratio[0], mid, segratio[nseg - 1]);
	printf("cpu per 1000 events: handoffd %.1f ms + its backend %.1f ms; "
	    "COPY backend %.1f ms; machine busy %.0f%% of %ld cores\n",
	    1e6 * cpu.daemon / (double)E.n, 1e6 * cpu.backend / (double)E.n,
	    1e6 * cpu.copy_backend / (double)E.n,
	    100 * cpu.machine / (dt + copy_dt) / sysconf(_SC_NPROCESSORS_ONLN),
	    sysconf(_SC_NPROCESSORS_ONLN));
	if (hwm >= 0)
		printf("handoffd peak RSS (VmHWM) %.1f MiB, now %.1f MiB\n",
		    hwm / 1024.0, rss / 1024.0);
	printf("RESULT daemon_eps=%.0f copy_rps=%.0f ratio=%.3f "
	    "seg_ratio_median=%.3f sat_p50_ms=%.3f sat_p99_ms=%.3f "
	    "batch_avg=%.1f rss_kib=%ld daemon_cpu_s=%.2f backend_cpu_s=%.2f "
	    "copy_cpu_s=%.2f seconds=%.3f copy_seconds=%.3f\n",
	    (double)E.n / dt, (double)E.n / copy_dt, copy_dt / dt, mid,
	    st.p50, st.p99, st.batch_avg, hwm, cpu.daemon, cpu.backend,
	    cpu.copy_backend, dt, copy_dt);
	if (o->floor != NULL)
		floor_run(c, &E, o, nseg, per);
	free(segratio);
	PQfinish(c);
	events_free(&E);
	return 0;
}

static void
sleep_until(double t)
{
	struct timespec ts;
	double d = t - now_s();

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static int
latency(const opts_t *o)
{
	size_t n = (size_t)(o->rate * o->seconds);
	events_t E;
	status_t st0, st;
	void *ctx, *push;
	double t0, dt, d0, d1;
	long hwm, rss;
	size_t late = 0, behind = (size_t)(o->rate / 100) + 1;

	events_make(&E, n, o->leads, o->id_offset);
	if (o->conninfo != NULL) {
		/* Start clean of what an earlier phase left to write. */
		PGconn *c = PQconnectdb(o->conninfo);

		if (PQstatus(c) != CONNECTION_OK)
			die("connect: %s", PQerrorMessage(c));
		sql_ok(c, "CHECKPOINT");
		PQfinish(c);
	}
	status_get(o->control, &st0);
	ctx = zmq_ctx_new();
	push = push_open(ctx, o->pull, (int)(n < 1000000 ? 1000000 : n));
	usleep(200000);
	printf("offering %zu events at %.0f/s for %.1f s...\n", n, o->rate,
	    o->seconds);
	fflush(stdout);
	d0 = cpu_s(o->pid);
	t0 = now_s();
	/* Event i is due at t0 + i / rate; each wake-up sends what is due. */
	for (size_t i = 0; i < n;) {
		double t = now_s();
		size_t due = (size_t)((t - t0) * o->rate) + 1;

		if (due > n)
			due = n;
		if (due > i + behind)
			late++;
		while (i < due)
			push_one(push, &E, i++);
		if (i < n)
			sleep_until(t0 + (double)i / o->rate);
	}
	dt = now_s() - t0;
	wait_handled(o->control, st0.accepted + st0.duplicate + st0.rejected +
	    n, &st);
	d1 = cpu_s(o->pid);
	rss_kib(o->pid, &hwm, &rss);
	zmq_close(push);
	zmq_ctx_term(ctx);
	if (st.accepted - st0.accepted != n)
		die("expected %zu accepted events, got %llu", n,
		    (unsigned long long)(st.accepted - st0.accepted));
	printf("offered %zu events in %.3f s: %.0f/s (%zu wake-ups more than "
	    "10 ms late)\n", n, dt, (double)n / dt, late);
	printf("daemon: %llu batches, mean %.1f events; receive-to-commit "
	    "latency over the last %zu events: p50 %.3f ms, p99 %.3f ms\n",
	    (unsigned long long)(st.batches - st0.batches), st.batch_avg,
	    n < 65536 ? n : (size_t)65536, st.p50, st.p99);
	if (d0 >= 0)
		printf("cpu: handoffd %.2f s (%.1f%% of one core)\n", d1 - d0,
		    100 * (d1 - d0) / dt);
	if (hwm >= 0)
		printf("handoffd peak RSS (VmHWM) %.1f MiB, now %.1f MiB\n",
		    hwm / 1024.0, rss / 1024.0);
	printf("RESULT offered_eps=%.0f p50_ms=%.3f p99_ms=%.3f batch_avg=%.1f "
	    "rss_kib=%ld\n", (double)n / dt, st.p50, st.p99, st.batch_avg, hwm);
	events_free(&E);
	return 0;
}

static void
usage(FILE *f)
{
	fputs("usage: bench_pipeline throughput -e CONTROL -p PULL -d CONNINFO "
	    "[-n N] [-l LEADS] [-b BATCH] [-k SEGMENTS] [-o ID_OFFSET] "
	    "[-P PID] [-F TABLE,...]\n"
	    "       bench_pipeline latency -e CONTROL -p PULL [-d CONNINFO] "
	    "[-r RATE] [-s SECONDS] [-l LEADS] [-o ID_OFFSET] [-P PID]\n", f);
}

int
main(int argc, char **argv)
{
	opts_t o = { .n = 1000000, .leads = 200000, .batch = 1000,
		.segments = 10, .rate = 5000, .seconds = 20 };
	const char *phase;
	int ch;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	phase = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "e:p:d:n:l:b:k:o:P:r:s:F:h")) != -1) {
		switch (ch) {
		case 'e':
			o.control = optarg;
			break;
		case 'p':
			o.pull = optarg;
			break;
		case 'd':
			o.conninfo = optarg;
			break;
		case 'n':
			o.n = strtoul(optarg, NULL, 10);
			break;
		case 'l':
			o.leads = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			o.batch = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			o.segments = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			o.id_offset = strtoull(optarg, NULL, 10);
			break;
		case 'P':
			o.pid = atoi(optarg);
			break;
		case 'r':
			o.rate = strtod(optarg, NULL);
			break;
		case 's':
			o.seconds = strtod(optarg, NULL);
			break;
		case 'F':
			o.floor = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || o.control == NULL || o.pull == NULL ||
	    o.n == 0 || o.leads == 0 || o.batch == 0 || o.segments == 0 ||
	    o.rate <= 0 || o.seconds <= 0) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(phase, "throughput") == 0) {
		if (o.conninfo == NULL) {
			usage(stderr);
			return 2;
		}
		return throughput(&o);
	}
	if (strcmp(phase, "latency") == 0)
		return latency(&o);
	usage(stderr);
	return 2;
}
