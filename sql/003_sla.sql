-- 003_sla.sql: SLA clock cycles and their alerts (SPEC section 6).
--
-- A lead's cycles are recomputed by the daemon from its sorted event log
-- whenever one of its events arrives (daemon/sla.c), and written here with
-- the instants at which their alerts fall due. Which alerts were published
-- is recorded in done (bits, see include/handoff/sla.h) in the same
-- transaction as the outbox rows that publish them, so each alert goes out
-- exactly once, across restarts and across daemons sharing the database.
-- next_alert_at (the next instant plus clock.lateness at which the cycle
-- owes an alert) is indexed, so finding the due cycles costs work in
-- proportion to the due ones, not to all open ones.
CREATE TABLE sla_cycles (
	lead_id		bigint NOT NULL REFERENCES leads (id),
	clock		text NOT NULL,
	cycle		integer NOT NULL CHECK (cycle > 0),
	state		text NOT NULL CHECK (state IN ('running', 'paused', 'met',
			    'breached', 'cancelled')),
	started_at	timestamptz NOT NULL,
	stopped_at	timestamptz,
	due_at		timestamptz,	-- NULL while paused before it
	goal_s		bigint NOT NULL,	-- fixed when the cycle started
	calendar	text NOT NULL,		-- likewise
	elapsed_s	bigint NOT NULL DEFAULT 0,	-- at elapsed_at_us
	elapsed_at_us	bigint NOT NULL DEFAULT 0,	-- the daemon's clock then
	-- Instants in microseconds since the epoch: due, each warning, each
	-- escalation level (0 = not known yet), and the warning fractions.
	due_us		bigint NOT NULL DEFAULT 0,
	warn_us		bigint[] NOT NULL DEFAULT '{}',
	warn_frac	float8[] NOT NULL DEFAULT '{}',
	esc_us		bigint[] NOT NULL DEFAULT '{}',
	done		integer NOT NULL DEFAULT 0,
	next_alert_at	timestamptz,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (lead_id, clock, cycle)
);
CREATE INDEX sla_cycles_next_alert_idx ON sla_cycles (next_alert_at)
	WHERE next_alert_at IS NOT NULL;
CREATE INDEX sla_cycles_open_idx ON sla_cycles (clock)
	WHERE state IN ('running', 'paused', 'breached') AND stopped_at IS NULL;

-- Targets (SPEC section 6.6): each closed period of each target is
-- evaluated once. first_clock is the daemon's clock when the target was
-- first seen with events flowing: periods that closed before it are not
-- evaluated. evaluated lists the periods done, with the measured value.
CREATE TABLE sla_target_periods (
	target		text NOT NULL,
	period_start	timestamptz NOT NULL,
	period_end	timestamptz NOT NULL,
	actual		float8,		-- NULL when the period had no data
	missed		boolean NOT NULL,
	PRIMARY KEY (target, period_start)
);
CREATE TABLE sla_target_state (
	target		text PRIMARY KEY,
	first_clock	timestamptz NOT NULL
);
