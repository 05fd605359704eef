-- The dashboard's reads on PostgreSQL (ports.ChannelDirectory and ActivityReader; the
-- functions of sql/019_dashboard_reads.sql), for the psycopg and the Supabase stores alike
-- (a block is one function call, which the Supabase store sends as its PostgREST RPC). The
-- same rules on SQLite are sqlite_dashboard.sql, block for block, under the same "-- rule:"
-- lines.

-- name: channels
-- rule: every channel with its videos counted by state, by title (only A-Z folded) then id
SELECT tubeq_channels();

-- name: finished_since
-- rule: each done video once at its latest finish since then, oldest first, since included
SELECT tubeq_finished_since(p_since => %(since)s);
