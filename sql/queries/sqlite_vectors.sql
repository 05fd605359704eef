-- Semantic search on the embedded store (shared/adapters/sqlite_vectors.py). The first
-- blocks read the result store (results.sqlite3, the standard library's sqlite3): what a
-- video has to embed. The others run on the vector file (sqlite_vectors_schema.sql, apsw
-- with sqlite-vec loaded). postgres_vectors.sql is the same on Postgres and Supabase (the
-- functions of sql/015_embeddings.sql).

-- name: video_card
-- results file: what a hit shows of a video, and what search filters on
SELECT v.video_id, v.title, v.channel_id, c.title AS channel_title, v.published_at,
       t.language
FROM videos v
LEFT JOIN channels c ON c.channel_id = v.channel_id
LEFT JOIN transcripts t ON t.video_id = v.video_id
WHERE v.video_id = :video_id;

-- name: latest_analysis
-- results file: the video's latest finished analysis (none: not analysed yet)
SELECT summary, key_points FROM analyses
WHERE video_id = :video_id AND completed_at IS NOT NULL
ORDER BY completed_at DESC
LIMIT 1;

-- name: segment_texts
-- results file: the full-text index's rows (a caption line and the next line's words)
SELECT seg, start_s, body FROM transcript_segments WHERE video_id = :video_id ORDER BY seg;

-- name: analysed_videos
-- results file: videos with a finished analysis (of one channel, or all)
SELECT DISTINCT a.video_id
FROM analyses a
JOIN videos v ON v.video_id = a.video_id
WHERE a.completed_at IS NOT NULL AND (:channel_id IS NULL OR v.channel_id = :channel_id)
ORDER BY a.video_id;

-- name: stored_hashes
SELECT kind, ref, text_hash FROM passage_vectors
WHERE video_id = :video_id AND model = :model AND dims = :dims;

-- name: drop_vector
DELETE FROM passage_vectors
WHERE video_id = :video_id AND model = :model AND dims = :dims AND kind = :kind AND ref = :ref;

-- name: save_card
INSERT INTO vector_videos (video_id, title, channel_id, channel_title, published_at, language)
VALUES (:video_id, :title, :channel_id, :channel_title, :published_at, :language)
ON CONFLICT (video_id) DO UPDATE SET
    title = excluded.title, channel_id = excluded.channel_id,
    channel_title = excluded.channel_title, published_at = excluded.published_at,
    language = excluded.language;

-- name: save_vector
INSERT INTO passage_vectors (video_id, model, dims, kind, ref, at_s, text, text_hash,
                             embedding, embedded_at)
VALUES (:video_id, :model, :dims, :kind, :ref, :at_s, :text, :text_hash, :embedding,
        :embedded_at)
ON CONFLICT (video_id, model, dims, kind, ref) DO UPDATE SET
    at_s = excluded.at_s, text = excluded.text, text_hash = excluded.text_hash,
    embedding = excluded.embedding, embedded_at = excluded.embedded_at;

-- name: count
SELECT count(*) FROM passage_vectors WHERE model = :model AND dims = :dims;

-- name: nearest
-- the passages nearest to :vector by cosine distance, with the full-text search's filters
-- (channel, published on or after :since, language: 'en' also matches 'en-GB')
SELECT p.video_id, p.kind, p.at_s, p.text,
       1 - vec_distance_cosine(p.embedding, :vector) AS similarity,
       c.title, c.channel_id, c.channel_title, c.published_at, c.language
FROM passage_vectors p
JOIN vector_videos c ON c.video_id = p.video_id
WHERE p.model = :model AND p.dims = :dims
  AND (:channel_id IS NULL OR c.channel_id = :channel_id)
  AND (:since IS NULL OR c.published_at >= :since)
  AND (:language IS NULL OR lower(c.language) = :language
       OR lower(c.language) LIKE :language || '-%')
ORDER BY vec_distance_cosine(p.embedding, :vector), p.video_id, p.kind, p.ref
LIMIT :limit;
