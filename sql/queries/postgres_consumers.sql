-- The running consumers on PostgreSQL (ports.ConsumerRegistry; the functions of
-- sql/016_consumers.sql), for the psycopg and the Supabase stores alike (a block is one
-- function call, which the Supabase store sends as its PostgREST RPC). The same rules on
-- SQLite are sqlite_consumers.sql, block for block, under the same "-- rule:" lines.

-- name: consumer_beat
-- rule: a heartbeat inserts or refreshes the consumer's row; rows lost over a day ago go
SELECT tubeq_consumer_beat(payload => %(beat)s);

-- name: consumer_gone
-- rule: a clean stop removes the consumer's row
SELECT tubeq_consumer_gone(p_consumer_id => %(consumer_id)s);

-- name: consumers
-- rule: every consumer's row with the seconds since its last beat, newest start first
SELECT tubeq_consumers();
