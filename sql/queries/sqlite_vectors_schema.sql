-- The vector file of the embedded store (shared/adapters/sqlite_vectors.py): sqlite-vec
-- over the embeddings of transcript passages and analyses (shared/embeddings.py), in a file
-- of its own, <data_dir>/vectors.sqlite3 (TUBEQ_VECTORS_PATH). Its own file because it is
-- opened through apsw, whose SQLite can load the sqlite-vec extension on every Python build
-- (the standard library's sqlite3 cannot on some: built without loadable extensions); two
-- SQLite libraries must never open the same file in one process (their POSIX locks would
-- not know of each other). Every block runs, in order, when the file is opened.
--
-- One row per (video, model, dims, kind, ref), with the sha256 of the text it was made
-- from, so a second embed run pays only for new or changed texts. Vectors are sqlite-vec's
-- float32 BLOBs; the search is an exact scan with vec_distance_cosine, filtered by model and
-- size first (fast enough for the embedded store's size: ~10 ms per 10,000 passages at 768
-- dimensions). vector_videos keeps what a hit shows and what search filters on, copied from
-- the result store at each embed run.

-- name: passage_vectors
CREATE TABLE IF NOT EXISTS passage_vectors (
    video_id TEXT NOT NULL,
    model TEXT NOT NULL,
    dims INTEGER NOT NULL CHECK (dims > 0),
    kind TEXT NOT NULL CHECK (kind IN ('segment', 'summary', 'key_point')),
    ref INTEGER NOT NULL CHECK (ref >= 0),
    at_s REAL NOT NULL DEFAULT 0,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    embedding BLOB NOT NULL CHECK (vec_length(embedding) = dims),
    embedded_at TEXT NOT NULL,
    PRIMARY KEY (video_id, model, dims, kind, ref)
);

-- name: passage_vectors_by_model
CREATE INDEX IF NOT EXISTS passage_vectors_by_model ON passage_vectors (model, dims);

-- name: vector_videos
CREATE TABLE IF NOT EXISTS vector_videos (
    video_id TEXT PRIMARY KEY,
    title TEXT,
    channel_id TEXT,
    channel_title TEXT,
    published_at TEXT,
    language TEXT
);
