/*
 * Tests of the reconciliation core (daemon/reconcile.c) without a
 * database. A small in-memory store stands in for PostgreSQL: it holds
 * identities, lead rows with their profile fields, logs and stage history,
 * deals and pending events, and a batch is driven through the core exactly
 * as recstore.c does it (keys, identities and deals, ids, resolve, pending
 * unlock rounds, lead rows and logs, apply, write back). Every batch gets
 * its own arena, destroyed when the batch is done, and events are copied
 * into it, so the store only keeps what it copied: as in the daemon,
 * nothing may outlive its batch. The store enforces the primary keys of
 * the tables it stands in for, so an entry written twice fails the test
 * like it would fail the batch's transaction.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/arena.h"
#include "handoff/outbox.h"
#include "handoff/reconcile.h"
#include "handoff/util.h"
#include "testutil.h"

#define T0 (INT64_C(1795515330) * TS_USEC)
#define AT(s) (T0 + (ts_t)(s) * TS_USEC)
#define PENDING_ROUNDS 8
#define GRACE_S 3600

/* ---- the in-memory store ---- */

typedef struct {
	recon_idkind_t kind;
	const char *value;
	int64_t lead_id;
} s_ident_t;

typedef struct {
	const event_t *ev; /* the test's event (its body, as in events) */
	ts_t arrived;
	const char *crm_id, *email_norm, *mkt, *deal;
} s_pending_t;

typedef struct {
	arena_t *a;           /* every string the store keeps */
	int64_t next_id;      /* lead_id_seq */
	s_ident_t *ids;
	size_t nids;
	recon_lead_t *leads;  /* complete rows; fields, log, hist malloc'd */
	size_t nleads;
	recon_deal_t *deals;
	size_t ndeals;
	s_pending_t *pend;
	size_t npend;
	size_t ndealhist;
	char **msgs;          /* the published messages, summarised */
	size_t nmsgs;
} store_t;

static store_t *
store_new(void)
{
	store_t *s = xcalloc(1, sizeof(*s));

	s->a = arena_new(4096);
	s->next_id = 1;
	return s;
}

static void
store_free(store_t **sp)
{
	store_t *s = *sp;

	for (size_t i = 0; i < s->nleads; i++) {
		free(s->leads[i].fields);
		free(s->leads[i].log);
		free(s->leads[i].hist);
	}
	for (size_t i = 0; i < s->nmsgs; i++)
		free(s->msgs[i]);
	free(s->msgs);
	free(s->ids);
	free(s->leads);
	free(s->deals);
	free(s->pend);
	arena_destroy(&s->a);
	free(s);
	*sp = NULL;
}

static const char *
sdup(store_t *s, const char *p)
{
	return p != NULL ? arena_strndup(s->a, p, strlen(p)) : NULL;
}

static recon_lead_t *
store_lead(store_t *s, int64_t id)
{
	for (size_t i = 0; i < s->nleads; i++)
		if (s->leads[i].id == id)
			return &s->leads[i];
	return NULL;
}

static recon_lead_t *
store_lead_by_key(store_t *s, const char *key)
{
	for (size_t i = 0; i < s->nleads; i++)
		if (strcmp(s->leads[i].lead_key, key) == 0)
			return &s->leads[i];
	return NULL;
}

static bool
in_list(const char *v, const char *const *list, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return true;
	return false;
}

/* ---- events: made by the test, copied into each batch's arena ---- */

static const char *
adup(arena_t *a, const char *p)
{
	return p != NULL ? arena_strndup(a, p, strlen(p)) : NULL;
}

static const event_t *
ev_clone(arena_t *a, const event_t *e)
{
	event_t *c = arena_alloc(a, sizeof(*c));

	*c = *e;
	c->id = adup(a, e->id);
	c->source = adup(a, e->source);
	c->lead.id = adup(a, e->lead.id);
	c->lead.email = adup(a, e->lead.email);
	c->lead.email_norm = adup(a, e->lead.email_norm);
	c->lead.first_name = adup(a, e->lead.first_name);
	c->lead.last_name = adup(a, e->lead.last_name);
	c->lead.company = adup(a, e->lead.company);
	c->lead.title = adup(a, e->lead.title);
	c->lead.country = adup(a, e->lead.country);
	c->lead.segment = adup(a, e->lead.segment);
	c->lead.campaign = adup(a, e->lead.campaign);
	if (e->lead.nattrs > 0) {
		c->lead.attrs = arena_alloc(a, e->lead.nattrs *
		    sizeof(ev_attr_t));
		for (size_t i = 0; i < e->lead.nattrs; i++) {
			c->lead.attrs[i].key = adup(a, e->lead.attrs[i].key);
			c->lead.attrs[i].value = adup(a,
			    e->lead.attrs[i].value);
		}
	}
	c->ref.lead_key = adup(a, e->ref.lead_key);
	c->ref.crm_id = adup(a, e->ref.crm_id);
	c->ref.email = adup(a, e->ref.email);
	c->ref.email_norm = adup(a, e->ref.email_norm);
	c->deal.id = adup(a, e->deal.id);
	c->deal.name = adup(a, e->deal.name);
	c->deal.amount = adup(a, e->deal.amount);
	c->deal.currency = adup(a, e->deal.currency);
	c->deal.stage = adup(a, e->deal.stage);
	c->deal.reason = adup(a, e->deal.reason);
	c->reason = adup(a, e->reason);
	c->owner = adup(a, e->owner);
	c->team = adup(a, e->team);
	return c;
}

static event_t
mk_lead(ev_type_t t, const char *src, const char *id, int at,
    const char *mkt_id, const char *email)
{
	event_t e;

	memset(&e, 0, sizeof(e));
	e.type = t;
	e.source = src;
	e.id = id;
	e.occurred_at = AT(at);
	e.lead.id = mkt_id;
	e.lead.email = email;
	e.lead.email_norm = email; /* the codec normalises; tests pass it so */
	return e;
}

static event_t
mk_sales(ev_type_t t, const char *id, int at, const char *key,
    const char *crm, const char *email, const char *owner)
{
	event_t e;

	memset(&e, 0, sizeof(e));
	e.type = t;
	e.source = "crm";
	e.id = id;
	e.occurred_at = AT(at);
	e.ref.lead_key = key;
	e.ref.crm_id = crm;
	e.ref.email = email;
	e.ref.email_norm = email;
	e.owner = owner;
	return e;
}

/* ---- one batch, driven like recstore_hook ---- */

static void
load_identities(store_t *s, recon_t *r, const recon_keys_t *k)
{
	for (size_t i = 0; i < s->nids; i++) {
		const s_ident_t *x = &s->ids[i];

		if (x->kind != ID_KEY && in_list(x->value, k->v[x->kind],
		    k->n[x->kind]))
			recon_add_identity(r, x->kind, x->value, x->lead_id);
	}
	for (size_t i = 0; i < s->nleads; i++)
		if (in_list(s->leads[i].lead_key, k->v[ID_KEY], k->n[ID_KEY]))
			recon_add_identity(r, ID_KEY, s->leads[i].lead_key,
			    s->leads[i].id);
	for (size_t i = 0; i < s->ndeals; i++) {
		char key[256];

		snprintf(key, sizeof(key), "%s %s", s->deals[i].source,
		    s->deals[i].deal_id);
		if (in_list(key, k->deals, k->ndeals))
			recon_add_deal(r, &s->deals[i]);
	}
}

static int
cmp_pending(const void *a, const void *b)
{
	const s_pending_t *x = *(const s_pending_t *const *)a;
	const s_pending_t *y = *(const s_pending_t *const *)b;
	int c;

	if (x->ev->occurred_at != y->ev->occurred_at)
		return x->ev->occurred_at < y->ev->occurred_at ? -1 : 1;
	if ((c = strcmp(x->ev->source, y->ev->source)) != 0)
		return c;
	return strcmp(x->ev->id, y->ev->id);
}

/* The pending rows (as committed) that the new keys unlock, resolved. */
static void
unlock_pending(store_t *s, recon_t *r, arena_t *a, ts_t now, outbox_t *o)
{
	for (int round = 0; round < PENDING_ROUNDS; round++) {
		recon_keys_t nk, k2;
		size_t total = 0, n = 0;
		const s_pending_t **hit;
		const event_t **evs;
		recon_result_t *rr;

		recon_new_keys(r, &nk);
		for (int i = 0; i < ID_KEY; i++)
			total += nk.n[i];
		total += nk.ndeals;
		if (total == 0)
			return;
		hit = arena_alloc(a, (s->npend + 1) * sizeof(*hit));
		for (size_t i = 0; i < s->npend; i++) {
			const s_pending_t *p = &s->pend[i];

			if (in_list(p->mkt, nk.v[ID_MKT], nk.n[ID_MKT]) ||
			    in_list(p->crm_id, nk.v[ID_CRM], nk.n[ID_CRM]) ||
			    in_list(p->email_norm, nk.v[ID_EMAIL],
			    nk.n[ID_EMAIL]) ||
			    in_list(p->deal, nk.deals, nk.ndeals))
				hit[n++] = p;
		}
		if (n == 0)
			continue;
		qsort(hit, n, sizeof(*hit), cmp_pending);
		evs = arena_alloc(a, n * sizeof(*evs));
		for (size_t i = 0; i < n; i++)
			evs[i] = ev_clone(a, hit[i]->ev);
		recon_keys(r, evs, n, &k2);
		load_identities(s, r, &k2);
		rr = arena_alloc(a, (n + 1) * sizeof(*rr));
		assert_int_equal(recon_resolve(r, evs, n, rr, true, now, o), 0);
	}
}

static void
load_leads(store_t *s, recon_t *r)
{
	int64_t *ids;
	size_t n = recon_leads_to_load(r, &ids);

	for (size_t i = 0; i < n; i++) {
		const recon_lead_t *st = store_lead(s, ids[i]);
		recon_lead_t row;

		assert_non_null(st);
		/* Only the columns recstore.c reads back. */
		memset(&row, 0, sizeof(row));
		row.id = st->id;
		row.lead_key = st->lead_key;
		row.source = st->source;
		row.mkt_id = st->mkt_id;
		row.email = st->email;
		row.email_norm = st->email_norm;
		row.stage = st->stage;
		row.stage_at = st->stage_at;
		row.pass = st->pass;
		row.owner = st->owner;
		row.team = st->team;
		row.touches = st->touches;
		row.first_seen = st->first_seen;
		row.fields = st->fields;
		row.nfields = st->nfields;
		recon_add_lead(r, &row);
	}
	for (size_t i = 0; i < n; i++) {
		const recon_lead_t *st = store_lead(s, ids[i]);

		for (size_t k = 0; k < st->nlog; k++)
			recon_add_log(r, st->id, &st->log[k]);
	}
}

static void
write_leads(store_t *s, recon_t *r)
{
	size_t n;
	recon_lead_t **ls = recon_leads(r, &n);

	for (size_t i = 0; i < n; i++) {
		const recon_lead_t *l = ls[i];
		recon_lead_t *st = store_lead(s, l->id);

		if (!l->dirty)
			continue;
		if (st == NULL) {
			assert_true(l->is_new);
			assert_null(store_lead_by_key(s, l->lead_key));
			s->leads = xreallocarray(s->leads, s->nleads + 1,
			    sizeof(*s->leads));
			st = &s->leads[s->nleads++];
			memset(st, 0, sizeof(*st));
			st->id = l->id;
			st->lead_key = (char *)sdup(s, l->lead_key);
			st->source = sdup(s, l->source);
			st->mkt_id = sdup(s, l->mkt_id);
		} else {
			assert_false(l->is_new);
		}
		st->email = sdup(s, l->email);
		st->email_norm = sdup(s, l->email_norm);
		st->stage = l->stage;
		st->stage_at = l->stage_at;
		st->pass = l->pass;
		memcpy(st->stages, l->stages, sizeof(st->stages));
		st->owner = sdup(s, l->owner);
		st->team = sdup(s, l->team);
		st->touches = l->touches;
		st->first_touch_at = l->first_touch_at;
		st->connected_at = l->connected_at;
		st->first_seen = l->first_seen;
		/* profile, profile_at */
		free(st->fields);
		st->fields = xcalloc(l->nfields + 1, sizeof(recon_field_t));
		st->nfields = l->nfields;
		for (size_t k = 0; k < l->nfields; k++) {
			st->fields[k].name = sdup(s, l->fields[k].name);
			st->fields[k].value = sdup(s, l->fields[k].value);
			st->fields[k].at = l->fields[k].at;
			st->fields[k].src = sdup(s, l->fields[k].src);
			st->fields[k].id = sdup(s, l->fields[k].id);
		}
		/* stage_history: replaced; PRIMARY KEY (lead_id, pass, stage) */
		free(st->hist);
		st->hist = xcalloc(l->nhist + 1, sizeof(recon_hist_t));
		st->nhist = l->nhist;
		for (size_t k = 0; k < l->nhist; k++) {
			for (size_t j = 0; j < k; j++)
				if (l->hist[j].pass == l->hist[k].pass &&
				    l->hist[j].stage == l->hist[k].stage)
					fail_msg("stage_history: duplicate "
					    "(%lld, %d, %s)", (long long)l->id,
					    l->hist[k].pass, recon_stage_name(
					    l->hist[k].stage));
			st->hist[k] = l->hist[k];
			st->hist[k].source = sdup(s, l->hist[k].source);
			st->hist[k].event_id = sdup(s, l->hist[k].event_id);
		}
	}
	/* lead_log: the entries not loaded; PRIMARY KEY (lead_id,
	 * occurred_at, source, event_id) */
	for (size_t i = 0; i < n; i++) {
		const recon_lead_t *l = ls[i];
		recon_lead_t *st = store_lead(s, l->id);

		for (size_t k = 0; k < l->nlog; k++) {
			const recon_log_t *e = &l->log[k];
			recon_log_t c;

			if (e->stored)
				continue;
			assert_non_null(st);
			for (size_t j = 0; j < st->nlog; j++)
				if (st->log[j].occurred_at == e->occurred_at &&
				    strcmp(st->log[j].source, e->source) == 0 &&
				    strcmp(st->log[j].event_id, e->event_id) == 0)
					fail_msg("lead_log: duplicate (%s, %s/%s)",
					    l->lead_key, e->source, e->event_id);
			c = *e;
			c.source = sdup(s, e->source);
			c.event_id = sdup(s, e->event_id);
			c.owner = sdup(s, e->owner);
			c.team = sdup(s, e->team);
			c.reason = sdup(s, e->reason);
			c.deal_id = sdup(s, e->deal_id);
			c.outcome = sdup(s, e->outcome);
			c.stored = false;
			st->log = xreallocarray(st->log, st->nlog + 1,
			    sizeof(*st->log));
			st->log[st->nlog++] = c;
		}
	}
}

static void
write_identities(store_t *s, recon_t *r)
{
	size_t n;
	const recon_ident_t *ids = recon_idents(r, &n);

	for (size_t i = 0; i < n; i++) {
		if (ids[i].kind == ID_KEY)
			continue;
		for (size_t k = 0; k < s->nids; k++)
			if (s->ids[k].kind == ids[i].kind &&
			    s->ids[k].lead_id == ids[i].lead_id &&
			    strcmp(s->ids[k].value, ids[i].value) == 0)
				fail_msg("lead_identities: duplicate (%s, %s, "
				    "%lld)", recon_idkind_name(ids[i].kind),
				    ids[i].value, (long long)ids[i].lead_id);
		s->ids = xreallocarray(s->ids, s->nids + 1, sizeof(*s->ids));
		s->ids[s->nids].kind = ids[i].kind;
		s->ids[s->nids].value = sdup(s, ids[i].value);
		s->ids[s->nids].lead_id = ids[i].lead_id;
		s->nids++;
	}
}

static void
write_deals(store_t *s, recon_t *r)
{
	size_t n, nh;
	recon_deal_t **ds = recon_deals(r, &n);

	(void)recon_dealhist(r, &nh);
	s->ndealhist += nh;
	for (size_t i = 0; i < n; i++) {
		const recon_deal_t *d = ds[i];
		recon_deal_t *st = NULL;

		for (size_t k = 0; k < s->ndeals; k++)
			if (strcmp(s->deals[k].source, d->source) == 0 &&
			    strcmp(s->deals[k].deal_id, d->deal_id) == 0)
				st = &s->deals[k];
		if (st == NULL) {
			s->deals = xreallocarray(s->deals, s->ndeals + 1,
			    sizeof(*s->deals));
			st = &s->deals[s->ndeals++];
		}
		*st = *d;
		st->source = sdup(s, d->source);
		st->deal_id = sdup(s, d->deal_id);
		st->name = sdup(s, d->name);
		st->amount = sdup(s, d->amount);
		st->currency = sdup(s, d->currency);
		st->stage = sdup(s, d->stage);
		st->outcome = sdup(s, d->outcome);
		st->close_reason = sdup(s, d->close_reason);
	}
}

/* The test event a batch copy stands for (pending rows keep the body). */
static const event_t *
origin(const event_t *const *all, size_t nall, const event_t *c)
{
	for (size_t i = 0; i < nall; i++)
		if (strcmp(all[i]->source, c->source) == 0 &&
		    strcmp(all[i]->id, c->id) == 0)
			return all[i];
	fail_msg("event %s/%s is not one of the test's", c->source, c->id);
	return NULL;
}

static void
write_pending(store_t *s, recon_t *r, const event_t *const *all, size_t nall)
{
	size_t n, nu;
	const recon_pending_t *p = recon_pendings(r, &n);
	const event_t *const *u = recon_unpended(r, &nu);

	for (size_t i = 0; i < n; i++) {
		s_pending_t *x;

		for (size_t k = 0; k < s->npend; k++)
			if (strcmp(s->pend[k].ev->source, p[i].ev->source) == 0 &&
			    strcmp(s->pend[k].ev->id, p[i].ev->id) == 0)
				fail_msg("pending_events: duplicate (%s, %s)",
				    p[i].ev->source, p[i].ev->id);
		s->pend = xreallocarray(s->pend, s->npend + 1,
		    sizeof(*s->pend));
		x = &s->pend[s->npend++];
		x->ev = origin(all, nall, p[i].ev);
		x->arrived = p[i].arrived;
		x->crm_id = sdup(s, p[i].crm_id);
		x->email_norm = sdup(s, p[i].email_norm);
		x->mkt = sdup(s, p[i].mkt);
		x->deal = sdup(s, p[i].deal);
	}
	for (size_t i = 0; i < nu; i++)
		for (size_t k = 0; k < s->npend; k++)
			if (strcmp(s->pend[k].ev->source, u[i]->source) == 0 &&
			    strcmp(s->pend[k].ev->id, u[i]->id) == 0) {
				s->pend[k] = s->pend[--s->npend];
				break;
			}
}

/* Keeps a one-line summary of each message the batch published. */
static void
keep_messages(store_t *s, outbox_t *o)
{
	for (size_t i = 0; i < o->npending; i++) {
		const out_msg_t *m = o->pending[i];
		sbuf_t b;

		sbuf_init(&b);
		switch (m->type) {
		case OUT_RECONCILE_CONFLICT:
			sbuf_printf(&b, "conflict %s", m->u.conflict.kind);
			for (size_t k = 0; k < m->u.conflict.nlead_keys; k++)
				sbuf_printf(&b, " %s",
				    m->u.conflict.lead_keys[k]);
			break;
		case OUT_HANDOFF_RECYCLED:
			sbuf_printf(&b, "recycled %s %s/%s email=%s reason=%s "
			    "by=%s", m->u.recycled.lead_key,
			    m->u.recycled.source, m->u.recycled.id,
			    m->u.recycled.email ? m->u.recycled.email : "-",
			    m->u.recycled.reason ? m->u.recycled.reason : "-",
			    m->u.recycled.by ? m->u.recycled.by : "-");
			break;
		default:
			sbuf_printf(&b, "message type %d", (int)m->type);
			break;
		}
		s->msgs = xreallocarray(s->msgs, s->nmsgs + 1, sizeof(char *));
		s->msgs[s->nmsgs++] = sbuf_take(&b);
	}
	outbox_discard_pending(o);
}

/*
 * One batch of ev[0..n) (the test's events), arriving at now. res, when
 * not NULL, gets each event's result.
 */
static void
run_batch(store_t *s, const event_t *const *ev, size_t n, ts_t now,
    recon_result_t *res)
{
	arena_t *a = arena_new(1024);
	outbox_t *o = outbox_new();
	const event_t **bev = arena_alloc(a, (n + 1) * sizeof(*bev));
	recon_result_t *rr = arena_alloc(a, (n + 1) * sizeof(*rr));
	recon_keys_t keys;
	recon_t *r;
	size_t need;

	for (size_t i = 0; i < n; i++)
		bev[i] = ev_clone(a, ev[i]);
	r = recon_new(a, GRACE_S);
	recon_keys(r, bev, n, &keys);
	load_identities(s, r, &keys);
	need = recon_ids_needed(r, bev, n);
	if (need > 0) {
		int64_t *ids = xcalloc(need, sizeof(int64_t));

		for (size_t i = 0; i < need; i++)
			ids[i] = s->next_id++;
		recon_add_ids(r, ids, need);
		free(ids);
	}
	assert_int_equal(recon_resolve(r, bev, n, rr, false, now, o), 0);
	unlock_pending(s, r, a, now, o);
	load_leads(s, r);
	assert_int_equal(recon_apply(r, o), 0);
	recon_finish(r, o);
	write_leads(s, r);
	write_identities(s, r);
	write_deals(s, r);
	{
		/* Pending rows name the test's events, which outlive the
		 * batch: map the batch copies back to them. */
		const event_t **all = arena_alloc(a, (n + s->npend + 1) *
		    sizeof(*all));
		size_t nall = 0;

		for (size_t i = 0; i < n; i++)
			all[nall++] = ev[i];
		for (size_t i = 0; i < s->npend; i++)
			all[nall++] = s->pend[i].ev;
		write_pending(s, r, all, nall);
	}
	if (res != NULL)
		memcpy(res, rr, n * sizeof(*rr));
	keep_messages(s, o);
	recon_destroy(&r);
	outbox_destroy(&o);
	arena_destroy(&a);
}

static void
run1(store_t *s, const event_t *e, int now_s, recon_result_t *res)
{
	run_batch(s, &e, 1, AT(now_s), res);
}

/* ---- the state, as text, to compare ---- */

static int
cmp_field(const void *a, const void *b)
{
	return strcmp(((const recon_field_t *)a)->name,
	    ((const recon_field_t *)b)->name);
}

static int
cmp_log(const void *a, const void *b)
{
	const recon_log_t *x = a, *y = b;
	int c;

	if (x->occurred_at != y->occurred_at)
		return x->occurred_at < y->occurred_at ? -1 : 1;
	if ((c = strcmp(x->source, y->source)) != 0)
		return c;
	return strcmp(x->event_id, y->event_id);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long long
rel(ts_t t)
{
	return t == 0 ? -1 : (long long)((t - T0) / TS_USEC);
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "-";
}

/* Everything the store holds, in a canonical order (malloc'd). */
static char *
store_dump(store_t *s)
{
	sbuf_t b;
	char **lines;
	size_t nl = 0;

	sbuf_init(&b);
	for (size_t i = 0; i < s->nleads; i++) {
		recon_lead_t *l = &s->leads[i];

		sbuf_printf(&b, "lead %s src=%s/%s email=%s norm=%s stage=%s@%lld "
		    "pass=%d owner=%s team=%s touches=%d first_touch=%lld "
		    "connected=%lld first_seen=%lld\n", l->lead_key,
		    nz(l->source), nz(l->mkt_id), nz(l->email),
		    nz(l->email_norm), recon_stage_name(l->stage),
		    rel(l->stage_at), l->pass, nz(l->owner), nz(l->team),
		    l->touches, rel(l->first_touch_at), rel(l->connected_at),
		    rel(l->first_seen));
		sbuf_adds(&b, "  stages");
		for (int k = 0; k < STAGE__COUNT; k++)
			if (l->stages[k] != 0)
				sbuf_printf(&b, " %s@%lld", recon_stage_name(
				    (recon_stage_t)k), rel(l->stages[k]));
		sbuf_addc(&b, '\n');
		if (l->nfields > 0)
			qsort(l->fields, l->nfields, sizeof(*l->fields),
			    cmp_field);
		for (size_t k = 0; k < l->nfields; k++)
			sbuf_printf(&b, "  field %s=%s@%lld\n",
			    l->fields[k].name, nz(l->fields[k].value),
			    rel(l->fields[k].at));
		for (size_t k = 0; k < l->nhist; k++)
			sbuf_printf(&b, "  hist %d %s@%lld by %s/%s\n",
			    l->hist[k].pass, recon_stage_name(l->hist[k].stage),
			    rel(l->hist[k].entered_at), nz(l->hist[k].source),
			    nz(l->hist[k].event_id));
		if (l->nlog > 0)
			qsort(l->log, l->nlog, sizeof(*l->log), cmp_log);
		for (size_t k = 0; k < l->nlog; k++)
			sbuf_printf(&b, "  log %s/%s %s@%lld owner=%s reason=%s "
			    "deal=%s outcome=%s\n", l->log[k].source,
			    l->log[k].event_id, ev_type_name(l->log[k].type),
			    rel(l->log[k].occurred_at), nz(l->log[k].owner),
			    nz(l->log[k].reason), nz(l->log[k].deal_id),
			    nz(l->log[k].outcome));
	}
	/* Identities, deals and pending rows: sorted lines. */
	lines = xcalloc(s->nids + s->ndeals + s->npend + 1, sizeof(char *));
	for (size_t i = 0; i < s->nids; i++)
		lines[nl++] = xasprintf("ident %s %s -> %s",
		    recon_idkind_name(s->ids[i].kind), s->ids[i].value,
		    store_lead(s, s->ids[i].lead_id) != NULL ?
		    store_lead(s, s->ids[i].lead_id)->lead_key : "?");
	for (size_t i = 0; i < s->ndeals; i++) {
		const recon_deal_t *d = &s->deals[i];

		lines[nl++] = xasprintf("deal %s/%s lead=%lld name=%s amount=%s "
		    "stage=%s outcome=%s opened=%lld closed=%lld", d->source,
		    d->deal_id, (long long)d->lead_id, nz(d->name),
		    nz(d->amount), nz(d->stage), nz(d->outcome),
		    rel(d->opened_at), rel(d->closed_at));
	}
	for (size_t i = 0; i < s->npend; i++)
		lines[nl++] = xasprintf("pending %s/%s", s->pend[i].ev->source,
		    s->pend[i].ev->id);
	qsort(lines, nl, sizeof(char *), cmp_str);
	for (size_t i = 0; i < nl; i++) {
		sbuf_printf(&b, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	sbuf_printf(&b, "deal_history rows=%zu\n", s->ndealhist);
	return sbuf_take(&b);
}

static bool
has_msg(const store_t *s, const char *m)
{
	for (size_t i = 0; i < s->nmsgs; i++)
		if (strcmp(s->msgs[i], m) == 0)
			return true;
	return false;
}

static void
dump_msgs(const store_t *s)
{
	for (size_t i = 0; i < s->nmsgs; i++)
		print_message("  published: %s\n", s->msgs[i]);
}

static void
expect_msgs(const store_t *s, size_t n)
{
	if (s->nmsgs != n) {
		dump_msgs(s);
		fail_msg("%zu messages published, expected %zu", s->nmsgs, n);
	}
}

static void
expect_msg(const store_t *s, const char *m)
{
	if (!has_msg(s, m)) {
		dump_msgs(s);
		fail_msg("no message '%s'", m);
	}
}

static recon_lead_t *
only_lead(store_t *s)
{
	assert_int_equal(s->nleads, 1);
	return &s->leads[0];
}

static const char *
field(const recon_lead_t *l, const char *name)
{
	for (size_t i = 0; i < l->nfields; i++)
		if (strcmp(l->fields[i].name, name) == 0)
			return l->fields[i].value;
	return NULL;
}

/* ---- permutations of arrival order ---- */

/*
 * Five events of one person. The sales events name the lead by email and
 * crm_id only; the activity and the deal know the crm_id alone, which
 * only sales.accepted tells, so in most orders something waits.
 */
static event_t scen[5];

static void
scenario_init(void)
{
	static ev_attr_t attrs1[] = { { "utm_source", "ads" },
		{ "plan", "free" } };
	static ev_attr_t attrs2[] = { { "plan", "pro" } };

	scen[0] = mk_lead(EV_LEAD_UPSERTED, "hubspot", "h-ev-1", 100, "h-1",
	    "ann@example.com");
	scen[0].lead.first_name = "Ann";
	scen[0].lead.company = "Acme";
	scen[0].lead.country = "DE";
	scen[0].lead.attrs = attrs1;
	scen[0].lead.nattrs = ARRAY_LEN(attrs1);
	scen[1] = mk_lead(EV_LEAD_QUALIFIED, "hubspot", "h-ev-2", 200, "h-1",
	    "ann@example.com");
	scen[1].lead.company = "Acme GmbH";
	scen[1].lead.has_score = true;
	scen[1].lead.score = 80;
	scen[1].lead.attrs = attrs2;
	scen[1].lead.nattrs = ARRAY_LEN(attrs2);
	scen[1].reason = "score";
	scen[2] = mk_sales(EV_SALES_ACCEPTED, "s-1", 300, NULL, "C-1",
	    "ann@example.com", "rep-a");
	scen[3] = mk_sales(EV_SALES_ACTIVITY, "s-2", 400, NULL, "C-1", NULL,
	    "rep-a");
	scen[3].channel = CH_CALL;
	scen[3].outcome = OUTCOME_CONNECTED;
	scen[4] = mk_sales(EV_DEAL_OPENED, "s-3", 500, NULL, "C-1", NULL,
	    "rep-b");
	scen[4].deal.id = "D-1";
	scen[4].deal.name = "Acme pilot";
	scen[4].deal.amount = "5000";
	scen[4].deal.currency = "EUR";
	scen[4].deal.stage = "proposal";
}

/*
 * Plays the scenario in the given arrival order: one event per batch when
 * split is 0, else two batches, order[0..split) and order[split..n) (one
 * batch when split is n).
 */
static char *
play_order(const int *order, size_t n, size_t split)
{
	store_t *s = store_new();
	char *d;

	if (split > 0) {
		const event_t *b[5];

		for (size_t i = 0; i < n; i++)
			b[i] = &scen[order[i]];
		run_batch(s, b, split, AT(1000), NULL);
		if (split < n)
			run_batch(s, b + split, n - split, AT(1001), NULL);
	} else {
		for (size_t i = 0; i < n; i++)
			run1(s, &scen[order[i]], 1000 + (int)i, NULL);
	}
	if (s->nmsgs != 0) {
		dump_msgs(s);
		fail_msg("the scenario publishes nothing, got %zu messages",
		    s->nmsgs);
	}
	d = store_dump(s);
	store_free(&s);
	return d;
}

static bool
next_perm(int *p, size_t n)
{
	size_t i = n - 1, j = n - 1;

	while (i > 0 && p[i - 1] >= p[i])
		i--;
	if (i == 0)
		return false;
	while (p[j] <= p[i - 1])
		j--;
	{
		int t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
	for (j = n - 1; i < j; i++, j--) {
		int t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return true;
}

static void
test_scenario_in_order(void **state)
{
	int order[5] = { 0, 1, 2, 3, 4 };
	store_t *s = store_new();
	recon_lead_t *l;
	char *d;

	(void)state;
	scenario_init();
	for (int i = 0; i < 5; i++)
		run1(s, &scen[order[i]], 1000 + i, NULL);
	l = only_lead(s);
	assert_string_equal(l->lead_key, "L1");
	assert_string_equal(recon_stage_name(l->stage), "sql");
	assert_int_equal(l->stage_at, AT(500));
	assert_int_equal(l->pass, 1);
	assert_int_equal(l->stages[STAGE_LEAD], AT(100));
	assert_int_equal(l->stages[STAGE_MQL], AT(200));
	assert_int_equal(l->stages[STAGE_SAL], AT(300));
	assert_int_equal(l->stages[STAGE_SQL], AT(500));
	assert_int_equal(l->stages[STAGE_WON], 0);
	assert_string_equal(l->owner, "rep-b");
	assert_int_equal(l->touches, 1);
	assert_int_equal(l->first_touch_at, AT(400));
	assert_int_equal(l->connected_at, AT(400));
	assert_int_equal(l->first_seen, AT(100));
	assert_int_equal(l->nhist, 4);
	assert_string_equal(l->email_norm, "ann@example.com");
	/* The newest value of each field; attributes merged key by key. */
	assert_string_equal(field(l, "company"), "\"Acme GmbH\"");
	assert_string_equal(field(l, "first_name"), "\"Ann\"");
	assert_string_equal(field(l, "score"), "80");
	assert_string_equal(field(l, "attributes.plan"), "\"pro\"");
	assert_string_equal(field(l, "attributes.utm_source"), "\"ads\"");
	assert_int_equal(s->ndeals, 1);
	assert_int_equal(s->deals[0].lead_id, l->id);
	assert_string_equal(s->deals[0].amount, "5000");
	assert_int_equal(s->npend, 0);
	expect_msgs(s, 0);
	d = store_dump(s);
	/* The lead's identities: its marketing key, its email, its crm_id. */
	assert_non_null(strstr(d, "ident mkt hubspot h-1 -> L1\n"));
	assert_non_null(strstr(d, "ident email ann@example.com -> L1\n"));
	assert_non_null(strstr(d, "ident crm C-1 -> L1\n"));
	free(d);
	store_free(&s);
}

static void
check_all_orders(size_t split)
{
	int order[5] = { 0, 1, 2, 3, 4 };
	char *want = play_order(order, 5, 0);
	int count = 0;

	do {
		char *got = play_order(order, 5, split);

		if (strcmp(got, want) != 0) {
			print_message("order %d %d %d %d %d (split %zu):\n--- "
			    "in order, one per batch:\n%s--- this order:\n%s",
			    order[0], order[1], order[2], order[3], order[4],
			    split, want, got);
			free(got);
			free(want);
			fail_msg("final state depends on arrival order");
		}
		free(got);
		count++;
	} while (next_perm(order, 5));
	assert_int_equal(count, 120);
	free(want);
}

static void
test_permutations_one_per_batch(void **state)
{
	(void)state;
	scenario_init();
	check_all_orders(0);
}

static void
test_permutations_one_batch(void **state)
{
	(void)state;
	scenario_init();
	check_all_orders(5);
}

/* Every order again, cut into two batches at every place. */
static void
test_permutations_two_batches(void **state)
{
	(void)state;
	scenario_init();
	for (size_t split = 1; split < 5; split++)
		check_all_orders(split);
}

/* A sales event older than its lead, in the same batch as the lead. */
static void
test_older_sales_event_same_batch(void **state)
{
	event_t up = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u1", 100, "h-1",
	    "bob@example.com");
	event_t act = mk_sales(EV_SALES_ACTIVITY, "a1", 50, NULL, NULL,
	    "bob@example.com", "rep-a");
	const event_t *b[2] = { &up, &act };
	recon_result_t res[2];
	store_t *one = store_new(), *two = store_new();
	char *d1, *d2;

	(void)state;
	run_batch(one, b, 2, AT(1000), res);
	assert_int_equal(res[0], RES_APPLIED);
	assert_int_equal(res[1], RES_APPLIED); /* not left waiting */
	run1(two, &act, 1000, NULL);
	run1(two, &up, 1001, NULL);
	d1 = store_dump(one);
	d2 = store_dump(two);
	assert_int_equal(only_lead(two)->touches, 1);
	assert_int_equal(two->npend, 0);
	if (strcmp(d1, d2) != 0)
		print_message("--- one batch:\n%s--- two batches:\n%s", d1, d2);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	store_free(&one);
	store_free(&two);
}

/* ---- identity ---- */

static void
test_two_marketing_sources_one_lead(void **state)
{
	event_t h = mk_lead(EV_LEAD_UPSERTED, "hubspot", "h-ev", 100, "h-1",
	    "carl@example.com");
	event_t m = mk_lead(EV_LEAD_UPSERTED, "marketo", "m-ev", 110, "m-9",
	    "carl@example.com");
	event_t q = mk_lead(EV_LEAD_QUALIFIED, "marketo", "m-ev2", 120, "m-9",
	    NULL);
	store_t *s = store_new();
	recon_lead_t *l;
	char *d;

	(void)state;
	h.lead.last_name = "Old";
	m.lead.last_name = "New";
	run1(s, &h, 1000, NULL);
	run1(s, &m, 1001, NULL);
	/* Later events by the second source's id alone find the lead. */
	run1(s, &q, 1002, NULL);
	l = only_lead(s);
	assert_string_equal(l->source, "hubspot");
	assert_string_equal(l->mkt_id, "h-1");
	assert_string_equal(recon_stage_name(l->stage), "mql");
	assert_string_equal(field(l, "last_name"), "\"New\"");
	assert_int_equal(s->next_id, 2); /* one id taken */
	d = store_dump(s);
	assert_non_null(strstr(d, "ident mkt hubspot h-1 -> L1\n"));
	assert_non_null(strstr(d, "ident mkt marketo m-9 -> L1\n"));
	free(d);
	expect_msgs(s, 0);
	store_free(&s);

	/* The same two in one batch. */
	s = store_new();
	{
		const event_t *b[3] = { &m, &q, &h };

		run_batch(s, b, 3, AT(1000), NULL);
	}
	l = only_lead(s);
	assert_string_equal(l->source, "hubspot");
	assert_string_equal(recon_stage_name(l->stage), "mql");
	expect_msgs(s, 0);
	store_free(&s);
}

static void
test_crm_id_remembered(void **state)
{
	event_t up = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u1", 100, "h-1",
	    "dora@example.com");
	event_t acc = mk_sales(EV_SALES_ACCEPTED, "a1", 200, NULL, "C-7",
	    "dora@example.com", "rep-a");
	event_t act = mk_sales(EV_SALES_ACTIVITY, "a2", 300, NULL, "C-7", NULL,
	    "rep-a");
	event_t other = mk_sales(EV_SALES_ACTIVITY, "a3", 310, NULL, "C-8",
	    NULL, "rep-a");
	recon_result_t res;
	store_t *s = store_new();
	recon_lead_t *l;

	(void)state;
	run1(s, &up, 1000, &res);
	assert_int_equal(res, RES_APPLIED);
	run1(s, &acc, 1001, &res);
	assert_int_equal(res, RES_APPLIED);
	run1(s, &act, 1002, &res);
	assert_int_equal(res, RES_APPLIED);
	/* A crm_id nobody told: waits. */
	run1(s, &other, 1003, &res);
	assert_int_equal(res, RES_PENDING);
	assert_int_equal(s->npend, 1);
	l = only_lead(s);
	assert_int_equal(l->touches, 1);
	assert_string_equal(recon_stage_name(l->stage), "sal");
	expect_msgs(s, 0);
	store_free(&s);
}

static void
test_lead_key_resolution(void **state)
{
	event_t up = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u1", 100, "h-1",
	    "eve@example.com");
	event_t up2 = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u2", 100, "h-2",
	    "finn@example.com");
	/* The lead_key wins over an email that names another lead. */
	event_t acc = mk_sales(EV_SALES_ACCEPTED, "a1", 200, "L2", NULL,
	    "eve@example.com", "rep-z");
	recon_result_t res;
	store_t *s = store_new();
	recon_lead_t *l1, *l2;

	(void)state;
	run1(s, &up, 1000, NULL);
	run1(s, &up2, 1001, NULL);
	run1(s, &acc, 1002, &res);
	assert_int_equal(res, RES_APPLIED);
	l1 = store_lead_by_key(s, "L1");
	l2 = store_lead_by_key(s, "L2");
	assert_non_null(l1);
	assert_non_null(l2);
	assert_string_equal(recon_stage_name(l1->stage), "lead");
	assert_string_equal(recon_stage_name(l2->stage), "sal");
	assert_string_equal(l2->owner, "rep-z");
	store_free(&s);
}

/* ---- conflicts ---- */

static void
test_unknown_lead_key(void **state)
{
	event_t up = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u1", 100, "h-1",
	    "gus@example.com");
	event_t acc = mk_sales(EV_SALES_ACCEPTED, "a1", 200, "L99", NULL,
	    "gus@example.com", "rep-a");
	recon_result_t res;
	store_t *s = store_new();

	(void)state;
	run1(s, &up, 1000, NULL);
	run1(s, &acc, 1001, &res);
	assert_int_equal(res, RES_CONFLICT);
	expect_msgs(s, 1);
	expect_msg(s, "conflict unknown_lead_key L99");
	/* Not applied, not guessed by email, not waiting. */
	assert_string_equal(recon_stage_name(only_lead(s)->stage), "lead");
	assert_int_equal(only_lead(s)->nlog, 0);
	assert_int_equal(s->npend, 0);
	store_free(&s);
}

static void
test_email_ambiguous(void **state)
{
	event_t a = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u1", 100, "h-1",
	    "team@example.com");
	event_t b = mk_lead(EV_LEAD_UPSERTED, "marketo", "u2", 110, "m-1",
	    "hal@example.com");
	/* The second lead now gives the first one's email. */
	event_t b2 = mk_lead(EV_LEAD_UPSERTED, "marketo", "u3", 120, "m-1",
	    "team@example.com");
	event_t acc = mk_sales(EV_SALES_ACCEPTED, "a1", 200, NULL, NULL,
	    "team@example.com", "rep-a");
	recon_result_t res;
	store_t *s = store_new();

	(void)state;
	run1(s, &a, 1000, NULL);
	run1(s, &b, 1001, NULL);
	assert_int_equal(s->nleads, 2);
	run1(s, &b2, 1002, &res);
	assert_int_equal(res, RES_APPLIED);
	expect_msgs(s, 1);
	expect_msg(s, "conflict email_shared L2 L1");
	assert_int_equal(s->nleads, 2);
	run1(s, &acc, 1003, &res);
	assert_int_equal(res, RES_CONFLICT);
	expect_msgs(s, 2);
	expect_msg(s, "conflict email_ambiguous L1 L2");
	assert_string_equal(recon_stage_name(store_lead_by_key(s, "L1")->stage),
	    "lead");
	assert_string_equal(recon_stage_name(store_lead_by_key(s, "L2")->stage),
	    "lead");
	assert_int_equal(s->npend, 0);
	store_free(&s);
}

static void
test_crm_id_conflict(void **state)
{
	event_t a = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u1", 100, "h-1",
	    "ida@example.com");
	event_t b = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u2", 110, "h-2",
	    "jon@example.com");
	event_t acc = mk_sales(EV_SALES_ACCEPTED, "a1", 200, NULL, "C-1",
	    "ida@example.com", "rep-a");
	/* Names lead 2 by key with lead 1's crm_id. */
	event_t act = mk_sales(EV_SALES_ACTIVITY, "a2", 300, "L2", "C-1", NULL,
	    "rep-b");
	event_t later = mk_sales(EV_SALES_ACTIVITY, "a3", 400, NULL, "C-1",
	    NULL, "rep-a");
	recon_result_t res;
	store_t *s = store_new();
	char *d;

	(void)state;
	run1(s, &a, 1000, NULL);
	run1(s, &b, 1001, NULL);
	run1(s, &acc, 1002, NULL);
	run1(s, &act, 1003, &res);
	assert_int_equal(res, RES_APPLIED);
	expect_msgs(s, 1);
	expect_msg(s, "conflict crm_id_conflict L2 L1");
	/* Applied to the named lead; the crm_id keeps its first lead. */
	assert_int_equal(store_lead_by_key(s, "L2")->touches, 1);
	assert_int_equal(store_lead_by_key(s, "L1")->touches, 0);
	run1(s, &later, 1004, &res);
	assert_int_equal(res, RES_APPLIED);
	assert_int_equal(store_lead_by_key(s, "L1")->touches, 1);
	assert_int_equal(store_lead_by_key(s, "L2")->touches, 1);
	d = store_dump(s);
	assert_non_null(strstr(d, "ident crm C-1 -> L1\n"));
	assert_null(strstr(d, "ident crm C-1 -> L2\n"));
	free(d);
	store_free(&s);
}

/* ---- the fold ---- */

static void
test_recycle_then_requalify(void **state)
{
	event_t up = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u1", 100, "h-1",
	    "kim@example.com");
	event_t q1 = mk_lead(EV_LEAD_QUALIFIED, "hubspot", "q1", 200, "h-1",
	    NULL);
	event_t acc = mk_sales(EV_SALES_ACCEPTED, "a1", 300, NULL, "C-1",
	    "kim@example.com", "rep-a");
	event_t act = mk_sales(EV_SALES_ACTIVITY, "a2", 350, NULL, "C-1", NULL,
	    "rep-a");
	event_t rej = mk_sales(EV_SALES_REJECTED, "r1", 400, NULL, "C-1", NULL,
	    "rep-a");
	event_t q2 = mk_lead(EV_LEAD_QUALIFIED, "hubspot", "q2", 500, "h-1",
	    NULL);
	const event_t *all[] = { &up, &q1, &acc, &act, &rej, &q2 };
	store_t *s = store_new();
	recon_lead_t *l;

	(void)state;
	act.outcome = OUTCOME_ATTEMPTED;
	rej.reason = "no_budget";
	for (size_t i = 0; i < ARRAY_LEN(all) - 1; i++)
		run1(s, all[i], 1000 + (int)i, NULL);
	l = only_lead(s);
	assert_string_equal(recon_stage_name(l->stage), "recycled");
	assert_null(l->owner);
	expect_msgs(s, 1);
	expect_msg(s, "recycled L1 hubspot/h-1 email=kim@example.com "
	    "reason=no_budget by=rep-a");

	run1(s, &q2, 1010, NULL);
	l = only_lead(s);
	assert_string_equal(recon_stage_name(l->stage), "mql");
	assert_int_equal(l->pass, 2);
	assert_int_equal(l->stage_at, AT(500));
	assert_int_equal(l->stages[STAGE_MQL], AT(500));
	for (int k = 0; k < STAGE__COUNT; k++)
		if (k != STAGE_MQL)
			assert_int_equal(l->stages[k], 0);
	/* The touch belonged to the first pass. */
	assert_int_equal(l->touches, 1);
	assert_int_equal(l->first_touch_at, 0);
	/* History: lead, mql, sal, recycled in pass 1; mql in pass 2. */
	assert_int_equal(l->nhist, 5);
	assert_int_equal(l->hist[3].pass, 1);
	assert_int_equal(l->hist[3].stage, STAGE_RECYCLED);
	assert_int_equal(l->hist[4].pass, 2);
	assert_int_equal(l->hist[4].stage, STAGE_MQL);
	assert_string_equal(l->hist[4].event_id, "q2");
	expect_msgs(s, 1);
	store_free(&s);
}

static void
test_older_event_does_not_move_back(void **state)
{
	event_t up = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u1", 100, "h-1",
	    "lou@example.com");
	event_t q1 = mk_lead(EV_LEAD_QUALIFIED, "hubspot", "q1", 200, "h-1",
	    NULL);
	event_t acc = mk_sales(EV_SALES_ACCEPTED, "a1", 300, NULL, "C-1",
	    "lou@example.com", "rep-a");
	event_t deal = mk_sales(EV_DEAL_OPENED, "d1", 500, NULL, "C-1", NULL,
	    "rep-b");
	/* Arrive last, but happened before the deal. */
	event_t q0 = mk_lead(EV_LEAD_QUALIFIED, "hubspot", "q0", 150, "h-1",
	    NULL);
	event_t acc0 = mk_sales(EV_SALES_ACCEPTED, "a0", 250, NULL, "C-1",
	    NULL, "rep-c");
	event_t upold = mk_lead(EV_LEAD_UPSERTED, "hubspot", "u0", 50, "h-1",
	    NULL);
	store_t *s = store_new();
	recon_lead_t *l;

	(void)state;
	deal.deal.id = "D-9";
	up.lead.company = "Newco";
	upold.lead.company = "Oldco";
	run1(s, &up, 1000, NULL);
	run1(s, &q1, 1001, NULL);
	run1(s, &acc, 1002, NULL);
	run1(s, &deal, 1003, NULL);
	l = only_lead(s);
	assert_string_equal(recon_stage_name(l->stage), "sql");
	run1(s, &q0, 1004, NULL);
	run1(s, &acc0, 1005, NULL);
	run1(s, &upold, 1006, NULL);
	l = only_lead(s);
	assert_string_equal(recon_stage_name(l->stage), "sql");
	assert_int_equal(l->stage_at, AT(500));
	assert_int_equal(l->pass, 1);
	/* The older events take their place in the history. */
	assert_int_equal(l->stages[STAGE_MQL], AT(150));
	assert_int_equal(l->stages[STAGE_SAL], AT(250));
	assert_int_equal(l->stages[STAGE_SQL], AT(500));
	assert_int_equal(l->first_seen, AT(50));
	/* The newest owner stays; the newest company stays. */
	assert_string_equal(l->owner, "rep-b");
	assert_string_equal(field(l, "company"), "\"Newco\"");
	expect_msgs(s, 0);
	store_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenario_in_order),
		cmocka_unit_test(test_permutations_one_per_batch),
		cmocka_unit_test(test_permutations_one_batch),
		cmocka_unit_test(test_permutations_two_batches),
		cmocka_unit_test(test_older_sales_event_same_batch),
		cmocka_unit_test(test_two_marketing_sources_one_lead),
		cmocka_unit_test(test_crm_id_remembered),
		cmocka_unit_test(test_lead_key_resolution),
		cmocka_unit_test(test_unknown_lead_key),
		cmocka_unit_test(test_email_ambiguous),
		cmocka_unit_test(test_crm_id_conflict),
		cmocka_unit_test(test_recycle_then_requalify),
		cmocka_unit_test(test_older_event_does_not_move_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
