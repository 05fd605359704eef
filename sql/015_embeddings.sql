-- 015: semantic search (issue 13): vectors of transcript passages and analyses, searched
-- with pgvector.
--
-- What is embedded (shared/embeddings.py): every row of transcript_segments (011: a caption
-- line with the next line's words, so a semantic hit links to the second the line starts,
-- like a full-text hit), and each video's latest finished analysis (its summary and each key
-- point). One row per (video, model, dims, kind, ref) with the sha256 of the text embedded:
-- the embed job pays only for texts new or changed for that model and size, and a second
-- model's vectors sit beside the first's.
--
-- Vectors are stored as real[], not as pgvector's type, so this migration, the table and
-- the write functions work on a PostgreSQL WITHOUT pgvector (the guard the README names):
-- only the search needs it, casting real[] to vector(dims) (pgvector's own cast). Where
-- pgvector is available (Supabase has it; elsewhere install the package for your server),
-- tubeq_enable_vector_search() creates the extension and an HNSW index for the default model
-- and size; this migration calls it. Installed later, run `select tubeq_enable_vector_search();`
-- (idempotent). Without it, tubeq_semantic_search raises an error saying so (feature not
-- supported, 0A000), and full-text search works as before.

create table passage_embeddings (
    video_id    text not null references videos (video_id) on delete cascade,
    model       text not null check (model <> ''),
    dims        integer not null check (dims between 1 and 16000),
    kind        text not null check (kind in ('segment', 'summary', 'key_point')),
    ref         integer not null check (ref >= 0),
    at_s        double precision not null default 0 check (at_s >= 0),
    text        text not null,
    text_hash   text not null,
    embedding   real[] not null check (cardinality(embedding) = dims),
    embedded_at timestamptz not null default now(),
    primary key (video_id, model, dims, kind, ref)
);

create index passage_embeddings_by_model on passage_embeddings (model, dims);

alter table passage_embeddings enable row level security;
revoke all on table passage_embeddings from public, anon, authenticated, service_role;
grant select on table passage_embeddings to authenticated;
grant select, insert, update, delete on table passage_embeddings to service_role;
create policy passage_embeddings_analysts_read on passage_embeddings
    for select to authenticated using ((select tubeq_is_analyst()));
create policy passage_embeddings_service_role_all on passage_embeddings
    for all to service_role using (true) with check (true);

-- pgvector, where the server has it, and the HNSW index of the default model and size (an
-- expression index on the cast, partial to that model: pgvector's way to index vectors of
-- several sizes in one column). Returns what it did.
create or replace function tubeq_enable_vector_search()
returns text
language plpgsql
set search_path = public, extensions, pg_temp
as $$
begin
    if not exists (select 1 from pg_extension where extname = 'vector') then
        if not exists (select 1 from pg_available_extensions where name = 'vector') then
            raise notice 'tubeq: pgvector is not installed on this server: semantic search '
                'stays off (full-text search works). Install pgvector, then run: '
                'select tubeq_enable_vector_search();';
            return 'pgvector not available';
        end if;
        if exists (select 1 from pg_namespace where nspname = 'extensions') then
            create extension if not exists vector with schema extensions;  -- Supabase's place
        else
            create extension if not exists vector;
        end if;
    end if;
    execute $i$
        create index if not exists passage_embeddings_gemini_768_hnsw on passage_embeddings
        using hnsw ((embedding::vector(768)) vector_cosine_ops)
        where model = 'gemini-embedding-001' and dims = 768
    $i$;
    return 'pgvector enabled';
end
$$;

select tubeq_enable_vector_search();

-- The embed job's plan for one video (shared/adapters/postgres_vectors.py): its card (what a
-- hit shows and search filters on) and every text to embed now, each with the hash of its
-- stored vector (null: none). Vectors of texts that are gone (a re-analysed video, a changed
-- transcript) are deleted here. Null when the video has no finished analysis.
create or replace function tubeq_embedding_plan(p_video_id text, p_model text, p_dims integer)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
    analysis record;
    sources jsonb;
    card jsonb;
begin
    select a.summary, a.key_points into analysis
      from analyses a
     where a.video_id = p_video_id and a.completed_at is not null
     order by a.completed_at desc
     limit 1;
    if not found then
        return null;
    end if;
    with texts as (
        select 'segment' as kind, s.seg as ref, s.start_s as at_s,
               btrim(s.text || ' ' || s.next_text) as text
          from transcript_segments s
         where s.video_id = p_video_id
        union all
        select 'summary', 0, 0, analysis.summary
        union all
        select 'key_point', (k.i - 1)::integer, 0, k.point
          from unnest(analysis.key_points) with ordinality as k(point, i)
         where btrim(k.point) <> ''
    ),
    gone as (
        delete from passage_embeddings e
         where e.video_id = p_video_id and e.model = p_model and e.dims = p_dims
           and not exists (select 1 from texts t where t.kind = e.kind and t.ref = e.ref)
    )
    select coalesce(jsonb_agg(jsonb_build_object(
               'kind', t.kind, 'ref', t.ref, 'at_s', t.at_s, 'text', t.text,
               'stored_hash', e.text_hash) order by t.kind, t.ref), '[]')
      into sources
      from texts t
      left join passage_embeddings e
        on e.video_id = p_video_id and e.model = p_model and e.dims = p_dims
       and e.kind = t.kind and e.ref = t.ref;
    select jsonb_build_object('video_id', v.video_id, 'title', v.title,
                              'channel_id', v.channel_id, 'channel_title', c.title,
                              'published_at', v.published_at, 'language', t.language)
      into card
      from videos v
      left join channels c on c.channel_id = v.channel_id
      left join transcripts t on t.video_id = v.video_id
     where v.video_id = p_video_id;
    return jsonb_build_object('card', card, 'sources', sources);
end
$$;

-- Upsert vectors: p_rows is a JSON array of {kind, ref, at_s, text, text_hash, embedding}.
create or replace function tubeq_save_embeddings(p_video_id text, p_model text, p_dims integer,
                                                 p_rows jsonb)
returns integer
language plpgsql
set search_path = public, pg_temp
as $$
declare
    saved integer;
begin
    insert into passage_embeddings (video_id, model, dims, kind, ref, at_s, text, text_hash,
                                    embedding)
    select p_video_id, p_model, p_dims, r.kind, r.ref, coalesce(r.at_s, 0), r.text, r.text_hash,
           array(select x::real from jsonb_array_elements_text(r.embedding) with ordinality
                   as e(x, i) order by i)
      from jsonb_to_recordset(coalesce(p_rows, '[]')) as r(kind text, ref integer,
           at_s double precision, text text, text_hash text, embedding jsonb)
    on conflict (video_id, model, dims, kind, ref) do update
       set at_s = excluded.at_s, text = excluded.text, text_hash = excluded.text_hash,
           embedding = excluded.embedding, embedded_at = now();
    get diagnostics saved = row_count;
    return saved;
end
$$;

create or replace function tubeq_embedding_count(p_model text, p_dims integer)
returns bigint
language sql
stable
set search_path = public, pg_temp
as $$
    select count(*) from passage_embeddings where model = p_model and dims = p_dims
$$;

-- Videos with a finished analysis (of one channel, or all): what `tubeq embed` enqueues.
create or replace function tubeq_analysed_videos(p_channel_id text default null)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(distinct a.video_id), '[]')
      from analyses a
      join videos v on v.video_id = a.video_id
     where a.completed_at is not null
       and (p_channel_id is null or v.channel_id = p_channel_id)
$$;

-- The semantic search: the passages nearest to p_vector by cosine distance among the vectors
-- of p_model at p_dims, with the filters of tubeq_search_segments (channel, published on or
-- after p_since, transcript language: 'en' also matches 'en-GB'). A JSON array, best first,
-- each with its similarity (1 - cosine distance). The statement is built with the size and
-- model as literals, so the planner can use a partial HNSW index of that model and size.
create or replace function tubeq_semantic_search(
    p_vector real[],
    p_model text,
    p_dims integer,
    p_channel_id text default null,
    p_since timestamptz default null,
    p_language text default null,
    p_limit integer default 20
)
returns jsonb
language plpgsql
stable
set search_path = public, extensions, pg_temp
as $$
declare
    result jsonb;
begin
    if not exists (select 1 from pg_extension where extname = 'vector') then
        raise exception 'tubeq: semantic search needs the pgvector extension, and this database '
            'does not have it'
            using errcode = '0A000',
                  hint = 'install pgvector on the server (Supabase has it), then run: '
                         'select tubeq_enable_vector_search();';
    end if;
    if p_vector is null or cardinality(p_vector) <> p_dims then
        raise exception 'tubeq: the query vector has % dimensions, the index %',
            cardinality(p_vector), p_dims using errcode = '22023';
    end if;
    execute format($q$
        select coalesce(jsonb_agg(to_jsonb(h) - 'distance' order by h.distance), '[]')
          from (select e.video_id, e.kind, e.at_s, e.text, v.title, v.channel_id,
                       c.title as channel_title, v.published_at, t.language,
                       1 - (e.embedding::vector(%1$s) <=> $1::vector(%1$s)) as similarity,
                       e.embedding::vector(%1$s) <=> $1::vector(%1$s) as distance
                  from passage_embeddings e
                  join videos v on v.video_id = e.video_id
                  left join channels c on c.channel_id = v.channel_id
                  left join transcripts t on t.video_id = e.video_id
                 where e.model = %2$L and e.dims = %1$s
                   and ($2::text is null or v.channel_id = $2)
                   and ($3::timestamptz is null or v.published_at >= $3)
                   and ($4::text is null or lower(t.language) = lower($4)
                        or lower(t.language) like lower($4) || '-%%')
                 order by e.embedding::vector(%1$s) <=> $1::vector(%1$s)
                 limit $5) h
    $q$, p_dims, p_model)
    into result
    using p_vector, p_channel_id, p_since, p_language, greatest(1, least(coalesce(p_limit, 20), 200));
    return result;
end
$$;

revoke all on function tubeq_enable_vector_search() from public, anon, authenticated;
revoke all on function tubeq_embedding_plan(text, text, integer) from public, anon, authenticated;
revoke all on function tubeq_save_embeddings(text, text, integer, jsonb)
    from public, anon, authenticated;
revoke all on function tubeq_embedding_count(text, integer) from public, anon;
revoke all on function tubeq_analysed_videos(text) from public, anon, authenticated;
revoke all on function tubeq_semantic_search(real[], text, integer, text, timestamptz, text,
                                             integer) from public, anon;
grant execute on function tubeq_enable_vector_search() to service_role;
grant execute on function tubeq_embedding_plan(text, text, integer) to service_role;
grant execute on function tubeq_save_embeddings(text, text, integer, jsonb) to service_role;
grant execute on function tubeq_embedding_count(text, integer) to authenticated, service_role;
grant execute on function tubeq_analysed_videos(text) to service_role;
grant execute on function tubeq_semantic_search(real[], text, integer, text, timestamptz, text,
                                                integer) to authenticated, service_role;
