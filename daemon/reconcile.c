/*
 * The reconciliation core (see reconcile.h for the semantics). It is pure:
 * the shell (recstore.c) loads identities, deals, lead rows and logs with
 * set-based queries and hands them in; this file decides which lead each
 * event belongs to, what waits and what conflicts, merges profiles, and
 * folds each touched lead's sorted log into its stage, passes, owner and
 * touches. All memory comes from the batch's arena.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/codec.h"
#include "handoff/jdoc.h"
#include "handoff/reconcile.h"

/* ---- a string-keyed hash map in the arena ---- */

typedef struct {
	const char *key;
	void *val;
} slot_t;

typedef struct {
	slot_t *s;
	size_t cap, n;
} map_t;

static uint64_t
hash_str(const char *k)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (const unsigned char *p = (const unsigned char *)k; *p; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	return h;
}

static void map_put(map_t *m, const char *key, void *val);

static void
map_grow(map_t *m)
{
	slot_t *old = m->s;
	size_t oldcap = m->cap;

	m->cap = m->cap ? m->cap * 2 : 64;
	m->s = xcalloc(m->cap, sizeof(slot_t));
	m->n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key != NULL)
			map_put(m, old[i].key, old[i].val);
	free(old);
}

static slot_t *
map_slot(map_t *m, const char *key)
{
	size_t mask, i;

	if (m->cap == 0)
		map_grow(m);
	mask = m->cap - 1;
	i = hash_str(key) & mask;
	while (m->s[i].key != NULL && strcmp(m->s[i].key, key) != 0)
		i = (i + 1) & mask;
	return &m->s[i];
}

static void *
map_get(map_t *m, const char *key)
{
	slot_t *s;

	if (m->cap == 0)
		return NULL;
	s = map_slot(m, key);
	return s->key != NULL ? s->val : NULL;
}

static void
map_put(map_t *m, const char *key, void *val)
{
	slot_t *s;

	if ((m->n + 1) * 2 > m->cap)
		map_grow(m);
	s = map_slot(m, key);
	if (s->key == NULL) {
		s->key = key;
		m->n++;
	}
	s->val = val;
}

static void
map_free(map_t *m)
{
	free(m->s);
	m->s = NULL;
	m->cap = m->n = 0;
}

/* A growable array of pointers, xmalloc'd. */
typedef struct {
	void **v;
	size_t n, cap;
} vec_t;

static void
vec_push(vec_t *v, void *p)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 32;
		v->v = xreallocarray(v->v, v->cap, sizeof(void *));
	}
	v->v[v->n++] = p;
}

/* ---- the reconciliation ---- */

/* The leads an identity names (usually one). */
typedef struct {
	int64_t *ids;
	size_t n, cap;
} idset_t;

typedef struct {
	const event_t *ev;
	recon_lead_t *lead;
} applied_t;

struct recon {
	arena_t *a;
	uint32_t log_extra;     /* types logged for the SLA clocks */
	int64_t grace_s;
	jquote_t *jq;           /* profile values as JSON string literals */
	sbuf_t lit;
	map_t ident[ID__COUNT]; /* value -> idset_t* */
	map_t leads;            /* decimal id -> recon_lead_t* */
	map_t deals;            /* "source deal_id" -> recon_deal_t* */
	int64_t *pool;
	size_t npool, poolpos;
	vec_t applied;          /* applied_t* in resolution order */
	vec_t idents;           /* recon_ident_t* */
	vec_t pendings;         /* recon_pending_t* */
	vec_t unpended;         /* const event_t* */
	map_t resolved;         /* "source id" of unpended -> result + 1 */
	vec_t dealhist;         /* recon_dealhist_t* */
	vec_t newkeys[ID__COUNT];
	vec_t newdeals;
	vec_t leadlist;         /* recon_lead_t* touched */
	vec_t deallist;         /* recon_deal_t* touched */
	map_t seen_keys[ID__COUNT + 1]; /* for recon_keys dedupe */
	vec_t keyvec[ID__COUNT + 1];   /* recon_keys' result */
	const char **keep[ID__COUNT + 1]; /* recon_new_keys' result */
	recon_ident_t *identarr;
	recon_pending_t *pendarr;
	recon_dealhist_t *dharr;
};

static const char *const stage_names[STAGE__COUNT] = { "lead", "mql", "sal",
	"sql", "won", "lost", "recycled", "disqualified" };
static const char *const idkind_names[ID__COUNT] = { "mkt", "crm", "email",
	"key" };

const char *
recon_stage_name(recon_stage_t s)
{
	return stage_names[s];
}

int
recon_stage_from_name(const char *s)
{
	for (int i = 0; i < STAGE__COUNT; i++)
		if (strcmp(s, stage_names[i]) == 0)
			return i;
	return -1;
}

const char *
recon_idkind_name(recon_idkind_t k)
{
	return idkind_names[k];
}

char *
recon_lead_key(arena_t *a, int64_t id)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "L%lld", (long long)id);

	return arena_strndup(a, buf, (size_t)n);
}

static char *
astr(arena_t *a, const char *s)
{
	return s != NULL ? arena_strndup(a, s, strlen(s)) : NULL;
}

static char *
acat(arena_t *a, const char *x, const char *y)
{
	size_t nx = strlen(x), ny = strlen(y);
	char *p = arena_alloc(a, nx + ny + 2);

	memcpy(p, x, nx);
	p[nx] = ' ';
	memcpy(p + nx + 1, y, ny + 1);
	return p;
}

recon_t *
recon_new(arena_t *a, ts_t grace_s)
{
	recon_t *r = xcalloc(1, sizeof(*r));

	r->a = a;
	r->grace_s = grace_s;
	r->jq = jquote_new();
	sbuf_init(&r->lit);
	return r;
}

static void
vec_free(vec_t *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

void
recon_set_log_types(recon_t *r, uint32_t mask)
{
	r->log_extra = mask;
}

void
recon_destroy(recon_t **rp)
{
	recon_t *r;

	if (rp == NULL || *rp == NULL)
		return;
	r = *rp;
	for (int k = 0; k < ID__COUNT; k++) {
		for (size_t i = 0; i < r->ident[k].cap; i++)
			if (r->ident[k].s[i].key != NULL) {
				idset_t *s = r->ident[k].s[i].val;

				free(s->ids);
			}
		map_free(&r->ident[k]);
		vec_free(&r->newkeys[k]);
	}
	for (int k = 0; k <= ID__COUNT; k++) {
		map_free(&r->seen_keys[k]);
		vec_free(&r->keyvec[k]);
		free(r->keep[k]);
	}
	for (size_t i = 0; i < r->leadlist.n; i++) {
		recon_lead_t *l = r->leadlist.v[i];

		free(l->fields);
		free(l->log);
		free(l->hist);
		free(l);
	}
	map_free(&r->leads);
	map_free(&r->deals);
	map_free(&r->resolved);
	vec_free(&r->applied);
	vec_free(&r->idents);
	vec_free(&r->pendings);
	vec_free(&r->unpended);
	vec_free(&r->dealhist);
	vec_free(&r->newdeals);
	vec_free(&r->leadlist);
	vec_free(&r->deallist);
	free(r->pool);
	jquote_destroy(&r->jq);
	sbuf_free(&r->lit);
	free(r->identarr);
	free(r->pendarr);
	free(r->dharr);
	free(r);
	*rp = NULL;
}

/* ---- keys to load ---- */

static void
want(recon_t *r, vec_t *out, int kind, const char *v)
{
	if (v == NULL || map_get(&r->seen_keys[kind], v) != NULL)
		return;
	map_put(&r->seen_keys[kind], v, (void *)1);
	vec_push(out, (void *)v);
}

void
recon_keys(recon_t *r, const event_t *const *ev, size_t n, recon_keys_t *out)
{
	vec_t *k = r->keyvec;

	for (int i = 0; i <= ID__COUNT; i++) {
		k[i].n = 0;
		map_free(&r->seen_keys[i]);
	}
	for (size_t i = 0; i < n; i++) {
		const event_t *e = ev[i];

		switch (e->type) {
		case EV_LEAD_UPSERTED:
		case EV_LEAD_QUALIFIED:
		case EV_LEAD_RECYCLED:
		case EV_LEAD_DISQUALIFIED:
			want(r, &k[ID_MKT], ID_MKT,
			    acat(r->a, e->source, e->lead.id));
			want(r, &k[ID_EMAIL], ID_EMAIL, e->lead.email_norm);
			break;
		case EV_SALES_ACCEPTED:
		case EV_SALES_REJECTED:
		case EV_SALES_ACTIVITY:
		case EV_SALES_REASSIGNED:
		case EV_DEAL_OPENED:
			want(r, &k[ID_KEY], ID_KEY, e->ref.lead_key);
			want(r, &k[ID_CRM], ID_CRM, e->ref.crm_id);
			want(r, &k[ID_EMAIL], ID_EMAIL, e->ref.email_norm);
			if (e->type == EV_DEAL_OPENED)
				want(r, &k[ID__COUNT], ID__COUNT,
				    acat(r->a, e->source, e->deal.id));
			break;
		case EV_DEAL_STAGE_CHANGED:
		case EV_DEAL_CLOSED:
			want(r, &k[ID__COUNT], ID__COUNT,
			    acat(r->a, e->source, e->deal.id));
			break;
		case EV_CLOCK_TICK:
			break;
		case EV__COUNT:
			abort();
		}
	}
	for (int i = 0; i < ID__COUNT; i++) {
		out->v[i] = (const char **)k[i].v;
		out->n[i] = k[i].n;
	}
	out->deals = (const char **)k[ID__COUNT].v;
	out->ndeals = k[ID__COUNT].n;
}

/* ---- state from the shell ---- */

static idset_t *
idset(recon_t *r, recon_idkind_t kind, const char *value, bool create)
{
	idset_t *s = map_get(&r->ident[kind], value);

	if (s == NULL && create) {
		s = arena_alloc(r->a, sizeof(*s));
		memset(s, 0, sizeof(*s));
		map_put(&r->ident[kind], astr(r->a, value), s);
	}
	return s;
}

static bool
idset_has(const idset_t *s, int64_t id)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (s->ids[i] == id)
			return true;
	return false;
}

/* Keeps the ids sorted, so conflicts name leads in a stable order. */
static void
idset_add(idset_t *s, int64_t id)
{
	size_t i;

	if (idset_has(s, id))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 2;
		s->ids = xreallocarray(s->ids, s->cap, sizeof(int64_t));
	}
	for (i = s->n; i > 0 && s->ids[i - 1] > id; i--)
		s->ids[i] = s->ids[i - 1];
	s->ids[i] = id;
	s->n++;
}

void
recon_add_identity(recon_t *r, recon_idkind_t kind, const char *value,
    int64_t lead_id)
{
	idset_add(idset(r, kind, value, true), lead_id);
}

void
recon_add_deal(recon_t *r, const recon_deal_t *d)
{
	recon_deal_t *c = arena_alloc(r->a, sizeof(*c));

	*c = *d;
	c->is_new = c->dirty = false;
	map_put(&r->deals, acat(r->a, d->source, d->deal_id), c);
}

void
recon_add_ids(recon_t *r, const int64_t *ids, size_t n)
{
	r->pool = xreallocarray(r->pool, r->npool + n, sizeof(int64_t));
	memcpy(r->pool + r->npool, ids, n * sizeof(int64_t));
	r->npool += n;
}

size_t
recon_ids_needed(recon_t *r, const event_t *const *ev, size_t n)
{
	map_t seen = { 0 };
	size_t k = 0;

	/*
	 * A new lead needs an id: a marketing event whose (source, id) and
	 * email are unknown (with the identities loaded). Counting exactly
	 * keeps lead keys dense when events come one by one.
	 */
	for (size_t i = 0; i < n; i++) {
		const event_t *e = ev[i];
		const char *mkt;
		idset_t *s;

		if (e->type != EV_LEAD_UPSERTED && e->type != EV_LEAD_QUALIFIED)
			continue;
		mkt = acat(r->a, e->source, e->lead.id);
		s = idset(r, ID_MKT, mkt, false);
		if ((s != NULL && s->n > 0) || map_get(&seen, mkt) != NULL)
			continue;
		map_put(&seen, mkt, (void *)1);
		if (e->lead.email_norm != NULL) {
			s = idset(r, ID_EMAIL, e->lead.email_norm, false);
			if (s != NULL && s->n == 1)
				continue;
		}
		k++;
	}
	map_free(&seen);
	return k;
}

static const char *
idkey(recon_t *r, int64_t id)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)id);

	return arena_strndup(r->a, buf, (size_t)n);
}

static recon_lead_t *
lead_get(recon_t *r, int64_t id)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)id);
	return map_get(&r->leads, buf);
}

/* A lead known only by id so far (its row is loaded later). */
static recon_lead_t *
lead_ref(recon_t *r, int64_t id)
{
	recon_lead_t *l = lead_get(r, id);

	if (l != NULL)
		return l;
	l = xcalloc(1, sizeof(*l));
	l->id = id;
	l->lead_key = recon_lead_key(r->a, id);
	map_put(&r->leads, idkey(r, id), l);
	vec_push(&r->leadlist, l);
	return l;
}

size_t
recon_leads_to_load(recon_t *r, int64_t **ids)
{
	size_t n = 0;

	*ids = arena_alloc(r->a, (r->leadlist.n + 1) * sizeof(int64_t));
	for (size_t i = 0; i < r->leadlist.n; i++) {
		recon_lead_t *l = r->leadlist.v[i];

		if (!l->is_new && !l->log_loaded)
			(*ids)[n++] = l->id;
	}
	return n;
}

static recon_field_t *
field_find(recon_lead_t *l, const char *name)
{
	for (size_t i = 0; i < l->nfields; i++)
		if (strcmp(l->fields[i].name, name) == 0)
			return &l->fields[i];
	return NULL;
}

static void
field_push(recon_lead_t *l, const recon_field_t *f)
{
	if (l->nfields == l->fieldcap) {
		l->fieldcap = l->fieldcap ? l->fieldcap * 2 : 16;
		l->fields = xreallocarray(l->fields, l->fieldcap,
		    sizeof(*l->fields));
	}
	l->fields[l->nfields++] = *f;
}

recon_lead_t *
recon_add_lead(recon_t *r, const recon_lead_t *row)
{
	recon_lead_t *l = lead_ref(r, row->id);
	recon_field_t *fields = l->fields;
	size_t nf = l->nfields, fc = l->fieldcap;
	recon_log_t *log = l->log;
	size_t nl = l->nlog, lc = l->logcap;

	*l = *row;
	l->lead_key = row->lead_key != NULL ? row->lead_key :
	    recon_lead_key(r->a, row->id);
	/* Keep what the batch already attached before the row arrived. */
	l->fields = fields;
	l->nfields = nf;
	l->fieldcap = fc;
	l->log = log;
	l->nlog = nl;
	l->logcap = lc;
	l->nlog_stored = 0;
	l->log_loaded = true;
	l->is_new = false;
	l->hist = NULL;
	l->nhist = 0;
	for (size_t i = 0; i < row->nfields; i++)
		field_push(l, &row->fields[i]);
	return l;
}

static void
log_push(recon_lead_t *l, const recon_log_t *e)
{
	if (l->nlog == l->logcap) {
		l->logcap = l->logcap ? l->logcap * 2 : 8;
		l->log = xreallocarray(l->log, l->logcap, sizeof(*l->log));
	}
	l->log[l->nlog++] = *e;
}

void
recon_add_log(recon_t *r, int64_t lead_id, const recon_log_t *e)
{
	recon_lead_t *l = lead_get(r, lead_id);

	if (l == NULL)
		return;
	log_push(l, e);
	l->log[l->nlog - 1].stored = true;
	l->nlog_stored++;
}

/* ---- resolution ---- */

static void
link(recon_t *r, recon_idkind_t kind, const char *value, recon_lead_t *l)
{
	idset_t *s = idset(r, kind, value, true);
	recon_ident_t *id;

	if (idset_has(s, l->id))
		return;
	idset_add(s, l->id);
	id = arena_alloc(r->a, sizeof(*id));
	id->kind = kind;
	id->value = astr(r->a, value);
	id->lead_id = l->id;
	vec_push(&r->idents, id);
	if (kind != ID_KEY)
		vec_push(&r->newkeys[kind], (void *)id->value);
}

static void
conflict(recon_t *r, outbox_t *o, const char *kind, const int64_t *ids,
    size_t n, const char *detail)
{
	out_msg_t *m = arena_alloc(r->a, sizeof(*m));
	const char **keys = arena_alloc(r->a, (n + 1) * sizeof(char *));

	for (size_t i = 0; i < n; i++)
		keys[i] = recon_lead_key(r->a, ids[i]);
	memset(m, 0, sizeof(*m));
	m->type = OUT_RECONCILE_CONFLICT;
	m->u.conflict.kind = kind;
	m->u.conflict.lead_keys = keys;
	m->u.conflict.nlead_keys = n;
	m->u.conflict.detail = arena_strndup(r->a, detail, strlen(detail));
	outbox_add(o, m);
}

/* Conflict naming a string key that is not a lead (unknown lead_key). */
static void
conflict_keys(recon_t *r, outbox_t *o, const char *kind, const char *key,
    const char *detail)
{
	out_msg_t *m = arena_alloc(r->a, sizeof(*m));
	const char **keys = arena_alloc(r->a, sizeof(char *));

	keys[0] = key;
	memset(m, 0, sizeof(*m));
	m->type = OUT_RECONCILE_CONFLICT;
	m->u.conflict.kind = kind;
	m->u.conflict.lead_keys = keys;
	m->u.conflict.nlead_keys = 1;
	m->u.conflict.detail = arena_strndup(r->a, detail, strlen(detail));
	outbox_add(o, m);
}

static recon_lead_t *
lead_create(recon_t *r, const event_t *e)
{
	recon_lead_t *l;

	if (r->poolpos == r->npool)
		return NULL;
	l = lead_ref(r, r->pool[r->poolpos++]);
	l->is_new = true;
	l->log_loaded = true;
	l->source = e->source;
	l->mkt_id = e->lead.id;
	l->stage = STAGE_LEAD;
	l->stage_at = e->occurred_at;
	l->first_seen = e->occurred_at;
	l->pass = 1;
	link(r, ID_KEY, l->lead_key, l);
	return l;
}

static void
pend(recon_t *r, const event_t *e, bool from_pending, ts_t now,
    const char *crm, const char *email, const char *mkt, const char *deal)
{
	recon_pending_t *p;

	/* Still waiting: its row stays as it is. */
	if (from_pending)
		return;
	p = arena_alloc(r->a, sizeof(*p));
	p->ev = e;
	p->arrived = now;
	p->crm_id = crm;
	p->email_norm = email;
	p->mkt = mkt;
	p->deal = deal;
	vec_push(&r->pendings, p);
}

static void
ids_detail(char *buf, size_t len, const char *what, const char *value,
    const idset_t *s)
{
	snprintf(buf, len, "%s %s names %zu leads", what, value, s->n);
}

/* Resolves a sales-side lead_ref. Returns the lead, or NULL with *res. */
static recon_lead_t *
resolve_ref(recon_t *r, const event_t *e, outbox_t *o, recon_result_t *res,
    bool from_pending, ts_t now)
{
	const ev_lead_ref_t *ref = &e->ref;
	recon_lead_t *l = NULL;
	char detail[512];
	idset_t *s;

	if (ref->lead_key != NULL) {
		s = idset(r, ID_KEY, ref->lead_key, false);
		if (s == NULL || s->n == 0) {
			snprintf(detail, sizeof(detail), "%s %s/%s names "
			    "lead_key %s, which does not exist",
			    ev_type_name(e->type), e->source, e->id,
			    ref->lead_key);
			conflict_keys(r, o, "unknown_lead_key",
			    astr(r->a, ref->lead_key), detail);
			*res = RES_CONFLICT;
			return NULL;
		}
		l = lead_ref(r, s->ids[0]);
	}
	if (l == NULL && ref->crm_id != NULL) {
		s = idset(r, ID_CRM, ref->crm_id, false);
		if (s != NULL && s->n > 0)
			l = lead_ref(r, s->ids[0]);
	}
	if (l == NULL && ref->email_norm != NULL) {
		s = idset(r, ID_EMAIL, ref->email_norm, false);
		if (s != NULL && s->n > 1) {
			ids_detail(detail, sizeof(detail), "email",
			    ref->email_norm, s);
			conflict(r, o, "email_ambiguous", s->ids, s->n, detail);
			*res = RES_CONFLICT;
			return NULL;
		}
		if (s != NULL && s->n == 1)
			l = lead_ref(r, s->ids[0]);
	}
	if (l == NULL) {
		pend(r, e, from_pending, now, ref->crm_id, ref->email_norm,
		    NULL, NULL);
		*res = RES_PENDING;
		return NULL;
	}
	/* Remember what the event says about its lead. */
	if (ref->crm_id != NULL) {
		s = idset(r, ID_CRM, ref->crm_id, false);
		if (s == NULL || s->n == 0) {
			link(r, ID_CRM, ref->crm_id, l);
		} else if (!idset_has(s, l->id)) {
			int64_t ids[2] = { l->id, s->ids[0] };

			snprintf(detail, sizeof(detail), "%s %s/%s names lead "
			    "%s with crm_id %s, which belongs to lead %s",
			    ev_type_name(e->type), e->source, e->id, l->lead_key,
			    ref->crm_id, recon_lead_key(r->a, s->ids[0]));
			conflict(r, o, "crm_id_conflict", ids, 2, detail);
		}
	}
	if (ref->email_norm != NULL) {
		s = idset(r, ID_EMAIL, ref->email_norm, false);
		if (s == NULL || !idset_has(s, l->id))
			link(r, ID_EMAIL, ref->email_norm, l);
	}
	*res = RES_APPLIED;
	return l;
}

static int
cmp_event_time(const void *a, const void *b)
{
	const event_t *x = *(const event_t *const *)a;
	const event_t *y = *(const event_t *const *)b;
	int c;

	if (x->occurred_at != y->occurred_at)
		return x->occurred_at < y->occurred_at ? -1 : 1;
	if ((c = strcmp(x->source, y->source)) != 0)
		return c;
	return strcmp(x->id, y->id);
}

static void
applied(recon_t *r, const event_t *e, recon_lead_t *l)
{
	applied_t *a = arena_alloc(r->a, sizeof(*a));

	a->ev = e;
	a->lead = l;
	vec_push(&r->applied, a);
}

static recon_result_t
resolve_one(recon_t *r, const event_t *e, bool from_pending, ts_t now,
    outbox_t *o, int *err)
{
	recon_result_t res = RES_APPLIED;
	recon_lead_t *l = NULL;
	char detail[512];
	idset_t *s;

	switch (e->type) {
	case EV_LEAD_UPSERTED:
	case EV_LEAD_QUALIFIED:
	case EV_LEAD_RECYCLED:
	case EV_LEAD_DISQUALIFIED: {
		const char *mkt = acat(r->a, e->source, e->lead.id);
		const char *email = e->lead.email_norm;

		s = idset(r, ID_MKT, mkt, false);
		if (s != NULL && s->n > 0) {
			l = lead_ref(r, s->ids[0]);
		} else if (e->type == EV_LEAD_RECYCLED ||
		    e->type == EV_LEAD_DISQUALIFIED) {
			/* Taking back a lead we never saw: wait for it. */
			pend(r, e, from_pending, now, NULL, NULL, mkt, NULL);
			return RES_PENDING;
		} else {
			idset_t *es = email != NULL ?
			    idset(r, ID_EMAIL, email, false) : NULL;

			if (es != NULL && es->n == 1) {
				l = lead_ref(r, es->ids[0]);
			} else {
				l = lead_create(r, e);
				if (l == NULL) {
					*err = 1;
					return RES_NOOP;
				}
			}
			link(r, ID_MKT, mkt, l);
		}
		if (email != NULL) {
			s = idset(r, ID_EMAIL, email, false);
			if (s != NULL && s->n > 0 && !idset_has(s, l->id)) {
				int64_t *ids = arena_alloc(r->a,
				    (s->n + 1) * sizeof(int64_t));

				ids[0] = l->id;
				memcpy(ids + 1, s->ids, s->n * sizeof(int64_t));
				snprintf(detail, sizeof(detail), "%s %s/%s gives "
				    "lead %s the email %s, which lead %s has",
				    ev_type_name(e->type), e->source, e->id,
				    l->lead_key, email,
				    recon_lead_key(r->a, s->ids[0]));
				conflict(r, o, "email_shared", ids, s->n + 1,
				    detail);
			}
			link(r, ID_EMAIL, email, l);
		}
		break;
	}
	case EV_SALES_ACCEPTED:
	case EV_SALES_REJECTED:
	case EV_SALES_ACTIVITY:
	case EV_SALES_REASSIGNED:
	case EV_DEAL_OPENED:
		l = resolve_ref(r, e, o, &res, from_pending, now);
		if (l == NULL)
			return res;
		if (e->type == EV_DEAL_OPENED) {
			const char *dk = acat(r->a, e->source, e->deal.id);
			recon_deal_t *d = map_get(&r->deals, dk);

			if (d == NULL) {
				d = arena_alloc(r->a, sizeof(*d));
				memset(d, 0, sizeof(*d));
				d->source = e->source;
				d->deal_id = e->deal.id;
				d->lead_id = l->id;
				d->opened_at = e->occurred_at;
				d->is_new = true;
				map_put(&r->deals, dk, d);
				vec_push(&r->newdeals, (void *)dk);
			} else if (d->lead_id != l->id) {
				int64_t ids[2] = { l->id, d->lead_id };

				snprintf(detail, sizeof(detail), "deal %s from "
				    "%s is opened for lead %s but belongs to "
				    "lead %s", e->deal.id, e->source,
				    l->lead_key, recon_lead_key(r->a,
				    d->lead_id));
				conflict(r, o, "deal_conflict", ids, 2, detail);
				return RES_CONFLICT;
			}
		}
		break;
	case EV_DEAL_STAGE_CHANGED:
	case EV_DEAL_CLOSED: {
		const char *dk = acat(r->a, e->source, e->deal.id);
		recon_deal_t *d = map_get(&r->deals, dk);

		if (d == NULL) {
			pend(r, e, from_pending, now, NULL, NULL, NULL, dk);
			return RES_PENDING;
		}
		l = lead_ref(r, d->lead_id);
		break;
	}
	case EV_CLOCK_TICK:
		return RES_NOOP;
	case EV__COUNT:
		abort();
	}
	applied(r, e, l);
	return res;
}

static int
cmp_pending_time(const void *a, const void *b)
{
	const recon_pending_t *x = *(const recon_pending_t *const *)a;
	const recon_pending_t *y = *(const recon_pending_t *const *)b;

	return cmp_event_time(&x->ev, &y->ev);
}

/*
 * The batch's own events that went pending may be unlocked by identities
 * linked after them (an event older than its lead in the same batch, or
 * unlocked by a stored pending event the batch resolved): they are not in
 * pending_events yet, so the shell cannot find them. Retry them, in event
 * time, until none resolves; those that do are no longer pending. The
 * results of this call's events (ev[0..n)) are updated.
 */
static void
retry_pendings(recon_t *r, const event_t *const *ev, size_t n,
    recon_result_t *res, ts_t now, outbox_t *o, int *err)
{
	bool progress = true;

	while (progress && !*err && r->pendings.n > 0) {
		progress = false;
		qsort(r->pendings.v, r->pendings.n, sizeof(void *),
		    cmp_pending_time);
		for (size_t i = 0; i < r->pendings.n && !*err;) {
			recon_pending_t *p = r->pendings.v[i];
			/* from_pending: a still waiting event is not listed
			 * twice. */
			recon_result_t x = resolve_one(r, p->ev, true, now, o,
			    err);

			if (x == RES_PENDING) {
				i++;
				continue;
			}
			for (size_t k = 0; k < n; k++)
				if (ev[k] == p->ev)
					res[k] = x;
			memmove(&r->pendings.v[i], &r->pendings.v[i + 1],
			    (r->pendings.n - i - 1) * sizeof(void *));
			r->pendings.n--;
			progress = true;
		}
	}
}

int
recon_resolve(recon_t *r, const event_t *const *ev, size_t n,
    recon_result_t *res, bool from_pending, ts_t now, outbox_t *o)
{
	const event_t **sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	int err = 0;

	/* Within a batch, identity creation follows event time too. */
	memcpy(sorted, ev, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_event_time);
	for (size_t i = 0; i < n && !err; i++) {
		const char *key = from_pending ? acat(r->a, sorted[i]->source,
		    sorted[i]->id) : NULL;
		void *done = key != NULL ? map_get(&r->resolved, key) : NULL;
		recon_result_t x;

		/*
		 * A stored pending event that a later round finds again (by
		 * another of its keys) was resolved already: once only.
		 */
		if (done != NULL)
			x = (recon_result_t)((uintptr_t)done - 1);
		else
			x = resolve_one(r, sorted[i], from_pending, now, o,
			    &err);
		for (size_t k = 0; k < n; k++)
			if (ev[k] == sorted[i]) {
				res[k] = x;
				break;
			}
		if (from_pending && x != RES_PENDING && done == NULL) {
			vec_push(&r->unpended, (void *)sorted[i]);
			map_put(&r->resolved, key, (void *)((uintptr_t)x + 1));
		}
	}
	if (!err)
		retry_pendings(r, ev, n, res, now, o, &err);
	free(sorted);
	return err ? -1 : 0;
}

void
recon_new_keys(recon_t *r, recon_keys_t *out)
{
	const char ***keep = r->keep;

	for (int k = 0; k < ID__COUNT; k++) {
		free(keep[k]);
		keep[k] = xcalloc(r->newkeys[k].n + 1, sizeof(char *));
		if (r->newkeys[k].n > 0) /* v is NULL until a push */
			memcpy(keep[k], r->newkeys[k].v, r->newkeys[k].n *
			    sizeof(char *));
		out->v[k] = keep[k];
		out->n[k] = r->newkeys[k].n;
		r->newkeys[k].n = 0;
	}
	free(keep[ID__COUNT]);
	keep[ID__COUNT] = xcalloc(r->newdeals.n + 1, sizeof(char *));
	if (r->newdeals.n > 0)
		memcpy(keep[ID__COUNT], r->newdeals.v, r->newdeals.n *
		    sizeof(char *));
	out->deals = keep[ID__COUNT];
	out->ndeals = r->newdeals.n;
	r->newdeals.n = 0;
}

/* ---- applying ---- */

static void
merge_field(recon_t *r, recon_lead_t *l, const char *name, const char *json,
    const event_t *e)
{
	recon_field_t *f = field_find(l, name), nf;

	if (f != NULL) {
		int c = 0;

		if (e->occurred_at != f->at)
			c = e->occurred_at > f->at ? 1 : -1;
		else if (f->src != NULL && f->id != NULL) {
			c = strcmp(e->source, f->src);
			if (c == 0)
				c = strcmp(e->id, f->id);
		} else {
			c = 1;
		}
		if (c <= 0)
			return;
		f->value = json;
		f->at = e->occurred_at;
		f->src = e->source;
		f->id = e->id;
		return;
	}
	nf.name = astr(r->a, name);
	nf.value = json;
	nf.at = e->occurred_at;
	nf.src = e->source;
	nf.id = e->id;
	field_push(l, &nf);
}

/* A JSON string literal of s, in the arena. */
static const char *
json_string(recon_t *r, const char *s)
{
	sbuf_reset(&r->lit);
	jquotes(r->jq, &r->lit, s);
	return arena_strndup(r->a, r->lit.s, r->lit.len);
}

static void
merge_profile(recon_t *r, recon_lead_t *l, const event_t *e)
{
	const ev_lead_t *p = &e->lead;
	struct {
		const char *name, *v;
	} f[] = {
		{ "email", p->email }, { "first_name", p->first_name },
		{ "last_name", p->last_name }, { "company", p->company },
		{ "title", p->title }, { "country", p->country },
		{ "segment", p->segment }, { "campaign", p->campaign },
	};

	for (size_t i = 0; i < ARRAY_LEN(f); i++)
		if (f[i].v != NULL)
			merge_field(r, l, f[i].name, json_string(r, f[i].v),
			    e);
	if (p->has_score) {
		char buf[24];
		int n = snprintf(buf, sizeof(buf), "%lld",
		    (long long)p->score);

		merge_field(r, l, "score", arena_strndup(r->a, buf,
		    (size_t)n), e);
	}
	for (size_t i = 0; i < p->nattrs; i++) {
		size_t kl = strlen(p->attrs[i].key);
		char *name = arena_alloc(r->a, kl + 12);

		memcpy(name, "attributes.", 11);
		memcpy(name + 11, p->attrs[i].key, kl + 1);
		merge_field(r, l, name, json_string(r, p->attrs[i].value),
		    e);
	}
}

static recon_log_t
log_entry(const event_t *e)
{
	recon_log_t x;

	memset(&x, 0, sizeof(x));
	x.occurred_at = e->occurred_at;
	x.source = e->source;
	x.event_id = e->id;
	x.type = e->type;
	x.owner = e->owner;
	x.team = e->team;
	x.reason = e->reason;
	switch (e->type) {
	case EV_SALES_ACTIVITY:
		x.outcome = e->outcome == OUTCOME_CONNECTED ? "connected" :
		    e->outcome == OUTCOME_ATTEMPTED ? "attempted" : NULL;
		break;
	case EV_DEAL_OPENED:
		x.deal_id = e->deal.id;
		break;
	case EV_DEAL_CLOSED:
		x.deal_id = e->deal.id;
		x.outcome = e->deal.outcome == DEAL_WON ? "won" : "lost";
		x.reason = e->deal.reason;
		break;
	default:
		break;
	}
	return x;
}

static void
apply_deal(recon_t *r, const event_t *e)
{
	const char *dk = acat(r->a, e->source, e->deal.id);
	recon_deal_t *d = map_get(&r->deals, dk);
	recon_dealhist_t *h;

	if (d == NULL)
		return;
	if (!d->dirty) {
		d->dirty = true;
		vec_push(&r->deallist, d);
	}
	if (e->type == EV_DEAL_OPENED) {
		if (d->opened_at == 0 || e->occurred_at < d->opened_at)
			d->opened_at = e->occurred_at;
		if (e->deal.name != NULL)
			d->name = e->deal.name;
		if (e->deal.currency != NULL)
			d->currency = e->deal.currency;
	}
	/* Stage and amount: the newest event that gives them wins. */
	if (e->deal.stage != NULL && e->occurred_at >= d->stage_at) {
		d->stage = e->deal.stage;
		d->stage_at = e->occurred_at;
	}
	if (e->deal.amount != NULL && e->occurred_at >= d->amount_at) {
		d->amount = e->deal.amount;
		d->amount_at = e->occurred_at;
	}
	if (e->type == EV_DEAL_CLOSED && (d->closed_at == 0 ||
	    e->occurred_at >= d->closed_at)) {
		d->outcome = e->deal.outcome == DEAL_WON ? "won" : "lost";
		d->closed_at = e->occurred_at;
		d->close_reason = e->deal.reason;
	}
	h = arena_alloc(r->a, sizeof(*h));
	h->ev = e;
	h->source = e->source;
	h->deal_id = e->deal.id;
	vec_push(&r->dealhist, h);
}

static int
cmp_log(const void *a, const void *b)
{
	const recon_log_t *x = a, *y = b;
	int c;

	if (x->occurred_at != y->occurred_at)
		return x->occurred_at < y->occurred_at ? -1 : 1;
	if ((x->made != RECON_MADE_NONE) != (y->made != RECON_MADE_NONE))
		return x->made != RECON_MADE_NONE ? 1 : -1;
	if ((c = strcmp(x->source, y->source)) != 0)
		return c;
	return strcmp(x->event_id, y->event_id);
}

static void
enter(recon_lead_t *l, recon_stage_t s, const recon_log_t *e, bool newpass)
{
	if (newpass) {
		l->pass++;
		for (int i = 0; i < STAGE__COUNT; i++)
			l->stages[i] = 0;
	}
	l->stage = s;
	l->stage_at = e->occurred_at;
	if (l->stages[s] != 0)
		return; /* entered before in this pass: keep the first */
	l->stages[s] = e->occurred_at;
	l->hist = xreallocarray(l->hist, l->nhist + 1, sizeof(*l->hist));
	l->hist[l->nhist].stage = s;
	l->hist[l->nhist].pass = l->pass;
	l->hist[l->nhist].entered_at = e->occurred_at;
	l->hist[l->nhist].source = e->source;
	l->hist[l->nhist].event_id = e->event_id;
	l->nhist++;
}

/* Recomputes everything order-sensitive from the sorted log. */
static void
fold(recon_lead_t *l)
{
	ts_t mql_at = 0;
	recon_log_t start;

	if (l->nlog > 0) /* log is NULL until a push */
		qsort(l->log, l->nlog, sizeof(*l->log), cmp_log);
	free(l->hist);
	l->hist = NULL;
	l->nhist = 0;
	l->pass = 1;
	for (int i = 0; i < STAGE__COUNT; i++)
		l->stages[i] = 0;
	memset(&start, 0, sizeof(start));
	start.occurred_at = l->first_seen;
	enter(l, STAGE_LEAD, &start, false);
	l->owner = NULL;
	l->team = NULL;
	l->touches = 0;
	l->first_touch_at = l->connected_at = 0;

	for (size_t i = 0; i < l->nlog; i++) {
		recon_log_t *e = &l->log[i];
		recon_stage_t s = l->stage;

		e->prev_owner = l->owner;
		if (e->made != RECON_MADE_NONE) {
			/* Routing: an assignment without an owner (no rep was
			 * available) still names the team. */
			if (e->team != NULL)
				l->team = e->team;
			/* A reassignment to nobody unassigns (the rep went
			 * away and nobody could take the lead). */
			if (e->owner != NULL || e->made == RECON_MADE_REASSIGNED)
				l->owner = e->owner;
			continue;
		}
		switch (e->type) {
		case EV_LEAD_QUALIFIED:
			if (s == STAGE_LEAD || s == STAGE_RECYCLED ||
			    s == STAGE_LOST || s == STAGE_DISQUALIFIED) {
				enter(l, STAGE_MQL, e, s != STAGE_LEAD);
				mql_at = e->occurred_at;
				l->first_touch_at = l->connected_at = 0;
			}
			break;
		case EV_SALES_ACCEPTED:
			if (s == STAGE_LEAD || s == STAGE_MQL)
				enter(l, STAGE_SAL, e, false);
			break;
		case EV_SALES_REJECTED:
			if (s == STAGE_LEAD || s == STAGE_MQL || s == STAGE_SAL) {
				enter(l, STAGE_RECYCLED, e, false);
				l->owner = NULL;
			}
			break;
		case EV_LEAD_RECYCLED:
			if (s != STAGE_RECYCLED)
				enter(l, STAGE_RECYCLED, e, false);
			l->owner = NULL;
			break;
		case EV_LEAD_DISQUALIFIED:
			if (s != STAGE_DISQUALIFIED)
				enter(l, STAGE_DISQUALIFIED, e, false);
			break;
		case EV_DEAL_OPENED:
			if (s == STAGE_LEAD || s == STAGE_MQL || s == STAGE_SAL)
				enter(l, STAGE_SQL, e, false);
			break;
		case EV_DEAL_CLOSED:
			if (s != STAGE_WON && s != STAGE_LOST &&
			    s != STAGE_RECYCLED && s != STAGE_DISQUALIFIED)
				enter(l, strcmp(e->outcome, "won") == 0 ?
				    STAGE_WON : STAGE_LOST, e, false);
			break;
		case EV_SALES_ACTIVITY:
			l->touches++;
			if (e->occurred_at >= mql_at) {
				if (l->first_touch_at == 0)
					l->first_touch_at = e->occurred_at;
				if (l->connected_at == 0 && e->outcome != NULL &&
				    strcmp(e->outcome, "connected") == 0)
					l->connected_at = e->occurred_at;
			}
			break;
		case EV_SALES_REASSIGNED:
			if (e->team != NULL)
				l->team = e->team;
			break;
		case EV_LEAD_UPSERTED:
		case EV_DEAL_STAGE_CHANGED:
		case EV_CLOCK_TICK:
			break;
		case EV__COUNT:
			abort();
		}
		if (e->owner != NULL && (e->type == EV_SALES_ACCEPTED ||
		    e->type == EV_SALES_ACTIVITY ||
		    e->type == EV_SALES_REASSIGNED ||
		    e->type == EV_DEAL_OPENED))
			l->owner = e->owner;
	}
}

/* The email column: the profile's winning email, unquoted. */
static void
set_email(recon_t *r, recon_lead_t *l)
{
	recon_field_t *f = field_find(l, "email");
	size_t n;
	char *s, *norm;

	if (f == NULL || f->value == NULL)
		return;
	n = strlen(f->value);
	if (n < 2)
		return;
	/* The stored value is a JSON string; emails have no escapes. */
	s = arena_strndup(r->a, f->value + 1, n - 2);
	l->email = s;
	norm = arena_strndup(r->a, s, strlen(s));
	{
		char *b = norm, *e = norm + strlen(norm);

		while (*b == ' ' || *b == '\t')
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		for (char *c = b; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		l->email_norm = b;
	}
}

int
recon_apply(recon_t *r, outbox_t *o)
{
	for (size_t i = 0; i < r->applied.n; i++) {
		applied_t *a = r->applied.v[i];
		const event_t *e = a->ev;
		recon_lead_t *l = a->lead;

		l->dirty = true;
		if (e->occurred_at < l->first_seen || l->first_seen == 0) {
			l->first_seen = e->occurred_at;
			l->refold = true;
		}
		if (l->is_new)
			l->refold = true;
		if (e->type == EV_LEAD_UPSERTED || e->type == EV_LEAD_QUALIFIED)
			merge_profile(r, l, e);
		if (e->type != EV_LEAD_UPSERTED ||
		    (r->log_extra & EV_BIT(EV_LEAD_UPSERTED))) {
			recon_log_t x = log_entry(e);

			log_push(l, &x);
			l->refold = true;
		}
		if (e->type == EV_DEAL_OPENED || e->type == EV_DEAL_STAGE_CHANGED ||
		    e->type == EV_DEAL_CLOSED)
			apply_deal(r, e);
	}
	for (size_t i = 0; i < r->leadlist.n; i++) {
		recon_lead_t *l = r->leadlist.v[i];

		if (!l->dirty)
			continue;
		set_email(r, l);
		fold(l);
	}
	return 0;
}

/* ---- after the fold: routing's entries and what depends on them ---- */

static const char *const made_names[] = {
	[RECON_MADE_ASSIGNED] = "handoff.assigned",
	[RECON_MADE_REASSIGNED] = "handoff.reassigned",
};

const char *
recon_log_type_name(const recon_log_t *e)
{
	if (e->made != RECON_MADE_NONE)
		return made_names[e->made];
	return ev_type_name(e->type);
}

int
recon_log_type_parse(const char *s, size_t n, recon_log_t *e)
{
	int t;

	for (int m = RECON_MADE_ASSIGNED; m <= RECON_MADE_REASSIGNED; m++)
		if (strlen(made_names[m]) == n && memcmp(made_names[m], s, n) == 0) {
			e->made = (recon_made_t)m;
			e->type = EV__COUNT;
			return 0;
		}
	if ((t = ev_type_from_name(s, n)) < 0)
		return -1;
	e->made = RECON_MADE_NONE;
	e->type = (ev_type_t)t;
	return 0;
}

void
recon_touch(recon_t *r, int64_t lead_id)
{
	(void)lead_ref(r, lead_id);
}

recon_lead_t *
recon_lead(recon_t *r, int64_t lead_id)
{
	return lead_get(r, lead_id);
}

void
recon_refold(recon_t *r, recon_lead_t *l)
{
	l->dirty = true;
	l->refold = true;
	set_email(r, l);
	fold(l);
}

void
recon_add_made(recon_t *r, recon_lead_t *l, recon_made_t made, ts_t at,
    const char *owner, const char *team, const char *reason,
    const char *outcome)
{
	recon_log_t x;
	char id[64];

	memset(&x, 0, sizeof(x));
	x.occurred_at = at;
	x.source = RECON_SOURCE;
	/* The log only grows, so its length makes the id unique. */
	/* Zero-padded: entries of one instant sort by it as text. */
	snprintf(id, sizeof(id), "%s:%010zu", made == RECON_MADE_ASSIGNED ?
	    "assigned" : "reassigned", l->nlog + 1);
	x.event_id = astr(r->a, id);
	x.type = EV__COUNT;
	x.made = made;
	x.owner = owner;
	x.team = team;
	x.reason = reason;
	x.outcome = outcome;
	log_push(l, &x);
	recon_refold(r, l);
}

void
recon_finish(recon_t *r, outbox_t *o)
{
	for (size_t i = 0; i < r->leadlist.n; i++) {
		recon_lead_t *l = r->leadlist.v[i];

		if (!l->dirty)
			continue;
		for (size_t k = 0; k < l->nlog; k++) {
			const recon_log_t *e = &l->log[k];
			out_msg_t *m;

			if (e->stored || e->made != RECON_MADE_NONE)
				continue;
			if (e->type == EV_SALES_REJECTED) {
				/*
				 * Marketing hears of every rejection, with the
				 * email after the batch's merge and, when the
				 * CRM did not say who, the lead's owner then.
				 */
				m = arena_alloc(r->a, sizeof(*m));
				memset(m, 0, sizeof(*m));
				m->type = OUT_HANDOFF_RECYCLED;
				m->u.recycled.lead_key = l->lead_key;
				m->u.recycled.source = l->source;
				m->u.recycled.id = l->mkt_id;
				m->u.recycled.email = l->email;
				m->u.recycled.reason = e->reason;
				m->u.recycled.by = e->owner != NULL ? e->owner :
				    e->prev_owner;
				outbox_add(o, m);
				continue;
			}
			if (e->type != EV_SALES_REASSIGNED)
				continue;
			m = arena_alloc(r->a, sizeof(*m));
			memset(m, 0, sizeof(*m));
			m->type = OUT_HANDOFF_REASSIGNED;
			m->u.reassigned.lead_key = l->lead_key;
			m->u.reassigned.from = e->prev_owner;
			m->u.reassigned.to = e->owner;
			m->u.reassigned.team = e->team != NULL ? e->team : l->team;
			m->u.reassigned.why = OUT_WHY_CRM;
			outbox_add(o, m);
		}
	}
}

const char *
recon_field_plain(arena_t *a, const recon_lead_t *l, const char *name)
{
	for (size_t i = 0; i < l->nfields; i++)
		if (strcmp(l->fields[i].name, name) == 0) {
			const char *v = l->fields[i].value;
			size_t n;

			if (v == NULL)
				return NULL;
			n = strlen(v);
			if (n >= 2 && v[0] == '"')
				return jdoc_unquote(a, v, n);
			return v;
		}
	return NULL;
}

/* ---- results ---- */

recon_lead_t **
recon_leads(recon_t *r, size_t *n)
{
	*n = r->leadlist.n;
	return (recon_lead_t **)r->leadlist.v;
}

recon_deal_t **
recon_deals(recon_t *r, size_t *n)
{
	*n = r->deallist.n;
	return (recon_deal_t **)r->deallist.v;
}

const recon_ident_t *
recon_idents(recon_t *r, size_t *n)
{
	free(r->identarr);
	r->identarr = xcalloc(r->idents.n + 1, sizeof(recon_ident_t));
	for (size_t i = 0; i < r->idents.n; i++)
		r->identarr[i] = *(recon_ident_t *)r->idents.v[i];
	*n = r->idents.n;
	return r->identarr;
}

const recon_pending_t *
recon_pendings(recon_t *r, size_t *n)
{
	free(r->pendarr);
	r->pendarr = xcalloc(r->pendings.n + 1, sizeof(recon_pending_t));
	for (size_t i = 0; i < r->pendings.n; i++)
		r->pendarr[i] = *(recon_pending_t *)r->pendings.v[i];
	*n = r->pendings.n;
	return r->pendarr;
}

const event_t *const *
recon_unpended(recon_t *r, size_t *n)
{
	*n = r->unpended.n;
	return (const event_t *const *)r->unpended.v;
}

const recon_dealhist_t *
recon_dealhist(recon_t *r, size_t *n)
{
	free(r->dharr);
	r->dharr = xcalloc(r->dealhist.n + 1, sizeof(recon_dealhist_t));
	for (size_t i = 0; i < r->dealhist.n; i++)
		r->dharr[i] = *(recon_dealhist_t *)r->dealhist.v[i];
	*n = r->dealhist.n;
	return r->dharr;
}
