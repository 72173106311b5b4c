/*
 * Routing core (see route.h for the rules): rule matching, sticky domains
 * and smooth weighted round-robin over the available reps. Pure: the
 * state comes in through the setters and the changed rotation rows go out
 * through route_changed.
 *
 * Teams and reps are few (tens, at most hundreds), so the state is kept in
 * arrays parallel to the configuration's and searched linearly.
 */
#include <stdlib.h>
#include <string.h>

#include "handoff/route.h"
#include "handoff/util.h"

typedef struct {
	const char *domain;
	const char *owner;
} domain_t;

struct route {
	const cfg_t *cfg;
	int64_t **current;   /* [team][rep]: current weight */
	bool **changed;      /* [team][rep]: written back */
	const char **rep_ids; /* distinct rep ids over all teams */
	int64_t *load;       /* parallel to rep_ids */
	size_t nreps;
	domain_t *domains;
	size_t ndomains, domcap;
	route_rot_t *out;
	size_t nout;
};

static size_t
rep_slot(const route_t *r, const char *id)
{
	for (size_t i = 0; i < r->nreps; i++)
		if (strcmp(r->rep_ids[i], id) == 0)
			return i;
	return SIZE_MAX;
}

route_t *
route_new(const cfg_t *cfg)
{
	route_t *r = xcalloc(1, sizeof(*r));
	size_t total = 0;

	r->cfg = cfg;
	r->current = xcalloc(cfg->nteams + 1, sizeof(*r->current));
	r->changed = xcalloc(cfg->nteams + 1, sizeof(*r->changed));
	for (size_t t = 0; t < cfg->nteams; t++) {
		r->current[t] = xcalloc(cfg->teams[t].nreps + 1, sizeof(int64_t));
		r->changed[t] = xcalloc(cfg->teams[t].nreps + 1, sizeof(bool));
		total += cfg->teams[t].nreps;
	}
	r->rep_ids = xcalloc(total + 1, sizeof(*r->rep_ids));
	r->load = xcalloc(total + 1, sizeof(*r->load));
	for (size_t t = 0; t < cfg->nteams; t++)
		for (size_t k = 0; k < cfg->teams[t].nreps; k++)
			if (rep_slot(r, cfg->teams[t].reps[k].id) == SIZE_MAX)
				r->rep_ids[r->nreps++] = cfg->teams[t].reps[k].id;
	r->out = xcalloc(total + 1, sizeof(*r->out));
	return r;
}

void
route_destroy(route_t **rp)
{
	route_t *r = *rp;

	if (r == NULL)
		return;
	for (size_t t = 0; t < r->cfg->nteams; t++) {
		free(r->current[t]);
		free(r->changed[t]);
	}
	free(r->current);
	free(r->changed);
	free(r->rep_ids);
	free(r->load);
	free(r->domains);
	free(r->out);
	free(r);
	*rp = NULL;
}

void
route_set_rotation(route_t *r, const char *team, const char *rep,
    int64_t current)
{
	int t = cfg_team_index(r->cfg, team);

	if (t < 0)
		return; /* a team that left the configuration */
	for (size_t k = 0; k < r->cfg->teams[t].nreps; k++)
		if (strcmp(r->cfg->teams[t].reps[k].id, rep) == 0)
			r->current[t][k] = current;
}

void
route_add_load(route_t *r, const char *rep, int64_t n)
{
	size_t i = rep_slot(r, rep);

	if (i != SIZE_MAX)
		r->load[i] += n;
}

static domain_t *
domain_find(const route_t *r, const char *domain)
{
	for (size_t i = 0; i < r->ndomains; i++)
		if (strcmp(r->domains[i].domain, domain) == 0)
			return &r->domains[i];
	return NULL;
}

void
route_set_domain_owner(route_t *r, const char *domain, const char *owner)
{
	domain_t *d = domain_find(r, domain);

	if (d != NULL) {
		d->owner = owner;
		return;
	}
	if (r->ndomains == r->domcap) {
		r->domcap = r->domcap ? r->domcap * 2 : 16;
		r->domains = xreallocarray(r->domains, r->domcap,
		    sizeof(*r->domains));
	}
	r->domains[r->ndomains].domain = domain;
	r->domains[r->ndomains].owner = owner;
	r->ndomains++;
}

static bool
in_list(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

const char *
route_domain(const route_t *r, const char *email_norm)
{
	const char *at;

	if (email_norm == NULL || (at = strrchr(email_norm, '@')) == NULL ||
	    at[1] == '\0')
		return NULL;
	if (in_list(r->cfg->free_mail_domains, r->cfg->nfree_mail_domains,
	    at + 1))
		return NULL;
	return at + 1;
}

int
route_rule(const route_t *r, const route_lead_t *l)
{
	for (size_t i = 0; i < r->cfg->nrules; i++) {
		const cfg_rule_t *u = &r->cfg->rules[i];
		const char *at;

		if (u->nsegment > 0 && (l->segment == NULL ||
		    !in_list(u->segment, u->nsegment, l->segment)))
			continue;
		if (u->ncountry > 0 && (l->country == NULL ||
		    !in_list(u->country, u->ncountry, l->country)))
			continue;
		if (u->has_min_score && (!l->has_score ||
		    l->score < u->min_score))
			continue;
		if (u->nemail_domain > 0) {
			/* Rule domains are matched whatever free-mail says. */
			if (l->email_norm == NULL ||
			    (at = strrchr(l->email_norm, '@')) == NULL ||
			    !in_list(u->email_domain, u->nemail_domain, at + 1))
				continue;
		}
		return (int)i;
	}
	return -1;
}

static bool
rep_available(const route_t *r, const cfg_rep_t *rep, const char *exclude)
{
	size_t i;

	if (rep->away || (exclude != NULL && strcmp(rep->id, exclude) == 0))
		return false;
	if (rep->capacity == 0)
		return true;
	i = rep_slot(r, rep->id);
	return i == SIZE_MAX || r->load[i] < rep->capacity;
}

bool
route_available(const route_t *r, size_t team, const char *exclude)
{
	const cfg_team_t *t = &r->cfg->teams[team];

	for (size_t k = 0; k < t->nreps; k++)
		if (rep_available(r, &t->reps[k], exclude))
			return true;
	return false;
}

const char *
route_pick(route_t *r, size_t team, const char *domain, const char *exclude,
    bool *sticky)
{
	const cfg_team_t *t = &r->cfg->teams[team];
	int64_t total = 0;
	size_t best = SIZE_MAX;
	const char *id;

	*sticky = false;
	if (r->cfg->sticky_domain && domain != NULL) {
		domain_t *d = domain_find(r, domain);

		if (d != NULL && d->owner != NULL)
			for (size_t k = 0; k < t->nreps; k++)
				if (strcmp(t->reps[k].id, d->owner) == 0 &&
				    rep_available(r, &t->reps[k], exclude)) {
					*sticky = true;
					route_add_load(r, t->reps[k].id, 1);
					return t->reps[k].id;
				}
	}
	for (size_t k = 0; k < t->nreps; k++) {
		if (!rep_available(r, &t->reps[k], exclude))
			continue;
		r->current[team][k] += t->reps[k].weight;
		r->changed[team][k] = true;
		total += t->reps[k].weight;
		if (best == SIZE_MAX ||
		    r->current[team][k] > r->current[team][best])
			best = k;
	}
	if (best == SIZE_MAX)
		return NULL;
	r->current[team][best] -= total;
	id = t->reps[best].id;
	route_add_load(r, id, 1);
	if (domain != NULL && domain_find(r, domain) == NULL)
		route_set_domain_owner(r, domain, id);
	return id;
}

const route_rot_t *
route_changed(route_t *r, size_t *n)
{
	r->nout = 0;
	for (size_t t = 0; t < r->cfg->nteams; t++)
		for (size_t k = 0; k < r->cfg->teams[t].nreps; k++)
			if (r->changed[t][k]) {
				r->out[r->nout].team = r->cfg->teams[t].name;
				r->out[r->nout].rep = r->cfg->teams[t].reps[k].id;
				r->out[r->nout].current = r->current[t][k];
				r->nout++;
			}
	*n = r->nout;
	return r->out;
}
