/*
 * The batch transaction. Events are written with COPY straight into the
 * events table, as the transaction's first statement: in the common case,
 * where no event of the batch was seen before, that is as fast as
 * PostgreSQL can load rows. When the COPY hits the (source, event_id)
 * unique constraint (a producer resent after a crash or a lost reply), the
 * transaction is rolled back (it held nothing else yet) and a new one takes
 * the batch through a temporary staging table and INSERT ... ON CONFLICT
 * DO NOTHING, which tells accepted from duplicate row by row. Duplicates
 * inside one batch never reach the database (batch.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/codec.h"
#include "handoff/log.h"
#include "handoff/pgcopy.h"
#include "handoff/store.h"

/* Rejected messages kept (the oldest beyond this are deleted). */
#define STORE_REJECTED_KEEP_STR "100000"

struct store {
	char *conninfo;
	PGconn *conn;
	char *error;
	store_hook_t hook;
	void *hook_arg;
	const char *const *endpoints; /* by ingest index, for rejections */
	const char *session_sql;      /* run on each new connection */
	sbuf_t copybuf;
	sbuf_t markbuf[2];	/* mark_published's arrays */
	uint8_t *fresh; /* scratch: per item, inserted by this batch */
	size_t freshcap;
};

static void
set_error(store_t *s, const char *what, PGconn *c, const PGresult *r)
{
	const char *msg = r != NULL ? PQresultErrorMessage(r) : "";

	if (msg == NULL || *msg == '\0')
		msg = c != NULL ? PQerrorMessage(c) : "unknown error";
	free(s->error);
	s->error = xasprintf("%s: %s", what, msg);
	/* libpq messages end in a newline; logs add their own. */
	{
		size_t n = strlen(s->error);

		while (n > 0 && (s->error[n - 1] == '\n' || s->error[n - 1] == ' '))
			s->error[--n] = '\0';
	}
}

store_t *
store_new(const char *conninfo)
{
	store_t *s = xcalloc(1, sizeof(*s));

	s->conninfo = xstrdup(conninfo);
	sbuf_init(&s->copybuf);
	sbuf_init(&s->markbuf[0]);
	sbuf_init(&s->markbuf[1]);
	return s;
}

void
store_destroy(store_t **sp)
{
	store_t *s;

	if (sp == NULL || *sp == NULL)
		return;
	s = *sp;
	store_disconnect(s);
	free(s->conninfo);
	free(s->error);
	free(s->fresh);
	sbuf_free(&s->copybuf);
	sbuf_free(&s->markbuf[0]);
	sbuf_free(&s->markbuf[1]);
	free(s);
	*sp = NULL;
}

void
store_set_hook(store_t *s, store_hook_t hook, void *arg)
{
	s->hook = hook;
	s->hook_arg = arg;
}

bool
store_connected(const store_t *s)
{
	return s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK;
}

const char *
store_error(const store_t *s)
{
	return s->error != NULL ? s->error : "no error";
}

PGconn *
store_conn(store_t *s)
{
	return s->conn;
}

void
store_disconnect(store_t *s)
{
	if (s->conn != NULL)
		PQfinish(s->conn);
	s->conn = NULL;
}

static int
exec_ok(store_t *s, const char *sql)
{
	PGresult *r = PQexec(s->conn, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		set_error(s, sql, s->conn, r);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

static void
notice(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == ' '))
		n--;
	log_info("database: %.*s", (int)n, message);
}

int
store_connect(store_t *s)
{
	/*
	 * Defaults first, the operator's string last: with expand_dbname,
	 * later settings win, so anything in the conninfo overrides these.
	 * A PG* variable the operator set wins over our default too.
	 */
	const char *kw[9], *val[9];
	int n = 0;

	store_disconnect(s);
	if (getenv("PGCONNECT_TIMEOUT") == NULL) {
		kw[n] = "connect_timeout";
		val[n++] = "5";
	}
	kw[n] = "keepalives";
	val[n++] = "1";
	kw[n] = "keepalives_idle";
	val[n++] = "30";
	kw[n] = "keepalives_interval";
	val[n++] = "10";
	kw[n] = "keepalives_count";
	val[n++] = "3";
	/*
	 * Keepalives probe an idle connection only: a batch whose COPY data
	 * or query the server never acknowledges (it vanished mid-send)
	 * would wait for TCP's retransmissions to give up, some fifteen
	 * minutes. 60 s of unacknowledged data closes the connection.
	 */
	kw[n] = "tcp_user_timeout";
	val[n++] = "60000";
	if (getenv("PGAPPNAME") == NULL) {
		kw[n] = "application_name";
		val[n++] = "handoffd";
	}
	kw[n] = "dbname";
	val[n++] = s->conninfo;
	kw[n] = NULL;
	val[n] = NULL;

	s->conn = PQconnectdbParams(kw, val, 1);
	/* Server notices go to our log, not raw to standard error. */
	PQsetNoticeProcessor(s->conn, notice, NULL);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		set_error(s, "connect", s->conn, NULL);
		store_disconnect(s);
		return -1;
	}
	/*
	 * No parallel query and no JIT: each statement of a batch touches
	 * the batch's rows through an index, and the planner picks a
	 * parallel plan or compiles a statement only when it overestimates
	 * its cost (statistics of tables that grew since the last ANALYZE,
	 * or none yet); starting the workers or compiling then costs far
	 * more than running the statement, more so on a busy machine.
	 *
	 * No sequential scan either, where an index can do: with such
	 * statistics, or on a table that is still small for the planner's
	 * cost model (which prices every page read as if from disk), reading
	 * a whole table looks cheaper than probing an index for a batch's
	 * rows, and every batch then costs in proportion to all that is
	 * stored (SPEC 6.5 requires the due clocks to cost in proportion to
	 * the due ones). The temporary tables, which have no index, are
	 * still read whole.
	 */
	if (exec_ok(s, "SET client_encoding = 'UTF8'; "
	    "SET TIME ZONE 'UTC'; "
	    "SET max_parallel_workers_per_gather = 0; "
	    "SET jit = off; "
	    "SET enable_seqscan = off; "
	    "CREATE TEMP TABLE IF NOT EXISTS handoff_stage ("
	    " ord integer, source text, event_id text, type text,"
	    " occurred_at timestamptz, received_at timestamptz, body json)"
	    " ON COMMIT DELETE ROWS") == -1) {
		store_disconnect(s);
		return -1;
	}
	return 0;
}

int
store_prepare_session(store_t *s)
{
	if (s->session_sql != NULL && exec_ok(s, s->session_sql) == -1) {
		store_disconnect(s);
		return -1;
	}
	return 0;
}

/* At most max bytes of s, cut on a UTF-8 character boundary. */
static void
copy_bounded(sbuf_t *b, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	pgcopy_text(b, s, n);
}

/* Unlike pgcopy_ts, never NULL: an event's times are required, and the
 * epoch itself is a valid one. */
static void
copy_ts(sbuf_t *b, ts_t t)
{
	char buf[TS_BUFLEN];

	sbuf_add(b, buf, ts_format(t, buf));
}

static void
copy_bytea(sbuf_t *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	/* "\\x" in COPY text is the bytea hex prefix \x. */
	sbuf_adds(b, "\\\\x");
	for (size_t i = 0; i < n; i++) {
		sbuf_addc(b, hex[(unsigned char)p[i] >> 4]);
		sbuf_addc(b, hex[(unsigned char)p[i] & 15]);
	}
}

/* Sends the buffer as the data of a COPY already started, and ends it. */
static PGresult *
copy_run(store_t *s, const char *sql)
{
	PGresult *r = PQexec(s->conn, sql);

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		set_error(s, sql, s->conn, r);
		return r;
	}
	PQclear(r);
	if (PQputCopyData(s->conn, s->copybuf.s, (int)s->copybuf.len) != 1 ||
	    PQputCopyEnd(s->conn, NULL) != 1) {
		set_error(s, sql, s->conn, NULL);
		return PQgetResult(s->conn);
	}
	r = PQgetResult(s->conn);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		set_error(s, sql, s->conn, r);
	/* Drain to the end of this command. */
	{
		PGresult *extra;

		while ((extra = PQgetResult(s->conn)) != NULL)
			PQclear(extra);
	}
	return r;
}

static bool
is_unique_violation(const PGresult *r)
{
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	return st != NULL && strcmp(st, "23505") == 0;
}

static void
event_row(sbuf_t *b, const batch_item_t *it, int ord)
{
	const event_t *ev = &it->ev;

	if (ord >= 0)
		sbuf_printf(b, "%d\t", ord);
	pgcopy_str(b, ev->source);
	sbuf_addc(b, '\t');
	pgcopy_str(b, ev->id);
	sbuf_addc(b, '\t');
	sbuf_adds(b, ev_type_name(ev->type));
	sbuf_addc(b, '\t');
	copy_ts(b, ev->occurred_at);
	sbuf_addc(b, '\t');
	copy_ts(b, it->received_at);
	sbuf_addc(b, '\t');
	pgcopy_text(b, ev->raw, ev->raw_len);
	sbuf_addc(b, '\n');
}

/*
 * Several daemons may share the database (SPEC §5). Their batches take
 * turns: each transaction begins by taking this advisory lock, held until
 * it commits or rolls back. A batch reads the state of its leads, folds
 * them and writes them back; two at once could each create a lead for
 * one new person, or write back a lead over the other's change. With the
 * lock, a second instance adds availability, not throughput. The key is
 * the ASCII bytes "handoffb" (handoff, batch) read as a big-endian 64-bit
 * integer, 0x68616e646f666662: pg_locks shows locktype advisory, classid
 * 1751215716, objid 1868981858, objsubid 1 (migrations use "handoffm").
 */
#define BATCH_LOCK_KEY "7521414230330205794"
#define BEGIN_BATCH "BEGIN; SELECT pg_advisory_xact_lock(" BATCH_LOCK_KEY ")"

/*
 * Begins the batch's transaction and stores its events; sets fresh[i] for
 * the items it inserted. Returns 0 or -1 (transaction aborted).
 */
static int
store_events(store_t *s, batch_t *b)
{
	PGresult *r;
	size_t ncand = 0;

	for (size_t i = 0; i < b->n; i++)
		s->fresh[i] = 0;
	sbuf_reset(&s->copybuf);
	for (size_t i = 0; i < b->n; i++) {
		if (b->items[i].state == ITEM_DUPLICATE)
			continue;
		event_row(&s->copybuf, &b->items[i], -1);
		ncand++;
	}
	if (ncand == 0)
		return exec_ok(s, BEGIN_BATCH);

	/*
	 * BEGIN and the lock travel with the COPY, one round trip for all
	 * three. No savepoint: the COPY is the first write, so a unique
	 * violation costs only this transaction, and the next one sorts the
	 * batch out.
	 */
	r = copy_run(s, BEGIN_BATCH "; COPY events (source, event_id, type, "
	    "occurred_at, received_at, body) FROM STDIN");
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		for (size_t i = 0; i < b->n; i++)
			s->fresh[i] = b->items[i].state != ITEM_DUPLICATE;
		return 0;
	}
	if (!is_unique_violation(r)) {
		PQclear(r);
		return -1;
	}
	PQclear(r);

	/* Some event was stored before: sort them out one by one. */
	if (exec_ok(s, "ROLLBACK; " BEGIN_BATCH) == -1)
		return -1;
	sbuf_reset(&s->copybuf);
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].state != ITEM_DUPLICATE)
			event_row(&s->copybuf, &b->items[i], (int)i);
	r = copy_run(s, "COPY handoff_stage (ord, source, event_id, type, "
	    "occurred_at, received_at, body) FROM STDIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		return -1;
	}
	PQclear(r);
	r = PQexec(s->conn,
	    "WITH ins AS (INSERT INTO events (source, event_id, type, "
	    "occurred_at, received_at, body) SELECT source, event_id, type, "
	    "occurred_at, received_at, body FROM handoff_stage ORDER BY ord "
	    "ON CONFLICT (source, event_id) DO NOTHING "
	    "RETURNING source, event_id) "
	    "SELECT st.ord FROM handoff_stage st JOIN ins "
	    "USING (source, event_id)");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_error(s, "insert events", s->conn, r);
		PQclear(r);
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++) {
		long ord = strtol(PQgetvalue(r, row, 0), NULL, 10);

		if (ord >= 0 && (size_t)ord < b->n)
			s->fresh[ord] = 1;
	}
	PQclear(r);
	return exec_ok(s, "TRUNCATE handoff_stage");
}

static int
store_rejected(store_t *s, batch_t *b, const char *const *endpoints)
{
	PGresult *r;
	int rc;

	if (b->nrej == 0)
		return 0;
	sbuf_reset(&s->copybuf);
	for (size_t i = 0; i < b->nrej; i++) {
		const batch_rej_t *j = &b->rej[i];

		copy_ts(&s->copybuf, j->received_at);
		sbuf_addc(&s->copybuf, '\t');
		copy_bounded(&s->copybuf, endpoints[j->ingest], 1024);
		sbuf_addc(&s->copybuf, '\t');
		pgcopy_str(&s->copybuf, j->topic);
		sbuf_addc(&s->copybuf, '\t');
		pgcopy_str(&s->copybuf, j->reason);
		sbuf_addc(&s->copybuf, '\t');
		pgcopy_str(&s->copybuf, j->source);
		sbuf_addc(&s->copybuf, '\t');
		pgcopy_str(&s->copybuf, j->id);
		sbuf_addc(&s->copybuf, '\t');
		copy_bytea(&s->copybuf, j->raw, j->raw_len);
		sbuf_printf(&s->copybuf, "\t%zu\n", j->orig_len);
	}
	r = copy_run(s, "COPY rejected_messages (received_at, endpoint, topic, "
	    "reason, source, event_id, raw, raw_len) FROM STDIN");
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	PQclear(r);
	if (rc == -1)
		return -1;
	/*
	 * The table is bounded: the newest STORE_REJECTED_KEEP rows stay. The
	 * primary key grows with time, so this is one index range delete.
	 */
	return exec_ok(s, "DELETE FROM rejected_messages WHERE id <= "
	    "(SELECT max(id) FROM rejected_messages) - "
	    STORE_REJECTED_KEEP_STR);
}

/*
 * Numbers the pending messages (the UPDATE of outbox_seq serialises
 * committing batches, so numbers are gapless and follow commit order),
 * encodes and stores them. Encoded bodies go to *enc for the ready list.
 */
static int
store_outbox(store_t *s, outbox_t *o, ts_t now, char ***enc, size_t **lens,
    int64_t *first)
{
	PGresult *r;
	char sql[128];
	int64_t last;
	size_t n = o->npending;

	*enc = NULL;
	*lens = NULL;
	if (n == 0)
		return 0;
	snprintf(sql, sizeof(sql), "UPDATE outbox_seq SET last_seq = "
	    "last_seq + %zu RETURNING last_seq", n);
	r = PQexec(s->conn, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			free(s->error);
			s->error = xstrdup("outbox_seq: the table has no row");
		} else {
			set_error(s, "outbox_seq", s->conn, r);
		}
		PQclear(r);
		return -1;
	}
	last = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	*first = last - (int64_t)n + 1;
	*enc = xcalloc(n, sizeof(char *));
	*lens = xcalloc(n, sizeof(size_t));
	sbuf_reset(&s->copybuf);
	for (size_t i = 0; i < n; i++) {
		int64_t seq = *first + (int64_t)i;

		(*enc)[i] = codec_encode(o->pending[i], seq, now, &(*lens)[i]);
		sbuf_printf(&s->copybuf, "%lld\t%s\t", (long long)seq,
		    out_type_name(o->pending[i]->type));
		pgcopy_text(&s->copybuf, (*enc)[i], (*lens)[i]);
		sbuf_addc(&s->copybuf, '\n');
	}
	r = copy_run(s, "COPY outbox (seq, type, body) FROM STDIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

/*
 * Rewrites outbox_published with the ranges that touch or overlap merged,
 * when it has more than one row. Run under the batches' lock.
 */
#define MERGE_PUBLISHED "WITH n AS (SELECT count(*) AS rows FROM " \
	"outbox_published), s AS (SELECT lo, hi, lo > coalesce(max(hi) OVER " \
	"(ORDER BY lo, hi ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), " \
	"-1) AS starts FROM outbox_published), g AS (SELECT lo, hi, " \
	"count(*) FILTER (WHERE starts) OVER (ORDER BY lo, hi) AS grp " \
	"FROM s), d AS (DELETE FROM outbox_published WHERE " \
	"(SELECT rows FROM n) > 1) INSERT INTO outbox_published (lo, hi) " \
	"SELECT min(lo), max(hi) FROM g WHERE (SELECT rows FROM n) > 1 " \
	"GROUP BY grp"

/*
 * Records what this process published (outbox_published, sql/009): each
 * range extends the row that ends where it starts, or becomes a row of its
 * own. Only the seqs published here are recorded, never those another
 * daemon committed in between (SPEC section 5).
 */
static int
mark_published(store_t *s, outbox_t *o)
{
	const char *p[2];
	PGresult *r;
	long long touching;

	if (o->npub == 0)
		return 0;
	sbuf_reset(&s->markbuf[0]);
	sbuf_reset(&s->markbuf[1]);
	sbuf_addc(&s->markbuf[0], '{');
	sbuf_addc(&s->markbuf[1], '{');
	for (size_t i = 0; i < o->npub; i++) {
		sbuf_printf(&s->markbuf[0], "%s%lld", i ? "," : "",
		    (long long)o->pub[i].lo);
		sbuf_printf(&s->markbuf[1], "%s%lld", i ? "," : "",
		    (long long)o->pub[i].hi);
	}
	sbuf_addc(&s->markbuf[0], '}');
	sbuf_addc(&s->markbuf[1], '}');
	p[0] = s->markbuf[0].s;
	p[1] = s->markbuf[1].s;
	/*
	 * It returns how many of the ranges end where a row starts: those
	 * touch their right neighbour now (their left one they extended).
	 */
	r = PQexecParams(s->conn, "WITH r(lo, hi) AS (SELECT * FROM "
	    "unnest($1::bigint[], $2::bigint[])), u AS (UPDATE "
	    "outbox_published p SET hi = r.hi FROM r WHERE p.hi = r.lo "
	    "RETURNING r.lo), i AS (INSERT INTO outbox_published (lo, hi) "
	    "SELECT lo, hi FROM r WHERE lo NOT IN (SELECT lo FROM u)) "
	    "SELECT count(*) FROM r JOIN outbox_published p ON p.lo = r.hi",
	    2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_error(s, "record the published messages", s->conn, r);
		PQclear(r);
		return -1;
	}
	touching = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	/*
	 * Daemons taking turns record out of order (a range whose left
	 * neighbour is not recorded yet becomes a row of its own): merge what
	 * touches now, so that the table stays a few rows long.
	 */
	return touching > 0 ? exec_ok(s, MERGE_PUBLISHED) : 0;
}

static void
rollback(store_t *s)
{
	if (store_connected(s)) {
		PGresult *r = PQexec(s->conn, "ROLLBACK");

		PQclear(r);
	}
}

void
store_set_session_sql(store_t *s, const char *sql)
{
	s->session_sql = sql;
}

void
store_set_endpoints(store_t *s, const char *const *endpoints)
{
	s->endpoints = endpoints;
}

int
store_commit(store_t *s, batch_t *b, outbox_t *o, ts_t now)
{
	const batch_item_t **acc = NULL;
	char **enc = NULL;
	size_t *lens = NULL, nacc = 0, npend;
	int64_t first = 0;

	if (!store_connected(s)) {
		free(s->error);
		s->error = xstrdup("not connected");
		return -1;
	}
	if (b->n > s->freshcap) {
		s->freshcap = b->n * 2;
		s->fresh = xrealloc(s->fresh, s->freshcap);
	}
	/* store_events begins the transaction: nothing may come before it. */
	if (store_events(s, b) == -1)
		goto fail;
	if (store_rejected(s, b, s->endpoints) == -1)
		goto fail;
	if (s->hook != NULL) {
		acc = xcalloc(b->n ? b->n : 1, sizeof(*acc));
		for (size_t i = 0; i < b->n; i++)
			if (s->fresh[i])
				acc[nacc++] = &b->items[i];
		if (s->hook(s->hook_arg, s->conn, b, acc, nacc, o) == -1) {
			free(s->error);
			s->error = xstrdup("applying the batch failed");
			goto fail;
		}
	}
	if (mark_published(s, o) == -1)
		goto fail;
	npend = o->npending;
	if (store_outbox(s, o, now, &enc, &lens, &first) == -1)
		goto fail;
	if (exec_ok(s, "COMMIT") == -1)
		goto fail;

	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].state != ITEM_DUPLICATE)
			b->items[i].state = s->fresh[i] ? ITEM_ACCEPTED :
			    ITEM_DUPLICATE;
	o->npub = 0;	/* recorded */
	for (size_t i = 0; i < npend; i++)
		outbox_ready(o, first + (int64_t)i,
		    xstrdup(out_type_name(o->pending[i]->type)), enc[i], lens[i]);
	outbox_discard_pending(o);
	free(enc);
	free(lens);
	free(acc);
	return 0;
fail:
	rollback(s);
	if (enc != NULL)
		for (size_t i = 0; i < o->npending; i++)
			free(enc[i]);
	free(enc);
	free(lens);
	free(acc);
	outbox_discard_pending(o);
	return -1;
}

/*
 * Merges the ranges of outbox_published that touch (left so by a daemon
 * that died, or by an older one), under the batches' lock.
 */
static int
merge_published(store_t *s)
{
	if (exec_ok(s, BEGIN_BATCH "; " MERGE_PUBLISHED "; COMMIT") == -1) {
		rollback(s);
		return -1;
	}
	return 0;
}

int
store_load_outbox(store_t *s, outbox_t *o)
{
	PGresult *r;
	int64_t last;

	if (merge_published(s) == -1 || store_last_seq(s, &last) == -1)
		return -1;
	o->last_seq = last;
	{
		char since[24];
		const char *params[1] = { since };

		/*
		 * The rows no range covers: those of the gaps between the
		 * ranges (a, b], each read by key (OFFSET 0 keeps the planner
		 * from flattening that into one scan of the whole outbox), so
		 * that an old gap left by a dead daemon costs its own rows,
		 * not all since. After a reconnect, what this process
		 * published stays out: the next batch records it.
		 */
		snprintf(since, sizeof(since), "%lld",
		    (long long)o->last_published);
		r = PQexecParams(s->conn, "WITH r AS (SELECT max(hi) OVER "
		    "(ORDER BY lo, hi) AS top, lead(lo) OVER (ORDER BY lo, hi) "
		    "AS nxt FROM outbox_published), g(a, b) AS ("
		    "SELECT top, coalesce(nxt, 9223372036854775807) FROM r "
		    "WHERE nxt IS NULL OR nxt > top "
		    "UNION ALL SELECT 0, min(lo) FROM outbox_published "
		    "HAVING min(lo) > 0 "
		    "UNION ALL SELECT 0, 9223372036854775807 WHERE NOT EXISTS "
		    "(SELECT FROM outbox_published)) "
		    "SELECT o.seq, o.type, o.body FROM g CROSS JOIN LATERAL "
		    "(SELECT * FROM outbox WHERE seq > g.a AND seq <= g.b "
		    "AND seq > $1::bigint OFFSET 0) o WHERE NOT EXISTS (SELECT FROM "
		    "outbox_published p WHERE o.seq > p.lo AND o.seq <= p.hi) "
		    "ORDER BY o.seq", 1,
		    NULL, params, NULL, NULL, 0);
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_error(s, "load outbox", s->conn, r);
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++)
		outbox_ready(o, strtoll(PQgetvalue(r, i, 0), NULL, 10),
		    xstrdup(PQgetvalue(r, i, 1)), xstrdup(PQgetvalue(r, i, 2)),
		    (size_t)PQgetlength(r, i, 2));
	/*
	 * At start, what is not in the list went out before: once the list
	 * has, everything recorded has (o->resume).
	 */
	if (o->last_published == 0 && PQntuples(r) == 0) {
		o->last_published = last;
	} else if (o->last_published == 0) {
		o->last_published = strtoll(PQgetvalue(r, 0, 0), NULL, 10) - 1;
		PQclear(r);
		r = PQexec(s->conn, "SELECT coalesce(max(hi), 0) FROM "
		    "outbox_published");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			set_error(s, "load outbox", s->conn, r);
			PQclear(r);
			return -1;
		}
		o->resume = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		if (o->resume > last)
			o->resume = last;
	}
	PQclear(r);
	return 0;
}

int
store_mark_published(store_t *s, outbox_t *o, bool wait)
{
	PGresult *r;
	bool locked;

	if (!store_connected(s) || o->npub == 0)
		return 0;
	/*
	 * Under the batches' lock, like every other record, so that it sees
	 * the last committed range and extends it (and a merge at another
	 * daemon's connect never races it). Unless told to wait, leave them
	 * to the next batch or heartbeat when another daemon holds the lock
	 * for a batch.
	 */
	r = PQexec(s->conn, wait ? "BEGIN; SELECT true FROM "
	    "pg_advisory_xact_lock(" BATCH_LOCK_KEY ")" :
	    "BEGIN; SELECT pg_try_advisory_xact_lock(" BATCH_LOCK_KEY ")");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_error(s, "record the published messages", s->conn, r);
		PQclear(r);
		rollback(s);
		return -1;
	}
	locked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!locked) {
		rollback(s);
		return 0;
	}
	if (mark_published(s, o) == -1 || exec_ok(s, "COMMIT") == -1) {
		rollback(s);
		return -1;
	}
	o->npub = 0;
	return 0;
}

int
store_last_seq(store_t *s, int64_t *last_seq)
{
	PGresult *r = PQexec(s->conn, "SELECT last_seq FROM outbox_seq");

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		set_error(s, "read outbox_seq", s->conn, r);
		PQclear(r);
		return -1;
	}
	*last_seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int
store_open_cycles(store_t *s,
    void (*fn)(void *arg, const char *clock, int64_t n), void *arg)
{
	/* The predicate is the one of sla_cycles_open_idx (003_sla.sql). */
	PGresult *r = PQexec(s->conn, "SELECT clock, count(*) FROM sla_cycles "
	    "WHERE state IN ('running', 'paused', 'breached') "
	    "AND stopped_at IS NULL GROUP BY clock ORDER BY clock");

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQnfields(r) != 2) {
		set_error(s, "count open SLA cycles", s->conn, r);
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++)
		fn(arg, PQgetvalue(r, i, 0), strtoll(PQgetvalue(r, i, 1),
		    NULL, 10));
	PQclear(r);
	return 0;
}

int
store_replay(store_t *s, int64_t since, int64_t limit,
    void (*fn)(void *arg, const char *body, size_t len), void *arg,
    int64_t *last_seq)
{
	char a[24], l[24];
	const char *params[2] = { a, l };
	PGresult *r;

	snprintf(a, sizeof(a), "%lld", (long long)since);
	snprintf(l, sizeof(l), "%lld", (long long)limit);
	/* One snapshot for the rows and last_seq: they agree. */
	if (exec_ok(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") == -1)
		return -1;
	r = PQexecParams(s->conn, "SELECT body FROM outbox WHERE seq > $1 "
	    "ORDER BY seq LIMIT $2", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_error(s, "replay", s->conn, r);
		PQclear(r);
		rollback(s);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++)
		fn(arg, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
	PQclear(r);
	if (store_last_seq(s, last_seq) == -1) {
		rollback(s);
		return -1;
	}
	return exec_ok(s, "COMMIT");
}
