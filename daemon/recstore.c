/*
 * The database side of reconciliation: the batch hook that loads the state
 * a batch needs with set-based queries (identities, deals, pending events
 * that the batch's new identities unlock, lead rows and logs), runs the
 * pure core (reconcile.c) and writes back what it decided with COPY and a
 * few multi-row statements, all inside the batch's transaction. It also
 * keeps the event clock and publishes reconcile.unmatched once per waiting
 * event when its grace has passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/codec.h"
#include "handoff/jdoc.h"
#include "handoff/log.h"
#include "handoff/pgcopy.h"
#include "handoff/recstore.h"
#include "handoff/reconcile.h"
#include "handoff/routestore.h"
#include "handoff/slastore.h"

#define PENDING_ROUNDS 8
#define UNMATCHED_PER_TX 1000

/* A stored stage_history row of a lead the batch loaded. */
typedef struct {
	int64_t lead_id;
	int pass;
	recon_stage_t stage;
	ts_t entered_at;
	const char *source, *event_id;
} stored_hist_t;

struct recstore {
	const cfg_t *cfg;
	slastore_t *sla;
	codec_t *codec;
	jdoc_t *jdoc;
	jquote_t *jq;		/* string literals for stored profiles */
	sbuf_t lit;		/* jq's output, one literal at a time */
	ts_t event_now; /* event mode: the largest occurred_at seen */
	bool clock_loaded;
	char *err;
	sbuf_t buf, arr[6];
	sbuf_t newbuf;       /* the rows of leads new in the batch */
	stored_hist_t *hist; /* this batch's, in its arena, by lead_id */
	size_t nhist;
	/* After a reload: reps it set away, whose open MQLs move (SPEC §4),
	 * and whether the unroutable waiting leads are tried again. */
	char **away;
	size_t naway;
	bool retry_unroutable;
	bool queue_empty; /* routing_waiting left empty by the last batch */
	bool leads_staged; /* handoff_leads has rows of this transaction */
};

recstore_t *
recstore_new(const cfg_t *cfg, char **err)
{
	recstore_t *rs = xcalloc(1, sizeof(*rs));

	rs->cfg = cfg;
	rs->sla = slastore_new(cfg, err);
	if (rs->sla == NULL) {
		free(rs);
		return NULL;
	}
	rs->codec = codec_new();
	rs->jdoc = jdoc_new();
	rs->jq = jquote_new();
	sbuf_init(&rs->lit);
	sbuf_init(&rs->buf);
	sbuf_init(&rs->newbuf);
	for (size_t i = 0; i < ARRAY_LEN(rs->arr); i++)
		sbuf_init(&rs->arr[i]);
	return rs;
}

void
recstore_destroy(recstore_t **p)
{
	recstore_t *rs;

	if (p == NULL || *p == NULL)
		return;
	rs = *p;
	slastore_destroy(&rs->sla);
	codec_destroy(&rs->codec);
	jdoc_destroy(&rs->jdoc);
	jquote_destroy(&rs->jq);
	sbuf_free(&rs->lit);
	sbuf_free(&rs->buf);
	sbuf_free(&rs->newbuf);
	for (size_t i = 0; i < ARRAY_LEN(rs->arr); i++)
		sbuf_free(&rs->arr[i]);
	free(rs->err);
	for (size_t i = 0; i < rs->naway; i++)
		free(rs->away[i]);
	free(rs->away);
	free(rs);
	*p = NULL;
}

/* Whether rep id is an available (not away) rep of some team of cfg. */
static bool
rep_present(const cfg_t *cfg, const char *id)
{
	for (size_t t = 0; t < cfg->nteams; t++)
		for (size_t k = 0; k < cfg->teams[t].nreps; k++)
			if (strcmp(cfg->teams[t].reps[k].id, id) == 0 &&
			    !cfg->teams[t].reps[k].away)
				return true;
	return false;
}

int
recstore_set_config(recstore_t *rs, const cfg_t *cfg, char **err)
{
	if (slastore_set_config(rs->sla, cfg, err) == -1)
		return -1;
	/*
	 * Reps that were available and are now away (or gone): their open,
	 * unaccepted MQLs are reassigned in the next batch.
	 */
	if (rs->cfg != NULL && rs->cfg != cfg) {
		const cfg_t *old = rs->cfg;

		for (size_t t = 0; t < old->nteams; t++)
			for (size_t k = 0; k < old->teams[t].nreps; k++) {
				const char *id = old->teams[t].reps[k].id;
				bool dup = false;

				if (old->teams[t].reps[k].away ||
				    rep_present(cfg, id))
					continue;
				for (size_t i = 0; i < rs->naway; i++)
					dup = dup || strcmp(rs->away[i], id) == 0;
				if (dup)
					continue;
				rs->away = xreallocarray(rs->away, rs->naway + 1,
				    sizeof(*rs->away));
				rs->away[rs->naway++] = xstrdup(id);
			}
		rs->retry_unroutable = true;
	}
	rs->cfg = cfg;
	return 0;
}

ts_t
recstore_next_due(const recstore_t *rs)
{
	return slastore_next_due(rs->sla);
}

ts_t
recstore_now(const recstore_t *rs)
{
	if (rs->cfg->clock_mode == CLOCK_EVENT)
		return rs->event_now;
	return ts_now();
}

const char *
recstore_error(const recstore_t *rs)
{
	return rs->err != NULL ? rs->err : "no error";
}

static void
seterr(recstore_t *rs, char *e)
{
	free(rs->err);
	rs->err = e;
}

static PGresult *
query(recstore_t *rs, PGconn *c, const char *sql, int n,
    const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_COMMAND_OK) {
		char *m = xasprintf("%s", PQresultErrorMessage(r));
		size_t k = strlen(m);

		while (k > 0 && (m[k - 1] == '\n' || m[k - 1] == ' '))
			m[--k] = '\0';
		seterr(rs, m);
		PQclear(r);
		return NULL;
	}
	return r;
}

static int64_t
getll(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 :
	    strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static const char *
getstr(arena_t *a, const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return arena_strndup(a, PQgetvalue(r, row, col),
	    (size_t)PQgetlength(r, row, col));
}

/* The event clock, once per connection. */
static int
load_clock(recstore_t *rs, PGconn *c)
{
	PGresult *r;

	if (rs->clock_loaded)
		return 0;
	r = query(rs, c, "SELECT (extract(epoch FROM event_now) * 1000000)"
	    "::bigint FROM clock_state", 0, NULL);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		ts_t t = getll(r, 0, 0);

		if (t > rs->event_now)
			rs->event_now = t;
	}
	PQclear(r);
	rs->clock_loaded = true;
	return 0;
}

void
recstore_reset_connection(recstore_t *rs)
{
	rs->clock_loaded = false;
}

/* Splits "source deal_id" keys into two arrays. */
static void
split_keys(arena_t *a, const char *const *keys, size_t n, const char ***src,
    const char ***ids)
{
	*src = arena_alloc(a, (n + 1) * sizeof(char *));
	*ids = arena_alloc(a, (n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *sp = strchr(keys[i], ' ');

		(*src)[i] = arena_strndup(a, keys[i], (size_t)(sp - keys[i]));
		(*ids)[i] = sp + 1;
	}
}

static int
load_identities(recstore_t *rs, PGconn *c, recon_t *r, arena_t *a,
    const recon_keys_t *k)
{
	const char *p[6];
	const char **dsrc, **did;
	PGresult *res;
	size_t total = k->ndeals;

	for (int i = 0; i < ID__COUNT; i++)
		total += k->n[i];
	if (total == 0)
		return 0;
	for (int i = 0; i < ID__COUNT; i++) {
		sbuf_reset(&rs->arr[i]);
		pgcopy_array(&rs->arr[i], k->v[i], k->n[i]);
		p[i] = rs->arr[i].s;
	}
	split_keys(a, k->deals, k->ndeals, &dsrc, &did);
	sbuf_reset(&rs->arr[4]);
	pgcopy_array(&rs->arr[4], dsrc, k->ndeals);
	sbuf_reset(&rs->arr[5]);
	pgcopy_array(&rs->arr[5], did, k->ndeals);
	p[4] = rs->arr[4].s;
	p[5] = rs->arr[5].s;
	res = query(rs, c,
	    /*
	     * One index probe of the primary key per key and kind: an OR of
	     * "= ANY" lets the planner choose a scan of the whole table, and
	     * so does a plain join once the table has outgrown its
	     * statistics (a hash join over every identity of the kind). The
	     * OFFSET 0 keeps each lateral subquery a subquery, so the probe
	     * per key is the only plan there is.
	     */
	    "SELECT 'mkt', k.v, i.lead_id FROM unnest($1::text[]) k(v) "
	    "CROSS JOIN LATERAL (SELECT lead_id FROM lead_identities "
	    "WHERE kind = 'mkt' AND value = k.v OFFSET 0) i "
	    "UNION ALL SELECT 'crm', k.v, i.lead_id FROM unnest($2::text[]) "
	    "k(v) CROSS JOIN LATERAL (SELECT lead_id FROM lead_identities "
	    "WHERE kind = 'crm' AND value = k.v OFFSET 0) i "
	    "UNION ALL SELECT 'email', k.v, i.lead_id FROM unnest($3::text[]) "
	    "k(v) CROSS JOIN LATERAL (SELECT lead_id FROM lead_identities "
	    "WHERE kind = 'email' AND value = k.v OFFSET 0) i "
	    "UNION ALL SELECT 'key', k.v, l.id FROM unnest($4::text[]) k(v) "
	    "CROSS JOIN LATERAL (SELECT id FROM leads WHERE lead_key = k.v "
	    "OFFSET 0) l", 4, p);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *kind = PQgetvalue(res, i, 0);
		recon_idkind_t kk = strcmp(kind, "mkt") == 0 ? ID_MKT :
		    strcmp(kind, "crm") == 0 ? ID_CRM :
		    strcmp(kind, "email") == 0 ? ID_EMAIL : ID_KEY;

		recon_add_identity(r, kk, getstr(a, res, i, 1),
		    getll(res, i, 2));
	}
	PQclear(res);
	if (k->ndeals == 0)
		return 0;
	res = query(rs, c,
	    "SELECT d.source, d.deal_id, d.lead_id, d.name, d.amount::text, "
	    "d.currency, d.stage, (extract(epoch FROM d.stage_at) * 1000000)"
	    "::bigint, d.outcome, (extract(epoch FROM d.closed_at) * 1000000)"
	    "::bigint, d.close_reason, (extract(epoch FROM d.opened_at) * "
	    "1000000)::bigint, (extract(epoch FROM d.amount_at) * 1000000)"
	    "::bigint FROM deals d JOIN unnest($1::text[], "
	    "$2::text[]) AS k(s, i) ON d.source = k.s AND d.deal_id = k.i",
	    2, p + 4);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		recon_deal_t d;

		memset(&d, 0, sizeof(d));
		d.source = getstr(a, res, i, 0);
		d.deal_id = getstr(a, res, i, 1);
		d.lead_id = getll(res, i, 2);
		d.name = getstr(a, res, i, 3);
		d.amount = getstr(a, res, i, 4);
		d.currency = getstr(a, res, i, 5);
		d.stage = getstr(a, res, i, 6);
		d.stage_at = getll(res, i, 7);
		d.outcome = getstr(a, res, i, 8);
		d.closed_at = getll(res, i, 9);
		d.close_reason = getstr(a, res, i, 10);
		d.opened_at = getll(res, i, 11);
		d.amount_at = getll(res, i, 12);
		recon_add_deal(r, &d);
	}
	PQclear(res);
	return 0;
}

static int
alloc_ids(recstore_t *rs, PGconn *c, recon_t *r, size_t n)
{
	char num[24];
	const char *p[1] = { num };
	PGresult *res;
	int64_t *ids;

	if (n == 0)
		return 0;
	snprintf(num, sizeof(num), "%zu", n);
	res = query(rs, c, "SELECT nextval('lead_id_seq') FROM "
	    "generate_series(1, $1::integer)", 1, p);
	if (res == NULL)
		return -1;
	ids = xcalloc(n, sizeof(int64_t));
	for (int i = 0; i < PQntuples(res) && (size_t)i < n; i++)
		ids[i] = getll(res, i, 0);
	recon_add_ids(r, ids, (size_t)PQntuples(res));
	free(ids);
	PQclear(res);
	return 0;
}

/*
 * Pending events that the identities linked so far unlock: loads their
 * bodies from events, decodes them into the batch arena, and resolves
 * them, until no new identity unlocks more.
 */
static int
unlock_pending(recstore_t *rs, PGconn *c, recon_t *r, arena_t *a, ts_t now,
    outbox_t *o)
{
	for (int round = 0; round < PENDING_ROUNDS; round++) {
		recon_keys_t nk, k2;
		const char *p[4];
		const char **dsrc, **did, **dk;
		PGresult *res;
		size_t total = 0, n = 0;
		const event_t **evs;
		recon_result_t *rr;

		recon_new_keys(r, &nk);
		for (int i = 0; i < ID_KEY; i++)
			total += nk.n[i];
		total += nk.ndeals;
		if (total == 0)
			return 0;
		for (int i = 0; i < 3; i++) {
			sbuf_reset(&rs->arr[i]);
			pgcopy_array(&rs->arr[i], nk.v[i], nk.n[i]);
		}
		/* Deal keys are stored as "source deal_id" too. */
		split_keys(a, nk.deals, nk.ndeals, &dsrc, &did);
		dk = nk.deals;
		sbuf_reset(&rs->arr[3]);
		pgcopy_array(&rs->arr[3], dk, nk.ndeals);
		p[0] = rs->arr[ID_MKT].s;
		p[1] = rs->arr[ID_CRM].s;
		p[2] = rs->arr[ID_EMAIL].s;
		p[3] = rs->arr[3].s;
		/*
		 * Index probes only, as in load_identities: one per key on
		 * the partial index of its kind (an OR of "= ANY" reads the
		 * whole table), then one per waiting event for its body.
		 * UNION: an event may wait on several of the keys.
		 */
		res = query(rs, c,
		    "SELECT p.source, p.event_id, p.type, e.body FROM ("
		    "SELECT q.* FROM unnest($1::text[]) k(v) CROSS JOIN LATERAL "
		    "(SELECT source, event_id, type, occurred_at FROM "
		    "pending_events WHERE mkt = k.v OFFSET 0) q "
		    "UNION SELECT q.* FROM unnest($2::text[]) k(v) CROSS JOIN "
		    "LATERAL (SELECT source, event_id, type, occurred_at FROM "
		    "pending_events WHERE crm_id = k.v OFFSET 0) q "
		    "UNION SELECT q.* FROM unnest($3::text[]) k(v) CROSS JOIN "
		    "LATERAL (SELECT source, event_id, type, occurred_at FROM "
		    "pending_events WHERE email_norm = k.v OFFSET 0) q "
		    "UNION SELECT q.* FROM unnest($4::text[]) k(v) CROSS JOIN "
		    "LATERAL (SELECT source, event_id, type, occurred_at FROM "
		    "pending_events WHERE deal = k.v OFFSET 0) q) p "
		    "CROSS JOIN LATERAL (SELECT body FROM events WHERE "
		    "source = p.source AND event_id = p.event_id OFFSET 0) e "
		    "ORDER BY p.occurred_at, p.source, p.event_id", 4, p);
		if (res == NULL)
			return -1;
		if (PQntuples(res) == 0) {
			PQclear(res);
			continue;
		}
		evs = arena_alloc(a, (size_t)PQntuples(res) * sizeof(*evs));
		for (int i = 0; i < PQntuples(res); i++) {
			event_t *ev = arena_alloc(a, sizeof(*ev));
			const char *type = getstr(a, res, i, 2);
			const char *body = getstr(a, res, i, 3);
			char err[CODEC_ERRLEN];

			if (codec_decode(rs->codec, a, type, strlen(type), body,
			    strlen(body), 0, ev, err, sizeof(err)) == -1) {
				/* It was accepted once; the codec changed? */
				log_event(LOG_LVL_ERROR, PQgetvalue(res, i, 0),
				    PQgetvalue(res, i, 1), "pending event no "
				    "longer decodes: %s", err);
				continue;
			}
			evs[n++] = ev;
		}
		PQclear(res);
		recon_keys(r, evs, n, &k2);
		if (load_identities(rs, c, r, a, &k2) == -1)
			return -1;
		rr = arena_alloc(a, (n + 1) * sizeof(*rr));
		if (recon_resolve(r, evs, n, rr, true, now, o) == -1) {
			seterr(rs, xstrdup("lead id pool exhausted"));
			return -1;
		}
	}
	return 0;
}

/*
 * The stamp group of profile_at's "stamps" that names field, or NULL. A
 * group is [at, source, event_id, field, ...]; its first three members
 * are what the per-field array of the older layout held.
 */
static const jdoc_node_t *
stamp_of(const jdoc_node_t *stamps, const char *field)
{
	size_t len = strlen(field);

	for (const jdoc_node_t *g = stamps->first; g != NULL; g = g->next) {
		const jdoc_node_t *x = g->kind == JDOC_ARRAY ? g->first : NULL;

		for (int k = 0; k < 3 && x != NULL; k++)
			x = x->next;
		for (; x != NULL; x = x->next)
			if (x->kind == JDOC_STRING && x->len == len &&
			    memcmp(x->s, field, len) == 0)
				return g;
	}
	return NULL;
}

/*
 * Reads a lead's stored profile back into fields. profile_at is either
 * {"stamps": [[at, source, event_id, field, ...], ...]}, the fields set by
 * each event grouped (what profile_json writes), or the older
 * {field: [at, source, event_id], ...}, which rows keep until their lead
 * is next written.
 */
static void
load_profile(recstore_t *rs, arena_t *a, recon_lead_t *row,
    const char *profile, const char *profile_at)
{
	const jdoc_node_t *p, *at, *stamps;
	char err[128];

	if (jdoc_parse(rs->jdoc, a, profile, strlen(profile), &p, err,
	    sizeof(err)) == -1)
		return;
	{
		/* jdoc reuses its scratch per parse: keep p's strings first. */
		const jdoc_node_t *attrs = JDOC_GET(p, "attributes");
		size_t cap = p->len + (attrs != NULL ? attrs->len : 0) + 1;
		const char **names = arena_alloc(a, cap * sizeof(char *));
		const char **vals = arena_alloc(a, cap * sizeof(char *));
		size_t n = 0;

		for (const jdoc_node_t *f = p->first; f != NULL; f = f->next) {
			if (f->key_len == 10 && memcmp(f->key, "attributes",
			    10) == 0) {
				for (const jdoc_node_t *x = attrs->first;
				    x != NULL; x = x->next) {
					char *nm = arena_alloc(a, x->key_len + 12);

					memcpy(nm, "attributes.", 11);
					memcpy(nm + 11, x->key, x->key_len);
					nm[11 + x->key_len] = '\0';
					names[n] = nm;
					vals[n++] = x->kind == JDOC_STRING ?
					    arena_strndup(a, x->s, x->len) : NULL;
				}
				continue;
			}
			names[n] = arena_strndup(a, f->key, f->key_len);
			vals[n++] = f->kind == JDOC_STRING ?
			    arena_strndup(a, f->s, f->len) :
			    f->kind == JDOC_NUMBER ?
			    arena_strndup(a, f->s, f->len) : NULL;
		}
		if (jdoc_parse(rs->jdoc, a, profile_at, strlen(profile_at), &at,
		    err, sizeof(err)) == -1)
			return;
		stamps = JDOC_GET(at, "stamps");
		if (stamps != NULL && stamps->kind != JDOC_ARRAY)
			stamps = NULL;
		row->fields = xcalloc(n + 1, sizeof(recon_field_t));
		row->nfields = 0;
		for (size_t i = 0; i < n; i++) {
			const jdoc_node_t *t, *x;
			recon_field_t *f = &row->fields[row->nfields];
			bool num = strcmp(names[i], "score") == 0;

			t = stamps != NULL ? stamp_of(stamps, names[i]) :
			    jdoc_get(at, names[i], strlen(names[i]));
			if (vals[i] == NULL || t == NULL || t->kind != JDOC_ARRAY)
				continue;
			f->name = names[i];
			if (num) {
				f->value = vals[i];
			} else {
				/* Back to a JSON string literal. */
				sbuf_reset(&rs->lit);
				jquotes(rs->jq, &rs->lit, vals[i]);
				f->value = arena_strndup(a, rs->lit.s,
				    rs->lit.len);
			}
			x = t->first;
			f->at = x != NULL && x->is_int ? x->i : 0;
			x = x != NULL ? x->next : NULL;
			f->src = x != NULL ? arena_strndup(a, x->s, x->len) : NULL;
			x = x != NULL ? x->next : NULL;
			f->id = x != NULL ? arena_strndup(a, x->s, x->len) : NULL;
			row->nfields++;
		}
	}
}

static int
cmp_hist(const void *a, const void *b)
{
	const stored_hist_t *x = a, *y = b;

	if (x->lead_id != y->lead_id)
		return x->lead_id < y->lead_id ? -1 : 1;
	if (x->pass != y->pass)
		return x->pass < y->pass ? -1 : 1;
	return x->stage < y->stage ? -1 : x->stage > y->stage;
}

/*
 * The stored stage history of the leads in p[0] (an array literal), so
 * that write_history writes only the rows the fold changed.
 */
static int
load_history(recstore_t *rs, PGconn *c, arena_t *a, const char *const *p)
{
	PGresult *res = query(rs, c,
	    "SELECT k.id, h.pass, h.stage, (extract(epoch FROM h.entered_at) "
	    "* 1000000)::bigint, h.source, h.event_id FROM "
	    "unnest($1::bigint[]) k(id) CROSS JOIN LATERAL (SELECT * FROM "
	    "stage_history WHERE lead_id = k.id OFFSET 0) h", 1, p);
	size_t n = rs->nhist;
	stored_hist_t *all;

	if (res == NULL)
		return -1;
	/* Added to what this round loaded before (routing loads twice). */
	all = arena_alloc(a, (rs->nhist + (size_t)PQntuples(res) + 1) *
	    sizeof(*rs->hist));
	if (rs->nhist > 0)
		memcpy(all, rs->hist, rs->nhist * sizeof(*rs->hist));
	rs->hist = all;
	for (int i = 0; i < PQntuples(res); i++) {
		stored_hist_t *h = &rs->hist[n];
		int st = recon_stage_from_name(PQgetvalue(res, i, 2));

		if (st < 0)
			continue; /* the table's CHECK allows no other */
		h->lead_id = getll(res, i, 0);
		h->pass = (int)getll(res, i, 1);
		h->stage = (recon_stage_t)st;
		h->entered_at = getll(res, i, 3);
		h->source = getstr(a, res, i, 4);
		h->event_id = getstr(a, res, i, 5);
		n++;
	}
	PQclear(res);
	qsort(rs->hist, n, sizeof(*rs->hist), cmp_hist);
	rs->nhist = n;
	return 0;
}

static int
load_leads(recstore_t *rs, PGconn *c, recon_t *r, arena_t *a)
{
	int64_t *ids;
	size_t n = recon_leads_to_load(r, &ids);
	const char *p[1];
	PGresult *res;

	if (n == 0)
		return 0;
	sbuf_reset(&rs->buf);
	sbuf_addc(&rs->buf, '{');
	for (size_t i = 0; i < n; i++)
		sbuf_printf(&rs->buf, "%s%lld", i ? "," : "",
		    (long long)ids[i]);
	sbuf_addc(&rs->buf, '}');
	p[0] = rs->buf.s;
	res = query(rs, c,
	    "SELECT id, lead_key, source, mkt_id, email, email_norm, stage, "
	    "(extract(epoch FROM stage_at) * 1000000)::bigint, pass, owner, "
	    "team, profile::text, profile_at::text, touches, "
	    "(extract(epoch FROM first_seen) * 1000000)::bigint "
	    "FROM leads WHERE id = ANY($1::bigint[])", 1, p);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		recon_lead_t row;
		int st;

		memset(&row, 0, sizeof(row));
		row.id = getll(res, i, 0);
		row.lead_key = (char *)getstr(a, res, i, 1);
		row.source = getstr(a, res, i, 2);
		row.mkt_id = getstr(a, res, i, 3);
		row.email = getstr(a, res, i, 4);
		row.email_norm = getstr(a, res, i, 5);
		st = recon_stage_from_name(PQgetvalue(res, i, 6));
		row.stage = st < 0 ? STAGE_LEAD : (recon_stage_t)st;
		row.stage_at = getll(res, i, 7);
		row.pass = (int)getll(res, i, 8);
		row.owner = getstr(a, res, i, 9);
		row.team = getstr(a, res, i, 10);
		row.touches = (int)getll(res, i, 13);
		row.first_seen = getll(res, i, 14);
		load_profile(rs, a, &row, PQgetvalue(res, i, 11),
		    PQgetvalue(res, i, 12));
		recon_add_lead(r, &row);
		free(row.fields);
	}
	PQclear(res);
	/*
	 * The logs and stored histories, one index probe per lead (see
	 * load_identities): with "lead_id = ANY" the planner reads the whole
	 * table while it is small enough for its cost model, which the
	 * benchmark's tables stay for a million events, and each batch then
	 * costs in proportion to everything stored.
	 */
	res = query(rs, c,
	    "SELECT k.id, (extract(epoch FROM g.occurred_at) * 1000000)"
	    "::bigint, g.source, g.event_id, g.type, g.owner, g.team, "
	    "g.reason, g.deal_id, g.outcome FROM unnest($1::bigint[]) k(id) "
	    "CROSS JOIN LATERAL (SELECT * FROM lead_log WHERE lead_id = k.id "
	    "OFFSET 0) g", 1, p);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		recon_log_t e;

		memset(&e, 0, sizeof(e));
		if (recon_log_type_parse(PQgetvalue(res, i, 4),
		    (size_t)PQgetlength(res, i, 4), &e) == -1)
			continue;
		e.occurred_at = getll(res, i, 1);
		e.source = getstr(a, res, i, 2);
		e.event_id = getstr(a, res, i, 3);
		e.owner = getstr(a, res, i, 5);
		e.team = getstr(a, res, i, 6);
		e.reason = getstr(a, res, i, 7);
		e.deal_id = getstr(a, res, i, 8);
		e.outcome = getstr(a, res, i, 9);
		recon_add_log(r, getll(res, i, 0), &e);
	}
	PQclear(res);
	return load_history(rs, c, a, p);
}

static bool
same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static bool
same_stamp(const recon_field_t *x, const recon_field_t *y)
{
	return x->at == y->at && same_str(x->src, y->src) &&
	    same_str(x->id, y->id);
}

/*
 * profile and profile_at as JSON text. profile_at groups the fields by the
 * event that set them, {"stamps": [[at, source, event_id, field, ...]]}:
 * most of a lead's fields come from one or two events, and naming each
 * event once instead of once per field halves the lead's row.
 */
static void
profile_json(jquote_t *jq, const recon_lead_t *l, sbuf_t *p, sbuf_t *at)
{
	bool first = true, anyattr = false, firstg = true;

	sbuf_adds(at, "{\"stamps\":[");
	for (size_t i = 0; i < l->nfields; i++) {
		const recon_field_t *f = &l->fields[i];
		size_t j;

		for (j = 0; j < i && !same_stamp(&l->fields[j], f); j++)
			;
		if (j < i)
			continue;	/* its group is written already */
		sbuf_adds(at, firstg ? "[" : ",[");
		firstg = false;
		sbuf_printf(at, "%lld,", (long long)f->at);
		jquotes(jq, at, f->src);
		sbuf_addc(at, ',');
		jquotes(jq, at, f->id);
		for (j = i; j < l->nfields; j++)
			if (same_stamp(&l->fields[j], f)) {
				sbuf_addc(at, ',');
				jquote(jq, at, l->fields[j].name,
				    strlen(l->fields[j].name));
			}
		sbuf_addc(at, ']');
	}
	sbuf_adds(at, "]}");
	sbuf_addc(p, '{');
	for (size_t i = 0; i < l->nfields; i++) {
		const recon_field_t *f = &l->fields[i];

		if (strncmp(f->name, "attributes.", 11) == 0) {
			anyattr = true;
			continue;
		}
		sbuf_adds(p, first ? "" : ",");
		first = false;
		jquote(jq, p, f->name, strlen(f->name));
		sbuf_addc(p, ':');
		sbuf_adds(p, f->value);
	}
	if (anyattr) {
		bool af = true;

		sbuf_adds(p, first ? "" : ",");
		sbuf_adds(p, "\"attributes\":{");
		for (size_t i = 0; i < l->nfields; i++) {
			const recon_field_t *f = &l->fields[i];

			if (strncmp(f->name, "attributes.", 11) != 0)
				continue;
			sbuf_adds(p, af ? "" : ",");
			af = false;
			jquote(jq, p, f->name + 11, strlen(f->name + 11));
			sbuf_addc(p, ':');
			sbuf_adds(p, f->value);
		}
		sbuf_addc(p, '}');
	}
	sbuf_addc(p, '}');
}

/* The index of the first stored history row of lead id (or after). */
static size_t
stored_first(const recstore_t *rs, int64_t id)
{
	size_t lo = 0, hi = rs->nhist;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs->hist[mid].lead_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
same_hist(const recon_hist_t *x, const stored_hist_t *o)
{
	return x->entered_at == o->entered_at &&
	    same_str(x->source, o->source) &&
	    same_str(x->event_id, o->event_id);
}

/* Of the rows [from, to) of rs->hist, the one for (pass, stage), or NULL. */
static const stored_hist_t *
stored_find(const recstore_t *rs, size_t from, size_t to, int pass,
    recon_stage_t stage)
{
	for (size_t k = from; k < to; k++)
		if (rs->hist[k].pass == pass && rs->hist[k].stage == stage)
			return &rs->hist[k];
	return NULL;
}

/* Of the fold's history of l, the row for (pass, stage), or NULL. */
static const recon_hist_t *
fold_find(const recon_lead_t *l, int pass, recon_stage_t stage)
{
	for (size_t h = 0; h < l->nhist; h++)
		if (l->hist[h].pass == pass && l->hist[h].stage == stage)
			return &l->hist[h];
	return NULL;
}

/*
 * Writes the stage history the fold gave each refolded lead, but only
 * the rows that differ from the stored ones: most events (a touch, an
 * event that does not move the stage) leave the history as it was, and
 * rewriting it whole cost a delete and an insert of every row of every
 * touched lead, with their index entries and foreign-key checks. Rows
 * that went or changed are deleted by their key, then the new and the
 * changed ones copied in.
 */
static int
write_history(recstore_t *rs, PGconn *c, recon_lead_t *const *ls, size_t n)
{
	sbuf_t *dl = &rs->arr[0], *dp = &rs->arr[1], *ds = &rs->arr[2];
	size_t ndel = 0, nins = 0;
	char *err = NULL;

	sbuf_reset(&rs->buf);
	sbuf_reset(dl);
	sbuf_reset(dp);
	sbuf_reset(ds);
	for (size_t i = 0; i < n; i++) {
		const recon_lead_t *l = ls[i];
		size_t from, to;

		/* A profile-only change leaves the history as it is. */
		if (!l->dirty || !l->refold)
			continue;
		from = to = stored_first(rs, l->id);
		while (to < rs->nhist && rs->hist[to].lead_id == l->id)
			to++;
		for (size_t k = from; k < to; k++) {
			const stored_hist_t *o = &rs->hist[k];
			const recon_hist_t *x = fold_find(l, o->pass, o->stage);

			if (x != NULL && same_hist(x, o))
				continue;
			sbuf_printf(dl, "%s%lld", ndel ? "," : "{",
			    (long long)o->lead_id);
			sbuf_printf(dp, "%s%d", ndel ? "," : "{", o->pass);
			sbuf_printf(ds, "%s%s", ndel ? "," : "{",
			    recon_stage_name(o->stage));
			ndel++;
		}
		for (size_t h = 0; h < l->nhist; h++) {
			const recon_hist_t *x = &l->hist[h];
			const stored_hist_t *o = stored_find(rs, from, to,
			    x->pass, x->stage);

			if (o != NULL && same_hist(x, o))
				continue;
			pgcopy_int(&rs->buf, l->id);
			pgcopy_sep(&rs->buf);
			pgcopy_int(&rs->buf, x->pass);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, recon_stage_name(x->stage));
			pgcopy_sep(&rs->buf);
			pgcopy_ts(&rs->buf, x->entered_at);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, x->source);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, x->event_id);
			pgcopy_end(&rs->buf);
			nins++;
		}
	}
	if (ndel > 0) {
		const char *p[3];
		PGresult *res;

		sbuf_addc(dl, '}');
		sbuf_addc(dp, '}');
		sbuf_addc(ds, '}');
		p[0] = dl->s;
		p[1] = dp->s;
		p[2] = ds->s;
		res = query(rs, c, "DELETE FROM stage_history h USING "
		    "unnest($1::bigint[], $2::integer[], $3::text[]) "
		    "AS k(lead_id, pass, stage) WHERE h.lead_id = k.lead_id "
		    "AND h.pass = k.pass AND h.stage = k.stage", 3, p);
		if (res == NULL)
			return -1;
		PQclear(res);
	}
	if (nins > 0 && pgcopy_run(c, "COPY stage_history (lead_id, pass, "
	    "stage, entered_at, source, event_id) FROM STDIN", &rs->buf,
	    &err) == -1) {
		seterr(rs, err);
		return -1;
	}
	return 0;
}

static int
write_leads(recstore_t *rs, PGconn *c, recon_t *r, arena_t *a)
{
	size_t n;
	recon_lead_t **ls = recon_leads(r, &n);
	sbuf_t p, at;
	char *err = NULL;
	bool any = false;

	sbuf_reset(&rs->buf);
	sbuf_reset(&rs->newbuf);
	sbuf_init(&p);
	sbuf_init(&at);
	for (size_t i = 0; i < n; i++) {
		const recon_lead_t *l = ls[i];
		const char *score;
		sbuf_t *b = l->is_new ? &rs->newbuf : &rs->buf;

		if (!l->dirty)
			continue;
		any = true;
		sbuf_reset(&p);
		sbuf_reset(&at);
		profile_json(rs->jq, l, &p, &at);
		pgcopy_int(b, l->id);
		pgcopy_sep(b);
		pgcopy_str(b, l->lead_key);
		pgcopy_sep(b);
		pgcopy_str(b, l->source);
		pgcopy_sep(b);
		pgcopy_str(b, l->mkt_id);
		pgcopy_sep(b);
		pgcopy_str(b, l->email);
		pgcopy_sep(b);
		pgcopy_str(b, l->email_norm);
		pgcopy_sep(b);
		pgcopy_str(b, recon_stage_name(l->stage));
		pgcopy_sep(b);
		pgcopy_ts(b, l->stage_at);
		pgcopy_sep(b);
		pgcopy_int(b, l->pass);
		pgcopy_sep(b);
		sbuf_addc(b, '{');
		{
			bool f = true;

			for (int s = 0; s < STAGE__COUNT; s++) {
				char tb[TS_BUFLEN];

				if (l->stages[s] == 0)
					continue;
				ts_format(l->stages[s], tb);
				sbuf_printf(b, "%s\"%s\":\"%s\"",
				    f ? "" : ",", recon_stage_name(
				    (recon_stage_t)s), tb);
				f = false;
			}
		}
		sbuf_addc(b, '}');
		pgcopy_sep(b);
		pgcopy_str(b, l->owner);
		pgcopy_sep(b);
		pgcopy_str(b, l->team);
		pgcopy_sep(b);
		pgcopy_text(b, p.s, p.len);
		pgcopy_sep(b);
		pgcopy_text(b, at.s, at.len);
		pgcopy_sep(b);
		pgcopy_str(b, recon_field_plain(a, l, "segment"));
		pgcopy_sep(b);
		pgcopy_str(b, recon_field_plain(a, l, "country"));
		pgcopy_sep(b);
		pgcopy_str(b, recon_field_plain(a, l, "campaign"));
		pgcopy_sep(b);
		score = recon_field_plain(a, l, "score");
		pgcopy_str(b, score);
		pgcopy_sep(b);
		pgcopy_int(b, l->touches);
		pgcopy_sep(b);
		pgcopy_ts(b, l->first_touch_at);
		pgcopy_sep(b);
		pgcopy_ts(b, l->connected_at);
		pgcopy_sep(b);
		pgcopy_ts(b, l->first_seen);
		pgcopy_end(b);
	}
	sbuf_free(&p);
	sbuf_free(&at);
	if (!any)
		return 0;
	/*
	 * The leads this batch created go straight into the table; the
	 * others through the temporary table and an upsert, which finds
	 * each one by its primary key whatever the statistics say.
	 */
	if (rs->newbuf.len > 0 && pgcopy_run(c, "COPY leads (id, lead_key, "
	    "source, mkt_id, email, email_norm, stage, stage_at, pass, stages, "
	    "owner, team, profile, profile_at, segment, country, campaign, "
	    "score, touches, first_touch_at, connected_at, first_seen) FROM "
	    "STDIN", &rs->newbuf, &err) == -1) {
		seterr(rs, err);
		return -1;
	}
	/*
	 * A second round of the batch (a reassignment) stages its leads
	 * anew: the first round's rows are still in the temporary table
	 * until the commit.
	 */
	if (rs->buf.len > 0 && rs->leads_staged &&
	    pgcopy_exec(c, "TRUNCATE handoff_leads", &err) == -1) {
		seterr(rs, err);
		return -1;
	}
	if (rs->buf.len > 0)
		rs->leads_staged = true;
	if (rs->buf.len > 0 && (pgcopy_run(c, "COPY handoff_leads (id, "
	    "lead_key, source, mkt_id, "
	    "email, email_norm, stage, stage_at, pass, stages, owner, team, "
	    "profile, profile_at, segment, country, campaign, score, touches, "
	    "first_touch_at, connected_at, first_seen) FROM STDIN", &rs->buf,
	    &err) == -1 ||
	    pgcopy_exec(c, "INSERT INTO leads (id, lead_key, source, mkt_id, "
	    "email, email_norm, stage, stage_at, pass, stages, owner, team, "
	    "profile, profile_at, segment, country, campaign, score, touches, "
	    "first_touch_at, connected_at, first_seen) SELECT id, lead_key, "
	    "source, mkt_id, email, email_norm, stage, stage_at, pass, stages, "
	    "owner, team, profile, profile_at, segment, country, campaign, "
	    "score, touches, first_touch_at, connected_at, first_seen FROM "
	    "handoff_leads ON CONFLICT (id) DO UPDATE SET email = "
	    "EXCLUDED.email, email_norm = EXCLUDED.email_norm, stage = "
	    "EXCLUDED.stage, stage_at = EXCLUDED.stage_at, pass = "
	    "EXCLUDED.pass, stages = EXCLUDED.stages, owner = EXCLUDED.owner, "
	    "team = EXCLUDED.team, profile = EXCLUDED.profile, profile_at = "
	    "EXCLUDED.profile_at, segment = EXCLUDED.segment, country = "
	    "EXCLUDED.country, campaign = EXCLUDED.campaign, score = "
	    "EXCLUDED.score, touches = EXCLUDED.touches, first_touch_at = "
	    "EXCLUDED.first_touch_at, connected_at = EXCLUDED.connected_at, "
	    "first_seen = EXCLUDED.first_seen, updated_at = now()", &err) ==
	    -1)) {
		seterr(rs, err);
		return -1;
	}

	return write_history(rs, c, ls, n);
}

/*
 * The log entries this batch added: the fold sorts each lead's log, so
 * they are told apart by the stored mark of the entries that were loaded.
 */
static int
write_log(recstore_t *rs, PGconn *c, recon_t *r)
{
	char *err = NULL;
	size_t nl;
	recon_lead_t **ls = recon_leads(r, &nl);
	size_t rows = 0;

	sbuf_reset(&rs->buf);
	for (size_t i = 0; i < nl; i++) {
		const recon_lead_t *l = ls[i];

		for (size_t k = 0; k < l->nlog; k++) {
			const recon_log_t *e = &l->log[k];

			if (e->stored)
				continue;
			pgcopy_int(&rs->buf, l->id);
			pgcopy_sep(&rs->buf);
			pgcopy_ts(&rs->buf, e->occurred_at);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->source);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->event_id);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, recon_log_type_name(e));
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->owner);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->team);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->reason);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->deal_id);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->outcome);
			pgcopy_end(&rs->buf);
			rows++;
		}
	}
	if (rows > 0 && pgcopy_run(c, "COPY lead_log (lead_id, occurred_at, "
	    "source, event_id, type, owner, team, reason, deal_id, outcome) "
	    "FROM STDIN", &rs->buf, &err) == -1) {
		seterr(rs, err);
		return -1;
	}
	return 0;
}

static int
write_identities(recstore_t *rs, PGconn *c, recon_t *r)
{
	size_t n;
	const recon_ident_t *ids = recon_idents(r, &n);
	char *err = NULL;
	size_t rows = 0;

	sbuf_reset(&rs->buf);
	for (size_t i = 0; i < n; i++) {
		if (ids[i].kind == ID_KEY)
			continue; /* the lead_key is a column of leads */
		pgcopy_str(&rs->buf, recon_idkind_name(ids[i].kind));
		pgcopy_sep(&rs->buf);
		pgcopy_str(&rs->buf, ids[i].value);
		pgcopy_sep(&rs->buf);
		pgcopy_int(&rs->buf, ids[i].lead_id);
		pgcopy_end(&rs->buf);
		rows++;
	}
	if (rows > 0 && pgcopy_run(c, "COPY lead_identities (kind, value, "
	    "lead_id) FROM STDIN", &rs->buf, &err) == -1) {
		seterr(rs, err);
		return -1;
	}
	return 0;
}

static int
write_deals(recstore_t *rs, PGconn *c, recon_t *r)
{
	size_t n, nh;
	recon_deal_t **ds = recon_deals(r, &n);
	const recon_dealhist_t *h = recon_dealhist(r, &nh);
	char *err = NULL;

	if (n > 0) {
		sbuf_reset(&rs->buf);
		for (size_t i = 0; i < n; i++) {
			const recon_deal_t *d = ds[i];

			pgcopy_str(&rs->buf, d->source);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, d->deal_id);
			pgcopy_sep(&rs->buf);
			pgcopy_int(&rs->buf, d->lead_id);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, d->name);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, d->amount);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, d->currency);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, d->stage);
			pgcopy_sep(&rs->buf);
			pgcopy_ts(&rs->buf, d->stage_at);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, d->outcome);
			pgcopy_sep(&rs->buf);
			pgcopy_ts(&rs->buf, d->closed_at);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, d->close_reason);
			pgcopy_sep(&rs->buf);
			pgcopy_ts(&rs->buf, d->opened_at);
			pgcopy_sep(&rs->buf);
			pgcopy_ts(&rs->buf, d->amount_at);
			pgcopy_end(&rs->buf);
		}
		if (pgcopy_run(c, "COPY handoff_deals (source, deal_id, lead_id, "
		    "name, amount, currency, stage, stage_at, outcome, "
		    "closed_at, close_reason, opened_at, amount_at) FROM STDIN",
		    &rs->buf, &err) == -1 ||
		    pgcopy_exec(c, "INSERT INTO deals (source, deal_id, lead_id, "
		    "name, amount, currency, stage, stage_at, outcome, closed_at, "
		    "close_reason, opened_at, amount_at) SELECT source, deal_id, "
		    "lead_id, name, amount, currency, stage, stage_at, outcome, "
		    "closed_at, close_reason, opened_at, amount_at FROM "
		    "handoff_deals ON CONFLICT (source, deal_id) DO UPDATE SET "
		    "amount_at = EXCLUDED.amount_at, name = "
		    "EXCLUDED.name, amount = EXCLUDED.amount, currency = "
		    "EXCLUDED.currency, stage = EXCLUDED.stage, stage_at = "
		    "EXCLUDED.stage_at, outcome = EXCLUDED.outcome, closed_at = "
		    "EXCLUDED.closed_at, close_reason = EXCLUDED.close_reason, "
		    "opened_at = EXCLUDED.opened_at", &err) == -1) {
			seterr(rs, err);
			return -1;
		}
	}
	if (nh > 0) {
		sbuf_reset(&rs->buf);
		for (size_t i = 0; i < nh; i++) {
			const event_t *e = h[i].ev;

			pgcopy_str(&rs->buf, h[i].source);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, h[i].deal_id);
			pgcopy_sep(&rs->buf);
			pgcopy_ts(&rs->buf, e->occurred_at);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->id);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, ev_type_name(e->type));
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->deal.stage);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->deal.amount);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, e->type == EV_DEAL_CLOSED ?
			    (e->deal.outcome == DEAL_WON ? "won" : "lost") : NULL);
			pgcopy_end(&rs->buf);
		}
		if (pgcopy_run(c, "COPY deal_history (source, deal_id, "
		    "occurred_at, event_id, type, stage, amount, outcome) FROM "
		    "STDIN", &rs->buf, &err) == -1) {
			seterr(rs, err);
			return -1;
		}
	}
	return 0;
}

static int
write_pending(recstore_t *rs, PGconn *c, recon_t *r)
{
	size_t n, nu;
	const recon_pending_t *p = recon_pendings(r, &n);
	const event_t *const *u = recon_unpended(r, &nu);
	char *err = NULL;

	if (n > 0) {
		sbuf_reset(&rs->buf);
		for (size_t i = 0; i < n; i++) {
			pgcopy_str(&rs->buf, p[i].ev->source);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, p[i].ev->id);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, ev_type_name(p[i].ev->type));
			pgcopy_sep(&rs->buf);
			pgcopy_ts(&rs->buf, p[i].ev->occurred_at);
			pgcopy_sep(&rs->buf);
			pgcopy_ts(&rs->buf, p[i].arrived);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, p[i].crm_id);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, p[i].email_norm);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, p[i].mkt);
			pgcopy_sep(&rs->buf);
			pgcopy_str(&rs->buf, p[i].deal);
			pgcopy_end(&rs->buf);
		}
		if (pgcopy_run(c, "COPY pending_events (source, event_id, type, "
		    "occurred_at, arrived, crm_id, email_norm, mkt, deal) FROM "
		    "STDIN", &rs->buf, &err) == -1) {
			seterr(rs, err);
			return -1;
		}
	}
	if (nu > 0) {
		const char **src = xcalloc(nu, sizeof(char *));
		const char **ids = xcalloc(nu, sizeof(char *));
		const char *pp[2];
		PGresult *res;

		for (size_t i = 0; i < nu; i++) {
			src[i] = u[i]->source;
			ids[i] = u[i]->id;
		}
		sbuf_reset(&rs->arr[0]);
		pgcopy_array(&rs->arr[0], src, nu);
		sbuf_reset(&rs->arr[1]);
		pgcopy_array(&rs->arr[1], ids, nu);
		free(src);
		free(ids);
		pp[0] = rs->arr[0].s;
		pp[1] = rs->arr[1].s;
		res = query(rs, c, "DELETE FROM pending_events p USING "
		    "unnest($1::text[], $2::text[]) AS k(s, i) "
		    "WHERE p.source = k.s AND p.event_id = k.i", 2, pp);
		if (res == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}

typedef struct {
	const char *source, *id, *type, *crm, *email, *key;
	ts_t arrived;
} due_t;

static int
cmp_due(const void *a, const void *b)
{
	const due_t *x = a, *y = b;
	int c;

	if (x->arrived != y->arrived)
		return x->arrived < y->arrived ? -1 : 1;
	if ((c = strcmp(x->source, y->source)) != 0)
		return c;
	return strcmp(x->id, y->id);
}

/* reconcile.unmatched for the waiting events whose grace has passed. */
static int
unmatched_due(recstore_t *rs, PGconn *c, arena_t *a, ts_t now, outbox_t *o)
{
	char limit[TS_BUFLEN];
	const char *p[1] = { limit };
	PGresult *res;
	due_t *d;
	int n;

	ts_format(now - rs->cfg->unmatched_grace_s * TS_USEC, limit);
	/*
	 * Each event's body is found and parsed once, for its lead_ref (it
	 * was three look-ups and three parses of the whole body).
	 */
	res = query(rs, c,
	    "WITH u AS (UPDATE pending_events SET notified = true WHERE "
	    "(source, event_id) IN (SELECT source, event_id FROM "
	    "pending_events WHERE NOT notified AND arrived <= $1::timestamptz "
	    "ORDER BY arrived LIMIT 1000 FOR UPDATE SKIP LOCKED) RETURNING "
	    "source, event_id, type, arrived) SELECT u.source, u.event_id, "
	    "u.type, e.r->>'crm_id', e.r->>'email', (extract(epoch FROM "
	    "u.arrived) * 1000000)::bigint, e.r->>'lead_key' FROM u "
	    "LEFT JOIN LATERAL (SELECT body->'lead_ref' AS r FROM events WHERE "
	    "source = u.source AND event_id = u.event_id OFFSET 0) e ON true",
	    1, p);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	d = arena_alloc(a, ((size_t)n + 1) * sizeof(*d));
	for (int i = 0; i < n; i++) {
		d[i].source = getstr(a, res, i, 0);
		d[i].id = getstr(a, res, i, 1);
		d[i].type = getstr(a, res, i, 2);
		d[i].crm = getstr(a, res, i, 3);
		d[i].email = getstr(a, res, i, 4);
		d[i].arrived = getll(res, i, 5);
		d[i].key = getstr(a, res, i, 6);
	}
	PQclear(res);
	qsort(d, (size_t)n, sizeof(*d), cmp_due);
	for (int i = 0; i < n; i++) {
		out_msg_t *m = arena_alloc(a, sizeof(*m));
		int t = ev_type_from_name(d[i].type, strlen(d[i].type));

		memset(m, 0, sizeof(*m));
		m->type = OUT_RECONCILE_UNMATCHED;
		m->u.unmatched.source = d[i].source;
		m->u.unmatched.id = d[i].id;
		m->u.unmatched.type = t < 0 ? EV_CLOCK_TICK : (ev_type_t)t;
		m->u.unmatched.ref.lead_key = d[i].key;
		m->u.unmatched.ref.crm_id = d[i].crm;
		m->u.unmatched.ref.email = d[i].email;
		m->u.unmatched.ref.email_norm = d[i].email;
		m->u.unmatched.waited_s = (now - d[i].arrived) / TS_USEC;
		outbox_add(o, m);
	}
	return 0;
}

static int
advance_clock(recstore_t *rs, PGconn *c, const batch_item_t *const *acc,
    size_t n)
{
	ts_t max = rs->event_now;
	char tb[TS_BUFLEN];
	const char *p[1] = { tb };
	PGresult *res;

	for (size_t i = 0; i < n; i++)
		if (acc[i]->ev.occurred_at > max)
			max = acc[i]->ev.occurred_at;
	if (max == rs->event_now)
		return 0;
	ts_format(max, tb);
	res = query(rs, c, "UPDATE clock_state SET event_now = "
	    "GREATEST(coalesce(event_now, $1::timestamptz), $1::timestamptz)",
	    1, p);
	if (res == NULL)
		return -1;
	PQclear(res);
	rs->event_now = max;
	return 0;
}

/*
 * Second rounds of a batch: leads the batch had no event for, moved to
 * another rep by an escalation (to = "reassign") or because their rep went
 * away, then written and their clocks refolded like the first round's.
 * An escalation that a refold publishes may ask for another round; the
 * rounds are bounded.
 */
static int
reassign_round(recstore_t *rs, PGconn *c, arena_t *a, routestore_t *rt,
    const routestore_move_t *mv, size_t n, out_why_t why, ts_t now,
    outbox_t *o)
{
	recon_t *r = recon_new(a, rs->cfg->unmatched_grace_s);
	char *err = NULL;
	size_t nl;
	recon_lead_t **ls;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		recon_touch(r, mv[i].lead_id);
	/* Their stored history as the first round left it. */
	rs->hist = NULL;
	rs->nhist = 0;
	if (load_leads(rs, c, r, a) == -1)
		goto out;
	ls = recon_leads(r, &nl);
	for (size_t i = 0; i < nl; i++)
		if (ls[i]->log_loaded)
			recon_refold(r, ls[i]);
	if (routestore_reassign(rt, c, r, mv, n, why, o, &err) == -1) {
		seterr(rs, err);
		goto out;
	}
	if (write_leads(rs, c, r, a) == -1 || write_log(rs, c, r) == -1)
		goto out;
	ls = recon_leads(r, &nl);
	if (slastore_apply(rs->sla, c, a, ls, nl, now, o, &err) == -1) {
		seterr(rs, err);
		goto out;
	}
	rc = 0;
out:
	recon_destroy(&r);
	return rc;
}

/* Open, unaccepted MQLs of the reps a reload set away (SPEC §4). */
static int
away_moves(recstore_t *rs, PGconn *c, arena_t *a, ts_t now,
    routestore_move_t **mv, size_t *n)
{
	sbuf_t arr;
	const char *p[1];
	PGresult *res;
	const char **gone = arena_alloc(a, (rs->naway + 1) * sizeof(*gone));
	size_t ngone = 0;

	*n = 0;
	*mv = NULL;
	/* A later reload may have brought some back. */
	for (size_t i = 0; i < rs->naway; i++)
		if (!rep_present(rs->cfg, rs->away[i]))
			gone[ngone++] = rs->away[i];
	if (ngone == 0)
		return 0;
	sbuf_init(&arr);
	pgcopy_array(&arr, gone, ngone);
	p[0] = arr.s;
	res = query(rs, c, "SELECT id FROM leads WHERE owner = ANY($1::text[]) "
	    "AND stage = 'mql' ORDER BY id", 1, p);
	sbuf_free(&arr);
	if (res == NULL)
		return -1;
	*mv = arena_alloc(a, ((size_t)PQntuples(res) + 1) * sizeof(**mv));
	for (int i = 0; i < PQntuples(res); i++) {
		(*mv)[i].lead_id = getll(res, i, 0);
		(*mv)[i].clock = NULL;
		(*mv)[i].at = now;
	}
	*n = (size_t)PQntuples(res);
	PQclear(res);
	return 0;
}

static int
route_batch(recstore_t *rs, PGconn *c, arena_t *a, recon_t *r,
    routestore_t *rt, ts_t now, outbox_t *o)
{
	char *err = NULL;

	/*
	 * Nothing to route, and nobody waiting when this daemon last looked:
	 * one probe, for a lead another daemon queued since (SPEC §5), which
	 * this batch may give to a rep it freed.
	 */
	if (rs->queue_empty && !rs->retry_unroutable &&
	    routestore_candidates(rt, r) == 0) {
		bool any;

		if (routestore_others_waiting(rt, c, &any, &err) == -1) {
			seterr(rs, err);
			return -1;
		}
		if (!any)
			return 0;
	}
	if (routestore_prepare(rt, c, r, rs->retry_unroutable, &err) == -1) {
		seterr(rs, err);
		return -1;
	}
	if (load_leads(rs, c, r, a) == -1)
		return -1;
	routestore_route(rt, r, now, o);
	return 0;
}

int
recstore_hook(void *arg, PGconn *c, batch_t *b,
    const batch_item_t *const *acc, size_t n, outbox_t *o)
{
	recstore_t *rs = arg;
	arena_t *a = b->arena;
	const event_t **ev;
	recon_result_t *res;
	recon_keys_t keys;
	recon_t *r;
	routestore_t *rt;
	bool routing = routestore_enabled(rs->cfg);
	ts_t now;
	int rc = -1;

	rs->leads_staged = false;
	{
		/* Requests a failed attempt of this batch left behind. */
		size_t stale;

		(void)slastore_reassigns(rs->sla, &stale);
	}
	rs->hist = NULL; /* in the batch's arena */
	rs->nhist = 0;
	if (load_clock(rs, c) == -1)
		return -1;
	if (rs->cfg->clock_mode == CLOCK_EVENT &&
	    advance_clock(rs, c, acc, n) == -1)
		return -1;
	now = recstore_now(rs);
	ev = arena_alloc(a, (n + 1) * sizeof(*ev));
	for (size_t i = 0; i < n; i++)
		ev[i] = &acc[i]->ev;
	res = arena_alloc(a, (n + 1) * sizeof(*res));
	r = recon_new(a, rs->cfg->unmatched_grace_s);
	rt = routestore_new(rs->cfg, a);
	{
		uint32_t mask = 0;

		/* Whatever a clock listens to must reach the lead's log. */
		for (size_t k = 0; k < rs->cfg->nclocks; k++) {
			const cfg_clock_t *ck = &rs->cfg->clocks[k];

			mask |= ck->start | ck->stop | ck->cancel | ck->pause |
			    ck->resume;
		}
		recon_set_log_types(r, mask);
	}
	recon_keys(r, ev, n, &keys);
	if (load_identities(rs, c, r, a, &keys) == -1)
		goto out;
	if (alloc_ids(rs, c, r, recon_ids_needed(r, ev, n)) == -1)
		goto out;
	if (recon_resolve(r, ev, n, res, false, now, o) == -1) {
		seterr(rs, xstrdup("lead id pool exhausted"));
		goto out;
	}
	if (unlock_pending(rs, c, r, a, now, o) == -1)
		goto out;
	if (load_leads(rs, c, r, a) == -1)
		goto out;
	if (recon_apply(r, o) == -1)
		goto out;
	if (routing && route_batch(rs, c, a, r, rt, now, o) == -1)
		goto out;
	recon_finish(r, o);
	if (write_leads(rs, c, r, a) == -1 ||
	    write_log(rs, c, r) == -1 ||
	    write_identities(rs, c, r) == -1 ||
	    write_deals(rs, c, r) == -1 ||
	    write_pending(rs, c, r) == -1)
		goto out;
	{
		size_t nl, pos = o->npending;
		recon_lead_t **ls = recon_leads(r, &nl);
		char *err = NULL;

		if (slastore_apply(rs->sla, c, a, ls, nl, now, o, &err) == -1) {
			seterr(rs, err);
			goto out;
		}
		/* handoff.assigned, with its due times, before the alerts. */
		routestore_announce(rt, o, pos);
		if (slastore_due(rs->sla, c, a, now, o, &err) == -1) {
			seterr(rs, err);
			goto out;
		}
	}
	if (routing && rs->naway > 0 && rs->cfg->reassign_away) {
		routestore_move_t *mv;
		size_t nm;

		if (away_moves(rs, c, a, now, &mv, &nm) == -1 ||
		    (nm > 0 && reassign_round(rs, c, a, rt, mv, nm,
		    OUT_WHY_REP_AWAY, now, o) == -1))
			goto out;
	}
	for (int round = 0; round < PENDING_ROUNDS; round++) {
		size_t nq;
		const slastore_reassign_t *q = slastore_reassigns(rs->sla, &nq);
		routestore_move_t *mv;

		if (nq == 0 || !routing)
			break;
		mv = arena_alloc(a, nq * sizeof(*mv));
		for (size_t i = 0; i < nq; i++) {
			mv[i].lead_id = q[i].lead_id;
			mv[i].clock = q[i].clock;
			mv[i].at = q[i].at;
		}
		if (reassign_round(rs, c, a, rt, mv, nq, OUT_WHY_SLA_ESCALATION,
		    now, o) == -1)
			goto out;
	}
	if (routing) {
		char *err = NULL;

		if (routestore_write(rt, c, &err) == -1) {
			seterr(rs, err);
			goto out;
		}
	}
	{
		char *err = NULL;

		if (now != 0 && slastore_targets(rs->sla, c, a, now, o,
		    &err) == -1) {
			seterr(rs, err);
			goto out;
		}
	}
	if (unmatched_due(rs, c, a, now, o) == -1)
		goto out;
	rc = 0;
	/* The reload's work is done (if this transaction commits). */
	rs->retry_unroutable = false;
	if (routing)
		rs->queue_empty = routestore_queue_empty(rt);
	for (size_t i = 0; i < rs->naway; i++)
		free(rs->away[i]);
	rs->naway = 0;
out:
	routestore_destroy(&rt);
	recon_destroy(&r);
	return rc;
}

const char *const recstore_session_sql =
    "CREATE TEMP TABLE IF NOT EXISTS handoff_leads (LIKE leads INCLUDING DEFAULTS) "
    "ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS handoff_deals (LIKE deals INCLUDING DEFAULTS) "
    "ON COMMIT DELETE ROWS";

int
recstore_cycles_json(recstore_t *rs, PGconn *c, const char *lead_key,
    sbuf_t *out, char **err)
{
	return slastore_cycles_json(rs->sla, c, lead_key, recstore_now(rs), out,
	    err);
}
