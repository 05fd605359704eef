-- The dashboard's reads on the SQLite result store (shared/adapters/_sqlite_dashboard_queries.py).

-- name: finished_since
-- sqlite only: the dashboard's throughput; the Postgres stores do not offer it yet
SELECT done_at FROM videos
WHERE state = 'done' AND done_at IS NOT NULL AND done_at >= :since
ORDER BY done_at;
