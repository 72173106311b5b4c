/*
 * The reconciled lead for the control command `lead` (SPEC §2.5). One
 * query finds the lead by its selector and builds the whole reply in the
 * server with json_build_object and json_agg: the lead row, its deals and
 * its stage history come back as one JSON text, with no per-deal or
 * per-stage round trip.
 *
 * The query also counts the leads the selector names, so that an email
 * remembered with two leads is reported as such (with their keys) instead
 * of one of them being shown as if it were the answer.
 *
 * Times are formatted in SQL the way ts_format formats them in C, so that
 * the reply agrees with the published messages: RFC 3339 UTC, whole seconds
 * without a fraction, anything else with six fractional digits.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/leadview.h"

/* RFC 3339 UTC text of the timestamptz expression x, NULL when x is. */
#define TS(x)								\
	"(to_char((" x ") AT TIME ZONE 'UTC', "				\
	"'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', " \
	x ") = (" x ") THEN '' ELSE to_char((" x ") AT TIME ZONE 'UTC', " \
	"'.US') END || 'Z')"

/* The funnel order of a stage name, for ties between equal times. */
#define RANK(x)								\
	"array_position(ARRAY['lead', 'mql', 'sal', 'sql', 'won', 'lost', " \
	"'recycled', 'disqualified'], " x ")"

/*
 * leads.stages maps a stage to the time it was entered: microseconds since
 * the epoch as a JSON number, or an RFC 3339 string. Both are read; the
 * integer is split so that no microsecond is lost to floating point.
 */
#define STAGE_TIME(v)							\
	"CASE jsonb_typeof(" v ") WHEN 'number' THEN "			\
	"to_timestamp((" v " #>> '{}')::bigint / 1000000) + "		\
	"((" v " #>> '{}')::bigint % 1000000) * interval '1 microsecond' " \
	"ELSE (" v " #>> '{}')::timestamptz END"

#define LEAD_JSON							\
	"json_build_object("						\
	"'lead_key', h.lead_key, "					\
	"'source', h.source, "						\
	"'id', h.mkt_id, "						\
	"'email', h.email, "						\
	"'stage', h.stage, "						\
	"'stages', (SELECT coalesce(json_object_agg(s.k, " TS("s.t")	\
	"    ORDER BY s.t, " RANK("s.k") "), '{}'::json) "		\
	"  FROM (SELECT e.key AS k, " STAGE_TIME("e.value") " AS t "	\
	"    FROM jsonb_each(h.stages) e) s), "				\
	"'pass', h.pass, "						\
	"'owner', h.owner, "						\
	"'team', h.team, "						\
	"'profile', h.profile, "					\
	"'touches', h.touches, "					\
	"'first_touch_at', " TS("h.first_touch_at") ", "		\
	"'connected_at', " TS("h.connected_at") ", "			\
	"'deals', (SELECT coalesce(json_agg(json_build_object("		\
	"    'source', d.source, 'id', d.deal_id, 'name', d.name, "	\
	"    'amount', d.amount, 'currency', d.currency, "		\
	"    'stage', d.stage, 'outcome', d.outcome, "			\
	"    'opened_at', " TS("d.opened_at") ", "			\
	"    'closed_at', " TS("d.closed_at") ") "			\
	"    ORDER BY d.opened_at, d.source, d.deal_id), '[]'::json) "	\
	"  FROM deals d WHERE d.lead_id = h.id), "			\
	"'history', (SELECT coalesce(json_agg(json_build_object("	\
	"    'pass', sh.pass, 'stage', sh.stage, "			\
	"    'entered_at', " TS("sh.entered_at") ") "			\
	"    ORDER BY sh.pass, sh.entered_at, " RANK("sh.stage") "), "	\
	"    '[]'::json) "						\
	"  FROM stage_history sh WHERE sh.lead_id = h.id), "		\
	"'cycles', '[]'::json)"

/*
 * The selector names the leads in hit; the reply is built only when there
 * is exactly one. Columns: the number of leads named, their keys, the JSON.
 */
#define QUERY(sel)							\
	"WITH hit AS (SELECT l.* FROM leads l WHERE " sel "), "	\
	"n AS (SELECT count(*) AS n, "					\
	"  string_agg(lead_key, ', ' ORDER BY id) AS keys FROM hit) "	\
	"SELECT n.n, n.keys, "						\
	"  (SELECT " LEAD_JSON "::text FROM hit h WHERE n.n = 1) "	\
	"FROM n"

static const char q_key[] = QUERY("l.lead_key = $1");
static const char q_email[] = QUERY("l.id IN (SELECT lead_id FROM "
    "lead_identities WHERE kind = 'email' AND value = $1)");
static const char q_mkt[] = QUERY("l.id IN (SELECT lead_id FROM "
    "lead_identities WHERE kind = 'mkt' AND value = $1 || ' ' || $2)");

static bool
is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The same normalisation as the codec's for the emails of events. */
char *
leadview_email_norm(const char *email)
{
	size_t b = 0, e = strlen(email);
	char *z;

	while (b < e && is_space((unsigned char)email[b]))
		b++;
	while (e > b && is_space((unsigned char)email[e - 1]))
		e--;
	z = xstrndup(email + b, e - b);
	for (char *p = z; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return z;
}

/* The server's message without its trailing newline, malloc'd. */
static char *
pq_message(PGconn *conn, const PGresult *r)
{
	const char *m = r != NULL ? PQresultErrorMessage(r) : NULL;
	size_t n;

	if (m == NULL || *m == '\0')
		m = PQerrorMessage(conn);
	n = strlen(m);
	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	return xasprintf("lead: database error: %.*s", (int)n, m);
}

int
leadview_json(PGconn *conn, const char *lead_key, const char *email,
    const char *source, const char *id, ts_t now, char **json, char **err)
{
	const char *params[2] = { NULL, NULL };
	const char *sql, *what;
	char *norm = NULL;
	int nparams, nsel, rc;
	long long n;
	PGresult *r;

	*json = NULL;
	*err = NULL;
	nsel = (lead_key != NULL) + (email != NULL) +
	    (source != NULL || id != NULL);
	if (nsel != 1 || (source != NULL) != (id != NULL)) {
		*err = xstrdup("lead: give exactly one of lead_key, email, "
		    "or source and id");
		return 2;
	}
	if (lead_key != NULL) {
		sql = q_key;
		params[0] = lead_key;
		nparams = 1;
		what = "lead_key";
	} else if (email != NULL) {
		norm = leadview_email_norm(email);
		sql = q_email;
		params[0] = norm;
		nparams = 1;
		what = "email";
	} else {
		sql = q_mkt;
		params[0] = source;
		params[1] = id;
		nparams = 2;
		what = "marketing id";
	}
	r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	free(norm);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
	    PQnfields(r) != 3) {
		*err = pq_message(conn, r);
		PQclear(r);
		return -1;
	}
	n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (n == 0) {
		rc = 1;
	} else if (n > 1) {
		*err = xasprintf("%s names %lld leads: %s", what, n,
		    PQgetvalue(r, 0, 1));
		rc = 2;
	} else {
		*json = xstrdup(PQgetvalue(r, 0, 2));
		rc = 0;
	}
	PQclear(r);
	(void)now;
	return rc;
}
