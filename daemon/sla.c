/*
 * The SLA core (see sla.h for the semantics): cycles of a clock folded from
 * a lead's sorted log, their due, warning and escalation instants in
 * business time, and which alerts are owed at a given time. Pure.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/sla.h"

const char *
sla_state_name(sla_state_t s)
{
	switch (s) {
	case CYC_RUNNING:
		return "running";
	case CYC_PAUSED:
		return "paused";
	case CYC_MET:
		return "met";
	case CYC_BREACHED:
	case CYC_RESOLVED:
		/* A resolved cycle stays counted as breached (SPEC §4). */
		return "breached";
	case CYC_CANCELLED:
		return "cancelled";
	}
	abort();
}

/* A stretch of running time; to == 0 while it runs on. */
typedef struct {
	ts_t from, to;
} seg_t;

typedef struct {
	seg_t *v;
	size_t n, cap;
} segs_t;

static void
seg_push(segs_t *s, ts_t from)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n].from = from;
	s->v[s->n].to = 0;
	s->n++;
}

/*
 * The instant at which running time reaches target, or 0 when the cycle
 * is paused before it.
 */
static ts_t
instant_at(const cal_t *cal, const segs_t *s, int64_t target)
{
	int64_t acc = 0;

	for (size_t i = 0; i < s->n; i++) {
		const seg_t *g = &s->v[i];
		int64_t avail;

		if (g->to == 0)
			return cal_add_business(cal, g->from, target - acc);
		avail = cal_business_us(cal, g->from, g->to);
		if (acc + avail >= target && !(avail == 0 && target > acc))
			return cal_add_business(cal, g->from, target - acc);
		acc += avail;
	}
	return 0;
}

static int64_t
elapsed_until(const cal_t *cal, const segs_t *s, ts_t t)
{
	int64_t acc = 0;

	for (size_t i = 0; i < s->n; i++) {
		ts_t to = s->v[i].to == 0 || s->v[i].to > t ? t : s->v[i].to;

		if (to > s->v[i].from)
			acc += cal_business_us(cal, s->v[i].from, to);
	}
	return acc;
}

static int64_t
goal_for(const cfg_clock_t *clock, const char *segment)
{
	if (segment != NULL)
		for (size_t i = 0; i < clock->nsegment_goals; i++)
			if (strcmp(clock->segment_goals[i].segment, segment) == 0)
				return clock->segment_goals[i].goal_s * TS_USEC;
	return clock->goal_s * TS_USEC;
}

/* Computes the instants and the state of a cycle from its segments. */
static void
finish(const cfg_clock_t *clock, cal_t *const *cals, sla_cycle_t *c,
    const segs_t *s, bool cancelled, ts_t now)
{
	const cal_t *cal = cals[c->calendar];
	segs_t run = *s;
	ts_t upto;

	/*
	 * Instants are where the clock would have reached them had it kept
	 * running: a stop ends the count, not the schedule (a stopped cycle
	 * still shows its due time, and prevented() drops the alerts after
	 * the stop). A cycle paused when it stopped keeps its unknown ones.
	 */
	if (c->stopped_at != 0 && s->n > 0 && s->v[s->n - 1].to == c->stopped_at) {
		run.v = xreallocarray(NULL, s->n, sizeof(*s->v));
		memcpy(run.v, s->v, s->n * sizeof(*s->v));
		run.v[s->n - 1].to = 0;
		s = &run;
	}
	c->due_at = instant_at(cal, s, c->goal_us);
	c->nwarn = 0;
	for (size_t i = 0; i < clock->nwarn_at && i < SLA_MAX_WARN; i++) {
		c->warn_frac[i] = clock->warn_at[i];
		/*
		 * Rounded, not truncated: 0.7 x 86400e6 is a hair under
		 * 60480e6 in floating point, and the warning must not fall
		 * due a microsecond before its fraction of the goal.
		 */
		c->warn_at[i] = instant_at(cal, s, llround((double)c->goal_us *
		    clock->warn_at[i]));
		c->nwarn++;
	}
	c->nesc = 0;
	for (size_t k = 0; k < clock->nescalate && k < SLA_MAX_ESC; k++) {
		c->esc_at[k] = instant_at(cal, s, c->goal_us +
		    clock->escalate[k].after_s * TS_USEC);
		c->nesc++;
	}
	upto = c->stopped_at != 0 && c->stopped_at < now ? c->stopped_at : now;
	c->elapsed_us = elapsed_until(cal, s, upto);
	if (c->stopped_at != 0) {
		bool late = c->due_at != 0 && c->stopped_at > c->due_at;

		if (cancelled)
			c->state = late ? CYC_RESOLVED : CYC_CANCELLED;
		else
			c->state = late ? CYC_RESOLVED : CYC_MET;
	} else if (c->due_at != 0 && now >= c->due_at) {
		c->state = CYC_BREACHED;
	} else {
		c->state = s->n > 0 && s->v[s->n - 1].to != 0 ? CYC_PAUSED :
		    CYC_RUNNING;
	}
	if (s == &run)
		free(run.v);
}

size_t
sla_fold(const cfg_t *cfg, const cfg_clock_t *clock, cal_t *const *cals,
    size_t team_cal, const char *segment, const recon_log_t *log, size_t nlog,
    const sla_stored_t *stored, size_t nstored, ts_t now, sla_cycle_t *out,
    size_t max)
{
	segs_t s = { 0 };
	sla_cycle_t *open = NULL;
	size_t n = 0;

	(void)cfg;
	for (size_t i = 0; i < nlog; i++) {
		uint32_t bit = EV_BIT(log[i].type);
		ts_t t = log[i].occurred_at;
		bool restart = log[i].made == RECON_MADE_REASSIGNED &&
		    log[i].outcome != NULL && log[i].reason != NULL &&
		    strcmp(log[i].outcome, "sla_escalation") == 0 &&
		    strcmp(log[i].reason, clock->name) == 0;

		/* Only a cycle still open restarts: one that a late stop
		 * closed before the escalation stays closed. */
		restart = restart && open != NULL;
		if (restart) {
			/*
			 * Reassigned by this clock's escalation: the breached
			 * cycle closes, stays counted as breached, and no
			 * sla.resolved follows for it (SPEC §4).
			 */
			if (s.v[s.n - 1].to == 0)
				s.v[s.n - 1].to = t;
			open->stopped_at = t;
			finish(clock, cals, open, &s, false, now);
			open->done |= SLA_BIT_RESOLVED;
			open = NULL;
		}
		if (open == NULL) {
			if ((!(clock->start & bit) && !restart) || n == max)
				continue;
			open = &out[n++];
			memset(open, 0, sizeof(*open));
			open->cycle = (int)n;
			open->started_at = t;
			open->goal_us = goal_for(clock, segment);
			open->calendar = clock->calendar_team ? team_cal :
			    clock->calendar;
			for (size_t k = 0; k < nstored; k++)
				if (stored[k].cycle == open->cycle) {
					open->goal_us = stored[k].goal_us;
					open->calendar = stored[k].calendar;
					open->done = stored[k].done;
				}
			s.n = 0;
			seg_push(&s, t);
			continue;
		}
		if (log[i].made != RECON_MADE_NONE)
			continue;
		if ((clock->stop & bit) || (clock->cancel & bit)) {
			if (s.v[s.n - 1].to == 0)
				s.v[s.n - 1].to = t;
			open->stopped_at = t;
			finish(clock, cals, open, &s, !(clock->stop & bit), now);
			open = NULL;
		} else if ((clock->pause & bit) && s.v[s.n - 1].to == 0) {
			s.v[s.n - 1].to = t;
		} else if ((clock->resume & bit) && s.v[s.n - 1].to != 0) {
			seg_push(&s, t);
		}
	}
	if (open != NULL)
		finish(clock, cals, open, &s, false, now);
	free(s.v);
	return n;
}

static void
add(sla_alert_t *out, size_t *n, size_t max, sla_alert_kind_t kind,
    int index, ts_t at, uint32_t bit)
{
	if (*n == max)
		return;
	out[*n].kind = kind;
	out[*n].index = index;
	out[*n].at = at;
	out[*n].bit = bit;
	(*n)++;
}

/* An alert at instant at is prevented by a stop at or before it. */
static bool
prevented(const sla_cycle_t *c, ts_t at)
{
	return at == 0 || (c->stopped_at != 0 && c->stopped_at <= at);
}

size_t
sla_due_alerts(const sla_cycle_t *c, ts_t now, int64_t lateness_us,
    sla_alert_t *out, size_t max)
{
	size_t n = 0;
	bool breach_now = false;

	if ((c->done & SLA_BIT_BREACH) && !(c->done & SLA_BIT_RETRACTED) &&
	    c->stopped_at != 0 && (c->due_at == 0 || c->stopped_at <= c->due_at))
		add(out, &n, max, SLA_ALERT_RETRACTED, 0, c->stopped_at,
		    SLA_BIT_RETRACTED);
	for (size_t i = 0; i < c->nwarn; i++)
		if (!(c->done & SLA_BIT_WARN(i)) && !prevented(c, c->warn_at[i]) &&
		    c->warn_at[i] + lateness_us <= now)
			add(out, &n, max, SLA_ALERT_WARNING, (int)i, c->warn_at[i],
			    SLA_BIT_WARN(i));
	if (!(c->done & SLA_BIT_BREACH) && !prevented(c, c->due_at) &&
	    c->due_at + lateness_us <= now) {
		add(out, &n, max, SLA_ALERT_BREACHED, 0, c->due_at,
		    SLA_BIT_BREACH);
		breach_now = true;
	}
	for (size_t k = 0; k < c->nesc; k++)
		if (!(c->done & SLA_BIT_ESC(k)) && !prevented(c, c->esc_at[k]) &&
		    c->esc_at[k] + lateness_us <= now)
			add(out, &n, max, SLA_ALERT_ESCALATED, (int)k, c->esc_at[k],
			    SLA_BIT_ESC(k));
	/* Resolved follows its breach, never precedes it. */
	if (!(c->done & SLA_BIT_RESOLVED) && c->state == CYC_RESOLVED &&
	    c->stopped_at + lateness_us <= now &&
	    ((c->done & SLA_BIT_BREACH) || breach_now))
		add(out, &n, max, SLA_ALERT_RESOLVED, 0, c->stopped_at,
		    SLA_BIT_RESOLVED);
	return n;
}

ts_t
sla_next_alert(const sla_cycle_t *c, int64_t lateness_us)
{
	ts_t next = 0;

#define CONSIDER(t) do {                                              \
		ts_t x_ = (t) + lateness_us;                          \
		if (next == 0 || x_ < next)                           \
			next = x_;                                    \
	} while (0)

	for (size_t i = 0; i < c->nwarn; i++)
		if (!(c->done & SLA_BIT_WARN(i)) && !prevented(c, c->warn_at[i]))
			CONSIDER(c->warn_at[i]);
	if (!(c->done & SLA_BIT_BREACH) && !prevented(c, c->due_at))
		CONSIDER(c->due_at);
	for (size_t k = 0; k < c->nesc; k++)
		if (!(c->done & SLA_BIT_ESC(k)) && !prevented(c, c->esc_at[k]))
			CONSIDER(c->esc_at[k]);
	if (!(c->done & SLA_BIT_RESOLVED) && c->state == CYC_RESOLVED)
		CONSIDER(c->stopped_at > c->due_at ? c->stopped_at : c->due_at);
#undef CONSIDER
	return next;
}
