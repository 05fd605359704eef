-- 005: the functions the pipeline calls. Each writer is one call, so one round trip and
-- one transaction per video, through psycopg or PostgREST (supabase-py's .rpc()) alike.
-- Payloads are the pipeline's pydantic models as JSON (model_dump(mode="json")); readers
-- return JSON in the same shapes. All are SECURITY INVOKER: RLS and grants apply as to
-- any query of the caller. Writers are granted to service_role only.

-- ---- helpers ------------------------------------------------------------------------

-- Clear errors for bad payloads: SQLSTATE 22023 (invalid_parameter_value), which
-- PostgREST answers with HTTP 400 and psycopg raises as a DataError: permanent either way.
create or replace function tubeq__require(payload jsonb, path text[], what text)
returns text
language plpgsql
immutable
set search_path = pg_catalog
as $$
declare
    value text := payload #>> path;
begin
    if value is null or value = '' then
        raise exception 'tubeq: % is missing (payload field %)', what, array_to_string(path, '.')
            using errcode = '22023',
                  hint = 'send the pipeline model as JSON: model_dump(mode="json")';
    end if;
    return value;
end
$$;

-- Make sure the channel and the video exist and merge what is known about them. A new
-- video starts in p_state; an existing one keeps its state (each writer decides that).
-- Known metadata is never erased by a payload that lacks it. A row that already says all
-- the payload says is left alone: no new row version, and for the channel (shared by all
-- its videos, so every writer of the channel would queue on it) no row lock either.
create or replace function tubeq__merge_video(p_video_id text, meta jsonb, p_state text,
                                              p_at timestamptz)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    ch text := nullif(meta ->> 'channel_id', '');
begin
    -- a plain read takes no lock; ON CONFLICT DO UPDATE locks the row even when its WHERE
    -- is false, so only go there when there is something to add
    if ch is not null and not exists (
        select 1 from channels c
         where c.channel_id = ch
           and (meta ->> 'channel_title' is null or c.title = meta ->> 'channel_title')
    ) then
        insert into channels as c (channel_id, title)
        values (ch, meta ->> 'channel_title')
        on conflict (channel_id) do update
            set title = excluded.title,
                updated_at = now()
            where excluded.title is not null
              and excluded.title is distinct from c.title;
    end if;
    insert into videos as v (video_id, channel_id, title, published_at, duration_s, state,
                             created_at, updated_at)
    values (p_video_id, ch, meta ->> 'title', (meta ->> 'published_at')::timestamptz,
            (meta ->> 'duration_s')::integer, p_state, coalesce(p_at, now()),
            coalesce(p_at, now()))
    on conflict (video_id) do update
        set channel_id   = coalesce(excluded.channel_id, v.channel_id),
            title        = coalesce(excluded.title, v.title),
            published_at = coalesce(excluded.published_at, v.published_at),
            duration_s   = coalesce(excluded.duration_s, v.duration_s)
        where (excluded.channel_id is not null and excluded.channel_id is distinct from v.channel_id)
           or (excluded.title is not null and excluded.title is distinct from v.title)
           or (excluded.published_at is not null
               and excluded.published_at is distinct from v.published_at)
           or (excluded.duration_s is not null
               and excluded.duration_s is distinct from v.duration_s);
end
$$;

-- Upsert one analysis; completed_at is only ever set (by record_success), never cleared.
create or replace function tubeq__upsert_analysis(a jsonb, p_completed_at timestamptz)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
begin
    insert into analyses as x (video_id, analysis_version, analyzer, model, language, summary,
                               key_points, topics, quotes, prompt_tokens, output_tokens,
                               thinking_tokens, model_calls, cost_usd, created_at,
                               completed_at)
    values (
        tubeq__require(a, '{video_id}', 'analysis video id'),
        tubeq__require(a, '{analysis_version}', 'analysis version'),
        tubeq__require(a, '{analyzer}', 'analyzer'),
        a ->> 'model',
        coalesce(a ->> 'language', ''),
        tubeq__require(a, '{summary}', 'analysis summary'),
        coalesce((select array_agg(e order by i)
                  from jsonb_array_elements_text(coalesce(a -> 'key_points', '[]'))
                       with ordinality as k(e, i)), '{}'),
        coalesce((select array_agg(e order by i)
                  from jsonb_array_elements_text(coalesce(a -> 'topics', '[]'))
                       with ordinality as k(e, i)), '{}'),
        coalesce(a -> 'quotes', '[]'),
        coalesce((a #>> '{usage,prompt_tokens}')::integer, 0),
        coalesce((a #>> '{usage,output_tokens}')::integer, 0),
        coalesce((a #>> '{usage,thinking_tokens}')::integer, 0),
        coalesce((a #>> '{usage,model_calls}')::integer, 0),
        coalesce((a #>> '{usage,cost_usd}')::double precision, 0),
        coalesce((a ->> 'created_at')::timestamptz, now()),
        p_completed_at
    )
    on conflict (video_id, analysis_version) do update
        set analyzer        = excluded.analyzer,
            model           = excluded.model,
            language        = excluded.language,
            summary         = excluded.summary,
            key_points      = excluded.key_points,
            topics          = excluded.topics,
            quotes          = excluded.quotes,
            prompt_tokens   = excluded.prompt_tokens,
            output_tokens   = excluded.output_tokens,
            thinking_tokens = excluded.thinking_tokens,
            model_calls     = excluded.model_calls,
            cost_usd        = excluded.cost_usd,
            created_at      = excluded.created_at,
            completed_at    = coalesce(excluded.completed_at, x.completed_at);
end
$$;

create or replace function tubeq__analysis_json(a analyses)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'video_id', a.video_id,
        'analysis_version', a.analysis_version,
        'analyzer', a.analyzer,
        'model', a.model,
        'summary', a.summary,
        'key_points', to_jsonb(a.key_points),
        'topics', to_jsonb(a.topics),
        'quotes', a.quotes,
        'language', a.language,
        'usage', jsonb_build_object(
            'prompt_tokens', a.prompt_tokens,
            'output_tokens', a.output_tokens,
            'thinking_tokens', a.thinking_tokens,
            'model_calls', a.model_calls,
            'cost_usd', a.cost_usd),
        'created_at', a.created_at)
$$;

-- A video as the readers see it (shared.models.VideoStatus): the analysis shown is the
-- latest one a finished run recorded.
create or replace function tubeq__status_json(v videos)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'video_id', v.video_id,
        'state', v.state,
        'meta', case when v.title is not null or v.channel_id is not null
                       or v.published_at is not null or v.duration_s is not null
                 then jsonb_build_object(
                     'video_id', v.video_id,
                     'title', v.title,
                     'channel_id', v.channel_id,
                     'channel_title', (select c.title from channels c
                                       where c.channel_id = v.channel_id),
                     'published_at', v.published_at,
                     'duration_s', v.duration_s)
                 end,
        'analysis', (select tubeq__analysis_json(a) from analyses a
                     where a.video_id = v.video_id and a.completed_at is not null
                     order by a.completed_at desc, a.created_at desc
                     limit 1),
        'transcript_language', (select t.language from transcripts t
                                where t.video_id = v.video_id),
        'artifacts', coalesce((select jsonb_agg(jsonb_build_object(
                                          'kind', r.kind, 'key', r.key,
                                          'content_type', r.content_type, 'size', r.size)
                                      order by r.position, r.kind)
                               from artifacts r where r.video_id = v.video_id), '[]'),
        'attempts', v.attempts,
        'error_code', v.error_code,
        'error', v.last_error,
        'updated_at', v.updated_at)
$$;

-- (Re)build a transcript's search chunks (see transcript_chunks in 002): its words in
-- order, 1,000 per chunk, each chunk with the start time of its first segment and the
-- next chunk's first 32 words as overlap. Split by words, not segments, so one huge
-- segment cannot make an oversized chunk.
create or replace function tubeq__index_transcript(p_video_id text, p_language text,
                                                   p_segments jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    per_chunk constant integer := 1000;
    overlap   constant integer := 32;
begin
    delete from transcript_chunks where video_id = p_video_id;
    with words as (
        select row_number() over (order by s.i, w.j) as n, w.word, s.start_s
          from jsonb_array_elements(coalesce(p_segments, '[]')) with ordinality as s0(seg, i)
         cross join lateral (select s0.i, coalesce((s0.seg ->> 'start')::double precision, 0)
                                    as start_s,
                                    btrim(s0.seg ->> 'text', E' \t\n\r\f\v') as body) s
         cross join lateral regexp_split_to_table(s.body, '\s+') with ordinality as w(word, j)
         where w.word <> ''
    ),
    placed as (
        select (n - 1) / per_chunk as chunk, true as own, n, word, start_s from words
        union all
        select (n - 1) / per_chunk - 1, false, n, word, start_s from words
         where n > per_chunk and (n - 1) % per_chunk < overlap
    )
    insert into transcript_chunks (video_id, chunk, language, start_s, text, overlap)
    select p_video_id, chunk::integer, p_language,
           min(start_s) filter (where own),
           string_agg(word, ' ' order by n) filter (where own),
           coalesce(string_agg(word, ' ' order by n) filter (where not own), '')
      from placed
     group by chunk;
end
$$;

-- ---- writers ------------------------------------------------------------------------

-- A finished video (shared.models.VideoResult): channel, video, transcript, analysis,
-- artifacts and state in one transaction. Idempotent: the same payload twice leaves the
-- same rows (event times come from the payload, not from now()).
create or replace function tubeq_record_success(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    vid      text := tubeq__require(payload, '{video,video_id}', 'video id');
    t        jsonb := payload -> 'transcript';
    a        jsonb := payload -> 'analysis';
    finished timestamptz := coalesce((payload ->> 'finished_at')::timestamptz, now());
    body     text;
    changed  integer;
begin
    if tubeq__require(payload, '{transcript,video_id}', 'transcript video id') <> vid
       or tubeq__require(payload, '{analysis,video_id}', 'analysis video id') <> vid then
        raise exception 'tubeq_record_success: the payload mixes videos (video %, transcript %, analysis %)',
            vid, t ->> 'video_id', a ->> 'video_id'
            using errcode = '22023';
    end if;

    perform tubeq__merge_video(vid, payload -> 'video', 'done', finished);
    update videos
       set state = 'done',
           attempts = coalesce((payload ->> 'attempts')::integer, 1),
           analysis_version = a ->> 'analysis_version',
           error_code = null,
           last_error = null,
           error_detail = null,
           finished_at = finished,
           updated_at = finished
     where video_id = vid;

    select coalesce(string_agg(btrim(s ->> 'text', E' \t\n\r\f\v'), ' ' order by i), '')
      into body
      from jsonb_array_elements(coalesce(t -> 'segments', '[]')) with ordinality as x(s, i)
     where btrim(s ->> 'text', E' \t\n\r\f\v') <> '';

    insert into transcripts as tr (video_id, language, language_name, is_generated,
                                   translated_from, source, text, segments, word_count,
                                   duration_s, created_at, updated_at)
    values (
        vid,
        tubeq__require(t, '{language}', 'transcript language'),
        t ->> 'language_name',
        coalesce((t ->> 'is_generated')::boolean, false),
        t ->> 'translated_from',
        coalesce(t ->> 'source', 'unknown'),
        body,
        coalesce(t -> 'segments', '[]'),
        case when body = '' then 0
             else array_length(regexp_split_to_array(body, '\s+'), 1) end,
        coalesce((select max((s ->> 'start')::double precision
                             + (s ->> 'duration')::double precision)
                  from jsonb_array_elements(coalesce(t -> 'segments', '[]')) as s), 0),
        finished,
        finished
    )
    on conflict (video_id) do update
        set language        = excluded.language,
            language_name   = excluded.language_name,
            is_generated    = excluded.is_generated,
            translated_from = excluded.translated_from,
            source          = excluded.source,
            text            = excluded.text,
            segments        = excluded.segments,
            word_count      = excluded.word_count,
            duration_s      = excluded.duration_s,
            updated_at      = excluded.updated_at
        -- a redelivery of the same transcript rewrites nothing and re-indexes nothing
        where (tr.language, tr.language_name, tr.is_generated, tr.translated_from, tr.source,
               tr.text, tr.segments)
              is distinct from
              (excluded.language, excluded.language_name, excluded.is_generated,
               excluded.translated_from, excluded.source, excluded.text, excluded.segments);
    get diagnostics changed = row_count;
    if changed > 0 then
        perform tubeq__index_transcript(vid, t ->> 'language', t -> 'segments');
    end if;

    perform tubeq__upsert_analysis(a, finished);

    -- the artifact set of the latest run is the truth: drop kinds it no longer has
    delete from artifacts r
     where r.video_id = vid
       and r.kind not in (select x ->> 'kind'
                          from jsonb_array_elements(coalesce(payload -> 'artifacts', '[]')) x);
    insert into artifacts as r (video_id, kind, key, content_type, size, position,
                                created_at, updated_at)
    select vid, x ->> 'kind', x ->> 'key', x ->> 'content_type', (x ->> 'size')::bigint,
           i::integer, finished, finished
      from jsonb_array_elements(coalesce(payload -> 'artifacts', '[]')) with ordinality
           as e(x, i)
    on conflict (video_id, kind) do update
        set key          = excluded.key,
            content_type = excluded.content_type,
            size         = excluded.size,
            position     = excluded.position,
            updated_at   = excluded.updated_at
        where (r.key, r.content_type, r.size, r.position)
              is distinct from
              (excluded.key, excluded.content_type, excluded.size, excluded.position);
end
$$;

-- A failure (shared.models.FailureRecord): kept in the history, and shown on the video
-- unless that video is already done (a late failure must not undo a finished result).
create or replace function tubeq_record_failure(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    vid   text := tubeq__require(payload, '{video_id}', 'video id');
    st    text := tubeq__require(payload, '{state}', 'failure state');
    at_ts timestamptz := coalesce((payload ->> 'at')::timestamptz, now());
    tries integer := coalesce((payload ->> 'attempts')::integer, 1);
begin
    if st not in ('retrying', 'failed', 'dead') then
        raise exception 'tubeq_record_failure: state % is not a failure state', st
            using errcode = '22023', hint = 'use retrying, failed or dead';
    end if;
    perform tubeq__merge_video(vid, payload -> 'meta', st, at_ts);
    update videos
       set state = st,
           attempts = tries,
           error_code = payload ->> 'error_code',
           last_error = payload ->> 'error',
           error_detail = payload ->> 'detail',
           updated_at = at_ts
     where video_id = vid
       and state <> 'done';
    insert into failures as f (video_id, state, error_code, error, detail, attempts, at)
    values (vid, st, tubeq__require(payload, '{error_code}', 'error code'),
            coalesce(payload ->> 'error', ''), payload ->> 'detail', tries, at_ts)
    on conflict (video_id, attempts, error_code) do update
        set state = excluded.state,
            error = excluded.error,
            detail = excluded.detail,
            at = excluded.at;
end
$$;

-- A paid model reply (shared.models.Analysis), kept the moment it arrives so a crash
-- later in the pipeline never buys it twice. Does not mark the video done.
create or replace function tubeq_save_analysis(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
begin
    perform tubeq__merge_video(tubeq__require(payload, '{video_id}', 'video id'), null,
                               'processing', now());
    perform tubeq__upsert_analysis(payload, null);
end
$$;

-- Enqueued videos ({"jobs": [VideoJob, ...]}): new ones appear as 'queued'; known ones
-- keep their state (a queued job never undoes progress). Returns how many were new.
create or replace function tubeq_mark_queued(payload jsonb)
returns integer
language plpgsql
set search_path = public, pg_temp
as $$
declare
    job   jsonb;
    vid   text;
    added integer := 0;
begin
    if jsonb_typeof(payload -> 'jobs') is distinct from 'array' then
        raise exception 'tubeq_mark_queued: payload.jobs must be an array of jobs'
            using errcode = '22023';
    end if;
    for job in select j from jsonb_array_elements(payload -> 'jobs') as j loop
        vid := tubeq__require(job, '{video_id}', 'job video id');
        if not exists (select 1 from videos where video_id = vid) then
            added := added + 1;
        end if;
        perform tubeq__merge_video(vid, job -> 'meta', 'queued', now());
        -- enqueued again: a failed video will be tried again; a done one only if forced
        update videos
           set state = 'queued', updated_at = now()
         where video_id = vid
           and (state in ('failed', 'dead', 'retrying')
                or (state = 'done' and coalesce((job ->> 'force')::boolean, false)));
        update videos
           set queued_at = coalesce((job ->> 'requested_at')::timestamptz, now()),
               source = coalesce(job ->> 'source', source)
         where video_id = vid and state = 'queued';
    end loop;
    return added;
end
$$;

-- ---- readers ------------------------------------------------------------------------

create or replace function tubeq_find_analysis(p_video_id text, p_analysis_version text)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select tubeq__analysis_json(a) from analyses a
     where a.video_id = p_video_id and a.analysis_version = p_analysis_version
$$;

-- Which of these videos a finished run recorded with this analysis version.
create or replace function tubeq_done_ids(p_video_ids text[], p_analysis_version text)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(distinct a.video_id), '[]')
      from analyses a
     where a.video_id = any (p_video_ids)
       and a.analysis_version = p_analysis_version
       and a.completed_at is not null
$$;

create or replace function tubeq_get_video(p_video_id text)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select tubeq__status_json(v) from videos v where v.video_id = p_video_id
$$;

create or replace function tubeq_failures(p_limit integer default 50)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(x.status order by x.updated_at desc, x.video_id desc), '[]')
      from (select tubeq__status_json(v) as status, v.updated_at, v.video_id
              from videos v
             where v.state in ('failed', 'dead', 'retrying')
             order by v.updated_at desc, v.video_id desc
             limit greatest(p_limit, 0)) x
$$;

-- A channel's videos ordered by publish date (unknown dates first), one page at a time:
-- pass the last row's (published_at, video_id) as the cursor for the next page.
create or replace function tubeq_channel_results(
    p_channel_id text,
    p_after_published timestamptz default null,
    p_after_video_id text default null,
    p_limit integer default 200
)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(x.status order by x.published, x.video_id), '[]')
      from (select tubeq__status_json(v) as status,
                   coalesce(v.published_at, '-infinity') as published, v.video_id
              from videos v
             where v.channel_id = p_channel_id
               and (p_after_video_id is null
                    or (coalesce(v.published_at, '-infinity'), v.video_id)
                       > (coalesce(p_after_published, '-infinity'), p_after_video_id))
             order by coalesce(v.published_at, '-infinity'), v.video_id
             limit greatest(p_limit, 1)) x
$$;

-- Counts per state and the spend so far (shared.models.Progress).
create or replace function tubeq_progress()
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'by_state', (select jsonb_object_agg(s.state, coalesce(n.count, 0))
                       from unnest(array['queued', 'processing', 'done', 'retrying',
                                         'failed', 'dead']) as s(state)
                       left join (select state, count(*) from videos group by state) n
                              on n.state = s.state),
        'total_videos', (select count(*) from videos),
        'analyses', count(a.*),
        'usage', jsonb_build_object(
            'prompt_tokens', coalesce(sum(a.prompt_tokens), 0),
            'output_tokens', coalesce(sum(a.output_tokens), 0),
            'thinking_tokens', coalesce(sum(a.thinking_tokens), 0),
            'model_calls', coalesce(sum(a.model_calls), 0),
            'cost_usd', round(coalesce(sum(a.cost_usd), 0)::numeric, 8)),
        'first_day', (min(a.created_at) at time zone 'UTC')::date)
    from analyses a
$$;

-- Full-text search over transcripts for analysts: websearch syntax ("exact phrase",
-- or, -not). 'simple' (the default) matches exact words in transcripts of any language
-- whose words are separated by spaces; a language config ('german', 'english') matches
-- inflected forms too, in transcripts of that language. One row per video: its best
-- matching chunk, with where in the video that chunk starts (at_s) and a snippet.
create or replace function tubeq_search(
    p_query text,
    p_channel_id text default null,
    p_config regconfig default 'simple',
    p_limit integer default 50
)
returns table (video_id text, title text, channel_id text, published_at timestamptz,
               language text, rank real, at_s double precision, snippet text)
language plpgsql
stable
set search_path = public, pg_temp
as $$
begin
    -- each vector has its own GIN index; naming the column in the query text (rather than
    -- a CASE over both) lets the planner use it
    return query execute format($q$
        with hits as (
            select distinct on (c.video_id)
                   c.video_id, c.language, c.start_s, c.text || ' ' || c.overlap as body,
                   ts_rank(c.%1$I, q) as rank, q
              from transcript_chunks c
             cross join websearch_to_tsquery($1, $2) q
             where c.%1$I @@ q
               and ($1 = 'simple'::regconfig or tubeq_ts_config(c.language) = $1)
             order by c.video_id, ts_rank(c.%1$I, q) desc, c.chunk
        )
        select v.video_id, v.title, v.channel_id, v.published_at, h.language, h.rank,
               h.start_s,
               ts_headline($1, h.body, h.q, 'MaxFragments=2, MinWords=5, MaxWords=20')
          from hits h
          join videos v on v.video_id = h.video_id
         where $3::text is null or v.channel_id = $3
         order by h.rank desc, v.published_at desc nulls last, v.video_id
         limit greatest($4, 1)
        $q$,
        case when p_config = 'simple'::regconfig then 'search_exact' else 'search_stem' end)
    using p_config, p_query, p_channel_id, p_limit;
end
$$;

-- ---- who may call what --------------------------------------------------------------

revoke all on function tubeq__require(jsonb, text[], text) from public, anon;
revoke all on function tubeq__merge_video(text, jsonb, text, timestamptz) from public, anon,
    authenticated;
revoke all on function tubeq__upsert_analysis(jsonb, timestamptz) from public, anon,
    authenticated;
revoke all on function tubeq__analysis_json(analyses) from public, anon;
revoke all on function tubeq__status_json(videos) from public, anon;
revoke all on function tubeq_record_success(jsonb) from public, anon, authenticated;
revoke all on function tubeq_record_failure(jsonb) from public, anon, authenticated;
revoke all on function tubeq_save_analysis(jsonb) from public, anon, authenticated;
revoke all on function tubeq_mark_queued(jsonb) from public, anon, authenticated;
revoke all on function tubeq__index_transcript(text, text, jsonb) from public, anon,
    authenticated;
revoke all on function tubeq_find_analysis(text, text) from public, anon;
revoke all on function tubeq_done_ids(text[], text) from public, anon;
revoke all on function tubeq_get_video(text) from public, anon;
revoke all on function tubeq_failures(integer) from public, anon;
revoke all on function tubeq_channel_results(text, timestamptz, text, integer) from public,
    anon;
revoke all on function tubeq_progress() from public, anon;
revoke all on function tubeq_search(text, text, regconfig, integer) from public, anon;

grant execute on function tubeq__require(jsonb, text[], text) to service_role;
grant execute on function tubeq__merge_video(text, jsonb, text, timestamptz) to service_role;
grant execute on function tubeq__upsert_analysis(jsonb, timestamptz) to service_role;
grant execute on function tubeq_record_success(jsonb) to service_role;
grant execute on function tubeq_record_failure(jsonb) to service_role;
grant execute on function tubeq_save_analysis(jsonb) to service_role;
grant execute on function tubeq_mark_queued(jsonb) to service_role;
grant execute on function tubeq__index_transcript(text, text, jsonb) to service_role;

grant execute on function tubeq__analysis_json(analyses) to authenticated, service_role;
grant execute on function tubeq__status_json(videos) to authenticated, service_role;
grant execute on function tubeq_find_analysis(text, text) to authenticated, service_role;
grant execute on function tubeq_done_ids(text[], text) to authenticated, service_role;
grant execute on function tubeq_get_video(text) to authenticated, service_role;
grant execute on function tubeq_failures(integer) to authenticated, service_role;
grant execute on function tubeq_channel_results(text, timestamptz, text, integer)
    to authenticated, service_role;
grant execute on function tubeq_progress() to authenticated, service_role;
grant execute on function tubeq_search(text, text, regconfig, integer)
    to authenticated, service_role;
