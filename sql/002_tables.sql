-- 002: the tables. Natural keys are primary keys, so every write can be an upsert.
-- Timestamps that describe events come from the pipeline's payloads (not now()), so
-- recording the same payload twice leaves byte-identical rows.

create table channels (
    channel_id  text primary key check (channel_id <> ''),
    title       text,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

create table videos (
    video_id         text primary key check (video_id ~ '^[A-Za-z0-9_-]{11}$'),
    channel_id       text references channels (channel_id) on delete set null,
    title            text,
    published_at     timestamptz,
    duration_s       integer check (duration_s >= 0),
    state            text not null default 'queued'
        check (state in ('queued', 'processing', 'done', 'retrying', 'failed', 'dead')),
    attempts         integer not null default 0 check (attempts >= 0),
    -- the analysis version of the last finished run (what get_video shows)
    analysis_version text,
    error_code       text,
    last_error       text,
    error_detail     text,
    source           text,
    queued_at        timestamptz,
    finished_at      timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);

create index videos_channel_published_idx on videos (channel_id, published_at desc);
create index videos_published_idx on videos (published_at desc);
create index videos_state_updated_idx on videos (state, updated_at desc);

-- The transcript the (latest) analysis was made from: one per video.
create table transcripts (
    video_id        text primary key references videos (video_id) on delete cascade,
    language        text not null,
    language_name   text,
    is_generated    boolean not null,
    translated_from text,
    source          text not null,
    text            text not null,
    segments        jsonb not null check (jsonb_typeof(segments) = 'array'),
    word_count      integer not null default 0,
    duration_s      double precision not null default 0,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);

create index transcripts_language_idx on transcripts (language);

-- Full-text search over transcripts, one row per ~1,000 words (tubeq_record_success fills
-- it). Why chunks: a tsvector caps word positions at 16383 (and keeps at most 256 positions
-- per word), so one vector per 2-hour transcript (~17,000 words) piles the tail's positions
-- up at the cap and phrase search ("a <-> b") silently stops matching there. Each chunk
-- also indexes the first words of the next one (`overlap`), so a phrase that straddles a
-- boundary is still found. Two vectors: exact words ('simple') and stems in the
-- transcript's own language; tubeq_search picks one by its config argument.
create table transcript_chunks (
    video_id     text not null references transcripts (video_id) on delete cascade,
    chunk        integer not null check (chunk >= 0),
    language     text not null,
    start_s      double precision not null default 0,
    text         text not null,
    overlap      text not null default '',
    search_exact tsvector generated always as (
        to_tsvector('simple'::regconfig, text || ' ' || overlap)
    ) stored,
    search_stem  tsvector generated always as (
        to_tsvector(tubeq_ts_config(language), text || ' ' || overlap)
    ) stored,
    primary key (video_id, chunk)
);

create index transcript_chunks_exact_idx on transcript_chunks using gin (search_exact);
create index transcript_chunks_stem_idx on transcript_chunks using gin (search_stem);

-- What of an analysis is searchable. array_to_string is only STABLE in general (element
-- types' output functions); for text[] it cannot change, so this wrapper is IMMUTABLE.
create function tubeq_analysis_text(summary text, key_points text[], topics text[])
returns text
language sql
immutable
parallel safe
set search_path = pg_catalog
as $$
    select concat_ws(' ', summary, array_to_string(key_points, ' '),
                     array_to_string(topics, ' '))
$$;

revoke all on function tubeq_analysis_text(text, text[], text[]) from public, anon;
grant execute on function tubeq_analysis_text(text, text[], text[])
    to authenticated, service_role;

-- One row per (video, analysis version): the idempotency key of a paid model call.
create table analyses (
    video_id         text not null references videos (video_id) on delete cascade,
    analysis_version text not null check (analysis_version <> ''),
    analyzer         text not null,
    model            text,
    language         text not null,
    summary          text not null,
    key_points       text[] not null default '{}',
    topics           text[] not null default '{}',
    quotes           jsonb not null default '[]' check (jsonb_typeof(quotes) = 'array'),
    prompt_tokens    integer not null default 0 check (prompt_tokens >= 0),
    output_tokens    integer not null default 0 check (output_tokens >= 0),
    thinking_tokens  integer not null default 0 check (thinking_tokens >= 0),
    model_calls      integer not null default 0 check (model_calls >= 0),
    -- float8 round-trips the pipeline's float exactly; sums are rounded in the views
    cost_usd         double precision not null default 0 check (cost_usd >= 0),
    created_at       timestamptz not null,
    -- set once the whole video was recorded with this analysis (the "done" marker)
    completed_at     timestamptz,
    -- summaries are short, so one vector each is far from the 16383-position cap
    search_exact     tsvector generated always as (
        to_tsvector('simple'::regconfig, tubeq_analysis_text(summary, key_points, topics))
    ) stored,
    search_stem      tsvector generated always as (
        to_tsvector(tubeq_ts_config(language), tubeq_analysis_text(summary, key_points, topics))
    ) stored,
    primary key (video_id, analysis_version)
);

create index analyses_created_idx on analyses (created_at desc);
create index analyses_topics_idx on analyses using gin (topics);
create index analyses_search_exact_idx on analyses using gin (search_exact);
create index analyses_search_stem_idx on analyses using gin (search_stem);

-- Artifacts in the artifact store (R2): one per video and kind; keys are deterministic.
create table artifacts (
    video_id     text not null references videos (video_id) on delete cascade,
    kind         text not null,
    key          text not null,
    content_type text not null,
    size         bigint not null check (size >= 0),
    -- the order the pipeline listed them in, so readers return them the same way
    position     integer not null default 0,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (video_id, kind)
);

-- Every failure ever recorded (the videos row only holds the latest).
create table failures (
    id          bigint generated always as identity primary key,
    video_id    text not null references videos (video_id) on delete cascade,
    state       text not null check (state in ('retrying', 'failed', 'dead')),
    error_code  text not null,
    error       text not null,
    detail      text,
    attempts    integer not null check (attempts >= 1),
    at          timestamptz not null,
    -- one row per failed attempt: a redelivered record of the same attempt overwrites it
    unique (video_id, attempts, error_code)
);

create index failures_video_at_idx on failures (video_id, at desc);
create index failures_at_idx on failures (at desc);
