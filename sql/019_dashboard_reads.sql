-- 019: the dashboard's two reads as functions: the channels with their videos counted by
-- state, and when each video done since a moment finished (the overview's throughput).
-- They were plain reads of the tables, which the Supabase store cannot make (PostgREST
-- calls functions only), so on Supabase the dashboard had no channel list and no
-- throughput. Both stores now call these (sql/queries/postgres_dashboard.sql); SQLite keeps
-- the same rules in sql/queries/sqlite_dashboard.sql. Readers, as tubeq_video_states (007):
-- security invoker, so an analyst's call still passes the tables' row-level security.

-- The order is SQLite's: the title (a channel without one, its id) with A-Z folded and no
-- other letter (SQLite's lower() folds ASCII only; under the "C" collation Postgres's does
-- the same, whatever the server's locale), then the id, in code-point order (a locale would
-- put "_x" after "a", and plain C "B" before "a").
create or replace function tubeq_channels()
returns json
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select coalesce(json_agg(json_build_object(
        'channel_id', channel_id,
        'title', title,
        'videos', videos,
        'analysed', analysed,
        'failed', failed,
        'pending', pending,
        'last_published', last_published
    ) order by lower(coalesce(title, channel_id) collate "C"), channel_id collate "C"),
    '[]'::json)
    from channel_overview;
$$;

revoke all on function tubeq_channels() from public, anon;
grant execute on function tubeq_channels() to authenticated, service_role;

-- Each done video once, at its latest finish, oldest first; p_since included.
create or replace function tubeq_finished_since(p_since timestamptz)
returns json
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select coalesce(json_agg(finished_at order by finished_at), '[]'::json)
    from videos
    where state = 'done' and finished_at is not null and finished_at >= p_since;
$$;

revoke all on function tubeq_finished_since(timestamptz) from public, anon;
grant execute on function tubeq_finished_since(timestamptz) to authenticated, service_role;
