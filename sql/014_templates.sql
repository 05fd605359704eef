-- 014: analyses the user defines (issue 13). A template is a prompt plus an output JSON
-- Schema (shared/templates); each result is stored generically: the reply as JSON with the
-- schema it was checked against beside it, one row per (video, analysis version). The
-- version key holds the template's name and a hash of its content, so two templates on one
-- video are two rows and an edited template is a new row, never an overwrite.
--
-- A row is written the moment the paid reply arrives (completed_at null: a paid result kept
-- for reuse after a crash) and completed once its artifacts are written. Claims and the
-- spend ledger are the summary's own tables (006, 008), keyed by the same version key.
-- No foreign key to videos: a template may run on a video the store has not seen yet.
--
-- Numbered 014, not 012, so it sorts after the migrations a deployed database may already
-- have (013): `supabase db push` refuses a local migration older than the remote's last.

create table template_results (
    video_id         text not null,
    analysis_version text not null,
    template         text not null,
    analyzer         text not null,
    model            text,
    result           jsonb not null check (jsonb_typeof(result) = 'object'),
    output_schema    jsonb not null,
    artifacts        jsonb not null default '[]'::jsonb,
    prompt_tokens    integer not null default 0 check (prompt_tokens >= 0),
    output_tokens    integer not null default 0 check (output_tokens >= 0),
    thinking_tokens  integer not null default 0 check (thinking_tokens >= 0),
    model_calls      integer not null default 0 check (model_calls >= 0),
    cost_usd         double precision not null default 0 check (cost_usd >= 0),
    created_at       timestamptz not null,
    saved_at         timestamptz not null default now(),
    completed_at     timestamptz,
    primary key (video_id, analysis_version)
);

create index template_results_by_template on template_results (template, completed_at);

alter table template_results enable row level security;
revoke all on table template_results from public, anon, authenticated, service_role;
grant select on table template_results to authenticated;
grant select, insert, update, delete on table template_results to service_role;
create policy template_results_analysts_read on template_results for select to authenticated
    using ((select tubeq_is_analyst()));
create policy template_results_service_role_all on template_results for all to service_role
    using (true) with check (true);

-- The JSON shape the adapters read (shared/templates/results.py, TemplateResult).
create or replace function tubeq__template_result_json(r template_results)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'video_id', r.video_id, 'analysis_version', r.analysis_version,
        'template', r.template, 'analyzer', r.analyzer, 'model', r.model,
        'result', r.result, 'output_schema', r.output_schema, 'artifacts', r.artifacts,
        'usage', jsonb_build_object(
            'prompt_tokens', r.prompt_tokens, 'output_tokens', r.output_tokens,
            'thinking_tokens', r.thinking_tokens, 'model_calls', r.model_calls,
            'cost_usd', r.cost_usd),
        'created_at', r.created_at, 'completed_at', r.completed_at)
$$;

-- Keep a paid reply at once. A newer reply of the same version (a forced job) replaces the
-- older one and is not complete until its own artifacts are written.
create or replace function tubeq_template_result_save(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
begin
    insert into template_results as t (
        video_id, analysis_version, template, analyzer, model, result, output_schema,
        prompt_tokens, output_tokens, thinking_tokens, model_calls, cost_usd, created_at)
    values (
        tubeq__require(payload, '{video_id}', 'video id'),
        tubeq__require(payload, '{analysis_version}', 'analysis version'),
        tubeq__require(payload, '{template}', 'template'),
        tubeq__require(payload, '{analyzer}', 'analyzer'),
        payload ->> 'model',
        payload -> 'result',
        payload -> 'output_schema',
        coalesce((payload #>> '{usage,prompt_tokens}')::integer, 0),
        coalesce((payload #>> '{usage,output_tokens}')::integer, 0),
        coalesce((payload #>> '{usage,thinking_tokens}')::integer, 0),
        coalesce((payload #>> '{usage,model_calls}')::integer, 0),
        coalesce((payload #>> '{usage,cost_usd}')::double precision, 0),
        coalesce((payload ->> 'created_at')::timestamptz, now()))
    on conflict (video_id, analysis_version) do update
       set template = excluded.template, analyzer = excluded.analyzer, model = excluded.model,
           result = excluded.result, output_schema = excluded.output_schema,
           prompt_tokens = excluded.prompt_tokens, output_tokens = excluded.output_tokens,
           thinking_tokens = excluded.thinking_tokens, model_calls = excluded.model_calls,
           cost_usd = excluded.cost_usd, created_at = excluded.created_at, saved_at = now(),
           completed_at = null
     where t.created_at is distinct from excluded.created_at;
end
$$;

-- Done: the artifacts are written. They are also listed with the video's other artifacts
-- (the API's /v1/videos/{id}/artifacts/{kind}) when the video is known here.
create or replace function tubeq_template_result_complete(
    p_video_id text, p_analysis_version text, p_artifacts jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
begin
    update template_results
       set completed_at = now(), artifacts = coalesce(p_artifacts, '[]'::jsonb)
     where video_id = p_video_id and analysis_version = p_analysis_version;
    insert into artifacts (video_id, kind, key, content_type, size, position)
    select p_video_id, a ->> 'kind', a ->> 'key', a ->> 'content_type', (a ->> 'size')::bigint,
           100 + (n)::integer
      from jsonb_array_elements(coalesce(p_artifacts, '[]'::jsonb)) with ordinality as x(a, n)
     where exists (select 1 from videos where video_id = p_video_id)
    on conflict (video_id, kind) do update
       set key = excluded.key, content_type = excluded.content_type, size = excluded.size,
           updated_at = now();
end
$$;

create or replace function tubeq_template_result_find(p_video_id text, p_analysis_version text)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select tubeq__template_result_json(t) from template_results t
     where t.video_id = p_video_id and t.analysis_version = p_analysis_version
$$;

create or replace function tubeq_template_results_of(p_video_id text)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(tubeq__template_result_json(t)
                              order by t.completed_at desc, t.template), '[]'::jsonb)
      from template_results t
     where t.video_id = p_video_id and t.completed_at is not null
$$;

revoke all on function tubeq__template_result_json(template_results) from public, anon;
revoke all on function tubeq_template_result_save(jsonb) from public, anon, authenticated;
revoke all on function tubeq_template_result_complete(text, text, jsonb) from public, anon,
    authenticated;
revoke all on function tubeq_template_result_find(text, text) from public, anon;
revoke all on function tubeq_template_results_of(text) from public, anon;
grant execute on function tubeq__template_result_json(template_results)
    to authenticated, service_role;
grant execute on function tubeq_template_result_save(jsonb) to service_role;
grant execute on function tubeq_template_result_complete(text, text, jsonb) to service_role;
grant execute on function tubeq_template_result_find(text, text) to authenticated, service_role;
grant execute on function tubeq_template_results_of(text) to authenticated, service_role;

-- Typed views of the built-ins: one row per chapter, one row per mention.
create view video_chapters with (security_invoker = true) as
select
    t.video_id,
    v.title as video_title,
    v.channel_id,
    ch.n::integer as chapter,
    ch.c ->> 'title' as title,
    (ch.c ->> 'start_s')::double precision as start_s,
    ch.c ->> 'gist' as gist,
    'https://www.youtube.com/watch?v=' || t.video_id || '&t='
        || floor((ch.c ->> 'start_s')::double precision)::bigint || 's' as url,
    t.analysis_version,
    t.analyzer,
    t.completed_at
from template_results t
left join videos v on v.video_id = t.video_id
cross join lateral jsonb_array_elements(t.result -> 'chapters') with ordinality as ch(c, n)
where t.template = 'chapters' and t.completed_at is not null;

create view video_mentions with (security_invoker = true) as
select
    t.video_id,
    v.title as video_title,
    v.channel_id,
    m.m ->> 'name' as name,
    m.m ->> 'kind' as kind,
    array(select jsonb_array_elements_text(m.m -> 'at_s')::double precision) as at_s,
    t.analysis_version,
    t.analyzer,
    t.completed_at
from template_results t
left join videos v on v.video_id = t.video_id
cross join lateral jsonb_array_elements(t.result -> 'mentions') as m(m)
where t.template = 'mentions' and t.completed_at is not null;

revoke all on table video_chapters, video_mentions from public, anon, authenticated, service_role;
grant select on table video_chapters, video_mentions to authenticated, service_role;
