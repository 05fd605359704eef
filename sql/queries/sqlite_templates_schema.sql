-- Template results in the SQLite result store (shared/adapters/sqlite_template_results.py
-- creates these when it opens a file). The same table and typed views as
-- sql/014_templates.sql for Postgres and Supabase; JSON is stored as text.

-- name: template_results
CREATE TABLE IF NOT EXISTS template_results (
    video_id TEXT NOT NULL,
    analysis_version TEXT NOT NULL,
    template TEXT NOT NULL,
    analyzer TEXT NOT NULL,
    model TEXT,
    result TEXT NOT NULL CHECK (json_type(result) = 'object'),
    output_schema TEXT NOT NULL,
    artifacts TEXT NOT NULL DEFAULT '[]',
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    thinking_tokens INTEGER NOT NULL DEFAULT 0,
    model_calls INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    completed_at TEXT,
    PRIMARY KEY (video_id, analysis_version)
);

-- name: template_results_by_template
CREATE INDEX IF NOT EXISTS template_results_by_template ON template_results (template, completed_at);

-- name: video_chapters
CREATE VIEW IF NOT EXISTS video_chapters AS
SELECT
    t.video_id,
    v.title AS video_title,
    v.channel_id,
    CAST(ch.key AS INTEGER) + 1 AS chapter,
    json_extract(ch.value, '$.title') AS title,
    json_extract(ch.value, '$.start_s') AS start_s,
    json_extract(ch.value, '$.gist') AS gist,
    'https://www.youtube.com/watch?v=' || t.video_id || '&t='
        || CAST(json_extract(ch.value, '$.start_s') AS INTEGER) || 's' AS url,
    t.analysis_version,
    t.analyzer,
    t.completed_at
FROM template_results t
LEFT JOIN videos v ON v.video_id = t.video_id
JOIN json_each(t.result, '$.chapters') ch
WHERE t.template = 'chapters' AND t.completed_at IS NOT NULL;

-- name: video_mentions
CREATE VIEW IF NOT EXISTS video_mentions AS
SELECT
    t.video_id,
    v.title AS video_title,
    v.channel_id,
    json_extract(m.value, '$.name') AS name,
    json_extract(m.value, '$.kind') AS kind,
    json_extract(m.value, '$.at_s') AS at_s,
    t.analysis_version,
    t.analyzer,
    t.completed_at
FROM template_results t
LEFT JOIN videos v ON v.video_id = t.video_id
JOIN json_each(t.result, '$.mentions') m
WHERE t.template = 'mentions' AND t.completed_at IS NOT NULL;
