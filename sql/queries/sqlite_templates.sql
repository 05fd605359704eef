-- Template results in the SQLite result store (shared/adapters/sqlite_template_results.py).
-- The same rules as sql/queries/postgres_templates.sql (the functions of
-- sql/014_templates.sql; tubeq_template_result_save as sql/018 redefines it), side by side.

-- name: find_template_result
-- rule: a saved template result of (video, version), completed or not: a paid reply to reuse
SELECT * FROM template_results WHERE video_id = :video_id AND analysis_version = :analysis_version;

-- name: save_template_result
-- rule: keep a paid template reply at once; a newer reply of the version replaces it, not complete, with none of its artifacts
INSERT INTO template_results (
    video_id, analysis_version, template, analyzer, model, result, output_schema,
    prompt_tokens, output_tokens, thinking_tokens, model_calls, cost_usd, created_at, saved_at)
VALUES (
    :video_id, :analysis_version, :template, :analyzer, :model, :result, :output_schema,
    :prompt_tokens, :output_tokens, :thinking_tokens, :model_calls, :cost_usd, :created_at,
    :saved_at)
ON CONFLICT (video_id, analysis_version) DO UPDATE
   SET template = excluded.template, analyzer = excluded.analyzer, model = excluded.model,
       result = excluded.result, output_schema = excluded.output_schema,
       prompt_tokens = excluded.prompt_tokens, output_tokens = excluded.output_tokens,
       thinking_tokens = excluded.thinking_tokens, model_calls = excluded.model_calls,
       cost_usd = excluded.cost_usd, created_at = excluded.created_at,
       saved_at = excluded.saved_at, completed_at = NULL, artifacts = '[]'
 WHERE template_results.created_at IS NOT excluded.created_at;

-- name: complete_template_result
-- rule: mark a template result done with its artifacts, listed with the video's when it is known
UPDATE template_results SET completed_at = :at, artifacts = :artifacts
 WHERE video_id = :video_id AND analysis_version = :analysis_version;

-- name: complete_template_result.artifacts
INSERT INTO artifacts (video_id, kind, key, content_type, size, updated_at)
SELECT :video_id, json_extract(a.value, '$.kind'), json_extract(a.value, '$.key'),
       json_extract(a.value, '$.content_type'), json_extract(a.value, '$.size'), :at
  FROM json_each(:artifacts) a
 WHERE EXISTS (SELECT 1 FROM videos WHERE video_id = :video_id)
ON CONFLICT (video_id, kind) DO UPDATE
   SET key = excluded.key, content_type = excluded.content_type, size = excluded.size,
       updated_at = excluded.updated_at;

-- name: template_results
-- rule: every completed template result of a video, newest first
SELECT * FROM template_results WHERE video_id = :video_id AND completed_at IS NOT NULL
 ORDER BY completed_at DESC, template;
