-- The dashboard's reads on the Postgres result store (shared/adapters/_postgres_dashboard.py):
-- one statement each, one JSON value back. Plain reads of the tables and views, so they need
-- no migration; the Supabase adapter (PostgREST calls functions only) does not offer them.

-- name: finished_since
-- postgres only: the dashboard's throughput (SQLite: sqlite_dashboard.sql)
SELECT coalesce(json_agg(finished_at ORDER BY finished_at), '[]'::json)
FROM videos
WHERE state = 'done' AND finished_at IS NOT NULL AND finished_at >= %(since)s;

-- name: channels
-- postgres only: the channels with their counts, from the analysts' view; the order is
-- SQLite's (sqlite.sql "channels"): case-folded title, then id, in code-point order (the
-- database's locale would put "_x" after "a" and "B" before "a" under C)
SELECT coalesce(json_agg(json_build_object(
    'channel_id', channel_id,
    'title', title,
    'videos', videos,
    'analysed', analysed,
    'failed', failed,
    'pending', pending,
    'last_published', last_published
) ORDER BY lower(coalesce(title, channel_id)) COLLATE "C", channel_id COLLATE "C"), '[]'::json)
FROM channel_overview;
