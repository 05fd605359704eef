-- The running consumers on the SQLite result store (ports.ConsumerRegistry;
-- shared/adapters/_sqlite_consumers.py): the rules of postgres_consumers.sql in SQLite's
-- dialect, block for block, under the same "-- rule:" lines. Timestamps are fixed-width
-- UTC ISO text, as in sqlite.sql; "current" is a JSON array.

-- name: schema
-- sqlite only: the embedded store creates its table on first use (Postgres: 016)
CREATE TABLE IF NOT EXISTS consumers (
    consumer_id TEXT PRIMARY KEY CHECK (consumer_id <> ''),
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    version     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    interval_s  REAL NOT NULL CHECK (interval_s > 0),
    state       TEXT NOT NULL DEFAULT 'running',
    concurrency INTEGER NOT NULL DEFAULT 1,
    current     TEXT NOT NULL DEFAULT '[]',
    in_flight   INTEGER NOT NULL DEFAULT 0,
    done        INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    retried     INTEGER NOT NULL DEFAULT 0,
    dead        INTEGER NOT NULL DEFAULT 0
);

-- name: consumer_beat
-- rule: a heartbeat inserts or refreshes the consumer's row; rows lost over a day ago go
INSERT INTO consumers (consumer_id, host, pid, version, started_at, last_seen, interval_s,
                       state, concurrency, current, in_flight, done, skipped, failed,
                       retried, dead)
VALUES (:consumer_id, :host, :pid, :version, :started_at, :at, :interval_s, :state,
        :concurrency, :current, :in_flight, :done, :skipped, :failed, :retried, :dead)
ON CONFLICT (consumer_id) DO UPDATE SET
    last_seen = excluded.last_seen, interval_s = excluded.interval_s,
    state = excluded.state, concurrency = excluded.concurrency, current = excluded.current,
    in_flight = excluded.in_flight, done = excluded.done, skipped = excluded.skipped,
    failed = excluded.failed, retried = excluded.retried, dead = excluded.dead;

-- name: consumer_beat.forget_lost
DELETE FROM consumers WHERE last_seen < :forget_before;

-- name: consumer_gone
-- rule: a clean stop removes the consumer's row
DELETE FROM consumers WHERE consumer_id = :consumer_id;

-- name: consumers
-- rule: every consumer's row with the seconds since its last beat, newest start first
-- seen_s_ago is worked out by the adapter, on this machine's clock (the file is local)
SELECT * FROM consumers ORDER BY started_at DESC, consumer_id;
