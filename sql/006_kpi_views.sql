-- 006_kpi_views.sql: the KPIs of the agreement between marketing and sales
-- (SPEC section 7), as views that analysts, dashboards and the weekly
-- scorecard (handoffctl report) read. The README's "KPIs" section documents
-- every column and rule; this file says why the views are shaped this way.
--
-- Two kinds of view:
--
--   * fact views, one row per thing counted (a lead, a stage entered, an MQL
--     pass, an SLA cycle, a rejection, a deal, a target period), with the
--     instants that place it in time and the dimensions to group by (the
--     lead's marketing source, campaign, segment, country, team and owner).
--     Filtering them on their timestamp columns uses the indexes of the
--     tables underneath, so one week of a large database costs work in
--     proportion to that week. The scorecard reads only these.
--   * aggregate views (*_daily, *_weekly), ready to chart, grouped by UTC
--     day or ISO week. They read the whole history each time: fine for
--     dashboards over a few hundred thousand leads, and the fact views are
--     there when a window needs to be cheaper.
--
-- Time. Every instant is a timestamptz, so psql and dashboards show it in
-- the session's time zone. The day and week columns are computed in UTC
-- (day: the UTC date; week: the ISO week of the UTC date, "2026-W48"), so
-- that a view gives the same rows whatever the session's TimeZone is. For
-- weeks in a local zone, filter a fact view on a timestamp range (Monday
-- 00:00 to Monday 00:00 in that zone), which is what the scorecard does.
--
-- Passes. A lead recycled (by marketing or by a sales rejection) and
-- qualified again starts a new pass through the funnel (stage_history.pass):
-- each pass is counted, so such a lead is two MQLs, and conversions are
-- measured within a pass.
--
-- Team and owner are the lead's current ones (routing and the CRM set them;
-- either may be NULL): the tables do not keep who owned a lead when.
-- Rejections are the exception: they carry the rep the rejection named.
--
-- Cost. leads is LEFT JOINed (every row underneath has its lead), which
-- lets PostgreSQL drop the join from a query that reads no lead column,
-- and derived columns are subqueries on primary keys, computed only for
-- the rows a query keeps and the columns it reads.

-- The one index the KPIs add: SLA cycles by start, so that a week's cycles
-- (kpi_sla_cycles, the scorecard's SLA compliance) are found without reading
-- every cycle ever started. stage_history already has (stage, entered_at),
-- which serves the views placed at a stage's time; a range over all stages
-- uses it with stage = ANY (...), as the scorecard does.
CREATE INDEX sla_cycles_started_idx ON sla_cycles (started_at);

-- Leads, one row per lead, placed at its creation (the 'lead' stage of its
-- first pass, entered at its earliest event), for the lead -> MQL step.
CREATE VIEW kpi_leads AS
SELECT
	h.lead_id,
	l.lead_key,
	h.entered_at AS created_at,
	(h.entered_at AT TIME ZONE 'UTC')::date AS day,
	to_char(h.entered_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week,
	l.source,
	l.campaign,
	l.segment,
	l.country,
	l.team,
	l.owner,
	l.stage AS current_stage,
	(SELECT min(m.entered_at) FROM stage_history m
	    WHERE m.lead_id = h.lead_id AND m.stage = 'mql') AS first_mql_at
FROM stage_history h
LEFT JOIN leads l ON l.id = h.lead_id
WHERE h.stage = 'lead' AND h.pass = 1;

-- Every stage a lead entered, per pass: the flow of the funnel ("how many
-- became SAL this week").
CREATE VIEW kpi_stage_entries AS
SELECT
	h.lead_id,
	l.lead_key,
	h.pass,
	h.stage,
	h.entered_at,
	(h.entered_at AT TIME ZONE 'UTC')::date AS day,
	to_char(h.entered_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week,
	l.source,
	l.campaign,
	l.segment,
	l.country,
	l.team,
	l.owner
FROM stage_history h
LEFT JOIN leads l ON l.id = h.lead_id;

-- One row per MQL, that is per pass that entered 'mql', placed at its MQL
-- time, with how far that pass went (the cohort view of the funnel), how
-- sales answered it and how fast it was touched.
--
-- The first touch of a pass is its first sales.activity at or after its MQL
-- time and before the next pass's MQL time (the rule reconciliation applies
-- to the current pass's leads.first_touch_at). Speed to lead is measured in
-- elapsed (wall-clock) seconds; the first_touch SLA clock measures business
-- time.
--
-- accepted and answered follow the acceptance_rate target (SPEC 6.6): a
-- pass is accepted when it entered 'sal', answered when it entered 'sal' or
-- 'recycled'. reached_sal/reached_sql are cumulative: a pass whose deal was
-- opened without an explicit acceptance reached SAL too.
--
-- The derived columns are scalar subqueries on primary keys, and leads is
-- LEFT JOINed (every stage_history row has its lead): a query pays only for
-- the columns it reads, and one that reads no lead column skips the join.
-- The first touch is a lateral join instead, so that speed_to_lead_s and
-- first_touch_at share one look-up.
CREATE VIEW kpi_mql_passes AS
SELECT
	m.lead_id,
	l.lead_key,
	m.pass,
	m.entered_at AS mql_at,
	(m.entered_at AT TIME ZONE 'UTC')::date AS day,
	to_char(m.entered_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week,
	l.source,
	l.campaign,
	l.segment,
	l.country,
	l.team,
	l.owner,
	(SELECT x.entered_at FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage = 'sal') AS sal_at,
	(SELECT x.entered_at FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage = 'sql') AS sql_at,
	(SELECT x.entered_at FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage = 'won') AS won_at,
	(SELECT x.entered_at FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage = 'lost') AS lost_at,
	(SELECT x.entered_at FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage = 'recycled') AS recycled_at,
	(SELECT x.entered_at FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage = 'disqualified') AS disqualified_at,
	EXISTS (SELECT 1 FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage IN ('sal', 'sql', 'won'))
	    AS reached_sal,
	EXISTS (SELECT 1 FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage IN ('sql', 'won')) AS reached_sql,
	EXISTS (SELECT 1 FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage = 'won') AS reached_won,
	EXISTS (SELECT 1 FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage = 'sal') AS accepted,
	EXISTS (SELECT 1 FROM stage_history x WHERE x.lead_id = m.lead_id
	    AND x.pass = m.pass AND x.stage IN ('sal', 'recycled')) AS answered,
	EXISTS (SELECT 1 FROM stage_history r JOIN lead_log g
	    ON g.lead_id = r.lead_id AND g.occurred_at = r.entered_at
	    AND g.source = r.source AND g.event_id = r.event_id
	    WHERE r.lead_id = m.lead_id AND r.pass = m.pass
	    AND r.stage = 'recycled' AND g.type = 'sales.rejected') AS rejected,
	(SELECT g.reason FROM stage_history r JOIN lead_log g
	    ON g.lead_id = r.lead_id AND g.occurred_at = r.entered_at
	    AND g.source = r.source AND g.event_id = r.event_id
	    WHERE r.lead_id = m.lead_id AND r.pass = m.pass
	    AND r.stage = 'recycled' AND g.type = 'sales.rejected')
	    AS rejection_reason,
	(SELECT g.owner FROM stage_history r JOIN lead_log g
	    ON g.lead_id = r.lead_id AND g.occurred_at = r.entered_at
	    AND g.source = r.source AND g.event_id = r.event_id
	    WHERE r.lead_id = m.lead_id AND r.pass = m.pass
	    AND r.stage = 'recycled' AND g.type = 'sales.rejected')
	    AS rejected_by,
	t.first_touch_at,
	extract(epoch FROM t.first_touch_at - m.entered_at)::float8
	    AS speed_to_lead_s
FROM stage_history m
LEFT JOIN leads l ON l.id = m.lead_id
CROSS JOIN LATERAL (
	SELECT min(a.occurred_at) AS first_touch_at
	FROM lead_log a
	WHERE a.lead_id = m.lead_id AND a.type = 'sales.activity'
	    AND a.occurred_at >= m.entered_at
	    AND a.occurred_at < coalesce((SELECT n.entered_at
		FROM stage_history n WHERE n.lead_id = m.lead_id
		AND n.pass = m.pass + 1 AND n.stage = 'mql'),
		'infinity'::timestamptz)) t
WHERE m.stage = 'mql';

-- SLA clock cycles, placed at their start. outcome is what compliance
-- counts: met, breached (including one resolved later, or closed by an
-- escalation's reassignment), cancelled, or open (running or paused and not
-- recorded as breached yet: the daemon records a breach once its clock has
-- passed the due time plus clock.lateness). compliance = met / (met +
-- breached); open and cancelled cycles are left out of it.
CREATE VIEW kpi_sla_cycles AS
SELECT
	c.lead_id,
	l.lead_key,
	c.clock,
	c.cycle,
	c.state,
	CASE c.state
	    WHEN 'met' THEN 'met'
	    WHEN 'breached' THEN 'breached'
	    WHEN 'cancelled' THEN 'cancelled'
	    ELSE 'open' END AS outcome,
	c.started_at,
	c.due_at,
	c.stopped_at,
	c.goal_s,
	c.calendar,
	(c.started_at AT TIME ZONE 'UTC')::date AS day,
	to_char(c.started_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week,
	l.source,
	l.campaign,
	l.segment,
	l.country,
	l.team,
	l.owner
FROM sla_cycles c
LEFT JOIN leads l ON l.id = c.lead_id;

-- Sales rejections that took effect (the sales.rejected that recycled a
-- pass; one that arrived when it no longer applied is not counted), with
-- their reason and the rep the event named (owner; NULL when it named none).
CREATE VIEW kpi_rejections AS
SELECT
	r.lead_id,
	l.lead_key,
	r.pass,
	r.entered_at AS rejected_at,
	(r.entered_at AT TIME ZONE 'UTC')::date AS day,
	to_char(r.entered_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week,
	g.reason,
	g.owner,
	l.source,
	l.campaign,
	l.segment,
	l.country,
	l.team
FROM stage_history r
JOIN lead_log g ON g.lead_id = r.lead_id AND g.occurred_at = r.entered_at
    AND g.source = r.source AND g.event_id = r.event_id
LEFT JOIN leads l ON l.id = r.lead_id
WHERE r.stage = 'recycled' AND g.type = 'sales.rejected';

-- Deals with the lead they came from. Every lead is created by a marketing
-- event, so every deal is marketing-sourced; via_mql says whether the lead
-- had been an MQL when the deal opened (false: sales took it up before
-- marketing qualified it). amount is the deal's latest amount; currency is
-- upper-cased (NULL when the CRM gave none); nothing is converted.
CREATE VIEW kpi_deals AS
SELECT
	d.source AS crm_source,
	d.deal_id,
	d.lead_id,
	l.lead_key,
	d.name,
	d.amount,
	upper(d.currency) AS currency,
	d.stage AS deal_stage,
	d.outcome,
	d.opened_at,
	d.closed_at,
	(d.opened_at AT TIME ZONE 'UTC')::date AS opened_day,
	to_char(d.opened_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS opened_week,
	(d.closed_at AT TIME ZONE 'UTC')::date AS closed_day,
	to_char(d.closed_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS closed_week,
	l.source,
	l.campaign,
	l.segment,
	l.country,
	l.team,
	l.owner,
	EXISTS (SELECT 1 FROM stage_history m WHERE m.lead_id = d.lead_id
	    AND m.stage = 'mql' AND m.entered_at <= d.opened_at) AS via_mql
FROM deals d
LEFT JOIN leads l ON l.id = d.lead_id;

-- The targets' evaluations (SPEC 6.6): each closed period of each target,
-- measured once when it closed on the daemon's clock, with what was known
-- then. Goals live in the configuration, not in the database. A period
-- runs from local midnight to local midnight in its target's zone, so day
-- and week are those of its middle instant: the period's own local date
-- and ISO week for any zone within 12 hours of UTC.
CREATE VIEW kpi_target_periods AS
SELECT
	t.target,
	t.period_start,
	t.period_end,
	t.actual,
	t.missed,
	((t.period_start + (t.period_end - t.period_start) / 2)
	    AT TIME ZONE 'UTC')::date AS day,
	to_char((t.period_start + (t.period_end - t.period_start) / 2)
	    AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week
FROM sla_target_periods t;

-- The funnel's flow per UTC day: how many entered each stage, by the
-- lead's dimensions. The counts add up across rows and days.
CREATE VIEW kpi_funnel_daily AS
SELECT
	day,
	week,
	source,
	campaign,
	segment,
	team,
	owner,
	count(*) FILTER (WHERE stage = 'lead') AS leads,
	count(*) FILTER (WHERE stage = 'mql') AS mqls,
	count(*) FILTER (WHERE stage = 'sal') AS sals,
	count(*) FILTER (WHERE stage = 'sql') AS sqls,
	count(*) FILTER (WHERE stage = 'won') AS won,
	count(*) FILTER (WHERE stage = 'lost') AS lost,
	count(*) FILTER (WHERE stage = 'recycled') AS recycled,
	count(*) FILTER (WHERE stage = 'disqualified') AS disqualified
FROM kpi_stage_entries
GROUP BY day, week, source, campaign, segment, team, owner;

-- MQLs per UTC day of qualification and what became of them: the funnel's
-- conversions (MQL -> SAL -> SQL -> won) and the acceptance rate's counts.
-- Additive; divide sums for the rates (accepted / answered, reached_sal /
-- mqls, ...).
CREATE VIEW kpi_mql_daily AS
SELECT
	day,
	week,
	source,
	campaign,
	segment,
	team,
	owner,
	count(*) AS mqls,
	count(*) FILTER (WHERE reached_sal) AS reached_sal,
	count(*) FILTER (WHERE reached_sql) AS reached_sql,
	count(*) FILTER (WHERE reached_won) AS won,
	count(*) FILTER (WHERE lost_at IS NOT NULL) AS lost,
	count(*) FILTER (WHERE answered) AS answered,
	count(*) FILTER (WHERE accepted) AS accepted,
	count(*) FILTER (WHERE rejected) AS rejected,
	count(first_touch_at) AS touched
FROM kpi_mql_passes
GROUP BY day, week, source, campaign, segment, team, owner;

-- Speed to lead (MQL to first touch, seconds) per ISO week (UTC) of the
-- MQL: the median and the 90th percentile (continuous, as
-- percentile_cont) over the week's touched MQLs. Percentiles do not add
-- up, so each breakdown is its own row: dimension 'all' (value NULL), or
-- 'team', 'owner', 'source', 'campaign', 'segment' with the value (NULL
-- for the leads that have none).
CREATE VIEW kpi_speed_to_lead_weekly AS
SELECT
	week,
	CASE
	    WHEN GROUPING(team) = 0 THEN 'team'
	    WHEN GROUPING(owner) = 0 THEN 'owner'
	    WHEN GROUPING(source) = 0 THEN 'source'
	    WHEN GROUPING(campaign) = 0 THEN 'campaign'
	    WHEN GROUPING(segment) = 0 THEN 'segment'
	    ELSE 'all' END AS dimension,
	coalesce(
	    CASE WHEN GROUPING(team) = 0 THEN team END,
	    CASE WHEN GROUPING(owner) = 0 THEN owner END,
	    CASE WHEN GROUPING(source) = 0 THEN source END,
	    CASE WHEN GROUPING(campaign) = 0 THEN campaign END,
	    CASE WHEN GROUPING(segment) = 0 THEN segment END) AS value,
	count(*) AS mqls,
	count(speed_to_lead_s) AS touched,
	percentile_cont(0.5) WITHIN GROUP (ORDER BY speed_to_lead_s)
	    AS median_s,
	percentile_cont(0.9) WITHIN GROUP (ORDER BY speed_to_lead_s)
	    AS p90_s
FROM kpi_mql_passes
GROUP BY GROUPING SETS ((week), (week, team), (week, owner), (week, source),
    (week, campaign), (week, segment));

-- SLA compliance per UTC day of the cycles' start, clock, team and owner.
CREATE VIEW kpi_sla_daily AS
SELECT
	day,
	week,
	clock,
	team,
	owner,
	count(*) AS cycles,
	count(*) FILTER (WHERE outcome = 'met') AS met,
	count(*) FILTER (WHERE outcome = 'breached') AS breached,
	count(*) FILTER (WHERE outcome = 'open') AS open,
	count(*) FILTER (WHERE outcome = 'cancelled') AS cancelled,
	round(count(*) FILTER (WHERE outcome = 'met')::numeric /
	    nullif(count(*) FILTER (WHERE outcome IN ('met', 'breached')), 0),
	    4) AS compliance
FROM kpi_sla_cycles
GROUP BY day, week, clock, team, owner;

-- Rejection reasons per UTC day, team and rejecting rep.
CREATE VIEW kpi_rejection_reasons_daily AS
SELECT
	day,
	week,
	reason,
	team,
	owner,
	count(*) AS rejections
FROM kpi_rejections
GROUP BY day, week, reason, team, owner;

-- Pipeline and revenue per UTC day and currency: deals opened (with their
-- current amount), won and lost that day, by the lead's dimensions.
-- Amounts of deals without one count as zero; deals counts them all.
CREATE VIEW kpi_pipeline_daily AS
SELECT
	e.day,
	to_char(e.day, 'IYYY-"W"IW') AS week,
	e.kind,
	d.currency,
	d.source,
	d.campaign,
	d.segment,
	d.team,
	d.owner,
	count(*) AS deals,
	coalesce(sum(d.amount), 0) AS amount
FROM kpi_deals d
CROSS JOIN LATERAL (
	SELECT 'opened'::text AS kind, d.opened_day AS day
	UNION ALL
	SELECT d.outcome, d.closed_day WHERE d.outcome IS NOT NULL) e
GROUP BY e.day, e.kind, d.currency, d.source, d.campaign, d.segment, d.team,
    d.owner;
