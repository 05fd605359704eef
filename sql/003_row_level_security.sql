-- 003: who may do what. RLS on every table, and explicit grants for every role, because
-- Supabase's default privileges hand new tables in `public` to anon and authenticated.
--   service_role  reads and writes (the pipeline's server-side key)
--   authenticated reads only      (analysts signed in to the Supabase project)
--   anon          nothing         (the public key must not see results)

do $$
declare
    tbl text;
begin
    foreach tbl in array array['channels', 'videos', 'transcripts', 'analyses', 'artifacts',
                               'failures']
    loop
        execute format('alter table %I enable row level security', tbl);
        execute format('revoke all on table %I from public, anon, authenticated, service_role',
                       tbl);
        execute format('grant select on table %I to authenticated', tbl);
        execute format('grant select, insert, update, delete on table %I to service_role', tbl);
        execute format(
            'create policy %I on %I for select to authenticated using (true)',
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
