-- 007: the current state of many videos in one call, for backfills. Deduping a re-run of
-- a channel with thousands of videos through tubeq_get_video costs one round trip per
-- video; this answers a whole chunk of ids (the adapters send 500 per call) at once.
--
-- Returns {"<video_id>": "<state>", ...} for the known videos among p_video_ids; unknown
-- ids are absent, and an empty or null array gives {}. One primary-key probe per id.
-- SECURITY INVOKER like the other readers: RLS applies, so an authenticated user who is
-- not an analyst gets {} (see 003), and the grants follow tubeq_done_ids in 005.
create or replace function tubeq_video_states(p_video_ids text[])
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_object_agg(v.video_id, v.state), '{}')
      from videos v
     where v.video_id = any (p_video_ids)
$$;

revoke all on function tubeq_video_states(text[]) from public, anon;
grant execute on function tubeq_video_states(text[]) to authenticated, service_role;
