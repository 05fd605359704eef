"""The API's request and response bodies: what the OpenAPI document (``/docs``) shows.

Requests forbid unknown fields, so a typo (``"vidoes"``) is a 422 naming the field instead
of a request that silently does nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from producer.backfill import BackfillReport
from shared.dead_letters import DeadVideo
from shared.models import DeadLetter, Progress, VideoStatus


def _iso_day(value: Any) -> Any:
    """Only a day written as YYYY-MM-DD: pydantic would also read a number as a Unix
    time, and ``since=1`` meaning 1970-01-01 is a typo answered with every video."""
    if isinstance(value, date) or (
        isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-"
    ):
        return value
    raise ValueError("a day written as YYYY-MM-DD, e.g. 2026-01-31")


#: a day in a request: ISO 8601's YYYY-MM-DD and nothing else
Day = Annotated[date, BeforeValidator(_iso_day)]

#: an id or a URL; generous, but bounded so one field cannot eat the body limit
VideoRef = Annotated[str, StringConstraints(max_length=2_000)]
MAX_VIDEOS_PER_REQUEST = 1_000
MAX_BACKFILL_LIMIT = 20_000


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VideosRequest(_Request):
    """Enqueue videos by id or URL; bad ones are reported, the good ones enqueued anyway."""

    videos: list[VideoRef] = Field(
        min_length=1,
        max_length=MAX_VIDEOS_PER_REQUEST,
        description="Video ids (11 characters) or YouTube URLs.",
    )
    force: bool = Field(False, description="Re-analyse even if already analysed.")
    template: str = Field(
        "summary",
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description="The analysis template to run (built-ins: summary, chapters, mentions; "
        "more from TUBEQ_TEMPLATES_DIR).",
    )


class _BackfillOptions(_Request):
    since: Day | None = Field(None, description="Only videos published on or after this day.")
    limit: int | None = Field(
        None, ge=1, le=MAX_BACKFILL_LIMIT, description="At most this many videos (newest first)."
    )
    dry_run: bool = Field(False, description="List and estimate only; enqueue nothing.")
    force: bool = Field(False, description="Also re-send done and failed videos.")
    batch: bool = Field(
        False,
        description="Analyse through the Gemini Batch API at half price, results within about "
        "a day (summary template only; long videos go online). The estimate shows both.",
    )
    template: str = Field(
        "summary",
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description="The analysis template to run (built-ins: summary, chapters, mentions; "
        "more from TUBEQ_TEMPLATES_DIR).",
    )


class ChannelRequest(_BackfillOptions):
    """Backfill a channel's uploads."""

    channel: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="Channel URL, @handle or UC… id."
    )


class PlaylistRequest(_BackfillOptions):
    """Backfill a playlist."""

    playlist: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="Playlist URL (…list=PL…) or id."
    )


JobsRequest = VideosRequest | ChannelRequest | PlaylistRequest


class DeadLettersQuery(_Request):
    """Query of ``GET /v1/dlq``; unknown parameters (a typo such as ``limt``) are a 422."""

    limit: int = Field(100, ge=1, le=1_000, description="At most this many.")
    peek: bool = Field(
        False,
        description="On Cloudflare: list the dead-letter queue itself (pull and release). "
        "Each peek counts one attempt on every listed message there; by default dead "
        "videos are read from the result store instead, which costs nothing.",
    )


class VideoQuery(_Request):
    """Query of ``GET /v1/videos/{id}``; unknown parameters are a 422."""

    expires_in: int | None = Field(
        None, ge=1, le=604_800, description="Link lifetime in seconds (default setting)."
    )


class RejectedInput(BaseModel):
    input: str = Field(description="The input as sent (cut after 200 characters).")
    reason: str
    index: int = Field(description="Its position in `videos` (0-based).")


class JobsResponse(BaseModel):
    accepted: list[str] = Field(description="Video ids put on the queue (videos requests).")
    rejected: list[RejectedInput] = Field(description="Inputs that were not valid, and why.")
    backfill: BackfillReport | None = Field(None, description="Set for channel/playlist requests.")


class QueueStatsOut(BaseModel):
    ready: int
    delayed: int
    in_flight: int
    dead: int
    backlog: int = Field(description="ready + delayed + in flight: what consumers still face.")


class ProgressResponse(BaseModel):
    progress: Progress = Field(
        description="Videos per state and spend: `usage` counts every billed model call "
        "(failed videos' too), `analysis_usage` what the saved analyses cost."
    )
    queue: QueueStatsOut | None = Field(
        description="None where the queue cannot report (a Worker without the REST secrets)."
    )


class ArtifactLink(BaseModel):
    kind: str
    key: str
    content_type: str
    size: int
    url: str = Field(description="A presigned link anyone can download from until expires_at.")
    expires_at: datetime


class VideoResponse(BaseModel):
    video: VideoStatus
    links: list[ArtifactLink]


class DeadLettersResponse(BaseModel):
    source: Literal["queue", "results"] = Field(
        description="'queue': messages in the dead-letter queue (with message ids for "
        "redrive); 'results': dead videos from the result store (Cloudflare's default)."
    )
    dead_letters: list[DeadLetter] = Field(description="Set when source is 'queue'.")
    dead_videos: list[DeadVideo] = Field(description="Set when source is 'results'.")
    note: str | None = None


class RedriveRequest(_Request):
    """Say which: ``{"all": true}`` or ``{"message_ids": [...]}`` (from ``GET /v1/dlq``)."""

    all: bool = False
    message_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = (
        Field(None, max_length=1_000)
    )


class RedriveResponse(BaseModel):
    redriven: int
    requested: int | None = Field(None, description="How many ids were given (None for all).")


class Health(BaseModel):
    status: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx: a stable code, a message saying what was wrong and what to do."""

    error: str
    message: str
    rejected: list[RejectedInput] | None = None
    detail: list[dict[str, Any]] | None = None
