-- Full-text search in the SQLite result store (shared/adapters/sqlite_search.py): FTS5 over
-- transcript SEGMENTS, so a hit links to the second its words are spoken (Postgres does
-- the same in sql/011_search.sql). Applied by shared/adapters/_sqlite_search_index.py when
-- a store opens a file whose triggers are missing: every block runs, in order, in one
-- transaction, and the last one indexes the transcripts saved before search existed.
-- From then on the triggers index each transcript as it is saved (record_success).
--
-- One row per segment; its text is the segment's own words followed by the next segment's
-- (so a phrase said across two caption lines is still found), with own_chars telling the
-- two apart: a match that starts past own_chars is spoken in the next segment, and the
-- search places it at next_start_s. The FTS index keeps no copy of the text
-- (content='transcript_segments'); the triggers keep the two in step.
--
-- Tokenizer: unicode61 (case folded in every script, diacritics removed, words split at
-- anything that is not a letter or digit) wrapped in porter, an ENGLISH stemmer: English
-- words match their other forms ("endgames" finds "endgame"); other languages get the
-- same suffix rules, which rarely help and seldom hurt, so German, Spanish or French match
-- mostly as written. Scripts written without spaces (Chinese, Japanese, Thai) are not split
-- into words.

-- name: transcript_segments
CREATE TABLE IF NOT EXISTS transcript_segments (
    id INTEGER PRIMARY KEY,
    video_id TEXT NOT NULL REFERENCES transcripts (video_id) ON DELETE CASCADE,
    seg INTEGER NOT NULL,
    start_s REAL NOT NULL,
    next_start_s REAL,
    own_chars INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (video_id, seg)
);

-- name: transcript_segments_fts
CREATE VIRTUAL TABLE IF NOT EXISTS transcript_segments_fts USING fts5(
    body,
    content = 'transcript_segments',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- name: transcript_segment_rows
-- every transcript's segments as search rows (empty ones skipped, each with the next one's
-- words): the one definition the triggers and the first indexing all read. Always read
-- with a video_id filter but once: SQLite pushes it into the subquery (video_id is the
-- window's partition), so a trigger reads its own transcript, not the table.
CREATE VIEW IF NOT EXISTS transcript_segment_rows AS
SELECT video_id, seg, start_s, next_start_s, length(text) AS own_chars,
       text || COALESCE(' ' || next_text, '') AS body
FROM (
    SELECT video_id, seg, start_s, text,
           LEAD(start_s) OVER (PARTITION BY video_id ORDER BY seg) AS next_start_s,
           LEAD(text) OVER (PARTITION BY video_id ORDER BY seg) AS next_text
    FROM (
        SELECT t.video_id, CAST(j.key AS INTEGER) AS seg,
               COALESCE(json_extract(j.value, '$.start'), 0) AS start_s,
               trim(COALESCE(json_extract(j.value, '$.text'), '')) AS text
        FROM transcripts t, json_each(t.segments) j
    )
    WHERE text <> ''
);

-- name: index_new_transcript
-- a new transcript: its segments (empty ones skipped), each with the next one's words
CREATE TRIGGER IF NOT EXISTS transcripts_search_insert AFTER INSERT ON transcripts
BEGIN
    INSERT INTO transcript_segments (video_id, seg, start_s, next_start_s, own_chars, body)
    SELECT video_id, seg, start_s, next_start_s, own_chars, body
    FROM transcript_segment_rows WHERE video_id = new.video_id;
    INSERT INTO transcript_segments_fts (rowid, body)
    SELECT id, body FROM transcript_segments WHERE video_id = new.video_id;
END;

-- name: reindex_changed_transcript
-- a transcript saved again with other segments (a forced re-run): out with the old rows,
-- in with the new; the same segments again (a redelivery) change nothing
CREATE TRIGGER IF NOT EXISTS transcripts_search_update AFTER UPDATE OF segments ON transcripts
WHEN old.segments IS NOT new.segments
BEGIN
    INSERT INTO transcript_segments_fts (transcript_segments_fts, rowid, body)
    SELECT 'delete', id, body FROM transcript_segments WHERE video_id = old.video_id;
    DELETE FROM transcript_segments WHERE video_id = old.video_id;
    INSERT INTO transcript_segments (video_id, seg, start_s, next_start_s, own_chars, body)
    SELECT video_id, seg, start_s, next_start_s, own_chars, body
    FROM transcript_segment_rows WHERE video_id = new.video_id;
    INSERT INTO transcript_segments_fts (rowid, body)
    SELECT id, body FROM transcript_segments WHERE video_id = new.video_id;
END;

-- name: unindex_deleted_transcript
CREATE TRIGGER IF NOT EXISTS transcripts_search_delete BEFORE DELETE ON transcripts
BEGIN
    INSERT INTO transcript_segments_fts (transcript_segments_fts, rowid, body)
    SELECT 'delete', id, body FROM transcript_segments WHERE video_id = old.video_id;
    DELETE FROM transcript_segments WHERE video_id = old.video_id;
END;

-- name: index_existing_transcripts
-- transcripts saved before the triggers existed (a store made by an older tubeq)
INSERT INTO transcript_segments (video_id, seg, start_s, next_start_s, own_chars, body)
SELECT video_id, seg, start_s, next_start_s, own_chars, body
FROM transcript_segment_rows r
WHERE NOT EXISTS (SELECT 1 FROM transcript_segments s WHERE s.video_id = r.video_id);

-- name: index_existing_segments
INSERT INTO transcript_segments_fts (transcript_segments_fts) VALUES ('rebuild');
