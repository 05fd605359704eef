-- 011: full-text search that links to the second the words are spoken (issue 13).
--
-- transcript_chunks (002) index ~1,000 words per row: a hit there can only say where its
-- chunk starts, minutes away from the words. So search gets its own table with one row per
-- transcript SEGMENT (a caption line, 2-6 s), which keeps the segment's start second.
-- Each row also indexes the next segment's words (next_text), so a phrase said across two
-- caption lines is still found; tubeq_search_segments then places a hit at next_start_s
-- when the match is in those next words alone, and keeps one hit per (video, second).
-- Segments are short, so a vector is far from tsvector's 16383-position cap.
--
-- Stemming per language: each row's vector uses its transcript's text-search config
-- (tubeq_ts_config: english, german, spanish, french, ... else simple), and the query is
-- parsed with that same config for each config present, so "endgames" finds "endgame" in
-- English and "Kaufleuten" finds "Kaufleute" in German.
--
-- Rows are written by a trigger on transcripts, so every writer (tubeq_record_success,
-- a hand-written insert) keeps them in step; the transcripts already saved are indexed
-- at the end of this migration. The SQLite store has the same design in
-- sql/queries/sqlite_search_schema.sql.

create table transcript_segments (
    video_id     text not null references transcripts (video_id) on delete cascade,
    seg          integer not null check (seg >= 0),
    language     text not null,
    start_s      double precision not null,
    next_start_s double precision,
    text         text not null,
    next_text    text not null default '',
    search_stem  tsvector generated always as (
        to_tsvector(tubeq_ts_config(language), text || ' ' || next_text)
    ) stored,
    primary key (video_id, seg)
);

create index transcript_segments_stem_idx on transcript_segments using gin (search_stem);

alter table transcript_segments enable row level security;
revoke all on table transcript_segments from public, anon, authenticated, service_role;
grant select on table transcript_segments to authenticated;
grant select, insert, update, delete on table transcript_segments to service_role;
create policy transcript_segments_analysts_read on transcript_segments
    for select to authenticated using ((select tubeq_is_analyst()));
create policy transcript_segments_service_role_all on transcript_segments
    for all to service_role using (true) with check (true);

-- (Re)build a transcript's segment rows: empty segments skipped, each row with the next
-- non-empty segment's words and start.
create or replace function tubeq__index_segments(p_video_id text, p_language text,
                                                 p_segments jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
begin
    delete from transcript_segments where video_id = p_video_id;
    insert into transcript_segments (video_id, seg, language, start_s, next_start_s, text,
                                     next_text)
    select p_video_id, seg, p_language, start_s,
           lead(start_s) over (order by seg),
           body,
           coalesce(lead(body) over (order by seg), '')
      from (select (s.i - 1)::integer as seg,
                   coalesce((s.x ->> 'start')::double precision, 0) as start_s,
                   btrim(coalesce(s.x ->> 'text', ''), E' \t\n\r\f\v') as body
              from jsonb_array_elements(coalesce(p_segments, '[]')) with ordinality as s(x, i)
           ) rows
     where body <> '';
end
$$;

create or replace function tubeq__transcript_segments_trigger()
returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
    perform tubeq__index_segments(new.video_id, new.language, new.segments);
    return null;
end
$$;

create trigger transcripts_index_segments_insert
    after insert on transcripts
    for each row execute function tubeq__transcript_segments_trigger();

create trigger transcripts_index_segments_update
    after update of segments, language on transcripts
    for each row
    when (old.segments is distinct from new.segments or old.language is distinct from new.language)
    execute function tubeq__transcript_segments_trigger();

-- the transcripts saved before this migration
select tubeq__index_segments(video_id, language, segments) from transcripts;

-- The search (shared/adapters/postgres_search.py and supabase_search.py call it, one round
-- trip). p_query is tsquery text built by shared.search.tsquery_text (quoted lexemes, <->,
-- :*, & or |), never user text as is. Filters: channel, published on or after p_since, and
-- transcript language ('en' also matches 'en-GB'). Returns a JSON array of hits, best
-- first: the ts_rank of each segment, one hit per (video, second), a snippet with the
-- match between chr(2) and chr(3) (the caller escapes the text and makes those <mark>).
create or replace function tubeq_search_segments(
    p_query text,
    p_channel_id text default null,
    p_since timestamptz default null,
    p_language text default null,
    p_limit integer default 20
)
returns jsonb
language plpgsql
stable
set search_path = public, pg_temp
as $$
declare
    result jsonb;
begin
    if p_query is null or btrim(p_query) = '' then
        raise exception 'tubeq: the search query is empty'
            using errcode = '22023', hint = 'give a word or a phrase to search for';
    end if;
    with configs as (
        -- one parse of the query per stemmer in use: the rows of each are matched with it
        select distinct tubeq_ts_config(t.language) as config
          from transcripts t
         where p_language is null or lower(t.language) = lower(p_language)
            or lower(t.language) like lower(p_language) || '-%'
    ),
    queries as (
        select c.config, to_tsquery(c.config, p_query) as q from configs c
    ),
    matches as (
        select s.video_id, s.start_s, s.next_start_s, s.text, s.next_text, q.config, q.q,
               ts_rank(s.search_stem, q.q) as rank
          from queries q
          join transcript_segments s
            on s.search_stem @@ q.q and tubeq_ts_config(s.language) = q.config
          join videos v on v.video_id = s.video_id
         where (p_channel_id is null or v.channel_id = p_channel_id)
           and (p_since is null or v.published_at >= p_since)
           and (p_language is null or lower(s.language) = lower(p_language)
                or lower(s.language) like lower(p_language) || '-%')
    ),
    placed as (
        select m.*,
               case when to_tsvector(m.config, m.text) @@ m.q then m.start_s
                    when m.next_start_s is not null
                         and to_tsvector(m.config, m.next_text) @@ m.q then m.next_start_s
                    else m.start_s end as at_s
          from matches m
    ),
    one_per_second as (
        select distinct on (p.video_id, floor(p.at_s)) p.*
          from placed p
         order by p.video_id, floor(p.at_s), p.rank desc
    ),
    best as (
        select o.*, v.title, v.channel_id, v.published_at, c.title as channel_title,
               t.language
          from one_per_second o
          join videos v on v.video_id = o.video_id
          join transcripts t on t.video_id = o.video_id
          left join channels c on c.channel_id = v.channel_id
         order by o.rank desc, v.published_at desc nulls last, o.video_id, o.at_s
         limit greatest(least(p_limit, 200), 1)
    )
    select coalesce(jsonb_agg(jsonb_build_object(
               'video_id', b.video_id,
               'title', b.title,
               'channel_id', b.channel_id,
               'channel_title', b.channel_title,
               'published_at', b.published_at,
               'language', b.language,
               'at_s', floor(b.at_s)::integer,
               'snippet', ts_headline(b.config, b.text || ' ' || b.next_text, b.q,
                                      'StartSel=' || chr(2) || ', StopSel=' || chr(3)
                                      || ', MinWords=8, MaxWords=24, ShortWord=2'),
               'text', btrim(b.text || ' ' || b.next_text),
               'score', b.rank)
               order by b.rank desc, b.published_at desc nulls last, b.video_id, b.at_s),
           '[]'::jsonb)
      into result
      from best b;
    return result;
end
$$;

revoke all on function tubeq__index_segments(text, text, jsonb) from public, anon,
    authenticated;
revoke all on function tubeq__transcript_segments_trigger() from public, anon, authenticated;
revoke all on function tubeq_search_segments(text, text, timestamptz, text, integer)
    from public, anon;
grant execute on function tubeq__index_segments(text, text, jsonb) to service_role;
grant execute on function tubeq_search_segments(text, text, timestamptz, text, integer)
    to authenticated, service_role;
