/*
 * Tests of daemon/leadview.c, the reply of the control command `lead`,
 * against the fixture PostgreSQL: a fresh database is migrated, filled
 * with leads, identities, deals and stage history by plain SQL, and looked
 * up by each selector. The reply is parsed and checked field by field.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "handoff/leadview.h"
#include "handoff/log.h"
#include "handoff/migrate.h"
#include "handoff/util.h"
#include "testutil.h"

static PGconn *conn;

/*
 * L1 has everything: stages as both forms the stages column may hold
 * (microseconds and text), a second pass, two deals inserted out of order,
 * history rows inserted out of order, a sub-second connected_at. L2 has
 * nothing but the required columns. L7 shares an email with L1.
 */
static const char fixture[] =
    "INSERT INTO leads (id, lead_key, source, mkt_id, email, email_norm,"
    " stage, stage_at, pass, stages, owner, team, profile, profile_at,"
    " touches, first_touch_at, connected_at, first_seen) VALUES"
    " (1, 'L1', 'marketo', 'M1', ' Ann@Example.com', 'ann@example.com',"
    "  'sql', '2026-03-03T08:00:00.000001Z', 2,"
    "  jsonb_build_object("
    "   'mql', (extract(epoch FROM timestamptz '2026-03-02T09:00:00Z')"
    "           * 1000000)::bigint,"
    "   'sal', '2026-03-02T10:00:00.5Z',"
    "   'sql', (extract(epoch FROM timestamptz '2026-03-03T08:00:00Z')"
    "           * 1000000)::bigint + 1),"
    "  'ana@corp.example', 'emea-smb',"
    "  '{\"first_name\": \"Ann\", \"score\": 70,"
    "    \"attributes\": {\"utm_source\": \"linkedin\"}}', '{}',"
    "  3, '2026-03-02T10:30:00Z', '2026-03-02T11:00:00.123456Z',"
    "  '2026-03-01T00:00:00Z'),"
    " (2, 'L2', 'marketo', 'M2', NULL, NULL, 'lead', '2026-03-01T00:00:00Z',"
    "  1, '{}', NULL, NULL, '{}', '{}', 0, NULL, NULL,"
    "  '2026-03-01T00:00:00Z'),"
    " (7, 'L7', 'hubspot', 'H7', 'shared@example.com', 'shared@example.com',"
    "  'lead', '2026-03-01T00:00:00Z', 1, '{}', NULL, NULL, '{}', '{}', 0,"
    "  NULL, NULL, '2026-03-01T00:00:00Z');"
    "INSERT INTO lead_identities (kind, value, lead_id) VALUES"
    " ('mkt', 'marketo M1', 1), ('mkt', 'hubspot H9', 1),"
    " ('mkt', 'marketo M2', 2), ('mkt', 'hubspot H7', 7),"
    " ('email', 'ann@example.com', 1), ('crm', 'C1', 1),"
    " ('email', 'shared@example.com', 1), ('email', 'shared@example.com', 7);"
    "INSERT INTO deals (source, deal_id, lead_id, name, amount, currency,"
    " stage, stage_at, outcome, closed_at, close_reason, opened_at) VALUES"
    " ('salesforce', 'D2', 1, 'Second', 2500.50, 'EUR', 'proposal',"
    "  '2026-03-05T00:00:00Z', NULL, NULL, NULL, '2026-03-04T00:00:00Z'),"
    " ('salesforce', 'D1', 1, 'First', 1000, 'EUR', 'closed',"
    "  '2026-03-06T00:00:00Z', 'won', '2026-03-06T00:00:00Z', NULL,"
    "  '2026-03-03T08:00:00Z');"
    "INSERT INTO stage_history (lead_id, pass, stage, entered_at, source,"
    " event_id) VALUES"
    " (1, 2, 'sql', '2026-03-03T08:00:00.000001Z', 'salesforce', 'e6'),"
    " (1, 1, 'recycled', '2026-03-01T12:00:00Z', 'salesforce', 'e3'),"
    " (1, 2, 'mql', '2026-03-02T09:00:00Z', 'marketo', 'e4'),"
    " (1, 1, 'lead', '2026-03-01T00:00:00Z', 'marketo', 'e1'),"
    " (1, 2, 'sal', '2026-03-02T10:00:00.5Z', 'salesforce', 'e5'),"
    " (1, 1, 'mql', '2026-03-01T00:00:00Z', 'marketo', 'e2');";

static int
setup(void **state)
{
	int applied = 0;

	(void)state;
	conn = tu_pg_fresh_db("handoff_test_leadview", NULL);
	if (migrate_run(conn, &applied) != 0)
		fail_msg("migration failed");
	PQclear(tu_pg_exec(conn, fixture));
	/* The replies must be UTC whatever the session's time zone. */
	PQclear(tu_pg_exec(conn, "SET TimeZone = 'America/New_York'"));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	PQfinish(conn);
	conn = NULL;
	return 0;
}

/* Looks a lead up, expecting rc; returns the parsed reply (rc 0) or NULL. */
static yajl_val
lookup(const char *key, const char *email, const char *source,
    const char *id, int want_rc, char **err_out)
{
	char *json = NULL, *err = NULL, eb[256];
	yajl_val v = NULL;
	int rc;

	rc = leadview_json(conn, key, email, source, id, 0, &json, &err);
	if (rc != want_rc)
		fail_msg("leadview_json: got %d, want %d (err %s)", rc, want_rc,
		    err != NULL ? err : "none");
	if (rc == 0) {
		assert_non_null(json);
		assert_null(err);
		v = yajl_tree_parse(json, eb, sizeof(eb));
		if (v == NULL || !YAJL_IS_OBJECT(v))
			fail_msg("reply is not a JSON object (%s): %s", eb, json);
		free(json);
	} else {
		assert_null(json);
	}
	if (err_out != NULL)
		*err_out = err;
	else
		free(err);
	return v;
}

static yajl_val
get(yajl_val v, const char *k1, const char *k2, const char *k3)
{
	const char *path[4] = { k1, k2, k3, NULL };
	yajl_val x = yajl_tree_get(v, path, yajl_t_any);

	if (x == NULL)
		fail_msg("no field %s%s%s%s%s", k1, k2 ? "." : "", k2 ? k2 : "",
		    k3 ? "." : "", k3 ? k3 : "");
	return x;
}

static void
assert_str(yajl_val v, const char *k1, const char *k2, const char *want)
{
	yajl_val x = get(v, k1, k2, NULL);

	if (want == NULL) {
		if (!YAJL_IS_NULL(x))
			fail_msg("%s: want null", k1);
		return;
	}
	if (!YAJL_IS_STRING(x))
		fail_msg("%s%s%s: not a string", k1, k2 ? "." : "", k2 ? k2 : "");
	assert_string_equal(YAJL_GET_STRING(x), want);
}

static void
assert_int(yajl_val v, const char *k1, const char *k2, long long want)
{
	yajl_val x = get(v, k1, k2, NULL);

	if (!YAJL_IS_INTEGER(x))
		fail_msg("%s: not an integer", k1);
	assert_int_equal(YAJL_GET_INTEGER(x), want);
}

static yajl_val
array(yajl_val v, const char *k, size_t want_len)
{
	yajl_val x = get(v, k, NULL, NULL);

	if (!YAJL_IS_ARRAY(x))
		fail_msg("%s: not an array", k);
	assert_int_equal(YAJL_GET_ARRAY(x)->len, want_len);
	return x;
}

static yajl_val
elem(yajl_val arr, size_t i)
{
	return YAJL_GET_ARRAY(arr)->values[i];
}

/* The fields of L1, whichever selector found it. */
static void
check_l1(yajl_val v)
{
	yajl_val d, h, st;

	assert_str(v, "lead_key", NULL, "L1");
	assert_str(v, "source", NULL, "marketo");
	assert_str(v, "id", NULL, "M1");
	assert_str(v, "email", NULL, " Ann@Example.com");
	assert_str(v, "stage", NULL, "sql");
	assert_int(v, "pass", NULL, 2);
	assert_str(v, "owner", NULL, "ana@corp.example");
	assert_str(v, "team", NULL, "emea-smb");
	assert_int(v, "touches", NULL, 3);
	assert_str(v, "first_touch_at", NULL, "2026-03-02T10:30:00Z");
	assert_str(v, "connected_at", NULL, "2026-03-02T11:00:00.123456Z");

	/* Both forms of a stage time, and microseconds kept exactly. */
	st = get(v, "stages", NULL, NULL);
	assert_true(YAJL_IS_OBJECT(st));
	assert_int_equal(YAJL_GET_OBJECT(st)->len, 3);
	assert_string_equal(YAJL_GET_OBJECT(st)->keys[0], "mql");
	assert_string_equal(YAJL_GET_OBJECT(st)->keys[1], "sal");
	assert_string_equal(YAJL_GET_OBJECT(st)->keys[2], "sql");
	assert_str(v, "stages", "mql", "2026-03-02T09:00:00Z");
	assert_str(v, "stages", "sal", "2026-03-02T10:00:00.500000Z");
	assert_str(v, "stages", "sql", "2026-03-03T08:00:00.000001Z");

	assert_str(v, "profile", "first_name", "Ann");
	assert_int(v, "profile", "score", 70);
	assert_true(YAJL_IS_STRING(get(v, "profile", "attributes",
	    "utm_source")));
	assert_string_equal(YAJL_GET_STRING(get(v, "profile", "attributes",
	    "utm_source")), "linkedin");

	/* Deals oldest first, whatever the order they were stored in. */
	d = array(v, "deals", 2);
	assert_str(elem(d, 0), "source", NULL, "salesforce");
	assert_str(elem(d, 0), "id", NULL, "D1");
	assert_str(elem(d, 0), "name", NULL, "First");
	assert_int(elem(d, 0), "amount", NULL, 1000);
	assert_str(elem(d, 0), "currency", NULL, "EUR");
	assert_str(elem(d, 0), "stage", NULL, "closed");
	assert_str(elem(d, 0), "outcome", NULL, "won");
	assert_str(elem(d, 0), "opened_at", NULL, "2026-03-03T08:00:00Z");
	assert_str(elem(d, 0), "closed_at", NULL, "2026-03-06T00:00:00Z");
	assert_str(elem(d, 1), "id", NULL, "D2");
	assert_true(YAJL_IS_DOUBLE(get(elem(d, 1), "amount", NULL, NULL)));
	assert_true(YAJL_GET_DOUBLE(get(elem(d, 1), "amount", NULL, NULL)) ==
	    2500.5);
	assert_str(elem(d, 1), "outcome", NULL, NULL);
	assert_str(elem(d, 1), "closed_at", NULL, NULL);

	/* History by pass, then time; lead and mql at the same instant in
	 * funnel order. */
	h = array(v, "history", 6);
	{
		static const struct {
			int pass;
			const char *stage, *at;
		} want[] = {
			{ 1, "lead", "2026-03-01T00:00:00Z" },
			{ 1, "mql", "2026-03-01T00:00:00Z" },
			{ 1, "recycled", "2026-03-01T12:00:00Z" },
			{ 2, "mql", "2026-03-02T09:00:00Z" },
			{ 2, "sal", "2026-03-02T10:00:00.500000Z" },
			{ 2, "sql", "2026-03-03T08:00:00.000001Z" },
		};

		for (size_t i = 0; i < ARRAY_LEN(want); i++) {
			assert_int(elem(h, i), "pass", NULL, want[i].pass);
			assert_str(elem(h, i), "stage", NULL, want[i].stage);
			assert_str(elem(h, i), "entered_at", NULL, want[i].at);
		}
	}
	array(v, "cycles", 0);
}

static void
test_by_lead_key(void **state)
{
	yajl_val v;

	(void)state;
	v = lookup("L1", NULL, NULL, NULL, 0, NULL);
	check_l1(v);
	yajl_tree_free(v);
}

static void
test_by_email(void **state)
{
	yajl_val v;

	(void)state;
	/* Trimmed and lower-cased before matching. */
	v = lookup(NULL, " \tANN@example.COM\n", NULL, NULL, 0, NULL);
	check_l1(v);
	yajl_tree_free(v);
}

static void
test_by_marketing_id(void **state)
{
	yajl_val v;

	(void)state;
	/* The creating source, and a second source that joined the lead. */
	v = lookup(NULL, NULL, "marketo", "M1", 0, NULL);
	check_l1(v);
	yajl_tree_free(v);
	v = lookup(NULL, NULL, "hubspot", "H9", 0, NULL);
	check_l1(v);
	yajl_tree_free(v);
}

/* A bare lead: nulls, empty objects and arrays, not missing fields. */
static void
test_bare_lead(void **state)
{
	yajl_val v;

	(void)state;
	v = lookup(NULL, NULL, "marketo", "M2", 0, NULL);
	assert_str(v, "lead_key", NULL, "L2");
	assert_str(v, "email", NULL, NULL);
	assert_str(v, "stage", NULL, "lead");
	assert_int(v, "pass", NULL, 1);
	assert_str(v, "owner", NULL, NULL);
	assert_str(v, "team", NULL, NULL);
	assert_int(v, "touches", NULL, 0);
	assert_str(v, "first_touch_at", NULL, NULL);
	assert_str(v, "connected_at", NULL, NULL);
	assert_true(YAJL_IS_OBJECT(get(v, "stages", NULL, NULL)));
	assert_int_equal(YAJL_GET_OBJECT(get(v, "stages", NULL, NULL))->len, 0);
	assert_true(YAJL_IS_OBJECT(get(v, "profile", NULL, NULL)));
	assert_int_equal(YAJL_GET_OBJECT(get(v, "profile", NULL, NULL))->len,
	    0);
	array(v, "deals", 0);
	array(v, "history", 0);
	array(v, "cycles", 0);
	yajl_tree_free(v);
}

static void
test_not_found(void **state)
{
	(void)state;
	lookup("L99", NULL, NULL, NULL, 1, NULL);
	lookup("l1", NULL, NULL, NULL, 1, NULL);
	lookup(NULL, "nobody@example.com", NULL, NULL, 1, NULL);
	/* The crm id is not an email, nor a marketing id. */
	lookup(NULL, "C1", NULL, NULL, 1, NULL);
	/* A marketing id under another source is another lead. */
	lookup(NULL, NULL, "hubspot", "M1", 1, NULL);
	lookup(NULL, NULL, "marketo", "H9", 1, NULL);
}

static void
test_ambiguous_email(void **state)
{
	char *err = NULL;

	(void)state;
	lookup(NULL, "Shared@Example.com ", NULL, NULL, 2, &err);
	assert_non_null(err);
	assert_string_equal(err, "email names 2 leads: L1, L7");
	free(err);
}

static void
test_bad_selectors(void **state)
{
	char *err = NULL;

	(void)state;
	lookup(NULL, NULL, NULL, NULL, 2, &err);
	assert_non_null(err);
	free(err);
	lookup("L1", "ann@example.com", NULL, NULL, 2, NULL);
	lookup("L1", NULL, "marketo", "M1", 2, NULL);
	lookup(NULL, NULL, "marketo", NULL, 2, NULL);
	lookup(NULL, NULL, NULL, "M1", 2, NULL);
}

/* A database without the schema: -1 and the server's message. */
static void
test_database_error(void **state)
{
	PGconn *saved = conn;
	char *err = NULL;

	(void)state;
	conn = tu_pg_fresh_db("handoff_test_leadview_empty", NULL);
	lookup("L1", NULL, NULL, NULL, -1, &err);
	assert_non_null(err);
	if (strstr(err, "leads") == NULL)
		fail_msg("error does not name the table: %s", err);
	free(err);
	PQfinish(conn);
	conn = saved;
}

static void
test_email_norm(void **state)
{
	char *s;

	(void)state;
	s = leadview_email_norm("  A.B@EXAMPLE.org\r\n");
	assert_string_equal(s, "a.b@example.org");
	free(s);
	s = leadview_email_norm("plain@x");
	assert_string_equal(s, "plain@x");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_lead_key),
		cmocka_unit_test(test_by_email),
		cmocka_unit_test(test_by_marketing_id),
		cmocka_unit_test(test_bare_lead),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_ambiguous_email),
		cmocka_unit_test(test_bad_selectors),
		cmocka_unit_test(test_database_error),
		cmocka_unit_test(test_email_norm),
	};

	log_init("test_leadview", false, LOG_LVL_INFO);
	return cmocka_run_group_tests(tests, setup, teardown);
}
