"""The result store: four narrow ports, one backend that has them all, the two transitional
wide ports, and the capabilities a store may declare (channels, activity)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from shared.models import (
    Analysis,
    ChannelSummary,
    FailureRecord,
    Progress,
    VideoJob,
    VideoResult,
    VideoState,
    VideoStatus,
)
from shared.ports.budget import SpendLedger

# ---- four narrow ports, one backend that has them all -----------------------------------
# Each consumer names the narrow port it uses; every result adapter (SQLite, Postgres,
# Supabase) implements all four and the ``SpendLedger`` (``shared.ports.budget``), and
# ``ResultBackend`` is what the factory builds.


@runtime_checkable
class AnalysisClaims(Protocol):
    """Who may pay for an analysis, and the paid replies kept for reuse (the pipeline)."""

    def find_analysis(self, video_id: str, analysis_version: str) -> Analysis | None:
        """A saved analysis of this version, finished video or not (a paid result to reuse)."""
        ...

    def save_analysis(self, analysis: Analysis) -> None:
        """Keep a model reply the moment it arrives, before any later step can fail."""
        ...

    def claim_analysis(
        self, video_id: str, analysis_version: str, owner: str, ttl_s: float
    ) -> float:
        """Take (or renew) the right to pay for this analysis for ``ttl_s`` seconds.

        Returns 0 when ``owner`` holds the claim afterwards, else the seconds until the
        current holder's claim expires. Two copies of one message running at once (at-least
        -once delivery) then never both call the model. A ``ttl_s`` of 0 releases one's own
        claim; outside 0 s to 7 days is ``InvalidInput``.
        """
        ...


@runtime_checkable
class VideoStates(Protocol):
    """Where each video stands (the pipeline's skip, enqueueing and backfill dedupe)."""

    def is_done(self, video_id: str, analysis_version: str) -> bool: ...

    def done_ids(self, video_ids: Sequence[str], analysis_version: str) -> set[str]:
        """Which of these are already analysed with this version (backfill skips them)."""
        ...

    def states(self, video_ids: Sequence[str]) -> dict[str, VideoState]:
        """The current state of each known video among these (unknown ids are absent).

        Any number of ids: the adapter splits them into bounded queries where it must, so
        a backfill of thousands of videos costs a few round trips, not one per video.
        """
        ...

    def mark_queued(self, jobs: Sequence[VideoJob]) -> None:
        """Note enqueued videos (state 'queued' unless already further along)."""
        ...


@runtime_checkable
class ResultWriter(Protocol):
    """Where the pipeline and the runner write outcomes. Every write is an upsert by
    natural key, so a redelivered message never doubles a row."""

    def record_success(self, result: VideoResult) -> None:
        """Video, transcript, analysis, artifacts and state, in one transaction."""
        ...

    def record_failure(self, failure: FailureRecord) -> None:
        """One failed attempt: kept in the history, shown on the video unless it is done."""
        ...


@runtime_checkable
class AnalystReader(Protocol):
    """What the CLI, the API and the exports read back."""

    def get_video(self, video_id: str) -> VideoStatus | None: ...

    def progress(self) -> Progress: ...

    def failures(self, limit: int = 50) -> list[VideoStatus]: ...

    def channel_results(self, channel_id: str) -> Iterator[VideoStatus]:
        """Every video of a channel with its analysis, for exports."""
        ...


@runtime_checkable
class ResultBackend(
    AnalysisClaims, VideoStates, ResultWriter, AnalystReader, SpendLedger, Protocol
):
    """A result adapter: all four ports on one store, which its owner closes; it also keeps
    the spend ledger (the composition root hands it to the analyzer as its ``SpendLedger``)."""

    name: str

    def close(self) -> None: ...


# Transitional, until every consumer names its narrow port: the two wide ports they use
# today (the pipeline and runner take ``ResultStore``, the producer and API take
# ``ResultReader``). New code takes the narrow ports above.


@runtime_checkable
class ResultStore(AnalysisClaims, VideoStates, ResultWriter, Protocol):
    """Deprecated: the pipeline's side; use ``AnalysisClaims``/``VideoStates``/``ResultWriter``."""

    def close(self) -> None: ...


@runtime_checkable
class ResultReader(VideoStates, AnalystReader, Protocol):
    """Deprecated: the producer's and the API's side; use ``VideoStates``/``AnalystReader``."""


# ---- capabilities a result store declares (issue 10) -------------------------------------


@runtime_checkable
class ChannelDirectory(Protocol):
    """A declared capability of a result store: the channels it holds videos of, with
    counts (``tubeq channels``, ``tubeq export`` without a channel, the dashboard). Every
    result store has it (Postgres and Supabase through ``tubeq_channels``, sql/019); a
    store without it lists no channels."""

    def channels(self) -> list[ChannelSummary]: ...


@runtime_checkable
class ActivityReader(Protocol):
    """A declared capability of a result store: when videos finished, for the dashboard's
    throughput and ETA (``producer.dashboard``). Every result store has it (Postgres and
    Supabase through ``tubeq_finished_since``, sql/019); without it the dashboard says
    throughput is unknown."""

    def finished_since(self, since: datetime) -> list[datetime]:
        """When each video that finished (done) at or after ``since`` did, oldest first."""
        ...
