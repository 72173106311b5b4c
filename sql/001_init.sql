-- 001_init.sql: the tables of the ingest and publish pipeline (SPEC sections 2
-- and 5).
--
-- The migration runner (daemon/migrate.c) runs this file in one transaction
-- together with its row in schema_migrations, which the runner creates itself;
-- a migration file therefore never contains BEGIN or COMMIT. Once applied, a
-- migration is never edited (the runner compares checksums): changes go into a
-- new, higher-numbered file.
--
-- Names are unqualified, so the tables land in the first schema of the
-- connection's search_path (normally "public"). The file is plain ASCII, so
-- that it reads the same whatever the database's encoding.

-- Every accepted event, raw, exactly once per (source, event_id). This table
-- takes the full ingest rate (of the order of 100k rows a second), so it has
-- only the two indexes it cannot do without: the primary key, which grows at
-- its right edge and costs little, and the (source, event_id) uniqueness that
-- makes a duplicate a no-op (INSERT ... ON CONFLICT DO NOTHING). The KPI views
-- read the reconciled tables of later migrations, not this log, so it has no
-- index on its times.
--
-- body is json, not jsonb: json keeps the exact text the producer sent (key
-- order, white space, duplicate keys, number spelling, unknown fields), which
-- is what "stored raw" means, while still letting an analyst write
-- body->>'campaign' without a cast. jsonb would rewrite the text and cost a
-- conversion on every insert.
--
-- received_at defaults to the start of the inserting transaction, that is of
-- the batch that accepted the event.
CREATE TABLE events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source		text NOT NULL,
	event_id	text NOT NULL,
	type		text NOT NULL,
	occurred_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	body		json NOT NULL,
	CONSTRAINT events_source_event_id_key UNIQUE (source, event_id)
);

-- Every rejected message, with the reason, so that an operator can see what a
-- producer got wrong. A rejected message reserves nothing, so there is no
-- uniqueness here. Each row is bounded: raw holds at most the first 4096 bytes
-- of the message's body frame (raw_len keeps the original length), and the
-- text columns have limits that the writer truncates to. text cannot hold a
-- NUL or, in a UTF-8 database, invalid UTF-8, so the writer stores topic,
-- source and event_id only when they are valid text and NULL otherwise; raw
-- keeps the bytes whatever they are.
--
-- The table as a whole is bounded too: the daemon prunes the oldest rows
-- beyond a bound, which the primary key (keeping the newest N by id) or the
-- index on received_at (by age) turns into a cheap range delete.
CREATE TABLE rejected_messages (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	received_at	timestamptz NOT NULL DEFAULT now(),
	endpoint	text NOT NULL CHECK (char_length(endpoint) <= 1024),
	topic		text CHECK (char_length(topic) <= 256),
	reason		text NOT NULL CHECK (char_length(reason) <= 1024),
	source		text CHECK (char_length(source) <= 256),
	event_id	text CHECK (char_length(event_id) <= 256),
	raw		bytea NOT NULL CHECK (octet_length(raw) <= 4096),
	raw_len		integer NOT NULL CHECK (raw_len >= octet_length(raw))
);
CREATE INDEX rejected_messages_received_at_idx
	ON rejected_messages (received_at);

-- The outbound messages (SPEC section 2.3), written in the same transaction as
-- the state change that caused them, so that a message exists if and only if
-- its cause was committed. body is the exact JSON text that is published and
-- that the control endpoint's replay serves again byte for byte; it is text
-- rather than json because nothing queries inside it and the daemon wrote it
-- itself. published_at is set once the message has gone out on the bus; on
-- start-up the publisher resumes from the rows where it is still NULL, which
-- the partial index finds without reading the published history.
CREATE TABLE outbox (
	seq		bigint PRIMARY KEY CHECK (seq > 0),
	type		text NOT NULL,
	body		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	published_at	timestamptz
);
CREATE INDEX outbox_unpublished_idx
	ON outbox (seq) WHERE published_at IS NULL;

-- The last outbox seq assigned, in a table of exactly one row.
--
-- seq must be gapless and increase in commit order (SPEC section 2.3), which a
-- sequence cannot give: nextval() is not rolled back, so an aborted batch
-- would leave a gap, and numbers are handed out in the order transactions ask,
-- not the order they commit, so a reader could see seq 11 committed before seq
-- 10. Instead a batch that has n messages runs, as its last statement before
-- COMMIT (at READ COMMITTED),
--
--     UPDATE outbox_seq SET last_seq = last_seq + n RETURNING last_seq
--
-- and numbers its messages last_seq - n + 1 .. last_seq. The UPDATE locks the
-- row until the transaction ends, so a second committing batch waits there,
-- then reads the first one's committed value: the numbers follow commit order,
-- and a rollback gives its numbers back. The wait lasts only from that UPDATE
-- to COMMIT, which is why it is the last statement. This holds across several
-- daemons sharing the database (SPEC section 5). An UPDATE that returns no row
-- means the table was tampered with; the writer treats it as an error.
CREATE TABLE outbox_seq (
	one		boolean PRIMARY KEY DEFAULT true CHECK (one),
	last_seq	bigint NOT NULL CHECK (last_seq >= 0)
);
INSERT INTO outbox_seq (one, last_seq) VALUES (true, 0);

-- The daemon's clock in clock.mode = "event" (SPEC section 6.5): the largest
-- occurred_at seen so far, clock.tick events included, NULL before the first
-- event. It is advanced in the batch transaction with GREATEST(), so a restart
-- resumes at the same time and it never moves backwards. One row, like
-- outbox_seq.
CREATE TABLE clock_state (
	one		boolean PRIMARY KEY DEFAULT true CHECK (one),
	event_now	timestamptz
);
INSERT INTO clock_state (one, event_now) VALUES (true, NULL);
