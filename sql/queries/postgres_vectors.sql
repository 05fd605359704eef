-- Semantic search on Postgres and Supabase (shared/adapters/postgres_vectors.py runs these
-- through psycopg; supabase_vectors.py sends each call over PostgREST's rpc with the same
-- argument names). The rules are the functions of sql/015_embeddings.sql; sqlite_vectors.sql
-- has them for the embedded store.

-- name: plan
SELECT tubeq_embedding_plan(p_video_id => %(video_id)s, p_model => %(model)s,
    p_dims => %(dims)s);

-- name: save
SELECT tubeq_save_embeddings(p_video_id => %(video_id)s, p_model => %(model)s,
    p_dims => %(dims)s, p_rows => %(rows)s);

-- name: count
SELECT tubeq_embedding_count(p_model => %(model)s, p_dims => %(dims)s);

-- name: analysed_videos
SELECT tubeq_analysed_videos(p_channel_id => %(channel_id)s);

-- name: nearest
SELECT tubeq_semantic_search(p_vector => %(vector)s::real[], p_model => %(model)s, p_dims => %(dims)s,
    p_channel_id => %(channel_id)s, p_since => %(since)s, p_language => %(language)s,
    p_limit => %(limit)s);
