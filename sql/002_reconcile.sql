-- 002_reconcile.sql: one record per lead across marketing and sales
-- (SPEC section 2.2, 5 and 6.4).
--
-- The design makes the result independent of arrival order. Everything
-- order-sensitive about a lead (its stage, passes through the funnel, owner,
-- touches) is recomputed by the daemon from lead_log, the lead's compact
-- event log sorted by (occurred_at, source, event_id), whenever one of its
-- events arrives; the profile is merged field by field, newest occurred_at
-- winning, which is order-independent by itself. So the same set of events
-- gives the same lead whatever order they came in.

-- The reconciled leads. lead_key is what the CRM side echoes back.
CREATE TABLE leads (
	id		bigint PRIMARY KEY,
	lead_key	text NOT NULL UNIQUE,
	source		text NOT NULL,	-- the marketing source that created it
	mkt_id		text NOT NULL,	-- that source's lead id
	email		text,		-- as last sent
	email_norm	text,		-- trimmed, lower-cased
	stage		text NOT NULL DEFAULT 'lead' CHECK (stage IN ('lead', 'mql',
			    'sal', 'sql', 'won', 'lost', 'recycled', 'disqualified')),
	stage_at	timestamptz NOT NULL,
	pass		integer NOT NULL DEFAULT 1,	-- passes through the funnel
	stages		jsonb NOT NULL DEFAULT '{}',	-- stage -> time entered (this pass)
	owner		text,
	team		text,
	-- The profile: field -> value, and field -> occurred_at (microseconds
	-- since the epoch) of the event that set it, for the per-field merge.
	profile		jsonb NOT NULL DEFAULT '{}',
	profile_at	jsonb NOT NULL DEFAULT '{}',
	segment		text,		-- copies of profile fields that routing
	country		text,		-- and the KPI views filter on
	campaign	text,
	score		integer,
	touches		integer NOT NULL DEFAULT 0,
	first_touch_at	timestamptz,	-- in the current pass
	connected_at	timestamptz,	-- in the current pass
	first_seen	timestamptz NOT NULL,	-- earliest occurred_at of any event
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE lead_id_seq OWNED BY leads.id;
CREATE INDEX leads_stage_idx ON leads (stage);

-- Identities: every marketing (source, id), crm_id and email seen with a
-- lead. kind 'mkt' values are source || ' ' || id (a source cannot contain
-- a space). An email may belong to two leads (two people who share an
-- address, or a data error): the table keeps both and lookups report the
-- ambiguity instead of guessing.
CREATE TABLE lead_identities (
	kind		text NOT NULL CHECK (kind IN ('mkt', 'crm', 'email')),
	value		text NOT NULL,
	lead_id		bigint NOT NULL REFERENCES leads (id),
	first_seen	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (kind, value, lead_id)
);
CREATE INDEX lead_identities_lead_idx ON lead_identities (lead_id);

-- The compact log of the events that move a lead through the funnel (all
-- but lead.upserted, whose only effect is the profile), in the order the
-- fold reads them. One row per applied event.
CREATE TABLE lead_log (
	lead_id		bigint NOT NULL REFERENCES leads (id),
	occurred_at	timestamptz NOT NULL,
	source		text NOT NULL,
	event_id	text NOT NULL,
	type		text NOT NULL,
	owner		text,
	team		text,
	reason		text,
	deal_id		text,
	outcome		text,	-- sales.activity: attempted/connected; deal.closed: won/lost
	PRIMARY KEY (lead_id, occurred_at, source, event_id)
);

-- Every stage a lead entered, per pass (re-qualification after recycling
-- opens a new pass), rewritten by the fold for the leads a batch touches.
-- The KPI views count conversions per period from here.
CREATE TABLE stage_history (
	lead_id		bigint NOT NULL REFERENCES leads (id),
	pass		integer NOT NULL,
	stage		text NOT NULL,
	entered_at	timestamptz NOT NULL,
	source		text,	-- the event that caused it (NULL for 'lead',
	event_id	text,	-- which the lead's first event entered)
	PRIMARY KEY (lead_id, pass, stage)
);
CREATE INDEX stage_history_entered_idx ON stage_history (stage, entered_at);

-- Deals, keyed by the CRM source and its deal id.
CREATE TABLE deals (
	source		text NOT NULL,
	deal_id		text NOT NULL,
	lead_id		bigint NOT NULL REFERENCES leads (id),
	name		text,
	amount		numeric,
	currency	text,
	stage		text,
	stage_at	timestamptz,	-- occurred_at of the stage's event (newest wins)
	outcome		text CHECK (outcome IN ('won', 'lost')),
	closed_at	timestamptz,
	close_reason	text,
	opened_at	timestamptz NOT NULL,
	PRIMARY KEY (source, deal_id)
);
CREATE INDEX deals_lead_idx ON deals (lead_id);

CREATE TABLE deal_history (
	source		text NOT NULL,
	deal_id		text NOT NULL,
	occurred_at	timestamptz NOT NULL,
	event_id	text NOT NULL,
	type		text NOT NULL,
	stage		text,
	amount		numeric,
	outcome		text,
	PRIMARY KEY (source, deal_id, occurred_at, event_id)
);

-- Events whose lead (or deal) is not known yet, kept until it is: a sales
-- event waits for its crm_id or its email (whichever appears first with a
-- lead), a lead.recycled or lead.disqualified for its marketing (source, id)
-- (mkt: source || ' ' || id), a deal event for its deal (deal: source || ' '
-- || deal id). arrived is the daemon's clock at arrival; reconcile.unmatched
-- is published once reconcile.unmatched_grace after it, and notified records
-- that. The body stays in events; once the lead arrives the event is applied
-- and its row here removed.
CREATE TABLE pending_events (
	source		text NOT NULL,
	event_id	text NOT NULL,
	type		text NOT NULL,
	occurred_at	timestamptz NOT NULL,
	arrived		timestamptz NOT NULL,
	crm_id		text,
	email_norm	text,
	mkt		text,
	deal		text,
	notified	boolean NOT NULL DEFAULT false,
	PRIMARY KEY (source, event_id)
);
CREATE INDEX pending_events_crm_idx ON pending_events (crm_id)
	WHERE crm_id IS NOT NULL;
CREATE INDEX pending_events_email_idx ON pending_events (email_norm)
	WHERE email_norm IS NOT NULL;
CREATE INDEX pending_events_mkt_idx ON pending_events (mkt)
	WHERE mkt IS NOT NULL;
CREATE INDEX pending_events_deal_idx ON pending_events (deal)
	WHERE deal IS NOT NULL;
CREATE INDEX pending_events_due_idx ON pending_events (arrived)
	WHERE NOT notified;
