"""What goes on the queue for a video: what is known about it, and the job to analyse it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from shared.jobs import Job
from shared.models.base import Frozen, VideoId, utcnow


class VideoMeta(Frozen):
    """What is known about a video beyond its id (from the Data API or a sample file)."""

    video_id: VideoId
    title: str | None = None
    channel_id: str | None = None
    channel_title: str | None = None
    published_at: datetime | None = None
    duration_s: int | None = Field(default=None, ge=0)


class VideoJob(Job):
    """Analyse this video. Small on purpose (a queue message holds at most 128 KB)."""

    kind: ClassVar[str] = "video.analyze"
    version: ClassVar[int] = 1

    video_id: VideoId
    #: re-analyse even if an analysis of this version exists (an analysis newer than
    #: ``requested_at`` is reused, so a redelivered forced job still pays only once)
    force: bool = False
    requested_at: datetime = Field(default_factory=utcnow)
    #: where the job came from: "cli", "api", "backfill:<channel>", "schedule", "demo"
    source: str = "cli"
    meta: VideoMeta | None = None
    #: the analysis template to run (``shared.templates``); "summary" is tubeq's original
    #: analysis. Added with a default, and left out of a summary job's dump, so a summary
    #: job is on the wire exactly as before (a consumer not yet upgraded still reads it)
    #: and messages without it read as summary jobs
    template: str = Field(default="summary", pattern=r"^[a-z][a-z0-9_]{0,39}$")

    @model_serializer(mode="wrap")
    def _summary_as_before(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # a wrap serializer, not Field(exclude_if=...): the Worker's pydantic (<= 2.10)
        # has no exclude_if
        data: dict[str, Any] = handler(self)
        if data.get("template") == "summary":
            del data["template"]
        return data

    @property
    def label(self) -> str:
        return self.video_id if self.template == "summary" else f"{self.video_id} ({self.template})"
