-- 010: Gemini batches (issue 12: half-price backfills). A batch is written here before any
-- request is sent (open, then sealed) and again after batches.create (its Gemini name), so a
-- crash between the two neither loses the batch nor creates it twice: its display name at
-- Gemini is derived from batch_id alone and looked up before creating. A video is in at
-- most one batch per analysis version (the primary key of batch_items), so a redelivered
-- collect job never pays for it twice.
-- The rules are the functions below, one per block of sql/queries/postgres.sql, called by
-- the psycopg and the Supabase batch stores alike; the SQLite store runs the same rules
-- from sql/queries/sqlite.sql on the same tables (sqlite_schema.sql).
create table batches (
    batch_id         text primary key check (batch_id <> ''),
    analysis_version text not null,
    state            text not null check (state in
        ('open', 'sealed', 'submitted', 'succeeded', 'failed', 'cancelled', 'expired')),
    items            integer not null default 0,
    remote_name      text,
    poll_chain       text,
    opened_by        text,
    sealed_by        text,
    error            text,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    submitted_at     timestamptz,
    ended_at         timestamptz
);

-- one open batch per analysis version: every collect job adds to the same one
create unique index batches_one_open on batches (analysis_version) where state = 'open';

create table batch_items (
    video_id         text not null,
    analysis_version text not null,
    batch_id         text not null references batches (batch_id),
    state            text not null check (state in ('pending', 'saved', 'failed', 'requeued')),
    prompt           text not null,
    job              jsonb not null,
    language         text,
    tries            integer not null default 1,
    error            text,
    updated_at       timestamptz not null default now(),
    primary key (video_id, analysis_version)
);

create index batch_items_by_batch on batch_items (batch_id);

-- As every other table (003): service_role writes, analysts read, anon nothing.
do $$
declare
    tbl text;
begin
    foreach tbl in array array['batches', 'batch_items']
    loop
        execute format('alter table %I enable row level security', tbl);
        execute format('revoke all on table %I from public, anon, authenticated, service_role',
                       tbl);
        execute format('grant select on table %I to authenticated', tbl);
        execute format('grant select, insert, update, delete on table %I to service_role', tbl);
        execute format(
            'create policy %I on %I for select to authenticated using ((select tubeq_is_analyst()))',
            tbl || '_analysts_read', tbl);
        execute format(
            'create policy %I on %I for all to service_role using (true) with check (true)',
            tbl || '_service_role_all', tbl);
    end loop;
end
$$;

-- A batch as the stores return it (shared.gemini.batch_models.BatchRecord's fields).
create or replace function tubeq__batch_json(p_batch_id text)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select to_jsonb(b) from batches b where b.batch_id = p_batch_id
$$;

-- Put a video's request in the open batch of its version, {"item": {video_id,
-- analysis_version, prompt, job, language}, "new_batch_id", "max_items"}: the open batch, or
-- a new one under new_batch_id; sealed when it reaches max_items. A video already pending in
-- a live batch, or saved, stays where it is. Returns {"batch", "added"}.
-- Adds of one version queue on a transaction-scoped advisory lock (as SQLite's single
-- writer does), and the open batch's row is locked, so a seal waits for an add in progress
-- and an add never lands in a batch sealed under it.
create or replace function tubeq_batch_add(payload jsonb)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_item     jsonb := payload -> 'item';
    v_video    text := tubeq__require(payload, '{item,video_id}', 'batch item video id');
    v_version  text := tubeq__require(payload, '{item,analysis_version}', 'analysis version');
    v_new_id   text := tubeq__require(payload, '{new_batch_id}', 'new batch id');
    v_max      integer := tubeq__require(payload, '{max_items}', 'max_items')::integer;
    v_known    record;
    v_batch_id text;
begin
    perform pg_advisory_xact_lock(hashtext('tubeq_batch_add'), hashtext(v_version));
    select i.state, i.batch_id, b.state as batch_state into v_known
    from batch_items i join batches b using (batch_id)
    where i.video_id = v_video and i.analysis_version = v_version;
    if found and (v_known.state = 'saved' or (v_known.state = 'pending'
                  and v_known.batch_state in ('open', 'sealed', 'submitted'))) then
        -- already in a live batch, or already paid for: never a second request
        return jsonb_build_object('batch', tubeq__batch_json(v_known.batch_id), 'added', false);
    end if;
    select batch_id into v_batch_id from batches
    where analysis_version = v_version and state = 'open'
    for update;
    if v_batch_id is null then
        v_batch_id := v_new_id;
        insert into batches (batch_id, analysis_version, state, opened_by)
        values (v_batch_id, v_version, 'open', v_video);
    end if;
    insert into batch_items as i (video_id, analysis_version, batch_id, state, prompt, job,
                                  language, tries)
    values (v_video, v_version, v_batch_id, 'pending',
            tubeq__require(payload, '{item,prompt}', 'batch item prompt'),
            (tubeq__require(payload, '{item,job}', 'batch item job'))::jsonb,
            v_item ->> 'language', 1)
    on conflict (video_id, analysis_version) do update set
        batch_id = excluded.batch_id, state = 'pending', prompt = excluded.prompt,
        job = excluded.job, language = excluded.language, tries = i.tries + 1,
        error = null, updated_at = now();
    update batches set
        items = (select count(*) from batch_items where batch_id = v_batch_id),
        updated_at = now()
    where batch_id = v_batch_id;
    update batches set state = 'sealed', sealed_by = v_video, updated_at = now()
    where batch_id = v_batch_id and state = 'open' and items >= v_max;
    return jsonb_build_object('batch', tubeq__batch_json(v_batch_id), 'added', true);
end
$$;

-- Close an open batch to new videos (a no-op in any other state); the batch, or null.
create or replace function tubeq_batch_seal(p_batch_id text)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
begin
    update batches set state = 'sealed', updated_at = now()
    where batch_id = p_batch_id and state = 'open';
    return tubeq__batch_json(p_batch_id);
end
$$;

create or replace function tubeq_batch_get(p_batch_id text)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select tubeq__batch_json(p_batch_id)
$$;

-- A batch's state, {"batch_id", "state", "remote_name", "poll_chain", "error"}: a null
-- field keeps what is stored; submitted_at and ended_at are set once.
create or replace function tubeq_batch_update(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_state text := tubeq__require(payload, '{state}', 'batch state');
begin
    update batches set
        state = v_state,
        remote_name = coalesce(payload ->> 'remote_name', remote_name),
        poll_chain = coalesce(payload ->> 'poll_chain', poll_chain),
        error = coalesce(payload ->> 'error', error),
        submitted_at = case when v_state = 'submitted' then coalesce(submitted_at, now())
            else submitted_at end,
        ended_at = case when v_state in ('succeeded', 'failed', 'cancelled', 'expired')
            then coalesce(ended_at, now()) else ended_at end,
        updated_at = now()
    where batch_id = tubeq__require(payload, '{batch_id}', 'batch id');
end
$$;

-- A batch's videos, by video id (the job as its JSON text, as the pipeline sent it).
create or replace function tubeq_batch_items(p_batch_id text)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(to_jsonb(i) || jsonb_build_object('job', i.job::text)
                              order by i.video_id), '[]'::jsonb)
    from batch_items i where i.batch_id = p_batch_id
$$;

-- An item's outcome, {"batch_id", "video_id", "state", "error"}, if it is still in this
-- batch (a requeued video that moved on to another batch is left alone).
create or replace function tubeq_batch_item_settle(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
begin
    update batch_items set
        state = tubeq__require(payload, '{state}', 'batch item state'),
        error = payload ->> 'error',
        updated_at = now()
    where batch_id = tubeq__require(payload, '{batch_id}', 'batch id')
      and video_id = tubeq__require(payload, '{video_id}', 'batch item video id');
end
$$;

-- The newest batches first.
create or replace function tubeq_batch_list(p_limit integer)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(to_jsonb(b) order by b.created_at desc, b.batch_id desc),
                    '[]'::jsonb)
    from (select * from batches order by created_at desc, batch_id desc
          limit greatest(p_limit, 0)) b
$$;

revoke all on function tubeq__batch_json(text) from public, anon, authenticated;
revoke all on function tubeq_batch_add(jsonb) from public, anon, authenticated;
revoke all on function tubeq_batch_seal(text) from public, anon, authenticated;
revoke all on function tubeq_batch_get(text) from public, anon, authenticated;
revoke all on function tubeq_batch_update(jsonb) from public, anon, authenticated;
revoke all on function tubeq_batch_items(text) from public, anon, authenticated;
revoke all on function tubeq_batch_item_settle(jsonb) from public, anon, authenticated;
revoke all on function tubeq_batch_list(integer) from public, anon, authenticated;
grant execute on function tubeq__batch_json(text) to service_role;
grant execute on function tubeq_batch_add(jsonb) to service_role;
grant execute on function tubeq_batch_seal(text) to service_role;
grant execute on function tubeq_batch_get(text) to service_role;
grant execute on function tubeq_batch_update(jsonb) to service_role;
grant execute on function tubeq_batch_items(text) to service_role;
grant execute on function tubeq_batch_item_settle(jsonb) to service_role;
grant execute on function tubeq_batch_list(integer) to service_role;
