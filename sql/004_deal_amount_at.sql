-- 004_deal_amount_at.sql: a deal's amount is the newest one by occurred_at
-- (like its stage), whatever order the events arrive in, so the time of
-- the event that set it is kept beside it.
ALTER TABLE deals ADD COLUMN amount_at timestamptz;
UPDATE deals SET amount_at = coalesce(closed_at, stage_at, opened_at)
	WHERE amount IS NOT NULL;
