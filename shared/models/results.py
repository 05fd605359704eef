"""What the result store records and reads back: video states, finished videos, failures,
artifacts, progress, channels."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from shared.models.analysis import Analysis
from shared.models.base import Frozen, VideoId, utcnow
from shared.models.spend import Usage
from shared.models.transcripts import Transcript
from shared.models.videos import VideoMeta


class VideoState(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    RETRYING = "retrying"  # a transient failure; the queue will redeliver
    FAILED = "failed"  # a permanent failure; recorded, not retried
    DEAD = "dead"  # transient failures exhausted max_retries; in the dead-letter queue


class ArtifactRef(Frozen):
    kind: str = Field(description="transcript_json, transcript_txt, transcript_srt, ...")
    key: str
    content_type: str
    size: int = Field(ge=0)


class VideoResult(Frozen):
    """Everything the pipeline records for a finished video, written in one transaction."""

    video: VideoMeta
    transcript: Transcript
    analysis: Analysis
    artifacts: tuple[ArtifactRef, ...] = ()
    attempts: int = Field(default=1, ge=1)
    finished_at: datetime = Field(default_factory=utcnow)


class FailureRecord(Frozen):
    video_id: VideoId
    state: VideoState
    error_code: str
    error: str
    attempts: int = Field(ge=1)
    #: e.g. the raw model reply of an invalid output, for inspection
    detail: str | None = None
    meta: VideoMeta | None = None
    at: datetime = Field(default_factory=utcnow)


class VideoStatus(Frozen):
    """One video as the result store sees it (for `tubeq show`, the API, skip checks)."""

    video_id: str
    state: VideoState
    meta: VideoMeta | None = None
    analysis: Analysis | None = None
    transcript_language: str | None = None
    artifacts: tuple[ArtifactRef, ...] = ()
    attempts: int = 0
    error_code: str | None = None
    error: str | None = None
    updated_at: datetime | None = None


class Progress(Frozen):
    """Counts per state plus spend, for `tubeq status` and `GET /v1/progress`."""

    by_state: dict[str, int]
    total_videos: int
    analyses: int
    #: the spend of every billed model call (the spend ledger), calls for videos that ended
    #: failed included; an analysis with no ledger rows counts with its own usage
    usage: Usage
    #: what the saved analyses cost: the part of the spend that bought a kept result
    analysis_usage: Usage = Field(default_factory=Usage)
    #: billed calls per ``CallOutcome`` value (only outcomes that occurred)
    calls_by_outcome: dict[str, int] = Field(default_factory=dict)
    #: the first day (UTC) with spend
    first_day: date | None = None


class ChannelSummary(Frozen):
    """One channel the result store holds videos of, with counts (``tubeq channels``)."""

    channel_id: str
    title: str | None = None
    videos: int = 0
    analysed: int = 0
    #: failed or dead: given up on
    failed: int = 0
    #: queued, processing or retrying
    pending: int = 0
    last_published: datetime | None = None
