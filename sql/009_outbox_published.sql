-- 009_outbox_published.sql: which outbox rows went out, as ranges of seq.
--
-- Until now each published row was marked by an UPDATE of its
-- published_at: every outbound message was written twice, and the second
-- write, which the partial index on unpublished rows made non-HOT, cost as
-- much as the first. The marking was also wrong with several daemons on
-- one database (SPEC section 5): a daemon marked the range from its last
-- mark to its last publication, which took in the rows other daemons had
-- committed in between, whether they had gone out or not.
--
-- Now a daemon records exactly the seqs it published, as ranges: a row
-- (lo, hi] says seqs lo + 1 to hi went out. A daemon extends the range
-- that ends where its next one starts, so one daemon keeps a single row,
-- and daemons taking turns keep a few; ranges that touch are merged when
-- a daemon connects. A row of the outbox that no range covers has not gone
-- out (or went out and was not recorded before a crash): a daemon
-- publishes those when it starts, as it published the rows whose
-- published_at was NULL.
--
-- Every record and merge runs under the batches' advisory lock, so each
-- sees the ranges the last one committed. id is only the row's identity
-- (logical replication wants one): two daemons that both publish a row
-- nobody recorded may record the same range twice, which is harmless.
CREATE TABLE outbox_published (
	id	bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	lo	bigint NOT NULL CHECK (lo >= 0),
	hi	bigint NOT NULL,
	CHECK (hi >= lo)
);

-- Everything below the first unpublished row went out; above it, the rows
-- marked one by one (several daemons) keep their mark.
INSERT INTO outbox_published (lo, hi)
SELECT 0, coalesce((SELECT min(seq) - 1 FROM outbox
	WHERE published_at IS NULL), (SELECT last_seq FROM outbox_seq));
INSERT INTO outbox_published (lo, hi)
SELECT seq - 1, seq FROM outbox
WHERE published_at IS NOT NULL
	AND seq > (SELECT hi FROM outbox_published WHERE lo = 0);

DROP INDEX outbox_unpublished_idx;
ALTER TABLE outbox DROP COLUMN published_at;
