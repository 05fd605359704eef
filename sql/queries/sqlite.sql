-- The result store's statements on SQLite (shared/adapters/sqlite_results.py), the
-- embedded default. The tables are in sqlite_schema.sql.
--
-- postgres.sql, next to this file, has the same rules as calls of the PL/pgSQL functions
-- in the migrations; here each rule is written out in SQLite's dialect, in the same order
-- and with the same "-- rule:" line (tests/unit/test_sql_queries.py checks the pairs). A
-- rule that takes several statements here is a group: record_success.mark_done, ... The
-- adapter runs a group's statements in one BEGIN IMMEDIATE transaction.
--
-- Parameters are named (:name). Lists of ids arrive as one JSON array (json_each), so no
-- statement is built from pieces and SQLite's limit on bound parameters never applies.
-- Timestamps are fixed-width UTC ISO text, so text order is time order.

-- ---- claims and the paid-result cache (ports.AnalysisClaims) --------------------------

-- name: find_analysis
-- rule: a saved analysis of (video, version), finished or not: a paid result to reuse
SELECT * FROM analyses WHERE video_id = :video_id AND analysis_version = :analysis_version;

-- name: save_analysis.video
-- rule: keep a paid model reply at once; it does not make the video done
-- the analysis row refers to a video: make sure one exists, without changing it (then
-- upsert_analysis with no completed_at)
INSERT INTO videos (video_id, state, created_at, updated_at)
VALUES (:video_id, 'processing', :at, :at)
ON CONFLICT (video_id) DO NOTHING;

-- name: claim_analysis
-- rule: take the claim when free, expired or ours; answer 0 when held, else seconds left
-- one statement, run on its own (autocommit): a write statement takes the write lock when
-- it starts, as BEGIN IMMEDIATE does, so it needs no transaction around it
-- as in tubeq_claim_analysis: the loser's "update" keeps every value (a CASE, not a
-- WHERE), so RETURNING always yields the row: who holds it and until when
INSERT INTO claims AS c (video_id, analysis_version, owner, expires_at)
VALUES (:video_id, :analysis_version, :owner, :now + :ttl_s)
ON CONFLICT (video_id, analysis_version) DO UPDATE SET
    owner = CASE WHEN c.expires_at <= :now OR c.owner = excluded.owner
                 THEN excluded.owner ELSE c.owner END,
    expires_at = CASE WHEN c.expires_at <= :now OR c.owner = excluded.owner
                      THEN excluded.expires_at ELSE c.expires_at END
RETURNING owner = :owner AS held, expires_at - :now AS wait_s;

-- ---- video state (ports.VideoStates) -------------------------------------------------

-- name: done_ids
-- rule: videos whose finished run recorded this analysis version
SELECT DISTINCT video_id FROM analyses
WHERE analysis_version = :analysis_version AND completed_at IS NOT NULL
  AND video_id IN (SELECT value FROM json_each(:video_ids));

-- name: video_states
-- rule: the state of each known video among these ids; unknown ids are absent
SELECT video_id, state FROM videos
WHERE video_id IN (SELECT value FROM json_each(:video_ids));

-- name: mark_queued.requeue
-- rule: enqueued videos: new ones queued; failed ones queued again; done ones only if forced
-- after merge_video (which queues new videos only)
UPDATE videos SET state = 'queued', updated_at = :at
WHERE video_id = :video_id
  AND (state IN ('failed', 'dead', 'retrying') OR (state = 'done' AND :force));

-- ---- the result writer (ports.ResultWriter) ------------------------------------------

-- name: record_success.video
-- rule: a finished video: video, transcript, analysis, artifacts and state in one transaction
-- after merge_video.channel: the video with its known facts (as merge_video.video) and done,
-- in one upsert; then the transcript, upsert_analysis (completed) and the artifacts
INSERT INTO videos (video_id, title, channel_id, published_at, duration_s, state, attempts,
    analysis_version, created_at, updated_at, done_at)
VALUES (:video_id, :title, :channel_id, :published_at, :duration_s, 'done', :attempts,
    :analysis_version, :at, :at, :at)
ON CONFLICT (video_id) DO UPDATE SET
    title = COALESCE(excluded.title, videos.title),
    channel_id = COALESCE(excluded.channel_id, videos.channel_id),
    published_at = COALESCE(excluded.published_at, videos.published_at),
    duration_s = COALESCE(excluded.duration_s, videos.duration_s),
    state = 'done', attempts = excluded.attempts, analysis_version = excluded.analysis_version,
    error_code = NULL, error = NULL, error_detail = NULL, done_at = excluded.done_at,
    updated_at = excluded.updated_at;

-- name: record_success.transcript
INSERT INTO transcripts (video_id, language, language_name, is_generated, translated_from,
    source, text, segments, word_count, duration_s, updated_at)
VALUES (:video_id, :language, :language_name, :is_generated, :translated_from, :source,
    :text, :segments, :word_count, :duration_s, :updated_at)
ON CONFLICT (video_id) DO UPDATE SET
    language = excluded.language, language_name = excluded.language_name,
    is_generated = excluded.is_generated, translated_from = excluded.translated_from,
    source = excluded.source, text = excluded.text, segments = excluded.segments,
    word_count = excluded.word_count, duration_s = excluded.duration_s,
    updated_at = excluded.updated_at;

-- name: record_success.drop_stale_artifacts
-- the artifact set of the latest run is the truth: drop kinds it no longer has
DELETE FROM artifacts
WHERE video_id = :video_id AND kind NOT IN (SELECT value FROM json_each(:kinds));

-- name: record_success.artifacts
-- every artifact in one statement: :artifacts is a JSON array of {kind, key, content_type,
-- size} ("WHERE true" lets SQLite tell the upsert's ON CONFLICT from a join's ON)
INSERT INTO artifacts (video_id, kind, key, content_type, size, updated_at)
SELECT :video_id, json_extract(a.value, '$.kind'), json_extract(a.value, '$.key'),
    json_extract(a.value, '$.content_type'), json_extract(a.value, '$.size'), :at
FROM json_each(:artifacts) AS a WHERE true
ON CONFLICT (video_id, kind) DO UPDATE SET key = excluded.key,
    content_type = excluded.content_type, size = excluded.size,
    updated_at = excluded.updated_at;

-- name: record_failure.mark_failed
-- rule: a failure joins the history and shows on the video unless the video is done
-- after merge_video; the WHERE keeps a video that is done for some version done
UPDATE videos SET state = :state, attempts = :attempts, error_code = :error_code,
    error = :error, error_detail = :detail, updated_at = :at
WHERE video_id = :video_id AND state <> 'done';

-- name: record_failure.history
-- one row per failed attempt; the same attempt reported again overwrites its own row
INSERT INTO failures (video_id, attempts, error_code, state, error, detail, at)
VALUES (:video_id, :attempts, :error_code, :state, :error, :detail, :at)
ON CONFLICT (video_id, attempts, error_code) DO UPDATE SET state = excluded.state,
    error = excluded.error, detail = excluded.detail, at = excluded.at;

-- ---- the spend ledger (ports.SpendLedger) --------------------------------------------

-- name: record_call
-- rule: one billed model call, kept once per call id, whatever became of the call
-- as in tubeq_record_call: the first record of a call id stands, a repeat changes nothing
INSERT INTO model_calls (call_id, video_id, analysis_version, model, purpose,
    prompt_tokens, output_tokens, thinking_tokens, cost_usd, outcome, at, recorded_at)
VALUES (:call_id, :video_id, :analysis_version, :model, :purpose, :prompt_tokens,
    :output_tokens, :thinking_tokens, :cost_usd, :outcome, :at, :recorded_at)
ON CONFLICT (call_id) DO NOTHING;

-- ---- the analyst reader (ports.AnalystReader) ----------------------------------------

-- name: get_video
-- rule: one video's status with its latest finished analysis and its artifacts
-- the analysis and artifacts come from status_analysis and status_artifacts
SELECT v.*, c.title AS channel_title, t.language AS transcript_language
FROM videos v
LEFT JOIN channels c ON c.channel_id = v.channel_id
LEFT JOIN transcripts t ON t.video_id = v.video_id
WHERE v.video_id = :video_id;

-- name: failures
-- rule: failed, dead and retrying videos, the latest first
SELECT v.*, c.title AS channel_title, t.language AS transcript_language
FROM videos v
LEFT JOIN channels c ON c.channel_id = v.channel_id
LEFT JOIN transcripts t ON t.video_id = v.video_id
WHERE v.state IN ('failed', 'dead', 'retrying')
ORDER BY v.updated_at DESC, v.video_id DESC
LIMIT max(:limit, 0);

-- name: channel_results
-- rule: a channel's videos by publish date (unknown dates first), then video id
-- one local read holds every row, so there are no pages (NULL sorts first, as
-- '-infinity' does in tubeq_channel_results)
SELECT v.*, c.title AS channel_title, t.language AS transcript_language
FROM videos v
LEFT JOIN channels c ON c.channel_id = v.channel_id
LEFT JOIN transcripts t ON t.video_id = v.video_id
WHERE v.channel_id = :channel_id
ORDER BY v.published_at, v.video_id;

-- name: progress.by_state
-- rule: videos per state, the spend of every billed call and what the saved analyses cost
SELECT state, count(*) AS n FROM videos GROUP BY state;

-- name: progress.analyses
-- what the saved analyses cost (Progress.analysis_usage)
SELECT count(*) AS analyses,
    COALESCE(sum(prompt_tokens), 0) AS prompt_tokens,
    COALESCE(sum(output_tokens), 0) AS output_tokens,
    COALESCE(sum(thinking_tokens), 0) AS thinking_tokens,
    COALESCE(sum(model_calls), 0) AS model_calls,
    COALESCE(sum(cost_usd), 0.0) AS cost_usd
FROM analyses;

-- name: progress.ledger
-- every billed call; the first day with spend, as in tubeq_progress
SELECT count(*) AS model_calls,
    COALESCE(sum(prompt_tokens), 0) AS prompt_tokens,
    COALESCE(sum(output_tokens), 0) AS output_tokens,
    COALESCE(sum(thinking_tokens), 0) AS thinking_tokens,
    COALESCE(sum(cost_usd), 0.0) AS cost_usd,
    min(at) AS first_at
FROM model_calls;

-- name: progress.unledgered
-- analyses with no ledger row for their (video, version) count with their own usage
SELECT COALESCE(sum(prompt_tokens), 0) AS prompt_tokens,
    COALESCE(sum(output_tokens), 0) AS output_tokens,
    COALESCE(sum(thinking_tokens), 0) AS thinking_tokens,
    COALESCE(sum(model_calls), 0) AS model_calls,
    COALESCE(sum(cost_usd), 0.0) AS cost_usd,
    min(created_at) AS first_at
FROM analyses a
WHERE NOT EXISTS (SELECT 1 FROM model_calls m
                  WHERE m.video_id = a.video_id AND m.analysis_version = a.analysis_version);

-- name: progress.outcomes
SELECT outcome, count(*) AS n FROM model_calls GROUP BY outcome;

-- ---- helpers: what the PL/pgSQL functions do inside, written out for SQLite ----------

-- name: merge_video.channel
-- sqlite only: tubeq__merge_video in 005_functions.sql does this inside each writer
-- a channel is known by its id; a title is kept until a new one arrives
INSERT INTO channels (channel_id, title, updated_at)
SELECT :channel_id, :channel_title, :now WHERE :channel_id IS NOT NULL
ON CONFLICT (channel_id) DO UPDATE SET
    title = COALESCE(excluded.title, channels.title), updated_at = excluded.updated_at;

-- name: merge_video.video
-- sqlite only: tubeq__merge_video in 005_functions.sql does this inside each writer
-- meta only fills in what is known; the state applies to new videos only
INSERT INTO videos
    (video_id, title, channel_id, published_at, duration_s, state, created_at, updated_at)
VALUES (:video_id, :title, :channel_id, :published_at, :duration_s, :state, :at, :at)
ON CONFLICT (video_id) DO UPDATE SET
    title = COALESCE(excluded.title, videos.title),
    channel_id = COALESCE(excluded.channel_id, videos.channel_id),
    published_at = COALESCE(excluded.published_at, videos.published_at),
    duration_s = COALESCE(excluded.duration_s, videos.duration_s);

-- name: upsert_analysis
-- sqlite only: tubeq__upsert_analysis in 005_functions.sql
-- completed_at is only ever set (by record_success), never cleared: saving again does not
-- undo "done"
INSERT INTO analyses (video_id, analysis_version, analyzer, model, summary, key_points,
    topics, quotes, language, prompt_tokens, output_tokens, thinking_tokens, model_calls,
    cost_usd, created_at, saved_at, completed_at)
VALUES (:video_id, :analysis_version, :analyzer, :model, :summary, :key_points, :topics,
    :quotes, :language, :prompt_tokens, :output_tokens, :thinking_tokens, :model_calls,
    :cost_usd, :created_at, :saved_at, :completed_at)
ON CONFLICT (video_id, analysis_version) DO UPDATE SET
    analyzer = excluded.analyzer, model = excluded.model, summary = excluded.summary,
    key_points = excluded.key_points, topics = excluded.topics, quotes = excluded.quotes,
    language = excluded.language, prompt_tokens = excluded.prompt_tokens,
    output_tokens = excluded.output_tokens, thinking_tokens = excluded.thinking_tokens,
    model_calls = excluded.model_calls, cost_usd = excluded.cost_usd,
    created_at = excluded.created_at, saved_at = excluded.saved_at,
    completed_at = COALESCE(excluded.completed_at, analyses.completed_at);

-- name: status_analysis
-- sqlite only: tubeq__status_json in 005_functions.sql does this inside each reader
SELECT * FROM analyses WHERE video_id = :video_id AND completed_at IS NOT NULL
ORDER BY completed_at DESC, saved_at DESC LIMIT 1;

-- name: status_artifacts
-- sqlite only: tubeq__status_json in 005_functions.sql does this inside each reader
SELECT * FROM artifacts WHERE video_id = :video_id ORDER BY kind;

-- ---- Gemini batches (issue 12) ------------------------------------------------------------
-- The same rules as sql/010_batches.sql's functions (postgres.sql's batch blocks).

-- name: batch_add.item
-- rule: put a video's request in the open batch of its version (opened if none, sealed when full); a video pending in a live batch, or saved, stays where it is
SELECT i.*, b.state AS batch_state FROM batch_items i JOIN batches b USING (batch_id)
WHERE i.video_id = :video_id AND i.analysis_version = :analysis_version;

-- name: batch_add.open_batch
SELECT * FROM batches WHERE analysis_version = :analysis_version AND state = 'open';

-- name: batch_add.new_batch
INSERT INTO batches (batch_id, analysis_version, state, opened_by, created_at, updated_at)
VALUES (:batch_id, :analysis_version, 'open', :video_id, :at, :at);

-- name: batch_add.upsert_item
INSERT INTO batch_items (video_id, analysis_version, batch_id, state, prompt, job, language,
    tries, updated_at)
VALUES (:video_id, :analysis_version, :batch_id, 'pending', :prompt, :job, :language, 1, :at)
ON CONFLICT (video_id, analysis_version) DO UPDATE SET
    batch_id = excluded.batch_id, state = 'pending', prompt = excluded.prompt,
    job = excluded.job, language = excluded.language, tries = batch_items.tries + 1,
    error = NULL, updated_at = excluded.updated_at;

-- name: batch_add.count
UPDATE batches SET
    items = (SELECT count(*) FROM batch_items WHERE batch_id = :batch_id),
    updated_at = :at
WHERE batch_id = :batch_id;

-- name: batch_add.seal_full
UPDATE batches SET state = 'sealed', sealed_by = :video_id, updated_at = :at
WHERE batch_id = :batch_id AND state = 'open' AND items >= :max_items;

-- name: batch_seal
-- rule: close an open batch to new videos; a batch in any other state is left alone
UPDATE batches SET state = 'sealed', updated_at = :at
WHERE batch_id = :batch_id AND state = 'open';

-- name: batch_get
-- rule: one batch by its id
SELECT * FROM batches WHERE batch_id = :batch_id;

-- name: batch_update
-- rule: a batch's new state; a missing name, chain or error keeps the stored one; submitted and ended times are set once
UPDATE batches SET
    state = :state,
    remote_name = COALESCE(:remote_name, remote_name),
    poll_chain = COALESCE(:poll_chain, poll_chain),
    error = COALESCE(:error, error),
    submitted_at = CASE WHEN :state = 'submitted' THEN COALESCE(submitted_at, :at)
        ELSE submitted_at END,
    ended_at = CASE WHEN :state IN ('succeeded', 'failed', 'cancelled', 'expired')
        THEN COALESCE(ended_at, :at) ELSE ended_at END,
    updated_at = :at
WHERE batch_id = :batch_id;

-- name: batch_items
-- rule: a batch's videos, by video id
SELECT * FROM batch_items WHERE batch_id = :batch_id ORDER BY video_id;

-- name: batch_item_settle
-- rule: an item's outcome, if it is still in this batch
UPDATE batch_items SET state = :state, error = :error, updated_at = :at
WHERE batch_id = :batch_id AND video_id = :video_id;

-- name: batch_list
-- rule: batches, the newest first
-- a limit below 0 lists none, as on Postgres (SQLite alone reads LIMIT -1 as no limit)
SELECT * FROM batches ORDER BY created_at DESC, batch_id DESC LIMIT max(:limit, 0);
