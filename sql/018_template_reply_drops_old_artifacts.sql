-- 018: a newer reply of a template version carries none of the replaced reply's artifacts.
-- 014's tubeq_template_result_save reset completed_at when a newer reply (a forced job's own
-- paid reply) replaced the older one, but kept the older reply's artifacts list: until the
-- newer reply was completed, find_template_result returned its result with the artifacts
-- rendered from the reply it replaced. The newer reply now starts with an empty list, as a
-- first reply does; tubeq_template_result_complete writes its own.
-- Only the function changes (014 is applied and never edited): CREATE OR REPLACE keeps its
-- owner and grants (service_role only, as 014 set them). A redelivered save of the same
-- reply (same created_at) still changes nothing, completed or not.

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
           completed_at = null, artifacts = '[]'::jsonb
     where t.created_at is distinct from excluded.created_at;
end
$$;

-- Restated, not changed: who may call it (a replaced function keeps these anyway).
revoke all on function tubeq_template_result_save(jsonb) from public, anon, authenticated;
grant execute on function tubeq_template_result_save(jsonb) to service_role;
