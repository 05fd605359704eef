-- The dashboard's reads on the SQLite result store (ports.ChannelDirectory and
-- ActivityReader; shared/adapters/_sqlite_dashboard_queries.py). The same rules on
-- PostgreSQL are postgres_dashboard.sql (the functions of sql/019), block for block, under
-- the same "-- rule:" lines.

-- name: channels
-- rule: every channel with its videos counted by state, by title (only A-Z folded) then id
SELECT c.channel_id, c.title,
    count(v.video_id) AS videos,
    count(v.video_id) FILTER (WHERE v.state = 'done') AS analysed,
    count(v.video_id) FILTER (WHERE v.state IN ('failed', 'dead')) AS failed,
    count(v.video_id) FILTER (WHERE v.state IN ('queued', 'processing', 'retrying'))
        AS pending,
    max(v.published_at) AS last_published
FROM channels c
LEFT JOIN videos v ON v.channel_id = c.channel_id
GROUP BY c.channel_id, c.title
ORDER BY lower(coalesce(c.title, c.channel_id)), c.channel_id;

-- name: finished_since
-- rule: each done video once at its latest finish since then, oldest first, since included
SELECT done_at FROM videos
WHERE state = 'done' AND done_at IS NOT NULL AND done_at >= :since
ORDER BY done_at;
