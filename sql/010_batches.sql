-- 010: Gemini batches (issue 12: half-price backfills). A batch is written here before any
-- request is sent (open, then sealed) and again after batches.create (its Gemini name), so a
-- crash between the two neither loses the batch nor creates it twice: its display name at
-- Gemini is derived from batch_id alone and looked up before creating. A video is in at
-- most one batch per analysis version (the primary key of batch_items), so a redelivered
-- collect job never pays for it twice. service_role only; analysts see nothing.
-- The SQLite store's tables are the same (sql/queries/sqlite_schema.sql); the Postgres and
-- Supabase stores do not run the batch rules yet.
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

-- The pipeline's bookkeeping: service_role only, analysts see nothing.
alter table batches enable row level security;
alter table batch_items enable row level security;
revoke all on table batches, batch_items from public, anon, authenticated, service_role;
grant select, insert, update on table batches, batch_items to service_role;
create policy batches_service_role_all on batches for all
    to service_role using (true) with check (true);
create policy batch_items_service_role_all on batch_items for all
    to service_role using (true) with check (true);
