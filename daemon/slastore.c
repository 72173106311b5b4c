/*
 * The database side of the SLA clocks: inside a batch's transaction it
 * refolds the cycles of the leads the batch touched (sla.c), publishes the
 * alerts that are owed, and writes the cycles back with their next alert
 * instant; and it finds the cycles whose next alert has come (an index
 * scan of the due ones, FOR UPDATE SKIP LOCKED so that several daemons
 * never publish one alert twice) and publishes theirs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/codec.h"
#include "handoff/jdoc.h"
#include "handoff/log.h"
#include "handoff/pgcopy.h"
#include "handoff/sla.h"
#include "handoff/slastore.h"

#define MAX_CYCLES 64      /* per lead and clock, per fold */
#define DUE_PER_TX 10000

struct slastore {
	const cfg_t *cfg;
	ts_t *target_done;  /* per target: the last period start evaluated */
	cal_t **cals;
	size_t ncals;
	ts_t next_due;     /* earliest next_alert_at, 0 when none */
	sbuf_t buf, a1;
	slastore_reassign_t *reassign; /* escalations to = "reassign" */
	size_t nreassign, reassigncap;
	sbuf_t key[3];     /* stored cycles' lead ids, clocks and numbers */
};

static void
cals_free(slastore_t *ss)
{
	for (size_t i = 0; i < ss->ncals; i++)
		cal_destroy(&ss->cals[i]);
	free(ss->cals);
	ss->cals = NULL;
	ss->ncals = 0;
}

int
slastore_set_config(slastore_t *ss, const cfg_t *cfg, char **err)
{
	cal_t **cals = xcalloc(cfg->ncalendars + 1, sizeof(cal_t *));

	for (size_t i = 0; i < cfg->ncalendars; i++) {
		cals[i] = cal_new(&cfg->calendars[i], err);
		if (cals[i] == NULL) {
			for (size_t k = 0; k < i; k++)
				cal_destroy(&cals[k]);
			free(cals);
			return -1;
		}
	}
	cals_free(ss);
	ss->cals = cals;
	ss->ncals = cfg->ncalendars;
	ss->cfg = cfg;
	free(ss->target_done);
	ss->target_done = xcalloc(cfg->ntargets + 1, sizeof(ts_t));
	return 0;
}

slastore_t *
slastore_new(const cfg_t *cfg, char **err)
{
	slastore_t *ss = xcalloc(1, sizeof(*ss));

	sbuf_init(&ss->buf);
	sbuf_init(&ss->a1);
	for (size_t k = 0; k < ARRAY_LEN(ss->key); k++)
		sbuf_init(&ss->key[k]);
	if (slastore_set_config(ss, cfg, err) == -1) {
		slastore_destroy(&ss);
		return NULL;
	}
	return ss;
}

void
slastore_destroy(slastore_t **p)
{
	slastore_t *ss;

	if (p == NULL || *p == NULL)
		return;
	ss = *p;
	cals_free(ss);
	free(ss->target_done);
	free(ss->reassign);
	sbuf_free(&ss->buf);
	sbuf_free(&ss->a1);
	for (size_t k = 0; k < ARRAY_LEN(ss->key); k++)
		sbuf_free(&ss->key[k]);
	free(ss);
	*p = NULL;
}

ts_t
slastore_next_due(const slastore_t *ss)
{
	return ss->next_due;
}

static const char *
pq_err(PGconn *c, PGresult *r)
{
	const char *m = r != NULL ? PQresultErrorMessage(r) : "";

	return m != NULL && *m != '\0' ? m : PQerrorMessage(c);
}

static int
clock_index(const cfg_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nclocks; i++)
		if (strcmp(cfg->clocks[i].name, name) == 0)
			return (int)i;
	return -1;
}

static size_t
team_calendar(const cfg_t *cfg, const char *team)
{
	int t = team != NULL ? cfg_team_index(cfg, team) : -1;

	return t >= 0 ? cfg->teams[t].calendar : 0;
}

static const char *
manager_of(const cfg_t *cfg, const char *team)
{
	int t = team != NULL ? cfg_team_index(cfg, team) : -1;

	return t >= 0 ? cfg->teams[t].manager : NULL;
}

/* Queues the messages of the owed alerts of c; returns the new done. */
static uint32_t
publish(slastore_t *ss, arena_t *a, const cfg_clock_t *clock,
    const sla_cycle_t *c, int64_t lead_id, const char *lead_key,
    const char *owner, const char *team, ts_t now, outbox_t *o)
{
	sla_alert_t al[SLA_MAX_WARN + SLA_MAX_ESC + 4];
	size_t n = sla_due_alerts(c, now, ss->cfg->lateness_s * TS_USEC, al,
	    ARRAY_LEN(al));
	uint32_t done = c->done;

	for (size_t i = 0; i < n; i++) {
		out_msg_t *m = arena_alloc(a, sizeof(*m));

		memset(m, 0, sizeof(*m));
		switch (al[i].kind) {
		case SLA_ALERT_WARNING:
		case SLA_ALERT_BREACHED:
			m->type = al[i].kind == SLA_ALERT_WARNING ?
			    OUT_SLA_WARNING : OUT_SLA_BREACHED;
			m->u.alert.lead_key = lead_key;
			m->u.alert.clock = clock->name;
			m->u.alert.cycle = c->cycle;
			m->u.alert.owner = owner;
			m->u.alert.team = team;
			m->u.alert.started_at = c->started_at;
			m->u.alert.due_at = c->due_at;
			m->u.alert.fraction = al[i].kind == SLA_ALERT_WARNING ?
			    c->warn_frac[al[i].index] : 0;
			m->u.alert.goal_s = c->goal_us / TS_USEC;
			break;
		case SLA_ALERT_ESCALATED: {
			const cfg_escalation_t *e = &clock->escalate[al[i].index];
			const char *to = e->to;

			if (e->kind == ESC_MANAGER) {
				to = manager_of(ss->cfg, team);
				if (to == NULL)
					to = "manager";
			}
			m->type = OUT_SLA_ESCALATED;
			m->u.escalated.lead_key = lead_key;
			m->u.escalated.clock = clock->name;
			m->u.escalated.cycle = c->cycle;
			m->u.escalated.level = al[i].index + 1;
			m->u.escalated.to = to;
			m->u.escalated.overdue_s = e->after_s;
			if (e->kind == ESC_REASSIGN) {
				slastore_reassign_t *q;

				if (ss->nreassign == ss->reassigncap) {
					ss->reassigncap = ss->reassigncap ?
					    ss->reassigncap * 2 : 16;
					ss->reassign = xreallocarray(ss->reassign,
					    ss->reassigncap, sizeof(*ss->reassign));
				}
				q = &ss->reassign[ss->nreassign++];
				q->lead_id = lead_id;
				q->clock = clock->name;
				q->cycle = c->cycle;
				q->at = al[i].at;
			}
			break;
		}
		case SLA_ALERT_RESOLVED:
		case SLA_ALERT_RETRACTED:
			m->type = al[i].kind == SLA_ALERT_RESOLVED ?
			    OUT_SLA_RESOLVED : OUT_SLA_RETRACTED;
			m->u.stop.lead_key = lead_key;
			m->u.stop.clock = clock->name;
			m->u.stop.cycle = c->cycle;
			m->u.stop.stopped_at = c->stopped_at;
			m->u.stop.overdue_s = al[i].kind == SLA_ALERT_RESOLVED &&
			    c->due_at != 0 ? cal_business_us(ss->cals[c->calendar <
			    ss->ncals ? c->calendar : 0], c->due_at,
			    c->stopped_at) / TS_USEC : 0;
			break;
		}
		outbox_add(o, m);
		done |= al[i].bit;
	}
	return done;
}

static void
copy_us_array(sbuf_t *b, const ts_t *v, size_t n)
{
	sbuf_addc(b, '{');
	for (size_t i = 0; i < n; i++)
		sbuf_printf(b, "%s%lld", i ? "," : "", (long long)v[i]);
	sbuf_addc(b, '}');
}

static void
copy_cycle(slastore_t *ss, sbuf_t *b, int64_t lead_id, const char *clock,
    const sla_cycle_t *c, ts_t next, ts_t now)
{
	const cfg_calendar_t *cal = &ss->cfg->calendars[c->calendar <
	    ss->cfg->ncalendars ? c->calendar : 0];

	pgcopy_int(b, lead_id);
	pgcopy_sep(b);
	pgcopy_str(b, clock);
	pgcopy_sep(b);
	pgcopy_int(b, c->cycle);
	pgcopy_sep(b);
	pgcopy_str(b, sla_state_name(c->state));
	pgcopy_sep(b);
	pgcopy_ts(b, c->started_at);
	pgcopy_sep(b);
	pgcopy_ts(b, c->stopped_at);
	pgcopy_sep(b);
	pgcopy_ts(b, c->due_at);
	pgcopy_sep(b);
	pgcopy_int(b, c->goal_us / TS_USEC);
	pgcopy_sep(b);
	pgcopy_str(b, cal->name);
	pgcopy_sep(b);
	pgcopy_int(b, c->elapsed_us / TS_USEC);
	pgcopy_sep(b);
	pgcopy_int(b, c->stopped_at != 0 && c->stopped_at < now ?
	    c->stopped_at : now);
	pgcopy_sep(b);
	pgcopy_int(b, c->due_at);
	pgcopy_sep(b);
	copy_us_array(b, c->warn_at, c->nwarn);
	pgcopy_sep(b);
	sbuf_addc(b, '{');
	for (size_t i = 0; i < c->nwarn; i++)
		sbuf_printf(b, "%s%.17g", i ? "," : "", c->warn_frac[i]);
	sbuf_addc(b, '}');
	pgcopy_sep(b);
	copy_us_array(b, c->esc_at, c->nesc);
	pgcopy_sep(b);
	pgcopy_int(b, (long long)c->done);
	pgcopy_sep(b);
	pgcopy_ts(b, next);
	pgcopy_end(b);
}

/* A column's text in the arena, or NULL. */
static const char *
col(arena_t *a, const PGresult *r, int row, int c)
{
	if (PQgetisnull(r, row, c))
		return NULL;
	return arena_strndup(a, PQgetvalue(r, row, c),
	    (size_t)PQgetlength(r, row, c));
}

/* Notes a running cycle's due time on its lead, for handoff.assigned. */
static void
due_add(arena_t *a, recon_lead_t *l, const char *clock, ts_t due)
{
	out_due_t *d = arena_alloc(a, (l->ndue + 1) * sizeof(*d));

	if (l->ndue > 0)
		memcpy(d, l->due, l->ndue * sizeof(*d));
	d[l->ndue].clock = clock;
	d[l->ndue].due = due;
	l->due = d;
	l->ndue++;
}

const slastore_reassign_t *
slastore_reassigns(slastore_t *ss, size_t *n)
{
	*n = ss->nreassign;
	ss->nreassign = 0;
	return ss->reassign;
}

int
slastore_apply(slastore_t *ss, PGconn *c, arena_t *a,
    recon_lead_t *const *leads, size_t n, ts_t now, outbox_t *o, char **err)
{
	const cfg_t *cfg = ss->cfg;
	sla_stored_t *stored = NULL;
	int64_t *st_lead = NULL;
	int *st_clock = NULL;
	const char **names;
	size_t nst = 0, nd = 0;
	sla_cycle_t *cyc = xcalloc(MAX_CYCLES, sizeof(*cyc));
	PGresult *r;
	const char *p[1];
	int rc = -1;

	if (cfg->nclocks == 0 || n == 0) {
		free(cyc);
		return 0;
	}
	sbuf_reset(&ss->a1);
	sbuf_addc(&ss->a1, '{');
	/* Cycles change only with the lead's log: skip profile-only leads. */
	for (size_t i = 0; i < n; i++)
		if (leads[i]->dirty && leads[i]->refold) {
			sbuf_printf(&ss->a1, "%s%lld", nd ? "," : "",
			    (long long)leads[i]->id);
			nd++;
		}
	sbuf_addc(&ss->a1, '}');
	if (nd == 0) {
		free(cyc);
		return 0;
	}
	p[0] = ss->a1.s;
	/*
	 * One index probe per lead: with "lead_id = ANY" the planner reads
	 * the whole table while it is small enough for its cost model, and
	 * each batch then costs in proportion to all cycles stored.
	 */
	r = PQexecParams(c, "SELECT k.id, s.clock, s.cycle, s.goal_s, "
	    "s.calendar, s.done FROM unnest($1::bigint[]) k(id) CROSS JOIN "
	    "LATERAL (SELECT * FROM sla_cycles WHERE lead_id = k.id OFFSET 0) "
	    "s", 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = xasprintf("load cycles: %s", pq_err(c, r));
		PQclear(r);
		goto out;
	}
	nst = (size_t)PQntuples(r);
	stored = xcalloc(nst + 1, sizeof(*stored));
	st_lead = xcalloc(nst + 1, sizeof(*st_lead));
	st_clock = xcalloc(nst + 1, sizeof(*st_clock));
	names = xcalloc(nst + 1, sizeof(*names));
	/* The stored cycles' keys, to delete exactly those rows below. */
	for (size_t k = 0; k < ARRAY_LEN(ss->key); k++) {
		sbuf_reset(&ss->key[k]);
		if (k != 1)
			sbuf_addc(&ss->key[k], '{');
	}
	for (size_t i = 0; i < nst; i++) {
		const char *sep = i ? "," : "";

		sbuf_printf(&ss->key[0], "%s%s", sep, PQgetvalue(r, (int)i, 0));
		names[i] = PQgetvalue(r, (int)i, 1);
		sbuf_printf(&ss->key[2], "%s%s", sep, PQgetvalue(r, (int)i, 2));
	}
	pgcopy_array(&ss->key[1], names, nst);
	free(names);
	sbuf_addc(&ss->key[0], '}');
	sbuf_addc(&ss->key[2], '}');
	for (size_t i = 0; i < nst; i++) {
		int ci = cfg_calendar_index(cfg, PQgetvalue(r, (int)i, 4));

		st_lead[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
		st_clock[i] = clock_index(cfg, PQgetvalue(r, (int)i, 1));
		stored[i].cycle = atoi(PQgetvalue(r, (int)i, 2));
		stored[i].goal_us = strtoll(PQgetvalue(r, (int)i, 3), NULL, 10) *
		    TS_USEC;
		stored[i].calendar = ci >= 0 ? (size_t)ci : 0;
		stored[i].done = (uint32_t)strtoul(PQgetvalue(r, (int)i, 5),
		    NULL, 10);
	}
	PQclear(r);

	sbuf_reset(&ss->buf);
	for (size_t i = 0; i < n; i++) {
		recon_lead_t *l = leads[i];
		const char *segment;
		size_t tc;

		if (!l->dirty || !l->refold)
			continue;
		l->ndue = 0;
		segment = recon_field_plain(a, l, "segment");
		tc = team_calendar(cfg, l->team);
		for (size_t k = 0; k < cfg->nclocks; k++) {
			const cfg_clock_t *clk = &cfg->clocks[k];
			sla_stored_t mine[MAX_CYCLES];
			size_t nmine = 0, nc;

			for (size_t s = 0; s < nst && nmine < MAX_CYCLES; s++)
				if (st_lead[s] == l->id && st_clock[s] == (int)k)
					mine[nmine++] = stored[s];
			nc = sla_fold(cfg, clk, ss->cals, tc, segment, l->log,
			    l->nlog, mine, nmine, now, cyc, MAX_CYCLES);
			for (size_t y = 0; y < nc; y++) {
				if (cyc[y].stopped_at == 0 && cyc[y].due_at != 0)
					due_add(a, l, clk->name,
					    cyc[y].due_at);
				cyc[y].done = publish(ss, a, clk, &cyc[y], l->id,
				    l->lead_key, l->owner, l->team, now, o);
				copy_cycle(ss, &ss->buf, l->id, clk->name, &cyc[y],
				    sla_next_alert(&cyc[y],
				    cfg->lateness_s * TS_USEC), now);
			}
		}
	}
	/*
	 * The stored cycles of these leads go, to be written again below;
	 * by their keys, each of which matches one row at most, so that the
	 * planner probes the primary key for each.
	 */
	if (nst > 0) {
		const char *q[3] = { ss->key[0].s, ss->key[1].s,
			ss->key[2].s };

		r = PQexecParams(c, "DELETE FROM sla_cycles s USING "
		    "unnest($1::bigint[], $2::text[], $3::integer[]) "
		    "AS k(lead_id, clock, cycle) WHERE s.lead_id = k.lead_id "
		    "AND s.clock = k.clock AND s.cycle = k.cycle", 3, NULL, q,
		    NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			*err = xasprintf("delete cycles: %s", pq_err(c, r));
			PQclear(r);
			goto out;
		}
		PQclear(r);
	}
	if (ss->buf.len > 0 && pgcopy_run(c, "COPY sla_cycles (lead_id, clock, "
	    "cycle, state, started_at, stopped_at, due_at, goal_s, calendar, "
	    "elapsed_s, elapsed_at_us, due_us, warn_us, warn_frac, esc_us, done, "
	    "next_alert_at) FROM STDIN", &ss->buf, err) == -1)
		goto out;
	rc = 0;
out:
	free(stored);
	free(st_lead);
	free(st_clock);
	free(cyc);
	return rc;
}

/* Parses "{1,2,3}" into at most max values. */
static size_t
parse_array(const char *s, ts_t *v, double *d, size_t max)
{
	size_t n = 0;

	if (*s == '{')
		s++;
	while (*s != '\0' && *s != '}' && n < max) {
		char *end;

		if (d != NULL)
			d[n] = strtod(s, &end);
		else
			v[n] = strtoll(s, &end, 10);
		n++;
		s = end;
		if (*s == ',')
			s++;
		else
			break;
	}
	return n;
}

/* The earliest next_alert_at of all cycles (0: none), from its index. */
static int
load_next_due(slastore_t *ss, PGconn *c, char **err)
{
	PGresult *r = PQexec(c, "SELECT (extract(epoch FROM "
	    "min(next_alert_at)) * 1000000)::bigint FROM sla_cycles "
	    "WHERE next_alert_at IS NOT NULL");

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = xasprintf("next alert: %s", pq_err(c, r));
		PQclear(r);
		return -1;
	}
	ss->next_due = PQgetisnull(r, 0, 0) ? 0 :
	    strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int
slastore_due(slastore_t *ss, PGconn *c, arena_t *a, ts_t now, outbox_t *o,
    char **err)
{
	const cfg_t *cfg = ss->cfg;
	char tb[TS_BUFLEN], lim[16];
	const char *p[2] = { tb, lim };
	PGresult *r;
	int nrows;
	sbuf_t ids, clocks, cycles, dones, nexts, states;

	if (cfg->nclocks == 0)
		return 0;
	/*
	 * Most batches find nothing due: the earliest next alert, one step
	 * into its index, says so. The look-up of the due cycles is left to
	 * when some are, because its plan may read the whole table when the
	 * statistics are stale (and it costs a round trip). The minimum
	 * covers the cycles that other daemons sharing the database wrote.
	 */
	if (load_next_due(ss, c, err) == -1)
		return -1;
	if (ss->next_due == 0 || ss->next_due > now)
		return 0;
	ts_format(now, tb);
	snprintf(lim, sizeof(lim), "%d", DUE_PER_TX);
	/*
	 * The due cycles from the partial index on next_alert_at (the
	 * session allows no sequential scan, see store.c), then each one's
	 * lead by its primary key: a plain join let the planner hash all of
	 * leads whenever it expected many due cycles.
	 */
	r = PQexecParams(c,
	    "SELECT s.lead_id, s.clock, s.cycle, s.state, "
	    "(extract(epoch FROM s.started_at) * 1000000)::bigint, "
	    "coalesce((extract(epoch FROM s.stopped_at) * 1000000)::bigint, 0), "
	    "s.goal_s, s.calendar, s.due_us, s.warn_us, s.warn_frac, s.esc_us, "
	    "s.done, l.lead_key, l.owner, l.team FROM (SELECT * FROM "
	    "sla_cycles WHERE next_alert_at <= $1::timestamptz "
	    "ORDER BY next_alert_at, lead_id, clock, cycle "
	    "LIMIT $2::integer FOR UPDATE SKIP LOCKED) s CROSS JOIN LATERAL "
	    "(SELECT lead_key, owner, team FROM leads WHERE id = s.lead_id "
	    "OFFSET 0) l ORDER BY s.next_alert_at, s.lead_id, s.clock, s.cycle",
	    2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = xasprintf("due cycles: %s", pq_err(c, r));
		PQclear(r);
		return -1;
	}
	nrows = PQntuples(r);
	if (nrows == 0) {
		PQclear(r);
		goto next;
	}
	sbuf_init(&ids);
	sbuf_init(&clocks);
	sbuf_init(&cycles);
	sbuf_init(&dones);
	sbuf_init(&nexts);
	sbuf_init(&states);
	for (int i = 0; i < nrows; i++) {
		sla_cycle_t cy;
		const char *cname = PQgetvalue(r, i, 1);
		int k = clock_index(cfg, cname), ci;
		const char *st = PQgetvalue(r, i, 3);
		ts_t next;
		char nb[TS_BUFLEN];

		memset(&cy, 0, sizeof(cy));
		cy.cycle = atoi(PQgetvalue(r, i, 2));
		cy.started_at = strtoll(PQgetvalue(r, i, 4), NULL, 10);
		cy.stopped_at = strtoll(PQgetvalue(r, i, 5), NULL, 10);
		cy.goal_us = strtoll(PQgetvalue(r, i, 6), NULL, 10) * TS_USEC;
		ci = cfg_calendar_index(cfg, PQgetvalue(r, i, 7));
		cy.calendar = ci >= 0 ? (size_t)ci : 0;
		cy.due_at = strtoll(PQgetvalue(r, i, 8), NULL, 10);
		cy.nwarn = parse_array(PQgetvalue(r, i, 9), cy.warn_at, NULL,
		    SLA_MAX_WARN);
		parse_array(PQgetvalue(r, i, 10), NULL, cy.warn_frac,
		    SLA_MAX_WARN);
		cy.nesc = parse_array(PQgetvalue(r, i, 11), cy.esc_at, NULL,
		    SLA_MAX_ESC);
		cy.done = (uint32_t)strtoul(PQgetvalue(r, i, 12), NULL, 10);
		if (strcmp(st, "met") == 0)
			cy.state = CYC_MET;
		else if (strcmp(st, "cancelled") == 0)
			cy.state = CYC_CANCELLED;
		else if (strcmp(st, "breached") == 0 && cy.stopped_at != 0)
			cy.state = CYC_RESOLVED;
		else if (strcmp(st, "paused") == 0)
			cy.state = CYC_PAUSED;
		else
			cy.state = cy.due_at != 0 && now >= cy.due_at ?
			    CYC_BREACHED : CYC_RUNNING;
		if (k >= 0) {
			cy.done = publish(ss, a, &cfg->clocks[k], &cy,
			    strtoll(PQgetvalue(r, i, 0), NULL, 10),
			    col(a, r, i, 13), col(a, r, i, 14),
			    col(a, r, i, 15), now, o);
			next = sla_next_alert(&cy, cfg->lateness_s * TS_USEC);
		} else {
			/* The clock left the configuration: nothing more. */
			next = 0;
		}
		sbuf_printf(&ids, "%s%s", i ? "," : "{", PQgetvalue(r, i, 0));
		sbuf_printf(&clocks, "%s", i ? "," : "{");
		{
			const char *one[1] = { cname };
			sbuf_t t;

			sbuf_init(&t);
			pgcopy_array(&t, one, 1);
			/* strip the braces of the one-element literal */
			sbuf_add(&clocks, t.s + 1, t.len - 2);
			sbuf_free(&t);
		}
		sbuf_printf(&cycles, "%s%d", i ? "," : "{", cy.cycle);
		sbuf_printf(&dones, "%s%u", i ? "," : "{", cy.done);
		if (next != 0) {
			ts_format(next, nb);
			sbuf_printf(&nexts, "%s\"%s\"", i ? "," : "{", nb);
		} else {
			sbuf_printf(&nexts, "%sNULL", i ? "," : "{");
		}
		sbuf_printf(&states, "%s%s", i ? "," : "{",
		    sla_state_name(cy.state));
	}
	PQclear(r);
	sbuf_addc(&ids, '}');
	sbuf_addc(&clocks, '}');
	sbuf_addc(&cycles, '}');
	sbuf_addc(&dones, '}');
	sbuf_addc(&nexts, '}');
	sbuf_addc(&states, '}');
	{
		const char *q[6] = { ids.s, clocks.s, cycles.s, dones.s,
			nexts.s, states.s };

		r = PQexecParams(c, "UPDATE sla_cycles s SET done = u.done, "
		    "next_alert_at = u.next, state = u.state, updated_at = now() "
		    "FROM unnest($1::bigint[], $2::text[], $3::integer[], "
		    "$4::integer[], $5::timestamptz[], $6::text[]) "
		    "AS u(lead_id, clock, cycle, done, next, state) "
		    "WHERE s.lead_id = u.lead_id AND s.clock = u.clock "
		    "AND s.cycle = u.cycle", 6, NULL, q, NULL, NULL, 0);
	}
	sbuf_free(&ids);
	sbuf_free(&clocks);
	sbuf_free(&cycles);
	sbuf_free(&dones);
	sbuf_free(&nexts);
	sbuf_free(&states);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = xasprintf("update cycles: %s", pq_err(c, r));
		PQclear(r);
		return -1;
	}
	PQclear(r);
next:
	return load_next_due(ss, c, err);
}

/* RFC 3339 text of t, or JSON null. */
static void
json_ts(sbuf_t *b, ts_t t)
{
	char tb[TS_BUFLEN];

	if (t == 0) {
		sbuf_adds(b, "null");
		return;
	}
	ts_format(t, tb);
	sbuf_printf(b, "\"%s\"", tb);
}

int
slastore_cycles_json(slastore_t *ss, PGconn *c, const char *lead_key,
    ts_t now, sbuf_t *out, char **err)
{
	const char *p[1] = { lead_key };
	PGresult *r = PQexecParams(c,
	    "SELECT s.clock, s.cycle, s.state, "
	    "(extract(epoch FROM s.started_at) * 1000000)::bigint, "
	    "coalesce((extract(epoch FROM s.stopped_at) * 1000000)::bigint, 0), "
	    "s.due_us, s.goal_s, s.calendar, s.elapsed_s, s.elapsed_at_us "
	    "FROM sla_cycles s JOIN leads l ON l.id = s.lead_id "
	    "WHERE l.lead_key = $1 ORDER BY s.clock, s.cycle", 1, NULL, p,
	    NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = xasprintf("cycles: %s", pq_err(c, r));
		PQclear(r);
		return -1;
	}
	sbuf_addc(out, '[');
	for (int i = 0; i < PQntuples(r); i++) {
		const char *state = PQgetvalue(r, i, 2);
		ts_t stopped = strtoll(PQgetvalue(r, i, 4), NULL, 10);
		int64_t goal = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		int ci = cfg_calendar_index(ss->cfg, PQgetvalue(r, i, 7));
		int64_t el = strtoll(PQgetvalue(r, i, 8), NULL, 10) * TS_USEC;
		ts_t at = strtoll(PQgetvalue(r, i, 9), NULL, 10);
		bool counting = stopped == 0 && strcmp(state, "paused") != 0;

		/* Open and counting: add the open time since it was measured. */
		if (counting && now > at && ss->ncals > 0)
			el += cal_business_us(ss->cals[ci >= 0 ? ci : 0], at, now);
		sbuf_printf(out, "%s{\"clock\":", i ? "," : "");
		jquote_once(out, PQgetvalue(r, i, 0));
		sbuf_printf(out, ",\"cycle\":%s,\"state\":\"%s\",\"paused\":%s,"
		    "\"started_at\":", PQgetvalue(r, i, 1), state,
		    strcmp(state, "paused") == 0 ? "true" : "false");
		json_ts(out, strtoll(PQgetvalue(r, i, 3), NULL, 10));
		sbuf_adds(out, ",\"due_at\":");
		json_ts(out, strtoll(PQgetvalue(r, i, 5), NULL, 10));
		sbuf_adds(out, ",\"stopped_at\":");
		json_ts(out, stopped);
		sbuf_printf(out, ",\"elapsed_s\":%lld,\"remaining_s\":%lld,"
		    "\"goal_s\":%lld}", (long long)(el / TS_USEC),
		    (long long)(goal - el / TS_USEC), (long long)goal);
	}
	sbuf_addc(out, ']');
	PQclear(r);
	return 0;
}

static const char *const metric_names[] = { "mql_count", "acceptance_rate",
	"first_touch_met_rate" };

/*
 * The metric over [from, to): MQLs entered (per pass), the share of the
 * period's MQLs that sales answered (accepted or rejected, in the same
 * pass) that it accepted, and the share of first_touch cycles started in
 * the period and settled that were met. NULL (has = false) when a rate has
 * no denominator.
 */
static int
measure(PGconn *c, const cfg_target_t *t, const char *team, const char *from,
    const char *to, double *v, bool *has, char **err)
{
	static const char *const sql[] = {
		"SELECT count(*)::float8 FROM stage_history h JOIN leads l "
		"ON l.id = h.lead_id WHERE h.stage = 'mql' AND h.entered_at >= $1 "
		"AND h.entered_at < $2 AND ($3::text IS NULL OR l.team = $3)",
		"SELECT CASE WHEN count(*) FILTER (WHERE a.answered) = 0 THEN NULL "
		"ELSE (count(*) FILTER (WHERE a.accepted))::float8 / "
		"count(*) FILTER (WHERE a.answered) END FROM (SELECT "
		"EXISTS (SELECT 1 FROM stage_history x WHERE x.lead_id = h.lead_id "
		"AND x.pass = h.pass AND x.stage = 'sal') AS accepted, "
		"EXISTS (SELECT 1 FROM stage_history x WHERE x.lead_id = h.lead_id "
		"AND x.pass = h.pass AND x.stage IN ('sal', 'recycled')) AS answered "
		"FROM stage_history h JOIN leads l ON l.id = h.lead_id "
		"WHERE h.stage = 'mql' AND h.entered_at >= $1 AND h.entered_at < $2 "
		"AND ($3::text IS NULL OR l.team = $3)) a",
		"SELECT CASE WHEN count(*) = 0 THEN NULL ELSE (count(*) FILTER "
		"(WHERE s.state = 'met'))::float8 / count(*) END FROM sla_cycles s "
		"JOIN leads l ON l.id = s.lead_id WHERE s.clock = 'first_touch' "
		"AND s.state IN ('met', 'breached') AND s.started_at >= $1 "
		"AND s.started_at < $2 AND ($3::text IS NULL OR l.team = $3)",
	};
	const char *p[3] = { from, to, team };
	PGresult *r = PQexecParams(c, sql[t->metric], 3, NULL, p, NULL, NULL,
	    0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = xasprintf("target %s: %s", t->name, pq_err(c, r));
		PQclear(r);
		return -1;
	}
	*has = !PQgetisnull(r, 0, 0);
	*v = *has ? strtod(PQgetvalue(r, 0, 0), NULL) : 0;
	PQclear(r);
	return 0;
}

/*
 * Evaluates one closed period [start, end) of target t, once: the row in
 * sla_target_periods decides (another daemon, or this one before a
 * restart, may have evaluated it first: then it has published).
 */
static int
evaluate_period(PGconn *c, arena_t *a, const cfg_t *cfg,
    const cfg_target_t *t, ts_t start, ts_t end, outbox_t *o, char **err)
{
	char sb[TS_BUFLEN], eb[TS_BUFLEN], vb[40];
	const char *team = t->has_team ? cfg->teams[t->team].name : NULL;
	const char *q[5];
	PGresult *r;
	double v;
	bool has, missed;

	ts_format(start, sb);
	ts_format(end, eb);
	if (measure(c, t, team, sb, eb, &v, &has, err) == -1)
		return -1;
	missed = has && v < t->min;
	snprintf(vb, sizeof(vb), "%.17g", v);
	q[0] = t->name;
	q[1] = sb;
	q[2] = eb;
	q[3] = has ? vb : NULL;
	q[4] = missed ? "true" : "false";
	r = PQexecParams(c, "INSERT INTO sla_target_periods (target, "
	    "period_start, period_end, actual, missed) VALUES ($1, "
	    "$2::timestamptz, $3::timestamptz, $4::float8, $5::boolean) "
	    "ON CONFLICT DO NOTHING RETURNING 1", 5, NULL, q, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = xasprintf("target %s: %s", t->name, pq_err(c, r));
		PQclear(r);
		return -1;
	}
	if (PQntuples(r) == 1 && missed) {
		out_msg_t *m = arena_alloc(a, sizeof(*m));

		memset(m, 0, sizeof(*m));
		m->type = OUT_SLA_TARGET_MISSED;
		m->u.target_missed.target = t->name;
		m->u.target_missed.metric = metric_names[t->metric];
		m->u.target_missed.period_start = start;
		m->u.target_missed.period_end = end;
		m->u.target_missed.goal = t->min;
		m->u.target_missed.actual = v;
		m->u.target_missed.team = team;
		outbox_add(o, m);
	}
	PQclear(r);
	return 0;
}

int
slastore_targets(slastore_t *ss, PGconn *c, arena_t *a, ts_t now,
    outbox_t *o, char **err)
{
	const cfg_t *cfg = ss->cfg;

	for (size_t i = 0; i < cfg->ntargets; i++) {
		const cfg_target_t *t = &cfg->targets[i];
		const cal_t *cal = ss->cals[t->calendar];
		ts_t cur = cal_period_start(cal, now, t->period), start, first,
		    from;
		char fb[TS_BUFLEN];
		const char *p[2];
		PGresult *r;

		/* The period before the current one is the last closed. */
		start = cal_period_start(cal, cur - 1, t->period);
		if (ss->target_done[i] == start)
			continue;
		ts_format(now, fb);
		p[0] = t->name;
		p[1] = fb;
		/*
		 * When the daemon's clock first saw this target, and the end
		 * of the last period evaluated (null when none was).
		 */
		r = PQexecParams(c, "WITH ins AS (INSERT INTO sla_target_state "
		    "(target, first_clock) VALUES ($1, $2::timestamptz) ON CONFLICT "
		    "(target) DO NOTHING RETURNING first_clock), f AS (SELECT "
		    "first_clock FROM ins UNION ALL SELECT first_clock FROM "
		    "sla_target_state WHERE target = $1) SELECT (extract(epoch "
		    "FROM (SELECT first_clock FROM f LIMIT 1)) * 1000000)::bigint, "
		    "(extract(epoch FROM (SELECT max(period_end) FROM "
		    "sla_target_periods WHERE target = $1)) * 1000000)::bigint", 2,
		    NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1 ||
		    PQgetisnull(r, 0, 0)) {
			*err = xasprintf("target %s: %s", t->name, pq_err(c, r));
			PQclear(r);
			return -1;
		}
		first = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		/*
		 * Every period that closed since the last one evaluated, each
		 * once (the clock may have jumped over several); none that had
		 * closed before the database saw its first event: the first
		 * is the one that contains the first clock reading.
		 */
		from = cal_period_start(cal, first, t->period);
		if (!PQgetisnull(r, 0, 1)) {
			ts_t last_end = strtoll(PQgetvalue(r, 0, 1), NULL, 10);

			if (last_end > from)
				from = last_end;
		}
		PQclear(r);
		while (from < cur) {
			ts_t end = cal_period_end(cal, from, t->period);

			if (evaluate_period(c, a, cfg, t, from, end, o, err) == -1)
				return -1;
			from = end;
		}
		ss->target_done[i] = start;
	}
	return 0;
}
