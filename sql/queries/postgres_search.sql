-- Full-text search on Postgres and Supabase (shared/adapters/postgres_search.py runs this
-- block through psycopg; shared/adapters/supabase_search.py sends it as the PostgREST call
-- POST /rest/v1/rpc/tubeq_search_segments with the same argument names). The rule is the
-- function of sql/011_search.sql; sqlite_search.sql has it in SQLite's dialect.

-- name: statement_timeout
-- postgres only: one call's time limit, sent in the same message as the call
SET LOCAL statement_timeout = %(timeout_ms)s;

-- name: search
-- rule: the best segments matching a query, each placed at the second its match is spoken
SELECT tubeq_search_segments(p_query => %(query)s, p_channel_id => %(channel_id)s,
    p_since => %(since)s, p_language => %(language)s, p_limit => %(limit)s);
