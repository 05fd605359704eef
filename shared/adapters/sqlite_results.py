"""The embedded result store: one SQLite file holding videos, transcripts, analyses,
artifacts and failures. Implements both ``ResultStore`` (the pipeline writes) and
``ResultReader`` (the CLI, the API and the producer read).

Every write is an upsert by natural key, so at-least-once delivery never doubles a row:
videos and transcripts by video id, analyses by (video id, analysis version), artifacts by
(video id, kind), failures by (video id, attempts, error code).

Failures are a history: one row per failed attempt (a retried attempt with the same error
overwrites its own row). The video row carries the latest error for quick reads.

"Done" is per analysis version: an analysis row whose ``completed_at`` is set was part of
a ``record_success``. A row without it is a paid model reply kept by ``save_analysis`` for
reuse after a crash; it does not count as done.

Concurrency: WAL (readers never block the writer), a busy timeout (writers from several
processes wait for each other), ``BEGIN IMMEDIATE`` for every write (no lock upgrade
deadlocks), and one connection per store guarded by a lock (the consumer's threads share it).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from shared.adapters.sqlite_wal import enable_wal
from shared.classify import classify
from shared.errors import ConfigError, InvalidInput
from shared.models import (
    Analysis,
    ArtifactRef,
    FailureRecord,
    Progress,
    Quote,
    Transcript,
    Usage,
    VideoJob,
    VideoMeta,
    VideoResult,
    VideoState,
    VideoStatus,
)
from shared.settings import Settings

BUSY_TIMEOUT_S = 30.0
_FAILING = (VideoState.FAILED, VideoState.DEAD, VideoState.RETRYING)
_IN_CHUNK = 500  # stay well under SQLite's limit on bound parameters


class SQL:
    """Every statement this store runs, in one place (the core never builds SQL)."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS channels (
        channel_id TEXT PRIMARY KEY,
        title TEXT,
        updated_at TEXT NOT NULL
    );
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
    CREATE INDEX IF NOT EXISTS videos_by_state ON videos (state, updated_at);
    CREATE INDEX IF NOT EXISTS videos_by_channel ON videos (channel_id, published_at);
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
    CREATE TABLE IF NOT EXISTS artifacts (
        video_id TEXT NOT NULL REFERENCES videos (video_id),
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (video_id, kind)
    );
    CREATE TABLE IF NOT EXISTS claims (
        video_id TEXT NOT NULL,
        analysis_version TEXT NOT NULL,
        owner TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (video_id, analysis_version)
    );
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
    """

    # Take the claim when it is free, expired, or already ours; otherwise leave it alone.
    CLAIM = """
    INSERT INTO claims (video_id, analysis_version, owner, expires_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (video_id, analysis_version) DO UPDATE SET
        owner = excluded.owner, expires_at = excluded.expires_at
    WHERE claims.expires_at <= ? OR claims.owner = excluded.owner
    """
    CLAIM_HOLDER = """
    SELECT owner, expires_at FROM claims WHERE video_id = ? AND analysis_version = ?
    """

    UPSERT_CHANNEL = """
    INSERT INTO channels (channel_id, title, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (channel_id) DO UPDATE SET
        title = COALESCE(excluded.title, channels.title), updated_at = excluded.updated_at
    """
    # Meta only fills in what is known; the state applies to new videos only.
    UPSERT_VIDEO_META = """
    INSERT INTO videos
        (video_id, title, channel_id, published_at, duration_s, state, created_at, updated_at)
    VALUES (:video_id, :title, :channel_id, :published_at, :duration_s, :state, :at, :at)
    ON CONFLICT (video_id) DO UPDATE SET
        title = COALESCE(excluded.title, videos.title),
        channel_id = COALESCE(excluded.channel_id, videos.channel_id),
        published_at = COALESCE(excluded.published_at, videos.published_at),
        duration_s = COALESCE(excluded.duration_s, videos.duration_s)
    """
    # Enqueued again: a failed video will be tried again; a done one only if forced.
    REQUEUE = """
    UPDATE videos SET state = 'queued', updated_at = ?
    WHERE video_id = ? AND (state IN ('failed', 'dead', 'retrying') OR (state = 'done' AND ?))
    """
    INSERT_VIDEO_IF_MISSING = """
    INSERT INTO videos (video_id, state, created_at, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (video_id) DO NOTHING
    """
    MARK_DONE = """
    UPDATE videos SET state = 'done', attempts = ?, analysis_version = ?, error_code = NULL,
        error = NULL, error_detail = NULL, done_at = ?, updated_at = ?
    WHERE video_id = ?
    """
    MARK_FAILED = """
    UPDATE videos SET state = :state, attempts = :attempts, error_code = :error_code,
        error = :error, error_detail = :detail, updated_at = :at
    WHERE video_id = :video_id AND state <> 'done'
    """
    UPSERT_TRANSCRIPT = """
    INSERT INTO transcripts (video_id, language, language_name, is_generated, translated_from,
        source, text, segments, word_count, duration_s, updated_at)
    VALUES (:video_id, :language, :language_name, :is_generated, :translated_from, :source,
        :text, :segments, :word_count, :duration_s, :updated_at)
    ON CONFLICT (video_id) DO UPDATE SET
        language = excluded.language, language_name = excluded.language_name,
        is_generated = excluded.is_generated, translated_from = excluded.translated_from,
        source = excluded.source, text = excluded.text, segments = excluded.segments,
        word_count = excluded.word_count, duration_s = excluded.duration_s,
        updated_at = excluded.updated_at
    """
    # completed_at is only ever set, never cleared: saving again does not undo "done".
    UPSERT_ANALYSIS = """
    INSERT INTO analyses (video_id, analysis_version, analyzer, model, summary, key_points,
        topics, quotes, language, prompt_tokens, output_tokens, thinking_tokens, model_calls,
        cost_usd, created_at, saved_at, completed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (video_id, analysis_version) DO UPDATE SET
        analyzer = excluded.analyzer, model = excluded.model, summary = excluded.summary,
        key_points = excluded.key_points, topics = excluded.topics, quotes = excluded.quotes,
        language = excluded.language, prompt_tokens = excluded.prompt_tokens,
        output_tokens = excluded.output_tokens, thinking_tokens = excluded.thinking_tokens,
        model_calls = excluded.model_calls, cost_usd = excluded.cost_usd,
        created_at = excluded.created_at, saved_at = excluded.saved_at,
        completed_at = COALESCE(excluded.completed_at, analyses.completed_at)
    """
    UPSERT_ARTIFACT = """
    INSERT INTO artifacts (video_id, kind, key, content_type, size, updated_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (video_id, kind) DO UPDATE SET key = excluded.key,
        content_type = excluded.content_type, size = excluded.size,
        updated_at = excluded.updated_at
    """
    UPSERT_FAILURE = """
    INSERT INTO failures (video_id, attempts, error_code, state, error, detail, at)
    VALUES (:video_id, :attempts, :error_code, :state, :error, :detail, :at)
    ON CONFLICT (video_id, attempts, error_code) DO UPDATE SET state = excluded.state,
        error = excluded.error, detail = excluded.detail, at = excluded.at
    """
    FIND_ANALYSIS = "SELECT * FROM analyses WHERE video_id = ? AND analysis_version = ?"
    DONE_IDS = """
    SELECT video_id FROM analyses
    WHERE analysis_version = ? AND completed_at IS NOT NULL AND video_id IN ({marks})
    """
    VIDEO_STATES = "SELECT video_id, state FROM videos WHERE video_id IN ({marks})"
    VIDEO = """
    SELECT v.*, c.title AS channel_title, t.language AS transcript_language
    FROM videos v
    LEFT JOIN channels c ON c.channel_id = v.channel_id
    LEFT JOIN transcripts t ON t.video_id = v.video_id
    """
    LATEST_DONE_ANALYSIS = """
    SELECT * FROM analyses WHERE video_id = ? AND completed_at IS NOT NULL
    ORDER BY completed_at DESC, saved_at DESC LIMIT 1
    """
    ARTIFACTS = "SELECT * FROM artifacts WHERE video_id = ? ORDER BY kind"
    COUNT_BY_STATE = "SELECT state, count(*) AS n FROM videos GROUP BY state"
    USAGE_TOTALS = """
    SELECT count(*) AS analyses,
        COALESCE(sum(prompt_tokens), 0) AS prompt_tokens,
        COALESCE(sum(output_tokens), 0) AS output_tokens,
        COALESCE(sum(thinking_tokens), 0) AS thinking_tokens,
        COALESCE(sum(model_calls), 0) AS model_calls,
        COALESCE(sum(cost_usd), 0.0) AS cost_usd,
        (SELECT min(created_at) FROM videos) AS first_at
    FROM analyses
    """


def _ts(value: datetime | None) -> str | None:
    """A timestamp as fixed-width UTC ISO text, so text order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _now() -> str:
    return _ts(datetime.now(UTC)) or ""


class SqliteResultStore:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise ConfigError(
                f"TUBEQ_RESULTS_PATH: {self.path} is a folder; give a file path such as "
                f"{self.path / 'results.sqlite3'}"
            )
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            enable_wal(self._db)
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            with self._write() as db:
                # one statement at a time: executescript would COMMIT our BEGIN IMMEDIATE
                for statement in SQL.SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
        except sqlite3.Error as exc:
            raise classify(exc) from exc
        except OSError as exc:
            raise ConfigError(f"TUBEQ_RESULTS_PATH: cannot open {self.path}: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.results_file)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- plumbing -------------------------------------------------------------------

    def _write(self) -> _Txn:
        return _Txn(self._db, self._lock)

    def _read(self, query: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                return self._db.execute(query, params).fetchall()
        except sqlite3.Error as exc:
            raise classify(exc) from exc

    # ---- ResultStore ----------------------------------------------------------------

    def find_analysis(self, video_id: str, analysis_version: str) -> Analysis | None:
        rows = self._read(SQL.FIND_ANALYSIS, (video_id, analysis_version))
        return _analysis(rows[0]) if rows else None

    def save_analysis(self, analysis: Analysis) -> None:
        now = _now()
        with self._write() as db:
            # the analysis row refers to a video; make sure one exists without changing it
            db.execute(SQL.INSERT_VIDEO_IF_MISSING, (analysis.video_id, "processing", now, now))
            db.execute(SQL.UPSERT_ANALYSIS, _analysis_params(analysis, None))

    def claim_analysis(
        self, video_id: str, analysis_version: str, owner: str, ttl_s: float
    ) -> float:
        now = time.time()
        with self._write() as db:
            db.execute(SQL.CLAIM, (video_id, analysis_version, owner, now + ttl_s, now))
            holder, expires_at = db.execute(
                SQL.CLAIM_HOLDER, (video_id, analysis_version)
            ).fetchone()
        return 0.0 if holder == owner else max(0.001, float(expires_at) - now)

    def is_done(self, video_id: str, analysis_version: str) -> bool:
        return bool(self.done_ids([video_id], analysis_version))

    def record_success(self, result: VideoResult) -> None:
        vid = result.video.video_id
        if vid != result.analysis.video_id or vid != result.transcript.video_id:
            raise ValueError(f"result mixes videos: {vid}, {result.analysis.video_id}")
        finished = _ts(result.finished_at)
        t = result.transcript
        with self._write() as db:
            self._upsert_meta(db, result.video, state=VideoState.DONE.value, at=finished)
            db.execute(
                SQL.MARK_DONE,
                (result.attempts, result.analysis.analysis_version, finished, finished, vid),
            )
            db.execute(SQL.UPSERT_TRANSCRIPT, _transcript_params(t, finished))
            db.execute(SQL.UPSERT_ANALYSIS, _analysis_params(result.analysis, finished))
            for ref in result.artifacts:
                db.execute(
                    SQL.UPSERT_ARTIFACT,
                    (vid, ref.kind, ref.key, ref.content_type, ref.size, finished),
                )

    def record_failure(self, failure: FailureRecord) -> None:
        if failure.state not in _FAILING:
            raise InvalidInput(
                f"a failure of {failure.video_id} has state {failure.state.value!r}; "
                "use one of: failed, retrying, dead"
            )
        at = _ts(failure.at)
        meta = failure.meta or VideoMeta(video_id=failure.video_id)
        with self._write() as db:
            self._upsert_meta(db, meta, state=failure.state.value, at=at)
            # the WHERE in MARK_FAILED keeps a video that is done for some version done
            params = {**failure.model_dump(mode="json", exclude={"meta"}), "at": at}
            db.execute(SQL.MARK_FAILED, params)
            db.execute(SQL.UPSERT_FAILURE, params)

    def _upsert_meta(
        self, db: sqlite3.Connection, meta: VideoMeta, *, state: str, at: str | None
    ) -> None:
        if meta.channel_id:
            db.execute(SQL.UPSERT_CHANNEL, (meta.channel_id, meta.channel_title, _now()))
        params = meta.model_dump(mode="json") | {"published_at": _ts(meta.published_at)}
        db.execute(SQL.UPSERT_VIDEO_META, params | {"state": state, "at": at})

    # ---- ResultReader ---------------------------------------------------------------

    def mark_queued(self, jobs: Sequence[VideoJob]) -> None:
        with self._write() as db:
            for job in jobs:
                # _upsert_meta sets 'queued' only for new videos; REQUEUE handles known ones
                now = _now()
                self._upsert_meta(
                    db, job.meta or VideoMeta(video_id=job.video_id), state="queued", at=now
                )
                db.execute(SQL.REQUEUE, (now, job.video_id, job.force))

    def done_ids(self, video_ids: Sequence[str], analysis_version: str) -> set[str]:
        ids = list(dict.fromkeys(video_ids))
        done: set[str] = set()
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = ids[i : i + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._read(SQL.DONE_IDS.format(marks=marks), (analysis_version, *chunk))
            done.update(r["video_id"] for r in rows)
        return done

    def states(self, video_ids: Sequence[str]) -> dict[str, VideoState]:
        ids = list(dict.fromkeys(video_ids))
        found: dict[str, VideoState] = {}
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = ids[i : i + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._read(SQL.VIDEO_STATES.format(marks=marks), chunk)
            found.update((r["video_id"], VideoState(r["state"])) for r in rows)
        return found

    def get_video(self, video_id: str) -> VideoStatus | None:
        rows = self._read(SQL.VIDEO + " WHERE v.video_id = ?", (video_id,))
        return self._status(rows[0]) if rows else None

    def progress(self) -> Progress:
        by_state = {s.value: 0 for s in VideoState}
        for row in self._read(SQL.COUNT_BY_STATE):
            by_state[row["state"]] = row["n"]
        (u,) = self._read(SQL.USAGE_TOTALS)
        usage = Usage(
            prompt_tokens=u["prompt_tokens"],
            output_tokens=u["output_tokens"],
            thinking_tokens=u["thinking_tokens"],
            model_calls=u["model_calls"],
            cost_usd=round(u["cost_usd"], 8),
        )
        first = _dt(u["first_at"])
        return Progress(
            by_state=by_state,
            total_videos=sum(by_state.values()),
            analyses=u["analyses"],
            usage=usage,
            first_day=first.date() if first else None,
        )

    def failures(self, limit: int = 50) -> list[VideoStatus]:
        marks = ",".join("?" * len(_FAILING))
        rows = self._read(
            SQL.VIDEO + f" WHERE v.state IN ({marks}) ORDER BY v.updated_at DESC, v.rowid DESC"
            " LIMIT ?",
            (*[s.value for s in _FAILING], max(0, limit)),
        )
        return [self._status(r) for r in rows]

    def channel_results(self, channel_id: str) -> Iterator[VideoStatus]:
        rows = self._read(
            SQL.VIDEO + " WHERE v.channel_id = ? ORDER BY v.published_at, v.video_id",
            (channel_id,),
        )
        # rows are fetched first so no cursor (or lock) is held while the caller iterates
        for row in rows:
            yield self._status(row)

    def _status(self, row: sqlite3.Row) -> VideoStatus:
        vid = row["video_id"]
        analyses = self._read(SQL.LATEST_DONE_ANALYSIS, (vid,))
        artifacts = self._read(SQL.ARTIFACTS, (vid,))
        has_meta = any(row[k] is not None for k in ("title", "channel_id", "published_at"))
        meta = (
            VideoMeta(
                video_id=vid,
                title=row["title"],
                channel_id=row["channel_id"],
                channel_title=row["channel_title"],
                published_at=_dt(row["published_at"]),
                duration_s=row["duration_s"],
            )
            if has_meta or row["duration_s"] is not None
            else None
        )
        return VideoStatus(
            video_id=vid,
            state=VideoState(row["state"]),
            meta=meta,
            analysis=_analysis(analyses[0]) if analyses else None,
            transcript_language=row["transcript_language"],
            artifacts=tuple(
                ArtifactRef(
                    kind=a["kind"], key=a["key"], content_type=a["content_type"], size=a["size"]
                )
                for a in artifacts
            ),
            attempts=row["attempts"],
            error_code=row["error_code"],
            error=row["error"],
            updated_at=_dt(row["updated_at"]),
        )


class _Txn:
    """``with store._write() as db``: hold the lock, BEGIN IMMEDIATE, commit or roll back."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._lock.release()
            raise classify(exc) from exc
        return self._db

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            if exc is None:
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error as err:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise classify(err) from err
            elif self._db.in_transaction:
                self._db.execute("ROLLBACK")
        finally:
            self._lock.release()
        if isinstance(exc, sqlite3.Error):
            raise classify(exc) from exc


def _transcript_params(t: Transcript, updated_at: str | None) -> dict[str, Any]:
    segments = [{"start": s.start, "duration": s.duration, "text": s.text} for s in t.segments]
    return t.model_dump(mode="json", exclude={"segments", "meta", "video_id"}) | {
        "video_id": t.video_id,
        "text": t.text,
        "segments": json.dumps(segments, ensure_ascii=False),
        "word_count": t.word_count,
        "duration_s": t.duration_s,
        "updated_at": updated_at,
    }


def _analysis_params(a: Analysis, completed_at: str | None) -> tuple[Any, ...]:
    quotes = [q.model_dump(mode="json") for q in a.quotes]
    u = a.usage
    return (
        a.video_id,
        a.analysis_version,
        a.analyzer,
        a.model,
        a.summary,
        json.dumps(a.key_points, ensure_ascii=False),
        json.dumps(a.topics, ensure_ascii=False),
        json.dumps(quotes, ensure_ascii=False),
        a.language,
        u.prompt_tokens,
        u.output_tokens,
        u.thinking_tokens,
        u.model_calls,
        u.cost_usd,
        _ts(a.created_at),
        _now(),
        completed_at,
    )


def _analysis(row: sqlite3.Row) -> Analysis:
    return Analysis(
        video_id=row["video_id"],
        analysis_version=row["analysis_version"],
        analyzer=row["analyzer"],
        model=row["model"],
        summary=row["summary"],
        key_points=json.loads(row["key_points"]),
        topics=json.loads(row["topics"]),
        quotes=[Quote.model_validate(q) for q in json.loads(row["quotes"])],
        language=row["language"],
        usage=Usage(
            prompt_tokens=row["prompt_tokens"],
            output_tokens=row["output_tokens"],
            thinking_tokens=row["thinking_tokens"],
            model_calls=row["model_calls"],
            cost_usd=row["cost_usd"],
        ),
        created_at=_dt(row["created_at"]),
    )
