-- 004: views for analysts. security_invoker makes a view run with the querying role's
-- rights, so the tables' RLS policies apply through it (anon still sees nothing).

-- One row per channel: how far along it is, what it cost, what it is about.
create view channel_overview with (security_invoker = true) as
select
    c.channel_id,
    c.title,
    count(v.video_id)                                              as videos,
    count(v.video_id) filter (where v.state = 'done')              as analysed,
    count(v.video_id) filter (where v.state in ('failed', 'dead')) as failed,
    count(v.video_id) filter (
        where v.state in ('queued', 'processing', 'retrying'))     as pending,
    coalesce(round(sum(spend.cost_usd)::numeric, 6), 0)            as total_cost_usd,
    coalesce(sum(spend.tokens), 0)                                 as total_tokens,
    min(v.published_at)                                            as first_published,
    max(v.published_at)                                            as last_published,
    coalesce((
        select array_agg(t.topic order by t.n desc, t.topic)
        from (
            select topic, count(*) as n
            from videos v2
            join analyses a2 on a2.video_id = v2.video_id
                and a2.analysis_version = v2.analysis_version
            cross join lateral unnest(a2.topics) as topic
            where v2.channel_id = c.channel_id
            group by topic
            order by n desc, topic
            limit 10
        ) t
    ), '{}')                                                       as top_topics
from channels c
left join videos v on v.channel_id = c.channel_id
left join lateral (
    select sum(a.cost_usd) as cost_usd,
           sum(a.prompt_tokens + a.output_tokens + a.thinking_tokens) as tokens
    from analyses a
    where a.video_id = v.video_id
) spend on true
group by c.channel_id, c.title;

-- The latest analyses first, with what an analyst needs to read them.
create view recent_analyses with (security_invoker = true) as
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
    a.completed_at
from analyses a
join videos v on v.video_id = a.video_id
left join channels c on c.channel_id = v.channel_id
order by a.created_at desc;

-- Videos that will not finish on their own: failed permanently or dead-lettered, and
-- ones retried three times or more. Newest first, with how often they failed.
create view failures_needing_attention with (security_invoker = true) as
select
    v.video_id,
    v.title,
    v.channel_id,
    v.state,
    v.attempts,
    v.error_code,
    v.last_error,
    v.error_detail,
    v.updated_at,
    (select count(*) from failures f where f.video_id = v.video_id) as failure_count,
    (select min(f.at) from failures f where f.video_id = v.video_id) as first_failed_at
from videos v
where v.state in ('failed', 'dead')
   or (v.state = 'retrying' and v.attempts >= 3)
order by v.updated_at desc;

-- Topic counts per channel and month, for "topics over time" charts.
create view topics_by_month with (security_invoker = true) as
select
    v.channel_id,
    date_trunc('month', coalesce(v.published_at, a.created_at))::date as month,
    topic,
    count(*) as videos
from analyses a
join videos v on v.video_id = a.video_id and v.analysis_version = a.analysis_version
cross join lateral unnest(a.topics) as topic
group by v.channel_id, month, topic;

do $$
declare
    vw text;
begin
    foreach vw in array array['channel_overview', 'recent_analyses',
                              'failures_needing_attention', 'topics_by_month']
    loop
        execute format('revoke all on table %I from public, anon, authenticated, service_role',
                       vw);
        execute format('grant select on table %I to authenticated, service_role', vw);
    end loop;
end
$$;
