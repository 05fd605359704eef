"""The embedded result store: one SQLite file holding videos, transcripts, analyses,
artifacts, claims, failures and the spend ledger. Implements the four result ports
(``AnalysisClaims``, ``VideoStates``, ``ResultWriter``, ``AnalystReader``) and the
``SpendLedger``. Every statement is a named block of
``sql/queries/sqlite.sql`` (the same rules as the Postgres functions, side by side with
``postgres.sql``); the tables are ``sql/queries/sqlite_schema.sql``.

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
deadlocks), and one connection per store guarded by a lock (the consumer's threads share it):
``_sqlite_results_txn``. The ports beside the per-video ones live in modules of their own:
the Gemini batches (``_sqlite_results_batches``), the running consumers
(``_sqlite_consumers``) and the dashboard's reads (``_sqlite_dashboard_queries``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from shared.adapter_settings import SqliteStoreSettings
from shared.adapters import _sqlite_consumers, _sqlite_dashboard_queries
from shared.adapters._sqlite_results_batches import SqliteBatchStore
from shared.adapters._sqlite_results_file import connect, results_file
from shared.adapters._sqlite_results_rows import (
    analysis_of,
    analysis_params,
    call_params,
    dt,
    id_list,
    meta_params,
    now,
    status_of,
    transcript_params,
    ts,
    usage_sums,
)
from shared.adapters._sqlite_results_txn import Txn, run_one
from shared.adapters._sqlite_search_index import create_search_index
from shared.classify import classify
from shared.errors import ConfigError
from shared.fleet import ConsumerBeat, RunningConsumer
from shared.models import (
    Analysis,
    BilledCall,
    ChannelSummary,
    FailureRecord,
    Progress,
    VideoJob,
    VideoMeta,
    VideoResult,
    VideoState,
    VideoStatus,
)
from shared.results_common import check_failure, check_result, claim_payload
from shared.sql_queries import Queries, load
from shared.sqlite_wal import enable_wal
from shared.templates.results import TemplateResult

SQLITE: Queries = load("sqlite.sql")
SCHEMA: Queries = load("sqlite_schema.sql")


class SqliteResultStore(SqliteBatchStore):
    """The result ports and the spend ledger in one SQLite file; ``BatchStore`` comes from
    ``SqliteBatchStore``."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = results_file(path, must_exist=False)
        self._lock = threading.Lock()
        try:
            self._db = connect(self.path)
            enable_wal(self._db)
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            with self._write() as db:
                # one statement at a time: executescript would COMMIT our BEGIN IMMEDIATE
                for statement in SCHEMA.values():
                    db.execute(statement)
                # full-text search: its triggers index every transcript saved from now on
                create_search_index(db)
                _sqlite_dashboard_queries.create_template_tables(db)
        except sqlite3.Error as exc:
            raise classify(exc) from exc
        except OSError as exc:
            raise ConfigError(f"TUBEQ_RESULTS_PATH: cannot open {self.path}: {exc}") from exc

    @classmethod
    def from_settings(cls, section: SqliteStoreSettings) -> Self:
        return cls(section.file)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- plumbing -------------------------------------------------------------------

    def _write(self) -> Txn:
        return Txn(self._db, self._lock)

    def _read(self, query: str, params: dict[str, Any] | None = None) -> list[sqlite3.Row]:
        return run_one(self._db, self._lock, SQLITE[query], params or {})

    def _write_one(self, sql: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        """One write statement on its own (``_sqlite_results_txn.run_one``)."""
        return run_one(self._db, self._lock, sql, params)

    @staticmethod
    def _merge_video(
        db: sqlite3.Connection, meta: VideoMeta, *, state: str, at: str | None
    ) -> None:
        """tubeq__merge_video: the channel and the video, known facts only; ``state`` for a
        new video (each writer then decides what happens to a known one)."""
        params = meta_params(meta, state=state, at=at)
        if params["channel_id"] is not None:  # the block itself does nothing without one
            db.execute(SQLITE["merge_video.channel"], params)
        db.execute(SQLITE["merge_video.video"], params)

    # ---- AnalysisClaims -------------------------------------------------------------

    def find_analysis(self, video_id: str, analysis_version: str) -> Analysis | None:
        params = {"video_id": video_id, "analysis_version": analysis_version}
        rows = self._read("find_analysis", params)
        return analysis_of(rows[0]) if rows else None

    def save_analysis(self, analysis: Analysis) -> None:
        with self._write() as db:
            db.execute(SQLITE["save_analysis.video"], {"video_id": analysis.video_id, "at": now()})
            db.execute(SQLITE["upsert_analysis"], analysis_params(analysis, None))

    def claim_analysis(
        self, video_id: str, analysis_version: str, owner: str, ttl_s: float
    ) -> float:
        params = claim_payload(video_id, analysis_version, owner, ttl_s) | {"now": time.time()}
        ((held, wait_s),) = self._write_one(SQLITE["claim_analysis"], params)
        return 0.0 if held else max(0.001, float(wait_s))

    # ---- VideoStates ----------------------------------------------------------------

    def is_done(self, video_id: str, analysis_version: str) -> bool:
        return bool(self.done_ids([video_id], analysis_version))

    def done_ids(self, video_ids: Sequence[str], analysis_version: str) -> set[str]:
        params = {"video_ids": id_list(video_ids), "analysis_version": analysis_version}
        return {row["video_id"] for row in self._read("done_ids", params)}

    def states(self, video_ids: Sequence[str]) -> dict[str, VideoState]:
        rows = self._read("video_states", {"video_ids": id_list(video_ids)})
        return {row["video_id"]: VideoState(row["state"]) for row in rows}

    def mark_queued(self, jobs: Sequence[VideoJob]) -> None:
        with self._write() as db:
            for job in jobs:
                at = now()
                meta = job.meta or VideoMeta(video_id=job.video_id)
                self._merge_video(db, meta, state=VideoState.QUEUED.value, at=at)
                requeue = {"video_id": job.video_id, "force": job.force, "at": at}
                db.execute(SQLITE["mark_queued.requeue"], requeue)

    # ---- ResultWriter ---------------------------------------------------------------

    def record_success(self, result: VideoResult) -> None:
        """One transaction of seven statements: the channel, the video (its facts and done),
        the transcript, the analysis, stale artifacts out, every artifact in."""
        check_result(result)
        vid = result.video.video_id
        at = ts(result.finished_at)
        video = meta_params(result.video, state=VideoState.DONE.value, at=at) | {
            "attempts": result.attempts,
            "analysis_version": result.analysis.analysis_version,
        }
        refs = [ref.model_dump(mode="json") for ref in result.artifacts]
        artifacts = {"video_id": vid, "at": at, "artifacts": json.dumps(refs)}
        kinds = id_list([ref.kind for ref in result.artifacts])
        transcript = transcript_params(result.transcript, at)
        with self._write() as db:
            if video["channel_id"] is not None:
                db.execute(SQLITE["merge_video.channel"], video)
            db.execute(SQLITE["record_success.video"], video)
            db.execute(SQLITE["record_success.transcript"], transcript)
            db.execute(SQLITE["upsert_analysis"], analysis_params(result.analysis, at))
            db.execute(
                SQLITE["record_success.drop_stale_artifacts"], {"video_id": vid, "kinds": kinds}
            )
            db.execute(SQLITE["record_success.artifacts"], artifacts)

    def record_failure(self, failure: FailureRecord) -> None:
        check_failure(failure)
        at = ts(failure.at)
        meta = failure.meta or VideoMeta(video_id=failure.video_id)
        params = failure.model_dump(mode="json", exclude={"meta"}) | {"at": at}
        with self._write() as db:
            self._merge_video(db, meta, state=failure.state.value, at=at)
            db.execute(SQLITE["record_failure.mark_failed"], params)
            db.execute(SQLITE["record_failure.history"], params)

    # ---- SpendLedger ----------------------------------------------------------------

    def record_call(self, call: BilledCall) -> None:
        self._write_one(SQLITE["record_call"], call_params(call))

    # ---- AnalystReader --------------------------------------------------------------

    def get_video(self, video_id: str) -> VideoStatus | None:
        rows = self._read("get_video", {"video_id": video_id})
        return self._status(rows[0]) if rows else None

    def progress(self) -> Progress:
        by_state = {s.value: 0 for s in VideoState}
        for row in self._read("progress.by_state"):
            by_state[row["state"]] = row["n"]
        (kept,) = self._read("progress.analyses")
        (ledger,) = self._read("progress.ledger")
        (unledgered,) = self._read("progress.unledgered")
        outcomes = {row["outcome"]: row["n"] for row in self._read("progress.outcomes")}
        firsts = [d for d in (dt(ledger["first_at"]), dt(unledgered["first_at"])) if d]
        return Progress(
            by_state=by_state,
            total_videos=sum(by_state.values()),
            analyses=kept["analyses"],
            usage=usage_sums(ledger) + usage_sums(unledgered),
            analysis_usage=usage_sums(kept),
            calls_by_outcome=outcomes,
            first_day=min(firsts).date() if firsts else None,
        )

    def failures(self, limit: int = 50) -> list[VideoStatus]:
        return [self._status(row) for row in self._read("failures", {"limit": limit})]

    def channel_results(self, channel_id: str) -> Iterator[VideoStatus]:
        rows = self._read("channel_results", {"channel_id": channel_id})
        # rows are fetched first so no cursor (or lock) is held while the caller iterates
        for row in rows:
            yield self._status(row)

    def channels(self) -> list[ChannelSummary]:
        """``ChannelDirectory``: every channel with its videos counted by state."""
        return _sqlite_dashboard_queries.channels(self._db, self._lock)

    def finished_since(self, since: datetime) -> list[datetime]:
        """``ActivityReader``: when each video done since then finished (the dashboard)."""
        return _sqlite_dashboard_queries.finished_since(self._db, self._lock, since)

    def template_results(self, video_id: str) -> list[TemplateResult]:
        """``TemplateResultReader``: a video's template results (the video page)."""
        return _sqlite_dashboard_queries.template_results(self._db, self._lock, video_id)

    # ---- ConsumerRegistry (the overview's running consumers; _sqlite_consumers) --------

    def consumer_beat(self, beat: ConsumerBeat) -> None:
        _sqlite_consumers.beat(self._write, beat)

    def consumer_gone(self, consumer_id: str) -> None:
        _sqlite_consumers.gone(self._db, self._lock, consumer_id)

    def consumers(self) -> list[RunningConsumer]:
        return _sqlite_consumers.consumers(self._db, self._lock)

    def _status(self, row: sqlite3.Row) -> VideoStatus:
        vid = {"video_id": row["video_id"]}
        return status_of(
            row, self._read("status_analysis", vid), self._read("status_artifacts", vid)
        )
