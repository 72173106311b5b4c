-- 008_write_volume.sql: less written per event.
--
-- No foreign keys on the high-volume children of leads.
-- lead_identities, lead_log, stage_history and sla_cycles take several rows
-- for every event, and each row's foreign key cost a lookup of its lead
-- (with a row lock) inside the batch's transaction: a tenth of the
-- server's time under the mixed workload. Only handoffd writes these
-- tables, always in the transaction that inserts or reads the lead, and
-- leads are never deleted, so the keys guarded nothing the daemon does not
-- already ensure. deals and routing_waiting, written rarely, keep theirs.
ALTER TABLE lead_identities DROP CONSTRAINT lead_identities_lead_id_fkey;
ALTER TABLE lead_log DROP CONSTRAINT lead_log_lead_id_fkey;
ALTER TABLE stage_history DROP CONSTRAINT stage_history_lead_id_fkey;
ALTER TABLE sla_cycles DROP CONSTRAINT sla_cycles_lead_id_fkey;

-- Two indexes that nothing handoffd runs reads, each paid on every insert
-- (and on every update that changes the lead's stage): leads by stage (the
-- reports count stages from stage_history, routing reads open leads
-- through leads_open_owner_idx) and identities by lead (lookups go by kind
-- and value, the primary key). An operator who browses identities by lead
-- can create the latter again; handoffd does not depend on its absence.
DROP INDEX leads_stage_idx;
DROP INDEX lead_identities_lead_idx;

-- profile_at, the time and event that set each profile field (for the
-- per-field merge, newest occurred_at winning), names each event once with
-- the fields it set, instead of once per field: it was more than half of a
-- lead's row. Rows are converted as their lead is next written; the daemon
-- reads both layouts.
COMMENT ON COLUMN leads.profile_at IS
	'{"stamps": [[occurred_at_us, source, event_id, field, ...], ...]}; '
	'rows written before 008 hold {field: [occurred_at_us, source, event_id]}';
