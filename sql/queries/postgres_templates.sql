-- Template results on Postgres and Supabase (shared/adapters/postgres_template_results.py
-- runs these blocks through psycopg; supabase_template_results.py sends each as the
-- PostgREST call POST /rest/v1/rpc/<function> with the same argument names). The rules are
-- the functions of sql/014_templates.sql (tubeq_template_result_save as sql/018 redefines
-- it); sqlite_templates.sql has them in SQLite's dialect.

-- name: find_template_result
-- rule: a saved template result of (video, version), completed or not: a paid reply to reuse
SELECT tubeq_template_result_find(p_video_id => %(video_id)s, p_analysis_version => %(analysis_version)s);

-- name: save_template_result
-- rule: keep a paid template reply at once; a newer reply of the version replaces it, not complete, with none of its artifacts
SELECT tubeq_template_result_save(payload => %(result)s);

-- name: complete_template_result
-- rule: mark a template result done with its artifacts, listed with the video's when it is known
SELECT tubeq_template_result_complete(p_video_id => %(video_id)s, p_analysis_version => %(analysis_version)s, p_artifacts => %(artifacts)s);

-- name: template_results
-- rule: every completed template result of a video, newest first
SELECT tubeq_template_results_of(p_video_id => %(video_id)s);
