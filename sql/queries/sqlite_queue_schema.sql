-- The embedded queue's tables (shared/adapters/sqlite_queue.py), created when a queue opens
-- its file: every block runs, in order, in one transaction. The queue is SQLite only (in
-- production it is Cloudflare Queues), so it has no Postgres twin.
--
-- A message is visible once visible_at <= now; a leased one carries its lease_id until it
-- is acked, handed back or its lease runs out. seq keeps claims in send order.

-- name: messages
CREATE TABLE IF NOT EXISTS messages (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    visible_at  REAL NOT NULL,
    lease_id    TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);

-- name: messages_claim
CREATE INDEX IF NOT EXISTS messages_claim ON messages (visible_at, seq);

-- name: messages_leased
-- the leases that may have run out: keeps the exhausted check off the ready backlog
CREATE INDEX IF NOT EXISTS messages_leased ON messages (visible_at) WHERE lease_id IS NOT NULL;

-- name: dead_letters
CREATE TABLE IF NOT EXISTS dead_letters (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT,
    enqueued_at REAL,
    dead_at     REAL NOT NULL
);

-- name: dead_letters_dead_at
CREATE INDEX IF NOT EXISTS dead_letters_dead_at ON dead_letters (dead_at);
