/*
 * The routing core (daemon/route.c) without a database: rule matching,
 * the smooth weighted round-robin's shares over long runs, away reps and
 * capacity, no catch-up burst after an absence, a restart that goes on
 * from the stored rotation, and sticky domains. The configuration is built
 * here by hand, as config.c would build it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/route.h"
#include "testutil.h"

static cfg_rep_t reps4[4];
static cfg_rep_t reps_ent[1];
static cfg_team_t teams[2];
static cfg_rule_t rules[4];
static char *seg_ent[] = { "enterprise" };
static char *ctry_dach[] = { "DE", "AT" };
static char *dom_partner[] = { "partner.example" };
static char *free_mail[] = { "gmail.com" };
static cfg_t cfg;

static void
setup_cfg(const int *weights, size_t n)
{
	static char *ids[4] = { "ana", "bo", "cy", "dee" };

	memset(&cfg, 0, sizeof(cfg));
	memset(reps4, 0, sizeof(reps4));
	for (size_t i = 0; i < n; i++) {
		reps4[i].id = ids[i];
		reps4[i].weight = weights[i];
	}
	reps_ent[0].id = "eve";
	reps_ent[0].weight = 1;
	memset(teams, 0, sizeof(teams));
	teams[0].name = "smb";
	teams[0].reps = reps4;
	teams[0].nreps = n;
	teams[1].name = "ent";
	teams[1].reps = reps_ent;
	teams[1].nreps = 1;
	cfg.teams = teams;
	cfg.nteams = 2;
	memset(rules, 0, sizeof(rules));
	rules[0].name = "enterprise";
	rules[0].segment = seg_ent;
	rules[0].nsegment = 1;
	rules[0].team = 1;
	rules[1].name = "dach";
	rules[1].country = ctry_dach;
	rules[1].ncountry = 2;
	rules[1].has_min_score = true;
	rules[1].min_score = 50;
	rules[1].team = 1;
	rules[2].name = "partners";
	rules[2].email_domain = dom_partner;
	rules[2].nemail_domain = 1;
	rules[2].team = 1;
	rules[3].name = "fallback";
	rules[3].team = 0;
	cfg.rules = rules;
	cfg.nrules = 4;
	cfg.free_mail_domains = free_mail;
	cfg.nfree_mail_domains = 1;
}

static size_t
rep_index(const char *id)
{
	for (size_t i = 0; i < teams[0].nreps; i++)
		if (strcmp(reps4[i].id, id) == 0)
			return i;
	fail_msg("unknown rep %s", id);
	return 0;
}

static const char *
pick(route_t *r)
{
	bool sticky;

	return route_pick(r, 0, NULL, NULL, &sticky);
}

/*
 * Over every prefix of n picks, each rep's count is within one lead of
 * n x its weight share (among the reps available throughout).
 */
static void
check_shares(const int *weights, size_t nreps, size_t picks)
{
	route_t *r;
	size_t count[4] = { 0 };
	double total = 0, worst = 0;

	setup_cfg(weights, nreps);
	r = route_new(&cfg);
	for (size_t i = 0; i < nreps; i++)
		total += weights[i];
	for (size_t n = 1; n <= picks; n++) {
		const char *id = pick(r);

		assert_non_null(id);
		count[rep_index(id)]++;
		for (size_t i = 0; i < nreps; i++) {
			double dev = fabs((double)count[i] -
			    (double)n * weights[i] / total);

			if (dev > worst)
				worst = dev;
			if (dev > 1.0)
				fail_msg("after %zu picks rep %s has %zu, share "
				    "%.2f", n, reps4[i].id, count[i],
				    (double)n * weights[i] / total);
		}
	}
	print_message("weights %d..: worst deviation %.3f over %zu picks\n",
	    weights[0], worst, picks);
	route_destroy(&r);
	assert_null(r);
}

static void
test_shares_10000(void **state)
{
	static const int w1[] = { 2, 1 };
	static const int w2[] = { 5, 3, 1, 1 };
	static const int w3[] = { 1, 1, 1 };
	static const int w4[] = { 7, 4, 2, 3 };

	(void)state;
	check_shares(w1, 2, 10000);
	check_shares(w2, 4, 10000);
	check_shares(w3, 3, 10000);
	check_shares(w4, 4, 10000);
}

static void
test_sequence_interleaves(void **state)
{
	static const int w[] = { 2, 1 };
	static const char *want[] = { "ana", "bo", "ana", "ana", "bo", "ana" };
	route_t *r;

	(void)state;
	setup_cfg(w, 2);
	r = route_new(&cfg);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(pick(r), want[i]);
	route_destroy(&r);
}

static void
test_away_and_capacity(void **state)
{
	static const int w[] = { 1, 1, 1 };
	route_t *r;
	size_t count[3] = { 0 };

	(void)state;
	setup_cfg(w, 3);
	reps4[1].away = true;      /* bo never gets a lead */
	reps4[2].capacity = 2;     /* cy at most two open leads */
	r = route_new(&cfg);
	route_add_load(r, "cy", 1); /* one already open */
	for (int i = 0; i < 10; i++)
		count[rep_index(pick(r))]++;
	assert_int_equal(count[1], 0);
	assert_int_equal(count[2], 1);
	assert_int_equal(count[0], 9);
	/* Only away and full reps: no capacity. */
	reps4[0].capacity = 9;
	route_add_load(r, "ana", 0);
	assert_false(route_available(r, 0, NULL));
	assert_null(pick(r));
	/* A lead closes: cy has room again. */
	route_add_load(r, "cy", -1);
	assert_true(route_available(r, 0, NULL));
	assert_string_equal(pick(r), "cy");
	/* Excluding the only available rep leaves none. */
	route_add_load(r, "cy", -1);
	assert_false(route_available(r, 0, "cy"));
	route_destroy(&r);
}

static void
test_no_burst_after_away(void **state)
{
	static const int w[] = { 1, 1, 1 };
	route_t *r;
	size_t cy = 0;

	(void)state;
	setup_cfg(w, 3);
	r = route_new(&cfg);
	for (int i = 0; i < 7; i++)
		(void)pick(r);
	reps4[2].away = true;
	for (int i = 0; i < 500; i++)
		assert_string_not_equal(pick(r), "cy");
	reps4[2].away = false;
	/* Back: cy takes its third from now on, never a run of catch-up. */
	for (size_t n = 1; n <= 300; n++) {
		if (strcmp(pick(r), "cy") == 0)
			cy++;
		if ((double)cy > (double)n / 3.0 + 1.0)
			fail_msg("cy has %zu of the %zu leads since it came back",
			    cy, n);
	}
	assert_true(cy >= 99);
	route_destroy(&r);
}

static void
test_restart_preserves_rotation(void **state)
{
	static const int w[] = { 5, 3, 1, 1 };
	route_t *a, *b;
	const char *whole[40];
	size_t n;
	const route_rot_t *rot;

	(void)state;
	setup_cfg(w, 4);
	a = route_new(&cfg);
	for (size_t i = 0; i < 40; i++)
		whole[i] = pick(a);
	route_destroy(&a);

	/* 13 picks, then the rotation is stored and a new router reads it. */
	a = route_new(&cfg);
	for (size_t i = 0; i < 13; i++)
		assert_string_equal(pick(a), whole[i]);
	rot = route_changed(a, &n);
	assert_int_equal(n, 4);
	b = route_new(&cfg);
	for (size_t i = 0; i < n; i++)
		route_set_rotation(b, rot[i].team, rot[i].rep, rot[i].current);
	route_destroy(&a);
	for (size_t i = 13; i < 40; i++)
		assert_string_equal(pick(b), whole[i]);
	/* A fresh router without the stored rotation goes another way. */
	a = route_new(&cfg);
	{
		bool differs = false;

		for (size_t i = 13; i < 40; i++)
			differs = differs || strcmp(pick(a), whole[i]) != 0;
		assert_true(differs);
	}
	route_destroy(&a);
	route_destroy(&b);
}

static void
test_rules(void **state)
{
	static const int w[] = { 1 };
	route_t *r;
	route_lead_t l;

	(void)state;
	setup_cfg(w, 1);
	r = route_new(&cfg);
	memset(&l, 0, sizeof(l));
	assert_int_equal(route_rule(r, &l), 3); /* only the fallback */
	l.segment = "enterprise";
	assert_int_equal(route_rule(r, &l), 0);
	l.segment = "smb";
	l.country = "DE";
	assert_int_equal(route_rule(r, &l), 3); /* no score: no min_score */
	l.has_score = true;
	l.score = 49;
	assert_int_equal(route_rule(r, &l), 3);
	l.score = 50; /* inclusive */
	assert_int_equal(route_rule(r, &l), 1);
	l.country = "FR";
	assert_int_equal(route_rule(r, &l), 3);
	l.email_norm = "kim@partner.example";
	assert_int_equal(route_rule(r, &l), 2);
	l.email_norm = "kim@sub.partner.example";
	assert_int_equal(route_rule(r, &l), 3);
	/* Without the fallback nothing matches: unroutable. */
	cfg.nrules = 3;
	assert_int_equal(route_rule(r, &l), -1);
	route_destroy(&r);
}

static void
test_sticky_domain(void **state)
{
	static const int w[] = { 1, 1 };
	route_t *r;
	bool sticky;

	(void)state;
	setup_cfg(w, 2);
	cfg.sticky_domain = true;
	r = route_new(&cfg);
	assert_null(route_domain(r, "a@gmail.com"));
	assert_null(route_domain(r, "nodomain"));
	assert_string_equal(route_domain(r, "a@acme.example"), "acme.example");
	route_set_domain_owner(r, "acme.example", "bo");
	assert_string_equal(route_pick(r, 0, "acme.example", NULL, &sticky),
	    "bo");
	assert_true(sticky);
	/* The rotation did not move: ana is still first. */
	assert_string_equal(route_pick(r, 0, "new.example", NULL, &sticky),
	    "ana");
	assert_false(sticky);
	/* The first pick of a domain makes its owner. */
	assert_string_equal(route_pick(r, 0, "new.example", NULL, &sticky),
	    "ana");
	assert_true(sticky);
	/* An away owner, or one outside the team, does not apply. */
	reps4[1].away = true;
	assert_string_equal(route_pick(r, 0, "acme.example", NULL, &sticky),
	    "ana");
	assert_false(sticky);
	route_set_domain_owner(r, "ent.example", "eve");
	assert_string_equal(route_pick(r, 0, "ent.example", NULL, &sticky),
	    "ana");
	assert_false(sticky);
	/* Off: no stickiness at all. */
	reps4[1].away = false;
	cfg.sticky_domain = false;
	(void)route_pick(r, 0, NULL, NULL, &sticky);
	assert_string_not_equal(route_pick(r, 0, "acme.example", "ana",
	    &sticky), "ana");
	assert_false(sticky);
	route_destroy(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_10000),
		cmocka_unit_test(test_sequence_interleaves),
		cmocka_unit_test(test_away_and_capacity),
		cmocka_unit_test(test_no_burst_after_away),
		cmocka_unit_test(test_restart_preserves_rotation),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_sticky_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
