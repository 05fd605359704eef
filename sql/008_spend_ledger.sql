-- 008: the spend ledger. One row per model call the provider bills, whatever became of it
-- (a valid reply, invalid or truncated output, a refusal, a repair call), so spend is
-- counted even for videos that end failed: tokens and cost in `analyses` cover only the
-- replies that were kept. Written by tubeq_record_call (service_role only), idempotent by
-- call_id: the analyzer derives it from the video, version, step and the step's attempt,
-- never from a clock, so the same call recorded twice is one row.
--
-- No foreign key to videos: a call is billed (and recorded) before the video's rows may
-- exist, and a call may belong to no single video (a batch).
create table model_calls (
    call_id          text primary key check (call_id <> '' and length(call_id) <= 200),
    video_id         text,
    analysis_version text,
    model            text not null check (model <> ''),
    -- what the call was for: analysis, chunk, merge, repair, video, batch, ...
    purpose          text not null check (purpose <> ''),
    prompt_tokens    integer not null default 0 check (prompt_tokens >= 0),
    output_tokens    integer not null default 0 check (output_tokens >= 0),
    thinking_tokens  integer not null default 0 check (thinking_tokens >= 0),
    -- float8 round-trips the pipeline's float exactly; sums are rounded by the readers
    cost_usd         double precision not null default 0 check (cost_usd >= 0),
    outcome          text not null
        check (outcome in ('ok', 'invalid', 'truncated', 'refused', 'error')),
    -- when the call was made (from the payload, so a re-record changes nothing)
    at               timestamptz not null,
    recorded_at      timestamptz not null default now()
);

create index model_calls_at_idx on model_calls (at desc);
create index model_calls_video_idx on model_calls (video_id, analysis_version);

-- As every other table (003): service_role writes, analysts read, anon nothing.
alter table model_calls enable row level security;
revoke all on table model_calls from public, anon, authenticated, service_role;
grant select on table model_calls to authenticated;
grant select, insert, update, delete on table model_calls to service_role;
create policy model_calls_analysts_read on model_calls for select to authenticated
    using ((select tubeq_is_analyst()));
create policy model_calls_service_role_all on model_calls for all to service_role
    using (true) with check (true);

-- One billed call (shared.models.BilledCall as JSON). Recording a call_id again changes
-- nothing, so a redelivered record neither doubles the spend nor rewrites the row.
create or replace function tubeq_record_call(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_outcome text := tubeq__require(payload, '{outcome}', 'call outcome');
begin
    if v_outcome not in ('ok', 'invalid', 'truncated', 'refused', 'error') then
        raise exception 'tubeq_record_call: outcome % is not a call outcome', v_outcome
            using errcode = '22023', hint = 'use ok, invalid, truncated, refused or error';
    end if;
    insert into model_calls (call_id, video_id, analysis_version, model, purpose,
                             prompt_tokens, output_tokens, thinking_tokens, cost_usd,
                             outcome, at)
    values (
        tubeq__require(payload, '{call_id}', 'call id'),
        nullif(payload ->> 'video_id', ''),
        nullif(payload ->> 'analysis_version', ''),
        tubeq__require(payload, '{model}', 'call model'),
        coalesce(nullif(payload ->> 'purpose', ''), 'analysis'),
        coalesce((payload #>> '{usage,prompt_tokens}')::integer, 0),
        coalesce((payload #>> '{usage,output_tokens}')::integer, 0),
        coalesce((payload #>> '{usage,thinking_tokens}')::integer, 0),
        coalesce((payload #>> '{usage,cost_usd}')::double precision, 0),
        v_outcome,
        coalesce((payload ->> 'at')::timestamptz, now())
    )
    on conflict (call_id) do nothing;
end
$$;

-- Counts per state and the spend so far (shared.models.Progress), now from the ledger:
-- `usage` is every billed call, failed videos' calls included; `analysis_usage` what the
-- kept analyses cost. An analysis with no ledger row for its (video, version) (recorded
-- before this migration, or by an analyzer not wired to the ledger) still counts with
-- its own usage, so spend never drops below what the analyses say.
create or replace function tubeq_progress()
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    with ledger as (
        select count(*) as calls,
               coalesce(sum(prompt_tokens), 0) as prompt_tokens,
               coalesce(sum(output_tokens), 0) as output_tokens,
               coalesce(sum(thinking_tokens), 0) as thinking_tokens,
               coalesce(sum(cost_usd), 0) as cost_usd,
               min(at) as first_at
          from model_calls
    ),
    kept as (
        select count(*) as analyses,
               coalesce(sum(prompt_tokens), 0) as prompt_tokens,
               coalesce(sum(output_tokens), 0) as output_tokens,
               coalesce(sum(thinking_tokens), 0) as thinking_tokens,
               coalesce(sum(model_calls), 0) as model_calls,
               coalesce(sum(cost_usd), 0) as cost_usd,
               min(created_at) as first_at
          from analyses
    ),
    unledgered as (
        select coalesce(sum(a.prompt_tokens), 0) as prompt_tokens,
               coalesce(sum(a.output_tokens), 0) as output_tokens,
               coalesce(sum(a.thinking_tokens), 0) as thinking_tokens,
               coalesce(sum(a.model_calls), 0) as model_calls,
               coalesce(sum(a.cost_usd), 0) as cost_usd,
               min(a.created_at) as first_at
          from analyses a
         where not exists (select 1 from model_calls m
                            where m.video_id = a.video_id
                              and m.analysis_version = a.analysis_version)
    )
    select jsonb_build_object(
        'by_state', (select jsonb_object_agg(s.state, coalesce(n.count, 0))
                       from unnest(array['queued', 'processing', 'done', 'retrying',
                                         'failed', 'dead']) as s(state)
                       left join (select state, count(*) from videos group by state) n
                              on n.state = s.state),
        'total_videos', (select count(*) from videos),
        'analyses', kept.analyses,
        'usage', jsonb_build_object(
            'prompt_tokens', ledger.prompt_tokens + unledgered.prompt_tokens,
            'output_tokens', ledger.output_tokens + unledgered.output_tokens,
            'thinking_tokens', ledger.thinking_tokens + unledgered.thinking_tokens,
            'model_calls', ledger.calls + unledgered.model_calls,
            'cost_usd', round((ledger.cost_usd + unledgered.cost_usd)::numeric, 8)),
        'analysis_usage', jsonb_build_object(
            'prompt_tokens', kept.prompt_tokens,
            'output_tokens', kept.output_tokens,
            'thinking_tokens', kept.thinking_tokens,
            'model_calls', kept.model_calls,
            'cost_usd', round(kept.cost_usd::numeric, 8)),
        'calls_by_outcome', (select coalesce(jsonb_object_agg(m.outcome, m.n), '{}')
                               from (select outcome, count(*) as n from model_calls
                                     group by outcome) m),
        'first_day', (least(ledger.first_at, unledgered.first_at) at time zone 'UTC')::date)
    from ledger, kept, unledgered
$$;

-- For analysts: spend per day (UTC), channel and outcome, from the ledger. A call whose
-- video is unknown (or has no channel) shows with a null channel.
create view spend_by_day with (security_invoker = true) as
select
    (m.at at time zone 'UTC')::date                                   as day,
    v.channel_id,
    c.title                                                           as channel_title,
    m.outcome,
    count(*)                                                          as calls,
    count(distinct m.video_id)                                        as videos,
    sum(m.prompt_tokens)                                              as prompt_tokens,
    sum(m.output_tokens)                                              as output_tokens,
    sum(m.thinking_tokens)                                            as thinking_tokens,
    round(sum(m.cost_usd)::numeric, 6)                                as cost_usd
from model_calls m
left join videos v on v.video_id = m.video_id
left join channels c on c.channel_id = v.channel_id
group by 1, 2, 3, 4;

revoke all on table spend_by_day from public, anon, authenticated, service_role;
grant select on table spend_by_day to authenticated, service_role;

revoke all on function tubeq_record_call(jsonb) from public, anon, authenticated;
grant execute on function tubeq_record_call(jsonb) to service_role;
-- tubeq_progress keeps the grants of 005 (create or replace keeps them); said again here
-- so this file reads whole
revoke all on function tubeq_progress() from public, anon;
grant execute on function tubeq_progress() to authenticated, service_role;
