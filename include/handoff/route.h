/*
 * Routing (SPEC §4): the pure core that picks the team and the rep for a
 * marketing-qualified lead. No I/O: the shell loads the rotation state, the
 * reps' open loads and the owners of the email domains involved, asks for
 * decisions, and writes back the rotation rows that changed.
 *
 * Rules are tried in file order; the first whose conditions all hold
 * (segment, country, min_score inclusive, email_domain; a rule with none
 * matches every lead) picks the team.
 *
 * A rep is available when not away and under capacity (capacity 0: no
 * limit; the load is the number of the rep's open leads in stage mql or
 * sal). With sticky_domain, a lead whose email domain (not a free-mail
 * domain) belongs to an owned lead goes to that owner when they are an
 * available rep of the chosen team.
 *
 * Otherwise smooth weighted round-robin (the algorithm nginx uses for its
 * upstreams) over the team's available reps: each pick adds every
 * available rep's weight to its current weight, takes the rep with the
 * largest (the first in file order on a tie), and subtracts the sum of the
 * available weights from it. Over any prefix of the picks each rep's count
 * stays within one of its weight share, the sequence interleaves instead of
 * bunching, and it is deterministic. A rep who is unavailable (away, full)
 * keeps the current weight they had, so coming back brings no burst of
 * catch-up leads.
 */
#ifndef HANDOFF_ROUTE_H
#define HANDOFF_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/config.h"

typedef struct route route_t;

/* What routing looks at in a lead's profile (NULL: absent). */
typedef struct {
	const char *segment;
	const char *country;
	bool has_score;
	int64_t score;
	const char *email_norm; /* trimmed, lower-cased */
} route_lead_t;

/* One rotation row: the current weight of a rep in a team. */
typedef struct {
	const char *team;
	const char *rep;
	int64_t current;
} route_rot_t;

/* cfg must outlive the router; strings handed in must outlive it too. */
route_t *route_new(const cfg_t *cfg);
void route_destroy(route_t **r);

/* ---- the state the shell loads ---- */
void route_set_rotation(route_t *r, const char *team, const char *rep,
    int64_t current);
/* Adds n to a rep's open load (n may be negative). */
void route_add_load(route_t *r, const char *rep, int64_t n);
/* The owner of the oldest owned lead of an email domain. */
void route_set_domain_owner(route_t *r, const char *domain,
    const char *owner);

/* ---- decisions ---- */

/* The index of the first rule that matches, or -1 (unroutable). */
int route_rule(const route_t *r, const route_lead_t *l);

/* The domain of an email (after the '@'), or NULL when it has none or it
 * is a free-mail domain. */
const char *route_domain(const route_t *r, const char *email_norm);

/* Whether a team (index into cfg->teams) has an available rep other than
 * exclude (NULL: none excluded). */
bool route_available(const route_t *r, size_t team, const char *exclude);

/*
 * Picks the rep of a lead for team: its domain's owner when sticky_domain
 * applies (*sticky is set), else the next in the rotation, skipping
 * exclude. The pick counts towards the rep's load and, once assigned, the
 * domain's owner. Returns the rep id (the configuration's string), or NULL
 * when no rep is available.
 */
const char *route_pick(route_t *r, size_t team, const char *domain,
    const char *exclude, bool *sticky);

/* The rotation rows changed by the picks (valid until the next pick). */
const route_rot_t *route_changed(route_t *r, size_t *n);

#endif
