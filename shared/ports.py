"""The ports: one small Protocol per outside system.

The core (``consumer.pipeline``, ``consumer.runner``, ``producer``) depends only on these.
Every port has an embedded adapter (the default, zero setup) and a production adapter in
``shared.adapters``; the same contract tests in ``tests/contract`` run against each.

Every method may raise a ``shared.errors.TubeqError``; adapters translate their library's
exceptions through ``shared.classify`` so the core never sees a library exception type.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Protocol, runtime_checkable

from shared.models import (
    Analysis,
    DeadLetter,
    Delivery,
    FailureRecord,
    Progress,
    QueueStats,
    Transcript,
    VideoJob,
    VideoMeta,
    VideoResult,
    VideoState,
    VideoStatus,
)


@runtime_checkable
class Queue(Protocol):
    """At-least-once job queue with leases, retries and a dead-letter queue.

    Semantics follow Cloudflare Queues: a pulled message is leased for the visibility
    timeout; unless acked or retried in time it is delivered again. ``retry`` counts an
    attempt; a message retried when it has been delivered ``max_retries + 1`` times goes to
    the dead-letter queue instead.
    """

    def send(self, jobs: Sequence[VideoJob], *, delay_s: int = 0) -> int:
        """Enqueue jobs (chunked by the adapter to its batch limits); returns how many."""
        ...

    def pull(self, batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        """Lease up to ``batch_size`` ready messages."""
        ...

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Done with these: delete them. Acking twice, or after the lease expired, is harmless."""
        ...

    def retry(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        """Redeliver after ``delay_s`` (or dead-letter it when out of retries)."""
        ...

    def extend(self, delivery: Delivery, visibility_timeout_s: float) -> bool:
        """Push the lease out; False where the backend cannot (the runner then keeps to
        the original lease)."""
        ...

    def stats(self) -> QueueStats: ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    def redrive(self, message_ids: Sequence[str] | None = None) -> int:
        """Move dead letters (all, or these) back to the queue with fresh attempts."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class TranscriptSource(Protocol):
    name: str

    def fetch(self, video_id: str) -> Transcript:
        """The transcript of a video, or a PermanentError/TransientError saying why not."""
        ...


@runtime_checkable
class Analyzer(Protocol):
    name: str

    @property
    def analysis_version(self) -> str:
        """Part of the idempotency key: changes when the model or prompt changes."""
        ...

    def analyze(self, transcript: Transcript, meta: VideoMeta | None) -> Analysis: ...


@runtime_checkable
class ResultStore(Protocol):
    """Where the pipeline writes. Every write is an upsert by natural key."""

    def find_analysis(self, video_id: str, analysis_version: str) -> Analysis | None:
        """A saved analysis of this version, finished video or not (a paid result to reuse)."""
        ...

    def save_analysis(self, analysis: Analysis) -> None:
        """Keep a model reply the moment it arrives, before any later step can fail."""
        ...

    def is_done(self, video_id: str, analysis_version: str) -> bool: ...

    def claim_analysis(
        self, video_id: str, analysis_version: str, owner: str, ttl_s: float
    ) -> float:
        """Take (or renew) the right to pay for this analysis for ``ttl_s`` seconds.

        Returns 0 when ``owner`` holds the claim afterwards, else the seconds until the
        current holder's claim expires. Two copies of one message running at once (at-least
        -once delivery) then never both call the model.
        """
        ...

    def record_success(self, result: VideoResult) -> None:
        """Video, transcript, analysis, artifacts and state, in one transaction."""
        ...

    def record_failure(self, failure: FailureRecord) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class ResultReader(Protocol):
    """What the CLI, the API and the producer read back."""

    def get_video(self, video_id: str) -> VideoStatus | None: ...

    def progress(self) -> Progress: ...

    def failures(self, limit: int = 50) -> list[VideoStatus]: ...

    def done_ids(self, video_ids: Sequence[str], analysis_version: str) -> set[str]:
        """Which of these are already analysed with this version (backfill skips them)."""
        ...

    def states(self, video_ids: Sequence[str]) -> dict[str, VideoState]:
        """The current state of each known video among these (unknown ids are absent).

        Any number of ids: the adapter splits them into bounded queries, so a backfill of
        thousands of videos costs a few round trips, not one per video.
        """
        ...

    def mark_queued(self, jobs: Sequence[VideoJob]) -> None:
        """Note enqueued videos (state 'queued' unless already further along)."""
        ...

    def channel_results(self, channel_id: str) -> Iterator[VideoStatus]:
        """Every video of a channel with its analysis, for exports."""
        ...


@runtime_checkable
class ArtifactStore(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write (or overwrite) an object; keys are deterministic, so retries overwrite."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def content_type(self, key: str) -> str:
        """The content type the object was stored with."""
        ...

    def url(self, key: str, expires_in: timedelta) -> str:
        """A link anyone can download the object from, valid for ``expires_in``."""
        ...
