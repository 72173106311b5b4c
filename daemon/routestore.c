/*
 * The routing shell (see routestore.h): per batch, the queries that feed
 * route.c, the decisions recorded in the leads' logs, and the rotation and
 * waiting queue written back. Every query is set-based and runs only when
 * the batch has a lead to route or a waiting lead to assign, so routing
 * adds no per-lead round trip.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/codec.h"
#include "handoff/pgcopy.h"
#include "handoff/route.h"
#include "handoff/routestore.h"

#define WAITING_PER_TEAM 200   /* waiting leads looked at per team and batch */
#define UNROUTABLE_PER_TX 1000

typedef struct {
	int64_t lead_id;
	const char *team; /* NULL: unroutable */
	const char *rule;
	ts_t since;
	const char *email_norm; /* the lead's, for sticky_domain */
	bool tried;       /* touched to be assigned in this batch */
} waiting_t;

typedef struct {
	recon_lead_t *lead;
	const char *team;
	const char *rule;
	const char *owner;
} assigned_t;

struct routestore {
	const cfg_t *cfg;
	arena_t *a;
	route_t *route;
	bool loaded;             /* rotation and loads are in route */
	recon_lead_t **cand;     /* leads to route, oldest MQL first */
	size_t ncand;
	waiting_t *w;            /* the waiting queue as loaded */
	size_t nw;
	int64_t *w_del;          /* leads that stop waiting */
	size_t ndel;
	waiting_t *w_add;        /* leads that start (or go on) waiting */
	size_t nadd;
	assigned_t *asg;
	size_t nasg;
	size_t cap;              /* of w_del, w_add, asg */
};

bool
routestore_enabled(const cfg_t *cfg)
{
	return cfg->nrules > 0;
}

routestore_t *
routestore_new(const cfg_t *cfg, arena_t *a)
{
	routestore_t *rt = xcalloc(1, sizeof(*rt));

	rt->cfg = cfg;
	rt->a = a;
	rt->route = route_new(cfg);
	return rt;
}

void
routestore_destroy(routestore_t **p)
{
	routestore_t *rt = *p;

	if (rt == NULL)
		return;
	route_destroy(&rt->route);
	free(rt->cand);
	free(rt->w);
	free(rt->w_del);
	free(rt->w_add);
	free(rt->asg);
	free(rt);
	*p = NULL;
}

static char *
pq_error(PGconn *c, PGresult *r, const char *what)
{
	const char *m = r != NULL ? PQresultErrorMessage(r) : "";

	if (m == NULL || *m == '\0')
		m = PQerrorMessage(c);
	return xasprintf("%s: %.*s", what, (int)strcspn(m, "\n"), m);
}

static PGresult *
query(PGconn *c, const char *what, const char *sql, int n,
    const char *const *p, ExecStatusType want, char **err)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);

	if (PQresultStatus(r) != want) {
		*err = pq_error(c, r, what);
		PQclear(r);
		return NULL;
	}
	return r;
}

static const char *
col(arena_t *a, const PGresult *r, int row, int c)
{
	if (PQgetisnull(r, row, c))
		return NULL;
	return arena_strndup(a, PQgetvalue(r, row, c),
	    (size_t)PQgetlength(r, row, c));
}

static void
grow(routestore_t *rt)
{
	size_t want = rt->ndel > rt->nadd ? rt->ndel : rt->nadd;

	if (rt->nasg > want)
		want = rt->nasg;
	if (want < rt->cap)
		return;
	rt->cap = rt->cap ? rt->cap * 2 : 32;
	rt->w_del = xreallocarray(rt->w_del, rt->cap, sizeof(*rt->w_del));
	rt->w_add = xreallocarray(rt->w_add, rt->cap, sizeof(*rt->w_add));
	rt->asg = xreallocarray(rt->asg, rt->cap, sizeof(*rt->asg));
}

static void
stop_waiting(routestore_t *rt, int64_t id)
{
	grow(rt);
	rt->w_del[rt->ndel++] = id;
}

static void
start_waiting(routestore_t *rt, int64_t id, const char *team,
    const char *rule, ts_t since)
{
	grow(rt);
	rt->w_add[rt->nadd].lead_id = id;
	rt->w_add[rt->nadd].team = team;
	rt->w_add[rt->nadd].rule = rule;
	rt->w_add[rt->nadd].since = since;
	rt->nadd++;
}

/* The time of the lead's newest entry of the daemon's own, or 0. */
static ts_t
last_made(const recon_lead_t *l)
{
	ts_t t = 0;

	for (size_t i = 0; i < l->nlog; i++)
		if (l->log[i].made != RECON_MADE_NONE && l->log[i].occurred_at > t)
			t = l->log[i].occurred_at;
	return t;
}

/* The rule of the lead's newest assignment, or NULL. */
static const char *
last_rule(const recon_lead_t *l)
{
	const recon_log_t *best = NULL;

	for (size_t i = 0; i < l->nlog; i++)
		if (l->log[i].made == RECON_MADE_ASSIGNED && (best == NULL ||
		    l->log[i].occurred_at >= best->occurred_at))
			best = &l->log[i];
	return best != NULL ? best->reason : NULL;
}

static ts_t
mql_time(const recon_lead_t *l)
{
	return l->stages[STAGE_MQL] != 0 ? l->stages[STAGE_MQL] : l->stage_at;
}

static bool
wants_owner(const recon_lead_t *l)
{
	return l->owner == NULL &&
	    (l->stage == STAGE_MQL || l->stage == STAGE_SAL);
}

static int
cmp_cand(const void *x, const void *y)
{
	const recon_lead_t *a = *(recon_lead_t *const *)x;
	const recon_lead_t *b = *(recon_lead_t *const *)y;
	ts_t ta = mql_time(a), tb = mql_time(b);

	if (ta != tb)
		return ta < tb ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static waiting_t *
waiting_of(routestore_t *rt, int64_t id)
{
	for (size_t i = 0; i < rt->nw; i++)
		if (rt->w[i].lead_id == id)
			return &rt->w[i];
	return NULL;
}

/* "{1,2,3}" of the ids of r's leads. */
static void
touched_ids(recon_t *r, sbuf_t *b)
{
	size_t n;
	recon_lead_t **ls = recon_leads(r, &n);

	sbuf_addc(b, '{');
	for (size_t i = 0; i < n; i++)
		sbuf_printf(b, "%s%" PRId64, i ? "," : "", ls[i]->id);
	sbuf_addc(b, '}');
}

/*
 * The rotation (locked, so that daemons sharing the database take turns)
 * and the reps' open loads. The loads count the stored leads but r's,
 * whose state after this batch's fold is added instead.
 */
static int
load_state(routestore_t *rt, PGconn *c, recon_t *r, char **err)
{
	const cfg_t *cfg = rt->cfg;
	const char **reps;
	size_t nreps = 0, nl;
	recon_lead_t **ls;
	sbuf_t a1, a2;
	const char *p[2];
	PGresult *res;
	int rc = -1;

	if (rt->loaded)
		return 0;
	res = query(c, "load rotation", "SELECT team, rep, current_weight "
	    "FROM routing_rotation ORDER BY team, rep FOR UPDATE", 0, NULL,
	    PGRES_TUPLES_OK, err);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		route_set_rotation(rt->route, PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1),
		    strtoll(PQgetvalue(res, i, 2), NULL, 10));
	PQclear(res);

	/*
	 * Only reps with a capacity need their load: counting the open
	 * leads of the others would cost in proportion to all open leads.
	 */
	for (size_t t = 0; t < cfg->nteams; t++)
		nreps += cfg->teams[t].nreps;
	reps = xcalloc(nreps + 1, sizeof(*reps));
	nreps = 0;
	for (size_t t = 0; t < cfg->nteams; t++)
		for (size_t k = 0; k < cfg->teams[t].nreps; k++)
			if (cfg->teams[t].reps[k].capacity > 0)
				reps[nreps++] = cfg->teams[t].reps[k].id;
	if (nreps == 0) {
		free(reps);
		goto touched;
	}
	sbuf_init(&a1);
	sbuf_init(&a2);
	pgcopy_array(&a1, reps, nreps);
	touched_ids(r, &a2);
	p[0] = a1.s;
	p[1] = a2.s;
	res = query(c, "load rep loads", "SELECT owner, count(*) FROM leads "
	    "WHERE owner = ANY($1::text[]) AND stage IN ('mql', 'sal') "
	    "AND NOT (id = ANY($2::bigint[])) GROUP BY owner", 2, p,
	    PGRES_TUPLES_OK, err);
	sbuf_free(&a1);
	sbuf_free(&a2);
	free(reps);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		route_add_load(rt->route, PQgetvalue(res, i, 0),
		    strtoll(PQgetvalue(res, i, 1), NULL, 10));
	PQclear(res);
touched:
	ls = recon_leads(r, &nl);
	for (size_t i = 0; i < nl; i++)
		if (ls[i]->owner != NULL && (ls[i]->stage == STAGE_MQL ||
		    ls[i]->stage == STAGE_SAL))
			route_add_load(rt->route, ls[i]->owner, 1);
	rt->loaded = true;
	rc = 0;
	return rc;
}

/* The owners of the candidates' email domains (sticky_domain). */
static int
load_domains(routestore_t *rt, PGconn *c, char **err)
{
	const char **doms;
	size_t nd = 0;
	sbuf_t a1;
	const char *p[1];
	PGresult *res;

	if (!rt->cfg->sticky_domain || rt->ncand + rt->nw == 0)
		return 0;
	/* The candidates' domains and those of the waiting leads, which
	 * may be assigned in this batch too. */
	doms = xcalloc(rt->ncand + rt->nw + 1, sizeof(*doms));
	for (size_t i = 0; i < rt->ncand + rt->nw; i++) {
		const char *d = route_domain(rt->route, i < rt->ncand ?
		    rt->cand[i]->email_norm : rt->w[i - rt->ncand].email_norm);

		if (d != NULL)
			doms[nd++] = d;
	}
	if (nd == 0) {
		free(doms);
		return 0;
	}
	sbuf_init(&a1);
	pgcopy_array(&a1, doms, nd);
	free(doms);
	p[0] = a1.s;
	/* One probe of leads_domain_owner_idx per domain: the oldest owned
	 * lead, whatever the number of owned leads the domain has. */
	res = query(c, "load domain owners", "SELECT d.v, l.owner "
	    "FROM (SELECT DISTINCT unnest($1::text[])) d(v) "
	    "CROSS JOIN LATERAL (SELECT owner "
	    "FROM leads WHERE email_domain = d.v AND owner IS NOT NULL "
	    "ORDER BY id LIMIT 1) l", 1, p, PGRES_TUPLES_OK, err);
	sbuf_free(&a1);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		route_set_domain_owner(rt->route, col(rt->a, res, i, 0),
		    col(rt->a, res, i, 1));
	PQclear(res);
	return 0;
}

size_t
routestore_candidates(routestore_t *rt, recon_t *r)
{
	size_t nl;
	recon_lead_t **ls = recon_leads(r, &nl);

	if (rt->cand != NULL)
		return rt->ncand;
	rt->cand = xcalloc(nl + 1, sizeof(*rt->cand));
	for (size_t i = 0; i < nl; i++)
		if (ls[i]->dirty && wants_owner(ls[i]))
			rt->cand[rt->ncand++] = ls[i];
	qsort(rt->cand, rt->ncand, sizeof(*rt->cand), cmp_cand);
	return rt->ncand;
}

bool
routestore_queue_empty(const routestore_t *rt)
{
	size_t left = 0;

	/* Rows loaded, minus those that stop waiting, plus the new ones. */
	for (size_t i = 0; i < rt->nw; i++) {
		bool gone = false;

		for (size_t k = 0; k < rt->ndel && !gone; k++)
			gone = rt->w_del[k] == rt->w[i].lead_id;
		left += !gone;
	}
	return left == 0 && rt->nadd == 0;
}

/* The configured teams' names, as a PostgreSQL array literal. */
static void
team_array(const cfg_t *cfg, sbuf_t *out)
{
	const char **teams = xcalloc(cfg->nteams + 1, sizeof(*teams));

	for (size_t t = 0; t < cfg->nteams; t++)
		teams[t] = cfg->teams[t].name;
	pgcopy_array(out, teams, cfg->nteams);
	free(teams);
}

int
routestore_others_waiting(routestore_t *rt, PGconn *c, bool *any,
    char **err)
{
	sbuf_t arr;
	const char *p[1];
	PGresult *res;

	/* Leads of the configured teams: the unroutable ones (no team) are
	 * tried again at a reload, not now. */
	sbuf_init(&arr);
	team_array(rt->cfg, &arr);
	p[0] = arr.s;
	res = query(c, "probe waiting leads", "SELECT EXISTS (SELECT 1 FROM "
	    "routing_waiting WHERE team = ANY($1::text[]))", 1, p,
	    PGRES_TUPLES_OK, err);
	sbuf_free(&arr);
	if (res == NULL)
		return -1;
	*any = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return 0;
}

int
routestore_prepare(routestore_t *rt, PGconn *c, recon_t *r,
    bool retry_unroutable, char **err)
{
	sbuf_t a1, a2;
	PGresult *res;
	char lim[16], lim2[16];

	(void)routestore_candidates(rt, r);

	/*
	 * The oldest waiting leads of each team (so that a team with room
	 * finds its own however long another's queue is), the oldest
	 * unroutable ones after a reload, and the candidates if they wait.
	 */
	sbuf_init(&a1);
	sbuf_init(&a2);
	sbuf_addc(&a1, '{');
	for (size_t i = 0; i < rt->ncand; i++)
		sbuf_printf(&a1, "%s%" PRId64, i ? "," : "", rt->cand[i]->id);
	sbuf_addc(&a1, '}');
	team_array(rt->cfg, &a2);
	snprintf(lim, sizeof(lim), "%d", WAITING_PER_TEAM);
	snprintf(lim2, sizeof(lim2), "%d", retry_unroutable ?
	    UNROUTABLE_PER_TX : 0);
	{
		const char *q[4] = { a1.s, a2.s, lim, lim2 };

		/* With each lead's email, for its domain's owner. */
		res = query(c, "load waiting leads", "SELECT x.lead_id, "
		    "x.team, x.rule, x.us, l.email_norm FROM ("
		    "SELECT w.lead_id, w.team, w.rule, (extract(epoch FROM "
		    "w.since) * 1000000)::bigint AS us, w.since "
		    "FROM unnest($2::text[]) t(team) CROSS JOIN LATERAL "
		    "(SELECT * FROM routing_waiting WHERE team = t.team "
		    "ORDER BY since, lead_id LIMIT $3::integer) w "
		    "UNION SELECT lead_id, team, rule, (extract(epoch FROM "
		    "since) * 1000000)::bigint, since FROM (SELECT * FROM "
		    "routing_waiting WHERE team IS NULL ORDER BY since, lead_id "
		    "LIMIT $4::integer) u "
		    "UNION SELECT lead_id, team, rule, (extract(epoch FROM "
		    "since) * 1000000)::bigint, since FROM routing_waiting WHERE "
		    "lead_id = ANY($1::bigint[])) x LEFT JOIN leads l "
		    "ON l.id = x.lead_id ORDER BY x.since, x.lead_id", 4, q,
		    PGRES_TUPLES_OK, err);
	}
	sbuf_free(&a1);
	sbuf_free(&a2);
	if (res == NULL)
		return -1;
	rt->nw = (size_t)PQntuples(res);
	rt->w = xcalloc(rt->nw + 1, sizeof(*rt->w));
	for (size_t i = 0; i < rt->nw; i++) {
		rt->w[i].lead_id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		rt->w[i].team = col(rt->a, res, (int)i, 1);
		rt->w[i].rule = col(rt->a, res, (int)i, 2);
		rt->w[i].since = strtoll(PQgetvalue(res, (int)i, 3), NULL, 10);
		rt->w[i].email_norm = col(rt->a, res, (int)i, 4);
	}
	PQclear(res);
	if (rt->ncand == 0 && rt->nw == 0)
		return 0;
	if (load_state(rt, c, r, err) == -1 || load_domains(rt, c, err) == -1)
		return -1;
	/* Waiting leads that may be assigned now are loaded to be. */
	for (size_t i = 0; i < rt->nw; i++) {
		waiting_t *w = &rt->w[i];
		int t = w->team != NULL ? cfg_team_index(rt->cfg, w->team) : -1;

		if (t >= 0 ? route_available(rt->route, (size_t)t, NULL) :
		    retry_unroutable) {
			w->tried = true;
			recon_touch(r, w->lead_id);
		}
	}
	return 0;
}

static route_lead_t
route_view(arena_t *a, const recon_lead_t *l)
{
	route_lead_t v;
	const char *score = recon_field_plain(a, l, "score");
	char *end;

	memset(&v, 0, sizeof(v));
	v.segment = recon_field_plain(a, l, "segment");
	v.country = recon_field_plain(a, l, "country");
	v.email_norm = l->email_norm;
	if (score != NULL) {
		v.score = strtoll(score, &end, 10);
		v.has_score = *end == '\0';
	}
	return v;
}

static void
conflict(routestore_t *rt, outbox_t *o, const char *kind,
    const recon_lead_t *l, const char *detail)
{
	out_msg_t *m = arena_alloc(rt->a, sizeof(*m));
	const char **keys = arena_alloc(rt->a, sizeof(char *));

	keys[0] = l->lead_key;
	memset(m, 0, sizeof(*m));
	m->type = OUT_RECONCILE_CONFLICT;
	m->u.conflict.kind = kind;
	m->u.conflict.lead_keys = keys;
	m->u.conflict.nlead_keys = 1;
	m->u.conflict.detail = arena_strndup(rt->a, detail, strlen(detail));
	outbox_add(o, m);
}

static void
unroutable(routestore_t *rt, recon_lead_t *l, const route_lead_t *v,
    outbox_t *o)
{
	char d[512], score[32] = "none";

	if (v->has_score)
		snprintf(score, sizeof(score), "%" PRId64, v->score);
	snprintf(d, sizeof(d), "no routing rule matches lead %s (segment %s, "
	    "country %s, score %s, email domain %s)", l->lead_key,
	    v->segment ? v->segment : "none", v->country ? v->country : "none",
	    score, v->email_norm && strchr(v->email_norm, '@') ?
	    strchr(v->email_norm, '@') + 1 : "none");
	conflict(rt, o, "unroutable", l, d);
}

static void
no_capacity(routestore_t *rt, recon_lead_t *l, const char *team,
    outbox_t *o)
{
	char d[512];

	snprintf(d, sizeof(d), "no available rep in team %s for lead %s "
	    "(every rep away or at capacity); it waits unassigned", team,
	    l->lead_key);
	conflict(rt, o, "no_capacity", l, d);
}

/* Routes one lead to team by rule; at is the assignment's instant. */
static bool
assign(routestore_t *rt, recon_t *r, recon_lead_t *l, size_t team,
    const char *rule, ts_t at)
{
	const cfg_team_t *t = &rt->cfg->teams[team];
	bool sticky;
	const char *owner = route_pick(rt->route, team,
	    route_domain(rt->route, l->email_norm), NULL, &sticky);

	if (owner == NULL)
		return false;
	recon_add_made(r, l, RECON_MADE_ASSIGNED, at, owner, t->name, rule,
	    NULL);
	grow(rt);
	rt->asg[rt->nasg].lead = l;
	rt->asg[rt->nasg].team = t->name;
	rt->asg[rt->nasg].rule = rule;
	rt->asg[rt->nasg].owner = owner;
	rt->nasg++;
	return true;
}

void
routestore_route(routestore_t *rt, recon_t *r, ts_t now, outbox_t *o)
{
	const cfg_t *cfg = rt->cfg;

	/* Waiting leads first, oldest first (SPEC §4). */
	for (size_t i = 0; i < rt->nw; i++) {
		waiting_t *w = &rt->w[i];
		recon_lead_t *l = recon_lead(r, w->lead_id);
		int t;

		if (!w->tried || l == NULL || !l->log_loaded)
			continue;
		if (!wants_owner(l)) {
			stop_waiting(rt, w->lead_id); /* owned or moved on */
			continue;
		}
		t = w->team != NULL ? cfg_team_index(cfg, w->team) : -1;
		if (t < 0) {
			route_lead_t v = route_view(rt->a, l);
			int k = route_rule(rt->route, &v);

			if (k < 0)
				continue; /* still unroutable */
			t = (int)cfg->rules[k].team;
			w->rule = cfg->rules[k].name;
			if (!assign(rt, r, l, (size_t)t, w->rule, now)) {
				/* Routable now, but the team is full. */
				recon_add_made(r, l, RECON_MADE_ASSIGNED, now, NULL,
				    cfg->teams[t].name, w->rule, NULL);
				start_waiting(rt, l->id, cfg->teams[t].name,
				    w->rule, w->since);
				no_capacity(rt, l, cfg->teams[t].name, o);
				continue;
			}
		} else if (!assign(rt, r, l, (size_t)t, w->rule, now)) {
			continue;
		}
		stop_waiting(rt, w->lead_id);
	}
	/* Then the batch's new MQLs. */
	for (size_t i = 0; i < rt->ncand; i++) {
		recon_lead_t *l = rt->cand[i];
		waiting_t *w = waiting_of(rt, l->id);
		route_lead_t v;
		int k;
		size_t t;
		ts_t at;

		if (w != NULL && (w->tried || w->team != NULL))
			continue; /* it waits; handled above */
		if (!wants_owner(l))
			continue;
		v = route_view(rt->a, l);
		k = route_rule(rt->route, &v);
		if (k < 0) {
			if (w == NULL) {
				start_waiting(rt, l->id, NULL, NULL, mql_time(l));
				unroutable(rt, l, &v, o);
			}
			continue;
		}
		/* A lead that waited is assigned now; a new MQL when it
		 * qualified. */
		at = w != NULL ? now : mql_time(l);
		if (w != NULL)
			stop_waiting(rt, l->id); /* unroutable no more */
		t = cfg->rules[k].team;
		if (assign(rt, r, l, t, cfg->rules[k].name, at))
			continue;
		recon_add_made(r, l, RECON_MADE_ASSIGNED, at, NULL,
		    cfg->teams[t].name, cfg->rules[k].name, NULL);
		start_waiting(rt, l->id, cfg->teams[t].name, cfg->rules[k].name,
		    mql_time(l));
		no_capacity(rt, l, cfg->teams[t].name, o);
	}
}

/* The lead's profile as handoff.assigned shows it. */
static const ev_lead_t *
profile_of(arena_t *a, const recon_lead_t *l)
{
	ev_lead_t *p = arena_alloc(a, sizeof(*p));
	const char *score = recon_field_plain(a, l, "score");
	size_t na = 0;

	memset(p, 0, sizeof(*p));
	p->id = l->mkt_id;
	p->email = recon_field_plain(a, l, "email");
	p->first_name = recon_field_plain(a, l, "first_name");
	p->last_name = recon_field_plain(a, l, "last_name");
	p->company = recon_field_plain(a, l, "company");
	p->title = recon_field_plain(a, l, "title");
	p->country = recon_field_plain(a, l, "country");
	p->segment = recon_field_plain(a, l, "segment");
	p->campaign = recon_field_plain(a, l, "campaign");
	if (score != NULL) {
		char *end;

		p->score = strtoll(score, &end, 10);
		p->has_score = *end == '\0';
	}
	for (size_t i = 0; i < l->nfields; i++)
		if (strncmp(l->fields[i].name, "attributes.", 11) == 0)
			na++;
	p->attrs = arena_alloc(a, (na + 1) * sizeof(*p->attrs));
	for (size_t i = 0; i < l->nfields; i++)
		if (strncmp(l->fields[i].name, "attributes.", 11) == 0 &&
		    l->fields[i].value != NULL) {
			p->attrs[p->nattrs].key = l->fields[i].name + 11;
			p->attrs[p->nattrs].value = recon_field_plain(a, l,
			    l->fields[i].name);
			p->nattrs++;
		}
	return p;
}

void
routestore_announce(routestore_t *rt, outbox_t *o, size_t pos)
{
	for (size_t i = 0; i < rt->nasg; i++) {
		const assigned_t *g = &rt->asg[i];
		out_msg_t *m = arena_alloc(rt->a, sizeof(*m));

		memset(m, 0, sizeof(*m));
		m->type = OUT_HANDOFF_ASSIGNED;
		m->u.assigned.lead_key = g->lead->lead_key;
		m->u.assigned.source = g->lead->source;
		m->u.assigned.lead = profile_of(rt->a, g->lead);
		m->u.assigned.owner = g->owner;
		m->u.assigned.team = g->team;
		m->u.assigned.rule = g->rule;
		m->u.assigned.due = g->lead->due;
		m->u.assigned.ndue = g->lead->ndue;
		outbox_insert(o, pos + i, m);
	}
	rt->nasg = 0;
}

int
routestore_reassign(routestore_t *rt, PGconn *c, recon_t *r,
    const routestore_move_t *mv, size_t n, out_why_t why, outbox_t *o,
    char **err)
{
	if (load_state(rt, c, r, err) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		recon_lead_t *l = recon_lead(r, mv[i].lead_id);
		const char *from, *to;
		bool sticky;
		int t;
		ts_t at;
		out_msg_t *m;

		if (l == NULL || !l->log_loaded)
			continue;
		t = l->team != NULL ? cfg_team_index(rt->cfg, l->team) : -1;
		if (t < 0) {
			char d[256];

			snprintf(d, sizeof(d), "cannot reassign lead %s: it has "
			    "no team of the configuration", l->lead_key);
			conflict(rt, o, "unroutable", l, d);
			continue;
		}
		from = l->owner;
		if (from == NULL && why == OUT_WHY_SLA_ESCALATION)
			continue; /* it waits for a rep already */
		/*
		 * Never before the lead's last routing entry (an assignment
		 * made at the daemon's clock in this batch, say), so that the
		 * fold applies this one after it.
		 */
		at = mv[i].at > last_made(l) ? mv[i].at : last_made(l);
		to = route_pick(rt->route, (size_t)t, NULL, from, &sticky);
		if (to == NULL) {
			char d[512];

			snprintf(d, sizeof(d), "no other available rep in team "
			    "%s to take lead %s from %s%s", rt->cfg->teams[t].name,
			    l->lead_key, from != NULL ? from : "nobody",
			    why == OUT_WHY_REP_AWAY ? "; it waits unassigned" :
			    "");
			conflict(rt, o, "no_capacity", l, d);
			if (why == OUT_WHY_REP_AWAY) {
				/*
				 * Away reps do not keep leads: it waits for
				 * the next rep of its team to become available.
				 */
				if (from != NULL)
					route_add_load(rt->route, from, -1);
				recon_add_made(r, l, RECON_MADE_REASSIGNED,
				    at, NULL, rt->cfg->teams[t].name, NULL,
				    "rep_away");
				start_waiting(rt, l->id, rt->cfg->teams[t].name,
				    last_rule(l), mql_time(l));
			}
			continue;
		}
		/* The load counts open leads (mql, sal) only. */
		if (l->stage == STAGE_MQL || l->stage == STAGE_SAL) {
			if (from != NULL)
				route_add_load(rt->route, from, -1);
		} else {
			route_add_load(rt->route, to, -1);
		}
		recon_add_made(r, l, RECON_MADE_REASSIGNED, at, to,
		    rt->cfg->teams[t].name, why == OUT_WHY_SLA_ESCALATION ?
		    mv[i].clock : NULL, why == OUT_WHY_SLA_ESCALATION ?
		    "sla_escalation" : "rep_away");
		m = arena_alloc(rt->a, sizeof(*m));
		memset(m, 0, sizeof(*m));
		m->type = OUT_HANDOFF_REASSIGNED;
		m->u.reassigned.lead_key = l->lead_key;
		m->u.reassigned.from = from;
		m->u.reassigned.to = to;
		m->u.reassigned.team = rt->cfg->teams[t].name;
		m->u.reassigned.why = why;
		outbox_add(o, m);
	}
	return 0;
}

int
routestore_write(routestore_t *rt, PGconn *c, char **err)
{
	size_t n;
	const route_rot_t *rot = route_changed(rt->route, &n);
	sbuf_t a[4];
	PGresult *res = NULL;
	int rc = -1;

	for (size_t i = 0; i < ARRAY_LEN(a); i++)
		sbuf_init(&a[i]);
	if (n > 0) {
		const char **teams = xcalloc(n, sizeof(char *));
		const char **reps = xcalloc(n, sizeof(char *));
		const char *p[3];

		for (size_t i = 0; i < n; i++) {
			teams[i] = rot[i].team;
			reps[i] = rot[i].rep;
		}
		pgcopy_array(&a[0], teams, n);
		pgcopy_array(&a[1], reps, n);
		sbuf_addc(&a[2], '{');
		for (size_t i = 0; i < n; i++)
			sbuf_printf(&a[2], "%s%" PRId64, i ? "," : "",
			    rot[i].current);
		sbuf_addc(&a[2], '}');
		free(teams);
		free(reps);
		p[0] = a[0].s;
		p[1] = a[1].s;
		p[2] = a[2].s;
		res = query(c, "write rotation", "INSERT INTO routing_rotation "
		    "(team, rep, current_weight) SELECT * FROM unnest($1::text[], "
		    "$2::text[], $3::bigint[]) ON CONFLICT (team, rep) DO UPDATE "
		    "SET current_weight = EXCLUDED.current_weight", 3, p,
		    PGRES_COMMAND_OK, err);
		if (res == NULL)
			goto out;
		PQclear(res);
	}
	if (rt->ndel > 0) {
		const char *p[1];

		for (size_t i = 0; i < ARRAY_LEN(a); i++)
			sbuf_reset(&a[i]);
		sbuf_addc(&a[0], '{');
		for (size_t i = 0; i < rt->ndel; i++)
			sbuf_printf(&a[0], "%s%" PRId64, i ? "," : "",
			    rt->w_del[i]);
		sbuf_addc(&a[0], '}');
		p[0] = a[0].s;
		res = query(c, "delete waiting", "DELETE FROM routing_waiting "
		    "WHERE lead_id = ANY($1::bigint[])", 1, p, PGRES_COMMAND_OK,
		    err);
		if (res == NULL)
			goto out;
		PQclear(res);
	}
	if (rt->nadd > 0) {
		const char **teams = xcalloc(rt->nadd, sizeof(char *));
		const char **rules = xcalloc(rt->nadd, sizeof(char *));
		const char *p[4];

		for (size_t i = 0; i < ARRAY_LEN(a); i++)
			sbuf_reset(&a[i]);
		sbuf_addc(&a[0], '{');
		sbuf_addc(&a[3], '{');
		for (size_t i = 0; i < rt->nadd; i++) {
			char tb[TS_BUFLEN];

			teams[i] = rt->w_add[i].team;
			rules[i] = rt->w_add[i].rule;
			ts_format(rt->w_add[i].since, tb);
			sbuf_printf(&a[0], "%s%" PRId64, i ? "," : "",
			    rt->w_add[i].lead_id);
			sbuf_printf(&a[3], "%s\"%s\"", i ? "," : "", tb);
		}
		sbuf_addc(&a[0], '}');
		sbuf_addc(&a[3], '}');
		pgcopy_array(&a[1], teams, rt->nadd);
		pgcopy_array(&a[2], rules, rt->nadd);
		free(teams);
		free(rules);
		for (size_t i = 0; i < 4; i++)
			p[i] = a[i].s;
		res = query(c, "write waiting", "INSERT INTO routing_waiting "
		    "(lead_id, team, rule, since) SELECT * FROM unnest("
		    "$1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) "
		    "ON CONFLICT (lead_id) DO UPDATE SET team = EXCLUDED.team, "
		    "rule = EXCLUDED.rule", 4, p, PGRES_COMMAND_OK, err);
		if (res == NULL)
			goto out;
		PQclear(res);
	}
	rc = 0;
out:
	for (size_t i = 0; i < ARRAY_LEN(a); i++)
		sbuf_free(&a[i]);
	return rc;
}
