"""The job kinds of a batch backfill (issue 12): collect a video into a batch, submit a
batch, poll it. See ``shared.gemini.batch_models`` for a batch's life and
``consumer/handlers/batch*.py`` for what each job does."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.jobs import Envelope, Job
from shared.models import VideoId, VideoJob, VideoMeta, utcnow


class BatchCollectJob(Job):
    """Fetch a video's transcript (as the online path does) and add its request to the open
    batch. The fields are a ``VideoJob``'s: the video job that writes the rows is made of them."""

    kind: ClassVar[str] = "batch.collect"
    version: ClassVar[int] = 1
    video_id: VideoId
    force: bool = False
    requested_at: datetime = Field(default_factory=utcnow)
    source: str = "cli"
    meta: VideoMeta | None = None
    #: ``VideoJob.template``: a batch request is the summary analysis's prompt and schema,
    #: so only that template rides in a batch (another one is a validation error, said once)
    template: Literal["summary"] = "summary"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.video_id}"

    def envelope(self) -> Envelope:
        # on the wire as before templates existed (a consumer not yet upgraded reads it)
        return Envelope(
            kind=self.kind, v=self.version, body=self.model_dump(mode="json", exclude={"template"})
        )

    def video_job(self) -> VideoJob:
        """The online job for this video: writes artifacts and rows from a saved batch reply
        (and pays online only when no reply was saved)."""
        return VideoJob(
            video_id=self.video_id,
            force=self.force,
            requested_at=self.requested_at,
            source=self.source,
            meta=self.meta,
        )


class BatchSubmitJob(Job):
    """Seal a batch and create it at Gemini (once: see ``batch_models.display_name``)."""

    kind: ClassVar[str] = "batch.submit"
    version: ClassVar[int] = 1
    batch_id: str = Field(min_length=1, max_length=64)


class BatchPollJob(Job):
    """Ask Gemini how a batch is doing; sends itself again, later, until the batch ends."""

    kind: ClassVar[str] = "batch.poll"
    version: ClassVar[int] = 1
    batch_id: str = Field(min_length=1, max_length=64)
    #: the poll chain this poll belongs to: a re-submitted batch starts a new one and the
    #: old chain's polls stop, so a crash never leaves two chains polling one batch for good
    chain: str = Field(min_length=1, max_length=64)
    polls: int = Field(0, ge=0)
