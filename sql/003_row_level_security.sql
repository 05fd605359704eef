-- 003: who may do what. RLS on every table, and explicit grants for every role, because
-- Supabase's default privileges hand new tables in `public` to anon and authenticated.
--   service_role  reads and writes (the pipeline's server-side key)
--   authenticated reads only, and only an analyst: a signed-in user whose JWT carries
--                 app_metadata.role = 'analyst' (see sql/README.md, "Who can read")
--   anon          nothing         (the public key must not see results)

-- Is the caller an analyst? Reads the request's JWT claims the way Supabase's auth.jwt()
-- does (PostgREST puts them in request.jwt.claims; older versions in request.jwt.claim).
-- Not auth.jwt() itself: the auth schema exists only on Supabase, and these migrations
-- must run on any PostgreSQL. app_metadata (unlike user_metadata) cannot be set by the
-- user: only the service role or the dashboard can grant it. Without a JWT (a plain
-- Postgres login, a SET ROLE) the answer is false.
create or replace function tubeq_is_analyst()
returns boolean
language sql
stable
parallel safe
set search_path = pg_catalog
as $$
    select coalesce(
        (coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb
            -> 'app_metadata' ->> 'role') = 'analyst',
        false)
$$;

revoke all on function tubeq_is_analyst() from public, anon;
grant execute on function tubeq_is_analyst() to authenticated, service_role;

do $$
declare
    tbl text;
begin
    foreach tbl in array array['channels', 'videos', 'transcripts', 'transcript_chunks',
                               'analyses', 'artifacts', 'failures']
    loop
        execute format('alter table %I enable row level security', tbl);
        execute format('revoke all on table %I from public, anon, authenticated, service_role',
                       tbl);
        execute format('grant select on table %I to authenticated', tbl);
        execute format('grant select, insert, update, delete on table %I to service_role', tbl);
        -- (select …): evaluated once per query, not once per row
        execute format(
            'create policy %I on %I for select to authenticated using ((select tubeq_is_analyst()))',
            tbl || '_analysts_read', tbl);
        execute format(
            'create policy %I on %I for all to service_role using (true) with check (true)',
            tbl || '_service_role_all', tbl);
    end loop;
end
$$;

-- The identity sequence of failures: only the writer draws from it.
revoke all on sequence failures_id_seq from public, anon, authenticated;
grant usage, select on sequence failures_id_seq to service_role;
