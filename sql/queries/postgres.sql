-- The result store's statements on PostgreSQL, for both the psycopg adapter (which runs
-- each block as written) and the Supabase adapter (which turns each ``SELECT fn(arg =>
-- %(param)s, ...)`` block into the PostgREST call ``POST /rest/v1/rpc/fn {"arg": ...}``).
--
-- The rules themselves are the PL/pgSQL functions of the migrations (sql/005_functions.sql,
-- 006_analysis_claims.sql, 007_video_states.sql, 008_spend_ledger.sql); a block here is
-- one call of one of them.
-- sqlite.sql, next to this file, has the same rules in SQLite's dialect, block for block,
-- in the same order and with the same "-- rule:" line: a rule changed here is changed
-- there too (tests/unit/test_sql_queries.py checks the pairs).
--
-- Parameters are psycopg's %(name)s, bound client-side (so a literal percent sign is %%).
-- Arguments use named notation (arg => value), which is also how PostgREST passes them,
-- so the two adapters cannot disagree on a name.

-- ---- claims and the paid-result cache (ports.AnalysisClaims) --------------------------

-- name: find_analysis
-- rule: a saved analysis of (video, version), finished or not: a paid result to reuse
SELECT tubeq_find_analysis(p_video_id => %(video_id)s, p_analysis_version => %(analysis_version)s);

-- name: save_analysis
-- rule: keep a paid model reply at once; it does not make the video done
SELECT tubeq_save_analysis(payload => %(analysis)s);

-- name: claim_analysis
-- rule: take the claim when free, expired or ours; answer 0 when held, else seconds left
SELECT tubeq_claim_analysis(payload => %(claim)s);

-- ---- video state (ports.VideoStates) -------------------------------------------------

-- name: done_ids
-- rule: videos whose finished run recorded this analysis version
SELECT tubeq_done_ids(p_video_ids => %(video_ids)s, p_analysis_version => %(analysis_version)s);

-- name: video_states
-- rule: the state of each known video among these ids; unknown ids are absent
SELECT tubeq_video_states(p_video_ids => %(video_ids)s);

-- name: mark_queued
-- rule: enqueued videos: new ones queued; failed ones queued again; done ones only if forced
SELECT tubeq_mark_queued(payload => %(jobs)s);

-- ---- the result writer (ports.ResultWriter) ------------------------------------------

-- name: record_success
-- rule: a finished video: video, transcript, analysis, artifacts and state in one transaction
SELECT tubeq_record_success(payload => %(result)s);

-- name: record_failure
-- rule: a failure joins the history and shows on the video unless the video is done
SELECT tubeq_record_failure(payload => %(failure)s);

-- ---- the spend ledger (ports.SpendLedger) --------------------------------------------

-- name: record_call
-- rule: one billed model call, kept once per call id, whatever became of the call
SELECT tubeq_record_call(payload => %(call)s);

-- ---- the analyst reader (ports.AnalystReader) ----------------------------------------

-- name: get_video
-- rule: one video's status with its latest finished analysis and its artifacts
SELECT tubeq_get_video(p_video_id => %(video_id)s);

-- name: failures
-- rule: failed, dead and retrying videos, the latest first
SELECT tubeq_failures(p_limit => %(limit)s);

-- name: channel_results
-- rule: a channel's videos by publish date (unknown dates first), then video id
-- one page per call: the adapter passes the last row's (published_at, video_id) on
SELECT tubeq_channel_results(p_channel_id => %(channel_id)s, p_after_published => %(after_published)s, p_after_video_id => %(after_video_id)s, p_limit => %(limit)s);

-- name: progress
-- rule: videos per state, the spend of every billed call and what the saved analyses cost
-- (008_spend_ledger.sql: an analysis without ledger rows counts with its own usage)
SELECT tubeq_progress();

-- ---- plumbing ------------------------------------------------------------------------

-- name: statement_timeout
-- postgres only: sent in the same simple-protocol message as each call above, so the
-- limit holds for that call's implicit transaction alone (works through a transaction
-- pooler, leaves no session state)
SET LOCAL statement_timeout = %(timeout_ms)s;

-- ---- the fleet's rate budget (ports.RateBudget, sql/009) -----------------------------

-- name: acquire_budget
-- postgres only: the fleet-wide budget lives in the database a fleet shares; the SQLite
-- budget is its own file (shared/rate_budget/sqlite.py), not the result store
SELECT tubeq_acquire_budget(payload => %(request)s);

-- name: refund_budget
-- postgres only: gives a refused call's grant back to the fleet-wide budget (see above)
SELECT tubeq_refund_budget(payload => %(refund)s);

-- name: move_budget
-- postgres only: counts a grant whose call left late at its real time (sql/017)
SELECT tubeq_move_budget(payload => %(move)s);

-- name: pause_budget
-- postgres only: pauses the fleet-wide budget for the delay the server asked (see above)
SELECT tubeq_pause_budget(payload => %(pause)s);

-- name: budget_usage
-- postgres only: the overview's quota reading of the fleet-wide budget (sql/016), a plain
-- read; the SQLite budget's file is read by shared/rate_budget/sqlite.py
SELECT tubeq_budget_usage(payload => %(read)s);

-- ---- Gemini batches (ports.BatchStore, sql/010_batches.sql; issue 12) ----------------

-- name: batch_add
-- rule: put a video's request in the open batch of its version (opened if none, sealed when full); a video pending in a live batch, or saved, stays where it is
SELECT tubeq_batch_add(payload => %(add)s);

-- name: batch_seal
-- rule: close an open batch to new videos; a batch in any other state is left alone
SELECT tubeq_batch_seal(p_batch_id => %(batch_id)s);

-- name: batch_get
-- rule: one batch by its id
SELECT tubeq_batch_get(p_batch_id => %(batch_id)s);

-- name: batch_update
-- rule: a batch's new state; a missing name, chain or error keeps the stored one; submitted and ended times are set once
SELECT tubeq_batch_update(payload => %(update)s);

-- name: batch_items
-- rule: a batch's videos, by video id
SELECT tubeq_batch_items(p_batch_id => %(batch_id)s);

-- name: batch_item_settle
-- rule: an item's outcome, if it is still in this batch
SELECT tubeq_batch_item_settle(payload => %(settle)s);

-- name: batch_list
-- rule: batches, the newest first
-- a limit below 0 lists none (tubeq_batch_list: limit greatest(p_limit, 0))
SELECT tubeq_batch_list(p_limit => %(limit)s);
