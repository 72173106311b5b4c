/*
 * The wire codec: every example message in proto/examples (valid ones must
 * decode to their .want dump, invalid ones fail with their .err text), the
 * normalisations, the bounds, the echo of id and source on failure, the
 * JSON tree underneath, and the exact text of every outbound type.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/arena.h"
#include "handoff/codec.h"
#include "handoff/jdoc.h"
#include "handoff/ts.h"
#include "handoff/util.h"
#include "testutil.h"

/* The examples the tests demand at least, so that a lost directory or a
 * broken glob cannot pass as "nothing to check". */
#define MIN_VALID 20
#define MIN_INVALID 30
#define MAX_BYTES 65536

struct fixture {
	codec_t *c;
	arena_t *a;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->c = codec_new();
	f->a = arena_new(64 * 1024);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	codec_destroy(&f->c);
	arena_destroy(&f->a);
	free(f);
	return 0;
}

/* Decodes a NUL-terminated body. */
static int
decode(struct fixture *f, const char *topic, const char *body, event_t *ev,
    char *err)
{
	return codec_decode(f->c, f->a, topic, strlen(topic), body, strlen(body),
	    MAX_BYTES, ev, err, CODEC_ERRLEN);
}

/* ------------------------------------------------------------------ */
/* The example files. */

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAME part of every NAME.<ext> in dir, sorted. */
static char **
list_examples(const char *dir, const char *ext, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t el = strlen(ext), cnt = 0;

	if (d == NULL)
		fail_msg("cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l <= el || strcmp(e->d_name + l - el, ext) != 0)
			continue;
		names = xreallocarray(names, cnt + 1, sizeof(*names));
		names[cnt++] = xstrndup(e->d_name, l - el);
	}
	closedir(d);
	qsort(names, cnt, sizeof(*names), cmp_names);
	*n = cnt;
	return names;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool
contains(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Fails unless every NAME.<a> has a NAME.<b> and the other way round. */
static void
check_pairs(const char *dir, const char *a, const char *b)
{
	size_t na, nb;
	char **la = list_examples(dir, a, &na);
	char **lb = list_examples(dir, b, &nb);

	for (size_t i = 0; i < na; i++)
		if (!contains(lb, nb, la[i]))
			fail_msg("%s/%s%s has no %s", dir, la[i], a, b);
	for (size_t i = 0; i < nb; i++)
		if (!contains(la, na, lb[i]))
			fail_msg("%s/%s%s has no %s", dir, lb[i], b, a);
	free_names(la, na);
	free_names(lb, nb);
}

struct example {
	char *file;
	char *topic;
	size_t topic_len;
	const char *body;
	size_t body_len;
	char *expect; /* the .want or .err text */
};

static void
load_example(const char *dir, const char *name, const char *ext,
    struct example *x)
{
	char *path, *nl;
	size_t len;

	x->file = xasprintf("%s/%s.msg", dir, name);
	if ((x->topic = tu_read_file(x->file, &len)) == NULL)
		fail_msg("cannot read %s", x->file);
	if ((nl = memchr(x->topic, '\n', len)) == NULL)
		fail_msg("%s: no newline after the topic", x->file);
	x->topic_len = (size_t)(nl - x->topic);
	x->body = nl + 1;
	x->body_len = len - x->topic_len - 1;
	path = xasprintf("%s/%s%s", dir, name, ext);
	if ((x->expect = tu_read_file(path, &len)) == NULL)
		fail_msg("cannot read %s", path);
	free(path);
}

static void
free_example(struct example *x)
{
	free(x->file);
	free(x->topic);
	free(x->expect);
}

static void
dump_str(sbuf_t *b, const char *field, const char *v)
{
	if (v == NULL)
		return;
	sbuf_printf(b, "%s=", field);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '\\':
			sbuf_adds(b, "\\\\");
			break;
		case '\n':
			sbuf_adds(b, "\\n");
			break;
		case '\t':
			sbuf_adds(b, "\\t");
			break;
		case '\r':
			sbuf_adds(b, "\\r");
			break;
		default:
			if (*p < 0x20 || *p == 0x7F)
				sbuf_printf(b, "\\x%02X", *p);
			else
				sbuf_addc(b, (char)*p);
		}
	}
	sbuf_addc(b, '\n');
}

/* The event in the .want format of proto/examples/README.md. */
static char *
dump_event(const event_t *ev)
{
	static const char *const channels[] = { "call", "email", "meeting",
		"social", "other" };
	static const char *const outcomes[] = { NULL, "attempted",
		"connected" };
	static const char *const deal_outcomes[] = { "open", "won", "lost" };
	const ev_lead_t *l = &ev->lead;
	char ts[TS_BUFLEN];
	sbuf_t b;

	sbuf_init(&b);
	dump_str(&b, "type", ev_type_name(ev->type));
	dump_str(&b, "id", ev->id);
	dump_str(&b, "source", ev->source);
	ts_format(ev->occurred_at, ts);
	dump_str(&b, "occurred_at", ts);
	dump_str(&b, "lead.id", l->id);
	dump_str(&b, "lead.email", l->email);
	dump_str(&b, "lead.email_norm", l->email_norm);
	dump_str(&b, "lead.first_name", l->first_name);
	dump_str(&b, "lead.last_name", l->last_name);
	dump_str(&b, "lead.company", l->company);
	dump_str(&b, "lead.title", l->title);
	dump_str(&b, "lead.country", l->country);
	dump_str(&b, "lead.segment", l->segment);
	if (l->has_score)
		sbuf_printf(&b, "lead.score=%lld\n", (long long)l->score);
	dump_str(&b, "lead.campaign", l->campaign);
	for (size_t i = 0; i < l->nattrs; i++) {
		char *k = xasprintf("lead.attributes.%s", l->attrs[i].key);

		dump_str(&b, k, l->attrs[i].value);
		free(k);
	}
	dump_str(&b, "ref.lead_key", ev->ref.lead_key);
	dump_str(&b, "ref.crm_id", ev->ref.crm_id);
	dump_str(&b, "ref.email", ev->ref.email);
	dump_str(&b, "ref.email_norm", ev->ref.email_norm);
	dump_str(&b, "deal.id", ev->deal.id);
	dump_str(&b, "deal.name", ev->deal.name);
	dump_str(&b, "deal.amount", ev->deal.amount);
	dump_str(&b, "deal.currency", ev->deal.currency);
	dump_str(&b, "deal.stage", ev->deal.stage);
	if (ev->type == EV_DEAL_CLOSED)
		dump_str(&b, "deal.outcome", deal_outcomes[ev->deal.outcome]);
	dump_str(&b, "deal.reason", ev->deal.reason);
	dump_str(&b, "reason", ev->reason);
	dump_str(&b, "owner", ev->owner);
	dump_str(&b, "team", ev->team);
	if (ev->type == EV_SALES_ACTIVITY) {
		dump_str(&b, "channel", channels[ev->channel]);
		dump_str(&b, "outcome", outcomes[ev->outcome]);
	}
	return sbuf_take(&b);
}

static void
test_examples_valid(void **state)
{
	struct fixture *f = *state;
	char *dir = tu_src_path("proto/examples/valid");
	size_t n, bad = 0;
	char **names;

	check_pairs(dir, ".msg", ".want");
	names = list_examples(dir, ".msg", &n);
	if (n < MIN_VALID)
		fail_msg("%s: %zu examples, expected at least %d", dir, n,
		    MIN_VALID);
	for (size_t i = 0; i < n; i++) {
		struct example x;
		char err[CODEC_ERRLEN];
		event_t ev;
		char *got;

		load_example(dir, names[i], ".want", &x);
		if (codec_decode(f->c, f->a, x.topic, x.topic_len, x.body,
		    x.body_len, MAX_BYTES, &ev, err, sizeof(err)) == -1) {
			print_error("%s: rejected: %s\n", x.file, err);
			bad++;
		} else {
			got = dump_event(&ev);
			if (strcmp(got, x.expect) != 0) {
				print_error("%s: decoded to\n%s-- expected\n%s",
				    x.file, got, x.expect);
				bad++;
			}
			if (ev.raw != x.body || ev.raw_len != x.body_len) {
				print_error("%s: raw does not point at the body\n",
				    x.file);
				bad++;
			}
			free(got);
		}
		free_example(&x);
		arena_reset(f->a);
	}
	free_names(names, n);
	free(dir);
	assert_int_equal(bad, 0);
}

static void
test_examples_invalid(void **state)
{
	struct fixture *f = *state;
	char *dir = tu_src_path("proto/examples/invalid");
	size_t n, bad = 0;
	char **names;

	check_pairs(dir, ".msg", ".err");
	names = list_examples(dir, ".msg", &n);
	if (n < MIN_INVALID)
		fail_msg("%s: %zu examples, expected at least %d", dir, n,
		    MIN_INVALID);
	for (size_t i = 0; i < n; i++) {
		struct example x;
		char err[CODEC_ERRLEN];
		event_t ev;
		size_t el;

		load_example(dir, names[i], ".err", &x);
		el = strlen(x.expect);
		if (el > 0 && x.expect[el - 1] == '\n')
			x.expect[--el] = '\0';
		if (codec_decode(f->c, f->a, x.topic, x.topic_len, x.body,
		    x.body_len, MAX_BYTES, &ev, err, sizeof(err)) == 0) {
			print_error("%s: accepted, expected \"%s\"\n", x.file,
			    x.expect);
			bad++;
		} else if (strcmp(err, x.expect) != 0) {
			print_error("%s: error \"%s\", expected \"%s\"\n", x.file,
			    err, x.expect);
			bad++;
		}
		free_example(&x);
		arena_reset(f->a);
	}
	free_names(names, n);
	free(dir);
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------ */
/* Targeted decoding tests. */

static const char *const LQ_HEAD =
    "{\"v\":1,\"id\":\"e-1\",\"source\":\"marketo\",\"type\":\"lead.qualified\",";

static ts_t
utc(int y, int mo, int d, int h, int mi, int s, int us)
{
	return (ts_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) *
	    TS_USEC + us;
}

static void
test_timestamps(void **state)
{
	static const struct {
		const char *text;
		ts_t want;
	} cases[] = {
		{ "2026-03-29T01:30:00+01:00", 0 },
		{ "2026-03-29T00:30:00Z", 0 },
		{ "2026-03-29t00:30:00z", 0 },
		{ "2026-03-28T19:00:00-05:30", 0 },
		{ "2026-03-29T00:30:00.000000Z", 0 },
		{ "2026-03-29T00:30:00.5Z", 500000 },
		{ "2026-03-29T00:30:00.000001+00:00", 1 },
		{ "2026-03-29T00:30:00.999999Z", 999999 },
	};
	struct fixture *f = *state;
	char err[CODEC_ERRLEN];
	event_t ev;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *body = xasprintf("%s\"occurred_at\":\"%s\","
		    "\"lead\":{\"id\":\"L1\"}}", LQ_HEAD, cases[i].text);

		if (decode(f, "lead.qualified", body, &ev, err) == -1)
			fail_msg("%s: %s", cases[i].text, err);
		assert_int_equal(ev.occurred_at,
		    utc(2026, 3, 29, 0, 30, 0, 0) + cases[i].want);
		free(body);
	}
}

static void
test_email_normalisation(void **state)
{
	static const struct {
		const char *json; /* the JSON string literal */
		const char *norm; /* NULL: counts as absent */
	} cases[] = {
		{ "\"Jane.Doe@Example.COM\"", "jane.doe@example.com" },
		{ "\"  Bob@X.org\\t\\r\\n\"", "bob@x.org" },
		{ "\"\\u00c9lise@Caf\\u00e9.FR\"", "\xc3\x89lise@caf\xc3\xa9.fr" },
		{ "\"a@b@C\"", "a@b@c" },
		{ "\"\"", NULL },
		{ "\" \\t \"", NULL },
		{ "null", NULL },
	};
	struct fixture *f = *state;
	char err[CODEC_ERRLEN];
	event_t ev;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *body = xasprintf("%s\"occurred_at\":\"2026-01-01T00:00:00Z\","
		    "\"lead\":{\"id\":\"L1\",\"email\":%s}}", LQ_HEAD,
		    cases[i].json);

		if (decode(f, "lead.qualified", body, &ev, err) == -1)
			fail_msg("%s: %s", cases[i].json, err);
		if (cases[i].norm == NULL) {
			assert_null(ev.lead.email);
			assert_null(ev.lead.email_norm);
		} else {
			assert_non_null(ev.lead.email);
			assert_string_equal(ev.lead.email_norm, cases[i].norm);
		}
		free(body);
	}
}

static void
test_attributes_and_profile(void **state)
{
	struct fixture *f = *state;
	char err[CODEC_ERRLEN];
	event_t ev;
	char *body = xasprintf("%s\"occurred_at\":\"2026-01-01T00:00:00Z\","
	    "\"lead\":{\"attributes\":{\"b\":\"2\",\"a\":\"1\",\"c\":\"\"},"
	    "\"id\":\"L1\",\"country\":\"gb\",\"score\":-2147483648,"
	    "\"segment\":\"smb\"}}", LQ_HEAD);

	if (decode(f, "lead.qualified", body, &ev, err) == -1)
		fail_msg("%s", err);
	assert_int_equal(ev.lead.nattrs, 3);
	assert_string_equal(ev.lead.attrs[0].key, "b");
	assert_string_equal(ev.lead.attrs[0].value, "2");
	assert_string_equal(ev.lead.attrs[1].key, "a");
	assert_string_equal(ev.lead.attrs[1].value, "1");
	assert_string_equal(ev.lead.attrs[2].key, "c");
	assert_string_equal(ev.lead.attrs[2].value, "");
	assert_string_equal(ev.lead.country, "GB");
	assert_true(ev.lead.has_score);
	assert_int_equal(ev.lead.score, INT32_MIN);
	assert_string_equal(ev.lead.segment, "smb");
	assert_null(ev.lead.first_name);
	assert_null(ev.reason);
	free(body);
}

static void
test_amount_literal(void **state)
{
	static const char *const amounts[] = { "125000.50", "-0.01", "0",
		"1E3", "1.5e-7", "12345678901234567890123456789" };
	struct fixture *f = *state;
	char err[CODEC_ERRLEN];
	event_t ev;

	for (size_t i = 0; i < ARRAY_LEN(amounts); i++) {
		char *body = xasprintf("{\"v\":1,\"id\":\"d-1\",\"source\":\"sf\","
		    "\"type\":\"deal.closed\",\"occurred_at\":"
		    "\"2026-01-01T00:00:00Z\",\"deal\":{\"id\":\"D1\","
		    "\"outcome\":\"won\",\"amount\":%s}}", amounts[i]);

		if (decode(f, "deal.closed", body, &ev, err) == -1)
			fail_msg("%s: %s", amounts[i], err);
		assert_string_equal(ev.deal.amount, amounts[i]);
		assert_int_equal(ev.deal.outcome, DEAL_WON);
		free(body);
	}
}

static void
test_echo_on_failure(void **state)
{
	static const struct {
		const char *body;
		const char *id, *source, *err;
	} cases[] = {
		/* Later fields wrong: both echoed. */
		{ "{\"v\":1,\"id\":\"e-9\",\"source\":\"hubspot\","
		  "\"type\":\"lead.qualified\",\"occurred_at\":\"yesterday\"}",
		  "e-9", "hubspot", "occurred_at: not an RFC 3339 timestamp" },
		/* v wrong but id and source fine: still echoed. */
		{ "{\"source\":\"hubspot\",\"id\":\"e-9\",\"v\":3}",
		  "e-9", "hubspot", "v: unsupported version 3" },
		/* An invalid id is not echoed, a valid source is. */
		{ "{\"v\":1,\"id\":\"\",\"source\":\"hubspot\"}",
		  NULL, "hubspot", "id: must be 1-128 printable characters" },
		{ "{\"v\":1,\"id\":\"e-9\",\"source\":\"Hub Spot\"}",
		  "e-9", NULL, "source: must match [a-z0-9._-]{1,64}" },
		{ "{\"v\":1,\"id\":7,\"source\":[]}",
		  NULL, NULL, "id: must be a string" },
		/* Not JSON: nothing can be read. */
		{ "{\"v\":1,\"id\":\"e-9\",\"source\":\"hubspot\"",
		  NULL, NULL, "body: not valid JSON" },
	};
	struct fixture *f = *state;
	char err[CODEC_ERRLEN];
	event_t ev;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(decode(f, "lead.qualified", cases[i].body, &ev,
		    err), -1);
		assert_string_equal(err, cases[i].err);
		if (cases[i].id == NULL)
			assert_null(ev.id);
		else
			assert_string_equal(ev.id, cases[i].id);
		if (cases[i].source == NULL)
			assert_null(ev.source);
		else
			assert_string_equal(ev.source, cases[i].source);
		assert_ptr_equal(ev.raw, cases[i].body);
		assert_int_equal(ev.raw_len, strlen(cases[i].body));
		/* Nothing else survives a failure. */
		assert_null(ev.lead.id);
		assert_null(ev.ref.lead_key);
	}
}

static void
test_max_bytes(void **state)
{
	struct fixture *f = *state;
	const char *body = "{\"v\":1,\"id\":\"t\",\"source\":\"c\","
	    "\"type\":\"clock.tick\",\"occurred_at\":\"2026-01-01T00:00:00Z\"}";
	size_t n = strlen(body);
	char err[CODEC_ERRLEN], want[64];
	event_t ev;

	assert_int_equal(codec_decode(f->c, f->a, "clock.tick", 10, body, n, n,
	    &ev, err, sizeof(err)), 0);
	assert_int_equal(codec_decode(f->c, f->a, "clock.tick", 10, body, n, 0,
	    &ev, err, sizeof(err)), 0);
	assert_int_equal(codec_decode(f->c, f->a, "clock.tick", 10, body, n,
	    n - 1, &ev, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "body: larger than %zu bytes", n - 1);
	assert_string_equal(err, want);
	assert_null(ev.id);
}

/* A body with a member "x" nested levels deep (the object counts as one). */
static char *
nested(int levels)
{
	sbuf_t b;

	sbuf_init(&b);
	sbuf_adds(&b, "{\"v\":1,\"id\":\"t\",\"source\":\"c\","
	    "\"type\":\"clock.tick\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
	    "\"x\":");
	for (int i = 1; i < levels; i++)
		sbuf_adds(&b, i % 2 ? "[" : "{\"k\":");
	sbuf_adds(&b, "0");
	for (int i = levels - 1; i >= 1; i--)
		sbuf_adds(&b, i % 2 ? "]" : "}");
	sbuf_adds(&b, "}");
	return sbuf_take(&b);
}

static void
test_depth_bound(void **state)
{
	struct fixture *f = *state;
	char err[CODEC_ERRLEN];
	event_t ev;
	char *ok = nested(JDOC_MAX_DEPTH), *deep = nested(JDOC_MAX_DEPTH + 1);
	char *very = nested(10000);

	if (decode(f, "clock.tick", ok, &ev, err) == -1)
		fail_msg("%d levels: %s", JDOC_MAX_DEPTH, err);
	assert_int_equal(decode(f, "clock.tick", deep, &ev, err), -1);
	assert_string_equal(err, "body: nesting deeper than 16");
	assert_int_equal(decode(f, "clock.tick", very, &ev, err), -1);
	assert_string_equal(err, "body: nesting deeper than 16");
	free(ok);
	free(deep);
	free(very);
}

static void
test_arena_keeps_earlier_events(void **state)
{
	struct fixture *f = *state;
	char err[CODEC_ERRLEN];
	event_t e1, e2;
	/* Escapes force unescaped copies; the rest points into the body. */
	char *b1 = xstrdup("{\"v\":1,\"id\":\"first\\u0021\",\"source\":\"m\","
	    "\"type\":\"lead.qualified\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
	    "\"lead\":{\"id\":\"L-one\",\"email\":\"One@X.com\","
	    "\"attributes\":{\"k\\u00e9\":\"v1\"}}}");
	char *b2 = xstrdup("{\"v\":1,\"id\":\"second\\u0021\",\"source\":\"n\","
	    "\"type\":\"lead.qualified\",\"occurred_at\":\"2026-01-02T00:00:00Z\","
	    "\"lead\":{\"id\":\"L-two\",\"email\":\"Two@Y.com\","
	    "\"attributes\":{\"q\\u00e9\":\"v2\"}}}");

	if (decode(f, "lead.qualified", b1, &e1, err) == -1)
		fail_msg("%s", err);
	if (decode(f, "lead.qualified", b2, &e2, err) == -1)
		fail_msg("%s", err);
	/* The event's strings are copies: overwriting the bodies and a
	 * failed third decode in between must not touch them. */
	memset(b1, 'x', strlen(b1));
	assert_int_equal(decode(f, "lead.qualified", "{\"v\":2}", &e2, err), -1);
	assert_string_equal(e1.id, "first!");
	assert_string_equal(e1.source, "m");
	assert_string_equal(e1.lead.id, "L-one");
	assert_string_equal(e1.lead.email, "One@X.com");
	assert_string_equal(e1.lead.email_norm, "one@x.com");
	assert_string_equal(e1.lead.attrs[0].key, "k\xc3\xa9");
	assert_string_equal(e1.lead.attrs[0].value, "v1");
	free(b1);
	free(b2);
}

static void
test_type_names(void **state)
{
	(void)state;
	for (int t = 0; t < EV__COUNT; t++) {
		const char *name = ev_type_name((ev_type_t)t);

		assert_non_null(name);
		assert_int_equal(ev_type_from_name(name, strlen(name)), t);
	}
	assert_int_equal(ev_type_from_name("lead.qualified", 4), -1);
	assert_int_equal(ev_type_from_name("lead.qualifiedX", 15), -1);
	assert_int_equal(ev_type_from_name("", 0), -1);
	for (int t = 0; t < OUT__COUNT; t++)
		assert_non_null(out_type_name((out_type_t)t));
	assert_string_equal(out_type_name(OUT_SLA_TARGET_MISSED),
	    "sla.target_missed");
}

static void
test_unknown_type_shown_safely(void **state)
{
	struct fixture *f = *state;
	char err[CODEC_ERRLEN];
	event_t ev;
	sbuf_t b;

	sbuf_init(&b);
	sbuf_adds(&b, "{\"v\":1,\"id\":\"e\",\"source\":\"s\",\"type\":\"a\\nb");
	for (int i = 0; i < 100; i++)
		sbuf_adds(&b, "\xc3\xa9");
	sbuf_adds(&b, "\"}");
	assert_int_equal(decode(f, "x", b.s, &ev, err), -1);
	/* The control character shown as '?', cut at 64 bytes, whole chars. */
	assert_string_equal(err, "type: unknown type 'a?b"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9..."
	    "'");
	sbuf_free(&b);
}

/* Many members: the duplicate check must use its index, and still find
 * duplicates and not invent any. */
static void
test_many_members(void **state)
{
	struct fixture *f = *state;
	char err[CODEC_ERRLEN];
	event_t ev;
	sbuf_t b;

	sbuf_init(&b);
	sbuf_adds(&b, "{\"v\":1,\"id\":\"t\",\"source\":\"c\","
	    "\"type\":\"clock.tick\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
	    "\"x\":{");
	for (int i = 0; i < 5000; i++)
		sbuf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	sbuf_adds(&b, "}}");
	if (decode(f, "clock.tick", b.s, &ev, err) == -1)
		fail_msg("%s", err);
	b.s[b.len - 2] = '\0';
	b.len -= 2;
	sbuf_adds(&b, ",\"k4321\":0}}");
	assert_int_equal(decode(f, "clock.tick", b.s, &ev, err), -1);
	assert_string_equal(err, "x.k4321: duplicate key");
	sbuf_free(&b);
}

static void
test_errlen_bounds(void **state)
{
	struct fixture *f = *state;
	char small[8];
	event_t ev;
	const char *body = "{\"v\":1,\"id\":\"e\"}";

	memset(small, 'z', sizeof(small));
	assert_int_equal(codec_decode(f->c, f->a, "t", 1, body, strlen(body),
	    0, &ev, small, sizeof(small)), -1);
	assert_string_equal(small, "source:");
	assert_int_equal(codec_decode(f->c, f->a, "t", 1, body, strlen(body),
	    0, &ev, NULL, 0), -1);
}

/* ------------------------------------------------------------------ */
/* The JSON tree itself. */

/* jquote: yajl's escaping, one literal per call, the quoter reusable. */
static void
test_jquote(void **state)
{
	jquote_t *q = jquote_new();
	sbuf_t b;
	arena_t *a = arena_new(4096);
	jdoc_t *d = jdoc_new();
	const jdoc_node_t *root;
	char err[128];
	const char *nasty = "a\"b\\c\n\td\x01/\xc3\xa9";

	(void)state;
	sbuf_init(&b);
	jquotes(q, &b, "plain");
	assert_string_equal(b.s, "\"plain\"");
	sbuf_reset(&b);
	jquotes(q, &b, NULL);
	jquote(q, &b, "xyz", 2);
	assert_string_equal(b.s, "\"\"\"xy\"");
	sbuf_reset(&b);
	jquotes(q, &b, nasty);
	assert_string_equal(b.s, "\"a\\\"b\\\\c\\n\\td\\u0001/\xc3\xa9\"");
	/* What it writes parses back to the same text. */
	sbuf_reset(&b);
	sbuf_adds(&b, "{\"k\":");
	jquotes(q, &b, nasty);
	sbuf_adds(&b, "}");
	assert_int_equal(jdoc_parse(d, a, b.s, b.len, &root, err,
	    sizeof(err)), 0);
	assert_int_equal(JDOC_GET(root, "k")->len, strlen(nasty));
	assert_memory_equal(JDOC_GET(root, "k")->s, nasty, strlen(nasty));
	sbuf_reset(&b);
	jquote_once(&b, "once\"");
	assert_string_equal(b.s, "\"once\\\"\"");
	/* jdoc_unquote undoes it, through yajl when anything is escaped. */
	sbuf_reset(&b);
	jquotes(q, &b, nasty);
	assert_string_equal(jdoc_unquote(a, b.s, b.len), nasty);
	assert_string_equal(jdoc_unquote(a, "\"plain\"", 7), "plain");
	assert_string_equal(jdoc_unquote(a, "\"\"", 2), "");
	assert_string_equal(jdoc_unquote(a, "\"\\u00e9\\ud83d\\ude00\"", 20),
	    "\xc3\xa9\xf0\x9f\x98\x80");
	assert_null(jdoc_unquote(a, "plain", 5));
	assert_null(jdoc_unquote(a, "\"a\"b\"", 5));
	assert_null(jdoc_unquote(a, "\"a\\q\"", 5));
	assert_null(jdoc_unquote(a, "\"a\\\"", 4));
	assert_null(jdoc_unquote(a, "\"", 1));
	sbuf_free(&b);
	jdoc_destroy(&d);
	arena_destroy(&a);
	jquote_destroy(&q);
	assert_null(q);
}

static void
test_jdoc_tree(void **state)
{
	static const char text[] = "{\"n\":null,\"t\":true,\"f\":false,"
	    "\"i\":-9223372036854775808,\"big\":9223372036854775808,"
	    "\"max\":9223372036854775807,\"d\":1.25,\"e\":2e3,"
	    "\"s\":\"a\\\"b\",\"a\":[1,\"x\",{}],\"o\":{\"k\":\"v\"}}";
	jdoc_t *d = jdoc_new();
	arena_t *a = arena_new(4096);
	const jdoc_node_t *root, *n;
	char err[64];

	(void)state;
	assert_int_equal(jdoc_parse(d, a, text, strlen(text), &root, err,
	    sizeof(err)), 0);
	assert_int_equal(root->kind, JDOC_OBJECT);
	assert_int_equal(root->len, 11);
	assert_int_equal(JDOC_GET(root, "n")->kind, JDOC_NULL);
	assert_true(JDOC_GET(root, "t")->boolean);
	assert_false(JDOC_GET(root, "f")->boolean);
	n = JDOC_GET(root, "i");
	assert_true(n->is_int);
	assert_true(n->i == INT64_MIN);
	n = JDOC_GET(root, "big");
	assert_int_equal(n->kind, JDOC_NUMBER);
	assert_false(n->is_int);
	assert_true(JDOC_GET(root, "max")->i == INT64_MAX);
	n = JDOC_GET(root, "d");
	assert_false(n->is_int);
	assert_int_equal(n->len, 4);
	assert_memory_equal(n->s, "1.25", 4);
	assert_false(JDOC_GET(root, "e")->is_int);
	n = JDOC_GET(root, "s");
	assert_int_equal(n->len, 3);
	assert_memory_equal(n->s, "a\"b", 3);
	n = JDOC_GET(root, "a");
	assert_int_equal(n->kind, JDOC_ARRAY);
	assert_int_equal(n->len, 3);
	assert_int_equal(n->first->i, 1);
	assert_int_equal(n->first->next->kind, JDOC_STRING);
	assert_int_equal(n->first->next->next->kind, JDOC_OBJECT);
	assert_null(n->first->next->next->next);
	assert_null(n->first->key);
	n = JDOC_GET(root, "o");
	assert_memory_equal(JDOC_GET(n, "k")->s, "v", 1);
	assert_null(JDOC_GET(root, "missing"));
	assert_null(JDOC_GET(root, "o\0"));
	assert_null(JDOC_GET(JDOC_GET(root, "a"), "x"));
	assert_null(jdoc_get(NULL, "x", 1));

	/* The parser is reusable after a failure. */
	assert_int_equal(jdoc_parse(d, a, "{\"a\":", 5, &root, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "body: not valid JSON");
	assert_null(root);
	assert_int_equal(jdoc_parse(d, a, "{} ", 3, &root, err, sizeof(err)), 0);
	assert_int_equal(root->len, 0);

	jdoc_destroy(&d);
	assert_null(d);
	jdoc_destroy(&d);
	arena_destroy(&a);
}

/* Long unescaped strings go through yajl's growing decode buffer, which
 * outgrows the parser's pool and must come from the heap and back. */
static void
test_jdoc_long_escaped_string(void **state)
{
	jdoc_t *d = jdoc_new();
	arena_t *a = arena_new(4096);
	const jdoc_node_t *root, *n;
	char err[64];
	sbuf_t b;

	(void)state;
	sbuf_init(&b);
	sbuf_adds(&b, "{\"s\":\"");
	for (int i = 0; i < 20000; i++)
		sbuf_adds(&b, "\\u00e9");
	sbuf_adds(&b, "\"}");
	for (int round = 0; round < 2; round++) {
		assert_int_equal(jdoc_parse(d, a, b.s, b.len, &root, err,
		    sizeof(err)), 0);
		n = JDOC_GET(root, "s");
		assert_int_equal(n->len, 40000);
		assert_memory_equal(n->s + 39998, "\xc3\xa9", 2);
	}
	sbuf_free(&b);
	jdoc_destroy(&d);
	arena_destroy(&a);
}

static void
test_jdoc_key_display(void **state)
{
	char buf[128], longkey[100];

	(void)state;
	assert_int_equal(jdoc_key_display("a\x01" "b", 3, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "a?b");
	memset(longkey, 'k', sizeof(longkey));
	jdoc_key_display(longkey, sizeof(longkey), buf, sizeof(buf));
	assert_int_equal(strlen(buf), 67);
	assert_string_equal(buf + 64, "...");
	jdoc_key_display("abcdef", 6, buf, 4);
	assert_string_equal(buf, "abc");
}

/* ------------------------------------------------------------------ */
/* Outbound encoding: the exact text of every type. */

#define T0 "2026-03-10T14:22:05Z"

static ts_t
t0(void)
{
	return utc(2026, 3, 10, 14, 22, 5, 0);
}

static void
check_encode(const out_msg_t *m, int64_t seq, const char *want)
{
	size_t len;
	char *got = codec_encode(m, seq, t0(), &len);

	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
}

static void
test_encode_handoff(void **state)
{
	ev_attr_t attrs[] = { { "utm", "li\"nk" }, { "k", "\xc3\xa9" } };
	ev_lead_t lead = {
		.id = "00Q1", .email = "Jane@Example.com", .first_name = "Jane",
		.country = "DE", .has_score = true, .score = 87,
		.attrs = attrs, .nattrs = 2,
	};
	out_due_t due[] = {
		{ "accept", utc(2026, 3, 10, 18, 22, 5, 0) },
		{ "touch", utc(2026, 3, 11, 9, 0, 0, 250000) },
	};
	out_msg_t m = { .type = OUT_HANDOFF_ASSIGNED, .u.assigned = {
		.lead_key = "L-000123", .source = "marketo", .lead = &lead,
		.owner = "rep.alice", .team = "emea", .rule = "enterprise-de",
		.due = due, .ndue = 2 } };

	(void)state;
	check_encode(&m, 41, "{\"v\":1,\"type\":\"handoff.assigned\",\"seq\":41,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-000123\","
	    "\"lead\":{\"source\":\"marketo\",\"id\":\"00Q1\","
	    "\"email\":\"Jane@Example.com\",\"first_name\":\"Jane\","
	    "\"last_name\":null,\"company\":null,\"title\":null,"
	    "\"country\":\"DE\",\"segment\":null,\"score\":87,\"campaign\":null,"
	    "\"attributes\":{\"utm\":\"li\\\"nk\",\"k\":\"\xc3\xa9\"}},"
	    "\"owner\":\"rep.alice\",\"team\":\"emea\",\"rule\":\"enterprise-de\","
	    "\"due\":{\"accept\":\"2026-03-10T18:22:05Z\","
	    "\"touch\":\"2026-03-11T09:00:00.250000Z\"}}");

	m = (out_msg_t){ .type = OUT_HANDOFF_ASSIGNED, .u.assigned = {
		.lead_key = "L-1", .source = "hubspot" } };
	check_encode(&m, 1, "{\"v\":1,\"type\":\"handoff.assigned\",\"seq\":1,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\","
	    "\"lead\":{\"source\":\"hubspot\",\"id\":null,\"email\":null,"
	    "\"first_name\":null,\"last_name\":null,\"company\":null,"
	    "\"title\":null,\"country\":null,\"segment\":null,\"score\":null,"
	    "\"campaign\":null,\"attributes\":{}},\"owner\":null,\"team\":null,"
	    "\"rule\":null,\"due\":{}}");

	m = (out_msg_t){ .type = OUT_HANDOFF_REASSIGNED, .u.reassigned = {
		.lead_key = "L-1", .from = "rep.a", .to = "rep.b", .team = "emea",
		.why = OUT_WHY_SLA_ESCALATION } };
	check_encode(&m, 2, "{\"v\":1,\"type\":\"handoff.reassigned\",\"seq\":2,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\",\"from\":\"rep.a\","
	    "\"to\":\"rep.b\",\"team\":\"emea\",\"why\":\"sla_escalation\"}");
	m.u.reassigned.why = OUT_WHY_CRM;
	m.u.reassigned.from = NULL;
	check_encode(&m, 3, "{\"v\":1,\"type\":\"handoff.reassigned\",\"seq\":3,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\",\"from\":null,"
	    "\"to\":\"rep.b\",\"team\":\"emea\",\"why\":\"crm\"}");
	m.u.reassigned.why = OUT_WHY_REP_AWAY;
	check_encode(&m, 4, "{\"v\":1,\"type\":\"handoff.reassigned\",\"seq\":4,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\",\"from\":null,"
	    "\"to\":\"rep.b\",\"team\":\"emea\",\"why\":\"rep_away\"}");

	m = (out_msg_t){ .type = OUT_HANDOFF_RECYCLED, .u.recycled = {
		.lead_key = "L-1", .source = "marketo", .id = "00Q1",
		.email = "a@b.c", .reason = "no budget\nat all", .by = NULL } };
	check_encode(&m, 5, "{\"v\":1,\"type\":\"handoff.recycled\",\"seq\":5,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\","
	    "\"lead\":{\"source\":\"marketo\",\"id\":\"00Q1\",\"email\":\"a@b.c\"},"
	    "\"reason\":\"no budget\\nat all\",\"by\":null}");
}

static void
test_encode_sla(void **state)
{
	out_msg_t m = { .type = OUT_SLA_WARNING, .u.alert = {
		.lead_key = "L-1", .clock = "accept", .cycle = 1,
		.owner = "rep.a", .team = "emea",
		.started_at = utc(2026, 3, 10, 9, 0, 0, 0),
		.due_at = utc(2026, 3, 10, 13, 0, 0, 0), .fraction = 0.75,
		.goal_s = 14400 } };

	(void)state;
	check_encode(&m, 10, "{\"v\":1,\"type\":\"sla.warning\",\"seq\":10,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\",\"clock\":\"accept\","
	    "\"cycle\":1,\"owner\":\"rep.a\",\"team\":\"emea\","
	    "\"started_at\":\"2026-03-10T09:00:00Z\","
	    "\"due_at\":\"2026-03-10T13:00:00Z\",\"fraction\":0.75}");
	m.u.alert.fraction = 0.1;
	check_encode(&m, 10, "{\"v\":1,\"type\":\"sla.warning\",\"seq\":10,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\",\"clock\":\"accept\","
	    "\"cycle\":1,\"owner\":\"rep.a\",\"team\":\"emea\","
	    "\"started_at\":\"2026-03-10T09:00:00Z\","
	    "\"due_at\":\"2026-03-10T13:00:00Z\",\"fraction\":0.1}");

	m.type = OUT_SLA_BREACHED;
	m.u.alert.owner = NULL;
	check_encode(&m, 11, "{\"v\":1,\"type\":\"sla.breached\",\"seq\":11,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\",\"clock\":\"accept\","
	    "\"cycle\":1,\"owner\":null,\"team\":\"emea\","
	    "\"started_at\":\"2026-03-10T09:00:00Z\","
	    "\"due_at\":\"2026-03-10T13:00:00Z\",\"goal_s\":14400}");

	m = (out_msg_t){ .type = OUT_SLA_ESCALATED, .u.escalated = {
		.lead_key = "L-1", .clock = "touch", .cycle = 2, .level = 2,
		.to = "reassign", .overdue_s = 7200 } };
	check_encode(&m, 12, "{\"v\":1,\"type\":\"sla.escalated\",\"seq\":12,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\",\"clock\":\"touch\","
	    "\"cycle\":2,\"level\":2,\"to\":\"reassign\",\"overdue_s\":7200}");

	m = (out_msg_t){ .type = OUT_SLA_RESOLVED, .u.stop = {
		.lead_key = "L-1", .clock = "accept", .cycle = 1,
		.stopped_at = utc(2026, 3, 10, 15, 0, 0, 1), .overdue_s = 7200 } };
	check_encode(&m, 13, "{\"v\":1,\"type\":\"sla.resolved\",\"seq\":13,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\",\"clock\":\"accept\","
	    "\"cycle\":1,\"stopped_at\":\"2026-03-10T15:00:00.000001Z\","
	    "\"overdue_s\":7200}");

	m.type = OUT_SLA_RETRACTED;
	check_encode(&m, 14, "{\"v\":1,\"type\":\"sla.retracted\",\"seq\":14,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L-1\",\"clock\":\"accept\","
	    "\"cycle\":1,\"stopped_at\":\"2026-03-10T15:00:00.000001Z\"}");

	m = (out_msg_t){ .type = OUT_SLA_TARGET_MISSED, .u.target_missed = {
		.target = "mql-volume", .metric = "mql_count",
		.period_start = utc(2026, 3, 2, 0, 0, 0, 0),
		.period_end = utc(2026, 3, 9, 0, 0, 0, 0),
		.goal = 120, .actual = 87.5, .team = NULL } };
	check_encode(&m, 15, "{\"v\":1,\"type\":\"sla.target_missed\","
	    "\"seq\":15,\"emitted_at\":\"" T0 "\",\"target\":\"mql-volume\","
	    "\"metric\":\"mql_count\",\"period_start\":\"2026-03-02T00:00:00Z\","
	    "\"period_end\":\"2026-03-09T00:00:00Z\",\"goal\":120,"
	    "\"actual\":87.5,\"team\":null}");
	m.u.target_missed.goal = 0.35;
	m.u.target_missed.actual = 1.0 / 3;
	m.u.target_missed.team = "emea";
	check_encode(&m, 16, "{\"v\":1,\"type\":\"sla.target_missed\","
	    "\"seq\":16,\"emitted_at\":\"" T0 "\",\"target\":\"mql-volume\","
	    "\"metric\":\"mql_count\",\"period_start\":\"2026-03-02T00:00:00Z\","
	    "\"period_end\":\"2026-03-09T00:00:00Z\",\"goal\":0.35,"
	    "\"actual\":0.3333333333333333,\"team\":\"emea\"}");
}

static void
test_encode_reconcile_and_heartbeat(void **state)
{
	const char *keys[] = { "L-1", "L-2" };
	out_msg_t m = { .type = OUT_RECONCILE_UNMATCHED, .u.unmatched = {
		.source = "salesforce", .id = "sf-1", .type = EV_SALES_ACCEPTED,
		.ref = { .crm_id = "00Q1", .email = "A@b.c",
		    .email_norm = "a@b.c" },
		.waited_s = 3600 } };

	(void)state;
	check_encode(&m, 20, "{\"v\":1,\"type\":\"reconcile.unmatched\","
	    "\"seq\":20,\"emitted_at\":\"" T0 "\","
	    "\"event\":{\"source\":\"salesforce\",\"id\":\"sf-1\","
	    "\"type\":\"sales.accepted\"},\"lead_ref\":{\"lead_key\":null,"
	    "\"crm_id\":\"00Q1\",\"email\":\"A@b.c\"},\"waited_s\":3600}");

	m = (out_msg_t){ .type = OUT_RECONCILE_CONFLICT, .u.conflict = {
		.kind = "email_and_crm_id", .lead_keys = keys, .nlead_keys = 2,
		.detail = "crm_id 00Q1 and email a@b.c name different leads" } };
	check_encode(&m, 21, "{\"v\":1,\"type\":\"reconcile.conflict\","
	    "\"seq\":21,\"emitted_at\":\"" T0 "\",\"kind\":\"email_and_crm_id\","
	    "\"lead_keys\":[\"L-1\",\"L-2\"],"
	    "\"detail\":\"crm_id 00Q1 and email a@b.c name different leads\"}");

	m = (out_msg_t){ .type = OUT_BUS_HEARTBEAT };
	check_encode(&m, 0, "{\"v\":1,\"type\":\"bus.heartbeat\",\"seq\":0,"
	    "\"emitted_at\":\"" T0 "\"}");
	check_encode(&m, 9007199254740993, "{\"v\":1,\"type\":\"bus.heartbeat\","
	    "\"seq\":9007199254740993,\"emitted_at\":\"" T0 "\"}");
}

/* Strings that are not UTF-8 cannot come from validated input, but the
 * encoder must still write valid JSON if one slips through. */
static void
test_encode_repairs_utf8(void **state)
{
	out_msg_t m = { .type = OUT_SLA_RETRACTED, .u.stop = {
		.lead_key = "L\xff" "1", .clock = "a\xc3", .cycle = 1,
		.stopped_at = 0 } };

	(void)state;
	check_encode(&m, 1, "{\"v\":1,\"type\":\"sla.retracted\",\"seq\":1,"
	    "\"emitted_at\":\"" T0 "\",\"lead_key\":\"L\xef\xbf\xbd" "1\","
	    "\"clock\":\"a\xef\xbf\xbd\",\"cycle\":1,"
	    "\"stopped_at\":\"1970-01-01T00:00:00Z\"}");
}

/* What codec_encode writes, codec's own JSON parser reads back. */
static void
test_encode_roundtrip(void **state)
{
	out_msg_t m = { .type = OUT_HANDOFF_RECYCLED, .u.recycled = {
		.lead_key = "L-\x01\x1f\"\\/", .source = "s", .id = "i",
		.reason = "\xf0\x9f\x98\x80", .by = "rep" } };
	jdoc_t *d = jdoc_new();
	arena_t *a = arena_new(4096);
	const jdoc_node_t *root, *n;
	char err[64], *s;
	size_t len;

	(void)state;
	s = codec_encode(&m, 7, t0(), &len);
	assert_int_equal(jdoc_parse(d, a, s, len, &root, err, sizeof(err)), 0);
	n = JDOC_GET(root, "lead_key");
	assert_int_equal(n->len, 7);
	assert_memory_equal(n->s, "L-\x01\x1f\"\\/", 7);
	n = JDOC_GET(root, "reason");
	assert_memory_equal(n->s, "\xf0\x9f\x98\x80", 4);
	assert_int_equal(JDOC_GET(root, "seq")->i, 7);
	free(s);
	jdoc_destroy(&d);
	arena_destroy(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_examples_valid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_examples_invalid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_normalisation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_attributes_and_profile, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_amount_literal, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_echo_on_failure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_max_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arena_keeps_earlier_events,
		    setup, teardown),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test_setup_teardown(test_unknown_type_shown_safely,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_members, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_errlen_bounds, setup,
		    teardown),
		cmocka_unit_test(test_jdoc_tree),
		cmocka_unit_test(test_jdoc_long_escaped_string),
		cmocka_unit_test(test_jdoc_key_display),
		cmocka_unit_test(test_encode_handoff),
		cmocka_unit_test(test_encode_sla),
		cmocka_unit_test(test_encode_reconcile_and_heartbeat),
		cmocka_unit_test(test_encode_repairs_utf8),
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_jquote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
