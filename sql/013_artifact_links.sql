-- 013: links an analyst can click in Supabase Studio. An artifact row holds only an object
-- key, and a presigned R2 link expires (7 days at most), so a view cannot hold one. It holds
-- a stable link to tubeq's API instead: /v1/videos/{id}/artifacts/{kind} checks the reader's
-- key (or dashboard login) and redirects to a fresh presigned link.
--
-- Where the API is reachable (the Worker's URL in production) is deployment configuration,
-- not schema: it lives in tubeq_config, written by `tubeq db migrate` from
-- TUBEQ_PUBLIC_URL (or by hand in Studio's SQL editor: see sql/README.md). Without it the
-- links are null, never wrong.

create table tubeq_config (
    key        text primary key,
    value      text not null,
    updated_at timestamptz not null default now()
);

alter table tubeq_config enable row level security;
revoke all on table tubeq_config from public, anon, authenticated, service_role;
grant select on table tubeq_config to authenticated;
grant select, insert, update, delete on table tubeq_config to service_role;
create policy tubeq_config_analysts_read on tubeq_config for select to authenticated
    using ((select tubeq_is_analyst()));
create policy tubeq_config_service_role_all on tubeq_config for all to service_role
    using (true) with check (true);

-- The API's base URL without a trailing slash, or null.
create or replace function tubeq_public_url()
returns text
language sql
stable
set search_path = public, pg_temp
as $$
    select rtrim(value, '/') from tubeq_config where key = 'public_url'
$$;

revoke all on function tubeq_public_url() from public, anon;
grant execute on function tubeq_public_url() to authenticated, service_role;

-- One row per artifact of every video, with the link to open it.
create view artifact_links with (security_invoker = true) as
select
    ar.video_id,
    v.title,
    v.channel_id,
    ar.kind,
    ar.content_type,
    ar.size,
    ar.key,
    tubeq_public_url() || '/v1/videos/' || ar.video_id || '/artifacts/' || ar.kind as url,
    ar.updated_at
from artifacts ar
join videos v on v.video_id = ar.video_id;

-- recent_analyses gains the report's link (a new last column: create or replace keeps the
-- view's grants and its other columns as they were).
create or replace view recent_analyses with (security_invoker = true) as
select
    a.created_at,
    a.video_id,
    v.title,
    v.channel_id,
    c.title as channel_title,
    v.published_at,
    a.language,
    a.summary,
    a.key_points,
    a.topics,
    a.analysis_version,
    a.analyzer,
    a.model,
    a.prompt_tokens + a.output_tokens + a.thinking_tokens as tokens,
    a.cost_usd,
    a.completed_at,
    (select tubeq_public_url() || '/v1/videos/' || a.video_id || '/artifacts/' || ar.kind
       from artifacts ar
      where ar.video_id = a.video_id and ar.kind = 'report_md') as report_url
from analyses a
join videos v on v.video_id = a.video_id
left join channels c on c.channel_id = v.channel_id
order by a.created_at desc;

revoke all on table artifact_links from public, anon, authenticated, service_role;
grant select on table artifact_links to authenticated, service_role;
