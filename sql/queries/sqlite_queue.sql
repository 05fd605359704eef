-- The embedded queue's statements (shared/adapters/sqlite_queue.py); its tables are in
-- sqlite_queue_schema.sql. SQLite only: in production the queue is Cloudflare Queues.
--
-- A lease is the ownership token, as in Cloudflare's HTTP pull API: a statement that acts
-- on a delivery matches the row's id AND the delivery's lease_id, so a stale lease (expired,
-- and the message pulled by someone else since) touches nothing. The adapter runs every
-- write in a BEGIN IMMEDIATE transaction; times are Unix seconds (REAL). Lists of ids
-- arrive as one JSON array (json_each), so no statement is built from pieces.

-- ---- sending and claiming ---------------------------------------------------------------

-- name: send
INSERT INTO messages (id, body, enqueued_at, visible_at)
VALUES (:id, :body, :enqueued_at, :visible_at);

-- name: claim
-- lease up to :limit visible messages, oldest first: a fresh lease id, one more attempt,
-- hidden until :until. randomblob() is evaluated per row, so every claimed message gets
-- its own lease id.
UPDATE messages
   SET lease_id = lower(hex(randomblob(16))), attempts = attempts + 1, visible_at = :until
 WHERE id IN (SELECT id FROM messages WHERE visible_at <= :now ORDER BY visible_at, seq
              LIMIT :limit)
RETURNING id, lease_id, body, attempts, enqueued_at, seq;

-- name: exhausted
-- ready again, but already delivered max_retries + 1 times: its last consumer never came
-- back. Only expired leases can be exhausted (retry clears the lease), so the partial index
-- messages_leased keeps this from scanning the whole ready backlog on every pull.
SELECT id, attempts, last_error FROM messages
 WHERE lease_id IS NOT NULL AND visible_at <= :now AND attempts > :max_retries;

-- ---- settling a delivery (only while the row still carries its lease) -------------------

-- name: ack
DELETE FROM messages WHERE id = :message_id AND lease_id = :lease_id;

-- name: retry.attempts
SELECT attempts FROM messages WHERE id = :message_id AND lease_id = :lease_id;

-- name: retry.reschedule
UPDATE messages SET visible_at = :visible_at, lease_id = NULL, last_error = :error
 WHERE id = :message_id;

-- name: release
-- a handback that does not count: the delivery's attempt is given back
UPDATE messages
   SET visible_at = :visible_at, lease_id = NULL, last_error = :error,
       attempts = max(attempts - 1, 0)
 WHERE id = :message_id AND lease_id = :lease_id;

-- name: extend
UPDATE messages SET visible_at = :until WHERE id = :message_id AND lease_id = :lease_id;

-- name: held
SELECT 1 FROM messages WHERE id = :message_id AND lease_id = :lease_id;

-- ---- reading the queue ------------------------------------------------------------------

-- name: leases_expire_by
SELECT max(visible_at) FROM messages WHERE lease_id IS NOT NULL AND visible_at > :now;

-- name: stats
-- ready, delayed (no lease), in flight (leased), dead
SELECT coalesce(sum(visible_at <= :now), 0),
       coalesce(sum(visible_at > :now AND lease_id IS NULL), 0),
       coalesce(sum(visible_at > :now AND lease_id IS NOT NULL), 0),
       (SELECT count(*) FROM dead_letters)
  FROM messages;

-- ---- dead letters -----------------------------------------------------------------------

-- name: move_to_dead.copy
-- the message's body, attempts and enqueue time, with its last error; a letter of the same
-- id (redriven before) is replaced
INSERT OR REPLACE INTO dead_letters (id, body, attempts, last_error, enqueued_at, dead_at)
SELECT id, body, attempts, :error, enqueued_at, :now FROM messages WHERE id = :message_id;

-- name: move_to_dead.delete
DELETE FROM messages WHERE id = :message_id;

-- name: dead_letters
SELECT id, body, attempts, last_error, enqueued_at, dead_at FROM dead_letters
 ORDER BY dead_at, id LIMIT :limit;

-- name: redrive_all.insert
-- same id, fresh attempts: the operator can follow a message through redrives
INSERT INTO messages (id, body, enqueued_at, visible_at, attempts)
SELECT id, body, enqueued_at, :now, 0 FROM dead_letters;

-- name: redrive_all.delete
DELETE FROM dead_letters;

-- name: redrive_ids.insert
INSERT INTO messages (id, body, enqueued_at, visible_at, attempts)
SELECT id, body, enqueued_at, :now, 0 FROM dead_letters
 WHERE id IN (SELECT value FROM json_each(:ids));

-- name: redrive_ids.delete
DELETE FROM dead_letters WHERE id IN (SELECT value FROM json_each(:ids));
