-- Full-text search on the SQLite result store (shared/adapters/sqlite_search.py); the
-- tables and triggers are sqlite_search_schema.sql. postgres_search.sql is the same search
-- on Postgres and Supabase (the function tubeq_search_segments of sql/011_search.sql).

-- name: index_present
-- the last trigger sqlite_search_schema.sql creates: present, the index is complete and
-- kept up to date by the triggers
SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'transcripts_search_delete';

-- name: search
-- rule: the best segments matching a query, each placed at the second its match is spoken
-- :match is an FTS5 expression built by shared.search.fts5_match (never user text as is).
-- The first mark of highlight() says whether the match starts in the segment's own words
-- or in the next segment's; a match found twice that way (as the next words of one row and
-- the own words of the next) is one hit. :scan bounds the rows highlighted.
WITH matches AS (
    SELECT s.video_id, s.start_s, s.next_start_s, s.own_chars, s.body,
           instr(highlight(transcript_segments_fts, 0, char(2), char(3)), char(2)) - 1
               AS first_mark,
           snippet(transcript_segments_fts, 0, char(2), char(3), '…', 24) AS snippet,
           bm25(transcript_segments_fts) AS bm25
    FROM transcript_segments_fts f
    JOIN transcript_segments s ON s.id = f.rowid
    JOIN transcripts t ON t.video_id = s.video_id
    JOIN videos v ON v.video_id = s.video_id
    WHERE transcript_segments_fts MATCH :match
      AND (:channel_id IS NULL OR v.channel_id = :channel_id)
      AND (:since IS NULL OR v.published_at >= :since)
      AND (:language IS NULL OR lower(t.language) = :language
           OR lower(t.language) LIKE :language || '-%')
    ORDER BY bm25
    LIMIT :scan
),
placed AS (
    SELECT *,
           CASE WHEN first_mark >= own_chars AND next_start_s IS NOT NULL
                THEN next_start_s ELSE start_s END AS at_s
    FROM matches
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY video_id, CAST(at_s AS INTEGER) ORDER BY bm25)
              AS n
    FROM placed
)
SELECT r.video_id, v.title, v.channel_id, c.title AS channel_title, v.published_at,
       t.language, r.at_s, r.snippet, r.body AS text, -r.bm25 AS score
FROM ranked r
JOIN videos v ON v.video_id = r.video_id
JOIN transcripts t ON t.video_id = r.video_id
LEFT JOIN channels c ON c.channel_id = v.channel_id
WHERE r.n = 1
ORDER BY r.bm25, v.published_at DESC, r.video_id, r.at_s
LIMIT :limit;
