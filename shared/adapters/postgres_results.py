"""The result store on PostgreSQL through psycopg 3: any Postgres, or Supabase's pooler.

Every method is ONE call of a function from ``sql/005_functions.sql`` (the same functions
the Supabase adapter calls over PostgREST), so a finished video is written in one round
trip and one transaction. Payloads go in and come back as the pydantic models' JSON.

Why the statements look as they do: each call is a single simple-protocol message
``SET LOCAL statement_timeout = …; SELECT fn(<literal>)``. Several statements in one
message run as one implicit transaction, so the timeout applies to this call only, no
session state leaks, and no prepared statement is created. That works unchanged through
Supabase's transaction pooler and pgbouncer (``prepare_threshold=None`` besides). The
payload is quoted by psycopg (``sql.Literal``), never by string formatting.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

import psycopg
from psycopg import pq, sql
from psycopg.types.json import Jsonb

from shared.classify import classify
from shared.errors import ConfigError, InvalidInput, PermanentError, UpstreamUnavailable
from shared.models import (
    Analysis,
    FailureRecord,
    Progress,
    VideoJob,
    VideoResult,
    VideoState,
    VideoStatus,
)
from shared.settings import Settings

#: videos per mark_queued call and rows per channel_results page: bounded statements
CHUNK = 200
#: ids per tubeq_video_states call: a few kB of request, one index probe per id
STATES_CHUNK = 500


# ---- shared with the Supabase adapter: payloads in, models out -------------------------


def jobs_payload(jobs: Sequence[VideoJob]) -> dict[str, Any]:
    return {"jobs": [job.model_dump(mode="json") for job in jobs]}


#: the longest claim tubeq_claim_analysis accepts (a week); a claim is meant to cover one
#: analysis, and an owner that died holding it delays the video this long at most
MAX_CLAIM_TTL_S = 7 * 86400.0


def claim_payload(video_id: str, analysis_version: str, owner: str, ttl_s: float) -> dict[str, Any]:
    """The tubeq_claim_analysis payload; refuses what the function would refuse, earlier."""
    # 0 is allowed: the owner lets its claim expire now (a release)
    if not (0 <= ttl_s <= MAX_CLAIM_TTL_S):  # also false for NaN
        raise InvalidInput(
            f"claim ttl_s must be from 0 to {MAX_CLAIM_TTL_S:.0f} seconds, got {ttl_s!r}"
        )
    for name, value in (
        ("video_id", video_id),
        ("analysis_version", analysis_version),
        ("owner", owner),
    ):
        if not value:
            raise InvalidInput(f"claim {name} is empty")
    return {
        "video_id": video_id,
        "analysis_version": analysis_version,
        "owner": owner,
        "ttl_s": float(ttl_s),
    }


def parse_analysis(data: Any) -> Analysis | None:
    return Analysis.model_validate(data) if data else None


def parse_statuses(data: Any) -> list[VideoStatus]:
    return [VideoStatus.model_validate(item) for item in (data or [])]


def parse_states(data: Any) -> dict[str, VideoState]:
    """tubeq_video_states' ``{video_id: state}`` object as the port's dict."""
    if data is None:
        return {}
    try:
        if not isinstance(data, dict):
            raise TypeError(f"a {type(data).__name__}, not an object")
        return {str(vid): VideoState(state) for vid, state in data.items()}
    except (TypeError, ValueError) as exc:
        # the database's function does not match this code: an old or a foreign schema
        raise PermanentError(
            f"tubeq_video_states answered in an unexpected shape ({exc}); "
            "apply the migrations in sql/ with `tubeq db migrate`"
        ) from None


def page_cursor(page: list[VideoStatus]) -> tuple[str | None, str]:
    """(published_at, video_id) of a page's last row: where the next page starts."""
    last = page[-1]
    published = last.meta.published_at if last.meta else None
    return (published.isoformat() if published else None), last.video_id


class _ConnectionPool:
    """A small thread-safe pool: at most ``size`` connections, idle ones reused.

    psycopg_pool is not a dependency; this is all the store needs. A connection that broke
    is closed and replaced on the next checkout.
    """

    def __init__(self, dsn: str, *, size: int, timeout_s: float) -> None:
        self._dsn = dsn
        self._timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._closed = False

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._dsn,
            autocommit=True,
            prepare_threshold=None,
            connect_timeout=max(1, round(self._timeout_s)),
            application_name="tubeq",
        )

    @contextmanager
    def connection(self) -> Iterator[tuple[psycopg.Connection[Any], bool]]:
        """Yield (connection, reused): reused is True when it came from the idle list."""
        if self._closed:
            raise ConfigError("the Postgres result store was closed; build a new one")
        if not self._slots.acquire(timeout=self._timeout_s):
            raise UpstreamUnavailable(
                f"all Postgres connections stayed busy for {self._timeout_s:.0f}s "
                "(raise TUBEQ_DATABASE_POOL_SIZE or lower TUBEQ_CONCURRENCY)"
            )
        conn: psycopg.Connection[Any] | None = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            reused = conn is not None
            if conn is None:
                conn = self._connect()
            yield conn, reused
        finally:
            if conn is not None:
                healthy = (
                    not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE
                )
                with self._lock:
                    if healthy and not self._closed:
                        self._idle.append(conn)
                        conn = None
                if conn is not None:
                    conn.close()
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class PostgresResultStore:
    """ResultStore and ResultReader on Postgres; thread-safe (a connection per call)."""

    name = "postgres"

    def __init__(self, dsn: str, *, pool_size: int = 4, timeout_s: float = 30.0) -> None:
        if not dsn.strip():
            raise ConfigError("TUBEQ_DATABASE_URL is empty: give a Postgres DSN")
        self._statement_timeout_ms = int(timeout_s * 1000)
        self._pool = _ConnectionPool(dsn, size=pool_size, timeout_s=timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        if settings.database_url is None:
            raise ConfigError("TUBEQ_DATABASE_URL is not set: the postgres result store needs it")
        return cls(
            settings.database_url.get_secret_value(),
            pool_size=settings.database_pool_size,
            timeout_s=settings.database_timeout_s,
        )

    def close(self) -> None:
        self._pool.close()

    def call(self, function: str, *args: object) -> Any:
        """``SELECT function(args…)`` in one round trip; returns the single value."""
        query = sql.SQL("SET LOCAL statement_timeout = {}; SELECT {}({})").format(
            sql.Literal(self._statement_timeout_ms),
            sql.Identifier(function),
            sql.SQL(", ").join(sql.Literal(a) for a in args),
        )
        for attempt in (1, 2):
            try:
                with self._pool.connection() as (conn, reused):
                    try:
                        cur = conn.execute(query)
                        cur.nextset()  # past the SET to the SELECT's result
                        row = cur.fetchone()
                        return row[0] if row else None
                    except psycopg.OperationalError:
                        # an idle connection the server dropped (restart, idle timeout):
                        # the calls are idempotent, so one fresh try is safe
                        if reused and conn.broken and attempt == 1:
                            continue
                        raise
            except psycopg.Error as exc:
                raise classify(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- ResultStore ------------------------------------------------------------------

    def find_analysis(self, video_id: str, analysis_version: str) -> Analysis | None:
        return parse_analysis(self.call("tubeq_find_analysis", video_id, analysis_version))

    def save_analysis(self, analysis: Analysis) -> None:
        self.call("tubeq_save_analysis", Jsonb(analysis.model_dump(mode="json")))

    def is_done(self, video_id: str, analysis_version: str) -> bool:
        return video_id in self.done_ids([video_id], analysis_version)

    def record_success(self, result: VideoResult) -> None:
        self.call("tubeq_record_success", Jsonb(result.model_dump(mode="json")))

    def record_failure(self, failure: FailureRecord) -> None:
        self.call("tubeq_record_failure", Jsonb(failure.model_dump(mode="json")))

    def claim_analysis(
        self, video_id: str, analysis_version: str, owner: str, ttl_s: float
    ) -> float:
        """Claim the model call for this video and version: 0.0 when ours, else the
        seconds until the current holder's claim expires (see ``tubeq_claim_analysis``)."""
        payload = claim_payload(video_id, analysis_version, owner, ttl_s)
        return float(self.call("tubeq_claim_analysis", Jsonb(payload)))

    # ---- ResultReader -----------------------------------------------------------------

    def get_video(self, video_id: str) -> VideoStatus | None:
        data = self.call("tubeq_get_video", video_id)
        return VideoStatus.model_validate(data) if data else None

    def progress(self) -> Progress:
        return Progress.model_validate(self.call("tubeq_progress"))

    def failures(self, limit: int = 50) -> list[VideoStatus]:
        return parse_statuses(self.call("tubeq_failures", max(0, limit)))

    def done_ids(self, video_ids: Sequence[str], analysis_version: str) -> set[str]:
        ids = list(dict.fromkeys(video_ids))
        done: set[str] = set()
        for i in range(0, len(ids), CHUNK * 5):
            done.update(self.call("tubeq_done_ids", ids[i : i + CHUNK * 5], analysis_version))
        return done

    def states(self, video_ids: Sequence[str]) -> dict[str, VideoState]:
        ids = list(dict.fromkeys(video_ids))
        found: dict[str, VideoState] = {}
        for i in range(0, len(ids), STATES_CHUNK):
            found.update(parse_states(self.call("tubeq_video_states", ids[i : i + STATES_CHUNK])))
        return found

    def mark_queued(self, jobs: Sequence[VideoJob]) -> None:
        for i in range(0, len(jobs), CHUNK):
            self.call("tubeq_mark_queued", Jsonb(jobs_payload(jobs[i : i + CHUNK])))

    def channel_results(self, channel_id: str) -> Iterator[VideoStatus]:
        after: tuple[str | None, str | None] = (None, None)
        while True:
            page = parse_statuses(
                self.call("tubeq_channel_results", channel_id, after[0], after[1], CHUNK)
            )
            yield from page
            if len(page) < CHUNK:
                return
            after = page_cursor(page)
