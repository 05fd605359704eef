-- The SQLite result store's tables (shared/adapters/sqlite_results.py), created when a
-- store opens a file: every block runs, in order, in one transaction. The Postgres
-- tables are the migrations' (sql/002_tables.sql, 006_analysis_claims.sql,
-- 008_spend_ledger.sql).

-- name: channels
CREATE TABLE IF NOT EXISTS channels (
    channel_id TEXT PRIMARY KEY,
    title TEXT,
    updated_at TEXT NOT NULL
);

-- name: videos
CREATE TABLE IF NOT EXISTS videos (
    video_id TEXT PRIMARY KEY,
    title TEXT,
    channel_id TEXT,
    published_at TEXT,
    duration_s INTEGER,
    state TEXT NOT NULL CHECK (state IN
        ('queued', 'processing', 'done', 'retrying', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    error TEXT,
    error_detail TEXT,
    analysis_version TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    done_at TEXT
);

-- name: videos_by_state
CREATE INDEX IF NOT EXISTS videos_by_state ON videos (state, updated_at);

-- name: videos_by_channel
CREATE INDEX IF NOT EXISTS videos_by_channel ON videos (channel_id, published_at);

-- name: transcripts
CREATE TABLE IF NOT EXISTS transcripts (
    video_id TEXT PRIMARY KEY REFERENCES videos (video_id),
    language TEXT NOT NULL,
    language_name TEXT,
    is_generated INTEGER NOT NULL,
    translated_from TEXT,
    source TEXT NOT NULL,
    text TEXT NOT NULL,
    segments TEXT NOT NULL,
    word_count INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    updated_at TEXT NOT NULL
);

-- name: analyses
-- completed_at is set by record_success only: a row without it is a paid model reply
-- kept by save_analysis for reuse after a crash, and does not count as done
CREATE TABLE IF NOT EXISTS analyses (
    video_id TEXT NOT NULL REFERENCES videos (video_id),
    analysis_version TEXT NOT NULL,
    analyzer TEXT NOT NULL,
    model TEXT,
    summary TEXT NOT NULL,
    key_points TEXT NOT NULL,
    topics TEXT NOT NULL,
    quotes TEXT NOT NULL,
    language TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    thinking_tokens INTEGER NOT NULL,
    model_calls INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    created_at TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    completed_at TEXT,
    PRIMARY KEY (video_id, analysis_version)
);

-- name: artifacts
CREATE TABLE IF NOT EXISTS artifacts (
    video_id TEXT NOT NULL REFERENCES videos (video_id),
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (video_id, kind)
);

-- name: claims
-- expires_at is Unix time in seconds; no foreign key: a claim is taken before the
-- video's rows exist
CREATE TABLE IF NOT EXISTS claims (
    video_id TEXT NOT NULL,
    analysis_version TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (video_id, analysis_version)
);

-- name: failures
CREATE TABLE IF NOT EXISTS failures (
    video_id TEXT NOT NULL REFERENCES videos (video_id),
    attempts INTEGER NOT NULL,
    error_code TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT NOT NULL,
    detail TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (video_id, attempts, error_code)
);

-- name: model_calls
-- the spend ledger: one row per billed model call, whatever became of it (as in
-- 008_spend_ledger.sql); no foreign key: a call is billed before the video's rows exist
CREATE TABLE IF NOT EXISTS model_calls (
    call_id TEXT PRIMARY KEY,
    video_id TEXT,
    analysis_version TEXT,
    model TEXT NOT NULL,
    purpose TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    thinking_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'invalid', 'truncated', 'refused', 'error')),
    at TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

-- name: model_calls_by_video
CREATE INDEX IF NOT EXISTS model_calls_by_video ON model_calls (video_id, analysis_version);

-- ---- Gemini batches (issue 12; sql/010_batches.sql on Postgres) -------------------------

-- name: batches
-- one row per batch: created (open) before any request is sent, its Gemini name stored
-- after batches.create; the display name at Gemini is derived from batch_id alone
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    analysis_version TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('open', 'sealed', 'submitted', 'succeeded', 'failed', 'cancelled', 'expired')),
    items INTEGER NOT NULL DEFAULT 0,
    remote_name TEXT,
    poll_chain TEXT,
    opened_by TEXT,
    sealed_by TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    ended_at TEXT
);

-- name: batches_one_open
-- at most one open batch per analysis version: every collect job adds to the same one
CREATE UNIQUE INDEX IF NOT EXISTS batches_one_open ON batches (analysis_version)
    WHERE state = 'open';

-- name: batch_items
-- a video is in at most one batch per analysis version (the key), so a redelivered collect
-- job never puts it in a second batch and pays for it twice
CREATE TABLE IF NOT EXISTS batch_items (
    video_id TEXT NOT NULL,
    analysis_version TEXT NOT NULL,
    batch_id TEXT NOT NULL REFERENCES batches (batch_id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'saved', 'failed', 'requeued')),
    prompt TEXT NOT NULL,
    job TEXT NOT NULL,
    language TEXT,
    tries INTEGER NOT NULL DEFAULT 1,
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (video_id, analysis_version)
);

-- name: batch_items_by_batch
CREATE INDEX IF NOT EXISTS batch_items_by_batch ON batch_items (batch_id);

-- name: batches_refuse_bad
-- what tubeq_batch_add refuses on Postgres (sql/010), refused by the table itself with the
-- texts of shared.results_common (shared.classify.sqlite makes them InvalidInput): the add's
-- transaction rolls back, nothing is kept
CREATE TRIGGER IF NOT EXISTS batches_refuse_bad BEFORE INSERT ON batches
BEGIN
    SELECT RAISE(ABORT, 'batch add: the new batch id is empty; pass the id a batch opened by this add gets (the collect job uses uuid4().hex[:16])')
     WHERE coalesce(NEW.batch_id, '') = '';
END;

-- name: batch_items_refuse_bad
-- the same for a batch item; an upsert runs BEFORE INSERT triggers too, so a video added
-- again (its batch ended) is checked as well
CREATE TRIGGER IF NOT EXISTS batch_items_refuse_bad BEFORE INSERT ON batch_items
BEGIN
    SELECT RAISE(ABORT, 'batch item: the video id is empty; an item is the request of one video')
     WHERE NEW.video_id = '';
    SELECT RAISE(ABORT, 'batch item: the analysis version is empty; batches are kept per analysis version')
     WHERE NEW.analysis_version = '';
    SELECT RAISE(ABORT, 'batch item: the prompt is empty; it is the request text sent to Gemini')
     WHERE NEW.prompt = '';
    SELECT RAISE(ABORT, 'batch item: the job is not JSON; it must be the collect job as JSON text (model_dump_json()), which is sent again when the batch fails')
     WHERE NOT json_valid(NEW.job);
END;
