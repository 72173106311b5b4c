-- 005_routing.sql: hand-off of MQLs to reps (SPEC section 4).
--
-- Routing decisions are entries of the lead's log (lead_log.type
-- 'handoff.assigned' and 'handoff.reassigned', source 'handoffd'), so the
-- fold that recomputes owner and team from the log reproduces them. What
-- routing needs besides lives here.

-- The email domain, for sticky_domain: the owner of a domain's oldest owned
-- lead takes its new leads.
ALTER TABLE leads ADD COLUMN email_domain text
	GENERATED ALWAYS AS (nullif(split_part(email_norm, '@', 2), '')) STORED;
CREATE INDEX leads_domain_owner_idx ON leads (email_domain, id)
	WHERE owner IS NOT NULL;
-- A rep's load: their open leads in stage mql or sal.
CREATE INDEX leads_open_owner_idx ON leads (owner)
	WHERE stage IN ('mql', 'sal');

-- Smooth weighted round-robin: each rep's current weight in each team. It
-- survives restarts; rows of reps who left the configuration are ignored.
CREATE TABLE routing_rotation (
	team		text NOT NULL,
	rep		text NOT NULL,
	current_weight	bigint NOT NULL,
	PRIMARY KEY (team, rep)
);

-- Leads waiting for a rep: team NULL when no rule matched (unroutable),
-- else no rep of the team was available (no_capacity). since is the MQL
-- time: the oldest of each team are assigned first, read through the
-- index in that order.
CREATE TABLE routing_waiting (
	lead_id		bigint PRIMARY KEY REFERENCES leads (id),
	team		text,
	rule		text,
	since		timestamptz NOT NULL,
	queued_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routing_waiting_team_idx ON routing_waiting (team, since, lead_id);
